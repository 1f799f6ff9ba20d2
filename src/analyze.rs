//! `picklecost analyze`: find the environment, start Python, load, measure, report.
use crate::cli::GcMode;
use crate::explain;
use crate::load::{self, Workdir};
use crate::measure::{
    self, PayloadResult,
    stats::{ByteStats, LatencySummary},
};
use crate::options::AnalyzeOptions;
use crate::output::{progress::Progress, summary};
use crate::pickle;
use crate::python::{self, Module, env, interp};
use crate::report::model::*;
use crate::report::{self, Exporter, OutDir, Run};
use crate::transport;
use crate::verdict;
use anyhow::{Context, Result};
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

pub fn run(options: AnalyzeOptions) -> Result<()> {
    let started = Instant::now();
    let python_env = env::find(options.python.as_deref(), &options.site_dir)?;
    let out = OutDir::prepare(&options.out_dir)?;
    let outcome = analyze(&options, &python_env, &out, started);
    if outcome.is_err() {
        out.discard();
    }
    outcome
}

fn analyze(
    options: &AnalyzeOptions,
    python_env: &env::PythonEnv,
    out: &OutDir,
    started: Instant,
) -> Result<()> {
    let progress = Progress::new(options.quiet);
    let mut phases = BTreeMap::new();

    interp::start(python_env).context("starting the embedded Python")?;
    let workdir = Workdir::create().context("creating a scratch directory")?;

    Python::attach(|py| -> Result<()> {
        let python_info = describe_python(py, python_env)?;

        progress.spinner(&format!(
            "loading {} (stage {})",
            options.site_dir.display(),
            options.stage.as_str()
        ));
        let load_started = Instant::now();
        let loaded = load::load(py, options, &workdir);
        progress.clear();
        let site = loaded?;
        phases.insert("load".to_string(), load_started.elapsed().as_secs_f64());

        let fields = measure::resolve_fields(py, &site, options.fields.as_deref())?;
        if let Some(field) = options.exclude_keys.keys().find(|f| !fields.contains(f)) {
            return Err(crate::error::UserError::Fields(format!(
                "--exclude-keys names {field:?}, which is not one of the subset's fields ({})",
                fields.join(",")
            ))
            .into());
        }

        // The suggestion comes first: it defines the `page_suggested` payload to measure.
        let diagnose_started = Instant::now();
        let mut diagnosis_errors = Vec::new();
        let suggestion = if options.diagnose && !site.pages.is_empty() {
            progress.spinner("working out a minimal page payload");
            let pages = pyo3::types::PyList::new(py, site.pages.iter().map(|p| p.bind(py)))?;
            let suggested = explain::suggest(py, pages.as_any(), site.site.bind(py), options.protocol);
            progress.clear();
            match suggested {
                Ok(s) if !s.fields.is_empty() => Some(s),
                Ok(_) => {
                    diagnosis_errors.push(
                        "no page attribute is picklable and self-contained: nothing to suggest".to_string(),
                    );
                    None
                }
                Err(e) => {
                    diagnosis_errors.push(format!("suggesting a payload: {e}"));
                    None
                }
            }
        } else {
            None
        };
        let mut diagnose_seconds = diagnose_started.elapsed().as_secs_f64();

        let subset_view = measure::PageView {
            fields: fields.clone(),
            exclude_keys: if options.exclude_keys.is_empty() {
                None
            } else {
                Some(python::to_py(py, &options.exclude_keys)?)
            },
        };
        let suggested_view = match &suggestion {
            Some(s) => Some(measure::PageView {
                fields: s.fields.clone(),
                exclude_keys: Some(python::to_py(py, &s.exclude_keys)?),
            }),
            None => None,
        };

        let measure_started = Instant::now();
        let settings = measure::Settings {
            protocol: options.protocol,
            iterations: options.iterations,
            sample: options.sample,
            budget_seconds: options.budget_seconds,
            gc_enabled: options.gc == GcMode::On,
        };
        let measured = measure::measure(
            py,
            &site,
            &subset_view,
            suggested_view.as_ref(),
            &settings,
            &progress,
        )?;
        phases.insert("measure".to_string(), measure_started.elapsed().as_secs_f64());

        let inspect_started = Instant::now();
        let facts = py.detach(|| inspect_payloads(&measured.payloads));
        phases.insert("inspect".to_string(), inspect_started.elapsed().as_secs_f64());

        let diagnoses = if options.diagnose {
            progress.spinner("explaining sizes and failures");
            let started = Instant::now();
            let d = explain::diagnose::diagnose(
                py,
                &site,
                &measured.payloads,
                &subset_view,
                suggested_view.as_ref(),
                options.protocol,
                options.limits,
            );
            progress.clear();
            diagnose_seconds += started.elapsed().as_secs_f64();
            d?
        } else {
            measured.payloads.iter().map(|_| Default::default()).collect()
        };
        if options.diagnose {
            phases.insert("diagnose".to_string(), diagnose_seconds);
        }

        let transported = match &options.transports {
            Some(settings) => {
                progress.spinner("shipping payloads through a thread, sub-interpreters and processes, then rendering pages");
                let closures: Vec<Vec<String>> = facts.iter().map(|f| f.import_closure.clone()).collect();
                let outcome = transport::run(
                    py,
                    &site,
                    &measured.payloads,
                    &closures,
                    &subset_view,
                    suggested_view.as_ref(),
                    settings,
                    &workdir,
                );
                progress.clear();
                let outcome = outcome?;
                phases.insert("transports".to_string(), outcome.transports_seconds);
                phases.insert("render".to_string(), outcome.render_seconds);
                Some(outcome)
            }
            None => None,
        };

        let report_started = Instant::now();
        let payloads: Vec<PayloadJson> = measured
            .payloads
            .iter()
            .zip(facts)
            .zip(diagnoses)
            .map(|((p, facts), diagnosis)| payload_json(p, &site.page_keys, facts, diagnosis))
            .collect();
        let suggestion = suggestion.map(|s| SuggestionJson {
            options: s.as_options(),
            measured_median_bytes: payloads
                .iter()
                .find(|p| p.name == "page_suggested")
                .and_then(|p| p.bytes.as_ref().map(|b| b.median)),
            fields: s.fields,
            exclude_keys: s.exclude_keys,
            median_bytes: s.median_bytes,
            dropped: s.dropped,
        });
        let verdict = verdict::judge(&payloads, &fields, suggestion.as_ref(), &diagnosis_errors);
        let verdicts = transported
            .as_ref()
            .map(|o| o.verdicts.clone())
            .unwrap_or_default();
        let answer = verdict::answer(&payloads, &verdicts);
        let transports_json: Vec<TransportJson> = transported
            .as_ref()
            .map(|o| {
                o.cells
                    .iter()
                    .map(|c| TransportJson {
                        name: c.transport.clone(),
                        available: c.available,
                        reason: c.reason.clone(),
                        payload: c.payload.clone(),
                        roundtrip_ns: LatencySummary::of(&c.roundtrip),
                        setup_ns: c.setup.as_ref().and_then(|s| {
                            let mut per: Vec<u64> =
                                s.create.iter().zip(&s.import).map(|(a, b)| a + b).collect();
                            per.sort_unstable();
                            per.get(per.len().saturating_sub(1) / 2).copied()
                        }),
                        setup: c.setup.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let measured_seconds: f64 = measured.payloads.iter().map(|p| p.measured.as_secs_f64()).sum();
        let mut results = Results {
            tool: ToolInfo {
                name: "picklecost",
                version: env!("CARGO_PKG_VERSION"),
            },
            python: python_info.0,
            site: SiteInfo {
                path: options.site_dir.display().to_string(),
                generator: site.generator.clone(),
                generator_version: site.generator_version.clone(),
                stage: site.stage.clone(),
                pages: site.pages.len(),
                load_seconds: site.load_seconds,
                build_root: site.build_root.clone(),
            },
            settings: SettingsInfo {
                protocol: options.protocol,
                iterations: options.iterations,
                sample: options.sample,
                budget_seconds: options.budget_seconds,
                gc: if settings.gc_enabled { "on" } else { "off" },
                fields: fields.clone(),
                exclude_keys: options.exclude_keys.clone(),
                diagnose: options.diagnose,
            },
            payloads,
            suggestion,
            answer,
            transports: transports_json,
            transport_availability: transported
                .as_ref()
                .map(|o| o.availability.clone())
                .unwrap_or(serde_json::Value::Null),
            imports: transported
                .as_ref()
                .map(|o| o.imports.clone())
                .unwrap_or_default(),
            render_ns: transported
                .as_ref()
                .filter(|o| !o.render_hist.is_empty())
                .map(|o| LatencySummary::of(&o.render_hist)),
            render: transported.as_ref().map(|o| RenderJson {
                available: o.render.available,
                reason: o.render.reason.clone(),
                pages: o.render.pages,
                sampled: o.render.sampled,
                method: o.render.method.clone(),
                errors: o.render.errors.iter().take(5).cloned().collect(),
            }),
            verdicts,
            thresholds: options.transports.as_ref().map(|t| t.thresholds),
            verdict,
            timing: Timing {
                total_seconds: 0.0,
                load_seconds: site.load_seconds,
                measured_seconds,
                calibration_seconds: measured.calibration.as_secs_f64(),
                phases: BTreeMap::new(),
            },
            environment: EnvironmentInfo {
                command_line: options.command_line.clone(),
                ..python_info.1
            },
        };
        // The report phase is timed up to the moment results.json is serialised.
        phases.insert("report".to_string(), report_started.elapsed().as_secs_f64());
        results.timing.phases = phases.clone();
        results.timing.total_seconds = started.elapsed().as_secs_f64();
        let run = Run {
            results: &results,
            payloads: &measured.payloads,
            transports: transported.as_ref().map(|o| (o.cells.as_slice(), &o.render_hist)),
        };
        let exporters: [&dyn Exporter; 4] = [
            &report::hgrm::Hgrm,
            &report::svg::Svg,
            &report::markdown::Markdown,
            &report::json::Json,
        ];
        out.write(&run, &exporters).context("writing the report")?;
        summary::print(&results, out.path());
        Ok(())
    })
}

fn describe_python(py: Python<'_>, python_env: &env::PythonEnv) -> Result<(PythonInfo, EnvironmentInfo)> {
    // One `describe()` dict carries both: each struct takes its own keys from it.
    let described = python::module(py, Module::Env)?.call_method0("describe")?;
    let mut info: PythonInfo = python::from_py(&described)?;
    info.environment_found_by = python_env.source.to_string();
    if info.executable.is_empty() {
        info.executable = python_env.executable.display().to_string();
    }
    Ok((info, python::from_py(&described)?))
}

/// What the pickle streams themselves say a receiver needs, read in parallel without Python.
pub struct PickleFacts {
    pub import_closure: Vec<String>,
    pub plain_data: Option<bool>,
    pub unsafe_globals: Vec<String>,
    pub inspected: usize,
}

fn inspect_payloads(payloads: &[PayloadResult]) -> Vec<PickleFacts> {
    use rayon::prelude::*;
    payloads
        .iter()
        .map(|p| {
            let per_pickle: Vec<(Vec<String>, bool)> = p
                .retained
                .par_iter()
                .map(|data| (pickle::globals_of(data), pickle::is_plain_data(data)))
                .collect();
            let mut closure: Vec<String> = per_pickle.iter().flat_map(|(g, _)| g.iter().cloned()).collect();
            closure.sort();
            closure.dedup();
            let unsafe_globals = closure
                .iter()
                .filter(|g| {
                    g.rsplit_once('.')
                        .is_some_and(|(m, n)| pickle::is_unsafe_global(m, n))
                })
                .cloned()
                .collect();
            PickleFacts {
                plain_data: (!per_pickle.is_empty()).then(|| per_pickle.iter().all(|(_, plain)| *plain)),
                import_closure: closure,
                unsafe_globals,
                inspected: per_pickle.len(),
            }
        })
        .collect()
}

fn payload_json(
    p: &PayloadResult,
    page_keys: &[String],
    facts: PickleFacts,
    diagnosis: explain::diagnose::PayloadDiagnosis,
) -> PayloadJson {
    let key = |i: usize| {
        if p.kind == measure::PayloadKind::Site {
            "site".to_string()
        } else {
            page_keys[i].clone()
        }
    };
    let sizes: Vec<u64> = p.sizes.iter().map(|&(_, b)| b).collect();
    let error = p.failures.first().map(|(_, e)| {
        if p.objects > 1 {
            format!(
                "{e} ({} of {} measured objects failed)",
                p.failures.len(),
                p.sizes.len() + p.failures.len()
            )
        } else {
            e.clone()
        }
    });
    PayloadJson {
        name: p.kind.name().to_string(),
        picklable: p.picklable(),
        error,
        count: p.sizes.len(),
        objects: p.objects,
        bytes: ByteStats::of(&sizes),
        dumps_ns: LatencySummary::of(&p.dumps),
        loads_ns: LatencySummary::of(&p.loads),
        roundtrip_ns: LatencySummary::of(&p.roundtrip),
        failures_count: p.failures.len(),
        failed_objects: p
            .failures
            .iter()
            .take(50)
            .map(|(i, e)| ObjectError {
                key: key(*i),
                error: e.clone(),
            })
            .collect(),
        failure_search: diagnosis.culprits.as_ref().map(|c| FailureSearch {
            visited: c.visited,
            truncated: c.truncated,
            limits: c.limits.clone(),
        }),
        failures: diagnosis.culprits.map(|c| c.failures).unwrap_or_default(),
        attribution: diagnosis.attribution,
        drag: diagnosis.drag,
        diagnosis_errors: diagnosis.errors,
        sampled: p.plan.is_sampled(p.objects) || p.cut_by_budget,
        selection: p.selection.clone(),
        iterations: p.plan.iterations,
        measured_seconds: p.measured.as_secs_f64(),
        import_closure: facts.import_closure,
        plain_data: facts.plain_data,
        unsafe_globals: facts.unsafe_globals,
        inspected: facts.inspected,
        plan: PlanJson {
            wall_seconds: p.wall.as_secs_f64(),
            release_seconds: p.releasing.as_secs_f64(),
            round_estimate_seconds: p.round_estimate_seconds,
            share_seconds: p.plan.share_seconds,
            sized: p.plan.sized,
            timed: p.plan.timed,
            cut_by_budget: p.cut_by_budget,
        },
        sizes: p
            .sizes
            .iter()
            .map(|&(i, b)| ObjectSize {
                key: key(i),
                bytes: b,
            })
            .collect(),
    }
}

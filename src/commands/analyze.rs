//! `picklecost analyze`: a short pipeline of named phases — load, suggest, measure, inspect,
//! explain, ship (transports and render cost), judge, report — timed by one phase timer.
use crate::error::UserError;
use crate::explain::{self, diagnose::PayloadDiagnosis};
use crate::generators::{self, LoadedSite, Workdir};
use crate::growth;
use crate::measure;
use crate::memory;
use crate::model::explain::Suggestion;
use crate::model::results::{EnvironmentInfo, PythonInfo};
use crate::payloads::{self, PageView, Payloads};
use crate::python::{self, Module, env, interp};
use crate::report::{self, OutDir, Run, assemble};
use crate::settings::AnalyzeSettings;
use crate::site_guard::Fingerprint;
use crate::transport;
use crate::ui::{progress::Progress, summary};
use crate::verdict;
use anyhow::{Context, Result};
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

pub fn run(settings: AnalyzeSettings) -> Result<()> {
    let started = Instant::now();
    let python_env = env::find(settings.python.as_deref(), &settings.load.site_dir)?;
    let out = OutDir::prepare(&settings.out_dir)?;
    let site_before = Fingerprint::take(&settings.load.site_dir);
    let outcome = analyze(&settings, &python_env, &out, &site_before, started);
    if outcome.is_err() {
        out.discard();
    }
    outcome
}

/// Seconds per named phase (a phase timed twice, the explanations, adds up), and each phase's
/// own peak RSS.
#[derive(Default)]
struct Phases(BTreeMap<String, f64>, BTreeMap<String, u64>);

impl Phases {
    fn time<T>(&mut self, name: &str, work: impl FnOnce() -> T) -> T {
        let resets = memory::reset_peak();
        let started = Instant::now();
        let result = work();
        self.add(name, started.elapsed().as_secs_f64());
        if let Some(peak) = memory::peak().filter(|_| resets) {
            let slot = self.1.entry(name.to_string()).or_default();
            *slot = (*slot).max(peak);
        }
        result
    }

    fn add(&mut self, name: &str, seconds: f64) {
        *self.0.entry(name.to_string()).or_default() += seconds;
    }
}

fn analyze(
    settings: &AnalyzeSettings,
    python_env: &env::PythonEnv,
    out: &OutDir,
    site_before: &Fingerprint,
    started: Instant,
) -> Result<()> {
    let progress = Progress::new(settings.quiet);
    let mut phases = Phases::default();
    interp::start(python_env).context("starting the embedded Python")?;
    let workdir = Workdir::create().context("creating a scratch directory")?;

    Python::attach(|py| -> Result<()> {
        let (python_info, environment) = describe_python(py, python_env)?;

        progress.spinner(&format!(
            "loading {} (stage {})",
            settings.load.site_dir.display(),
            settings.load.stage
        ));
        let rss_before_load = memory::rss();
        let loaded = phases.time("load", || generators::load(py, &settings.load, &workdir));
        let loaded_site = memory::rss()
            .zip(rss_before_load)
            .map(|(a, b)| a.saturating_sub(b));
        progress.clear();
        let site = loaded?;
        let fields = subset_fields(py, &site, settings)?;

        // The suggestion comes first: it defines the `page_suggested` payload to measure.
        let mut notes = Vec::new();
        let suggestion = match settings.explain {
            Some(_) if !site.pages.is_empty() => phases.time("diagnose", || {
                progress.spinner("working out a minimal page payload");
                let suggested = suggest(py, &site, settings.measure.protocol, &mut notes);
                progress.clear();
                suggested
            }),
            _ => None,
        };

        let generator_comparison = match &suggestion {
            Some(s) => explain::compare_with_generator(py, &site, &s.fields).unwrap_or_else(|e| {
                notes.push(format!(
                    "comparing the suggestion with the generator's payload: {e}"
                ));
                None
            }),
            None => None,
        };

        let built = Payloads::new(
            py,
            &site,
            PageView::new(py, fields.clone(), &settings.exclude_keys)?,
            match &suggestion {
                Some(s) => Some(PageView::new(py, s.fields.clone(), &s.exclude_keys)?),
                None => None,
            },
        )?;

        let mut measured = phases.time("measure", || {
            measure::measure(&built, &settings.measure, &progress)
        })?;
        // Inside the measuring loop but not its work, each timed as its own phase: the static
        // reading of each payload's pickles (right after it was measured, so the pickles could
        // be dropped) and making each payload object (the generator's code).
        for (phase, spent) in [("inspect", measured.inspect), ("payloads", measured.building)] {
            phases.add("measure", -spent.as_secs_f64());
            phases.add(phase, spent.as_secs_f64());
        }
        let facts: Vec<_> = measured
            .payloads
            .iter_mut()
            .map(|p| std::mem::take(&mut p.facts))
            .collect();

        let diagnoses: Vec<PayloadDiagnosis> = match settings.explain {
            Some(limits) => phases.time("diagnose", || {
                progress.spinner("explaining sizes and failures");
                let d = explain::diagnose::diagnose(
                    &built,
                    &measured.payloads,
                    settings.measure.protocol,
                    limits,
                );
                progress.clear();
                d
            })?,
            None => measured.payloads.iter().map(|_| Default::default()).collect(),
        };

        let transports_reset = memory::reset_peak();
        let transported = match &settings.transports {
            Some(transport_settings) => {
                progress.spinner(
                    "shipping payloads through a thread, sub-interpreters and processes, then rendering pages",
                );
                let closures: Vec<Vec<String>> = facts.iter().map(|f| f.import_closure.clone()).collect();
                let outcome = transport::run(
                    &built,
                    &measured.payloads,
                    &closures,
                    transport_settings,
                    &workdir,
                );
                progress.clear();
                let outcome = outcome?;
                phases.add("transports", outcome.transports_seconds);
                if let Some(peak) = memory::peak().filter(|_| transports_reset) {
                    phases.1.insert("transports".to_string(), peak);
                }
                phases.add("render", outcome.render_seconds);
                Some(outcome)
            }
            None => None,
        };

        let growth = if settings.growth {
            progress.spinner("measuring copies of the site with fewer and more pages");
            let g = phases.time("growth", || {
                growth::run(
                    py,
                    &site,
                    &settings.load,
                    &fields,
                    &settings.exclude_keys,
                    settings.measure.protocol,
                    settings.measure.budget_seconds,
                )
            });
            progress.clear();
            Some(g?)
        } else {
            None
        };

        let report_started = Instant::now();
        let verdicts = match (&transported, &settings.transports) {
            (Some(outcome), Some(t)) => verdict::strategies::rows(outcome, site.pages.len(), t.thresholds),
            _ => Vec::new(),
        };
        let mut results = assemble::results(assemble::Produced {
            settings,
            python: python_info,
            environment,
            site: &site,
            fields,
            measured: &measured,
            facts,
            diagnoses,
            suggestion,
            generator_comparison,
            growth,
            transported: transported.as_ref(),
            verdicts,
            notes,
        });
        // The report phase is timed up to the moment results.json is serialised.
        phases.add("report", report_started.elapsed().as_secs_f64());
        results.timing.phases = phases.0.clone();
        results.memory.rss_before_load = rss_before_load;
        results.memory.loaded_site = loaded_site;
        results.memory.phase_peaks = phases.1.clone();
        results.memory.peak = results
            .memory
            .phase_peaks
            .values()
            .copied()
            .max()
            .or_else(memory::peak);
        results.timing.total_seconds = started.elapsed().as_secs_f64();
        let run = Run {
            results: &results,
            payloads: &measured.payloads,
            transports: transported.as_ref().map(|o| (o.cells.as_slice(), &o.render_hist)),
        };
        // The site is read-only to the tool: prove it before anything is written.
        site_before.unchanged(&Fingerprint::take(&settings.load.site_dir))?;
        out.write(&run, &report::exporters())
            .context("writing the report")?;
        summary::print(&results, out.path());
        Ok(())
    })
}

/// The subset's fields (given, or the adapter's default), with `--exclude-keys` checked against
/// them now that the default is known.
fn subset_fields(py: Python<'_>, site: &LoadedSite, settings: &AnalyzeSettings) -> Result<Vec<String>> {
    let fields = payloads::resolve_fields(py, site, settings.fields.as_deref())?;
    if let Some(field) = settings.exclude_keys.keys().find(|f| !fields.contains(f)) {
        return Err(UserError::Fields(format!(
            "--exclude-keys names {field:?}, which is not one of the subset's fields ({})",
            fields.join(",")
        ))
        .into());
    }
    Ok(fields)
}

/// The suggested payload, or None with the reason added to the notes.
fn suggest(py: Python<'_>, site: &LoadedSite, protocol: u8, notes: &mut Vec<String>) -> Option<Suggestion> {
    match explain::suggest(py, site, protocol) {
        Ok(s) if !s.fields.is_empty() => Some(s),
        Ok(_) => {
            notes.push("no page attribute is picklable and self-contained: nothing to suggest".to_string());
            None
        }
        Err(e) => {
            notes.push(format!("suggesting a payload: {e}"));
            None
        }
    }
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

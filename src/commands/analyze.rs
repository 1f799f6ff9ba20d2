//! `picklecost analyze`: a short pipeline of named phases — load, suggest, measure, inspect,
//! explain, ship (transports and render cost), judge, report — timed by one phase timer.
use crate::commands;
use crate::error::UserError;
use crate::explain::{self, diagnose::Limited, diagnose::PayloadDiagnosis};
use crate::generators::{self, LoadedSite, Workdir};
use crate::growth;
use crate::measure::{self, Measurements, facts::PickleFacts};
use crate::memory;
use crate::model::explain::{FieldComparison, Suggestion};
use crate::model::phase_limit::{LimitedPhase, PhaseLimit};
use crate::model::results::{EnvironmentInfo, GrowthJson, PythonInfo, Results};
use crate::model::scale::Check;
use crate::model::transport::VerdictRow;
use crate::payloads::{self, PageView, Payloads};
use crate::python::{self, Module, env, interp};
use crate::report::{self, OutDir, Run, assemble};
use crate::settings::AnalyzeSettings;
use crate::site_guard::{self, Fingerprint};
use crate::transport;
use crate::ui::{progress::Progress, summary};
use crate::verdict;
use anyhow::{Context, Result};
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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

    /// The phases' times and peaks into the results, with the load's memory and the overall
    /// peak (the largest phase peak, or the process's when no phase had one).
    fn record(&self, results: &mut Results, loaded: &Loaded) {
        results.timing.phases = self.0.clone();
        results.memory.rss_before_load = loaded.rss_before_load;
        results.memory.loaded_site = loaded.loaded_site;
        results.memory.phase_peaks = self.1.clone();
        results.memory.peak = self.1.values().copied().max().or_else(memory::peak);
    }
}

fn analyze(
    settings: &AnalyzeSettings,
    python_env: &env::PythonEnv,
    out: &OutDir,
    site_before: &Fingerprint,
    started: Instant,
) -> Result<()> {
    let mut steps = Steps {
        settings,
        progress: Progress::new(settings.quiet),
        phases: Phases::default(),
        explained: Limited::default(),
        limits: Vec::new(),
    };
    interp::start(python_env).context("starting the embedded Python")?;
    let workdir = Workdir::create().context("creating a scratch directory")?;

    Python::attach(|py| -> Result<()> {
        let (python_info, environment) = describe_python(py, python_env)?;
        let loaded = steps.load(py, &workdir)?;
        let site = &loaded.site;
        let fields = subset_fields(py, site, settings)?;
        // The suggestion comes first: it defines the `page_suggested` payload to measure.
        let mut notes = Vec::new();
        let suggestion = steps.suggestion(py, site, &mut notes)?;
        let generator_comparison = compare_with_generator(py, site, suggestion.as_ref(), &mut notes)?;
        let traced = steps.trace_reads(py, site, &workdir)?;
        let built = build_payloads(
            py,
            site,
            &fields,
            settings,
            suggestion.as_ref(),
            &traced,
            &mut notes,
        )?;
        let (measured, facts) = steps.measure(&built)?;
        let diagnoses = steps.diagnose(&built, &measured)?;
        let transported = steps.ship(&built, &measured, &facts, &workdir, loaded.loaded_site)?;
        let growth = steps.growth(py, site, &fields)?;
        let mut verdicts = match (&transported, &settings.transports) {
            (Some(outcome), Some(t)) => verdict::strategies::rows(
                outcome,
                site.pages.len(),
                Some((site.load_seconds * 1e9) as u64),
                t.thresholds,
            ),
            _ => Vec::new(),
        };
        let check = steps.check(py, site, &workdir, &verdicts, transported.as_ref())?;
        let read_comparison = compare_reads(py, site, &traced, suggestion.as_ref(), &mut notes)?;
        let limits = std::mem::take(&mut steps.limits);

        let report_started = Instant::now();
        if let Some(outcome) = &transported {
            let costs = verdict::predict::ItemCosts {
                payloads: &measured.payloads,
                outcome,
            };
            let pages = site.pages.len();
            verdict::check::settle(
                &mut verdicts,
                outcome,
                pages,
                &costs,
                python_info.gil_enabled,
                check.as_ref(),
            );
        }
        let mut results = assemble::results(assemble::Produced {
            settings,
            python: python_info,
            environment,
            site,
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
            limits,
            check,
            traced,
            read_comparison,
        });
        // The report phase is timed up to the moment results.json is serialised.
        steps.phases.add("report", report_started.elapsed().as_secs_f64());
        // The site is read-only to the tool: prove it before anything is written.
        let site_after = Fingerprint::take(&settings.load.site_dir);
        site_before.unchanged(&site_after)?;
        let listing = Instant::now();
        record_generator_writes(&mut results, site_before);
        let listing = listing.elapsed().as_secs_f64();
        steps
            .phases
            .add("site_check", site_before.seconds + site_after.seconds + listing);
        steps.phases.record(&mut results, &loaded);
        results.timing.total_seconds = started.elapsed().as_secs_f64();
        let run = Run {
            results: &results,
            payloads: &measured.payloads,
            transports: transported.as_ref().map(|o| (o.cells.as_slice(), &o.render_hist)),
        };
        out.write(&run, &report::exporters())
            .context("writing the report")?;
        summary::print(&results, out.path());
        Ok(())
    })
}

/// What the generator wrote into the private copy and, for a rendered build, into the build's
/// copy (both still there until the work directory goes): what it would have written into the
/// site.
fn record_generator_writes(results: &mut Results, site_before: &Fingerprint) {
    let site = &mut results.site;
    site.copy.record_changes(site_guard::copy_changes(
        site_before,
        std::path::Path::new(&site.copy.path),
        &site.copy.skipped,
    ));
    if let Some(build_root) = site.build_root.clone() {
        let skipped = site.copy.skipped.clone();
        let changes = site_guard::copy_changes(site_before, std::path::Path::new(&build_root), &skipped);
        site.record_build_changes(changes);
    }
}

/// The loaded site, and the memory loading it took.
struct Loaded {
    site: LoadedSite,
    rss_before_load: Option<u64>,
    /// RSS growth over the load: what the loaded site costs the tool.
    loaded_site: Option<u64>,
}

/// What every phase of a run shares: the settings, the terminal's progress, the phase timer,
/// how far the explanations got within their limit, and each limited phase against its limit.
struct Steps<'a> {
    settings: &'a AnalyzeSettings,
    progress: Progress,
    phases: Phases,
    explained: Limited,
    limits: Vec<PhaseLimit>,
}

impl Steps<'_> {
    fn load(&mut self, py: Python<'_>, workdir: &Workdir) -> Result<Loaded> {
        let load = &self.settings.load;
        self.progress.spinner(&format!(
            "loading {} (stage {})",
            load.site_dir.display(),
            load.stage
        ));
        let rss_before_load = memory::rss();
        let loaded = self.phases.time("load", || generators::load(py, load, workdir));
        let loaded_site = memory::rss()
            .zip(rss_before_load)
            .map(|(a, b)| a.saturating_sub(b));
        self.progress.clear();
        Ok(Loaded {
            site: loaded?,
            rss_before_load,
            loaded_site,
        })
    }

    /// The minimal page payload `--explain` suggests, when it is asked for and there are pages.
    /// Its time counts towards the explanations' limit, which starts here.
    fn suggestion(
        &mut self,
        py: Python<'_>,
        site: &LoadedSite,
        notes: &mut Vec<String>,
    ) -> Result<Option<Suggestion>> {
        let Some(limits) = self.settings.explain else {
            return Ok(None);
        };
        self.explained = Limited::until(Instant::now() + Duration::from_secs_f64(limits.seconds));
        if site.pages.is_empty() {
            return Ok(None);
        }
        let protocol = self.settings.measure.protocol;
        let (progress, explained) = (&self.progress, &mut self.explained);
        self.phases.time("diagnose", || {
            progress.spinner("working out a minimal page payload");
            let suggested = limited_suggest(py, site, protocol, notes, explained);
            progress.clear();
            suggested
        })
    }

    /// Every payload measured. The static reading of each payload's pickles (right after it
    /// was measured, so the pickles could be dropped) and making each payload object (the
    /// generator's code) happen inside the measuring loop but are not its work: each is timed
    /// as its own phase. Returns the measurements and, per payload, what its pickles say.
    fn measure(&mut self, built: &Payloads<'_, '_>) -> Result<(Measurements, Vec<PickleFacts>)> {
        let (settings, progress) = (&self.settings.measure, &self.progress);
        let mut measured = self
            .phases
            .time("measure", || measure::measure(built, settings, progress))?;
        for (phase, spent) in [("inspect", measured.inspect), ("payloads", measured.building)] {
            self.phases.add("measure", -spent.as_secs_f64());
            self.phases.add(phase, spent.as_secs_f64());
        }
        let facts = measured
            .payloads
            .iter_mut()
            .map(|p| std::mem::take(&mut p.facts))
            .collect();
        Ok((measured, facts))
    }

    /// Why each payload is the size it is, or fails (with `--explain`), in what is left of the
    /// explanations' limit after the suggestion.
    fn diagnose(
        &mut self,
        built: &Payloads<'_, '_>,
        measured: &Measurements,
    ) -> Result<Vec<PayloadDiagnosis>> {
        let Some(limits) = self.settings.explain else {
            return Ok(measured.payloads.iter().map(|_| Default::default()).collect());
        };
        let spent = self.phases.0.get("diagnose").copied().unwrap_or(0.0);
        let left = (limits.seconds - spent).max(0.0);
        self.explained.deadline = Some(Instant::now() + Duration::from_secs_f64(left));
        let protocol = self.settings.measure.protocol;
        let (progress, explained) = (&self.progress, &mut self.explained);
        let diagnoses = self.phases.time("diagnose", || {
            progress.spinner("explaining sizes and failures");
            let d = explain::diagnose::diagnose(built, &measured.payloads, protocol, limits, explained);
            progress.clear();
            d
        });
        let seconds = self.phases.0.get("diagnose").copied().unwrap_or(0.0);
        self.limits
            .push(diagnose_limit(&self.explained, limits.seconds, seconds));
        diagnoses
    }

    /// The payloads shipped through each transport, and the render cost; its two phases are
    /// timed by the transports themselves.
    fn ship(
        &mut self,
        built: &Payloads<'_, '_>,
        measured: &Measurements,
        facts: &[PickleFacts],
        workdir: &Workdir,
        per_worker: Option<u64>,
    ) -> Result<Option<transport::Outcome>> {
        let transports_reset = memory::reset_peak();
        let Some(transport_settings) = &self.settings.transports else {
            return Ok(None);
        };
        self.progress.spinner(
            "shipping payloads through a thread, sub-interpreters and processes, then rendering pages",
        );
        let closures: Vec<Vec<String>> = facts.iter().map(|f| f.import_closure.clone()).collect();
        let outcome = transport::run(
            built,
            &measured.payloads,
            &closures,
            transport_settings,
            workdir,
            per_worker,
        );
        self.progress.clear();
        let outcome = outcome?;
        self.limits
            .push(render_limit(&outcome, transport_settings.render_limit_seconds));
        self.phases.add("transports", outcome.transports_seconds);
        if let Some(peak) = memory::peak().filter(|_| transports_reset) {
            self.phases.1.insert("transports".to_string(), peak);
        }
        self.phases.add("render", outcome.render_seconds);
        Ok(Some(outcome))
    }

    /// What real renders read (the adapter's probe, traced in a fork), before the payloads are
    /// built: it defines `page_read` and `site_read`. Needs the render probe's settings: None
    /// with `--no-transports`.
    fn trace_reads(
        &mut self,
        py: Python<'_>,
        site: &LoadedSite,
        workdir: &Workdir,
    ) -> Result<generators::readtrace::Traced> {
        let Some(t) = &self.settings.transports else {
            return Ok(generators::readtrace::Traced::none(
                "no render was traced (--no-transports)".into(),
            ));
        };
        self.progress
            .spinner("tracing what rendering reads (sampled pages rendered in a forked copy)");
        let sample = site.pages.len().min(crate::settings::tuning::RENDER_PAGES);
        let limits = (t.render_limit_seconds, t.page_limit_seconds);
        let traced = self.phases.time("trace", || {
            generators::readtrace::trace(py, site, workdir, sample, limits)
        });
        self.progress.clear();
        traced
    }

    /// Copies of the site with fewer and more pages, measured (with `--growth`).
    fn growth(&mut self, py: Python<'_>, site: &LoadedSite, fields: &[String]) -> Result<Option<GrowthJson>> {
        if !self.settings.growth {
            return Ok(None);
        }
        let settings = self.settings;
        self.progress
            .spinner("measuring copies of the site with fewer and more pages");
        let time = growth::Time {
            budget_seconds: settings.measure.budget_seconds,
            limit_seconds: settings.growth_limit_seconds,
            asked_pages: settings.growth_pages.clone(),
        };
        let request = growth::Request {
            site,
            load: &settings.load,
            fields,
            exclude_keys: &settings.exclude_keys,
            protocol: settings.measure.protocol,
        };
        let g = self.phases.time("growth", || growth::run(py, request, time));
        self.progress.clear();
        let (g, limit) = g?;
        self.limits.push(limit);
        Ok(Some(g))
    }
}

impl Steps<'_> {
    /// The short real parallel run that checks the verdict's rows: every judged strategy a row
    /// can be checked by, at the rows' worker count (within `--check-limit`; `--no-check`
    /// skips it). None where there is no verdict; a run that fails (not interrupted) is
    /// recorded as not run, with why.
    fn check(
        &mut self,
        py: Python<'_>,
        site: &LoadedSite,
        workdir: &Workdir,
        verdicts: &[VerdictRow],
        outcome: Option<&transport::Outcome>,
    ) -> Result<Option<Check>> {
        let Some(outcome) = outcome.filter(|_| !verdicts.is_empty()) else {
            return Ok(None);
        };
        let workers = outcome.workers as u32;
        let not_run = |reason: String| {
            Ok(Some(Check {
                ran: false,
                reason: Some(reason),
                workers,
                noise: None,
                margin: verdict::check::margin(None),
                scale: None,
            }))
        };
        let Some(limit) = self.settings.check_limit_seconds else {
            return not_run("skipped: --no-check".into());
        };
        if !outcome.render.available {
            return not_run("not run: no render cost was measured".into());
        }
        let strategies = verdict::check::strategies(verdicts);
        if strategies.is_empty() {
            return not_run("not run: every row is blocked or does not ship".into());
        }
        self.progress.spinner(&format!(
            "checking the verdict: rendering a sample sequentially and with {workers} workers of {}",
            strategies
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let page_limit = self
            .settings
            .transports
            .as_ref()
            .map_or(0.0, |t| t.page_limit_seconds);
        let started = Instant::now();
        let plan = commands::scale::CheckPlan {
            workers,
            limit_seconds: limit,
            page_limit_seconds: page_limit,
            render_mean_seconds: verdict::strategies::render_total(outcome, 1).map(|ns| ns / 1e9),
        };
        let ran = self.phases.time("check", || {
            commands::scale::check(py, site, workdir, &plan, &strategies, &outcome.worker_memory)
        });
        self.progress.clear();
        let scale = match ran {
            Ok(scale) => scale,
            Err(e) if is_interrupt(&e) => return Err(e),
            Err(e) => {
                let why = format!("the real run failed: {e:#}");
                self.limits.push(PhaseLimit {
                    phase: LimitedPhase::Check,
                    limit_seconds: limit,
                    seconds: started.elapsed().as_secs_f64(),
                    // Only the check's own hard limit cuts it; any other failure is said.
                    cut: why.contains("--check-limit"),
                    done: 0,
                    planned: strategies.len() as u64,
                    unit: "runs made".into(),
                    note: Some(why.clone()),
                });
                return not_run(why);
            }
        };
        self.limits.extend(scale.limit.clone());
        Ok(Some(verdict::check::of_run(scale, workers)))
    }
}

/// The suggestion within the explanations' time limit (counted as one of their steps).
fn limited_suggest(
    py: Python<'_>,
    site: &LoadedSite,
    protocol: u8,
    notes: &mut Vec<String>,
    explained: &mut Limited,
) -> Result<Option<Suggestion>> {
    let what = "suggesting a payload";
    explained.planned += 1;
    explain::set_deadline(py, explained.deadline)?;
    let suggested = suggest(py, site, protocol, notes);
    explain::set_deadline(py, None)?;
    let suggested = suggested?;
    let checked = suggested.as_ref().map(|s| (s.cut, s.checked));
    match checked {
        Some((true, checked)) => {
            explained.stopped_at.get_or_insert_with(|| {
                format!(
                    "{what} (its safety checks saw {checked} of {} pages)",
                    site.pages.len()
                )
            });
        }
        _ if explained.deadline.is_some_and(|d| Instant::now() >= d) => {
            explained.stopped_at.get_or_insert_with(|| what.to_string());
        }
        _ => explained.done += 1,
    }
    Ok(suggested)
}

/// The explanations against their limit.
fn diagnose_limit(explained: &Limited, limit_seconds: f64, seconds: f64) -> PhaseLimit {
    PhaseLimit {
        phase: LimitedPhase::Diagnose,
        limit_seconds,
        seconds,
        cut: explained.stopped_at.is_some(),
        done: explained.done,
        planned: explained.planned,
        unit: "steps run".into(),
        note: explained
            .stopped_at
            .as_ref()
            .map(|step| format!("stopped at {step}")),
    }
}

/// The render-cost probe against its limit.
fn render_limit(outcome: &transport::Outcome, limit_seconds: f64) -> PhaseLimit {
    let render = &outcome.render;
    PhaseLimit {
        phase: LimitedPhase::Render,
        limit_seconds,
        seconds: outcome.render_seconds,
        cut: render.cut.is_some(),
        done: render.pages,
        planned: render.chosen.max(render.pages),
        unit: "pages rendered".into(),
        note: render.cut.as_ref().map(|part| format!("stopped while {part}")),
    }
}

/// The suggestion set beside the generator's own page payload, or None with the reason noted.
fn compare_with_generator(
    py: Python<'_>,
    site: &LoadedSite,
    suggestion: Option<&Suggestion>,
    notes: &mut Vec<String>,
) -> Result<Option<FieldComparison>> {
    let Some(suggestion) = suggestion else {
        return Ok(None);
    };
    match explain::compare_with_generator(py, site, &suggestion.fields) {
        Ok(comparison) => Ok(comparison),
        Err(e) if is_interrupt(&e) => Err(e),
        Err(e) => {
            notes.push(format!(
                "comparing the suggestion with the generator's payload: {e}"
            ));
            Ok(None)
        }
    }
}

/// The run was interrupted: what stops it, never a note about an optional step.
fn is_interrupt(err: &anyhow::Error) -> bool {
    err.downcast_ref::<python::interrupt::Interrupted>().is_some()
}

/// The payloads to measure: the subset's view, and the suggested one where there is one.
fn build_payloads<'a, 'py>(
    py: Python<'py>,
    site: &'a LoadedSite,
    fields: &[String],
    settings: &AnalyzeSettings,
    suggestion: Option<&Suggestion>,
    traced: &generators::readtrace::Traced,
    notes: &mut Vec<String>,
) -> Result<Payloads<'a, 'py>> {
    let subset = PageView::new(py, fields.to_vec(), &settings.exclude_keys)?;
    let suggested = match suggestion {
        Some(s) => Some(PageView::new(py, s.fields.clone(), &s.exclude_keys)?),
        None => None,
    };
    let read = match &traced.read_set {
        Some(rs) if !rs.page_fields.is_empty() => match payloads::ReadPayloads::build(py, site, rs)? {
            Ok(read) => Some(read),
            Err(why) => {
                notes.push(format!("page_read and site_read were not built: {why}"));
                None
            }
        },
        _ => None,
    };
    Ok(Payloads::new(py, site, subset, suggested, read)?)
}

/// The fields `page_read` carries beside the suggestion's and the generator's own payload's
/// (None without a read set; a failure to list the generator's is noted).
fn compare_reads(
    py: Python<'_>,
    site: &LoadedSite,
    traced: &generators::readtrace::Traced,
    suggestion: Option<&Suggestion>,
    notes: &mut Vec<String>,
) -> Result<Option<crate::model::readset::ReadComparison>> {
    let Some(rs) = &traced.read_set else {
        return Ok(None);
    };
    let generator = match explain::generator_fields(py, site) {
        Ok(fields) => fields,
        Err(e) if is_interrupt(&e) => return Err(e),
        Err(e) => {
            notes.push(format!("listing the generator's payload fields: {e}"));
            None
        }
    };
    Ok(Some(crate::model::readset::ReadComparison::of(
        rs,
        suggestion.map(|s| s.fields.as_slice()),
        generator,
    )))
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

/// The suggested payload, or None with the reason added to the notes (an interrupt stops the
/// run instead).
fn suggest(
    py: Python<'_>,
    site: &LoadedSite,
    protocol: u8,
    notes: &mut Vec<String>,
) -> Result<Option<Suggestion>> {
    match explain::suggest(py, site, protocol) {
        Ok(s) if !s.fields.is_empty() => Ok(Some(s)),
        Ok(s) if s.cut => {
            notes.push(format!(
                "the time limit (--diagnose-limit) stopped the suggestion after {} pages: nothing \
                 to suggest",
                s.checked
            ));
            Ok(None)
        }
        Ok(_) => {
            notes.push("no page attribute is picklable and self-contained: nothing to suggest".to_string());
            Ok(None)
        }
        Err(e) if is_interrupt(&e) => Err(e),
        Err(e) => {
            notes.push(format!("suggesting a payload: {e}"));
            Ok(None)
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

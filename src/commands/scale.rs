//! `picklecost scale`: load the site, then render the same pages sequentially and with W
//! threads, sub-interpreters, spawned processes and forked processes (`picklecost.scale`), and
//! report speed-up, efficiency and where the time goes.
//!
//! The workers are the Python side's: `picklecost.scale.run` ends every one it started before it
//! returns or raises (its crews are context managers), so no exit path here leaves one behind.
use crate::generators::{self, LoadedSite, Workdir};
use crate::memory::{self, WorkerMemory};
use crate::model::scale::{Scale, Strategy, WhatIf};
use crate::python::{self, Module, env, interp};
use crate::report::OutDir;
use crate::report::scale::{ScaleResults, files};
use crate::settings::ScaleSettings;
use crate::site_guard::{self, Fingerprint};
use crate::ui::{progress::Progress, scale as ui};
use crate::verdict;
use anyhow::{Context, Result};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::time::Instant;

pub fn run(settings: ScaleSettings) -> Result<()> {
    let started = Instant::now();
    let python_env = env::find(settings.python.as_deref(), &settings.load.site_dir)?;
    let out = OutDir::prepare(&settings.out_dir)?;
    let site_before = Fingerprint::take(&settings.load.site_dir);
    let outcome = scale(&settings, &python_env, &out, &site_before, started);
    if outcome.is_err() {
        out.discard();
    }
    outcome
}

/// Load, measure, judge, write: the run as named steps.
fn scale(
    settings: &ScaleSettings,
    python_env: &env::PythonEnv,
    out: &OutDir,
    site_before: &Fingerprint,
    started: Instant,
) -> Result<()> {
    let progress = Progress::new(settings.quiet);
    interp::start(python_env).context("starting the embedded Python")?;
    let workdir = Workdir::create().context("creating a scratch directory")?;
    Python::attach(|py| -> Result<()> {
        let python_info = describe_python(py)?;
        let rss_before_load = memory::rss();
        let mut site = load_site(py, settings, &workdir, &progress)?;
        let loaded_site = memory::rss()
            .zip(rss_before_load)
            .map(|(after, before)| after.saturating_sub(before));
        let worker_memory = worker_memory(settings, loaded_site);
        let mut scale = measure(py, settings, &site, &workdir, &progress, &worker_memory)?;
        scale.worker_memory = Some(worker_memory);
        let copy_changes = site_guard::copy_changes(
            site_before,
            std::path::Path::new(&site.copy.path),
            &site.copy.skipped,
        );
        site.copy.record_changes(copy_changes);
        judge(&mut scale, &python_info);
        let results = assemble(settings, &site, python_info, scale, started);
        // The site is read-only to the tool: prove it before anything is written.
        site_before.unchanged(&Fingerprint::take(&settings.load.site_dir))?;
        out.write_files(&files(&results)?).context("writing the report")?;
        let start_method = results.python["default_start_method"].as_str();
        ui::print(&results.scale, start_method, out.path());
        Ok(())
    })
}

fn describe_python(py: Python<'_>) -> Result<serde_json::Value> {
    let described = python::module(py, Module::Env)?.call_method0("describe")?;
    python::from_py(&described)
}

fn load_site(
    py: Python<'_>,
    settings: &ScaleSettings,
    workdir: &Workdir,
    progress: &Progress,
) -> Result<LoadedSite> {
    progress.spinner(&format!(
        "loading {} (stage {})",
        settings.load.site_dir.display(),
        settings.load.stage
    ));
    let site = generators::load(py, &settings.load, workdir);
    progress.clear();
    site
}

/// `picklecost.scale.run`: the sequential baselines and every (workload, strategy, W) run.
fn measure(
    py: Python<'_>,
    settings: &ScaleSettings,
    site: &LoadedSite,
    workdir: &Workdir,
    progress: &Progress,
    worker_memory: &WorkerMemory,
) -> Result<Scale> {
    progress.spinner("rendering the pages sequentially and with every strategy");
    let kwargs = PyDict::new(py);
    kwargs.set_item("workers", PyList::new(py, &settings.workers)?)?;
    kwargs.set_item("n_pages", settings.pages)?;
    kwargs.set_item("budget", settings.budget_seconds)?;
    kwargs.set_item("timeout", settings.timeout_seconds)?;
    kwargs.set_item("limit", settings.limit_seconds)?;
    if worker_memory.limited() {
        kwargs.set_item("memory_workers", worker_memory.started)?;
        kwargs.set_item("memory_note", worker_memory.sentence())?;
    }
    let strategies = settings.strategies.iter().map(|s| s.as_str());
    kwargs.set_item("strategies", PyList::new(py, strategies)?)?;
    kwargs.set_item("what_if", settings.what_if.map(WhatIf::as_str))?;
    // Where the site does not pickle, a what-if's workers load it themselves, as the tool did.
    let reload = PyDict::new(py);
    reload.set_item("root", settings.load.site_dir.to_string_lossy().as_ref())?;
    reload.set_item("stage", settings.load.stage.as_str())?;
    reload.set_item("loader", settings.load.loader.as_deref())?;
    reload.set_item("generator", settings.load.generator.as_deref())?;
    kwargs.set_item("reload", reload)?;
    let outcome = call(py, "run", site, &workdir.path().join("scale"), &kwargs);
    progress.clear();
    outcome
}

/// `analyze`'s short real parallel run (`picklecost.scale.check`): the render baseline timed
/// twice and each of `strategies` once with `workers` workers on a small sample, within
/// `limits` (the whole run's seconds, one page's seconds in a main thread), with the memory's
/// cap on workers that hold a copy of the site.
/// What `analyze`'s real check runs: at W = `workers`, within `limit_seconds` (each page within
/// `page_limit_seconds`), on enough pages for a couple of seconds of sequential rendering at
/// the render probe's `render_mean_seconds` a page.
pub struct CheckPlan {
    pub workers: u32,
    pub limit_seconds: f64,
    pub page_limit_seconds: f64,
    pub render_mean_seconds: Option<f64>,
}

pub fn check(
    py: Python<'_>,
    site: &LoadedSite,
    workdir: &Workdir,
    plan: &CheckPlan,
    strategies: &[Strategy],
    worker_memory: &WorkerMemory,
) -> Result<Scale> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("page_limit", plan.page_limit_seconds)?;
    kwargs.set_item("workers", plan.workers)?;
    kwargs.set_item(
        "strategies",
        PyList::new(py, strategies.iter().map(|s| s.as_str()))?,
    )?;
    kwargs.set_item("limit", plan.limit_seconds)?;
    kwargs.set_item("render_mean", plan.render_mean_seconds)?;
    if worker_memory.limited() {
        kwargs.set_item("memory_workers", worker_memory.started)?;
        kwargs.set_item("memory_note", worker_memory.sentence())?;
    }
    call(py, "check", site, &workdir.path().join("check"), &kwargs)
}

/// `picklecost.scale.<function>(adapter, site, pages, scratch, **kwargs)`, read back as the
/// `scale` object; its workers are all ended when it returns or raises.
fn call(
    py: Python<'_>,
    function: &str,
    site: &LoadedSite,
    scratch: &std::path::Path,
    kwargs: &Bound<'_, PyDict>,
) -> Result<Scale> {
    let module = python::module(py, Module::Scale)?;
    let outcome = module
        .call_method(
            function,
            (
                site.adapter.bind(py),
                site.site.bind(py),
                site.page_list(py)?,
                scratch.to_string_lossy().as_ref(),
            ),
            Some(kwargs),
        )
        .map_err(|err| {
            python::interrupt::or_else(py, &err, |why| {
                anyhow::anyhow!("measuring the scaling failed: {why}")
            })
        })?;
    python::from_py(&outcome)
}

/// How many render workers that each hold a copy of the site (sub-interpreters, processes)
/// fit the memory: each taken to need what loading the site added to this process.
fn worker_memory(settings: &ScaleSettings, loaded_site: Option<u64>) -> WorkerMemory {
    let most = settings.workers.iter().copied().max().unwrap_or(1) as usize;
    WorkerMemory::plan(most, 1, loaded_site, memory::available(), settings.memory_limit)
}

/// The one-sentence answer and the W = 1 checks, from the measured runs.
fn judge(scale: &mut Scale, python_info: &serde_json::Value) {
    let cpus = python_info["cpu_count"].as_u64().unwrap_or(1) as usize;
    verdict::scale::predictions(scale);
    scale.answer = verdict::scale::answer(scale, cpus);
    scale.single_worker = verdict::scale::single_worker(scale);
}

fn assemble(
    settings: &ScaleSettings,
    site: &LoadedSite,
    python_info: serde_json::Value,
    scale: Scale,
    started: Instant,
) -> ScaleResults {
    ScaleResults {
        tool: serde_json::json!({"name": "picklecost", "version": env!("CARGO_PKG_VERSION")}),
        command_line: settings.command_line.clone(),
        site: serde_json::json!({
            "path": settings.load.site_dir.display().to_string(),
            "generator": site.generator,
            "generator_version": site.generator_version,
            "stage": site.stage.as_str(),
            "stage_method": site.stage_method,
            "pages_loaded": site.pages.len(),
            "copy": site.copy,
        }),
        python: python_info,
        scale,
        timing: serde_json::json!({
            "load_seconds": site.load_seconds,
            "total_seconds": started.elapsed().as_secs_f64(),
        }),
    }
}

//! Ship the payloads through real transports — a thread (by reference), sub-interpreters and
//! processes (pickled) — measure the round trips against the generator's render cost, and say
//! which strategy is worth it.
pub mod process;
pub mod strategy;
pub mod subinterpreter;
pub mod thread;

use crate::load::{LoadedSite, Workdir};
use crate::measure::{self, PageView, PayloadResult, stats};
use crate::python::{self, Module};
use anyhow::Result;
use hdrhistogram::Histogram;
use pyo3::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use strategy::{Class, Strategy, Thresholds};

pub trait Transport {
    fn name(&self) -> &'static str;
    /// Up to `rounds` round trips over `objects` (round-robin), stopping at `deadline`.
    fn measure(
        &self,
        py: Python<'_>,
        objects: &[Bound<'_, PyAny>],
        rounds: usize,
        deadline: Instant,
    ) -> Result<Vec<u64>, String>;
}

/// A Python-side worker pool (`SubinterpreterTransport`, `ProcessTransport`); `close` ends it.
pub struct Pool {
    object: Py<PyAny>,
    protocol: u8,
    pub setup: Setup,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Setup {
    /// Per worker: creating the interpreter or spawning the process, and importing the modules
    /// the payloads need inside it.
    #[serde(alias = "spawn")]
    pub create: Vec<u64>,
    pub import: Vec<u64>,
}

impl Pool {
    fn start<'py>(
        py: Python<'py>,
        class: &str,
        args: impl pyo3::call::PyCallArgs<'py>,
        protocol: u8,
    ) -> Result<Self, String> {
        let describe = |e: PyErr| python::describe_error(py, &e);
        let module = python::module(py, Module::Transports).map_err(describe)?;
        let object = module
            .getattr(class)
            .and_then(|c| c.call1(args))
            .map_err(describe)?;
        let setup =
            python::from_py(&object.getattr("setup_ns").map_err(describe)?).map_err(|e| e.to_string())?;
        Ok(Self {
            object: object.unbind(),
            protocol,
            setup,
        })
    }

    fn measure(
        &self,
        py: Python<'_>,
        objects: &[Bound<'_, PyAny>],
        rounds: usize,
        deadline: Instant,
    ) -> Result<Vec<u64>, String> {
        let pool = self.object.bind(py);
        let mut out = Vec::with_capacity(rounds);
        for i in 0..rounds {
            if i >= MIN_ROUNDS && Instant::now() > deadline {
                break;
            }
            let obj = &objects[i % objects.len()];
            let ns = pool
                .call_method1("roundtrip", (obj, self.protocol))
                .and_then(|r| r.extract::<u64>())
                .map_err(|e| python::describe_error(py, &e))?;
            out.push(ns);
        }
        Ok(out)
    }

    fn close(&self, py: Python<'_>) {
        let _ = self.object.bind(py).call_method0("close");
    }
}

/// However tight the budget, this many round trips per measured cell.
const MIN_ROUNDS: usize = 3;
const MAX_ROUNDS: usize = 200;
/// Objects of a per-page payload sent through the transports (spread over the sized pages).
const OBJECTS_PER_PAYLOAD: usize = 16;

#[derive(Debug, Clone)]
pub struct Settings {
    pub workers: usize,
    pub budget_seconds: f64,
    pub protocol: u8,
    pub thresholds: Thresholds,
}

/// One transport carrying one payload.
pub struct Cell {
    pub transport: String,
    pub payload: String,
    pub available: bool,
    pub reason: Option<String>,
    pub roundtrip: Histogram<u64>,
    pub setup: Option<Setup>,
}

#[derive(Serialize, Debug, Clone)]
pub struct ImportRow {
    pub payload: String,
    pub module: String,
    pub isolated_ok: Option<bool>,
    pub legacy_ok: Option<bool>,
    pub error: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct VerdictRow {
    pub strategy: String,
    pub payload: String,
    pub transport: String,
    pub workers: usize,
    /// Transfer time for the whole site as a share of its render time (None: not shippable).
    pub transfer_share: Option<f64>,
    /// One-time set-up of W workers (create + import) as a share of the render time.
    pub setup_share: Option<f64>,
    pub class: Class,
    pub why: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Render {
    pub available: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub render_ns: Vec<u64>,
    #[serde(default)]
    pub pages: u64,
    #[serde(default)]
    pub sampled: bool,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}

pub struct Outcome {
    pub availability: serde_json::Value,
    pub cells: Vec<Cell>,
    pub imports: Vec<ImportRow>,
    pub render: Render,
    pub render_hist: Histogram<u64>,
    pub verdicts: Vec<VerdictRow>,
    pub transports_seconds: f64,
    pub render_seconds: f64,
}

/// Everything: imports check, the three transports per payload, render cost, verdicts.
#[allow(clippy::too_many_arguments)]
pub fn run<'py>(
    py: Python<'py>,
    site: &LoadedSite,
    payloads: &[PayloadResult],
    closures: &[Vec<String>],
    subset: &PageView<'py>,
    suggested: Option<&PageView<'py>>,
    settings: &Settings,
    workdir: &Workdir,
) -> Result<Outcome> {
    let started = Instant::now();
    let transports_py = python::module(py, Module::Transports)?;
    let availability: serde_json::Value = python::from_py(&transports_py.call_method0("availability")?)?;
    let available = |name: &str| availability[name]["available"].as_bool().unwrap_or(false);
    let reason = |name: &str| availability[name]["reason"].as_str().map(str::to_string);

    // Which modules each payload's unpickling imports, and whether they load in sub-interpreters.
    let modules_of = |globals: &Vec<String>| -> Result<Vec<String>> {
        Ok(transports_py
            .call_method1("modules_for_globals", (globals.clone(),))?
            .extract()?)
    };
    let payload_modules: Vec<Vec<String>> = closures.iter().map(modules_of).collect::<Result<_>>()?;
    let mut all_modules: Vec<String> = payload_modules.iter().flatten().cloned().collect();
    all_modules.sort();
    all_modules.dedup();
    #[derive(Deserialize)]
    struct Check {
        module: String,
        isolated_ok: Option<bool>,
        legacy_ok: Option<bool>,
        error: Option<String>,
    }
    let checks: Vec<Check> =
        python::from_py(&transports_py.call_method1("check_imports", (all_modules.clone(),))?)?;
    let mut imports = Vec::new();
    for (p, modules) in payloads.iter().zip(&payload_modules) {
        for m in modules {
            if let Some(c) = checks.iter().find(|c| &c.module == m) {
                imports.push(ImportRow {
                    payload: p.kind.name().to_string(),
                    module: m.clone(),
                    isolated_ok: c.isolated_ok,
                    legacy_ok: c.legacy_ok,
                    error: c.error.clone(),
                });
            }
        }
    }
    let refused_isolated = |payload: &str| -> Option<&ImportRow> {
        imports
            .iter()
            .find(|r| r.payload == payload && r.isolated_ok == Some(false))
    };

    // The objects each payload sends: the Site, or a spread of the sized pages' payloads.
    let subset_fn = python::module(py, Module::Payloads)?.getattr("subset")?;
    let mut objects: Vec<Vec<Bound<'py, PyAny>>> = Vec::new();
    for p in payloads {
        let objs = p
            .sizes
            .iter()
            .take(OBJECTS_PER_PAYLOAD)
            .map(|&(i, _)| measure::build_object(py, site, &subset_fn, p.kind, i, subset, suggested))
            .collect::<PyResult<Vec<_>>>()?;
        objects.push(objs);
    }

    // Start the pools once; each transport then carries every payload in turn.
    let workers = settings.workers.max(1);
    let start_sub = |config: &'static str| -> (Option<subinterpreter::Subinterpreter>, Option<String>) {
        match subinterpreter::Subinterpreter::start(py, workers, config, &all_modules, settings.protocol) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        }
    };
    let (isolated, isolated_err) = if available("subinterpreter") {
        start_sub("isolated")
    } else {
        (None, reason("subinterpreter"))
    };
    let needs_legacy = payloads.iter().any(|p| refused_isolated(p.kind.name()).is_some());
    let (legacy, legacy_err) = if available("subinterpreter") && needs_legacy {
        start_sub("legacy")
    } else {
        (None, None)
    };
    let (process, process_err) = if available("process") {
        match process::Process::start(py, workers, &all_modules, settings.protocol) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, reason("process"))
    };

    let mut cells = Vec::new();
    let active_cells = payloads.iter().filter(|p| !p.sizes.is_empty()).count().max(1);
    let transports_count = 2 + isolated.is_some() as usize + legacy.is_some() as usize;
    let per_cell = Duration::from_secs_f64(
        (settings.budget_seconds / (active_cells * transports_count) as f64).max(0.05),
    );
    let measure_cell =
        |t: &dyn Transport, setup: Option<Setup>, p: &PayloadResult, objs: &[Bound<'py, PyAny>]| -> Cell {
            let mut cell = Cell {
                transport: t.name().to_string(),
                payload: p.kind.name().to_string(),
                available: true,
                reason: None,
                roundtrip: stats::new_histogram(),
                setup,
            };
            if objs.is_empty() {
                cell.available = false;
                cell.reason = Some("no picklable object of this payload to send".into());
            } else {
                match t.measure(py, objs, MAX_ROUNDS, Instant::now() + per_cell) {
                    Ok(samples) => samples
                        .into_iter()
                        .for_each(|ns| cell.roundtrip.saturating_record(ns.max(1))),
                    Err(e) => {
                        cell.available = false;
                        cell.reason = Some(e);
                    }
                }
            }
            cell
        };
    for (p, objs) in payloads.iter().zip(&objects) {
        cells.push(measure_cell(&thread::Thread, None, p, objs));
        cells.push(match (&isolated, refused_isolated(p.kind.name())) {
            (Some(_), Some(row)) => unshippable(p, row),
            (Some(s), None) => measure_cell(s, Some(s.pool.setup.clone()), p, objs),
            (None, _) => unavailable("subinterpreter", p, isolated_err.clone()),
        });
        if refused_isolated(p.kind.name()).is_some() {
            cells.push(match &legacy {
                Some(l) => measure_cell(l, Some(l.pool.setup.clone()), p, objs),
                None => unavailable("subinterpreter-legacy", p, legacy_err.clone()),
            });
        }
        cells.push(match &process {
            Some(pr) => measure_cell(pr, Some(pr.pool.setup.clone()), p, objs),
            None => unavailable("process", p, process_err.clone()),
        });
    }
    for pool in [
        isolated.as_ref().map(|s| &s.pool),
        legacy.as_ref().map(|s| &s.pool),
        process.as_ref().map(|p| &p.pool),
    ]
    .into_iter()
    .flatten()
    {
        pool.close(py);
    }
    let transports_seconds = started.elapsed().as_secs_f64();

    // Render cost last: preparing a discovered site for rendering changes the graph.
    let render_started = Instant::now();
    let render_py = python::module(py, Module::Render)?;
    let pages = pyo3::types::PyList::new(py, site.pages.iter().map(|p| p.bind(py)))?;
    let render: Render = match render_py.call_method1(
        "render_cost",
        (
            site.site.bind(py),
            pages,
            render_sample(site.pages.len()),
            workdir.path().join("render").to_string_lossy().as_ref(),
        ),
    ) {
        Ok(r) => python::from_py(&r)?,
        Err(e) => Render {
            available: false,
            reason: Some(python::describe_error(py, &e)),
            ..Default::default()
        },
    };
    let mut render_hist = stats::new_histogram();
    render
        .render_ns
        .iter()
        .for_each(|&ns| render_hist.saturating_record(ns.max(1)));
    let render_seconds = render_started.elapsed().as_secs_f64();

    let verdicts = judge(
        &cells,
        &render,
        &render_hist,
        site.pages.len(),
        workers,
        settings.thresholds,
    );
    Ok(Outcome {
        availability,
        cells,
        imports,
        render,
        render_hist,
        verdicts,
        transports_seconds,
        render_seconds,
    })
}

/// Pages to render for the cost estimate: all of a small site, a spread sample of a big one.
fn render_sample(pages: usize) -> usize {
    pages.min(60)
}

fn unavailable(transport: &str, p: &PayloadResult, reason: Option<String>) -> Cell {
    Cell {
        transport: transport.to_string(),
        payload: p.kind.name().to_string(),
        available: false,
        reason: Some(reason.unwrap_or_else(|| "not available".into())),
        roundtrip: stats::new_histogram(),
        setup: None,
    }
}

fn unshippable(p: &PayloadResult, row: &ImportRow) -> Cell {
    unavailable(
        "subinterpreter",
        p,
        Some(format!(
            "not shippable: unpickling needs module {}, which cannot load in an isolated sub-interpreter ({})",
            row.module,
            row.error.as_deref().unwrap_or("import failed")
        )),
    )
}

fn judge(
    cells: &[Cell],
    render: &Render,
    render_hist: &Histogram<u64>,
    pages: usize,
    workers: usize,
    thresholds: Thresholds,
) -> Vec<VerdictRow> {
    let render_total = render_hist.value_at_quantile(0.5) as f64 * pages as f64;
    let mut rows = Vec::new();
    for cell in cells
        .iter()
        .filter(|c| c.transport == "subinterpreter" || c.transport == "process")
    {
        let strategy = match cell.payload.as_str() {
            "site" => Strategy::SitePerWorker,
            "page" => Strategy::EachPage,
            _ => Strategy::EachPayload,
        };
        let mut row = VerdictRow {
            strategy: strategy.describe(&cell.payload),
            payload: cell.payload.clone(),
            transport: cell.transport.clone(),
            workers,
            transfer_share: None,
            setup_share: None,
            class: Class::Impractical,
            why: String::new(),
        };
        if !cell.available || cell.roundtrip.is_empty() {
            row.why = cell.reason.clone().unwrap_or_else(|| "not measured".into());
            if cell.transport == "subinterpreter"
                && render_total > 0.0
                && let Some(legacy) = cells.iter().find(|c| {
                    c.transport == "subinterpreter-legacy"
                        && c.payload == cell.payload
                        && !c.roundtrip.is_empty()
                })
            {
                let share =
                    strategy::transfer_ns(strategy, legacy.roundtrip.value_at_quantile(0.5), pages, workers)
                        / render_total;
                row.why.push_str(&format!(
                        "; a legacy-config sub-interpreter can take it ({:.1}% of render time) but shares the main GIL: isolation, not parallelism",
                        share * 100.0
                    ));
            }
        } else if !render.available || render_total <= 0.0 {
            row.class = Class::Unknown;
            row.why = format!(
                "{} round trip p50, but no render cost to compare with ({})",
                crate::output::format::nanos(cell.roundtrip.value_at_quantile(0.5)),
                render.reason.as_deref().unwrap_or("none measured")
            );
        } else {
            let p50 = cell.roundtrip.value_at_quantile(0.5);
            let share = strategy::transfer_ns(strategy, p50, pages, workers) / render_total;
            let setup_ns: u64 = cell
                .setup
                .as_ref()
                .map_or(0, |s| s.create.iter().sum::<u64>() + s.import.iter().sum::<u64>());
            row.transfer_share = Some(share);
            row.setup_share = Some(setup_ns as f64 / render_total);
            row.class = strategy::classify(share, thresholds);
            let count = match strategy {
                Strategy::SitePerWorker => format!("{workers} copies"),
                _ => format!("{pages} pages"),
            };
            row.why = format!(
                "{} round trip p50 x {count} = {:.1}% of the {} it takes to render {pages} pages (p50 {}); starting {workers} workers costs another {:.1}% once",
                crate::output::format::nanos(p50),
                share * 100.0,
                crate::output::format::nanos(render_total as u64),
                crate::output::format::nanos(render_hist.value_at_quantile(0.5)),
                setup_ns as f64 / render_total * 100.0
            );
        }
        rows.push(row);
    }
    rows
}

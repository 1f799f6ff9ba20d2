//! Ship the payloads through real transports — a thread (by reference), sub-interpreters and
//! processes (pickled), forked children (shared copy-on-write) — measure the generator's render
//! cost to set them against, and send real rendered pages back through each. Numbers only: the
//! verdict on them is `verdict::strategies`.
pub mod fork;
pub mod process;
pub mod subinterpreter;
pub mod thread;

use crate::generators::Workdir;
use crate::measure::PayloadResult;
use crate::model::stats;
use crate::model::transport::{EntryReadiness, ImportRow, Render, ResultBack, Setup};
use crate::model::{PayloadKind, TransportKind};
use crate::payloads::Payloads;
use crate::python::{self, Module};
use crate::settings::{TransportSettings, tuning};
use anyhow::Result;
use hdrhistogram::Histogram;
use pyo3::prelude::*;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// thread, sub-interpreter, legacy sub-interpreter, process, fork: the fork cells are measured
/// before the others start, on the share each cell would get if a payload took all of them.
const MOST_TRANSPORTS_PER_PAYLOAD: usize = 5;

/// Timed round trips `round(i)` for i = 0, 1, ...: at most `most`, and past `least` only while
/// `deadline` has not passed. Stops at the first error.
fn timed_rounds(
    least: usize,
    most: usize,
    deadline: Instant,
    mut round: impl FnMut(usize) -> Result<u64, TripError>,
) -> Result<Vec<u64>, TripError> {
    let mut out = Vec::new();
    for i in 0..most {
        if i >= least && Instant::now() > deadline {
            break;
        }
        out.push(round(i)?);
    }
    Ok(out)
}

/// The return leg's rounds over `outputs` results: every one sent once, then round-robin until
/// `deadline`; `send(i)` times result `i`.
fn results_back_rounds(
    outputs: usize,
    deadline: Instant,
    mut send: impl FnMut(usize) -> Result<u64, TripError>,
) -> Result<Vec<u64>, TripError> {
    timed_rounds(
        tuning::TRANSPORT_MIN_ROUNDS.max(outputs),
        tuning::TRANSPORT_MAX_ROUNDS,
        deadline,
        |i| send(i % outputs),
    )
}

/// Why a round trip did not happen.
pub enum TripError {
    /// Ctrl-C: in this interpreter (KeyboardInterrupt), or in a worker that got the terminal's
    /// SIGINT too. The run stops.
    Interrupted,
    /// The payload could not make the trip, as "Type: message".
    Failed(String),
}

impl TripError {
    pub fn from_py(py: Python<'_>, err: &PyErr) -> Self {
        match python::interrupt::interrupted(py, err) {
            Some(_) => TripError::Interrupted,
            None => TripError::Failed(python::describe_error(py, err)),
        }
    }
}

pub trait Transport {
    fn kind(&self) -> TransportKind;
    /// Up to `rounds` round trips over `objects` (round-robin), stopping at `deadline`.
    fn measure(
        &self,
        py: Python<'_>,
        objects: &[Bound<'_, PyAny>],
        rounds: usize,
        deadline: Instant,
    ) -> Result<Vec<u64>, TripError>;
}

/// A Python-side worker pool (`SubinterpreterTransport`, `ProcessTransport`); `close` ends it.
pub struct Pool {
    object: Py<PyAny>,
    protocol: u8,
    pub setup: Setup,
}

impl Pool {
    fn start<'py>(
        py: Python<'py>,
        class: &str,
        args: impl pyo3::call::PyCallArgs<'py>,
        protocol: u8,
    ) -> Result<Self, TripError> {
        let describe = |e: PyErr| TripError::from_py(py, &e);
        let module = python::module(py, Module::Transports).map_err(describe)?;
        let object = module
            .getattr(class)
            .and_then(|c| c.call1(args))
            .map_err(describe)?;
        let setup = python::from_py(&object.getattr("setup_ns").map_err(describe)?)
            .map_err(|e| TripError::Failed(e.to_string()))?;
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
    ) -> Result<Vec<u64>, TripError> {
        let pool = self.object.bind(py);
        timed_rounds(tuning::TRANSPORT_MIN_ROUNDS, rounds, deadline, |i| {
            pool.call_method1("roundtrip", (&objects[i % objects.len()], self.protocol))
                .and_then(|r| r.extract::<u64>())
                .map_err(|e| TripError::from_py(py, &e))
        })
    }

    /// Every worker keeps `outputs` (untimed), then one timed `result_back` per round until
    /// every output went once and `deadline` passed.
    fn results_back(
        &self,
        py: Python<'_>,
        outputs: &[Bound<'_, PyAny>],
        deadline: Instant,
    ) -> Result<Vec<u64>, TripError> {
        let describe = |e: PyErr| TripError::from_py(py, &e);
        let pool = self.object.bind(py);
        let list = pyo3::types::PyList::new(py, outputs).map_err(describe)?;
        pool.call_method1("keep_results", (list, self.protocol))
            .map_err(describe)?;
        results_back_rounds(outputs.len(), deadline, |i| {
            pool.call_method1("result_back", (i, self.protocol))
                .and_then(|r| r.extract::<u64>())
                .map_err(describe)
        })
    }

    fn close(&self, py: Python<'_>) {
        let _ = self.object.bind(py).call_method0("close");
    }
}

/// One transport carrying one payload.
pub struct Cell {
    pub transport: TransportKind,
    pub payload: PayloadKind,
    pub available: bool,
    pub reason: Option<String>,
    pub roundtrip: Histogram<u64>,
    pub setup: Option<Setup>,
}

pub struct Outcome {
    pub availability: serde_json::Value,
    pub cells: Vec<Cell>,
    /// A real rendered page sent back from a worker, per transport.
    pub results_back: Vec<ResultBack>,
    pub imports: Vec<ImportRow>,
    /// The generator's render entry points in an isolated sub-interpreter.
    pub entry_points: Vec<EntryReadiness>,
    pub render: Render,
    pub render_hist: Histogram<u64>,
    pub workers: usize,
    pub transports_seconds: f64,
    pub render_seconds: f64,
}

/// Everything: imports check, the three transports per payload, render cost.
pub fn run<'py>(
    built: &Payloads<'_, 'py>,
    payloads: &[PayloadResult],
    closures: &[Vec<String>],
    settings: &TransportSettings,
    workdir: &Workdir,
) -> Result<Outcome> {
    let (py, site) = (built.py, built.site);
    let started = Instant::now();
    let transports_py = python::module(py, Module::Transports)?;
    let availability: serde_json::Value = python::from_py(&transports_py.call_method0("availability")?)?;
    let available = |t: TransportKind| availability[t.name()]["available"].as_bool().unwrap_or(false);
    let reason = |t: TransportKind| availability[t.name()]["reason"].as_str().map(str::to_string);

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
                    payload: p.kind,
                    module: m.clone(),
                    isolated_ok: c.isolated_ok,
                    legacy_ok: c.legacy_ok,
                    error: c.error.clone(),
                });
            }
        }
    }
    let refused_isolated = |payload: PayloadKind| -> Option<&ImportRow> {
        imports
            .iter()
            .find(|r| r.payload == payload && r.isolated_ok == Some(false))
    };

    // The objects each payload sends: the Site, or a spread of the sized pages' payloads. Fork
    // shares objects instead of pickling them: it takes those, then unpicklable ones (every
    // object is either sized or failed) up to the same count.
    let mut objects: Vec<Vec<Bound<'py, PyAny>>> = Vec::new();
    let mut fork_objects: Vec<Vec<Bound<'py, PyAny>>> = Vec::new();
    for p in payloads {
        let objs = p
            .sizes
            .iter()
            .take(tuning::TRANSPORT_OBJECTS_PER_PAYLOAD)
            .map(|&(i, _)| built.object(p.kind, i))
            .collect::<PyResult<Vec<_>>>()?;
        let mut shared = objs.clone();
        for &(i, _) in p
            .failures
            .iter()
            .take(tuning::TRANSPORT_OBJECTS_PER_PAYLOAD - objs.len())
        {
            shared.push(built.object(p.kind, i)?);
        }
        objects.push(objs);
        fork_objects.push(shared);
    }

    let entry_points = entry_points(built, available(TransportKind::Subinterpreter))?;

    // Start the pools once; each transport then carries every payload in turn.
    let workers = settings.workers.max(1);
    let interrupted = std::cell::Cell::new(false);
    // A failure as a cell's reason; an interruption is remembered and stops the run below.
    let reason_of = |e: TripError| match e {
        TripError::Interrupted => {
            interrupted.set(true);
            "interrupted".to_string()
        }
        TripError::Failed(text) => text,
    };
    let active_cells = payloads.iter().filter(|p| !p.sizes.is_empty()).count().max(1);
    let fork_ok = available(TransportKind::Fork);
    // Forks first, before this process runs sub-interpreters and pool threads.
    let fork_share = Duration::from_secs_f64(
        (settings.budget_seconds / (active_cells * MOST_TRANSPORTS_PER_PAYLOAD) as f64).max(0.05),
    );
    let mut fork_cells: Vec<Cell> = Vec::new();
    for (p, objs) in payloads.iter().zip(&fork_objects) {
        if interrupted.get() {
            break;
        }
        let mut cell = Cell {
            transport: TransportKind::Fork,
            payload: p.kind,
            available: fork_ok,
            reason: (!fork_ok).then(|| reason(TransportKind::Fork).unwrap_or_default()),
            roundtrip: stats::new_histogram(),
            setup: None,
        };
        if fork_ok && objs.is_empty() {
            cell.available = false;
            cell.reason = Some("no object of this payload to share".into());
        } else if fork_ok {
            match fork::measure(
                py,
                workers,
                objs,
                tuning::TRANSPORT_MAX_ROUNDS,
                Instant::now() + fork_share,
            ) {
                Ok((setup, samples)) => {
                    samples
                        .into_iter()
                        .for_each(|ns| cell.roundtrip.saturating_record(ns.max(1)));
                    cell.setup = Some(setup);
                }
                Err(e) => {
                    cell.available = false;
                    cell.reason = Some(reason_of(e));
                }
            }
        }
        fork_cells.push(cell);
    }

    let start_sub =
        |config: subinterpreter::Config| -> (Option<subinterpreter::Subinterpreter>, Option<String>) {
            match subinterpreter::Subinterpreter::start(py, workers, config, &all_modules, settings.protocol)
            {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(reason_of(e))),
            }
        };
    let (isolated, isolated_err) = if available(TransportKind::Subinterpreter) {
        start_sub(subinterpreter::Config::Isolated)
    } else {
        (None, reason(TransportKind::Subinterpreter))
    };
    let needs_legacy = payloads.iter().any(|p| refused_isolated(p.kind).is_some());
    let (legacy, legacy_err) = if available(TransportKind::Subinterpreter) && needs_legacy {
        start_sub(subinterpreter::Config::Legacy)
    } else {
        (None, None)
    };
    let (process, process_err) = if available(TransportKind::Process) {
        match process::Process::start(py, workers, &all_modules, settings.protocol) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(reason_of(e))),
        }
    } else {
        (None, reason(TransportKind::Process))
    };

    let mut cells = Vec::new();
    let mut fork_cells = fork_cells.into_iter();
    let transports_count = 2 + isolated.is_some() as usize + legacy.is_some() as usize;
    let per_cell = Duration::from_secs_f64(
        (settings.budget_seconds / (active_cells * transports_count) as f64).max(0.05),
    );
    let measure_cell =
        |t: &dyn Transport, setup: Option<Setup>, p: &PayloadResult, objs: &[Bound<'py, PyAny>]| -> Cell {
            let mut cell = Cell {
                transport: t.kind(),
                payload: p.kind,
                available: true,
                reason: None,
                roundtrip: stats::new_histogram(),
                setup,
            };
            if objs.is_empty() {
                cell.available = false;
                cell.reason = Some("no picklable object of this payload to send".into());
            } else {
                match t.measure(py, objs, tuning::TRANSPORT_MAX_ROUNDS, Instant::now() + per_cell) {
                    Ok(samples) => samples
                        .into_iter()
                        .for_each(|ns| cell.roundtrip.saturating_record(ns.max(1))),
                    Err(e) => {
                        cell.available = false;
                        cell.reason = Some(reason_of(e));
                    }
                }
            }
            cell
        };
    for (p, objs) in payloads.iter().zip(&objects) {
        if interrupted.get() {
            break;
        }
        cells.push(measure_cell(&thread::Thread, None, p, objs));
        cells.push(match (&isolated, refused_isolated(p.kind)) {
            (Some(_), Some(row)) => unshippable(p, row),
            (Some(s), None) => measure_cell(s, Some(s.pool.setup.clone()), p, objs),
            (None, _) => unavailable(TransportKind::Subinterpreter, p, isolated_err.clone()),
        });
        if refused_isolated(p.kind).is_some() {
            cells.push(match &legacy {
                Some(l) => measure_cell(l, Some(l.pool.setup.clone()), p, objs),
                None => unavailable(TransportKind::SubinterpreterLegacy, p, legacy_err.clone()),
            });
        }
        cells.push(match &process {
            Some(pr) => measure_cell(pr, Some(pr.pool.setup.clone()), p, objs),
            None => unavailable(TransportKind::Process, p, process_err.clone()),
        });
        if let Some(cell) = fork_cells.next() {
            cells.push(cell);
        }
    }
    let pools: Vec<(TransportKind, &Pool)> = [
        isolated
            .as_ref()
            .map(|s| (TransportKind::Subinterpreter, &s.pool)),
        legacy
            .as_ref()
            .map(|s| (TransportKind::SubinterpreterLegacy, &s.pool)),
        process.as_ref().map(|p| (TransportKind::Process, &p.pool)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let close_pools = || pools.iter().for_each(|(_, pool)| pool.close(py));
    if interrupted.get() {
        close_pools();
        return Err(python::interrupt::current().into());
    }
    let transports_seconds = started.elapsed().as_secs_f64();

    // Render cost last: preparing a discovered site for rendering changes the graph.
    let render_started = Instant::now();
    let render: Render = match site.adapter.bind(py).call_method1(
        "render_cost",
        (
            site.site.bind(py),
            site.page_list(py)?,
            site.pages.len().min(tuning::RENDER_PAGES),
            workdir.path().join("render").to_string_lossy().as_ref(),
        ),
    ) {
        Ok(r) => python::from_py(&r)?,
        Err(e) if matches!(TripError::from_py(py, &e), TripError::Interrupted) => {
            close_pools();
            return Err(python::interrupt::current().into());
        }
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

    // The return leg: real rendered pages sent back through each transport (the pools are
    // still up); read once for every transport.
    let (outputs, result_bytes) =
        match rendered_outputs(py, &workdir.path().join("render"), settings.protocol) {
            Ok(read) => read,
            Err(e) => {
                close_pools();
                return Err(e);
            }
        };
    let back = results_back(py, &outputs, &result_bytes, &pools, &available, &reason, per_cell);
    close_pools();
    let mut results_back = back?;
    // Forked last: a child forked while sub-interpreters run aborts (their state is not
    // fork-safe), so only once the pools are closed; the children share the pages.
    let fork_back = if !fork_ok {
        Err(TripError::Failed(reason(TransportKind::Fork).unwrap_or_default()))
    } else if outputs.is_empty() {
        Err(TripError::Failed(NO_OUTPUT.into()))
    } else {
        fork::results_back(
            py,
            workers,
            &outputs,
            settings.protocol,
            Instant::now() + per_cell,
        )
    };
    results_back.push(result_row(
        TransportKind::Fork,
        outputs.len(),
        &result_bytes,
        fork_back,
    ));

    Ok(Outcome {
        availability,
        cells,
        results_back,
        imports,
        entry_points,
        render,
        render_hist,
        workers,
        transports_seconds,
        render_seconds,
    })
}

fn unavailable(transport: TransportKind, p: &PayloadResult, reason: Option<String>) -> Cell {
    Cell {
        transport,
        payload: p.kind,
        available: false,
        reason: Some(reason.unwrap_or_else(|| "not available".into())),
        roundtrip: stats::new_histogram(),
        setup: None,
    }
}

fn unshippable(p: &PayloadResult, row: &ImportRow) -> Cell {
    unavailable(
        TransportKind::Subinterpreter,
        p,
        Some(format!(
            "not shippable: unpickling needs module {}, which cannot load in an isolated sub-interpreter ({})",
            row.module,
            row.error.as_deref().unwrap_or("import failed")
        )),
    )
}

/// Can the generator's render entry points load in an isolated sub-interpreter? The chain of
/// imports to the module that refuses, for each that does not.
fn entry_points(built: &Payloads<'_, '_>, subinterpreters: bool) -> Result<Vec<EntryReadiness>> {
    let (py, site) = (built.py, built.site);
    let modules: Vec<String> = site
        .adapter
        .bind(py)
        .call_method1("worker_modules", (site.site.bind(py), site.page_list(py)?))
        .and_then(|m| m.extract())
        .unwrap_or_default();
    if !subinterpreters {
        return Ok(modules
            .into_iter()
            .map(|module| EntryReadiness {
                module,
                isolated_ok: None,
                chain: Vec::new(),
                error: None,
                hint: None,
            })
            .collect());
    }
    let scale = python::module(py, Module::Scale)?;
    let mut out = Vec::new();
    for module in modules {
        let found = scale.call_method1("blocked_chain", (module.as_str(),));
        out.push(match found {
            Ok(f) if f.is_none() => EntryReadiness {
                module,
                isolated_ok: Some(true),
                chain: Vec::new(),
                error: None,
                hint: None,
            },
            Ok(f) => EntryReadiness {
                isolated_ok: Some(false),
                ..python::from_py(&f)?
            },
            Err(e) => EntryReadiness {
                module,
                isolated_ok: None,
                chain: Vec::new(),
                error: Some(python::describe_error(py, &e)),
                hint: None,
            },
        });
    }
    Ok(out)
}

/// Real rendered pages (HTML text) the render-cost probe wrote in this run's own directory, and
/// the pickled size of each.
fn rendered_outputs<'py>(
    py: Python<'py>,
    render_dir: &std::path::Path,
    protocol: u8,
) -> Result<(Vec<Bound<'py, PyAny>>, Vec<u64>)> {
    let transports_py = python::module(py, Module::Transports)?;
    let outputs: Vec<Bound<'py, PyAny>> = transports_py
        .call_method1(
            "rendered_outputs",
            (render_dir.to_string_lossy().as_ref(), tuning::RESULTS_BACK_PAGES),
        )?
        .extract()?;
    let pickle = py.import("pickle")?;
    let mut result_bytes = Vec::new();
    for o in &outputs {
        result_bytes.push(pickle.call_method1("dumps", (o, protocol))?.len()? as u64);
    }
    Ok((outputs, result_bytes))
}

fn result_row(
    transport: TransportKind,
    outputs: usize,
    result_bytes: &[u64],
    outcome: Result<Vec<u64>, TripError>,
) -> ResultBack {
    let mut hist = stats::new_histogram();
    let (ok, why) = match outcome {
        Ok(samples) => {
            samples.iter().for_each(|&ns| hist.saturating_record(ns.max(1)));
            (true, None)
        }
        Err(TripError::Interrupted) => (false, Some("interrupted".to_string())),
        Err(TripError::Failed(text)) => (false, Some(text)),
    };
    ResultBack {
        transport,
        available: ok,
        reason: why,
        results: outputs,
        result_bytes: result_bytes.to_vec(),
        roundtrip_ns: stats::LatencySummary::of(&hist),
    }
}

const NO_OUTPUT: &str = "the render-cost probe left no rendered page to send back";

/// Send real rendered pages back from a worker of each transport but fork: `thread` by
/// reference, the pools pickled (each worker keeps the pages first, untimed).
#[allow(clippy::too_many_arguments)]
fn results_back(
    py: Python<'_>,
    outputs: &[Bound<'_, PyAny>],
    result_bytes: &[u64],
    pools: &[(TransportKind, &Pool)],
    available: &dyn Fn(TransportKind) -> bool,
    reason: &dyn Fn(TransportKind) -> Option<String>,
    per_transport: Duration,
) -> Result<Vec<ResultBack>> {
    let transports_py = python::module(py, Module::Transports)?;
    let row = |transport: TransportKind, outcome: Result<Vec<u64>, TripError>| {
        result_row(transport, outputs.len(), result_bytes, outcome)
    };
    let mut rows = Vec::new();
    let kinds = [
        TransportKind::Thread,
        TransportKind::Subinterpreter,
        TransportKind::SubinterpreterLegacy,
        TransportKind::Process,
    ];
    for kind in kinds {
        let pool = pools.iter().find(|(k, _)| *k == kind).map(|(_, p)| *p);
        if kind == TransportKind::SubinterpreterLegacy && pool.is_none() {
            continue; // only started for payloads an isolated one cannot take
        }
        if outputs.is_empty() {
            rows.push(row(kind, Err(TripError::Failed(NO_OUTPUT.into()))));
            continue;
        }
        let deadline = Instant::now() + per_transport;
        let outcome = match kind {
            TransportKind::Thread => transports_py
                .call_method1(
                    "measure_thread_results",
                    (
                        pyo3::types::PyList::new(py, outputs)?,
                        tuning::TRANSPORT_MIN_ROUNDS,
                    ),
                )
                .and_then(|r| r.extract::<Vec<u64>>())
                .map_err(|e| TripError::from_py(py, &e)),
            _ => match pool {
                Some(pool) => pool.results_back(py, outputs, deadline),
                None => Err(TripError::Failed(
                    reason(kind)
                        .filter(|_| !available(kind))
                        .unwrap_or_else(|| "its workers did not start".into()),
                )),
            },
        };
        rows.push(row(kind, outcome));
    }
    Ok(rows)
}

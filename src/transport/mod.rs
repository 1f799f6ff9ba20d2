//! Ship the payloads through real transports — a thread (by reference), sub-interpreters and
//! processes (pickled) — and measure the generator's render cost to set them against. Numbers
//! only: the verdict on them is `verdict::strategies`.
pub mod process;
pub mod subinterpreter;
pub mod thread;

use crate::generators::Workdir;
use crate::measure::PayloadResult;
use crate::model::stats;
use crate::model::transport::{ImportRow, Render, Setup};
use crate::model::{PayloadKind, TransportKind};
use crate::payloads::Payloads;
use crate::python::{self, Module};
use crate::settings::{TransportSettings, tuning};
use anyhow::Result;
use hdrhistogram::Histogram;
use pyo3::prelude::*;
use serde::Deserialize;
use std::time::{Duration, Instant};

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
        let text = python::describe_error(py, err);
        if err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py)
            || text.ends_with("KeyboardInterrupt")
        {
            TripError::Interrupted
        } else {
            TripError::Failed(text)
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
        let mut out = Vec::with_capacity(rounds);
        for i in 0..rounds {
            if i >= tuning::TRANSPORT_MIN_ROUNDS && Instant::now() > deadline {
                break;
            }
            let obj = &objects[i % objects.len()];
            let ns = pool
                .call_method1("roundtrip", (obj, self.protocol))
                .and_then(|r| r.extract::<u64>())
                .map_err(|e| TripError::from_py(py, &e))?;
            out.push(ns);
        }
        Ok(out)
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
    pub imports: Vec<ImportRow>,
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

    // The objects each payload sends: the Site, or a spread of the sized pages' payloads.
    let mut objects: Vec<Vec<Bound<'py, PyAny>>> = Vec::new();
    for p in payloads {
        let objs = p
            .sizes
            .iter()
            .take(tuning::TRANSPORT_OBJECTS_PER_PAYLOAD)
            .map(|&(i, _)| built.object(p.kind, i))
            .collect::<PyResult<Vec<_>>>()?;
        objects.push(objs);
    }

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
    let active_cells = payloads.iter().filter(|p| !p.sizes.is_empty()).count().max(1);
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
    if interrupted.get() {
        anyhow::bail!("interrupted while shipping payloads through the transports");
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
            anyhow::bail!("interrupted while measuring the render cost")
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

    Ok(Outcome {
        availability,
        cells,
        imports,
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

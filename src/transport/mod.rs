//! Ship the payloads through real transports — a thread (by reference), sub-interpreters and
//! processes, spawned or started by a forkserver (pickled), forked children (shared copy-on-write) — measure the generator's render
//! cost to set them against, and send real rendered pages back through each. Every cell and
//! every results-back row is timed twice through the same workers: idle round trips (latency)
//! and a stream with requests in flight (per-item cost, `stream.rs`). Numbers only: the verdict
//! on them is `verdict::strategies`.
//!
//! The worker pools are `pools::Pool`s, closed when dropped: they live in `through_pools`, so
//! every way out of it closes them, and the forks of the last step only start once they are.
pub mod fork;
pub mod imports;
pub mod pools;
pub mod process;
pub mod results_back;
pub mod stream;
pub mod subinterpreter;
pub mod thread;

use crate::generators::Workdir;
use crate::measure::PayloadResult;
use crate::memory::{self, WorkerMemory};
use crate::model::stats;
use crate::model::transport::{EntryReadiness, ImportRow, Render, ResultBack, Setup, StreamCost};
use crate::model::{PayloadKind, TransportKind};
use crate::payloads::Payloads;
use crate::python::{self, Module, interrupt::Interrupted};
use crate::settings::{TransportSettings, tuning};
use anyhow::Result;
use hdrhistogram::Histogram;
use imports::Imports;
use pools::Pools;
use pyo3::prelude::*;
use results_back::Rendered;
use std::time::{Duration, Instant};
pub use stream::{results_back_cost, stream_cost};

/// thread, sub-interpreter, legacy sub-interpreter, process, forkserver, fork: the fork cells are
/// measured before the others start, on the share each cell would get if a payload took all of
/// them.
const MOST_TRANSPORTS_PER_PAYLOAD: usize = 6;

/// The least time a cell gets, however small the budget's share.
const MIN_SHARE_SECONDS: f64 = 0.05;

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
#[derive(Debug)]
pub enum TripError {
    /// A signal (SIGINT, SIGTERM) in this interpreter, or a worker that got the terminal's
    /// SIGINT too. The run stops.
    Interrupted(Interrupted),
    /// The payload could not make the trip, as "Type: message".
    Failed(String),
}

impl TripError {
    pub fn from_py(py: Python<'_>, err: &PyErr) -> Self {
        match python::interrupt::interrupted(py, err) {
            Some(interrupted) => TripError::Interrupted(interrupted),
            None => TripError::Failed(python::describe_error(py, err)),
        }
    }
}

/// A failed trip's reason; an interruption stops the run instead (the error `main` maps to
/// its exit code).
fn reason_or_stop(e: TripError) -> Result<String> {
    match e {
        TripError::Interrupted(interrupted) => Err(interrupted.into()),
        TripError::Failed(text) => Ok(text),
    }
}

/// A stream's figures, or why there are none; an interruption stops the run.
fn streamed(outcome: Result<StreamCost, TripError>) -> Result<Result<StreamCost, String>> {
    match outcome {
        Ok(cost) => Ok(Ok(cost)),
        Err(e) => reason_or_stop(e).map(Err),
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

/// What `transports.availability()` says of each transport.
pub struct Availability(serde_json::Value);

impl Availability {
    fn read(py: Python<'_>) -> Result<Self> {
        let transports_py = python::module(py, Module::Transports)?;
        Ok(Self(python::from_py(
            &transports_py.call_method0("availability")?,
        )?))
    }

    pub fn available(&self, t: TransportKind) -> bool {
        self.0[t.name()]["available"].as_bool().unwrap_or(false)
    }

    pub fn reason(&self, t: TransportKind) -> Option<String> {
        self.0[t.name()]["reason"].as_str().map(str::to_string)
    }
}

/// How the transport budget is shared out among the cells.
#[derive(Debug, Clone, Copy)]
struct Shares {
    budget_seconds: f64,
    /// Payloads with at least one object to send.
    active_payloads: usize,
}

impl Shares {
    fn new(budget_seconds: f64, payloads: &[PayloadResult]) -> Self {
        let active = payloads.iter().filter(|p| !p.sizes.is_empty()).count();
        Self::of(budget_seconds, active)
    }

    fn of(budget_seconds: f64, active_payloads: usize) -> Self {
        Self {
            budget_seconds,
            active_payloads: active_payloads.max(1),
        }
    }

    /// A fork cell's: measured before the pools start, as if a payload took every transport.
    fn fork_cell(self) -> Duration {
        self.cell(MOST_TRANSPORTS_PER_PAYLOAD)
    }

    /// A cell's when each payload goes through `transports` transports.
    fn cell(self, transports: usize) -> Duration {
        let seconds = self.budget_seconds / (self.active_payloads * transports.max(1)) as f64;
        Duration::from_secs_f64(seconds.max(MIN_SHARE_SECONDS))
    }
}

/// One transport carrying one payload.
pub struct Cell {
    pub transport: TransportKind,
    pub payload: PayloadKind,
    pub available: bool,
    pub reason: Option<String>,
    /// One request at a time to an idle worker: latency, the worker's wake-up included.
    pub roundtrip: Histogram<u64>,
    pub setup: Option<Setup>,
    /// Per item with requests in flight: the cost a busy pool pays.
    pub stream: Option<StreamCost>,
    /// Why a measured cell has no stream (None: it has one, or the cell was not measured).
    pub stream_reason: Option<String>,
}

impl Cell {
    fn new(transport: TransportKind, payload: PayloadKind, setup: Option<Setup>) -> Self {
        Self {
            transport,
            payload,
            available: true,
            reason: None,
            roundtrip: stats::new_histogram(),
            setup,
            stream: None,
            stream_reason: None,
        }
    }

    fn unavailable(transport: TransportKind, payload: PayloadKind, reason: Option<String>) -> Self {
        Self {
            available: false,
            reason: Some(reason.unwrap_or_else(|| "not available".into())),
            ..Self::new(transport, payload, None)
        }
    }

    /// The samples of a measurement, or its failure as the reason; an interrupt stops the run.
    fn record(mut self, outcome: Result<Vec<u64>, TripError>) -> Result<Self> {
        match outcome {
            Ok(samples) => samples
                .into_iter()
                .for_each(|ns| self.roundtrip.saturating_record(ns.max(1))),
            Err(e) => {
                self.available = false;
                self.reason = Some(reason_or_stop(e)?);
            }
        }
        Ok(self)
    }

    /// The cell's stream, or why it has none; an interrupt stops the run.
    fn with_stream(mut self, outcome: Result<StreamCost, TripError>) -> Result<Self> {
        match streamed(outcome)? {
            Ok(cost) => self.stream = Some(cost),
            Err(why) => self.stream_reason = Some(why),
        }
        Ok(self)
    }
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
    /// How many workers per sub-interpreter / process pool the memory let start.
    pub worker_memory: WorkerMemory,
    pub transports_seconds: f64,
    pub render_seconds: f64,
}

/// What one analyze run measures through its transports: the settings and what every step
/// reads.
struct Run<'a, 'b, 'py> {
    py: Python<'py>,
    built: &'a Payloads<'b, 'py>,
    payloads: &'a [PayloadResult],
    settings: &'a TransportSettings,
    availability: Availability,
    imports: Imports,
    objects: Objects<'py>,
    workers: usize,
    /// Bytes one worker holding a copy of the site is taken to need (the loaded site's size).
    per_worker: Option<u64>,
    shares: Shares,
    render_dir: std::path::PathBuf,
}

/// Everything: the imports check, every transport per payload (fork first), render cost, and
/// rendered pages sent back through every transport (fork last).
pub fn run<'py>(
    built: &Payloads<'_, 'py>,
    payloads: &[PayloadResult],
    closures: &[Vec<String>],
    settings: &TransportSettings,
    workdir: &Workdir,
    per_worker: Option<u64>,
) -> Result<Outcome> {
    let py = built.py;
    let started = Instant::now();
    let availability = Availability::read(py)?;
    let imports = imports::check(py, payloads, closures)?;
    let objects = Objects::of(built, payloads)?;
    let entry_points = imports::entry_points(built, availability.available(TransportKind::Subinterpreter))?;
    let run = Run {
        py,
        built,
        payloads,
        settings,
        availability,
        imports,
        objects,
        workers: settings.workers.max(1),
        per_worker,
        shares: Shares::new(settings.budget_seconds, payloads),
        render_dir: workdir.path().join("render"),
    };
    // Forks first, before this process runs sub-interpreters and pool threads.
    let fork_cells = run.fork_cells()?;
    let pooled = run.through_pools(fork_cells, started)?;
    let mut results_back = pooled.results_back;
    results_back.push(run.fork_results_back(&pooled.rendered, pooled.per_cell)?);
    Ok(Outcome {
        availability: run.availability.0,
        cells: pooled.cells,
        results_back,
        imports: run.imports.rows,
        entry_points,
        render: pooled.render,
        render_hist: pooled.render_hist,
        workers: run.workers,
        worker_memory: pooled.worker_memory,
        transports_seconds: pooled.transports_seconds,
        render_seconds: pooled.render_seconds,
    })
}

/// What the steps run while the pools are up give back.
struct Pooled<'py> {
    cells: Vec<Cell>,
    results_back: Vec<ResultBack>,
    rendered: Rendered<'py>,
    render: Render,
    render_hist: Histogram<u64>,
    transports_seconds: f64,
    render_seconds: f64,
    per_cell: Duration,
    worker_memory: WorkerMemory,
}

impl<'py> Run<'_, '_, 'py> {
    /// Fork cells, one per payload: its objects shared with forked children.
    fn fork_cells(&self) -> Result<Vec<Cell>> {
        let fork_ok = self.availability.available(TransportKind::Fork);
        let mut cells = Vec::new();
        for (p, objs) in self.payloads.iter().zip(&self.objects.shared) {
            let cell = Cell::new(TransportKind::Fork, p.kind, None);
            cells.push(if !fork_ok {
                Cell::unavailable(
                    TransportKind::Fork,
                    p.kind,
                    Some(self.availability.reason(TransportKind::Fork).unwrap_or_default()),
                )
            } else if objs.is_empty() {
                Cell::unavailable(
                    TransportKind::Fork,
                    p.kind,
                    Some("no object of this payload to share".into()),
                )
            } else {
                match fork::measure(
                    self.py,
                    self.workers,
                    objs,
                    tuning::TRANSPORT_MAX_ROUNDS,
                    stream::Clock::start(self.shares.fork_cell()),
                ) {
                    Ok(forked) => Cell {
                        setup: Some(forked.setup),
                        ..cell.record(Ok(forked.samples))?
                    }
                    .with_stream(forked.stream)?,
                    Err(e) => cell.record(Err(e))?,
                }
            });
        }
        Ok(cells)
    }

    /// The steps that need the pools: start them, every pooled cell, render cost, the pages
    /// back. The pools close when this returns, whichever way.
    fn through_pools(&self, fork_cells: Vec<Cell>, started: Instant) -> Result<Pooled<'py>> {
        let needs_legacy = self
            .payloads
            .iter()
            .any(|p| self.imports.refused_isolated(p.kind).is_some());
        let worker_memory = self.worker_memory(needs_legacy);
        let pools = match worker_memory.started {
            0 => Pools::none(worker_memory.none_fit(), &self.availability),
            started => Pools::start(
                self.py,
                started,
                &self.imports.all_modules,
                needs_legacy,
                &self.availability,
                self.settings.protocol,
            )?,
        };
        let per_cell = self.shares.cell(pools.transports_per_payload());
        let cells = self.pooled_cells(&pools, fork_cells, per_cell)?;
        let transports_seconds = started.elapsed().as_secs_f64();
        // Render cost last: preparing a discovered site for rendering changes the graph.
        let render_started = Instant::now();
        let (render, render_hist) = self.render_cost()?;
        let render_seconds = render_started.elapsed().as_secs_f64();
        // The return leg through the pools, still up.
        let rendered = Rendered::read(self.py, &self.render_dir, self.settings.protocol)?;
        let results_back = results_back::through_pools(
            self.py,
            &rendered,
            &pools,
            &self.availability,
            per_cell,
            self.workers,
        )?;
        Ok(Pooled {
            cells,
            results_back,
            rendered,
            render,
            render_hist,
            transports_seconds,
            render_seconds,
            per_cell,
            worker_memory,
        })
    }

    /// Workers per pool that fit the memory: every sub-interpreter and process pool (spawned
    /// and forkserver) is up at once, each of its workers holding a copy of the site while it
    /// unpickles one.
    fn worker_memory(&self, needs_legacy: bool) -> WorkerMemory {
        let available = |kind| self.availability.available(kind) as usize;
        let sub = available(TransportKind::Subinterpreter);
        let processes = available(TransportKind::Process) + available(TransportKind::Forkserver);
        let pools = sub * (1 + needs_legacy as usize) + processes;
        WorkerMemory::plan(
            self.workers,
            pools,
            self.per_worker,
            memory::available(),
            self.settings.memory_limit,
        )
    }

    /// Per payload: thread, sub-interpreter, the legacy one where an isolated one refuses the
    /// payload's modules, process, forkserver, and the payload's fork cell.
    fn pooled_cells(&self, pools: &Pools, fork_cells: Vec<Cell>, share: Duration) -> Result<Vec<Cell>> {
        let mut cells = Vec::new();
        let mut fork_cells = fork_cells.into_iter();
        for (p, objs) in self.payloads.iter().zip(&self.objects.pickled) {
            let measure = |t: &dyn Transport, setup: Option<Setup>| {
                self.measure_cell(t, pools.pool(t.kind()), setup, p.kind, objs, share)
            };
            let refused = self.imports.refused_isolated(p.kind);
            cells.push(measure(&thread::Thread, None)?);
            cells.push(match (&pools.isolated, refused) {
                (Ok(_), Some(row)) => unshippable(p.kind, row),
                (Ok(s), None) => measure(s, Some(s.pool.setup.clone()))?,
                (Err(why), _) => Cell::unavailable(TransportKind::Subinterpreter, p.kind, why.clone()),
            });
            if refused.is_some() {
                cells.push(match &pools.legacy {
                    Some(Ok(l)) => measure(l, Some(l.pool.setup.clone()))?,
                    Some(Err(why)) => {
                        Cell::unavailable(TransportKind::SubinterpreterLegacy, p.kind, Some(why.clone()))
                    }
                    None => Cell::unavailable(TransportKind::SubinterpreterLegacy, p.kind, None),
                });
            }
            cells.push(match &pools.process {
                Ok(pr) => measure(pr, Some(pr.pool.setup.clone()))?,
                Err(why) => Cell::unavailable(TransportKind::Process, p.kind, why.clone()),
            });
            cells.push(match &pools.forkserver {
                Ok(fs) => measure(fs, Some(fs.pool.setup.clone()))?,
                Err(why) => Cell::unavailable(TransportKind::Forkserver, p.kind, why.clone()),
            });
            cells.extend(fork_cells.next());
        }
        Ok(cells)
    }

    /// A cell's idle round trips, then its stream through the same workers (`pool`; threads
    /// have none), together within `share`.
    fn measure_cell(
        &self,
        t: &dyn Transport,
        pool: Option<&pools::Pool>,
        setup: Option<Setup>,
        payload: PayloadKind,
        objs: &[Bound<'py, PyAny>],
        share: Duration,
    ) -> Result<Cell> {
        let cell = Cell::new(t.kind(), payload, setup);
        if objs.is_empty() {
            return Ok(Cell {
                available: false,
                reason: Some("no picklable object of this payload to send".into()),
                ..cell
            });
        }
        let clock = stream::Clock::start(share);
        let cell = cell.record(t.measure(self.py, objs, tuning::TRANSPORT_MAX_ROUNDS, clock.trips_until))?;
        if !cell.available {
            return Ok(cell);
        }
        let outcome = match pool {
            Some(pool) => {
                let largest = self.largest_pickle(payload);
                let plan = clock
                    .plan()
                    .within_memory(largest, self.workers, self.memory_now());
                stream::payloads(self.py, pool, objs, plan)
            }
            // By reference: nothing waits in memory but the objects themselves.
            None if t.kind() == TransportKind::Thread => {
                stream::thread(self.py, objs, self.workers, clock.plan())
            }
            None => Err(TripError::Failed("no worker pool to stream to".into())),
        };
        cell.with_stream(outcome)
    }

    /// The memory a stream may fill now: MemAvailable, or `--memory-limit` when lower.
    fn memory_now(&self) -> Option<u64> {
        match (memory::available(), self.settings.memory_limit) {
            (Some(m), Some(l)) => Some(m.min(l)),
            (m, l) => m.or(l),
        }
    }

    /// The largest pickle among the objects a payload's cells send (0: none).
    fn largest_pickle(&self, payload: PayloadKind) -> u64 {
        let sizes = self.payloads.iter().find(|p| p.kind == payload).map(|p| &p.sizes);
        sizes
            .into_iter()
            .flatten()
            .take(tuning::TRANSPORT_OBJECTS_PER_PAYLOAD)
            .map(|&(_, b)| b)
            .max()
            .unwrap_or(0)
    }

    /// The adapter's render cost of up to `RENDER_PAGES` pages, written under `render_dir`,
    /// within `--render-limit`.
    fn render_cost(&self) -> Result<(Render, Histogram<u64>)> {
        let (py, site) = (self.py, self.built.site);
        let called = python::module(py, Module::Transports)?.call_method1(
            "render_cost",
            (
                site.adapter.bind(py),
                site.site.bind(py),
                site.page_list(py)?,
                site.pages.len().min(tuning::RENDER_PAGES),
                self.render_dir.to_string_lossy().as_ref(),
                self.settings.render_limit_seconds,
                self.settings.page_limit_seconds,
            ),
        );
        let render: Render = match called {
            Ok(r) => python::from_py(&r)?,
            Err(e) => Render {
                available: false,
                reason: Some(reason_or_stop(TripError::from_py(py, &e))?),
                ..Default::default()
            },
        };
        let mut hist = stats::new_histogram();
        render
            .render_ns
            .iter()
            .for_each(|&ns| hist.saturating_record(ns.max(1)));
        Ok((render, hist))
    }

    /// Forked last: only once the pools are closed; the children share the pages.
    fn fork_results_back(&self, rendered: &Rendered<'py>, share: Duration) -> Result<ResultBack> {
        results_back::through_fork(
            self.py,
            rendered,
            self.workers,
            self.settings.protocol,
            &self.availability,
            share,
        )
    }
}

fn unshippable(payload: PayloadKind, row: &ImportRow) -> Cell {
    Cell::unavailable(
        TransportKind::Subinterpreter,
        payload,
        Some(format!(
            "not shippable: unpickling needs module {}, which cannot load in an isolated sub-interpreter ({})",
            row.module,
            row.error.as_deref().unwrap_or("import failed")
        )),
    )
}

/// The objects each payload sends: the Site, or a spread of the sized pages' payloads. Fork
/// shares objects instead of pickling them: it takes those, then unpicklable ones (every object
/// is either sized or failed) up to the same count.
struct Objects<'py> {
    pickled: Vec<Vec<Bound<'py, PyAny>>>,
    shared: Vec<Vec<Bound<'py, PyAny>>>,
}

impl<'py> Objects<'py> {
    fn of(built: &Payloads<'_, 'py>, payloads: &[PayloadResult]) -> Result<Self> {
        let mut objects = Self {
            pickled: Vec::new(),
            shared: Vec::new(),
        };
        for p in payloads {
            let (sized, unpicklable) = object_indices(&p.sizes, &p.failures);
            let build = |indices: Vec<usize>| -> PyResult<Vec<_>> {
                indices.into_iter().map(|i| built.object(p.kind, i)).collect()
            };
            let pickled = build(sized)?;
            // The same objects, not new ones: fork shares what the pickling transports send.
            let shared = pickled.iter().cloned().chain(build(unpicklable)?).collect();
            objects.pickled.push(pickled);
            objects.shared.push(shared);
        }
        Ok(objects)
    }
}

/// (the sized objects a payload sends, the unpicklable ones fork shares as well), by index:
/// at most `TRANSPORT_OBJECTS_PER_PAYLOAD` in all.
fn object_indices(sizes: &[(usize, u64)], failures: &[(usize, String)]) -> (Vec<usize>, Vec<usize>) {
    let most = tuning::TRANSPORT_OBJECTS_PER_PAYLOAD;
    let sized: Vec<usize> = sizes.iter().take(most).map(|&(i, _)| i).collect();
    let unpicklable = failures
        .iter()
        .take(most - sized.len())
        .map(|&(i, _)| i)
        .collect();
    (sized, unpicklable)
}

#[cfg(test)]
mod tests;

//! Cost, not latency: each transport's per-item cost with requests in flight
//! (`picklecost.streams`). A round trip is one request to an idle worker, its wake-up included;
//! a pool keeps every worker busy, and per item it pays the main interpreter's own work
//! (pickling out, unpickling results: the serial part) and the worker's transfer work
//! (unpickling in, pickling back). The verdict reads these through `stream_cost` and
//! `results_back_cost`.
use super::pools::Pool;
use super::{Outcome, TripError};
use crate::model::transport::StreamCost;
use crate::model::{PayloadKind, TransportKind};
use crate::python::{self, Module};
use crate::settings::tuning;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// The per-item cost of shipping `payload` through `transport` to a busy pool; None where the
/// cell was not measured or its stream did not run.
pub fn stream_cost(outcome: &Outcome, transport: TransportKind, payload: PayloadKind) -> Option<&StreamCost> {
    outcome
        .cells
        .iter()
        .find(|c| c.transport == transport && c.payload == payload && c.available)
        .and_then(|c| c.stream.as_ref())
}

/// The per-item cost of sending a rendered page back through `transport` from a busy pool.
pub fn results_back_cost(outcome: &Outcome, transport: TransportKind) -> Option<&StreamCost> {
    outcome
        .results_back
        .iter()
        .find(|b| b.transport == transport && b.available)
        .and_then(|b| b.stream.as_ref())
}

/// A cell's share of the transport budget, split: the idle round trips until `trips_until`
/// (half of it; they usually end sooner, at their most rounds), the stream for what is left.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub trips_until: Instant,
    pub until: Instant,
}

impl Clock {
    pub fn start(share: Duration) -> Self {
        let now = Instant::now();
        Self {
            trips_until: now + share / 2,
            until: now + share,
        }
    }

    /// The stream's plan, on what is left of the share when it starts.
    pub fn plan(&self) -> Plan {
        Plan::new(self.until.saturating_duration_since(Instant::now()))
    }
}

/// How much a stream sends: `STREAM_IN_FLIGHT` requests waiting per worker,
/// `STREAM_ITEMS_PER_SLOT` items per request slot (the workers that answer, counted in the
/// worker), and once `least` went, only while `seconds` (its share of the budget) last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub in_flight: u32,
    pub per_slot: u64,
    pub least: u64,
    pub seconds: f64,
}

impl Plan {
    pub fn new(share: Duration) -> Self {
        Self {
            in_flight: tuning::STREAM_IN_FLIGHT,
            per_slot: tuning::STREAM_ITEMS_PER_SLOT,
            least: u64::from(tuning::STREAM_IN_FLIGHT),
            seconds: share.as_secs_f64(),
        }
    }

    /// Fewer requests in flight (1 at least) where `in_flight` pickles of `largest` bytes for
    /// each of `workers` workers would take more than half the memory `available` now: the
    /// pickles waiting in the workers' queues come on top of the copy of the site each worker
    /// unpickles, which the memory plan already counts.
    pub fn within_memory(self, largest: u64, workers: usize, available: Option<u64>) -> Self {
        let (Some(available), true) = (available, largest > 0) else {
            return self;
        };
        let per_request = largest.saturating_mul(workers.max(1) as u64);
        let fit = (available / 2 / per_request).clamp(1, u64::from(self.in_flight));
        let in_flight = u32::try_from(fit).unwrap_or(self.in_flight);
        Self {
            in_flight,
            least: self.least.min(u64::from(in_flight)),
            ..self
        }
    }

    fn kwargs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("in_flight", self.in_flight)?;
        kwargs.set_item("per_slot", self.per_slot)?;
        kwargs.set_item("least", self.least)?;
        kwargs.set_item("seconds", self.seconds)?;
        Ok(kwargs)
    }
}

/// What a `picklecost.streams` function returns.
#[derive(Deserialize, Debug, PartialEq)]
struct Streamed {
    in_flight: u32,
    workers: u32,
    planned: u64,
    items: u64,
    main_ns: Vec<u64>,
    worker_ns: Vec<u64>,
    bytes: Vec<u64>,
    /// The whole stream's wall time.
    wall_ns: u64,
}

impl From<Streamed> for StreamCost {
    fn from(s: Streamed) -> Self {
        Self {
            in_flight: s.in_flight,
            workers: s.workers,
            items: s.items,
            planned: s.planned,
            main_ns: s.main_ns,
            worker_ns: s.worker_ns,
            wall_ns_per_item: s.wall_ns as f64 / s.items.max(1) as f64,
            bytes: s.bytes,
        }
    }
}

/// `streams.<function>(*args, **plan)`.
fn call<'py>(
    py: Python<'py>,
    function: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
    plan: Plan,
) -> Result<StreamCost, TripError> {
    let describe = |e: PyErr| TripError::from_py(py, &e);
    let module = python::module(py, Module::Streams).map_err(describe)?;
    let kwargs = plan.kwargs(py).map_err(describe)?;
    let streamed = module
        .call_method(function, args, Some(&kwargs))
        .map_err(describe)?;
    let streamed: Streamed = python::from_py(&streamed).map_err(|e| TripError::Failed(e.to_string()))?;
    Ok(streamed.into())
}

fn list<'py>(py: Python<'py>, objects: &[Bound<'py, PyAny>]) -> Result<Bound<'py, PyList>, TripError> {
    PyList::new(py, objects).map_err(|e| TripError::from_py(py, &e))
}

/// A pickling pool (sub-interpreters, processes) fed `objects` round-robin.
pub fn payloads<'py>(
    py: Python<'py>,
    pool: &Pool,
    objects: &[Bound<'py, PyAny>],
    plan: Plan,
) -> Result<StreamCost, TripError> {
    let objects = list(py, objects)?;
    call(
        py,
        "stream_payloads",
        (pool.object(py), objects, pool.protocol()),
        plan,
    )
}

/// A forked pool whose children hold `count` objects already: an index goes out.
pub fn indices(py: Python<'_>, pool: &Pool, count: usize, plan: Plan) -> Result<StreamCost, TripError> {
    call(py, "stream_indices", (pool.object(py), count), plan)
}

/// A pool whose workers hold `count` rendered pages: each request has one sent back pickled.
pub fn results(py: Python<'_>, pool: &Pool, count: usize, plan: Plan) -> Result<StreamCost, TripError> {
    call(
        py,
        "stream_results",
        (pool.object(py), count, pool.protocol()),
        plan,
    )
}

/// `threads` worker threads handed `objects` by reference.
pub fn thread<'py>(
    py: Python<'py>,
    objects: &[Bound<'py, PyAny>],
    threads: usize,
    plan: Plan,
) -> Result<StreamCost, TripError> {
    let objects = list(py, objects)?;
    call(py, "stream_thread", (objects, threads), plan)
}

/// `threads` worker threads handing rendered pages back by reference.
pub fn thread_results<'py>(
    py: Python<'py>,
    outputs: &[Bound<'py, PyAny>],
    threads: usize,
    plan: Plan,
) -> Result<StreamCost, TripError> {
    let outputs = list(py, outputs)?;
    call(py, "stream_thread_results", (outputs, threads), plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_gives_its_round_trips_half_its_share_and_the_stream_what_is_left() {
        let clock = Clock::start(Duration::from_secs(10));
        assert_eq!(clock.until - clock.trips_until, Duration::from_secs(5));
        let left = clock.plan().seconds;
        assert!(left <= 10.0 && left > 5.0, "{left}");
        let spent = Clock::start(Duration::ZERO);
        assert_eq!(spent.plan().seconds, 0.0);
    }

    #[test]
    fn a_plan_is_the_tuning_and_the_share() {
        let plan = Plan::new(Duration::from_millis(1500));
        assert_eq!(plan.in_flight, tuning::STREAM_IN_FLIGHT);
        assert_eq!(plan.per_slot, tuning::STREAM_ITEMS_PER_SLOT);
        assert_eq!(plan.least, u64::from(tuning::STREAM_IN_FLIGHT));
        assert_eq!(plan.seconds, 1.5);
    }

    #[test]
    fn fewer_requests_wait_where_their_pickles_would_not_fit_half_the_memory() {
        const MB: u64 = 1 << 20;
        let plan = Plan::new(Duration::from_secs(1));
        // 4 x 2 workers x 10 MB = 80 MB: fits half of 1 GB.
        assert_eq!(plan.within_memory(10 * MB, 2, Some(1024 * MB)), plan);
        // Half of 100 MB holds 2 requests of 2 x 10 MB.
        let lowered = plan.within_memory(10 * MB, 2, Some(100 * MB));
        assert_eq!((lowered.in_flight, lowered.least), (2, 2));
        // Never below one request; unknown memory or nothing pickled: unchanged.
        assert_eq!(plan.within_memory(10 * MB, 2, Some(MB)).in_flight, 1);
        assert_eq!(plan.within_memory(10 * MB, 2, None), plan);
        assert_eq!(plan.within_memory(0, 2, Some(MB)), plan);
    }

    #[test]
    fn a_stream_becomes_per_item_figures() {
        let streamed: Streamed = serde_json::from_value(serde_json::json!({
            "in_flight": 4, "workers": 2, "planned": 64, "items": 8,
            "main_ns": [10, 20, 30, 40, 50, 60, 70, 80], "worker_ns": [5, 5, 5, 5, 5, 5, 5, 9],
            "bytes": [100, 200, 100, 200, 100, 200, 100, 200], "wall_ns": 4_000,
        }))
        .unwrap();
        let cost = StreamCost::from(streamed);
        assert_eq!(
            (cost.in_flight, cost.workers, cost.items, cost.planned),
            (4, 2, 8, 64)
        );
        assert!(cost.cut());
        assert_eq!(cost.wall_ns_mean(), 500.0);
        assert_eq!(cost.main_ns_mean(), 45.0);
        assert_eq!(cost.worker_ns_mean(), 5.5);
        let json = serde_json::to_value(&cost).unwrap();
        assert_eq!(json["main_ns"]["samples"], 8);
        assert_eq!(json["main_ns"]["max"], 80);
        assert_eq!(json["worker_ns"]["min"], 5);
        assert_eq!(
            json["bytes"],
            serde_json::json!({"min": 100, "max": 200, "total": 1200})
        );
        assert_eq!(json["wall_ns_per_item"], 500.0);
        // No worker samples (by reference): a mean of 0, an empty summary.
        let by_reference = StreamCost {
            worker_ns: Vec::new(),
            ..cost
        };
        assert_eq!(by_reference.worker_ns_mean(), 0.0);
        assert_eq!(
            serde_json::to_value(&by_reference).unwrap()["worker_ns"]["samples"],
            0
        );
    }
}

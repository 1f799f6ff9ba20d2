//! The Python-side worker pools, owned here: a `Pool` ends its workers when it is dropped, so
//! every way out of a measurement — its end, an error, an early return, an interrupt — closes
//! them, and a pool's lifetime is the scope that holds it.
use super::process::Process;
use super::subinterpreter::{Config, Subinterpreter};
use super::{Availability, TripError, reason_or_stop, results_back_rounds, timed_rounds};
use crate::model::TransportKind;
use crate::model::transport::Setup;
use crate::python::{self, Module};
use crate::settings::tuning;
use anyhow::Result;
use pyo3::prelude::*;
use std::time::Instant;

/// One pool object of `picklecost.transports` (`SubinterpreterTransport`, `ProcessTransport`,
/// `ForkserverTransport`, `ForkTransport`) and its set-up times; `close()` is called on it when this is dropped.
pub struct Pool {
    object: Py<PyAny>,
    protocol: u8,
    pub setup: Setup,
}

impl Pool {
    /// `transports.<class>(*args)`: the workers are started here.
    pub fn start<'py>(
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
        // Owned from here on: an error below drops it, and the drop closes it.
        let mut pool = Self {
            object: object.unbind(),
            protocol,
            setup: Setup::default(),
        };
        let setup = pool.object.bind(py).getattr("setup_ns").map_err(describe)?;
        pool.setup = python::from_py(&setup).map_err(|e| TripError::Failed(e.to_string()))?;
        Ok(pool)
    }

    /// The Python pool object (`picklecost.streams` drives its workers too).
    pub fn object<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.object.bind(py)
    }

    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    /// `method(*args)` on the pool, its result as ns.
    fn timed<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        args: impl pyo3::call::PyCallArgs<'py>,
    ) -> Result<u64, TripError> {
        self.object
            .bind(py)
            .call_method1(method, args)
            .and_then(|r| r.extract::<u64>())
            .map_err(|e| TripError::from_py(py, &e))
    }

    /// At least the minimum and up to `rounds` timed round trips of `objects` (round-robin)
    /// until `deadline`.
    pub fn measure(
        &self,
        py: Python<'_>,
        objects: &[Bound<'_, PyAny>],
        rounds: usize,
        deadline: Instant,
    ) -> Result<Vec<u64>, TripError> {
        timed_rounds(tuning::TRANSPORT_MIN_ROUNDS, rounds, deadline, |i| {
            self.timed(py, "roundtrip", (&objects[i % objects.len()], self.protocol))
        })
    }

    /// A forked pool's round trips: the children have the objects, only an index goes.
    pub fn measure_indices(
        &self,
        py: Python<'_>,
        objects: usize,
        rounds: usize,
        deadline: Instant,
    ) -> Result<Vec<u64>, TripError> {
        timed_rounds(tuning::TRANSPORT_MIN_ROUNDS, rounds, deadline, |i| {
            self.timed(py, "roundtrip_index", (i % objects,))
        })
    }

    /// The pool holds `outputs`; each round gives the next worker the one it sends back
    /// (untimed, kept in place of its last) and times that `result_back`, until every output
    /// went once and `deadline` passed.
    pub fn results_back(
        &self,
        py: Python<'_>,
        outputs: &[Bound<'_, PyAny>],
        deadline: Instant,
    ) -> Result<Vec<u64>, TripError> {
        let describe = |e: PyErr| TripError::from_py(py, &e);
        let list = pyo3::types::PyList::new(py, outputs).map_err(describe)?;
        self.object
            .bind(py)
            .call_method1("keep_results", (list, self.protocol))
            .map_err(describe)?;
        let times = self.results_kept(py, outputs.len(), deadline);
        // Each worker's last kept page goes now, not when the pool closes: the next pool's
        // workers get theirs while this one is still up.
        let dropped = self
            .object
            .bind(py)
            .call_method0("drop_results")
            .map_err(describe);
        let times = times?;
        dropped?;
        Ok(times)
    }

    /// Timed `result_back` rounds over `outputs` results the workers already have.
    pub fn results_kept(
        &self,
        py: Python<'_>,
        outputs: usize,
        deadline: Instant,
    ) -> Result<Vec<u64>, TripError> {
        results_back_rounds(outputs, deadline, |i| {
            self.timed(py, "result_back", (i, self.protocol))
        })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        Python::attach(|py| {
            // Closing cannot fail in a way worth reporting: a busy worker is left to the exit.
            let _ = self.object.bind(py).call_method0("close");
        });
    }
}

/// A pool that started, or why it did not; an interrupt while starting stops the run.
fn started<T>(outcome: Result<T, TripError>) -> Result<Result<T, String>> {
    match outcome {
        Ok(pool) => Ok(Ok(pool)),
        Err(e) => reason_or_stop(e).map(Err),
    }
}

/// The pools analyze measures through, each started or the reason it is not. Dropping this
/// closes every one that started.
pub struct Pools {
    pub isolated: Result<Subinterpreter, Option<String>>,
    /// Started only for payloads an isolated sub-interpreter cannot take (None: not needed, or
    /// no sub-interpreters here).
    pub legacy: Option<Result<Subinterpreter, String>>,
    pub process: Result<Process, Option<String>>,
    pub forkserver: Result<Process, Option<String>>,
}

impl Pools {
    /// Start every pool this Python offers with `workers` workers importing `modules`; an
    /// interrupt stops the run (the pools started so far are closed on the way out).
    pub fn start(
        py: Python<'_>,
        workers: usize,
        modules: &[String],
        needs_legacy: bool,
        availability: &Availability,
        protocol: u8,
    ) -> Result<Self> {
        let subinterpreters = availability.available(TransportKind::Subinterpreter);
        let sub = |config| Subinterpreter::start(py, workers, config, modules, protocol);
        let isolated = if subinterpreters {
            started(sub(Config::Isolated))?.map_err(Some)
        } else {
            Err(availability.reason(TransportKind::Subinterpreter))
        };
        let legacy = match subinterpreters && needs_legacy {
            true => Some(started(sub(Config::Legacy))?),
            false => None,
        };
        let processes = |kind| match availability.available(kind) {
            true => started(Process::start(py, kind, workers, modules, protocol)).map(|p| p.map_err(Some)),
            false => Ok(Err(availability.reason(kind))),
        };
        let process = processes(TransportKind::Process)?;
        let forkserver = processes(TransportKind::Forkserver)?;
        Ok(Self {
            isolated,
            legacy,
            process,
            forkserver,
        })
    }

    /// No pool started: each one this Python offers for `why` (no worker fits the memory).
    pub fn none(why: String, availability: &Availability) -> Self {
        let reason = |kind| match availability.available(kind) {
            true => Some(why.clone()),
            false => availability.reason(kind),
        };
        Self {
            isolated: Err(reason(TransportKind::Subinterpreter)),
            legacy: Some(Err(why.clone())),
            process: Err(reason(TransportKind::Process)),
            forkserver: Err(reason(TransportKind::Forkserver)),
        }
    }

    /// The pool of a transport, if it started.
    pub fn pool(&self, kind: TransportKind) -> Option<&Pool> {
        match kind {
            TransportKind::Subinterpreter => self.isolated.as_ref().ok().map(|s| &s.pool),
            TransportKind::SubinterpreterLegacy => self.legacy.as_ref()?.as_ref().ok().map(|s| &s.pool),
            TransportKind::Process => self.process.as_ref().ok().map(|p| &p.pool),
            TransportKind::Forkserver => self.forkserver.as_ref().ok().map(|f| &f.pool),
            TransportKind::Thread | TransportKind::Fork => None,
        }
    }

    /// Transports each payload goes through: thread and process always, the sub-interpreter
    /// and forkserver pools that started.
    pub fn transports_per_payload(&self) -> usize {
        2 + self.isolated.is_ok() as usize
            + matches!(self.legacy, Some(Ok(_))) as usize
            + self.forkserver.is_ok() as usize
    }
}

//! Workers forked after the payload's objects exist: they share them copy-on-write, so nothing
//! is pickled out. Set-up is the fork and the child's first touch of every object; a round trip
//! sends an index, the child reads that object's fields and answers.
use super::{TripError, results_back_rounds, timed_rounds};
use crate::model::transport::Setup;
use crate::python::{self, Module};
use crate::settings::tuning;
use pyo3::prelude::*;
use std::time::Instant;

/// Fork `workers` children over `objects`, time up to `rounds` round trips (round-robin) until
/// `deadline`, and stop the children (always, also on an error).
pub fn measure(
    py: Python<'_>,
    workers: usize,
    objects: &[Bound<'_, PyAny>],
    rounds: usize,
    deadline: Instant,
) -> Result<(Setup, Vec<u64>), TripError> {
    let describe = |e: PyErr| TripError::from_py(py, &e);
    let pool = start(py, workers, objects)?;
    let result = (|| {
        let setup: Setup = python::from_py(&pool.getattr("setup_ns").map_err(describe)?)
            .map_err(|e| TripError::Failed(e.to_string()))?;
        let samples = timed_rounds(tuning::TRANSPORT_MIN_ROUNDS, rounds, deadline, |i| {
            pool.call_method1("roundtrip_index", (i % objects.len(),))
                .and_then(|r| r.extract::<u64>())
                .map_err(describe)
        })?;
        Ok((setup, samples))
    })();
    let _ = pool.call_method0("close");
    result
}

/// Rendered pages sent back by children forked over them: each child pickles its copy and
/// sends it, as a forked renderer returns what it rendered. Every page once, then round-robin
/// until `deadline`.
pub fn results_back(
    py: Python<'_>,
    workers: usize,
    outputs: &[Bound<'_, PyAny>],
    protocol: u8,
    deadline: Instant,
) -> Result<Vec<u64>, TripError> {
    let describe = |e: PyErr| TripError::from_py(py, &e);
    let pool = start(py, workers, outputs)?;
    let samples = results_back_rounds(outputs.len(), deadline, |i| {
        pool.call_method1("result_back", (i, protocol))
            .and_then(|r| r.extract::<u64>())
            .map_err(describe)
    });
    let _ = pool.call_method0("close");
    samples
}

/// `ForkTransport(workers, objects)`: the children are forked here.
fn start<'py>(
    py: Python<'py>,
    workers: usize,
    objects: &[Bound<'py, PyAny>],
) -> Result<Bound<'py, PyAny>, TripError> {
    let describe = |e: PyErr| TripError::from_py(py, &e);
    let module = python::module(py, Module::Transports).map_err(describe)?;
    let list = pyo3::types::PyList::new(py, objects).map_err(describe)?;
    module
        .getattr("ForkTransport")
        .and_then(|c| c.call1((workers, list)))
        .map_err(describe)
}

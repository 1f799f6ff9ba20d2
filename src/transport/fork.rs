//! Workers forked after the payload's objects exist: they share them copy-on-write, so nothing
//! is pickled out. Set-up is the fork and the child's first touch of every object; a round trip
//! sends an index, the child reads that object's fields and answers.
use super::TripError;
use super::pools::Pool;
use crate::model::transport::Setup;
use pyo3::prelude::*;
use std::time::Instant;

/// Fork `workers` children over `objects`, time up to `rounds` round trips (round-robin) until
/// `deadline`; the children end when the pool is dropped, however this returns.
pub fn measure(
    py: Python<'_>,
    workers: usize,
    objects: &[Bound<'_, PyAny>],
    rounds: usize,
    deadline: Instant,
) -> Result<(Setup, Vec<u64>), TripError> {
    let pool = start(py, workers, objects, 0)?;
    let samples = pool.measure_indices(py, objects.len(), rounds, deadline)?;
    Ok((pool.setup.clone(), samples))
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
    start(py, workers, outputs, protocol)?.results_kept(py, outputs.len(), deadline)
}

/// `ForkTransport(workers, objects)`: the children are forked here.
fn start(
    py: Python<'_>,
    workers: usize,
    objects: &[Bound<'_, PyAny>],
    protocol: u8,
) -> Result<Pool, TripError> {
    let list = pyo3::types::PyList::new(py, objects).map_err(|e| TripError::from_py(py, &e))?;
    Pool::start(py, "ForkTransport", (workers, list), protocol)
}

//! Workers forked after the payload's objects exist: they share them copy-on-write, so nothing
//! is pickled out. Set-up is the fork and the child's first touch of every object; a round trip
//! sends an index, the child reads that object's fields and answers.
use super::TripError;
use super::pools::Pool;
use super::stream::{self, Clock};
use crate::model::transport::{Setup, StreamCost};
use pyo3::prelude::*;

/// What one fork pool measured: its set-up, the idle round trips, and the stream (or why it
/// did not run).
pub struct Forked {
    pub setup: Setup,
    pub samples: Vec<u64>,
    pub stream: Result<StreamCost, TripError>,
}

/// Fork `workers` children over `objects`, time up to `rounds` round trips (round-robin), then
/// a stream of indices, each within its part of `clock`; the children end when the pool is
/// dropped, however this returns.
pub fn measure(
    py: Python<'_>,
    workers: usize,
    objects: &[Bound<'_, PyAny>],
    rounds: usize,
    clock: Clock,
) -> Result<Forked, TripError> {
    let pool = start(py, workers, objects, 0)?;
    let samples = pool.measure_indices(py, objects.len(), rounds, clock.trips_until)?;
    let stream = stream::indices(py, &pool, objects.len(), clock.plan());
    Ok(Forked {
        setup: pool.setup.clone(),
        samples,
        stream,
    })
}

/// Rendered pages sent back by children forked over them: each child pickles its copy and
/// sends it, as a forked renderer returns what it rendered. Every page once, then round-robin
/// within the round trips' part of `clock`; then a stream of them within the rest.
pub fn results_back(
    py: Python<'_>,
    workers: usize,
    outputs: &[Bound<'_, PyAny>],
    protocol: u8,
    clock: Clock,
) -> Result<(Vec<u64>, Result<StreamCost, TripError>), TripError> {
    let pool = start(py, workers, outputs, protocol)?;
    let samples = pool.results_kept(py, outputs.len(), clock.trips_until)?;
    let stream = stream::results(py, &pool, outputs.len(), clock.plan());
    Ok((samples, stream))
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

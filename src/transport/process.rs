//! Worker processes started with `spawn` (the site's interpreter): the same pickled round trip
//! as sub-interpreters, over a pipe. Fork with copy-on-write needs no pickling and is not here.
use super::Transport;
use super::pools::Pool;
use crate::model::TransportKind;
use pyo3::prelude::*;

pub struct Process {
    pub pool: Pool,
}

impl Process {
    pub fn start(
        py: Python<'_>,
        workers: usize,
        modules: &[String],
        protocol: u8,
    ) -> Result<Self, super::TripError> {
        Ok(Self {
            pool: Pool::start(py, "ProcessTransport", (workers, modules.to_vec()), protocol)?,
        })
    }
}

impl Transport for Process {
    fn kind(&self) -> TransportKind {
        TransportKind::Process
    }

    fn measure(
        &self,
        py: Python<'_>,
        objects: &[Bound<'_, PyAny>],
        rounds: usize,
        deadline: std::time::Instant,
    ) -> Result<Vec<u64>, super::TripError> {
        self.pool.measure(py, objects, rounds, deadline)
    }
}

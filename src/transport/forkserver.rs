//! Worker processes forked by multiprocessing's forkserver (the default start method from
//! Python 3.14 on Linux): the server, a process of the site's interpreter started for the pool
//! and ended with it, forked before the site was loaded, so its workers get the payload pickled
//! over a pipe as spawned ones do. The first worker's set-up includes starting the server.
use super::Transport;
use super::pools::Pool;
use crate::model::TransportKind;
use pyo3::prelude::*;

pub struct Forkserver {
    pub pool: Pool,
}

impl Forkserver {
    pub fn start(
        py: Python<'_>,
        workers: usize,
        modules: &[String],
        protocol: u8,
    ) -> Result<Self, super::TripError> {
        Ok(Self {
            pool: Pool::start(py, "ForkserverTransport", (workers, modules.to_vec()), protocol)?,
        })
    }
}

impl Transport for Forkserver {
    fn kind(&self) -> TransportKind {
        TransportKind::Forkserver
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

//! Worker processes that get each payload pickled over a pipe, by the start method: `spawn` (a
//! fresh process of the site's interpreter) or multiprocessing's `forkserver` (the default from
//! Python 3.14 on Linux: the server, a process of the site's interpreter started for the pool
//! and ended with it, is forked before the site was loaded, so its workers share nothing with
//! the tool; the first worker's set-up includes starting the server). Fork with copy-on-write
//! needs no pickling and is not here.
use super::Transport;
use super::pools::Pool;
use crate::model::TransportKind;
use pyo3::prelude::*;

pub struct Process {
    kind: TransportKind,
    pub pool: Pool,
}

impl Process {
    /// Workers started with `kind`'s start method: `Process` (spawn) or `Forkserver`.
    pub fn start(
        py: Python<'_>,
        kind: TransportKind,
        workers: usize,
        modules: &[String],
        protocol: u8,
    ) -> Result<Self, super::TripError> {
        let class = match kind {
            TransportKind::Forkserver => "ForkserverTransport",
            _ => "ProcessTransport",
        };
        Ok(Self {
            kind,
            pool: Pool::start(py, class, (workers, modules.to_vec()), protocol)?,
        })
    }
}

impl Transport for Process {
    fn kind(&self) -> TransportKind {
        self.kind
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

//! Sub-interpreters (3.13 `_interpreters`, 3.14 `concurrent.interpreters`): pickled in the main
//! interpreter, bytes through a queue, unpickled inside, a small result back.
use super::Transport;
use super::pools::Pool;
use crate::model::TransportKind;
use pyo3::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Config {
    /// Its own GIL: parallel with the main interpreter.
    Isolated,
    /// Shares the main GIL: isolation, not parallelism; loads modules an isolated one refuses.
    Legacy,
}

impl Config {
    /// The name `SubinterpreterTransport` takes.
    fn python_name(self) -> &'static str {
        match self {
            Config::Isolated => "isolated",
            Config::Legacy => "legacy",
        }
    }
}

pub struct Subinterpreter {
    pub pool: Pool,
    pub config: Config,
}

impl Subinterpreter {
    pub fn start(
        py: Python<'_>,
        workers: usize,
        config: Config,
        modules: &[String],
        protocol: u8,
    ) -> Result<Self, super::TripError> {
        Ok(Self {
            pool: Pool::start(
                py,
                "SubinterpreterTransport",
                (workers, config.python_name(), modules.to_vec()),
                protocol,
            )?,
            config,
        })
    }
}

impl Transport for Subinterpreter {
    fn kind(&self) -> TransportKind {
        match self.config {
            Config::Isolated => TransportKind::Subinterpreter,
            Config::Legacy => TransportKind::SubinterpreterLegacy,
        }
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

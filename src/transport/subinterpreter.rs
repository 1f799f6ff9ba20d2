//! Sub-interpreters (3.13 `_interpreters`, 3.14 `concurrent.interpreters`): pickled in the main
//! interpreter, bytes through a queue, unpickled inside, a small result back.
use super::{Pool, Transport};
use pyo3::prelude::*;

pub struct Subinterpreter {
    pub pool: Pool,
    /// "isolated" (own GIL) or "legacy" (shares the main GIL: isolation, not parallelism).
    pub config: &'static str,
}

impl Subinterpreter {
    pub fn start(
        py: Python<'_>,
        workers: usize,
        config: &'static str,
        modules: &[String],
        protocol: u8,
    ) -> Result<Self, String> {
        Ok(Self {
            pool: Pool::start(
                py,
                "SubinterpreterTransport",
                (workers, config, modules.to_vec()),
                protocol,
            )?,
            config,
        })
    }
}

impl Transport for Subinterpreter {
    fn name(&self) -> &'static str {
        if self.config == "legacy" {
            "subinterpreter-legacy"
        } else {
            "subinterpreter"
        }
    }

    fn measure(
        &self,
        py: Python<'_>,
        objects: &[Bound<'_, PyAny>],
        rounds: usize,
        deadline: std::time::Instant,
    ) -> Result<Vec<u64>, String> {
        self.pool.measure(py, objects, rounds, deadline)
    }
}

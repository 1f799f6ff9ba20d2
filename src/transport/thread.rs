//! The zero-copy baseline: a worker thread gets the object by reference through a queue.
use super::{Transport, TripError};
use crate::model::TransportKind;
use crate::python::{self, Module};
use pyo3::prelude::*;

pub struct Thread;

impl Transport for Thread {
    fn kind(&self) -> TransportKind {
        TransportKind::Thread
    }

    fn measure(
        &self,
        py: Python<'_>,
        objects: &[Bound<'_, PyAny>],
        rounds: usize,
        _deadline: std::time::Instant,
    ) -> Result<Vec<u64>, TripError> {
        let module = python::module(py, Module::Transports).map_err(|e| TripError::from_py(py, &e))?;
        let per_object = rounds.div_ceil(objects.len().max(1)).max(1);
        let list = pyo3::types::PyList::new(py, objects).map_err(|e| TripError::from_py(py, &e))?;
        module
            .call_method1("measure_thread", (list, per_object))
            .and_then(|r| r.get_item("roundtrip_ns")?.extract::<Vec<u64>>())
            .map_err(|e| TripError::from_py(py, &e))
    }
}

//! The wheel's native module `picklecost._native`: `main(argv) -> int` runs the command line
//! inside the Python that imported it (the console script `picklecost` and `python -m
//! picklecost` call it from `picklecost/__main__.py`).
use pyo3::prelude::*;
use std::ffi::OsString;

#[pymodule]
mod _native {
    use super::*;

    /// Run `picklecost ARGS...` (argv[0] is the program name) and return its exit status.
    #[pyfunction]
    fn main(py: Python<'_>, argv: Vec<OsString>) -> u8 {
        // The pipeline attaches to Python where it needs it, from this thread and its workers.
        py.detach(|| crate::entry::run_cli(argv))
    }

    /// The version of picklecost this module was built as (the package's metadata says the same).
    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        module.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}

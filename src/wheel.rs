//! The wheel's native module `picklecost._native`: `main(argv)` runs the command line inside the
//! Python that imported it and ends the process with the command line's exit status, as the
//! standalone binary does (the console script `picklecost` and `python -m picklecost` call it
//! from `picklecost/__main__.py`).
//!
//! The pipeline runs on the calling thread (Python's main thread) *with its thread state
//! attached*: the GIL is not released around it. Python runs signal handlers only in the main
//! thread, and the tool's interrupt handler, a signal re-raised after a fork
//! (`workers._fork_holding_signals`) and the SIGALRM time limits all run Python code there; with
//! the thread state detached around the pipeline (`py.detach`) that path could find no thread
//! state ("Fatal Python error: PyThreadState_Get ... the GIL is released"). Attached, every
//! `Python::attach` of the pipeline nests in the caller's state, exactly one thread state is
//! ever used on the main thread, and a signal always finds it.
//!
//! The process then ends without Python's finalisation, like the standalone binary (which never
//! finalises the Python it embeds): finalisation would join the run's helper threads, run
//! multiprocessing's exit hooks on workers the run already ended, and could print after the
//! run's last line. Python's buffered output is flushed first.
use pyo3::prelude::*;
use std::ffi::OsString;

#[pymodule]
mod _native {
    use super::*;

    /// Run `picklecost ARGS...` (argv[0] is the program name) and end the process with its
    /// exit status: this function does not return.
    #[pyfunction]
    fn main(_py: Python<'_>, argv: Vec<OsString>) {
        crate::python::elsewhere::remember_command_line(&argv);
        let code = crate::entry::run_cli(argv);
        crate::python::interp::flush();
        // std::process::exit flushes Rust's stdout; Python's streams were flushed above.
        std::process::exit(i32::from(code))
    }

    /// The version of picklecost this module was built as (the package's metadata says the same).
    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        module.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}

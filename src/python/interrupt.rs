//! The one interrupt path: SIGINT and SIGTERM become `Interrupted`, whichever phase they reach.
//!
//! The interpreter is started without Python's own signal handlers (see `interp::start`), so a
//! signal would otherwise kill the process on the spot, leaving workers and scratch directories
//! behind. `install` gives both signals one Python-level handler that records which signal came
//! and raises `KeyboardInterrupt` in the main thread; every caller that gets a Python error asks
//! `interrupted` whether it was that, and `main.rs` maps the outcome to 128 + the signal.
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};
use std::sync::atomic::{AtomicI32, Ordering};

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// The signal that interrupted the run (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The run was interrupted by a signal: the tool's one outcome for Ctrl-C, `kill`, `timeout`.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {}; the run stopped and wrote no report", signal_name(*.signal))]
pub struct Interrupted {
    pub signal: i32,
}

impl Interrupted {
    /// The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    pub fn exit_code(&self) -> u8 {
        (128 + self.signal).clamp(0, 255) as u8
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGTERM => "SIGTERM",
        _ => "SIGINT",
    }
}

/// Give SIGINT and SIGTERM the handler that records the signal and raises KeyboardInterrupt.
/// Runs in the main thread, right after the interpreter starts.
pub fn install(py: Python<'_>) -> PyResult<()> {
    let handler = PyCFunction::new_closure(
        py,
        Some(c"picklecost_interrupt"),
        Some(c"Record the signal and raise KeyboardInterrupt (picklecost's one interrupt path)."),
        |args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>| -> PyResult<()> {
            let signal = args
                .get_item(0)
                .and_then(|s| s.extract::<i32>())
                .unwrap_or(SIGINT);
            let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
            // The Python side's record of it: `picklecost.workers` ends its workers at once,
            // without the grace a normal close gives them.
            let sys = args.py().import("sys")?;
            sys.setattr("_picklecost_interrupted", signal)?;
            Err(pyo3::exceptions::PyKeyboardInterrupt::new_err(signal_name(
                signal,
            )))
        },
    )?;
    let signal = py.import("signal")?;
    for name in ["SIGINT", "SIGTERM"] {
        signal.call_method1("signal", (signal.getattr(name)?, &handler))?;
    }
    Ok(())
}

/// `Some` when this Python error is the interrupt (raised here, or reported by a worker that got
/// the terminal's SIGINT too: its error text ends in KeyboardInterrupt).
pub fn interrupted(py: Python<'_>, err: &PyErr) -> Option<Interrupted> {
    let is_interrupt = err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py)
        || super::describe_error(py, err).ends_with("KeyboardInterrupt");
    is_interrupt.then(current)
}

/// The interrupt as it stands: the signal that came, or SIGINT when Python raised
/// KeyboardInterrupt without one of ours (a worker's, or the generator's own).
pub fn current() -> Interrupted {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => Interrupted { signal: SIGINT },
        signal => Interrupted { signal },
    }
}

/// Whether a signal has come (for loops that run without calling into Python).
pub fn pending() -> bool {
    RECEIVED.load(Ordering::SeqCst) != 0
}

/// Convert a Python error: the interrupt stays `Interrupted`, anything else gets `describe`.
pub fn or_else(py: Python<'_>, err: &PyErr, describe: impl FnOnce(String) -> anyhow::Error) -> anyhow::Error {
    match interrupted(py, err) {
        Some(interrupted) => anyhow::Error::new(interrupted),
        None => describe(super::describe_error(py, err)),
    }
}

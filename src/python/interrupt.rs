//! The one interrupt path: SIGINT and SIGTERM become `Interrupted`, whichever phase they reach.
//!
//! The interpreter is started without Python's own signal handlers (see `interp::start`), so a
//! signal would otherwise kill the process on the spot, leaving workers and scratch directories
//! behind. `install` gives both signals one Python-level handler that records which signal came
//! and raises `KeyboardInterrupt` in the main thread; every caller that gets a Python error asks
//! `interrupted` whether it was that, and `main.rs` maps the outcome to 128 + the signal.
//!
//! That handler runs only when the main thread executes Python bytecode of the main
//! interpreter. A main thread inside a sub-interpreter, a long C call or a Rust step that calls
//! no Python (the site's fingerprint, before Python starts and after it finished) would stop late
//! or never, so a watchdog thread hears every signal at once through a wakeup pipe (`guard`, from
//! the start of the run: a C handler of ours writes the signal's number there until Python's
//! takes over and does the same) and, if the run has not ended `GRACE` after it, cuts it short: it kills the tool's child processes, removes the
//! directories registered with `remove_if_cut_short` (scratch, a report directory this run
//! created), prints the one `error:` line and exits with 128 + the signal. Whoever ends the
//! process first claims it (`claim_exit`), so the line is printed once.
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyCFunction, PyDict, PyTuple};
use std::io::Read;
use std::os::fd::IntoRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// The signal that interrupted the run (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// How long the run gets, after the signal, to stop the ordinary way (every cleanup path in its
/// place) before the watchdog cuts it short. The ordinary way takes well under 0.2 s; the tool
/// must be gone within 2 s of the signal, the cut included.
const GRACE: Duration = Duration::from_millis(1000);

/// Set by whoever ends the process: `main` on its way out, or the watchdog.
static EXIT_CLAIMED: AtomicBool = AtomicBool::new(false);

/// Directories the watchdog removes when it cuts the run short.
static TO_REMOVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The wakeup pipe's write end (-1: `guard` has not run).
static WAKEUP_FD: AtomicI32 = AtomicI32::new(-1);

static GUARD: Once = Once::new();

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
    guard();
    super::module(py, super::Module::Env)?.call_method0("quiet_interrupts_in_callbacks")?;
    let signal = py.import("signal")?;
    for name in ["SIGINT", "SIGTERM"] {
        signal.call_method1("signal", (signal.getattr(name)?, &handler))?;
    }
    let fd = WAKEUP_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        // Python requires a non-blocking wakeup fd: a full pipe must never block a handler.
        py.import("os")?.call_method1("set_blocking", (fd, false))?;
        let kwargs = [("warn_on_full_buffer", false)].into_py_dict(py)?;
        signal.call_method("set_wakeup_fd", (fd,), Some(&kwargs))?;
    }
    Ok(())
}

/// From here on SIGINT and SIGTERM reach the watchdog: the wakeup pipe, the watchdog thread and,
/// until Python's handler replaces it, a C handler that records the signal and writes it to the
/// pipe. `main` calls it first thing for analyze and scale; `install` makes sure of it. The write
/// end stays open for the process's life. (Without a pipe the run keeps the handlers it had.)
pub fn guard() {
    GUARD.call_once(|| {
        let Ok((reader, writer)) = std::io::pipe() else {
            return;
        };
        WAKEUP_FD.store(writer.into_raw_fd(), Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("picklecost-interrupt-watchdog".into())
            .spawn(move || watchdog(reader));
        if spawned.is_ok() {
            let handler = on_signal as extern "C" fn(i32) as usize;
            // SAFETY: `on_signal` only does async-signal-safe things (an atomic, write(2)).
            unsafe {
                signal(SIGINT, handler);
                signal(SIGTERM, handler);
            }
        }
    });
}

/// The C handler before Python's: record the signal, tell the watchdog.
extern "C" fn on_signal(number: i32) {
    let _ = RECEIVED.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst);
    let fd = WAKEUP_FD.load(Ordering::SeqCst);
    let byte = number as u8;
    // SAFETY: write(2) of one byte from a local to our own pipe.
    unsafe { write(fd, &byte, 1) };
}

/// Wait for the first signal, record it, give the run `GRACE` to end, then cut it short.
fn watchdog(mut wakeups: std::io::PipeReader) {
    let mut byte = [0u8; 1];
    let signal = loop {
        match wakeups.read(&mut byte) {
            // Python writes every signal it handles to the pipe: the page and load time limits'
            // SIGALRM is not an interrupt.
            Ok(1) if [SIGINT, SIGTERM].contains(&i32::from(byte[0])) => break i32::from(byte[0]),
            Ok(1) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            _ => return,
        }
    };
    let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    std::thread::sleep(GRACE);
    if claim_exit() {
        cut_short(current());
    }
}

/// True for the one caller that ends the process (`main` on its way out, or the watchdog):
/// the other must not print or exit.
pub fn claim_exit() -> bool {
    !EXIT_CLAIMED.swap(true, Ordering::SeqCst)
}

/// A directory the run made that must not outlive it: removed if the watchdog cuts the run
/// short (the ordinary way out removes it where it was made).
pub fn remove_if_cut_short(path: &Path) {
    if let Ok(mut paths) = TO_REMOVE.lock() {
        paths.push(path.to_path_buf());
    }
}

unsafe extern "C" {
    fn kill(pid: i32, signal: i32) -> i32;
    fn _exit(status: i32) -> !;
    fn signal(signum: i32, handler: usize) -> usize;
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
}

const SIGKILL: i32 = 9;

/// The run did not end within `GRACE`: end its workers, remove its directories, say so, exit.
/// `_exit`, not `exit`: the main thread is still running (in Python, perhaps), and exit's
/// handlers must not run under it.
fn cut_short(interrupted: Interrupted) -> ! {
    for pid in children() {
        // SAFETY: kill(2) on a process id read from /proc; our own children only.
        unsafe { kill(pid, SIGKILL) };
    }
    let paths = TO_REMOVE.lock().map(|p| p.clone()).unwrap_or_default();
    for path in paths {
        // The main thread may still be writing there: a second pass takes what it added.
        for _ in 0..2 {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    eprintln!("error: {interrupted}");
    // SAFETY: ends the process at once; nothing of it is used after this.
    unsafe { _exit(i32::from(interrupted.exit_code())) }
}

/// This process's children, from /proc (field 4 of /proc/PID/stat is the parent's id).
fn children() -> Vec<i32> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // The command name (field 2) may hold spaces and parentheses: fields after
                // the last ')' are plain.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(|p| p == me))
                    .unwrap_or(false)
            })
        })
        .collect()
}

/// `Some` when this Python error is the interrupt (raised here, or reported by a worker that got
/// the terminal's SIGINT too: its error text ends in KeyboardInterrupt), or came after a signal:
/// the KeyboardInterrupt may surface as another error (a generator that wraps it, an import it
/// cut in half), and the signal is still what ended the step.
pub fn interrupted(py: Python<'_>, err: &PyErr) -> Option<Interrupted> {
    let is_interrupt = pending()
        || err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py)
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

/// Whether a signal has come (for loops that run without calling into Python, and for errors
/// that follow it).
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

//! The wheel, asked (by `--python` or `$VIRTUAL_ENV`) about another environment than the one it
//! runs in: run `OTHER -m picklecost` there with the same command line when picklecost is
//! installed there, else say, in one error, how to install it there.
use crate::error::UserError;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The command line (program name first) the wheel was started with: re-run as it is there.
static COMMAND_LINE: OnceLock<Vec<OsString>> = OnceLock::new();

/// Set in the environment of the re-run: a second hop would be a loop, so it is an error.
const HOPPED: &str = "PICKLECOST_RAN_FROM";

/// The wheel's front door records its command line before running it.
pub fn remember_command_line(argv: &[OsString]) {
    let _ = COMMAND_LINE.set(argv.to_vec());
}

/// Replace this process by `python -m picklecost ARGS` when picklecost is installed in
/// `python`'s environment; otherwise (or when the exec fails) the error to report. `named` says
/// who named it (`--python`, `$VIRTUAL_ENV`), `running` is this process's interpreter.
pub fn run_there(named: &str, python: &Path, running: &Path) -> UserError {
    let install = format!("{} -m pip install picklecost", python.display());
    let not_here = format!(
        "{named} names {}, but this picklecost runs inside the Python that launched it ({})",
        python.display(),
        running.display()
    );
    if std::env::var_os(HOPPED).is_some() {
        return UserError::PythonEnv(format!(
            "{not_here}, and it was itself started from another environment for it; run `{} -m \
             picklecost ...` directly",
            python.display()
        ));
    }
    let (Some(argv), true) = (COMMAND_LINE.get(), installed(python)) else {
        return UserError::PythonEnv(format!(
            "{not_here}; picklecost is not installed there: install it with `{install}`, then run \
             `{} -m picklecost ...`",
            python.display()
        ));
    };
    super::interp::flush();
    let err = Command::new(python)
        .args(["-m", "picklecost"])
        .args(argv.iter().skip(1))
        .env(HOPPED, running)
        .exec();
    UserError::PythonEnv(format!(
        "{not_here}; running `{} -m picklecost` there failed: {err}",
        python.display()
    ))
}

/// `python` is an interpreter whose environment can import picklecost's native module (isolated
/// mode: neither the current directory nor PYTHONPATH can make it look installed).
fn installed(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-I",
            "-c",
            "import importlib.util, sys; sys.exit(importlib.util.find_spec('picklecost._native') is None)",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

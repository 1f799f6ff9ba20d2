//! Start CPython so that it *is* the site's environment. Everything that depends on CPython's
//! embedding API (PyConfig layout, start-up order) is kept in this file.
//!
//! Two ways in: the standalone binary embeds libpython and starts it here (`embed`); the wheel's
//! native module runs inside a Python that is already running (`hosted`), which is the site's
//! environment by construction, so only the tool's own settings are applied to it (`adopt`).
use super::env::PythonEnv;
use anyhow::{Context, Result};
use pyo3::ffi;
use pyo3::prelude::*;

/// Python is already running in this process: the wheel's front door, where the pipeline runs
/// inside the interpreter that imported `picklecost._native`.
pub fn hosted() -> bool {
    // SAFETY: Py_IsInitialized may be called at any time.
    unsafe { ffi::Py_IsInitialized() != 0 }
}

/// Make the interpreter the run's: embedded, start it as the venv's python; hosted, adopt the
/// running one. Either way the tool's interrupt handler is installed and no bytecode is written.
pub fn start(env: &PythonEnv) -> Result<()> {
    if hosted() {
        adopt().context("preparing the running Python")?;
    } else {
        embed(env)?;
    }
    Python::attach(super::interrupt::install).context("installing the interrupt handler")?;
    Ok(())
}

/// Inside a running Python: importing a site's modules must never leave __pycache__ in the site
/// directory (the embedded start sets `write_bytecode = 0` for the same reason).
fn adopt() -> PyResult<()> {
    Python::attach(|py| py.import("sys")?.setattr("dont_write_bytecode", true))
}

/// The wheel is built against the stable ABI, which has no embedding API: it is always hosted.
#[cfg(not(feature = "standalone"))]
fn embed(_env: &PythonEnv) -> Result<()> {
    anyhow::bail!("this picklecost runs only inside Python (`python -m picklecost`)")
}

/// Initialise the interpreter from a PyConfig whose executable is the venv's python, so that
/// sys.prefix, site-packages, sub-interpreters and multiprocessing's spawn all follow the venv
/// (adding site-packages after start-up would let the base interpreter's packages shadow it).
#[cfg(feature = "standalone")]
fn embed(env: &PythonEnv) -> Result<()> {
    use std::ffi::CString;
    use std::mem::MaybeUninit;
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: called once, before pyo3 attaches for the first time, on the main thread.
    unsafe {
        let mut pre = MaybeUninit::<ffi::PyPreConfig>::zeroed();
        ffi::PyPreConfig_InitPythonConfig(pre.as_mut_ptr());
        let mut pre = pre.assume_init();
        pre.utf8_mode = 1;
        check(ffi::Py_PreInitialize(&pre), "pre-initialising Python")?;

        let mut config = MaybeUninit::<ffi::PyConfig>::zeroed();
        ffi::PyConfig_InitPythonConfig(config.as_mut_ptr());
        let mut config = config.assume_init();
        // Python's own handlers cover SIGINT only and leave SIGTERM fatal (no cleanup);
        // `interrupt::install` gives both the tool's one handler, which also records which signal
        // came, once the interpreter is up.
        config.install_signal_handlers = 0;
        // Importing a site's modules must never leave __pycache__ in the site directory.
        config.write_bytecode = 0;
        config.parse_argv = 0;
        let exe = CString::new(env.executable.as_os_str().as_bytes())
            .context("interpreter path contains a NUL byte")?;
        let result = (|| {
            check(
                ffi::PyConfig_SetBytesString(&mut config, &mut config.executable, exe.as_ptr()),
                "setting sys.executable",
            )?;
            check(
                ffi::PyConfig_SetBytesString(&mut config, &mut config.program_name, exe.as_ptr()),
                "setting the program name",
            )?;
            let mut argv = [exe.as_ptr()];
            check(
                ffi::PyConfig_SetBytesArgv(&mut config, 1, argv.as_mut_ptr()),
                "setting sys.argv",
            )?;
            check(ffi::Py_InitializeFromConfig(&config), "starting Python")
        })();
        ffi::PyConfig_Clear(&mut config);
        result?;
        // Release the GIL taken by initialisation, so pyo3 (and worker threads) can attach.
        ffi::PyEval_SaveThread();
    }
    Ok(())
}

#[cfg(feature = "standalone")]
unsafe fn check(status: ffi::PyStatus, what: &str) -> Result<()> {
    // SAFETY: PyStatus is plain data returned by the embedding API.
    unsafe {
        if ffi::PyStatus_Exception(status) != 0 {
            let message = if status.err_msg.is_null() {
                "unknown error".to_string()
            } else {
                std::ffi::CStr::from_ptr(status.err_msg)
                    .to_string_lossy()
                    .into_owned()
            };
            anyhow::bail!("{what} failed: {message}");
        }
    }
    Ok(())
}

/// pyo3 never finalises Python, so buffered output would be lost at exit.
pub fn flush() {
    if unsafe { ffi::Py_IsInitialized() } == 0 {
        return;
    }
    Python::attach(|py| {
        if let Ok(module) = super::module(py, super::Module::Env) {
            let _ = module.call_method0("flush_streams");
        }
    });
}

//! Everything that touches CPython. The Python that runs embedded lives in `py/` as real
//! modules, loaded here under their own names so they can import one another.
pub mod env;
pub mod interp;

use pyo3::prelude::*;
use pyo3::types::PyModule;
use std::ffi::CString;

#[derive(Clone, Copy)]
pub enum Module {
    Env,
    Load,
    Payloads,
    Walk,
    Attribution,
    Explain,
    Transports,
    Render,
}

impl Module {
    fn name(self) -> &'static str {
        match self {
            Module::Env => "picklecost_env",
            Module::Load => "picklecost_load",
            Module::Payloads => "picklecost_payloads",
            Module::Walk => "picklecost_walk",
            Module::Attribution => "picklecost_attribution",
            Module::Explain => "picklecost_explain",
            Module::Transports => "picklecost_transports",
            Module::Render => "picklecost_render",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Module::Env => include_str!("py/picklecost_env.py"),
            Module::Load => include_str!("py/picklecost_load.py"),
            Module::Payloads => include_str!("py/picklecost_payloads.py"),
            Module::Walk => include_str!("py/picklecost_walk.py"),
            Module::Attribution => include_str!("py/picklecost_attribution.py"),
            Module::Explain => include_str!("py/picklecost_explain.py"),
            Module::Transports => include_str!("py/picklecost_transports.py"),
            Module::Render => include_str!("py/picklecost_render.py"),
        }
    }

    /// Embedded modules this one imports, which must be registered first.
    fn imports(self) -> &'static [Module] {
        match self {
            Module::Attribution => &[Module::Walk],
            Module::Explain => &[Module::Walk, Module::Attribution],
            Module::Render => &[Module::Load],
            _ => &[],
        }
    }
}

/// Import one of the embedded modules, compiling it on first use.
pub fn module(py: Python<'_>, which: Module) -> PyResult<Bound<'_, PyModule>> {
    let name = which.name();
    let modules = py.import("sys")?.getattr("modules")?;
    if let Ok(existing) = modules.get_item(name) {
        return Ok(existing.cast_into::<PyModule>()?);
    }
    for dependency in which.imports() {
        module(py, *dependency)?;
    }
    let code = CString::new(which.source()).expect("embedded Python has no NUL bytes");
    let file = CString::new(format!("<picklecost>/{name}.py")).unwrap();
    let module_name = CString::new(name).unwrap();
    let module = PyModule::from_code(py, &code, &file, &module_name)?;
    modules.set_item(name, &module)?;
    Ok(module)
}

/// Read a plain-data Python value (dicts, lists, strings, numbers) into a Rust type.
pub fn from_py<T: serde::de::DeserializeOwned>(value: &Bound<'_, PyAny>) -> anyhow::Result<T> {
    let text: String = value
        .py()
        .import("json")?
        .call_method1("dumps", (value,))?
        .extract()?;
    Ok(serde_json::from_str(&text)?)
}

/// The reverse: a Rust value as Python plain data.
pub fn to_py<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> anyhow::Result<Bound<'py, PyAny>> {
    Ok(py
        .import("json")?
        .call_method1("loads", (serde_json::to_string(value)?,))?)
}

/// "TypeError: cannot pickle '_thread.lock' object" — the first line only, never a traceback.
pub fn describe_error(py: Python<'_>, err: &PyErr) -> String {
    let kind = err
        .get_type(py)
        .qualname()
        .map(|q| q.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let value = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    let first = value.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        kind
    } else {
        format!("{kind}: {first}")
    }
}

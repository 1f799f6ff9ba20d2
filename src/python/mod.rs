//! Everything that touches CPython. The Python that runs embedded is the `picklecost` package in
//! `py/picklecost/`, real modules served from memory by a meta-path finder (`py/bootstrap.py`).
pub mod elsewhere;
pub mod env;
pub mod interp;
pub mod interrupt;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};
use std::ffi::CString;

/// (dotted name, source, is package): the whole embedded package.
const SOURCES: &[(&str, &str, bool)] = &[
    ("picklecost", include_str!("py/picklecost/__init__.py"), true),
    ("picklecost.util", include_str!("py/picklecost/util.py"), false),
    (
        "picklecost.limits",
        include_str!("py/picklecost/limits.py"),
        false,
    ),
    (
        "picklecost.sitecopy",
        include_str!("py/picklecost/sitecopy.py"),
        false,
    ),
    ("picklecost.env", include_str!("py/picklecost/env.py"), false),
    (
        "picklecost.payloads",
        include_str!("py/picklecost/payloads.py"),
        false,
    ),
    (
        "picklecost.readset",
        include_str!("py/picklecost/readset.py"),
        false,
    ),
    (
        "picklecost.readproof",
        include_str!("py/picklecost/readproof.py"),
        false,
    ),
    (
        "picklecost.readtrace",
        include_str!("py/picklecost/readtrace.py"),
        false,
    ),
    ("picklecost.walk", include_str!("py/picklecost/walk.py"), false),
    (
        "picklecost.attribution",
        include_str!("py/picklecost/attribution.py"),
        false,
    ),
    (
        "picklecost.explain",
        include_str!("py/picklecost/explain.py"),
        false,
    ),
    (
        "picklecost.repair",
        include_str!("py/picklecost/repair.py"),
        false,
    ),
    (
        "picklecost.workers",
        include_str!("py/picklecost/workers.py"),
        false,
    ),
    (
        "picklecost.transports",
        include_str!("py/picklecost/transports.py"),
        false,
    ),
    ("picklecost.stubs", include_str!("py/picklecost/stubs.py"), false),
    ("picklecost.scale", include_str!("py/picklecost/scale.py"), false),
    (
        "picklecost.streams",
        include_str!("py/picklecost/streams.py"),
        false,
    ),
    (
        "picklecost.generators",
        include_str!("py/picklecost/generators/__init__.py"),
        true,
    ),
    (
        "picklecost.generators.base",
        include_str!("py/picklecost/generators/base.py"),
        false,
    ),
    (
        "picklecost.generators.bengal",
        include_str!("py/picklecost/generators/bengal.py"),
        false,
    ),
    (
        "picklecost.generators.custom",
        include_str!("py/picklecost/generators/custom.py"),
        false,
    ),
    (
        "picklecost.generators.mkdocs",
        include_str!("py/picklecost/generators/mkdocs.py"),
        false,
    ),
    (
        "picklecost.generators.pelican",
        include_str!("py/picklecost/generators/pelican.py"),
        false,
    ),
    (
        "picklecost.generators.sphinx",
        include_str!("py/picklecost/generators/sphinx.py"),
        false,
    ),
];

/// The modules the Rust side calls into.
#[derive(Clone, Copy)]
pub enum Module {
    Env,
    Generators,
    Payloads,
    Explain,
    Repair,
    Transports,
    Streams,
    Stubs,
    Scale,
    Readtrace,
}

impl Module {
    fn name(self) -> &'static str {
        match self {
            Module::Env => "picklecost.env",
            Module::Generators => "picklecost.generators",
            Module::Payloads => "picklecost.payloads",
            Module::Explain => "picklecost.explain",
            Module::Repair => "picklecost.repair",
            Module::Transports => "picklecost.transports",
            Module::Streams => "picklecost.streams",
            Module::Stubs => "picklecost.stubs",
            Module::Scale => "picklecost.scale",
            Module::Readtrace => "picklecost.readtrace",
        }
    }
}

/// Import one of the embedded modules (the finder is installed on first use).
pub fn module(py: Python<'_>, which: Module) -> PyResult<Bound<'_, PyModule>> {
    install_finder(py)?;
    py.import(which.name())
}

fn install_finder(py: Python<'_>) -> PyResult<()> {
    let sys = py.import("sys")?;
    if sys.hasattr("_picklecost_sources")? {
        return Ok(());
    }
    let sources = PyDict::new(py);
    for (name, source, is_package) in SOURCES {
        sources.set_item(name, (source, is_package))?;
    }
    let globals = PyDict::new(py);
    globals.set_item("SOURCES", &sources)?;
    let code = CString::new(include_str!("py/bootstrap.py")).expect("embedded Python has no NUL bytes");
    py.run(&code, Some(&globals), None)?;
    sys.setattr("_picklecost_sources", sources)?;
    Ok(())
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

#[cfg(test)]
mod tests {
    /// Every module of the package on disk is embedded (a new module must be registered), but
    /// `__main__`: the wheel's entry point, which the standalone binary does not need.
    #[test]
    fn every_module_of_the_package_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/python/py");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.join("picklecost")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "py") {
                    let rel = path.strip_prefix(&root).unwrap().with_extension("");
                    let mut parts: Vec<String> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    if parts.last().is_some_and(|p| p == "__init__") {
                        parts.pop();
                    }
                    if parts.last().is_some_and(|p| p == "__main__") {
                        continue;
                    }
                    on_disk.push(parts.join("."));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = super::SOURCES.iter().map(|(n, _, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}

//! Why a payload is big or unpicklable: every culprit with its path, memo-aware byte
//! attribution, what a Page drags along, and the smallest self-contained page payload. The
//! graph walking runs in Python (`python/py/picklecost_explain.py` and the modules it uses);
//! this side decides what to ask and carries the answers.
pub mod diagnose;

use crate::python::{self, Module};
use anyhow::{Context, Result};
use pyo3::prelude::*;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: u32,
    pub max_visits: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Culprit {
    pub path: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub error: String,
    pub paths_reaching: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Culprits {
    pub failures: Vec<Culprit>,
    pub visited: u64,
    pub truncated: bool,
    pub limits: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct TopPath {
    pub path: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub inclusive_bytes: u64,
    pub exclusive_bytes: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct TypeBytes {
    #[serde(rename = "type")]
    pub type_name: String,
    pub bytes: u64,
    pub count: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ByteTree {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    pub bytes: u64,
    #[serde(default)]
    pub children: Vec<ByteTree>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Attribution {
    /// The object the bytes were attributed for (a typical one for per-page payloads).
    #[serde(default)]
    pub subject: String,
    pub total_bytes: u64,
    pub pickle_bytes: u64,
    pub top_paths: Vec<TopPath>,
    pub by_type: Vec<TypeBytes>,
    pub shared_bytes: u64,
    #[serde(skip_serializing)]
    pub tree: Option<ByteTree>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Drag {
    pub path: String,
    /// Bytes this reference adds to the page's pickle (memo-aware: what an earlier attribute
    /// already pulled in costs nothing here).
    pub bytes: Option<u64>,
    /// What it reaches: "site", "page" or "both".
    pub reaches: String,
    #[serde(default)]
    pub parent: Option<String>,
    /// Bytes of this value pickled on its own.
    #[serde(default)]
    pub alone_bytes: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Dropped {
    pub field: String,
    pub reason: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Suggestion {
    pub fields: Vec<String>,
    pub exclude_keys: BTreeMap<String, Vec<serde_json::Value>>,
    pub median_bytes: Option<u64>,
    #[serde(default)]
    pub dropped: Vec<Dropped>,
    #[serde(default)]
    pub sampled: u64,
    #[serde(default)]
    pub checked: u64,
}

impl Suggestion {
    /// The suggestion as options for a next run.
    pub fn as_options(&self) -> String {
        let mut s = format!("--fields {}", self.fields.join(","));
        let excluded: Vec<String> = self
            .exclude_keys
            .iter()
            .flat_map(|(field, keys)| {
                keys.iter()
                    .map(move |k| format!("{field}:{}", k.as_str().map_or(k.to_string(), str::to_string)))
            })
            .collect();
        if !excluded.is_empty() {
            s.push_str(&format!(" --exclude-keys {}", excluded.join(",")));
        }
        s
    }
}

/// Call a function of the explain module and read its plain-data answer through JSON.
fn call<'py, T: DeserializeOwned>(
    py: Python<'py>,
    function: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> Result<T> {
    let explain = python::module(py, Module::Explain)?;
    let value = explain
        .call_method1(function, args)
        .map_err(|e| anyhow::anyhow!("{function}: {}", python::describe_error(py, &e)))?;
    python::from_py(&value).with_context(|| format!("reading the result of {function}"))
}

pub fn find_unpicklable(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    root: &str,
    protocol: u8,
    limits: Limits,
) -> Result<Culprits> {
    call(
        py,
        "find_unpicklable",
        (obj, root, protocol, limits.max_depth, limits.max_visits),
    )
}

pub fn attribute_bytes(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    root: &str,
    protocol: u8,
    top: usize,
) -> Result<Attribution> {
    let mut a: Attribution = call(py, "attribute_bytes", (obj, root, protocol, top, 4))?;
    a.subject = root.to_string();
    Ok(a)
}

pub fn drag(
    py: Python<'_>,
    page: &Bound<'_, PyAny>,
    site: &Bound<'_, PyAny>,
    pages: &Bound<'_, PyAny>,
    protocol: u8,
) -> Result<Vec<Drag>> {
    call(py, "drag", (page, site, pages, "page", protocol))
}

pub fn suggest(
    py: Python<'_>,
    pages: &Bound<'_, PyAny>,
    site: &Bound<'_, PyAny>,
    protocol: u8,
) -> Result<Suggestion> {
    call(py, "suggest", (pages, site, protocol, 20))
}

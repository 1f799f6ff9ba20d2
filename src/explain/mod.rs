//! Why a payload is big or unpicklable: every culprit with its path, memo-aware byte
//! attribution, what a Page drags along, and the smallest self-contained page payload. The
//! graph walking runs in Python (`picklecost.explain` and the modules it uses);
//! this side decides what to ask and carries the answers.
pub mod diagnose;

use crate::generators::LoadedSite;
use crate::model::explain::{Attribution, Culprits, Drag, FieldComparison, RepairedRaw, Suggestion};
use crate::python::{self, Module};
use crate::settings::{ExplainLimits, tuning};
use anyhow::{Context, Result};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

/// Call a function of the explain module and read its plain-data answer through JSON.
fn call<'py, T: DeserializeOwned>(
    py: Python<'py>,
    function: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> Result<T> {
    let explain = python::module(py, Module::Explain)?;
    let value = explain
        .call_method1(function, args)
        .map_err(|e| python::interrupt::or_else(py, &e, |why| anyhow::anyhow!("{function}: {why}")))?;
    python::from_py(&value).with_context(|| format!("reading the result of {function}"))
}

/// The Python side's explanations stop at `deadline` (None: no limit). False when it has
/// passed already.
pub fn set_deadline(py: Python<'_>, deadline: Option<std::time::Instant>) -> Result<bool> {
    let remaining = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
    if remaining.is_some_and(|r| r.is_zero()) {
        return Ok(false);
    }
    python::module(py, Module::Explain)?
        .call_method1("set_deadline", (remaining.map(|r| r.as_secs_f64()),))
        .map_err(|e| python::interrupt::or_else(py, &e, |why| anyhow::anyhow!("set_deadline: {why}")))?;
    Ok(true)
}

pub fn find_unpicklable(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    root: &str,
    protocol: u8,
    limits: ExplainLimits,
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
    let mut a: Attribution = call(
        py,
        "attribute_bytes",
        (obj, root, protocol, top, tuning::BYTE_TREE_DEPTH),
    )?;
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

/// The smallest self-contained page payload, built the way the site's adapter builds payloads.
pub fn suggest(py: Python<'_>, site: &LoadedSite, protocol: u8) -> Result<Suggestion> {
    let build = site.adapter.bind(py).getattr("page_payload")?;
    call(
        py,
        "suggest",
        (
            site.page_list(py)?,
            site.site.bind(py),
            protocol,
            tuning::SUGGEST_SAMPLE_PAGES,
            build,
        ),
    )
}

/// `obj` pickled with its culprits repaired: size, dumps and loads times, what was replaced.
pub fn measure_repaired(py: Python<'_>, obj: &Bound<'_, PyAny>, protocol: u8) -> Result<RepairedRaw> {
    let repair = python::module(py, Module::Repair)?;
    let value = repair
        .call_method1("measure_repaired", (obj, protocol, tuning::REPAIR_ROUNDS))
        .map_err(|e| python::interrupt::or_else(py, &e, |why| anyhow::anyhow!("measure_repaired: {why}")))?;
    python::from_py(&value).context("reading the repaired measurement")
}

/// The generator's own payload for the first page (None where it ships none, or there are no
/// pages).
fn generator_example<'py>(py: Python<'py>, site: &LoadedSite) -> Result<Option<Bound<'py, PyAny>>> {
    let own = site
        .adapter
        .bind(py)
        .call_method1("own_payload", (site.site.bind(py),))?;
    let Some(first) = site.pages.first() else {
        return Ok(None);
    };
    if own.is_none() {
        return Ok(None);
    }
    Ok(Some(own.call1((first.bind(py),))?))
}

/// The field names of the generator's own payload for the first page (None where it has none).
pub fn generator_fields(py: Python<'_>, site: &LoadedSite) -> Result<Option<Vec<String>>> {
    match generator_example(py, site)? {
        Some(example) => call(py, "payload_fields", (example,)).map(Some),
        None => Ok(None),
    }
}

/// The suggested fields against the generator's own payload for the first page, where the
/// generator ships one.
pub fn compare_with_generator(
    py: Python<'_>,
    site: &LoadedSite,
    fields: &[String],
) -> Result<Option<FieldComparison>> {
    match generator_example(py, site)? {
        Some(example) => call(py, "compare_payloads", (fields.to_vec(), example)).map(Some),
        None => Ok(None),
    }
}

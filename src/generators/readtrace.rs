//! What rendering reads, traced before the payloads are measured: the adapter's render-cost
//! probe with tracing on, in a forked copy of the tool (`readtrace.in_fork`), so that the renders
//! (and a discovered site's preparation for them) leave the measured graph as it was loaded.
use super::{LoadedSite, Workdir};
use crate::model::readset::ReadSet;
use crate::python::{self, Module};
use anyhow::Result;
use pyo3::prelude::*;

/// The read set, or why there is none.
pub struct Traced {
    pub read_set: Option<ReadSet>,
    pub note: Option<String>,
}

impl Traced {
    /// No read set, and why.
    pub fn none(note: String) -> Self {
        Self {
            read_set: None,
            note: Some(note),
        }
    }
}

/// Seconds the forked trace may take beyond the probe's own limit (starting, tracing,
/// answering).
const SLACK_SECONDS: f64 = 60.0;

/// The read set of up to `sample` pages rendered by the adapter's probe in a fork, within
/// `limits` (the render limit, the page limit). Errors of the trace become the note; only an
/// interrupt (or the embedded package failing to load) is an error.
pub fn trace(
    py: Python<'_>,
    site: &LoadedSite,
    workdir: &Workdir,
    sample: usize,
    limits: (f64, f64),
) -> Result<Traced> {
    let (render_limit, page_limit) = limits;
    let dir = workdir.path().join("read-trace");
    let answer = python::module(py, Module::Readtrace)?.call_method1(
        "in_fork",
        (
            site.adapter.bind(py),
            site.site.bind(py),
            site.page_list(py)?,
            sample,
            dir.to_string_lossy().as_ref(),
            render_limit,
            page_limit,
            render_limit + SLACK_SECONDS,
        ),
    );
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            if let Some(stop) = python::interrupt::interrupted(py, &e) {
                return Err(stop.into());
            }
            return Ok(Traced::none(format!(
                "tracing the renders failed: {}",
                python::describe_error(py, &e)
            )));
        }
    };
    let error: Option<String> = answer.get_item("error").ok().and_then(|v| v.extract().ok());
    if let Some(error) = error {
        return Ok(Traced::none(format!("tracing the renders failed: {error}")));
    }
    let read_set = answer.get_item("read_set")?;
    if read_set.is_none() {
        let reason: Option<String> = answer.get_item("reason")?.extract()?;
        return Ok(Traced::none(
            reason.unwrap_or_else(|| "the adapter traced nothing".into()),
        ));
    }
    Ok(Traced {
        read_set: Some(python::from_py(&read_set)?),
        note: None,
    })
}

//! Run the explanations for each measured payload, on the objects that matter: the first one
//! that failed, or a typical (median-sized) one.
use super::{Attribution, Culprits, Drag, Limits};
use crate::load::LoadedSite;
use crate::measure::{self, PageView, PayloadKind, PayloadResult};
use crate::python::{self, Module};
use anyhow::Result;
use pyo3::prelude::*;
use serde::Serialize;

/// How many attribute paths to keep per payload.
pub const TOP_PATHS: usize = 30;

#[derive(Serialize, Debug, Clone, Default)]
pub struct PayloadDiagnosis {
    /// Every minimal unpicklable object of the first object that failed, if one did.
    pub culprits: Option<Culprits>,
    pub attribution: Option<Attribution>,
    pub drag: Vec<Drag>,
    /// An explanation that could not be computed, and why.
    pub errors: Vec<String>,
}

fn root_name(kind: PayloadKind) -> &'static str {
    match kind {
        PayloadKind::Site => "site",
        PayloadKind::Page => "page",
        PayloadKind::PageSubset => "subset",
        PayloadKind::PageSuggested => "suggested",
    }
}

/// The page whose pickle has the median size.
pub fn typical_index(p: &PayloadResult) -> Option<usize> {
    let mut sizes = p.sizes.clone();
    sizes.sort_by_key(|&(_, bytes)| bytes);
    sizes
        .get(sizes.len().saturating_sub(1) / 2)
        .map(|&(index, _)| index)
}

pub fn diagnose<'py>(
    py: Python<'py>,
    site: &LoadedSite,
    payloads: &[PayloadResult],
    subset: &PageView<'py>,
    suggested: Option<&PageView<'py>>,
    protocol: u8,
    limits: Limits,
) -> Result<Vec<PayloadDiagnosis>> {
    let subset_fn = python::module(py, Module::Payloads)?.getattr("subset")?;
    let pages = pyo3::types::PyList::new(py, site.pages.iter().map(|p| p.bind(py)))?;
    let mut out = Vec::new();
    for p in payloads {
        let mut d = PayloadDiagnosis::default();
        let root = root_name(p.kind);
        let object = |index| measure::build_object(py, site, &subset_fn, p.kind, index, subset, suggested);
        if let Some(&(index, _)) = p.failures.first() {
            match object(index)
                .map_err(anyhow::Error::from)
                .and_then(|o| super::find_unpicklable(py, &o, root, protocol, limits))
            {
                Ok(c) => d.culprits = Some(c),
                Err(e) => d.errors.push(format!("finding unpicklable objects: {e}")),
            }
        }
        if let Some(index) = typical_index(p) {
            let obj = object(index)?;
            match super::attribute_bytes(py, &obj, root, protocol, TOP_PATHS) {
                Ok(mut a) => {
                    if p.kind != PayloadKind::Site {
                        a.subject = format!("{root} of {} (the median-sized one)", site.page_keys[index]);
                    }
                    d.attribution = Some(a)
                }
                Err(e) => d.errors.push(format!("attributing bytes: {e}")),
            }
            if p.kind == PayloadKind::Page {
                match super::drag(py, &obj, site.site.bind(py), pages.as_any(), protocol) {
                    Ok(drag) => d.drag = drag,
                    Err(e) => d.errors.push(format!("finding back-references: {e}")),
                }
            }
        }
        out.push(d);
    }
    Ok(out)
}

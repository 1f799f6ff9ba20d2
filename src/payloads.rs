//! The objects a worker would receive: the Site, each Page, and per-page views built by the
//! generator's adapter (the `--fields` subset and the suggested payload).
use crate::error::UserError;
use crate::generators::LoadedSite;
use crate::model::PayloadKind;
use crate::python::{self, Module};
use anyhow::Result;
use pyo3::prelude::*;
use std::collections::BTreeMap;

/// A per-page payload built from selected page attributes.
pub struct PageView<'py> {
    pub fields: Vec<String>,
    /// {field: \[keys\]} (a Python dict) to drop from dict-valued fields.
    pub exclude_keys: Option<Bound<'py, PyAny>>,
}

impl<'py> PageView<'py> {
    pub fn new<K: serde::Serialize>(
        py: Python<'py>,
        fields: Vec<String>,
        exclude_keys: &BTreeMap<String, Vec<K>>,
    ) -> Result<Self> {
        Ok(Self {
            fields,
            exclude_keys: if exclude_keys.is_empty() {
                None
            } else {
                Some(python::to_py(py, exclude_keys)?)
            },
        })
    }
}

/// Every payload of one run and how to build its objects.
pub struct Payloads<'a, 'py> {
    pub py: Python<'py>,
    pub site: &'a LoadedSite,
    pub subset: PageView<'py>,
    pub suggested: Option<PageView<'py>>,
    page_payload: Bound<'py, PyAny>,
    /// The generator's own page -> payload function, where the installed generator has one.
    generator_payload: Option<Bound<'py, PyAny>>,
    /// The adapter's further whole-site object (`site_extra`), where it names one.
    extra_root: Option<Bound<'py, PyAny>>,
}

impl<'a, 'py> Payloads<'a, 'py> {
    pub fn new(
        py: Python<'py>,
        site: &'a LoadedSite,
        subset: PageView<'py>,
        suggested: Option<PageView<'py>>,
    ) -> PyResult<Self> {
        let adapter = site.adapter.bind(py);
        let own = adapter.call_method1("own_payload", (site.site.bind(py),))?;
        let extra = adapter.call_method1("extra_roots", (site.site.bind(py),))?;
        let extra_root = match &site.extra_root {
            Some(name) => Some(extra.get_item(name)?),
            None => None,
        };
        Ok(Self {
            py,
            site,
            subset,
            suggested,
            page_payload: adapter.getattr("page_payload")?,
            generator_payload: (!own.is_none()).then_some(own),
            extra_root,
        })
    }

    /// The payloads measured, in report order.
    pub fn kinds(&self) -> Vec<PayloadKind> {
        let mut kinds = vec![PayloadKind::Site, PayloadKind::Page, PayloadKind::PageSubset];
        if self.suggested.is_some() {
            kinds.push(PayloadKind::PageSuggested);
        }
        if self.generator_payload.is_some() {
            kinds.push(PayloadKind::PageGenerator);
        }
        if self.extra_root.is_some() {
            kinds.push(PayloadKind::SiteExtra);
        }
        kinds
    }

    /// Objects of this kind in the site: 1 for the Site, one per page otherwise.
    pub fn count(&self, kind: PayloadKind) -> usize {
        if kind.per_page() { self.site.pages.len() } else { 1 }
    }

    /// The object a worker would receive for payload `kind` and page `index`.
    pub fn object(&self, kind: PayloadKind, index: usize) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let view = |v: &PageView<'py>| {
            self.page_payload.call1((
                self.site.pages[index].bind(py),
                v.fields.clone(),
                v.exclude_keys.clone(),
            ))
        };
        match kind {
            PayloadKind::Site => Ok(self.site.site.bind(py).clone()),
            PayloadKind::Page => Ok(self.site.pages[index].bind(py).clone()),
            PayloadKind::PageSubset => view(&self.subset),
            PayloadKind::PageSuggested => match &self.suggested {
                Some(v) => view(v),
                None => Err(pyo3::exceptions::PyValueError::new_err("no suggested payload")),
            },
            PayloadKind::SiteExtra => match &self.extra_root {
                Some(obj) => Ok(obj.clone()),
                None => Err(pyo3::exceptions::PyValueError::new_err("no extra root")),
            },
            PayloadKind::PageGenerator => match &self.generator_payload {
                Some(build) => build.call1((self.site.pages[index].bind(py),)),
                None => Err(pyo3::exceptions::PyValueError::new_err("no generator payload")),
            },
        }
    }
}

/// The `--fields` to use: as given (validated against a real page) or the adapter's default.
pub fn resolve_fields(
    py: Python<'_>,
    site: &LoadedSite,
    requested: Option<&[String]>,
) -> Result<Vec<String>> {
    let first = site.pages.first().map(|p| p.bind(py));
    let fields: Vec<String> = match requested {
        Some(f) => f.to_vec(),
        None => site
            .adapter
            .bind(py)
            .call_method1("default_fields", (first,))?
            .extract()?,
    };
    if let Some(first) = first
        && let Err(err) =
            python::module(py, Module::Payloads)?.call_method1("validate_fields", (first, fields.clone()))
    {
        let msg = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
        return Err(UserError::Fields(msg).into());
    }
    Ok(fields)
}

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

/// What real renders read, as payloads: `page_read` of each page (in the site's page order)
/// and `site_read`, built in a forked child from the read set's paths
/// (`readtrace.payloads_in_fork`) and unpickled here: plain data the tool made, so that
/// building them leaves the measured graph as it was (reading a path computes what the graph
/// computes lazily, and caches it in objects reached on the way).
pub struct ReadPayloads<'py> {
    pub pages: Bound<'py, PyAny>,
    pub site: Bound<'py, PyAny>,
}

/// Seconds the forked child may take to build the read payloads of every page.
const READ_PAYLOADS_SECONDS: f64 = 300.0;

impl<'py> ReadPayloads<'py> {
    /// The read payloads of `site` from `read_set`, or why they could not be built (Ok(Err)).
    pub fn build(
        py: Python<'py>,
        site: &LoadedSite,
        read_set: &crate::model::readset::ReadSet,
    ) -> Result<std::result::Result<Self, String>> {
        let json = python::to_py(py, read_set)?;
        let readtrace = python::module(py, Module::Readtrace)?;
        let (page, site_paths) = readtrace
            .call_method1("read_paths", (json,))?
            .extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>()?;
        let built = readtrace.call_method1(
            "payloads_in_fork",
            (
                site.site.bind(py),
                site.page_list(py)?,
                page,
                site_paths,
                READ_PAYLOADS_SECONDS,
            ),
        )?;
        if let Ok(error) = built.get_item("error") {
            return Ok(Err(error.extract::<String>()?));
        }
        Ok(Ok(Self {
            pages: built.get_item("pages")?,
            site: built.get_item("site")?,
        }))
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
    /// What real renders read (`page_read`, `site_read`), where they were traced.
    read: Option<ReadPayloads<'py>>,
}

impl<'a, 'py> Payloads<'a, 'py> {
    pub fn new(
        py: Python<'py>,
        site: &'a LoadedSite,
        subset: PageView<'py>,
        suggested: Option<PageView<'py>>,
        read: Option<ReadPayloads<'py>>,
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
            read,
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
        if self.read.is_some() {
            kinds.extend([PayloadKind::PageRead, PayloadKind::SiteRead]);
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
            PayloadKind::PageRead | PayloadKind::SiteRead => {
                let Some(read) = &self.read else {
                    return Err(pyo3::exceptions::PyValueError::new_err("no read set"));
                };
                match kind {
                    PayloadKind::PageRead => read.pages.get_item(index),
                    _ => Ok(read.site.clone()),
                }
            }
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

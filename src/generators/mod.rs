//! Load the site's object graph through its generator adapter and keep handles to it.
//!
//! The adapters live on the Python side (`picklecost.generators`: one module per generator, plus
//! `--loader module:function`); they know how to detect a site, load a stage, name and sample
//! its pages, build page payloads and render a page. Nothing here is generator-specific.
use crate::error::UserError;
use crate::model::Stage;
use crate::model::results::SiteCopy;
use crate::python::{self, Module};
use crate::settings::LoadSettings;
use anyhow::Result;
use pyo3::prelude::*;

pub mod readtrace;
mod workdir;
pub use workdir::Workdir;

pub struct LoadedSite {
    /// The adapter that loaded the site (`picklecost.generators.base.Adapter`).
    pub adapter: Py<PyAny>,
    pub site: Py<PyAny>,
    pub pages: Vec<Py<PyAny>>,
    /// Each page's name: its source file relative to the site root, or the generator's own name
    /// for a virtual page (one with no file of its own, e.g. a generated tag page).
    pub page_keys: Vec<String>,
    /// Whether each page is virtual.
    pub page_virtual: Vec<bool>,
    /// (group, content length) per page, the order stratified samples follow.
    pub strata: Vec<(String, u64)>,
    pub generator: String,
    pub generator_version: String,
    pub stage: Stage,
    /// How the stage was reached, in one sentence (the adapter's words).
    pub stage_method: String,
    /// What the generator's own worker payload is, where it has one (the adapter's words).
    pub generator_payload: Option<String>,
    /// The name of the adapter's further whole-site object (`site_extra`), e.g. Sphinx's `env`;
    /// the first one, where the adapter names any.
    pub extra_root: Option<String>,
    /// Where a rendered build ran (a temporary copy), if it did.
    pub build_root: Option<String>,
    /// The private copy the site was loaded from.
    pub copy: SiteCopy,
    pub load_seconds: f64,
}

pub fn load(py: Python<'_>, request: &LoadSettings, workdir: &Workdir) -> Result<LoadedSite> {
    let generators = python::module(py, Module::Generators)?;
    let loaded = generators
        .call_method1(
            "load",
            (
                request.site_dir.to_string_lossy().as_ref(),
                request.stage.as_str(),
                request.loader.as_deref(),
                workdir.path().to_string_lossy().as_ref(),
                request.generator.as_deref(),
                workdir.copy_bases(),
                request.load_limit_seconds,
            ),
        )
        .map_err(|err| {
            let load_error = generators.getattr("LoadError").ok();
            match load_error {
                _ if let Some(interrupted) = python::interrupt::interrupted(py, &err) => {
                    anyhow::Error::new(interrupted)
                }
                Some(cls) if err.is_instance(py, &cls) => {
                    let msg = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
                    anyhow::Error::new(UserError::Load(msg))
                }
                _ => anyhow::anyhow!(
                    "loading {} failed unexpectedly: {}",
                    request.site_dir.display(),
                    python::describe_error(py, &err)
                ),
            }
        })?;

    let adapter = loaded.getattr("adapter")?;
    let pages: Vec<Py<PyAny>> = loaded
        .getattr("pages")?
        .try_iter()?
        .map(|p| p.map(|p| p.unbind()))
        .collect::<PyResult<_>>()?;
    let page_keys = pages
        .iter()
        .map(|page| {
            adapter
                .call_method1("page_key", (page.bind(py),))?
                .extract::<String>()
        })
        .collect::<PyResult<Vec<_>>>()?;
    let page_virtual = pages
        .iter()
        .map(|page| {
            adapter
                .call_method1("page_virtual", (page.bind(py),))?
                .extract::<bool>()
        })
        .collect::<PyResult<Vec<_>>>()?;
    let strata: Vec<(String, u64)> = adapter
        .call_method1("strata", (loaded.getattr("pages")?,))?
        .extract()?;
    Ok(LoadedSite {
        adapter: adapter.clone().unbind(),
        site: loaded.getattr("site")?.unbind(),
        pages,
        page_keys,
        page_virtual,
        strata,
        generator: loaded.getattr("generator")?.extract()?,
        generator_version: loaded.getattr("generator_version")?.str()?.to_string(),
        stage: request.stage,
        stage_method: loaded.getattr("stage_method")?.extract()?,
        generator_payload: adapter.call_method0("own_payload_method")?.extract()?,
        extra_root: adapter
            .call_method1("extra_roots", (loaded.getattr("site")?,))?
            .call_method0("keys")?
            .try_iter()?
            .next()
            .transpose()?
            .map(|k| k.extract::<String>())
            .transpose()?,
        build_root: loaded.getattr("build_root")?.extract()?,
        copy: python::from_py(&loaded.getattr("site_copy")?.call_method0("as_dict")?)?,
        load_seconds: loaded.getattr("seconds")?.extract()?,
    })
}

impl LoadedSite {
    /// Page `i`'s name in free text: its key, with " (virtual)" where it has no file.
    pub fn page_label(&self, i: usize) -> String {
        if self.page_virtual.get(i).copied().unwrap_or(false) {
            format!("{} (virtual)", self.page_keys[i])
        } else {
            self.page_keys[i].clone()
        }
    }

    /// The pages as one Python list (what the adapter and the explanations take).
    pub fn page_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        pyo3::types::PyList::new(py, self.pages.iter().map(|p| p.bind(py)))
    }
}

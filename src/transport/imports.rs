//! Which modules each payload's unpickling imports, whether they load in an isolated and a
//! legacy-config sub-interpreter, and whether the generator's render entry points do; where one
//! does not, every module that refuses (`picklecost.stubs`).
use crate::measure::PayloadResult;
use crate::model::PayloadKind;
use crate::model::readiness::Beyond;
use crate::model::transport::{EntryReadiness, ImportRow};
use crate::payloads::Payloads;
use crate::python::{self, Module};
use anyhow::Result;
use pyo3::prelude::*;
use serde::Deserialize;

/// The modules every payload needs, and one row per (payload, module).
pub struct Imports {
    /// Every module some payload needs, sorted, each once: what the pool workers import.
    pub all_modules: Vec<String>,
    pub rows: Vec<ImportRow>,
}

impl Imports {
    /// The first module of `payload` an isolated sub-interpreter refuses.
    pub fn refused_isolated(&self, payload: PayloadKind) -> Option<&ImportRow> {
        self.rows
            .iter()
            .find(|r| r.payload == payload && r.isolated_ok == Some(false))
    }
}

/// One module checked in both sub-interpreter configs (`transports.check_imports`).
#[derive(Deserialize)]
pub struct Check {
    pub module: String,
    pub isolated_ok: Option<bool>,
    pub legacy_ok: Option<bool>,
    pub error: Option<String>,
    #[serde(flatten)]
    pub beyond: Beyond,
}

/// The modules behind each payload's pickled globals (`closures`, in `payloads`' order),
/// checked in sub-interpreters.
pub fn check(py: Python<'_>, payloads: &[PayloadResult], closures: &[Vec<String>]) -> Result<Imports> {
    let transports_py = python::module(py, Module::Transports)?;
    let payload_modules: Vec<Vec<String>> = closures
        .iter()
        .map(|globals| -> Result<Vec<String>> {
            Ok(transports_py
                .call_method1("modules_for_globals", (globals.clone(),))?
                .extract()?)
        })
        .collect::<Result<_>>()?;
    let all_modules = sorted_once(payload_modules.iter().flatten());
    let checks: Vec<Check> =
        python::from_py(&transports_py.call_method1("check_imports", (all_modules.clone(),))?)?;
    let kinds: Vec<PayloadKind> = payloads.iter().map(|p| p.kind).collect();
    Ok(Imports {
        rows: import_rows(&kinds, &payload_modules, &checks),
        all_modules,
    })
}

fn sorted_once<'a>(modules: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut all: Vec<String> = modules.cloned().collect();
    all.sort();
    all.dedup();
    all
}

/// A row per module of each payload (`modules[i]` belongs to `kinds[i]`) that was checked.
pub fn import_rows(kinds: &[PayloadKind], modules: &[Vec<String>], checks: &[Check]) -> Vec<ImportRow> {
    let mut rows = Vec::new();
    for (&payload, names) in kinds.iter().zip(modules) {
        for m in names {
            if let Some(c) = checks.iter().find(|c| &c.module == m) {
                rows.push(ImportRow {
                    payload,
                    module: m.clone(),
                    isolated_ok: c.isolated_ok,
                    legacy_ok: c.legacy_ok,
                    error: c.error.clone(),
                    beyond: c.beyond.clone(),
                });
            }
        }
    }
    rows
}

/// Can the generator's render entry points load in an isolated sub-interpreter? The chain of
/// imports to the module that refuses, for each that does not.
pub fn entry_points(built: &Payloads<'_, '_>, subinterpreters: bool) -> Result<Vec<EntryReadiness>> {
    let (py, site) = (built.py, built.site);
    let modules: Vec<String> = site
        .adapter
        .bind(py)
        .call_method1("worker_modules", (site.site.bind(py), site.page_list(py)?))
        .and_then(|m| m.extract())
        .unwrap_or_default();
    if !subinterpreters {
        return Ok(modules.into_iter().map(|m| unchecked(m, None)).collect());
    }
    let stubs = python::module(py, Module::Stubs)?;
    let mut out = Vec::new();
    for module in modules {
        let found = stubs.call_method1("blocked_chain", (module.as_str(),));
        out.push(match found {
            Ok(f) if f.is_none() => EntryReadiness {
                isolated_ok: Some(true),
                ..unchecked(module, None)
            },
            Ok(f) => EntryReadiness {
                isolated_ok: Some(false),
                ..python::from_py(&f)?
            },
            Err(e) => unchecked(module, Some(python::describe_error(py, &e))),
        });
    }
    Ok(out)
}

fn unchecked(module: String, error: Option<String>) -> EntryReadiness {
    EntryReadiness {
        module,
        isolated_ok: None,
        chain: Vec::new(),
        error,
        hint: None,
        beyond: Beyond::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(module: &str, isolated_ok: bool) -> Check {
        Check {
            module: module.into(),
            isolated_ok: Some(isolated_ok),
            legacy_ok: Some(true),
            error: (!isolated_ok).then(|| format!("ImportError: {module} refuses")),
            beyond: Beyond::default(),
        }
    }

    #[test]
    fn rows_join_each_payloads_modules_with_their_checks() {
        let kinds = [PayloadKind::Site, PayloadKind::Page];
        let modules = vec![
            vec!["bengal.core".to_string(), "unchecked".to_string()],
            vec!["tracemalloc".to_string(), "bengal.core".to_string()],
        ];
        let checks = [check("bengal.core", true), check("tracemalloc", false)];
        let rows = import_rows(&kinds, &modules, &checks);
        let got: Vec<(PayloadKind, &str, Option<bool>)> = rows
            .iter()
            .map(|r| (r.payload, r.module.as_str(), r.isolated_ok))
            .collect();
        assert_eq!(
            got,
            vec![
                (PayloadKind::Site, "bengal.core", Some(true)),
                (PayloadKind::Page, "tracemalloc", Some(false)),
                (PayloadKind::Page, "bengal.core", Some(true)),
            ]
        );
        let imports = Imports {
            all_modules: sorted_once(modules.iter().flatten()),
            rows,
        };
        assert_eq!(imports.all_modules, ["bengal.core", "tracemalloc", "unchecked"]);
        assert!(imports.refused_isolated(PayloadKind::Site).is_none());
        let refused = imports.refused_isolated(PayloadKind::Page).unwrap();
        assert_eq!(refused.module, "tracemalloc");
        assert_eq!(refused.error.as_deref(), Some("ImportError: tracemalloc refuses"));
    }
}

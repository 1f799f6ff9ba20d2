//! Run the explanations for each measured payload, on the objects that matter: the first one
//! that failed, or a typical (median-sized) one.
use crate::measure::PayloadResult;
use crate::model::PayloadKind;
use crate::model::explain::{Attribution, Culprits, Drag, RepairedRaw};
use crate::payloads::Payloads;
use crate::settings::{ExplainLimits, tuning};
use anyhow::Result;
use pyo3::prelude::*;
use serde::Serialize;
use std::time::Instant;

#[derive(Serialize, Debug, Clone, Default)]
pub struct PayloadDiagnosis {
    /// Every minimal unpicklable object of the first object that failed, if one did.
    pub culprits: Option<Culprits>,
    pub attribution: Option<Attribution>,
    pub drag: Vec<Drag>,
    /// The first object that failed, pickled with its culprits repaired.
    pub repaired: Option<RepairedRaw>,
    /// An explanation that could not be computed, and why.
    pub errors: Vec<String>,
}

fn root_name(kind: PayloadKind) -> &'static str {
    match kind {
        PayloadKind::Site => "site",
        PayloadKind::Page => "page",
        PayloadKind::PageSubset => "subset",
        PayloadKind::PageSuggested => "suggested",
        PayloadKind::PageGenerator => "view",
        PayloadKind::SiteExtra => "extra",
        PayloadKind::PageRead => "read",
        PayloadKind::SiteRead => "site_read",
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

/// How far the explanations got within their time limit (`--diagnose-limit`): steps run to
/// their end, of the steps planned, and the first step the limit cut or kept from running.
#[derive(Debug, Clone, Default)]
pub struct Limited {
    pub deadline: Option<Instant>,
    pub done: u64,
    pub planned: u64,
    pub stopped_at: Option<String>,
}

impl Limited {
    pub fn until(deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..Default::default()
        }
    }

    /// `step` (one explanation, named `what`) within the time limit: not run once it has
    /// passed (noted), its failure noted, its stop counted; an interrupt stops the run.
    pub fn step<T>(
        &mut self,
        py: Python<'_>,
        what: &str,
        errors: &mut Vec<String>,
        step: impl FnOnce() -> Result<T>,
    ) -> Result<Option<T>> {
        self.planned += 1;
        if !super::set_deadline(py, self.deadline)? {
            self.stopped_at.get_or_insert_with(|| what.to_string());
            errors.push(format!(
                "{what}: not run, the time limit (--diagnose-limit) had passed"
            ));
            return Ok(None);
        }
        let outcome = noted(step(), what, errors)?;
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => {
                self.stopped_at.get_or_insert_with(|| what.to_string());
            }
            _ => self.done += 1,
        }
        Ok(outcome)
    }
}

pub fn diagnose(
    payloads: &Payloads<'_, '_>,
    measured: &[PayloadResult],
    protocol: u8,
    limits: ExplainLimits,
    limited: &mut Limited,
) -> Result<Vec<PayloadDiagnosis>> {
    let (py, site) = (payloads.py, payloads.site);
    let pages = site.page_list(py)?;
    let mut out = Vec::new();
    for p in measured {
        let mut d = PayloadDiagnosis::default();
        let root = root_name(p.kind);
        let object = |index| payloads.object(p.kind, index);
        if let Some(&(index, _)) = p.failures.first() {
            d.culprits = limited.step(py, "finding unpicklable objects", &mut d.errors, || {
                super::find_unpicklable(py, &object(index)?, root, protocol, limits)
            })?;
            d.repaired = limited.step(py, "measuring the repaired pickle", &mut d.errors, || {
                super::measure_repaired(py, &object(index)?, protocol)
            })?;
        }
        if let Some(index) = typical_index(p) {
            let obj = object(index)?;
            let attribution = limited.step(py, "attributing bytes", &mut d.errors, || {
                super::attribute_bytes(py, &obj, root, protocol, tuning::TOP_PATHS)
            })?;
            if let Some(mut a) = attribution {
                if p.kind != PayloadKind::Site {
                    a.subject = format!("{root} of {} (the median-sized one)", site.page_label(index));
                }
                d.attribution = Some(a)
            }
            if p.kind == PayloadKind::Page {
                let drag = limited.step(py, "finding back-references", &mut d.errors, || {
                    super::drag(py, &obj, site.site.bind(py), pages.as_any(), protocol)
                })?;
                if let Some(drag) = drag {
                    d.drag = drag;
                }
            }
        }
        out.push(d);
    }
    super::set_deadline(py, None)?;
    Ok(out)
}

/// A diagnosis step's outcome: its value, or None with the error noted as `what` failed. An
/// interrupt is no step's failure: it stops the run.
fn noted<T>(outcome: Result<T>, what: &str, errors: &mut Vec<String>) -> Result<Option<T>> {
    match outcome {
        Ok(value) => Ok(Some(value)),
        Err(e)
            if e.downcast_ref::<crate::python::interrupt::Interrupted>()
                .is_some() =>
        {
            Err(e)
        }
        Err(e) => {
            errors.push(format!("{what}: {e}"));
            Ok(None)
        }
    }
}

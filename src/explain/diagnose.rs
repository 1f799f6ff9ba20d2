//! Run the explanations for each measured payload, on the objects that matter: the first one
//! that failed, or a typical (median-sized) one.
use crate::measure::PayloadResult;
use crate::model::PayloadKind;
use crate::model::explain::{Attribution, Culprits, Drag, RepairedRaw};
use crate::payloads::Payloads;
use crate::settings::{ExplainLimits, tuning};
use anyhow::Result;
use serde::Serialize;

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

pub fn diagnose(
    payloads: &Payloads<'_, '_>,
    measured: &[PayloadResult],
    protocol: u8,
    limits: ExplainLimits,
) -> Result<Vec<PayloadDiagnosis>> {
    let (py, site) = (payloads.py, payloads.site);
    let pages = site.page_list(py)?;
    let mut out = Vec::new();
    for p in measured {
        let mut d = PayloadDiagnosis::default();
        let root = root_name(p.kind);
        let object = |index| payloads.object(p.kind, index);
        if let Some(&(index, _)) = p.failures.first() {
            let culprits = object(index)
                .map_err(anyhow::Error::from)
                .and_then(|o| super::find_unpicklable(py, &o, root, protocol, limits));
            d.culprits = noted(culprits, "finding unpicklable objects", &mut d.errors)?;
            let repaired = object(index)
                .map_err(anyhow::Error::from)
                .and_then(|o| super::measure_repaired(py, &o, protocol));
            d.repaired = noted(repaired, "measuring the repaired pickle", &mut d.errors)?;
        }
        if let Some(index) = typical_index(p) {
            let obj = object(index)?;
            let attribution = super::attribute_bytes(py, &obj, root, protocol, tuning::TOP_PATHS);
            if let Some(mut a) = noted(attribution, "attributing bytes", &mut d.errors)? {
                if p.kind != PayloadKind::Site {
                    a.subject = format!("{root} of {} (the median-sized one)", site.page_label(index));
                }
                d.attribution = Some(a)
            }
            if p.kind == PayloadKind::Page {
                let drag = super::drag(py, &obj, site.site.bind(py), pages.as_any(), protocol);
                if let Some(drag) = noted(drag, "finding back-references", &mut d.errors)? {
                    d.drag = drag;
                }
            }
        }
        out.push(d);
    }
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

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
            match object(index)
                .map_err(anyhow::Error::from)
                .and_then(|o| super::find_unpicklable(py, &o, root, protocol, limits))
            {
                Ok(c) => d.culprits = Some(c),
                Err(e) => d.errors.push(format!("finding unpicklable objects: {e}")),
            }
            match object(index)
                .map_err(anyhow::Error::from)
                .and_then(|o| super::measure_repaired(py, &o, protocol))
            {
                Ok(r) => d.repaired = Some(r),
                Err(e) => d.errors.push(format!("measuring the repaired pickle: {e}")),
            }
        }
        if let Some(index) = typical_index(p) {
            let obj = object(index)?;
            match super::attribute_bytes(py, &obj, root, protocol, tuning::TOP_PATHS) {
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

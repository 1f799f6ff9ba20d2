//! The growth model in words: the projection sentence of the verdict (or why there is none),
//! and the findings every report states — how each quantity grows over the larger copies, where
//! the per-page cost steps up, and what the out-of-sample check showed.
use crate::model::PayloadKind;
use crate::model::results::{GrowthFit, GrowthJson, GrowthProjection, GrowthQuantity};
use crate::units::{bytes, nanos, thousands};

/// A quantity's value in its unit.
pub fn amount(q: GrowthQuantity, v: f64) -> String {
    if q.is_time() {
        nanos(v.max(0.0).round() as u64)
    } else {
        bytes(v.max(0.0).round() as u64)
    }
}

/// "77.1 MB (60.2–98.7 MB, 2.7× beyond the largest copy measured)" or "not supported: 44× …".
pub fn projected(g: &GrowthJson, p: &GrowthProjection) -> String {
    let beyond = beyond(p.extrapolation);
    match (p.supported, p.value, p.low, p.high) {
        (true, Some(v), Some(lo), Some(hi)) => format!(
            "{} ({}–{}, {beyond})",
            amount(p.quantity, v),
            amount(p.quantity, lo),
            amount(p.quantity, hi)
        ),
        _ if p.extrapolation > g.max_extrapolation => {
            format!("not supported: {beyond}, past the {}× limit", g.max_extrapolation)
        }
        _ => format!("not supported: {beyond}, and the copies allow no out-of-sample check"),
    }
}

fn beyond(x: f64) -> String {
    if x <= 1.0 {
        "within the copies measured".into()
    } else {
        format!("{x:.1}× beyond the largest copy measured")
    }
}

fn find(
    g: &GrowthJson,
    pages: u64,
    payload: Option<PayloadKind>,
    q: GrowthQuantity,
) -> Option<&GrowthProjection> {
    g.projections
        .iter()
        .find(|p| p.pages == pages && p.payload == payload && p.quantity == q)
}

/// "At 10,000 pages (a projection from 10 measured copies, …) the Site would pickle to …".
pub fn projection(g: &GrowthJson) -> String {
    let Some(pages) = crate::growth::PROJECT_TO.first().copied() else {
        return String::new();
    };
    let Some(largest) = g.largest() else {
        return String::new();
    };
    let mut parts = Vec::new();
    // A full Page that drags the Site projects like the Site: left out.
    for kind in g.payloads().into_iter().filter(|&k| k != PayloadKind::Page) {
        let what = if kind == PayloadKind::Site {
            "the Site".to_string()
        } else {
            format!("a median `{kind}`")
        };
        let size = find(g, pages, Some(kind), GrowthQuantity::Bytes);
        let rt = find(g, pages, Some(kind), GrowthQuantity::RoundtripNs);
        if let Some(size) = size.filter(|p| p.supported) {
            let mut s = format!("{what} would pickle to {}", projected(g, size));
            if let Some(rt) = rt.filter(|p| p.supported) {
                s.push_str(&format!(
                    ", and take {} per round trip at p50 (dumps + loads)",
                    projected(g, rt)
                ));
            }
            parts.push(s);
        }
    }
    let supported_to = (largest as f64 * g.max_extrapolation) as u64;
    let factor = pages as f64 / largest as f64;
    let mut s = if parts.is_empty() && factor <= g.max_extrapolation {
        format!(
            "At {} pages there is no projection: the {} copies measured (up to {} pages) allow no out-of-sample check of a model.",
            thousands(pages),
            g.copies.len(),
            thousands(largest)
        )
    } else if parts.is_empty() {
        format!(
            "At {} pages there is no projection: {:.0}× beyond the largest copy measured ({} pages), past the {}× this tool projects (supported up to {} pages; --budget or --growth-pages {} measure bigger copies).",
            thousands(pages),
            factor,
            thousands(largest),
            g.max_extrapolation,
            thousands(supported_to),
            pages
        )
    } else {
        format!(
            "At {} pages (a projection from {} measured copies up to {} pages; 95% interval widened by an out-of-sample check) {}.",
            thousands(pages),
            g.copies.len(),
            thousands(largest),
            parts.join("; ")
        )
    };
    // The Site's and the generator's findings (a median page's say the same of less).
    let site_fits = GrowthJson {
        fits: g
            .fits
            .iter()
            .filter(|f| matches!(f.payload, None | Some(PayloadKind::Site)))
            .cloned()
            .collect(),
        ..Default::default()
    };
    for f in findings(&site_fits) {
        s.push(' ');
        s.push_str(&f);
    }
    s
}

fn subject(f: &GrowthFit) -> String {
    match f.payload {
        Some(kind) => format!("`{kind}` {}", f.quantity.label()),
        None => "The generator's load time".into(),
    }
}

/// What the fits say in words: the generator's load growth, the steps up in per-page cost, and
/// the parts whose larger copies grow faster than the pages.
pub fn findings(g: &GrowthJson) -> Vec<String> {
    let mut out = Vec::new();
    for f in &g.fits {
        let grows_fast = f.upper_exponent.filter(|&k| k >= 1.2);
        let load = f.quantity == GrowthQuantity::GeneratorLoadNs;
        if let Some(k) = grows_fast.or(f.upper_exponent.filter(|_| load)) {
            out.push(format!(
                "{} grows like pages^{k:.1} over the copies from {} pages.",
                subject(f),
                thousands(f.fitted_from_pages)
            ));
        }
        if let Some(s) = f.step_up {
            out.push(format!(
                "{}: the per-page cost steps up between {} and {} pages ({} → {} per page).",
                subject(f),
                thousands(s.from_pages),
                thousands(s.to_pages),
                amount(f.quantity, s.per_page_before),
                amount(f.quantity, s.per_page_after)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::results::{CopyReason, GrowthCopy};

    fn growth(largest: u64, supported: bool) -> GrowthJson {
        let copy = |pages| GrowthCopy {
            factor: 1.0,
            pages,
            load_ns: 1,
            reason: CopyReason::Ladder,
            seconds: 0.1,
        };
        let extrapolation = 10_000.0 / largest as f64;
        let site = |quantity, value: f64| GrowthProjection {
            pages: 10_000,
            payload: Some(PayloadKind::Site),
            quantity,
            extrapolation,
            supported,
            value: supported.then_some(value),
            low: supported.then_some(value * 0.5),
            high: supported.then_some(value * 2.0),
            fit_low: supported.then_some(value * 0.9),
            fit_high: supported.then_some(value * 1.1),
        };
        GrowthJson {
            copies: vec![copy(largest / 2), copy(largest)],
            points: vec![crate::model::results::GrowthPoint {
                pages: largest,
                payload: PayloadKind::Site,
                bytes: Some(1),
                dumps_ns: None,
                loads_ns: None,
                roundtrip_ns: None,
            }],
            projections: vec![
                site(GrowthQuantity::Bytes, 76_000_000.0),
                site(GrowthQuantity::RoundtripNs, 231_000_000.0),
            ],
            max_extrapolation: 10.0,
            ..Default::default()
        }
    }

    #[test]
    fn the_projection_states_its_extrapolation_or_why_there_is_none() {
        let s = projection(&growth(2_000, true));
        assert!(
            s.contains(
                "the Site would pickle to 76.0 MB (38.0 MB–152.0 MB, 5.0× beyond the largest copy measured)"
            ),
            "{s}"
        );
        assert!(s.contains("231.00 ms (115.50 ms–462.00 ms, 5.0× beyond"), "{s}");
        let far = projection(&growth(228, false));
        assert!(
            far.contains("At 10,000 pages there is no projection: 44× beyond the largest copy measured (228 pages), past the 10× this tool projects (supported up to 2,280 pages"),
            "{far}"
        );
        let unchecked = projection(&growth(2_000, false));
        assert!(unchecked.contains("allow no out-of-sample check"), "{unchecked}");
    }
}

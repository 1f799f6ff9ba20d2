//! Fits per payload and quantity, and projections to `PROJECT_TO` pages: each from the model that
//! predicted the largest copy best out of sample, its interval widened by that check's error,
//! and no number at all beyond `MAX_EXTRAPOLATION` times the largest copy measured.
use super::fit::{self, Fitted};
use crate::model::PayloadKind;
use crate::model::results::{
    GrowthFit, GrowthJson, GrowthModel, GrowthPoint, GrowthProjection, GrowthQuantity, Holdout,
};

/// Pages the model projects to.
pub const PROJECT_TO: [u64; 2] = [10_000, 100_000];

/// No projection beyond this many times the largest copy measured (see docs/method.md).
pub const MAX_EXTRAPOLATION: f64 = 10.0;

/// The projection's fit uses at most this many of the largest copies (or those from a step up).
const UPPER: usize = 5;

/// One series: its fit record, and the model its projections use with its check.
struct Series {
    fit: GrowthFit,
    model: Option<(Fitted, Holdout)>,
    largest: f64,
}

/// Fill `growth.fits` and `growth.projections` from its points and copies.
pub fn fit_and_project(growth: &mut GrowthJson) {
    for kind in growth.payloads() {
        let of = |q: fn(&GrowthPoint) -> Option<u64>| -> Vec<(f64, f64)> {
            growth
                .points
                .iter()
                .filter(|p| p.payload == kind)
                .filter_map(|p| q(p).map(|v| (p.pages as f64, v as f64)))
                .collect()
        };
        let bytes = analyse(Some(kind), GrowthQuantity::Bytes, &of(|p| p.bytes));
        let dumps = analyse(Some(kind), GrowthQuantity::DumpsNs, &of(|p| p.dumps_ns));
        let loads = analyse(Some(kind), GrowthQuantity::LoadsNs, &of(|p| p.loads_ns));
        let mut roundtrip = analyse(Some(kind), GrowthQuantity::RoundtripNs, &of(|p| p.roundtrip_ns));
        if let (Some(rt), Some(d), Some(l)) = (roundtrip.as_mut(), &dumps, &loads) {
            rt.fit.model = None;
            rt.fit.holdout = sum_holdout(d, l, &of(|p| p.roundtrip_ns));
        }
        for s in [&bytes, &dumps, &loads].into_iter().flatten() {
            growth.projections.extend(PROJECT_TO.map(|x| project(s, x)));
        }
        if let (Some(d), Some(l)) = (&dumps, &loads) {
            growth
                .projections
                .extend(PROJECT_TO.map(|x| sum(&project(d, x), &project(l, x))));
        }
        growth.fits.extend(
            [bytes, dumps, loads, roundtrip]
                .into_iter()
                .flatten()
                .map(|s| s.fit),
        );
    }
    let load: Vec<(f64, f64)> = growth
        .copies
        .iter()
        .map(|c| (c.pages as f64, c.load_ns as f64))
        .collect();
    if let Some(s) = analyse(None, GrowthQuantity::GeneratorLoadNs, &load) {
        growth.projections.extend(PROJECT_TO.map(|x| project(&s, x)));
        growth.fits.push(s.fit);
    }
    growth.max_extrapolation = MAX_EXTRAPOLATION;
}

fn analyse(payload: Option<PayloadKind>, quantity: GrowthQuantity, points: &[(f64, f64)]) -> Option<Series> {
    let line = fit::Linear::fit(points)?;
    let exponent = fit::exponent(points);
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // A quantity that does not grow with the pages (a median page's size) is modelled as its mean.
    let grows = exponent.is_none_or(|k| k >= 0.3);
    let step_up = if grows { fit::step_up(&sorted) } else { None };
    // The copies from the step up on, where at least three; else the largest `UPPER` (a step
    // at the largest copies leaves too few after it for a fit and its check).
    let after_step = step_up.and_then(|s| sorted.iter().position(|p| p.0 as u64 == s.to_pages));
    let start = match (grows, after_step) {
        (false, _) => 0,
        (true, Some(i)) if sorted.len() - i >= 3 => i,
        (true, _) => sorted.len().saturating_sub(UPPER),
    };
    let upper = &sorted[start..];
    let candidates: &[GrowthModel] = if grows {
        &[GrowthModel::Power, GrowthModel::Linear]
    } else {
        &[GrowthModel::Flat]
    };
    let model = candidates
        .iter()
        .filter_map(|&m| Some((Fitted::fit(m, upper)?, fit::holdout(m, upper)?)))
        .min_by(|a, b| a.1.log_error.total_cmp(&b.1.log_error));
    let fit = GrowthFit {
        payload,
        quantity,
        intercept: line.intercept,
        slope_per_page: line.slope,
        r2: line.r2,
        exponent,
        upper_exponent: Fitted::fit(GrowthModel::Power, upper).and_then(|f| f.exponent()),
        // Growing, but not in proportion to the pages: a line will mislead.
        bends: exponent.is_some_and(|k| k >= 0.3 && (k - 1.0).abs() > 0.2),
        model: model.map(|m| m.0.model),
        fitted_from_pages: upper.first().map_or(0, |p| p.0 as u64),
        step_up,
        holdout: model.map(|m| m.1),
    };
    Some(Series {
        fit,
        model,
        largest: sorted.last()?.0,
    })
}

/// The projection of one series to `pages`: supported within `MAX_EXTRAPOLATION` times its
/// largest copy, and beyond that copy only where the out-of-sample check could be made.
fn project(s: &Series, pages: u64) -> GrowthProjection {
    let x = pages as f64;
    let extrapolation = x / s.largest;
    let mut p = GrowthProjection {
        pages,
        payload: s.fit.payload,
        quantity: s.fit.quantity,
        extrapolation,
        supported: false,
        value: None,
        low: None,
        high: None,
        fit_low: None,
        fit_high: None,
    };
    let Some((model, holdout)) = &s.model else {
        return p;
    };
    if extrapolation > MAX_EXTRAPOLATION {
        return p;
    }
    let value = model.at(x).max(0.0);
    let (lo, hi) = model.interval(x);
    let (lo, hi) = (lo.max(0.0).min(value), hi.max(value));
    let w = fit::widening(holdout, s.largest, x);
    p.supported = true;
    p.value = Some(value);
    p.fit_low = Some(lo);
    p.fit_high = Some(hi);
    p.low = Some(lo / w);
    p.high = Some(hi * w);
    p
}

/// The round trip as dumps plus loads: values and bounds added.
fn sum(d: &GrowthProjection, l: &GrowthProjection) -> GrowthProjection {
    let add = |a: Option<f64>, b: Option<f64>| Some(a? + b?);
    let supported = d.supported && l.supported;
    let both = |a, b| if supported { add(a, b) } else { None };
    GrowthProjection {
        pages: d.pages,
        payload: d.payload,
        quantity: GrowthQuantity::RoundtripNs,
        extrapolation: d.extrapolation.max(l.extrapolation),
        supported,
        value: both(d.value, l.value),
        low: both(d.low, l.low),
        high: both(d.high, l.high),
        fit_low: both(d.fit_low, l.fit_low),
        fit_high: both(d.fit_high, l.fit_high),
    }
}

/// The round trip's out-of-sample check: the parts' predictions for the largest copy, added,
/// against its measured round trip.
fn sum_holdout(d: &Series, l: &Series, roundtrip: &[(f64, f64)]) -> Option<Holdout> {
    let (dh, lh) = (d.model?.1, l.model?.1);
    let measured = roundtrip.iter().find(|p| p.0 as u64 == dh.pages)?.1;
    let predicted = dh.predicted + lh.predicted;
    (dh.pages == lh.pages && measured > 0.0).then(|| Holdout {
        pages: dh.pages,
        fitted_up_to: dh.fitted_up_to.min(lh.fitted_up_to),
        predicted,
        measured,
        log_error: (measured / predicted).ln().abs(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::results::{CopyReason, GrowthCopy};

    /// The Site's size at 2 B a page up to 1,600 pages, then 4 B a page at 3,200.
    fn stepped() -> GrowthJson {
        let pages = [100u64, 200, 400, 800, 1_600, 3_200];
        GrowthJson {
            copies: pages
                .iter()
                .map(|&p| GrowthCopy {
                    factor: 1.0,
                    pages: p,
                    load_ns: p * 1_000,
                    reason: CopyReason::Ladder,
                    seconds: 0.1,
                })
                .collect(),
            points: pages
                .iter()
                .map(|&p| GrowthPoint {
                    pages: p,
                    payload: PayloadKind::Site,
                    bytes: Some(if p > 1_600 { 4 * p } else { 2 * p }),
                    dumps_ns: None,
                    loads_ns: None,
                    roundtrip_ns: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_step_at_the_largest_copy_widens_by_the_check_it_fails() {
        let mut g = stepped();
        fit_and_project(&mut g);
        let fit = g
            .fits
            .iter()
            .find(|f| f.quantity == GrowthQuantity::Bytes)
            .unwrap();
        let step = fit.step_up.unwrap();
        assert_eq!((step.from_pages, step.to_pages), (1_600, 3_200));
        assert_eq!((step.per_page_before, step.per_page_after), (2.0, 4.0));
        // Too few copies after the step: the five largest, from 200 pages.
        assert_eq!(fit.fitted_from_pages, 200);
        // Fitted on 200 .. 1,600 (exactly 2 B a page), the check predicts 6,400 B at 3,200
        // pages, where 12,800 B were measured: ln 2 per doubling.
        let h = fit.holdout.unwrap();
        assert_eq!((h.pages, h.fitted_up_to), (3_200, 1_600));
        assert!((h.predicted - 6_400.0).abs() < 1e-6 && h.measured == 12_800.0);
        assert!((h.log_error - 2f64.ln()).abs() < 1e-9);
        let at = |pages| {
            g.projections
                .iter()
                .find(|p| p.pages == pages && p.quantity == GrowthQuantity::Bytes)
                .unwrap()
        };
        // 10,000 pages is 3.125x beyond: the fit's interval widened 3.125 times each way.
        let p = at(10_000);
        assert!(p.supported && (p.extrapolation - 3.125).abs() < 1e-12);
        let w = 3.125;
        assert!((p.high.unwrap() / p.fit_high.unwrap() - w).abs() < 1e-9, "{p:?}");
        assert!((p.fit_low.unwrap() / p.low.unwrap() - w).abs() < 1e-9, "{p:?}");
        // 100,000 pages is 31x beyond: refused, no number.
        let far = at(100_000);
        assert!(!far.supported && far.value.is_none() && far.low.is_none());
        // The generator's load, 1 µs a page: fitted and projected as well.
        let load = g
            .projections
            .iter()
            .find(|p| p.pages == 10_000 && p.quantity == GrowthQuantity::GeneratorLoadNs)
            .unwrap();
        assert!((load.value.unwrap() - 1e7).abs() < 1.0, "{load:?}");
    }
}

//! Which way of handing pages to workers is worth it: transfer cost as a share of the render
//! cost of the whole site, per strategy, payload and copying transport.
use crate::model::transport::VerdictRow;
use crate::model::{PayloadKind, Thresholds, TransportKind, VerdictClass as Class};
use crate::transport::Outcome;
use crate::units::nanos;

pub fn classify(share: f64, t: Thresholds) -> Class {
    if share <= t.practical {
        Class::Practical
    } else if share <= t.marginal {
        Class::Marginal
    } else {
        Class::Impractical
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One copy of the whole Site per worker, pages rendered from it.
    SitePerWorker,
    /// Every page sent as its full Page object.
    EachPage,
    /// Every page sent as a smaller payload (subset or suggested).
    EachPayload,
}

impl Strategy {
    pub fn of(payload: PayloadKind) -> Self {
        match payload {
            PayloadKind::Site | PayloadKind::SiteExtra => Strategy::SitePerWorker,
            PayloadKind::Page => Strategy::EachPage,
            _ => Strategy::EachPayload,
        }
    }

    pub fn describe(self, payload: PayloadKind, transport: TransportKind) -> String {
        if transport == TransportKind::Fork {
            return match self {
                Strategy::SitePerWorker => format!(
                    "fork workers after loading: the {} shared copy-on-write",
                    if payload == PayloadKind::SiteExtra {
                        "site_extra object"
                    } else {
                        "Site"
                    }
                ),
                Strategy::EachPage => "fork workers: each Page shared, handed over by index".into(),
                Strategy::EachPayload => format!("fork workers: each {payload} shared, handed over by index"),
            };
        }
        match self {
            Strategy::SitePerWorker if payload == PayloadKind::SiteExtra => {
                "ship the site_extra object once per worker".into()
            }
            Strategy::SitePerWorker => "ship the full Site once per worker".into(),
            Strategy::EachPage => "ship each full Page".into(),
            Strategy::EachPayload => format!("ship each {payload} payload"),
        }
    }
}

/// Total transfer time of a strategy: W Site copies, or one payload per page.
pub fn transfer_ns(strategy: Strategy, roundtrip_p50: u64, pages: usize, workers: usize) -> f64 {
    match strategy {
        Strategy::SitePerWorker => roundtrip_p50 as f64 * workers as f64,
        Strategy::EachPage | Strategy::EachPayload => roundtrip_p50 as f64 * pages as f64,
    }
}

/// Transfer share and class of a payload whose round trip would be `roundtrip_p50` after repairs
/// (measured in this process), where a render cost was measured.
pub fn after_repairs(
    payload: PayloadKind,
    roundtrip_p50: u64,
    outcome: &Outcome,
    pages: usize,
    thresholds: Thresholds,
) -> Option<(f64, Class)> {
    let render_total = outcome.render_hist.value_at_quantile(0.5) as f64 * pages as f64;
    if !outcome.render.available || render_total <= 0.0 || roundtrip_p50 == 0 {
        return None;
    }
    let share = transfer_ns(Strategy::of(payload), roundtrip_p50, pages, outcome.workers) / render_total;
    Some((share, classify(share, thresholds)))
}

/// One row per copying transport and payload: transfer cost for the whole site as a share of
/// its render cost, classified by the thresholds.
pub fn rows(outcome: &Outcome, pages: usize, thresholds: Thresholds) -> Vec<VerdictRow> {
    let (cells, render, render_hist, workers) = (
        &outcome.cells,
        &outcome.render,
        &outcome.render_hist,
        outcome.workers,
    );
    let render_total = render_hist.value_at_quantile(0.5) as f64 * pages as f64;
    // Every page's rendered result comes back through the same transport, whatever went out.
    let result_back = |t: TransportKind| {
        outcome
            .results_back
            .iter()
            .find(|r| r.transport == t && r.available && r.roundtrip_ns.samples > 0)
            .map(|r| r.roundtrip_ns.p50)
    };
    let mut rows = Vec::new();
    for cell in cells.iter().filter(|c| c.transport.judged()) {
        let strategy = Strategy::of(cell.payload);
        let mut row = VerdictRow {
            strategy: strategy.describe(cell.payload, cell.transport),
            payload: cell.payload,
            transport: cell.transport,
            workers,
            transfer_share: None,
            result_share: None,
            setup_share: None,
            class: Class::Impractical,
            why: String::new(),
        };
        if !cell.available || cell.roundtrip.is_empty() {
            row.why = cell.reason.clone().unwrap_or_else(|| "not measured".into());
            if cell.transport == TransportKind::Subinterpreter
                && render_total > 0.0
                && let Some(legacy) = cells.iter().find(|c| {
                    c.transport == TransportKind::SubinterpreterLegacy
                        && c.payload == cell.payload
                        && !c.roundtrip.is_empty()
                })
            {
                let share = transfer_ns(strategy, legacy.roundtrip.value_at_quantile(0.5), pages, workers)
                    / render_total;
                row.why.push_str(&format!(
                        "; a legacy-config sub-interpreter can take it ({:.1}% of render time) but shares the main GIL: isolation, not parallelism",
                        share * 100.0
                    ));
            }
        } else if !render.available || render_total <= 0.0 {
            row.class = Class::Unknown;
            row.why = format!(
                "{} round trip p50, but no render cost to compare with ({})",
                nanos(cell.roundtrip.value_at_quantile(0.5)),
                render.reason.as_deref().unwrap_or("none measured")
            );
        } else {
            let p50 = cell.roundtrip.value_at_quantile(0.5);
            let out_share = transfer_ns(strategy, p50, pages, workers) / render_total;
            let back = result_back(cell.transport);
            let back_share = back.map(|b| b as f64 * pages as f64 / render_total);
            let share = out_share + back_share.unwrap_or(0.0);
            let setup_ns: u64 = cell.setup.as_ref().map_or(0, |s| s.total_ns());
            row.transfer_share = Some(share);
            row.result_share = back_share;
            row.setup_share = Some(setup_ns as f64 / render_total);
            row.class = classify(share, thresholds);
            let count = match strategy {
                Strategy::SitePerWorker if cell.transport == TransportKind::Fork => {
                    format!("{workers} workers")
                }
                Strategy::SitePerWorker => format!("{workers} copies"),
                _ => format!("{pages} pages"),
            };
            let results = match (back, back_share) {
                (Some(b), Some(bs)) => format!(
                    " + results back {} p50 x {pages} pages = {:.1}%",
                    nanos(b),
                    bs * 100.0
                ),
                _ => " (results back not measured)".to_string(),
            };
            row.why = format!(
                "{} round trip p50 x {count} = {:.1}%{results}, of the {} it takes to render {pages} pages (p50 {}); starting {workers} workers costs another {:.1}% once{}",
                nanos(p50),
                out_share * 100.0,
                nanos(render_total as u64),
                nanos(render_hist.value_at_quantile(0.5)),
                setup_ns as f64 / render_total * 100.0,
                if cell.transport == TransportKind::Fork {
                    " (fork + first touch of the shared objects)"
                } else {
                    ""
                }
            );
        }
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_inclusive_upper_bounds() {
        let t = Thresholds::default();
        assert_eq!(classify(0.0, t), Class::Practical);
        assert_eq!(classify(0.05, t), Class::Practical);
        assert_eq!(classify(0.050001, t), Class::Marginal);
        assert_eq!(classify(0.25, t), Class::Marginal);
        assert_eq!(classify(3.0, t), Class::Impractical);
    }

    #[test]
    fn transfer_totals() {
        assert_eq!(transfer_ns(Strategy::SitePerWorker, 1_000, 100, 4), 4_000.0);
        assert_eq!(transfer_ns(Strategy::EachPage, 1_000, 100, 4), 100_000.0);
        assert_eq!(transfer_ns(Strategy::EachPayload, 10, 100, 4), 1_000.0);
    }
}

//! Which way of handing pages to workers is worth it: transfer cost as a share of the render
//! cost of the whole site, per strategy, payload and copying transport.
use crate::model::transport::VerdictRow;
use crate::model::{PayloadKind, Thresholds, TransportKind, VerdictClass as Class};
use crate::transport::{Cell, Outcome};
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
    let site = Judged {
        outcome,
        pages,
        workers: outcome.workers,
        render_total: outcome.render_hist.value_at_quantile(0.5) as f64 * pages as f64,
        thresholds,
    };
    outcome
        .cells
        .iter()
        .filter(|c| c.transport.judged())
        .map(|cell| site.row(cell))
        .collect()
}

/// What every row of one run is judged against.
struct Judged<'a> {
    outcome: &'a Outcome,
    pages: usize,
    workers: usize,
    /// Render cost of the whole site: p50 per page x pages (ns).
    render_total: f64,
    thresholds: Thresholds,
}

impl Judged<'_> {
    fn row(&self, cell: &Cell) -> VerdictRow {
        let strategy = Strategy::of(cell.payload);
        let mut row = VerdictRow {
            strategy: strategy.describe(cell.payload, cell.transport),
            payload: cell.payload,
            transport: cell.transport,
            workers: self.workers,
            transfer_share: None,
            result_share: None,
            setup_share: None,
            class: Class::Impractical,
            why: String::new(),
            held_back: false,
        };
        let render = &self.outcome.render;
        let pooled = matches!(
            cell.transport,
            TransportKind::Subinterpreter | TransportKind::SubinterpreterLegacy | TransportKind::Process
        );
        if !cell.available && pooled && self.outcome.worker_memory.started == 0 {
            row.class = Class::Unknown;
            row.held_back = true;
            row.why = cell.reason.clone().unwrap_or_default();
        } else if !cell.available || cell.roundtrip.is_empty() {
            row.why = self.not_shippable(cell, strategy);
        } else if !render.available || self.render_total <= 0.0 {
            row.class = Class::Unknown;
            row.why = format!(
                "{} round trip p50, but no render cost to compare with ({})",
                nanos(cell.roundtrip.value_at_quantile(0.5)),
                render.reason.as_deref().unwrap_or("none measured")
            );
        } else {
            self.shares(cell, strategy, &mut row);
        }
        row
    }

    /// Why the payload cannot go this way, and what a legacy-config sub-interpreter would cost
    /// where an isolated one refuses it.
    fn not_shippable(&self, cell: &Cell, strategy: Strategy) -> String {
        let mut why = cell.reason.clone().unwrap_or_else(|| "not measured".into());
        if cell.transport == TransportKind::Subinterpreter
            && self.render_total > 0.0
            && let Some(legacy) = self.outcome.cells.iter().find(|c| {
                c.transport == TransportKind::SubinterpreterLegacy
                    && c.payload == cell.payload
                    && !c.roundtrip.is_empty()
            })
        {
            let share = transfer_ns(
                strategy,
                legacy.roundtrip.value_at_quantile(0.5),
                self.pages,
                self.workers,
            ) / self.render_total;
            why.push_str(&format!(
                "; a legacy-config sub-interpreter can take it ({:.1}% of render time) but shares the main GIL: isolation, not parallelism",
                share * 100.0
            ));
        }
        why
    }

    /// Every page's rendered result comes back through the same transport, whatever went out.
    fn result_back(&self, t: TransportKind) -> Option<u64> {
        self.outcome
            .results_back
            .iter()
            .find(|r| r.transport == t && r.available && r.roundtrip_ns.samples > 0)
            .map(|r| r.roundtrip_ns.p50)
    }

    /// The measured row: payload out plus results back as a share of the render cost, the
    /// workers' set-up, the class, and the arithmetic spelled out.
    fn shares(&self, cell: &Cell, strategy: Strategy, row: &mut VerdictRow) {
        let (pages, workers, render_total) = (self.pages, self.workers, self.render_total);
        let p50 = cell.roundtrip.value_at_quantile(0.5);
        let out_share = transfer_ns(strategy, p50, pages, workers) / render_total;
        let back = self.result_back(cell.transport);
        let back_share = back.map(|b| b as f64 * pages as f64 / render_total);
        let share = out_share + back_share.unwrap_or(0.0);
        let setup_ns: u64 = cell.setup.as_ref().map_or(0, |s| s.total_ns());
        row.transfer_share = Some(share);
        row.result_share = back_share;
        row.setup_share = Some(setup_ns as f64 / render_total);
        row.class = classify(share, self.thresholds);
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
            nanos(self.outcome.render_hist.value_at_quantile(0.5)),
            setup_ns as f64 / render_total * 100.0,
            if cell.transport == TransportKind::Fork {
                " (fork + first touch of the shared objects)"
            } else {
                ""
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stats::new_histogram;
    use crate::model::transport::{Render, ResultBack, Setup};
    use hdrhistogram::Histogram;

    const PAGES: usize = 40;
    const WORKERS: usize = 4;

    /// `n` samples of `ns` each: the histogram's p50 is `ns` to 3 significant digits.
    fn hist(ns: u64, n: u64) -> Histogram<u64> {
        let mut h = new_histogram();
        h.record_n(ns, n).unwrap();
        h
    }

    fn cell(payload: PayloadKind, transport: TransportKind, roundtrip_ns: Option<u64>) -> Cell {
        Cell {
            transport,
            payload,
            available: roundtrip_ns.is_some(),
            reason: roundtrip_ns.is_none().then(|| format!("{payload} cannot go")),
            roundtrip: roundtrip_ns.map_or_else(new_histogram, |ns| hist(ns, 50)),
            setup: Some(Setup {
                create: vec![20_000_000; WORKERS],
                import: vec![5_000_000; WORKERS],
                first_touch: Vec::new(),
            }),
        }
    }

    fn back(transport: TransportKind, ns: u64) -> ResultBack {
        ResultBack {
            transport,
            available: true,
            reason: None,
            results: 3,
            result_bytes: vec![5_000; 3],
            roundtrip_ns: crate::model::stats::LatencySummary::of(&hist(ns, 20)),
        }
    }

    fn outcome(cells: Vec<Cell>, render_ns: Option<u64>) -> Outcome {
        Outcome {
            availability: serde_json::Value::Null,
            cells,
            results_back: vec![back(TransportKind::Process, 50_000)],
            imports: Vec::new(),
            entry_points: Vec::new(),
            render: Render {
                available: render_ns.is_some(),
                reason: render_ns.is_none().then(|| "no renderer".to_string()),
                ..Render::default()
            },
            render_hist: render_ns.map_or_else(new_histogram, |ns| hist(ns, 100)),
            workers: WORKERS,
            worker_memory: crate::memory::WorkerMemory::plan(WORKERS, 2, None, None, None),
            transports_seconds: 1.0,
            render_seconds: 1.0,
        }
    }

    fn p50(cell: &Cell) -> f64 {
        cell.roundtrip.value_at_quantile(0.5) as f64
    }

    #[test]
    fn shares_add_the_results_back_to_the_payloads_own_round_trips() {
        let cells = vec![
            cell(PayloadKind::Site, TransportKind::Process, Some(8_000_000)),
            cell(PayloadKind::Page, TransportKind::Process, Some(2_000_000)),
            cell(PayloadKind::PageSubset, TransportKind::Process, Some(90_000)),
            cell(PayloadKind::PageSubset, TransportKind::Thread, Some(2_000)),
        ];
        let o = outcome(cells, Some(5_000_000));
        let t = Thresholds::default();
        let rows = rows(&o, PAGES, t);
        // Threads are the zero-copy baseline: not judged.
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.transport == TransportKind::Process));
        let render_total = o.render_hist.value_at_quantile(0.5) as f64 * PAGES as f64;
        let back = o.results_back[0].roundtrip_ns.p50 as f64 * PAGES as f64 / render_total;
        let setup = (20_000_000 + 5_000_000) as f64 * WORKERS as f64 / render_total;
        for (row, cell) in rows.iter().zip(&o.cells) {
            let copies = match cell.payload {
                PayloadKind::Site => WORKERS,
                _ => PAGES,
            };
            let out = p50(cell) * copies as f64 / render_total;
            let share = row.transfer_share.unwrap();
            assert!((share - (out + back)).abs() < 1e-12, "{row:?}");
            assert_eq!(row.result_share, Some(back));
            assert!((row.setup_share.unwrap() - setup).abs() < 1e-12);
            assert_eq!(row.class, classify(share, t));
            assert_eq!(row.workers, WORKERS);
            assert_eq!(
                row.strategy,
                Strategy::of(cell.payload).describe(cell.payload, cell.transport)
            );
            assert!(row.why.contains(&format!("= {:.1}%", out * 100.0)), "{}", row.why);
        }
        // The figures chosen span the three classes.
        let classes: Vec<Class> = rows.iter().map(|r| r.class).collect();
        assert_eq!(classes, [Class::Marginal, Class::Impractical, Class::Practical]);
    }

    #[test]
    fn an_unshippable_payload_is_impractical_and_a_legacy_sub_interpreter_is_mentioned() {
        let cells = vec![
            cell(PayloadKind::Page, TransportKind::Subinterpreter, None),
            cell(
                PayloadKind::Page,
                TransportKind::SubinterpreterLegacy,
                Some(1_000_000),
            ),
        ];
        let o = outcome(cells, Some(5_000_000));
        let rows = rows(&o, PAGES, Thresholds::default());
        assert_eq!(
            rows.len(),
            1,
            "the legacy sub-interpreter is not judged on its own"
        );
        let row = &rows[0];
        assert_eq!(row.class, Class::Impractical);
        assert_eq!(row.transfer_share, None);
        let legacy =
            p50(&o.cells[1]) * PAGES as f64 / (o.render_hist.value_at_quantile(0.5) as f64 * PAGES as f64);
        assert_eq!(
            row.why,
            format!(
                "page cannot go; a legacy-config sub-interpreter can take it ({:.1}% of render time) but shares the main GIL: isolation, not parallelism",
                legacy * 100.0
            )
        );
    }

    #[test]
    fn without_a_render_cost_rows_are_unclassified() {
        let o = outcome(
            vec![cell(PayloadKind::PageSubset, TransportKind::Fork, Some(40_000))],
            None,
        );
        let rows = rows(&o, PAGES, Thresholds::default());
        assert_eq!(rows[0].class, Class::Unknown);
        assert_eq!(rows[0].transfer_share, None);
        assert_eq!(
            rows[0].why,
            format!(
                "{} round trip p50, but no render cost to compare with (no renderer)",
                nanos(o.cells[0].roundtrip.value_at_quantile(0.5))
            )
        );
        assert_eq!(
            after_repairs(PayloadKind::Site, 1_000, &o, PAGES, Thresholds::default()),
            None
        );
    }

    #[test]
    fn after_repairs_shares_like_the_strategy_of_its_payload() {
        let o = outcome(Vec::new(), Some(2_000_000));
        let render_total = o.render_hist.value_at_quantile(0.5) as f64 * PAGES as f64;
        let t = Thresholds::default();
        let (share, class) = after_repairs(PayloadKind::Site, 3_000_000, &o, PAGES, t).unwrap();
        assert_eq!(share, 3_000_000.0 * WORKERS as f64 / render_total);
        assert_eq!(class, classify(share, t));
        let (share, _) = after_repairs(PayloadKind::Page, 3_000_000, &o, PAGES, t).unwrap();
        assert_eq!(share, 3_000_000.0 * PAGES as f64 / render_total);
        assert_eq!(after_repairs(PayloadKind::Page, 0, &o, PAGES, t), None);
    }

    #[test]
    fn strategies_of_payloads() {
        assert_eq!(Strategy::of(PayloadKind::SiteExtra), Strategy::SitePerWorker);
        assert_eq!(Strategy::of(PayloadKind::PageGenerator), Strategy::EachPayload);
        assert_eq!(
            Strategy::SitePerWorker.describe(PayloadKind::SiteExtra, TransportKind::Process),
            "ship the site_extra object once per worker"
        );
        assert_eq!(
            Strategy::EachPayload.describe(PayloadKind::PageSubset, TransportKind::Fork),
            "fork workers: each page_subset shared, handed over by index"
        );
    }

    #[test]
    fn thresholds_are_inclusive_upper_bounds() {
        let t = Thresholds::default();
        assert_eq!(classify(t.practical, t), Class::Practical);
        assert_eq!(classify(t.marginal, t), Class::Marginal);
        let custom = Thresholds {
            practical: 0.5,
            marginal: 1.0,
        };
        assert_eq!(classify(0.3, custom), Class::Practical);
        assert_eq!(classify(0.7, custom), Class::Marginal);
        assert_eq!(classify(1.01, custom), Class::Impractical);
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

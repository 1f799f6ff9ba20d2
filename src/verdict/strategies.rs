//! Which way of handing pages to workers is worth it: transfer cost as a share of the render
//! cost of the whole site, per strategy, payload and copying transport.
use crate::model::transport::{EntryReadiness, SiteData, SiteDataWay, VerdictRow};
use crate::model::{PayloadKind, Thresholds, TransportKind, VerdictClass as Class};
use crate::transport::{Cell, Outcome};
use crate::units::nanos;
use crate::verdict::totals::{self, Part};

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
            PayloadKind::Site | PayloadKind::SiteExtra | PayloadKind::SiteRead => Strategy::SitePerWorker,
            PayloadKind::Page => Strategy::EachPage,
            _ => Strategy::EachPayload,
        }
    }

    pub fn describe(self, payload: PayloadKind, transport: TransportKind) -> String {
        if transport == TransportKind::Fork {
            return match self {
                Strategy::SitePerWorker => format!(
                    "fork workers after loading: the {} shared copy-on-write",
                    match payload {
                        PayloadKind::SiteExtra => "site_extra object",
                        PayloadKind::SiteRead => "site_read part",
                        _ => "Site",
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
            Strategy::SitePerWorker if payload == PayloadKind::SiteRead => {
                "ship the site_read part (what renders read from the site) once per worker".into()
            }
            Strategy::SitePerWorker => "ship the full Site once per worker".into(),
            Strategy::EachPage => "ship each full Page".into(),
            Strategy::EachPayload => format!("ship each {payload} payload"),
        }
    }
}

/// How many times the site pays one transfer of a strategy: once per worker for a whole-Site
/// copy, once per page otherwise.
pub fn copies(strategy: Strategy, pages: usize, workers: usize) -> f64 {
    match strategy {
        Strategy::SitePerWorker => workers as f64,
        Strategy::EachPage | Strategy::EachPayload => pages as f64,
    }
}

/// The render samples the totals rest on: each rendered page's own time where the probe kept
/// them, else the histogram's.
fn render_samples(outcome: &Outcome) -> Vec<u64> {
    if outcome.render.render_ns.is_empty() {
        totals::samples_of(&outcome.render_hist)
    } else {
        outcome.render.render_ns.clone()
    }
}

/// The render cost of all `pages` pages: the rendered pages' mean x pages (ns), where a render
/// cost was measured.
pub fn render_total(outcome: &Outcome, pages: usize) -> Option<f64> {
    let samples = render_samples(outcome);
    (outcome.render.available && !samples.is_empty()).then(|| totals::mean(&samples) * pages as f64)
}

/// Transfer share (of totals) and class of a payload whose round trips after repairs are
/// `roundtrip_ns` (measured in this process), where a render cost was measured: at best
/// `marginal`, since no real run checks what the repaired payload would do.
pub fn after_repairs(
    payload: PayloadKind,
    roundtrip_ns: &[u64],
    outcome: &Outcome,
    pages: usize,
    thresholds: Thresholds,
) -> Option<(f64, Class)> {
    if !outcome.render.available {
        return None;
    }
    let render = render_samples(outcome);
    let times = copies(Strategy::of(payload), pages, outcome.workers);
    let (share, _) = totals::share_with_interval(
        &[Part {
            samples: roundtrip_ns,
            times,
        }],
        &Part {
            samples: &render,
            times: pages as f64,
        },
    )?;
    // A what-if no real run checked is never practical.
    let class = super::check::worse(classify(share, thresholds), Class::Marginal);
    Some((share, class))
}

/// One row per copying transport and payload: transfer cost for the whole site as a share of
/// its render cost, classified by the thresholds.
/// `load_ns`: how long loading the site took in this run (what a worker that loads it itself
/// pays).
pub fn rows(
    outcome: &Outcome,
    pages: usize,
    load_ns: Option<u64>,
    thresholds: Thresholds,
) -> Vec<VerdictRow> {
    let render = render_samples(outcome);
    let site = Judged {
        outcome,
        pages,
        load_ns,
        workers: outcome.workers,
        render_total: totals::mean(&render) * pages as f64,
        render,
        thresholds,
        renderer_refused: renderer_refused(&outcome.entry_points),
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
    load_ns: Option<u64>,
    workers: usize,
    /// Render cost of the whole site: the sampled pages' mean x pages (ns).
    render_total: f64,
    /// The sampled pages' render times (ns).
    render: Vec<u64>,
    thresholds: Thresholds,
    /// Why an isolated sub-interpreter cannot import the renderer, where one refused it.
    renderer_refused: Option<String>,
}

/// The first render entry point an isolated sub-interpreter refused, in words: the module, the
/// chain of imports that reached the refusing one, and its error.
pub fn renderer_refused(entry_points: &[EntryReadiness]) -> Option<String> {
    let e = entry_points.iter().find(|e| e.isolated_ok == Some(false))?;
    let mut why = format!(
        "an isolated sub-interpreter cannot import the renderer `{}`",
        e.module
    );
    if e.chain.len() > 1 {
        why.push_str(&format!(" ({})", e.chain.join(" → ")));
    }
    if let Some(error) = &e.error {
        why.push_str(&format!(": {error}"));
    }
    Some(why)
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
            transfer_total_ns: None,
            share_interval: None,
            site_data: None,
            result_share: None,
            setup_share: None,
            class: Class::Impractical,
            why: String::new(),
            held_back: false,
            predicted_speedup: None,
            prediction: None,
            measured_speedup: None,
            measured_reason: None,
            checked_with: None,
            measured_class: None,
            predicted_check_speedup: None,
        };
        let render = &self.outcome.render;
        if !cell.available && cell.transport.pooled() && self.outcome.worker_memory.started == 0 {
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
        // A payload that does not ship stays impractical for that reason; one that ships is
        // blocked when the worker cannot render.
        let ships = cell.available && !cell.roundtrip.is_empty();
        if ships
            && cell.transport == TransportKind::Subinterpreter
            && let Some(refused) = &self.renderer_refused
        {
            row.class = Class::Blocked;
            row.why = format!(
                "{refused}, so its workers cannot render; the transfer alone: {}",
                row.why
            );
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
            let share =
                legacy.roundtrip.mean() * copies(strategy, self.pages, self.workers) / self.render_total;
            why.push_str(&format!(
                "; a legacy-config sub-interpreter can take it ({:.1}% of render time) but shares the main GIL: isolation, not parallelism",
                share * 100.0
            ));
        }
        why
    }

    /// Every page's rendered result comes back through the same transport, whatever went out:
    /// its mean round trip.
    fn result_back(&self, t: TransportKind) -> Option<f64> {
        self.outcome
            .results_back
            .iter()
            .find(|r| r.transport == t && r.available && r.roundtrip_ns.samples > 0)
            .map(|r| r.roundtrip_ns.mean)
    }

    /// The measured row: payload out plus results back as a share of the render cost (totals,
    /// with a bootstrap interval), the workers' set-up, the class, and the arithmetic spelled out.
    fn shares(&self, cell: &Cell, strategy: Strategy, row: &mut VerdictRow) {
        let (pages, workers, render_total) = (self.pages, self.workers, self.render_total);
        let out = totals::samples_of(&cell.roundtrip);
        let times = copies(strategy, pages, workers);
        let back = self.result_back(cell.transport);
        // Results back are summarized (mean) by the transports: their spread is not resampled.
        let back_sample = back.map(|b| [b.round() as u64]);
        let mut parts = vec![Part { samples: &out, times }];
        if let Some(b) = &back_sample {
            parts.push(Part {
                samples: b,
                times: pages as f64,
            });
        }
        let needs_site_data = strategy != Strategy::SitePerWorker && cell.transport != TransportKind::Fork;
        let site_data = needs_site_data.then(|| self.site_data(cell.transport)).flatten();
        if let Some((_, samples)) = &site_data {
            parts.push(Part {
                samples,
                times: workers as f64,
            });
        }
        let render = Part {
            samples: &self.render,
            times: pages as f64,
        };
        let Some((share, interval)) = totals::share_with_interval(&parts, &render) else {
            return;
        };
        let out_total = parts[0].total();
        let back_share = back_sample.map(|b| b[0] as f64 * pages as f64 / render_total);
        let setup_ns: u64 = cell.setup.as_ref().map_or(0, |s| s.total_ns());
        row.transfer_share = Some(share);
        row.transfer_total_ns = Some(parts.iter().map(Part::total).sum());
        row.share_interval = Some(interval);
        row.result_share = back_share;
        row.setup_share = Some(setup_ns as f64 / render_total);
        row.class = classify(share, self.thresholds);
        row.site_data = site_data.map(|(way, samples)| {
            let total_ns = totals::mean(&samples) * workers as f64;
            SiteData {
                way,
                total_ns,
                share: total_ns / render_total,
            }
        });
        row.why = self.arithmetic(cell, strategy, out_total, back, interval, setup_ns);
        if let Some(d) = &row.site_data {
            row.why.push_str(&format!(
                "; the site-wide data rendering needs (menus, taxonomies, configuration) comes by {}: {} for {workers} workers = {:.1}%, included",
                d.way.words(),
                nanos(d.total_ns as u64),
                d.share * 100.0
            ));
        } else if needs_site_data && row.class == Class::Practical {
            // Without a way for the worker to hold what rendering needs besides the page,
            // shipping pages alone is not a strategy a worker can run.
            row.class = Class::Marginal;
            row.why.push_str("; no measured way gives the workers the site-wide data rendering needs (the Site does not ship this way, and no load time was measured): not practical");
        }
    }

    /// The cheapest measured way for a per-page worker of `transport` to hold the site-wide
    /// data: the Site shipped once (its round trips) or the worker loading the site itself.
    fn site_data(&self, transport: TransportKind) -> Option<(SiteDataWay, Vec<u64>)> {
        let shipped = self
            .outcome
            .cells
            .iter()
            .find(|c| {
                c.transport == transport
                    && c.payload == PayloadKind::Site
                    && c.available
                    && !c.roundtrip.is_empty()
            })
            .map(|c| (SiteDataWay::SiteOncePerWorker, totals::samples_of(&c.roundtrip)));
        let loads = self
            .load_ns
            .filter(|&ns| ns > 0)
            .map(|ns| (SiteDataWay::WorkerLoadsSite, vec![ns]));
        [shipped, loads]
            .into_iter()
            .flatten()
            .min_by(|a, b| totals::mean(&a.1).total_cmp(&totals::mean(&b.1)))
    }

    /// "1.2 ms mean round trip x 40 pages = 3.1% + results back ... of the 1.6 s it takes to
    /// render 40 pages (mean 39.1 ms, p50 5.0 ms); 95% interval 2.9–3.4%; starting ..."
    fn arithmetic(
        &self,
        cell: &Cell,
        strategy: Strategy,
        out_total: f64,
        back: Option<f64>,
        interval: [f64; 2],
        setup_ns: u64,
    ) -> String {
        let (pages, workers, render_total) = (self.pages, self.workers, self.render_total);
        let count = match strategy {
            Strategy::SitePerWorker if cell.transport == TransportKind::Fork => {
                format!("{workers} workers")
            }
            Strategy::SitePerWorker => format!("{workers} copies"),
            _ => format!("{pages} pages"),
        };
        let results = match back {
            Some(b) => format!(
                " + results back {} mean x {pages} pages = {:.1}%",
                nanos(b as u64),
                b * pages as f64 / render_total * 100.0
            ),
            None => " (results back not measured)".to_string(),
        };
        format!(
            "{} mean round trip x {count} = {:.1}%{results}, of the {} it takes to render {pages} pages (mean {}, p50 {}; 95% interval of the share {:.1}–{:.1}%); starting {workers} workers costs another {:.1}% once{}",
            nanos(cell.roundtrip.mean() as u64),
            out_total / render_total * 100.0,
            nanos(render_total as u64),
            nanos(totals::mean(&self.render) as u64),
            nanos(self.outcome.render_hist.value_at_quantile(0.5)),
            interval[0] * 100.0,
            interval[1] * 100.0,
            setup_ns as f64 / render_total * 100.0,
            if cell.transport == TransportKind::Fork {
                " (fork + first touch of the shared objects)"
            } else {
                ""
            }
        )
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
            stream: None,
            stream_reason: None,
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
            stream: None,
            stream_reason: None,
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
        // Loading the site took 0.5 ms: cheaper for a per-page worker than an 8 ms Site copy.
        let load = 500_000;
        let rows = rows(&o, PAGES, Some(load), t);
        // Threads are the zero-copy baseline: not judged.
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.transport == TransportKind::Process));
        let render_total = o.render_hist.mean() * PAGES as f64;
        let back = o.results_back[0].roundtrip_ns.mean.round() * PAGES as f64 / render_total;
        let setup = (20_000_000 + 5_000_000) as f64 * WORKERS as f64 / render_total;
        for (row, cell) in rows.iter().zip(&o.cells) {
            let copies = match cell.payload {
                PayloadKind::Site => WORKERS,
                _ => PAGES,
            };
            let out = cell.roundtrip.mean() * copies as f64 / render_total;
            let share = row.transfer_share.unwrap();
            // A per-page worker also needs the site-wide data: here, loading the site itself.
            let site_data = match cell.payload {
                PayloadKind::Site => {
                    assert_eq!(row.site_data, None);
                    0.0
                }
                _ => {
                    let d = row.site_data.as_ref().unwrap();
                    assert_eq!(d.way, SiteDataWay::WorkerLoadsSite);
                    assert_eq!(d.total_ns, load as f64 * WORKERS as f64);
                    assert!(row.why.ends_with(&format!(
                        "comes by each worker loading the site itself: {} for {WORKERS} workers = {:.1}%, included",
                        nanos(d.total_ns as u64),
                        d.share * 100.0
                    )));
                    d.share
                }
            };
            assert!((share - (out + back + site_data)).abs() < 1e-12, "{row:?}");
            assert!((row.transfer_total_ns.unwrap() - share * render_total).abs() < 1e-3);
            // Every sample the same: nothing to resample, the interval is the share itself.
            let [low, high] = row.share_interval.unwrap();
            assert!(
                (low - share).abs() < 1e-12 && (high - share).abs() < 1e-12,
                "{row:?}"
            );
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
        // A slow load: the Site shipped once per worker is the cheaper way, at its own mean.
        let slow = super::rows(&o, PAGES, Some(50_000_000), t);
        let d = slow[2].site_data.as_ref().unwrap();
        assert_eq!(d.way, SiteDataWay::SiteOncePerWorker);
        assert_eq!(d.total_ns, o.cells[0].roundtrip.mean() * WORKERS as f64);
        // No way measured at all (the Site does not ship, no load time): never practical.
        let alone = outcome(
            vec![cell(
                PayloadKind::PageSubset,
                TransportKind::Process,
                Some(90_000),
            )],
            Some(5_000_000),
        );
        let row = &super::rows(&alone, PAGES, None, t)[0];
        assert!(row.transfer_share.unwrap() <= t.practical, "{row:?}");
        assert_eq!(row.class, Class::Marginal);
        assert!(row.why.ends_with("not practical"), "{}", row.why);
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
        let rows = rows(&o, PAGES, None, Thresholds::default());
        assert_eq!(
            rows.len(),
            1,
            "the legacy sub-interpreter is not judged on its own"
        );
        let row = &rows[0];
        assert_eq!(row.class, Class::Impractical);
        assert_eq!(row.transfer_share, None);
        let legacy = o.cells[1].roundtrip.mean() * PAGES as f64 / (o.render_hist.mean() * PAGES as f64);
        assert_eq!(
            row.why,
            format!(
                "page cannot go; a legacy-config sub-interpreter can take it ({:.1}% of render time) but shares the main GIL: isolation, not parallelism",
                legacy * 100.0
            )
        );
    }

    #[test]
    fn a_refused_renderer_blocks_the_isolated_sub_interpreter_rows_only() {
        let cells = vec![
            cell(
                PayloadKind::PageSubset,
                TransportKind::Subinterpreter,
                Some(2_000),
            ),
            cell(PayloadKind::PageSubset, TransportKind::Process, Some(90_000)),
        ];
        let mut o = outcome(cells, Some(5_000_000));
        let free = rows(&o, PAGES, Some(1_000_000), Thresholds::default());
        assert_eq!(free[0].class, Class::Practical, "{:?}", free[0]);
        o.entry_points = vec![EntryReadiness {
            module: "gen.rendering.pipeline".into(),
            isolated_ok: Some(false),
            chain: vec![
                "gen.rendering.pipeline".into(),
                "gen.logger".into(),
                "tracemalloc".into(),
            ],
            error: Some(
                "ImportError: module _tracemalloc does not support loading in subinterpreters".into(),
            ),
            hint: None,
            beyond: Default::default(),
        }];
        let blocked = rows(&o, PAGES, Some(1_000_000), Thresholds::default());
        assert_eq!(blocked[0].class, Class::Blocked);
        // The measured share is kept: the transfer would be cheap, the worker cannot render.
        assert_eq!(blocked[0].transfer_share, free[0].transfer_share);
        assert_eq!(
            blocked[0].why,
            format!(
                "an isolated sub-interpreter cannot import the renderer `gen.rendering.pipeline` (gen.rendering.pipeline → gen.logger → tracemalloc): ImportError: module _tracemalloc does not support loading in subinterpreters, so its workers cannot render; the transfer alone: {}",
                free[0].why
            )
        );
        // A spawned process is a whole interpreter: the same refusal does not block it.
        assert_eq!(blocked[1].class, free[1].class);
        assert_eq!(blocked[1].why, free[1].why);
        // An entry point that loads, or a Python without isolated sub-interpreters, blocks nothing.
        o.entry_points[0].isolated_ok = None;
        assert_eq!(
            rows(&o, PAGES, Some(1_000_000), Thresholds::default())[0].class,
            Class::Practical
        );
    }

    #[test]
    fn without_a_render_cost_rows_are_unclassified() {
        let o = outcome(
            vec![cell(PayloadKind::PageSubset, TransportKind::Fork, Some(40_000))],
            None,
        );
        let rows = rows(&o, PAGES, None, Thresholds::default());
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
            after_repairs(PayloadKind::Site, &[1_000], &o, PAGES, Thresholds::default()),
            None
        );
    }

    #[test]
    fn after_repairs_shares_like_the_strategy_of_its_payload() {
        let o = outcome(Vec::new(), Some(2_000_000));
        let render_total = o.render_hist.mean() * PAGES as f64;
        let t = Thresholds::default();
        // Round trips of 2 and 4 ms: the share rests on their mean, 3 ms.
        let trips = [2_000_000, 4_000_000];
        let (share, class) = after_repairs(PayloadKind::Site, &trips, &o, PAGES, t).unwrap();
        assert!((share - 3_000_000.0 * WORKERS as f64 / render_total).abs() < 1e-12);
        assert_eq!(class, classify(share, t));
        // A share the thresholds call practical stays marginal: no real run checked it.
        let cheap = [20_000, 40_000];
        let (share, class) = after_repairs(PayloadKind::Site, &cheap, &o, PAGES, t).unwrap();
        assert_eq!(classify(share, t), Class::Practical);
        assert_eq!(class, Class::Marginal);
        let (share, _) = after_repairs(PayloadKind::Page, &trips, &o, PAGES, t).unwrap();
        assert!((share - 3_000_000.0 * PAGES as f64 / render_total).abs() < 1e-12);
        assert_eq!(after_repairs(PayloadKind::Page, &[], &o, PAGES, t), None);
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
        assert_eq!(copies(Strategy::SitePerWorker, 100, 4), 4.0);
        assert_eq!(copies(Strategy::EachPage, 100, 4), 100.0);
        assert_eq!(copies(Strategy::EachPayload, 100, 4), 100.0);
    }
}

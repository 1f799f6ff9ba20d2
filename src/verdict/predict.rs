//! Predicted speed-ups: what rendering the whole site with W workers of a strategy would take,
//! from parts measured in this run, against rendering it sequentially.
//!
//! T_seq = render total (the sampled pages' mean x pages).
//! T_par = one worker's start-up + its cold start (what a fresh worker's first renders cost
//!         beyond a warm one's, measured by the real run) + its copy of the site-wide data
//!         (per-page rows)
//!       + max(the main interpreter's own work for every page,
//!             (render total + the workers' transfer work) / W)
//!       + the last page's result back.
//! The cold start is a one-time cost per worker (templates compiled, modules imported, caches
//! filled once): the real run measures it on a small sample, so scaling the whole site's
//! render by the sample's ratio would count it once per page.
//! Threads under the GIL render one at a time: W = 1 in the parallel term.
use crate::measure::PayloadResult;
use crate::model::transport::{Prediction, VerdictRow};
use crate::model::{PayloadKind, TransportKind};
use crate::transport::Outcome;
use crate::verdict::strategies::{Strategy, copies};

/// The main interpreter's and one worker's own work for one item sent one way (ns).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PerItemCost {
    pub main_ns: f64,
    pub worker_ns: f64,
}

/// Where the per-item costs come from: each transport's stream with requests in flight (the
/// main interpreter's own CPU time per item, and the worker's), measured for every cell and every
/// results-back row; where a stream did not run, the pickler's timings of the payload (dumps in
/// the main interpreter, loads in the worker) and the result's idle round trip, counted whole on
/// the main interpreter's side (an upper bound).
pub struct ItemCosts<'a> {
    pub payloads: &'a [PayloadResult],
    pub outcome: &'a Outcome,
}

impl ItemCosts<'_> {
    /// One payload object out: pickled by the main interpreter, unpickled by the worker. Without
    /// a stream, fork (an index goes) and a thread (by reference) pickle nothing.
    pub fn per_item_cost(&self, payload: PayloadKind, transport: TransportKind) -> PerItemCost {
        if let Some(stream) = crate::transport::stream_cost(self.outcome, transport, payload) {
            return PerItemCost {
                main_ns: stream.main_ns_mean(),
                worker_ns: stream.worker_ns_mean(),
            };
        }
        if matches!(transport, TransportKind::Fork | TransportKind::Thread) {
            return PerItemCost::default();
        }
        self.payloads
            .iter()
            .find(|p| p.kind == payload && !p.dumps.is_empty())
            .map_or_else(PerItemCost::default, |p| PerItemCost {
                main_ns: p.dumps.mean(),
                worker_ns: p.loads.mean(),
            })
    }

    /// One page's result back through `transport`: the worker pickles it, the main interpreter
    /// unpickles it.
    pub fn per_result_cost(&self, transport: TransportKind) -> PerItemCost {
        if let Some(stream) = crate::transport::results_back_cost(self.outcome, transport) {
            return PerItemCost {
                main_ns: stream.main_ns_mean(),
                worker_ns: stream.worker_ns_mean(),
            };
        }
        self.outcome
            .results_back
            .iter()
            .find(|r| r.transport == transport && r.available && r.roundtrip_ns.samples > 0)
            .map_or_else(PerItemCost::default, |r| PerItemCost {
                main_ns: r.roundtrip_ns.mean,
                worker_ns: 0.0,
            })
    }
}

/// Everything one row's prediction is made of.
#[derive(Debug, Clone, Copy)]
pub struct Parts {
    pub render_total_ns: f64,
    pub pages: usize,
    pub workers: usize,
    pub startup_ns: f64,
    /// Per worker.
    pub site_data_ns: f64,
    /// One payload object out, and how many go (pages, or one per worker for a whole-site copy).
    pub out: PerItemCost,
    pub out_items: f64,
    /// One page's result back.
    pub back: PerItemCost,
    /// A fresh worker's rendering over the warm baseline's, where a real run measured it.
    pub cold: Option<Cold>,
    pub serial_render: bool,
}

/// The real run's own sample: its pages and their sequential render time (ns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub pages: usize,
    pub render_ns: f64,
}

/// What a real run measured of fresh workers: their rendering over the warm baseline's on its
/// sample, and the extra time that is per worker (ns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cold {
    pub factor: f64,
    pub extra_ns: f64,
}

/// T_par from the parts, with the parts kept.
pub fn predict(p: &Parts) -> Prediction {
    let pages = p.pages as f64;
    let serial_main_ns = p.out_items * p.out.main_ns + pages * p.back.main_ns;
    let worker_ns = p.out_items * p.out.worker_ns + pages * p.back.worker_ns;
    let (cold_factor, cold_ns) = p.cold.map_or((1.0, 0.0), |c| (c.factor, c.extra_ns.max(0.0)));
    let lanes = if p.serial_render { 1 } else { p.workers.max(1) } as f64;
    let parallel = (p.render_total_ns + worker_ns) / lanes;
    let results_back_ns = p.back.main_ns + p.back.worker_ns;
    Prediction {
        workers: p.workers,
        render_total_ns: p.render_total_ns,
        startup_ns: p.startup_ns,
        site_data_ns: p.site_data_ns,
        serial_main_ns,
        worker_ns,
        cold_factor,
        cold_ns,
        cold_measured: p.cold.is_some(),
        results_back_ns,
        parallel_ns: p.startup_ns + cold_ns + p.site_data_ns + serial_main_ns.max(parallel) + results_back_ns,
        serial_render: p.serial_render,
    }
}

/// T_seq / T_par (None when either is not a positive time).
pub fn speedup(p: &Prediction) -> Option<f64> {
    (p.render_total_ns > 0.0 && p.parallel_ns > 0.0).then(|| p.render_total_ns / p.parallel_ns)
}

/// Each row's prediction, where its payload ships and a render cost was measured (never for a
/// blocked row: its worker cannot render). `cold_of(transport)`: the cold factor a real run
/// measured for that transport's strategy.
pub fn fill(
    rows: &mut [VerdictRow],
    outcome: &Outcome,
    pages: usize,
    costs: &ItemCosts<'_>,
    gil_enabled: bool,
    cold_of: impl Fn(TransportKind) -> Option<Cold>,
    sample: Option<Sample>,
) {
    let Some(render_total) = super::strategies::render_total(outcome, pages) else {
        return;
    };
    for row in rows.iter_mut() {
        if row.transfer_share.is_none() || row.class == crate::model::VerdictClass::Blocked {
            continue;
        }
        let startup = outcome
            .cells
            .iter()
            .find(|c| c.transport == row.transport && c.payload == row.payload)
            .and_then(|c| c.setup.as_ref())
            .and_then(|s| s.median_per_worker_ns())
            .unwrap_or(0);
        let parts = Parts {
            render_total_ns: render_total,
            pages,
            workers: row.workers,
            startup_ns: startup as f64,
            site_data_ns: row
                .site_data
                .as_ref()
                .map_or(0.0, |d| d.total_ns / row.workers.max(1) as f64),
            out: costs.per_item_cost(row.payload, row.transport),
            out_items: copies(Strategy::of(row.payload), pages, row.workers),
            back: costs.per_result_cost(row.transport),
            cold: cold_of(row.transport),
            serial_render: gil_enabled && row.transport == TransportKind::Thread,
        };
        let prediction = predict(&parts);
        row.predicted_speedup = speedup(&prediction);
        row.prediction = Some(prediction);
        row.predicted_check_speedup = sample.and_then(|s| {
            speedup(&predict(&Parts {
                render_total_ns: s.render_ns,
                pages: s.pages,
                out_items: copies(Strategy::of(row.payload), s.pages, row.workers),
                ..parts
            }))
        });
    }
}

/// "predicted 1.62× at W = 2 (start-up 95.0 ms a worker, cold workers not measured)": the
/// prediction in a few words for a row's `why`.
pub fn words(p: &Prediction, speedup: f64) -> String {
    let cold = if p.cold_measured {
        format!(
            "fresh workers rendered at {:.2}× the warm baseline's time in the real run: {} a worker once",
            p.cold_factor,
            crate::units::nanos(p.cold_ns as u64)
        )
    } else {
        "cold workers not measured".to_string()
    };
    let serial = if p.serial_render {
        "; threads under the GIL render one at a time, so at most 1× (free-threaded builds untested here)"
    } else {
        ""
    };
    format!(
        "predicted {speedup:.2}× at W = {} (start-up {} a worker, main interpreter {} in all, {cold}){serial}",
        p.workers,
        crate::units::nanos(p.startup_ns as u64),
        crate::units::nanos(p.serial_main_ns as u64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> Parts {
        Parts {
            render_total_ns: 1_000_000_000.0,
            pages: 100,
            workers: 4,
            startup_ns: 50_000_000.0,
            site_data_ns: 0.0,
            out: PerItemCost {
                main_ns: 100_000.0,
                worker_ns: 200_000.0,
            },
            out_items: 100.0,
            back: PerItemCost {
                main_ns: 300_000.0,
                worker_ns: 0.0,
            },
            cold: None,
            serial_render: false,
        }
    }

    #[test]
    fn the_parallel_time_adds_start_up_the_larger_of_main_and_workers_and_the_last_result() {
        let p = predict(&parts());
        // Main: 100 x 0.1 ms out + 100 x 0.3 ms back = 40 ms; workers: 100 x 0.2 ms = 20 ms.
        assert_eq!(p.serial_main_ns, 40_000_000.0);
        assert_eq!(p.worker_ns, 20_000_000.0);
        // (1 s + 20 ms) / 4 = 255 ms > 40 ms; + 50 ms start-up + 0.3 ms for the last result.
        assert_eq!(p.parallel_ns, 50_000_000.0 + 255_000_000.0 + 300_000.0);
        assert_eq!(p.cold_factor, 1.0);
        assert!(!p.cold_measured);
        let s = speedup(&p).unwrap();
        assert!((s - 1e9 / 305_300_000.0).abs() < 1e-12, "{s}");
        assert!(words(&p, s).contains("cold workers not measured"));
    }

    #[test]
    fn a_heavy_main_interpreter_caps_the_speed_up_whatever_the_workers() {
        // Skewed: the main interpreter pickles 10 ms per page out, renders are cheap.
        let mut heavy = parts();
        heavy.out.main_ns = 10_000_000.0;
        heavy.workers = 64;
        let p = predict(&heavy);
        assert_eq!(p.serial_main_ns, 100.0 * 10_000_000.0 + 100.0 * 300_000.0);
        assert_eq!(
            p.parallel_ns,
            50_000_000.0 + p.serial_main_ns + 300_000.0,
            "the serial part, not the workers, sets the time"
        );
        assert!(speedup(&p).unwrap() < 1.0);
    }

    #[test]
    fn threads_under_the_gil_never_predict_more_than_one() {
        for workers in [1, 2, 8, 64] {
            let mut t = parts();
            t.workers = workers;
            t.serial_render = true;
            t.out = PerItemCost::default();
            t.startup_ns = 0.0;
            t.back = PerItemCost::default();
            let p = predict(&t);
            assert!(p.serial_render);
            assert_eq!(p.parallel_ns, t.render_total_ns);
            assert!(speedup(&p).unwrap() <= 1.0, "{workers}");
        }
        let p = predict(&Parts {
            serial_render: true,
            ..parts()
        });
        assert!(speedup(&p).unwrap() < 1.0);
        assert!(words(&p, 0.9).contains("at most 1×"));
    }

    #[test]
    fn a_measured_cold_start_is_paid_once_per_worker_and_is_said() {
        let warm = predict(&parts());
        let cold = predict(&Parts {
            cold: Some(Cold {
                factor: 1.32,
                extra_ns: 12_000_000.0,
            }),
            ..parts()
        });
        assert!(cold.cold_measured);
        assert_eq!(cold.cold_factor, 1.32);
        // Once per worker, whatever the pages: not 32% of the whole site's render.
        assert_eq!(cold.parallel_ns - warm.parallel_ns, 12_000_000.0);
        assert!(
            words(&cold, 1.0).contains("fresh workers rendered at 1.32× the warm baseline's time in the real run: 12.00 ms a worker once"),
            "{}",
            words(&cold, 1.0)
        );
        assert_eq!(
            speedup(&Prediction {
                render_total_ns: 0.0,
                ..cold
            }),
            None
        );
    }
}

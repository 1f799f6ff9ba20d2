//! Fit the measuring work into the time budget, the way pyperf calibrates: untimed warm-up
//! rounds give each payload's costs, and the budget is shared out from them.
//!
//! Two kinds of work: *sizing* an object is one timed `dumps` (its size and a dumps sample);
//! a *latency round* is a timed dumps + loads, after which the copy must be freed. Sizing is
//! cheap to repeat over every page; latency rounds are what `--iterations` repeats.

/// Costs of one payload, from calibration.
#[derive(Debug, Clone, Copy)]
pub struct PayloadCost {
    pub objects: usize,
    /// Wall time of one dumps.
    pub dumps_seconds: f64,
    /// Wall time of one latency round, including freeing the unpickled copy.
    pub round_seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PayloadPlan {
    /// Objects whose size is measured: all, or a stratified sample.
    pub sized: usize,
    /// Of those, how many get `iterations` latency rounds (dumps + loads).
    pub timed: usize,
    pub iterations: u32,
    /// Seconds of the budget this payload may use.
    pub share_seconds: f64,
}

impl PayloadPlan {
    pub fn is_sampled(&self, objects: usize) -> bool {
        self.sized < objects
    }

    pub fn dumps_calls(&self) -> u64 {
        (self.sized.saturating_sub(self.timed) + self.timed * self.iterations as usize) as u64
    }
}

/// However tight the budget, this many objects are sized and timed.
const MIN_OBJECTS: usize = 5;
/// When not everything fits, the share of a payload's time that goes to sizing.
const SIZING_SHARE: f64 = 0.6;

fn seconds(x: f64) -> f64 {
    x.max(1e-7)
}

fn latency_target(c: &PayloadCost, sample: Option<u64>) -> usize {
    sample.map_or(c.objects, |s| (s as usize).min(c.objects))
}

/// Seconds to size every object and give the latency sample all its rounds.
pub fn need(c: &PayloadCost, iterations: u32, sample: Option<u64>) -> f64 {
    let timed = latency_target(c, sample);
    seconds(c.dumps_seconds) * (c.objects - timed) as f64
        + seconds(c.round_seconds) * (timed * iterations as usize) as f64
}

/// The epsilon keeps 99.99999 affordable items from truncating to 99.
fn affordable(time: f64, each: f64) -> usize {
    (time / each + 1e-9).max(0.0) as usize
}

pub fn plan(costs: &[PayloadCost], budget: f64, iterations: u32, sample: Option<u64>) -> Vec<PayloadPlan> {
    let iterations = iterations.max(1);
    let need: Vec<f64> = costs.iter().map(|c| need(c, iterations, sample)).collect();

    // Water-filling: cheap payloads get all they need, the rest share what is left equally.
    let mut shares = vec![0.0; costs.len()];
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| need[a].total_cmp(&need[b]));
    let mut remaining = budget.max(0.0);
    for (done, &k) in order.iter().enumerate() {
        let fair = remaining / (order.len() - done) as f64;
        shares[k] = need[k].min(fair);
        remaining -= shares[k];
    }

    costs
        .iter()
        .zip(shares)
        .zip(&need)
        .map(|((c, share), &need)| {
            let (d, r) = (seconds(c.dumps_seconds), seconds(c.round_seconds));
            let target = latency_target(c, sample);
            if need <= share + 1e-12 {
                return PayloadPlan {
                    sized: c.objects,
                    timed: target,
                    iterations,
                    share_seconds: share,
                };
            }
            // Latency rounds may take what they need up to their part; sizing gets the rest ...
            let latency_part = (r * (target * iterations as usize) as f64).min(share * (1.0 - SIZING_SHARE));
            let sized = affordable(share - latency_part, d).clamp(MIN_OBJECTS.min(c.objects), c.objects);
            let left = (share - d * sized as f64).max(0.0);
            // ... then time as many of them as the rest allows, fewer iterations before fewer objects.
            let cap = target.min(sized);
            let mut timed = affordable(left, r * iterations as f64).min(cap);
            let mut its = iterations;
            if timed < MIN_OBJECTS.min(cap) {
                timed = MIN_OBJECTS.min(cap);
                its = (affordable(left, r * timed.max(1) as f64) as u32).clamp(1, iterations);
            }
            PayloadPlan {
                sized,
                timed,
                iterations: its,
                share_seconds: share,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spent(p: &PayloadPlan, c: &PayloadCost) -> f64 {
        c.dumps_seconds * (p.sized - p.timed) as f64
            + c.round_seconds * (p.timed * p.iterations as usize) as f64
    }

    #[test]
    fn everything_fits_when_budget_is_large() {
        let costs = [
            PayloadCost {
                objects: 1,
                dumps_seconds: 0.005,
                round_seconds: 0.01,
            },
            PayloadCost {
                objects: 100,
                dumps_seconds: 0.0005,
                round_seconds: 0.001,
            },
        ];
        let plans = plan(&costs, 100.0, 10, None);
        assert_eq!(
            plans[0],
            PayloadPlan {
                sized: 1,
                timed: 1,
                iterations: 10,
                share_seconds: 0.1
            }
        );
        assert_eq!(
            (plans[1].sized, plans[1].timed, plans[1].iterations),
            (100, 100, 10)
        );
    }

    #[test]
    fn heavy_pages_are_sampled_and_the_plan_fits_the_budget() {
        // 1,100 pages that each drag a 50 MB site: 0.25 s a dumps, 0.6 s a round.
        let costs = [
            PayloadCost {
                objects: 1,
                dumps_seconds: 0.25,
                round_seconds: 0.6,
            },
            PayloadCost {
                objects: 1100,
                dumps_seconds: 0.25,
                round_seconds: 0.6,
            },
            PayloadCost {
                objects: 1100,
                dumps_seconds: 0.00005,
                round_seconds: 0.0001,
            },
        ];
        let plans = plan(&costs, 20.0, 10, None);
        let total: f64 = plans.iter().zip(&costs).map(|(p, c)| spent(p, c)).sum();
        assert!(total <= 20.0 + 1e-9, "plan spends {total}: {plans:?}");
        let page = &plans[1];
        assert!(page.is_sampled(1100));
        assert!(page.sized >= MIN_OBJECTS && page.sized < 60, "{page:?}");
        assert!(
            page.timed >= MIN_OBJECTS.min(page.sized) && page.timed <= page.sized,
            "{page:?}"
        );
        assert!(!plans[2].is_sampled(1100));
        assert_eq!((plans[2].timed, plans[2].iterations), (1100, 10));
    }

    #[test]
    fn sizing_everything_is_preferred_to_repeating_latency_rounds() {
        // Sizing all 200 pages costs 2 s, all latency rounds would cost 20 s: with 5 s, every
        // page is sized and what is left times a sample.
        let costs = [PayloadCost {
            objects: 200,
            dumps_seconds: 0.01,
            round_seconds: 0.01,
        }];
        let p = &plan(&costs, 5.0, 10, None)[0];
        assert_eq!(p.sized, 200);
        assert!(p.timed >= 5 && spent(p, &costs[0]) <= 5.0 + 1e-9, "{p:?}");
    }

    #[test]
    fn sample_limits_timed_objects() {
        let costs = [PayloadCost {
            objects: 50,
            dumps_seconds: 0.0005,
            round_seconds: 0.001,
        }];
        let p = &plan(&costs, 100.0, 5, Some(7))[0];
        assert_eq!((p.sized, p.timed, p.iterations), (50, 7, 5));
        assert_eq!(p.dumps_calls(), 43 + 35);
    }
}

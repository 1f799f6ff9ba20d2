//! Fit the measuring work into the time budget, the way pyperf calibrates: one untimed round
//! per payload gives its cost, and the budget is shared out from that.

/// Cost of one dumps+loads round (with the collection after it), from calibration.
#[derive(Debug, Clone, Copy)]
pub struct PayloadCost {
    pub objects: usize,
    pub round_seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PayloadPlan {
    /// Objects whose size is measured (each with one timed round); all, or a stratified sample.
    pub sized: usize,
    /// Of those, how many get `iterations` rounds instead of one.
    pub repeated: usize,
    pub iterations: u32,
    /// Seconds of the budget this payload may use.
    pub share_seconds: f64,
}

impl PayloadPlan {
    pub fn is_sampled(&self, objects: usize) -> bool {
        self.sized < objects
    }
}

/// The fewest objects a payload is sized on, however tight the budget.
const MIN_SIZED: usize = 5;

pub fn plan(costs: &[PayloadCost], budget: f64, iterations: u32, sample: Option<u64>) -> Vec<PayloadPlan> {
    let round = |c: &PayloadCost| c.round_seconds.max(1e-7);
    let repeat_target = |c: &PayloadCost| sample.map_or(c.objects, |s| (s as usize).min(c.objects));
    let need: Vec<f64> = costs
        .iter()
        .map(|c| round(c) * (c.objects + repeat_target(c) * (iterations as usize - 1)) as f64)
        .collect();

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
        .map(|(c, share)| {
            let r = round(c);
            let all = c.objects as f64 * r;
            if all > share {
                let sized = ((share / r + 1e-9) as usize).max(MIN_SIZED).min(c.objects);
                return PayloadPlan { sized, repeated: 0, iterations: 1, share_seconds: share };
            }
            if iterations <= 1 || c.objects == 0 {
                return PayloadPlan { sized: c.objects, repeated: 0, iterations: 1, share_seconds: share };
            }
            let spare = share - all;
            // The epsilon keeps 99.99999 affordable rounds from truncating to 99.
            let affordable = (spare / (r * (iterations - 1) as f64) + 1e-9) as usize;
            let repeated = affordable.min(repeat_target(c));
            PayloadPlan {
                sized: c.objects,
                repeated,
                iterations: if repeated == 0 { 1 } else { iterations },
                share_seconds: share,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_fits_when_budget_is_large() {
        let costs = [
            PayloadCost { objects: 1, round_seconds: 0.01 },
            PayloadCost { objects: 100, round_seconds: 0.001 },
        ];
        let plans = plan(&costs, 100.0, 10, None);
        assert_eq!(plans[0], PayloadPlan { sized: 1, repeated: 1, iterations: 10, share_seconds: 0.1 });
        assert_eq!(plans[1].sized, 100);
        assert_eq!(plans[1].repeated, 100);
        assert_eq!(plans[1].iterations, 10);
    }

    #[test]
    fn heavy_pages_are_sampled_and_the_plan_fits_the_budget() {
        // 1,100 pages that each drag a 50 MB site: 0.5 s a round.
        let costs = [
            PayloadCost { objects: 1, round_seconds: 0.5 },
            PayloadCost { objects: 1100, round_seconds: 0.5 },
            PayloadCost { objects: 1100, round_seconds: 0.0001 },
        ];
        let plans = plan(&costs, 20.0, 10, None);
        let spent: f64 = plans
            .iter()
            .zip(&costs)
            .map(|(p, c)| c.round_seconds * (p.sized + p.repeated * (p.iterations as usize - 1)) as f64)
            .sum();
        assert!(spent <= 20.0 + 1e-9, "plan spends {spent}");
        assert!(plans[1].is_sampled(1100));
        assert!(plans[1].sized >= MIN_SIZED && plans[1].sized < 40, "{:?}", plans[1]);
        assert!(!plans[2].is_sampled(1100));
        assert_eq!(plans[2].iterations, 10);
    }

    #[test]
    fn sample_limits_repeated_objects() {
        let costs = [PayloadCost { objects: 50, round_seconds: 0.001 }];
        let plans = plan(&costs, 100.0, 5, Some(7));
        assert_eq!(plans[0].sized, 50);
        assert_eq!(plans[0].repeated, 7);
    }
}

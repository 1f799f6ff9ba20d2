//! Least-squares fits of a quantity against page count, and projections with their uncertainty:
//! the out-of-sample check, the widening it implies, and where the per-page cost steps up.
use crate::model::results::{GrowthModel, Holdout, StepUp};

/// y = intercept + slope * x, fitted on the measured points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    pub intercept: f64,
    pub slope: f64,
    /// Residual standard error (n - 2 degrees of freedom); 0 for two points.
    pub residual_se: f64,
    pub r2: f64,
    n: usize,
    x_mean: f64,
    sxx: f64,
}

impl Linear {
    /// None for fewer than two points or a single x value.
    pub fn fit(points: &[(f64, f64)]) -> Option<Self> {
        let n = points.len();
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let x_mean = points.iter().map(|p| p.0).sum::<f64>() / nf;
        let y_mean = points.iter().map(|p| p.1).sum::<f64>() / nf;
        let sxx: f64 = points.iter().map(|p| (p.0 - x_mean).powi(2)).sum();
        if sxx <= 0.0 {
            return None;
        }
        let sxy: f64 = points.iter().map(|p| (p.0 - x_mean) * (p.1 - y_mean)).sum();
        let slope = sxy / sxx;
        let intercept = y_mean - slope * x_mean;
        let sse: f64 = points
            .iter()
            .map(|p| (p.1 - intercept - slope * p.0).powi(2))
            .sum();
        let syy: f64 = points.iter().map(|p| (p.1 - y_mean).powi(2)).sum();
        Some(Self {
            intercept,
            slope,
            residual_se: if n > 2 { (sse / (nf - 2.0)).sqrt() } else { 0.0 },
            r2: if syy > 0.0 { 1.0 - sse / syy } else { 1.0 },
            n,
            x_mean,
            sxx,
        })
    }

    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }

    /// The 95% prediction interval at `x` (Student's t with n - 2 degrees of freedom).
    pub fn interval(&self, x: f64) -> (f64, f64) {
        let y = self.at(x);
        if self.n <= 2 {
            return (y, y);
        }
        let se = self.residual_se * (1.0 + 1.0 / self.n as f64 + (x - self.x_mean).powi(2) / self.sxx).sqrt();
        let half = t975(self.n - 2) * se;
        (y - half, y + half)
    }
}

/// A quantity that does not grow with x (|k| < 0.2 in a log-log fit): its mean, and the 95%
/// prediction interval of one more observation.
pub fn flat(points: &[(f64, f64)]) -> Option<(f64, (f64, f64))> {
    let n = points.len();
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    let mean = points.iter().map(|p| p.1).sum::<f64>() / nf;
    if n < 2 {
        return Some((mean, (mean, mean)));
    }
    let sd = (points.iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>() / (nf - 1.0)).sqrt();
    let half = t975(n - 1) * sd * (1.0 + 1.0 / nf).sqrt();
    Some((mean, (mean - half, mean + half)))
}

/// The exponent k of y ~ x^k on the points (a log-log fit): 1 is linear growth.
pub fn exponent(points: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.0 > 0.0 && p.1 > 0.0)
        .map(|p| (p.0.ln(), p.1.ln()))
        .collect();
    Linear::fit(&logs).map(|f| f.slope)
}

/// Two-sided 95% quantile of Student's t.
fn t975(df: usize) -> f64 {
    const TABLE: [f64; 10] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    ];
    match df {
        0 => f64::INFINITY,
        1..=10 => TABLE[df - 1],
        11..=20 => 2.13,
        21..=30 => 2.05,
        _ => 1.96,
    }
}

/// A model of y against x fitted on points: a line, a power law (a line in log-log), or the
/// mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fitted {
    pub model: GrowthModel,
    line: Option<Linear>,
    flat: Option<(f64, (f64, f64))>,
}

impl Fitted {
    pub fn fit(model: GrowthModel, points: &[(f64, f64)]) -> Option<Self> {
        match model {
            GrowthModel::Linear => Linear::fit(points).map(|l| Self {
                model,
                line: Some(l),
                flat: None,
            }),
            GrowthModel::Power => {
                let logs: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|p| p.0 > 0.0 && p.1 > 0.0)
                    .map(|p| (p.0.ln(), p.1.ln()))
                    .collect();
                if logs.len() < points.len() {
                    return None;
                }
                Linear::fit(&logs).map(|l| Self {
                    model,
                    line: Some(l),
                    flat: None,
                })
            }
            GrowthModel::Flat => flat(points).map(|f| Self {
                model,
                line: None,
                flat: Some(f),
            }),
        }
    }

    /// The exponent k of a power law.
    pub fn exponent(&self) -> Option<f64> {
        (self.model == GrowthModel::Power)
            .then(|| self.line.map(|l| l.slope))
            .flatten()
    }

    pub fn at(&self, x: f64) -> f64 {
        match (self.model, self.line, self.flat) {
            (GrowthModel::Linear, Some(l), _) => l.at(x),
            (GrowthModel::Power, Some(l), _) => l.at(x.ln()).exp(),
            (_, _, Some((mean, _))) => mean,
            _ => f64::NAN,
        }
    }

    /// The fit's own 95% prediction interval at `x`.
    pub fn interval(&self, x: f64) -> (f64, f64) {
        match (self.model, self.line, self.flat) {
            (GrowthModel::Linear, Some(l), _) => l.interval(x),
            (GrowthModel::Power, Some(l), _) => {
                let (lo, hi) = l.interval(x.ln());
                (lo.exp(), hi.exp())
            }
            (_, _, Some((_, range))) => range,
            _ => (f64::NAN, f64::NAN),
        }
    }
}

/// The out-of-sample check: `model` fitted on every point but the largest (by x), and what it
/// predicts for that one. None with fewer than three points or a prediction that is not
/// positive (the model cannot describe the largest point at all).
pub fn holdout(model: GrowthModel, points: &[(f64, f64)]) -> Option<Holdout> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (&(x, y), rest) = sorted.split_last()?;
    if rest.len() < 2 || y <= 0.0 {
        return None;
    }
    let fitted_up_to = rest.last()?.0;
    if fitted_up_to >= x {
        return None;
    }
    let predicted = Fitted::fit(model, rest)?.at(x);
    (predicted > 0.0).then(|| Holdout {
        pages: x as u64,
        fitted_up_to: fitted_up_to as u64,
        predicted,
        measured: y,
        log_error: (y / predicted).ln().abs(),
    })
}

/// How many times the interval at `x` widens beyond the fit's own: the holdout's error,
/// compounded over every extrapolation step as long as the holdout's own (largest / the largest
/// point it was fitted on) between the largest copy measured and `x`. 1 within the measured range.
/// The holdout's error counts as at least 1% per step: one comparison that happens to land
/// closer cannot show a smaller error (a pickle's paths gain a digit at the 100th copy).
pub fn widening(h: &Holdout, largest: f64, x: f64) -> f64 {
    let step = (h.pages as f64 / h.fitted_up_to as f64).ln();
    if x <= largest || step <= 0.0 {
        return 1.0;
    }
    (h.log_error.max(MIN_STEP_ERROR) * (x / largest).ln() / step).exp()
}

/// ln(1.01): the smallest error per extrapolation step `widening` assumes.
pub const MIN_STEP_ERROR: f64 = 0.009_950_330_853_168_083;

/// A step up in the per-page cost (y / x): the first point whose per-page cost, and every later
/// one's, is at least `STEP_UP` times the lowest before it.
pub const STEP_UP: f64 = 1.3;

pub fn step_up(points: &[(f64, f64)]) -> Option<StepUp> {
    let mut sorted: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.0 > 0.0).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let per_page: Vec<f64> = sorted.iter().map(|p| p.1 / p.0).collect();
    (1..per_page.len()).find_map(|i| {
        let before = per_page[..i].iter().copied().fold(f64::INFINITY, f64::min);
        let up = before > 0.0 && per_page[i..].iter().all(|&c| c >= STEP_UP * before);
        up.then(|| StepUp {
            from_pages: sorted[i - 1].0 as u64,
            to_pages: sorted[i].0 as u64,
            per_page_before: before,
            per_page_after: per_page[i],
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_has_no_uncertainty() {
        let pts: Vec<(f64, f64)> = [10.0, 20.0, 40.0, 80.0]
            .iter()
            .map(|&x| (x, 100.0 + 7.0 * x))
            .collect();
        let f = Linear::fit(&pts).unwrap();
        assert!((f.slope - 7.0).abs() < 1e-9 && (f.intercept - 100.0).abs() < 1e-6);
        assert!((f.r2 - 1.0).abs() < 1e-12);
        let (lo, hi) = f.interval(10_000.0);
        assert!((lo - 70_100.0).abs() < 1e-3 && (hi - 70_100.0).abs() < 1e-3);
        assert!((exponent(&[(10.0, 70.0), (20.0, 140.0), (40.0, 280.0)]).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn noise_widens_the_interval_further_out() {
        let pts = [(10.0, 105.0), (20.0, 195.0), (40.0, 410.0), (80.0, 790.0)];
        let f = Linear::fit(&pts).unwrap();
        let (lo1, hi1) = f.interval(100.0);
        let (lo2, hi2) = f.interval(10_000.0);
        assert!(lo1 < f.at(100.0) && f.at(100.0) < hi1);
        assert!(hi2 - lo2 > hi1 - lo1);
        // quadratic growth shows as an exponent near 2
        let quad: Vec<(f64, f64)> = [10.0, 20.0, 40.0, 80.0].iter().map(|&x| (x, x * x)).collect();
        assert!((exponent(&quad).unwrap() - 2.0).abs() < 1e-9);
        assert!(Linear::fit(&[(1.0, 2.0)]).is_none());
    }

    #[test]
    fn the_holdout_predicts_the_largest_point_from_the_others() {
        // y = 2x + 10 below 400, then 3x + 10 at 800: a line through 100, 200, 400 predicts
        // 1,610 at 800 where 2,410 was measured.
        let pts = [(100.0, 210.0), (200.0, 410.0), (400.0, 810.0), (800.0, 2_410.0)];
        let h = holdout(GrowthModel::Linear, &pts).unwrap();
        assert_eq!((h.pages, h.fitted_up_to), (800, 400));
        assert!((h.predicted - 1_610.0).abs() < 1e-6, "{h:?}");
        assert_eq!(h.measured, 2_410.0);
        assert!((h.log_error - (2_410.0f64 / 1_610.0).ln()).abs() < 1e-12);
        // Power law on exact y = 3 x^1.5: predicted exactly.
        let power: Vec<(f64, f64)> = [10.0, 20.0, 40.0]
            .iter()
            .map(|&x: &f64| (x, 3.0 * x.powf(1.5)))
            .collect();
        let h = holdout(GrowthModel::Power, &power).unwrap();
        assert!(h.log_error < 1e-9 && (h.predicted - 3.0 * 40f64.powf(1.5)).abs() < 1e-6);
        assert!(
            holdout(GrowthModel::Linear, &pts[..2]).is_none(),
            "two points leave one to fit on"
        );
    }

    #[test]
    fn the_widening_compounds_the_holdout_error_over_the_extrapolation() {
        let h = Holdout {
            pages: 800,
            fitted_up_to: 400,
            predicted: 1_000.0,
            measured: 1_100.0,
            log_error: 1.1f64.ln(),
        };
        // Within the measured range: no widening.
        assert_eq!(widening(&h, 800.0, 600.0), 1.0);
        // One holdout step (x2) beyond the largest copy: the holdout's own 10%.
        assert!((widening(&h, 800.0, 1_600.0) - 1.1).abs() < 1e-12);
        // Four doublings: 1.1^4.
        assert!((widening(&h, 800.0, 12_800.0) - 1.1f64.powi(4)).abs() < 1e-12);
        // A check that landed within 1% still counts 1% a step.
        let exact = Holdout { log_error: 1e-5, ..h };
        assert!((widening(&exact, 800.0, 3_200.0) - 1.01f64.powi(2)).abs() < 1e-12);
        assert!((MIN_STEP_ERROR - 1.01f64.ln()).abs() < 1e-15);
        // A power-law fit's interval and value at x.
        let power: Vec<(f64, f64)> = [10.0, 20.0, 40.0, 80.0]
            .iter()
            .map(|&x: &f64| (x, 5.0 * x * x))
            .collect();
        let f = Fitted::fit(GrowthModel::Power, &power).unwrap();
        assert!((f.at(1_000.0) - 5e6).abs() < 1e-3 && (f.exponent().unwrap() - 2.0).abs() < 1e-12);
        let flat_fit = Fitted::fit(GrowthModel::Flat, &[(1.0, 4.0), (2.0, 6.0)]).unwrap();
        assert_eq!(flat_fit.at(1e6), 5.0);
    }

    #[test]
    fn a_step_up_is_found_where_the_per_page_cost_stays_up() {
        // Per page: 10, 9, 9, 9, then 20 and 21 from 160 pages.
        let pts = [
            (10.0, 100.0),
            (20.0, 180.0),
            (40.0, 360.0),
            (80.0, 720.0),
            (160.0, 3_200.0),
            (320.0, 6_720.0),
        ];
        let s = step_up(&pts).unwrap();
        assert_eq!((s.from_pages, s.to_pages), (80, 160));
        assert_eq!((s.per_page_before, s.per_page_after), (9.0, 20.0));
        // A one-off spike that falls back is no step.
        let spike = [(10.0, 100.0), (20.0, 400.0), (40.0, 400.0), (80.0, 800.0)];
        assert_eq!(step_up(&spike), None);
        // A line with an intercept only gets cheaper per page.
        let line: Vec<(f64, f64)> = [10.0, 20.0, 40.0, 80.0]
            .iter()
            .map(|&x| (x, 50.0 + 3.0 * x))
            .collect();
        assert_eq!(step_up(&line), None);
    }
}

//! Least-squares fits of a quantity against page count, and projections with their uncertainty.

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
}

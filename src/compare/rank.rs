//! Latency distributions read back from `.hgrm` files, and the rank test that compares two of
//! them: Mann-Whitney U (tie-corrected normal approximation) with the Hodges-Lehmann estimate of
//! the shift, as a ratio.
//!
//! An `.hgrm` file lists, at percentile ticks, the value reached and the cumulative count. The
//! samples between two ticks are put at the upper tick's value: an order-preserving coarsening
//! (each sample moves up to at most the next tick), which the rank test sees as ties.

/// Counts per value (ns), ascending by value, no zero counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    pub buckets: Vec<(u64, u64)>,
}

/// More rows than HdrHistogram's percentile output ever has (5 ticks per half distance over 64
/// halvings is ~330): a file with more is not one.
pub const MAX_ROWS: usize = 4_000;
/// More samples than a run can take (a 2^48 ns budget): larger counts are not measured ones.
const MAX_COUNT: u64 = 1 << 48;

impl Distribution {
    pub fn len(&self) -> u64 {
        self.buckets.iter().map(|&(_, c)| c).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// From `(value_ns, count)` pairs in any order (zero counts dropped, equal values merged).
    pub fn from_counts(mut pairs: Vec<(u64, u64)>) -> Self {
        pairs.retain(|&(_, c)| c > 0);
        pairs.sort_unstable();
        let mut buckets: Vec<(u64, u64)> = Vec::with_capacity(pairs.len());
        for (v, c) in pairs {
            match buckets.last_mut() {
                Some((last, n)) if *last == v => *n += c,
                _ => buckets.push((v, c)),
            }
        }
        Self { buckets }
    }

    /// Every value multiplied by `factor` (rounded, at least 1 ns): the same samples on a
    /// machine `factor` times as slow.
    pub fn scaled(&self, factor: f64) -> Self {
        Self::from_counts(
            self.buckets
                .iter()
                .map(|&(v, c)| (((v as f64 * factor).round() as u64).max(1), c))
                .collect(),
        )
    }

    /// Read HdrHistogram percentile text (values in µs, as `picklecost analyze` writes them).
    /// The text is untrusted: every malformed row is an error naming the line.
    pub fn from_hgrm(text: &str) -> Result<Self, String> {
        let mut lines = text.lines().enumerate();
        let header: Vec<&str> = lines
            .next()
            .map(|(_, l)| l.split_whitespace().collect())
            .unwrap_or_default();
        if header != ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"] {
            return Err("not HdrHistogram percentile output (no Value/Percentile header)".into());
        }
        let mut pairs = Vec::new();
        let mut previous_total = 0u64;
        let mut previous_value = 0u64;
        let mut footer_total = None;
        for (index, line) in lines {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("#[Max") {
                footer_total = rest
                    .split("Total count")
                    .nth(1)
                    .map(|c| c.trim_matches(|c: char| c == '=' || c == ']' || c.is_whitespace()))
                    .and_then(|c| c.parse::<u64>().ok());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            if pairs.len() >= MAX_ROWS {
                return Err(format!("more than {MAX_ROWS} rows"));
            }
            let cols: Vec<&str> = line.split_whitespace().collect();
            if !(cols.len() == 3 || cols.len() == 4) {
                return Err(format!("line {line_no}: expected 3 or 4 columns"));
            }
            let value: f64 = cols[0]
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0 && *v < 1e15)
                .ok_or_else(|| format!("line {line_no}: bad value {:?}", cols[0]))?;
            let quantile: f64 = cols[1]
                .parse()
                .ok()
                .filter(|q: &f64| (0.0..=1.0).contains(q))
                .ok_or_else(|| format!("line {line_no}: bad percentile {:?}", cols[1]))?;
            let _ = quantile;
            let total: u64 = cols[2]
                .parse()
                .ok()
                .filter(|t| *t <= MAX_COUNT)
                .ok_or_else(|| format!("line {line_no}: bad total count {:?}", cols[2]))?;
            // µs with three decimals: back to whole nanoseconds.
            let value_ns = (value * 1000.0).round() as u64;
            if total < previous_total || value_ns < previous_value {
                return Err(format!("line {line_no}: values or counts go down"));
            }
            pairs.push((value_ns, total - previous_total));
            previous_total = total;
            previous_value = value_ns;
        }
        if let Some(footer) = footer_total
            && footer != previous_total
        {
            return Err(format!(
                "the rows count {previous_total} samples, the footer {footer}"
            ));
        }
        Ok(Self::from_counts(pairs))
    }
}

/// What the rank test says about `after` against `before`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTest {
    /// Mann-Whitney U of `after` (how often an after-sample exceeds a before-sample, ties half).
    pub u: f64,
    /// Standard score of U, continuity-corrected (positive: after is slower).
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Hodges-Lehmann estimate of after/before: the weighted median of after_j / before_i over
    /// all pairs of samples.
    pub shift_ratio: f64,
    /// P(after > before) + P(equal)/2: 0.5 when neither is stochastically larger.
    pub probability_slower: f64,
}

/// Mann-Whitney U with midranks for ties and the tie-corrected variance; `None` when a side has
/// no samples.
pub fn mann_whitney(before: &Distribution, after: &Distribution) -> Option<RankTest> {
    let n1 = before.len() as f64;
    let n2 = after.len() as f64;
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    let n = n1 + n2;
    // Walk both bucket lists in value order; equal values form one tie group.
    let (a, b) = (&before.buckets, &after.buckets);
    let (mut i, mut j) = (0, 0);
    let mut below = 0.0f64;
    let mut rank_sum_after = 0.0f64;
    let mut tie_term = 0.0f64;
    while i < a.len() || j < b.len() {
        let value = match (a.get(i), b.get(j)) {
            (Some(&(va, _)), Some(&(vb, _))) => va.min(vb),
            (Some(&(va, _)), None) => va,
            (None, Some(&(vb, _))) => vb,
            (None, None) => unreachable!(),
        };
        let mut in_before = 0.0;
        let mut in_after = 0.0;
        if let Some(&(va, c)) = a.get(i)
            && va == value
        {
            in_before = c as f64;
            i += 1;
        }
        if let Some(&(vb, c)) = b.get(j)
            && vb == value
        {
            in_after = c as f64;
            j += 1;
        }
        let t = in_before + in_after;
        let midrank = below + (t + 1.0) / 2.0;
        rank_sum_after += in_after * midrank;
        tie_term += t * t * t - t;
        below += t;
    }
    let u = rank_sum_after - n2 * (n2 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)).max(1.0));
    let (z, p_value) = if variance <= 0.0 {
        // Every sample of both runs has the same value.
        (0.0, 1.0)
    } else {
        let d = u - mean;
        let corrected = d.signum() * (d.abs() - 0.5).max(0.0);
        let z = corrected / variance.sqrt();
        (z, erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0))
    };
    Some(RankTest {
        u,
        z,
        p_value,
        shift_ratio: hodges_lehmann_ratio(before, after),
        probability_slower: u / (n1 * n2),
    })
}

/// Weighted median of after/before over all pairs of samples (on a log scale, so a halving and a
/// doubling are the same size of change).
pub fn hodges_lehmann_ratio(before: &Distribution, after: &Distribution) -> f64 {
    let mut pairs: Vec<(f64, f64)> = Vec::with_capacity(before.buckets.len() * after.buckets.len());
    for &(va, ca) in &before.buckets {
        for &(vb, cb) in &after.buckets {
            pairs.push((
                (vb.max(1) as f64).ln() - (va.max(1) as f64).ln(),
                ca as f64 * cb as f64,
            ));
        }
    }
    if pairs.is_empty() {
        return f64::NAN;
    }
    pairs.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    let mut seen = 0.0;
    for (i, &(log_ratio, weight)) in pairs.iter().enumerate() {
        seen += weight;
        if seen * 2.0 > total {
            return log_ratio.exp();
        }
        if seen * 2.0 == total {
            // Exactly half below: the midpoint of this and the next difference.
            let next = pairs.get(i + 1).map_or(log_ratio, |p| p.0);
            return ((log_ratio + next) / 2.0).exp();
        }
    }
    pairs.last().unwrap().0.exp()
}

/// Complementary error function (Numerical Recipes `erfcc`, relative error below 1.2e-7
/// everywhere), enough for p-values.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stats::new_histogram;
    use crate::report::hgrm::percentile_distribution;

    /// A deterministic latency-like sample: log-normal around `median_ns`, from a fixed seed.
    fn lognormal(n: usize, median_ns: f64, seed: u64) -> Vec<u64> {
        let mut state = seed;
        let mut uniform = move || {
            // SplitMix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                // Box-Muller
                let (u1, u2) = (uniform().max(1e-12), uniform());
                let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                (median_ns * (0.3 * normal).exp()).round() as u64
            })
            .collect()
    }

    /// Record the samples as `analyze` does and read them back from the `.hgrm` text it writes.
    fn through_hgrm(samples: &[u64]) -> Distribution {
        let mut h = new_histogram();
        for &s in samples {
            h.record(s.max(1)).unwrap();
        }
        Distribution::from_hgrm(&percentile_distribution(&h, 1000.0)).unwrap()
    }

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122),
            (1.0, 0.157_299_207),
            (2.0, 0.004_677_735),
            (3.0, 2.209_049_7e-5),
        ] {
            assert!((erfc(x) - want).abs() / want < 1e-6, "erfc({x}) = {}", erfc(x));
        }
        assert!((erfc(-1.0) - (2.0 - 0.157_299_207)).abs() < 1e-6);
    }

    #[test]
    fn hgrm_reconstruction_keeps_every_sample_in_order() {
        let samples = lognormal(1000, 50_000.0, 7);
        let d = through_hgrm(&samples);
        assert_eq!(d.len(), 1000);
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        // Every reconstructed value is at or above a real sample and the maximum is kept
        // (within the histogram's 3 significant digits).
        assert!(d.buckets[0].0 as f64 >= sorted[0] as f64 * 0.999);
        let max = d.buckets.last().unwrap().0 as f64;
        assert!((max - *sorted.last().unwrap() as f64).abs() / max < 0.001);
        assert!(d.buckets.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn identical_distributions_are_not_significant() {
        let d = through_hgrm(&lognormal(1000, 50_000.0, 1));
        let t = mann_whitney(&d, &d).unwrap();
        assert_eq!(t.z, 0.0);
        assert!((t.p_value - 1.0).abs() < 1e-9, "{t:?}");
        assert!((t.shift_ratio - 1.0).abs() < 1e-9, "{t:?}");
        assert!((t.probability_slower - 0.5).abs() < 1e-9);
    }

    #[test]
    fn two_samples_of_one_distribution_are_not_significant() {
        let before = through_hgrm(&lognormal(1000, 50_000.0, 1));
        let after = through_hgrm(&lognormal(1000, 50_000.0, 2));
        let t = mann_whitney(&before, &after).unwrap();
        assert!(t.p_value > 0.05, "{t:?}");
        assert!((t.shift_ratio - 1.0).abs() < 0.05, "{t:?}");
    }

    #[test]
    fn shifted_by_20_percent_with_1000_samples_is_significant() {
        let before = through_hgrm(&lognormal(1000, 50_000.0, 1));
        let after = through_hgrm(&lognormal(1000, 60_000.0, 2));
        let t = mann_whitney(&before, &after).unwrap();
        assert!(t.p_value < 1e-6, "{t:?}");
        assert!(t.z > 0.0);
        assert!((t.shift_ratio - 1.2).abs() < 0.05, "{t:?}");
        // And the other way round: faster, as significant.
        let back = mann_whitney(&after, &before).unwrap();
        assert!(back.p_value < 1e-6 && back.z < 0.0);
        assert!((back.shift_ratio - 1.0 / 1.2).abs() < 0.05, "{back:?}");
    }

    #[test]
    fn scaled_moves_every_value_and_keeps_the_counts() {
        let d = Distribution::from_counts(vec![(100, 2), (200, 3), (1, 1)]);
        let s = d.scaled(1.5);
        assert_eq!(s.buckets, vec![(2, 1), (150, 2), (300, 3)]);
        assert_eq!(s.len(), d.len());
        // Dividing a machine's slowdown out of a sample taken on it gives the sample back.
        let before = through_hgrm(&lognormal(1000, 50_000.0, 1));
        let t = mann_whitney(&before, &before.scaled(2.0).scaled(0.5)).unwrap();
        assert!((t.shift_ratio - 1.0).abs() < 0.01, "{t:?}");
    }

    #[test]
    fn exact_small_case() {
        // before {1,2,3}, after {4,5,6}: U = 9 (every pair), shift = median of b/a ratios.
        let before = Distribution::from_counts(vec![(1, 1), (2, 1), (3, 1)]);
        let after = Distribution::from_counts(vec![(4, 1), (5, 1), (6, 1)]);
        let t = mann_whitney(&before, &after).unwrap();
        assert_eq!(t.u, 9.0);
        assert_eq!(t.probability_slower, 1.0);
        // Ties: all equal, p = 1.
        let same = Distribution::from_counts(vec![(7, 5)]);
        assert_eq!(mann_whitney(&same, &same).unwrap().p_value, 1.0);
        assert!(mann_whitney(&Distribution::default(), &same).is_none());
    }

    #[test]
    fn malformed_hgrm_is_an_error_not_a_panic() {
        let header = "       Value     Percentile TotalCount 1/(1-Percentile)\n\n";
        for body in [
            "",
            "garbage\n",
            &format!("{header}1.0 0.5\n"),
            &format!("{header}nan 0.5 3 2.0\n"),
            &format!("{header}-1.0 0.5 3 2.0\n"),
            &format!("{header}2.0 0.5 3 2.0\n1.0 1.0 4\n"),
            &format!("{header}1.0 0.5 3 2.0\n2.0 1.0 2\n"),
            &format!("{header}1.0 7 3 2.0\n"),
            &format!("{header}1.0 0.5 99999999999999999999 2.0\n"),
            &format!("{header}1.0 1.0 3\n#[Max     =        1.000, Total count    =            4]\n"),
        ] {
            assert!(Distribution::from_hgrm(body).is_err(), "{body:?}");
        }
        let ok = Distribution::from_hgrm(&format!("{header}1.0 0.5 3 2.0\n2.5 1.0 4\n")).unwrap();
        assert_eq!(ok.buckets, vec![(1000, 3), (2500, 1)]);
        // An empty histogram as analyze writes it: header and footer only.
        let empty = percentile_distribution(&new_histogram(), 1000.0);
        assert!(Distribution::from_hgrm(&empty).unwrap().is_empty());
    }
}

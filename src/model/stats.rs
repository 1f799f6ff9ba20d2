//! Summaries of what was measured: latency histograms (ns) and exact byte statistics.
use hdrhistogram::Histogram;
use serde::Serialize;

/// Nanosecond histogram: 1 ns to 1 hour at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("static histogram bounds are valid")
}

#[derive(Serialize, Debug, Clone, Default)]
pub struct LatencySummary {
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
    pub stdev: f64,
    pub samples: u64,
}

impl LatencySummary {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            min: h.min(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
            mean: h.mean(),
            stdev: h.stdev(),
            samples: h.len(),
        }
    }
}

#[derive(Serialize, Debug, Clone, Default, PartialEq)]
pub struct ByteStats {
    pub min: u64,
    pub median: u64,
    pub p90: u64,
    pub max: u64,
    pub total: u64,
}

impl ByteStats {
    /// Exact order statistics (nearest rank) of every measured size.
    pub fn of(sizes: &[u64]) -> Option<Self> {
        if sizes.is_empty() {
            return None;
        }
        let mut sorted = sizes.to_vec();
        sorted.sort_unstable();
        Some(Self {
            min: sorted[0],
            median: nearest_rank(&sorted, 0.5),
            p90: nearest_rank(&sorted, 0.9),
            max: *sorted.last().unwrap(),
            total: sorted.iter().sum(),
        })
    }
}

/// The value at quantile `q` of `sorted` (ascending, non-empty) by nearest rank: the smallest
/// value with at least `q` of the sample at or below it. Always a measured value, never an
/// average of two; the median of [1, 2, 3, 100] is 2.
pub fn nearest_rank(sorted: &[u64], q: f64) -> u64 {
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_stats_are_exact_nearest_rank() {
        let stats = ByteStats::of(&[5, 1, 4, 2, 3, 10, 9, 8, 7, 6]).unwrap();
        assert_eq!(
            stats,
            ByteStats {
                min: 1,
                median: 5,
                p90: 9,
                max: 10,
                total: 55
            }
        );
        assert_eq!(ByteStats::of(&[]), None);
        assert_eq!(ByteStats::of(&[7]).unwrap().median, 7);
    }

    #[test]
    fn nearest_rank_picks_a_measured_value() {
        assert_eq!(nearest_rank(&[1, 2, 3, 100], 0.5), 2);
        assert_eq!(nearest_rank(&[1, 2, 3, 100], 0.75), 3);
        assert_eq!(nearest_rank(&[1, 2, 3, 100], 0.76), 100);
        assert_eq!(nearest_rank(&[1, 2, 3, 100], 0.0), 1);
        assert_eq!(nearest_rank(&[1, 2, 3, 100], 1.0), 100);
        assert_eq!(nearest_rank(&[42], 0.99), 42);
        assert_eq!(ByteStats::of(&[100, 3, 2, 1]).unwrap().median, 2);
    }

    #[test]
    fn latency_summary_reads_histogram() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let s = LatencySummary::of(&h);
        assert_eq!(s.samples, 1000);
        assert_eq!(s.min, 1000);
        assert!((s.p50 as f64 - 500_000.0).abs() / 500_000.0 < 0.001, "{}", s.p50);
        assert!((s.p99 as f64 - 990_000.0).abs() / 990_000.0 < 0.001, "{}", s.p99);
        assert!((s.max as f64 - 1_000_000.0).abs() / 1_000_000.0 < 0.001);
        assert_eq!(LatencySummary::of(&new_histogram()).samples, 0);
    }
}

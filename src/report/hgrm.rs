//! HdrHistogram percentile distribution text, as Java's outputPercentileDistribution writes it
//! and the public HdrHistogram plotter reads it; values in microseconds.
use super::{Exporter, ReportFile, Run};
use anyhow::Result;
use hdrhistogram::Histogram;
use std::fmt::Write;
use std::path::Path;

pub struct Hgrm;

const TICKS_PER_HALF_DISTANCE: u32 = 5;
const NS_PER_US: f64 = 1000.0;

impl Exporter for Hgrm {
    fn export(&self, run: &Run) -> Result<Vec<ReportFile>> {
        let mut files = Vec::new();
        for payload in run.payloads {
            for (op, hist) in [
                ("dumps", &payload.dumps),
                ("loads", &payload.loads),
                ("roundtrip", &payload.roundtrip),
                ("reference", &payload.reference),
            ] {
                if op == "reference" && hist.is_empty() {
                    continue;
                }
                let path = Path::new("histograms").join(format!("{}-{op}.hgrm", payload.kind.name()));
                files.push(ReportFile::new(path, percentile_distribution(hist, NS_PER_US)));
            }
        }
        Ok(files)
    }
}

pub fn percentile_distribution(h: &Histogram<u64>, scale: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !h.is_empty() {
        for v in h.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
            let q = v.quantile_iterated_to();
            let value = h.highest_equivalent(v.value_iterated_to()) as f64 / scale;
            let total = h.count_between(0, v.value_iterated_to());
            if q < 1.0 {
                let _ = writeln!(out, "{value:12.3} {q:2.12} {total:10} {:14.2}", 1.0 / (1.0 - q));
            } else {
                let _ = writeln!(out, "{value:12.3} {q:2.12} {total:10}");
            }
        }
    }
    let mean = if h.is_empty() { 0.0 } else { h.mean() / scale };
    let stdev = if h.is_empty() { 0.0 } else { h.stdev() / scale };
    let max = if h.is_empty() {
        0.0
    } else {
        h.highest_equivalent(h.max()) as f64 / scale
    };
    let _ = writeln!(out, "#[Mean    = {mean:12.3}, StdDeviation   = {stdev:12.3}]");
    let _ = writeln!(out, "#[Max     = {max:12.3}, Total count    = {:12}]", h.len());
    let sub_buckets = 2u64.pow((2.0 * 10f64.powi(h.sigfig() as i32)).log2().ceil() as u32);
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        sub_buckets
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_plotters_format() {
        let mut h = crate::model::stats::new_histogram();
        for v in 1..=100u64 {
            h.record(v * 1000).unwrap();
        }
        let text = percentile_distribution(&h, 1000.0);
        let mut lines = text.lines();
        let header: Vec<_> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]);
        let rows: Vec<Vec<f64>> = text
            .lines()
            .skip(2)
            .take_while(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
            .collect();
        assert!(rows.len() > 10);
        assert_eq!(rows[0][0], 1.0);
        let last = rows.last().unwrap();
        assert_eq!(last[1], 1.0);
        assert_eq!(last[2], 100.0);
        assert!((last[0] - 100.0).abs() < 0.1);
        for pair in rows.windows(2) {
            assert!(pair[1][1] >= pair[0][1] && pair[1][2] >= pair[0][2]);
        }
        assert!(text.contains("#[Mean    =       50.50"), "{text}");
        assert!(text.contains("Total count    =          100]"));
    }
}

//! Latency by percentile: one line per payload (or per transport), log–log.
use super::*;
use crate::model::stats::LatencySummary;
use crate::units as format;

/// Number of "nines" shown on the percentile axis (4 => up to 99.99%).
const MAX_NINES: f64 = 4.0;
const PCT_STEPS: usize = 400;

/// Label of a point on the percentile axis, x = log10(1 / (1 - p)): "0%", "90%", "99.9%".
fn pct_label(x: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    let decimals = (x.round() as i64 - 2).clamp(0, 6) as usize;
    format!("{}%", format::trimmed(p, decimals))
}

/// Latency percentile chart: x = percentile on a log "1/(1-p)" scale (labels 0%, 90%, 99%,
/// 99.9%, 99.99%), y = round-trip latency (log scale, µs/ms labels); one line per payload
/// (empty histograms skipped); legend. `title` is the chart title.
pub fn latency_percentiles(payloads: &[ChartPayload], title: &str) -> Result<String> {
    // (palette index, legend label, points (x, log10 ns))
    type Series = (usize, String, Vec<(f64, f64)>);
    let series: Vec<Series> = payloads
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.roundtrip.is_empty())
        .map(|(i, p)| {
            let h = p.roundtrip;
            let pts = (0..=PCT_STEPS)
                .map(|s| {
                    let x = MAX_NINES * s as f64 / PCT_STEPS as f64;
                    let q = 1.0 - 10f64.powf(-x);
                    let v = if s == 0 { h.min() } else { h.value_at_quantile(q) };
                    (x, (v.max(1) as f64).log10())
                })
                .collect();
            let summary = LatencySummary::of(h);
            let label = format!(
                "{}  (n={}, p50 {}, p99 {}, max {})",
                clean(p.name),
                format::thousands(summary.samples),
                format::nanos_sig(summary.p50 as f64),
                format::nanos_sig(summary.p99 as f64),
                format::nanos_sig(summary.max as f64),
            );
            (i, label, pts)
        })
        .collect();

    let (ylo, yhi) = series
        .iter()
        .flat_map(|(_, _, pts)| pts.iter().map(|p| p.1))
        .fold(None, |acc: Option<(f64, f64)>, y| match acc {
            None => Some((y, y)),
            Some((a, b)) => Some((a.min(y), b.max(y))),
        })
        .map(|(a, b)| (10f64.powf(a), 10f64.powf(b)))
        .unwrap_or((1e3, 1e6));
    let mut yaxis = LogAxis::covering(ylo, yhi, 8);
    if !series.is_empty() {
        // Leave empty space at the top for the legend (upper left) so it does not hide
        // the slowest line. Plot height is ~390 px; a legend row is ~22 px.
        let frac = ((series.len() as f64 * 22.0 + 40.0) / 390.0).min(0.55);
        let top = yaxis.lo + (yaxis.hi - yaxis.lo) / (1.0 - frac);
        yaxis = LogAxis::exact(10f64.powf(yaxis.lo), snap_up_125(10f64.powf(top)), 8);
    }

    let subtitle = if series.is_empty() {
        "round-trip (dumps + loads) latency by percentile".to_string()
    } else {
        format!(
            "round-trip (dumps + loads) latency by percentile · {} payload{} · log–log",
            series.len(),
            if series.len() == 1 { "" } else { "s" }
        )
    };

    render((WIDTH, HEIGHT), |root| {
        let body = header(root, title, &subtitle)?;
        let x_minor: Vec<f64> = (0..MAX_NINES as i32)
            .flat_map(|k| [k as f64 + 2f64.log10(), k as f64 + 5f64.log10()])
            .collect();
        let x_major: Vec<f64> = (0..=MAX_NINES as i32).map(|k| k as f64).collect();
        let y_step = yaxis.linear_step;
        let mut chart = ChartBuilder::on(&body)
            .margin_left(15)
            .margin_right(35)
            .margin_bottom(10)
            .margin_top(10)
            .x_label_area_size(60)
            .y_label_area_size(95)
            .build_cartesian_2d(
                Ticked::new(0.0..MAX_NINES, x_major, x_minor),
                Ticked::new(yaxis.lo..yaxis.hi, yaxis.major.clone(), yaxis.minor.clone()),
            )?;
        chart
            .configure_mesh()
            .bold_line_style(GRID_MAJOR)
            .light_line_style(GRID_MINOR)
            .axis_style(AXIS)
            .label_style(font(LABEL_SIZE, TEXT))
            .axis_desc_style(font(DESC_SIZE, TEXT))
            .x_desc("Percentile (log scale of 1 / (1 − p))")
            .y_desc("Round-trip latency (log scale)")
            .x_label_formatter(&|x| pct_label(*x))
            .y_label_formatter(&|y| match y_step {
                Some(step) => format::nanos_step(10f64.powf(*y), step),
                None => format::nanos_sig(10f64.powf(*y)),
            })
            .draw()?;

        if series.is_empty() {
            chart.plotting_area().draw(&Text::new(
                "No data",
                (MAX_NINES / 2.0, (yaxis.lo + yaxis.hi) / 2.0),
                no_data_style(),
            ))?;
            return Ok(());
        }

        for (i, label, pts) in &series {
            let c = color(*i);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(3)))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(4)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .margin(12)
            .legend_area_size(32)
            .background_style(WHITE.mix(0.92))
            .border_style(AXIS)
            .label_font(font(LEGEND_SIZE, TEXT))
            .draw()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::*;

    /// The legend line a payload gets: name, samples and percentiles as results.json has them.
    fn legend(name: &str, h: &Histogram<u64>) -> String {
        let s = LatencySummary::of(h);
        format!(
            "{name}  (n={}, p50 {}, p99 {}, max {})",
            format::thousands(s.samples),
            format::nanos_sig(s.p50 as f64),
            format::nanos_sig(s.p99 as f64),
            format::nanos_sig(s.max as f64)
        )
    }

    #[test]
    fn percentile_axis_labels() {
        assert_eq!(pct_label(0.0), "0%");
        assert_eq!(pct_label(1.0), "90%");
        assert_eq!(pct_label(2.0), "99%");
        assert_eq!(pct_label(3.0), "99.9%");
        assert_eq!(pct_label(4.0), "99.99%");
    }

    #[test]
    fn latency_chart_from_synthetic_data() {
        let d = sample();
        let p: Vec<_> = d.iter().map(Data::payload).collect();
        let s = svg(latency_percentiles(&p, "pickle round-trip latency").unwrap());
        assert!(has_text(&s, "pickle round-trip latency"));
        assert!(has_text(
            &s,
            "round-trip (dumps + loads) latency by percentile · 3 payloads · log–log"
        ));
        for data in &d {
            let want = legend(data.name, &data.roundtrip);
            assert!(has_text(&s, &want), "missing legend {want:?} in {:?}", texts(&s));
        }
        assert!(legend("site", &d[0].roundtrip).starts_with("site  (n=5,000, p50 "));
        for label in ["0%", "90%", "99%", "99.9%", "99.99%"] {
            assert!(has_text(&s, label), "missing percentile label {label}");
        }
        // the y axis spans 10 µs .. 100 ms: both units labelled
        let t = texts(&s);
        assert!(t.iter().any(|t| t.ends_with(" µs")) && t.iter().any(|t| t.ends_with(" ms")));
        assert!(count(&s, "<polyline") >= 3, "one line per payload");
    }

    #[test]
    fn no_payloads_say_no_data() {
        let s = svg(latency_percentiles(&[], "nothing").unwrap());
        assert!(has_text(&s, "nothing") && has_text(&s, "No data"));
        assert!(has_text(&s, "round-trip (dumps + loads) latency by percentile"));
    }

    #[test]
    fn empty_histograms_are_skipped() {
        let ghost = Data::empty("ghost");
        let d = sample();
        let mut p: Vec<_> = d.iter().map(Data::payload).collect();
        p.push(ghost.payload());
        let s = svg(latency_percentiles(&p, "t").unwrap());
        assert!(!s.contains("ghost"));
        assert!(has_text(&s, &legend("page_subset", &d[2].roundtrip)));
        assert!(s.contains("· 3 payloads ·"));
        // only empty ones
        let s = svg(latency_percentiles(&[ghost.payload()], "t").unwrap());
        assert!(has_text(&s, "No data") && !s.contains("ghost"));
    }

    #[test]
    fn single_equal_and_zero_latencies() {
        let mut one = hist();
        one.record(12_345).unwrap();
        let mut equal = hist();
        equal.record_n(50_000, 1000).unwrap();
        let mut zero = hist();
        zero.record_n(0, 10).unwrap();
        for (name, h) in [("single", &one), ("equal", &equal), ("zeros", &zero)] {
            let p = ChartPayload {
                name,
                sizes: &[],
                dumps: h,
                loads: h,
                roundtrip: h,
            };
            let s = svg(latency_percentiles(std::slice::from_ref(&p), "edge").unwrap());
            assert!(has_text(&s, &legend(name, h)), "{:?}", texts(&s));
            assert!(s.contains("· 1 payload ·"));
            assert!(s.contains("<polyline"));
        }
    }
}

//! Full vs subset: median size and median round-trip latency of every payload, side by side.
use super::*;
use crate::model::stats::{ByteStats, LatencySummary};
use crate::units as format;

/// Full-vs-subset comparison: two side-by-side horizontal bar panels, one bar per payload,
/// left = median pickled size (log x axis, human units), right = median round-trip latency
/// (log x axis, µs/ms), each bar labelled with its value, so "site vs page vs page_subset"
/// differences of 1000x are readable. Medians are the ones results.json reports.
pub fn comparison(payloads: &[ChartPayload]) -> Result<String> {
    let names: Vec<String> = payloads.iter().map(|p| clean(p.name)).collect();
    let sizes: Vec<Option<f64>> = payloads
        .iter()
        .map(|p| ByteStats::of(p.sizes).map(|s| s.median as f64))
        .collect();
    let lats: Vec<Option<f64>> = payloads
        .iter()
        .map(|p| (!p.roundtrip.is_empty()).then(|| LatencySummary::of(p.roundtrip).p50 as f64))
        .collect();
    let n = payloads.len();
    let height = (190 + 62 * n as u32).clamp(HEIGHT, 2000);

    render((WIDTH, height), |root| {
        let body = header(
            root,
            "Payload comparison: median size and round-trip latency",
            "one bar per payload · log scales · ratio to the smallest shown in parentheses",
        )?;
        let (left, right) = body.split_horizontally(WIDTH / 2);
        bar_panel(
            &left,
            "Median pickled size",
            "Pickled size (log scale)",
            &names,
            &sizes,
            &format::bytes_sig,
        )?;
        bar_panel(
            &right,
            "Median round-trip latency",
            "Round-trip latency (log scale)",
            &names,
            &lats,
            &format::nanos_sig,
        )?;
        Ok(())
    })
}

/// "value (ratio to the smallest)" for every present value; the smallest has no ratio.
fn bar_labels(values: &[Option<f64>], fmt: &dyn Fn(f64) -> String) -> Vec<Option<String>> {
    let vmin = values.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    let show_ratio = values.iter().flatten().count() > 1;
    values
        .iter()
        .map(|v| {
            v.map(|v| {
                let ratio = v / vmin;
                if show_ratio && ratio >= 1.05 {
                    format!("{} ({})", fmt(v), format::ratio_sig(ratio))
                } else {
                    fmt(v)
                }
            })
        })
        .collect()
}

/// The log x axis of a bar panel: its left end well below the smallest bar so that bar stays
/// visible, its right end leaving room for the value label after the longest bar (labels: bold
/// ~13 px, ~8 px a char).
fn value_axis(vals: &[Option<f64>], labels: &[Option<String>], plot_w: f64) -> LogAxis {
    let (vmin, vmax) = vals
        .iter()
        .flatten()
        .fold(None, |acc: Option<(f64, f64)>, &v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
        .unwrap_or((10.0, 1000.0));
    let (lmin, lmax) = (vmin.log10(), vmax.log10());
    let lo = snap_down_125(10f64.powf(lmin - (0.12 * (lmax - lmin)).max(0.5)).max(0.5));
    let llo = lo.log10();
    let mut hi_l = lmax + 0.3;
    for (v, label) in vals.iter().zip(labels) {
        if let (Some(v), Some(label)) = (v, label) {
            let label_px = 12.0 + 8.0 * label.chars().count() as f64;
            let usable = (plot_w - label_px).max(0.35 * plot_w);
            hi_l = hi_l.max(llo + (v.log10() - llo) * plot_w / usable);
        }
    }
    let hi = snap_up_125(10f64.powf(hi_l));
    LogAxis::exact(lo, hi, 5)
}

fn bar_panel(
    area: &Area<'_>,
    caption: &str,
    x_desc: &str,
    names: &[String],
    values: &[Option<f64>],
    fmt: &dyn Fn(f64) -> String,
) -> Result<()> {
    let n = names.len();
    let vals: Vec<Option<f64>> = values.iter().map(|v| v.map(|x| x.max(1.0))).collect();
    let labels = bar_labels(&vals, fmt);

    let max_name = names.iter().map(|s| s.chars().count()).max().unwrap_or(4);
    let y_area = (24 + 10 * max_name as u32).clamp(60, 200);
    let plot_w = (area.dim_in_pixel().0 as f64 - y_area as f64 - 35.0).max(100.0);

    let ax = value_axis(&vals, &labels, plot_w);
    let y_keys: Vec<f64> = (0..n).map(|i| i as f64).collect();
    // at least 3 slots tall so that one or two bars are not absurdly thick
    let pad = (3usize.saturating_sub(n)) as f64 / 2.0 + 0.5;
    let (ymin, ymax) = (-pad, (n.max(1) - 1) as f64 + pad);
    let step = ax.linear_step;

    let mut chart = ChartBuilder::on(area)
        .caption(caption, font_s(21.0, TEXT, FontStyle::Bold))
        .margin_left(10)
        .margin_right(25)
        .margin_bottom(10)
        .margin_top(5)
        .x_label_area_size(60)
        .y_label_area_size(y_area)
        .build_cartesian_2d(
            Ticked::new(ax.lo..ax.hi, ax.major.clone(), ax.minor.clone()),
            Ticked::new(ymin..ymax, y_keys, Vec::new()),
        )?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .bold_line_style(GRID_MAJOR)
        .light_line_style(GRID_MINOR)
        .axis_style(AXIS)
        .label_style(font(LABEL_SIZE, TEXT))
        .axis_desc_style(font(DESC_SIZE, TEXT))
        .x_desc(x_desc)
        .x_label_formatter(&|t| match step {
            Some(s) => {
                // linear ticks (narrow range); keep enough precision to tell them apart
                let v = 10f64.powf(*t);
                let s_str = fmt(v);
                if fmt(v + s) == s_str {
                    format!("{v:.0}")
                } else {
                    s_str
                }
            }
            None => fmt(10f64.powf(*t)),
        })
        .y_label_formatter(&|y| {
            let r = y.round();
            if r < 0.0 || r as usize >= n {
                return String::new();
            }
            names[n - 1 - r as usize].clone()
        })
        .draw()?;

    if n == 0 {
        chart.plotting_area().draw(&Text::new(
            "No data",
            ((ax.lo + ax.hi) / 2.0, 0.0),
            no_data_style(),
        ))?;
        return Ok(());
    }

    for (i, (v, label)) in vals.iter().zip(labels).enumerate() {
        let y = (n - 1 - i) as f64;
        match (v, label) {
            (Some(v), Some(label)) => {
                let lv = v.log10();
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(ax.lo, y - 0.32), (lv, y + 0.32)],
                    color(i).filled(),
                )))?;
                chart.plotting_area().draw(
                    &(EmptyElement::at((lv, y))
                        + Text::new(
                            label,
                            (7, 0),
                            anchored(
                                font_s(ANNOTATION_SIZE, TEXT, FontStyle::Bold),
                                HPos::Left,
                                VPos::Center,
                            ),
                        )),
                )?;
            }
            _ => {
                chart.plotting_area().draw(
                    &(EmptyElement::at((ax.lo, y))
                        + Text::new(
                            "no data",
                            (10, 0),
                            anchored(
                                font_s(ANNOTATION_SIZE, MUTED, FontStyle::Italic),
                                HPos::Left,
                                VPos::Center,
                            ),
                        )),
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::*;

    /// The size and latency bar labels the chart should print for `payloads`.
    fn expected_labels(payloads: &[ChartPayload]) -> Vec<String> {
        let sizes: Vec<Option<f64>> = payloads
            .iter()
            .map(|p| ByteStats::of(p.sizes).map(|s| (s.median as f64).max(1.0)))
            .collect();
        let lats: Vec<Option<f64>> = payloads
            .iter()
            .map(|p| (!p.roundtrip.is_empty()).then(|| (LatencySummary::of(p.roundtrip).p50 as f64).max(1.0)))
            .collect();
        let mut out: Vec<String> = bar_labels(&sizes, &format::bytes_sig)
            .into_iter()
            .flatten()
            .collect();
        out.extend(bar_labels(&lats, &format::nanos_sig).into_iter().flatten());
        out
    }

    #[test]
    fn bar_labels_carry_ratios_to_the_smallest() {
        let labels = bar_labels(&[Some(2e6), None, Some(1000.0), Some(1020.0)], &format::bytes_sig);
        assert_eq!(
            labels,
            vec![
                Some("2 MB (2,000×)".to_string()),
                None,
                Some("1 KB".to_string()),
                Some("1.02 KB".to_string()), // within 5% of the smallest: no ratio
            ]
        );
        assert_eq!(
            bar_labels(&[Some(5.0)], &format::bytes_sig),
            vec![Some("5 B".to_string())]
        );
    }

    #[test]
    fn comparison_chart_from_synthetic_data() {
        let d = sample();
        let p: Vec<_> = d.iter().map(Data::payload).collect();
        let s = svg(comparison(&p).unwrap());
        assert!(has_text(
            &s,
            "Payload comparison: median size and round-trip latency"
        ));
        assert!(has_text(&s, "Median pickled size") && has_text(&s, "Median round-trip latency"));
        for name in ["site", "page", "page_subset"] {
            // one y label in each panel
            assert_eq!(texts(&s).iter().filter(|t| *t == name).count(), 2, "{name}");
        }
        let labels = expected_labels(&p);
        assert_eq!(labels.len(), 6);
        for label in &labels {
            assert!(
                has_text(&s, label),
                "missing bar label {label:?} in {:?}",
                texts(&s)
            );
        }
        // site is the largest and slowest: both its bars carry a ratio
        assert!(
            labels[0].ends_with("×)") && labels[3].ends_with("×)"),
            "{labels:?}"
        );
        assert!(!labels[2].contains('×') && !labels[5].contains('×'), "{labels:?}");
    }

    #[test]
    fn size_bars_use_the_nearest_rank_median() {
        let page = Data {
            sizes: vec![1, 2, 3, 100],
            ..Data::empty("page")
        };
        let s = svg(comparison(&[page.payload()]).unwrap());
        assert!(has_text(&s, "2 B"), "{:?}", texts(&s));
        assert!(!s.contains("2.5 B"));
    }

    #[test]
    fn no_payloads_say_no_data() {
        let s = svg(comparison(&[]).unwrap());
        assert_eq!(texts(&s).iter().filter(|t| *t == "No data").count(), 2);
    }

    #[test]
    fn payload_without_data_gets_a_no_data_row() {
        let ghost = Data::empty("ghost");
        let d = sample();
        let mut p: Vec<_> = d.iter().map(Data::payload).collect();
        p.push(ghost.payload());
        let s = svg(comparison(&p).unwrap());
        assert!(has_text(&s, "ghost"));
        assert_eq!(texts(&s).iter().filter(|t| *t == "no data").count(), 2);
        for label in expected_labels(&p) {
            assert!(has_text(&s, &label), "missing bar label {label:?}");
        }
        let s = svg(comparison(&[ghost.payload()]).unwrap());
        assert_eq!(texts(&s).iter().filter(|t| *t == "no data").count(), 2);
    }

    #[test]
    fn single_equal_zero_and_extreme_values() {
        let mut one = hist();
        one.record(12_345).unwrap();
        let mut equal = hist();
        equal.record_n(50_000, 1000).unwrap();
        let mut zero = hist();
        zero.record_n(0, 10).unwrap();
        let cases = [
            ("single", vec![1234u64], one),
            ("equal", vec![777u64; 100], equal),
            ("zeros", vec![0u64; 5], zero),
            ("mixed", vec![0, 0, 1, 10, 1000, 1_000_000, u64::MAX], hist()),
        ];
        for (name, sizes, h) in &cases {
            let p = ChartPayload {
                name,
                sizes,
                dumps: h,
                loads: h,
                roundtrip: h,
            };
            let s = svg(comparison(std::slice::from_ref(&p)).unwrap());
            assert_eq!(texts(&s).iter().filter(|t| t == name).count(), 2, "{name}");
            for label in expected_labels(std::slice::from_ref(&p)) {
                assert!(
                    has_text(&s, &label),
                    "{name}: missing {label:?} in {:?}",
                    texts(&s)
                );
            }
        }
    }

    #[test]
    fn names_are_escaped() {
        let d = Data {
            name: "a<b>&\"c\"\u{1}",
            ..data("x", 3, (10.0, 100.0), (1e4, 1e5))
        };
        let s = svg(comparison(&[d.payload()]).unwrap());
        assert!(s.contains("a&lt;b&gt;&amp;&quot;c&quot;?"));
        assert!(!s.contains('\u{1}'));
        assert!(has_text(&s, "a<b>&\"c\"?"));
    }
}

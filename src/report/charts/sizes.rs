//! Size distribution of one payload: a histogram of pickled sizes with the median marked.
use super::*;
use crate::model::stats::{ByteStats, nearest_rank};
use crate::units as format;

struct Binned {
    /// (left edge, right edge, count) in axis space (log10(bytes) or bytes).
    bins: Vec<(f64, f64, u64)>,
    /// Displayed x range in axis space.
    x_range: (f64, f64),
    log: bool,
}

fn bin_sizes(sorted: &[u64]) -> Binned {
    let n = sorted.len();
    let min = sorted[0];
    let max = sorted[n - 1];
    let target = ((n as f64).sqrt().ceil() as usize).clamp(10, 40);
    let log = max as f64 / min.max(1) as f64 > 50.0;

    if log {
        let lmin = (min.max(1) as f64).log10();
        let lmax = (max.max(1) as f64).log10();
        let nb = target;
        let w = (lmax - lmin) / nb as f64;
        let mut counts = vec![0u64; nb];
        for &v in sorted {
            let t = (v.max(1) as f64).log10();
            let idx = (((t - lmin) / w).floor().max(0.0) as usize).min(nb - 1);
            counts[idx] += 1;
        }
        let bins = counts
            .iter()
            .enumerate()
            .map(|(i, &c)| (lmin + i as f64 * w, lmin + (i + 1) as f64 * w, c))
            .collect();
        let pad = (lmax - lmin) * 0.03;
        return Binned {
            bins,
            x_range: (lmin - pad, lmax + pad),
            log,
        };
    }

    let span = max - min;
    if span == 0 {
        let v = min as f64;
        let d = (v * 0.1).max(5.0);
        return Binned {
            bins: vec![(v - d / 10.0, v + d / 10.0, n as u64)],
            x_range: ((v - d).max(-d / 4.0), v + d),
            log,
        };
    }
    let (first, w, nb) = if span < target as u64 {
        // few distinct integer values: one bin per byte value, centred on it
        (min as f64 - 0.5, 1.0, span as usize + 1)
    } else {
        (min as f64, span as f64 / target as f64, target)
    };
    let mut counts = vec![0u64; nb];
    for &v in sorted {
        let idx = (((v as f64 - first) / w).floor().max(0.0) as usize).min(nb - 1);
        counts[idx] += 1;
    }
    let bins: Vec<(f64, f64, u64)> = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| (first + i as f64 * w, first + (i + 1) as f64 * w, c))
        .collect();
    let last = first + nb as f64 * w;
    let pad = (last - first) * 0.03;
    Binned {
        bins,
        x_range: (first - pad, last + pad),
        log,
    }
}

/// Size distribution of one payload: histogram of pickled sizes (x: bytes with human units
/// KB/MB, log-binned if max/min > 50, else linear bins), y: number of objects. The median
/// (nearest rank, as in results.json) is marked with a vertical line and labelled.
pub fn size_distribution(payload: &ChartPayload) -> Result<String> {
    let name = clean(payload.name);
    let title = format!("Pickled size distribution: {name}");

    let Some(stats) = ByteStats::of(payload.sizes) else {
        return no_data(&title);
    };

    let mut sorted = payload.sizes.to_vec();
    sorted.sort_unstable();
    let median = stats.median as f64;
    let binned = bin_sizes(&sorted);
    let max_count = binned.bins.iter().map(|b| b.2).max().unwrap_or(1).max(1);
    let ytop = (max_count as f64 * 1.18).max(max_count as f64 + 1.0);
    let (yticks, _) = linear_ticks(0.0, ytop, 6, 1.0);
    let (x0, x1) = binned.x_range;

    let (x_major, x_minor, x_step) = x_ticks(&binned);
    let log = binned.log;
    let to_bytes = move |t: f64| if log { 10f64.powf(t) } else { t };

    let subtitle = subtitle(&stats, &sorted, log);

    render((WIDTH, HEIGHT), |root| {
        let body = header(root, &title, &subtitle)?;
        let mut chart = ChartBuilder::on(&body)
            .margin_left(15)
            .margin_right(35)
            .margin_bottom(10)
            .margin_top(10)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(
                Ticked::new(x0..x1, x_major, x_minor),
                Ticked::new(0.0..ytop, yticks, Vec::new()),
            )?;
        chart
            .configure_mesh()
            .bold_line_style(GRID_MAJOR)
            .light_line_style(GRID_MINOR)
            .axis_style(AXIS)
            .label_style(font(LABEL_SIZE, TEXT))
            .axis_desc_style(font(DESC_SIZE, TEXT))
            .x_desc(if log {
                "Pickled size (log scale)"
            } else {
                "Pickled size"
            })
            .y_desc("Number of objects")
            .x_label_formatter(&|t| match x_step {
                Some(step) => format::bytes_step(to_bytes(*t), step),
                None => format::bytes_sig(to_bytes(*t)),
            })
            .y_label_formatter(&|y| format::thousands(y.round().max(0.0) as u64))
            .draw()?;

        let fill = color(0);
        chart.draw_series(
            binned
                .bins
                .iter()
                .filter(|b| b.2 > 0)
                .map(|&(a, b, c)| Rectangle::new([(a, 0.0), (b, c as f64)], fill.filled())),
        )?;
        // thin white separators between adjacent bars
        chart.draw_series(
            binned
                .bins
                .iter()
                .filter(|b| b.2 > 0)
                .map(|&(a, b, c)| Rectangle::new([(a, 0.0), (b, c as f64)], WHITE.stroke_width(1))),
        )?;

        // median marker
        let tm = if log { median.max(1.0).log10() } else { median };
        let line_top = max_count as f64 * 1.08;
        chart.draw_series(DashedLineSeries::new(
            vec![(tm, 0.0), (tm, line_top)],
            8,
            5,
            MEDIAN_COLOR.stroke_width(2),
        ))?;
        let right_side = (tm - x0) / (x1 - x0) > 0.65;
        let (hpos, dx) = if right_side {
            (HPos::Right, -8)
        } else {
            (HPos::Left, 8)
        };
        chart.plotting_area().draw(
            &(EmptyElement::at((tm, line_top))
                + Text::new(
                    format!("median {}", format::bytes_sig(median)),
                    (dx, 0),
                    anchored(
                        font_s(ANNOTATION_SIZE + 1.0, MEDIAN_COLOR, FontStyle::Bold),
                        hpos,
                        VPos::Center,
                    ),
                )),
        )?;
        Ok(())
    })
}

/// The chart of a payload with no sizes: axes and "No data".
fn no_data(title: &str) -> Result<String> {
    render((WIDTH, HEIGHT), |root| {
        let body = header(root, title, "no objects measured")?;
        let mut chart = ChartBuilder::on(&body)
            .margin(15)
            .margin_right(35)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .axis_style(AXIS)
            .x_labels(0)
            .y_labels(0)
            .axis_desc_style(font(DESC_SIZE, TEXT))
            .x_desc("Pickled size")
            .y_desc("Number of objects")
            .draw()?;
        chart
            .plotting_area()
            .draw(&Text::new("No data", (0.5, 0.5), no_data_style()))?;
        Ok(())
    })
}

/// x ticks in axis space (major, minor) and the linear step, if the axis is linear or narrow.
fn x_ticks(binned: &Binned) -> (Vec<f64>, Vec<f64>, Option<f64>) {
    let (x0, x1) = binned.x_range;
    if binned.log {
        let ax = LogAxis::exact(10f64.powf(x0), 10f64.powf(x1), 10);
        (ax.major, ax.minor, ax.linear_step)
    } else {
        let (t, step) = linear_ticks(x0, x1, 8, 1.0);
        let t: Vec<f64> = t.into_iter().filter(|v| *v >= 0.0).collect();
        (t, Vec::new(), Some(step))
    }
}

/// "n = 500 objects · min … · median … · p90 … · p99 … · max …", and whether log-binned.
fn subtitle(stats: &ByteStats, sorted: &[u64], log: bool) -> String {
    format!(
        "n = {} objects · min {} · median {} · p90 {} · p99 {} · max {}{}",
        format::thousands(sorted.len() as u64),
        format::bytes_sig(stats.min as f64),
        format::bytes_sig(stats.median as f64),
        format::bytes_sig(stats.p90 as f64),
        format::bytes_sig(nearest_rank(sorted, 0.99) as f64),
        format::bytes_sig(stats.max as f64),
        if log { " · log-binned" } else { "" },
    )
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::*;

    fn of(name: &'static str, sizes: Vec<u64>) -> Data {
        Data {
            sizes,
            ..Data::empty(name)
        }
    }

    /// The median label the chart prints.
    fn printed_median(s: &str) -> String {
        let labels: Vec<String> = texts(s)
            .into_iter()
            .filter(|t| t.starts_with("median "))
            .collect();
        assert_eq!(labels.len(), 1, "one median label: {labels:?}");
        labels[0].clone()
    }

    #[test]
    fn printed_median_is_the_results_json_median() {
        // Even length, where nearest rank (2) and the mean of the two middle values (2.5) differ.
        let sizes = vec![100u64, 1, 3, 2];
        let stats = ByteStats::of(&sizes).unwrap();
        assert_eq!(stats.median, 2);
        let s = svg(size_distribution(&of("page", sizes).payload()).unwrap());
        assert_eq!(
            printed_median(&s),
            format!("median {}", format::bytes_sig(stats.median as f64))
        );
        assert_eq!(printed_median(&s), "median 2 B");
        assert!(has_text(
            &s,
            "n = 4 objects · min 1 B · median 2 B · p90 100 B · p99 100 B · max 100 B · log-binned"
        ));
        assert!(!s.contains("2.5 B"));

        // and on a linear axis, with a larger even sample
        let sizes: Vec<u64> = (0..1000).map(|i| 10_000 + (i % 500) * 7).collect();
        let stats = ByteStats::of(&sizes).unwrap();
        let s = svg(size_distribution(&of("site", sizes).payload()).unwrap());
        assert!(!s.contains("log-binned"));
        assert_eq!(
            printed_median(&s),
            format!("median {}", format::bytes_sig(stats.median as f64))
        );
    }

    #[test]
    fn size_distribution_linear_and_log_binned() {
        let d = sample();
        // site sizes span 400 KB..6 MB (ratio 15 -> linear bins)
        let site = &d[0];
        let s = svg(size_distribution(&site.payload()).unwrap());
        let stats = ByteStats::of(&site.sizes).unwrap();
        assert!(has_text(&s, "Pickled size distribution: site"));
        assert!(has_text(&s, "Pickled size") && has_text(&s, "Number of objects"));
        assert!(!s.contains("log-binned"));
        assert!(texts(&s).iter().any(|t| t.starts_with(&format!(
            "n = 500 objects · min {} · median {} · p90 {} ·",
            format::bytes_sig(stats.min as f64),
            format::bytes_sig(stats.median as f64),
            format::bytes_sig(stats.p90 as f64)
        ))));
        assert_eq!(
            printed_median(&s),
            format!("median {}", format::bytes_sig(stats.median as f64))
        );
        assert!(texts(&s).iter().any(|t| t.ends_with(" MB")), "MB ticks");

        // 40 B .. 4 MB: log bins, ticks in B, KB and MB
        let wide = of("page", sizes(5, 40.0, 4_000_000.0, 2000));
        let s = svg(size_distribution(&wide.payload()).unwrap());
        assert!(has_text(&s, "Pickled size distribution: page"));
        assert!(has_text(&s, "Pickled size (log scale)"));
        assert!(s.contains(" · log-binned"));
        let t = texts(&s);
        for unit in [" B", " KB", " MB"] {
            assert!(t.iter().any(|t| t.ends_with(unit)), "no {unit} tick in {t:?}");
        }
        assert!(count(&s, "<rect") > 10, "bars drawn");
    }

    #[test]
    fn no_sizes_say_no_data() {
        let s = svg(size_distribution(&Data::empty("ghost").payload()).unwrap());
        assert!(has_text(&s, "Pickled size distribution: ghost"));
        assert!(has_text(&s, "no objects measured") && has_text(&s, "No data"));
        assert!(!s.contains("median"));
    }

    #[test]
    fn single_equal_zero_and_extreme_sizes() {
        for (name, sizes, median) in [
            ("single", vec![1234u64], "median 1.23 KB"),
            ("equal", vec![777u64; 100], "median 777 B"),
            ("zeros", vec![0u64; 5], "median 0 B"),
        ] {
            let s = svg(size_distribution(&of(name, sizes).payload()).unwrap());
            assert!(has_text(&s, &format!("Pickled size distribution: {name}")));
            assert_eq!(printed_median(&s), median);
            assert!(s.contains("<rect"));
        }

        // zero and huge sizes together: log bins with zero clamped to 1 byte
        let mixed = of("mixed", vec![0, 0, 1, 10, 1000, 1_000_000, u64::MAX]);
        let s = svg(size_distribution(&mixed.payload()).unwrap());
        assert!(s.contains("log-binned"));
        assert_eq!(printed_median(&s), "median 10 B");
        assert!(s.contains("max 18.4 EB"));

        // three close values: a narrow linear axis labelled to the byte
        let close = of("close", vec![1_000_000u64, 1_000_003, 1_000_001]);
        let s = svg(size_distribution(&close.payload()).unwrap());
        assert!(has_text(&s, "1,000,001 B"), "{:?}", texts(&s));
        assert_eq!(printed_median(&s), "median 1 MB");
    }
}

//! `picklecost scale`: speed-up against worker count per strategy (with the ideal line), and
//! where the time of each strategy goes at the largest worker count (stacked bars).
use super::*;

/// One strategy's speed-ups: (workers, speed-up) for every W that ran.
pub struct SpeedupSeries<'a> {
    pub label: &'a str,
    pub points: Vec<(u32, f64)>,
}

/// One strategy at the largest W: seconds per worker of start-up, payload out, rendering,
/// results back (means over workers), and the run's wall time.
pub struct TimeBar<'a> {
    pub label: &'a str,
    pub parts: [f64; 4],
}

pub const TIME_PARTS: [&str; 4] = ["start-up", "payload out", "rendering", "results back"];

/// Speed-up (sequential / wall) against W, one line per strategy, the ideal (speed-up = W) dashed.
pub fn scale_speedup(title: &str, series: &[SpeedupSeries], max_w: u32) -> Result<String> {
    let max_w = max_w.max(1);
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(max_w as f64, f64::max)
        * 1.1;
    render((WIDTH, HEIGHT), |root| {
        let body = header(
            root,
            title,
            "speed-up over the sequential baseline · dashed: ideal (= W)",
        )?;
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.5f64..(max_w as f64 + 0.5), 0f64..top)?;
        chart
            .configure_mesh()
            .x_labels((max_w as usize).min(16) + 1)
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 && *x >= 1.0 {
                    format!("{}", x.round() as u32)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.1}×"))
            .bold_line_style(GRID_MAJOR)
            .light_line_style(GRID_MINOR)
            .axis_style(AXIS)
            .label_style(font(LABEL_SIZE, TEXT))
            .axis_desc_style(font(DESC_SIZE, TEXT))
            .x_desc("workers (W)")
            .y_desc("speed-up")
            .draw()?;
        chart
            .draw_series(DashedLineSeries::new(
                [(1.0, 1.0), (max_w as f64, max_w as f64)],
                8,
                6,
                ShapeStyle::from(&MUTED).stroke_width(2),
            ))?
            .label("ideal")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], MUTED.stroke_width(2)));
        for (i, s) in series.iter().enumerate() {
            let c = color(i);
            let points: Vec<(f64, f64)> = s.points.iter().map(|&(w, v)| (w as f64, v)).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), c.stroke_width(3)))?
                .label(clean(s.label))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(3)));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 5, c.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(AXIS)
            .label_font(font(LEGEND_SIZE, TEXT))
            .draw()?;
        if series.is_empty() {
            body.draw(&Text::new(
                "no strategy ran",
                (WIDTH as i32 / 2, HEIGHT as i32 / 2),
                no_data_style(),
            ))?;
        }
        Ok(())
    })
}

/// Stacked bars: where each strategy's time per worker goes at the largest W.
pub fn scale_time(title: &str, bars: &[TimeBar]) -> Result<String> {
    let top = bars
        .iter()
        .map(|b| b.parts.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(1e-6)
        * 1.15;
    let n = bars.len().max(1);
    render((WIDTH, HEIGHT), |root| {
        let body = header(root, title, "seconds per worker (mean over workers), stacked")?;
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < bars.len() {
                    clean(bars[i as usize].label)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| crate::units::nanos_sig(y * 1e9))
            .bold_line_style(GRID_MAJOR)
            .light_line_style(GRID_MINOR)
            .axis_style(AXIS)
            .label_style(font(LABEL_SIZE, TEXT))
            .axis_desc_style(font(DESC_SIZE, TEXT))
            .y_desc("seconds per worker")
            .draw()?;
        for (part, name) in TIME_PARTS.iter().enumerate() {
            let c = color(part);
            chart
                .draw_series(bars.iter().enumerate().map(|(i, b)| {
                    let below: f64 = b.parts[..part].iter().sum();
                    Rectangle::new(
                        [(i as f64 - 0.3, below), (i as f64 + 0.3, below + b.parts[part])],
                        c.filled(),
                    )
                }))?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(AXIS)
            .label_font(font(LEGEND_SIZE, TEXT))
            .draw()?;
        Ok(())
    })
}

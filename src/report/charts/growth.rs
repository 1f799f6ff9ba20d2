//! Growth: a quantity against page count on log-log axes — the measured copies as filled
//! points, the fit (dashed) on to the projections, each projection an open square (a projection,
//! not a measurement) with the fit's own 95% interval (thick) and the interval the out-of-sample
//! check widened it to (thin, with caps).
use super::*;
use crate::units as format;

/// One projected point.
#[derive(Debug, Clone, Copy)]
pub struct Projected {
    pub pages: f64,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub fit_low: f64,
    pub fit_high: f64,
}

/// One series: measured (pages, value) points and the supported projections.
pub struct GrowthSeries<'a> {
    pub name: std::borrow::Cow<'a, str>,
    pub measured: Vec<(f64, f64)>,
    pub projected: Vec<Projected>,
}

/// `bytes`: whether the values are bytes (else nanoseconds).
pub fn growth(series: &[GrowthSeries], title: &str, bytes: bool) -> Result<String> {
    render((WIDTH, HEIGHT), |root| {
        let body = header(
            root,
            title,
            "measured copies (filled points), fit (dashed), projections (open squares: not measurements) with the fit's 95% interval (thick) widened by the out-of-sample check (thin)",
        )?;
        let values: Vec<f64> = series
            .iter()
            .flat_map(|s| {
                s.measured
                    .iter()
                    .map(|p| p.1)
                    .chain(s.projected.iter().flat_map(|p| [p.value, p.low, p.high]))
            })
            .filter(|v| *v > 0.0)
            .collect();
        if values.is_empty() {
            body.draw(&Text::new("No data", (40, 40), font(LABEL_SIZE, MUTED)))?;
            return Ok(());
        }
        let lo = values.iter().cloned().fold(f64::INFINITY, f64::min) / 2.0;
        let hi = values.iter().cloned().fold(0.0, f64::max) * 2.0;
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(110)
            .build_cartesian_2d((1f64..200_000f64).log_scale(), (lo..hi).log_scale())?;
        let label = move |v: &f64| {
            if bytes {
                format::bytes_sig(*v)
            } else {
                format::nanos_sig(*v)
            }
        };
        chart
            .configure_mesh()
            .x_desc("pages")
            .x_label_formatter(&|v: &f64| format::thousands(v.round() as u64))
            .y_label_formatter(&label)
            .label_style(font(LABEL_SIZE, TEXT))
            .axis_desc_style(font(DESC_SIZE, TEXT))
            .light_line_style(GRID_MINOR)
            .bold_line_style(GRID_MAJOR)
            .draw()?;
        for (i, s) in series.iter().enumerate() {
            let c = color(i);
            let measured: Vec<(f64, f64)> = s
                .measured
                .iter()
                .filter(|p| p.0 > 0.0 && p.1 > 0.0)
                .cloned()
                .collect();
            chart
                .draw_series(measured.iter().map(|&(x, y)| Circle::new((x, y), 5, c.filled())))?
                .label(s.name.as_ref())
                .legend(move |(x, y)| Circle::new((x, y), 5, c.filled()));
            let mut line: Vec<(f64, f64)> = measured.clone();
            line.extend(
                s.projected
                    .iter()
                    .filter(|p| p.value > 0.0)
                    .map(|p| (p.pages, p.value)),
            );
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart.draw_series(DashedLineSeries::new(line, 6, 4, c.stroke_width(2)))?;
            for p in &s.projected {
                projection(&mut chart, p, c)?;
            }
        }
        chart
            .configure_series_labels()
            .border_style(AXIS)
            .background_style(WHITE.mix(0.9))
            .label_font(font(LEGEND_SIZE, TEXT))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        Ok(())
    })
}

/// One projection: an open square, the fit's interval (thick), the widened one (thin, capped).
fn projection<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>,
    p: &Projected,
    c: RGBColor,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let x = p.pages;
    let bar = |lo: f64, hi: f64, width: u32| {
        (lo > 0.0 && hi > lo).then(|| PathElement::new(vec![(x, lo), (x, hi)], c.stroke_width(width)))
    };
    chart.draw_series(bar(p.low, p.high, 1))?;
    chart.draw_series(bar(p.fit_low, p.fit_high, 4))?;
    for cap in [p.low, p.high].into_iter().filter(|&v| v > 0.0) {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x / 1.08, cap), (x * 1.08, cap)],
            c.stroke_width(1),
        )))?;
    }
    if p.value > 0.0 {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x / 1.1, p.value / 1.1), (x * 1.1, p.value * 1.1)],
            ShapeStyle::from(&WHITE).filled(),
        )))?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x / 1.1, p.value / 1.1), (x * 1.1, p.value * 1.1)],
            c.stroke_width(2),
        )))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_line_and_projection_are_drawn() {
        let s = GrowthSeries {
            name: "site".into(),
            measured: vec![(10.0, 1_000.0), (20.0, 2_000.0), (40.0, 4_000.0)],
            projected: [(10_000.0, 1e6), (100_000.0, 1e7)]
                .map(|(pages, value)| Projected {
                    pages,
                    value,
                    low: value * 0.5,
                    high: value * 2.0,
                    fit_low: value * 0.9,
                    fit_high: value * 1.1,
                })
                .to_vec(),
        };
        let svg = growth(&[s], "Site size against pages", true).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("Site size against pages"));
        assert_eq!(
            svg.matches("<circle").count(),
            3 + 1,
            "three points and the legend mark"
        );
        assert!(svg.contains("10,000") && svg.contains("pages"));
        let empty = growth(&[], "nothing", false).unwrap();
        assert!(empty.contains("No data"));
    }
}

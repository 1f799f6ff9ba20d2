//! Growth: a quantity against page count on log-log axes — the measured copies as points, the
//! fitted line, and the projection to 10,000 and 100,000 pages with its 95% interval.
use super::*;
use crate::units as format;

/// One payload's series: measured (pages, value) points and projected (pages, value, low, high).
pub struct GrowthSeries<'a> {
    pub name: &'a str,
    pub measured: Vec<(f64, f64)>,
    pub projected: Vec<(f64, f64, f64, f64)>,
}

/// `bytes`: whether the values are bytes (else nanoseconds).
pub fn growth(series: &[GrowthSeries], title: &str, bytes: bool) -> Result<String> {
    render((WIDTH, HEIGHT), |root| {
        let body = header(
            root,
            title,
            "measured copies of the site (points), least-squares line, projection with 95% interval (a projection, not a measurement)",
        )?;
        let values: Vec<f64> = series
            .iter()
            .flat_map(|s| {
                s.measured
                    .iter()
                    .map(|p| p.1)
                    .chain(s.projected.iter().flat_map(|p| [p.1, p.2, p.3]))
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
                .label(s.name)
                .legend(move |(x, y)| Circle::new((x, y), 5, c.filled()));
            let mut line: Vec<(f64, f64)> = measured.clone();
            line.extend(s.projected.iter().filter(|p| p.1 > 0.0).map(|p| (p.0, p.1)));
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart.draw_series(DashedLineSeries::new(line, 6, 4, c.stroke_width(2)))?;
            for &(x, y, low, high) in &s.projected {
                if y > 0.0 {
                    chart.draw_series(std::iter::once(Cross::new((x, y), 6, c.stroke_width(2))))?;
                }
                if low > 0.0 && high > low {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x, low), (x, high)],
                        c.stroke_width(2),
                    )))?;
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_line_and_projection_are_drawn() {
        let s = GrowthSeries {
            name: "site",
            measured: vec![(10.0, 1_000.0), (20.0, 2_000.0), (40.0, 4_000.0)],
            projected: vec![(10_000.0, 1e6, 0.9e6, 1.1e6), (100_000.0, 1e7, 0.9e7, 1.1e7)],
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

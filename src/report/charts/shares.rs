//! Transfer cost as a share of render cost, per strategy and transport.
use super::*;
use crate::units as format;

const PRACTICAL: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const MARGINAL: RGBColor = RGBColor(0xff, 0x9f, 0x1c);
const IMPRACTICAL: RGBColor = RGBColor(0xd6, 0x27, 0x28);

/// Horizontal bars on a log scale of "% of render time", with the practical and marginal
/// thresholds drawn as vertical lines.
pub fn shares(rows: &[ShareRow], practical: f64, marginal: f64) -> Result<String> {
    const WIDTH: u32 = 1100;
    const ROW: u32 = 34;
    const LABEL: i32 = 430;
    let height = HEADER + 40 + (rows.len().max(1) as u32) * ROW + 50;
    let (lo, hi) = (1e-4f64, 10.0f64); // 0.01% .. 1000%
    render((WIDTH, height), |root| {
        let body = header(
            root,
            "Transfer cost as a share of render cost",
            &format!(
                "whole site, per strategy and transport · practical <= {:.0}% < marginal <= {:.0}% < impractical",
                practical * 100.0,
                marginal * 100.0
            ),
        )?;
        let (w, _) = body.dim_in_pixel();
        let x0 = LABEL + 10;
        let x1 = w as i32 - 30;
        let x_of = |f: f64| -> i32 {
            let t = (f.clamp(lo, hi).log10() - lo.log10()) / (hi.log10() - lo.log10());
            x0 + (t * (x1 - x0) as f64) as i32
        };
        let top = 20i32;
        let bottom = top + (rows.len().max(1) as u32 * ROW) as i32;
        for tick in [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0] {
            let x = x_of(tick);
            body.draw(&PathElement::new(
                vec![(x, top), (x, bottom)],
                RGBColor(0xdd, 0xdd, 0xdd).stroke_width(1),
            ))?;
            body.draw(&Text::new(
                format::percent_sig(tick),
                (x, bottom + 8),
                anchored(font(13.0, MUTED), HPos::Center, VPos::Top),
            ))?;
        }
        for (limit, c) in [(practical, PRACTICAL), (marginal, IMPRACTICAL)] {
            let x = x_of(limit);
            body.draw(&PathElement::new(
                vec![(x, top - 6), (x, bottom)],
                c.stroke_width(2),
            ))?;
        }
        if rows.is_empty() {
            body.draw(&Text::new(
                "No data",
                ((x0 + x1) / 2, (top + bottom) / 2),
                no_data_style(),
            ))?;
        }
        for (i, row) in rows.iter().enumerate() {
            let y = top + (i as u32 * ROW) as i32;
            body.draw(&Text::new(
                clean(&row.label),
                (LABEL, y + ROW as i32 / 2),
                anchored(font(14.0, TEXT), HPos::Right, VPos::Center),
            ))?;
            match row.share {
                Some(share) => {
                    let color = if share <= practical {
                        PRACTICAL
                    } else if share <= marginal {
                        MARGINAL
                    } else {
                        IMPRACTICAL
                    };
                    let end = x_of(share).max(x0 + 2);
                    body.draw(&Rectangle::new(
                        [(x0, y + 6), (end, y + ROW as i32 - 6)],
                        color.mix(0.85).filled(),
                    ))?;
                    body.draw(&Text::new(
                        format::percent(share),
                        (end + 6, y + ROW as i32 / 2),
                        anchored(font(13.0, TEXT), HPos::Left, VPos::Center),
                    ))?;
                }
                None => {
                    body.draw(&Text::new(
                        "not shippable",
                        (x0 + 6, y + ROW as i32 / 2),
                        anchored(
                            font_s(13.0, IMPRACTICAL, FontStyle::Italic),
                            HPos::Left,
                            VPos::Center,
                        ),
                    ))?;
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::*;

    fn row(label: &str, share: Option<f64>) -> ShareRow {
        ShareRow {
            label: label.to_string(),
            share,
        }
    }

    #[test]
    fn rows_show_their_share_and_class_colour() {
        let rows = [
            row("full site via pipe", Some(0.0123)),
            row("page subset via shm", Some(0.0004)),
            row("full site via fork", Some(0.2)),
            row("page via fork", Some(0.1)),
            row("lazy via pipe", None),
        ];
        let s = svg(shares(&rows, 0.05, 0.15).unwrap());
        assert!(has_text(&s, "Transfer cost as a share of render cost"));
        assert!(has_text(
            &s,
            "whole site, per strategy and transport · practical <= 5% < marginal <= 15% < impractical"
        ));
        for (label, value) in [
            ("full site via pipe", "1.23%"),
            ("page subset via shm", "0.04%"),
            ("full site via fork", "20.00%"),
            ("page via fork", "10.00%"),
        ] {
            assert!(has_text(&s, label) && has_text(&s, value), "{label} {value}");
        }
        assert!(has_text(&s, "lazy via pipe") && has_text(&s, "not shippable"));
        for tick in ["0.01%", "0.1%", "1%", "10%", "100%", "1000%"] {
            assert!(has_text(&s, tick), "missing tick {tick} in {:?}", texts(&s));
        }
        // bars in the practical (two), marginal (one) and impractical (one) colours
        assert_eq!(rects_filled(&s, "#2CA02C"), 2, "practical bars");
        assert_eq!(rects_filled(&s, "#D62728"), 1, "impractical bar");
        assert_eq!(rects_filled(&s, "#FF9F1C"), 1, "marginal bar");
    }

    #[test]
    fn no_rows_say_no_data() {
        let s = svg(shares(&[], 0.05, 0.15).unwrap());
        assert!(has_text(&s, "No data"));
    }
}

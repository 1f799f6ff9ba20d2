//! SVG charts of what was measured: each chart turns data into an SVG document (a `String`);
//! writing it somewhere is the caller's business (`report::svg`).
//!
//! One file per chart; this module holds what they share: the input types, colours, fonts, the
//! title band and the axis machinery. Every number a chart prints is formatted by
//! `crate::units`, and every size statistic comes from `crate::model::stats`, so a
//! chart says what the terminal and results.json say.
//!
//! Without plotters' `ttf` feature text cannot be measured; plotters emits plain SVG `<text>`
//! elements (font-family `sans-serif`) and estimates their extent, so label areas are sized
//! generously.
mod comparison;
mod growth;
mod icicle;
mod latency;
mod scale;
mod shares;
mod sizes;
#[cfg(test)]
mod testdata;

pub use comparison::comparison;
pub use growth::{GrowthSeries, Projected, growth};
pub use icicle::icicle;
pub use latency::latency_percentiles;
pub use scale::{SpeedupSeries, TIME_PARTS, TimeBar, scale_speedup, scale_time};
pub use shares::shares;
pub use sizes::size_distribution;

use anyhow::Result;
use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

/// One measured payload kind (e.g. "site", "page", "page_subset").
/// The charts plot round trips; dumps and loads travel along for callers that chart them apart.
pub struct ChartPayload<'a> {
    /// Payload name: "site", "page", "page_subset", ...
    pub name: &'a str,
    /// Pickled size in bytes of every measured object of this payload.
    pub sizes: &'a [u64],
    /// `pickle.dumps` latencies in nanoseconds.
    pub dumps: &'a Histogram<u64>,
    /// `pickle.loads` latencies in nanoseconds.
    pub loads: &'a Histogram<u64>,
    /// dumps + loads latencies in nanoseconds.
    pub roundtrip: &'a Histogram<u64>,
}

/// One node of a byte tree: an object (or a folded group of small ones) and what it holds.
pub struct TreeNode {
    pub label: String,
    pub bytes: u64,
    pub children: Vec<TreeNode>,
}

/// One strategy row: label, and its transfer cost as a fraction of render cost (None: the
/// payload cannot be shipped that way).
pub struct ShareRow {
    pub label: String,
    pub share: Option<f64>,
}

// ---------------------------------------------------------------------------------------
// Style
// ---------------------------------------------------------------------------------------

const WIDTH: u32 = 960;
const HEIGHT: u32 = 540;
/// Height of the title + subtitle band at the top of every chart.
const HEADER: u32 = 70;
const FONT: &str = "sans-serif";

// plotters writes `font-size = size / 1.24` into the SVG, so these are ~20% larger than
// the resulting pixel sizes.
const TITLE_SIZE: f64 = 28.0;
const SUBTITLE_SIZE: f64 = 17.0;
const LABEL_SIZE: f64 = 17.0;
const DESC_SIZE: f64 = 18.0;
const LEGEND_SIZE: f64 = 17.0;
const ANNOTATION_SIZE: f64 = 16.0;

const TEXT: RGBColor = RGBColor(0x26, 0x26, 0x26);
const MUTED: RGBColor = RGBColor(0x6b, 0x6b, 0x6b);
const AXIS: RGBColor = RGBColor(0x80, 0x80, 0x80);
const GRID_MAJOR: RGBColor = RGBColor(0xdc, 0xdc, 0xdc);
const GRID_MINOR: RGBColor = RGBColor(0xf0, 0xf0, 0xf0);
const MEDIAN_COLOR: RGBColor = RGBColor(0xc0, 0x39, 0x2b);

/// Tableau 10: distinct, colour-blind friendlier than the plotters defaults.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0xba, 0xb0, 0xac),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn font(size: f64, c: RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(&c)
}

fn font_s(size: f64, c: RGBColor, style: FontStyle) -> TextStyle<'static> {
    (FONT, size, style).into_font().color(&c)
}

fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// Strip characters that are not allowed in XML text (plotters escapes `<&>"'` itself).
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Render an SVG document of `size` pixels on a white background.
fn render(size: (u32, u32), draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Result<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(buf)
}

/// Draw the title and subtitle band; returns the area below it.
fn header<'a>(root: &Area<'a>, title: &str, subtitle: &str) -> Result<Area<'a>> {
    let (top, body) = root.split_vertically(HEADER);
    let (w, _) = top.dim_in_pixel();
    let cx = (w / 2) as i32;
    top.draw(&Text::new(
        clean(title),
        (cx, 12),
        anchored(font_s(TITLE_SIZE, TEXT, FontStyle::Bold), HPos::Center, VPos::Top),
    ))?;
    if !subtitle.is_empty() {
        top.draw(&Text::new(
            clean(subtitle),
            (cx, 46),
            anchored(font(SUBTITLE_SIZE, MUTED), HPos::Center, VPos::Top),
        ))?;
    }
    Ok(body)
}

fn no_data_style() -> TextStyle<'static> {
    anchored(font_s(26.0, MUTED, FontStyle::Italic), HPos::Center, VPos::Center)
}

// ---------------------------------------------------------------------------------------
// Axes
// ---------------------------------------------------------------------------------------

/// A "nice" step (1, 2, 5 × 10^k) giving roughly `target` intervals over `span`.
fn nice_step(span: f64, target: usize) -> f64 {
    let raw = (span / target.max(1) as f64).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nf = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nf * mag
}

/// Ticks on a linear axis; returns (ticks, step).
fn linear_ticks(lo: f64, hi: f64, target: usize, min_step: f64) -> (Vec<f64>, f64) {
    let step = nice_step(hi - lo, target).max(min_step);
    let mut ticks = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi + step * 1e-9 && ticks.len() < 100 {
        // avoid "-0"
        let v = k * step;
        ticks.push(if v == 0.0 { 0.0 } else { v });
        k += 1.0;
    }
    (ticks, step)
}

/// Largest value of the 1-2-5 series that is <= v (v > 0).
fn snap_down_125(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    let f = v / mag;
    let m = if f >= 5.0 - 1e-9 {
        5.0
    } else if f >= 2.0 - 1e-9 {
        2.0
    } else {
        1.0
    };
    m * mag
}

/// Smallest value of the 1-2-5 series that is >= v (v > 0).
fn snap_up_125(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    let f = v / mag;
    let m = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A log axis, expressed in log10 space (plotters draws it as a linear axis over
/// log10(value), with explicit tick positions).
struct LogAxis {
    lo: f64,
    hi: f64,
    major: Vec<f64>,
    minor: Vec<f64>,
    /// Step in value space when the ticks had to be linear (range < ~1.5x), else None.
    linear_step: Option<f64>,
}

impl LogAxis {
    /// Axis covering values [lo, hi] (clamped to >= 1) with some padding, ends snapped to
    /// the 1-2-5 series.
    fn covering(lo: f64, hi: f64, max_major: usize) -> LogAxis {
        let (mut lo, mut hi) = (lo.max(1.0), hi.max(1.0));
        if hi < lo {
            std::mem::swap(&mut lo, &mut hi);
        }
        if hi / lo < 1.05 {
            // all (nearly) equal: show a factor 2 around it
            lo /= 2.0;
            hi *= 2.0;
        }
        let span = (hi / lo).log10();
        let pad = 10f64.powf(span * 0.04);
        // values are clamped to >= 1; keep a small gap below a line sitting at 1
        let lo = snap_down_125(lo / pad);
        let lo = if lo < 1.0 { 10f64.powf(-0.1) } else { lo };
        Self::exact(lo, snap_up_125(hi * pad).max(lo * 2.0), max_major)
    }

    /// Axis over exactly [lo, hi] (values, > 0).
    fn exact(lo: f64, hi: f64, max_major: usize) -> LogAxis {
        let (major, minor, linear_step) = log_ticks(lo, hi, max_major);
        LogAxis {
            lo: lo.log10(),
            hi: hi.log10(),
            major: major.iter().map(|v| v.log10()).collect(),
            minor: minor.iter().map(|v| v.log10()).collect(),
            linear_step,
        }
    }
}

/// Nice tick values for a log axis over [lo, hi] with at most ~`max_major` labels:
/// returns (major, minor, linear_step).
fn log_ticks(lo: f64, hi: f64, max_major: usize) -> (Vec<f64>, Vec<f64>, Option<f64>) {
    let max_major = max_major.max(3);
    let kmin = lo.log10().floor() as i32 - 1;
    let kmax = hi.log10().ceil() as i32 + 1;
    let within = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let series = |mults: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        for k in kmin..=kmax {
            for &m in mults {
                let v = m * 10f64.powi(k);
                if within(v) {
                    out.push(v);
                }
            }
        }
        out
    };
    let sets: [&[f64]; 4] = [
        &[1.0],
        &[1.0, 3.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ];
    for (i, set) in sets.iter().enumerate() {
        let mut major = series(set);
        if major.len() >= 3 {
            let mut minor = Vec::new();
            if i == 0 {
                if major.len() > max_major {
                    // too many decades: label every k-th, keep the others as light lines
                    let every = major.len().div_ceil(max_major);
                    let (keep, skip): (Vec<_>, Vec<_>) =
                        major.iter().enumerate().partition(|(j, _)| j % every == 0);
                    minor = skip.into_iter().map(|(_, v)| *v).collect();
                    major = keep.into_iter().map(|(_, v)| *v).collect();
                } else if major.len() < max_major.min(6) {
                    minor = series(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
                }
            }
            return (major, minor, None);
        }
    }
    // Narrow range: plain linear ticks in value space.
    let (major, step) = linear_ticks(lo, hi, 4, 0.0);
    (major, Vec::new(), Some(step))
}

/// Linear f64 coordinate with explicit major (labelled) and minor (light grid) ticks.
/// (plotters' own `with_key_points` cannot be combined with label formatters for f64.)
struct Ticked {
    inner: RangedCoordf64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl Ticked {
    fn new(range: std::ops::Range<f64>, major: Vec<f64>, minor: Vec<f64>) -> Ticked {
        let (lo, mut hi) = (range.start, range.end);
        if !lo.is_finite() || !hi.is_finite() || hi <= lo {
            hi = lo + 1.0;
        }
        let keep = |v: &f64| *v >= lo - 1e-9 * (hi - lo) && *v <= hi + 1e-9 * (hi - lo);
        Ticked {
            inner: (lo..hi).into(),
            major: major.into_iter().filter(keep).collect(),
            minor: minor.into_iter().filter(keep).collect(),
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-9 * y.abs().max(1.0))
    }

    #[test]
    fn log_ticks_choose_decades_then_finer_series_then_linear() {
        // 5 KB .. 200 MB: decades 10^4 .. 10^8 labelled, no linear fallback
        let (major, minor, lin) = log_ticks(5e3, 2e8, 8);
        assert!(lin.is_none());
        assert!(close(&major, &[1e4, 1e5, 1e6, 1e7, 1e8]), "{major:?}");
        // few decades: 2..9 × 10^k as light lines, all inside the range
        assert_eq!(minor.len(), 5 + 4 * 8 + 1, "{minor:?}");
        assert!(minor.iter().all(|v| (5e3..=2e8).contains(v)), "{minor:?}");
        // 1 .. 10^12 with at most 5 labels: every 3rd decade labelled, the rest minor
        let (major, minor, _) = log_ticks(1.0, 1e12, 5);
        assert!(close(&major, &[1.0, 1e3, 1e6, 1e9, 1e12]), "{major:?}");
        assert_eq!(minor.len(), 8);
        // 100 .. 2000: two decade ticks only, so the 1-3 series
        let (major, minor, lin) = log_ticks(100.0, 2000.0, 8);
        assert!(lin.is_none() && minor.is_empty());
        assert!(close(&major, &[100.0, 300.0, 1000.0]), "{major:?}");
        // 1000 .. 1100: no log series fits three ticks, linear ticks every 50
        let (major, _, lin) = log_ticks(1000.0, 1100.0, 8);
        assert_eq!(lin, Some(50.0));
        assert!(close(&major, &[1000.0, 1050.0, 1100.0]), "{major:?}");
    }

    #[test]
    fn linear_ticks_use_nice_steps() {
        let (ticks, step) = linear_ticks(0.0, 118.0, 6, 1.0);
        assert_eq!(step, 20.0);
        assert_eq!(ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        // a minimum step keeps integer counts integer
        let (ticks, step) = linear_ticks(0.0, 2.0, 6, 1.0);
        assert_eq!(step, 1.0);
        assert_eq!(ticks, vec![0.0, 1.0, 2.0]);
        assert_eq!(nice_step(7.0, 1), 10.0);
        assert_eq!(snap_down_125(4.2e3), 2e3);
        assert_eq!(snap_up_125(4.2e3), 5e3);
        assert_eq!(snap_up_125(1000.0), 1000.0);
    }

    #[test]
    fn log_axis_covers_its_values() {
        let ax = LogAxis::covering(12_000.0, 4_000_000.0, 8);
        assert!(ax.lo < 12_000f64.log10() && ax.hi > 4_000_000f64.log10());
        // equal values still get a range around them
        let ax = LogAxis::covering(777.0, 777.0, 8);
        assert!(ax.lo < 777f64.log10() && ax.hi > 777f64.log10());
        assert!(ax.major.len() >= 3);
    }

    #[test]
    fn charts_are_complete_documents() {
        let svg = render((100, 50), |root| {
            header(root, "a<b", "sub\u{1}")?;
            Ok(())
        })
        .unwrap();
        assert!(svg.trim_start().starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a&lt;b") && svg.contains("sub?"));
    }
}

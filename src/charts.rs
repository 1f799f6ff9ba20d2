//! SVG charts for picklecost (pickle size / latency measurements).
//!
//! Self-contained: depends only on `plotters` (features `svg_backend`, `line_series`,
//! `histogram`, `area_series`, no `ttf`), `hdrhistogram` and `anyhow`.
//!
//! Without the `ttf` feature plotters cannot measure text; it emits plain SVG `<text>`
//! elements (font-family `sans-serif`) and estimates their extent, so label areas are
//! sized generously here.
//!
//! All charts are rendered into memory first, then written to a temporary file next to
//! the destination and renamed into place, so a failed render never leaves a partial file.
//!
//! Units: sizes use decimal units (1 KB = 1000 B, 1 MB = 10^6 B); latencies are
//! nanoseconds and are shown as ns / µs / ms / s.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow};
use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One measured payload kind (e.g. "site", "page", "page_subset").
/// The charts plot round trips; dumps and loads travel along for callers that chart them apart.
#[allow(dead_code)]
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
// Number formatting
// ---------------------------------------------------------------------------------------

/// At most 3 significant digits, trailing zeros trimmed: 1.5, 12, 150, 2.25.
fn fmt_sig(v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 99.95 {
        0
    } else if a >= 9.995 {
        1
    } else {
        2
    };
    trim_zeros(format!("{v:.decimals$}"))
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn pick_unit(v: f64, units: &[(f64, &'static str)]) -> (f64, &'static str) {
    let a = v.abs();
    let mut chosen = units[0];
    for &(scale, name) in units {
        // 999.6 B is shown as "1 KB", not "1000 B".
        if a >= scale * 0.9995 {
            chosen = (scale, name);
        }
    }
    chosen
}

const BYTE_UNITS: [(f64, &str); 7] = [
    (1.0, "B"),
    (1e3, "KB"),
    (1e6, "MB"),
    (1e9, "GB"),
    (1e12, "TB"),
    (1e15, "PB"),
    (1e18, "EB"),
];
const NS_UNITS: [(f64, &str); 4] = [(1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s")];

/// Human size with decimal units: "512 B", "1.5 KB", "12 MB".
fn human_bytes(v: f64) -> String {
    let (scale, unit) = pick_unit(v, &BYTE_UNITS);
    format!("{} {unit}", fmt_sig(v / scale))
}

/// Human size with a fixed precision derived from the tick step (linear axes), so that
/// neighbouring ticks never get identical labels.
fn human_bytes_step(v: f64, step: f64) -> String {
    with_step(v, step, &BYTE_UNITS)
}

fn with_step(v: f64, step: f64, units: &[(f64, &'static str)]) -> String {
    let (scale, unit) = pick_unit(v, units);
    let rel = step / scale;
    let decimals = if rel >= 1.0 {
        0
    } else {
        (-rel.log10()).ceil() as usize
    };
    if decimals > 2 && v >= 0.0 {
        // e.g. 1,000,001 B rather than 1.000001 MB
        return format!("{} {}", group_thousands(v.round() as u64), units[0].1);
    }
    format!("{} {unit}", trim_zeros(format!("{:.*}", decimals, v / scale)))
}

/// Human latency from nanoseconds: "850 ns", "12 µs", "1.5 ms", "2.3 s".
fn human_ns(v: f64) -> String {
    let (scale, unit) = pick_unit(v, &NS_UNITS);
    format!("{} {unit}", fmt_sig(v / scale))
}

/// Integer with thousands separators.
fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let head = s.len() % 3;
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    out.push_str(&s[..head]);
    for chunk in s.as_bytes()[head..].chunks(3) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

/// "3.2×", "1,024×".
fn fmt_ratio(r: f64) -> String {
    if r < 9.95 {
        format!("{r:.1}×")
    } else if r < 1e15 {
        format!("{}×", group_thousands(r.round() as u64))
    } else {
        format!("{r:.1e}×")
    }
}

/// Label of a point on the percentile axis, x = log10(1 / (1 - p)).
fn pct_label(x: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    let decimals = (x.round() as i64 - 2).clamp(0, 6) as usize;
    format!("{}%", trim_zeros(format!("{p:.decimals$}")))
}

// ---------------------------------------------------------------------------------------
// Axis helpers
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

// ---------------------------------------------------------------------------------------
// Icicle chart of bytes by path
// ---------------------------------------------------------------------------------------

/// One node of a byte tree: an object (or a folded group of small ones) and what it holds.
pub struct TreeNode {
    pub label: String,
    pub bytes: u64,
    pub children: Vec<TreeNode>,
}

/// Icicle chart: the root spans the full width, each level below splits its parent's width
/// by bytes, so wide boxes are where a pickle's bytes go.
pub fn icicle(tree: &TreeNode, title: &str, path: &Path) -> Result<()> {
    const WIDTH: u32 = 1200;
    const ROW: u32 = 46;
    fn depth(n: &TreeNode) -> u32 {
        1 + n.children.iter().map(depth).max().unwrap_or(0)
    }
    let levels = depth(tree).min(8);
    let height = HEADER + 20 + levels * ROW + 20;
    render_svg(path, (WIDTH, height), |root| {
        let body = header(
            root,
            title,
            &format!(
                "{} in all · box width = bytes written for that object and what it holds first",
                human_bytes(tree.bytes as f64)
            ),
        )?;
        let (w, _) = body.dim_in_pixel();
        let left = 20i32;
        let usable = (w as i32 - 40).max(1) as f64;
        fn draw_node(
            area: &Area<'_>,
            node: &TreeNode,
            x: f64,
            width: f64,
            level: u32,
            levels: u32,
            index: usize,
        ) -> Result<()> {
            if level >= levels || width < 1.0 {
                return Ok(());
            }
            let y = 10 + (level * ROW) as i32;
            let x0 = x.round() as i32;
            let x1 = (x + width).round() as i32 - 1;
            let fill = color(index + level as usize * 3).mix(0.85);
            area.draw(&Rectangle::new(
                [(x0, y), (x1.max(x0), y + ROW as i32 - 4)],
                fill.filled(),
            ))?;
            area.draw(&Rectangle::new(
                [(x0, y), (x1.max(x0), y + ROW as i32 - 4)],
                WHITE.stroke_width(1),
            ))?;
            // Only label boxes wide enough to read (about 7 px per character at this size).
            let text = format!("{} · {}", node.label, human_bytes(node.bytes as f64));
            let fits = ((width - 8.0) / 7.0).max(0.0) as usize;
            if fits >= 6 {
                let shown: String = if text.chars().count() > fits {
                    text.chars().take(fits.saturating_sub(1)).collect::<String>() + "…"
                } else {
                    text
                };
                area.draw(&Text::new(
                    clean(&shown),
                    (x0 + 4, y + (ROW as i32 - 4) / 2),
                    anchored(font(13.0, WHITE), HPos::Left, VPos::Center),
                ))?;
            }
            let total: u64 = node.bytes.max(1);
            let mut cx = x;
            for (i, child) in node.children.iter().enumerate() {
                let cw = width * child.bytes as f64 / total as f64;
                draw_node(area, child, cx, cw, level + 1, levels, index * 7 + i + 1)?;
                cx += cw;
            }
            Ok(())
        }
        draw_node(&body, tree, left as f64, usable, 0, levels, 0)
    })
}

// ---------------------------------------------------------------------------------------
// Transfer cost as a share of render cost
// ---------------------------------------------------------------------------------------

/// One strategy row: label, and its transfer cost as a fraction of render cost (None: the
/// payload cannot be shipped that way).
pub struct ShareRow {
    pub label: String,
    pub share: Option<f64>,
}

/// Horizontal bars on a log scale of "% of render time", with the practical and marginal
/// thresholds drawn as vertical lines.
pub fn shares(rows: &[ShareRow], practical: f64, marginal: f64, path: &Path) -> Result<()> {
    const WIDTH: u32 = 1100;
    const ROW: u32 = 34;
    const LABEL: i32 = 430;
    let height = HEADER + 40 + (rows.len().max(1) as u32) * ROW + 50;
    let (lo, hi) = (1e-4f64, 10.0f64); // 0.01% .. 1000%
    render_svg(path, (WIDTH, height), |root| {
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
                format!("{}%", tick * 100.0),
                (x, bottom + 8),
                anchored(font(13.0, MUTED), HPos::Center, VPos::Top),
            ))?;
        }
        for (limit, c) in [
            (practical, RGBColor(0x2c, 0xa0, 0x2c)),
            (marginal, RGBColor(0xd6, 0x27, 0x28)),
        ] {
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
                        RGBColor(0x2c, 0xa0, 0x2c)
                    } else if share <= marginal {
                        RGBColor(0xff, 0x9f, 0x1c)
                    } else {
                        RGBColor(0xd6, 0x27, 0x28)
                    };
                    let end = x_of(share).max(x0 + 2);
                    body.draw(&Rectangle::new(
                        [(x0, y + 6), (end, y + ROW as i32 - 6)],
                        color.mix(0.85).filled(),
                    ))?;
                    body.draw(&Text::new(
                        format!("{:.2}%", share * 100.0),
                        (end + 6, y + ROW as i32 / 2),
                        anchored(font(13.0, TEXT), HPos::Left, VPos::Center),
                    ))?;
                }
                None => {
                    body.draw(&Text::new(
                        "not shippable",
                        (x0 + 6, y + ROW as i32 / 2),
                        anchored(
                            font_s(13.0, RGBColor(0xd6, 0x27, 0x28), FontStyle::Italic),
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

// ---------------------------------------------------------------------------------------
// Rendering plumbing
// ---------------------------------------------------------------------------------------

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Render an SVG in memory and atomically write it to `path`.
fn render_svg(path: &Path, size: (u32, u32), draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Result<()> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    write_atomic(path, buf.as_bytes()).with_context(|| format!("writing chart {}", path.display()))
}

/// Write to a temporary file in the destination directory, then rename into place.
fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file_name = path
        .file_name()
        .ok_or_else(|| anyhow!("output path {} has no file name", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("creating temporary file {}", tmp.display()))?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
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

fn median_u64(values: &[u64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    })
}

/// Value at `q` of sorted data (nearest rank).
fn quantile_sorted(sorted: &[u64], q: f64) -> u64 {
    let idx = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

// ---------------------------------------------------------------------------------------
// Chart 1: latency percentiles
// ---------------------------------------------------------------------------------------

/// Number of "nines" shown on the percentile axis (4 => up to 99.99%).
const MAX_NINES: f64 = 4.0;
const PCT_STEPS: usize = 400;

/// Latency percentile chart: x = percentile on a log "1/(1-p)" scale (labels 0%, 90%, 99%, 99.9%, 99.99%), y = round-trip latency (log scale, µs/ms labels); one line per payload (skip empty histograms); legend. `title` is the chart title.
pub fn latency_percentiles(payloads: &[ChartPayload], title: &str, path: &Path) -> Result<()> {
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
            let label = format!(
                "{}  (n={}, p50 {}, p99 {}, max {})",
                clean(p.name),
                group_thousands(h.len()),
                human_ns(h.value_at_quantile(0.5) as f64),
                human_ns(h.value_at_quantile(0.99) as f64),
                human_ns(h.max() as f64),
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

    render_svg(path, (WIDTH, HEIGHT), |root| {
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
                Some(step) => human_ns_step(10f64.powf(*y), step),
                None => human_ns(10f64.powf(*y)),
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

fn human_ns_step(v: f64, step: f64) -> String {
    with_step(v, step, &NS_UNITS)
}

// ---------------------------------------------------------------------------------------
// Chart 2: size distribution
// ---------------------------------------------------------------------------------------

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

/// Size distribution of one payload: histogram of pickled sizes (x: bytes with human units KB/MB, log-binned if max/min > 50, else linear bins), y: number of objects. Also mark the median with a vertical line and label it.
pub fn size_distribution(payload: &ChartPayload, path: &Path) -> Result<()> {
    let name = clean(payload.name);
    let title = format!("Pickled size distribution: {name}");

    if payload.sizes.is_empty() {
        return render_svg(path, (WIDTH, HEIGHT), |root| {
            let body = header(root, &title, "no objects measured")?;
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
        });
    }

    let mut sorted = payload.sizes.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let median = median_u64(&sorted).unwrap_or(0.0);
    let binned = bin_sizes(&sorted);
    let max_count = binned.bins.iter().map(|b| b.2).max().unwrap_or(1).max(1);
    let ytop = (max_count as f64 * 1.18).max(max_count as f64 + 1.0);
    let (yticks, _) = linear_ticks(0.0, ytop, 6, 1.0);
    let (x0, x1) = binned.x_range;

    // x ticks, in axis space
    let (x_major, x_minor, x_step) = if binned.log {
        let ax = LogAxis::exact(10f64.powf(x0), 10f64.powf(x1), 10);
        (ax.major, ax.minor, ax.linear_step)
    } else {
        let (t, step) = linear_ticks(x0, x1, 8, 1.0);
        let t: Vec<f64> = t.into_iter().filter(|v| *v >= 0.0).collect();
        (t, Vec::new(), Some(step))
    };
    let log = binned.log;
    let to_bytes = move |t: f64| if log { 10f64.powf(t) } else { t };

    let subtitle = format!(
        "n = {} objects · min {} · median {} · p90 {} · p99 {} · max {}{}",
        group_thousands(n as u64),
        human_bytes(sorted[0] as f64),
        human_bytes(median),
        human_bytes(quantile_sorted(&sorted, 0.9) as f64),
        human_bytes(quantile_sorted(&sorted, 0.99) as f64),
        human_bytes(sorted[n - 1] as f64),
        if log { " · log-binned" } else { "" },
    );

    render_svg(path, (WIDTH, HEIGHT), |root| {
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
                Some(step) => human_bytes_step(to_bytes(*t), step),
                None => human_bytes(to_bytes(*t)),
            })
            .y_label_formatter(&|y| group_thousands(y.round().max(0.0) as u64))
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
                    format!("median {}", human_bytes(median)),
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

// ---------------------------------------------------------------------------------------
// Chart 3: comparison
// ---------------------------------------------------------------------------------------

/// Full-vs-subset comparison: two side-by-side horizontal bar panels, one bar per payload, left = median pickled size (log x axis, human units), right = median round-trip latency (log x axis, µs/ms), each bar labelled with its value, so "site vs page vs page_subset" differences of 1000x are readable.
pub fn comparison(payloads: &[ChartPayload], path: &Path) -> Result<()> {
    let names: Vec<String> = payloads.iter().map(|p| clean(p.name)).collect();
    let sizes: Vec<Option<f64>> = payloads.iter().map(|p| median_u64(p.sizes)).collect();
    let lats: Vec<Option<f64>> = payloads
        .iter()
        .map(|p| (!p.roundtrip.is_empty()).then(|| p.roundtrip.value_at_quantile(0.5) as f64))
        .collect();
    let n = payloads.len();
    let height = (190 + 62 * n as u32).clamp(HEIGHT, 2000);

    render_svg(path, (WIDTH, height), |root| {
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
            &human_bytes,
        )?;
        bar_panel(
            &right,
            "Median round-trip latency",
            "Round-trip latency (log scale)",
            &names,
            &lats,
            &human_ns,
        )?;
        Ok(())
    })
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
    let present: Vec<f64> = vals.iter().flatten().copied().collect();
    let (vmin, vmax) = present
        .iter()
        .fold(None, |acc: Option<(f64, f64)>, &v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
        .unwrap_or((10.0, 1000.0));

    let show_ratio = present.len() > 1;
    let labels: Vec<Option<String>> = vals
        .iter()
        .map(|v| {
            v.map(|v| {
                let ratio = v / vmin;
                if show_ratio && ratio >= 1.05 {
                    format!("{} ({})", fmt(v), fmt_ratio(ratio))
                } else {
                    fmt(v)
                }
            })
        })
        .collect();

    let max_name = names.iter().map(|s| s.chars().count()).max().unwrap_or(4);
    let y_area = (24 + 10 * max_name as u32).clamp(60, 200);
    let plot_w = (area.dim_in_pixel().0 as f64 - y_area as f64 - 35.0).max(100.0);

    // Left end well below the smallest bar so it stays visible; right end leaves room
    // for the value label after the longest bar (labels: bold ~13 px, ~8 px a char).
    let (lmin, lmax) = (vmin.log10(), vmax.log10());
    let lo = snap_down_125(10f64.powf(lmin - (0.12 * (lmax - lmin)).max(0.5)).max(0.5));
    let llo = lo.log10();
    let mut hi_l = lmax + 0.3;
    for (v, label) in vals.iter().zip(&labels) {
        if let (Some(v), Some(label)) = (v, label) {
            let label_px = 12.0 + 8.0 * label.chars().count() as f64;
            let usable = (plot_w - label_px).max(0.35 * plot_w);
            hi_l = hi_l.max(llo + (v.log10() - llo) * plot_w / usable);
        }
    }
    let hi = snap_up_125(10f64.powf(hi_l));
    let ax = LogAxis::exact(lo, hi, 5);
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

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// Fresh temporary directory per test (std only), removed on drop unless the
    /// `CHARTS_KEEP` environment variable is set (to look at the output).
    struct TempDir(PathBuf);
    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            if std::env::var_os("CHARTS_KEEP").is_none() {
                let _ = fs::remove_dir_all(&self.0);
            }
        }
    }

    fn temp_dir(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let d = std::env::temp_dir().join(format!(
            "picklecost-charts-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    /// Deterministic xorshift PRNG.
    struct Rng(u64);
    impl Rng {
        fn next_f64(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn hist() -> Histogram<u64> {
        Histogram::<u64>::new(3).unwrap()
    }

    /// Log-uniform-ish latencies in [lo_ns, hi_ns] with a heavy tail.
    fn latencies(seed: u64, lo_ns: f64, hi_ns: f64, n: usize) -> Histogram<u64> {
        let mut r = Rng(seed);
        let mut h = hist();
        let (a, b) = (lo_ns.ln(), hi_ns.ln());
        for _ in 0..n {
            let u = r.next_f64().powi(4); // most samples near lo, tail to hi
            h.record((a + (b - a) * u).exp() as u64).unwrap();
        }
        h
    }

    fn sizes(seed: u64, lo: f64, hi: f64, n: usize) -> Vec<u64> {
        let mut r = Rng(seed);
        let (a, b) = (lo.ln(), hi.ln());
        (0..n)
            .map(|_| {
                let u = (r.next_f64() + r.next_f64() + r.next_f64()) / 3.0;
                (a + (b - a) * u).exp() as u64
            })
            .collect()
    }

    struct Data {
        name: &'static str,
        sizes: Vec<u64>,
        dumps: Histogram<u64>,
        loads: Histogram<u64>,
        roundtrip: Histogram<u64>,
    }

    impl Data {
        fn payload(&self) -> ChartPayload<'_> {
            ChartPayload {
                name: self.name,
                sizes: &self.sizes,
                dumps: &self.dumps,
                loads: &self.loads,
                roundtrip: &self.roundtrip,
            }
        }
    }

    fn data(name: &'static str, seed: u64, size: (f64, f64), lat: (f64, f64)) -> Data {
        Data {
            name,
            sizes: sizes(seed, size.0, size.1, 500),
            dumps: latencies(seed + 1, lat.0 / 2.0, lat.1 / 2.0, 5000),
            loads: latencies(seed + 2, lat.0 / 2.0, lat.1 / 2.0, 5000),
            roundtrip: latencies(seed + 3, lat.0, lat.1, 5000),
        }
    }

    /// site ~ MBs and ms, page ~ tens of KB, page_subset ~ hundreds of bytes and µs:
    /// latencies span 10µs..100ms overall.
    fn sample() -> Vec<Data> {
        vec![
            data("site", 11, (400_000.0, 6_000_000.0), (2e6, 1e8)),
            data("page", 22, (8_000.0, 90_000.0), (1e5, 5e6)),
            data("page_subset", 33, (150.0, 2_500.0), (1e4, 4e5)),
        ]
    }

    fn read_svg(path: &Path) -> String {
        assert!(path.exists(), "{} missing", path.display());
        let s = fs::read_to_string(path).unwrap();
        assert!(
            s.trim_start().starts_with("<svg"),
            "not an svg: {}",
            &s[..s.len().min(80)]
        );
        assert!(s.trim_end().ends_with("</svg>"));
        assert!(s.contains("<text"), "no text elements");
        s
    }

    /// Trimmed contents of every `<text>` element.
    fn texts(s: &str) -> Vec<String> {
        s.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_string())
            })
            .collect()
    }

    /// Some `<text>` element is exactly `want`.
    fn has_text(s: &str, want: &str) -> bool {
        texts(s).iter().any(|t| t == want)
    }

    fn has_shape(s: &str) -> bool {
        s.contains("<polyline") || s.contains("<path") || s.contains("<rect")
    }

    fn assert_no_temp_files(dir: &Path) {
        for e in fs::read_dir(dir).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.ends_with(".tmp"), "leftover temp file {name}");
        }
    }

    #[test]
    fn latency_chart_from_synthetic_data() {
        let dir = temp_dir("lat");
        let d = sample();
        let p: Vec<_> = d.iter().map(Data::payload).collect();
        let path = dir.join("latency.svg");
        latency_percentiles(&p, "pickle round-trip latency", &path).unwrap();
        let s = read_svg(&path);
        assert!(s.contains("<polyline"), "no line series");
        for name in ["site", "page", "page_subset", "pickle round-trip latency"] {
            assert!(s.contains(name), "missing {name}");
        }
        for label in ["0%", "90%", "99%", "99.9%", "99.99%"] {
            assert!(has_text(&s, label), "missing percentile label {label}");
        }
        let t = texts(&s);
        assert!(t.iter().any(|t| t.ends_with(" µs")) && t.iter().any(|t| t.ends_with(" ms")));
        assert_no_temp_files(&dir);
    }

    #[test]
    fn size_distribution_log_binned() {
        let dir = temp_dir("size");
        let d = sample();
        let path = dir.join("size_site.svg");
        // site sizes span 400 KB..6 MB (ratio 15 -> linear); make a wide one too
        size_distribution(&d[0].payload(), &path).unwrap();
        let s = read_svg(&path);
        assert!(s.contains("site") && s.contains("<rect") && s.contains("median"));
        assert!(texts(&s).iter().any(|t| t.ends_with(" MB") || t.ends_with(" KB")));

        let wide = Data {
            sizes: sizes(5, 40.0, 4_000_000.0, 2000),
            ..data("page", 1, (1.0, 2.0), (1e4, 1e5))
        };
        let path = dir.join("size_page.svg");
        size_distribution(&wide.payload(), &path).unwrap();
        let s = read_svg(&path);
        assert!(s.contains("page") && s.contains("log-binned") && has_shape(&s));
        assert_no_temp_files(&dir);
    }

    #[test]
    fn comparison_chart_from_synthetic_data() {
        let dir = temp_dir("cmp");
        let d = sample();
        let p: Vec<_> = d.iter().map(Data::payload).collect();
        let path = dir.join("comparison.svg");
        comparison(&p, &path).unwrap();
        let s = read_svg(&path);
        for name in ["site", "page", "page_subset"] {
            assert!(has_text(&s, name), "missing {name}");
        }
        assert!(s.contains("<rect") && s.contains("×"));
        assert!(s.contains("Median pickled size") && s.contains("Median round-trip latency"));
    }

    #[test]
    fn empty_payload_list() {
        let dir = temp_dir("empty");
        let lat = dir.join("lat.svg");
        latency_percentiles(&[], "nothing", &lat).unwrap();
        assert!(read_svg(&lat).contains("No data"));
        let cmp = dir.join("cmp.svg");
        comparison(&[], &cmp).unwrap();
        assert!(read_svg(&cmp).contains("No data"));
    }

    #[test]
    fn payload_without_data() {
        let dir = temp_dir("nodata");
        let empty = Data {
            name: "ghost",
            sizes: vec![],
            dumps: hist(),
            loads: hist(),
            roundtrip: hist(),
        };
        let d = sample();
        let mut p: Vec<_> = d.iter().map(Data::payload).collect();
        p.push(empty.payload());

        let path = dir.join("size.svg");
        size_distribution(&empty.payload(), &path).unwrap();
        let s = read_svg(&path);
        assert!(s.contains("ghost") && s.contains("No data"));

        // empty histogram skipped in the latency chart
        let path = dir.join("lat.svg");
        latency_percentiles(&p, "t", &path).unwrap();
        let s = read_svg(&path);
        assert!(!s.contains("ghost") && s.contains("page_subset"));
        // only empty ones
        latency_percentiles(&[empty.payload()], "t", &path).unwrap();
        assert!(read_svg(&path).contains("No data"));

        // comparison draws a "no data" row for it
        let path = dir.join("cmp.svg");
        comparison(&p, &path).unwrap();
        let s = read_svg(&path);
        assert!(has_text(&s, "ghost") && has_text(&s, "no data"));
        comparison(&[empty.payload()], &path).unwrap();
        assert!(read_svg(&path).contains("no data"));
    }

    #[test]
    fn single_equal_and_zero_values() {
        let dir = temp_dir("edge");
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
        ];
        for (name, sz, h) in &cases {
            let p = ChartPayload {
                name,
                sizes: sz,
                dumps: h,
                loads: h,
                roundtrip: h,
            };
            let path = dir.join(format!("{name}_size.svg"));
            size_distribution(&p, &path).unwrap();
            let s = read_svg(&path);
            assert!(s.contains(name) && s.contains("<rect"));

            let path = dir.join(format!("{name}_lat.svg"));
            latency_percentiles(std::slice::from_ref(&p), "edge", &path).unwrap();
            let s = read_svg(&path);
            assert!(s.contains(name) && s.contains("<polyline"));

            let path = dir.join(format!("{name}_cmp.svg"));
            comparison(std::slice::from_ref(&p), &path).unwrap();
            let s = read_svg(&path);
            assert!(s.contains(name) && s.contains("<rect"));
        }

        // mixed zero and large sizes -> log bins with zero clamped to 1 byte
        let mixed: Vec<u64> = vec![0, 0, 1, 10, 1000, 1_000_000, u64::MAX];
        let h = hist();
        let p = ChartPayload {
            name: "mixed",
            sizes: &mixed,
            dumps: &h,
            loads: &h,
            roundtrip: &h,
        };
        let path = dir.join("mixed.svg");
        size_distribution(&p, &path).unwrap();
        assert!(read_svg(&path).contains("log-binned"));
        let path = dir.join("mixed_cmp.svg");
        comparison(std::slice::from_ref(&p), &path).unwrap();
        read_svg(&path);

        // two close values (narrow linear range)
        let close = vec![1_000_000u64, 1_000_003, 1_000_001];
        let p = ChartPayload { sizes: &close, ..p };
        let path = dir.join("close.svg");
        size_distribution(&p, &path).unwrap();
        assert!(has_text(&read_svg(&path), "1,000,001 B"));
        assert_no_temp_files(&dir);
    }

    #[test]
    fn names_are_escaped() {
        let dir = temp_dir("esc");
        let d = Data {
            name: "a<b>&\"c\"\u{1}",
            ..data("x", 3, (10.0, 100.0), (1e4, 1e5))
        };
        let path = dir.join("c.svg");
        comparison(&[d.payload()], &path).unwrap();
        let s = read_svg(&path);
        assert!(s.contains("a&lt;b&gt;&amp;&quot;c&quot;?"));
        assert!(!s.contains('\u{1}'));
    }

    #[test]
    fn write_errors_leave_no_files() {
        let dir = temp_dir("err");
        let d = sample();
        let p: Vec<_> = d.iter().map(Data::payload).collect();
        let missing = dir.join("no/such/dir/chart.svg");
        assert!(comparison(&p, &missing).is_err());
        assert!(size_distribution(&p[0], &missing).is_err());
        assert!(latency_percentiles(&p, "t", &missing).is_err());
        assert!(latency_percentiles(&p, "t", Path::new("/")).is_err());
        // destination is a directory: rename fails, temp file must be cleaned up
        let as_dir = dir.join("taken.svg");
        fs::create_dir(&as_dir).unwrap();
        fs::write(as_dir.join("keep"), b"x").unwrap();
        assert!(comparison(&p, &as_dir).is_err());
        assert_no_temp_files(&dir);
        // existing file is replaced atomically
        let out = dir.join("out.svg");
        fs::write(&out, b"old").unwrap();
        comparison(&p, &out).unwrap();
        read_svg(&out);
        assert_no_temp_files(&dir);
    }

    #[test]
    fn formatting() {
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(1500.0), "1.5 KB");
        assert_eq!(human_bytes(999.7), "1 KB");
        assert_eq!(human_bytes(12_000_000.0), "12 MB");
        assert_eq!(human_ns(850.0), "850 ns");
        assert_eq!(human_ns(12_000.0), "12 µs");
        assert_eq!(human_ns(1_500_000.0), "1.5 ms");
        assert_eq!(pct_label(0.0), "0%");
        assert_eq!(pct_label(1.0), "90%");
        assert_eq!(pct_label(2.0), "99%");
        assert_eq!(pct_label(3.0), "99.9%");
        assert_eq!(pct_label(4.0), "99.99%");
        assert_eq!(fmt_ratio(1024.4), "1,024×");
        assert_eq!(fmt_ratio(3.21), "3.2×");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(group_thousands(123_456), "123,456");
        assert_eq!(group_thousands(12), "12");
        assert_eq!(group_thousands(0), "0");
        assert_eq!(human_bytes_step(1_000_001.0, 1.0), "1,000,001 B");
        assert_eq!(human_bytes_step(4_800.0, 200.0), "4.8 KB");
        let (major, _, lin) = log_ticks(5e3, 2e8, 8);
        assert!(lin.is_none() && major.len() >= 3);
        let (major, _, _) = log_ticks(1.0, 1e12, 5);
        assert!(major.len() <= 5);
        let (_, _, lin) = log_ticks(1000.0, 1100.0, 8);
        assert!(lin.is_some());
    }
}

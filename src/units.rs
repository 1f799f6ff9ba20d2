//! Human units for bytes, durations, ratios and shares: the one place that turns numbers into
//! labels, for the terminal, the Markdown report, the SVG charts and the verdict prose. Imports
//! nothing.
//!
//!
//! Sizes use decimal units (1 KB = 1000 B); durations are nanoseconds shown as ns / µs / ms / s.
//! `bytes`, `nanos` and `ratio` are the fixed-precision forms read in tables and prose; the
//! `*_sig` and `*_step` forms are the compact ones the charts print (at most three significant
//! digits, or as many decimals as an axis step needs).

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub fn nanos(ns: u64) -> String {
    let ns = ns as f64;
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// "1,480x" — ratios are read in prose, so group thousands and drop decimals when large.
pub fn ratio(r: f64) -> String {
    if !r.is_finite() {
        return "n/a".into();
    }
    if r >= 100.0 {
        format!("{}x", thousands(r.round() as u64))
    } else if r >= 10.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.1}x")
    }
}

/// Integer with thousands separators: "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `v` with `decimals` decimals, trailing zeros (and a trailing point) removed: 1.50 -> "1.5".
pub fn trimmed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// At most three significant digits, trailing zeros trimmed: 1.5, 12, 150, 2.25.
fn sig(v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 99.95 {
        0
    } else if a >= 9.995 {
        1
    } else {
        2
    };
    trimmed(v, decimals)
}

type Units = [(f64, &'static str)];

const BYTE_UNITS: [(f64, &str); 7] = [
    (1.0, "B"),
    (1e3, "KB"),
    (1e6, "MB"),
    (1e9, "GB"),
    (1e12, "TB"),
    (1e15, "PB"),
    (1e18, "EB"),
];
const NANO_UNITS: [(f64, &str); 4] = [(1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s")];

fn pick_unit(v: f64, units: &Units) -> (f64, &'static str) {
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

fn with_sig(v: f64, units: &Units) -> String {
    let (scale, unit) = pick_unit(v, units);
    format!("{} {unit}", sig(v / scale))
}

/// Enough decimals that ticks `step` apart never share a label; past two decimals of the unit
/// the value is spelled out in the base unit ("1,000,001 B" rather than "1.000001 MB").
fn with_step(v: f64, step: f64, units: &Units) -> String {
    let (scale, unit) = pick_unit(v, units);
    let rel = step / scale;
    let decimals = if rel >= 1.0 {
        0
    } else {
        (-rel.log10()).ceil() as usize
    };
    if decimals > 2 && v >= 0.0 {
        return format!("{} {}", thousands(v.round() as u64), units[0].1);
    }
    format!("{} {unit}", trimmed(v / scale, decimals))
}

/// Compact size, at most three significant digits: "512 B", "1.5 KB", "12 MB", "1 KB" for 999.7.
pub fn bytes_sig(v: f64) -> String {
    with_sig(v, &BYTE_UNITS)
}

/// Size label of a linear axis tick, precise enough for ticks `step` bytes apart: "4.8 KB".
pub fn bytes_step(v: f64, step: f64) -> String {
    with_step(v, step, &BYTE_UNITS)
}

/// Compact duration from nanoseconds, at most three significant digits: "850 ns", "12 µs", "1.5 ms".
pub fn nanos_sig(v: f64) -> String {
    with_sig(v, &NANO_UNITS)
}

/// Duration label of a linear axis tick, precise enough for ticks `step` nanoseconds apart.
pub fn nanos_step(v: f64, step: f64) -> String {
    with_step(v, step, &NANO_UNITS)
}

/// Compact ratio with a times sign, for chart labels: "3.2×", "1,024×".
pub fn ratio_sig(r: f64) -> String {
    if r < 9.95 {
        format!("{r:.1}×")
    } else if r < 1e15 {
        format!("{}×", thousands(r.round() as u64))
    } else {
        format!("{r:.1e}×")
    }
}

/// A fraction as a percentage with two decimals: 0.01234 -> "1.23%".
pub fn percent(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}

/// A fraction as a percentage, at most three significant digits: 0.0001 -> "0.01%", 10 -> "1000%".
pub fn percent_sig(fraction: f64) -> String {
    format!("{}%", sig(fraction * 100.0))
}

/// A ratio after/before as a signed change: 1.023 -> "+2.3%", 0.5 -> "-50%", 1.0 -> "0%";
/// one decimal below 10%, none above.
pub fn change(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "n/a".into();
    }
    let pct = (ratio - 1.0) * 100.0;
    let text = if pct.abs() >= 9.95 {
        format!("{pct:+.0}%")
    } else {
        format!("{pct:+.1}%")
    };
    match text.as_str() {
        "+0.0%" | "-0.0%" => "0%".into(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(442_858), "442.9 KB");
        assert_eq!(bytes(5_943_351), "5.9 MB");
        assert_eq!(nanos(950), "950 ns");
        assert_eq!(nanos(12_345), "12.3 µs");
        assert_eq!(nanos(12_345_678), "12.35 ms");
        assert_eq!(ratio(1480.4), "1,480x");
        assert_eq!(ratio(1_234_567.0), "1,234,567x");
        assert_eq!(ratio(2.26), "2.3x");
        assert_eq!(ratio(f64::NAN), "n/a");
    }

    #[test]
    fn fixed_forms_are_unchanged() {
        // The terminal and the Markdown report print these; the chart forms must not leak in.
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1000), "1.0 KB");
        assert_eq!(bytes(12_000_000), "12.0 MB");
        assert_eq!(bytes(u64::MAX), "18446744.1 TB");
        assert_eq!(nanos(0), "0 ns");
        assert_eq!(nanos(1_000), "1.0 µs");
        assert_eq!(nanos(2_500_000_000), "2.50 s");
        assert_eq!(ratio(100.0), "100x");
        assert_eq!(ratio(99.4), "99x");
        assert_eq!(ratio(12.6), "13x");
        assert_eq!(ratio(f64::INFINITY), "n/a");
    }

    #[test]
    fn thousands_grouping() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(12), "12");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(123_456), "123,456");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn trimmed_decimals() {
        assert_eq!(trimmed(1.50, 2), "1.5");
        assert_eq!(trimmed(2.0, 2), "2");
        assert_eq!(trimmed(120.0, 0), "120");
        assert_eq!(trimmed(99.99, 3), "99.99");
    }

    #[test]
    fn significant_digit_forms() {
        assert_eq!(bytes_sig(0.0), "0 B");
        assert_eq!(bytes_sig(512.0), "512 B");
        assert_eq!(bytes_sig(1500.0), "1.5 KB");
        assert_eq!(bytes_sig(999.7), "1 KB");
        assert_eq!(bytes_sig(2_250.0), "2.25 KB");
        assert_eq!(bytes_sig(12_000_000.0), "12 MB");
        assert_eq!(bytes_sig(150e9), "150 GB");
        assert_eq!(bytes_sig(2e18), "2 EB");
        assert_eq!(nanos_sig(850.0), "850 ns");
        assert_eq!(nanos_sig(12_000.0), "12 µs");
        assert_eq!(nanos_sig(1_500_000.0), "1.5 ms");
        assert_eq!(nanos_sig(2.3e9), "2.3 s");
        assert_eq!(nanos_sig(7.2e12), "7200 s");
    }

    #[test]
    fn step_forms_tell_neighbouring_ticks_apart() {
        assert_eq!(bytes_step(4_800.0, 200.0), "4.8 KB");
        assert_eq!(bytes_step(5_000.0, 200.0), "5 KB");
        assert_eq!(bytes_step(4_850.0, 50.0), "4.85 KB");
        assert_eq!(bytes_step(3_000.0, 1_000.0), "3 KB");
        assert_eq!(bytes_step(1_000_001.0, 1.0), "1,000,001 B");
        assert_eq!(bytes_step(1_000_002.0, 1.0), "1,000,002 B");
        assert_eq!(nanos_step(1_050_000.0, 50_000.0), "1.05 ms");
        assert_eq!(nanos_step(1_100_000.0, 50_000.0), "1.1 ms");
        assert_eq!(nanos_step(1_000_010.0, 10.0), "1,000,010 ns");
        for (a, b, step) in [(4_800.0, 5_000.0, 200.0), (1_000_001.0, 1_000_002.0, 1.0)] {
            assert_ne!(bytes_step(a, step), bytes_step(b, step));
        }
    }

    #[test]
    fn signed_changes() {
        assert_eq!(change(1.023), "+2.3%");
        assert_eq!(change(0.5), "-50%");
        assert_eq!(change(1.0), "0%");
        assert_eq!(change(1.0001), "0%");
        assert_eq!(change(2.46), "+146%");
        assert_eq!(change(f64::NAN), "n/a");
    }

    #[test]
    fn chart_ratios_and_percentages() {
        assert_eq!(ratio_sig(1.0), "1.0×");
        assert_eq!(ratio_sig(3.21), "3.2×");
        assert_eq!(ratio_sig(9.96), "10×");
        assert_eq!(ratio_sig(1024.4), "1,024×");
        assert_eq!(ratio_sig(2e15), "2.0e15×");
        assert_eq!(percent(0.012345), "1.23%");
        assert_eq!(percent(0.0), "0.00%");
        assert_eq!(percent_sig(1e-4), "0.01%");
        assert_eq!(percent_sig(1e-3), "0.1%");
        assert_eq!(percent_sig(1.0), "100%");
        assert_eq!(percent_sig(10.0), "1000%");
    }
}

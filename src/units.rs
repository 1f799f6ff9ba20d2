//! Human units for bytes, durations and ratios: the only formatting of numbers for people, shared
//! by the terminal, the Markdown report, the charts and the verdict prose. Imports nothing.

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
        let whole = r.round() as u64;
        let s = whole.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        format!("{out}x")
    } else if r >= 10.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.1}x")
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
}

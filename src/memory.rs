//! The tool's own memory, read from /proc (Linux): resident set size now, and the peak since the
//! last reset, so each phase's peak can be told apart. Imports nothing of the pipeline; where
//! /proc is missing every reading is None.

/// VmRSS / VmHWM of this process, in bytes.
fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub fn rss() -> Option<u64> {
    status_field("VmRSS:")
}

pub fn peak() -> Option<u64> {
    status_field("VmHWM:")
}

/// Start a new peak: writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

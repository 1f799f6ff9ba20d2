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

/// MemAvailable of /proc/meminfo: what the kernel says can be allocated without swapping.
pub fn available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_field(&meminfo, "MemAvailable:")
}

fn meminfo_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// How many workers that each hold a copy of the site were started, and why that many.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct WorkerMemory {
    /// Workers per pool asked for (`--workers`).
    pub asked: usize,
    /// Workers per pool started: as many as fit the memory, at most `asked`.
    pub started: usize,
    /// Pools up at the same time, each with `started` workers.
    pub pools: usize,
    /// Bytes one worker is taken to need: the loaded site's size in this run (None: unknown,
    /// and then no worker is held back).
    pub per_worker: Option<u64>,
    /// Bytes the workers may use in all.
    pub available: Option<u64>,
    /// Where `available` comes from: "MemAvailable" (/proc/meminfo when the workers start)
    /// or "--memory-limit" (the user's, when lower).
    pub available_from: String,
}

impl WorkerMemory {
    /// Workers per pool for `pools` pools of `asked` workers each, every worker needing
    /// `per_worker` bytes out of `available` (the lower of MemAvailable and `limit`).
    pub fn plan(
        asked: usize,
        pools: usize,
        per_worker: Option<u64>,
        mem_available: Option<u64>,
        limit: Option<u64>,
    ) -> Self {
        let (available, available_from) = match (mem_available, limit) {
            (Some(m), Some(l)) if l < m => (Some(l), "--memory-limit"),
            (None, Some(l)) => (Some(l), "--memory-limit"),
            (m, _) => (m, "MemAvailable"),
        };
        let started = match (per_worker.filter(|&b| b > 0), available) {
            (Some(each), Some(all)) => {
                let fit = all / (each.saturating_mul(pools.max(1) as u64));
                asked.min(usize::try_from(fit).unwrap_or(usize::MAX))
            }
            _ => asked,
        };
        Self {
            asked,
            started,
            pools,
            per_worker,
            available,
            available_from: available_from.to_string(),
        }
    }

    /// Whether the memory held workers back.
    pub fn limited(&self) -> bool {
        self.started < self.asked
    }

    /// "4 workers asked, 2 started: 2.3 GB each, 5.1 GB available (MemAvailable)".
    pub fn sentence(&self) -> String {
        let each = self.per_worker.map_or("size unknown".to_string(), |b| {
            format!("{} each", crate::units::bytes(b))
        });
        let available = self
            .available
            .map_or("available memory unknown".to_string(), |b| {
                format!("{} available ({})", crate::units::bytes(b), self.available_from)
            });
        let pools = match self.pools {
            1 => String::new(),
            n => format!(" per pool, {n} pools at once"),
        };
        format!(
            "{} workers asked, {} started{pools}: {each}, {available}",
            self.asked, self.started
        )
    }

    /// Why a pool of workers did not start at all.
    pub fn none_fit(&self) -> String {
        format!("not started: no worker fits the memory ({})", self.sentence())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1 << 30;

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text = "MemTotal:       24000000 kB\nMemAvailable:    5347737 kB\n";
        assert_eq!(meminfo_field(text, "MemAvailable:"), Some(5_347_737 * 1024));
        assert_eq!(meminfo_field(text, "SwapFree:"), None);
    }

    #[test]
    fn workers_are_held_to_what_fits() {
        // 2.3 GB each, 5.1 GB available: 2 of 4 fit in one pool, 1 per pool in two.
        let each = 23 * GB / 10;
        let plan = WorkerMemory::plan(4, 1, Some(each), Some(51 * GB / 10), None);
        assert_eq!((plan.started, plan.limited()), (2, true));
        assert_eq!(
            WorkerMemory::plan(4, 2, Some(each), Some(51 * GB / 10), None).started,
            1
        );
        assert_eq!(
            WorkerMemory::plan(4, 3, Some(each), Some(51 * GB / 10), None).started,
            0
        );
        // Never more than asked; unknown sizes hold nothing back.
        assert_eq!(
            WorkerMemory::plan(2, 1, Some(GB), Some(100 * GB), None).started,
            2
        );
        assert_eq!(WorkerMemory::plan(3, 2, None, Some(GB), None).started, 3);
        assert_eq!(WorkerMemory::plan(3, 2, Some(GB), None, None).started, 3);
    }

    #[test]
    fn a_lower_memory_limit_replaces_mem_available() {
        let plan = WorkerMemory::plan(4, 1, Some(GB), Some(10 * GB), Some(3 * GB));
        assert_eq!((plan.started, plan.available), (3, Some(3 * GB)));
        assert_eq!(plan.available_from, "--memory-limit");
        let plan = WorkerMemory::plan(4, 1, Some(GB), Some(2 * GB), Some(3 * GB));
        assert_eq!((plan.started, plan.available_from.as_str()), (2, "MemAvailable"));
        let plan = WorkerMemory::plan(4, 1, Some(GB), None, Some(3 * GB));
        assert_eq!(
            (plan.started, plan.available_from.as_str()),
            (3, "--memory-limit")
        );
    }

    #[test]
    fn the_sentence_gives_the_figures() {
        let plan = WorkerMemory::plan(4, 1, Some(2_300_000_000), Some(5_100_000_000), None);
        let text = plan.sentence();
        assert!(text.starts_with("4 workers asked, 2 started: "), "{text}");
        assert!(text.contains(&crate::units::bytes(2_300_000_000)), "{text}");
        assert!(text.contains(&crate::units::bytes(5_100_000_000)), "{text}");
    }
}

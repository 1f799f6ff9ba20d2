//! The machine's last-level cache, read from /sys (absent on some machines and containers).
use std::path::Path;

const CACHE_DIR: &str = "/sys/devices/system/cpu/cpu0/cache";

/// The size in bytes of the highest-level data or unified cache of CPU 0; None where /sys does
/// not say.
pub fn last_level_cache() -> Option<u64> {
    last_level_cache_in(Path::new(CACHE_DIR))
}

pub fn last_level_cache_in(dir: &Path) -> Option<u64> {
    let read = |index: &Path, name: &str| std::fs::read_to_string(index.join(name)).ok();
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("index"))
        .filter_map(|e| {
            let index = e.path();
            let kind = read(&index, "type")?;
            if !matches!(kind.trim(), "Data" | "Unified") {
                return None;
            }
            let level: u32 = read(&index, "level")?.trim().parse().ok()?;
            Some((level, parse_size(&read(&index, "size")?)?))
        })
        .max()
        .map(|(_, size)| size)
}

/// "32768K", "1M", "512" (bytes) → bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let scale = match unit.trim() {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_the_highest_level_are_read() {
        assert_eq!(parse_size("32768K\n"), Some(32 << 20));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("12Q"), None);
        let dir = std::env::temp_dir().join(format!("picklecost-llc-{}", std::process::id()));
        for (i, level, kind, size) in [
            (0, 1, "Data", "32K"),
            (1, 1, "Instruction", "32K"),
            (2, 3, "Unified", "16384K"),
            (3, 2, "Unified", "1024K"),
        ] {
            let index = dir.join(format!("index{i}"));
            std::fs::create_dir_all(&index).unwrap();
            std::fs::write(index.join("level"), format!("{level}\n")).unwrap();
            std::fs::write(index.join("type"), format!("{kind}\n")).unwrap();
            std::fs::write(index.join("size"), format!("{size}\n")).unwrap();
        }
        assert_eq!(last_level_cache_in(&dir), Some(16 << 20));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(last_level_cache_in(&dir), None, "no /sys cache directory: None");
    }
}

//! Proof that a run left the site directory as it found it.
//!
//! Generator code only ever runs against a private copy of the site (`picklecost.sitecopy`), so
//! the site should never change. This module checks that instead of trusting it: a fingerprint
//! of every entry (name, kind, size, modification time, link target, and a content hash for
//! files while the hashed total stays small) is taken before the run and compared after it. Any
//! difference is a loud error naming the paths.
use std::collections::BTreeMap;
use std::fs;
use std::hash::Hasher;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files are hashed while the bytes hashed so far stay under this; beyond it, metadata only.
const HASH_BUDGET_BYTES: u64 = 256 << 20;
/// Paths named in the error; the rest are counted.
const NAMED_CHANGES: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File {
        size: u64,
        modified_ns: i128,
        hash: Option<u64>,
    },
    Dir {
        modified_ns: i128,
    },
    Symlink {
        target: PathBuf,
    },
    Other,
    Unreadable(String),
}

/// Every entry under the site root, by path relative to it.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    root: PathBuf,
    entries: BTreeMap<PathBuf, Entry>,
    /// How long taking it took (the run reports the check as its `site_check` phase).
    pub seconds: f64,
}

/// The site changed during the run.
#[derive(Debug, thiserror::Error)]
#[error(
    "the site directory {root} changed during the run ({summary}); picklecost runs the \
     generator's code on a private copy, so another process (or a generator writing to absolute \
     paths) changed it: check those paths; no report was written"
)]
pub struct SiteChanged {
    pub root: PathBuf,
    pub summary: String,
    pub changes: Vec<String>,
}

impl Fingerprint {
    /// Walk `root` without following links (a link loop is one entry, not a loop).
    pub fn take(root: &Path) -> Self {
        let started = std::time::Instant::now();
        let mut walk = Walk {
            entries: BTreeMap::new(),
            hashed: 0,
        };
        walk.dir(root, Path::new(""));
        Fingerprint {
            root: root.to_path_buf(),
            entries: walk.entries,
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// Compare with a later fingerprint of the same root: `Err` naming what changed.
    pub fn unchanged(&self, after: &Fingerprint) -> Result<(), SiteChanged> {
        let changes = self.changes(after);
        if changes.is_empty() {
            return Ok(());
        }
        let mut summary = changes
            .iter()
            .take(NAMED_CHANGES)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if changes.len() > NAMED_CHANGES {
            summary.push_str(&format!(" and {} more", changes.len() - NAMED_CHANGES));
        }
        Err(SiteChanged {
            root: self.root.clone(),
            summary,
            changes,
        })
    }

    /// "added PATH" / "removed PATH" / "modified PATH", in path order (`printable` paths).
    pub fn changes(&self, after: &Fingerprint) -> Vec<String> {
        let mut out = Vec::new();
        for (path, before) in &self.entries {
            match after.entries.get(path) {
                None => out.push(format!("removed {}", printable(path))),
                Some(now) if !same(before, now) => out.push(format!("modified {}", printable(path))),
                Some(_) => {}
            }
        }
        for path in after.entries.keys() {
            if !self.entries.contains_key(path) {
                out.push(format!("added {}", printable(path)));
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What generator code wrote into the site's private copy: the copy as it is now against the
/// site's fingerprint from before the run (the copy started as the site, with the same
/// modification times), "added PATH" / "removed PATH" / "modified PATH" relative to the root.
/// Directories that were not copied (`skipped`, virtual environments) are left out.
pub fn copy_changes(site_before: &Fingerprint, copy: &Path, skipped: &[String]) -> Vec<String> {
    let now = Fingerprint::take(copy);
    let not_copied = |path: &Path| skipped.iter().any(|s| path.starts_with(s));
    let mut before = site_before.clone();
    before.entries.retain(|path, _| !not_copied(path));
    before.changes(&now)
}

/// Equal entries; a hash taken on one side only (the budget ran out at another point) is not
/// compared.
fn same(a: &Entry, b: &Entry) -> bool {
    match (a, b) {
        (
            Entry::File {
                size: s1,
                modified_ns: m1,
                hash: h1,
            },
            Entry::File {
                size: s2,
                modified_ns: m2,
                hash: h2,
            },
        ) => s1 == s2 && m1 == m2 && (h1.is_none() || h2.is_none() || h1 == h2),
        _ => a == b,
    }
}

struct Walk {
    entries: BTreeMap<PathBuf, Entry>,
    hashed: u64,
}

impl Walk {
    fn dir(&mut self, path: &Path, relative: &Path) {
        let listing = match fs::read_dir(path) {
            Ok(listing) => listing,
            Err(err) => {
                self.entries
                    .insert(relative.to_path_buf(), Entry::Unreadable(err.to_string()));
                return;
            }
        };
        for item in listing {
            match item {
                Ok(item) => self.entry(&item.path(), &relative.join(item.file_name())),
                Err(err) => {
                    self.entries
                        .insert(relative.join("?"), Entry::Unreadable(err.to_string()));
                }
            }
        }
    }

    fn entry(&mut self, path: &Path, relative: &Path) {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(err) => {
                self.entries
                    .insert(relative.to_path_buf(), Entry::Unreadable(err.to_string()));
                return;
            }
        };
        let kind = meta.file_type();
        let entry = if kind.is_symlink() {
            Entry::Symlink {
                target: fs::read_link(path).unwrap_or_default(),
            }
        } else if kind.is_dir() {
            self.dir(path, relative);
            Entry::Dir {
                modified_ns: modified_ns(&meta),
            }
        } else if kind.is_file() {
            Entry::File {
                size: meta.len(),
                modified_ns: modified_ns(&meta),
                hash: self.hash(path, meta.len()),
            }
        } else {
            Entry::Other
        };
        self.entries.insert(relative.to_path_buf(), entry);
    }

    fn hash(&mut self, path: &Path, size: u64) -> Option<u64> {
        if self.hashed + size > HASH_BUDGET_BYTES {
            return None;
        }
        self.hashed += size;
        let mut file = fs::File::open(path).ok()?;
        let mut hasher = std::hash::DefaultHasher::new();
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            match file.read(&mut buffer) {
                Ok(0) => return Some(hasher.finish()),
                Ok(n) => hasher.write(&buffer[..n]),
                Err(_) => return None,
            }
        }
    }
}

/// A path as text, each byte of a name that is not UTF-8 written as `\xNN` (as the Python side
/// names such pages), where `Path::display` would write U+FFFD for all of them alike.
fn printable(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = path.as_os_str().as_bytes();
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                out.push_str(text);
                return out;
            }
            Err(err) => {
                let (valid, rest) = bytes.split_at(err.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = err.error_len().unwrap_or(rest.len());
                for byte in &rest[..bad] {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
                bytes = &rest[bad..];
            }
        }
    }
}

fn modified_ns(meta: &fs::Metadata) -> i128 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("picklecost-guard-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("content")).unwrap();
        fs::write(dir.join("content/a.md"), "# a\n").unwrap();
        fs::write(dir.join("bengal.toml"), "[site]\n").unwrap();
        dir
    }

    #[test]
    fn an_untouched_site_passes_and_every_kind_of_change_is_named() {
        let dir = scratch("changes");
        // A link loop under the content directory is one entry, not an endless walk.
        std::os::unix::fs::symlink("..", dir.join("content/loop")).unwrap();
        let before = Fingerprint::take(&dir);
        assert_eq!(before.len(), 4, "{before:?}");
        assert!(before.unchanged(&Fingerprint::take(&dir)).is_ok());

        // Same size, same second: only the content hash can see this one.
        let old = fs::metadata(dir.join("content/a.md"))
            .unwrap()
            .modified()
            .unwrap();
        fs::write(dir.join("content/a.md"), "# b\n").unwrap();
        fs::File::options()
            .write(true)
            .open(dir.join("content/a.md"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        fs::create_dir(dir.join("templates")).unwrap();
        fs::remove_file(dir.join("bengal.toml")).unwrap();
        let err = before.unchanged(&Fingerprint::take(&dir)).unwrap_err();
        assert_eq!(
            err.changes,
            ["removed bengal.toml", "modified content/a.md", "added templates",]
        );
        let text = err.to_string();
        assert!(
            text.contains("(removed bengal.toml, modified content/a.md, added templates)"),
            "{text}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_into_a_copy_are_listed_against_the_site_and_skipped_directories_left_out() {
        let site = scratch("copy-site");
        fs::create_dir_all(site.join(".venv/bin")).unwrap();
        fs::write(site.join(".venv/pyvenv.cfg"), "home = /usr\n").unwrap();
        let before = Fingerprint::take(&site);
        let copy = scratch("copy-copy");
        for (file, src) in [("content/a.md", "content/a.md"), ("bengal.toml", "bengal.toml")] {
            let modified = fs::metadata(site.join(src)).unwrap().modified().unwrap();
            fs::File::options()
                .write(true)
                .open(copy.join(file))
                .unwrap()
                .set_modified(modified)
                .unwrap();
        }
        let content_mtime = fs::metadata(site.join("content")).unwrap().modified().unwrap();
        fs::File::open(copy.join("content"))
            .unwrap()
            .set_modified(content_mtime)
            .unwrap();
        assert_eq!(
            copy_changes(&before, &copy, &[".venv".into()]),
            Vec::<String>::new()
        );
        fs::create_dir_all(copy.join("content/__pycache__")).unwrap();
        fs::write(copy.join("content/__pycache__/a.pyc"), "compiled").unwrap();
        assert_eq!(
            copy_changes(&before, &copy, &[".venv".into()]),
            [
                "modified content",
                "added content/__pycache__",
                "added content/__pycache__/a.pyc"
            ]
        );
        fs::remove_dir_all(&site).unwrap();
        fs::remove_dir_all(&copy).unwrap();
    }

    #[test]
    fn a_file_name_that_is_not_utf8_is_fingerprinted_and_named_by_its_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let dir = scratch("bytes");
        let name = std::ffi::OsStr::from_bytes(b"content/caf\xe9-\xff\xfe.md");
        fs::write(dir.join(name), "# caf\n").unwrap();
        let before = Fingerprint::take(&dir);
        assert_eq!(before.len(), 4, "{before:?}");
        assert!(before.unchanged(&Fingerprint::take(&dir)).is_ok());
        fs::write(dir.join(name), "# caf\u{e9}, longer\n").unwrap();
        let err = before.unchanged(&Fingerprint::take(&dir)).unwrap_err();
        assert_eq!(err.changes, [r"modified content/caf\xe9-\xff\xfe.md"]);
        assert_eq!(printable(Path::new("caf\u{e9}.md")), "caf\u{e9}.md");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_long_list_of_changes_is_counted_past_the_named_ones() {
        let dir = scratch("many");
        let before = Fingerprint::take(&dir);
        for n in 0..12 {
            fs::write(dir.join(format!("cache-{n:02}")), "x").unwrap();
        }
        let err = before.unchanged(&Fingerprint::take(&dir)).unwrap_err();
        assert_eq!(err.changes.len(), 12);
        assert!(err.summary.ends_with(" and 4 more"), "{}", err.summary);
        fs::remove_dir_all(&dir).unwrap();
    }
}

//! The run's scratch directories: outside the site, removed when dropped (also on errors and
//! interrupts, which unwind to here).
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Memory-backed storage for the site's private copy, where the system has it. On these
/// machines a 10,000-page site (10,020 files, 75 MB) copies in ~0.9 s there and ~8.5 s onto
/// the disk under /tmp: file creation on disk, not bytes, is what costs.
const MEMORY_DIR: &str = "/dev/shm";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Marks a memory-backed scratch directory as picklecost's: its short `pc-PID-N` name alone is
/// not proof enough to remove one a dead run left.
const MARKER: &str = ".picklecost-scratch";

/// `picklecost-PID-N` under `$TMPDIR` (builds, output, caches) and, where it can be made,
/// `pc-PID-N` under /dev/shm (the site's private copy, when it fits: `picklecost.sitecopy`
/// decides). Short names on purpose: the copy's root is padded to the site root's length, which
/// needs the scratch path to be shorter than the site's (`/dev/shm/pc-4242-0/s` is 20 bytes).
pub struct Workdir {
    path: PathBuf,
    memory: Option<PathBuf>,
}

impl Workdir {
    pub fn create() -> Result<Self> {
        remove_abandoned();
        let id = format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let path = fresh_dir(&std::env::temp_dir().join(format!("picklecost-{id}")))?;
        let memory = fresh_dir(&Path::new(MEMORY_DIR).join(format!("pc-{id}")))
            .and_then(|dir| std::fs::write(dir.join(MARKER), b"").map(|()| dir))
            .ok();
        for dir in std::iter::once(&path).chain(&memory) {
            crate::python::interrupt::remove_if_cut_short(dir);
        }
        Ok(Self { path, memory })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the site's private copy may go, fastest first.
    pub fn copy_bases(&self) -> Vec<String> {
        self.memory
            .iter()
            .chain(std::iter::once(&self.path))
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }
}

/// A directory of this name, empty: one left by a dead process that had our process id is
/// removed first.
fn fresh_dir(path: &Path) -> std::io::Result<PathBuf> {
    let _ = std::fs::remove_dir_all(path);
    std::fs::create_dir_all(path)?;
    Ok(path.to_path_buf())
}

/// A run killed outright (SIGKILL, a crash) cannot clean up after itself and can leave a build
/// copy behind: remove those whose process is gone.
fn remove_abandoned() {
    let places = [
        (std::env::temp_dir(), "picklecost-", false),
        (PathBuf::from(MEMORY_DIR), "pc-", true),
    ];
    for (dir, prefix, marked) in places {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
                continue;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            let dead = pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists();
            if dead && (!marked || entry.path().join(MARKER).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        if let Some(memory) = &self.memory {
            let _ = std::fs::remove_dir_all(memory);
        }
    }
}

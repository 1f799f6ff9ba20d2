//! Everything written to --out: exporters turn a run into files (bytes), one exporter per
//! format behind one trait, and `OutDir::write` is the one place that writes them — to a staging
//! directory first, moved into place only when every file was exported and written.
pub mod assemble;
pub mod charts;
pub mod hgrm;
pub mod json;
pub mod markdown;
pub mod readset;
pub mod scale;
pub mod svg;
#[cfg(test)]
pub mod testdata;

use crate::measure::PayloadResult;
use crate::model::results::Results;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub struct Run<'a> {
    pub results: &'a Results,
    pub payloads: &'a [PayloadResult],
    /// Transport round trips and the render-cost histogram, when measured.
    pub transports: Option<(&'a [crate::transport::Cell], &'a hdrhistogram::Histogram<u64>)>,
}

/// One file of the report: its path relative to the report directory, and its contents.
pub struct ReportFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

impl ReportFile {
    pub fn new(path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.into(),
            bytes: bytes.into(),
        }
    }
}

pub trait Exporter {
    /// This format's files for the run; nothing is written here.
    fn export(&self, run: &Run) -> Result<Vec<ReportFile>>;
}

/// Every format picklecost writes.
pub fn exporters() -> [&'static dyn Exporter; 4] {
    [&hgrm::Hgrm, &svg::Svg, &markdown::Markdown, &json::Json]
}

/// The report directory; remembers whether this run created it, to remove it on failure.
pub struct OutDir {
    path: PathBuf,
    created: bool,
}

impl OutDir {
    /// Create (if needed) and prove writable up front, before minutes of measuring.
    pub fn prepare(path: &Path) -> Result<Self, crate::error::UserError> {
        let unwritable = |reason: String| crate::error::UserError::OutUnwritable {
            path: path.to_path_buf(),
            reason,
        };
        let created = !path.exists();
        std::fs::create_dir_all(path).map_err(|e| unwritable(e.to_string()))?;
        let probe = path.join(format!(".picklecost-probe-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(|e| {
            if created {
                let _ = std::fs::remove_dir_all(path);
            }
            unwritable(e.to_string())
        })?;
        let _ = std::fs::remove_file(&probe);
        Ok(Self {
            path: path.to_path_buf(),
            created,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A failed run leaves no report directory it created.
    pub fn discard(&self) {
        if self.created {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }

    /// Write report files into a staging directory inside the report directory, then move them
    /// into place. A failed export or write leaves the report directory as it was, and no file
    /// is ever half written. The files are moved one rename at a time (the report directory may
    /// hold other files, so it is not replaced as a whole): only a failure between two renames
    /// would leave new files beside old ones.
    pub fn write_files(&self, files: &[ReportFile]) -> Result<()> {
        let staging = self
            .path
            .join(format!(".picklecost-staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)?;
        let written = (|| -> Result<()> {
            for file in files {
                write_file(&staging.join(&file.path), &file.bytes)?;
            }
            publish(&staging, &self.path)
        })();
        let _ = std::fs::remove_dir_all(&staging);
        written
    }

    pub fn write(&self, run: &Run, exporters: &[&dyn Exporter]) -> Result<()> {
        let mut files = Vec::new();
        for exporter in exporters {
            files.extend(exporter.export(run)?);
        }
        self.write_files(&files)
    }
}

/// Move every staged file into the report directory, replacing older ones.
fn publish(staging: &Path, out: &Path) -> Result<()> {
    for entry in std::fs::read_dir(staging)? {
        let entry = entry?;
        let target = out.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            publish(&entry.path(), &target)?;
        } else {
            std::fs::rename(entry.path(), &target)
                .with_context(|| format!("moving report file into {}", target.display()))?;
        }
    }
    Ok(())
}

fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

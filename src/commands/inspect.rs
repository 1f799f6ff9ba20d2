//! `picklecost inspect`: what pickle files on disk contain and need, without loading them.
use crate::pickle::{
    self, FileReport, GlobalRef, InspectOptions, Literal, MemoStats, OpcodeStat, StreamReport,
};
use crate::settings::InspectSettings;
use crate::units::bytes;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// File names taken from a directory (a file named on the command line is always read).
const PICKLE_EXTENSIONS: &[&str] = &["pickle", "pkl", "pck", "pcl", "p", "pickle5", "pkl5"];

/// One file: its streams folded together, and each stream as read.
#[derive(Serialize, Debug)]
pub struct FileSummary {
    pub path: String,
    pub ok: bool,
    pub error: Option<String>,
    pub error_offset: Option<usize>,
    pub protocol: Option<u8>,
    pub size: u64,
    pub stream_count: usize,
    pub frames: u64,
    pub opcodes: BTreeMap<String, OpcodeStat>,
    pub globals: Vec<GlobalRef>,
    pub memo: MemoStats,
    pub largest: Vec<Literal>,
    pub buffers: u64,
    pub max_depth: usize,
    pub plain_data: bool,
    pub streams: Vec<StreamReport>,
}

#[derive(Serialize, Debug, Default)]
pub struct Totals {
    pub files: usize,
    pub ok: usize,
    pub failed: usize,
    pub size: u64,
    pub streams: usize,
    pub opcodes: BTreeMap<String, OpcodeStat>,
    pub globals: Vec<GlobalRef>,
    pub unsafe_globals: usize,
    pub plain_data_files: usize,
}

#[derive(Serialize, Debug)]
pub struct InspectReport {
    pub files: Vec<FileSummary>,
    pub totals: Totals,
}

/// Exit status: every stream parsed (true) or not.
pub fn run(settings: &InspectSettings) -> Result<bool> {
    let files = collect_files(&settings.paths)?;
    let options = InspectOptions {
        top_n: settings.top,
        dump: settings.dump,
        ..InspectOptions::default()
    };
    let reports = pickle::inspect_files_with(&files, &options);
    let report = summarize(
        reports,
        files.iter().map(|f| file_size(f)).collect(),
        settings.top,
    );
    let all_ok = report.totals.failed == 0;
    let text = if settings.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        human(&report, settings.top)
    };
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(all_ok)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            walk(path, &mut files).with_context(|| format!("reading directory {}", path.display()))?;
            files[before..].sort();
        } else if path.exists() {
            files.push(path.clone());
        } else {
            bail!(
                "{} does not exist; name pickle files or directories that hold them",
                path.display()
            );
        }
    }
    if files.is_empty() {
        bail!(
            "no pickle files found (in a directory, files ending in .{} are read; name other files directly)",
            PICKLE_EXTENSIONS.join(", .")
        );
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, files)?;
        } else if kind.is_file()
            && path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| PICKLE_EXTENSIONS.contains(&e))
        {
            files.push(path);
        }
    }
    Ok(())
}

fn add_opcodes(into: &mut BTreeMap<String, OpcodeStat>, from: &BTreeMap<String, OpcodeStat>) {
    for (name, stat) in from {
        let entry = into.entry(name.clone()).or_default();
        entry.count += stat.count;
        entry.bytes += stat.bytes;
    }
}

fn add_globals(into: &mut BTreeMap<String, (u64, bool)>, from: &[GlobalRef]) {
    for g in from {
        let entry = into.entry(g.name.clone()).or_insert((0, g.is_unsafe));
        entry.0 += g.count;
    }
}

fn sorted_globals(map: BTreeMap<String, (u64, bool)>) -> Vec<GlobalRef> {
    let mut globals: Vec<GlobalRef> = map
        .into_iter()
        .map(|(name, (count, is_unsafe))| GlobalRef {
            name,
            count,
            is_unsafe,
        })
        .collect();
    globals.sort_by(|a, b| {
        b.is_unsafe
            .cmp(&a.is_unsafe)
            .then(b.count.cmp(&a.count))
            .then(a.name.cmp(&b.name))
    });
    globals
}

pub fn summarize(reports: Vec<FileReport>, sizes: Vec<u64>, top: usize) -> InspectReport {
    let mut totals = Totals::default();
    let mut all_globals = BTreeMap::new();
    let mut files = Vec::new();
    for (r, size) in reports.into_iter().zip(sizes) {
        let mut opcodes = BTreeMap::new();
        let mut globals = BTreeMap::new();
        let mut memo = MemoStats::default();
        let mut largest: Vec<Literal> = Vec::new();
        for s in &r.streams {
            add_opcodes(&mut opcodes, &s.opcodes);
            add_globals(&mut globals, &s.globals);
            memo.puts += s.memo.puts;
            memo.gets += s.memo.gets;
            largest.extend(s.largest.iter().cloned());
        }
        largest.sort_by_key(|l| std::cmp::Reverse(l.size));
        largest.truncate(top);
        add_opcodes(&mut totals.opcodes, &opcodes);
        add_globals(&mut all_globals, &sorted_globals(globals.clone()));
        let summary = FileSummary {
            path: r.path.display().to_string(),
            ok: r.ok,
            error: r.error.clone(),
            error_offset: r.error_offset,
            protocol: r.streams.iter().filter_map(|s| s.protocol).max(),
            size,
            stream_count: r.streams.len(),
            frames: r.streams.iter().map(|s| s.frames).sum(),
            opcodes,
            globals: sorted_globals(globals),
            memo,
            largest,
            buffers: r.streams.iter().map(|s| s.buffers).sum(),
            max_depth: r.streams.iter().map(|s| s.max_depth).max().unwrap_or(0),
            plain_data: r.ok && !r.streams.is_empty() && r.streams.iter().all(|s| s.plain_data),
            streams: r.streams,
        };
        totals.files += 1;
        if summary.ok {
            totals.ok += 1
        } else {
            totals.failed += 1
        }
        totals.size += size;
        totals.streams += summary.stream_count;
        totals.plain_data_files += summary.plain_data as usize;
        files.push(summary);
    }
    totals.globals = sorted_globals(all_globals);
    totals.unsafe_globals = totals.globals.iter().filter(|g| g.is_unsafe).count();
    InspectReport { files, totals }
}

fn human(report: &InspectReport, top: usize) -> String {
    let mut s = String::new();
    for f in &report.files {
        let _ = writeln!(
            s,
            "{} — {}, {} stream(s), protocol {}, {} frame(s){}",
            f.path,
            bytes(f.size),
            f.stream_count,
            f.protocol.map_or("0/1 (no PROTO)".to_string(), |p| p.to_string()),
            f.frames,
            if f.plain_data { ", plain data" } else { "" }
        );
        if let Some(err) = &f.error {
            let _ = writeln!(s, "  ERROR: {err}");
        }
        let ops: u64 = f.opcodes.values().map(|o| o.count).sum();
        let mut by_bytes: Vec<(&String, &OpcodeStat)> = f.opcodes.iter().collect();
        by_bytes.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
        let _ = writeln!(
            s,
            "  {ops} opcodes; most bytes: {}",
            by_bytes
                .iter()
                .take(5)
                .map(|(n, o)| format!("{n} {} ({}x)", bytes(o.bytes), o.count))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            s,
            "  memo: {} puts, {} gets; max depth {}; {} out-of-band buffer(s)",
            f.memo.puts, f.memo.gets, f.max_depth, f.buffers
        );
        if f.globals.is_empty() {
            let _ = writeln!(s, "  globals: none (a receiver needs no imports)");
        } else {
            let _ = writeln!(s, "  globals a receiver must import ({}):", f.globals.len());
            for g in f.globals.iter().take(top) {
                let _ = writeln!(
                    s,
                    "    {:>6}x  {}{}",
                    g.count,
                    g.name,
                    if g.is_unsafe { "   UNSAFE" } else { "" }
                );
            }
            if f.globals.len() > top {
                let _ = writeln!(
                    s,
                    "    ... {} more (--top to show more, --json for all)",
                    f.globals.len() - top
                );
            }
        }
        if !f.largest.is_empty() {
            let _ = writeln!(s, "  largest literals:");
            for l in f.largest.iter().take(top.min(5)) {
                let _ = writeln!(
                    s,
                    "    {:>10}  {} at {}: {}",
                    bytes(l.size as u64),
                    l.kind,
                    l.offset,
                    l.preview
                );
            }
        }
        for stream in f.streams.iter().filter_map(|st| st.dump.as_ref()) {
            let _ = writeln!(s, "  value: {stream}");
        }
        s.push('\n');
    }
    let t = &report.totals;
    let _ = writeln!(
        s,
        "{} file(s), {} parsed, {} failed, {} in all; {} distinct globals, {} unsafe",
        t.files,
        t.ok,
        t.failed,
        bytes(t.size),
        t.globals.len(),
        t.unsafe_globals
    );
    if t.unsafe_globals > 0 {
        let names: Vec<&str> = t
            .globals
            .iter()
            .filter(|g| g.is_unsafe)
            .map(|g| g.name.as_str())
            .collect();
        let _ = writeln!(
            s,
            "WARNING: loading these pickles would call {}",
            names.join(", ")
        );
    }
    s
}

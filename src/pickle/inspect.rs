//! Static analysis of pickle streams: opcode statistics, imported globals,
//! memo use, large literals, nesting, and whether the stream is plain data.
//!
//! Nothing here unpickles. The analysis runs a *symbolic* unpickler stack that
//! only knows, per item, "string (and which bytes)", "container" or "other":
//! enough to resolve STACK_GLOBAL operands and to measure nesting, with memory
//! bounded by `Limits` rather than by anything the
//! input declares. This file holds the entry points (`analyzer.rs` makes one
//! pass over one stream).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::analyzer::Analyzer;
use super::reader::PickleError;
use super::report::{FileReport, InspectOptions, StreamReport};
use super::source::Source;

/// Analyses the first stream in `data` (what `pickle.loads` would read).
pub fn inspect(data: &[u8], opts: &InspectOptions) -> Result<StreamReport, PickleError> {
    inspect_stream(data, 0, opts)
}

/// Analyses every concatenated stream of `data` with default options. After
/// the first error the remaining bytes cannot be resynchronised, so the error
/// is the last element.
pub fn inspect_all(data: &[u8]) -> Vec<Result<StreamReport, PickleError>> {
    inspect_all_with(data, &InspectOptions::default())
}

pub fn inspect_all_with(data: &[u8], opts: &InspectOptions) -> Vec<Result<StreamReport, PickleError>> {
    inspect_all_release(data, opts, Option::None)
}

fn inspect_all_release(
    data: &[u8],
    opts: &InspectOptions,
    release: Option<&(dyn Fn(usize) + Sync)>,
) -> Vec<Result<StreamReport, PickleError>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        match inspect_stream_with(data, pos, opts, true, release) {
            Ok(r) => {
                pos += r.size;
                out.push(Ok(r));
            }
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    out
}

/// Analyses files in parallel.
pub fn inspect_files(paths: &[PathBuf]) -> Vec<FileReport> {
    inspect_files_with(paths, &InspectOptions::default())
}

pub fn inspect_files_with(paths: &[PathBuf], opts: &InspectOptions) -> Vec<FileReport> {
    paths.par_iter().map(|p| inspect_file(p, opts)).collect()
}

pub fn inspect_file(path: &Path, opts: &InspectOptions) -> FileReport {
    let mut report = FileReport {
        path: path.to_path_buf(),
        ok: false,
        error: None,
        error_offset: None,
        streams: Vec::new(),
    };
    // Mapped rather than read when large: memory follows what the analysis
    // keeps, not the file size (see `Source`).
    let src = match Source::open(path) {
        Ok(d) => d,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    let release = |upto: usize| src.release_before(upto);
    for r in inspect_all_release(src.bytes(), opts, Some(&release)) {
        match r {
            Ok(s) => report.streams.push(s),
            Err(e) => {
                report.error = Some(e.to_string());
                report.error_offset = Some(e.offset());
            }
        }
    }
    report.ok = report.error.is_none();
    report
}

/// Distinct global names referenced by all streams of `data`, sorted. On a
/// malformed stream, the names seen before the error are still returned; a
/// loader would fail at the error too, so it cannot import anything later.
pub fn globals_of(data: &[u8]) -> Vec<String> {
    let opts = InspectOptions {
        top_n: 0,
        check_plain: false,
        ..InspectOptions::default()
    };
    let mut names = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let mut a = Analyzer::new(data, pos, &opts);
        let res = a.run();
        names.extend(a.globals.iter().map(|g| g.name.clone()));
        match res {
            Ok(end) => pos = end,
            Err(_) => break,
        }
    }
    names.sort();
    names.dedup();
    names
}

/// True when `data` is one or more well-formed streams that are all plain data.
pub fn is_plain_data(data: &[u8]) -> bool {
    let opts = InspectOptions {
        top_n: 0,
        ..InspectOptions::default()
    };
    let all = inspect_all_with(data, &opts);
    !all.is_empty() && all.iter().all(|r| matches!(r, Ok(s) if s.plain_data))
}

fn inspect_stream(data: &[u8], start: usize, opts: &InspectOptions) -> Result<StreamReport, PickleError> {
    inspect_stream_with(data, start, opts, true, Option::None)
}

fn inspect_stream_with(
    data: &[u8],
    start: usize,
    opts: &InspectOptions,
    fast_plain: bool,
    release: Option<&(dyn Fn(usize) + Sync)>,
) -> Result<StreamReport, PickleError> {
    let mut a = Analyzer::with_plain(data, start, opts, fast_plain);
    a.release = release;
    let end = a.run()?;
    Ok(a.finish(end))
}

/// Reference for tests: per stream, `plain_data` as decided by decoding every
/// stream without object opcodes with serde_pickle (what `inspect` did before
/// it decided from the opcode stream). Stops at the first error.
#[doc(hidden)]
pub fn plain_data_by_decoding(data: &[u8], opts: &InspectOptions) -> Vec<bool> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        match inspect_stream_with(data, pos, opts, false, Option::None) {
            Ok(r) => {
                pos += r.size;
                out.push(r.plain_data);
            }
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::report::{GlobalRef, MemoStats};

    #[test]
    fn exponential_sharing_is_not_plain_data() {
        let s = crate::pickle::decode::tests::exponential_sharing();
        let r = inspect(&s, &InspectOptions::default()).unwrap();
        assert!(!r.plain_data);
        assert_eq!(r.memo, MemoStats { puts: 62, gets: 120 });
    }

    #[test]
    fn stack_global_via_memo() {
        // proto 4: 'os' memoized, 'system' memoized, STACK_GLOBAL, then again via BINGET.
        let data = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94h\x00h\x01\x93\x86.";
        let r = inspect(data, &InspectOptions::default()).unwrap();
        assert_eq!(
            r.globals,
            vec![GlobalRef {
                name: "os.system".into(),
                count: 2,
                is_unsafe: true
            }]
        );
        assert_eq!(r.memo, MemoStats { puts: 3, gets: 2 });
        assert_eq!(r.protocol, Some(4));
        assert!(!r.plain_data);
    }

    #[test]
    fn pop_mark_restores_a_run_extended_above_the_mark() {
        // 'os', 1, MARK, 2 (same run as 1), POP_MARK, POP (the 1), 'system',
        // STACK_GLOBAL: the operands are 'os' and 'system' again.
        let data = b"\x80\x04\x8c\x02osK\x01(K\x0210\x8c\x06system\x93.";
        let r = inspect(data, &InspectOptions::default()).unwrap();
        assert_eq!(r.globals[0].name, "os.system");
        assert_eq!(r.max_depth, 1);
    }

    #[test]
    fn unresolvable_stack_global_is_unsafe() {
        let r = inspect(b"\x80\x04K\x01\x8c\x01x\x93.", &InspectOptions::default()).unwrap();
        assert_eq!(r.globals[0].name, "<unknown>.x");
        assert!(r.globals[0].is_unsafe);
    }

    #[test]
    fn plain_and_dump() {
        let opts = InspectOptions {
            dump: true,
            ..Default::default()
        };
        // {'a': [1, 2.5, None, True], 'b': b'\x00'}
        let data = b"\x80\x04}\x94(\x8c\x01a\x94]\x94(K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88e\x8c\x01b\x94C\x01\x00\x94u.";
        let r = inspect(data, &opts).unwrap();
        assert!(r.plain_data);
        assert_eq!(
            r.dump.as_deref(),
            Some("{'a': [1, 2.5, None, True], 'b': b'\\x00'}")
        );
    }
}

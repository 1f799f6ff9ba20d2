//! Static analysis of pickle streams: opcode statistics, imported globals,
//! memo use, large literals, nesting, and whether the stream is plain data.
//!
//! Nothing here unpickles. The analysis runs a *symbolic* unpickler stack that
//! only knows, per item, "string (and which bytes)", "container" or "other":
//! enough to resolve STACK_GLOBAL operands and to measure nesting, with memory
//! bounded by [`Limits`] rather than by anything the input declares.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::decode::decode_plain;
use super::plain::{PlainCheck, Verdict};
use super::reader::{Arg, Op, Opcode, PickleError, Reader, op_at};
use super::source::Source;

/// Globals that give a pickle code execution, file/network/process access or
/// a way to reach those indirectly. An entry is `module.*` (whole module and
/// its submodules), `module.prefix*` (names starting with prefix) or an exact
/// `module.qualname`. Python 2 names (`__builtin__`) are listed alongside the
/// Python 3 ones because CPython maps them at load time for protocols < 3.
pub const UNSAFE_GLOBALS: &[&str] = &[
    "os.*",
    "posix.*",
    "nt.*",
    "posixpath.*",
    "ntpath.*",
    "subprocess.*",
    "pty.*",
    "shutil.*",
    "socket.*",
    "_socket.*",
    "sys.*",
    "importlib.*",
    "runpy.*",
    "code.*",
    "codeop.*",
    "ctypes.*",
    "_ctypes.*",
    "multiprocessing.*",
    "asyncio.*",
    "webbrowser.*",
    "pickle.*",
    "_pickle.*",
    "marshal.*",
    "types.FunctionType",
    "types.LambdaType",
    "types.CodeType",
    "types.ModuleType",
    "types.MethodType",
    "signal.*",
    "tempfile.*",
    "io.open",
    "io.FileIO",
    "_io.open",
    "_io.FileIO",
    "operator.attrgetter",
    "operator.methodcaller",
    "builtins.eval",
    "builtins.exec",
    "builtins.compile",
    "builtins.__import__",
    "builtins.open",
    "builtins.getattr",
    "builtins.setattr",
    "builtins.delattr",
    "builtins.globals",
    "builtins.locals",
    "builtins.vars",
    "builtins.input",
    "builtins.breakpoint",
    "builtins.exit",
    "builtins.quit",
    "__builtin__.eval",
    "__builtin__.exec",
    "__builtin__.execfile",
    "__builtin__.compile",
    "__builtin__.__import__",
    "__builtin__.open",
    "__builtin__.file",
    "__builtin__.getattr",
    "__builtin__.setattr",
    "__builtin__.delattr",
    "__builtin__.globals",
    "__builtin__.locals",
    "__builtin__.vars",
    "__builtin__.input",
    "__builtin__.raw_input",
    "__builtin__.reload",
    "commands.*",
    "popen2.*",
];

/// True if `module.name` matches [`UNSAFE_GLOBALS`].
pub fn is_unsafe_global(module: &str, name: &str) -> bool {
    UNSAFE_GLOBALS.iter().any(|pat| {
        let (pm, pn) = pat.rsplit_once('.').unwrap_or((pat, ""));
        if pn == "*" {
            return module == pm || module.strip_prefix(pm).is_some_and(|rest| rest.starts_with('.'));
        }
        if module != pm {
            return false;
        }
        match pn.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == pn,
        }
    })
}

/// Resource bounds; exceeding the first two is an error, the others only
/// degrade precision (see field docs).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Maximum of [`StreamReport::max_depth`].
    pub max_depth: usize,
    /// Maximum run-length-encoded entries on the symbolic stack. Runs of
    /// non-string items take one entry, so only many distinct strings between
    /// a MARK and its consumer (e.g. a huge tuple of strings) count.
    pub max_stack_entries: usize,
    /// Memoized strings remembered for STACK_GLOBAL resolution; beyond it a
    /// STACK_GLOBAL fed from the memo reports `<unknown>` (and unsafe).
    pub max_memo_strings: usize,
    /// Plain-data decoding is skipped (plain_data = false) when the decoded
    /// value would be nested deeper than this; serde_pickle recurses per
    /// level, so deep values are decoded on a thread with a matching stack.
    pub max_decode_depth: u32,
    /// ... or when its estimated in-memory size exceeds this many bytes plus
    /// `decode_bytes_per_input_byte` times the stream size. Memo references
    /// are copied by serde_pickle, so a small pickle can expand exponentially.
    pub max_decode_bytes: u64,
    pub decode_bytes_per_input_byte: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 10_000,
            max_stack_entries: 1 << 20,
            max_memo_strings: 1 << 16,
            max_decode_depth: 1000,
            max_decode_bytes: 64 << 20,
            decode_bytes_per_input_byte: 32,
        }
    }
}

#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// How many literals to keep in [`StreamReport::largest`].
    pub top_n: usize,
    /// Decide plain-data status. Decided from the opcode stream in the same
    /// pass (no value is built); serde_pickle only runs for `dump` and for the
    /// rare streams the stream-level check cannot settle exactly (see
    /// `plain.rs`).
    pub check_plain: bool,
    /// Render plain streams into [`StreamReport::dump`].
    pub dump: bool,
    /// Cut the dump after this many characters.
    pub dump_max_chars: usize,
    pub limits: Limits,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            top_n: 10,
            check_plain: true,
            dump: false,
            dump_max_chars: 4096,
            limits: Limits::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OpcodeStat {
    pub count: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GlobalRef {
    /// `module.qualname` as spelled in the stream; `<ext:CODE>` for EXT1/2/4
    /// (the copyreg extension registry is a runtime property, not knowable
    /// statically) and `<unknown>` for STACK_GLOBAL operands that are not
    /// traceable strings.
    pub name: String,
    /// Number of GLOBAL/INST/STACK_GLOBAL/EXT opcodes naming it (repeated uses
    /// of an object are usually memo GETs and are not counted here).
    pub count: u64,
    /// Listed in [`UNSAFE_GLOBALS`], or not statically resolvable.
    #[serde(rename = "unsafe")]
    pub is_unsafe: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MemoStats {
    pub puts: u64,
    pub gets: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Literal {
    /// "str" for the unicode opcodes; "bytes" for BINBYTES* and the protocol
    /// 0-2 STRING/BINSTRING/SHORT_BINSTRING 8-bit strings; "bytearray".
    pub kind: &'static str,
    /// Offset of the opcode.
    pub offset: usize,
    /// Payload length in bytes as stored (UTF-8 for str; for protocol 0
    /// UNICODE/STRING the escaped text line).
    pub size: usize,
    /// First 60 characters, escaped.
    pub preview: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamReport {
    /// Offset of the stream's first byte in the analysed buffer.
    pub offset: usize,
    /// Argument of the first PROTO opcode; None when there is none (protocol
    /// 0 and 1 streams have no PROTO).
    pub protocol: Option<u8>,
    /// Bytes of this stream including STOP.
    pub size: usize,
    pub frames: u64,
    pub opcodes: BTreeMap<String, OpcodeStat>,
    /// In order of first appearance.
    pub globals: Vec<GlobalRef>,
    pub memo: MemoStats,
    /// Largest string/bytes literals, biggest first (ties: earliest first).
    pub largest: Vec<Literal>,
    /// NEXT_BUFFER opcodes (out-of-band buffers the loader must supply).
    pub buffers: u64,
    /// Maximum, over the stream, of open MARKs plus container objects (list,
    /// dict, set, frozenset, tuple) sitting on the unpickler stack at once.
    /// Nested data built in protocol 0 counts one MARK per level, in protocol
    /// 1+ one container per level (plus a MARK per batched level).
    pub max_depth: usize,
    /// No globals, EXT, PERSID/BINPERSID, REDUCE, BUILD, NEWOBJ(_EX), INST,
    /// OBJ or out-of-band buffers, and serde_pickle would decode the stream
    /// within the decode limits of [`Limits`] (decided from the opcodes
    /// without decoding; same answer, see `plain.rs`).
    pub plain_data: bool,
    /// Rendering of the decoded value, when requested and plain.
    pub dump: Option<String>,
}

/// Outcome for one file of [`inspect_files`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    /// Read succeeded and every stream analysed without error.
    pub ok: bool,
    /// I/O error or the first stream error (later streams cannot be located).
    pub error: Option<String>,
    pub error_offset: Option<usize>,
    /// Streams analysed before any error.
    pub streams: Vec<StreamReport>,
}

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

// ---------------------------------------------------------------------------
// Symbolic stack

#[derive(Clone, Copy)]
enum Sym<'a> {
    Other,
    Container,
    Str(&'a [u8]),
}

struct Entry<'a> {
    sym: Sym<'a>,
    /// Run length; always 1 for Str.
    count: usize,
}

/// The stack as an open MARK found it. Nothing below a MARK changes while
/// it is open (every opcode only pops above the innermost one), except that
/// pushes may extend the run on top; so popping to the MARK restores this.
#[derive(Clone, Copy)]
struct MarkAt {
    len: usize,
    containers: usize,
    entries: usize,
    top_count: usize,
}

struct SymStack<'a> {
    entries: Vec<Entry<'a>>,
    len: usize,
    containers: usize,
    marks: Vec<MarkAt>,
    max_entries: usize,
}

impl<'a> SymStack<'a> {
    fn new(max_entries: usize) -> Self {
        SymStack {
            entries: Vec::new(),
            len: 0,
            containers: 0,
            marks: Vec::new(),
            max_entries,
        }
    }

    fn depth(&self) -> usize {
        self.marks.len() + self.containers
    }

    /// Items above the innermost MARK: all the unpickler lets an opcode touch.
    #[inline]
    fn avail(&self) -> usize {
        self.len - self.marks.last().map_or(0, |m| m.len)
    }

    #[inline]
    fn require(&self, n: usize, opcode: Opcode, offset: usize) -> Result<(), PickleError> {
        let available = self.avail();
        if available < n {
            return Err(PickleError::StackUnderflow {
                opcode: opcode.name(),
                offset,
                needed: n,
                available,
            });
        }
        Ok(())
    }

    #[inline]
    fn push(&mut self, sym: Sym<'a>, offset: usize) -> Result<(), PickleError> {
        self.len += 1;
        if matches!(sym, Sym::Container) {
            self.containers += 1;
        }
        if let Some(top) = self.entries.last_mut() {
            let same = matches!(
                (top.sym, sym),
                (Sym::Other, Sym::Other) | (Sym::Container, Sym::Container)
            );
            if same {
                top.count += 1;
                return Ok(());
            }
        }
        if self.entries.len() >= self.max_entries {
            return Err(PickleError::StackLimit {
                limit: self.max_entries,
                offset,
            });
        }
        self.entries.push(Entry { sym, count: 1 });
        Ok(())
    }

    #[inline]
    fn mark(&mut self) {
        self.marks.push(MarkAt {
            len: self.len,
            containers: self.containers,
            entries: self.entries.len(),
            top_count: self.entries.last().map_or(0, |e| e.count),
        });
    }

    /// Pops `n` items; callers check `require` first.
    #[inline]
    fn pop(&mut self, n: usize) {
        if let Some(top) = self.entries.last_mut()
            && top.count > n
        {
            top.count -= n;
            self.len -= n;
            if matches!(top.sym, Sym::Container) {
                self.containers -= n;
            }
            return;
        }
        self.pop_runs(n);
    }

    fn pop_runs(&mut self, mut n: usize) {
        while n > 0 {
            let Some(top) = self.entries.last_mut() else {
                return;
            };
            let k = top.count.min(n);
            top.count -= k;
            n -= k;
            self.len -= k;
            if matches!(top.sym, Sym::Container) {
                self.containers -= k;
            }
            if top.count == 0 {
                self.entries.pop();
            }
        }
    }

    #[inline]
    fn pop_mark(&mut self, opcode: Opcode, offset: usize) -> Result<(), PickleError> {
        let Some(m) = self.marks.pop() else {
            return Err(PickleError::NoMark {
                opcode: opcode.name(),
                offset,
            });
        };
        self.len = m.len;
        self.containers = m.containers;
        self.entries.truncate(m.entries);
        if let Some(top) = self.entries.last_mut() {
            top.count = m.top_count;
        }
        Ok(())
    }

    /// The `i`-th item from the top (0 = top), if above the mark.
    fn peek(&self, i: usize) -> Option<Sym<'a>> {
        if i >= self.avail() {
            return None;
        }
        let mut skip = i;
        for e in self.entries.iter().rev() {
            if skip < e.count {
                return Some(e.sym);
            }
            skip -= e.count;
        }
        None
    }
}

// Memo indices are small dense integers; SipHash would dominate the cost of
// the lookups done on every GET.
#[derive(Default)]
pub(super) struct IdxHasher(u64);

impl Hasher for IdxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(super) type IdxMap<V> = HashMap<u64, V, BuildHasherDefault<IdxHasher>>;

/// String values in the memo, for STACK_GLOBAL operands fetched with GET.
/// Indices below `max` live in a dense Vec (CPython numbers its memo from 0,
/// so this is the common case and needs no hashing); larger ones in a map
/// holding at most `max` entries. Both are bounded by `max`, never by input.
struct MemoStrs<'a> {
    dense: Vec<Option<&'a [u8]>>,
    sparse: IdxMap<&'a [u8]>,
    /// Largest key ever put in `sparse`: MEMOIZE indices only grow, so most
    /// non-string puts can skip the removal.
    sparse_max: u64,
    max: usize,
}

impl<'a> MemoStrs<'a> {
    fn new(max: usize) -> Self {
        MemoStrs {
            dense: Vec::new(),
            sparse: IdxMap::default(),
            sparse_max: 0,
            max,
        }
    }

    #[inline]
    fn set(&mut self, idx: u64, s: Option<&'a [u8]>) {
        if idx < self.max as u64 {
            let i = idx as usize;
            if i < self.dense.len() {
                self.dense[i] = s;
            } else if s.is_some() {
                self.dense.resize(i + 1, Option::None);
                self.dense[i] = s;
            }
        } else if let Some(s) = s {
            if self.sparse.len() < self.max {
                self.sparse.insert(idx, s);
                self.sparse_max = self.sparse_max.max(idx);
            }
        } else if idx <= self.sparse_max && !self.sparse.is_empty() {
            self.sparse.remove(&idx);
        }
    }

    #[inline]
    fn get(&self, idx: u64) -> Option<&'a [u8]> {
        if idx < self.max as u64 {
            self.dense.get(idx as usize).copied().flatten()
        } else {
            self.sparse.get(&idx).copied()
        }
    }
}

// ---------------------------------------------------------------------------
// Analyzer

struct Analyzer<'a, 'o> {
    data: &'a [u8],
    start: usize,
    opts: &'o InspectOptions,
    stack: SymStack<'a>,
    memo_strs: MemoStrs<'a>,
    /// What MEMOIZE will use as index: CPython uses len(memo), which equals
    /// the next fresh index for every pickle CPython writes.
    memo_len: u64,
    /// Opcodes seen, by opcode byte.
    counts: [u64; 256],
    /// Bytes of the opcodes without a fixed length (the others' are count
    /// times that length, filled in by `finish`).
    var_bytes: [u64; 256],
    protocol: Option<u8>,
    memo: MemoStats,
    max_depth: usize,
    globals: Vec<GlobalRef>,
    global_idx: HashMap<String, usize>,
    /// Min-heap of (size, earliest-first) of the largest literals.
    largest: BinaryHeap<Reverse<(usize, Reverse<usize>)>>,
    /// Literals smaller than this cannot enter `largest`.
    literal_floor: usize,
    object_ops: bool,
    /// Plain-data decision from the opcode stream; None when not checking,
    /// after an object opcode, or when the limits are too wide for it (then
    /// `finish` decodes, as before).
    plain: Option<PlainCheck>,
    /// Lets a memory-mapped input drop pages the scan has passed.
    release: Option<&'o (dyn Fn(usize) + Sync)>,
}

impl<'a, 'o> Analyzer<'a, 'o> {
    fn new(data: &'a [u8], start: usize, opts: &'o InspectOptions) -> Self {
        Analyzer {
            data,
            start,
            opts,
            stack: SymStack::new(opts.limits.max_stack_entries),
            memo_strs: MemoStrs::new(opts.limits.max_memo_strings),
            memo_len: 0,
            counts: [0; 256],
            var_bytes: [0; 256],
            protocol: None,
            memo: MemoStats::default(),
            max_depth: 0,
            globals: Vec::new(),
            global_idx: HashMap::new(),
            largest: BinaryHeap::new(),
            literal_floor: 0,
            object_ops: false,
            plain: None,
            release: None,
        }
    }

    /// Analyzer that decides plain data from the opcode stream (`fast`) or, as
    /// the reference, by decoding with serde_pickle.
    fn with_plain(data: &'a [u8], start: usize, opts: &'o InspectOptions, fast: bool) -> Self {
        let mut a = Analyzer::new(data, start, opts);
        if fast && opts.check_plain {
            let l = &opts.limits;
            let max_budget = l.max_decode_bytes.saturating_add(
                l.decode_bytes_per_input_byte
                    .saturating_mul((data.len() - start) as u64),
            );
            a.plain = PlainCheck::new(l, max_budget);
        }
        a
    }

    fn add_global(&mut self, name: String, is_unsafe: bool) {
        match self.global_idx.get(&name) {
            Some(&i) => self.globals[i].count += 1,
            None => {
                self.global_idx.insert(name.clone(), self.globals.len());
                self.globals.push(GlobalRef {
                    name,
                    count: 1,
                    is_unsafe,
                });
            }
        }
    }

    fn add_named_global(&mut self, module: Option<&[u8]>, name: Option<&[u8]>) {
        let m = module.map(String::from_utf8_lossy);
        let n = name.map(String::from_utf8_lossy);
        let is_unsafe = match (&m, &n) {
            (Some(m), Some(n)) => is_unsafe_global(m, n),
            _ => true,
        };
        let full = format!(
            "{}.{}",
            m.as_deref().unwrap_or("<unknown>"),
            n.as_deref().unwrap_or("<unknown>")
        );
        self.add_global(full, is_unsafe);
    }

    #[inline(always)]
    fn literal(&mut self, size: usize, offset: usize) {
        if size >= self.literal_floor {
            self.add_literal(size, offset);
        }
    }

    fn add_literal(&mut self, size: usize, offset: usize) {
        let n = self.opts.top_n;
        if n == 0 {
            self.literal_floor = usize::MAX;
            return;
        }
        let key = Reverse((size, Reverse(offset)));
        if self.largest.len() < n {
            self.largest.push(key);
        } else if let Some(min) = self.largest.peek()
            && key < *min
        {
            self.largest.pop();
            self.largest.push(key);
        }
        if self.largest.len() >= n
            && let Some(Reverse((min, _))) = self.largest.peek()
        {
            // Offsets only grow, so a literal no bigger than the smallest kept
            // one never displaces it.
            self.literal_floor = min.saturating_add(1);
        }
    }

    /// PUT of the top item (the caller checked there is one above the mark).
    #[inline(always)]
    fn memo_put(&mut self, idx: u64) {
        self.memo.puts += 1;
        self.memo_len = self.memo_len.max(idx.saturating_add(1));
        let s = match self.stack.entries.last() {
            Some(Entry { sym: Sym::Str(s), .. }) => Some(*s),
            _ => Option::None,
        };
        self.memo_strs.set(idx, s);
    }

    #[inline]
    fn memo_get(&mut self, idx: u64, offset: usize) -> Result<(), PickleError> {
        self.memo.gets += 1;
        let sym = match self.memo_strs.get(idx) {
            Some(s) => Sym::Str(s),
            Option::None => Sym::Other,
        };
        self.stack.push(sym, offset)
    }

    #[inline]
    fn check_depth(&mut self, offset: usize) -> Result<(), PickleError> {
        let d = self.stack.depth();
        if d > self.max_depth {
            self.max_depth = d;
            if d > self.opts.limits.max_depth {
                return Err(PickleError::DepthLimit {
                    limit: self.opts.limits.max_depth,
                    offset,
                });
            }
        }
        Ok(())
    }

    /// The plain-data check, while it still has a verdict to reach.
    #[inline(always)]
    fn plain(&mut self) -> Option<&mut PlainCheck> {
        self.plain.as_mut().filter(|p| !p.decided())
    }

    /// An opcode that makes the stream something other than plain data.
    #[inline]
    fn object_op(&mut self) {
        if !self.object_ops {
            self.object_ops = true;
            self.plain = Option::None;
        }
    }

    /// Runs to this stream's STOP and returns the offset just past it.
    ///
    /// One dispatch per opcode: each arm updates the symbolic stack and feeds
    /// the plain-data check the same opcode, so the bulk of a stream (short
    /// strings, ints, floats, memo puts, small tuples) never goes through a
    /// second match.
    fn run(&mut self) -> Result<usize, PickleError> {
        use Opcode::*;
        let data = self.data;
        let mut pos = self.start;
        const RELEASE_EVERY: usize = 32 << 20;
        let mut next_release = self.start + RELEASE_EVERY;
        loop {
            let off = pos;
            let Some(&byte) = data.get(off) else {
                return Err(PickleError::MissingStop { offset: data.len() });
            };
            let Some(opcode) = Opcode::from_byte(byte) else {
                return Err(PickleError::UnknownOpcode { byte, offset: off });
            };
            self.counts[byte as usize] += 1;
            // Decodes the opcode in the arm that handles it, as `$code` (a
            // constant where the arm has one opcode) and moves `pos` past it.
            macro_rules! take {
                ($code:expr) => {{
                    let op = op_at(data, off, $code)?;
                    pos = off + op.len;
                    if op.opcode.fixed_len() == 0 {
                        self.var_bytes[op.opcode.byte() as usize] += op.len as u64;
                    }
                    op
                }};
            }
            if off >= next_release {
                if let Some(release) = self.release {
                    release(off);
                }
                next_release = off + RELEASE_EVERY;
            }
            let st = &mut self.stack;
            match opcode {
                Mark => {
                    take!(Mark);
                    st.mark();
                    self.check_depth(off)?;
                    if let Some(p) = self.plain() {
                        p.mark();
                    }
                }
                Stop => {
                    let op = take!(Stop);
                    st.require(1, op.opcode, off)?;
                    return Ok(pos);
                }
                Pop => {
                    let op = take!(Pop);
                    // CPython pops the MARK itself when nothing is above it.
                    if st.avail() == 0 && !st.marks.is_empty() {
                        st.marks.pop();
                    } else {
                        st.require(1, op.opcode, off)?;
                        st.pop(1);
                    }
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                PopMark => {
                    let op = take!(PopMark);
                    st.pop_mark(op.opcode, off)?;
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                Dup => {
                    let op = take!(Dup);
                    st.require(1, op.opcode, off)?;
                    let top = st.peek(0).unwrap_or(Sym::Other);
                    st.push(top, off)?;
                    self.check_depth(off)?;
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                BinInt1 | BinInt2 | BinInt | None | NewTrue | NewFalse => {
                    match opcode {
                        BinInt1 => take!(BinInt1),
                        BinInt2 => take!(BinInt2),
                        BinInt => take!(BinInt),
                        _ => take!(opcode),
                    };
                    st.push(Sym::Other, off)?;
                    if let Some(p) = self.plain() {
                        p.leaf(0);
                    }
                }
                BinFloat => {
                    let op = take!(BinFloat);
                    st.push(Sym::Other, off)?;
                    if let Some(p) = self.plain() {
                        p.bin_float(op.bytes[1..9].try_into().expect("BINFLOAT"));
                    }
                }
                Long1 => {
                    let op = take!(Long1);
                    st.push(Sym::Other, off)?;
                    if let Some(p) = self.plain() {
                        p.long1(op.bytes[1]);
                    }
                }
                Int | Long | Long4 | Float => {
                    let op = take!(opcode);
                    st.push(Sym::Other, off)?;
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                ShortBinUnicode => {
                    let op = take!(ShortBinUnicode);
                    // Hot in protocol 4+: skip the generic argument decoder.
                    let s = &op.bytes[2..];
                    st.push(Sym::Str(s), off)?;
                    self.literal(s.len(), off);
                    if let Some(p) = self.plain() {
                        p.short_unicode(s);
                    }
                }
                String | BinString | ShortBinString | Unicode | BinUnicode | BinUnicode8 => {
                    let op = take!(opcode);
                    let Arg::Bytes(s) = op.arg() else {
                        unreachable_arg(&op)
                    };
                    st.push(Sym::Str(s), off)?;
                    self.literal(s.len(), off);
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                ShortBinBytes => {
                    let op = take!(ShortBinBytes);
                    let s = &op.bytes[2..];
                    st.push(Sym::Other, off)?;
                    self.literal(s.len(), off);
                    if let Some(p) = self.plain() {
                        p.leaf(s.len() as u64);
                    }
                }
                BinBytes | BinBytes8 | ByteArray8 => {
                    let op = take!(opcode);
                    let Arg::Bytes(s) = op.arg() else {
                        unreachable_arg(&op)
                    };
                    st.push(Sym::Other, off)?;
                    self.literal(s.len(), off);
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                NextBuffer => {
                    take!(NextBuffer);
                    st.push(Sym::Other, off)?;
                    self.object_op();
                }
                ReadonlyBuffer => {
                    let op = take!(ReadonlyBuffer);
                    st.require(1, op.opcode, off)?;
                    self.object_op();
                }
                EmptyList | EmptyTuple | EmptyDict | EmptySet => {
                    let op = take!(opcode);
                    st.push(Sym::Container, off)?;
                    self.check_depth(off)?;
                    if let Some(p) = self.plain() {
                        p.empty(op.opcode);
                    }
                }
                List | Tuple | Dict | FrozenSet => {
                    let op = take!(opcode);
                    st.pop_mark(op.opcode, off)?;
                    st.push(Sym::Container, off)?;
                    if let Some(p) = self.plain() {
                        p.build_marked(op.opcode);
                    }
                }
                Tuple1 | Tuple2 | Tuple3 => {
                    let op = take!(opcode);
                    let n = (op.opcode.byte() - Tuple1.byte() + 1) as usize;
                    st.require(n, op.opcode, off)?;
                    st.pop(n);
                    st.push(Sym::Container, off)?;
                    self.check_depth(off)?;
                    if let Some(p) = self.plain() {
                        p.tuple_n(n);
                    }
                }
                Append => {
                    let op = take!(Append);
                    st.require(2, op.opcode, off)?;
                    st.pop(1);
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                SetItem => {
                    let op = take!(SetItem);
                    st.require(3, op.opcode, off)?;
                    st.pop(2);
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                Appends | SetItems | AddItems => {
                    let op = take!(opcode);
                    st.pop_mark(op.opcode, off)?;
                    st.require(1, op.opcode, off)?;
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                Build => {
                    let op = take!(Build);
                    st.require(2, op.opcode, off)?;
                    st.pop(1);
                    self.object_op();
                }
                Reduce | NewObj => {
                    let op = take!(opcode);
                    st.require(2, op.opcode, off)?;
                    st.pop(2);
                    st.push(Sym::Other, off)?;
                    self.object_op();
                }
                NewObjEx => {
                    let op = take!(NewObjEx);
                    st.require(3, op.opcode, off)?;
                    st.pop(3);
                    st.push(Sym::Other, off)?;
                    self.object_op();
                }
                BinPersId => {
                    let op = take!(BinPersId);
                    st.require(1, op.opcode, off)?;
                    st.pop(1);
                    st.push(Sym::Other, off)?;
                    self.object_op();
                }
                PersId => {
                    take!(PersId);
                    st.push(Sym::Other, off)?;
                    self.object_op();
                }
                Obj => {
                    let op = take!(Obj);
                    // OBJ takes the class and its arguments from above a MARK.
                    st.require(1, op.opcode, off)?;
                    st.pop_mark(op.opcode, off)?;
                    st.push(Sym::Other, off)?;
                    self.object_op();
                }
                Global => {
                    let op = take!(Global);
                    st.push(Sym::Other, off)?;
                    let Arg::Pair(m, n) = op.arg() else {
                        unreachable_arg(&op)
                    };
                    self.add_named_global(Some(m), Some(n));
                    self.object_op();
                }
                Inst => {
                    let op = take!(Inst);
                    st.pop_mark(op.opcode, off)?;
                    st.push(Sym::Other, off)?;
                    let Arg::Pair(m, n) = op.arg() else {
                        unreachable_arg(&op)
                    };
                    self.add_named_global(Some(m), Some(n));
                    self.object_op();
                }
                StackGlobal => {
                    let op = take!(StackGlobal);
                    st.require(2, op.opcode, off)?;
                    let as_str = |s: Option<Sym<'a>>| match s {
                        Some(Sym::Str(b)) => Some(b),
                        _ => Option::None,
                    };
                    let name = as_str(st.peek(0));
                    let module = as_str(st.peek(1));
                    st.pop(2);
                    st.push(Sym::Other, off)?;
                    self.add_named_global(module, name);
                    self.object_op();
                }
                Ext1 | Ext2 | Ext4 => {
                    let op = take!(opcode);
                    st.push(Sym::Other, off)?;
                    let code = op.arg().as_int().unwrap_or(-1);
                    self.add_global(format!("<ext:{code}>"), true);
                    self.object_op();
                }
                Memoize => {
                    take!(Memoize);
                    self.memoize(off)?;
                }
                BinPut => {
                    let op = take!(BinPut);
                    st.require(1, op.opcode, off)?;
                    let id = op.bytes[1];
                    self.memo_put(id as u64);
                    if let Some(p) = self.plain() {
                        p.put(id as u32);
                    }
                }
                LongBinPut => {
                    let op = take!(LongBinPut);
                    st.require(1, op.opcode, off)?;
                    let id = u32::from_le_bytes(op.bytes[1..5].try_into().expect("LONG_BINPUT"));
                    self.memo_put(id as u64);
                    if let Some(p) = self.plain() {
                        p.put(id);
                    }
                }
                Put => {
                    let op = take!(Put);
                    st.require(1, op.opcode, off)?;
                    self.memo_put(op.arg().as_int().unwrap_or(0) as u64);
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                BinGet => {
                    let op = take!(BinGet);
                    let id = op.bytes[1];
                    self.memo_get(id as u64, off)?;
                    if let Some(p) = self.plain() {
                        p.get(id as u32);
                    }
                }
                LongBinGet => {
                    let op = take!(LongBinGet);
                    let id = u32::from_le_bytes(op.bytes[1..5].try_into().expect("LONG_BINGET"));
                    self.memo_get(id as u64, off)?;
                    if let Some(p) = self.plain() {
                        p.get(id);
                    }
                }
                Get => {
                    let op = take!(Get);
                    self.memo_get(op.arg().as_int().unwrap_or(0) as u64, off)?;
                    if let Some(p) = self.plain() {
                        p.op(&op);
                    }
                }
                Proto => {
                    let op = take!(Proto);
                    if self.protocol.is_none() {
                        self.protocol = op.arg().as_int().map(|v| v as u8);
                    }
                }
                Frame => {
                    take!(Frame);
                }
            }
            // MEMOIZE follows most pushes (a quarter to a third of the
            // opcodes CPython writes): taken here, on a well-predicted branch,
            // instead of by another trip through the dispatch.
            if data.get(pos) == Some(&Memoize.byte()) {
                self.counts[Memoize.byte() as usize] += 1;
                self.memoize(pos)?;
                pos += 1;
            }
        }
    }

    /// MEMOIZE at `off`: the top item goes in the next memo index.
    #[inline(always)]
    fn memoize(&mut self, off: usize) -> Result<(), PickleError> {
        self.stack.require(1, Opcode::Memoize, off)?;
        self.memo_put(self.memo_len);
        if let Some(p) = self.plain() {
            p.memoize();
        }
        Ok(())
    }

    fn finish(self, end: usize) -> StreamReport {
        let data = self.data;
        let stream = &data[self.start..end];
        let mut opcodes = BTreeMap::new();
        for (b, &count) in self.counts.iter().enumerate() {
            if count > 0
                && let Some(op) = Opcode::from_byte(b as u8)
            {
                let bytes = match op.fixed_len() {
                    0 => self.var_bytes[b],
                    n => count * n as u64,
                };
                opcodes.insert(op.name().to_string(), OpcodeStat { count, bytes });
            }
        }
        let count_of = |op: Opcode| self.counts[op.byte() as usize];

        let mut largest: Vec<_> = self.largest.into_iter().map(|Reverse(k)| k).collect();
        largest.sort_by(|a, b| b.cmp(a));
        let largest = largest
            .into_iter()
            .filter_map(|(_, Reverse(offset))| describe_literal(data, offset))
            .collect();

        let (plain_data, dump) = if !self.object_ops && self.opts.check_plain {
            let dump_chars = self.opts.dump.then_some(self.opts.dump_max_chars);
            let verdict = match self.plain {
                Some(p) => p.finish(&self.opts.limits, stream.len()),
                Option::None => Verdict::Fallback,
            };
            match verdict {
                Verdict::NotPlain => (false, Option::None),
                // A value is only materialised when one is printed.
                Verdict::Plain if dump_chars.is_none() => (true, Option::None),
                Verdict::Plain | Verdict::Fallback => decode_plain(stream, &self.opts.limits, dump_chars),
            }
        } else {
            (false, Option::None)
        };

        StreamReport {
            offset: self.start,
            protocol: self.protocol,
            size: end - self.start,
            frames: count_of(Opcode::Frame),
            opcodes,
            globals: self.globals,
            memo: self.memo,
            largest,
            buffers: count_of(Opcode::NextBuffer),
            max_depth: self.max_depth,
            plain_data,
            dump,
        }
    }
}

#[cold]
fn unreachable_arg(op: &Op) -> ! {
    // The reader decides the Arg variant from the opcode, so this would be a
    // bug in reader.rs, not bad input.
    unreachable!("{} decoded with unexpected argument {:?}", op.opcode, op.arg())
}

fn describe_literal(data: &[u8], offset: usize) -> Option<Literal> {
    let op = Reader::at(data, offset).next_op().ok()??;
    let Arg::Bytes(s) = op.arg() else {
        return Option::None;
    };
    let kind = match op.opcode {
        Opcode::ShortBinUnicode | Opcode::BinUnicode | Opcode::BinUnicode8 | Opcode::Unicode => "str",
        Opcode::ByteArray8 => "bytearray",
        _ => "bytes",
    };
    const PREVIEW_CHARS: usize = 60;
    let head = &s[..s.len().min(PREVIEW_CHARS * 4)];
    let preview = if kind == "str" {
        String::from_utf8_lossy(head)
            .chars()
            .take(PREVIEW_CHARS)
            .flat_map(char::escape_debug)
            .collect()
    } else {
        head[..head.len().min(PREVIEW_CHARS)].escape_ascii().to_string()
    };
    Some(Literal {
        kind,
        offset,
        size: s.len(),
        preview,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_patterns() {
        assert!(is_unsafe_global("os", "system"));
        assert!(is_unsafe_global("os.path", "join"));
        assert!(is_unsafe_global("posix", "system"));
        assert!(is_unsafe_global("builtins", "eval"));
        assert!(is_unsafe_global("__builtin__", "getattr"));
        assert!(!is_unsafe_global("builtins", "set"));
        assert!(!is_unsafe_global("osx", "thing"));
        assert!(!is_unsafe_global("collections", "OrderedDict"));
        assert!(!is_unsafe_global("datetime", "datetime"));
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

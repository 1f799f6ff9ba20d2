//! What an analysis is asked for and what it reports: options and the report types.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::limits::Limits;

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
    /// Listed in `UNSAFE_GLOBALS`, or not statically resolvable.
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

/// Outcome for one file of `inspect_files`.
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

//! Safe static analysis of pickle streams in Rust: nothing is ever unpickled. Used by
//! `picklecost inspect` and by `analyze` for every payload it produced.
//!
//! Files import only files above them in this list (no cycles):
//! - `reader` (opcode framing), `source` (a file's bytes), `limits` (resource bounds and the
//!   small shared pieces), `globals` (the unsafe-global list): none of the others;
//! - `report`: options and report types;
//! - `symbolic` (the symbolic stack), `plain` (plain data from the opcodes), `dump` (rendering);
//! - `decode`: serde_pickle decoding behind its guards;
//! - `analyzer`: one pass over one stream;
//! - `inspect`: the entry points.
mod analyzer;
mod decode;
mod dump;
mod globals;
mod inspect;
mod limits;
mod plain;
mod reader;
mod report;
mod source;
mod symbolic;

pub use globals::{UNSAFE_GLOBALS, is_unsafe_global};
pub use inspect::{
    globals_of, inspect, inspect_all, inspect_all_with, inspect_file, inspect_files, inspect_files_with,
    is_plain_data, plain_data_by_decoding,
};
pub use limits::Limits;
pub use reader::{Arg, Op, Opcode, PickleError, Reader, scan};
pub use report::{FileReport, GlobalRef, InspectOptions, Literal, MemoStats, OpcodeStat, StreamReport};

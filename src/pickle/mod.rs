//! Safe static analysis of pickle streams in Rust: nothing is ever unpickled. Used by
//! `picklecost inspect` and by `analyze` for every payload it produced.
mod decode;
mod inspect;
mod plain;
mod reader;
mod source;

pub use inspect::{
    FileReport, GlobalRef, InspectOptions, Limits, Literal, MemoStats, OpcodeStat, StreamReport,
    UNSAFE_GLOBALS, globals_of, inspect, inspect_all, inspect_all_with, inspect_file, inspect_files,
    inspect_files_with, is_plain_data, is_unsafe_global, plain_data_by_decoding,
};
pub use reader::{Arg, Op, Opcode, PickleError, Reader, scan};

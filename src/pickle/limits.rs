//! The resource bounds every pass over a stream shares, and the small pieces the passes
//! have in common (the decoded-node cost, the memo-index map). Imports nothing of `pickle`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Resource bounds; exceeding the first two is an error, the others only
/// degrade precision (see field docs).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Maximum of `StreamReport::max_depth`.
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

impl Limits {
    /// Bytes a decoded value of a `stream_len`-byte stream may take.
    pub(crate) fn decode_budget(&self, stream_len: usize) -> u64 {
        self.max_decode_bytes
            .saturating_add(self.decode_bytes_per_input_byte.saturating_mul(stream_len as u64))
    }
}

/// Rough heap footprint of one decoded serde_pickle value, payload aside.
pub(crate) const NODE_COST: u64 = 32;

// Memo indices are small dense integers; SipHash would dominate the cost of
// the lookups done on every GET.
#[derive(Default)]
pub(crate) struct IdxHasher(u64);

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

pub(crate) type IdxMap<V> = HashMap<u64, V, BuildHasherDefault<IdxHasher>>;

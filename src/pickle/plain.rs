//! Plain-data decision from the opcode stream, in the same single pass as the
//! rest of the analysis: no value is materialised.
//!
//! The reference semantics are the ones `inspect` has always had: a stream with
//! no object opcodes is plain when serde_pickle decodes it without error and
//! the decoded value stays within [`Limits`] (size estimated by
//! `decoded_extent`, depth, no values that break serde_pickle's ordering). This
//! checker reproduces that answer from the opcodes: it keeps, per item of a
//! shadow unpickler stack, the size and depth the item would have once
//! decoded (memo references copied, as serde_pickle does), whether decoding it
//! would fail (an unhashable dict key or set member anywhere inside) and
//! whether it is hashable itself; the memo keeps the same summary per index
//! (8 bytes each). It also replays every parse-time check serde_pickle makes
//! (UTF-8 of unicode strings, escapes of protocol-0 strings, text numbers,
//! the container type under APPEND/SETITEM/ADDITEMS, missing memo entries).
//!
//! Eager summaries are exact as long as no container changes after a copy of
//! it was taken. Streams where that could happen — a container mutated after
//! a GET of it, or through a GET; DUP; a memo index written twice or an
//! already memoized item memoized again — are rare in practice (CPython never
//! writes them except for self-referencing values) and get the old answer: the
//! caller falls back to the graph replay plus serde_pickle decode
//! ([`Verdict::Fallback`]).

use super::limits::{Limits, NODE_COST};
use super::reader::{Arg, Op, Opcode};

/// What the stream-level check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Plain,
    NotPlain,
    /// Outside what the eager summaries can decide exactly: decode as before.
    Fallback,
}

const KIND_LEAF: u8 = 1;
const KIND_TUPLE: u8 = 2;
const KIND_FROZENSET: u8 = 3;
const KIND_LIST: u8 = 4;
const KIND_DICT: u8 = 5;
const KIND_SET: u8 = 6;
const KIND_LIVE: u64 = 7;

/// Decoding this value fails (unhashable key or member somewhere inside).
const BAD: u8 = 1;
/// `into_hashable` fails on this value.
const UNHASH: u8 = 2;
/// Pushed by GET: a serde_pickle MemoRef.
const REF: u8 = 4;
/// Memoized (the `memo` field names the index).
const MEMO: u8 = 8;
/// A live (still on the stack, mutable) container that a GET copied.
const SHARED: u8 = 16;

#[derive(Clone, Copy, Debug)]
struct Item {
    cost: u64,
    depth: u32,
    kind: u8,
    flags: u8,
    memo: u32,
}

impl Item {
    fn leaf(cost: u64) -> Item {
        Item {
            cost,
            depth: 1,
            kind: KIND_LEAF,
            flags: 0,
            memo: 0,
        }
    }

    fn container(kind: u8) -> Item {
        let flags = if matches!(kind, KIND_LIST | KIND_DICT | KIND_SET) {
            UNHASH
        } else {
            0
        };
        Item {
            cost: NODE_COST,
            depth: 1,
            kind,
            flags,
            memo: 0,
        }
    }

    #[inline]
    fn add_child(&mut self, c: &Item) {
        self.cost = self.cost.saturating_add(c.cost);
        self.depth = self.depth.max(c.depth.saturating_add(1));
        self.flags |= c.flags & BAD;
    }
}

// Packed memo entry: kind (3 bits; 0 = absent, 7 = live with the stack index
// in bits 5..), BAD, UNHASH, depth (16 bits, saturating), cost (43 bits,
// saturating). Saturation only matters when the limits exceed it, and then
// the checker is not used (see `PlainCheck::new`).
const DEPTH_SAT: u64 = 0xFFFF;
const COST_SAT: u64 = (1 << 43) - 1;

fn pack(it: &Item) -> u64 {
    let depth = (it.depth as u64).min(DEPTH_SAT);
    let cost = it.cost.min(COST_SAT);
    it.kind as u64 | ((it.flags & (BAD | UNHASH)) as u64) << 3 | depth << 5 | cost << 21
}

fn unpack(v: u64) -> Item {
    Item {
        cost: v >> 21,
        depth: ((v >> 5) & DEPTH_SAT) as u32,
        kind: (v & 7) as u8,
        flags: ((v >> 3) & 3) as u8,
        memo: 0,
    }
}

/// Memo summaries: dense below a bound that grows with use, sparse above.
#[derive(Default)]
struct Memo {
    dense: Vec<u64>,
    sparse: std::collections::HashMap<u32, u64>,
    /// Distinct indices present (serde_pickle's MEMOIZE uses memo.len()).
    len: u64,
}

impl Memo {
    #[inline]
    fn get(&self, id: u32) -> u64 {
        match self.dense.get(id as usize) {
            Some(&v) => v,
            None => self.sparse.get(&id).copied().unwrap_or(0),
        }
    }

    /// Sets a fresh index; false when it is already present.
    #[inline(always)]
    fn insert_new(&mut self, id: u32, v: u64) -> bool {
        if id as usize == self.dense.len()
            && self.dense.len() < self.dense.capacity()
            && self.sparse.is_empty()
        {
            // MEMOIZE and CPython's PUTs: the next index, appended.
            self.dense.push(v);
            self.len += 1;
            return true;
        }
        self.insert_other(id, v)
    }

    fn insert_other(&mut self, id: u32, v: u64) -> bool {
        let i = id as usize;
        if i < self.dense.len() {
            if self.dense[i] != 0 {
                return false;
            }
            self.dense[i] = v;
        } else if i == self.dense.len() && self.sparse.is_empty() {
            self.dense.push(v);
        } else if i <= self.dense.len() * 2 + 4096 && self.sparse.is_empty() {
            self.dense.resize(i + 1, 0);
            self.dense[i] = v;
        } else {
            if self.sparse.contains_key(&id) {
                return false;
            }
            self.sparse.insert(id, v);
        }
        self.len += 1;
        true
    }

    /// Overwrites an index known to be present.
    #[inline]
    fn set(&mut self, id: u32, v: u64) {
        match self.dense.get_mut(id as usize) {
            Some(slot) => *slot = v,
            None => {
                self.sparse.insert(id, v);
            }
        }
    }
}

pub(crate) struct PlainCheck {
    stack: Vec<Item>,
    marks: Vec<usize>,
    memo: Memo,
    nodes: u64,
    max_items: usize,
    // unorderable_values' flags, over the whole stream.
    nan: bool,
    float: bool,
    big_int: bool,
    ordered: bool,
    verdict: Option<Verdict>,
}

/// `std::str::from_utf8(s).is_ok()`, with a word-at-a-time ASCII fast path
/// for the short strings that make up most streams.
#[inline]
pub(crate) fn utf8_ok(s: &[u8]) -> bool {
    let mut acc = 0u64;
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        acc |= u64::from_le_bytes(w.try_into().expect("8 bytes"));
    }
    for &b in words.remainder() {
        acc |= b as u64;
    }
    acc & 0x8080_8080_8080_8080 == 0 || std::str::from_utf8(s).is_ok()
}

/// serde_pickle's `decode_escaped_string` accepts only these escapes.
fn string_escapes_ok(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' {
            match s.get(i + 1) {
                Some(b'\\' | b'a' | b'b' | b't' | b'n' | b'v' | b'f' | b'r') => i += 2,
                Some(b'x') => {
                    let hex = |j: usize| s.get(j).is_some_and(u8::is_ascii_hexdigit);
                    if !(hex(i + 2) && hex(i + 3)) {
                        return false;
                    }
                    i += 4;
                }
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

/// serde_pickle's `decode_escaped_unicode`: `\uXXXX` / `\UXXXXXXXX` naming a
/// valid char, every other backslash an error.
fn unicode_escapes_ok(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' {
            let n = match s.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => return false,
            };
            let Some(hex) = s.get(i + 2..i + 2 + n) else {
                return false;
            };
            let mut v: u32 = 0;
            for &h in hex {
                match (h as char).to_digit(16) {
                    Some(d) => v = v.wrapping_mul(16).wrapping_add(d),
                    None => return false,
                }
            }
            if char::from_u32(v).is_none() {
                return false;
            }
            i += 2 + n;
        } else {
            i += 1;
        }
    }
    true
}

impl PlainCheck {
    /// None when the limits are too wide for the packed memo summaries.
    pub(crate) fn new(limits: &Limits, stream_budget_max: u64) -> Option<PlainCheck> {
        if limits.max_decode_depth as u64 >= DEPTH_SAT || stream_budget_max >= COST_SAT {
            return None;
        }
        Some(PlainCheck {
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Memo::default(),
            nodes: 0,
            max_items: limits.max_stack_entries.max(1 << 16).saturating_mul(4),
            nan: false,
            float: false,
            big_int: false,
            ordered: false,
            verdict: None,
        })
    }

    /// Decided before STOP (not plain, or fallback): the caller can stop feeding.
    #[inline]
    pub(crate) fn decided(&self) -> bool {
        self.verdict.is_some()
    }

    fn base(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    /// A popped item leaves the stack: a live memoized container freezes.
    #[inline]
    fn retire(memo: &mut Memo, it: &Item) {
        if it.flags & MEMO != 0 && matches!(it.kind, KIND_LIST | KIND_DICT | KIND_SET) {
            memo.set(it.memo, pack(it));
        }
    }

    #[inline]
    fn push(&mut self, it: Item) {
        self.nodes += 1;
        if self.stack.len() >= self.max_items {
            self.verdict = Some(Verdict::Fallback);
            return;
        }
        self.stack.push(it);
    }

    /// Drains the items above the innermost mark (the analyzer already checked
    /// the mark exists) into `f`, retiring each.
    #[inline]
    fn drain_mark(&mut self, mut f: impl FnMut(usize, &Item)) {
        let m = self.marks.pop().unwrap_or(0);
        for (i, it) in self.stack[m..].iter().enumerate() {
            f(i, it);
            Self::retire(&mut self.memo, it);
        }
        self.stack.truncate(m);
    }

    /// Dict items as serde_pickle pairs them: keys must be hashable; an odd
    /// trailing key is dropped (never converted) but still counts in
    /// decoded_extent's size and depth.
    #[inline]
    fn pairs(items: &[Item], t: &mut Item) {
        let even = items.len() & !1;
        for (i, it) in items.iter().enumerate() {
            if i < even {
                t.add_child(it);
                if i % 2 == 0 && it.flags & UNHASH != 0 {
                    t.flags |= BAD;
                }
            } else {
                t.cost = t.cost.saturating_add(it.cost);
                t.depth = t.depth.max(it.depth.saturating_add(1));
            }
        }
    }

    fn memo_id(&mut self, op: &Op) -> Option<u32> {
        match op.opcode {
            Opcode::BinGet | Opcode::BinPut => Some(op.bytes[1] as u32),
            Opcode::LongBinGet | Opcode::LongBinPut => Some(u32::from_le_bytes([
                op.bytes[1],
                op.bytes[2],
                op.bytes[3],
                op.bytes[4],
            ])),
            _ => {
                // Text GET/PUT: serde_pickle parses a u32; anything else unusual
                // (sign, overflow) takes the old path.
                let line = &op.bytes[1..op.bytes.len() - 1];
                match std::str::from_utf8(line).ok().and_then(|t| t.parse::<u32>().ok()) {
                    Some(v) if line.iter().all(u8::is_ascii_digit) => Some(v),
                    _ => {
                        self.verdict = Some(Verdict::Fallback);
                        None
                    }
                }
            }
        }
    }

    /// Feeds one opcode of a stream without object opcodes; the analyzer has
    /// already validated stack shape (underflow, marks) for it.
    #[inline]
    pub(crate) fn op(&mut self, op: &Op) {
        use Opcode::*;
        match op.opcode {
            BinInt1 | BinInt2 | BinInt | None | NewTrue | NewFalse => self.leaf(0),
            BinFloat => self.bin_float(op.bytes[1..9].try_into().expect("BINFLOAT")),
            ShortBinUnicode => self.short_unicode(&op.bytes[2..]),
            BinUnicode | BinUnicode8 | BinBytes | ShortBinBytes | BinBytes8 | ByteArray8 | BinString
            | ShortBinString | String | Unicode => {
                let Arg::Bytes(s) = op.arg() else {
                    self.verdict = Some(Verdict::Fallback);
                    return;
                };
                let ok = match op.opcode {
                    BinUnicode | BinUnicode8 => utf8_ok(s),
                    String => string_escapes_ok(s),
                    Unicode => unicode_escapes_ok(s),
                    _ => true,
                };
                if !ok {
                    self.verdict = Some(Verdict::NotPlain);
                    return;
                }
                self.push(Item::leaf(NODE_COST + s.len() as u64));
            }
            Long1 => self.long1(op.bytes[1]),
            Int | Long | Long4 => {
                let arg = op.arg();
                if op.opcode == Int && matches!(arg, Arg::BigText(_)) {
                    // serde_pickle parses INT as i64.
                    self.verdict = Some(Verdict::NotPlain);
                    return;
                }
                self.big_int |= match arg {
                    Arg::Int(i) => i.unsigned_abs() > 1u64 << 53,
                    Arg::LongBytes(b) => b.len() >= 7,
                    Arg::BigText(_) => true,
                    _ => false,
                };
                self.push(Item::leaf(NODE_COST));
                self.check_order();
            }
            Float => {
                self.float = true;
                match op.arg() {
                    Arg::Float(f) => self.nan |= f.is_nan(),
                    _ => {
                        // Rust's f64 parser rejects it, and so does serde_pickle.
                        self.verdict = Some(Verdict::NotPlain);
                        return;
                    }
                }
                self.push(Item::leaf(NODE_COST));
                self.check_order();
            }
            EmptyList | EmptyTuple | EmptyDict | EmptySet => self.empty(op.opcode),
            Mark => self.mark(),
            List | Tuple | Dict | FrozenSet => self.build_marked(op.opcode),
            Tuple1 | Tuple2 | Tuple3 => self.tuple_n((op.opcode.byte() - Tuple1.byte() + 1) as usize),
            Append | SetItem => {
                let n = if op.opcode == Append { 1 } else { 2 };
                let m = self.stack.len() - n;
                let kind = if n == 1 { KIND_LIST } else { KIND_DICT };
                if op.opcode == SetItem {
                    self.ordered = true;
                }
                let (below, items) = self.stack.split_at_mut(m);
                let Some(t) = below.last_mut() else {
                    self.verdict = Some(Verdict::Fallback);
                    return;
                };
                if t.kind != kind {
                    self.verdict = Some(Verdict::NotPlain);
                    return;
                }
                if t.flags & (REF | SHARED) != 0 {
                    self.verdict = Some(Verdict::Fallback);
                    return;
                }
                if n == 1 {
                    t.add_child(&items[0]);
                } else {
                    Self::pairs(items, t);
                }
                for it in items.iter() {
                    Self::retire(&mut self.memo, it);
                }
                self.stack.truncate(m);
                self.check_order();
            }
            Appends | SetItems | AddItems => {
                let kind = match op.opcode {
                    Appends => KIND_LIST,
                    SetItems => KIND_DICT,
                    _ => KIND_SET,
                };
                if kind != KIND_LIST {
                    self.ordered = true;
                }
                let m = self.marks.last().copied().unwrap_or(0);
                // The target sits just below the mark.
                if m == 0 || m > self.stack.len() {
                    self.verdict = Some(Verdict::Fallback);
                    return;
                }
                let (below, items) = self.stack.split_at_mut(m);
                let t = below.last_mut().expect("m > 0");
                if t.kind != kind {
                    self.verdict = Some(Verdict::NotPlain);
                    return;
                }
                if t.flags & (REF | SHARED) != 0 {
                    self.verdict = Some(Verdict::Fallback);
                    return;
                }
                match kind {
                    KIND_DICT => Self::pairs(items, t),
                    KIND_SET => {
                        for it in items.iter() {
                            t.add_child(it);
                            if it.flags & UNHASH != 0 {
                                t.flags |= BAD;
                            }
                        }
                    }
                    _ => {
                        for it in items.iter() {
                            t.add_child(it);
                        }
                    }
                }
                self.drain_mark(|_, _| {});
                self.check_order();
            }
            Pop => {
                if self.stack.len() == self.base() && !self.marks.is_empty() {
                    self.marks.pop();
                } else if let Some(it) = self.stack.pop() {
                    Self::retire(&mut self.memo, &it);
                }
            }
            PopMark => self.drain_mark(|_, _| {}),
            Dup => self.verdict = Some(Verdict::Fallback),
            Memoize => self.memoize(),
            Put | BinPut | LongBinPut => {
                if let Some(id) = self.memo_id(op) {
                    self.put(id);
                }
            }
            Get | BinGet | LongBinGet => {
                if let Some(id) = self.memo_id(op) {
                    self.get(id);
                }
            }
            Proto | Frame => {}
            Stop => {}
            // Object opcodes: the caller stops feeding before these.
            _ => self.verdict = Some(Verdict::NotPlain),
        }
    }

    // The opcodes of a stream's bulk, fed one by one by the analyzer's fast
    // path as well as by `op`.

    /// An int (BININT*), None or bool: a leaf of `extra` payload bytes.
    #[inline]
    pub(crate) fn leaf(&mut self, extra: u64) {
        self.push(Item::leaf(NODE_COST + extra));
    }

    #[inline]
    pub(crate) fn bin_float(&mut self, be: [u8; 8]) {
        self.float = true;
        self.nan |= f64::from_be_bytes(be).is_nan();
        self.push(Item::leaf(NODE_COST));
        self.check_order();
    }

    #[inline]
    pub(crate) fn short_unicode(&mut self, s: &[u8]) {
        if !utf8_ok(s) {
            self.verdict = Some(Verdict::NotPlain);
            return;
        }
        self.push(Item::leaf(NODE_COST + s.len() as u64));
    }

    /// LONG1 with a payload of `n` bytes: 7+ bytes may exceed 2^53.
    #[inline]
    pub(crate) fn long1(&mut self, n: u8) {
        self.big_int |= n >= 7;
        self.push(Item::leaf(NODE_COST));
        self.check_order();
    }

    /// EMPTY_LIST, EMPTY_TUPLE, EMPTY_DICT or EMPTY_SET.
    #[inline]
    pub(crate) fn empty(&mut self, opcode: Opcode) {
        match opcode {
            Opcode::EmptyList => self.push(Item::container(KIND_LIST)),
            Opcode::EmptyTuple => self.push(Item::container(KIND_TUPLE)),
            Opcode::EmptyDict => self.push(Item::container(KIND_DICT)),
            _ => {
                self.ordered = true;
                self.push(Item::container(KIND_SET));
                self.check_order();
            }
        }
    }

    #[inline]
    pub(crate) fn mark(&mut self) {
        self.marks.push(self.stack.len());
    }

    /// LIST, TUPLE, DICT or FROZENSET: a container of the items above the mark.
    #[inline]
    pub(crate) fn build_marked(&mut self, opcode: Opcode) {
        let kind = match opcode {
            Opcode::List => KIND_LIST,
            Opcode::Tuple => KIND_TUPLE,
            Opcode::Dict => KIND_DICT,
            _ => KIND_FROZENSET,
        };
        let mut node = Item::container(kind);
        let m = self.marks.pop().unwrap_or(0);
        let items = &self.stack[m..];
        let memo = &mut self.memo;
        match kind {
            KIND_DICT => {
                Self::pairs(items, &mut node);
                items.iter().for_each(|it| Self::retire(memo, it));
            }
            KIND_TUPLE => {
                for it in items {
                    node.add_child(it);
                    node.flags |= it.flags & UNHASH;
                    Self::retire(memo, it);
                }
            }
            KIND_FROZENSET => {
                for it in items {
                    node.add_child(it);
                    if it.flags & UNHASH != 0 {
                        node.flags |= BAD;
                    }
                    Self::retire(memo, it);
                }
            }
            _ => {
                for it in items {
                    node.add_child(it);
                    Self::retire(memo, it);
                }
            }
        }
        self.stack.truncate(m);
        self.push(node);
        if matches!(kind, KIND_DICT | KIND_FROZENSET) {
            self.ordered = true;
            self.check_order();
        }
    }

    /// TUPLE1, TUPLE2 or TUPLE3 (`n` items; the analyzer checked they exist).
    #[inline]
    pub(crate) fn tuple_n(&mut self, n: usize) {
        let m = self.stack.len() - n;
        let mut node = Item::container(KIND_TUPLE);
        for it in &self.stack[m..] {
            node.add_child(it);
            node.flags |= it.flags & UNHASH;
            Self::retire(&mut self.memo, it);
        }
        self.stack.truncate(m);
        self.push(node);
    }

    /// MEMOIZE: the next index is serde_pickle's memo length.
    #[inline]
    pub(crate) fn memoize(&mut self) {
        match u32::try_from(self.memo.len) {
            Ok(id) => self.put(id),
            Err(_) => self.verdict = Some(Verdict::Fallback),
        }
    }

    /// PUT, BINPUT or LONG_BINPUT of index `id`.
    #[inline(always)]
    pub(crate) fn put(&mut self, id: u32) {
        let idx = self.stack.len().wrapping_sub(1);
        let Some(top) = self.stack.last_mut() else {
            self.verdict = Some(Verdict::Fallback);
            return;
        };
        if top.flags & (REF | MEMO) != 0 {
            // serde_pickle memoizes a copy of a MemoRef's value.
            self.verdict = Some(Verdict::Fallback);
            return;
        }
        let v = if matches!(top.kind, KIND_LIST | KIND_DICT | KIND_SET) {
            KIND_LIVE | (idx as u64) << 5
        } else {
            pack(top)
        };
        top.flags |= MEMO;
        top.memo = id;
        if !self.memo.insert_new(id, v) {
            self.verdict = Some(Verdict::Fallback);
        }
    }

    /// GET, BINGET or LONG_BINGET of index `id`.
    #[inline]
    pub(crate) fn get(&mut self, id: u32) {
        let v = self.memo.get(id);
        let mut it = match v & 7 {
            0 => {
                // serde_pickle: MissingMemo.
                self.verdict = Some(Verdict::NotPlain);
                return;
            }
            KIND_LIVE => {
                let live = &mut self.stack[(v >> 5) as usize];
                live.flags |= SHARED;
                *live
            }
            _ => unpack(v),
        };
        it.flags = (it.flags & (BAD | UNHASH)) | REF;
        it.memo = 0;
        self.nodes = self.nodes.saturating_sub(1); // a copy, not a node of decoded_extent's graph
        self.push(it);
    }

    #[inline]
    fn check_order(&mut self) {
        if self.ordered && (self.nan || (self.float && self.big_int)) {
            self.verdict = Some(Verdict::NotPlain);
        }
    }

    /// The verdict at STOP, given the budget for this stream's size.
    pub(crate) fn finish(mut self, limits: &Limits, stream_len: usize) -> Verdict {
        if let Some(v) = self.verdict {
            return v;
        }
        let Some(root) = self.stack.pop() else {
            return Verdict::Fallback;
        };
        let budget = limits.decode_budget(stream_len);
        self.check_order();
        if self.verdict.is_some() {
            return Verdict::NotPlain;
        }
        let fails = root.flags & BAD != 0
            || root.cost > budget
            || root.depth > limits.max_decode_depth
            || self.nodes > u32::MAX as u64;
        if fails { Verdict::NotPlain } else { Verdict::Plain }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert!(string_escapes_ok(b"a\\x41\\n\\\\"));
        assert!(!string_escapes_ok(b"it\\'s"));
        assert!(!string_escapes_ok(b"\\x4"));
        assert!(unicode_escapes_ok(b"x\\u20ac\\U0001f40d"));
        assert!(!unicode_escapes_ok(b"\\ud800"));
        assert!(!unicode_escapes_ok(b"\\n"));
    }

    #[test]
    fn pack_round_trip() {
        let it = Item {
            cost: 12345,
            depth: 17,
            kind: KIND_TUPLE,
            flags: UNHASH | BAD,
            memo: 0,
        };
        let u = unpack(pack(&it));
        assert_eq!(
            (u.cost, u.depth, u.kind, u.flags),
            (12345, 17, KIND_TUPLE, UNHASH | BAD)
        );
    }
}

//! One pass over one stream: the symbolic stack, the memo, the globals, the literals and the
//! plain-data check, fed by a single opcode dispatch; `finish` turns it into a report.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use super::decode::decode_plain;
use super::globals::is_unsafe_global;
use super::plain::{PlainCheck, Verdict};
use super::reader::{Arg, Op, Opcode, PickleError, Reader, op_at};
use super::report::{GlobalRef, InspectOptions, Literal, MemoStats, OpcodeStat, StreamReport};
use super::symbolic::{MemoStrs, Sym, SymStack};

pub(super) struct Analyzer<'a, 'o> {
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
    pub(super) globals: Vec<GlobalRef>,
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
    pub(super) release: Option<&'o (dyn Fn(usize) + Sync)>,
}

impl<'a, 'o> Analyzer<'a, 'o> {
    pub(super) fn new(data: &'a [u8], start: usize, opts: &'o InspectOptions) -> Self {
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
    pub(super) fn with_plain(data: &'a [u8], start: usize, opts: &'o InspectOptions, fast: bool) -> Self {
        let mut a = Analyzer::new(data, start, opts);
        if fast && opts.check_plain {
            let max_budget = opts.limits.decode_budget(data.len() - start);
            a.plain = PlainCheck::new(&opts.limits, max_budget);
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
        let s = self.stack.top_str();
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
    pub(super) fn run(&mut self) -> Result<usize, PickleError> {
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
                    if !st.pop_bare_mark() {
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

    pub(super) fn finish(self, end: usize) -> StreamReport {
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

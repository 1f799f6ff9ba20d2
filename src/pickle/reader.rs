//! Streaming, allocation-free reader of pickle opcodes (protocols 0-5).
//!
//! The reader only decodes the opcode framing (opcode byte plus its inline
//! argument); it never builds Python objects. Arguments borrow from the input
//! so scanning does not allocate per opcode, and every declared length is
//! checked against the remaining input before it is used.

use std::fmt;

use thiserror::Error;

macro_rules! opcodes {
    ($( $variant:ident = $byte:literal, $name:literal, $arg:ident; )*) => {
        /// A pickle opcode; the discriminant is the opcode byte.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Opcode {
            $( $variant = $byte, )*
        }

        impl Opcode {
            /// Name as spelled by CPython's `pickletools`.
            pub const fn name(self) -> &'static str {
                match self { $( Opcode::$variant => $name, )* }
            }

            const fn arg_kind(self) -> ArgKind {
                match self { $( Opcode::$variant => ArgKind::$arg, )* }
            }

            /// Every opcode, in pickletools order.
            pub const ALL: &'static [Opcode] = &[ $( Opcode::$variant, )* ];
        }

        // A const table keeps `from_byte` to a single indexed load in the hot loop.
        static BYTE_TABLE: [Option<Opcode>; 256] = {
            let mut t = [None; 256];
            $( t[$byte as usize] = Some(Opcode::$variant); )*
            t
        };

        // Opcodes whose argument is a one-byte length and that many bytes.
        static SHORT_PREFIXED: [bool; 256] = {
            let mut t = [false; 256];
            $( t[$byte as usize] = matches!(ArgKind::$arg, ArgKind::Bytes1 | ArgKind::String1 | ArgKind::Long1); )*
            t
        };

        // Encoded length of fixed-size opcodes, 0 for the rest: lets the scan
        // skip the per-kind dispatch for the bulk of a binary pickle.
        static FIXED_LEN: [u8; 256] = {
            let mut t = [0u8; 256];
            $( t[$byte as usize] = ArgKind::$arg.fixed_len(); )*
            t
        };
    };
}

opcodes! {
    Int = b'I', "INT", DecimalNlShort;
    BinInt = b'J', "BININT", Int4;
    BinInt1 = b'K', "BININT1", UInt1;
    BinInt2 = b'M', "BININT2", UInt2;
    Long = b'L', "LONG", DecimalNlLong;
    Long1 = 0x8a, "LONG1", Long1;
    Long4 = 0x8b, "LONG4", Long4;
    String = b'S', "STRING", StringNl;
    BinString = b'T', "BINSTRING", String4;
    ShortBinString = b'U', "SHORT_BINSTRING", String1;
    BinBytes = b'B', "BINBYTES", Bytes4;
    ShortBinBytes = b'C', "SHORT_BINBYTES", Bytes1;
    BinBytes8 = 0x8e, "BINBYTES8", Bytes8;
    ByteArray8 = 0x96, "BYTEARRAY8", Bytes8;
    NextBuffer = 0x97, "NEXT_BUFFER", None;
    ReadonlyBuffer = 0x98, "READONLY_BUFFER", None;
    None = b'N', "NONE", None;
    NewTrue = 0x88, "NEWTRUE", None;
    NewFalse = 0x89, "NEWFALSE", None;
    Unicode = b'V', "UNICODE", UnicodeNl;
    ShortBinUnicode = 0x8c, "SHORT_BINUNICODE", Bytes1;
    BinUnicode = b'X', "BINUNICODE", Bytes4;
    BinUnicode8 = 0x8d, "BINUNICODE8", Bytes8;
    Float = b'F', "FLOAT", FloatNl;
    BinFloat = b'G', "BINFLOAT", Float8;
    EmptyList = b']', "EMPTY_LIST", None;
    Append = b'a', "APPEND", None;
    Appends = b'e', "APPENDS", None;
    List = b'l', "LIST", None;
    EmptyTuple = b')', "EMPTY_TUPLE", None;
    Tuple = b't', "TUPLE", None;
    Tuple1 = 0x85, "TUPLE1", None;
    Tuple2 = 0x86, "TUPLE2", None;
    Tuple3 = 0x87, "TUPLE3", None;
    EmptyDict = b'}', "EMPTY_DICT", None;
    Dict = b'd', "DICT", None;
    SetItem = b's', "SETITEM", None;
    SetItems = b'u', "SETITEMS", None;
    EmptySet = 0x8f, "EMPTY_SET", None;
    AddItems = 0x90, "ADDITEMS", None;
    FrozenSet = 0x91, "FROZENSET", None;
    Pop = b'0', "POP", None;
    Dup = b'2', "DUP", None;
    Mark = b'(', "MARK", None;
    PopMark = b'1', "POP_MARK", None;
    Get = b'g', "GET", DecimalNlShort;
    BinGet = b'h', "BINGET", UInt1;
    LongBinGet = b'j', "LONG_BINGET", UInt4;
    Put = b'p', "PUT", DecimalNlShort;
    BinPut = b'q', "BINPUT", UInt1;
    LongBinPut = b'r', "LONG_BINPUT", UInt4;
    Memoize = 0x94, "MEMOIZE", None;
    Ext1 = 0x82, "EXT1", UInt1;
    Ext2 = 0x83, "EXT2", UInt2;
    Ext4 = 0x84, "EXT4", Int4;
    Global = b'c', "GLOBAL", NlPair;
    StackGlobal = 0x93, "STACK_GLOBAL", None;
    Reduce = b'R', "REDUCE", None;
    Build = b'b', "BUILD", None;
    Inst = b'i', "INST", NlPair;
    Obj = b'o', "OBJ", None;
    NewObj = 0x81, "NEWOBJ", None;
    NewObjEx = 0x92, "NEWOBJ_EX", None;
    Proto = 0x80, "PROTO", UInt1;
    Stop = b'.', "STOP", None;
    Frame = 0x95, "FRAME", UInt8;
    PersId = b'P', "PERSID", NlNoEscape;
    BinPersId = b'Q', "BINPERSID", None;
}

impl Opcode {
    #[inline(always)]
    pub fn from_byte(b: u8) -> Option<Opcode> {
        BYTE_TABLE[b as usize]
    }

    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// Encoded length when it is the same for every use of the opcode (no
    /// argument or a fixed-width one), else 0.
    #[inline(always)]
    pub(crate) fn fixed_len(self) -> usize {
        FIXED_LEN[self as usize] as usize
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Shape of the inline argument, mirroring pickletools' ArgumentDescriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgKind {
    None,
    UInt1,
    UInt2,
    Int4,
    UInt4,
    UInt8,
    Float8,
    DecimalNlShort,
    DecimalNlLong,
    FloatNl,
    StringNl,
    UnicodeNl,
    NlNoEscape,
    NlPair,
    String1,
    String4,
    Bytes1,
    Bytes4,
    Bytes8,
    Long1,
    Long4,
}

impl ArgKind {
    const fn fixed_len(self) -> u8 {
        match self {
            ArgKind::None => 1,
            ArgKind::UInt1 => 2,
            ArgKind::UInt2 => 3,
            ArgKind::Int4 | ArgKind::UInt4 => 5,
            ArgKind::Float8 => 9,
            // FRAME (UInt8) needs its length check, so it takes the slow path.
            _ => 0,
        }
    }
}

/// Decoded inline argument. Text and binary payloads borrow from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    None,
    /// Fixed-width integers (BININT*, PROTO, EXT*, binary memo indices, FRAME
    /// size) and text integers that fit in i64.
    Int(i64),
    /// Text integer too large for i64 (INT/LONG in protocol 0), digits as written.
    BigText(&'a [u8]),
    /// INT "00"/"01", protocol 0's spelling of False/True.
    Bool(bool),
    Float(f64),
    /// FLOAT text line, unparsed (Python float syntax is wider than Rust's).
    FloatText(&'a [u8]),
    /// LONG1/LONG4 payload: little-endian two's complement.
    LongBytes(&'a [u8]),
    /// Payload of a string/bytes/bytearray opcode. For STRING this is the
    /// quoted repr without the quotes; for UNICODE the raw-unicode-escape line.
    Bytes(&'a [u8]),
    /// GLOBAL / INST: module line and name line.
    Pair(&'a [u8], &'a [u8]),
}

impl Arg<'_> {
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Arg::Int(v) => Some(v),
            _ => None,
        }
    }
}

/// One opcode, validated. The argument is decoded on demand by [`Op::arg`]
/// so that a plain scan never pays for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op<'a> {
    pub opcode: Opcode,
    /// Offset of the opcode byte in the input.
    pub offset: usize,
    /// Bytes consumed, opcode byte and inline argument included.
    pub len: usize,
    /// The `len` encoded bytes, opcode byte first.
    pub bytes: &'a [u8],
}

impl<'a> Op<'a> {
    /// Decoded argument. Cannot fail: the reader validated the encoding.
    #[inline]
    pub fn arg(&self) -> Arg<'a> {
        if self.opcode == Opcode::Frame {
            // Decoding on the op's own bytes would re-run the frame-length
            // check against input that is not in the slice.
            let mut a = [0u8; 8];
            a.copy_from_slice(&self.bytes[1..9]);
            return Arg::Int(u64::from_le_bytes(a) as i64);
        }
        match decode_arg(self.bytes, 0, self.opcode) {
            Ok((arg, _)) => arg,
            Err(_) => Arg::None,
        }
    }
}

/// Every way a stream can fail to scan or analyze. All carry the byte offset
/// of the opcode at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PickleError {
    #[error("unknown opcode 0x{byte:02x} at offset {offset}")]
    UnknownOpcode { byte: u8, offset: usize },
    #[error("truncated {opcode} argument at offset {offset}: needs {needed} bytes, {available} remain")]
    Truncated {
        opcode: &'static str,
        offset: usize,
        needed: u64,
        available: usize,
    },
    #[error(
        "{opcode} at offset {offset} declares length {declared}, larger than the {available} bytes remaining"
    )]
    LengthTooLarge {
        opcode: &'static str,
        offset: usize,
        declared: u64,
        available: usize,
    },
    #[error("{opcode} at offset {offset} declares negative length {declared}")]
    NegativeLength {
        opcode: &'static str,
        offset: usize,
        declared: i64,
    },
    #[error("bad text line for {opcode} at offset {offset}: {reason}")]
    BadLine {
        opcode: &'static str,
        offset: usize,
        reason: &'static str,
    },
    #[error("input ends at offset {offset} before STOP")]
    MissingStop { offset: usize },
    #[error(
        "stack underflow: {opcode} at offset {offset} needs {needed} item(s), {available} available above the mark"
    )]
    StackUnderflow {
        opcode: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("{opcode} at offset {offset} has no MARK to pop")]
    NoMark { opcode: &'static str, offset: usize },
    #[error("nesting depth exceeds limit {limit} at offset {offset}")]
    DepthLimit { limit: usize, offset: usize },
    #[error("symbolic stack exceeds limit of {limit} entries at offset {offset}")]
    StackLimit { limit: usize, offset: usize },
}

impl PickleError {
    pub fn offset(&self) -> usize {
        match *self {
            PickleError::UnknownOpcode { offset, .. }
            | PickleError::Truncated { offset, .. }
            | PickleError::LengthTooLarge { offset, .. }
            | PickleError::NegativeLength { offset, .. }
            | PickleError::BadLine { offset, .. }
            | PickleError::MissingStop { offset }
            | PickleError::StackUnderflow { offset, .. }
            | PickleError::NoMark { offset, .. }
            | PickleError::DepthLimit { offset, .. }
            | PickleError::StackLimit { offset, .. } => offset,
        }
    }
}

/// Iterator over the opcodes of a buffer, from a start offset up to the end of
/// the input. It does not stop at STOP: concatenated streams simply continue,
/// callers that care (see `inspect`) split on STOP themselves. After the first
/// error the iterator is exhausted.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader::at(data, 0)
    }

    pub fn at(data: &'a [u8], pos: usize) -> Self {
        Reader {
            data,
            pos: pos.min(data.len()),
            failed: false,
        }
    }

    /// Offset of the next opcode.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn is_at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Decodes the opcode at the current position; `Ok(None)` at end of input.
    // Inlined so the Op travels in registers: returned through memory it
    // cost more than the decoding itself.
    #[inline(always)]
    pub fn next_op(&mut self) -> Result<Option<Op<'a>>, PickleError> {
        if self.failed {
            return Ok(None);
        }
        let data = self.data;
        let offset = self.pos;
        let Some(&byte) = data.get(offset) else {
            return Ok(None);
        };
        let Some(opcode) = Opcode::from_byte(byte) else {
            self.failed = true;
            return Err(PickleError::UnknownOpcode { byte, offset });
        };
        // The tables are indexed by the byte just read, not by `opcode`, which
        // would make the length wait on the opcode table's load.
        match decode_op(data, offset, opcode, byte as usize) {
            Ok(op) => {
                self.pos = offset + op.len;
                Ok(Some(op))
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

/// Decodes the opcode at `offset` (< `data.len()`), whose byte is `opcode`.
/// Inlined where `opcode` is a constant, a fixed length is a constant too:
/// the position of the next opcode then does not wait on a table lookup.
#[inline(always)]
pub(crate) fn op_at(data: &[u8], offset: usize, opcode: Opcode) -> Result<Op<'_>, PickleError> {
    decode_op(data, offset, opcode, opcode.byte() as usize)
}

/// [`op_at`] with `byte == opcode.byte()` already at hand.
#[inline(always)]
fn decode_op(data: &[u8], offset: usize, opcode: Opcode, byte: usize) -> Result<Op<'_>, PickleError> {
    let fixed = FIXED_LEN[byte] as usize;
    let len = if fixed != 0 && fixed <= data.len() - offset {
        fixed
    } else if SHORT_PREFIXED[byte]
        && let Some(&n) = data.get(offset + 1)
        && 2 + n as usize <= data.len() - offset
    {
        // SHORT_BINUNICODE & co.: a one-byte length, hot in protocol 4+.
        2 + n as usize
    } else {
        variable_len(data, offset, opcode)?
    };
    Ok(Op {
        opcode,
        offset,
        len,
        bytes: &data[offset..offset + len],
    })
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Op<'a>, PickleError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_op().transpose()
    }
}

// Out of line: keeps the inlined fast path of `next_op` small.
#[inline(never)]
fn variable_len(data: &[u8], offset: usize, opcode: Opcode) -> Result<usize, PickleError> {
    decode_arg(data, offset, opcode).map(|(_, len)| len)
}

#[inline(always)]
fn fixed<const N: usize>(data: &[u8], offset: usize, opcode: Opcode) -> Result<[u8; N], PickleError> {
    let start = offset + 1;
    match data.get(start..start + N) {
        Some(s) => {
            let mut a = [0u8; N];
            a.copy_from_slice(s);
            Ok(a)
        }
        None => Err(PickleError::Truncated {
            opcode: opcode.name(),
            offset,
            needed: N as u64,
            available: data.len() - start,
        }),
    }
}

/// Payload of `declared` bytes starting at `start`; the comparison happens in
/// u64 so a hostile 2^63 length can neither overflow nor reach an allocation.
#[inline(always)]
fn payload(
    data: &[u8],
    offset: usize,
    start: usize,
    declared: u64,
    opcode: Opcode,
) -> Result<(&[u8], usize), PickleError> {
    let available = data.len() - start;
    if declared > available as u64 {
        return Err(PickleError::LengthTooLarge {
            opcode: opcode.name(),
            offset,
            declared,
            available,
        });
    }
    let end = start + declared as usize;
    Ok((&data[start..end], end - offset))
}

fn line(data: &[u8], start: usize, offset: usize, opcode: Opcode) -> Result<&[u8], PickleError> {
    let rest = &data[start.min(data.len())..];
    match rest.iter().position(|&b| b == b'\n') {
        Some(n) => Ok(&rest[..n]),
        None => Err(PickleError::BadLine {
            opcode: opcode.name(),
            offset,
            reason: "no terminating newline",
        }),
    }
}

fn bad(opcode: Opcode, offset: usize, reason: &'static str) -> PickleError {
    PickleError::BadLine {
        opcode: opcode.name(),
        offset,
        reason,
    }
}

/// Pickle's text integers: optional sign then ASCII digits (what
/// `repr(int)` writes; Python's int() is laxer but no pickler emits that).
fn parse_decimal<'a>(s: &'a [u8], opcode: Opcode, offset: usize) -> Result<Arg<'a>, PickleError> {
    let digits = match s.first() {
        Some(b'-') | Some(b'+') => &s[1..],
        _ => s,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad(opcode, offset, "not a decimal integer"));
    }
    // The text is pure ASCII by now, so from_utf8 cannot fail.
    match std::str::from_utf8(s).ok().and_then(|t| t.parse::<i64>().ok()) {
        Some(v) => Ok(Arg::Int(v)),
        None => Ok(Arg::BigText(s)),
    }
}

#[inline(always)]
fn decode_arg(data: &[u8], offset: usize, opcode: Opcode) -> Result<(Arg<'_>, usize), PickleError> {
    let start = offset + 1;
    Ok(match opcode.arg_kind() {
        ArgKind::None => (Arg::None, 1),
        ArgKind::UInt1 => (Arg::Int(fixed::<1>(data, offset, opcode)?[0] as i64), 2),
        ArgKind::UInt2 => (
            Arg::Int(u16::from_le_bytes(fixed(data, offset, opcode)?) as i64),
            3,
        ),
        ArgKind::Int4 => (
            Arg::Int(i32::from_le_bytes(fixed(data, offset, opcode)?) as i64),
            5,
        ),
        ArgKind::UInt4 => (
            Arg::Int(u32::from_le_bytes(fixed(data, offset, opcode)?) as i64),
            5,
        ),
        ArgKind::UInt8 => {
            let v = u64::from_le_bytes(fixed(data, offset, opcode)?);
            if opcode == Opcode::Frame {
                // A frame that claims more than the rest of the input cannot be
                // loaded; report it here, like any other oversized length.
                let available = data.len() - (start + 8);
                if v > available as u64 {
                    return Err(PickleError::LengthTooLarge {
                        opcode: opcode.name(),
                        offset,
                        declared: v,
                        available,
                    });
                }
            }
            (Arg::Int(v as i64), 9)
        }
        ArgKind::Float8 => (Arg::Float(f64::from_be_bytes(fixed(data, offset, opcode)?)), 9),
        ArgKind::String1 | ArgKind::Bytes1 => {
            let n = fixed::<1>(data, offset, opcode)?[0] as u64;
            let (p, len) = payload(data, offset, start + 1, n, opcode)?;
            (Arg::Bytes(p), len)
        }
        ArgKind::String4 => {
            let n = i32::from_le_bytes(fixed(data, offset, opcode)?);
            if n < 0 {
                return Err(PickleError::NegativeLength {
                    opcode: opcode.name(),
                    offset,
                    declared: n as i64,
                });
            }
            let (p, len) = payload(data, offset, start + 4, n as u64, opcode)?;
            (Arg::Bytes(p), len)
        }
        ArgKind::Bytes4 => {
            let n = u32::from_le_bytes(fixed(data, offset, opcode)?) as u64;
            let (p, len) = payload(data, offset, start + 4, n, opcode)?;
            (Arg::Bytes(p), len)
        }
        ArgKind::Bytes8 => {
            let n = u64::from_le_bytes(fixed(data, offset, opcode)?);
            let (p, len) = payload(data, offset, start + 8, n, opcode)?;
            (Arg::Bytes(p), len)
        }
        ArgKind::Long1 => {
            let n = fixed::<1>(data, offset, opcode)?[0] as u64;
            let (p, len) = payload(data, offset, start + 1, n, opcode)?;
            (Arg::LongBytes(p), len)
        }
        ArgKind::Long4 => {
            let n = i32::from_le_bytes(fixed(data, offset, opcode)?);
            if n < 0 {
                return Err(PickleError::NegativeLength {
                    opcode: opcode.name(),
                    offset,
                    declared: n as i64,
                });
            }
            let (p, len) = payload(data, offset, start + 4, n as u64, opcode)?;
            (Arg::LongBytes(p), len)
        }
        ArgKind::DecimalNlShort => {
            let l = line(data, start, offset, opcode)?;
            let arg = match (opcode, l) {
                (Opcode::Int, b"00") => Arg::Bool(false),
                (Opcode::Int, b"01") => Arg::Bool(true),
                _ => parse_decimal(l, opcode, offset)?,
            };
            if matches!(opcode, Opcode::Get | Opcode::Put) && !matches!(arg, Arg::Int(v) if v >= 0) {
                return Err(bad(opcode, offset, "memo index is not a non-negative integer"));
            }
            (arg, l.len() + 2)
        }
        ArgKind::DecimalNlLong => {
            let l = line(data, start, offset, opcode)?;
            let digits = l.strip_suffix(b"L").unwrap_or(l);
            (parse_decimal(digits, opcode, offset)?, l.len() + 2)
        }
        ArgKind::FloatNl => {
            let l = line(data, start, offset, opcode)?;
            if l.is_empty() || !l.is_ascii() {
                return Err(bad(opcode, offset, "not a float literal"));
            }
            let arg = match std::str::from_utf8(l).ok().and_then(|t| t.parse::<f64>().ok()) {
                Some(v) => Arg::Float(v),
                None => Arg::FloatText(l),
            };
            (arg, l.len() + 2)
        }
        ArgKind::StringNl => {
            let l = line(data, start, offset, opcode)?;
            let quoted = l.len() >= 2 && (l[0] == b'\'' || l[0] == b'"') && l[l.len() - 1] == l[0];
            if !quoted {
                return Err(bad(opcode, offset, "STRING argument must be quoted"));
            }
            (Arg::Bytes(&l[1..l.len() - 1]), l.len() + 2)
        }
        ArgKind::UnicodeNl | ArgKind::NlNoEscape => {
            let l = line(data, start, offset, opcode)?;
            (Arg::Bytes(l), l.len() + 2)
        }
        ArgKind::NlPair => {
            let module = line(data, start, offset, opcode)?;
            let name = line(data, start + module.len() + 1, offset, opcode)?;
            (Arg::Pair(module, name), module.len() + name.len() + 3)
        }
    })
}

/// Scans every opcode of `data` and returns how many were read. Used for
/// throughput measurement and as the cheapest well-formedness check.
pub fn scan(data: &[u8]) -> Result<usize, PickleError> {
    let mut r = Reader::new(data);
    let mut n = 0;
    while r.next_op()?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(data: &[u8]) -> Vec<(&'static str, usize, usize)> {
        Reader::new(data)
            .map(|r| r.map(|o| (o.opcode.name(), o.offset, o.len)))
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn table_is_consistent() {
        assert_eq!(Opcode::ALL.len(), 68);
        for &op in Opcode::ALL {
            assert_eq!(Opcode::from_byte(op.byte()), Some(op));
        }
        let known = (0..=255u8).filter(|&b| Opcode::from_byte(b).is_some()).count();
        assert_eq!(known, 68);
    }

    #[test]
    fn protocol0_text_ops() {
        let data =
            b"(I01\nI-5\nL123456789012345678901234567890L\nF1.5\nS'ab'\nVx\\u20ac\ncos\nsystem\np0\ng0\nt.";
        let got = ops(data);
        let names: Vec<_> = got.iter().map(|o| o.0).collect();
        assert_eq!(
            names,
            [
                "MARK", "INT", "INT", "LONG", "FLOAT", "STRING", "UNICODE", "GLOBAL", "PUT", "GET", "TUPLE",
                "STOP"
            ]
        );
        let mut r = Reader::new(data);
        r.next();
        assert_eq!(r.next().unwrap().unwrap().arg(), Arg::Bool(true));
        assert_eq!(r.next().unwrap().unwrap().arg(), Arg::Int(-5));
        assert_eq!(
            r.next().unwrap().unwrap().arg(),
            Arg::BigText(b"123456789012345678901234567890")
        );
        assert_eq!(r.next().unwrap().unwrap().arg(), Arg::Float(1.5));
        assert_eq!(r.next().unwrap().unwrap().arg(), Arg::Bytes(b"ab"));
        assert_eq!(r.next().unwrap().unwrap().arg(), Arg::Bytes(b"x\\u20ac"));
        let g = r.next().unwrap().unwrap();
        assert_eq!(g.arg(), Arg::Pair(b"os", b"system"));
        assert_eq!(g.len, 11);
    }

    #[test]
    fn binary_args() {
        let data = b"\x80\x05\x95\x0b\x00\x00\x00\x00\x00\x00\x00J\xff\xff\xff\xffM\x01\x02\x8c\x02hi\x94.";
        let mut r = Reader::new(data);
        assert_eq!(r.next().unwrap().unwrap().arg(), Arg::Int(5));
        assert_eq!(r.next().unwrap().unwrap().arg(), Arg::Int(11));
        assert_eq!(r.next().unwrap().unwrap().arg(), Arg::Int(-1));
        assert_eq!(r.next().unwrap().unwrap().arg(), Arg::Int(0x0201));
        let s = r.next().unwrap().unwrap();
        assert_eq!((s.arg(), s.offset, s.len), (Arg::Bytes(b"hi"), 19, 4));
        assert_eq!(r.next().unwrap().unwrap().opcode, Opcode::Memoize);
        assert_eq!(r.next().unwrap().unwrap().opcode, Opcode::Stop);
        assert!(r.next().is_none());
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(
            scan(b"N\xff."),
            Err(PickleError::UnknownOpcode {
                byte: 0xff,
                offset: 1
            })
        );
        assert_eq!(
            scan(b"NJ\x01\x02"),
            Err(PickleError::Truncated {
                opcode: "BININT",
                offset: 1,
                needed: 4,
                available: 2
            })
        );
        let mut huge = b"\x80\x04\x8d".to_vec();
        huge.extend_from_slice(&(1u64 << 60).to_le_bytes());
        huge.extend_from_slice(b"abc.");
        assert_eq!(
            scan(&huge),
            Err(PickleError::LengthTooLarge {
                opcode: "BINUNICODE8",
                offset: 2,
                declared: 1 << 60,
                available: 4
            })
        );
        assert_eq!(
            scan(b"T\xff\xff\xff\xff"),
            Err(PickleError::NegativeLength {
                opcode: "BINSTRING",
                offset: 0,
                declared: -1
            })
        );
        assert!(matches!(
            scan(b"NIabc\n."),
            Err(PickleError::BadLine { offset: 1, .. })
        ));
        assert!(matches!(
            scan(b"cos\nsystem"),
            Err(PickleError::BadLine { offset: 0, .. })
        ));
        assert!(matches!(
            scan(b"S'abc\n."),
            Err(PickleError::BadLine { offset: 0, .. })
        ));
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let data = b"\x80\x05\x95\x1a\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01\x8c\x01a\x94G?\xf0\x00\x00\x00\x00\x00\x00\x8a\x01\x05e.";
        for end in 0..data.len() {
            let _ = scan(&data[..end]);
        }
        for b in 0..=255u8 {
            let mut d = data.to_vec();
            for i in 0..d.len() {
                let old = d[i];
                d[i] = b;
                let _ = scan(&d);
                d[i] = old;
            }
        }
    }
}

//! Plain-data decoding with serde_pickle, for `--dump` and for the rare
//! streams the opcode-level check (`plain.rs`) leaves open: the guards that
//! keep a decode small, shallow and panic-free, the graph replay that sizes
//! the decoded value, and the Python-like rendering of the result.

use std::fmt::Write as _;

use serde_pickle::{HashableValue, Value};

use super::inspect::{IdxMap, Limits};
use super::reader::{Arg, Opcode, Reader};

/// serde_pickle collects set members and dict keys into sorted containers with an ordering
/// that mixes ints and floats; NaN, or floats next to ints beyond 2^53 (where i64 -> f64 loses
/// precision), break its total order and the sort panics (both found by fuzzing). Such a
/// stream is not decoded at all.
fn unorderable_values(stream: &[u8]) -> bool {
    const EXACT: i64 = 1 << 53;
    let (mut nan, mut float, mut big_int, mut ordered) = (false, false, false, false);
    for op in Reader::new(stream).flatten() {
        match op.opcode {
            Opcode::BinFloat | Opcode::Float => {
                float = true;
                nan |= match op.arg() {
                    Arg::Float(f) => f.is_nan(),
                    Arg::FloatText(t) => std::str::from_utf8(t)
                        .ok()
                        .and_then(|t| t.trim().parse::<f64>().ok())
                        .is_none_or(|f| f.is_nan()),
                    _ => false,
                }
            }
            Opcode::Int | Opcode::Long | Opcode::Long1 | Opcode::Long4 | Opcode::BinInt => {
                big_int |= match op.arg() {
                    Arg::Int(i) => i.unsigned_abs() > EXACT as u64,
                    Arg::LongBytes(b) => b.len() >= 7,
                    Arg::BigText(_) => true,
                    _ => false,
                }
            }
            Opcode::EmptySet
            | Opcode::FrozenSet
            | Opcode::AddItems
            | Opcode::SetItem
            | Opcode::SetItems
            | Opcode::Dict => ordered = true,
            _ => {}
        }
        if ordered && (nan || (float && big_int)) {
            return true;
        }
    }
    false
}

/// Decodes a plain stream with serde_pickle, after proving the result is
/// small and shallow enough (see [`Limits::max_decode_depth`]). Returns
/// whether it decoded and, if asked, its rendering.
pub(crate) fn decode_plain(
    stream: &[u8],
    limits: &Limits,
    dump_chars: Option<usize>,
) -> (bool, Option<String>) {
    let budget = limits.max_decode_bytes.saturating_add(
        limits
            .decode_bytes_per_input_byte
            .saturating_mul(stream.len() as u64),
    );
    let Some((cost, depth)) = decoded_extent(stream) else {
        return (false, Option::None);
    };
    if cost > budget || depth > limits.max_decode_depth {
        return (false, Option::None);
    }
    if unorderable_values(stream) {
        return (false, Option::None);
    }
    // serde_pickle's conversion, our renderer and Value's Drop all recurse
    // once per nesting level; deep values get a thread with a stack sized for
    // them instead of risking the caller's (an overflow aborts the process).
    // Last line of defence: a panic inside serde_pickle on an input the guard above did not
    // foresee makes the stream "not plain", never a crash of the tool.
    let work = move || {
        std::panic::catch_unwind(|| {
            match serde_pickle::value_from_slice(stream, serde_pickle::DeOptions::default()) {
                Ok(v) => (true, dump_chars.map(|max| render(&v, max))),
                Err(_) => (false, Option::None),
            }
        })
        .unwrap_or((false, Option::None))
    };
    if depth <= INLINE_DECODE_DEPTH {
        return work();
    }
    let stack = (depth as usize).saturating_mul(STACK_PER_LEVEL).max(1 << 20);
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(stack)
            .spawn_scoped(s, work)
            .ok()
            .and_then(|h| h.join().ok())
            .unwrap_or((false, Option::None))
    })
}

/// Depth decoded on the caller's thread; measured to need < 300 KiB in
/// debug builds, well inside the 2 MiB of a default Rust thread.
const INLINE_DECODE_DEPTH: u32 = 32;
/// Generous per-level stack (debug builds use ~5 KiB per level); only the
/// touched part of a thread stack is ever committed.
const STACK_PER_LEVEL: usize = 32 << 10;

/// Rough heap footprint of one decoded serde_pickle value, payload aside.
pub(crate) const NODE_COST: u64 = 32;

/// Replays a plain stream as an object graph (node per value, edge per
/// containment) and returns the size and depth the tree would have once
/// every memo reference is copied, which is what serde_pickle does. None for
/// cycles (serde_pickle rejects them) or anything outside the plain subset.
fn decoded_extent(stream: &[u8]) -> Option<(u64, u32)> {
    use Opcode::*;
    let mut own: Vec<u64> = Vec::new();
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut stack: Vec<u32> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut memo: IdxMap<u32> = IdxMap::default();
    let node = |own: &mut Vec<u64>, cost: u64| -> Option<u32> {
        let id = u32::try_from(own.len()).ok()?;
        own.push(cost);
        Some(id)
    };
    let mut root = Option::None;
    for op in Reader::new(stream) {
        let op = op.ok()?;
        let base = marks.last().copied().unwrap_or(0);
        match op.opcode {
            Int | BinInt | BinInt1 | BinInt2 | Long | Long1 | Long4 | None | NewTrue | NewFalse | Float
            | BinFloat | EmptyList | EmptyTuple | EmptyDict | EmptySet => {
                let id = node(&mut own, NODE_COST)?;
                stack.push(id);
            }
            String | BinString | ShortBinString | Unicode | ShortBinUnicode | BinUnicode | BinUnicode8
            | BinBytes | ShortBinBytes | BinBytes8 | ByteArray8 => {
                let len = match op.arg() {
                    Arg::Bytes(s) => s.len() as u64,
                    _ => 0,
                };
                let id = node(&mut own, NODE_COST + len)?;
                stack.push(id);
            }
            Mark => marks.push(stack.len()),
            List | Tuple | Dict | FrozenSet => {
                let m = marks.pop()?;
                let id = node(&mut own, NODE_COST)?;
                edges.extend(stack.drain(m..).map(|c| (id, c)));
                stack.push(id);
            }
            Tuple1 | Tuple2 | Tuple3 => {
                let n = (op.opcode.byte() - Tuple1.byte() + 1) as usize;
                let m = stack.len().checked_sub(n).filter(|&m| m >= base)?;
                let id = node(&mut own, NODE_COST)?;
                edges.extend(stack.drain(m..).map(|c| (id, c)));
                stack.push(id);
            }
            Append | SetItem => {
                let n = if op.opcode == Append { 1 } else { 2 };
                let m = stack.len().checked_sub(n).filter(|&m| m > base)?;
                let target = stack[m - 1];
                edges.extend(stack.drain(m..).map(|c| (target, c)));
            }
            Appends | SetItems | AddItems => {
                let m = marks.pop()?;
                let target = *stack.get(m.checked_sub(1)?)?;
                edges.extend(stack.drain(m..).map(|c| (target, c)));
            }
            Pop => {
                if stack.len() == base && !marks.is_empty() {
                    marks.pop();
                } else {
                    stack.pop()?;
                }
            }
            PopMark => {
                let m = marks.pop()?;
                stack.truncate(m);
            }
            Dup => stack.push(*stack.last()?),
            Put | BinPut | LongBinPut => {
                memo.insert(op.arg().as_int()? as u64, *stack.last()?);
            }
            Memoize => {
                memo.insert(memo.len() as u64, *stack.last()?);
            }
            Get | BinGet | LongBinGet => stack.push(*memo.get(&(op.arg().as_int()? as u64))?),
            Proto | Frame => {}
            Stop => {
                root = stack.pop();
                break;
            }
            _ => return Option::None,
        }
    }
    let root = root?;

    // Adjacency in CSR form via a counting sort: O(edges), no per-node Vecs.
    let n = own.len();
    let mut start = vec![0u32; n + 1];
    for &(p, _) in &edges {
        start[p as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut adj = vec![0u32; edges.len()];
    for &(p, c) in &edges {
        adj[fill[p as usize] as usize] = c;
        fill[p as usize] += 1;
    }
    drop(edges);

    // Iterative post-order DFS; memoised per node because shared subtrees are
    // copied, not shared, in the decoded value.
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; n];
    let mut cost = vec![0u64; n];
    let mut depth = vec![0u32; n];
    let mut work: Vec<(u32, u32)> = vec![(root, start[root as usize])];
    state[root as usize] = OPEN;
    while let Some(&mut (v, ref mut next)) = work.last_mut() {
        let vi = v as usize;
        if *next < start[vi + 1] {
            let c = adj[*next as usize];
            *next += 1;
            match state[c as usize] {
                NEW => {
                    state[c as usize] = OPEN;
                    work.push((c, start[c as usize]));
                }
                OPEN => return Option::None,
                _ => {}
            }
        } else {
            let mut total = own[vi];
            let mut d = 0;
            for &c in &adj[start[vi] as usize..start[vi + 1] as usize] {
                total = total.saturating_add(cost[c as usize]);
                d = d.max(depth[c as usize]);
            }
            cost[vi] = total;
            depth[vi] = d + 1;
            state[vi] = DONE;
            work.pop();
        }
    }
    Some((cost[root as usize], depth[root as usize]))
}

/// Python-like rendering of a decoded value, cut at `max_chars`.
fn render(v: &Value, max_chars: usize) -> String {
    let mut out = String::new();
    render_value(v, &mut out, max_chars);
    if out.len() > max_chars {
        let mut cut = max_chars;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

fn render_seq<'v, T: 'v>(
    items: impl IntoIterator<Item = &'v T>,
    open: &str,
    close: &str,
    out: &mut String,
    max: usize,
    mut f: impl FnMut(&'v T, &mut String),
) {
    out.push_str(open);
    for (i, item) in items.into_iter().enumerate() {
        if out.len() > max {
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        f(item, out);
    }
    out.push_str(close);
}

fn render_bytes(b: &[u8], out: &mut String) {
    let _ = write!(out, "b'{}'", b.escape_ascii());
}

fn render_str(s: &str, out: &mut String) {
    let _ = write!(out, "'{}'", s.escape_debug());
}

fn render_float(f: f64, out: &mut String) {
    let _ = write!(out, "{f:?}");
}

// Depth is bounded by Limits::max_decode_depth before any value gets here.
fn render_value(v: &Value, out: &mut String, max: usize) {
    if out.len() > max {
        return;
    }
    match v {
        Value::None => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::F64(f) => render_float(*f, out),
        Value::Bytes(b) => render_bytes(b, out),
        Value::String(s) => render_str(s, out),
        Value::List(l) => render_seq(l, "[", "]", out, max, |x, o| render_value(x, o, max)),
        Value::Tuple(t) => {
            let close = if t.len() == 1 { ",)" } else { ")" };
            render_seq(t, "(", close, out, max, |x, o| render_value(x, o, max))
        }
        Value::Set(s) if s.is_empty() => out.push_str("set()"),
        Value::Set(s) => render_seq(s, "{", "}", out, max, |x, o| render_hashable(x, o, max)),
        Value::FrozenSet(s) => render_seq(s, "frozenset({", "})", out, max, |x, o| {
            render_hashable(x, o, max)
        }),
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.iter().enumerate() {
                if out.len() > max {
                    break;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                render_hashable(k, out, max);
                out.push_str(": ");
                render_value(v, out, max);
            }
            out.push('}');
        }
    }
}

fn render_hashable(v: &HashableValue, out: &mut String, max: usize) {
    if out.len() > max {
        return;
    }
    match v {
        HashableValue::None => out.push_str("None"),
        HashableValue::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        HashableValue::I64(i) => {
            let _ = write!(out, "{i}");
        }
        HashableValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        HashableValue::F64(f) => render_float(*f, out),
        HashableValue::Bytes(b) => render_bytes(b, out),
        HashableValue::String(s) => render_str(s, out),
        HashableValue::Tuple(t) => {
            let close = if t.len() == 1 { ",)" } else { ")" };
            render_seq(t, "(", close, out, max, |x, o| render_hashable(x, o, max))
        }
        HashableValue::FrozenSet(s) => render_seq(s, "frozenset({", "})", out, max, |x, o| {
            render_hashable(x, o, max)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::{InspectOptions, MemoStats, inspect};

    #[test]
    fn exponential_sharing_is_not_decoded() {
        // l0 = ['x']; l(n+1) = [l(n), l(n)]: 2^60 copies once serde_pickle
        // copies memo references, from a ~1 KB pickle.
        let mut s = b"\x80\x04]\x94\x8c\x01x\x94a".to_vec();
        let mut prev = 0u32;
        for i in 0..60u32 {
            s.extend_from_slice(b"]\x94(j");
            s.extend_from_slice(&prev.to_le_bytes());
            s.extend_from_slice(b"j");
            s.extend_from_slice(&prev.to_le_bytes());
            s.extend_from_slice(b"e");
            prev = 2 + i;
        }
        s.push(b'.');
        let (cost, depth) = decoded_extent(&s).unwrap();
        assert!(cost > 1 << 40, "{cost}");
        assert_eq!(depth, 62);
        let r = inspect(&s, &InspectOptions::default()).unwrap();
        assert!(!r.plain_data);
        assert_eq!(r.memo, MemoStats { puts: 62, gets: 120 });
    }
}

//! Plain-data decoding with serde_pickle, for `--dump` and for the rare
//! streams the opcode-level check (`plain.rs`) leaves open: the guards that
//! keep a decode small, shallow and panic-free, and the graph replay that
//! sizes the decoded value (rendered by `dump.rs`).

use super::dump::render;
use super::limits::{IdxMap, Limits, NODE_COST};
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
    let budget = limits.decode_budget(stream.len());
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

/// Replays a plain stream as an object graph (node per value, edge per
/// containment) and returns the size and depth the tree would have once
/// every memo reference is copied, which is what serde_pickle does. None for
/// cycles (serde_pickle rejects them) or anything outside the plain subset.
fn decoded_extent(stream: &[u8]) -> Option<(u64, u32)> {
    let graph = replay(stream)?;
    let adjacency = Adjacency::of(graph.own.len(), graph.edges);
    tree_extent(&graph.own, &adjacency, graph.root)
}

/// A plain stream's values as a graph: each node's own cost, and (parent, child) edges.
struct Graph {
    own: Vec<u64>,
    edges: Vec<(u32, u32)>,
    root: u32,
}

/// One node per value the stream builds, one edge per containment; memo GETs add edges to
/// the node they name (a shared subtree), not nodes. None outside the plain subset.
fn replay(stream: &[u8]) -> Option<Graph> {
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
    Some(Graph {
        own,
        edges,
        root: root?,
    })
}

/// Children per node in CSR form: node `v`'s children are `adj[start[v]..start[v + 1]]`.
struct Adjacency {
    start: Vec<u32>,
    adj: Vec<u32>,
}

impl Adjacency {
    /// By a counting sort: O(edges), no per-node Vecs; the edge list is freed.
    fn of(n: usize, edges: Vec<(u32, u32)>) -> Adjacency {
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
        Adjacency { start, adj }
    }

    fn children(&self, v: usize) -> &[u32] {
        &self.adj[self.start[v] as usize..self.start[v + 1] as usize]
    }
}

/// Size and depth of the tree under `root` once every shared subtree is copied: an iterative
/// post-order DFS, memoised per node. None for a cycle.
fn tree_extent(own: &[u64], graph: &Adjacency, root: u32) -> Option<(u64, u32)> {
    let Adjacency { start, adj } = graph;
    let n = own.len();
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
            for &c in graph.children(vi) {
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// l0 = ['x']; l(n+1) = [l(n), l(n)]: 2^60 copies once serde_pickle copies memo
    /// references, from a ~1 KB pickle.
    pub(crate) fn exponential_sharing() -> Vec<u8> {
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
        s
    }

    #[test]
    fn exponential_sharing_is_sized_as_copied() {
        let (cost, depth) = decoded_extent(&exponential_sharing()).unwrap();
        assert!(cost > 1 << 40, "{cost}");
        assert_eq!(depth, 62);
        let s = b"\x80\x04]\x94\x8c\x01x\x94a.";
        assert_eq!(decoded_extent(s), Some((2 * NODE_COST + 1, 2)));
        assert_eq!(
            decode_plain(&exponential_sharing(), &Limits::default(), None),
            (false, None)
        );
    }
}

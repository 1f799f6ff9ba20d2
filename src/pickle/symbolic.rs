//! The symbolic unpickler stack: per item only "string (and which bytes)", "container" or
//! "other", run-length encoded, and the memo's strings for STACK_GLOBAL operands.

use super::limits::IdxMap;
use super::reader::{Opcode, PickleError};

#[derive(Clone, Copy)]
pub(super) enum Sym<'a> {
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

pub(super) struct SymStack<'a> {
    entries: Vec<Entry<'a>>,
    len: usize,
    containers: usize,
    marks: Vec<MarkAt>,
    max_entries: usize,
}

impl<'a> SymStack<'a> {
    pub(super) fn new(max_entries: usize) -> Self {
        SymStack {
            entries: Vec::new(),
            len: 0,
            containers: 0,
            marks: Vec::new(),
            max_entries,
        }
    }

    #[inline]
    pub(super) fn depth(&self) -> usize {
        self.marks.len() + self.containers
    }

    /// Items above the innermost MARK: all the unpickler lets an opcode touch.
    #[inline]
    pub(super) fn avail(&self) -> usize {
        self.len - self.marks.last().map_or(0, |m| m.len)
    }

    #[inline]
    pub(super) fn require(&self, n: usize, opcode: Opcode, offset: usize) -> Result<(), PickleError> {
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
    pub(super) fn push(&mut self, sym: Sym<'a>, offset: usize) -> Result<(), PickleError> {
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
    pub(super) fn mark(&mut self) {
        self.marks.push(MarkAt {
            len: self.len,
            containers: self.containers,
            entries: self.entries.len(),
            top_count: self.entries.last().map_or(0, |e| e.count),
        });
    }

    /// The string on top, if the top item is one (a string's run is always 1 long).
    #[inline]
    pub(super) fn top_str(&self) -> Option<&'a [u8]> {
        match self.entries.last() {
            Some(Entry { sym: Sym::Str(s), .. }) => Some(*s),
            _ => None,
        }
    }

    /// POP with nothing above the innermost MARK pops the MARK itself, as CPython does:
    /// true when it did.
    #[inline]
    pub(super) fn pop_bare_mark(&mut self) -> bool {
        if self.avail() == 0 && !self.marks.is_empty() {
            self.marks.pop();
            return true;
        }
        false
    }

    /// Pops `n` items; callers check `require` first.
    #[inline]
    pub(super) fn pop(&mut self, n: usize) {
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
    pub(super) fn pop_mark(&mut self, opcode: Opcode, offset: usize) -> Result<(), PickleError> {
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
    #[inline]
    pub(super) fn peek(&self, i: usize) -> Option<Sym<'a>> {
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

/// String values in the memo, for STACK_GLOBAL operands fetched with GET.
/// Indices below `max` live in a dense Vec (CPython numbers its memo from 0,
/// so this is the common case and needs no hashing); larger ones in a map
/// holding at most `max` entries. Both are bounded by `max`, never by input.
pub(super) struct MemoStrs<'a> {
    dense: Vec<Option<&'a [u8]>>,
    sparse: IdxMap<&'a [u8]>,
    /// Largest key ever put in `sparse`: MEMOIZE indices only grow, so most
    /// non-string puts can skip the removal.
    sparse_max: u64,
    max: usize,
}

impl<'a> MemoStrs<'a> {
    pub(super) fn new(max: usize) -> Self {
        MemoStrs {
            dense: Vec::new(),
            sparse: IdxMap::default(),
            sparse_max: 0,
            max,
        }
    }

    #[inline]
    pub(super) fn set(&mut self, idx: u64, s: Option<&'a [u8]>) {
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
    pub(super) fn get(&self, idx: u64) -> Option<&'a [u8]> {
        if idx < self.max as u64 {
            self.dense.get(idx as usize).copied().flatten()
        } else {
            self.sparse.get(&idx).copied()
        }
    }
}

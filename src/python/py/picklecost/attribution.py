"""Which objects of a graph its pickle's bytes are spent on.

A subclass of the pure-Python `pickle._Pickler` notes the output position before and after each
object is saved, so every object gets the bytes it adds to the stream: inclusive (with what it
pulls in) and exclusive (opcodes, memo puts and inline scalars of its own). Pickle memoizes: a
shared object's bytes land at its first reference in pickling order, later references cost a
memo GET that counts towards the referrer.

What gets a record: every object pickle saves in full (not as a memo reference) that is reached
through a nameable element of its parent (attribute, dict value, index, reduce argument).
Ints, floats, bools and None are written inline and count towards their container, as do str
dict keys, classes (globals), the state dict of an instance (its entries become `.attr`
children of the instance), and what pickle builds on the fly (`__reduce_ex__` argument
tuples). The exclusive bytes of all records add up to the length of the stream, the stream
header, frame headers and STOP being counted to the root.
"""

import heapq
import io
import pickle

from . import walk

_INLINE = frozenset({type(None), bool, int, float})
_LEAF = frozenset({str, bytes, bytearray})
_base_save = pickle._Pickler.save
_base_save_reduce = pickle._Pickler.save_reduce


class _Frame:
    __slots__ = ("obj", "rec", "names", "parts", "owner")

    def __init__(self, obj, rec, owner):
        self.obj = obj
        self.rec = rec          # record of the nearest tracked frame (this one if tracked)
        self.names = None       # id(child) -> element, built on first use
        self.parts = None       # the reduce value pickle used for obj, if any
        self.owner = owner      # frame whose names name our children (self unless merged)


class _Tracker(pickle._Pickler):
    def __init__(self, file, protocol):
        super().__init__(file, protocol)
        self._file = file
        self._framer = self.framer
        # records, as parallel lists (index = record number)
        self.parent = []
        self.elem = []
        self.rtype = []
        self.start = []
        self.end = []
        self.inner = []   # inclusive bytes of direct child records
        self.refs = []    # extra references (memo hits) to the object
        self.depth = []
        self._rec_of = {}
        self._stack = []
        self.protocol = protocol

    def _pos(self):
        frame = self._framer.current_frame
        if frame is None:
            return self._file.tell()
        return self._file.tell() + frame.tell()

    def _names(self, frame):
        obj = frame.obj
        if frame.parts is not None:
            children = walk.reduce_children(obj, frame.parts, self.protocol)
        else:
            children = walk.container_children(obj) or ()
        names = {}
        for elem, child in children:
            # classes are globals: their few bytes count to the instance that first needs them
            if type(child) not in _INLINE and elem[0] != "type(":
                names.setdefault(id(child), elem)
        frame.names = names
        return names

    def save(self, obj, save_persistent_id=True):
        t = type(obj)
        if t in _INLINE:
            return _base_save(self, obj, save_persistent_id)
        oid = id(obj)
        if oid in self.memo:
            r = self._rec_of.get(oid)
            if r is not None:
                self.refs[r] += 1
            return _base_save(self, obj, save_persistent_id)
        top = self._stack[-1]
        owner = top.owner
        names = owner.names
        if names is None:
            names = self._names(owner)
        elem = names.get(oid)
        if elem is None:
            # Not a nameable child (state dict, reduce arguments, dict key, global...): its bytes
            # are its parent's, its children are named relative to the parent.
            if t in _LEAF:
                return _base_save(self, obj, save_persistent_id)
            frame = _Frame(obj, top.rec, owner)
            stack = self._stack
            stack.append(frame)
            _base_save(self, obj, save_persistent_id)
            stack.pop()
            return
        parent = top.rec
        r = len(self.parent)
        if not r & 4095 and walk.past_deadline():
            raise walk.out_of_time(r)
        self.parent.append(parent)
        self.elem.append(elem)
        self.rtype.append(t)
        self.refs.append(0)
        self.inner.append(0)
        self.depth.append(self.depth[parent] + 1 if parent >= 0 else 0)
        self._rec_of[oid] = r
        start = self._pos()
        self.start.append(start)
        self.end.append(start)
        if t in _LEAF:
            _base_save(self, obj, save_persistent_id)
        else:
            frame = _Frame(obj, r, None)
            frame.owner = frame
            stack = self._stack
            stack.append(frame)
            _base_save(self, obj, save_persistent_id)
            stack.pop()
        end = self._pos()
        self.end[r] = end
        if parent >= 0:
            self.inner[parent] += end - start

    def save_reduce(self, func, args, state=None, listitems=None, dictitems=None,
                    state_setter=None, *, obj=None):
        top = self._stack[-1]
        if obj is not None and top.obj is obj and top.owner is top:
            if listitems is not None:
                listitems = list(listitems)
            if dictitems is not None:
                dictitems = list(dictitems)
            top.parts = (func, args, state, listitems, dictitems, state_setter)
            if listitems is not None:
                listitems = iter(listitems)
            if dictitems is not None:
                dictitems = iter(dictitems)
        return _base_save_reduce(self, func, args, state, listitems, dictitems, state_setter,
                                 obj=obj)

    def run(self, obj):
        root = _Frame(None, -1, None)
        root.owner = root
        root.names = {id(obj): ("", "")}
        self._stack.append(root)
        self.dump(obj)
        self._stack.pop()


class Attribution:
    """Records of one pickling: paths, inclusive and exclusive bytes per object."""

    def __init__(self, obj, root="site", protocol=5):
        self.root = root
        self.protocol = protocol
        buffer = io.BytesIO()
        tracker = _Tracker(buffer, protocol)
        walk.run_deep(tracker.run, obj)
        self.total_bytes = len(buffer.getbuffer())
        self.parent = tracker.parent
        self.elem = tracker.elem
        self.rtype = tracker.rtype
        self.start = tracker.start
        self.end = tracker.end
        self.refs = tracker.refs
        self.depth = tracker.depth
        inner = tracker.inner
        if not self.parent:  # an int, float, bool or None root is written inline
            for column, value in ((self.parent, -1), (self.elem, ("", "")), (self.rtype, type(obj)),
                                  (self.start, 0), (self.end, 0), (self.refs, 0),
                                  (self.depth, 0), (inner, 0)):
                column.append(value)
        # the root owns the whole stream: PROTO, frame headers outside any save, STOP
        self.start[0] = 0
        self.end[0] = self.total_bytes
        self.inclusive = [e - s for s, e in zip(self.start, self.end)]
        self.exclusive = [i - c for i, c in zip(self.inclusive, inner)]
        self._paths = {0: root}
        self._kids = None

    def __len__(self):
        return len(self.parent)

    def path(self, r):
        paths = self._paths
        chain = []
        while r not in paths:
            chain.append(r)
            r = self.parent[r]
        path = paths[r]
        for r in reversed(chain):
            prefix, suffix = self.elem[r]
            path = prefix + path + suffix
            paths[r] = path
        return path

    def children_index(self):
        """{record: [child records in pickling order]}."""
        if self._kids is None:
            kids = {}
            for r, p in enumerate(self.parent):
                if p >= 0:
                    kids.setdefault(p, []).append(r)
            self._kids = kids
        return self._kids

    def shared_bytes(self):
        """Bytes written while saving (non-root) objects that are referenced more than once."""
        total = 0
        covered_to = -1
        for r in range(1, len(self.parent)):
            if self.refs[r] and self.start[r] >= covered_to:
                total += self.end[r] - self.start[r]
                covered_to = self.end[r]
        return total

    def by_type(self):
        sums = {}
        for t, x in zip(self.rtype, self.exclusive):
            entry = sums.get(t)
            if entry is None:
                sums[t] = [x, 1]
            else:
                entry[0] += x
                entry[1] += 1
        rows = [{"type": _type_name(t), "bytes": b, "count": n} for t, (b, n) in sums.items()]
        rows.sort(key=lambda row: (-row["bytes"], row["type"]))
        return rows

    def top(self, n):
        inclusive = self.inclusive
        best = heapq.nlargest(n, range(len(inclusive)), key=inclusive.__getitem__)
        return [{"path": self.path(r), "type": _type_name(self.rtype[r]),
                 "inclusive_bytes": inclusive[r], "exclusive_bytes": self.exclusive[r]}
                for r in best]

    def tree(self, depth, fold=0.005):
        kids = self.children_index()
        threshold = self.total_bytes * fold

        def node(r):
            out = {"name": self.root if r == 0 else _label(self.elem[r], self.path(r)),
                   "path": self.path(r), "bytes": self.inclusive[r], "children": []}
            rows = sorted(kids.get(r, ()), key=lambda c: -self.inclusive[c]) \
                if self.depth[r] < depth else []
            other = other_count = 0
            for c in rows:
                if self.inclusive[c] >= threshold and self.inclusive[c] > 0:
                    out["children"].append(node(c))
                else:
                    other += self.inclusive[c]
                    other_count += 1
            if other_count:
                out["children"].append({"name": "(other)", "path": None, "bytes": other,
                                        "count": other_count, "children": []})
            return out

        return node(0)


def _label(elem, path):
    return elem[1] if not elem[0] else path


def _type_name(t):
    return "%s.%s" % (getattr(t, "__module__", None) or "?", t.__qualname__)


def attribute_bytes(obj, root="site", protocol=5, top=30, tree_depth=4):
    """Memo-aware byte attribution of pickle.dumps(obj, protocol); see the module docstring.

    Returns {"total_bytes" (length of the stream attributed), "pickle_bytes" (len of the C
    pickler's dumps), "objects" (records), "top_paths": [{"path", "type", "inclusive_bytes",
    "exclusive_bytes"}] (the `top` largest by inclusive bytes, the root first), "by_type":
    [{"type", "bytes" (exclusive, summed), "count"}] (descending), "shared_bytes" (bytes written
    while saving non-root objects that are referenced again later), "tree": {"name", "path",
    "bytes" (inclusive), "children": [...]} down to `tree_depth` levels below the root, children
    under 0.5% of the total folded into one {"name": "(other)", "path": None, "count"} child}.
    Raises ValueError if `obj` does not pickle.
    """
    return walk.run_deep(_attribute_bytes, obj, root, protocol, top, tree_depth)


def _attribute_bytes(obj, root, protocol, top, tree_depth):
    try:
        pickle_bytes = len(pickle.dumps(obj, protocol))
    except Exception as exc:  # noqa: BLE001
        raise ValueError("%s does not pickle (%s); find_unpicklable() names the culprits"
                         % (root, walk.error_text(exc))) from exc
    result = Attribution(obj, root, protocol)
    return {
        "total_bytes": result.total_bytes,
        "pickle_bytes": pickle_bytes,
        "objects": len(result),
        "top_paths": result.top(top),
        "by_type": result.by_type(),
        "shared_bytes": result.shared_bytes(),
        "tree": result.tree(tree_depth),
    }

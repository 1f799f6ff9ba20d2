"""Walk an object graph the way pickle does, and find what in it cannot be pickled.

`pickle_children(obj, protocol)` lists what pickle would save for `obj` (dict keys and values,
sequence and set items, and for everything else the parts of `obj.__reduce_ex__(protocol)`:
reconstructor, arguments, state, list items, dict items), each with the Python expression that
reaches it from `obj`. `find_unpicklable` uses it to descend from a root that does not pickle
into the children that do not pickle either, down to the objects that are to blame.

Paths are Python expressions built from a root name: an element is a (prefix, suffix) pair and
the child of `P` is `prefix + P + suffix`, e.g. ("", ".pages"), ("", "[3]"), ("type(", ")").
"""

import copyreg
import keyword
import pickle
import sys
import threading
import types

# Saved inline or by value with no children pickle descends into.
ATOMIC = frozenset({
    type(None), bool, int, float, complex, str, bytes, bytearray,
    type(Ellipsis), type(NotImplemented), pickle.PickleBuffer,
})
# Keys whose repr is a Python literal that indexes the dict again.
_LITERAL_KEYS = frozenset({str, int, float, bool, type(None), bytes})


def type_name(obj):
    t = type(obj)
    return "%s.%s" % (getattr(t, "__module__", None) or "?", getattr(t, "__qualname__", t.__name__))


from .util import describe as error_text  # noqa: E402 - one wording for every exception


def join(parent, elem):
    return elem[0] + parent + elem[1]


def _literal(key):
    t = type(key)
    if t in _LITERAL_KEYS:
        return t is not float or key == key  # nan does not index anything
    if t is tuple:
        return all(_literal(k) for k in key)
    return False


def _key_elems(key, index):
    """(element for the key object, or None when its repr is a literal; element for the value)
    of the index-th item of a dict."""
    if _literal(key):
        return None, ("", "[%r]" % (key,))
    return ("list(", ")[%d]" % index), ("list(", ".values())[%d]" % index)


def dict_children(d):
    out = []
    for i, (k, v) in enumerate(d.items()):
        key_elem, value_elem = _key_elems(k, i)
        if key_elem is not None:
            out.append((key_elem, k))
        out.append((value_elem, v))
    return out


def container_children(obj):
    """Children of the containers pickle saves itself (exact dict/list/tuple/set/frozenset)."""
    t = type(obj)
    if t is dict:
        return dict_children(obj)
    if t is list or t is tuple:
        return [(("", "[%d]" % i), x) for i, x in enumerate(obj)]
    if t is set or t is frozenset:
        return [(("list(", ")[%d]" % i), x) for i, x in enumerate(obj)]
    return None


def reduce_value(obj, protocol):
    """What pickle would call to reduce `obj` (dispatch table, class, __reduce_ex__): rv or a str."""
    t = type(obj)
    reducer = copyreg.dispatch_table.get(t)
    if reducer is not None:
        return reducer(obj)
    if issubclass(t, type):
        return "global"
    reduce_ex = getattr(obj, "__reduce_ex__", None)
    if reduce_ex is not None:
        return reduce_ex(protocol)
    return obj.__reduce__()


def _default_state(t):
    return (getattr(t, "__reduce_ex__", None) is object.__reduce_ex__
            and getattr(t, "__reduce__", None) is object.__reduce__
            and getattr(t, "__getstate__", object.__getstate__) is object.__getstate__)


def _default_reduce(t):
    return (getattr(t, "__reduce_ex__", None) is object.__reduce_ex__
            and getattr(t, "__reduce__", None) is object.__reduce__)


def _state_dicts(state):
    """The dicts of a dict or (dict, slots-dict) state, or None if the state is something else."""
    if type(state) is dict:
        return [(None, state)]
    if (type(state) is tuple and len(state) == 2
            and all(s is None or type(s) is dict for s in state)):
        return [(i, s) for i, s in enumerate(state) if s]
    return None


def state_entries(obj, state, protocol):
    """[(name, element, value)] for the entries of a dict or (dict, slots) state, else None."""
    dicts = _state_dicts(state)
    if dicts is None:
        return None
    t = type(obj)
    plain = _default_state(t)
    if plain:
        base = None
    elif _default_reduce(t):
        base = ".__getstate__()"
    else:
        base = ".__reduce_ex__(%d)[2]" % protocol
    out = []
    for index, d in dicts:
        for k, v in d.items():
            if plain and type(k) is str and k.isidentifier() and not keyword.iskeyword(k):
                elem = ("", "." + k)
            elif plain:
                elem = ("vars(", ")[%r]" % (k,))
            else:
                where = base if index is None else "%s[%d]" % (base, index)
                elem = ("", "%s[%r]" % (where, k))
            out.append((k, elem, v))
    return out


def reduce_children(obj, rv, protocol):
    """Children of `obj` given its reduce value `rv` = (func, args, state, listitems, dictitems,
    state_setter). Iterators in rv are consumed."""
    rv = tuple(rv) + (None,) * (6 - len(rv))
    func, args, state, listitems, dictitems, state_setter = rv[:6]
    r = ".__reduce_ex__(%d)" % protocol
    out = []
    name = getattr(func, "__name__", "")
    if protocol >= 2 and name == "__newobj__" and args:
        out.append((("type(", ")"), args[0]))
        out.extend((("", "%s[1][%d]" % (r, i)), a) for i, a in enumerate(args) if i)
    elif protocol >= 2 and name == "__newobj_ex__" and len(args) == 3:
        out.append((("type(", ")"), args[0]))
        out.extend((("", "%s[1][1][%d]" % (r, i)), a) for i, a in enumerate(args[1] or ()))
        out.extend((("", "%s[1][2][%r]" % (r, k)), v) for k, v in (args[2] or {}).items())
    else:
        out.append((("", "%s[0]" % r), func))
        out.extend((("", "%s[1][%d]" % (r, i)), a) for i, a in enumerate(args or ()))
    if listitems is not None:
        out.extend((("", "[%d]" % i), x) for i, x in enumerate(listitems))
    if dictitems is not None:
        for i, (k, v) in enumerate(dictitems):
            key_elem, value_elem = _key_elems(k, i)
            if key_elem is not None:
                out.append((key_elem, k))
            out.append((value_elem, v))
    if state is not None:
        entries = state_entries(obj, state, protocol)
        if entries is None:
            out.append((("", "%s[2]" % r), state))
        else:
            for k, elem, v in entries:
                if type(k) not in ATOMIC:
                    out.append((("list(vars(", "))"), k))
                out.append((elem, v))
    if state_setter is not None:
        out.append((("", "%s[5]" % r), state_setter))
    return out


def pickle_children(obj, protocol):
    """[(element, child)] in the order pickle saves them. Raises what reducing `obj` raises."""
    t = type(obj)
    if t in ATOMIC or t is types.FunctionType:
        return []
    children = container_children(obj)
    if children is not None:
        return children
    rv = reduce_value(obj, protocol)
    if isinstance(rv, str):
        return []
    if not isinstance(rv, tuple):
        raise pickle.PicklingError("__reduce__ must return a string or tuple")
    return reduce_children(obj, rv, protocol)


def top_level(obj, protocol):
    """[(name, element, value)]: the entries of obj's pickled state (its attributes)."""
    if type(obj) is dict:
        return [(k, e, v) for (k, v), (_, e) in
                zip(obj.items(), (_key_elems(k, i) for i, k in enumerate(obj)))]
    rv = reduce_value(obj, protocol)
    if not isinstance(rv, tuple) or len(rv) < 3:
        return []
    return state_entries(obj, rv[2], protocol) or []


# --- deep graphs -----------------------------------------------------------------------------

_deep = threading.local()


def run_deep(fn, *args):
    """fn(*args) in a thread with a 512 MB stack and a recursion limit of 200,000.

    Pickling recurses once or more per level of the graph: the pure-Python pickler by several
    Python frames per level, the C pickler of Python 3.11 against the same recursion limit.
    Nested calls run directly.
    """
    if getattr(_deep, "active", False):
        return fn(*args)
    result = {}

    def target():
        _deep.active = True
        try:
            result["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = exc

    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size()
    try:
        sys.setrecursionlimit(max(old_limit, 200_000))
        for megabytes in (512, 256, 64):
            try:
                threading.stack_size(megabytes * 1024 * 1024)
                break
            except (ValueError, RuntimeError):  # the platform's maximum is lower
                continue
        thread = threading.Thread(target=target, name="picklecost-deep")
        thread.start()
    except BaseException:
        sys.setrecursionlimit(old_limit)
        raise
    finally:
        threading.stack_size(old_size)
    try:
        thread.join()
    finally:
        sys.setrecursionlimit(old_limit)
    if "error" in result:
        raise result["error"]
    return result["value"]


# --- probing with the C pickler ----------------------------------------------------------------

class _Cut(Exception):
    """Raised inside a probe when it reaches an object already known not to pickle."""


class _NullWriter:
    def write(self, data):
        return len(data)


class Probe(pickle.Pickler):
    """C pickler that stops at given objects.

    `stop(obj)` is asked for every non-atomic object: return None to pickle it normally, a
    non-None value to write it as a persistent reference instead (it is not descended into), or
    raise to abort the dump.
    """

    def __init__(self, protocol, stop):
        super().__init__(_NullWriter(), protocol)
        self._stop = stop

    def persistent_id(self, obj):
        if type(obj) in ATOMIC:
            return None
        return self._stop(obj)


def reaches(value, targets, protocol=5, transparent=()):
    """Ids from the `targets` id-set that pickling `value` would write, and the error if the
    dump fails (ids in `transparent` are cut without being reported)."""
    hits = set()

    def stop(obj):
        i = id(obj)
        if i in targets:
            hits.add(i)
            return 1
        if i in transparent:
            return 2
        return None

    try:
        Probe(protocol, stop).dump(value)
    except Exception as exc:  # noqa: BLE001 - any pickling failure is a finding
        return hits, exc
    return hits, None


# --- find_unpicklable --------------------------------------------------------------------------

class _Frame:
    __slots__ = ("obj", "path", "depth", "children", "pos", "failed_child", "seq")

    def __init__(self, obj, path, depth, children, seq):
        self.seq = seq
        self.obj = obj
        self.path = path
        self.depth = depth
        self.children = children
        self.pos = 0
        self.failed_child = False


def find_unpicklable(obj, root="site", protocol=5, max_depth=100, max_visits=200_000):
    """Every minimal object in `obj`'s graph that pickle cannot save.

    Minimal: the object does not pickle on its own and none of the children pickle would save
    for it fails. Children are probed with the C pickler; objects already known to pickle, or
    known to fail, are cut from later probes, so each object is pickled about once.

    Returns {"failures": [{"path", "type", "error", "paths_reaching"}], "visited",
    "truncated", "limits", "unexplored"}: failures in the order pickle reaches them, each under
    the first path pickle reaches it by; paths_reaching counts the references to it from the
    objects the search expanded (a lower bound when truncated). "visited" counts the objects
    probed; "unexplored" lists (up to 50) failing objects the limits kept it from expanding.
    """
    return run_deep(_find_unpicklable, obj, root, protocol, max_depth, max_visits)


def _find_unpicklable(obj, root, protocol, max_depth, max_visits):
    try:
        pickle.dumps(obj, protocol)
        return {"failures": [], "visited": 1, "truncated": False, "limits": [], "unexplored": []}
    except Exception as exc:  # noqa: BLE001
        root_error = exc

    failing = {}   # id -> object (kept alive so ids stay unique)
    passing = {}   # id -> object
    errors = {}    # id -> exception from the probe that found it failing
    refs = {}      # id -> references to it from expanded failing objects
    culprits = []  # (preorder number, id, path, object) of the minimal failing objects
    unexplored = []
    depth_cuts = 0
    visited = 1
    truncated = False
    limits = []

    def stop(o):
        i = id(o)
        if i in failing:
            raise _Cut()
        if i in passing:
            return 1
        seen.append(o)
        return None

    def probe(o):
        del seen[:]
        try:
            Probe(protocol, stop).dump(o)
        except Exception as exc:  # noqa: BLE001
            return exc
        for s in seen:
            passing[id(s)] = s
        return None

    seen = []

    def expand(o, path, depth):
        try:
            children = pickle_children(o, protocol)
        except Exception:  # noqa: BLE001 - reducing it is what fails: it is a leaf culprit
            children = []
        return _Frame(o, path, depth, children, visited)

    failing[id(obj)] = obj
    errors[id(obj)] = root_error
    refs[id(obj)] = 1
    stack = [expand(obj, root, 0)]
    while stack:
        frame = stack[-1]
        if frame.pos >= len(frame.children):
            stack.pop()
            if not frame.failed_child:
                culprits.append((frame.seq, id(frame.obj), frame.path, frame.obj))
            continue
        elem, child = frame.children[frame.pos]
        frame.pos += 1
        t = type(child)
        if t in ATOMIC:
            continue
        cid = id(child)
        if cid in failing:
            frame.failed_child = True
            refs[cid] += 1
            continue
        if cid in passing:
            continue
        if visited >= max_visits:
            truncated = True
            limits.append("visit budget %d exhausted" % max_visits)
            break
        visited += 1
        exc = probe(child)
        if exc is None:
            passing[cid] = child
            continue
        frame.failed_child = True
        failing[cid] = child
        errors[cid] = exc
        refs[cid] = 1
        path = join(frame.path, elem)
        if frame.depth + 1 > max_depth:
            depth_cuts += 1
            unexplored.append({"path": path, "type": type_name(child), "error": error_text(exc)})
            continue
        stack.append(expand(child, path, frame.depth + 1))

    if depth_cuts:
        truncated = True
        limits.insert(0, "max_depth %d reached at %d path%s (first: %s)"
                      % (max_depth, depth_cuts, "" if depth_cuts == 1 else "s",
                         unexplored[0]["path"]))

    # Culprits are recorded when their frame closes; report them in the order pickle reaches
    # them, which is the order their frames were opened (DFS preorder).
    culprits.sort(key=lambda c: c[0])
    failures = []
    for _, cid, path, o in culprits:
        exc = errors[cid]
        if isinstance(exc, _Cut):  # only possible if reducing gave different children each time
            try:
                pickle.dumps(o, protocol)
            except Exception as plain:  # noqa: BLE001
                exc = plain
        failures.append({"path": path, "type": type_name(o), "error": error_text(exc),
                         "paths_reaching": refs[cid]})
    return {"failures": failures, "visited": visited, "truncated": truncated, "limits": limits,
            "unexplored": unexplored[:50]}


"""Walk an object graph the way pickle does, and find what in it cannot be pickled.

`pickle_children(obj, protocol)` lists what pickle would save for `obj` (dict keys and values,
sequence and set items, and for everything else the parts of `obj.__reduce_ex__(protocol)`:
reconstructor, arguments, state, list items, dict items), each with the Python expression that
reaches it from `obj`. `find_unpicklable` uses it to descend from a root that does not pickle
into the children that do not pickle either, down to the objects that are to blame;
`root_causes` groups those by type and path pattern.

Paths are Python expressions built from a root name: an element is a (prefix, suffix) pair and
the child of `P` is `prefix + P + suffix`, e.g. ("", ".pages"), ("", "[3]"), ("type(", ")").
They name what a Python developer would write:

- `P.name`: an attribute: an instance-dict entry, a slot, a dataclass field, also when the
  pickled state is computed (a __getstate__ dict, the list/tuple of field values a slotted
  dataclass pickles, a (dict, slots) pair) as long as `P.name` is that very object; found
  without calling properties;
- `P['key']`, `P[3]`: dict keys and sequence indices (also for dict and list subclasses);
  `list(P)[i]` and `list(P.values())[i]` for set items and for dict keys that have no literal;
- `vars(P)['key']`: an instance-dict entry that `P.key` would not return (a property hides it);
- `P.__getstate__()['key']`, `P.__getstate__()[i]`: a state that __getstate__ computes (the
  value is not an attribute of P);
- `type(P)`: the class (saved by reference);
- the exception, for what only the reduce value holds: `P.__reduce_ex__(N).ITEM` where ITEM
  names the reduce value's item as the pickle documentation does: `func` (the reconstructor),
  `args` (its arguments, e.g. `.args[1]`), `state`, `listitems` and `dictitems` (as
  `list(P.__reduce_ex__(N).listitems)[i]`, `dict(P.__reduce_ex__(N).dictitems)['key']`),
  `state_setter`. A reduce argument that is also an attribute or item of P is named that way.

Plain attribute/key/index paths evaluate as written with the root name bound (and the builtins
list, dict, type, vars); `evaluable(path)` turns the `.__reduce_ex__(N).ITEM` spelling into
indexes (`.__reduce_ex__(N)[1]` for args) so every path evaluates.
"""

import copyreg
import dataclasses
import keyword
import pickle
import re
import sys
import threading
import time
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


# --- naming what a reduce value holds ----------------------------------------------------------

_MISSING = object()
_SLOT, _DICT, _HIDDEN = "slot", "dict", "hidden"
_attr_kinds = {}       # (type, name) -> _SLOT / _DICT / _HIDDEN
_field_names = {}      # type -> tuple of dataclass field names (or None)


def _identifier(name):
    return type(name) is str and name.isidentifier() and not keyword.iskeyword(name)


def _attr_kind(t, name):
    """How `obj.name` is looked up on instances of `t`, found without running any code: a slot
    (member descriptor), the instance dict, or hidden (a property or other data descriptor, or a
    class with its own __getattribute__: not attempted)."""
    key = (t, name)
    kind = _attr_kinds.get(key)
    if kind is None:
        kind = _DICT
        if getattr(t, "__getattribute__", None) is not object.__getattribute__:
            kind = _HIDDEN
        else:
            for klass in t.__mro__:
                found = klass.__dict__.get(name, _MISSING)
                if found is _MISSING:
                    continue
                if type(found) is types.MemberDescriptorType:
                    kind = _SLOT
                elif hasattr(type(found), "__set__") or hasattr(type(found), "__delete__"):
                    kind = _HIDDEN
                break
        _attr_kinds[key] = kind
    return kind


def static_attr(obj, name):
    """What `obj.name` evaluates to when that is a plain slot or instance-dict attribute, found
    without calling properties or __getattr__ (so without side effects); else _MISSING."""
    if not _identifier(name):
        return _MISSING
    t = type(obj)
    try:
        kind = _attr_kind(t, name)
        if kind is _SLOT:
            for klass in t.__mro__:
                found = klass.__dict__.get(name, _MISSING)
                if found is not _MISSING:
                    return found.__get__(obj, t)
        if kind is _DICT:
            d = object.__getattribute__(obj, "__dict__")
            if type(d) is dict:
                return d.get(name, _MISSING)
    except Exception:  # noqa: BLE001 - an empty slot, no __dict__, an odd type
        pass
    return _MISSING


def _attr_elem(obj, name, value):
    """(".name") if `obj.name` is `value`, else None."""
    if static_attr(obj, name) is value:
        return ("", "." + name)
    return None


def _dataclass_fields(t):
    """The field names of dataclass `t` in field order (what a slotted dataclass's state lists),
    or None."""
    names = _field_names.get(t, _MISSING)
    if names is _MISSING:
        names = None
        if dataclasses.is_dataclass(t):
            try:
                names = tuple(f.name for f in dataclasses.fields(t))
            except TypeError:
                pass
        _field_names[t] = names
    return names


def _slot_names(t):
    out = []
    for klass in t.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        for name in slots or ():
            if name in ("__dict__", "__weakref__") or type(name) is not str:
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = "_%s%s" % (klass.__name__.lstrip("_"), name)
            out.append(name)
    return out


class _Names:
    """Names of the non-atomic objects `obj` holds as attributes (instance dict, slots) or, for
    tuple and list subclasses, as items: an id -> element map built on first use."""

    def __init__(self, obj):
        self.obj = obj
        self.map = None

    def get(self, value):
        if type(value) in ATOMIC or isinstance(value, (type, types.FunctionType,
                                                       types.BuiltinFunctionType)):
            # equal small ints and strings are often the same object: no guessing; classes and
            # functions are saved by reference
            return None
        if self.map is None:
            self.map = self._build()
        return self.map.get(id(value))

    def _build(self):
        obj, t, out = self.obj, type(self.obj), {}
        for base, getitem in ((tuple, tuple.__getitem__), (list, list.__getitem__)):
            if isinstance(obj, base) and getattr(t, "__getitem__", None) is getitem:
                for i, x in enumerate(base.__iter__(obj)):
                    out.setdefault(id(x), ("", "[%d]" % i))
        names = _slot_names(t)
        try:
            d = object.__getattribute__(obj, "__dict__")
            if type(d) is dict:
                names.extend(d)
        except Exception:  # noqa: BLE001 - no instance dict
            pass
        for name in names:
            value = static_attr(obj, name)
            if value is not _MISSING and type(value) not in ATOMIC:
                out.setdefault(id(value), ("", "." + name))
        return out


def _state_base(obj, protocol):
    """(is the state the default one, suffix that computes the state from obj)."""
    t = type(obj)
    if _default_state(t):
        return True, ".__getstate__()"
    if _default_reduce(t):
        return False, ".__getstate__()"
    return False, ".__reduce_ex__(%d).state" % protocol


def _state_parts(obj, state):
    """[(position in a (dict, slots) pair or None, dict or sequence)] of a state, or None if the
    state is neither a dict, a sequence of dataclass field values, nor a pair of those."""
    t = type(state)
    if t is dict:
        return [(None, state)]
    fields = _dataclass_fields(type(obj))
    if t in (list, tuple) and fields is not None and len(state) == len(fields):
        return [(None, state)]
    if t is tuple and len(state) == 2 and (state[0] is None or type(state[0]) is dict):
        second = state[1]
        if second is None or type(second) is dict or (
                type(second) in (list, tuple) and fields is not None
                and len(second) == len(fields)):
            return [(i, s) for i, s in enumerate(state) if s]
    return None


def state_entries(obj, state, protocol):
    """[(name, element, value)] for the entries of obj's pickled state, else None.

    The state is understood when it is a dict (an instance dict, a __getstate__ dict), a
    (dict, slots dict) pair, a list/tuple of a dataclass's field values in field order (what
    slotted dataclasses pickle), or a pair of a dict and such values. An entry is named as the
    attribute `.name` when `obj.name` is that very object, else by where the state holds it:
    `vars(obj)['key']` for the instance dict pickled as is, `.__getstate__()['key']` or
    `.__getstate__()[index]` for a state computed by __getstate__, and
    `.__reduce_ex__(N).state[...]` for one computed by __reduce_ex__. `name` is the dict key, or
    for field values the field's name (its index if the value is not that attribute).
    """
    entries = _state_entries(obj, state, protocol)
    if entries is None:
        return None
    return [(name, elem, value) for name, _key_elem, elem, value in entries]


def _state_entries(obj, state, protocol):
    """state_entries with, for each, the element reaching a key that is not atomic (or None)."""
    parts = _state_parts(obj, state)
    if parts is None:
        return None
    plain, base = _state_base(obj, protocol)
    fields = _dataclass_fields(type(obj))
    out = []
    for index, part in parts:
        where = base if index is None else "%s[%d]" % (base, index)
        instance_dict = plain and index in (None, 0)
        if type(part) is dict:
            for i, (k, v) in enumerate(part.items()):
                key_elem = None
                if type(k) not in ATOMIC:
                    key_elem = (("list(vars(", "))[%d]" % i) if instance_dict
                                else ("list(", "%s)[%d]" % (where, i)))
                elem = _attr_elem(obj, k, v)
                if elem is None:
                    if instance_dict and _literal(k):
                        elem = ("vars(", ")[%r]" % (k,))
                    elif _literal(k):
                        elem = ("", "%s[%r]" % (where, k))
                    else:
                        elem = ("list(", "%s.values())[%d]" % (where, i))
                out.append((k, key_elem, elem, v))
        else:
            for i, v in enumerate(part):
                elem = _attr_elem(obj, fields[i], v)
                if elem is None:
                    out.append((i, None, ("", "%s[%d]" % (where, i)), v))
                else:
                    out.append((fields[i], None, elem, v))
    return out


def _dict_item_elems(key, index, reduce_prefix):
    """Elements for the key and value of the index-th item of a reduce value's dict items."""
    if _literal(key):
        return None, ("dict(", "%s.dictitems)[%r]" % (reduce_prefix, key))
    return (("list(dict(", "%s.dictitems))[%d]" % (reduce_prefix, index)),
            ("list(dict(", "%s.dictitems).values())[%d]" % (reduce_prefix, index)))


def reduce_children(obj, rv, protocol):
    """Children of `obj` given its reduce value `rv` = (func, args, state, listitems, dictitems,
    state_setter). Iterators in rv are consumed. See the module docstring for the paths."""
    rv = tuple(rv) + (None,) * (6 - len(rv))
    func, args, state, listitems, dictitems, state_setter = rv[:6]
    r = ".__reduce_ex__(%d)" % protocol
    names = _Names(obj)

    def named(fallback, value):
        return names.get(value) or fallback, value

    out = []
    name = getattr(func, "__name__", "")
    if protocol >= 2 and name == "__newobj__" and args:
        out.append((("type(", ")"), args[0]))
        out.extend(named(("", "%s.args[%d]" % (r, i)), a) for i, a in enumerate(args) if i)
    elif protocol >= 2 and name == "__newobj_ex__" and len(args) == 3:
        out.append((("type(", ")"), args[0]))
        out.extend(named(("", "%s.args[1][%d]" % (r, i)), a)
                   for i, a in enumerate(args[1] or ()))
        out.extend(named(("", "%s.args[2][%r]" % (r, k)), v)
                   for k, v in (args[2] or {}).items())
    else:
        out.append(named(("", "%s.func" % r), func))
        out.extend(named(("", "%s.args[%d]" % (r, i)), a) for i, a in enumerate(args or ()))
    if listitems is not None:
        indexable = isinstance(obj, list) and type(obj).__getitem__ is list.__getitem__
        for i, x in enumerate(listitems):
            out.append(((("", "[%d]" % i) if indexable
                         else ("list(", "%s.listitems)[%d]" % (r, i))), x))
    if dictitems is not None:
        mapping = isinstance(obj, dict) and type(obj).__getitem__ is dict.__getitem__
        for i, (k, v) in enumerate(dictitems):
            if mapping:
                key_elem, value_elem = _key_elems(k, i)
            else:
                key_elem, value_elem = _dict_item_elems(k, i, r)
            if key_elem is not None:
                out.append((key_elem, k))
            out.append((value_elem, v))
    if state is not None:
        entries = _state_entries(obj, state, protocol)
        if entries is None:
            out.append(named(("", _state_base(obj, protocol)[1]), state))
        else:
            for k, key_elem, elem, v in entries:
                if key_elem is not None:
                    out.append((key_elem, k))
                out.append((elem, v))
    if state_setter is not None:
        out.append((("", "%s.state_setter" % r), state_setter))
    return out


_REDUCE_ITEM = re.compile(
    r"\.__reduce_ex__\((\d+)\)\.(func|args|state|listitems|dictitems|state_setter)\b")
_REDUCE_INDEX = {"func": 0, "args": 1, "state": 2, "listitems": 3, "dictitems": 4,
                 "state_setter": 5}


def evaluable(path):
    """`path` as a Python expression: `X.__reduce_ex__(N).args` (and .func, .state, .listitems,
    .dictitems, .state_setter) become `X.__reduce_ex__(N)[1]` etc. Evaluate it with the root
    name bound and the builtins list, dict, type and vars."""
    return _REDUCE_ITEM.sub(
        lambda m: ".__reduce_ex__(%s)[%d]" % (m.group(1), _REDUCE_INDEX[m.group(2)]), path)


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
    __slots__ = ("obj", "depth", "children", "pos", "failed_child", "seq")

    def __init__(self, obj, depth, children, seq):
        self.seq = seq
        self.obj = obj
        self.depth = depth
        self.children = children
        self.pos = 0
        self.failed_child = False


# --- the explanations' time limit ----------------------------------------------------------------

#: When the explanations must stop (a `time.monotonic()` value; None: no limit): set by
#: `set_deadline` before each explanation the Rust side asks for (`--diagnose-limit`).
deadline = None


class OutOfTime(Exception):
    """The explanations' time limit passed while an explanation ran."""


def set_deadline(seconds):
    """Explanations stop `seconds` from now (None: no limit)."""
    global deadline
    deadline = None if seconds is None else time.monotonic() + seconds


def past_deadline():
    return deadline is not None and time.monotonic() >= deadline


def out_of_time(objects):
    return OutOfTime("stopped by the time limit (--diagnose-limit) after %d objects" % objects)


def find_unpicklable(obj, root="site", protocol=5, max_depth=100, max_visits=200_000):
    """Every minimal object in `obj`'s graph that pickle cannot save.

    Minimal: the object does not pickle on its own and none of the children pickle would save
    for it fails. Children are probed with the C pickler; objects already known to pickle, or
    known to fail, are cut from later probes, so each object is pickled about once.

    Returns {"failures": [{"path", "type", "error", "paths_reaching"}], "root_causes",
    "visited", "truncated", "limits", "unexplored"}: failures in the order pickle reaches them,
    each under the shortest path (fewest steps) among the references the search met, the first
    one pickle reaches on a tie (see the module docstring for the spelling): an object that
    pickle reaches first deep inside another's cache is named from where it is held directly,
    e.g. `site.pages[7]._init_lock`; paths_reaching counts the references to it from the
    objects the search expanded (a lower bound when truncated). "root_causes" is root_causes(failures). "visited" counts the objects
    probed; "unexplored" lists (up to 50) failing objects the limits kept it from expanding.
    """
    return run_deep(_find_unpicklable, obj, root, protocol, max_depth, max_visits)


def _find_unpicklable(obj, root, protocol, max_depth, max_visits):
    try:
        pickle.dumps(obj, protocol)
        return {"failures": [], "root_causes": [], "visited": 1, "truncated": False,
                "limits": [], "unexplored": []}
    except Exception as exc:  # noqa: BLE001
        root_error = exc

    failing = {}   # id -> object (kept alive so ids stay unique)
    passing = {}   # id -> object
    errors = {}    # id -> exception from the probe that found it failing
    refs = {}      # id -> references to it from expanded failing objects
    culprits = []  # (preorder number, id, object) of the minimal failing objects
    # The route to each failing object: id -> (parent id, element), and the number of steps of
    # that route; a shorter route met later replaces it (the subtree below follows, as paths
    # are read along the parents at the end). Steps strictly decrease towards the root along
    # every route, so replacing never makes a cycle.
    route = {id(obj): (None, root)}
    steps = {id(obj): 0}
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

    def expand(o, depth):
        try:
            children = pickle_children(o, protocol)
        except Exception:  # noqa: BLE001 - reducing it is what fails: it is a leaf culprit
            children = []
        return _Frame(o, depth, children, visited)

    paths = {}

    def path_of(i):
        chain = []
        while i not in paths:
            parent, elem = route[i]
            if parent is None:
                paths[i] = elem
                break
            chain.append((i, parent, elem))
            i = parent
        for i, parent, elem in reversed(chain):
            paths[i] = join(paths[parent], elem)
        return paths[chain[0][0]] if chain else paths[i]

    failing[id(obj)] = obj
    errors[id(obj)] = root_error
    refs[id(obj)] = 1
    stack = [expand(obj, 0)]
    while stack:
        frame = stack[-1]
        if frame.pos >= len(frame.children):
            stack.pop()
            if not frame.failed_child:
                culprits.append((frame.seq, id(frame.obj), frame.obj))
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
            shorter = steps[id(frame.obj)] + 1
            if shorter < steps[cid]:
                route[cid] = (id(frame.obj), elem)
                steps[cid] = shorter
            continue
        if cid in passing:
            continue
        if visited >= max_visits:
            truncated = True
            limits.append("visit budget %d exhausted" % max_visits)
            break
        if visited % 64 == 0 and past_deadline():
            truncated = True
            limits.append("time limit (--diagnose-limit) reached after %d objects" % visited)
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
        route[cid] = (id(frame.obj), elem)
        steps[cid] = steps[id(frame.obj)] + 1
        if frame.depth + 1 > max_depth:
            depth_cuts += 1
            unexplored.append({"path": path_of(cid), "type": type_name(child),
                               "error": error_text(exc)})
            continue
        stack.append(expand(child, frame.depth + 1))

    if depth_cuts:
        truncated = True
        limits.insert(0, "max_depth %d reached at %d path%s (first: %s)"
                      % (max_depth, depth_cuts, "" if depth_cuts == 1 else "s",
                         unexplored[0]["path"]))

    # Culprits are recorded when their frame closes; report them in the order pickle reaches
    # them, which is the order their frames were opened (DFS preorder).
    culprits.sort(key=lambda c: c[0])
    failures = []
    for _, cid, o in culprits:
        exc = errors[cid]
        if isinstance(exc, _Cut):  # only possible if reducing gave different children each time
            try:
                pickle.dumps(o, protocol)
            except Exception as plain:  # noqa: BLE001
                exc = plain
        failures.append({"path": path_of(cid), "type": type_name(o), "error": error_text(exc),
                         "paths_reaching": refs[cid]})
    return {"failures": failures, "root_causes": root_causes(failures), "visited": visited,
            "truncated": truncated, "limits": limits, "unexplored": unexplored[:50]}



# --- root causes -------------------------------------------------------------------------------

_WRAPPERS = frozenset({"type", "list", "vars", "dict"})


def _closing(path, i):
    """Index of the `]` closing the `[` at i (string literals and nested brackets skipped)."""
    depth = 0
    quote = None
    n = len(path)
    while i < n:
        c = path[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n - 1


def _split_path(path):
    """(texts, subscripts, depth): the path is texts[0] + subscripts[0][1] + texts[1] + ...;
    each subscript is (starrable, "[...]"). Starrable subscripts index data: dict keys,
    sequence and set positions, reduce list/dict items. Not starrable: keys of a state (attribute
    names: `vars(x)['a']`, `x.__getstate__()['a']`) and positions in reduce args or a state.
    depth counts the path's steps (attributes, subscripts, type()/list()/vars()/dict())."""
    texts, subs = [], []
    names = []          # the callable before each open parenthesis
    last_closed = ""
    previous = True     # starrable status of the subscript just before, for chains x[a][b]
    start = 0
    depth = 0
    i, n = 0, len(path)
    while i < n:
        c = path[i]
        if c == "(":
            j = i
            while j > 0 and (path[j - 1].isalnum() or path[j - 1] == "_"):
                j -= 1
            name = path[j:i]
            names.append(name)
            if name in _WRAPPERS:
                depth += 1
        elif c == ")":
            last_closed = names.pop() if names else ""
        elif c == ".":
            depth += 1
        elif c == "[":
            end = _closing(path, i)
            before = path[:i]
            if before.endswith(")"):
                starrable = last_closed in ("list", "dict")
            elif before.endswith("]"):
                starrable = previous
            elif before.endswith((".args", ".state")):
                starrable = False
            else:
                starrable = True
            texts.append(path[start:i])
            subs.append((starrable, path[i:end + 1]))
            previous = starrable
            depth += 1
            start = i = end + 1
            continue
        i += 1
    texts.append(path[start:])
    return texts, subs, depth


def root_causes(failures):
    """Culprits grouped into root causes: the same type reached by the same path pattern, where
    the pattern replaces by `[*]` each dict key, sequence index or set position that varies
    within the group (`site.pages[*]._init_lock`); keys and indices that are the same for every
    member stay (a group of one has its full path as pattern).

    Returns [{"pattern", "type", "error", "count", "example", "paths"}]: count is the number of
    culprits (distinct objects), example the first one's path (in pickling order), error its
    error, paths the sum of their paths_reaching. Ranked by count descending, then shallower
    pattern first (fewer steps from the root: it sits under more of the graph), then pattern.
    """
    groups = {}
    for failure in failures:
        texts, subs, depth = _split_path(failure["path"])
        skeleton = (tuple(texts), tuple(star for star, _ in subs),
                    tuple(None if star else sub for star, sub in subs))
        key = (failure["type"], skeleton)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"texts": texts, "subs": [set() for _ in subs],
                                   "fixed": subs, "depth": depth, "failure": failure,
                                   "count": 0, "paths": 0}
        group["count"] += 1
        group["paths"] += failure.get("paths_reaching", 1)
        for seen, (_star, sub) in zip(group["subs"], subs):
            seen.add(sub)
    out = []
    for (type_, _), group in groups.items():
        pieces = [group["texts"][0]]
        for seen, (_star, sub), text in zip(group["subs"], group["fixed"], group["texts"][1:]):
            pieces.append(sub if len(seen) == 1 else "[*]")
            pieces.append(text)
        first = group["failure"]
        out.append({"pattern": "".join(pieces), "type": type_, "error": first["error"],
                    "count": group["count"], "example": first["path"], "paths": group["paths"],
                    "_depth": group["depth"]})
    out.sort(key=lambda c: (-c["count"], c["_depth"], c["pattern"], c["type"]))
    for cause in out:
        del cause["_depth"]
    return out

"""What pickling would cost once the culprits are fixed: pickle a graph that does not pickle with
each culprit replaced by its nearest picklable stand-in, without touching the graph.

`RepairingPickler` is a C pickler whose `reducer_override` writes, in place of

- a read-only mapping view (`types.MappingProxyType`, and any other `collections.abc.Mapping`
  that is not a dict and whose reduction raises): a dict of its items (the items themselves
  are pickled, and repaired, as usual);
- a frozen list or dict subclass (one whose append/extend, or __setitem__, refuses on a fresh
  instance while it keeps the default reduction: pickle would save it, but loading could not
  put its items back): a list, or a dict, of its items;
- a lock or other synchronisation object (`threading.Lock/RLock/Condition/Event/Semaphore/
  BoundedSemaphore/Barrier`, thread-local storage, and any type of the `_thread` module):
  None;
- an open file object (any `io.IOBase` but BytesIO/StringIO), a generator, a coroutine, an
  async generator, a module, a lambda or a function that cannot be imported by its name
  (a local function): the marker `("picklecost:repaired", TYPE)`, TYPE being the culprit's
  "module.qualname" type name, e.g. `("picklecost:repaired", "builtins.function")`.

Every stand-in is plain data (dicts, None, tuples of strings): the repaired bytes unpickle
anywhere without importing picklecost. The objects of the graph are only read (a mapping view is
read through its items); nothing is replaced in them. Repairs are counted per culprit object
(an object referenced twice is pickled, and repaired, once) and keyed by its type name, the
`type` of find_unpicklable's culprits ("builtins.mappingproxy", "_thread.RLock", ...).

What is still unpicklable after these repairs (a local class, a frame...) makes the dump fail:
`measure_repaired` reports it in "error".
"""

import collections
import collections.abc
import io
import pickle
import sys
import threading
import time
import traceback
import types

from . import walk

MARKER = "picklecost:repaired"

_SYNC_TYPES = tuple(t for t in (
    type(threading.Lock()), type(threading.RLock()), threading.Condition, threading.Event,
    threading.Semaphore, threading.BoundedSemaphore, threading.Barrier, threading.local,
    getattr(threading, "_PyRLock", None),  # the pure-Python RLock
) if isinstance(t, type))
_RUNNING_TYPES = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType,
                  types.ModuleType)
_PICKLABLE_IO = (io.BytesIO, io.StringIO)
_NONE_REDUCE = (type(None), ())


def _importable(fn):
    """Whether pickle can save function `fn` by reference (module + qualname lead back to it)."""
    qualname = getattr(fn, "__qualname__", "")
    if "<" in qualname:  # <lambda>, <locals>
        return False
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    if module is None:
        return False
    found = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            return False
    return found is fn


_frozen = {}  # type -> "list" / "dict" / None


def _frozen_kind(t):
    """"list"/"dict" if the list/dict subclass `t` keeps the default reduction (its items are
    put back by append/extend or __setitem__ when loading) but a fresh instance refuses them."""
    if t in _frozen:
        return _frozen[t]
    kind = None
    if walk._default_reduce(t):
        try:
            probe = t.__new__(t)  # not the user's object: a fresh, empty instance
        except Exception:  # noqa: BLE001
            probe = None
        if probe is not None:
            try:
                if isinstance(probe, list):
                    kind = "list"
                    probe.extend([None])
                    probe.append(None)
                else:
                    kind = "dict"
                    probe[None] = None
                kind = None
            except Exception:  # noqa: BLE001 - it refuses: its bytes would not load
                pass
    _frozen[t] = kind
    return kind


def repair_kind(obj, protocol=5):
    """How `obj` would be replaced: "dict", "list", "none" or "marker"; None if it is not."""
    t = type(obj)
    if t is types.MappingProxyType:
        return "dict"
    if t is not list and t is not dict and isinstance(obj, (list, dict)):
        return _frozen_kind(t)
    if t.__module__ == "_thread" or isinstance(obj, _SYNC_TYPES):
        return "none"
    if t is types.FunctionType:
        return None if _importable(obj) else "marker"
    if isinstance(obj, _RUNNING_TYPES):
        return "marker"
    if isinstance(obj, io.IOBase) and not isinstance(obj, _PICKLABLE_IO):
        return "marker"
    if (isinstance(obj, collections.abc.Mapping) and not isinstance(obj, dict)
            and not isinstance(obj, type)):
        try:
            walk.reduce_value(obj, protocol)
        except Exception:  # noqa: BLE001 - a mapping that refuses to be reduced
            return "dict"
    return None


class RepairingPickler(pickle.Pickler):
    """A pickler that writes stand-ins for the culprits (see the module docstring).
    `repairs` counts the replaced objects by type name."""

    def __init__(self, file, protocol=5):
        super().__init__(file, protocol)
        self.protocol = protocol
        self.repairs = collections.Counter()

    def reducer_override(self, obj):
        if isinstance(obj, type):
            return NotImplemented  # classes are saved by reference
        kind = repair_kind(obj, self.protocol)
        if kind is None:
            return NotImplemented
        self.repairs[walk.type_name(obj)] += 1
        if kind == "dict":
            items = obj.items() if hasattr(obj, "items") else ((k, obj[k]) for k in obj)
            return (dict, (), None, None, iter(list(items)))
        if kind == "list":
            return (list, (), None, iter(list(obj)))
        if kind == "none":
            return _NONE_REDUCE
        return (tuple, ((MARKER, walk.type_name(obj)),))


def _where(exc):
    """" (at FILE:LINE in FUNCTION)" for the innermost Python frame of the exception, if any."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return " (at %s:%d in %s)" % (last.filename, last.lineno, last.name)


def _dumps(obj, protocol):
    stream = io.BytesIO()
    pickler = RepairingPickler(stream, protocol)
    pickler.dump(obj)
    return stream.getvalue(), dict(pickler.repairs)


def repaired_dumps(obj, protocol=5):
    """(bytes, {type name: count of culprits replaced}) of `obj` pickled with the repairs.
    Raises what pickling raises if something still does not pickle."""
    data, repairs = walk.run_deep(_dumps, obj, protocol)
    return data, dict(sorted(repairs.items()))


def measure_repaired(obj, protocol=5, rounds=3):
    """What pickling `obj` would cost once its culprits are repaired.

    Returns {"bytes": int (len of the repaired pickle; None if it still does not pickle),
    "dumps_ns": [one time per round], "loads_ns": [one per round], "repairs": {type name:
    count}, "error": None or what still fails ("dumps: TypeError: ..." or "loads: ..." with
    where in Python it failed, e.g. a __getattr__ that recurses on a half-built object)}.
    Each round pickles the graph anew with the repairing pickler; loads unpickles the bytes
    this process just made (never anything else).
    """
    return walk.run_deep(_measure, obj, protocol, max(1, int(rounds)))


def _measure(obj, protocol, rounds):
    result = {"bytes": None, "dumps_ns": [], "loads_ns": [], "repairs": {}, "error": None}
    data = None
    for _ in range(rounds):
        started = time.perf_counter_ns()
        try:
            data, repairs = _dumps(obj, protocol)
        except Exception as exc:  # noqa: BLE001 - reported
            result["error"] = "dumps: %s" % walk.error_text(exc)
            return result
        result["dumps_ns"].append(time.perf_counter_ns() - started)
        result["repairs"] = dict(sorted(repairs.items()))
        result["bytes"] = len(data)
    for _ in range(rounds):
        started = time.perf_counter_ns()
        try:
            pickle.loads(data)
        except Exception as exc:  # noqa: BLE001 - reported
            result["error"] = "loads: %s%s" % (walk.error_text(exc), _where(exc))
            result["loads_ns"] = []
            return result
        result["loads_ns"].append(time.perf_counter_ns() - started)
    return result

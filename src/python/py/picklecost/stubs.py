"""Every module that keeps an entry point out of isolated sub-interpreters, and what the code
asks of each once it is replaced by a recording stub.

`blockers(module)` imports `module` in a fresh isolated sub-interpreter with
builtins.__import__ wrapped (`TRACE_SOURCE`): when a module refuses to load there, the chain of
imports from the entry point to it is recorded, the refusing module is replaced by a recording
stub (`STUB_SOURCE`; for a private extension module such as `_tracemalloc`, the public module
that imported it, `tracemalloc`), and the import is tried again in a new fresh interpreter,
until everything loads, an error that is not a refusal stops it, or `STUB_LIMIT` stubs were
made. A stub answers every attribute with a falsy, callable, iterable-and-empty value and
records each attribute asked (`gets`) and each call (`calls`) by dotted name: that says whether
replacing the module is harmless. `blocked_chain(module)`: the first blocker's chain, with every
blocker beside it. `STUB_SOURCE` is also what a what-if worker runs before its imports.

Nothing here stubs anything in the main interpreter or in a measured run.
"""

import json
import os
import sys

from . import workers

# Stubs made for one entry point at most, before giving up.
STUB_LIMIT = 10

HINT = ("make the import lazy (import {module} inside the function that needs it), use a module "
        "that supports sub-interpreters instead, or run the workers in legacy-config "
        "sub-interpreters (they load any extension module but share the main GIL, so they do not "
        "render in parallel)")


# Tracing the modules being imported inside an isolated sub-interpreter; `_PC_TARGET`, `_PC_OUT`.
TRACE_SOURCE = r'''
import builtins, json, pickle
import importlib._bootstrap as _pc_bootstrap

_pc_stack = []
_pc_seen = {}
_pc_original_import = builtins.__import__


def _pc_traced_import(name, globals=None, locals=None, fromlist=(), level=0):
    full = name
    if level:
        package = (globals or {}).get("__package__") or ""
        try:
            full = _pc_bootstrap._resolve_name(name, package, level)
        except Exception:
            full = name
    _pc_stack.append(full)
    try:
        return _pc_original_import(name, globals, locals, fromlist, level)
    except BaseException as exc:
        # The innermost import the exception passes through is where it was raised.
        _pc_seen.setdefault(id(exc), (exc, list(_pc_stack)))
        raise
    finally:
        _pc_stack.pop()


def _pc_trace(target, code=None):
    builtins.__import__ = _pc_traced_import
    try:
        exec(code or "import " + target, {"__name__": "__pc_trace__"})
        return None
    except BaseException as exc:
        error = exc
    finally:
        builtins.__import__ = _pc_original_import
    stack = None
    cause = error
    while cause is not None and stack is None:
        seen = _pc_seen.get(id(cause))
        stack = seen[1] if seen and seen[0] is cause else None
        cause = cause.__cause__ or cause.__context__
    stack = stack or [target]
    # The modules whose code was running when it failed, outermost first (the traceback keeps
    # their frames, also for submodules imported through a `from package import module` list)...
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        name = frame.f_globals.get("__name__")
        if frame.f_code.co_name == "<module>" and name and not name.startswith("__pc_") \
                and name != "__main__" and (not frames or frames[-1] != name):
            frames.append(name)
        tb = tb.tb_next
    # ...then what the traced stack holds below the last of them (the extension module that
    # refused has no frame).
    tail = stack
    if frames and frames[-1] in stack:
        tail = stack[len(stack) - stack[::-1].index(frames[-1]):]
    elif frames:
        tail = [m for m in stack if m not in frames]
    chain = frames + [m for m in tail if m not in frames]
    if not chain or chain[0] != target:
        chain = [target] + [m for m in chain if m != target]
    refusing = getattr(error, "name", None)
    if refusing and chain[-1] != refusing and refusing not in chain:
        chain.append(refusing)
    # The extension that refused, as its message names it (`from . import _imaging` in PIL
    # raises with the name "PIL"), and each module once in a row.
    named = _pc_refused_name(str(error))
    if named and named not in chain:
        chain.append(named)
    chain = [m for i, m in enumerate(chain) if i == 0 or chain[i - 1] != m]
    return {"module": target, "chain": chain, "error": _pc_describe(error),
            "refusal": _pc_refusal(error)}


def _pc_refused_name(message):
    """X of "module X does not support loading in subinterpreters" (None: another message)."""
    words = message.split()
    if len(words) >= 3 and words[0] == "module" and "does not support loading" in message:
        return words[1] if all(p.isidentifier() for p in words[1].split(".")) else None
    return None


def _pc_refusal(error):
    """Whether `error` (or an exception it came from) is a module refusing to load here: an
    ImportError that is not a missing module."""
    while error is not None:
        if isinstance(error, ImportError) and not isinstance(error, ModuleNotFoundError):
            return True
        error = error.__cause__ or error.__context__
    return False
'''


# Recording stubs, installed in a (sub-)interpreter by `_pc_install_stubs(names)` before its
# imports: `names` and their submodules are served by a finder first on sys.meta_path.
STUB_SOURCE = r'''
import importlib.abc, importlib.util, json, sys, types

_pc_stub_uses = {}


def _pc_use(path, kind):
    _pc_stub_uses.setdefault(path, [0, 0])[kind] += 1


class _PcStubValue:
    """What a stub hands out: falsy, empty, callable; every use recorded under its path."""
    __slots__ = ("_pc_path",)

    def __init__(self, path):
        object.__setattr__(self, "_pc_path", path)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        path = self._pc_path + "." + name
        _pc_use(path, 0)
        return _PcStubValue(path)

    def __setattr__(self, name, value):
        _pc_use(self._pc_path + "." + name, 0)

    def __call__(self, *args, **kwargs):
        _pc_use(self._pc_path, 1)
        return _PcStubValue(self._pc_path + "()")

    def __bool__(self):
        return False

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())

    def __str__(self):
        return ""

    def __repr__(self):
        return "<picklecost stub %s>" % self._pc_path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __mro_entries__(self, bases):
        _pc_use(self._pc_path + " (subclassed)", 0)
        return (object,)


class _PcStubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        path = self.__name__ + "." + name
        _pc_use(path, 0)
        return _PcStubValue(path)


class _PcStubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, fullname, path=None, target=None):
        if not any(fullname == n or fullname.startswith(n + ".") for n in self.names):
            return None
        spec = importlib.util.spec_from_loader(fullname, self, is_package=True)
        spec.submodule_search_locations = []
        return spec

    def create_module(self, spec):
        return _PcStubModule(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def _pc_install_stubs(names):
    if names:
        sys.meta_path.insert(0, _PcStubFinder(names))


def _pc_stub_report():
    """The uses recorded so far, as JSON: [{"name", "gets", "calls"}], by name."""
    return json.dumps([{"name": k, "gets": v[0], "calls": v[1]}
                       for k, v in sorted(_pc_stub_uses.items())])
'''


def stub_for(chain, target):
    """The module to replace by a stub for the refusal at the end of `chain`: the refusing
    module, or for a private one (`_tracemalloc`) the public module that imported it."""
    refusing = chain[-1]
    if refusing.split(".")[-1].startswith("_") and len(chain) >= 2 and chain[-2] != target:
        return chain[-2]
    return refusing


def _attempt(name, stubs, code=None):
    """One fresh isolated sub-interpreter with `stubs` installed, importing `name` (or running
    `code`, traced under that name): (trace or None, stub uses)."""
    sub = workers.Subinterpreter("isolated", TRACE_SOURCE + STUB_SOURCE, workers.package_sources())
    try:
        error = sub.run("_pc_install_stubs(%r)" % (list(stubs),))
        if error:
            raise RuntimeError("cannot install stubs: " + error)
        error = sub.run("_pc_put(_PC_OUT, json.dumps(_pc_trace(%r, %r)))" % (name, code))
        if error:
            return {"module": name, "chain": [name], "error": error, "refusal": False}, []
        found = json.loads(sub.get())
        error = sub.run("_pc_put(_PC_OUT, _pc_stub_report())")
        uses = [] if error else json.loads(sub.get())
        return found, uses
    finally:
        sub.close()


def blockers(module, limit=STUB_LIMIT, code=None, stubbed=()):
    """Every module that refuses to load `module` in an isolated sub-interpreter, each stubbed
    in turn: {"module", "loads" (with the stubs), "first" (the first attempt's trace, None when
    it loaded), "blockers" [{"module", "chain", "error", "stub"}], "stubs", "stub_uses"
    [{"name", "gets", "calls"}] (during the import that went furthest), "stopped" (why it
    stopped short of loading, else None)}. With `code`, that code is run instead of the import
    (traced under the name `module`); `stubbed`: modules stubbed from the start (not counted
    in "stubs")."""
    name = workers.module_names([module])[0]
    out = {"module": name, "loads": False, "first": None, "blockers": [], "stubs": [],
           "stub_uses": [], "stopped": None}
    while True:
        found, uses = _attempt(name, list(stubbed) + out["stubs"], code)
        out["stub_uses"] = uses
        if out["first"] is None and found is not None:
            out["first"] = found
        if found is None:
            out["loads"] = True
            return out
        if not found.get("refusal"):
            out["stopped"] = "not a refusal to load: %s" % found["error"]
            return out
        stub = stub_for(found["chain"], name)
        if stub in out["stubs"] or stub in stubbed or stub == name:
            out["stopped"] = "%s still refuses with %s stubbed" % (found["chain"][-1], stub)
            return out
        if len(out["stubs"]) >= limit:
            out["stopped"] = "the limit of %d stubs was reached" % limit
            return out
        out["blockers"].append({"module": found["chain"][-1], "chain": found["chain"],
                                "error": found["error"], "stub": stub})
        out["stubs"].append(stub)


def hint(chain):
    """What to change for the refusal at the end of `chain`: the first import that leaves the
    importing project (in entry -> middle -> tracemalloc -> _tracemalloc, middle's)."""
    stdlib = getattr(sys, "stdlib_module_names", ())
    edge = len(chain) - 1
    while edge > 1 and chain[edge - 1].split(".")[0] in stdlib:
        edge -= 1
    importer, imported = chain[max(0, edge - 1)], chain[edge]
    if importer == imported:
        return HINT.format(module=imported)
    return "%s imports %s: %s" % (importer, imported, HINT.format(module=imported))


def blocked_chain(module, limit=STUB_LIMIT):
    """None when `module` loads in a fresh isolated sub-interpreter, else {"module", "chain"
    (entry point first, the first refusing module last), "error", "hint", "blockers" (every
    refusing module, each found with the ones before it stubbed), "stubs", "stub_uses",
    "loads_with_stubs", "stopped"}."""
    found = blockers(module, limit)
    first = found["first"]
    if first is None:
        return None
    chain = first["chain"]
    return {"module": found["module"], "chain": chain, "error": first["error"],
            "hint": hint(chain), "blockers": found["blockers"], "stubs": found["stubs"],
            "stub_uses": found["stub_uses"], "loads_with_stubs": found["loads"],
            "stopped": found["stopped"]}


# What a worker that loads the site itself runs (`scale`'s reload payload), traced for its
# blockers under this name: the load, the renderer, one page.
LOAD_ENTRY = "picklecost.generators.load"
LOAD_SOURCE = """
from picklecost import generators
_pc_loaded = generators.load(%(root)r, %(stage)r, %(loader)r, %(workdir)r, %(generator)r)
_pc_renderer = _pc_loaded.adapter.renderer(_pc_loaded.site, %(workdir)r + "/render")
_pc_renderer.render(_pc_loaded.pages[0])
_pc_renderer.close()
"""


def load_blocked(spec, workdir, stubbed, limit=STUB_LIMIT):
    """`blocked_chain` of a worker loading the site itself (`spec`: root, stage, loader,
    generator) and rendering a page, with `stubbed` stubbed from the start (None: it runs)."""
    os.makedirs(workdir, exist_ok=True)
    code = LOAD_SOURCE % dict(spec, workdir=workdir)
    found = blockers(LOAD_ENTRY, limit, code, stubbed)
    first = found["first"]
    if first is None:
        return None
    return {"module": LOAD_ENTRY, "chain": first["chain"], "error": first["error"],
            "hint": hint(first["chain"]), "blockers": found["blockers"], "stubs": found["stubs"],
            "stub_uses": found["stub_uses"], "loads_with_stubs": found["loads"],
            "stopped": found["stopped"]}


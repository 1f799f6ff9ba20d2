"""Does rendering scale with threads, sub-interpreters (raw or pooled), processes, a forkserver or fork?

`run(adapter, site, pages, workdir, ...)` renders the same N pages sequentially in this
interpreter (the baseline, timed first and last) and with W workers of each strategy:

- `thread`: W threads of this interpreter, pages by reference;
- `subinterpreter`: W isolated sub-interpreters (own GIL), each driven by one thread of this
  interpreter: its payload pickled in, its rendered pages pickled back;
- `interpreter-pool`: the same W chunks submitted to Python 3.14's
  `concurrent.futures.InterpreterPoolExecutor(W)`, the API a generator would use: its workers are
  isolated sub-interpreters set up by the pool's initializer, the payload goes as pickled bytes
  and the rendered pages come back through the executor (which pickles what is not shareable);
- `process`: W `spawn` processes of the environment's Python, payload pickled over a pipe
  (for `render`, the site and its pages once per worker plus the worker's page indices);
- `forkserver`: the same, the W processes forked by multiprocessing's forkserver (the default
  start method from Python 3.14 on Linux), started for the run: it forked before the site was
  loaded, so its workers get their payload pickled like `process`;
- `fork`: W `os.fork()` children of this process after loading: pages shared copy-on-write, no
  pickling out; the rendered pages come back pickled through a pipe.

Two workloads: `render` (the adapter's per-page renderer: `Adapter.renderer(site, workdir)`) and
`markdown` (the Markdown-to-HTML step on each page's source, with the generator's own parser when it
loads in an isolated sub-interpreter, else the first of the adapter's other parsers that does).
When a module a workload needs cannot load in an isolated sub-interpreter, the import chain that
refuses is traced there, and every module beyond it that refuses too (`stubs.blocked_chain`).

The workers are started, fed, heard from and ended through `workers.py` (imported here as
`crews`, since `workers` is the worker count throughout); the processes of one run form a
`Crew`, ended when the run ends, however it ends. What is this module's: the render job the
workers run (source text: they cannot import this module) and the figures around it.

Timestamps are `time.perf_counter_ns()` (CLOCK_MONOTONIC, one clock for every process of the
machine), so the time a payload takes from this interpreter into a worker process is measured as
one interval across both. Everything returned is plain data; seconds are floats.
"""

import json
import math
import os
import pickle
import sys
import time

from . import stubs
from . import workers as crews
from .util import describe, even_sample, stratified_sample

# The strategies and workloads, by the names results.json uses (the Rust side's
# `model::scale::Strategy` and `Workload`; a test holds the two lists together).
STRATEGIES = ("thread", "subinterpreter", "interpreter-pool", "process", "forkserver", "fork")
WORKLOADS = ("render", "markdown")
# What-if runs (`--what-if`; the Rust side's `model::scale::WhatIf`): `stubs` runs the render
# workload's sub-interpreter workers with every module that refused them replaced by a recording
# stub (`stubs.py`), labelled as such, their pages compared with the main interpreter's.
WHAT_IFS = ("stubs",)
DEFAULT_TIMEOUT = 300.0



def _now():
    return time.perf_counter_ns()


def _gil_enabled():
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


# --- code every shipped worker runs (source text: workers cannot import this module) ------------

# The job: given the unpickled payload, a function index -> HTML and a closer.
_JOB_SOURCE = r'''
import os, pickle, sys, time

def _pc_job(workload, payload, workdir):
    if workload == "reload":  # the worker loads the site itself; pages by their keys
        spec, keys = payload
        from picklecost import generators
        os.makedirs(workdir, exist_ok=True)
        loaded = generators.load(spec["root"], spec["stage"], spec["loader"], workdir,
                                 spec["generator"])
        renderer = loaded.adapter.renderer(loaded.site, os.path.join(workdir, "render"))
        by_key = {loaded.adapter.page_key(p): p for p in loaded.pages}
        return (lambda i: renderer.render(by_key[keys[i]])), renderer.close
    if workload == "render":
        adapter, site, pages = payload
        renderer = adapter.renderer(site, workdir)
        return (lambda i: renderer.render(pages[i])), renderer.close
    setup, sources = payload
    namespace = {}
    exec(setup, namespace)
    markdown = namespace["_pc_markdown"]
    return (lambda i: markdown(sources[i])), None


def _pc_render_chunk(workload, data, workdir, indices, each=None):
    """Unpickle the payload `data`, make the job and render `indices` (calling `each(i)` before
    each page): ({index: HTML}, ns when the payload was in hand, ns spent rendering)."""
    payload = pickle.loads(data)
    loaded = time.perf_counter_ns()
    work, close = _pc_job(workload, payload, workdir)
    if workload == "reload":  # its payload out is the load
        loaded = time.perf_counter_ns()
    out = {}
    render_ns = 0
    for i in indices:
        if each is not None:
            each(i)
        t0 = time.perf_counter_ns()
        out[i] = work(i)
        render_ns += time.perf_counter_ns() - t0
    if close:
        close()
    return out, loaded, render_ns


def _pc_memory():
    """(VmHWM bytes, Private_Dirty bytes) of this process, None where unreadable."""
    found = {}
    for path, key in (("/proc/self/status", "VmHWM:"), ("/proc/self/smaps_rollup", "Private_Dirty:")):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        found[key] = int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return found.get("VmHWM:"), found.get("Private_Dirty:")
'''

# A spawned process worker, after the worker module's `PIPE_SOURCE`, its `FINDER_SOURCE` and
# `_JOB_SOURCE`: `_pc_conn` (duplex Connection), `_pc_sources`, `_pc_modules`, `_pc_workload`,
# `_pc_workdir` are in its namespace.
_PROCESS_SOURCE = r'''
def _pc_process_main(conn, sources, modules, workload, workdir):
    _pc_quiet()
    sys.dont_write_bytecode = True
    _pc_install_finder(sources)
    for name in modules:
        __import__(name)
    _pc_reply(conn, ("ready", os.getpid(), time.perf_counter_ns()))
    indices = pickle.loads(conn.recv_bytes())
    out, loaded, render_ns = _pc_render_chunk(workload, conn.recv_bytes(), workdir, indices,
                                              lambda i: _pc_reply(conn, ("page", i)))
    hwm, dirty = _pc_memory()
    back = time.perf_counter_ns()
    blob = pickle.dumps(out, 5)
    _pc_reply(conn, ("done", {"loaded": loaded, "render_ns": render_ns, "back": back,
                              "hwm": hwm, "dirty": dirty}))
    _pc_reply(conn, blob)
    conn.recv_bytes()  # the parent's goodbye: exit only after the result was read


_pc_process_main(_pc_conn, _pc_sources, _pc_modules, _pc_workload, _pc_workdir)
'''

# A sub-interpreter worker, after the finder and job sources; `_PC_IN`/`_PC_OUT` are queue ids.
_SUB_SOURCE = r'''
def _pc_sub_run(workload, workdir, indices):
    out, loaded, render_ns = _pc_render_chunk(workload, _pc_get(_PC_IN), workdir, indices)
    back = time.perf_counter_ns()
    blob = pickle.dumps(out, 5)
    _pc_put(_PC_OUT, blob)
    _pc_put(_PC_OUT, pickle.dumps({"loaded": loaded, "render_ns": render_ns, "back": back}))
'''

_here = {}
exec(_JOB_SOURCE, _here)
_memory = _here["_pc_memory"]


def _subinterpreter(extra, stubbed=()):
    """An isolated sub-interpreter with the job source, `extra` and the embedded package; with
    `stubbed` (a what-if) those modules replaced by recording stubs before anything imports."""
    source = _JOB_SOURCE + (stubs.STUB_SOURCE if stubbed else "") + extra
    sub = crews.Subinterpreter("isolated", source, crews.package_sources())
    if stubbed:
        error = sub.run("_pc_install_stubs(%r)" % (list(stubbed),))
        if error:
            sub.close()
            raise RuntimeError("installing the what-if stubs: " + error)
    return sub


# --- workloads ---------------------------------------------------------------------------------

class Workload:
    """A per-page job: `work(i)` in this interpreter; for shipped workers, what each one gets."""

    def __init__(self, name, available=True, reason=None, method=None):
        self.name = name
        self.available = available
        self.reason = reason
        self.method = method
        self.modules = []  # what a shipped worker imports at start-up
        self.ship_reason = None  # why shipped workers cannot get the payload (None: they can)
        self.sub_reason = None  # why isolated sub-interpreters cannot run it (None: they can)
        self.cut = False  # the time limit passed before it could be set up
        self.what_if = []  # modules stubbed in its sub-interpreter workers (--what-if stubs)
        self.reload = None  # with a what-if: each worker loads the site itself from this spec
        self.equivalence = None  # with a what-if: its pages against the main interpreter's

    def payload(self, indices):
        raise NotImplementedError


class RenderWorkload(Workload):
    def __init__(self, adapter, site, pages, workdir):
        super().__init__("render")
        self.adapter, self.site, self.pages = adapter, site, pages
        self.renderer = None
        try:
            self.renderer = adapter.renderer(site, os.path.join(workdir, "render-main"))
        except NotImplementedError as exc:
            self.available, self.reason = False, str(exc) or "the adapter has no per-page renderer"
            return
        except Exception as exc:
            self.available, self.reason = False, "setting up the renderer failed: %s" % describe(exc)
            return
        self.method = adapter.renderer_method()
        self.modules = adapter.worker_modules(site, pages)
        try:
            self._blob = pickle.dumps((adapter, site, pages), 5)
        except Exception as exc:
            self._blob = None
            self.ship_reason = "the site does not pickle (%s)" % describe(exc)

    page_limit = None  # seconds a page rendered in a main thread may take (None: no limit)

    def work(self, i):
        if self.page_limit:
            from . import limits

            with limits.time_limit(self.page_limit, "the render (--page-limit)"):
                return self.renderer.render(self.pages[i])
        return self.renderer.render(self.pages[i])

    def payload(self, indices):
        # The same bytes for every worker, but dumped again for each: what shipping costs.
        return pickle.dumps((self.adapter, self.site, self.pages), 5)

    def reload_payload(self, indices):
        """For a worker that loads the site itself: the site's spec and its pages' keys."""
        return pickle.dumps((self.reload, {i: self.adapter.page_key(self.pages[i])
                                           for i in indices}), 5)

    def close(self):
        if self.renderer is not None:
            self.renderer.close()


class MarkdownWorkload(Workload):
    def __init__(self, adapter, pages, sub_ok):
        super().__init__("markdown")
        self.sources = []
        for page in pages:
            try:
                text = adapter.markdown_source(page)
            except Exception:
                text = None
            self.sources.append(text if isinstance(text, str) else "")
        self.blocked = []
        chosen = None
        for candidate in adapter.markdown_parsers():
            if not _importable(candidate["modules"]):
                continue
            if sub_ok:
                blocked = [b for b in (stubs.blocked_chain(m) for m in candidate["modules"]) if b]
                if blocked:
                    for b in blocked:
                        b["parser"] = candidate["parser"]
                    self.blocked.extend(blocked)
                    continue
            chosen = candidate
            break
        if chosen is None:
            self.available = False
            self.reason = "no Markdown parser that loads here (tried: %s)" % ", ".join(
                c["parser"] for c in adapter.markdown_parsers())
            return
        namespace = {}
        exec(chosen["setup"], namespace)
        self._markdown = namespace["_pc_markdown"]
        self.setup = chosen["setup"]
        self.modules = list(chosen["modules"])
        self.parser = chosen["parser"]
        self.method = "each page's Markdown source to HTML with %s" % chosen["parser"]

    def work(self, i):
        return self._markdown(self.sources[i])

    def payload(self, indices):
        return pickle.dumps((self.setup, {i: self.sources[i] for i in indices}), 5)

    def close(self):
        pass


def _importable(modules):
    import importlib.util

    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


# --- one run -----------------------------------------------------------------------------------

def _run_row(workload, strategy, workers):
    return {"workload": workload.name, "strategy": strategy, "workers": workers,
            "available": True, "reason": None, "wall_seconds": None, "sequential_seconds": None,
            "speedup": None, "efficiency": None, "startup_seconds": 0.0,
            "ship_out_seconds": 0.0, "render_seconds": 0.0, "ship_back_seconds": 0.0,
            "payload_bytes": 0, "result_bytes": 0, "peak_memory_bytes": None,
            "memory_kind": None, "pages": 0, "failures": [], "what_if": [], "stub_uses": [],
            "different_pages": None, "reload": False}


def _finish(row, per_worker, wall_ns):
    """Means per worker of each part; wall time; totals."""
    n = max(1, len(per_worker))
    for key in ("startup", "ship_out", "render", "ship_back"):
        row[key + "_seconds"] = sum(w.get(key, 0) for w in per_worker) / n / 1e9
    row["payload_bytes"] = sum(w.get("payload_bytes", 0) for w in per_worker)
    row["result_bytes"] = sum(w.get("result_bytes", 0) for w in per_worker)
    mems = [w["memory"] for w in per_worker if w.get("memory") is not None]
    row["peak_memory_bytes"] = max(mems) if mems else None
    row["pages"] = sum(w.get("pages", 0) for w in per_worker)
    row["wall_seconds"] = wall_ns / 1e9


def sequential(workload, indices, pages=None):
    """(seconds, bytes of output) of rendering `indices` in this interpreter; each page's output
    put in the dict `pages` where one is given."""
    start = _now()
    out = [workload.work(i) for i in indices]
    seconds = (_now() - start) / 1e9
    if pages is not None:
        pages.update(zip(indices, out))
    return seconds, sum(len(h.encode("utf-8", "replace")) for h in out if h)


def _chunks(indices, workers):
    return [indices[k::workers] for k in range(workers)]


def run_thread(workload, indices, workers, timeout):
    row = _run_row(workload, "thread", workers)
    per = [{} for _ in range(workers)]
    errors = []

    def body(k, chunk):
        def run(t_start):
            per[k]["startup"] = _now() - t_start
            t0 = _now()
            size = 0
            i = None
            try:
                for i in chunk:
                    html = workload.work(i)
                    size += len(html.encode("utf-8", "replace")) if html else 0
            except BaseException as exc:
                errors.append({"worker": k, "pid": os.getpid(), "page_index": i,
                               "what": describe(exc), "exit_status": None, "signal": None})
            per[k]["render"] = _now() - t0
            per[k]["result_bytes"] = size
            per[k]["pages"] = len(chunk)
        return run

    start = _now()
    crews.run_threads([body(k, c) for k, c in enumerate(_chunks(indices, workers))], timeout,
                      "picklecost-scale")
    _finish(row, per, _now() - start)
    row["failures"] = errors
    return row


def run_subinterpreter(workload, indices, workers, timeout, workdir):
    row = _run_row(workload, "subinterpreter", workers)
    row["what_if"] = list(workload.what_if)
    row["reload"] = workload.reload is not None
    job = "reload" if row["reload"] else workload.name
    payload = workload.reload_payload if row["reload"] else workload.payload
    per = [{} for _ in range(workers)]
    errors = []
    subs = [None] * workers

    def body(k, chunk):
        def run(_):
            t_start = _now()
            try:
                sub = subs[k] = _subinterpreter(_SUB_SOURCE, workload.what_if)
                for name in workload.modules:
                    error = sub.run("import " + name)
                    if error:
                        raise RuntimeError("import %s: %s" % (name, error))
                per[k]["startup"] = _now() - t_start
                t_out = _now()
                data = payload(chunk)
                per[k]["payload_bytes"] = len(data)
                sub.put(data)
                error = sub.run("_pc_sub_run(%r, %r, %r)" % (
                    job, os.path.join(workdir, "sub-%d-%d" % (workers, k)), list(chunk)))
                if error:
                    raise RuntimeError(error)
                blob = sub.get()
                stats = pickle.loads(sub.get())
                out = pickle.loads(blob)
                done = _now()
                per[k].update(ship_out=stats["loaded"] - t_out, render=stats["render_ns"],
                              ship_back=done - stats["back"], result_bytes=len(blob),
                              pages=len(out))
                if workload.what_if:
                    per[k]["out"] = out
                    per[k]["stub_uses"] = _stub_uses(sub)
            except BaseException as exc:
                errors.append({"worker": k, "pid": os.getpid(), "page_index": None,
                               "what": describe(exc), "exit_status": None, "signal": None})
        return run

    start = _now()
    threads = crews.start_threads([body(k, c) for k, c in enumerate(_chunks(indices, workers))],
                                  "picklecost-scale-subinterpreter")
    try:
        crews.join_threads(threads, timeout)
        wall = _now() - start
    finally:  # also when interrupted: every interpreter that is done is destroyed
        for thread, sub in zip(threads, subs):
            if sub is not None and not thread.is_alive():  # a busy one is left to the exit
                sub.close()
    _finish(row, per, wall)
    row["failures"] = errors
    if workload.what_if:
        row["stub_uses"] = _sum_uses(w.get("stub_uses", []) for w in per)
        if workload.equivalence is not None:
            workload.equivalence.add(row, [w.get("out", {}) for w in per])
    return row


# An InterpreterPoolExecutor worker's module `_pc_pool`, after the finder, describe, job and
# stub sources; made the same in this interpreter so that its functions pickle by reference
# (the executor pickles what is not shareable: the task's function, its arguments, its result).
_POOL_SOURCE = r'''
def _pc_pool_init(path, sources, stubbed):
    import io
    sys.path[:] = path
    sys.dont_write_bytecode = True
    sys.stdout = sys.stderr = io.StringIO()
    sys._pc_subinterpreter = True
    _pc_install_finder(sources)
    _pc_install_stubs(stubbed)


def _pc_pool_render(job, workdir, indices, modules, data, stubbed):
    for name in modules:
        __import__(name)
    imported = time.perf_counter_ns()
    out, loaded, render_ns = _pc_render_chunk(job, data, workdir, indices)
    uses = _pc_stub_report() if stubbed else "[]"
    _pc_stub_uses.clear()  # a worker given a second chunk reports that chunk's uses alone
    return out, {"imported": imported, "loaded": loaded, "render_ns": render_ns, "uses": uses,
                 "back": time.perf_counter_ns()}
'''

# Made in a worker by the pool's initializer (the builtin `exec`, which pickles by reference).
_POOL_BOOT = r'''
import sys, types
_m = types.ModuleType("_pc_pool")
exec(_pc_source, _m.__dict__)
sys.modules["_pc_pool"] = _m
_m._pc_pool_init(_pc_path, _pc_sources, _pc_stubbed)
'''


def _pool_module():
    """This interpreter's `_pc_pool` (the source the workers get) and that source."""
    source = crews.FINDER_SOURCE + crews.DESCRIBE + _JOB_SOURCE + stubs.STUB_SOURCE + _POOL_SOURCE
    module = sys.modules.get("_pc_pool")
    if module is None or getattr(module, "_pc_source", None) != source:
        import types

        module = types.ModuleType("_pc_pool")
        exec(source, module.__dict__)
        module._pc_source = source
        sys.modules["_pc_pool"] = module
    return module, source


def _pool_executor(workload, workers):
    from concurrent.futures import InterpreterPoolExecutor

    module, source = _pool_module()
    env = {"_pc_source": source, "_pc_path": list(sys.path),
           "_pc_sources": crews.package_sources(), "_pc_stubbed": list(workload.what_if)}
    executor = InterpreterPoolExecutor(max_workers=workers, initializer=exec,
                                       initargs=(_POOL_BOOT, env),
                                       thread_name_prefix="picklecost-scale-pool")
    return module, executor


def run_interpreter_pool(workload, indices, workers, timeout, workdir):
    """W chunks submitted to `concurrent.futures.InterpreterPoolExecutor(W)` (isolated
    sub-interpreters, one per worker thread), each set up by the pool's initializer."""
    row = _run_row(workload, "interpreter-pool", workers)
    row["what_if"] = list(workload.what_if)
    row["reload"] = workload.reload is not None
    job = "reload" if row["reload"] else workload.name
    payload = workload.reload_payload if row["reload"] else workload.payload
    chunks = _chunks(indices, workers)
    per = [{} for _ in chunks]
    errors = []
    module, executor = _pool_executor(workload, workers)
    start = _now()
    futures = []
    for k, chunk in enumerate(chunks):
        data = payload(chunk)
        per[k].update(payload_bytes=len(data), submitted=_now())
        futures.append(executor.submit(
            module._pc_pool_render, job, os.path.join(workdir, "pool-%d-%d" % (workers, k)),
            list(chunk), list(workload.modules), data, bool(workload.what_if)))
        # The result's arrival, in the worker's thread (waiting on an earlier chunk is not it).
        futures[-1].add_done_callback(lambda _f, k=k: per[k].setdefault("done", _now()))
    try:
        for k, future in enumerate(futures):
            try:
                out, stats = future.result(timeout=max(0.0, timeout - (_now() - start) / 1e9))
            except BaseException as exc:
                errors.append({"worker": k, "pid": os.getpid(), "page_index": None,
                               "what": describe(exc), "exit_status": None, "signal": None})
                continue
            done = per[k].pop("done", None) or _now()
            per[k].update(startup=stats["imported"] - per[k]["submitted"],
                          ship_out=stats["loaded"] - stats["imported"],
                          render=stats["render_ns"], ship_back=done - stats["back"],
                          result_bytes=sum(len(h.encode("utf-8", "replace")) for h in
                                           out.values() if h),
                          pages=len(out), out=out, stub_uses=json.loads(stats["uses"]))
        wall = _now() - start
    finally:  # a worker still busy (timed out) is left to the process's exit
        executor.shutdown(wait=not errors, cancel_futures=True)
    _finish(row, per, wall)
    row["failures"] = errors
    if workload.what_if:
        row["stub_uses"] = _sum_uses(w.get("stub_uses", []) for w in per)
        if workload.equivalence is not None:
            workload.equivalence.add(row, [w.get("out", {}) for w in per])
    return row


def _stub_uses(sub):
    """What the code asked of a what-if worker's stubs so far (its imports and its pages)."""
    error = sub.run("_pc_put(_PC_OUT, _pc_stub_report())")
    if error:
        raise RuntimeError("reading the stubs' uses: " + error)
    return json.loads(sub.get())


def _sum_uses(lists):
    """The workers' stub uses added up by name."""
    total = {}
    for uses in lists:
        for use in uses:
            entry = total.setdefault(use["name"], [0, 0])
            entry[0] += use["gets"]
            entry[1] += use["calls"]
    return [{"name": k, "gets": v[0], "calls": v[1]} for k, v in sorted(total.items())]


def first_difference(expected, got):
    """The first line where `got` differs from `expected`: {"line" (from 1), "main", "what_if"}
    (the two lines, cut at 200 characters), or None when they are the same."""
    if expected == got:
        return None
    a, b = (expected or "").splitlines(), (got or "").splitlines()
    n = next((n for n, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    line = lambda lines: lines[n][:200] if n < len(lines) else ""  # noqa: E731
    return {"line": n + 1, "main": line(a), "what_if": line(b)}


class Equivalence:
    """The pages a what-if rendered against the sequential render of the same page in the main
    interpreter (`reference`: the first baseline's; a page that differs from it but equals the
    last baseline's, rendered after the runs, counts as identical: the page changes between
    renders of its own)."""

    def __init__(self, reference, name_of):
        self.reference, self.name_of = reference, name_of
        self.rows = []  # (row, {index: html that differs from the reference})
        self.compared = set()

    def add(self, row, outputs):
        differs = {}
        for out in outputs:
            for i, html in out.items():
                self.compared.add(i)
                if html != self.reference.get(i):
                    differs[i] = html
        self.rows.append((row, differs))

    def settle(self, last):
        """Each row's `different_pages`, and {"pages", "identical", "different" [{"page",
        "line", "main", "what_if", "main_varies" (its two main-interpreter renders differ
        too)}]} over every page rendered under stubs."""
        different = {}
        for row, differs in self.rows:
            still = {i: h for i, h in differs.items() if h != last.get(i)}
            row["different_pages"] = len(still)
            for i, html in still.items():
                different.setdefault(i, first_difference(self.reference.get(i), html))
        return {"pages": len(self.compared), "identical": len(self.compared) - len(different),
                "different": [dict(page=self.name_of(i), main_varies=(
                    self.reference.get(i) != last.get(i)), **different[i])
                              for i in sorted(different)]}


def _collect(kind, crew, per, timeout, on_ready=None):
    """Read every worker's messages until it is done or dead; whoever is not done within
    `timeout` is killed. Returns each worker's state {"page", "done", "stats"}."""
    members = crew.members
    state = [{"page": None, "done": False, "stats": None} for _ in members]
    live = list(members)
    deadline = time.monotonic() + timeout
    while live:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for worker in crews.wait_any(live, left):
            k = members.index(worker)
            try:
                message = worker.receive(0, "rendering")
            except crews.TransportError:  # it ended: its exit code says how
                live.remove(worker)
                continue
            if isinstance(message, memoryview):  # the rendered pages
                _results_back(kind, per[k], state[k]["stats"], message)
                state[k]["done"] = True
                live.remove(worker)
                if kind in SHIPPED_PROCESSES:
                    worker.goodbye()
            elif message[0] == "ready":
                per[k]["startup"] = message[2] - per[k]["t_start"]
                if on_ready:
                    on_ready(k)
            elif message[0] == "page":
                state[k]["page"] = message[1]
            elif message[0] == "done":
                state[k]["stats"] = message[1]
            elif message[0] == "error":
                per[k]["error"] = message[1]
    for worker in live:  # whoever is left did not finish in time: stop it
        per[members.index(worker)]["timed_out"] = True
        worker.kill()
    return state


def _results_back(kind, per, stats, blob):
    """A worker's rendered pages arrived: unpickled here, its figures recorded."""
    out = pickle.loads(blob)
    done = _now()
    per.update(render=stats["render_ns"], ship_back=done - stats["back"],
               result_bytes=len(blob), pages=len(out))
    per["memory"] = stats["dirty"] if kind == "fork" else stats["hwm"]
    if stats.get("loaded") and per.get("t_out"):
        per["ship_out"] = stats["loaded"] - per["t_out"]


def _failures(kind, state, per, members, pages_by_index):
    """The workers that did not finish, each with how it ended (its exit code, after
    `wait`) and the page it was on."""
    failures = []
    for k, (st, worker) in enumerate(zip(state, members)):
        if st["done"]:
            continue
        words = crews.exit_words(worker.exit_code)
        if per[k].get("timed_out"):
            words = "did not finish within the timeout (killed) — " + words
        if per[k].get("error"):
            words += " after raising %s" % per[k]["error"]
        page = st["page"]
        failures.append({
            "worker": k, "pid": worker.pid, "page_index": page,
            "page": pages_by_index(page) if page is not None else None,
            "what": "%s worker %d (pid %s) %s%s" % (
                kind, k, worker.pid, words,
                " while rendering page %s" % pages_by_index(page) if page is not None else
                " before its first page"),
            "exit_status": worker.exit_code, "signal": crews.exit_signal(worker.exit_code)})
    return failures


def _fork_render(workload, chunk):
    """A forked child's work: render `chunk` from the pages it shares, send the results back."""

    def child(conn):
        try:
            crews.reply(conn, ("ready", os.getpid(), _now()))
            out = {}
            render_ns = 0
            for i in chunk:
                crews.reply(conn, ("page", i))
                t0 = _now()
                out[i] = workload.work(i)
                render_ns += _now() - t0
            hwm, dirty = _memory()
            back = _now()
            blob = pickle.dumps(out, 5)
            crews.reply(conn, ("done", {"loaded": None, "render_ns": render_ns, "back": back,
                                        "hwm": hwm, "dirty": dirty}))
            crews.reply(conn, blob)
        except BaseException as exc:
            try:
                crews.reply(conn, ("error", describe(exc)))
            except BaseException:
                pass
            raise

    return child


def _end(kind, row, per, crew, state, wall, page_name):
    """Every worker waited for (killed after 10 s), the figures and failures into `row`."""
    for worker in crew.members:
        worker.wait(10.0)
    _finish(row, per, wall)
    row["failures"] = _failures(kind, state, per, crew.members, page_name)
    return row


def run_fork(workload, indices, workers, timeout, workdir, page_name):
    row = _run_row(workload, "fork", workers)
    row["memory_kind"] = "private_dirty"
    per = [{} for _ in range(workers)]
    with crews.Crew() as crew:
        start = _now()
        for k, chunk in enumerate(_chunks(indices, workers)):
            per[k]["t_start"] = crew.add(crews.fork(_fork_render(workload, chunk))).started_ns
        state = _collect("fork", crew, per, timeout)
        return _end("fork", row, per, crew, state, _now() - start, page_name)


def run_process(workload, indices, workers, timeout, workdir, page_name, kind="process"):
    row = _run_row(workload, kind, workers)
    row["memory_kind"] = "peak_rss"
    per = [{} for _ in range(workers)]
    chunks = _chunks(indices, workers)
    source = crews.FINDER_SOURCE + _JOB_SOURCE + _PROCESS_SOURCE
    folder = "proc" if kind == "process" else kind
    with crews.Crew() as crew:
        start_worker = _process_starter(kind, crew)
        start = _now()
        for k, chunk in enumerate(chunks):
            namespace = {"__name__": "__picklecost_scale_worker__",
                         "_pc_sources": crews.package_sources(),
                         "_pc_modules": list(workload.modules), "_pc_workload": workload.name,
                         "_pc_workdir": os.path.join(workdir, "%s-%d-%d" % (folder, workers, k))}
            worker = crew.add(start_worker(source, namespace, "picklecost-scale-%d" % k))
            per[k]["t_start"] = worker.started_ns

        def ship(k):
            per[k]["t_out"] = _now()
            data = workload.payload(chunks[k])
            per[k]["payload_bytes"] = len(data)
            crew.members[k].send(pickle.dumps(list(chunks[k])))
            crew.members[k].send(data)

        state = _collect(kind, crew, per, timeout, on_ready=ship)
        return _end(kind, row, per, crew, state, _now() - start, page_name)


# Strategies whose workers are processes that get their payload pickled over a pipe.
SHIPPED_PROCESSES = ("process", "forkserver")


def _process_starter(kind, crew):
    """`start(source, namespace, name)` for `run_process`: spawned, or forked by a forkserver
    the crew starts with its first worker (inside the run's wall time and that worker's
    start-up, as a program's first pool pays it) and ends after its workers."""
    if kind == "forkserver":
        return crew.add_server(crews.Forkserver()).worker
    ctx = crews.spawn_context()
    return lambda source, namespace, name: crews.spawn(ctx, source, namespace, name)


def run_forkserver(workload, indices, workers, timeout, workdir, page_name):
    """`run_process` with the workers forked by multiprocessing's forkserver: they do not
    inherit the loaded site (the server forked before it existed), so they get it pickled."""
    return run_process(workload, indices, workers, timeout, workdir, page_name, "forkserver")


# --- the whole experiment ----------------------------------------------------------------------

def worker_counts(max_workers=None, workers=None):
    if workers:
        return sorted({int(w) for w in workers if int(w) >= 1})
    top = max_workers or os.cpu_count() or 1
    return list(range(1, int(top) + 1))


def _choose(pages, n_pages, budget, workload, counts, strategies, strata=None):
    """Page indices to render: --pages N, else as many as fit the budget; a stratified sample
    (pages sorted by directory and content length, evenly spaced) when not all of them."""
    all_indices = list(range(len(pages)))
    keys = strata if strata is not None and len(strata) == len(pages) else all_indices

    def sample(n):
        return stratified_sample(keys, n)[0]

    if n_pages:
        return sample(n_pages), None
    if not budget or not workload.available or not pages:
        return all_indices, None
    probe, _ = even_sample(all_indices, min(5, len(pages)))
    seconds, _ = sequential(workload, probe)
    per_page = seconds / max(1, len(probe))
    # two baselines per workload, each run about 1/W of a baseline (x2: start-up, shipping, and
    # the markdown workload)
    factor = 2 * (2 + len(strategies) * sum(1.0 / w for w in counts))
    fit = int(budget / max(per_page * factor, 1e-9))
    n = max(min(len(pages), fit), min(len(pages), 2 * max(counts)))
    return sample(n), per_page


def run(adapter, site, pages, workdir, workers=None, max_workers=None, n_pages=None,
        budget=None, timeout=DEFAULT_TIMEOUT, strategies=STRATEGIES, workloads=WORKLOADS,
        progress=None, limit=None, memory_workers=None, memory_note=None,
        limit_of=("scale", "--scale-limit"), page_limit=None, what_if=None, reload=None):
    """The whole experiment; see the module docstring. `progress(text)` is told what runs.
    Within `limit` seconds (None: none), checked between steps and runs: a run not started
    once it has passed is reported as not run, and `result["limit"]` says how many were made
    (as the phase and option `limit_of` name). Render runs of sub-interpreters and processes
    (each worker holding a copy of the site) use at most `memory_workers` workers (None: no
    cap); `memory_note` says why. `page_limit`: seconds each page rendered in a main thread
    may take (None: no limit). `what_if` ("stubs" or None): see `WHAT_IFS`; nothing is
    stubbed without it. `reload` {"root", "stage", "loader", "generator"}: how a what-if's
    workers load the site themselves where it does not pickle."""
    if what_if is not None and what_if not in WHAT_IFS:
        raise ValueError("unknown what-if %r" % (what_if,))
    say = progress or (lambda text: None)
    clock = _Clock(limit, *limit_of)
    os.makedirs(workdir, exist_ok=True)
    pages = list(pages)
    counts = worker_counts(max_workers, workers)
    result = _empty_result(counts, strategies)
    say("preparing the renderer")
    render = _render_workload(adapter, site, pages, workdir, workloads, clock)
    if render is not None:
        render.page_limit = page_limit
    try:
        support = _Support()
        _trace_render_modules(render, support, result, what_if, reload, workdir)
        if not clock.passed("warming up"):
            _warm_up(render, pages, say)
        indices = _pages_to_render(adapter, pages, n_pages, budget, render, counts, strategies)
        _prepare_pages(render, [pages[i] for i in indices], clock)
        result["pages"] = len(indices)
        result["page_keys"] = [_page_name(adapter, pages, i) for i in indices]
        result["virtual_pages"] = [_page_name(adapter, pages, i) for i in indices
                                   if _page_virtual(adapter, pages, i)]
        markdown = _prepare_markdown(adapter, pages, workloads, support, result, say)
        runs = _Runs(indices, counts, strategies, timeout, workdir, support,
                     lambda i: _page_label(adapter, pages, i))
        runs.clock, runs.memory_workers, runs.memory_note = clock, memory_workers, memory_note
        for workload in (w for w in (render, markdown) if w is not None):
            _run_workload(workload, runs, result, say)
    finally:
        if render is not None:
            render.close()
    result["limit"] = clock.report()
    return result


# Pages per worker in `analyze`'s short real parallel run (`check`).
CHECK_PAGES_PER_WORKER = 4
# The check's sample renders for about this long sequentially (by the render probe's mean), so
# that a worker's start-up weighs on it about as it would on a real build: all the pages of a
# small site, a stratified sample of a large one.
CHECK_TARGET_SECONDS = 2.0


def check_pages(site_pages, workers, render_mean=None):
    """How many pages the check renders: enough for `CHECK_TARGET_SECONDS` of sequential
    rendering at `render_mean` seconds a page, at least `CHECK_PAGES_PER_WORKER` a worker, at
    most the site's."""
    least = CHECK_PAGES_PER_WORKER * int(workers)
    wanted = least
    if render_mean and render_mean > 0:
        wanted = math.ceil(CHECK_TARGET_SECONDS / render_mean)
    return min(site_pages, max(least, wanted))
# The check's limit is checked between runs, and each run may take it again as its timeout:
# past twice the limit and this, something hangs in this interpreter and is stopped.
CHECK_GRACE_SECONDS = 10.0


def check(adapter, site, pages, workdir, workers, strategies, limit, memory_workers=None,
          memory_note=None, page_limit=None, render_mean=None):
    """`analyze`'s short real parallel run: the render workload's baseline (timed before and
    after) and each of `strategies` once with `workers` workers, on a stratified sample of
    `check_pages` pages (`render_mean`: the render probe's mean seconds a page), within `limit` seconds (`--check-limit`; also
    each run's timeout; past twice that and `CHECK_GRACE_SECONDS`, `TimeLimit` is raised). Each
    page rendered in a main thread (the baseline's, a forked child's) keeps to `page_limit`
    (`--page-limit`). The same experiment as `run`, with its strategies' code."""
    from . import limits

    with limits.time_limit(2 * limit + CHECK_GRACE_SECONDS,
                           "the real parallel check (--check-limit)"):
        return run(adapter, site, pages, workdir, workers=[int(workers)],
                   n_pages=check_pages(len(pages), workers, render_mean),
                   timeout=limit, strategies=list(strategies), workloads=("render",),
                   limit=limit, memory_workers=memory_workers, memory_note=memory_note,
                   limit_of=("check", "--check-limit"), page_limit=page_limit)


class _Clock:
    """The experiment's time limit (`--scale-limit`, or `--check-limit` for `check`): what was
    done within it, and where it stopped."""

    def __init__(self, limit, phase="scale", flag="--scale-limit"):
        self.phase, self.flag = phase, flag
        self.limit = limit
        self.started = time.monotonic()
        self.deadline = None if limit is None else self.started + limit
        self.done = 0
        self.planned = 0
        self.stopped_at = None

    def passed(self, what):
        """Whether the limit has passed before `what` (noted as where it stopped)."""
        if self.deadline is None or time.monotonic() < self.deadline:
            return False
        self.stopped_at = self.stopped_at or what
        return True

    def report(self):
        if self.limit is None:
            return None
        return {"phase": self.phase, "limit_seconds": self.limit,
                "seconds": time.monotonic() - self.started, "cut": self.stopped_at is not None,
                "done": self.done, "planned": self.planned, "unit": "runs made",
                "note": self.stopped_at and "stopped before %s" % self.stopped_at}


def _render_workload(adapter, site, pages, workdir, workloads, clock):
    """The render workload, its renderer prepared within the time limit (the generator's
    preparation stops between steps where the adapter supports it)."""
    if "render" not in workloads:
        return None
    from .generators import base

    with base.render_deadline_at(clock.deadline):
        render = RenderWorkload(adapter, site, pages, workdir)
    if not render.available and clock.passed("the renderer was prepared"):
        render.cut = True
        render.reason = ("not run: the time limit (%s) had passed while the renderer "
                         "was prepared" % clock.flag)
    return render


def _prepare_pages(render, chosen, clock):
    """What rendering `chosen` needs beyond the renderer's own preparation (Bengal: their
    related posts), where the renderer asks for it."""
    prepare = getattr(getattr(render, "renderer", None), "prepare_pages", None)
    if prepare is None:
        return
    from .generators import base

    with base.render_deadline_at(clock.deadline):
        if not prepare(chosen):
            clock.passed("the related posts of the pages chosen were prepared")


def _empty_result(counts, strategies):
    return {"sequential_seconds": None, "workers": counts, "strategies": list(strategies),
            "pages": 0, "page_keys": [], "virtual_pages": [], "workloads": [], "baselines": [], "runs": [],
            "blocked": [], "what_if": [], "equivalence": None, "gil_enabled": _gil_enabled(),
            "free_threaded_note": None if _gil_enabled() else
            "free-threaded build (GIL disabled): thread results are untested here",
            "subinterpreter_fault_isolation": (
                "a sub-interpreter cannot be isolated from a fault of the process: a crash "
                "(signal, os._exit, C fault) in one ends every interpreter, the tool included")}


class _Support:
    """Which kinds of worker this Python can start, and why not."""

    def __init__(self):
        self.sub_ok, self.sub_reason, _ = crews.subinterpreter_support()
        self.fork_ok, self.fork_reason = crews.fork_support()
        self.forkserver_ok, self.forkserver_reason = crews.forkserver_support()
        self.pool_ok, self.pool_reason = crews.interpreter_pool_support()


class _Runs:
    """What every (workload, strategy, W) run shares: the pages, the worker counts, the time
    limit's clock, and the memory's cap on workers that each hold a copy of the site."""

    def __init__(self, indices, counts, strategies, timeout, workdir, support, name_of):
        self.indices, self.counts, self.strategies = indices, counts, strategies
        self.timeout, self.workdir = timeout, workdir
        self.support, self.name_of = support, name_of
        self.clock = _Clock(None)
        self.memory_workers = self.memory_note = None


# Strategies whose render workers each hold a copy of the site (fork children share it).
MEMORY_STRATEGIES = ("subinterpreter", "interpreter-pool", "process", "forkserver")


def _page_name(adapter, pages, i):
    """Page `i`'s name (relative to the site root; a virtual page by the generator's own)."""
    try:
        return adapter.page_key(pages[i])
    except Exception:
        return "#%d" % i


def _page_virtual(adapter, pages, i):
    try:
        return bool(adapter.page_virtual(pages[i]))
    except Exception:
        return False


def _page_label(adapter, pages, i):
    """Page `i`'s name in a failure's words, marked " (virtual)" where it has no file."""
    name = _page_name(adapter, pages, i)
    return name + " (virtual)" if _page_virtual(adapter, pages, i) else name


def _trace_render_modules(render, support, result, what_if=None, reload=None, workdir=None):
    """The blocked chain of the render workload's modules (what a sub-interpreter worker of the
    generator would import), with every blocker past it; the first one is why sub-interpreters
    cannot render, unless `what_if` is "stubs": then they render with every blocker stubbed."""
    if render is None or not render.available or not support.sub_ok:
        return
    for module in render.modules:
        found = stubs.blocked_chain(module)
        if found:
            found["workload"] = "render"
            result["blocked"].append(found)
    if result["blocked"]:
        first = result["blocked"][0]
        render.sub_reason = "%s cannot be imported in an isolated sub-interpreter: %s (%s)" % (
            first["module"], " → ".join(first["chain"]), first["error"])
        if what_if == "stubs":
            _stub_render(render, result, reload, workdir)


def _stub_render(render, result, reload=None, workdir=None):
    """`--what-if stubs`: the render workload's sub-interpreter workers get every module the
    render modules' blockers needed stubbed, when with them every render module loads. Where
    the site does not pickle and `reload` (root, stage, loader, generator) is given, each
    worker loads the site itself: with the blockers of that load stubbed too."""
    blocked = [b for b in result["blocked"] if b.get("workload") == "render"]
    stuck = [b for b in blocked if not b.get("loads_with_stubs")]
    if stuck:
        render.sub_reason += "; what-if: %s does not load with stubs either (%s)" % (
            stuck[0]["module"], stuck[0].get("stopped"))
        return
    names = []
    for b in blocked:
        names.extend(s for s in b["stubs"] if s not in names)
    if render.ship_reason and reload:
        found = stubs.load_blocked(reload, os.path.join(workdir, "load-probe"), names)
        if found is not None:
            found["workload"] = "render"
            result["blocked"].append(found)
            if not found["loads_with_stubs"]:
                render.sub_reason += ("; what-if: each worker loading the site does not work "
                                      "with stubs either (%s)" % found["stopped"])
                return
            names.extend(s for s in found["stubs"] if s not in names)
        render.reload = reload
    render.what_if = result["what_if"] = names
    render.sub_reason = None


def _warm_up(render, pages, say):
    """Untimed warm-up: templates and the parser compiled once, as in every worker."""
    if render is None or not render.available:
        return
    say("warming up")
    warm_up = getattr(render.renderer, "warm_up", None)
    if warm_up is not None:
        warm_up(pages)
        return
    for i in even_sample(list(range(len(pages))), 3)[0]:
        try:
            render.work(i)
        except Exception:
            pass


def _pages_to_render(adapter, pages, n_pages, budget, render, counts, strategies):
    try:
        strata = [tuple(k) for k in adapter.strata(pages)]
    except Exception:  # noqa: BLE001 - evenly spaced by position instead
        strata = None
    indices, _ = _choose(pages, n_pages, budget, render or _Nothing(), counts, strategies, strata)
    return indices


def _prepare_markdown(adapter, pages, workloads, support, result, say):
    if "markdown" not in workloads:
        return None
    say("choosing a Markdown parser")
    markdown = MarkdownWorkload(adapter, pages, support.sub_ok)
    for b in getattr(markdown, "blocked", []):
        b["workload"] = "markdown"
        if not any(x["module"] == b["module"] for x in result["blocked"]):
            result["blocked"].append(b)
    return markdown


def _run_workload(workload, runs, result, say):
    """One workload: the baseline, every strategy at every W, the baseline again; speed-ups."""
    result["workloads"].append({"name": workload.name, "available": workload.available,
                                "reason": workload.reason, "method": workload.method,
                                "parser": getattr(workload, "parser", None)})
    clock = runs.clock
    if workload.available or workload.cut:
        clock.planned += len(runs.strategies) * len(runs.counts)
    if not workload.available:
        for strategy in runs.strategies:
            for w in runs.counts:
                row = _run_row(workload, strategy, w)
                row.update(available=False, reason=workload.reason)
                result["runs"].append(row)
        return
    if clock.passed("the %s baseline" % workload.name):
        for strategy in runs.strategies:
            for w in runs.counts:
                result["runs"].append(_not_run(workload, strategy, w, clock.flag))
        return
    say("%s: sequential baseline" % workload.name)
    reference = {} if workload.what_if else None
    first, size = sequential(workload, runs.indices, reference)
    if workload.what_if:
        workload.equivalence = Equivalence(reference, runs.name_of)
    rows = []
    for strategy in runs.strategies:
        for w in runs.counts:
            if clock.passed("%s: %s x%d" % (workload.name, strategy, w)):
                rows.append(_not_run(workload, strategy, w, clock.flag))
                continue
            say("%s: %s x%d" % (workload.name, strategy, w))
            rows.append(_one(workload, strategy, w, runs))
            clock.done += 1
    say("%s: sequential baseline again" % workload.name)
    later = {} if workload.what_if else None
    last, _ = sequential(workload, runs.indices, later)
    if workload.equivalence is not None and workload.equivalence.compared:
        result["equivalence"] = workload.equivalence.settle(later)
    baseline = (first + last) / 2
    result["baselines"].append({"workload": workload.name, "first_seconds": first,
                                "last_seconds": last, "seconds": baseline,
                                "drift": (last / first - 1) if first else None,
                                "result_bytes": size, "pages": len(runs.indices)})
    for row in rows:
        _speedup(row, baseline)
    result["runs"].extend(rows)
    if workload.name == "render" or result["sequential_seconds"] is None:
        result["sequential_seconds"] = baseline


def _not_run(workload, strategy, w, flag="--scale-limit"):
    row = _run_row(workload, strategy, w)
    row.update(available=False, reason="not run: the time limit (%s) had passed" % flag)
    return row


def _speedup(row, baseline):
    row["sequential_seconds"] = baseline
    if row["available"] and row["wall_seconds"]:
        row["speedup"] = baseline / row["wall_seconds"]
        row["efficiency"] = row["speedup"] / row["workers"]
        if row["failures"]:
            row["speedup"] = row["efficiency"] = None


class _Nothing:
    available = False


def _why_not(workload, strategy, support):
    """Why `strategy` cannot run `workload` here (None: it can)."""
    shipping = workload.ship_reason and "payload not shippable: " + workload.ship_reason
    if strategy == "subinterpreter":
        if not support.sub_ok:
            return support.sub_reason
        return workload.sub_reason or (None if workload.reload else shipping)
    if strategy == "interpreter-pool":
        if not support.pool_ok:
            return support.pool_reason
        return workload.sub_reason or (None if workload.reload else shipping)
    if strategy == "process":
        return shipping
    if strategy == "forkserver":
        return support.forkserver_reason or shipping
    if strategy == "fork":
        return support.fork_reason
    return None


def _one(workload, strategy, w, runs):
    row = _run_row(workload, strategy, w)
    reason = _why_not(workload, strategy, runs.support)
    if (reason is None and workload.name == "render" and strategy in MEMORY_STRATEGIES
            and runs.memory_workers is not None and w > runs.memory_workers):
        reason = "not run: %d workers would not fit the memory (%s)" % (w, runs.memory_note)
    if reason:
        row.update(available=False, reason=reason)
        return row
    try:
        if strategy == "thread":
            return run_thread(workload, runs.indices, w, runs.timeout)
        if strategy == "subinterpreter":
            return run_subinterpreter(workload, runs.indices, w, runs.timeout, runs.workdir)
        if strategy == "interpreter-pool":
            return run_interpreter_pool(workload, runs.indices, w, runs.timeout, runs.workdir)
        if strategy == "process":
            return run_process(workload, runs.indices, w, runs.timeout, runs.workdir,
                               runs.name_of)
        if strategy == "forkserver":
            return run_forkserver(workload, runs.indices, w, runs.timeout, runs.workdir,
                                  runs.name_of)
        if strategy == "fork":
            return run_fork(workload, runs.indices, w, runs.timeout, runs.workdir, runs.name_of)
    except Exception as exc:
        row.update(available=False, reason="%s failed: %s" % (strategy, describe(exc)))
        return row
    raise ValueError("unknown strategy %r" % strategy)

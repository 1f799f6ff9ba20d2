"""What it costs to hand a payload to a worker: a thread, a sub-interpreter or a process.

- `availability()`: which transports this Python has, and why not.
- `check_imports(modules)`: whether each module imports inside an isolated and a legacy-config
  sub-interpreter (a pickle referring to a module that cannot load there cannot be unpickled
  there).
- `measure_thread(payloads, rounds)`: a worker thread gets each payload by reference.
- `SubinterpreterTransport(workers, config, modules)`, `ProcessTransport(workers, modules)`
  (spawned) and `ForkserverTransport(workers, modules)` (forked by multiprocessing's forkserver,
  which forked before the site was loaded): the payload is pickled in this interpreter, the
  bytes go to the worker, which unpickles them, reads the fields and sends back a small result.
  `roundtrip(obj, protocol)` times one round trip in ns, `close()` releases the workers.
- `ForkTransport(workers, objects)`: children forked after the objects exist share them
  copy-on-write; set-up = fork + first touch, nothing is pickled out.
- Results back: `keep_results(results)` then `result_back(i)` (pools), `measure_thread_results`
  (threads), a `ForkTransport` over the results: a real rendered page (`rendered_outputs`)
  pickled in the worker and unpickled here — what returning a rendered page costs.

The workers themselves — starting, feeding, hearing from and ending threads, sub-interpreters,
spawned and forked processes — are `workers.py`'s; this module is what the workers do with a
payload (`_WORKER_SOURCE`, run as source text by the sub-interpreters and the spawned
processes) and the timing around it. A transport is a context manager: leaving its `with` block
(or `close()`, or its collection) ends its workers.

Everything returned is plain dicts, lists, strings and integers; times are nanoseconds from
`time.perf_counter_ns`. Failures that concern a payload raise `TransportError`, whose message is
the worker's exception as "Type: first line".
"""

import os
import pickle
import sys
import time

from . import stubs, workers
from . import workers as _workers
from .workers import DEFAULT_TIMEOUT, TransportError, reply_value

__all__ = ["TRANSPORTS", "TransportError", "DEFAULT_TIMEOUT", "availability", "check_imports",
           "measure_thread", "measure_thread_results", "SubinterpreterTransport",
           "ProcessTransport", "ForkserverTransport", "ForkTransport", "render_cost",
           "rendered_outputs", "modules_for_globals"]

# The transports, by the names results.json uses (availability() has all but the legacy one,
# which is the sub-interpreter's other config).
TRANSPORTS = ("thread", "subinterpreter", "subinterpreter-legacy", "process", "forkserver",
              "fork")


# --- code that runs in the workers -------------------------------------------------------------

# Run as source text by every worker (and, for the thread transport, by this module itself).
_WORKER_SOURCE = workers.DESCRIBE + "_PC_COLLECT_AFTER_BYTES = %d\n" % workers.COLLECT_AFTER_BYTES + r'''
import pickle
import sys
import time


def _pc_len(value):
    try:
        return len(value)
    except TypeError:
        return 0


def _pc_touch(obj):
    """Read the payload's fields the way a worker would; the number of fields is the result."""
    if isinstance(obj, dict):
        for value in obj.values():
            _pc_len(value)
        return len(obj)
    attrs = getattr(obj, "__dict__", None)
    if attrs is not None:
        import warnings

        with warnings.catch_warnings():  # a deprecated attribute must not print on the terminal
            warnings.simplefilter("ignore")
            for name in list(attrs):
                _pc_len(getattr(obj, name))
        return len(attrs)
    if isinstance(obj, (list, tuple)):
        for value in obj:
            _pc_len(value)
        return len(obj)
    return 1


_pc_kept = {}
# The worker's own CPU ns for the last message's transfer: unpickling a payload in, or pickling
# a kept result back (not reading the fields).
_pc_spent = [0]


def _pc_stamp(result, got):
    """A streamed message's reply: the worker's own transfer ns and the bytes it got (8 bytes
    each, little-endian), then the pickled result, if the reply is one."""
    body = bytes(result) if isinstance(result, (bytes, bytearray, memoryview)) else b""
    return _pc_spent[0].to_bytes(8, "little") + int(got).to_bytes(8, "little") + body


def _pc_handle(data):
    """One message to a pickling worker. A pickle (b"\x80...") is a payload: unpickle it, read
    its fields, reply with the number read. b"K<index>," + pickle: keep that result object (a
    rendered page) as result `index`, in place of any kept before — a worker holds one result at
    a time, so a very large rendered page is never held by every worker at once. b"R<index>,
    <protocol>": send kept result `index` back, pickled, as a worker sends back what it rendered.
    b"D": give up the kept result. The reply is an int, bytes (a pickled result) or "error:...".
    b"W" + any of these: the same, its reply stamped (`_pc_stamp`) for a stream of requests."""
    tag = data[:1]
    if tag == b"W":
        return _pc_stamp(_pc_handle(memoryview(data)[1:]), len(data) - 1)
    _pc_spent[0] = 0
    if tag == b"R":
        index, protocol = bytes(data[1:]).split(b",")
        start = time.thread_time_ns()
        out = pickle.dumps(_pc_kept[int(index)], int(protocol))
        _pc_spent[0] = time.thread_time_ns() - start
        return out
    if tag == b"D":
        _pc_kept.clear()
        return 0
    if tag == b"K":
        data = memoryview(data)
        comma = bytes(data[:24]).index(b",")
        _pc_kept.clear()  # the previous result goes before the next is unpickled
        _pc_kept[int(bytes(data[1:comma]))] = pickle.loads(data[comma + 1:])
        return len(_pc_kept)
    start = time.thread_time_ns()
    obj = pickle.loads(data)
    _pc_spent[0] = time.thread_time_ns() - start
    return _pc_touch(obj)


def _pc_import(modules):
    """Import each module; returns (ns, {module: error})."""
    errors = {}
    start = time.perf_counter_ns()
    for name in modules:
        try:
            __import__(name)
        except BaseException as exc:
            errors[name] = _pc_describe(exc)
    return time.perf_counter_ns() - start, errors
'''

# Sub-interpreter worker step, run once per item.
_STEP_SOURCE = r'''
def _pc_step():
    data = _pc_get(_PC_IN)
    try:
        result = _pc_handle(data)
    except BaseException as exc:
        result = "error:" + _pc_describe(exc)  # a str result is an error, an int a success
    _pc_put(_PC_OUT, result)
'''

# Process worker: runs in a spawned child (or one a forkserver forked), after `_WORKER_SOURCE`
# (and the worker module's `PIPE_SOURCE`).
_SERVE_SOURCE = r'''
def _pc_serve(conn, modules, dont_write_bytecode):
    import os

    sys.dont_write_bytecode = dont_write_bytecode
    _pc_quiet()
    _pc_reply(conn, ("ready", os.getpid()))
    import_ns, errors = _pc_import(modules)
    _pc_reply(conn, ("imported", import_ns, errors))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        try:
            result = _pc_handle(data)
        except BaseException as exc:
            result = "error:" + _pc_describe(exc)
        _pc_reply(conn, result)  # a pickled result goes back as it is
        if len(data) >= _PC_COLLECT_AFTER_BYTES:  # a large payload's cyclic garbage, freed now
            import gc

            gc.collect()


_pc_serve(_pc_conn, _pc_modules, _pc_dont_write_bytecode)
'''

_here = {}
exec(_WORKER_SOURCE, _here)
_touch = _here["_pc_touch"]
_spent, _stamp = _here["_pc_spent"], _here["_pc_stamp"]


# --- availability ------------------------------------------------------------------------------

def _row(available, reason):
    return {"available": available, "reason": reason}


def availability():
    sub_ok, sub_reason, api = workers.subinterpreter_support()
    return {
        "thread": _row(True, None),
        "subinterpreter": dict(_row(sub_ok, sub_reason), api=api),
        "process": _row(*workers.spawn_support()),
        "forkserver": _row(*workers.forkserver_support()),
        "fork": _row(*workers.fork_support()),
    }


def check_imports(modules):
    """Does `import module` work in an isolated and in a legacy-config sub-interpreter?

    One interpreter per config serves all modules: a failed import removes the failed module from
    sys.modules, so a later import that needs it retries and fails the same way, and what stays
    behind is only modules that imported completely, as a fresh import would load them too.
    After a failure that is not an ImportError (module code raising something else half-way)
    the interpreter is replaced before the next module.
    """
    modules = workers.module_names(modules)
    ok, reason, _ = workers.subinterpreter_support()
    if not ok:
        return [{"module": m, "isolated_ok": None, "legacy_ok": None, "error": reason,
                 "legacy_error": None} for m in modules]
    outcome = {config: _imports_in(config, modules) for config in ("isolated", "legacy")}
    rows = []
    for name in modules:
        iso, leg = outcome["isolated"][name], outcome["legacy"][name]
        row = {"module": name, "isolated_ok": iso is None, "legacy_ok": leg is None,
               "error": iso or leg, "legacy_error": leg}
        if iso is not None:
            row.update(_beyond(name))
        rows.append(row)
    return rows


BEYOND_KEYS = ("blockers", "stubs", "stub_uses", "loads_with_stubs", "stopped")


def _beyond(module):
    """Every module that keeps `module` out of an isolated sub-interpreter, each stubbed in
    turn, and what the code asked of the stubs (`stubs.blocked_chain`)."""
    found = stubs.blocked_chain(module)
    if found is None:  # it loads in a fresh interpreter: the shared one had failed before it
        return {"loads_with_stubs": True}
    return {key: found[key] for key in BEYOND_KEYS}


def _imports_in(config, modules):
    """{module: None or the error of `import module`} in sub-interpreters of `config`."""
    outcome = {}
    interp = None
    try:
        for name in modules:
            if interp is None:
                interp = workers.Subinterpreter(config)
            error = interp.run("import " + name)
            outcome[name] = error
            if error and not error.startswith(("ImportError", "ModuleNotFoundError")):
                interp.close()
                interp = None
    finally:
        if interp is not None:
            interp.close()
    return outcome


# --- threads -----------------------------------------------------------------------------------

def _thread_round_trips(items, answer, rounds, timeout, name):
    """A worker thread gets each item by reference and replies `answer(item)`: (ns per round
    trip, ns to start the thread). A reply that raised in the worker is raised here as
    TransportError."""
    worker = workers.ThreadWorker(answer, name)
    times = []
    try:
        for _ in range(max(1, int(rounds))):
            for item in items:
                t0 = time.perf_counter_ns()
                worker.send(item)
                worker.receive(timeout)
                times.append(time.perf_counter_ns() - t0)
    finally:
        worker.stop(timeout)
    return times, worker.setup_ns


def measure_thread(payloads, rounds=1, timeout=DEFAULT_TIMEOUT):
    """A worker thread gets each payload by reference through a queue.Queue, reads its fields and
    replies: the cost of the hand-off alone, which the other transports pay on top of copying."""
    times, setup_ns = _thread_round_trips(payloads, _touch, rounds, timeout,
                                          "picklecost-thread-worker")
    return {"roundtrip_ns": times, "setup_ns": setup_ns}


def measure_thread_results(results, rounds=1, timeout=DEFAULT_TIMEOUT):
    """A worker thread hands each rendered result back by reference (a queue.Queue): what a
    thread pool pays to return a page it rendered. Round trip ns per result."""
    results = texts(results)
    times, _ = _thread_round_trips(range(len(results)), results.__getitem__, rounds, timeout,
                                   "picklecost-thread-results")
    return times


# --- the pools --------------------------------------------------------------------------------

class _Pool:
    """What every worker pool shares: round-robin over the workers that still answer, the
    import errors their set-up met, results kept and sent back, and ending the workers (a
    `workers.Crew`: also at exit)."""

    _gone = "no worker left"

    def _start_crew(self, timeout):
        self.timeout = float(timeout)
        self._crew = workers.Crew()
        self._workers = self._crew.members
        self._next = 0

    @property
    def workers(self):
        return len(self._workers)

    def _next_worker(self):
        usable = self._usable()
        worker = usable[self._next % len(usable)]
        self._next += 1
        return worker

    def _usable(self):
        usable = [w for w in self._workers if not w.stuck]
        if not usable:
            raise TransportError(self._gone)
        return usable

    def _exchange(self, worker, data):
        """Bytes to a worker, its reply (int, bytes or "error:..." str) back."""
        worker.send(data)
        return worker.receive(self.timeout, self._handling)

    def _timed(self, data):
        """`data` to the next worker and its reply back, in ns (an error reply raised)."""
        worker = self._next_worker()
        start = time.perf_counter_ns()
        answer = self._exchange(worker, data)
        elapsed = time.perf_counter_ns() - start
        reply_value(answer)
        return elapsed

    def keep_results(self, results, protocol=pickle.HIGHEST_PROTOCOL):
        """The rendered results later `result_back` calls have a worker send back as if it had
        just rendered them. A worker is given the one it is to send (untimed) and keeps only
        that one: the return leg never holds a copy of every result in every worker."""
        self._results = list(results)
        self._keep_protocol = protocol
        self._kept_by = {}

    def hold_result(self, worker, index):
        """Worker `worker` keeps result `index` (untimed), unless it has it already."""
        if self._kept_by.get(id(worker)) == index:
            return
        results = getattr(self, "_results", [])
        if not 0 <= index < len(results):
            raise TransportError("IndexError: no rendered result %d (%d kept)" % (index, len(results)))
        self._kept_by.pop(id(worker), None)
        message = b"K%d," % index + pickle.dumps(_text(results[index]), self._keep_protocol)
        reply_value(self._exchange(worker, message))
        del message
        self._kept_by[id(worker)] = index

    def drop_results(self):
        """Every worker gives up the result it kept (untimed)."""
        for worker in self._usable():
            if getattr(self, "_kept_by", {}).pop(id(worker), None) is not None:
                reply_value(self._exchange(worker, b"D"))

    def result_back(self, index, protocol=pickle.HIGHEST_PROTOCOL):
        """A tiny request out, result `index` pickled in the next worker, the bytes back and
        unpickled here, in ns: the cost of returning one rendered page."""
        index = int(index)
        worker = self._next_worker()
        self.hold_result(worker, index)
        return self._timed_result(worker, index, protocol)

    def _timed_result(self, worker, index, protocol):
        start = time.perf_counter_ns()
        answer = self._exchange(worker, b"R%d,%d" % (index, int(protocol)))
        if not isinstance(answer, (bytes, memoryview)):
            reply_value(answer if isinstance(answer, str) else "error:no result came back")
        pickle.loads(answer)
        return time.perf_counter_ns() - start

    @staticmethod
    def _import_errors(errors):
        return [{"module": m, "error": e} for m, e in errors.items()]

    def close(self):
        """End the workers. A worker that timed out may still be busy: it is left to the
        process's exit and close() returns False."""
        return self._crew.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SubinterpreterTransport(_Pool):
    """W sub-interpreters with `config` "isolated" (own GIL, only multi-phase-init extension
    modules) or "legacy" (shares the main GIL, can load any extension module), each driven by a
    thread of this interpreter (`workers.SubinterpreterWorker`).

    `setup_ns` = {"create": [ns per worker], "import": [ns per worker to import `modules`]};
    `import_errors` = [{"module", "error"}] for modules that did not import (the payloads that
    need them will fail with the same error).
    """

    _gone = "no sub-interpreter worker left (closed, or all timed out)"
    _handling = "handling a payload"

    def __init__(self, workers=2, config="isolated", modules=(), timeout=DEFAULT_TIMEOUT):
        if config not in ("isolated", "legacy"):
            raise ValueError("config must be 'isolated' or 'legacy', not %r" % (config,))
        ok, reason, _ = _workers.subinterpreter_support()
        if not ok:
            raise TransportError(reason)
        self.config = config
        self.modules = _workers.module_names(modules)
        self._start_crew(timeout)
        self.setup_ns = {"create": [], "import": []}
        errors = {}
        with _closed_on_error(self):
            for number in range(max(1, int(workers))):
                worker = self._crew.add(_workers.SubinterpreterWorker(
                    config, number, _WORKER_SOURCE + _STEP_SOURCE, "_pc_step()"))
                self.setup_ns["create"].append(worker.create_ns)
                import_ns, failed = worker.import_modules(self.modules)
                self.setup_ns["import"].append(import_ns)
                for name, error in failed.items():
                    errors.setdefault(name, error)
        self.import_errors = self._import_errors(errors)

    def roundtrip(self, obj, protocol=pickle.HIGHEST_PROTOCOL):
        """pickle.dumps here + bytes onto the queue + unpickling and reading the fields in the
        next worker (round-robin) + the result back, in ns. Includes the hand-off to the thread
        that drives the worker, as measure_thread does."""
        worker = self._next_worker()
        start = time.perf_counter_ns()
        answer = self._exchange(worker, pickle.dumps(obj, protocol))
        elapsed = time.perf_counter_ns() - start
        reply_value(answer)
        return elapsed


class ProcessTransport(_Pool):
    """W worker processes started with multiprocessing's "spawn" method, running this
    environment's Python; payload bytes and results go over a Pipe.

    `setup_ns` = {"create": [ns from start() to the worker's first message], "import": [ns the
    worker spent importing `modules`, measured in the worker]}.
    """

    _gone = "no worker process left (closed, or all failed)"
    _handling = "handling a payload"
    _name = "picklecost-process-%d"

    def _starter(self):
        """`start(source, namespace, name)`: one worker process."""
        ctx = _workers.spawn_context(start_tracker=True)
        return lambda source, namespace, name: _workers.spawn(ctx, source, namespace, name)

    def __init__(self, workers=2, modules=(), timeout=DEFAULT_TIMEOUT):
        self.modules = _workers.module_names(modules)
        self.executable = _workers.python_executable()
        self._start_crew(timeout)
        start = self._starter()
        self.setup_ns = {"create": [], "import": []}
        errors = {}
        namespace = {"__name__": "__picklecost_worker__", "_pc_modules": self.modules,
                     "_pc_dont_write_bytecode": bool(sys.dont_write_bytecode)}
        with _closed_on_error(self):
            for number in range(max(1, int(workers))):
                worker = self._crew.add(start(_WORKER_SOURCE + _SERVE_SOURCE, namespace,
                                              self._name % number))
                worker.receive(self.timeout, "starting")
                self.setup_ns["create"].append(time.perf_counter_ns() - worker.started_ns)
                _, import_ns, failed = worker.receive(self.timeout, "importing modules")
                self.setup_ns["import"].append(import_ns)
                for name, error in failed.items():
                    errors.setdefault(name, error)
        self.import_errors = self._import_errors(errors)

    def roundtrip(self, obj, protocol=pickle.HIGHEST_PROTOCOL):
        """pickle.dumps + bytes through the pipe + unpickling and reading the fields in the next
        worker (round-robin) + the result back, in ns."""
        worker = self._next_worker()
        start = time.perf_counter_ns()
        answer = self._exchange(worker, pickle.dumps(obj, protocol))
        elapsed = time.perf_counter_ns() - start
        reply_value(answer)
        return elapsed


class ForkserverTransport(ProcessTransport):
    """W worker processes forked by multiprocessing's "forkserver" (the default start method
    from Python 3.14 on Linux): the server is a process of this environment's Python started
    for this pool (and ended with it) before any payload exists, so a worker shares nothing
    with the tool and gets its payload pickled over a Pipe, as a spawned one does.

    `setup_ns` as `ProcessTransport`'s; the first worker's "create" includes starting the
    server, which a program pays once, with its first pool.
    """

    _gone = "no forkserver worker left (closed, or all failed)"
    _name = "picklecost-forkserver-%d"

    def _starter(self):
        return self._crew.add_server(_workers.Forkserver()).worker


class _closed_on_error:
    """A pool's set-up: on any error (an interrupt too) the workers started so far are ended."""

    def __init__(self, pool):
        self.pool = pool

    def __enter__(self):
        return self.pool

    def __exit__(self, kind, *exc):
        if kind is not None:
            self.pool.close()


# --- fork ----------------------------------------------------------------------------------------

def _fork_child(objects):
    """The forked child's work: first touch of every object (copy-on-write faults, reference
    counts written), then serve b"T<index>" (read object `index`'s fields, reply the count) and
    b"R<index>,<protocol>" (send object `index` back pickled) until an empty message; b"W" before
    either stamps the reply for a stream (`_pc_stamp`: the pickling's own ns)."""

    def serve(conn):
        started = time.perf_counter_ns()
        for obj in objects:
            _touch(obj)
        workers.reply(conn, ("ready", started, time.perf_counter_ns() - started))
        while True:
            data = conn.recv_bytes()
            if not data:
                return
            stamped = data[:1] == b"W"
            data = data[1:] if stamped else data
            _spent[0] = 0
            try:
                if data[:1] == b"R":
                    index, protocol = data[1:].split(b",")
                    start = time.thread_time_ns()
                    result = pickle.dumps(objects[int(index)], int(protocol))
                    _spent[0] = time.thread_time_ns() - start
                else:
                    result = _touch(objects[int(data[1:])])
                result = _stamp(result, len(data)) if stamped else result
            except BaseException as exc:
                result = "error:" + workers.describe(exc)
            workers.reply(conn, result)

    return serve


class ForkTransport(_Pool):
    """W children forked from this process after `objects` exist: they share them copy-on-write,
    so nothing is pickled out. `roundtrip_index(i)` sends an index and the child reads object
    i's fields; `result_back(i)` has the child pickle object i (a rendered page) and send it
    back. Untested on free-threaded builds; needs os.fork (POSIX).

    `setup_ns` = {"create": [ns from fork() to the child running], "import": [0 per worker],
    "first_touch": [ns the child took to read every object once]}.
    """

    _gone = "no forked worker left (closed, or all failed)"
    _handling = "handling an object"

    def __init__(self, workers=2, objects=(), timeout=DEFAULT_TIMEOUT):
        ok, reason = _workers.fork_support()
        if not ok:
            raise TransportError(reason)
        self.objects = texts(objects)  # rendered pages read now: the children share them
        self._start_crew(timeout)
        self.setup_ns = {"create": [], "import": [], "first_touch": []}
        with _closed_on_error(self):
            for _ in range(max(1, int(workers))):
                worker = self._crew.add(_workers.fork(_fork_child(self.objects)))
                _, child_started, touch_ns = worker.receive(self.timeout, "starting")
                self.setup_ns["create"].append(max(0, child_started - worker.started_ns))
                self.setup_ns["import"].append(0)
                self.setup_ns["first_touch"].append(touch_ns)
        self.import_errors = []

    def roundtrip_index(self, index):
        """Object `index` handed to the next child (it has it already: only the index goes),
        its fields read there, the count back, in ns."""
        return self._timed(b"T%d" % int(index))

    def keep_results(self, results, protocol=pickle.HIGHEST_PROTOCOL):
        raise TransportError("a forked worker has its results from the fork: pass them as objects")

    def hold_result(self, worker, index):
        """A child has every object from the fork."""

    def drop_results(self):
        """Nothing to give up: the objects are the fork's."""

    def result_back(self, index, protocol=pickle.HIGHEST_PROTOCOL):
        """Object `index` (a rendered page the child has from the fork) pickled in the next
        child, the bytes back and unpickled here, in ns."""
        return self._timed_result(self._next_worker(), int(index), protocol)


def render_cost(adapter, site, pages, sample, workdir, seconds=None, page_seconds=None):
    """The adapter's render-cost probe (`adapter.render_cost_within`, each page's render
    stopped after `page_seconds`) within `seconds` (None: no limit): the generator's
    preparation and the pages stop once the limit has passed (a page or step already running
    finishes). The result says how many of the chosen pages were rendered (`chosen`, `pages`)
    and where the limit cut it (`cut`, None when it did not)."""
    from .generators import base

    with base.render_deadline_at(None if seconds is None else time.monotonic() + seconds):
        result = adapter.render_cost_within(site, pages, sample, workdir, page_seconds)
    result.setdefault("chosen", min(len(pages), sample) if result.get("available") else 0)
    result.setdefault("cut", None)
    if result["cut"] and not result.get("render_ns") and result.get("available"):
        result["available"] = False
        result["reason"] = ("no page rendered within the render-cost probe's time limit "
                            "(--render-limit): it ran out while %s" % result["cut"])
    return result


class RenderedPage:
    """A page the render-cost probe wrote (in this run's own directory, never the site), read
    only when a worker is to get it: the return leg holds one rendered page at a time here, not
    every one (a 50 MB page is 50 MB per copy)."""

    __slots__ = ("path",)

    def __init__(self, path):
        self.path = path

    def text(self):
        with open(self.path, encoding="utf-8", errors="replace") as f:
            return f.read()


def _text(result):
    return result.text() if isinstance(result, RenderedPage) else result


def texts(results):
    """Rendered pages as their HTML text (other objects as they are)."""
    return [_text(r) for r in results]


def rendered_outputs(root, limit, protocol=pickle.HIGHEST_PROTOCOL):
    """Up to `limit` rendered pages the render-cost probe wrote under `root` (a directory of this
    run's own, never the site), spread evenly over their sorted paths: the real-sized results a
    worker would send back. Returns (pages, sizes): `RenderedPage`s and each one's
    `len(pickle.dumps(html, protocol))`, read one at a time."""
    paths = []
    for folder, _, files in os.walk(root):
        paths.extend(os.path.join(folder, name) for name in files if name.endswith(".html"))
    paths.sort()
    if len(paths) > limit:
        step = len(paths) / float(limit)
        paths = [paths[int(i * step)] for i in range(limit)]
    pages = [RenderedPage(path) for path in paths]
    return pages, [len(pickle.dumps(page.text(), protocol)) for page in pages]


def modules_for_globals(names):
    """The modules behind `module.qualname` globals read from a pickle stream: the longest
    dotted prefix that is an imported module (qualnames can hold dots too)."""
    found = []
    for name in names:
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            candidate = ".".join(parts[:cut])
            if candidate in sys.modules:
                if candidate not in found:
                    found.append(candidate)
                break
    return found

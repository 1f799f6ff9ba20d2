"""What it costs to hand a payload to a worker: a thread, a sub-interpreter or a process.

- `availability()`: which transports this Python has, and why not.
- `check_imports(modules)`: whether each module imports inside an isolated and a legacy-config
  sub-interpreter (a pickle referring to a module that cannot load there cannot be unpickled
  there).
- `measure_thread(payloads, rounds)`: a worker thread gets each payload by reference.
- `SubinterpreterTransport(workers, config, modules)` and `ProcessTransport(workers, modules)`:
  the payload is pickled in this interpreter, the bytes go to the worker, which unpickles them,
  reads the fields and sends back a small result. `roundtrip(obj, protocol)` times one round trip
  in ns, `close()` releases the workers.
- `ForkTransport(workers, objects)`: children forked after the objects exist share them
  copy-on-write; set-up = fork + first touch, nothing is pickled out.
- Results back: `keep_results(results)` then `result_back(i)` (pools), `measure_thread_results`
  (threads), a `ForkTransport` over the results: a real rendered page (`rendered_outputs`)
  pickled in the worker and unpickled here — what returning a rendered page costs.

Workers cannot import this module: in the embedded run it is compiled from a string and is not a
file on sys.path. They get their code as source text instead (`_WORKER_SOURCE`), which both the
sub-interpreters (`_interpreters.exec`) and the spawned processes (`exec` as the Process target,
a builtin that pickles by name) run.

How the sub-interpreter workers are driven: like CPython 3.14's InterpreterPoolExecutor, each
interpreter is owned by one thread of this interpreter that, per item, puts the bytes on a
cross-interpreter queue, runs the worker step in the interpreter (`_interpreters.exec`, which
blocks that thread and releases this interpreter's GIL) and takes the result from a second
queue. A loop living inside the sub-interpreter would have to poll the queues: they have no
blocking get in 3.13 or 3.14 (the stdlib wrappers sleep 10 ms between polls).

Everything returned is plain dicts, lists, strings and integers; times are nanoseconds from
`time.perf_counter_ns`. Failures that concern a payload raise `TransportError`, whose message is
the worker's exception as "Type: first line".
"""

import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import sys
import threading
import time
import weakref

from .util import DESCRIBE_SOURCE

DEFAULT_TIMEOUT = 60.0  # seconds a worker may take for one item (or to start) before we give up

_MIN_SUBINTERPRETERS = (3, 13)


class TransportError(Exception):
    """A payload could not make the trip, or a worker did not answer in time."""


# --- code that runs in the workers -------------------------------------------------------------

# Run as source text by every worker (and, for the thread transport, by this module itself).
_WORKER_SOURCE = DESCRIBE_SOURCE + "\n_pc_describe = describe\ndel describe\n" + r'''
import pickle
import sys
import time

# Workers collect garbage after replying to a message at least this large (untimed).
_PC_COLLECT_AFTER_BYTES = 64 << 10


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


_pc_kept = []


def _pc_handle(data):
    """One message to a pickling worker. A pickle (b"\x80...") is a payload: unpickle it, read
    its fields, reply with the number read. b"K" + pickle: keep that result object (a rendered
    page) for later. b"R<index>,<protocol>": send kept result `index` back, pickled, as a worker
    sends back what it rendered. The reply is an int, bytes (a pickled result) or "error:..."."""
    tag = data[:1]
    if tag == b"R":
        index, protocol = data[1:].split(b",")
        return pickle.dumps(_pc_kept[int(index)], int(protocol))
    if tag == b"K":
        _pc_kept.append(pickle.loads(memoryview(data)[1:]))
        return len(_pc_kept)
    return _pc_touch(pickle.loads(data))


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

# Sub-interpreter worker step, run once per item. The queue helpers are version specific.
_STEP_SOURCE = r'''
def _pc_step():
    data = _pc_get(_PC_IN)
    try:
        result = _pc_handle(data)
    except BaseException as exc:
        result = "error:" + _pc_describe(exc)  # a str result is an error, an int a success
    _pc_put(_PC_OUT, result)
'''

# Raw _interpqueues calls, as the stdlib wrappers make them (test.support.interpreters.queues in
# 3.13, concurrent.interpreters._queues in 3.14). Items are shareable objects (bytes, int, str),
# never pickled by the queue itself. Unbound op 2 = UNBOUND_ERROR.
_QUEUE_SOURCE_313 = r'''
import _interpqueues


def _pc_put(qid, obj):
    _interpqueues.put(qid, obj, 0, 2)  # fmt 0: shareable objects only


def _pc_get(qid):
    return _interpqueues.get(qid)[0]  # (obj, fmt, unboundop)


def _pc_new_queue():
    return _interpqueues.create(0, 0, 2)  # maxsize, fmt, unboundop
'''

_QUEUE_SOURCE_314 = r'''
import _interpqueues


def _pc_put(qid, obj):
    _interpqueues.put(qid, obj, -1)  # -1: the queue's own unbound op


def _pc_get(qid):
    return _interpqueues.get(qid)[0]  # (obj, unboundop)


def _pc_new_queue():
    return _interpqueues.create(0, 2, -1)  # maxsize, unboundop, fallback
'''

# Process worker: runs in a spawned child, after `_WORKER_SOURCE`.
_SERVE_SOURCE = r'''
def _pc_serve(conn, modules, dont_write_bytecode):
    import os

    sys.dont_write_bytecode = dont_write_bytecode
    # Keep whatever the imports print off the tool's terminal.
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    conn.send_bytes(pickle.dumps(("ready", os.getpid())))
    import_ns, errors = _pc_import(modules)
    conn.send_bytes(pickle.dumps(("imported", import_ns, errors)))
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
        # A pickled result goes back as it is (b"B" first); anything else pickled here.
        if isinstance(result, bytes):
            conn.send_bytes(b"B" + result)
        else:
            conn.send_bytes(pickle.dumps(result))
        if len(data) >= _PC_COLLECT_AFTER_BYTES:  # a large payload's cyclic garbage, freed now
            import gc

            gc.collect()


_pc_serve(_pc_conn, _pc_modules, _pc_dont_write_bytecode)
'''

_here = {}
exec(_WORKER_SOURCE, _here)
_touch = _here["_pc_touch"]
_describe = _here["_pc_describe"]
COLLECT_AFTER_BYTES = _here["_PC_COLLECT_AFTER_BYTES"]


def _module_names(modules):
    """The names, checked: they are pasted into `import ...` statements."""
    names = [str(m) for m in modules]
    for name in names:
        if not all(part.isidentifier() for part in name.split(".")):
            raise ValueError("not a module name: %r" % (name,))
    return names


def _queue_source():
    return _QUEUE_SOURCE_314 if sys.version_info >= (3, 14) else _QUEUE_SOURCE_313


def _result(value):
    """A worker's reply: the int it computed, or TransportError for its "error:..." string."""
    if isinstance(value, str):
        raise TransportError(value[len("error:"):] if value.startswith("error:") else value)
    return value


# --- availability ------------------------------------------------------------------------------

def _version():
    return "%d.%d" % sys.version_info[:2]


def _subinterpreter_support():
    """(available, reason, api)."""
    if sys.version_info < _MIN_SUBINTERPRETERS:
        return (False, "Python %s has no per-interpreter queues (_interpqueues); needs 3.13+"
                % _version(), None)
    try:
        import _interpqueues  # noqa: F401
        import _interpreters
    except ImportError as exc:
        return (False, "this Python %s build has no sub-interpreter modules (%s)"
                % (_version(), _describe(exc)), None)
    try:
        current = _interpreters.get_current()[0]
        main = _interpreters.get_main()[0]
    except Exception as exc:
        return False, "cannot query the running interpreter (%s)" % _describe(exc), None
    if current != main:
        return False, "running in a sub-interpreter; workers are created from the main one", None
    try:
        import concurrent.interpreters  # noqa: F401 - 3.14+
        api = "concurrent.interpreters"
    except ImportError:
        api = "_interpreters"
    return True, None, api


def _python_executable():
    """The Python that spawned workers run: sys.executable, unless it is not a Python (an
    embedding program), then the environment's bin/python3."""
    candidates = [sys.executable, getattr(sys, "_base_executable", None)]
    candidates += [os.path.join(sys.prefix, "bin", name)
                   for name in ("python3", "python", "python%s" % _version())]
    for path in candidates:
        if path and os.path.isfile(path) and os.path.basename(path).lower().startswith("python"):
            return path
    return None


def availability():
    sub_ok, sub_reason, api = _subinterpreter_support()
    process = {"available": True, "reason": None}
    try:
        multiprocessing.get_context("spawn")
    except ValueError as exc:
        process = {"available": False, "reason": "no spawn start method (%s)" % exc}
    else:
        if _python_executable() is None:
            process = {"available": False,
                       "reason": "no Python executable to spawn (sys.executable is %r)"
                       % sys.executable}
    fork = ({"available": True, "reason": None} if hasattr(os, "fork") else
            {"available": False, "reason": "os.fork is not available on this platform"})
    return {
        "thread": {"available": True, "reason": None},
        "subinterpreter": {"available": sub_ok, "reason": sub_reason, "api": api},
        "process": process,
        "fork": fork,
    }


# --- sub-interpreters: low level ---------------------------------------------------------------

def _excinfo_text(excinfo):
    name = getattr(getattr(excinfo, "type", None), "__name__", None) or "Exception"
    msg = (getattr(excinfo, "msg", None) or "").strip()
    return "%s: %s" % (name, msg.splitlines()[0]) if msg else name


class _Interpreter:
    """One sub-interpreter, created with a named config ("isolated" or "legacy")."""

    def __init__(self, config):
        import _interpreters

        self._mod = _interpreters
        self.config = config
        self.id = _interpreters.create(_interpreters.new_config(config))

    def run(self, code):
        """Run source or a code object in the interpreter's __main__; None or "Type: message"."""
        excinfo = self._mod.exec(self.id, code, restrict=True)
        return None if excinfo is None else _excinfo_text(excinfo)

    def bootstrap(self, extra_source=""):
        """Give it this interpreter's sys.path (a sub-interpreter starts from the startup
        config's path, without what was added at run time) and the worker code."""
        # Python-level output (warnings the payload's imports emit: requests' on Sphinx) stays
        # off the tool's terminal, as in process workers; the interpreter shares our fds.
        source = ("import sys, io\nsys.path[:] = %r\nsys.dont_write_bytecode = %r\n"
                  "sys.stdout = sys.stderr = io.StringIO()\n" % (
                      list(sys.path), bool(sys.dont_write_bytecode)))
        error = self.run(source + _WORKER_SOURCE + extra_source)
        if error:
            raise TransportError("cannot set up a sub-interpreter worker: " + error)

    def destroy(self):
        if self.id is None:
            return
        try:
            self._mod.destroy(self.id, restrict=True)
        except self._mod.InterpreterNotFoundError:
            pass
        self.id = None


def check_imports(modules):
    """Does `import module` work in an isolated and in a legacy-config sub-interpreter?

    One interpreter per config serves all modules: a failed import removes the failed module from
    sys.modules, so a later import that needs it retries and fails the same way, and what stays
    behind is only modules that imported completely, as a fresh import would load them too.
    After a failure that is not an ImportError (module code raising something else half-way)
    the interpreter is replaced before the next module.
    """
    modules = _module_names(modules)
    ok, reason, _ = _subinterpreter_support()
    if not ok:
        return [{"module": m, "isolated_ok": None, "legacy_ok": None, "error": reason,
                 "legacy_error": None} for m in modules]
    outcome = {"isolated": {}, "legacy": {}}
    for config in ("isolated", "legacy"):
        interp = None
        try:
            for name in modules:
                if interp is None:
                    interp = _Interpreter(config)
                    interp.bootstrap()
                error = interp.run("import " + name)
                outcome[config][name] = error
                if error and not error.startswith(("ImportError", "ModuleNotFoundError")):
                    interp.destroy()
                    interp = None
        finally:
            if interp is not None:
                interp.destroy()
    rows = []
    for name in modules:
        iso, leg = outcome["isolated"][name], outcome["legacy"][name]
        rows.append({"module": name, "isolated_ok": iso is None, "legacy_ok": leg is None,
                     "error": iso or leg, "legacy_error": leg})
    return rows


# --- threads -----------------------------------------------------------------------------------

def _thread_round_trips(items, answer, rounds, timeout, name):
    """A worker thread gets each item by reference through a queue.Queue and replies
    `answer(item)`: (ns per round trip, ns to start the thread). A reply that raised in the
    worker is raised here as TransportError."""
    inbox, outbox = queue.Queue(), queue.Queue()

    def work():
        while True:
            item = inbox.get()
            if item is inbox:
                return
            try:
                outbox.put((True, answer(item)))
            except BaseException as exc:  # reported, never raised in the worker
                outbox.put((False, "error:" + _describe(exc)))

    start = time.perf_counter_ns()
    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    setup_ns = time.perf_counter_ns() - start
    times = []
    try:
        for _ in range(max(1, int(rounds))):
            for item in items:
                t0 = time.perf_counter_ns()
                inbox.put(item)
                try:
                    ok, reply = outbox.get(timeout=timeout)
                except queue.Empty:
                    raise TransportError("the worker thread did not answer within %gs" % timeout)
                times.append(time.perf_counter_ns() - t0)
                if not ok:
                    _result(reply)
    finally:
        inbox.put(inbox)
        worker.join(timeout)
    return times, setup_ns


def measure_thread(payloads, rounds=1, timeout=DEFAULT_TIMEOUT):
    """A worker thread gets each payload by reference through a queue.Queue, reads its fields and
    replies: the cost of the hand-off alone, which the other transports pay on top of copying."""
    times, setup_ns = _thread_round_trips(payloads, _touch, rounds, timeout,
                                          "picklecost-thread-worker")
    return {"roundtrip_ns": times, "setup_ns": setup_ns}


def measure_thread_results(results, rounds=1, timeout=DEFAULT_TIMEOUT):
    """A worker thread hands each rendered result back by reference (a queue.Queue): what a
    thread pool pays to return a page it rendered. Round trip ns per result."""
    times, _ = _thread_round_trips(range(len(results)), results.__getitem__, rounds, timeout,
                                   "picklecost-thread-results")
    return times


# --- shared by the pickling transports ---------------------------------------------------------

# --- sub-interpreters --------------------------------------------------------------------------

class _SubWorker:
    """A sub-interpreter, its two queues and the thread of this interpreter that drives it."""

    _STEP = compile("_pc_step()", "<picklecost-worker>", "exec")
    _COLLECT = compile("import gc; gc.collect()", "<picklecost-worker>", "exec")

    def __init__(self, config, number, put, get, new_queue, destroy_queue):
        self.number = number
        self.stuck = False
        self._put, self._get = put, get
        self._destroy_queue = destroy_queue
        self.inq = self.outq = None
        self.interp = None
        self.tasks = queue.SimpleQueue()
        self.replies = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, daemon=True,
                                       name="picklecost-subinterpreter-%d" % number)
        start = time.perf_counter_ns()
        self.interp = _Interpreter(config)
        self.create_ns = time.perf_counter_ns() - start
        try:
            self.inq, self.outq = new_queue(), new_queue()
            self.interp.bootstrap("\n_PC_IN, _PC_OUT = %d, %d\n%s\n%s" % (
                self.inq, self.outq, _queue_source(), _STEP_SOURCE))
        except BaseException:
            self.stop(0)
            raise
        self.thread.start()

    def import_modules(self, modules):
        """Import `modules` in the interpreter: (ns, {module: error})."""
        errors = {}
        start = time.perf_counter_ns()
        for name in modules:
            error = self.interp.run("import " + name)
            if error:
                errors[name] = error
        return time.perf_counter_ns() - start, errors

    def _step(self, data):
        """Bytes in, the worker's reply (int, or "error:..." str) out."""
        self._put(self.inq, data)
        error = self.interp.run(self._STEP)
        if error:
            return "error:" + error
        return self._get(self.outq)

    def _serve(self):
        while True:
            task = self.tasks.get()
            if task is None:
                return
            try:
                self.replies.put(self._step(task[1]))
            except BaseException as exc:
                self.replies.put("error:" + _describe(exc))
            if len(task[1]) >= COLLECT_AFTER_BYTES:
                # A large payload unpickles to cyclic garbage (a Site and its pages refer to
                # each other): freed now, after the reply, so a worker holds one copy at most.
                self.interp.run(self._COLLECT)

    def stop(self, timeout):
        """Stop the thread and destroy the interpreter; False if it is still busy (stuck)."""
        if self.thread.is_alive():
            self.tasks.put(None)
            self.thread.join(timeout)
        if self.thread.is_alive():
            return False
        if self.interp is not None:
            self.interp.destroy()
        for qid in (self.inq, self.outq):
            if qid is not None:
                try:
                    self._destroy_queue(qid)
                except Exception:
                    pass
        self.inq = self.outq = None
        return True


def _close_workers(workers, timeout):
    left = [w for w in workers if not w.stop(timeout)]
    workers[:] = left
    return not left


class _Pool:
    """What both worker pools share: round-robin over the workers that still answer, the
    import errors their set-up met, and closing (also at exit, through `_finalizer`)."""

    _gone = "no worker left"

    @property
    def workers(self):
        return len(self._workers)

    def _next_worker(self):
        workers = self._usable()
        worker = workers[self._next % len(workers)]
        self._next += 1
        return worker

    def _usable(self):
        workers = [w for w in self._workers if not w.stuck]
        if not workers:
            raise TransportError(self._gone)
        return workers

    def keep_results(self, results, protocol=pickle.HIGHEST_PROTOCOL):
        """Give every worker the rendered results (untimed): later `result_back` calls make a
        worker send one back as if it had just rendered it."""
        for worker in self._usable():
            for obj in results:
                reply = self._exchange(worker, b"K" + pickle.dumps(obj, protocol))
                if isinstance(reply, str):
                    _result(reply)

    def result_back(self, index, protocol=pickle.HIGHEST_PROTOCOL):
        """A tiny request out, kept result `index` pickled in the next worker, the bytes back
        and unpickled here, in ns: the cost of returning one rendered page."""
        worker = self._next_worker()
        start = time.perf_counter_ns()
        reply = self._exchange(worker, b"R%d,%d" % (int(index), int(protocol)))
        if not isinstance(reply, (bytes, memoryview)):
            _result(reply if isinstance(reply, str) else "error:no result came back")
        pickle.loads(reply)
        return time.perf_counter_ns() - start

    @staticmethod
    def _import_errors(errors):
        return [{"module": m, "error": e} for m, e in errors.items()]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SubinterpreterTransport(_Pool):
    """W sub-interpreters with `config` "isolated" (own GIL, only multi-phase-init extension
    modules) or "legacy" (shares the main GIL, can load any extension module).

    `setup_ns` = {"create": [ns per worker], "import": [ns per worker to import `modules`]};
    `import_errors` = [{"module", "error"}] for modules that did not import (the payloads that
    need them will fail with the same error).
    """

    def __init__(self, workers=2, config="isolated", modules=(), timeout=DEFAULT_TIMEOUT):
        if config not in ("isolated", "legacy"):
            raise ValueError("config must be 'isolated' or 'legacy', not %r" % (config,))
        ok, reason, _ = _subinterpreter_support()
        if not ok:
            raise TransportError(reason)
        import _interpqueues

        helpers = {}
        exec(_queue_source(), helpers)
        self.config = config
        self.timeout = float(timeout)
        self.modules = _module_names(modules)
        self._workers = []
        self._next = 0
        self._finalizer = weakref.finalize(self, _close_workers, self._workers, 5.0)
        self.setup_ns = {"create": [], "import": []}
        errors = {}
        try:
            for number in range(max(1, int(workers))):
                worker = _SubWorker(config, number, helpers["_pc_put"], helpers["_pc_get"],
                                    helpers["_pc_new_queue"], _interpqueues.destroy)
                self._workers.append(worker)
                self.setup_ns["create"].append(worker.create_ns)
                import_ns, failed = worker.import_modules(self.modules)
                self.setup_ns["import"].append(import_ns)
                for name, error in failed.items():
                    errors.setdefault(name, error)
        except BaseException:
            self.close()
            raise
        self.import_errors = self._import_errors(errors)

    _gone = "no sub-interpreter worker left (closed, or all timed out)"

    def roundtrip(self, obj, protocol=pickle.HIGHEST_PROTOCOL):
        """pickle.dumps here + bytes onto the queue + unpickling and reading the fields in the
        next worker (round-robin) + the result back, in ns. Includes the hand-off to the thread
        that drives the worker, as measure_thread does."""
        worker = self._next_worker()
        start = time.perf_counter_ns()
        reply = self._exchange(worker, pickle.dumps(obj, protocol))
        elapsed = time.perf_counter_ns() - start
        _result(reply)
        return elapsed

    def _exchange(self, worker, data):
        """Bytes to a worker, its reply (int, bytes or "error:..." str) back."""
        worker.tasks.put(("one", data))
        try:
            return worker.replies.get(timeout=self.timeout)
        except queue.Empty:
            worker.stuck = True
            raise TransportError("sub-interpreter worker %d did not answer within %gs"
                                 % (worker.number, self.timeout))

    def close(self):
        """Destroy the interpreters. A worker that timed out may still be busy: it is left to the
        process's exit (its thread is a daemon) and close() returns False."""
        return self._finalizer() if self._finalizer.alive else not self._workers


# --- processes ---------------------------------------------------------------------------------

class _PipeWorker:
    """A worker at the other end of a pipe (spawned or forked). Replies are pickles, or b"B" + a
    pickled result, which is returned as bytes for the caller to unpickle (and time)."""

    stuck = False

    def receive(self, timeout, what):
        if not self.conn.poll(timeout):
            self.stuck = True
            raise TransportError(self._silent(timeout, what))
        try:
            data = self.conn.recv_bytes()
        except (EOFError, OSError):
            self.stuck = True
            raise TransportError(self._ended(what))
        return memoryview(data)[1:] if data[:1] == b"B" else pickle.loads(data)


class _ProcWorker(_PipeWorker):
    def __init__(self, process, conn):
        self.process = process
        self.conn = conn

    def _silent(self, timeout, what):
        if not self.process.is_alive():
            return self._exited(what)
        return ("worker process %s did not answer within %gs while %s"
                % (self.process.pid, timeout, what))

    def _ended(self, what):
        self.process.join(1.0)
        return self._exited(what)

    def _exited(self, what):
        return ("worker process %s exited with code %s while %s"
                % (self.process.pid, self.process.exitcode, what))

    def stop(self, timeout):
        try:
            self.conn.send_bytes(b"")
        except (OSError, ValueError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self.conn.close()


def _stop_processes(workers, timeout):
    while workers:
        workers.pop().stop(timeout)


class ProcessTransport(_Pool):
    """W worker processes started with multiprocessing's "spawn" method, running this
    environment's Python; payload bytes and results go over a Pipe.

    `setup_ns` = {"create": [ns from start() to the worker's first message], "import": [ns the
    worker spent importing `modules`, measured in the worker]}.
    """

    def __init__(self, workers=2, modules=(), timeout=DEFAULT_TIMEOUT):
        executable = _python_executable()
        if executable is None:
            raise TransportError("no Python executable to spawn workers with (sys.executable "
                                 "is %r)" % sys.executable)
        ctx = multiprocessing.get_context("spawn")
        from multiprocessing import spawn

        if spawn.get_executable() != executable:
            # An embedding program's sys.executable is not a Python: name the real one.
            ctx.set_executable(executable)
        if not hasattr(sys, "argv"):  # the spawn preparation data reads it
            sys.argv = [""]
        try:  # start the resource tracker now, not inside the first worker's spawn time
            from multiprocessing import resource_tracker
            resource_tracker.ensure_running()
        except Exception:
            pass
        self.timeout = float(timeout)
        self.modules = _module_names(modules)
        self.executable = executable
        self._workers = []
        self._next = 0
        self._finalizer = weakref.finalize(self, _stop_processes, self._workers, 5.0)
        self.setup_ns = {"create": [], "import": []}
        errors = {}
        source = _WORKER_SOURCE + _SERVE_SOURCE
        try:
            for number in range(max(1, int(workers))):
                parent, child = ctx.Pipe(duplex=True)
                namespace = {"__name__": "__picklecost_worker__", "_pc_conn": child,
                             "_pc_modules": self.modules,
                             "_pc_dont_write_bytecode": bool(sys.dont_write_bytecode)}
                process = ctx.Process(target=exec, args=(source, namespace), daemon=True,
                                      name="picklecost-process-%d" % number)
                start = time.perf_counter_ns()
                process.start()
                child.close()
                worker = _ProcWorker(process, parent)
                self._workers.append(worker)
                worker.receive(self.timeout, "starting")
                self.setup_ns["create"].append(time.perf_counter_ns() - start)
                _, import_ns, failed = worker.receive(self.timeout, "importing modules")
                self.setup_ns["import"].append(import_ns)
                for name, error in failed.items():
                    errors.setdefault(name, error)
        except BaseException:
            self.close()
            raise
        self.import_errors = self._import_errors(errors)

    _gone = "no worker process left (closed, or all failed)"

    def roundtrip(self, obj, protocol=pickle.HIGHEST_PROTOCOL):
        """pickle.dumps + bytes through the pipe + unpickling and reading the fields in the next
        worker (round-robin) + the result back, in ns."""
        worker = self._next_worker()
        start = time.perf_counter_ns()
        reply = self._exchange(worker, pickle.dumps(obj, protocol))
        elapsed = time.perf_counter_ns() - start
        _result(reply)
        return elapsed

    def _exchange(self, worker, data):
        worker.conn.send_bytes(data)
        return worker.receive(self.timeout, "handling a payload")

    def close(self):
        self._finalizer()


# --- fork ----------------------------------------------------------------------------------------

class _ForkWorker(_PipeWorker):
    """A forked child of this process and our end of its pipe."""

    def __init__(self, pid, conn):
        self.pid = pid
        self.conn = conn

    def _silent(self, timeout, what):
        return "forked worker %d did not answer within %gs while %s" % (self.pid, timeout, what)

    def _ended(self, what):
        return ("forked worker %d ended while %s (%s)"
                % (self.pid, what, _exit_words(_reap_child(self.pid, 1.0))))

    def stop(self, timeout):
        try:
            self.conn.send_bytes(b"")
        except (OSError, ValueError):
            pass
        _reap_child(self.pid, timeout)
        self.conn.close()


def _reap_child(pid, timeout):
    """waitpid with a deadline, then SIGKILL: a child never outlives its transport."""
    import signal

    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return status
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                return os.waitpid(pid, 0)[1]
            except ChildProcessError:
                return None
        time.sleep(0.002)


def _exit_words(status):
    if status is None:
        return "already reaped"
    code = os.waitstatus_to_exitcode(status)
    return "killed by signal %d" % -code if code < 0 else "exit status %d" % code


def _fork_child(conn, objects):
    """The forked child: first touch of every object (copy-on-write faults, reference counts
    written), then serve b"T<index>" (read object `index`'s fields, reply the count) and
    b"R<index>,<protocol>" (send object `index` back pickled) until an empty message."""
    code = 0
    try:
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, 1)
        os.dup2(sink, 2)
        started = time.perf_counter_ns()
        for obj in objects:
            _touch(obj)
        conn.send_bytes(pickle.dumps(("ready", started, time.perf_counter_ns() - started)))
        while True:
            data = conn.recv_bytes()
            if not data:
                break
            try:
                if data[:1] == b"R":
                    index, protocol = data[1:].split(b",")
                    conn.send_bytes(b"B" + pickle.dumps(objects[int(index)], int(protocol)))
                    continue
                result = _touch(objects[int(data[1:])])
            except BaseException as exc:
                result = "error:" + _describe(exc)
            conn.send_bytes(pickle.dumps(result))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


class ForkTransport(_Pool):
    """W children forked from this process after `objects` exist: they share them copy-on-write,
    so nothing is pickled out. `roundtrip_index(i)` sends an index and the child reads object
    i's fields; `result_back(i)` has the child pickle object i (a rendered page) and send it
    back. Untested on free-threaded builds; needs os.fork (POSIX).

    `setup_ns` = {"create": [ns from fork() to the child running], "import": [0 per worker],
    "first_touch": [ns the child took to read every object once]}.
    """

    _gone = "no forked worker left (closed, or all failed)"

    def __init__(self, workers=2, objects=(), timeout=DEFAULT_TIMEOUT):
        import warnings

        if not hasattr(os, "fork"):
            raise TransportError("os.fork is not available on this platform")
        self.objects = list(objects)
        self.timeout = float(timeout)
        self._workers = []
        self._next = 0
        self._finalizer = weakref.finalize(self, _stop_processes, self._workers, 5.0)
        self.setup_ns = {"create": [], "import": [], "first_touch": []}
        try:
            for _ in range(max(1, int(workers))):
                parent, child = multiprocessing.Pipe(duplex=True)
                sys.stdout.flush()
                sys.stderr.flush()
                start = time.perf_counter_ns()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # fork with threads running: a warning
                    pid = os.fork()
                if pid == 0:
                    parent.close()
                    _fork_child(child, self.objects)  # never returns
                child.close()
                worker = _ForkWorker(pid, parent)
                self._workers.append(worker)
                _, child_started, touch_ns = worker.receive(self.timeout, "starting")
                self.setup_ns["create"].append(max(0, child_started - start))
                self.setup_ns["import"].append(0)
                self.setup_ns["first_touch"].append(touch_ns)
        except BaseException:
            self.close()
            raise
        self.import_errors = []

    def roundtrip_index(self, index):
        """Object `index` handed to the next child (it has it already: only the index goes),
        its fields read there, the count back, in ns."""
        worker = self._next_worker()
        start = time.perf_counter_ns()
        reply = self._exchange(worker, b"T%d" % int(index))
        elapsed = time.perf_counter_ns() - start
        _result(reply)
        return elapsed

    def _exchange(self, worker, data):
        try:
            worker.conn.send_bytes(data)
        except OSError:  # the child is gone: say how it ended
            worker.stuck = True
            raise TransportError("forked worker %d ended (%s)"
                                 % (worker.pid, _exit_words(_reap_child(worker.pid, 1.0))))
        return worker.receive(self.timeout, "handling an object")

    def keep_results(self, results, protocol=pickle.HIGHEST_PROTOCOL):
        raise TransportError("a forked worker has its results from the fork: pass them as objects")

    def close(self):
        self._finalizer()


def rendered_outputs(root, limit):
    """Up to `limit` rendered pages (HTML text) the render-cost probe wrote under `root` (a
    directory of this run's own, never the site), spread evenly over their sorted paths: the
    real-sized results a worker would send back."""
    paths = []
    for folder, _, files in os.walk(root):
        paths.extend(os.path.join(folder, name) for name in files if name.endswith(".html"))
    paths.sort()
    if len(paths) > limit:
        step = len(paths) / float(limit)
        paths = [paths[int(i * step)] for i in range(limit)]
    out = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            out.append(f.read())
    return out


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

"""Workers: the one way picklecost starts, feeds, hears from and ends a worker of any kind.

analyze's transports (`transports.py`: a payload's round trip) and `scale` (`scale.py`: parallel
renders) run their work in these; what the work is stays theirs.

- Threads of this interpreter: `ThreadWorker(answer, name)` replies `answer(item)` to each item it
  is sent; `start_threads(bodies, name)` runs one body per thread, `join_threads` waits for them.
- Sub-interpreters, "isolated" (own GIL, only multi-phase-init extension modules) or "legacy"
  (shares the main GIL, loads any extension module), through the low-level `_interpreters` and
  `_interpqueues` modules that 3.13's `_interpreters` API and 3.14's `concurrent.interpreters`
  both stand on: `Subinterpreter(config, source)` is one interpreter with an inbound and an
  outbound queue (`put`, `run`, `get`, `close`), driven by the calling thread;
  `SubinterpreterWorker` is one driven by a thread of its own, like CPython 3.14's
  InterpreterPoolExecutor (a loop inside the sub-interpreter would have to poll the queues: they
  have no blocking get in 3.13 or 3.14).
- Processes: `spawn(ctx, source, namespace, name)` starts the environment's Python with
  multiprocessing's "spawn" method running `source`; `Forkserver().worker(source, namespace,
  name)` has multiprocessing's forkserver (a process of the environment's Python, started for
  the crew and ended with it) fork a worker running `source` the same way; `fork(child)` forks
  this process and runs `child(conn)` in the child. All give a `PipeWorker`.

Every worker offers `receive(timeout, what)` (a reply, or TransportError), `stop(timeout)` (ended;
False when it is still busy and was left to the process's exit; once the tool was interrupted
(`interrupted()`) a busy thread is not waited for and a process is killed at once) and `stuck`; pipe and thread
workers take `send(item)`. `Crew` is a set of workers ended together: by `close()`, by leaving
its `with` block (an error, an interrupt), or when it is collected or the process exits; a
forkserver it holds (`add_server`) is ended after its workers. A dead worker is described one
way: `exit_words(code)`. `default_start_method()` is what this Python's
`ProcessPoolExecutor()` starts workers with.

Replies on a pipe are a pickle, or b"B" + bytes the caller unpickles itself (a pickled result,
so that its unpickling can be timed); `PIPE_SOURCE` is the worker side of that.
"""

import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import sys
import threading
import time
import warnings
import weakref

from .util import DESCRIBE_SOURCE, describe

DEFAULT_TIMEOUT = 60.0  # seconds a worker may take for one item (or to start) before we give up
STOP_TIMEOUT = 5.0  # seconds a worker gets to end when its crew is closed or collected
# Seconds a killed worker process gets to be reaped once the tool was interrupted: SIGKILL ends
# it in milliseconds, and the tool must be gone within 2 s of the signal.
INTERRUPTED_REAP_TIMEOUT = 0.5

# Workers collect garbage after replying to a message at least this large (untimed).
COLLECT_AFTER_BYTES = 64 << 10

_MIN_SUBINTERPRETERS = (3, 13)


class TransportError(Exception):
    """An item could not make the trip to a worker, or a worker did not answer in time. (The
    class name is part of the reasons results.json carries.)"""


def _now():
    return time.perf_counter_ns()


def interrupted():
    """Whether SIGINT or SIGTERM came: the tool's handler (src/python/interrupt.rs) records the
    signal in sys._picklecost_interrupted. Workers are then ended without waiting for them."""
    return bool(getattr(sys, "_picklecost_interrupted", 0))


def _version():
    return "%d.%d" % sys.version_info[:2]


def module_names(modules):
    """The names, checked: they are pasted into `import ...` statements."""
    names = [str(m) for m in modules]
    for name in names:
        if not all(part.isidentifier() for part in name.split(".")):
            raise ValueError("not a module name: %r" % (name,))
    return names


def reply_value(value):
    """A worker's reply: what it computed, or TransportError for its "error:..." string."""
    if isinstance(value, str):
        raise TransportError(value[len("error:"):] if value.startswith("error:") else value)
    return value


# --- a dead worker, in words ---------------------------------------------------------------------

def exit_words(code):
    """How a worker process ended, from its exit code (as os.waitstatus_to_exitcode and
    multiprocessing's Process.exitcode give it: negative for a signal; None when unknown)."""
    if code is None:
        return "ended, its exit status unknown"
    if code < 0:
        try:
            name = " (%s)" % signal.Signals(-code).name
        except ValueError:
            name = ""
        return "killed by signal %d%s" % (-code, name)
    return "exited with status %d" % code


def exit_signal(code):
    """The signal that ended a worker (None: it exited, or the status is unknown)."""
    return -code if code is not None and code < 0 else None


# --- what this Python offers -------------------------------------------------------------------

def subinterpreter_support():
    """(available, reason, api): can this interpreter start sub-interpreter workers?"""
    if sys.version_info < _MIN_SUBINTERPRETERS:
        return (False, "Python %s has no per-interpreter queues (_interpqueues); needs 3.13+"
                % _version(), None)
    try:
        import _interpqueues  # noqa: F401
        import _interpreters
    except ImportError as exc:
        return (False, "this Python %s build has no sub-interpreter modules (%s)"
                % (_version(), describe(exc)), None)
    try:
        current = _interpreters.get_current()[0]
        main = _interpreters.get_main()[0]
    except Exception as exc:
        return False, "cannot query the running interpreter (%s)" % describe(exc), None
    if current != main:
        return False, "running in a sub-interpreter; workers are created from the main one", None
    try:
        import concurrent.interpreters  # noqa: F401 - 3.14+
        api = "concurrent.interpreters"
    except ImportError:
        api = "_interpreters"
    return True, None, api


def interpreter_pool_support():
    """(available, reason) for `concurrent.futures.InterpreterPoolExecutor` (Python 3.14+)."""
    try:
        from concurrent.futures import InterpreterPoolExecutor  # noqa: F401
    except ImportError:
        return (False, "needs Python 3.14's concurrent.futures.InterpreterPoolExecutor "
                "(this is Python %s)" % _version())
    available, reason, _ = subinterpreter_support()
    return available, reason


def python_executable():
    """The Python that spawned workers run: sys.executable, unless it is not a Python (an
    embedding program), then the environment's bin/python3."""
    candidates = [sys.executable, getattr(sys, "_base_executable", None)]
    candidates += [os.path.join(sys.prefix, "bin", name)
                   for name in ("python3", "python", "python%s" % _version())]
    for path in candidates:
        if path and os.path.isfile(path) and os.path.basename(path).lower().startswith("python"):
            return path
    return None


def spawn_support():
    """(available, reason) for spawned worker processes."""
    try:
        multiprocessing.get_context("spawn")
    except ValueError as exc:
        return False, "no spawn start method (%s)" % exc
    if python_executable() is None:
        return False, "no Python executable to spawn (sys.executable is %r)" % sys.executable
    return True, None


def forkserver_support():
    """(available, reason) for worker processes forked by multiprocessing's forkserver."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False, "no forkserver start method on this platform (%s)" % sys.platform
    if python_executable() is None:
        return False, ("no Python executable to start the forkserver with (sys.executable "
                       "is %r)" % sys.executable)
    return True, None


def default_start_method():
    """The start method `multiprocessing.get_start_method()` gives in this Python ("fork" on
    Linux up to 3.13, "forkserver" from 3.14, "spawn" on macOS and Windows): what
    `ProcessPoolExecutor()` and `multiprocessing.Pool()` start workers with. Read without fixing
    it (get_start_method() would set the default context for good, and a generator's later
    set_start_method() would then fail); where multiprocessing's internals differ, asked."""
    method = multiprocessing.get_start_method(allow_none=True)
    if method is not None:
        return method
    try:
        from multiprocessing import context

        return context._default_context._default_context.get_start_method()
    except Exception:  # noqa: BLE001 - another multiprocessing: the public call
        return multiprocessing.get_start_method()


def fork_support():
    """(available, reason) for forked worker processes."""
    if hasattr(os, "fork"):
        return True, None
    return False, "os.fork is not available on this platform"


def package_sources():
    """The embedded package's {name: (source, is_package)} table, which the binary put in
    sys._picklecost_sources (None when the package is on sys.path, as in tests)."""
    return getattr(sys, "_picklecost_sources", None)


# --- source text every shipped worker can run ---------------------------------------------------

# Workers cannot import this package from a file (in the embedded run it is compiled from
# strings), so their code travels as source text.
DESCRIBE = DESCRIBE_SOURCE + "\n_pc_describe = describe\ndel describe\n"

# A finder serving the embedded `picklecost` package from the {name: (source, is_package)} table
# of `package_sources()`.
FINDER_SOURCE = r'''
import importlib.abc, importlib.util, sys

class _PcFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, sources):
        self.sources = sources
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.sources:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, is_package=self.sources[fullname][1])
        if self.sources[fullname][1]:
            spec.submodule_search_locations = []
        return spec
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        exec(compile(self.sources[module.__name__][0], "<picklecost>/" + module.__name__, "exec"),
             module.__dict__)

def _pc_install_finder(sources):
    if sources and not any(type(f).__name__ == "_PcFinder" for f in sys.meta_path):
        sys.meta_path.insert(0, _PcFinder(sources))
'''

# The worker side of a pipe: replies as `PipeWorker.receive` reads them.
PIPE_SOURCE = r'''
import pickle


def _pc_reply(conn, obj):
    """Bytes go as they are (b"B" first, for the parent to unpickle and time); anything else
    pickled."""
    if isinstance(obj, (bytes, bytearray)):
        conn.send_bytes(b"B" + obj)
    else:
        conn.send_bytes(pickle.dumps(obj))


def _pc_tie_to_parent(parent):
    """Die with the tool, however it ends (SIGKILL included): Linux's parent-death signal, set
    from the worker itself; a tool already gone by then ends the worker now. The signal follows
    the thread that started the worker: workers are started from the tool's main thread."""
    import os
    import signal

    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux: the pipe's end is the worker's cue
        pass
    if os.getppid() != parent:
        os._exit(1)


def _pc_quiet():
    """Keep whatever the worker's imports print off the tool's terminal."""
    import os

    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
'''

_pipe = {}
exec(PIPE_SOURCE, _pipe)
reply = _pipe["_pc_reply"]

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


def queue_source():
    """`_pc_put(qid, obj)`, `_pc_get(qid)`, `_pc_new_queue()` for this Python's _interpqueues."""
    return _QUEUE_SOURCE_314 if sys.version_info >= (3, 14) else _QUEUE_SOURCE_313


# --- threads -----------------------------------------------------------------------------------

class ThreadWorker:
    """A thread of this interpreter that gets each item by reference through a queue.Queue and
    replies `answer(item)`. `setup_ns`: creating and starting the thread."""

    stuck = False

    def __init__(self, answer, name):
        self._answer = answer
        self._inbox, self._outbox = queue.Queue(), queue.Queue()
        start = _now()
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()
        self.setup_ns = _now() - start

    def _serve(self):
        while True:
            item = self._inbox.get()
            if item is self._inbox:
                return
            try:
                self._outbox.put((True, self._answer(item)))
            except BaseException as exc:  # reported, never raised in the worker
                self._outbox.put((False, "error:" + describe(exc)))

    def send(self, item):
        self._inbox.put(item)

    def receive(self, timeout, what=None):
        try:
            ok, value = self._outbox.get(timeout=timeout)
        except queue.Empty:
            self.stuck = True
            raise TransportError("the worker thread did not answer within %gs" % timeout)
        return value if ok else reply_value(value)

    def stop(self, timeout):
        self._inbox.put(self._inbox)
        self.thread.join(0 if interrupted() else timeout)
        return not self.thread.is_alive()


def start_threads(bodies, name):
    """Start `body(started_ns)` for each body in a daemon thread of its own (`started_ns`: just
    before its thread was created), all at once."""
    threads = []
    for k, body in enumerate(bodies):
        thread = threading.Thread(target=body, args=(_now(),), daemon=True,
                                  name="%s-%d" % (name, k))
        thread.start()
        threads.append(thread)
    return threads


def join_threads(threads, timeout):
    """Wait up to `timeout` for each thread: one still alive after it did not finish."""
    for thread in threads:
        thread.join(timeout)
    return threads


def run_threads(bodies, timeout, name):
    """`start_threads`, then `join_threads`: the threads, one still alive did not finish."""
    return join_threads(start_threads(bodies, name), timeout)


# --- sub-interpreters --------------------------------------------------------------------------

def _excinfo_text(excinfo):
    name = getattr(getattr(excinfo, "type", None), "__name__", None) or "Exception"
    msg = (getattr(excinfo, "msg", None) or "").strip()
    return "%s: %s" % (name, msg.splitlines()[0]) if msg else name


class Subinterpreter:
    """One sub-interpreter with `config` "isolated" or "legacy" and two queues (`_PC_IN` and
    `_PC_OUT` in its __main__), driven by the calling thread.

    It starts with this interpreter's sys.path (a sub-interpreter starts from the startup
    config's path, without what was added at run time), `_pc_describe`, the queue helpers,
    `source`, and, given `sources` (see `package_sources()`), the embedded package's finder.
    `create_ns`: creating the interpreter alone.
    """

    def __init__(self, config="isolated", source="", sources=None):
        if config not in ("isolated", "legacy"):
            raise ValueError("config must be 'isolated' or 'legacy', not %r" % (config,))
        import _interpqueues
        import _interpreters

        self._mod = _interpreters
        self._destroy_queue = _interpqueues.destroy
        helpers = {}
        exec(queue_source(), helpers)
        self._put, self._get = helpers["_pc_put"], helpers["_pc_get"]
        self.config = config
        self.inq = self.outq = None
        start = _now()
        self.id = _interpreters.create(_interpreters.new_config(config))
        self.create_ns = _now() - start
        try:
            self.inq, self.outq = helpers["_pc_new_queue"](), helpers["_pc_new_queue"]()
            self._bootstrap(FINDER_SOURCE + source if sources else source)
            if sources:
                self._install_finder(sources)
        except BaseException:
            self.close()
            raise

    def _bootstrap(self, source):
        # Python-level output (warnings the payload's imports emit: requests' on Sphinx) stays
        # off the tool's terminal, as in process workers; the interpreter shares our fds.
        prelude = ("import sys, io\nsys.path[:] = %r\nsys.dont_write_bytecode = %r\n"
                   "sys.stdout = sys.stderr = io.StringIO()\nsys._pc_subinterpreter = True\n"
                   "_PC_IN, _PC_OUT = %d, %d\n" % (
                       list(sys.path), bool(sys.dont_write_bytecode), self.inq, self.outq))
        error = self.run("\n".join((prelude, DESCRIBE, queue_source(), source)))
        if error:
            raise TransportError("cannot set up a sub-interpreter worker: " + error)

    def _install_finder(self, sources):
        # The table travels as one pickled bytes object (bytes are shareable).
        self.put(pickle.dumps(sources))
        error = self.run("_pc_install_finder(pickle.loads(_pc_get(_PC_IN)))")
        if error:
            raise TransportError("cannot install the package finder in a sub-interpreter: "
                                 + error)

    def run(self, code):
        """Run source or a code object in the interpreter's __main__; None or "Type: message"."""
        excinfo = self._mod.exec(self.id, code, restrict=True)
        return None if excinfo is None else _excinfo_text(excinfo)

    def put(self, obj):
        """A shareable object (bytes, int, str) onto the interpreter's inbound queue."""
        self._put(self.inq, obj)

    def get(self):
        """The next object from the interpreter's outbound queue (it must be there)."""
        return self._get(self.outq)

    def import_modules(self, modules):
        """Import `modules` in the interpreter: (ns, {module: error})."""
        errors = {}
        start = _now()
        for name in module_names(modules):
            error = self.run("import " + name)
            if error:
                errors[name] = error
        return _now() - start, errors

    def close(self):
        """Destroy the interpreter and its queues (not while it runs code)."""
        if self.id is not None:
            try:
                self._mod.destroy(self.id, restrict=True)
            except self._mod.InterpreterNotFoundError:
                pass
            self.id = None
        for qid in (self.inq, self.outq):
            if qid is not None:
                try:
                    self._destroy_queue(qid)
                except Exception:
                    pass
        self.inq = self.outq = None


class SubinterpreterWorker:
    """A `Subinterpreter` owned by one thread of this interpreter that, per item sent, puts the
    bytes on the inbound queue, runs `step` in the interpreter (which blocks that thread and
    releases this interpreter's GIL) and takes the reply from the outbound queue. `step` must
    leave exactly one reply there; a reply that is a str is an "error:..."."""

    def __init__(self, config, number, source, step, collect_after=COLLECT_AFTER_BYTES):
        self.number = number
        self.stuck = False
        self._step = compile(step, "<picklecost-worker>", "exec")
        self._collect = compile("import gc; gc.collect()", "<picklecost-worker>", "exec")
        self._collect_after = collect_after
        self._tasks, self._replies = queue.SimpleQueue(), queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, daemon=True,
                                       name="picklecost-subinterpreter-%d" % number)
        self.interp = Subinterpreter(config, source)
        self.create_ns = self.interp.create_ns
        self.thread.start()

    def import_modules(self, modules):
        """Import `modules` in the interpreter (before the first item): (ns, {module: error})."""
        return self.interp.import_modules(modules)

    def _exchange(self, data):
        self.interp.put(data)
        error = self.interp.run(self._step)
        if error:
            return "error:" + error
        return self.interp.get()

    def _serve(self):
        while True:
            data = self._tasks.get()
            if data is None:
                return
            try:
                self._replies.put(self._exchange(data))
            except BaseException as exc:
                self._replies.put("error:" + describe(exc))
            if len(data) >= self._collect_after:
                # A large payload unpickles to cyclic garbage (a Site and its pages refer to
                # each other): freed now, after the reply, so a worker holds one copy at most.
                self.interp.run(self._collect)

    def send(self, data):
        self._tasks.put(data)

    def receive(self, timeout, what=None):
        try:
            return self._replies.get(timeout=timeout)
        except queue.Empty:
            self.stuck = True
            raise TransportError("sub-interpreter worker %d did not answer within %gs"
                                 % (self.number, timeout))

    def stop(self, timeout):
        """Stop the thread and destroy the interpreter; False if it is still busy (stuck)."""
        if self.thread.is_alive():
            self._tasks.put(None)
            self.thread.join(0 if interrupted() else timeout)
        if self.thread.is_alive():
            return False
        self.interp.close()
        return True


# --- processes ---------------------------------------------------------------------------------

class PipeWorker:
    """A worker process at the other end of a duplex pipe (spawned or forked). `started_ns`:
    just before it was started."""

    stuck = False

    def __init__(self, conn, started_ns):
        self.conn = conn
        self.started_ns = started_ns
        self.exit_code = None  # once it has ended and was waited for

    def send(self, data):
        """Bytes to the worker; TransportError, saying how it ended, when it is gone."""
        try:
            self.conn.send_bytes(data)
        except OSError:
            self.stuck = True
            raise TransportError("%s ended (%s)" % (self.name, exit_words(self.wait(1.0))))

    def ready(self):
        """Whether a reply is waiting (or the pipe closed)."""
        return self.conn.poll(0)

    def receive(self, timeout, what):
        """The next reply: unpickled, or the bytes of a b"B" reply."""
        if not self.conn.poll(timeout):
            self.stuck = True
            if self.has_ended():
                raise TransportError("%s ended while %s (%s)"
                                     % (self.name, what, exit_words(self.wait(0))))
            raise TransportError("%s did not answer within %gs while %s"
                                 % (self.name, timeout, what))
        try:
            data = self.conn.recv_bytes()
        except (EOFError, OSError):
            self.stuck = True
            raise TransportError("%s ended while %s (%s)"
                                 % (self.name, what, exit_words(self.wait(1.0))))
        return memoryview(data)[1:] if data[:1] == b"B" else pickle.loads(data)

    def goodbye(self):
        """An empty message: the worker's cue to end."""
        try:
            self.conn.send_bytes(b"")
        except (OSError, ValueError):  # already gone
            pass

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self, timeout):
        """Ask it to end, wait up to `timeout`, then kill it; killed at once when the tool was
        interrupted."""
        if interrupted():
            self.kill()
            timeout = min(timeout, INTERRUPTED_REAP_TIMEOUT)
        elif not self.has_ended():
            self.goodbye()
        self.wait(timeout)
        self.conn.close()
        return True


class SpawnedWorker(PipeWorker):
    def __init__(self, process, conn, started_ns):
        super().__init__(conn, started_ns)
        self.process = process
        self.pid = process.pid
        self.name = "worker process %s" % process.pid

    def has_ended(self):
        return not self.process.is_alive()

    def wait(self, timeout):
        """Its exit code once it has ended: waited for up to `timeout`, then SIGKILLed."""
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self.exit_code = self.process.exitcode
        return self.exit_code


class ForkedWorker(PipeWorker):
    def __init__(self, pid, conn, started_ns):
        super().__init__(conn, started_ns)
        self.pid = pid
        self.name = "forked worker %d" % pid
        self._reaped = False

    def has_ended(self):
        if not self._reaped:
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                done, status = self.pid, None
            if done:
                self._reaped = True
                self.exit_code = None if status is None else os.waitstatus_to_exitcode(status)
        return self._reaped

    def wait(self, timeout):
        """Its exit code: waitpid with a deadline, then SIGKILL (a child never outlives its
        crew). None when it was reaped elsewhere."""
        deadline = time.monotonic() + timeout
        while not self.has_ended():
            if time.monotonic() > deadline:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    self.exit_code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
                except ChildProcessError:
                    self.exit_code = None
                self._reaped = True
                break
            time.sleep(0.002)
        return self.exit_code


def spawn_context(start_tracker=False):
    """multiprocessing's "spawn" context, running this environment's Python (an embedding
    program's sys.executable is not one). `start_tracker`: start the resource tracker now, not
    inside the first worker's start-up."""
    executable = python_executable()
    if executable is None:
        raise TransportError("no Python executable to spawn workers with (sys.executable "
                             "is %r)" % sys.executable)
    ctx = multiprocessing.get_context("spawn")
    from multiprocessing import spawn as spawning

    if spawning.get_executable() != executable:
        ctx.set_executable(executable)
    if not hasattr(sys, "argv"):  # the spawn preparation data reads it
        sys.argv = [""]
    if start_tracker:
        try:
            from multiprocessing import resource_tracker
            resource_tracker.ensure_running()
        except Exception:
            pass
    return ctx


def spawn(ctx, source, namespace, name):
    """A spawned process running `source` (with `PIPE_SOURCE` before it) in `namespace` plus
    `_pc_conn`, its end of the pipe."""
    parent, child = ctx.Pipe(duplex=True)
    namespace = dict(namespace, _pc_conn=child)
    tie = "\n_pc_tie_to_parent(%d)\n" % os.getpid()
    process = ctx.Process(target=exec, args=(PIPE_SOURCE + tie + source, namespace),
                          daemon=True, name=name)
    started = _now()
    _start_holding_signals(process)
    child.close()
    return SpawnedWorker(process, parent, started)


# A forkserver's worker, before `_pc_tie_to_parent(<the server's pid>)`: it drops its copy of the
# server's "alive" pipe (every worker gets one), so that the server ends as soon as the tool
# closes its own end or dies, and takes its workers along (their parent-death signal).
_LEAVE_FORKSERVER_SOURCE = r'''
def _pc_leave_forkserver():
    import os
    from multiprocessing import forkserver

    fd = forkserver._forkserver._forkserver_alive_fd
    forkserver._forkserver._forkserver_alive_fd = None
    if fd is not None:
        os.close(fd)


_pc_leave_forkserver()
'''


class Forkserver:
    """multiprocessing's forkserver for one crew: a process of this environment's Python (the
    executable `spawn_context` sets) that forks every worker from its own clean state, so a
    worker inherits neither the tool nor the loaded site and gets its payload pickled, as a
    spawned one does. The first `worker()` starts the server and waits for it, as a program's
    first forkserver pool does. `stop(timeout)` ends it (multiprocessing has no public call for
    that: its own tests' `_stop` without their unbounded wait); a crew does so after its workers
    (`Crew.add_server`).

    The server dies with the tool: its "alive" pipe reaches EOF when the tool's end closes,
    however the tool ends, and its workers (which drop their copy of that pipe) carry a
    parent-death signal tied to the server."""

    def __init__(self):
        ok, reason = forkserver_support()
        if not ok:
            raise TransportError(reason)
        spawn_context(start_tracker=True)  # the executable, sys.argv, the resource tracker
        self.ctx = multiprocessing.get_context("forkserver")
        from multiprocessing import forkserver

        self._server = forkserver._forkserver
        self.pid = None
        self._tempdir = None  # multiprocessing's temporary directory, where starting made it

    def _running(self):
        """The server's pid, started now if it is not running."""
        from multiprocessing import process

        config = process.current_process()._config
        had_tempdir = config.get("tempdir") is not None
        try:
            self._server.ensure_running()
        finally:
            # Recorded even when an interrupt cuts the start short after the directory was
            # made (the server's socket goes there) or the server forked, so `stop` ends both
            # on every way out.
            if not had_tempdir and config.get("tempdir") is not None:
                self._tempdir = config["tempdir"]
            self.pid = self._server._forkserver_pid  # a server started, even if cut short
        return self.pid

    def worker(self, source, namespace, name):
        """A worker forked by the server running `source` (with `PIPE_SOURCE` before it) in
        `namespace` plus `_pc_conn`, its end of the pipe; `started_ns` is taken before the
        server is asked (and, for the first worker, started)."""
        parent, child = self.ctx.Pipe(duplex=True)
        started = _now()
        tie = "\n%s\n_pc_tie_to_parent(%d)\n" % (_LEAVE_FORKSERVER_SOURCE, self._running())
        process = self.ctx.Process(target=exec,
                                   args=(PIPE_SOURCE + tie + source,
                                         dict(namespace, _pc_conn=child)),
                                   daemon=True, name=name)
        _start_holding_signals(process)
        child.close()
        worker = SpawnedWorker(process, parent, started)
        worker.name = "forkserver worker %s" % process.pid
        return worker

    def stop(self, timeout):
        """End the server: its "alive" pipe closed (its cue to exit), waited for up to
        `timeout`, then SIGKILLed; killed at once when the tool was interrupted. True."""
        server = self._server
        pid = server._forkserver_pid
        if pid is None or pid != self.pid:  # never started here, or ended already
            self._remove_tempdir()
            return True
        if interrupted():
            _kill(pid)
            timeout = min(timeout, INTERRUPTED_REAP_TIMEOUT)
        fd, server._forkserver_alive_fd = server._forkserver_alive_fd, None
        if fd is not None:
            os.close(fd)
        _reap(pid, timeout)
        from multiprocessing import util

        address = server._forkserver_address
        if address and not util.is_abstract_socket_namespace(address):
            try:
                os.unlink(address)
            except OSError:
                pass
        server._forkserver_pid = server._forkserver_address = None
        if hasattr(server, "_forkserver_authkey"):  # 3.14: the control socket's key
            server._forkserver_authkey = None
        self.pid = None
        self._remove_tempdir()
        return True

    def _remove_tempdir(self):
        if self._tempdir is not None:
            _remove_temp_dir(self._tempdir)
            self._tempdir = None


def _remove_temp_dir(tempdir):
    """multiprocessing's temporary directory (made for the forkserver's socket), removed now by
    its own finalizer: it would run at the interpreter's exit, which the tool's embedded Python
    never reaches, and a run leaves nothing in TMPDIR."""
    from multiprocessing import process, util

    for finalizer in list(util._finalizer_registry.values()):
        if tempdir in (getattr(finalizer, "_args", None) or ()):
            finalizer()  # removes the directory and forgets it
    if os.path.isdir(tempdir):
        import shutil

        shutil.rmtree(tempdir, ignore_errors=True)
    if process.current_process()._config.get("tempdir") == tempdir:
        process.current_process()._config["tempdir"] = None


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(pid, timeout):
    """Wait up to `timeout` for child `pid` to end, then SIGKILL it and wait."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:  # reaped elsewhere
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.002)
    _kill(pid)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


_PRCTL = []


def _prctl():
    """libc's prctl, or None (not Linux), looked up once."""
    if not _PRCTL:
        try:
            import ctypes

            _PRCTL.append(ctypes.CDLL(None, use_errno=True).prctl)
        except Exception:
            _PRCTL.append(None)
    return _PRCTL[0]


def _die_with(tool):
    """A forked child's tie to the tool, as `_pc_tie_to_parent` is a spawned worker's; and the
    tool's wakeup fd (its interrupt watchdog hears signals there) is not the child's to write."""
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:  # not the main interpreter: it never had one
        pass
    prctl = _prctl()
    if prctl is not None:
        prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != tool:
        os._exit(1)


class _SignalsHeld:
    """SIGINT and SIGTERM held (recorded, not raised) while a worker is being started: a signal
    that arrives then is raised after it, by the handler in force, not in the middle of it. In
    the middle, an interrupt cuts the start short halfway: a fork's own callbacks (Python 3.14's
    logging registers one) print "Exception ignored in atfork callback", and a spawned or
    forkserver worker whose start-up data was cut short prints its unpickling traceback on the
    tool's terminal. `held` lists what came; `release(end)` ends the half-started worker with
    `end()` and raises the first signal held. Handlers can only be set, and only run, in the main
    thread: elsewhere nothing is held."""

    def __init__(self):
        self.held = []
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for kind in (signal.SIGINT, signal.SIGTERM):
                self._previous[kind] = signal.signal(
                    kind, lambda signum, frame: self.held.append(signum))
        return self

    def __exit__(self, *exc):
        for kind, handler in self._previous.items():
            signal.signal(kind, handler)
        return False

    def release(self, end):
        """When a signal came: `end()` the worker (nobody's worker yet: the run stops), then
        the signal goes to the handler in force again."""
        if self.held:
            end()
            signal.raise_signal(self.held[0])


def _fork_holding_signals():
    """os.fork with SIGINT and SIGTERM held while it runs (`_SignalsHeld`). The child drops what
    was held: the parent ends it."""
    with _SignalsHeld() as signals:
        pid = os.fork()
    if pid != 0:
        signals.release(lambda: (os.kill(pid, signal.SIGKILL), os.waitpid(pid, 0)))
    return pid


def _start_holding_signals(process):
    """multiprocessing's `process.start()` (spawn, forkserver) with SIGINT and SIGTERM held
    while it sends the worker its start-up data (`_SignalsHeld`)."""
    with _SignalsHeld() as signals:
        process.start()
    signals.release(lambda: (process.kill(), process.join()))


def fork(child):
    """A forked child of this process running `child(conn)` with its output sent to /dev/null,
    then exiting: status 0, or 1 when `child` raised. Needs os.fork (POSIX); a child forked
    while sub-interpreters run aborts (their state is not fork-safe)."""
    parent, child_end = multiprocessing.Pipe(duplex=True)
    tool = os.getpid()
    _prctl()  # resolved here: the child only calls it
    sys.stdout.flush()
    sys.stderr.flush()
    started = _now()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fork with threads running: a DeprecationWarning
        pid = _fork_holding_signals()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            parent.close()
            _die_with(tool)
            _pipe["_pc_quiet"]()
            child(child_end)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    child_end.close()
    return ForkedWorker(pid, parent, started)


def wait_any(workers, timeout):
    """The workers among `workers` (pipe workers) with a reply waiting, or whose pipe closed,
    within `timeout`."""
    by_conn = {id(w.conn): w for w in workers}
    ready = multiprocessing.connection.wait([w.conn for w in workers], timeout=timeout)
    return [by_conn[id(conn)] for conn in ready]


# --- crews -------------------------------------------------------------------------------------

def stop_all(workers, timeout=STOP_TIMEOUT):
    """Stop every worker of the list; those still busy stay in it. True when none is left."""
    left = [w for w in workers if not w.stop(timeout)]
    workers[:] = left
    return not left


def _end_crew(members, servers, timeout):
    """The workers, then the forkservers that forked them (they report the workers' exits)."""
    done = stop_all(members, timeout)
    while servers:
        servers.pop().stop(timeout)
    return done


class Crew:
    """Workers ended together: by `close()`, by leaving a `with` block however it is left, or
    when the crew is collected or the process exits; then the forkservers it holds. `close()`
    returns False when a worker was still busy (left to the process's exit: its thread is a
    daemon)."""

    def __init__(self):
        self.members = []
        self.servers = []
        self._finalizer = weakref.finalize(self, _end_crew, self.members, self.servers,
                                           STOP_TIMEOUT)

    def add(self, worker):
        self.members.append(worker)
        return worker

    def add_server(self, server):
        """A `Forkserver` ended with the crew, after its workers."""
        self.servers.append(server)
        return server

    def __len__(self):
        return len(self.members)

    def close(self):
        return self._finalizer() if self._finalizer.alive else not self.members

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

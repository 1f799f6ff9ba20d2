import hashlib
import json
import os
import pathlib
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import _paths  # noqa: F401
from picklecost import generators, transports, workers
from picklecost.generators.base import Adapter
from picklecost.generators.bengal import Bengal

from _paths import SAMPLE_SITE as SITE  # noqa: E402
PY_DIR = _paths.PY_DIR
OLD_PYTHONS = _paths.old_pythons()
NOT_IN_SUBINTERPRETERS = "does not support loading in subinterpreters"
HAS_SUBINTERPRETERS = sys.version_info >= (3, 13)

# A module that cannot load in an isolated sub-interpreter (tracemalloc is single-phase init),
# and a class whose unpickling takes a while.
NEEDS_TRACEMALLOC = '''
import time
import tracemalloc


class Thing:
    def __init__(self, name):
        self.name = name
        self.tags = ["a", "b"]


class Slow:
    def __init__(self, delay):
        self.delay = delay

    def __setstate__(self, state):
        time.sleep(state["delay"])
        self.__dict__.update(state)
'''


def _bengal_available():
    try:
        import bengal  # noqa: F401
    except ImportError:
        return False
    return True


def _run(python, code, timeout=180):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    return subprocess.run([python, "-B", "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=tempfile.gettempdir())


def _payload():
    """A dict like a page payload, about 6 KB pickled."""
    return {"source_path": "content/docs/page.md", "content": "word " * 1000,
            "metadata": {"title": "A page", "tags": ["x", "y"], "weight": 3,
                         "date": "2024-05-01"},
            "output_path": "public/docs/page/index.html"}


def _live_interpreters():
    import _interpreters

    return len(_interpreters.list_all())


def _tree(root):
    """Everything about a directory tree that a write could change."""
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            state[os.path.relpath(path, root)] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return state


class AvailabilityTests(unittest.TestCase):
    def test_this_python(self):
        info = transports.availability()
        self.assertEqual(info["thread"], {"available": True, "reason": None})
        self.assertEqual(info["process"], {"available": True, "reason": None})
        if sys.platform.startswith("linux"):
            self.assertEqual(info["forkserver"], {"available": True, "reason": None})
        sub = info["subinterpreter"]
        if HAS_SUBINTERPRETERS:
            self.assertEqual(sub, {"available": True, "reason": None,
                                   "api": "concurrent.interpreters"
                                   if sys.version_info >= (3, 14) else "_interpreters"})
        else:
            self.assertFalse(sub["available"])

    def test_older_pythons_report_the_reason_and_still_measure_threads_and_processes(self):
        found = [(v, p) for v, p in OLD_PYTHONS.items() if os.path.exists(p)]
        if not found:
            self.skipTest(_paths.NO_OLD_PYTHON)
        for version, python in found:
            with self.subTest(version=version):
                code = textwrap.dedent('''
                    import json, sys
                    sys.path.insert(0, %r)
                    from picklecost import transports as t
                    info = t.availability()
                    rows = t.check_imports(["json"])
                    try:
                        t.SubinterpreterTransport(1, "isolated", [])
                        refused = None
                    except t.TransportError as exc:
                        refused = str(exc)
                    thread = t.measure_thread([{"a": 1}], 3)
                    with t.ProcessTransport(1, ["json"]) as p:
                        ns = p.roundtrip({"a": [1, 2, 3]})
                    print(json.dumps({"info": info, "rows": rows, "refused": refused,
                                      "thread": thread, "process_ns": ns}))
                ''') % PY_DIR
                done = _run(python, code)
                self.assertEqual(done.returncode, 0, done.stderr)
                out = json.loads(done.stdout)
                reason = ("Python %s has no per-interpreter queues (_interpqueues); needs 3.13+"
                          % version)
                self.assertEqual(out["info"]["subinterpreter"],
                                 {"available": False, "reason": reason, "api": None})
                self.assertTrue(out["info"]["thread"]["available"])
                self.assertTrue(out["info"]["process"]["available"])
                self.assertEqual(out["rows"], [{"module": "json", "isolated_ok": None,
                                                "legacy_ok": None, "error": reason,
                                                "legacy_error": None}])
                self.assertEqual(out["refused"], reason)
                self.assertEqual(len(out["thread"]["roundtrip_ns"]), 3)
                self.assertGreater(out["process_ns"], 0)


class ThreadTests(unittest.TestCase):
    def test_round_trips(self):
        payloads = [_payload(), {"x": 1}, [1, 2, 3]]
        result = transports.measure_thread(payloads, rounds=4)
        self.assertEqual(len(result["roundtrip_ns"]), 12)
        self.assertTrue(all(type(ns) is int and ns > 0 for ns in result["roundtrip_ns"]))
        self.assertGreater(result["setup_ns"], 0)

    def test_worker_error_is_raised_with_its_message(self):
        class Broken:
            @property
            def __dict__(self):
                raise RuntimeError("cannot read me")

        with self.assertRaises(transports.TransportError) as caught:
            transports.measure_thread([Broken()], 1)
        self.assertEqual(str(caught.exception), "RuntimeError: cannot read me")


class _TempModule(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        pathlib.Path(self.dir.name, "pc_needs_tracemalloc.py").write_text(NEEDS_TRACEMALLOC)
        sys.path.insert(0, self.dir.name)
        import pc_needs_tracemalloc

        self.module = pc_needs_tracemalloc

    def tearDown(self):
        sys.path[:] = [p for p in sys.path if p != self.dir.name]
        sys.modules.pop("pc_needs_tracemalloc", None)
        self.dir.cleanup()


@unittest.skipUnless(HAS_SUBINTERPRETERS, "sub-interpreters need Python 3.13+")
class CheckImportsTests(_TempModule):
    def test_modules(self):
        before = _live_interpreters()
        rows = transports.check_imports(["json", "tracemalloc", "bengal.core.page",
                                         "pc_needs_tracemalloc", "no_such_module_pc"])
        self.assertEqual(_live_interpreters(), before)
        by_name = {row["module"]: row for row in rows}
        self.assertEqual([row["module"] for row in rows],
                         ["json", "tracemalloc", "bengal.core.page", "pc_needs_tracemalloc",
                          "no_such_module_pc"])
        self.assertEqual(by_name["json"], {"module": "json", "isolated_ok": True,
                                           "legacy_ok": True, "error": None,
                                           "legacy_error": None})
        refused = ("ImportError: module _tracemalloc does not support loading in "
                   "subinterpreters")
        traced = by_name["tracemalloc"]
        self.assertEqual({k: traced[k] for k in ("module", "isolated_ok", "legacy_ok", "error",
                                                   "legacy_error")},
                         {"module": "tracemalloc", "isolated_ok": False, "legacy_ok": True,
                          "error": refused, "legacy_error": None})
        # Every blocker beyond the first: the private extension imported by the module itself
        # is stubbed, and then it loads.
        self.assertEqual(traced["blockers"], [{
            "module": "_tracemalloc", "chain": ["tracemalloc", "_tracemalloc"], "error": refused,
            "stub": "_tracemalloc"}])
        self.assertEqual((traced["stubs"], traced["loads_with_stubs"], traced["stopped"]),
                         (["_tracemalloc"], True, None))
        # The module found through a sys.path entry added at run time: the sub-interpreters
        # got this interpreter's sys.path.
        self.assertEqual(by_name["pc_needs_tracemalloc"]["error"], refused)
        self.assertTrue(by_name["pc_needs_tracemalloc"]["legacy_ok"])
        missing = by_name["no_such_module_pc"]
        self.assertEqual((missing["isolated_ok"], missing["legacy_ok"]), (False, False))
        self.assertEqual(missing["error"], "ModuleNotFoundError: No module named 'no_such_module_pc'")
        # A missing module is no refusal: nothing is stubbed for it.
        self.assertEqual((missing["blockers"], missing["stubs"], missing["loads_with_stubs"]),
                         ([], [], False))
        self.assertTrue(missing["stopped"].startswith("not a refusal to load"), missing)
        if _bengal_available():
            # Bengal's logger imports tracemalloc: no Bengal object unpickles in an isolated
            # sub-interpreter, all of them do in a legacy one.
            self.assertEqual(by_name["bengal.core.page"]["error"], refused)
            self.assertTrue(by_name["bengal.core.page"]["legacy_ok"])


@unittest.skipUnless(HAS_SUBINTERPRETERS, "sub-interpreters need Python 3.13+")
class SubinterpreterTests(_TempModule):
    def test_round_trips_with_two_isolated_workers(self):
        before = _live_interpreters()
        transport = transports.SubinterpreterTransport(2, "isolated", ["json", "datetime"])
        try:
            self.assertEqual(_live_interpreters(), before + 2)
            self.assertEqual(transport.workers, 2)
            for key in ("create", "import"):
                self.assertEqual(len(transport.setup_ns[key]), 2)
                self.assertTrue(all(type(ns) is int and ns > 0 for ns in transport.setup_ns[key]))
            self.assertEqual(transport.import_errors, [])
            payload = _payload()
            self.assertGreater(len(pickle.dumps(payload, 5)), 5000)
            times = [transport.roundtrip(payload, 5) for _ in range(6)]
            self.assertTrue(all(type(ns) is int and ns > 0 for ns in times))
        finally:
            self.assertTrue(transport.close())
        self.assertEqual(_live_interpreters(), before)
        with self.assertRaises(transports.TransportError):
            transport.roundtrip({"a": 1})

    def test_class_from_a_module_that_cannot_load_isolated(self):
        thing = self.module.Thing("x")
        with transports.SubinterpreterTransport(2, "isolated", ["pc_needs_tracemalloc"]) as t:
            self.assertEqual(t.import_errors, [{
                "module": "pc_needs_tracemalloc",
                "error": "ImportError: module _tracemalloc " + NOT_IN_SUBINTERPRETERS}])
            with self.assertRaises(transports.TransportError) as caught:
                t.roundtrip(thing)
            self.assertEqual(str(caught.exception),
                             "ImportError: module _tracemalloc " + NOT_IN_SUBINTERPRETERS)
            # The worker survives a failed payload.
            self.assertGreater(t.roundtrip({"fine": True}), 0)
            with self.assertRaises(transports.TransportError):
                t.roundtrip(thing)
            self.assertGreater(t.roundtrip({"b": 2}), 0)
        with transports.SubinterpreterTransport(2, "legacy", ["pc_needs_tracemalloc"]) as t:
            self.assertEqual(t.import_errors, [])
            self.assertGreater(t.roundtrip(thing), 0)
            self.assertTrue(all(t.roundtrip(thing) > 0 for _ in range(4)))

    def test_a_worker_that_does_not_answer_times_out_and_is_still_cleaned_up(self):
        before = _live_interpreters()
        t = transports.SubinterpreterTransport(1, "legacy", ["pc_needs_tracemalloc"],
                                               timeout=0.5)
        with self.assertRaises(transports.TransportError) as caught:
            t.roundtrip(self.module.Slow(1.5))
        self.assertIn("did not answer within 0.5s", str(caught.exception))
        with self.assertRaises(transports.TransportError):
            t.roundtrip({"a": 1})  # its only worker is busy
        self.assertTrue(t.close())  # waits for the slow item, then destroys the interpreter
        self.assertEqual(_live_interpreters(), before)

    def test_bad_config_and_module_names(self):
        with self.assertRaises(ValueError):
            transports.SubinterpreterTransport(1, "shared", [])
        with self.assertRaises(ValueError):
            transports.SubinterpreterTransport(1, "isolated", ["os; print(1)"])
        with self.assertRaises(ValueError):
            transports.check_imports(["json", "a..b"])


class ProcessTests(_TempModule):
    def test_round_trips_and_errors(self):
        with transports.ProcessTransport(2, ["json", "pc_needs_tracemalloc"]) as t:
            self.assertEqual(t.workers, 2)
            self.assertEqual(len(t.setup_ns["create"]), 2)
            self.assertEqual(len(t.setup_ns["import"]), 2)
            self.assertEqual(t.import_errors, [])
            self.assertGreater(t.roundtrip(_payload()), 0)
            self.assertGreater(t.roundtrip(self.module.Thing("x")), 0)
            only_here = _memory_only_class()
            with self.assertRaises(transports.TransportError) as caught:
                # pickled by reference to a module the worker cannot find
                t.roundtrip(only_here())
            self.assertEqual(str(caught.exception),
                             "ModuleNotFoundError: No module named 'pc_memory_only'")
            # The worker survives it.
            self.assertGreater(t.roundtrip([1]), 0)

    def test_timeout(self):
        with transports.ProcessTransport(1, [], timeout=0.5) as t:
            with self.assertRaises(transports.TransportError) as caught:
                t.roundtrip(self.module.Slow(3))
            self.assertIn("did not answer within 0.5s", str(caught.exception))


def _parent_of(pid):
    """The parent pid /proc gives for `pid` (field 4 of its stat)."""
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _gone(pid):
    """Whether process `pid` no longer runs (absent, or a zombie no one has reaped yet)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@unittest.skipUnless(workers.forkserver_support()[0], "no forkserver start method here")
class ForkserverTests(_TempModule):
    def test_the_server_forks_the_workers_and_ends_with_them(self):
        t = transports.ForkserverTransport(2, ["json", "pc_needs_tracemalloc"])
        try:
            server = t._crew.servers[0].pid
            pids = [w.pid for w in t._workers]
            self.assertEqual([_parent_of(pid) for pid in pids], [server, server])
            self.assertEqual(len(t.setup_ns["create"]), 2)
            self.assertTrue(all(ns > 0 for ns in t.setup_ns["create"] + t.setup_ns["import"]))
            self.assertEqual(t.import_errors, [])
            self.assertGreater(t.roundtrip(_payload()), 0)
            self.assertGreater(t.roundtrip(self.module.Thing("x")), 0)
            with self.assertRaises(transports.TransportError) as caught:
                t.roundtrip(_memory_only_class()())
            self.assertEqual(str(caught.exception),
                             "ModuleNotFoundError: No module named 'pc_memory_only'")
            t.keep_results(RENDERED, 5)
            self.assertTrue(all(t.result_back(i % 3, 5) > 0 for i in range(6)))
        finally:
            t.close()
        self.assertEqual(t._crew.servers, [])
        with self.assertRaises(ChildProcessError):  # the server was waited for
            os.waitpid(server, os.WNOHANG)
        for pid in pids:
            self.assertTrue(_gone(pid), pid)

    def test_a_dead_worker_is_worded_as_a_process_and_the_crew_still_ends(self):
        import signal

        with transports.ForkserverTransport(1, [], timeout=5) as t:
            worker = t._workers[0]
            os.kill(worker.pid, signal.SIGKILL)
            time.sleep(0.2)
            with self.assertRaises(transports.TransportError) as caught:
                t.roundtrip({"a": 1})
            self.assertIn("forkserver worker %d ended" % worker.pid, str(caught.exception))
            self.assertIn("killed by signal 9 (SIGKILL)", str(caught.exception))
            server = t._crew.servers[0].pid
        with self.assertRaises(ChildProcessError):
            os.waitpid(server, os.WNOHANG)

    def test_workers_die_with_their_server(self):
        import signal

        with transports.ForkserverTransport(2, []) as t:
            pids = [w.pid for w in t._workers]
            os.kill(t._crew.servers[0].pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertTrue(all(_gone(p) for p in pids), pids)

    def test_once_interrupted_the_workers_and_the_server_are_killed(self):
        t = transports.ForkserverTransport(1, [])
        server, worker = t._crew.servers[0].pid, t._workers[0]
        sys._picklecost_interrupted = 15  # what the tool's signal handler records
        try:
            t.close()
        finally:
            del sys._picklecost_interrupted
        self.assertEqual(worker.exit_code, -9)  # killed, not asked to end
        with self.assertRaises(ChildProcessError):
            os.waitpid(server, os.WNOHANG)
        self.assertTrue(_gone(worker.pid))

    def test_an_interrupt_cutting_the_server_start_short_leaves_no_temporary_directory(self):
        from multiprocessing import process, util

        server = workers.Forkserver()
        made = []
        real = server._server.ensure_running

        def cut_short():  # the interrupt lands once multiprocessing made its directory
            made.append(util.get_temp_dir())
            raise KeyboardInterrupt

        self.assertIsNone(process.current_process()._config.get("tempdir"))
        server._server.ensure_running = cut_short
        try:
            with self.assertRaises(KeyboardInterrupt):
                with workers.Crew() as crew:
                    crew.add_server(server).worker("pass\n", {}, "pc-test")
        finally:
            server._server.ensure_running = real
        self.assertEqual(len(made), 1)
        self.assertFalse(os.path.exists(made[0]), made[0])
        self.assertIsNone(process.current_process()._config.get("tempdir"))

    def test_the_server_ends_when_its_crew_block_raises(self):
        with self.assertRaises(RuntimeError):
            with workers.Crew() as crew:
                server = crew.add_server(workers.Forkserver())
                worker = crew.add(server.worker("_pc_conn.recv_bytes()\n", {}, "pc-test"))
                pid, server_pid = worker.pid, server.pid
                raise RuntimeError("interrupted half-way")
        self.assertEqual((len(crew), crew.servers), (0, []))
        self.assertEqual(worker.exit_code, 0)  # it got the goodbye and exited
        with self.assertRaises(ChildProcessError):
            os.waitpid(server_pid, os.WNOHANG)
        self.assertTrue(_gone(pid))


class StartMethodTests(unittest.TestCase):
    def test_the_default_is_what_this_python_says_and_reading_it_fixes_nothing(self):
        code = textwrap.dedent('''
            import json, multiprocessing, sys
            sys.path.insert(0, %r)
            from picklecost import workers
            read = workers.default_start_method()
            unset = multiprocessing.get_start_method(allow_none=True)
            print(json.dumps([read, unset, multiprocessing.get_start_method()]))
        ''') % PY_DIR
        done = _run(sys.executable, code)
        self.assertEqual(done.returncode, 0, done.stderr)
        read, unset, asked = json.loads(done.stdout)
        self.assertEqual(read, asked)
        self.assertIsNone(unset)  # still free for a generator's own set_start_method()
        expected = {(3, 13): "fork", (3, 14): "forkserver"}.get(sys.version_info[:2])
        if sys.platform.startswith("linux") and expected:
            self.assertEqual(read, expected)


def _memory_only_class():
    """A class of a module that exists only in this process's sys.modules."""
    import types

    module = sys.modules.get("pc_memory_only")
    if module is None:
        module = types.ModuleType("pc_memory_only")
        exec("class ProcessOnlyHere:\n    pass\n", module.__dict__)
        sys.modules["pc_memory_only"] = module
    return module.ProcessOnlyHere


# Mimics the embedded run: the package is served from memory by the binary's finder, its files
# are not on sys.path, __main__ is no script, and the workers still start.
EMBEDDED = '''
import json, os, sys, types
sys.path[:] = [p for p in sys.path if p not in ("", %(py_dir)r)]
SOURCES = {}
for folder, _, files in os.walk(os.path.join(%(py_dir)r, "picklecost")):
    for name in files:
        if name.endswith(".py"):
            rel = os.path.relpath(os.path.join(folder, name), %(py_dir)r)[:-3].split(os.sep)
            package = rel[-1] == "__init__"
            dotted = ".".join(rel[:-1] if package else rel)
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                SOURCES[dotted] = (f.read(), package)
with open(os.path.join(%(py_dir)r, "bootstrap.py"), encoding="utf-8") as f:
    exec(f.read(), {"SOURCES": SOURCES})
from picklecost import transports as t
assert not t.__file__ if hasattr(t, "__file__") else True
assert t.__spec__.origin.startswith("<picklecost>")  # served from memory, not from disk

import tempfile
from picklecost import generators
loaded = generators.load(%(site)r, "discovered", None, tempfile.mkdtemp())
site, adapter = loaded.site, loaded.adapter
fields = adapter.default_fields(loaded.pages[0])
payloads = [adapter.page_payload(page, fields) for page in loaded.pages[:6]]
modules = sorted({type(loaded.pages[0]).__module__, "datetime"})
out = {}
with t.ProcessTransport(2, modules) as p:
    out["process_setup"] = p.setup_ns
    out["process_errors"] = p.import_errors
    out["process"] = [p.roundtrip(x) for x in payloads]
    try:  # a whole Page, site and all
        out["page"] = p.roundtrip(loaded.pages[1])
    except TypeError as exc:  # Bengal 0.5: page records hold mapping views
        out["page"] = "TypeError: " + str(exc).splitlines()[0]
if t.availability()["subinterpreter"]["available"]:
    with t.SubinterpreterTransport(2, "legacy", modules) as s:
        out["legacy"] = [s.roundtrip(x) for x in payloads]
print(json.dumps(out))
'''


@unittest.skipUnless(_bengal_available(), "Bengal is not installed in this Python")
class EmbeddedLikeTests(unittest.TestCase):
    def test_workers_start_without_this_module_on_sys_path(self):
        code = EMBEDDED % {"py_dir": PY_DIR, "site": SITE}
        done = _run(sys.executable, code)
        self.assertEqual(done.returncode, 0, done.stderr)
        out = json.loads(done.stdout)
        self.assertEqual(out["process_errors"], [])
        self.assertEqual(len(out["process_setup"]["create"]), 2)
        self.assertEqual(len(out["process"]), 6)
        self.assertTrue(all(ns > 0 for ns in out["process"]))
        if isinstance(out["page"], str):
            self.assertEqual(out["page"], "TypeError: cannot pickle 'mappingproxy' object")
        else:
            self.assertGreater(out["page"], 0)
        if HAS_SUBINTERPRETERS:
            self.assertEqual(len(out["legacy"]), 6)
            self.assertTrue(all(ns > 0 for ns in out["legacy"]))


@unittest.skipUnless(_bengal_available(), "Bengal is not installed in this Python")
class RenderCostTests(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="picklecost-render-")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def test_sample_of_the_discovered_showcase_leaves_the_site_untouched(self):
        before = _tree(SITE)
        loaded = generators.load(SITE, "discovered", None, self.work)
        page = loaded.pages[0]  # in the sample
        attrs_before = dict(vars(page))
        result = loaded.adapter.render_cost(loaded.site, loaded.pages, 5, self.work)
        self.assertTrue(result["available"])
        self.assertEqual(result["errors"], [])
        self.assertEqual(result["pages"], 5)
        self.assertTrue(result["sampled"])
        self.assertEqual(len(result["render_ns"]), 5)
        self.assertTrue(all(type(ns) is int and ns > 0 for ns in result["render_ns"]))
        self.assertTrue(result["prepared"])
        self.assertIn("RenderingPipeline", result["method"])
        self.assertEqual(_tree(SITE), before)
        # The output directory is restored after rendering (the site was loaded from its copy).
        self.assertEqual(loaded.site.output_dir, pathlib.Path(loaded.site_copy.copy) / "public")
        self.assertEqual(dict(vars(page)), attrs_before)
        written = list(pathlib.Path(self.work, "render-output").rglob("index.html"))
        self.assertGreaterEqual(len(written), 5)

    def test_unknown_generator(self):
        result = Adapter().render_cost(object(), [], 5, self.work)
        self.assertFalse(result["available"])
        self.assertIn("only measured for generators picklecost knows", result["reason"])



class ModulesForGlobalsTests(unittest.TestCase):
    def test_longest_imported_prefix_is_the_module(self):
        import collections.abc  # noqa: F401
        got = transports.modules_for_globals(
            ["collections.OrderedDict", "collections.abc.Mapping", "datetime.date",
             "no_such_module.Thing", "pathlib.Path"])
        self.assertEqual(got, ["collections", "collections.abc", "datetime", "pathlib"])


RENDERED = ["<html><body>%s</body></html>" % ("page %d " % i * (200 + 50 * i)) for i in range(3)]


class ResultsBackTests(unittest.TestCase):
    def test_worker_protocol_keeps_and_sends_back_the_exact_pickle(self):
        ns = {}
        exec(transports._WORKER_SOURCE, ns)
        handle = ns["_pc_handle"]
        for i, html in enumerate(RENDERED):
            # A worker keeps one result at a time: the one it is to send back next.
            self.assertEqual(handle(b"K%d," % i + pickle.dumps(html, 5)), 1)
            self.assertEqual(list(ns["_pc_kept"]), [i])
            for protocol in (2, 5):
                self.assertEqual(handle(b"R%d,%d" % (i, protocol)), pickle.dumps(html, protocol))
        with self.assertRaises(KeyError):
            handle(b"R0,5")  # given up when result 2 was kept
        # A payload is still a payload: its fields read, the count back.
        self.assertEqual(handle(pickle.dumps({"a": 1, "b": [2]}, 5)), 2)

    def test_process_workers_send_results_back(self):
        with transports.ProcessTransport(2, []) as t:
            t.keep_results(RENDERED, 5)
            times = [t.result_back(i % 3, 5) for i in range(6)]
            self.assertTrue(all(ns > 0 for ns in times), times)
            with self.assertRaises(transports.TransportError) as caught:
                t.result_back(7, 5)
            self.assertIn("IndexError", str(caught.exception))
            self.assertGreater(t.roundtrip([1]), 0)  # the worker survives it

    @unittest.skipUnless(HAS_SUBINTERPRETERS, "sub-interpreter workers need Python 3.13+")
    def test_subinterpreter_workers_send_results_back(self):
        t = transports.SubinterpreterTransport(2, "isolated", [])
        try:
            t.keep_results(RENDERED, 5)
            self.assertTrue(all(t.result_back(i % 3, 5) > 0 for i in range(6)))
        finally:
            t.close()

    def test_thread_hands_results_back_by_reference(self):
        times = transports.measure_thread_results(RENDERED, 2)
        self.assertEqual(len(times), 6)
        self.assertTrue(all(ns > 0 for ns in times))

    def test_rendered_outputs_are_spread_over_the_html_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = pathlib.Path(tmp)
            for i in range(6):
                folder = root / ("s%d" % (i % 2)) / ("p%d" % i)
                folder.mkdir(parents=True)
                (folder / "index.html").write_text("page %d" % i, encoding="utf-8")
            (root / "style.css").write_text("not a page", encoding="utf-8")
            paths = sorted(str(p) for p in root.rglob("*.html"))
            picked, sizes = transports.rendered_outputs(tmp, 3, 5)
            expected = [pathlib.Path(paths[k]).read_text(encoding="utf-8") for k in (0, 2, 4)]
            self.assertEqual([p.path for p in picked], [paths[k] for k in (0, 2, 4)])
            self.assertEqual(transports.texts(picked), expected)
            self.assertEqual(sizes, [len(pickle.dumps(text, 5)) for text in expected])
            self.assertEqual(len(transports.rendered_outputs(tmp, 100)[0]), 6)
            self.assertEqual(transports.rendered_outputs(os.path.join(tmp, "none"), 3), ([], []))

    def test_pool_workers_read_rendered_pages_when_they_get_them(self):
        with tempfile.TemporaryDirectory() as tmp:
            for i, html in enumerate(RENDERED):
                pathlib.Path(tmp, "p%d.html" % i).write_text(html, encoding="utf-8")
            pages, _ = transports.rendered_outputs(tmp, 10, 5)
            with transports.ProcessTransport(2, []) as t:
                t.keep_results(pages, 5)
                self.assertTrue(all(t.result_back(i % 3, 5) > 0 for i in range(6)))
                self.assertEqual(len(t._kept_by), 2)  # one page kept per worker
                t.drop_results()
                self.assertEqual(t._kept_by, {})
                answer = t._exchange(t._workers[0], b"R0,5")  # given up: nothing to send back
                self.assertTrue(answer.startswith("error:KeyError"), answer)


_SIGNAL_IN_FORK = []


def _signal_during_fork():
    if _SIGNAL_IN_FORK:
        signal.raise_signal(_SIGNAL_IN_FORK.pop())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_signal_during_fork)


@unittest.skipUnless(hasattr(os, "fork"), "needs os.fork")
class ForkTests(unittest.TestCase):
    def test_a_signal_during_the_fork_is_raised_after_it_and_the_child_is_ended(self):
        def interrupted(signum, frame):
            raise KeyboardInterrupt("signal %d" % signum)

        def children():
            found = set()
            for task in pathlib.Path("/proc/self/task").iterdir():
                found.update((task / "children").read_text().split())
            return found

        previous = signal.signal(signal.SIGTERM, interrupted)
        before = children()
        started = []
        try:
            _SIGNAL_IN_FORK.append(signal.SIGTERM)  # SIGTERM arrives while os.fork runs
            with self.assertRaises(KeyboardInterrupt) as caught:
                started.append(workers.fork(lambda conn: time.sleep(60)))
            self.assertEqual(str(caught.exception), "signal %d" % signal.SIGTERM)
            self.assertEqual(started, [])
            self.assertEqual(children(), before)  # the child was ended and reaped
            # Without a signal, forking is as before and the handler in force is restored.
            self.assertIs(signal.getsignal(signal.SIGTERM), interrupted)
            self.assertEqual(workers.fork(lambda conn: None).wait(10), 0)
        finally:
            signal.signal(signal.SIGTERM, previous)

    def test_children_share_the_objects_and_are_reaped(self):
        objects = [{"title": "t%d" % i, "body": "x" * 1000} for i in range(4)]
        objects.append(threading_lock_holder())  # unpicklable: fork shares it all the same
        t = transports.ForkTransport(2, objects)
        pids = [w.pid for w in t._workers]
        try:
            self.assertEqual(len(t.setup_ns["create"]), 2)
            self.assertEqual(len(t.setup_ns["first_touch"]), 2)
            self.assertTrue(all(ns > 0 for ns in t.setup_ns["create"]))
            self.assertTrue(all(ns > 0 for ns in t.setup_ns["first_touch"]))
            self.assertTrue(all(t.roundtrip_index(i) > 0 for i in range(len(objects))))
            self.assertTrue(all(t.result_back(i, 5) > 0 for i in range(4)))
            with self.assertRaises(transports.TransportError):
                t.result_back(4, 5)  # the lock cannot come back pickled
        finally:
            t.close()
        for pid in pids:
            with self.assertRaises(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)

    def test_a_child_that_dies_is_reported(self):
        import signal

        t = transports.ForkTransport(1, [{"a": 1}], timeout=5)
        try:
            os.kill(t._workers[0].pid, signal.SIGKILL)
            time.sleep(0.2)  # gone before the request: the send itself fails
            with self.assertRaises(transports.TransportError) as caught:
                t.roundtrip_index(0)
            self.assertIn("killed by signal 9", str(caught.exception))
        finally:
            t.close()


class WorkerModuleTests(unittest.TestCase):
    def test_one_wording_of_a_dead_worker(self):
        self.assertEqual(workers.exit_words(7), "exited with status 7")
        self.assertEqual(workers.exit_words(0), "exited with status 0")
        self.assertEqual(workers.exit_words(-9), "killed by signal 9 (SIGKILL)")
        self.assertEqual(workers.exit_words(None), "ended, its exit status unknown")
        self.assertEqual((workers.exit_signal(-15), workers.exit_signal(3),
                          workers.exit_signal(None)), (15, None, None))

    @unittest.skipUnless(hasattr(os, "fork"), "needs os.fork")
    def test_a_crew_ends_its_workers_when_its_block_raises(self):
        def child(conn):
            conn.recv_bytes()  # until the goodbye

        with self.assertRaises(RuntimeError):
            with workers.Crew() as crew:
                members = [crew.add(workers.fork(child)) for _ in range(2)]
                raise RuntimeError("interrupted half-way")
        self.assertEqual(len(crew), 0)
        for worker in members:
            self.assertEqual(worker.exit_code, 0)  # it got the goodbye and exited
            with self.assertRaises(ChildProcessError):
                os.waitpid(worker.pid, os.WNOHANG)

    @unittest.skipUnless(hasattr(os, "fork"), "needs os.fork")
    def test_a_silent_forked_worker_is_killed_after_the_wait(self):
        def child(conn):
            time.sleep(60)

        worker = workers.fork(child)
        with self.assertRaises(transports.TransportError) as caught:
            worker.receive(0.2, "starting")
        self.assertEqual(str(caught.exception), "forked worker %d did not answer within 0.2s "
                         "while starting" % worker.pid)
        self.assertTrue(worker.stuck)
        self.assertEqual(worker.wait(0.1), -9)
        self.assertEqual(workers.exit_words(worker.exit_code), "killed by signal 9 (SIGKILL)")


def threading_lock_holder():
    import threading

    class Holder:
        def __init__(self):
            self.lock = threading.Lock()

    return Holder()


if __name__ == "__main__":
    unittest.main()


class _CountingAdapter(Adapter):
    """Renders through `time_renders`; `stop_after` pages in, the probe's time limit passes
    (the deadline is moved into the past: no clock is involved)."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.rendered = []

    def render_cost(self, site, pages, sample, workdir):
        from picklecost.generators import base

        def render(page):
            self.rendered.append(page)
            if self.stop_after is not None and len(self.rendered) >= self.stop_after:
                base.render_deadline = time.monotonic() - 1.0
            return "<p>%s</p>" % page

        chosen = list(pages)[:sample]
        return base.time_renders(chosen, False, render, str)


class RenderLimitTests(unittest.TestCase):
    PAGES = ["a", "b", "c", "d", "e", "f"]

    def test_without_a_limit_every_chosen_page_is_rendered(self):
        adapter = _CountingAdapter()
        result = transports.render_cost(adapter, None, self.PAGES, 5, tempfile.gettempdir(), None)
        self.assertEqual((result["pages"], result["chosen"], result["cut"]), (5, 5, None))
        self.assertTrue(result["available"])
        self.assertEqual(adapter.rendered, self.PAGES[:5])

    def test_the_limit_stops_between_pages_and_says_how_many_were_rendered(self):
        adapter = _CountingAdapter(stop_after=3)
        result = transports.render_cost(adapter, None, self.PAGES, 6, tempfile.gettempdir(), 3600)
        self.assertEqual((result["pages"], result["chosen"], result["cut"]), (3, 6, "rendering"))
        self.assertEqual(adapter.rendered, self.PAGES[:3])
        self.assertTrue(result["available"], "three rendered pages are a render cost")
        from picklecost.generators import base

        self.assertIsNone(base.render_deadline, "the limit is lifted after the probe")

    def test_a_limit_that_passed_before_the_first_page_leaves_no_render_cost(self):
        adapter = _CountingAdapter()
        result = transports.render_cost(adapter, None, self.PAGES, 6, tempfile.gettempdir(), 0)
        self.assertEqual((result["pages"], result["chosen"], result["cut"]), (0, 6, "rendering"))
        self.assertEqual(adapter.rendered, [])
        self.assertFalse(result["available"])
        self.assertIn("--render-limit", result["reason"])


class BengalRelatedPostsTests(unittest.TestCase):
    """The render-cost probe prepares the related posts of the pages it renders only: they are
    the ones Bengal's own full index gives those pages."""

    def setUp(self):
        self.work = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.work, True)

    def load(self):
        return generators.load(SITE, "discovered", None, self.work)

    def related(self, loaded, pages):
        """{page: [its related posts]}, pages named relative to the site (each load has a
        private copy of its own)."""
        key = loaded.adapter.page_key
        return {key(p): [key(r) for r in (p.related_posts or [])] for p in pages}

    def test_the_chosen_pages_get_the_related_posts_of_the_full_index(self):
        from picklecost.generators import bengal

        if not bengal._related_per_page():
            self.skipTest("this Bengal builds its related-posts index in one call")
        full = self.load()
        self.assertIsNone(bengal._prepare(full.site))
        everywhere = self.related(full, full.pages)
        self.assertTrue(any(everywhere.values()), "the sample's pages share tags")
        chosen_one = self.load()
        key = chosen_one.adapter.page_key
        # Some pages with related posts, some without.
        chosen = [p for i, p in enumerate(chosen_one.pages)
                  if (everywhere[key(p)] and i % 2) or i % 5 == 0]
        self.assertIsNone(bengal._prepare(chosen_one.site, chosen))
        got = self.related(chosen_one, chosen)
        self.assertTrue(any(got.values()), "some chosen pages have related posts")
        self.assertEqual(got, {k: everywhere[k] for k in got})
        others = [p for p in chosen_one.pages if p not in chosen]
        self.assertTrue(others)
        self.assertEqual([p.related_posts for p in others], [[] for _ in others])

    def test_a_passed_limit_stops_the_preparation_before_its_first_step(self):
        from picklecost.generators import base, bengal

        loaded = self.load()
        result = transports.render_cost(loaded.adapter, loaded.site, loaded.pages, 4,
                                        os.path.join(self.work, "render"), 0)
        self.assertEqual(result["cut"], "preparing the site (sections)")
        self.assertEqual((result["pages"], result["chosen"]), (0, 4))
        self.assertFalse(result["available"])
        self.assertIn("--render-limit", result["reason"])
        self.assertIsNone(base.render_deadline)
        self.assertFalse(bengal._prepared(loaded.site), "no step ran")

"""picklecost.scale on its own: the blocked import chain, the arithmetic, a crashing fork."""

import os
import pickle
import sys
import tempfile
import textwrap
import unittest

import _paths  # noqa: F401
from picklecost import generators, scale, stubs

HAS_SUBINTERPRETERS = sys.version_info >= (3, 13)

PROJECT = '''
import os

class Page:
    def __init__(self, n):
        self.source_path = "p%d.md" % n
        self.content = "# Page %d\\n\\n*text*\\n" % n

class Site:
    def __init__(self):
        self.pages = [Page(n) for n in range(6)]

def load(root):
    return Site()

def render(page):
    if page.source_path == "p4.md" and os.environ.get("SCALE_CRASH_PARENT") not in (None, str(os.getpid())):
        os.kill(os.getpid(), 9)
    return "<p>%s</p>" % page.source_path
'''


class Chain(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = self.tmp.name
        with open(os.path.join(root, "entry.py"), "w") as f:
            f.write("import middle\n")
        with open(os.path.join(root, "middle.py"), "w") as f:
            f.write("import tracemalloc\n")
        with open(os.path.join(root, "fine.py"), "w") as f:
            f.write("import json\n")
        sys.path.insert(0, root)

    def tearDown(self):
        sys.path.remove(self.tmp.name)
        self.tmp.cleanup()

    @unittest.skipUnless(HAS_SUBINTERPRETERS, "needs sub-interpreters")
    def test_chain_entry_to_the_refusing_extension(self):
        found = stubs.blocked_chain("entry")
        self.assertEqual(found["chain"], ["entry", "middle", "tracemalloc", "_tracemalloc"])
        self.assertIn("subinterpreters", found["error"])
        self.assertTrue(found["hint"].startswith("middle imports tracemalloc"), found["hint"])

    @unittest.skipUnless(HAS_SUBINTERPRETERS, "needs sub-interpreters")
    def test_a_module_that_loads_is_not_blocked(self):
        self.assertIsNone(stubs.blocked_chain("fine"))


class Runs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.site = os.path.join(self.tmp.name, "site")
        os.mkdir(self.site)
        with open(os.path.join(self.site, "projscale.py"), "w") as f:
            f.write(textwrap.dedent(PROJECT))
        os.mkdir(os.path.join(self.tmp.name, "work"))
        self.loaded = generators.load(self.site, "discovered", "projscale:load",
                                      os.path.join(self.tmp.name, "work"))

    def tearDown(self):
        sys.modules.pop("projscale", None)
        self.tmp.cleanup()

    def _run(self, strategies):
        return scale.run(self.loaded.adapter, self.loaded.site, self.loaded.pages,
                         os.path.join(self.tmp.name, "work"), workers=[1, 2],
                         strategies=strategies)

    def test_speedup_is_sequential_over_wall(self):
        result = self._run(("thread", "fork"))
        self.assertEqual(result["pages"], 6)
        render = [r for r in result["runs"] if r["workload"] == "render"]
        self.assertEqual([(r["strategy"], r["workers"]) for r in render],
                         [("thread", 1), ("thread", 2), ("fork", 1), ("fork", 2)])
        for row in render:
            self.assertAlmostEqual(row["speedup"], result["sequential_seconds"] / row["wall_seconds"])
            self.assertAlmostEqual(row["efficiency"], row["speedup"] / row["workers"])
            self.assertGreater(row["result_bytes"], 0)

    def test_the_check_samples_two_seconds_of_rendering_at_least_four_pages_a_worker(self):
        self.assertEqual(scale.check_pages(1000, 2, render_mean=0.01), 200)
        self.assertEqual(scale.check_pages(1000, 2, render_mean=1.0), 8)
        self.assertEqual(scale.check_pages(57, 2, render_mean=0.017), 57)
        self.assertEqual(scale.check_pages(1000, 3, render_mean=None), 12)

    def test_the_check_renders_four_pages_a_worker_at_one_worker_count(self):
        result = scale.check(self.loaded.adapter, self.loaded.site, self.loaded.pages,
                             os.path.join(self.tmp.name, "work"), 1, ["thread", "fork"], 60.0)
        self.assertEqual(result["workers"], [1])
        self.assertEqual(result["pages"], min(len(self.loaded.pages), scale.CHECK_PAGES_PER_WORKER))
        self.assertEqual([w["name"] for w in result["workloads"]], ["render"])
        self.assertEqual([(r["strategy"], r["workers"]) for r in result["runs"]],
                         [("thread", 1), ("fork", 1)])
        for row in result["runs"]:
            self.assertEqual(row["pages"], result["pages"])
        limit = result["limit"]
        self.assertEqual((limit["phase"], limit["done"], limit["planned"]), ("check", 2, 2))

    def test_a_check_past_its_limit_says_which_limit(self):
        result = scale.check(self.loaded.adapter, self.loaded.site, self.loaded.pages,
                             os.path.join(self.tmp.name, "work"), 1, ["fork"], 1e-9)
        self.assertTrue(result["limit"]["cut"])
        self.assertEqual(result["limit"]["done"], 0)
        for row in result["runs"]:
            self.assertFalse(row["available"])
            self.assertIn("--check-limit", row["reason"])

    def test_a_killed_fork_child_is_reported_with_its_page(self):
        os.environ["SCALE_CRASH_PARENT"] = str(os.getpid())
        try:
            result = self._run(("fork",))
        finally:
            del os.environ["SCALE_CRASH_PARENT"]
        for row in (r for r in result["runs"] if r["workload"] == "render"):
            self.assertEqual(len(row["failures"]), 1, row)
            failure = row["failures"][0]
            self.assertEqual(failure["signal"], 9)
            self.assertEqual(failure["page"], "p4.md")
            self.assertIn("SIGKILL", failure["what"])
            self.assertIsNone(row["speedup"])
        # No child left: every one was waited for.
        with self.assertRaises(ChildProcessError):
            os.waitpid(-1, os.WNOHANG)


    def test_a_killed_process_is_worded_as_a_killed_fork_child(self):
        os.environ["SCALE_CRASH_PARENT"] = str(os.getpid())
        try:
            result = self._run(("process",))
        finally:
            del os.environ["SCALE_CRASH_PARENT"]
        render = [r for r in result["runs"] if r["workload"] == "render"]
        self.assertEqual([r["workers"] for r in render], [1, 2])
        for row in render:
            self.assertTrue(row["available"], row["reason"])
            self.assertEqual(len(row["failures"]), 1, row)
            failure = row["failures"][0]
            self.assertEqual((failure["exit_status"], failure["signal"]), (-9, 9))
            self.assertEqual(failure["page"], "p4.md")
            self.assertIn("(pid %d) killed by signal 9 (SIGKILL) while rendering page p4.md"
                          % failure["pid"], failure["what"])
            self.assertIsNone(row["speedup"])

    @unittest.skipUnless(HAS_SUBINTERPRETERS, "needs sub-interpreters")
    def test_shipped_workers_render_every_page(self):
        import _interpreters

        before = len(_interpreters.list_all())
        result = self._run(("subinterpreter", "process"))
        self.assertEqual(len(_interpreters.list_all()), before)  # every one destroyed
        render = [r for r in result["runs"] if r["workload"] == "render"]
        shipped = len(pickle.dumps((self.loaded.adapter, self.loaded.site,
                                    list(self.loaded.pages)), 5))
        self.assertEqual([(r["strategy"], r["workers"]) for r in render],
                         [("subinterpreter", 1), ("subinterpreter", 2), ("process", 1),
                          ("process", 2)])
        for row in render:
            self.assertTrue(row["available"], row["reason"])
            self.assertEqual(row["failures"], [])
            self.assertEqual(row["pages"], 6)
            # Each worker got the pickled (adapter, site, pages) and sent its pages back.
            self.assertEqual(row["payload_bytes"], row["workers"] * shipped)
            self.assertGreater(row["result_bytes"], 0)
            self.assertAlmostEqual(row["speedup"], result["sequential_seconds"] / row["wall_seconds"])


    @unittest.skipUnless(HAS_SUBINTERPRETERS, "sub-interpreters need Python 3.13+")
    def test_the_interpreter_pool_renders_every_page_where_the_executor_exists(self):
        import _interpreters

        before = len(_interpreters.list_all())
        result = self._run(("interpreter-pool",))
        render = [r for r in result["runs"] if r["workload"] == "render"]
        self.assertEqual([(r["strategy"], r["workers"]) for r in render],
                         [("interpreter-pool", 1), ("interpreter-pool", 2)])
        if sys.version_info < (3, 14):
            for row in render:
                self.assertFalse(row["available"])
                self.assertTrue(row["reason"].startswith(
                    "needs Python 3.14's concurrent.futures.InterpreterPoolExecutor"), row)
            return
        self.assertEqual(len(_interpreters.list_all()), before)  # the pool shut down
        shipped = len(pickle.dumps((self.loaded.adapter, self.loaded.site,
                                    list(self.loaded.pages)), 5))
        for row in render:
            self.assertTrue(row["available"], row["reason"])
            self.assertEqual(row["failures"], [])
            self.assertEqual(row["pages"], 6)
            self.assertEqual(row["payload_bytes"], row["workers"] * shipped)
            self.assertGreater(row["result_bytes"], 0)
            self.assertAlmostEqual(row["speedup"], result["sequential_seconds"] / row["wall_seconds"])

    def test_forkserver_workers_get_the_site_pickled_like_spawned_ones(self):
        from picklecost import workers

        if not workers.forkserver_support()[0]:
            self.skipTest("no forkserver start method here: %s" % workers.forkserver_support()[1])
        result = self._run(("process", "forkserver"))
        render = [r for r in result["runs"] if r["workload"] == "render"]
        self.assertEqual([(r["strategy"], r["workers"]) for r in render],
                         [("process", 1), ("process", 2), ("forkserver", 1), ("forkserver", 2)])
        shipped = len(pickle.dumps((self.loaded.adapter, self.loaded.site,
                                    list(self.loaded.pages)), 5))
        for row in render:
            self.assertTrue(row["available"], row["reason"])
            self.assertEqual(row["failures"], [])
            self.assertEqual(row["pages"], 6)
            self.assertEqual(row["payload_bytes"], row["workers"] * shipped)
            self.assertEqual(row["memory_kind"], "peak_rss")
            self.assertGreater(row["startup_seconds"], 0)
            self.assertAlmostEqual(row["speedup"],
                                   result["sequential_seconds"] / row["wall_seconds"])
        by = {(r["strategy"], r["workers"]): r["result_bytes"] for r in render}
        self.assertEqual(by[("forkserver", 1)], by[("process", 1)])
        self.assertEqual(by[("forkserver", 2)], by[("process", 2)])
        self.assertEqual(by[("forkserver", 1)], len(pickle.dumps(
            {i: "<p>p%d.md</p>" % i for i in range(6)}, 5)))
        # Every worker and the server were waited for: no child is left but multiprocessing's
        # resource tracker (it lives as long as this process).
        self.assertEqual(_children_but_the_tracker(), [])

    def test_a_killed_forkserver_worker_is_reported_with_its_page(self):
        from picklecost import workers

        if not workers.forkserver_support()[0]:
            self.skipTest("no forkserver start method here: %s" % workers.forkserver_support()[1])
        os.environ["SCALE_CRASH_PARENT"] = str(os.getpid())
        try:
            result = self._run(("forkserver",))
        finally:
            del os.environ["SCALE_CRASH_PARENT"]
        for row in (r for r in result["runs"] if r["workload"] == "render"):
            self.assertEqual(len(row["failures"]), 1, row)
            failure = row["failures"][0]
            self.assertEqual((failure["exit_status"], failure["signal"]), (-9, 9))
            self.assertEqual(failure["page"], "p4.md")
            self.assertIn("forkserver worker", failure["what"])
            self.assertIsNone(row["speedup"])


def _children_but_the_tracker():
    """This process's children (from /proc), multiprocessing's resource tracker left out."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                command = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and "resource_tracker" not in command:
            found.append((int(entry), fields[0], command))
    return found


class Sampling(unittest.TestCase):
    def test_stratified_sample_covers_groups_in_proportion(self):
        from picklecost.util import stratified_sample

        keys = [("a", i) for i in range(90)] + [("b", i) for i in range(10)]
        picked, sampled = stratified_sample(keys, 10)
        self.assertTrue(sampled)
        self.assertEqual(len(set(picked)), 10)
        self.assertEqual(picked, sorted(picked))
        self.assertEqual(sum(1 for i in picked if keys[i][0] == "b"), 1)
        # The same indices as analyze's sampler (measure/sample.rs) on the same strata.
        self.assertEqual(picked, [5, 15, 25, 35, 45, 55, 65, 75, 85, 95])
        self.assertEqual(stratified_sample(keys, 500), (list(range(100)), False))

    def test_scale_samples_every_section(self):
        # 12 pages in section "big" for each one in "small", the small ones first by position
        # and the big ones by size: 13 pages reach "small" and every size class of "big".
        keys = [("small", n) for n in range(3)] + [("big", 1000 - n) for n in range(36)]
        picked, _ = scale._choose(list(range(39)), 13, None, None, [1], ["thread"], keys)
        self.assertEqual(picked, sorted(picked))
        self.assertEqual(sum(1 for i in picked if keys[i][0] == "small"), 1)
        big_sizes = sorted(keys[i][1] for i in picked if keys[i][0] == "big")
        self.assertLess(big_sizes[0], 970)
        self.assertGreater(big_sizes[-1], 995)


if __name__ == "__main__":
    unittest.main()


class WhatIfEquivalence(unittest.TestCase):
    def test_the_first_differing_line_both_ways(self):
        self.assertIsNone(scale.first_difference("a\nb", "a\nb"))
        self.assertEqual(scale.first_difference("a\nb\nc", "a\nB\nc"),
                         {"line": 2, "main": "b", "what_if": "B"})
        # A page cut short differs where it ends.
        self.assertEqual(scale.first_difference("a\nb", "a"), {"line": 2, "main": "b", "what_if": ""})

    def test_a_page_equal_to_the_last_baseline_counts_as_identical(self):
        eq = scale.Equivalence({0: "x", 1: "y\n1", 2: "z"}, lambda i: "p%d" % i)
        row_one, row_two = {}, {}
        eq.add(row_one, [{0: "x", 1: "y\n2"}, {2: "changed"}])
        eq.add(row_two, [{0: "x", 1: "y\n2", 2: "z"}])
        found = eq.settle({0: "x", 1: "y\n2", 2: "z"})  # page 1 changes between renders
        self.assertEqual((row_one["different_pages"], row_two["different_pages"]), (1, 0))
        self.assertEqual(found, {"pages": 3, "identical": 2, "different": [
            {"page": "p2", "line": 1, "main": "z", "what_if": "changed", "main_varies": False}]})


@unittest.skipUnless(HAS_SUBINTERPRETERS, "needs sub-interpreters")
class CapturedOutputInWorkers(unittest.TestCase):
    def test_workers_capturing_at_once_leave_the_process_stdout_alone(self):
        # Two sub-interpreter workers keep a generator's output off the terminal at overlapping
        # times (A in, B in, A out, B out): fd 1 must still be the process's stdout after.
        import threading

        from picklecost import workers

        before = os.fstat(1)
        code = ("import time\nfrom picklecost.util import captured_output\ntime.sleep(%r)\n"
                "with captured_output():\n    time.sleep(%r)\n")
        subs = [workers.Subinterpreter("isolated") for _ in range(2)]
        errors = []
        try:
            threads = [threading.Thread(target=lambda s=s, c=c: errors.append(s.run(c)))
                       for s, c in zip(subs, (code % (0.0, 0.2), code % (0.05, 0.3)))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            for s in subs:
                s.close()
        self.assertEqual(errors, [None, None])
        after = os.fstat(1)
        self.assertEqual((after.st_dev, after.st_ino), (before.st_dev, before.st_ino))

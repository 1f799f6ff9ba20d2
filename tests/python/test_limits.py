import os
import pathlib
import signal
import sys
import tempfile
import threading
import time
import unittest

import _paths  # noqa: F401
from picklecost import generators, limits
from picklecost.generators import base


def spin():
    while True:
        pass


class TimeLimitTests(unittest.TestCase):
    def setUp(self):
        self.assertIs(threading.current_thread(), threading.main_thread())
        self.handler = signal.getsignal(signal.SIGALRM)
        self.assertEqual(signal.getitimer(signal.ITIMER_REAL), (0.0, 0.0))

    def tearDown(self):
        # Every test leaves SIGALRM as it found it: no timer armed, the same handler.
        self.assertEqual(signal.getitimer(signal.ITIMER_REAL), (0.0, 0.0))
        self.assertIs(signal.getsignal(signal.SIGALRM), self.handler)

    def test_a_python_loop_is_stopped_and_the_limit_named(self):
        with self.assertRaises(limits.TimeLimit) as caught:
            with limits.time_limit(0.2, "the render (--page-limit)"):
                spin()
        self.assertEqual(str(caught.exception), "the render (--page-limit) took longer than 0.2 s")
        self.assertEqual((caught.exception.what, caught.exception.seconds),
                         ("the render (--page-limit)", 0.2))

    def test_a_blocking_sleep_is_stopped(self):
        with self.assertRaises(limits.TimeLimit):
            with limits.time_limit(0.2, "loading"):
                time.sleep(10**6)

    def test_generic_exception_handlers_do_not_swallow_it(self):
        def stubborn():
            while True:
                try:
                    spin()
                except Exception:  # noqa: BLE001 - what generator code does to carry on
                    continue

        with self.assertRaises(limits.TimeLimit):
            with limits.time_limit(0.2, "loading"):
                stubborn()

    def test_a_handler_that_swallows_everything_is_stopped_by_the_repeat(self):
        caught = []

        def swallow_once():
            try:
                spin()
            except BaseException as exc:  # noqa: BLE001 - swallowed on purpose
                caught.append(exc)
            spin()

        with self.assertRaises(limits.TimeLimit):
            with limits.time_limit(0.1, "loading"):
                swallow_once()
        self.assertEqual(len(caught), 1)
        self.assertIsInstance(caught[0], limits.TimeLimit)

    def test_a_body_within_its_limit_returns_and_disarms_the_timer(self):
        with limits.time_limit(30, "loading"):
            value = sum(range(1000))
            self.assertGreater(signal.getitimer(signal.ITIMER_REAL)[0], 0)
        self.assertEqual(value, 499500)

    def test_the_previous_handler_and_timer_are_restored(self):
        fired = []
        previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
        try:
            signal.setitimer(signal.ITIMER_REAL, 50)
            with limits.time_limit(0.05, "the inner"):
                self.assertLessEqual(signal.getitimer(signal.ITIMER_REAL)[0], 0.05)
            # The outer timer again (longer than the inner limit, at most its own 50 s).
            delay, _ = signal.getitimer(signal.ITIMER_REAL)
            self.assertTrue(0.05 < delay <= 50, delay)
            self.assertIsNot(signal.getsignal(signal.SIGALRM), previous)
            self.assertEqual(fired, [])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def test_an_outer_limit_that_ends_first_stays_in_charge(self):
        with self.assertRaises(limits.TimeLimit) as caught:
            with limits.time_limit(0.2, "the outer"):
                with limits.time_limit(60, "the inner"):
                    spin()
        self.assertEqual(caught.exception.what, "the outer")

    def test_an_inner_limit_that_ends_first_leaves_the_outer_armed(self):
        with self.assertRaises(limits.TimeLimit) as outer:
            with limits.time_limit(0.5, "the outer"):
                with self.assertRaises(limits.TimeLimit) as inner:
                    with limits.time_limit(0.1, "the inner"):
                        spin()
                self.assertEqual(inner.exception.what, "the inner")
                spin()
        self.assertEqual(outer.exception.what, "the outer")

    def test_no_limit_and_other_threads_run_unlimited(self):
        for seconds in (None, 0):
            with limits.time_limit(seconds, "loading"):
                self.assertEqual(signal.getitimer(signal.ITIMER_REAL), (0.0, 0.0))
        seen = []

        def worker():
            seen.append(limits.can_limit())
            with limits.time_limit(0.01, "loading"):
                time.sleep(0.05)
                seen.append(signal.getitimer(signal.ITIMER_REAL))

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        self.assertEqual(seen, [False, (0.0, 0.0)])

    def test_page_limit_sets_what_time_renders_reads(self):
        self.assertEqual(limits.PAGE_SECONDS.get(), limits.DEFAULT_PAGE_SECONDS)
        with limits.page_limit(2.5):
            self.assertEqual(limits.PAGE_SECONDS.get(), 2.5)
        self.assertEqual(limits.PAGE_SECONDS.get(), limits.DEFAULT_PAGE_SECONDS)


class TimedRendersTests(unittest.TestCase):
    def test_a_failing_and_a_hanging_page_are_named_and_the_others_timed(self):
        calls = []

        def render(page):
            calls.append(page)
            if page == "boom":
                raise RuntimeError("template missing")
            if page == "hang":
                spin()

        with limits.page_limit(0.2):
            result = base.time_renders(["a", "boom", "hang", "b"], False, render, str,
                                       warmup=["hang"])
        self.assertEqual(result["pages"], 2)
        self.assertEqual(len(result["render_ns"]), 2)
        self.assertEqual(result["failed"], 2)
        self.assertEqual(result["errors"], [
            "boom: RuntimeError: template missing",
            "hang: TimeLimit: the render (--page-limit) took longer than 0.2 s"])
        # The page that hung in the warm-up is not waited for a second time.
        self.assertEqual(calls, ["hang", "a", "boom", "b"])
        self.assertTrue(result["available"])


class LoadLimitTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.dir.name)
        self.scratch = tempfile.TemporaryDirectory()
        (self.root / "slow_loader.py").write_text(
            "import time\n"
            "class Site:\n"
            "    pages = []\n"
            "def hang(root):\n"
            "    time.sleep(10**6)\n"
            "def empty(root):\n"
            "    return Site()\n")

    def tearDown(self):
        sys.path[:] = [p for p in sys.path if p != str(self.root)]
        sys.modules.pop("slow_loader", None)
        self.dir.cleanup()
        self.scratch.cleanup()

    def load(self, spec, **kwargs):
        with self.assertRaises(generators.LoadError) as caught:
            generators.load(str(self.root), "discovered", spec, self.scratch.name, **kwargs)
        return str(caught.exception)

    def test_a_hanging_loader_is_stopped_at_the_load_limit(self):
        message = self.load("slow_loader:hang", load_seconds=0.2)
        self.assertEqual(
            message,
            "--loader slow_loader:hang did not finish loading %s within --load-limit 0.2 s and "
            "was stopped; if the site takes longer to load, raise the limit with --load-limit "
            "SECONDS" % self.root)
        self.assertEqual(signal.getitimer(signal.ITIMER_REAL), (0.0, 0.0))

    def test_a_site_without_pages_is_a_load_error(self):
        message = self.load("slow_loader:empty")
        self.assertIn("--loader slow_loader:empty found no pages in %s" % self.root, message)


class PrintableNamesTests(unittest.TestCase):
    def test_a_name_that_is_not_utf8_keeps_its_bytes_as_escapes(self):
        name = os.fsdecode(b"content/caf\xe9.md")
        self.assertEqual(base.printable(name), "content/caf\\xe9.md")
        self.assertEqual(base.printable("content/café.md"), "content/café.md")

    def test_every_adapter_names_pages_printably(self):
        for adapter in generators.ADAPTERS:
            with self.subTest(adapter=adapter.name):
                self.assertTrue(getattr(type(adapter).page_key, "printable", False))


if __name__ == "__main__":
    unittest.main()

import sys
import types
import unittest
import warnings

import _paths  # noqa: F401
from picklecost import env


class QuietInterruptsInCallbacks(unittest.TestCase):
    """After the tool's handler raised KeyboardInterrupt, only that is kept off stderr."""

    def setUp(self):
        self.saved = sys.unraisablehook
        self.saved_show = warnings.showwarning
        self.seen = []
        sys.unraisablehook = self.seen.append
        env.quiet_interrupts_in_callbacks()

    def tearDown(self):
        sys.unraisablehook = self.saved
        warnings.showwarning = self.saved_show
        if hasattr(sys, "_picklecost_interrupted"):
            del sys._picklecost_interrupted

    def unraisable(self, exc):
        return types.SimpleNamespace(exc_type=type(exc), exc_value=exc, exc_traceback=None,
                                     err_msg=None, object=None)

    def test_after_a_signal_a_keyboard_interrupt_is_dropped_and_others_pass(self):
        sys._picklecost_interrupted = 2
        sys.unraisablehook(self.unraisable(KeyboardInterrupt("SIGINT")))
        error = self.unraisable(ValueError("real"))
        sys.unraisablehook(error)
        self.assertEqual(self.seen, [error])

    def test_without_a_signal_a_keyboard_interrupt_is_reported(self):
        interrupt = self.unraisable(KeyboardInterrupt())
        sys.unraisablehook(interrupt)
        self.assertEqual(self.seen, [interrupt])

    def test_warnings_are_shown_until_a_signal_then_dropped(self):
        shown = []
        warnings.showwarning = lambda *a, **k: shown.append(str(a[0]))
        env.quiet_interrupts_in_callbacks()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = warnings.showwarning  # the hook installed above
            warnings.warn("before")
            sys._picklecost_interrupted = 2
            warnings.warn("resource_tracker: process died unexpectedly, relaunching.")
        self.assertEqual(shown, ["before"])


if __name__ == "__main__":
    unittest.main()

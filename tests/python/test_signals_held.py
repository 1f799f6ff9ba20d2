"""workers: a signal that comes while a worker is being started is raised after the start,
with the half-started worker ended, not in the middle of the start."""
import os
import signal
import unittest

import _paths  # noqa: F401
from picklecost import workers


class _Interrupt(Exception):
    pass


def _raise(signum, frame):
    raise _Interrupt(signum)


class FakeProcess:
    """A start that gets SIGINT halfway (as a start-up data write cut short would)."""

    def __init__(self):
        self.steps = []

    def start(self):
        self.steps.append("start begun")
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # bytecode runs: a handler in force would raise here
            pass
        self.steps.append("start finished")

    def kill(self):
        self.steps.append("killed")

    def join(self):
        self.steps.append("joined")


class SignalsHeld(unittest.TestCase):
    def setUp(self):
        self.saved = signal.signal(signal.SIGINT, _raise)

    def tearDown(self):
        signal.signal(signal.SIGINT, self.saved)

    def test_a_signal_during_a_start_is_raised_after_it_and_the_worker_ended(self):
        process = FakeProcess()
        with self.assertRaises(_Interrupt) as raised:
            workers._start_holding_signals(process)
        self.assertEqual(raised.exception.args, (signal.SIGINT,))
        self.assertEqual(process.steps, ["start begun", "start finished", "killed", "joined"])
        self.assertIs(signal.getsignal(signal.SIGINT), _raise)

    def test_a_start_without_a_signal_keeps_its_worker(self):
        process = FakeProcess()
        process.start = lambda: process.steps.append("started")
        workers._start_holding_signals(process)
        self.assertEqual(process.steps, ["started"])
        self.assertIs(signal.getsignal(signal.SIGINT), _raise)

    def test_a_fork_interrupted_while_forking_ends_its_child(self):
        real_fork = os.fork

        def fork():
            os.kill(os.getpid(), signal.SIGINT)
            return real_fork()

        os.fork = fork
        try:
            with self.assertRaises(_Interrupt):
                pid = workers._fork_holding_signals()
                if pid == 0:  # the child, had the parent not ended it at once
                    os._exit(0)
        finally:
            os.fork = real_fork


if __name__ == "__main__":
    unittest.main()

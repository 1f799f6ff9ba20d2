"""Time limits on code picklecost does not control: a generator rendering one page (`--page-limit`),
a generator or `--loader` function loading the site (`--load-limit`).

`time_limit(seconds, what)` arms a real-time timer (`signal.setitimer`) whose SIGALRM handler
raises `TimeLimit` in the main thread, wherever the limited code is: a Python loop
(`while True: pass`) or a blocking call that Python retries after a signal (`time.sleep`, reads
and waits) stops there. The previous SIGALRM handler and timer are put back on exit, so limits
nest: an outer limit that would end sooner than an inner one stays in charge.

What cannot be cut: CPython runs a signal handler only between bytecodes, in the main thread. A
page stuck inside one C call that never returns to the interpreter (a C extension's own loop, a
lock taken in C) does not see the SIGALRM until that call returns; the limit then stops it only
once it does, and until then the run waits (Ctrl-C and SIGTERM, which go through Python-level
handlers too, wait with it: only SIGKILL ends such a process). Outside the main thread (a worker
thread, a sub-interpreter) no signal handler can be set, and the code runs without a limit.
"""

import contextvars
import signal
import threading
import time
from contextlib import contextmanager

#: `--page-limit` when not given: one page's render may take this long.
DEFAULT_PAGE_SECONDS = 60.0
#: `--load-limit` when not given: loading the site may take this long.
DEFAULT_LOAD_SECONDS = 3600.0
#: After the first SIGALRM, the timer fires again this often until the code gives way: a handler
#: that swallowed one exception (a bare `except:` in a loop) does not keep it running.
REPEAT_SECONDS = 1.0


#: The per-page render limit in force (`page_limit`), read by `generators.base.time_renders`.
PAGE_SECONDS = contextvars.ContextVar("picklecost_page_seconds", default=DEFAULT_PAGE_SECONDS)


class TimeLimit(BaseException):
    """`what` ran past its limit of `seconds`. A BaseException, like KeyboardInterrupt: the
    `except Exception` that generator code uses to carry on past a failure must not swallow it."""

    def __init__(self, what, seconds):
        super().__init__("%s took longer than %s s" % (what, seconds_text(seconds)))
        self.what = what
        self.seconds = seconds


def seconds_text(seconds):
    """2 -> "2", 0.5 -> "0.5": a limit as the user typed it."""
    return "%g" % seconds if seconds < 1e6 else "%d" % seconds


@contextmanager
def page_limit(seconds):
    """Every page rendered by `time_renders` in the body is limited to `seconds`."""
    token = PAGE_SECONDS.set(seconds)
    try:
        yield
    finally:
        PAGE_SECONDS.reset(token)


def can_limit():
    """Can a limit be armed here (the main thread of the main interpreter, with setitimer)?"""
    return (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread())


@contextmanager
def time_limit(seconds, what):
    """Run the body under a limit of `seconds` (None or 0: none), raising TimeLimit(what, seconds)
    when it is reached (see the module docstring for what cannot be cut)."""
    if not seconds or seconds <= 0 or not can_limit():
        yield
        return
    previous_delay, previous_interval = signal.getitimer(signal.ITIMER_REAL)
    if previous_delay and previous_delay <= seconds:
        # An outer limit ends first: it stays armed with its own handler.
        yield
        return
    state = {"done": False}

    def on_alarm(signum, frame):
        if not state["done"]:
            raise TimeLimit(what, seconds)

    try:
        previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main interpreter: no handler can be set
        yield
        return
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_SECONDS)
    try:
        yield
    finally:
        state["done"] = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        # None: the previous handler was not set from Python (the default action).
        signal.signal(signal.SIGALRM,
                      signal.SIG_DFL if previous_handler is None else previous_handler)
        if previous_delay:
            left = previous_delay - (time.monotonic() - started)
            # An outer limit that passed meanwhile fires at once, not never.
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), previous_interval)

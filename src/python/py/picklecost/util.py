"""Small helpers every part of the Python side shares."""

import contextlib
import io
import os
import sys


class LoadError(Exception):
    """A problem with the user's input: its message is shown as the tool's one error line."""


# Workers (sub-interpreters, spawned processes) cannot import this package: they run this
# source text too, so an exception reads the same wherever it happened.
DESCRIBE_SOURCE = '''
def describe(exc):
    """"ImportError: module _tracemalloc does not support ..." — type and first line only."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return "%s: %s" % (type(exc).__name__, first) if first else type(exc).__name__
'''
exec(DESCRIBE_SOURCE)


@contextlib.contextmanager
def captured_output():
    """Keep a generator's own chatter (Bengal logs to stdout) off the tool's terminal.

    Python-level streams are swapped, and fd 1 too, for writers that cached the real stdout;
    not fd 1 in a sub-interpreter worker (`sys._pc_subinterpreter`, set by its bootstrap): fd 1
    is the process's, which several workers would swap and restore at once, leaving it on
    /dev/null for good, and its streams went to a buffer before anything was imported there.
    """
    buffer = io.StringIO()
    sys.stdout.flush()
    if getattr(sys, "_pc_subinterpreter", False):
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
        return
    saved_fd = os.dup(1)
    sink = open(os.devnull, "w")
    os.dup2(sink.fileno(), 1)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        sys.stdout.flush()
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        sink.close()


@contextlib.contextmanager
def working_directory(path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def even_sample(items, n):
    """At most `n` evenly spaced items, in order, first and last included; (items, sampled)."""
    items = list(items)
    if not n or n <= 0 or n >= len(items):
        return items, False
    if n == 1:
        return [items[0]], True
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)], True


def stratified_sample(keys, n):
    """At most `n` indices into `keys` (sortable strata such as (directory, content length)),
    evenly spaced over the items sorted by key, so every directory and size class is
    represented in proportion; returned in index order. The same rule as analyze's sampling."""
    order = sorted(range(len(keys)), key=lambda i: (keys[i], i))
    if not n or n <= 0 or n >= len(order):
        return sorted(order), False
    m = len(order)
    return sorted(order[((2 * j + 1) * m) // (2 * n)] for j in range(n)), True


@contextlib.contextmanager
def quiet_loggers(*names):
    """Route the named `logging` loggers (and the root logger's last resort) into whatever
    `sys.stderr` is now (inside `captured_output()`, its buffer): a generator's handlers keep the
    stream they were given, so theirs are swapped out meanwhile, and restored afterwards."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    saved = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers[:] = [handler]
        logger.propagate = False
    last_resort = logging.lastResort
    logging.lastResort = handler
    try:
        yield
    finally:
        logging.lastResort = last_resort
        for logger, handlers, propagate in saved:
            logger.handlers[:] = handlers
            logger.propagate = propagate


def installed_version(distribution, module):
    """`distribution`'s installed version (its module's __version__ as a fallback)."""
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except Exception:  # noqa: BLE001
        return getattr(module, "__version__", None) or "unknown"

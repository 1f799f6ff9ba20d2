"""The signal tests' --loader project (tests/cli/signals.rs, scripts/bench signals): blocks in the
phase SIGTEST_PHASE names and says so by creating the file SIGTEST_READY (outside the site).

load: the load itself; measuring: a page's __reduce_ex__ called by the measuring loop;
diagnose: one called from the explanations; transports: a page unpickled in a worker;
forkserver: a page unpickled in a worker a forkserver forked (its parent is not the tool);
render: the render cost (given to the custom adapter for this); scale: render(page) in a
worker; imports: this module imported in a sub-interpreter by the tool's main thread.
"""
import os
import sys
import threading
import time

PHASE = os.environ.get("SIGTEST_PHASE", "")
EXPLAIN = tuple("<picklecost>/picklecost/%s.py" % m
                for m in ("walk", "attribution", "explain", "repair"))


def block(where):
    """Say where (the file appears whole: written aside, then renamed), then block."""
    path = os.environ.get("SIGTEST_READY")
    if not os.path.exists(path):
        aside = "%s.%d" % (path, os.getpid())
        with open(aside, "w") as f:
            f.write("%s %d" % (where, os.getpid()))
        os.rename(aside, path)
    while True:
        time.sleep(0.02)


def in_worker():
    """A thread, sub-interpreter or process other than the tool's main one."""
    if os.getpid() != int(os.environ.get("SIGTEST_TOOL_PID", os.getpid())):
        return True
    if threading.current_thread() is not threading.main_thread():
        return True
    return in_subinterpreter()


def in_forkserver_worker():
    """A process whose parent is not the tool: forked by multiprocessing's forkserver."""
    tool = os.environ.get("SIGTEST_TOOL_PID")
    return tool is not None and os.getpid() != int(tool) and os.getppid() != int(tool)


def in_subinterpreter():
    try:
        import _interpreters
    except ImportError:
        return False
    return _interpreters.get_current()[0] != _interpreters.get_main()[0]


def in_explain():
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith(EXPLAIN):
            return True
        frame = frame.f_back
    return False


def restore(n, body):
    if PHASE == "transports" and in_worker():
        block("transports")
    if PHASE == "forkserver" and in_forkserver_worker():
        block("forkserver")
    return Page(n, body)


class Page:
    def __init__(self, n, body):
        self.n = n
        self.source_path = "p%d.md" % n
        self.content = body

    def __reduce_ex__(self, protocol):
        if PHASE == "diagnose" and in_explain():
            block("diagnose")
        if PHASE == "measuring" and not in_worker() and not in_explain():
            block("measuring")
        return (restore, (self.n, self.content))


class Site:
    def __init__(self, root):
        self.root = str(root)
        self.pages = [Page(n, "page %d " % n * 200) for n in range(4)]


def render(page):
    if PHASE == "scale" and in_worker():
        block("scale")
    return "<p>%s</p>" % page.content


def load(root, stage="discovered"):
    if PHASE == "load":
        block("load")
    os.environ.setdefault("SIGTEST_TOOL_PID", str(os.getpid()))
    if PHASE == "render":
        give_render_cost()
    return Site(root)


def give_render_cost():
    """The custom adapter has no render cost; for this phase it is given one, so that the tool
    reaches it (with its worker pools up)."""
    from picklecost.generators.custom import Custom

    def render_cost(self, site, pages, sample, workdir):
        block("render")

    Custom.render_cost = render_cost


# The tool's main thread imports the render entry points in a sub-interpreter (whether one
# refuses them), where the main interpreter's signal handler cannot run.
if PHASE == "imports" and in_subinterpreter():
    block("imports")

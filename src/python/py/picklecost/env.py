"""Facts about the running interpreter, for the report's environment section."""

import os
import platform
import sys
import sysconfig

from . import workers


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe():
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    gil_check = getattr(sys, "_is_gil_enabled", None)
    gil_enabled = gil_check() if gil_check is not None else True
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": sys.version.replace("\n", " "),
        "free_threaded": free_threaded,
        "gil_enabled": gil_enabled,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count() or 1,
        "platform": platform.platform(),
        # How this Python's ProcessPoolExecutor() starts workers (read before any worker starts).
        "default_start_method": workers.default_start_method(),
    }


def flush_streams():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or replaced stream must not stop the exit
            pass


def quiet_interrupts_in_callbacks():
    """Once the tool's signal handler has raised KeyboardInterrupt (and recorded the signal in
    `sys._picklecost_interrupted`), the exception can land in code Python cannot propagate it from
    (a weakref callback, a `__del__`), and Python would print "Exception ignored ..." with a
    traceback. The run is stopping anyway and says so in its one `error:` line: drop those only.
    Warnings raised while it stops are dropped too: the interrupt itself causes them (multiprocessing
    finding its resource tracker gone while the workers are ended says "process died
    unexpectedly, relaunching"), and they would stand beside that one line."""
    import warnings

    previous = sys.unraisablehook
    show = warnings.showwarning

    def interrupted():
        return bool(getattr(sys, "_picklecost_interrupted", 0))

    def hook(unraisable):
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and interrupted():
            return
        previous(unraisable)

    def showwarning(*args, **kwargs):
        if not interrupted():
            show(*args, **kwargs)

    sys.unraisablehook = hook
    warnings.showwarning = showwarning

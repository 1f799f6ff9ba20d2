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

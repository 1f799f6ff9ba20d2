"""Start a command as a terminal would (SIGINT at its default) and send it a signal: SIGINT
(Ctrl-C, to the process alone, as `timeout -s INT` does), or the signal named by
PICKLECOST_TEST_SIGNAL (e.g. TERM, as `kill` and `timeout` send).

usage: interrupt.py DELAY CMD...         the signal DELAY seconds after the start
       interrupt.py --ready PATH CMD...  the signal as soon as a file matching PATH (a glob
                                         pattern) exists: the command creates it once it reached
                                         the phase to interrupt

The command gets 30 s to end after the signal; one still running then is killed (rc -9) and
reported with "stuck": true.

prints RESULT {"rc", "stderr", "pid", "reached", "stuck", "seconds_to_exit"}: `reached` is False when the
command ended (or 120 s passed) before PATH appeared; it was then signalled (if still running)
all the same, and `seconds_to_exit` is the time from the signal to its exit.
"""
import glob
import json
import os
import signal
import subprocess
import sys
import time

WAIT_FOR_READY = 120.0  # seconds; the phase is normally reached in well under one


def wait_for(path, proc):
    """True once `path` exists; False when `proc` ended first or the wait ran out."""
    deadline = time.monotonic() + WAIT_FOR_READY
    while not glob.glob(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def main(argv):
    if argv[0] == "--ready":
        ready, cmd = argv[1], argv[2:]
    else:
        ready, cmd = None, argv[1:]
    signo = getattr(signal, "SIG" + os.environ.get("PICKLECOST_TEST_SIGNAL", "INT"))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    if ready is None:
        time.sleep(float(argv[0]))
        reached = True
    else:
        reached = wait_for(ready, proc)
    if proc.poll() is None:
        proc.send_signal(signo)
    sent = time.perf_counter()
    try:
        _, err = proc.communicate(timeout=30)
        stuck = False
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        stuck = True
    print("RESULT " + json.dumps({"rc": proc.returncode, "stderr": err.decode("utf-8", "replace"),
                                  "pid": proc.pid, "reached": reached, "stuck": stuck,
                                  "seconds_to_exit": time.perf_counter() - sent}))


main(sys.argv[1:])

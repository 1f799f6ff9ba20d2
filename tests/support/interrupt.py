"""Start a command as a terminal would (SIGINT at its default), send it a signal after DELAY
seconds: SIGINT (Ctrl-C, to the process alone, as `timeout -s INT` does), or the signal named by
PICKLECOST_TEST_SIGNAL (e.g. TERM, as `kill` and `timeout` send).

usage: interrupt.py DELAY CMD...   prints RESULT {"rc", "stderr", "pid", "seconds_to_exit"}
"""
import json
import os
import signal
import subprocess
import sys
import time

delay, cmd = float(sys.argv[1]), sys.argv[2:]
signo = getattr(signal, "SIG" + os.environ.get("PICKLECOST_TEST_SIGNAL", "INT"))
proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
time.sleep(delay)
proc.send_signal(signo)
sent = time.perf_counter()
_, err = proc.communicate(timeout=120)
print("RESULT " + json.dumps({"rc": proc.returncode, "stderr": err.decode("utf-8", "replace"),
                              "pid": proc.pid, "seconds_to_exit": time.perf_counter() - sent}))

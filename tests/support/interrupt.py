"""Start a command as a terminal would (SIGINT at its default), press Ctrl-C after DELAY seconds.

usage: interrupt.py DELAY CMD...   prints RESULT {"rc", "stderr"}
"""
import json
import signal
import subprocess
import sys
import time

delay, cmd = float(sys.argv[1]), sys.argv[2:]
proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
time.sleep(delay)
proc.send_signal(signal.SIGINT)
_, err = proc.communicate(timeout=120)
print("RESULT " + json.dumps({"rc": proc.returncode, "stderr": err.decode("utf-8", "replace")}))

"""The wheel, installed: put ONE picklecost wheel file into a fresh venv of the Python running this
script, with the generator version installed beside this Python, and run the tool from there.

    python -B tests/wheel/check.py --wheel target/wheels/picklecost-*-abi3-*.whl \
        --venv target/wheel-venvs/py313 --suite "wheel, Python 3.13" [--binary target/release/picklecost]

Checks (each one passed or failed in the test summary's log, PICKLECOST_SKIP_LOG):
- `picklecost --version` says the wheel's version;
- `picklecost analyze samples/tiny-blog` exits 0, writes report.md, and results.json names the
  venv's Python (version, executable) found as the running interpreter;
- `python -m picklecost analyze <missing site>` exits 1 with one `error:` line, the standalone
  binary's line and status when --binary is given;
- `picklecost analyze --python <another interpreter>` exits 1 with one `error:` line that says how
  to install picklecost there; naming an environment where it is installed runs it there;
- Ctrl-C at `--interrupts` moments spread over a `picklecost analyze` run (start-up, load,
  measure, the transports' forks): each exits 130 with exactly one `error:` line (no "Fatal
  Python error", no traceback), leaves no report directory and no worker of its process group.
Exit status: 0 only when every check passed. The venv is made anew each run.
"""
import argparse
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import summary  # noqa: E402  (tests/summary.py)

SAMPLE = os.path.join(ROOT, "samples", "tiny-blog")


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kwargs)


def install(venv, wheel):
    """A fresh venv with the wheel and this Python's own generator version; seconds it took."""
    shutil.rmtree(venv, ignore_errors=True)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    bengal = "bengal==%s" % importlib.metadata.version("bengal")
    subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", wheel, bengal], check=True)
    return time.monotonic() - started


def wheel_version(wheel):
    return os.path.basename(wheel).split("-")[1]


def check_version(venv, wheel):
    done = run([os.path.join(venv, "bin", "picklecost"), "--version"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "picklecost %s" % wheel_version(wheel), done.stdout


def check_analyze(venv, out):
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    done = run([os.path.join(venv, "bin", "picklecost"), "analyze", SAMPLE, "--out", out, "--quiet"])
    seconds = time.monotonic() - started
    assert done.returncode == 0, "exit %d: %s" % (done.returncode, done.stderr[-2000:])
    assert os.path.getsize(os.path.join(out, "report.md")) > 0
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        python = json.load(f)["python"]
    python_in_venv = os.path.join(os.path.abspath(venv), "bin", "python")
    venv_version = run([python_in_venv, "-c", "import platform; print(platform.python_version())"])
    assert python["version"] == venv_version.stdout.strip(), (python["version"], venv_version.stdout)
    assert python["executable"] == python_in_venv, python["executable"]
    assert python["environment_found_by"] == "the running interpreter", python
    print("wheel check: analyze of %s in %s took %.2f s" % (SAMPLE, venv, seconds))
    return seconds


def error_line(done):
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def check_bad_site(venv, binary):
    args = ["analyze", os.path.join(ROOT, "target", "no-such-site"), "--out",
            os.path.join(ROOT, "target", "tmp-out", "wheel-bad")]
    done = run([os.path.join(venv, "bin", "python"), "-m", "picklecost", *args])
    assert done.returncode == 1, done.returncode
    line = error_line(done)
    assert "no-such-site does not exist" in line, line
    if binary:
        standalone = run([binary, *args])
        assert (standalone.returncode, error_line(standalone)) == (1, line), standalone.stderr


def check_other_python(venv):
    other = sys.executable  # this script's own environment, not the fresh venv
    done = run([os.path.join(venv, "bin", "picklecost"), "analyze", SAMPLE, "--python", other,
                "--out", os.path.join(ROOT, "target", "tmp-out", "wheel-other")])
    assert done.returncode == 1, done.returncode
    line = error_line(done)
    assert "%s -m pip install picklecost" % other in line, line


def check_run_there(venv, wheel, out):
    """`--python` naming another environment where picklecost is installed: the run happens
    there (exit 0, results.json names that environment's Python), started from a second venv
    that has the wheel but not the generator."""
    hop = venv + "-hop"
    shutil.rmtree(hop, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", hop], check=True)
    subprocess.run([os.path.join(hop, "bin", "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", wheel], check=True)
    there = os.path.join(venv, "bin", "python")
    done = run([os.path.join(hop, "bin", "picklecost"), "analyze", SAMPLE, "--python", there,
                "--out", out, "--quiet", "--no-transports"])
    assert done.returncode == 0, "exit %d: %s" % (done.returncode, done.stderr[-2000:])
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        python = json.load(f)["python"]
    assert python["executable"] == there, python["executable"]
    shutil.rmtree(hop, ignore_errors=True)


def check_interrupt(venv, delay):
    """SIGINT `delay` seconds into a run: exit 130, exactly one `error:` line (no "Fatal Python
    error", no traceback, no "Exception ignored"), no report directory left, no worker of its
    process group left. True: it was interrupted; False: it had finished (exit 0, report whole)."""
    out = os.path.join(ROOT, "target", "tmp-out", "wheel-sigint-" + os.path.basename(venv))
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.Popen([os.path.join(venv, "bin", "picklecost"), "analyze", SAMPLE, "--out", out,
                             "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    if proc.returncode == 0 and not stderr:
        # The signal came after the run's last step (a loaded machine): a finished run, which
        # must be whole. Not counted as an interrupt.
        assert os.path.getsize(os.path.join(out, "report.md")) > 0, out
        return False
    assert proc.returncode == 130, (delay, proc.returncode, stderr[-2000:])
    lines = stderr.splitlines()
    assert lines == ["error: interrupted by SIGINT; the run stopped and wrote no report"], (delay, stderr)
    assert not os.path.exists(out), out
    deadline = time.monotonic() + 5
    while in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # killed workers may take a moment to be reaped
    assert not in_group(proc.pid), ("workers left running", delay, in_group(proc.pid))
    return True


def in_group(pgid):
    """Live processes of the process group `pgid` (the run's own session: its workers)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % entry, encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            found.append(int(entry))
    return found


def interrupt_delays(count, run_seconds):
    """`count` moments spread over the first 60% of a run of `run_seconds`: each phase
    (start-up, load, measure, the transports' spawns and forks) gets some signals."""
    span = max(run_seconds * 0.6 - 0.1, 0.2)
    return [0.1 + span * i / max(count - 1, 1) for i in range(count)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", required=True)
    parser.add_argument("--venv", required=True)
    parser.add_argument("--suite", required=True, help="the suite's name in the summary")
    parser.add_argument("--binary", help="the standalone binary, for the same error line")
    parser.add_argument("--interrupts", type=int, default=3,
                        help="Ctrl-C checks, at moments spread over a run (default 3)")
    args = parser.parse_args()
    venv = os.path.abspath(args.venv)
    out = os.path.join(ROOT, "target", "tmp-out", "wheel-" + os.path.basename(venv))
    run_seconds = []
    checks = [
        ("--version", lambda: check_version(venv, args.wheel)),
        ("analyze the tiny blog", lambda: run_seconds.append(check_analyze(venv, out))),
        ("bad site: error line", lambda: check_bad_site(venv, args.binary)),
        ("--python elsewhere: error line", lambda: check_other_python(venv)),
        ("--python where it is installed: runs there",
         lambda: check_run_there(venv, os.path.abspath(args.wheel), out + "-there")),
    ]
    try:
        seconds = install(venv, os.path.abspath(args.wheel))
        print("wheel check: %s and its generator installed in %s in %.2f s"
              % (os.path.basename(args.wheel), venv, seconds))
    except subprocess.CalledProcessError as err:
        print("wheel check: installing failed: %s" % err, file=sys.stderr)
        summary.record("failed", args.suite, len(checks) + args.interrupts)
        return 1
    failed = run_checks(checks)
    # The Ctrl-C checks need the run's length: without a finished run, a 10 s run is assumed.
    # A signal that came after the run's last step leaves a finished run (checked whole); at
    # least half of them must have interrupted a run.
    interrupted = []
    for delay in interrupt_delays(args.interrupts, (run_seconds or [10.0])[0]):
        failed += run_checks([("Ctrl-C %.2f s in: 130 and one error line" % delay,
                               lambda delay=delay: interrupted.append(check_interrupt(venv, delay)))])
    print("wheel check: %d of %d Ctrl-C runs interrupted (the rest had finished)"
          % (sum(interrupted), len(interrupted)))
    passed = len(checks) + args.interrupts - failed
    if 2 * sum(interrupted) < args.interrupts:
        failed += 1
        print("wheel check: FAILED: fewer than half the Ctrl-C runs were interrupted", file=sys.stderr)
    summary.record("passed", args.suite, passed)
    if failed:
        summary.record("failed", args.suite, failed)
    return 1 if failed else 0


def run_checks(checks):
    """Run each check, say how it went; the number that failed."""
    failed = 0
    for name, check in checks:
        try:
            check()
            print("wheel check: ok: %s" % name, flush=True)
        except Exception as err:  # a missing file, bad JSON: the check failed, the rest still run
            failed += 1
            print("wheel check: FAILED: %s: %r" % (name, err), file=sys.stderr, flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())

import glob
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY_DIR = os.path.join(ROOT, "src", "python", "py")
sys.path.insert(0, PY_DIR)
# The project's own Bengal sample site: every clone has it.
SAMPLE_SITE = os.path.join(ROOT, "samples", "tiny-blog")
# The reason a test of the real Bengal showcase beside the project gives when it is not there.
SHARED_SITES_MISSING = "../shared/sites not found"

NO_OLD_PYTHON = "no usable Python 3.11 or 3.12 here (scripts/test provides one as PICKLECOST_OLD_PYTHON)"


def old_pythons():
    """{"3.12": path} for the Python without per-interpreter queues that scripts/test provides
    (PICKLECOST_OLD_PYTHON), else for the first one found where scripts/test looks (python3.12,
    pyenv's 3.12, python3.11, pyenv's 3.11); {} when there is none."""
    given = os.environ.get("PICKLECOST_OLD_PYTHON")
    home = os.path.expanduser("~")
    candidates = [given] if given else [
        shutil.which("python3.12"), *sorted(glob.glob(home + "/.pyenv/versions/3.12*/bin/python3.12")),
        shutil.which("python3.11"), *sorted(glob.glob(home + "/.pyenv/versions/3.11*/bin/python3.11"))]
    for candidate in filter(None, candidates):
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); "
                                  "sys.exit(not (3, 9) <= sys.version_info < (3, 13))"],
                capture_output=True, text=True, timeout=60)
        except OSError:
            continue
        if out.returncode == 0:
            return {out.stdout.strip(): candidate}
    return {}

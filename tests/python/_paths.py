import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY_DIR = os.path.join(ROOT, "src", "python", "py")
sys.path.insert(0, PY_DIR)
# The project's own Bengal sample site: every clone has it.
SAMPLE_SITE = os.path.join(ROOT, "samples", "tiny-blog")

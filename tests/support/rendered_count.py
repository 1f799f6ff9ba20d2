"""Bengal's own page count after a full build of a copy of SITE_DIR (for the rendered stage)."""
import os
import pathlib
import shutil
import sys
import tempfile
import warnings

warnings.simplefilter("ignore")

from bengal.core.site import Site

with tempfile.TemporaryDirectory() as tmp:
    copy = pathlib.Path(tmp) / "site"
    shutil.copytree(sys.argv[1], copy)
    os.chdir(copy)
    site = Site.from_config(copy)
    try:  # Bengal 0.5
        from bengal.orchestration.build.options import BuildOptions
    except ImportError:  # Bengal 0.1
        site.build(parallel=False, incremental=False, quiet=True)
    else:
        site.build(BuildOptions(force_sequential=True, incremental=False, quiet=True))
    count = len(site.pages)
    os.chdir("/")
sys.stdout.flush()
print("RESULT %d" % count)

"""Generator adapters: which generator a directory belongs to, and loading it.

A new generator is one module here with an `Adapter` subclass, plus its line in `ADAPTERS`.
Supported versions come from what the installed package offers, never from version pins.
"""

import time

from .. import limits, sitecopy
from ..util import LoadError, captured_output
from .base import Adapter  # noqa: F401 - the adapters' interface
from .bengal import Bengal
from .custom import Custom
from .mkdocs import MkDocs
from .pelican import Pelican
from .sphinx import Sphinx

ADAPTERS = [Bengal(), Pelican(), MkDocs(), Sphinx()]


class Loaded:
    """A loaded site: the root object, its pages, and the adapter that knows them."""

    def __init__(self, adapter, site, pages, version, stage, build_root, log, seconds, site_copy):
        self.adapter = adapter
        self.site_copy = site_copy
        self.site = site
        self.pages = pages
        self.generator = adapter.name
        self.generator_version = version
        self.stage = stage
        self.stage_method = adapter.stage_method(stage, build_root)
        self.build_root = build_root
        self.log = log
        self.seconds = seconds


def detect(root, generator=None):
    """The adapter whose sites look like `root` (or the one named `generator`), or LoadError."""
    names = [a.name for a in ADAPTERS]
    if generator is not None:
        for adapter in ADAPTERS:
            if adapter.name == generator:
                return adapter
        raise LoadError("--generator %r is not one picklecost knows; choose one of %s"
                        % (generator, ", ".join(names)))
    claiming = [a for a in ADAPTERS if a.detect(root)]
    if len(claiming) > 1:
        raise LoadError("%s looks like a site of several generators (%s); choose one with "
                        "--generator NAME" % (root, ", ".join(a.name for a in claiming)))
    if claiming:
        return claiming[0]
    raise LoadError(
        "%s is not a site picklecost recognizes (%s); pass --generator NAME or "
        "--loader module:function to load it yourself"
        % (root, "; ".join(a.what_it_looks_for() for a in ADAPTERS)))


def load(root, stage, loader, workdir, generator=None, copy_bases=None,
         load_seconds=limits.DEFAULT_LOAD_SECONDS):
    """Detect the generator on the site itself (reading only), then load a private copy of it
    (`sitecopy`): no generator code ever runs against the site directory. The generator's (or
    loader's) part may take `load_seconds` (`--load-limit`); a site without pages is a LoadError
    (nothing to measure)."""
    started = time.perf_counter()
    adapter = Custom(loader) if loader else detect(root, generator)
    site_copy = private_copy(root, copy_bases or [workdir])
    copy = site_copy.copy
    try:
        with captured_output() as log, limits.time_limit(load_seconds, "loading"):
            if loader:
                site, pages, build_root = adapter.load(copy, stage, workdir)
                version = adapter.version(copy)
            else:
                version = adapter.version(copy)
                site, pages, build_root = adapter.load(copy, stage, workdir)
    except LoadError as exc:
        # The generator ran on the copy: the user knows the site by its own path.
        raise LoadError(site_copy.real_path(str(exc))) from None
    except limits.TimeLimit:
        raise LoadError(
            "%s did not finish loading %s within --load-limit %s s and was stopped; if the site "
            "takes longer to load, raise the limit with --load-limit SECONDS"
            % (loader_words(adapter, loader), root, limits.seconds_text(load_seconds)))
    if not pages:
        raise LoadError(
            "%s found no pages in %s: there is nothing to measure; check that the site has "
            "content%s" % (loader_words(adapter, loader), root,
                           " and that the function returns its pages" if loader else ""))
    adapter.roots = tuple(r for r in (build_root, copy, site_copy.root) if r)
    return Loaded(adapter, site, pages, version, stage, build_root, log.getvalue(),
                  time.perf_counter() - started, site_copy)


def loader_words(adapter, loader):
    """Who loads the site, as the error lines name it."""
    return "--loader %s" % loader if loader else "the %s adapter" % adapter.name


def private_copy(root, bases):
    try:
        return sitecopy.make(root, bases)
    except OSError as exc:
        raise LoadError("could not copy the site into the scratch directory %s (%s); picklecost "
                        "runs the generator on a copy so that the site stays untouched: free "
                        "space there or set TMPDIR to a roomier place" % (bases[-1], exc))

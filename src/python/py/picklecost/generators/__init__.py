"""Generator adapters: which generator a directory belongs to, and loading it.

A new generator is one module here with an `Adapter` subclass, plus its line in `ADAPTERS`.
Supported versions come from what the installed package offers, never from version pins.
"""

import time

from ..util import LoadError, captured_output
from .base import Adapter  # noqa: F401 - the adapters' interface
from .bengal import Bengal
from .custom import Custom

ADAPTERS = [Bengal()]


class Loaded:
    """A loaded site: the root object, its pages, and the adapter that knows them."""

    def __init__(self, adapter, site, pages, version, stage, build_root, log, seconds):
        self.adapter = adapter
        self.site = site
        self.pages = pages
        self.generator = adapter.name
        self.generator_version = version
        self.stage = stage
        self.stage_method = adapter.stage_method(stage, build_root)
        self.build_root = build_root
        self.log = log
        self.seconds = seconds


def detect(root):
    """The adapter whose sites look like `root`, or LoadError."""
    for adapter in ADAPTERS:
        if adapter.detect(root):
            return adapter
    raise LoadError(
        "%s is not a site picklecost recognizes (no bengal.toml, bengal.yaml or config/_default/); "
        "pass --loader module:function to load it yourself" % root)


def load(root, stage, loader, workdir):
    started = time.perf_counter()
    adapter = Custom(loader) if loader else detect(root)
    with captured_output() as log:
        if loader:
            site, pages, build_root = adapter.load(root, stage, workdir)
            version = adapter.version(root)
        else:
            version = adapter.version(root)
            site, pages, build_root = adapter.load(root, stage, workdir)
    return Loaded(adapter, site, pages, version, stage, build_root, log.getvalue(),
                  time.perf_counter() - started)

"""Serve the embedded `picklecost` package from memory: a meta-path finder over {name: source}.

Run once by the binary with `SOURCES` ({dotted name: (source, is_package)}) in its globals.
Nothing touches the disk, so no bytecode is written anywhere.
"""

import importlib.abc
import importlib.util
import sys


class EmbeddedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, sources):
        self.sources = sources

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.sources:
            return None
        _, is_package = self.sources[fullname]
        spec = importlib.util.spec_from_loader(fullname, self, is_package=is_package,
                                               origin="<picklecost>/%s" % fullname)
        if is_package:
            spec.submodule_search_locations = []
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source, _ = self.sources[module.__name__]
        code = compile(source, "<picklecost>/%s.py" % module.__name__.replace(".", "/"), "exec")
        exec(code, module.__dict__)

    def get_source(self, fullname):
        return self.sources[fullname][0]


if not any(isinstance(f, EmbeddedFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, EmbeddedFinder(SOURCES))  # noqa: F821 - given by the binary

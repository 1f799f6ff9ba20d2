"""`--loader module:function`: the user's own function loads the graph.

The module is imported with the site directory first on `sys.path` (no bytecode written) and
`function(pathlib.Path(DIR))` returns the site (pages in `site.pages`) or `(site, pages)`. With
`--stage rendered` the function is called on a copy of the site outside it, with
`stage="rendered"`, and must accept that keyword (a function without it is called for the
`discovered` stage only, without the keyword).

A module that offers `make_variant(root, dest, factor)` (a copy of the site at `dest` with about
`factor` times its pages) can be used with `--growth`.

A module that offers `render(page) -> str` gets a render cost (each page's HTML written under the
run's work directory) and the `scale` render workload.
"""

import importlib
import inspect
import os
import random
import shutil
import sys
from pathlib import Path

from .. import readproof, readset
from ..util import LoadError, captured_output, describe, even_sample
from .base import Adapter, past_render_deadline, time_renders


def _split_spec(spec):
    module, sep, function = spec.partition(":")
    if not sep or not module or not function:
        raise LoadError("--loader must look like module:function, got %r" % spec)
    return module, function


def _accepts_stage(function):
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "stage" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


class Custom(Adapter):
    def __init__(self, spec):
        self.spec = spec
        self.module_name, self.function_name = _split_spec(spec)
        self.name = "custom:" + spec

    def version(self, root):
        module = sys.modules.get(self.module_name.split(".")[0])
        return getattr(module, "__version__", None) or "unknown"

    def _function(self, root):
        sys.dont_write_bytecode = True
        sys.path.insert(0, str(root))
        name = self.module_name
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                raise LoadError("--loader module %r not found in %s or the Python environment" % (name, root))
            raise LoadError("importing --loader module %r failed: %s" % (name, describe(exc)))
        except Exception as exc:
            raise LoadError("importing --loader module %r failed: %s" % (name, describe(exc)))
        function = getattr(module, self.function_name, None)
        if not callable(function):
            raise LoadError("--loader module %r has no function %r" % (name, self.function_name))
        return function

    def load(self, root, stage, workdir):
        self.root = str(root)
        function = self._function(root)
        build_root = None
        target = Path(root)
        kwargs = {}
        if _accepts_stage(function):
            kwargs["stage"] = stage
        elif stage != "discovered":
            raise LoadError(
                "--loader %s cannot load the %s stage: give the function a `stage` keyword "
                "parameter (it is called with stage=%r on a copy of the site), or use "
                "--stage discovered" % (self.spec, stage, stage))
        if stage == "rendered":
            build_root = Path(workdir) / "site"
            shutil.copytree(root, build_root, symlinks=True)
            target = build_root
        try:
            result = function(target, **kwargs)
        except LoadError:
            raise
        except Exception as exc:
            raise LoadError("--loader %s raised %s" % (self.spec, describe(exc)))
        if isinstance(result, tuple) and len(result) == 2:
            site, pages = result
        else:
            site = result
            pages = getattr(site, "pages", None)
            if pages is None:
                raise LoadError(
                    "--loader %s returned a %s without a `pages` attribute; return (site, pages) instead"
                    % (self.spec, type(site).__qualname__))
        try:
            pages = list(pages)
        except TypeError:
            raise LoadError("--loader %s: pages is not iterable (%s)" % (self.spec, type(pages).__qualname__))
        return site, pages, str(build_root) if build_root else None

    def stage_method(self, stage, build_root):
        where = " on a temporary copy of the site (removed afterwards)" if build_root else ""
        return "`%s`: the object graph returned by the --loader function `%s`%s" % (stage, self.spec, where)

    # --- growth: a loader module may offer `make_variant(root, dest, factor)` -------------------

    def make_variant(self, root, dest, factor):
        """The loader module's own `make_variant(root, dest, factor)`: a copy of the site at
        `dest` with about `factor` times its pages (root is read, never written)."""
        make = getattr(sys.modules.get(self.module_name), "make_variant", None)
        if not callable(make):
            raise LoadError(
                "--growth with --loader %s needs make_variant(root, dest, factor) in module %r: "
                "a copy of the site at dest with about factor times its pages"
                % (self.spec, self.module_name))
        try:
            with captured_output():
                make(str(root), str(dest), factor)
        except Exception as exc:
            raise LoadError("--loader module %r: make_variant raised %s" % (self.module_name, describe(exc)))
        return str(dest)

    # --- scale: a loader module may offer `render(page) -> str` ---------------------------------

    def _render_function(self):
        module = sys.modules.get(self.module_name)
        if module is None:
            root = getattr(self, "root", None)
            if root and root not in sys.path:
                sys.path.insert(0, root)
            sys.dont_write_bytecode = True
            module = importlib.import_module(self.module_name)
        return getattr(module, "render", None)

    def render_cost(self, site, pages, sample, workdir):
        render = self._render_function()
        if not callable(render):
            return super().render_cost(site, pages, sample, workdir)
        os.makedirs(workdir, exist_ok=True)
        chosen, sampled = even_sample(pages, sample)
        number = {id(page): n for n, page in enumerate(chosen)}

        def render_and_write(page):
            html = render(page)
            with open(os.path.join(workdir, "%06d.html" % number[id(page)]), "w",
                      encoding="utf-8", errors="surrogateescape") as out:
                out.write(html if isinstance(html, str) else str(html))

        htmls = {}

        def render_and_keep(page):
            random.seed(readset.SEED)  # the traced render replays the same random picks
            render_and_write(page)

        with captured_output():
            result = time_renders(
                chosen, sampled, render_and_keep, self.page_key, warmup=chosen[:1],
                method="`%s.render(page)` of the --loader module per page, its HTML written "
                       "under the work directory; sequential; timed after an untimed warm-up "
                       "render of the first page" % self.module_name)
            if readset.TRACING:
                result["read_set"] = self._trace_reads(site, pages, chosen, render, workdir,
                                                       number)
        return result

    def _trace_reads(self, site, pages, chosen, render, workdir, number):
        """The read set of the pages rendered: each rendered once more, untimed, with the page
        behind a recording proxy (`readset`), its HTML compared with the timed render's."""
        trace = readset.Trace(site, pages)
        done = [p for p in chosen
                if os.path.exists(os.path.join(workdir, "%06d.html" % number[id(p)]))]

        def real(page):
            with open(os.path.join(workdir, "%06d.html" % number[id(page)]),
                      encoding="utf-8", errors="surrogateescape") as f:
                return f.read()

        def traced(page):
            html = trace.render(page, render, lambda: "render(page)")
            return html if isinstance(html, str) else str(html)

        out = readset.traced_renders(trace, done, real, traced, past_render_deadline)
        readproof.prove_or_say(out, done, site, real,
                               lambda page_in, site_in: _text(render(page_in)),
                               past_render_deadline)
        readset.name_pages(out, self.page_key, self.page_virtual)
        readset.name_pages(out["proof"], self.page_key, self.page_virtual)
        return out

    def renderer(self, site, workdir):
        render = self._render_function()
        if not callable(render):
            raise NotImplementedError(
                "--loader module %r has no render(page) function: offer one to measure rendering"
                % self.module_name)
        return _CustomRenderer(render)

    def renderer_method(self):
        return "`%s.render(page)` of the --loader module, per page" % self.module_name

    def worker_modules(self, site, pages):
        return [self.module_name] + [m for m in super().worker_modules(site, pages)
                                     if m != self.module_name]


class _CustomRenderer:
    def __init__(self, render):
        self._render = render

    def render(self, page):
        html = self._render(page)
        return html if isinstance(html, str) else str(html)

    def close(self):
        pass


def _text(html):
    return html if isinstance(html, str) else str(html)

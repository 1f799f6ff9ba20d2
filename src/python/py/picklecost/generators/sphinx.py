"""Sphinx, driven through its application object with the HTML builder:

- sites: a `conf.py` in the directory or in its `source/` (the sources are where conf.py is);
- the application: `sphinx.application.Sphinx(srcdir, confdir, outdir, doctreedir, "html",
  freshenv=True)` with the output and doctree directories in the work directory and Sphinx's
  status and warning streams captured; conf.py and extensions are run without writing bytecode;
- `discovered`: `app.builder.read()`: every source parsed, the build environment complete,
  the doctrees in memory (Sphinx's cache of the doctrees it has just read) and pickled under the
  work directory's doctree directory, as a build does before writing; nothing else is written;
- `rendered`: a real `app.build(force_all=True)` of a copy of the site in the work directory;
- root object: the application (`app`: config, registry, extensions, builder, env); the build
  environment `app.env` (what Sphinx itself pickles as `environment.pickle`) is offered beside it
  through `extra_roots()`;
- pages: one `types.SimpleNamespace` per document (stdlib container, so its own class drags
  nothing): `docname`, `source_path`, `source` (the source text as read from disk: Sphinx keeps
  only the doctree), `title` (plain text), `metadata` (`env.metadata[docname]`), `output_path`
  (the HTML builder's target URI) and `doctree` (the in-memory doctree after reading, the one
  `env.get_doctree()` loads after a build — which points back to the environment);
- default payload: `source_path`, `source`, `metadata` (plain data), `output_path`;
- render cost: what the HTML builder does per document when writing (Sphinx's
  `_write_docname`: `env.get_and_resolve_doctree(docname, builder)` — the doctree loaded from
  the doctree directory and its references resolved — then `write_doc_serialized` and
  `write_doc`), after `builder.prepare_writing(all docnames)`, output under the work directory.
  The in-memory doctree cache is set aside meanwhile, so the documents' doctrees stay as read.
"""

import os
import sys
import types
from pathlib import Path

from .. import payloads
from ..util import LoadError, captured_output, describe, even_sample, installed_version, quiet_loggers
from .base import Adapter, time_renders

LOGGERS = ("sphinx", "docutils", "myst_parser")


def _confdir(root):
    root = Path(root)
    for candidate in (root, root / "source"):
        if (candidate / "conf.py").is_file():
            return candidate
    return None


def _documents(app, stage):
    env, builder = app.env, app.builder
    cache = getattr(env, "_write_doc_doctree_cache", {}) or {}
    docs = []
    for docname in sorted(env.found_docs):
        doctree = cache.get(docname) if stage == "discovered" else None
        if doctree is None:
            doctree = env.get_doctree(docname)
        source_path = Path(env.doc2path(docname))
        try:
            source = source_path.read_text(encoding="utf-8")
        except OSError:
            source = None
        title = env.titles.get(docname)
        docs.append(types.SimpleNamespace(
            docname=docname,
            source_path=str(source_path),
            source=source,
            title=title.astext() if title is not None else None,
            metadata=dict(env.metadata.get(docname, {})),
            output_path=builder.get_target_uri(docname),
            doctree=doctree,
        ))
    return docs


class Sphinx(Adapter):
    name = "sphinx"
    plain_dict_fields = True

    def detect(self, root):
        return _confdir(root) is not None

    def what_it_looks_for(self):
        return "no conf.py or source/conf.py (Sphinx)"

    def version(self, root):
        try:
            import sphinx
            from sphinx.application import Sphinx as App  # noqa: F401 - what loading needs
        except ImportError as exc:
            raise LoadError(
                "%s is a Sphinx project but Sphinx is not installed in this Python environment "
                "(%s); install it there, e.g. `pip install sphinx` (and the extensions its "
                "conf.py names)" % (root, describe(exc)))
        return installed_version("sphinx", sphinx)

    def load(self, root, stage, workdir):
        self.scratch = str(workdir)
        from sphinx.application import Sphinx as App

        site_dir, build_root = self.site_for(root, stage, workdir)
        confdir = _confdir(site_dir)
        stream = sys.stderr  # captured_output's buffer: the log kept for the report
        dont_write = sys.dont_write_bytecode
        sys.dont_write_bytecode = True
        try:
            with quiet_loggers(*LOGGERS[1:]):
                app = App(str(confdir), str(confdir), str(Path(workdir) / "output"),
                          str(Path(workdir) / "doctrees"), "html", status=stream, warning=stream,
                          freshenv=True, parallel=0)
                if stage == "discovered":
                    app.builder.read()
                else:
                    app.build(force_all=True)
                docs = _documents(app, stage)
        except LoadError:
            raise
        except SystemExit as exc:
            raise LoadError("Sphinx could not load %s at stage %s: it exited (%s)" % (root, stage, exc))
        except Exception as exc:
            raise LoadError("Sphinx could not load %s at stage %s: %s" % (root, stage, describe(exc)))
        finally:
            sys.dont_write_bytecode = dont_write
        return app, docs, str(build_root) if build_root else None

    def stage_method(self, stage, build_root):
        if stage == "discovered":
            return ("`discovered`: `Sphinx(srcdir, confdir, <scratch>/output, <scratch>/doctrees, "
                    "'html', freshenv=True)` then `app.builder.read()`: every document parsed, the "
                    "environment complete and the doctrees in memory, before writing" + self.scratch_note())
        return ("`rendered`: a full `app.build(force_all=True)` with the HTML builder of a "
                "temporary copy of the site%s (output and doctrees in the work directory)"
                % (" at `%s` (removed afterwards)" % build_root if build_root else ""))

    def extra_roots(self, site):
        return {"env": site.env}

    def page_key(self, page):
        if self.page_virtual(page):
            return self.own_name(page) or payloads.page_key(page)
        return self.relative_or_own(getattr(page, "source_path", None), page)

    def own_name(self, page):
        name = getattr(page, "docname", None) or payloads.own_name(page)
        return str(name) if name else None

    def page_virtual(self, page):
        """A document with no source file (one an extension generates)."""
        source = getattr(page, "source_path", None)
        return not (source and os.path.isfile(source))

    def strata(self, pages):
        return [(self.page_key(p).rpartition("/")[0], len(getattr(p, "source", None) or ""))
                for p in pages]

    def default_fields(self, page):
        return ["source_path", "source", "metadata", "output_path"]

    def render_cost(self, site, pages, sample, workdir):
        from sphinx.builders import _write_docname

        app = site
        env, builder = app.env, app.builder
        chosen, sampled = even_sample(pages, sample)
        cache = env._write_doc_doctree_cache
        env._write_doc_doctree_cache = {}

        def render(page):
            _write_docname(page.docname, env=env, builder=builder, tags=builder.tags)

        try:
            with captured_output() as log, quiet_loggers(*LOGGERS[1:]):
                # Sphinx's own handlers write to the streams given at load: point them here.
                _retarget(app, log)
                builder.prepare_writing(set(env.found_docs))
                return time_renders(
                    chosen, sampled, render, self.page_label, warmup=chosen[:1],
                    method="sphinx.builders._write_docname(docname, env, builder) with the HTML "
                           "builder per document (the doctree loaded from the doctree directory, "
                           "references resolved, write_doc_serialized + write_doc), after "
                           "builder.prepare_writing(all docnames); sequential, output under the "
                           "work directory; timed after an untimed warm-up render of the first "
                           "document")
        finally:
            env._write_doc_doctree_cache = cache


def _retarget(app, stream):
    """Point Sphinx's status and warning output at `stream` (they keep the stream given to the
    application)."""
    app._status = stream
    app._warning = stream
    try:
        from sphinx.util import logging as sphinx_logging

        sphinx_logging.setup(app, stream, stream)
    except Exception:  # noqa: BLE001 - only the noise is at stake
        pass


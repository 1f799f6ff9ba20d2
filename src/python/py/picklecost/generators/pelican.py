"""Pelican (4.x), driven through its own classes:

- sites: a `pelicanconf.py` in the directory;
- settings: `pelican.settings.read_settings(pelicanconf.py, override=...)` with OUTPUT_PATH and
  CACHE_PATH in the work directory (and the content caches off), so nothing is written into the
  site; the configuration file is executed without writing bytecode;
- `discovered`: what `Pelican.run()` does before it makes a writer: every generator's
  `generate_context()` (which reads all content and sends the generator's `*_finalized`
  signal), `check_disabled_readers()`, the `all_generators_finalized` signal and
  `refresh_metadata_intersite_links()`; nothing is written;
- `rendered`: a real `Pelican(settings).run()` of a copy of the site in the work directory,
  output there too; the generators are caught from the `all_generators_finalized` signal;
- root object: a `types.SimpleNamespace(context=..., generators=[...])` — the context dict every
  generator and content object shares (settings, articles, pages, tags, categories...) and the
  generators themselves (which hold the Jinja environment); stdlib types only, so a worker needs
  Pelican alone to unpickle it;
- pages: the context's articles, hidden articles, translations, then pages, hidden pages,
  translations (`pelican.contents.Article` / `Page`);
- default payload: `source_path`, `_content` (the reader's HTML: Pelican keeps no raw source),
  `metadata` (as plain data: Category/Tag/Author objects become their names, dates ISO strings)
  and `save_as` (the output path relative to OUTPUT_PATH);
- render cost: what `ArticlesGenerator.generate_articles` / `PagesGenerator.generate_output` do
  per document: `Writer.write_file(doc.save_as, generator.get_template(doc.template),
  generator.context, article=/page=..., url=doc.url, relative_urls=...)`, i.e. the template
  render of one article with the full context, written under the work directory.
"""

import sys
import types
from pathlib import Path

from .. import payloads
from ..util import LoadError, captured_output, describe, even_sample, installed_version, quiet_loggers
from .base import Adapter, time_renders

CONFIG = "pelicanconf.py"
LOGGERS = ("pelican", "blinker", "markdown", "docutils")


def _settings(config, workdir):
    from pelican.settings import read_settings

    override = {
        "OUTPUT_PATH": str(Path(workdir) / "output"),
        "CACHE_PATH": str(Path(workdir) / "cache"),
        "CACHE_CONTENT": False,
        "LOAD_CONTENT_CACHE": False,
        "WRITE_SELECTED": [],
        "DELETE_OUTPUT_DIRECTORY": False,
    }
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        return read_settings(str(config), override=override)
    finally:
        sys.dont_write_bytecode = dont_write


def _documents(context, generators):
    from pelican.generators import ArticlesGenerator, PagesGenerator

    docs = []
    for gen in generators:
        if isinstance(gen, ArticlesGenerator):
            docs += gen.articles + gen.hidden_articles + gen.translations + gen.hidden_translations
    for gen in generators:
        if isinstance(gen, PagesGenerator):
            docs += gen.pages + gen.hidden_pages + gen.translations + gen.hidden_translations
    return docs


class Pelican(Adapter):
    name = "pelican"
    plain_dict_fields = True

    def detect(self, root):
        return (Path(root) / CONFIG).is_file()

    def what_it_looks_for(self):
        return "no pelicanconf.py (Pelican)"

    def version(self, root):
        try:
            import pelican
            from pelican.settings import read_settings  # noqa: F401 - what loading needs
        except ImportError as exc:
            raise LoadError(
                "%s is a Pelican site but Pelican is not installed in this Python environment "
                "(%s); install it there, e.g. `pip install pelican markdown`" % (root, describe(exc)))
        return installed_version("pelican", pelican)

    def load(self, root, stage, workdir):
        self.scratch = str(workdir)
        from pelican import Pelican as PelicanApp
        from pelican import signals

        site_dir, build_root = self.site_for(root, stage, workdir)
        with quiet_loggers(*LOGGERS):
            try:
                settings = _settings(site_dir / CONFIG, workdir)
                app = PelicanApp(settings)
                if stage == "discovered":
                    context, generators = _discover(app, settings)
                else:
                    caught = []

                    def catch(sender, **kwargs):
                        caught.append(sender)

                    signals.all_generators_finalized.connect(catch, weak=False)
                    try:
                        app.run()
                    finally:
                        signals.all_generators_finalized.disconnect(catch)
                    if not caught:
                        raise LoadError("Pelican built %s but sent no all_generators_finalized "
                                        "signal to catch its generators from" % root)
                    generators = list(caught[-1])
                    context = generators[0].context
            except LoadError:
                raise
            except Exception as exc:
                raise LoadError("Pelican could not load %s at stage %s: %s" % (root, stage, describe(exc)))
        site = types.SimpleNamespace(context=context, generators=generators)
        return site, _documents(context, generators), str(build_root) if build_root else None

    def stage_method(self, stage, build_root):
        if stage == "discovered":
            return ("`discovered`: `read_settings(pelicanconf.py)` with output and cache in a "
                    "scratch directory, then what `Pelican.run()` does before writing: every "
                    "generator's `generate_context()`, the `all_generators_finalized` signal and "
                    "`refresh_metadata_intersite_links()`; the site is the shared context dict "
                    "and the generators" + self.scratch_note())
        return ("`rendered`: a full `Pelican(settings).run()` of a temporary copy of the site%s "
                "(output in the work directory), then the context and generators caught from the "
                "`all_generators_finalized` signal"
                % (" at `%s` (removed afterwards)" % build_root if build_root else ""))

    def page_key(self, page):
        return self.relative_or_own(getattr(page, "source_path", None), page)

    def own_name(self, page):
        name = (getattr(page, "relative_source_path", None) or getattr(page, "save_as", None)
                or payloads.own_name(page))
        return str(name) if name else None

    def page_virtual(self, page):
        return not getattr(page, "source_path", None)

    def default_fields(self, page):
        return ["source_path", "_content", "metadata", "save_as"]

    def render_cost(self, site, pages, sample, workdir):
        from pelican.generators import ArticlesGenerator, PagesGenerator
        from pelican.writers import Writer

        chosen, sampled = even_sample(pages, sample)
        context = site.context
        settings = site.generators[0].settings
        articles = next((g for g in site.generators if isinstance(g, ArticlesGenerator)), None)
        pages_gen = next((g for g in site.generators if isinstance(g, PagesGenerator)), None)
        output = Path(workdir) / "render-output"
        output.mkdir(parents=True, exist_ok=True)
        page_ids = {id(p) for p in (pages_gen.pages + pages_gen.hidden_pages + pages_gen.translations
                                    + pages_gen.hidden_translations)} if pages_gen else set()
        saved_localsiteurl = context.get("localsiteurl")

        def render(doc):
            # A fresh writer per document: a Writer refuses to write one file twice.
            writer = Writer(str(output), settings=settings)
            if id(doc) in page_ids:
                writer.write_file(doc.save_as, pages_gen.get_template(doc.template), pages_gen.context,
                                  page=doc, relative_urls=settings["RELATIVE_URLS"],
                                  override_output=hasattr(doc, "override_save_as"), url=doc.url)
            else:
                writer.write_file(doc.save_as, articles.get_template(doc.template), articles.context,
                                  article=doc, category=getattr(doc, "category", None),
                                  relative_urls=settings["RELATIVE_URLS"],
                                  override_output=hasattr(doc, "override_save_as"), url=doc.url,
                                  blog=True)

        warmup = {}
        for doc in chosen:
            warmup.setdefault((id(doc) in page_ids, doc.template), doc)
        try:
            with captured_output(), quiet_loggers(*LOGGERS):
                result = time_renders(
                    chosen, sampled, render, self.page_label, warmup=list(warmup.values()),
                    method="pelican.writers.Writer(output, settings).write_file(doc.save_as, "
                           "generator.get_template(doc.template), generator.context, article=doc "
                           "| page=doc, url=doc.url, ...) per document, as "
                           "ArticlesGenerator.generate_articles / PagesGenerator.generate_output "
                           "do; sequential, output under the work directory; timed after an "
                           "untimed warm-up render of one document per template")
        finally:
            context["localsiteurl"] = saved_localsiteurl
        return result


def _discover(app, settings):
    from pelican import signals

    context = settings.copy()
    context["generated_content"] = {}
    context["static_links"] = set()
    context["static_content"] = {}
    context["localsiteurl"] = settings["SITEURL"]
    generators = [
        cls(context=context, settings=settings, path=app.path, theme=app.theme,
            output_path=app.output_path)
        for cls in app._get_generator_classes()
    ]
    for gen in generators:
        if hasattr(gen, "generate_context"):
            gen.generate_context()
        if hasattr(gen, "check_disabled_readers"):
            gen.check_disabled_readers()
    signals.all_generators_finalized.send(generators)
    for gen in generators:
        if hasattr(gen, "refresh_metadata_intersite_links"):
            gen.refresh_metadata_intersite_links()
    return context, generators

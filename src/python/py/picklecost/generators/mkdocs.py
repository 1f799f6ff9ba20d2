"""MkDocs (1.x), driven through its own build steps:

- sites: `mkdocs.yml` or `mkdocs.yaml` in the directory;
- config: `mkdocs.config.load_config(config_file, site_dir=<work directory>)`, so the built
  site never lands in the site directory;
- `discovered`: what `mkdocs.commands.build.build` does before writing anything: the
  `on_config` and `on_pre_build` plugin events, `get_files`, the theme's files, `on_files`,
  `get_navigation`, `on_nav`, then every documentation page read and its Markdown rendered into
  `page.content` (`_populate_page`: `on_pre_page`, `page.read_source`, `on_page_markdown`,
  `page.render(config, files)`, `on_page_content`), and `on_env`; no static file is copied and
  no template rendered;
- `rendered`: a real `mkdocs.commands.build.build(config)` of a copy of the site in the work
  directory (output there too); files and nav are caught from the `on_nav`/`on_env` events;
- root object: `types.SimpleNamespace(config=..., files=..., nav=...)` (stdlib container: a
  worker needs MkDocs and the plugins alone to unpickle it);
- pages: the `mkdocs.structure.pages.Page` of every documentation file (`files.
  documentation_pages()`), in the order MkDocs builds them;
- default payload: `file.src_uri` (source path relative to docs_dir), `markdown` (the raw
  Markdown, front matter removed), `meta` (front matter, as plain data) and `file.dest_uri`
  (output path relative to site_dir) — dotted fields are followed attribute by attribute;
- render cost: per page `page.render(config, files)` (Markdown to HTML) plus what
  `mkdocs.commands.build._build_page` does (context, `main.html` or the page's template, the
  page plugin events, the write to `page.file.abs_dest_path`, which is under the work
  directory).
"""

import sys
import types
from pathlib import Path

from .. import payloads
from ..util import LoadError, captured_output, describe, even_sample, installed_version, quiet_loggers
from .base import Adapter, time_renders

CONFIG_FILES = ("mkdocs.yml", "mkdocs.yaml")
LOGGERS = ("mkdocs", "mkdocs_autorefs", "markdown", "MARKDOWN")


def _config_file(root):
    for name in CONFIG_FILES:
        if (Path(root) / name).is_file():
            return Path(root) / name
    return None


class _Events:
    """Catches the files and nav a build passes to the plugin events, without adding a plugin
    (which would end up in the config that is measured): instance attributes shadowing
    PluginCollection's own event methods, removed afterwards."""

    def __init__(self, plugins):
        self.plugins = plugins
        self.files = None
        self.nav = None
        self.env = None

    def __enter__(self):
        on_nav, on_env = self.plugins.on_nav, self.plugins.on_env

        def nav(nav, **kwargs):
            self.nav = on_nav(nav, **kwargs)
            return self.nav

        def env(env, **kwargs):
            self.env = on_env(env, **kwargs)
            self.files = kwargs.get("files")
            return self.env

        self.plugins.on_nav = nav
        self.plugins.on_env = env
        return self

    def __exit__(self, *exc):
        for name in ("on_nav", "on_env"):
            self.plugins.__dict__.pop(name, None)
        return False


class MkDocs(Adapter):
    name = "mkdocs"
    plain_dict_fields = True

    def detect(self, root):
        return _config_file(root) is not None

    def what_it_looks_for(self):
        return "no mkdocs.yml or mkdocs.yaml (MkDocs)"

    def version(self, root):
        try:
            import mkdocs
            from mkdocs.commands import build  # noqa: F401 - what loading needs
        except ImportError as exc:
            raise LoadError(
                "%s is an MkDocs site but MkDocs is not installed in this Python environment "
                "(%s); install it there, e.g. `pip install mkdocs` (and the plugins its mkdocs.yml "
                "names)" % (root, describe(exc)))
        return installed_version("mkdocs", mkdocs)

    def load(self, root, stage, workdir):
        self.scratch = str(workdir)
        from mkdocs.config import load_config

        site_dir, build_root = self.site_for(root, stage, workdir)
        config_file = _config_file(site_dir)
        output = Path(workdir) / "output"
        dont_write = sys.dont_write_bytecode
        sys.dont_write_bytecode = True  # hooks: scripts beside mkdocs.yml
        with quiet_loggers(*LOGGERS):
            try:
                config = load_config(config_file=str(config_file), site_dir=str(output))
                if stage == "discovered":
                    config, files, nav = _discover(config)
                else:
                    from mkdocs.commands.build import build

                    with _Events(config.plugins) as events:
                        build(config)
                    files, nav = events.files, events.nav
                    if files is None:
                        raise LoadError("MkDocs built %s but its on_env event never ran" % root)
            except LoadError:
                raise
            except SystemExit as exc:
                raise LoadError("MkDocs could not load %s at stage %s: it exited (%s)" % (root, stage, exc))
            except Exception as exc:
                raise LoadError("MkDocs could not load %s at stage %s: %s" % (root, stage, describe(exc)))
            finally:
                sys.dont_write_bytecode = dont_write
        pages = [f.page for f in files.documentation_pages() if f.page is not None]
        site = types.SimpleNamespace(config=config, files=files, nav=nav)
        return site, pages, str(build_root) if build_root else None

    def stage_method(self, stage, build_root):
        if stage == "discovered":
            return ("`discovered`: `load_config(mkdocs.yml, site_dir=<scratch>)`, then what "
                    "`mkdocs build` does before writing: plugin events `on_config`, `on_pre_build`, "
                    "`get_files` + theme files, `on_files`, `get_navigation`, `on_nav`, every page "
                    "read and its Markdown rendered (`page.read_source`, `page.render`, the page "
                    "events), `on_env`; the site is a namespace of config, files and nav" + self.scratch_note())
        return ("`rendered`: a full `mkdocs.commands.build.build(config)` of a temporary copy of "
                "the site%s (output in the work directory), then the config, files and nav it "
                "passed to its plugin events"
                % (" at `%s` (removed afterwards)" % build_root if build_root else ""))

    def page_key(self, page):
        if self.page_virtual(page):
            return self.own_name(page) or payloads.page_key(page)
        file = getattr(page, "file", None)
        return self.relative_or_own(getattr(file, "abs_src_path", None), page)

    def own_name(self, page):
        file = getattr(page, "file", None)
        name = getattr(file, "src_uri", None) or payloads.own_name(page)
        return str(name) if name else None

    def page_virtual(self, page):
        """A page whose file a plugin generated (`File.generated`: no file in docs_dir)."""
        file = getattr(page, "file", None)
        if file is None:
            return True
        return (getattr(file, "generated_by", None) is not None
                or not getattr(file, "abs_src_path", None))

    def strata(self, pages):
        keys = []
        for page in pages:
            uri = self.page_key(page)
            text = getattr(page, "markdown", None) or ""
            keys.append((uri.rpartition("/")[0], len(text)))
        return keys

    def default_fields(self, page):
        return ["file.src_uri", "markdown", "meta", "file.dest_uri"]

    def render_cost(self, site, pages, sample, workdir):
        from mkdocs.commands.build import _build_page

        config, files, nav = site.config, site.files, site.nav
        chosen, sampled = even_sample(pages, sample)
        saved = [(page, page.content, page.toc) for page in chosen]
        doc_files = files.documentation_pages()

        def render(page):
            page.render(config, files)
            _build_page(page, config, doc_files, nav, env)

        warmup = {}
        for page in chosen:
            warmup.setdefault(page.meta.get("template", "main.html"), page)
        try:
            with captured_output(), quiet_loggers(*LOGGERS):
                # The template environment, as a build makes it (the theme's, then on_env).
                env = config.plugins.on_env(config.theme.get_env(), config=config, files=files)
                return time_renders(
                    chosen, sampled, render, self.page_label, warmup=list(warmup.values()),
                    method="page.render(config, files) then mkdocs.commands.build._build_page(page, "
                           "config, doc_files, nav, env) per page (template render, page plugin "
                           "events, write to page.file.abs_dest_path under the work directory); "
                           "sequential; timed after an untimed warm-up render of one page per "
                           "template")
        finally:
            for page, content, toc in saved:
                page.content, page.toc = content, toc


def _discover(config):
    from mkdocs.commands.build import _populate_page, get_navigation
    from mkdocs.structure.files import InclusionLevel, get_files, set_exclusions
    from mkdocs.structure.pages import Page

    config = config.plugins.on_config(config)
    config.plugins.on_pre_build(config=config)
    files = get_files(config)
    env = config.theme.get_env()
    files.add_files_from_theme(env, config)
    files = config.plugins.on_files(files, config=config)
    set_exclusions(files, config)
    nav = get_navigation(files, config)
    nav = config.plugins.on_nav(nav, config=config, files=files)
    for file in files.documentation_pages(inclusion=InclusionLevel.is_included):
        if file.page is None and file.inclusion.is_not_in_nav():
            Page(None, file, config)
        _populate_page(file.page, config, files)
    config.plugins.on_env(env, config=config, files=files)
    return config, files, nav

"""Bengal, every generation picklecost can drive, told apart by what the installed package offers
(never by its version number):

- sites: `bengal.toml`, `bengal.yaml`/`.yml` or a `config/_default/` directory (the last needs
  a Bengal with `bengal.config.directory_loader`, i.e. 0.5);
- `discovered`: `Site.from_config(root)`, `discover_content()`, `discover_assets()`, what a build
  does before rendering (nothing is written);
- `rendered`: a full sequential build of a copy of the site: `site.build(BuildOptions(...))`
  where `bengal.orchestration.build.options` exists (0.5), else `site.build(parallel=False, ...)`;
- pages: `site.pages` (0.1 `Page`, 0.5 `RuntimePage`); the default payload is a plain view of
  source path, raw Markdown, metadata and output path (0.5 keeps the raw Markdown in
  `_raw_content`: its `content` property is the rendered HTML, empty before rendering; where
  `bengal.snapshots` exists, dict fields go through its `to_plain_data`, as in its PageView);
- Bengal's own worker payload where it ships one: `bengal.snapshots` (0.5) builds a body-free
  `PageView` per page (`page_view_from_live_page(page, site)`), what its render backends hand
  to workers;
- render cost: `bengal.rendering.pipeline.RenderingPipeline(site).process_page(page)`, the call
  Bengal's RenderOrchestrator makes for every page of a build (parse Markdown, apply the
  template, write the HTML). A site at the "discovered" stage first gets what a build does
  between discovery and rendering: section finalization, taxonomies, menus and the
  related-posts index (where Bengal scores one page at a time, for the pages rendered only:
  the whole index is quadratic in the pages sharing a tag). The probe keeps to its time limit
  (`--render-limit`, `base.render_deadline`): it stops between preparation steps and pages.

Nothing is written into the site: while rendering, `site.output_dir` and every rendered page's
`output_path` point into the work directory, template bytecode caches are off, and the
taxonomy index (which a build saves under `.bengal/`) is not saved. The graph is mutated, so
rendering runs after the pickle measurements: each rendered page's instance attributes are
restored afterwards (rendered_html, parsed_ast, toc, output_path...), but a site at the
discovered stage keeps the preparation (taxonomies, menus, generated tag and section index
pages in site.pages), and objects the pages share may keep caches.
"""

import datetime
import importlib
import importlib.metadata
import importlib.util
import os
import random
import shutil
import time
import warnings
from pathlib import Path

from .. import limits, payloads, readproof, readset
from ..util import LoadError, captured_output, describe, even_sample, working_directory
from .base import Adapter, past_render_deadline

MAX_ERRORS = 5
CONFIG_FILES = ("bengal.toml", "bengal.yaml", "bengal.yml")


def _has(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _first_module(*names):
    for name in names:
        if _has(name):
            return importlib.import_module(name)
    raise ImportError("none of %s is importable" % ", ".join(names))


def _config_dir(root):
    return Path(root) / "config" / "_default"


def _quiet_logging():
    """Bengal 0.5's structured logger prints warnings even when quiet: raise its level."""
    try:
        logger = _first_module("bengal.utils.observability.logger", "bengal.utils.logger")
        logger.configure_logging(level=logger.LogLevel.CRITICAL)
    except Exception:  # noqa: BLE001 - only the noise is at stake
        pass


class Bengal(Adapter):
    name = "bengal"

    def detect(self, root):
        root = Path(root)
        return any((root / name).is_file() for name in CONFIG_FILES) or _config_dir(root).is_dir()

    def what_it_looks_for(self):
        return "no bengal.toml, bengal.yaml or config/_default/"

    def version(self, root):
        try:
            import bengal
            from bengal.core.site import Site  # noqa: F401 - what loading needs
        except ImportError as exc:
            raise LoadError(
                "%s is a Bengal site but Bengal is not installed in this Python environment "
                "(%s); install it there, e.g. `pip install bengal`" % (root, describe(exc)))
        version = getattr(bengal, "__version__", None)
        if not version:
            try:
                version = importlib.metadata.version("bengal")
            except Exception:  # noqa: BLE001
                version = "unknown"
        return version

    def _check_config(self, root):
        # Bengal 0.1 logs a broken config file and silently falls back to defaults; a
        # measurement of the wrong configuration would be worse than no measurement.
        root = Path(root)
        files = [root / name for name in CONFIG_FILES if (root / name).is_file()]
        config_dir = _config_dir(root)
        if config_dir.is_dir():
            if not _has("bengal.config.directory_loader"):
                raise LoadError(
                    "%s keeps its configuration in config/_default/, which the installed Bengal "
                    "cannot read (it has no bengal.config.directory_loader); install a Bengal "
                    "that can (e.g. `pip install -U bengal`, 0.5 or later)" % root)
            files = sorted(config_dir.glob("*.yaml")) + sorted(config_dir.glob("*.yml"))
        for path in files:
            _check_file(path)

    def load(self, root, stage, workdir):
        from bengal.core.site import Site

        self._check_config(root)
        build_root = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _quiet_logging()
            try:
                if stage == "discovered":
                    site = Site.from_config(Path(root))
                    site.discover_content()
                    site.discover_assets()
                else:
                    # A build writes .bengal/ and public/ into the site it builds: build a copy.
                    build_root = Path(workdir) / "site"
                    shutil.copytree(root, build_root, symlinks=True)
                    for path in (build_root / "public", build_root / ".bengal"):
                        shutil.rmtree(path, ignore_errors=True)
                    with working_directory(build_root):
                        site = Site.from_config(build_root)
                        _build(site)
            except LoadError:
                raise
            except Exception as exc:
                raise LoadError("Bengal could not load %s at stage %s: %s" % (root, stage, describe(exc)))
        return site, list(site.pages), str(build_root) if build_root else None

    def stage_method(self, stage, build_root):
        if stage == "discovered":
            return ("`discovered`: `Site.from_config(root)`, `discover_content()`, "
                    "`discover_assets()` — what a build does before rendering")
        call = ("site.build(BuildOptions(force_sequential=True, incremental=False))"
                if _has("bengal.orchestration.build.options")
                else "site.build(parallel=False, incremental=False)")
        return ("`rendered`: a full Bengal build (`%s`) of a temporary copy of the site%s, then "
                "the in-memory graph"
                % (call, " at `%s` (removed afterwards)" % build_root if build_root else ""))

    def default_fields(self, page):
        content = "content"
        if page is not None and "_raw_content" in payloads.available_fields(page):
            content = "_raw_content"  # Bengal 0.5: `content` is the rendered HTML
        return ["source_path", content, "metadata", "output_path"]

    def make_variant(self, root, dest, factor):
        """A copy of the site at `dest` (outside the site) whose content/ keeps an evenly spaced
        `factor` of its pages (factor < 1; section `_index.md` files stay), or holds
        `factor` copies of every page under `content/growth-copy-N/` (factor > 1)."""
        root, dest = Path(root), Path(dest)
        shutil.copytree(root, dest, symlinks=True,
                        ignore=shutil.ignore_patterns("public", ".bengal"))
        content = dest / "content"
        if not content.is_dir():
            raise LoadError("--growth: %s has no content/ directory to vary" % root)
        pages = sorted(p for p in content.rglob("*.md") if p.name != "_index.md")
        if factor < 1:
            keep, _ = even_sample(pages, max(1, round(len(pages) * factor)))
            for page in set(pages) - set(keep):
                page.unlink()
        else:
            originals = sorted(content.rglob("*.md"))
            for copy in range(2, int(round(factor)) + 1):
                base = content / ("growth-copy-%d" % copy)
                for source in originals:
                    target = base / source.relative_to(content)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target)
                if not (base / "_index.md").exists():
                    (base / "_index.md").write_text("---\ntitle: Copy %d\n---\n" % copy)
        return str(dest)

    def page_payload(self, page, fields, exclude_keys=None):
        out = payloads.subset(page, fields, exclude_keys)
        if _has("bengal.snapshots.render_plan"):
            # Bengal's own plain-data projection (what its PageView carries): live Page and
            # Section references in metadata become their source paths instead of dragging
            # unpicklable page records along.
            from bengal.snapshots.render_plan import to_plain_data

            for name, value in out.items():
                if isinstance(value, dict):
                    out[name] = to_plain_data(value)
        return out

    def own_payload(self, site):
        if not _has("bengal.snapshots.render_plan"):
            return None
        from bengal.snapshots.render_plan import page_view_from_live_page

        def page_view(page):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return page_view_from_live_page(page, site)

        return page_view

    def own_payload_method(self):
        if not _has("bengal.snapshots.render_plan"):
            return None
        return ("`bengal.snapshots.render_plan.page_view_from_live_page(page, site)`: Bengal's own "
                "body-free `PageView`, what its process render backends give workers")

    def renderer(self, site, workdir):
        return _Renderer(site, workdir)

    def renderer_method(self):
        return ("bengal.rendering.pipeline.RenderingPipeline(site, quiet=True).process_page(page) "
                "(one pipeline per thread, as Bengal's parallel build keeps them), output written "
                "under the work directory; the page's HTML is what the worker returns")

    def worker_modules(self, site, pages):
        return super().worker_modules(site, pages) + ["bengal.rendering.pipeline"]

    def markdown_source(self, page):
        text = getattr(page, "_raw_content", None)  # 0.5: `content` is the rendered HTML
        if not isinstance(text, str):
            text = getattr(page, "content", None)
        return text if isinstance(text, str) else ""

    def markdown_parsers(self):
        own = []
        for module in ("bengal.parsing", "bengal.rendering.parsers"):
            if _has(module):
                own.append({
                    "parser": "Bengal's own parser (%s.create_markdown_parser())" % module,
                    "modules": [module],
                    "setup": "from %s import create_markdown_parser\n"
                             "_pc_parser = create_markdown_parser()\n"
                             "def _pc_markdown(text):\n"
                             "    return _pc_parser.parse(text, {})\n" % module})
                break
        return own + super().markdown_parsers()

    def render_cost(self, site, pages, sample, workdir):
        os.makedirs(workdir, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = _render(site, pages, sample, workdir)
        result["errors"] = [self._named_error(error, pages) for error in result["errors"]]
        result["render_pages"] = [self.page_key(page) for page in result.get("render_pages", [])]
        readset.name_pages(result.get("read_set"), self.page_key, self.page_virtual)
        readset.name_pages((result.get("read_set") or {}).get("proof"), self.page_key, self.page_virtual)
        if result["available"] and not result["render_ns"] and result["errors"]:
            result["available"] = False
            result["reason"] = "no page rendered: %s" % result["errors"][0]
        return result

    def _named_error(self, error, pages):
        """A render error line that starts with a page's source path, with the page's name
        (relative to the site, marked when virtual) instead."""
        for page in pages:
            source = str(getattr(page, "source_path", "") or "")
            if source and error.startswith(source + ": "):
                return self.page_label(page) + error[len(source):]
        return error


def _check_file(path):
    try:
        if path.suffix == ".toml":
            import tomllib

            with open(path, "rb") as f:
                data = tomllib.load(f)
            kind = "TOML"
        else:
            import yaml

            with open(path, encoding="utf-8") as f:
                data = yaml.safe_load(f)
            kind = "YAML"
    except OSError as exc:
        raise LoadError("cannot read %s: %s" % (path, exc.strerror or exc))
    except ImportError as exc:
        raise LoadError("cannot check %s: %s" % (path, describe(exc)))
    except Exception as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError
        kind = "TOML" if path.suffix == ".toml" else "YAML"
        text = " ".join(str(exc).split())
        raise LoadError("%s is not valid %s (%s); fix the file and run again" % (path, kind, text))
    if data is not None and not isinstance(data, dict):
        raise LoadError("%s is not a %s mapping (its top level is a %s); fix the file and run again"
                        % (path, kind, type(data).__name__))


def _build(site):
    if _has("bengal.orchestration.build.options"):
        from bengal.orchestration.build.options import BuildOptions

        site.build(BuildOptions(force_sequential=True, incremental=False, quiet=True))
    else:
        site.build(parallel=False, incremental=False, quiet=True)


def _prepared(site):
    return bool(getattr(site, "menu", None) or getattr(site, "taxonomies", None))


def _prepare(site, pages=None):
    """What BuildOrchestrator.build does between discovery and rendering (phases 3 to 5.5),
    minus the cache and asset work, sequentially. With `pages`, the related-posts index is
    computed for those pages only (what rendering them reads; the full index is quadratic in
    the pages sharing a tag). Stops between steps, and between pages of the index, once the
    render-cost probe's time limit has passed: returns the step it stopped at (None: done)."""
    from bengal.orchestration.menu import MenuOrchestrator
    from bengal.orchestration.section import SectionOrchestrator
    from bengal.orchestration.taxonomy import TaxonomyOrchestrator

    if hasattr(site, "build_time") and site.build_time is None:
        site.build_time = datetime.datetime.now()
    taxonomies = TaxonomyOrchestrator(site)

    def finalize_sections():
        SectionOrchestrator(site).finalize_sections()
        site.invalidate_regular_pages_cache()

    def generate_taxonomy_pages():
        # collect_and_generate() would also save a taxonomy index under the site's .bengal/.
        taxonomies.generate_dynamic_pages(parallel=False)
        site.invalidate_regular_pages_cache()

    steps = (("sections", finalize_sections),
             ("taxonomies", taxonomies.collect_taxonomies),
             ("taxonomy pages", generate_taxonomy_pages),
             ("menus", lambda: MenuOrchestrator(site).build()),
             ("related posts", lambda: _related_posts(site, pages)))
    for name, step in steps:
        if past_render_deadline():
            return name
        if step() is _STOPPED:
            return name
    return None


#: What `_related_posts` returns when the time limit stopped it (Bengal's own steps return
#: what they like, False included).
_STOPPED = object()


def _related_per_page():
    """Whether Bengal's related-posts orchestrator scores one page at a time with the 0.1
    signature `_find_related_posts(page, page_tags_map, candidates_by_tag, limit)`. Bengal 0.5
    has a method of that name with one more parameter (sort keys) and builds the index in one
    call."""
    import inspect

    from bengal.orchestration.related_posts import RelatedPostsOrchestrator

    find = getattr(RelatedPostsOrchestrator, "_find_related_posts", None)
    if find is None or not hasattr(RelatedPostsOrchestrator, "_build_page_tags_map"):
        return False
    try:
        return len(inspect.signature(find).parameters) == 5  # self + the four above
    except (TypeError, ValueError):
        return False


def _related_posts(site, pages):
    """Bengal's related-posts index (5 per page, by shared tags): for every page, or with
    `pages` and a Bengal whose orchestrator scores one page at a time (0.1), for those pages
    only, the others keeping an empty list. `_STOPPED` when the time limit stopped it."""
    from bengal.orchestration.related_posts import RelatedPostsOrchestrator

    if "tags" not in (getattr(site, "taxonomies", None) or {}):
        return True
    orchestrator = RelatedPostsOrchestrator(site)
    if pages is None or not _related_per_page():
        orchestrator.build_index(limit=5, parallel=False)
        return True
    tags = site.taxonomies.get("tags", {})
    tags_of = orchestrator._build_page_tags_map()
    wanted = {id(page) for page in pages}
    for page in site.pages:
        if id(page) not in wanted or page.metadata.get("_generated"):
            page.related_posts = []
    for page in pages:
        if past_render_deadline():
            return _STOPPED
        if not page.metadata.get("_generated"):
            page.related_posts = orchestrator._find_related_posts(page, tags_of, tags, 5)
    return True


def _redirect(path, output_root, original_output):
    """Where under `output_root` a page whose output path is `path` is written instead."""
    root = Path(output_root).resolve()
    path = Path(path)
    try:
        relative = path.relative_to(original_output)
    except ValueError:
        try:
            relative = path.relative_to(root)
        except ValueError:
            relative = Path(path.name)
    target = (root / relative).resolve()
    if root not in target.parents:
        target = root / "outside" / path.name
    return target


def _pipeline(site, output_root, original_output):
    from bengal.rendering.pipeline import RenderingPipeline

    atomic_write_text = _first_module("bengal.utils.io.atomic_write",
                                      "bengal.utils.atomic_write").atomic_write_text
    stats = _first_module("bengal.orchestration.stats", "bengal.utils.build_stats").BuildStats()

    class Pipeline(RenderingPipeline):
        """Bengal's pipeline, writing under `output_root` whatever the page's output_path
        (where the pipeline writes through this method; 0.5 writes to `page.output_path`,
        which points there already)."""

        def _write_output(self, page):
            target = _redirect(page.output_path, output_root, original_output)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, page.rendered_html, encoding="utf-8")

    return Pipeline(site, quiet=True, build_stats=stats), stats


def _one_per_template(pipeline, pages):
    seen = {}
    for page in pages:
        try:
            template = pipeline._determine_template(page)
        except Exception:
            template = None
        seen.setdefault(template, page)
    return list(seen.values())


def _prepare_and_render(site, chosen, output_root, original_output, result, errors):
    """The probe's timed part: preparing the site (where `result["prepared"]`), the pipeline,
    an untimed warm-up, then each of `chosen` timed; stops where the time limit has passed
    (`result["cut"]` says in which part). Returns the pipeline's build stats (None when the
    limit stopped it before there was a pipeline)."""
    start = time.perf_counter_ns()
    if result["prepared"]:
        stopped_at = _prepare(site, chosen)
        if stopped_at is not None:
            result["cut"] = "preparing the site (%s)" % stopped_at
    result["prepare_ns"] = time.perf_counter_ns() - start
    if result["cut"]:
        return None
    start = time.perf_counter_ns()
    pipeline, stats = _pipeline(site, output_root, original_output)
    result["setup_ns"] = time.perf_counter_ns() - start
    # Untimed, one page per template: the parser and the templates are compiled on first use,
    # once per worker, not per page.
    start = time.perf_counter_ns()
    for page in _one_per_template(pipeline, chosen):
        if past_render_deadline():
            result["cut"] = "warming up"
            break
        try:
            with limits.time_limit(limits.PAGE_SECONDS.get(), "the render (--page-limit)"):
                pipeline.process_page(page)
        except (Exception, limits.TimeLimit):
            pass  # it fails again, and is reported, below
    result["warmup_ns"] = time.perf_counter_ns() - start
    before = {}  # id(page) -> its attributes just before its timed render, for the trace
    for page in chosen:
        if past_render_deadline():
            result["cut"] = result["cut"] or "rendering"
            break
        if hasattr(page, "__dict__"):
            before[id(page)] = dict(vars(page))
        random.seed(readset.SEED)  # templates may pick "random" posts: the trace replays it
        start = time.perf_counter_ns()
        try:
            with limits.time_limit(limits.PAGE_SECONDS.get(), "the render (--page-limit)"):
                pipeline.process_page(page)
        except (Exception, limits.TimeLimit) as exc:
            errors.append("%s: %s" % (getattr(page, "source_path", "?"), describe(exc)))
            continue
        result["render_ns"].append(time.perf_counter_ns() - start)
        result["render_pages"].append(page)  # named by the adapter (`render_cost`)
    if readset.TRACING:
        try:
            result["read_set"] = _trace_reads(site, pipeline, result["render_pages"], before)
        except Exception as exc:  # noqa: BLE001 - a renderer this adapter cannot trace
            result["read_set_error"] = "tracing the renders failed: %s" % describe(exc)
    return stats


def _trace_reads(site, pipeline, pages, before):
    """The read set (`readset.Trace`) of `pages`, each rendered once more, untimed, through
    the same pipeline from its attributes as they were before its timed render, with the page
    behind a recording proxy and the site wherever the pipeline, its renderer, the template
    engine, the template context and the template functions hold it (`readset.site_swapped`);
    each traced HTML compared with the timed render's (`readset.traced_renders`)."""
    engine = pipeline.renderer.template_engine
    trace = readset.Trace(site, site.pages)

    def render(template_name, context):
        trace.template = template_name
        if trace.current is not None:
            context["site"] = engine.site  # the trace's proxy, while swapped
            context["config"] = engine.env.globals.get("config", site.config)
        return engine.render(template_name, context)

    env = getattr(engine, "env", None)
    spaces = [getattr(env, name, None) for name in ("globals", "filters", "tests")]
    holders = [pipeline, pipeline.renderer, engine]

    def traced(page):
        page.__dict__.clear()
        page.__dict__.update(before[id(page)])
        with limits.time_limit(limits.PAGE_SECONDS.get(), "the traced render (--page-limit)"), \
                readset.site_swapped(trace, holders, [s for s in spaces if isinstance(s, dict)]):
            trace.render(page, pipeline.process_page)
        return _html(getattr(page, "rendered_html", None), getattr(page, "output_path", None))

    def from_stand_ins(page_in, site_in):
        config_in = dict.get(site_in, "config")
        if not isinstance(config_in, dict):
            config_in = readproof.StandIn({}, "site.config", site_in._pc_misses)
        with limits.time_limit(limits.PAGE_SECONDS.get(), "the proof's render (--page-limit)"), \
                readset.site_swapped(trace, holders, [s for s in spaces if isinstance(s, dict)],
                                     replacements=(site_in, config_in)):
            pipeline.process_page(page_in)
        return _html(dict.get(page_in, "rendered_html"), dict.get(page_in, "output_path"))

    def reset(page):
        """The site's menu marked for the page (what Bengal's renderer does first,
        `site.mark_active_menu_items(page)`: the flags vary per page, and the site's stand-in
        is taken after). The page stays as its traced render left it: the values it read are
        those it holds then (`toc_items` is computed from the `toc` the render wrote)."""
        mark = getattr(site, "mark_active_menu_items", None)
        if callable(mark):
            mark(page)

    traced_pages = [p for p in pages if id(p) in before]
    real = {}
    renderer = pipeline.renderer
    # The renderer's engine, its `render` wrapped (Bengal 0.5's Kida engine has slots: the
    # method cannot be replaced on the instance, so the renderer gets a stand-in that delegates).
    renderer.template_engine = _Recording(engine, render)
    try:
        out = readset.traced_renders(trace, traced_pages,
                                     lambda p: real.setdefault(id(p), _html(
                                         getattr(p, "rendered_html", None),
                                         getattr(p, "output_path", None))), traced,
                                     past_render_deadline)
        return readproof.prove_or_say(out, traced_pages, site, lambda p: real[id(p)],
                                      from_stand_ins, past_render_deadline, reset)
    finally:
        renderer.template_engine = engine


def _html(rendered, output_path):
    """A render's HTML: what it left on the page, else (Bengal 0.5 writes it out without
    keeping it) the file it wrote at the page's output path, under this run's work directory."""
    if isinstance(rendered, str) and rendered:
        return rendered
    if output_path:
        try:
            return Path(output_path).read_text(encoding="utf-8")
        except OSError:
            pass
    return None


class _Recording:
    """A template engine whose `render` is `render`, everything else the engine's."""

    def __init__(self, engine, render):
        self._engine = engine
        self.render = render

    def __getattr__(self, name):
        return getattr(self._engine, name)


def _render(site, pages, sample, workdir):
    chosen, sampled = even_sample(pages, sample)
    output_root = Path(workdir) / "render-output"
    output_root.mkdir(parents=True, exist_ok=True)
    original_output = Path(site.output_dir)
    saved = [(page, dict(vars(page))) for page in chosen if hasattr(page, "__dict__")]
    prepared = not _prepared(site)  # whether we prepare it here
    result = {"available": True, "reason": None, "render_ns": [], "render_pages": [], "pages": 0,
              "sampled": sampled, "errors": [], "prepared": prepared, "prepare_ns": 0,
              "setup_ns": 0, "warmup_ns": 0, "chosen": len(chosen), "cut": None}
    errors = []
    stats = None
    site.output_dir = output_root
    config = getattr(site, "config", None)
    kida = config.get("kida") if config is not None else None
    try:
        # Bengal 0.5's template engine keeps compiled templates under the site's .bengal/.
        if config is not None and _has("bengal.config.directory_loader"):
            config["kida"] = dict(kida or {}, bytecode_cache=False)
        for page in chosen:
            if getattr(page, "output_path", None) is not None:
                page.output_path = _redirect(page.output_path, output_root, original_output)
        with captured_output():
            stats = _prepare_and_render(site, chosen, output_root, original_output, result,
                                        errors)
        for error in getattr(stats, "template_errors", None) or []:
            errors.append("template error: %s" % (getattr(error, "message", None) or error))
    finally:
        site.output_dir = original_output
        if config is not None and _has("bengal.config.directory_loader"):
            try:
                if kida is None:
                    del config["kida"]
                else:
                    config["kida"] = kida
            except Exception:  # noqa: BLE001 - a config without item deletion keeps the flag
                pass
        for page, attrs in saved:
            page.__dict__.clear()
            page.__dict__.update(attrs)
    result["pages"] = len(result["render_ns"])
    result["failed"] = len(errors)
    result["errors"] = errors[:MAX_ERRORS]
    if result["cut"] and not result["render_ns"]:
        result["available"] = False
        result["reason"] = ("no page rendered within the render-cost probe's time limit "
                            "(--render-limit): it ran out while %s" % result["cut"])
    result["method"] = (
        "bengal.rendering.pipeline.RenderingPipeline(site, quiet=True).process_page(page) "
        "per page, sequential, output written under the work directory%s; timed after an "
        "untimed warm-up render of one page per template" % (
            " after preparing the discovered site like a build does (sections, taxonomies, "
            "menus, related posts of the pages rendered)" if prepared else ""))
    return result


class _Renderer:
    """Per-page rendering for `picklecost scale`: the site prepared like a build (once), output
    redirected under `workdir`, one RenderingPipeline per thread; `close()` restores what
    rendering changed on the pages and the site (as `_render` does)."""

    def __init__(self, site, workdir):
        import threading

        self.site = site
        self.output_root = Path(workdir) / "render-output"
        self.output_root.mkdir(parents=True, exist_ok=True)
        self.original_output = Path(site.output_dir)
        self.saved = [(page, dict(vars(page))) for page in site.pages if hasattr(page, "__dict__")]
        self.config = getattr(site, "config", None)
        self.kida = self.config.get("kida") if self.config is not None else None
        self.local = threading.local()
        with warnings.catch_warnings(), captured_output():
            warnings.simplefilter("ignore")
            _quiet_logging()
            if self.config is not None and _has("bengal.config.directory_loader"):
                self.config["kida"] = dict(self.kida or {}, bytecode_cache=False)
            # Related posts come later, for the pages to render (`prepare_pages`).
            if not _prepared(site) and _prepare(site, []) is not None:
                raise RuntimeError("the time limit passed while preparing the site")
            site.output_dir = self.output_root
            for page in site.pages:
                if getattr(page, "output_path", None) is not None:
                    page.output_path = _redirect(page.output_path, self.output_root,
                                                 self.original_output)
        # Every render starts from the page as it was before any render (a rendered page keeps
        # its parsed content, which would make the next render of it cheaper).
        self.fresh = {id(page): dict(vars(page)) for page in site.pages if hasattr(page, "__dict__")}

    def prepare_pages(self, pages):
        """The related posts of `pages` (what rendering them reads), as a build computes them;
        False where the time limit stopped it. (A Bengal without per-page scoring had its
        whole index built with the rest of the preparation.)"""
        if not _related_per_page():
            return True
        with warnings.catch_warnings(), captured_output():
            warnings.simplefilter("ignore")
            done = _related_posts(self.site, pages) is not _STOPPED
        for page in pages:
            fresh = self.fresh.get(id(page))
            if fresh is not None and "related_posts" in vars(page):
                fresh["related_posts"] = page.related_posts
        return done

    def warm_up(self, pages):
        """Render one page per template, untimed: templates and the parser compile once."""
        for page in _one_per_template(self._pipeline(), pages):
            try:
                self.render(page)
            except Exception:  # noqa: BLE001 - it fails again, and is reported, when timed
                pass

    def _pipeline(self):
        pipeline = getattr(self.local, "pipeline", None)
        if pipeline is None:
            pipeline, _ = _pipeline(self.site, self.output_root, self.original_output)
            self.local.pipeline = pipeline
        return pipeline

    def render(self, page):
        fresh = self.fresh.get(id(page))
        if fresh is not None:
            page.__dict__.clear()
            page.__dict__.update(fresh)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline = self._pipeline()
            pipeline.process_page(page)
        html = getattr(page, "rendered_html", None)
        if isinstance(html, str) and html:
            return html
        path = getattr(page, "output_path", None)
        if path is not None:
            target = _redirect(path, self.output_root, self.original_output)
            try:
                return target.read_text(encoding="utf-8")
            except OSError:
                pass
        return html or ""

    def close(self):
        self.site.output_dir = self.original_output
        if self.config is not None and _has("bengal.config.directory_loader"):
            try:
                if self.kida is None:
                    del self.config["kida"]
                else:
                    self.config["kida"] = self.kida
            except Exception:  # noqa: BLE001
                pass
        for page, attrs in self.saved:
            page.__dict__.clear()
            page.__dict__.update(attrs)

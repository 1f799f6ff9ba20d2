"""Bengal (bengal.toml sites; Bengal 0.1).

Loading: `Site.from_config(root)`, then `discover_content()` and `discover_assets()` (the
`discovered` stage, what a build does before rendering), or a full sequential build of a copy of
the site (`rendered`).

Render cost: `bengal.rendering.pipeline.RenderingPipeline(site).process_page(page)`, the call
Bengal's RenderOrchestrator makes for every page of a build (parse Markdown, apply the Jinja
template, write the HTML). A site at the "discovered" stage first gets what a build does between
discovery and rendering: section finalization, taxonomies, menus and the related-posts index.
Nothing is written into the site: `site.output_dir` points into the work directory while
rendering and the pipeline's write goes under it. The graph is mutated, so this runs after the
pickle measurements: each rendered page's instance attributes are restored afterwards
(rendered_html, parsed_ast, toc, output_path...), but a site at the discovered stage keeps the
preparation (taxonomies, menus, generated tag and section index pages in site.pages), and
objects the pages share may keep caches.
"""

import datetime
import os
import shutil
import time
from pathlib import Path

from ..util import LoadError, captured_output, describe, even_sample, working_directory
from .base import Adapter

MAX_ERRORS = 5


class Bengal(Adapter):
    name = "bengal"

    def detect(self, root):
        return (Path(root) / "bengal.toml").is_file()

    def version(self, root):
        try:
            import bengal
            from bengal.core.site import Site  # noqa: F401 - what loading needs
        except ImportError as exc:
            raise LoadError(
                "%s is a Bengal site but Bengal is not installed in this Python environment "
                "(%s); install it there, e.g. `pip install bengal`" % (root, describe(exc)))
        return getattr(bengal, "__version__", "unknown")

    def _check_config(self, root):
        # Bengal logs a broken bengal.toml and silently falls back to defaults; a measurement
        # of the wrong configuration would be worse than no measurement.
        import tomllib

        config = Path(root) / "bengal.toml"
        try:
            with open(config, "rb") as f:
                tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise LoadError("%s is not valid TOML (%s); fix the file and run again" % (config, exc))
        except OSError as exc:
            raise LoadError("cannot read %s: %s" % (config, exc.strerror or exc))

    def load(self, root, stage, workdir):
        from bengal.core.site import Site

        self._check_config(root)
        build_root = None
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
                    site.build(parallel=False, incremental=False, quiet=True)
        except LoadError:
            raise
        except Exception as exc:
            raise LoadError("Bengal could not load %s at stage %s: %s" % (root, stage, describe(exc)))
        return site, list(site.pages), str(build_root) if build_root else None

    def stage_method(self, stage, build_root):
        if stage == "discovered":
            return ("`discovered`: `Site.from_config(root)`, `discover_content()`, "
                    "`discover_assets()` — what a build does before rendering")
        return ("`rendered`: a full Bengal build (`site.build(parallel=False, incremental=False)`) "
                "of a temporary copy of the site%s, then the in-memory graph"
                % (" at `%s` (removed afterwards)" % build_root if build_root else ""))

    def default_fields(self, page):
        return ["source_path", "content", "metadata", "output_path"]

    def render_cost(self, site, pages, sample, workdir):
        os.makedirs(workdir, exist_ok=True)
        return _render(site, pages, sample, workdir)


def _prepared(site):
    return bool(getattr(site, "menu", None) or getattr(site, "taxonomies", None))


def _prepare(site):
    """What BuildOrchestrator.build does between discovery and rendering (phases 3 to 5.5),
    minus the cache and asset work, sequentially."""
    from bengal.orchestration.menu import MenuOrchestrator
    from bengal.orchestration.related_posts import RelatedPostsOrchestrator
    from bengal.orchestration.section import SectionOrchestrator
    from bengal.orchestration.taxonomy import TaxonomyOrchestrator

    if hasattr(site, "build_time") and site.build_time is None:
        site.build_time = datetime.datetime.now()
    SectionOrchestrator(site).finalize_sections()
    site.invalidate_regular_pages_cache()
    TaxonomyOrchestrator(site).collect_and_generate(parallel=False)
    site.invalidate_regular_pages_cache()
    MenuOrchestrator(site).build()
    if "tags" in (getattr(site, "taxonomies", None) or {}):
        RelatedPostsOrchestrator(site).build_index(limit=5, parallel=False)


def _pipeline(site, output_root, original_output):
    from bengal.rendering.pipeline import RenderingPipeline
    from bengal.utils.atomic_write import atomic_write_text
    from bengal.utils.build_stats import BuildStats

    root = Path(output_root).resolve()

    class Pipeline(RenderingPipeline):
        """Bengal's pipeline, writing under `output_root` whatever the page's output_path."""

        def _write_output(self, page):
            path = Path(page.output_path)
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
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, page.rendered_html, encoding="utf-8")

    stats = BuildStats()
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


def _render(site, pages, sample, workdir):
    chosen, sampled = even_sample(pages, sample)
    output_root = Path(workdir) / "render-output"
    output_root.mkdir(parents=True, exist_ok=True)
    original_output = Path(site.output_dir)
    saved = [(page, dict(vars(page))) for page in chosen if hasattr(page, "__dict__")]
    prepared = not _prepared(site)  # whether we prepare it here
    result = {"available": True, "reason": None, "render_ns": [], "pages": 0,
              "sampled": sampled, "errors": [], "prepared": prepared, "prepare_ns": 0,
              "setup_ns": 0, "warmup_ns": 0}
    errors = []
    stats = None
    site.output_dir = output_root
    try:
        with captured_output():
            start = time.perf_counter_ns()
            if prepared:
                _prepare(site)
            result["prepare_ns"] = time.perf_counter_ns() - start
            start = time.perf_counter_ns()
            pipeline, stats = _pipeline(site, output_root, original_output)
            result["setup_ns"] = time.perf_counter_ns() - start
            # Untimed, one page per template: the parser and the templates are compiled on
            # first use, once per worker, not per page.
            start = time.perf_counter_ns()
            for page in _one_per_template(pipeline, chosen):
                try:
                    pipeline.process_page(page)
                except Exception:
                    pass  # it fails again, and is reported, below
            result["warmup_ns"] = time.perf_counter_ns() - start
            for page in chosen:
                start = time.perf_counter_ns()
                try:
                    pipeline.process_page(page)
                except Exception as exc:
                    errors.append("%s: %s" % (getattr(page, "source_path", "?"), describe(exc)))
                    continue
                result["render_ns"].append(time.perf_counter_ns() - start)
        for error in getattr(stats, "template_errors", None) or []:
            errors.append("template error: %s" % (getattr(error, "message", None) or error))
    finally:
        site.output_dir = original_output
        for page, attrs in saved:
            page.__dict__.clear()
            page.__dict__.update(attrs)
    result["pages"] = len(result["render_ns"])
    result["failed"] = len(errors)
    result["errors"] = errors[:MAX_ERRORS]
    result["method"] = (
        "bengal.rendering.pipeline.RenderingPipeline(site, quiet=True).process_page(page) "
        "per page, sequential, output written under the work directory%s; timed after an "
        "untimed warm-up render of one page per template" % (
            " after preparing the discovered site like a build does (sections, taxonomies, "
            "menus, related posts)" if prepared else ""))
    return result

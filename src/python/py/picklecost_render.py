"""What rendering one page costs with the site's own generator, on this machine.

`render_cost(site, pages, sample, workdir)` renders pages of an already loaded site through the
generator's pipeline and times each page: the work a worker does per page, to set against what
shipping the page to that worker costs.

Bengal: `bengal.rendering.pipeline.RenderingPipeline(site).process_page(page)`, the call Bengal's
RenderOrchestrator makes for every page of a build (parse Markdown, apply the Jinja template,
write the HTML). A site at the "discovered" stage first gets what a build does between discovery
and rendering: section finalization, taxonomies, menus and the related-posts index.

Nothing is written into the site: `site.output_dir` points into `workdir` while rendering (the
Jinja bytecode cache lives there too) and the pipeline's write goes under it.

The graph is mutated, so run this after the pickle measurements: each rendered page's instance
attributes are restored afterwards (rendered_html, parsed_ast, toc, output_path...), but a site
at the discovered stage keeps the preparation (taxonomies, menus, generated tag and section
index pages in site.pages), and objects the pages share may keep caches.
"""

import contextlib
import datetime
import io
import os
import time
from pathlib import Path

MAX_ERRORS = 5


def _message(exc):
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return "%s: %s" % (type(exc).__name__, first) if first else type(exc).__name__


@contextlib.contextmanager
def _quiet():
    """Bengal prints progress to stdout: keep it off the tool's terminal."""
    try:
        from picklecost_load import captured_output  # also silences fd 1, when registered
    except ImportError:
        captured_output = None
    if captured_output is not None:
        with captured_output() as log:
            yield log
        return
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield log


def _is_bengal(site):
    return type(site).__module__.split(".")[0] == "bengal"


def _sample(pages, sample):
    """Evenly spaced pages, in order; (pages, sampled)."""
    if not sample or sample <= 0 or sample >= len(pages):
        return list(pages), False
    step = len(pages) / sample
    return [pages[int(i * step)] for i in range(sample)], True


# --- Bengal ------------------------------------------------------------------------------------

def _bengal_prepared(site):
    return bool(getattr(site, "menu", None) or getattr(site, "taxonomies", None))


def _bengal_prepare(site):
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


def _bengal_pipeline(site, output_root, original_output):
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


def _render_bengal(site, pages, sample, workdir):
    chosen, sampled = _sample(list(pages), sample)
    output_root = Path(workdir) / "render-output"
    output_root.mkdir(parents=True, exist_ok=True)
    original_output = Path(site.output_dir)
    saved = [(page, dict(vars(page))) for page in chosen if hasattr(page, "__dict__")]
    prepared = not _bengal_prepared(site)  # whether we prepare it here
    result = {"available": True, "reason": None, "render_ns": [], "pages": 0,
              "sampled": sampled, "errors": [], "prepared": prepared, "prepare_ns": 0,
              "setup_ns": 0, "warmup_ns": 0}
    errors = []
    stats = None
    site.output_dir = output_root
    try:
        with _quiet():
            start = time.perf_counter_ns()
            if prepared:
                _bengal_prepare(site)
            result["prepare_ns"] = time.perf_counter_ns() - start
            start = time.perf_counter_ns()
            pipeline, stats = _bengal_pipeline(site, output_root, original_output)
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
                    errors.append("%s: %s" % (getattr(page, "source_path", "?"), _message(exc)))
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


def render_cost(site, pages, sample=None, workdir=None):
    """{"available", "reason", "render_ns": [ns per rendered page], "pages", "sampled",
    "method", "errors", ...} for the given pages (a sample of them if `sample` is smaller)."""
    if not _is_bengal(site):
        return {"available": False,
                "reason": "render cost is only measured for Bengal sites (this one is %s.%s)"
                % (type(site).__module__, type(site).__qualname__),
                "render_ns": [], "pages": 0, "sampled": False, "method": None, "errors": []}
    if workdir is None:
        raise ValueError("render_cost needs a work directory to write the rendered pages to")
    os.makedirs(workdir, exist_ok=True)
    return _render_bengal(site, pages, sample, workdir)

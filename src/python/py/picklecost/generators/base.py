"""What every generator adapter offers; the generic behaviour a new adapter inherits.

An adapter knows how to detect its sites and its installed version, load a stage (`discovered`:
what a build has before rendering; `rendered`: after a full build, always in a copy of the site
outside it), name and sample the pages, build the default page payload (and the generator's own
worker payload, if it has one) and render one page for the render cost.
"""

import contextlib
import os
import shutil
import time
from pathlib import Path

from .. import limits, payloads
from ..util import LoadError, describe

MAX_ERRORS = 5

#: When the render-cost probe must stop (a `time.monotonic()` value; None: no limit), set
#: around an adapter's `render_cost` by `transports.render_cost` (`--render-limit`).
render_deadline = None


def past_render_deadline():
    """Whether the render-cost probe's time limit has passed."""
    return render_deadline is not None and time.monotonic() >= render_deadline


@contextlib.contextmanager
def render_deadline_at(when):
    """The body renders (or prepares rendering) until `when` (a `time.monotonic()` value; None:
    no limit); the deadline in force before is put back after it."""
    global render_deadline
    previous, render_deadline = render_deadline, when
    try:
        yield
    finally:
        render_deadline = previous


def site_relative(name, roots):
    """`name` relative to the first of `roots` it lies under (a page is named the same way
    wherever it was loaded from), else unchanged."""
    for root in roots:
        prefix = os.path.join(str(root), "")
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def printable(name):
    """A page name as text every report can hold: the bytes of a file name that is not UTF-8
    (`caf\\xe9.md`, decoded by Python with surrogate escapes) written as `\\xNN`."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _printable_keys(page_key):
    def printable_page_key(self, page):
        return printable(page_key(self, page))

    printable_page_key.__doc__ = page_key.__doc__
    printable_page_key.printable = True
    return printable_page_key


class Adapter:
    def __init_subclass__(cls, **kwargs):
        """Whatever an adapter's own `page_key` returns is made `printable`: page names reach
        results.json, report.md and the terminal, which hold UTF-8 only."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("page_key")
        if own is not None and not getattr(own, "printable", False):
            cls.page_key = _printable_keys(own)

    #: The generator's name in reports ("bengal").
    name = "?"
    #: Dict fields of the default page view as plain data (`payloads.plain_data`): what a
    #: worker payload of a generator whose metadata holds live objects carries.
    plain_dict_fields = False

    def detect(self, root):
        """Does this directory belong to this generator?"""
        return False

    def what_it_looks_for(self):
        """The files that make a directory this generator's site, for the error when none does."""
        return "%s: no site files" % self.name

    def version(self, root):
        """The installed version, or raise LoadError naming what is missing."""
        return "unknown"

    def load(self, root, stage, workdir):
        """(site, pages, build_root or None) for `stage`; output goes under `workdir`."""
        raise NotImplementedError

    def site_for(self, root, stage, workdir):
        """(directory to load, build_root): the site itself for `discovered`; for `rendered` a
        copy under `workdir` (a build writes into the site it builds), which is build_root."""
        if stage != "rendered":
            return Path(root), None
        build_root = Path(workdir) / "site"
        shutil.copytree(root, build_root, symlinks=True)
        return build_root, build_root

    def stage_method(self, stage, build_root):
        """How the stage was reached, in one sentence for the report's method section."""
        return "`%s`" % stage

    #: The work directory of the last `load` (adapters that write output there set it).
    scratch = None

    def scratch_note(self):
        """Where a load's output, caches and doctrees went, for `stage_method`."""
        return (" (output in the scratch directory `%s`, removed afterwards)" % self.scratch
                if self.scratch else "")

    #: The directories pages were loaded from (a rendered build, the private copy, the site),
    #: set by `generators.load`: page names are given relative to them.
    roots = ()

    def page_key(self, page):
        """The page's name in every report: its source file relative to the site root; a page
        whose source lies outside the site, or a virtual one, by the generator's own name."""
        return printable(self.relative_or_own(payloads.page_key(page), page))

    page_key.printable = True

    def relative_or_own(self, path, page):
        """`path` relative to the site root where it lies under it, else `own_name(page)`, else
        the path as given (a source outside the site that has no other name)."""
        if path:
            name = site_relative(str(path), self.roots)
            if not os.path.isabs(name):
                return name
        return self.own_name(page) or (str(path) if path else payloads.page_key(page))

    def own_name(self, page):
        """The generator's own name for a page that has no file in the site (its URL, a
        document name), or None."""
        return payloads.own_name(page)

    def page_virtual(self, page):
        """Whether the page has no source file of its own (generated by the generator)."""
        return payloads.is_virtual(page)

    def page_label(self, page):
        """The page's name in free text (error lines): marked when it is virtual."""
        name = self.page_key(page)
        return name + " (virtual)" if self.page_virtual(page) else name

    def strata(self, pages):
        return [(printable(group), size) for group, size in payloads.strata(pages)]

    def default_fields(self, page):
        return payloads.default_fields(page)

    def page_payload(self, page, fields, exclude_keys=None):
        out = payloads.subset(page, fields, exclude_keys)
        if self.plain_dict_fields:
            for name, value in out.items():
                if isinstance(value, dict):
                    out[name] = payloads.plain_data(value)
        return out

    def make_variant(self, root, dest, factor):
        """A copy of the site at `dest` with about `factor` times its content pages (fewer, or
        replicated under distinct paths), for the growth model; LoadError where the adapter
        cannot make one."""
        raise LoadError("--growth needs copies of the site with more or fewer pages, which the "
                        "%s adapter cannot make" % self.name)

    def own_payload(self, site):
        """The generator's own per-page worker payload, as a function page -> object, or None
        when the installed generator has none."""
        return None

    def own_payload_method(self):
        """What `own_payload` builds, in one sentence for the report."""
        return None

    def extra_roots(self, site):
        """Further whole-site objects worth shipping on their own, as {name: object} (Sphinx's
        build environment beside the unpicklable application): reported with the adapter's
        words until the pipeline measures them as payloads of their own."""
        return {}

    def render_cost_within(self, site, pages, sample, workdir, page_seconds):
        """`render_cost`, every page's render stopped after `page_seconds` (`--page-limit`; the
        pages `time_renders` renders, that is)."""
        with limits.page_limit(page_seconds):
            return self.render_cost(site, pages, sample, workdir)

    def render_cost(self, site, pages, sample, workdir):
        return {"available": False,
                "reason": "render cost is only measured for generators picklecost knows "
                          "(this one is %s.%s)" % (type(site).__module__, type(site).__qualname__),
                "render_ns": [], "pages": 0, "sampled": False, "method": None, "errors": []}

    # --- scale: per-page rendering in workers (picklecost.scale) --------------------------------

    def renderer(self, site, workdir):
        """An object with `render(page) -> str` (the page's HTML, nothing written into the site;
        safe to call from several threads) and `close()` (undo what rendering changed)."""
        raise NotImplementedError("%s has no per-page renderer" % self.name)

    def renderer_method(self):
        """What `renderer` calls per page, in one sentence for the report."""
        return None

    def worker_modules(self, site, pages):
        """The modules a worker that renders pages imports first (the entry points whose import
        chain is traced where a sub-interpreter refuses one)."""
        names = {type(site).__module__}
        names.update(type(page).__module__ for page in pages[:1])
        return sorted(n for n in names if n and n != "builtins" and not n.startswith("__"))

    def markdown_source(self, page):
        """The page's Markdown source text."""
        text = getattr(page, "_raw_content", None)
        return text if isinstance(text, str) else getattr(page, "content", "")

    def markdown_parsers(self):
        """Markdown parsers to try, in order: {"parser": words, "modules": [...], "setup": source
        text defining `_pc_markdown(text) -> str`}."""
        return list(GENERIC_MARKDOWN_PARSERS)


GENERIC_MARKDOWN_PARSERS = (
    {"parser": "mistune (mistune.html)", "modules": ["mistune"],
     "setup": "import mistune\n_pc_markdown = mistune.html\n"},
    {"parser": "patitas (patitas.Markdown())", "modules": ["patitas"],
     "setup": "from patitas import Markdown\n_pc_markdown = Markdown()\n"},
    {"parser": "Python-Markdown (markdown.markdown)", "modules": ["markdown"],
     "setup": "import markdown\n_pc_markdown = markdown.markdown\n"},
    {"parser": "markdown-it-py (MarkdownIt().render)", "modules": ["markdown_it"],
     "setup": "from markdown_it import MarkdownIt\n_pc_markdown = MarkdownIt().render\n"},
)

def time_renders(chosen, sampled, render, key, warmup=(), method=None):
    """The render-cost result every adapter returns: `render(page)` timed once per page of
    `chosen` after untimed `render(page)` calls for `warmup` (templates compiled on first use,
    once per worker, not per page); failures are counted and the first few reported. Each timed
    render is stopped at the page limit in force (`limits.page_limit`, `--page-limit`) and
    reported as a failure of that page. `render_pages[i]` names the page `render_ns[i]` timed."""
    result = {"available": True, "reason": None, "render_ns": [], "render_pages": [], "pages": 0,
              "sampled": sampled, "errors": [], "method": method, "warmup_ns": 0}
    errors = []
    start = time.perf_counter_ns()
    seconds = limits.PAGE_SECONDS.get()
    stopped = {}  # id(page) -> the TimeLimit of its warm-up render: not waited for twice
    for page in warmup:
        try:
            with limits.time_limit(seconds, "the render (--page-limit)"):
                render(page)
        except limits.TimeLimit as exc:
            stopped[id(page)] = exc
        except Exception:  # noqa: BLE001 - it fails again, and is reported, below
            pass
    result["warmup_ns"] = time.perf_counter_ns() - start
    result["chosen"] = len(chosen)
    for page in chosen:
        if past_render_deadline():
            result["cut"] = "rendering"
            break
        if id(page) in stopped:
            errors.append("%s: %s" % (key(page), describe(stopped[id(page)])))
            continue
        try:
            with limits.time_limit(seconds, "the render (--page-limit)"):
                start = time.perf_counter_ns()
                render(page)
                elapsed = time.perf_counter_ns() - start
        except (Exception, limits.TimeLimit) as exc:  # noqa: BLE001 - reported per page
            errors.append("%s: %s" % (key(page), describe(exc)))
            continue
        result["render_ns"].append(elapsed)
        result["render_pages"].append(key(page))
    result["pages"] = len(result["render_ns"])
    result["failed"] = len(errors)
    result["errors"] = errors[:MAX_ERRORS]
    if not result["render_ns"] and errors:
        result["available"] = False
        result["reason"] = "no page rendered: %s" % errors[0]
    return result


def unavailable(reason):
    return {"available": False, "reason": reason, "render_ns": [], "pages": 0,
            "sampled": False, "method": None, "errors": []}

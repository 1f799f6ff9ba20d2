"""What every generator adapter offers; the generic behaviour a new adapter inherits.

An adapter knows how to detect its sites and its installed version, load a stage (`discovered`:
what a build has before rendering; `rendered`: after a full build, always in a copy of the site
outside it), name and sample the pages, build the default page payload (and the generator's own
worker payload, if it has one) and render one page for the render cost.
"""

from .. import payloads


class Adapter:
    #: The generator's name in reports ("bengal").
    name = "?"

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

    def stage_method(self, stage, build_root):
        """How the stage was reached, in one sentence for the report's method section."""
        return "`%s`" % stage

    def page_key(self, page):
        return payloads.page_key(page)

    def strata(self, pages):
        return payloads.strata(pages)

    def default_fields(self, page):
        return payloads.default_fields(page)

    def page_payload(self, page, fields, exclude_keys=None):
        return payloads.subset(page, fields, exclude_keys)

    def own_payload(self, site):
        """The generator's own per-page worker payload, as a function page -> object, or None
        when the installed generator has none."""
        return None

    def own_payload_method(self):
        """What `own_payload` builds, in one sentence for the report."""
        return None

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

"""The Pelican, MkDocs and Sphinx adapters.

Detection and the registry are tested in any environment. Loading, payloads and render cost need
the generator installed: scripts/test runs this file once more under each generator's venv
(`.venv-pelican`, ...) with PICKLECOST_REQUIRE_GENERATOR=<name>, and then a generator that cannot
be imported fails instead of skipping.
"""
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
import pathlib
import pickle
import stat
import sys
import tempfile
import types
import unittest

import _paths  # noqa: F401
from picklecost import generators
from picklecost.util import LoadError

SAMPLES = pathlib.Path(_paths.ROOT) / "samples"
REQUIRED = os.environ.get("PICKLECOST_REQUIRE_GENERATOR", "")
SITES = {"pelican": "pelican-blog", "mkdocs": "mkdocs-docs", "sphinx": "sphinx-docs"}


def adapter(name):
    return next(a for a in generators.ADAPTERS if a.name == name)


def installed(name):
    return importlib.util.find_spec(name) is not None


def snapshot(root):
    """Every file and directory under `root`: content digest, size, mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = pathlib.Path(dirpath) / name
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else None
            out[str(path.relative_to(root))] = (digest, st.st_size, st.st_mode)
    return out


@contextlib.contextmanager
def fd_output():
    """What the process writes to fds 1 and 2 meanwhile (a generator's logging must not)."""
    with tempfile.TemporaryFile() as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        text = []
        try:
            yield text
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            text.append(sink.read().decode("utf-8", "replace"))


class DetectionTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.dir.name)

    def tearDown(self):
        self.dir.cleanup()

    def test_registered(self):
        names = [a.name for a in generators.ADAPTERS]
        for name in ("bengal", "pelican", "mkdocs", "sphinx"):
            self.assertIn(name, names)

    def test_each_generator_by_its_files(self):
        cases = [("pelicanconf.py", "pelican"), ("mkdocs.yml", "mkdocs"), ("mkdocs.yaml", "mkdocs"),
                 ("conf.py", "sphinx"), ("source/conf.py", "sphinx")]
        for relative, name in cases:
            with self.subTest(relative), tempfile.TemporaryDirectory() as d:
                path = pathlib.Path(d) / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("")
                self.assertEqual(generators.detect(d).name, name)

    def test_samples_detected(self):
        for name, sample in SITES.items():
            self.assertEqual(generators.detect(SAMPLES / sample).name, name)

    def test_not_a_site_names_what_each_looks_for(self):
        with self.assertRaises(LoadError) as caught:
            generators.detect(self.root)
        message = str(caught.exception)
        for words in ("pelicanconf.py", "mkdocs.yml", "conf.py", "bengal.toml"):
            self.assertIn(words, message)

    def test_two_generators_claiming_a_directory(self):
        (self.root / "bengal.toml").write_text('[site]\ntitle = "x"\n')
        (self.root / "mkdocs.yml").write_text("site_name: x\n")
        with self.assertRaises(LoadError) as caught:
            generators.detect(self.root)
        message = str(caught.exception)
        self.assertIn("--generator", message)
        self.assertIn("bengal", message)
        self.assertIn("mkdocs", message)
        self.assertEqual(generators.detect(self.root, "mkdocs").name, "mkdocs")
        self.assertEqual(generators.detect(self.root, "bengal").name, "bengal")

    def test_version_or_the_install_command(self):
        for name in SITES:
            with self.subTest(name):
                if installed(name):
                    self.assertEqual(adapter(name).version(self.root), importlib.metadata.version(name))
                else:
                    with self.assertRaises(LoadError) as caught:
                        adapter(name).version(self.root)
                    self.assertIn("pip install %s" % name, str(caught.exception))

    def test_dotted_fields(self):
        from picklecost import payloads

        class File:
            src_uri = "a.md"

        class Page:
            def __init__(self):
                self.file = File()
                self.markdown = "# A"

        page = Page()
        payloads.validate_fields(page, ["file.src_uri", "markdown"])
        self.assertEqual(payloads.subset(page, ["file.src_uri"]), {"file.src_uri": "a.md"})
        with self.assertRaises(payloads.FieldError):
            payloads.validate_fields(page, ["file.nope"])

    def test_plain_data(self):
        import datetime

        from picklecost import payloads

        class Tag:
            def __str__(self):
                return "tea"

        value = {"date": datetime.date(2024, 1, 2), "tags": (Tag(),), 1: {pathlib.Path("/a")}}
        self.assertEqual(payloads.plain_data(value),
                         {"date": "2024-01-02", "tags": ["tea"], "1": ["/a"]})


class GeneratorSite:
    """Both stages of one generator's sample: loaded, measured, rendered, the site untouched."""

    name = None
    #: Whether the root object pickles at ("discovered", "rendered").
    site_pickles = (False, False)

    def setUp(self):
        if not installed(self.name):
            if REQUIRED == self.name:
                self.fail("%s is not importable in %s: scripts/generator-venvs makes its venv"
                          % (self.name, sys.executable))
            self.skipTest("%s is not installed in this environment (scripts/test runs these tests "
                          "under .venv-%s)" % (self.name, self.name))
        self.site = SAMPLES / SITES[self.name]
        self.work = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.work.cleanup()

    def load(self, stage):
        before = snapshot(self.site)
        workdir = pathlib.Path(self.work.name) / stage
        workdir.mkdir()
        with fd_output() as printed:
            loaded = generators.load(str(self.site), stage, None, str(workdir))
        self.assertEqual(printed, [""], "the generator printed while loading")
        self.assertEqual(snapshot(self.site), before, "loading changed the site")
        return loaded, workdir

    def check_stage(self, stage, pickles):
        loaded, workdir = self.load(stage)
        self.assertEqual(loaded.generator, self.name)
        self.assertEqual(loaded.generator_version, importlib.metadata.version(self.name))
        self.assertTrue(loaded.pages)
        if stage == "rendered":
            self.assertTrue(loaded.build_root.startswith(str(workdir)))
        else:
            self.assertIn(str(workdir), loaded.stage_method)
        a = loaded.adapter
        if pickles:
            pickle.dumps(loaded.site, 5)
        else:
            with self.assertRaises(Exception):
                pickle.dumps(loaded.site, 5)
        fields = a.default_fields(loaded.pages[0])
        self.assertEqual(len(fields), 4)
        keys = set()
        for page in loaded.pages:
            key = a.page_key(page)
            keys.add(key)
            # Named relative to the site root: the page's own source file in the site.
            self.assertFalse(os.path.isabs(key), key)
            self.assertTrue((self.site / key).is_file(), key)
            self.assertFalse(a.page_virtual(page), key)
            payload = a.page_payload(page, fields)
            pickle.loads(pickle.dumps(payload, 5))
            self.assertTrue(all(v is not None for v in payload.values()), payload)
        self.assertEqual(len(keys), len(loaded.pages), "page keys are unique")
        before = snapshot(self.site)
        with fd_output() as printed:
            result = a.render_cost(loaded.site, loaded.pages, 50, str(workdir / "render"))
        self.assertEqual(printed, [""], "the generator printed while rendering")
        self.assertEqual(snapshot(self.site), before, "rendering changed the site")
        self.assertTrue(result["available"], result)
        self.assertEqual(result["errors"], [])
        self.assertEqual(result["pages"], len(loaded.pages))
        self.assertEqual(len(result["render_ns"]), len(loaded.pages))
        self.assertTrue(result["method"])
        written = [p for p in workdir.rglob("*.html")]
        self.assertTrue(written, "the rendered output is under the work directory")
        return loaded

    def test_discovered(self):
        self.check_stage("discovered", self.site_pickles[0])

    def test_rendered(self):
        self.check_stage("rendered", self.site_pickles[1])


class PelicanTests(GeneratorSite, unittest.TestCase):
    name = "pelican"
    site_pickles = (True, False)

    def test_one_article_drags_the_context(self):
        loaded, _ = self.load("discovered")
        article = loaded.pages[0]
        self.assertIs(article._context, loaded.site.context)
        self.assertGreater(len(pickle.dumps(article, 5)), len(pickle.dumps(loaded.site.context, 5)) // 2)


class MkDocsTests(GeneratorSite, unittest.TestCase):
    name = "mkdocs"

    def test_the_autorefs_plugin_keeps_a_lambda(self):
        loaded, _ = self.load("discovered")
        with self.assertRaises(Exception) as caught:
            pickle.dumps(loaded.site.config, 5)
        self.assertIn("AutorefsPlugin", str(caught.exception))
        page = loaded.pages[0]
        self.assertTrue(page.content, "the Markdown is rendered at the discovered stage")


class SphinxTests(GeneratorSite, unittest.TestCase):
    name = "sphinx"

    def test_environment_pickles_beside_the_application(self):
        loaded, _ = self.load("discovered")
        extra = loaded.adapter.extra_roots(loaded.site)
        self.assertIs(extra["env"], loaded.site.env)
        self.assertGreater(len(pickle.dumps(extra["env"], 5)), 10_000)
        docnames = {p.docname for p in loaded.pages}
        self.assertEqual(docnames, set(loaded.site.env.found_docs))


if __name__ == "__main__":
    unittest.main()


class PageNameTests(unittest.TestCase):
    """Every adapter names a page relative to the site root, and a virtual one (no file of its
    own) by the generator's own name, marked."""

    def setUp(self):
        self.work = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.work.name) / "copy"
        (self.root / "content").mkdir(parents=True)
        (self.root / "content" / "a.md").write_text("# a\n")

    def tearDown(self):
        self.work.cleanup()

    def adapter(self, adapter):
        adapter.roots = (str(self.root),)
        return adapter

    def names(self, adapter, page):
        return adapter.page_key(page), adapter.page_virtual(page), adapter.page_label(page)

    def test_bengal_generated_pages_by_their_virtual_path(self):
        a = self.adapter(generators.Bengal())
        real = types.SimpleNamespace(source_path=self.root / "content" / "a.md", metadata={})
        tag = types.SimpleNamespace(
            source_path=self.root / ".bengal/generated/tags/tea/index.md",
            metadata={"_generated": True, "_virtual": True})
        self.assertEqual(self.names(a, real), ("content/a.md", False, "content/a.md"))
        self.assertEqual(self.names(a, tag), (".bengal/generated/tags/tea/index.md", True,
                                              ".bengal/generated/tags/tea/index.md (virtual)"))
        # Bengal 0.5's RuntimePage carries `virtual`; a source outside the site falls back to
        # the page's URL rather than an absolute path.
        runtime = types.SimpleNamespace(source_path="/elsewhere/api/x.md", virtual=True,
                                        metadata={}, url="/api/x/")
        self.assertEqual(self.names(a, runtime), ("/api/x/", True, "/api/x/ (virtual)"))

    def test_mkdocs_generated_files_by_their_src_uri(self):
        a = self.adapter(generators.MkDocs())
        real = types.SimpleNamespace(file=types.SimpleNamespace(
            src_uri="a.md", abs_src_path=str(self.root / "content" / "a.md"), generated_by=None))
        made = types.SimpleNamespace(file=types.SimpleNamespace(
            src_uri="tags.md", abs_src_path=None, generated_by="tags"))
        self.assertEqual(self.names(a, real), ("content/a.md", False, "content/a.md"))
        self.assertEqual(self.names(a, made), ("tags.md", True, "tags.md (virtual)"))

    def test_sphinx_documents_without_a_source_by_their_docname(self):
        a = self.adapter(generators.Sphinx())
        real = types.SimpleNamespace(docname="a", source_path=str(self.root / "content" / "a.md"))
        made = types.SimpleNamespace(docname="api/module", source_path=str(self.root / "api/module.rst"))
        self.assertEqual(self.names(a, real), ("content/a.md", False, "content/a.md"))
        self.assertEqual(self.names(a, made), ("api/module", True, "api/module (virtual)"))

    def test_pelican_documents_by_their_source_file(self):
        a = self.adapter(generators.Pelican())
        real = types.SimpleNamespace(source_path=str(self.root / "content" / "a.md"),
                                     relative_source_path="a.md")
        self.assertEqual(self.names(a, real), ("content/a.md", False, "content/a.md"))

    def test_a_source_outside_the_site_without_another_name_keeps_its_path(self):
        # A stable name (the same in every run), not one made of the object's identity.
        a = self.adapter(generators.Bengal())
        page = types.SimpleNamespace(source_path=pathlib.Path("/content/p1.md"), metadata={})
        self.assertEqual(self.names(a, page), ("/content/p1.md", False, "/content/p1.md"))

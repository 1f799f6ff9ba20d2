"""readtrace: read paths parsed, the plain data they read, and objects left as they were."""
import functools
import pickle
import unittest

import _paths  # noqa: F401
from picklecost import readset, readtrace


class Page:
    def __init__(self, n, prev=None):
        self.title = "t%d" % n
        self.metadata = {"tags": ["a", "b"], 3: "three"}
        self.prev = prev
        self.links = []

    @functools.cached_property
    def url(self):
        return "/%s/" % self.title

    def extract_links(self):
        self.links = ["/x/"]

    def get(self, key):
        return self.metadata.get(key)


class Section:
    def __init__(self, name, parent=None):
        self.name = name
        self.parent = parent

    @functools.cached_property
    def url(self):
        # Computes (and caches) the parent's url too: an object reached through this one.
        return "%s%s/" % (self.parent.url if self.parent else "/", self.name)


class Site:
    def __init__(self, pages):
        root = Section("docs")
        self.sections = [Section("guide", parent=root)]
        self.root = root
        self.pages = pages


class ReadPayloadsTest(unittest.TestCase):
    """The read payloads leave the measured graph as it was: a cached property reached through
    the site (a section's `url`) is computed in a fork, not written into the graph."""

    def setUp(self):
        self.pages = [Page(1), Page(2)]
        self.site = Site(self.pages)
        self.page_paths = [readtrace.parse(p) for p in ("page.title", "page.url")]
        self.site_paths = [readtrace.parse("site.sections[*].url")]

    def test_extracting_in_process_writes_a_reached_cached_property_into_the_graph(self):
        # Why the payloads are built in a fork: `_untouched` restores only the object read
        # directly, and the section is reached through the site.
        before = len(pickle.dumps(self.site, 5))
        readtrace.extract(self.site, self.site_paths)
        self.assertGreater(len(pickle.dumps(self.site, 5)), before)

    def test_payloads_built_in_a_fork_leave_the_graph_as_it_was(self):
        sizes = {p: len(pickle.dumps(self.site, p)) for p in (2, 4, 5)}
        built = readtrace.payloads_in_fork(self.site, self.pages, self.page_paths,
                                           self.site_paths, 30.0)
        self.assertNotIn("error", built)
        self.assertEqual(built["site"], {"sections": [{"url": "/docs/guide/"}]})
        self.assertEqual(built["pages"], [{"title": "t1", "url": "/t1/"},
                                          {"title": "t2", "url": "/t2/"}])
        self.assertEqual({p: len(pickle.dumps(self.site, p)) for p in sizes}, sizes)
        self.assertNotIn("url", vars(self.site.root))
        self.assertNotIn("url", vars(self.pages[0]))

    def test_a_failing_child_is_an_error_not_a_payload(self):
        built = readtrace.payloads_in_fork(self.site, self.pages, None, [], 30.0)
        self.assertIn("error", built)
        self.assertIn("building the read payloads", built["error"])


class ReadTraceTest(unittest.TestCase):
    def test_paths_parse_into_steps(self):
        self.assertEqual(readtrace.parse("page.metadata['tags'][*]"),
                         (("attr", "metadata"), ("key", "tags"), ("each",)))
        self.assertEqual(readtrace.parse("site.menu.get('main', 2)[*].url"),
                         (("attr", "menu"), ("attr", "get"), ("call", ("main", 2)), ("each",),
                          ("attr", "url")))
        self.assertEqual(readtrace.parse("page.f(?)"), (("attr", "f"), ("call", None)))
        self.assertEqual(readtrace.parse("page.metadata[3]"), (("attr", "metadata"), ("key", 3)))

    def test_extract_reads_what_the_paths_read_and_nothing_else(self):
        first = Page(1)
        page = Page(2, prev=first)
        paths = [readtrace.parse(p) for p in (
            "page.title", "page.metadata['tags'][*]", "page.prev", "page.prev.title",
            "page.url", "page.get('tags')", "page.missing")]
        got = readtrace.extract(page, paths)
        self.assertEqual(got, {"title": "t2", "metadata": {"tags": ["a", "b"]},
                               "prev": {"title": "t1"}, "url": "/t2/",
                               "get": {"('tags')": ["a", "b"]}})
        # A page without a previous one: the reference is read as None, also where only paths
        # below it were read (a template that tests it first).
        self.assertIsNone(readtrace.extract(first, paths)["prev"])
        self.assertEqual(readtrace.extract(first, [readtrace.parse("page.prev.title")]),
                         {"prev": None})
        # The cached property is not left in the page (it would grow the pickled page).
        self.assertNotIn("url", vars(page))

    def test_an_attribute_and_a_key_of_one_name_read_both_into_one_dict(self):
        # Bengal 0.5's Config answers `config.build.strict_mode` and `config['build'][...]`.
        class Section(dict):
            def __getattr__(self, name):
                return Section(self[name]) if isinstance(self[name], dict) else self[name]

        class Holder:
            config = Section({"build": {"strict_mode": False, "fast_mode": True, "x": 1}})

        paths = [readtrace.parse(p) for p in (
            "site.config.build.strict_mode", "site.config['build']['fast_mode']")]
        self.assertEqual(readtrace.extract(Holder(), paths),
                         {"config": {"build": {"strict_mode": False, "fast_mode": True}}})
        paths.reverse()
        self.assertEqual(readtrace.extract(Holder(), paths),
                         {"config": {"build": {"strict_mode": False, "fast_mode": True}}})

    def test_a_method_called_leaves_its_object_as_it_was(self):
        page = Page(1)
        before = len(pickle.dumps(page))
        readtrace.extract(page, [readtrace.parse("page.extract_links()")])
        self.assertEqual(page.links, [])
        self.assertEqual(len(pickle.dumps(page)), before)

    def test_read_paths_split_page_and_site_and_leave_out_actions(self):
        trace = readset.Trace(None, [])
        rs = {"page_paths": [{"path": "page.title"}, {"path": "page.extract_links()"}],
              "page_calls": [{"field": "extract_links"}],
              "other_pages": [{"path": "page.prev.title"}, {"path": "site.pages[*].title"}],
              "site_paths": [{"path": "site.config['baseurl']"}]}
        page, site = readtrace.read_paths(rs)
        self.assertEqual(page, [(("attr", "prev"), ("attr", "title")), (("attr", "title"),)])
        self.assertEqual(site, [(("attr", "config"), ("key", "baseurl")),
                                (("attr", "pages"), ("each",), ("attr", "title"))])
        self.assertIsNotNone(trace)


if __name__ == "__main__":
    unittest.main()

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
        # A page without a previous one: the reference is read as None.
        self.assertIsNone(readtrace.extract(first, paths)["prev"])
        # The cached property is not left in the page (it would grow the pickled page).
        self.assertNotIn("url", vars(page))

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

"""readproof: pages rendered from stand-ins holding only the read set, reads outside it added."""
import unittest

import _paths  # noqa: F401
from picklecost import readproof, readset


class Site:
    def __init__(self):
        self.name = "S"
        self.secret = "never read"


class Page:
    def __init__(self, site, n):
        self.site = site
        self.title = "p%d" % n
        self.meta = {"tags": ["a"], "n": n}
        self.hidden = "h%d" % n


def render(page):
    return "%s|%s|%s" % (page.title, page.site.name, ",".join(page.meta["tags"]))


def render_more(page):
    return render(page) + "|" + page.hidden


class ReadProofTest(unittest.TestCase):
    def setUp(self):
        self.site = Site()
        self.pages = [Page(self.site, n) for n in (1, 2)]
        trace = readset.Trace(self.site, self.pages)
        self.read_set = readset.traced_renders(trace, self.pages, render,
                                               lambda p: trace.render(p, render))

    def test_the_read_set_renders_every_page_identically(self):
        out = readproof.prove(self.pages, self.site, self.read_set, render,
                              lambda page_in, site_in: render(page_in))
        self.assertEqual((out["pages"], out["identical"], out["added"]), (2, 2, []))

    def test_a_read_outside_is_added_until_the_page_renders(self):
        out = readproof.prove(self.pages, self.site, self.read_set, render_more,
                              lambda page_in, site_in: render_more(page_in))
        self.assertEqual((out["identical"], out["added"]), (2, ["page.hidden"]))

    def test_a_stand_in_holds_only_the_read_data(self):
        misses = []
        page_in, site_in = readproof.stand_ins(
            self.pages[0], self.site, readproof.readtrace.read_paths(self.read_set),
            self.read_set, misses)
        self.assertIs(page_in.site, site_in)
        self.assertEqual(dict(page_in.meta), {"tags": ["a"]})
        with self.assertRaises(AttributeError):
            site_in.secret
        self.assertEqual(misses, ["site.secret"])

    def test_the_site_is_put_where_the_page_holds_it_and_nowhere_else(self):
        # `page._section._site` was traced on a page in a section; a page outside any section
        # (`_section` None) keeps None there, not an empty stand-in a template would read on.
        misses = []
        site_in = readproof.StandIn({"name": "S"}, "site", misses)
        steps = readproof.readtrace.parse("page._section._site")
        outside = readproof.StandIn({"_section": None}, "page", misses)
        readproof._put_site(outside, steps, site_in, misses)
        self.assertIsNone(outside._section)
        inside = readproof.StandIn({"_section": {"name": "docs"}}, "page", misses)
        readproof._put_site(inside, steps, site_in, misses)
        self.assertIs(inside._section._site, site_in)
        bare = readproof.StandIn({}, "page", misses)
        readproof._put_site(bare, steps, site_in, misses)
        self.assertIs(bare._section._site, site_in)
        with self.assertRaises(AttributeError):
            bare._section.name
        self.assertEqual(misses, ["page._section.name"])


if __name__ == "__main__":
    unittest.main()

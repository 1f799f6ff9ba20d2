"""readset: the recording proxy records what a render reads, and changes nothing it renders."""
import datetime
import unittest

import _paths  # noqa: F401
from picklecost import readset


class Site:
    def __init__(self):
        self.config = {"baseurl": "/b", "title": "T"}
        self.pages = []


class Page:
    def __init__(self, site, n):
        self._site = site
        self.title = "p%d" % n
        self.date = datetime.date(2024, 1, n)
        self.metadata = {"tags": ["a", "b"], "weight": n}
        self.next = None

    @property
    def url(self):
        return "/p%d/" % self.metadata["weight"]


def render(page):
    parts = [page.title, page.date.isoformat(), page._site.config["baseurl"], page.url]
    parts += [tag for tag in page.metadata.get("tags", [])]
    if page.next is not None:
        parts.append(page.next.title)
    page.rendered = "x"
    parts.append(page.rendered)
    assert isinstance(page, Page)
    return "|".join(parts)


class ReadSetTest(unittest.TestCase):
    def setUp(self):
        self.site = Site()
        self.site.pages = [Page(self.site, n) for n in (1, 2, 3)]
        self.site.pages[0].next = self.site.pages[1]

    def test_paths_are_classified_and_counted(self):
        trace = readset.Trace(self.site, self.site.pages)
        out = readset.traced_renders(trace, self.site.pages, render,
                                     lambda p: trace.render(p, render))
        self.assertEqual((out["pages"], out["identical"]), (3, 3))
        fields = {f["field"]: f["count"] for f in out["page_fields"]}
        self.assertEqual(fields, {"title": 3, "date": 3, "url": 3, "metadata": 3, "next": 4})
        self.assertEqual([p["path"] for p in out["site_paths"]], ["site.config['baseurl']"])
        self.assertEqual(out["other_pages"], [{"path": "page.next.title", "count": 1}])
        self.assertEqual(out["produced"], ["rendered"])
        paths = [p["path"] for p in out["page_paths"]]
        self.assertIn("page.metadata['tags'][*]", paths)

    def test_a_site_value_that_differs_between_pages_varies(self):

        trace = readset.Trace(self.site, self.site.pages)
        for page in self.site.pages:
            self.site.config["title"] = page.title
            trace.render(page, lambda p: p._site.config["title"])
        site = {p["path"]: p["varies"] for p in trace.summary()["site_paths"]}
        self.assertEqual(site, {"site.config['title']": True})

    def test_a_changed_render_is_reported_with_its_first_differing_line(self):
        trace = readset.Trace(self.site, self.site.pages)
        out = readset.traced_renders(trace, self.site.pages[:1], lambda p: "a\nb",
                                     lambda p: trace.render(p, lambda q: "a\nc"))
        self.assertEqual(out["identical"], 0)
        self.assertEqual(out["different"][0]["line"], 2)


if __name__ == "__main__":
    unittest.main()

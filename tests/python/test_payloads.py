import pathlib
import unittest

import _paths  # noqa: F401
from picklecost import payloads


class Page:
    __slots__ = ("extra",)

    def __init__(self):
        self.extra = 1

    @property
    def title(self):
        return "T"


class DictPage:
    def __init__(self, source, content):
        self.source_path = pathlib.Path(source)
        self.content = content
        self.metadata = {"k": [1, 2]}


class PayloadTests(unittest.TestCase):
    def test_subset_turns_paths_into_strings_and_keeps_other_values(self):
        page = DictPage("/site/content/a.md", "hello")
        got = payloads.subset(page, ["source_path", "content", "metadata"])
        self.assertEqual(got, {"source_path": "/site/content/a.md", "content": "hello",
                               "metadata": {"k": [1, 2]}})
        self.assertIs(got["metadata"], page.metadata)

    def test_subset_drops_excluded_keys_from_a_copy(self):
        page = DictPage("/a.md", "x")
        page.metadata = {"keep": 1, "_posts": [page]}
        got = payloads.subset(page, ["metadata"], {"metadata": ["_posts"]})
        self.assertEqual(got, {"metadata": {"keep": 1}})
        self.assertIn("_posts", page.metadata)

    def test_available_fields_lists_attributes_slots_and_properties(self):
        self.assertEqual(payloads.available_fields(DictPage("a", "b")),
                         ["content", "metadata", "source_path"])
        self.assertEqual(payloads.available_fields(Page()), ["extra", "title"])

    def test_unknown_fields_name_what_is_available(self):
        with self.assertRaises(payloads.FieldError) as caught:
            payloads.validate_fields(DictPage("a", "b"), ["content", "bogus"])
        message = str(caught.exception)
        self.assertIn("bogus", message)
        self.assertIn("available: content, metadata, source_path", message)

    def test_mapping_pages_use_their_keys(self):
        page = {"source_path": pathlib.Path("/a.md"), "body": "x", 3: "not a field"}
        self.assertEqual(payloads.available_fields(page), ["body", "source_path"])
        self.assertEqual(payloads.default_fields(page), ["source_path"])
        self.assertEqual(payloads.subset(page, ["source_path", "body"]),
                         {"source_path": "/a.md", "body": "x"})
        self.assertEqual(payloads.page_key(page), "/a.md")

    def test_defaults_per_generator(self):
        from picklecost.generators.bengal import Bengal
        from picklecost.generators.custom import Custom

        self.assertEqual(Bengal().default_fields(None),
                         ["source_path", "content", "metadata", "output_path"])
        custom = Custom("x:y")
        self.assertEqual(custom.default_fields(None), payloads.FALLBACK_FIELDS)
        self.assertEqual(custom.default_fields(DictPage("a", "b")),
                         ["source_path", "content", "metadata"])
        self.assertEqual(custom.default_fields(Page()), ["extra", "title"])

    def test_strata_group_by_directory_and_size(self):
        pages = [DictPage("/s/a/x.md", "12345"), DictPage("/s/b/y.md", "")]
        self.assertEqual(payloads.strata(pages), [("/s/a", 5), ("/s/b", 0)])
        self.assertEqual(payloads.page_key(pages[0]), "/s/a/x.md")


if __name__ == "__main__":
    unittest.main()

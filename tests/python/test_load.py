import os
import pathlib
import sys
import tempfile
import unittest

import _paths  # noqa: F401
from picklecost import generators as load
from picklecost import util


class CustomLoaderTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.dir.name)
        (self.root / "proj_loader.py").write_text(
            "class Site:\n"
            "    def __init__(self, root):\n"
            "        self.root = root\n"
            "        self.pages = [1, 2, 3]\n"
            "def load(root):\n"
            "    print('chatter that must not reach the terminal')\n"
            "    return Site(root)\n"
            "def pair(root):\n"
            "    return ('site', ['a', 'b'])\n"
            "def boom(root):\n"
            "    raise ValueError('the config is wrong')\n"
            "def nopages(root):\n"
            "    return object()\n"
        )

    def tearDown(self):
        sys.path[:] = [p for p in sys.path if p != str(self.root)]
        sys.modules.pop("proj_loader", None)
        self.dir.cleanup()

    def test_site_with_pages_attribute(self):
        loaded = load.load(str(self.root), "discovered", "proj_loader:load", "/nonexistent")
        self.assertEqual(loaded.pages, [1, 2, 3])
        self.assertEqual(loaded.generator, "custom:proj_loader:load")
        self.assertIn("chatter", loaded.log)

    def test_tuple_result(self):
        loaded = load.load(str(self.root), "discovered", "proj_loader:pair", "/nonexistent")
        self.assertEqual((loaded.site, loaded.pages), ("site", ["a", "b"]))

    def test_errors_are_load_errors_with_the_cause(self):
        cases = {
            "proj_loader:boom": "raised ValueError: the config is wrong",
            "proj_loader:missing": "has no function 'missing'",
            "no_such_module:f": "module 'no_such_module' not found",
            "proj_loader:nopages": "without a `pages` attribute",
            "justamodule": "must look like module:function",
        }
        for spec, expected in cases.items():
            with self.subTest(spec=spec):
                with self.assertRaises(load.LoadError) as caught:
                    load.load(str(self.root), "discovered", spec, "/nonexistent")
                self.assertIn(expected, str(caught.exception))

    def test_import_writes_no_bytecode_into_the_site(self):
        load.load(str(self.root), "discovered", "proj_loader:load", "/nonexistent")
        self.assertFalse((self.root / "__pycache__").exists())

    def test_not_a_site(self):
        with self.assertRaises(load.LoadError) as caught:
            load.load(str(self.root), "discovered", None, "/nonexistent")
        self.assertIn("no bengal.toml", str(caught.exception))

    def test_broken_bengal_toml_is_refused(self):
        (self.root / "bengal.toml").write_text("[site\ntitle = 1\n")
        with self.assertRaises(load.LoadError) as caught:
            load.load(str(self.root), "discovered", None, "/nonexistent")
        self.assertIn("is not valid TOML", str(caught.exception))


class CapturedOutputTests(unittest.TestCase):
    def test_fd_level_writes_are_captured_and_stdout_restored(self):
        before = os.fstat(1)
        with util.captured_output() as log:
            print("python-level")
            os.write(1, b"fd-level\n")
        self.assertIn("python-level", log.getvalue())
        after = os.fstat(1)
        self.assertEqual((before.st_dev, before.st_ino), (after.st_dev, after.st_ino))


if __name__ == "__main__":
    unittest.main()

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
        self.scratch = tempfile.TemporaryDirectory()
        self.work = self.scratch.name
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
            "def staged(root, stage):\n"
            "    site = Site(root)\n"
            "    site.stage = stage\n"
            "    (root / 'built-here.txt').write_text(stage)\n"
            "    return site\n"
            "def make_variant(root, dest, factor):\n"
            "    import pathlib\n"
            "    pathlib.Path(dest).mkdir()\n"
            "    (pathlib.Path(dest) / 'factor.txt').write_text(repr(factor))\n"
        )

    def tearDown(self):
        sys.path[:] = [p for p in sys.path if p != str(self.root)]
        sys.modules.pop("proj_loader", None)
        self.dir.cleanup()
        self.scratch.cleanup()

    def test_site_with_pages_attribute(self):
        loaded = load.load(str(self.root), "discovered", "proj_loader:load", self.work)
        self.assertEqual(loaded.pages, [1, 2, 3])
        self.assertEqual(loaded.generator, "custom:proj_loader:load")
        self.assertIn("chatter", loaded.log)

    def test_tuple_result(self):
        loaded = load.load(str(self.root), "discovered", "proj_loader:pair", self.work)
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
                    load.load(str(self.root), "discovered", spec, self.work)
                self.assertIn(expected, str(caught.exception))

    def test_make_variant_is_the_loader_modules_own_or_a_load_error(self):
        loaded = load.load(str(self.root), "discovered", "proj_loader:load", self.work)
        dest = pathlib.Path(self.work) / "variant"
        self.assertEqual(loaded.adapter.make_variant(str(self.root), str(dest), 0.25), str(dest))
        self.assertEqual((dest / "factor.txt").read_text(), "0.25")
        del sys.modules["proj_loader"].make_variant
        with self.assertRaises(load.LoadError) as caught:
            loaded.adapter.make_variant(str(self.root), str(dest) + "2", 2.0)
        self.assertIn("needs make_variant(root, dest, factor) in module 'proj_loader'", str(caught.exception))

    def test_import_writes_no_bytecode_into_the_site(self):
        load.load(str(self.root), "discovered", "proj_loader:load", self.work)
        self.assertFalse((self.root / "__pycache__").exists())

    def test_loader_with_a_stage_parameter_builds_a_copy_at_the_rendered_stage(self):
        with tempfile.TemporaryDirectory() as workdir:
            loaded = load.load(str(self.root), "rendered", "proj_loader:staged", workdir)
            self.assertEqual(loaded.site.stage, "rendered")
            self.assertEqual(loaded.build_root, str(pathlib.Path(workdir) / "site"))
            self.assertEqual(loaded.site.root, pathlib.Path(workdir) / "site")
            self.assertTrue((pathlib.Path(workdir) / "site" / "built-here.txt").is_file())
        self.assertFalse((self.root / "built-here.txt").exists())
        self.assertEqual(loaded.stage, "rendered")
        self.assertIn("temporary copy", loaded.stage_method)

    def test_loader_with_a_stage_parameter_gets_discovered_on_a_private_copy(self):
        loaded = load.load(str(self.root), "discovered", "proj_loader:staged", self.work)
        self.assertEqual(loaded.site.stage, "discovered")
        self.assertIsNone(loaded.build_root)
        # The loader wrote into the directory it was given: the copy, never the site.
        self.assertEqual(str(loaded.site.root), loaded.site_copy.copy)
        self.assertEqual((loaded.site.root / "built-here.txt").read_text(), "discovered")
        self.assertFalse((self.root / "built-here.txt").exists())

    def test_loader_without_a_stage_parameter_refuses_the_rendered_stage(self):
        with tempfile.TemporaryDirectory() as workdir:
            with self.assertRaises(load.LoadError) as caught:
                load.load(str(self.root), "rendered", "proj_loader:load", workdir)
        self.assertIn("cannot load the rendered stage", str(caught.exception))
        self.assertIn("`stage` keyword", str(caught.exception))

    def test_generator_by_name(self):
        (self.root / "bengal.toml").write_text("[site]\ntitle = 'x'\n")
        self.assertEqual(load.detect(str(self.root), "bengal").name, "bengal")
        with self.assertRaises(load.LoadError) as caught:
            load.detect(str(self.root), "jekyll")
        self.assertIn("--generator 'jekyll' is not one picklecost knows; choose one of bengal",
                      str(caught.exception))

    def test_not_a_site(self):
        with self.assertRaises(load.LoadError) as caught:
            load.load(str(self.root), "discovered", None, self.work)
        self.assertIn("no bengal.toml", str(caught.exception))

    def test_broken_bengal_toml_is_refused(self):
        (self.root / "bengal.toml").write_text("[site\ntitle = 1\n")
        with self.assertRaises(load.LoadError) as caught:
            load.load(str(self.root), "discovered", None, self.work)
        self.assertIn("is not valid TOML", str(caught.exception))

    def test_broken_bengal_yaml_is_refused(self):
        for text, message in (("site: [unclosed\n", "is not valid YAML"),
                              ("- a\n- b\n", "is not a YAML mapping (its top level is a list)")):
            with self.subTest(text=text):
                (self.root / "bengal.yaml").write_text(text)
                with self.assertRaises(load.LoadError) as caught:
                    load.load(str(self.root), "discovered", None, self.work)
                self.assertIn(message, str(caught.exception))
                self.assertIn("bengal.yaml", str(caught.exception))

    def test_config_directory_sites_are_bengal_sites(self):
        from picklecost.generators.bengal import Bengal, _has

        (self.root / "config" / "_default").mkdir(parents=True)
        (self.root / "config" / "_default" / "site.yaml").write_text("site: {title: [x\n")
        self.assertIs(type(load.detect(str(self.root))), Bengal)
        with self.assertRaises(load.LoadError) as caught:
            load.load(str(self.root), "discovered", None, self.work)
        if _has("bengal.config.directory_loader"):
            self.assertIn("site.yaml is not valid YAML", str(caught.exception))
        else:
            self.assertIn("cannot read", str(caught.exception))
            self.assertIn("config/_default/", str(caught.exception))


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

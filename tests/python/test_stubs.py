"""picklecost.stubs on its own: every blocker found by stubbing each in turn, the recording
stubs, the limit."""

import json
import os
import sys
import tempfile
import unittest

import _paths  # noqa: F401
from picklecost import stubs

HAS_SUBINTERPRETERS = sys.version_info >= (3, 13)

REFUSES = '''
import _interpreters
if _interpreters.get_current()[0] != _interpreters.get_main()[0]:
    raise ImportError("module %s does not support loading in subinterpreters" % __name__)
'''


class StubFor(unittest.TestCase):
    def test_a_private_extension_is_stubbed_through_its_public_module(self):
        chain = ["entry", "middle", "tracemalloc", "_tracemalloc"]
        self.assertEqual(stubs.stub_for(chain, "entry"), "tracemalloc")
        self.assertEqual(stubs.stub_for(["entry", "other"], "entry"), "other")
        # The entry point itself is never the stub for a private module it imports.
        self.assertEqual(stubs.stub_for(["entry", "_ext"], "entry"), "_ext")


class Recording(unittest.TestCase):
    def setUp(self):
        self.ns = {}
        exec(stubs.STUB_SOURCE, self.ns)
        self.finder = self.ns["_PcStubFinder"](["pcstubbed"])
        sys.meta_path.insert(0, self.finder)

    def tearDown(self):
        sys.meta_path.remove(self.finder)
        for name in [m for m in sys.modules if m.split(".")[0] == "pcstubbed"]:
            del sys.modules[name]

    def test_every_read_and_call_is_counted_by_name(self):
        import pcstubbed
        from pcstubbed import sub

        self.assertFalse(pcstubbed.is_tracing())
        pcstubbed.is_tracing()
        self.assertEqual(list(pcstubbed.items()), [])
        self.assertEqual(str(sub.render("x")), "")
        uses = json.loads(self.ns["_pc_stub_report"]())
        # `from pcstubbed import sub` reads the name twice (the import system checks for it,
        # then takes it): what the stub is asked is recorded as it is asked.
        self.assertEqual(uses, [
            {"name": "pcstubbed.is_tracing", "gets": 2, "calls": 2},
            {"name": "pcstubbed.items", "gets": 1, "calls": 1},
            {"name": "pcstubbed.sub", "gets": 2, "calls": 0},
            {"name": "pcstubbed.sub.render", "gets": 1, "calls": 1},
        ])


@unittest.skipUnless(HAS_SUBINTERPRETERS, "needs sub-interpreters")
class Blockers(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        files = {"entry.py": "import middle\nimport one\nimport two\n",
                 "middle.py": "import tracemalloc\ntracemalloc.get_traced_memory()\n",
                 "one.py": REFUSES, "two.py": REFUSES}
        for name, text in files.items():
            with open(os.path.join(self.tmp.name, name), "w") as f:
                f.write(text)
        sys.path.insert(0, self.tmp.name)

    def tearDown(self):
        sys.path.remove(self.tmp.name)
        self.tmp.cleanup()

    def test_each_blocker_is_found_once_the_ones_before_it_are_stubbed(self):
        found = stubs.blocked_chain("entry")
        self.assertEqual(found["chain"], ["entry", "middle", "tracemalloc", "_tracemalloc"])
        self.assertEqual([(b["module"], b["stub"]) for b in found["blockers"]],
                         [("_tracemalloc", "tracemalloc"), ("one", "one"), ("two", "two")])
        self.assertEqual(found["blockers"][2]["chain"], ["entry", "two"])
        self.assertTrue(found["loads_with_stubs"])
        self.assertEqual(found["stub_uses"],
                         [{"name": "tracemalloc.get_traced_memory", "gets": 1, "calls": 1}])

    def test_the_limit_stops_the_search(self):
        found = stubs.blockers("entry", limit=2)
        self.assertFalse(found["loads"])
        self.assertEqual(found["stubs"], ["tracemalloc", "one"])
        self.assertEqual(found["stopped"], "the limit of 2 stubs was reached")


if __name__ == "__main__":
    unittest.main()

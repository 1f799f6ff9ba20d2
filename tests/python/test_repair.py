import collections.abc
import dataclasses
import os
import pickle
import threading
import types
import unittest

import _paths  # noqa: F401 - puts the package on sys.path
from picklecost import explain, repair, walk

MARK = repair.MARKER


class Node:
    def __init__(self, **attrs):
        self.__dict__.update(attrs)


class FrozenList(list):
    """Like Bengal 0.5's: pickle saves it, loading cannot append its items back."""

    def _blocked(self, *args, **kwargs):
        raise TypeError("FrozenList is immutable")

    append = extend = __setitem__ = _blocked


class ListenedList(list):
    """Overrides append but accepts items: not repaired."""

    def append(self, item):
        super().append(item)


@dataclasses.dataclass(frozen=True, slots=True)
class Record:
    title: str
    props: object
    guard: object


class ViewMapping:
    """A read-only Mapping that refuses to be reduced (like a C view type)."""

    def __init__(self, data):
        self._data = data

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __reduce_ex__(self, protocol):
        raise TypeError("cannot pickle 'ViewMapping' object")


collections.abc.Mapping.register(ViewMapping)


class HalfBuiltOnLoad:
    """Pickles, but its __getattr__ fails while loading (BUILD looks up __setstate__)."""

    def __init__(self):
        self.state = 1

    def __getattr__(self, name):
        if name == "__setstate__":
            raise RuntimeError("half-built object asked for %s" % name)
        raise AttributeError(name)


def importable_function():
    return 1


def make_graph():
    """Every kind of culprit, one shared lock, and data around them."""
    shared = threading.RLock()
    proxy = types.MappingProxyType({"title": "T", "nested": types.MappingProxyType({"a": 1})})

    def local():
        return 0

    handle = open(os.devnull)
    pages = [Node(n=i, _init_lock=threading.RLock(),
                  record=Record("p%d" % i, types.MappingProxyType({"w": i}), shared),
                  tags=FrozenList(["a", "b"]))
             for i in range(3)]
    root = Node(
        pages=pages,
        meta=proxy,
        view=ViewMapping({"k": [1, 2]}),
        sync=[threading.Lock(), threading.Condition(), threading.Event(),
              threading.Semaphore(2)],
        running=[(i for i in range(2)), types],
        funcs=[lambda: 1, local, importable_function],
        out=handle,
        listened=ListenedList([1]),
    )
    return root, handle


class RepairTests(unittest.TestCase):
    def setUp(self):
        self.root, handle = make_graph()
        self.addCleanup(handle.close)

    def test_repaired_bytes_load_as_plain_stand_ins(self):
        data, repairs = repair.repaired_dumps(self.root, 5)
        self.assertEqual(repairs, {
            "builtins.mappingproxy": 5,           # meta, meta['nested'], 3 record.props
            "_thread.RLock": 4,                   # 3 _init_lock, 1 shared guard (counted once)
            "_thread.lock": 1,
            "threading.Condition": 1,
            "threading.Event": 1,
            "threading.Semaphore": 1,
            __name__ + ".ViewMapping": 1,
            __name__ + ".FrozenList": 3,
            "builtins.generator": 1,
            "builtins.module": 1,
            "builtins.function": 2,               # the lambda and the local function
            "_io.TextIOWrapper": 1,
        })
        back = pickle.loads(data)
        self.assertEqual(back.meta, {"title": "T", "nested": {"a": 1}})
        self.assertIs(type(back.meta), dict)
        self.assertEqual(back.view, {"k": [1, 2]})
        self.assertEqual(back.sync, [None, None, None, None])
        self.assertEqual(back.running, [(MARK, "builtins.generator"), (MARK, "builtins.module")])
        self.assertEqual(back.funcs, [(MARK, "builtins.function"), (MARK, "builtins.function"),
                                      importable_function])
        self.assertEqual(back.out, (MARK, "_io.TextIOWrapper"))
        self.assertIs(type(back.listened), ListenedList)
        for i, page in enumerate(back.pages):
            self.assertIsNone(page._init_lock)
            self.assertEqual(page.record, Record("p%d" % i, {"w": i}, None))
            self.assertEqual(page.tags, ["a", "b"])
            self.assertIs(type(page.tags), list)

    def test_markers_are_plain_data(self):
        data, _ = repair.repaired_dumps(Node(f=lambda: 0), 5)
        self.assertNotIn(b"picklecost.", data)  # loading never imports picklecost
        self.assertEqual(pickle.loads(data).f, ("picklecost:repaired", "builtins.function"))

    def test_measured_size_is_the_repaired_pickle_length(self):
        for protocol in (2, 4, 5):
            with self.subTest(protocol=protocol):
                data, repairs = repair.repaired_dumps(self.root, protocol)
                result = repair.measure_repaired(self.root, protocol, rounds=3)
                self.assertIsNone(result["error"])
                self.assertEqual(result["bytes"], len(data))
                self.assertEqual(result["repairs"], repairs)
                self.assertEqual(len(result["dumps_ns"]), 3)
                self.assertEqual(len(result["loads_ns"]), 3)
                self.assertTrue(all(t > 0 for t in result["dumps_ns"] + result["loads_ns"]))
                self.assertEqual(set(result), {"bytes", "dumps_ns", "loads_ns", "repairs",
                                               "error"})

    def test_the_graph_is_not_touched(self):
        root = self.root
        with self.assertRaises(Exception) as before:
            pickle.dumps(root, 5)
        culprits_before = explain.find_unpicklable(root, root="r")["failures"]
        ids = {name: id(value) for name, value in vars(root).items()}
        locks = [page._init_lock for page in root.pages]
        repair.repaired_dumps(root, 5)
        repair.measure_repaired(root, 5, rounds=2)
        with self.assertRaises(Exception) as after:
            pickle.dumps(root, 5)
        self.assertEqual((type(after.exception), str(after.exception)),
                         (type(before.exception), str(before.exception)))
        self.assertEqual(explain.find_unpicklable(root, root="r")["failures"], culprits_before)
        self.assertEqual({name: id(value) for name, value in vars(root).items()}, ids)
        self.assertIs(type(root.meta), types.MappingProxyType)
        self.assertIs(type(root.meta["nested"]), types.MappingProxyType)
        self.assertIs(type(root.pages[0].record.props), types.MappingProxyType)
        self.assertIs(type(root.pages[0].tags), FrozenList)
        self.assertEqual([page._init_lock for page in root.pages], locks)
        self.assertIsInstance(root.sync[1], threading.Condition)

    def test_what_still_does_not_pickle_is_the_error(self):
        class Local:
            pass

        result = repair.measure_repaired(Node(x=Local(), lock=threading.Lock()), 5, rounds=2)
        self.assertIsNone(result["bytes"])
        self.assertEqual(result["dumps_ns"], [])
        self.assertEqual(result["loads_ns"], [])
        self.assertTrue(result["error"].startswith("dumps: "), result["error"])
        self.assertIn("Local", result["error"])
        with self.assertRaises(Exception):
            repair.repaired_dumps(Node(x=Local()), 5)

    def test_bytes_that_do_not_load_are_reported(self):
        result = repair.measure_repaired(Node(h=HalfBuiltOnLoad(), lock=threading.Lock()), 5)
        self.assertEqual(result["repairs"], {"_thread.lock": 1})
        self.assertEqual(result["bytes"], len(repair.repaired_dumps(
            Node(h=HalfBuiltOnLoad(), lock=threading.Lock()), 5)[0]))
        self.assertEqual(result["loads_ns"], [])
        self.assertTrue(result["error"].startswith(
            "loads: RuntimeError: half-built object asked for __setstate__ (at "),
            result["error"])
        self.assertIn("in __getattr__)", result["error"])

    def test_a_graph_that_pickles_is_pickled_as_is(self):
        root = Node(a=[1, 2, {"x": "y"}], f=importable_function)
        data, repairs = repair.repaired_dumps(root, 5)
        self.assertEqual(repairs, {})
        self.assertEqual(data, pickle.dumps(root, 5))

    def test_deep_graph(self):
        # deeper than the default recursion limit (the C pickler recurses once or more per level)
        head = node = Node()
        for _ in range(1500):
            node.next = Node(lock=threading.Lock())
            node = node.next
        data, repairs = repair.repaired_dumps(head, 5)
        self.assertEqual(repairs, {"_thread.lock": 1500})
        self.assertEqual(repair.measure_repaired(head, 5, rounds=1)["bytes"], len(data))

    def test_repair_kind(self):
        self.assertEqual(repair.repair_kind(types.MappingProxyType({})), "dict")
        self.assertEqual(repair.repair_kind(threading.RLock()), "none")
        self.assertEqual(repair.repair_kind(lambda: 0), "marker")
        self.assertIsNone(repair.repair_kind(importable_function))
        self.assertIsNone(repair.repair_kind({"a": 1}))
        self.assertIsNone(repair.repair_kind(ListenedList()))
        self.assertEqual(repair.repair_kind(FrozenList()), "list")
        self.assertEqual(repair.repair_kind(walk), "marker")  # a module
        self.assertIsNone(repair.repair_kind(Node))  # classes are saved by reference


if __name__ == "__main__":
    unittest.main()

"""Writes pickle fixtures plus CPython's own view of them (manifest.json).

For every case the manifest carries pickletools.genops' opcode names and
positions, and the globals the real unpickler asks find_class for, so the Rust
tests compare against CPython rather than against themselves.
Usage: gen_fixtures.py OUTDIR
"""

import collections
import copyreg
import datetime
import decimal
import io
import json
import os
import pickle
import pickletools
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixmod  # noqa: E402

OBJECT_OPS = {
    "GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "EXT1", "EXT2", "EXT4", "PERSID",
    "BINPERSID", "REDUCE", "BUILD", "NEWOBJ", "NEWOBJ_EX", "NEXT_BUFFER",
    "READONLY_BUFFER",
}
MEMO_PUTS = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}
MEMO_GETS = {"GET", "BINGET", "LONG_BINGET"}

copyreg.add_extension("fixmod", "Ext1Cls", 1)
copyreg.add_extension("fixmod", "Ext2Cls", 300)
copyreg.add_extension("fixmod", "Ext4Cls", 70000)


class Persisted:
    def __init__(self, key):
        self.key = key


class PersistingPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Persisted):
            return obj.key
        return None


class RecordingUnpickler(pickle.Unpickler):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.seen = []

    def find_class(self, module, name):
        self.seen.append(f"{module}.{name}")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return Persisted(pid)


def values():
    l = [1]
    cyc = []
    cyc.append(cyc)
    dcyc = {}
    dcyc["self"] = dcyc
    rt = ([],)
    rt[0].append(rt)
    many = [f"s{i}" for i in range(300)]
    nested = {"k": [(1, {"x": {2, 3}}), [[[[]]]]], "f": frozenset({"a"})}
    return [
        ("ints", [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31 - 1, 2**31, 2**63, -(2**63) - 1], False),
        ("huge_long", [2**1000, -(2**3000) + 7], False),
        ("floats", [0.0, -1.5, 1e300, float("inf"), 5e-324], False),
        ("nan", float("nan"), False),
        ("strs", ["", "hello", "héllo wörld ☃ 🐍", "x" * 300, "a\nb\\c\r\x00"], False),
        ("bytes", [b"", b"\x00\xff\n", b"y" * 300], False),
        ("bytearray", bytearray(b"abc\x00"), False),
        ("tuples", [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)], False),
        ("list", [1, "a", None, 2.5], False),
        ("dict", {"a": 1, "b": [1, 2], 3: "c"}, False),
        ("set", {1, 2, 3}, False),
        ("frozenset", frozenset({1, 2}), False),
        ("big_list", list(range(2500)), False),
        ("big_dict", {f"k{i}": i for i in range(2500)}, False),
        ("big_set", set(range(2500)), False),
        ("nested", nested, False),
        ("singletons", [None, True, False], False),
        ("none", None, False),
        ("true", True, False),
        ("point", fixmod.Point(1, "two"), False),
        ("slotted", fixmod.Slotted(1, [2]), False),
        ("kwonly", fixmod.WithKw(k=5), False),
        ("shared", [l, l, "s", "s"], False),
        ("long_binget", many + many, False),
        ("list_cycle", cyc, True),
        ("dict_cycle", dcyc, True),
        ("recursive_tuple", rt, True),
        ("datetime", [datetime.datetime(2024, 1, 2, 3, 4, 5, 6), datetime.date(2020, 2, 29),
                      datetime.timedelta(days=1, seconds=2),
                      datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)], False),
        ("ordereddict", collections.OrderedDict([("a", 1), ("b", 2)]), False),
        ("defaultdict", collections.defaultdict(list, {"x": [1]}), False),
        ("decimal", decimal.Decimal("1.25"), False),
        ("classes", [fixmod.Point, fixmod.Outer, fixmod.Outer.Inner, len, int], False),
        ("ext", [fixmod.Ext1Cls, fixmod.Ext2Cls, fixmod.Ext4Cls], False),
        ("big_string", "z" * 200_000, False),
        ("big_bytes", b"q" * 70_000, False),
    ]


def ext_name(op, arg):
    return f"<ext:{arg}>"


def analyse(data, buffers=None, expected_globals=None):
    ops = []
    counts = collections.Counter()
    ext_targets = []
    proto = None
    end = 0
    for op, arg, pos in pickletools.genops(data):
        ops.append([op.name, pos])
        counts[op.name] += 1
        if op.name == "PROTO" and proto is None:
            proto = arg
        if op.name in ("EXT1", "EXT2", "EXT4"):
            ext_targets.append((arg, "%s.%s" % copyreg._inverted_registry[arg]))
        end = pos + 1
    if expected_globals is None:
        u = RecordingUnpickler(io.BytesIO(data), buffers=buffers)
        u.load()
        seen = u.seen
        # EXT opcodes are resolved through copyreg, which a static analyser
        # cannot see; it reports them as <ext:CODE> instead.
        for code, name in ext_targets:
            if name in seen:
                seen.remove(name)
            seen.append(f"<ext:{code}>")
        expected_globals = seen
    return {
        "ops": ops,
        "globals": sorted(expected_globals),
        "protocol": proto,
        "size": end,
        "frames": counts["FRAME"],
        "buffers": counts["NEXT_BUFFER"],
        "memo_puts": sum(counts[o] for o in MEMO_PUTS),
        "memo_gets": sum(counts[o] for o in MEMO_GETS),
        "object_ops": any(counts[o] for o in OBJECT_OPS),
    }


# Opcodes CPython 3 never writes (or only for >4 GiB objects), hand-assembled.
HANDCRAFTED = [
    ("inst", b"(ifixmod\nPoint\n.", ["fixmod.Point"]),
    ("obj", b"\x80\x01(cfixmod\nPoint\no.", ["fixmod.Point"]),
    ("dup", b"K\x012\x86.", []),
    ("py2_strings", b"(S'abc'\nS\"d'e\"\nT\x03\x00\x00\x00fghU\x02ijt.", []),
    ("pop", b"N0K\x05.", []),
    ("pop_mark", b"(K\x01K\x021N.", []),
    ("binbytes8_binunicode8", b"\x80\x04\x8d\x03\x00\x00\x00\x00\x00\x00\x00abc\x8e\x02\x00\x00\x00\x00\x00\x00\x00xy\x86.", []),
    ("text_memo", b"(lp0\nVab\np1\naI1\nag1\naL5L\naF2.5\naVa\\u20acb\na.", []),
    ("posix_system", b"cposix\nsystem\n(S'true'\ntR.", ["posix.system"]),
    ("stack_global_binget", b"\x80\x04\x8c\x08builtins\x94\x8c\x03len\x94\x93\x94h\x00\x8c\x03abs\x94\x93\x86.", ["builtins.len", "builtins.abs"]),
]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = []

    def emit(name, data, buffers=None, expected_globals=None, cyclic=False):
        fname = f"{name}.pkl"
        with open(os.path.join(out, fname), "wb") as f:
            f.write(data)
        c = analyse(data, buffers, expected_globals)
        c.update(name=name, file=fname, cyclic=cyclic)
        cases.append(c)

    for name, value, cyclic in values():
        for proto in range(0, 6):
            emit(f"{name}_p{proto}", pickle.dumps(value, protocol=proto), cyclic=cyclic)

    for proto in range(0, 6):
        buf = io.BytesIO()
        PersistingPickler(buf, protocol=proto).dump([Persisted("db:1"), 2, Persisted("db:2")])
        emit(f"persistent_p{proto}", buf.getvalue())

    oob = []
    data = pickle.dumps(
        [pickle.PickleBuffer(bytearray(b"abc")), pickle.PickleBuffer(b"readonly"), b"inband"],
        protocol=5, buffer_callback=oob.append)
    emit("oob_buffers_p5", data, buffers=oob)
    emit("inband_picklebuffer_p5", pickle.dumps(pickle.PickleBuffer(bytearray(b"xyz")), protocol=5))

    for name, data, globs in HANDCRAFTED:
        emit(name, data, expected_globals=globs)

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(cases, f)
    print(len(cases))


if __name__ == "__main__":
    main()

"""Writes ~50 MB pickles for the throughput measurement. Usage: gen_big.py OUTDIR"""

import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixmod  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
target = 50 * 1024 * 1024


def write(name, value):
    data = pickle.dumps(value, protocol=4)
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    print(name, len(data))


n = target // 40
write("small_objects.pkl", {i: (i, f"s{i}", i * 0.5, [i, None, True]) for i in range(n)})
write("instances.pkl", [fixmod.Point(i, f"p{i}") for i in range(target // 30)])
write("big_strings.pkl", [chr(97 + i % 26) * 100_000 for i in range(target // 100_000)])

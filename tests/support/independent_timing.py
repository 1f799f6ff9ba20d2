"""Time, without picklecost's code, what picklecost reports for a --loader project: the Site's
and every Page's pickle.dumps(obj, 5) and pickle.loads, in this separate process, with the
collector off as picklecost measures by default; and their real sizes.

usage: independent_timing.py PROJECT_DIR MODULE:FUNCTION ROUNDS

Prints `RESULT {"site": {"bytes", "dumps_ns", "loads_ns"}, "page": {...}}` where bytes is the
Site's size and every Page's (sorted), and the times are medians over ROUNDS rounds of each
object (after one warm-up round).
"""
import gc
import json
import pathlib
import pickle
import statistics
import sys
import time


def timed(objects, rounds):
    dumps, loads = [], []
    for obj in objects:
        data = pickle.dumps(obj, 5)
        pickle.loads(data)
        for _ in range(rounds):
            # Each call alone: freeing the previous round's bytes and objects is not timed.
            started = time.perf_counter_ns()
            data = pickle.dumps(obj, 5)
            dumped = time.perf_counter_ns()
            loaded = pickle.loads(data)
            finished = time.perf_counter_ns()
            dumps.append(dumped - started)
            loads.append(finished - dumped)
            del data, loaded
    return {"bytes": sorted(len(pickle.dumps(o, 5)) for o in objects),
            "dumps_ns": statistics.median(dumps), "loads_ns": statistics.median(loads)}


def main():
    root, loader, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.dont_write_bytecode = True
    sys.path.insert(0, root)
    module, function = loader.split(":")
    site = getattr(__import__(module), function)(pathlib.Path(root))
    gc.disable()
    result = {"site": timed([site], rounds), "page": timed(site.pages, rounds)}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()

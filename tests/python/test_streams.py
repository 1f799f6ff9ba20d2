import os
import pickle
import sys
import unittest

import _paths  # noqa: F401
from picklecost import streams, transports

HAS_SUBINTERPRETERS = sys.version_info >= (3, 13)


def _objects():
    """Page-like payloads of different sizes (1 to 4 KB pickled)."""
    return [{"source_path": "content/p%d.md" % i, "content": "word " * (200 * i),
             "metadata": {"title": "Page %d" % i, "tags": ["a", "b"][:i % 3]}}
            for i in range(1, 5)]


PAGES = ["<html><body>%s</body></html>" % ("page %d " % i * (300 + 70 * i)) for i in range(3)]


class FailsToLoad:
    """Pickles fine; unpickling it raises ValueError (int("not a number")) in the worker."""

    def __reduce__(self):
        return int, ("not a number",)


class _Pending:
    """A worker stand-in: replies a stamp (`_pc_stamp`: 7 ns, the bytes got) per request sent,
    and remembers how many requests were waiting for it at most."""

    stuck = False

    def __init__(self):
        self.waiting = []
        self.most = 0

    def send(self, data):
        self.waiting.append(data)
        self.most = max(self.most, len(self.waiting))

    def receive(self, timeout, what=None):
        data = self.waiting.pop(0)
        return (7).to_bytes(8, "little") + len(data).to_bytes(8, "little")


class StreamBookkeepingTests(unittest.TestCase):
    def _run(self, pending, seconds=60.0, least=4):
        stream = streams._Stream(pending, 3, 5, least, seconds)
        return stream.run(lambda w, i: streams._sent(w, b"x" * (i + 1)),
                          lambda w: streams._stamped(w, 1.0, "test"), 1.0)

    def test_every_worker_has_at_most_in_flight_requests_and_every_planned_item_comes_back(self):
        pending = [_Pending(), _Pending()]
        out = self._run(pending)
        self.assertEqual(out["planned"], 5 * 3 * 2)
        self.assertEqual(out["items"], 30)
        self.assertEqual([w.most for w in pending], [3, 3])
        self.assertEqual([len(w.waiting) for w in pending], [0, 0])
        # Replies are taken in the order the items went: item i carried i + 1 bytes.
        self.assertEqual(out["bytes"], list(range(1, 31)))
        self.assertEqual(out["worker_ns"], [7] * 30)
        self.assertEqual(len(out["main_ns"]), 30)
        self.assertTrue(all(ns >= 0 for ns in out["main_ns"]))
        self.assertGreater(out["wall_ns"], 0)
        self.assertEqual((out["in_flight"], out["workers"]), (3, 2))

    def test_a_passed_deadline_sends_the_least_and_says_how_many_of_the_planned_went(self):
        pending = [_Pending(), _Pending()]
        out = self._run(pending, seconds=0.0, least=4)
        self.assertEqual((out["items"], out["planned"]), (4, 30))
        self.assertEqual(out["bytes"], [1, 2, 3, 4])

    def test_a_stamp_is_read_and_the_result_behind_it_unpickled(self):
        ns = {}
        exec(transports._WORKER_SOURCE, ns)
        handle = ns["_pc_handle"]
        payload = pickle.dumps(_objects()[2], 5)
        reply = handle(b"W" + payload)
        self.assertEqual(int.from_bytes(reply[8:16], "little"), len(payload))
        self.assertGreater(int.from_bytes(reply[:8], "little"), 0)  # the worker's own unpickling
        self.assertEqual(len(reply), 16)  # a payload's reply is the count: no result behind it
        handle(b"K0," + pickle.dumps(PAGES[1], 5))
        reply = handle(b"WR0,5")
        self.assertEqual(reply[16:], pickle.dumps(PAGES[1], 5))
        self.assertGreater(int.from_bytes(reply[:8], "little"), 0)  # its pickling
        self.assertEqual(int.from_bytes(reply[8:16], "little"), len(b"R0,5"))
        # Unstamped messages answer as before.
        self.assertEqual(handle(b"R0,5"), pickle.dumps(PAGES[1], 5))
        self.assertEqual(handle(payload), 3)


class ProcessStreamTests(unittest.TestCase):
    def test_payloads_go_pickled_and_the_worker_times_its_unpickling(self):
        objects = _objects()
        with transports.ProcessTransport(2, []) as pool:
            out = streams.stream_payloads(pool, objects, 5, in_flight=4, per_slot=3)
            self.assertEqual((out["in_flight"], out["workers"]), (4, 2))
            self.assertEqual((out["items"], out["planned"]), (24, 24))
            # The bytes each worker got are exactly the pickles sent, item by item.
            sizes = [len(pickle.dumps(o, 5)) for o in objects]
            self.assertEqual(out["bytes"], [sizes[i % 4] for i in range(24)])
            self.assertEqual(len(out["worker_ns"]), 24)
            self.assertTrue(all(ns > 0 for ns in out["worker_ns"]), out["worker_ns"])
            self.assertTrue(all(ns > 0 for ns in out["main_ns"]), out["main_ns"])
            self.assertGreater(pool.roundtrip(objects[0], 5), 0)  # the idle round trip still works

    def test_results_come_back_pickled_and_unpickled_here(self):
        with transports.ProcessTransport(2, []) as pool:
            pool.keep_results(PAGES, 5)
            out = streams.stream_results(pool, len(PAGES), 5, in_flight=2, per_slot=2)
            # Result by result, each on its share: 2 // 3 -> 1 per request slot, 2 x 2 slots.
            self.assertEqual((out["items"], out["planned"]), (12, 12))
            sizes = [len(pickle.dumps(p, 5)) for p in PAGES]
            self.assertEqual(out["bytes"], [sizes[i // 4] for i in range(12)])
            self.assertTrue(all(ns > 0 for ns in out["worker_ns"]))
            self.assertEqual(pool._kept_by, {})  # every worker gave its last one up

    def test_a_worker_error_is_raised_and_the_requests_in_flight_are_answered_first(self):
        objects = _objects()[:1] + [FailsToLoad()]
        with transports.ProcessTransport(2, []) as pool:
            with self.assertRaises(transports.TransportError) as caught:
                streams.stream_payloads(pool, objects, 5, in_flight=3, per_slot=2)
            self.assertIn("ValueError", str(caught.exception))
            # Nothing owed is left on the pipes: the next request gets its own answer.
            for worker in pool._workers:
                self.assertFalse(worker.ready())
            pool.keep_results(PAGES[:1], 5)
            self.assertGreater(pool.result_back(0, 5), 0)


@unittest.skipUnless(HAS_SUBINTERPRETERS, "sub-interpreter workers need Python 3.13+")
class SubinterpreterStreamTests(unittest.TestCase):
    def test_payloads_and_results_through_isolated_workers(self):
        objects = _objects()
        pool = transports.SubinterpreterTransport(2, "isolated", [])
        try:
            out = streams.stream_payloads(pool, objects, 5, in_flight=4, per_slot=2)
            self.assertEqual(out["items"], 16)
            sizes = [len(pickle.dumps(o, 5)) for o in objects]
            self.assertEqual(out["bytes"], [sizes[i % 4] for i in range(16)])
            self.assertTrue(all(ns > 0 for ns in out["worker_ns"]))
            pool.keep_results(PAGES, 5)
            back = streams.stream_results(pool, len(PAGES), 5, in_flight=2, per_slot=2)
            self.assertEqual(back["bytes"], [len(pickle.dumps(PAGES[i // 4], 5)) for i in range(12)])
        finally:
            pool.close()


class ThreadStreamTests(unittest.TestCase):
    def test_by_reference_nothing_is_pickled_and_the_hand_off_is_timed(self):
        out = streams.stream_thread(_objects(), threads=2, in_flight=4, per_slot=2)
        self.assertEqual((out["items"], out["planned"], out["workers"]), (16, 16, 2))
        self.assertEqual((out["worker_ns"], out["bytes"]), ([], []))
        self.assertTrue(all(ns > 0 for ns in out["main_ns"]))
        back = streams.stream_thread_results(PAGES, threads=1, in_flight=2, per_slot=3)
        self.assertEqual((back["items"], back["worker_ns"], back["bytes"]), (6, [], []))

    def test_nothing_to_send_is_an_error(self):
        with self.assertRaises(transports.TransportError):
            streams.stream_thread([])


@unittest.skipUnless(hasattr(os, "fork"), "needs os.fork")
class ForkStreamTests(unittest.TestCase):
    def test_indices_out_results_back_pickled(self):
        with transports.ForkTransport(2, PAGES) as pool:
            out = streams.stream_indices(pool, len(PAGES), in_flight=3, per_slot=2)
            self.assertEqual(out["items"], 12)
            self.assertEqual((out["worker_ns"], out["bytes"]), ([], []))  # shared, not pickled
            back = streams.stream_results(pool, len(PAGES), 5, in_flight=3, per_slot=2)
            self.assertEqual(back["bytes"], [len(pickle.dumps(PAGES[i // 6], 5)) for i in range(18)])
            self.assertTrue(all(ns > 0 for ns in back["worker_ns"]))


if __name__ == "__main__":
    unittest.main()

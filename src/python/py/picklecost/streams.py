"""Cost, not latency: what each item costs a worker pool that is kept busy, for every transport.

A round trip (`transports.py`) is one request to an idle worker, so it contains the worker's
wake-up. A pool keeps requests in flight: here every worker gets `in_flight` requests at once and
a new one each time one of its replies comes back (never more than `in_flight` waiting for it),
and each item is timed three ways:

- `main_ns`: the main interpreter's own CPU time for the item (`time.thread_time_ns` of this
  thread around its own calls: pickling the payload out and sending it, taking the reply and
  unpickling the result). Waiting for a reply uses no CPU and is not in it. This is the serial
  part a pool's main interpreter pays per item.
- `worker_ns`: the worker's own CPU time for the transfer (unpickling the payload in, pickling
  the result back), timed in the worker (`_pc_handle`'s b"W" messages in `transports.py`) and
  sent back with the reply. Empty where nothing is pickled: a thread gets the object by
  reference, a forked child has the payload from the fork.
- `wall_ns`: the whole stream's wall time; divided by `items` it is the pool's throughput.

`bytes` are the pickled bytes each item carried: the payload as the worker got it, or the result
as the main interpreter got it back (empty where nothing is pickled).

Every function plans `per_slot` items per request slot (`in_flight` x workers slots) and stops
sending once `seconds` have passed (after at least `least` items); `items` says how many of the
`planned` went. A worker's error reply raises TransportError after the requests still in flight
were answered, so the pool can go on serving.
"""

import collections
import pickle
import time

from . import workers
from .transports import _touch
from .workers import DEFAULT_TIMEOUT, TransportError, reply_value

__all__ = ["stream_payloads", "stream_indices", "stream_results", "stream_thread",
           "stream_thread_results"]

_HEADER = 16  # the stamp before a streamed reply: worker ns, bytes got (8 bytes each)


def _cpu():
    return time.thread_time_ns()


class _Stream:
    """The bookkeeping of one stream: what was sent to each worker and is not back yet, and the
    per-item figures of what came back."""

    def __init__(self, pool_workers, in_flight, per_slot, least, seconds):
        self.workers = list(pool_workers)
        if not self.workers:
            raise TransportError("no worker to stream to")
        self.in_flight = max(1, int(in_flight))
        self.planned = max(1, int(per_slot)) * self.in_flight * len(self.workers)
        self.least = min(self.planned, max(1, int(least)))
        self.deadline = time.monotonic() + float(seconds)
        self.pending = [collections.deque() for _ in self.workers]
        self.sent = 0
        self.main_ns, self.worker_ns, self.bytes = [], [], []

    def more(self):
        return self.sent < self.planned and (self.sent < self.least
                                             or time.monotonic() < self.deadline)

    def run(self, send, take, timeout):
        """`send(worker, i)` sends item i and returns the main thread's own ns for it;
        `take(worker)` takes that worker's oldest reply: (main ns, worker ns or None, bytes or
        None)."""
        wall = time.perf_counter_ns()
        try:
            for _ in range(self.in_flight):
                for k in range(len(self.workers)):
                    if self.more():
                        self._send(send, k)
            while any(self.pending):
                for k, worker in enumerate(self.workers):
                    if not self.pending[k]:
                        continue
                    sent_ns = self.pending[k].popleft()
                    main_ns, worker_ns, got = take(worker)
                    self.main_ns.append(sent_ns + main_ns)
                    if worker_ns is not None:
                        self.worker_ns.append(worker_ns)
                    if got is not None:
                        self.bytes.append(got)
                    if self.more():
                        self._send(send, k)
        except TransportError:
            self._drain(timeout)
            raise
        wall = time.perf_counter_ns() - wall
        return {"in_flight": self.in_flight, "workers": len(self.workers),
                "planned": self.planned, "items": len(self.main_ns), "main_ns": self.main_ns,
                "worker_ns": self.worker_ns, "bytes": self.bytes, "wall_ns": wall}

    def _send(self, send, k):
        self.pending[k].append(send(self.workers[k], self.sent))
        self.sent += 1

    def _drain(self, timeout):
        """Take every reply still owed (errors too), so the next request to a worker gets its
        own reply; a worker that does not answer is marked stuck by its `receive`."""
        for k, worker in enumerate(self.workers):
            while self.pending[k] and not worker.stuck:
                self.pending[k].popleft()
                try:
                    worker.receive(timeout, "answering a streamed request")
                except TransportError:
                    pass
            self.pending[k].clear()


def _sent(worker, message):
    """`worker.send(message)`: the main thread's own ns for it."""
    start = _cpu()
    worker.send(message)
    return _cpu() - start


def _stamped(worker, timeout, what):
    """A stamped reply (`_pc_stamp`): (main ns taking it and unpickling the result, worker ns,
    bytes: the result's when there is one, else what the worker got)."""
    start = _cpu()
    answer = reply_value(worker.receive(timeout, what))
    if not isinstance(answer, (bytes, bytearray, memoryview)) or len(answer) < _HEADER:
        raise TransportError("a streamed reply came back without its stamp")
    reply = memoryview(answer)
    body = reply[_HEADER:]
    if len(body):
        pickle.loads(body)
    main_ns = _cpu() - start
    worker_ns = int.from_bytes(reply[:8], "little")
    got = len(body) if len(body) else int.from_bytes(reply[8:_HEADER], "little")
    return main_ns, worker_ns, got


def stream_payloads(pool, objects, protocol=pickle.HIGHEST_PROTOCOL, in_flight=4, per_slot=8,
                    least=4, seconds=1.0):
    """A pickling pool (sub-interpreters, processes: its workers run `_pc_handle`) fed
    `objects` round-robin: pickled here, unpickled and read in the worker."""
    objects = list(objects)
    if not objects:
        raise TransportError("no object to stream")

    def send(worker, i):
        start = _cpu()
        data = pickle.dumps(objects[i % len(objects)], protocol)
        pickled = _cpu() - start
        message = b"W" + data  # the tag's copy is the stream's, not the transport's: untimed
        return pickled + _sent(worker, message)

    stream = _Stream(pool._usable(), in_flight, per_slot, least, seconds)
    return stream.run(send, lambda w: _stamped(w, pool.timeout, pool._handling), pool.timeout)


def stream_indices(pool, count, in_flight=4, per_slot=8, least=4, seconds=1.0):
    """A forked pool whose children have the `count` objects already: an index goes, the child
    reads that object's fields, the count comes back. Nothing is pickled either way."""
    if count < 1:
        raise TransportError("no object to stream")

    def take(worker):
        start = _cpu()
        reply_value(worker.receive(pool.timeout, pool._handling))
        return _cpu() - start, None, None

    stream = _Stream(pool._usable(), in_flight, per_slot, least, seconds)
    return stream.run(lambda w, i: _sent(w, b"T%d" % (i % count)), take, pool.timeout)


def stream_results(pool, count, protocol=pickle.HIGHEST_PROTOCOL, in_flight=4, per_slot=8,
                   least=4, seconds=1.0):
    """A pool with `count` rendered results (given by `keep_results`, or a forked pool's
    objects): each request has a worker pickle one back, as a worker returns what it rendered;
    it is unpickled here. One result at a time: every worker is given result i (untimed, kept
    in place of the last: a very large page is never held once per result), then streams it
    back on its share of the items and time; the parts are added up."""
    if count < 1:
        raise TransportError("no result to stream")
    parts = []
    for index in range(count):
        for worker in pool._usable():
            pool.hold_result(worker, index)
        message = b"WR%d,%d" % (index, int(protocol))
        stream = _Stream(pool._usable(), in_flight, max(1, per_slot // count),
                         max(1, least // count), seconds / count)
        parts.append(stream.run(lambda w, i, m=message: _sent(w, m),
                                lambda w: _stamped(w, pool.timeout, pool._handling),
                                pool.timeout))
    pool.drop_results()  # (after a failure the pool is closed instead)
    return _added(parts)


def _added(parts):
    """Streams of the same workers, one after another, as one."""
    total = dict(parts[0], main_ns=[], worker_ns=[], bytes=[], planned=0, items=0, wall_ns=0)
    for part in parts:
        for key in ("main_ns", "worker_ns", "bytes"):
            total[key].extend(part[key])
        for key in ("planned", "items", "wall_ns"):
            total[key] += part[key]
    return total


def _thread_stream(items, answer, threads, in_flight, per_slot, least, seconds, timeout, name):
    """`threads` worker threads get items by reference and reply `answer(item)` by reference:
    the main thread's cost is the hand-off (a queue put, a queue get)."""
    crew = workers.Crew()
    with crew:
        for k in range(max(1, int(threads))):
            crew.add(workers.ThreadWorker(answer, "%s-%d" % (name, k)))

        def take(worker):
            start = _cpu()
            worker.receive(timeout)
            return _cpu() - start, None, None

        stream = _Stream(crew.members, in_flight, per_slot, least, seconds)
        return stream.run(lambda w, i: _sent(w, items[i % len(items)]), take, timeout)


def stream_thread(objects, threads=1, in_flight=4, per_slot=8, least=4, seconds=1.0,
                  timeout=DEFAULT_TIMEOUT):
    """Payloads handed to worker threads by reference; each reads the fields and replies."""
    objects = list(objects)
    if not objects:
        raise TransportError("no object to stream")
    return _thread_stream(objects, _touch, threads, in_flight, per_slot, least, seconds, timeout,
                          "picklecost-thread-stream")


def stream_thread_results(results, threads=1, in_flight=4, per_slot=8, least=4, seconds=1.0,
                          timeout=DEFAULT_TIMEOUT):
    """Rendered results handed back from worker threads by reference."""
    results = list(results)
    if not results:
        raise TransportError("no result to stream")
    return _thread_stream(range(len(results)), results.__getitem__, threads, in_flight, per_slot,
                          least, seconds, timeout, "picklecost-thread-results-stream")

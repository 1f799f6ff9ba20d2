"""The read set before the payloads are measured, and the `page_read` / `site_read` payloads
built from it.

`in_fork` runs the adapter's render-cost probe with tracing on (`readset.TRACING`) in a forked
copy of the tool: the renders (and a discovered site's preparation for them) change the graph,
and the payloads are measured on the graph as loaded; the fork's changes die with it.

`payloads_in_fork(site, pages, page_paths, site_paths, timeout)` builds the `page_read` and
`site_read` payloads the same way, in a forked child: reading the paths computes what the graph
computes lazily (a section's cached `url`, reached through the site), and the tool never changes
the graph it measures. The child sends back pickled plain data (made by `extract`, nothing of the
graph), which the tool unpickles into the payload objects it measures.

`extract(obj, paths)` is the plain data a path list reads from `obj` (the page, or the site):
a nested dict holding, for each path, the value its leaf read (`leaf`), under
the attribute names and keys it went through; `[*]` steps as lists; calls replayed where their
arguments were recorded by value. A path that does not resolve on this object is left out.
Reading leaves the object it reads directly as it was (`_untouched`), but not the objects reached
through it: run it in a fork (`payloads_in_fork`) on a graph that is measured.
"""

import ast
import collections.abc
import pickle
import re
import sys

from . import payloads, readset

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[\*\]|\[((?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\]])*)\]"
                   r"|\(([^()]*)\)")


def parse(path):
    """A path's steps after its root (`page`, `site`): ("attr", name), ("key", key),
    ("each",), ("call", args or None where they were not recorded by value)."""
    root = re.match(r"[A-Za-z_]+", path)
    steps, at = [], root.end() if root else 0
    while at < len(path):
        m = _STEP.match(path, at)
        if not m:
            raise ValueError("not a read path: %r" % path)
        if m.group(1) is not None:
            steps.append(("attr", m.group(1)))
        elif m.group(0) == "[*]":
            steps.append(("each",))
        elif m.group(2) is not None:
            try:
                key = ast.literal_eval(m.group(2))
                hash(key)
                steps.append(("key", key))
            except (ValueError, SyntaxError, TypeError):
                steps.append(("key?",))
        else:
            args = m.group(3)
            try:
                value = ast.literal_eval("(%s,)" % args) if args.strip() else ()
                hash(value)  # a step is a dict key when paths are grouped
            except (ValueError, SyntaxError, TypeError):
                value = None
            steps.append(("call", value))
        at = m.end()
    return tuple(steps)


_MISSING = object()


def _untouched(obj, read):
    """`read()`, with `obj`'s instance dict put back as it was afterwards: what a cached
    property, a property that caches or a method called (`page.extract_links()`) writes into
    it is taken out again, so that building the payload does not change the pages measured
    beside it."""
    own = getattr(obj, "__dict__", None)
    before = dict(own) if isinstance(own, dict) else None
    try:
        return read()
    finally:
        if before is not None and (len(own) != len(before)
                                   or any(own.get(k, _MISSING) is not v for k, v in before.items())):
            own.clear()
            own.update(before)


def resolves(obj, steps):
    """Whether every step of `steps` resolves from `obj` (the last may give None) to data (not
    a method: the render calls those, it does not read them)."""
    value = obj
    for step in steps:
        if step[0] == "each":
            return True  # items may differ: tried when extracted
        value = _step(value, step)
        if value is _MISSING:
            return False
    return not callable(value) or isinstance(value, type)


def _step(value, step):
    kind = step[0]
    try:
        if kind == "attr" and isinstance(value, collections.abc.Mapping) and \
                not hasattr(value, step[1]):
            return value[step[1]]  # a key written as a name (a proof stand-in's path)
        if kind == "attr":
            return _untouched(value, lambda: getattr(value, step[1]))
        if kind == "key":
            return value[step[1]]
        if kind == "call" and step[1] is not None and callable(value):
            owner = getattr(value, "__self__", None)
            return _untouched(owner, lambda: value(*step[1]))
    except Exception:  # noqa: BLE001 - a path that does not resolve on this object
        return _MISSING
    return _MISSING


def _label(step):
    """The key a step's value is kept under (interned: the same name in every page's and every
    item's dict is one string, as in a payload built by hand)."""
    if step[0] == "attr":
        return sys.intern(step[1])
    if step[0] == "key":
        return sys.intern(step[1]) if isinstance(step[1], str) else repr(step[1])
    if step[0] == "call":
        return sys.intern("(%s)" % ", ".join(repr(a) for a in step[1]))
    return "[*]"


def _extract(value, paths, depth=0):
    # A path that ends here while others go on (`page.prev` read for its truth, then
    # `page.prev.title`) keeps what the deeper paths read, unless there is nothing below.
    # None has nothing to read below it (`page._section` of a page outside any section, read
    # where the template tests it before reading `page._section.name`): it stays None.
    if value is None or all(not p for p in paths) or depth > 30 or (
            any(not p for p in paths) and isinstance(value, readset.SCALARS)):
        return leaf(value)
    paths = [p for p in paths if p]
    groups = {}
    for p in paths:
        groups.setdefault(p[0], []).append(p[1:])
    if isinstance(value, collections.abc.Mapping):
        # Keys in the mapping's own order: a render that iterates it sees that order.
        order = {("key", k): n for n, k in enumerate(value) if isinstance(k, readset.SCALARS)}
        groups = dict(sorted(groups.items(), key=lambda g: order.get(g[0], len(order))))
    out = {}
    for step, rest in groups.items():
        if step[0] == "each":
            try:
                items = list(value)
            except Exception:  # noqa: BLE001
                continue
            out["[*]"] = [_extract(item, rest, depth + 1) for item in items]
            continue
        child = _step(value, step)
        if child is not _MISSING:
            _merge(out, _label(step), _extract(child, rest, depth + 1))
    if list(out) == ["[*]"]:
        return out["[*]"]
    return out


def _merge(out, label, data):
    """`data` under `label` in `out`, merged with what another step of the same label put
    there (`config.build.strict_mode` and `config['build']['fast_mode']`: one `build` holding
    both, as a stand-in answers either spelling from it)."""
    held = out.get(label, _MISSING)
    if isinstance(held, dict) and isinstance(data, dict):
        for key, value in data.items():
            _merge(held, key, value)
    else:
        out[label] = data


def leaf(value, depth=0):
    """A value a path ended at, as the payload carries it: scalars as they are (strings, numbers,
    dates, paths: what the renderer computes with), containers recursively, any other object as
    its `payloads.plain_data` (its `str()`)."""
    if isinstance(value, readset.SCALARS) or depth > 20:
        return value
    if isinstance(value, collections.abc.Mapping):
        return {k if isinstance(k, readset.SCALARS) else str(k): leaf(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [leaf(v, depth + 1) for v in value]
    return payloads.plain_data(value)


def extract(obj, paths):
    """The plain data `paths` (parsed, see `parse`) read from `obj`."""
    return _extract(obj, [p for p in paths if all(s[0] != "key?" for s in p)])


def read_paths(read_set):
    """(page paths, site paths) of a read set, parsed: what a worker needs for the page (its own
    data, and other pages' data reached through it) and once per worker (the site's)."""
    page, site = [], []
    actions = {"page.%s" % entry["field"] for entry in read_set.get("page_calls", [])}
    for entry in read_set.get("page_paths", []) + read_set.get("other_pages", []):
        path = entry["path"]
        if path.startswith("page.") and not any(path.startswith(a + "(") for a in actions):
            page.append(path)
    for entry in read_set.get("site_paths", []) + read_set.get("other_pages", []):
        if entry["path"].startswith("site."):
            site.append(entry["path"])
    parsed = []
    for paths in (page, site):
        out = []
        for path in sorted(set(paths)):
            try:
                out.append(parse(path))
            except ValueError:
                pass
        parsed.append(out)
    return parsed[0], parsed[1]


def in_fork(adapter, site, pages, sample, workdir, seconds, page_seconds, timeout):
    """The adapter's render-cost probe with tracing on, in a forked child: {"read_set": ...}
    (None where the adapter does not trace, with "reason"), or {"error": why}."""
    from . import transports

    def child(conn):
        readset.TRACING = True
        result = transports.render_cost(adapter, site, pages, sample, workdir, seconds,
                                        page_seconds)
        why = result.get("read_set_error") or result.get("reason")
        if result.get("read_set") is None and why is None:
            why = "the %s adapter does not trace its renders" % adapter.name
        conn.send_bytes(pickle.dumps({"read_set": result.get("read_set"), "reason": why}))

    return _answer_from_fork(child, timeout, "tracing what rendering reads")


def payloads_in_fork(site, pages, page_paths, site_paths, timeout):
    """({"pages": [page_read of each page of `pages`], "site": site_read}) built by `extract`
    in a forked child and unpickled here: plain data the tool made, with the measured graph left
    as it was; or {"error": why}."""

    def child(conn):
        built = {"pages": [extract(page, page_paths) for page in pages],
                 "site": extract(site, site_paths)}
        conn.send_bytes(pickle.dumps(built, pickle.HIGHEST_PROTOCOL))

    return _answer_from_fork(child, timeout, "building the read payloads")


def _answer_from_fork(child, timeout, doing):
    """What `child(conn)`, run in a forked copy of the tool, sends back within `timeout`
    seconds (`doing` names it in a failure); {"error": why} where there is no fork or it
    failed. The child is ended on every way out."""
    from . import workers

    available, reason = workers.fork_support()
    if not available:
        return {"error": reason}
    worker = workers.fork(child)
    try:
        return worker.receive(timeout, doing)
    except workers.TransportError as exc:
        return {"error": str(exc)}
    finally:
        worker.stop(workers.STOP_TIMEOUT)

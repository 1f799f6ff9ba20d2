"""What rendering reads: a recording stand-in for the page handed to a real render.

`Trace.render(page, render)` calls `render(proxy)` where `proxy` answers for `page`: every
attribute, key, item and call read through it (and through whatever it hands out: the site, its
sections, menus, other pages) is recorded as a path the way the explanations spell them
(`page.title`, `page.metadata['date']`, `site.config['baseurl']`, `site.menu['main'][*].url`),
with counts. Scalar values (strings, numbers, dates, paths) are handed out as they are, so
filters and `isinstance` checks see real values; dicts, lists and tuples as recording subclasses
of their own type; any other object behind a proxy whose `__class__` is the object's class.

Each path is classified by the object it was read from: the page being rendered (`page.*`), the
site (`site.*`, re-rooted wherever the site is reached), or another page (`other`: the path as
reached, `site.pages[*].title`, `page.next.title`). A page attribute the render wrote before
reading it is an output of the render (`produced`), not something a worker must receive.

A site-wide path whose value differs between the pages rendered (a menu item's `active` flag) is
marked `varies`: it is read from the site but is not the same for every page.
"""

import collections
import contextlib
import datetime
import decimal
import pathlib
import random

SCALARS = (str, bytes, int, float, complex, bool, type(None), datetime.date, datetime.time,
           datetime.timedelta, decimal.Decimal, pathlib.PurePath, range)

PAGE, SITE, OTHER = "page", "site", "other"

#: Whether an adapter's render-cost probe traces its renders (set in the forked child of
#: `readtrace.in_fork` only: the tool's own probe does not).
TRACING = False


def _value_key(value):
    try:
        return hash((type(value).__name__, value if not isinstance(value, (list, dict)) else str(value)))
    except TypeError:
        return hash(repr(value))


class Trace:
    """The read set of a run: paths per template with counts, classified."""

    def __init__(self, site, pages):
        self.site = site
        self.pages = {id(p) for p in pages}
        if site is not None:
            self.pages.update(id(p) for p in (getattr(site, "pages", None) or []))
        self.current = None
        self.written = set()
        self.reads = collections.Counter()  # (kind, path) -> count, for the current page
        self.values = {}  # site path -> the keys of the values read there, for the current page
        self.templates = {}  # template -> {"pages": n, "reads": Counter, "produced": set}
        self.site_values = collections.defaultdict(set)  # site path -> value keys seen
        self.template = None
        self.site_refs = set()

    # --- recording --------------------------------------------------------------------------

    def record(self, kind, path, value):
        self.reads[(kind, path)] += 1
        if kind == SITE and isinstance(value, SCALARS):
            self.values.setdefault(path, []).append(_value_key(value))

    def wrap(self, value, kind, path):
        """`value` as handed to the renderer: recorded under `path`, re-rooted at the site or
        the page where it is one of them, traced onwards where it is not a scalar."""
        if isinstance(value, (Proxy, TracedDict, TracedList, TracedTuple)):
            return value
        if value is self.current:
            kind, path = PAGE, "page"
        elif self.site is not None and value is self.site:
            if kind == PAGE and path.startswith("page."):
                self.site_refs.add(path)  # where a page holds the site (a stand-in puts it there)
            kind, path = SITE, "site"
        elif id(value) in self.pages and kind != OTHER:
            # The reference is read from the page (or the site): which page it is is their
            # data; what is read through it is the other page's.
            self.record(kind, path, None)
            kind = OTHER
        if kind == PAGE and path.startswith("page.") and _field(path) in self.written:
            kind = "produced"
        if kind != OTHER or id(value) not in self.pages:
            self.record(kind, path, value)
        if isinstance(value, SCALARS) or kind == "produced":
            return value
        if type(value) is dict:
            return TracedDict(self, kind, path, value)
        if type(value) is list:
            return TracedList(self, kind, path, value)
        if type(value) is tuple:
            return TracedTuple(self, kind, path, value)
        if isinstance(value, (set, frozenset)) or type(value).__module__ == "markupsafe":
            return value
        return Proxy(self, kind, path, value)

    # --- one render ---------------------------------------------------------------------------

    def render(self, page, render, template_of=None):
        """`render(proxy)` with the page behind a recording proxy; returns what it returns.
        The reads are filed under `template_of()` (called after the render) or the last
        template `self.template` was set to."""
        self.current, self.written, self.template = page, set(), None
        self.reads, self.values = collections.Counter(), {}
        try:
            return render(Proxy(self, PAGE, "page", page))
        finally:
            template = (template_of() if template_of else None) or self.template or "(render)"
            self._file(str(template))
            self.current = None

    def _file(self, template):
        entry = self.templates.setdefault(
            template, {"pages": 0, "reads": collections.Counter(), "produced": set()})
        entry["pages"] += 1
        entry["reads"].update(self.reads)
        entry["produced"].update(self.written)
        for path, keys in self.values.items():
            self.site_values[path].add(hash(tuple(keys)))  # every value read, in order

    # --- the read set -------------------------------------------------------------------------

    def summary(self):
        """{"page_fields", "site_paths", "other_pages", "produced", "templates"}: counts per
        field/path over every traced render, and the same per template."""
        total = collections.Counter()
        for entry in self.templates.values():
            total.update(entry["reads"])
        out = _classified(total, self.site_values)
        out["produced"] = sorted(set().union(*(e["produced"] for e in self.templates.values())))
        out["site_refs"] = sorted(self.site_refs)
        out["templates"] = []
        for name, entry in sorted(self.templates.items()):
            one = _classified(entry["reads"], self.site_values)
            one.update(template=name, pages=entry["pages"], produced=sorted(entry["produced"]))
            out["templates"].append(one)
        return out


def _field(path):
    """The page attribute a `page.*` path starts with."""
    rest = path[len("page."):]
    for i, ch in enumerate(rest):
        if ch in ".[(":
            return rest[:i]
    return rest


def _leaves(counter):
    """Paths no other recorded path extends (what was finally used), with their counts."""
    paths = sorted(counter)
    out = {}
    for i, path in enumerate(paths):
        following = paths[i + 1] if i + 1 < len(paths) else ""
        if not (following.startswith(path) and following[len(path):len(path) + 1] in ".[("):
            out[path] = counter[path]
    return out


def _classified(reads, site_values):
    fields = collections.Counter()
    by_kind = {SITE: collections.Counter(), OTHER: collections.Counter()}
    for (kind, path), count in reads.items():
        if kind == PAGE and path.startswith("page."):
            name = _field(path)
            if not name.startswith("__"):
                fields[name] += count if path == "page." + name else 0
                fields.setdefault(name, 0)
        elif kind in by_kind:
            by_kind[kind][path] += count
    # A field counts the times it was read directly (page.title), or, where it was only read
    # through (page.metadata['x']), the reads below it.
    for (kind, path), count in reads.items():
        if kind == PAGE and path.startswith("page.") and path != "page." + _field(path):
            name = _field(path)
            if name in fields and fields[name] == 0:
                fields[name] = count
    site = [{"path": p, "count": c, "varies": len(site_values.get(p, ())) > 1}
            for p, c in sorted(_leaves(by_kind[SITE]).items())]
    other = [{"path": p, "count": c} for p, c in sorted(_leaves(by_kind[OTHER]).items())]
    page_paths = collections.Counter({p: c for (k, p), c in reads.items() if k == PAGE})
    # A field only ever called (`page.extract_links()`) is an action of the renderer on the
    # page, not data it reads from it.
    called = {name for name in fields
              if all(p.startswith("page.%s(" % name) for p in page_paths
                     if _field(p) == name and p != "page." + name)
              and any(p.startswith("page.%s(" % name) for p in page_paths)}
    calls = {name: fields.pop(name) for name in sorted(called)}
    return {"page_fields": [{"field": f, "count": c} for f, c in sorted(fields.items())],
            "page_calls": [{"field": f, "count": c} for f, c in calls.items()],
            "page_paths": [{"path": p, "count": c} for p, c in
                           sorted(_leaves(page_paths).items()) if p != "page"],
            "site_paths": site, "other_pages": other}


def _key(key):
    return "[%r]" % (key,) if isinstance(key, (str, int, float, bool, type(None))) else "[?]"


def _arguments(args, kwargs):
    """A call's arguments as the path spells them: short scalars by value, others as `?`."""
    def one(value):
        if isinstance(value, (str, int, float, bool, type(None))) and len(repr(value)) <= 40:
            return repr(value)
        return "?"

    words = [one(a) for a in args] + ["%s=%s" % (k, one(v)) for k, v in kwargs.items()]
    return "(%s)" % ", ".join(words)


@contextlib.contextmanager
def site_swapped(trace, objects=(), namespaces=(), replacements=None):
    """While the body runs, the site (and its `config`) as the trace's proxies wherever the
    renderer holds them itself rather than through the page: `site`/`config` attributes of
    `objects` that are the site or its config, entries of `namespaces` (dicts: a template
    engine's globals, filters, tests) that are, and closure cells of the functions in those
    namespaces that hold either. Everything is put back afterwards. With `replacements`, the
    (site, config) given instead (the proof's stand-ins)."""
    site = trace.site
    config = getattr(site, "config", None)
    real = {id(site): site}
    if isinstance(config, dict):
        real[id(config)] = config
    if replacements is not None:  # (site, config) stand-ins instead of the trace's proxies
        proxies = {id(site): replacements[0]}
        if isinstance(config, dict):
            proxies[id(config)] = replacements[1]
    else:
        proxies = {id(site): trace.wrap(site, SITE, "site")}
        if isinstance(config, dict):
            proxies[id(config)] = TracedDict(trace, SITE, "site.config", config)
    undo = []
    for obj in objects:
        for name in ("site", "config"):
            value = getattr(obj, name, None)
            if value is not None and id(value) in real and value is real[id(value)]:
                setattr(obj, name, proxies[id(value)])
                undo.append(lambda o=obj, n=name, v=value: setattr(o, n, v))
    for space in namespaces:
        for key, value in list(space.items()):
            if id(value) in real and value is real[id(value)]:
                space[key] = proxies[id(value)]
                undo.append(lambda s=space, k=key, v=value: s.__setitem__(k, v))
                continue
            for cell in getattr(value, "__closure__", None) or ():
                try:
                    held = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if id(held) in real and held is real[id(held)]:
                    cell.cell_contents = proxies[id(held)]
                    undo.append(lambda c=cell, v=held: setattr(c, "cell_contents", v))
    try:
        yield
    finally:
        for step in reversed(undo):
            step()


def _unwrap(value):
    if isinstance(value, Proxy):
        return object.__getattribute__(value, "_pc_target")
    return value


def _mapping_like(target):
    """A mapping, or an object that reads like one (`in`, `[]` and `get`: Bengal 0.5's Config)."""
    if isinstance(target, collections.abc.Mapping):
        return True
    kind = type(target)
    return all(hasattr(kind, name) for name in ("__contains__", "__getitem__", "get", "keys"))


def _get(trace, kind, path, target):
    def get(key, default=None):
        if key in target:
            return trace.wrap(target[key], kind, path + _key(key))
        return default
    return get


def _items(trace, kind, path, target):
    def items():
        return [(k, trace.wrap(target[k], kind, path + _key(k))) for k in list(target)]
    return items


def _values(trace, kind, path, target):
    def values():
        return [trace.wrap(target[k], kind, path + _key(k)) for k in list(target)]
    return values


#: A mapping's reads through its methods, recorded as its keys (`page.metadata['type']`, not
#: `page.metadata.get('type')`), like a dict's.
_MAPPING_READS = {"get": _get, "items": _items, "values": _values}


class Proxy:
    """Answers for one object, recording every read through it."""

    __slots__ = ("_pc_trace", "_pc_kind", "_pc_path", "_pc_target")

    def __init__(self, trace, kind, path, target):
        object.__setattr__(self, "_pc_trace", trace)
        object.__setattr__(self, "_pc_kind", kind)
        object.__setattr__(self, "_pc_path", path)
        object.__setattr__(self, "_pc_target", target)

    def _pc(self):
        get = object.__getattribute__
        return get(self, "_pc_trace"), get(self, "_pc_kind"), get(self, "_pc_path"), \
            get(self, "_pc_target")

    @property
    def __class__(self):
        return type(object.__getattribute__(self, "_pc_target"))

    def __getattr__(self, name):
        trace, kind, path, target = Proxy._pc(self)
        value = getattr(target, name)
        if name.startswith("__") and name.endswith("__"):
            return value
        if name in _MAPPING_READS and _mapping_like(target):
            return _MAPPING_READS[name](trace, kind, path, target)
        return trace.wrap(value, kind, "%s.%s" % (path, name))

    def __setattr__(self, name, value):
        trace, kind, path, target = Proxy._pc(self)
        if kind == PAGE and path == "page":
            trace.written.add(name)
        setattr(target, name, _unwrap(value))

    def __delattr__(self, name):
        delattr(Proxy._pc(self)[3], name)

    def __getitem__(self, key):
        trace, kind, path, target = Proxy._pc(self)
        return trace.wrap(target[_unwrap(key)], kind, path + _key(key))

    def __setitem__(self, key, value):
        Proxy._pc(self)[3][_unwrap(key)] = _unwrap(value)

    def __contains__(self, item):
        trace, kind, path, target = Proxy._pc(self)
        trace.record(kind, path, None)
        return _unwrap(item) in target

    def __iter__(self):
        trace, kind, path, target = Proxy._pc(self)
        for item in target:
            yield trace.wrap(item, kind, path + "[*]")

    def __len__(self):
        return len(Proxy._pc(self)[3])

    def __bool__(self):
        return bool(Proxy._pc(self)[3])

    def __call__(self, *args, **kwargs):
        trace, kind, path, target = Proxy._pc(self)
        args = [_unwrap(a) for a in args]
        kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
        return trace.wrap(target(*args, **kwargs), kind, path + _arguments(args, kwargs))

    def __eq__(self, other):
        return Proxy._pc(self)[3] == _unwrap(other)

    def __ne__(self, other):
        return Proxy._pc(self)[3] != _unwrap(other)

    def __lt__(self, other):
        return Proxy._pc(self)[3] < _unwrap(other)

    def __le__(self, other):
        return Proxy._pc(self)[3] <= _unwrap(other)

    def __gt__(self, other):
        return Proxy._pc(self)[3] > _unwrap(other)

    def __ge__(self, other):
        return Proxy._pc(self)[3] >= _unwrap(other)

    def __hash__(self):
        return hash(Proxy._pc(self)[3])

    def __str__(self):
        trace, kind, path, target = Proxy._pc(self)
        trace.record(kind, path, None)
        return str(target)

    def __repr__(self):
        return repr(Proxy._pc(self)[3])

    def __format__(self, spec):
        return format(Proxy._pc(self)[3], spec)

    def __html__(self):
        trace, kind, path, target = Proxy._pc(self)
        trace.record(kind, path, None)
        return target.__html__()

    def __reversed__(self):
        trace, kind, path, target = Proxy._pc(self)
        for item in reversed(target):
            yield trace.wrap(item, kind, path + "[*]")

    def __next__(self):
        trace, kind, path, target = Proxy._pc(self)
        return trace.wrap(next(target), kind, path + "[*]")

    def __int__(self):
        return int(Proxy._pc(self)[3])

    def __float__(self):
        return float(Proxy._pc(self)[3])

    def __index__(self):
        return Proxy._pc(self)[3].__index__()

    def __enter__(self):
        return Proxy._pc(self)[3].__enter__()

    def __exit__(self, *exc):
        return Proxy._pc(self)[3].__exit__(*exc)


class TracedDict(dict):
    """A dict that records the keys read from it (a shallow copy; writes go to the original
    too)."""

    def __init__(self, trace, kind, path, original):
        super().__init__(original)
        self._pc = (trace, kind, path, original)

    def __getitem__(self, key):
        trace, kind, path, _ = self._pc
        return trace.wrap(super().__getitem__(key), kind, path + _key(key))

    def get(self, key, default=None):
        if key in self:
            return self[key]
        return default

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._pc[3][key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def items(self):
        for key in list(super().keys()):
            yield key, self[key]

    def values(self):
        for key in list(super().keys()):
            yield self[key]


class TracedList(list):
    """A list that records its items as read (`path[*]`)."""

    def __init__(self, trace, kind, path, original):
        super().__init__(original)
        self._pc = (trace, kind, path)

    def __iter__(self):
        trace, kind, path = self._pc
        for item in super().__iter__():
            yield trace.wrap(item, kind, path + "[*]")

    def __reversed__(self):
        trace, kind, path = self._pc
        for item in super().__reversed__():
            yield trace.wrap(item, kind, path + "[*]")

    def copy(self):
        return TracedList(*self._pc, self)

    def __getitem__(self, index):
        trace, kind, path = self._pc
        value = super().__getitem__(index)
        if isinstance(index, slice):
            return TracedList(trace, kind, path, value)
        return trace.wrap(value, kind, path + "[*]")


class TracedTuple(tuple):
    """A tuple that records its items as read (`path[*]`)."""

    def __new__(cls, trace, kind, path, original):
        self = super().__new__(cls, original)
        self._pc = (trace, kind, path)
        return self

    def __iter__(self):
        trace, kind, path = self._pc
        for item in super().__iter__():
            yield trace.wrap(item, kind, path + "[*]")

    def __getitem__(self, index):
        trace, kind, path = self._pc
        value = super().__getitem__(index)
        if isinstance(index, slice):
            return value
        return trace.wrap(value, kind, path + "[*]")


#: `random` is seeded with this before the timed render and before the traced render of a page
#: (templates may pick "random" posts; both renders then pick the same).
SEED = 20240607


def first_difference(real, other):
    """(line number, the real line, the other line) of the first line that differs."""
    a, b = (real or "").splitlines(), (other or "").splitlines()
    for n, (x, y) in enumerate(zip(a, b), 1):
        if x != y:
            return n, x, y
    n = min(len(a), len(b)) + 1
    return n, a[n - 1] if n <= len(a) else "", b[n - 1] if n <= len(b) else ""


def traced_renders(trace, pages, html_of, traced, stop=lambda: False):
    """Each page of `pages` (already rendered for real: `html_of(page)` is its HTML) rendered
    once more by `traced(page)` (which renders through `trace`, returning the HTML); stops when
    `stop()` says so. Returns the read set (`Trace.summary`) with `pages` traced, how many
    rendered `identical`ly, the `different` ones (page, first differing line) and `failed` ones
    (page, error): the check that tracing did not change what was rendered."""
    identical, different, failed = 0, [], []
    for page in pages:
        if stop():
            break
        real = html_of(page)
        if not isinstance(real, str) or not real:
            failed.append({"page": page, "error": "no HTML to compare: the real render left none"})
            continue
        random.seed(SEED)
        try:
            html = traced(page)
        except BaseException as exc:  # noqa: BLE001 - a time limit is a failure of this page
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            failed.append({"page": page, "error": "%s: %s" % (type(exc).__name__, exc)})
            continue
        if html == real:
            identical += 1
        else:
            line, was, got = first_difference(real, html)
            different.append({"page": page, "line": line, "real": was[:200], "traced": got[:200]})
    out = trace.summary()
    out.update(pages=identical + len(different), identical=identical, different=different,
               failed=failed)
    return out


def name_pages(read_set, key, virtual=lambda page: False):
    """The pages of a `traced_renders` result named by `key(page)`, and marked where
    `virtual(page)` (no source file of its own), in place."""
    for entry in (read_set or {}).get("different", []) + (read_set or {}).get("failed", []):
        page = entry["page"]
        entry["page"] = key(page)
        entry["virtual_page"] = bool(virtual(page))

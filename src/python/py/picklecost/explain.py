"""Explain what a pickle costs and why: the entry points the Rust side calls.

- `find_unpicklable(obj, root, ...)`: every minimal object that does not pickle, with its path
  (picklecost_walk).
- `attribute_bytes(obj, root, ...)`: which objects the bytes of the pickle are spent on
  (picklecost_attribution).
- `drag(page, site, others, ...)`: which attributes of a page pull in the site or other pages.
- `root_causes(failures)`: the culprits grouped by type and path pattern
  (`site.pages[*]._init_lock`), largest group first (picklecost_walk).
- `suggest(pages, site, ...)` and `build_payload(page, fields, exclude_keys)`: the page
  attributes a worker could be sent instead of the whole page.
- `compare_payloads(fields, own_payload_example)`: the suggested fields against the fields of
  the payload the generator ships itself (Bengal 0.5's PageView).

What the graph would cost once its culprits are repaired is `picklecost.repair`.

Everything returned is plain dicts, lists, strings and numbers. Paths are Python expressions
starting at the root name, e.g. `page.metadata['_posts'][3]`.
"""

import collections.abc
import dataclasses
import pathlib
import pickle
import statistics

from . import payloads, walk
from .attribution import Attribution, attribute_bytes  # noqa: F401 - re-exported
from .util import even_sample
from .walk import find_unpicklable, root_causes  # noqa: F401 - re-exported

__all__ = ["find_unpicklable", "root_causes", "attribute_bytes", "drag", "suggest",
           "build_payload", "compare_payloads", "set_deadline"]

set_deadline = walk.set_deadline


def _ids(objects):
    """Ids of `objects`: a set/frozenset of ints is taken as ids already."""
    if isinstance(objects, (set, frozenset)) and all(type(x) is int for x in objects):
        return set(objects)
    return {id(o) for o in objects or ()}


def _kind(hits, site_id):
    site = site_id in hits
    page = any(h != site_id for h in hits)
    if site and page:
        return "both"
    return "site" if site else "page"


_REASON = {"site": "reaches the site", "page": "reaches Page objects",
           "both": "reaches the site and Page objects"}


def _is_dict(value):
    return isinstance(value, dict)


def drag(page, site, others, root="page", protocol=5):
    """Attributes of `page` whose pickling pulls in `site` or one of `others`.

    Returns [{"path", "bytes", "reaches", "parent", "alone_bytes"}] sorted by bytes descending:
    one entry per top-level attribute (pickled state entry) that reaches the site or another
    page, and for dict attributes one entry per offending key (`parent` is then the attribute's
    path). `bytes` is what the entry adds to pickle.dumps(page): memo-aware, so an object
    already pulled in by an earlier attribute costs only its memo reference (counted as 0);
    None if the page does not pickle at all. `alone_bytes` is len(pickle.dumps(value)) on its
    own (None if that fails). The walk stops at the site and at pages: "reaches" says which it
    met first on each route ("both" if some routes meet the site, others a page).
    """
    return walk.run_deep(_drag, page, site, others, root, protocol)


def _drag(page, site, others, root, protocol):
    site_id = id(site) if site is not None else None
    targets = _ids(others)
    targets.discard(id(page))
    if site_id is not None:
        targets.add(site_id)
    cut = {id(page)}
    try:
        attribution = Attribution(page, root, protocol)
    except Exception:  # noqa: BLE001 - the page does not pickle: reachability still holds
        attribution = None
    kids = attribution.children_index() if attribution else {}
    top_records = {attribution.elem[c]: c for c in kids.get(0, ())} if attribution else {}

    def bytes_of(record):
        if attribution is None:
            return None
        return attribution.inclusive[record] if record is not None else 0

    out = []
    for _name, elem, value in walk.top_level(page, protocol):
        if walk.past_deadline():
            raise walk.out_of_time(len(out))
        hits, _error = walk.reaches(value, targets, protocol, cut)
        if not hits:
            continue
        path = walk.join(root, elem)
        record = top_records.get(elem)
        out.append({"path": path, "bytes": bytes_of(record), "reaches": _kind(hits, site_id),
                    "parent": None, "alone_bytes": _alone(value, protocol)})
        if not _is_dict(value):
            continue
        sub = {}
        if record is not None:
            sub = {attribution.elem[c]: c for c in kids.get(record, ())}
        for i, (key, item) in enumerate(value.items()):
            key_hits, _ = walk.reaches(item, targets, protocol, cut)
            if not key_hits:
                continue
            _key_elem, item_elem = walk._key_elems(key, i)
            out.append({"path": walk.join(path, item_elem), "bytes": bytes_of(sub.get(item_elem)),
                        "reaches": _kind(key_hits, site_id), "parent": path,
                        "alone_bytes": _alone(item, protocol)})
    out.sort(key=lambda e: -(e["bytes"] or 0))
    return out


def _alone(value, protocol):
    try:
        return len(pickle.dumps(value, protocol))
    except Exception:  # noqa: BLE001
        return None


def _empty(value):
    if value is None:
        return True
    try:
        return len(value) == 0
    except TypeError:
        return False


def build_payload(page, fields, exclude_keys=None):
    """{field: value} for the page: paths become strings, dict fields are copied without the
    keys `exclude_keys[field]` lists (the generic page payload)."""
    return payloads.subset(page, fields, exclude_keys)


class _Field:
    def __init__(self, name):
        self.name = name
        self.bad = None          # reason the whole field cannot go
        self.bad_keys = {}       # key -> reason (dict fields)
        self.good_keys = set()


def suggest(pages, site, protocol=5, sample=20, build=None):
    """The page attributes a worker could receive instead of the whole page.

    Keeps the pickled-state attributes (instance dict / slots entries) that pickle, reach
    neither the site nor any page (the page itself included) and hold page-specific data. The
    safety checks (pickles, reaches nothing) run on every page, each value being pickled once
    with the C pickler and cut at the site and pages; whether a field is page-specific (not the
    same on every sampled page, not None/empty on all of them) is judged on an evenly spaced
    sample of `sample` pages. A dict attribute of which only some keys reach the site/pages or
    do not pickle is kept without those keys.

    Public data is preferred over private caches: a private attribute (leading underscore)
    whose name says it is a cache ("cache" in it: `_x_cache`, `_cache_key`, `_x_cache_key`) is
    dropped as "private cache" (unless already dropped for being unsafe), and a private
    attribute that holds, on every page, a value equal to a public one's is replaced by that
    public attribute or property ("same value as public NAME"). The public candidates are the
    kept public attributes and the properties named like the private one without its leading
    underscores (and without a "raw_" prefix: `_raw_metadata` -> `metadata`), those named so
    first; values are compared as payloads carry them (paths as strings, mapping views as
    dicts). A property is taken only if its value passes the same checks on every page.

    Returns {"fields": [...], "exclude_keys": {field: [keys]}, "median_bytes": int,
    "dropped": [{"field", "reason"}], "sampled": int, "checked": int, "cut": bool}: checked
    counts the pages the safety checks saw, fewer than all when the time limit (`walk.deadline`)
    cut them short (cut); median_bytes is the
    median over the sample of len(pickle.dumps(build_payload(page, fields, exclude_keys))).
    """
    return walk.run_deep(_suggest, pages, site, protocol, sample, build or build_payload)


def _suggest(pages, site, protocol, sample, build):
    pages = list(pages)
    picks, _ = even_sample(pages, max(1, sample))
    site_id = id(site) if site is not None else None
    targets = {id(p) for p in pages}
    if site_id is not None:
        targets.add(site_id)

    fields = {}
    checked = len(pages)
    for i, page in enumerate(pages):
        if walk.past_deadline():
            # The time limit: the safety checks rest on the pages checked so far.
            checked = i
            break
        for name, _elem, value in walk.top_level(page, protocol):
            if not isinstance(name, str):
                continue
            field = fields.get(name)
            if field is None:
                field = fields[name] = _Field(name)
            if field.bad:
                continue
            problem = _problem(payloads.plain(value), targets, site_id, protocol)
            if problem is None:
                if _is_dict(value):
                    field.good_keys.update(value)
                continue
            if not _is_dict(value):
                field.bad = problem
                continue
            for key, item in value.items():
                key_problem = _problem(item, targets, site_id, protocol)
                if key_problem is None:
                    field.good_keys.add(key)
                else:
                    field.bad_keys.setdefault(key, key_problem)

    kept, exclude_keys, dropped = [], {}, []
    for name, field in fields.items():
        reason = field.bad
        if reason is None and field.bad_keys:
            if not field.good_keys - set(field.bad_keys):
                reason = "no key would be left (%s)" % "; ".join(
                    sorted(set(field.bad_keys.values())))
            else:
                exclude_keys[name] = sorted(field.bad_keys, key=repr)
        if reason is None and _private_cache(name):
            reason = "private cache"
        if reason is None:
            values = [build(p, [name], exclude_keys)[name] for p in picks]
            if all(_empty(v) for v in values):
                reason = "None or empty on every sampled page"
            elif len(picks) > 1 and _all_same(values, protocol):
                reason = "same value on every sampled page"
            else:
                for v in values:  # a cleaned dict must hold up too (a dict subclass's state)
                    reason = _problem(v, targets, site_id, protocol)
                    if reason:
                        break
        if reason:
            dropped.append({"field": name, "reason": reason})
            exclude_keys.pop(name, None)
        else:
            kept.append(name)

    _prefer_public(kept, exclude_keys, dropped, pages[:checked], picks, targets, site_id,
                   protocol, build)

    sizes = []
    for page in picks:
        try:
            sizes.append(len(pickle.dumps(build(page, kept, exclude_keys), protocol)))
        except Exception:  # noqa: BLE001 - every kept value was checked; be safe anyway
            pass
    return {"fields": kept, "exclude_keys": exclude_keys,
            "median_bytes": int(statistics.median(sizes)) if sizes else 0,
            "dropped": dropped, "sampled": len(picks), "checked": checked,
            "cut": checked < len(pages)}


def _private_cache(name):
    return name.startswith("_") and "cache" in name.lower()


def _counterpart_names(name):
    stem = name.lstrip("_")
    names = [stem]
    if stem.startswith("raw_") and len(stem) > 4:
        names.append(stem[4:])
    return [n for n in names if n.isidentifier()]


def _is_property(page, name):
    return any(isinstance(vars(klass).get(name), property) for klass in type(page).__mro__)


def _same_everywhere(pages, a, b):
    """Whether fields `a` and `b` hold equal payload values on every page."""
    for page in pages:
        try:
            if not bool(payloads.plain(payloads.field(page, a))
                        == payloads.plain(payloads.field(page, b))):
                return False
        except Exception:  # noqa: BLE001 - a property that raises, an odd __eq__
            return False
    return True


def _prefer_public(kept, exclude_keys, dropped, pages, picks, targets, site_id, protocol, build):
    """Replace each kept private field by a public attribute/property of equal value (see
    suggest). Edits kept, exclude_keys and dropped in place."""
    for name in [n for n in kept if n.startswith("_")]:
        named = _counterpart_names(name)
        public = [n for n in kept if not n.startswith("_")]
        candidates = [n for n in named if n in public]
        candidates += [n for n in named if n not in public and pages
                       and all(_is_property(p, n) for p in pages)]
        candidates += [n for n in public if n not in candidates]
        for candidate in candidates:
            if not _same_everywhere(pages, name, candidate):
                continue
            if candidate not in kept:
                if name in exclude_keys or not _safe_everywhere(
                        candidate, pages, picks, targets, site_id, protocol, build):
                    continue
                kept[kept.index(name)] = candidate
            else:
                kept.remove(name)
            exclude_keys.pop(name, None)
            dropped.append({"field": name, "reason": "same value as public %s" % candidate})
            break


def _safe_everywhere(name, pages, picks, targets, site_id, protocol, build):
    for page in pages:
        try:
            value = payloads.plain(payloads.field(page, name))
        except Exception:  # noqa: BLE001
            return False
        if _problem(value, targets, site_id, protocol):
            return False
    for page in picks:  # as the generator's payload carries it, too
        try:
            value = build(page, [name], {})[name]
        except Exception:  # noqa: BLE001
            return False
        if _problem(value, targets, site_id, protocol):
            return False
    return True


def payload_fields(example):
    """The fields of a payload object: its dataclass fields, else its __slots__ and instance
    dict keys (a mapping's string keys), in definition order."""
    if isinstance(example, collections.abc.Mapping):
        return [k for k in example if isinstance(k, str)]
    if dataclasses.is_dataclass(example) and not isinstance(example, type):
        return [f.name for f in dataclasses.fields(example)]
    names = [n for n in walk._slot_names(type(example))
             if walk.static_attr(example, n) is not walk._MISSING]
    names += [n for n in getattr(example, "__dict__", {}) if isinstance(n, str)]
    return list(dict.fromkeys(names))


def compare_payloads(suggested_fields, own_payload_example):
    """The suggested page fields against those of one payload the generator builds itself
    (e.g. Bengal 0.5's PageView for some page).

    Returns {"only_suggested": [...], "only_generator": [...], "both": [...]}: the suggested
    names in their order, the generator's in its field order. Names are matched exactly, as
    written: an alias such as `_raw_content` for the generator's `content` is not matched.
    """
    generator = payload_fields(own_payload_example)
    gen_set = set(generator)
    suggested = list(dict.fromkeys(suggested_fields))
    sug_set = set(suggested)
    return {"only_suggested": [n for n in suggested if n not in gen_set],
            "only_generator": [n for n in generator if n not in sug_set],
            "both": [n for n in suggested if n in gen_set]}


def _problem(value, targets, site_id, protocol):
    """None if `value` pickles on its own without reaching a target, else the reason."""
    hits, error = walk.reaches(value, targets, protocol)
    if hits:
        return _REASON[_kind(hits, site_id)]
    if error is not None:
        return "does not pickle (%s)" % walk.error_text(error)
    return None


def _all_same(values, protocol):
    first = None
    for i, v in enumerate(values):
        try:
            data = pickle.dumps(v, protocol)
        except Exception:  # noqa: BLE001
            return False
        if i == 0:
            first = data
        elif data != first:
            return False
    return True

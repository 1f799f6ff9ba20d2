"""The proof: render the sampled pages from the read set alone, and compare with the real HTML.

Runs where the trace runs (the forked child of `readtrace.in_fork`, another process than the
tool's): for each traced page, the page and the site are replaced by stand-ins built from the
read set's paths only (`readtrace.extract`): a `StandIn` is a dict that also answers attribute
reads, holding nothing but the values the paths read; a read outside them raises (AttributeError
or KeyError, as the real object would for a missing name) and is remembered with its path. The
page's references to the site (`page._site`) are the site's stand-in. The adapter's renderer
renders the stand-in page (the site swapped for its stand-in wherever the renderer holds it).
When the HTML differs from the real render and reads fell outside, those paths (where the real
page or site has them) are added and the page is rendered again, until it renders identically,
nothing new is read, or `MAX_ROUNDS`. The paths added are reported: what the trace missed.
"""

import random

from . import readset, readtrace

MAX_ROUNDS = 6

_DICT_NAMES = frozenset(n for n in dir(dict) if not n.startswith("__"))


class StandIn(dict):
    """Holds only traced data; answers `x.name` and `x[key]` from it."""

    __slots__ = ("_pc_path", "_pc_misses")

    def __init__(self, data, path, misses):
        super().__init__()
        object.__setattr__(self, "_pc_path", path)
        object.__setattr__(self, "_pc_misses", misses)
        for key, value in data.items():
            dict.__setitem__(self, key, _stand_in(value, "%s%s" % (path, _step_text(key)), misses))

    def __getattribute__(self, name):
        if name.startswith("__") or name in ("_pc_path", "_pc_misses"):
            return object.__getattribute__(self, name)
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        if name in _DICT_NAMES:
            return object.__getattribute__(self, name)
        path = object.__getattribute__(self, "_pc_path")
        object.__getattribute__(self, "_pc_misses").append("%s.%s" % (path, name))
        raise AttributeError("%s.%s is outside the read set" % (path, name))

    def __setattr__(self, name, value):
        dict.__setitem__(self, name, value)  # what the render writes (its outputs)

    def __missing__(self, key):
        path = object.__getattribute__(self, "_pc_path")
        object.__getattribute__(self, "_pc_misses").append("%s[%r]" % (path, key))
        raise KeyError(key)

    def __call__(self, *args, **kwargs):
        label = "(%s)" % ", ".join(repr(a) for a in args)
        if dict.__contains__(self, label):
            return dict.__getitem__(self, label)
        path = object.__getattribute__(self, "_pc_path")
        object.__getattribute__(self, "_pc_misses").append(path + label)
        raise TypeError("%s%s is outside the read set" % (path, label))

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other


def _step_text(key):
    if isinstance(key, str) and key.isidentifier():
        return "." + key
    if isinstance(key, str) and key.startswith("("):
        return key
    return "[%r]" % (key,)


def _stand_in(value, path, misses):
    if isinstance(value, dict):
        return StandIn(value, path, misses)
    if isinstance(value, list):
        return [_stand_in(v, path + "[*]", misses) for v in value]
    return value


def _put(data, steps, value):
    """`value` at `steps` (attribute/key steps) inside the nested dict `data`."""
    for step in steps[:-1]:
        key = readtrace._label(step)
        if not isinstance(data.get(key), dict):
            data[key] = {}
        data = data[key]
    data[readtrace._label(steps[-1])] = value


def _action(*args, **kwargs):
    """A page method the render only calls (`page.extract_links()`): nothing to read."""
    return None


def stand_ins(page, site, paths, read_set, misses):
    """(page stand-in, site stand-in) holding only what the paths read; the page's methods the
    render only called as no-ops."""
    page_paths, site_paths = paths
    site_refs = read_set.get("site_refs", [])
    site_in = StandIn(readtrace.extract(site, site_paths), "site", misses)
    data = readtrace.extract(page, page_paths)
    page_in = StandIn(data, "page", misses)
    for entry in read_set.get("page_calls", []):
        dict.__setitem__(page_in, entry["field"], _action)
    for ref in site_refs:
        _put_site(page_in, readtrace.parse(ref), site_in, misses)
    return page_in, site_in


def _put_site(page_in, steps, site_in, misses):
    """The site's stand-in where the page holds the site (`steps` of a `site_refs` path:
    `page._section._site`). A holder on the way the page's data lacks is made (empty); one it
    holds as something else (None: a page outside any section) is left as it is: this page holds
    no site there."""
    if not steps or not all(s[0] in ("attr", "key") for s in steps):
        return
    holder, path = page_in, "page"
    for step in steps[:-1]:
        label = readtrace._label(step)
        path += _step_text(label)
        if not dict.__contains__(holder, label):
            dict.__setitem__(holder, label, StandIn({}, path, misses))
        holder = dict.__getitem__(holder, label)
        if not isinstance(holder, StandIn):
            return
    dict.__setitem__(holder, readtrace._label(steps[-1]), site_in)


def _new_paths(misses, page, site, known):
    """The paths read outside the stand-ins that the real page or site has, not known yet."""
    found = []
    for miss in dict.fromkeys(misses):
        if miss in known:
            continue
        try:
            steps = readtrace.parse(miss)
        except ValueError:
            continue
        root = page if miss.startswith("page") else site
        if readtrace.resolves(root, steps):
            found.append(miss)
    return found


def _answered_by_real(misses, page, site):
    """The reads outside the stand-ins that the real page or site answers (with data, or a
    method: what a stand-in cannot give), in the order made; the others the real objects lack
    too."""
    found = []
    for miss in dict.fromkeys(misses):
        try:
            steps = readtrace.parse(miss)
        except ValueError:
            continue
        value = page if miss.startswith("page") else site
        for step in steps:
            value = readtrace._step(value, step) if step[0] != "each" else value
            if value is readtrace._MISSING:
                break
        else:
            found.append(miss)
    return found


def prove_or_say(read_set, *args, **kwargs):
    """`prove(..., read_set, ...)` into `read_set["proof"]`, or why not into
    `read_set["proof_error"]` (the read set stands without it)."""
    try:
        read_set["proof"] = prove(*args[:2], read_set, *args[2:], **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported instead of the proof
        read_set["proof"] = None
        read_set["proof_error"] = "the proof failed: %s: %s" % (type(exc).__name__, exc)
    return read_set


def prove(pages, site, read_set, real_html, render, stop=lambda: False, reset=None):
    """Each of `pages` rendered by `render(page_in, site_in)` from stand-ins (built after
    `reset(page)`, where given: the page as it was before rendering); compared with
    `real_html(page)`. Returns {"pages", "identical", "different": [{page, line, real, traced}],
    "failed": [{page, error}], "added": [paths], "rounds"}."""
    page_paths, site_paths = readtrace.read_paths(read_set)
    known = set()
    out = {"pages": 0, "identical": 0, "different": [], "failed": [], "added": [], "rounds": 0}
    for page in pages:
        if stop():
            break
        real = real_html(page)
        if not isinstance(real, str) or not real:
            out["pages"] += 1
            out["failed"].append({"page": page, "error": "no HTML to compare: the real render "
                                                         "left none"})
            continue
        if reset is not None:
            reset(page)  # the stand-ins never touch it: once is enough
        result = _prove_one(page, site, (page_paths, site_paths), read_set, known, real, render,
                            out)
        out["pages"] += 1
        if result is True:
            out["identical"] += 1
    return out


def _prove_one(page, site, paths, read_set, known, real, render, out):
    page_paths, site_paths = paths
    last = None
    for _ in range(MAX_ROUNDS):
        out["rounds"] += 1
        misses = []
        page_in, site_in = stand_ins(page, site, paths, read_set, misses)
        random.seed(readset.SEED)
        try:
            html, error = render(page_in, site_in), None
        except Exception as exc:  # noqa: BLE001 - reported with the page
            html, error = None, "%s: %s" % (type(exc).__name__, exc)
        if error is None and html == real:
            return True
        new = _new_paths(misses, page, site, known)
        if not new:
            last = (html, error, misses)
            break
        for path in new:
            known.add(path)
            out["added"].append(path)
            (page_paths if path.startswith("page") else site_paths).append(readtrace.parse(path))
        last = (html, error, misses)
    html, error, misses = last
    if error is not None:
        outside = (" (read outside the read set: %s)" % ", ".join(list(dict.fromkeys(misses))[:3])
                   if misses else "")
        out["failed"].append({"page": page, "error": (error + outside)[:400]})
    else:
        line, was, got = readset.first_difference(real, html)
        out["different"].append({"page": page, "line": line, "real": was[:200],
                                 "traced": got[:200],
                                 "outside": _answered_by_real(misses, page, site)[:8]})
    return False

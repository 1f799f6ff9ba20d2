"""The generic per-page payload a worker would receive: a plain view of selected page attributes,
and the keys used to name and sample pages. Generator adapters use these unless they know better.
"""

import collections.abc
import os
import pathlib

FALLBACK_FIELDS = ["source_path", "content", "metadata"]


class FieldError(Exception):
    pass


def default_fields(page=None):
    """For a project no adapter knows: the usual fields it has, else its public attributes."""
    if page is None:
        return list(FALLBACK_FIELDS)
    present = [f for f in FALLBACK_FIELDS if f in available_fields(page)]
    if present:
        return present
    public = [f for f in available_fields(page) if not f.startswith("_")]
    return public or available_fields(page)


def field(page, name):
    """`page.name`; a dotted name that is not an attribute itself ("file.src_uri") is followed
    attribute by attribute (None where the chain breaks)."""
    if isinstance(page, collections.abc.Mapping):
        return page.get(name)
    if "." in name and not hasattr(page, name):
        value = page
        for part in name.split("."):
            value = field(value, part) if value is not None else None
        return value
    return getattr(page, name, None)


def _resolves(page, name):
    """Whether a dotted field name leads somewhere on `page` (every link but the last present)."""
    value = page
    parts = name.split(".")
    for part in parts[:-1]:
        value = field(value, part)
        if value is None:
            return False
    return value is not None and (parts[-1] in available_fields(value) or hasattr(value, parts[-1]))


def available_fields(page):
    """Instance attributes plus public properties: what `getattr(page, name)` can serve (for
    pages that are mappings, their string keys)."""
    if isinstance(page, collections.abc.Mapping):
        return sorted(k for k in page if isinstance(k, str))
    names = set(getattr(page, "__dict__", {}))
    for klass in type(page).__mro__:
        for name in getattr(klass, "__slots__", ()) or ():
            if isinstance(name, str) and hasattr(page, name):
                names.add(name)
        for name, value in vars(klass).items():
            if isinstance(value, property) and not name.startswith("__"):
                names.add(name)
    return sorted(names)


def validate_fields(page, fields):
    if not fields:
        raise FieldError("--fields is empty: name at least one page attribute")
    known = set(available_fields(page))
    unknown = [f for f in fields if f not in known and not ("." in f and _resolves(page, f))]
    if unknown:
        raise FieldError(
            "unknown page field(s) %s for %s; available: %s"
            % (", ".join(unknown), type(page).__qualname__, ", ".join(sorted(known)))
        )


def plain(value):
    """A field's value as a worker payload carries it: paths become strings and read-only
    mapping views (`mappingproxy`, a generator's cascading metadata view) become dicts, at any
    depth inside such views. Everything else stays the live object, so that what it drags along
    (e.g. Page references in metadata) is measured."""
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, collections.abc.Mapping) and not isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def subset(page, fields, exclude_keys=None):
    """{field: value}; a dict field listed in `exclude_keys` is copied without those keys."""
    out = {}
    for name in fields:
        value = plain(field(page, name))
        drop = (exclude_keys or {}).get(name)
        if drop and isinstance(value, dict):  # views are dicts by now
            drop = set(drop)
            value = {k: v for k, v in value.items() if k not in drop}
        out[name] = value
    return out


def page_key(page):
    """A readable identity for a page in reports (its source path where it has one)."""
    for attr in ("source_path", "path", "url", "slug", "title"):
        value = field(page, attr)
        if value:
            return str(value)
    return "%s@%x" % (type(page).__qualname__, id(page))


def own_name(page):
    """A page's name that is not a file path: its URL, slug or title (None without one)."""
    for attr in ("url", "slug", "title"):
        value = field(page, attr)
        if value and isinstance(value, str):
            return value
    return None


VIRTUAL_FLAGS = ("virtual", "is_virtual")
VIRTUAL_METADATA = ("_virtual", "_generated")


def is_virtual(page):
    """Whether the page has no source file of its own (a generated tag or index page): a
    `virtual`/`is_virtual` attribute that is True, or metadata marking it `_virtual` or
    `_generated` (Bengal's marks)."""
    for attr in VIRTUAL_FLAGS:
        if field(page, attr) is True:
            return True
    metadata = field(page, "metadata")
    if isinstance(metadata, collections.abc.Mapping):
        return any(bool(metadata.get(key)) for key in VIRTUAL_METADATA)
    return False


def strata(pages):
    """(group, content length) per page: sampling along this order covers sections and sizes."""
    keys = []
    for page in pages:
        source = field(page, "source_path")
        group = os.path.dirname(str(source)) if source else type(page).__qualname__
        content = field(page, "content")
        size = len(content) if isinstance(content, (str, bytes)) else 0
        keys.append((group, size))
    return keys


def plain_data(value, depth=0):
    """`value` as plain data (what a worker could receive without importing the generator):
    strings, numbers, booleans and None as they are; dates as ISO strings; paths as strings;
    mappings as dicts with string keys and sequences/sets as lists, recursively; any other
    object (a generator's Category, Tag or Page reference) as its `str()`."""
    import datetime

    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if depth > 20:
        return str(value)
    if isinstance(value, collections.abc.Mapping):
        return {str(k): plain_data(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain_data(v, depth + 1) for v in value]
    return str(value)

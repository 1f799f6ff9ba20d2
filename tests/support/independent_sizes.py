"""Compute, without picklecost's code, what picklecost should report: the real pickled sizes.

usage: independent_sizes.py SITE_DIR PROTOCOL FIELDS [LOADER]

A page subset is the plain view the docs describe: paths as strings, read-only mapping views as
dicts, and on a Bengal that ships `bengal.snapshots` (0.5) dict fields through its own
`to_plain_data`; that Bengal's own payload (`page_view_from_live_page`) is sized too. An object
that does not pickle is reported as "Type: message" instead of a size.
"""
import collections.abc
import importlib.util
import json
import pathlib
import pickle
import sys


def main():
    root, protocol, fields = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    loader = sys.argv[4] if len(sys.argv) > 4 else None
    if loader:
        sys.dont_write_bytecode = True
        sys.path.insert(0, root)
        module, function = loader.split(":")
        result = getattr(__import__(module), function)(pathlib.Path(root))
        site, pages = result if isinstance(result, tuple) else (result, result.pages)
    else:
        from bengal.core.site import Site
        site = Site.from_config(pathlib.Path(root))
        site.discover_content()
        site.discover_assets()
        pages = site.pages

    def size(obj):
        try:
            return len(pickle.dumps(obj, protocol))
        except Exception as exc:
            return "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0])

    snapshots = not loader and importlib.util.find_spec("bengal.snapshots") is not None

    def plain(value):
        if isinstance(value, pathlib.PurePath):
            return str(value)
        if isinstance(value, collections.abc.Mapping) and not isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    def subset(page):
        out = {}
        for name in fields:
            value = plain(getattr(page, name, None))
            if snapshots and isinstance(value, dict):
                from bengal.snapshots.render_plan import to_plain_data
                value = to_plain_data(value)
            out[name] = value
        return out

    result = {
        "pages": len(pages),
        "site": size(site),
        "page": [size(p) for p in pages],
        "page_subset": [size(subset(p)) for p in pages],
    }
    if snapshots:
        from bengal.snapshots.render_plan import page_view_from_live_page
        result["page_generator"] = [size(page_view_from_live_page(p, site)) for p in pages]
    sys.stdout.flush()
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()

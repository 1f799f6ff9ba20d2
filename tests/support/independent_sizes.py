"""Compute, without picklecost's code, what picklecost should report: the real pickled sizes.

usage: independent_sizes.py SITE_DIR PROTOCOL FIELDS [LOADER]
"""
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
            return "%s: %s" % (type(exc).__name__, exc)

    def subset(page):
        out = {}
        for name in fields:
            value = getattr(page, name, None)
            out[name] = str(value) if isinstance(value, pathlib.PurePath) else value
        return out

    result = {
        "pages": len(pages),
        "site": size(site),
        "page": [size(p) for p in pages],
        "page_subset": [size(subset(p)) for p in pages],
    }
    sys.stdout.flush()
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()

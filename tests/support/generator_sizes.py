"""Compute, without picklecost's code, what picklecost should report for a Pelican, MkDocs or
Sphinx site: the real pickled sizes of the root object, each page and each default page payload.

usage: generator_sizes.py GENERATOR SITE_DIR STAGE WORKDIR COPY

The site is loaded here with the generator's own API, the way docs/ and the adapters' docstrings
describe each stage, from a copy of the site at COPY (inside WORKDIR, where picklecost's
private copy was), with the output, cache and doctree directories in WORKDIR — the scratch
directory picklecost used (pickles embed those paths, so the sizes only agree at the same
place). WORKDIR is created and removed again. An object that does not pickle is reported as
"Type: message" instead of a size. Prints one line `RESULT {json}`.
"""
import datetime
import io
import json
import pathlib
import pickle
import shutil
import sys
import types

sys.dont_write_bytecode = True


def size(obj):
    try:
        return len(pickle.dumps(obj, 5))
    except Exception as exc:
        return "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0])


def plain(value):
    """Plain data as the docs describe: scalars as they are, dates as ISO strings, paths as
    strings, mappings as dicts with string keys, sequences and sets as lists, other objects as
    their str()."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return str(value)


def pelican(root, stage, work):
    from pelican import Pelican, signals
    from pelican.generators import ArticlesGenerator, PagesGenerator
    from pelican.settings import read_settings

    if stage == "rendered":
        shutil.copytree(root, work / "site", symlinks=True)
        root = work / "site"
    settings = read_settings(str(root / "pelicanconf.py"), override={
        "OUTPUT_PATH": str(work / "output"), "CACHE_PATH": str(work / "cache"),
        "CACHE_CONTENT": False, "LOAD_CONTENT_CACHE": False, "WRITE_SELECTED": [],
        "DELETE_OUTPUT_DIRECTORY": False})
    app = Pelican(settings)
    if stage == "discovered":
        context = settings.copy()
        context.update(generated_content={}, static_links=set(), static_content={},
                       localsiteurl=settings["SITEURL"])
        generators = [cls(context=context, settings=settings, path=app.path, theme=app.theme,
                          output_path=app.output_path) for cls in app._get_generator_classes()]
        for g in generators:
            g.generate_context()
            if hasattr(g, "check_disabled_readers"):
                g.check_disabled_readers()
        signals.all_generators_finalized.send(generators)
        for g in generators:
            if hasattr(g, "refresh_metadata_intersite_links"):
                g.refresh_metadata_intersite_links()
    else:
        caught = []
        catch = caught.append
        signals.all_generators_finalized.connect(lambda sender: catch(sender), weak=False)
        app.run()
        generators = list(caught[-1])
        context = generators[0].context
    pages = []
    for g in generators:
        if isinstance(g, ArticlesGenerator):
            pages += g.articles + g.hidden_articles + g.translations + g.hidden_translations
    for g in generators:
        if isinstance(g, PagesGenerator):
            pages += g.pages + g.hidden_pages + g.translations + g.hidden_translations
    site = types.SimpleNamespace(context=context, generators=generators)
    subsets = [{"source_path": p.source_path, "_content": p._content,
                "metadata": plain(p.metadata), "save_as": p.save_as} for p in pages]
    return site, pages, subsets, {}


def mkdocs(root, stage, work):
    from mkdocs.commands.build import _populate_page, build, get_navigation
    from mkdocs.config import load_config
    from mkdocs.structure.files import InclusionLevel, get_files, set_exclusions
    from mkdocs.structure.pages import Page

    if stage == "rendered":
        shutil.copytree(root, work / "site", symlinks=True)
        root = work / "site"
    config_file = next(root / n for n in ("mkdocs.yml", "mkdocs.yaml") if (root / n).is_file())
    config = load_config(config_file=str(config_file), site_dir=str(work / "output"))
    if stage == "discovered":
        config = config.plugins.on_config(config)
        config.plugins.on_pre_build(config=config)
        files = get_files(config)
        env = config.theme.get_env()
        files.add_files_from_theme(env, config)
        files = config.plugins.on_files(files, config=config)
        set_exclusions(files, config)
        nav = config.plugins.on_nav(get_navigation(files, config), config=config, files=files)
        for f in files.documentation_pages(inclusion=InclusionLevel.is_included):
            if f.page is None and f.inclusion.is_not_in_nav():
                Page(None, f, config)
            _populate_page(f.page, config, files)
        config.plugins.on_env(env, config=config, files=files)
    else:
        seen = {}
        on_nav, on_env = config.plugins.on_nav, config.plugins.on_env

        def nav_event(nav, **kw):
            seen["nav"] = on_nav(nav, **kw)
            return seen["nav"]

        def env_event(env, **kw):
            seen["files"] = kw["files"]
            return on_env(env, **kw)

        config.plugins.on_nav, config.plugins.on_env = nav_event, env_event
        build(config)
        del config.plugins.on_nav, config.plugins.on_env
        files, nav = seen["files"], seen["nav"]
    pages = [f.page for f in files.documentation_pages() if f.page is not None]
    site = types.SimpleNamespace(config=config, files=files, nav=nav)
    subsets = [{"file.src_uri": p.file.src_uri, "markdown": p.markdown, "meta": plain(p.meta),
                "file.dest_uri": p.file.dest_uri} for p in pages]
    return site, pages, subsets, {}


def sphinx(root, stage, work):
    from sphinx.application import Sphinx

    if stage == "rendered":
        shutil.copytree(root, work / "site", symlinks=True)
        root = work / "site"
    confdir = root if (root / "conf.py").is_file() else root / "source"
    stream = io.StringIO()
    app = Sphinx(str(confdir), str(confdir), str(work / "output"), str(work / "doctrees"), "html",
                 status=stream, warning=stream, freshenv=True, parallel=0)
    if stage == "discovered":
        app.builder.read()
    else:
        app.build(force_all=True)
    env = app.env
    pages = []
    for docname in sorted(env.found_docs):
        doctree = env._write_doc_doctree_cache.get(docname) if stage == "discovered" else None
        if doctree is None:
            doctree = env.get_doctree(docname)
        path = pathlib.Path(env.doc2path(docname))
        title = env.titles.get(docname)
        pages.append(types.SimpleNamespace(
            docname=docname, source_path=str(path), source=path.read_text(encoding="utf-8"),
            title=title.astext() if title is not None else None,
            metadata=dict(env.metadata.get(docname, {})),
            output_path=app.builder.get_target_uri(docname), doctree=doctree))
    subsets = [{"source_path": p.source_path, "source": p.source, "metadata": plain(p.metadata),
                "output_path": p.output_path} for p in pages]
    return app, pages, subsets, {"env": size(env)}


def main():
    generator, root, stage, work, copy = sys.argv[1:6]
    root, work = pathlib.Path(root).resolve(), pathlib.Path(work)
    if work.exists():
        sys.exit("%s exists: it must be the scratch directory of a finished run" % work)
    work.mkdir(parents=True)
    # picklecost loads a private copy of the site inside its scratch directory: load from the
    # same place (the copy is a plain copy of the site's files).
    copy = pathlib.Path(copy)
    shutil.copytree(root, copy, symlinks=True)
    root = copy
    out = sys.stdout
    sys.stdout = sys.stderr  # the generators' chatter
    try:
        site, pages, subsets, extra = globals()[generator](root, stage, work)
        result = {"pages": len(pages), "site": size(site), "page": [size(p) for p in pages],
                  "page_subset": [size(s) for s in subsets], "extra": extra}
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(copy, ignore_errors=True)
        try:
            copy.parent.rmdir()  # the run's memory-backed scratch folder, when the copy was there
        except OSError:
            pass
    out.write("RESULT %s\n" % json.dumps(result))


main()

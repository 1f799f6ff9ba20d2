"""Load a site's real object graph: one adapter per generator, plus `--loader module:function`.

Nothing here may write into the site directory: a rendered build runs in a copy under
`workdir`, and imports never write bytecode.
"""

import contextlib
import importlib
import io
import os
import shutil
import sys
import time
from pathlib import Path


class LoadError(Exception):
    """A problem with the user's input: its message is shown as the tool's one error line."""


class Loaded:
    def __init__(self, site, pages, generator, generator_version, stage, build_root, log):
        self.site = site
        self.pages = pages
        self.generator = generator
        self.generator_version = generator_version
        self.stage = stage
        self.build_root = build_root
        self.log = log


@contextlib.contextmanager
def captured_output():
    """Keep the generator's own chatter (Bengal logs to stdout) off the tool's terminal.

    Python-level streams are swapped, and fd 1 too, for writers that cached the real stdout.
    """
    buffer = io.StringIO()
    sys.stdout.flush()
    saved_fd = os.dup(1)
    sink = open(os.devnull, "w")
    os.dup2(sink.fileno(), 1)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        sys.stdout.flush()
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        sink.close()


@contextlib.contextmanager
def working_directory(path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _message(exc):
    text = str(exc).strip() or repr(exc)
    return "%s: %s" % (type(exc).__name__, text.splitlines()[0] if text else "")


# --- Bengal ---------------------------------------------------------------------------------

def is_bengal_site(root):
    return (Path(root) / "bengal.toml").is_file()


def _check_bengal_config(root):
    # Bengal logs a broken bengal.toml and silently falls back to defaults; a measurement of the
    # wrong configuration would be worse than no measurement.
    import tomllib

    config = Path(root) / "bengal.toml"
    try:
        with open(config, "rb") as f:
            tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise LoadError("%s is not valid TOML (%s); fix the file and run again" % (config, exc))
    except OSError as exc:
        raise LoadError("cannot read %s: %s" % (config, exc.strerror or exc))


def load_bengal(root, stage, workdir):
    _check_bengal_config(root)
    try:
        import bengal
        from bengal.core.site import Site
    except ImportError as exc:
        raise LoadError(
            "%s is a Bengal site but Bengal is not installed in this Python environment (%s); "
            "install it there, e.g. `pip install bengal`" % (root, _message(exc))
        )
    version = getattr(bengal, "__version__", "unknown")
    build_root = None
    with captured_output() as log:
        try:
            if stage == "discovered":
                site = Site.from_config(Path(root))
                site.discover_content()
                site.discover_assets()
            else:
                # A build writes .bengal/ and public/ into the site it builds: build a copy.
                build_root = Path(workdir) / "site"
                shutil.copytree(root, build_root, symlinks=True)
                for path in (build_root / "public", build_root / ".bengal"):
                    shutil.rmtree(path, ignore_errors=True)
                with working_directory(build_root):
                    site = Site.from_config(build_root)
                    site.build(parallel=False, incremental=False, quiet=True)
        except LoadError:
            raise
        except Exception as exc:
            raise LoadError(
                "Bengal could not load %s at stage %s: %s" % (root, stage, _message(exc))
            )
    return Loaded(site, list(site.pages), "bengal", version, stage,
                  str(build_root) if build_root else None, log.getvalue())


# --- --loader module:function -----------------------------------------------------------------

def _split_spec(spec):
    module, sep, function = spec.partition(":")
    if not sep or not module or not function:
        raise LoadError("--loader must look like module:function, got %r" % spec)
    return module, function


def load_custom(root, spec, stage):
    module_name, function_name = _split_spec(spec)
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(root))
    with captured_output() as log:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise LoadError(
                    "--loader module %r not found in %s or the Python environment"
                    % (module_name, root)
                )
            raise LoadError("importing --loader module %r failed: %s" % (module_name, _message(exc)))
        except Exception as exc:
            raise LoadError("importing --loader module %r failed: %s" % (module_name, _message(exc)))
        function = getattr(module, function_name, None)
        if not callable(function):
            raise LoadError("--loader module %r has no function %r" % (module_name, function_name))
        try:
            result = function(Path(root))
        except Exception as exc:
            raise LoadError("--loader %s raised %s" % (spec, _message(exc)))
    if isinstance(result, tuple) and len(result) == 2:
        site, pages = result
    else:
        site = result
        pages = getattr(site, "pages", None)
        if pages is None:
            raise LoadError(
                "--loader %s returned a %s without a `pages` attribute; return (site, pages) instead"
                % (spec, type(site).__qualname__)
            )
    try:
        pages = list(pages)
    except TypeError:
        raise LoadError("--loader %s: pages is not iterable (%s)" % (spec, type(pages).__qualname__))
    version = getattr(sys.modules.get(module_name.split(".")[0]), "__version__", None)
    return Loaded(site, pages, "custom:" + spec, version or "unknown", "loader", None, log.getvalue())


def load(root, stage, loader, workdir):
    started = time.perf_counter()
    if loader:
        loaded = load_custom(root, loader, stage)
    elif is_bengal_site(root):
        loaded = load_bengal(root, stage, workdir)
    else:
        raise LoadError(
            "%s is not a site picklecost recognizes (no bengal.toml); "
            "pass --loader module:function to load it yourself" % root
        )
    loaded.seconds = time.perf_counter() - started
    return loaded

"""The private copy of the site that every piece of generator code runs against.

picklecost promises that the site directory is read-only to it. Generators, template engines,
plugins and `--loader` modules write where they like (caches next to templates, output folders,
`.bengal/`), so the promise cannot rest on knowing each of them: the site is copied into the run's
scratch directory once, and loading, rendering, `scale` and growth copies all start from the copy.

Pickles embed paths (`source_path`, the site's root), so a copy at a path of another length would
change every size. The copy's root therefore has exactly as many bytes as the site's own root
(padded with `_`), and every path pickled from it has the length the real path has: sizes are the
site's own. Where the scratch directory's path is too long for that (a site at a very short path),
the copy is made anyway and the difference per path is reported (`path_bytes_delta`).

Symbolic links are kept as links. A link that points into the site (by an absolute target, or a
relative one that stays inside) points into the copy; one that points outside the site keeps its
absolute target, so nothing written through a link can reach the site. Virtual environments
inside the site (a directory holding `pyvenv.cfg`) are not copied: the interpreter runs from them
by their real path anyway, and they can be larger than the site.

Links are never followed while copying or sizing, so a link loop (`content/loop -> .`) is one
link in the copy, not an endless walk. File names are taken as the bytes they are: a name that
is not UTF-8 (`caf\\xe9.md`) is copied under the same bytes (Python's surrogate escapes), and
named in results.json with the byte written as `\\xNN`.
"""

import os
import shutil
import time


class SiteCopy:
    """Where the copy is and what making it cost, for results.json and the method section."""

    def __init__(self, root, copy, seconds, files, bytes_copied, skipped):
        self.root = root
        self.copy = copy
        self.seconds = seconds
        self.files = files
        self.bytes = bytes_copied
        self.skipped = skipped
        self.path_bytes_delta = len(os.fsencode(copy)) - len(os.fsencode(root))

    def real_path(self, text):
        """`text` with the copy's root replaced by the site's own (for paths shown to the user)."""
        return text.replace(self.copy, self.root) if isinstance(text, str) else text

    def as_dict(self):
        return {"path": self.copy, "seconds": self.seconds, "files": self.files,
                "bytes": self.bytes, "skipped": self.skipped,
                "path_bytes_delta": self.path_bytes_delta}


def copy_root_for(root, workdir):
    """A new path under `workdir` with as many bytes as `root` where one exists, else the
    shortest free one."""
    base = os.path.join(os.fsdecode(workdir), "")
    room = max(len(os.fsencode(root)) - len(os.fsencode(base)), 1)
    for n in range(100000):
        name = "%d" % n if n else "s"
        candidate = base + name + "_" * max(room - len(name), 0)
        if not os.path.lexists(candidate):
            return candidate
    raise OSError("no free name for the site's copy in %s" % workdir)


#: Memory-backed storage is used for the copy only with this much room to spare beyond twice
#: the site's size (the generator may write as much again into it).
MEMORY_MARGIN_BYTES = 256 << 20


def make(root, bases):
    """Copy the site at `root` into the first of `bases` (scratch directories, fastest first) with
    room for it (see the module docstring); a SiteCopy."""
    root = os.path.abspath(os.fsdecode(root))
    workdir = choose_base(bases, site_bytes(root))
    copy = copy_root_for(root, workdir)
    if copy.startswith(os.path.join(root, "")):
        raise OSError("the scratch directory %s is inside the site %s" % (workdir, root))
    started = time.perf_counter()
    counts = {"files": 0, "bytes": 0, "skipped": []}
    _copy_tree(root, root, copy, counts)
    return SiteCopy(root, copy, time.perf_counter() - started, counts["files"], counts["bytes"],
                    counts["skipped"])


def _is_venv(path):
    """A virtual environment (not copied: see the module docstring)."""
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


def site_bytes(root):
    """The bytes of the files the copy will hold."""
    total = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not _is_venv(os.path.join(folder, d))]
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def choose_base(bases, needed):
    """The first base with room for twice `needed` and the margin; the last one (the scratch
    directory on disk) otherwise."""
    for base in bases[:-1]:
        try:
            stat = os.statvfs(base)
        except OSError:
            continue
        if stat.f_bavail * stat.f_frsize >= 2 * needed + MEMORY_MARGIN_BYTES:
            return base
    return bases[-1]


def _copy_tree(site_root, src, dst, counts):
    os.mkdir(dst)
    with os.scandir(src) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            target = os.path.join(dst, entry.name)
            if entry.is_symlink():
                os.symlink(_link_target(site_root, entry.path), target)
            elif entry.is_dir(follow_symlinks=False):
                if _is_venv(entry.path):
                    counts["skipped"].append(_printable(os.path.relpath(entry.path, site_root)))
                    continue
                _copy_tree(site_root, entry.path, target, counts)
            elif entry.is_file(follow_symlinks=False):
                shutil.copy2(entry.path, target, follow_symlinks=False)
                counts["files"] += 1
                counts["bytes"] += entry.stat(follow_symlinks=False).st_size
    shutil.copystat(src, dst, follow_symlinks=False)


def _printable(name):
    """`name` as UTF-8 text, a byte of a name that is not UTF-8 as `\\xNN`."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _link_target(site_root, link):
    """The target a copied link gets: a target inside the site becomes the relative path from
    the link to it (the same in the copy, so it points into the copy); any other target becomes
    its real absolute path (a relative one would otherwise resolve against the scratch folder)."""
    absolute = os.path.normpath(os.path.join(os.path.dirname(link), os.readlink(link)))
    if absolute == site_root or absolute.startswith(site_root + os.sep):
        return os.path.relpath(absolute, os.path.dirname(link))
    return absolute

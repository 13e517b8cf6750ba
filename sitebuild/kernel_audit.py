"""Runs inside a page's kernel (``execute`` sends this source): an audit hook (PEP 578) that
records what the page's cells read and refuses writes outside the places a cell may write.

- Reads: every file opened for reading, by anyone, except the interpreter's own files, the
  package digested separately, caches and ``/proc``, ``/sys``, ``/dev``; a ``.pyc`` stands for
  its source (a local helper module is an input). Every folder that page code lists
  (``os.listdir``/``os.scandir``, which ``glob``, ``pathlib`` and ``os.walk`` use), unless the
  listing is made by an installed library for itself (``importlib.metadata`` scanning
  ``sys.path`` for matplotlib ...). The builder hashes these files and listings and
  re-executes the page when one changes (``cache``).
- Writes (open for writing, rename, remove, mkdir, link, rmtree) are allowed in the page's
  folder, the kernel's private temp folder, ``__pycache__`` folders and the user's cache; never
  in a folder the builder owns (the site output, the cache) nor elsewhere. A refused write
  raises ``PermissionError`` in the cell (so the build names its line) and is recorded with
  the ordinal of the cell that ran (1 = first cell executed with history), so a write whose
  error a cell swallowed still fails the page.

Not seen: files a subprocess or a C library opens itself (a full build still removes anything
such a write leaves in the output folder, ``outputs``), and ``os.stat`` checks.
"""

import json
import os
import site
import sys
import sysconfig
import types
from importlib.util import source_from_cache

_LISTINGS = {"os.listdir", "os.scandir"}
# event -> positions of the path arguments it mutates
_MUTATIONS = {"os.rename": (0, 1), "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,),
              "os.symlink": (1,), "os.link": (1,), "os.truncate": (0,), "shutil.rmtree": (0,),
              "sqlite3.connect": (0,)}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
MODULE = "_sitebuild_audit"


def _under(path: str, roots) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def install(allowed: list, forbidden: list, ignored: list, packages: list) -> None:
    """Install the hook once: writes only under ``allowed`` and never under ``forbidden``;
    reads under ``ignored`` and ``packages`` (folders of libraries digested by the builder)
    are not recorded."""
    if MODULE in sys.modules:
        return
    abspath, fspath, fsdecode, realpath = (os.path.abspath, os.fspath, os.fsdecode,
                                           os.path.realpath)
    reads, dirs, writes, blocked = set(), set(), set(), []
    cells = [0]  # ordinal of the notebook cell running (requests without history: not cells)

    def count_cell(info) -> None:
        if info.store_history:
            cells[0] += 1

    get_ipython().events.register("pre_run_cell", count_cell)  # noqa: F821 - kernel global
    skip = [*ignored, *packages, sys.prefix, sys.base_prefix, sys.exec_prefix,
            "/proc", "/sys", "/dev"]
    paths = sysconfig.get_paths()
    stdlib = [paths["stdlib"], paths["platstdlib"]]
    libraries = [*packages, paths["purelib"], paths["platlib"], *site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        libraries.append(site.getusersitepackages())

    def listed_by_page_code() -> bool:
        """Is the nearest caller outside the standard library page code (not a library)?"""
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if _under(name, libraries):
                return False
            if not (name.startswith("<frozen") or _under(name, stdlib)):
                return True
            frame = frame.f_back
        return False

    def norm(value):
        if value is None:
            value = "."
        if isinstance(value, int):  # a file descriptor: nothing to name
            return None
        try:
            value = fspath(value)
        except TypeError:
            return None
        return abspath(fsdecode(value) if isinstance(value, bytes) else value)

    def check_write(path: str) -> None:
        real = realpath(path)
        if os.path.basename(os.path.dirname(real)) == "__pycache__":
            return
        if _under(real, forbidden) or not _under(real, allowed):
            blocked.append([real, cells[0]])
            where = "a folder the site builder owns" if _under(real, forbidden) else \
                "outside the page's folder"
            raise PermissionError(f"sitebuild: a cell may not write to {real} ({where}); "
                                  f"cells write in {allowed[0]} or in the temp folder")
        writes.add(real)

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            path = norm(path)
            if path is None:
                return
            if (mode is None and flags & _WRITE_FLAGS) or (mode and any(c in mode for c in
                                                                        "wax+")):
                check_write(path)
                return
            if path.endswith(".pyc") and "__pycache__" in path:
                try:
                    path = source_from_cache(path)
                except ValueError:
                    return
            if not _under(path, skip):
                reads.add(path)
        elif event in _LISTINGS:
            path = norm(args[0])
            if path is not None and not _under(path, skip) and listed_by_page_code():
                dirs.add(path)
        elif event in _MUTATIONS:
            if event == "os.mkdir" and os.path.isdir(norm(args[0]) or ""):
                return  # an existing folder: nothing is written
            if event == "sqlite3.connect" and str(args[0]) in ("", ":memory:"):
                return
            for i in _MUTATIONS[event]:
                path = norm(args[i]) if i < len(args) else None
                if path is not None:
                    check_write(path)

    def report() -> str:
        return json.dumps({"reads": sorted(reads - writes), "dirs": sorted(dirs),
                           "writes": sorted(writes), "blocked": blocked})

    module = types.ModuleType(MODULE)
    module.report = report
    sys.modules[MODULE] = module
    sys.addaudithook(hook)


REPORT_EXPRESSION = f"__import__('sys').modules[{MODULE!r}].report()"

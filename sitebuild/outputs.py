"""The output folder holds only what the builder wrote.

- Pages run in their own folder; cells may write there and in a private temp folder, never in
  a folder the builder owns (the output folders of every profile, the cache) nor elsewhere in
  or outside the project (:func:`kernel_policy`, enforced by ``kernel_audit``).
- A build collects every file it writes into the output folder (pages, figures, notebooks,
  linked files, resources, static files, the search index). A full build then removes every
  other file there (the page of a deleted source, a file a cell wrote through a subprocess, a
  hand-made file) and reports each one; hidden files (``.git``, ``.nojekyll`` ...) are left, and
  an output folder outside the project is never cleaned.
- A page that fails loses its outputs and its render record, so an old rendering is never
  served as if current (``serve`` shows the error page instead).
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from .cache import CACHE_DIR, NotebookCache, package_dirs
from .config import Site, read_yaml
from .errors import BuildError
from .execute import WritePolicy
from .navigation import out_path


@functools.lru_cache(maxsize=8)
def _profile_outputs(root: Path) -> tuple[Path, ...]:
    found = []
    for overlay in sorted(root.glob("_quarto-*.yml")):
        try:
            out = (read_yaml(overlay).get("project") or {}).get("output-dir")
        except (BuildError, UnicodeDecodeError):
            continue
        if isinstance(out, str):
            found.append((root / out).resolve())
    return tuple(found)


def owned_dirs(site: Site) -> list[Path]:
    """Folders only the builder writes: every profile's output folder and the cache."""
    return list(dict.fromkeys([site.output_dir, (site.root / "_site").resolve(),
                               *_profile_outputs(site.root), (site.root / CACHE_DIR).resolve()]))


def _home_dir(env: str, default: str) -> str:
    return str(Path(os.environ.get(env) or Path.home() / default).resolve())


def kernel_policy(site: Site, rel: str) -> WritePolicy:
    """Where the cells of page ``rel`` may write (see the module docstring)."""
    caches = [_home_dir("XDG_CACHE_HOME", ".cache"), _home_dir("IPYTHONDIR", ".ipython")]
    config = [_home_dir("MPLCONFIGDIR", ".config/matplotlib")]
    folder = str((site.root / rel).parent.resolve())
    return WritePolicy(allowed=[folder, *caches, *config],
                       forbidden=[str(d) for d in owned_dirs(site)],
                       ignored=caches, packages=package_dirs())


def page_outputs(site: Site, rel: str) -> list[Path]:
    """The files and folders a page writes under its own name."""
    target = site.output_dir / out_path(rel)
    return [target, target.with_suffix(".ipynb"), target.parent / f"{Path(rel).stem}_files"]


def discard(site: Site, rel: str, cache: NotebookCache) -> None:
    """Forget a failed page's rendering and remove what it wrote, so nothing stale remains."""
    cache.forget(site.profile_name, rel)
    for path in page_outputs(site, rel):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def support_files(src: Path, dest: Path) -> list[Path]:
    """Copy a file or folder; return the files written."""
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)
        return [dest / p.relative_to(src) for p in src.rglob("*") if p.is_file()]
    if src.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        return [dest]
    return []


def prune(site: Site, written: set[Path]) -> list[str]:
    """Remove files of the output folder that this build did not write; their paths."""
    out = site.output_dir
    if site.root not in out.parents:  # never clean a folder that is not the project's own
        return []
    keep = {Path(p).resolve() for p in written}
    removed = []
    for folder, dirs, files in os.walk(out, topdown=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(folder) / name
            if not name.startswith(".") and path.resolve() not in keep:
                path.unlink()
                removed.append(path.relative_to(out).as_posix())
    for folder, _, _ in sorted(os.walk(out), key=lambda w: -len(w[0])):
        parts = Path(folder).relative_to(out).parts
        if parts and not any(p.startswith(".") for p in parts) and not os.listdir(folder):
            os.rmdir(folder)
    return sorted(removed)

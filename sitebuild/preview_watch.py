"""What the preview watches, and what kind of source each changed file is.

Watched: the project folder itself (not recursively) and each of its sub-folders except hidden
and ``_``-prefixed ones (the output, caches, ``.venv``), plus the ``mlsysim`` package wherever it
is installed from. A folder created after the preview started is not watched until a restart.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

PACKAGE = "mlsysim"  # the package whose files are in every page's cache key (sitebuild.cache)
PACKAGE_SUFFIXES = {".py", ".yaml", ".yml", ".txt", ".json", ".toml"}
PAGE_SUFFIXES = {".qmd", ".md", ".ipynb"}
ASSET_SUFFIXES = {".css", ".scss", ".js", ".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp",
                  ".ico", ".woff", ".woff2", ".ttf"}
CONFIG_SUFFIXES = {".lua", ".bib", ".csl"}  # filters and bibliographies: every page re-renders
_SKIP_DIRS = {"node_modules", "__pycache__", "sitebuild"}
STEP_MS = 50  # watchfiles' grouping; the preview then waits for the files to settle


def package_dirs(name: str = PACKAGE) -> list[Path]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p).resolve() for p in spec.submodule_search_locations]


def classify(path: Path, root: Path, packages: list[Path]) -> str | None:
    """``page``, ``config``, ``metadata``, ``asset`` or ``package``; None when it cannot
    change the site (the builder's own files need a restart of the preview)."""
    name = path.name
    if "__pycache__" in path.parts or name.startswith((".", "#")) or name.endswith(
            ("~", ".swp", ".swx", ".tmp")):
        return None
    for base in packages:
        if base == path or base in path.parents:
            return "package" if path.suffix in PACKAGE_SUFFIXES else None
    try:
        rel = path.relative_to(root)
    except ValueError:
        return None
    if rel.parts and rel.parts[0] in _SKIP_DIRS:
        return None
    if len(rel.parts) == 1 and name.startswith("_quarto") and path.suffix in (".yml", ".yaml"):
        return "config"
    if name == "_metadata.yml":
        return "metadata"
    if path.suffix in PAGE_SUFFIXES:
        return "page"
    if path.suffix in CONFIG_SUFFIXES:
        return "config"
    if path.suffix in ASSET_SUFFIXES:
        return "asset"
    return None


class Watcher:
    """Report batches of relevant changes, as ``{(kind, path, change)}``, to ``sink``."""

    def __init__(self, root: Path, skip: list[Path], sink: Callable[[set], None]):
        self.root = root.resolve()
        self.packages = package_dirs()
        self.sink = sink
        self._stop = threading.Event()
        skipped = {p.resolve() for p in skip}
        self.folders = [d for d in sorted(self.root.iterdir())
                        if d.is_dir() and not d.name.startswith((".", "_"))
                        and d.name not in _SKIP_DIRS and d.resolve() not in skipped
                        and not (d / "pyvenv.cfg").exists()]
        self.folders += [p for p in self.packages
                         if self.root != p and self.root not in p.parents]
        self._threads: list[threading.Thread] = []

    def _filter(self, change, path: str) -> bool:
        return classify(Path(path), self.root, self.packages) is not None

    def _watch(self, paths: list[Path], recursive: bool) -> None:
        for changes in watchfiles.watch(*paths, watch_filter=self._filter, step=STEP_MS,
                                        stop_event=self._stop, recursive=recursive,
                                        raise_interrupt=False):
            batch = set()
            for change, raw in changes:
                path = Path(raw)
                kind = classify(path, self.root, self.packages)
                if kind:
                    batch.add((kind, path, change.name))
            if batch:
                self.sink(batch)

    def start(self) -> None:
        plan = [([self.root], False)] + ([(self.folders, True)] if self.folders else [])
        for paths, recursive in plan:
            thread = threading.Thread(target=self._watch, args=(paths, recursive),
                                      name="sitebuild-watch", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)

"""Executed-notebook cache: a page is re-executed only when its inputs change.

The key covers the page source, its directories' ``_metadata.yml``, every source and catalog
file of the ``mlsysim`` package, the profile and the execution options. Entries live under
``.sitebuild-cache/<profile>/<page>.json`` (gitignored), one per page and profile.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from pathlib import Path

import nbformat

CACHE_DIR = ".sitebuild-cache"
FORMAT = "sitebuild-cache-1"
_PACKAGE_SUFFIXES = {".py", ".yaml", ".yml", ".txt", ".json", ".toml"}


@functools.lru_cache(maxsize=8)
def package_digest(name: str = "mlsysim") -> str:
    """SHA-256 over the package's source and data files (paths and contents)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return "absent"
    digest = hashlib.sha256()
    for base in spec.submodule_search_locations:
        base_path = Path(base)
        for path in sorted(base_path.rglob("*")):
            if path.suffix in _PACKAGE_SUFFIXES and "__pycache__" not in path.parts:
                digest.update(path.relative_to(base_path).as_posix().encode())
                digest.update(b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def files_digest(paths) -> str:
    """SHA-256 over files (path and contents), skipping missing ones."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        if path.is_file():
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def page_key(*, source: str, metadata_files: list[Path], profile: str, options: dict) -> str:
    """The cache key of one page execution."""
    digest = hashlib.sha256(FORMAT.encode())
    digest.update(source.encode("utf-8"))
    for path in metadata_files:
        digest.update(b"\0meta\0" + path.read_bytes())
    digest.update(f"\0{package_digest()}\0{profile}\0".encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class NotebookCache:
    """Load and store executed notebooks under ``<root>/.sitebuild-cache``."""

    def __init__(self, root: Path, enabled: bool = True):
        self.dir = Path(root) / CACHE_DIR
        self.enabled = enabled

    def _path(self, profile: str, page: str) -> Path:
        return self.dir / profile / f"{page}.json"

    def load(self, profile: str, page: str, key: str):
        """The cached executed notebook for ``key``, or None."""
        path = self._path(profile, page)
        if not self.enabled or not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return None
        if entry.get("key") != key:
            return None
        return nbformat.from_dict(entry["notebook"])

    def store(self, profile: str, page: str, key: str, nb) -> None:
        path = self._path(profile, page)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "notebook": nb}), encoding="utf-8")
        os.replace(tmp, path)

    def load_render(self, profile: str, page: str, key: str) -> dict | None:
        """The record of an earlier rendering with ``key`` whose output files still exist."""
        path = self._path(profile, page).with_suffix(".render.json")
        if not self.enabled or not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return None
        if record.get("key") != key or not all(Path(p).is_file() for p in record["outputs"]):
            return None
        return record

    def store_render(self, profile: str, page: str, key: str, outputs: list[Path],
                     search: list[dict], warnings: list[str]) -> None:
        path = self._path(profile, page).with_suffix(".render.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"key": key, "outputs": [str(p) for p in outputs], "search": search,
                  "warnings": warnings}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, path)

    def kernel_log(self, profile: str, page: str) -> Path:
        path = self.dir / "logs" / profile / f"{page}.kernel.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

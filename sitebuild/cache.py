"""Executed-notebook and render cache: a page is re-executed only when its inputs change.

The key covers the page source, its merged metadata (``_quarto.yml`` document options, profile
overlays, every ``_metadata.yml`` above it, front matter), every source and catalog file of the
``mlsysim`` package, the installed distributions, the profile and the execution options. On top
of the key, an entry holds the *inputs the kernel actually read*: each file's size, mtime and
SHA-256 and each listed folder's names (``kernel_audit``); the entry is used only while all of
them are unchanged (a file is re-hashed only when its size or mtime moved). A render record
also holds the SHA-256 of every output file it wrote, so an output changed by anyone else (an
error page, a cell, a hand edit) is rendered again. Failures are never stored; :meth:`forget`
drops a page's records. Entries live under ``.sitebuild-cache/<profile>/<page>.json``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import site
import sys
from pathlib import Path

import nbformat

CACHE_DIR = ".sitebuild-cache"
FORMAT = "sitebuild-cache-2"
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


def package_dirs(name: str = "mlsysim") -> list[str]:
    """Folders of the package whose files :func:`package_digest` covers."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return []
    return [str(Path(p).resolve()) for p in spec.submodule_search_locations]


@functools.lru_cache(maxsize=1)
def environment_digest() -> str:
    """The Python version and the installed distributions (names and versions)."""
    names = [sys.version]
    for base in dict.fromkeys([*site.getsitepackages(), site.getusersitepackages()]):
        if os.path.isdir(base):
            names += sorted(n for n in os.listdir(base) if n.endswith((".dist-info",
                                                                       ".egg-info")))
    return hashlib.sha256("\0".join(names).encode()).hexdigest()


def sha256_file(path: Path) -> str | None:
    """SHA-256 of a file's bytes; None when it does not exist or is not a file."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return None
    return digest.hexdigest()


def _listing(path: str) -> str | None:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return hashlib.sha256("\0".join(names).encode()).hexdigest()


def _stamp(path: str) -> list:
    try:
        st = os.stat(path)
    except OSError:
        return [None, None, None]
    return [st.st_size, st.st_mtime_ns, sha256_file(Path(path))]


def input_state(audit: dict | None) -> dict:
    """Record of what a page read (from ``kernel_audit``): files stamped, folders listed."""
    audit = audit or {}
    return {"files": {p: _stamp(p) for p in audit.get("reads", [])},
            "dirs": {d: _listing(d) for d in audit.get("dirs", [])}}


def changed_inputs(state: dict | None) -> list[str]:
    """The recorded inputs that changed since ``state`` was taken (empty: all unchanged)."""
    if state is None:
        return ["(no input record)"]
    changed = []
    for path, (size, mtime, digest) in (state.get("files") or {}).items():
        try:
            st = os.stat(path)
        except OSError:
            if digest is not None:
                changed.append(path)
            continue
        if (st.st_size, st.st_mtime_ns) != (size, mtime) and sha256_file(Path(path)) != digest:
            changed.append(path)
    changed += [d for d, listing in (state.get("dirs") or {}).items() if _listing(d) != listing]
    return changed


def files_digest(paths) -> str:
    """SHA-256 over files (path and contents), skipping missing ones."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        if path.is_file():
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def page_key(*, source: str, metadata_files: list[Path], profile: str, options: dict,
             metadata: dict | None = None) -> str:
    """The cache key of one page execution (recorded inputs are checked apart)."""
    digest = hashlib.sha256(FORMAT.encode())
    digest.update(source.encode("utf-8"))
    for path in metadata_files:
        digest.update(b"\0meta\0" + path.read_bytes())
    digest.update(f"\0{package_digest()}\0{environment_digest()}\0{profile}\0".encode())
    digest.update(json.dumps([options, metadata], sort_keys=True, default=str).encode())
    return digest.hexdigest()


class NotebookCache:
    """Load and store executed notebooks and render records under ``<root>/.sitebuild-cache``."""

    def __init__(self, root: Path, enabled: bool = True):
        self.dir = Path(root) / CACHE_DIR
        self.enabled = enabled

    def _path(self, profile: str, page: str) -> Path:
        return self.dir / profile / f"{page}.json"

    def _render_path(self, profile: str, page: str) -> Path:
        return self._path(profile, page).with_suffix(".render.json")

    @staticmethod
    def _read(path: Path) -> dict | None:
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) else None

    @staticmethod
    def _write(path: Path, data: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)

    def load(self, profile: str, page: str, key: str):
        """(executed notebook, input record) for ``key`` if its inputs are unchanged, else None."""
        entry = self._read(self._path(profile, page)) if self.enabled else None
        if not entry or entry.get("key") != key or changed_inputs(entry.get("inputs")):
            return None
        return nbformat.from_dict(entry["notebook"]), entry["inputs"]

    def store(self, profile: str, page: str, key: str, nb, inputs: dict) -> None:
        self._write(self._path(profile, page), {"key": key, "inputs": inputs, "notebook": nb})

    def load_render(self, profile: str, page: str, key: str) -> dict | None:
        """The record of an earlier rendering with ``key`` whose recorded inputs are unchanged
        and whose output files are still exactly what it wrote."""
        record = self._read(self._render_path(profile, page)) if self.enabled else None
        if not record or record.get("key") != key or changed_inputs(record.get("inputs")):
            return None
        outputs = record.get("outputs")
        if not isinstance(outputs, dict) or any(sha256_file(Path(p)) != digest
                                                for p, digest in outputs.items()):
            return None
        return record

    def store_render(self, profile: str, page: str, key: str, outputs: list[Path],
                     inputs: dict, search: list[dict], warnings: list[str]) -> None:
        self._write(self._render_path(profile, page), {
            "key": key, "inputs": inputs, "search": search, "warnings": warnings,
            "outputs": {str(p): sha256_file(p) for p in outputs}})

    def forget(self, profile: str, page: str) -> dict | None:
        """Drop the page's render record (after a failure); return it if there was one."""
        path = self._render_path(profile, page)
        record = self._read(path) if path.is_file() else None
        path.unlink(missing_ok=True)
        return record

    def kernel_log(self, profile: str, page: str) -> Path:
        path = self.dir / "logs" / profile / f"{page}.kernel.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

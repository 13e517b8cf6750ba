"""Site configuration: ``_quarto.yml``, ``_quarto-<profile>.yml`` overlays and ``_metadata.yml``.

Merging follows Quarto's rules: mappings merge deeply, lists are concatenated without
duplicates, other values are replaced by the later file. A format given as the string
``default`` (``format: {ipynb: default}``) keeps the options already configured.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import BuildError

PROJECT_FILE = "_quarto.yml"
DIR_METADATA = "_metadata.yml"
# keys of _quarto.yml that configure the project, not the documents
_PROJECT_KEYS = {"project", "website", "book", "profile", "manuscript"}
# Quarto's execution options and their defaults for the Jupyter engine
EXECUTE_DEFAULTS: dict[str, Any] = {
    "eval": True, "echo": True, "output": True, "include": True,
    "warning": True, "error": False,
}
_GLOB_CHARS = set("*?[")
# Quarto's filter entry points (``filters: - {path: f.lua, at: pre-ast}``). Quarto inserts
# post-ast and pre-quarto at one point, post-quarto and pre-render at another; a plain entry
# runs at pre-quarto, and a plain entry listed after the ``quarto`` marker at post-render.
FILTER_STAGES = ("pre-ast", "post-ast", "pre-quarto", "post-quarto", "pre-render",
                 "post-render")
DEFAULT_STAGE = "pre-quarto"


def merge(base: Any, over: Any) -> Any:
    """Quarto-style merge of two configuration values (``over`` wins)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(over, list):
        seen = {json.dumps(v, sort_keys=True, default=str) for v in base}
        extra = [v for v in over if json.dumps(v, sort_keys=True, default=str) not in seen]
        return [*base, *extra]
    if isinstance(base, dict) and over == "default":
        return base
    return base if over is None else over


def read_yaml(path: Path) -> dict:
    """A YAML mapping from ``path`` ({} if the file is empty); a clear error otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BuildError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BuildError(f"{path}: expected a YAML mapping at the top level")
    return data


def project_filters(entries: Any, root: Path, where: str) -> list[tuple[str, Path]]:
    """The Lua filters of a ``filters:`` list as (stage, absolute path), in listed order.

    Entries are a path, the ``quarto`` marker, or a mapping ``{path, at, type}``; JSON filters,
    extension names and the ``citeproc`` marker are not run by this builder. An unknown stage
    or a mapping without a path is an error naming ``where`` (the configuration file)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise BuildError(f"{where}: filters: expected a list of filters, got {entries!r}")
    out: list[tuple[str, Path]] = []
    plain_stage = DEFAULT_STAGE
    for entry in entries:
        if entry == "quarto":  # legacy syntax: plain filters after it run after Quarto's
            plain_stage = "post-render"
            continue
        if isinstance(entry, dict):
            path, stage = entry.get("path"), entry.get("at", DEFAULT_STAGE)
            if not isinstance(path, str) or not path:
                raise BuildError(f"{where}: filters: entry {entry!r} has no path")
            if stage not in FILTER_STAGES:
                raise BuildError(f"{where}: filters: {path}: unknown stage at: {stage!r} "
                                 f"(use one of {', '.join(FILTER_STAGES)})")
            is_lua = entry.get("type", "lua" if path.endswith(".lua") else "json") == "lua"
        else:
            path, stage, is_lua = str(entry), plain_stage, str(entry).endswith(".lua")
        if is_lua:
            out.append((stage, (root / path).resolve()))
    return out


def _formats(value: Any) -> dict[str, Any]:
    """Normalise ``format:`` (string, list or mapping) to a mapping of format → options."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {value: {}}
    if isinstance(value, list):
        return {str(v): {} for v in value}
    return {k: (v if isinstance(v, dict) else {}) for k, v in value.items()}


def active_profiles(config: dict, requested: str | None) -> tuple[str, ...]:
    """Active profiles: ``--profile`` (comma list), else ``QUARTO_PROFILE``, else the
    configured ``profile.default``."""
    spec = requested or os.environ.get("QUARTO_PROFILE") or ""
    if not spec:
        default = (config.get("profile") or {}).get("default")
        spec = ",".join(default) if isinstance(default, list) else (default or "")
    return tuple(p.strip() for p in spec.split(",") if p.strip())


class ProjectConfig(dict):
    """A merged configuration mapping that remembers the project folder it was read from."""

    def __init__(self, data: dict, root: Path):
        super().__init__(data)
        self.root = root


@dataclass(frozen=True)
class Site:
    """The merged project configuration of one site and profile."""

    root: Path
    config: dict
    profiles: tuple[str, ...] = ()
    _dir_cache: dict = field(default_factory=dict, compare=False, repr=False)

    # -- project ---------------------------------------------------------------------------
    @property
    def project(self) -> dict:
        return self.config.get("project") or {}

    @property
    def website(self) -> dict:
        return self.config.get("website") or {}

    @property
    def output_dir(self) -> Path:
        return (self.root / (self.project.get("output-dir") or "_site")).resolve()

    @property
    def profile_name(self) -> str:
        return "+".join(self.profiles) or "default"

    @property
    def resources(self) -> list[str]:
        res = self.project.get("resources") or []
        return [res] if isinstance(res, str) else list(res)

    @property
    def filter_stages(self) -> list[tuple[str, Path]]:
        """Project Lua filters (``filters:``) as (Quarto stage, absolute path)."""
        return project_filters(self.config.get("filters"), self.root,
                               str(self.root / PROJECT_FILE))

    @property
    def filters(self) -> list[Path]:
        """Project Lua filters (``filters:``), resolved against the project root."""
        return [path for _, path in self.filter_stages]

    def render_list(self) -> tuple[list[str], list[str]]:
        """Pages to render (relative POSIX paths, in order) and explicitly listed missing ones."""
        patterns = self.project.get("render")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not patterns:
            patterns = ["**/*.qmd"]
        excluded = {p for pat in patterns if str(pat).startswith("!")
                    for p in self._expand(str(pat)[1:])}
        pages, missing = [], []
        for pat in map(str, patterns):
            if pat.startswith("!"):
                continue
            found = self._expand(pat)
            if not found and not (_GLOB_CHARS & set(pat)):
                missing.append(pat)
            for rel in found:
                if rel not in pages and rel not in excluded:
                    pages.append(rel)
        return pages, missing

    def _expand(self, pattern: str) -> list[str]:
        if pattern.endswith("/"):
            pattern += "**/*.qmd"
        if not (_GLOB_CHARS & set(pattern)):
            return [pattern] if (self.root / pattern).is_file() else []
        out_dir = self.output_dir
        found = []
        for path in sorted(self.root.glob(pattern)):
            rel = path.relative_to(self.root)
            if not path.is_file() or path.suffix != ".qmd":
                continue
            if any(part.startswith(("_", ".")) for part in rel.parts):
                continue  # Quarto ignores _partials and hidden files in globs
            if out_dir in path.resolve().parents:
                continue
            found.append(rel.as_posix())
        return found

    # -- documents -------------------------------------------------------------------------
    def document_defaults(self) -> dict:
        """Project-level options inherited by every document."""
        return {k: v for k, v in self.config.items() if k not in _PROJECT_KEYS}

    def directory_metadata(self, rel: str) -> dict:
        """Merged ``_metadata.yml`` files from the project root down to the page's folder."""
        parts = Path(rel).parent.parts
        merged: dict = {}
        for depth in range(len(parts) + 1):
            folder = self.root.joinpath(*parts[:depth])
            key = folder.as_posix()
            if key not in self._dir_cache:
                path = folder / DIR_METADATA
                self._dir_cache[key] = read_yaml(path) if path.is_file() else {}
            merged = merge(merged, self._dir_cache[key])
        return merged

    def directory_metadata_files(self, rel: str) -> list[Path]:
        parts = Path(rel).parent.parts
        files = [self.root.joinpath(*parts[:d], DIR_METADATA) for d in range(len(parts) + 1)]
        return [f for f in files if f.is_file()]

    def page_metadata(self, rel: str, front_matter: dict) -> dict:
        """Project defaults < directory metadata < front matter, with ``format`` normalised."""
        levels = [self.document_defaults(), self.directory_metadata(rel), front_matter]
        merged: dict = {}
        formats: dict = {}
        for level in levels:
            level = dict(level)
            formats = merge(formats, _formats(level.pop("format", None)))
            merged = merge(merged, level)
        merged["format"] = formats or {"html": {}}
        return merged


def html_options(meta: dict) -> dict:
    """The ``format.html`` options of a merged page metadata."""
    return (meta.get("format") or {}).get("html") or {}


def execute_options(meta: dict) -> dict:
    """Execution defaults of a page: Quarto defaults < ``execute:`` < ``format.html`` options."""
    opts = dict(EXECUTE_DEFAULTS)
    opts.update(meta.get("execute") or {})
    html = html_options(meta)
    opts.update({k: html[k] for k in EXECUTE_DEFAULTS if k in html})
    return opts


def load_site(root: Path | str, profile: str | None = None) -> Site:
    """Read ``_quarto.yml`` under ``root`` and merge the active profile overlays."""
    root = Path(root).resolve()
    path = root / PROJECT_FILE
    if not path.is_file():
        raise BuildError(f"no {PROJECT_FILE} in {root}")
    config = read_yaml(path)
    project_filters(config.get("filters"), root, str(path))  # errors name their file
    profiles = active_profiles(config, profile)
    for name in profiles:
        overlay = root / f"_quarto-{name}.yml"
        if overlay.is_file():  # like Quarto, a profile without an overlay file is allowed
            extra = read_yaml(overlay)
            project_filters(extra.get("filters"), root, str(overlay))
            config = merge(config, extra)
        else:
            print(f"note: profile {name!r} has no {overlay.name}", file=sys.stderr)
    return Site(root=root, config=ProjectConfig(config, root), profiles=profiles)

"""Load catalog YAML files into frozen specs, with per-number provenance.

File layout: ``catalog/<kind>/<Key>.yaml`` where ``Key`` (the file stem) is the registry name.
Provenance is written inline and inherited down the tree:

* a mapping may set ``source:`` (a key of ``sources.yaml``), ``section:`` and ``sparsity:``
  for every number below it;
* a single number may be written ``{value: 80 GB, source: ..., kind: estimate, note: ...}``.

Every numeric leaf must end up with a source that resolves in ``sources.yaml``; FLOP rates
must say ``sparsity: dense``. Violations raise :class:`CatalogError` naming file and field.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import CatalogError, format_validation_error

CATALOG_DIR = Path(__file__).parent
_BLOCK_KEYS = ("source", "section", "sparsity")
_LEAF_KEYS = {"value", "source", "kind", "note", "section", "sparsity"}


def read_yaml(path: Path) -> dict:
    """Parse a YAML mapping, turning syntax errors into a one-line CatalogError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read file: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    return data


@functools.lru_cache(maxsize=1)
def sources() -> dict[str, dict]:
    """The bibliography of catalog numbers: key → title, url, section, date retrieved."""
    return read_yaml(CATALOG_DIR / "sources.yaml")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and value[:1].isdigit()


def split_provenance(data: Any, origin: str, path: str = "", inherited: dict | None = None,
                     out: dict | None = None, require_source: bool = True):
    """Strip provenance annotations from ``data``; return (plain data, {path: provenance})."""
    inherited = dict(inherited or {})
    out = {} if out is None else out
    if isinstance(data, dict) and "value" in data and set(data) <= _LEAF_KEYS:
        if "source" in data:  # a section belongs to its source: a new source resets it
            inherited.pop("section", None)
        prov = {**inherited, **{k: v for k, v in data.items() if k != "value"}}
        _record(prov, data["value"], origin, path, out, require_source)
        return data["value"], out
    if isinstance(data, dict):
        if "source" in data:
            inherited.pop("section", None)
        for key in _BLOCK_KEYS:
            if key in data:
                inherited[key] = data[key]
        plain = {}
        for key, value in data.items():
            if key in _BLOCK_KEYS:
                continue
            child = f"{path}.{key}" if path else str(key)
            plain[key], _ = split_provenance(value, origin, child, inherited, out, require_source)
        return plain, out
    if isinstance(data, list):
        return [split_provenance(v, origin, f"{path}[{i}]", inherited, out, require_source)[0]
                for i, v in enumerate(data)], out
    if _is_number(data):
        _record(inherited, data, origin, path, out, require_source)
    return data, out


def _record(prov: dict, value: Any, origin: str, path: str, out: dict, require_source: bool):
    if "source" not in prov:
        if require_source:
            raise CatalogError(f"{origin}: {path}: the number {value!r} has no source "
                               "(add 'source:' to it or to an enclosing block)")
        return
    if prov["source"] not in sources():
        raise CatalogError(f"{origin}: {path}: source {prov['source']!r} is not a key of "
                           "catalog/sources.yaml")
    if ".precision_flops." in f".{path}" and prov.get("sparsity") != "dense":
        raise CatalogError(f"{origin}: {path}: FLOP rates must be dense peaks and say "
                           "'sparsity: dense'")
    out[path] = {k: prov[k] for k in ("source", "kind", "section", "note", "sparsity") if k in prov}


def build_spec(cls, data: dict, origin: str, key: str | None = None,
               require_source: bool = True, **resolved):
    """Validate ``data`` (YAML mapping) into ``cls``, attaching provenance and the key."""
    plain, prov = split_provenance(data, origin, require_source=require_source)
    plain.update(resolved)
    if key is not None:
        plain.setdefault("key", key)
    plain["provenance"] = prov
    try:
        return cls.model_validate(plain)
    except ValidationError as exc:
        raise CatalogError(format_validation_error(exc, origin)) from None


def iter_files(kind: str):
    """Catalog YAML files of one kind (hardware, models, systems, grids, calibration/devices,
    calibration/links), sorted by name."""
    return sorted((CATALOG_DIR / kind).glob("*.yaml"))

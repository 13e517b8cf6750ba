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

from pydantic import ValidationError

from ..errors import CatalogError, clip, format_validation_error, short
from .yaml_safe import MAX_BYTES, load_file

CATALOG_DIR = Path(__file__).parent
_BLOCK_KEYS = ("source", "section", "sparsity")
_LEAF_KEYS = {"value", "source", "kind", "note", "section", "sparsity"}
_CHOICES = {"kind": ("spec", "measured", "estimate", "derived"), "sparsity": ("dense", "sparse")}


def read_yaml(path: Path, max_bytes: int = MAX_BYTES) -> dict:
    """Parse a YAML mapping; any problem with the file is a one-line CatalogError naming it
    (size, encoding, syntax, aliases, duplicate keys, tags: see :mod:`.yaml_safe`)."""
    data = load_file(path, max_bytes)
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: {_not_a_mapping(data)}")
    return data


def _not_a_mapping(data: Any) -> str:
    example = "a mapping of fields, one 'key: value' per line (e.g. 'name: My GPU')"
    if data is None:
        return f"the file is empty (or only comments); expected {example}"
    what = short(data, 40) if isinstance(data, list) else f"a single value, {short(data, 40)}"
    return f"the top level is {what}; expected {example}"


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
    """Strip provenance annotations from ``data``; return (plain data, {path: provenance}).

    The walk is bounded: nesting deeper than :data:`MAX_DEPTH` or more than :data:`MAX_NODES`
    values (a structure built with shared references, walked as a tree) is a CatalogError."""
    out = {} if out is None else out
    walk = _Walk(origin, out, require_source)
    return walk.split(data, path, dict(inherited or {}), 0), out


#: Deepest nesting of a spec (catalog entries use 4 levels) and most values walked in one file.
MAX_DEPTH = 32
MAX_NODES = 1_000_000


class _Walk:
    __slots__ = ("nodes", "origin", "out", "require_source")

    def __init__(self, origin: str, out: dict, require_source: bool):
        self.origin, self.out, self.require_source, self.nodes = origin, out, require_source, 0

    def split(self, data: Any, path: str, inherited: dict, depth: int):
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            what = (f"nested more than {MAX_DEPTH} levels deep" if depth > MAX_DEPTH
                    else f"more than {MAX_NODES:,} values")
            raise CatalogError(f"{self.origin}: {clip(path) or '(top level)'}: {what}; a spec is a "
                               "few levels of 'key: value' mappings")
        if isinstance(data, dict):
            if "source" in data:  # a section belongs to its source: a new source resets it
                inherited = {k: v for k, v in inherited.items() if k != "section"}
            if "value" in data and set(data) <= _LEAF_KEYS:
                prov = {**inherited, **{k: v for k, v in data.items() if k != "value"}}
                _record(prov, data["value"], self.origin, path, self.out, self.require_source)
                return data["value"]
            if any(key in data for key in _BLOCK_KEYS):
                inherited = {**inherited, **{k: data[k] for k in _BLOCK_KEYS if k in data}}
            plain = {}
            for key, value in data.items():
                if key in _BLOCK_KEYS:
                    continue
                child = f"{path}.{key}" if path else str(key)
                plain[key] = self.split(value, child, inherited, depth + 1)
            return plain
        if isinstance(data, list):
            return [self.split(v, f"{path}[{i}]", inherited, depth + 1)
                    for i, v in enumerate(data)]
        if _is_number(data):
            _record(inherited, data, self.origin, path, self.out, self.require_source)
        return data


def _record(prov: dict, value: Any, origin: str, path: str, out: dict, require_source: bool):
    if "source" not in prov:
        if require_source:
            raise CatalogError(f"{origin}: {clip(path)}: the number {short(value)} has no source "
                               "(add 'source:' to it or to an enclosing block)")
        for key, allowed in _CHOICES.items():  # kept nowhere without a source: check them here
            if key in prov and prov[key] not in allowed:
                raise CatalogError(f"{origin}: {clip(path)}: {key} must be one of "
                                   f"{', '.join(allowed)}, got {short(prov[key])}")
        return
    if not isinstance(prov["source"], str):
        raise CatalogError(f"{origin}: {clip(path)}: source must be a key of catalog/sources.yaml "
                           f"(a string), got {short(prov['source'], 40)}")
    if prov["source"] not in sources():
        raise CatalogError(f"{origin}: {clip(path)}: source {short(prov['source'])} is not a "
                           "key of catalog/sources.yaml")
    if ".precision_flops." in f".{path}" and prov.get("sparsity") != "dense":
        raise CatalogError(f"{origin}: {path}: FLOP rates must be dense peaks and say "
                           "'sparsity: dense'")
    out[path] = {k: prov[k] for k in ("source", "kind", "section", "note", "sparsity") if k in prov}


def build_spec(cls, data: dict, origin: str, key: str | None = None,
               require_source: bool = True, **resolved):
    """Validate ``data`` (YAML mapping) into ``cls``, attaching provenance and the key."""
    if "provenance" in data:  # it would be replaced by the inline annotations, silently
        raise CatalogError(f"{origin}: provenance: not a field to write; give 'source:' on a "
                           "block, or a number as {value: ..., source: ...}")
    plain, prov = split_provenance(data, origin, require_source=require_source)
    plain.update(resolved)
    if key is not None:
        plain.setdefault("key", key)
    plain["provenance"] = prov
    try:
        return cls.model_validate(plain)
    except ValidationError as exc:
        raise CatalogError(format_validation_error(exc, origin, cls)) from None


def iter_files(kind: str):
    """Catalog YAML files of one kind (hardware, models, systems, grids, calibration/devices,
    calibration/links), sorted by name."""
    return sorted((CATALOG_DIR / kind).glob("*.yaml"))

"""Load a user's own hardware or model spec from a YAML file, with clear errors.

A spec file is untrusted input: whatever it holds, ``load_spec`` returns a valid spec or raises
one :class:`CatalogError` (a ``ValueError``) whose one-line message names the file, the field
and what is allowed. Reading is bounded (size, nesting, no YAML aliases; see
``catalog/yaml_safe.py``), so no file can make it hang.
"""

from __future__ import annotations

import os
from pathlib import Path

from .catalog.loader import build_spec, read_yaml
from .catalog.yaml_safe import USER_MAX_BYTES
from .errors import CatalogError, short

_KINDS = ("hardware", "transformer", "per_sample")
#: Fields only a device has: a file with one of them (and no ``kind:``) is read as hardware.
_HARDWARE_KEYS = frozenset({"compute", "memory", "tdp", "tier", "vendor", "efficiency", "sram",
                            "wafer", "interconnect"})


def load_spec(path: str | Path, kind: str | None = None):
    """Read ``path`` into a HardwareSpec, TransformerWorkload or SampleWorkload.

    ``kind`` is one of ``"hardware"``, ``"transformer"``, ``"per_sample"``; by default it is
    inferred (a ``compute:`` block, or with no ``kind:`` any field only a device has, such as
    ``memory:`` or ``tdp:``, means hardware; ``kind: per_sample`` a per-sample network;
    otherwise a transformer). Sources are optional in user files; a hardware file may name a
    calibration class (``efficiency: {device_class: nvidia_hopper, memory: 0.9}``).
    """
    from .specs import HardwareSpec, SampleWorkload, TransformerWorkload

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_spec: path must be a file path (str or Path), got "
                        f"{type(path).__name__}")
    if kind is not None and kind not in _KINDS:
        raise CatalogError(f"load_spec: kind={short(kind)} is not one of {', '.join(_KINDS)}")
    path = Path(path)
    data = read_yaml(path, max_bytes=USER_MAX_BYTES)
    written = data.get("kind", "transformer")
    if kind is None:
        looks_like_hardware = "kind" not in data and not _HARDWARE_KEYS.isdisjoint(data)
        kind = "hardware" if "compute" in data or looks_like_hardware else written
    if kind == "hardware" and written == "hardware":
        data = {k: v for k, v in data.items() if k != "kind"}  # a label, not a field
    if not isinstance(kind, str) or kind not in _KINDS:
        raise CatalogError(f"{path}: kind: {short(kind)} is not one of {', '.join(_KINDS)}")
    if kind == "hardware":
        from .catalog import resolve_hardware_references
        data = resolve_hardware_references(data, str(path))
    classes = {"hardware": HardwareSpec, "transformer": TransformerWorkload,
               "per_sample": SampleWorkload}
    return build_spec(classes[kind], data, str(path), key=None, require_source=False)

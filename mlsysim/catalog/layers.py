"""Per-layer operator tables of the per-sample networks (``catalog/layers/<Key>.yaml``).

Generated from the published layer tables by ``catalog/derivations/activation_bytes.py
--write-layers``; each row is one operation per sample: name, kind, MACs, weights read, input
elements, output elements and GEMM rows (output pixels of a convolution, tokens of a linear).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from .loader import CATALOG_DIR, read_yaml


class LayerOp(NamedTuple):
    name: str
    kind: str
    macs: float
    weights: float
    inputs: float
    outputs: float
    rows: float


@functools.cache
def layer_table(key: str | None) -> tuple[LayerOp, ...] | None:
    """The operations of catalog model ``key``, or None when it has no table."""
    if not key:
        return None
    path = CATALOG_DIR / "layers" / f"{key}.yaml"
    if not path.is_file():
        return None
    data = read_yaml(path)
    return tuple(LayerOp(str(r[0]), str(r[1]), *(float(v) for v in r[2:])) for r in data["ops"])

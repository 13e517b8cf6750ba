"""Achievable fractions of peak as functions of an operator's shape (floats or numpy arrays).

Each curve is a saturating fraction x / (x + x½): it is half its ceiling at x = x½ and reaches
the ceiling for x ≫ x½. The ceilings and half points are calibrated per device class from
published measurements (``catalog/efficiency/*.yaml``; derivations on reference/efficiency.qmd).

- GEMM: ``rows`` is the narrower output side of the product (the tokens of a decode batch, the
  192 columns of a skinny projection). Tensor cores compute in fixed tiles, so a GEMM with few
  rows pads them and wastes the rest of the tile; a large square GEMM reaches the ceiling
  measured by cuBLAS at 8192³–32768³.
- attention (FlashAttention-style fused kernels): ``context`` is the key length each query
  attends to; short sequences leave the kernel's tiles and the machine underused.
"""

from __future__ import annotations


def saturating(x, half: float):
    """x / (x + x½): 0 at x = 0, ½ at x = x½, → 1 for large x (``half`` = 0 gives 1)."""
    return x / (x + half)


def gemm_efficiency(rows, eta_max: float, half_rows: float):
    """η_c of a GEMM with ``rows`` on its narrow output side: η_max · rows / (rows + rows½)."""
    return eta_max * saturating(rows, half_rows)


def attention_efficiency(context, eta_max: float, half_context: float):
    """η_c of a fused attention kernel over ``context`` keys: η_max · s / (s + s½)."""
    return eta_max * saturating(context, half_context)

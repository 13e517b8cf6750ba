"""Calibrations of the per-operator cost model: one per device class, one per link class.

A *device class* (``catalog/calibration/devices/*.yaml``) holds what a family of accelerators
and its usual software reach in practice, from published measurements: the GEMM efficiency
ceiling per precision and how it falls for skinny products, fused-attention efficiency, the
fraction of bandwidth a decode-attention kernel and a weight-only-quantised GEMM reach, and the
fixed cost of launching one kernel. A *link class* (``catalog/calibration/links/*.yaml``) holds
the α–β lines of the collective algorithms a library runs over a node's interconnect.
Every number carries a source and how it was derived; reference/efficiency.qmd plots each
curve against its measurements.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field

from .base import Float, Fraction, Precision, Sourced, Spec
from .quantity import Time, TimeOrZero


class GemmCalibration(Spec):
    """GEMM efficiency η_c = ceiling[precision] · rows / (rows + half_rows)."""

    ceiling: dict[Precision, Fraction]
    half_rows: Float = Field(ge=0)


class AttentionCalibration(Spec):
    """Fused attention: η_c = ceiling · s / (s + half_context) of the peak at the attention's
    precision; ``kv_bandwidth`` is the fraction of achievable bandwidth a decode kernel reaches
    while it streams the KV cache."""

    ceiling: Float = Field(gt=0, le=1)
    half_context: Float = Field(ge=0)
    kv_bandwidth: Float = Field(gt=0, le=1)


class DeviceClassSpec(Sourced):
    """What one family of accelerators (and its usual kernels) reaches in practice."""

    name: str
    key: str | None = None
    description: str | None = None
    gemm: GemmCalibration
    attention: AttentionCalibration
    #: fraction of achievable bandwidth a weight-only quantised GEMM reaches, by weight precision
    #: (dequantisation runs in the GEMM's inner loop; 1 = as fast as streaming the raw bytes)
    dequantization: dict[Precision, Fraction] = Field(default_factory=dict)
    #: fraction of peak the vector units reach on element-wise kernels (norms, activations)
    vector_efficiency: Float = Field(default=0.5, gt=0, le=1)
    kernel_launch: TimeOrZero

    @cached_property
    def si(self) -> DeviceClassSI:
        return DeviceClassSI.from_spec(self)

    def gemm_ceiling(self, precision: str) -> float:
        """The large-GEMM ceiling at ``precision``: listed, else that of the nearest wider
        format of the same family (int4 → int8, fp8 → fp16, tf32 → fp32 ...), else the
        largest listed."""
        table = self.gemm.ceiling
        if precision in table:
            return table[precision]
        for fallback in _FALLBACK.get(precision, ()):
            if fallback in table:
                return table[fallback]
        return max(table.values())


_FALLBACK = {
    "bf16": ("fp16",), "fp16": ("bf16",), "fp8": ("fp16", "bf16", "int8"),
    "int8": ("fp8", "fp16", "bf16"), "int4": ("int8", "fp8", "fp16"), "fp4": ("fp8", "fp16"),
    "tf32": ("fp32", "fp16"), "fp32": ("tf32", "fp16"),
}


class DeviceClassSI:
    """Plain floats of a device class (computed once)."""

    __slots__ = ("attention_ceiling", "dequantization", "half_context", "half_rows",
                 "kernel_launch", "kv_bandwidth", "vector_efficiency")

    @classmethod
    def from_spec(cls, spec: DeviceClassSpec) -> DeviceClassSI:
        si = cls()
        si.half_rows = float(spec.gemm.half_rows)
        si.attention_ceiling = spec.attention.ceiling
        si.half_context = float(spec.attention.half_context)
        si.kv_bandwidth = spec.attention.kv_bandwidth
        si.dequantization = dict(spec.dequantization)
        si.vector_efficiency = spec.vector_efficiency
        si.kernel_launch = float(spec.kernel_launch.to("s").magnitude)
        return si


class CollectiveLine(Spec):
    """One algorithm/protocol a collective library can pick: per-step latency a and the
    fraction η of the link bandwidth it reaches (t = α(N) + S·w(N)/(η·β))."""

    algorithm: Literal["ring", "tree", "switch"]
    protocol: str | None = None
    step_latency: Time
    efficiency: Float = Field(gt=0, le=1)


class LinkClassSpec(Sourced):
    """The collective algorithms a library runs over one kind of interconnect."""

    name: str
    key: str | None = None
    description: str | None = None
    lines: tuple[CollectiveLine, ...] = Field(min_length=1)

    @cached_property
    def si_lines(self) -> tuple[tuple[str, float, float], ...]:
        """(algorithm, step latency s, efficiency) per line, as floats."""
        return tuple((ln.algorithm, float(ln.step_latency.to("s").magnitude), ln.efficiency)
                     for ln in self.lines)

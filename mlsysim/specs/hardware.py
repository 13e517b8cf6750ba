"""Hardware specs: one accelerator (GPU, TPU, wafer-scale engine, NPU, MCU).

All compute peaks are **dense** (no 2:4 structured sparsity), per device, per precision.
Interconnect bandwidth is per device **per direction** (vendors often quote the bidirectional
sum: NVLink 4 "900 GB/s" is 450 GB/s each way).
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..units import BYTES_PER_ELEMENT
from .base import Precision, Sourced, Spec
from .quantity import Area, ByteRate, Bytes, FlopRate, Money, Power, Time, TimeOrZero

Tier = Literal["cloud", "workstation", "mobile", "edge", "tiny"]


class UnsupportedPrecisionError(ValueError):
    """A precision the device has no peak for (e.g. fp8 on an A100)."""


class ComputeSpec(Spec):
    """Dense peak arithmetic throughput per precision (FLOP/s; integer formats count OP/s)."""

    precision_flops: dict[Precision, FlopRate]
    default_precision: Precision = "fp16"
    cores: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _default_is_listed(self):
        if self.default_precision not in self.precision_flops:
            raise ValueError(
                f"default_precision {self.default_precision!r} has no peak in precision_flops "
                f"(listed: {', '.join(self.precision_flops)})"
            )
        return self

    @property
    def peak_flops(self):
        """Dense peak at the device's default precision (fp16/bf16 for accelerators)."""
        return self.precision_flops[self.default_precision]

    @property
    def precisions(self) -> tuple[str, ...]:
        return tuple(self.precision_flops)

    def flops(self, precision: str):
        """Dense peak at ``precision``; a clear error names the supported precisions."""
        try:
            return self.precision_flops[precision]
        except KeyError:
            if precision not in BYTES_PER_ELEMENT:
                raise UnsupportedPrecisionError(
                    f"precision={precision!r} is not a known precision; "
                    f"use one of {', '.join(BYTES_PER_ELEMENT)}"
                ) from None
            raise UnsupportedPrecisionError(
                f"precision={precision!r} is not supported by this device; "
                f"it supports {', '.join(self.precision_flops)}"
            ) from None


class MemorySpec(Spec):
    """Main (off-chip) memory: HBM, GDDR, LPDDR or SRAM+flash on a microcontroller."""

    capacity: Bytes
    bandwidth: ByteRate
    type: str | None = None


class OnChipMemorySpec(Spec):
    """On-chip SRAM (L2/shared memory on GPUs; the whole wafer's SRAM on a WSE)."""

    capacity: Bytes
    bandwidth: ByteRate | None = None


class WaferSpec(Spec):
    """Wafer-scale weight streaming: weights live in external memory and are injected."""

    external_memory: str
    external_memory_capacity: Bytes
    injection_bandwidth: ByteRate
    die_area: Area | None = None


class InterconnectSpec(Spec):
    """Device-to-device link; ``bandwidth`` is per device, per direction."""

    name: str
    bandwidth: ByteRate
    latency: Time | None = None


class EfficiencySpec(Spec):
    """Achievable fractions of peak: η_c for dense GEMM, η_m for streaming memory reads."""

    compute: float = Field(gt=0, le=1)
    memory: float = Field(gt=0, le=1)


class HardwareSpec(Sourced):
    """One accelerator as published by its vendor (dense peaks, per-direction links)."""

    name: str
    key: str | None = None
    tier: Tier
    vendor: str
    year: int | None = Field(default=None, ge=1990, le=2035)
    form_factor: str | None = None
    description: str | None = None
    aliases: tuple[str, ...] = ()
    compute: ComputeSpec
    memory: MemorySpec
    sram: OnChipMemorySpec | None = None
    wafer: WaferSpec | None = None
    interconnect: InterconnectSpec | None = None
    tdp: Power
    unit_cost: Money | None = None
    dispatch_overhead: TimeOrZero = "0 s"
    efficiency: EfficiencySpec

    @field_validator("key")
    @classmethod
    def _key_is_identifier(cls, key):
        if key is not None and not key.isidentifier():
            raise ValueError(f"key {key!r} must be a Python identifier (e.g. 'H100_PCIe')")
        return key

    @property
    def is_wafer_scale(self) -> bool:
        return self.wafer is not None

    @cached_property
    def ridge_point(self):
        """Arithmetic intensity (FLOP/byte) where peak compute meets peak memory bandwidth."""
        return (self.compute.peak_flops / self.memory.bandwidth).to("flop/B")

    @cached_property
    def si(self) -> HardwareSI:
        """SI floats for the solvers (computed once per spec)."""
        return HardwareSI.from_spec(self)

    def __str__(self) -> str:
        return self.name


class HardwareSI:
    """Plain-float view of a HardwareSpec: FLOP/s per precision, bytes, bytes/s, seconds, W."""

    __slots__ = (
        "dispatch_overhead",
        "eta_compute",
        "eta_memory",
        "external_capacity",
        "flops",
        "injection_bandwidth",
        "link_bandwidth",
        "mem_bandwidth",
        "mem_capacity",
        "sram_bandwidth",
        "sram_capacity",
        "tdp",
    )

    @classmethod
    def from_spec(cls, hw: HardwareSpec) -> HardwareSI:
        si = cls()
        si.flops = {p: float(q.to("flop/s").magnitude)
                    for p, q in hw.compute.precision_flops.items()}
        si.mem_capacity = float(hw.memory.capacity.to("B").magnitude)
        si.mem_bandwidth = float(hw.memory.bandwidth.to("B/s").magnitude)
        si.sram_capacity = float(hw.sram.capacity.to("B").magnitude) if hw.sram else 0.0
        si.sram_bandwidth = (
            float(hw.sram.bandwidth.to("B/s").magnitude) if hw.sram and hw.sram.bandwidth else 0.0
        )
        si.injection_bandwidth = (
            float(hw.wafer.injection_bandwidth.to("B/s").magnitude) if hw.wafer else 0.0
        )
        si.external_capacity = (
            float(hw.wafer.external_memory_capacity.to("B").magnitude) if hw.wafer else 0.0
        )
        si.link_bandwidth = (
            float(hw.interconnect.bandwidth.to("B/s").magnitude) if hw.interconnect else 0.0
        )
        si.tdp = float(hw.tdp.to("W").magnitude)
        si.dispatch_overhead = float(hw.dispatch_overhead.to("s").magnitude)
        si.eta_compute = hw.efficiency.compute
        si.eta_memory = hw.efficiency.memory
        return si

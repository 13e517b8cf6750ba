"""Hardware specs: one accelerator (GPU, TPU, wafer-scale engine, NPU, MCU).

All compute peaks are **dense** (no 2:4 structured sparsity), per device, per precision.
Interconnect bandwidth is per device **per direction** (vendors often quote the bidirectional
sum: NVLink 4 "900 GB/s" is 450 GB/s each way).
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..errors import short
from ..vocabulary import BYTES_PER_ELEMENT, HARDWARE_TIERS
from .base import Float, Int, OptionalFloat, OptionalInt, Precision, Sourced, Spec
from .calibration import AttentionCalibration, DeviceClassSpec, GemmCalibration, LinkClassSpec
from .quantity import (
    Area,
    ByteRate,
    Bytes,
    BytesOrZero,
    FlopRate,
    Money,
    Power,
    QuantityField,
    Time,
    TimeOrZero,
)

Tier = Literal[tuple(HARDWARE_TIERS.values())]
HourlyPrice = QuantityField("USD/h")  # a rental price per device-hour


class UnsupportedPrecisionError(ValueError):
    """A precision the device has no peak for (e.g. fp8 on an A100)."""


class ComputeSpec(Spec):
    """Dense peak arithmetic throughput per precision (FLOP/s; integer formats count OP/s)."""

    precision_flops: dict[Precision, FlopRate]
    default_precision: Precision = "fp16"
    cores: OptionalInt = Field(default=None, gt=0)

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
                    f"precision={short(precision)} is not a known precision; "
                    f"use one of {', '.join(BYTES_PER_ELEMENT)}"
                ) from None
            raise UnsupportedPrecisionError(
                f"precision={short(precision)} is not supported by this device; "
                f"it supports {', '.join(self.precision_flops)}"
            ) from None


class MemorySpec(Spec):
    """Main (off-chip) memory: HBM, GDDR, LPDDR or SRAM+flash on a microcontroller.

    ``capacity`` is the datasheet figure, kept for display. ``exposed`` is what the device
    really reports to software (HBM stacks are binary: an "80 GB" H100 reports 81,559 MiB in
    nvidia-smi) and ``reserve`` what the runtime keeps for itself (driver context, workspace);
    feasibility uses ``usable = exposed − reserve`` (``capacity`` when ``exposed`` is absent)."""

    capacity: Bytes
    bandwidth: ByteRate
    type: str | None = None
    exposed: Bytes | None = None
    reserve: BytesOrZero = "0 B"

    @model_validator(mode="after")
    def _reserve_below_capacity(self):
        total = self.exposed if self.exposed is not None else self.capacity
        if self.reserve >= total:
            raise ValueError(f"reserve ({self.reserve}) must be smaller than the memory it "
                             f"is taken from ({total})")
        return self

    @property
    def usable(self):
        """Bytes a workload can use: exposed (or datasheet) capacity minus the reserve, in GB
        (decimal, as every other byte count the solvers report)."""
        return ((self.exposed if self.exposed is not None else self.capacity)
                - self.reserve).to("GB")


class OnChipMemorySpec(Spec):
    """On-chip SRAM (L2/shared memory on GPUs; the whole wafer's SRAM on a WSE)."""

    capacity: Bytes
    bandwidth: ByteRate | None = None


class WaferSpec(Spec):
    """A wafer-scale engine's two ways to hold weights.

    Weight streaming: weights live in external memory and are injected layer by layer at
    ``injection_bandwidth``. Weights-resident: weights sit in on-wafer SRAM (across several
    wafers when they do not fit one); ``layer_latency`` is the time one layer's activations take
    to cross its region of the wafer, ``hop_latency`` the fixed cost of passing activations to
    the next wafer over the system's I/O links (at ``injection_bandwidth``)."""

    external_memory: str
    external_memory_capacity: Bytes
    injection_bandwidth: ByteRate
    die_area: Area | None = None
    layer_latency: Time | None = None
    layer_reference: Bytes | None = None
    hop_latency: TimeOrZero | None = None


class InterconnectSpec(Spec):
    """Device-to-device link; ``bandwidth`` is per device, per direction. ``collectives`` is
    the link class whose α–β lines a collective library runs over it (a node's link).

    ``topology`` is "switch" (every device reaches every other at ``bandwidth`` through
    switches: NVSwitch) or "torus" (each device is wired to its neighbours only: TPU ICI);
    a torus gives ``torus_dims`` (their product = devices in the domain) and may give
    ``links`` per device, each carrying ``bandwidth / links`` per direction."""

    name: str
    bandwidth: ByteRate
    latency: Time | None = None
    collectives: LinkClassSpec | None = None
    topology: Literal["switch", "torus"] = "switch"
    torus_dims: tuple[Int, ...] | None = None
    links: OptionalInt = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _torus_has_dims(self):
        if self.topology == "torus" and not self.torus_dims:
            raise ValueError("a torus link needs torus_dims, e.g. torus_dims: [16, 16, 16]")
        if self.topology != "torus" and self.torus_dims is not None:
            raise ValueError("torus_dims applies to topology: torus only")
        if self.torus_dims is not None and any(d < 1 for d in self.torus_dims):
            raise ValueError(f"torus_dims must be positive integers, got {self.torus_dims}")
        return self

    @property
    def domain_size(self) -> int | None:
        """Devices in a torus (product of its dims); None for a switch (the node's count)."""
        if self.torus_dims is None:
            return None
        size = 1
        for d in self.torus_dims:
            size *= d
        return size

    @property
    def link_bandwidth(self):
        """One link's bandwidth per direction (``bandwidth / links``), or ``bandwidth``."""
        return self.bandwidth / self.links if self.links else self.bandwidth

    @cached_property
    def si(self) -> tuple[float, tuple]:
        """(bandwidth B/s, collective lines) as floats: the link class's lines, else one ring
        at the link's latency."""
        bandwidth = float(self.bandwidth.to("B/s").magnitude)
        if self.collectives is not None:
            return bandwidth, self.collectives.si_lines
        latency = float(self.latency.to("s").magnitude) if self.latency is not None else 0.0
        return bandwidth, (("ring", latency, 1.0),)


class EfficiencySpec(Spec):
    """How much of its peaks a device reaches in practice.

    ``memory`` is the device's own achievable bandwidth fraction (STREAM-like measurement or a
    reasoned estimate); ``compute_scale`` its sustained compute relative to its class (1 unless
    a measurement shows a power-limited part, such as a 350 W H100 PCIe). ``device_class`` is
    the calibration of its family (GEMM and attention efficiency curves, dequantisation,
    kernel launch; ``catalog/calibration/devices``). A user
    spec may instead give a flat ``compute`` fraction (and ``kernel_launch``): every kernel then
    runs at that fraction of peak, whatever its shape."""

    memory: Float = Field(gt=0, le=1)
    device_class: DeviceClassSpec | None = None
    compute: OptionalFloat = Field(default=None, gt=0, le=1)
    kernel_launch: TimeOrZero | None = None
    #: this device's sustained compute relative to its class (a power- or clock-limited part
    #: of the family, measured): multiplies the class's GEMM and attention ceilings
    compute_scale: Float = Field(default=1.0, gt=0, le=1.5)

    @model_validator(mode="after")
    def _class_or_flat(self):
        if self.device_class is None and self.compute is None:
            raise ValueError("give device_class (a key of catalog/calibration/devices, e.g. "
                             "'nvidia_hopper') or a flat compute fraction, e.g. compute: 0.7")
        return self

    @cached_property
    def calibration(self) -> DeviceClassSpec:
        """The device class, or a flat one built from ``compute`` and ``kernel_launch``."""
        if self.device_class is not None and self.compute is None:
            return self.device_class
        eta = self.compute
        return DeviceClassSpec(
            name="flat efficiency (user spec)",
            gemm=GemmCalibration(ceiling={"fp16": eta}, half_rows=0),
            attention=AttentionCalibration(ceiling=eta, half_context=0, kv_bandwidth=1.0),
            vector_efficiency=eta, kernel_launch=self.kernel_launch or "0 s")


class HardwareSpec(Sourced):
    """One accelerator as published by its vendor (dense peaks, per-direction links)."""

    name: str
    key: str | None = None
    tier: Tier
    vendor: str
    year: OptionalInt = Field(default=None, ge=1990, le=2035)
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
    #: on-demand cloud rental per device (USD/h): a dated list price, for cost per token
    price_per_hour: HourlyPrice | None = None
    efficiency: EfficiencySpec

    @field_validator("key")
    @classmethod
    def _key_is_identifier(cls, key):
        if key is not None and not key.isidentifier():
            raise ValueError(f"key {short(key)} must be a Python identifier (e.g. 'H100_PCIe')")
        return key

    @property
    def is_wafer_scale(self) -> bool:
        return self.wafer is not None

    @property
    def device_class(self) -> DeviceClassSpec:
        """The calibration this device's kernels are costed with."""
        return self.efficiency.calibration

    @property
    def dispatch_overhead(self):
        """Fixed cost of launching one kernel (from the device class)."""
        return self.device_class.kernel_launch

    @property
    def gemm_efficiency(self) -> float:
        """Large-GEMM efficiency at the default precision: the device class's ceiling times
        this device's ``compute_scale``."""
        return (self.device_class.gemm_ceiling(self.compute.default_precision)
                * self.efficiency.compute_scale)

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
        "calibration",
        "dispatch_overhead",
        "eta_compute",
        "eta_memory",
        "external_capacity",
        "flops",
        "injection_bandwidth",
        "link_bandwidth",
        "link_latency",
        "mem_bandwidth",
        "mem_capacity",
        "mem_datasheet",
        "sram_bandwidth",
        "sram_capacity",
        "tdp",
    )

    @classmethod
    def from_spec(cls, hw: HardwareSpec) -> HardwareSI:
        si = cls()
        si.flops = {p: float(q.to("flop/s").magnitude)
                    for p, q in hw.compute.precision_flops.items()}
        si.mem_capacity = float(hw.memory.usable.to("B").magnitude)
        si.mem_datasheet = float(hw.memory.capacity.to("B").magnitude)
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
        si.link_latency = (float(hw.interconnect.latency.to("s").magnitude)
                           if hw.interconnect and hw.interconnect.latency is not None else 0.0)
        si.tdp = float(hw.tdp.to("W").magnitude)
        si.calibration = hw.device_class.si
        si.dispatch_overhead = si.calibration.kernel_launch
        si.eta_compute = hw.gemm_efficiency
        si.eta_memory = hw.efficiency.memory
        return si

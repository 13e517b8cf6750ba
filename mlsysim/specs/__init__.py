"""Frozen, strict pydantic specs for hardware, workloads, systems and grids."""

from .base import Precision, Provenance, Spec
from .grid import GridSpec
from .hardware import (
    ComputeSpec,
    EfficiencySpec,
    HardwareSpec,
    InterconnectSpec,
    MemorySpec,
    OnChipMemorySpec,
    UnsupportedPrecisionError,
    WaferSpec,
)
from .system import FabricSpec, FleetSpec, NodeSpec
from .workload import MoESpec, SampleWorkload, TransformerWorkload, Workload, WorkloadSpec

__all__ = [
    "ComputeSpec", "EfficiencySpec", "FabricSpec", "FleetSpec", "GridSpec", "HardwareSpec",
    "InterconnectSpec", "MemorySpec", "MoESpec", "NodeSpec", "OnChipMemorySpec", "Precision",
    "Provenance", "SampleWorkload", "Spec", "TransformerWorkload", "UnsupportedPrecisionError",
    "WaferSpec", "Workload", "WorkloadSpec",
]

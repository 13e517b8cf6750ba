"""Systems: a node (accelerators × count + intra-node link), a fabric and a fleet of nodes."""

from __future__ import annotations

from pydantic import Field

from .base import Int, Sourced, Spec
from .hardware import HardwareSpec, InterconnectSpec
from .quantity import ByteRate, Money, Power, Time


class FabricSpec(Spec):
    """Inter-node network; ``bandwidth`` is per node, per direction."""

    name: str
    bandwidth: ByteRate
    latency: Time | None = None


class NodeSpec(Sourced):
    """A server: ``count`` identical accelerators joined by ``intra_link``."""

    name: str
    key: str | None = None
    accelerator: HardwareSpec
    count: Int = Field(gt=0)
    intra_link: InterconnectSpec | None = None
    host_power: Power | None = None
    unit_cost: Money | None = None

    @property
    def total_memory(self):
        return self.count * self.accelerator.memory.capacity

    @property
    def total_flops(self):
        return self.count * self.accelerator.compute.peak_flops


class FleetSpec(Sourced):
    """A cluster: ``count`` nodes joined by ``fabric``."""

    name: str
    key: str | None = None
    node: NodeSpec
    count: Int = Field(gt=0)
    fabric: FabricSpec

    @property
    def accelerators(self) -> int:
        return self.count * self.node.count

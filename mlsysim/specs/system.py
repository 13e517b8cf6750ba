"""Systems: a node (accelerators × count + intra-node link), a fabric and a fleet of nodes.

Bandwidths are per direction (InfiniBand and Ethernet links are full duplex; a "400 Gb/s" port
carries 50 GB/s each way). A fabric's ``bandwidth`` is what one node injects into it:
``port_bandwidth × ports_per_node``.
"""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, model_validator

from ..errors import short
from .base import Int, Provenance, Sourced
from .hardware import HardwareSpec, InterconnectSpec
from .quantity import ByteRate, Money, Power, Time


class FabricSpec(Sourced):
    """Inter-node network as one node sees it.

    ``port_bandwidth`` is one port (NIC) per direction, ``ports_per_node`` how many of them a
    node drives (one per GPU on a rail-optimised fabric), ``latency`` a small message's one-way
    time from host to host through the switches (what the catalog entry's note says it covers).
    ``bandwidth`` (property) = port_bandwidth × ports_per_node, per node per direction.
    Giving ``bandwidth=`` instead of ``port_bandwidth`` sets port_bandwidth = bandwidth /
    ports_per_node (ports_per_node defaults to 1)."""

    name: str
    key: str | None = None
    port_bandwidth: ByteRate
    ports_per_node: Int = Field(default=1, gt=0)
    latency: Time
    topology: str | None = None
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _per_node_bandwidth(cls, data):
        if isinstance(data, dict) and "bandwidth" in data:
            from ..units import checked
            data = dict(data)
            per_node = checked(data.pop("bandwidth"), "B/s", "bandwidth", example="'400 GB/s'")
            ports = data.get("ports_per_node", 1)
            if isinstance(ports, bool) or not isinstance(ports, int) or ports < 1:
                raise ValueError(f"ports_per_node must be a positive integer, got {short(ports)}")
            data["port_bandwidth"] = per_node / ports
        return data

    @property
    def bandwidth(self):
        """Per node, per direction: port_bandwidth × ports_per_node."""
        return (self.port_bandwidth * self.ports_per_node).to("GB/s")

    def source_of(self, path: str) -> Provenance | None:
        """As :meth:`Sourced.source_of`; ``"bandwidth"`` (derived) cites the port count's
        source and says how it was derived."""
        if path != "bandwidth" or path in self.provenance:
            return super().source_of(path)
        port, ports = self.provenance.get("port_bandwidth"), self.provenance.get("ports_per_node")
        if port is None:
            return None
        cited = ports or port
        rate = self.port_bandwidth.to("Gbit/s").magnitude
        note = (f"{self.ports_per_node} ports x {rate:g} Gb/s = "
                f"{self.bandwidth.to('GB/s').magnitude:g} GB/s per node per direction. "
                + " ".join(p.note for p in (ports, port) if p is not None and p.note))
        return Provenance(source=cited.source, kind="derived", section=cited.section,
                          note=note.strip())

    @cached_property
    def si(self) -> tuple[float, float]:
        """(bandwidth per node per direction in B/s, latency in s) as floats."""
        return (float(self.bandwidth.to("B/s").magnitude),
                float(self.latency.to("s").magnitude))

    def __str__(self) -> str:
        return self.name


class NodeSpec(Sourced):
    """A server (or a pod): ``count`` identical accelerators joined by ``intra_link``."""

    name: str
    key: str | None = None
    accelerator: HardwareSpec
    count: Int = Field(gt=0)
    intra_link: InterconnectSpec | None = None
    host_power: Power | None = None
    unit_cost: Money | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _torus_holds_the_node(self):
        link = self.intra_link
        if link is not None and link.torus_dims is not None:
            product = 1
            for d in link.torus_dims:
                product *= d
            if product != self.count:
                raise ValueError(f"intra_link.torus_dims {tuple(link.torus_dims)} hold {product} "
                                 f"devices but count is {self.count}; their product must equal "
                                 "count")
        return self

    @property
    def domain_size(self) -> int:
        """Devices in the node's link domain (all of them: one switch or one torus)."""
        return self.count

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
    description: str | None = None

    @property
    def accelerators(self) -> int:
        return self.count * self.node.count

    def source_of(self, path: str) -> Provenance | None:
        if path == "fabric.bandwidth" and path not in self.provenance:
            return self.fabric.source_of("bandwidth")
        return super().source_of(path)

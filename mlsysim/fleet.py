"""``Fleet(node=..., count=..., fabric=...)``: a custom cluster of catalog (or user) nodes.

``count`` is the number of nodes; every node drives ``ports_per_node`` ports of ``fabric``
(default: the fabric's catalog value, e.g. 8 for InfiniBand NDR, one per GPU of an 8-GPU
node; give ``ports_per_node=72`` for GB200 NVL72 racks with one port per GPU).
Bad input is one line naming the parameter and what it accepts.
"""

from __future__ import annotations

from numbers import Integral

from .errors import UnknownNameError, short
from .specs.hardware import HardwareSpec
from .specs.system import FabricSpec, FleetSpec, NodeSpec

_MAX = 2**53


def _count(name: str, value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be a positive integer ({what}), got {short(value)} "
                        f"({type(value).__name__})")
    if not 1 <= value <= _MAX:
        raise ValueError(f"{name} must be a positive integer ({what}, at most 2**53), "
                         f"got {short(value)}")
    return int(value)


def _node(node) -> NodeSpec:
    from .catalog import Hardware, Systems
    if isinstance(node, NodeSpec):
        return node
    if isinstance(node, str):
        if node in Systems.Nodes:
            return Systems.Nodes.get(node)
        if node in Systems.Fleets:
            fleet = Systems.Fleets.get(node)
            raise ValueError(f"node={node!r} is a fleet; give its node, e.g. node="
                             f"{fleet.node.key!r}, and the number of nodes as count")
        if node in Hardware:
            return _not_a_device(Hardware.get(node))
        raise UnknownNameError("node", node, Systems.Nodes.names())
    if isinstance(node, HardwareSpec):
        return _not_a_device(node)
    if isinstance(node, FleetSpec):
        raise ValueError(f"node must be a node, got the fleet {node.name!r}; give node="
                         f"{node.node.key or 'its node'!r}")
    raise TypeError(f"node must be a node spec or a catalog node name (e.g. 'DGX_H100'), "
                    f"got {type(node).__name__}")


def _not_a_device(hw: HardwareSpec):
    from .catalog import Systems
    hosts = [n.key for n in Systems.Nodes if n.accelerator.key == hw.key]
    hint = f"; nodes built of it: {', '.join(hosts)}" if hosts else ""
    raise ValueError(f"node must be a node (accelerators joined by a link), got the device "
                     f"{hw.key or hw.name!r}{hint}")


def _fabric(fabric) -> FabricSpec:
    from .catalog import Fabrics
    if isinstance(fabric, FabricSpec):
        return fabric
    if isinstance(fabric, str):
        return Fabrics.get(fabric)  # unknown: "did you mean" among the fabrics
    raise TypeError(f"fabric must be a FabricSpec or a catalog fabric name (one of "
                    f"{', '.join(Fabrics.names())}), got {type(fabric).__name__}")


def Fleet(node, count, fabric, ports_per_node=None, name: str | None = None) -> FleetSpec:
    """A fleet of ``count`` nodes joined by ``fabric``.

    ``node``: a NodeSpec or a name in ``Systems.Nodes`` ("DGX_H100", "GB200_NVL72", ...).
    ``fabric``: a FabricSpec or a name in ``Systems.Fabrics`` ("InfiniBand_NDR", ...).
    ``ports_per_node``: fabric ports each node drives (None: the fabric's own value); the
    fleet's per-node bandwidth (per direction) is port_bandwidth × ports_per_node."""
    count = _count("count", count, "the number of nodes")
    node_spec, fabric_spec = _node(node), _fabric(fabric)
    if ports_per_node is not None:
        ports = _count("ports_per_node", ports_per_node, "fabric ports per node")
        if ports != fabric_spec.ports_per_node:
            fabric_spec = fabric_spec.replace(ports_per_node=ports)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    label = name or f"{count} x {node_spec.name} over {fabric_spec.name}"
    return FleetSpec(name=label, node=node_spec, count=count, fabric=fabric_spec)

"""One dispatcher: what kind of hardware a name or spec is, and which solver models it.

A *device* (one accelerator) runs the per-operator engine; a *wafer* (a wafer-scale device)
runs weight streaming or weights-resident mode; a *node* (accelerators joined by a link) runs
tensor parallelism. A *fleet* (nodes joined by a fabric) is not a target of these solvers: the
error says so and names the node it is built from. The CLI, sensitivity and validation all
dispatch through :func:`resolve_target`.
"""

from __future__ import annotations

from ..errors import UnknownNameError
from ..specs.hardware import HardwareSpec
from ..specs.system import FleetSpec, NodeSpec

DEVICE, WAFER, NODE = "device", "wafer", "node"


def resolve_target(hardware) -> tuple[str, HardwareSpec | NodeSpec]:
    """(kind, spec) for a device, wafer or node given as a spec or a catalog name."""
    if isinstance(hardware, str):
        hardware = _by_name(hardware)
    if isinstance(hardware, FleetSpec):
        raise ValueError(f"{hardware.name} is a fleet ({hardware.count} nodes of "
                         f"{hardware.node.name}); give a device (e.g. "
                         f"{hardware.node.accelerator.key}) or a node (e.g. "
                         f"{hardware.node.key}) — multi-node training is modelled separately")
    if isinstance(hardware, NodeSpec):
        return NODE, hardware
    if isinstance(hardware, HardwareSpec):
        return (WAFER if hardware.wafer is not None else DEVICE), hardware
    raise TypeError(f"hardware must be a device, a node or a catalog name (e.g. 'H100', "
                    f"'DGX_H100'), got {type(hardware).__name__}")


def resolve_node(system) -> NodeSpec:
    """A node spec or its catalog name; anything else is a clear error."""
    kind, spec = resolve_target(system)
    if kind != NODE:
        from ..catalog import Systems
        hosts = [n.key for n in Systems.Nodes if n.accelerator.key == spec.key]
        hint = f"; did you mean {' or '.join(repr(h) for h in hosts)}?" if hosts else ""
        raise ValueError(f"system must be a node (e.g. mlsysim.Systems.DGX_H100), got the "
                         f"{kind} {spec.name}{hint}")
    return spec


def _by_name(name: str):
    """A catalog device or system by name; an unknown name lists close matches of both."""
    from ..catalog import Hardware, Systems

    for registry in (Hardware, Systems):
        if name in registry:
            return registry.get(name)
    raise UnknownNameError("hardware or node", name,
                           Hardware.names(include_aliases=True) + Systems.names())

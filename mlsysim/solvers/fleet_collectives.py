"""One collective on a node or a fleet, timed by the engine: which algorithm a library would
pick for the message size and which links it crosses.

:func:`collective_time` builds a one-operator plan and evaluates it (the same
``evaluate → combine`` path as a training step's collectives), so its seconds are the
engine's number; the algorithm is the fastest candidate of ``physics.fleet_collectives``.
Sizes follow nccl-tests (the all-reduce buffer, the full reduce-scatter input / all-gather
output, each rank's all-to-all send buffer, the bytes of a send); :func:`bus_bandwidth` is
nccl-tests' bus bandwidth (``doc/PERFORMANCE.md``: all-reduce S/t·2(n−1)/n; reduce-scatter,
all-gather, all-to-all S/t·(n−1)/n; send/receive S/t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from ..physics import fleet_collectives as fc
from ..physics.collectives import allreduce_line
from ..vocabulary import OpKind, Phase, WorkUnit
from .evaluate import device_rates, evaluate
from .inputs import efficiencies, positive_int, precisions
from .plan import OperatorList, OperatorPlan


@dataclass(frozen=True, slots=True)
class CollectiveCost:
    """One collective: ``seconds``, the ``algorithm`` a library would run for this size
    ("ring", "tree", "switch", "hierarchical", "pairwise", "torus 4x4x4", ...) and the
    ``links`` it crosses, innermost first (e.g. ("NVLink 4 + NVSwitch", "NDR InfiniBand"))."""

    seconds: float
    algorithm: str
    links: tuple[str, ...]


def _system(system):
    """(node, fleet or None) of a node spec, fleet spec or catalog name."""
    from ..specs.system import FleetSpec, NodeSpec

    if isinstance(system, str):
        from ..catalog import Systems
        system = Systems.get(system)
    if isinstance(system, FleetSpec):
        return system.node, system
    if isinstance(system, NodeSpec):
        return system, None
    raise TypeError(f"system must be a node or a fleet (a spec or a catalog name such as "
                    f"'DGX_H100' or 'H100_Cluster_1024'), got {type(system).__name__}")


def _message(message_bytes) -> float:
    if hasattr(message_bytes, "to") and hasattr(message_bytes, "magnitude"):
        try:
            value = float(message_bytes.to("B").magnitude)
        except Exception:
            raise ValueError(f"message_bytes must be a size in bytes (e.g. '1 GB'), got "
                             f"{message_bytes}") from None
    elif isinstance(message_bytes, Real) and not isinstance(message_bytes, bool):
        value = float(message_bytes)
    elif isinstance(message_bytes, str):
        from ..units import to_si
        value = to_si(message_bytes, "B", "message_bytes")
    else:
        raise TypeError(f"message_bytes must be a number of bytes or a size (e.g. '1 GB'), "
                        f"got {type(message_bytes).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"message_bytes must be a finite size ≥ 0 bytes, got {value!r}")
    return value


def _placement(node, fleet, group, ranks_per_node) -> int:
    """Ranks of the group per node (validated)."""
    group = positive_int("group", group)
    per_node, nodes = node.count, fleet.count if fleet is not None else 1
    if group > per_node * nodes:
        where = fleet.name if fleet is not None else node.name
        raise ValueError(f"group={group} exceeds the {per_node * nodes} accelerators of "
                         f"{where}")
    if ranks_per_node is None:
        return min(group, per_node)
    k = positive_int("ranks_per_node", ranks_per_node)
    if k > per_node:
        raise ValueError(f"ranks_per_node={k} exceeds the {per_node} accelerators of a "
                         f"{node.name}")
    k = min(k, group)
    if group % k:
        raise ValueError(f"ranks_per_node={k} must divide group={group}")
    if group // k > nodes:
        raise ValueError(f"group={group} at {k} ranks per node needs {group // k} nodes; "
                         f"{fleet.name if fleet else node.name} has {nodes}")
    return k


def _algorithm(collective, message, group, k, rates) -> str:
    """The candidate the engine's minimum came from (the same physics, scalar)."""
    if collective == fc.P2P:
        return "p2p"
    if rates.torus_dims and k >= group:
        shape = fc.torus_shape(group, rates.torus_dims)
        return "torus " + "x".join(str(d) for d in shape)
    if collective == fc.ALLREDUCE and k >= group:
        times = [(alg, allreduce_line(message, group, alg, lat, rates.link_bandwidth, eff))
                 for alg, lat, eff in rates.link_lines]
        return fc.fastest(times)[0]
    return fc.fastest(fc.fleet_candidates(
        collective, message, group, k, rates.link_bandwidth, rates.link_lines,
        rates.fabric_bandwidth, rates.fabric_lines))[0]


def collective_time(system, collective: str, message_bytes, group: int,
                    ranks_per_node: int | None = None) -> CollectiveCost:
    """Time of one ``collective`` (allreduce, reduce_scatter, allgather, alltoall, p2p) of
    ``message_bytes`` among ``group`` ranks of ``system`` (a node or a fleet), with
    ``ranks_per_node`` of them in each node (default: as many as fit, the group packed into
    the fewest nodes). All groups of a kind are assumed to communicate at once, so each rank
    crosses the fabric on its own share: fabric bandwidth per node / GPUs per node."""
    node, fleet = _system(system)
    fc.check_collective(collective)
    message = _message(message_bytes)
    k = _placement(node, fleet, group, ranks_per_node)
    if group > 1 and k > 1 and node.intra_link is None:
        raise ValueError(f"{node.name} has no intra-node link to run a collective over")
    flops = node.accelerator.si.flops  # any supported precision: a collective has no FLOPs
    prec = precisions(next((p for p in ("bf16", "fp16") if p in flops), next(iter(flops))))
    rates = device_rates(node.accelerator, prec, efficiencies(), node=node,
                         fleet=fleet if k < group else None)
    ops = OperatorList()
    ops.add(collective, OpKind.COLLECTIVE, 1, 0.0, 0.0, message=message, group=group,
            collective=collective, ranks_per_node=k)
    plan = OperatorPlan.build(ops, phase=Phase.INFERENCE, unit=WorkUnit.SAMPLE, units=1.0,
                              footprint={}, precision=prec)
    seconds = float(evaluate(plan, rates).latency)
    if group == 1:
        return CollectiveCost(seconds, "none", ())
    links = []
    if k > 1 and (collective != fc.P2P or k >= group):  # a send crosses one link
        links.append(node.intra_link.name)
    if k < group:
        links.append(fleet.fabric.name)
    return CollectiveCost(seconds, _algorithm(collective, message, group, k, rates),
                          tuple(links))


def bus_factor(collective: str, group: int) -> float:
    """nccl-tests' bus-bandwidth factor per collective (doc/PERFORMANCE.md)."""
    n = group
    if collective == fc.ALLREDUCE:
        return 2.0 * (n - 1) / n
    if collective == fc.P2P:
        return 1.0
    return (n - 1) / n


def bus_bandwidth(system, collective: str, message_bytes, group: int,
                  ranks_per_node: int | None = None):
    """nccl-tests' bus bandwidth of :func:`collective_time`'s collective, a Quantity in GB/s
    (algorithm bandwidth S/t times :func:`bus_factor`)."""
    from ..units import Q_

    cost = collective_time(system, collective, message_bytes, group, ranks_per_node)
    message = _message(message_bytes)
    if cost.seconds <= 0 or message == 0:
        raise ValueError("bus bandwidth needs a message > 0 bytes over a group of ≥ 2 ranks")
    return Q_(message / cost.seconds * bus_factor(collective, group) / 1e9, "GB/s")

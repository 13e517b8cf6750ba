"""Hardware rates for each operator of a plan, and the call into the one combinator.

:class:`DeviceRates` holds every hardware number the cost model reads (SI floats): peaks, memory
bandwidth, the device class's efficiency curves, the kernel launch cost, the link and its
collective algorithms. :func:`evaluate` turns a plan and rates into step times through
``physics.combine.combine``; the scalar solve, the sweep, sensitivity (which perturbs the rates
and re-evaluates the same plan), tensor parallelism and weight streaming all go through it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..physics.collectives import allreduce_time
from ..physics.combine import StepTimes, combine
from ..physics.efficiency import saturating
from ..physics.fleet_collectives import ALLREDUCE, fleet_collective_time, torus_collective_time
from .inputs import Efficiencies, Precisions, peak_for
from .plan import OperatorPlan


@dataclass(frozen=True, slots=True)
class DeviceRates:
    """Every hardware number the cost model uses for one step (SI floats)."""

    gemm_peak: float  # FLOP/s at the compute precision (dense)
    attention_peak: float  # FLOP/s at the attention's precision
    vector_peak: float  # FLOP/s of the vector units (norms, activations)
    bandwidth: float  # B/s of device memory
    eta_memory: float
    gemm_ceiling: float
    half_rows: float
    attention_ceiling: float
    half_context: float
    vector_efficiency: float
    kv_bandwidth: float  # fraction of achievable bandwidth while streaming the KV cache
    dequantization: float  # fraction for weight-only quantised GEMMs (1 when not quantised)
    launch: float  # s per kernel
    link_bandwidth: float = 0.0  # B/s per device per direction (collectives)
    link_lines: tuple = ()  # (algorithm, step latency s, efficiency) per collective line
    transfer_bandwidth: float = 0.0  # B/s of a transfer link (weight injection, host copy)
    latency_scale: float = 1.0  # multiplies the fixed latencies of transfers (sensitivity)
    fabric_bandwidth: float = 0.0  # B/s per rank per direction across nodes (one rail)
    fabric_lines: tuple = ()  # (algorithm, step latency s, efficiency) across nodes
    torus_dims: tuple = ()  # the node link is a torus of these dimensions (TPU pods)
    torus_links: int = 0  # links per device of the torus (link_bandwidth split among them)
    flat: bool = False  # an efficiency override: every kernel at gemm_ceiling, no curves

    def scaled(self, **factors) -> DeviceRates:
        """A copy with fields multiplied: ``rates.scaled(bandwidth=1.01)``. ``peak`` scales
        every FLOP/s; ``link_latency`` every collective step latency (node and fabric)."""
        changes = {}
        for name, factor in factors.items():
            if name == "peak":
                for f in ("gemm_peak", "attention_peak", "vector_peak"):
                    changes[f] = getattr(self, f) * factor
            elif name == "link_latency":
                changes["link_lines"] = tuple((alg, lat * factor, eff)
                                              for alg, lat, eff in self.link_lines)
                changes["fabric_lines"] = tuple((alg, lat * factor, eff)
                                                for alg, lat, eff in self.fabric_lines)
                changes["latency_scale"] = self.latency_scale * factor
            else:
                changes[name] = getattr(self, name) * factor
        return dataclasses.replace(self, **changes)

    @property
    def achievable_bandwidth(self) -> float:
        return self.bandwidth * self.eta_memory


def vector_peak_of(hw) -> float:
    """FLOP/s of the vector units: the fp32 peak, else the slowest listed precision."""
    flops = hw.si.flops
    return flops.get("fp32") or min(flops.values())


def device_rates(hw, precision: Precisions, effs: Efficiencies, node=None,
                 link_class=None, fleet=None) -> DeviceRates:
    """Rates of ``hw`` for a step at ``precision``; ``node`` adds its intra-node link,
    ``fleet`` its node's link and the fabric (:func:`fabric_rates`)."""
    if fleet is not None and node is None:
        node = fleet.node
    si = hw.si
    cal = hw.device_class
    csi = cal.si
    gemm_peak = peak_for(hw, precision.compute)
    attention_peak = si.flops.get(precision.activations) or gemm_peak
    flat = effs.compute is not None
    scale = hw.efficiency.compute_scale
    dequant = 1.0
    if precision.weight_only_quantised:
        dequant = csi.dequantization.get(precision.weights)
        if dequant is None:  # never free by default: a format with no measurement is refused
            known = ", ".join(csi.dequantization) or "none"
            raise ValueError(f"weight_precision={precision.weights!r}: no measured "
                             f"dequantisation cost for weight-only {precision.weights} on "
                             f"{hw.name} (its device class measures: {known})")
    link_bw, lines, torus, torus_links = 0.0, (), (), 0
    if node is not None and node.intra_link is not None:
        link_bw, lines = node.intra_link.si
        if link_class is not None:
            lines = link_class.si_lines
        if getattr(node.intra_link, "topology", None) == "torus":
            torus = tuple(int(d) for d in node.intra_link.torus_dims)
            torus_links = node.intra_link.links or 2 * len(torus)  # ± per dimension
    fabric_bw, fabric_lines = fabric_rates(fleet, lines) if fleet is not None else (0.0, ())
    return DeviceRates(
        gemm_peak=gemm_peak, attention_peak=attention_peak, vector_peak=vector_peak_of(hw),
        bandwidth=si.mem_bandwidth,
        eta_memory=si.eta_memory if effs.memory is None else effs.memory,
        gemm_ceiling=effs.compute if flat else cal.gemm_ceiling(precision.compute) * scale,
        half_rows=csi.half_rows, attention_ceiling=csi.attention_ceiling * scale,
        half_context=csi.half_context, vector_efficiency=csi.vector_efficiency,
        kv_bandwidth=csi.kv_bandwidth, dequantization=dequant,
        launch=csi.kernel_launch if effs.launch is None else effs.launch,
        link_bandwidth=link_bw, link_lines=lines, flat=flat, fabric_bandwidth=fabric_bw,
        fabric_lines=fabric_lines, torus_dims=torus, torus_links=torus_links)


def fabric_rates(fleet, node_lines=None) -> tuple[float, tuple]:
    """(B/s per rank per direction, collective lines) of ``fleet``'s fabric. Every GPU of a
    node drives its own share, fabric bandwidth per node / GPUs per node (one rail per GPU in
    a rail-optimised fat tree, when all groups of a kind communicate at once). Lines: the
    fabric's link class (``collectives``) when it has one, else ring and tree with η = 1 (the
    pure α–β bound) and a step latency of the fabric's sourced wire latency (NIC to NIC
    through the switches) PLUS the library's own per-step cost, taken as the smallest step
    latency measured inside the node (``node_lines``, the node link's fitted lines: NCCL's
    protocol and kernel cost of one step, which a step across nodes pays as well). Without
    node lines the wire latency alone is used (a lower bound)."""
    fabric = fleet.fabric
    bandwidth = float(fabric.bandwidth.to("B/s").magnitude) / fleet.node.count
    link_class = getattr(fabric, "collectives", None)
    if link_class is not None:
        return bandwidth, link_class.si_lines
    if fabric.latency is None:
        raise ValueError(f"fabric {fabric.name!r} of {fleet.name} has no latency: collectives "
                         "across its nodes need one (give the fabric a latency)")
    if node_lines is None and fleet.node.intra_link is not None:
        node_lines = fleet.node.intra_link.si[1]
    software = min((lat for _, lat, _ in node_lines), default=0.0) if node_lines else 0.0
    latency = float(fabric.latency.to("s").magnitude) + software
    return bandwidth, (("ring", latency, 1.0), ("tree", latency, 1.0))


def _column(x: np.ndarray, ndim: int) -> np.ndarray:
    """A per-operator 1-D array shaped to broadcast against (n, *grid)."""
    return x.reshape(x.shape + (1,) * (ndim - 1)) if ndim > 1 else x


def evaluate(plan: OperatorPlan, rates: DeviceRates, overlap: float = 0.0) -> StepTimes:
    """Step times of ``plan`` on ``rates`` (see the module docstring).

    Per operator: compute rate = peak[its peak kind] · ceiling · rows / (rows + rows½) — for a
    GEMM at least the vector units' rate, since a skinny product can run as a GEMV (flat at
    the override when ``rates.flat``); memory rate = achievable bandwidth × the fraction its
    stream reaches (dequantising weights, streaming the KV cache)."""
    ndim = plan.flops.ndim
    code = plan.peak_code
    peak = np.array((rates.gemm_peak, rates.attention_peak, rates.vector_peak, 1.0))[code]
    if rates.flat:
        ceiling = np.array((rates.gemm_ceiling,) * 3 + (1.0,))[code]
        compute_rate = _column(peak * ceiling, ndim)
    else:
        ceiling = np.array((rates.gemm_ceiling, rates.attention_ceiling,
                            rates.vector_efficiency, 1.0))[code]
        half = _column(np.array((rates.half_rows, rates.half_context, 0.0, 0.0))[code], ndim)
        rows = plan.rows
        compute_rate = _column(peak * ceiling, ndim) * saturating(rows, half)
        # a GEMM with few rows can run as a vector kernel (GEMV) instead of padding
        # tensor-core tiles: a library takes the faster of the two
        vector = rates.vector_peak * rates.vector_efficiency
        compute_rate = np.maximum(compute_rate, _column(np.where(code == 0, vector, 0.0), ndim))
    if rates.flat:
        memory_rate = rates.achievable_bandwidth
    else:
        factor = np.array((1.0, rates.dequantization, rates.kv_bandwidth))[plan.memory_code]
        memory_rate = _column(rates.achievable_bandwidth * factor, ndim)
    t_link = _link_times(plan, rates) if plan.has_link else 0.0
    launch = _column(rates.launch * plan.kernel, ndim)
    return combine(plan.count, plan.flops, plan.bytes, compute_rate, memory_rate, t_link,
                   launch, overlap)


def _link_times(plan: OperatorPlan, rates: DeviceRates):
    """α–β time of each collective or transfer operator (zero for kernels)."""
    out = None
    seen = {}  # (message, group, collective, per node) → time, for repeated collectives
    for i, is_collective, group, collective, per_node in plan.link_specs:
        if is_collective:
            message = plan.message[i]
            key = (float(message), group, collective, per_node) if message.ndim == 0 else None
            t = seen.get(key) if key else None
            if t is None:
                if collective == ALLREDUCE and not per_node and not rates.torus_dims:
                    if rates.link_bandwidth <= 0:
                        raise ValueError(f"operator {plan.names[i]!r} is a collective but the "
                                         "hardware has no link to run it over")
                    t = allreduce_time(message, group, rates.link_bandwidth, rates.link_lines)
                else:
                    t = _collective_time(plan.names[i], collective, message, group, per_node,
                                         rates)
                if key:
                    seen[key] = t
        else:  # a transfer
            t = plan.latency[i] * rates.latency_scale
            if np.any(plan.message[i] > 0):
                if rates.transfer_bandwidth <= 0:
                    raise ValueError(f"operator {plan.names[i]!r} is a transfer but the "
                                     "hardware has no link to run it over")
                t = t + plan.message[i] / rates.transfer_bandwidth
        if out is None:
            out = np.zeros(plan.flops.shape)
        out[i] = t
    return 0.0 if out is None else out


def _collective_time(name, collective, message, group, per_node, rates: DeviceRates):
    """A collective other than an all-reduce inside one switched node: across nodes
    (hierarchical or flat, ``physics.fleet_collectives``) or on a torus."""
    k = per_node or group
    if k < group and rates.fabric_bandwidth <= 0:
        raise ValueError(f"operator {name!r} spans {group // k} nodes ({k} of its {group} "
                         "ranks per node) but the hardware has no fabric: give a fleet")
    if k > 1 and rates.link_bandwidth <= 0:
        raise ValueError(f"operator {name!r} is a collective but the hardware has no link "
                         "to run it over")
    if rates.torus_dims and k >= group:
        _, lat, eff = rates.link_lines[0]
        link = rates.link_bandwidth / rates.torus_links  # one link, per direction
        t = torus_collective_time(collective, message, group, rates.torus_dims, link, lat, eff)
        return t if isinstance(t, np.ndarray) else float(t)
    return fleet_collective_time(collective, message, group, k, rates.link_bandwidth,
                                 rates.link_lines, rates.fabric_bandwidth, rates.fabric_lines)

"""Tensor parallelism inside one node (Megatron-style; Shoeybi et al. 2019, arXiv 1909.08053).

Each of N devices holds 1/N of every weight matrix and does 1/N of the FLOPs; the KV cache is
split by KV heads (replicated when N exceeds the KV-head count). Every layer ends its attention
and its MLP with an all-reduce of the activations (B · tokens · d · bytes), 2 per layer (§3):

  latency = max(t_compute, t_memory) per device + t_communication + t_overhead

Communication is not overlapped with compute (a conservative, stated assumption). Feasibility
compares the per-device footprint with one device's memory.
"""

from __future__ import annotations

import dataclasses

from ..physics.collectives import ring_allreduce_time
from ..results import PerformanceResult
from ..specs.system import NodeSpec
from ..specs.workload import TransformerWorkload
from . import inputs
from .costs import StepCost
from .roofline import feasibility, step_cost


def _node(system) -> NodeSpec:
    if isinstance(system, NodeSpec):
        return system
    if isinstance(system, str):
        from ..catalog import Systems
        node = Systems.get(system)
        if isinstance(node, NodeSpec):
            return node
    raise ValueError(f"system must be a node (e.g. mlsysim.Systems.DGX_H100), got {system!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class TPPlan:
    """The hardware-independent part of a tensor-parallel step (floats; FLOPs, bytes)."""

    node: NodeSpec
    model: TransformerWorkload
    tp: int
    cost: StepCost
    context: int
    phase: str
    flops_per_device: float
    bytes_per_device: float
    message: float  # bytes of each all-reduce
    kv_split: int

    def latency_terms(self, peak, bandwidth, eta_c, eta_m, link_bw, link_latency,
                      overhead_per_layer) -> tuple[float, float, float, float]:
        """(t_compute, t_memory, t_communication, t_overhead) in seconds: two ring
        all-reduces per layer, not overlapped with compute."""
        t_c = self.flops_per_device / (peak * eta_c)
        t_m = self.bytes_per_device / (bandwidth * eta_m)
        t_comm = 0.0
        if self.tp > 1:
            t_comm = 2 * self.model.layers * ring_allreduce_time(
                self.message, self.tp, link_bw, link_latency)
        return t_c, t_m, t_comm, self.cost.dispatches * overhead_per_layer


def link_of(node: NodeSpec) -> tuple[float, float]:
    """(per-direction bandwidth B/s, per-step latency s) of a node's intra-node link."""
    link = node.intra_link
    if link is None:
        return 0.0, 0.0
    alpha = float(link.latency.to("s").magnitude) if link.latency is not None else 0.0
    return float(link.bandwidth.to("B/s").magnitude), alpha


def plan_tensor_parallel(model, system, tp=None, batch_size=1, precision="fp16", seq_len=None,
                         phase=None) -> TPPlan:
    """Validate the arguments and split one step's work ``tp`` ways across ``system``."""
    node = _node(system)
    model = inputs.resolve_model(model)
    if not isinstance(model, TransformerWorkload):
        raise ValueError(f"tensor parallelism here splits transformer layers; {model.name} "
                         "is a per-sample network")
    tp = node.count if tp is None else inputs.positive_int("tp", tp)
    if tp > node.count:
        raise ValueError(f"tp={tp} exceeds the {node.count} accelerators of {node.name}")
    if model.heads % tp:
        raise ValueError(f"tp={tp} must divide {model.name}'s {model.heads} attention heads")
    if node.intra_link is None and tp > 1:
        raise ValueError(f"{node.name} has no intra-node link to all-reduce over")
    inputs.peak_for(node.accelerator, precision)
    cost, context, phase = step_cost(model, precision, batch_size, seq_len, phase, False)
    kv_split = min(tp, model.n_kv_heads)
    kv_traffic = cost.bytes - cost.weights  # KV read/written this step
    tokens = cost.units if phase == "prefill" else float(batch_size)
    return TPPlan(node=node, model=model, tp=tp, cost=cost, context=context, phase=phase,
                  flops_per_device=cost.flops / tp,
                  bytes_per_device=cost.weights / tp + kv_traffic / kv_split,
                  message=tokens * model.hidden_dim * inputs.precision_bytes(precision),
                  kv_split=kv_split)


def solve_tensor_parallel(model, system, tp=None, batch_size=1, precision="fp16",
                          efficiency=None, seq_len=None, phase=None,
                          memory_efficiency=None) -> PerformanceResult:
    """One inference step of ``model`` split ``tp`` ways across the GPUs of ``system``."""
    plan = plan_tensor_parallel(model, system, tp, batch_size, precision, seq_len, phase)
    hw = plan.node.accelerator
    si = hw.si
    peak = inputs.peak_for(hw, precision)
    eta_c = si.eta_compute if efficiency is None else inputs.fraction("efficiency", efficiency)
    eta_m = si.eta_memory if memory_efficiency is None else inputs.fraction(
        "memory_efficiency", memory_efficiency)
    t_c, t_m, t_comm, overhead = plan.latency_terms(peak, si.mem_bandwidth, eta_c, eta_m,
                                                    *link_of(plan.node), si.dispatch_overhead)
    latency = max(t_c, t_m) + t_comm + overhead
    terms = {"Compute": t_c, "Memory": t_m, "Communication": t_comm, "Overhead": overhead}
    bottleneck = max(terms, key=terms.get)

    cost, tp, kv_split = plan.cost, plan.tp, plan.kv_split
    per_device = dataclasses.replace(cost, weights=cost.weights / tp,
                                     kv_cache=cost.kv_cache / kv_split)
    feasible, trace = feasibility(per_device, si.mem_capacity)
    if trace:
        trace = (f"per device: {trace[0]}",)
    return PerformanceResult(
        model=plan.model.name, hardware=hw.name, precision=precision, batch_size=batch_size,
        seq_len=plan.context, phase=plan.phase, is_training=False, flops=cost.flops,
        bytes_moved=plan.bytes_per_device * tp, t_compute=t_c, t_memory=t_m,
        t_overhead=overhead, latency_s=latency, bottleneck=bottleneck, eta_compute=eta_c,
        eta_memory=eta_m, peak_flops_si=peak, footprint_parts=(
            ("weights", cost.weights), ("kv_cache", cost.kv_cache * tp / kv_split),
            ("activations", cost.activations * tp), ("optimizer", 0.0)),
        capacity_bytes=si.mem_capacity, units_per_step=cost.units, unit=cost.unit,
        tdp_w=si.tdp, feasible=feasible, constraint_trace=trace, devices=tp,
        t_communication=t_comm)


class TensorParallelModel:
    """Tensor-parallel inference across the accelerators of one node."""

    def solve(self, model, system, tp=None, batch_size=1, precision="fp16", efficiency=None,
              seq_len=None, phase=None, memory_efficiency=None) -> PerformanceResult:
        """See :func:`solve_tensor_parallel`."""
        return solve_tensor_parallel(model, system, tp, batch_size, precision, efficiency,
                                     seq_len, phase, memory_efficiency)

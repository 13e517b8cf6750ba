"""Tensor parallelism inside one node (Megatron-style; Shoeybi et al. 2019, arXiv 1909.08053).

Each of ``tp`` devices holds 1/tp of every weight matrix and does 1/tp of the GEMM and
attention work; the KV cache is split by KV heads (replicated when tp exceeds their number).
Each layer ends its attention and its MLP with an all-reduce of the activations, costed with
the node's collective algorithms (α–β per algorithm, the fastest for the message size). The
plan is the engine's operator plan with ``tp`` > 1 and runs through the same combinator.
All-reduces are not overlapped with compute unless ``overlap_comm`` says what fraction is
hidden (a stated assumption, default 0). Feasibility compares each device's footprint with one
device's usable memory.
"""

from __future__ import annotations

from ..results import PerformanceResult
from ..specs.workload import TransformerWorkload
from . import inputs
from .dispatch import resolve_node
from .engine import build_plan, check_cost_model, result_from, step_times
from .evaluate import device_rates


def _overlap(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"overlap_comm must be a fraction in [0, 1], got {value!r}")
    return float(value)


def plan_tensor_parallel(model, system, tp=None, batch_size=1, precision="fp16", seq_len=None,
                         phase=None, weight_precision=None, kv_precision=None,
                         activation_precision=None):
    """Validate the arguments; return (node, tp, workload args, per-device plan)."""
    node = resolve_node(system)
    args = inputs.workload_args(model, batch_size, seq_len, phase, precision, False, False,
                                weight_precision, kv_precision, activation_precision)
    if not isinstance(args.model, TransformerWorkload):
        raise ValueError(f"tensor parallelism here splits transformer layers; "
                         f"{args.model.name} is a per-sample network")
    tp = node.count if tp is None else inputs.positive_int("tp", tp)
    if tp > node.count:
        raise ValueError(f"tp={tp} exceeds the {node.count} accelerators of {node.name}")
    if args.model.heads % tp:
        raise ValueError(f"tp={tp} must divide {args.model.name}'s {args.model.heads} "
                         "attention heads")
    if node.intra_link is None and tp > 1:
        raise ValueError(f"{node.name} has no intra-node link to all-reduce over")
    inputs.peak_for(node.accelerator, args.precision.compute)
    return node, tp, args, build_plan(args, tp)


def solve_tensor_parallel(model, system, tp=None, batch_size=1, precision="fp16",
                          efficiency=None, seq_len=None, phase=None, memory_efficiency=None,
                          weight_precision=None, kv_precision=None, activation_precision=None,
                          launch_overhead=None, overlap_comm=0.0,
                          cost_model="per-operator") -> PerformanceResult:
    """One inference step of ``model`` split ``tp`` ways across the GPUs of ``system``."""
    cost_model = check_cost_model(cost_model)
    overlap = _overlap(overlap_comm)
    node, tp, args, plan = plan_tensor_parallel(model, system, tp, batch_size, precision,
                                                seq_len, phase, weight_precision, kv_precision,
                                                activation_precision)
    hw = node.accelerator
    rates = device_rates(hw, args.precision,
                         inputs.efficiencies(efficiency, memory_efficiency, launch_overhead),
                         node=node)
    times = step_times(plan, rates, cost_model, overlap)
    note = (f"Tensor parallelism over {tp} of {node.name}'s {node.count} GPUs; "
            + (f"{overlap:.0%} of the all-reduce time is assumed hidden under compute."
               if overlap else "all-reduces are not overlapped with compute."))
    return result_from(plan, times, rates, hw, args, capacity=hw.si.mem_capacity,
                       devices=tp, cost_model=cost_model, notes=(note,))


class TensorParallelModel:
    """Tensor-parallel inference across the accelerators of one node."""

    def solve(self, model, system, tp=None, batch_size=1, precision="fp16", efficiency=None,
              seq_len=None, phase=None, memory_efficiency=None, weight_precision=None,
              kv_precision=None, activation_precision=None, launch_overhead=None,
              overlap_comm=0.0, cost_model="per-operator") -> PerformanceResult:
        """See :func:`solve_tensor_parallel`."""
        return solve_tensor_parallel(model, system, tp, batch_size, precision, efficiency,
                                     seq_len, phase, memory_efficiency, weight_precision,
                                     kv_precision, activation_precision, launch_overhead,
                                     overlap_comm, cost_model)

"""Single-device roofline solver: ``SingleNodeModel().solve(...)`` and ``Engine.solve(...)``.

latency = max(t_compute, t_memory) + t_overhead, with t_compute = FLOPs / (peak · η_c),
t_memory = bytes / (BW · η_m) and t_overhead = layer dispatches × the device's per-layer
dispatch overhead (DESIGN.md §4). η_c and η_m default to the catalog's sourced achievable
fractions; ``efficiency=`` overrides η_c and ``memory_efficiency=`` η_m (1 gives the pure bound).
A footprint beyond the device's memory is reported as infeasible, with the numbers.
"""

from __future__ import annotations

from ..formatting import format_bytes
from ..physics.memory import devices_needed
from ..physics.roofline import roofline_times
from ..results import PerformanceResult
from . import inputs
from .costs import StepCost, inference_cost, training_cost


def step_cost(model, precision: str, batch_size: int, seq_len, phase, is_training: bool,
              recompute: bool = False) -> tuple[StepCost, int | None, str]:
    """Validate the workload arguments and return (cost, context, phase)."""
    bpe = inputs.precision_bytes(precision)
    batch = inputs.positive_int("batch_size", batch_size)
    context = inputs.context_for(model, seq_len)
    if is_training:
        if phase not in (None, "prefill"):
            raise ValueError("phase does not apply to training (is_training=True)")
        return training_cost(model, bpe, batch, context, recompute), context, "training"
    phase = inputs.phase_for(model, phase)
    return inference_cost(model, bpe, batch, context, phase), context, phase


def feasibility(cost: StepCost, capacity: float, devices: int = 1) -> tuple[bool, tuple]:
    """(feasible, trace): footprint against pooled capacity, with the numbers."""
    need = cost.footprint
    have = capacity * devices
    if need <= have:
        return True, ()
    parts = ", ".join(f"{name} {format_bytes(v)}" for name, v in (
        ("weights", cost.weights), ("KV cache", cost.kv_cache),
        ("activations", cost.activations), ("optimizer state", cost.optimizer)) if v)
    n = devices_needed(need, capacity)
    return False, (f"needs {format_bytes(need)} ({parts}), has {format_bytes(have)} "
                   f"(over by {format_bytes(need - have)}): at least {n} devices",)


def solve_roofline(model, hardware, batch_size=1, precision="fp16", efficiency=None,
                   seq_len=None, phase=None, is_training=False, memory_efficiency=None,
                   recompute=False) -> PerformanceResult:
    """Roofline latency of one step of ``model`` on one ``hardware`` device."""
    model = inputs.resolve_model(model)
    hw = inputs.resolve_hardware(hardware)
    si = hw.si
    peak = inputs.peak_for(hw, precision)
    eta_c = si.eta_compute if efficiency is None else inputs.fraction("efficiency", efficiency)
    eta_m = si.eta_memory if memory_efficiency is None else inputs.fraction(
        "memory_efficiency", memory_efficiency)
    cost, context, phase = step_cost(model, precision, batch_size, seq_len, phase, is_training,
                                     recompute)
    overhead = cost.dispatches * si.dispatch_overhead
    t_c, t_m, latency, bottleneck = roofline_times(cost.flops, cost.bytes, peak,
                                                   si.mem_bandwidth, eta_c, eta_m, overhead)
    feasible, trace = feasibility(cost, si.mem_capacity)
    return PerformanceResult(
        model=model.name, hardware=hw.name, precision=precision, batch_size=batch_size,
        seq_len=context, phase=phase, is_training=bool(is_training), flops=cost.flops,
        bytes_moved=cost.bytes, t_compute=t_c, t_memory=t_m, t_overhead=overhead,
        latency_s=latency, bottleneck=bottleneck, eta_compute=eta_c, eta_memory=eta_m,
        peak_flops_si=peak, footprint_parts=(
            ("weights", cost.weights), ("kv_cache", cost.kv_cache),
            ("activations", cost.activations), ("optimizer", cost.optimizer)),
        capacity_bytes=si.mem_capacity, units_per_step=cost.units, unit=cost.unit,
        tdp_w=si.tdp, feasible=feasible, constraint_trace=trace)


class SingleNodeModel:
    """Roofline model of one accelerator (stateless; call ``solve`` with keywords)."""

    def solve(self, model, hardware, batch_size=1, precision="fp16", efficiency=None,
              seq_len=None, phase=None, is_training=False, memory_efficiency=None,
              recompute=False) -> PerformanceResult:
        """See :func:`solve_roofline`."""
        return solve_roofline(model, hardware, batch_size, precision, efficiency, seq_len,
                              phase, is_training, memory_efficiency, recompute)


class Engine:
    """The default entry point: ``Engine.solve(model, hardware, batch_size=1, ...)``."""

    solve = staticmethod(solve_roofline)

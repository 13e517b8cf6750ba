"""The engine: one step of a workload on one device, costed operator by operator.

``Engine.solve(model, hardware, batch_size=1, precision="fp16", ...)`` builds the step's
operator plan (``ops_transformer`` / ``ops_sample``), the device's rates (``evaluate``), and runs
them through the one combinator. ``cost_model="roofline"`` is the single-number teaching model of
tutorial 00: the whole step as one lump of FLOPs and one lump of bytes, timed as
max(FLOPs / (peak·η_c), bytes / (BW·η_m)) plus the kernels' launch costs — the same plan and the
same combinator, with the operators merged into one.

η defaults come from the device's class calibration; ``efficiency=`` makes every kernel run at
that fraction of peak and ``memory_efficiency=`` at that fraction of bandwidth (1 and 1 give the
pure bound; ``launch_overhead="0 s"`` removes launch costs). A footprint beyond the device's
usable memory is reported as infeasible, with the numbers.
"""

from __future__ import annotations

import numpy as np

from ..constraints import memory_constraint
from ..physics.combine import bottleneck_of, combine
from ..results import PerformanceResult
from ..specs.workload import TransformerWorkload
from ..vocabulary import Bottleneck
from . import inputs
from .evaluate import DeviceRates, device_rates, evaluate
from .ops_sample import sample_plan
from .ops_transformer import transformer_plan
from .plan import OperatorPlan

COST_MODELS = ("per-operator", "roofline")


_PLANS: dict = {}  # scalar plans by step: a plan does not depend on the hardware
_PLANS_MAX = 1024


def build_plan(args: inputs.WorkloadArgs, tp: int = 1, grid_shape=(), *, stage=None
               ) -> OperatorPlan:
    """The operator plan of a validated step (per device when split ``tp`` ways).

    ``stage`` — a dict of ``transformer_plan``'s stage keywords (``layers``, ``first_stage``,
    ``last_stage``, ``optimizer_step``, ``recompute``, ``ep``) — makes it one pipeline
    stage's step; None is the whole model.
    Scalar plans are immutable and kept by step (model, batch, context, phase, precisions,
    recomputation, tp, stage), so solving the same step on several devices, or perturbing
    the hardware for sensitivity, builds its operators once."""
    if (tp > 1 or stage) and not isinstance(args.model, TransformerWorkload):
        raise ValueError(f"tensor and pipeline parallelism here split transformer layers; "
                         f"{args.model.name} is a per-sample network")
    key = None
    if not grid_shape and isinstance(args.batch, int):
        key = (id(args.model), args.batch, args.context, args.phase, args.precision,
               args.recompute, tp, args.query_len, args.last_logit_only, args.fused)
        if stage:
            key += tuple(sorted(stage.items()))
        hit = _PLANS.get(key)
        if hit is not None and hit[0] is args.model:
            return hit[1]
    if isinstance(args.model, TransformerWorkload):
        plan = transformer_plan(args, tp, grid_shape, **(stage or {}))
    else:
        plan = sample_plan(args, grid_shape)
    if key is not None:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        _PLANS[key] = (args.model, plan.frozen())
    return plan


def roofline_times(plan: OperatorPlan, rates: DeviceRates):
    """The teaching model: the plan merged into one operator, through the same combinator."""
    peak = rates.gemm_peak * rates.gemm_ceiling
    flops, nbytes = np.asarray(plan.total_flops), np.asarray(plan.total_bytes)
    return combine(np.ones(1), flops[None, ...], nbytes[None, ...], peak,
                   rates.achievable_bandwidth, 0.0, plan.kernels * rates.launch)


def step_times(plan: OperatorPlan, rates: DeviceRates, cost_model: str = "per-operator",
               overlap: float = 0.0):
    """Step times under the chosen cost model."""
    if cost_model == "roofline":
        return roofline_times(plan, rates)
    return evaluate(plan, rates, overlap)


def check_cost_model(cost_model) -> str:
    if cost_model not in COST_MODELS:
        raise ValueError(f"cost_model must be one of {', '.join(COST_MODELS)}; "
                         f"got {cost_model!r}")
    return cost_model


def result_from(plan: OperatorPlan, times, rates: DeviceRates, hw, args, *, capacity: float,
                devices: int = 1, cost_model: str = "per-operator", label: str | None = None,
                notes: tuple[str, ...] = ()) -> PerformanceResult:
    """Assemble a PerformanceResult from a scalar plan and its times."""
    shares = {k: float(v) for k, v in times.shares.items()}
    bottleneck = Bottleneck(bottleneck_of(*shares.values()))
    trace = memory_constraint(plan.footprint, capacity, devices)
    m = args.model
    return PerformanceResult(
        model=m.name, hardware=label or hw.name, precision=args.precision.label(),
        batch_size=args.batch, seq_len=args.context, phase=args.phase,
        is_training=args.is_training, flops=plan.total_flops * devices,
        bytes_moved=plan.total_bytes * devices, t_compute=float(times.compute_bill),
        t_memory=float(times.memory_bill),
        t_overhead=shares["Overhead"], latency_s=float(times.latency), bottleneck=bottleneck,
        eta_compute=rates.gemm_ceiling, eta_memory=rates.eta_memory,
        peak_flops_si=rates.gemm_peak,
        footprint_parts=tuple((k, float(v) * devices) for k, v in plan.footprint.items()),
        capacity_bytes=capacity, units_per_step=float(plan.units), unit=plan.unit,
        tdp_w=hw.si.tdp, feasible=not trace, constraint_trace=trace, devices=devices,
        t_communication=shares["Communication"], resource_seconds=tuple(shares.items()),
        steps=(plan, times) if cost_model == "per-operator" else (), cost_model=cost_model,
        notes=notes)


def solve_device(model, hardware, batch_size=1, precision="fp16", efficiency=None,
                 seq_len=None, phase=None, is_training=False, memory_efficiency=None,
                 recompute=False, weight_precision=None, kv_precision=None,
                 activation_precision=None, launch_overhead=None,
                 cost_model="per-operator") -> PerformanceResult:
    """One step of ``model`` on one ``hardware`` device (see the module docstring)."""
    cost_model = check_cost_model(cost_model)
    args = inputs.workload_args(model, batch_size, seq_len, phase, precision, is_training,
                                recompute, weight_precision, kv_precision,
                                activation_precision)
    hw = inputs.resolve_hardware(hardware)
    effs = inputs.efficiencies(efficiency, memory_efficiency, launch_overhead)
    rates = device_rates(hw, args.precision, effs)
    plan = build_plan(args)
    times = step_times(plan, rates, cost_model)
    return result_from(plan, times, rates, hw, args, capacity=hw.si.mem_capacity,
                       cost_model=cost_model)


class SingleNodeModel:
    """One accelerator, costed operator by operator (stateless; call ``solve`` with keywords)."""

    def solve(self, model, hardware, batch_size=1, precision="fp16", efficiency=None,
              seq_len=None, phase=None, is_training=False, memory_efficiency=None,
              recompute=False, weight_precision=None, kv_precision=None,
              activation_precision=None, launch_overhead=None,
              cost_model="per-operator") -> PerformanceResult:
        """See :func:`solve_device`."""
        return solve_device(model, hardware, batch_size, precision, efficiency, seq_len,
                            phase, is_training, memory_efficiency, recompute,
                            weight_precision, kv_precision, activation_precision,
                            launch_overhead, cost_model)


class Engine:
    """The default entry point: ``Engine.solve(model, hardware, batch_size=1, ...)``."""

    solve = staticmethod(solve_device)

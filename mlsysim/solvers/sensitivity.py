"""Sensitivity (elasticities of latency to hardware parameters) and its inverse, synthesis.

Elasticity e_p = ∂ln T/∂ln p by central difference (p × (1 ± 1 %)). The step's FLOPs and bytes
do not depend on the hardware, so each perturbation re-evaluates only the closed-form latency:
a solve costs microseconds. A memory-bound decode gives e ≈ −1 for bandwidth and 0 for FLOP/s.
Capacity never changes latency (e = 0); it decides feasibility, which the result reports.
"""

from __future__ import annotations

import math

from ..results_analysis import SensitivityResult, SynthesisResult
from ..specs.system import NodeSpec
from . import inputs
from .roofline import solve_roofline, step_cost
from .tensor_parallel import link_of, plan_tensor_parallel, solve_tensor_parallel
from .weight_streaming import LayerCosts, solve_weight_streaming

STEP = 0.01
TIE = 0.02  # elasticities closer than this are reported as a tie


def _elasticity(latency_of, value: float) -> float:
    up, down = latency_of(value * (1 + STEP)), latency_of(value * (1 - STEP))
    return (math.log(up) - math.log(down)) / (math.log(1 + STEP) - math.log(1 - STEP))


def _device_or_node(name: str):
    """A catalog device or node by name; an unknown name lists close matches of both."""
    from ..catalog import Hardware, Systems
    from ..errors import UnknownNameError

    for registry in (Hardware, Systems):
        if name in registry:
            return registry.get(name)
    raise UnknownNameError("hardware or node", name,
                           Hardware.names(include_aliases=True) + Systems.names())


def binding(sensitivities: dict[str, float]) -> str:
    """Largest |elasticity|; ties and the all-zero case are named as such."""
    ranked = sorted(sensitivities.items(), key=lambda kv: -abs(kv[1]))
    if not ranked or abs(ranked[0][1]) < 1e-3:
        return "none (latency does not depend on these parameters)"
    top = [k for k, v in ranked if abs(abs(v) - abs(ranked[0][1])) < TIE]
    return top[0] if len(top) == 1 else " = ".join(top) + " (tie)"


class SensitivitySolver:
    """Which hardware parameter binds? Elasticities for a roofline or weight-streaming step."""

    def solve(self, model, hardware, precision="fp16", batch_size=1, seq_len=None, phase=None,
              is_training=False, efficiency=None, tp=None) -> SensitivityResult:
        """``hardware`` is a device (roofline, or weight streaming on a wafer) or a node
        (tensor parallelism over its GPUs, ``tp`` ways; adds the interconnect parameters)."""
        if isinstance(hardware, str):
            hardware = _device_or_node(hardware)
        if isinstance(hardware, NodeSpec):
            if is_training:
                raise ValueError("sensitivity of a tensor-parallel node covers inference only")
            return self._tensor_parallel(model, hardware, precision, batch_size, seq_len,
                                         phase, efficiency, tp)
        if tp is not None:
            raise ValueError("tp applies to a node (e.g. mlsysim.Systems.DGX_H100), not to "
                             "a single device")
        hw = inputs.resolve_hardware(hardware)
        model = inputs.resolve_model(model)
        if hw.wafer is not None and not is_training:
            return self._weight_streaming(model, hw, precision, batch_size, seq_len, phase,
                                          efficiency)
        return self._roofline(model, hw, precision, batch_size, seq_len, phase, is_training,
                              efficiency)

    @staticmethod
    def _roofline(model, hw, precision, batch_size, seq_len, phase, is_training, efficiency):
        base = solve_roofline(model, hw, batch_size, precision, efficiency, seq_len, phase,
                              is_training)
        cost, _, _ = step_cost(model, precision, batch_size, seq_len, phase, is_training)
        si = hw.si
        peak, bw, eta_c, eta_m = base.peak_flops_si, si.mem_bandwidth, base.eta_compute, \
            base.eta_memory
        per = si.dispatch_overhead

        def latency(p=peak, b=bw, o=per):
            return max(cost.flops / (p * eta_c), cost.bytes / (b * eta_m)) + cost.dispatches * o

        sens = {"peak_flops": _elasticity(lambda v: latency(p=v), peak),
                "memory_bandwidth": _elasticity(lambda v: latency(b=v), bw),
                "memory_capacity": 0.0}
        if per > 0:
            sens["dispatch_overhead"] = _elasticity(lambda v: latency(o=v), per)
        notes = ("Capacity does not change latency; it decides whether the step fits.",)
        return SensitivityResult(model=base.model, hardware=base.hardware, solver="roofline",
                                 baseline_latency_s=base.latency_s, sensitivities=sens,
                                 binding_constraint=binding(sens), feasible=base.feasible,
                                 constraint_trace=base.constraint_trace, notes=notes)

    @staticmethod
    def _tensor_parallel(model, system, precision, batch_size, seq_len, phase, efficiency, tp):
        base = solve_tensor_parallel(model, system, tp, batch_size, precision, efficiency,
                                     seq_len, phase)
        plan = plan_tensor_parallel(model, system, tp, batch_size, precision, seq_len, phase)
        si = plan.node.accelerator.si
        peak, bw, per = base.peak_flops_si, si.mem_bandwidth, si.dispatch_overhead
        beta, alpha = link_of(plan.node)
        eta_c, eta_m = base.eta_compute, base.eta_memory

        def latency(p=peak, b=bw, lb=beta, la=alpha, o=per):
            t_c, t_m, t_comm, t_o = plan.latency_terms(p, b, eta_c, eta_m, lb, la, o)
            return max(t_c, t_m) + t_comm + t_o

        sens = {"peak_flops": _elasticity(lambda v: latency(p=v), peak),
                "memory_bandwidth": _elasticity(lambda v: latency(b=v), bw),
                "memory_capacity": 0.0}
        if plan.tp > 1:
            sens["interconnect_bandwidth"] = _elasticity(lambda v: latency(lb=v), beta)
            if alpha > 0:
                sens["interconnect_latency"] = _elasticity(lambda v: latency(la=v), alpha)
        if per > 0:
            sens["dispatch_overhead"] = _elasticity(lambda v: latency(o=v), per)
        notes = (f"Tensor parallelism over {plan.tp} devices of {plan.node.name}; all-reduces "
                 "are not overlapped with compute. Capacity does not change latency; it "
                 "decides whether the step fits.",)
        return SensitivityResult(model=base.model, hardware=f"{plan.tp} × {base.hardware}",
                                 solver="tensor parallel", baseline_latency_s=base.latency_s,
                                 sensitivities=sens, binding_constraint=binding(sens),
                                 feasible=base.feasible, constraint_trace=base.constraint_trace,
                                 notes=notes)

    @staticmethod
    def _weight_streaming(model, hw, precision, batch_size, seq_len, phase, efficiency):
        base = solve_weight_streaming(model, hw, seq_len, batch_size, precision,
                                      phase or "decode", efficiency)
        lc = LayerCosts(model, inputs.precision_bytes(precision), base.seq_len, base.phase)
        si = hw.si
        peak = inputs.peak_for(hw, precision)
        eta_c = si.eta_compute if efficiency is None else efficiency
        inj, per = si.injection_bandwidth, si.dispatch_overhead

        def latency(p=peak, i=inj, o=per):
            t_c = base.batch_size * lc.flops_per_seq / (p * eta_c)
            return lc.layers * (max(t_c, lc.layer_bytes / i) + o)

        sens = {"peak_flops": _elasticity(lambda v: latency(p=v), peak),
                "injection_bandwidth": _elasticity(lambda v: latency(i=v), inj),
                "sram_capacity": 0.0}
        if per > 0:
            sens["dispatch_overhead"] = _elasticity(lambda v: latency(o=v), per)
        notes = ("SRAM capacity does not change step latency; it caps the batch "
                 f"(ceiling {base.sram_batch_limit:,} sequences here).",)
        return SensitivityResult(model=base.model, hardware=base.hardware,
                                 solver="weight streaming",
                                 baseline_latency_s=base.step_latency_s, sensitivities=sens,
                                 binding_constraint=binding(sens), feasible=base.feasible,
                                 constraint_trace=base.constraint_trace, notes=notes + base.notes)


class SynthesisSolver:
    """Inverse roofline: the minimum FLOP/s, bandwidth and capacity that meet a target."""

    def solve(self, model, target_latency=None, target_throughput=None, batch_size=1,
              precision="fp16", seq_len=None, phase=None, efficiency=1.0,
              memory_efficiency=1.0, overhead="0 s") -> SynthesisResult:
        from ..catalog import Hardware

        model = inputs.resolve_model(model)
        cost, _, phase = step_cost(model, precision, batch_size, seq_len, phase, False)
        if (target_latency is None) == (target_throughput is None):
            raise ValueError("give exactly one of target_latency (e.g. '50 ms') or "
                             "target_throughput (e.g. '100 token/s')")
        if target_latency is not None:
            target = _si("target_latency", target_latency, "s")
        else:
            rate = _si("target_throughput", target_throughput, f"{cost.unit}/s")
            target = cost.units / rate
        eta_c = inputs.fraction("efficiency", efficiency)
        eta_m = inputs.fraction("memory_efficiency", memory_efficiency)
        budget = target - cost.dispatches * _si("overhead", overhead, "s", allow_zero=True)
        if budget <= 0:
            raise ValueError("overhead alone exceeds the target latency")
        candidates = []
        for hw in Hardware.all():
            if precision not in hw.si.flops or hw.wafer is not None:
                continue
            r = solve_roofline(model, hw, batch_size, precision, None, seq_len, phase)
            if r.feasible and r.latency_s <= target:
                candidates.append(hw.key)
        assumptions = (f"Compute at {eta_c:.0%} and memory at {eta_m:.0%} of peak; both times "
                       "must fit in the target (the slower one sets latency). Candidates are "
                       "judged with each device's own catalog efficiencies and overheads; "
                       "wafer-scale devices are not candidates (their weight-streaming "
                       "model differs).")
        return SynthesisResult(
            model=model.name, target_latency_s=target,
            required_flops_si=cost.flops / (budget * eta_c),
            required_bandwidth_si=cost.bytes / (budget * eta_m),
            required_capacity_si=cost.footprint, assumptions=assumptions,
            candidates=tuple(candidates))


def _si(name: str, value, unit: str, allow_zero: bool = False) -> float:
    """``value`` (a Quantity or a string such as '50 ms') as a float in ``unit``."""
    from ..units import parse_quantity

    try:
        magnitude = float(parse_quantity(value).to(unit).magnitude)
    except Exception:
        raise ValueError(f"{name} must be a quantity in {unit} (e.g. '50 ms'), got "
                         f"{value!r}") from None
    if magnitude < 0 or (magnitude == 0 and not allow_zero) or not math.isfinite(magnitude):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, "
                         f"got {value!r}")
    return magnitude

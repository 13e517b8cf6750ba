"""Sensitivity (elasticities of step latency to hardware parameters) and its inverse, synthesis.

Elasticity e_p = ∂ln T/∂ln p by central difference (p × (1 ± 1 %)). The step's operator plan
does not depend on the hardware, so each perturbation scales one field of the device's rates
and re-evaluates the *same plan* through the one combinator: no latency formula is written
here. A memory-bound decode gives e ≈ −1 for bandwidth and 0 for FLOP/s. Capacity never
changes latency (e = 0); it decides feasibility, which the result reports.
"""

from __future__ import annotations

import math

from ..results_analysis import SensitivityResult, SynthesisResult
from . import inputs
from .dispatch import DEVICE, NODE, WAFER, resolve_target
from .engine import build_plan, result_from, step_times
from .evaluate import device_rates, evaluate
from .tensor_parallel import plan_tensor_parallel
from .wafer import (
    _streaming,
    resident_by_default,
    resident_rates,
    solve_weight_streaming,
    solve_weights_resident,
    wafer_device,
)

STEP = 0.01
TIE = 0.02  # elasticities closer than this are reported as a tie

#: parameter name → the DeviceRates field its perturbation scales
PARAMETERS = {"peak_flops": "peak", "memory_bandwidth": "bandwidth",
              "dispatch_overhead": "launch", "interconnect_bandwidth": "link_bandwidth",
              "interconnect_latency": "link_latency",
              "injection_bandwidth": "transfer_bandwidth",
              "wafer_latency": "link_latency"}


def elasticity(latency_of, step: float = STEP) -> float:
    """∂ln T/∂ln p from T(p·(1 + step)) and T(p·(1 − step)); ``latency_of(factor)``."""
    up, down = latency_of(1 + step), latency_of(1 - step)
    return (math.log(up) - math.log(down)) / (math.log(1 + step) - math.log(1 - step))


def binding(sensitivities: dict[str, float]) -> str:
    """Largest |elasticity|; ties and the all-zero case are named as such."""
    ranked = sorted(sensitivities.items(), key=lambda kv: -abs(kv[1]))
    if not ranked or abs(ranked[0][1]) < 1e-3:
        return "none (latency does not depend on these parameters)"
    top = [k for k, v in ranked if abs(abs(v) - abs(ranked[0][1])) < TIE]
    return top[0] if len(top) == 1 else " = ".join(top) + " (tie)"


def elasticities(plan, rates, names, overlap: float = 0.0, cost_model="per-operator"):
    """{name: elasticity} for the rate fields ``names`` (keys of PARAMETERS)."""
    def latency(field, factor):
        return float(step_times(plan, rates.scaled(**{field: factor}), cost_model,
                                overlap).latency)
    return {name: elasticity(lambda f, fld=PARAMETERS[name]: latency(fld, f))
            for name in names}


class SensitivitySolver:
    """Which hardware parameter binds? Elasticities for a device, a node or a wafer."""

    def solve(self, model, hardware, precision="fp16", batch_size=1, seq_len=None, phase=None,
              is_training=False, efficiency=None, tp=None, wafers=None) -> SensitivityResult:
        """``hardware`` is a device, a wafer-scale device or a node (tensor parallelism over
        its GPUs, ``tp`` ways; adds the interconnect parameters). On a wafer the weights stay
        resident in the SRAM of ``wafers`` wafers (adds ``wafer_latency``: the fixed time of
        each layer crossing and wafer hop); without ``wafers``, resident on one wafer when they
        fit it (as the CLI's eval does), else streamed through the injection link."""
        kind, spec = resolve_target(hardware)
        if wafers is not None and kind != WAFER:
            raise ValueError(f"wafers applies to a wafer-scale device, not to {spec.name}")
        if kind == NODE:
            if inputs.flag("is_training", is_training):
                raise ValueError("sensitivity of a tensor-parallel node covers inference only")
            return self._node(model, spec, precision, batch_size, seq_len, phase, efficiency,
                              tp)
        if tp is not None:
            raise ValueError("tp applies to a node (e.g. mlsysim.Systems.DGX_H100), not to "
                             "a single device")
        if kind == WAFER and not inputs.flag("is_training", is_training):
            if wafers is None and resident_by_default(model, spec, batch_size, seq_len, phase,
                                                      precision):
                wafers = 1
            if wafers is not None:
                return _resident_sensitivity(model, spec, precision, batch_size, seq_len,
                                             phase, efficiency, wafers)
            return self._wafer(model, spec, precision, batch_size, seq_len, phase, efficiency)
        assert kind in (DEVICE, WAFER)
        return self._device(model, spec, precision, batch_size, seq_len, phase, is_training,
                            efficiency)

    @staticmethod
    def _device(model, hw, precision, batch_size, seq_len, phase, is_training, efficiency):
        args = inputs.workload_args(model, batch_size, seq_len, phase, precision, is_training)
        rates = device_rates(hw, args.precision, inputs.efficiencies(efficiency))
        plan = build_plan(args)
        times = evaluate(plan, rates)
        base = result_from(plan, times, rates, hw, args, capacity=hw.si.mem_capacity)
        names = ["peak_flops", "memory_bandwidth"] + (["dispatch_overhead"]
                                                      if rates.launch > 0 else [])
        sens = elasticities(plan, rates, names)
        sens = {**sens, "memory_capacity": 0.0}
        return _result(base.model, base.hardware, "per-operator", base, sens,
                       ("Capacity does not change latency; it decides whether the step fits.",))

    @staticmethod
    def _node(model, system, precision, batch_size, seq_len, phase, efficiency, tp):
        node, tp, args, plan = plan_tensor_parallel(model, system, tp, batch_size, precision,
                                                    seq_len, phase)
        hw = node.accelerator
        rates = device_rates(hw, args.precision, inputs.efficiencies(efficiency), node=node)
        times = evaluate(plan, rates)
        base = result_from(plan, times, rates, hw, args, capacity=hw.si.mem_capacity,
                           devices=tp)
        names = ["peak_flops", "memory_bandwidth"]
        if tp > 1:
            names += ["interconnect_bandwidth", "interconnect_latency"]
        if rates.launch > 0:
            names.append("dispatch_overhead")
        sens = {**elasticities(plan, rates, names), "memory_capacity": 0.0}
        notes = (f"Tensor parallelism over {tp} devices of {node.name}; all-reduces are not "
                 "overlapped with compute. Capacity does not change latency; it decides "
                 "whether the step fits.",)
        return _result(base.model, f"{tp} × {base.hardware}", "tensor parallel", base, sens,
                       notes)

    @staticmethod
    def _wafer(model, hw, precision, batch_size, seq_len, phase, efficiency):
        base = solve_weight_streaming(model, hw, seq_len, batch_size, precision,
                                      phase, efficiency)
        args = inputs.workload_args(model, batch_size, seq_len, phase, precision)
        plan, rates, _ = _streaming(args, wafer_device(hw), efficiency)
        names = ["peak_flops", "injection_bandwidth"] + (["dispatch_overhead"]
                                                         if rates.launch > 0 else [])
        sens = {**elasticities(plan, rates, names, overlap=1.0), "sram_capacity": 0.0}
        notes = ("SRAM capacity does not change step latency; it caps the batch "
                 f"(ceiling {base.sram_batch_limit:,} sequences here).", *base.notes)
        return SensitivityResult(model=base.model, hardware=base.hardware,
                                 solver="weight streaming",
                                 baseline_latency_s=base.step_latency_s, sensitivities=sens,
                                 binding_constraint=binding(sens), feasible=base.feasible,
                                 constraint_trace=base.constraint_trace, notes=notes)


def _resident_sensitivity(model, hw, precision, batch_size, seq_len, phase, efficiency,
                          wafers) -> SensitivityResult:
    base = solve_weights_resident(model, hw, seq_len, batch_size, precision, phase,
                                  efficiency, wafers)
    plan, _ = base.steps
    args = inputs.workload_args(model, batch_size, seq_len, phase, precision)
    rates = resident_rates(wafer_device(hw), args, efficiency)
    names = ["peak_flops", "memory_bandwidth", "wafer_latency"]
    if "wafer_hop" in plan.names:
        names.append("injection_bandwidth")
    if rates.launch > 0:
        names.append("dispatch_overhead")
    sens = {**elasticities(plan, rates, names), "sram_capacity": 0.0}
    notes = ("Weights resident in SRAM; memory_bandwidth is the SRAM's. wafer_latency scales "
             "the fixed time of every layer crossing and wafer-to-wafer hop. SRAM capacity "
             "does not change latency; it decides how many wafers the model needs.",)
    return _result(base.model, f"{base.devices} × {base.hardware}", "weights resident", base,
                   sens, notes)


def _result(model, hardware, solver, base, sens, notes) -> SensitivityResult:
    return SensitivityResult(model=model, hardware=hardware, solver=solver,
                             baseline_latency_s=base.latency_s, sensitivities=sens,
                             binding_constraint=binding(sens), feasible=base.feasible,
                             constraint_trace=base.constraint_trace, notes=notes)


class SynthesisSolver:
    """Inverse engine: the FLOP/s, bandwidth and capacity a step needs to meet a target.

    The requirement is stated against the step's operator plan: every FLOP at the stated
    fraction of peak and every byte at the stated fraction of bandwidth must fit in the target
    once the step's launch costs are paid."""

    def solve(self, model, target_latency=None, target_throughput=None, batch_size=1,
              precision="fp16", seq_len=None, phase=None, efficiency=1.0,
              memory_efficiency=1.0, overhead="0 s") -> SynthesisResult:
        from ..catalog import Hardware

        args = inputs.workload_args(model, batch_size, seq_len, phase, precision)
        plan = build_plan(args)
        if (target_latency is None) == (target_throughput is None):
            raise ValueError("give exactly one of target_latency (e.g. '50 ms') or "
                             "target_throughput (e.g. '100 token/s')")
        if target_latency is not None:
            target = inputs.seconds("target_latency", target_latency)
        else:
            rate = inputs.seconds("target_throughput", target_throughput,
                                  unit=f"{plan.unit}/s")
            target = float(plan.units) / rate
        eta_c = inputs.fraction("efficiency", efficiency)
        eta_m = inputs.fraction("memory_efficiency", memory_efficiency)
        per_kernel = inputs.seconds("overhead", overhead, allow_zero=True)
        budget = target - plan.kernels * per_kernel
        if budget <= 0:
            raise ValueError(f"launch overhead alone ({plan.kernels:.0f} kernels × "
                             f"{per_kernel:.3g} s) exceeds the target latency")
        candidates = []
        for hw in Hardware.all():
            if args.precision.compute not in hw.si.flops or hw.wafer is not None:
                continue
            rates = device_rates(hw, args.precision, inputs.efficiencies())
            fits = plan.footprint_bytes <= hw.si.mem_capacity
            if fits and float(evaluate(plan, rates).latency) <= target:
                candidates.append(hw.key)
        assumptions = (f"Compute at {eta_c:.0%} and memory at {eta_m:.0%} of peak, "
                       f"{plan.kernels:.0f} kernels at {per_kernel * 1e6:.3g} µs each; each "
                       "bill must fit in the target on its own (the slower one sets latency). "
                       "Candidates are judged with the engine and each device's own catalog "
                       "calibration; wafer-scale devices are not candidates.")
        return SynthesisResult(
            model=args.model.name, target_latency_s=target,
            required_flops_si=plan.total_flops / (budget * eta_c),
            required_bandwidth_si=plan.total_bytes / (budget * eta_m),
            required_capacity_si=plan.footprint_bytes, assumptions=assumptions,
            candidates=tuple(candidates))


__all__ = ["SensitivitySolver", "SynthesisSolver", "binding", "elasticity"]

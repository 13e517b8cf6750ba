"""Wafer-scale engines (Cerebras CS-2/CS-3): weight streaming and weights-resident mode.

Both run the engine's operator plan of the step on the wafer, whose "memory" is its on-wafer
SRAM (activations and KV cache live there), through the one combinator:

* **Weight streaming** — weights live in external memory (MemoryX) and are injected layer by
  layer. The plan gains one transfer per layer (that layer's weights over the injection link),
  overlapped with the layer's compute (overlap = 1, stated): a layer takes max(compute,
  injection). B* is the batch at which compute catches up with injection; the SRAM must hold
  the batch's KV cache and activations plus two layers of weights (double buffering), which caps
  the batch. The optimal batch is the smallest that reaches the best feasible throughput:
  min(⌈B*⌉, SRAM ceiling), with the limiting wall named.
* **Weights-resident** — weights stay in SRAM, across as many wafers as they need (layers split
  evenly, wafer to wafer). By default one batch is in flight: throughput is batch / latency.
  ``in_flight=k`` (at most the number of wafers) pipelines k batches through the wafers: each
  wafer holds the KV cache of all k for its layers, a token's latency is unchanged, and a batch
  completes every max(latency / k, busiest wafer's time). A token crosses every layer's region
  of the wafer (``wafer.layer_latency`` per layer, scaled with the square root of the layer's
  bytes: the linear size of the region it occupies) and every wafer boundary
  (``wafer.hop_latency`` plus its activations over the I/O link).
  No weights cross the injection link.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..constraints import Constraint
from ..results_wafer import WeightStreamingResult
from ..specs.workload import TransformerWorkload
from ..vocabulary import OpKind, Phase
from . import inputs
from .engine import build_plan, result_from
from .evaluate import device_rates, evaluate
from .plan import OperatorList, OperatorPlan

COMPUTE, INJECTION, OVERHEAD = "Compute", "Injection", "Overhead"


def wafer_device(hardware):
    hw = inputs.resolve_hardware(hardware)
    if hw.wafer is None or hw.sram is None:
        raise ValueError(f"{hw.name} is not a weight-streaming (wafer-scale) device: it has no "
                         "wafer/sram fields; use SingleNodeModel or Engine.solve for it")
    return hw


def _transformer_args(model, batch_size, seq_len, phase, precision):
    args = inputs.workload_args(model, batch_size, seq_len, phase, precision)
    if not isinstance(args.model, TransformerWorkload):
        raise ValueError(f"the wafer solvers model transformer layers with a KV cache; "
                         f"{args.model.name} is a per-sample network (use Engine.solve)")
    return args


def _with_ops(plan: OperatorPlan, extra: OperatorList) -> OperatorPlan:
    """``plan`` (scalar) with the operators of ``extra`` appended."""
    more = extra.arrays()
    fields = {name: getattr(plan, name) + more[name] for name in ("names", "kinds", "peaks")}
    for name in ("peak_code", "memory_code", "kernel", "count", "groups", "streams_kv",
                 "latency", "flops", "bytes", "rows", "weight_bytes", "message"):
        fields[name] = np.concatenate([getattr(plan, name), more[name]])
    return OperatorPlan(**fields, has_link=plan.has_link or more["has_link"], phase=plan.phase,
                        unit=plan.unit, units=plan.units, footprint=plan.footprint,
                        precision=plan.precision, devices=plan.devices, notes=plan.notes)


_STREAMING: dict = {}  # (step, wafer) → (plan, rates, layer bytes): plans are immutable


def _streaming(args, hw, efficiency):
    """(plan with injections, rates, layer bytes) of a weight-streaming step."""
    key = (id(args.model), args.batch, args.context, args.phase, args.precision, id(hw),
           efficiency)
    hit = _STREAMING.get(key)
    if hit is not None and hit[0] is args.model and hit[1] is hw:
        return hit[2]
    rates = replace(device_rates(hw, args.precision, inputs.efficiencies(efficiency)),
                    transfer_bandwidth=hw.si.injection_bandwidth)
    m = args.model
    layer_bytes = m.si.params * args.precision.weight_bytes / m.layers
    extra = OperatorList()
    extra.add("weight_injection", OpKind.TRANSFER, m.layers, 0.0, 0.0, message=layer_bytes)
    value = (_with_ops(build_plan(args), extra).frozen(), rates, layer_bytes)
    if len(_STREAMING) > 512:
        _STREAMING.clear()
    _STREAMING[key] = (args.model, hw, value)
    return value


_ONE_SEQUENCE: dict = {}


def _layer_time_of_one_sequence(args, hw, efficiency) -> float:
    """Device time of one layer for one sequence (s): B* = injection time / this."""
    key = (id(args.model), args.context, args.phase, args.precision, id(hw), efficiency)
    hit = _ONE_SEQUENCE.get(key)
    if hit is not None and hit[0] is args.model and hit[1] is hw:
        return hit[2]
    one = inputs.WorkloadArgs(model=args.model, batch=1, context=args.context,
                              phase=args.phase, precision=args.precision)
    plan, rates, _ = _streaming(one, hw, efficiency)
    times = evaluate(plan, rates, overlap=1.0)
    value = float(times.compute + times.memory) / args.model.layers
    if len(_ONE_SEQUENCE) > 512:
        _ONE_SEQUENCE.clear()
    _ONE_SEQUENCE[key] = (args.model, hw, value)
    return value


def solve_weight_streaming(model, hardware, seq_len=None, batch_size=1, precision="fp16",
                           phase=None, efficiency=None) -> WeightStreamingResult:
    """Weight-streaming step of ``model`` on a wafer-scale ``hardware`` (see module docs)."""
    hw = wafer_device(hardware)
    args = _transformer_args(model, batch_size, seq_len, phase, precision)
    inputs.peak_for(hw, args.precision.compute)
    plan, rates, layer_bytes = _streaming(args, hw, efficiency)
    times = evaluate(plan, rates, overlap=1.0)
    layers = args.model.layers
    inject = plan.index("weight_injection")
    t_inject = float(times.t_link[inject])
    device = float(times.compute + times.memory)
    t_layer = device / layers
    overhead = float(times.overhead) / layers
    if overhead > t_inject and overhead > t_layer:
        bottleneck = OVERHEAD
    else:
        bottleneck = COMPUTE if t_layer >= t_inject else INJECTION

    b_star = t_inject / _layer_time_of_one_sequence(args, hw, efficiency)

    per_seq = (plan.footprint["kv_cache"] + plan.footprint["activations"]) / args.batch
    buffers = 2.0 * layer_bytes
    sram = hw.si.sram_capacity
    sram_used = buffers + args.batch * per_seq
    sram_limit = max(0, math.floor((sram - buffers) / per_seq))
    best = max(1, math.ceil(b_star - 1e-9))
    if sram_limit < 1:
        optimal, wall = 0, "SRAM capacity: batch 1 does not fit"
    elif sram_limit < best:
        optimal, wall = sram_limit, "SRAM capacity"
    else:
        optimal, wall = best, "compute: injection fully hidden at B*"

    trace = []
    if sram_used > sram:
        trace.append(Constraint(
            "SRAM", sram_used, sram, None,
            (("KV cache and activations", args.batch * per_seq), ("2 layers of weights",
                                                                   buffers)),
            detail=f"at most {sram_limit:,} sequences fit", unit="bytes"))
    weights_total = layer_bytes * layers
    external = hw.si.external_capacity
    if weights_total > external:
        trace.append(Constraint(f"{hw.wafer.external_memory} capacity", weights_total,
                                external))
    notes = []
    estimate = hw.estimate_notes.get("wafer.injection_bandwidth")
    if estimate is not None:
        notes.append("The injection bandwidth is an estimate (not published by the vendor): "
                     f"{estimate}")
    return WeightStreamingResult(
        model=args.model.name, hardware=hw.name, precision=args.precision.label(),
        batch_size=args.batch, seq_len=args.context, phase=args.phase, layers=layers,
        t_layer_compute=t_layer, t_layer_injection=t_inject, t_layer_overhead=overhead,
        bottleneck=bottleneck, units_per_step=float(plan.units), sram_bytes_used=sram_used,
        sram_capacity=sram, b_star=b_star, sram_batch_limit=sram_limit,
        optimal_batch_size=optimal, limiting_wall=wall, feasible=not trace,
        constraint_trace=tuple(trace), step_seconds=float(times.latency),
        steps=(plan, times), notes=tuple(notes))


def resident_by_default(model, hardware, batch_size=1, seq_len=None, phase=None,
                        precision="fp16") -> bool:
    """The default wafer mode, in one place: weights resident when they (and the step's KV
    cache and activations) fit one wafer's SRAM, else weight streaming."""
    args = _transformer_args(model, batch_size, seq_len, phase, precision)
    return wafers_needed(args, wafer_device(hardware)) == 1


def wafers_needed(args, hw, in_flight: int = 1) -> int:
    """Wafers whose SRAM holds the weights once each wafer's share of the KV cache and
    activations of ``in_flight`` batches is set aside (at least 1)."""
    plan = build_plan(args)
    weights = plan.footprint["weights"]
    working = (plan.footprint["kv_cache"] + plan.footprint["activations"]) * in_flight
    sram = hw.si.sram_capacity
    for wafers in range(1, args.model.layers + 1):
        if weights / wafers + working / wafers <= sram:
            return wafers
    return args.model.layers


def resident_plan(args, hw, wafers: int, layer_latency: float | None = None) -> OperatorPlan:
    """The step's plan plus the layer crossings and wafer-to-wafer hops (``layer_latency``
    in seconds overrides the catalog's; 0 gives the bound of the arithmetic and SRAM alone)."""
    m = args.model
    if layer_latency is not None:
        plan = build_plan(args)
        extra = OperatorList()
        extra.add("layer_crossing", OpKind.TRANSFER, m.layers, 0.0, 0.0, latency=layer_latency)
        return _with_ops(plan, extra)
    if hw.wafer.layer_latency is None:
        raise ValueError(f"{hw.name} has no wafer.layer_latency: weights-resident mode needs "
                         "the time a layer takes to cross the wafer")
    layer_latency = float(hw.wafer.layer_latency.to("s").magnitude)
    if hw.wafer.layer_reference is not None:  # a larger layer spans a larger region
        layer_bytes = m.si.params * args.precision.weight_bytes / m.layers
        reference = float(hw.wafer.layer_reference.to("B").magnitude)
        layer_latency *= math.sqrt(layer_bytes / reference)
    hop = float(hw.wafer.hop_latency.to("s").magnitude) if hw.wafer.hop_latency else 0.0
    plan = build_plan(args)
    extra = OperatorList()
    extra.add("layer_crossing", OpKind.TRANSFER, m.layers, 0.0, 0.0, latency=layer_latency)
    if wafers > 1:
        tokens = args.batch * (1 if args.phase == Phase.DECODE else args.context)
        extra.add("wafer_hop", OpKind.TRANSFER, wafers - 1, 0.0, 0.0,
                  message=tokens * m.hidden_dim * args.precision.activation_bytes,
                  latency=hop)
    return _with_ops(plan, extra)


def resident_rates(hw, args, efficiency=None):
    """The wafer's rates with its I/O link as the transfer link (wafer-to-wafer hops)."""
    return replace(device_rates(hw, args.precision, inputs.efficiencies(efficiency)),
                   transfer_bandwidth=hw.si.injection_bandwidth)


def solve_weights_resident(model, hardware, seq_len=None, batch_size=1, precision="fp16",
                           phase=None, efficiency=None, wafers=None, layer_latency=None,
                           in_flight=1):
    """A step with the weights resident in the SRAM of ``wafers`` wafers (by default enough for
    the weights and ``in_flight`` batches' KV cache, and at least ``in_flight``), with
    ``in_flight`` batches pipelined through them (see the module docstring)."""
    hw = wafer_device(hardware)
    args = _transformer_args(model, batch_size, seq_len, phase, precision)
    inputs.peak_for(hw, args.precision.compute)
    k = inputs.positive_int("in_flight", in_flight)
    if wafers is None:  # enough SRAM for k batches, and a wafer per pipeline stage
        n = max(wafers_needed(args, hw, k), k)
    else:
        n = inputs.positive_int("wafers", wafers)
    if n > args.model.layers:
        raise ValueError(f"wafers={n} exceeds {args.model.name}'s {args.model.layers} layers "
                         "(each wafer holds whole layers)")
    if k > n:
        raise ValueError(f"in_flight={k}: a pipeline over {n} wafer{'s' if n > 1 else ''} "
                         f"keeps 1 to {n} batches in flight")
    crossing = None if layer_latency is None else inputs.seconds("layer_latency",
                                                                 layer_latency, allow_zero=True)
    plan = resident_plan(args, hw, n, crossing)
    rates = resident_rates(hw, args, efficiency)
    times = evaluate(plan, rates)
    latency = float(times.latency)
    per_wafer = {key: v / n if key in ("weights", "optimizer") else v * k / n
                 for key, v in plan.footprint.items()}
    crossing = float(plan.latency[plan.index("layer_crossing")])
    notes = [f"Weights resident in on-wafer SRAM across {n} wafer{'s' if n > 1 else ''}, "
             "layers split evenly; each layer takes "
             f"{crossing * 1e6:.3g} µs to cross its region of the wafer (a reasoned figure: "
             "see the catalog note)."]
    interval = None
    if k > 1:
        hops = float(times.t_operator[plan.index("wafer_hop")])
        layers = args.model.layers
        busiest = (latency - hops * (n - 1)) * math.ceil(layers / n) / layers + hops
        interval = max(latency / k, busiest)
        notes.append(f"{k} batches pipelined through the wafers: one completes every "
                     f"{interval * 1e3:.3g} ms (the busiest wafer's share of a step is "
                     f"{busiest * 1e3:.3g} ms); each token still takes the full step.")
    else:
        notes.append("One batch in flight: throughput is batch / latency (in_flight pipelines "
                     "more batches through the wafers).")
    plan = replace(plan, footprint=per_wafer)
    result = result_from(plan, times, rates, hw, args, capacity=hw.si.sram_capacity,
                         devices=n, label=hw.name, notes=tuple(notes))
    return replace(result, in_flight=k, interval_s=interval) if k > 1 else result


class WeightStreamingModel:
    """Weight-streaming solver for wafer-scale devices (stateless; keyword arguments)."""

    def solve(self, model, hardware, seq_len=None, batch_size=1, precision="fp16",
              phase=None, efficiency=None) -> WeightStreamingResult:
        """See :func:`solve_weight_streaming`."""
        return solve_weight_streaming(model, hardware, seq_len, batch_size, precision, phase,
                                      efficiency)


class WaferResidentModel:
    """Weights-resident inference on one or more wafer-scale devices."""

    def solve(self, model, hardware, seq_len=None, batch_size=1, precision="fp16",
              phase=None, efficiency=None, wafers=None, layer_latency=None, in_flight=1):
        """See :func:`solve_weights_resident`."""
        return solve_weights_resident(model, hardware, seq_len, batch_size, precision, phase,
                                      efficiency, wafers, layer_latency, in_flight)


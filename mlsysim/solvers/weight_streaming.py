"""Weight streaming on wafer-scale devices (Cerebras CS-2/CS-3).

Weights live in external memory (MemoryX) and are injected into the wafer layer by layer;
activations and the KV cache stay in on-wafer SRAM (DESIGN.md §4). Per layer and per step:

  t_inject  = layer weight bytes / injection bandwidth
  t_compute = layer FLOPs for the whole batch / (peak · η_c)
  per-layer time = max(t_inject, t_compute) + dispatch overhead   (injection overlaps compute)
  step = L × per-layer time

B* is the batch at which t_compute = t_inject: below it the wafer waits for weights, above it
throughput stops growing (every extra sequence adds its own compute). SRAM must hold the KV
cache and activations of the batch plus two layers of weights (double buffering); the largest
batch that fits is the SRAM ceiling. The optimal batch is the smallest batch that reaches the
maximum throughput among feasible batches: min(⌈B*⌉, SRAM ceiling), with the wall named.
"""

from __future__ import annotations

import math

from ..formatting import format_bytes
from ..physics import transformer as tf
from ..results import WeightStreamingResult
from ..specs.workload import TransformerWorkload
from . import inputs

COMPUTE, INJECTION, OVERHEAD = "Compute", "Injection", "Overhead"


class LayerCosts:
    """Per-layer quantities of one weight-streaming step (floats; bytes, FLOPs, seconds)."""

    __slots__ = ("flops_per_seq", "layer_bytes", "layers", "sram_per_seq", "units_per_seq")

    def __init__(self, model: TransformerWorkload, bpe: float, context: int, phase: str):
        s = model.si
        self.layers = s.layers
        self.layer_bytes = s.params * bpe / s.layers
        kv_tok = tf.kv_bytes_per_token(s.layers, s.kv_heads, s.head_dim, bpe) if s.causal else 0
        params_per_layer = s.active_params / s.layers
        if phase == "decode":
            self.flops_per_seq = 2.0 * params_per_layer + 4.0 * s.d_model * context
            self.sram_per_seq = (context + 1) * kv_tok + (s.d_model + s.ffn_dim) * bpe
            self.units_per_seq = 1.0
        else:
            attention = tf.prefill_flops(0.0, 1, s.d_model, context, 1, s.causal)
            self.flops_per_seq = 2.0 * params_per_layer * context + attention
            self.sram_per_seq = context * kv_tok + context * (s.d_model + s.ffn_dim) * bpe
            self.units_per_seq = float(context)


def _wafer_device(hardware):
    hw = inputs.resolve_hardware(hardware)
    if hw.wafer is None or hw.sram is None:
        raise ValueError(f"{hw.name} is not a weight-streaming (wafer-scale) device: it has no "
                         "wafer/sram fields; use SingleNodeModel or Engine.solve for it")
    return hw


def solve_weight_streaming(model, hardware, seq_len=None, batch_size=1, precision="fp16",
                           phase="decode", efficiency=None) -> WeightStreamingResult:
    """Weight-streaming step of ``model`` on a wafer-scale ``hardware`` (see module docs)."""
    model = inputs.resolve_model(model)
    if not isinstance(model, TransformerWorkload):
        raise ValueError(f"weight streaming models transformer layers with a KV cache; "
                         f"{model.name} is a per-sample network (use Engine.solve)")
    hw = _wafer_device(hardware)
    si = hw.si
    peak = inputs.peak_for(hw, precision)
    eta_c = si.eta_compute if efficiency is None else inputs.fraction("efficiency", efficiency)
    bpe = inputs.precision_bytes(precision)
    batch = inputs.positive_int("batch_size", batch_size)
    context = inputs.context_for(model, seq_len)
    phase = inputs.phase_for(model, phase)
    lc = LayerCosts(model, bpe, context, phase)

    t_inject = lc.layer_bytes / si.injection_bandwidth
    t_seq = lc.flops_per_seq / (peak * eta_c)  # compute time of one sequence, one layer
    t_compute = batch * t_seq
    overhead = si.dispatch_overhead
    if overhead > t_inject and overhead > t_compute:
        bottleneck = OVERHEAD
    else:
        bottleneck = COMPUTE if t_compute >= t_inject else INJECTION

    buffers = 2.0 * lc.layer_bytes
    sram_used = buffers + batch * lc.sram_per_seq
    sram_limit = max(0, math.floor((si.sram_capacity - buffers) / lc.sram_per_seq))
    b_star = t_inject / t_seq
    best = max(1, math.ceil(b_star - 1e-9))
    if sram_limit < 1:
        optimal, wall = 0, "SRAM capacity: batch 1 does not fit"
    elif sram_limit < best:
        optimal, wall = sram_limit, "SRAM capacity"
    else:
        optimal, wall = best, "compute: injection fully hidden at B*"

    trace = []
    if sram_used > si.sram_capacity:
        trace.append(f"SRAM needs {format_bytes(sram_used)} (KV cache and activations "
                     f"of {batch:,} sequences + 2 layers of weights), has "
                     f"{format_bytes(si.sram_capacity)}: at most {sram_limit:,} "
                     "sequences fit")
    weights_total = lc.layer_bytes * lc.layers
    external = si.external_capacity
    if weights_total > external:
        trace.append(f"weights need {format_bytes(weights_total)}, "
                     f"{hw.wafer.external_memory} holds {format_bytes(external)}")
    notes = []
    estimate = hw.estimate_notes.get("wafer.injection_bandwidth")
    if estimate is not None:
        notes.append(f"The injection bandwidth is an estimate (not published by the vendor): "
                     f"{estimate}")
    return WeightStreamingResult(
        model=model.name, hardware=hw.name, precision=precision, batch_size=batch,
        seq_len=context, phase=phase, layers=lc.layers, t_layer_compute=t_compute,
        t_layer_injection=t_inject, t_layer_overhead=overhead, bottleneck=bottleneck,
        units_per_step=batch * lc.units_per_seq, sram_bytes_used=sram_used,
        sram_capacity=si.sram_capacity, b_star=b_star, sram_batch_limit=sram_limit,
        optimal_batch_size=optimal, limiting_wall=wall, feasible=not trace,
        constraint_trace=tuple(trace), notes=tuple(notes))


class WeightStreamingModel:
    """Weight-streaming solver for wafer-scale devices (stateless; keyword arguments)."""

    def solve(self, model, hardware, seq_len=None, batch_size=1, precision="fp16",
              phase="decode", efficiency=None) -> WeightStreamingResult:
        """See :func:`solve_weight_streaming`."""
        return solve_weight_streaming(model, hardware, seq_len, batch_size, precision, phase,
                                      efficiency)

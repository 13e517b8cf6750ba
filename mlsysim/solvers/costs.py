"""What one step of a workload costs: FLOPs, bytes moved, and the memory it must hold.

A *step* is one decode step (every sequence emits one token), one prefill of the prompts, one
inference on a batch of samples, or one training iteration (forward + backward + update).
Formulas live in ``physics/``; this module picks them for a workload spec. ``batch`` and
``context`` may be ints or numpy integer arrays of one shape (the vectorised ``mlsysim.sweep``):
every expression is plain arithmetic, so each element equals the scalar result exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..physics import memory as mem
from ..physics import transformer as tf
from ..specs.workload import TransformerWorkload


@dataclass(slots=True)
class StepCost:
    """FLOPs and bytes of one step, its footprint by component (bytes), and its output.

    Fields are floats, or numpy arrays when the cost was computed for arrays of batches."""

    flops: float
    bytes: float
    weights: float
    kv_cache: float
    activations: float
    optimizer: float
    units: float  # tokens or samples processed by the step
    unit: str  # "token" or "sample"
    dispatches: int  # layer-kernel sequences launched (overhead count)

    @property
    def footprint(self) -> float:
        return self.weights + self.kv_cache + self.activations + self.optimizer


def _floats(count):
    """An int (or integer array) as float(s): ``float()`` that also maps over numpy arrays."""
    return count * 1.0


def inference_cost(model, bpe: float, batch: int, context: int | None, phase: str) -> StepCost:
    """One inference step at ``bpe`` bytes per element (weights, KV and activations)."""
    if isinstance(model, TransformerWorkload):
        return _transformer_inference(model.si, bpe, batch, context, phase)
    s = model.si
    weights = mem.weight_bytes(s.params, bpe)
    act = s.activation_bytes_fp16 * bpe / 2.0
    live = s.peak_activation_bytes_fp16 * bpe / 2.0
    # every layer output is written once and read once by the next layer; embedding tables
    # are only looked up (bytes_per_sample), the other weights are read once per step
    return StepCost(flops=batch * s.flops_per_sample,
                    bytes=mem.weight_bytes(s.streamed_params, bpe)
                    + batch * (2.0 * act + s.bytes_per_sample),
                    weights=weights, kv_cache=0.0, activations=batch * live, optimizer=0.0,
                    units=_floats(batch), unit="sample", dispatches=s.layers)


def _transformer_inference(s, bpe, batch, context, phase) -> StepCost:
    weights = mem.weight_bytes(s.params, bpe)
    kv_tok = tf.kv_bytes_per_token(s.layers, s.kv_heads, s.head_dim, bpe) if s.causal else 0.0
    if phase == "decode":
        return StepCost(
            flops=tf.decode_flops(s.active_params, s.layers, s.d_model, context, batch),
            bytes=tf.decode_bytes(weights, kv_tok, context, batch),
            weights=weights, kv_cache=batch * (context + 1) * kv_tok,
            activations=batch * (s.d_model + s.ffn_dim) * bpe, optimizer=0.0,
            units=_floats(batch), unit="token", dispatches=s.layers)
    return StepCost(
        flops=tf.prefill_flops(s.active_params, s.layers, s.d_model, context, batch, s.causal),
        bytes=tf.prefill_bytes(weights, kv_tok, context, batch),
        weights=weights, kv_cache=batch * context * kv_tok,
        activations=batch * context * (s.d_model + s.ffn_dim) * bpe, optimizer=0.0,
        units=_floats(batch * context), unit="token", dispatches=s.layers)


def training_cost(model, bpe: float, batch: int, context: int | None,
                  recompute: bool = False) -> StepCost:
    """One training iteration with mixed-precision Adam (16 B/param of state).

    Bytes moved (an estimate): weights read three times (forward, input gradients, weight
    gradients), the 16 B/param of state read and written by the optimizer, and stored
    activations written in the forward pass and read in the backward pass."""
    s = model.si
    weights = mem.weight_bytes(s.params, bpe)
    state = mem.training_state_bytes(s.params)
    if isinstance(model, TransformerWorkload):
        forward = tf.prefill_flops(s.active_params, s.layers, s.d_model, context, batch,
                                   s.causal)
        act = s.layers * tf.activation_bytes_per_layer(context, batch, s.d_model, s.heads,
                                                        recompute) * bpe / 2.0
        units, unit = _floats(batch * context), "token"
    else:
        forward = batch * s.flops_per_sample
        act = batch * s.activation_bytes_fp16 * bpe / 2.0
        units, unit = _floats(batch), "sample"
    return StepCost(flops=tf.training_flops(forward, recompute),
                    bytes=3.0 * weights + 2.0 * state + 2.0 * act,
                    weights=weights, kv_cache=0.0, activations=act,
                    optimizer=max(state - weights, 0.0), units=units, unit=unit,
                    dispatches=3 * s.layers)

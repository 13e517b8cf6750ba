"""Transformer FLOP and byte counts (floats; FLOPs, bytes).

Conventions (DESIGN.md §4): 1 MAC = 2 FLOP; a dense matmul with P parameters costs 2·P FLOPs
per token (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1, Table 1).
Attention adds, per layer and per token attending to s context tokens, 2·s·d FLOPs for QKᵀ and
2·s·d for the weighted sum over V: 4·L·d·s in all (Kaplan et al., Table 1, "n_ctx" term).
Symbols: P parameters touched per token (active parameters for MoE), L layers, d model width,
s context length, B batch (sequences), h_kv KV heads, d_h head dimension.
"""

from __future__ import annotations

from .training_memory import activation_bytes_per_layer as _layer_activations


def kv_bytes_per_token(layers: int, kv_heads: int, head_dim: int, bytes_per_elem: float) -> float:
    """KV-cache bytes one token adds: K and V, per layer, per KV head (GQA/MQA aware)."""
    return 2.0 * layers * kv_heads * head_dim * bytes_per_elem


def attention_flops_per_token(layers: int, d_model: int, context: float) -> float:
    """FLOPs of QKᵀ and AV for one query token attending to ``context`` tokens."""
    return 4.0 * layers * d_model * context


def decode_flops(params: float, layers: int, d_model: int, context: float, batch: int) -> float:
    """One decode step: each of B sequences generates one token at context s.

    FLOPs = B · (2·P + 4·L·d·s)."""
    return batch * (2.0 * params + attention_flops_per_token(layers, d_model, context))


def causal_attention_flops(layers: int, d_model: int, tokens: float) -> float:
    """Attention FLOPs for a causal prompt of ``tokens``: token i attends to i tokens, so
    Σ 4·L·d·i ≈ 2·L·d·s² (the exact sum is 2·L·d·s·(s+1))."""
    return 2.0 * layers * d_model * tokens * (tokens + 1.0)


def prefill_flops(params: float, layers: int, d_model: int, tokens: float, batch: int,
                  causal: bool = True) -> float:
    """B prompts of s tokens: B · (2·P·s + attention); bidirectional attention (encoders)
    costs 4·L·d·s² instead of the causal half."""
    attention = (causal_attention_flops(layers, d_model, tokens) if causal
                 else attention_flops_per_token(layers, d_model, tokens) * tokens)
    return batch * (2.0 * params * tokens + attention)


def training_flops(forward_flops: float, recompute: bool = False) -> float:
    """Forward + backward ≈ 3 × forward (backward computes gradients for inputs and weights,
    Kaplan et al. §2.1); full activation recomputation adds one more forward (4×;
    Narayanan et al. SC'21, Eq. 3)."""
    return (4.0 if recompute else 3.0) * forward_flops


def decode_bytes(weight_bytes: float, kv_per_token: float, context: float, batch: int) -> float:
    """Bytes read in one decode step: every weight once, plus each sequence's KV cache of
    s tokens, plus the new token's KV written."""
    return weight_bytes + batch * kv_per_token * (context + 1.0)


def prefill_bytes(weight_bytes: float, kv_per_token: float, tokens: float, batch: int) -> float:
    """Bytes moved by a prefill: weights read once, the prompt's KV cache written."""
    return weight_bytes + batch * kv_per_token * tokens


def activation_bytes_per_layer(tokens: float, batch: int, d_model: int, heads: int,
                               recompute: bool = False) -> float:
    """Stored activations of one layer for training at 16-bit precision (bytes), no model
    parallelism: Korthikanti et al. 2022 (arXiv 2205.05198), Eq. 1, s·b·h·(34 + 5·a·s/h);
    with full recomputation only the layer input, 2·s·b·h. The one formula lives in
    :mod:`.training_memory` (tensor/sequence parallelism, selective recomputation)."""
    return _layer_activations(tokens, batch, d_model, heads,
                              recompute="full" if recompute else "none")

"""Operators of one transformer step: decode, prefill or a training iteration, optionally split
``tp`` ways by Megatron-style tensor parallelism (Shoeybi et al. 2019, arXiv 1909.08053, §3).

Per layer (run L times): a fused residual-add + norm, the QKV projection, a fused
FlashAttention-style kernel (it reads the KV cache at decode; Dao et al. 2022), the output
projection, a second add + norm, the MLP up (and gate) projection, its activation, the down
projection; with tensor parallelism an all-reduce after the attention and after the MLP. Once
per step: the embedding gather (only the rows of this step's tokens: the table is never streamed
whole), the final norm, the LM head on the tokens whose logits are needed (the last of each
prompt in prefill, every new token of a decode step, all of them in training) and sampling.

A decode-phase step may carry ``query_len`` = q new tokens per sequence over ``context`` past
ones (q = 1 is ordinary decoding; q = k + 1 verifies k drafted tokens, Leviathan et al. 2023;
a chunk of a prompt in chunked prefill, or a prompt after a cached prefix, with
``last_logit_only``): its GEMMs have batch·q rows, its attention reads the past KV cache once
per sequence and each new token attends to it and, causally, to the others.

Several request groups may share one decode-phase step (``fused``: chunked prefill's mixed
step, Agrawal et al. 2024, arXiv 2403.02310, §4.2 — the running requests' decode tokens beside
a prompt chunk): the GEMMs, norms, embedding and LM head run once over every group's tokens
(weights read once), and each group has its own attention kernel over its own KV cache.

Mixture of experts (Fedus et al. 2022; Mixtral, Jiang et al. 2024): a router GEMM, then the MLP
runs on the experts the step's tokens touch. With N tokens each routed to k of E experts
(uniformly, independently), the expected number of distinct experts read is
E·(1 − (1 − k/E)^N): the active experts at batch 1, all of them once N·k ≫ E.

Counting: 1 MAC = 2 FLOP; bytes are those moved to and from device memory by each kernel at its
operands' precisions (weights, activations, KV cache may differ); a kernel's inputs and outputs
each cross memory once (intermediate tiles stay on chip). ``batch`` and ``context`` may be
numpy integer arrays of one grid: every expression is elementwise arithmetic, so each grid point
equals the scalar step exactly.
"""

from __future__ import annotations

import numpy as np

from ..physics.training_memory import (
    activation_bytes_per_layer,
    embedding_activation_bytes,
    model_state_bytes,
    output_activation_bytes,
)
from ..vocabulary import OpKind, Phase, WorkUnit
from .inputs import WorkloadArgs
from .plan import OperatorList, OperatorPlan

NORM_FLOPS = 5.0  # per element: add, square, reduce, scale, shift
ACTIVATION_FLOPS = 5.0  # per element of the MLP hidden layer (SiLU·gate or GELU)
SAMPLING_FLOPS = 5.0  # per logit: softmax and top-k/p
ADAM_BYTES_READ = 16.0  # fp32 master weight, momentum, variance + 16-bit gradient, + weight
ADAM_BYTES_WRITTEN = 14.0  # fp32 master weight, momentum, variance + 16-bit weight
ADAM_FLOPS = 12.0  # per parameter
#: mixed-precision Adam state: 16-bit weights and gradients, fp32 master copy, momentum and
#: variance = 16 B per parameter (Rajbhandari et al. 2020, ZeRO, §3.1)
ADAM_STATE_BYTES = 16.0
SMALL_MESSAGE = 64.0  # bytes of a latency-bound reduction (sampling across a split vocabulary)


def experts_touched(tokens, experts: int, active: int):
    """Expected distinct experts read when ``tokens`` each pick ``active`` of ``experts``."""
    if experts <= 1:
        return tokens * 0.0 + 1.0
    return experts * (1.0 - np.power(1.0 - active / experts, tokens))


RECOMPUTE_MODES = ("none", "selective", "full")


def stage_parameters(model, layers: int | None = None, first_stage: bool = True,
                     last_stage: bool = True) -> float:
    """Parameters held by one pipeline stage of ``layers`` transformer layers: the layers'
    share, the embedding table on the first stage, the LM head on the last (a tied head is
    a copy of the embedding there when the stage is not also the first, as Megatron-LM keeps
    it; Narayanan et al. SC21, §2). Scaled so the whole model (one stage) is its declared
    parameter count."""
    s, sh = model.si, model.shapes
    n = s.layers if layers is None else layers
    if n == s.layers and first_stage and last_stage:
        return s.params
    layer = sh.qkv + sh.out + s.experts * (sh.mlp_in + sh.mlp_out) + sh.router + sh.norms
    held = n * layer + (sh.embedding if first_stage else 0.0)
    if last_stage and s.causal and not (s.tied and first_stage):
        held += sh.embedding if s.tied else sh.head
    return s.params * held / model.shape_parameters


def transformer_plan(args: WorkloadArgs, tp: int = 1, grid_shape=(), *,
                     layers: int | None = None, first_stage: bool = True,
                     last_stage: bool = True, optimizer_step: bool = True,
                     recompute: str | None = None, ep: int = 1,
                     tp_ranks_per_node: int | None = None) -> OperatorPlan:
    """The operators of one step (see the module docstring); per device when ``tp`` > 1.

    One pipeline stage (Narayanan et al. SC21, §2.2): ``layers`` transformer layers (default
    all), the embedding gather on the ``first_stage``, the final norm and LM head (and its
    backward) on the ``last_stage``; tensor-parallel all-reduces exist only for the stage's
    layers. ``optimizer_step=False`` leaves out the optimizer (a pipeline's microbatch step;
    the solver adds the step once). ``recompute`` ∈ none | selective | full overrides the
    step's flag (selective: the attention kernel's forward is run again in the backward,
    Korthikanti et al. 2022, §5). ``ep`` splits the experts of an MoE layer over ``ep``
    devices: each holds E/ep of them and runs the tokens the group routes to them
    (Lepikhin et al. 2020, GShard, §2.2). ``tp_ranks_per_node`` < ``tp`` places a
    tensor-parallel group across nodes (its all-reduces then cross the fabric)."""
    m = args.model
    s, sh = m.si, m.shapes
    p = args.precision
    a, w, k = p.activation_bytes, p.weight_bytes, p.kv_bytes
    d, f, V = s.d_model, s.ffn_dim, s.vocab
    L = s.layers if layers is None else layers
    if recompute is None:
        recompute = "full" if args.recompute else "none"
    kv_dim = s.kv_heads * s.head_dim
    kv_split = min(tp, s.kv_heads)
    batch, ctx = args.batch, args.context
    phase = args.phase
    training = phase == Phase.TRAINING
    decode = phase == Phase.DECODE

    q = args.query_len
    fused = args.fused
    if fused and not decode:
        raise ValueError("request groups are fused only into a decode-phase step")
    if decode:  # q new tokens per sequence over ctx past ones (q = 1: ordinary decoding)
        own = batch * q * 1.0
        kv_after = ctx + q * 1.0
    else:
        own = batch * ctx * 1.0
        attended = (ctx + 1.0) / 2.0 if s.causal else ctx * 1.0
        kv_after = ctx * 1.0
    # logits: every token in training, each new token of a decode step (a verification step
    # scores every drafted token), the last token of each prompt in prefill
    logit_rows = own if training or (decode and not args.last_logit_only) else batch * 1.0
    # fused groups' tokens join this step's GEMMs, norms and LM head (no-ops when none)
    tokens = own + sum(g.batch * g.query_len for g in fused)
    logit_rows = logit_rows + sum(g.batch * (1 if g.last_logit_only else g.query_len)
                                  for g in fused)
    q_width = d / tp
    kv_width = 2.0 * kv_dim / kv_split  # K and V columns this device holds
    mlp_in_width = sh.mlp_in / d / tp  # gate+up (or up) columns per device

    ops = OperatorList()
    layer = []  # (name, kind, flops, bytes, rows, weight_bytes, streams_kv) of one layer

    def norm(name):
        layer.append((name, OpKind.ELEMENTWISE, NORM_FLOPS * tokens * d,
                      4.0 * tokens * d * a, 0.0, d * w, False))

    def gemm(name, params, rows_in, width_in, width_out, n_rows=None, weights_read=None):
        rows = tokens if n_rows is None else n_rows
        read = params / tp * w if weights_read is None else weights_read
        layer.append((name, OpKind.GEMM, 2.0 * rows_in * params / tp,
                      read + rows_in * (width_in + width_out) * a, rows, read, False))

    def decode_attention(name, n_seq, past, new, n_new):
        # reads each sequence's past KV cache once, writes the new tokens' K and V, reads Q
        # and writes O; each new token attends to the past and, causally, to the others
        seen = past + (new + 1.0) / 2.0
        nbytes = n_seq * past * kv_width * k + n_new * kv_width * k + 2.0 * n_new * q_width * a
        layer.append((name, OpKind.ATTENTION, 4.0 * n_new * seen * q_width, nbytes, seen,
                      0.0, True))

    norm("attn_norm")
    # per device: all query heads' share plus the K/V heads it holds (replicated past h_kv)
    gemm("qkv_proj", d * (q_width + kv_width) * tp, tokens, d, q_width + kv_width)
    if decode:
        decode_attention("attention", batch, ctx, q, own)
        for g in fused:
            decode_attention(f"attention.{g.name}", g.batch, g.context, g.query_len,
                             g.batch * g.query_len * 1.0)
    else:
        att_bytes = tokens * (q_width + kv_width) * a + tokens * kv_width * k \
            + tokens * q_width * a
        layer.append(("attention", OpKind.ATTENTION, 4.0 * tokens * attended * q_width,
                      att_bytes, attended, 0.0, False))
    gemm("out_proj", sh.out, tokens, q_width, d)
    norm("mlp_norm")
    if s.experts > 1:
        # with ep > 1 this device holds E/ep experts and receives, on average, as many
        # token-expert pairs as its own tokens make; the group's tokens touch them
        touched = (experts_touched(tokens, s.experts, s.active_experts) if ep == 1 else
                   s.experts / ep * (1.0 - np.power(1.0 - s.active_experts / s.experts,
                                                    tokens * ep)))
        assigned = tokens * s.active_experts
        layer.append(("router", OpKind.GEMM, 2.0 * tokens * sh.router,
                      sh.router * w + tokens * (d + s.experts) * a, tokens, sh.router * w,
                      False))
        gemm("mlp_up", sh.mlp_in, assigned, d, mlp_in_width, n_rows=assigned / touched,
             weights_read=touched * sh.mlp_in / tp * w)
        act_tokens = assigned
    else:
        gemm("mlp_up", sh.mlp_in, tokens, d, mlp_in_width)
        act_tokens = tokens
    hidden = act_tokens * f / tp
    layer.append(("mlp_act", OpKind.ELEMENTWISE, ACTIVATION_FLOPS * hidden,
                  act_tokens * mlp_in_width * a + hidden * a, 0.0, 0.0, False))
    if s.experts > 1:
        gemm("mlp_down", sh.mlp_out, assigned, f / tp, d, n_rows=assigned / touched,
             weights_read=touched * sh.mlp_out / tp * w)
    else:
        gemm("mlp_down", sh.mlp_out, tokens, f / tp, d)

    passes = [("", 1.0)]
    if training:
        passes.append((".backward", 2.0))
        if recompute == "full":
            passes.append((".recompute", 1.0))
    message = tokens * d * a
    # a TP group split across nodes (only when asked: the whole-node default is unchanged)
    placed = {} if tp_ranks_per_node is None else {"ranks_per_node": tp_ranks_per_node}
    for suffix, scale in passes:
        for name, kind, flops, nbytes, rows, wbytes, kv in layer:
            ops.add(name + suffix, kind, L, scale * flops, scale * nbytes, rows=rows,
                    weight_bytes=wbytes, streams_kv=kv)
            if suffix == ".backward" and recompute == "selective" and name == "attention":
                ops.add("attention.recompute", kind, L, flops, nbytes, rows=rows)
            if tp > 1 and name in ("out_proj", "mlp_down"):
                ops.add(("allreduce_attention" if name == "out_proj" else "allreduce_mlp")
                        + suffix, OpKind.COLLECTIVE, L, 0.0, 0.0, message=message, group=tp,
                        **placed)

    if first_stage:
        embed_bytes = tokens * d * (w / tp + a)
        ops.add("embedding", OpKind.GATHER, 1, 0.0, embed_bytes)
        if tp > 1:
            ops.add("allreduce_embedding", OpKind.COLLECTIVE, 1, 0.0, 0.0, message=message,
                    group=tp, **placed)
    if last_stage:
        ops.add("final_norm", OpKind.ELEMENTWISE, 1, NORM_FLOPS * tokens * d,
                2.0 * tokens * d * a)
    if last_stage and s.causal and V:
        head = sh.head / tp
        ops.add("lm_head", OpKind.GEMM, 1, 2.0 * logit_rows * head,
                head * w + logit_rows * (d + V / tp) * a, rows=logit_rows,
                weight_bytes=head * w)
        if training:
            ops.add("lm_head.backward", OpKind.GEMM, 1, 4.0 * logit_rows * head,
                    2.0 * (head * w + logit_rows * (d + V / tp) * a), rows=logit_rows,
                    weight_bytes=head * w)
        else:
            ops.add("sampling", OpKind.ELEMENTWISE, 1, SAMPLING_FLOPS * logit_rows * V / tp,
                    logit_rows * V / tp * a)
            if tp > 1:
                ops.add("allreduce_sampling", OpKind.COLLECTIVE, 1, 0.0, 0.0,
                        message=logit_rows * SMALL_MESSAGE, group=tp)
    params = s.params
    if training and optimizer_step:
        held = stage_parameters(m, L, first_stage, last_stage)
        ops.add("optimizer", OpKind.ELEMENTWISE, 1, ADAM_FLOPS * held / tp,
                (ADAM_BYTES_READ + ADAM_BYTES_WRITTEN) * held / tp)

    footprint = {"weights": params * w / tp,
                 "kv_cache": 0.0 if training or not s.causal else
                 (batch * kv_after + sum(g.batch * (g.context + g.query_len) for g in fused))
                 * L * kv_width * k,
                 "activations": 0.0, "optimizer": 0.0}
    if training:  # the one formula: physics/training_memory.py (Korthikanti 2022 with
        # sequence parallelism over tp; ZeRO §3.1): this stage's layers, embedding, LM head
        act = dict(tp=tp, sequence_parallel=True, activation_bytes=a)
        per_layer = activation_bytes_per_layer(
            ctx, batch, d, s.heads, recompute=recompute, ffn_dim=f, gated_mlp=s.gated,
            experts_per_token=s.active_experts, **act)
        footprint["activations"] = (
            L * per_layer
            + (embedding_activation_bytes(ctx, batch, d, **act) if first_stage and V else 0.0)
            + (output_activation_bytes(ctx, batch, d, V, **act)
               if last_stage and s.causal and V else 0.0))
        held = stage_parameters(m, L, first_stage, last_stage) / tp
        weights, grads, state = model_state_bytes(held, weight_bytes=w,
                                                  grad_bytes=max(w, 2.0))
        footprint["weights"] = weights
        footprint["optimizer"] = grads + state  # gradients + optimizer state
    else:
        footprint["activations"] = tokens * (d + f / tp) * a
    unit_count = tokens
    return OperatorPlan.build(ops, grid_shape, phase=phase, unit=WorkUnit.TOKEN,
                              units=unit_count, footprint=footprint, precision=p, devices=tp)

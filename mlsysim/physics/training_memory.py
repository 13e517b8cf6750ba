"""Training memory per device (floats; bytes): weights, gradients, optimizer state, activations.

Model state (Rajbhandari et al. 2020, "ZeRO", arXiv 1910.02054, §3.1 and §5.1):
mixed-precision Adam keeps 16-bit weights (2 B) and gradients (2 B) plus an fp32 master copy,
momentum and variance (K = 12 B): 16 B per parameter. Plain SGD with momentum (assumed here:
PyTorch ``SGD(momentum>0)``) keeps one fp32 momentum buffer instead of two moments, so
K = 4 (master) + 4 (momentum) = 8 B: 12 B per parameter in mixed precision. With fp32 weights
(4 B) no separate master copy exists (K = 8 for Adam, 4 for SGD): Adam is again 16 B/param.
ZeRO (§5.1, Figure 1) shards the state over the Nd ranks that hold the same replica:
stage 1 the optimizer state (4Ψ + KΨ/Nd), stage 2 also the gradients (2Ψ + (2+K)Ψ/Nd),
stage 3 also the weights ((4+K)Ψ/Nd); PyTorch FSDP full-shard is stage 3.

Activations (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
Models", arXiv 2205.05198, §4, Table 2), 16-bit values and 1-byte dropout masks, per layer and
microbatch of b sequences of s tokens, width h, a heads, tensor-parallel size t:
  no parallelism (Eq. 1)        s·b·h·(34 + 5·a·s/h)
  tensor parallel (Eq. 2)       s·b·h·(10 + 24/t + 5·a·s/(h·t))
  tensor + sequence parallel    s·b·h·(34/t + 5·a·s/(h·t))        (Eq. 3: Eq. 1 / t)
  selective recomputation       drops the 5·a·s/h attention term (§5, Table 2)
  full recomputation            only the layer input, 2·s·b·h (/t with sequence parallelism)
The 34 is attention 11 + MLP 19 + two layer norms 4 (§4.1), the MLP's part for a 4h GeLU MLP
being 3 + 4·f/h with f = 4h; here f is the model's own (Megatron-LM's
``theoretical_memory_usage.py`` uses the same 18 + 4·f/h), a gated MLP (SwiGLU) stores 6·f/h
(gate, up and their product), and an MoE token runs ``experts_per_token`` MLPs. Of the 10
that tensor parallelism leaves replicated (layer norms 4, two dropout masks 2, QKV and MLP
inputs 4), sequence parallelism splits all. With FlashAttention the score tensors are never
stored, which is what "selective" counts.
Pipeline (§4.2.3, 1F1B): the first stage holds ``in_flight`` microbatches (min(p, m)) of its L/p
layers — L layers' worth at in_flight = p — plus the embedding dropout mask s·b·h/t per
microbatch (the interleaved schedule with v model chunks per device multiplies the layers' share
by 1 + (p − 1)/(p·v), §4.2.3); the last stage holds one microbatch plus the output layer: final
norm and LM-head inputs and fp32 logits, 4·s·b·h/t·(1 + v/h) with sequence parallelism (4·s·b·h
+ 4·s·b·v/t without: the two 2·s·b·h inputs are then replicated). Context parallelism (sequence
split over ``cp`` ranks) divides every activation by cp. Values scale by ``activation_bytes``/2
for other activation formats (masks included: an approximation).

Busiest stage: with pp > 1 the first stage (L/p layers + embedding, in_flight microbatches) and
the last (L/p layers + LM head, one microbatch) are both computed; the larger total is returned.
Sharding: dense parameters / tp, expert parameters / ep (experts are not tensor-split), the
embedding and LM head / tp (vocabulary-parallel). ZeRO shards dense state over dp·ep ranks (the
expert-parallel ranks hold identical dense replicas and see different tokens) and expert state
over dp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RECOMPUTE_MODES = ("none", "selective", "full")
OPTIMIZERS = ("adam", "sgd")
ZERO_STAGES = (0, 1, 2, 3)
#: fp32 optimizer buffers per parameter besides the master copy: Adam's momentum and variance,
#: SGD's momentum (bytes)
MOMENT_BYTES = {"adam": 8.0, "sgd": 4.0}
MASTER_BYTES = 4.0  # fp32 master weights when the working weights are narrower


@dataclass(frozen=True, slots=True)
class MemoryBreakdown:
    """Bytes per device of the busiest pipeline stage (``stage``: "first", "last" or
    "whole model" when pp = 1)."""

    weights: float
    gradients: float
    optimizer: float
    activations: float
    stage: str = "whole model"

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations

    def as_dict(self) -> dict[str, float]:
        return {"weights": self.weights, "gradients": self.gradients,
                "optimizer": self.optimizer, "activations": self.activations}


def recompute_mode(recompute) -> str:
    """'none' | 'selective' | 'full'; a bool means full (True) or none (False)."""
    if recompute is True or recompute is False:
        return "full" if recompute else "none"
    if recompute not in RECOMPUTE_MODES:
        raise ValueError(f"activation_recomputation must be one of "
                         f"{', '.join(RECOMPUTE_MODES)}; got {recompute!r}")
    return recompute


def optimizer_bytes_per_param(optimizer: str = "adam", weight_bytes: float = 2.0) -> float:
    """Optimizer state K per parameter: fp32 moments plus an fp32 master copy when the
    weights are narrower than fp32 (ZeRO §3.1: K = 12 for mixed-precision Adam)."""
    if optimizer not in MOMENT_BYTES:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")
    return MOMENT_BYTES[optimizer] + (MASTER_BYTES if weight_bytes < MASTER_BYTES else 0.0)


def activation_bytes_per_layer(seq_len, microbatch, d_model: int, heads: int, *, tp: int = 1,
                               sequence_parallel: bool = False, recompute="none",
                               ffn_dim: float = 0.0, gated_mlp: bool = False,
                               experts_per_token: int = 1, activation_bytes: float = 2.0):
    """Stored activations of one transformer layer for one microbatch, per device (bytes).

    Korthikanti et al. 2022, Table 2 (see the module docstring); ``ffn_dim`` 0 means 4·d.
    ``seq_len`` and ``microbatch`` may be numpy arrays (elementwise arithmetic only)."""
    mode = recompute_mode(recompute)
    sbh = seq_len * microbatch * d_model * (activation_bytes / 2.0)
    t = float(tp)
    if mode == "full":  # only the layer input (Table 2: 2·s·b·h)
        return 2.0 * sbh / t if sequence_parallel else 2.0 * sbh
    f = ffn_dim or 4.0 * d_model
    split = 8.0 + experts_per_token * (6.0 if gated_mlp else 4.0) * f / d_model  # 24 at f = 4h
    replicated = 10.0  # layer norms, dropout masks, QKV and MLP inputs (§4.2.1)
    attention = 0.0 if mode == "selective" else 5.0 * heads * seq_len / d_model
    if sequence_parallel:
        return sbh * ((replicated + split) / t + attention / t)
    return sbh * (replicated + split / t + attention / t)


def embedding_activation_bytes(seq_len, microbatch, d_model: int, *, tp: int = 1,
                               sequence_parallel: bool = False, activation_bytes: float = 2.0):
    """The embedding dropout mask of one microbatch on the first stage: s·b·h (1 B each;
    §4.3), split t ways with sequence parallelism."""
    sbh = seq_len * microbatch * d_model * (activation_bytes / 2.0)
    return sbh / tp if sequence_parallel else sbh


def output_activation_bytes(seq_len, microbatch, d_model: int, vocab: int, *, tp: int = 1,
                            sequence_parallel: bool = False, activation_bytes: float = 2.0):
    """Final norm input, LM-head input (2·s·b·h each) and fp32 logits (4·s·b·v/t) on the last
    stage (§4.3): 4·s·b·h/t·(1 + v/h) with sequence parallelism."""
    scale = activation_bytes / 2.0
    sb = seq_len * microbatch * scale
    inputs = 4.0 * sb * d_model
    logits = 4.0 * sb * vocab / tp
    return (inputs / tp if sequence_parallel else inputs) + logits


def model_state_bytes(params: float, *, expert_params: float = 0.0, shard: int = 1,
                      expert_shard: int = 1, zero_stage: int = 0, optimizer: str = "adam",
                      weight_bytes: float = 2.0, grad_bytes: float = 2.0
                      ) -> tuple[float, float, float]:
    """(weights, gradients, optimizer) bytes for ``params`` parameters held by this device,
    of which ``expert_params`` are sharded by ZeRO over ``expert_shard`` ranks and the rest
    over ``shard`` ranks (ZeRO §5.1)."""
    if zero_stage not in ZERO_STAGES:
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3; got {zero_stage!r}")
    k = optimizer_bytes_per_param(optimizer, weight_bytes)
    dense = params - expert_params

    def held(stage: int) -> float:  # parameters whose state of that kind this device keeps
        if zero_stage >= stage:
            return dense / shard + expert_params / expert_shard
        return params
    return weight_bytes * held(3), grad_bytes * held(2), k * held(1)


def _positive(name: str, value, integer: bool = True) -> None:
    bad = isinstance(value, bool) or not isinstance(value, (int, float))
    if bad or not math.isfinite(value) or value <= 0 or (integer and int(value) != value):
        kind = "a positive integer" if integer else "positive"
        raise ValueError(f"{name} must be {kind}; got {value!r}")


def _divides(name: str, size: int, of: str, count: int) -> None:
    if count % size:
        raise ValueError(f"{name}={size} must divide {of} ({count})")


def training_memory(*, params: float, layers: int, d_model: int, heads: int, seq_len: int,
                    microbatch: int, expert_params: float = 0.0, vocab: int = 0,
                    tp: int = 1, pp: int = 1, dp: int = 1, ep: int = 1, cp: int = 1,
                    zero_stage: int = 0, recompute: str = "none",
                    sequence_parallel: bool = False, optimizer: str = "adam",
                    weight_bytes: float = 2.0, grad_bytes: float = 2.0,
                    in_flight: int = 1, activation_bytes: float = 2.0, ffn_dim: float = 0.0,
                    gated_mlp: bool = False, experts: int = 0, experts_per_token: int = 1,
                    tied_embeddings: bool = False, lm_head: bool = True,
                    virtual_stages: int = 1) -> MemoryBreakdown:
    """Memory per device of the busiest pipeline stage (bytes); see the module docstring.

    ``params`` counts every parameter once (a tied LM head is the embedding); the embedding is
    vocab·d_model, the LM head another vocab·d_model unless tied or absent (``lm_head``
    False: an encoder). ``in_flight`` microbatches' activations sit on the first stage;
    ``virtual_stages`` > 1 is the interleaved 1F1B schedule (v model chunks per device)."""
    for name, value in (("layers", layers), ("d_model", d_model), ("heads", heads),
                        ("seq_len", seq_len), ("microbatch", microbatch), ("tp", tp),
                        ("pp", pp), ("dp", dp), ("ep", ep), ("cp", cp),
                        ("in_flight", in_flight), ("experts_per_token", experts_per_token),
                        ("virtual_stages", virtual_stages)):
        _positive(name, value)
    for name, value in (("params", params), ("weight_bytes", weight_bytes),
                        ("grad_bytes", grad_bytes), ("activation_bytes", activation_bytes)):
        _positive(name, value, integer=False)
    if zero_stage not in ZERO_STAGES:
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3; got {zero_stage!r}")
    mode = recompute_mode(recompute)
    optimizer_bytes_per_param(optimizer, weight_bytes)
    _divides("tp", tp, "the attention heads", heads)
    _divides("pp", pp, "the layers", layers)
    _divides("cp", cp, "seq_len", seq_len)
    if not 0.0 <= expert_params < params:
        raise ValueError(f"expert_params must be in [0, params); got {expert_params!r}")
    if ep > 1:
        if not experts:
            raise ValueError(f"ep={ep} needs a mixture-of-experts model (experts > 1)")
        _divides("ep", ep, "the experts", experts)
    embedding = float(vocab) * d_model
    head = embedding if lm_head else 0.0
    layer_params = params - embedding - (0.0 if tied_embeddings else head)
    if layer_params < expert_params:
        raise ValueError(f"params={params:.4g} is smaller than the embedding, LM head and "
                         f"expert parameters it must include")

    per_layer = activation_bytes_per_layer(
        seq_len, microbatch, d_model, heads, tp=tp, sequence_parallel=sequence_parallel,
        recompute=mode, ffn_dim=ffn_dim, gated_mlp=gated_mlp,
        experts_per_token=experts_per_token, activation_bytes=activation_bytes)
    act = dict(tp=tp, sequence_parallel=sequence_parallel, activation_bytes=activation_bytes)
    embed_act = embedding_activation_bytes(seq_len, microbatch, d_model, **act) if vocab else 0.0
    out_act = (output_activation_bytes(seq_len, microbatch, d_model, vocab, **act)
               if vocab and lm_head else 0.0)
    stage_layers = layers // pp
    if virtual_stages > 1:
        _divides("pp × virtual_stages", pp * virtual_stages, "the layers", layers)
    # interleaved 1F1B: the first stage holds 1 + (p − 1)/(p·v) times L layers' worth (§4.2.3)
    interleave = 1.0 + (pp - 1) / (pp * virtual_stages) if virtual_stages > 1 else 1.0
    dense_layer = (layer_params - expert_params) / pp / tp
    expert_layer = expert_params / pp / ep

    def stage(first: bool, last: bool, microbatches: int, name: str) -> MemoryBreakdown:
        dense = dense_layer + ((embedding if first else 0.0)
                               + (head if last and not (first and tied_embeddings) else 0.0)) / tp
        w, g, o = model_state_bytes(dense + expert_layer, expert_params=expert_layer,
                                    shard=dp * ep, expert_shard=dp, zero_stage=zero_stage,
                                    optimizer=optimizer, weight_bytes=weight_bytes,
                                    grad_bytes=grad_bytes)
        held = stage_layers * per_layer * (interleave if first else 1.0)
        acts = microbatches * (held + (embed_act if first else 0.0))
        acts += out_act if last else 0.0
        return MemoryBreakdown(w, g, o, acts / cp, name)

    if pp == 1:
        return stage(True, True, in_flight, "whole model")
    first, last = stage(True, False, in_flight, "first"), stage(False, True, 1, "last")
    return first if first.total >= last.total else last

"""Training memory per device: :class:`TrainingMemoryModel`.

Weights, gradients, optimizer state and activations of one device of a training job split
``tp`` × ``pp`` × ``dp`` × ``ep`` × ``cp`` ways, against that device's usable memory. The
arithmetic is :func:`mlsysim.physics.training_memory.training_memory` (ZeRO, Rajbhandari et
al. 2020 §5.1; activations, Korthikanti et al. 2022 Table 2) — the same formula as the
engine's training footprint. Under 1F1B the first pipeline stage holds min(pp, m)
microbatches' activations (Narayanan et al. SC21, §2.2); the busiest stage is reported.
"""

from __future__ import annotations

from ..constraints import Constraint
from ..formatting import format_bytes
from ..physics.training_memory import (
    OPTIMIZERS,
    RECOMPUTE_MODES,
    optimizer_bytes_per_param,
    training_memory,
)
from ..results_training_memory import TrainingMemoryResult
from ..specs.hardware import HardwareSpec
from ..specs.system import FleetSpec, NodeSpec
from ..specs.workload import TransformerWorkload
from ..vocabulary import BYTES_PER_ELEMENT
from . import inputs

#: Formats a training step stores its weights and activations in (integer formats do not
#: train; fp8 keeps 16-bit gradients).
TRAINING_PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8")


def _device(hardware) -> HardwareSpec:
    """A device spec; a node or a fleet (spec, not name) stands for one of its devices."""
    if isinstance(hardware, NodeSpec):
        return hardware.accelerator
    if isinstance(hardware, FleetSpec):
        return hardware.node.accelerator
    return inputs.resolve_hardware(hardware)


def _choice(name: str, value, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got "
                         f"{inputs.shown(value)}")
    return value


def _zero(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3; got {inputs.shown(value)}")
    return value


def _model(model) -> TransformerWorkload:
    spec = inputs.resolve_model(model)
    if not isinstance(spec, TransformerWorkload):
        raise ValueError(f"training memory here models transformers (Korthikanti et al. "
                         f"2022); {spec.name} is a per-sample network")
    return spec


def expert_parameters(model: TransformerWorkload) -> float:
    """Parameters of the experts' MLPs (0 for a dense model), scaled like the shapes to the
    declared parameter count."""
    s, sh = model.si, model.shapes
    if s.experts <= 1:
        return 0.0
    experts = s.layers * s.experts * (sh.mlp_in + sh.mlp_out)
    return s.params * experts / model.shape_parameters


def memory_breakdown(model, *, seq_len, batch_size=1, tp=1, pp=1, dp=1, ep=1, cp=1,
                     zero_stage=0, activation_recomputation="none", sequence_parallel=False,
                     optimizer="adam", precision="bf16", microbatch_count=1):
    """Validate the arguments; return them resolved (model spec, seq_len, batch, sizes,
    zero stage, recomputation, sequence parallel, optimizer, precision), the microbatches in
    flight and the :class:`MemoryBreakdown` of the busiest stage."""
    spec = _model(model)
    s = spec.si
    seq_len = inputs.context_for(spec, seq_len)
    batch = inputs.positive_int("batch_size", batch_size)
    sizes = {k: inputs.positive_int(k, v) for k, v in
             (("tp", tp), ("pp", pp), ("dp", dp), ("ep", ep), ("cp", cp),
              ("microbatch_count", microbatch_count))}
    zero_stage = _zero(zero_stage)
    mode = _choice("activation_recomputation", activation_recomputation, RECOMPUTE_MODES)
    sp = inputs.flag("sequence_parallel", sequence_parallel)
    optimizer = _choice("optimizer", optimizer, OPTIMIZERS)
    precision = _choice("precision", precision, TRAINING_PRECISIONS)
    tp, pp, ep = sizes["tp"], sizes["pp"], sizes["ep"]
    if s.heads % tp:
        raise ValueError(f"tp={tp} must divide {spec.name}'s {s.heads} attention heads")
    if s.layers % pp:
        raise ValueError(f"pp={pp} must divide {spec.name}'s {s.layers} layers")
    if ep > 1 and s.experts <= 1:
        raise ValueError(f"ep={ep} splits experts; {spec.name} is a dense model (use ep=1)")
    if s.experts > 1 and s.experts % ep:
        raise ValueError(f"ep={ep} must divide {spec.name}'s {s.experts} experts")
    if seq_len % sizes["cp"]:
        raise ValueError(f"cp={sizes['cp']} must divide seq_len={seq_len}")
    w = BYTES_PER_ELEMENT[precision]
    in_flight = min(pp, sizes["microbatch_count"]) if pp > 1 else 1
    kw = dict(params=s.params, layers=s.layers, d_model=s.d_model, heads=s.heads,
              seq_len=seq_len, microbatch=batch, expert_params=expert_parameters(spec),
              vocab=s.vocab, tp=tp, pp=pp, dp=sizes["dp"], ep=ep, cp=sizes["cp"],
              zero_stage=zero_stage, recompute=mode, sequence_parallel=sp,
              optimizer=optimizer, weight_bytes=w, grad_bytes=max(w, 2.0),
              activation_bytes=w, ffn_dim=s.ffn_dim, gated_mlp=s.gated,
              experts=s.experts if s.experts > 1 else 0,
              experts_per_token=s.active_experts if s.experts > 1 else 1,
              tied_embeddings=s.tied, lm_head=s.causal)
    breakdown = training_memory(in_flight=in_flight, **kw)
    return (spec, seq_len, batch, sizes, zero_stage, mode, sp, optimizer, precision,
            in_flight, breakdown)


class TrainingMemoryModel:
    """Memory per device of a training job: weights, gradients, optimizer state and
    activations against the device's usable memory (see the module docstring)."""

    def solve(self, model, hardware, seq_len=None, batch_size=1, tp=1, pp=1, dp=1, ep=1,
              cp=1, zero_stage=0, activation_recomputation="none", sequence_parallel=False,
              optimizer="adam", precision="bf16", microbatch_count=1
              ) -> TrainingMemoryResult:
        """``batch_size`` is the micro-batch (sequences per forward pass of one device);
        ``microbatch_count`` the microbatches per step (their activations in flight on the
        first pipeline stage: min(pp, m) under 1F1B)."""
        hw = _device(hardware)
        (spec, seq_len, batch, sizes, zero_stage, mode, sp, optimizer, precision, in_flight,
         breakdown) = memory_breakdown(
            model, seq_len=seq_len, batch_size=batch_size, tp=tp, pp=pp, dp=dp, ep=ep, cp=cp,
            zero_stage=zero_stage, activation_recomputation=activation_recomputation,
            sequence_parallel=sequence_parallel, optimizer=optimizer, precision=precision,
            microbatch_count=microbatch_count)
        capacity = hw.si.mem_capacity
        devices = sizes["tp"] * sizes["pp"] * sizes["dp"] * sizes["ep"] * sizes["cp"]
        trace = _memory_trace(breakdown, capacity, devices)
        w = BYTES_PER_ELEMENT[precision]
        per_param = w + max(w, 2.0) + optimizer_bytes_per_param(optimizer, w)
        return TrainingMemoryResult(
            model=spec.name, hardware=hw.name, precision=precision, optimizer_name=optimizer,
            seq_len=seq_len, batch_size=batch, microbatch_count=sizes["microbatch_count"],
            in_flight=in_flight, tp=sizes["tp"], pp=sizes["pp"], dp=sizes["dp"],
            ep=sizes["ep"], cp=sizes["cp"], zero_stage=zero_stage,
            activation_recomputation=mode, sequence_parallel=sp, stage=breakdown.stage,
            breakdown=breakdown, capacity_bytes=capacity, bytes_per_parameter=per_param,
            feasible=not trace, constraint_trace=trace,
            notes=_notes(optimizer, per_param, mode, sp, sizes["tp"], breakdown.stage,
                         in_flight))


def _memory_trace(breakdown, capacity: float, devices: int) -> tuple[Constraint, ...]:
    """() when the busiest device fits, else one constraint with the parts in numbers (no
    device count: adding data-parallel devices shrinks only what ZeRO shards)."""
    parts = breakdown.as_dict()
    if breakdown.total <= capacity:
        return ()
    labels = {"optimizer": "optimizer state"}
    listed = tuple((labels.get(k, k), v) for k, v in parts.items())
    state = breakdown.weights + breakdown.gradients + breakdown.optimizer
    detail = (f"model state alone is {format_bytes(state)}" if state > capacity else
              f"activations are {format_bytes(breakdown.activations)}")
    scope = f"per device (1 of {devices}): " if devices > 1 else ""
    return (Constraint("memory", breakdown.total, capacity, None, listed, scope,
                       detail=detail),)


def _notes(optimizer, per_param, mode, sp, tp, stage, in_flight) -> tuple[str, ...]:
    state = ("mixed-precision Adam: 16-bit weights and gradients plus an fp32 master copy, "
             "momentum and variance" if optimizer == "adam" else
             "SGD with momentum: weights, gradients, an fp32 master copy and one momentum "
             "buffer")
    notes = [f"Model state: {per_param:g} B per parameter before sharding ({state}; "
             "Rajbhandari et al. 2020, ZeRO §3.1, §5.1).",
             "Activations after Korthikanti et al. 2022 (arXiv 2205.05198) Table 2"
             + (", sequence-parallel over the tensor-parallel group" if sp and tp > 1 else "")
             + ("" if mode == "none" else f", {mode} recomputation") + "."]
    if stage != "whole model":
        notes.append(f"Pipeline: the busiest stage is the {stage} one "
                     f"({in_flight} microbatch{'es' if in_flight > 1 else ''} in flight "
                     "under 1F1B).")
    return tuple(notes)

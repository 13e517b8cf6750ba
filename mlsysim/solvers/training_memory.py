"""Training memory per device: :class:`TrainingMemoryModel`.

Weights, gradients, optimizer state and activations of one device of a training job split
``tp`` × ``pp`` × ``dp`` × ``ep`` × ``cp`` ways, against that device's usable memory. The
arithmetic is :func:`mlsysim.physics.training_memory.training_memory` (ZeRO, Rajbhandari et
al. 2020 §5.1; activations, Korthikanti et al. 2022 Table 2) — the same formula as the
engine's training footprint. Under 1F1B the first pipeline stage holds min(pp, m)
microbatches' activations (Narayanan et al. SC21, §2.2); the busiest stage is reported.
"""

from __future__ import annotations

from typing import NamedTuple

from ..constraints import Constraint
from ..formatting import format_bytes
from ..physics.training_memory import (
    OPTIMIZERS,
    RECOMPUTE_MODES,
    MemoryBreakdown,
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


class Config(NamedTuple):
    """A validated training-memory configuration and its breakdown."""

    model: TransformerWorkload
    seq_len: int
    batch: int
    tp: int
    pp: int
    dp: int
    ep: int
    cp: int
    microbatch_count: int
    zero_stage: int
    recompute: str
    sequence_parallel: bool
    optimizer: str
    precision: str
    in_flight: int
    breakdown: MemoryBreakdown


def resolve(model, *, seq_len=None, batch_size=1, tp=1, pp=1, dp=1, ep=1, cp=1,
            zero_stage=0, activation_recomputation="none", sequence_parallel=False,
            optimizer="adam", precision="bf16", microbatch_count=1) -> Config:
    """Validate the arguments (one clear ValueError each) and compute the breakdown."""
    spec = _model(model)
    s = spec.si
    seq_len = inputs.context_for(spec, seq_len)
    batch = inputs.positive_int("batch_size", batch_size)
    tp, pp, dp, ep, cp, m = (inputs.positive_int(k, v) for k, v in
                             (("tp", tp), ("pp", pp), ("dp", dp), ("ep", ep), ("cp", cp),
                              ("microbatch_count", microbatch_count)))
    zero_stage = _zero(zero_stage)
    mode = _choice("activation_recomputation", activation_recomputation, RECOMPUTE_MODES)
    sp = inputs.flag("sequence_parallel", sequence_parallel)
    optimizer = _choice("optimizer", optimizer, OPTIMIZERS)
    precision = _choice("precision", precision, TRAINING_PRECISIONS)
    if s.heads % tp:
        raise ValueError(f"tp={tp} must divide {spec.name}'s {s.heads} attention heads")
    if s.layers % pp:
        raise ValueError(f"pp={pp} must divide {spec.name}'s {s.layers} layers")
    if ep > 1 and s.experts <= 1:
        raise ValueError(f"ep={ep} splits experts; {spec.name} is a dense model (use ep=1)")
    if s.experts > 1 and s.experts % ep:
        raise ValueError(f"ep={ep} must divide {spec.name}'s {s.experts} experts")
    if seq_len % cp:
        raise ValueError(f"cp={cp} must divide seq_len={seq_len}")
    w = BYTES_PER_ELEMENT[precision]
    in_flight = min(pp, m) if pp > 1 else 1
    moe = s.experts > 1
    breakdown = training_memory(
        params=s.params, layers=s.layers, d_model=s.d_model, heads=s.heads, seq_len=seq_len,
        microbatch=batch, expert_params=expert_parameters(spec), vocab=s.vocab, tp=tp, pp=pp,
        dp=dp, ep=ep, cp=cp, zero_stage=zero_stage, recompute=mode, sequence_parallel=sp,
        optimizer=optimizer, weight_bytes=w, grad_bytes=max(w, 2.0), in_flight=in_flight,
        activation_bytes=w, ffn_dim=s.ffn_dim, gated_mlp=s.gated,
        experts=s.experts if moe else 0, experts_per_token=s.active_experts if moe else 1,
        tied_embeddings=s.tied, lm_head=s.causal)
    return Config(spec, seq_len, batch, tp, pp, dp, ep, cp, m, zero_stage, mode, sp,
                  optimizer, precision, in_flight, breakdown)


def memory_breakdown(model, **kwargs) -> MemoryBreakdown:
    """The :class:`MemoryBreakdown` (bytes per device, busiest stage) of ``model`` under the
    keyword arguments of :meth:`TrainingMemoryModel.solve` (without hardware)."""
    return resolve(model, **kwargs).breakdown


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
        c = resolve(model, seq_len=seq_len, batch_size=batch_size, tp=tp, pp=pp, dp=dp, ep=ep,
                    cp=cp, zero_stage=zero_stage,
                    activation_recomputation=activation_recomputation,
                    sequence_parallel=sequence_parallel, optimizer=optimizer,
                    precision=precision, microbatch_count=microbatch_count)
        capacity = hw.si.mem_capacity
        trace = _memory_trace(c.breakdown, capacity, c.tp * c.pp * c.dp * c.ep * c.cp)
        w = BYTES_PER_ELEMENT[c.precision]
        per_param = w + max(w, 2.0) + optimizer_bytes_per_param(c.optimizer, w)
        return TrainingMemoryResult(
            model=c.model.name, hardware=hw.name, precision=c.precision,
            optimizer_name=c.optimizer, seq_len=c.seq_len, batch_size=c.batch,
            microbatch_count=c.microbatch_count, in_flight=c.in_flight, tp=c.tp, pp=c.pp,
            dp=c.dp, ep=c.ep, cp=c.cp, zero_stage=c.zero_stage,
            activation_recomputation=c.recompute, sequence_parallel=c.sequence_parallel,
            stage=c.breakdown.stage, breakdown=c.breakdown, capacity_bytes=capacity,
            bytes_per_parameter=per_param, feasible=not trace, constraint_trace=trace,
            notes=_notes(c.optimizer, per_param, c.recompute, c.sequence_parallel, c.tp,
                         c.breakdown.stage, c.in_flight))


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

"""The one argument prelude of every solver: each bad argument fails with a ValueError that
names the parameter, the value and what is allowed (never a traceback from deep inside).

:func:`workload_args` validates what a step is (model, batch, context, phase, precisions) once,
for the scalar solve, the sweep, sensitivity, tensor parallelism and weight streaming alike;
:func:`efficiencies` resolves the η overrides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import NamedTuple

from ..specs.hardware import HardwareSpec
from ..specs.system import FleetSpec, NodeSpec
from ..specs.workload import SampleWorkload, TransformerWorkload
from ..vocabulary import BYTES_PER_ELEMENT, PHASE_CHOICES, Phase

DEFAULT_CONTEXT = 2048
_MAX_INT = 2**53  # integers beyond this are not exactly representable as floats


def resolve_model(model) -> TransformerWorkload | SampleWorkload:
    """A workload spec, or a registry name such as ``"Llama3_8B"``."""
    if isinstance(model, (TransformerWorkload, SampleWorkload)):
        return model
    if isinstance(model, str):
        from ..catalog import Models
        return Models.get(model)
    raise TypeError(f"model must be a workload spec (e.g. mlsysim.Models.Llama3_8B) or its "
                    f"name, got {type(model).__name__}")


def resolve_hardware(hardware) -> HardwareSpec:
    """A hardware spec, or a registry name such as ``"H100"``."""
    if isinstance(hardware, HardwareSpec):
        return hardware
    if isinstance(hardware, str):
        from ..catalog import Hardware
        from ..errors import UnknownNameError
        try:
            return Hardware.get(hardware)
        except UnknownNameError:
            not_a_device(hardware)
            raise
    if isinstance(hardware, (NodeSpec, FleetSpec)):
        not_a_device(hardware)
    raise TypeError(f"hardware must be a hardware spec (e.g. mlsysim.Hardware.H100) or its "
                    f"name, got {type(hardware).__name__}")


def shown(value, width: int = 40) -> str:
    """``repr(value)`` cut to ``width`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= width else f"{text[:width - 1]}…"


def not_a_device(system) -> None:
    """Raise a clear error when ``system`` (a spec or a catalog name) is a node or a fleet
    where one device was expected; return if it is neither."""
    if isinstance(system, str):
        from ..catalog import Systems
        if system not in Systems:
            return
        system = Systems.get(system)
    if isinstance(system, NodeSpec):
        raise ValueError(f"{system.key or system.name!r} is a node ({system.count} × "
                         f"{system.accelerator.name}), not one device: solve it with "
                         f"TensorParallelModel().solve(model, {system.key or 'node'!r}), or "
                         f"give a device such as {system.accelerator.key!r}")
    if isinstance(system, FleetSpec):
        raise ValueError(f"{system.key or system.name!r} is a fleet ({system.count} nodes of "
                         f"{system.node.name}), not one device: give a device such as "
                         f"{system.node.accelerator.key!r} or a node such as "
                         f"{system.node.key!r}")


def positive_int(name: str, value) -> int:
    """``value`` as an int ≥ 1; bools, floats (even 2.0), strings and ≤ 0 are refused."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be a positive integer, got {shown(value)} "
                         f"({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer (≥ 1), got {shown(value)}")
    if value > _MAX_INT:
        raise ValueError(f"{name} must be at most 2**53 (a float must hold it exactly), "
                         f"got a {len(str(int(value)))}-digit number")
    return int(value)


def fraction(name: str, value) -> float:
    """An efficiency in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number in (0, 1], got {shown(value)}")
    value = float(value)
    if not 0.0 < value <= 1.0 or value < 1e-6:
        raise ValueError(f"{name} must be in [1e-6, 1] (1 is the pure bound), got {shown(value)}")
    return value


def precision_bytes(precision, name: str = "precision") -> float:
    """Bytes per element of a known precision name."""
    try:
        return BYTES_PER_ELEMENT[precision]
    except (KeyError, TypeError):
        raise ValueError(f"{name} must be one of {', '.join(BYTES_PER_ELEMENT)}; "
                         f"got {shown(precision)}") from None


def peak_for(hw: HardwareSpec, precision: str) -> float:
    """Dense peak FLOP/s of ``hw`` at ``precision``; error names the supported precisions."""
    peak = hw.si.flops.get(precision) if isinstance(precision, str) else None
    if peak is None:
        precision_bytes(precision)
        raise ValueError(f"precision={shown(precision)} is not supported by {hw.name}; it supports "
                         f"{', '.join(hw.compute.precision_flops)}")
    return peak


def phase_for(model, phase) -> Phase:
    """The step a workload runs: decode (decoders' default), prefill (encoders' only phase,
    and the default for them), inference (per-sample networks: the only phase)."""
    if not isinstance(model, TransformerWorkload):
        if phase not in (None, Phase.INFERENCE.value):
            raise ValueError(f"phase applies to transformers; {model.name} is a per-sample "
                             f"network (one inference pass per batch), got phase={shown(phase)}")
        return Phase.INFERENCE
    if phase is None:
        return Phase.DECODE if model.si.causal else Phase.PREFILL
    if not isinstance(phase, str) or phase not in PHASE_CHOICES:
        raise ValueError(f"phase must be one of {', '.join(PHASE_CHOICES)}; got {shown(phase)}")
    if phase == Phase.DECODE and not model.si.causal:
        raise ValueError(f"phase='decode' needs a decoder; {model.name} is an encoder "
                         "(use phase='prefill')")
    return Phase(phase)


def context_for(model, seq_len) -> int | None:
    """Context / prompt length: ``seq_len``, else min(2048, the model's max_context)."""
    if not isinstance(model, TransformerWorkload):
        if seq_len is not None:
            raise ValueError(f"seq_len applies to transformers; {model.name} is a per-sample "
                             "network")
        return None
    max_ctx = model.si.max_context
    if seq_len is None:
        return min(DEFAULT_CONTEXT, max_ctx) if max_ctx else DEFAULT_CONTEXT
    seq_len = positive_int("seq_len", seq_len)
    if max_ctx and seq_len > max_ctx:
        raise ValueError(f"seq_len={seq_len} exceeds {model.name}'s max_context of {max_ctx} "
                         "tokens")
    return seq_len


def flag(name: str, value) -> bool:
    """A real bool: the string "False" is not silently true."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {shown(value)}")
    return value


@dataclass(frozen=True, slots=True)
class Precisions:
    """Numeric formats of one step: GEMMs compute at ``compute``; weights, activations and the
    KV cache are stored at their own formats (bytes per element alongside)."""

    compute: str
    weights: str
    activations: str
    kv: str

    @property
    def weight_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.weights]

    @property
    def activation_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.activations]

    @property
    def kv_bytes(self) -> float:
        return BYTES_PER_ELEMENT[self.kv]

    @property
    def weight_only_quantised(self) -> bool:
        return self.weight_bytes < BYTES_PER_ELEMENT[self.compute]

    def label(self) -> str:
        """'fp16', or 'fp16 (weights int4, KV fp8)' when operands differ."""
        extra = [f"weights {self.weights}" if self.weights != self.compute else "",
                 f"KV {self.kv}" if self.kv != self.activations else "",
                 f"activations {self.activations}" if self.activations != self.compute else ""]
        extra = [e for e in extra if e]
        return self.compute + (f" ({', '.join(extra)})" if extra else "")


def precisions(precision="fp16", weight_precision=None, kv_precision=None,
               activation_precision=None) -> Precisions:
    """Resolve the operand formats: weights and activations default to ``precision``, the KV
    cache to the activations' format."""
    precision_bytes(precision)
    weights = precision if weight_precision is None else weight_precision
    precision_bytes(weights, "weight_precision")
    acts = precision if activation_precision is None else activation_precision
    precision_bytes(acts, "activation_precision")
    kv = acts if kv_precision is None else kv_precision
    precision_bytes(kv, "kv_precision")
    return Precisions(compute=precision, weights=weights, activations=acts, kv=kv)


class RequestGroup(NamedTuple):
    """Requests sharing a decode-phase step with the step's own (``WorkloadArgs.fused``):
    ``batch`` sequences, each adding ``query_len`` new tokens over ``context`` past ones;
    ``name`` labels the group's attention kernel (``attention.<name>``)."""

    batch: int
    context: int
    query_len: int = 1
    last_logit_only: bool = False
    name: str = "fused"


@dataclass(frozen=True, slots=True)
class WorkloadArgs:
    """A validated step: which model, how many sequences or samples, at what context."""

    model: TransformerWorkload | SampleWorkload
    batch: int
    context: int | None
    phase: Phase
    precision: Precisions
    recompute: bool = False
    #: new tokens per sequence in a decode-phase step over ``context`` past tokens: 1 for
    #: ordinary decoding, k+1 to verify k drafted tokens, a chunk for chunked prefill
    query_len: int = 1
    #: only the last new token of each sequence needs logits (a prompt chunk, or a prompt
    #: after a cached prefix), not every one (speculative verification)
    last_logit_only: bool = False
    #: further request groups in the same decode-phase step (a mixed step of chunked
    #: prefill: the running requests' decode tokens beside a prompt chunk)
    fused: tuple[RequestGroup, ...] = ()

    @property
    def is_training(self) -> bool:
        return self.phase == Phase.TRAINING


def workload_args(model, batch_size=1, seq_len=None, phase=None, precision="fp16",
                  is_training=False, recompute=False, weight_precision=None, kv_precision=None,
                  activation_precision=None, batch_name: str = "batch_size") -> WorkloadArgs:
    """Validate a step's arguments in one place (see the module docstring)."""
    model = resolve_model(model)
    prec = precisions(precision, weight_precision, kv_precision, activation_precision)
    batch = positive_int(batch_name, batch_size)
    context = context_for(model, seq_len)
    if flag("is_training", is_training):
        if phase not in (None, Phase.TRAINING.value):
            raise ValueError(f"phase does not apply to training (is_training=True), got "
                             f"phase={shown(phase)}")
        step_phase = Phase.TRAINING
    else:
        step_phase = phase_for(model, phase)
    return WorkloadArgs(model=model, batch=batch, context=context, phase=step_phase,
                        precision=prec, recompute=flag("recompute", recompute))


@dataclass(frozen=True, slots=True)
class Efficiencies:
    """η overrides: ``None`` means the device class calibration; a number is a flat fraction
    for every kernel (``efficiency``: compute, ``memory_efficiency``: bandwidth);
    ``launch_overhead`` replaces the per-kernel launch cost (seconds)."""

    compute: float | None = None
    memory: float | None = None
    launch: float | None = None


def efficiencies(efficiency=None, memory_efficiency=None, launch_overhead=None) -> Efficiencies:
    compute = None if efficiency is None else fraction("efficiency", efficiency)
    memory = None if memory_efficiency is None else fraction("memory_efficiency",
                                                             memory_efficiency)
    launch = None if launch_overhead is None else seconds("launch_overhead", launch_overhead,
                                                          allow_zero=True)
    return Efficiencies(compute, memory, launch)


def seconds(name: str, value, allow_zero: bool = False, unit: str = "s",
            example: str | None = None) -> float:
    """``value`` (a Quantity or a string such as '50 ms') as a float in ``unit``: finite,
    positive (or zero if allowed) and within the physical range of :func:`units.checked`.
    ``example`` shows the expected form in errors (default '50 ms' for seconds, else
    '1 <unit>')."""
    from ..units import checked

    example = example or ("'50 ms'" if unit == "s" else f"'1 {unit}'")
    if isinstance(value, (bool, int, float)):
        raise ValueError(f"{name} must be a quantity in {unit} (e.g. {example}), got the bare "
                         f"number {shown(value)}")
    q = checked(value, unit, name, allow_zero, example=example)
    return float(q.to(unit).magnitude)


def in_range(name: str, value: float, shown_as: str, unit: str, allow_zero: bool) -> float:
    """``value`` (SI) if finite, non-negative (positive unless ``allow_zero``) and within
    :data:`mlsysim.units.SI_RANGE`; else a one-line ValueError naming ``name``."""
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {shown_as}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, "
                         f"got {shown_as}")
    from ..units import SI_RANGE

    low, high = SI_RANGE
    if value and not low <= value <= high:
        raise ValueError(f"{name}: {shown_as} is {value:.3g} {unit}, outside the range a "
                         f"physical quantity here can take ({low:g} to {high:g} {unit})")
    return value


def duration_seconds(name: str, value) -> float:
    """A positive duration in seconds: a number of milliseconds, or a Quantity/string such
    as '50 ms'."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number of milliseconds, got {value!r}")
    if isinstance(value, Real):
        ms = float(value)
        if not math.isfinite(ms) or ms <= 0:
            raise ValueError(f"{name} must be a positive, finite number of milliseconds, got "
                             f"{shown(value)}")
        return in_range(name, ms / 1e3, f"{shown(value)} ms", "s", allow_zero=False)
    return seconds(name, value)

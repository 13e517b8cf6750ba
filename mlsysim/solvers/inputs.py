"""Checks shared by every solver: each bad argument fails with a ValueError that names the
parameter, the value and what is allowed (never a traceback from deep inside)."""

from __future__ import annotations

from numbers import Integral, Real

from ..specs.hardware import HardwareSpec
from ..specs.workload import SampleWorkload, TransformerWorkload
from ..units import BYTES_PER_ELEMENT

PHASES = ("decode", "prefill")


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
        return Hardware.get(hardware)
    raise TypeError(f"hardware must be a hardware spec (e.g. mlsysim.Hardware.H100) or its "
                    f"name, got {type(hardware).__name__}")


def positive_int(name: str, value) -> int:
    """``value`` as an int ≥ 1; bools, floats (even 2.0), strings and ≤ 0 are refused."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be a positive integer, got {value!r} "
                         f"({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer (≥ 1), got {value!r}")
    return int(value)


def fraction(name: str, value) -> float:
    """An efficiency in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be in (0, 1] (1 is the pure roofline bound), got {value!r}")
    return value


def precision_bytes(precision) -> float:
    """Bytes per element of a known precision name."""
    try:
        return BYTES_PER_ELEMENT[precision]
    except (KeyError, TypeError):
        raise ValueError(f"precision must be one of {', '.join(BYTES_PER_ELEMENT)}; "
                         f"got {precision!r}") from None


def peak_for(hw: HardwareSpec, precision: str) -> float:
    """Dense peak FLOP/s of ``hw`` at ``precision``; error names the supported precisions."""
    peak = hw.si.flops.get(precision)
    if peak is None:
        precision_bytes(precision)
        raise ValueError(f"precision={precision!r} is not supported by {hw.name}; it supports "
                         f"{', '.join(hw.compute.precision_flops)}")
    return peak


def phase_for(model, phase) -> str:
    """'decode' (default for decoders) or 'prefill' (the only phase of an encoder)."""
    if phase is None:
        return "prefill" if isinstance(model, TransformerWorkload) and not model.si.causal \
            else "decode"
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}; got {phase!r}")
    if phase == "decode" and isinstance(model, TransformerWorkload) and not model.si.causal:
        raise ValueError(f"phase='decode' needs a decoder; {model.name} is an encoder "
                         "(use phase='prefill')")
    return phase


DEFAULT_CONTEXT = 2048


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

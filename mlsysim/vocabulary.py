"""The project's fixed vocabulary, defined once: precisions, tiers, categories, and the
str-valued enums results use (phase, bottleneck, unit, operator kind).

This module imports nothing heavy (no pint, no pydantic, no numpy), so the CLI can build its
argument choices from it without slowing ``mlsysim --help``. The enums subclass ``str``:
``result.bottleneck == "Memory"`` and ``f"{result.phase}"`` keep working.
"""

from __future__ import annotations

from enum import Enum

#: Bytes per element of each numeric precision (DESIGN.md §4). Integer formats count OP/s.
BYTES_PER_ELEMENT: dict[str, float] = {
    "fp32": 4.0,
    "tf32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
    "fp4": 0.5,
}
PRECISIONS: tuple[str, ...] = tuple(BYTES_PER_ELEMENT)

#: Registry group attribute → hardware ``tier`` value.
HARDWARE_TIERS: dict[str, str] = {"Cloud": "cloud", "Workstation": "workstation",
                                  "Mobile": "mobile", "Edge": "edge", "Tiny": "tiny"}
#: Registry group attribute → model ``category`` value.
MODEL_CATEGORIES: dict[str, str] = {"Language": "language", "Vision": "vision", "Tiny": "tiny",
                                    "Recommendation": "recommendation"}


class _StrEnum(str, Enum):
    """A str enum whose ``str()`` and format are its value (as ``enum.StrEnum`` in 3.11)."""

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:  # 'Memory', as the plain string it compares equal to: an
        return repr(self.value)  # inline `{python} r.bottleneck` on a page reads Memory

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def parse(cls, name: str, value) -> _StrEnum:
        """``value`` as a member; a ValueError names the parameter and the allowed values."""
        try:
            return cls(value)
        except (ValueError, TypeError):
            allowed = ", ".join(m.value for m in cls)
            raise ValueError(f"{name} must be one of {allowed}; got {value!r}") from None


class Phase(_StrEnum):
    """What one step of a workload is."""

    DECODE = "decode"  # every sequence emits one token
    PREFILL = "prefill"  # the prompts are processed at once (the only phase of an encoder)
    INFERENCE = "inference"  # one forward pass of a per-sample network on a batch
    TRAINING = "training"  # forward + backward + optimizer update


class Bottleneck(_StrEnum):
    """The resource that accounts for the largest share of a step's time."""

    COMPUTE = "Compute"
    MEMORY = "Memory"
    COMMUNICATION = "Communication"
    OVERHEAD = "Overhead"


class WorkUnit(_StrEnum):
    """What a step's throughput counts."""

    TOKEN = "token"
    SAMPLE = "sample"


class OpKind(_StrEnum):
    """Operator (kernel) kinds of the per-operator cost model (DESIGN.md §4)."""

    GEMM = "gemm"
    ATTENTION = "attention"
    ELEMENTWISE = "elementwise"
    GATHER = "gather"
    COLLECTIVE = "collective"
    TRANSFER = "transfer"


PHASE_CHOICES: tuple[str, ...] = (Phase.DECODE.value, Phase.PREFILL.value)

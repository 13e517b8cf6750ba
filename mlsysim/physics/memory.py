"""Memory footprints (floats; bytes)."""

from __future__ import annotations

from .training_memory import model_state_bytes

#: Mixed-precision Adam: 2 B weights + 2 B gradients + 12 B optimizer state (fp32 master copy,
#: momentum, variance) = 16 B per parameter (Rajbhandari et al. 2020, "ZeRO", §3.1).
ADAM_MIXED_PRECISION_BYTES_PER_PARAM = 16.0


def weight_bytes(params: float, bytes_per_elem: float) -> float:
    """Bytes to hold ``params`` parameters at ``bytes_per_elem`` each."""
    return params * bytes_per_elem


def training_state_bytes(params: float) -> float:
    """Weights, gradients and Adam state for mixed-precision training (16 B/param); the
    formula is :func:`.training_memory.model_state_bytes` (ZeRO stages, SGD)."""
    return sum(model_state_bytes(params))


def devices_needed(footprint: float, capacity: float) -> int:
    """Smallest device count whose pooled capacity holds ``footprint`` (ignores replication)."""
    if capacity <= 0:
        raise ValueError("capacity must be positive")
    whole = int(-(-footprint // capacity))
    return max(1, whole)

"""An operator plan: one step of a workload as a list of operators (kernels), with everything
that does not depend on the hardware — FLOPs, bytes at each operand's precision, the shape that
sets each kernel's efficiency — and the step's footprint.

Operators of identical layers are stored once with a ``count`` (a Llama decode step is about a
dozen operators, each run once per layer, not 400 rows). Per-operator arrays have the operators
on axis 0; for the vectorised sweep they carry the grid's axes after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..physics.combine import weighted_sum
from ..vocabulary import OpKind, Phase, WorkUnit

#: where an operator's compute rate comes from
GEMM_PEAK, ATTENTION_PEAK, VECTOR_PEAK, NO_COMPUTE = "gemm", "attention", "vector", "none"


@dataclass(slots=True)
class _Row:
    name: str
    kind: OpKind
    count: float
    flops: object
    bytes: object
    rows: object = 0.0
    weight_bytes: object = 0.0
    message: object = 0.0
    group: int = 1
    peak: str = GEMM_PEAK
    streams_kv: bool = False
    latency: float = 0.0


class OperatorList:
    """Accumulates operators while a plan is built, then freezes them into arrays."""

    def __init__(self):
        self.rows: list[_Row] = []

    def add(self, name: str, kind: OpKind, count: float, flops, bytes_moved, *, rows=0.0,
            weight_bytes=0.0, message=0.0, group: int = 1, peak: str | None = None,
            streams_kv: bool = False, latency: float = 0.0) -> None:
        if peak is None:
            peak = {OpKind.GEMM: GEMM_PEAK, OpKind.ATTENTION: ATTENTION_PEAK,
                    OpKind.COLLECTIVE: NO_COMPUTE, OpKind.TRANSFER: NO_COMPUTE}.get(
                        kind, VECTOR_PEAK)
        self.rows.append(_Row(name, kind, float(count), flops, bytes_moved, rows, weight_bytes,
                              message, group, peak, streams_kv, float(latency)))

    def arrays(self, grid_shape: tuple[int, ...] = ()) -> dict:
        """Per-operator arrays, shape (n,) for a scalar step or (n, *grid_shape)."""
        shape = (len(self.rows), *grid_shape)

        def stack(attr):
            values = [getattr(r, attr) for r in self.rows]
            if not grid_shape:
                return np.array(values, dtype=float)
            out = np.empty(shape)
            for i, v in enumerate(values):
                out[i] = v
            return out

        return {
            "names": tuple(r.name for r in self.rows),
            "kinds": tuple(r.kind for r in self.rows),
            "peaks": tuple(r.peak for r in self.rows),
            "count": np.array([r.count for r in self.rows], dtype=float),
            "groups": np.array([r.group for r in self.rows], dtype=np.int64),
            "streams_kv": np.array([r.streams_kv for r in self.rows], dtype=bool),
            "latency": np.array([r.latency for r in self.rows], dtype=float),
            "flops": stack("flops"), "bytes": stack("bytes"), "rows": stack("rows"),
            "weight_bytes": stack("weight_bytes"), "message": stack("message"),
        }


@dataclass(frozen=True, slots=True)
class OperatorPlan:
    """A step of a workload as operators (hardware-independent; SI floats or arrays).

    ``footprint`` maps weights / kv_cache / activations / optimizer to bytes the step must hold
    (per device for a sharded plan). ``units`` are the tokens or samples the step produces."""

    names: tuple[str, ...]
    kinds: tuple[OpKind, ...]
    peaks: tuple[str, ...]
    count: np.ndarray
    groups: np.ndarray
    streams_kv: np.ndarray
    latency: np.ndarray  # fixed seconds of a transfer (wafer fabric crossing, hop)
    flops: np.ndarray
    bytes: np.ndarray
    rows: np.ndarray
    weight_bytes: np.ndarray
    message: np.ndarray
    phase: Phase
    unit: WorkUnit
    units: object
    footprint: dict
    precision: object  # inputs.Precisions
    devices: int = 1
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def build(cls, ops: OperatorList, grid_shape=(), **step) -> OperatorPlan:
        return cls(**ops.arrays(grid_shape), **step)

    @property
    def total_flops(self):
        """FLOPs of the whole step (per device for a sharded plan)."""
        return _weighted(self.count, self.flops)

    @property
    def total_bytes(self):
        """Bytes moved to and from device memory in the whole step (per device)."""
        return _weighted(self.count, self.bytes)

    @property
    def kernels(self) -> float:
        """Kernel launches per step."""
        return float(self.count.sum())

    @property
    def footprint_bytes(self):
        return sum(self.footprint.values())

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no operator {name!r}; operators are {', '.join(self.names)}") \
                from None


def _weighted(count: np.ndarray, per_op: np.ndarray):
    """Σ count·x in operator order (the combinator's summation, for exact sweep equality)."""
    return weighted_sum(per_op, count)

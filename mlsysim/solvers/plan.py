"""An operator plan: one step of a workload as a list of operators (kernels), with everything
that does not depend on the hardware — FLOPs, bytes at each operand's precision, the shape that
sets each kernel's efficiency — and the step's footprint.

Operators of identical layers are stored once with a ``count`` (a Llama decode step is about a
dozen operators, each run once per layer, not 400 rows). Per-operator arrays have the operators
on axis 0; for the vectorised sweep they carry the grid's axes after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..physics.combine import weighted_sum
from ..physics.fleet_collectives import ALLREDUCE, check_collective
from ..vocabulary import OpKind, Phase, WorkUnit

#: where an operator's compute rate comes from (the index is the operator's ``peak_code``)
GEMM_PEAK, ATTENTION_PEAK, VECTOR_PEAK, NO_COMPUTE = "gemm", "attention", "vector", "none"
PEAK_CODES = (GEMM_PEAK, ATTENTION_PEAK, VECTOR_PEAK, NO_COMPUTE)
#: which bandwidth fraction an operator streams at (the index is its ``memory_code``)
PLAIN_STREAM, WEIGHT_STREAM, KV_STREAM = 0, 1, 2


_DEFAULT_PEAK = {OpKind.GEMM: GEMM_PEAK, OpKind.ATTENTION: ATTENTION_PEAK,
                 OpKind.COLLECTIVE: NO_COMPUTE, OpKind.TRANSFER: NO_COMPUTE}
_PEAK_INDEX = {p: i for i, p in enumerate(PEAK_CODES)}
_LINK_KINDS = (OpKind.COLLECTIVE, OpKind.TRANSFER)
_NUMERIC = ("flops", "bytes", "rows", "weight_bytes", "message")


class OperatorList:
    """Accumulates operators while a plan is built (one list per column), then freezes them
    into arrays."""

    def __init__(self):
        self.names, self.kinds, self.peaks, self.count = [], [], [], []
        self.groups, self.streams_kv, self.latency = [], [], []
        self.collectives, self.ranks_per_node = [], []
        self.columns = {name: [] for name in _NUMERIC}

    def add(self, name: str, kind: OpKind, count: float, flops, bytes_moved, *, rows=1.0,
            weight_bytes=0.0, message=0.0, group: int = 1, peak: str | None = None,
            streams_kv: bool = False, latency: float = 0.0, collective: str = ALLREDUCE,
            ranks_per_node: int | None = None) -> None:
        """One operator, run ``count`` times per step; ``rows`` is the shape its efficiency
        curve reads (GEMM rows, attention context). A collective moves ``message`` bytes
        (nccl-tests' size convention, ``physics.fleet_collectives``) among ``group`` ranks
        with ``collective`` ∈ allreduce, reduce_scatter, allgather, alltoall, p2p;
        ``ranks_per_node`` of them share a node (default: the whole group in one node)."""
        if collective != ALLREDUCE:
            check_collective(collective)
        if ranks_per_node is None or ranks_per_node >= group:
            ranks_per_node = 0  # the whole group inside one node
        elif ranks_per_node < 1 or group % ranks_per_node:
            raise ValueError(f"operator {name!r}: ranks_per_node must be a positive divisor "
                             f"of the group ({group}); got {ranks_per_node!r}")
        peak = peak or _DEFAULT_PEAK.get(kind, VECTOR_PEAK)
        if peak not in (GEMM_PEAK, ATTENTION_PEAK):
            rows = 1.0  # no shape curve: rows / (rows + 0) = 1
        self.names.append(name)
        self.kinds.append(kind)
        self.peaks.append(peak)
        self.count.append(float(count))
        self.groups.append(group)
        self.streams_kv.append(streams_kv)
        self.latency.append(float(latency))
        self.collectives.append(collective)
        self.ranks_per_node.append(int(ranks_per_node))
        cols = self.columns
        cols["flops"].append(flops)
        cols["bytes"].append(bytes_moved)
        cols["rows"].append(rows)
        cols["weight_bytes"].append(weight_bytes)
        cols["message"].append(message)

    def arrays(self, grid_shape: tuple[int, ...] = ()) -> dict:
        """Per-operator arrays, shape (n,) for a scalar step or (n, *grid_shape)."""
        n = len(self.names)
        shape = (n, *grid_shape)

        def stack(values):
            if not grid_shape:
                return np.array(values, dtype=float)
            out = np.empty(shape)
            for i, v in enumerate(values):
                out[i] = v
            return out

        peaks = tuple(self.peaks)
        return {
            "names": tuple(self.names), "kinds": tuple(self.kinds), "peaks": peaks,
            "peak_code": np.array([_PEAK_INDEX[p] for p in peaks], dtype=np.intp),
            "memory_code": np.array([KV_STREAM if kv else WEIGHT_STREAM if p == GEMM_PEAK
                                     else PLAIN_STREAM
                                     for p, kv in zip(peaks, self.streams_kv, strict=True)],
                                    dtype=np.intp),
            "kernel": np.array([k not in _LINK_KINDS for k in self.kinds], dtype=float),
            "has_link": any(k in _LINK_KINDS for k in self.kinds),
            "count": np.array(self.count, dtype=float),
            "groups": np.array(self.groups, dtype=np.intp),
            "streams_kv": np.array(self.streams_kv, dtype=bool),
            "latency": np.array(self.latency, dtype=float),
            "collectives": tuple(self.collectives),
            "ranks_per_node": np.array(self.ranks_per_node, dtype=np.intp),
            **{name: stack(values) for name, values in self.columns.items()},
        }


@dataclass(frozen=True)
class OperatorPlan:
    """A step of a workload as operators (hardware-independent; SI floats or arrays).

    ``footprint`` maps weights / kv_cache / activations / optimizer to bytes the step must hold
    (per device for a sharded plan). ``units`` are the tokens or samples the step produces."""

    names: tuple[str, ...]
    kinds: tuple[OpKind, ...]
    peaks: tuple[str, ...]
    peak_code: np.ndarray  # index into PEAK_CODES
    memory_code: np.ndarray  # PLAIN_STREAM, WEIGHT_STREAM or KV_STREAM
    kernel: np.ndarray  # 1.0 for an on-device kernel (pays a launch), 0.0 for a transfer
    has_link: bool
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
    #: per operator: the collective it runs (allreduce when absent) and how many of its group
    #: share a node (0 or absent: the whole group inside one node)
    collectives: tuple[str, ...] = field(default=())
    ranks_per_node: np.ndarray | None = None

    @classmethod
    def build(cls, ops: OperatorList, grid_shape=(), **step) -> OperatorPlan:
        return cls(**ops.arrays(grid_shape), **step)

    def frozen(self) -> OperatorPlan:
        """This plan with its arrays made read-only (plans are shared between solves)."""
        for value in (self.peak_code, self.memory_code, self.kernel, self.count, self.groups,
                      self.streams_kv, self.latency, self.flops, self.bytes, self.rows,
                      self.weight_bytes, self.message, self.ranks_per_node):
            if value is not None:
                value.flags.writeable = False
        return self

    @cached_property
    def total_flops(self):
        """FLOPs of the whole step (per device for a sharded plan)."""
        return _weighted(self.count, self.flops)

    @cached_property
    def total_bytes(self):
        """Bytes moved to and from device memory in the whole step (per device)."""
        return _weighted(self.count, self.bytes)

    @cached_property
    def link_operators(self) -> tuple[int, ...]:
        """Indices of the collectives and transfers (the operators with a link time)."""
        return tuple(i for i, k in enumerate(self.kinds)
                     if k in (OpKind.COLLECTIVE, OpKind.TRANSFER))

    @cached_property
    def link_specs(self) -> tuple[tuple[int, bool, int, str, int], ...]:
        """(index, is a collective, group, collective, ranks per node) of each link operator
        (what the engine's link dispatch reads, computed once per plan)."""
        return tuple((i, self.kinds[i] == OpKind.COLLECTIVE, int(self.groups[i]),
                      *self.collective_of(i)) for i in self.link_operators)

    def collective_of(self, i: int) -> tuple[str, int]:
        """(collective, ranks per node; 0 = the whole group in one node) of operator ``i``."""
        if i < len(self.collectives):
            return self.collectives[i], int(self.ranks_per_node[i])
        return ALLREDUCE, 0

    @cached_property
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

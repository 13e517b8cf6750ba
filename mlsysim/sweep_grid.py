"""The grid machinery behind :func:`mlsysim.sweep`: :class:`SweepResult`, validated grid
axes, the operator plan of a whole grid and its solve on one device through the one
combinator (every grid point equals the scalar solve). :mod:`mlsysim.sweeps` (one model on one
device) and :mod:`mlsysim.design_space` (every combination, as a tidy table) both build on it."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from .physics.combine import bottleneck_of
from .solvers import inputs
from .solvers.engine import build_plan, step_times
from .solvers.evaluate import device_rates
from .specs.workload import TransformerWorkload

__all__ = ["MAX_GRID_BYTES", "SweepResult", "grid_plan", "solve_plan"]

_INT64_SAFE = 2**62  # largest integer product (batch × tokens × width) we let int64 hold
#: refuse grids whose operator arrays would need more than this many bytes
MAX_GRID_BYTES = 2e9


@dataclass(frozen=True, slots=True, eq=False)
class SweepResult:
    """A grid of engine solves. Arrays share one shape; times in s, sizes in bytes.

    ``t_compute`` / ``t_memory`` are the step's two bills (as ``Engine.solve``);
    ``time_compute`` etc. are not kept: ``bottleneck`` names the resource with the largest
    share. ``throughput`` is in ``unit``/s (tokens or samples); ``arithmetic_intensity`` in
    FLOP/byte; ``feasible`` says whether ``footprint_bytes`` fits the device's usable
    ``capacity_bytes`` (timings of infeasible points are *as if it fit*). ``seq_len`` is None
    for per-sample networks."""

    model: str
    hardware: str
    precision: str
    phase: str  # "decode", "prefill" or "training"
    unit: str  # "token" or "sample"
    batch_size: np.ndarray
    seq_len: np.ndarray | None
    flops: np.ndarray
    bytes: np.ndarray
    t_compute: np.ndarray
    t_memory: np.ndarray
    t_overhead: np.ndarray
    t_communication: np.ndarray
    latency_s: np.ndarray
    throughput: np.ndarray
    arithmetic_intensity: np.ndarray
    footprint_bytes: np.ndarray
    feasible: np.ndarray
    bottleneck: np.ndarray
    capacity_bytes: float
    peak_flops: float  # FLOP/s at ``precision`` (dense)
    eta_compute: float
    eta_memory: float

    @property
    def shape(self) -> tuple[int, ...]:
        return self.latency_s.shape

    def __len__(self) -> int:
        return int(self.latency_s.size)

    @property
    def achieved_flops(self) -> np.ndarray:
        """FLOP/s actually sustained: FLOPs / latency."""
        return self.flops / self.latency_s

    def to_rows(self) -> list[dict]:
        """One dict of plain Python values per grid point (row-major order), SI units."""
        cols = {"batch_size": self.batch_size}
        if self.seq_len is not None:
            cols["seq_len"] = self.seq_len
        cols.update(flops=self.flops, bytes=self.bytes, t_compute=self.t_compute,
                    t_memory=self.t_memory, t_overhead=self.t_overhead,
                    latency_s=self.latency_s, throughput=self.throughput,
                    arithmetic_intensity=self.arithmetic_intensity,
                    footprint_bytes=self.footprint_bytes, feasible=self.feasible,
                    bottleneck=self.bottleneck)
        flat = {k: v.ravel().tolist() for k, v in cols.items()}
        return [dict(zip(flat, values, strict=True)) for values in zip(*flat.values(),
                                                                        strict=True)]

    def best(self) -> dict | None:
        """The feasible grid point of highest throughput (a ``to_rows`` dict), or None."""
        score = np.where(self.feasible, self.throughput, -np.inf).ravel()
        if not self.feasible.any():
            return None
        return self.to_rows()[int(np.argmax(score))]

    def table(self, max_rows: int = 24, title: str | None = None):
        """An HTML/text table (``mlsysim.show.Table``); infeasible rows are highlighted.

        A grid larger than ``max_rows`` is shown at evenly spaced points."""
        from .show import table
        from .units import Q_

        n = len(self)
        picks = np.unique(np.linspace(0, n - 1, min(n, max_rows)).round().astype(int))
        rows, warn = [], []
        seq = self.seq_len.ravel() if self.seq_len is not None else None
        for k, i in enumerate(picks):
            fits = bool(self.feasible.flat[i])
            row = [int(self.batch_size.flat[i])] + ([int(seq[i])] if seq is not None else [])
            row += [Q_(float(self.latency_s.flat[i]), "s"),
                    Q_(float(self.throughput.flat[i]), f"{self.unit}/s"),
                    str(self.bottleneck.flat[i]), Q_(float(self.footprint_bytes.flat[i]), "B"),
                    "yes" if fits else "NO (as if it fit)"]
            rows.append(row)
            if not fits:
                warn.append(k)
        headers = ["Batch"] + (["Context (tokens)"] if seq is not None else []) + [
            "Latency", "Throughput", "Bottleneck", "Footprint", "Fits"]
        caption = title or (f"{self.model} on {self.hardware}: {self.phase}, {self.precision}"
                            + (f" ({len(picks)} of {n:,} points)" if len(picks) < n else ""))
        return table(headers, rows, caption=caption, highlight=warn)



# -- validation ------------------------------------------------------------------------------
_MAX_AXIS = 10_000_000  # values on one sweep axis


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:12]}… ({len(text)} characters)"


def _positive_ints(name: str, values) -> np.ndarray:
    """``values`` (an int or a 1-D sequence of them) as an int64 array of values ≥ 1."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a positive integer or a 1-D sequence of them, "
                         f"got {values!r}")
    try:
        length = len(values)
    except TypeError:
        length = None
    if length is not None and length > _MAX_AXIS:  # before numpy allocates it
        raise ValueError(f"{name} has {length:,} values; a sweep axis holds at most "
                         f"{_MAX_AXIS:,} — sweep fewer points or in chunks")
    ragged = ValueError(f"{name} must be a positive integer or a 1-D sequence of them (a "
                        "ragged, nested or mixed sequence cannot be a grid axis)")
    try:
        ndim = np.ndim(values)
    except (ValueError, TypeError, OverflowError):
        raise ragged from None
    if ndim == 0:
        value = values.item() if isinstance(values, np.generic | np.ndarray) else values
        return np.asarray(inputs.positive_int(name, value), dtype=np.int64)
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        raise ragged from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a positive integer or a 1-D sequence of them, got "
                         f"an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    bad = next((v for v in items if isinstance(v, bool) or not isinstance(v, Integral)), None)
    if bad is None and arr.dtype.kind not in "iu":  # Python ints beyond int64
        raise ValueError(f"{name} holds {_short(max(items))}, too large for a sweep")
    if bad is not None:
        raise ValueError(f"{name} must hold positive integers, got {_short(bad)} "
                         f"({type(bad).__name__})")
    if (arr < 1).any():
        raise ValueError(f"{name} must hold positive integers (≥ 1), got {arr[arr < 1][0]!r}")
    if arr.max() > _INT64_SAFE:
        raise ValueError(f"{name} holds {_short(int(arr.max()))}, too large for a sweep")
    return arr.astype(np.int64)


def _grid(model, batch_sizes, seq_lens) -> tuple[np.ndarray, np.ndarray | None]:
    """Broadcast batch sizes × context lengths to one outer grid (validated)."""
    b = _positive_ints("batch_sizes", batch_sizes)
    if not isinstance(model, TransformerWorkload):
        if seq_lens is not None:
            raise ValueError(f"seq_lens applies to transformers; {model.name} is a per-sample "
                             "network")
        return b, None
    if seq_lens is None:
        s = np.asarray(inputs.context_for(model, None), dtype=np.int64)
    else:
        s = _positive_ints("seq_lens", seq_lens)
        max_ctx = model.si.max_context
        if max_ctx and (s > max_ctx).any():
            raise ValueError(f"seq_lens holds {int(s.max())}, beyond {model.name}'s max_context "
                             f"of {max_ctx} tokens")
    width = model.si.d_model + model.si.ffn_dim  # widest integer product in the plan
    if int(b.max()) * int(s.max()) * width >= _INT64_SAFE:
        raise ValueError("batch_sizes × seq_lens is too large for a sweep (int64 overflow)")
    shape = b.shape + s.shape
    b = np.broadcast_to(b.reshape(b.shape + (1,) * s.ndim), shape)
    return b, np.broadcast_to(s, shape)


def _frozen(x, shape, dtype=np.float64) -> np.ndarray:
    arr = np.array(np.broadcast_to(np.asarray(x, dtype=dtype), shape))
    arr.flags.writeable = False
    return arr


def _check_size(model, shape: tuple[int, ...]) -> None:
    """Refuse, before the operator arrays are allocated, a grid that would not fit in memory
    (the axes are validated and the grid broadcast as views first: no allocation yet)."""
    nb = shape[0] if shape else 1
    ns = shape[1] if len(shape) > 1 else 1
    points = nb * ns
    ops = 40 if isinstance(model, TransformerWorkload) else 200
    need = points * ops * 8.0 * 12  # a dozen float64 arrays per operator
    if need > MAX_GRID_BYTES:
        raise ValueError(f"the sweep grid has {points:,} points ({nb:,} batch sizes × {ns:,} "
                         f"contexts), about {need / 1e9:,.1f} GB of working arrays; the limit "
                         f"is {MAX_GRID_BYTES / 1e9:.0f} GB — sweep fewer points or in chunks")


def grid_plan(probe: inputs.WorkloadArgs, batch_sizes, seq_lens):
    """The operator plan of the validated step ``probe`` over batch sizes × contexts, with the
    broadcast grid: ``(plan, batch, context)``. A plan does not depend on the device, so a
    design-space sweep builds it once per (model, precision) and solves it on every device."""
    m = probe.model
    batch, context = _grid(m, batch_sizes, seq_lens)
    shape = batch.shape
    _check_size(m, shape)
    args = inputs.WorkloadArgs(model=m, batch=batch, context=context, phase=probe.phase,
                               precision=probe.precision, recompute=probe.recompute)
    return build_plan(args, grid_shape=shape), batch, context


def solve_plan(plan, probe: inputs.WorkloadArgs, batch, context, hw, effs,
               cost_model: str) -> SweepResult:
    """Time a grid plan on one device through the one combinator (as ``Engine.solve``)."""
    m, shape = probe.model, batch.shape
    rates = device_rates(hw, probe.precision, effs)
    times = step_times(plan, rates, cost_model)
    t_c, t_m = times.compute_bill, times.memory_bill
    latency = times.latency
    bottleneck = bottleneck_of(times.compute, times.memory, times.communication,
                               times.overhead)
    footprint = plan.footprint_bytes
    flops, nbytes = plan.total_flops, plan.total_bytes
    return SweepResult(
        model=m.name, hardware=hw.name, precision=probe.precision.label(),
        phase=str(probe.phase), unit=str(plan.unit),
        batch_size=_frozen(batch, shape, np.int64),
        seq_len=None if context is None else _frozen(context, shape, np.int64),
        flops=_frozen(flops, shape), bytes=_frozen(nbytes, shape),
        t_compute=_frozen(t_c, shape), t_memory=_frozen(t_m, shape),
        t_overhead=_frozen(times.overhead, shape),
        t_communication=_frozen(times.communication, shape),
        latency_s=_frozen(latency, shape),
        throughput=_frozen(plan.units / latency, shape),
        arithmetic_intensity=_frozen(flops / nbytes, shape),
        footprint_bytes=_frozen(footprint, shape),
        feasible=_frozen(footprint <= hw.si.mem_capacity, shape, bool),
        bottleneck=_frozen(bottleneck, shape, np.asarray(bottleneck).dtype),
        capacity_bytes=hw.si.mem_capacity, peak_flops=rates.gemm_peak,
        eta_compute=rates.gemm_ceiling, eta_memory=rates.eta_memory)

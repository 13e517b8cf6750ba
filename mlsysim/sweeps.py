"""Vectorised sweeps: ``mlsysim.sweep(model, hardware, batch_sizes=..., seq_lens=...)``.

(With lists — ``sweep(models=[...], hardware=[...], precisions=[...], ...)`` — the same grids
for every combination, as one tidy table: :mod:`mlsysim.design_space`.)

One call evaluates ``Engine.solve`` over a whole grid of batch sizes × context lengths with
numpy: the same operator plan (built with arrays), the same device rates, the same combinator
and the same feasibility rule, so every grid point equals the scalar solve exactly. 1-D (or
scalar) ``batch_sizes`` and ``seq_lens`` span an outer grid: arrays of shape
``(len(batch_sizes), len(seq_lens))``, with a scalar argument dropping its axis. The grid is
refused, with its size, before anything is allocated when it would not fit in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from .physics.combine import bottleneck_of
from .solvers import inputs
from .solvers.engine import build_plan, check_cost_model, step_times
from .solvers.evaluate import device_rates
from .specs.workload import TransformerWorkload

__all__ = ["SweepResult", "sweep"]

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


# -- the sweep -------------------------------------------------------------------------------
def sweep(model=None, hardware=None, batch_sizes=1, seq_lens=None, precision="fp16",
          phase=None, is_training=False, efficiency=None, memory_efficiency=None,
          recompute=False, weight_precision=None, kv_precision=None, activation_precision=None,
          launch_overhead=None, cost_model="per-operator", *, models=None, precisions=None,
          table=None):
    """Engine solves of ``model`` on one ``hardware`` device over batch sizes × contexts.

    Arguments mean what they mean in ``Engine.solve`` (``batch_sizes``/``seq_lens`` take an
    int or a 1-D sequence of ints; ``seq_lens=None`` is the default context). Returns a
    :class:`SweepResult` whose grid point [i, j] equals
    ``Engine.solve(model, hardware, batch_size=batch_sizes[i], seq_len=seq_lens[j], ...)``.

    Design space: ``sweep(models=[...], hardware=[...], precisions=[...], batch_sizes=...,
    seq_lens=...)`` — the plural keywords, a list of models or of hardware, or ``table=``
    ("auto", "pandas" or "light") — returns a tidy table of every combination instead, one row
    per point (a pandas DataFrame when pandas is installed, else a light
    :class:`mlsysim.tidy.Table`; see :mod:`mlsysim.design_space` for its columns)."""
    if _is_design_space(model, hardware, precision, models, precisions, table):
        return _design_space(model, hardware, batch_sizes, seq_lens, precision, phase,
                             is_training, efficiency, memory_efficiency, recompute,
                             weight_precision, kv_precision, activation_precision,
                             launch_overhead, cost_model, models, precisions, table)
    if model is None or hardware is None:
        raise TypeError("sweep needs a model and a hardware device: sweep('Llama3_8B', 'H100', "
                        "batch_sizes=[1, 8])")
    cost_model = check_cost_model(cost_model)
    probe = inputs.workload_args(model, 1, None, phase, precision, is_training, recompute,
                                 weight_precision, kv_precision, activation_precision)
    hw = inputs.resolve_hardware(hardware)
    plan, batch, context = grid_plan(probe, batch_sizes, seq_lens)
    effs = inputs.efficiencies(efficiency, memory_efficiency, launch_overhead)
    return solve_plan(plan, probe, batch, context, hw, effs, cost_model)


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


def _is_design_space(model, hardware, precision, models, precisions, table) -> bool:
    many = (list, tuple)
    return (models is not None or precisions is not None or table is not None
            or isinstance(model, many) or isinstance(hardware, many)
            or isinstance(precision, many))


def _design_space(model, hardware, batch_sizes, seq_lens, precision, phase, is_training,
                  efficiency, memory_efficiency, recompute, weight_precision, kv_precision,
                  activation_precision, launch_overhead, cost_model, models, precisions,
                  table):
    """Route the multi-axis spelling to :func:`mlsysim.design_space.sweep_table`."""
    from .design_space import sweep_table

    if models is not None and model is not None:
        raise TypeError("give model= (one) or models= (a list), not both")
    if precisions is not None and precision != "fp16":
        raise TypeError("give precision= (one) or precisions= (a list), not both")
    if hardware is None:
        raise TypeError("sweep needs hardware=: a device or a list of them, e.g. "
                        "hardware=['H100', 'A100']")
    models = model if models is None else models
    if models is None:
        raise TypeError("sweep needs models=: a model or a list of them, e.g. "
                        "models=['Llama3_8B']")
    return sweep_table(models, hardware, precision if precisions is None else precisions,
                       batch_sizes, seq_lens, phase, is_training, efficiency,
                       memory_efficiency, recompute, weight_precision, kv_precision,
                       activation_precision, launch_overhead, cost_model,
                       "auto" if table is None else table)

"""Typed, frozen result data. Floats inside; pint Quantities on the way out; no HTML here.

Each result describes itself as a :class:`render.Report` (``report()``) and is displayed by the
renderer registry: an HTML table in notebooks and pages (``_repr_html_``), readable text in a
terminal (``str``), Markdown, and plain data (``to_dict``) for ``--json``. An infeasible result
says so first, with the reason in numbers, and labels its timings "as if it fit".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .units import Q_
from .vocabulary import Bottleneck, Phase, WorkUnit


class Rendered:
    """Mixin: subclasses provide ``_title()``, ``_rows()``, ``feasible``, ``constraint_trace``
    and ``_fields()``; display goes through ``mlsysim.render``."""

    def _notes(self) -> tuple[str, ...]:
        return ()

    def _tables(self) -> tuple:
        return ()

    def _infeasible_note(self) -> str | None:
        return None  # the renderer's default: timings are as if it fit

    def report(self):
        from .render import Report
        extra = {"infeasible_note": n} if (n := self._infeasible_note()) else {}
        return Report(self._title(), tuple(self._rows()), self.feasible,
                      tuple(self.constraint_trace), tuple(self._notes()), self._tables(),
                      **extra)

    def _repr_html_(self) -> str:
        from .render import render
        return render(self, "html")

    def _repr_markdown_(self) -> str:
        from .render import render
        return render(self, "markdown")

    def __str__(self) -> str:
        from .render import render
        return render(self, "text")

    def to_dict(self) -> dict:
        """Plain data: quantities as {"value", "unit"}, constraints with their numbers."""
        from .render import plain
        return plain(self._fields())


# -- the operator table ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OperatorTable:
    """The operators of one step: name, kind, count, FLOPs, bytes, time and what binds each.

    FLOPs, bytes and times are per step (all ``count`` instances), times in seconds. Besides the
    operator's time, each row carries its four bills (``compute_s``, ``memory_s``, ``link_s``,
    ``launch_s``) so a reader can see how close a kernel is to flipping sides. Iterate for row
    dicts; ``to_pandas()`` gives a DataFrame when pandas is installed."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    count: tuple[float, ...]
    flops: tuple[float, ...]
    bytes: tuple[float, ...]
    seconds: tuple[float, ...]
    bound: tuple[str, ...]
    compute_s: tuple[float, ...]
    memory_s: tuple[float, ...]
    link_s: tuple[float, ...]
    launch_s: tuple[float, ...]

    COLUMNS = ("name", "kind", "count", "flops", "bytes", "time_s", "bound",
               "compute_s", "memory_s", "link_s", "launch_s")

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self):
        for row in zip(self.names, self.kinds, self.count, self.flops, self.bytes,
                       self.seconds, self.bound, self.compute_s, self.memory_s, self.link_s,
                       self.launch_s, strict=True):
            yield dict(zip(self.COLUMNS, row, strict=True))

    def __getitem__(self, name: str) -> dict:
        for row in self:
            if row["name"] == name:
                return row
        raise KeyError(f"no operator {name!r}; operators: {', '.join(self.names)}")

    def rows(self) -> list[dict]:
        return list(self)

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds))

    def binding(self, top: int = 3) -> list[dict]:
        """The ``top`` operators by time, with the resource that binds each."""
        return sorted(self, key=lambda r: -r["time_s"])[:top]

    def to_pandas(self):
        try:
            import pandas as pd  # optional dependency
        except ImportError:
            raise ImportError("OperatorTable.to_pandas() needs pandas (pip install pandas); "
                              "rows() gives the same data as a list of dicts") from None
        return pd.DataFrame(self.rows(), columns=list(self.COLUMNS))

    def to_dict(self) -> list[dict]:
        return self.rows()

    def table_data(self, caption: str | None = None):
        from .render import TableData
        total = self.total_seconds or 1.0
        rows = tuple((n, k, int(c), Q_(f, "flop"), Q_(b, "B"), Q_(t, "s"), f"{t / total:.1%}",
                      bd) for n, k, c, f, b, t, bd in zip(
                          self.names, self.kinds, self.count, self.flops, self.bytes,
                          self.seconds, self.bound, strict=True))
        return TableData(("Operator", "Kind", "Count", "FLOPs", "Bytes", "Time", "Share",
                          "Bound by"), rows, caption)

    def report(self):
        return self.table_data()

    def _repr_html_(self) -> str:
        from .render import render
        return render(self.table_data(), "html")

    def __str__(self) -> str:
        from .render import render
        return render(self.table_data(), "text")


def operator_table(plan, times) -> OperatorTable:
    """The table of a scalar step from its plan and its times."""
    from .physics.combine import operator_bound
    count = plan.count
    bound = operator_bound(times.t_compute, times.t_memory, times.t_link, times.t_launch)

    def per_step(values) -> tuple[float, ...]:
        return tuple(float(x) for x in count * values)

    return OperatorTable(
        names=plan.names, kinds=tuple(str(k) for k in plan.kinds),
        count=tuple(float(c) for c in count),
        flops=tuple(float(x) for x in count * plan.flops),
        bytes=tuple(float(x) for x in count * plan.bytes),
        seconds=per_step(times.t_operator),
        bound=tuple(str(b) for b in bound),
        compute_s=per_step(times.t_compute), memory_s=per_step(times.t_memory),
        link_s=per_step(times.t_link), launch_s=per_step(times.t_launch))


# -- the engine's result ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PerformanceResult(Rendered):
    """One step of a workload on one device or one tensor-parallel node (times in seconds).

    ``t_compute`` and ``t_memory`` are the step's two bills summed over its operators (every
    FLOP at the achievable compute rate, every byte at the achievable bandwidth);
    ``time_by_resource`` splits the step's latency by what bound each operator."""

    model: str
    hardware: str
    precision: str
    batch_size: int
    seq_len: int | None
    phase: Phase
    is_training: bool
    flops: float
    bytes_moved: float
    t_compute: float
    t_memory: float
    t_overhead: float
    latency_s: float
    bottleneck: Bottleneck
    eta_compute: float
    eta_memory: float
    peak_flops_si: float
    footprint_parts: tuple[tuple[str, float], ...]
    capacity_bytes: float
    units_per_step: float
    unit: WorkUnit
    tdp_w: float
    feasible: bool
    constraint_trace: tuple[str, ...]
    devices: int = 1
    t_communication: float = 0.0
    resource_seconds: tuple[tuple[str, float], ...] = ()
    steps: tuple = ()  # (plan, times) of a per-operator solve: the operator table, lazily
    cost_model: str = "per-operator"
    notes: tuple[str, ...] = field(default=())
    in_flight: int = 1  # steps pipelined through the devices at once (wafer pipelines)
    interval_s: float | None = None  # time between completed steps when in_flight > 1

    @property
    def step_interval_s(self) -> float:
        """Seconds between completed steps in steady state: the latency unless several steps
        are pipelined through the devices."""
        return self.latency_s if self.interval_s is None else self.interval_s

    @property
    def operators(self) -> OperatorTable | None:
        """The step's operators (name, kind, count, FLOPs, bytes, time, bound), or None for
        the roofline teaching model."""
        return operator_table(*self.steps) if self.steps else None

    # -- quantities ------------------------------------------------------------------------
    @property
    def latency(self):
        """Step latency (sum of the operators' times, plus stated overlap)."""
        return Q_(self.latency_s, "s")

    @property
    def latency_compute(self):
        """The compute bill: every FLOP at the achievable rate of its kernel."""
        return Q_(self.t_compute, "s")

    @property
    def latency_memory(self):
        """The memory bill: every byte at the achievable bandwidth of its kernel."""
        return Q_(self.t_memory, "s")

    @property
    def latency_overhead(self):
        """Kernel launch and start-up cost summed over the step's kernels."""
        return Q_(self.t_overhead, "s")

    @property
    def latency_communication(self):
        return Q_(self.t_communication, "s")

    @property
    def time_by_resource(self) -> dict:
        """{"Compute", "Memory", "Communication", "Overhead"} → time (s) of the operators each
        bound; sums to the latency."""
        return dict(self.resource_seconds)

    @property
    def throughput(self):
        """Tokens (or samples) per second: a step's units over the time between steps."""
        return Q_(self.units_per_step / self.step_interval_s, f"{self.unit}/s")

    @property
    def arithmetic_intensity(self):
        return Q_(self.flops / self.bytes_moved, "flop/B")

    @property
    def memory_footprint(self):
        """Bytes the step must hold (weights + KV cache + activations + optimizer state)."""
        return Q_(sum(v for _, v in self.footprint_parts), "B")

    @property
    def footprint_breakdown(self) -> dict:
        return {k: Q_(v, "B") for k, v in self.footprint_parts if v}

    @property
    def mfu(self) -> float:
        """Model FLOPs utilisation: achieved FLOP/s over the devices' dense peak."""
        return self.flops / self.step_interval_s / (self.peak_flops_si * self.devices)

    @property
    def energy(self):
        """Energy of one step at board power (TDP × time between steps × devices): an upper
        estimate."""
        return Q_(self.tdp_w * self.step_interval_s * self.devices, "J")

    @property
    def total_flops(self):
        return Q_(self.flops, "flop")

    @property
    def total_bytes(self):
        return Q_(self.bytes_moved, "B")

    @property
    def binding_operators(self) -> list[dict]:
        """The operators that take the most time, with what binds each."""
        return self.operators.binding() if self.operators is not None else []

    # -- display ---------------------------------------------------------------------------
    def _title(self) -> str:
        what = {Phase.TRAINING: "training step", Phase.INFERENCE: "inference"}.get(
            self.phase, str(self.phase))
        ctx = f", context {self.seq_len:,}" if self.seq_len else ""
        on = f"{self.devices} × {self.hardware}" if self.devices > 1 else self.hardware
        return f"{self.model} on {on}: {what}, batch {self.batch_size}, {self.precision}{ctx}"

    def _rows(self) -> list[tuple[str, object]]:
        label = "Latency" if self.feasible else "Latency (as if it fit)"
        rows = [(label, self.latency), ("Bottleneck", str(self.bottleneck)),
                ("Throughput", self.throughput)]
        if self.in_flight > 1:
            rows.append(("Steps in flight", f"{self.in_flight} (one completes every "
                                            f"{_fmt_s(self.step_interval_s)})"))
        shares = self.time_by_resource
        for name in ("Compute", "Memory", "Communication", "Overhead"):
            if shares.get(name, 0.0) > 5e-4 * self.latency_s:
                rows.append((f"Time bound by {name.lower()}",
                             f"{_fmt_s(shares[name])} ({shares[name] / self.latency_s:.0%})"))
        rows += [("Arithmetic intensity", self.arithmetic_intensity),
                 ("Memory footprint", self.memory_footprint),
                 ("Memory capacity", Q_(self.capacity_bytes * self.devices, "B")),
                 ("MFU", f"{self.mfu:.1%}"),
                 ("Cost model", self.cost_model)]
        if self.binding_operators:
            top = self.binding_operators[0]
            rows.append(("Slowest operator", f"{top['name']} ({top['bound'].lower()}-bound, "
                                             f"{_fmt_s(top['time_s'])})"))
        return rows

    def _notes(self) -> tuple[str, ...]:
        return self.notes

    def _fields(self) -> dict:
        return {
            "model": self.model, "hardware": self.hardware, "devices": self.devices,
            "precision": self.precision, "batch_size": self.batch_size, "seq_len": self.seq_len,
            "phase": str(self.phase), "is_training": self.is_training,
            "feasible": self.feasible,
            "constraint_trace": [getattr(c, "to_dict", lambda c=c: str(c))()
                                 for c in self.constraint_trace],
            "bottleneck": str(self.bottleneck), "latency": self.latency,
            "latency_compute": self.latency_compute, "latency_memory": self.latency_memory,
            "latency_overhead": self.latency_overhead,
            "latency_communication": self.latency_communication,
            "time_by_resource": {k: Q_(v, "s") for k, v in self.resource_seconds},
            "throughput": self.throughput, "arithmetic_intensity": self.arithmetic_intensity,
            "memory_footprint": self.memory_footprint, "mfu": self.mfu, "energy": self.energy,
            "efficiency_compute": self.eta_compute, "efficiency_memory": self.eta_memory,
            "cost_model": self.cost_model, "in_flight": self.in_flight,
            "step_interval": Q_(self.step_interval_s, "s"),
            "operators": self.operators.rows() if self.operators is not None else [],
        }


def _fmt_s(seconds: float) -> str:
    from .formatting import format_time
    return format_time(seconds)


def scalar(x) -> float:
    """A 0-d array or numpy scalar as a float."""
    return float(np.asarray(x))

"""Result data of :class:`ReliabilityModel` and :class:`CheckpointModel`; no HTML here.

Seconds and bytes inside; pint Quantities through the properties.
"""

from __future__ import annotations

from dataclasses import dataclass

from .formatting import format_bytes, format_time, sig
from .physics.reliability import RunTime
from .results import Rendered
from .units import Q_


@dataclass(frozen=True, slots=True)
class CheckpointResult(Rendered):
    """One checkpoint of a training job: weights + optimizer state (the training-memory
    breakdown of the whole model, no gradients or activations) written at ``bandwidth_Bps``.
    ``overhead_fraction`` = δ/(τ + δ): the share of fault-free wall time spent writing when a
    checkpoint follows every τ of compute (None without an interval)."""

    model: str
    precision: str
    optimizer: str
    weights_bytes: float
    optimizer_bytes: float
    storage: str
    bandwidth_Bps: float
    write_s: float
    interval_s: float | None = None
    interval_source: str = ""
    feasible: bool = True
    constraint_trace: tuple = ()

    @property
    def size_bytes(self) -> float:
        return self.weights_bytes + self.optimizer_bytes

    @property
    def size(self):
        return Q_(self.size_bytes, "B")

    @property
    def write_time(self):
        return Q_(self.write_s, "s")

    @property
    def bandwidth(self):
        return Q_(self.bandwidth_Bps, "B/s")

    @property
    def interval(self):
        return None if self.interval_s is None else Q_(self.interval_s, "s").to("hour")

    @property
    def overhead_fraction(self) -> float | None:
        if self.interval_s is None:
            return None
        return self.write_s / (self.interval_s + self.write_s)

    def _title(self) -> str:
        return f"Checkpoint of {self.model} ({self.precision}, {self.optimizer})"

    def _rows(self) -> list[tuple[str, object]]:
        rows = [("Checkpoint size", format_bytes(self.size_bytes)),
                ("Storage", f"{self.storage}, {format_bytes(self.bandwidth_Bps)}/s"),
                ("Write time", format_time(self.write_s))]
        if self.interval_s is not None:
            rows += [("Interval", f"{format_time(self.interval_s)} ({self.interval_source})"),
                     ("Overhead", f"{self.overhead_fraction:.2%} of fault-free wall time")]
        return rows

    def _tables(self) -> tuple:
        from .render import TableData
        total = self.size_bytes
        rows = (("Weights", format_bytes(self.weights_bytes), f"{self.weights_bytes / total:.0%}"),
                ("Optimizer state", format_bytes(self.optimizer_bytes),
                 f"{self.optimizer_bytes / total:.0%}"),
                ("Checkpoint", format_bytes(total), "100%"))
        return (TableData(("Part", "Bytes", "Share"), rows, caption="What a checkpoint holds"),)

    def _notes(self) -> tuple[str, ...]:
        return ("Size from the training-memory breakdown (TrainingMemoryModel, whole model): "
                "weights plus optimizer state (fp32 master copy and moments for mixed-precision "
                "Adam); gradients and activations are not saved.",
                "Write time = size / storage bandwidth: a blocking (synchronous) write.")

    def _fields(self) -> dict:
        return {"model": self.model, "precision": self.precision, "optimizer": self.optimizer,
                "weights": Q_(self.weights_bytes, "B"),
                "optimizer_state": Q_(self.optimizer_bytes, "B"), "size": self.size,
                "storage": self.storage, "bandwidth": self.bandwidth,
                "write_time": self.write_time, "interval": self.interval,
                "overhead_fraction": self.overhead_fraction}


@dataclass(frozen=True, slots=True)
class ReliabilityResult(Rendered):
    """Failures, checkpoints and goodput of a synchronous job of ``work_s`` seconds of useful
    compute on ``gpus`` accelerators (see :mod:`mlsysim.physics.reliability`)."""

    fleet: str
    gpus: int
    servers: float
    failure_set: str
    citation: str
    failure_rate: float  # 1/s, the whole fleet
    by_category: tuple[tuple[str, float], ...]  # (category, 1/s)
    work_s: float
    checkpoint_s: float
    restart_s: float
    interval_s: float
    interval_source: str
    young_s: float
    daly_s: float
    exact_s: float
    run: RunTime
    notes: tuple[str, ...] = ()
    feasible: bool = True
    constraint_trace: tuple = ()

    @property
    def mtbf_s(self) -> float:
        return 1.0 / self.failure_rate

    @property
    def fleet_mtbf(self):
        return Q_(self.mtbf_s, "s").to("hour")

    @property
    def failures_per_day(self) -> float:
        return self.failure_rate * 86400.0

    @property
    def expected_failures(self) -> float:
        """Expected failures over the run's wall time (restarts included)."""
        return self.run.failures

    @property
    def young_daly_interval(self):
        return Q_(self.young_s, "s").to("hour")

    @property
    def interval(self):
        return Q_(self.interval_s, "s").to("hour")

    @property
    def goodput(self) -> float:
        """Useful time / wall time (Daly 2006's expected wall time)."""
        return self.run.goodput

    @property
    def wall_time(self):
        return Q_(self.run.wall, "s").to("day")

    @property
    def lost_time(self) -> dict:
        """Expected seconds lost to checkpoint writes, restarts and rework."""
        r = self.run
        return {"checkpoints": r.checkpoints, "restarts": r.restarts, "rework": r.rework}

    def _title(self) -> str:
        return f"Reliability of a {format_time(self.work_s)} run on {self.fleet}"

    def _rows(self) -> list[tuple[str, object]]:
        return [("Fleet MTBF", format_time(self.mtbf_s)),
                ("Failures per day", sig(self.failures_per_day)),
                ("Expected failures in the run", sig(self.expected_failures)),
                ("Checkpoint interval", f"{format_time(self.interval_s)} "
                                        f"({self.interval_source})"),
                ("Goodput", f"{self.goodput:.1%}"),
                ("Wall time", format_time(self.run.wall))]

    def _tables(self) -> tuple:
        from .render import TableData
        r = self.run
        wall = r.wall
        parts = (("Useful work", r.work), ("Checkpoint writes", r.checkpoints),
                 ("Restarts", r.restarts), ("Rework (lost progress)", r.rework))
        time_rows = tuple((k, format_time(v), f"{v / wall:.1%}") for k, v in parts)
        time_rows += (("Wall time", format_time(wall), "100%"),)
        cats = tuple((k, sig(v * 86400.0), f"{v / self.failure_rate:.0%}",
                      format_time(1.0 / v)) for k, v in self.by_category)
        from .physics.reliability import goodput
        m, d, rs = self.mtbf_s, self.checkpoint_s, self.restart_s
        choice = (("Young √(2δM)", self.young_s), ("Daly higher-order", self.daly_s),
                  ("Exact optimum (Daly's model)", self.exact_s))
        intervals = tuple((k, format_time(t), f"{float(goodput(t, d, m, rs)):.2%}")
                          for k, t in choice)
        return (TableData(("Where the wall time goes", "Time", "Share"), time_rows,
                          caption="Expected wall time of the run"),
                TableData(("Failure category", "Per day", "Share", "MTBF alone"), cats,
                          caption=f"Failures on {self.gpus:,} GPUs ({self.failure_set} rates)"),
                TableData(("Checkpoint interval", "τ", "Goodput"), intervals,
                          caption=f"Checkpoint every τ (δ = {format_time(d)}, "
                                  f"M = {format_time(m)})"))

    def _notes(self) -> tuple[str, ...]:
        return (f"Failure rates: {self.citation}.", *self.notes)

    def _infeasible_note(self) -> str:
        return "the times are the expected values at that checkpoint cost"

    def _fields(self) -> dict:
        return {"fleet": self.fleet, "gpus": self.gpus, "servers": self.servers,
                "failure_set": self.failure_set, "fleet_mtbf": self.fleet_mtbf,
                "failures_per_day": self.failures_per_day,
                "expected_failures": self.expected_failures,
                "work": Q_(self.work_s, "s").to("day"),
                "checkpoint_time": Q_(self.checkpoint_s, "s"),
                "restart_time": Q_(self.restart_s, "s"),
                "interval": self.interval, "interval_source": self.interval_source,
                "young_daly_interval": self.young_daly_interval,
                "daly_interval": Q_(self.daly_s, "s").to("hour"),
                "exact_optimal_interval": Q_(self.exact_s, "s").to("hour"),
                "goodput": self.goodput, "wall_time": self.wall_time,
                "lost_time": {k: Q_(v, "s").to("hour") for k, v in self.lost_time.items()}}

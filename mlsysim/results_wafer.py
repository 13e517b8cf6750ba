"""Result data of the wafer-scale solvers (weight streaming); no HTML here."""

from __future__ import annotations

from dataclasses import dataclass, field

from .formatting import format_value
from .results import OperatorTable, Rendered, operator_table
from .units import Q_
from .vocabulary import Phase


@dataclass(frozen=True, slots=True)
class WeightStreamingResult(Rendered):
    """A weight-streaming step on a wafer-scale device; times in seconds.

    Per layer, injecting the next layer's weights overlaps this layer's compute (a stated
    overlap of 1): the step takes layers × max(compute, injection) + the step's other
    operators."""

    model: str
    hardware: str
    precision: str
    batch_size: int
    seq_len: int
    phase: Phase
    layers: int
    t_layer_compute: float
    t_layer_injection: float
    t_layer_overhead: float
    bottleneck: str
    units_per_step: float
    sram_bytes_used: float
    sram_capacity: float
    b_star: float
    sram_batch_limit: int
    optimal_batch_size: int
    limiting_wall: str
    feasible: bool
    constraint_trace: tuple[str, ...]
    step_seconds: float = 0.0
    steps: tuple = ()  # (plan, times): the operator table, built when asked for
    notes: tuple[str, ...] = field(default=())

    @property
    def operators(self) -> OperatorTable | None:
        """The step's operators, the per-layer weight injection among them."""
        return operator_table(*self.steps) if self.steps else None

    @property
    def layer_compute_time(self):
        return Q_(self.t_layer_compute, "s")

    @property
    def layer_injection_time(self):
        return Q_(self.t_layer_injection, "s")

    @property
    def step_latency_s(self) -> float:
        """One step: the combinator's total (layers × max(inject, compute) + the rest)."""
        return self.step_seconds

    @property
    def latency(self):
        return Q_(self.step_latency_s, "s")

    @property
    def throughput_tokens_per_sec(self) -> float:
        """Tokens per second (decode: one per sequence per step; prefill: the prompts)."""
        return self.units_per_step / self.step_latency_s

    @property
    def throughput(self):
        return Q_(self.throughput_tokens_per_sec, "token/s")

    @property
    def wafer_memory_utilization(self) -> float:
        """SRAM used / SRAM capacity (0.25 means 25 %; above 1 does not fit)."""
        return self.sram_bytes_used / self.sram_capacity

    @property
    def memory_footprint(self):
        return Q_(self.sram_bytes_used, "B")

    @property
    def b_star_batch(self) -> float:
        """B*: the batch at which layer compute time equals injection time."""
        return self.b_star

    def _title(self) -> str:
        return (f"{self.model} on {self.hardware} (weight streaming): {self.phase}, batch "
                f"{self.batch_size}, {self.precision}, context {self.seq_len:,}")

    def _rows(self) -> list[tuple[str, object]]:
        label = "Step latency" if self.feasible else "Step latency (as if it fit)"
        return [(label, self.latency), ("Bottleneck", self.bottleneck),
                ("Throughput", self.throughput),
                ("Layer compute time", self.layer_compute_time),
                ("Layer injection time", self.layer_injection_time),
                ("SRAM used", f"{format_value(self.memory_footprint)} "
                              f"({self.wafer_memory_utilization:.1%})"),
                ("B* (compute = injection)", self.b_star),
                ("SRAM batch limit", self.sram_batch_limit),
                ("Optimal batch size", f"{self.optimal_batch_size:,} ({self.limiting_wall})")]

    def _notes(self) -> tuple[str, ...]:
        return self.notes

    def _fields(self) -> dict:
        return {
            "model": self.model, "hardware": self.hardware, "precision": self.precision,
            "batch_size": self.batch_size, "seq_len": self.seq_len, "phase": str(self.phase),
            "feasible": self.feasible,
            "constraint_trace": [getattr(c, "to_dict", lambda c=c: str(c))()
                                 for c in self.constraint_trace],
            "bottleneck": self.bottleneck, "latency": self.latency,
            "throughput_tokens_per_sec": self.throughput_tokens_per_sec,
            "layer_compute_time": self.layer_compute_time,
            "layer_injection_time": self.layer_injection_time,
            "wafer_memory_utilization": self.wafer_memory_utilization,
            "b_star": self.b_star, "sram_batch_limit": self.sram_batch_limit,
            "optimal_batch_size": self.optimal_batch_size, "limiting_wall": self.limiting_wall,
            "operators": self.operators.rows() if self.operators is not None else [],
        }

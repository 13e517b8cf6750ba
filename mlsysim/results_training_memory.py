"""Result data of :class:`~mlsysim.solvers.training_memory.TrainingMemoryModel`; no HTML here."""

from __future__ import annotations

from dataclasses import dataclass

from .formatting import format_bytes
from .physics.training_memory import MemoryBreakdown
from .results import Rendered
from .units import Q_

#: Display order and labels of the memory components.
COMPONENTS = (("weights", "Weights"), ("gradients", "Gradients"),
              ("optimizer", "Optimizer state"), ("activations", "Activations"))


@dataclass(frozen=True, slots=True)
class TrainingMemoryResult(Rendered):
    """Memory per device of one training configuration (bytes inside, Quantities outside).

    The numbers are those of the busiest pipeline stage (``stage``: "first", "last" or
    "whole model"); ``bytes_per_parameter`` is the unsharded model state per parameter
    (weights + gradients + optimizer state: 16 for mixed-precision Adam)."""

    model: str
    hardware: str
    precision: str
    optimizer_name: str
    seq_len: int
    batch_size: int
    microbatch_count: int
    in_flight: int
    tp: int
    pp: int
    dp: int
    ep: int
    cp: int
    zero_stage: int
    activation_recomputation: str
    sequence_parallel: bool
    stage: str
    breakdown: MemoryBreakdown
    capacity_bytes: float
    bytes_per_parameter: float
    feasible: bool
    constraint_trace: tuple[str, ...]
    notes: tuple[str, ...] = ()

    # -- quantities ---------------------------------------------------------------------------
    @property
    def weights(self):
        return Q_(self.breakdown.weights, "B")

    @property
    def gradients(self):
        return Q_(self.breakdown.gradients, "B")

    @property
    def optimizer_state(self):
        return Q_(self.breakdown.optimizer, "B")

    @property
    def activations(self):
        return Q_(self.breakdown.activations, "B")

    @property
    def total_bytes(self) -> float:
        return self.breakdown.total

    @property
    def total(self):
        return Q_(self.breakdown.total, "B")

    @property
    def memory_per_device(self):
        return self.total

    @property
    def capacity(self):
        """The device's usable memory (exposed capacity minus the reserve)."""
        return Q_(self.capacity_bytes, "B")

    @property
    def utilization(self) -> float:
        """Total / usable capacity (above 1 does not fit)."""
        return self.breakdown.total / self.capacity_bytes

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.dp * self.ep * self.cp

    @property
    def parts(self) -> dict[str, float]:
        """Bytes per device by component, in display order."""
        return self.breakdown.as_dict()

    # -- display ------------------------------------------------------------------------------
    def strategy(self) -> str:
        sizes = [f"{k}={v}" for k, v in (("TP", self.tp), ("PP", self.pp), ("DP", self.dp),
                                          ("EP", self.ep), ("CP", self.cp)) if v > 1]
        extra = [f"ZeRO-{self.zero_stage}" if self.zero_stage else "",
                 "SP" if self.sequence_parallel and self.tp > 1 else "",
                 f"{self.activation_recomputation} recompute"
                 if self.activation_recomputation != "none" else ""]
        return ", ".join(sizes + [e for e in extra if e]) or "one device"

    def _title(self) -> str:
        return (f"Training memory per device: {self.model} on {self.hardware} "
                f"({self.strategy()})")

    def _rows(self) -> list[tuple[str, object]]:
        batch = f"{self.batch_size} × {self.seq_len:,} tokens"
        if self.pp > 1:
            batch += f"; {self.in_flight} in flight on the {self.stage} stage"
        return [("Total per device", self.total), ("Usable capacity", self.capacity),
                ("Utilisation", f"{self.utilization:.0%}"), ("Fits", self.feasible),
                ("Model state per parameter", f"{self.bytes_per_parameter:g} B "
                                              f"({self.optimizer_name}, {self.precision})"),
                ("Micro-batch", batch), ("Devices", self.devices)]

    def _tables(self) -> tuple:
        from .render import TableData
        total = self.breakdown.total
        rows = tuple((label, format_bytes(v), f"{v / total:.0%}" if total else "",
                      f"{v / self.capacity_bytes:.0%}")
                     for (_, label), v in zip(COMPONENTS, self.parts.values(), strict=True))
        rows += (("Total", format_bytes(total), "100%", f"{self.utilization:.0%}"),)
        return (TableData(("Component", "Per device", "Share of total", "Share of capacity"),
                          rows, caption="Memory per device"),)

    def _infeasible_note(self) -> str:
        return "the bytes are what each device would need"

    def _notes(self) -> tuple[str, ...]:
        return self.notes

    def _fields(self) -> dict:
        return {
            "model": self.model, "hardware": self.hardware, "precision": self.precision,
            "optimizer": self.optimizer_name, "seq_len": self.seq_len,
            "batch_size": self.batch_size, "microbatch_count": self.microbatch_count,
            "in_flight": self.in_flight, "tp": self.tp, "pp": self.pp, "dp": self.dp,
            "ep": self.ep, "cp": self.cp, "zero_stage": self.zero_stage,
            "activation_recomputation": self.activation_recomputation,
            "sequence_parallel": self.sequence_parallel, "stage": self.stage,
            "weights": self.weights, "gradients": self.gradients,
            "optimizer_state": self.optimizer_state, "activations": self.activations,
            "total": self.total, "capacity": self.capacity, "utilization": self.utilization,
            "bytes_per_parameter": self.bytes_per_parameter, "feasible": self.feasible,
            "constraint_trace": [getattr(c, "to_dict", lambda c=c: str(c))()
                                 for c in self.constraint_trace],
        }

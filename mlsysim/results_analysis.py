"""Result objects of the analysis solvers: sensitivity (elasticities) and synthesis."""

from __future__ import annotations

from dataclasses import dataclass

from .results import Rendered
from .units import Q_

LABELS = {
    "peak_flops": "Peak FLOP/s",
    "memory_bandwidth": "Memory bandwidth",
    "memory_capacity": "Memory capacity",
    "injection_bandwidth": "Injection bandwidth",
    "sram_capacity": "SRAM capacity",
    "interconnect_bandwidth": "Interconnect bandwidth",
    "interconnect_latency": "Interconnect latency",
    "dispatch_overhead": "Dispatch overhead",
    "wafer_latency": "Wafer crossing and hop latency",
}


@dataclass(frozen=True, slots=True)
class SensitivityResult(Rendered):
    """Elasticities ∂ln T / ∂ln p of step latency T to each hardware parameter p.

    −1 means "10 % more of p gives 10 % less latency"; 0 means p does not matter here."""

    model: str
    hardware: str
    solver: str
    baseline_latency_s: float
    sensitivities: dict
    binding_constraint: str
    feasible: bool
    constraint_trace: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def baseline_latency(self):
        return Q_(self.baseline_latency_s, "s")

    def _title(self) -> str:
        return f"Sensitivity of {self.model} on {self.hardware} ({self.solver})"

    def _rows(self):
        rows = [("Baseline latency" if self.feasible else "Baseline latency (as if it fit)",
                 self.baseline_latency), ("Binding constraint", self.binding_constraint)]
        rows += [(f"∂ln T/∂ln {LABELS.get(k, k)}", f"{v:+.3f}")
                 for k, v in self.sensitivities.items()]
        return rows

    def _notes(self):
        return self.notes

    def _fields(self) -> dict:
        return {"model": self.model, "hardware": self.hardware, "solver": self.solver,
                "baseline_latency": self.baseline_latency,
                "binding_constraint": self.binding_constraint,
                "sensitivities": dict(self.sensitivities), "feasible": self.feasible,
                "constraint_trace": list(self.constraint_trace)}


@dataclass(frozen=True, slots=True)
class SynthesisResult(Rendered):
    """Minimum hardware that meets a latency target for one workload step."""

    model: str
    target_latency_s: float
    required_flops_si: float
    required_bandwidth_si: float
    required_capacity_si: float
    assumptions: str
    candidates: tuple[str, ...]
    feasible: bool = True
    constraint_trace: tuple[str, ...] = ()

    @property
    def target_latency(self):
        return Q_(self.target_latency_s, "s")

    @property
    def required_flops(self):
        return Q_(self.required_flops_si, "flop/s")

    @property
    def required_bandwidth(self):
        return Q_(self.required_bandwidth_si, "B/s")

    @property
    def required_capacity(self):
        return Q_(self.required_capacity_si, "B")

    def _title(self) -> str:
        return f"Hardware needed for {self.model} in {self.target_latency_s * 1e3:.3g} ms"

    def _rows(self):
        return [("Target latency", self.target_latency),
                ("Peak FLOP/s needed", self.required_flops),
                ("Memory bandwidth needed", self.required_bandwidth),
                ("Memory capacity needed", self.required_capacity),
                ("Catalog devices that meet it", ", ".join(self.candidates) or "none")]

    def _notes(self):
        return (self.assumptions,)

    def _fields(self) -> dict:
        return {"model": self.model, "target_latency": self.target_latency,
                "required_flops": self.required_flops,
                "required_bandwidth": self.required_bandwidth,
                "required_capacity": self.required_capacity,
                "candidates": list(self.candidates), "assumptions": self.assumptions}

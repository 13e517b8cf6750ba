"""Typed, frozen result objects. Floats inside; pint Quantities on the way out.

Each result renders as a compact HTML table in notebooks and pages (``_repr_html_``), as a
readable text block in a terminal (``str``), and as plain data (``to_dict``) for ``--json``.
An infeasible result says so first, with the reason in numbers, and labels its timings
"as if it fit".
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from .formatting import format_value
from .units import Q_

_INFEASIBLE_NOTE = "timings are the roofline as if it fit"


def _html(title: str, rows: list[tuple[str, object]], feasible: bool, trace: tuple[str, ...],
          notes: tuple[str, ...] = ()) -> str:
    parts = ['<div class="mlsysim-result">']
    if not feasible:
        reason = html.escape("; ".join(trace) or "does not fit")
        parts.append('<p class="mlsysim-infeasible" role="alert" style="border-left:4px solid '
                     '#b2182b;padding:.3em .6em;background:#fbe9e7;color:#67000d;margin:0 0 .4em">'
                     f"<strong>INFEASIBLE</strong>: {reason}. "
                     f"<em>{html.escape(_INFEASIBLE_NOTE.capitalize())}.</em></p>")
    body = "".join(f"<tr><th scope=row>{html.escape(k)}</th><td>{html.escape(format_value(v))}"
                   "</td></tr>" for k, v in rows)
    parts.append(f'<table class="mlsysim-table mlsysim-info"><caption>{html.escape(title)}'
                 f"</caption><tbody>{body}</tbody></table>")
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append(f'<ul class="mlsysim-notes">{items}</ul>')
    parts.append("</div>")
    return "".join(parts)


def _text(title: str, rows: list[tuple[str, object]], feasible: bool, trace: tuple[str, ...],
          notes: tuple[str, ...] = ()) -> str:
    lines = [title]
    if not feasible:
        lines.append(f"!! INFEASIBLE: {'; '.join(trace) or 'does not fit'}")
        lines.append(f"!! ({_INFEASIBLE_NOTE})")
    width = max(len(k) for k, _ in rows)
    lines += [f"  {k.ljust(width)}  {format_value(v)}" for k, v in rows]
    lines += [f"  note: {n}" for n in notes]
    return "\n".join(lines)


class _Rendered:
    """Mixin: subclasses provide ``_title()``, ``_rows()``, ``feasible``, ``constraint_trace``."""

    def _notes(self) -> tuple[str, ...]:
        return ()

    def _repr_html_(self) -> str:
        return _html(self._title(), self._rows(), self.feasible, self.constraint_trace,
                     self._notes())

    def _repr_markdown_(self) -> str:
        rows = "\n".join(f"| {k} | {format_value(v)} |" for k, v in self._rows())
        warn = ("" if self.feasible else
                f"**INFEASIBLE**: {'; '.join(self.constraint_trace)} ({_INFEASIBLE_NOTE}).\n\n")
        return f"{warn}**{self._title()}**\n\n| | |\n|---|---|\n{rows}\n"

    def __str__(self) -> str:
        return _text(self._title(), self._rows(), self.feasible, self.constraint_trace,
                     self._notes())

    def to_dict(self) -> dict:
        """Plain data: quantities as {"value", "unit"} in SI-like units, for JSON."""
        out = {}
        for key, value in self._fields().items():
            if hasattr(value, "magnitude"):
                out[key] = {"value": float(value.magnitude), "unit": f"{value.units:~P}"}
            else:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class PerformanceResult(_Rendered):
    """A roofline solve (``Engine.solve`` / ``SingleNodeModel.solve``); times in seconds."""

    model: str
    hardware: str
    precision: str
    batch_size: int
    seq_len: int | None
    phase: str
    is_training: bool
    flops: float
    bytes_moved: float
    t_compute: float
    t_memory: float
    t_overhead: float
    latency_s: float
    bottleneck: str
    eta_compute: float
    eta_memory: float
    peak_flops_si: float
    footprint_parts: tuple[tuple[str, float], ...]
    capacity_bytes: float
    units_per_step: float
    unit: str
    tdp_w: float
    feasible: bool
    constraint_trace: tuple[str, ...]
    devices: int = 1
    t_communication: float = 0.0

    # -- quantities ------------------------------------------------------------------------
    @property
    def latency(self):
        """Step latency: max(compute, memory) + communication + overhead."""
        return Q_(self.latency_s, "s")

    @property
    def latency_compute(self):
        return Q_(self.t_compute, "s")

    @property
    def latency_memory(self):
        return Q_(self.t_memory, "s")

    @property
    def latency_overhead(self):
        return Q_(self.t_overhead, "s")

    @property
    def latency_communication(self):
        return Q_(self.t_communication, "s")

    @property
    def throughput(self):
        """Tokens (or samples) per second processed by the step."""
        return Q_(self.units_per_step / self.latency_s, f"{self.unit}/s")

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
        return self.flops / self.latency_s / (self.peak_flops_si * self.devices)

    @property
    def energy(self):
        """Energy of one step at board power (TDP × latency × devices): an upper estimate."""
        return Q_(self.tdp_w * self.latency_s * self.devices, "J")

    @property
    def total_flops(self):
        return Q_(self.flops, "flop")

    @property
    def total_bytes(self):
        return Q_(self.bytes_moved, "B")

    # -- display ---------------------------------------------------------------------------
    def _title(self) -> str:
        what = "training step" if self.is_training else (
            self.phase if self.unit == "token" else "inference")
        ctx = f", context {self.seq_len:,}" if self.seq_len else ""
        on = f"{self.devices} × {self.hardware}" if self.devices > 1 else self.hardware
        return f"{self.model} on {on}: {what}, batch {self.batch_size}, {self.precision}{ctx}"

    def _rows(self) -> list[tuple[str, object]]:
        label = "Latency" if self.feasible else "Latency (as if it fit)"
        rows = [(label, self.latency), ("Bottleneck", self.bottleneck),
                ("Throughput", self.throughput),
                ("Compute time", self.latency_compute), ("Memory time", self.latency_memory)]
        if self.devices > 1:
            rows.append(("Communication time", self.latency_communication))
        rows += [("Overhead", self.latency_overhead),
                 ("Arithmetic intensity", self.arithmetic_intensity),
                 ("Memory footprint", self.memory_footprint),
                 ("Memory capacity", Q_(self.capacity_bytes * self.devices, "B")),
                 ("MFU", f"{self.mfu:.1%}"),
                 ("Efficiency used", f"compute {self.eta_compute:.2f}, memory "
                                     f"{self.eta_memory:.2f}")]
        return rows

    def _fields(self) -> dict:
        return {
            "model": self.model, "hardware": self.hardware, "devices": self.devices,
            "precision": self.precision, "batch_size": self.batch_size, "seq_len": self.seq_len,
            "phase": self.phase, "is_training": self.is_training, "feasible": self.feasible,
            "constraint_trace": list(self.constraint_trace), "bottleneck": self.bottleneck,
            "latency": self.latency, "latency_compute": self.latency_compute,
            "latency_memory": self.latency_memory, "latency_overhead": self.latency_overhead,
            "latency_communication": self.latency_communication,
            "throughput": self.throughput, "arithmetic_intensity": self.arithmetic_intensity,
            "memory_footprint": self.memory_footprint, "mfu": self.mfu, "energy": self.energy,
            "efficiency_compute": self.eta_compute, "efficiency_memory": self.eta_memory,
        }


@dataclass(frozen=True, slots=True)
class WeightStreamingResult(_Rendered):
    """A weight-streaming solve on a wafer-scale device; times in seconds."""

    model: str
    hardware: str
    precision: str
    batch_size: int
    seq_len: int
    phase: str
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
    notes: tuple[str, ...] = field(default=())

    @property
    def layer_compute_time(self):
        return Q_(self.t_layer_compute, "s")

    @property
    def layer_injection_time(self):
        return Q_(self.t_layer_injection, "s")

    @property
    def step_latency_s(self) -> float:
        """One step: layers × (max(inject, compute) + per-layer overhead), overlapped."""
        return self.layers * (max(self.t_layer_compute, self.t_layer_injection)
                              + self.t_layer_overhead)

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
            "batch_size": self.batch_size, "seq_len": self.seq_len, "phase": self.phase,
            "feasible": self.feasible, "constraint_trace": list(self.constraint_trace),
            "bottleneck": self.bottleneck, "latency": self.latency,
            "throughput_tokens_per_sec": self.throughput_tokens_per_sec,
            "layer_compute_time": self.layer_compute_time,
            "layer_injection_time": self.layer_injection_time,
            "wafer_memory_utilization": self.wafer_memory_utilization,
            "b_star": self.b_star, "sram_batch_limit": self.sram_batch_limit,
            "optimal_batch_size": self.optimal_batch_size, "limiting_wall": self.limiting_wall,
        }

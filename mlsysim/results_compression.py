"""Result data of :class:`~mlsysim.solvers.compression.CompressionModel`; no HTML here.

A compression result holds the engine's own results for each phase, before and after the
compression, so every speedup is the ratio of two engine latencies and every byte count is the
engine's footprint. Published accuracy rows ride along when the catalog has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .formatting import format_time, format_value
from .results import PerformanceResult, Rendered
from .units import Q_

NO_ACCURACY = "no published accuracy figure for this model and method"


@dataclass(frozen=True, slots=True)
class PhaseComparison:
    """One phase (decode, prefill or a per-sample inference) before and after compression."""

    phase: str
    before: PerformanceResult
    after: PerformanceResult

    @property
    def speedup(self) -> float:
        """Baseline latency over compressed latency (above 1 is faster)."""
        return self.before.latency_s / self.after.latency_s

    def text(self) -> str:
        """'12.1 ms → 6.2 ms: 1.95× (Memory → Memory)'."""
        return (f"{format_time(self.before.latency_s)} → {format_time(self.after.latency_s)}: "
                f"{self.speedup:.2f}× ({self.before.bottleneck} → {self.after.bottleneck})")


@dataclass(frozen=True, slots=True)
class CompressionResult(Rendered):
    """What a quantisation method saves and gains for one model on one device.

    ``phases`` are the engine's results per phase; speedups are ratios of their latencies.
    Bytes are the engine's footprint: every parameter (embeddings and LM head included) at the
    weight format, the KV cache at its format, at the largest context solved."""

    model: str
    hardware: str
    method: str
    scope: str
    baseline: str  # the baseline's precision label, e.g. "fp16"
    compressed: str  # the compressed step's precision label, e.g. "fp16 (weights int4)"
    peak_before: float  # FLOP/s of the GEMMs' precision before and after (dense)
    peak_after: float
    phases: tuple[PhaseComparison, ...]
    capacity_bytes: float
    batch_size: int = 1
    prompt_len: int | None = None  # the prompt (prefill context); None for per-sample networks
    output_len: int | None = None  # tokens generated: decode is solved at the last of them
    accuracy: tuple = ()  # catalog.accuracy.AccuracyRow for this model, method and scope
    notes: tuple[str, ...] = field(default=())

    # -- per phase -------------------------------------------------------------------------
    def phase(self, name: str) -> PhaseComparison | None:
        """The comparison of one phase ("decode", "prefill", "inference"), or None."""
        return next((p for p in self.phases if p.phase == name), None)

    def _speedup(self, name: str) -> float | None:
        p = self.phase(name)
        return None if p is None else p.speedup

    @property
    def decode_speedup(self) -> float | None:
        return self._speedup("decode")

    @property
    def prefill_speedup(self) -> float | None:
        return self._speedup("prefill")

    @property
    def inference_speedup(self) -> float | None:
        """A per-sample network's speedup (its one phase)."""
        return self._speedup("inference")

    # -- bytes -----------------------------------------------------------------------------
    def _part(self, side: str, name: str) -> float:
        return max(dict(getattr(p, side).footprint_parts).get(name, 0.0) for p in self.phases)

    @property
    def weight_bytes_before(self):
        return Q_(self._part("before", "weights"), "B")

    @property
    def weight_bytes_after(self):
        return Q_(self._part("after", "weights"), "B")

    @property
    def kv_bytes_before(self):
        """KV cache at the largest context solved (zero for a per-sample network)."""
        return Q_(self._part("before", "kv_cache"), "B")

    @property
    def kv_bytes_after(self):
        return Q_(self._part("after", "kv_cache"), "B")

    @property
    def footprint_before(self):
        """The largest footprint over the phases solved (what must fit)."""
        return max((p.before.memory_footprint for p in self.phases),
                   key=lambda q: q.magnitude)

    @property
    def footprint_after(self):
        return max((p.after.memory_footprint for p in self.phases), key=lambda q: q.magnitude)

    @property
    def memory_saved(self):
        return (self.footprint_before - self.footprint_after).to("B")

    @property
    def compression_ratio(self) -> float:
        """Weight bytes before over after (2 for fp16 → int8)."""
        return self._part("before", "weights") / self._part("after", "weights")

    # -- feasibility -----------------------------------------------------------------------
    @property
    def fits_before(self) -> bool:
        return all(p.before.feasible for p in self.phases)

    @property
    def fits_after(self) -> bool:
        return all(p.after.feasible for p in self.phases)

    @property
    def fits_only_compressed(self) -> bool:
        """The compressed model fits where the original did not."""
        return self.fits_after and not self.fits_before

    @property
    def feasible(self) -> bool:
        return self.fits_after

    @property
    def constraint_trace(self) -> tuple:
        """Why the compressed model does not fit (empty when it does)."""
        seen = {}
        for p in self.phases:
            for c in p.after.constraint_trace:
                seen.setdefault(str(c), c)
        return tuple(seen.values())

    # -- accuracy --------------------------------------------------------------------------
    @property
    def accuracy_text(self) -> str:
        """The published deltas, one per row, or :data:`NO_ACCURACY`."""
        if not self.accuracy:
            return NO_ACCURACY
        return "; ".join(row.text() for row in self.accuracy)

    @property
    def accuracy_brief(self) -> str:
        """'WikiText-2 perplexity +0.4 (GPTQ), +0.5 (AWQ)', or :data:`NO_ACCURACY`."""
        if not self.accuracy:
            return NO_ACCURACY
        by_metric: dict[str, list[str]] = {}
        for row in self.accuracy:
            by_metric.setdefault(row.metric, []).append(f"{row.delta_text} ({row.algorithm})")
        return "; ".join(f"{metric} {', '.join(items)}" for metric, items in by_metric.items())

    # -- display ---------------------------------------------------------------------------
    def _title(self) -> str:
        ctx = f", prompt {self.prompt_len:,}" if self.prompt_len else ""
        out = f", {self.output_len:,} generated" if self.output_len else ""
        return (f"{self.model} on {self.hardware}: {self.method} ({self.scope}) against "
                f"{self.baseline}, batch {self.batch_size}{ctx}{out}")

    def _rows(self) -> list[tuple[str, object]]:
        b = format_value
        rows = [("Precision", f"{self.baseline} → {self.compressed}"),
                ("Weights", f"{b(self.weight_bytes_before)} → {b(self.weight_bytes_after)} "
                            f"({self.compression_ratio:.3g}× smaller)")]
        if self._part("before", "kv_cache"):
            rows.append(("KV cache", f"{b(self.kv_bytes_before)} → {b(self.kv_bytes_after)}"))
        rows += [("Footprint", f"{b(self.footprint_before)} → {b(self.footprint_after)} "
                               f"(saves {b(self.memory_saved)})"),
                 ("Fits", f"{'yes' if self.fits_before else 'no'} → "
                          f"{'yes' if self.fits_after else 'no'} "
                          f"(usable {b(Q_(self.capacity_bytes, 'B'))})"),
                 ("GEMM peak", f"{b(Q_(self.peak_before, 'flop/s'))} → "
                               f"{b(Q_(self.peak_after, 'flop/s'))}")]
        label = "" if self.fits_before and self.fits_after else " (as if it fit)"
        rows += [(f"{p.phase.capitalize()} step{label}", p.text()) for p in self.phases]
        rows.append(("Accuracy", self.accuracy_text))
        return rows

    def _notes(self) -> tuple[str, ...]:
        cites = tuple(f"{row.algorithm}: {row.citation}" for row in self.accuracy)
        return self.notes + cites

    def _fields(self) -> dict:
        return {
            "model": self.model, "hardware": self.hardware, "method": self.method,
            "scope": self.scope, "batch_size": self.batch_size, "prompt_len": self.prompt_len,
            "output_len": self.output_len, "baseline": self.baseline, "compressed": self.compressed,
            "weight_bytes_before": self.weight_bytes_before,
            "weight_bytes_after": self.weight_bytes_after,
            "kv_bytes_before": self.kv_bytes_before, "kv_bytes_after": self.kv_bytes_after,
            "footprint_before": self.footprint_before, "footprint_after": self.footprint_after,
            "memory_saved": self.memory_saved, "fits_before": self.fits_before,
            "fits_after": self.fits_after, "feasible": self.feasible,
            "constraint_trace": [getattr(c, "to_dict", lambda c=c: str(c))()
                                 for c in self.constraint_trace],
            "peak_before": Q_(self.peak_before, "flop/s"),
            "peak_after": Q_(self.peak_after, "flop/s"),
            "phases": {p.phase: {"latency_before": p.before.latency,
                                 "latency_after": p.after.latency, "speedup": p.speedup,
                                 "bottleneck_before": str(p.before.bottleneck),
                                 "bottleneck_after": str(p.after.bottleneck)}
                       for p in self.phases},
            "accuracy": [{"algorithm": r.algorithm, "checkpoint": r.checkpoint,
                          "metric": r.metric, "baseline": r.baseline,
                          "quantized": r.quantized, "delta": r.delta, "source": r.source,
                          "section": r.section} for r in self.accuracy],
            "accuracy_text": self.accuracy_text, "notes": list(self._notes()),
        }

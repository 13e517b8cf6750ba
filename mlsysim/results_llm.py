"""Result data of the LLM serving solver (no HTML here; rendering is mlsysim.render's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .physics.combine import bottleneck_of
from .results import OperatorTable, Rendered, operator_table
from .units import Q_
from .vocabulary import Bottleneck


def _q(seconds: float | None, unit: str = "s"):
    return None if seconds is None else Q_(seconds, unit)


@dataclass(frozen=True)
class ServingResult(Rendered):
    """A static batch of requests served end to end. Times are None when the configuration
    does not fit (the constraint trace says by how much, and ``max_batch_size`` what fits)."""

    model: str
    hardware: str
    decode_hardware: str
    precision: str
    batch_size: int
    seq_len: int
    output_len: int
    prefill_mode: str
    feasible: bool
    constraint_trace: tuple
    ttft_s: float | None
    itl_s: float | None
    itl_last_s: float | None
    batch_prefill_s: float | None
    kv_transfer_s: float | None
    e2e_s: float | None
    tokens_per_round: float
    memory_parts: tuple[tuple[str, float], ...]
    capacity_bytes: float
    max_batch_size: int
    prefill_steps: tuple = ()
    decode_steps: tuple = ()
    notes: tuple[str, ...] = field(default=())

    # -- times ----------------------------------------------------------------------------
    @property
    def ttft(self):
        """Time to first token: one request's prompt prefill (or the batch's, if prefilled
        together: see ``prefill_mode``)."""
        return _q(self.ttft_s)

    @property
    def itl(self):
        """Inter-token latency: one decode step of the batch at the prompt's context."""
        return _q(self.itl_s)

    @property
    def itl_last(self):
        """The decode step at the last output token (the longest context)."""
        return _q(self.itl_last_s)

    @property
    def e2e_latency(self):
        """Prefill of the batch, KV transfer (if disaggregated) and every decode step."""
        return _q(self.e2e_s)

    @property
    def tokens_per_sec(self):
        """Output tokens per second of the batch over its end-to-end time."""
        if self.e2e_s is None:
            return None
        return Q_(self.batch_size * self.output_len / self.e2e_s, "token/s")

    # -- memory ---------------------------------------------------------------------------
    @property
    def kv_cache_size(self):
        return Q_(dict(self.memory_parts)["kv_cache"], "B")

    @property
    def model_weights_size(self):
        return Q_(dict(self.memory_parts)["weights"], "B")

    @property
    def total_memory_required(self):
        return Q_(sum(v for _, v in self.memory_parts), "B")

    @property
    def memory_utilization(self) -> float:
        """Memory required over the usable memory of the decode devices."""
        return sum(v for _, v in self.memory_parts) / self.capacity_bytes

    # -- what binds each phase --------------------------------------------------------------
    @property
    def prefill_time_by_resource(self) -> dict:
        """The prefill step's time split by the resource that bound each operator (s)."""
        return {k: float(v) for k, v in self.prefill_steps[1].shares.items()}

    @property
    def decode_time_by_resource(self) -> dict:
        """The first decode step's time split by the resource that bound each operator (s)."""
        return {k: float(v) for k, v in self.decode_steps[1].shares.items()}

    @property
    def prefill_bottleneck(self) -> Bottleneck:
        return Bottleneck(bottleneck_of(*self.prefill_time_by_resource.values()))

    @property
    def decode_bottleneck(self) -> Bottleneck:
        return Bottleneck(bottleneck_of(*self.decode_time_by_resource.values()))

    # -- operators ------------------------------------------------------------------------
    @property
    def prefill_operators(self) -> OperatorTable:
        return operator_table(*self.prefill_steps)

    @property
    def decode_operators(self) -> OperatorTable:
        return operator_table(*self.decode_steps)

    # -- rendering ------------------------------------------------------------------------
    def _title(self) -> str:
        where = self.hardware if self.decode_hardware == self.hardware else \
            f"{self.hardware} (prefill) → {self.decode_hardware} (decode)"
        return (f"{self.model} served on {where}: batch {self.batch_size}, "
                f"{self.seq_len:,} prompt + {self.output_len:,} output tokens, {self.precision}")

    def _rows(self) -> list[tuple[str, object]]:
        rows = []
        if self.feasible:
            rows += [("TTFT", self.ttft), ("Prefill bound by", str(self.prefill_bottleneck)),
                     ("ITL (first token)", self.itl),
                     ("Decode bound by", str(self.decode_bottleneck)),
                     ("ITL (last token)", self.itl_last),
                     ("End-to-end latency", self.e2e_latency),
                     ("Throughput", self.tokens_per_sec)]
            if self.kv_transfer_s:
                rows.append(("KV transfer", _q(self.kv_transfer_s)))
            if self.tokens_per_round != 1.0:
                rows.append(("Tokens per speculative round", f"{self.tokens_per_round:.2f}"))
        rows += [("Weights", self.model_weights_size), ("KV cache", self.kv_cache_size),
                 ("Memory required", self.total_memory_required),
                 ("Memory usable", Q_(self.capacity_bytes, "B")),
                 ("Memory utilisation", f"{self.memory_utilization:.0%}"),
                 ("Largest batch that fits", self.max_batch_size)]
        return rows

    def _notes(self) -> tuple[str, ...]:
        return self.notes

    def _infeasible_note(self) -> str:
        return "no times are given for a configuration that does not fit"

    def _fields(self) -> dict:
        return {
            "model": self.model, "hardware": self.hardware,
            "decode_hardware": self.decode_hardware, "precision": self.precision,
            "batch_size": self.batch_size, "seq_len": self.seq_len,
            "output_len": self.output_len, "prefill_mode": self.prefill_mode,
            "feasible": self.feasible,
            "constraint_trace": [getattr(c, "to_dict", lambda c=c: str(c))()
                                 for c in self.constraint_trace],
            "ttft": self.ttft, "itl": self.itl, "itl_last": self.itl_last,
            "e2e_latency": self.e2e_latency, "tokens_per_sec": self.tokens_per_sec,
            "kv_cache_size": self.kv_cache_size, "model_weights_size": self.model_weights_size,
            "total_memory_required": self.total_memory_required,
            "memory_utilization": self.memory_utilization,
            "max_batch_size": self.max_batch_size,
        }

"""Result data of continuous batching (paged KV cache, chunked prefill); no HTML here."""

from __future__ import annotations

from dataclasses import dataclass, field

from .results import OperatorTable, Rendered, operator_table
from .units import Q_


def _q(value: float | None, unit: str):
    return None if value is None else Q_(value, unit)


def _trace(trace) -> list:
    return [getattr(c, "to_dict", lambda c=c: str(c))() for c in trace]


@dataclass(frozen=True)
class ContinuousBatchingResult(Rendered):
    """Steady state of continuous batching at a concurrency (requests running at once).
    Times are None when the configuration does not fit (the constraint trace says by how
    much, and ``max_concurrency`` what fits)."""

    model: str
    hardware: str
    precision: str
    workload: str  # the request lengths, in words
    concurrency: int  # requests asked to run at once
    running: int  # requests actually decoding or prefilling (≤ prefill_limit)
    prefill_limit: int  # most running requests one chunk per step keeps fed
    max_concurrency: int  # most running requests the KV pool holds
    block_size: int
    chunk_size: int
    mean_prompt: float
    mean_output: float
    feasible: bool
    constraint_trace: tuple
    itl_s: float | None  # mean gap between a request's output tokens
    itl_decode_s: float | None  # a decode step alone (no chunk)
    itl_max_s: float | None  # the slowest step a decoding request waits for
    ttft_s: float | None  # a new request's chunks, each beside the running decodes
    step_s: float | None  # the mean step
    requests_per_step: float
    capacity_bytes: float
    weights_bytes: float
    activations_bytes: float
    block_bytes: float
    pool_blocks: int
    blocks_used: int  # blocks the running requests hold (on average, rounded up)
    blocks_per_request: float  # mean blocks a running request holds
    wasted_slots_per_request: float  # mean unused slots of its last block
    chunks_per_request: float  # mean prompt chunks (steps) per request
    lengths_are_means: bool = False
    decode_steps: tuple = ()
    mixed_steps: tuple = ()

    # -- times ----------------------------------------------------------------------------
    @property
    def itl(self):
        """Mean inter-token latency: decode steps, a share of them carrying a prompt chunk."""
        return _q(self.itl_s, "s")

    @property
    def itl_decode(self):
        """A decode step of the running requests with no chunk beside it."""
        return _q(self.itl_decode_s, "s")

    @property
    def itl_max(self):
        """The longest gap between two output tokens: a step carrying a full chunk (with one
        request running, its own decode step)."""
        return _q(self.itl_max_s, "s")

    @property
    def ttft(self):
        """Time to first token once admitted: the prompt's chunk steps."""
        return _q(self.ttft_s, "s")

    @property
    def requests_per_s(self) -> float | None:
        return None if self.step_s is None else self.requests_per_step / self.step_s

    @property
    def request_rate(self):
        """Requests completed per second in steady state."""
        return _q(self.requests_per_s, "1/s")

    @property
    def tokens_per_s(self) -> float | None:
        r = self.requests_per_s
        return None if r is None else r * self.mean_output

    @property
    def throughput(self):
        """Output tokens per second in steady state."""
        return _q(self.tokens_per_s, "token/s")

    @property
    def e2e_latency(self):
        """Mean time a request spends running (Little's law: running / request rate)."""
        r = self.requests_per_s
        return None if r is None else Q_(self.running / r, "s")

    # -- memory ---------------------------------------------------------------------------
    @property
    def kv_pool_bytes(self) -> float:
        """Usable memory − weights − activations (never below zero)."""
        return max(self.capacity_bytes - self.weights_bytes - self.activations_bytes, 0.0)

    @property
    def kv_pool(self):
        return Q_(self.kv_pool_bytes, "B")

    @property
    def kv_cache_size(self):
        return Q_(self.blocks_used * self.block_bytes, "B")

    @property
    def fragmentation(self) -> float:
        """Share of the allocated KV slots left empty (the last block of each sequence)."""
        return self.wasted_slots_per_request / (self.blocks_per_request * self.block_size)

    # -- operators ------------------------------------------------------------------------
    @property
    def decode_operators(self) -> OperatorTable | None:
        return operator_table(*self.decode_steps) if self.decode_steps else None

    @property
    def mixed_operators(self) -> OperatorTable | None:
        """A step carrying a prompt chunk beside the running requests' decode tokens."""
        return operator_table(*self.mixed_steps) if self.mixed_steps else None

    # -- rendering ------------------------------------------------------------------------
    def _title(self) -> str:
        return (f"{self.model} on {self.hardware}, continuous batching: {self.concurrency:,} "
                f"concurrent, {self.workload}, block {self.block_size}, chunk "
                f"{self.chunk_size:,}, {self.precision}")

    def _rows(self) -> list[tuple[str, object]]:
        rows = []
        if self.feasible:
            rows += [("Running requests", self.running), ("TTFT", self.ttft),
                     ("ITL (mean)", self.itl), ("ITL (decode step alone)", self.itl_decode),
                     ("ITL (longest gap)", self.itl_max),
                     ("Throughput", self.throughput), ("Request rate", self.request_rate)]
        rows += [("Weights", Q_(self.weights_bytes, "B")),
                 ("Activations", Q_(self.activations_bytes, "B")),
                 ("KV pool", self.kv_pool),
                 ("KV blocks in the pool", self.pool_blocks),
                 ("Blocks per running request", f"{self.blocks_per_request:,.1f}"),
                 ("Internal fragmentation", f"{self.fragmentation:.1%}"),
                 ("Most requests the pool holds", self.max_concurrency),
                 ("Most requests one chunk per step feeds", self.prefill_limit)]
        return rows

    @property
    def chunk_step_share(self) -> float:
        """Share of the steps that carry a prompt chunk."""
        return self.requests_per_step * self.chunks_per_request

    @property
    def notes(self) -> tuple[str, ...]:
        n = self.running
        notes = [f"Steady state of {n:,} running requests, each replaced when it ends (arrival "
                 f"queueing is not modelled); {self.chunk_step_share:.0%} of steps carry a "
                 f"prompt chunk of up to {self.chunk_size:,} tokens beside the other requests' "
                 "decode tokens, each such step one engine step with one attention kernel per "
                 "request group (Sarathi-Serve's hybrid batch).",
                 f"KV cache in blocks of {self.block_size} tokens: a running request holds "
                 f"{self.blocks_per_request:,.1f} blocks on average, "
                 f"{self.wasted_slots_per_request:.1f} slots of them empty (vLLM's paged KV "
                 "cache)."]
        if self.concurrency > n:
            notes.append(f"Prefill-bound: one chunk of {self.chunk_size:,} tokens per step keeps "
                         f"at most {n:,} requests running; the other {self.concurrency - n:,} "
                         "wait for their prompt (a larger chunk_size raises the limit).")
        if self.lengths_are_means:
            notes.append("Lengths are means: each sequence's last block is taken to hold "
                         f"{(self.block_size - 1) / 2:.1f} empty slots on average.")
        return tuple(notes)

    def _notes(self) -> tuple[str, ...]:
        return self.notes

    def _infeasible_note(self) -> str:
        return "no times are given for a configuration that does not fit"

    def _fields(self) -> dict:
        return {
            "model": self.model, "hardware": self.hardware, "precision": self.precision,
            "workload": self.workload, "concurrency": self.concurrency,
            "running": self.running, "block_size": self.block_size,
            "chunk_size": self.chunk_size, "feasible": self.feasible,
            "constraint_trace": _trace(self.constraint_trace),
            "ttft": self.ttft, "itl": self.itl, "itl_decode": self.itl_decode,
            "itl_max": self.itl_max, "throughput": self.throughput,
            "request_rate": self.request_rate, "kv_pool": self.kv_pool,
            "pool_blocks": self.pool_blocks, "blocks_per_request": self.blocks_per_request,
            "fragmentation": self.fragmentation, "max_concurrency": self.max_concurrency,
            "prefill_limit": self.prefill_limit,
        }


@dataclass(frozen=True)
class BatchingCurve(Rendered):
    """ITL, throughput and TTFT against concurrency (the throughput–latency curve)."""

    model: str
    hardware: str
    workload: str
    concurrency: tuple[int, ...]
    itl_s: tuple[float, ...]
    tokens_per_s: tuple[float, ...]
    ttft_s: tuple[float, ...]
    max_concurrency: int
    prefill_limit: int
    feasible: bool = True
    constraint_trace: tuple = ()

    @property
    def itl(self):
        return Q_(list(self.itl_s), "s")

    @property
    def throughput(self):
        return Q_(list(self.tokens_per_s), "token/s")

    @property
    def ttft(self):
        return Q_(list(self.ttft_s), "s")

    def __len__(self) -> int:
        return len(self.concurrency)

    def table_data(self):
        from .render import TableData
        rows = tuple((n, Q_(i, "s"), Q_(t, "token/s"), Q_(f, "s")) for n, i, t, f in zip(
            self.concurrency, self.itl_s, self.tokens_per_s, self.ttft_s, strict=True))
        return TableData(("Concurrency", "ITL (mean)", "Throughput", "TTFT"), rows)

    def _title(self) -> str:
        return f"{self.model} on {self.hardware}, continuous batching: {self.workload}"

    def _rows(self) -> list[tuple[str, object]]:
        return [("Most requests the KV pool holds", self.max_concurrency),
                ("Most requests one chunk per step feeds", self.prefill_limit)]

    def _tables(self) -> tuple:
        return (self.table_data(),) if self.concurrency else ()

    def _infeasible_note(self) -> str:
        return "no times are given for a configuration that does not fit"

    def _fields(self) -> dict:
        return {"model": self.model, "hardware": self.hardware, "workload": self.workload,
                "concurrency": list(self.concurrency), "itl": self.itl,
                "throughput": self.throughput, "ttft": self.ttft,
                "max_concurrency": self.max_concurrency, "prefill_limit": self.prefill_limit,
                "feasible": self.feasible, "constraint_trace": _trace(self.constraint_trace)}


@dataclass(frozen=True)
class StaticComparison(Rendered):
    """Continuous batching with a paged KV cache against static batching, in equal memory."""

    model: str
    hardware: str
    workload: str
    max_output_len: int
    paged_requests: int  # running requests the KV pool holds
    static_requests: int  # batch whose max-length reservations fit
    paged_kv_per_request: float  # bytes a running request holds on average (whole blocks)
    static_kv_per_request: float  # bytes reserved: prompt + max output
    paged_tokens_per_s: float | None
    static_tokens_per_s: float | None
    paged: object = None  # ContinuousBatchingResult at paged_requests
    static: object = None  # ServingResult of the static batch
    notes: tuple[str, ...] = field(default=())

    @property
    def feasible(self) -> bool:
        return self.paged_requests > 0 or self.static_requests > 0

    @property
    def constraint_trace(self) -> tuple:
        return () if self.feasible else tuple(self.paged.constraint_trace)

    @property
    def fit_ratio(self) -> float | None:
        """Paged over static requests held (None when static fits none)."""
        return self.paged_requests / self.static_requests if self.static_requests else None

    @property
    def throughput_ratio(self) -> float | None:
        if not self.paged_tokens_per_s or not self.static_tokens_per_s:
            return None
        return self.paged_tokens_per_s / self.static_tokens_per_s

    def _title(self) -> str:
        return (f"{self.model} on {self.hardware}: continuous batching (paged KV) vs static "
                f"batching in the same memory, {self.workload}, max output "
                f"{self.max_output_len:,}")

    def _rows(self) -> list[tuple[str, object]]:
        rows = [("Requests held, paged", self.paged_requests),
                ("Requests held, static", self.static_requests),
                ("KV per request, paged (mean held)", Q_(self.paged_kv_per_request, "B")),
                ("KV per request, static (reserved)", Q_(self.static_kv_per_request, "B"))]
        for label, tps in (("paged", self.paged_tokens_per_s),
                           ("static", self.static_tokens_per_s)):
            if tps is not None:
                rows.append((f"Throughput, {label}", Q_(tps, "token/s")))
        return rows

    def _notes(self) -> tuple[str, ...]:
        return self.notes

    def _infeasible_note(self) -> str:
        return "no times are given for a configuration that does not fit"

    def _fields(self) -> dict:
        return {"model": self.model, "hardware": self.hardware, "workload": self.workload,
                "max_output_len": self.max_output_len, "paged_requests": self.paged_requests,
                "static_requests": self.static_requests,
                "paged_kv_per_request": Q_(self.paged_kv_per_request, "B"),
                "static_kv_per_request": Q_(self.static_kv_per_request, "B"),
                "paged_throughput": _q(self.paged_tokens_per_s, "token/s"),
                "static_throughput": _q(self.static_tokens_per_s, "token/s"),
                "fit_ratio": self.fit_ratio, "throughput_ratio": self.throughput_ratio}

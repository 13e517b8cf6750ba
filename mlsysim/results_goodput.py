"""Result data of :class:`~mlsysim.solvers.batching_optimizer.BatchingOptimizer` (no HTML
here; rendering is mlsysim.render's). Floats inside (seconds, requests/s, USD/h); pint
Quantities on the way out."""

from __future__ import annotations

from dataclasses import dataclass, field

from .formatting import format_time, sig
from .results import Rendered
from .units import Q_

#: SLO keys, the latency each bounds, and how it is shown
SLO_LABELS = {"ttft": "p99 TTFT", "itl": "ITL", "e2e": "p99 end-to-end"}


def _q(value: float | None, unit: str):
    return None if value is None else Q_(value, unit)


def _rate(qps: float) -> str:
    return f"{sig(qps)} req/s"


@dataclass(frozen=True, slots=True)
class GoodputCandidate:
    """One batch size of the search: its service times (ServingModel, one replica), its
    cost per token at full load, and the fewest replicas that serve the target rate within
    every SLO (None when no replica count can: ``limit`` says why)."""

    batch_size: int
    prefill_s: float  # the batch's prefill: a request's TTFT before any queueing
    decode_s: float  # the batch's longest decode step: its ITL
    service_s: float  # the batch's end-to-end time: what a request holds a slot for
    tokens_per_s: float  # output tokens per second of one replica running full batches
    cost_per_mtok_full: float  # USD per million output tokens at full load
    replicas: int | None
    goodput_qps: float
    meets: bool  # serves the target rate within every SLO on at most max_replicas
    limit: str

    @property
    def capacity_qps(self) -> float:
        """Requests per second one replica completes running full batches (B / S(B))."""
        return self.batch_size / self.service_s


@dataclass(frozen=True)
class GoodputResult(Rendered):
    """A served LLM's batch size and replica count under latency SLOs (static batches of B:
    see :mod:`mlsysim.solvers.batching_optimizer` for the queue model).

    SLOs (each optional, at least one given), over requests arriving as a Poisson stream; a
    request's *wait* is the time for its batch to fill plus the batch's wait for a replica:

    * ``p99_ttft_slo_s`` bounds the 99th percentile of a request's time to first token:
      wait + its batch's prefill (every request counted at the end of its batch's last
      prefill, the worst position in the batch);
    * ``itl_slo_s`` bounds every inter-token gap: the batch's longest decode step (waiting
      does not change it, so no percentile);
    * ``p99_e2e_slo_s`` bounds the 99th percentile of wait + the batch's end-to-end time.

    ``p99_ttft_s`` and ``p99_e2e_s`` are upper bounds (the two waits' p99.5s summed).
    ``goodput_qps`` is the largest admitted rate, up to the offered one, at which every SLO
    holds (requests beyond it are shed at admission; 0 when none does); latencies and
    utilisation are at that rate, and ``max_rate_qps`` is the largest rate that meets the
    SLOs on these replicas. ``binding`` names what stops a larger batch (``"ttft"``,
    ``"itl"``, ``"e2e"``, ``"stability"``, ``"memory"``, ``"max_batch_size"``), or
    ``"max_replicas"`` when the target rate is not reached; ``binding_detail`` says it in
    numbers. ``feasible`` is False when the SLOs cannot be met at all (no configuration is
    given) or the target rate is not reached within ``max_replicas`` (the configuration with
    the most goodput is given)."""

    model: str
    hardware: str
    devices_per_replica: int
    price_per_hour: float  # USD per device-hour
    price_source: str
    seq_len: int
    output_len: int
    arrival_rate_qps: float
    p99_ttft_slo_s: float | None
    itl_slo_s: float | None
    p99_e2e_slo_s: float | None
    max_replicas: int | None
    feasible: bool
    constraint_trace: tuple[str, ...]
    max_batch_size: int  # the largest batch that fits in a replica's memory
    batch_size: int | None = None
    replicas: int | None = None
    prefill_s: float | None = None
    decode_s: float | None = None
    service_s: float | None = None
    p99_ttft_s: float | None = None
    p99_e2e_s: float | None = None
    utilization: float | None = None
    goodput_qps: float = 0.0
    max_rate_qps: float | None = None
    binding: str | None = None
    binding_detail: str = ""
    candidates: tuple[GoodputCandidate, ...] = ()
    serving_solves: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def offered_utilization(self) -> float | None:
        """ρ at the offered rate, λ·S(B)/(R·B): ≥ 1 when these replicas cannot keep up with
        it (``utilization`` is at the admitted rate, the goodput)."""
        if self.batch_size is None or not self.replicas or not self.service_s:
            return None
        return self.arrival_rate_qps * self.service_s / (self.replicas * self.batch_size)

    # -- latencies -------------------------------------------------------------------------
    @property
    def ttft(self):
        """A request's TTFT before any wait: its batch's prefill."""
        return _q(self.prefill_s, "s")

    @property
    def itl(self):
        """The batch's longest decode step."""
        return _q(self.decode_s, "s")

    @property
    def e2e_latency(self):
        """The batch's end-to-end time (before any wait)."""
        return _q(self.service_s, "s")

    @property
    def p99_ttft(self):
        return _q(self.p99_ttft_s, "s")

    @property
    def p99_e2e(self):
        return _q(self.p99_e2e_s, "s")

    # -- rates and cost --------------------------------------------------------------------
    @property
    def goodput(self):
        """Requests per second served within every SLO."""
        return Q_(self.goodput_qps, "1/s")

    @property
    def meets_target(self) -> bool:
        return self.batch_size is not None and self.goodput_qps >= self.arrival_rate_qps

    @property
    def devices(self) -> int | None:
        return None if self.replicas is None else self.replicas * self.devices_per_replica

    @property
    def tokens_per_sec(self):
        """Output tokens per second served within every SLO (goodput × output length)."""
        return Q_(self.goodput_qps * self.output_len, "token/s")

    @property
    def cost_per_hour(self):
        if self.replicas is None:
            return None
        return Q_(self.price_per_hour * self.devices, "USD/h")

    @property
    def cost_per_million_tokens(self):
        """USD per million output tokens served within the SLOs: price/h × devices per
        replica × replicas / (goodput × output tokens × 3600 s/h) × 1e6."""
        if self.replicas is None or self.goodput_qps <= 0:
            return None
        tokens_per_hour = self.goodput_qps * self.output_len * 3600.0
        return Q_(self.price_per_hour * self.devices / tokens_per_hour * 1e6, "USD")

    @property
    def cost_per_million_tokens_full_load(self):
        """USD per million output tokens when every replica runs full batches back to back:
        price/h × devices per replica / (the batch's tokens/s × 3600) × 1e6."""
        c = self.chosen
        return None if c is None else Q_(c.cost_per_mtok_full, "USD")

    @property
    def chosen(self) -> GoodputCandidate | None:
        return next((c for c in self.candidates if c.batch_size == self.batch_size), None)

    # -- display ---------------------------------------------------------------------------
    def _slo_rows(self):
        return [(f"SLO: {SLO_LABELS[k]}", f"≤ {format_time(v)}") for k, v in
                (("ttft", self.p99_ttft_slo_s), ("itl", self.itl_slo_s),
                 ("e2e", self.p99_e2e_slo_s)) if v is not None]

    def _title(self) -> str:
        return (f"{self.model} on {self.hardware} per replica: {self.seq_len:,} prompt + "
                f"{self.output_len:,} output tokens at {_rate(self.arrival_rate_qps)}")

    def _rows(self):
        rows = [("Offered rate", _rate(self.arrival_rate_qps)), *self._slo_rows()]
        if self.batch_size is None:
            return [*rows, ("Largest batch that fits", self.max_batch_size)]
        rows += [("Batch size", self.batch_size),
                 ("Replicas", f"{self.replicas:,} × {self.devices_per_replica} device"
                  f"{'s' if self.devices_per_replica > 1 else ''}"),
                 ("TTFT before any wait (batch prefill)", self.ttft),
                 ("p99 TTFT (bound: wait + prefill)", self.p99_ttft),
                 ("ITL (longest decode step)", self.itl),
                 ("End-to-end before any wait", self.e2e_latency),
                 ("p99 end-to-end (bound: wait + batch)", self.p99_e2e),
                 ("Utilisation ρ", None if self.utilization is None else sig(self.utilization)),
                 ("Offered load ρ (λ·S/(R·B))", self._offered_row()),
                 ("Goodput", _rate(self.goodput_qps)),
                 ("Most rate within the SLOs", None if self.max_rate_qps is None
                  else _rate(self.max_rate_qps)),
                 ("Output tokens/s within the SLOs", self.tokens_per_sec),
                 ("Cost per hour", self.cost_per_hour),
                 ("Cost per million output tokens", self.cost_per_million_tokens),
                 ("… at full load", self.cost_per_million_tokens_full_load)]
        if self.binding_detail:
            rows.append(("What binds", self.binding_detail))
        return [(k, v) for k, v in rows if v is not None]

    def _offered_row(self) -> str | None:
        """The offered load where it differs from the admitted one (requests shed)."""
        rho = self.offered_utilization
        if rho is None or self.goodput_qps >= self.arrival_rate_qps:
            return None
        return sig(rho) + (" ≥ 1: the replicas cannot keep up with the offered rate"
                           if rho >= 1.0 else "")

    def table_data(self):
        from .render import TableData
        rows = tuple((c.batch_size, Q_(c.prefill_s, "s"), Q_(c.decode_s, "s"),
                      Q_(c.service_s, "s"), _rate(c.capacity_qps),
                      Q_(c.cost_per_mtok_full, "USD"), "—" if c.replicas is None else c.replicas,
                      _rate(c.goodput_qps),
                      ("chosen: " if c.batch_size == self.batch_size else "") + c.limit)
                     for c in self.candidates)
        return TableData(("Batch", "TTFT (prefill)", "ITL", "End-to-end", "Per replica",
                          "$/Mtok full load", "Replicas", "Goodput", "Limit"), rows,
                         "Batch sizes searched")

    def _tables(self) -> tuple:
        return (self.table_data(),) if self.candidates else ()

    def _notes(self) -> tuple[str, ...]:
        return self.notes

    def _infeasible_note(self) -> str:
        if self.batch_size is None:
            return "no configuration meets the SLOs"
        return "the configuration shown is the one with the most goodput"

    def _fields(self) -> dict:
        return {"model": self.model, "hardware": self.hardware,
                "devices_per_replica": self.devices_per_replica,
                "price_per_hour": Q_(self.price_per_hour, "USD/h"),
                "price_source": self.price_source, "seq_len": self.seq_len,
                "output_len": self.output_len, "arrival_rate_qps": self.arrival_rate_qps,
                "p99_ttft_slo": _q(self.p99_ttft_slo_s, "s"),
                "itl_slo": _q(self.itl_slo_s, "s"), "p99_e2e_slo": _q(self.p99_e2e_slo_s, "s"),
                "max_replicas": self.max_replicas, "feasible": self.feasible,
                "constraint_trace": list(self.constraint_trace),
                "max_batch_size": self.max_batch_size, "batch_size": self.batch_size,
                "replicas": self.replicas, "ttft": self.ttft, "itl": self.itl,
                "e2e_latency": self.e2e_latency, "p99_ttft": self.p99_ttft,
                "p99_e2e": self.p99_e2e, "utilization": self.utilization,
                "offered_utilization": self.offered_utilization,
                "goodput_qps": self.goodput_qps, "max_rate_qps": self.max_rate_qps,
                "cost_per_hour": self.cost_per_hour,
                "cost_per_million_tokens": self.cost_per_million_tokens,
                "cost_per_million_tokens_full_load": self.cost_per_million_tokens_full_load,
                "binding": self.binding, "binding_detail": self.binding_detail,
                "candidates": [{"batch_size": c.batch_size, "ttft": Q_(c.prefill_s, "s"),
                                "itl": Q_(c.decode_s, "s"), "e2e": Q_(c.service_s, "s"),
                                "capacity_qps": c.capacity_qps,
                                "cost_per_mtok_full": Q_(c.cost_per_mtok_full, "USD"),
                                "replicas": c.replicas, "goodput_qps": c.goodput_qps,
                                "meets": c.meets, "limit": c.limit}
                               for c in self.candidates],
                "notes": list(self.notes)}

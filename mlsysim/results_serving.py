"""Result data of the serving solvers (no HTML here; rendering is mlsysim.render's)."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

from .results import Rendered
from .units import Q_


# -- tail latency (TailLatencyModel) ---------------------------------------------------------
class UnstableQueueError(ValueError):
    """A latency was read from a queue with no steady state (ρ ≥ 1)."""


def _sig(x: float) -> str:
    from .formatting import sig
    return sig(x)


def _ms(seconds: float):
    return Q_(seconds * 1e3, "ms")


def _slo_seconds(slo) -> float:
    """An SLO as seconds: a number of milliseconds, a Quantity or a string such as '200 ms'."""
    from .solvers.inputs import duration_seconds
    return duration_seconds("slo", slo)


@dataclass(frozen=True, slots=True)
class TailLatencyResult(Rendered):
    """Latency of requests through a FCFS queue in front of ``num_replicas`` replicas:
    the *sojourn* time (queueing wait + service) as percentiles and a mean, in ms.

    A stable queue (ρ = λ/(cμ) < 1) has every field. An unstable one (ρ ≥ 1) has no steady
    state: ``is_stable`` is False, the constraint trace says so in numbers, and reading a
    latency (``p99_latency``, ``mean_wait``, ``slo_violation_probability`` ...) raises
    :class:`UnstableQueueError` naming ρ and the rate the replicas can sustain; ``to_dict``
    gives ``None`` for them. ``probability_of_waiting`` is then 1 (the long-run limit)."""

    arrival_rate_qps: float
    service_latency_s: float
    num_replicas: int
    service_time_cv: float
    queue_utilization: float
    is_stable: bool
    probability_of_waiting: float
    model: str
    notes: tuple[str, ...]
    sojourn: object = None  # physics.queueing.Sojourn of a stable queue
    percentiles_s: tuple[float, float, float] | None = None  # p50, p90, p99

    # -- capacity --------------------------------------------------------------------------
    @property
    def max_stable_rate_qps(self) -> float:
        """c·μ: arrival rates strictly below this have a steady state."""
        return self.num_replicas / self.service_latency_s

    @property
    def min_stable_replicas(self) -> int:
        """The fewest replicas with ρ < 1 at this arrival rate."""
        from .physics.queueing import stable
        lam, mu = self.arrival_rate_qps, 1.0 / self.service_latency_s
        c = int(lam * self.service_latency_s) + 1
        while not stable(lam, mu, c):  # float rounding, either way
            c += 1
        while c > 1 and stable(lam, mu, c - 1):
            c -= 1
        return c

    @property
    def feasible(self) -> bool:
        return self.is_stable

    @property
    def constraint_trace(self) -> tuple[str, ...]:
        return () if self.is_stable else (self._unstable(),)

    def _unstable(self) -> str:
        c = self.num_replicas
        return (f"unstable: ρ = {_sig(self.queue_utilization)} ≥ 1: "
                f"{_sig(self.arrival_rate_qps)} qps arrive but {c:,} "
                f"replica{'s' if c != 1 else ''} of {_fmt_s(self.service_latency_s)} "
                f"serve{'' if c != 1 else 's'} at most {_sig(self.max_stable_rate_qps)} qps; "
                f"the queue grows without bound (at least {self.min_stable_replicas:,} "
                "replicas are needed)")

    def _stable(self):
        if not self.is_stable:
            raise UnstableQueueError(f"no latency in steady state: {self._unstable()}")
        return self.sojourn

    # -- latencies -------------------------------------------------------------------------
    @property
    def p50_latency(self):
        self._stable()
        return _ms(self.percentiles_s[0])

    @property
    def p90_latency(self):
        self._stable()
        return _ms(self.percentiles_s[1])

    @property
    def p99_latency(self):
        self._stable()
        return _ms(self.percentiles_s[2])

    @property
    def mean_wait(self):
        return _ms(self._stable().mean_wait)

    @property
    def mean_latency(self):
        return _ms(self._stable().mean)

    @property
    def service_latency(self):
        return _ms(self.service_latency_s)

    def latency_quantile(self, q: float):
        """The q-quantile (0 < q < 1) of the latency, e.g. 0.999 for p99.9."""
        from .physics.queueing import quantile
        from .solvers.inputs import shown
        d = self._stable()
        if isinstance(q, bool) or not isinstance(q, Real) or not 0.0 < q < 1.0:
            raise ValueError(f"q must be a number in (0, 1) (0.99 for p99), got {shown(q)}")
        return _ms(quantile(d, float(q)))

    def slo_violation_probability(self, slo) -> float:
        """P(latency > slo): the fraction of requests that miss a latency SLO (ms, or a
        Quantity/string such as '200 ms')."""
        from .physics.queueing import survival
        d = self._stable()
        return survival(d, _slo_seconds(slo))

    # -- display ---------------------------------------------------------------------------
    def _title(self) -> str:
        c = self.num_replicas
        return (f"Tail latency at {_sig(self.arrival_rate_qps)} qps on {c:,} "
                f"replica{'s' if c != 1 else ''} ({self.model})")

    def _rows(self):
        rows = [("Arrival rate", f"{_sig(self.arrival_rate_qps)} qps"),
                ("Service time (mean)", self.service_latency),
                ("Service-time cv", _sig(self.service_time_cv)),
                ("Replicas", self.num_replicas),
                ("Utilisation ρ = λ/(cμ)", _sig(self.queue_utilization)),
                ("Sustainable rate c·μ", f"{_sig(self.max_stable_rate_qps)} qps")]
        if not self.is_stable:
            return [*rows, ("Replicas needed for ρ < 1", self.min_stable_replicas),
                    ("Latency percentiles", "undefined: no steady state (ρ ≥ 1)")]
        return [*rows, ("P(wait) (Erlang C)", _sig(self.probability_of_waiting)),
                ("Mean wait", self.mean_wait), ("Mean latency", self.mean_latency),
                ("p50 latency", self.p50_latency), ("p90 latency", self.p90_latency),
                ("p99 latency", self.p99_latency)]

    def _notes(self) -> tuple[str, ...]:
        return self.notes

    def _infeasible_note(self) -> str:
        return "no steady state, so no latency percentiles"

    def _fields(self) -> dict:
        stable = self.is_stable
        return {"arrival_rate_qps": self.arrival_rate_qps,
                "service_latency": self.service_latency,
                "num_replicas": self.num_replicas, "service_time_cv": self.service_time_cv,
                "queue_utilization": self.queue_utilization, "is_stable": stable,
                "max_stable_rate_qps": self.max_stable_rate_qps,
                "min_stable_replicas": self.min_stable_replicas,
                "probability_of_waiting": self.probability_of_waiting,
                "mean_wait": self.mean_wait if stable else None,
                "mean_latency": self.mean_latency if stable else None,
                "p50_latency": self.p50_latency if stable else None,
                "p90_latency": self.p90_latency if stable else None,
                "p99_latency": self.p99_latency if stable else None,
                "model": self.model, "constraint_trace": list(self.constraint_trace),
                "notes": list(self.notes)}


@dataclass(frozen=True, slots=True)
class QueueSimulationResult(Rendered):
    """Sojourn-time estimates from a discrete-event simulation, each with a confidence
    interval from batch means (``estimates``: name → (estimate, half-width) in seconds)."""

    arrival_rate_qps: float
    service_latency_s: float
    num_replicas: int
    service_time_cv: float
    n_requests: int
    warmup: int
    batches: int
    confidence: float
    seed: int | None
    estimates: dict
    feasible: bool = True
    constraint_trace: tuple[str, ...] = ()

    def _get(self, name: str):
        return _ms(self.estimates[name][0])

    def _ci(self, name: str):
        est, half = self.estimates[name]
        return _ms(est - half), _ms(est + half)

    p50_latency = property(lambda self: self._get("p50"))
    p90_latency = property(lambda self: self._get("p90"))
    p99_latency = property(lambda self: self._get("p99"))
    mean_latency = property(lambda self: self._get("mean"))
    p50_ci = property(lambda self: self._ci("p50"), doc="(low, high) of p50, ms")
    p90_ci = property(lambda self: self._ci("p90"), doc="(low, high) of p90, ms")
    p99_ci = property(lambda self: self._ci("p99"), doc="(low, high) of p99, ms")
    mean_ci = property(lambda self: self._ci("mean"), doc="(low, high) of the mean, ms")

    def _title(self) -> str:
        return (f"Simulated latency at {_sig(self.arrival_rate_qps)} qps on "
                f"{self.num_replicas:,} replica(s), {self.n_requests:,} requests")

    def _rows(self):
        pct = f"{self.confidence:.0%}"
        return [(f"{name} latency", f"{_fmt_s(est)} ± {_fmt_s(half)} ({pct} CI)")
                for name, (est, half) in self.estimates.items()]

    def _notes(self) -> tuple[str, ...]:
        return (f"Poisson arrivals, gamma service times (mean {_fmt_s(self.service_latency_s)}, "
                f"cv {_sig(self.service_time_cv)}), FCFS; first {self.warmup:,} requests "
                f"discarded; intervals from {self.batches} batch means",)

    def _fields(self) -> dict:
        return {"arrival_rate_qps": self.arrival_rate_qps,
                "service_latency": _ms(self.service_latency_s),
                "num_replicas": self.num_replicas, "service_time_cv": self.service_time_cv,
                "n_requests": self.n_requests, "warmup": self.warmup, "seed": self.seed,
                "batches": self.batches, "confidence": self.confidence,
                **{f"{k}_latency": _ms(v[0]) for k, v in self.estimates.items()},
                **{f"{k}_ci": list(self._ci(k)) for k in self.estimates}}


def _fmt_s(seconds: float) -> str:
    from .formatting import format_time
    return format_time(seconds)

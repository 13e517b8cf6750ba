"""Tail latency of a replicated service from queueing theory (``TailLatencyModel``), and a
discrete-event simulation to check it against (``simulate_queue``).

Requests arrive as a Poisson stream at λ (``arrival_rate_qps``) and join one FCFS queue in
front of c identical replicas (``num_replicas``), each taking a service time of mean 1/μ
(``service_latency_ms``) and coefficient of variation ``service_time_cv``. The latency a
client sees is the *sojourn* time: queueing wait plus service, whose percentiles come from
its distribution (never "a wait percentile plus the mean service time").

- cv = 1 (exponential service): M/M/c, **exact** — Erlang C and the closed-form sojourn CDF
  derived in :mod:`mlsysim.physics.queueing`.
- cv ≠ 1: M/G/c by a **stated approximation** — Erlang C probability of waiting, the
  Allen–Cunneen mean wait (M/M/c's × (1 + cv²)/2; exact for one replica by
  Pollaczek–Khinchine), the M/M/c exponential wait shape, and a two-moment fit of the service
  time (shifted exponential for cv ≤ 1, deterministic at cv = 0; balanced-means
  hyperexponential for cv > 1). Known error: Whitt (1993) finds such mean waits typically
  within about 10 % at moderate to heavy load, worse at light load with many replicas (where
  the wait is a small share of the latency); quantiles also carry the error of the assumed
  shapes. The result names the approximation in its notes.

Units: plain numbers are queries per second and milliseconds; pint Quantities and strings
("20 1/s", "1200 1/min", "50 ms") are accepted too. An idle system (λ = 0) is allowed: no
request waits. A queue with ρ = λ/(cμ) ≥ 1 has no steady state: the result says so with ρ and
the rate the replicas sustain, and reading a latency from it raises (never inf or NaN).
"""

from __future__ import annotations

from numbers import Integral, Real

from ..physics import queueing as q
from ..results_serving import QueueSimulationResult, TailLatencyResult
from . import inputs
from .inputs import duration_seconds, in_range

MAX_REPLICAS = 1_000_000
MAX_CV = 10.0  # a service time whose standard deviation is 10× its mean is already extreme
PERCENTILES = (0.5, 0.9, 0.99)


# -- inputs ----------------------------------------------------------------------------------
def arrival_rate(value, name: str = "arrival_rate_qps") -> float:
    """Requests per second (≥ 0): a number in qps, or a Quantity/string such as '20 1/s'."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number of requests per second, got {value!r}")
    if isinstance(value, Real):
        return in_range(name, float(value), inputs.shown(value), "1/s", allow_zero=True)
    from ..units import checked
    return float(checked(value, "1/s", name, allow_zero=True,
                         example="'20 1/s'").to("1/s").magnitude)


def service_cv(value) -> float:
    """The service time's coefficient of variation: a number in [0, MAX_CV]."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value <= MAX_CV:
        raise ValueError(f"service_time_cv must be a number in [0, {MAX_CV:g}] (0: constant "
                         f"service time, 1: exponential), got {inputs.shown(value)}")
    return float(value)


def replicas(value, name: str = "num_replicas") -> int:
    c = inputs.positive_int(name, value)
    if c > MAX_REPLICAS:
        raise ValueError(f"{name} must be at most {MAX_REPLICAS:,}, got {c:,}")
    return c


# -- the model -------------------------------------------------------------------------------
def _model_name(c: int, cv: float) -> str:
    if cv == 1.0:
        return f"M/M/{c:,}, exact"
    return f"M/{'D' if cv < q.DETERMINISTIC_CV else 'G'}/{c:,}, approximation"


def _notes(lam: float, cv: float) -> tuple[str, ...]:
    notes = ["latency = queueing wait + service (the sojourn time), Poisson arrivals, one "
             "FCFS queue in front of the replicas, steady state"]
    if cv != 1.0:
        notes.append("approximation (service-time cv ≠ 1): P(wait) = Erlang C; mean wait = "
                     "M/M/c's × (1 + cv²)/2 (Allen–Cunneen; exact for one replica); "
                     "exponential wait shape; service time fitted to its mean and cv. "
                     "Typically within ~10 % of the mean wait at moderate to heavy load, "
                     "worse at light load with many replicas (Whitt 1993)")
    if lam == 0.0:
        notes.append("no arrivals: an idle system, latency = service time")
    return tuple(notes)


def _result(lam: float, s: float, c: int, cv: float) -> TailLatencyResult:
    mu = 1.0 / s
    capacity = c * mu
    common = dict(arrival_rate_qps=lam, service_latency_s=s, num_replicas=c,
                  service_time_cv=cv, queue_utilization=lam / capacity,
                  model=_model_name(c, cv), notes=_notes(lam, cv))
    if not q.stable(lam, mu, c):
        return TailLatencyResult(is_stable=False, probability_of_waiting=1.0, **common)
    d = q.sojourn(lam, mu, c, cv)
    return TailLatencyResult(is_stable=True, probability_of_waiting=d.p_wait, sojourn=d,
                             percentiles_s=tuple(q.quantile(d, p) for p in PERCENTILES),
                             **common)


def _p99(lam: float, mu: float, c: int, cv: float) -> float:
    return q.quantile(q.sojourn(lam, mu, c, cv), 0.99)


class TailLatencyModel:
    """Percentiles of request latency (wait + service) for Poisson arrivals at a FCFS queue
    in front of identical replicas: exact M/M/c for exponential service (cv = 1), the stated
    Allen–Cunneen approximation otherwise (see the module docstring)."""

    def solve(self, arrival_rate_qps, service_latency_ms, num_replicas=1,
              service_time_cv=1.0) -> TailLatencyResult:
        """Latency percentiles, mean wait, utilisation and Erlang C at one arrival rate."""
        return _result(arrival_rate(arrival_rate_qps),
                       duration_seconds("service_latency_ms", service_latency_ms),
                       replicas(num_replicas), service_cv(service_time_cv))

    def replicas_for_slo(self, arrival_rate_qps, service_latency_ms, p99_slo_ms,
                         service_time_cv=1.0) -> int:
        """The fewest replicas whose p99 latency is at most ``p99_slo_ms`` at this rate.

        More replicas never raise the p99 (Erlang C falls and the wait rate cμ − λ grows), so
        the search gallops up from the fewest stable replicas and bisects. Raises when no
        number of replicas can meet the SLO: the p99 of the service time alone is a floor.
        """
        lam = arrival_rate(arrival_rate_qps)
        s = duration_seconds("service_latency_ms", service_latency_ms)
        slo = duration_seconds("p99_slo_ms", p99_slo_ms)
        cv = service_cv(service_time_cv)
        mu = 1.0 / s
        shift, probs, rates = q.service_fit(mu, cv)
        floor = q.quantile(q.Sojourn(shift, probs, rates, 0.0, 1.0), 0.99)
        if floor > slo or (lam > 0.0 and floor >= slo):
            raise ValueError(f"p99_slo_ms: {slo * 1e3:.4g} ms cannot be met: the service time "
                             f"alone has a p99 of {floor * 1e3:.4g} ms (mean "
                             f"{s * 1e3:.4g} ms, cv {cv:g}) and queueing only adds to it")
        if not q.stable(lam, mu, MAX_REPLICAS):
            raise ValueError(f"arrival_rate_qps: {lam:.4g} qps needs more than "
                             f"{MAX_REPLICAS:,} replicas of {s * 1e3:.4g} ms just to keep up")
        low = int(lam * s)  # the most replicas that cannot keep up, up to rounding
        while low > 0 and q.stable(lam, mu, low):
            low -= 1
        while not q.stable(lam, mu, low + 1):
            low += 1
        # `low` replicas fail (unstable, or low = 0); find the first that meets the SLO
        high, gap = low + 1, 1
        while high > MAX_REPLICAS or _p99(lam, mu, high, cv) > slo:
            if high >= MAX_REPLICAS:
                raise ValueError(f"p99_slo_ms: {slo * 1e3:.4g} ms at {lam:.4g} qps needs more "
                                 f"than {MAX_REPLICAS:,} replicas")
            low, gap = high, gap * 2
            high = min(low + gap, MAX_REPLICAS)
        while high - low > 1:
            mid = (low + high) // 2
            if _p99(lam, mu, mid, cv) <= slo:
                high = mid
            else:
                low = mid
        return high


# -- simulation ------------------------------------------------------------------------------
def simulate_queue(arrival_rate_qps, service_latency_ms, num_replicas=1, service_time_cv=1.0,
                   n_requests=200_000, seed=0, warmup_fraction=0.1, batches=20,
                   confidence=0.95) -> QueueSimulationResult:
    """Simulate ``n_requests`` through the queue (Poisson arrivals, gamma service times with
    the given mean and cv, FCFS over ``num_replicas``) and estimate the sojourn p50, p90, p99
    and mean. The first ``warmup_fraction`` of the requests (the queue starts empty) is
    discarded; each estimate comes with a ``confidence`` interval from ``batches`` batch
    means (batch quantiles for the percentiles), Student-t."""
    lam = arrival_rate(arrival_rate_qps)
    s = duration_seconds("service_latency_ms", service_latency_ms)
    c, cv = replicas(num_replicas), service_cv(service_time_cv)
    n = inputs.positive_int("n_requests", n_requests)
    batches = inputs.positive_int("batches", batches)
    if not 2 <= batches <= 1000:
        raise ValueError(f"batches must be between 2 and 1000, got {batches}")
    if not 1000 <= n <= 50_000_000:
        raise ValueError(f"n_requests must be between 1,000 and 50,000,000, got {n:,}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
        raise ValueError(f"seed must be an integer or None, got {inputs.shown(seed)}")
    if isinstance(warmup_fraction, bool) or not isinstance(warmup_fraction, Real) \
            or not 0.0 <= warmup_fraction <= 0.9:
        raise ValueError(f"warmup_fraction must be a number in [0, 0.9], got "
                         f"{inputs.shown(warmup_fraction)}")
    if isinstance(confidence, bool) or not isinstance(confidence, Real) \
            or not 0.5 <= confidence <= 0.999:
        raise ValueError(f"confidence must be a number in [0.5, 0.999], got "
                         f"{inputs.shown(confidence)}")
    if lam == 0.0:
        raise ValueError("arrival_rate_qps must be positive for a simulation (no arrivals, "
                         "nothing to simulate)")
    mu = 1.0 / s
    if not q.stable(lam, mu, c):
        raise ValueError(f"arrival_rate_qps: {lam:.4g} qps is at or beyond what {c:,} "
                         f"replica{'s' if c > 1 else ''} of {s * 1e3:.4g} ms serve "
                         f"({c * mu:.4g} qps; ρ = {lam / (c * mu):.4g} ≥ 1): the queue is "
                         "unstable and a simulation would not reach a steady state "
                         "(TailLatencyModel().solve reports it)")
    warmup = int(n * warmup_fraction)
    if (n - warmup) // batches < 50:
        raise ValueError(f"n_requests={n:,} leaves fewer than 50 requests per batch after the "
                         f"warm-up; use more requests or fewer batches")
    samples = q.simulate(lam, mu, c, cv, n, seed)[warmup:]
    pct, mean = q.batch_estimates(samples, PERCENTILES, batches, float(confidence))
    estimates = {"p50": pct[0], "p90": pct[1], "p99": pct[2], "mean": mean}
    return QueueSimulationResult(
        arrival_rate_qps=lam, service_latency_s=s, num_replicas=c, service_time_cv=cv,
        n_requests=n, warmup=warmup, batches=batches, confidence=float(confidence),
        seed=None if seed is None else int(seed), estimates=estimates)

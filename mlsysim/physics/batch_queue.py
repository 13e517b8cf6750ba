"""The waits of a request served in full static batches (SI floats: seconds, 1/s).

Requests arrive as a Poisson stream at λ; every B consecutive requests form a batch; formed
batches wait in one FCFS queue for the first free of n replicas, each taking a constant S.

**Filling** (exact). A request at place k of its batch (k uniform on 1..B) waits for the
B − k arrivals after it: a Gamma(B − k, λ) time. With N ~ Poisson(λt) the arrivals by t,
P(Gamma(j, λ) > t) = P(N ≤ j − 1), so averaging over j = B − k ∈ {0, …, B − 1}

    P(fill > t) = (1/B) Σ_{j=1}^{B−1} P(N ≤ j − 1) = E[(B − 1 − N)⁺] / B.

The fill time scales as 1/λ: its quantiles are those at λ = 1 over λ.

**Queueing** (a stated approximation). Batches arrive every B Poisson arrivals (Erlang-B
spacing: squared coefficient of variation c_a² = 1/B) and take a constant S (c_s² = 0): a
GI/D/n queue. Its wait is modelled as :mod:`mlsysim.physics.queueing` models M/G/c: an
arrival waits with the Erlang C probability C(n, λ_b S), λ_b = λ/B; the mean wait is
M/M/n's times (c_a² + c_s²)/2 = 1/(2B) (Allen–Cunneen; A. O. Allen, *Probability,
Statistics, and Queueing Theory*, 1990); a wait, when there is one, is exponential. At B = 1
this is that module's M/D/n. Erlang C with Poisson arrivals overstates how often a
regular stream of batches waits, so the approximation errs long (tests/test_batching_
optimizer.py compares it with a simulation).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import queueing as q


def fill_survival(batch: int, t: float, log_fact: np.ndarray | None = None) -> float:
    """P(fill wait > t) at an arrival rate of 1/s: E[(B − 1 − N)⁺]/B, N ~ Poisson(t), summed
    over the Poisson mass from 12 standard deviations below t (``log_fact[i]`` = ln i!)."""
    m = batch - 1
    if t <= 0.0:
        return m / batch
    lo = max(0, int(t - 12.0 * math.sqrt(t) - 12.0))
    if lo >= m:
        return 0.0
    i = np.arange(lo, m)
    if log_fact is None:
        log_fact = _log_factorials(batch)
    pmf = np.exp(-t + i * math.log(t) - log_fact[lo:m])
    return float(np.dot(m - i, pmf)) / batch


def _log_factorials(batch: int) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(np.log(np.arange(1.0, batch)))))


@lru_cache(maxsize=512)
def fill_quantile(batch: int, p: float) -> float:
    """The p-quantile of a request's wait for its batch of ``batch`` to fill, at an arrival
    rate of 1/s (at λ: this over λ); bisection on :func:`fill_survival`."""
    if (batch - 1) / batch <= 1.0 - p:
        return 0.0
    log_fact = _log_factorials(batch)
    target, lo, hi = 1.0 - p, 0.0, batch + 15.0 * math.sqrt(batch) + 30.0
    while fill_survival(batch, hi, log_fact) > target:
        lo, hi = hi, 2.0 * hi
    while hi - lo > 1e-12 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if fill_survival(batch, mid, log_fact) > target else (lo, mid)
    return hi


def queue_wait_quantile(lam: float, service: float, n: int, batch: int,
                        p: float) -> float | None:
    """The p-quantile of a formed batch's wait for one of ``n`` replicas (requests at
    ``lam``, batches of ``batch``, constant ``service``); None when they cannot keep up."""
    lam_b, mu = lam / batch, 1.0 / service
    if not q.stable(lam_b, mu, n):
        return None
    wait_rate = (n * mu - lam_b) * 2.0 * batch  # (nμ − λ_b) · 2/(c_a² + c_s²)
    return q.quantile(q.Sojourn(0.0, (), (), q.erlang_c(n, lam_b / mu), wait_rate), p)

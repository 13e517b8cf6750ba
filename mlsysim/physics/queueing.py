"""Queueing for request latency: FCFS, Poisson arrivals, c identical replicas, steady state
(SI floats: seconds, 1/s; no pint, no pydantic).

λ is the arrival rate, μ = 1/E[S] one replica's service rate, a = λ/μ the offered load and
ρ = λ/(cμ) the utilisation; a steady state exists only for ρ < 1.

**M/M/c, exact** (Kleinrock, *Queueing Systems* vol. 1, 1975, §3.5; Gross & Harris,
*Fundamentals of Queueing Theory*, §2.3). An arrival waits with the Erlang C probability
C(c, a), computed stably from the Erlang B recursion B(k) = a·B(k−1) / (k + a·B(k−1)),
C = c·B / (c − a·(1 − B)). Given that it waits, its wait W is exponential with rate
θ = cμ − λ, independently of its own service time S ~ Exp(μ). The sojourn time T = W + S
(what a client measures: queueing plus service) therefore has the survival function

    P(T > t) = (1 − C)·e^{−μt} + C·P(Exp(θ) + Exp(μ) > t)
             = e^{−μt} + C·μ·(e^{−μt} − e^{−θt}) / (θ − μ),        θ ≠ μ
             = e^{−μt}·(1 + C·μ·t),                                 θ = μ

using P(Exp(θ) + Exp(μ) > t) = (θ·e^{−μt} − μ·e^{−θt}) / (θ − μ) (a hypoexponential
tail). It is evaluated as e^{−μt} + C·μ·t·e^{−min(μ,θ)·t}·g(|θ − μ|·t) with
g(x) = (1 − e^{−x})/x, g(0) = 1, which needs no special case at θ = μ and neither cancels
nor overflows near it. For c = 1 it reduces to e^{−(μ−λ)t}: the M/M/1 sojourn is exponential.

**M/G/c, a stated approximation** (service-time coefficient of variation cv ≠ 1):

- the probability of waiting stays the Erlang C value C(c, a) (exact for c = 1: C = ρ);
- the mean wait is scaled by (1 + cv²)/2, the Allen–Cunneen approximation
  (A. O. Allen, *Probability, Statistics, and Queueing Theory*, 2nd ed., 1990) and
  Kingman's heavy-traffic factor (J. F. C. Kingman, Proc. Camb. Phil. Soc. 57, 1961);
  for c = 1 this *is* the exact Pollaczek–Khinchine mean, for c > 1 it is exact as ρ → 1;
- the wait, given that there is one, keeps the M/M/c shape: exponential, at rate
  θ' = θ·2/(1 + cv²);
- the service time is a two-moment fit with mean 1/μ and the given cv: for cv ≤ 1 a shifted
  exponential (a constant (1 − cv)/μ plus Exp(μ/cv); deterministic at cv = 0), for cv > 1 a
  two-branch hyperexponential with balanced means (branch probabilities
  q = (1 ± √((cv² − 1)/(cv² + 1)))/2, rates 2qμ; W. Whitt, Oper. Res. 30(1), 1982, and
  H. C. Tijms, *A First Course in Stochastic Models*, 2003, on two-moment fits). Both are
  exactly Exp(μ) at cv = 1, so the M/M/c result is recovered there.

Known error: Whitt (Production and Operations Management 2(2), 1993, "Approximations for the
GI/G/m queue") reports Allen–Cunneen-type mean waits typically within about 10 % of the truth at
moderate to heavy load, with larger relative errors at light load with many servers (where the
wait is a small part of the latency); the exponential wait shape is exact only for cv = 1 and
asymptotically as ρ → 1, so tail quantiles inherit a further shape error, and any service
quantile depends on the fitted distribution (a real service time with the same cv but another
shape has other quantiles). ``tests/test_tail_latency.py`` compares the approximation with the
simulation below (gamma service times) at stated tolerances.

:func:`simulate` is a discrete-event check on all of this: Poisson arrivals, gamma service
times with the given mean and cv (exponential at cv = 1, constant at cv = 0), c FCFS servers.
"""

from __future__ import annotations

import heapq
import math
from typing import NamedTuple

import numpy as np

DETERMINISTIC_CV = 1e-9  # service-time cv below this is taken as a constant service time
_LOG_SPACE_SERVERS = 400  # Erlang B by the recursion up to here, in log space beyond


class Sojourn(NamedTuple):
    """The sojourn time T = W + S as parameters: S = ``shift`` + Exp(``rates[i]``) with
    probability ``probs[i]`` (no exponential part when ``rates`` is empty); W = 0 with
    probability 1 − ``p_wait``, else Exp(``wait_rate``)."""

    shift: float
    probs: tuple[float, ...]
    rates: tuple[float, ...]
    p_wait: float
    wait_rate: float

    @property
    def mean_service(self) -> float:
        return self.shift + sum(q / r for q, r in zip(self.probs, self.rates, strict=True))

    @property
    def mean_wait(self) -> float:
        return self.p_wait / self.wait_rate

    @property
    def mean(self) -> float:
        return self.mean_wait + self.mean_service


# -- Erlang B and C --------------------------------------------------------------------------
def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability of c servers at offered load a (any a ≥ 0)."""
    if a <= 0.0:
        return 0.0
    if c <= _LOG_SPACE_SERVERS:
        b = 1.0
        for k in range(1, c + 1):
            b = a * b / (k + a * b)
        return b
    # 1/B = Σ_{j=0..c} Π_{i<j} (c − i)/a, summed in log space (no overflow for any c, a)
    logs = np.concatenate(([0.0], np.cumsum(np.log((c - np.arange(c)) / a))))
    top = float(logs.max())
    return math.exp(-(top + math.log(float(np.exp(logs - top).sum()))))


def stable(lam: float, mu: float, c: int) -> bool:
    """Whether ``c`` replicas of rate ``mu`` keep up with arrivals at ``lam``: ρ < 1, checked
    as a = λ/μ < c and cμ − λ > 0 so that both stay true after floating-point rounding."""
    return lam / mu < c and c * mu - lam > 0.0


def erlang_c(c: int, a: float) -> float:
    """Erlang C: the probability that an arrival waits, for a < c (a stable queue)."""
    if not 0.0 <= a < c:
        raise ValueError(f"Erlang C needs 0 ≤ a < c, got a={a!r}, c={c!r}")
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


# -- the sojourn-time distribution -----------------------------------------------------------
def service_fit(mu: float, cv: float) -> tuple[float, tuple[float, ...], tuple[float, ...]]:
    """(shift, probs, rates) of the two-moment service-time fit (see the module docstring)."""
    if cv < DETERMINISTIC_CV:
        return 1.0 / mu, (), ()
    if cv <= 1.0:
        return (1.0 - cv) / mu, (1.0,), (mu / cv,)
    r = math.sqrt((cv * cv - 1.0) / (cv * cv + 1.0))
    q1, q2 = (1.0 + r) / 2.0, (1.0 - r) / 2.0
    return 0.0, (q1, q2), (2.0 * q1 * mu, 2.0 * q2 * mu)


def sojourn(lam: float, mu: float, c: int, cv: float = 1.0) -> Sojourn:
    """The sojourn-time distribution at arrival rate ``lam`` on ``c`` replicas of rate ``mu``
    (requires lam < c·mu); exact for cv = 1, the stated approximation otherwise."""
    if lam < 0.0 or not stable(lam, mu, c):
        raise ValueError(f"no steady state: λ={lam!r} ≥ c·μ={c * mu!r}")
    p_wait = erlang_c(c, lam / mu)
    wait_rate = (c * mu - lam) * 2.0 / (1.0 + cv * cv)
    shift, probs, rates = service_fit(mu, cv)
    return Sojourn(shift, probs, rates, p_wait, wait_rate)


def _g(x: float) -> float:
    """(1 − e^{−x})/x for x ≥ 0, with g(0) = 1."""
    return -math.expm1(-x) / x if x > 1e-300 else 1.0


def tail_and_density(d: Sojourn, t: float) -> tuple[float, float]:
    """(P(T > t), the density of T at t)."""
    u = t - d.shift
    if u < 0.0:
        if u < -1e-12 * d.shift:
            return 1.0, 0.0
        u = 0.0  # t is the constant part up to rounding (e.g. after a ms → s round trip)
    C, th = d.p_wait, d.wait_rate
    if not d.rates:  # constant service time: T − shift is the wait
        e = math.exp(-th * u)
        return C * e, C * th * e
    tail = dens = 0.0
    for q, nu in zip(d.probs, d.rates, strict=True):
        e = math.exp(-nu * u)
        # ν·(e^{−νu} − e^{−θu})/(θ − ν), written without cancellation
        h = nu * u * math.exp(-min(nu, th) * u) * _g(abs(th - nu) * u)
        tail += q * (e + C * h)
        dens += q * ((1.0 - C) * nu * e + C * th * h)
    return tail, dens


def survival(d: Sojourn, t: float) -> float:
    """P(T > t)."""
    return tail_and_density(d, t)[0]


def quantile(d: Sojourn, p: float, rtol: float = 1e-12) -> float:
    """The p-quantile of T (0 < p < 1): Newton's method on ln P(T > t) = ln(1 − p),
    safeguarded by bisection inside a bracket that provably holds the root."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"a quantile needs 0 < p < 1, got {p!r}")
    target = math.log1p(-p)
    odds = d.p_wait / (1.0 - p)  # P(W > 0) over the tail probability sought
    if not d.rates:  # constant service: P(T > shift + w) = C·e^{−θw}
        return d.shift + (math.log(odds) / d.wait_rate if odds > 1.0 else 0.0)
    # P(T > shift + s + w) ≤ P(S − shift > s) + P(W > w) = (1 − p)/2 + (1 − p)/2
    wait_part = math.log(2.0 * odds) / d.wait_rate if 2.0 * odds > 1.0 else 0.0
    lo, hi = 0.0, math.log(2.0 / (1.0 - p)) / min(d.rates) + wait_part
    u = min(-target * (d.mean - d.shift), 0.5 * hi)  # an exponential's quantile: close
    for _ in range(200):
        tail, dens = tail_and_density(d, d.shift + u)
        if tail <= 0.0 or dens <= 0.0:
            hi, nxt = u, math.inf
        else:
            gap = math.log(tail) - target
            if gap > 0.0:
                lo = u
            else:
                hi = u
            step = gap * tail / dens
            if abs(step) <= rtol * u:
                return d.shift + u + step
            nxt = u + step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
            if hi - lo <= rtol * hi:
                return d.shift + nxt
        u = nxt
    return d.shift + u


# -- discrete-event simulation ---------------------------------------------------------------
def service_samples(rng: np.random.Generator, mu: float, cv: float, n: int) -> np.ndarray:
    """``n`` service times with mean 1/mu and coefficient of variation cv (gamma; constant
    at cv = 0, exponential at cv = 1)."""
    if cv < DETERMINISTIC_CV:
        return np.full(n, 1.0 / mu)
    shape = 1.0 / (cv * cv)
    return rng.gamma(shape, 1.0 / (shape * mu), n)


def simulate(lam: float, mu: float, c: int, cv: float, n: int, seed=None) -> np.ndarray:
    """Sojourn times of ``n`` requests, in arrival order, of an initially empty FCFS queue
    with Poisson arrivals at rate ``lam`` and ``c`` servers (service as
    :func:`service_samples`). One server: the Lindley recursion W_{k+1} = max(0, W_k + S_k −
    A_{k+1}) in closed form, W_k = P_k − min_{j≤k} P_j with P the partial sums of S − A
    (vectorised). Several: each request starts at max(its arrival, the earliest time a server
    frees), kept in a heap."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / lam, n))
    service = service_samples(rng, mu, cv, n)
    if c == 1:
        steps = np.concatenate(([0.0], np.cumsum(service[:-1] - np.diff(arrivals))))
        return steps - np.minimum.accumulate(steps) + service
    free = [0.0] * c
    done = []
    for arrive, s in zip(arrivals.tolist(), service.tolist(), strict=True):
        finish = max(arrive, free[0]) + s
        heapq.heapreplace(free, finish)
        done.append(finish)
    return np.asarray(done) - arrivals


def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student-t critical value t_{(1+confidence)/2, dof}: the Cornish–Fisher
    expansion in 1/dof around the normal quantile (Abramowitz & Stegun 26.7.5), accurate to
    about 1e-3 for dof ≥ 10."""
    from statistics import NormalDist  # only the simulation needs it

    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    z3, z5, z7 = z ** 3, z ** 5, z ** 7
    return (z + (z3 + z) / (4 * dof) + (5 * z5 + 16 * z3 + 3 * z) / (96 * dof ** 2)
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * dof ** 3))


def batch_estimates(samples: np.ndarray, probs, batches: int, confidence: float):
    """Point estimates over all samples and confidence half-widths from ``batches``
    consecutive batches (batch means; the batch quantiles for the quantiles): a list of
    (quantile estimates, half-widths) for ``probs``, and (mean, half-width) for the mean."""
    t = t_quantile(confidence, batches - 1)
    size = len(samples) // batches
    grid = samples[:size * batches].reshape(batches, size)
    per_batch = np.quantile(grid, probs, axis=1)  # shape (len(probs), batches)
    q_est = np.quantile(samples, probs)
    q_half = t * per_batch.std(axis=1, ddof=1) / math.sqrt(batches)
    means = grid.mean(axis=1)
    mean_half = t * float(means.std(ddof=1)) / math.sqrt(batches)
    return ([(float(e), float(h)) for e, h in zip(q_est, q_half, strict=True)],
            (float(samples.mean()), mean_half))

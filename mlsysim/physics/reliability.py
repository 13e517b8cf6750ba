"""Failures, checkpoints and goodput of a synchronous training job (floats: seconds, 1/s).

Fleet failure rate: independent components with constant (exponential) failure rates add,
λ_fleet = Σ λ_i · n_i, and the job stops at the first one: MTBF = 1/λ_fleet. Expected failures
in a wall time T: T/MTBF.

Checkpoint interval τ (compute time between checkpoints), checkpoint write time δ, restart
time R (detect, reschedule, reload), MTBF M:

* Young (1974), "A first order approximation to the optimum checkpoint interval", CACM 17(9):
  per unit of useful work a job pays δ/τ for checkpoints and, at 1/M failures per unit time,
  on average τ/2 of lost work plus R per failure. The first-order waste
  W₁(τ) = δ/τ + (τ/2 + R)/M is minimal at τ* = √(2·δ·M).
* Daly (2006), "A higher order estimate of the optimum checkpoint interval for restart dumps",
  FGCS 22(3): with exponential failures (which may also strike during a checkpoint or a
  restart) the expected wall time of W seconds of work in segments of τ is exactly
  T_w = M · e^{R/M} · (e^{(τ+δ)/M} − 1) · W/τ; the full waste is T_w/W − 1 and the goodput
  (useful time / wall time) W/T_w. Daly's higher-order estimate of the optimum is
  τ = √(2δM)·[1 + ⅓·√(δ/(2M)) + (1/9)·δ/(2M)] − δ for δ < 2M, else τ = M.
  The exact minimiser of T_w solves (1 − x)·e^{x} = e^{−δ/M} with x = τ/M (set dT_w/dτ = 0);
  :func:`exact_optimal_interval` finds it by bisection. Young's τ* is its first-order limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound} (seconds or 1/s), "
                         f"got {value!r}")
    return float(value)


def fleet_failure_rate(rates: Iterable[tuple[float, float]]) -> float:
    """Σ λ_i · n_i (1/s) over (rate per unit in 1/s, units) pairs."""
    total = 0.0
    for rate, units in rates:
        total += _positive("failure rate", rate, True) * _positive("units", units, True)
    return total


def mtbf(failure_rate: float) -> float:
    """Mean time between failures (s) of a fleet failing at ``failure_rate`` (1/s)."""
    return 1.0 / _positive("failure_rate", failure_rate)


def expected_failures(wall_seconds: float, mtbf_s: float) -> float:
    """Expected failures in ``wall_seconds`` at a fleet MTBF (Poisson mean T/M)."""
    return _positive("duration", wall_seconds, True) / _positive("mtbf", mtbf_s)


def young_interval(checkpoint_s: float, mtbf_s: float) -> float:
    """Young (1974) optimum checkpoint interval √(2·δ·M) (s)."""
    return math.sqrt(2.0 * _positive("checkpoint_time", checkpoint_s) * _positive("mtbf", mtbf_s))


def daly_interval(checkpoint_s: float, mtbf_s: float) -> float:
    """Daly (2006) higher-order estimate of the optimum interval (s)."""
    d, m = _positive("checkpoint_time", checkpoint_s), _positive("mtbf", mtbf_s)
    if d >= 2.0 * m:
        return m
    q = d / (2.0 * m)
    return math.sqrt(2.0 * d * m) * (1.0 + math.sqrt(q) / 3.0 + q / 9.0) - d


def first_order_waste(interval_s, checkpoint_s: float, mtbf_s: float,
                      restart_s: float = 0.0):
    """Young's waste per unit of useful work: δ/τ + (τ/2 + R)/M (``interval_s`` may be a
    numpy array)."""
    d, m = _positive("checkpoint_time", checkpoint_s), _positive("mtbf", mtbf_s)
    r = _positive("restart_time", restart_s, True)
    return d / interval_s + (interval_s / 2.0 + r) / m


def wall_time(work_s: float, interval_s, checkpoint_s: float, mtbf_s: float,
              restart_s: float = 0.0):
    """Daly (2006) expected wall time (s) of ``work_s`` of useful compute:
    M·e^{R/M}·(e^{(τ+δ)/M} − 1)·W/τ (``interval_s`` may be a numpy array)."""
    import numpy as np

    w = _positive("work", work_s, True)
    d, m = _positive("checkpoint_time", checkpoint_s), _positive("mtbf", mtbf_s)
    r = _positive("restart_time", restart_s, True)
    _finishes(np.max(interval_s) + d, r, m)
    return m * math.exp(r / m) * np.expm1((interval_s + d) / m) * w / interval_s


#: e^x overflows a float beyond x ≈ 709; keep a margin for the factors around it
_MAX_EXPONENT = 600.0


def _finishes(segment_s: float, restart_s: float, mtbf_s: float) -> None:
    """Refuse a run whose expected wall time overflows (a segment hundreds of MTBFs long)."""
    worst = max(segment_s, restart_s) / mtbf_s
    if not worst <= _MAX_EXPONENT:
        what = "interval + checkpoint_time" if segment_s >= restart_s else "restart_time"
        raise ValueError(f"{what} is {worst:.3g} × the fleet MTBF: the run would "
                         "essentially never finish (shorten it or raise the MTBF)")


def full_waste(interval_s, checkpoint_s: float, mtbf_s: float, restart_s: float = 0.0):
    """Expected lost time per unit of useful work, T_w/W − 1 (Daly 2006)."""
    return wall_time(1.0, interval_s, checkpoint_s, mtbf_s, restart_s) - 1.0


def goodput(interval_s, checkpoint_s: float, mtbf_s: float, restart_s: float = 0.0):
    """Useful time / wall time, W/T_w (Daly 2006), in (0, 1]."""
    return 1.0 / wall_time(1.0, interval_s, checkpoint_s, mtbf_s, restart_s)


def exact_optimal_interval(checkpoint_s: float, mtbf_s: float) -> float:
    """The τ minimising Daly's T_w: x = τ/M solves (1 − x)·e^{x} = e^{−δ/M} on (0, 1)."""
    d, m = _positive("checkpoint_time", checkpoint_s), _positive("mtbf", mtbf_s)
    target = math.exp(-d / m)
    lo, hi = 0.0, 1.0  # g(x) = (1 − x)e^x − target falls from 1 − target > 0 to −target
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (1.0 - mid) * math.exp(mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi) * m


@dataclass(frozen=True, slots=True)
class RunTime:
    """Where the wall time of a run goes (s): useful work, checkpoint writes, restarts and
    rework (work lost to failures, including interrupted checkpoints); ``failures`` is the
    expected number of failures (wall / MTBF)."""

    work: float
    checkpoints: float
    restarts: float
    rework: float
    failures: float

    @property
    def wall(self) -> float:
        return self.work + self.checkpoints + self.restarts + self.rework

    @property
    def goodput(self) -> float:
        return self.work / self.wall if self.wall else 1.0


def run_time(work_s: float, interval_s: float, checkpoint_s: float, mtbf_s: float,
             restart_s: float = 0.0) -> RunTime:
    """The expected wall time of a run (Daly's) split into its parts. The work runs in W/τ
    segments of τ + δ; each segment fails e^{(τ+δ)/M} − 1 times on average (F failures in
    all), each followed by a restart lasting M·(e^{R/M} − 1) on average (failed restarts
    repeated); segment attempts take F·M in all, of which W is work, W·δ/τ completed
    checkpoints and the rest rework. Failures in all (restarts included): wall / M."""
    tau = _positive("interval", interval_s)
    d, m = _positive("checkpoint_time", checkpoint_s), _positive("mtbf", mtbf_s)
    r = _positive("restart_time", restart_s, True)
    w = _positive("work", work_s, True)
    _finishes(tau + d, r, m)
    segments = w / tau
    failed = segments * math.expm1((tau + d) / m)
    restarts = failed * m * math.expm1(r / m)
    checkpoints = segments * d
    rework = max(failed * m - w - checkpoints, 0.0)
    wall = w + checkpoints + restarts + rework
    return RunTime(w, checkpoints, restarts, rework, wall / m)

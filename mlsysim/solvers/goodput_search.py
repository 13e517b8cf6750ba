"""The per-batch-size arithmetic of :class:`~mlsysim.solvers.batching_optimizer.BatchingOptimizer`
(see its module docstring for the model): the SLOs a batch misses whatever the replicas, the
time the SLOs leave for the fill and queue waits, the bound on a request's p99 wait, the fewest
replicas that meet the SLOs at a rate (gallop, then bisection) and the largest rate that meets
them on a given number of replicas. Times in seconds, rates in requests per second.
"""

from __future__ import annotations

from typing import NamedTuple

from ..formatting import format_time, sig
from ..physics import queueing as q
from ..physics.batch_queue import fill_quantile, queue_wait_quantile
from .queueing import MAX_REPLICAS

P_EACH = 0.995  # each wait at its p99.5: the sum bounds the p99 (union bound)


class Slos(NamedTuple):
    ttft: float | None  # seconds
    itl: float | None
    e2e: float | None


class Point(NamedTuple):
    """One batch size on one replica: service times (s) and its fill wait at unit rate."""

    batch: int
    prefill: float
    decode: float
    service: float
    fill: float  # p99.5 of the fill wait at 1 request/s (divide by λ)


def point(r) -> Point:
    decode = max(r.itl_s, r.itl_last_s) if r.output_len > 1 else 0.0
    return Point(r.batch_size, r.batch_prefill_s, decode, r.e2e_s,
                  fill_quantile(r.batch_size, P_EACH))


def plural(n: int) -> str:
    return "" if n == 1 else "s"


def qps(x: float) -> str:
    return f"{sig(x)} req/s"


def vs(a: float, b: float) -> str:
    return f"{format_time(a)} > {format_time(b)}"


def violations(pt: Point, slos: Slos, lam: float) -> list[tuple[str, str, str]]:
    """SLOs the batch misses at ``lam`` whatever the replicas: (key, short text, sentence)."""
    out, who = [], "a request" if pt.batch == 1 else f"batch {pt.batch:,}"
    if slos.ttft is not None and pt.prefill > slos.ttft:
        what = "the prefill alone" if pt.batch == 1 else f"batch {pt.batch:,}'s prefill alone"
        out.append(("ttft", f"prefill {vs(pt.prefill, slos.ttft)} (TTFT SLO)",
                    f"p99 TTFT ≤ {format_time(slos.ttft)} cannot be met: {what} takes "
                    f"{vs(pt.prefill, slos.ttft)}, before any wait"))
    if slos.itl is not None and pt.decode > slos.itl:
        out.append(("itl", f"decode step {vs(pt.decode, slos.itl)} (ITL SLO)",
                    f"ITL ≤ {format_time(slos.itl)} cannot be met: a decode step of {who} "
                    f"takes {vs(pt.decode, slos.itl)}"))
    if slos.e2e is not None and pt.service > slos.e2e:
        out.append(("e2e", f"end-to-end {vs(pt.service, slos.e2e)} (SLO)",
                    f"p99 end-to-end ≤ {format_time(slos.e2e)} cannot be met: {who} takes "
                    f"{vs(pt.service, slos.e2e)} end to end, before any wait"))
    allowed, key = wait_room(pt, slos)
    if not out and allowed is not None and pt.fill / lam > allowed:
        fill, label = pt.fill / lam, {"ttft": "p99 TTFT", "e2e": "p99 end-to-end"}[key]
        out.append((key, f"filling {vs(fill, allowed)} left by the {label} SLO",
                    f"{label} cannot be met by batch {pt.batch:,} at {qps(lam)}: filling "
                    f"it takes {format_time(fill)} (p99.5), more than the "
                    f"{format_time(allowed)} the SLO leaves after its "
                    f"{'prefill' if key == 'ttft' else 'service'}"))
    return out


def wait_room(pt: Point, slos: Slos) -> tuple[float | None, str | None]:
    """The time the p99 SLOs leave for the two waits, and which SLO leaves the least."""
    room = [(slos.ttft - pt.prefill, "ttft")] if slos.ttft is not None else []
    room += [(slos.e2e - pt.service, "e2e")] if slos.e2e is not None else []
    return min(room) if room else (None, None)


def p99_wait(pt: Point, lam: float, n: int) -> float | None:
    """The bound on a request's p99 wait (fill + queue); None when unstable."""
    queue = queue_wait_quantile(lam, pt.service, n, pt.batch, P_EACH)
    return None if queue is None else pt.fill / lam + queue


def meets_slos(pt: Point, lam: float, n: int, allowed: float | None) -> bool:
    if allowed is None:
        return q.stable(lam / pt.batch, 1.0 / pt.service, n)
    wait = p99_wait(pt, lam, n)
    return wait is not None and wait <= allowed


def replicas_needed(pt: Point, lam: float, allowed: float | None) -> int | None:
    """The fewest replicas meeting the SLOs at ``lam`` (the fill wait already fits): more
    replicas only shorten the queue, so gallop up from the fewest that keep up, then bisect."""
    low = int(lam * pt.service / pt.batch)  # the most that cannot keep up, up to rounding
    if low >= MAX_REPLICAS:  # more than the cap just to keep up (and Erlang C is O(replicas))
        return None
    while low > 0 and q.stable(lam / pt.batch, 1.0 / pt.service, low):
        low -= 1
    high, gap = low + 1, 1
    while not meets_slos(pt, lam, high, allowed):
        if high >= MAX_REPLICAS:
            return None
        low, gap = high, gap * 2
        high = min(low + gap, MAX_REPLICAS)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if meets_slos(pt, lam, mid, allowed) else (mid, high)
    return high


def max_rate(pt: Point, n: int, allowed: float | None, lam: float) -> float:
    """The largest admitted rate ≤ ``lam`` meeting the SLOs on ``n`` replicas (the largest
    overall when ``lam`` meets them), 0 if none: the fill wait grows as the rate falls and
    the queue wait as it rises, so from ``lam`` the search steps down to a rate that meets
    them (while the fill wait alone fits), then bisects."""
    capacity = n * pt.batch / pt.service
    if allowed is None:
        return capacity  # a supremum: every rate below it has a steady state
    if meets_slos(pt, lam, n, allowed):
        lo, hi = lam, capacity
    else:
        hi, lo = lam, lam / 2 ** 0.125
        while not meets_slos(pt, lo, n, allowed):
            if pt.fill / lo > allowed or lo < lam * 1e-6:
                return 0.0
            hi, lo = lo, lo / 2 ** 0.125
    while hi - lo > 1e-12 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if meets_slos(pt, mid, n, allowed) else (lo, mid)
    return lo


def batch_sizes(cap: int) -> list[int]:
    sizes = [1 << k for k in range(cap.bit_length())]
    return sizes if sizes[-1] == cap else [*sizes, cap]

"""Batch size and replica count of a served LLM under latency SLOs (``BatchingOptimizer``):
the cheapest configuration that serves a target rate within every SLO, or, when none does
within ``max_replicas``, the one with the most goodput (requests/s served within every SLO).

**Service** (ServingModel; a replica is a device, or ``tp`` devices of a node). A replica runs
static batches of B requests of ``seq_len`` prompt and ``output_len`` output tokens: the
batch's prefill P(B), then decode steps whose longest is D(B); the batch takes S(B) end to end
(ServingModel's e2e). Full batches back to back serve B/S(B) requests/s per replica.

**Queue: full static batches, batches as the service unit.** Requests arrive as a Poisson
stream at λ; every B consecutive requests form a batch, and formed batches wait in one FCFS
queue for the first free of R replicas. A request waits for its batch to *fill* (exact) and
for the batch to *queue* for a replica: batches arrive every B arrivals (Erlang-B spacing)
and take a constant S(B), modelled as TailLatencyModel models its queues — Erlang C,
Allen–Cunneen mean wait (here × 1/(2B)), exponential shape; at B = 1 exactly its M/D/R
(:mod:`mlsysim.physics.batch_queue` derives both). TailLatencyModel itself is not called: it
takes Poisson arrivals, and a batch of B arrivals is far more regular than one arrival, so
its waits would be several times too long. The p99 of fill + queue is bounded by the sum of
their p99.5s (P(X + Y > a + b) ≤ P(X > a) + P(Y > b), whatever their correlation): the p99
latencies reported and held to the SLOs are that upper bound (the tests simulate this server
and check it). Batches form from all arrivals whatever R, so more replicas only shorten the
queue and never lower goodput.

**SLOs** (see :class:`~mlsysim.results_goodput.GoodputResult`): p99 TTFT ≤ fill + queue +
P(B); ITL = D(B), every decode step; p99 end-to-end ≤ fill + queue + S(B). Together they
leave the two waits A = min(TTFT SLO − P(B), e2e SLO − S(B)).

**Search.** Batch sizes: powers of two up to the largest batch that fits (ServingModel's
``max_batch_size``, or the ``max_batch_size`` given if smaller) and that boundary; for each,
the fewest replicas whose queue wait fits in A minus the fill wait (galloping, then
bisection: the wait falls as replicas are added). Chosen: the fewest replicas (the lowest
cost), then the largest batch (the lowest cost per token at full load). Cost per million
output tokens = price/h × devices per replica × replicas / (goodput × output tokens × 3600
s/h) × 1e6.
"""

from __future__ import annotations

import math
from dataclasses import replace
from numbers import Real
from typing import NamedTuple

from ..formatting import format_time, sig
from ..physics import queueing as q
from ..physics.batch_queue import fill_quantile, queue_wait_quantile
from ..results_goodput import GoodputCandidate, GoodputResult
from . import inputs
from .dispatch import NODE, resolve_target
from .queueing import MAX_REPLICAS, arrival_rate, duration_seconds, replicas
from .serving import ServingModel

P_EACH = 0.995  # each wait at its p99.5: the sum bounds the p99 (union bound)

NOTES = (
    "Static batches: every B consecutive requests form a batch, which queues (FCFS) for the "
    "first free of R replicas and takes S(B). Wait = filling (exact, Poisson arrivals) + "
    "queueing (batches every B arrivals, constant S(B): Erlang C, Allen–Cunneen mean × 1/(2B), "
    "exponential shape); p99 ≤ the sum of each wait's p99.5 (union bound): an upper bound.",
    "SLOs: p99 TTFT = wait + the batch's prefill (a request counted at its batch's last "
    "prefill); ITL = the batch's longest decode step (queueing does not change it); p99 "
    "end-to-end = wait + S(B).",
    "Goodput = the largest admitted rate, up to the offered one, at which every SLO holds "
    "(requests beyond it are shed at admission); latencies and utilisation are at that rate.",
)


class _Slos(NamedTuple):
    ttft: float | None  # seconds
    itl: float | None
    e2e: float | None


class _Point(NamedTuple):
    """One batch size on one replica: service times (s) and its fill wait at unit rate."""

    batch: int
    prefill: float
    decode: float
    service: float
    fill: float  # p99.5 of the fill wait at 1 request/s (divide by λ)


class _Setup(NamedTuple):
    serve: object  # batch size -> ServingResult
    lam: float
    slos: _Slos
    max_replicas: int | None
    price: float  # USD per device-hour
    devices: int  # per replica
    fields: dict  # GoodputResult fields common to every outcome


# -- inputs ----------------------------------------------------------------------------------
def _rate(value) -> float:
    if isinstance(value, Real) and not isinstance(value, bool) and value <= 0:
        raise ValueError(f"arrival_rate_qps must be a positive number of requests per second, "
                         f"got {inputs.shown(value)}")
    lam = arrival_rate(value)
    if lam <= 0.0:
        raise ValueError(f"arrival_rate_qps must be positive (requests per second to serve), "
                         f"got {inputs.shown(value)}")
    return lam


def _slos(ttft, itl, e2e) -> _Slos:
    named = (("p99_ttft_slo_ms", ttft), ("itl_slo_ms", itl), ("p99_e2e_slo_ms", e2e))
    slos = _Slos(*(None if v is None else duration_seconds(n, v) for n, v in named))
    if slos == (None, None, None):
        raise ValueError("give at least one SLO: p99_ttft_slo_ms, itl_slo_ms or p99_e2e_slo_ms "
                         "(milliseconds, or a string such as '200 ms')")
    return slos


def _price(value, device) -> tuple[float, str]:
    """USD per device-hour and where it came from."""
    if value is None:
        if device.price_per_hour is None:
            raise ValueError(f"no price_per_hour in the catalog for {device.name}; pass "
                             f"price_per_hour='2.5 USD/h'")
        return float(device.price_per_hour.to("USD/h").magnitude), "catalog list price"
    if isinstance(value, Real) and not isinstance(value, bool):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"price_per_hour must be a positive number of USD per device-hour "
                             f"(e.g. '2.5 USD/h'), got {inputs.shown(value)}")
        return float(value), "given"
    from ..units import checked
    return float(checked(value, "USD/h", "price_per_hour", example="'2.5 USD/h'")
                 .to("USD/h").magnitude), "given"


def _setup(model, hardware, seq_len, output_len, arrival_rate_qps, ttft, itl, e2e,
           max_replicas, price_per_hour, precision, kv_precision, prefill, tp):
    lam = _rate(arrival_rate_qps)
    slos = _slos(ttft, itl, e2e)
    cap = None if max_replicas is None else replicas(max_replicas, "max_replicas")
    serving, solves = ServingModel(), []

    def serve(batch: int):
        solves.append(batch)
        return serving.solve(model, hardware, seq_len, batch, precision, output_len,
                             kv_precision, prefill=prefill, tp=tp)

    first = serve(1)  # validates the model, hardware, lengths, precisions and tp
    kind, spec = resolve_target(hardware)
    device, devices = (spec.accelerator, tp or spec.count) if kind == NODE else (spec, 1)
    price, source = _price(price_per_hour, device)
    fields = dict(model=first.model, hardware=first.hardware, devices_per_replica=devices,
                  price_per_hour=price, price_source=source, seq_len=first.seq_len,
                  output_len=first.output_len, arrival_rate_qps=lam,
                  p99_ttft_slo_s=slos.ttft, itl_slo_s=slos.itl, p99_e2e_slo_s=slos.e2e,
                  max_replicas=cap, max_batch_size=first.max_batch_size,
                  notes=(*NOTES, f"Cost: {sig(price)} USD per device-hour ({source}) × "
                         f"{devices} device{_s(devices)} per replica × replicas."))
    return _Setup(serve, lam, slos, cap, price, devices, fields), first, solves


# -- one batch size --------------------------------------------------------------------------
def _point(r) -> _Point:
    decode = max(r.itl_s, r.itl_last_s) if r.output_len > 1 else 0.0
    return _Point(r.batch_size, r.batch_prefill_s, decode, r.e2e_s,
                  fill_quantile(r.batch_size, P_EACH))


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _qps(x: float) -> str:
    return f"{sig(x)} req/s"


def _vs(a: float, b: float) -> str:
    return f"{format_time(a)} > {format_time(b)}"


def _violations(pt: _Point, slos: _Slos, lam: float) -> list[tuple[str, str, str]]:
    """SLOs the batch misses at ``lam`` whatever the replicas: (key, short text, sentence)."""
    out, who = [], "a request" if pt.batch == 1 else f"batch {pt.batch:,}"
    if slos.ttft is not None and pt.prefill > slos.ttft:
        what = "the prefill alone" if pt.batch == 1 else f"batch {pt.batch:,}'s prefill alone"
        out.append(("ttft", f"prefill {_vs(pt.prefill, slos.ttft)} (TTFT SLO)",
                    f"p99 TTFT ≤ {format_time(slos.ttft)} cannot be met: {what} takes "
                    f"{_vs(pt.prefill, slos.ttft)}, before any wait"))
    if slos.itl is not None and pt.decode > slos.itl:
        out.append(("itl", f"decode step {_vs(pt.decode, slos.itl)} (ITL SLO)",
                    f"ITL ≤ {format_time(slos.itl)} cannot be met: a decode step of {who} "
                    f"takes {_vs(pt.decode, slos.itl)}"))
    if slos.e2e is not None and pt.service > slos.e2e:
        out.append(("e2e", f"end-to-end {_vs(pt.service, slos.e2e)} (SLO)",
                    f"p99 end-to-end ≤ {format_time(slos.e2e)} cannot be met: {who} takes "
                    f"{_vs(pt.service, slos.e2e)} end to end, before any wait"))
    allowed, key = _allowed(pt, slos)
    if not out and allowed is not None and pt.fill / lam > allowed:
        fill, label = pt.fill / lam, {"ttft": "p99 TTFT", "e2e": "p99 end-to-end"}[key]
        out.append((key, f"filling {_vs(fill, allowed)} left by the {label} SLO",
                    f"{label} cannot be met by batch {pt.batch:,} at {_qps(lam)}: filling "
                    f"it takes {format_time(fill)} (p99.5), more than the "
                    f"{format_time(allowed)} the SLO leaves after its "
                    f"{'prefill' if key == 'ttft' else 'service'}"))
    return out


def _allowed(pt: _Point, slos: _Slos) -> tuple[float | None, str | None]:
    """The time the p99 SLOs leave for the two waits, and which SLO leaves the least."""
    room = [(slos.ttft - pt.prefill, "ttft")] if slos.ttft is not None else []
    room += [(slos.e2e - pt.service, "e2e")] if slos.e2e is not None else []
    return min(room) if room else (None, None)


def _wait(pt: _Point, lam: float, n: int) -> float | None:
    """The bound on a request's p99 wait (fill + queue); None when unstable."""
    queue = queue_wait_quantile(lam, pt.service, n, pt.batch, P_EACH)
    return None if queue is None else pt.fill / lam + queue


def _ok(pt: _Point, lam: float, n: int, allowed: float | None) -> bool:
    if allowed is None:
        return q.stable(lam / pt.batch, 1.0 / pt.service, n)
    wait = _wait(pt, lam, n)
    return wait is not None and wait <= allowed


def _replicas_needed(pt: _Point, lam: float, allowed: float | None) -> int | None:
    """The fewest replicas meeting the SLOs at ``lam`` (the fill wait already fits): more
    replicas only shorten the queue, so gallop up from the fewest that keep up, then bisect."""
    low = int(lam * pt.service / pt.batch)  # the most that cannot keep up, up to rounding
    while low > 0 and q.stable(lam / pt.batch, 1.0 / pt.service, low):
        low -= 1
    high, gap = low + 1, 1
    while not _ok(pt, lam, high, allowed):
        if high >= MAX_REPLICAS:
            return None
        low, gap = high, gap * 2
        high = min(low + gap, MAX_REPLICAS)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if _ok(pt, lam, mid, allowed) else (mid, high)
    return high


def _max_rate(pt: _Point, n: int, allowed: float | None, lam: float) -> float:
    """The largest admitted rate ≤ ``lam`` meeting the SLOs on ``n`` replicas (the largest
    overall when ``lam`` meets them), 0 if none: the fill wait grows as the rate falls and
    the queue wait as it rises, so from ``lam`` the search steps down to a rate that meets
    them (while the fill wait alone fits), then bisects."""
    capacity = n * pt.batch / pt.service
    if allowed is None:
        return capacity  # a supremum: every rate below it has a steady state
    if _ok(pt, lam, n, allowed):
        lo, hi = lam, capacity
    else:
        hi, lo = lam, lam / 2 ** 0.125
        while not _ok(pt, lo, n, allowed):
            if pt.fill / lo > allowed or lo < lam * 1e-6:
                return 0.0
            hi, lo = lo, lo / 2 ** 0.125
    while hi - lo > 1e-12 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _ok(pt, mid, n, allowed) else (lo, mid)
    return lo


def _candidate(st: _Setup, pt: _Point, output_len: int, fixed: int | None = None):
    """One batch size: the fewest replicas that serve λ (at most ``max_replicas``, or
    exactly ``fixed``), else the goodput the cap allows."""
    tokens = pt.batch * output_len / pt.service
    base = dict(batch_size=pt.batch, prefill_s=pt.prefill, decode_s=pt.decode,
                service_s=pt.service, tokens_per_s=tokens,
                cost_per_mtok_full=st.price * st.devices / (tokens * 3600.0) * 1e6)
    viol = _violations(pt, st.slos, st.lam)
    if viol:
        return GoodputCandidate(**base, replicas=None, goodput_qps=0.0, meets=False,
                                limit=viol[0][1])
    allowed = _allowed(pt, st.slos)[0]
    need = _replicas_needed(pt, st.lam, allowed)
    cap = st.max_replicas if fixed is None else fixed
    if need is not None and (cap is None or need <= cap):
        return GoodputCandidate(**base, replicas=need if fixed is None else fixed,
                                goodput_qps=st.lam, meets=True,
                                limit=f"meets every SLO on {need:,} replica{_s(need)}")
    needs = f"needs {need:,} replicas" if need else f"needs over {MAX_REPLICAS:,} replicas"
    if cap is None:
        return GoodputCandidate(**base, replicas=None, goodput_qps=0.0, meets=False,
                                limit=needs)
    good = min(st.lam, _max_rate(pt, cap, allowed, st.lam))
    return GoodputCandidate(**base, replicas=need, goodput_qps=good, meets=False,
                            limit=f"{needs}; {_qps(good)} on {cap:,}")


# -- the configuration -----------------------------------------------------------------------
def _configured(st: _Setup, pt: _Point, cand: GoodputCandidate, n: int, **extra):
    """The result for batch ``pt.batch`` on ``n`` replicas, at the admitted rate (the
    goodput)."""
    allowed = _allowed(pt, st.slos)[0]
    rate = cand.goodput_qps
    wait = _wait(pt, rate, n) if rate > 0 else None
    fields = {**st.fields, "feasible": True, "constraint_trace": (), **extra}
    return GoodputResult(
        **fields, batch_size=pt.batch, replicas=n, prefill_s=pt.prefill, decode_s=pt.decode,
        service_s=pt.service, p99_ttft_s=None if wait is None else pt.prefill + wait,
        p99_e2e_s=None if wait is None else pt.service + wait,
        utilization=rate * pt.service / (n * pt.batch), goodput_qps=rate,
        max_rate_qps=_max_rate(pt, n, allowed, st.lam) if rate > 0 else 0.0)


def _what_stops(st: _Setup, nxt: _Point | None, best: GoodputCandidate, n: int, top: int):
    """What keeps the next larger batch from serving λ on ``n`` replicas: (key, sentence)."""
    if nxt is None:
        if best.batch_size >= top:
            return "memory", (f"batch {best.batch_size:,} is the largest that fits in a "
                              "replica's memory")
        return "max_batch_size", f"max_batch_size = {best.batch_size:,}"
    viol = _violations(nxt, st.slos, st.lam)
    if viol:
        return viol[0][0], f"batch {nxt.batch:,}: {viol[0][2]}"
    on = f"batch {nxt.batch:,} on {n:,} replica{_s(n)}"
    wait = _wait(nxt, st.lam, n)
    if wait is None:
        rho = st.lam * nxt.service / (n * nxt.batch)
        return "stability", f"{on} cannot keep up: ρ = {sig(rho)} ≥ 1"
    if st.slos.ttft is not None and nxt.prefill + wait > st.slos.ttft:
        return "ttft", f"{on}: p99 TTFT {_vs(nxt.prefill + wait, st.slos.ttft)}"
    if st.slos.e2e is not None and nxt.service + wait > st.slos.e2e:
        return "e2e", f"{on}: p99 end-to-end {_vs(nxt.service + wait, st.slos.e2e)}"
    return None, ""  # reached only through rounding at an SLO's edge


def _batch_sizes(cap: int) -> list[int]:
    sizes = [1 << k for k in range(cap.bit_length())]
    return sizes if sizes[-1] == cap else [*sizes, cap]


class BatchingOptimizer:
    """Batch size and replica count that serve an arrival rate within latency SLOs at the
    lowest cost (see the module docstring for the model and its assumptions)."""

    def solve(self, model, hardware, seq_len, output_len, arrival_rate_qps,
              p99_ttft_slo_ms=None, itl_slo_ms=None, p99_e2e_slo_ms=None, max_replicas=None,
              max_batch_size=None, price_per_hour=None, precision="fp16", kv_precision=None,
              prefill="separate", tp=None) -> GoodputResult:
        """Search batch sizes and replica counts. SLOs: numbers of milliseconds or strings
        such as '200 ms'; ``price_per_hour`` per device (the catalog's when None);
        ``max_replicas`` caps the replicas (unbounded when None)."""
        st, first, solves = _setup(model, hardware, seq_len, output_len, arrival_rate_qps,
                                   p99_ttft_slo_ms, itl_slo_ms, p99_e2e_slo_ms, max_replicas,
                                   price_per_hour, precision, kv_precision, prefill, tp)
        cap = None if max_batch_size is None else \
            inputs.positive_int("max_batch_size", max_batch_size)
        if not first.feasible:
            return GoodputResult(**st.fields, feasible=False, binding="memory",
                                 constraint_trace=tuple(first.constraint_trace),
                                 serving_solves=len(solves))
        floor = _violations(_point(first), st.slos, st.lam)
        if floor:
            return GoodputResult(**st.fields, feasible=False, binding=floor[0][0],
                                 constraint_trace=tuple(v[2] for v in floor),
                                 serving_solves=len(solves))
        top = first.max_batch_size
        points = [_point(first if b == 1 else st.serve(b))
                  for b in _batch_sizes(top if cap is None else min(top, cap))]
        cands = [_candidate(st, pt, first.output_len) for pt in points]
        extra = dict(candidates=tuple(cands), serving_solves=len(solves))
        meets = [i for i, c in enumerate(cands) if c.meets]
        if meets:
            i = min(meets, key=lambda j: (cands[j].replicas, -cands[j].batch_size))
            n = cands[i].replicas
            key, why = _what_stops(st, points[i + 1] if i + 1 < len(points) else None,
                                   cands[i], n, top)
            return _configured(st, points[i], cands[i], n, binding=key, binding_detail=why,
                               **extra)
        i = max(range(len(cands)), key=lambda j: (cands[j].goodput_qps, cands[j].batch_size))
        best, n = cands[i], st.max_replicas
        if n is None or best.goodput_qps <= 0.0:
            why = (f"{_qps(st.lam)} needs more than {MAX_REPLICAS:,} replicas" if n is None
                   else f"max_replicas = {n:,} serve no rate within the SLOs")
            return GoodputResult(**st.fields, feasible=False, binding="max_replicas",
                                 constraint_trace=(why,), **extra)
        need = f"{best.replicas:,}" if best.replicas else "more"
        why = (f"max_replicas = {n:,} serve at most {_qps(best.goodput_qps)} within the SLOs "
               f"(batch {best.batch_size:,}); {_qps(st.lam)} needs {need} replicas")
        result = _configured(st, points[i], best, n, binding="max_replicas",
                             binding_detail=why, **extra)
        return replace(result, feasible=False, constraint_trace=(why,))

    def evaluate(self, model, hardware, seq_len, output_len, arrival_rate_qps, batch_size,
                 replicas, p99_ttft_slo_ms=None, itl_slo_ms=None, p99_e2e_slo_ms=None,
                 price_per_hour=None, precision="fp16", kv_precision=None,
                 prefill="separate", tp=None) -> GoodputResult:
        """One configuration: batch ``batch_size`` on ``replicas`` replicas at the offered
        rate. ``binding`` is the SLO it misses, else the one that caps its rate."""
        n = inputs.positive_int("replicas", replicas)
        b = inputs.positive_int("batch_size", batch_size)
        if n > MAX_REPLICAS:
            raise ValueError(f"replicas must be at most {MAX_REPLICAS:,}, got {n:,}")
        st, first, solves = _setup(model, hardware, seq_len, output_len, arrival_rate_qps,
                                   p99_ttft_slo_ms, itl_slo_ms, p99_e2e_slo_ms, None,
                                   price_per_hour, precision, kv_precision, prefill, tp)
        r = first if b == 1 else st.serve(b)
        if not r.feasible:
            return GoodputResult(**st.fields, feasible=False, binding="memory",
                                 constraint_trace=tuple(r.constraint_trace),
                                 serving_solves=len(solves))
        pt = _point(r)
        cand = _candidate(st, pt, r.output_len, fixed=n)
        extra = dict(candidates=(cand,), serving_solves=len(solves))
        viol = _violations(pt, st.slos, st.lam)
        if viol:
            return GoodputResult(**st.fields, feasible=False, binding=viol[0][0],
                                 constraint_trace=tuple(v[2] for v in viol), batch_size=b,
                                 replicas=n, prefill_s=pt.prefill, decode_s=pt.decode,
                                 service_s=pt.service, **extra)
        result = _configured(st, pt, cand, n, **extra)
        key = _allowed(pt, st.slos)[1] or "stability"
        what = {"stability": "the replicas' capacity", "ttft": "the p99 TTFT SLO",
                "e2e": "the p99 end-to-end SLO"}[key]
        why = (f"{n:,} replica{_s(n)} of batch {b:,} serve at most "
               f"{_qps(result.max_rate_qps)}, capped by {what}")
        if cand.meets:
            return replace(result, binding=key, binding_detail=why)
        need = f"{cand.replicas:,}" if cand.replicas else "more"
        trace = f"{why}; {_qps(st.lam)} needs {need} replicas"
        return replace(result, feasible=False, binding=key, binding_detail=why,
                       constraint_trace=(trace,))

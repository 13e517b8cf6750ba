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
cost), then the largest batch (the lowest cost per token at full load). The arithmetic of
one batch size (waits, replicas, largest rate) is in :mod:`.goodput_search`. Cost per million
output tokens = price/h × devices per replica × replicas / (goodput × output tokens × 3600
s/h) × 1e6.
"""

from __future__ import annotations

import math
from dataclasses import replace
from numbers import Real
from typing import NamedTuple

from ..formatting import sig
from ..results_goodput import GoodputCandidate, GoodputResult
from . import inputs
from .dispatch import NODE, resolve_target
from .goodput_search import (
    Point,
    Slos,
    batch_sizes,
    max_rate,
    p99_wait,
    plural,
    point,
    qps,
    replicas_needed,
    violations,
    vs,
    wait_room,
)
from .queueing import MAX_REPLICAS, arrival_rate, duration_seconds, replicas
from .serving import ServingModel

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


class _Setup(NamedTuple):
    serve: object  # batch size -> ServingResult
    lam: float
    slos: Slos
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


def _slos(ttft, itl, e2e) -> Slos:
    named = (("p99_ttft_slo_ms", ttft), ("itl_slo_ms", itl), ("p99_e2e_slo_ms", e2e))
    slos = Slos(*(None if v is None else duration_seconds(n, v) for n, v in named))
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
                         f"{devices} device{plural(devices)} per replica × replicas."))
    return _Setup(serve, lam, slos, cap, price, devices, fields), first, solves


# -- one batch size --------------------------------------------------------------------------
def _candidate(st: _Setup, pt: Point, output_len: int, fixed: int | None = None):
    """One batch size: the fewest replicas that serve λ (at most ``max_replicas``, or
    exactly ``fixed``), else the goodput the cap allows."""
    tokens = pt.batch * output_len / pt.service
    base = dict(batch_size=pt.batch, prefill_s=pt.prefill, decode_s=pt.decode,
                service_s=pt.service, tokens_per_s=tokens,
                cost_per_mtok_full=st.price * st.devices / (tokens * 3600.0) * 1e6)
    viol = violations(pt, st.slos, st.lam)
    if viol:
        return GoodputCandidate(**base, replicas=None, goodput_qps=0.0, meets=False,
                                limit=viol[0][1])
    allowed = wait_room(pt, st.slos)[0]
    need = replicas_needed(pt, st.lam, allowed)
    cap = st.max_replicas if fixed is None else fixed
    if need is not None and (cap is None or need <= cap):
        return GoodputCandidate(**base, replicas=need if fixed is None else fixed,
                                goodput_qps=st.lam, meets=True,
                                limit=f"meets every SLO on {need:,} replica{plural(need)}")
    needs = f"needs {need:,} replicas" if need else f"needs over {MAX_REPLICAS:,} replicas"
    if cap is None:
        return GoodputCandidate(**base, replicas=None, goodput_qps=0.0, meets=False,
                                limit=needs)
    good = min(st.lam, max_rate(pt, cap, allowed, st.lam))
    return GoodputCandidate(**base, replicas=need, goodput_qps=good, meets=False,
                            limit=f"{needs}; {qps(good)} on {cap:,}")


# -- the configuration -----------------------------------------------------------------------
def _configured(st: _Setup, pt: Point, cand: GoodputCandidate, n: int, **extra):
    """The result for batch ``pt.batch`` on ``n`` replicas, at the admitted rate (the
    goodput)."""
    allowed = wait_room(pt, st.slos)[0]
    rate = cand.goodput_qps
    wait = p99_wait(pt, rate, n) if rate > 0 else None
    fields = {**st.fields, "feasible": True, "constraint_trace": (), **extra}
    return GoodputResult(
        **fields, batch_size=pt.batch, replicas=n, prefill_s=pt.prefill, decode_s=pt.decode,
        service_s=pt.service, p99_ttft_s=None if wait is None else pt.prefill + wait,
        p99_e2e_s=None if wait is None else pt.service + wait,
        utilization=rate * pt.service / (n * pt.batch), goodput_qps=rate,
        max_rate_qps=max_rate(pt, n, allowed, st.lam) if rate > 0 else 0.0)


def _what_stops(st: _Setup, nxt: Point | None, best: GoodputCandidate, n: int, top: int):
    """What keeps the next larger batch from serving λ on ``n`` replicas: (key, sentence)."""
    if nxt is None:
        if best.batch_size >= top:
            return "memory", (f"batch {best.batch_size:,} is the largest that fits in a "
                              "replica's memory")
        return "max_batch_size", f"max_batch_size = {best.batch_size:,}"
    viol = violations(nxt, st.slos, st.lam)
    if viol:
        return viol[0][0], f"batch {nxt.batch:,}: {viol[0][2]}"
    on = f"batch {nxt.batch:,} on {n:,} replica{plural(n)}"
    wait = p99_wait(nxt, st.lam, n)
    if wait is None:
        rho = st.lam * nxt.service / (n * nxt.batch)
        return "stability", f"{on} cannot keep up: ρ = {sig(rho)} ≥ 1"
    if st.slos.ttft is not None and nxt.prefill + wait > st.slos.ttft:
        return "ttft", f"{on}: p99 TTFT {vs(nxt.prefill + wait, st.slos.ttft)}"
    if st.slos.e2e is not None and nxt.service + wait > st.slos.e2e:
        return "e2e", f"{on}: p99 end-to-end {vs(nxt.service + wait, st.slos.e2e)}"
    return None, ""  # reached only through rounding at an SLO's edge


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
        floor = violations(point(first), st.slos, st.lam)
        if floor:
            return GoodputResult(**st.fields, feasible=False, binding=floor[0][0],
                                 constraint_trace=tuple(v[2] for v in floor),
                                 serving_solves=len(solves))
        top = first.max_batch_size
        points = [point(first if b == 1 else st.serve(b))
                  for b in batch_sizes(top if cap is None else min(top, cap))]
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
            why = (f"{qps(st.lam)} needs more than {MAX_REPLICAS:,} replicas" if n is None
                   else f"max_replicas = {n:,} serve no rate within the SLOs")
            return GoodputResult(**st.fields, feasible=False, binding="max_replicas",
                                 constraint_trace=(why,), **extra)
        need = f"{best.replicas:,}" if best.replicas else "more"
        why = (f"max_replicas = {n:,} serve at most {qps(best.goodput_qps)} within the SLOs "
               f"(batch {best.batch_size:,}); {qps(st.lam)} needs {need} replicas")
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
        pt = point(r)
        cand = _candidate(st, pt, r.output_len, fixed=n)
        extra = dict(candidates=(cand,), serving_solves=len(solves))
        viol = violations(pt, st.slos, st.lam)
        if viol:
            return GoodputResult(**st.fields, feasible=False, binding=viol[0][0],
                                 constraint_trace=tuple(v[2] for v in viol), batch_size=b,
                                 replicas=n, prefill_s=pt.prefill, decode_s=pt.decode,
                                 service_s=pt.service, **extra)
        result = _configured(st, pt, cand, n, **extra)
        key = wait_room(pt, st.slos)[1] or "stability"
        what = {"stability": "the replicas' capacity", "ttft": "the p99 TTFT SLO",
                "e2e": "the p99 end-to-end SLO"}[key]
        why = (f"{n:,} replica{plural(n)} of batch {b:,} serve at most "
               f"{qps(result.max_rate_qps)}, capped by {what}")
        if cand.meets:
            return replace(result, binding=key, binding_detail=why)
        need = f"{cand.replicas:,}" if cand.replicas else "more"
        trace = f"{why}; {qps(st.lam)} needs {need} replicas"
        return replace(result, feasible=False, binding=key, binding_detail=why,
                       constraint_trace=(trace,))

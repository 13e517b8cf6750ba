"""BatchingOptimizer: batch size and replicas of static-batch serving under latency SLOs.

The two waits are derived by hand (the fill wait's survival for B = 2 and 3, a Monte Carlo
check for a large batch; the queue wait equals TailLatencyModel's M/D/n at B = 1) and checked
against simulations of the server; the search is checked by brute force over the same batch
sizes and one replica fewer; cost per token by hand from the catalog price."""

from __future__ import annotations

import heapq
import json
import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim import ServingModel, TailLatencyModel
from mlsysim.formatting import format_time
from mlsysim.physics.batch_queue import fill_quantile, fill_survival, queue_wait_quantile
from mlsysim.render import dumps
from mlsysim.solvers.batching_optimizer import BatchingOptimizer

OPT, SM = BatchingOptimizer(), ServingModel()
L8, H100, PROMPT, OUT = "Llama3_8B", "H100", 512, 128
P = 0.995  # each wait's quantile: the two summed bound the p99


def serve(batch, model=L8, hardware=H100, **kw):
    return SM.solve(model, hardware, PROMPT, batch, output_len=OUT, **kw)


def times(batch):
    """(prefill of the batch, longest decode step, end-to-end) of a static batch."""
    r = serve(batch)
    return r.batch_prefill_s, max(r.itl_s, r.itl_last_s), r.e2e_s


def wait_bound(batch, lam, replicas, service):
    """fill p99.5 + queue p99.5 (None when the replicas cannot keep up)."""
    queue = queue_wait_quantile(lam, service, replicas, batch, P)
    return None if queue is None else fill_quantile(batch, P) / lam + queue


def meets(batch, lam, replicas, ttft=None, itl=None, e2e=None) -> bool:
    r = serve(batch)
    if not r.feasible:
        return False
    prefill, decode, service = times(batch)
    wait = wait_bound(batch, lam, replicas, service)
    return (wait is not None and (itl is None or decode <= itl)
            and (ttft is None or prefill + wait <= ttft)
            and (e2e is None or service + wait <= e2e))


def powers_of_two_to(top):
    return [1 << k for k in range(top.bit_length())] + ([top] if top & (top - 1) else [])


# -- the waits by hand -----------------------------------------------------------------------
def test_fill_wait_by_hand():
    # B = 1: nobody to wait for
    assert fill_quantile(1, P) == 0.0
    # B = 2: half the requests wait for one more arrival, Exp(1): P(fill > t) = e^{-t}/2,
    # so the p-quantile is ln(1/(2(1 − p))) = ln 100 at p = 0.995
    assert fill_survival(2, 0.8) == pytest.approx(math.exp(-0.8) / 2, rel=1e-12)
    assert fill_quantile(2, P) == pytest.approx(math.log(100), rel=1e-9)
    # B = 3: waits of 0, Gamma(1) and Gamma(2): (e^{-t} + e^{-t}(1 + t))/3 = e^{-t}(2 + t)/3
    assert fill_survival(3, 1.7) == pytest.approx(math.exp(-1.7) * 3.7 / 3, rel=1e-12)
    t = fill_quantile(3, P)
    assert math.exp(-t) * (2 + t) / 3 == pytest.approx(0.005, rel=1e-9)


def test_fill_wait_of_a_large_batch_against_monte_carlo():
    rng = np.random.default_rng(7)
    batch, n = 200, 400_000
    after = rng.integers(0, batch, n)  # requests after this one in its batch: 0 .. B − 1
    waits = np.where(after > 0, rng.gamma(np.maximum(after, 1), 1.0), 0.0)
    for t in (50.0, 150.0, 210.0):
        empirical = float((waits > t).mean())
        se = math.sqrt(empirical * (1 - empirical) / n)
        assert abs(fill_survival(batch, t) - empirical) < 5 * se + 1e-6
    assert float(np.quantile(waits, P)) == pytest.approx(fill_quantile(batch, P), rel=0.02)


@pytest.mark.parametrize("lam, service_ms, n", [(15, 50, 1), (3, 1000, 4), (30, 200, 8)])
def test_queue_wait_at_batch_one_is_tail_latency_models_md_n(lam, service_ms, n):
    r = TailLatencyModel().solve(lam, service_ms, n, service_time_cv=0.0)
    expected = r.latency_quantile(P).to("s").magnitude - service_ms / 1e3
    assert queue_wait_quantile(lam, service_ms / 1e3, n, 1, P) == pytest.approx(
        expected, rel=1e-9, abs=1e-12)
    assert queue_wait_quantile(lam, service_ms / 1e3, int(lam * service_ms / 1e3), 1, P) \
        is None  # λS = n: no steady state


def _batch_waits(lam, service, n, batch, batches=100_000, seed=3):
    """Simulated waits of formed batches (every ``batch`` Poisson arrivals) for n replicas."""
    formed = np.cumsum(np.random.default_rng(seed).gamma(batch, 1 / lam, batches)).tolist()
    free, waits = [0.0] * n, []
    for f in formed:
        start = max(heapq.heappop(free), f)
        waits.append(start - f)
        heapq.heappush(free, start + service)
    return np.asarray(waits[batches // 10:])


@pytest.mark.parametrize("lam, service, n, batch", [(20, 1.1, 2, 16), (10, 1.0, 1, 11),
                                                    (3, 1.0, 1, 4), (50, 0.92, 16, 4)])
def test_the_queue_approximation_errs_long(lam, service, n, batch):
    simulated = float(np.quantile(_batch_waits(lam, service, n, batch), P))
    assert queue_wait_quantile(lam, service, n, batch, P) >= simulated


def _simulate_server(lam, service, n, batch, requests=300_000, seed=2):
    """Waits of requests in full static batches: fill, then FCFS for n replicas."""
    requests -= requests % batch
    arrivals = np.cumsum(np.random.default_rng(seed).exponential(1 / lam, requests))
    free, starts = [0.0] * n, []
    for formed in arrivals[batch - 1::batch].tolist():
        start = max(heapq.heappop(free), formed)
        starts.append(start)
        heapq.heappush(free, start + service)
    return (np.repeat(starts, batch) - arrivals)[requests // 10:]


@pytest.mark.parametrize("lam, slos", [(20, dict(p99_ttft_slo_ms=500, itl_slo_ms=20)),
                                       (20, dict(p99_e2e_slo_ms=3000)),
                                       (50, dict(p99_ttft_slo_ms=300))])
def test_the_p99_bound_holds_in_a_simulated_server(lam, slos):
    r = OPT.solve(L8, H100, PROMPT, OUT, lam, **slos)
    waits = _simulate_server(lam, r.service_s, r.replicas, r.batch_size)
    simulated = float(np.quantile(waits, 0.99))
    bound = r.p99_e2e_s - r.service_s
    assert r.p99_ttft_s - r.prefill_s == pytest.approx(bound, rel=1e-12)
    # an upper bound, and not a loose one: within 2× of the simulated p99 wait
    assert simulated <= bound <= 2 * simulated


# -- cost ------------------------------------------------------------------------------------
def test_cost_per_million_tokens_by_hand():
    lam = 20
    r = OPT.solve(L8, H100, PROMPT, OUT, lam, p99_ttft_slo_ms=500, itl_slo_ms=20)
    price = mlsysim.Hardware.H100.price_per_hour.to("USD/h").magnitude
    # full load: price/h × 1 device / (the batch's tokens/s × 3600 s/h) × 1e6
    tokens_per_s = serve(r.batch_size).tokens_per_sec.to("token/s").magnitude
    assert r.cost_per_million_tokens_full_load.to("USD").magnitude == pytest.approx(
        price / (tokens_per_s * 3600) * 1e6, rel=1e-12)
    # served: every replica is paid for, the tokens are the requests served within the SLOs
    assert r.cost_per_hour.to("USD/h").magnitude == pytest.approx(price * r.replicas)
    assert r.cost_per_million_tokens.to("USD").magnitude == pytest.approx(
        price * r.replicas / (lam * OUT * 3600) * 1e6, rel=1e-12)


def test_cost_counts_every_device_of_a_node_replica():
    r = OPT.solve("Llama3_70B", "DGX_H100", 1024, 256, 5, p99_ttft_slo_ms=2000,
                  price_per_hour="2.5 USD/h")
    assert r.devices_per_replica == 8 and r.price_source == "given"
    assert r.cost_per_hour.to("USD/h").magnitude == pytest.approx(2.5 * 8 * r.replicas)
    assert r.cost_per_million_tokens.to("USD").magnitude == pytest.approx(
        2.5 * 8 * r.replicas / (5 * 256 * 3600) * 1e6, rel=1e-12)
    half = OPT.solve("Llama3_70B", "DGX_H100", 1024, 256, 5, p99_ttft_slo_ms=2000, tp=4,
                     price_per_hour=2.5)
    assert half.devices_per_replica == 4


# -- the search ------------------------------------------------------------------------------
def test_goodput_never_decreases_with_more_replicas():
    lam, e2e = 20, 3000
    goodput = [OPT.evaluate(L8, H100, PROMPT, OUT, lam, 8, n, p99_e2e_slo_ms=e2e).goodput_qps
               for n in range(1, 9)]
    assert goodput[0] < lam and goodput[-1] == lam
    assert all(b >= a * (1 - 1e-9) for a, b in pairwise(goodput))
    capped = [OPT.solve(L8, H100, PROMPT, OUT, 60, p99_e2e_slo_ms=e2e,
                        max_replicas=n).goodput_qps for n in range(1, 7)]
    assert all(b >= a * (1 - 1e-9) for a, b in pairwise(capped))
    assert capped[0] < capped[-1]


@settings(max_examples=25, deadline=None)
@given(lam=st.floats(0.5, 80), e2e=st.floats(1500, 12000), batch=st.sampled_from([1, 2, 8, 32]))
def test_goodput_never_decreases_with_more_replicas_property(lam, e2e, batch):
    goodput = [OPT.evaluate(L8, H100, PROMPT, OUT, lam, batch, n,
                            p99_e2e_slo_ms=e2e).goodput_qps for n in (1, 2, 3, 5, 8)]
    assert all(b >= a * (1 - 1e-9) for a, b in pairwise(goodput))


def test_chosen_batch_meets_every_slo_and_is_the_cheapest():
    lam, slos = 20, dict(ttft=0.5, itl=0.02, e2e=5.0)
    r = OPT.solve(L8, H100, PROMPT, OUT, lam, p99_ttft_slo_ms=500, itl_slo_ms=20,
                  p99_e2e_slo_ms=5000)
    b, n = r.batch_size, r.replicas
    assert r.feasible and r.goodput_qps == lam
    assert meets(b, lam, n, **slos)
    # the next larger batch misses an SLO on as many replicas
    sizes = powers_of_two_to(serve(1).max_batch_size)
    assert not meets(sizes[sizes.index(b) + 1], lam, n, **slos)
    assert r.binding == "ttft" and "filling it takes" in r.binding_detail
    # brute force: no batch size searched serves λ on one replica fewer
    assert not any(meets(s, lam, n - 1, **slos) for s in sizes)
    # the reported latencies are the bound, by hand
    prefill, decode, service = times(b)
    wait = wait_bound(b, lam, n, service)
    assert r.p99_ttft_s == pytest.approx(prefill + wait, rel=1e-12)
    assert r.p99_e2e_s == pytest.approx(service + wait, rel=1e-12)
    assert r.decode_s == pytest.approx(decode, rel=1e-12)
    assert r.utilization == pytest.approx(lam * service / (n * b), rel=1e-12)
    assert r.max_rate_qps > lam


def test_cost_per_token_falls_with_batch_until_an_slo_binds():
    # an ITL SLO alone: the largest batch whose longest decode step fits, on the fewest
    # replicas that keep up
    lam, itl = 100, 0.020
    r = OPT.solve(L8, H100, PROMPT, OUT, lam, itl_slo_ms=20)
    costs = [c.cost_per_mtok_full for c in r.candidates]
    assert all(b < a for a, b in pairwise(costs))
    sizes = powers_of_two_to(serve(1).max_batch_size)
    fits = [s for s in sizes if times(s)[1] <= itl]
    assert r.batch_size == fits[-1]
    assert r.binding == "itl" and times(sizes[sizes.index(fits[-1]) + 1])[1] > itl
    assert f"takes {format_time(times(sizes[len(fits)])[1])} > 20.0 ms" in r.binding_detail
    service = times(r.batch_size)[2]
    assert r.replicas == math.floor(lam * service / r.batch_size) + 1  # just keeps up


def test_a_tight_ttft_slo_forces_batch_one_and_more_replicas():
    lam = 20
    prefill1, _, service1 = times(1)
    slo = 1.5 * prefill1  # batch 2's prefill (2×) already misses it
    tight = OPT.solve(L8, H100, PROMPT, OUT, lam, p99_ttft_slo_ms=slo * 1e3)
    loose = OPT.solve(L8, H100, PROMPT, OUT, lam, p99_ttft_slo_ms=2000)
    assert tight.batch_size == 1 and loose.batch_size > 1
    assert tight.replicas > loose.replicas
    assert tight.binding == "ttft" and "batch 2's prefill alone takes" in tight.binding_detail
    # batch 1 has no fill wait: its queue is TailLatencyModel's M/D/n, by its p99.5
    def wait(n):
        m = TailLatencyModel().solve(lam, service1 * 1e3, n, service_time_cv=0.0)
        return m.latency_quantile(P).to("s").magnitude - service1 if m.is_stable else math.inf
    n = tight.replicas
    assert prefill1 + wait(n) <= slo < prefill1 + wait(n - 1)


def test_memory_or_max_batch_size_binds_when_slos_are_loose():
    r = OPT.solve(L8, H100, PROMPT, OUT, 200, p99_e2e_slo_ms=60_000)
    top = serve(1).max_batch_size
    assert r.batch_size == top and r.binding == "memory"
    assert [c.batch_size for c in r.candidates] == powers_of_two_to(top)
    capped = OPT.solve(L8, H100, PROMPT, OUT, 200, p99_e2e_slo_ms=60_000, max_batch_size=100)
    assert [c.batch_size for c in capped.candidates] == [1, 2, 4, 8, 16, 32, 64, 100]
    assert capped.batch_size == 100 and capped.binding == "max_batch_size"


def test_max_replicas_caps_goodput_where_an_slo_binds():
    lam, slo = 50, 2.0
    r = OPT.solve(L8, H100, PROMPT, OUT, lam, p99_ttft_slo_ms=2000, max_replicas=2)
    assert not r.feasible and r.binding == "max_replicas" and r.replicas == 2
    assert 0 < r.goodput_qps < lam
    assert f"serve at most {mlsysim.formatting.sig(r.goodput_qps)} req/s" \
        in r.constraint_trace[0]
    # at the goodput the p99 TTFT bound sits on the SLO; a little more and it misses
    prefill, _, service = times(r.batch_size)
    at = wait_bound(r.batch_size, r.goodput_qps, 2, service)
    assert prefill + at == pytest.approx(slo, rel=1e-6)
    assert not meets(r.batch_size, r.goodput_qps * 1.001, 2, ttft=slo)
    # and no batch size does better on two replicas
    assert all(c.goodput_qps <= r.goodput_qps for c in r.candidates)


# -- infeasible and bad input ----------------------------------------------------------------
def test_infeasible_slos_are_explained_with_numbers():
    prefill1, decode1, service1 = times(1)
    r = OPT.solve(L8, H100, PROMPT, OUT, 20, p99_ttft_slo_ms=5)
    assert not r.feasible and r.batch_size is None and r.binding == "ttft"
    assert f"the prefill alone takes {format_time(prefill1)} > 5.00 ms" in r.constraint_trace[0]
    assert "INFEASIBLE" in str(r)
    r = OPT.solve(L8, H100, PROMPT, OUT, 20, itl_slo_ms=2, p99_e2e_slo_ms=500)
    assert [c.split(":")[0] for c in r.constraint_trace] == [
        "ITL ≤ 2.00 ms cannot be met", "p99 end-to-end ≤ 500 ms cannot be met"]
    assert f"takes {format_time(decode1)} > 2.00 ms" in r.constraint_trace[0]
    assert f"takes {format_time(service1)} > 500 ms end to end" in r.constraint_trace[1]
    big = OPT.solve("Llama3_70B", H100, PROMPT, OUT, 1, p99_ttft_slo_ms=1000)
    assert not big.feasible and big.binding == "memory" and "needs" in big.constraint_trace[0]


@pytest.mark.parametrize("kwargs, name", [
    (dict(arrival_rate_qps=-1), "arrival_rate_qps"),
    (dict(arrival_rate_qps=0), "arrival_rate_qps"),
    (dict(arrival_rate_qps="-3 1/s"), "arrival_rate_qps"),
    (dict(p99_ttft_slo_ms=0), "p99_ttft_slo_ms"),
    (dict(p99_ttft_slo_ms=-5), "p99_ttft_slo_ms"),
    (dict(itl_slo_ms="5 GB"), "itl_slo_ms"),
    (dict(p99_ttft_slo_ms=None), "at least one SLO"),
    (dict(price_per_hour=-2), "price_per_hour"),
    (dict(price_per_hour="3 W"), "price_per_hour"),
    (dict(max_replicas=0), "max_replicas"),
    (dict(max_batch_size=0), "max_batch_size"),
    (dict(hardware="RTX4090"), "no price_per_hour in the catalog for NVIDIA"),
])
def test_bad_input_is_one_line_naming_the_parameter(kwargs, name):
    args = dict(model=L8, hardware=H100, seq_len=PROMPT, output_len=OUT, arrival_rate_qps=10,
                p99_ttft_slo_ms=500) | kwargs
    with pytest.raises(ValueError, match=name) as err:
        OPT.solve(**args)
    assert "\n" not in str(err.value)
    if kwargs.get("hardware") == "RTX4090":
        assert str(err.value).endswith("pass price_per_hour='2.5 USD/h'")


@pytest.mark.parametrize("kwargs, name", [(dict(replicas=0), "replicas"),
                                          (dict(batch_size=1.5), "batch_size")])
def test_evaluate_bad_input(kwargs, name):
    args = dict(batch_size=4, replicas=2) | kwargs
    with pytest.raises(ValueError, match=name):
        OPT.evaluate(L8, H100, PROMPT, OUT, 10, p99_ttft_slo_ms=500, **args)


def test_result_renders_and_serialises():
    r = mlsysim.BatchingOptimizer().solve(L8, H100, PROMPT, OUT, 20, p99_ttft_slo_ms=500)
    text, html = str(r), r._repr_html_()
    assert "Goodput" in text and "Batch sizes searched" in text and "<table" in html
    data = json.loads(dumps(r.to_dict()))
    assert data["batch_size"] == r.batch_size and len(data["candidates"]) == len(r.candidates)
    assert any("union bound" in n for n in r.notes)

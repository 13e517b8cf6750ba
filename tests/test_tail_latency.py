"""TailLatencyModel: queueing from first principles (Erlang C, the M/M/c sojourn-time CDF, the
stated M/G/c approximation), checked against hand-derived closed forms and a discrete-event
simulation; bad input; the `mlsysim slo` command."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim.cli import main
from mlsysim.render import dumps
from mlsysim.results_serving import UnstableQueueError
from mlsysim.solvers.queueing import TailLatencyModel, simulate_queue
from mlsysim.units import Q_

model = TailLatencyModel()


def ms(q) -> float:
    return float(q.to("ms").magnitude)


# -- M/M/1 by hand ---------------------------------------------------------------------------
def test_mm1_closed_forms_by_hand():
    # λ = 15/s, E[S] = 50 ms → μ = 20/s, μ − λ = 5/s. The M/M/1 sojourn time is exponential
    # with rate μ − λ: mean 1/(μ − λ) = 200 ms, p-quantile −ln(1 − p)/(μ − λ).
    r = model.solve(15, 50)
    assert r.is_stable and r.queue_utilization == pytest.approx(0.75, rel=1e-12)
    assert r.probability_of_waiting == pytest.approx(0.75, rel=1e-12)  # Erlang C(1, a) = ρ
    assert ms(r.mean_latency) == pytest.approx(200.0, rel=1e-12)
    assert ms(r.mean_wait) == pytest.approx(0.75 / 5 * 1e3, rel=1e-12)  # ρ/(μ − λ)
    assert ms(r.p50_latency) == pytest.approx(math.log(2) / 5 * 1e3, rel=1e-9)
    assert ms(r.p90_latency) == pytest.approx(math.log(10) / 5 * 1e3, rel=1e-9)
    assert ms(r.p99_latency) == pytest.approx(math.log(100) / 5 * 1e3, rel=1e-9)
    assert ms(r.latency_quantile(0.999)) == pytest.approx(math.log(1000) / 5 * 1e3, rel=1e-9)
    assert r.slo_violation_probability(500) == pytest.approx(math.exp(-2.5), rel=1e-12)
    assert r.slo_violation_probability("0.5 s") == pytest.approx(math.exp(-2.5), rel=1e-12)
    assert r.p99_latency.units == Q_(1, "ms").units


def test_latency_is_the_sojourn_not_a_wait_quantile_plus_the_mean_service():
    # M/M/1, λ = 5/s, μ = 20/s (ρ = 1/4): the wait's p99 is ln(ρ/0.01)/(μ − λ)
    # (P(W > t) = ρ·e^{−(μ−λ)t}); that plus the 50 ms mean service (265 ms) is not the
    # sojourn p99 ln(100)/(μ − λ) (307 ms).
    wrong = (math.log(0.25 / 0.01) / 15 + 0.05) * 1e3
    right = math.log(100) / 15 * 1e3
    got = ms(model.solve(5, 50).p99_latency)
    assert got == pytest.approx(right, rel=1e-9) and got - wrong > 40


# -- M/M/2 against Erlang C by hand ----------------------------------------------------------
def test_mm2_erlang_c_and_sojourn_cdf_by_hand():
    # λ = 30/s, μ = 20/s, c = 2: a = 1.5, ρ = 0.75.
    # Erlang C = (a²/2!·1/(1−ρ)) / (1 + a + a²/2!·1/(1−ρ)) = 4.5/7 = 9/14.
    C = 9 / 14
    r = model.solve(30, 50, num_replicas=2)
    assert r.probability_of_waiting == pytest.approx(C, rel=1e-12)
    assert r.queue_utilization == pytest.approx(0.75, rel=1e-12)
    # mean wait C/(cμ − λ) = (9/14)/10 s; mean latency adds 50 ms
    assert ms(r.mean_wait) == pytest.approx(C / 10 * 1e3, rel=1e-12)
    assert ms(r.mean_latency) == pytest.approx(C / 10 * 1e3 + 50, rel=1e-12)
    # P(T > t) = e^{−20t} + C·20·(e^{−20t} − e^{−10t})/(10 − 20) = x² + 2C(x − x²), x = e^{−10t}
    # = −(2/7)x² + (9/7)x. Setting it to 1 − p: 2x² − 9x + 7(1 − p) = 0, the root x ≤ 1.
    for p, got in ((0.5, r.p50_latency), (0.9, r.p90_latency), (0.99, r.p99_latency)):
        x = (9 - math.sqrt(81 - 56 * (1 - p))) / 4
        assert ms(got) == pytest.approx(-math.log(x) / 10 * 1e3, rel=1e-9), p
    t = 0.2
    x = math.exp(-10 * t)
    assert r.slo_violation_probability(200) == pytest.approx(x * x + 2 * C * (x - x * x),
                                                             rel=1e-12)


def test_the_special_case_c_mu_minus_lambda_equals_mu():
    # c = 2, λ = μ = 20/s: θ = cμ − λ = μ, a = 1, ρ = 1/2, C = (1/2·2)/(1 + 1 + 1) = 1/3, and
    # the CDF becomes P(T > t) = e^{−μt}(1 + Cμt) (the Erlang-2 limit of the convolution).
    r = model.solve(20, 50, num_replicas=2)
    assert r.probability_of_waiting == pytest.approx(1 / 3, rel=1e-12)
    for q, got in ((0.5, r.p50_latency), (0.99, r.p99_latency)):
        t = ms(got) / 1e3
        assert math.exp(-20 * t) * (1 + 20 * t / 3) == pytest.approx(1 - q, rel=1e-9)
    # continuous across the special case
    for lam in (20 * (1 - 1e-9), 20 * (1 + 1e-9)):
        near = model.solve(lam, 50, num_replicas=2)
        assert ms(near.p99_latency) == pytest.approx(ms(r.p99_latency), rel=1e-6)


# -- general service times: the stated approximation -----------------------------------------
@pytest.mark.parametrize("cv", [0.0, 0.5, 2.0])
def test_one_replica_mean_wait_is_pollaczek_khinchine(cv):
    # M/G/1 (exact): E[W] = λ·E[S²] / (2(1 − ρ)), E[S²] = (1 + cv²)/μ². λ = 15, μ = 20.
    r = model.solve(15, 50, service_time_cv=cv)
    expected = 15 * (1 + cv * cv) / 400 / (2 * 0.25)
    assert ms(r.mean_wait) == pytest.approx(expected * 1e3, rel=1e-12)
    assert ms(r.mean_latency) == pytest.approx(expected * 1e3 + 50, rel=1e-12)
    assert "approximation" in r.model and any("Allen–Cunneen" in n for n in r.notes)


def test_constant_service_time_tail_by_hand():
    # cv = 0, c = 1, λ = 15, μ = 20: T = 50 ms + W with the stated wait P(W > w) = ρ·e^{−θ'w},
    # θ' = (μ − λ)·2/(1 + 0) = 10/s. P(T > t) = 0.75·e^{−10(t − 50 ms)} for t ≥ 50 ms, so
    # p99 = 50 ms + ln(0.75/0.01)/10 s and p50 = 50 ms + ln(0.75/0.5)/10 s.
    r = model.solve(15, 50, service_time_cv=0)
    assert ms(r.p99_latency) == pytest.approx(50 + math.log(75) / 10 * 1e3, rel=1e-12)
    assert ms(r.p50_latency) == pytest.approx(50 + math.log(1.5) / 10 * 1e3, rel=1e-12)
    assert r.model.startswith("M/D/1")
    # a lightly loaded constant server: most requests never wait, so p50 is the service time
    light = model.solve(2, 50, service_time_cv=0)  # ρ = 0.1 = P(wait) < 0.5
    assert ms(light.p50_latency) == pytest.approx(50.0, rel=1e-12)


@pytest.mark.parametrize(("rate", "c", "cv"), [(15, 1, 0.0), (30, 2, 0.5), (60, 4, 2.0)])
def test_approximation_is_close_to_the_simulation(rate, c, cv):
    # The stated accuracy (Whitt 1993: about 10 % for Allen–Cunneen-type approximations at
    # moderate to heavy load; these are at ρ = 0.75): p90, p99 and the mean within 10 % of
    # the simulation (gamma service times), beyond its own 95 % interval.
    r = model.solve(rate, 50, num_replicas=c, service_time_cv=cv)
    sim = simulate_queue(rate, 50, num_replicas=c, service_time_cv=cv, n_requests=200_000,
                         seed=7)
    for name in ("p90", "p99", "mean"):
        approx = ms(getattr(r, f"{name}_latency"))
        low, high = (ms(x) for x in getattr(sim, f"{name}_ci"))
        est = ms(getattr(sim, f"{name}_latency"))
        assert low - 0.10 * est <= approx <= high + 0.10 * est, (name, approx, low, high)


# -- the simulation agrees with the exact model ----------------------------------------------
@pytest.mark.parametrize(("rate", "c"), [(15, 1), (30, 2)])
def test_simulation_agrees_with_exact_mmc_within_its_interval(rate, c):
    exact = model.solve(rate, 50, num_replicas=c)
    # 99 % intervals: four estimates at once must all hold (95 % each would fail ~1 run in 5)
    sim = simulate_queue(rate, 50, num_replicas=c, n_requests=300_000, seed=1,
                         confidence=0.99)
    for name in ("p50", "p90", "p99", "mean"):
        low, high = getattr(sim, f"{name}_ci")
        value = getattr(exact, f"{name}_latency")
        assert low <= value <= high, (name, value, low, high)
        assert ms(high) - ms(low) < 0.2 * ms(value)  # and the interval is informative
    assert "p99 latency" in str(sim) and "CI" in str(sim)
    json.loads(dumps(sim.to_dict()))


def test_simulation_refuses_what_it_cannot_simulate():
    with pytest.raises(ValueError, match="unstable"):
        simulate_queue(50, 25)
    with pytest.raises(ValueError, match="arrival_rate_qps must be positive"):
        simulate_queue(0, 25)
    with pytest.raises(ValueError, match="n_requests"):
        simulate_queue(10, 25, n_requests=10)
    with pytest.raises(ValueError, match="seed"):
        simulate_queue(10, 25, seed=1.5)


# -- properties ------------------------------------------------------------------------------
rates = st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=500.0))
services = st.floats(min_value=0.1, max_value=500.0, allow_nan=False)
cvs = st.sampled_from([0.0, 0.3, 1.0, 1.0, 1.7, 4.0])
counts = st.integers(min_value=1, max_value=64)


def _finite(r) -> None:
    for name in ("p50_latency", "p90_latency", "p99_latency", "mean_latency", "mean_wait"):
        value = ms(getattr(r, name))
        assert math.isfinite(value) and value >= 0.0, (name, value)


@settings(max_examples=150, deadline=None)
@given(rates, services, counts, cvs)
def test_percentiles_are_ordered_and_bounded_below(rate, service_ms, c, cv):
    r = model.solve(rate, service_ms, num_replicas=c, service_time_cv=cv)
    assert r.queue_utilization == pytest.approx(rate * service_ms / 1e3 / c, rel=1e-12)
    if abs(r.queue_utilization - 1) > 1e-9:  # (at ρ = 1 ± rounding either is honest)
        assert r.is_stable == (r.queue_utilization < 1)
    if not r.is_stable:
        return
    _finite(r)
    p50, p90, p99 = ms(r.p50_latency), ms(r.p90_latency), ms(r.p99_latency)
    assert p99 >= p90 >= p50 > 0
    # latency = wait + service ≥ service: the mean is the mean service plus the mean wait
    assert ms(r.mean_latency) - ms(r.mean_wait) == pytest.approx(service_ms, rel=1e-9)
    if cv == 1.0:  # an exponential service time's own quantiles −ln(1 − p)·E[S]
        assert p99 >= math.log(100) * service_ms * (1 - 1e-9)
        assert p50 >= math.log(2) * service_ms * (1 - 1e-9)
    if cv <= 1.0:  # the fitted service time is at least (1 − cv)·E[S]
        assert p50 >= (1 - cv) * service_ms * (1 - 1e-12)
    assert 0.0 <= r.probability_of_waiting <= 1.0
    if cv > 0:  # a continuous distribution: exactly 1 % of requests are slower than p99
        assert r.slo_violation_probability(p99) == pytest.approx(0.01, rel=1e-6)
    else:  # a constant service time puts an atom at E[S]: at most 1 %
        assert r.slo_violation_probability(p99) <= 0.01 * (1 + 1e-9)


@settings(max_examples=100, deadline=None)
@given(rates, services, counts, cvs)
def test_more_replicas_never_worse_and_more_load_never_better(rate, service_ms, c, cv):
    r = model.solve(rate, service_ms, num_replicas=c, service_time_cv=cv)
    if not r.is_stable:
        assert not model.solve(rate * 1.1, service_ms, c, cv).is_stable
        return
    more = model.solve(rate, service_ms, num_replicas=c + 1, service_time_cv=cv)
    busier = model.solve(rate * 1.05, service_ms, num_replicas=c, service_time_cv=cv)
    for name in ("p50_latency", "p90_latency", "p99_latency", "mean_latency"):
        base = ms(getattr(r, name))
        assert ms(getattr(more, name)) <= base * (1 + 1e-9), name
        if busier.is_stable:
            assert ms(getattr(busier, name)) >= base * (1 - 1e-9), name
    assert more.probability_of_waiting <= r.probability_of_waiting * (1 + 1e-12)


@settings(max_examples=60, deadline=None)
@given(rates, st.floats(min_value=1.0, max_value=200.0),
       st.floats(min_value=1.05, max_value=20.0), cvs)
def test_replicas_for_slo_is_the_smallest_that_meets_it(rate, service_ms, slack, cv):
    # an SLO above the service time's own p99 (for cv = 1: ln(100)·E[S]; a margin for others)
    slo = math.log(100) * service_ms * slack * (1 if cv <= 1 else cv * cv)
    c = model.replicas_for_slo(rate, service_ms, slo, service_time_cv=cv)
    assert ms(model.solve(rate, service_ms, c, cv).p99_latency) <= slo
    if c > 1:
        fewer = model.solve(rate, service_ms, c - 1, cv)
        assert not fewer.is_stable or ms(fewer.p99_latency) > slo


def test_replicas_for_slo_by_hand():
    # λ = 5/s, E[S] = 50 ms: one replica has p99 = ln(100)/(20 − 5) s = 307.0 ms
    assert model.replicas_for_slo(5, 50, 310) == 1
    assert model.replicas_for_slo(5, 50, 300) == 2
    # λ = 30/s: 1 replica is unstable (ρ = 1.5); 2 give p99 = −ln(x)/10 s with
    # x = (9 − √(81 − 0.56))/4, about 485 ms (see the M/M/2 test)
    p99_two = -math.log((9 - math.sqrt(81 - 0.56)) / 4) / 10 * 1e3
    assert model.replicas_for_slo(30, 50, p99_two * 1.001) == 2
    assert model.replicas_for_slo(30, 50, p99_two * 0.999) == 3
    assert model.replicas_for_slo(0, 50, 231) == 1  # idle: p99 = ln(100)·50 ms = 230.3 ms
    with pytest.raises(ValueError, match=r"p99_slo_ms.*cannot be met.*230\.3 ms"):
        model.replicas_for_slo(5, 50, 200)


# -- stability -------------------------------------------------------------------------------
def test_an_unstable_queue_says_so_in_numbers_and_has_no_latencies():
    r = model.solve(50, 25)  # λ = 50/s > μ = 40/s: ρ = 1.25
    assert not r.is_stable and not r.feasible
    assert r.queue_utilization == pytest.approx(1.25, rel=1e-12)
    assert r.max_stable_rate_qps == pytest.approx(40.0, rel=1e-12)
    assert r.min_stable_replicas == 2
    text = str(r)
    assert "unstable: ρ = 1.25 ≥ 1" in text and "at most 40.0 qps" in text
    assert "inf" not in text.lower().replace("infeasible", "")
    assert "∞" not in text and "nan" not in text.lower()
    for name in ("p50_latency", "p90_latency", "p99_latency", "mean_latency", "mean_wait"):
        with pytest.raises(UnstableQueueError, match=r"ρ = 1\.25 ≥ 1.*40\.0 qps"):
            getattr(r, name)
    with pytest.raises(ValueError, match="unstable"):
        r.slo_violation_probability(100)
    data = json.loads(dumps(r.to_dict()))  # strict JSON: no NaN or Infinity
    assert data["p99_latency"] is None and data["is_stable"] is False
    assert "unstable: ρ = 1.25 ≥ 1" in r._repr_html_()
    # exactly at capacity is unstable too; just below it is stable and finite
    assert not model.solve(40, 25).is_stable
    _finite(model.solve(40 * (1 - 1e-9), 25))


def test_an_idle_system_is_the_service_time():
    r = model.solve(0, 50)
    assert r.is_stable and r.probability_of_waiting == 0 and ms(r.mean_wait) == 0
    assert ms(r.p99_latency) == pytest.approx(math.log(100) * 50, rel=1e-9)


# -- inputs ----------------------------------------------------------------------------------
def test_quantities_and_strings_are_accepted():
    base = model.solve(30, 50, num_replicas=2)
    for rate, service in (("30 1/s", "50 ms"), (Q_(1800, "1/min"), Q_(0.05, "s")),
                          ("30 Hz", "0.05 s")):
        other = model.solve(rate, service, num_replicas=2)
        assert ms(other.p99_latency) == pytest.approx(ms(base.p99_latency), rel=1e-12)


@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(arrival_rate_qps=-1), "arrival_rate_qps"),
    (dict(arrival_rate_qps=float("nan")), "arrival_rate_qps"),
    (dict(arrival_rate_qps=float("inf")), "arrival_rate_qps"),
    (dict(arrival_rate_qps=True), "arrival_rate_qps"),
    (dict(arrival_rate_qps="fast"), "arrival_rate_qps"),
    (dict(arrival_rate_qps="20 GB"), "arrival_rate_qps"),
    (dict(service_latency_ms=0), "service_latency_ms"),
    (dict(service_latency_ms=-5), "service_latency_ms"),
    (dict(service_latency_ms=float("nan")), "service_latency_ms"),
    (dict(service_latency_ms=float("inf")), "service_latency_ms"),
    (dict(service_latency_ms="50 GB"), "service_latency_ms"),
    (dict(service_latency_ms=None), "service_latency_ms"),
    (dict(num_replicas=0), "num_replicas"),
    (dict(num_replicas=1.5), "num_replicas"),
    (dict(num_replicas=2.0), "num_replicas"),
    (dict(num_replicas="2"), "num_replicas"),
    (dict(num_replicas=True), "num_replicas"),
    (dict(num_replicas=10**7), "num_replicas"),
    (dict(service_time_cv=-0.1), "service_time_cv"),
    (dict(service_time_cv=float("nan")), "service_time_cv"),
    (dict(service_time_cv=11), "service_time_cv"),
    (dict(service_time_cv="1"), "service_time_cv"),
])
def test_bad_input_is_one_line_naming_the_parameter(kwargs, name):
    args = dict(arrival_rate_qps=10, service_latency_ms=50, num_replicas=1,
                service_time_cv=1.0) | kwargs
    with pytest.raises(ValueError, match=name) as info:
        model.solve(**args)
    assert "\n" not in str(info.value)


def test_bad_slo_and_quantile_inputs():
    r = model.solve(10, 50)
    for bad in (0, -1, float("nan"), "fast"):
        with pytest.raises(ValueError, match="slo"):
            r.slo_violation_probability(bad)
    for bad in (0, 1, 99, float("nan")):
        with pytest.raises(ValueError, match="q must be"):
            r.latency_quantile(bad)
    with pytest.raises(ValueError, match="p99_slo_ms"):
        model.replicas_for_slo(10, 50, -3)


def test_exported_lazily():
    assert "TailLatencyModel" in mlsysim.__all__
    assert mlsysim.TailLatencyModel is TailLatencyModel
    assert mlsysim.simulate_queue is simulate_queue


# -- the command -----------------------------------------------------------------------------
def test_cli_slo_percentiles(capsys):
    assert main(["slo", "--rate", "30", "--service-ms", "50", "--replicas", "2"]) == 0
    out = capsys.readouterr().out
    assert "p99 latency" in out and "M/M/2, exact" in out
    assert main(["slo", "--rate", "30", "--service-ms", "50", "--replicas", "2",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    x = (9 - math.sqrt(81 - 0.56)) / 4  # the hand-derived M/M/2 p99 above
    assert data["p99_latency"]["value"] == pytest.approx(-math.log(x) / 10 * 1e3, rel=1e-9)
    assert data["p99_latency"]["unit"] == "ms"


def test_cli_slo_replicas_needed(capsys):
    assert main(["slo", "--rate", "5", "--service-ms", "50", "--p99-slo", "300"]) == 0
    out = capsys.readouterr().out
    assert "Replicas for a p99 latency ≤ 300 ms: 2" in out
    assert main(["slo", "--rate", "5", "--service-ms", "50", "--p99-slo", "300",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["replicas_for_slo"] == 2


def test_cli_slo_unstable_and_errors(capsys):
    assert main(["slo", "--rate", "50", "--service-ms", "25"]) == 0
    assert "unstable: ρ = 1.25 ≥ 1" in capsys.readouterr().out
    for argv in (["--rate", "-1", "--service-ms", "25"],
                 ["--rate", "10", "--service-ms", "nan"],
                 ["--rate", "10", "--service-ms", "25", "--cv", "-1"],
                 ["--rate", "10", "--service-ms", "25", "--replicas", "0"],
                 ["--rate", "10", "--service-ms", "50", "--p99-slo", "100"],
                 ["--rate", "10", "--service-ms", "50", "--p99-slo", "900",
                  "--replicas", "2"]):
        try:
            code = main(["slo", *argv])
        except SystemExit as exc:  # argparse's own refusals exit from inside the parser
            code = exc.code
        assert code == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("mlsysim: error:") and err.count("\n") == 1, err

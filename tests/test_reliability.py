"""ReliabilityModel and CheckpointModel: fleet MTBF, the Young–Daly interval, goodput,
checkpoint size and write time.

Expectations are derived by hand from the sources:
- Dubey et al. 2024, "The Llama 3 Herd of Models" (arXiv 2407.21783): §3.3.4 Table 5, 419
  unexpected interruptions in a 54-day snapshot on 16,384 H100 (counts by cause: GPU 148 +
  HBM3 72 + SRAM 19 + system processor 17 + SDC 6 + thermal 6 = 268); §3.3.1, eight GPUs per
  server and Tectonic storage at 2 TB/s sustained.
- Young 1974 (CACM 17(9)): first-order waste δ/τ + (τ/2 + R)/M, minimal at τ = √(2δM).
- Daly 2006 (FGCS 22(3)): expected wall time M·e^{R/M}·(e^{(τ+δ)/M} − 1)·W/τ.
- Rajbhandari et al. 2020 (ZeRO) §3.1: mixed-precision Adam keeps 2 B weights + 12 B of fp32
  master copy, momentum and variance per parameter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim.catalog.reliability import failure_set, storage_system
from mlsysim.physics import reliability as pr
from mlsysim.render import render
from mlsysim.solvers.checkpoint import CheckpointModel
from mlsysim.solvers.reliability import ReliabilityModel

RM, CM = ReliabilityModel(), CheckpointModel()
H = 3600.0
LLAMA3_HOURS = 54 * 24  # the observed window


def test_catalog_counts_are_table5():
    fs = failure_set("Llama3_405B")
    assert sum(c.count for c in fs.causes) == 419 and fs.gpus == 16384
    gpu = sum(c.count for c in fs.causes if c.category == "GPU")
    assert gpu == 148 + 72 + 19 + 17 + 6 + 6
    # the derived rates give back 419 interruptions over 54 days on 16,384 GPUs / 2,048 servers
    assert fs.failure_rate(16384, 2048) * 54 * 86400 == pytest.approx(419)
    assert storage_system("Llama3_Tectonic").sustained_bandwidth == 2e12


def test_16000_gpus_fail_every_few_hours():
    """By hand: 419 failures / 54 days at 16,384 GPUs; every cause scales with the GPU count
    at 8 GPUs per server, so 16,000 GPUs fail 419 × 16000/16384 times in 54 days."""
    expected_h = LLAMA3_HOURS / (419 * 16000 / 16384)  # 3.17 h
    mtbf = RM.fleet_mtbf(16000).m_as("hour")
    assert mtbf == pytest.approx(expected_h, rel=1e-12)
    assert 2 < mtbf < 6
    assert RM.fleet_mtbf(16384).m_as("hour") == pytest.approx(LLAMA3_HOURS / 419)


def test_a_catalog_fleet_mtbf_by_hand():
    # 1024 GPUs (128 DGX H100): 419 × 1024/16384 = 26.19 failures in 54 days
    expected_h = LLAMA3_HOURS / (419 * 1024 / 16384)
    assert RM.fleet_mtbf(mlsysim.Systems.H100_Cluster_1024).m_as("hour") == \
        pytest.approx(expected_h)


def test_per_server_causes_follow_the_server_density():
    """Host causes (host maintenance 32, NIC 7, SSD 3, PSU 3, chassis 2, IO board 2, CPU 2,
    memory 2 = 53) are charged per server: 4 GPUs per server doubles them."""
    per_server = 32 + 7 + 3 + 3 + 2 + 2 + 2 + 2
    per_gpu = 419 - per_server
    expected = (per_gpu + 2 * per_server) / (54 * 86400)
    rate = 1 / RM.fleet_mtbf(16384, gpus_per_server=4).m_as("s")
    assert rate == pytest.approx(expected)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=5000), st.integers(min_value=1, max_value=5000))
def test_more_nodes_never_raise_fleet_mtbf(a, b):
    small, large = sorted((a, b))
    fleets = [mlsysim.Fleet("DGX_H100", n, "InfiniBand_NDR") for n in (small, large)]
    m_small, m_large = (RM.fleet_mtbf(f).m_as("hour") for f in fleets)
    assert m_large <= m_small


def test_young_daly_minimises_the_first_order_waste():
    delta, m, r = 120.0, 3 * H, 600.0
    tau = np.linspace(10.0, 3 * H, 200_001)
    waste = pr.first_order_waste(tau, delta, m, r)
    best = tau[np.argmin(waste)]
    young = pr.young_interval(delta, m)
    assert young == pytest.approx(math.sqrt(2 * 120 * 3 * 3600))
    assert abs(best - young) <= tau[1] - tau[0]


@pytest.mark.parametrize("delta, m", [(30.0, 3 * H), (120.0, 3 * H), (60.0, 24 * H),
                                      (600.0, 10 * H)])
def test_young_daly_near_the_minimum_of_the_full_waste(delta, m):
    """Daly's exact model: the scanned minimum sits where (1 − τ/M)·e^{τ/M} = e^{−δ/M}; Young's
    √(2δM) lies within 10 % of it and loses at most 0.1 % of the useful time more; Daly's
    higher-order estimate is closer still."""
    tau = np.linspace(1.0, 2.0 * math.sqrt(2 * delta * m), 400_001)
    waste = pr.full_waste(tau, delta, m, 600.0)
    best = tau[np.argmin(waste)]
    step = tau[1] - tau[0]
    x = best / m
    assert (1 - x) * math.exp(x) == pytest.approx(math.exp(-delta / m), abs=1e-5)
    assert pr.exact_optimal_interval(delta, m) == pytest.approx(best, abs=2 * step)
    young, daly = pr.young_interval(delta, m), pr.daly_interval(delta, m)
    assert abs(young / best - 1) < 0.10
    assert abs(daly - best) <= abs(young - best) + step
    w_young = float(pr.full_waste(young, delta, m, 600.0))
    assert w_young >= waste.min() - 1e-15
    assert w_young - waste.min() < 1e-3


def test_run_time_parts_sum_to_dalys_wall_time():
    w, tau, delta, m, r = 100 * H, 1.4 * H, 360.0, 10 * H, 900.0
    run = pr.run_time(w, tau, delta, m, r)
    daly = m * math.exp(r / m) * (math.exp((tau + delta) / m) - 1) * w / tau
    assert run.wall == pytest.approx(daly, rel=1e-12)
    assert run.checkpoints == pytest.approx(w / tau * delta)
    assert run.failures == pytest.approx(daly / m)
    assert run.goodput == pytest.approx(1 / (1 + float(pr.full_waste(tau, delta, m, r))))
    assert min(run.checkpoints, run.restarts, run.rework) > 0
    # first order: rework ≈ failures × (τ + δ)/2, restarts ≈ failures × R
    failed = w / tau * (math.exp((tau + delta) / m) - 1)
    assert run.rework == pytest.approx(failed * (tau + delta) / 2, rel=0.1)
    assert run.restarts == pytest.approx(failed * r, rel=0.05)


def test_without_failures_goodput_is_the_checkpoint_share():
    tau, delta = 3600.0, 36.0
    assert float(pr.goodput(tau, delta, 1e15)) == pytest.approx(tau / (tau + delta), rel=1e-9)


def test_checkpoint_size_write_time_and_overhead_by_hand():
    params = mlsysim.Models.Llama3_405B.si.params
    c = CM.solve("Llama3_405B", interval="1 h")
    size = 14 * params  # 2 B bf16 weights + 12 B fp32 master, momentum, variance
    assert c.size_bytes == pytest.approx(size)
    assert c.write_s == pytest.approx(size / 2e12)  # Tectonic, 2 TB/s sustained
    assert c.overhead_fraction == pytest.approx(c.write_s / (3600 + c.write_s))
    slow = CM.solve("Llama3_405B", storage="100 GB/s", mtbf="3 h")
    assert slow.write_s == pytest.approx(size / 100e9)
    assert slow.interval_s == pytest.approx(math.sqrt(2 * slow.write_s * 3 * 3600))
    sgd = CM.solve("GPT3", optimizer="sgd", storage="1 TB/s")
    assert sgd.size_bytes == pytest.approx(10 * mlsysim.Models.GPT3.si.params)  # 2 + 4 + 4


def test_solve_with_a_checkpoint_result():
    c = CM.solve("Llama3_405B")
    r = RM.solve(16384, "54 day", c, restart_time="10 min")
    m = LLAMA3_HOURS / 419 * H
    assert r.mtbf_s == pytest.approx(m)
    assert r.checkpoint_s == pytest.approx(c.write_s)
    assert r.interval_s == pytest.approx(math.sqrt(2 * c.write_s * m))
    assert r.expected_failures == pytest.approx(r.run.wall / m)
    assert r.run.wall == pytest.approx(
        m * math.exp(600 / m) * math.expm1((r.interval_s + c.write_s) / m) * 54 * 86400
        / r.interval_s)
    assert 0 < r.goodput < 1
    given_tau = RM.solve(16384, "54 day", "5 min", interval="2 h")
    assert given_tau.interval_s == 7200 and given_tau.interval_source == "given"
    assert given_tau.goodput < RM.solve(16384, "54 day", "5 min").goodput


def test_duration_from_a_scaling_training_time():
    from mlsysim.solvers.scaling import ScalingModel
    t = ScalingModel().training_time("Llama3_405B", 15.6e12, fleet="H100",
                                     devices=16384, mfu=0.4)
    r = RM.solve(16384, t, "1 min")
    assert r.work_s == pytest.approx(t.seconds)
    assert r.run.wall > t.seconds


def test_a_checkpoint_longer_than_the_mtbf_is_flagged():
    r = RM.solve(16384, "54 day", "30 day")
    assert not r.feasible and "MTBF" in r.constraint_trace[0]
    assert r.goodput < 1e-6 and "INFEASIBLE" in str(r)
    assert RM.solve(16384, "54 day", "2 min").feasible


def test_results_render_as_tables():
    r = RM.solve(mlsysim.Systems.H100_Cluster_1024, "30 day", "2 min")
    html = r._repr_html_()
    assert html.count("<table") == 4 and "Young" in html  # the summary and three tables
    assert "Goodput" in str(r) and "| " in render(r, "markdown")
    d = r.to_dict()
    assert d["gpus"] == 1024 and 0 < d["goodput"] < 1
    c = CM.solve("Llama3_70B", interval="30 min")
    assert "<table" in c._repr_html_() and c.to_dict()["size"]["unit"] == "B"


@pytest.mark.parametrize("call, match", [
    (lambda: pr.mtbf(0.0), "failure_rate"),
    (lambda: pr.young_interval(60.0, 0.0), "mtbf"),
    (lambda: pr.expected_failures(3600.0, 0.0), "mtbf"),
    (lambda: pr.expected_failures(-1.0, 3600.0), "duration"),
    (lambda: pr.full_waste(600.0, 60.0, float("inf")), "mtbf"),
    (lambda: CM.solve("Llama3_70B", mtbf="0 h"), "mtbf"),
    (lambda: RM.solve(1024, "-3 day", "2 min"), "duration"),
    (lambda: RM.solve(1024, "30 day", "-2 min"), "checkpoint_time"),
    (lambda: RM.solve(1024, "30 day", "0 s"), "checkpoint_time"),
    (lambda: RM.solve(1024, "30 day", "2 min", restart_time="-1 min"), "restart_time"),
    (lambda: RM.solve(1024, "30 day", "2 min", interval="-1 h"), "interval"),
    (lambda: RM.solve(1024, 30, "2 min"), "duration"),
    (lambda: RM.solve(0, "30 day", "2 min"), "fleet"),
    (lambda: RM.fleet_mtbf(1024, failures="Llama3"), "Llama3_405B"),
    (lambda: CM.solve("Llama3_70B", storage="Tectonik"), "Llama3_Tectonic"),
    (lambda: CM.solve("Llama3_70B", storage="-2 TB/s"), "storage"),
    (lambda: CM.solve("Llama3_70B", precision="int4"), "precision"),
    (lambda: CM.solve("Llama3_70B", interval="1 h", mtbf="3 h"), "not both"),
    (lambda: RM.solve(16384, "54 day", "1 min", restart_time="3000 day"), "never finish"),
    (lambda: RM.solve(16384, "54 day", None), "checkpoint_time"),
])
def test_bad_input_is_one_line(call, match):
    with pytest.raises(ValueError, match=match) as exc:
        call()
    assert "\n" not in str(exc.value)

"""ScalingModel: training compute, compute-optimal allocation, fleet budgets, training time.

Expectations are derived by hand from the papers:
- Brown et al. 2020 (GPT-3, arXiv 2005.14165), Table D.1: GPT-3 175B used 3.14e23 training
  FLOPs (3,640 PF-days) for 300B tokens; 6 × 175e9 × 300e9 = 3.15e23.
- Hoffmann et al. 2022 (arXiv 2203.15556): Table 1, Chinchilla 70B on 1.4T tokens (D/N = 20);
  Table 3 (Approach 1) rows: 1B params → 1.21e20 FLOPs and 20.2B tokens, 10B → 1.23e22 and
  205.1B, 175B → 3.85e24 and 3.7T; §3.3 printed fit E = 1.69, A = 406.4, B = 410.7,
  α = 0.34, β = 0.28.
- Narayanan et al. 2021 (Megatron-LM, SC21, arXiv 2104.04473) §5.1, Eq. 4: end-to-end training
  time ≈ 8·T·P / (n·X); GPT-3 (P = 175B, T = 300B) on n = 1024 A100 at X = 140 TFLOP/s per GPU
  takes about 34 days.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim.physics import scaling as ps
from mlsysim.render import render
from mlsysim.solvers.distributed import DistributedModel
from mlsysim.solvers.scaling import ScalingModel

SM = ScalingModel()
DAY = 86400.0


def test_gpt3_training_compute_matches_brown_table_d1():
    c = SM.training_flops(175e9, 300e9).m_as("flop")
    assert c == pytest.approx(6 * 175e9 * 300e9)
    assert abs(c / 3.14e23 - 1) < 0.02
    # the catalog model (175 Gparam, Table 2.1) gives the same
    assert SM.training_flops("GPT3", "300e9 token").m_as("flop") == pytest.approx(c)


def test_chinchilla_ratio_is_20_at_the_optimum():
    # Chinchilla's budget: 6 × 70e9 × 1.4e12 = 5.88e23 FLOP → N* = √(5.88e23/120) = 7e10
    r = SM.compute_optimal(6 * 70e9 * 1.4e12)
    assert r.params.m_as("param") == pytest.approx(70e9, rel=1e-12)
    assert r.tokens.m_as("token") == pytest.approx(1.4e12, rel=1e-12)
    assert r.tokens_opt / r.params_opt == pytest.approx(20.0, rel=1e-12)


@pytest.mark.parametrize("params, tokens, flops", [(1e9, 20.2e9, 1.21e20),
                                                     (10e9, 205.1e9, 1.23e22),
                                                     (175e9, 3.7e12, 3.85e24)])
def test_hoffmann_table3_rows(params, tokens, flops):
    """C = 6·N·D reproduces Table 3's FLOPs within the rounding of its token column, and the
    20-tokens optimum of that budget lands within 5 % of the row's model size."""
    assert SM.training_flops(params, tokens).m_as("flop") == pytest.approx(flops, rel=0.02)
    assert SM.compute_optimal(flops).params_opt == pytest.approx(params, rel=0.05)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=1e15, max_value=1e30), st.floats(min_value=1.0, max_value=200.0))
def test_round_trip_budget_allocation_budget(budget, ratio):
    r = SM.compute_optimal(budget, tokens_per_param=ratio)
    assert 6 * r.params_opt * r.tokens_opt == pytest.approx(budget, rel=1e-12)
    assert r.tokens_opt / r.params_opt == pytest.approx(ratio, rel=1e-12)
    back = SM.training_flops(r.params, r.tokens).m_as("flop")
    assert back == pytest.approx(budget, rel=1e-12)


def test_budget_from_a_fleet_by_hand():
    fleet = mlsysim.Systems.H100_Cluster_1024  # 128 × DGX H100: 1024 GPUs
    peak = 989.4e12  # H100 SXM dense BF16 (NVIDIA datasheet, 1979 TFLOP/s sparse / 2)
    expected = 1024 * peak * 0.4 * 30 * DAY
    assert SM.fleet_budget(fleet, "30 day", 0.4).m_as("flop") == pytest.approx(expected)
    r = SM.solve(fleet=fleet, duration="30 day", mfu=0.4)
    assert r.budget_flops == pytest.approx(expected)
    assert r.params_opt == pytest.approx(math.sqrt(expected / 120))
    # a device times a count is the same fleet's budget
    same = SM.fleet_budget(mlsysim.Hardware.H100, "30 day", 0.4, devices=1024)
    assert same.m_as("flop") == pytest.approx(expected)


def test_megatron_training_time_formula_reproduced_exactly():
    """8·T·P/(n·X) with X = MFU × peak: 8 × 300e9 × 175e9 / (1024 × 140e12) s ≈ 34 days."""
    expected = 8 * 300e9 * 175e9 / (1024 * 140e12)
    t = SM.training_time(175e9, 300e9, fleet="A100", devices=1024, mfu=140e12 / 312e12,
                         precision="fp16", flops_per_param_token=8)
    assert t.seconds == pytest.approx(expected, rel=1e-12)
    assert 33 < t.days < 35


def _megatron_examples():
    from mlsysim.catalog.loader import CATALOG_DIR, read_yaml
    return read_yaml(CATALOG_DIR / "validation_training.yaml")["training_time_examples"]


@pytest.mark.parametrize("name", sorted(_megatron_examples()))
def test_megatron_worked_examples_from_the_catalog(name):
    """Every worked example of SC21 §5.1 (catalog/validation_training.yaml): k = 8 and
    X = MFU × 312 TFLOP/s (A100 dense FP16) give 8·T·P/(n·X) exactly, and the paper's days."""
    ex = _megatron_examples()[name]
    x = ex["inputs"]
    t = SM.training_time(x["parameters"], x["tokens"], fleet="A100", devices=x["gpus"],
                         mfu=x["tflops_per_gpu"] / 312, precision="fp16",
                         flops_per_param_token=8)
    expected = 8 * x["tokens"] * x["parameters"] / (x["gpus"] * x["tflops_per_gpu"] * 1e12)
    assert t.seconds == pytest.approx(expected, rel=1e-12)
    assert abs(t.days - ex["stated"]["days"]) < 0.5


def test_time_to_train_round_trips_the_fleet_budget():
    fleet = mlsysim.Fleet("DGX_B200", 64, "InfiniBand_NDR")
    r = SM.solve(fleet=fleet, duration="45 day", mfu=0.35)
    t = SM.training_time(r.params, r.tokens, fleet=fleet, mfu=0.35)
    assert t.days == pytest.approx(45.0, rel=1e-12)


def test_mfu_from_the_distributed_model():
    """The one cost model's MFU drives the time: 6·N·D / (devices · peak · its MFU)."""
    d = DistributedModel().solve("Llama3_8B", mlsysim.Fleet("DGX_H100", 4, "InfiniBand_NDR"),
                                 batch_size=64, seq_len=4096, tp_size=1, pp_size=1,
                                 zero_stage=1, activation_recomputation="full")
    assert d.feasible and 0 < d.mfu <= 1
    t = SM.training_time(8e9, 1e12, mfu=d)
    assert t.seconds == pytest.approx(6 * 8e9 * 1e12 / (32 * 989.4e12 * d.mfu))
    assert "DistributedModel" in t.fleet.mfu_source
    infeasible = DistributedModel().solve("Llama3_70B", mlsysim.Fleet("DGX_H100", 1,
                                                                      "InfiniBand_NDR"),
                                          batch_size=8, seq_len=4096, tp_size=1, pp_size=1)
    with pytest.raises(ValueError, match=r"mfu: .*does not fit"):
        SM.training_time(8e9, 1e12, mfu=infeasible)


def test_more_compute_never_means_a_smaller_optimal_model():
    budgets = [10 ** e for e in range(18, 28)]
    sizes = [SM.compute_optimal(c).params_opt for c in budgets]
    assert sizes == sorted(sizes)


def test_chinchilla_printed_fit_at_chinchilla():
    expected = 1.69 + 406.4 / 70e9 ** 0.34 + 410.7 / 1.4e12 ** 0.28
    assert ps.chinchilla_loss(70e9, 1.4e12) == pytest.approx(expected)
    assert SM.compute_optimal(6 * 70e9 * 1.4e12).loss_fit == pytest.approx(expected)


def test_the_printed_fit_does_not_sit_at_20_tokens_per_parameter():
    """Why the optimum uses D/N = 20 and not the printed §3.3 fit: minimised along
    6·N·D = C at Chinchilla's budget, that fit lands near 32B parameters at D/N ≈ 90."""
    c = 6 * 70e9 * 1.4e12
    n = np.logspace(9, 12, 100_001)
    loss = [ps.chinchilla_loss(x, c / (6 * x)) for x in n]
    best = n[int(np.argmin(loss))]
    assert 25e9 < best < 40e9 and c / (6 * best) / best > 60


def test_results_render_as_tables():
    r = SM.solve(fleet=mlsysim.Systems.H100_Cluster_1024, duration="30 day", mfu=0.4)
    html = r._repr_html_()
    assert html.count("<table") >= 2 and "Parameters N*" in html
    assert "Tokens D*" in str(r) and "| " in render(r, "markdown")
    d = r.to_dict()
    assert d["budget"]["unit"] in ("FLOP", "flop") and d["fleet"]["devices"] == 1024
    t = SM.training_time(175e9, 300e9, fleet="H100_Cluster_1024", mfu=0.4)
    assert "<table" in t._repr_html_() and t.to_dict()["time"]["unit"] in ("d", "day")


@pytest.mark.parametrize("call, match", [
    (lambda: SM.compute_optimal(-1e23), "budget"),
    (lambda: SM.compute_optimal(0), "budget"),
    (lambda: SM.compute_optimal(float("nan")), "budget"),
    (lambda: SM.compute_optimal("5 GB"), "budget"),
    (lambda: SM.compute_optimal(1e23, tokens_per_param=0), "tokens_per_param"),
    (lambda: SM.solve(fleet="H100_Cluster_1024", duration="-3 day", mfu=0.4), "duration"),
    (lambda: SM.solve(fleet="H100_Cluster_1024", duration=30, mfu=0.4), "duration"),
    (lambda: SM.solve(fleet="H100_Cluster_1024", duration="30 day", mfu=0), "mfu"),
    (lambda: SM.solve(fleet="H100_Cluster_1024", duration="30 day", mfu=1.5), "mfu"),
    (lambda: SM.solve(fleet="H100_Cluster_1024", duration="30 day"), "mfu"),
    (lambda: SM.solve(1e23, fleet="H100_Cluster_1024", duration="30 day"), "either"),
    (lambda: SM.training_time(-175e9, 300e9, fleet="H100", mfu=0.4), "params"),
    (lambda: SM.training_time(175e9, "-1 token", fleet="H100", mfu=0.4), "tokens"),
    (lambda: SM.training_time(175e9, 300e9, fleet="H100_Cluster_1024", mfu=0.4,
                              devices=8), "devices"),
    (lambda: SM.training_time(175e9, 300e9, fleet="H100", mfu=0.4, precision="int3"),
     "precision"),
    (lambda: SM.training_time(1e300, 1e300, fleet="H100", mfu=0.4), "overflows"),
    (lambda: SM.training_flops(1e300, 1e300), "overflows"),
    (lambda: SM.compute_optimal(True), "budget"),
    (lambda: SM.solve(fleet="H100_Clustr_1024", duration="30 day", mfu=0.4),
     "H100_Cluster_1024"),
])
def test_bad_input_is_one_line(call, match):
    with pytest.raises(ValueError, match=match) as exc:
        call()
    assert "\n" not in str(exc.value)


def test_training_time_of_the_solved_run_equals_its_time_to_train():
    """Given the DistributedResult of the same model, ScalingModel uses that run's own model
    FLOPs per token (6N plus attention), so both solvers give one number; the string
    '15 Ttoken' is 15e12 tokens in both (time_to_train once read its magnitude, 15)."""
    import mlsysim

    run = mlsysim.DistributedModel().solve(
        mlsysim.Models.Llama3_70B, mlsysim.Systems.H100_Cluster_1024, batch_size=1024,
        seq_len=4096, tp_size=8, pp_size=4, zero_stage=1, activation_recomputation="selective")
    by_hand = 15e12 / (1024 * 4096 / run.step_s)  # tokens / (tokens per step / step)
    assert run.time_to_train("15 Ttoken").to("s").magnitude == pytest.approx(by_hand, rel=1e-12)
    assert run.time_to_train(15e12).to("s").magnitude == pytest.approx(by_hand, rel=1e-12)
    same = mlsysim.ScalingModel().training_time(mlsysim.Models.Llama3_70B, "15 Ttoken", mfu=run)
    assert same.seconds == pytest.approx(by_hand, rel=1e-9)
    # another model at the same MFU: 6·N·D (no attention term of its own to borrow)
    other = mlsysim.ScalingModel().training_time(mlsysim.Models.Llama3_8B, 15e12, mfu=run)
    n8 = float(mlsysim.Models.Llama3_8B.parameters.to("param").magnitude)
    assert other.seconds == pytest.approx(6 * n8 * 15e12 / (run.devices * run.peak_flops
                                                              * run.mfu), rel=1e-9)

"""Published-number tests: the engine against measurements with sources (DESIGN.md §8, layer 3).

The cases, their citations and reasons live in ``mlsysim/catalog/validation.yaml``; the
predictions are computed here by the engine. The acceptance of issue 7: at least 40 cases over at
least 6 device types, median |error| ≤ 20 %, no measurement beyond its physical bound, and no
category's median getting more than 5 points worse than the reviewed baseline. Issue 11 adds the
training runs of ``catalog/validation_training.yaml`` (graded through DistributedModel; see
tests/test_published_training.py); issue 12 the energy and emissions cases of
``catalog/validation_energy.yaml`` (graded through SustainabilityModel; see
tests/test_published_energy.py)."""

from pathlib import Path

import pytest
import yaml

import mlsysim
from mlsysim.validation import (
    CATEGORIES,
    SERVING_METRICS,
    load_cases,
    run_cases,
    serving_steps,
    serving_target,
    summary,
)

CASES = run_cases()
BY_ID = {c.case_id: c for c in CASES}
SUMMARY = summary(CASES)
BASELINE = yaml.safe_load((Path(__file__).parent / "data" / "validation_baseline.yaml")
                          .read_text(encoding="utf-8"))


def test_the_set_is_broad():
    assert len(CASES) >= 40
    assert SUMMARY["all"]["devices"] >= 6
    assert set(CATEGORIES) <= {c.category for c in CASES}


def test_median_error_is_within_twenty_percent():
    assert SUMMARY["all"]["median_error"] <= 0.20, SUMMARY["all"]


@pytest.mark.parametrize("case_id", sorted(BY_ID))
def test_no_measurement_beats_its_physical_bound(case_id):
    """The same scenario with every efficiency at 1 and no launch cost is a bound no real run
    may beat (within 3 % for rounding); beating it means the model or the catalog is wrong."""
    c = BY_ID[case_id]
    assert c.bound_side in ("within", "n/a"), (
        f"{case_id}: measured {c.measured:.4g} {c.unit} beats the bound {c.bound:.4g}")


@pytest.mark.parametrize("category", sorted(BASELINE))
def test_no_category_got_worse(category):
    now = SUMMARY[category]["median_error"]
    assert now <= BASELINE[category] + 0.05, (
        f"{category}: median |error| {now:.1%} against the reviewed {BASELINE[category]:.1%}")


def test_every_case_cites_a_section_stack_and_reason():
    for case_id, case in load_cases().items():
        assert case["section"] and case.get("stack") and len(case["reason"]) > 20, case_id


def test_predictions_are_finite_and_positive():
    for c in CASES:
        assert c.predicted > 0 and c.predicted == c.predicted and c.predicted != float("inf")


def test_gpt3_total_training_compute():
    """Brown et al. 2020 (arXiv 2005.14165), Table D.1: 3.14e23 FLOP for 300B tokens.

    A training step is 3 × the forward (6·P per token plus attention); C ≈ 6·N·D lands
    within 2 %."""
    assert BY_ID["train-gpt3-total-flops"].error < 0.02


def test_megatron_training_time_identity():
    """Narayanan et al. SC'21 (arXiv 2104.04473) §5.1: time ≈ 8·T·P/(n·X) ≈ 34 days for GPT-3
    on 1024 A100s at 140 TFLOP/s each, 300B tokens (8 = 4 passes with recomputation × 2)."""
    P = mlsysim.Models.GPT3.parameters.to("param").magnitude
    days = 8 * 300e9 * P / (1024 * 140e12) / 86400
    assert days == pytest.approx(34, rel=0.02)
    r = mlsysim.Engine.solve(mlsysim.Models.GPT3, mlsysim.Hardware.A100, is_training=True,
                             recompute=True, seq_len=2048)
    per_token = r.total_flops.to("flop").magnitude / 2048
    assert per_token == pytest.approx(8 * P, rel=0.03)  # 4 passes × 2 FLOP/param (+attention)


# -- serving cases (issue 10): the serving solver against TTFT, ITL, end-to-end and throughput
SERVING = [c for c in CASES if c.metric in SERVING_METRICS]


def test_serving_cases_cover_every_serving_metric_on_three_device_types():
    assert len(SERVING) >= 8
    assert {c.metric for c in SERVING} == set(SERVING_METRICS)
    devices = {mlsysim.Systems.get(c.scenario["system"]).accelerator.key if "system" in c.scenario
               else c.scenario["hardware"] for c in SERVING}
    assert len(devices) >= 3, devices


@pytest.mark.parametrize("case_id", sorted(c.case_id for c in SERVING))
def test_a_serving_bound_is_the_solvers_own_steps(case_id):
    """The bound of a serving case composes engine steps the way the serving solver does; with
    the calibrated efficiencies the same composition reproduces the solver's numbers, so the
    bound is the same scenario with every efficiency at 1."""
    c = BY_ID[case_id]
    s = c.scenario
    ttft, first, last, batch_prefill = serving_steps(s)
    r = mlsysim.ServingModel().solve(s["model"], serving_target(s), seq_len=s["input_len"],
                                     batch_size=s["batch_size"], precision=s["precision"],
                                     output_len=s["output_len"],
                                     kv_precision=s.get("kv_precision"), prefill=s["prefill"])
    assert r.ttft_s == pytest.approx(ttft, rel=1e-9)
    assert (r.itl_s, r.itl_last_s) == pytest.approx((first, last), rel=1e-9)
    assert r.e2e_s == pytest.approx(batch_prefill + (s["output_len"] - 1) * (first + last) / 2,
                                     rel=1e-9)
    assert c.bound_side == "within"


def test_a_node_cut_to_tp_gpus_serves_like_tensor_parallelism():
    """A case on ``system`` with ``tp`` runs the serving solver on the node cut to tp GPUs: its
    decode step is the tensor-parallel engine's at that tp."""
    s = BY_ID["itl-nim-h100-tp2-llama33-70b-5000-500"].scenario
    r = mlsysim.ServingModel().solve(s["model"], serving_target(s), seq_len=5000, batch_size=1,
                                     precision="fp8", output_len=500)
    tp = mlsysim.TensorParallelModel().solve(s["model"], "DGX_H100", tp=2, seq_len=5000,
                                             precision="fp8", phase="decode")
    assert r.itl_s == pytest.approx(tp.latency_s, rel=1e-12)
    assert r.hardware.startswith("2 ×")

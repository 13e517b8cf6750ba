"""Published-number tests: the engine against measurements with sources and stated bands.

The cases, their citations, bands and reasons live in ``mlsysim/catalog/validation.yaml`` (one
record each); the predictions are computed here by the engine."""

import pytest

import mlsysim
from mlsysim.validation import load_cases, run_cases

CASES = {c.case_id: c for c in run_cases()}


@pytest.mark.parametrize("case_id", sorted(load_cases()))
def test_case_within_its_band(case_id):
    c = CASES[case_id]
    assert c.within_band, (f"{case_id}: measured/predicted = {c.ratio:.2f} outside {c.band} "
                           f"({c.source}, {c.section})")


@pytest.mark.parametrize("case_id", sorted(load_cases()))
def test_roofline_is_an_optimistic_bound(case_id):
    """Real software never beats the bound by more than the 10 % its inputs allow."""
    c = CASES[case_id]
    if c.metric == "decode_tokens_per_s":
        assert c.measured <= 1.1 * c.predicted
    else:
        assert c.measured >= 0.9 * c.predicted


def test_every_case_cites_a_section_and_reason():
    for case_id, case in load_cases().items():
        assert case["section"] and len(case["reason"]) > 20, case_id


def test_gpt3_total_training_compute():
    """Brown et al. 2020 (arXiv 2005.14165), Table D.1: 3.14e23 FLOP for 300B tokens.

    Our training step is 3 × forward (6·P per token plus attention); the identity C ≈ 6·N·D
    should land within 2 %."""
    gpt3 = mlsysim.Models.GPT3
    r = mlsysim.Engine.solve(gpt3, mlsysim.Hardware.H100, is_training=True, seq_len=2048,
                             batch_size=1)
    per_token = r.total_flops.to("flop").magnitude / 2048
    assert per_token * 300e9 == pytest.approx(3.14e23, rel=0.02)


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

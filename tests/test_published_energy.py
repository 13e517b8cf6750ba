"""Published training energy and emissions graded in the validation set (issue 12).

The cases are ``catalog/validation_energy.yaml``'s; ``mlsysim.validation`` grades them as the
category ``energy`` with the rest of the set (tests/test_published.py holds the category to its
baseline). Here: each prediction is the paper's own accounting written out by hand —
device-hours × power per device × PUE (× carbon intensity) with the paper's inputs (Patterson et
al. 2021 Table 4; Luccioni et al. 2023 §4; the Llama 2 and Llama 3 model cards' Carbon Footprint
tables) — every case is within the data's tolerance, the validation set's numbers are
``grade_energy_cases``'s (one solve, no second formula), and malformed data fails in one line."""

from __future__ import annotations

import statistics

import pytest

from mlsysim import validation_energy as ve
from mlsysim.solvers.sustainability import ENERGY_METRICS, grade_energy_cases
from mlsysim.validation import METRICS, load_cases, run_cases, summary

CASES = run_cases()
ENERGY = {c.case_id: c for c in CASES if c.category == "energy"}
STAGED = ve._raw()

# -- the papers' arithmetic, by hand ------------------------------------------------------------
GPT3_KWH = 10_000 * 14.8 * 24 * 330 * 1.10 / 1e3  # processors × days × 24 h × 330 W × PUE 1.10
BLOOM_KWH = 1_082_990 * 0.400  # GPU-hours × 400 W TDP, dynamic only (no PUE, no idle, no host)
LLAMA2_G_PER_KWH = 423.50  # 539.00 t / (2,273,280 GPU-h × 0.4 kW + 1,038,336 GPU-h × 0.35 kW)
LLAMA3_G_PER_KWH = 424.86  # 2,290 t / (7.7M GPU-h × 0.7 kW)

#: case → (the paper's formula evaluated here, the published figure), kWh or t CO2e
HAND = {
    "energy-gpt3-patterson2021": (GPT3_KWH, 1287e3),
    "emissions-gpt3-patterson2021": (GPT3_KWH * 0.429 / 1e3, 552.1),
    "energy-bloom-luccioni2023": (BLOOM_KWH, 433_196),
    "emissions-bloom-luccioni2023": (BLOOM_KWH * 57 / 1e6, 24.7),
    # the catalog's France grid (Ember, 2023 data): 56 g/kWh
    "emissions-bloom-luccioni2023-catalog-grid": (BLOOM_KWH * 56 / 1e6, 24.7),
    "emissions-llama2-7b-model-card": (184_320 * 0.4 * LLAMA2_G_PER_KWH / 1e6, 31.22),
    "emissions-llama2-13b-model-card": (368_640 * 0.4 * LLAMA2_G_PER_KWH / 1e6, 62.44),
    "emissions-llama2-70b-model-card": (1_720_320 * 0.4 * LLAMA2_G_PER_KWH / 1e6, 291.42),
    "emissions-llama3-8b-model-card": (1.3e6 * 0.7 * LLAMA3_G_PER_KWH / 1e6, 390),
    "emissions-llama3-70b-model-card": (6.4e6 * 0.7 * LLAMA3_G_PER_KWH / 1e6, 1900),
}


def test_every_staged_case_is_in_the_graded_set():
    assert set(ENERGY) == set(STAGED) == set(HAND)
    assert len(ENERGY) == 10
    assert set(ENERGY) <= set(load_cases())
    assert {c.metric for c in ENERGY.values()} == {"energy", "emissions"}


def test_hand_figures_are_the_published_ones_to_their_rounding():
    # GPT-3: 10,000 × 14.8 × 24 × 0.33 × 1.1 = 1,289,376 kWh, Table 4 prints 1,287 MWh
    assert round(GPT3_KWH, 6) == 1_289_376
    assert round(GPT3_KWH * 0.429 / 1e3, 2) == 553.14
    # BLOOM: 1,082,990 × 0.4 = 433,196 kWh exactly; × 57 g = 24.69 t (published 24.7)
    assert round(BLOOM_KWH, 6) == 433_196
    assert round(BLOOM_KWH * 57 / 1e6, 1) == 24.7


@pytest.mark.parametrize("case_id", sorted(HAND))
def test_the_prediction_is_the_papers_formula(case_id):
    hand, published = HAND[case_id]
    c = ENERGY[case_id]
    assert c.predicted == pytest.approx(hand, rel=1e-6)
    assert c.measured == pytest.approx(published, rel=1e-12)
    assert c.error == pytest.approx(abs(published / hand - 1), rel=1e-4, abs=1e-9)
    assert c.unit == ("kWh" if c.metric == "energy" else "t")


@pytest.mark.parametrize("case_id", sorted(HAND))
def test_every_case_is_within_the_datas_tolerance(case_id):
    c = ENERGY[case_id]
    assert c.tolerance == STAGED[case_id]["tolerance"]
    assert c.within_tolerance is True, (case_id, c.error, c.tolerance)


def test_the_validation_set_grades_what_grade_energy_cases_grades():
    """One solve: the validation set's prediction is grade_energy_cases' for every case."""
    rows = {r["case"]: r for r in grade_energy_cases()}
    assert set(rows) == set(ENERGY)
    for case_id, c in ENERGY.items():
        assert c.predicted == pytest.approx(rows[case_id]["predicted"], rel=1e-12)
        assert c.measured == pytest.approx(rows[case_id]["measured"], rel=1e-12)
        assert c.unit == rows[case_id]["unit"]


def test_metric_units_agree_with_the_solver():
    for metric, (_, unit) in ENERGY_METRICS.items():
        assert METRICS[metric][0] == unit


def test_identities_have_no_bound_and_state_the_papers_accounting():
    for case_id, c in ENERGY.items():
        assert c.bound is None and c.bound_side == "n/a"
        assert c.stack == "paper's accounting: " + STAGED[case_id]["formula"]
        assert c.predicted_as == ""  # not a training-at-scale case


def test_category_median_is_the_median_of_the_hand_errors():
    errors = [abs(pub / hand - 1) for hand, pub in HAND.values()]
    energy = summary(CASES)["energy"]
    assert energy["cases"] == 10
    assert energy["median_error"] == pytest.approx(statistics.median(errors), rel=1e-4)
    # the only case beyond a percent is BLOOM on the catalog's grid: 57 vs 56 g/kWh
    assert energy["worst_case"] == "emissions-bloom-luccioni2023-catalog-grid"
    assert energy["worst_error"] == pytest.approx(24.7 / (BLOOM_KWH * 56 / 1e6) - 1, rel=1e-6)


def test_optimism_means_predicting_less_energy():
    gpt3 = ENERGY["energy-gpt3-patterson2021"]  # 1,289.4 MWh predicted for 1,287 published
    assert gpt3.predicted > gpt3.measured and not gpt3.optimistic
    grid = ENERGY["emissions-bloom-luccioni2023-catalog-grid"]  # 24.26 t for 24.7 t
    assert grid.predicted < grid.measured and grid.optimistic


# -- malformed data: one line naming the field ---------------------------------------------------
def _with(monkeypatch, case_id, **changes):
    case = {**STAGED[case_id], **changes}
    case = {k: v for k, v in case.items() if v is not None}
    monkeypatch.setattr(ve, "_raw", lambda: {case_id: case})


def test_a_missing_field_is_refused(monkeypatch):
    _with(monkeypatch, "energy-gpt3-patterson2021", formula=None)
    with pytest.raises(ValueError, match=r"energy-gpt3-patterson2021: missing formula$"):
        ve.load_energy_cases()


def test_an_ungraded_metric_is_refused(monkeypatch):
    _with(monkeypatch, "energy-gpt3-patterson2021", metric="water")
    with pytest.raises(ValueError, match="metric 'water' is not graded; allowed: energy, "
                                         "emissions"):
        ve.load_energy_cases()


@pytest.mark.parametrize("tolerance", [0, -0.1, 1.5, "1%", True])
def test_a_bad_tolerance_is_refused(monkeypatch, tolerance):
    _with(monkeypatch, "energy-gpt3-patterson2021", tolerance=tolerance)
    with pytest.raises(ValueError, match=r"tolerance must be a fraction in \(0, 1\)"):
        ve.load_energy_cases()


def test_an_energy_case_with_another_metric_is_refused(monkeypatch):
    _with(monkeypatch, "energy-gpt3-patterson2021")
    real = ve.load_energy_cases
    monkeypatch.setattr(ve, "load_energy_cases", lambda: {
        k: {**v, "metric": "latency_ms"} for k, v in real().items()})
    with pytest.raises(ValueError, match="category energy grades energy or emissions, not "
                                         "'latency_ms'"):
        run_cases()


def test_an_id_in_two_files_is_refused(monkeypatch):
    taken = next(iter(load_cases()))  # a case of validation.yaml
    monkeypatch.setattr(ve, "_raw", lambda: {taken: STAGED["energy-gpt3-patterson2021"]})
    with pytest.raises(ValueError, match=f"validation case {taken} is in "
                                         "validation_energy.yaml and another"):
        load_cases()

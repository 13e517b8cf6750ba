"""SustainabilityModel: energy, emissions and water of a job (issue 12, item 3).

Expected values are worked out here by hand from the stated formulas (power × time × PUE ×
intensity) and from the published tables (Patterson et al. 2021 Table 4; Luccioni et al. 2023;
the Llama 2 and Llama 3 model cards), never printed by the code under test."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim.catalog.loader import CATALOG_DIR, read_yaml, sources
from mlsysim.errors import UnknownNameError
from mlsysim.physics import sustainability as phys
from mlsysim.solvers.sustainability import SustainabilityModel, grade_energy_cases

M = SustainabilityModel()
J_PER_KWH = 3.6e6


# -- physics by hand ---------------------------------------------------------------------------
def test_linear_power_model():
    # 700 W TDP, idle 10 % = 70 W; at u = 0.5: 70 + 630 * 0.5 = 385 W
    assert phys.device_power(700.0, 0.5, 0.1) == pytest.approx(385.0)
    assert phys.device_power(700.0, 1.0, 0.1) == pytest.approx(700.0)
    assert phys.device_power(700.0, 0.0, 0.1) == pytest.approx(70.0)


def test_water_is_charged_on_it_energy_not_facility_energy():
    # The Green Grid: WUE = site water / IT energy. 10 kWh of IT energy at 1.8 L/kWh = 18 L
    assert phys.water_use(10 * J_PER_KWH, 1.8) == pytest.approx(18.0)


def test_gpt3_by_patterson_formula():
    # Table 4: 10,000 V100 x 14.8 days x 24 h x 330 W x PUE 1.10 = 1,289.4 MWh (paper: 1,287)
    r = M.solve("V100", "14.8 day", devices=10000, device_power="330 W", host_power="0 W",
                pue=1.10, carbon_intensity="429 g/kWh")
    hand_mwh = 10000 * 14.8 * 24 * 330 * 1.10 / 1e6
    assert r.energy.to("MWh").magnitude == pytest.approx(hand_mwh, rel=1e-12)
    assert r.energy.to("MWh").magnitude == pytest.approx(1287, rel=0.005)
    assert r.emissions.to("t").magnitude == pytest.approx(hand_mwh * 0.429, rel=1e-12)
    assert r.emissions.to("t").magnitude == pytest.approx(552.1, rel=0.005)


# -- published cases ---------------------------------------------------------------------------
CASES = read_yaml(CATALOG_DIR / "validation_energy.yaml")


def test_energy_cases_schema_and_sources():
    keys = {"category", "scenario", "metric", "measured", "formula", "tolerance", "source",
            "section", "reason"}
    assert len(CASES) >= 8
    for case_id, case in CASES.items():
        assert set(case) == keys, case_id
        assert case["category"] == "energy"
        assert case["source"] in sources(), case_id
        assert 0 < case["tolerance"] <= 0.05


@pytest.mark.parametrize("row", grade_energy_cases(), ids=lambda r: r["case"])
def test_published_energy_cases_reproduced_within_tolerance(row):
    assert row["within"], row


def test_llama2_effective_intensity_follows_from_the_total_row():
    # Model card total 539.00 t over 3,311,616 GPU-h: 7B+13B+70B at 400 W, the 34B (the
    # remainder, 1,038,336 GPU-h) at 350 W (paper, Table 2)
    rest = 3_311_616 - (184_320 + 368_640 + 1_720_320)
    assert rest == 1_038_336
    kwh = (184_320 + 368_640 + 1_720_320) * 0.4 + rest * 0.35
    g_per_kwh = 539.00e6 / kwh
    assert g_per_kwh == pytest.approx(423.50, abs=0.005)
    # each row by hand: 7B 184,320 h x 0.4 kW x 0.4235 kg/kWh = 31.22 t
    assert 184_320 * 0.4 * g_per_kwh / 1e6 == pytest.approx(31.22, abs=0.005)


def test_llama3_effective_intensity_follows_from_the_total_row():
    g_per_kwh = 2290e6 / (7.7e6 * 0.7)
    assert g_per_kwh == pytest.approx(424.86, abs=0.005)


def test_bloom_dynamic_energy_is_gpu_hours_times_tdp():
    r = M.solve(**CASES["energy-bloom-luccioni2023"]["scenario"])
    assert r.it_energy.to("kWh").magnitude == pytest.approx(1_082_990 * 0.4, rel=1e-6)


# -- the region used is the region passed ----------------------------------------------------
def test_two_regions_emit_in_proportion_to_their_intensities():
    fr = M.solve("DGX_H100", "10 day", region="France")
    de = M.solve("DGX_H100", "10 day", region="Germany")
    assert fr.region == "France" and de.region == "Germany"
    assert fr.energy == de.energy  # both at the industry-average PUE 1.58
    assert de.emissions / fr.emissions == pytest.approx(381 / 56, rel=1e-12)


def test_region_spec_and_name_agree():
    g = mlsysim.Infra.get("Norway")
    assert M.solve("H100", "1 day", region=g).emissions == \
        M.solve("H100", "1 day", region="norway").emissions


def test_unknown_region_suggests():
    with pytest.raises(UnknownNameError, match="did you mean 'France'"):
        M.solve("H100", "1 day", region="Frnace")


# -- jobs from the training solver ----------------------------------------------------------
@pytest.fixture(scope="module")
def training():
    from mlsysim.solvers.distributed import DistributedModel
    return DistributedModel().solve("Llama3_8B", "H100_Cluster_1024", batch_size=1024,
                                    seq_len=4096, zero_stage=1,
                                    activation_recomputation="full")


def test_duration_comes_from_time_to_train(training):
    tokens = 15e12
    r = M.solve(training=training, tokens=tokens, region="US_Average")
    days = training.time_to_train(tokens).to("day").magnitude
    assert r.duration.to("day").magnitude == pytest.approx(days, rel=1e-12)
    assert r.system == "H100_Cluster_1024" and r.devices == 1024 and r.nodes == 128
    # hand: (1024 x 700 W + 128 x 4.6 kW host) x t x 1.58 x 823.1 lb/MWh
    it_w = 1024 * 700 + 128 * 4600
    seconds = days * 86400
    assert r.energy.to("kWh").magnitude == pytest.approx(it_w * seconds * 1.58 / J_PER_KWH)
    g_per_kwh = 823.1 * 453.59237 / 1000
    assert r.operational_emissions.to("kg").magnitude == pytest.approx(
        it_w * seconds * 1.58 / J_PER_KWH * g_per_kwh / 1000, rel=1e-6)


def test_tokens_as_a_quantity(training):
    a = M.solve(training=training, tokens=15e12)
    b = M.solve(training=training, tokens="15 Ttoken")
    assert a.energy.to("kWh").magnitude == pytest.approx(b.energy.to("kWh").magnitude)


def test_system_must_match_the_training_result(training):
    with pytest.raises(ValueError, match="ran on NVIDIA H100"):
        M.solve("A100", training=training, tokens=1e12)
    assert M.solve("DGX_H100", training=training, tokens=1e12).devices == 1024


def test_training_needs_tokens(training):
    with pytest.raises(ValueError, match="tokens"):
        M.solve(training=training)


def test_hosts_water_and_embodied_by_hand():
    r = M.solve("DGX_H100", "24 h", region="Hyperscale_Average",
                embodied_per_device="318 kg", device_lifetime="4 year")
    it_kwh = (8 * 700 + 4600) * 24 / 1000
    assert r.it_energy.to("kWh").magnitude == pytest.approx(it_kwh)
    assert r.energy.to("kWh").magnitude == pytest.approx(it_kwh * 1.10)
    assert r.water.to("L").magnitude == pytest.approx(it_kwh * 0.30)
    assert r.embodied_emissions.to("kg").magnitude == pytest.approx(
        318 * 8 * 24 / (4 * 365.25 * 24))


def test_no_embodied_figure_is_omitted_with_a_note():
    r = M.solve("H100", "1 day")
    assert r.embodied_emissions is None
    assert any("embodied" in n for n in r.notes)


# -- properties ----------------------------------------------------------------------------
def test_cleaner_grid_never_emits_more_for_the_same_job():
    grids = list(mlsysim.Infra)
    results = {g.key: M.solve("DGX_H100", "3 day", region=g, pue=1.2) for g in grids}
    for a, b in itertools.permutations(grids, 2):
        if a.carbon_intensity <= b.carbon_intensity:
            assert results[a.key].emissions <= results[b.key].emissions


@settings(max_examples=60, deadline=None)
@given(p1=st.floats(1.0, 3.0), p2=st.floats(1.0, 3.0))
def test_higher_pue_never_less_energy(p1, p2):
    lo, hi = sorted((p1, p2))
    assert M.solve("H100", "5 h", pue=lo).energy <= M.solve("H100", "5 h", pue=hi).energy


@settings(max_examples=60, deadline=None)
@given(u1=st.floats(0.0, 1.0), u2=st.floats(0.0, 1.0), f=st.floats(0.0, 0.99))
def test_more_utilisation_never_less_power(u1, u2, f):
    lo, hi = sorted((u1, u2))
    a = M.solve("H100", "5 h", utilization=lo, idle_fraction=f)
    b = M.solve("H100", "5 h", utilization=hi, idle_fraction=f)
    assert a.device_power <= b.device_power and a.energy <= b.energy


# -- bad input: one line each -----------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"duration": "-3 day"}, "duration"),
    ({"duration": "0 s"}, "duration"),
    ({"duration": 5}, "duration"),
    ({"duration": "5 kg"}, "duration"),
    ({"duration": "1 day", "pue": 0.9}, "pue"),
    ({"duration": "1 day", "pue": float("nan")}, "pue"),
    ({"duration": "1 day", "utilization": 1.5}, "utilization"),
    ({"duration": "1 day", "idle_fraction": 1.0}, "idle_fraction"),
    ({"duration": "1 day", "devices": 0}, "devices"),
    ({"duration": "1 day", "devices": True}, "devices"),
    ({"duration": "1 day", "carbon_intensity": "-5 g/kWh"}, "carbon_intensity"),
    ({"duration": "1 day", "device_power": "0 W"}, "device_power"),
    ({"duration": "1 day", "region": "Atlantis"}, "grid"),
    ({"duration": "1 day", "region": 3}, "region"),
    ({}, "duration"),
])
def test_bad_input_is_one_line(kwargs, match):
    with pytest.raises((ValueError, TypeError)) as exc:
        M.solve("H100", **kwargs)
    assert match in str(exc.value) and "\n" not in str(exc.value)


def test_unknown_system_suggests():
    with pytest.raises(UnknownNameError, match="did you mean"):
        M.solve("H10O", "1 day")


# -- catalog: grids ---------------------------------------------------------------------------
def test_at_least_ten_regions_each_sourced_and_dated():
    grids = list(mlsysim.Infra)
    assert len(grids) >= 10
    src = sources()
    for g in grids:
        for field in ("carbon_intensity", "pue", "wue"):
            assert getattr(g, field) is not None, (g.key, field)
            prov = g.source_of(field)
            assert prov is not None and prov.source in src, (g.key, field)
            assert src[prov.source].get("date") and src[prov.source].get("retrieved")


def test_electricity_prices_are_sourced():
    assert mlsysim.Infra.US_Average.electricity_price.to("USD/kWh").magnitude == \
        pytest.approx(0.0806)
    assert mlsysim.Infra.California.electricity_price.to("USD/kWh").magnitude == \
        pytest.approx(0.1864)
    assert mlsysim.Infra.California.source_of("electricity_price").source in sources()


# -- display ------------------------------------------------------------------------------
def test_renders_real_tables_and_plain_data():
    r = M.solve("DGX_H100", "2 day", region="France")
    text = str(r)
    assert "Where the energy goes" in text and "France" in text
    html = r._repr_html_()
    assert "<caption>Where the energy goes</caption>" in html and "<th>Emissions</th>" in html
    d = r.to_dict()
    assert d["emissions"]["value"] == pytest.approx(r.emissions.to("t").magnitude)

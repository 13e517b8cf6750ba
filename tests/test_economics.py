"""EconomicsModel and PlacementOptimizer (issue 12, item 3): expectations by hand from the
stated formulas and the catalog's dated prices, never printed by the code under test."""

from __future__ import annotations

import pytest

import mlsysim
from mlsysim.errors import UnknownNameError
from mlsysim.physics import economics as econ
from mlsysim.solvers.economics import EconomicsModel
from mlsysim.solvers.placement import PlacementOptimizer

E = EconomicsModel()
P = PlacementOptimizer()
YEAR_H = 365.25 * 24


# -- physics by hand -------------------------------------------------------------------------
def test_formulas_by_hand():
    # $30,000 device, 8 of them, 30 days of a 5-year life: 240,000 x 30 / (5 x 365.25) = $3,942.5
    assert econ.amortised_capex(30000, 8, 30 * 86400, 5 * YEAR_H * 3600) == \
        pytest.approx(240000 * 30 / (5 * 365.25))
    assert econ.energy_cost(1000 * 3.6e6, 0.08) == pytest.approx(80.0)
    assert econ.maintenance_cost(240000, 0.05, YEAR_H * 3600) == pytest.approx(12000.0)
    assert econ.rental_cost(2.5, 8, 2 * 3600) == pytest.approx(40.0)
    assert econ.cost_per_million_tokens(10.0, 100.0, 1000.0) == pytest.approx(100.0)


# -- owned TCO -------------------------------------------------------------------------------
def test_dgx_a100_month_by_hand():
    r = E.solve("DGX_A100", "30 day", maintenance_fraction=0.05)
    hours = 30 * 24
    capex = 199000 * hours / (5 * YEAR_H)  # node list price over 5 years
    kwh = (8 * 400 + 3300) * hours / 1000 * 1.58
    energy = kwh * 0.0806  # US_Average industrial price, EIA 2023
    maint = 199000 * 0.05 * hours / YEAR_H
    assert r.capex.to("USD").magnitude == pytest.approx(capex)
    assert r.energy_cost.to("USD").magnitude == pytest.approx(energy)
    assert r.maintenance.to("USD").magnitude == pytest.approx(maint)
    assert r.tco.to("USD").magnitude == pytest.approx(capex + energy + maint)
    assert r.cloud_cost.to("USD").magnitude == pytest.approx(2.79 * 8 * hours)


def test_region_price_is_the_region_passed():
    us = E.solve("DGX_A100", "1 day", region="US_Average")
    ca = E.solve("DGX_A100", "1 day", region="California")
    assert ca.energy_cost / us.energy_cost == pytest.approx(0.1864 / 0.0806)


def test_region_without_price_needs_one():
    # no sourced price: no energy bill and no owned cost (a note says to pass one); the cloud
    # alternative, which does not depend on the region, is still given
    bare = E.solve("DGX_A100", "1 day", region="France")
    assert bare.energy_cost is None and bare.tco_usd is None
    assert any("electricity_price" in n for n in bare.notes)
    us = E.solve("DGX_A100", "1 day", region="US_Average")
    assert bare.cloud_cost == us.cloud_cost and bare.cloud_cost is not None
    r = E.solve("DGX_A100", "1 day", region="France", electricity_price="0.12 USD/kWh")
    assert r.energy_cost.to("USD").magnitude == pytest.approx(
        (8 * 400 + 3300) * 24 / 1000 * 1.58 * 0.12)


def test_no_unit_cost_gives_cloud_only_with_a_note():
    r = E.solve("H100", "10 h")
    assert r.tco is None and r.cloud_cost.to("USD").magnitude == pytest.approx(39.9)
    assert any("unit_cost" in n for n in r.notes)
    r = E.solve("H100", "10 h", unit_cost="25000 USD", lifetime="4 year")
    assert r.capex.to("USD").magnitude == pytest.approx(25000 * 10 / (4 * YEAR_H))


# -- per training run and per million tokens ------------------------------------------------
@pytest.fixture(scope="module")
def training():
    from mlsysim.solvers.distributed import DistributedModel
    return DistributedModel().solve("Llama3_8B", "H100_Cluster_1024", batch_size=1024,
                                    seq_len=4096, zero_stage=1,
                                    activation_recomputation="full")


def test_cost_per_training_run_uses_time_to_train(training):
    tokens = 15e12
    r = E.solve(training=training, tokens=tokens)
    hours = training.time_to_train(tokens).to("h").magnitude
    assert r.cloud_cost.to("USD").magnitude == pytest.approx(3.99 * 1024 * hours)
    assert r.cloud_cost_per_million_tokens.to("USD").magnitude == pytest.approx(
        3.99 * 1024 * hours / tokens * 1e6)


def test_cost_per_million_tokens_served_from_a_throughput():
    r = E.solve("H100", tokens_per_second=1500)
    assert r.cloud_cost_per_million_tokens.to("USD").magnitude == pytest.approx(
        3.99 / (1500 * 3600) * 1e6)
    assert E.solve("H100", tokens_per_second="1500 token/s").cloud_cost_per_million_tokens \
        == r.cloud_cost_per_million_tokens


def test_cost_per_million_tokens_served_from_serving_model():
    from mlsysim.solvers.serving import ServingModel
    s = ServingModel().solve("Llama3_8B", "H100", seq_len=2048, batch_size=32)
    tps = s.tokens_per_sec.to("token/s").magnitude
    r = E.solve("H100", serving=s)
    assert r.cloud_cost_per_million_tokens.to("USD").magnitude == pytest.approx(
        3.99 / (tps * 3600) * 1e6)


def test_cost_per_million_tokens_agrees_with_batching_optimizer():
    from mlsysim.solvers.batching_optimizer import BatchingOptimizer
    g = BatchingOptimizer().solve("Llama3_8B", "H100", seq_len=1024, output_len=256,
                                  arrival_rate_qps=20, p99_ttft_slo_ms=500, itl_slo_ms=50)
    r = E.solve("H100", serving=g)
    assert r.devices == g.devices
    # both are price/h x devices / (goodput tokens/s x 3600) x 1e6
    assert r.cloud_cost_per_million_tokens.to("USD").magnitude == pytest.approx(
        g.cost_per_million_tokens.to("USD").magnitude, rel=1e-9)


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"duration": "-1 h"}, "duration"),
    ({"duration": "1 h", "electricity_price": "-0.1 USD/kWh"}, "electricity_price"),
    ({"duration": "1 h", "electricity_price": "0.1 USD"}, "electricity_price"),
    ({"duration": "1 h", "price_per_hour": "-2 USD/h"}, "price_per_hour"),
    ({"duration": "1 h", "unit_cost": "-5 USD"}, "unit_cost"),
    ({"duration": "1 h", "lifetime": "0 year"}, "lifetime"),
    ({"duration": "1 h", "maintenance_fraction": 1.5}, "maintenance_fraction"),
    ({"duration": "1 h", "pue": 0.5}, "pue"),
    ({"tokens_per_second": -3}, "tokens_per_second"),
    ({"duration": "1 h", "region": "Frnace"}, "did you mean 'France'"),
])
def test_bad_input_is_one_line(kwargs, match):
    with pytest.raises((ValueError, TypeError)) as exc:
        E.solve("H100", **kwargs)
    assert match in str(exc.value) and "\n" not in str(exc.value)


# -- placement ---------------------------------------------------------------------------
def test_lowest_carbon_region_and_table_of_all():
    r = P.solve("DGX_H100", "7 day")
    assert len(r.rows) == len(mlsysim.Infra)
    # every region shares PUE 1.58 except Hyperscale_Average (1.10); emissions ∝ PUE × intensity
    score = {g.key: g.pue * g.carbon_intensity.to("g/kWh").magnitude for g in mlsysim.Infra}
    assert r.best == (min(score, key=score.get),) == ("Norway",)
    assert [row.region for row in r.rows] == sorted(score, key=score.get)


def test_ties_are_reported():
    r = P.solve("DGX_H100", "7 day", regions=["World_Average", "Industry_Average", "India"])
    assert r.tied and set(r.best) == {"World_Average", "Industry_Average"}


def test_lowest_cost_region():
    r = P.solve("DGX_H100", "7 day", objective="cost")
    assert r.best == ("US_Average",)  # 8.06 vs 18.64 cents/kWh at the same PUE
    assert any("left out" in n for n in r.notes)
    same_price = P.solve("DGX_H100", "7 day", objective="cost", electricity_price="0.1 USD/kWh")
    assert same_price.best == ("Hyperscale_Average",)  # the only facility with PUE < 1.58
    two = P.solve("DGX_H100", "7 day", objective="cost", electricity_price="0.1 USD/kWh",
                  regions=["France", "Germany"])
    assert set(two.best) == {"France", "Germany"}


def test_placement_bad_input():
    with pytest.raises(ValueError, match="objective must be one of carbon, cost"):
        P.solve("DGX_H100", "1 day", objective="speed")
    with pytest.raises(UnknownNameError, match="did you mean 'Norway'"):
        P.solve("DGX_H100", "1 day", regions=["Norwya"])
    with pytest.raises(ValueError, match="region is set by each region"):
        P.solve("DGX_H100", "1 day", region="France")


def test_renders_tables():
    r = E.solve("DGX_A100", "30 day")
    assert "Cost of the job" in str(r) and "<caption>Cost of the job</caption>" in r._repr_html_()
    assert r.to_dict()["tco"]["value"] == pytest.approx(r.tco.to("USD").magnitude)
    p = P.solve("DGX_H100", "1 day")
    assert "Every region, sorted by carbon" in str(p) and "Norway" in p._repr_html_()
    assert p.to_dict()["best"] == ["Norway"]

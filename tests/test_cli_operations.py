"""``mlsysim carbon`` and ``mlsysim cost`` (mlsysim/cli_operations.py), driven through a parser
built with its ``add_parser`` and a copy of ``cli.main``'s error handling. Expected numbers are
computed here by hand from catalog inputs (TDP, host power, PUE, grid intensity, prices) and
checked against direct solver calls."""

from __future__ import annotations

import argparse
import json
import math
import shlex

import pytest

import mlsysim
from mlsysim import cli, cli_operations
from mlsysim.solvers.distributed import DistributedModel
from mlsysim.solvers.economics import DEFAULT_REGION as ECONOMICS_REGION
from mlsysim.solvers.economics import EconomicsModel
from mlsysim.solvers.sustainability import DEFAULT_REGION as SUSTAINABILITY_REGION
from mlsysim.solvers.sustainability import SustainabilityModel

DAY, YEAR = 86400.0, 365.25 * 86400.0  # pint's year: a Julian year
J_PER_KWH = 3.6e6


def _parser() -> argparse.ArgumentParser:
    parser = cli._Parser(prog="mlsysim")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=cli._Parser)
    cli_operations.add_parser(sub, cli._positive_int, cli._fraction, cli.PRECISION_CHOICES)
    return parser


def run(argv: str, capsys) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) as ``cli.main`` would give them once wired."""
    try:
        args = _parser().parse_args(shlex.split(argv))
    except SystemExit as exc:
        out = capsys.readouterr()
        return exc.code, out.out, out.err
    try:
        text = cli_operations.output(args)
    except (ValueError, TypeError) as exc:  # cli.main's handler
        message = str(exc).strip().splitlines()[0]
        return 2, "", f"mlsysim: error: {message}\n"
    return 0, text, ""


def data(argv: str, capsys) -> dict:
    rc, out, err = run(argv + " --json", capsys)
    assert rc == 0, err
    return json.loads(out)


def si(field: dict, unit: str) -> float:
    return float(mlsysim.units.Q_(field["value"], field["unit"]).to(unit).magnitude)


def watts(q) -> float:
    return float(q.to("W").magnitude)


def grid(name):
    return mlsysim.Infra.get(name)


def intensity(name) -> float:
    return float(grid(name).carbon_intensity.to("g/kWh").magnitude)


# -- carbon ---------------------------------------------------------------------------------
def test_carbon_of_a_catalog_fleet_by_hand(capsys):
    """1,024 H100s (128 DGX H100 nodes) at full load for 30 days in France: IT power =
    devices × TDP + nodes × host power; facility energy = IT energy × PUE; emissions = facility
    energy × grid intensity; water = IT energy × WUE."""
    d = data("carbon H100_Cluster_1024 --duration 30d --region France", capsys)
    tdp = watts(mlsysim.Hardware.H100.tdp)
    host = watts(mlsysim.Systems.get("DGX_H100").host_power)
    it_w = 1024 * tdp + 128 * host
    assert it_w == pytest.approx(1024 * 700 + 128 * 4600)  # the catalog's figures today
    seconds = 30 * DAY
    g = grid("France")
    facility_kwh = it_w * seconds * g.pue / J_PER_KWH
    assert d["region"] == "France" and d["devices"] == 1024 and d["nodes"] == 128
    assert si(d["duration"], "s") == pytest.approx(seconds)
    assert si(d["energy"], "kWh") == pytest.approx(facility_kwh, rel=1e-12)
    assert si(d["emissions"], "kg") == pytest.approx(facility_kwh * intensity("France") / 1e3,
                                                     rel=1e-12)
    wue = float(g.wue.to("L/kWh").magnitude)
    assert si(d["water"], "L") == pytest.approx(it_w * seconds / J_PER_KWH * wue, rel=1e-12)
    direct = SustainabilityModel().solve("H100_Cluster_1024", "30 day", region="France")
    assert si(d["emissions"], "t") == pytest.approx(direct.emissions.to("t").magnitude,
                                                    rel=1e-12)
    assert d["region_name"] == g.name


@pytest.mark.parametrize("a, b", [("France", "Poland"), ("Norway", "US_Average"),
                                  ("Quebec", "India"), ("California", "Germany"),
                                  ("Hyperscale_Average", "Industry_Average")])
def test_the_region_given_is_the_region_used(a, b, capsys):
    """Same job, two regions: emissions in the ratio of intensity × PUE from the catalog (the
    ratio of the intensities where the PUEs are equal)."""
    job = "carbon DGX_H100 --duration 7d --utilization 0.7"
    da, db = data(f"{job} --region {a}", capsys), data(f"{job} --region {b}", capsys)
    assert (da["region"], db["region"]) == (a, b)
    ratio = (intensity(a) * grid(a).pue) / (intensity(b) * grid(b).pue)
    assert si(da["emissions"], "kg") / si(db["emissions"], "kg") == pytest.approx(ratio,
                                                                                   rel=1e-12)
    if grid(a).pue == grid(b).pue:
        assert si(da["emissions"], "kg") / si(db["emissions"], "kg") == pytest.approx(
            intensity(a) / intensity(b), rel=1e-12)
    assert si(da["carbon_intensity"], "g/kWh") == pytest.approx(intensity(a))


def test_default_regions_are_the_solvers_and_stated_in_help(capsys):
    assert cli_operations.CARBON_REGION == SUSTAINABILITY_REGION
    assert cli_operations.COST_REGION == ECONOMICS_REGION
    assert data("carbon H100 --duration 1d", capsys)["region"] == SUSTAINABILITY_REGION
    assert data("cost H100 --duration 1d", capsys)["region"] == ECONOMICS_REGION
    for command, region in (("carbon", SUSTAINABILITY_REGION), ("cost", ECONOMICS_REGION)):
        rc, out, _ = run(f"{command} --help", capsys)
        assert rc == 0 and f"default {region}" in " ".join(out.split())


def test_carbon_of_training_on_a_built_fleet(capsys):
    """--gpus 64 --gpu H100: 8 DGX H100 nodes on the catalog cluster's fabric (NDR); the
    duration is DistributedModel's time to train 300B tokens; device power by the linear
    model idle + (TDP − idle)·u with idle 10 % of TDP: 0.1·700 + 0.9·700·0.5 = 385 W."""
    d = data("carbon --gpus 64 --gpu H100 --model Llama3_8B --tokens 300B --tp 8 --zero 1 "
             "--batch-size 128 --region Norway --utilization 0.5", capsys)
    fleet = mlsysim.Fleet("DGX_H100", 8, "InfiniBand_NDR")
    t = DistributedModel().solve("Llama3_8B", fleet, batch_size=128, tp_size=8, zero_stage=1,
                                 precision="bf16").time_to_train(300e9)
    seconds = float(t.to("s").magnitude)
    assert si(d["duration"], "s") == pytest.approx(seconds, rel=1e-12)
    assert d["duration_from"] == "DistributedModel time_to_train"
    assert si(d["device_power"], "W") == pytest.approx(385.0)
    it_w = 64 * 385.0 + 8 * watts(mlsysim.Systems.get("DGX_H100").host_power)
    kwh = it_w * seconds * grid("Norway").pue / J_PER_KWH
    assert si(d["energy"], "kWh") == pytest.approx(kwh, rel=1e-12)
    assert si(d["emissions"], "kg") == pytest.approx(kwh * intensity("Norway") / 1e3, rel=1e-12)


def test_shorthands_for_durations_and_tokens(capsys):
    assert cli_operations.tokens_of("15T") == 15e12
    assert cli_operations.tokens_of("300B") == cli_operations.tokens_of("300G") == 3e11
    assert cli_operations.tokens_of("2.5k") == 2500 and cli_operations.tokens_of("1e9") == 1e9
    assert cli_operations.tokens_of("300 Gtoken") == "300 Gtoken"  # left to the unit parser
    assert cli_operations.duration_text("5y") == "5 year"
    assert cli_operations.duration_text("2w") == "2 week"
    assert cli_operations.duration_text("30d") == "30d"
    two_weeks = data("carbon H100 --duration 2w", capsys)
    assert si(two_weeks["duration"], "s") == pytest.approx(14 * DAY)
    spelled = data("carbon H100 --duration '336 h' --tokens '300 Gtoken'", capsys)
    assert si(spelled["energy"], "kWh") == pytest.approx(si(two_weeks["energy"], "kWh"))


def test_embodied_and_overrides_are_passed_on(capsys):
    """318 kg per device over 5 years, 1 device for 0.5 year: 31.8 kg; intensity 100 g/kWh and
    PUE 1.2 given: 700 W × 0.5 y × 1.2 × 0.1 kg/kWh."""
    d = data("carbon H100 --duration 0.5y --embodied 318 --carbon-intensity 100 --pue 1.2",
             capsys)
    assert si(d["embodied_emissions"], "kg") == pytest.approx(318 * 0.5 / 5)
    operational = 700 * 0.5 * YEAR * 1.2 / J_PER_KWH * 0.1
    assert si(d["operational_emissions"], "kg") == pytest.approx(operational, rel=1e-12)


# -- cost -------------------------------------------------------------------------------------
def test_cost_by_hand(capsys):
    """64 H100s for 14 days in California at $30,000 per device over 4 years, maintenance 5 %
    per year: capital = 30,000 × 64 × 14 d / 4 y; energy = facility kWh × the region's price;
    cloud = list price per device-hour × 64 × 336 h."""
    d = data("cost --gpus 64 --gpu H100 --duration 14d --unit-cost 30000 --lifetime 4y "
             "--maintenance 0.05 --region California", capsys)
    seconds = 14 * DAY
    it_w = 64 * watts(mlsysim.Hardware.H100.tdp) + 8 * watts(
        mlsysim.Systems.get("DGX_H100").host_power)
    g = grid("California")
    kwh = it_w * seconds * g.pue / J_PER_KWH
    price = float(g.electricity_price.to("USD/kWh").magnitude)
    capex = 30_000 * 64 * seconds / (4 * YEAR)
    maintenance = 0.05 * 30_000 * 64 * seconds / YEAR
    cloud = float(mlsysim.Hardware.H100.price_per_hour.to("USD/h").magnitude) * 64 * 336
    assert d["region"] == "California"
    assert si(d["energy_cost"], "USD") == pytest.approx(kwh * price, rel=1e-12)
    assert si(d["capex"], "USD") == pytest.approx(capex, rel=1e-12)
    assert si(d["maintenance"], "USD") == pytest.approx(maintenance, rel=1e-12)
    assert si(d["tco"], "USD") == pytest.approx(capex + kwh * price + maintenance, rel=1e-12)
    assert si(d["cloud_cost"], "USD") == pytest.approx(cloud, rel=1e-12)
    src = g.source_of("electricity_price").source
    assert src in d["price_sources"]["electricity"]
    assert d["price_sources"]["capital"].startswith("given")
    assert mlsysim.Hardware.H100.source_of("price_per_hour").source in \
        d["price_sources"]["cloud"]


def test_cost_region_changes_the_energy_bill_by_its_price(capsys):
    job = "cost DGX_H100 --duration 30d"
    ca, us = data(f"{job} --region California", capsys), data(f"{job} --region US_Average",
                                                              capsys)
    prices = [float(grid(r).electricity_price.to("USD/kWh").magnitude)
              for r in ("California", "US_Average")]
    assert si(ca["energy_cost"], "USD") / si(us["energy_cost"], "USD") == pytest.approx(
        prices[0] / prices[1], rel=1e-12)
    given = data(f"{job} --region California --electricity-price '0.05 USD/kWh'", capsys)
    assert si(given["energy_cost"], "USD") == pytest.approx(si(given["energy"], "kWh") * 0.05)


def test_cost_per_million_tokens_of_a_training_run(capsys):
    d = data("cost H100_Cluster_1024 --model Llama3_70B --tokens 15T --tp 8 --pp 4 --zero 1 "
             "--batch-size 2048 --unit-cost 25000", capsys)
    training = DistributedModel().solve("Llama3_70B", "H100_Cluster_1024", batch_size=2048,
                                        tp_size=8, pp_size=4, zero_stage=1, precision="bf16")
    hours = float(training.time_to_train(15e12).to("h").magnitude)
    assert si(d["duration"], "h") == pytest.approx(hours, rel=1e-12)
    cloud = float(mlsysim.Hardware.H100.price_per_hour.to("USD/h").magnitude) * 1024 * hours
    assert si(d["cloud_cost_per_million_tokens"], "USD") == pytest.approx(cloud / 15e6,
                                                                          rel=1e-12)
    assert si(d["cost_per_million_tokens"], "USD") == pytest.approx(
        si(d["tco"], "USD") / 15e6, rel=1e-12)
    direct = EconomicsModel().solve("H100_Cluster_1024", training=training, tokens=15e12,
                                    unit_cost="25000 USD")
    assert si(d["tco"], "USD") == pytest.approx(direct.tco.to("USD").magnitude, rel=1e-12)


def test_cost_per_million_tokens_served(capsys):
    """2,500 token/s on 8 H100s at the list price: 8 × price / (2,500 × 3,600) × 1e6."""
    d = data("cost DGX_H100 --tokens-per-second 2500", capsys)
    price = float(mlsysim.Hardware.H100.price_per_hour.to("USD/h").magnitude)
    assert si(d["cloud_cost_per_million_tokens"], "USD") == pytest.approx(
        8 * price / (2500 * 3600) * 1e6, rel=1e-12)


def test_text_says_where_prices_come_from_and_which_option_to_pass(capsys):
    rc, out, _ = run("cost H100_Cluster_1024 --duration 30d", capsys)
    assert rc == 0
    assert grid("US_Average").source_of("electricity_price").source in out
    assert mlsysim.Hardware.H100.source_of("price_per_hour").source in out
    assert "pass --unit-cost" in out and "unit_cost" not in out.replace("--unit-cost", "")
    rc, out, _ = run("carbon H100_Cluster_1024 --duration 30d --region Germany", capsys)
    assert rc == 0 and grid("Germany").name in out and "pass --embodied" in out


# -- regions ----------------------------------------------------------------------------------
def test_list_regions(capsys):
    rows = data("carbon --list-regions", capsys)
    keys = [g.key for g in mlsysim.Infra.all()]
    assert [r["region"] for r in rows] == keys and len(keys) >= 10
    for r in rows:
        assert r["carbon_intensity_g_per_kwh"] == pytest.approx(intensity(r["region"]))
        assert r["carbon_intensity_source"]
    rc, out, _ = run("cost --list-regions", capsys)
    assert rc == 0 and all(k in out for k in keys)


# -- bad input: status 2, one line naming the option ------------------------------------------
@pytest.mark.parametrize("argv, needles", [
    ("carbon H100 --duration -30d", ["--duration", "positive"]),
    ("carbon H100 --duration=-30d", ["--duration", "positive"]),
    ("carbon H100 --duration '30 parsecs'", ["--duration", "parsecs"]),
    ("carbon H100 --duration 30d --pue 0.9", ["--pue", "[1, 3]"]),
    ("carbon H100 --duration 30d --pue nan", ["--pue"]),
    ("carbon H100 --duration 30d --utilization 1.5", ["--utilization", "[0, 1]"]),
    ("carbon H100 --duration 30d --utilization -0.1", ["--utilization", "[0, 1]"]),
    ("carbon H100 --duration 30d --region Frnace", ["did you mean", "'France'"]),
    ("cost H100 --duration 30d --region Polnd", ["did you mean", "'Poland'"]),
    ("carbon H1000 --duration 30d", ["did you mean", "'H100'"]),
    ("carbon --gpus 64 --gpu H1OO --duration 30d", ["did you mean", "'H100'"]),
    ("carbon H100_Cluster_1024 --model Llama3_700B --tokens 1T", ["did you mean"]),
    ("cost H100 --duration 30d --electricity-price '0.08 USD/parsec'",
     ["--electricity-price"]),
    ("cost H100 --duration 30d --unit-cost -5", ["--unit-cost", "positive"]),
    ("cost H100 --duration 30d --lifetime 0y", ["--lifetime", "positive"]),
    ("cost DGX_H100 --duration 30d --maintenance 2", ["--maintenance", "[0, 1]"]),
    ("carbon H100", ["--duration", "--model"]),
    ("carbon --duration 1d", ["SYSTEM", "--gpus"]),
    ("carbon H100 --gpus 8 --gpu H100 --duration 1d", ["not both"]),
    ("carbon --gpus 8 --duration 1d", ["--gpu"]),
    ("carbon H100 --gpu H100 --duration 1d", ["--gpu", "--gpus"]),
    ("carbon H100 --duration 30d --tp 8", ["--tp", "--model"]),
    ("carbon H100_Cluster_1024 --model Llama3_70B", ["--tokens"]),
    ("carbon H100_Cluster_1024 --model Llama3_70B --tokens 1T --duration 1d", ["not both"]),
    ("carbon --gpus 64 --gpu H100 --model Llama3_8B --tokens 1T", ["does not fit", "--zero"]),
    ("carbon --gpus 12 --gpu H100 --model Llama3_8B --tokens 1T", ["multiple of"]),
    ("carbon H100 --duration 30d --tokens 15X", ["--tokens"]),
    ("carbon H100 --duration 30d --tokens -5T", ["--tokens", "positive"]),
    ("cost H100 --duration 1d --tokens 1T --tokens-per-second 100", ["not both"]),
    ("cost H100 --tokens-per-second 0", ["--tokens-per-second"]),
    ("carbon H100 --duration 1e400d", ["--duration"]),
    ("carbon H100 --duration 30d --gpus 0", ["--gpus", "positive"]),
])
def test_bad_input_is_one_line_with_status_2(argv, needles, capsys):
    rc, out, err = run(argv, capsys)
    assert rc == 2 and out == ""
    assert err.startswith("mlsysim: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_messages_name_options_not_parameters():
    msg = cli_operations.cli_message("try zero_stage=1, activation_recomputation='full', more")
    assert msg == "try --zero 1, --recompute full, more"
    assert cli_operations.cli_message("pue must be ≥ 1") == "--pue must be ≥ 1"
    assert cli_operations.cli_message("the duration of the job") == "the duration of the job"
    assert math.isclose(cli_operations.tokens_of("15 T") or 0, 15e12)

"""The explorer of tutorial 11 (failures and checkpoints) in a browser: at sampled settings of
its three sliders (GPUs, checkpoint write time δ, restart time R), every value it shows equals
ReliabilityModel's at the same inputs, formatted with ``mlsysim.fmt``; the bar is the run's
wall time split into work, checkpoint writes, restarts and rework; the sliders work from the
keyboard; and an input event is answered within 50 ms.

The page is built in a copy of the project (as tests/test_explorer_08.py does) and opened in
Debian's Chromium. The expected values are solved here, independently of the page: the run is
Llama-3.1 405B on 2,016 DGX H100 over NDR InfiniBand (tp 8 × pp 14 with 3 interleaved chunks ×
dp 144, 8 sequences of 8,192 tokens per replica, ZeRO-1, selective recomputation), whose
DistributedModel time to train 15.6 T tokens fixes the GPU-hours; on n GPUs the run computes
for GPU-hours / n, checkpointing every Young–Daly interval, as the page states. Besides the
solver, the MTBF, failures per day, Young's interval and the goodput are checked by hand:
Dubey et al. 2024 §3.3.4 Table 5 (419 unexpected interruptions in 54 days on 16,384 H100, every
cause charged per GPU or per 8-GPU server, so the rate scales with n), Young 1974 (√(2δM)) and
Daly 2006 (T_w = M·e^{R/M}·(e^{(τ+δ)/M} − 1)·W/τ).
"""

import math
import random
from pathlib import Path

import pytest
from explorer_support import build_page, open_page, response_times
from explorer_support import slide as _slide
from explorer_support import text as _text

from mlsysim import Q_, DistributedModel, Fleet, Models, fmt
from mlsysim.solvers.checkpoint import CheckpointModel
from mlsysim.solvers.reliability import ReliabilityModel

pytestmark = pytest.mark.slow
PAGE = "tutorials/11_failures_and_checkpoints.qmd"
RM = ReliabilityModel()
BUDGET_MS = 50.0
RUN_GPUS, TOKENS = 16128, 15.6e12
# the explorer's slider positions, as the page describes them
CKPT = CheckpointModel().solve("Llama3_405B")  # Tectonic, 2 TB/s sustained
GPUS = [1024, 2048, 4096, 8192, RUN_GPUS, 32768, 65536, 131072]
DELTAS = [1.0, CKPT.write_s, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0]
RESTARTS = [60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0]
# (GPUs, δ s, R s): the opening setting (this page's run); the three moves the page suggests;
# a checkpoint longer than the MTBF (131,072 GPUs fail every 23 min); the corners
SAMPLES = [
    (RUN_GPUS, CKPT.write_s, 600.0),
    (131072, CKPT.write_s, 600.0),
    (131072, 1.0, 600.0),
    (131072, CKPT.write_s, 60.0),
    (131072, 1800.0, 600.0),
    (65536, 1800.0, 3600.0),
    (1024, 1.0, 60.0),
    (1024, 1800.0, 3600.0),
    (32768, 300.0, 120.0),
    (8192, 60.0, 1200.0),
]


@pytest.fixture(scope="module")
def gpu_seconds():
    fleet = Fleet(node="DGX_H100", count=2016, fabric="InfiniBand_NDR")
    step = DistributedModel().solve(Models.Llama3_405B, fleet, batch_size=144 * 8,
                                    seq_len=8192, tp_size=8, pp_size=14, microbatch_count=8,
                                    zero_stage=1, activation_recomputation="selective",
                                    virtual_pipeline_stages=3)
    assert step.feasible
    return step.time_to_train(TOKENS).m_as("s") * RUN_GPUS


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_page(tmp_path_factory, PAGE, "explorer11")


@pytest.fixture(scope="module")
def page(site):
    with open_page(site, PAGE, "#fc-explorer") as tab:
        yield tab


def _set(tab, gpus, delta, restart) -> None:
    for selector, values, wanted in (("#fc-g", GPUS, gpus), ("#fc-d", DELTAS, delta),
                                     ("#fc-r", RESTARTS, restart)):
        _slide(tab, selector, values.index(wanted))


def _shown(tab) -> dict:
    keys = ("gv", "dv", "rv", "mtbf", "perday", "tau", "exact", "goodput", "work", "wall",
            "fails", "s1", "s2", "s3", "size", "bw", "status")
    values = {k: _text(tab, f"#fc-{k}") for k in keys}
    values["bars"] = [(float(tab.get_attribute(f"#fc-b{k}", "x")),
                       float(tab.get_attribute(f"#fc-b{k}", "width"))) for k in range(4)]
    values["aria"] = tab.get_attribute("#fc-svg", "aria-label")
    return values


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _by_hand(gpus, delta, restart, work):
    """Table 5, Young and Daly, without the solver: (MTBF s, failures/day, τ s, goodput)."""
    per_day = 419 * gpus / 16384 / 54
    m = 86400 / per_day
    tau = math.sqrt(2 * delta * m)
    wall = m * math.exp(restart / m) * math.expm1((tau + delta) / m) * work / tau
    return m, per_day, tau, work / wall


def _expected(gpus, delta, restart, gpu_seconds) -> dict:
    work = gpu_seconds / gpus
    r = RM.solve(gpus, Q_(work, "s"), Q_(delta, "s"), restart_time=Q_(restart, "s"))
    m, per_day, tau, goodput = _by_hand(gpus, delta, restart, work)
    assert r.mtbf_s == pytest.approx(m, rel=1e-9)
    assert r.failures_per_day == pytest.approx(per_day, rel=1e-9)
    assert r.young_s == pytest.approx(tau, rel=1e-9)
    assert r.goodput == pytest.approx(goodput, rel=1e-9)
    parts = (r.run.work, r.run.checkpoints, r.run.restarts, r.run.rework)
    wall = r.run.wall
    assert sum(parts) == pytest.approx(wall, rel=1e-12)
    return {"gv": f"{gpus:,}", "dv": fmt(Q_(delta, "s")), "rv": fmt(Q_(restart, "s").to("min")),
            "mtbf": fmt(r.fleet_mtbf), "perday": fmt(r.failures_per_day),
            "tau": fmt(r.young_daly_interval), "exact": fmt(Q_(r.exact_s, "s").to("hour")),
            "goodput": _pct(r.goodput), "work": fmt(Q_(work, "s").to("day")),
            "wall": fmt(r.wall_time), "fails": fmt(r.expected_failures),
            "shares": [p / wall for p in parts], "size": fmt(CKPT.size),
            "bw": f"{fmt(Q_(delta, 's'))} at {fmt(Q_(CKPT.size_bytes / delta, 'B/s'))}",
            "feasible": r.feasible}


def _random_samples(n: int, seed: int = 11) -> list[tuple]:
    rng = random.Random(seed)
    return [(rng.choice(GPUS), rng.choice(DELTAS), rng.choice(RESTARTS)) for _ in range(n)]


def test_samples_cover_both_verdicts(gpu_seconds):
    verdicts = {_expected(*s, gpu_seconds)["feasible"] for s in SAMPLES}
    assert verdicts == {True, False}


@pytest.mark.parametrize("setting", SAMPLES + _random_samples(5))
def test_shown_values_equal_the_solver(page, gpu_seconds, setting):
    _set(page, *setting)
    shown = _shown(page)
    expected = _expected(*setting, gpu_seconds)
    for key in ("gv", "dv", "rv", "mtbf", "perday", "tau", "exact", "goodput", "work", "wall",
                "fails", "size", "bw"):
        assert shown[key] == expected[key], (key, shown[key], expected[key])
    for k in (1, 2, 3):
        assert shown[f"s{k}"] == _pct(expected["shares"][k]), k
    x = 0.0
    for (bx, width), share in zip(shown["bars"], expected["shares"], strict=True):
        assert bx == pytest.approx(680 * x, abs=0.02)
        assert width == pytest.approx(680 * share, abs=0.02)
        x += share
    where = f"{expected['gv']} GPUs, checkpoint {expected['dv']}, restart {expected['rv']}"
    assert shown["status"].startswith(where + ":"), shown["status"]
    assert f"goodput {expected['goodput']}" in shown["status"]
    longer = "takes longer than the fleet's MTBF"
    assert (longer in shown["status"]) == (not expected["feasible"]), shown["status"]
    assert _pct(expected["shares"][0]) in shown["aria"] and where in shown["aria"]
    assert page.errors == []


def test_the_page_opens_on_its_run(page, site, gpu_seconds):
    """Default: 16,128 GPUs, Tectonic's write time, a 10-minute restart (the page's run,
    goodput 92.7 %); and no request leaves the page."""
    page.goto(page.url, wait_until="load")  # a fresh navigation: no restored form state
    shown = _shown(page)
    expected = _expected(*SAMPLES[0], gpu_seconds)
    assert (shown["gv"], shown["dv"], shown["rv"]) == (expected["gv"], expected["dv"],
                                                       expected["rv"])
    assert shown["goodput"] == expected["goodput"] and shown["tau"] == expected["tau"]
    html = (site / Path(PAGE).with_suffix(".html")).read_text(encoding="utf-8")
    explorer = html.split('id="fc-explorer"')[1].split("</script>")[0]
    assert "cdn" not in explorer.lower() and "http" not in explorer.replace(
        "http://www.w3.org/2000/svg", "")


def test_controls_have_labels_spoken_values_and_keys(page, gpu_seconds):
    for control in ("fc-g", "fc-d", "fc-r"):
        assert page.locator(f"label[for='{control}']").count() == 1, control
    setting = (65536, 120.0, 300.0)
    _set(page, *setting)
    assert page.get_attribute("#fc-g", "aria-valuetext") == "65,536 GPUs"
    assert page.get_attribute("#fc-d", "aria-valuetext") == f"checkpoint {fmt(Q_(120, 's'))}"
    assert page.get_attribute("#fc-r", "aria-valuetext") == \
        f"restart {fmt(Q_(300, 's').to('min'))}"
    assert page.get_attribute("#fc-readout", "aria-live") == "polite"
    # End and ArrowLeft move the sliders too
    page.focus("#fc-g")
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    shown = _shown(page)
    assert shown["gv"] == "65,536"
    page.keyboard.press("End")
    assert _shown(page)["mtbf"] == _expected(131072, 120.0, 300.0, gpu_seconds)["mtbf"]
    assert page.errors == []


def test_an_input_event_is_answered_within_50_ms(page):
    """An input event on every control is answered within 50 ms (see
    :func:`explorer_support.response_times`)."""
    layout = response_times(page, ["fc-g", "fc-d", "fc-r"], "fc-explorer", 42, stride=2)
    assert layout[-1] < BUDGET_MS, layout
    assert page.errors == []

"""The explorer of tutorial 07 (serving capacity) in a browser: at sampled settings of its two
sliders (arrival rate, replicas), every value it shows equals TailLatencyModel's at the same
inputs, formatted with ``mlsysim.fmt``, and the curve it draws is the solver's latency
distribution; the sliders work from the keyboard; and an input event is answered within 50 ms.

The page is built in a copy of the project (as tests/test_explorer_04.py does) and opened in
Debian's Chromium. The expected values are solved here, independently of the page: the test
rebuilds the chatbot's service time from ServingModel (Llama-3 8B on an H100, 1,024-token
prompts, replies of 64 exponentially spread lengths with a mean of 256 tokens, as the page
states), reads which rate and replica count the page says it shows, and solves exactly those.
The plotted curve is read back from the SVG and inverted through the page's stated axes (log
latency across, -100 log10 of the share slower down).
"""

import math
import random
import re
from pathlib import Path

import numpy as np
import pytest
from explorer_support import build_page, open_page, response_times
from explorer_support import labels as _labels
from explorer_support import slide as _slide
from explorer_support import text as _text

from mlsysim import Q_, Hardware, Models, ServingModel, TailLatencyModel, fmt

pytestmark = pytest.mark.slow
PAGE = "tutorials/07_serving_capacity.qmd"
PROMPT, MEAN_REPLY, KINDS = 1024, 256, 64  # as on the page
SLO_S = 10.0  # the dashed target line and the "slower than" share
QUEUE = TailLatencyModel()
BUDGET_MS = 50.0
# the SVG's geometry, as the explorer's caption and axes state it: viewBox 660 × 320, plot
# from x = 58 to 644 and y = 12 to 278; latency 10^-1.5 to 10^3 s across; 100 % to 0.01 % down
PLOT_X0, PLOT_X1, PLOT_Y0, PLOT_Y1 = 58.0, 644.0, 12.0, 278.0
LOG_T0, LOG_T1, K_MAX = -1.5, 3.0, 400.0
# (requests/s, replicas): the page's default, the prose's moves (fixed utilisation as the pool
# grows; 24 replicas near the target), both corners, unstable points (rate too high for the
# replicas) and stable points across the grid
SAMPLES = [
    (5.0, 10),
    (0.5, 1),
    (1.0, 2),
    (4.0, 8),
    (12.0, 24),
    (13.0, 24),
    (14.0, 24),   # unstable: 14 × S > 24
    (14.0, 1),    # unstable
    (5.0, 9),
    (3.5, 7),
    (0.5, 24),
    (9.0, 16),
]


def _chatbot_service() -> tuple[float, float]:
    """Mean service time (ms) and its coefficient of variation, one request at a time."""
    middles = (np.arange(KINDS) + 0.5) / KINDS
    replies = np.maximum(2, np.round(-MEAN_REPLY * np.log1p(-middles))).astype(int)
    serve = ServingModel()
    times = np.array([serve.solve(Models.Llama3_8B, Hardware.H100, seq_len=PROMPT,
                                  output_len=int(n)).e2e_s for n in replies])
    return 1e3 * float(times.mean()), float(times.std() / times.mean())


S_MS, CV = _chatbot_service()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_page(tmp_path_factory, PAGE, "explorer07")


@pytest.fixture(scope="module")
def page(site):
    with open_page(site, PAGE, "#sqx") as tab:
        yield tab


@pytest.fixture(scope="module")
def axes(page):
    """The slider labels at every position: rates (requests/s) and replica counts."""
    return {"rates": _labels(page, "#sqx-r", "#sqx-rv"),
            "reps": _labels(page, "#sqx-c", "#sqx-cv")}


def _set(tab, axes, rate: float, replicas: int) -> None:
    rates = [float(v.replace(",", "")) for v in axes["rates"]]
    reps = [int(v.replace(",", "")) for v in axes["reps"]]
    assert rate in rates and replicas in reps, (rate, rates, replicas, reps)
    _slide(tab, "#sqx-r", rates.index(rate))
    _slide(tab, "#sqx-c", reps.index(replicas))


def _shown(tab) -> dict:
    """What the explorer shows, and the inputs it says it shows them for."""
    values = {k: _text(tab, f"#sqx-{k}") for k in
              ("rv", "cv", "what", "rho", "state", "p50", "p90", "p99", "wait", "miss")}
    values["rate"] = float(values.pop("rv").replace(",", ""))
    values["replicas"] = int(values.pop("cv").replace(",", ""))
    values["state_class"] = tab.get_attribute("#sqx-state", "class")
    values["curve"] = tab.evaluate("""() => [...document.querySelectorAll('#sqx-plot polyline')]
        .map(p => p.getAttribute('points'))""")
    values["marks"] = tab.evaluate("""() => [...document.querySelectorAll('#sqx-plot circle')]
        .map(c => [+c.getAttribute('cx'), +c.getAttribute('cy')])""")
    values["labels"] = tab.evaluate("""() => [...document.querySelectorAll('#sqx-plot text')]
        .map(t => t.textContent)""")
    values["aria"] = tab.get_attribute("#sqx-svg", "aria-label")
    return values


def _x(log_t: float) -> float:
    return PLOT_X0 + (log_t - LOG_T0) / (LOG_T1 - LOG_T0) * (PLOT_X1 - PLOT_X0)


def _y(k: float) -> float:
    return PLOT_Y0 + k / K_MAX * (PLOT_Y1 - PLOT_Y0)


def _expected(rate: float, replicas: int) -> dict:
    r = QUEUE.solve(rate, S_MS, replicas, CV)
    out = {"rho": fmt(r.queue_utilization), "stable": r.is_stable,
           "what": f"{fmt(rate)} requests/s on {fmt(replicas)} H100s, one request each at a time"}
    if not r.is_stable:
        return {**out, "need": fmt(r.min_stable_replicas), "solved": r}
    return {**out, "p50": fmt(r.p50_latency), "p90": fmt(r.p90_latency),
            "p99": fmt(r.p99_latency),
            "wait": fmt(Q_(100 * r.probability_of_waiting, "percent")),
            "miss": fmt(Q_(100 * r.slo_violation_probability(1e3 * SLO_S), "percent")),
            "solved": r}


def _random_samples(n: int, seed: int = 7) -> list[tuple]:
    rng = random.Random(seed)
    return [(rng.randint(1, 28) * 0.5, rng.randint(1, 24)) for _ in range(n)]


def test_the_page_states_the_service_time_the_test_rebuilt(page):
    """The explorer's data attributes are the service time this test solved on its own."""
    service_ms = float(page.get_attribute("#sqx", "data-service-ms"))
    cv = float(page.get_attribute("#sqx", "data-cv"))
    assert service_ms == pytest.approx(S_MS, rel=1e-12)
    assert cv == pytest.approx(CV, rel=1e-12)
    assert float(page.get_attribute("#sqx", "data-slo-ms")) == 1e3 * SLO_S


@pytest.mark.parametrize("rate, replicas", SAMPLES + _random_samples(6))
def test_shown_values_equal_the_tail_latency_model(page, axes, rate, replicas):
    _set(page, axes, rate, replicas)
    shown = _shown(page)
    assert (shown["rate"], shown["replicas"]) == (rate, replicas)
    expected = _expected(rate, replicas)
    r = expected["solved"]
    assert shown["what"] == expected["what"]
    assert shown["rho"] == expected["rho"]
    if not expected["stable"]:
        assert shown["state_class"] == "sqx-bad"
        assert shown["state"].startswith("unstable")
        assert f"(at least {expected['need']} replicas needed)" in shown["state"]
        assert [shown[k] for k in ("p50", "p90", "p99")] == ["none"] * 3
        assert shown["wait"] == shown["miss"] == "all, eventually"
        assert shown["curve"] == [] and shown["marks"] == []
        assert shown["aria"] == f"Unstable at utilisation {expected['rho']}: no latency " \
            "distribution."
        assert page.errors == []
        return
    assert shown["state_class"] == "sqx-good" and shown["state"] == \
        "stable: the replicas keep up"
    for key in ("p50", "p90", "p99", "wait", "miss"):
        assert shown[key] == expected[key], (key, shown[key], expected[key])
    assert shown["aria"] == (f"At utilisation {expected['rho']}: p50 {expected['p50']}, "
                             f"p90 {expected['p90']}, p99 {expected['p99']}.")
    # the markers: where the distribution crosses 50 %, 10 % and 1 %, labelled with the values
    assert shown["labels"] == [f"p50 {expected['p50']}", f"p90 {expected['p90']}",
                               f"p99 {expected['p99']}"]
    levels = [100 * math.log10(2), 100.0, 200.0]  # -100 log10 of 50 %, 10 %, 1 %
    for (cx, cy), t, k in zip(shown["marks"], r.percentiles_s[:3], levels, strict=True):
        assert cx == pytest.approx(_x(math.log10(t)), abs=0.05)
        assert cy == pytest.approx(_y(k), abs=0.01)
    # the curve, read back through the axes: the share slower than t is the solver's
    assert len(shown["curve"]) == 1
    points = [tuple(map(float, p.split(","))) for p in shown["curve"][0].split()]
    assert len(points) >= 5
    for px, py in points:
        # the page rounds k to an integer and the point to 0.1 px: invert the x back to a
        # latency (± half a 0.1 px step), and the shown k must lie within half a unit of the
        # solver's k anywhere in that small interval (± the y rounding)
        log_t = LOG_T0 + (px - PLOT_X0) / (PLOT_X1 - PLOT_X0) * (LOG_T1 - LOG_T0)
        dlog = 0.05 / (PLOT_X1 - PLOT_X0) * (LOG_T1 - LOG_T0)
        k_shown = (py - PLOT_Y0) / (PLOT_Y1 - PLOT_Y0) * K_MAX
        dk = 0.05 / (PLOT_Y1 - PLOT_Y0) * K_MAX
        solved = [-100 * math.log10(max(r.slo_violation_probability(1e3 * 10 ** lt), 1e-300))
                  for lt in (log_t - dlog, log_t + dlog)]
        assert 0.0 <= k_shown < K_MAX
        assert min(solved) - 0.5 - dk <= k_shown <= max(solved) + 0.5 + dk, \
            (px, py, 10 ** log_t, solved)
    xs = [px for px, _ in points]
    ks = [py for _, py in points]
    assert xs == sorted(xs) and ks == sorted(ks)  # fewer requests are slower than a longer t
    assert page.errors == []


def test_the_page_opens_where_the_prose_starts(page, site):
    """Default: 5 requests/s on 10 replicas (the first move the page suggests); and no request
    leaves the page."""
    page.goto(page.url, wait_until="load")  # a fresh navigation: no restored form state
    page.locator("#sqx").scroll_into_view_if_needed()
    shown = _shown(page)
    assert (shown["rate"], shown["replicas"]) == (5.0, 10)
    assert shown["p99"] == _expected(5.0, 10)["p99"]
    html = (site / Path(PAGE).with_suffix(".html")).read_text(encoding="utf-8")
    explorer = html.split('id="sqx"')[1].split("</script>")[0]
    assert "cdn" not in explorer.lower()
    assert not re.search(r"https?://", explorer.replace("http://www.w3.org/2000/svg", ""))
    assert page.errors == []


def test_the_sliders_work_from_the_keyboard(page, axes):
    """Home and End reach both ends, the arrow keys step one position, and each slider has a
    label and a spoken value."""
    for control in ("sqx-r", "sqx-c"):
        assert page.locator(f"label[for='{control}']").count() == 1, control
    page.focus("#sqx-r")
    page.keyboard.press("End")
    assert _text(page, "#sqx-rv") == axes["rates"][-1]
    page.keyboard.press("ArrowLeft")
    assert _text(page, "#sqx-rv") == axes["rates"][-2]
    assert page.get_attribute("#sqx-r", "aria-valuetext") == \
        f"{axes['rates'][-2]} requests per second"
    page.focus("#sqx-c")
    page.keyboard.press("Home")
    assert _text(page, "#sqx-cv") == axes["reps"][0]
    page.keyboard.press("ArrowUp")
    assert _text(page, "#sqx-cv") == axes["reps"][1]
    assert page.get_attribute("#sqx-c", "aria-valuetext") == f"{axes['reps'][1]} replicas"
    page.keyboard.press("End")
    assert _text(page, "#sqx-cv") == axes["reps"][-1]
    assert page.get_attribute("#sqx-readout", "aria-live") == "polite"
    # the grid the sliders walk: half a request per second up to 14, and 1 to 24 replicas
    assert [float(v) for v in axes["rates"]] == [0.5 * i for i in range(1, 29)]
    assert [int(v) for v in axes["reps"]] == list(range(1, 25))
    assert page.errors == []


def test_an_input_event_is_answered_within_50_ms(page):
    """An input event on every control is answered within 50 ms (see
    :func:`explorer_support.response_times`)."""
    layout = response_times(page, ["sqx-r", "sqx-c"], "sqx", 40, stride=7)
    assert layout[-1] < BUDGET_MS, layout
    assert page.errors == []

"""The explorer of tutorial 10 (scaling to thousands of GPUs) in a browser: at sampled settings
of its five sliders (GPUs, tp, pp, microbatch size, ZeRO stage), every value it shows equals
DistributedModel's at the same inputs, formatted with ``mlsysim.fmt``; the bars are the step's
parts as shares of the step; layouts that cannot be formed show the solver's own error; the
sliders work from the keyboard; and an input event is answered within 50 ms.

The page is built in a copy of the project (as tests/test_explorer_07.py does) and opened in
Debian's Chromium. The expected values are solved here, independently of the page: Llama-3
70B on DGX H100 nodes over NDR InfiniBand, a global batch of 1,024 sequences of 4,096 tokens,
selective recomputation (as the page states, and as its data attributes say), at the sizes the
page says it shows.
"""

import random
import re
from pathlib import Path

import pytest
from explorer_support import build_page, open_page, response_times
from explorer_support import text as _text

from mlsysim import Q_, Fleet, Models, fmt
from mlsysim.solvers.distributed import DistributedModel

pytestmark = pytest.mark.slow
PAGE = "tutorials/10_scaling_to_thousands_of_gpus.qmd"
MODEL, BATCH, SEQ = "Llama3_70B", 1024, 4096  # as on the page
FABRIC, RECOMPUTE = "InfiniBand_NDR", "selective"
DM = DistributedModel()
BUDGET_MS = 50.0
PARTS = ("compute", "tp_communication", "pp_communication", "dp_communication", "optimizer",
         "pipeline_bubble")
MEMORY = ("weights", "gradients", "optimizer", "activations")
SLIDERS = ("g", "t", "p", "b", "z")
BARS = tuple(f"part{i}" for i in range(len(PARTS)))
# (GPUs, tp, pp, b, ZeRO): the page's default; the prose's three moves; a layout that does not
# fit (ZeRO-0, tp 8 on 64 GPUs); shapes that cannot be formed (tp·pp = 32 on 16 GPUs; dp 4,096
# beyond the 1,024-sequence batch; b = 2 with one sequence per replica); the corners
SAMPLES = [
    (512, 8, 4, 1, 1),
    (512, 4, 4, 1, 1),
    (512, 2, 4, 1, 1),
    (32, 8, 4, 1, 1),
    (4096, 8, 4, 1, 1),
    (4096, 8, 4, 2, 1),
    (4096, 8, 4, 4, 1),
    (64, 8, 1, 1, 0),
    (64, 8, 1, 1, 2),
    (64, 8, 1, 1, 3),
    (16, 8, 4, 1, 0),
    (4096, 1, 1, 1, 0),
    (2048, 2, 1, 2, 3),
    (16, 1, 1, 1, 3),
    (4096, 8, 8, 4, 3),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_page(tmp_path_factory, PAGE, "explorer10")


@pytest.fixture(scope="module")
def page(site):
    with open_page(site, PAGE, "#dpx") as tab:
        yield tab


def _slide(tab, key: str, index: int) -> None:
    """Move a range input to ``index`` with the keyboard, as a reader would."""
    tab.focus(f"#dpx-{key}")
    tab.keyboard.press("Home")
    for _ in range(index):
        tab.keyboard.press("ArrowRight")


def _labels(tab, key: str) -> list[int]:
    """What the page shows at every position of a slider (as integers), read by stepping."""
    n = tab.evaluate(f"() => +document.getElementById('dpx-{key}').max + 1")
    _slide(tab, key, 0)
    labels = []
    for i in range(n):
        if i:
            tab.keyboard.press("ArrowRight")
        labels.append(int(_text(tab, f"#dpx-{key}v").replace(",", "")))
    return labels


@pytest.fixture(scope="module")
def axes(page):
    return {k: _labels(page, k) for k in SLIDERS}


def _set(tab, axes, setting) -> None:
    for key, value in zip(SLIDERS, setting, strict=True):
        assert value in axes[key], (key, value, axes[key])
        _slide(tab, key, axes[key].index(value))


def _shown(tab) -> dict:
    ids = ("what", "state", "step", "asif", "bubble", "tput", "gpu", "mfu", "eff", "mem", "cap",
           "m0", "m1", "m2", "m3", *BARS)
    values = {k: _text(tab, f"#dpx-{k}") for k in ids}
    values["setting"] = tuple(int(_text(tab, f"#dpx-{k}v").replace(",", "")) for k in SLIDERS)
    values["state_class"] = tab.get_attribute("#dpx-state", "class")
    values["widths"] = tab.evaluate("""() => [...document.querySelectorAll('#dpx .dpx-bar')]
        .map(b => b.style.width)""")
    values["aria"] = tab.get_attribute("#dpx-bars", "aria-label")
    return values


def _expected(gpus: int, tp: int, pp: int, b: int, zero: int) -> dict:
    """The solver's answer at these sizes, solved here: the values or the refusal."""
    fleet = Fleet(node="DGX_H100", count=gpus // 8, fabric=FABRIC)
    dp = gpus // (tp * pp) if gpus % (tp * pp) == 0 else None
    local = BATCH // dp if dp and BATCH % dp == 0 else None
    if local is not None and local % b:
        return {"err": f"b = {b} does not divide each replica's {local} sequence(s)"}
    try:
        r = DM.solve(Models.get(MODEL), fleet, batch_size=BATCH, seq_len=SEQ, tp_size=tp,
                     pp_size=pp, microbatch_count=local // b if local else None,
                     zero_stage=zero, activation_recomputation=RECOMPUTE)
    except ValueError as e:
        return {"err": str(e)}
    assert (r.tp, r.pp, r.dp, r.microbatch_size, r.devices) == (tp, pp, dp, b, gpus)
    assert r.dp * r.microbatch_count * b == BATCH
    mem = r.memory.as_dict()
    out = {"r": r, "ok": r.feasible,
           "what": f"tp {tp} × pp {pp} × dp {dp} on {gpus:,} H100s: {r.microbatch_count} "
                   f"microbatch(es) of {b} per replica",
           "step": fmt(Q_(r.step_s, "s")),
           "bubble": f"{(pp - 1) / (r.microbatch_count + pp - 1):.1%}",
           "mem": fmt(Q_(r.memory.total, "B")), "cap": fmt(Q_(r.capacity_bytes, "B")),
           "parts": [fmt(Q_(dict(r.parts_s)[k], "s")) for k in PARTS],
           "memparts": [fmt(Q_(mem[k], "B")) for k in MEMORY]}
    if r.feasible:
        tokens_s = BATCH * SEQ / r.step_s
        out.update(tput=fmt(Q_(tokens_s, "token/s")),
                   gpu=fmt(Q_(tokens_s / gpus, "token/s")),
                   mfu=f"{r.model_flops / (r.step_s * gpus * r.peak_flops):.1%}",
                   eff=f"{r.dp_free_step_s / r.step_s:.1%}")
    return out


def _random_samples(n: int, seed: int = 10) -> list[tuple]:
    rng = random.Random(seed)
    return [(rng.choice([16, 32, 64, 128, 256, 512, 1024, 2048, 4096]), rng.choice([1, 2, 4, 8]),
             rng.choice([1, 2, 4, 8]), rng.choice([1, 2, 4]), rng.randint(0, 3))
            for _ in range(n)]


def test_the_page_states_the_inputs_the_test_solves(page):
    """The explorer's data attributes are the scenario this test solves on its own."""
    attrs = {k: page.get_attribute("#dpx", f"data-{k}")
             for k in ("batch", "seq", "model", "fabric", "recompute")}
    assert attrs == {"batch": str(BATCH), "seq": str(SEQ), "model": MODEL, "fabric": FABRIC,
                     "recompute": RECOMPUTE}


@pytest.mark.parametrize("setting", SAMPLES + _random_samples(8))
def test_shown_values_equal_the_distributed_model(page, axes, setting):
    _set(page, axes, setting)
    shown = _shown(page)
    assert shown["setting"] == setting
    expected = _expected(*setting)
    if "err" in expected:
        g, tp, pp = setting[:3]
        assert shown["what"] == f"{g:,} H100s, tp {tp}, pp {pp}: no such layout"
        assert shown["state"] == expected["err"] and shown["state_class"] == "dpx-bad"
        for key in ("step", "bubble", "tput", "gpu", "mfu", "eff", "mem", "cap", "m0", "m1",
                    "m2", "m3", *BARS):
            assert shown[key] == "—", key
        assert shown["asif"] == "" and set(shown["widths"]) == {"0%"}
        assert shown["aria"] == "No step: " + expected["err"]
        assert page.errors == []
        return
    assert shown["what"] == expected["what"]
    for key in ("step", "bubble", "mem", "cap"):
        assert shown[key] == expected[key], (key, shown[key], expected[key])
    assert [shown[f"m{i}"] for i in range(4)] == expected["memparts"]
    assert [shown[k] for k in BARS] == expected["parts"]
    if expected["ok"]:
        assert shown["state_class"] == "dpx-good" and shown["state"].startswith("Fits")
        assert shown["asif"] == ""
        for key in ("tput", "gpu", "mfu", "eff"):
            assert shown[key] == expected[key], (key, shown[key], expected[key])
    else:
        assert shown["state_class"] == "dpx-bad"
        assert shown["state"] == (f"Does not fit: the busiest GPU needs {expected['mem']}, "
                                  f"{expected['cap']} usable")
        assert shown["asif"] == "(as if it fit)"
        assert shown["tput"] == "none (does not fit)"
        for key in ("gpu", "mfu", "eff"):
            assert shown[key] == "none", key
    # the bars: each part's share of the step, in per cent (rounded to 0.01 on the page)
    r = expected["r"]
    parts = dict(r.parts_s)
    for width, key in zip(shown["widths"], PARTS, strict=True):
        assert width.endswith("%")
        assert float(width[:-1]) == pytest.approx(100 * parts[key] / r.step_s, abs=0.006)
    assert sum(float(w[:-1]) for w in shown["widths"]) == pytest.approx(
        100 * (1 - parts.get("ep_communication", 0.0) / r.step_s), abs=0.05)
    names = ["Compute", "TP communication", "PP communication", "DP communication (exposed)",
             "Optimizer", "Pipeline bubble"]
    assert shown["aria"] == "Where the step goes: " + ", ".join(
        f"{n} {v}" for n, v in zip(names, expected["parts"], strict=True))
    assert page.errors == []


def test_the_page_opens_on_the_reference_layout(page, site):
    """Default: tp 8 × pp 4 × dp 16 on 512 GPUs, b = 1, ZeRO-1 (the page's strategy A); and no
    request leaves the page."""
    page.goto(page.url, wait_until="load")  # a fresh navigation: no restored form state
    page.locator("#dpx").scroll_into_view_if_needed()
    shown = _shown(page)
    assert shown["setting"] == (512, 8, 4, 1, 1)
    assert shown["step"] == _expected(512, 8, 4, 1, 1)["step"]
    html = (site / Path(PAGE).with_suffix(".html")).read_text(encoding="utf-8")
    explorer = html.split('id="dpx"')[1].split("</script>")[0]
    assert "cdn" not in explorer.lower()
    assert not re.search(r"https?://", explorer)
    assert page.errors == []


def test_the_sliders_work_from_the_keyboard(page, axes):
    """Home and End reach both ends, the arrow keys step one position, and each slider has a
    label and a spoken value; the grids are the ones the page describes."""
    assert axes == {"g": [16, 32, 64, 128, 256, 512, 1024, 2048, 4096], "t": [1, 2, 4, 8],
                    "p": [1, 2, 4, 8], "b": [1, 2, 4], "z": [0, 1, 2, 3]}
    for key in SLIDERS:
        assert page.locator(f"label[for='dpx-{key}']").count() == 1, key
    page.focus("#dpx-g")
    page.keyboard.press("End")
    assert _text(page, "#dpx-gv") == "4,096"
    page.keyboard.press("ArrowLeft")
    assert _text(page, "#dpx-gv") == "2,048"
    assert page.get_attribute("#dpx-g", "aria-valuetext") == "2,048 GPUs"
    page.focus("#dpx-z")
    page.keyboard.press("Home")
    assert _text(page, "#dpx-zv") == "0"
    page.keyboard.press("ArrowUp")
    assert _text(page, "#dpx-zv") == "1"
    assert page.get_attribute("#dpx-z", "aria-valuetext") == "ZeRO stage 1"
    page.focus("#dpx-t")
    page.keyboard.press("End")
    assert page.get_attribute("#dpx-t", "aria-valuetext") == "tensor parallel 8"
    assert page.get_attribute("#dpx-readout", "aria-live") == "polite"
    assert page.errors == []


def test_an_input_event_is_answered_within_50_ms(page):
    """An input event on every control is answered within 50 ms (see
    :func:`explorer_support.response_times`)."""
    controls = ["dpx-g", "dpx-t", "dpx-p", "dpx-b", "dpx-z"]
    layout = response_times(page, controls, "dpx", 50, stride=3)
    assert layout[-1] < BUDGET_MS, layout
    assert page.errors == []

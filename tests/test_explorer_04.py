"""The explorer of tutorial 04 (two phases) in a browser: at sampled settings of its controls,
every value it shows equals the serving model's (and the engine's verdict) at the same inputs,
formatted with ``mlsysim.fmt``; the controls work from the keyboard; and an input event is
answered within 50 ms.

The page is built in a copy of the project (as tests/test_classroom_boxes.py does for a real
tutorial) and opened in Debian's Chromium. The expected values are solved here, independently
of the page: the test reads which inputs the page says it shows (machine, prompt, batch, prefill
mode) and solves exactly those.
"""

import random
from pathlib import Path

import pytest
from explorer_support import build_page, open_page, response_times
from explorer_support import slide as _slide
from explorer_support import text as _text

from mlsysim import Q_, Engine, Hardware, Models, ServingModel, fmt

pytestmark = pytest.mark.slow
PAGE = "tutorials/04_two_phases.qmd"
LLAMA = Models.Llama3_8B
REPLY = 128  # output tokens, as on the page
SERVE = ServingModel()
MODES = {"one prompt at a time": "separate", "the batch's prompts together": "together"}
NONE = "none (does not fit)"
BUDGET_MS = 50.0
# (machine, prompt, batch, mode): the page's default, feasible and infeasible points, both
# prefill modes, a memory limit hit only when prefilling together, every machine
SAMPLES = [
    ("H100", 2048, 1, "separate"),
    ("B200", 128, 256, "together"),
    ("M2 Ultra", 4096, 512, "separate"),     # does not fit
    ("A100", 512, 64, "together"),
    ("H200", 1024, 8, "separate"),
    ("H100", 2048, 128, "together"),
    ("H100", 2048, 256, "together"),         # does not fit
    ("M2 Ultra", 128, 32, "separate"),
    ("A100", 4096, 128, "together"),         # does not fit
    ("B200", 4096, 256, "together"),         # does not fit together; fits one at a time
    ("B200", 4096, 256, "separate"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_page(tmp_path_factory, PAGE, "explorer04")


@pytest.fixture(scope="module")
def page(site):
    with open_page(site, PAGE, "#tp-explorer") as tab:
        yield tab


def _index(options: list[str], wanted: str) -> int:
    assert wanted in options, (wanted, options)
    return options.index(wanted)


def _set(tab, machine: str, prompt: int, batch: int, mode: str) -> None:
    axes = tab.evaluate("() => ({nlen: +document.getElementById('tp-len').max + 1,"
                        " nb: +document.getElementById('tp-b').max + 1})")
    tab.select_option("#tp-dev", label=machine)
    mode_label = next(k for k, v in MODES.items() if v == mode)
    tab.select_option("#tp-mode", label=mode_label)
    # find the slider positions by reading the labels the page shows at each one
    prompts, batches = [], []
    for selector, shown, labels, n in (("#tp-len", "#tp-lenv", prompts, axes["nlen"]),
                                       ("#tp-b", "#tp-bv", batches, axes["nb"])):
        _slide(tab, selector, 0)
        for i in range(n):
            if i:
                tab.keyboard.press("ArrowRight")
            labels.append(_text(tab, shown))
    _slide(tab, "#tp-len", _index(prompts, f"{prompt:,}"))
    _slide(tab, "#tp-b", _index(batches, f"{batch:,}"))


def _shown(tab) -> dict:
    """What the explorer shows, and the inputs it says it shows them for."""
    values = {k: _text(tab, f"#tp-{k}") for k in
              ("ttft", "pre", "itl", "itll", "dec", "e2e", "tps", "mem", "max")}
    machine = tab.evaluate("() => { const s = document.getElementById('tp-dev');"
                           " return s.options[s.selectedIndex].text; }")
    mode = tab.evaluate("() => { const s = document.getElementById('tp-mode');"
                        " return s.options[s.selectedIndex].text; }")
    values.update(machine=machine, mode=MODES[mode],
                  prompt=int(_text(tab, "#tp-lenv").replace(",", "")),
                  batch=int(_text(tab, "#tp-bv").replace(",", "")),
                  status=_text(tab, "#tp-status"))
    return values


def _largest_together(hw, prompt: int) -> int:
    """Largest batch whose prompts fit when prefilled together, by the solver's feasibility
    (which grows monotonically harder with the batch): gallop up, then bisect."""
    def fits(b: int) -> bool:
        return b == 0 or SERVE.solve(LLAMA, hw, seq_len=prompt, batch_size=b,
                                     prefill="together", output_len=REPLY).feasible

    lo, hi = 0, 1
    while fits(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # fits(lo), not fits(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    assert fits(lo) and not fits(lo + 1)
    return lo


def _expected(machine: str, prompt: int, batch: int, mode: str) -> dict:
    hw = getattr(Hardware, machine.replace(" ", "_"))
    r = SERVE.solve(LLAMA, hw, seq_len=prompt, batch_size=batch, prefill=mode,
                    output_len=REPLY)
    mem = f"{fmt(r.total_memory_required)} / {fmt(Q_(r.capacity_bytes, 'B'))}"
    # prefilled together, max_batch_size ignores the batched prefill's activations (the page
    # searches too): ask the solver's feasibility instead
    largest = r.max_batch_size if mode == "separate" else _largest_together(hw, prompt)
    if not r.feasible:
        return {k: NONE for k in ("ttft", "pre", "itl", "itll", "dec", "e2e", "tps")} | {
            "mem": mem, "max": f"{largest:,}", "feasible": False}
    pre = Engine.solve(LLAMA, hw, phase="prefill", seq_len=prompt,
                       batch_size=batch if mode == "together" else 1)
    dec = Engine.solve(LLAMA, hw, seq_len=prompt, batch_size=batch)
    assert dec.latency_s == pytest.approx(r.itl_s, rel=1e-12)  # the same decode step
    return {"ttft": fmt(r.ttft), "pre": str(pre.bottleneck), "itl": fmt(r.itl),
            "itll": fmt(r.itl_last), "dec": str(dec.bottleneck), "e2e": fmt(r.e2e_latency),
            "tps": fmt(r.tokens_per_sec), "mem": mem, "max": f"{largest:,}", "feasible": True}


def _random_samples(n: int, seed: int = 4) -> list[tuple]:
    rng = random.Random(seed)
    return [(rng.choice(["A100", "H100", "H200", "B200", "M2 Ultra"]),
             rng.choice([128, 256, 512, 1024, 2048, 4096]), rng.choice([2 ** k for k in range(10)]),
             rng.choice(["separate", "together"])) for _ in range(n)]


@pytest.mark.parametrize("machine, prompt, batch, mode", SAMPLES + _random_samples(4))
def test_shown_values_equal_the_serving_model(page, machine, prompt, batch, mode):
    _set(page, machine, prompt, batch, mode)
    shown = _shown(page)
    assert (shown["machine"], shown["prompt"], shown["batch"], shown["mode"]) == \
        (machine, prompt, batch, mode)
    expected = _expected(machine, prompt, batch, mode)
    for key in ("ttft", "pre", "itl", "itll", "dec", "e2e", "tps", "mem", "max"):
        assert shown[key] == expected[key], (key, shown[key], expected[key])
    if expected["feasible"]:
        assert "does not fit" not in shown["status"]
    else:
        need, has = expected["mem"].split(" / ")
        assert f"does not fit in memory (needs {need}, has {has})" in shown["status"]
    assert page.errors == []


def test_the_page_opens_on_one_h100_request(site):
    """The default settings match the request the page's prose discusses."""
    html = (site / Path(PAGE).with_suffix(".html")).read_text(encoding="utf-8")
    assert 'id="tp-explorer"' in html and "<script" in html
    assert "cdn" not in html.lower().split('id="tp-explorer"')[1].split("</script>")[0]


def test_controls_have_labels_and_spoken_values(page):
    for control in ("tp-dev", "tp-len", "tp-b", "tp-mode"):
        assert page.locator(f"label[for='{control}']").count() == 1, control
    _set(page, "H100", 512, 16, "separate")
    assert page.get_attribute("#tp-len", "aria-valuetext") == "512 tokens"
    assert page.get_attribute("#tp-b", "aria-valuetext") == "batch 16"
    label = page.get_attribute("#tp-svg", "aria-label")
    r = SERVE.solve(LLAMA, Hardware.H100, seq_len=512, batch_size=16, output_len=REPLY)
    assert fmt(r.ttft) in label and fmt(r.itl) in label
    assert page.get_attribute("#tp-readout", "aria-live") == "polite"


def test_an_input_event_is_answered_within_50_ms(page):
    """An input event on every control is answered within 50 ms (see
    :func:`explorer_support.response_times`)."""
    layout = response_times(page, ["tp-b", "tp-len", "tp-dev", "tp-mode"], "tp-explorer", 40)
    assert layout[-1] < BUDGET_MS, layout
    assert page.errors == []

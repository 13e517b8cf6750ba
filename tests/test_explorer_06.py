"""The explorer of tutorial 06 (quantisation and speculative decoding) in a browser: at sampled
settings of its controls, every value it shows equals the serving model's at the same inputs,
formatted with ``mlsysim.fmt``; the controls work from the keyboard; and an input event is
answered within 50 ms.

The page is built in a copy of the project (as tests/test_explorer_04.py does) and opened in
Debian's Chromium. The expected values are solved here, independently of the page: the test reads
which inputs the page says it shows (precision, users, draft length, acceptance rate) and solves
exactly those. The break-even acceptance rate is found here by bisecting the solver's own speedup
(the page bisects the expected tokens per round instead), and the expected tokens per round are
checked against Leviathan et al.'s formula, worked out by hand below.
"""

import random
from pathlib import Path

import pytest
from explorer_support import build_page, open_page, response_times
from explorer_support import labels as _labels
from explorer_support import slide as _slide
from explorer_support import text as _text

from mlsysim import Q_, Models, ServingModel, Systems, fmt

pytestmark = pytest.mark.slow
PAGE = "tutorials/06_quantization_and_speculation.qmd"
TARGET, DRAFT, NODE = Models.Llama3_70B, Models.Llama3_8B, Systems.DGX_H100
PROMPT, REPLY = 1024, 256  # as on the page
SERVE = ServingModel()
NEVER = "never (even perfect guesses do not pay)"
BUDGET_MS = 50.0
# (precision, users, draft length, acceptance rate): the page's default, both ends of both
# sliders, both precisions, every batch, points that pay and points that do not
SAMPLES = [
    ("fp16", 1, 4, "0.70"),
    ("fp16", 1, 1, "0.00"),
    ("fp16", 1, 8, "1.00"),
    ("fp8", 8, 3, "0.55"),
    ("fp16", 128, 4, "0.70"),
    ("fp8", 256, 8, "0.95"),
    ("fp16", 256, 1, "0.30"),
    ("fp8", 32, 6, "0.85"),
    ("fp8", 1, 2, "0.05"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_page(tmp_path_factory, PAGE, "explorer06")


@pytest.fixture(scope="module")
def page(site):
    with open_page(site, PAGE, "#sd-explorer") as tab:
        yield tab


def _set(tab, precision: str, users: int, k: int, alpha: str) -> None:
    tab.select_option("#sd-p", value=precision)
    tab.select_option("#sd-b", value=str(users))
    ks, alphas = _labels(tab, "#sd-k", "#sd-kv"), _labels(tab, "#sd-a", "#sd-av")
    assert str(k) in ks and alpha in alphas, (k, ks, alpha, alphas)
    _slide(tab, "#sd-k", ks.index(str(k)))
    _slide(tab, "#sd-a", alphas.index(alpha))


def _shown(tab) -> dict:
    """What the explorer shows, and the inputs it says it shows them for."""
    values = {k: _text(tab, f"#sd-{k}") for k in
              ("tpr", "round", "itl0", "itl", "speed", "verdict", "tps0", "tps", "be")}
    values.update(
        precision=tab.evaluate("() => document.getElementById('sd-p').value"),
        users=int(tab.evaluate("() => document.getElementById('sd-b').value")),
        k=int(_text(tab, "#sd-kv")), alpha=_text(tab, "#sd-av"))
    return values


def _solve(precision: str, users: int, k: int | None = None, alpha: float | None = None):
    kw = {} if k is None else {"draft_model": DRAFT, "draft_len": k,
                               "draft_acceptance_rate": alpha}
    return SERVE.solve(TARGET, NODE, seq_len=PROMPT, output_len=REPLY, batch_size=users,
                       precision=precision, **kw)


def _break_even(precision: str, users: int, k: int) -> float | None:
    """Where the solver's speedup crosses 1, by bisection on the acceptance rate (the speedup
    rises with it); None if even every guess accepted does not pay."""
    plain = _solve(precision, users).itl_s

    def pays(a: float) -> bool:
        return plain / _solve(precision, users, k, a).itl_s >= 1.0

    if not pays(1.0):
        return None
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if pays(mid) else (mid, hi)
    return (lo + hi) / 2


def _by_hand(alpha: float, k: int) -> float:
    """Expected tokens per round: a round yields i + 1 tokens with probability a^i (1 - a) for
    i < k (the first i guesses accepted, the next rejected and replaced by the target's), and
    k + 1 with probability a^k (all accepted)."""
    return sum((i + 1) * alpha ** i * (1 - alpha) for i in range(k)) + (k + 1) * alpha ** k


def _expected(precision: str, users: int, k: int, alpha: str) -> dict:
    a = float(alpha)
    plain, spec = _solve(precision, users), _solve(precision, users, k, a)
    assert plain.feasible and spec.feasible
    assert spec.tokens_per_round == pytest.approx(_by_hand(a, k), rel=1e-12)
    x = plain.itl_s / spec.itl_s
    be = _break_even(precision, users, k)
    return {"tpr": fmt(spec.tokens_per_round), "round": fmt(Q_(spec.itl_s * spec.tokens_per_round,
                                                                 "s")),
            "itl0": fmt(plain.itl), "itl": fmt(spec.itl), "speed": fmt(x) + "×",
            "verdict": "faster" if x > 1 else "slower" if x < 1 else "no change",
            "tps0": fmt(plain.tokens_per_sec), "tps": fmt(spec.tokens_per_sec),
            "be": NEVER if be is None else fmt(be)}


def _random_samples(n: int, seed: int = 6) -> list[tuple]:
    rng = random.Random(seed)
    return [(rng.choice(["fp16", "fp8"]), rng.choice([1, 8, 32, 128, 256]), rng.randint(1, 8),
             f"{rng.randint(0, 20) * 0.05:.2f}") for _ in range(n)]


@pytest.mark.parametrize("precision, users, k, alpha", SAMPLES + _random_samples(4))
def test_shown_values_equal_the_serving_model(page, precision, users, k, alpha):
    _set(page, precision, users, k, alpha)
    shown = _shown(page)
    assert (shown["precision"], shown["users"], shown["k"], shown["alpha"]) == \
        (precision, users, k, alpha)
    expected = _expected(precision, users, k, alpha)
    for key, value in expected.items():
        assert shown[key] == value, (key, shown[key], value)
    assert page.errors == []


def test_the_page_opens_on_the_request_the_prose_discusses(page, site):
    """Default settings: one user, 16 bits, a 4-token draft accepted at 0.7 (the Predict
    section's question); and no request leaves the page."""
    page.goto(page.url, wait_until="load")  # a fresh navigation: no restored form state
    shown = _shown(page)
    assert (shown["precision"], shown["users"], shown["k"], shown["alpha"]) == \
        ("fp16", 1, 4, "0.70")
    html = (site / Path(PAGE).with_suffix(".html")).read_text(encoding="utf-8")
    explorer = html.split('id="sd-explorer"')[1].split("</script>")[0]
    assert "cdn" not in explorer.lower() and "http" not in explorer.replace(
        "http://www.w3.org/2000/svg", "")


def test_controls_have_labels_and_spoken_values(page):
    for control in ("sd-p", "sd-b", "sd-k", "sd-a"):
        assert page.locator(f"label[for='{control}']").count() == 1, control
    _set(page, "fp16", 8, 2, "0.60")
    assert page.get_attribute("#sd-k", "aria-valuetext") == "2 tokens"
    assert page.get_attribute("#sd-a", "aria-valuetext") == "acceptance 0.60"
    label = page.get_attribute("#sd-svg", "aria-label")
    plain, spec = _solve("fp16", 8), _solve("fp16", 8, 2, 0.6)
    assert fmt(plain.itl_s / spec.itl_s) + "×" in label
    assert fmt(_break_even("fp16", 8, 2)) in label
    assert page.get_attribute("#sd-readout", "aria-live") == "polite"


def test_an_input_event_is_answered_within_50_ms(page):
    """An input event on every control is answered within 50 ms (see
    :func:`explorer_support.response_times`)."""
    layout = response_times(page, ["sd-a", "sd-k", "sd-b", "sd-p"], "sd-explorer", 40)
    assert layout[-1] < BUDGET_MS, layout
    assert page.errors == []

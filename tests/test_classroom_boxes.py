"""The classroom boxes (assets/classroom.js) in a browser: "predict, then reveal" and "check my
answer", on a built fixture site (tests/data/classroom_site) and on a real tutorial; and the
Quarto includes (format.html include-in-header/-before-body/-after-body) that load them.

The fixture declares its answers by hand (12.5 ms, "Memory", {"H100", "H200"}, -0.25, 160 ± 10,
yes), so every expected verdict and ratio below is worked out from those numbers. The site is
built with the project's own include (format.html include-after-body of _quarto.yml) and
assets, so the test exercises what the real site ships.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sitebuild import check
from sitebuild.build import build_site, format_errors
from sitebuild.check_server import serve
from sitebuild.errors import PageError
from sitebuild.layout import PageInfo, SiteChrome, page_html
from sitebuild.navigation import build_navigation
from sitebuild.pandoc import Rendered

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "data" / "classroom_site"
TUTORIAL = "tutorials/00_hello_roofline.qmd"
MINUS = "\u2212"  # the boxes print negative numbers with a real minus sign


def _quiet(_msg):
    pass


def _include() -> list:
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    return config["format"]["html"]["include-after-body"]


def _make_site(dest: Path) -> Path:
    shutil.copytree(FIXTURE, dest)
    (dest / "filters").mkdir()
    shutil.copy(ROOT / "filters" / "solutions.lua", dest / "filters")
    for name in ("classroom.js", "classroom.css"):
        shutil.copy(ROOT / "assets" / name, dest / "assets" / name)
    config = yaml.safe_load((dest / "_quarto.yml").read_text(encoding="utf-8"))
    config["format"]["html"]["include-after-body"] = _include()
    (dest / "_quarto.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = _make_site(tmp_path_factory.mktemp("classroom") / "site")
    report = build_site(root, jobs=2, log=_quiet)
    assert report.ok, format_errors(report.errors)
    return root / "_site"


@pytest.fixture(scope="module")
def base(site):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=check.chromium_path(),
                                     args=check.CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """One browser context (its own localStorage) that records console errors."""

    def __init__(self, browser, base):
        self.base, self.errors = base, []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, rel: str):
        self.page.goto(f"{self.base}/{rel}", wait_until="load")
        return self.page

    def text(self, selector: str) -> str:
        return " ".join(self.page.inner_text(selector).split())


@pytest.fixture
def tab(browser, base):
    tab = Tab(browser, base)
    yield tab
    tab.context.close()


def _follows(page, first: str, second: str) -> bool:
    return page.evaluate("([a, b]) => !!(document.querySelector(a).compareDocumentPosition("
                         "document.querySelector(b)) & Node.DOCUMENT_POSITION_FOLLOWING)",
                         [first, second])


# -- the includes that load the script --------------------------------------------------------
def _page(rel: str, html_options: dict) -> str:
    nav = build_navigation({}, {}, set())
    parts = Rendered(title="T", pagetitle="T", body="<p>Body text.</p>")
    meta = {"title": "T", "format": {"html": html_options}}
    return page_html(SiteChrome(title="S"), nav, PageInfo(rel, meta), parts, {})


def test_inline_includes_are_copied_verbatim_where_quarto_puts_them():
    options = {"include-in-header": [{"text": "<meta name='x-head' content='1'>"}],
               "include-before-body": {"text": "<div id='x-before'></div>\n"},
               "include-after-body": [{"text": "<script>var a = 1;</script>"},
                                      {"text": "<script>var b = 2;</script>"}]}
    for rel, offset in (("index.qmd", "./"), ("a/b/page.qmd", "../../")):
        text = _page(rel, options)
        head, body = text.split("</head>")
        assert f'<meta name="quarto:offset" content="{offset}">' in head
        assert head.rstrip().endswith("<meta name='x-head' content='1'>")
        assert body.split("\n")[1:3] == ['<body class="sb">', "<div id='x-before'></div>"]
        assert body.endswith("\n<script>var a = 1;</script>\n<script>var b = 2;</script>\n"
                             "</body>\n</html>\n")
    assert "x-head" not in _page("index.qmd", {})


@pytest.mark.parametrize("value", ["assets/classroom-include.html",
                                   [{"file": "assets/classroom-include.html"}]])
def test_a_file_include_is_refused_with_the_option_named(value):
    with pytest.raises(PageError, match=r"format\.html\.include-after-body: .*inline includes"):
        _page("tutorials/x.qmd", {"include-after-body": value})


def test_the_project_loads_the_boxes_from_the_site_root():
    loader = _include()[0]["text"]
    assert "quarto:offset" in loader
    for name in ("assets/classroom.js", "assets/classroom.css"):
        assert f'"{name}"' in loader and (ROOT / name).is_file()


# -- predict, then reveal ---------------------------------------------------------------------
@pytest.mark.slow
def test_the_guess_form_ends_the_predict_section(tab):
    page = tab.open("lessons/quiz.html")
    form = "#mlsysim-guess-step_time"
    assert _follows(page, "#predict", form) and _follows(page, form, "#compute")
    assert tab.text(form + " label") == "Your guess for one decode step"
    assert tab.text(form + " .mlsysim-unit") == "ms"
    # the guess for the speed-up goes inside the callout titled "Predict the speed-up"
    assert page.evaluate("document.querySelector('#mlsysim-guess-speedup')"
                         ".closest('.callout-body') !== null")
    # before a guess, the Compute section asks for one and links to the form
    link = page.locator("#mlsysim-reveal-step_time a")
    assert link.inner_text() == "Make a guess above first"
    assert link.get_attribute("href") == "#mlsysim-guess-step_time"
    assert "12.5" not in tab.text("#mlsysim-reveal-step_time")
    assert tab.errors == []


@pytest.mark.slow
def test_a_guess_persists_and_compute_shows_it_beside_the_value(tab):
    page = tab.open("lessons/quiz.html")
    field = page.locator("#mlsysim-guess-step_time-input")
    field.fill("25")
    field.press("Enter")  # the keyboard saves it, as the button does
    status = tab.text("#mlsysim-guess-step_time .mlsysim-status")
    assert status.startswith("Saved: 25 ms.") and "Compute" in status
    expected = "Your guess: 25 ms · engine: 12.5 ms · ratio Y/X = 0.5"  # 12.5 / 25
    assert tab.text("#mlsysim-reveal-step_time") == expected
    page.reload(wait_until="load")
    assert page.locator("#mlsysim-guess-step_time-input").input_value() == "25"
    assert tab.text("#mlsysim-guess-step_time .mlsysim-status").startswith("Saved: 25 ms.")
    assert tab.text("#mlsysim-reveal-step_time") == expected
    stored = page.evaluate("localStorage.getItem('mlsysim:guess:lessons/quiz:step_time')")
    assert stored == "25"
    # the guess belongs to this page and this prediction only
    assert "Make a guess" in tab.text("#mlsysim-reveal-speedup")
    assert tab.errors == []


@pytest.mark.slow
def test_unitless_guesses_show_three_significant_figures(tab):
    page = tab.open("lessons/quiz.html")
    page.fill("#mlsysim-guess-speedup-input", "7")
    page.click("#mlsysim-guess-speedup button")
    # 3.2 / 7 = 0.457142…
    assert tab.text("#mlsysim-reveal-speedup") == \
        "Your guess: 7 · engine: 3.2 · ratio Y/X = 0.457"
    assert tab.errors == []


@pytest.mark.slow
def test_invalid_zero_and_negative_guesses(tab):
    page = tab.open("lessons/quiz.html")
    field = page.locator("#mlsysim-guess-speedup-input")
    field.fill("fast")
    field.press("Enter")
    assert tab.text("#mlsysim-guess-speedup .mlsysim-status").startswith("Not saved:")
    assert field.get_attribute("aria-invalid") == "true"
    assert "Make a guess" in tab.text("#mlsysim-reveal-speedup")
    field.fill("0")
    field.press("Enter")
    assert tab.text("#mlsysim-reveal-speedup") == \
        "Your guess: 0 · engine: 3.2 · ratio Y/X: undefined for a guess of 0"
    assert field.get_attribute("aria-invalid") is None
    field.fill("-1.6")
    field.press("Enter")
    assert tab.text("#mlsysim-reveal-speedup") == (
        f"Your guess: {MINUS}1.6 · engine: 3.2 · ratio Y/X = {MINUS}2 (opposite signs)")
    assert tab.errors == []


# -- check my answer --------------------------------------------------------------------------
@pytest.mark.slow
def test_check_boxes_stand_before_their_solutions(tab):
    page = tab.open("lessons/quiz.html")
    boxes = page.locator("form.mlsysim-check")
    assert boxes.count() == 2
    for i in range(2):
        after = boxes.nth(i).evaluate("b => b.nextElementSibling.matches('details.solution')")
        assert after
    assert "Exercise 1: one step, four answers" in tab.text("#mlsysim-check-1-title")
    assert "Exercise 2: a change and a count" in tab.text("#mlsysim-check-2-title")
    # one labelled input per checkable answer; the free-text answer gets a note instead
    names = boxes.nth(0).evaluate(
        "b => [...b.querySelectorAll('input')].map(i => [i.labels[0].innerText.trim(),"
        " i.getAttribute('aria-describedby')])")
    assert [n for n, _ in names] == ["latency", "bottleneck", "fits"]
    assert all(d and d.endswith("-verdict") for _, d in names)
    assert "why: free text" in tab.text("#mlsysim-check-1 .mlsysim-free")
    assert page.locator("#mlsysim-check-1 .mlsysim-verdict").first.get_attribute(
        "aria-live") == "polite"
    assert page.locator("#mlsysim-check-1 .mlsysim-summary").get_attribute("aria-live") == \
        "polite"
    assert tab.errors == []


@pytest.mark.slow
def test_right_answers_are_correct_a_choice_in_any_case(tab):
    page = tab.open("lessons/quiz.html")
    page.fill("#mlsysim-check-1-latency", "13")        # |13 - 12.5| = 0.5 ≤ 5 % of 12.5
    page.fill("#mlsysim-check-1-bottleneck", "  mEmOry ")
    page.fill("#mlsysim-check-1-fits", "H200, H100")
    page.press("#mlsysim-check-1-fits", "Enter")
    for name in ("latency", "bottleneck", "fits"):
        assert tab.text(f"#mlsysim-check-1-{name}-verdict") == f"{name}: correct"
        assert page.get_attribute(f"#mlsysim-check-1-{name}", "aria-invalid") is None
    assert tab.text("#mlsysim-check-1 .mlsysim-summary") == "All 3 answers are correct."
    assert tab.errors == []


@pytest.mark.slow
def test_wrong_answers_say_how_far_off_without_the_value(tab):
    page = tab.open("lessons/quiz.html")
    page.fill("#mlsysim-check-1-latency", "25")
    page.fill("#mlsysim-check-1-bottleneck", "compute")
    page.fill("#mlsysim-check-1-fits", "H100, B200")
    page.click("#mlsysim-check-1 button")
    latency = tab.text("#mlsysim-check-1-latency-verdict")
    # 25 against 12.5: the high side, not by more than 2x; 5 % is the declared tolerance
    assert latency == "latency: 25 ms is too high (allowed: within ±5 %)"
    assert tab.text("#mlsysim-check-1-bottleneck-verdict") == \
        "bottleneck: “compute” is not the answer"
    fits = tab.text("#mlsysim-check-1-fits-verdict")
    assert fits == "fits: 1 missing; not in the answer: B200"
    for text in (latency, fits):
        assert "12.5" not in text and "H200" not in text and "Memory" not in text
    for name in ("latency", "bottleneck", "fits"):
        assert page.get_attribute(f"#mlsysim-check-1-{name}", "aria-invalid") == "true"
    assert tab.text("#mlsysim-check-1 .mlsysim-summary") == "0 of 3 correct."
    # editing an answer clears its verdict until the next check
    page.fill("#mlsysim-check-1-latency", "12.5")
    assert tab.text("#mlsysim-check-1-latency-verdict") == ""
    assert tab.errors == []


@pytest.mark.slow
def test_tolerances_signs_and_yes_no(tab):
    page = tab.open("lessons/quiz.html")
    box = "#mlsysim-check-2"

    def check(change, crossover, memory_bound):
        page.fill(f"{box}-change", change)
        page.fill(f"{box}-crossover", crossover)
        page.fill(f"{box}-is_memory_bound", memory_bound)
        page.click(f"{box} button")
        return [tab.text(f"{box}-{n}-verdict")
                for n in ("change", "crossover", "is_memory_bound")]

    # -0.26 is within 10 % of -0.25; 169 within ± 10 of 160; True was declared, read as "yes"
    assert check("-0.26", "169", "Yes") == ["change: correct", "crossover: correct",
                                          "is_memory_bound: correct"]
    assert check("0.25", "171", "no") == [
        "change: 0.25 has the wrong sign (allowed: within ±10 %)",
        "crossover: 171 is too high (allowed: within ±10)",  # 171 against 160
        "is_memory_bound: “no” is not the answer"]
    assert check("1,2", "", "yes")[:2] == [
        "change: type a plain number (with a dot for decimals)", "crossover: no answer yet"]
    assert tab.text(f"{box} .mlsysim-summary") == "1 of 3 correct."
    assert tab.errors == []


# -- no declarations, the browser check -------------------------------------------------------
@pytest.mark.slow
def test_a_page_without_declarations_is_left_alone(tab):
    page = tab.open("index.html")
    assert page.evaluate("window.mlsysimClassroom && window.mlsysimClassroom.version") == 1
    assert page.locator(".mlsysim-box").count() == 0
    assert tab.errors == []


def _site_check(site: Path, *pages: str) -> subprocess.CompletedProcess:
    """``python -m sitebuild check`` (its own browser: this module's one stays open)."""
    argv = [sys.executable, "-m", "sitebuild", "check", "--site", str(site), "--no-screenshots"]
    argv += [arg for page in pages for arg in ("--page", page)]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_site_check_passes_and_catches_a_page_without_its_boxes(site, tmp_path):
    proc = _site_check(site)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "site"
    shutil.copytree(site, broken)
    page = broken / "lessons" / "quiz.html"
    text = page.read_text(encoding="utf-8")
    loader = _include()[0]["text"].rstrip("\n")
    assert loader in text
    page.write_text(text.replace(loader, ""), encoding="utf-8")
    proc = _site_check(broken, "lessons/quiz.html")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    problems = [line for line in proc.stdout.splitlines() if line.startswith("  ✗")]
    assert len(problems) == 1, proc.stdout
    assert problems[0].startswith("  ✗ classroom box not made: no box for 9 declared")
    assert "step_time" in problems[0]


@pytest.mark.slow
def test_the_student_edition_keeps_predictions_and_drops_check_boxes(site, tab, tmp_path):
    overlay = ROOT / "_quarto-student.yml"
    if not overlay.is_file():
        pytest.skip("no student profile in this checkout")
    root = site.parent
    shutil.copy(overlay, root / overlay.name)
    report = build_site(root, profile="student", jobs=2, log=_quiet)
    assert report.ok, format_errors(report.errors)
    out = root / (yaml.safe_load(overlay.read_text())["project"]["output-dir"])
    with serve(out) as url:
        tab.base = url
        page = tab.open("lessons/quiz.html")
        assert page.locator("form.mlsysim-check").count() == 0
        assert page.locator("form.mlsysim-guess").count() == 2
        assert page.locator(".mlsysim-reveal").count() == 2
    assert tab.errors == []


# -- a real tutorial --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tutorial_site(tmp_path_factory):
    """The project's pages and assets, copied, with only the tutorial built."""
    root = tmp_path_factory.mktemp("project") / "p"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(
        ".*", "_site*", "_build", "*.egg-info", "__pycache__", "benchmarks", "tests", "mlsysim",
        "sitebuild"))
    report = build_site(root, pages=[TUTORIAL], jobs=1, log=_quiet)
    assert report.ok, format_errors(report.errors)
    return root / "_site"


@pytest.mark.slow
def test_a_real_tutorial_gets_its_boxes(tutorial_site, browser):
    page_rel = Path(TUTORIAL).with_suffix(".html").as_posix()
    declared = [json.loads(s) for s in _declarations(tutorial_site / page_rel)]
    predictions = [d for d in declared if d["meta"].get("prediction")]
    answers = [d for d in declared if not d["meta"].get("prediction")]
    if not (predictions and answers):
        pytest.skip(f"{TUTORIAL} declares no predictions or answers yet")
    with serve(tutorial_site) as url:
        tab = Tab(browser, url)
        try:
            page = tab.open(page_rel)
            assert page.locator("form.mlsysim-guess").count() == len(
                {d["name"] for d in predictions})
            first = predictions[0]
            form = f"#mlsysim-guess-{first['name']}"
            assert _follows(page, form, f"#mlsysim-reveal-{first['name']}")
            page.fill(f"{form}-input", repr(first["value"] * 2))
            page.press(f"{form}-input", "Enter")
            page.reload(wait_until="load")
            assert tab.text(f"#mlsysim-reveal-{first['name']}").endswith("ratio Y/X = 0.5")
            # a number answer typed exactly is correct; three times it is too high, by > 2x
            number = next(d for d in answers if d["kind"] == "number")
            box = page.locator(f"form.mlsysim-check:has(input[id$='-{number['name']}'])")
            field = box.locator(f"input[id$='-{number['name']}']")
            field.fill(repr(number["value"]))
            field.press("Enter")
            verdict = box.locator(f"[id$='-{number['name']}-verdict']")
            assert verdict.inner_text() == f"{number['name']}: correct"
            field.fill(repr(number["value"] * 3))
            field.press("Enter")
            assert "is too high by more than 2×" in verdict.inner_text()
            choice = next(d for d in answers if d["kind"] == "choice")
            box = page.locator(f"form.mlsysim-check:has(input[id$='-{choice['name']}'])")
            box.locator(f"input[id$='-{choice['name']}']").fill(choice["value"].upper())
            box.locator("button").click()
            assert box.locator(f"[id$='-{choice['name']}-verdict']").inner_text() == \
                f"{choice['name']}: correct"
            assert tab.errors == []
        finally:
            tab.context.close()
    # the site check sees the boxes; its only complaints are the links to the pages that this
    # one-page build left out
    proc = _site_check(tutorial_site, page_rel)
    problems = [line for line in proc.stdout.splitlines() if line.startswith("  ✗")]
    assert problems and all("broken internal link" in line for line in problems), proc.stdout


def _declarations(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return re.findall(r'<script type="application/json" class="mlsysim-answer">(.*?)</script>',
                      text)

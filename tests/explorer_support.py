"""What the tutorials' explorer tests share: build one page in a copy of the project, open it
in Debian's Chromium with its console errors collected, and move its controls with the keyboard
as a reader would."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
#: what a page build does not need from the project (the package is imported installed)
IGNORE = shutil.ignore_patterns(".*", "_site*", "_build", "*.egg-info", "__pycache__",
                                "benchmarks", "tests", "mlsysim", "sitebuild")


def build_page(tmp_path_factory, page: str, name: str) -> Path:
    """Build ``page`` alone in a fresh copy of the project; the copy's ``_site``."""
    from sitebuild.build import build_site, format_errors

    root = tmp_path_factory.mktemp(name) / "p"
    shutil.copytree(ROOT, root, ignore=IGNORE)
    report = build_site(root, pages=[page], jobs=1, log=lambda _msg: None)
    assert report.ok, format_errors(report.errors)
    return root / "_site"


@contextlib.contextmanager
def open_page(site: Path, page: str, explorer: str):
    """A Chromium tab on ``page`` of the built ``site``, scrolled to the ``explorer``
    selector; ``tab.errors`` collects console errors and uncaught exceptions."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run make browser (make test installs it)")
    from playwright.sync_api import sync_playwright

    from sitebuild.check_server import serve

    errors = []
    with serve(site) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.on("console", lambda m: m.type == "error" and errors.append(m.text))
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(f"{url}/{Path(page).with_suffix('.html').as_posix()}", wait_until="load")
        tab.locator(explorer).scroll_into_view_if_needed()
        tab.errors = errors
        yield tab
        browser.close()


def text(tab, selector: str) -> str:
    """The visible text of ``selector``, whitespace collapsed."""
    return " ".join(tab.inner_text(selector).split())


def slide(tab, selector: str, index: int) -> None:
    """Move a range input to ``index`` with the keyboard, as a reader would."""
    tab.focus(selector)
    tab.keyboard.press("Home")
    for _ in range(index):
        tab.keyboard.press("ArrowRight")


def labels(tab, selector: str, shown: str) -> list[str]:
    """What the page shows at every position of a slider, read by stepping through it."""
    n = tab.evaluate(f"() => +document.querySelector('{selector}').max + 1")
    slide(tab, selector, 0)
    out = []
    for i in range(n):
        if i:
            tab.keyboard.press("ArrowRight")
        out.append(text(tab, shown))
    return out

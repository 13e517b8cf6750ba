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


def response_times(tab, ids: list[str], container: str, events: int, stride: int = 1,
                   runs: int = 3) -> list[float]:
    """Milliseconds from dispatching an input event to the explorer's updated layout, sorted,
    for ``events`` events cycling over the controls ``ids`` (a select moves to its next
    option, a range input ``stride`` positions on, wrapping). The handler redraws
    synchronously; reading ``container``'s offsetHeight forces style and layout. The sequence
    runs ``runs`` times from the same start and each event keeps its least time, so another
    process taking the CPU for a moment does not count against the page while a handler slow
    for some setting is slow in every run. The time to the next painted frame and the worst
    single run are printed."""
    timings = tab.evaluate("""async ([ids, container, events, stride, runs]) => {
        const start = ids.map(id => document.getElementById(id).value);
        const all = [];
        for (let run = 0; run < runs; run++) {
            ids.forEach((id, j) => { document.getElementById(id).value = start[j]; });
            const out = [];
            for (let k = 0; k < events; k++) {
                const c = document.getElementById(ids[k % ids.length]);
                const t0 = performance.now();
                if (c.tagName === "SELECT") {
                    c.selectedIndex = (c.selectedIndex + 1) % c.options.length;
                } else {
                    c.value = String((+c.value + stride) % (+c.max + 1));
                }
                c.dispatchEvent(new Event("input", { bubbles: true }));
                void document.getElementById(container).offsetHeight;
                const t1 = performance.now();
                await new Promise(r => requestAnimationFrame(() => r()));
                out.push([t1 - t0, performance.now() - t0]);
            }
            all.push(out);
        }
        return all;
    }""", [ids, container, events, stride, runs])
    layout = sorted(min(run[k][0] for run in timings) for k in range(events))
    frame = sorted(min(run[k][1] for run in timings) for k in range(events))
    raw = max(t for run in timings for t, _ in run)
    print(f"explorer response: median {layout[len(layout) // 2]:.2f} ms, worst "
          f"{layout[-1]:.2f} ms (input to updated layout, best of {runs} runs per event; "
          f"worst single run {raw:.1f} ms); next frame: median "
          f"{frame[len(frame) // 2]:.1f} ms, worst {frame[-1]:.1f} ms")
    return layout

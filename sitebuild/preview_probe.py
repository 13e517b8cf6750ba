"""Time the live preview from the outside: run ``python -m sitebuild serve`` on a copy of the
project, open a page in headless Chromium, save one-cell edits and measure save → the tab
showing the new output. Used by tests/test_sitebuild_preview.py and benchmarks/run.py.

    python -m sitebuild.preview_probe [PAGE] [--edits N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = "tutorials/00_hello_roofline.qmd"
_IGNORE = shutil.ignore_patterns(".git", ".venv", "_site*", "_build", ".sitebuild-cache",
                                 "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
                                 ".hypothesis", "logs")


def copy_project(dest: Path, src: Path = ROOT) -> Path:
    """``src`` without outputs; its executed notebooks seed the copy's cache (their keys
    still decide: a page whose inputs differ is executed again)."""
    shutil.copytree(src, dest, ignore=_IGNORE)
    if (src / ".sitebuild-cache").is_dir():
        shutil.copytree(src / ".sitebuild-cache", dest / ".sitebuild-cache", ignore=_IGNORE)
    return dest


def edited(source: str, line: str) -> str:
    """``source`` with ``line`` added at the end of its first shown ``{python}`` cell."""
    cells = re.finditer(r"```\{python\}\n(.*?)```", source, re.S)
    cell = next(c for c in cells if "#| include: false" not in c.group(1)
                and "#| echo: false" not in c.group(1))
    return source[:cell.end(1)] + line + "\n" + source[cell.end(1):]


class PreviewProcess:
    """``python -m sitebuild serve`` in ``root``, output in ``<root>-preview.log``. The
    project's own ``sitebuild`` and ``mlsysim`` come first (for the preview and its kernels),
    then this checkout's."""

    def __init__(self, root: Path, *args: str):
        self.log = root.parent / f"{root.name}-preview.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(root), str(ROOT)]))}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "sitebuild", "serve", *args],
                                         cwd=root, env=env, stdout=log,
                                         stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in the preview's output:\n{self.text()[-3000:]}")

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.text()))

    def start(self, timeout: float = 900) -> str:
        """Wait for the first build; the site's base URL."""
        port = self.wait_for(r"Preview at http://localhost:(\d+)/", 60).group(1)
        self.wait_for(r"built \d+ pages in", timeout)
        return f"http://127.0.0.1:{port}/"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


def open_tab(browser, url: str):
    """A tab on ``url`` whose reload stream is connected."""
    tab = browser.new_page()
    tab.goto(url)
    tab.wait_for_selector("html[data-preview=connected]", timeout=30_000)
    return tab


def wait_shows(tab, text: str, timeout: float = 120) -> None:
    tab.wait_for_function("t => document.body && document.body.innerText.includes(t)",
                          arg=text, timeout=timeout * 1000)


def time_edits(tab, path: Path, original: str, edits: int, tag: str = "edit",
               pause: float = 3.0) -> list[float]:
    """Seconds from each save of a one-cell edit to the tab showing its new output; ``pause``
    seconds between a reload and the next save (an author reads the result first)."""
    times = []
    for n in range(edits):
        if n:
            time.sleep(pause)
        path.write_text(edited(original, f'print("preview-" + "{tag}-{n}")'))
        start = time.perf_counter()
        wait_shows(tab, f"preview-{tag}-{n}")
        times.append(time.perf_counter() - start)
    return times


def measure(page: str = PAGE, edits: int = 5, builds: list | None = None) -> list[float]:
    """Save-to-reload times of ``edits`` one-cell edits of ``page`` in a fresh preview; the
    preview's own build times (from its log) are appended to ``builds``."""
    from playwright.sync_api import sync_playwright

    from .check import CHROMIUM_ARGS, chromium_path

    with tempfile.TemporaryDirectory(prefix="sitebuild-probe-") as tmp:
        root = copy_project(Path(tmp) / "site")
        original = (root / page).read_text(encoding="utf-8")
        preview = PreviewProcess(root, "--port", "0")
        try:
            url = preview.start()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_path(),
                                            args=CHROMIUM_ARGS)
                tab = open_tab(browser, url + re.sub(r"\.qmd$", ".html", page))
                times = time_edits(tab, root / page, original, edits)
                browser.close()
        finally:
            preview.stop()
        if builds is not None:
            builds += [float(s) for s in re.findall(rf"rebuilt {re.escape(page)} in ([\d.]+) s",
                                                     preview.text())]
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sitebuild.preview_probe",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("page", nargs="?", default=PAGE)
    parser.add_argument("--edits", type=int, default=5)
    args = parser.parse_args(argv)
    builds: list[float] = []
    times = measure(args.page, args.edits, builds)
    print(f"save-to-reload of {args.page}: " + ", ".join(f"{t:.2f}" for t in times)
          + f" s; first {times[0]:.2f} s (cold kernel), median of the rest "
          f"{statistics.median(times[1:] or times):.2f} s")
    print("of which the page's build (execute + render): "
          + ", ".join(f"{t:.1f}" for t in builds) + " s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

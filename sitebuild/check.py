"""Browser check of the built site: Playwright drives Debian's Chromium over every page.

``python -m sitebuild check [--site DIR] [--screenshots DIR] [--page PATH]…`` serves the site
on 127.0.0.1, opens each ``.html`` page once and fails (exit status 1) on console errors,
uncaught exceptions, failed or external requests, undecoded images, broken internal links or
anchors, raw Quarto/pandoc source text, and collapsed ``details`` that do not open. A
full-page screenshot of every page (1280×900) and of the home page at 390 px are kept.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from sitebuild.check_links import is_html, static_ids
from sitebuild.check_page import PageVisitor, mobile_screenshot
from sitebuild.check_report import CheckReport, PageResult, Problem

__all__ = ["CheckReport", "PageResult", "Problem", "find_pages", "main", "run"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 900}
HOME = "index.html"


def chromium_path() -> str | None:
    """Debian's Chromium (``/usr/bin/chromium``), else whatever ``chromium`` is on PATH."""
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def find_pages(site_dir: Path, skip: Path | None = None) -> list[str]:
    """Site-relative paths of every ``.html`` page (home first), none under ``skip``."""
    site_dir, skip = site_dir.resolve(), skip.resolve() if skip else None
    pages = []
    for path in site_dir.rglob("*.html"):
        rel = path.relative_to(site_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if skip is not None and path.resolve().is_relative_to(skip):
            continue
        pages.append(rel.as_posix())
    return sorted(pages, key=lambda rel: (rel != HOME, rel.count("/"), rel))


def _normalise(page: str) -> str:
    page = page.strip().removeprefix("./").lstrip("/")
    if page.endswith(".qmd"):
        page = page[: -len(".qmd")] + ".html"
    return page or HOME


def _screenshot_path(screenshots_dir: Path | None, rel: str, suffix: str = "") -> Path | None:
    if screenshots_dir is None:
        return None
    return screenshots_dir / (rel.rsplit(".", 1)[0] + suffix + ".png")


def run(
    site_dir: Path | str,
    screenshots_dir: Path | str | None = None,
    pages: Iterable[str] | None = None,
) -> CheckReport:
    """Check ``site_dir`` (every page, or only ``pages``) with one Chromium; see module doc."""
    site_dir = Path(site_dir).resolve()
    shots = Path(screenshots_dir).resolve() if screenshots_dir is not None else None
    report = CheckReport(site_dir)
    start = time.perf_counter()
    if not site_dir.is_dir():
        report.errors.append(f"no site at {site_dir}: build it first (python -m sitebuild build)")
        return report
    selected = find_pages(site_dir, skip=shots)
    if pages is not None:
        wanted = [_normalise(p) for p in pages]
        report.errors += [f"no page {p} in the site" for p in wanted if p not in selected]
        selected = [p for p in selected if p in wanted]
    if not selected:
        report.errors.append(f"no .html page to check in {site_dir}")
        return report
    executable = chromium_path()
    if executable is None:
        report.errors.append(
            "Debian's chromium is not installed: run `make browser` "
            "(as root: apt-get install -y chromium)"
        )
        return report
    _check_pages(report, selected, executable, shots, start)
    report.seconds = time.perf_counter() - start
    return report


def _check_pages(report, selected, executable, shots, start) -> None:
    from playwright.sync_api import sync_playwright

    from sitebuild.check_server import serve

    site_dir, links, ids = report.site_dir, [], {}
    with serve(site_dir) as base, sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as exc:
            report.errors.append(f"Chromium ({executable}) did not start: {exc}")
            return
        report.launch_seconds = time.perf_counter() - start
        try:
            context = browser.new_context(viewport=VIEWPORT, service_workers="block",
                                          reduced_motion="reduce")
            visitor = PageVisitor(context, base, site_dir)
            for rel in selected:
                result = visitor.visit(rel, _screenshot_path(shots, rel))
                report.pages.append(result)
                links += [(result, link) for link in visitor.links]
                if visitor.ids is not None:
                    ids[rel] = visitor.ids
            visitor.close()
            context.close()
            if shots is not None and HOME in selected:
                home = report.page(HOME)
                start_home = time.perf_counter()
                try:
                    home.warnings += mobile_screenshot(
                        browser, base, HOME, _screenshot_path(shots, HOME, "-390px"))
                except Exception as exc:  # the desktop visit already reports load failures
                    home.warnings.append(f"no 390 px screenshot: {type(exc).__name__}: {exc}")
                home.seconds += time.perf_counter() - start_home
        finally:
            browser.close()
    _check_links(site_dir, links, ids)


def _check_links(site_dir: Path, links: list, ids: dict[str, set[str]]) -> None:
    """Every internal link must reach a file; its ``#fragment`` an id in the target page.

    ``ids`` holds the ids each visited page had in the browser (after its scripts ran); pages
    not visited (``--page``) are parsed from their HTML.
    """
    for result, link in links:
        if link.target is None:
            result.add("link", f"{link.href} (no such file in the site)")
            continue
        if not link.fragment or not is_html(link.target):
            continue
        if link.target not in ids:
            ids[link.target] = static_ids(site_dir / link.target)
        if link.fragment not in ids[link.target]:
            result.add("anchor", f"{link.href} (no id “{link.fragment}” in {link.target})")


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status (0 pass, 1 problems found, 2 nothing checked)."""
    parser = argparse.ArgumentParser(prog="python -m sitebuild check",
                                     description="Open every page of the built site in Chromium.")
    parser.add_argument("--site", default="_site", help="built site directory (default: _site)")
    parser.add_argument("--screenshots", default="_build/screenshots", metavar="DIR",
                        help="where PNG screenshots go (default: _build/screenshots)")
    parser.add_argument("--no-screenshots", action="store_true", help="take no screenshots")
    parser.add_argument("--page", action="append", metavar="PATH",
                        help="check only this page (site-relative .html or .qmd); repeatable")
    parser.add_argument("-v", "--verbose", action="store_true", help="list passing pages too")
    args = parser.parse_args(argv)
    shots = None if args.no_screenshots else args.screenshots
    report = run(args.site, shots, pages=args.page)
    print(report.format(verbose=args.verbose))
    if shots is not None and report.pages:
        print(f"screenshots: {Path(shots).resolve()}")
    if report.ok:
        return 0
    return 1 if report.pages else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

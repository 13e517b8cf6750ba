"""Build the whole site (or some pages): configuration, navigation, parallel page builds,
resources, static files and the search index. A full build leaves in the output folder only
what it wrote (``outputs``); options and configuration files are checked first (a cell timeout
below one second, a configuration file that is not UTF-8: an error naming it)."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .cache import files_digest
from .config import PROJECT_FILE, Site, html_options, load_site
from .errors import BuildError, PageError, PageNotFoundError
from .execute import check_timeout
from .layout import STATIC_DIR, SiteChrome
from .navigation import build_navigation, out_path, plain_title
from .outputs import prune, support_files
from .page import PageJob, PageResult, read_source, run_job
from .pandoc import _version, pandoc_path, render_inline
from .qmd import split_front_matter
from .search import write_index

STATIC = Path(__file__).resolve().parent / "static"


@dataclass
class BuildReport:
    output_dir: Path
    results: list[PageResult] = field(default_factory=list)
    errors: list[BuildError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors


def _title(root: Path, rel: str) -> str:
    try:
        fm, _, _ = split_front_matter(read_source(root / rel, rel), rel)
    except (OSError, PageError):  # the page's own build reports it
        return rel
    return plain_title(fm.get("title") or Path(rel).stem)


def check_utf8(path: Path) -> None:
    """A configuration file must be UTF-8: else a BuildError naming file, line and byte."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise BuildError(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x}); save the "
                         "file as UTF-8") from None


def check_options(timeout, jobs) -> None:
    try:
        check_timeout(timeout)
    except ValueError as exc:
        raise BuildError(f"--timeout: {exc}") from None
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise BuildError(f"--jobs: the number of parallel pages must be >= 1, got {jobs!r}")


def copy_support_files(site: Site, chrome: SiteChrome) -> list[Path]:
    """Resources (``project.resources``), stylesheets, favicon and the builder's JS; the files
    written."""
    out = site.output_dir
    wanted = list(site.resources) + list(chrome.stylesheets)
    if chrome.favicon:
        wanted.append(chrome.favicon)
    written = []
    for pattern in wanted:
        matches = sorted(site.root.glob(pattern.rstrip("/"))) if any(
            c in pattern for c in "*?[") else [site.root / pattern.rstrip("/")]
        for src in matches:
            if not src.exists() or out in src.resolve().parents:
                continue
            if site.root not in src.resolve().parents:
                raise BuildError(f"{site.root / PROJECT_FILE}: resource {pattern} is outside "
                                 "the project")
            written += support_files(src, out / src.relative_to(site.root))
    return written + support_files(STATIC, out / STATIC_DIR)


def site_chrome(site: Site) -> SiteChrome:
    website = site.website
    html = html_options(site.page_metadata("index.qmd", {}))
    css = html.get("css") or []
    footer = website.get("page-footer") or {}
    if isinstance(footer, str):
        footer = {"center": footer}
    footer_html = {k: render_inline(str(v)) for k, v in footer.items()
                   if k in ("left", "center", "right") and v}
    sidebar = website.get("sidebar") or {}
    search = website.get("search", True) is not False and (
        not isinstance(sidebar, dict) or sidebar.get("search", True) is not False)
    return SiteChrome(title=str(website.get("title") or "Site"),
                      description=str(website.get("description") or ""),
                      favicon=website.get("favicon"),
                      stylesheets=[css] if isinstance(css, str) else list(css),
                      footer=footer_html, search=search)


def render_salt(site: Site, titles: dict[str, str]) -> str:
    """Digest of what shapes every page's HTML besides the page itself: the builder's code,
    filters and templates, the project configuration and filters, bibliographies, titles."""
    files = [p for p in Path(__file__).resolve().parent.rglob("*") if p.is_file()
             and "__pycache__" not in p.parts]
    files += list(site.root.glob("_quarto*.yml")) + list(site.filters)
    bib = site.config.get("bibliography") or []
    files += [site.root / b for b in ([bib] if isinstance(bib, str) else bib)]
    pandoc = [pandoc_path(), _version(pandoc_path())]
    extra = json.dumps([site.config, site.profiles, titles, pandoc], sort_keys=True, default=str)
    return hashlib.sha256((files_digest(files) + extra).encode()).hexdigest()


def _normalise(site: Site, page: str) -> str:
    path = Path(page)
    if not path.is_absolute():  # relative to the project, else to the current folder
        path = site.root / path if (site.root / path).is_file() else Path.cwd() / path
    path = path.resolve()
    try:
        rel = path.relative_to(site.root).as_posix()
    except ValueError:
        raise PageNotFoundError(f"page not in the project: {page}") from None
    if not (site.root / rel).is_file():
        raise PageNotFoundError(f"page not found: {page}")
    return rel


def _run(jobs: list[PageJob], workers: int, log: Callable[[str], None]) -> list:
    outcomes = []
    total = len(jobs)

    def note(i: int, outcome) -> None:
        if isinstance(outcome, PageResult):
            how = "executed" if outcome.executed else ("cached  " if outcome.cached
                                                       else "rendered")
            log(f"[{i}/{total}] {how} {outcome.rel} ({outcome.seconds:.1f} s)")
        else:
            log(f"[{i}/{total}] FAILED   {getattr(outcome, 'page', '')}")

    if workers <= 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs, 1):
            outcomes.append(run_job(job))
            note(i, outcomes[-1])
        return outcomes
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        for i, outcome in enumerate(pool.map(run_job, jobs), 1):
            outcomes.append(outcome)
            note(i, outcome)
    return outcomes


def build_site(root: Path | str = ".", *, profile: str | None = None, jobs: int | None = None,
               use_cache: bool = True, pages: list[str] | None = None,
               allow_missing: bool = False, timeout: int = 600, error_pages: bool = False,
               log: Callable[[str], None] | None = None) -> BuildReport:
    """Build the site under ``root``; page failures are collected in ``report.errors``.

    A page listed in ``project.render`` that does not exist raises PageNotFoundError unless
    ``allow_missing`` (then it gets a placeholder page). ``pages`` limits the build to those
    source files (other pages keep their earlier output); a full build removes every other
    file from the output folder (reported as warnings). A page that fails leaves no output,
    or with ``error_pages`` a page showing its error (for ``serve``); it is still reported.
    """
    start = time.perf_counter()
    log = log or (lambda msg: print(msg, file=sys.stderr))
    check_options(timeout, jobs)
    root = Path(root).resolve()
    for config in [root / PROJECT_FILE, *sorted(root.glob("_quarto-*.yml"))]:
        if config.is_file():
            check_utf8(config)
    site = load_site(root, profile)
    listed, missing = site.render_list()
    if missing and not allow_missing:
        names = ", ".join(missing)
        raise PageNotFoundError(f"page not found: {names} (listed in {site.root / '_quarto.yml'}"
                                " project.render)")
    selected = [_normalise(site, p) for p in pages] if pages else list(listed)
    for path in dict.fromkeys(f for rel in selected for f in site.directory_metadata_files(rel)):
        check_utf8(path)
    known = list(dict.fromkeys([*listed, *selected]))
    stubs = [] if pages else list(missing)
    titles = {rel: _title(site.root, rel) for rel in known}
    titles.update({rel: plain_title(Path(rel).stem.replace("_", " ").title()) for rel in stubs})
    nav = build_navigation(site.config, titles, set(known) | set(stubs))
    report = BuildReport(output_dir=site.output_dir)
    for rel in nav.skipped:
        report.warnings.append(f"navigation: {rel} is listed in _quarto.yml but not built")
    chrome = site_chrome(site)
    site.output_dir.mkdir(parents=True, exist_ok=True)
    written = set(copy_support_files(site, chrome))

    # largest sources first: better balance across workers
    ordered = sorted(selected, key=lambda r: -(site.root / r).stat().st_size)
    salt = render_salt(site, titles)
    job_list = [PageJob(site, rel, nav, chrome, titles, use_cache, timeout, render_salt=salt)
                for rel in ordered]
    job_list += [PageJob(site, rel, nav, chrome, titles, stub=True) for rel in stubs]
    workers = jobs or os.cpu_count() or 1
    search: dict[str, list[dict]] = {}
    for outcome in _run(job_list, workers, log):
        if isinstance(outcome, PageResult):
            report.results.append(outcome)
            report.warnings.extend(outcome.warnings)
            written.update(Path(p) for p in outcome.outputs)
            if outcome.search:
                search[out_path(outcome.rel)] = outcome.search
        else:
            report.errors.append(outcome)
    failed = [e.page for e in report.errors if isinstance(e, PageError)]
    if error_pages:
        for err in report.errors:
            if isinstance(err, PageError) and (site.root / err.page).is_file():
                stub = run_job(PageJob(site, err.page, nav, chrome, titles, stub=True,
                                       error=str(err)))
                written.update(Path(p) for p in getattr(stub, "outputs", []))
    index = site.output_dir / "search.json"
    write_index(index, search, merge=bool(pages), drop={out_path(rel) for rel in failed})
    written.add(index)
    if not pages:
        report.warnings += [f"{site.output_dir.name}/{rel}: removed (not written by this build)"
                            for rel in prune(site, written)]
    report.seconds = time.perf_counter() - start
    return report


def format_errors(errors: list[BuildError]) -> str:
    """All page failures as one message."""
    lines = [f"{len(errors)} page(s) failed:"] if len(errors) > 1 else []
    for err in errors:
        lines.append(str(err) if isinstance(err, PageError) else f"error: {err}")
    return "\n\n".join(lines)


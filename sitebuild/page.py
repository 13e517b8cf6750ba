"""One page from source to HTML: parse and check the source (``lint``), execute (or reuse the
cache), emit Markdown, run pandoc, check the result (``diagnose``), wrap in the site layout,
write the notebook download and collect search entries. Runs in worker processes, so its
inputs and results are plain picklable data. A page that fails leaves no output behind
(``outputs.discard``)."""

from __future__ import annotations

import hashlib
import html
import json
import shutil
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from . import lint
from .cache import NotebookCache, files_digest, input_state, page_key
from .config import Site, execute_options, html_options
from .diagnose import PageFacts, rendered_findings
from .download import download_notebook
from .emit import EmitContext, notebook_markdown
from .errors import BuildError, PageError
from .execute import execute_notebook
from .layout import PageInfo, SiteChrome, page_html
from .navigation import Navigation, out_path, plain_title
from .outputs import discard, kernel_policy
from .pandoc import Rendered, render
from .qmd import front_matter, parse_qmd, split_front_matter
from .search import page_entries

_FIGURE_KEYS = ("fig-width", "fig-height", "fig-format", "fig-dpi")
# metadata that configures the build rather than the document pandoc sees
_NOT_FOR_PANDOC = {"format", "execute", "filters", "jupyter", "engine", "bibliography",
                   "resources", "freeze"}


@dataclass
class PageJob:
    site: Site
    rel: str
    nav: Navigation
    chrome: SiteChrome
    titles: dict[str, str]
    use_cache: bool = True
    timeout: int = 600
    stub: bool = False
    error: str | None = None
    render_salt: str = ""   # digest of everything besides the page that shapes its HTML


@dataclass
class PageResult:
    rel: str
    executed: bool = False
    cached: bool = False    # the output of an earlier build, unchanged, was kept
    seconds: float = 0.0
    search: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # files written into the output folder


def read_source(path: Path, rel: str) -> str:
    """A page's text; a file that is not UTF-8 is a PageError naming the line and byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PageError(rel, f"not UTF-8: byte 0x{data[exc.start]:02x} at column {column} "
                        "(save the file as UTF-8)", line=line) from None


def _bibliographies(site: Site, rel: str, fm: dict, meta: dict) -> list[str]:
    """Absolute bibliography paths: the page's own relative to its folder, else the project's."""
    value, base = (fm.get("bibliography"), (site.root / rel).parent) \
        if fm.get("bibliography") else (meta.get("bibliography"), site.root)
    paths = [value] if isinstance(value, str) else list(value or [])
    out = []
    for entry in paths:
        path = (base / entry).resolve()
        if not path.is_file():
            raise PageError(rel, f"bibliography not found: {entry} (looked for {path})")
        out.append(str(path))
    return out


def pandoc_metadata(site: Site, rel: str, fm: dict, meta: dict) -> dict:
    """The YAML header pandoc and the Lua filters see (project < directory < page)."""
    data = {k: v for k, v in meta.items() if k not in _NOT_FOR_PANDOC}
    bibs = _bibliographies(site, rel, fm, meta)
    if bibs:
        data["bibliography"] = bibs
    data["sitebuild-profiles"] = list(site.profiles)
    data.setdefault("pagetitle", plain_title(meta.get("title") or Path(rel).stem))
    return json.loads(json.dumps(data, default=str))


def _exec_key(job: PageJob, source: str, meta: dict, figure: dict) -> str:
    site = job.site
    return page_key(source=source, metadata_files=site.directory_metadata_files(job.rel),
                    profile=site.profile_name,
                    options={"execute": execute_options(meta), "figure": figure,
                             "profiles": site.profiles}, metadata=meta)


def _executed(job: PageJob, nb, source: str, meta: dict, figure: dict, key: str,
              cache: NotebookCache, result: PageResult) -> tuple[nbformat.NotebookNode, dict]:
    """The executed notebook and the record of what it read (``cache.input_state``)."""
    site = job.site
    options = execute_options(meta)
    cached = cache.load(site.profile_name, job.rel, key)
    if cached is not None and len(cached[0].cells) == len(nb.cells):
        return cached  # rendered again from the cached execution
    has_code = any(c.cell_type == "code" for c in nb.cells)
    has_inline = "`{python}" in source
    if not (has_code or has_inline):
        return nb, input_state(None)
    executed = execute_notebook(nb, page=job.rel, cwd=(site.root / job.rel).parent,
                                options=options, figure=figure, profiles=site.profiles,
                                timeout=job.timeout,
                                kernel_log=cache.kernel_log(site.profile_name, job.rel),
                                policy=kernel_policy(site, job.rel))
    result.executed = True
    inputs = input_state(executed.metadata["sitebuild"].pop("audit", None))
    cache.store(site.profile_name, job.rel, key, executed, inputs)
    return executed, inputs


def _stub(job: PageJob, target: Path, result: PageResult) -> PageResult:
    """A placeholder for a missing page, or the error page of a failed one (``serve``)."""
    meta = {"title": job.titles.get(job.rel, job.rel)}
    parts = Rendered(title=meta["title"], pagetitle=meta["title"])
    info = PageInfo(job.rel, meta, stub=job.error is None, error=job.error)
    target.write_text(page_html(job.chrome, job.nav, info, parts, job.titles), encoding="utf-8")
    result.outputs = [str(target)]
    return result


def _render_key(job: PageJob, key: str, bibliographies: list[str]) -> str:
    extra = files_digest(bibliographies) if bibliographies else ""
    return hashlib.sha256(f"{key}\0{job.render_salt}\0{extra}".encode()).hexdigest()


def _copy_linked(copies: list[tuple[Path, Path]]) -> list[Path]:
    written = []
    for source, dest in dict.fromkeys(copies):
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
        written.append(dest)
    return written


def _shown_figures(figures: list[Path], body: str, page_dir: Path) -> list[Path]:
    """The figures the rendered page shows; the others (output of content a filter removed,
    such as the student edition's solutions) are deleted, not published."""
    shown = []
    for figure in figures:
        name = figure.name
        if any(form in body for form in (name, html.escape(name), urllib.parse.quote(name))):
            shown.append(figure)
            continue
        figure.unlink(missing_ok=True)
        for folder in (figure.parent, figure.parent.parent):  # figure-html, <page>_files
            if folder != page_dir and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    return shown


def build_page(job: PageJob) -> PageResult:
    """Build one page into the site's output folder (raises PageError/BuildError)."""
    start = time.perf_counter()
    site, rel = job.site, job.rel
    result = PageResult(rel)
    target = site.output_dir / out_path(rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    if job.stub:
        return _stub(job, target, result)
    source_path = site.root / rel
    if not source_path.is_file():
        raise PageError(rel, "page not found")
    source = read_source(source_path, rel)
    nb = parse_qmd(source, rel)
    fm = front_matter(nb)
    meta = site.page_metadata(rel, fm)
    problems = lint.source_problems(nb, execute_options(meta))
    lint.fail(rel, problems)
    html_opts = html_options(meta)
    figure = {k: html_opts[k] for k in _FIGURE_KEYS if k in html_opts}
    cache = NotebookCache(site.root, enabled=job.use_cache)
    key = _exec_key(job, source, meta, figure)
    pandoc_meta = pandoc_metadata(site, rel, fm, meta)
    render_key = _render_key(job, key, pandoc_meta.get("bibliography") or [])
    record = cache.load_render(site.profile_name, rel, render_key)
    if record is not None:  # nothing that shapes this page changed: keep its output
        result.cached, result.search, result.warnings = True, record["search"], record["warnings"]
        result.outputs = list(record["outputs"])
        result.seconds = time.perf_counter() - start
        return result
    executed, inputs = _executed(job, nb, source, meta, figure, key, cache, result)

    figures_dir = target.parent / f"{Path(rel).stem}_files"
    shutil.rmtree(figures_dir, ignore_errors=True)  # no stale figures from earlier builds
    ctx = EmitContext(page=rel, out_dir=target.parent, defaults=execute_options(meta),
                      html=html_opts)
    body = notebook_markdown(executed, ctx)
    header = yaml.safe_dump(pandoc_meta, allow_unicode=True, sort_keys=False)
    parts = render(f"---\n{header}---\n\n{body}", page=rel, project_filters=site.filter_stages,
                   toc=bool(html_opts.get("toc", True)),
                   toc_depth=int(html_opts.get("toc-depth", 3)), cwd=source_path.parent)
    facts = PageFacts(rel, source, split_front_matter(source, rel)[2], site.root,
                      site.output_dir, set(job.titles), header_lines=header.count("\n") + 3)
    found = rendered_findings(facts, parts, ctx)
    lint.fail(rel, found.problems)
    result.warnings = lint.warnings(rel, problems) + found.warnings

    outputs = [target, *_shown_figures(ctx.figures, parts.body, target.parent),
               *_copy_linked(found.copies)]
    notebook = None
    if "ipynb" in (meta.get("format") or {}):
        notebook = str(Path(out_path(rel)).with_suffix(".ipynb").as_posix())
        download = download_notebook(nb, executed, site.profiles, metadata=pandoc_meta,
                                     filters=site.filter_stages, page=rel)
        nbformat.write(download, str(site.output_dir / notebook))
        outputs.append(site.output_dir / notebook)
    page = PageInfo(rel, meta, notebook=notebook)
    target.write_text(page_html(job.chrome, job.nav, page, parts, job.titles), encoding="utf-8")
    title = job.titles.get(rel) or plain_title(meta.get("title", rel))
    result.search = page_entries(out_path(rel), title, parts.body)
    result.outputs = [str(p) for p in outputs]
    cache.store_render(site.profile_name, rel, render_key, outputs, inputs, result.search,
                       result.warnings)
    result.seconds = time.perf_counter() - start
    return result


def run_job(job: PageJob) -> PageResult | BuildError:
    """Worker entry point: errors come back as values (one readable message each). A page
    that fails loses its earlier outputs and render record."""
    try:
        return build_page(job)
    except BuildError as exc:
        error = exc
    except Exception as exc:  # unexpected: still name the page
        error = PageError(job.rel, f"internal error: {type(exc).__name__}: {exc}")
    if not job.stub:
        discard(job.site, job.rel, NotebookCache(job.site.root))
    return error

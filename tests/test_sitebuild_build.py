"""End-to-end builds of a tiny fixture site (tests/data/site_fixture) with sitebuild: callouts,
a collapsed solution (open in the instructor profile), a numbered figure with a cross
reference, a citation, inline expressions in document order, the notebook download, search,
caching, and a failing cell that must name its page and line."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from sitebuild.build import build_site, format_errors
from sitebuild.errors import PageNotFoundError
from sitebuild.execute import execute_notebook
from sitebuild.qmd import parse_qmd

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "data" / "site_fixture"
BROKEN = """---
title: "Broken"
---

Intro.

```{python}
#| echo: true
a = 1
b = 0
a / b
```
"""


def _copy_fixture(dest: Path) -> Path:
    shutil.copytree(FIXTURE, dest, dirs_exist_ok=True)
    (dest / "filters").mkdir(exist_ok=True)
    shutil.copy(ROOT / "filters" / "solutions.lua", dest / "filters" / "solutions.lua")
    return dest


def _quiet(_msg):
    pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return _copy_fixture(tmp_path_factory.mktemp("fixture_site"))


@pytest.fixture(scope="module")
def student(site):
    report = build_site(site, jobs=2, log=_quiet)
    assert report.ok, format_errors(report.errors)
    return report


@pytest.fixture(scope="module")
def instructor(site, student):
    report = build_site(site, profile="instructor", jobs=2, log=_quiet)
    assert report.ok, format_errors(report.errors)
    return report


def read(report, rel: str) -> str:
    return (report.output_dir / rel).read_text(encoding="utf-8")


def test_pages_resources_and_static_files_are_written(student):
    out = student.output_dir
    for rel in ("index.html", "lessons/two.html", "lessons/two.ipynb", "search.json",
                "assets/favicon.svg", "assets/style.css", "site_libs/sitebuild/site.js",
                "site_libs/sitebuild/sitebuild.css",
                "index_files/figure-html/fig-line-output-1.png"):
        assert (out / rel).is_file(), rel
    assert not (out / "index.ipynb").exists()  # only lessons/ asks for format: ipynb
    assert sorted(r.rel for r in student.results) == ["index.qmd", "lessons/two.qmd"]


def test_callouts(student):
    html = read(student, "index.html")
    assert '<div class="callout callout-note" role="note">' in html
    assert "Read me first" in html and "<h2>Read me first" not in html
    assert '<div class="callout callout-warning" role="note">' in html
    assert "Attribute title" in html


def test_solution_collapsed_for_students_open_for_instructors(student, instructor):
    assert '<details class="callout callout-tip solution"><summary' in read(student,
                                                                           "lessons/two.html")
    assert instructor.output_dir.name == "_site-instructor"
    teacher = read(instructor, "lessons/two.html")
    assert '<details class="callout callout-tip solution" open><summary' in teacher
    assert "Instructor-only note." in teacher and "Student-only note." not in teacher
    assert "Student-only note." in read(student, "lessons/two.html")


def test_numbered_figure_table_and_cross_references(student):
    html = read(student, "index.html")
    assert '<figure id="fig-line" class="sb-figure">' in html
    assert "Figure\u00a01: A rising line." in html
    assert 'alt="The line rises from left to right: more input, more output."' in html
    assert '<a href="#fig-line" class="quarto-xref">Figure\u00a01</a>' in html
    assert '<div id="tbl-values" class="sb-float sb-float-tbl">' in html
    assert "Table\u00a01: Squares." in html
    assert '<a href="#tbl-values" class="quarto-xref">Table\u00a01</a>' in html


def test_citation_and_reference_list(student):
    html = read(student, "index.html")
    assert 'href="#ref-williams2009roofline"' in html and "Williams et al. 2009" in html
    assert '<h2 class="unnumbered" id="references">References</h2>' in html
    assert "@williams2009roofline" not in html


def test_inline_expressions_in_document_order(student):
    assert "The answer is 42 and the word is plain." in read(student, "index.html")
    html = read(student, "lessons/two.html")
    assert "Before: 1." in html and "After: 2." in html  # evaluated where they stand
    assert "The answer is 4." in html
    assert "{python} x" not in html and "{python} twice" not in html


def test_cell_options_and_code_shape(student):
    html = read(student, "index.html")
    assert "hidden code, shown output" in html and "print(&quot;hidden" not in html
    assert "not shown" not in html and "secret" not in html  # include: false
    assert '<pre class="sourceCode python cell-code">' in html
    assert '<div class="cell-output cell-output-stdout">' in html
    lesson = read(student, "lessons/two.html")
    assert "this_is_not_executed()" in lesson  # example inside a 4-backtick fence
    assert '<pre class="mermaid">' in lesson
    assert "never_defined()" in lesson  # eval: false shows the code, runs nothing
    assert '<div class="cell-output cell-output-error">' in lesson
    assert "ValueError: shown, not fatal" in lesson  # error: true keeps the traceback
    assert '<div class="cell-output cell-output-stderr">' in lesson  # warning: true
    assert "careful with units" in lesson
    assert '<details class="code-fold"><summary>Code</summary>' in lesson


def test_layout_navigation_and_links(student):
    home = read(student, "index.html")
    lesson = read(student, "lessons/two.html")
    assert "<title>The fixture home – Fixture Site</title>" in home
    assert '<link rel="icon" href="assets/favicon.svg" type="image/svg+xml">' in home
    assert '<link rel="icon" href="../assets/favicon.svg"' in lesson
    assert 'class="sb-sidebar-link active" aria-current="page">Lesson two</a>' in lesson
    assert 'rel="prev"' in lesson and 'rel="next"' in home
    assert '<a href="lessons/two.html">lesson two</a>' in home  # .qmd link rewritten
    assert 'Fixture footer with a <a href="../index.html">link</a>' in lesson
    assert '<h1 class="title">The <em>fixture</em> home</h1>' in home
    assert '<p class="subtitle">A page with every feature once</p>' in home
    assert "<dt>Level</dt><dd>Beginner</dd>" in lesson and "<dd>10 min</dd>" in lesson
    assert 'href="two.ipynb" download' in lesson
    assert 'class="sb-toc"' in lesson and 'href="#exercise"' in lesson
    assert "sb-theme-toggle" in home and 'id="sb-search-input"' in home


def test_no_external_resources(student):
    for page in ("index.html", "lessons/two.html"):
        html = read(student, page)
        external = re.findall(r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="'
                              r'(?:https?:)?//', html)
        assert external == [], page


def test_search_index(student):
    entries = json.loads(read(student, "search.json"))
    hrefs = {e["href"] for e in entries}
    assert "lessons/two.html#exercise" in hrefs
    assert any(e["title"] == "The fixture home" and "answer is 42" in e["text"]
               for e in entries)


def test_notebook_download(student):
    nb = nbformat.read(student.output_dir / "lessons" / "two.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].source == "# Lesson two"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.source for c in code][:3] == ["x = 1", "x = 2", "twice = 2 * x\ntwice"]
    assert all(c.outputs == [] for c in code)
    assert not any(":::" in c.source for c in nb.cells if c.cell_type == "markdown")


def test_unchanged_pages_are_not_re_executed(site, student, monkeypatch):
    # in-process builds (jobs=1) with a fixed package digest: the mlsysim sources may be
    # edited while the tests run, and any such edit rightly invalidates the cache
    monkeypatch.setattr("sitebuild.cache.package_digest", lambda name="mlsysim": "fixed")
    build_site(site, jobs=1, log=_quiet)
    again = build_site(site, jobs=1, log=_quiet)
    assert again.ok
    assert {r.rel: r.cached for r in again.results} == {"index.qmd": True,
                                                        "lessons/two.qmd": True}
    assert not any(r.executed for r in again.results)
    (site / "lessons" / "two.qmd").write_text((site / "lessons" / "two.qmd").read_text() + "\n")
    changed = build_site(site, jobs=1, log=_quiet)
    assert {r.rel: r.executed for r in changed.results} == {"index.qmd": False,
                                                            "lessons/two.qmd": True}
    forced = build_site(site, jobs=1, use_cache=False, pages=["index.qmd"], log=_quiet)
    assert [r.executed for r in forced.results] == [True]


def test_executor_keeps_every_page_cell(site):
    nb = parse_qmd((site / "lessons" / "two.qmd").read_text(), "lessons/two.qmd")
    executed = execute_notebook(nb, page="lessons/two.qmd", cwd=site / "lessons", options={})
    assert [(c.cell_type, c.source) for c in executed.cells] == \
        [(c.cell_type, c.source) for c in nb.cells]
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
    assert counts == [1, 2, 3, None, 4, 5]  # eval: false is not run


def test_failing_cell_names_page_and_line(tmp_path):
    root = _copy_fixture(tmp_path / "s")
    (root / "lessons" / "broken.qmd").write_text(BROKEN)
    report = build_site(root, pages=["lessons/broken.qmd"], log=_quiet)
    assert not report.ok
    message = format_errors(report.errors)
    assert message.startswith("lessons/broken.qmd:11: cell failed: ZeroDivisionError")
    assert ">   11 | a / b" in message and "in the ```{python} cell at line 7" in message
    assert "\x1b[" not in message  # ANSI codes stripped
    proc = subprocess.run([sys.executable, "-m", "sitebuild", "--root", str(root), "build",
                           "lessons/broken.qmd"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert "lessons/broken.qmd:11: cell failed: ZeroDivisionError: division by zero" in proc.stderr


def test_failing_inline_expression_names_its_line(tmp_path):
    root = _copy_fixture(tmp_path / "s")
    (root / "lessons" / "inline.qmd").write_text("---\ntitle: I\n---\n\nText.\n\n"
                                                 "Value `{python} undefined_name`.\n")
    report = build_site(root, pages=["lessons/inline.qmd"], log=_quiet)
    assert str(report.errors[0]).startswith(
        "lessons/inline.qmd:7: inline expression `{python} undefined_name` failed: NameError")


def test_missing_listed_page(tmp_path):
    root = _copy_fixture(tmp_path / "s")
    config = (root / "_quarto.yml").read_text().replace(
        "- index.qmd\n    - lessons", "- index.qmd\n    - extra.qmd\n    - lessons")
    (root / "_quarto.yml").write_text(config)
    with pytest.raises(PageNotFoundError, match=r"page not found: extra\.qmd"):
        build_site(root, log=_quiet)
    report = build_site(root, allow_missing=True, jobs=2, log=_quiet)
    assert report.ok
    assert "has not been written yet" in (report.output_dir / "extra.html").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_and_fetch(root: Path, args: list[str], env=None, path: str = "index.html") -> str:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sitebuild", "--root", str(root), "serve",
                             "--port", str(port), *args], cwd=ROOT,
                            env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=2) as r:
                    return r.read().decode()
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.5)
        raise AssertionError("server did not answer")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_builds_then_serves_with_error_pages(tmp_path):
    root = _copy_fixture(tmp_path / "s")
    (root / "lessons" / "broken.qmd").write_text(BROKEN)
    html = _serve_and_fetch(root, [], path="lessons/broken.html")
    assert "This page failed to build" in html and "ZeroDivisionError" in html


def _fake_quarto(tmp_path: Path) -> dict:
    """A `quarto` on PATH that records its arguments and folder, and renders a marker page."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "quarto"
    fake.write_text("#!/bin/sh\n"
                    f'echo "$PWD $*" >> {tmp_path / "calls.txt"}\n'
                    "mkdir -p _site-instructor\n"
                    'echo "rendered by quarto $*" > _site-instructor/index.html\n')
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_serve_hands_live_preview_to_quarto_when_installed(tmp_path):
    """With Quarto on PATH, `serve` is `quarto preview` in the project folder (Quarto watches
    and reloads itself); its exit status is the command's."""
    root = _copy_fixture(tmp_path / "s")
    env = {**os.environ, **_fake_quarto(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "sitebuild", "--root", str(root), "serve",
                           "--port", "8123", "--profile", "instructor"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    calls = (tmp_path / "calls.txt").read_text().split()
    assert calls == [str(root), "preview", "--port", "8123", "--no-browser", "--profile",
                     "instructor"]


def test_serve_without_watching_renders_with_quarto_when_installed(tmp_path):
    root = _copy_fixture(tmp_path / "s")
    html = _serve_and_fetch(root, ["--profile", "instructor", "--no-watch"],
                            env=_fake_quarto(tmp_path))
    assert html.strip() == "rendered by quarto render --profile instructor"


# -- filter stages (`filters: - {path, at}`) -------------------------------------------------
STAGE_PROBE = """-- appends what it saw: unparsed callout divs, resolved cross references
local callouts, xrefs = 0, 0
return {{
  Div = function(d) if d.classes:includes("callout-tip") then callouts = callouts + 1 end end,
  Link = function(l) if l.classes:includes("quarto-xref") then xrefs = xrefs + 1 end end,
  Pandoc = function(doc)
    doc.blocks:insert(pandoc.Para("{stage}: callouts=" .. callouts .. " xrefs=" .. xrefs))
    return doc
  end,
}}
"""
STAGE_DOC = """---
title: S
instructor: true
---

::: {.callout-tip .solution}
## Solution
Answer, see @fig-a.
:::

::: {#fig-a .sb-float .sb-float-fig}
![](a.png){fig-alt="A"}

::: {.sb-caption}
Cap.
:::
:::
"""


def test_project_filters_run_at_their_quarto_stage(tmp_path):
    from sitebuild.pandoc import render

    stages = ["pre-ast", "post-ast", "pre-quarto", "post-quarto", "pre-render", "post-render"]
    probes = []
    for stage in stages:
        probe = tmp_path / f"{stage}.lua"
        probe.write_text(STAGE_PROBE.format(stage=stage))
        probes.append((stage, probe))
    body = render(STAGE_DOC, page="s.qmd", project_filters=probes).body
    # before the AST stage callouts are still divs; after it they are rendered (as Quarto's
    # custom nodes are invisible to a Div filter); cross references resolve in the quarto stage
    assert "pre-ast: callouts=1 xrefs=0" in body
    for stage in ("post-ast", "pre-quarto"):
        assert f"{stage}: callouts=0 xrefs=0" in body
    for stage in ("post-quarto", "pre-render", "post-render"):
        assert f"{stage}: callouts=0 xrefs=1" in body


def test_solutions_filter_only_works_before_callouts_are_parsed():
    from sitebuild.pandoc import render

    solutions = ROOT / "filters" / "solutions.lua"
    md = "::: {.callout-tip .solution}\n## Solution\nAnswer.\n:::\n"

    def body(meta: str, stage: str) -> str:
        return render(f"---\ntitle: S\n{meta}---\n" + md, page="s.qmd",
                      project_filters=[(stage, solutions)]).body

    assert '<details class="callout callout-tip solution" open>' in body("instructor: true\n",
                                                                         "pre-ast")
    assert '<details class="callout callout-tip solution">' in body("", "pre-ast")
    # at Quarto's default stage the callout is already parsed: nothing to unfold
    assert "<details" not in body("instructor: true\n", "pre-quarto")


def test_site_registers_solutions_filter_before_callouts():
    from sitebuild.config import load_site

    for profile in (None, "instructor"):
        site = load_site(ROOT, profile)
        assert site.filter_stages == [("pre-ast", ROOT / "filters" / "solutions.lua")]


def test_default_stage_filter_leaves_instructor_solutions_folded(tmp_path):
    root = _copy_fixture(tmp_path / "s")
    config = root / "_quarto.yml"
    staged = "  - path: filters/solutions.lua\n    at: pre-ast\n"
    assert staged in config.read_text()
    config.write_text(config.read_text().replace(staged, "  - filters/solutions.lua\n"))
    report = build_site(root, profile="instructor", pages=["lessons/two.qmd"], log=_quiet)
    assert report.ok, format_errors(report.errors)
    html = read(report, "lessons/two.html")
    # the filter ran after the callout was parsed, so it changed nothing (as in Quarto >= 1.4):
    # the solution keeps the shape its source gave it, a plain callout, not an opened <details>
    assert '<div class="callout callout-tip solution" role="note">' in html
    assert 'solution" open>' not in html


def test_unknown_filter_stage_is_an_error_naming_the_file(tmp_path):
    from sitebuild.config import load_site
    from sitebuild.errors import BuildError

    root = _copy_fixture(tmp_path / "s")
    overlay = root / "_quarto-instructor.yml"
    overlay.write_text(overlay.read_text()
                       + "filters:\n  - path: filters/solutions.lua\n    at: pre-magic\n")
    load_site(root)  # the overlay is not read without its profile
    with pytest.raises(BuildError, match=r"_quarto-instructor\.yml: filters: "
                                         r"filters/solutions\.lua: unknown stage.*pre-magic"):
        load_site(root, "instructor")
    proc = subprocess.run([sys.executable, "-m", "sitebuild", "--root", str(root), "build",
                           "--profile", "instructor"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert "_quarto-instructor.yml: filters: filters/solutions.lua: unknown stage" in proc.stderr
    assert "pre-ast, post-ast, pre-quarto, post-quarto, pre-render, post-render" in proc.stderr


# -- sidebar contents generated from a glob ----------------------------------------------------
def _page(title: str, extra: str = "") -> str:
    return f'---\ntitle: "{title}"\n{extra}---\n\nText of {title}.\n'


def test_sidebar_glob_lists_new_pages_in_quarto_order(tmp_path):
    root = _copy_fixture(tmp_path / "s")
    config = root / "_quarto.yml"
    explicit = '      - section: "Lessons"\n        contents:\n          - lessons/two.qmd\n'
    assert explicit in config.read_text()
    config.write_text(config.read_text().replace(explicit, (
        '      - section: "Lessons"\n        contents:\n          - lessons/index.qmd\n'
        '          - auto: "lessons/*.qmd"\n')))
    lessons = root / "lessons"
    (lessons / "index.qmd").write_text(_page("All lessons"))
    (lessons / "a_first.qmd").write_text(_page("Alpha lesson"))
    (lessons / "Beta.qmd").write_text(_page("Beta lesson"))
    (lessons / "z_pinned.qmd").write_text(_page("Pinned lesson", "order: 1\n"))
    report = build_site(root, pages=["lessons/a_first.qmd", "lessons/index.qmd"], log=_quiet)
    assert report.ok, format_errors(report.errors)
    html = read(report, "lessons/a_first.html")
    sidebar = html[html.index('class="sb-sidebar-list"'):]
    sidebar = sidebar[:sidebar.index("</ul></li></ul>")]
    lessons_part = sidebar[sidebar.index("Lessons</p>"):]
    # the index is listed once (explicitly); numeric `order:` first, then by file name
    # (case-insensitive), as Quarto sorts generated sidebar items
    titles = re.findall(r'class="sb-sidebar-link[^"]*"[^>]*>([^<]+)</a>', lessons_part)
    assert titles == ["All lessons", "Pinned lesson", "Alpha lesson", "Beta lesson",
                      "Lesson two"]
    assert sidebar.count('href="index.html"') == 1
    assert '<a class="sb-pager-prev" href="z_pinned.html" rel="prev">' in html
    assert '<a class="sb-pager-next" href="Beta.html" rel="next">' in html

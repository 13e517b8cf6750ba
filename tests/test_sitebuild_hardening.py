"""The builder never serves a stale or broken page, and silent mistakes fail the build.

Tiny throwaway sites under tmp_path, built in-process (jobs=1) with a fixed package digest (the
mlsysim sources may be edited while the tests run). Pages without code cells start no kernel.
1. an error page is never cached; a failed page leaves nothing stale; a changed output is
   rendered again; the browser check fails error and placeholder pages;
2. the cache follows what a page reads: globbed folders, data files, local modules, its own
   bibliography;
3. cells cannot write into the site output or outside their folder; a full build removes files
   it did not write;
4. mistakes pandoc passes silently fail the build with file and line.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sitebuild.build import build_site, format_errors
from sitebuild.errors import BuildError

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CONFIG = """project:
  type: website
  output-dir: _site
  render:
    - "*.qmd"
    - "lessons/*.qmd"
website:
  title: "Hardening"
"""
INDEX = "---\ntitle: Home\n---\n\nWelcome.\n"
PNG = repr(bytes.fromhex(  # a 1x1 PNG, as a Python literal for a cell
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"))


def _quiet(_msg):
    pass


@pytest.fixture(autouse=True)
def fixed_digest(monkeypatch):
    monkeypatch.setattr("sitebuild.cache.package_digest", lambda name="mlsysim": "fixed")


def make_site(root: Path, pages: dict, config: str = CONFIG) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "_quarto.yml").write_text(config, encoding="utf-8")
    for rel, text in {"index.qmd": INDEX, **pages}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return root


def build(root: Path, **kwargs):
    return build_site(root, jobs=1, log=_quiet, **kwargs)


def html(root: Path, rel: str) -> str:
    return (root / "_site" / rel).read_text(encoding="utf-8")


def page(title: str, body: str) -> str:
    return f"---\ntitle: {title}\n---\n\n{body}"


def by_rel(report) -> dict:
    return {r.rel: r for r in report.results}


# -- 1. no stale or broken page is served -----------------------------------------------------
GOOD = page("Good", "```{python}\nx = 1 + 1\n```\n\nValue `{python} x`.\n")
BROKEN = page("Good", "```{python}\nx = 1 / 0\n```\n\nValue `{python} x`.\n")


def test_error_page_is_never_cached(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/p.qmd": GOOD})
    assert build(root).ok
    source = root / "lessons" / "p.qmd"
    source.write_text(BROKEN)
    failed = build(root, error_pages=True)
    assert not failed.ok and "This page failed to build" in html(root, "lessons/p.html")
    source.write_text(GOOD)  # the fix restores the source of the first, good build
    fixed = build(root)
    assert fixed.ok, format_errors(fixed.errors)
    assert not by_rel(fixed)["lessons/p.qmd"].cached  # rendered again, not the kept error page
    text = html(root, "lessons/p.html")
    assert "failed to build" not in text and "ZeroDivisionError" not in text
    assert "Value 2." in text


def test_failed_page_leaves_no_stale_output(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/p.qmd": GOOD})
    assert build(root).ok
    assert "Value 2." in html(root, "lessons/p.html")
    (root / "lessons" / "p.qmd").write_text(BROKEN)
    report = build(root)
    assert not report.ok
    assert not (root / "_site" / "lessons" / "p.html").exists()  # no old page served as current
    assert "lessons/p.html" not in (root / "_site" / "search.json").read_text()


def test_output_changed_by_someone_else_is_rendered_again(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/p.qmd": GOOD})
    assert build(root).ok
    target = root / "_site" / "lessons" / "p.html"
    target.write_text(target.read_text() + "<p>TAMPERED</p>")
    again = build(root)
    assert again.ok and not any(r.executed for r in again.results)  # execution still cached
    assert "TAMPERED" not in target.read_text() and "Value 2." in target.read_text()


def _layout_page(site: Path, name: str, **info) -> None:
    from sitebuild.layout import PageInfo, SiteChrome, page_html
    from sitebuild.navigation import build_navigation
    from sitebuild.pandoc import Rendered

    chrome = SiteChrome(title="S", favicon="favicon.svg")
    nav = build_navigation({}, {}, set())
    parts = Rendered(title=name, pagetitle=name, body="<p>Body text.</p>")
    text = page_html(chrome, nav, PageInfo(name, {"title": name}, **info), parts, {})
    (site / name).write_text(text, encoding="utf-8")


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and not shutil.which("chromium"),
                    reason="needs Debian's chromium")
def test_browser_check_fails_error_and_placeholder_pages(tmp_path):
    from sitebuild import check
    from sitebuild.layout import STATIC_DIR

    site = tmp_path / "site"
    shutil.copytree(ROOT / "sitebuild" / "static", site / STATIC_DIR)
    (site / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (site / "search.json").write_text("[]")
    _layout_page(site, "index.html")
    _layout_page(site, "broken.html", error="broken.qmd:3: cell failed: ZeroDivisionError")
    _layout_page(site, "later.html", stub=True)
    report = check.run(site, None)
    assert report.page("index.html").ok, report.format()
    assert "build" in report.page("broken.html").kinds()
    assert any("ZeroDivisionError" in p.message for p in report.page("broken.html").problems)
    assert "build" in report.page("later.html").kinds()
    assert not report.ok


# -- 2. the cache follows every input ---------------------------------------------------------
GLOB = page("Lessons", "```{python}\n#| echo: false\nfrom pathlib import Path\n"
                       "Path('made.txt').write_text('a file the page writes in its folder')\n"
                       "print('lessons:', ' '.join(sorted(p.stem for p in "
                       "Path('.').glob('[a-z]*.qmd'))))\n```\n")


def test_new_globbed_page_appears_without_no_cache(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/index.qmd": GLOB,
                                      "lessons/one.qmd": page("One", "One.\n")})
    assert build(root).ok
    assert "lessons: index one" in html(root, "lessons/index.html")
    unchanged = build(root)
    assert not any(r.executed for r in unchanged.results)  # a no-change rebuild runs nothing
    (root / "lessons" / "two.qmd").write_text(page("Two", "Two.\n"))
    report = build(root)
    assert report.ok and by_rel(report)["lessons/index.qmd"].executed
    assert "lessons: index one two" in html(root, "lessons/index.html")


def test_data_file_and_local_module_are_inputs(tmp_path):
    root = make_site(tmp_path / "s", {
        "lessons/p.qmd": page("P", "```{python}\nimport helper\nfrom pathlib import Path\n"
                                   "data = Path('data.txt').read_text().strip()\n```\n\n"
                                   "Data `{python} data`, helper `{python} helper.VALUE`.\n")})
    (root / "lessons" / "data.txt").write_text("7\n")
    (root / "lessons" / "helper.py").write_text("VALUE = 1\n")
    assert build(root).ok
    assert "Data 7, helper 1." in html(root, "lessons/p.html")
    (root / "lessons" / "data.txt").write_text("42\n")
    assert build(root).ok
    assert "Data 42, helper 1." in html(root, "lessons/p.html")
    (root / "lessons" / "helper.py").write_text("VALUE = 333\n")
    assert build(root).ok
    assert "Data 42, helper 333." in html(root, "lessons/p.html")


BIB = ("@book{{knuth,\n  title = {{{title}}},\n  author = {{Knuth, Donald}},\n"
       "  year = {{1984}}\n}}\n")


def test_page_bibliography_is_an_input(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/p.qmd": "---\ntitle: P\nbibliography: refs.bib\n"
                                                       "---\n\nAs [@knuth] says.\n"})
    (root / "lessons" / "refs.bib").write_text(BIB.format(title="First Title"))
    assert build(root).ok
    assert "First Title" in html(root, "lessons/p.html")
    (root / "lessons" / "refs.bib").write_text(BIB.format(title="Second Title"))
    assert build(root).ok
    assert "Second Title" in html(root, "lessons/p.html")


# -- 3. outputs belong to the builder ---------------------------------------------------------
WRITER = page("W", "```{python}\nimport os, tempfile\nopen('mine.txt', 'w').write('fine')\n"
                   "open(os.path.join(tempfile.gettempdir(), 't.txt'), 'w').write('x')\n```\n\n"
                   "```{python}\n{write}\n```\n")


@pytest.mark.parametrize("code,target,line", [
    ("open('../_site/evil.html', 'w').write('<p>evil</p>')", "s/_site/evil.html", 12),
    ("open('../../outside.txt', 'w').write('x')", "outside.txt", 12),
    ("try:\n    open('../_site/evil.html', 'w')\nexcept OSError:\n    pass",
     "s/_site/evil.html", 11),
])
def test_cells_cannot_write_into_the_output_or_outside(tmp_path, code, target, line):
    root = make_site(tmp_path / "s", {"lessons/w.qmd": WRITER.replace("{write}", code)})
    report = build(root, pages=["lessons/w.qmd"])
    assert not report.ok
    message = format_errors(report.errors)
    assert message.startswith(f"lessons/w.qmd:{line}: "), message
    assert str(tmp_path / target) in message
    assert not (tmp_path / target).exists()
    assert (root / "lessons" / "mine.txt").read_text() == "fine"  # its own folder is fine


def test_full_build_removes_files_it_did_not_write(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/one.qmd": page("One", "One.\n")})
    assert build(root).ok
    out = root / "_site"
    (out / "stray.html").write_text("<p>written by a subprocess</p>")
    (out / "lessons" / "gone.html").write_text("<p>page whose source was deleted</p>")
    (out / ".nojekyll").write_text("")
    partial = build(root, pages=["lessons/one.qmd"])
    assert partial.ok and (out / "stray.html").exists()  # a partial build keeps other files
    report = build(root)
    assert report.ok
    assert not (out / "stray.html").exists() and not (out / "lessons" / "gone.html").exists()
    assert any("stray.html: removed" in w for w in report.warnings)
    assert any("lessons/gone.html: removed" in w for w in report.warnings)
    assert (out / ".nojekyll").exists() and (out / "lessons" / "one.html").exists()


def test_search_index_forgets_deleted_pages(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/one.qmd": page("One", "One.\n"),
                                      "lessons/two.qmd": page("Two", "Two.\n")})
    assert build(root).ok
    assert "lessons/two.html" in (root / "_site" / "search.json").read_text()
    (root / "lessons" / "two.qmd").unlink()
    assert build(root).ok
    assert "lessons/two.html" not in (root / "_site" / "search.json").read_text()


# -- 4. silent mistakes fail the build with file and line -------------------------------------
MISTAKES = {  # page body → (line, words of the message); the body starts at line 5
    "link": ("Intro.\n\nSee [the other](missing.qmd).\n", 7, "link to a missing page"),
    "unrendered": ("See [draft](_draft.qmd).\n", 5, "not rendered"),
    "citation": ("Intro.\n\nAs shown [@nokey].\n", 7, "citation @nokey is not in the bib"),
    "section ref": ("See @sec-intro.\n", 5, "only fig- and tbl-"),
    "crossref": ("Intro.\n\nSee @fig-nope.\n", 7, "unresolved cross reference @fig-nope"),
    "misspelt callout": ("::: {.callot-note}\nText.\n:::\n", 5, "did you mean .callout-note"),
    "unknown callout": ("::: {.callout-info}\nText.\n:::\n", 5, "unknown callout class"),
    "misspelt condition": ('::: {.content-visable when-profile="x"}\nText.\n:::\n', 5,
                           "did you mean .content-visible"),
    "unclosed callout": ("Intro.\n\n::: {.callout-note}\n## Title\nText.\n", 7,
                         "is never closed"),
    "stray close": ("Intro.\n\n:::\n", 7, "closes no open div"),
    "glued fence": ("Intro text\n::: {.callout-note}\nText.\n:::\n", 6, "blank line before"),
    "raw fence": ("Intro.\n\nThis ::: shows.\n", 7, "':::' shows as text"),
    "malformed fence": ("::: {.callout-note\nText.\n:::\n", 5, "malformed div fence"),
    "anchor": ("Intro.\n\nSee [below](#nowhere).\n", 7, "no such id"),
    "network image": ("![A chart](https://example.org/c.png)\n", 5, "from the network"),
    "no alt": ("Intro.\n\n![](pic.png)\n", 7, "has no alt text"),
    "duplicate label": ("```{python}\n#| label: tbl-a\nx = 1\n```\n\n```{python}\n"
                        "#| label: tbl-a\nx = 2\n```\n", 10, "duplicate cell label"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_silent_mistake_fails_with_file_and_line(tmp_path, case):
    body, line, words = MISTAKES[case]
    root = make_site(tmp_path / "s", {"lessons/m.qmd": page("M", body),
                                      "lessons/_draft.qmd": page("Draft", "x\n")})
    (root / "lessons" / "pic.png").write_bytes(b"\x89PNG")
    report = build(root, pages=["lessons/m.qmd"])
    assert not report.ok, case
    message = format_errors(report.errors)
    assert message.startswith(f"lessons/m.qmd:{line}: "), message
    assert words in message, message


def test_figure_without_fig_alt(tmp_path):
    body = ("```{python}\n#| label: fig-dot\n#| fig-cap: A dot.\nfrom IPython.display import "
            f"Image\nImage(data={PNG})\n```\n\nSee @fig-dot.\n")
    root = make_site(tmp_path / "s", {"lessons/f.qmd": page("F", body)})
    report = build(root, pages=["lessons/f.qmd"])
    assert not report.ok
    assert format_errors(report.errors).startswith("lessons/f.qmd:5: figure fig-dot-output-1 "
                                                   "has no fig-alt")
    fixed = body.replace("#| fig-cap: A dot.", "#| fig-cap: A dot.\n#| fig-alt: One dot.")
    (root / "lessons" / "f.qmd").write_text(page("F", fixed))
    assert build(root, pages=["lessons/f.qmd"]).ok


def test_unknown_cell_option_is_a_warning_with_its_line(tmp_path):
    body = "```{python}\n#| lable: tbl-x\nx = 1\n```\n"
    root = make_site(tmp_path / "s", {"lessons/o.qmd": page("O", body)})
    report = build(root, pages=["lessons/o.qmd"])
    assert report.ok
    assert any(w.startswith("lessons/o.qmd:5: unknown cell option 'lable'") and
               "did you mean 'label'" in w for w in report.warnings), report.warnings


def test_linked_project_file_is_copied_into_the_site(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/d.qmd": page("D", "Get [the data](data.csv).\n")})
    (root / "lessons" / "data.csv").write_text("a,b\n1,2\n")
    assert build(root).ok
    assert (root / "_site" / "lessons" / "data.csv").read_text() == "a,b\n1,2\n"


def test_non_utf8_page_names_its_line(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/u.qmd": b"---\ntitle: U\n---\n\nCaf\xe9.\n"})
    report = build(root)
    assert [str(e).splitlines()[0] for e in report.errors] == [
        "lessons/u.qmd:5: not UTF-8: byte 0xe9 at column 4 (save the file as UTF-8)"]


def test_non_utf8_configuration_is_a_clear_error(tmp_path):
    root = make_site(tmp_path / "s", {})
    (root / "_quarto.yml").write_bytes(CONFIG.replace('"Hardening"', '"Caf\xe9"')
                                       .encode("latin-1"))
    with pytest.raises(BuildError, match=r"_quarto\.yml:8: not UTF-8 \(byte 0xe9\)"):
        build(root)
    proc = subprocess.run([sys.executable, "-m", "sitebuild", "--root", str(root), "build"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert "_quarto.yml:8: not UTF-8" in proc.stderr and "Traceback" not in proc.stderr


def test_non_utf8_directory_metadata_is_a_clear_error(tmp_path):
    root = make_site(tmp_path / "s", {"lessons/one.qmd": page("One", "One.\n")})
    (root / "lessons" / "_metadata.yml").write_bytes(b"# caf\xe9\ntoc: false\n")
    with pytest.raises(BuildError, match=r"lessons/_metadata\.yml:1: not UTF-8"):
        build(root)


@pytest.mark.parametrize("option,value", [("timeout", 0), ("timeout", -5), ("jobs", 0)])
def test_option_that_would_silently_mean_something_else_is_rejected(tmp_path, option, value):
    root = make_site(tmp_path / "s", {})
    with pytest.raises(BuildError, match=f"--{option}"):
        build_site(root, log=_quiet, **{option: value})


def test_inline_expression_that_never_returns_names_its_line(tmp_path):
    body = "Intro.\n\nSlow `{python} __import__('time').sleep(60)`.\n"
    root = make_site(tmp_path / "s", {"lessons/i.qmd": page("I", body)})
    report = build(root, pages=["lessons/i.qmd"], timeout=2)
    assert format_errors(report.errors) == (
        "lessons/i.qmd:7: inline expression `{python} __import__('time').sleep(60)` did not "
        "finish within the 2 s cell timeout")


def test_inline_expression_that_kills_the_kernel_names_its_line(tmp_path):
    body = "```{python}\nx = 1\n```\n\nGone `{python} __import__('os')._exit(3)`.\n"
    root = make_site(tmp_path / "s", {"lessons/k.qmd": page("K", body)})
    report = build(root, pages=["lessons/k.qmd"])
    assert format_errors(report.errors).startswith(
        "lessons/k.qmd:9: inline expression `{python} __import__('os')._exit(3)`: the kernel died")


def test_cell_that_kills_the_kernel_names_its_line(tmp_path):
    body = "Intro.\n\n```{python}\nimport os\nos._exit(3)\n```\n"
    root = make_site(tmp_path / "s", {"lessons/k.qmd": page("K", body)})
    report = build(root, pages=["lessons/k.qmd"])
    assert format_errors(report.errors).startswith("lessons/k.qmd:7: the kernel died while "
                                                   "running this cell")


def test_resource_outside_the_project_is_a_clear_error(tmp_path):
    root = make_site(tmp_path / "s", {}, CONFIG.replace("  render:", "  resources:\n"
                                                        "    - ../shared.css\n  render:"))
    (tmp_path / "shared.css").write_text("p {}")
    with pytest.raises(BuildError, match=r"resource \.\./shared\.css is outside the project"):
        build(root)


def test_pandoc_warnings_name_the_source_line(tmp_path):
    body = ("```{python}\nx = 1\n```\n\nText `{python} x`.\n\n[a]: ../one.html\n"
            "[a]: ../two.html\n\nUse [a].\n")
    root = make_site(tmp_path / "s", {"lessons/w.qmd": page("W", body),
                                      "one.qmd": INDEX, "two.qmd": INDEX})
    report = build(root, pages=["lessons/w.qmd"])
    assert report.ok, format_errors(report.errors)
    assert any(w.startswith("lessons/w.qmd:12: [WARNING] Duplicate link reference '[a]'")
               for w in report.warnings), report.warnings


def test_links_in_cell_html_are_checked(tmp_path):
    cell = ("```{python}\n#| echo: false\nfrom IPython.display import HTML\n"
            "HTML('<a href=\"../index.html\">home</a> <a href=\"gone.html\">gone</a>')\n```\n")
    root = make_site(tmp_path / "s", {"lessons/h.qmd": page("H", cell)})
    report = build(root, pages=["lessons/h.qmd"])
    assert format_errors(report.errors) == ("lessons/h.qmd: link target not found: gone.html "
                                            "(looked for lessons/gone.html in the project)")


def test_output_folder_outside_the_project_is_never_cleaned(tmp_path):
    outside = tmp_path / "public"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the builder's")
    root = make_site(tmp_path / "s", {}, CONFIG.replace("output-dir: _site",
                                                        f"output-dir: {outside}"))
    report = build(root)
    assert report.ok and (outside / "index.html").exists()
    assert (outside / "keep.txt").exists() and report.warnings == []


@pytest.mark.parametrize("before,glued", [
    ("Paragraph text", True), ("- a list item", True), ("$$", True),
    ("## A heading", False), ("<!-- a comment -->", False), ("| 1 | 2 |", False),
    ("***", False), ("::: {.outer}", False), ("", False)])
def test_div_fence_glued_to_a_paragraph(before, glued):
    from sitebuild.lint import source_problems
    from sitebuild.qmd import parse_qmd

    text = f"{before}\n::: {{.callout-note}}\nBody.\n:::\n" + (":::\n" if "outer" in before else "")
    messages = [p.message for p in source_problems(parse_qmd(text))]
    assert any("blank line before" in m for m in messages) == glued, messages


# -- 5. every worked solution declares a checkable answer (issue 9) ---------------------------
def _exercises(*solutions: str, heading: str = "## Exercises", front: str = "") -> str:
    """A page whose exercises have these solution bodies ("" = an exercise without one)."""
    parts = [f"---\ntitle: Ex\n{front}---\n\n{heading}\n"]
    for n, body in enumerate(solutions, 1):
        parts.append(f"### Exercise {n}: question {n}\n\nAsk.\n\n::: {{.callout-tip}}\n## Hint\n"
                     "A hint.\n:::\n")
        if body:
            parts.append(f'::: {{.callout-tip .solution collapse="true"}}\n## Worked solution\n'
                         f"{body}\n:::\n")
    return "\n".join(parts) + "\n## Key takeaways\n\nDone.\n"


def _cell(code: str, *options: str) -> str:
    return "```{python}\n" + "".join(f"#| {o}\n" for o in options) + code + "\n```\n"


def _exercise_errors(text: str, defaults: dict | None = None) -> list[tuple[int, str]]:
    from sitebuild.lint import source_problems
    from sitebuild.qmd import parse_qmd

    return [(p.line, p.message) for p in source_problems(parse_qmd(text), defaults) if p.error]


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    lines = [k for k, line in enumerate(text.split("\n"), 1) if needle in line]
    return lines[nth - 1]


@pytest.mark.parametrize("call", [
    'mlsysim.answer("x", x)', 'answer("x", x, rtol=0.05)', 'mlsysim.answer_free_text("why")',
    'answer_free_text("why")', 'mlsysim.classroom.answer("x", x)',
    'for v in [x]:\n    mlsysim.answer("x", v)'])
def test_a_solution_that_declares_its_answer_passes(call):
    for options in ((), ("echo: false",)):
        text = _exercises(_cell(f"x = 2\n{call}", *options) + "\nProse.\n")
        assert _exercise_errors(text) == []


@pytest.mark.parametrize("code", [
    "x = 2\nx",                                  # computes, declares nothing
    'x = 2\n# mlsysim.answer("x", x)',          # only in a comment
    'x = 2\nnote = "call answer(x) here"',      # only in a string
    'x = 2\nmlsysim.prediction("x", x, prompt="guess")',  # a prediction is no answer
    'x = 2\nmy_answer(x)'])
def test_a_solution_that_declares_nothing_checkable_fails_at_its_line(code):
    text = _exercises(_cell('mlsysim.answer("a", 1)'), _cell(code))
    assert _exercise_errors(text) == [(
        _line_of(text, ".solution", 2),
        "the worked solution of 'Exercise 2: question 2' declares nothing checkable: call "
        'mlsysim.answer("name", value) in one of its code cells (or '
        'mlsysim.answer_free_text("name") for an answer in words)')]


def test_a_solution_in_prose_only_fails_too():
    text = _exercises("The answer is 42, worked out by hand.")
    assert [line for line, _ in _exercise_errors(text)] == [_line_of(text, ".solution")]


@pytest.mark.parametrize("option,why", [
    ("output: false", "hides its output (output: false)"),
    ("include: false", "hides its output (include: false)"),
    ("eval: false", "never runs (eval: false)")])
def test_an_answer_cell_that_loses_its_output_fails_at_the_cell(option, why):
    text = _exercises(_cell('x = 2\nmlsysim.answer("x", x)', "echo: false", option))
    assert _exercise_errors(text) == [(
        _line_of(text, "```{python}"),
        f"this solution cell declares an answer but {why}: the answer travels in the cell's "
        "output; to hide the code, use echo: false")]


def test_page_defaults_that_hide_outputs_count_and_a_cell_can_override_them():
    answer = 'mlsysim.answer("x", 2)'
    hidden = _exercises(_cell(answer))
    errors = [m for _, m in _exercise_errors(hidden, {"output": False})]
    assert len(errors) == 1 and errors[0].startswith(
        "this solution cell declares an answer but hides its output (output: false)")
    shown = _exercises(_cell(answer, "output: true"))
    assert _exercise_errors(shown, {"output": False}) == []


def test_an_exercise_without_a_worked_solution_fails_at_its_heading():
    text = _exercises(_cell('mlsysim.answer("a", 1)'), "")
    assert _exercise_errors(text) == [(
        _line_of(text, "### Exercise 2"),
        "exercise 'Exercise 2: question 2' has no worked solution: add a ::: {.callout-tip "
        '.solution collapse="true"} whose code declares its answer with mlsysim.answer()')]


def test_only_solutions_under_the_exercises_section_are_checked():
    outside = _exercises(_cell("x = 2"), heading="## Predict")  # a worked example elsewhere
    assert _exercise_errors(outside) == []
    # a "## Hint" inside a callout is its title, not a section: exercise 2 is still checked,
    # and a solution after a bold "**Exercise 3: ...**" paragraph is named by it
    text = _exercises(_cell('mlsysim.answer("a", 1)'), _cell("y = 1"))
    text = text.replace("## Key takeaways", "**Exercise 3: bold style.** Ask.\n\n"
                        '::: {.callout-tip .solution collapse="true"}\n## Worked solution\n'
                        "Words.\n:::\n\n## Key takeaways")
    errors = _exercise_errors(text)
    assert [line for line, _ in errors] == [_line_of(text, ".solution", 2),
                                            _line_of(text, ".solution", 3)]
    assert "'Exercise 3: bold style.'" in errors[1][1]
    # the section ends at the next level-2 heading
    after = text + ("\n## Exercises, explained\n\n::: {.callout-tip .solution}\n## Solution\n"
                    "Prose only.\n:::\n")
    assert len(_exercise_errors(after)) == 2


def test_build_fails_with_file_and_line_for_an_undeclared_solution(tmp_path):
    text = _exercises(_cell("x = 2"))
    root = make_site(tmp_path / "s", {"lessons/ex.qmd": text})
    report = build(root, pages=["lessons/ex.qmd"])
    assert format_errors(report.errors).startswith(
        f"lessons/ex.qmd:{_line_of(text, '.solution')}: the worked solution of "
        "'Exercise 1: question 1' declares nothing checkable")
    assert not (root / "_site" / "lessons" / "ex.html").exists()


def test_build_reads_hidden_outputs_from_the_page_execute_options(tmp_path):
    text = _exercises(_cell('mlsysim.answer("x", 2)'), front="execute:\n  output: false\n")
    root = make_site(tmp_path / "s", {"lessons/ex.qmd": text})
    report = build(root, pages=["lessons/ex.qmd"])
    assert format_errors(report.errors) == (
        f"lessons/ex.qmd:{_line_of(text, '```{python}')}: this solution cell declares an answer"
        " but hides its output (output: false): the answer travels in the cell's output; to hide"
        " the code, use echo: false")

"""The classroom editions of the site (issue 9): the default build folds each worked solution,
the instructor build (``--profile instructor``) unfolds it, and the student build (``--profile
student``) has no solution at all: not in the pages, the search index or the notebooks, and no
answer data anywhere in its output folder.

The builds run on a copy of the real project (its ``_quarto*.yml``, filters and pages) and build
two pages: a fixture tutorial whose solutions hold every kind of content (echoed and hidden code,
printed output, a figure, inline values, each kind of answer) and one real tutorial that
declares answers. What a solution holds is read from the default build (the text of its folded
callouts and the answer elements in them) and from the page source (its code lines); the
student edition must hold none of it, yet keep the exercises, hints and predictions.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from mlsysim.classroom import Answer, script_of
from sitebuild.build import build_site, format_errors
from sitebuild.lint import declares_answer, source_problems
from sitebuild.qmd import fenced_line_mask, parse_qmd

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
FIXTURE = "tutorials/98_editions_fixture.qmd"
# not part of the site's sources: copying them would only cost time
_NOT_SOURCES = {"mlsysim", "sitebuild", "tests", "benchmarks", "_build", "build", "dist"}
PAGE = '''---
title: "Which answers reach the student?"
---

A fixture page for the classroom editions.

```{python}
import matplotlib.pyplot as plt

import mlsysim

seen = 7
mlsysim.prediction("guess", seen * 1.5, prompt="Your guess for the visible koala value")
```

The visible value is `{python} seen * 1.5`.

## Exercises

### Exercise 1: a number and a figure

Divide the catalogue constant by three and store it in `secret_ratio`.

::: {.callout-tip collapse="true"}
## Hint
Hint text that students keep.
:::

::: {.callout-tip .solution collapse="true"}
## Worked solution
```{python}
secret_ratio = 1234.56789 / 3.0
print(f"solution printout {secret_ratio:.4f} marsupial")
mlsysim.answer("secret_ratio", secret_ratio, rtol=0.01)
```

```{python}
#| label: fig-secret
#| fig-cap: "The solution's own figure"
#| fig-alt: "A rising line drawn only in the worked solution"
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([1, 2], [secret_ratio, 2 * secret_ratio])
plt.show()
```

Solution prose that names the bandicoot ratio `{python} f"{secret_ratio:.5f}"`.
:::

### Exercise 2: a choice, a set and words

Name the animal in `secret_choice` and the pair in `secret_set`.

::: {.callout-tip .solution collapse="true"}
## Worked solution
```{python}
#| echo: false
secret_choice = "Quokka-Memory"
secret_set = {"Wombat-7", "Numbat-9"}
mlsysim.answer("secret_choice", secret_choice)
mlsysim.answer("secret_set", secret_set)
mlsysim.answer_free_text("secret_reflection")
```

Only the solution says the wallaby sentence.
:::

## Key takeaways

The page goes on after the exercises.
'''
FIXTURE_ONLY_IN_SOLUTIONS = ["marsupial", "bandicoot", "wallaby", "Quokka-Memory", "Wombat-7",
                             "Numbat-9", "secret_reflection", "411.5226"]


def _quiet(_msg):
    pass


def _real_tutorial() -> str | None:
    """The first tutorial that passes the source lint and declares answers in its solutions
    (answers are being added to the tutorials one by one)."""
    for path in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.qmd")):
        rel = path.relative_to(ROOT).as_posix()
        nb = parse_qmd(path.read_text(encoding="utf-8"), rel)
        if any(p.error for p in source_problems(nb)):
            continue
        if any(declares_answer(c.source) for c in nb.cells if c.cell_type == "code"):
            return rel
    return None


REAL = _real_tutorial()
PAGES = [FIXTURE] + ([REAL] if REAL else [])


def _copy_project(dest: Path) -> Path:
    for item in ROOT.iterdir():
        if item.name.startswith((".", "_site")) or item.name in _NOT_SOURCES \
                or item.name.endswith(".egg-info"):
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name,
                            ignore=shutil.ignore_patterns("__pycache__", "*_files"))
        else:
            shutil.copy2(item, dest / item.name)
    (dest / FIXTURE).write_text(PAGE, encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return _copy_project(tmp_path_factory.mktemp("editions"))


def _build(project: Path, profile: str | None, pages: list[str]) -> Path:
    report = build_site(project, profile=profile, pages=pages, jobs=2, log=_quiet)
    assert report.ok, format_errors(report.errors)
    return report.output_dir


@pytest.fixture(scope="module")
def default(project):
    return _build(project, None, PAGES)


@pytest.fixture(scope="module")
def student(project):
    return _build(project, "student", PAGES)


@pytest.fixture(scope="module")
def instructor(project):
    return _build(project, "instructor", [FIXTURE])


# -- reading the outputs ----------------------------------------------------------------------
class _Page(HTMLParser):
    """All text of a page (code and script contents included), split into the text inside
    worked-solution callouts and the rest, and the answer elements with where they were."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.inside: list[str] = []
        self.outside: list[str] = []
        self.answers: list[tuple[dict, bool]] = []  # (declaration, inside a solution)
        self.solutions: list[str] = []  # the start tag of each solution callout
        self._details: list[bool] = []
        self._answer = False
        self.feed(html)
        self.close()

    @property
    def in_solution(self) -> bool:
        return any(self._details)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag in ("details", "div") and "solution" in classes:
            self.solutions.append(self.get_starttag_text())
        if tag in ("details", "div"):
            self._details.append("solution" in classes)
        self._answer = tag == "script" and "mlsysim-answer" in classes

    def handle_endtag(self, tag):
        if tag in ("details", "div") and self._details:
            self._details.pop()

    def handle_data(self, data):
        if self._answer:
            self.answers.append((json.loads(data), self.in_solution))
            self._answer = False
        (self.inside if self.in_solution else self.outside).append(data)

    @property
    def text(self) -> str:
        return "".join(self.outside) + "".join(self.inside)


def _page(out: Path, rel: str) -> _Page:
    return _Page((out / rel.replace(".qmd", ".html")).read_text(encoding="utf-8"))


def _notebook_text(out: Path, rel: str) -> str:
    nb = nbformat.read(out / rel.replace(".qmd", ".ipynb"), as_version=4)
    return "\n".join(cell.source for cell in nb.cells)


def _index_text(out: Path) -> str:
    return "\n".join(" ".join(str(v) for v in entry.values())
                     for entry in json.loads((out / "search.json").read_text(encoding="utf-8")))


def _every_file(out: Path) -> dict[str, str]:
    """Every file of an output folder as text (binary files decoded loosely)."""
    return {p.relative_to(out).as_posix(): p.read_bytes().decode("utf-8", "replace")
            for p in sorted(out.rglob("*")) if p.is_file()}


def _solution_code_lines(rel: str, root: Path) -> list[str]:
    """Code lines of the solutions of a page source (not ``#|`` options, not short, and not
    also written outside the solutions)."""
    lines = (root / rel).read_text(encoding="utf-8").split("\n")
    mask = fenced_line_mask("\n".join(lines))
    inside, outside, depth, solution_at = [], set(), 0, []
    for line, fenced in zip(lines, mask, strict=True):
        stripped = line.strip()
        if not fenced and re.match(r"^:{3,}\s*\{", stripped):
            depth += 1
            if ".solution" in stripped:
                solution_at.append(depth)
        elif not fenced and re.fullmatch(r":{3,}", stripped):
            if solution_at and solution_at[-1] == depth:
                solution_at.pop()
            depth -= 1
        elif fenced and not stripped.startswith(("#|", "```")):
            (inside.append if solution_at else outside.add)(stripped)
    return [code for code in dict.fromkeys(inside) if len(code) >= 16 and code not in outside]


def _solution_only_text(page: _Page) -> list[str]:
    """Lines of the folded solutions' text (code, outputs, prose) found nowhere else."""
    rest = "".join(page.outside)
    pieces = "".join(page.inside).split("\n")
    return [p for p in dict.fromkeys(s.strip() for s in pieces) if len(p) >= 16 and p not in rest]


def _solution_answers(page: _Page) -> list[Answer]:
    return [Answer.from_dict(a) for a, inside in page.answers if inside]


def _traces(answer: Answer, elsewhere: str) -> list[str]:
    """Strings that only the answer's own element would put in a page: its element, its JSON,
    and a number's full digits unless the page shows them ``elsewhere`` (outside solutions)."""
    traces = [script_of(answer), json.dumps(answer.to_dict(), ensure_ascii=False),
              f'"name": "{answer.name}", "kind"']
    if answer.kind == "number" and len(repr(answer.value)) >= 8:
        traces.append(repr(answer.value))
    return [t for t in traces if t not in elsewhere]


# -- the default and instructor editions ------------------------------------------------------
def test_default_edition_folds_each_solution_with_its_answers(default):
    page = _page(default, FIXTURE)
    assert page.solutions == ['<details class="callout callout-tip solution">'] * 2
    answers = {a.name: a for a in _solution_answers(page)}
    assert set(answers) == {"secret_ratio", "secret_choice", "secret_set", "secret_reflection"}
    assert answers["secret_ratio"].value == pytest.approx(1234.56789 / 3)  # 411.52263
    assert answers["secret_set"].value == ["Numbat-9", "Wombat-7"]
    assert answers["secret_reflection"].kind == "free-text"
    for word in FIXTURE_ONLY_IN_SOLUTIONS[:3]:  # printed output and inline values are there
        assert word in "".join(page.inside)
    assert (default / "tutorials" / "98_editions_fixture_files" / "figure-html"
            / "fig-secret-output-1.png").is_file()
    assert "secret_ratio = 1234.56789 / 3.0" in _notebook_text(default, FIXTURE)


def test_instructor_edition_shows_each_solution_expanded(instructor):
    assert instructor.name == "_site-instructor"
    page = _page(instructor, FIXTURE)
    assert page.solutions == ['<details class="callout callout-tip solution" open>'] * 2
    assert len(_solution_answers(page)) == 4
    assert "bandicoot" in "".join(page.inside)


# -- the student edition ----------------------------------------------------------------------
def test_real_tutorial_is_covered():
    if REAL is None:
        pytest.skip("no tutorial declares its answers and passes the exercise lint yet")
    assert REAL in PAGES


@pytest.mark.parametrize("rel", PAGES)
def test_student_pages_hold_no_solution(default, student, rel):
    assert student.name == "_site-student"
    before, after = _page(default, rel), _page(student, rel)
    assert before.solutions and after.solutions == []
    hidden = _solution_only_text(before)
    code = _solution_code_lines(rel, student.parent)
    assert hidden and code
    shown_code = [line for line in code if line in before.text]
    assert shown_code  # the default page shows the echoed solution code: the search can see it
    text = after.text
    assert [t for t in hidden + code if t in text] == []
    assert "Worked solution" not in text
    # everything else stays: the prose around the exercises, and their hints
    kept = [t for t in dict.fromkeys(s.strip() for s in "".join(before.outside).split("\n"))
            if len(t) >= 40 and "Download" not in t]
    assert kept and [t for t in kept if t not in text] == []


@pytest.mark.parametrize("rel", PAGES)
def test_student_notebooks_hold_no_solution(default, student, rel):
    code = _solution_code_lines(rel, student.parent)
    words = _solution_only_text(_page(default, rel))
    teacher_nb, student_nb = _notebook_text(default, rel), _notebook_text(student, rel)
    assert [line for line in code if line in teacher_nb] == code  # the default keeps them
    assert [t for t in code + words if t in student_nb] == []
    assert "Worked solution" in teacher_nb and "Worked solution" not in student_nb
    nb = nbformat.read(student / rel.replace(".qmd", ".ipynb"), as_version=4)
    assert any("## Hint" in c.source for c in nb.cells if c.cell_type == "markdown")


def test_student_fixture_keeps_the_rest_of_the_page(student):
    page = _page(student, FIXTURE)
    text = page.text
    for kept in ("Divide the catalogue constant by three", "Hint text that students keep.",
                 "The page goes on after the exercises.", "The visible value is 10.5."):
        assert kept in text
    notebook = _notebook_text(student, FIXTURE)
    assert "Hint text that students keep." in notebook and "Key takeaways" in notebook
    assert 'mlsysim.prediction("guess"' in notebook
    assert [a["name"] for a, _ in page.answers] == ["guess"]  # the prediction stays


def test_student_search_index_holds_no_solution(default, student):
    index = _index_text(student)
    assert "Divide the catalogue constant by three" in index  # the pages are indexed
    for rel in PAGES:
        hidden = [t for t in _solution_only_text(_page(default, rel))
                  if not t.startswith(("{", "<"))]
        assert [t for t in hidden if t in index] == []
    assert [w for w in FIXTURE_ONLY_IN_SOLUTIONS if w in index] == []


def test_no_answer_data_anywhere_in_the_student_output(default, student):
    pages = {rel: _page(default, rel) for rel in PAGES}
    traces = {t for page in pages.values() for a in _solution_answers(page)
              for t in _traces(a, "".join(page.outside))}
    assert len(traces) >= 3 * (4 + (1 if REAL else 0)) + 1  # with the fixture's number
    files = _every_file(student)
    assert any(name.endswith(".ipynb") for name in files) and "search.json" in files
    leaks = [(name, trace) for trace in sorted(traces)
             for name, text in files.items() if trace in text]
    leaks += [(name, word) for word in FIXTURE_ONLY_IN_SOLUTIONS
              for name, text in files.items() if word in text]
    assert leaks == []
    # the only declarations left are the predictions, whose values the pages show anyway
    for rel in PAGES:
        left = _page(student, rel).answers
        assert all(a["meta"].get("prediction") for a, _ in left), left
    assert not (student / "tutorials" / "98_editions_fixture_files").exists()  # its figure


def test_search_index_never_holds_script_contents(default, student, instructor):
    for out in (default, student, instructor):
        index = _index_text(out)
        assert "Your guess for the visible koala value" not in index  # a prediction's JSON
        assert "mlsysim-answer" not in index and '"kind":' not in index


def test_search_entries_skip_script_elements():
    from sitebuild.search import page_entries

    answer = script_of(Answer("ratio", "number", 411.52263, rtol=0.01))
    body = ("<h2 id='ex'>Exercise</h2><p>Question text.</p>"
            f"<details class='callout solution'><div>{answer}<script>var hush = 1;</script>"
            "<p>Worked text.</p></div></details><p>After.</p>")
    entries = page_entries("p.html", "P", body)
    text = json.dumps(entries)
    assert "411.52263" not in text and "hush" not in text and "ratio" not in text
    assert [e["text"] for e in entries] == ["Question text. Worked text. After."]


# -- the pieces, without a kernel --------------------------------------------------------------
def test_student_profile_is_configured_like_the_instructor_one():
    from sitebuild.config import load_site

    site = load_site(ROOT, "student")
    assert site.profiles == ("student",) and site.config["student"] is True
    assert site.output_dir == ROOT / "_site-student"
    assert site.filter_stages == [("pre-ast", ROOT / "filters" / "solutions.lua")]
    assert "student" not in load_site(ROOT, "instructor").config


MARKDOWN = ("Before.\n\n::: {.callout-tip collapse=\"true\"}\n## Hint\nA hint.\n:::\n\n"
            "::: {.callout-tip .solution collapse=\"true\"}\n## Worked solution\nSolved.\n"
            "::: {.callout-note}\nNested in it.\n:::\n:::\n\nAfter.\n")


@pytest.mark.parametrize("meta,solution", [
    ("", '<details class="callout callout-tip solution">'),
    ("instructor: true\n", '<details class="callout callout-tip solution" open>'),
    ("student: true\n", None), ("student: true\ninstructor: true\n", None)])
def test_solutions_filter_removes_solutions_for_students(meta, solution):
    from sitebuild.pandoc import render

    body = render(f"---\ntitle: S\n{meta}---\n\n{MARKDOWN}", page="s.qmd",
                  project_filters=[("pre-ast", ROOT / "filters" / "solutions.lua")]).body
    assert "Before." in body and "A hint." in body and "After." in body
    if solution is None:
        assert "solution" not in body and "Solved." not in body and "Nested" not in body
    else:
        assert solution in body and "Solved." in body and "Nested in it." in body


NOTEBOOK = """---
title: N
---

Intro.

::: {.callout-tip .solution}
## Worked solution
```{python}
solved = 42
```

Solution words.
:::

::: {.custom-drop}
```{python}
dropped_by_a_custom_filter = 1
```
:::

```{python}
kept = 1
```
"""
DROP_FILTER = """function Div(div)
  if div.classes:includes("custom-drop") and FORMAT == "ipynb" then return {} end
end
"""


def test_notebook_leaves_out_what_the_project_filters_remove(tmp_path):
    from sitebuild.download import download_notebook

    drop = tmp_path / "drop.lua"
    drop.write_text(DROP_FILTER)
    filters = [("pre-ast", ROOT / "filters" / "solutions.lua"), ("pre-quarto", drop)]
    nb = parse_qmd(NOTEBOOK, "n.qmd")

    def sources(metadata):
        out = download_notebook(nb, metadata=metadata, filters=filters)
        return [c.source for c in out.cells]

    assert sources({"student": True}) == ["# N", "Intro.", "kept = 1"]
    teacher = sources({})
    assert "solved = 42" in teacher and "Solution words." in teacher
    assert any("## Worked solution" in cell for cell in teacher)
    # the custom filter removes its div for the ipynb format in every edition, as Quarto would
    assert "dropped_by_a_custom_filter = 1" not in teacher
    # without the project's filters nothing is removed
    plain = [c.source for c in download_notebook(nb).cells]
    assert "solved = 42" in plain and "dropped_by_a_custom_filter = 1" in plain

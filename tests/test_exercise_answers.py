"""Every exercise of every tutorial (and of the tutorial template) declares checkable answers
(``mlsysim/classroom.py``), checked statically, without executing a page.

- Each ``### Exercise`` section has a worked-solution callout (``.solution``) whose code calls
  ``mlsysim.answer(...)`` or ``mlsysim.answer_free_text(...)`` (the latter with its reason in a
  comment).
- An answer's name is a variable that the solution's own code assigns at the top level: the
  autograder asks the student's notebook for a variable of that name. No cell outside the
  solutions assigns it (the student edition would define it already), and the exercise's
  question names it in backticks, so the student knows what to store.
- Values are computed, not typed; a declaration sits only in a cell that shows its output (the
  declaration travels as an invisible element in it); answers only inside solutions, predictions
  (with a prompt) only outside them; every declared name is unique on its page.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sitebuild.qmd import cell_info, fenced_line_mask, parse_qmd, strip_options

ROOT = Path(__file__).resolve().parents[1]
PAGES = [p.relative_to(ROOT).as_posix()
         for p in [*sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.qmd")),
                   ROOT / "sitebuild" / "templates" / "tutorial.qmd"]]
ANSWERS = ("answer", "answer_free_text")
DECLARATIONS = (*ANSWERS, "prediction")
_DIV_OPEN = re.compile(r"^\s*:{3,}\s*(\{[^}]*\}|[A-Za-z][\w-]*)\s*$")
_DIV_CLOSE = re.compile(r"^\s*:{3,}\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_BOLD_EXERCISE = re.compile(r"^\s*\*\*Exercise\b")
_HIDING = ("include", "output", "eval")  # '#| <key>: false' drops the cell's output


@dataclass
class Call:
    """One ``answer``/``answer_free_text``/``prediction`` call in a code cell."""

    kind: str
    name: str | None  # None unless the name is a literal string
    node: ast.Call
    line: int  # in the page

    def argument(self, position: int, keyword: str) -> ast.expr | None:
        if len(self.node.args) > position:
            return self.node.args[position]
        return next((k.value for k in self.node.keywords if k.arg == keyword), None)


@dataclass
class Cell:
    line: int
    options: dict
    tree: ast.Module
    source: str
    calls: list[Call]


@dataclass
class Exercise:
    title: str
    line: int
    prose: list[str] = field(default_factory=list)  # the question: its text outside callouts
    solutions: int = 0
    cells: list[Cell] = field(default_factory=list)  # code inside its solution callouts


@dataclass
class Page:
    name: str
    exercises: list[Exercise] = field(default_factory=list)
    outside: list[Cell] = field(default_factory=list)  # code cells not in any solution
    stray: list[Cell] = field(default_factory=list)  # solution code outside an exercise
    has_exercises_section: bool = False
    bold_exercises: list[int] = field(default_factory=list)

    def where(self, line: int) -> str:
        return f"{self.name}:{line}"


def _calls(tree: ast.Module, first_line: int) -> list[Call]:
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        kind = (func.id if isinstance(func, ast.Name)
                else func.attr if isinstance(func, ast.Attribute) else None)
        if kind not in DECLARATIONS:
            continue
        call = Call(kind, None, node, first_line + node.lineno)
        arg = call.argument(0, "name")
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            call.name = arg.value
        out.append(call)
    return sorted(out, key=lambda c: c.line)


def _code_cell(cell, page: str) -> Cell:
    info = cell_info(cell)
    first = info["line"] + info.get("option_lines", 0)  # the fence, then the option lines
    source = strip_options(cell.source)
    tree = ast.parse(source, filename=f"{page}:{info['line']}")
    return Cell(info["line"], info.get("options") or {}, tree, source, _calls(tree, first))


def parse_page(text: str, page: str) -> Page:
    """Walk the page in order: top-level headings delimit the exercises, ``:::`` fences open
    and close callouts, and a code cell belongs to the solution callout around it."""
    out, divs, current = Page(page), [], None
    for cell in parse_qmd(text, page).cells:
        if cell.cell_type == "code":
            code = _code_cell(cell, page)
            if any(".solution" in d for d in divs):
                (current.cells if current else out.stray).append(code)
            else:
                out.outside.append(code)
            continue
        start = cell_info(cell).get("line", 0)
        lines = cell.source.split("\n")
        for offset, (line, fenced) in enumerate(zip(lines, fenced_line_mask(cell.source),
                                                    strict=True)):
            heading = None if fenced else _HEADING.match(line)
            if not fenced and _DIV_CLOSE.match(line) and divs:
                divs.pop()
            elif not fenced and _DIV_OPEN.match(line):
                divs.append(_DIV_OPEN.match(line).group(1))
                if current and ".solution" in divs[-1]:
                    current.solutions += 1
            elif heading and not divs and len(heading.group(1)) <= 3:
                title = heading.group(2)
                out.has_exercises_section |= title == "Exercises"
                current = None
                if len(heading.group(1)) == 3 and title.startswith("Exercise"):
                    current = Exercise(title, start + offset)
                    out.exercises.append(current)
            elif not divs:
                if not fenced and _BOLD_EXERCISE.match(line):
                    out.bold_exercises.append(start + offset)
                if current:
                    current.prose.append(line)
    return out


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a cell binds in the notebook's namespace (not the locals of functions, classes,
    lambdas or comprehensions)."""
    names: set[str] = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _computed(call: Call) -> bool:
    value = call.argument(1, "value")
    return value is not None and not isinstance(value, ast.Constant)


# -- the checks: each returns its problems, one line each --------------------------------------
def exercise_problems(page: Page) -> list[str]:
    out = [f"{page.where(n)}: write an exercise as a '### Exercise N: ...' heading (answers "
           "are found by exercise headings)" for n in page.bold_exercises]
    if page.has_exercises_section and not page.exercises:
        out.append(f"{page.name}: an '## Exercises' section with no '### Exercise' in it")
    out += [f"{page.where(cell.line)}: solution code outside any exercise" for cell in page.stray]
    for ex in page.exercises:
        if not ex.solutions:
            out.append(f"{page.where(ex.line)}: '{ex.title}' has no worked-solution callout")
        elif not any(c.kind in ANSWERS for cell in ex.cells for c in cell.calls):
            out.append(f"{page.where(ex.line)}: the solution of '{ex.title}' declares no answer: "
                       "call mlsysim.answer(...) in its code (or answer_free_text(...), with "
                       "the reason in a comment)")
    return out


def answer_problems(page: Page) -> list[str]:
    out = []
    for ex in page.exercises:
        assigned = set().union(set(), *(_top_level_names(cell.tree) for cell in ex.cells))
        question = "\n".join(ex.prose)
        for cell in ex.cells:
            for call in cell.calls:
                where = page.where(call.line)
                if call.kind not in ANSWERS:
                    out.append(f"{where}: {call.kind}() inside a worked solution")
                elif not (call.name and call.name.isidentifier()):
                    out.append(f"{where}: an answer's name must be a literal identifier")
                elif call.kind == "answer_free_text":
                    lines = cell.source.split("\n")
                    k = call.node.lineno - 1
                    if "#" not in lines[k] and not (k and lines[k - 1].lstrip().startswith("#")):
                        out.append(f"{where}: say in a comment why {call.name!r} is free text")
                elif call.name not in assigned:
                    out.append(f"{where}: answer {call.name!r} is not a variable the solution "
                               f"of '{ex.title}' assigns (the autograder asks the notebook "
                               "for it)")
                elif not _computed(call):
                    out.append(f"{where}: answer {call.name!r} is a typed literal, not computed")
                elif f"`{call.name}`" not in question:
                    out.append(f"{where}: the question of '{ex.title}' never tells the student "
                               f"to store the answer in `{call.name}`")
    return out


def placement_problems(page: Page) -> list[str]:
    out = []
    solution_cells = [cell for ex in page.exercises for cell in ex.cells]
    for cell in solution_cells + page.outside:
        hidden = [k for k in _HIDING if cell.options.get(k) is False]
        out += [f"{page.where(call.line)}: {call.kind}() in a cell with '#| {hidden[0]}: "
                "false' declares nothing (the declaration travels in the cell's output)"
                for call in cell.calls if hidden]
    for cell in page.outside:
        for call in cell.calls:
            where = page.where(call.line)
            if call.kind != "prediction":
                out.append(f"{where}: {call.kind}() outside a worked solution shows students "
                           "the answer")
            elif not (call.name and call.argument(2, "prompt") is not None and _computed(call)):
                out.append(f"{where}: a prediction needs a literal name, a computed value and "
                           "a prompt")
    seen: dict[str, int] = {}
    outside = set().union(set(), *(_top_level_names(cell.tree) for cell in page.outside))
    for call in sorted((c for cell in solution_cells + page.outside for c in cell.calls),
                       key=lambda c: c.line):
        if call.name in seen:
            out.append(f"{page.where(call.line)}: {call.name!r} is declared twice (first at "
                       f"line {seen[call.name]})")
        elif call.name:
            seen[call.name] = call.line
        if call.kind == "answer" and call.name in outside:
            out.append(f"{page.where(call.line)}: {call.name!r} is also assigned outside the "
                       "solutions: a student's notebook would define it without solving")
    return out


CHECKS = (exercise_problems, answer_problems, placement_problems)


@pytest.fixture(scope="module")
def pages() -> dict[str, Page]:
    return {p: parse_page((ROOT / p).read_text(encoding="utf-8"), p) for p in PAGES}


def test_the_tutorials_and_the_template_are_checked(pages):
    assert PAGES[0].startswith("tutorials/00_") and PAGES[-1] == "sitebuild/templates/tutorial.qmd"
    assert all(pages[p].exercises for p in PAGES)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_page(pages, page, check):
    problems = check(pages[page])
    assert not problems, "\n".join(problems)


# -- the checks catch what they should ---------------------------------------------------------
_GOOD = '''---
title: "A page?"
---

## Compute

```{python}
import mlsysim
x = 2.0
mlsysim.prediction("guess_x", x, prompt="Your guess for x")
```

## Exercises

### Exercise 1: double it

Store twice `x` in `ex1_double`.

::: {.callout-tip collapse="true"}
## Hint
Multiply.
:::

::: {.callout-tip .solution collapse="true"}
## Worked solution
```{python}
ex1_double = 2 * x
mlsysim.answer("ex1_double", ex1_double, rtol=0.02)
```
:::

### Exercise 2: reflect

Say why, in words.

::: {.callout-tip .solution collapse="true"}
## Worked solution
```{python}
# nothing to check: the answer is an explanation
mlsysim.answer_free_text("ex2_why")
```
:::
'''


def _problems(text: str) -> list[str]:
    page = parse_page(text, "p.qmd")
    return [p for check in CHECKS for p in check(page)]


def test_a_well_formed_page_passes():
    page = parse_page(_GOOD, "p.qmd")
    assert [ex.title for ex in page.exercises] == ["Exercise 1: double it", "Exercise 2: reflect"]
    assert [c.name for c in page.exercises[0].cells[0].calls] == ["ex1_double"]
    assert _problems(_GOOD) == []


@pytest.mark.parametrize(("old", "new", "message"), [
    ('mlsysim.answer("ex1_double", ex1_double, rtol=0.02)', "print(ex1_double)",
     "declares no answer"),
    ("ex1_double = 2 * x\n", "doubled = 2 * x\n", "is not a variable the solution"),
    ("ex1_double, rtol", "4.0, rtol", "typed literal"),
    ("Store twice `x` in `ex1_double`.", "Double x.", "never tells the student"),
    ("## Worked solution\n```{python}\nex1_double", "## Worked solution\n```{python}\n"
     "#| include: false\nex1_double", "'#| include: false'"),
    ("x = 2.0\n", "x = 2.0\nex1_double = 0\n", "assigned outside the solutions"),
    ('"guess_x"', '"ex1_double"', "declared twice"),
    ('prompt="Your guess for x"', "", "needs a literal name, a computed value and a prompt"),
    ("# nothing to check: the answer is an explanation\n", "", "in a comment"),
    ("### Exercise 1: double it\n", "**Exercise 1: double it**\n", "'### Exercise N: ...'"),
    ('x = 2.0\nmlsysim.prediction("guess_x", x, prompt="Your guess for x")',
     'x = 2.0\nmlsysim.answer("guess_x", x)', "outside a worked solution"),
])
def test_the_checks_catch_each_mistake(old, new, message):
    assert _GOOD.count(old) == 1, old
    problems = _problems(_GOOD.replace(old, new))
    assert any(message in p for p in problems), problems

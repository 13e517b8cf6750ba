"""Checks of a page's source that pandoc would pass silently, each with its source line.

Before a page runs: fenced divs (``:::``) are well formed, closed, not glued to a paragraph
(pandoc would print them as text) and callouts and conditional-content classes are spelt as
sitebuild renders them; cell options are known and labels unique; under ``## Exercises``,
every exercise (a ``### Exercise …`` section) has a worked solution (a ``.solution`` callout)
and every worked solution declares something checkable, a code cell calling ``answer(...)`` or
``answer_free_text(...)`` (``mlsysim.classroom``) whose output is shown, since the declaration
travels in the cell's output (``echo: false`` is fine; ``output: false``, ``include: false`` and
``eval: false`` lose it). :func:`fail` turns errors into one :class:`PageError`; warnings
(unknown option names, as Quarto ignores them) are reported without failing.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .errors import PageError
from .qmd import cell_info, fenced_line_mask, strip_options

CALLOUTS = ("note", "tip", "warning", "important", "caution")
CALLOUT_ATTRIBUTES = {"title", "collapse", "appearance", "icon"}
CONDITIONS = {"when-profile", "unless-profile", "when-format", "unless-format", "when-meta",
              "unless-meta"}
_LOOKALIKE = [f"callout-{k}" for k in CALLOUTS] + ["content-visible", "content-hidden"]
# Quarto's cell options for Jupyter cells (those sitebuild honours and those it leaves alone)
CELL_OPTIONS = {
    "label", "echo", "eval", "output", "include", "warning", "error", "message", "code-fold",
    "code-summary", "code-overflow", "code-line-numbers", "code-copy", "code-tools", "classes",
    "fig-cap", "fig-alt", "fig-subcap", "fig-width", "fig-height", "fig-format", "fig-dpi",
    "fig-align", "fig-env", "fig-pos", "fig-link", "fig-column", "fig-cap-location",
    "fig-scap", "tbl-cap", "tbl-subcap", "tbl-colwidths", "tbl-column", "tbl-cap-location",
    "cap-location", "column", "layout", "layout-ncol", "layout-nrow", "layout-align",
    "layout-valign", "output-location", "panel", "lst-label", "lst-cap", "filename", "file",
    "tags", "html-table-processing", "freeze", "cache", "id", "title", "results", "comment",
}
_OPEN = re.compile(r"^ {0,3}(:{3,})\s*(?:\{(?P<attrs>[^{}]*)\}|(?P<word>[\w-]+))\s*:*\s*$")
_CLOSE = re.compile(r"^ {0,3}:{3,}\s*$")
_FENCE_LIKE = re.compile(r"^ {0,3}:{3,}")
# a line after which a div fence starts a new block (a heading, raw HTML, a table, a rule)
_BLOCK_END = re.compile(r"^ {0,3}(#{1,6}(\s|$)|<|\||\+[-=+]|(-\s*){3,}$|(\*\s*){3,}$|(_\s*){3,}$)")
_ATTR = re.compile(r"""([\w-]+)=("[^"]*"|'[^']*'|[^\s"']+)""")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_BOLD_EXERCISE = re.compile(r"^\*\*(Exercise\b[^*]*)\*\*")
_ANSWER_CALLS = ("answer", "answer_free_text")
_ANSWER_CALL = re.compile(r"(?<![\w])(?:answer|answer_free_text)\s*\(")


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str
    error: bool = True


def distance(a: str, b: str) -> int:
    """Levenshtein distance (small strings)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _classes(match: re.Match) -> tuple[list[str], dict[str, str]]:
    if match.group("word"):
        return [match.group("word")], {}
    attrs = match.group("attrs")
    classes = re.findall(r"(?:^|\s)\.([\w-]+)", attrs)
    values = {k: v.strip("\"'") for k, v in _ATTR.findall(attrs)}
    return classes, values


def _class_problems(line: int, classes: list[str], values: dict[str, str]) -> list[Problem]:
    out = []
    kinds = ", ".join(f".callout-{k}" for k in CALLOUTS)
    for cls in classes:
        if cls in _LOOKALIKE:
            continue
        if cls == "callout" or (cls.startswith("callout-") and cls[8:] not in CALLOUTS):
            out.append(Problem(line, f"unknown callout class .{cls} (use one of {kinds})"))
            continue
        near = min(_LOOKALIKE, key=lambda known: distance(cls, known))
        if distance(cls, near) <= 2:
            out.append(Problem(line, f"misspelt class .{cls}: did you mean .{near}?"))
    if any(c.startswith("callout-") for c in classes):
        for key, value in values.items():
            if key not in CALLOUT_ATTRIBUTES:
                out.append(Problem(line, f"unknown callout attribute {key}= (known: "
                                   f"{', '.join(sorted(CALLOUT_ATTRIBUTES))})", error=False))
            elif key == "collapse" and value not in ("true", "false"):
                out.append(Problem(line, f'collapse="{value}": use "true" or "false"'))
    if {"content-visible", "content-hidden"} & set(classes):
        unknown = [k for k in values if k not in CONDITIONS]
        if unknown or not values:
            out.append(Problem(line, f"conditional content needs one of {sorted(CONDITIONS)}"
                               + (f", not {', '.join(unknown)}" if unknown else "")))
    return out


def _markdown_problems(cell, stack: list[tuple[int, str]]) -> list[Problem]:
    out = []
    start = cell_info(cell).get("line", 1)
    lines = cell.source.split("\n")
    mask = fenced_line_mask(cell.source)
    for k, text in enumerate(lines):
        if mask[k] or not _FENCE_LIKE.match(text):
            continue
        line = start + k
        if _CLOSE.match(text):
            if stack:
                stack.pop()
            else:
                out.append(Problem(line, "':::' closes no open div (it would show as text)"))
            continue
        opening = _OPEN.match(text)
        if opening is None:
            out.append(Problem(line, f"malformed div fence {text.strip()!r}: write "
                               "'::: {.class key=\"value\"}' alone on its line"))
            continue
        before = lines[k - 1] if k else ""
        if before.strip() and not (mask[k - 1] or _FENCE_LIKE.match(before)
                                   or _BLOCK_END.match(before)):
            out.append(Problem(line, "a div fence needs a blank line before it (pandoc reads "
                               "it as part of the paragraph above and shows ':::' as text)"))
        stack.append((line, text.strip()))
        out += _class_problems(line, *_classes(opening))
    return out


def _option_problems(cell, labels: dict[str, int]) -> list[Problem]:
    info = cell_info(cell)
    line = info.get("line")
    out = []
    for key in info.get("options") or {}:
        if key not in CELL_OPTIONS:
            near = min(CELL_OPTIONS, key=lambda known: distance(key, known))
            hint = f" (did you mean '{near}'?)" if distance(key, near) <= 2 else ""
            out.append(Problem(line, f"unknown cell option '{key}'{hint}: it has no effect",
                               error=False))
    label = (info.get("options") or {}).get("label")
    if label:
        label = str(label)
        if label in labels:
            out.append(Problem(line, f"duplicate cell label '{label}' (first at line "
                               f"{labels[label]})"))
        labels.setdefault(label, line)
    return out


def declares_answer(source: str) -> bool:
    """Does this cell's code call ``answer(...)``/``answer_free_text(...)`` (bare or as an
    attribute, ``mlsysim.answer(...)``)? Comments and strings do not count."""
    code = strip_options(source)
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython syntax (magics ...): a plain search of the code
        return bool(_ANSWER_CALL.search(re.sub(r"#.*", "", code)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else None
            if name in _ANSWER_CALLS:
                return True
    return False


@dataclass
class _Solution:
    line: int
    exercise: str
    declares: bool = False


@dataclass
class _Exercises:
    """Walks a page in source order for the exercise rules (see the module docstring)."""

    defaults: dict
    problems: list[Problem] = field(default_factory=list)
    solutions: list[_Solution] = field(default_factory=list)
    divs: list[_Solution | None] = field(default_factory=list)  # open divs; solutions marked
    active: bool = False              # inside the "## Exercises" section
    exercise: tuple[int, str] | None = None
    exercise_solved: bool = False
    name: str = "an exercise"         # of the solutions that follow (a heading or **Exercise…**)

    def _end_exercise(self) -> None:
        if self.exercise and not self.exercise_solved:
            line, title = self.exercise
            self.problems.append(Problem(line, f"exercise '{title}' has no worked solution: add "
                                         "a ::: {.callout-tip .solution collapse=\"true\"} "
                                         "whose code declares its answer with mlsysim.answer()"))
        self.exercise, self.exercise_solved = None, False

    def heading(self, line: int, level: int, title: str) -> None:
        title = re.sub(r"\s*\{[^{}]*\}$", "", title).strip()
        if level <= 3:
            self._end_exercise()
            self.name = "an exercise"
        if level <= 2:
            self.active = level == 2 and title == "Exercises"
        elif level == 3 and self.active and re.match(r"Exercise\b", title):
            self.exercise = (line, title)
            self.name = title

    def open_div(self, line: int, classes: list[str]) -> None:
        solution = None
        if "solution" in classes and self.active:
            solution = _Solution(line, self.name)
            self.solutions.append(solution)
            self.exercise_solved = True
        self.divs.append(solution)

    def close_div(self) -> None:
        if self.divs:
            self.divs.pop()

    def code(self, cell) -> None:
        open_solutions = [d for d in self.divs if d is not None]
        if not open_solutions or not declares_answer(cell.source):
            return
        opts = {**self.defaults, **(cell_info(cell).get("options") or {})}
        lost = next((f"{key}: false" for key in ("eval", "include", "output")
                     if opts.get(key, True) in (False, "false")), None)
        if lost:
            why = "never runs" if lost.startswith("eval") else "hides its output"
            self.problems.append(Problem(cell_info(cell).get("line"), f"this solution cell "
                                         f"declares an answer but {why} ({lost}): the answer "
                                         "travels in the cell's output; to hide the code, use "
                                         "echo: false"))
        for solution in open_solutions:
            solution.declares = True

    def finish(self) -> list[Problem]:
        self._end_exercise()
        for s in self.solutions:
            if not s.declares:
                self.problems.append(Problem(s.line, f"the worked solution of '{s.exercise}' "
                                             "declares nothing checkable: call mlsysim.answer("
                                             "\"name\", value) in one of its code cells (or "
                                             "mlsysim.answer_free_text(\"name\") for an answer "
                                             "in words)"))
        return self.problems


def _walk_markdown(cell, exercises: _Exercises) -> None:
    start = cell_info(cell).get("line", 1)
    for k, (text, fenced) in enumerate(zip(cell.source.split("\n"),
                                           fenced_line_mask(cell.source), strict=True)):
        if fenced:
            continue
        if _FENCE_LIKE.match(text):
            opening = _OPEN.match(text)
            if opening:
                exercises.open_div(start + k, _classes(opening)[0])
            elif _CLOSE.match(text):
                exercises.close_div()
            continue
        heading = _HEADING.match(text)
        if heading and not exercises.divs:  # a header inside a callout is its title
            exercises.heading(start + k, len(heading.group(1)), heading.group(2))
        bold = _BOLD_EXERCISE.match(text)
        if bold and exercises.active and not exercises.divs:
            exercises.name = bold.group(1).strip()


def source_problems(nb, defaults: dict | None = None) -> list[Problem]:
    """Every problem of a parsed page (see the module docstring), in source order;
    ``defaults`` are the page's execution options (Quarto's when not given)."""
    out: list[Problem] = []
    stack: list[tuple[int, str]] = []
    labels: dict[str, int] = {}
    exercises = _Exercises(defaults or {})
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out += _markdown_problems(cell, stack)
            _walk_markdown(cell, exercises)
        elif cell.cell_type == "code":
            out += _option_problems(cell, labels)
            exercises.code(cell)
    out += [Problem(line, f"div {text!r} is never closed (add a ':::' line)")
            for line, text in stack]
    out += exercises.finish()
    return sorted(out, key=lambda p: (p.line is None, p.line or 0))


def fail(page: str, problems: list[Problem]) -> None:
    """Raise one PageError for the errors among ``problems`` (first one as the message)."""
    errors = [p for p in problems if p.error]
    if not errors:
        return
    first = errors[0]
    detail = "\n".join(f"  {page}:{p.line}: {p.message}" if p.line else f"  {page}: {p.message}"
                       for p in errors[1:])
    more = f" (and {len(errors) - 1} more problem(s) below)" if len(errors) > 1 else ""
    raise PageError(page, first.message + more, line=first.line, detail=detail)


def warnings(page: str, problems: list[Problem]) -> list[str]:
    return [f"{page}:{p.line}: {p.message}" if p.line else f"{page}: {p.message}"
            for p in problems if not p.error]


def locate(source: str, token: str, first_line: int = 1) -> int | None:
    """1-based line of the first occurrence of ``token`` in prose (outside code) of
    ``source`` (a whole page), or None."""
    lines = source.split("\n")
    mask = fenced_line_mask(source)
    for k, text in enumerate(lines):
        if k + 1 >= first_line and not mask[k] and token in text:
            return k + 1
    return None

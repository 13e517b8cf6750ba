"""A tutorial page read as an assignment: its setup code and its exercises, in page order.

The page keeps the house shape (CONTRIBUTING.md): under ``## Exercises`` each ``### Exercise N:
…`` section has question prose, a hint callout (its title ``## Hint``) and a worked solution,
``::: {.callout-tip .solution}``, whose code declares the answers (``mlsysim.answer``). Every
line and code cell of the page becomes at most one :class:`Block`, with a role:

- ``setup``: a code cell before ``## Exercises`` (the context the exercises build on);
- ``intro``: prose under ``## Exercises`` before the first exercise;
- ``prompt`` / ``hint`` / ``solution``: an exercise's question, hint and worked-solution prose;
- ``context`` / ``solution`` code: an exercise's code outside / inside its worked solution.

Prose outside the exercises, code after them and ``eval: false`` cells are left out. A cell
hidden with ``include: false`` that only asserts (a claim of the page's prose) is marked
``skip``: the assignment neither shows nor runs it (so are the setup cells no exercise needs,
``sitebuild/assign_slice.py``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PageError
from .qmd import cell_info, fenced_line_mask, front_matter, read_qmd, strip_options

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_DIV_OPEN = re.compile(r"^ {0,3}:{3,}\s*(?:\{(?P<attrs>[^{}]*)\}|(?P<word>[\w-]+))\s*:*\s*$")
_DIV_CLOSE = re.compile(r"^ {0,3}:{3,}\s*$")
_TITLE_ATTR = re.compile(r"""title=("[^"]*"|'[^']*'|\S+)""")
_EXERCISE_NUMBER = re.compile(r"^Exercise\s+(\d+)\b")


@dataclass
class Block:
    kind: str                 # "markdown" or "code"
    role: str                 # see the module docstring
    line: int                 # 1-based page line of the text (code: of its first code line)
    text: str                 # markdown, or code without its #| option lines
    exercise: str | None = None
    skip: bool = False        # neither shown nor run


@dataclass
class Exercise:
    key: str                  # "ex1": the otter question name
    title: str                # "Exercise 1: when does decoding become compute-bound?"
    line: int


@dataclass
class Page:
    path: Path
    rel: str                  # as errors name it, e.g. tutorials/00_hello_roofline.qmd
    slug: str                 # 00_hello_roofline: the assignment's name
    front: dict
    blocks: list[Block] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    variants: dict | None = None   # VARIANTS: name -> list of choices (first: the page's own)

    def exercise(self, key: str) -> Exercise:
        return next(e for e in self.exercises if e.key == key)


@dataclass
class _Div:
    classes: list[str]
    role: str | None          # "hint" / "solution" once known
    title_pending: bool


def _div_classes(match: re.Match) -> tuple[list[str], str | None]:
    if match.group("word"):
        return [match.group("word")], None
    attrs = match.group("attrs")
    title = _TITLE_ATTR.search(attrs)
    return re.findall(r"(?:^|\s)\.([\w-]+)", attrs), title and title.group(1).strip("\"'")


class _Walker:
    def __init__(self, page: Page):
        self.page = page
        self.section = "before"          # before / exercises / after
        self.exercise: str | None = None
        self.divs: list[_Div] = []
        self.buffer: list[str] = []
        self.buffer_key: tuple | None = None
        self.buffer_line = 0

    def role(self) -> str | None:
        if self.section != "exercises":
            return None
        roles = [d.role for d in self.divs]
        if "solution" in roles:
            return "solution"
        if "hint" in roles:
            return "hint"
        return "prompt" if self.exercise else "intro"

    def flush(self) -> None:
        if self.buffer_key and any(line.strip() for line in self.buffer):
            role, exercise = self.buffer_key
            text = re.sub(r"\n{3,}", "\n\n", "\n".join(self.buffer)).strip("\n")
            self.page.blocks.append(Block("markdown", role, self.buffer_line, text, exercise))
        self.buffer, self.buffer_key = [], None

    def emit(self, line_no: int, text: str) -> None:
        role = self.role()
        if role is None:
            return
        key = (role, self.exercise)
        if key != self.buffer_key:
            self.flush()
            self.buffer_key, self.buffer_line = key, line_no
        self.buffer.append(text)

    def heading(self, line_no: int, level: int, title: str) -> None:
        title = re.sub(r"\s*\{[^{}]*\}$", "", title).strip()
        if level <= 2:
            self.flush()
            self.exercise = None
            is_exercises = re.match(r"Exercises\b", title) is not None
            self.section = "exercises" if is_exercises else (
                "after" if self.section == "exercises" else self.section)
            return
        if level == 3 and self.section == "exercises":
            self.flush()
            self.exercise = None
            if re.match(r"Exercise\b", title):
                number = _EXERCISE_NUMBER.match(title)
                key = f"ex{number.group(1)}" if number else f"ex{len(self.page.exercises) + 1}"
                if any(e.key == key for e in self.page.exercises):
                    raise PageError(self.page.rel, f"two exercises are numbered {key[2:]}",
                                    line=line_no)
                self.page.exercises.append(Exercise(key, title, line_no))
                self.exercise = key
                self.emit(line_no, f"### {title}")
                return
        self.emit(line_no, "#" * level + " " + title)

    def markdown(self, cell) -> None:
        start = cell_info(cell).get("line", 1)
        for k, (text, fenced) in enumerate(zip(cell.source.split("\n"),
                                               fenced_line_mask(cell.source), strict=True)):
            line_no = start + k
            if not fenced and self._structure(line_no, text):
                continue
            self.emit(line_no, text)

    def _structure(self, line_no: int, text: str) -> bool:
        """Handle a div fence, a callout title or a section heading; True if consumed."""
        opening = _DIV_OPEN.match(text)
        if opening and not _DIV_CLOSE.match(text):
            classes, title = _div_classes(opening)
            role = "solution" if "solution" in classes else None
            if role is None and title and title.strip().lower().startswith("hint"):
                role = "hint"
            callout = any(c.startswith("callout-") for c in classes)
            self.divs.append(_Div(classes, role, callout and title is None))
            return True
        if _DIV_CLOSE.match(text):
            if self.divs:
                self.divs.pop()
            return True
        heading = _HEADING.match(text)
        pending = self.divs[-1] if self.divs and self.divs[-1].title_pending else None
        if pending is not None and text.strip():
            pending.title_pending = False
            if heading:  # a callout's title: a hint is named by it; other titles stay bold
                title = heading.group(2).strip()
                if pending.role is None and title.lower().startswith("hint"):
                    pending.role = "hint"
                if pending.role is None:
                    self.emit(line_no, f"**{title}**")
                return True
        if heading and not self.divs:
            self.heading(line_no, len(heading.group(1)), heading.group(2))
            return True
        return False

    def code(self, cell) -> None:
        info = cell_info(cell)
        options = info.get("options") or {}
        if options.get("eval", True) in (False, "false") or self.section == "after":
            return
        role = "setup" if self.section == "before" else (
            "solution" if self.role() == "solution" else "context")
        self.flush()
        source = strip_options(cell.source)
        line = info.get("line", 1) + 1 + info.get("option_lines", 0)
        hidden = options.get("include", True) in (False, "false")
        self.page.blocks.append(Block("code", role, line, source, self.exercise,
                                      skip=hidden and _asserts_only(source)))


def _asserts_only(source: str) -> bool:
    """Only ``assert`` statements (also inside ``for``/``if``): nothing bound for later."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False

    def only(nodes) -> bool:
        for node in nodes:
            if isinstance(node, (ast.Assert, ast.Pass)):
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue
            if isinstance(node, ast.If) and only(node.body) and only(node.orelse):
                continue
            if (isinstance(node, ast.For) and isinstance(node.target, ast.Name)
                    and only(node.body) and only(node.orelse)):
                continue  # binds its loop variable, but nothing else reads it
            return False
        return True

    return only(body)


def find_variants(page: Page) -> dict | None:
    """The page's ``VARIANTS = {...}`` (a literal at the top level of a cell), validated."""
    found = None
    for block in page.blocks:
        if block.kind != "code" or "VARIANTS" not in block.text:
            continue
        try:
            tree = ast.parse(block.text)
        except SyntaxError:
            continue
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == "VARIANTS"):
                line = block.line + node.lineno - 1
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    raise PageError(page.rel, "VARIANTS must be a literal dict of lists, e.g. "
                                    "{'batch': [64, 16, 32]}", line=line) from None
                found = _checked_variants(page, value, line)
    return found


def _checked_variants(page: Page, value, line: int) -> dict:
    def bad(why: str):
        return PageError(page.rel, f"VARIANTS: {why} (e.g. {{'batch': [64, 16, 32]}}, the "
                         "first choice being the page's own)", line=line)

    if not isinstance(value, dict) or not value:
        raise bad("expected a non-empty dict")
    for key, choices in value.items():
        if not (isinstance(key, str) and key.isidentifier()):
            raise bad(f"the name {key!r} is not an identifier")
        if not isinstance(choices, list) or not choices:
            raise bad(f"{key!r} needs a non-empty list of choices")
        for choice in choices:
            if not isinstance(choice, (str, int, float)) or choice != choice:
                raise bad(f"{key!r}: the choice {choice!r} is not a string or a number")
    return value


def parse_page(path: Path, root: Path) -> Page:
    """Read ``path`` (a tutorial .qmd) into a :class:`Page`."""
    path = Path(path)
    try:
        rel = path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        rel = str(path)
    nb = read_qmd(path, rel)
    page = Page(path, rel, path.stem, front_matter(nb))
    walker = _Walker(page)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            walker.markdown(cell)
        elif cell.cell_type == "code":
            walker.code(cell)
    walker.flush()
    if not page.exercises:
        raise PageError(rel, "no exercises: an assignment needs a '## Exercises' section with "
                        "'### Exercise N: ...' subsections")
    page.variants = find_variants(page)
    return page

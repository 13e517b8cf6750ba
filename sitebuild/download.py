"""The downloadable ``.ipynb`` of a page (``format: ipynb``), generated from its source.

Markdown and code cells in source order, no outputs. A title cell comes first; Quarto div
fences (``:::``) are dropped so Jupyter shows clean Markdown, content hidden for the
notebook format or the active profile is left out, and inline expressions show their
computed values when the executed page is at hand.

Quarto runs a document's filters for its ``ipynb`` format too, so a div that the project's Lua
filters remove (the worked solutions of the student profile, ``filters/solutions.lua``) is
left out with every cell inside it. Which divs go is asked of the filters themselves: one
pandoc run (``--to=ipynb``, the page's metadata) over a probe holding the page's div fences,
each with a marker paragraph (:func:`removed_divs`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import nbformat
import yaml

from .emit import substitute_inline
from .errors import PageError
from .pandoc import FILTERS, lua_filters, pandoc_path
from .qmd import KERNELSPEC, fenced_line_mask, front_matter

_DIV_OPEN = re.compile(r"^\s*(:{3,})\s*(\{(?P<attrs>[^}]*)\}|(?P<cls>[\w-]+))\s*$")
_DIV_CLOSE = re.compile(r"^\s*:{3,}\s*$")
_ATTR = re.compile(r"""([\w-]+)=("[^"]*"|'[^']*'|\S+)""")
_FORMAT = "ipynb"
_QMD_LINK = re.compile(r"(\]\((?![a-z][a-z0-9+.-]*:)[^)\s#]*?)\.qmd([#)\s])")
_MARKER = "sbprobe"


def _visible(attrs: str, profiles: tuple[str, ...]) -> bool:
    """Quarto's conditional-content rule for one div, for the notebook format."""
    classes = set(re.findall(r"\.([\w-]+)", attrs))
    if not classes & {"content-visible", "content-hidden"}:
        return True
    values = {k: v.strip("\"'") for k, v in _ATTR.findall(attrs)}
    checks = [("when-profile", lambda v: v in profiles, True),
              ("unless-profile", lambda v: v in profiles, False),
              ("when-format", lambda v: v == _FORMAT, True),
              ("unless-format", lambda v: v == _FORMAT, False)]
    holds = True
    for key, test, wanted in checks:
        if key in values:
            hit = any(test(v) for v in re.split(r"[,\s]+", values[key]) if v)
            holds = holds and hit == wanted
    return holds if "content-visible" in classes else not holds


def _div_lines(text: str):
    """(kind, line) of each div fence of a markdown text, outside code: "open" or "close"."""
    for line, fenced in zip(text.split("\n"), fenced_line_mask(text), strict=True):
        if fenced:
            continue
        if _DIV_OPEN.match(line):
            yield "open", line
        elif _DIV_CLOSE.match(line):
            yield "close", line


def removed_divs(texts: Iterable[str], metadata: dict | None, filters: list,
                 page: str = "") -> set[int]:
    """Indexes (in source order, counting every opening fence) of the divs of the markdown
    ``texts`` that the project's Lua ``filters`` remove, given the page's ``metadata``."""
    project = [f for f in lua_filters(list(filters)) if Path(f).parent != FILTERS]
    probe, count, depth = [], 0, 0
    for text in texts:
        for kind, line in _div_lines(text):
            if kind == "open":
                probe += [line.strip(), "", f"{_MARKER}{count}", ""]
                count, depth = count + 1, depth + 1
            elif depth:
                probe += [":::", ""]
                depth -= 1
    if not (project and count):
        return set()
    header = yaml.safe_dump(metadata or {}, allow_unicode=True, sort_keys=False)
    args = [pandoc_path(), "--from=markdown", "--to=ipynb"]
    args += [f"--lua-filter={path}" for path in project]
    markdown = f"---\n{header}---\n\n" + "\n".join(probe + [":::"] * depth) + "\n"
    proc = subprocess.run(args, input=markdown, capture_output=True, text=True,
                          encoding="utf-8", check=False)
    if proc.returncode != 0:
        raise PageError(page, f"notebook download: pandoc failed (exit {proc.returncode})",
                        detail=proc.stderr.strip())
    kept = {int(n) for n in re.findall(rf"\b{_MARKER}(\d+)\b", proc.stdout)}
    return set(range(count)) - kept


class _Divs:
    """Div state carried across cells (a div may open in one markdown cell and close in a
    later one): a stack of "hidden?" flags, and how many divs have opened so far."""

    def __init__(self, profiles: tuple[str, ...], removed: set[int]):
        self.profiles, self.removed = profiles, removed
        self.stack: list[bool] = []
        self.opened = 0

    @property
    def hidden(self) -> bool:
        return bool(self.stack and self.stack[-1])

    def open(self, attrs: str) -> None:
        gone = self.opened in self.removed or not _visible(attrs, self.profiles)
        self.stack.append(self.hidden or gone)
        self.opened += 1


def _clean_markdown(text: str, divs: _Divs) -> str:
    """Drop div fences and the content of hidden or removed divs."""
    out = []
    mask = fenced_line_mask(text)
    for line, fenced in zip(text.split("\n"), mask, strict=True):
        if not fenced:
            opening = _DIV_OPEN.match(line)
            if opening:
                divs.open(opening.group("attrs") or f".{opening.group('cls')}")
                continue
            if _DIV_CLOSE.match(line) and divs.stack:
                divs.stack.pop()
                continue
        if divs.hidden:
            continue
        out.append(line)
    text = "\n".join(out)
    text = _QMD_LINK.sub(lambda m: m.group(1) + ".html" + m.group(2), text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def download_notebook(nb, executed=None, profiles: tuple[str, ...] = (), *,
                      metadata: dict | None = None, filters: list = (), page: str = ""):
    """A clean nbformat v4 notebook for readers to download and run; ``metadata`` and
    ``filters`` (the page's pandoc metadata and the project's Lua filters) decide which divs
    the filters remove (:func:`removed_divs`)."""
    fm = front_matter(nb)
    cells = []
    head = [f"# {fm['title']}"] if fm.get("title") else []
    for key in ("subtitle", "description"):
        if fm.get(key):
            head.append(f"*{fm[key]}*" if key == "subtitle" else str(fm[key]))
    if head:
        cells.append(nbformat.v4.new_markdown_cell("\n\n".join(head)))
    texts = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            run = executed.cells[index] if executed is not None and \
                index < len(executed.cells) else None
            texts[index] = substitute_inline(cell.source, run, html=False)
    divs = _Divs(profiles, removed_divs(texts.values(), metadata, filters, page)
                 if filters else set())
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            text = _clean_markdown(texts[index], divs)
            if text.strip():
                cells.append(nbformat.v4.new_markdown_cell(text))
        elif cell.cell_type == "code" and not divs.hidden:
            cells.append(nbformat.v4.new_code_cell(cell.source))
    for n, cell in enumerate(cells):
        cell["id"] = f"cell-{n}"
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata["kernelspec"] = dict(KERNELSPEC)
    out.metadata["language_info"] = {"name": "python"}
    nbformat.validate(out)
    return out

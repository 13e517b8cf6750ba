"""The downloadable ``.ipynb`` of a page (``format: ipynb``), generated from its source.

Markdown and code cells in source order, no outputs. A title cell comes first; Quarto div
fences (``:::``) are dropped so Jupyter shows clean Markdown, content hidden for the
notebook format or the active profile is left out, and inline expressions show their
computed values when the executed page is at hand.
"""

from __future__ import annotations

import re

import nbformat

from .emit import substitute_inline
from .qmd import KERNELSPEC, fenced_line_mask, front_matter

_DIV_OPEN = re.compile(r"^\s*(:{3,})\s*(\{(?P<attrs>[^}]*)\}|(?P<cls>[\w-]+))\s*$")
_DIV_CLOSE = re.compile(r"^\s*:{3,}\s*$")
_ATTR = re.compile(r"""([\w-]+)=("[^"]*"|'[^']*'|\S+)""")
_FORMAT = "ipynb"
_QMD_LINK = re.compile(r"(\]\((?![a-z][a-z0-9+.-]*:)[^)\s#]*?)\.qmd([#)\s])")


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


def _clean_markdown(text: str, profiles: tuple[str, ...], hidden_depth: list[int]) -> str:
    """Drop div fences and hidden conditional content; ``hidden_depth`` carries across cells
    (a div may open in one markdown cell and close in a later one)."""
    out = []
    mask = fenced_line_mask(text)
    for line, fenced in zip(text.split("\n"), mask, strict=True):
        if not fenced:
            opening = _DIV_OPEN.match(line)
            if opening:
                attrs = opening.group("attrs") or f".{opening.group('cls')}"
                hidden = bool(hidden_depth and hidden_depth[-1]) or not _visible(attrs, profiles)
                hidden_depth.append(1 if hidden else 0)
                continue
            if _DIV_CLOSE.match(line) and hidden_depth:
                hidden_depth.pop()
                continue
        if hidden_depth and hidden_depth[-1]:
            continue
        out.append(line)
    text = "\n".join(out)
    text = _QMD_LINK.sub(lambda m: m.group(1) + ".html" + m.group(2), text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def download_notebook(nb, executed=None, profiles: tuple[str, ...] = ()):
    """A clean nbformat v4 notebook for readers to download and run."""
    fm = front_matter(nb)
    cells = []
    head = [f"# {fm['title']}"] if fm.get("title") else []
    for key in ("subtitle", "description"):
        if fm.get(key):
            head.append(f"*{fm[key]}*" if key == "subtitle" else str(fm[key]))
    if head:
        cells.append(nbformat.v4.new_markdown_cell("\n\n".join(head)))
    hidden: list[int] = []
    for index, cell in enumerate(nb.cells):
        run = executed.cells[index] if executed is not None and index < len(executed.cells) \
            else None
        if cell.cell_type == "markdown":
            text = substitute_inline(cell.source, run, html=False)
            text = _clean_markdown(text, profiles, hidden)
            if text.strip():
                cells.append(nbformat.v4.new_markdown_cell(text))
        elif cell.cell_type == "code" and not (hidden and hidden[-1]):
            cells.append(nbformat.v4.new_code_cell(cell.source))
    for n, cell in enumerate(cells):
        cell["id"] = f"cell-{n}"
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata["kernelspec"] = dict(KERNELSPEC)
    out.metadata["language_info"] = {"name": "python"}
    nbformat.validate(out)
    return out

"""Parse Quarto ``.qmd`` sources into nbformat v4 notebooks, without Quarto.

- YAML front matter → ``nb.metadata["sitebuild"]["front_matter"]``.
- Each ```` ```{python} ```` chunk (closed by a fence of the same length) → a code cell whose
  source keeps its ``#|`` option lines (Python sees comments); the parsed options, the chunk's
  line number and the number of option lines go to ``cell.metadata["sitebuild"]``.
- Everything else stays markdown: plain ```` ```python ```` blocks, ```` ```{mermaid} ````,
  raw ```` ```{=html} ```` blocks and examples nested inside longer fences.
- ``inline_expressions`` finds `` `{python} expr` `` outside fenced blocks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import nbformat
import yaml

from .errors import PageError

LANGUAGE = "python"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_CHUNK = re.compile(r"^\s*\{(?P<lang>[=A-Za-z][\w.+-]*)(?P<rest>[^}]*)\}\s*$")
_HEADER_OPT = re.compile(r"""([A-Za-z][\w.-]*)\s*=\s*("[^"]*"|'[^']*'|[^,\s]+)""")
_OPTION = re.compile(r"^#\s*\| ?")
_INLINE_BODY = re.compile(r"^\{" + LANGUAGE + r"\}[ \t]+(\S[\s\S]*)$")
_TICKS = re.compile(r"`+")
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class QmdSyntaxError(PageError):
    """The page source cannot be parsed (unclosed chunk, bad YAML ...)."""


@dataclass(frozen=True)
class InlineExpr:
    """One `` `{python} expr` `` in a markdown cell: its text span and 0-based line offset."""

    expr: str
    start: int
    end: int
    line: int


def _json_safe(value):
    """YAML values (dates ...) as plain JSON types, so notebooks and metadata serialise."""
    return json.loads(json.dumps(value, default=str))


def split_front_matter(text: str, path: str = "<qmd>") -> tuple[dict, list[str], int]:
    """Front matter mapping, the remaining lines and the 1-based line number of the first one."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return {}, lines, 1
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        raise QmdSyntaxError(path, "front matter opened with '---' is never closed", line=1)
    try:
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise QmdSyntaxError(path, f"invalid YAML front matter: {exc}", line=line) from None
    if not isinstance(data, dict):
        raise QmdSyntaxError(path, "front matter must be a YAML mapping", line=1)
    return _json_safe(data), lines[end + 1:], end + 2


def _cell(kind: str, source: str) -> nbformat.NotebookNode:
    """A v4 cell (built directly: nbformat's constructors validate each cell, which is slow)."""
    cell = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return nbformat.from_dict(cell)


def _closing_fence(lines: list[str], start: int, fence: str, exact: bool) -> int | None:
    """Index of the line closing ``fence`` after ``start`` (same length if ``exact``)."""
    char = fence[0]
    for j in range(start + 1, len(lines)):
        stripped = lines[j].strip()
        if not stripped or stripped.strip(char):
            continue
        if (len(stripped) == len(fence)) if exact else (len(stripped) >= len(fence)):
            return j
    return None


def parse_options(source: str, path: str = "<qmd>", line: int = 0) -> tuple[dict, int]:
    """The ``#|`` options at the top of a cell (YAML) and how many lines they take."""
    yaml_lines = []
    for text in source.split("\n"):
        match = _OPTION.match(text)
        if not match:
            break
        yaml_lines.append(re.sub(r":\s+$", ":", text[match.end():]))
    if not yaml_lines:
        return {}, 0
    try:
        options = yaml.safe_load("\n".join(yaml_lines))
    except yaml.YAMLError as exc:
        raise QmdSyntaxError(path, f"invalid '#|' cell options: {exc}", line=line) from None
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise QmdSyntaxError(path, "'#|' cell options must be 'key: value' lines", line=line)
    return _json_safe(options), len(yaml_lines)


def _header_options(rest: str) -> dict:
    """Options written in the chunk header: ```` ```{python echo=false} ````."""
    out = {}
    for key, raw in _HEADER_OPT.findall(rest):
        try:
            out[key] = yaml.safe_load(raw)
        except yaml.YAMLError:
            out[key] = raw.strip("\"'")
    return out


def strip_options(source: str) -> str:
    """Cell source without its leading ``#|`` option lines (what the kernel executes)."""
    lines = source.split("\n")
    k = 0
    while k < len(lines) and _OPTION.match(lines[k]):
        k += 1
    return "\n".join(lines[k:])


def parse_qmd(text: str, path: str = "<qmd>") -> nbformat.NotebookNode:
    """Parse a ``.qmd`` source into an nbformat v4 notebook (see the module docstring)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    front, lines, first = split_front_matter(text, path)
    cells: list = []
    buffer: list[str] = []
    buffer_start = first

    def flush(next_start: int) -> None:
        nonlocal buffer, buffer_start
        if any(line.strip() for line in buffer):
            cell = _cell("markdown", "\n".join(buffer))
            cell.metadata["sitebuild"] = {"line": buffer_start}
            cells.append(cell)
        buffer, buffer_start = [], next_start

    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            buffer.append(lines[i])
            i += 1
            continue
        fence, info = match.group("fence"), match.group("info")
        chunk = _CHUNK.match(info) if fence[0] == "`" else None
        lineno = first + i
        if chunk and chunk.group("lang") == LANGUAGE:
            end = _closing_fence(lines, i, fence, exact=True)
            if end is None:
                raise QmdSyntaxError(path, f"{fence}{{{LANGUAGE}}} chunk is never closed "
                                     f"(expected a closing {fence})", line=lineno)
            flush(first + end + 1)
            indent = len(match.group("indent"))
            body = [ln[indent:] if ln[:indent].strip() == "" else ln.lstrip()
                    for ln in lines[i + 1:end]]
            source = "\n".join(body)
            options, n_opts = parse_options(source, path, lineno + 1)
            options = {**_header_options(chunk.group("rest")), **options}
            cell = _cell("code", source)
            cell.metadata["sitebuild"] = {"line": lineno, "options": options,
                                          "option_lines": n_opts}
            cells.append(cell)
            i = end + 1
            continue
        end = _closing_fence(lines, i, fence, exact=False)
        end = len(lines) - 1 if end is None else end  # unclosed fences run to the end
        buffer.extend(lines[i:end + 1])
        i = end + 1
    flush(first + len(lines))
    for n, cell in enumerate(cells):
        cell["id"] = f"cell-{n}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": LANGUAGE}
    nb.metadata["sitebuild"] = {"source": path, "front_matter": front}
    return nb


def read_qmd(path, rel: str | None = None) -> nbformat.NotebookNode:
    """Parse the ``.qmd`` file at ``path`` (errors name ``rel`` when given)."""
    from pathlib import Path

    text = Path(path).read_text(encoding="utf-8")
    return parse_qmd(text, rel or str(path))


def fenced_blocks(lines: list[str]) -> list[tuple[int, int, re.Match]]:
    """Top-level fenced blocks of markdown lines: (first line, last line, opening match)."""
    blocks = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match:
            end = _closing_fence(lines, i, match.group("fence"), exact=False)
            end = len(lines) - 1 if end is None else end
            blocks.append((i, end, match))
            i = end + 1
        else:
            i += 1
    return blocks


def fenced_line_mask(text: str) -> list[bool]:
    """For each line of a markdown text: is it part of a fenced code block?"""
    lines = text.split("\n")
    mask = [False] * len(lines)
    for first, last, _ in fenced_blocks(lines):
        for j in range(first, last + 1):
            mask[j] = True
    return mask


def chunk_language(info: str) -> str | None:
    """``mermaid`` for a fence info ``{mermaid}``; None for ``python``, ``{.cls}``, ``{=html}``."""
    match = _CHUNK.match(info)
    if not match or match.group("lang").startswith("="):
        return None
    return match.group("lang")


def _code_spans(text: str):
    """CommonMark code spans: (start, end, delimiter length, content)."""
    pos = 0
    while True:
        opening = _TICKS.search(text, pos)
        if opening is None:
            return
        n, k = len(opening.group()), opening.end()
        while True:
            closing = _TICKS.search(text, k)
            if closing is None:  # no closing run: the backticks are literal
                pos = opening.end()
                break
            if len(closing.group()) == n:
                yield opening.start(), closing.end(), n, text[opening.end():closing.start()]
                pos = closing.end()
                break
            k = closing.end()


def inline_expressions(text: str) -> list[InlineExpr]:
    """Inline `` `{python} expr` `` expressions of a markdown text: single-backtick code spans
    outside fenced blocks (a longer span such as ``` `` `{python} x` `` ``` shows the syntax)."""
    mask = fenced_line_mask(text)
    lines = text.split("\n")
    prose = "\n".join(" " * len(line) if fenced else line
                      for line, fenced in zip(lines, mask, strict=True))
    out = []
    for start, end, n, content in _code_spans(prose):
        match = _INLINE_BODY.match(content)
        if n == 1 and match:
            expr = " ".join(match.group(1).split())
            out.append(InlineExpr(expr, start, end, text.count("\n", 0, start)))
    return out


def front_matter(nb) -> dict:
    """The page's front matter recorded by :func:`parse_qmd`."""
    return dict((nb.metadata.get("sitebuild") or {}).get("front_matter") or {})


def cell_info(cell) -> dict:
    """The parser's per-cell record: ``line``, ``options``, ``option_lines``."""
    return dict(cell.metadata.get("sitebuild") or {})

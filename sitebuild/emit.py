"""Quarto-shaped Markdown from an executed notebook.

Code cells become ``::: {.cell}`` divs holding the echoed code (``{.python .cell-code}``) and
the outputs (``.cell-output-stdout``, ``.cell-output-display`` ...); ``text/html`` outputs are
raw ```` ```{=html} ```` blocks; images are written to ``<page>_files/figure-html/``. Labelled
figures and tables (``fig-``/``tbl-``) are wrapped in a float div with a ``.sb-caption`` div,
which the cross-reference filter turns into numbered figures and captioned tables.

Problems found on the way (an image without ``fig-alt``, a ``fig-``/``tbl-`` cell that shows
nothing) go to ``ctx.problems`` with the cell's line; ``ctx.line_map`` maps lines of the
Markdown back to source lines (for pandoc's messages).
"""

from __future__ import annotations

import ast
import base64
import re
from dataclasses import dataclass, field
from html import escape as html_escape
from pathlib import Path

from .errors import strip_ansi
from .execute import effective_options
from .lint import Problem
from .qmd import chunk_language, fenced_blocks, inline_expressions
from .qmd import strip_options as _strip_options

# Quarto's display priority for HTML output (display-data.ts)
_DISPLAY_PRIORITY = ["text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg",
                     "text/plain"]
_IMAGE_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}


@dataclass
class EmitContext:
    """Where a page's figures go and the page-level options."""

    page: str                      # relative source path, e.g. tutorials/01_memory_wall.qmd
    out_dir: Path                  # folder of the page's HTML output
    defaults: dict                 # execution options of the page
    html: dict = field(default_factory=dict)  # format.html options (code-fold ...)
    figures: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    line_map: list[tuple[int, int, int, bool]] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return Path(self.page).stem

    @property
    def figure_dir(self) -> str:
        return f"{self.stem}_files/figure-html"


def _fence(text: str, char: str = "`") -> str:
    runs = [len(m.group(0)) for m in re.finditer(rf"^\s*({re.escape(char)}+)", text, re.M)]
    return char * max(3, max(runs, default=0) + 1)


def _attr_value(text: str) -> str:
    return '"' + " ".join(str(text).split()).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _code_block(text: str, attrs: str = "") -> str:
    fence = _fence(text)
    sep = "" if attrs.startswith("{=") or not attrs else " "
    return f"{fence}{sep}{attrs}\n{text.rstrip()}\n{fence}"


def _div(classes: str, body: str) -> str:
    return f"::: {{{classes}}}\n{body}\n:::"


def _as_text(data) -> str:
    return "".join(data) if isinstance(data, list) else str(data)


def _plain_value(text: str) -> str:
    """A ``text/plain`` inline result; a Python string literal loses its quotes."""
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] in "'\"" and stripped[-1] == stripped[0]:
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError):
            return text
        if isinstance(value, str):
            return value
    return text


def inline_value(result: dict, html: bool = True) -> str:
    """Markdown for one inline expression result (Quarto: html raw, markdown/plain as is);
    ``html=False`` (notebooks) prefers the Markdown and plain-text forms."""
    data = result.get("data") or {}
    order = ("text/html", "text/markdown", "text/plain") if html else ("text/markdown",
                                                                      "text/plain")
    for mime in order:
        if mime in data:
            text = _as_text(data[mime])
            if mime == "text/html":
                fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
                return f"{fence}{text}{fence}{{=html}}"
            return text if mime == "text/markdown" else _plain_value(text)
    return ""


def substitute_inline(text: str, executed_cell, html: bool = True) -> str:
    """``text`` with each inline expression replaced by its recorded result (if any)."""
    records = executed_cell.metadata.get("user_expressions", []) if executed_cell else []
    results = {r["expression"]: r["result"] for r in records}
    for expr in reversed(inline_expressions(text)):
        if expr.expr in results:
            text = text[:expr.start] + inline_value(results[expr.expr], html) + text[expr.end:]
    return text


def markdown_cell(cell) -> str:
    """A markdown cell with inline results substituted and ``{lang}`` fences made pandoc-safe."""
    lines = substitute_inline(cell.source, cell).split("\n")
    for first, _, match in fenced_blocks(lines):
        lang = chunk_language(match.group("info"))
        if lang:  # ```{mermaid} is no pandoc syntax: show it as a code block of that class
            lines[first] = f"{match.group('indent')}{match.group('fence')} {{.{lang}}}"
    return "\n".join(lines).strip("\n")


def _streams(outputs: list) -> list:
    """Consecutive stream outputs of the same name merged; carriage returns resolved."""
    merged: list = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged
                and merged[-1].get("output_type") == "stream"
                and merged[-1]["name"] == out["name"]):
            merged[-1] = {**merged[-1], "text": merged[-1]["text"] + _as_text(out["text"])}
        elif out.get("output_type") == "stream":
            merged.append({**out, "text": _as_text(out["text"])})
        else:
            merged.append(out)
    for out in merged:
        if out.get("output_type") == "stream":
            out["text"] = "\n".join(line.rsplit("\r", 1)[-1]
                                    for line in out["text"].split("\n"))
    return merged


def _image(ctx: EmitContext, mime: str, out: dict, name: str, opts: dict) -> str:
    data = out["data"][mime]
    target = ctx.out_dir / ctx.figure_dir / f"{name}.{_IMAGE_EXT[mime]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if mime == "image/svg+xml":
        target.write_text(_as_text(data), encoding="utf-8")
    else:
        target.write_bytes(base64.b64decode(_as_text(data)))
    ctx.figures.append(target)
    if not str(opts.get("fig-alt") or "").strip():
        ctx.problems.append(Problem(opts.get("_line"), f"figure {name} has no fig-alt: add "
                                    "'#| fig-alt: ...' stating what the figure shows"))
    attrs = []
    meta = (out.get("metadata") or {}).get(mime) or {}
    if meta.get("width"):
        attrs.append(f"width={int(meta['width'])}")
    if opts.get("fig-alt"):
        attrs.append(f"fig-alt={_attr_value(opts['fig-alt'])}")
    attr = f"{{{' '.join(attrs)}}}" if attrs else ""
    return f"![]({ctx.figure_dir}/{target.name}){attr}"


def _display(ctx: EmitContext, out: dict, name: str, opts: dict, asis: bool) -> str | None:
    data = out.get("data") or {}
    mime = next((m for m in _DISPLAY_PRIORITY if m in data), None)
    if mime is None:
        return None
    if mime in _IMAGE_EXT:
        return _div(".cell-output-display", _image(ctx, mime, out, name, opts))
    text = _as_text(data[mime])
    if mime == "text/html":
        block = _code_block(text, "{=html}")
        return block if asis else _div(".cell-output-display", block)
    if mime == "text/markdown":
        return text if asis else _div(".cell-output-display", text)
    return _div(".cell-output .cell-output-display", _code_block(text))


def _outputs(ctx: EmitContext, cell, opts: dict, index: int) -> tuple[list[str], list[str]]:
    """(stream/error blocks, display blocks) of a cell, in order, as Markdown."""
    asis = opts.get("output") == "asis"
    label = str(opts.get("label") or f"cell-{index}")
    texts, displays = [], []
    count = 0
    for out in _streams(list(cell.get("outputs", []))):
        kind = out.get("output_type")
        if kind == "stream":
            if out["name"] == "stderr" and not opts.get("warning", True):
                continue
            if not out["text"].strip():
                continue
            if asis and out["name"] == "stdout":
                displays.append(out["text"].strip("\n"))
                continue
            texts.append(_div(f".cell-output .cell-output-{out['name']}",
                              _code_block(out["text"])))
        elif kind in ("display_data", "execute_result"):
            count += 1
            block = _display(ctx, out, f"{label}-output-{count}", opts, asis)
            if block:
                displays.append(block)
        elif kind == "error":
            tb = strip_ansi("\n".join(out.get("traceback", [])))
            texts.append(_div(".cell-output .cell-output-error", _code_block(tb)))
    return texts, displays


def _float_kind(opts: dict) -> str | None:
    """"fig" or "tbl" when a cell's outputs form a figure or table float, else None."""
    label = str(opts.get("label") or "")
    if label.startswith("fig-") or (opts.get("fig-cap") and not label.startswith("tbl-")):
        return "fig"
    if label.startswith("tbl-") or opts.get("tbl-cap"):
        return "tbl"
    return None


def _float(kind: str, label: str | None, caption: str | None, body: list[str]) -> str:
    ident = f"#{label} " if label else ""
    parts = [*body]
    if caption:
        parts.append(_div(".sb-caption", " ".join(str(caption).split())))
    return _div(f"{ident}.sb-float .sb-float-{kind}", "\n\n".join(parts))


def code_cell(ctx: EmitContext, cell, index: int) -> str:
    """A code cell as a Quarto-shaped ``::: {.cell}`` div ("" when ``include: false``)."""
    opts = effective_options(ctx.defaults, cell)
    if not opts.get("include", True):
        return ""
    opts["_line"] = (cell.metadata.get("sitebuild") or {}).get("line")
    parts = []
    if opts.get("echo", True):
        code = _strip_options(cell.source).strip("\n")
        block = _code_block(code, "{.python .cell-code}")
        fold = opts.get("code-fold", ctx.html.get("code-fold"))
        if fold in (True, "true", "show"):
            summary = html_escape(str(opts.get("code-summary",
                                               ctx.html.get("code-summary", "Code"))))
            open_attr = " open" if fold == "show" else ""
            block = (_code_block(f'<details class="code-fold"{open_attr}><summary>'
                                 f"{summary}</summary>", "{=html}")
                     + f"\n\n{block}\n\n" + _code_block("</details>", "{=html}"))
        parts.append(block)
    if opts.get("output", True) is not False:
        texts, displays = _outputs(ctx, cell, opts, index)
        parts.extend(texts)
        kind = _float_kind(opts)
        label = str(opts.get("label") or "")
        if label[:4] in ("fig-", "tbl-") and not displays and opts.get("eval", True):
            ctx.problems.append(Problem(opts["_line"], f"cell labelled {label} shows no "
                                        f"{'figure' if label[0] == 'f' else 'table'}"))
        if kind and displays:
            label = str(opts.get("label") or "")
            displays = [_float(kind, label if label.startswith(f"{kind}-") else None,
                               opts.get(f"{kind}-cap"), displays)]
        parts.extend(displays)
    if not parts:
        return ""
    count = cell.get("execution_count")
    attrs = ".cell" + (f" execution_count={count}" if count else "")
    return _div(attrs, "\n\n".join(parts))


def notebook_markdown(nb, ctx: EmitContext) -> str:
    """The page body (no front matter) as Quarto-shaped Markdown; ``ctx.line_map`` gets
    (first Markdown line, line count, source line, is markdown) per block."""
    blocks = []
    line = 1
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            block = markdown_cell(cell)
        elif cell.cell_type == "code":
            block = code_cell(ctx, cell, index)
        elif cell.cell_type == "raw":
            block = cell.source
        else:
            continue
        if not block:
            continue
        source_line = (cell.metadata.get("sitebuild") or {}).get("line", 1)
        if cell.cell_type == "markdown":  # leading blank lines were stripped
            source_line += len(cell.source) - len(cell.source.lstrip("\n"))
        count = block.count("\n") + 1
        ctx.line_map.append((line, count, source_line, cell.cell_type == "markdown"))
        blocks.append(block)
        line += count + 1
    return "\n\n".join(blocks) + "\n"


def source_line(ctx: EmitContext, markdown_line: int) -> int | None:
    """The source line of a line of the body Markdown (as returned by notebook_markdown)."""
    for first, count, source, is_markdown in ctx.line_map:
        if first <= markdown_line < first + count:
            return source + (markdown_line - first if is_markdown else 0)
    return None


"""Renderers: one per output format, behind one registry (as pint registers its formatters).

Results and tables describe themselves as plain data — a :class:`Report` (a titled list of
label/value rows with feasibility, constraints and notes) or a :class:`TableData` (headers and
rows) — and never build HTML themselves. ``render(obj, "html" | "text" | "markdown" | "json")``
picks the renderer registered for that format and that kind of data; ``register`` adds one.
Values go through the one formatter (``formatting.format_value``).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from .formatting import format_value

_RENDERERS: dict[tuple[str, type], Callable] = {}

INFEASIBLE_NOTE = "timings are as if it fit"


@dataclass(frozen=True)
class Report:
    """A result as data: a title, label/value rows, feasibility with its constraints, notes."""

    title: str
    rows: tuple[tuple[str, object], ...]
    feasible: bool = True
    trace: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    tables: tuple[TableData, ...] = ()
    #: what an infeasible result's numbers mean (engine steps: timings as if it fit)
    infeasible_note: str = INFEASIBLE_NOTE


@dataclass(frozen=True)
class TableData:
    """A table as data; ``highlight`` marks rows (by index) that need attention."""

    headers: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    caption: str | None = None
    highlight: frozenset = field(default_factory=frozenset)


@dataclass(frozen=True)
class Heading:
    """A heading between the outputs of one cell."""

    text: str


def register(fmt: str, kind: type):
    """Decorator: ``@register("html", Report)`` makes the function render that kind."""
    def wrap(fn):
        _RENDERERS[(fmt, kind)] = fn
        return fn
    return wrap


def render(obj, fmt: str = "text") -> str:
    """Render a Report, a TableData, or anything with ``report()`` in format ``fmt``."""
    data = obj.report() if hasattr(obj, "report") else obj
    fn = _RENDERERS.get((fmt, type(data)))
    if fn is None:
        known = sorted({f for f, k in _RENDERERS if k is type(data)})
        raise ValueError(f"no {fmt!r} renderer for {type(data).__name__}; formats: "
                         f"{', '.join(known)}")
    return fn(data)


def formats() -> list[str]:
    return sorted({f for f, _ in _RENDERERS})


# -- helpers ---------------------------------------------------------------------------------
def _cell(value) -> str:
    return format_value(value)


def _numeric(cell: str) -> bool:
    return cell.lstrip("+-−")[:1].isdigit()


def _esc(value) -> str:
    return html.escape(_cell(value))


# -- tables ----------------------------------------------------------------------------------
@register("html", TableData)
def _table_html(t: TableData) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in t.headers)
    body = []
    for i, row in enumerate(t.rows):
        cls = ' class="mlsysim-warn"' if i in t.highlight else ""
        cells = "".join(f'<td{" class=num" if _numeric(_cell(c)) else ""}>{_esc(c)}</td>'
                        for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    cap = f"<caption>{html.escape(t.caption)}</caption>" if t.caption else ""
    return (f'<table class="mlsysim-table">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


@register("text", TableData)
def _table_text(t: TableData) -> str:
    cells = [[_cell(c) for c in row] for row in t.rows]
    headers = [str(h) for h in t.headers]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [t.caption] if t.caption else []
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    for i, row in enumerate(cells):
        line = "  ".join(c.rjust(w) if _numeric(c) else c.ljust(w)
                         for c, w in zip(row, widths, strict=True)).rstrip()
        lines.append(line + ("  <-- !" if i in t.highlight else ""))
    return "\n".join(lines)


@register("markdown", TableData)
def _table_markdown(t: TableData) -> str:
    lines = [f"**{t.caption}**", ""] if t.caption else []
    lines.append("| " + " | ".join(str(h) for h in t.headers) + " |")
    lines.append("|" + "---|" * len(t.headers))
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return "\n".join(lines) + "\n"


@register("json", TableData)
def _table_json(t: TableData) -> str:
    return dumps([dict(zip(t.headers, (plain(c) for c in row), strict=True))
                  for row in t.rows])


# -- reports ---------------------------------------------------------------------------------
@register("html", Report)
def _report_html(r: Report) -> str:
    parts = ['<div class="mlsysim-result">']
    if not r.feasible:
        reason = html.escape("; ".join(r.trace) or "does not fit")
        parts.append('<p class="mlsysim-infeasible" role="alert" style="border-left:4px solid '
                     '#b2182b;padding:.3em .6em;background:#fbe9e7;color:#67000d;margin:0 0 .4em">'
                     f"<strong>INFEASIBLE</strong>: {reason}. "
                     f"<em>{html.escape(r.infeasible_note.capitalize())}.</em></p>")
    body = "".join(f"<tr><th scope=row>{html.escape(k)}</th><td>{_esc(v)}</td></tr>"
                   for k, v in r.rows)
    cap = f"<caption>{html.escape(r.title)}</caption>" if r.title else ""
    parts.append(f'<table class="mlsysim-table mlsysim-info">{cap}<tbody>{body}</tbody></table>')
    parts += [_table_html(t) for t in r.tables]
    if r.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in r.notes)
        parts.append(f'<ul class="mlsysim-notes">{items}</ul>')
    parts.append("</div>")
    return "".join(parts)


@register("text", Report)
def _report_text(r: Report) -> str:
    lines = [r.title] if r.title else []
    if not r.feasible:
        lines.append(f"!! INFEASIBLE: {'; '.join(r.trace) or 'does not fit'}")
        lines.append(f"!! ({r.infeasible_note})")
    width = max((len(k) for k, _ in r.rows), default=0)
    lines += [f"  {k.ljust(width)}  {_cell(v)}" for k, v in r.rows]
    lines += ["", *(_table_text(t) for t in r.tables)] if r.tables else []
    lines += [f"  note: {n}" for n in r.notes]
    return "\n".join(lines)


@register("markdown", Report)
def _report_markdown(r: Report) -> str:
    warn = ("" if r.feasible else
            f"**INFEASIBLE**: {'; '.join(r.trace)} ({r.infeasible_note}).\n\n")
    rows = "\n".join(f"| {k} | {_cell(v)} |" for k, v in r.rows)
    title = f"**{r.title}**\n\n" if r.title else ""
    return f"{warn}{title}| | |\n|---|---|\n{rows}\n"


# -- headings --------------------------------------------------------------------------------
@register("html", Heading)
def _heading_html(h: Heading) -> str:
    return f'<p class="mlsysim-banner"><strong>{html.escape(h.text)}</strong></p>'


@register("text", Heading)
def _heading_text(h: Heading) -> str:
    return f"== {h.text} =="


@register("markdown", Heading)
def _heading_markdown(h: Heading) -> str:
    return f"**{h.text}**\n"


@register("json", Heading)
def _heading_json(h: Heading) -> str:
    return dumps({"heading": h.text})


# -- JSON ------------------------------------------------------------------------------------
def plain(value):
    """A JSON-safe value: quantities as {"value", "unit"}, non-finite numbers as None."""
    if hasattr(value, "magnitude") and hasattr(value, "units"):
        return {"value": plain(float(value.magnitude)), "unit": f"{value.units:~P}"}
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalar
        return plain(value.item())
    return str(value)


def dumps(data) -> str:
    """Strict JSON (never ``NaN`` or ``Infinity``)."""
    return json.dumps(plain(data), indent=2, allow_nan=False, ensure_ascii=False)


@register("json", Report)
def _report_json(r: Report) -> str:
    return dumps({"title": r.title, "feasible": r.feasible, "constraint_trace": list(r.trace),
                  "rows": {k: v for k, v in r.rows}, "notes": list(r.notes)})

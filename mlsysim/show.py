"""Display helpers for pages, notebooks and terminals: ``table``, ``info``, ``banner``.

Each returns an object that renders as an HTML table in Jupyter/Quarto (``_repr_html_``) and as
aligned text in a terminal (``str``). Inside IPython the object is also displayed at once, so
several calls in one cell all appear, in order; a call that ends a cell is not shown twice.
Values go through one formatter: quantities to 3 significant figures with a sensible prefix.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Sequence

from .formatting import format_value

__all__ = ["Banner", "Info", "Table", "banner", "info", "table"]


def _shell():
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


class _Shown:
    """Base: eager display inside IPython, suppressed echo of the same object at cell end."""

    _echo_pending = False

    def _show_now(self):
        if _shell() is not None:
            from IPython.display import display

            display(self)  # calls _ipython_display_ below with the flag clear
            self._echo_pending = True
        return self

    def _ipython_display_(self):
        if self._echo_pending:  # already shown by the call itself: skip the end-of-cell echo
            self._echo_pending = False
            return
        from IPython.display import publish_display_data

        publish_display_data({"text/plain": str(self), "text/html": self._repr_html_()})

    def __repr__(self) -> str:
        return str(self)


class Table(_Shown):
    """A table of formatted cells; ``highlight`` rows (by index) get a warning style."""

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[object]],
                 title: str | None = None, caption: str | None = None,
                 highlight: Sequence[int] = ()):
        self.headers = [str(h) for h in headers]
        self.rows = [[format_value(c) for c in row] for row in rows]
        for i, row in enumerate(self.rows):
            if len(row) != len(self.headers):
                raise ValueError(f"row {i} has {len(row)} cells; headers has "
                                 f"{len(self.headers)}")
        self.title, self.caption, self.highlight = title, caption, set(highlight)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = []
        for i, row in enumerate(self.rows):
            cls = ' class="mlsysim-warn"' if i in self.highlight else ""
            cells = "".join(
                f'<td{" class=num" if _numeric(c) else ""}>{html.escape(c)}</td>' for c in row)
            body.append(f"<tr{cls}>{cells}</tr>")
        caption = self.caption or self.title
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        return (f'<table class="mlsysim-table">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>")

    def __str__(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.headers)]
        lines = []
        if self.title or self.caption:
            lines.append(self.title or self.caption)
        lines.append("  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        for i, row in enumerate(self.rows):
            cells = [c.rjust(w) if _numeric(c) else c.ljust(w)
                     for c, w in zip(row, widths, strict=True)]
            lines.append("  ".join(cells).rstrip() + ("  <-- !" if i in self.highlight else ""))
        return "\n".join(lines)


class Info(_Shown):
    """A titled list of label: value pairs (labels from keyword names, ``_`` → space)."""

    def __init__(self, title: str | None, fields: dict[str, object]):
        self.title = title
        self.fields = [(k.replace("_", " "), format_value(v)) for k, v in fields.items()]

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th scope=row>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in self.fields)
        cap = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f'<table class="mlsysim-table mlsysim-info">{cap}<tbody>{rows}</tbody></table>'

    def __str__(self) -> str:
        width = max((len(k) for k, _ in self.fields), default=0)
        lines = [self.title] if self.title else []
        lines += [f"  {k.ljust(width)}  {v}" for k, v in self.fields]
        return "\n".join(lines)


class Banner(_Shown):
    """A section heading inside cell output."""

    def __init__(self, text: str):
        self.text = str(text)

    def _repr_html_(self) -> str:
        return f'<p class="mlsysim-banner"><strong>{html.escape(self.text)}</strong></p>'

    def __str__(self) -> str:
        return f"== {self.text} =="


def _numeric(cell: str) -> bool:
    head = cell.lstrip("+-−")[:1]
    return head.isdigit()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None,
          caption: str | None = None, highlight: Sequence[int] = ()) -> Table:
    """A table: ``table(["Batch", "Latency"], [[1, q1], [8, q8]])``."""
    return Table(headers, rows, title=title, caption=caption, highlight=highlight)._show_now()


def info(title: str | None = None, **fields: object) -> Info:
    """Label/value pairs: ``info("GPU", Bandwidth=hw.memory.bandwidth)``."""
    return Info(title, fields)._show_now()


def banner(text: str) -> Banner:
    """A heading between outputs of one cell."""
    return Banner(text)._show_now()

"""Display helpers for pages, notebooks and terminals: ``table``, ``info``, ``banner``.

Each returns an object that describes itself as data (``report()``) and renders through the
one renderer registry (:mod:`mlsysim.render`): an HTML table in Jupyter/Quarto
(``_repr_html_``), aligned text in a terminal (``str``). Inside IPython the object is also
displayed at once, so several calls in one cell all appear, in order; a call that ends a cell
is not shown twice.
Values go through one formatter: quantities to 3 significant figures with a sensible prefix.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .formatting import format_value
from .render import Heading, Report, TableData, render

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

    def _repr_html_(self) -> str:
        return render(self, "html")

    def __str__(self) -> str:
        return render(self, "text")

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

    def report(self) -> TableData:
        return TableData(tuple(self.headers), tuple(map(tuple, self.rows)),
                         self.caption or self.title, frozenset(self.highlight))


class Info(_Shown):
    """A titled list of label: value pairs (labels from keyword names, ``_`` → space)."""

    def __init__(self, title: str | None, fields: dict[str, object]):
        self.title = title
        self.fields = [(k.replace("_", " "), format_value(v)) for k, v in fields.items()]

    def report(self) -> Report:
        return Report(self.title or "", tuple(self.fields))


class Banner(_Shown):
    """A section heading inside cell output."""

    def __init__(self, text: str):
        self.text = str(text)

    def report(self) -> Heading:
        return Heading(self.text)


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

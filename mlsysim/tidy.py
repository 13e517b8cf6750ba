"""Tidy tables: one row per observation, one column per variable (Wickham 2014, "Tidy Data",
J. Stat. Softw. 59(10), §2.3).

:func:`make_table` returns a pandas ``DataFrame`` when pandas is installed (and ``kind`` is
"auto" or "pandas"), otherwise a light :class:`Table` that needs only numpy: columns are numpy
arrays (text columns stored as integer codes into their categories, so a million rows hold no
per-row Python objects; integers with missing values as numpy masked arrays), with
``columns``, ``len``, ``table["col"]``, ``rows``, ``filter``, ``sort``, ``head``, ``to_csv``,
``to_json`` and ``to_pandas``. pandas is optional (the ``pandas`` extra); nothing here imports
it until a DataFrame is asked for.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Categorical", "Table", "make_table"]

KINDS = ("auto", "pandas", "light")
_CHUNK = 65_536  # rows formatted at a time by to_csv


@dataclass(frozen=True, slots=True)
class Categorical:
    """A text column: ``codes`` (ints) index into ``categories`` (str)."""

    codes: np.ndarray
    categories: tuple[str, ...]

    def values(self) -> np.ndarray:
        return np.asarray(self.categories, dtype=str)[self.codes] if self.categories \
            else np.zeros(len(self.codes), dtype=str)

    def take(self, index) -> Categorical:
        return Categorical(self.codes[index], self.categories)


def _size(col) -> int:
    return len(col.codes) if isinstance(col, Categorical) else len(col)


class Table:
    """A light column table (numpy arrays of one length); see the module docstring.

    ``attrs`` is a dict of metadata (as ``DataFrame.attrs``)."""

    def __init__(self, columns: dict, attrs: dict | None = None):
        sizes = {name: _size(col) for name, col in columns.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"columns must have one length, got {sizes}")
        self._cols = dict(columns)
        self._n = next(iter(sizes.values()), 0)
        self.attrs = dict(attrs or {})

    # -- shape and access -------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    @property
    def shape(self) -> tuple[int, int]:
        return (self._n, len(self._cols))

    def __len__(self) -> int:
        return self._n

    def __contains__(self, name) -> bool:
        return name in self._cols

    def __getitem__(self, name):
        """A column as a numpy array (text columns as a str array); or, given booleans or
        integer positions, those rows as a table (``t[t["latency_s"] < 0.01]``, as pandas)."""
        if not isinstance(name, str):
            if np.ma.isMaskedArray(name):
                name = name.filled(False)
            return self.take(name)
        if name not in self._cols:
            from .errors import UnknownNameError
            raise UnknownNameError("column", name, self._cols)
        col = self._cols[name]
        return col.values() if isinstance(col, Categorical) else col

    def take(self, index) -> Table:
        """The rows at ``index`` (integer positions or a boolean mask), in that order."""
        index = np.asarray(index)
        if index.dtype == bool and index.shape != (self._n,):
            raise ValueError(f"a row mask needs {self._n} booleans, got shape {index.shape}")
        return Table({k: (c.take(index) if isinstance(c, Categorical) else c[index])
                      for k, c in self._cols.items()}, self.attrs)

    def filter(self, mask=None, **equals) -> Table:
        """Rows where ``mask`` (booleans, one per row) holds and every ``column=value`` of
        ``equals`` matches: ``t.filter(feasible=True, hardware="H100")``,
        ``t.filter(t["latency_s"] < 0.05)``."""
        if np.ma.isMaskedArray(mask):  # a comparison with a column that has missing values
            mask = mask.filled(False)
        keep = np.ones(self._n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if keep.shape != (self._n,):
            raise ValueError(f"filter's mask needs {self._n} booleans, got shape {keep.shape}")
        for name, value in equals.items():
            col = self._cols.get(name)
            if isinstance(col, Categorical):
                hit = col.categories.index(value) if value in col.categories else -1
                keep = keep & (col.codes == hit)
            else:
                hit = self[name] == value
                keep = keep & (hit.filled(False) if np.ma.isMaskedArray(hit) else hit)
        return self.take(np.flatnonzero(keep))

    def sort(self, by, descending: bool = False) -> Table:
        """Rows ordered by one column or a list of them (stable; the first key is primary)."""
        keys = [by] if isinstance(by, str) else list(by)
        order = np.lexsort([self[k] for k in reversed(keys)])
        return self.take(order[::-1] if descending else order)

    def head(self, n: int = 5) -> Table:
        return self.take(np.arange(min(n, self._n)))

    # -- export -----------------------------------------------------------------------------
    def _plain_columns(self, start: int, stop: int) -> list[list]:
        """Python values of rows [start, stop): NaN as None, numpy scalars as Python ones."""
        out = []
        for col in self._cols.values():
            if isinstance(col, Categorical):
                cats = col.categories
                out.append([cats[i] for i in col.codes[start:stop].tolist()])
                continue
            part = col[start:stop]
            values = part.tolist()  # a masked array gives None where masked
            if part.dtype.kind == "f" and not np.ma.isMaskedArray(part) and np.isnan(part).any():
                values = [None if math.isnan(v) else v for v in values]
            out.append(values)
        return out

    def rows(self, limit: int | None = None) -> list[dict]:
        """One dict of plain Python values per row (NaN as None), at most ``limit`` rows."""
        stop = self._n if limit is None else min(limit, self._n)
        cols = self._plain_columns(0, stop)
        return [dict(zip(self._cols, values, strict=True)) for values in zip(*cols, strict=True)]

    def to_dict(self) -> dict[str, list]:
        """``{column: [values]}`` (NaN as None)."""
        return dict(zip(self._cols, self._plain_columns(0, self._n), strict=True))

    def to_csv(self, path=None) -> str | None:
        """CSV with a header row (as pandas writes it: missing values empty, booleans True/
        False, floats at full precision). Returns the text when ``path`` is None, else writes
        the file (replacing it, as ``DataFrame.to_csv`` does) and returns None."""
        if path is None:
            buffer = io.StringIO()
            self._write_csv(buffer)
            return buffer.getvalue()
        with open(path, "w", newline="", encoding="utf-8") as handle:
            self._write_csv(handle)
        return None

    def _write_csv(self, handle) -> None:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(self._cols)
        for start in range(0, self._n, _CHUNK):
            cols = self._plain_columns(start, min(start + _CHUNK, self._n))
            writer.writerows(["" if v is None else v for v in row]
                             for row in zip(*cols, strict=True))

    def to_json(self, path=None, indent: int | None = None) -> str | None:
        """Strict JSON: a list of row objects (pandas' ``orient="records"``), missing values
        as null. Returns the text when ``path`` is None, else writes the file."""
        text = json.dumps(self.rows(), indent=indent, allow_nan=False, ensure_ascii=False)
        if path is None:
            return text
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return None

    def to_pandas(self):
        """The same table as a pandas DataFrame (text columns categorical)."""
        import pandas as pd

        frame = pd.DataFrame({k: _pandas_column(pd, c) for k, c in self._cols.items()},
                             copy=False)
        frame.attrs.update(self.attrs)
        return frame

    def __repr__(self) -> str:
        shown = self.rows(limit=8)
        lines = [f"Table: {self._n:,} rows × {len(self._cols)} columns",
                 "  ".join(self._cols)]
        lines += ["  ".join(_short(v) for v in row.values()) for row in shown]
        if self._n > len(shown):
            lines.append(f"… {self._n - len(shown):,} more rows")
        return "\n".join(lines)


def _pandas_column(pd, col):
    if isinstance(col, Categorical):
        return pd.Categorical.from_codes(col.codes, list(col.categories))
    if np.ma.isMaskedArray(col):  # integers with missing values: pandas' nullable Int64
        return pd.arrays.IntegerArray(np.asarray(col.data, np.int64), np.ma.getmaskarray(col))
    return col


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def check_kind(kind) -> str:
    if kind is None:
        return "auto"
    if kind not in KINDS:
        raise ValueError(f"table must be one of {', '.join(KINDS)}; got {kind!r}")
    return kind


def pandas_available() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def make_table(columns: dict, attrs: dict | None = None, kind: str = "auto"):
    """A pandas DataFrame (``kind`` "pandas", or "auto" with pandas installed) or a light
    :class:`Table` ("light", or "auto" without pandas) of ``columns`` (numpy arrays or
    :class:`Categorical`)."""
    kind = check_kind(kind)
    table = Table(columns, attrs)
    if kind == "light" or (kind == "auto" and not pandas_available()):
        return table
    if kind == "pandas" and not pandas_available():
        raise ValueError("table='pandas' needs pandas (pip install pandas); table='light' "
                         "needs only numpy")
    return table.to_pandas()

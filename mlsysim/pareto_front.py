"""Pareto fronts: the rows of a table no other row beats on every objective.

Row *a* dominates row *b* when *a* is no worse than *b* in every objective and strictly better
in at least one; the front is the set of feasible rows no feasible row dominates (identical
rows do not dominate each other: both stay). Two objectives use the sort-and-sweep of Kung,
Luccio & Preparata ("On finding the maxima of a set of vectors", J. ACM 22(4), 1975, §2):
sort by the first objective, keep a row when its second beats every row before it —
O(n log n). Three or more use a block-nested scan in lexicographic order (a row can only be
dominated by rows sorted before it, so each block is checked against the front found so far
and within itself): exact, fast while fronts stay small.

``pareto(table, objectives={"latency_s": "min", "cost_per_mtok": "min"})`` accepts a pandas
DataFrame or a :class:`mlsysim.tidy.Table` (such as ``mlsysim.sweep(models=[...], ...)``
returns) and returns a :class:`ParetoFront` of tables of the same kind. (The module is
``pareto_front`` so that exporting the function as ``mlsysim.pareto`` never collides with it.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ParetoFront", "pareto", "pareto_mask"]

DIRECTIONS = ("min", "max")
_BLOCK = 256  # rows of a block in the n-objective scan
_CHUNK = 4096  # front rows compared with a block at once


@dataclass(frozen=True, eq=False)
class ParetoFront:
    """``front``: the non-dominated feasible rows, best first in the first objective;
    ``dominated``: feasible rows some front row dominates (for plotting); ``excluded``: rows
    never eligible (infeasible, or an objective missing or infinite). ``on_front`` marks the
    front's rows among the input's, ``objectives`` is what was optimised.
    ``front, dominated = pareto(...)`` unpacks the two tables."""

    front: object
    dominated: object
    excluded: object
    on_front: np.ndarray
    objectives: dict

    def __iter__(self):
        return iter((self.front, self.dominated))

    def __len__(self) -> int:
        return int(self.on_front.sum())


def _front_2d(points: np.ndarray) -> np.ndarray:
    """Non-dominated mask of (n, 2) points, minimising both (sort and sweep)."""
    x, y = points[:, 0], points[:, 1]
    order = np.lexsort((y, x))  # by x, ties by y
    xs, ys = x[order], y[order]
    starts = np.r_[True, xs[1:] != xs[:-1]]  # first row of each run of equal x
    group = np.cumsum(starts) - 1
    group_min = ys[starts]  # the smallest y of each x (sorted within the run)
    before = np.r_[np.inf, np.minimum.accumulate(group_min)[:-1]]  # best y at smaller x
    keep = (ys == group_min[group]) & (ys < before[group])
    mask = np.zeros(len(points), dtype=bool)
    mask[order] = keep
    return mask


def _dominated_by(front: np.ndarray, block: np.ndarray) -> np.ndarray:
    """For each row of ``block``: does some row of ``front`` dominate it? (minimising)"""
    hit = np.zeros(len(block), dtype=bool)
    for i in range(0, len(front), _CHUNK):
        f = front[i:i + _CHUNK]
        no_worse = np.ones((len(f), len(block)), dtype=bool)
        better = np.zeros((len(f), len(block)), dtype=bool)
        for j in range(block.shape[1]):  # one objective at a time: 2-D boolean planes
            fj, bj = f[:, j, None], block[None, :, j]
            no_worse &= fj <= bj
            better |= fj < bj
        hit |= (no_worse & better).any(axis=0)
    return hit


def _front_nd(points: np.ndarray) -> np.ndarray:
    """Non-dominated mask of (n, k) points, minimising every column (any k ≥ 1)."""
    order = np.lexsort(points.T[::-1])  # lexicographic: first column primary
    ordered = points[order]
    keep = np.zeros(len(points), dtype=bool)
    front = np.empty((0, points.shape[1]))
    for start in range(0, len(ordered), _BLOCK):
        block = ordered[start:start + _BLOCK]
        alive = np.flatnonzero(~_dominated_by(front, block))
        survivors = block[alive]
        alive = alive[~_dominated_by(survivors, survivors)]
        keep[start + alive] = True
        front = np.concatenate([front, block[alive]])
    mask = np.zeros(len(points), dtype=bool)
    mask[order] = keep
    return mask


def pareto_mask(points, directions=None) -> np.ndarray:
    """Boolean mask of the non-dominated rows of an (n, k) array of finite numbers.

    ``directions``: "min" or "max" per column (default: minimise all)."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] < 1:
        raise ValueError(f"points must be an (n, k) array with k ≥ 1, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("points must be finite (drop rows with NaN or inf first)")
    directions = ["min"] * pts.shape[1] if directions is None else list(directions)
    if len(directions) != pts.shape[1] or any(d not in DIRECTIONS for d in directions):
        raise ValueError(f"directions must give 'min' or 'max' for each of the "
                         f"{pts.shape[1]} columns, got {directions!r}")
    pts = pts * np.where(np.asarray(directions) == "max", -1.0, 1.0)
    if len(pts) == 0:
        return np.zeros(0, dtype=bool)
    return _front_2d(pts) if pts.shape[1] == 2 else _front_nd(pts)


# -- tables ----------------------------------------------------------------------------------
def _is_frame(table) -> bool:
    return hasattr(table, "iloc") and hasattr(table, "columns")


def _column(table, name: str) -> np.ndarray:
    if _is_frame(table):
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        col = table[name]
        if not (is_numeric_dtype(col.dtype) or is_bool_dtype(col.dtype)):
            raise ValueError(f"objective column {name!r} must be numeric, got {col.dtype}")
        return col.to_numpy(dtype=float, na_value=np.nan)
    col = table[name]
    if not isinstance(col, np.ndarray) or col.dtype.kind not in "iufb":
        raise ValueError(f"objective column {name!r} must be numeric")
    return np.ma.filled(col.astype(float), np.nan) if np.ma.isMaskedArray(col) else \
        col.astype(float)


def _take(table, positions: np.ndarray):
    return table.iloc[positions] if _is_frame(table) else table.take(positions)


def _check_objectives(table, objectives) -> dict:
    if not isinstance(objectives, dict) or not objectives:
        raise ValueError("objectives must be a non-empty dict of column → 'min' or 'max', "
                         "e.g. {'latency_s': 'min', 'cost_per_mtok': 'min'}")
    columns = list(table.columns)
    for name, direction in objectives.items():
        if name not in columns:
            from .errors import UnknownNameError
            raise UnknownNameError("objective column", name, columns)
        if direction not in DIRECTIONS:
            raise ValueError(f"objectives[{name!r}] must be 'min' or 'max', got {direction!r}")
    return dict(objectives)


def pareto(table, objectives=None) -> ParetoFront:
    """The Pareto front of ``table`` under ``objectives`` ({column: "min" | "max"}; default
    ``{"latency_s": "min", "cost_per_mtok": "min"}``). Rows whose ``feasible`` column (when
    the table has one) is False, or with a missing or infinite objective, are never on the
    front; see :class:`ParetoFront`."""
    if not (_is_frame(table) or hasattr(table, "take")):
        raise TypeError(f"table must be a pandas DataFrame or an mlsysim.tidy.Table, got "
                        f"{type(table).__name__}")
    if objectives is None:
        objectives = {"latency_s": "min", "cost_per_mtok": "min"}
    objectives = _check_objectives(table, objectives)
    names = list(objectives)
    values = np.column_stack([_column(table, n) for n in names]) if len(table) else \
        np.empty((0, len(names)))
    eligible = np.isfinite(values).all(axis=1)
    if "feasible" in list(table.columns):
        feasible = np.asarray(table["feasible"], dtype=bool)
        eligible &= feasible
    candidates = np.flatnonzero(eligible)
    on_front = np.zeros(len(values), dtype=bool)
    on_front[candidates[pareto_mask(values[candidates], objectives.values())]] = True
    front = np.flatnonzero(on_front)
    signs = [-1.0 if objectives[n] == "max" else 1.0 for n in names]
    keys = [signs[j] * values[front, j] for j in reversed(range(len(names)))]
    front = front[np.lexsort(keys)]  # best first in the first objective, then the next
    return ParetoFront(front=_take(table, front),
                       dominated=_take(table, np.flatnonzero(eligible & ~on_front)),
                       excluded=_take(table, np.flatnonzero(~eligible)),
                       on_front=on_front, objectives=objectives)

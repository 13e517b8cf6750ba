"""The measurements the device and link classes are calibrated on, against the engine.

Each file of ``catalog/calibration/measurements`` is one published dataset (a cuBLAS GEMM
sweep, a FlashAttention benchmark, an nccl-tests all-reduce curve) with its source, the device
or node it was measured on and its role: ``calibration`` (the class's parameters were fitted to
it) or ``validation`` (held out: a different device of the class). :func:`compare` runs every
point through the engine's single-kernel models (``solvers.kernels``) and returns measured and
predicted side by side; reference/efficiency.qmd plots them, and the tests hold the fit to a
stated tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .catalog.loader import CATALOG_DIR, read_yaml, sources

MEASUREMENTS = CATALOG_DIR / "calibration" / "measurements"
KINDS = ("gemm", "attention", "allreduce")


@dataclass(frozen=True)
class Dataset:
    """One published measurement series."""

    key: str
    kind: str
    target: str  # device key (gemm, attention) or node key (allreduce)
    role: str
    source: str
    section: str
    columns: tuple[str, ...]
    points: tuple[tuple[float, ...], ...]
    extra: dict

    @property
    def label(self) -> str:
        return self.key.replace("_", " ")


@dataclass(frozen=True)
class Point:
    """One measured point next to the engine's prediction (both in the dataset's unit)."""

    dataset: str
    x: tuple[float, ...]
    measured: float
    predicted: float
    unit: str

    @property
    def ratio(self) -> float:
        """measured / predicted."""
        return self.measured / self.predicted

    @property
    def log_error(self) -> float:
        return abs(math.log(self.ratio))


def datasets(kind: str | None = None, role: str | None = None) -> list[Dataset]:
    """Every measurement file (optionally one kind and/or one role), sorted by key."""
    out = []
    for path in sorted(MEASUREMENTS.glob("*.yaml")):
        data = read_yaml(path)
        if data["source"] not in sources():
            raise ValueError(f"{path.name}: unknown source {data['source']!r}")
        if data["kind"] not in KINDS:
            raise ValueError(f"{path.name}: kind must be one of {', '.join(KINDS)}")
        ds = Dataset(key=path.stem, kind=data["kind"],
                     target=str(data.get("device") or data.get("system")),
                     role=data.get("role", "calibration"), source=data["source"],
                     section=data.get("section", ""), columns=tuple(data["columns"]),
                     points=tuple(tuple(float(v) for v in p) for p in data["points"]),
                     extra={k: v for k, v in data.items()
                            if k not in ("kind", "device", "system", "role", "source",
                                         "section", "columns", "points")})
        if (kind is None or ds.kind == kind) and (role is None or ds.role == role):
            out.append(ds)
    return out


def _predict(ds: Dataset, row: tuple[float, ...], **overrides) -> tuple[float, str]:
    from .solvers import kernels

    if ds.kind == "gemm":
        m, n, k, _ = row
        t = kernels.gemm_time(ds.target, int(m), int(n), int(k), ds.extra["precision"],
                              **overrides)
        return t.flops_per_second / 1e12, "TFLOP/s"
    if ds.kind == "attention":
        seq = int(row[0])
        batch = max(1, int(ds.extra["tokens"]) // seq)
        t = kernels.attention_time(ds.target, batch, int(ds.extra["heads"]), seq,
                                   int(ds.extra["head_dim"]), bool(ds.extra.get("causal")),
                                   ds.extra["precision"])
        return t.flops_per_second / 1e12, "TFLOP/s"
    size = row[0]
    n = int(ds.extra["devices"])
    t = kernels.allreduce_time(ds.target, size, n)
    return size / t.seconds * 2 * (n - 1) / n / 1e9, "GB/s (bus)"


def compare(ds: Dataset) -> list[Point]:
    """Measured against predicted, point by point."""
    out = []
    for row in ds.points:
        predicted, unit = _predict(ds, row)
        out.append(Point(ds.key, row[:-1], row[-1], predicted, unit))
    return out


def summary(ds: Dataset) -> dict:
    """Median and worst |measured/predicted − 1| of a dataset."""
    pts = compare(ds)
    errors = sorted(abs(p.ratio - 1) for p in pts)
    return {"dataset": ds.key, "kind": ds.kind, "role": ds.role, "points": len(pts),
            "median_error": errors[len(errors) // 2], "worst_error": errors[-1]}

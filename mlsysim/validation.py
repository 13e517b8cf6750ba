"""Grade the engine against published measurements (``catalog/validation.yaml``).

Each case names a scenario, a measured value and a band for measured / predicted with its
reason. :func:`run_cases` solves every scenario with the engine and reports the ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog.loader import CATALOG_DIR, read_yaml, sources
from .units import Q_


@dataclass(frozen=True)
class GradedCase:
    """One published measurement next to the engine's prediction."""

    case_id: str
    scenario: dict
    metric: str
    measured: float  # in the metric's unit (token/s or ms)
    predicted: float
    band: tuple[float, float]
    source: str
    section: str
    reason: str

    @property
    def ratio(self) -> float:
        """measured / predicted."""
        return self.measured / self.predicted

    @property
    def within_band(self) -> bool:
        return self.band[0] <= self.ratio <= self.band[1]


_UNITS = {"decode_tokens_per_s": "token/s", "latency_ms": "ms"}


def load_cases() -> dict[str, dict]:
    """The raw case records, keyed by id (sources resolved against sources.yaml)."""
    cases = read_yaml(CATALOG_DIR / "validation.yaml")
    for case_id, case in cases.items():
        if case["source"] not in sources():
            raise ValueError(f"validation case {case_id}: unknown source {case['source']!r}")
        if case["metric"] not in _UNITS:
            raise ValueError(f"validation case {case_id}: unknown metric {case['metric']!r}")
    return cases


def predict(scenario: dict) -> object:
    """Solve a scenario: a single device (``hardware``) or a tensor-parallel node (``system``)."""
    from .solvers import Engine, TensorParallelModel

    args = dict(scenario)
    if "system" in args:
        return TensorParallelModel().solve(args.pop("model"), args.pop("system"), **args)
    return Engine.solve(args.pop("model"), args.pop("hardware"), **args)


def run_cases() -> list[GradedCase]:
    """Every case, graded."""
    out = []
    for case_id, case in load_cases().items():
        unit = _UNITS[case["metric"]]
        result = predict(case["scenario"])
        predicted = (result.throughput if unit == "token/s" else result.latency).to(unit)
        out.append(GradedCase(
            case_id=case_id, scenario=case["scenario"], metric=case["metric"],
            measured=float(Q_(case["measured"]).to(unit).magnitude),
            predicted=float(predicted.magnitude), band=tuple(case["band"]),
            source=case["source"], section=case["section"], reason=case["reason"]))
    return out

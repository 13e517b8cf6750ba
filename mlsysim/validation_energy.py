"""Energy cases of the validation set: published training energy and emissions, graded through
``SustainabilityModel``.

The cases live in ``catalog/validation_energy.yaml`` (staged for issue 12): each names a
scenario (the keyword arguments of :meth:`SustainabilityModel.solve
<mlsysim.solvers.sustainability.SustainabilityModel.solve>`), the published energy (kWh) or
emissions (t CO2e), the ``formula`` its paper used, a ``tolerance`` set by the rounding of the
published inputs, its source, section and reason. The graded quantity is the solver's
``energy`` or ``emissions`` in the unit of
:data:`~mlsysim.solvers.sustainability.ENERGY_METRICS` — the same solve as
:func:`~mlsysim.solvers.sustainability.grade_energy_cases`, one case at a time.

What these cases test is the accounting identity each paper used, energy = device-hours ×
power per device × PUE and emissions = energy × grid intensity (Patterson et al. 2021, §2 and
Table 4; Luccioni et al. 2023, §4; the Llama 2 and Llama 3 model cards), with the paper's own
inputs. They check that our arithmetic and units reproduce the papers'; they are not a
prediction of how much power a run drew (the power per device is the paper's, not ours). An
identity has no physical bound.

The staged records carry no ``stack``; the validation set's ``stack`` ("measured with") of an
energy case is the paper's accounting, ``"paper's accounting: " + formula``.
"""

from __future__ import annotations

from .catalog.loader import CATALOG_DIR, read_yaml
from .units import Q_

FILE = CATALOG_DIR / "validation_energy.yaml"
_FIELDS = ("category", "scenario", "metric", "measured", "formula", "tolerance", "source",
           "section", "reason")


def _raw() -> dict[str, dict]:
    return read_yaml(FILE)


def _metrics() -> dict[str, tuple[str, str]]:
    from .solvers.sustainability import ENERGY_METRICS
    return ENERGY_METRICS


def load_energy_cases() -> dict[str, dict]:
    """Every staged case, in the validation set's record shape (``stack`` from ``formula``),
    checked: all fields present, a metric the solver grades, a tolerance in (0, 1)."""
    metrics = _metrics()
    out = {}
    for case_id, case in _raw().items():
        missing = [f for f in _FIELDS if f not in case]
        if missing:
            raise ValueError(f"validation energy case {case_id}: missing {', '.join(missing)}")
        if case["metric"] not in metrics:
            raise ValueError(f"validation energy case {case_id}: metric {case['metric']!r} is "
                             f"not graded; allowed: {', '.join(metrics)}")
        tol = case["tolerance"]
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
            raise ValueError(f"validation energy case {case_id}: tolerance must be a fraction "
                             f"in (0, 1), got {tol!r}")
        out[case_id] = {**case, "stack": f"paper's accounting: {case['formula']}"}
    return out


def unit(case: dict) -> str:
    """The comparison unit of the case's metric ('kWh' or 't')."""
    return _metrics()[case["metric"]][1]


def measured_value(case: dict) -> float:
    """The published figure in :func:`unit`."""
    return float(Q_(case["measured"]).to(unit(case)).magnitude)


def solve(scenario: dict):
    """``SustainabilityModel().solve(**scenario)``: the case's job with the paper's inputs."""
    from .solvers.sustainability import SustainabilityModel
    return SustainabilityModel().solve(**scenario)


def predict(case: dict) -> float:
    """The solver's energy (kWh) or emissions (t CO2e) for the case's scenario."""
    attr, u = _metrics()[case["metric"]]
    return float(getattr(solve(case["scenario"]), attr).to(u).magnitude)

"""Checkable exercise answers: the one format pages, the site builder and the autograder share.

A worked solution declares what a correct answer is, next to the code that computes it::

    answer("latency", r.latency, rtol=0.05)        # a number or Quantity, within 5 %
    answer("bottleneck", r.bottleneck)               # a choice: equal as text (case-insensitive)
    answer("fits", {"H100", "H200"})                 # a set: the same members
    answer_free_text("reflection")                   # nothing to check, said explicitly
    prediction("decode_latency", r.latency, prompt="Your guess for one decode step")

``prediction`` goes in a "Compute" section: the reader's guess, typed in the "Predict" section
before it, is shown beside this value (an ``Answer`` with ``meta["prediction"] = True``).

On a page (in a Jupyter kernel, under real Quarto or the offline builder alike) each call
emits one invisible element, ``<script type="application/json" class="mlsysim-answer">`` holding
the declaration, inside the cell's output: the page's script finds it there, next to its
exercise or Compute section, and a student edition that drops the solutions drops it too.
Outside a kernel the calls print nothing. A *recorder* (:func:`recording`, used by the
autograder and tests) collects each declaration as a plain, JSON-ready :class:`Answer`;
:func:`check` grades a submitted value against one.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from numbers import Real

KINDS = ("number", "choice", "set", "free-text")
DEFAULT_RTOL = 0.02
_recorders: list[list] = []


@dataclass(frozen=True)
class Answer:
    """One checkable answer. ``value`` is a float (in ``unit``, if any), a string or a sorted
    list of strings; ``rtol`` (relative) and ``atol`` (absolute, in ``unit``) bound a number."""

    name: str
    kind: str
    value: object = None
    unit: str | None = None
    rtol: float = 0.0
    atol: float = 0.0
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Answer:
        return cls(**data)


def _name(name) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"answer name must be an identifier such as 'latency', got {name!r}")
    return name


def _number(value) -> tuple[float, str | None]:
    if hasattr(value, "magnitude") and hasattr(value, "units"):
        magnitude, unit = value.magnitude, f"{value.units:~}" or None
    elif isinstance(value, Real) and not isinstance(value, bool):
        magnitude, unit = value, None
    else:
        raise TypeError
    magnitude = float(magnitude)
    if not math.isfinite(magnitude):
        raise ValueError(f"an answer must be a finite number, got {magnitude}")
    return magnitude, unit


def make_answer(name: str, value, rtol: float | None = None, atol: float = 0.0,
                **meta) -> Answer:
    """The :class:`Answer` that :func:`answer` declares (see the module docstring)."""
    name = _name(name)
    if isinstance(value, (set, frozenset)):
        return Answer(name, "set", sorted(str(v) for v in value), meta=meta)
    if isinstance(value, str):  # includes the str enums (Bottleneck, Phase)
        return Answer(name, "choice", str(value), meta=meta)
    if isinstance(value, bool):
        return Answer(name, "choice", "yes" if value else "no", meta=meta)
    try:
        magnitude, unit = _number(value)
    except TypeError:
        raise ValueError(f"answer {name!r}: give a number, a Quantity, a string or a set, got "
                         f"{type(value).__name__}") from None
    rtol = DEFAULT_RTOL if rtol is None else float(rtol)
    if not (0 <= rtol < 1) or not (atol >= 0 and math.isfinite(atol)):
        raise ValueError(f"answer {name!r}: rtol must be in [0, 1) and atol ≥ 0")
    return Answer(name, "number", magnitude, unit, rtol, float(atol), meta=meta)


def _declare(declared: Answer) -> None:
    for recorder in _recorders:
        recorder.append(declared)
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import publish_display_data
        publish_display_data({"text/html": script_of(declared), "text/plain": ""})


def script_of(declared: Answer) -> str:
    """The invisible HTML element that carries a declaration on a page."""
    text = json.dumps(declared.to_dict(), ensure_ascii=False, allow_nan=False)
    text = text.replace("</", "<\\/")  # never closes the script element early
    return f'<script type="application/json" class="mlsysim-answer">{text}</script>'


def answer(name: str, value, rtol: float | None = None, atol: float = 0.0, **meta) -> None:
    """Declare the correct answer ``name`` of the current exercise (see the module docstring);
    the student's notebook must define a variable of the same name."""
    _declare(make_answer(name, value, rtol, atol, **meta))


def answer_free_text(name: str, **meta) -> None:
    """Declare that this exercise's answer is free text: nothing to check automatically."""
    _declare(Answer(_name(name), "free-text", meta=meta))


def prediction(name: str, value, prompt: str, **meta) -> None:
    """Declare the computed value a "Predict" section asked the reader to guess."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prediction needs a prompt, e.g. 'Your guess for one decode step'")
    declared = make_answer(name, value, rtol=0.0, prediction=True, prompt=prompt, **meta)
    if declared.kind != "number":
        raise ValueError(f"prediction {name!r}: a guess is a number or a Quantity")
    _declare(declared)


@contextmanager
def recording() -> Iterator[list[Answer]]:
    """Collect every answer declared inside the block (nested recorders all see them)."""
    bucket: list[Answer] = []
    _recorders.append(bucket)
    try:
        yield bucket
    finally:
        _recorders.remove(bucket)


def start_recording() -> list[Answer]:
    """Collect answers from now on (for a kernel the builder drives cell by cell)."""
    bucket: list[Answer] = []
    _recorders.append(bucket)
    return bucket


@dataclass(frozen=True)
class Verdict:
    correct: bool
    message: str


def check(expected: Answer, submitted) -> Verdict:
    """Grade ``submitted`` against ``expected``; the message names the answer and says why."""
    name = expected.name
    if expected.kind == "free-text":
        return Verdict(True, f"{name}: free text, not checked automatically")
    if expected.kind == "set":
        try:
            got = sorted(str(v) for v in submitted)
        except TypeError:
            return Verdict(False, f"{name}: expected a set such as {{...}}, got "
                                  f"{type(submitted).__name__}")
        if got == expected.value:
            return Verdict(True, f"{name}: correct")
        missing = sorted(set(expected.value) - set(got))
        extra = sorted(set(got) - set(expected.value))
        return Verdict(False, f"{name}: missing {missing or 'nothing'}, unexpected "
                              f"{extra or 'nothing'}")
    if expected.kind == "choice":
        got = ("yes" if submitted else "no") if isinstance(submitted, bool) else str(submitted)
        if got.strip().lower() == str(expected.value).lower():
            return Verdict(True, f"{name}: correct")
        return Verdict(False, f"{name}: {got!r} is not the answer")
    try:
        value = _submitted_number(submitted, expected.unit)
    except Exception as exc:  # pint's parse and dimension errors are not all ValueErrors
        unit = f" in {expected.unit}" if expected.unit else ""
        return Verdict(False, f"{name}: expected a number{unit}, got {submitted!r:.40} "
                              f"({str(exc).splitlines()[0][:80]})")
    target = float(expected.value)
    allowed = max(expected.rtol * abs(target), expected.atol)
    if abs(value - target) <= allowed:
        return Verdict(True, f"{name}: correct")
    return Verdict(False, f"{name}: {value:.4g} {how_far(value, target)} "
                          f"{tolerance_text(expected)}")


def how_far(value: float, target: float) -> str:
    """Which side of the answer a wrong number is, and whether by more than 2×: a hint that
    never gives the expected value away (a ratio would, to any precision)."""
    if target == 0:
        return "is too high" if value > 0 else "is too low"
    ratio = value / target
    if ratio < 0:
        return "has the wrong sign"
    side = "too high" if ratio > 1 else "too low"
    return f"is {side}" + (" by more than 2×" if ratio > 2 or ratio < 0.5 else "")


def tolerance_text(expected: Answer) -> str:
    unit = f" {expected.unit}" if expected.unit else ""
    if expected.rtol and expected.atol:
        return f"(allowed: within ±{expected.rtol:.0%} or ±{expected.atol:g}{unit})"
    if expected.rtol:
        return f"(allowed: within ±{expected.rtol:.0%})"
    if expected.atol:
        return f"(allowed: within ±{expected.atol:g}{unit})"
    return "(an exact answer is expected)"


def _submitted_number(submitted, unit: str | None) -> float:
    if hasattr(submitted, "magnitude") and hasattr(submitted, "units"):
        if unit is None:
            return float(submitted.to("").magnitude)
        return float(submitted.to(unit).magnitude)
    if isinstance(submitted, str):
        from .units import parse_quantity
        return _submitted_number(parse_quantity(submitted), unit) if unit else float(submitted)
    if isinstance(submitted, Real) and not isinstance(submitted, bool):
        value = float(submitted)  # a bare number is read in the answer's own unit
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return value
    raise TypeError(f"expected a number{f' in {unit}' if unit else ''}, got "
                    f"{type(submitted).__name__}")

"""Kept device rates and step times for the serving solvers (pure functions of their inputs).

The engine already keeps scalar operator plans by step (``engine.build_plan``): a plan is
immutable and does not depend on the hardware. The serving solvers evaluate the same steps on
the same device again and again — a quantisation comparison's baseline is the same step for
every method, a batch-size search re-solves batch 1's prefill for every batch size, a page
re-solves its example — so this module keeps, beside it:

* :func:`rates_for` — ``evaluate.device_rates`` of one (device, precisions, η overrides, node);
* :func:`times_for` — ``evaluate.evaluate`` of one (frozen plan, rates) pair;
* :func:`solved` — ``Engine.solve``'s result of one validated step on one device (a frozen
  :class:`~mlsysim.results.PerformanceResult`), from the three above.

Both return the very object the engine function returned the first time (the values are
identical by construction; the step times' arrays are made read-only, like the plans'). Keys
hold the objects they were made from, so an ``id`` is never confused with a later object's.
A plan that is not frozen (a sweep's grid plan) is evaluated afresh every time.
"""

from __future__ import annotations

from .engine import build_plan, result_from
from .evaluate import device_rates, evaluate

_MAX = 1024  # entries per memo; cleared when full (a page or a search needs far fewer)
_RATES: dict = {}
_TIMES: dict = {}
_RESULTS: dict = {}


def rates_for(hw, precision, effs, node=None):
    """``device_rates(hw, precision, effs, node=node)``, kept by its arguments."""
    key = (id(hw), id(node), precision, effs)
    hit = _RATES.get(key)
    if hit is not None and hit[0] is hw and hit[1] is node:
        return hit[2]
    rates = device_rates(hw, precision, effs, node=node)
    if len(_RATES) >= _MAX:
        _RATES.clear()
    _RATES[key] = (hw, node, rates)
    return rates


def times_for(plan, rates):
    """``evaluate(plan, rates)``, kept when ``plan`` is frozen (the engine's cached plans)."""
    if plan.flops.flags.writeable:
        return evaluate(plan, rates)
    key = (id(plan), id(rates))
    hit = _TIMES.get(key)
    if hit is not None and hit[0] is plan and hit[1] is rates:
        return hit[2]
    times = evaluate(plan, rates)
    for name in ("t_compute", "t_memory", "t_link", "t_launch", "t_operator", "count"):
        value = getattr(times, name)
        if hasattr(value, "flags"):
            value.flags.writeable = False  # shared between results, like the plan
    if len(_TIMES) >= _MAX:
        _TIMES.clear()
    _TIMES[key] = (plan, rates, times)
    return times


def solved(args, rates, hw):
    """What ``Engine.solve`` returns for the validated step ``args`` on the device ``hw`` with
    ``rates`` (from :func:`rates_for`): the engine's plan, evaluation and result. A cached
    plan stands for its step (the engine keys it by every field of ``args``), so the result
    is kept by (plan, rates, device)."""
    plan = build_plan(args)
    if plan.flops.flags.writeable:
        return result_from(plan, evaluate(plan, rates), rates, hw, args,
                           capacity=hw.si.mem_capacity)
    key = (id(plan), id(rates), id(hw))
    hit = _RESULTS.get(key)
    if hit is not None and hit[0] is plan and hit[1] is rates and hit[2] is hw:
        return hit[3]
    result = result_from(plan, times_for(plan, rates), rates, hw, args,
                         capacity=hw.si.mem_capacity)
    if len(_RESULTS) >= _MAX:
        _RESULTS.clear()
    _RESULTS[key] = (plan, rates, hw, result)
    return result


def clear() -> None:
    """Forget every kept rate, step time and result (tests; memory)."""
    _RATES.clear()
    _TIMES.clear()
    _RESULTS.clear()

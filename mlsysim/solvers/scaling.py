"""Compute-optimal scaling: :class:`ScalingModel`.

* ``compute_optimal(budget)``: N* and D* for a FLOP budget, C = 6·N·D at D/N ≈ 20
  (Hoffmann et al. 2022; formulas in :mod:`mlsysim.physics.scaling`).
* ``solve(fleet=..., duration=..., mfu=...)``: the same from the budget a fleet delivers,
  devices × dense peak at ``precision`` × MFU × duration.
* ``training_time(params, tokens, fleet, mfu)``: 6·N·D / (devices · peak · MFU); when ``mfu``
  is the DistributedResult of the same model, its own model FLOPs per token replace 6·N (the
  attention it counts), so the time equals ``DistributedResult.time_to_train``.

Throughput is never re-derived from a step-time formula: it is an MFU, either given as a number
or taken from a :class:`~mlsysim.results_training.DistributedResult` (the one cost model's
MFU for that configuration). Bad input is one ValueError naming the parameter.
"""

from __future__ import annotations

import functools
import math
from numbers import Real

from ..physics import scaling as phys
from ..results_scaling import ComputeOptimalResult, FleetRate, TrainingTimeResult
from ..specs.hardware import HardwareSpec
from ..specs.system import FleetSpec, NodeSpec
from ..specs.workload import SampleWorkload, TransformerWorkload
from ..units import Q_
from . import inputs


def amount(name: str, value, unit: str, example: str) -> float:
    """A positive finite count in ``unit``: a bare number, a Quantity or a string."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a positive number of {unit} (e.g. {example}), got "
                         f"{value!r}")
    if isinstance(value, Real):
        x = float(value)
        if not math.isfinite(x) or x <= 0:
            raise ValueError(f"{name} must be a finite positive number of {unit} (e.g. "
                             f"{example}), got {inputs.shown(value)}")
        return x
    from ..units import checked
    return float(checked(value, unit, name, example=example).to(unit).magnitude)


def number(name: str, value, example: str) -> float:
    """A finite positive plain number (a ratio or a factor)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name} must be a finite positive number (e.g. {example}), got "
                         f"{inputs.shown(value)}")
    return float(value)


def parameters(value) -> float:
    """Parameters: a number, a Quantity or string in param ('175 Gparam'), or a model."""
    if isinstance(value, (TransformerWorkload, SampleWorkload)):
        return float(value.si.params)
    if isinstance(value, str):
        from ..catalog import Models
        if value in Models:
            return float(Models.get(value).si.params)
    return amount("params", value, "param", "'175 Gparam' or 175e9")


def _mfu(value):
    """(mfu, source, DistributedResult or None)."""
    from ..results_training import DistributedResult
    if isinstance(value, DistributedResult):
        if not value.feasible:
            raise ValueError(f"mfu: the DistributedResult ({value.model} on {value.fleet}) does "
                             "not fit in memory, so it has no MFU; give a feasible one or a "
                             "number in (0, 1]")
        return value.mfu, f"DistributedModel: {value.model} on {value.fleet}", value
    if value is None:
        raise ValueError("mfu is required: a number in (0, 1] (e.g. 0.4) or a "
                         "DistributedModel result")
    return inputs.fraction("mfu", value), "argument", None


def fleet_rate(fleet, mfu, precision="bf16", devices=None) -> FleetRate:
    """Devices, dense peak and MFU of a fleet, a node, a device (× ``devices``) or a catalog
    name; ``mfu`` a number or a DistributedResult (whose fleet is used if ``fleet`` is None)."""
    value, source, dist = _mfu(mfu)
    if fleet is None and dist is not None:
        return FleetRate(dist.fleet, dist.accelerator, dist.devices, dist.peak_flops,
                         dist.precision, value, source)
    if fleet is None:
        raise ValueError("fleet is required: a fleet (e.g. mlsysim.Systems.H100_Cluster_1024),"
                         " a node, or a device with devices=N")
    if isinstance(fleet, str):
        from ..catalog import Hardware, Systems
        from ..errors import UnknownNameError
        if fleet in Systems:
            fleet = Systems.get(fleet)
        elif fleet in Hardware:
            fleet = Hardware.get(fleet)
        else:
            raise UnknownNameError("fleet, node or device", fleet,
                                   [*Systems.names(), *Hardware.names()])
    if isinstance(fleet, FleetSpec):
        hw, count, name = fleet.node.accelerator, fleet.accelerators, fleet.name
    elif isinstance(fleet, NodeSpec):
        hw, count, name = fleet.accelerator, fleet.count, fleet.name
    elif isinstance(fleet, HardwareSpec):
        hw, count, name = fleet, 1, fleet.name
    else:
        raise TypeError(f"fleet must be a fleet, a node, a device or a catalog name, got "
                        f"{type(fleet).__name__}")
    if devices is not None:
        if not isinstance(fleet, HardwareSpec):
            raise ValueError("devices= applies to a single device (fleet=mlsysim.Hardware.H100,"
                             " devices=1024); a fleet or node has its own count")
        count = inputs.positive_int("devices", devices)
        name = f"{count:,} × {hw.name}"
    if dist is not None and (dist.devices != count or dist.accelerator != hw.name):
        source += f" (measured on {dist.devices:,} × {dist.accelerator})"
    return FleetRate(name, hw.name, count, inputs.peak_for(hw, precision), precision, value,
                     source)


class ScalingModel:
    """Compute-optimal parameters and tokens, fleet budgets and training times (see the
    module docstring)."""

    def training_flops(self, params, tokens):
        """C = 6·N·D as a FLOP Quantity (``params`` may be a model)."""
        return Q_(phys.training_flops(parameters(params),
                                      amount("tokens", tokens, "token", "'300e9 token'")),
                  "flop")

    def compute_optimal(self, budget, tokens_per_param=phys.CHINCHILLA_TOKENS_PER_PARAM
                        ) -> ComputeOptimalResult:
        """N* = √(C/(6r)), D* = r·N* for a budget C (a number of FLOP or '1e24 FLOP')."""
        c = amount("budget", budget, "flop", "'5.76e23 FLOP'")
        return self._result(c, tokens_per_param)

    def fleet_budget(self, fleet=None, duration=None, mfu=None, precision="bf16",
                     devices=None):
        """devices × peak × MFU × duration, as a FLOP Quantity."""
        rate = fleet_rate(fleet, mfu, precision, devices)
        return Q_(rate.flops_per_second * _duration(duration), "flop")

    def solve(self, budget=None, *, fleet=None, duration=None, mfu=None, precision="bf16",
              devices=None, tokens_per_param=phys.CHINCHILLA_TOKENS_PER_PARAM
              ) -> ComputeOptimalResult:
        """The compute-optimal N*, D* of ``budget``, or of what ``fleet`` delivers in
        ``duration`` at ``mfu`` (give one or the other)."""
        if budget is not None:
            if fleet is not None or duration is not None:
                raise ValueError("give either budget or fleet + duration + mfu, not both")
            return self.compute_optimal(budget, tokens_per_param)
        if duration is None:
            raise ValueError("duration is required with a fleet (e.g. '30 day'); or give "
                             "budget= in FLOP")
        rate = fleet_rate(fleet, mfu, precision, devices)
        seconds = _duration(duration)
        c = phys.fleet_flops(rate.devices, rate.peak_flops, rate.mfu, seconds)
        return self._result(c, tokens_per_param, rate, seconds)

    def training_time(self, params, tokens, fleet=None, mfu=None, precision="bf16",
                      devices=None, flops_per_param_token=phys.FLOPS_PER_PARAM_TOKEN
                      ) -> TrainingTimeResult:
        """k·N·D / (devices · peak · MFU); ``params`` may be a model."""
        n = parameters(params)
        d = amount("tokens", tokens, "token", "'300e9 token'")
        k = number("flops_per_param_token", flops_per_param_token,
                   "6, or 8 with full recomputation")
        rate = fleet_rate(fleet, mfu, precision, devices)
        _, _, dist = _mfu(mfu)
        if dist is not None and flops_per_param_token == phys.FLOPS_PER_PARAM_TOKEN \
                and _same_model(params, dist):
            # the run DistributedModel solved: its own model FLOPs per token (6N plus the
            # attention it counts), so the time equals DistributedResult.time_to_train
            k = dist.model_flops / (dist.batch_size * dist.seq_len) / n
        seconds = k * n * d / rate.flops_per_second
        if not math.isfinite(seconds):
            raise ValueError("params × tokens overflows a float: give physical sizes (e.g. "
                             "params=175e9, tokens=300e9)")
        return TrainingTimeResult(n, d, k, rate, seconds)

    @staticmethod
    def _result(c, r, rate=None, seconds=None) -> ComputeOptimalResult:
        ratio = number("tokens_per_param", r, "20 (Hoffmann et al. 2022)")
        n, d = phys.compute_optimal(c, ratio)
        return ComputeOptimalResult(c, n, d, ratio, phys.chinchilla_loss(n, d), rate, seconds)


def _same_model(params, dist) -> bool:
    """Whether ``params`` is the model a DistributedResult trained (by catalog name or
    display name); a bare parameter count is another model."""
    name = params if isinstance(params, str) else getattr(params, "name", None)
    key = getattr(params, "key", None)
    return name is not None and dist.model in {name, key}


def _duration(duration) -> float:
    if duration is None:
        raise ValueError("duration is required (a time such as '30 day')")
    if isinstance(duration, str):
        return _parsed_duration(duration)
    return inputs.seconds("duration", duration, example="'30 day'")


@functools.lru_cache(maxsize=256)
def _parsed_duration(text: str) -> float:
    """Strings are parsed once (pint parsing is ~100 µs)."""
    return inputs.seconds("duration", text, example="'30 day'")

"""Grade the engine against published measurements (``catalog/validation.yaml``).

Each case names a scenario, what was measured (with its source, section and the software stack
that produced it) and its category. :func:`run_cases` solves every scenario with the engine and
reports, per case, the prediction, |error| = |measured / predicted − 1|, and which side of the
physical bound the measurement falls: the *bound* is the same scenario with every efficiency at
1 and no launch cost, which no real run may beat (a measured throughput above it, or a latency
below it, means the model or the catalog is wrong). :func:`summary` gives the per-category
median and worst |error|.

Predictions only compose engine results: a generation is one prefill plus the decode steps at
each context; a kernel case runs the engine's single-kernel model; a serving case (a metric of
:data:`SERVING_METRICS`) runs :class:`~mlsysim.ServingModel` on the scenario, whose bound is the
same composition of engine steps (one prompt's or the batch's prefill, the decode steps at the
first and last context) with every efficiency at 1 and no launch cost. A training case
(``solver: distributed``, from ``catalog/validation_training.yaml``) runs
:class:`~mlsysim.solvers.distributed.DistributedModel` and is graded in its paper's FLOP
convention (:mod:`mlsysim.validation_training`); it also carries the data's tolerance. An energy
case (category ``energy``, from ``catalog/validation_energy.yaml``) runs
:class:`~mlsysim.solvers.sustainability.SustainabilityModel` with its paper's inputs
(:mod:`mlsysim.validation_energy`): it reproduces the paper's accounting identity (device-hours
× power × PUE × intensity), has no bound and carries the data's tolerance. Measured values come
from the data files; predictions are never stored.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from .catalog.loader import CATALOG_DIR, read_yaml, sources
from .units import Q_

#: metric → (unit, higher is better)
METRICS = {
    "tokens_per_s": ("token/s", True),
    "tokens_per_s_per_gpu": ("token/s", True),
    "latency_ms": ("ms", False),
    "generation_tokens_per_s": ("token/s", True),
    "generation_tokens_per_s_per_gpu": ("token/s", True),
    "training_tokens_per_s": ("token/s", True),
    "tflops": ("TFLOP/s", True),
    "busbw_gbps": ("GB/s", True),
    "total_flops": ("flop", True),
    "ttft_ms": ("ms", False),
    "itl_ms": ("ms", False),
    "e2e_ms": ("ms", False),
    "serving_tokens_per_s": ("token/s", True),
    "achieved_tflops_per_gpu": ("TFLOP/s", True),
    "mfu": ("", True),
    "step_time_s": ("s", False),
    "energy": ("kWh", False),  # energy cases: less is "better" (optimistic = predicted lower)
    "emissions": ("t", False),
}
#: metrics predicted by the serving solver. A serving scenario names ``model``, ``hardware`` (or
#: ``system`` and ``tp``), ``batch_size``, ``input_len`` (the prompt), ``output_len``,
#: ``precision``, optionally ``kv_precision``, and ``prefill``: "separate" (each prompt on its
#: own, as one request at a time is served) or "together" (the static batch's prompts in one
#: step, as a batch benchmark runs them). TTFT is that prefill; ITL the mean decode step over
#: the generation (the solver's first and last step averaged: its decode time is n − 1 times
#: that); end-to-end the batch's prefill plus its n − 1 decode steps; tokens/s the batch's
#: output tokens over that time.
SERVING_METRICS = ("ttft_ms", "itl_ms", "e2e_ms", "serving_tokens_per_s")
CATEGORIES = ("decode", "quantized-decode", "prefill", "serving", "serving-latency", "training",
              "training-throughput", "training-mfu", "gemm", "attention", "collective", "energy")
BOUND_SLACK = 0.03  # measured values are rounded; a bound may be met within 3 %


@dataclass(frozen=True)
class GradedCase:
    """One published measurement next to the engine's prediction and its bound."""

    case_id: str
    category: str
    scenario: dict
    metric: str
    measured: float
    predicted: float
    bound: float | None
    source: str
    section: str
    stack: str
    reason: str
    tolerance: float | None = None  # |error| the data allows (training cases), or None
    predicted_as: str = ""  # a training case's convention (validation_training.PREDICTED_AS)

    @property
    def within_tolerance(self) -> bool | None:
        """Whether |error| ≤ the data's tolerance (None when the case states none)."""
        return None if self.tolerance is None else self.error <= self.tolerance

    @property
    def optimistic(self) -> bool:
        """The prediction is faster than the measurement (more throughput, less time)."""
        return (self.measured < self.predicted) == METRICS[self.metric][1]

    @property
    def unit(self) -> str:
        return METRICS[self.metric][0]

    @property
    def ratio(self) -> float:
        """measured / predicted."""
        return self.measured / self.predicted

    @property
    def error(self) -> float:
        """|measured / predicted − 1|."""
        return abs(self.ratio - 1.0)

    @property
    def bound_side(self) -> str:
        """'within' (the measurement respects the physical bound), 'beyond' (it beats it:
        a defect), or 'n/a' for identities."""
        if self.bound is None:
            return "n/a"
        higher = METRICS[self.metric][1]
        ok = (self.measured <= self.bound * (1 + BOUND_SLACK) if higher
              else self.measured >= self.bound * (1 - BOUND_SLACK))
        return "within" if ok else "beyond"


def load_cases() -> dict[str, dict]:
    """The raw case records, keyed by id (sources resolved against sources.yaml): those of
    ``validation.yaml``, the runnable training cases of ``validation_training.yaml`` and the
    energy cases of ``validation_energy.yaml``."""
    from .validation_energy import load_energy_cases
    from .validation_training import load_training_cases

    cases = read_yaml(CATALOG_DIR / "validation.yaml")
    for name, extra in (("validation_training.yaml", load_training_cases()),
                        ("validation_energy.yaml", load_energy_cases())):
        clash = sorted(set(cases) & set(extra))
        if clash:
            raise ValueError(f"validation case {clash[0]} is in {name} and another "
                             "validation file")
        cases = {**cases, **extra}
    for case_id, case in cases.items():
        if case["source"] not in sources():
            raise ValueError(f"validation case {case_id}: unknown source {case['source']!r}")
        if case["metric"] not in METRICS:
            raise ValueError(f"validation case {case_id}: unknown metric {case['metric']!r}")
        if case["category"] not in CATEGORIES:
            raise ValueError(f"validation case {case_id}: unknown category "
                             f"{case['category']!r}")
    return cases


# -- predictions ------------------------------------------------------------------------------
_PURE = {"efficiency": 1.0, "memory_efficiency": 1.0, "launch_overhead": "0 s"}


def _solve(scenario: dict, pure: bool = False):
    """One engine step: a device (``hardware``), a tensor-parallel node (``system``) or a
    wafer (``wafers``: weights-resident)."""
    from .solvers import Engine, TensorParallelModel, WaferResidentModel

    args = {k: v for k, v in scenario.items()
            if k not in ("input_len", "output_len", "kernel", "tokens", "devices")}
    if "wafers" in args:
        extra = {"efficiency": 1.0, "layer_latency": "0 s"} if pure else {}
        return WaferResidentModel().solve(args.pop("model"), args.pop("hardware"), **args,
                                          **extra)
    if pure:
        args.update(_PURE)
    if "system" in args:
        return TensorParallelModel().solve(args.pop("model"), args.pop("system"), **args)
    return Engine.solve(args.pop("model"), args.pop("hardware"), **args)


def _generation(scenario: dict, pure: bool) -> float:
    """Output tokens/s of a static batch: B·out / (prefill(B, in) + Σ decode(B, in + j))."""
    base = {k: v for k, v in scenario.items() if k not in ("input_len", "output_len")}
    n_in, n_out = int(scenario["input_len"]), int(scenario["output_len"])
    prefill = _solve({**base, "phase": "prefill", "seq_len": n_in}, pure)
    steps = range(n_out) if n_out <= 256 else [round(i * (n_out - 1) / 63) for i in range(64)]
    per_step = [_solve({**base, "phase": "decode", "seq_len": n_in + j}, pure).latency_s
                for j in steps]
    decode = sum(per_step) / len(per_step) * n_out
    return scenario.get("batch_size", 1) * n_out / (prefill.latency_s + decode)


def _kernel(scenario: dict, pure: bool) -> float:
    from .solvers import kernels

    kind = scenario["kernel"]
    if kind == "gemm":
        extra = _PURE if pure else {}
        t = kernels.gemm_time(scenario["hardware"], scenario["m"], scenario["n"],
                              scenario["k"], scenario.get("precision", "fp16"), **extra)
        return t.flops_per_second / 1e12
    if kind == "attention":
        if pure:
            from .catalog import Hardware
            hw = Hardware.get(scenario["hardware"])
            return hw.si.flops[scenario.get("precision", "fp16")] / 1e12
        t = kernels.attention_time(scenario["hardware"], scenario["batch"], scenario["heads"],
                                   scenario["seq_len"], scenario["head_dim"],
                                   scenario.get("causal", False),
                                   scenario.get("precision", "fp16"))
        return t.flops_per_second / 1e12
    n, size = int(scenario["devices"]), float(scenario["bytes"])
    if pure:
        from .solvers.dispatch import resolve_node
        node = resolve_node(scenario["system"])
        link = float(node.intra_link.bandwidth.to("B/s").magnitude)
        return link * 2 * (n - 1) / n / 1e9  # a switch all-reduce at full link rate
    t = kernels.allreduce_time(scenario["system"], size, n)
    return size / t.seconds * 2 * (n - 1) / n / 1e9


def serving_target(scenario: dict):
    """The serving solver's target: a device, or the case's node cut to its ``tp`` GPUs (the
    solver splits a node over all its GPUs)."""
    if "system" not in scenario:
        return scenario["hardware"]
    from .solvers.dispatch import resolve_node

    node = resolve_node(scenario["system"])
    tp = int(scenario.get("tp", node.count))
    return node if tp == node.count else node.model_copy(update={"count": tp})


def serving_steps(scenario: dict, pure: bool = False) -> tuple[float, float, float, float]:
    """(TTFT, first decode step, last decode step, the batch's prefill) in seconds, composed
    from engine steps the way the serving solver composes them; ``pure`` gives the bound."""
    base = {k: scenario[k] for k in ("model", "hardware", "system", "tp", "precision",
                                     "kv_precision") if k in scenario}
    batch, n_in = int(scenario.get("batch_size", 1)), int(scenario["input_len"])
    n_out = int(scenario["output_len"])
    together = scenario.get("prefill", "separate") == "together"
    ttft = _solve({**base, "phase": "prefill", "seq_len": n_in,
                   "batch_size": batch if together else 1}, pure).latency_s
    first, last = (_solve({**base, "phase": "decode", "seq_len": ctx, "batch_size": batch},
                          pure).latency_s for ctx in (n_in, n_in + max(n_out - 2, 0)))
    return ttft, first, last, (ttft if together else batch * ttft)


def _serving(metric: str, scenario: dict, pure: bool) -> float:
    """A serving metric: the serving solver's value, or its bound (see ``serving_steps``)."""
    batch, n_out = int(scenario.get("batch_size", 1)), int(scenario["output_len"])
    if pure:
        ttft, first, last, batch_prefill = serving_steps(scenario, pure=True)
        e2e = batch_prefill + (n_out - 1) * (first + last) / 2
    else:
        from .solvers import ServingModel

        r = ServingModel().solve(scenario["model"], serving_target(scenario),
                                 seq_len=int(scenario["input_len"]), batch_size=batch,
                                 precision=scenario.get("precision", "fp16"), output_len=n_out,
                                 kv_precision=scenario.get("kv_precision"),
                                 prefill=scenario.get("prefill", "separate"))
        if not r.feasible:
            raise ValueError(f"serving scenario does not fit: {r.constraint_trace}")
        ttft, first, last, e2e = r.ttft_s, r.itl_s, r.itl_last_s, r.e2e_s
    return {"ttft_ms": ttft * 1e3, "itl_ms": (first + last) / 2 * 1e3, "e2e_ms": e2e * 1e3,
            "serving_tokens_per_s": batch * n_out / e2e}[metric]


def predict(metric: str, scenario: dict, pure: bool = False) -> float:
    """The engine's value of ``metric`` for ``scenario`` (the bound when ``pure``)."""
    if metric in SERVING_METRICS:
        return _serving(metric, scenario, pure)
    if metric in ("tflops", "busbw_gbps"):
        return _kernel(scenario, pure)
    if metric.startswith("generation_tokens_per_s"):
        value = _generation(scenario, pure)
    elif metric == "total_flops":
        r = _solve(scenario)
        return r.flops / r.units_per_step * float(scenario_tokens(scenario))
    else:
        r = _solve(scenario, pure)
        value = r.latency_s * 1e3 if metric == "latency_ms" else r.throughput.magnitude
    if metric.endswith("_per_gpu"):
        value /= scenario.get("tp", 1) if "system" in scenario else 1
    return value


def scenario_tokens(scenario: dict) -> float:
    return float(scenario["tokens"])


def run_cases() -> list[GradedCase]:
    """Every case, graded (see the module docstring)."""
    from . import validation_energy, validation_training

    out = []
    for case_id, case in load_cases().items():
        metric, scenario = case["metric"], case["scenario"]
        unit = METRICS[metric][0]
        extra = {}
        if case.get("solver") == "distributed":
            measured = validation_training.measured_value(case, unit)
            predicted = validation_training.predict(case)
            bound = validation_training.predict(case, pure=True)
            extra = {"tolerance": float(case["tolerance"]),
                     "predicted_as": case["predicted_as"]}
        elif case["category"] == "energy":
            if metric not in validation_energy._metrics():
                raise ValueError(f"validation case {case_id}: category energy grades "
                                 f"energy or emissions, not {metric!r}")
            measured = validation_energy.measured_value(case)
            predicted = validation_energy.predict(case)
            bound = None  # an accounting identity: no physical bound
            extra = {"tolerance": float(case["tolerance"])}
        else:
            measured = float(Q_(case["measured"]).to(unit).magnitude)
            predicted = predict(metric, scenario)
            bound = None if metric == "total_flops" else predict(metric, scenario, pure=True)
        out.append(GradedCase(
            case_id=case_id, category=case["category"], scenario=scenario, metric=metric,
            measured=measured, predicted=predicted, bound=bound,
            source=case["source"], section=case["section"], stack=case.get("stack", ""),
            reason=case["reason"], **extra))
    return out


def summary(cases: list[GradedCase] | None = None) -> dict[str, dict]:
    """Per category: cases, median and worst |error|, and bound violations; plus "all"."""
    cases = run_cases() if cases is None else cases
    groups: dict[str, list[GradedCase]] = {}
    for c in cases:
        groups.setdefault(c.category, []).append(c)
    groups["all"] = list(cases)
    out = {}
    for name, group in groups.items():
        errors = [c.error for c in group]
        out[name] = {"cases": len(group), "median_error": statistics.median(errors),
                     "worst_error": max(errors),
                     "worst_case": max(group, key=lambda c: c.error).case_id,
                     "beyond_bound": [c.case_id for c in group if c.bound_side == "beyond"],
                     "devices": len({_device(c.scenario) for c in group})}
    return out


def _device(scenario: dict) -> str:
    return str(scenario.get("hardware") or scenario.get("system"))


def log_error(case: GradedCase) -> float:
    return abs(math.log(case.ratio))

"""Training cases of the validation set: published runs graded through ``DistributedModel``.

The cases live in ``catalog/validation_training.yaml`` (the scenario, the published number with
its FLOP convention, source, tolerance and reason). A case with ``solver: distributed`` is solved
by :class:`~mlsysim.solvers.distributed.DistributedModel` on ``Fleet(node, nodes, fabric)`` with
its stated layout, and the quantity named by ``predicted_as`` is compared with the published one
in the paper's own convention:

* ``megatron-eq3`` — TFLOP/s per GPU as Megatron-LM counts it: the paper's Eq. 3 FLOPs of one
  iteration, F = 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)) (Narayanan et al. SC21, §5.1; the
  recomputed forward pass included), over the *predicted* step time and the GPU count. The FLOP
  count is the paper's, so the error is the step time's.
* ``mfu`` — the solver's model-FLOPs utilisation (forward + backward, recomputation not counted,
  over step × devices × dense peak), the convention of Korthikanti et al. 2022 §6 and PaLM App. B.
* ``step-time`` — the predicted step time in seconds (convention-free).

The bound is the same scenario with every efficiency at 1 and no launch cost. A case with
``not_modelled`` (its reason) cannot run yet (uneven pipeline stages, a fabric not in the
catalog, context parallelism); :func:`not_modelled` lists it with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog.loader import CATALOG_DIR, read_yaml
from .units import Q_

FILE = CATALOG_DIR / "validation_training.yaml"
#: predicted_as → the metric it is graded on (a key of ``validation.METRICS``)
PREDICTED_AS = {"megatron-eq3": "achieved_tflops_per_gpu", "mfu": "mfu",
                "step-time": "step_time_s"}
_PURE = {"efficiency": 1.0, "memory_efficiency": 1.0, "launch_overhead": "0 s"}


@dataclass(frozen=True)
class NotModelled:
    """A published training run the engine cannot run yet, and why."""

    case_id: str
    category: str
    scenario: dict
    metric: str
    measured: str  # as published, with its unit ("430 TFLOP/s", "0.462")
    source: str
    section: str
    reason: str  # why it cannot run yet


def _raw() -> dict[str, dict]:
    return read_yaml(FILE)["cases"]


def load_training_cases() -> dict[str, dict]:
    """The runnable cases (``solver: distributed``), in the validation set's record shape."""
    out = {}
    for case_id, case in _raw().items():
        if "not_modelled" in case:
            continue
        if case.get("solver") != "distributed":
            raise ValueError(f"validation training case {case_id}: give solver: distributed "
                             "or not_modelled: <reason>")
        kind = case.get("predicted_as")
        if PREDICTED_AS.get(kind) != case["metric"]:
            raise ValueError(f"validation training case {case_id}: predicted_as={kind!r} does "
                             f"not grade metric {case['metric']!r}; allowed: "
                             + ", ".join(f"{k} ({v})" for k, v in PREDICTED_AS.items()))
        out[case_id] = case
    return out


def not_modelled() -> list[NotModelled]:
    """Every staged case that cannot run yet, with its reason (never dropped silently)."""
    return [NotModelled(case_id=k, category=c["category"], scenario=c["scenario"],
                        metric=c["metric"], measured=str(c["measured"]), source=c["source"],
                        section=c["section"], reason=c["not_modelled"])
            for k, c in _raw().items() if "not_modelled" in c]


def measured_value(case: dict, unit: str) -> float:
    """The published number in ``unit`` ('' for a plain fraction such as an MFU)."""
    if not unit:
        return float(case["measured"])
    return float(Q_(case["measured"]).to(unit).magnitude)


def solve(scenario: dict, pure: bool = False):
    """DistributedModel on the scenario's ``Fleet(node, nodes, fabric)`` and stated layout."""
    from .fleet import Fleet
    from .solvers.distributed import DistributedModel

    s = scenario
    r = DistributedModel().solve(
        s["model"], Fleet(s["node"], s["nodes"], s["fabric"]), batch_size=s["batch_size"],
        seq_len=s["seq_len"], precision=s["precision"], tp_size=s["tp_size"],
        pp_size=s["pp_size"], ep_size=s["ep_size"], microbatch_count=s["microbatch_count"],
        zero_stage=s["zero_stage"], activation_recomputation=s["activation_recomputation"],
        sequence_parallel=s["sequence_parallel"], overlap_comm=s["overlap_comm"],
        virtual_pipeline_stages=s["virtual_stages"], **(_PURE if pure else {}))
    if not r.feasible:
        raise ValueError(f"validation training scenario {s['model']} does not fit: "
                         f"{r.constraint_trace}")
    if r.microbatch_size != s["microbatch_size"] or r.dp != s["dp_size"]:
        raise ValueError(f"validation training scenario {s['model']}: the solver's layout "
                         f"(dp {r.dp}, micro-batch {r.microbatch_size}) is not the stated one "
                         f"(dp {s['dp_size']}, micro-batch {s['microbatch_size']})")
    return r


def eq3_flops(scenario: dict) -> float:
    """Megatron-LM SC21 Eq. 3: FLOPs of one iteration with activation recomputation,
    96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)), with the catalog model's l, h and V."""
    from .catalog import Models

    m = Models.get(scenario["model"]).si
    b, s, l, h, v = scenario["batch_size"], scenario["seq_len"], m.layers, m.d_model, m.vocab
    return 96.0 * b * s * l * h * h * (1 + s / (6 * h) + v / (16 * l * h))


def predict(case: dict, pure: bool = False) -> float:
    """The case's graded quantity from the solver (its bound when ``pure``)."""
    s = case["scenario"]
    r = solve(s, pure)
    kind = case["predicted_as"]
    if kind == "megatron-eq3":
        return eq3_flops(s) / r.step_s / r.devices / 1e12
    if kind == "mfu":
        return r.mfu
    return r.step_s

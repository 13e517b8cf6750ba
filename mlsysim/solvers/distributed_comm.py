"""The communication and optimizer operators of a parallel training step, as one operator plan.

Every message below is costed by the engine's one combinator (``evaluate``), as a collective
operator with its group, ranks per node and kind (``physics.fleet_collectives``; message
sizes in nccl-tests' convention). Per microbatch, on every stage:

- **PP** (pp > 1): the stage boundary's activations forward and their gradients backward,
  b·s·d·bytes each (v times with v interleaved model chunks per device); every rank of a
  TP group sends its 1/tp slice on its own rail (Megatron's scatter/gather optimisation,
  Narayanan et al. SC21, §4.1), and without sequence parallelism the slices are
  all-gathered over the TP group on arrival;
- **EP** (ep > 1): an all-to-all to dispatch tokens to their experts and one to combine them,
  forward and backward (and again in a full recomputation) for each MoE layer of the stage;
  each rank sends its b·s/tp tokens' k routed copies of width d (Lepikhin et al. 2020, §2.2);
- **ZeRO-3** (Rajbhandari et al. 2020, §5.3): the stage's parameters all-gathered over the
  data-parallel group before the forward and before the backward (and before a full
  recomputation); **ZeRO-2/3** reduce-scatter each microbatch's gradients as they are made
  (only a 1/dp shard of the gradients is kept). Both run layer by layer, one collective of
  a layer's share per layer (as DeepSpeed and FSDP issue them per module), so each pays
  its own latency.

Once per step, after the last backward (gradients at ``grad_bytes`` per parameter):
ZeRO-0 all-reduces the gradients; ZeRO-1 reduce-scatters them and all-gathers the updated
parameters; ZeRO-2 all-gathers the parameters; ZeRO-3 has nothing left to do. Dense
weights are reduced over the dp·ep replicas, expert weights over dp. Then the optimizer
(mixed-precision Adam, the engine's per-parameter counts) updates the local shard: the
stage's parameters / tp, / dp·ep (experts / dp) under ZeRO ≥ 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..vocabulary import OpKind
from .distributed_layout import Layout
from .ops_transformer import ADAM_BYTES_READ, ADAM_BYTES_WRITTEN, ADAM_FLOPS, stage_parameters
from .plan import OperatorList, OperatorPlan

DP, TP, PP, EP, OPTIMIZER = "dp", "tp", "pp", "ep", "optimizer"
MICROBATCH, STEP = "microbatch", "step"
BOTH = "both"


def expert_parameters(model, layers: int) -> float:
    """Expert (routed MLP) parameters of ``layers`` layers, on the declared count's scale."""
    s, sh = model.si, model.shapes
    if s.experts <= 1:
        return 0.0
    return s.params * layers * s.experts * (sh.mlp_in + sh.mlp_out) / model.shape_parameters


def stage_names(pp: int) -> tuple[str, ...]:
    return ("only",) if pp == 1 else ("first", "last")


def _stage_flags(stage: str) -> tuple[bool, bool]:
    return {"only": (True, True), "first": (True, False), "last": (False, True)}[stage]


class Grouping:
    """Sums of per-operator seconds over named groups of operators, as one matrix product."""

    def __init__(self, n: int, index: dict):
        self.keys = tuple(index)
        self.matrix = np.zeros((len(self.keys), n))
        for row, key in enumerate(self.keys):
            self.matrix[row, list(index[key])] = 1.0

    def sums(self, times) -> dict:
        """{group: seconds per step} from the combinator's output (all instances)."""
        return self.totals(times.t_operator * times.count)

    def totals(self, per_op) -> dict:
        """{group: Σ per_op over its operators} (per_op: one value per operator)."""
        return dict(zip(self.keys, (self.matrix @ per_op).tolist(), strict=True))


@dataclass(frozen=True)
class CommPlan:
    """The plan and, for each (stage, per, category), its operators' grouping."""

    plan: OperatorPlan
    groups: Grouping
    messages: dict  # (stage, name) → bytes, for the result's notes and tests


def comm_plan(model, lay: Layout, precision) -> CommPlan:
    """The collective and optimizer operators of one step (see the module docstring)."""
    s = model.si
    a, w = precision.activation_bytes, precision.weight_bytes
    grad = max(w, 2.0)
    b, seq, d = lay.microbatch, lay.seq_len, s.d_model
    ops = OperatorList()
    index: dict = {}
    messages: dict = {}

    def add(stage, per, cat, name, count, collective, message, group, rpn):
        if group <= 1 or count == 0 or message <= 0:
            return
        index.setdefault((stage, per, cat), []).append(len(ops.names))
        messages[(stage, name)] = message
        ops.add(f"{name}" + ("" if stage in (BOTH, "only") else f".{stage}"),
                OpKind.COLLECTIVE, count, 0.0, 0.0, message=message, group=group,
                collective=collective, ranks_per_node=rpn)

    full = lay.recompute == "full"
    # -- per microbatch, the same on every stage --------------------------------------------
    if lay.pp > 1:
        boundary = b * seq * d * a
        adjacent = 2 if lay.pp_rpn > 1 else 1  # next stage in the same node?
        v = lay.virtual  # an interleaved schedule crosses v boundaries per device
        add(BOTH, MICROBATCH, PP, "pp_send_activations", v, "p2p", boundary / lay.tp, 2,
            adjacent)
        add(BOTH, MICROBATCH, PP, "pp_send_gradients", v, "p2p", boundary / lay.tp, 2,
            adjacent)
        if lay.tp > 1 and not lay.sequence_parallel:
            add(BOTH, MICROBATCH, PP, "pp_allgather_activations", 2 * v, "allgather",
                boundary, lay.tp, lay.tp_rpn)
    if lay.ep > 1:
        routed = b * seq / lay.tp * s.active_experts * d * a
        add(BOTH, MICROBATCH, EP, "ep_alltoall", lay.stage_layers * (6 if full else 4),
            "alltoall", routed, lay.ep, lay.ep_rpn)
    # -- per stage: ZeRO's per-microbatch traffic, the step's gradient sync, the optimizer --
    for stage in stage_names(lay.pp):
        first, last = _stage_flags(stage)
        held = stage_parameters(model, lay.stage_layers, first, last)
        experts = expert_parameters(model, lay.stage_layers)
        dense, expert = (held - experts) / lay.tp, experts / (lay.tp * lay.ep)
        groups = ((dense, lay.replicas, lay.replica_rpn, ""),
                  (expert, lay.dp, lay.dp_rpn, "_experts"))
        # ZeRO-3 gathers (and ZeRO-2/3 reduce-scatter) layer by layer, as the forward and
        # backward reach each layer (DeepSpeed's and FSDP's per-module collectives): one
        # collective of the layer's share per layer, so each pays its own latency
        per_layer = lay.stage_layers
        for params, group, rpn, tag in groups:
            if lay.zero == 3:
                add(stage, MICROBATCH, DP, f"zero3_allgather_params{tag}",
                    (3 if full else 2) * per_layer, "allgather", params * w / per_layer,
                    group, rpn)
            if lay.zero >= 2:
                add(stage, MICROBATCH, DP, f"zero_reduce_scatter_grads{tag}", per_layer,
                    "reduce_scatter", params * grad / per_layer, group, rpn)
            if lay.zero == 0:
                add(stage, STEP, DP, f"dp_allreduce_grads{tag}", 1, "allreduce",
                    params * grad, group, rpn)
            if lay.zero == 1:
                add(stage, STEP, DP, f"zero_reduce_scatter_grads{tag}", 1, "reduce_scatter",
                    params * grad, group, rpn)
            if lay.zero in (1, 2):
                add(stage, STEP, DP, f"zero_allgather_params{tag}", 1, "allgather",
                    params * w, group, rpn)
        shard = dense / (lay.replicas if lay.zero else 1) + expert / (lay.dp if lay.zero else 1)
        index.setdefault((stage, STEP, OPTIMIZER), []).append(len(ops.names))
        ops.add("optimizer" + ("" if stage == "only" else f".{stage}"), OpKind.ELEMENTWISE, 1,
                ADAM_FLOPS * shard, (ADAM_BYTES_READ + ADAM_BYTES_WRITTEN) * shard)
    plan = OperatorPlan.build(ops, (), phase=None, unit=None, units=0.0, footprint={},
                              precision=precision, devices=lay.devices).frozen()
    return CommPlan(plan, Grouping(len(plan.names), index), messages)


#: operators that run on the first stage only, and on the last stage only
FIRST_ONLY = ("embedding", "allreduce_embedding")
LAST_ONLY = ("final_norm", "lm_head", "lm_head.backward")


_SPLITS: dict = {}


def stage_split(plan: OperatorPlan) -> Grouping:
    """A stage plan's operators grouped by (stage, part): ``kernels`` (device time) and
    ``links`` (its TP collectives), for the first, last and only stage. The plan holds the
    first stage's embedding and the last stage's LM head: the first stage is the plan
    without the LM head, the last without the embedding (the combinator sums operators, so
    this equals evaluating each stage's own plan)."""
    hit = _SPLITS.get(id(plan))
    if hit is not None and hit[0] is plan:
        return hit[1]
    links = set(plan.link_operators)
    index = {}
    for stage in ("only", "first", "last"):
        drop = {"only": (), "first": LAST_ONLY, "last": FIRST_ONLY}[stage]
        keep = [i for i, n in enumerate(plan.names) if n not in drop]
        index[(stage, "kernels")] = tuple(i for i in keep if i not in links)
        index[(stage, "links")] = tuple(i for i in keep if i in links)
    grouping = Grouping(len(plan.names), index)
    if len(_SPLITS) > 1024:
        _SPLITS.clear()
    _SPLITS[id(plan)] = (plan, grouping)
    return grouping

"""Training a transformer across a fleet with tensor, pipeline, expert and data parallelism.

``DistributedModel().solve(model, fleet, batch_size, seq_len, ...)``: ``batch_size`` is the
global batch in sequences; dp = devices / (tp·pp·ep); each of the dp·ep replicas runs
batch / (dp·ep) sequences in ``m`` microbatches of b (layout and placement:
``distributed_layout``). Every time is the engine's (one per-operator cost model):

* **Microbatch stage time** t_mb: the engine's plan of one pipeline stage (its L/p layers,
  the embedding on the first stage, the LM head and loss on the last; TP all-reduces for the
  stage's layers only) forward + backward (+ recomputation) on b sequences, plus that stage's
  per-microbatch PP sends, EP all-to-alls and ZeRO traffic (``distributed_comm``). The slowest
  stage sets the pace.
* **1F1B schedule** (Narayanan et al. SC21, §2.2.1): pipeline time (m + p − 1)·t_mb, of which
  the bubble is (p − 1)·t_mb: bubble fraction (p − 1)/(m + p − 1) of the pipeline. With
  ``virtual_pipeline_stages`` = v > 1 (the interleaved schedule, §2.2.2: each device holds v
  chunks of L/(p·v) layers) the bubble shrinks to (p − 1)·t_mb/v and each microbatch crosses
  v times as many stage boundaries; activation memory is still counted for plain 1F1B.
* **Data-parallel sync** after the last backward (gradients of the stage's parameters / tp
  over the replicas), of which the stated fraction ``overlap_comm`` hides under the
  backward's compute (ZeRO's per-microbatch traffic likewise); the optimizer then updates
  the local shard. The slower stage's sync and update count.

Sequence parallelism (on by default when tp > 1; Korthikanti et al. 2022, §4.2.2) turns each
TP all-reduce into a reduce-scatter and an all-gather of the same traffic: it changes the
activations' memory here, not the time.

Step = (m + p − 1)·t_mb + exposed DP sync + optimizer. Throughput = global batch × seq_len /
step (each token counted once: no tp·pp factor). Model FLOPs per step are the engine's training
FLOPs of the whole model for the global batch *without* recomputation (forward + 2× backward
per sequence: Megatron-LM's MFU convention; the hardware FLOPs, with recomputation, give HFU),
so MFU = model FLOPs / (step · devices · dense peak) ≤ 1. Memory per device is
``physics.training_memory`` for the busiest stage with min(p, m) microbatches in flight.
"""

from __future__ import annotations

from ..constraints import Constraint
from ..results_training import DistributedResult
from ..specs.system import FleetSpec, NodeSpec
from ..specs.workload import TransformerWorkload
from ..vocabulary import Phase
from . import inputs
from .distributed_comm import (
    DP,
    EP,
    MICROBATCH,
    OPTIMIZER,
    PP,
    STEP,
    comm_plan,
    expert_parameters,
    stage_names,
    stage_split,
)
from .distributed_layout import Layout, layout_constraints, make_layout
from .engine import build_plan
from .evaluate import device_rates, evaluate

_COMM: dict = {}  # comm plans by (model, layout, precision): hardware-independent
_RATES: dict = {}
_MEMORY: dict = {}


def resolve_fleet(fleet) -> tuple[NodeSpec, int, FleetSpec | None]:
    """(node, nodes, fleet spec or None for one node) of a fleet, a node or a catalog name."""
    if isinstance(fleet, str):
        from ..catalog import Systems
        fleet = Systems.get(fleet)
    if isinstance(fleet, FleetSpec):
        return fleet.node, fleet.count, fleet
    if isinstance(fleet, NodeSpec):
        return fleet, 1, None
    raise TypeError(f"fleet must be a fleet (e.g. mlsysim.Systems.H100_Cluster_1024), a node "
                    f"(e.g. mlsysim.Systems.DGX_H100) or a catalog name, got "
                    f"{type(fleet).__name__}")


def _rates(hw, precision, effs, node, fleet):
    """The device's rates with its node's link and the fleet's fabric, kept by spec."""
    key = (id(hw), precision, effs, id(node), id(fleet))
    hit = _RATES.get(key)
    if hit is not None and hit[0] is hw and hit[1] is node and hit[2] is fleet:
        return hit[3]
    rates = device_rates(hw, precision, effs, node=node, fleet=fleet)
    if len(_RATES) > 256:
        _RATES.clear()
    _RATES[key] = (hw, node, fleet, rates)
    return rates


def _comm(model, lay: Layout, precision):
    key = (id(model), lay.key(), precision)
    hit = _COMM.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    plan = comm_plan(model, lay, precision)
    if len(_COMM) > 1024:
        _COMM.clear()
    _COMM[key] = (model, plan)
    return plan


def training_memory_of(model, lay: Layout, precision):
    """Memory per device of the busiest stage (``physics.training_memory``); kept by
    (model, layout, precision) like the engine's plans."""
    key = (id(model), lay.key(), precision)
    hit = _MEMORY.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    if len(_MEMORY) > 4096:
        _MEMORY.clear()
    mem = _training_memory(model, lay, precision)
    _MEMORY[key] = (model, mem)
    return mem


def _training_memory(model, lay: Layout, precision):
    from ..physics.training_memory import training_memory

    s = model.si
    return training_memory(
        params=s.params, layers=s.layers, d_model=s.d_model, heads=s.heads,
        seq_len=lay.seq_len, microbatch=lay.microbatch,
        expert_params=expert_parameters(model, s.layers), vocab=s.vocab, tp=lay.tp,
        pp=lay.pp, dp=lay.dp, ep=lay.ep, zero_stage=lay.zero, recompute=lay.recompute,
        sequence_parallel=lay.sequence_parallel, weight_bytes=precision.weight_bytes,
        grad_bytes=max(precision.weight_bytes, 2.0), in_flight=min(lay.pp, lay.microbatches),
        activation_bytes=precision.activation_bytes, ffn_dim=s.ffn_dim, gated_mlp=s.gated,
        experts=s.experts if s.experts > 1 else 0, experts_per_token=s.active_experts,
        tied_embeddings=s.tied, lm_head=s.causal)


def prepare(model, fleet, batch_size, seq_len, precision, tp_size, pp_size, ep_size,
            microbatch_count, zero_stage, activation_recomputation, sequence_parallel,
            overlap_comm, layout: bool = True, virtual_stages=1):
    """Validate everything once: (model, node, nodes, fleet, layout or None, precisions)."""
    model = inputs.resolve_model(model)
    if not isinstance(model, TransformerWorkload):
        raise ValueError(f"DistributedModel trains transformers; {model.name} is a per-sample "
                         "network")
    node, nodes, fleet_spec = resolve_fleet(fleet)
    prec = inputs.precisions(precision)
    inputs.peak_for(node.accelerator, prec.compute)
    seq = inputs.context_for(model, seq_len)
    if not layout:
        return model, node, nodes, fleet_spec, None, prec
    lay = make_layout(model, node.count, nodes, batch_size, seq, tp_size, pp_size, ep_size,
                      microbatch_count, zero_stage, activation_recomputation,
                      sequence_parallel, overlap_comm, node.name, virtual_stages)
    return model, node, nodes, fleet_spec, lay, prec


def solve_layout(model, node, fleet_spec, lay: Layout, prec, effs, label: str,
                 memo: dict | None = None) -> DistributedResult:
    """The step of a validated layout (see the module docstring). ``memo`` keeps group
    sums of evaluated plans between calls on the same rates (a search reuses a stage's
    times across ZeRO stages and data-parallel sizes)."""
    hw = node.accelerator
    plan, rates, st_s = _stage_times(model, node, fleet_spec, lay, prec, effs, memo)
    comm = _comm(model, lay, prec)
    c_s = _sums(comm.plan, comm.groups, rates, memo)

    best = None
    for stage in stage_names(lay.pp):
        kernels, tp_s = st_s[(stage, "kernels")], st_s[(stage, "links")]
        got = {cat: c_s.get(("both", MICROBATCH, cat), 0.0)
               + c_s.get((stage, MICROBATCH, cat), 0.0) for cat in (PP, EP, DP)}
        dp_mb_hidden = min(lay.overlap * got[DP], kernels)
        t_mb = kernels + tp_s + got[PP] + got[EP] + got[DP] - dp_mb_hidden
        sync = c_s.get((stage, STEP, DP), 0.0)
        opt = c_s.get((stage, STEP, OPTIMIZER), 0.0)
        entry = (t_mb, stage, kernels, tp_s, got, dp_mb_hidden, sync, opt)
        if best is None or t_mb > best[0]:
            best = entry
    t_mb, stage, kernels, tp_s, got, dp_mb_hidden, _, _ = best
    # the step ends with the slower stage's sync and update
    sync, opt = max(((c_s.get((st, STEP, DP), 0.0), c_s.get((st, STEP, OPTIMIZER), 0.0))
                     for st in stage_names(lay.pp)), key=sum)
    m, p = lay.microbatches, lay.pp
    sync_hidden = min(lay.overlap * sync, m * (kernels - dp_mb_hidden))
    parts = (("compute", m * kernels), ("tp_communication", m * tp_s),
             ("pp_communication", m * got[PP]), ("ep_communication", m * got[EP]),
             ("dp_communication", m * (got[DP] - dp_mb_hidden) + sync - sync_hidden),
             ("optimizer", opt), ("pipeline_bubble", (p - 1) * t_mb / lay.virtual))
    step = sum(v for _, v in parts)
    dp_free = step - dict(parts)["dp_communication"]

    # -- FLOPs -------------------------------------------------------------------------------
    one = inputs.WorkloadArgs(model=model, batch=1, context=lay.seq_len, phase=Phase.TRAINING,
                              precision=prec)
    model_flops = build_plan(one, stage={"optimizer_step": False}).total_flops * lay.batch
    # per device per step on the slowest stage, recomputation included
    hw_flops = m * stage_split(plan).totals(plan.flops * plan.count)[(stage, "kernels")]

    # -- memory and feasibility -------------------------------------------------------------
    mem = training_memory_of(model, lay, prec)
    capacity = hw.si.mem_capacity
    trace = layout_constraints(lay, node.name, getattr(node.intra_link, "name", "NVLink"))
    if mem.total > capacity:
        trace += (Constraint("memory", mem.total, capacity, None,
                             tuple(mem.as_dict().items()), scope="per device: ",
                             detail=_memory_hint(lay)),)
    notes = _notes(lay, stage)
    return DistributedResult(
        model=model.name, fleet=label, accelerator=hw.name, precision=prec.label(),
        devices=lay.devices, gpus_per_node=lay.gpus_per_node, tp=lay.tp, pp=lay.pp,
        ep=lay.ep, dp=lay.dp, batch_size=lay.batch, seq_len=lay.seq_len,
        microbatch_count=m, microbatch_size=lay.microbatch, zero_stage=lay.zero,
        recompute=lay.recompute, sequence_parallel=lay.sequence_parallel,
        virtual_stages=lay.virtual,
        overlap_comm=lay.overlap, feasible=not trace, constraint_trace=trace, step_s=step,
        parts_s=parts, microbatch_s=t_mb, dp_free_step_s=dp_free, slowest_stage=stage,
        model_flops=model_flops, hardware_flops_per_device=hw_flops,
        peak_flops=rates.gemm_peak, memory=mem, capacity_bytes=capacity, notes=notes)


def _stage_times(model, node, fleet_spec, lay: Layout, prec, effs, memo):
    """(stage plan, rates, its group sums): one microbatch's forward + backward of a stage."""
    rates = _rates(node.accelerator, prec, effs, node, fleet_spec)
    args = inputs.WorkloadArgs(model=model, batch=lay.microbatch, context=lay.seq_len,
                               phase=Phase.TRAINING, precision=prec,
                               recompute=lay.recompute == "full")
    stage = dict(layers=lay.stage_layers, optimizer_step=False, recompute=lay.recompute,
                 ep=lay.ep)
    if lay.tp_crosses_nodes:
        stage["tp_ranks_per_node"] = lay.tp_rpn
    plan = build_plan(args, lay.tp, stage=stage)
    return plan, rates, _sums(plan, stage_split(plan), rates, memo)


def step_lower_bound(model, node, fleet_spec, lay: Layout, prec, effs, memo) -> float:
    """(m + (p − 1)/v) × the slowest stage's kernels and TP all-reduces: no step of ``lay`` is
    shorter (every other term is communication or an update, ≥ 0)."""
    st_s = _stage_times(model, node, fleet_spec, lay, prec, effs, memo)[2]
    t = max(st_s[(st, "kernels")] + st_s[(st, "links")] for st in stage_names(lay.pp))
    return (lay.microbatches + (lay.pp - 1) / lay.virtual) * t


def _sums(plan, grouping, rates, memo):
    """Group sums of ``plan`` evaluated on ``rates`` by the one combinator."""
    if memo is None:
        return grouping.sums(evaluate(plan, rates))
    key = (id(plan), id(rates))
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (plan, rates, grouping.sums(evaluate(plan, rates)))
    return hit[2]


def _memory_hint(lay: Layout) -> str:
    levers = []
    if lay.zero < 3:
        levers.append(f"zero_stage={lay.zero + 1}")
    if lay.recompute != "full":
        levers.append("activation_recomputation='full'")
    if lay.microbatch > 1:
        levers.append("more microbatches")
    return ("try " + ", ".join(levers) + " or more tp/pp") if levers else "needs more tp or pp"


def _notes(lay: Layout, stage: str) -> tuple[str, ...]:
    sched = "1F1B" if lay.virtual == 1 else f"interleaved 1F1B ({lay.virtual} chunks per device)"
    notes = [f"{sched} pipeline of {lay.pp} stage(s), {lay.microbatches} microbatch(es) of "
             f"{lay.microbatch} sequence(s) per replica; the {stage} stage sets the pace."
             if lay.pp > 1 else
             f"{lay.microbatches} microbatch(es) of {lay.microbatch} sequence(s) per replica "
             "(gradient accumulation)."]
    notes.append(f"{lay.overlap:.0%} of data-parallel communication is assumed hidden under "
                 "compute (overlap_comm)." if lay.overlap else
                 "Data-parallel communication is not overlapped with compute (overlap_comm=0).")
    notes.append("MFU counts the model's FLOPs without recomputation (Megatron-LM's "
                 "convention); HFU counts what the devices execute.")
    notes.append("Scaling efficiency = step time with data-parallel communication free ÷ step "
                 "time (per-device throughput relative to the same replicas without DP sync).")
    return tuple(notes)


def solve_distributed(model, fleet, batch_size, seq_len=None, precision="bf16", tp_size=1,
                      pp_size=1, ep_size=1, microbatch_count=None, zero_stage=0,
                      activation_recomputation="none", sequence_parallel=None,
                      overlap_comm=0.0, efficiency=None, memory_efficiency=None,
                      launch_overhead=None, virtual_pipeline_stages=1) -> DistributedResult:
    """One training step of ``model`` on ``fleet`` (see the module docstring)."""
    model, node, _, fleet_spec, lay, prec = prepare(
        model, fleet, batch_size, seq_len, precision, tp_size, pp_size, ep_size,
        microbatch_count, zero_stage, activation_recomputation, sequence_parallel,
        overlap_comm, virtual_stages=virtual_pipeline_stages)
    effs = inputs.efficiencies(efficiency, memory_efficiency, launch_overhead)
    label = (fleet_spec.name if fleet_spec is not None else node.name)
    return solve_layout(model, node, fleet_spec, lay, prec, effs, label)


class DistributedModel:
    """Data, tensor, pipeline and expert parallel training across a fleet (stateless)."""

    def solve(self, model, fleet, batch_size, seq_len=None, precision="bf16", tp_size=1,
              pp_size=1, ep_size=1, microbatch_count=None, zero_stage=0,
              activation_recomputation="none", sequence_parallel=None, overlap_comm=0.0,
              efficiency=None, memory_efficiency=None, launch_overhead=None,
              virtual_pipeline_stages=1) -> DistributedResult:
        """See :func:`solve_distributed`."""
        return solve_distributed(model, fleet, batch_size, seq_len, precision, tp_size,
                                 pp_size, ep_size, microbatch_count, zero_stage,
                                 activation_recomputation, sequence_parallel, overlap_comm,
                                 efficiency, memory_efficiency, launch_overhead,
                                 virtual_pipeline_stages)

"""A parallel training layout: validated sizes and where each communication group sits.

Sizes: ``tp`` (tensor), ``pp`` (pipeline), ``ep`` (expert) and dp = devices / (tp·pp·ep)
(data), all positive integers. Ranks are ordered tp (fastest), ep, dp, pp (slowest), the
Megatron-LM order with expert parallelism beside data parallelism (Narayanan et al. SC21, §3.3:
tensor parallelism inside a node, pipeline stages across nodes). The ep ranks of one
data-parallel slot hold different experts and see different tokens, so the dense weights are
replicated over dp·ep ranks (the *replicas*) and each expert over dp ranks; every replica
takes batch / (dp·ep) sequences per step, in ``m`` microbatches of ``b`` sequences.

Placement (issue 11 design): a group of ``size`` ranks whose faster-varying sizes multiply to
``inner`` has max(1, min(size, gpus_per_node // inner)) ranks in one node (a divisor of size);
a TP group sits inside a node when tp ≤ GPUs per node. Errors for shapes no step can have (one
line naming the parameter); :func:`layout_constraints` lists the shapes that can be costed but
not run (TP leaving the NVLink domain).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from ..constraints import Constraint
from . import inputs

RECOMPUTE_MODES = ("none", "selective", "full")
ZERO_STAGES = (0, 1, 2, 3)


@dataclass(frozen=True, slots=True)
class Layout:
    """A validated layout (see the module docstring). ``*_rpn``: ranks of that group per node;
    ``replica_rpn`` is for the dp·ep group of the dense weights."""

    devices: int
    gpus_per_node: int
    tp: int
    pp: int
    ep: int
    dp: int
    batch: int
    seq_len: int
    microbatches: int
    microbatch: int
    zero: int
    recompute: str
    sequence_parallel: bool
    overlap: float
    stage_layers: int
    tp_rpn: int
    ep_rpn: int
    dp_rpn: int
    replica_rpn: int
    pp_rpn: int
    virtual: int = 1  # model chunks per device (interleaved 1F1B)

    @property
    def replicas(self) -> int:
        """Ranks holding a copy of the dense weights (and seeing different data): dp·ep."""
        return self.dp * self.ep

    @property
    def model_parallel(self) -> int:
        return self.tp * self.pp * self.ep

    @property
    def tp_crosses_nodes(self) -> bool:
        return self.tp > self.gpus_per_node

    def key(self) -> tuple:
        return (self.devices, self.gpus_per_node, self.tp, self.pp, self.ep, self.batch,
                self.seq_len, self.microbatches, self.zero, self.recompute,
                self.sequence_parallel, self.overlap, self.virtual)


def ranks_per_node(size: int, inner: int, gpus_per_node: int) -> int:
    """Ranks of a group of ``size`` in one node when faster-varying groups take ``inner``
    consecutive ranks (a divisor of ``size``; 1 when ``inner`` fills a node)."""
    k = max(1, min(size, gpus_per_node // inner))
    return k if size % k == 0 else math.gcd(size, k)


def recompute_mode(value) -> str:
    if value is None or value is False:
        return "none"
    if value is True:
        return "full"
    if value not in RECOMPUTE_MODES:
        raise ValueError(f"activation_recomputation must be one of "
                         f"{', '.join(RECOMPUTE_MODES)}; got {inputs.shown(value)}")
    return value


def zero_stage(value) -> int:
    if isinstance(value, bool) or value not in ZERO_STAGES:
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3; got {inputs.shown(value)}")
    return int(value)


def overlap_fraction(value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value <= 1.0:
        raise ValueError(f"overlap_comm must be a fraction in [0, 1] (the share of data-"
                         f"parallel communication hidden under compute); got "
                         f"{inputs.shown(value)}")
    return float(value)


def make_layout(model, gpus_per_node: int, nodes: int, batch_size, seq_len: int, tp_size=1,
                pp_size=1, ep_size=1, microbatch_count=None, zero=0, recompute="none",
                sequence_parallel=None, overlap_comm=0.0, node_name: str = "the node",
                virtual_stages=1) -> Layout:
    """Validate a layout of ``model`` on ``nodes`` × ``gpus_per_node`` devices."""
    s = model.si
    tp = inputs.positive_int("tp_size", tp_size)
    pp = inputs.positive_int("pp_size", pp_size)
    v = inputs.positive_int("virtual_pipeline_stages", virtual_stages)
    if v > 1 and (pp == 1 or s.layers % (pp * v)):
        raise ValueError(f"virtual_pipeline_stages={v} needs pp_size > 1 and pp·v dividing "
                         f"{model.name}'s {s.layers} layers (pp_size={pp})")
    ep = inputs.positive_int("ep_size", ep_size)
    batch = inputs.positive_int("batch_size", batch_size)
    g = gpus_per_node
    devices = g * nodes
    if s.heads % tp:
        raise ValueError(f"tp_size={tp} must divide {model.name}'s {s.heads} attention heads")
    if tp <= g and g % tp:
        raise ValueError(f"tp_size={tp} must divide the {g} GPUs of {node_name} (a tensor-"
                         f"parallel group sits inside one node)")
    if tp > g and tp % g:
        raise ValueError(f"tp_size={tp} spans nodes of {g} GPUs and must be a multiple of {g}")
    if s.layers % pp:
        raise ValueError(f"pp_size={pp} must divide {model.name}'s {s.layers} layers")
    if ep > 1 and s.experts <= 1:
        raise ValueError(f"ep_size={ep} needs a mixture-of-experts model; {model.name} is "
                         "dense (use ep_size=1)")
    if s.experts > 1 and s.experts % ep:
        raise ValueError(f"ep_size={ep} must divide {model.name}'s {s.experts} experts")
    if devices % (tp * pp * ep):
        raise ValueError(f"tp_size·pp_size·ep_size = {tp * pp * ep} must divide the "
                         f"{devices:,} devices ({nodes:,} × {g})")
    dp = devices // (tp * pp * ep)
    replicas = dp * ep
    if batch % replicas:
        raise ValueError(f"batch_size={batch:,} must be a multiple of dp·ep = {replicas:,} "
                         f"(data-parallel replicas: {devices:,} devices / (tp {tp} · pp {pp}"
                         + (f" · ep {ep}" if ep > 1 else "") + "))")
    local = batch // replicas
    if microbatch_count is None:  # b = 1 under a pipeline (smallest bubble); else one pass
        m = local if pp > 1 else 1
    else:
        m = inputs.positive_int("microbatch_count", microbatch_count)
        if local % m:
            raise ValueError(f"microbatch_count={m} must divide each replica's {local:,} "
                             f"sequences (batch_size {batch:,} / dp·ep {replicas:,})")
    mode = recompute_mode(recompute)
    sp = tp > 1 if sequence_parallel is None else inputs.flag("sequence_parallel",
                                                              sequence_parallel)
    rpn = ranks_per_node
    return Layout(devices=devices, gpus_per_node=g, tp=tp, pp=pp, ep=ep, dp=dp, batch=batch,
                  seq_len=seq_len, microbatches=m, microbatch=local // m, zero=zero_stage(zero),
                  recompute=mode, sequence_parallel=sp, overlap=overlap_fraction(overlap_comm),
                  stage_layers=s.layers // pp, tp_rpn=min(tp, g), ep_rpn=rpn(ep, tp, g),
                  dp_rpn=rpn(dp, tp * ep, g), replica_rpn=rpn(replicas, tp, g),
                  pp_rpn=rpn(pp, tp * ep * dp, g), virtual=v)


def layout_constraints(lay: Layout, node_name: str, link_name: str) -> tuple[Constraint, ...]:
    """Shapes that can be costed but not run well: a TP group larger than the NVLink domain."""
    if not lay.tp_crosses_nodes:
        return ()
    return (Constraint("tensor-parallel group", lay.tp, lay.gpus_per_node, unit="GPUs",
                       detail=f"tp_size={lay.tp} leaves {node_name}'s {link_name} domain of "
                              f"{lay.gpus_per_node} GPUs, so every layer's all-reduces cross "
                              "the inter-node fabric (timed so, as if it were allowed)"),)

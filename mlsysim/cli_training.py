"""``mlsysim train``: one training step of a model across a fleet (DistributedModel), or the
fastest parallel layout (ParallelismOptimizer, ``--search``).

    mlsysim train GPT3 --fleet A100_Cluster_1024 --tp 8 --pp 8 --batch-size 1536
    mlsysim train Llama3_70B --gpus 256 --gpu H100 --tp 8 --pp 4 --zero 1 --recompute full
    mlsysim train Llama3_8B --gpus 64 --gpu H100 --search --json

``--gpus N --gpu NAME`` builds a fleet of N / (GPUs per node) catalog nodes hosting that GPU,
joined by ``--fabric`` (default: the fabric of the catalog's cluster of that node).
"""

from __future__ import annotations

from .cli_serving import unit_interval

RECOMPUTE = ("none", "selective", "full")


def add_parser(sub, positive_int, fraction, precisions) -> None:
    tr = sub.add_parser("train", help="step time, throughput, MFU and memory of training "
                                      "across a fleet (3D parallelism)")
    tr.add_argument("model", help="a transformer in the catalog, e.g. GPT3")
    where = tr.add_mutually_exclusive_group(required=True)
    where.add_argument("--fleet", help="a fleet or node in the catalog, e.g. A100_Cluster_1024")
    where.add_argument("--gpus", type=positive_int, help="build a fleet of this many GPUs")
    tr.add_argument("--gpu", default=None, help="with --gpus: the accelerator, e.g. H100")
    tr.add_argument("--fabric", default=None,
                    help="with --gpus: the inter-node fabric, e.g. InfiniBand_NDR")
    tr.add_argument("--batch-size", type=positive_int, default=None,
                    help="global batch in sequences (default: 2 per device)")
    tr.add_argument("--seq-len", type=positive_int, default=None)
    tr.add_argument("--precision", default="bf16", choices=precisions)
    tr.add_argument("--tp", type=positive_int, default=1, help="tensor-parallel size")
    tr.add_argument("--pp", type=positive_int, default=1, help="pipeline-parallel size")
    tr.add_argument("--ep", type=positive_int, default=1, help="expert-parallel size (MoE)")
    tr.add_argument("--zero", type=int, default=0, help="ZeRO stage 0-3")
    tr.add_argument("--microbatches", type=positive_int, default=None,
                    help="microbatches per replica and step")
    tr.add_argument("--virtual-stages", type=positive_int, default=1,
                    help="interleaved 1F1B: model chunks per device")
    tr.add_argument("--recompute", choices=RECOMPUTE, default="none",
                    help="activation recomputation")
    tr.add_argument("--overlap", type=unit_interval, default=0.0,
                    help="fraction of data-parallel communication hidden under compute")
    tr.add_argument("--search", action="store_true",
                    help="search tp × pp × microbatches × ZeRO × recomputation instead "
                         "(ParallelismOptimizer; --tp/--pp/--zero/--recompute are ignored)")
    tr.add_argument("--top", type=positive_int, default=5, help="with --search: rows shown")
    tr.add_argument("--json", action="store_true", help="machine-readable output")


def fleet_of(args):
    """The fleet named by ``--fleet``, or built from ``--gpus`` and ``--gpu``."""
    from .catalog import Hardware, Systems

    if args.fleet is not None:
        for flag, value in (("--gpu", args.gpu), ("--fabric", args.fabric)):
            if value is not None:
                raise ValueError(f"{flag} applies with --gpus, not with --fleet")
        return Systems.get(args.fleet)
    if args.gpu is None:
        raise ValueError("--gpus needs --gpu (e.g. --gpu H100)")
    hw = Hardware.get(args.gpu)
    nodes = [n for n in Systems.Nodes if n.accelerator.key == hw.key]
    if not nodes:
        hosts = sorted({n.accelerator.key for n in Systems.Nodes})
        raise ValueError(f"no catalog node hosts {hw.name}; nodes exist for: "
                         f"{', '.join(hosts)}")
    node = nodes[0]
    if args.gpus % node.count:
        raise ValueError(f"--gpus {args.gpus} must be a multiple of {node.name}'s "
                         f"{node.count} GPUs")
    count = args.gpus // node.count
    fabric = args.fabric
    if fabric is None:
        clusters = [f for f in Systems.Fleets if f.node.key == node.key]
        if count > 1 and not clusters:
            raise ValueError(f"no catalog cluster of {node.name} to take a fabric from: give "
                             "--fabric (e.g. InfiniBand_NDR)")
        fabric = clusters[0].fabric if clusters else None
    if count == 1 and fabric is None:
        return node
    from .fleet import Fleet
    return Fleet(node, count, fabric)


def solve(args):
    from .solvers.distributed import DistributedModel
    from .solvers.parallelism_optimizer import ParallelismOptimizer

    fleet = fleet_of(args)
    devices = fleet.count * (fleet.node.count if hasattr(fleet, "node") else 1)
    batch = args.batch_size if args.batch_size is not None else 2 * devices
    if args.search:
        return ParallelismOptimizer().solve(
            args.model, fleet, batch_size=batch, seq_len=args.seq_len,
            precision=args.precision, ep_size=args.ep, overlap_comm=args.overlap,
            top_k=args.top)
    return DistributedModel().solve(
        args.model, fleet, batch_size=batch, seq_len=args.seq_len, precision=args.precision,
        tp_size=args.tp, pp_size=args.pp, ep_size=args.ep,
        microbatch_count=args.microbatches, zero_stage=args.zero,
        activation_recomputation=args.recompute, overlap_comm=args.overlap,
        virtual_pipeline_stages=args.virtual_stages)


def output(args) -> str:
    """What ``mlsysim train`` prints (text, or JSON with ``--json``)."""
    from .render import dumps, render

    result = solve(args)
    return dumps(result.to_dict()) if args.json else render(result, "text")

"""Operators of one step of a per-sample network (CNN, ViT, keyword spotter, DLRM).

With a per-layer table (``catalog/layers``), each layer is one operator: a convolution or
matmul is a GEMM whose rows are its output pixels (or tokens) times the batch; pooling, residual
adds, concatenations and norms are element-wise; embedding lookups gather only the rows the
batch uses. Weights are read once per step and shared by the batch; every layer reads its
inputs and writes its output once (DESIGN.md §4). A network without a table (a user spec) is
costed as ``layers`` equal GEMMs carrying its totals.

Training: forward, backward at twice the forward's FLOPs and bytes, an optimizer update of the
mixed-precision Adam state (16 B/parameter held, as for transformers).
"""

from __future__ import annotations

from ..catalog.layers import layer_table
from ..vocabulary import OpKind, Phase, WorkUnit
from .inputs import WorkloadArgs
from .ops_transformer import ADAM_BYTES_READ, ADAM_BYTES_WRITTEN, ADAM_FLOPS, ADAM_STATE_BYTES
from .plan import OperatorList, OperatorPlan

_KINDS = {"conv": OpKind.GEMM, "linear": OpKind.GEMM, "matmul": OpKind.GEMM,
          "embedding": OpKind.GATHER}


def sample_plan(args: WorkloadArgs, grid_shape=()) -> OperatorPlan:
    """The operators of one step of a per-sample network (see the module docstring)."""
    m, p = args.model, args.precision
    s = m.si
    a, w = p.activation_bytes, p.weight_bytes
    batch = args.batch * 1.0
    training = args.phase == Phase.TRAINING
    layers = []  # (name, kind, flops, bytes, rows, weight_bytes)
    table = layer_table(m.key)
    if table is not None:
        for op in table:
            kind = _KINDS.get(op.kind, OpKind.ELEMENTWISE)
            # embedding rows are looked up per sample; other weights are read once per step
            read = batch * op.weights * w if kind == OpKind.GATHER else op.weights * w
            layers.append((op.name, kind, 2.0 * op.macs * batch,
                           read + batch * (op.inputs + op.outputs) * a, batch * op.rows, read))
    else:
        per = 1.0 / s.layers
        read = s.streamed_params * w * per
        layers.append(("layer", OpKind.GEMM, s.flops_per_sample * batch * per,
                       read + batch * 2.0 * s.activation_bytes_fp16 / 2.0 * a * per, batch,
                       read))
    ops = OperatorList()
    repeat = s.layers if table is None else 1
    passes = [("", 1.0)] + ([(".backward", 2.0)] if training else [])
    for suffix, scale in passes:
        for name, kind, flops, nbytes, rows, read in layers:
            ops.add(name + suffix, kind, repeat, scale * flops, scale * nbytes, rows=rows,
                    weight_bytes=read)
    if table is None and s.bytes_per_sample:
        ops.add("embedding", OpKind.GATHER, 1, 0.0, batch * s.bytes_per_sample * w / 2.0)
    if training:
        ops.add("optimizer", OpKind.ELEMENTWISE, 1, ADAM_FLOPS * s.params,
                (ADAM_BYTES_READ + ADAM_BYTES_WRITTEN) * s.params)
    footprint = {"weights": s.params * w, "kv_cache": 0.0,
                 "activations": batch * (s.activation_bytes_fp16 if training
                                         else s.peak_activation_bytes_fp16) * a / 2.0,
                 "optimizer": s.params * max(ADAM_STATE_BYTES - w, 0.0) if training else 0.0}
    return OperatorPlan.build(ops, grid_shape, phase=args.phase, unit=WorkUnit.SAMPLE,
                              units=batch, footprint=footprint, precision=p)

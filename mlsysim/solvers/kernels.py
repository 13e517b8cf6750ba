"""Single kernels through the engine: a GEMM, a fused attention, an all-reduce, a copy.

These are the microbenchmarks the device classes are calibrated on (cuBLAS GEMM sweeps,
FlashAttention benchmarks, nccl-tests), so the engine can be held against them point by point
(reference/efficiency.qmd, ``mlsysim.validation``). Each builds a one-operator plan and runs it
through the same combinator as a model step.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..vocabulary import BYTES_PER_ELEMENT, OpKind, Phase, WorkUnit
from .evaluate import device_rates, evaluate
from .inputs import efficiencies, positive_int, precisions, resolve_hardware
from .plan import OperatorList, OperatorPlan


@dataclass(frozen=True, slots=True)
class KernelTime:
    """One kernel: its time (s) and the rates it achieves."""

    name: str
    seconds: float
    flops: float
    bytes: float
    bound: str

    @property
    def flops_per_second(self) -> float:
        return self.flops / self.seconds

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.seconds


def _run(ops: OperatorList, rates, prec) -> KernelTime:
    plan = OperatorPlan.build(ops, phase=Phase.INFERENCE, unit=WorkUnit.SAMPLE, units=1.0,
                              footprint={"weights": 0.0}, precision=prec)
    t = evaluate(plan, rates)
    bound = max(t.shares, key=t.shares.get)
    return KernelTime(plan.names[0], float(t.latency), plan.total_flops, plan.total_bytes,
                      bound)


def _output_bytes(precision: str) -> float:
    """GEMMs write 16-bit results from 8/4-bit inputs (cuBLASLt's usual fp8 setting)."""
    return max(BYTES_PER_ELEMENT[precision], 2.0)


def gemm_time(hardware, m: int, n: int, k: int, precision: str = "fp16",
              efficiency=None, memory_efficiency=None, launch_overhead=None) -> KernelTime:
    """C[m×n] = A[m×k]·B[k×n] at ``precision``: 2mnk FLOPs, each operand read once."""
    hw = resolve_hardware(hardware)
    m, n, k = (positive_int(name, v) for name, v in (("m", m), ("n", n), ("k", k)))
    prec = precisions(precision)
    rates = device_rates(hw, prec, efficiencies(efficiency, memory_efficiency,
                                                launch_overhead))
    b = BYTES_PER_ELEMENT[precision]
    ops = OperatorList()
    ops.add(f"gemm {m}x{n}x{k}", OpKind.GEMM, 1, 2.0 * m * n * k,
            (m * k + k * n) * b + m * n * _output_bytes(precision), rows=float(min(m, n)))
    return _run(ops, rates, prec)


def attention_time(hardware, batch: int, heads: int, seq_len: int, head_dim: int,
                   causal: bool = False, precision: str = "fp16") -> KernelTime:
    """A fused attention forward (FlashAttention): 4·b·h·s²·d FLOPs (half if causal), counted
    as the FlashAttention papers count them; Q, K, V read and O written once."""
    hw = resolve_hardware(hardware)
    b, h, s, d = (positive_int(name, v) for name, v in (
        ("batch", batch), ("heads", heads), ("seq_len", seq_len), ("head_dim", head_dim)))
    prec = precisions(precision)
    rates = device_rates(hw, prec, efficiencies())
    flops = 4.0 * b * h * s * s * d / (2.0 if causal else 1.0)
    ops = OperatorList()
    ops.add("attention", OpKind.ATTENTION, 1, flops,
            4.0 * b * s * h * d * BYTES_PER_ELEMENT[precision], rows=float(s))
    return _run(ops, rates, prec)


def allreduce_time(system, message_bytes: float, devices: int | None = None,
                   precision: str = "fp16") -> KernelTime:
    """An all-reduce of ``message_bytes`` over ``devices`` GPUs of a node (all by default)."""
    from .dispatch import resolve_node

    node = resolve_node(system)
    n = node.count if devices is None else positive_int("devices", devices)
    if n > node.count:
        raise ValueError(f"devices={n} exceeds the {node.count} accelerators of {node.name}")
    if not message_bytes > 0:
        raise ValueError(f"message_bytes must be positive, got {message_bytes!r}")
    prec = precisions(precision)
    rates = device_rates(node.accelerator, prec, efficiencies(), node=node)
    ops = OperatorList()
    ops.add("allreduce", OpKind.COLLECTIVE, 1, 0.0, 0.0, message=float(message_bytes),
            group=n)
    return _run(ops, rates, prec)


def copy_time(hardware, nbytes: float) -> KernelTime:
    """A streaming copy moving ``nbytes`` in total (read + write), as STREAM counts it."""
    hw = resolve_hardware(hardware)
    prec = precisions("fp16")
    rates = device_rates(hw, prec, efficiencies())
    ops = OperatorList()
    ops.add("copy", OpKind.ELEMENTWISE, 1, 0.0, float(nbytes))
    return _run(ops, rates, prec)

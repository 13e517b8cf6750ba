"""Checkpoint size, write time and overhead: :class:`CheckpointModel`.

Size: the weights and optimizer state of the whole model from the training-memory breakdown
(:func:`mlsysim.solvers.training_memory.memory_breakdown` at tp = pp = dp = 1, ZeRO 0: the
sum of every shard) — 14 B per parameter for mixed-precision Adam (2 B bf16 weights + 12 B
fp32 master copy and moments; ZeRO §3.1); gradients and activations are not saved. Write
time: size / storage bandwidth (a catalog storage system's sustained figure, or a bandwidth).
Overhead: δ/(τ + δ) for a checkpoint after every τ of compute (τ given, or Young's √(2·δ·M)
when an MTBF is given).
"""

from __future__ import annotations

from ..catalog.reliability import StorageSpec, storage_system
from ..physics.reliability import young_interval
from ..results_reliability import CheckpointResult
from . import inputs
from .training_memory import TRAINING_PRECISIONS, memory_breakdown


def _bandwidth(storage) -> tuple[str, float]:
    """(label, B/s) of a catalog storage system (sustained) or a bandwidth."""
    if isinstance(storage, StorageSpec):
        return f"{storage.name}, sustained", storage.sustained_bandwidth
    if isinstance(storage, str):
        from ..catalog.reliability import storage_systems
        if storage in storage_systems():
            spec = storage_system(storage)
            return f"{spec.name}, sustained", spec.sustained_bandwidth
        if not storage[:1].isdigit():
            storage_system(storage)  # unknown name: "did you mean"
    bw = inputs.seconds("storage", storage, unit="B/s", example="'2 TB/s' or 'Llama3_Tectonic'")
    return "given bandwidth", bw


class CheckpointModel:
    """Size, write time and overhead of a training checkpoint (see the module docstring)."""

    def solve(self, model, storage="Llama3_Tectonic", interval=None, mtbf=None,
              precision="bf16", optimizer="adam") -> CheckpointResult:
        if precision not in TRAINING_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(TRAINING_PRECISIONS)}; "
                             f"got {inputs.shown(precision)}")
        b = memory_breakdown(model, precision=precision, optimizer=optimizer, seq_len=None)
        spec = inputs.resolve_model(model)
        label, bw = _bandwidth(storage)
        size = b.weights + b.optimizer
        write = size / bw
        if interval is not None and mtbf is not None:
            raise ValueError("give interval or mtbf (for the Young–Daly interval), not both")
        if interval is not None:
            tau, source = inputs.seconds("interval", interval, example="'1 h'"), "given"
        elif mtbf is not None:
            m = inputs.seconds("mtbf", mtbf, example="'3 h'")
            tau, source = young_interval(write, m), "Young–Daly √(2δM)"
        else:
            tau, source = None, ""
        return CheckpointResult(model=spec.name, precision=precision, optimizer=optimizer,
                                weights_bytes=b.weights, optimizer_bytes=b.optimizer,
                                storage=label, bandwidth_Bps=bw, write_s=write,
                                interval_s=tau, interval_source=source)

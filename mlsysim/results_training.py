"""Result data of the distributed training solvers (no HTML here; rendering is mlsysim.render's).

A configuration that does not fit has its step time and breakdown *as if it fit* (labelled so
in every display) and no throughput: ``tokens_per_sec``, ``achieved_flops_per_device``,
``mfu``, ``hfu``, ``scaling_efficiency`` and ``time_to_train`` are None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real

from .results import Rendered
from .units import Q_

#: the step's parts, in the order they are shown; they sum to the step time
PARTS = ("compute", "tp_communication", "pp_communication", "ep_communication",
         "dp_communication", "optimizer", "pipeline_bubble")
_LABELS = {"compute": "Compute (stage kernels)", "tp_communication": "TP communication",
           "pp_communication": "PP communication", "ep_communication": "EP communication",
           "dp_communication": "DP communication (exposed)", "optimizer": "Optimizer step",
           "pipeline_bubble": "Pipeline bubble"}


@dataclass(frozen=True)
class DistributedResult(Rendered):
    """One training step of a model across a fleet (``DistributedModel.solve``).

    Times in seconds inside (``step_s``, ``parts_s``), Quantities through the properties.
    ``memory`` is ``physics.training_memory.MemoryBreakdown`` (bytes per device of the
    busiest pipeline stage)."""

    model: str
    fleet: str
    accelerator: str
    precision: str
    devices: int
    gpus_per_node: int
    tp: int
    pp: int
    ep: int
    dp: int
    batch_size: int
    seq_len: int
    microbatch_count: int
    microbatch_size: int
    zero_stage: int
    recompute: str
    sequence_parallel: bool
    overlap_comm: float
    feasible: bool
    constraint_trace: tuple
    step_s: float
    parts_s: tuple[tuple[str, float], ...]
    microbatch_s: float
    dp_free_step_s: float
    slowest_stage: str
    model_flops: float  # per step, whole fleet, without recomputation
    hardware_flops_per_device: float  # per step, executed (recomputation included)
    peak_flops: float  # dense, per device, at the compute precision
    memory: object
    capacity_bytes: float
    notes: tuple[str, ...] = field(default=())
    virtual_stages: int = 1  # interleaved 1F1B: model chunks per device

    # -- the step --------------------------------------------------------------------------
    def _part(self, name: str):
        return Q_(dict(self.parts_s)[name], "s")

    @property
    def step_latency_total(self):
        """Time of one training step (as if it fit, when it does not)."""
        return Q_(self.step_s, "s")

    @property
    def breakdown(self) -> dict:
        """The step's parts (Quantities in s); they sum to ``step_latency_total``."""
        return {k: Q_(v, "s") for k, v in self.parts_s}

    @property
    def compute_latency(self):
        return self._part("compute")

    @property
    def dp_communication_latency(self):
        return self._part("dp_communication")

    @property
    def tp_communication_latency(self):
        return self._part("tp_communication")

    @property
    def pp_communication_latency(self):
        return self._part("pp_communication")

    @property
    def ep_communication_latency(self):
        return self._part("ep_communication")

    @property
    def optimizer_latency(self):
        return self._part("optimizer")

    @property
    def pipeline_bubble_latency(self):
        return self._part("pipeline_bubble")

    @property
    def bubble_fraction(self) -> float:
        """(p − 1)/(m + p − 1): the share of the 1F1B pipeline's time that is bubble
        ((p − 1)/(v·m + p − 1) with v interleaved chunks per device)."""
        p, m, v = self.pp, self.microbatch_count, self.virtual_stages
        return (p - 1) / (v * m + p - 1)

    # -- throughput (None when it does not fit) ----------------------------------------------
    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.seq_len

    @property
    def tokens_per_sec(self):
        """Global batch × seq_len / step time (every token once)."""
        return Q_(self.tokens_per_step / self.step_s, "token/s") if self.feasible else None

    @property
    def achieved_flops_per_device(self):
        """Model FLOPs per step / step / devices."""
        if not self.feasible:
            return None
        return Q_(self.model_flops / self.step_s / self.devices, "flop/s")

    @property
    def mfu(self) -> float | None:
        """Model FLOPs utilisation: model FLOPs (no recomputation) / (step · devices · peak)."""
        if not self.feasible:
            return None
        return self.model_flops / (self.step_s * self.devices * self.peak_flops)

    @property
    def hfu(self) -> float | None:
        """Hardware FLOPs utilisation: executed FLOPs (recomputation included) of the busiest
        stage / (step · peak)."""
        if not self.feasible:
            return None
        return self.hardware_flops_per_device / (self.step_s * self.peak_flops)

    @property
    def scaling_efficiency(self) -> float | None:
        """Per-device throughput relative to the same configuration with data-parallel
        communication free: (step − exposed DP communication) / step."""
        return self.dp_free_step_s / self.step_s if self.feasible else None

    def time_to_train(self, tokens):
        """Time to train on ``tokens`` tokens at this throughput (a number, or a Quantity or
        string in tokens); None when the configuration does not fit."""
        n = _tokens(tokens)
        if not self.feasible:
            return None
        return Q_(n / (self.tokens_per_step / self.step_s), "s").to("day")

    # -- memory ------------------------------------------------------------------------------
    @property
    def memory_per_device(self):
        """Bytes per device of the busiest stage: weights, gradients, optimizer, activations
        (``physics.training_memory.MemoryBreakdown``; ``.total``)."""
        return self.memory

    @property
    def memory_required(self):
        return Q_(self.memory.total, "B")

    @property
    def memory_usable(self):
        return Q_(self.capacity_bytes, "B")

    # -- rendering ---------------------------------------------------------------------------
    def _title(self) -> str:
        shape = f"tp {self.tp} × pp {self.pp}" + (f" × ep {self.ep}" if self.ep > 1 else "") \
            + f" × dp {self.dp}"
        return (f"{self.model} training on {self.fleet} ({self.devices:,} × {self.accelerator}):"
                f" {shape}, batch {self.batch_size:,} × {self.seq_len:,} tokens, "
                f"{self.precision}")

    def _rows(self) -> list[tuple[str, object]]:
        rows = [("Step time", self.step_latency_total),
                ("Microbatches × size", f"{self.microbatch_count} × {self.microbatch_size}"),
                ("Pipeline bubble fraction", f"{self.bubble_fraction:.1%}"),
                ("ZeRO stage", self.zero_stage), ("Recomputation", self.recompute),
                ("Sequence parallel", "yes" if self.sequence_parallel else "no")]
        if self.feasible:
            rows += [("Throughput", self.tokens_per_sec),
                     ("Model FLOP/s per device", self.achieved_flops_per_device),
                     ("MFU", f"{self.mfu:.1%}"), ("HFU", f"{self.hfu:.1%}"),
                     ("Scaling efficiency", f"{self.scaling_efficiency:.1%}")]
        rows += [("Memory per device", self.memory_required),
                 ("Memory usable", self.memory_usable)]
        return rows

    def _tables(self) -> tuple:
        from .render import TableData
        step = TableData(("Part", "Time", "Share"),
                         tuple((_LABELS[k], Q_(v, "s"), f"{v / self.step_s:.1%}")
                               for k, v in self.parts_s if v > 0),
                         caption="Where the step goes"
                         + ("" if self.feasible else " (as if it fit)"))
        mem = self.memory.as_dict()
        total = self.memory.total
        rows = [(k, Q_(v, "B"), f"{v / total:.1%}") for k, v in mem.items()]
        rows.append(("total", Q_(total, "B"), "100.0%"))
        memory = TableData(("Memory per device", "Bytes", "Share"), tuple(rows),
                           caption="Memory of the busiest stage, per device",
                           highlight=frozenset({len(mem)}) if total > self.capacity_bytes
                           else frozenset())
        return (step, memory)

    def _notes(self) -> tuple[str, ...]:
        return self.notes

    def _infeasible_note(self) -> str:
        return "step times are as if it fit; no throughput is given for it"

    def _fields(self) -> dict:
        return {
            "model": self.model, "fleet": self.fleet, "accelerator": self.accelerator,
            "precision": self.precision, "devices": self.devices, "tp": self.tp,
            "pp": self.pp, "ep": self.ep, "dp": self.dp, "batch_size": self.batch_size,
            "seq_len": self.seq_len, "microbatch_count": self.microbatch_count,
            "microbatch_size": self.microbatch_size, "zero_stage": self.zero_stage,
            "virtual_pipeline_stages": self.virtual_stages,
            "recompute": self.recompute, "sequence_parallel": self.sequence_parallel,
            "overlap_comm": self.overlap_comm, "feasible": self.feasible,
            "constraint_trace": [getattr(c, "to_dict", lambda c=c: str(c))()
                                 for c in self.constraint_trace],
            "step_latency_total": self.step_latency_total,
            "breakdown": self.breakdown, "bubble_fraction": self.bubble_fraction,
            "tokens_per_sec": self.tokens_per_sec,
            "achieved_flops_per_device": self.achieved_flops_per_device,
            "mfu": self.mfu, "hfu": self.hfu, "scaling_efficiency": self.scaling_efficiency,
            "memory_per_device": {k: Q_(v, "B") for k, v in self.memory.as_dict().items()},
            "memory_required": self.memory_required, "memory_usable": self.memory_usable,
        }


def _tokens(tokens) -> float:
    """A token count ≥ 0: a number, or a Quantity / string in tokens ('300e9 token')."""
    if isinstance(tokens, bool):
        raise ValueError(f"tokens must be a number of tokens ≥ 0, got {tokens!r}")
    if isinstance(tokens, Real):
        value = float(tokens)
    else:
        from .units import checked
        value = float(checked(tokens, "token", "tokens", allow_zero=True).to("token").magnitude)
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"tokens must be a finite number of tokens ≥ 0, got {tokens!r}")
    return value


@dataclass(frozen=True)
class ParallelismSearchResult(Rendered):
    """The fastest feasible layouts of a training step (``ParallelismOptimizer.solve``):
    ``top`` (DistributedResult, fastest first), how many configurations were searched and
    ``failures`` (kind → count) for those refused."""

    model: str
    fleet: str
    devices: int
    batch_size: int
    seq_len: int
    precision: str
    configurations: int
    feasible_count: int
    failures: tuple[tuple[str, int], ...]
    top: tuple
    search_seconds: float
    timed_count: int = 0  # layouts fully timed (the rest were bounded out)

    @property
    def best(self) -> DistributedResult | None:
        """The fastest feasible configuration (None when nothing fits)."""
        return self.top[0] if self.top else None

    @property
    def feasible(self) -> bool:
        return bool(self.top)

    @property
    def constraint_trace(self) -> tuple[str, ...]:
        if self.top:
            return ()
        why = "; ".join(f"{k}: {v:,}" for k, v in self.failures) or "no configuration"
        return (f"no configuration of the {self.configurations:,} searched fits ({why})",)

    def _title(self) -> str:
        return (f"Parallel layouts of {self.model} on {self.fleet} ({self.devices:,} devices):"
                f" batch {self.batch_size:,} × {self.seq_len:,} tokens, {self.precision}")

    def _rows(self) -> list[tuple[str, object]]:
        rows = [("Configurations searched", self.configurations),
                ("Fit in memory", self.feasible_count),
                ("Timed (the rest bounded out)", self.timed_count),
                ("Search time", Q_(self.search_seconds, "s"))]
        if self.best is not None:
            b = self.best
            rows += [("Best", _layout(b)), ("Best step time", b.step_latency_total),
                     ("Best throughput", b.tokens_per_sec), ("Best MFU", f"{b.mfu:.1%}")]
        return rows

    def _tables(self) -> tuple:
        from .render import TableData
        top = TableData(("Rank", "tp", "pp", "dp", "m × b", "ZeRO", "Recompute", "Step",
                         "Throughput", "MFU", "Memory"),
                        tuple((i + 1, r.tp, r.pp, r.dp,
                               f"{r.microbatch_count} × {r.microbatch_size}", r.zero_stage,
                               r.recompute, r.step_latency_total, r.tokens_per_sec,
                               f"{r.mfu:.1%}", r.memory_required)
                              for i, r in enumerate(self.top)),
                        caption="Fastest feasible configurations")
        why = TableData(("Refused", "Count"), tuple(self.failures),
                        caption="Why the rest were refused")
        return (top, why) if self.failures else (top,)

    def _infeasible_note(self) -> str:
        return "nothing fits: no configuration is timed"

    def _fields(self) -> dict:
        return {"model": self.model, "fleet": self.fleet, "devices": self.devices,
                "batch_size": self.batch_size, "seq_len": self.seq_len,
                "precision": self.precision, "configurations": self.configurations,
                "feasible_count": self.feasible_count, "timed_count": self.timed_count,
                "failures": dict(self.failures),
                "search_seconds": self.search_seconds,
                "top": [r.to_dict() for r in self.top]}


def _layout(r: DistributedResult) -> str:
    ep = f", ep {r.ep}" if r.ep > 1 else ""
    return (f"tp {r.tp}, pp {r.pp}{ep}, dp {r.dp}, {r.microbatch_count} × {r.microbatch_size} "
            f"microbatches, ZeRO-{r.zero_stage}, recompute {r.recompute}")

"""Result data of :class:`~mlsysim.solvers.scaling.ScalingModel`; no HTML here.

Floats inside (FLOP, parameters, tokens, seconds); pint Quantities through the properties.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .formatting import format_time, sig
from .results import Rendered
from .units import Q_

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def big(x: float, unit: str = "") -> str:
    """A large count in scientific notation: 3.15e23 → '3.15 × 10²³ FLOP'."""
    if x == 0 or not math.isfinite(x) or 1e-3 <= abs(x) < 1e6:
        text = sig(x)
    else:
        exponent = math.floor(math.log10(abs(x)))
        mantissa = x / 10 ** exponent
        if float(f"{mantissa:.3g}") >= 10:
            mantissa, exponent = mantissa / 10, exponent + 1
        text = f"{mantissa:.3g} × 10{str(exponent).translate(_SUPERSCRIPT)}"
    return f"{text} {unit}".rstrip()


@dataclass(frozen=True, slots=True)
class FleetRate:
    """Where the useful FLOP/s of a fleet come from: devices × dense peak × MFU."""

    name: str
    accelerator: str
    devices: int
    peak_flops: float  # dense FLOP/s per device at ``precision``
    precision: str
    mfu: float
    mfu_source: str  # "argument" or what produced it (DistributedModel)

    @property
    def flops_per_second(self) -> float:
        return self.devices * self.peak_flops * self.mfu

    def rows(self) -> list[tuple[str, object]]:
        fleet = self.name if self.name.startswith(f"{self.devices:,} ×") else \
            f"{self.name} ({self.devices:,} × {self.accelerator})"
        return [("Fleet", fleet),
                ("Peak per device", Q_(self.peak_flops, "flop/s")),
                ("Precision", self.precision),
                ("MFU", f"{self.mfu:.1%} ({self.mfu_source})"),
                ("Useful rate", Q_(self.flops_per_second, "flop/s"))]

    def to_dict(self) -> dict:
        return {"fleet": self.name, "accelerator": self.accelerator, "devices": self.devices,
                "peak_flops": Q_(self.peak_flops, "flop/s"), "precision": self.precision,
                "mfu": self.mfu, "mfu_source": self.mfu_source,
                "useful_flops_per_second": Q_(self.flops_per_second, "flop/s")}


@dataclass(frozen=True, slots=True)
class ComputeOptimalResult(Rendered):
    """The compute-optimal model size and data for a FLOP budget (Hoffmann et al. 2022):
    C = 6·N·D at D/N = ``tokens_per_param``. ``fleet`` and ``duration_s`` are set when the
    budget came from a fleet (devices × peak × MFU × duration)."""

    budget_flops: float
    params_opt: float
    tokens_opt: float
    tokens_per_param: float
    loss_fit: float  # Hoffmann et al. §3.3 printed fit at (N*, D*): illustrative
    fleet: FleetRate | None = None
    duration_s: float | None = None
    feasible: bool = True
    constraint_trace: tuple = ()

    @property
    def budget(self):
        return Q_(self.budget_flops, "flop")

    @property
    def params(self):
        return Q_(self.params_opt, "param")

    @property
    def tokens(self):
        return Q_(self.tokens_opt, "token")

    @property
    def duration(self):
        return None if self.duration_s is None else Q_(self.duration_s, "s").to("day")

    def _title(self) -> str:
        return f"Compute-optimal allocation of {big(self.budget_flops, 'FLOP')}"

    def _rows(self) -> list[tuple[str, object]]:
        return [("Budget C", big(self.budget_flops, "FLOP")),
                ("Parameters N*", self.params),
                ("Tokens D*", big(self.tokens_opt, "tokens")),
                ("Tokens per parameter", sig(self.tokens_per_param))]

    def _tables(self) -> tuple:
        from .render import TableData
        tables = [TableData(("Quantity", "Value", "How"), (
            ("Budget C", big(self.budget_flops, "FLOP"),
             "devices × peak × MFU × duration" if self.fleet else "given"),
            ("Parameters N*", self.params, f"√(C / (6 × {sig(self.tokens_per_param)}))"),
            ("Tokens D*", big(self.tokens_opt, "tokens"),
             f"{sig(self.tokens_per_param)} × N*"),
            ("Check 6·N*·D*", big(6 * self.params_opt * self.tokens_opt, "FLOP"), "= C")),
            caption="Compute-optimal parameters and tokens (Hoffmann et al. 2022)")]
        if self.fleet is not None:
            rows = (*self.fleet.rows(), ("Duration", format_time(self.duration_s)))
            tables.append(TableData(("Fleet", "Value"), rows, caption="Where the budget "
                                    "comes from"))
        return tuple(tables)

    def _notes(self) -> tuple[str, ...]:
        return ("C ≈ 6·N·D training FLOPs (Kaplan et al. 2020 §2.1); compute-optimal D/N ≈ 20 "
                "(Hoffmann et al. 2022, Table 3 and Chinchilla's 70B on 1.4T tokens).",
                f"Hoffmann et al.'s printed parametric fit (§3.3) gives a loss of "
                f"{self.loss_fit:.3f} nats/token here; its constants are rounded "
                "(Besiroglu et al. 2024): an illustration, not used to place the optimum.")

    def _fields(self) -> dict:
        return {"budget": self.budget, "params": self.params, "tokens": self.tokens,
                "tokens_per_param": self.tokens_per_param, "loss_fit": self.loss_fit,
                "fleet": None if self.fleet is None else self.fleet.to_dict(),
                "duration": self.duration}


@dataclass(frozen=True, slots=True)
class TrainingTimeResult(Rendered):
    """Time to train N parameters on D tokens on a fleet at an MFU:
    k·N·D / (devices · peak · MFU), k = ``flops_per_param_token`` (6; 8 counts a full
    recomputation forward as Megatron-LM's 8·T·P/(n·X) does)."""

    params_count: float
    tokens_count: float
    flops_per_param_token: float
    fleet: FleetRate
    seconds: float
    feasible: bool = True
    constraint_trace: tuple = ()

    @property
    def training_flops(self):
        return Q_(self.flops_per_param_token * self.params_count * self.tokens_count, "flop")

    @property
    def time(self):
        return Q_(self.seconds, "s").to("day")

    @property
    def days(self) -> float:
        return self.seconds / 86400.0

    @property
    def tokens_per_param(self) -> float:
        return self.tokens_count / self.params_count

    @property
    def device_hours(self) -> float:
        return self.seconds / 3600.0 * self.fleet.devices

    def _title(self) -> str:
        return (f"Time to train {sig(self.params_count / 1e9)}B parameters on "
                f"{big(self.tokens_count, 'tokens')} on {self.fleet.name}")

    def _rows(self) -> list[tuple[str, object]]:
        return [("Time to train", format_time(self.seconds)),
                ("Training compute", big(self.training_flops.magnitude, "FLOP")),
                ("Device-hours", big(self.device_hours)),
                ("Tokens per parameter", f"{sig(self.tokens_per_param)} (compute-optimal ≈ 20)")]

    def _tables(self) -> tuple:
        from .render import TableData
        k = sig(self.flops_per_param_token)
        rows = (("Parameters N", Q_(self.params_count, "param")),
                ("Tokens D", big(self.tokens_count, "tokens")),
                (f"Training compute {k}·N·D", big(self.training_flops.magnitude, "FLOP")),
                *self.fleet.rows(),
                ("Time = compute / useful rate", format_time(self.seconds)))
        return (TableData(("Quantity", "Value"), rows, caption="Time to train"),)

    def _notes(self) -> tuple[str, ...]:
        return (f"Throughput from an MFU ({self.fleet.mfu_source}); no step-time model is "
                "re-derived here.",)

    def _fields(self) -> dict:
        return {"params": Q_(self.params_count, "param"),
                "tokens": Q_(self.tokens_count, "token"),
                "flops_per_param_token": self.flops_per_param_token,
                "training_flops": self.training_flops, "time": self.time,
                "device_hours": self.device_hours, "fleet": self.fleet.to_dict()}

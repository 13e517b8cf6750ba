"""Failures and goodput of a training job: :class:`ReliabilityModel`.

``fleet_mtbf(fleet)`` adds the sourced per-GPU and per-server failure rates of a catalog
failure set (default ``"Llama3_405B"``: Dubey et al. 2024 §3.3.4 Table 5, 419 unexpected
interruptions in 54 days on 16,384 H100) over the fleet's GPUs and servers. ``solve(fleet,
duration, checkpoint_time, ...)`` adds the Young–Daly checkpoint interval √(2·δ·M) and the
expected wall time, goodput and lost time of a run (Daly 2006); formulas in
:mod:`mlsysim.physics.reliability`. Servers are counted at the failure set's density (8 GPUs
per server for Llama 3) unless ``gpus_per_server`` says otherwise.
"""

from __future__ import annotations

import functools
from numbers import Integral

from ..catalog.reliability import FailureSet, failure_set
from ..formatting import format_bytes, format_time
from ..physics import reliability as phys
from ..results_reliability import CheckpointResult, ReliabilityResult
from ..specs.hardware import HardwareSpec
from ..specs.system import FleetSpec, NodeSpec
from ..units import Q_
from . import inputs

#: restart cost when none is given (detect, reschedule, reload): an assumption, stated in the
#: result; no published figure for the Llama 3 run was found
DEFAULT_RESTART = "10 min"


def gpu_count(fleet) -> tuple[str, int]:
    """(name, accelerators) of a fleet, a node, a catalog system name or a GPU count."""
    if isinstance(fleet, bool):
        raise TypeError("fleet must be a fleet, a node, a catalog name or a number of GPUs, "
                        "got a bool")
    if isinstance(fleet, Integral):
        n = inputs.positive_int("fleet (number of GPUs)", fleet)
        return f"{n:,} GPUs", n
    if isinstance(fleet, str):
        from ..catalog import Systems
        fleet = Systems.get(fleet)
    if isinstance(fleet, FleetSpec):
        return fleet.name, fleet.accelerators
    if isinstance(fleet, NodeSpec):
        return fleet.name, fleet.count
    if isinstance(fleet, HardwareSpec):
        return fleet.name, 1
    raise TypeError(f"fleet must be a fleet (e.g. mlsysim.Systems.H100_Cluster_1024), a node, a "
                    f"catalog name or a number of GPUs, got {type(fleet).__name__}")


def _time(name: str, value, allow_zero: bool = False) -> float:
    if isinstance(value, str):  # strings are parsed once (pint parsing is ~100 µs)
        return _parsed(name, value, allow_zero)
    return inputs.seconds(name, value, allow_zero=allow_zero, example="'30 min'")


@functools.lru_cache(maxsize=512)
def _parsed(name: str, value: str, allow_zero: bool) -> float:
    return inputs.seconds(name, value, allow_zero=allow_zero, example="'30 min'")


class ReliabilityModel:
    """Fleet MTBF from sourced failure rates, expected failures, the Young–Daly interval and
    goodput (see the module docstring)."""

    def _rate(self, fleet, failures, gpus_per_server):
        fs: FailureSet = failure_set(failures)
        name, gpus = gpu_count(fleet)
        density = fs.gpus_per_server if gpus_per_server is None else \
            inputs.positive_int("gpus_per_server", gpus_per_server)
        servers = gpus / density
        return fs, name, gpus, servers, fs.failure_rate(gpus, servers)

    def fleet_mtbf(self, fleet, failures="Llama3_405B", gpus_per_server=None):
        """Mean time between failures of the whole fleet (hours): 1 / Σ λ_i·n_i."""
        *_, rate = self._rate(fleet, failures, gpus_per_server)
        return Q_(phys.mtbf(rate), "s").to("hour")

    def solve(self, fleet, duration, checkpoint_time, restart_time=DEFAULT_RESTART,
              interval=None, failures="Llama3_405B", gpus_per_server=None
              ) -> ReliabilityResult:
        """A run of ``duration`` of useful compute (a time, or a ScalingModel
        ``training_time`` result) on ``fleet`` checkpointing for
        ``checkpoint_time`` (a time, or a CheckpointModel result) every ``interval`` of compute
        (default: Young–Daly √(2·δ·M)); each failure costs ``restart_time`` plus the work
        since the last checkpoint."""
        fs, name, gpus, servers, rate = self._rate(fleet, failures, gpus_per_server)
        from ..results_scaling import TrainingTimeResult
        work = duration.seconds if isinstance(duration, TrainingTimeResult) else \
            _time("duration", duration)
        if isinstance(checkpoint_time, CheckpointResult):
            c = checkpoint_time
            delta, ckpt_note = c.write_s, (
                f"Checkpoint: {format_bytes(c.size_bytes)} of {c.model} at "
                f"{format_bytes(c.bandwidth_Bps)}/s ({c.storage}).")
        else:
            delta, ckpt_note = _time("checkpoint_time", checkpoint_time), ""
        restart = _time("restart_time", restart_time, allow_zero=True)
        m = phys.mtbf(rate)
        young = phys.young_interval(delta, m)
        if interval is None:
            tau, source = young, "Young–Daly √(2δM)"
        else:
            tau, source = _time("interval", interval), "given"
        run = phys.run_time(work, tau, delta, m, restart)
        notes = [f"Servers counted at {gpus / servers:g} GPUs each; GPU causes per GPU, host "
                 "causes per server, network and software causes per GPU (an assumption).",
                 "Failures are independent and exponential; every failure restarts the whole "
                 "synchronous job from its last checkpoint (Daly 2006)."]
        if restart_time is DEFAULT_RESTART:
            notes.append(f"Restart time {DEFAULT_RESTART} is an assumption (give "
                         "restart_time=).")
        if ckpt_note:
            notes.append(ckpt_note)
        trace = ()
        if delta >= m:
            trace = (f"checkpoint_time {format_time(delta)} ≥ fleet MTBF {format_time(m)}: "
                     "most checkpoints are interrupted before they finish",)
        cats = tuple(sorted(fs.rates_by_category(gpus, servers).items(), key=lambda kv: -kv[1]))
        return ReliabilityResult(
            fleet=name, gpus=gpus, servers=servers, failure_set=fs.key, citation=fs.citation,
            failure_rate=rate, by_category=cats, work_s=work, checkpoint_s=delta,
            restart_s=restart, interval_s=tau, interval_source=source, young_s=young,
            daly_s=phys.daly_interval(delta, m), exact_s=phys.exact_optimal_interval(delta, m),
            run=run, notes=tuple(notes), feasible=not trace, constraint_trace=trace)

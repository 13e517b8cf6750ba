"""``SustainabilityModel``: energy, carbon and water of a job on a fleet in a region.

A job is a system (a device, a node or a fleet: a spec or a catalog name), a device count and a
duration — given, or ``training.time_to_train(tokens)`` of a ``DistributedModel`` result (no
step time is re-derived here). Power per device follows the stated linear model of
:mod:`mlsysim.physics.sustainability` (``idle + (TDP - idle) * utilisation``) unless a measured
average ``device_power`` is given; hosts add the node's ``host_power``; the region's grid
(``mlsysim.Infra``) supplies PUE, carbon intensity and WUE, each overridable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from ..errors import UnknownNameError
from ..physics import sustainability as phys
from ..specs.grid import GridSpec
from ..specs.hardware import HardwareSpec
from ..specs.system import FleetSpec, NodeSpec
from .inputs import positive_int, shown
from .inputs import seconds as to_seconds

#: Idle draw as a fraction of TDP when ``utilization`` < 1. A stated assumption, not a sourced
#: constant: an H100 or A100 idles at tens of watts with a CUDA context, 5-15 % of TDP.
IDLE_FRACTION = 0.1
DEFAULT_REGION = "World_Average"


@dataclass(frozen=True)
class Job:
    """A resolved job: what runs, on how many devices and nodes, for how long."""

    label: str
    hardware: HardwareSpec
    node: NodeSpec | None
    devices: int
    devices_per_node: int
    seconds: float
    duration_from: str
    tokens: float | None = None

    @property
    def nodes(self) -> int:
        return math.ceil(self.devices / self.devices_per_node)


def _system(system, training):
    from ..catalog import Hardware, Systems
    if system is None:
        if training is None:
            raise ValueError("give a system (a device, node or fleet, e.g. 'H100' or "
                             "'H100_Cluster_1024') or training=<DistributedModel result>")
        if training.fleet in Systems:
            return Systems.get(training.fleet)
        return Hardware.get(training.accelerator)
    if isinstance(system, (HardwareSpec, NodeSpec, FleetSpec)):
        return system
    if isinstance(system, str):
        if system in Systems:
            return Systems.get(system)
        if system in Hardware:
            return Hardware.get(system)
        raise UnknownNameError("system or device", system,
                               [*Systems.names(True), *Hardware.names(True)])
    raise TypeError(f"system must be a device, node or fleet spec or a catalog name, got "
                    f"{type(system).__name__}")


def resolve_job(system=None, duration=None, *, training=None, tokens=None,
                devices=None) -> Job:
    """The job's system, device count and duration, checked (one-line errors)."""
    spec = _system(system, training)
    if isinstance(spec, FleetSpec):
        hw, node, size = spec.node.accelerator, spec.node, spec.accelerators
    elif isinstance(spec, NodeSpec):
        hw, node, size = spec.accelerator, spec, spec.count
    else:
        hw, node, size = spec, None, 1
    if training is not None:
        size = training.devices
        if system is not None and _norm(hw.name) != _norm(training.accelerator):
            raise ValueError(f"system {label_of(spec)!r} has {hw.name} but the training result "
                             f"ran on {training.accelerator}; leave system out or match it")
    n = size if devices is None else positive_int("devices", devices)
    if training is not None and devices is not None and n != training.devices:
        raise ValueError(f"devices={n} but the training result runs on {training.devices} "
                         "devices; leave devices out")
    count = None
    if tokens is not None:
        if isinstance(tokens, Real) and not isinstance(tokens, bool):
            if not tokens > 0 or not math.isfinite(tokens):
                raise ValueError(f"tokens must be a positive number of tokens, got "
                                 f"{shown(tokens)}")
            count = float(tokens)
        else:
            count = quantity("tokens", tokens, "token", "'300 Gtoken'", allow_zero=False)
    if duration is not None:
        if training is not None:
            raise ValueError("give duration or training (with tokens), not both")
        secs, src = to_seconds("duration", duration, example="'14.8 day'"), "given"
    elif training is not None:
        if count is None:
            raise ValueError("training needs tokens=<tokens to train on> to give a duration "
                             "(time_to_train), e.g. tokens=300e9")
        t = training.time_to_train(count)
        if t is None:
            raise ValueError("the training configuration does not fit (feasible=False): "
                             "it has no time to train")
        secs, src = float(t.to("s").magnitude), "DistributedModel time_to_train"
    else:
        raise ValueError("give duration (e.g. '14.8 day') or training=<DistributedModel "
                         "result> with tokens=")
    per_node = node.count if node is not None else n
    return Job(label_of(spec), hw, node, n, per_node, secs, src, count)


def label_of(spec) -> str:
    return getattr(spec, "key", None) or spec.name


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve_region(region) -> GridSpec:
    """A grid spec, or a registry name ('France'); unknown → 'did you mean'."""
    if isinstance(region, GridSpec):
        return region
    if isinstance(region, str):
        from ..catalog import Infra
        return Infra.get(region)
    raise TypeError(f"region must be a grid name such as 'France' or a GridSpec, got "
                    f"{type(region).__name__}")


def unit_fraction(name: str, value, *, open_top: bool = False) -> float:
    """A number in [0, 1] (or [0, 1) with ``open_top``)."""
    hi = "1)" if open_top else "1]"
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number in [0, {hi}, got {shown(value)}")
    if not 0.0 <= value <= 1.0 or (open_top and value == 1.0):
        raise ValueError(f"{name} must be in [0, {hi}, got {shown(value)}")
    return float(value)


def pue_of(grid: GridSpec, pue) -> float:
    if pue is None:
        return float(grid.pue)
    if isinstance(pue, bool) or not isinstance(pue, Real) or not math.isfinite(pue):
        raise ValueError(f"pue must be a number ≥ 1 (facility energy / IT energy), got "
                         f"{shown(pue)}")
    if not 1.0 <= pue <= 3.0:
        raise ValueError(f"pue must be in [1, 3] (facility energy / IT energy; 1 is a "
                         f"facility with no overhead), got {shown(pue)}")
    return float(pue)


def quantity(name: str, value, unit: str, example: str, allow_zero: bool = True) -> float:
    """A Quantity or string in ``unit`` as a float (bare numbers refused)."""
    return to_seconds(name, value, allow_zero=allow_zero, unit=unit, example=example)


@dataclass(frozen=True)
class Power:
    device_w: float
    host_w: float  # per node
    it_w: float
    model: str
    notes: tuple[str, ...]


def power_of(job: Job, utilization, idle_fraction, device_power, host_power) -> Power:
    """IT power of the job (devices + hosts) by the stated model; notes say what was used."""
    notes = []
    tdp = float(job.hardware.tdp.to("W").magnitude)
    if device_power is not None:
        dev = quantity("device_power", device_power, "W", "'330 W'", allow_zero=False)
        model = f"measured average {dev:g} W per device (given)"
        if utilization != 1.0:
            notes.append("utilization is not used when device_power is given")
    else:
        u = unit_fraction("utilization", utilization)
        f = unit_fraction("idle_fraction", idle_fraction, open_top=True)
        dev = phys.device_power(tdp, u, f)
        model = (f"idle + (TDP − idle)·u = {f:g}·{tdp:g} W + (1 − {f:g})·{tdp:g} W·{u:g} "
                 f"= {dev:g} W")
        if u < 1 and idle_fraction == IDLE_FRACTION:
            notes.append(f"idle power {IDLE_FRACTION:.0%} of TDP is a stated assumption "
                         "(pass idle_fraction)")
    if host_power is not None:
        host = quantity("host_power", host_power, "W", "'4.6 kW'")
    elif job.node is not None and job.node.host_power is not None:
        host = float(job.node.host_power.to("W").magnitude)
        notes.append(f"host power {host / 1e3:g} kW per node from the catalog "
                     f"({job.node.name}); an upper bound where derived from maximum input")
    else:
        host = 0.0
        notes.append("no host power counted (a bare device, or a node without host_power): "
                     "pass host_power per node")
    it = phys.it_power(dev, job.devices, host, job.nodes)
    return Power(dev, host, it, model, tuple(notes))


class SustainabilityModel:
    """Energy (kWh), operational and embodied emissions (t CO2e) and water (L) of a job."""

    def solve(self, system=None, duration=None, *, region=DEFAULT_REGION, training=None,
              tokens=None, devices=None, utilization=1.0, idle_fraction=IDLE_FRACTION,
              device_power=None, host_power=None, pue=None, carbon_intensity=None, wue=None,
              embodied_per_device=None, device_lifetime="5 year"):
        """Energy and emissions of ``system`` running for ``duration`` in ``region``.

        ``training`` + ``tokens``: the duration is ``training.time_to_train(tokens)``.
        ``utilization`` (0-1) feeds the linear power model; ``device_power`` replaces it by a
        measured average. ``pue``, ``carbon_intensity`` ('57 g/kWh') and ``wue`` override the
        grid's. ``embodied_per_device`` ('318 kg', Chien et al. 2023 for an A100's share of a
        cloud server) is amortised over ``device_lifetime``; without it embodied carbon is
        omitted (no per-device figure is in the catalog)."""
        from ..results_sustainability import SustainabilityResult
        job = resolve_job(system, duration, training=training, tokens=tokens, devices=devices)
        grid = resolve_region(region)
        p = pue_of(grid, pue)
        ci = (float(grid.carbon_intensity.to("g/kWh").magnitude) if carbon_intensity is None
              else quantity("carbon_intensity", carbon_intensity, "g/kWh", "'57 g/kWh'"))
        w = (None if wue is None and grid.wue is None else
             float(grid.wue.to("L/kWh").magnitude) if wue is None
             else quantity("wue", wue, "L/kWh", "'1.8 L/kWh'"))
        power = power_of(job, utilization, idle_fraction, device_power, host_power)
        it_j = power.it_w * job.seconds
        fac_j = phys.facility_energy(it_j, p)
        notes = list(power.notes)
        if w is None:
            notes.append(f"no sourced WUE for {grid.key or grid.name}: water not estimated "
                         "(pass wue)")
        embodied = None
        if embodied_per_device is not None:
            kg = quantity("embodied_per_device", embodied_per_device, "kg", "'318 kg'")
            life = to_seconds("device_lifetime", device_lifetime, example="'5 year'")
            embodied = phys.embodied_share(kg, job.devices, job.seconds, life)
        else:
            notes.append("embodied carbon omitted: pass embodied_per_device (e.g. '318 kg' "
                         "per A100, Chien et al. HotCarbon 2023)")
        return SustainabilityResult(
            system=job.label, hardware=job.hardware.name, region=grid.key or grid.name,
            region_name=grid.name, devices=job.devices, nodes=job.nodes, seconds=job.seconds,
            duration_from=job.duration_from, power_model=power.model,
            device_w=power.device_w, host_w=power.host_w, it_w=power.it_w, pue=p,
            intensity_g_per_kwh=ci, wue_l_per_kwh=w, it_energy_j=it_j,
            facility_energy_j=fac_j,
            operational_kg=phys.operational_emissions(fac_j, ci),
            water_l=None if w is None else phys.water_use(it_j, w),
            embodied_kg=embodied, tokens=job.tokens, notes=tuple(notes))


#: metric of a validation_energy case → (result attribute, unit of the comparison)
ENERGY_METRICS = {"energy": ("energy", "kWh"), "emissions": ("emissions", "t")}


def grade_energy_cases() -> list[dict]:
    """Every case of ``catalog/validation_energy.yaml`` solved by :class:`SustainabilityModel`:
    id, metric, measured, predicted, relative error, tolerance and whether it is within it."""
    from ..catalog.loader import CATALOG_DIR, read_yaml
    from ..units import Q_
    out = []
    for case_id, case in read_yaml(CATALOG_DIR / "validation_energy.yaml").items():
        attr, unit = ENERGY_METRICS[case["metric"]]
        result = SustainabilityModel().solve(**case["scenario"])
        predicted = float(getattr(result, attr).to(unit).magnitude)
        measured = float(Q_(case["measured"]).to(unit).magnitude)
        error = predicted / measured - 1
        out.append({"case": case_id, "metric": case["metric"], "unit": unit,
                    "measured": measured, "predicted": predicted, "error": error,
                    "tolerance": float(case["tolerance"]),
                    "within": abs(error) <= float(case["tolerance"])})
    return out

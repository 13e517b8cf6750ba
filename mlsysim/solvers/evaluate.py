"""Hardware rates for each operator of a plan, and the call into the one combinator.

:class:`DeviceRates` holds every hardware number the cost model reads (SI floats): peaks, memory
bandwidth, the device class's efficiency curves, the kernel launch cost, the link and its
collective algorithms. :func:`evaluate` turns a plan and rates into step times through
``physics.combine.combine``; the scalar solve, the sweep, sensitivity (which perturbs the rates
and re-evaluates the same plan), tensor parallelism and weight streaming all go through it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..physics.collectives import allreduce_time
from ..physics.combine import StepTimes, combine
from ..physics.efficiency import saturating
from ..vocabulary import OpKind
from .inputs import Efficiencies, Precisions, peak_for
from .plan import OperatorPlan


@dataclass(frozen=True, slots=True)
class DeviceRates:
    """Every hardware number the cost model uses for one step (SI floats)."""

    gemm_peak: float  # FLOP/s at the compute precision (dense)
    attention_peak: float  # FLOP/s at the attention's precision
    vector_peak: float  # FLOP/s of the vector units (norms, activations)
    bandwidth: float  # B/s of device memory
    eta_memory: float
    gemm_ceiling: float
    half_rows: float
    attention_ceiling: float
    half_context: float
    vector_efficiency: float
    kv_bandwidth: float  # fraction of achievable bandwidth while streaming the KV cache
    dequantization: float  # fraction for weight-only quantised GEMMs (1 when not quantised)
    launch: float  # s per kernel
    link_bandwidth: float = 0.0  # B/s per device per direction (collectives)
    link_lines: tuple = ()  # (algorithm, step latency s, efficiency) per collective line
    transfer_bandwidth: float = 0.0  # B/s of a transfer link (weight injection, host copy)
    latency_scale: float = 1.0  # multiplies the fixed latencies of transfers (sensitivity)
    flat: bool = False  # an efficiency override: every kernel at gemm_ceiling, no curves

    def scaled(self, **factors) -> DeviceRates:
        """A copy with fields multiplied: ``rates.scaled(bandwidth=1.01)``. ``peak`` scales
        every FLOP/s; ``link_latency`` every collective step latency."""
        changes = {}
        for name, factor in factors.items():
            if name == "peak":
                for f in ("gemm_peak", "attention_peak", "vector_peak"):
                    changes[f] = getattr(self, f) * factor
            elif name == "link_latency":
                changes["link_lines"] = tuple((alg, lat * factor, eff)
                                              for alg, lat, eff in self.link_lines)
                changes["latency_scale"] = self.latency_scale * factor
            else:
                changes[name] = getattr(self, name) * factor
        return dataclasses.replace(self, **changes)

    @property
    def achievable_bandwidth(self) -> float:
        return self.bandwidth * self.eta_memory


def vector_peak_of(hw) -> float:
    """FLOP/s of the vector units: the fp32 peak, else the slowest listed precision."""
    flops = hw.si.flops
    return flops.get("fp32") or min(flops.values())


def device_rates(hw, precision: Precisions, effs: Efficiencies, node=None,
                 link_class=None) -> DeviceRates:
    """Rates of ``hw`` for a step at ``precision``; ``node`` adds its intra-node link."""
    si = hw.si
    cal = hw.device_class
    csi = cal.si
    gemm_peak = peak_for(hw, precision.compute)
    attention_peak = si.flops.get(precision.activations) or gemm_peak
    flat = effs.compute is not None
    scale = hw.efficiency.compute_scale
    dequant = 1.0
    if precision.weight_only_quantised:
        dequant = csi.dequantization.get(precision.weights)
        if dequant is None:  # never free by default: a format with no measurement is refused
            known = ", ".join(csi.dequantization) or "none"
            raise ValueError(f"weight_precision={precision.weights!r}: no measured "
                             f"dequantisation cost for weight-only {precision.weights} on "
                             f"{hw.name} (its device class measures: {known})")
    link_bw, lines = 0.0, ()
    if node is not None and node.intra_link is not None:
        link_bw, lines = node.intra_link.si
        if link_class is not None:
            lines = link_class.si_lines
    return DeviceRates(
        gemm_peak=gemm_peak, attention_peak=attention_peak, vector_peak=vector_peak_of(hw),
        bandwidth=si.mem_bandwidth,
        eta_memory=si.eta_memory if effs.memory is None else effs.memory,
        gemm_ceiling=effs.compute if flat else cal.gemm_ceiling(precision.compute) * scale,
        half_rows=csi.half_rows, attention_ceiling=csi.attention_ceiling * scale,
        half_context=csi.half_context, vector_efficiency=csi.vector_efficiency,
        kv_bandwidth=csi.kv_bandwidth, dequantization=dequant,
        launch=csi.kernel_launch if effs.launch is None else effs.launch,
        link_bandwidth=link_bw, link_lines=lines, flat=flat)


def _column(x: np.ndarray, ndim: int) -> np.ndarray:
    """A per-operator 1-D array shaped to broadcast against (n, *grid)."""
    return x.reshape(x.shape + (1,) * (ndim - 1)) if ndim > 1 else x


def evaluate(plan: OperatorPlan, rates: DeviceRates, overlap: float = 0.0) -> StepTimes:
    """Step times of ``plan`` on ``rates`` (see the module docstring).

    Per operator: compute rate = peak[its peak kind] · ceiling · rows / (rows + rows½) — for a
    GEMM at least the vector units' rate, since a skinny product can run as a GEMV (flat at
    the override when ``rates.flat``); memory rate = achievable bandwidth × the fraction its
    stream reaches (dequantising weights, streaming the KV cache)."""
    ndim = plan.flops.ndim
    code = plan.peak_code
    peak = np.array((rates.gemm_peak, rates.attention_peak, rates.vector_peak, 1.0))[code]
    if rates.flat:
        ceiling = np.array((rates.gemm_ceiling,) * 3 + (1.0,))[code]
        compute_rate = _column(peak * ceiling, ndim)
    else:
        ceiling = np.array((rates.gemm_ceiling, rates.attention_ceiling,
                            rates.vector_efficiency, 1.0))[code]
        half = _column(np.array((rates.half_rows, rates.half_context, 0.0, 0.0))[code], ndim)
        rows = plan.rows
        compute_rate = _column(peak * ceiling, ndim) * saturating(rows, half)
        # a GEMM with few rows can run as a vector kernel (GEMV) instead of padding
        # tensor-core tiles: a library takes the faster of the two
        vector = rates.vector_peak * rates.vector_efficiency
        compute_rate = np.maximum(compute_rate, _column(np.where(code == 0, vector, 0.0), ndim))
    if rates.flat:
        memory_rate = rates.achievable_bandwidth
    else:
        factor = np.array((1.0, rates.dequantization, rates.kv_bandwidth))[plan.memory_code]
        memory_rate = _column(rates.achievable_bandwidth * factor, ndim)
    t_link = _link_times(plan, rates) if plan.has_link else 0.0
    launch = _column(rates.launch * plan.kernel, ndim)
    return combine(plan.count, plan.flops, plan.bytes, compute_rate, memory_rate, t_link,
                   launch, overlap)


def _link_times(plan: OperatorPlan, rates: DeviceRates):
    """α–β time of each collective or transfer operator (zero for kernels)."""
    out = None
    seen = {}  # (message, devices) → time, for the scalar plan's repeated collectives
    for i in plan.link_operators:
        kind = plan.kinds[i]
        if kind == OpKind.COLLECTIVE:
            if rates.link_bandwidth <= 0:
                raise ValueError(f"operator {plan.names[i]!r} is a collective but the "
                                 "hardware has no link to run it over")
            message, group = plan.message[i], int(plan.groups[i])
            key = (float(message), group) if message.ndim == 0 else None
            t = seen.get(key) if key else None
            if t is None:
                t = allreduce_time(message, group, rates.link_bandwidth, rates.link_lines)
                if key:
                    seen[key] = t
        else:  # a transfer
            t = plan.latency[i] * rates.latency_scale
            if np.any(plan.message[i] > 0):
                if rates.transfer_bandwidth <= 0:
                    raise ValueError(f"operator {plan.names[i]!r} is a transfer but the "
                                     "hardware has no link to run it over")
                t = t + plan.message[i] / rates.transfer_bandwidth
        if out is None:
            out = np.zeros(plan.flops.shape)
        out[i] = t
    return 0.0 if out is None else out

"""The one combinator of the per-operator cost model (DESIGN.md §4), for floats and numpy arrays.

A step is a list of operators (kernels). Operator i, run ``count[i]`` times per step, takes

    t_i = max(FLOPs_i / R_c,i , bytes_i / R_m,i) + t_link,i + launch_i

where R_c = peak[precision] · η_c(kind, shape) and R_m = bandwidth · η_m are the rates the
caller worked out for that operator, t_link is the α–β time of a collective or transfer (zero
for kernels that stay on the device) and launch is its fixed start-up cost. Kernels run one after
the other, so the step is the sum. The only overlap is the one a solver states: a fraction
``overlap`` of the link time hides under the device time (weight streaming injects the next
layer's weights while this one computes: overlap = 1; a tensor-parallel step that does not
overlap its all-reduces: overlap = 0).

Operator arrays have the operators on axis 0; any further axes are a grid of scenarios (the
vectorised sweep), so every grid point is computed by exactly the arithmetic of a scalar solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COMPUTE, MEMORY, COMMUNICATION, OVERHEAD = "Compute", "Memory", "Communication", "Overhead"
RESOURCES = (COMPUTE, MEMORY, COMMUNICATION, OVERHEAD)


@dataclass(frozen=True, slots=True)
class StepTimes:
    """Per-operator times (arrays, operators on axis 0) and the step totals (seconds).

    ``compute``, ``memory``, ``communication`` and ``overhead`` split the step by the resource
    that bound each operator; they sum to ``latency`` (``communication`` is net of the hidden
    part). ``compute_bill`` and ``memory_bill`` are the step's two bills: every operator's
    compute time, and every operator's memory time, summed. Totals are floats for a scalar step
    and arrays over the grid for a sweep."""

    t_compute: np.ndarray  # per operator, one instance
    t_memory: np.ndarray
    t_link: np.ndarray
    t_launch: np.ndarray
    t_operator: np.ndarray  # one instance: max(t_compute, t_memory) + t_link + t_launch
    count: np.ndarray
    latency: object
    compute: object
    memory: object
    communication: object
    overhead: object
    hidden: object  # link time hidden under device time by the stated overlap
    compute_bill: object
    memory_bill: object

    @property
    def shares(self) -> dict[str, object]:
        return {COMPUTE: self.compute, MEMORY: self.memory,
                COMMUNICATION: self.communication, OVERHEAD: self.overhead}


def weighted_sum(per_op: np.ndarray, count: np.ndarray):
    """Σ count·x over the operator axis (axis 0), added in operator order — the same
    additions for a scalar step and for every point of a grid, so a sweep equals the scalar
    solves exactly. Works on (n,) → float, (k, n) → k floats, (n, *grid) → grid array."""
    if per_op.ndim == 1:
        return float(np.cumsum(count * per_op)[-1])
    acc = np.zeros(per_op.shape[1:])
    for i, c in enumerate(count.tolist()):
        acc += c * per_op[i]
    return acc


def _row_sums(rows: np.ndarray, count: np.ndarray) -> list[float]:
    """Σ count·x for each row of a (k, n) array, in operator order (cumulative sums are
    sequential, like :func:`weighted_sum`)."""
    return np.cumsum(rows * count, axis=1)[:, -1].tolist()


def combine(count, flops, bytes_moved, compute_rate, memory_rate, t_link=0.0, launch=0.0,
            overlap: float = 0.0) -> StepTimes:
    """Evaluate a step (see the module docstring). Arrays broadcast against ``flops``;
    ``count`` is 1-D over the operators."""
    count = np.asarray(count, dtype=float)
    t_c = np.asarray(flops, dtype=float) / compute_rate
    t_m = np.asarray(bytes_moved, dtype=float) / memory_rate
    t_link = np.asarray(t_link, dtype=float)
    t_launch = np.asarray(launch, dtype=float)
    device = np.maximum(t_c, t_m)
    t_op = device + t_link + t_launch
    compute_bound = t_c >= t_m
    bound_c = np.where(compute_bound, device, 0.0)
    bound_m = np.where(compute_bound, 0.0, device)
    if t_c.ndim == 1:
        rows = np.empty((6, t_c.shape[0]))  # filled by broadcasting: faster than np.stack
        rows[0], rows[1], rows[2], rows[3], rows[4], rows[5] = (bound_c, bound_m, t_link,
                                                                t_launch, t_c, t_m)
        compute, memory, link, overhead, c_bill, m_bill = _row_sums(rows, count)
    else:
        compute, memory = weighted_sum(bound_c, count), weighted_sum(bound_m, count)
        link = weighted_sum(np.broadcast_to(t_link, t_c.shape), count)
        overhead = weighted_sum(np.broadcast_to(t_launch, t_c.shape), count)
        c_bill, m_bill = weighted_sum(t_c, count), weighted_sum(t_m, count)
    hidden = np.minimum(overlap * link, compute + memory) if overlap else link * 0.0
    communication = link - hidden
    latency = compute + memory + communication + overhead
    return StepTimes(t_compute=t_c, t_memory=t_m, t_link=t_link, t_launch=t_launch,
                     t_operator=t_op, count=count, latency=latency, compute=compute,
                     memory=memory, communication=communication, overhead=overhead,
                     hidden=hidden, compute_bill=c_bill, memory_bill=m_bill)


def bottleneck_of(compute, memory, communication, overhead):
    """The resource with the largest share of the step (ties: compute, memory, communication,
    overhead). Works elementwise on arrays (returns a str array)."""
    if np.ndim(compute) == 0:
        shares = (compute, memory, communication, overhead)
        return RESOURCES[max(range(4), key=lambda i: (shares[i], -i))]
    stacked = np.stack(np.broadcast_arrays(compute, memory, communication, overhead))
    return np.asarray(RESOURCES)[np.argmax(stacked, axis=0)]


def operator_bound(t_compute, t_memory, t_link, t_launch) -> np.ndarray:
    """Which resource binds each operator: the largest of its four time terms."""
    stacked = np.stack(np.broadcast_arrays(t_compute, t_memory, t_link, t_launch))
    return np.asarray(RESOURCES)[np.argmax(stacked, axis=0)]

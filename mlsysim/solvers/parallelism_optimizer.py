"""Search tensor × pipeline × data parallelism × microbatches × ZeRO × recomputation for the
fastest training step that fits (``ParallelismOptimizer().solve(model, fleet, batch_size, ...)``).

The grid: tp over the divisors of the node's GPU count (a TP group inside the NVLink domain),
pp over the divisors of the layer count, dp = devices / (tp·pp·ep), microbatch sizes b over the
powers of two dividing each replica's batch (and the whole replica batch), ZeRO 0–3 and
recomputation none / selective / full (ZeRO ≥ 1 is skipped when there is no data-parallel
group to shard over). A configuration is refused, and counted by kind, when tp does not divide
the attention heads, tp·pp·ep does not divide the devices, the global batch does not split
over the dp·ep replicas, or the busiest stage's memory exceeds a device's usable memory; the
rest are timed by ``DistributedModel``'s step (the one cost model) and ranked by throughput
(global batch / step: the fastest step), ties to less memory. A stage's times are evaluated
once and reused across ZeRO stages (its plan depends only on tp, layers per stage, b and the
recomputation); they bound each step from below ((m + p − 1) × the stage's kernels and TP
all-reduces), and layouts are timed in order of that bound until it exceeds the k-th fastest
step found (branch and bound: the top k are exact, the rest need not be timed).
"""

from __future__ import annotations

import time

from ..results_training import ParallelismSearchResult
from . import inputs
from .distributed import prepare, solve_layout, step_lower_bound, training_memory_of
from .distributed_layout import RECOMPUTE_MODES, ZERO_STAGES, make_layout, overlap_fraction

MAX_CONFIGURATIONS = 2000
#: failure kinds, in the order they are checked
#: (the first three count (tp, pp) pairs, memory counts whole configurations)
HEADS, DEVICES, BATCH, MEMORY = ("(tp, pp) pairs: tp does not divide the heads",
                                 "(tp, pp) pairs: tp·pp·ep does not divide the devices",
                                 "(tp, pp) pairs: the batch does not split over dp·ep",
                                 "configurations: memory exceeds a device's usable memory")


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def _microbatch_sizes(local: int) -> list[int]:
    sizes, b = [], 1
    while b <= local:
        if local % b == 0:
            sizes.append(b)
        b *= 2
    if local not in sizes:
        sizes.append(local)
    return sizes


def _choices(name: str, values, allowed) -> tuple:
    values = tuple(values)
    if not values or any(v not in allowed for v in values):
        raise ValueError(f"{name} must be a non-empty selection of {', '.join(map(str, allowed))}"
                         f"; got {inputs.shown(values)}")
    return values


def solve_parallelism(model, fleet, batch_size, seq_len=None, precision="bf16", ep_size=1,
                      zero_stages=ZERO_STAGES, recomputation=RECOMPUTE_MODES, overlap_comm=0.0,
                      top_k=5, max_configurations=MAX_CONFIGURATIONS, efficiency=None,
                      memory_efficiency=None, launch_overhead=None) -> ParallelismSearchResult:
    """The search (see the module docstring)."""
    start = time.perf_counter()
    model, node, nodes, fleet_spec, _, prec = prepare(
        model, fleet, batch_size, seq_len, precision, 1, 1, ep_size, None, 0, "none", None,
        overlap_comm, layout=False)
    batch = inputs.positive_int("batch_size", batch_size)
    ep = inputs.positive_int("ep_size", ep_size)
    if ep > 1 and (model.si.experts <= 1 or model.si.experts % ep):
        raise ValueError(f"ep_size={ep} must divide the experts of a mixture-of-experts "
                         f"model; {model.name} has {model.si.experts}")
    overlap_fraction(overlap_comm)
    zeros = _choices("zero_stages", zero_stages, ZERO_STAGES)
    modes = _choices("recomputation", recomputation, RECOMPUTE_MODES)
    top_k = inputs.positive_int("top_k", top_k)
    limit = inputs.positive_int("max_configurations", max_configurations)
    effs = inputs.efficiencies(efficiency, memory_efficiency, launch_overhead)
    s, g = model.si, node.count
    devices = g * nodes
    seq = inputs.context_for(model, seq_len)
    label = fleet_spec.name if fleet_spec is not None else node.name
    capacity = node.accelerator.si.mem_capacity

    grid, failures = [], {}
    for tp in _divisors(g):
        for pp in _divisors(s.layers):
            if s.heads % tp:
                failures[HEADS] = failures.get(HEADS, 0) + 1
                continue
            if devices % (tp * pp * ep):
                failures[DEVICES] = failures.get(DEVICES, 0) + 1
                continue
            replicas = devices // (tp * pp * ep) * ep
            if batch % replicas:
                failures[BATCH] = failures.get(BATCH, 0) + 1
                continue
            local = batch // replicas
            dp = replicas // ep
            for b in _microbatch_sizes(local):
                for zero in (zeros if dp > 1 else zeros[:1]):
                    grid.extend((tp, pp, local // b, zero, mode) for mode in modes)
    if len(grid) > limit:
        raise ValueError(f"the search has {len(grid):,} configurations, more than "
                         f"max_configurations={limit:,}; narrow zero_stages or recomputation, "
                         "or raise the limit")

    memo, fits = {}, []
    for tp, pp, m, zero, mode in grid:
        lay = make_layout(model, g, nodes, batch, seq, tp, pp, ep, m, zero, mode, None,
                          overlap_comm, node.name)
        if training_memory_of(model, lay, prec).total > capacity:
            failures[MEMORY] = failures.get(MEMORY, 0) + 1
            continue
        fits.append((step_lower_bound(model, node, fleet_spec, lay, prec, effs, memo), lay))
    # branch and bound: time layouts in order of their lower bound; once the bound exceeds
    # the k-th fastest step found, no later layout can enter the top k
    fits.sort(key=lambda f: f[0])
    top, timed = [], 0
    for bound, lay in fits:
        if len(top) >= top_k and bound > top[-1].step_s:
            break
        top.append(solve_layout(model, node, fleet_spec, lay, prec, effs, label, memo))
        timed += 1
        top.sort(key=lambda r: (r.step_s, r.memory.total))
        del top[top_k:]
    return ParallelismSearchResult(
        model=model.name, fleet=label, devices=devices, batch_size=batch, seq_len=seq,
        precision=prec.label(), configurations=len(grid), feasible_count=len(fits),
        failures=tuple(failures.items()), top=tuple(top), timed_count=timed,
        search_seconds=time.perf_counter() - start)


class ParallelismOptimizer:
    """The fastest feasible parallel layout of a training step on a fleet (stateless)."""

    def solve(self, model, fleet, batch_size, seq_len=None, precision="bf16", ep_size=1,
              zero_stages=ZERO_STAGES, recomputation=RECOMPUTE_MODES, overlap_comm=0.0,
              top_k=5, max_configurations=MAX_CONFIGURATIONS, efficiency=None,
              memory_efficiency=None, launch_overhead=None) -> ParallelismSearchResult:
        """See :func:`solve_parallelism`."""
        return solve_parallelism(model, fleet, batch_size, seq_len, precision, ep_size,
                                 zero_stages, recomputation, overlap_comm, top_k,
                                 max_configurations, efficiency, memory_efficiency,
                                 launch_overhead)

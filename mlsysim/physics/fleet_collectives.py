"""Collectives beyond one link: reduce-scatter, all-gather, all-to-all, point-to-point, the
hierarchical all-reduce across nodes and the torus all-reduce (floats or numpy arrays; bytes,
bytes/s, seconds).

Message sizes follow nccl-tests (``doc/PERFORMANCE.md``): S is the all-reduce buffer, the
*full* reduce-scatter input / all-gather output (each rank ends with S/n), each rank's whole
all-to-all send buffer (it keeps S/n and sends (n−1)/n·S) and the bytes of a send. On one link
at β B/s per direction with per-step latency α (Thakur, Rabenseifner & Gropp, IJHPCA 19(1),
2005, §4; Chan et al., CCPE 19(13), 2007):

- ring reduce-scatter / all-gather: (n−1)·α + (n−1)/n·S/β;
- all-to-all by pairwise exchange: (n−1)·α + (n−1)/n·S/β;
- point-to-point: α + S/β;
- ring all-reduce: 2(n−1)·α + 2(n−1)/n·S/β (``collectives.allreduce_line``).

A link class line (algorithm, α, η) is reused for every collective with the collective's own
step count and wire factor; its η, fitted on all-reduce, is assumed to carry over. A ``switch``
line (NVLink SHARP) pays its fitted fixed cost once for reduce-scatter, all-gather and
all-to-all — the switch joins all ranks at once and NCCL issues the exchanges as one grouped
kernel — and moves the same (n−1)/n·S each rank must send (only all-reduce halves its traffic
in the switch).

Across nodes (k ranks of the group per node, m = n/k nodes, each rank on its own rail of the
fabric at β_f = fabric bandwidth per node / GPUs per node, as in a rail-optimised fat tree):

- hierarchical all-reduce (NCCL's intra-node/inter-node split; Horovod's hierarchical
  all-reduce; Sergeev & Del Balso, arXiv 1802.05799 §4): reduce-scatter of S over the k ranks of
  the node, all-reduce of S/k across the m nodes among ranks with the same local index (k such
  sub-collectives at once, each on one rail), all-gather of S over the node. Reduce-scatter and
  all-gather split the same way;
- flat (multi-rail) ring: NCCL builds k rings, each entering and leaving every node once over
  its own NIC, so a ring step crosses the fabric at k·β_f (bounded by the node link):
  2(n−1)·α_f + 2(n−1)/n·S/(η·min(k·β_f, β_node));
- all-to-all: each rank sends (n−k)/n·S off its node on its own rail (NCCL's PXN routes it
  rail-aligned) while (k−1)/n·S crosses the node link; point-to-point crosses the fabric once.

The library's choice is the fastest candidate (:func:`fleet_candidates`), as ``allreduce_time``
does for one link.
"""

from __future__ import annotations

import math

import numpy as np

from .collectives import allreduce_line

ALLREDUCE, REDUCE_SCATTER, ALLGATHER, ALLTOALL, P2P = (
    "allreduce", "reduce_scatter", "allgather", "alltoall", "p2p")
COLLECTIVES = (ALLREDUCE, REDUCE_SCATTER, ALLGATHER, ALLTOALL, P2P)


def check_collective(name: str) -> str:
    """``name`` if it is a known collective, else a ValueError listing the allowed names."""
    if name not in COLLECTIVES:
        raise ValueError(f"collective must be one of {', '.join(COLLECTIVES)}; got {name!r}")
    return name


# -- one link: the textbook formulas ------------------------------------------------------------

def reduce_scatter_time(message, devices: int, bandwidth: float, step_latency: float = 0.0):
    """Ring reduce-scatter of an ``message``-byte input: (n−1)·α + (n−1)/n·S/β."""
    if devices <= 1:
        return message * 0.0
    return (devices - 1) * step_latency + (devices - 1) / devices * message / bandwidth


def allgather_time(message, devices: int, bandwidth: float, step_latency: float = 0.0):
    """Ring all-gather of an ``message``-byte result: (n−1)·α + (n−1)/n·S/β."""
    return reduce_scatter_time(message, devices, bandwidth, step_latency)


def alltoall_time(message, devices: int, bandwidth: float, step_latency: float = 0.0):
    """Pairwise-exchange all-to-all of a ``message``-byte send buffer per rank:
    (n−1)·α + (n−1)/n·S/β."""
    return reduce_scatter_time(message, devices, bandwidth, step_latency)


def p2p_time(message, bandwidth: float, step_latency: float = 0.0):
    """One send of ``message`` bytes: α + S/β."""
    return step_latency + message / bandwidth


# -- one link, a library's lines -------------------------------------------------------------

def collective_line(collective: str, message, devices: int, algorithm: str,
                    step_latency: float, bandwidth: float, efficiency: float = 1.0):
    """Seconds of ``collective`` on one link class line (see the module docstring)."""
    if collective == ALLREDUCE:
        return allreduce_line(message, devices, algorithm, step_latency, bandwidth, efficiency)
    beta = efficiency * bandwidth
    if collective == P2P:
        return p2p_time(message, beta, step_latency) if devices > 1 else message * 0.0
    if devices <= 1:
        return message * 0.0
    steps = 1 if algorithm == "switch" else devices - 1
    return steps * step_latency + (devices - 1) / devices * message / beta


def line_time(collective: str, message, devices: int, bandwidth: float, lines):
    """Fastest of ``lines`` (each (algorithm, step latency s, efficiency)) for ``collective``."""
    best, _ = _best(collective, message, devices, bandwidth, lines)
    return best


def _best(collective, message, devices, bandwidth, lines):
    best, name = None, None
    for algorithm, step_latency, efficiency in lines:
        t = collective_line(collective, message, devices, algorithm, step_latency, bandwidth,
                            efficiency)
        if best is None:
            best, name = t, algorithm
        elif np.ndim(t) or np.ndim(best):
            best = np.minimum(best, t)
        elif t < best:
            best, name = t, algorithm
    if best is None:
        raise ValueError("no collective algorithm given")
    return best, name


# -- across nodes ---------------------------------------------------------------------------------

def hierarchical_allreduce_time(message, ranks_per_node: int, nodes: int,
                                node_bandwidth: float, node_lines, fabric_bandwidth: float,
                                fabric_lines):
    """Intra-node reduce-scatter of S (k ranks), inter-node all-reduce of S/k over ``nodes``
    on one rail each (``fabric_bandwidth`` per rank), intra-node all-gather of S."""
    k = ranks_per_node
    intra = 2.0 * line_time(REDUCE_SCATTER, message, k, node_bandwidth, node_lines) \
        if k > 1 else 0.0
    return intra + line_time(ALLREDUCE, message / k, nodes, fabric_bandwidth, fabric_lines)


def fleet_candidates(collective: str, message, group: int, ranks_per_node: int,
                     node_bandwidth: float, node_lines, fabric_bandwidth: float, fabric_lines
                     ) -> list[tuple[str, object]]:
    """(algorithm name, seconds) of each algorithm a library could run for ``collective``
    over ``group`` ranks, ``ranks_per_node`` of them per node (``group`` divisible by it;
    ``ranks_per_node >= group``: inside one node, on the node link only)."""
    n, k = group, min(ranks_per_node, group)
    if k >= n:
        t, alg = _best(collective, message, n, node_bandwidth, node_lines)
        return [(alg, t)]
    m = n // k
    fab = fabric_bandwidth
    if collective == P2P:
        return [("p2p", line_time(P2P, message, 2, fab, fabric_lines))]
    if collective == ALLTOALL:
        off, on = (n - k) / n * message, (k - 1) / n * message
        inter = None
        for _, lat, eff in fabric_lines:
            t = (n - 1) * lat + off / (eff * fab)
            inter = t if inter is None else np.minimum(inter, t)
        if k > 1:
            intra = line_time(P2P, on, 2, node_bandwidth, node_lines)  # concurrent with inter
            inter = np.maximum(inter, intra)
        return [("pairwise", inter if np.ndim(inter) else float(inter))]
    if k > 1:
        # multi-rail flat ring (NCCL ring): every step crosses the fabric at k rails' rate
        ring_bw = min(k * fab, node_bandwidth)
        rings = [ln for ln in fabric_lines if ln[0] == "ring"] or list(fabric_lines)
        out = [("ring", line_time(collective, message, n, ring_bw,
                                  [("ring", lat, eff) for _, lat, eff in rings]))]
    if k == 1:  # one rank per node: a flat collective on the fabric (its best line)
        t, alg = _best(collective, message, n, fab, fabric_lines)
        return [(alg, t)]
    if collective == ALLREDUCE:
        t = hierarchical_allreduce_time(message, k, m, node_bandwidth, node_lines, fab,
                                        fabric_lines)
    else:  # reduce-scatter or all-gather: the node's phase and the fabric's on S/k
        t = line_time(collective, message, k, node_bandwidth, node_lines) \
            + line_time(collective, message / k, m, fab, fabric_lines)
    out.append(("hierarchical", t))
    return out


def fleet_collective_time(collective: str, message, group: int, ranks_per_node: int,
                          node_bandwidth: float, node_lines, fabric_bandwidth: float,
                          fabric_lines):
    """Seconds of the fastest candidate (:func:`fleet_candidates`)."""
    cands = fleet_candidates(collective, message, group, ranks_per_node, node_bandwidth,
                             node_lines, fabric_bandwidth, fabric_lines)
    best = cands[0][1]
    for _, t in cands[1:]:
        best = np.minimum(best, t)
    return best if isinstance(best, np.ndarray) else float(best)


def fastest(candidates) -> tuple[str, float]:
    """(name, seconds) of the fastest scalar candidate (first on ties)."""
    return min(candidates, key=lambda c: float(c[1]))


# -- torus (TPU pods) ---------------------------------------------------------------------------

def torus_allreduce_time(message, dims, link_bandwidth: float, step_latency: float = 0.0,
                         efficiency: float = 1.0):
    """All-reduce over a torus of ``dims`` (e.g. (4, 4, 4)): a bidirectional-ring
    reduce-scatter along each dimension in turn on 1/d of the previous data, then the
    all-gathers in reverse (Ying et al., arXiv 1811.06992 §3.3, 2-D TPU pod all-reduce;
    Jouppi et al., ISCA 2023 §2: TPU v4's 3-D torus, 6 ICI links per chip). A bidirectional
    ring sends half the data each way, so a dimension runs at 2·``link_bandwidth`` (one link
    per direction, per direction). Assumes dimensions run one after another (no overlap between
    them), wraparound links in every dimension, and η of the link for every phase:
    Σ_i 2(d_i−1)·α + 2(d_i−1)/d_i · S_i / (2ηβ), S_i = S / Π_{j<i} d_j."""
    total = message * 0.0
    size = message
    for d in dims:
        if d > 1:
            total = total + 2 * (d - 1) * step_latency \
                + 2 * (d - 1) / d * size / (2 * efficiency * link_bandwidth)
            size = size / d
    return total


def torus_shape(group: int, dims) -> tuple[int, ...]:
    """The sub-torus a ``group`` of ranks occupies: the leading dimensions filled in order
    (a group of 16 on a 4×4×4 torus uses (4, 4)); a group that does not factor this way is a
    ring along one dimension's links: ``(group,)``."""
    out, left = [], group
    for d in dims:
        if left <= 1:
            break
        take = math.gcd(left, d)
        if take != d and take != left:
            return (group,)
        out.append(take)
        left //= take
    return tuple(out) if left == 1 else (group,)


def torus_collective_time(collective: str, message, group: int, dims, link_bandwidth: float,
                          step_latency: float = 0.0, efficiency: float = 1.0):
    """``collective`` over ``group`` ranks of a torus of ``dims`` (per-link bandwidth per
    direction): all-reduce per :func:`torus_allreduce_time` on the group's
    :func:`torus_shape`; reduce-scatter and all-gather are its first or second half; an
    all-to-all is bounded by injection (2·len(dims) links per chip) and by the bisection (a
    torus cut through its largest dimension D has 2·n/D links each way and n·S/4 bytes cross
    it: S·D/(8β); Dally & Towles, Principles and Practices of Interconnection Networks, 2004,
    §3.3), after (n−1) steps; a send crosses one link."""
    shape = torus_shape(group, dims)
    beta = efficiency * link_bandwidth
    if group <= 1:
        return message * 0.0
    if collective == ALLREDUCE:
        return torus_allreduce_time(message, shape, link_bandwidth, step_latency, efficiency)
    if collective in (REDUCE_SCATTER, ALLGATHER):
        return 0.5 * torus_allreduce_time(message, shape, link_bandwidth, step_latency,
                                          efficiency)
    if collective == P2P:
        return p2p_time(message, beta, step_latency)
    injection = (group - 1) / group * message / (2 * len(shape) * beta)
    bisection = message * max(shape) / (8 * beta) if max(shape) > 2 else 0.0 * message
    return (group - 1) * step_latency + np.maximum(injection, bisection)

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
in the switch). Known gap: on H100 NVSwitch the link class has a low-latency ring line and the
NVLS line only, so a large reduce-scatter runs at the NVLS line's η (bus bandwidth ≈ 250 GB/s)
where NCCL's Simple ring reaches ≈ 370 GB/s (NCCL maintainers, nccl-tests issue #212, 2024):
conservative by about a third until the class carries a Simple ring line.

Across nodes (k ranks of the group per node, m = n/k nodes, each rank on its own rail of the
fabric at β_f = fabric bandwidth per node / GPUs per node, as in a rail-optimised fat tree):

- hierarchical all-reduce: reduce-scatter of S over the k ranks of the node, all-reduce of S/k
  across the m nodes among ranks with the same local index (k such sub-collectives at once, each
  on one rail), all-gather of S over the node — Horovod's HOROVOD_HIERARCHICAL_ALLREDUCE
  (horovod/common/ops/nccl_operations.cc, NCCLHierarchicalAllreduce: ncclReduceScatter,
  MPI_Allreduce, ncclAllgather), the "2D-Torus all-reduce" of Mikami et al. (arXiv 1811.05233,
  2018) and HCCL's hierarchical AllReduce (Huawei CANN HCCL user guide, "Hierarchical
  Communication Principles"). Reduce-scatter and all-gather split the same way;
- flat (multi-rail) ring: NCCL runs one ring per channel, each entering and leaving every node
  once over its own NIC (our reading of its rings on a rail-optimised fabric, which matches the
  8 × 46–48 GB/s bus bandwidth NVIDIA quotes for DGX H100 rings, nccl-tests issue #290), so a
  ring step crosses the fabric at k·β_f (bounded by the node link):
  2(n−1)·α_f + 2(n−1)/n·S/(η·min(k·β_f, β_node));
- all-to-all: each rank sends (n−k)/n·S off its node on its own rail while (k−1)/n·S crosses
  the node link (NCCL 2.12's PXN routes off-node traffic through the peer GPU on the right rail:
  NVIDIA technical blog "Doubling all2all Performance with NVIDIA Collective Communication
  Library 2.12", 2022; an all-to-all "cannot aggregate the bandwidth of multiple NICs", NCCL
  maintainers in nccl-tests issue #267, 2024); point-to-point crosses the fabric once.

The fabric's lines: a fitted link class when one exists, else ring and tree at the fabric's
sourced latency per step with η = 1 (``solvers.evaluate.fabric_rates``). NCCL reaches 46–48 of
an NDR NIC's 50 GB/s (nccl-tests issue #290, 2025), so η = 1 is 4–8 % optimistic for large
messages; NCCL's per-step software latency over the network is also above the wire's.

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
    if collective == P2P and lines:
        # a send is one step: the lowest step latency of the link's lines (the low-latency
        # protocol) and the highest efficiency (the bandwidth protocol) — not an all-reduce
        # algorithm's line (a switch reduction's pipeline fill, a ring's low-latency protocol)
        if devices <= 1:
            return message * 0.0, "p2p"
        alpha = min(lat for _, lat, _ in lines)
        eta = max(eff for _, _, eff in lines)
        return p2p_time(message, eta * bandwidth, alpha), "p2p"
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

def _axes(dims) -> tuple[int, ...]:
    return tuple(d for d in dims if d > 1)


def torus_gather_time(message, dims, link_bandwidth: float, step_latency: float = 0.0,
                      efficiency: float = 1.0):
    """A reduce-scatter or all-gather of ``message`` bytes (the full array) over a torus of
    ``dims``, after Austin et al., *How to Scale Your Model* (2025), Part 3 ("AllGather over
    multiple axes"): each axis is a bidirectional ring (a chip sends half the data each way,
    so an axis runs at 2·η·β for ``link_bandwidth`` β per link and direction), and gathering
    over N axes at once multiplies the bandwidth by N (the data is split so every axis' links
    are busy); a hop costs ``step_latency`` and the longest path is Σ d_i / 2 hops:
    (Σ d_i / 2)·α + (n−1)/n · S / (2ηβ·N), n = Π d_i. Assumes the axes carry equal shares and
    wraparound links on every axis (TPU v4 and v5p pods; Jouppi et al., ISCA 2023, §2)."""
    axes = _axes(dims)
    if not axes:
        return message * 0.0
    n = math.prod(axes)
    return (sum(axes) / 2.0 * step_latency
            + (n - 1) / n * message / (2.0 * efficiency * link_bandwidth * len(axes)))


def torus_allreduce_time(message, dims, link_bandwidth: float, step_latency: float = 0.0,
                         efficiency: float = 1.0):
    """All-reduce over a torus: a reduce-scatter then an all-gather
    (:func:`torus_gather_time` twice): Σ d_i·α + 2(n−1)/n · S / (2ηβ·N)."""
    return 2.0 * torus_gather_time(message, dims, link_bandwidth, step_latency, efficiency)


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
    direction), on the group's :func:`torus_shape`: all-reduce, reduce-scatter and all-gather
    per :func:`torus_gather_time`; an all-to-all is bounded by injection (2 links per axis
    per chip) and by the bisection (a cut through the largest axis D has 2·n/D links each way
    and n·S/4 bytes cross it: n·S/4 / (2n/D · ηβ) = S·D/(8ηβ); Dally & Towles, *Principles
    and Practices of Interconnection Networks*, 2004, §3.3; on one ring this is Austin et al.'s
    V/(4·W_ici) for the array V = n·S), after the longest path's hops; a send crosses one
    link."""
    if group <= 1:
        return message * 0.0
    shape = torus_shape(group, dims)
    if collective == ALLREDUCE:
        return torus_allreduce_time(message, shape, link_bandwidth, step_latency, efficiency)
    if collective in (REDUCE_SCATTER, ALLGATHER):
        return torus_gather_time(message, shape, link_bandwidth, step_latency, efficiency)
    beta = efficiency * link_bandwidth
    if collective == P2P:
        return p2p_time(message, beta, step_latency)
    axes = _axes(shape)
    injection = (group - 1) / group * message / (2 * len(axes) * beta)
    bisection = message * max(axes) / (8 * beta)
    return sum(axes) / 2.0 * step_latency + np.maximum(injection, bisection)

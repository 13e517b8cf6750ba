"""Collective communication times (floats; bytes, bytes/s, seconds).

Ring algorithms (Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
workstations", JPDC 69(2), 2009): an all-reduce of m bytes over N devices is a reduce-scatter
plus an all-gather, 2(N−1) steps each moving m/N bytes per device, so
t = 2(N−1)·α + 2(N−1)/N · m / β, with α the per-step latency and β the per-direction link
bandwidth of one device. This matches nccl-tests' "bus bandwidth" convention
(busbw = algbw · 2(N−1)/N).
"""

from __future__ import annotations


def ring_allreduce_time(message_bytes: float, devices: int, bandwidth: float,
                        step_latency: float = 0.0) -> float:
    """Seconds for a ring all-reduce of ``message_bytes`` across ``devices``."""
    if devices <= 1:
        return 0.0
    steps = 2 * (devices - 1)
    return steps * step_latency + steps / devices * message_bytes / bandwidth


def ring_allgather_time(message_bytes: float, devices: int, bandwidth: float,
                        step_latency: float = 0.0) -> float:
    """Seconds for a ring all-gather whose gathered result is ``message_bytes``."""
    if devices <= 1:
        return 0.0
    steps = devices - 1
    return steps * step_latency + steps / devices * message_bytes / bandwidth

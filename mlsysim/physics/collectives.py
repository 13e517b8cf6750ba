"""Collective communication times with an α–β model per algorithm (floats or numpy arrays;
bytes, bytes/s, seconds).

A collective over N devices moving a message of S bytes costs t = α(N) + S·w(N) / (η·β):
β is one device's per-direction link bandwidth, η the fraction an algorithm reaches, α its fixed
latency and w the bytes each device must send per byte of message. Per algorithm:

- ring all-reduce (Patarasuk & Yuan, JPDC 69(2), 2009): a reduce-scatter then an all-gather,
  2(N−1) steps of S/N bytes each: α = 2(N−1)·a, w = 2(N−1)/N;
- tree all-reduce (NCCL's double binary tree; Sanders, Speck & Träff, Parallel Computing 35(12),
  2009): latency grows with the depth, α = 2·⌈log2 N⌉·a, and the bandwidth term is a ring's;
- switch all-reduce (NVLink SHARP, "NVLS": the NVSwitch adds the contributions): each device
  sends S once and receives the sum once, α = a, w = 1.

nccl-tests reports *bus bandwidth* busbw = (S / t)·2(N−1)/N for all-reduce, which makes ring
numbers comparable across N; :func:`allreduce_bus_bandwidth` converts a time back to it.
A library runs the fastest algorithm (and protocol) for the message size:
:func:`allreduce_time` takes the minimum over the candidate lines it is given.
"""

from __future__ import annotations

import functools
import math

import numpy as np

RING, TREE, SWITCH = "ring", "tree", "switch"
ALGORITHMS = (RING, TREE, SWITCH)


@functools.lru_cache(maxsize=256)
def _latency_steps(algorithm: str, devices: int) -> float:
    if algorithm == RING:
        return 2.0 * (devices - 1)
    if algorithm == TREE:
        return 2.0 * math.ceil(math.log2(devices))
    if algorithm == SWITCH:
        return 1.0
    raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}; got {algorithm!r}")


def _wire_factor(algorithm: str, devices: int) -> float:
    return 1.0 if algorithm == SWITCH else 2.0 * (devices - 1) / devices


def allreduce_line(message, devices: int, algorithm: str, step_latency: float,
                   bandwidth: float, efficiency: float = 1.0):
    """Seconds for one algorithm: α(N) + S·w(N)/(η·β). Zero for a single device."""
    if devices <= 1:
        return message * 0.0
    return (_latency_steps(algorithm, devices) * step_latency
            + message * _wire_factor(algorithm, devices) / (efficiency * bandwidth))


def allreduce_time(message, devices: int, bandwidth: float, lines) -> object:
    """Fastest of the candidate ``lines`` — each (algorithm, step latency s, efficiency) — for
    an all-reduce of ``message`` bytes across ``devices`` whose links run at ``bandwidth``."""
    best = None
    for algorithm, step_latency, efficiency in lines:
        t = allreduce_line(message, devices, algorithm, step_latency, bandwidth, efficiency)
        best = t if best is None else np.minimum(best, t)
    if best is None:
        raise ValueError("no collective algorithm given")
    return best if isinstance(best, np.ndarray) else float(best)


def allreduce_bus_bandwidth(message: float, devices: int, seconds: float) -> float:
    """nccl-tests' bus bandwidth (B/s) of an all-reduce that took ``seconds``."""
    return message / seconds * 2.0 * (devices - 1) / devices


def ring_allgather_time(message: float, devices: int, bandwidth: float,
                        step_latency: float = 0.0) -> float:
    """Seconds for a ring all-gather whose gathered result is ``message`` bytes."""
    if devices <= 1:
        return 0.0
    steps = devices - 1
    return steps * step_latency + steps / devices * message / bandwidth


def ring_allreduce_time(message_bytes: float, devices: int, bandwidth: float,
                        step_latency: float = 0.0) -> float:
    """Seconds for a ring all-reduce (the single-algorithm special case)."""
    return float(allreduce_line(message_bytes, devices, RING, step_latency, bandwidth))

"""The roofline bound (Williams, Waterman, Patterson, CACM 52(4), 2009), as float functions."""

from __future__ import annotations

COMPUTE, MEMORY, OVERHEAD = "Compute", "Memory", "Overhead"


def ridge_point(peak_flops: float, bandwidth: float) -> float:
    """Arithmetic intensity (FLOP/byte) at which compute time equals memory time."""
    return peak_flops / bandwidth


def compute_time(flops: float, peak_flops: float, eta_compute: float = 1.0) -> float:
    """Seconds to execute ``flops`` at ``peak_flops`` FLOP/s × η_c (floats or numpy arrays)."""
    return flops / (peak_flops * eta_compute)


def memory_time(bytes_moved: float, bandwidth: float, eta_memory: float = 1.0) -> float:
    """Seconds to move ``bytes_moved`` at ``bandwidth`` B/s × η_m (floats or numpy arrays)."""
    return bytes_moved / (bandwidth * eta_memory)


def roofline_times(flops: float, bytes_moved: float, peak_flops: float, bandwidth: float,
                   eta_compute: float = 1.0, eta_memory: float = 1.0,
                   overhead: float = 0.0) -> tuple[float, float, float, str]:
    """Return (t_compute, t_memory, latency, bottleneck) in seconds.

    t_compute = FLOPs / (peak · η_c); t_memory = bytes / (BW · η_m);
    latency = max(t_compute, t_memory) + overhead. The bottleneck is the largest of the three
    terms (ties go to compute, then memory)."""
    t_compute = compute_time(flops, peak_flops, eta_compute)
    t_memory = memory_time(bytes_moved, bandwidth, eta_memory)
    latency = max(t_compute, t_memory) + overhead
    if overhead > t_compute and overhead > t_memory:
        bottleneck = OVERHEAD
    elif t_compute >= t_memory:
        bottleneck = COMPUTE
    else:
        bottleneck = MEMORY
    return t_compute, t_memory, latency, bottleneck

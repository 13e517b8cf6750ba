"""Compute-optimal scaling of language-model training (floats: FLOP, parameters, tokens, s).

Training compute (Kaplan et al. 2020, arXiv 2001.08361, §2.1, Table 1; used by Hoffmann et
al. 2022, arXiv 2203.15556, §3 as FLOPs(N, D) ≈ 6·N·D): a dense transformer of N parameters
spends ≈ 2·N FLOPs per token forward and ≈ 4·N backward, so C ≈ 6·N·D for D training tokens
(attention over the context is left out; it is small beside 6·N at d_model ≫ context/12).

Compute-optimal allocation (Hoffmann et al. 2022, "Training Compute-Optimal Large Language
Models"): N and D grow in equal proportion with C (Table 2: a ≈ b ≈ 0.5), and the optimum
sits near D/N ≈ 20 tokens per parameter (Table 3, Approach 1: 20 at 400M and 1B parameters,
20.5 at 10B, 21.1 at 175B; Chinchilla itself, Table 1: 70B parameters on 1.4T tokens). With
C = 6·N·D and D = r·N:  N* = √(C / (6·r)),  D* = r·N*.

Parametric loss (Hoffmann et al. 2022 §3.3, Approach 3): L(N, D) = E + A/N^α + B/D^β with the
constants printed in the paper, E = 1.69, A = 406.4, B = 410.7, α = 0.34, β = 0.28.
Caveat: Besiroglu et al. 2024 ("Chinchilla Scaling: A replication attempt", Epoch AI) show
these printed constants are rounded and inconsistent with Approaches 1 and 2: minimised along
6·N·D = C at Chinchilla's budget, the printed fit puts the optimum near 32B parameters at
D/N ≈ 90, not 20 (tests/test_scaling.py). :func:`chinchilla_loss` is the printed fit, for
illustration; it does not place the optimum.

Fleet budget: C = devices · peak · MFU · seconds (peak: dense FLOP/s of one device at the
training precision; MFU: model FLOPs utilisation, the useful 6·N·D FLOPs over the peak,
as Chowdhery et al. 2022 (PaLM, arXiv 2204.02311) defined it).
"""

from __future__ import annotations

import math

#: training FLOPs per parameter per token: 2 forward + 4 backward (Kaplan et al. 2020 §2.1)
FLOPS_PER_PARAM_TOKEN = 6.0
#: compute-optimal tokens per parameter (Hoffmann et al. 2022, Table 3 and Table 1)
CHINCHILLA_TOKENS_PER_PARAM = 20.0
#: Hoffmann et al. 2022 §3.3 (Approach 3), the printed fit of L(N, D) = E + A/N^α + B/D^β
CHINCHILLA_LOSS = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return float(value)


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{name} overflows a float (inputs beyond any physical scale)")
    return value


def training_flops(params: float, tokens: float) -> float:
    """C = 6·N·D (FLOP) for N parameters trained on D tokens."""
    return _finite("training FLOPs 6·N·D", FLOPS_PER_PARAM_TOKEN * _positive("params", params)
                   * _positive("tokens", tokens))


def compute_optimal(budget: float, tokens_per_param: float = CHINCHILLA_TOKENS_PER_PARAM
                    ) -> tuple[float, float]:
    """(N*, D*) for a budget C (FLOP) at D/N = r: N* = √(C/(6r)), D* = r·N*."""
    c = _positive("budget", budget)
    r = _positive("tokens_per_param", tokens_per_param)
    n = math.sqrt(c / (FLOPS_PER_PARAM_TOKEN * r))
    return n, r * n


def fleet_flops(devices: float, peak_flops: float, mfu: float, seconds: float) -> float:
    """Useful model FLOPs a fleet delivers: devices · peak (FLOP/s) · MFU · seconds."""
    return _finite("fleet FLOPs", _positive("devices", devices)
                   * _positive("peak_flops", peak_flops) * _positive("mfu", mfu)
                   * _positive("seconds", seconds))


def training_seconds(params: float, tokens: float, devices: float, peak_flops: float,
                     mfu: float) -> float:
    """Time (s) to train N parameters on D tokens: 6·N·D / (devices · peak · MFU)."""
    rate = _positive("devices", devices) * _positive("peak_flops", peak_flops) \
        * _positive("mfu", mfu)
    return training_flops(params, tokens) / rate


def chinchilla_loss(params: float, tokens: float) -> float:
    """Hoffmann et al. 2022 §3.3 fitted loss (nats per token), constants as printed."""
    k = CHINCHILLA_LOSS
    return (k["E"] + k["A"] / _positive("params", params) ** k["alpha"]
            + k["B"] / _positive("tokens", tokens) ** k["beta"])

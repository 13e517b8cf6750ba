"""Fit the device- and link-class parameters to their calibration datasets.

    python mlsysim/catalog/derivations/fit_calibration.py            # every class
    python mlsysim/catalog/derivations/fit_calibration.py nvidia_hopper

GEMM: the half point in rows is the rows of the architecture's smallest tensor-core tile (a
product with fewer rows pads the tile): 16 for Ampere's mma.sync, 64 for Hopper's and
Blackwell's warpgroup MMA, 32 for CDNA 3's MFMA. The ceiling per precision is the best measured
point's fraction of the dense peak (large GEMMs reach it; the curve only lowers it). The
per-kernel start-up is then chosen by a grid search that minimises the mean squared log error of
time over every point of the class's calibration GEMM datasets.
Attention: ceiling and half point in sequence length, likewise. All-reduce: two lines (a
latency-optimised one and a bandwidth-optimised one: NCCL's LL and Simple protocols) of step
latency and bandwidth fraction, fitted to the bus-bandwidth curve; the library takes the
faster line at each size, as the engine does. The printed values are what the class files
carry (``kind: derived``); held-out (``role: validation``) datasets are never used here.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace

import numpy as np

from mlsysim import calibration
from mlsysim.catalog import DeviceClasses, Hardware, Systems
from mlsysim.physics.collectives import allreduce_time
from mlsysim.solvers import kernels
from mlsysim.solvers.evaluate import device_rates, evaluate
from mlsysim.solvers.inputs import efficiencies, precisions
from mlsysim.solvers.plan import OperatorList, OperatorPlan
from mlsysim.vocabulary import BYTES_PER_ELEMENT, OpKind, Phase, WorkUnit


def _single(kind, flops, nbytes, rows, prec):
    ops = OperatorList()
    ops.add("k", kind, 1, flops, nbytes, rows=rows)
    return OperatorPlan.build(ops, phase=Phase.INFERENCE, unit=WorkUnit.SAMPLE, units=1.0,
                              footprint={}, precision=prec)


def _gemm_points(ds):
    hw = Hardware.get(ds.target)
    p = ds.extra["precision"]
    prec = precisions(p)
    b = BYTES_PER_ELEMENT[p]
    out = []
    for m, n, k, tflops in ds.points:
        plan = _single(OpKind.GEMM, 2 * m * n * k,
                       (m * k + k * n) * b + m * n * max(b, 2.0), min(m, n), prec)
        out.append((plan, 2 * m * n * k / (tflops * 1e12)))
    return hw, prec, out


#: rows of the smallest tensor-core tile, by class (the rows half point of the GEMM curve)
TILE_ROWS = {"nvidia_ampere": 16, "nvidia_hopper": 64, "nvidia_blackwell": 64,
             "amd_cdna3": 32}


def fit_gemm(cls_key: str) -> None:
    sets = [ds for ds in calibration.datasets("gemm", "calibration")
            if Hardware.get(ds.target).efficiency.device_class is not None
            and Hardware.get(ds.target).efficiency.device_class.key == cls_key]
    if not sets:
        return
    groups = [_gemm_points(ds) for ds in sets]
    best = None
    halves = [TILE_ROWS.get(cls_key, 64)]
    launches = np.arange(0.0, 20.5, 0.5) * 1e-6
    ceilings = {}
    for (hw, prec, _points), ds in zip(groups, sets, strict=True):
        top = max(tf for *_, tf in ds.points) * 1e12 / hw.si.flops[prec.compute]
        ceilings.setdefault(prec.compute, []).append(top)
    grids = {p: [round(max(v), 3)] for p, v in ceilings.items()}
    for half, launch in itertools.product(halves, launches):
        for ceil_combo in itertools.product(*grids.values()):
            ceil = dict(zip(grids, ceil_combo, strict=True))
            err = []
            for hw, prec, pts in groups:
                rates = replace(device_rates(hw, prec, efficiencies()), half_rows=half,
                                launch=launch, gemm_ceiling=ceil[prec.compute])
                err += [np.log(float(evaluate(plan, rates).latency) / t) ** 2
                        for plan, t in pts]
            score = float(np.mean(err))
            if best is None or score < best[0]:
                best = (score, half, launch, ceil)
    score, half, launch, ceil = best
    print(f"{cls_key} GEMM: half_rows {half}, kernel_launch {launch * 1e6:.1f} us, ceilings "
          + ", ".join(f"{p} {c:.3f}" for p, c in ceil.items())
          + f"  (rms log error {np.sqrt(score):.3f} over "
          + f"{sum(len(ds.points) for ds in sets)} points: {', '.join(d.key for d in sets)})")


def fit_attention(cls_key: str) -> None:
    sets = [ds for ds in calibration.datasets("attention", "calibration")
            if Hardware.get(ds.target).device_class.key == cls_key]
    for ds in sets:
        hw = Hardware.get(ds.target)
        prec = precisions(ds.extra["precision"])
        rates0 = device_rates(hw, prec, efficiencies())
        pts = []
        for seq, tflops in ds.points:
            t = kernels.attention_time(hw, max(1, int(ds.extra["tokens"]) // int(seq)),
                                       int(ds.extra["heads"]), int(seq),
                                       int(ds.extra["head_dim"]), bool(ds.extra["causal"]),
                                       ds.extra["precision"])
            pts.append((seq, t.flops / (tflops * 1e12), t.flops, t.bytes))
        best = None
        for ceil in np.arange(0.20, 0.95, 0.01):
            for half in [0, 50, 100, 150, 200, 300, 400, 600, 800, 1000]:
                rates = replace(rates0, attention_ceiling=ceil, half_context=half)
                err = [np.log(float(evaluate(_single(OpKind.ATTENTION, f, b, s, prec),
                                             rates).latency) / t) ** 2 for s, t, f, b in pts]
                score = float(np.mean(err))
                if best is None or score < best[0]:
                    best = (score, ceil, half)
        print(f"{cls_key} attention ({ds.key}): ceiling {best[1]:.2f}, half_context "
              f"{best[2]} (rms log error {np.sqrt(best[0]):.3f})")


def fit_allreduce(node_key: str) -> None:
    sets = [ds for ds in calibration.datasets("allreduce", "calibration")
            if ds.target == node_key]
    for ds in sets:
        node = Systems.get(node_key)
        bw = float(node.intra_link.bandwidth.to("B/s").magnitude)
        n = int(ds.extra["devices"])
        sizes = np.array([p[0] for p in ds.points])
        times = sizes * 2 * (n - 1) / n / (np.array([p[1] for p in ds.points]) * 1e9)
        algorithms = ("ring", "switch") if "switch" in (ds.extra.get("algorithms") or "") \
            else ("ring", "ring")
        best = None
        lat1 = np.array([0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8]) * 1e-6
        lat2 = np.array([1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 25, 30, 40, 50, 60]) * 1e-6
        effs = np.arange(0.05, 1.01, 0.01)
        for a1, a2 in itertools.product(lat1, lat2):
            for e1 in effs[::3]:
                for e2 in effs:
                    lines = ((algorithms[0], a1, e1), (algorithms[1], a2, e2))
                    pred = allreduce_time(sizes, n, bw, lines)
                    score = float(np.mean(np.log(pred / times) ** 2))
                    if best is None or score < best[0]:
                        best = (score, lines)
        score, lines = best
        print(f"{node_key} all-reduce ({ds.key}): " + "; ".join(
            f"{alg} step {lat * 1e6:.1f} us, efficiency {eff:.2f}" for alg, lat, eff in lines)
            + f" (rms log error {np.sqrt(score):.3f})")


def main(argv: list[str]) -> None:
    keys = argv or DeviceClasses.names()
    for key in keys:
        fit_gemm(key)
        fit_attention(key)
    if not argv:
        for node in ("DGX_A100", "DGX_H100"):
            fit_allreduce(node)


if __name__ == "__main__":
    main(sys.argv[1:])

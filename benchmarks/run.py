"""Speed benchmarks against the budgets of DESIGN.md §9; prints measured/budget ratios.

    python benchmarks/run.py            # all benchmarks
    python benchmarks/run.py import     # just one (import, solve, sensitivity, sweep, site)

A ratio below 1.0 is within budget. Timings are medians over repeated runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGETS = {  # seconds
    "import": 0.3,
    "solve": 50e-6,
    "sensitivity": 1e-3,
    "sweep": 1.0,
}


def bench_import(runs: int = 7) -> float:
    """Cold `import mlsysim` in a fresh interpreter (median wall time of the import itself)."""
    code = "import time; t=time.perf_counter(); import mlsysim; print(time.perf_counter()-t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, cwd=ROOT).stdout) for _ in range(runs)]
    return statistics.median(times)


def bench_first_use(runs: int = 5) -> float:
    """Fresh interpreter: import plus the first catalog lookup (units + catalog load)."""
    code = ("import time; t=time.perf_counter(); import mlsysim; "
            "mlsysim.Hardware.H100.memory.bandwidth; mlsysim.Models.GPT3.parameters; "
            "print(time.perf_counter()-t)")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, cwd=ROOT).stdout) for _ in range(runs)]
    return statistics.median(times)


def _fresh_process(code: str, runs: int) -> float:
    """Median of ``runs`` fresh interpreters printing their own elapsed time. The interpreter
    may read and write ``__pycache__`` (as an installed package does) even where the environment
    sets PYTHONDONTWRITEBYTECODE; one untimed run fills the cache first."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def once() -> float:
        return float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True, cwd=ROOT, env=env).stdout)
    once()
    return statistics.median(once() for _ in range(runs))


_FIRST_RESULT = ("import time; t=time.perf_counter(); import mlsysim; "
                 "mlsysim.Engine.solve('Llama3_8B', 'H100'); print(time.perf_counter()-t)")


def bench_first_result(runs: int = 7) -> float:
    """Fresh interpreter: import, catalog load and one Engine.solve (DESIGN §9: ≤ 0.4 s)."""
    return _fresh_process(_FIRST_RESULT, runs)


def _median_call(fn, repeat: int = 2000) -> float:
    for _ in range(50):
        fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def bench_solve() -> float:
    """Median time of one scalar Engine.solve (Llama-3 8B decode on H100)."""
    import mlsysim
    from mlsysim import Engine

    model, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    return _median_call(lambda: Engine.solve(model, hw, batch_size=8, precision="fp16"))


def bench_solve_new_step() -> float:
    """Median time of one Engine.solve of a step not solved before (a new batch size each
    call: the operator plan is built, not reused)."""
    import itertools

    import mlsysim
    from mlsysim import Engine

    model, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    batches = itertools.count(10)
    return _median_call(lambda: Engine.solve(model, hw, batch_size=next(batches)))


def bench_serving() -> float:
    """Median time of one ServingModel.solve (Llama-3 8B, 2,048-token prompts, batch 8)."""
    import mlsysim

    model, hw, sm = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, mlsysim.ServingModel()
    return _median_call(lambda: sm.solve(model, hw, seq_len=2048, batch_size=8))


def bench_tail_latency() -> float:
    """Median time of one TailLatencyModel.solve (M/M/4 at ρ = 0.75: Erlang C, the sojourn
    p50/p90/p99 by numeric inversion, the result)."""
    import mlsysim

    tl = mlsysim.TailLatencyModel()
    return _median_call(lambda: tl.solve(60.0, 50.0, num_replicas=4))


def bench_tensor_parallel() -> float:
    """Median time of one TensorParallelModel.solve (Llama-3 70B on a DGX H100, tp 8)."""
    import mlsysim

    model, node = mlsysim.Models.Llama3_70B, mlsysim.Systems.DGX_H100
    tp = mlsysim.TensorParallelModel()
    return _median_call(lambda: tp.solve(model, node, tp=8, batch_size=8))


def bench_sensitivity() -> float:
    """Median time of one SensitivitySolver.solve (roofline, all parameters)."""
    import mlsysim
    from mlsysim import SensitivitySolver

    model, hw, solver = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, SensitivitySolver()
    return _median_call(lambda: solver.solve(model=model, hardware=hw), repeat=500)


def bench_weight_streaming() -> float:
    """Median time of one WeightStreamingModel.solve (GPT-3 on CS-3)."""
    import mlsysim
    from mlsysim import WeightStreamingModel

    model, hw, ws = mlsysim.Models.GPT3, mlsysim.Hardware.Cerebras_CS3, WeightStreamingModel()
    return _median_call(lambda: ws.solve(model=model, hardware=hw, seq_len=2048))


def bench_sweep(repeat: int = 7) -> float:
    """Median time of a 100,000-point sweep (1,000 batch sizes × 100 contexts, Llama-3 8B
    decode on H100), validation and result arrays included."""
    import numpy as np

    import mlsysim

    model, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    batches, contexts = np.arange(1, 1001), np.linspace(128, 8192, 100).astype(int)

    def run():
        return mlsysim.sweep(model, hw, batch_sizes=batches, seq_lens=contexts)

    assert len(run()) == 100_000
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def bench_continuous_batching() -> float:
    """Median time of one ContinuousBatchingModel.solve (Llama-3 8B on H100, 32 running
    requests of 1,000 + 200 tokens, 512-token chunks: a decode step and two chunk steps)."""
    import mlsysim

    model, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    cb = mlsysim.ContinuousBatchingModel()
    return _median_call(lambda: cb.solve(model, hw, concurrency=32, prompt_len=1000,
                                         output_len=200))


def _build_site(*flags: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sitebuild", "build", *flags], cwd=ROOT, check=True,
                   capture_output=True)
    return time.perf_counter() - t


def bench_site_cold() -> float:
    """Whole-site offline build with no cache (every page executed and rendered)."""
    return _build_site("--no-cache")


def bench_site_warm() -> float:
    """Whole-site rebuild when nothing changed (after a build has filled the cache)."""
    _build_site()
    return statistics.median(_build_site() for _ in range(3))


def bench_preview_reload() -> float:
    """Live preview: save → the open tab showing the new output, for a one-cell edit of a
    tutorial (a copy of the project, headless Chromium; median after the first edit, whose
    kernel is not pre-started)."""
    sys.path.insert(0, str(ROOT))  # sitebuild is used from the checkout, not installed
    from sitebuild.preview_probe import measure

    return statistics.median(measure(edits=5)[1:])


BUDGETS["weight_streaming"] = BUDGETS["solve"]
BUDGETS["first_result"] = 0.4
BUDGETS["tensor_parallel"] = BUDGETS["solve"]
BUDGETS["serving"] = 100e-6  # DESIGN §9: serving solves
BUDGETS["tail_latency"] = 100e-6  # DESIGN §9: serving solves
BUDGETS["site_cold"] = 90.0
BUDGETS["site_warm"] = 10.0
BUDGETS["preview_reload"] = 3.0
BENCHMARKS = {"import": bench_import, "first_result": bench_first_result,
              "solve": bench_solve, "solve_new_step": bench_solve_new_step,
              "tensor_parallel": bench_tensor_parallel, "serving": bench_serving,
              "tail_latency": bench_tail_latency,
              "sensitivity": bench_sensitivity,
              "site_cold": bench_site_cold, "site_warm": bench_site_warm,
              "weight_streaming": bench_weight_streaming, "sweep": bench_sweep,
              "preview_reload": bench_preview_reload}
BUDGETS["continuous_batching"] = 100e-6  # DESIGN §9: serving solves
BENCHMARKS["continuous_batching"] = bench_continuous_batching


def bench_compression() -> float:
    """Median time of one CompressionModel.solve (Llama-3 8B on H100, int4 weight-only:
    decode and prefill, each before and after: four engine steps). Repeated calls reuse the
    engine's plans and the kept rates, step times and step results (solvers/step_memo.py)."""
    import mlsysim

    model, hw, cm = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, mlsysim.CompressionModel()
    return _median_call(lambda: cm.solve(model, hw, method="int4"))


def bench_compression_new_step() -> float:
    """CompressionModel.solve at a batch size not solved before (each call builds, evaluates
    and assembles its four steps: the cost of a first solve; reported, no budget)."""
    import itertools

    import mlsysim

    model, hw, cm = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, mlsysim.CompressionModel()
    batches = itertools.count(10)
    return _median_call(lambda: cm.solve(model, hw, method="int4", batch_size=next(batches)),
                        repeat=500)


def bench_serving_new_step() -> float:
    """ServingModel.solve at a batch size not solved before (decode plans built and evaluated
    each call; the batch-1 prefill is reused; reported, no budget)."""
    import itertools

    import mlsysim

    model, hw, sm = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, mlsysim.ServingModel()
    batches = itertools.count(10)
    return _median_call(lambda: sm.solve(model, hw, seq_len=2048, batch_size=next(batches)),
                        repeat=500)


def bench_batching_optimizer() -> float:
    """Median time of one BatchingOptimizer.solve (Llama-3 8B on H100, 512 + 128 tokens,
    20 requests/s, p99 TTFT 500 ms and ITL 20 ms): a search over the batch sizes up to the
    largest that fits (one ServingModel solve each) and, per batch, the fewest replicas."""
    import mlsysim

    opt = mlsysim.BatchingOptimizer()
    return _median_call(lambda: opt.solve("Llama3_8B", "H100", 512, 128, 20,
                                          p99_ttft_slo_ms=500, itl_slo_ms=20), repeat=200)


BUDGETS["compression"] = 100e-6  # DESIGN §9: serving solves
BENCHMARKS["compression"] = bench_compression
BENCHMARKS["compression_new_step"] = bench_compression_new_step
BENCHMARKS["serving_new_step"] = bench_serving_new_step
# A search (DESIGN §9 has no entry): ~11 batch sizes, each a ServingModel solve and a
# replica gallop + bisection of Erlang C sums. 10 ms = 100 serving solves' budget: an
# explorer stays responsive; a first (cold) search, which builds every plan, takes ~6 ms.
BUDGETS["batching_optimizer"] = 10e-3
BENCHMARKS["batching_optimizer"] = bench_batching_optimizer


def bench_distributed() -> float:
    """Median DistributedModel.solve: GPT-3 175B on 1,024 A100s, tp 8 × pp 8 × dp 16,
    96 microbatches, full recomputation (the step's plans cached after the first call)."""
    import mlsysim

    dm, fleet = mlsysim.DistributedModel(), mlsysim.Systems.A100_Cluster_1024
    return _median_call(lambda: dm.solve("GPT3", fleet, batch_size=1536, seq_len=2048,
                                         tp_size=8, pp_size=8,
                                         activation_recomputation="full"), repeat=500)


def bench_parallelism_optimizer(repeat: int = 3) -> float:
    """Median wall time of a cold ParallelismOptimizer search in a fresh process, after the
    import and catalog load (Llama-3 70B on 1,024 H100s: every tp × pp × microbatch × ZeRO ×
    recomputation layout; no plan built before)."""
    code = ("import time, mlsysim; m = mlsysim.Models.Llama3_70B; "
            "f = mlsysim.Systems.H100_Cluster_1024; opt = mlsysim.ParallelismOptimizer(); "
            "t = time.perf_counter(); opt.solve(m, f, batch_size=1024, seq_len=4096); "
            "print(time.perf_counter() - t)")
    return _fresh_process(code, repeat)


BUDGETS["distributed"] = 200e-6  # DESIGN §9
BENCHMARKS["distributed"] = bench_distributed
BUDGETS["parallelism_optimizer"] = 1.0  # issue 11: <= 2,000 configurations in <= 1 s
BENCHMARKS["parallelism_optimizer"] = bench_parallelism_optimizer


def bench_sweep_million(repeat: int = 3) -> float:
    """Median time of a 1,000,000-point design-space sweep into a tidy table: 10 models ×
    10 devices × 2 precisions × 100 batch sizes × 50 contexts (issue 12: ≤ 10 s)."""
    import numpy as np

    import mlsysim

    grid = {"models": ["Llama3_8B", "Llama3_70B", "Llama2_7B", "Llama2_13B", "Llama2_70B",
                       "GPT3", "GPTJ_6B", "Mixtral_8x7B", "GPT3_2_7B", "BLOOM_176B"],
            "hardware": ["A100", "A100_40GB", "B200", "GB200", "H100", "H100_PCIe", "H200",
                         "MI300X", "RTX4090", "Jetson_AGX_Orin"],
            "precisions": ["fp16", "bf16"], "batch_sizes": np.arange(1, 101),
            "seq_lens": np.linspace(128, 2048, 50).astype(int)}
    assert len(mlsysim.sweep(**grid)) == 1_000_000
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        mlsysim.sweep(**grid)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


BUDGETS["sweep_million"] = 10.0  # issue 12: 1,000,000 points <= 10 s
BENCHMARKS["sweep_million"] = bench_sweep_million


def _report(name: str, seconds: float) -> None:
    budget = BUDGETS.get(name)
    ratio = f"{seconds / budget:6.3f} of budget ({budget:g} s)" if budget else "(no budget)"
    print(f"{name:<23} {seconds * 1e3:10.4f} ms   {ratio}")


def main(argv: list[str]) -> None:
    wanted = argv or list(BENCHMARKS)
    for name in wanted:
        _report(name, BENCHMARKS[name]())
    if not argv:
        _report("first-use", bench_first_use())


if __name__ == "__main__":
    main(sys.argv[1:])

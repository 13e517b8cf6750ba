"""The serving solvers' fast path (kept rates, step times and step results: solvers/step_memo.py)
gives exactly what the full ``Engine.solve`` gives, and the first solve equals a repeated one."""

from __future__ import annotations

import numpy as np
import pytest

from mlsysim import CompressionModel, ContinuousBatchingModel, Engine, ServingModel
from mlsysim.results import PerformanceResult
from mlsysim.solvers import step_memo

SCALARS = tuple(f for f in PerformanceResult.__dataclass_fields__ if f != "steps")


def assert_same_step(fast: PerformanceResult, slow: PerformanceResult) -> None:
    for name in SCALARS:
        assert getattr(fast, name) == getattr(slow, name), name
    (fp, ft), (sp, st) = fast.steps, slow.steps
    assert fp.names == sp.names
    for name in ("flops", "bytes", "count"):
        assert np.array_equal(getattr(fp, name), getattr(sp, name)), name
    for name in ("t_operator", "t_compute", "t_memory", "t_link", "t_launch"):
        assert np.array_equal(getattr(ft, name), getattr(st, name)), name
    assert ft.latency == st.latency


CASES = [  # (model, hardware, method, scope, keywords)
    ("Llama3_8B", "H100", "int4", None, {}),
    ("Llama3_8B", "H100", "fp8", None, {"batch_size": 16, "seq_len": 4096}),
    ("Llama3_8B", "A100", "int8", None, {"output_len": 300, "kv_precision": "int8"}),
    ("Llama3_70B", "H100", "int8", "weights", {"batch_size": 3, "phase": "prefill"}),
    ("Llama3_70B", "H100", "fp8", None, {"batch_size": 64, "seq_len": 8192}),  # infeasible
    ("ResNet50", "H100", "int8", None, {"batch_size": 32}),
]


@pytest.mark.parametrize("model, hw, method, scope, kw", CASES)
def test_compression_equals_two_engine_solves_per_phase(model, hw, method, scope, kw):
    r = CompressionModel().solve(model, hw, method=method, scope=scope, **kw)
    scope = r.scope
    after = ({"precision": r.baseline, "weight_precision": method} if scope == "weights"
             else {"precision": method})
    kv = kw.get("kv_precision")
    is_llm = r.prompt_len is not None
    for p in r.phases:
        phase = p.phase if is_llm else None
        seq = p.before.seq_len
        common = dict(batch_size=kw.get("batch_size", 1), seq_len=seq, phase=phase)
        before = Engine.solve(model, hw, **common, precision=r.baseline,
                              kv_precision=r.baseline if is_llm else None)
        compressed = Engine.solve(model, hw, **common, **after,
                                  kv_precision=(kv or r.baseline) if is_llm else None)
        assert_same_step(p.before, before)
        assert_same_step(p.after, compressed)


def test_a_first_solve_equals_a_repeated_one():
    """Clearing the kept values changes nothing (the memo is a pure cache)."""
    solves = [
        lambda: CompressionModel().solve("Llama3_8B", "H100", method="int4", batch_size=5),
        lambda: ServingModel().solve("Llama3_8B", "DGX_H100", seq_len=1000, batch_size=7,
                                     tp=2, cached_prefix_len=200),
        lambda: ContinuousBatchingModel().solve("Llama3_8B", "H100", concurrency=24,
                                                prompt_len=900, output_len=150),
    ]
    for solve in solves:
        step_memo.clear()
        first = solve().to_dict()
        again = solve().to_dict()
        assert first == again


def test_kept_step_times_are_read_only():
    r = ServingModel().solve("Llama3_8B", "H100", seq_len=512, batch_size=2)
    _, times = r.decode_steps
    with pytest.raises(ValueError):
        times.t_operator[0] = 0.0

"""Vectorised sweep: every grid point equals the scalar Engine.solve, bad input is refused with
the parameter named, and a 100,000-point grid runs."""

import subprocess
import sys
import zlib

import numpy as np
import pytest

import mlsysim
from mlsysim import Engine, SweepResult, sweep

H100, A100 = mlsysim.Hardware.H100, mlsysim.Hardware.A100
L8, L70 = mlsysim.Models.Llama3_8B, mlsysim.Models.Llama3_70B

# (model, hardware, keyword arguments shared by the sweep and the scalar solve)
CASES = [
    ("Llama3_8B", "H100", {}),
    ("Llama3_8B", "H100", {"phase": "prefill", "precision": "bf16"}),
    ("Llama3_70B", "H100", {"precision": "fp8"}),
    ("Llama3_70B", "H200", {"is_training": True}),
    ("Llama3_8B", "A100", {"is_training": True, "recompute": True, "precision": "bf16"}),
    ("GPT3", "B200", {"precision": "fp8", "efficiency": 0.5, "memory_efficiency": 0.7}),
    ("Mixtral_8x7B", "MI300X", {}),
    ("BERT_Base", "T4", {}),
    ("GPT2", "Jetson_Orin_Nano", {"phase": "prefill"}),
    ("Llama2_7B", "Cerebras_CS3", {}),
    ("ResNet50", "A100", {}),
    ("DLRM", "TPUv5e", {"precision": "bf16", "is_training": True}),
    ("MobileNetV1_025", "ESP32_S3", {"precision": "int8"}),
]


def _grid_for(model):
    rng = np.random.default_rng(zlib.crc32(model.name.encode()))
    batches = np.unique(rng.integers(1, 2048, size=12))
    if model.kind != "transformer":
        return batches, None
    top = model.max_context or 2048
    return batches, np.unique(rng.integers(1, top + 1, size=9))


@pytest.mark.parametrize("model_key, hw_key, kwargs", CASES)
def test_every_sampled_point_equals_the_scalar_solve(model_key, hw_key, kwargs):
    model, hw = mlsysim.Models.get(model_key), mlsysim.Hardware.get(hw_key)
    batches, seqs = _grid_for(model)
    r = sweep(model, hw, batch_sizes=batches, seq_lens=seqs, **kwargs)
    assert r.shape == ((len(batches),) if seqs is None else (len(batches), len(seqs)))
    rng = np.random.default_rng(7)
    for index in {tuple(int(rng.integers(0, n)) for n in r.shape) for _ in range(12)}:
        b = int(batches[index[0]])
        extra = {} if seqs is None else {"seq_len": int(seqs[index[1]])}
        e = Engine.solve(model, hw, batch_size=b, **extra, **kwargs)
        assert r.batch_size[index] == b
        if seqs is not None:
            assert r.seq_len[index] == e.seq_len
        # the same formulas in the same order: equal to the last bit, not approximately
        assert r.flops[index] == e.flops and r.bytes[index] == e.bytes_moved
        assert r.t_compute[index] == e.t_compute and r.t_memory[index] == e.t_memory
        assert r.t_overhead[index] == e.t_overhead and r.latency_s[index] == e.latency_s
        assert r.throughput[index] == e.throughput.magnitude
        assert r.arithmetic_intensity[index] == e.arithmetic_intensity.magnitude
        assert r.footprint_bytes[index] == e.memory_footprint.magnitude
        assert bool(r.feasible[index]) == e.feasible
        assert r.bottleneck[index] == e.bottleneck
        assert r.unit == e.unit and r.phase == e.phase
    assert r.eta_compute == e.eta_compute and r.eta_memory == e.eta_memory


def test_decode_flops_and_bytes_by_hand():
    """The grid carries the hand-derived operator totals of tests/test_engine.py."""
    from tests.test_engine import llama3_8b_operators

    r = sweep(L8, H100, batch_sizes=[1, 16], seq_lens=[512, 4096], efficiency=1,
              memory_efficiency=1)
    for i, b in enumerate([1, 16]):
        for j, s in enumerate([512, 4096]):
            ops = llama3_8b_operators(b, s, "decode")
            assert r.flops[i, j] == pytest.approx(sum(c * f for c, f, _ in ops.values()),
                                                  rel=1e-12)
            assert r.bytes[i, j] == pytest.approx(sum(c * x for c, _, x in ops.values()),
                                                  rel=1e-12)


def test_feasibility_and_bottleneck_change_across_the_grid():
    # Llama-3 70B at fp8 is ~70 GB of weights: a small batch fits 80 GB, a large one does not
    r = sweep(L70, H100, batch_sizes=[1, 2, 512], seq_lens=[1024, 8192], precision="fp8")
    assert r.feasible[0, 0] and not r.feasible[2, 1]
    for (i, j), b, s in [((0, 0), 1, 1024), ((2, 1), 512, 8192), ((1, 1), 2, 8192)]:
        e = Engine.solve(L70, H100, batch_size=b, seq_len=s, precision="fp8")
        assert bool(r.feasible[i, j]) == e.feasible
    # ResNet-50 at batch 1 is launch-bound. At a huge batch the weights are amortised but
    # every layer reads its input and writes its output: intensity tends to FLOPs / (bytes of
    # every layer's input and output per image), below the H100's achievable ridge.
    rn = mlsysim.Models.ResNet50
    from mlsysim.catalog.layers import layer_table
    per_image = 2 * sum(op.inputs + op.outputs for op in layer_table("ResNet50"))
    limit = rn.flops_per_sample.to("flop").magnitude / per_image
    ridge = (H100.compute.precision_flops["fp16"].to("flop/s").magnitude * H100.gemm_efficiency
             / (H100.memory.bandwidth.to("B/s").magnitude * H100.efficiency.memory))
    small = sweep(rn, H100, batch_sizes=[1, 8192])
    assert limit < ridge
    assert list(small.bottleneck) == ["Overhead", "Memory"]
    assert small.arithmetic_intensity[1] == pytest.approx(limit, rel=0.05)
    short = sweep(L8, H100, batch_sizes=[1, 4096], seq_lens=128)
    assert list(short.bottleneck) == ["Memory", "Compute"]


def test_grid_shapes_follow_the_arguments():
    assert sweep(L8, H100, batch_sizes=[1, 2, 4], seq_lens=[128, 256]).shape == (3, 2)
    assert sweep(L8, H100, batch_sizes=8, seq_lens=[128, 256]).shape == (2,)
    assert sweep(L8, H100, batch_sizes=np.arange(1, 6)).shape == (5,)
    one = sweep(L8, H100, batch_sizes=8, seq_lens=512)
    assert one.shape == () and len(one) == 1
    assert one.latency_s == Engine.solve(L8, H100, batch_size=8, seq_len=512).latency_s
    cnn = sweep("ResNet50", "A100", batch_sizes=[1, 2])
    assert cnn.seq_len is None and cnn.unit == "sample"
    default_ctx = sweep(L8, H100, batch_sizes=[1, 2])
    assert (default_ctx.seq_len == Engine.solve(L8, H100).seq_len).all()


def test_results_are_read_only_arrays():
    r = sweep(L8, H100, batch_sizes=[1, 2])
    with pytest.raises(ValueError):
        r.latency_s[0] = 0.0
    assert r.feasible.dtype == bool and r.batch_size.dtype.kind == "i"


@pytest.mark.parametrize("kwargs, name", [
    ({"batch_sizes": 0}, "batch_sizes"),
    ({"batch_sizes": [1, 0]}, "batch_sizes"),
    ({"batch_sizes": [1, 2.0]}, "batch_sizes"),
    ({"batch_sizes": 2.5}, "batch_sizes"),
    ({"batch_sizes": "8"}, "batch_sizes"),
    ({"batch_sizes": [True, False]}, "batch_sizes"),
    ({"batch_sizes": []}, "batch_sizes"),
    ({"batch_sizes": [[1, 2], [3, 4]]}, "batch_sizes"),
    ({"seq_lens": [512, -1]}, "seq_lens"),
    ({"seq_lens": [512.0]}, "seq_lens"),
    ({"seq_lens": [10**6]}, "seq_lens"),
    ({"precision": "fp9"}, "precision"),
    ({"efficiency": 1.5}, "efficiency"),
    ({"memory_efficiency": 0}, "memory_efficiency"),
    ({"phase": "warmup"}, "phase"),
    ({"phase": "decode", "is_training": True}, "phase"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sweep(L8, H100, **kwargs)


def test_unsupported_precision_and_misplaced_seq_lens():
    with pytest.raises(ValueError, match=r"fp8.*supports"):
        sweep(L8, A100, batch_sizes=[1, 2], precision="fp8")
    with pytest.raises(ValueError, match="seq_lens"):
        sweep("ResNet50", A100, batch_sizes=[1, 2], seq_lens=[128])
    with pytest.raises(ValueError, match="decode"):
        sweep("BERT_Base", A100, phase="decode")


def test_a_100k_point_sweep_runs():
    r = sweep(L8, H100, batch_sizes=np.arange(1, 1001), seq_lens=np.arange(64, 8192 + 1, 82))
    assert len(r) == 100_000 and r.shape == (1000, 100)
    assert np.isfinite(r.latency_s).all() and (r.latency_s > 0).all()
    # throughput never falls as the batch grows at a fixed context (while it fits)
    fits = r.feasible[:, 0]
    assert (np.diff(r.throughput[fits, 0]) >= 0).all()


def test_rows_best_and_table():
    r = sweep(L70, H100, batch_sizes=[1, 4, 512], seq_lens=[2048], precision="fp8")
    rows = r.to_rows()
    assert len(rows) == 3 and rows[0]["batch_size"] == 1 and rows[0]["seq_len"] == 2048
    assert isinstance(rows[0]["latency_s"], float) and rows[2]["feasible"] is False
    best = r.best()
    assert best["feasible"] and best["throughput"] == max(
        row["throughput"] for row in rows if row["feasible"])
    text = str(r.table())
    assert "Llama-3 70B" in text and "NO (as if it fit)" in text and "<-- !" in text
    assert "mlsysim-warn" in r.table()._repr_html_()
    big = sweep(L8, H100, batch_sizes=np.arange(1, 101))
    assert "(24 of 100 points)" in str(big.table())
    assert sweep(L70, H100, batch_sizes=[4096], precision="fp16").best() is None


def test_public_names_and_import_order():
    assert "sweep" in mlsysim.__all__ and "SweepResult" in mlsysim.__all__
    assert isinstance(sweep(L8, H100), SweepResult)
    # the module is mlsysim.sweeps: importing it never rebinds the function mlsysim.sweep
    code = ("from mlsysim.sweeps import SweepResult\nimport mlsysim\n"
            "r = mlsysim.sweep('Llama3_8B', 'H100', batch_sizes=[1, 2])\n"
            "assert isinstance(r, SweepResult) and r.shape == (2,)\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "ok"

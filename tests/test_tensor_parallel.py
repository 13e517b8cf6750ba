"""Tensor parallelism across a node: split work, ring all-reduces, per-device feasibility."""

import pytest

import mlsysim
from mlsysim import Engine, TensorParallelModel

TP = TensorParallelModel()
DGX = mlsysim.Systems.DGX_H100


def test_gpt3_fits_an_8_gpu_node():
    r = TP.solve(mlsysim.Models.GPT3, DGX, batch_size=1)
    assert r.feasible and r.devices == 8


def test_by_hand_decode_on_8_gpus():
    m = mlsysim.Models.Llama2_70B
    r = TP.solve(m, DGX, tp=8, batch_size=1, seq_len=1024, efficiency=1, memory_efficiency=1)
    single = Engine.solve(m, DGX.accelerator, seq_len=1024, efficiency=1, memory_efficiency=1)
    weights = single.footprint_breakdown["weights"].to("B").magnitude
    kv_read = single.total_bytes.to("B").magnitude - weights
    # weights split 8 ways; Llama-2-70B has 8 KV heads, so the KV cache splits 8 ways too
    bw = DGX.accelerator.memory.bandwidth.to("B/s").magnitude
    assert r.latency_memory.to("s").magnitude == pytest.approx((weights + kv_read) / 8 / bw)
    # 2 all-reduces per layer of d × 2 bytes, ring over 8: 14 steps of α plus 14/8 · m / β
    alpha = DGX.intra_link.latency.to("s").magnitude
    beta = DGX.intra_link.bandwidth.to("B/s").magnitude
    m_bytes = m.hidden_dim * 2
    comm = 2 * m.layers * (14 * alpha + 14 / 8 * m_bytes / beta)
    assert r.latency_communication.to("s").magnitude == pytest.approx(comm)


def test_tp1_matches_the_single_device_roofline():
    m = mlsysim.Models.Llama3_8B
    a = TP.solve(m, DGX, tp=1)
    b = Engine.solve(m, DGX.accelerator)
    assert a.latency.magnitude == pytest.approx(b.latency.magnitude)


def test_bad_tp():
    with pytest.raises(ValueError, match="exceeds"):
        TP.solve(mlsysim.Models.GPT3, DGX, tp=16)
    with pytest.raises(ValueError, match="divide"):
        TP.solve(mlsysim.Models.GPT3, DGX, tp=5)
    with pytest.raises(ValueError, match="tp must be a positive integer"):
        TP.solve(mlsysim.Models.GPT3, DGX, tp=0)
    with pytest.raises(ValueError, match="did you mean 'DGX_H100'"):
        TP.solve(mlsysim.Models.GPT3, "H100")
    with pytest.raises(ValueError, match="must be a node"):
        TP.solve(mlsysim.Models.GPT3, mlsysim.Hardware.H100)

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
    """Weights and (8 KV heads) the KV cache split 8 ways; an all-reduce of the step's
    activations after each attention and MLP, at the fastest of the node's NCCL lines."""
    from mlsysim.physics.collectives import allreduce_time

    m = mlsysim.Models.Llama2_70B
    r = TP.solve(m, DGX, tp=8, batch_size=1, seq_len=1024, efficiency=1, memory_efficiency=1)
    single = Engine.solve(m, DGX.accelerator, seq_len=1024, efficiency=1, memory_efficiency=1)
    for name in ("qkv_proj", "out_proj", "mlp_up", "mlp_down", "lm_head", "attention"):
        one = single.operators[name]
        eight = r.operators[name]
        assert eight["flops"] == pytest.approx(one["flops"] / 8, rel=1e-9), name
    # per layer: the context's K and V read, the new token's written, Q in and O out (fp16);
    # a device holds 1/8 of the KV heads and of the query heads
    per_layer = (1024 + 1) * 2 * m.n_kv_heads * m.head_dim * 2 + 2 * m.hidden_dim * 2
    assert (single.operators["attention"]["bytes"] - r.operators["attention"]["bytes"]
            == pytest.approx(m.layers * per_layer * 7 / 8, rel=1e-9))
    beta = DGX.intra_link.bandwidth.to("B/s").magnitude
    lines = [(ln.algorithm, ln.step_latency.to("s").magnitude, ln.efficiency)
             for ln in DGX.intra_link.collectives.lines]
    message = m.hidden_dim * 2  # one token's activations at fp16
    per = allreduce_time(message, 8, beta, lines)
    small = allreduce_time(64.0, 8, beta, lines)  # the sampling step's reduction
    comm = (2 * m.layers + 1) * per + small
    assert r.latency_communication.to("s").magnitude == pytest.approx(comm, rel=1e-9)
    assert r.operators["allreduce_attention"]["count"] == m.layers


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


def test_a_shard_that_does_not_fit_names_the_devices_the_whole_step_needs():
    """GPT-3 over 4 GPUs: each shard is over one GPU's usable memory; the constraint counts the
    GPUs the whole footprint needs (ceil(total / usable)), not more shards per GPU."""
    import math

    r = TP.solve(mlsysim.Models.GPT3, DGX, tp=4, batch_size=1)
    (c,) = r.constraint_trace
    usable = mlsysim.Hardware.H100.memory.usable.to("B").magnitude
    assert not r.feasible and c.available == usable
    assert c.needed == pytest.approx(r.memory_footprint.to("B").magnitude / 4, rel=1e-12)
    assert c.devices == math.ceil(r.memory_footprint.to("B").magnitude / usable) > 4
    assert c.startswith("per device (1 of 4): memory") and c.endswith(
        f"at least {c.devices} devices in all")

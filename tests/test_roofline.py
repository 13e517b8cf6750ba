"""Roofline solver: hand-derived latencies from catalog inputs, feasibility, bad inputs."""

import math

import pytest

import mlsysim
from mlsysim import Engine, SingleNodeModel

H100, A100 = mlsysim.Hardware.H100, mlsysim.Hardware.A100
L8, GPT3 = mlsysim.Models.Llama3_8B, mlsysim.Models.GPT3


def _si(q, unit):
    return q.to(unit).magnitude


def test_llama3_8b_decode_on_h100_by_hand():
    """Decode, batch 1, context 2048, fp16, pure bound (η = 1)."""
    P, L, d = _si(L8.parameters, "param"), L8.layers, L8.hidden_dim
    kv_token = 2 * L * L8.kv_heads * (d // L8.heads) * 2            # bytes
    bytes_moved = 2 * P + kv_token * (2048 + 1)
    flops = 2 * P + 4 * L * d * 2048
    t_m = bytes_moved / _si(H100.memory.bandwidth, "B/s")
    t_c = flops / _si(H100.compute.precision_flops["fp16"], "flop/s")
    overhead = L * _si(H100.dispatch_overhead, "s")
    r = Engine.solve(L8, H100, batch_size=1, precision="fp16", efficiency=1,
                     memory_efficiency=1)
    assert r.latency_memory.to("s").magnitude == pytest.approx(t_m, rel=1e-9)
    assert r.latency_compute.to("s").magnitude == pytest.approx(t_c, rel=1e-9)
    assert r.latency.to("s").magnitude == pytest.approx(max(t_c, t_m) + overhead, rel=1e-9)
    assert r.bottleneck == "Memory" and r.feasible
    assert r.throughput.to("token/s").magnitude == pytest.approx(1 / r.latency.to("s").magnitude)
    assert r.arithmetic_intensity.to("flop/B").magnitude == pytest.approx(flops / bytes_moved)


def test_catalog_efficiencies_are_used_and_reported():
    pure = Engine.solve(L8, H100, efficiency=1, memory_efficiency=1)
    real = Engine.solve(L8, H100)
    assert real.eta_memory == H100.efficiency.memory
    assert real.latency_memory.magnitude == pytest.approx(
        pure.latency_memory.magnitude / H100.efficiency.memory)


def test_gpt3_fp16_does_not_fit_one_h100():
    r = SingleNodeModel().solve(model=GPT3, hardware=H100, batch_size=1, precision="fp16")
    assert not r.feasible
    # 175e9 params × 2 B = 350 GB of weights alone; 80 GB per H100 → at least 5 devices
    assert "at least 5 devices" in r.constraint_trace[0]
    assert "350 GB" in r.constraint_trace[0]
    assert "INFEASIBLE" in str(r) and "INFEASIBLE" in r._repr_html_()
    assert "as if it fit" in str(r)


def test_resnet50_flops_are_twice_the_macs():
    r = Engine.solve(mlsysim.Models.ResNet50, A100, batch_size=1)
    macs = mlsysim.Models.ResNet50.macs_per_sample.to("flop").magnitude
    assert r.total_flops.to("flop").magnitude == pytest.approx(2 * macs)


def test_small_model_at_batch_one_is_overhead_bound():
    r = Engine.solve(mlsysim.Models.ResNet50, H100, batch_size=1)
    assert r.bottleneck == "Overhead"


def test_prefill_is_compute_bound_at_long_prompts():
    r = Engine.solve(L8, H100, phase="prefill", seq_len=2048)
    assert r.bottleneck == "Compute"
    assert r.throughput.units == mlsysim.ureg("token/s").units


def test_batch_moves_decode_toward_compute():
    ai = [Engine.solve(L8, H100, batch_size=b, seq_len=128).arithmetic_intensity.magnitude
          for b in (1, 8, 64, 512)]
    assert ai == sorted(ai) and ai[-1] > 100 * ai[0]  # weights amortised over the batch


def test_training_step_counts_three_forwards():
    fwd = Engine.solve(L8, H100, phase="prefill", seq_len=1024, batch_size=2)
    train = Engine.solve(L8, H100, is_training=True, seq_len=1024, batch_size=2)
    assert train.total_flops.magnitude == pytest.approx(3 * fwd.total_flops.magnitude)
    # 16 B/param of weights, gradients and Adam state: 8.03e9 × 16 = 128 GB > 80 GB
    assert not train.feasible


def test_moe_flops_from_active_bytes_from_all():
    mix = mlsysim.Models.Mixtral_8x7B
    r = Engine.solve(mix, mlsysim.Hardware.H200, efficiency=1, memory_efficiency=1)
    active = mix.moe.active_parameters.to("param").magnitude
    total = mix.parameters.to("param").magnitude
    attention = 4 * mix.layers * mix.hidden_dim * 2048
    assert r.total_flops.magnitude == pytest.approx(2 * active + attention)
    assert r.memory_footprint.to("B").magnitude > 2 * total


def test_encoder_defaults_to_a_full_pass():
    r = Engine.solve(mlsysim.Models.BERT_Large, A100)
    assert r.phase == "prefill" and r.seq_len == 512
    with pytest.raises(ValueError, match="encoder"):
        Engine.solve(mlsysim.Models.BERT_Large, A100, phase="decode")


def test_names_are_accepted_as_strings():
    assert Engine.solve("Llama3_8B", "H100").latency == Engine.solve(L8, H100).latency


@pytest.mark.parametrize("batch", [0, -1, 2.5, "8", True, None])
def test_bad_batch_size_names_the_parameter(batch):
    with pytest.raises(ValueError, match="batch_size"):
        Engine.solve(L8, H100, batch_size=batch)


@pytest.mark.parametrize("eff", [0, 1.5, -0.1, "high"])
def test_bad_efficiency(eff):
    with pytest.raises(ValueError, match="efficiency"):
        Engine.solve(L8, H100, efficiency=eff)


@pytest.mark.parametrize("seq", [-5, 0, 3.5, 10**6])
def test_bad_seq_len(seq):
    with pytest.raises(ValueError, match="seq_len"):
        Engine.solve(L8, H100, seq_len=seq)


def test_unsupported_precision_lists_supported_ones():
    with pytest.raises(ValueError, match=r"fp8.*not supported by NVIDIA A100.*supports"):
        Engine.solve(L8, A100, precision="fp8")
    with pytest.raises(ValueError, match="precision must be one of"):
        Engine.solve(L8, A100, precision="fp12")


def test_bad_phase():
    with pytest.raises(ValueError, match="phase must be one of"):
        Engine.solve(L8, H100, phase="generate")


def test_unknown_model_name():
    with pytest.raises(ValueError, match="did you mean"):
        Engine.solve("Llama3_80B", "H100")


def test_result_is_frozen_and_serialisable():
    r = Engine.solve(L8, H100)
    with pytest.raises(AttributeError):
        r.latency_s = 1.0
    d = r.to_dict()
    assert d["latency"]["unit"] == "s" and math.isfinite(d["latency"]["value"])
    assert d["bottleneck"] == "Memory"


def test_energy_is_power_times_time():
    r = Engine.solve(L8, H100)
    assert r.energy.to("J").magnitude == pytest.approx(
        H100.tdp.to("W").magnitude * r.latency.to("s").magnitude)

"""Physics formulas against hand-derived values (each expectation is worked out in the test)."""

import pytest

from mlsysim.physics import memory as mem
from mlsysim.physics import transformer as tf
from mlsysim.physics.roofline import ridge_point, roofline_times


def test_kv_bytes_per_token_gqa():
    # Llama-3 8B: 32 layers, 8 KV heads of dim 128, fp16: 2 (K,V) × 32 × 8 × 128 × 2 B
    assert tf.kv_bytes_per_token(32, 8, 128, 2) == 131_072


def test_kv_bytes_mha_vs_mqa():
    mha = tf.kv_bytes_per_token(24, 16, 64, 2)
    mqa = tf.kv_bytes_per_token(24, 1, 64, 2)
    assert mha == 16 * mqa == 2 * 24 * 16 * 64 * 2


def test_decode_flops():
    # B · (2P + 4·L·d·s) with P = 1e9, L = 10, d = 1000, s = 100, B = 3
    assert tf.decode_flops(1e9, 10, 1000, 100, 3) == 3 * (2e9 + 4 * 10 * 1000 * 100)


def test_causal_attention_is_the_exact_sum():
    L, d, s = 2, 8, 50
    exact = sum(4 * L * d * i for i in range(1, s + 1))  # token i attends to i tokens
    assert tf.causal_attention_flops(L, d, s) == pytest.approx(exact)


def test_prefill_flops_causal_and_bidirectional():
    P, L, d, s, B = 1e6, 4, 64, 128, 2
    causal = B * (2 * P * s + 2 * L * d * s * (s + 1))
    bidirectional = B * (2 * P * s + 4 * L * d * s * s)
    assert tf.prefill_flops(P, L, d, s, B) == pytest.approx(causal)
    assert tf.prefill_flops(P, L, d, s, B, causal=False) == pytest.approx(bidirectional)


def test_training_is_three_forwards_or_four_with_recompute():
    assert tf.training_flops(10.0) == 30.0
    assert tf.training_flops(10.0, recompute=True) == 40.0


def test_decode_bytes_reads_weights_and_kv():
    # 1 GB weights; 100 kB/token KV; 3 sequences at context 999 (+1 token written each)
    assert tf.decode_bytes(1e9, 1e5, 999, 3) == pytest.approx(1e9 + 3 * 1e5 * 1000)


def test_activation_memory_korthikanti():
    # s=2048, b=1, h=12288, a=96 (GPT-3): s·b·h·(34 + 5·a·s/h) bytes per layer
    s, b, h, a = 2048, 1, 12288, 96
    assert tf.activation_bytes_per_layer(s, b, h, a) == pytest.approx(
        s * b * h * (34 + 5 * a * s / h))
    assert tf.activation_bytes_per_layer(s, b, h, a, recompute=True) == 2 * s * b * h


def test_adam_state_is_16_bytes_per_param():
    assert mem.training_state_bytes(1e9) == 16e9
    assert mem.weight_bytes(175e9, 2) == 350e9


def test_devices_needed_rounds_up():
    assert mem.devices_needed(350e9, 80e9) == 5
    assert mem.devices_needed(80e9, 80e9) == 1
    assert mem.devices_needed(1.0, 80e9) == 1


def test_roofline_terms_and_bottleneck():
    # 1 TFLOP at 100 TFLOP/s = 10 ms; 1 GB at 1 TB/s = 1 ms → compute-bound, latency 10 ms
    t_c, t_m, lat, b = roofline_times(1e12, 1e9, 100e12, 1e12)
    assert (t_c, t_m, lat, b) == (pytest.approx(0.01), pytest.approx(0.001),
                                  pytest.approx(0.01), "Compute")
    # efficiencies stretch the times: 0.5 compute → 20 ms
    assert roofline_times(1e12, 1e9, 100e12, 1e12, eta_compute=0.5)[0] == pytest.approx(0.02)
    # overhead larger than both terms sets the bottleneck, and adds to the latency
    t_c, t_m, lat, b = roofline_times(1e9, 1e6, 100e12, 1e12, overhead=1e-3)
    assert b == "Overhead" and lat == pytest.approx(1e-3 + 1e-5)


def test_ridge_point():
    assert ridge_point(989.4e12, 3.35e12) == pytest.approx(295.3, rel=1e-3)

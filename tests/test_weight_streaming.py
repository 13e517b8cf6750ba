"""Weight streaming on wafer-scale devices: hand-derived layer times, B*, the SRAM ceiling."""

import math

import pytest

import mlsysim
from mlsysim import WeightStreamingModel

CS3, GPT3, L70 = mlsysim.Hardware.Cerebras_CS3, mlsysim.Models.GPT3, mlsysim.Models.Llama3_70B
WS = WeightStreamingModel()


def _gpt3_decode_flops(batch, seq):
    """Hand count of one GPT-3 decode step: per layer the QKV (3d²), output (d²) and MLP (8d²)
    GEMMs, attention over s+1 tokens (4·(s+1)·d), two norms (5d each) and GELU (5·4d); then
    the final norm, the tied LM head (V·d) and sampling (5V)."""
    d, L, V = 12288, 96, 50257
    layer = 2 * 12 * d * d + 4 * (seq + 1) * d + 2 * 5 * d + 5 * 4 * d
    return batch * (L * layer + 5 * d + 2 * V * d + 5 * V)


def _hand(model, hw, batch, seq):
    """Independent derivation of the per-layer times and the SRAM footprint (decode, fp16)."""
    P, L, d = model.parameters.to("param").magnitude, model.layers, model.hidden_dim
    layer_bytes = 2 * P / L
    inj = hw.wafer.injection_bandwidth.to("B/s").magnitude
    # every operator at half the dense peak (the class's 0.5); on-wafer SRAM reads are far too
    # fast to matter and no kernel is launched
    rate = hw.compute.precision_flops["fp16"].to("flop/s").magnitude * 0.5
    kv_token = 2 * L * model.n_kv_heads * (d // model.heads) * 2
    per_seq_sram = kv_token * (seq + 1) + (d + model.ffn_dim) * 2
    sram = hw.sram.capacity.to("B").magnitude
    return dict(t_inject=layer_bytes / inj,
                t_compute=_gpt3_decode_flops(batch, seq) / rate / L,
                b_star=(layer_bytes / inj) / (_gpt3_decode_flops(1, seq) / rate / L),
                sram_used=2 * layer_bytes + batch * per_seq_sram,
                sram_limit=math.floor((sram - 2 * layer_bytes) / per_seq_sram))


def test_layer_times_match_hand_derivation():
    h = _hand(GPT3, CS3, 1, 2048)
    r = WS.solve(model=GPT3, hardware=CS3, seq_len=2048, batch_size=1, precision="fp16")
    assert r.layer_injection_time.to("s").magnitude == pytest.approx(h["t_inject"])
    assert r.layer_compute_time.to("s").magnitude == pytest.approx(h["t_compute"], rel=1e-6)
    assert r.b_star == pytest.approx(h["b_star"], rel=1e-6)
    assert r.sram_batch_limit == h["sram_limit"]
    assert r.wafer_memory_utilization == pytest.approx(
        h["sram_used"] / CS3.sram.capacity.to("B").magnitude)
    assert r.bottleneck == "Injection"
    # injection overlaps compute layer by layer: the step is layers × the slower of the two
    assert r.step_latency_s == pytest.approx(96 * max(h["t_inject"], h["t_compute"]), rel=1e-6)


def test_optimal_batch_is_feasible_and_names_its_wall():
    r = WS.solve(model=GPT3, hardware=CS3, seq_len=2048, batch_size=1, precision="fp16")
    assert r.optimal_batch_size <= r.sram_batch_limit  # never an optimum the SRAM rejects
    at_opt = WS.solve(model=GPT3, hardware=CS3, seq_len=2048,
                      batch_size=max(1, r.optimal_batch_size), precision="fp16")
    assert at_opt.feasible
    if r.b_star > r.sram_batch_limit:
        assert r.limiting_wall.startswith("SRAM")
        over = WS.solve(model=GPT3, hardware=CS3, seq_len=2048,
                        batch_size=r.sram_batch_limit + 1, precision="fp16")
        assert not over.feasible and "SRAM" in over.constraint_trace[0]


def test_short_context_lets_compute_catch_up():
    """With a short context the KV cache is small, so B* fits under the SRAM ceiling."""
    r = WS.solve(model=L70, hardware=CS3, seq_len=128, batch_size=1, precision="fp16")
    if r.b_star <= r.sram_batch_limit:
        assert r.optimal_batch_size == math.ceil(r.b_star)
        big = WS.solve(model=L70, hardware=CS3, seq_len=128,
                       batch_size=r.optimal_batch_size, precision="fp16")
        assert big.bottleneck == "Compute"


def test_throughput_grows_until_b_star_then_flattens():
    r1 = WS.solve(model=L70, hardware=CS3, seq_len=128, batch_size=1)
    b = math.ceil(r1.b_star)
    t = [WS.solve(model=L70, hardware=CS3, seq_len=128, batch_size=n).throughput_tokens_per_sec
         for n in (1, max(1, b // 2), b, 2 * b)]
    assert t[0] < t[1] < t[2]
    assert t[3] == pytest.approx(t[2], rel=0.01)


def test_gpu_without_wafer_fields_is_refused():
    with pytest.raises(ValueError, match="not a weight-streaming"):
        WS.solve(model=GPT3, hardware=mlsysim.Hardware.H100, seq_len=2048)


def test_cnn_is_refused():
    with pytest.raises(ValueError, match="per-sample network"):
        WS.solve(model=mlsysim.Models.ResNet50, hardware=CS3, seq_len=1)


def test_estimated_injection_bandwidth_is_disclosed():
    r = WS.solve(model=GPT3, hardware=CS3, seq_len=2048)
    prov = CS3.source_of("wafer.injection_bandwidth")
    if prov.kind == "estimate":
        assert any("estimate" in n for n in r.notes)


def test_prefill_phase_counts_the_prompt():
    r = WS.solve(model=L70, hardware=CS3, seq_len=512, batch_size=2, phase="prefill")
    assert r.units_per_step == 2 * 512


@pytest.mark.parametrize("batch", [0, -1, 2.5, "8"])
def test_bad_batch(batch):
    with pytest.raises(ValueError, match="batch_size"):
        WS.solve(model=GPT3, hardware=CS3, seq_len=2048, batch_size=batch)


def test_weights_resident_mode_keeps_weights_off_the_injection_link():
    """Llama-3 8B fits one CS-3's SRAM: no injection operator, one layer crossing per layer;
    Llama-3 70B needs four wafers and three hops between them."""
    one = mlsysim.WaferResidentModel().solve("Llama3_8B", CS3, seq_len=256)
    assert one.devices == 1 and one.feasible
    names = {row["name"] for row in one.operators}
    assert "weight_injection" not in names and one.operators["layer_crossing"]["count"] == 32
    four = mlsysim.WaferResidentModel().solve("Llama3_70B", CS3, seq_len=256)
    assert four.devices == 4 and four.operators["wafer_hop"]["count"] == 3
    # a 70B layer holds 3.5x the bytes of an 8B layer: its crossing takes sqrt(3.5)x longer
    t8 = one.operators["layer_crossing"]["time_s"] / 32
    t70 = four.operators["layer_crossing"]["time_s"] / 80
    ratio = (70.6e9 / 80) / (8.03e9 / 32)
    assert t70 / t8 == pytest.approx(math.sqrt(ratio), rel=0.01)
    # streaming the same 70B model through one wafer is far slower than holding it in SRAM
    streamed = WS.solve(model=L70, hardware=CS3, seq_len=256)
    assert streamed.step_latency_s > 10 * four.latency_s


def test_pipelined_wafers_keep_latency_and_multiply_throughput_up_to_the_busiest_wafer():
    """70B on 4 wafers (20 layers each): with k batches in flight a token still takes the whole
    step L, each wafer holds k batches' KV cache for its layers, and a batch completes every
    max(L / k, busiest wafer) where the busiest wafer spends (L - 3 hops) / 4 + one hop."""
    resident = mlsysim.WaferResidentModel()
    one = resident.solve("Llama3_70B", CS3, seq_len=2048, batch_size=4)
    latency, hop = one.latency_s, one.operators["wafer_hop"]["time_s"] / 3
    assert one.devices == 4 and one.step_interval_s == latency
    kv = dict(one.footprint_parts)["kv_cache"]
    for k in (2, 4):
        r = resident.solve("Llama3_70B", CS3, seq_len=2048, batch_size=4, in_flight=k)
        assert r.devices == 4 and r.latency_s == pytest.approx(latency, rel=1e-12)
        busiest = (latency - 3 * hop) / 4 + hop
        assert r.step_interval_s == pytest.approx(max(latency / k, busiest), rel=1e-12)
        assert r.throughput.magnitude == pytest.approx(
            4 / r.step_interval_s, rel=1e-12)
        assert dict(r.footprint_parts)["kv_cache"] == pytest.approx(k * kv, rel=1e-12)
        assert r.throughput.magnitude <= k * one.throughput.magnitude * (1 + 1e-12)
    full = resident.solve("Llama3_70B", CS3, seq_len=2048, batch_size=4, in_flight=4)
    assert full.step_interval_s == pytest.approx((latency + hop) / 4, rel=1e-12)
    assert full.energy.magnitude < one.energy.magnitude


def test_pipeline_depth_is_validated_and_sizes_the_wafer_count():
    resident = mlsysim.WaferResidentModel()
    with pytest.raises(ValueError, match=r"in_flight=5: a pipeline over 4 wafers keeps 1 to 4"):
        resident.solve("Llama3_70B", CS3, wafers=4, in_flight=5)
    with pytest.raises(ValueError, match="in_flight"):
        resident.solve("Llama3_70B", CS3, in_flight=0)
    # a long context: holding the KV cache of more batches needs more wafers (or no more)
    counts = [resident.solve("Llama3_70B", CS3, seq_len=8192, batch_size=16,
                             in_flight=k).devices for k in (1, 4, 8)]
    assert counts == sorted(counts) and counts[-1] > counts[0]
    # without a wafer count, a deeper pipeline gets at least one wafer per batch in flight
    assert resident.solve("Llama3_8B", CS3, seq_len=256, in_flight=2).devices == 2

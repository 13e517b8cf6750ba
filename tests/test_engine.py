"""The per-operator engine: hand-derived operators of Llama-3 8B, the combinator's arithmetic,
the teaching roofline, feasibility, and bad inputs."""

import math

import pytest

import mlsysim
from mlsysim import Engine, SingleNodeModel

H100, A100 = mlsysim.Hardware.H100, mlsysim.Hardware.A100
L8, GPT3 = mlsysim.Models.Llama3_8B, mlsysim.Models.GPT3

# Llama-3 8B, from its config.json (independently of the engine's shape code)
D, LAYERS, HEADS, KV_HEADS, HEAD, FFN, VOCAB = 4096, 32, 32, 8, 128, 14336, 128256
KV = KV_HEADS * HEAD  # 1024 columns each for K and V


def llama3_8b_operators(batch, context, phase, b=2.0):
    """{operator: (count, FLOPs per instance, bytes per instance)} at ``b`` bytes per element
    (weights, activations and KV cache alike), derived by hand."""
    decode = phase == "decode"
    n = batch * (1 if decode else context)  # tokens in the step
    attended = context + 1 if decode else (context + 1) / 2
    qkv_w, out_w = D * (D + 2 * KV), D * D
    up_w, down_w = 2 * D * FFN, FFN * D  # gate and up fused; down
    ops = {
        "attn_norm": (LAYERS, 5 * n * D, 4 * n * D * b),
        "qkv_proj": (LAYERS, 2 * n * qkv_w, qkv_w * b + n * (D + D + 2 * KV) * b),
        "out_proj": (LAYERS, 2 * n * out_w, out_w * b + n * 2 * D * b),
        "mlp_norm": (LAYERS, 5 * n * D, 4 * n * D * b),
        "mlp_up": (LAYERS, 2 * n * up_w, up_w * b + n * (D + 2 * FFN) * b),
        "mlp_act": (LAYERS, 5 * n * FFN, n * 3 * FFN * b),
        "mlp_down": (LAYERS, 2 * n * down_w, down_w * b + n * (FFN + D) * b),
        "embedding": (1, 0, n * D * 2 * b),
        "final_norm": (1, 5 * n * D, 2 * n * D * b),
        "lm_head": (1, 2 * batch * VOCAB * D, VOCAB * D * b + batch * (D + VOCAB) * b),
        "sampling": (1, 5 * batch * VOCAB, batch * VOCAB * b),
    }
    if decode:  # read the cached K and V of the context, write the new token's, Q in, O out
        att_bytes = batch * context * 2 * KV * b + n * 2 * KV * b + 2 * n * D * b
    else:  # FlashAttention reads Q, K, V once, writes O, and writes the prompt's KV cache
        att_bytes = n * (D + 2 * KV) * b + n * 2 * KV * b + n * D * b
    ops["attention"] = (LAYERS, 4 * n * attended * D, att_bytes)
    return ops


@pytest.mark.parametrize("batch, context, phase", [(1, 2048, "decode"), (16, 512, "decode"),
                                                   (1, 2048, "prefill"), (4, 128, "prefill")])
def test_llama3_8b_operators_by_hand(batch, context, phase):
    r = Engine.solve(L8, H100, batch_size=batch, seq_len=context, phase=phase)
    table = {row["name"]: row for row in r.operators}
    expected = llama3_8b_operators(batch, context, phase)
    assert set(table) == set(expected)
    for name, (count, flops, nbytes) in expected.items():
        assert table[name]["count"] == count, name
        assert table[name]["flops"] == pytest.approx(count * flops, rel=1e-12), name
        assert table[name]["bytes"] == pytest.approx(count * nbytes, rel=1e-12), name
    total = sum(c * f for c, f, _ in expected.values())
    assert r.total_flops.to("flop").magnitude == pytest.approx(total, rel=1e-12)


def test_decode_reads_each_weight_once_and_gathers_the_embedding():
    r = Engine.solve(L8, H100, batch_size=1, seq_len=1)
    weights_read = sum(row["bytes"] for row in r.operators if row["kind"] == "gemm")
    # every weight matrix except the embedding table, at 2 bytes, plus a few KB of activations
    streamed = 2 * (L8.shape_parameters - VOCAB * D)
    assert weights_read == pytest.approx(streamed, rel=1e-3)
    assert r.operators["embedding"]["bytes"] == 1 * D * 2 * 2  # one row, read and written


def test_operator_times_sum_to_the_step():
    for kw in ({}, {"batch_size": 64}, {"phase": "prefill", "seq_len": 4096}):
        r = Engine.solve(L8, H100, **kw)
        assert r.operators.total_seconds == pytest.approx(r.latency_s, rel=1e-12)
        assert sum(r.time_by_resource.values()) == pytest.approx(r.latency_s, rel=1e-12)


def test_operator_time_is_the_combinator_by_hand():
    """One GEMM: max(FLOPs / (peak·η_c(rows)), bytes / (BW·η_m)) + launch, with the class's
    calibration read straight from the catalog."""
    r = Engine.solve(L8, H100, batch_size=256, seq_len=128)
    row = r.operators["mlp_up"]
    cal = H100.device_class
    peak = H100.compute.precision_flops["fp16"].to("flop/s").magnitude
    eta_c = cal.gemm.ceiling["fp16"] * 256 / (256 + cal.gemm.half_rows)
    bw = H100.memory.bandwidth.to("B/s").magnitude * H100.efficiency.memory
    per = max(row["flops"] / 32 / (peak * eta_c), row["bytes"] / 32 / bw)
    launch = cal.kernel_launch.to("s").magnitude
    assert row["time_s"] == pytest.approx(32 * (per + launch), rel=1e-12)
    assert row["bound"] == ("Compute" if row["flops"] / (peak * eta_c) > row["bytes"] / bw
                            else "Memory")
    assert row["compute_s"] == pytest.approx(row["flops"] / (peak * eta_c), rel=1e-12)
    assert row["memory_s"] == pytest.approx(row["bytes"] / bw, rel=1e-12)
    assert row["launch_s"] == pytest.approx(32 * launch, rel=1e-12)
    assert row["link_s"] == 0.0


def test_operator_bills_rebuild_each_operator_time():
    """time = max(compute bill, memory bill) + link + launch for every row, tensor-parallel too."""
    node = mlsysim.Systems.Nodes.DGX_H100
    for r in (Engine.solve(L8, H100, batch_size=64), Engine.solve(L8, H100, phase="prefill"),
              mlsysim.TensorParallelModel().solve(L8, node, tp=8, batch_size=16)):
        links = 0.0
        for row in r.operators:
            rebuilt = max(row["compute_s"], row["memory_s"]) + row["link_s"] + row["launch_s"]
            assert row["time_s"] == pytest.approx(rebuilt, rel=1e-12, abs=1e-18), row["name"]
            links += row["link_s"]
        assert (links > 0) == (r.devices > 1)


def test_bottleneck_is_the_largest_share():
    for kw in ({}, {"batch_size": 512, "seq_len": 128}, {"phase": "prefill"}):
        r = Engine.solve(L8, H100, **kw)
        shares = r.time_by_resource
        assert r.bottleneck == max(shares, key=shares.get)
    assert Engine.solve(L8, H100).bottleneck == "Memory"
    assert Engine.solve(L8, H100, phase="prefill", seq_len=2048).bottleneck == "Compute"


def test_teaching_roofline_is_one_max_over_the_whole_step():
    """cost_model="roofline": max(ΣFLOPs / (peak·η_c), Σbytes / (BW·η_m)) + kernels × launch."""
    ops = llama3_8b_operators(1, 2048, "decode")
    flops = sum(c * f for c, f, _ in ops.values())
    nbytes = sum(c * b for c, _, b in ops.values())
    kernels = sum(c for c, _, _ in ops.values())
    peak = H100.compute.precision_flops["fp16"].to("flop/s").magnitude
    bw = H100.memory.bandwidth.to("B/s").magnitude
    launch = H100.dispatch_overhead.to("s").magnitude
    r = Engine.solve(L8, H100, cost_model="roofline", efficiency=1, memory_efficiency=1)
    assert r.latency_s == pytest.approx(max(flops / peak, nbytes / bw) + kernels * launch)
    assert r.bottleneck == "Memory" and r.operators is None and r.cost_model == "roofline"
    # the per-operator model can never be faster than the one-number roofline at η = 1
    per_op = Engine.solve(L8, H100, efficiency=1, memory_efficiency=1)
    assert per_op.latency_s >= r.latency_s


def test_pure_bound_without_launch_costs():
    pure = Engine.solve(L8, H100, efficiency=1, memory_efficiency=1, launch_overhead="0 s")
    ops = llama3_8b_operators(1, 2048, "decode")
    peak = H100.compute.precision_flops["fp16"].to("flop/s").magnitude
    bw = H100.memory.bandwidth.to("B/s").magnitude
    vector = H100.compute.precision_flops["fp32"].to("flop/s").magnitude
    expect = 0.0
    for name, (count, flops, nbytes) in ops.items():
        rate = vector if name in ("attn_norm", "mlp_norm", "mlp_act", "final_norm",
                                  "sampling", "embedding") else peak
        expect += count * max(flops / rate, nbytes / bw)
    assert pure.latency_s == pytest.approx(expect, rel=1e-12)


def test_gpt3_fp16_does_not_fit_one_h100():
    r = SingleNodeModel().solve(model=GPT3, hardware=H100, batch_size=1, precision="fp16")
    assert not r.feasible
    c = r.constraint_trace[0]
    assert c.resource == "memory" and c.devices == 5 and c.needed > 350e9
    # 175e9 params × 2 B = 350 GB of weights alone; an H100 exposes 81,559 MiB
    assert "at least 5 devices" in c and "350 GB" in c
    assert "INFEASIBLE" in str(r) and "INFEASIBLE" in r._repr_html_()
    assert "as if it fit" in str(r)


def test_usable_memory_is_what_the_device_exposes_less_the_reserve():
    mem = H100.memory
    usable = H100.si.mem_capacity
    assert usable == pytest.approx(mem.exposed.to("B").magnitude - mem.reserve.to("B").magnitude)
    assert mem.exposed.to("MiB").magnitude == pytest.approx(81559)


def test_resnet50_flops_are_twice_the_macs():
    r = Engine.solve(mlsysim.Models.ResNet50, A100, batch_size=1)
    macs = mlsysim.Models.ResNet50.macs_per_sample.to("flop").magnitude
    assert r.total_flops.to("flop").magnitude == pytest.approx(2 * macs, rel=1e-3)
    assert len(r.operators) > 50  # one operator per layer of the published table


def test_small_model_at_batch_one_is_overhead_bound():
    assert Engine.solve(mlsysim.Models.ResNet50, H100, batch_size=1).bottleneck == "Overhead"


def test_training_is_three_forwards():
    """Training = forward + backward at twice the forward's FLOPs (all tokens' logits), plus
    the optimizer's element-wise update."""
    train = Engine.solve(L8, H100, is_training=True, seq_len=1024, batch_size=2)
    table = {row["name"]: row for row in train.operators}
    forward = sum(v["flops"] for k, v in table.items()
                  if not k.endswith(".backward") and k != "optimizer")
    backward = sum(v["flops"] for k, v in table.items() if k.endswith(".backward"))
    assert backward == pytest.approx(2 * forward, rel=2e-3)  # norms are not doubled
    # 16 B/param of weights, gradients and Adam state: 8.03e9 × 16 = 128 GB > 80 GB
    assert not train.feasible


def test_moe_reads_only_the_experts_the_batch_touches():
    mix = mlsysim.Models.Mixtral_8x7B
    one = Engine.solve(mix, mlsysim.Hardware.H200, batch_size=1, seq_len=128)
    many = Engine.solve(mix, mlsysim.Hardware.H200, batch_size=256, seq_len=128)
    d, f = mix.hidden_dim, mix.ffn_dim
    expert = 3 * d * f * 2  # bytes of one expert's gate, up and down at fp16
    read_one = one.operators["mlp_up"]["bytes"] + one.operators["mlp_down"]["bytes"]
    read_all = many.operators["mlp_up"]["bytes"] + many.operators["mlp_down"]["bytes"]
    # batch 1: 2 of 8 experts per layer; batch 256: every expert
    assert read_one == pytest.approx(mix.layers * 2 * expert, rel=1e-3)
    assert read_all == pytest.approx(mix.layers * 8 * expert, rel=0.02)
    # FLOPs follow the active experts, whatever the batch
    flops_one = one.operators["mlp_up"]["flops"] + one.operators["mlp_down"]["flops"]
    assert flops_one == pytest.approx(mix.layers * 2 * 2 * 3 * d * f)


def test_weight_only_quantisation_reads_fewer_bytes_at_fp16_compute():
    fp16 = Engine.solve(L8, A100, seq_len=128)
    int4 = Engine.solve(L8, A100, seq_len=128, weight_precision="int4")
    assert int4.operators["mlp_up"]["bytes"] == pytest.approx(
        fp16.operators["mlp_up"]["bytes"] / 4, rel=1e-3)
    assert int4.precision == "fp16 (weights int4)" and int4.latency_s < fp16.latency_s
    kv8 = Engine.solve(L8, A100, seq_len=4096, kv_precision="fp8")
    assert kv8.footprint_breakdown["kv_cache"].magnitude == pytest.approx(
        Engine.solve(L8, A100, seq_len=4096).footprint_breakdown["kv_cache"].magnitude / 2)


def test_encoder_defaults_to_a_full_pass():
    r = Engine.solve(mlsysim.Models.BERT_Large, A100)
    assert r.phase == "prefill" and r.seq_len == 512
    with pytest.raises(ValueError, match="encoder"):
        Engine.solve(mlsysim.Models.BERT_Large, A100, phase="decode")


def test_cnn_phase_is_inference_and_a_phase_is_refused():
    r = Engine.solve(mlsysim.Models.ResNet50, A100, batch_size=8)
    assert r.phase == "inference" and r.unit == "sample"
    with pytest.raises(ValueError, match="phase applies to transformers"):
        Engine.solve(mlsysim.Models.ResNet50, A100, phase="decode")


def test_names_are_accepted_as_strings():
    assert Engine.solve("Llama3_8B", "H100").latency == Engine.solve(L8, H100).latency


@pytest.mark.parametrize("batch", [0, -1, 2.5, "8", True, None, 10**400])
def test_bad_batch_size_names_the_parameter(batch):
    with pytest.raises(ValueError, match="batch_size"):
        Engine.solve(L8, H100, batch_size=batch)


@pytest.mark.parametrize("eff", [0, 1.5, -0.1, "high", 5e-324])
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
    with pytest.raises(ValueError, match="weight_precision must be one of"):
        Engine.solve(L8, A100, weight_precision=["int4"])


def test_bad_phase_and_flags():
    with pytest.raises(ValueError, match="phase must be one of"):
        Engine.solve(L8, H100, phase="generate")
    with pytest.raises(ValueError, match="is_training must be True or False"):
        Engine.solve(L8, H100, is_training="False")
    with pytest.raises(ValueError, match="cost_model must be one of"):
        Engine.solve(L8, H100, cost_model="magic")


def test_unknown_model_name():
    with pytest.raises(ValueError, match="did you mean"):
        Engine.solve("Llama3_80B", "H100")


def test_result_is_frozen_and_serialisable():
    import json

    r = Engine.solve(L8, H100)
    with pytest.raises(AttributeError):
        r.latency_s = 1.0
    d = r.to_dict()
    assert d["latency"]["unit"] == "s" and math.isfinite(d["latency"]["value"])
    assert d["bottleneck"] == "Memory" and d["operators"][0]["name"] == "attn_norm"
    json.dumps(d, allow_nan=False)


def test_energy_is_power_times_time():
    r = Engine.solve(L8, H100)
    assert r.energy.to("J").magnitude == pytest.approx(
        H100.tdp.to("W").magnitude * r.latency.to("s").magnitude)


def test_a_decode_step_over_several_new_tokens_by_hand():
    """Verifying k = 4 drafted tokens of Llama-3 8B at batch 2 over 1,000 past tokens: every
    GEMM has 2·5 rows and reads its weights once; attention reads the past KV cache once per
    sequence, each new token attending to the 1,000 past tokens and causally to the new ones;
    every new token gets logits (a cached-prefix prompt needs only the last one's)."""
    from dataclasses import replace

    from mlsysim.solvers.engine import build_plan
    from mlsysim.solvers.inputs import workload_args

    base = workload_args(L8, 2, 1000, "decode", "fp16")
    one, five = build_plan(base), build_plan(replace(base, query_len=5))
    d, L = 4096, 32
    kv_width = 2 * 8 * 128
    q_up = 14336 * 2  # gate and up columns
    mlp_up_flops = 2 * 2 * 5 * d * q_up  # rows × params, per layer
    assert five.flops[five.index("mlp_up")] == pytest.approx(mlp_up_flops)
    assert five.rows[five.index("mlp_up")] == 10
    w_up = d * q_up * 2
    assert five.weight_bytes[five.index("mlp_up")] == one.weight_bytes[one.index("mlp_up")] \
        == w_up
    att = five.index("attention")
    assert five.flops[att] == pytest.approx(4 * 10 * (1000 + 3) * d)
    kv_read = 2 * 1000 * kv_width * 2
    assert five.bytes[att] == pytest.approx(kv_read + 10 * kv_width * 2 + 2 * 10 * d * 2)
    assert five.footprint["kv_cache"] == pytest.approx(2 * 1005 * L * kv_width * 2)
    head = five.index("lm_head")
    assert five.rows[head] == 10 and five.units == 10
    prompt = build_plan(replace(base, query_len=5, last_logit_only=True))
    assert prompt.rows[prompt.index("lm_head")] == 2
    assert build_plan(base).rows[one.index("lm_head")] == 2

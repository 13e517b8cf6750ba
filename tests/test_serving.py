"""LLM serving on the engine: hand-derived KV bytes, TTFT and ITL as engine steps, prefix
caching, speculative decoding, disaggregation, honest infeasibility and bad input."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim import Engine, ServingModel, TensorParallelModel
from mlsysim.solvers.serving import expected_tokens_per_round

S = ServingModel()
L8, L70, H100 = "Llama3_8B", "Llama3_70B", "H100"


def kv_bytes_per_token(layers, kv_heads, head_dim=128, bytes_per=2):
    """K and V, per layer, per KV head (grouped-query attention: 8 KV heads, not 32 or 64)."""
    return 2 * layers * kv_heads * head_dim * bytes_per


@pytest.mark.parametrize("model, layers, batch", [(L8, 32, 4), (L70, 80, 1)])
def test_kv_cache_bytes_by_hand(model, layers, batch):
    hardware = H100 if model == L8 else "DGX_H100"
    r = S.solve(model, hardware, seq_len=2048, batch_size=batch, output_len=128)
    per_token = kv_bytes_per_token(layers, kv_heads=8)
    assert per_token == (131_072 if model == L8 else 327_680)
    assert r.kv_cache_size.to("B").magnitude == pytest.approx(batch * (2048 + 128) * per_token)
    fp8 = S.solve(model, hardware, seq_len=2048, batch_size=batch, output_len=128,
                  kv_precision="fp8")
    assert fp8.kv_cache_size.magnitude == pytest.approx(r.kv_cache_size.magnitude / 2)


def test_ttft_and_itl_are_engine_steps():
    r = S.solve(L8, H100, seq_len=2048, batch_size=1, output_len=64)
    prefill = Engine.solve(L8, H100, phase="prefill", seq_len=2048)
    first = Engine.solve(L8, H100, phase="decode", seq_len=2048)
    last = Engine.solve(L8, H100, phase="decode", seq_len=2048 + 62)
    assert r.ttft_s == pytest.approx(prefill.latency_s, rel=1e-12)
    assert r.itl_s == pytest.approx(first.latency_s, rel=1e-12)
    assert r.itl_last_s == pytest.approx(last.latency_s, rel=1e-12)
    # a prompt then 63 decode steps over 2,048 … 2,110 past tokens, summed by the trapezoid rule
    decode = 63 * (first.latency_s + last.latency_s) / 2
    assert r.e2e_s == pytest.approx(prefill.latency_s + decode, rel=1e-12)
    assert r.tokens_per_sec.magnitude == pytest.approx(64 / r.e2e_s, rel=1e-12)
    assert r.tokens_per_sec.units == mlsysim.Q_(1, "token/s").units


def test_the_trapezoid_sum_matches_every_step_summed():
    """The decode time is affine in context: the trapezoid equals the step-by-step sum."""
    r = S.solve(L8, H100, seq_len=1000, batch_size=8, output_len=40)
    steps = sum(Engine.solve(L8, H100, batch_size=8, seq_len=1000 + j).latency_s
                for j in range(39))
    assert r.e2e_s - 8 * r.ttft_s == pytest.approx(steps, rel=1e-6)


def test_batch_prefill_separate_or_together_and_the_result_says_which():
    sep = S.solve(L8, H100, seq_len=1024, batch_size=16)
    tog = S.solve(L8, H100, seq_len=1024, batch_size=16, prefill="together")
    one = Engine.solve(L8, H100, phase="prefill", seq_len=1024)
    batch = Engine.solve(L8, H100, phase="prefill", seq_len=1024, batch_size=16)
    assert sep.ttft_s == pytest.approx(one.latency_s) and sep.batch_prefill_s == \
        pytest.approx(16 * one.latency_s)
    assert tog.ttft_s == tog.batch_prefill_s == pytest.approx(batch.latency_s)
    assert "one request's prompt" in sep.notes[0] and "whole batch" in tog.notes[0]


def test_prefix_caching_prefills_only_the_new_tokens_and_stores_the_prefix_once():
    plain = S.solve(L8, H100, seq_len=4096, batch_size=8, output_len=128)
    cached = S.solve(L8, H100, seq_len=4096, batch_size=8, output_len=128,
                     cached_prefix_len=3072)
    per_token = kv_bytes_per_token(32, 8)
    assert cached.kv_cache_size.magnitude == pytest.approx(
        (8 * (4096 + 128 - 3072) + 3072) * per_token)
    assert cached.ttft_s < plain.ttft_s / 2  # a quarter of the prompt is new
    # the new 1,024 tokens still attend to all 4,096: more than a 1,024-token prompt alone
    short = Engine.solve(L8, H100, phase="prefill", seq_len=1024).latency_s
    assert cached.ttft_s > short
    assert cached.itl_s == pytest.approx(plain.itl_s, rel=1e-12)  # decoding is unchanged


@pytest.mark.parametrize("alpha, k, expected", [
    (0.0, 4, 1.0), (1.0, 4, 5.0), (0.8, 4, (1 - 0.8 ** 5) / 0.2), (0.5, 1, 1.5)])
def test_expected_tokens_per_round_by_hand(alpha, k, expected):
    assert expected_tokens_per_round(alpha, k) == pytest.approx(expected)


def test_speculative_decoding_pays_the_draft_and_the_verification():
    from dataclasses import replace

    from mlsysim.solvers.engine import build_plan
    from mlsysim.solvers.evaluate import device_rates, evaluate
    from mlsysim.solvers.inputs import efficiencies, workload_args

    plain = S.solve(L70, "DGX_H100", seq_len=1024, batch_size=1)
    spec = S.solve(L70, "DGX_H100", seq_len=1024, batch_size=1, draft_model=L8,
                   draft_acceptance_rate=0.8, draft_len=4)
    node = mlsysim.Systems.DGX_H100
    args = workload_args(L70, 1, 1024, "decode", "fp16")
    rates = device_rates(node.accelerator, args.precision, efficiencies(), node=node)
    draft = evaluate(build_plan(replace(args, model=mlsysim.Models.Llama3_8B), 8), rates)
    verify = evaluate(build_plan(replace(args, query_len=5), 8), rates)
    round_time = 4 * draft.latency + verify.latency
    assert spec.itl_s == pytest.approx(round_time / ((1 - 0.8 ** 5) / 0.2), rel=1e-12)
    assert spec.itl_s < plain.itl_s  # a cheap draft and a good acceptance rate pay off
    bad = S.solve(L70, "DGX_H100", seq_len=1024, draft_model=L8, draft_acceptance_rate=0.0)
    assert bad.itl_s > plain.itl_s  # every round yields one token and costs more
    parts = dict(spec.memory_parts)
    assert parts["draft weights"] == pytest.approx(2 * mlsysim.Models.Llama3_8B.si.params)


def test_disaggregated_prefill_and_decode_add_the_kv_transfer():
    r = S.solve(L8, H100, seq_len=4096, batch_size=4, decode_hardware="H200",
                network_bandwidth="50 GB/s")
    moved = 4 * 4096 * kv_bytes_per_token(32, 8)
    assert r.kv_transfer_s == pytest.approx(moved / 50e9)
    assert r.e2e_s == pytest.approx(r.batch_prefill_s + r.kv_transfer_s
                                    + 127 * (r.itl_s + r.itl_last_s) / 2)
    assert r.itl_s == pytest.approx(
        Engine.solve(L8, "H200", seq_len=4096, batch_size=4).latency_s, rel=1e-12)
    assert "H200" in r.decode_hardware and "H100" in r.hardware


def test_a_configuration_that_does_not_fit_has_no_times_only_numbers():
    r = S.solve(L70, H100, seq_len=2048)
    assert not r.feasible and r.max_batch_size == 0
    assert r.ttft is None and r.itl is None and r.e2e_latency is None
    assert r.tokens_per_sec is None
    text = str(r)
    assert "INFEASIBLE" in text and "no times" in text
    assert not any(line.strip().startswith(("TTFT", "ITL", "End-to-end"))
                   for line in text.splitlines())
    c = r.constraint_trace[0]
    assert c.needed > c.available and c.devices == 2


def test_max_batch_size_is_the_largest_batch_that_fits():
    r = S.solve(L8, H100, seq_len=7168, output_len=1024)
    b = r.max_batch_size
    assert b > 1
    assert S.solve(L8, H100, seq_len=7168, output_len=1024, batch_size=b).feasible
    assert not S.solve(L8, H100, seq_len=7168, output_len=1024, batch_size=b + 1).feasible


def test_a_node_serves_through_the_engines_tensor_parallel_plan():
    r = S.solve(L70, "DGX_H100", seq_len=2048, batch_size=16)
    tp = TensorParallelModel().solve(L70, "DGX_H100", phase="prefill", seq_len=2048)
    assert r.feasible and r.ttft_s == pytest.approx(tp.latency_s, rel=1e-12)
    assert r.prefill_operators["allreduce_mlp"]["count"] == 80


@settings(max_examples=25, deadline=None)
@given(context=st.integers(128, 6000), extra=st.integers(1, 2000))
def test_itl_grows_with_context(context, extra):
    short = S.solve(L8, H100, seq_len=context, output_len=1).itl_s
    long = S.solve(L8, H100, seq_len=context + extra, output_len=1).itl_s
    assert long >= short


def test_throughput_grows_with_batch_until_memory_runs_out():
    rates, batch = [], 1
    while True:
        r = S.solve(L8, H100, seq_len=2048, batch_size=batch, prefill="together")
        if not r.feasible:
            break
        rates.append(r.tokens_per_sec.magnitude)
        batch *= 2
    assert len(rates) > 4 and rates == sorted(rates)


@pytest.mark.parametrize("kwargs, words", [
    (dict(model="ResNet50"), ["decoder", "per-sample"]),
    (dict(model="BERT_Base"), ["decoder", "encoder"]),
    (dict(batch_size=0), ["batch_size"]),
    (dict(output_len=0), ["output_len"]),
    (dict(seq_len=None), ["seq_len"]),
    (dict(seq_len=8000, output_len=500), ["max_context"]),
    (dict(cached_prefix_len=2048), ["cached_prefix_len"]),
    (dict(cached_prefix_len=-1), ["cached_prefix_len"]),
    (dict(draft_model=L8, draft_acceptance_rate=1.5), ["draft_acceptance_rate"]),
    (dict(draft_model=L8, draft_acceptance_rate=float("nan")), ["draft_acceptance_rate"]),
    (dict(draft_model=L8, draft_len=0), ["draft_len"]),
    (dict(draft_model="Llama2_7B"), ["vocabulary"]),
    (dict(prefill="eager"), ["prefill", "separate"]),
    (dict(network_bandwidth="50 GB/s"), ["decode_hardware"]),
    (dict(decode_hardware="H200"), ["network_bandwidth"]),
    (dict(decode_hardware="H200", network_bandwidth="-5 GB/s"), ["network_bandwidth"]),
    (dict(hardware="Cerebras_CS3"), ["wafer"]),
    (dict(hardware="H100_Cluster_1024"), ["fleet"]),
    (dict(precision="fp8", hardware="A100"), ["fp8", "A100"]),
])
def test_bad_input_is_one_line_naming_the_parameter(kwargs, words):
    args = {"model": L8, "hardware": H100, "seq_len": 2048, **kwargs}
    with pytest.raises(ValueError) as info:
        S.solve(args.pop("model"), args.pop("hardware"), **args)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_results_are_finite_and_render_in_every_format():
    r = S.solve(L8, H100, seq_len=2048, batch_size=32, draft_model=L8)
    for value in (r.ttft_s, r.itl_s, r.e2e_s, r.tokens_per_sec.magnitude,
                  r.memory_utilization):
        assert math.isfinite(value)
    assert "TTFT" in str(r) and "TTFT" in r._repr_html_()
    data = r.to_dict()
    assert data["ttft"]["unit"] == "s" and data["feasible"] is True


def test_the_serve_command(capsys):
    import json

    from mlsysim.cli import main

    assert main(["serve", "Llama3_8B", "H100", "--seq-len", "2048", "--batch-size", "8",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    direct = S.solve(L8, H100, seq_len=2048, batch_size=8)
    assert data["ttft"]["value"] == pytest.approx(direct.ttft_s)
    assert main(["serve", "Llama3_70B", "H100", "--seq-len", "2048"]) == 0
    assert "INFEASIBLE" in capsys.readouterr().out
    assert main(["serve", "ResNet50", "H100", "--seq-len", "16"]) == 2
    assert "decoder" in capsys.readouterr().err


def test_tp_activation_precision_and_efficiency_overrides_reach_the_engine():
    r = S.solve(L70, "DGX_H100", seq_len=1024, tp=4)
    tp4 = TensorParallelModel().solve(L70, "DGX_H100", tp=4, phase="prefill", seq_len=1024)
    assert r.hardware.startswith("4 × ") and r.ttft_s == pytest.approx(tp4.latency_s)
    bound = S.solve(L8, H100, seq_len=1024, efficiency=1.0, memory_efficiency=1.0,
                    launch_overhead="0 s")
    pure = Engine.solve(L8, H100, phase="prefill", seq_len=1024, efficiency=1.0,
                        memory_efficiency=1.0, launch_overhead="0 s")
    assert bound.ttft_s == pytest.approx(pure.latency_s, rel=1e-12)
    assert bound.ttft_s < S.solve(L8, H100, seq_len=1024).ttft_s
    act = S.solve(L8, H100, seq_len=1024, precision="fp8", activation_precision="fp16")
    assert act.precision != S.solve(L8, H100, seq_len=1024, precision="fp8").precision
    for kwargs, word in ((dict(hardware=H100, tp=2), "node"),
                         (dict(hardware="DGX_H100", tp=16), "tp=16"),
                         (dict(hardware="DGX_H100", tp=3), "tp=3")):
        with pytest.raises(ValueError, match=word):
            S.solve(L70, seq_len=1024, **kwargs)


@pytest.mark.parametrize("prefill", ["separate", "together"])
def test_max_batch_size_counts_the_prefills_activations_too(prefill):
    r = S.solve(L8, H100, seq_len=2048, batch_size=200, prefill=prefill)
    b = r.max_batch_size
    assert S.solve(L8, H100, seq_len=2048, batch_size=b, prefill=prefill).feasible
    assert not S.solve(L8, H100, seq_len=2048, batch_size=b + 1, prefill=prefill).feasible


def test_each_phase_names_what_binds_it():
    r = S.solve(L8, H100, seq_len=2048, batch_size=1)
    assert r.prefill_bottleneck == Engine.solve(L8, H100, phase="prefill",
                                                seq_len=2048).bottleneck == "Compute"
    assert r.decode_bottleneck == Engine.solve(L8, H100, seq_len=2048).bottleneck == "Memory"
    assert sum(r.prefill_time_by_resource.values()) == pytest.approx(r.ttft_s)
    from mlsysim import viz
    fig = viz.plot_operators(r.decode_operators)
    assert fig is not None
    with pytest.raises(TypeError, match="prefill_operators or decode_operators"):
        viz.plot_operators(r)

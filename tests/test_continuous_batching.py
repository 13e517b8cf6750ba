"""Continuous batching: paged KV blocks and fragmentation by hand, the KV pool and the most
requests it holds by hand, steps that mix a prompt chunk with decodes (the engine's fused
request groups), the steady state against a step-by-step simulation, static batching in the
same memory, monotone throughput–latency curves, and bad input."""

import math
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim import ContinuousBatchingModel, Engine, ServingModel
from mlsysim.solvers.continuous_batching import (
    _chunk_block_sum,
    blocks_for,
    expected_wasted_slots,
    wasted_slots,
)
from mlsysim.solvers.engine import build_plan
from mlsysim.solvers.evaluate import device_rates, evaluate
from mlsysim.solvers.inputs import RequestGroup, efficiencies, workload_args

CB = ContinuousBatchingModel()
L8, H100 = "Llama3_8B", "H100"
KV_PER_TOKEN = 2 * 32 * 8 * 128 * 2  # Llama-3 8B: K and V × 32 layers × 8 KV heads × 128 × fp16
ACT_PER_TOKEN = 2 * (4096 + 14336)  # the engine's activations per step token: d + ffn, fp16
BASE = workload_args(L8, 1, 1024, "decode", "fp16")
RATES = device_rates(mlsysim.Hardware.H100, BASE.precision, efficiencies())


def step(batch, context, query_len=1, last_logit_only=False, fused=()):
    """An engine step of Llama-3 8B on one H100 (plan, seconds)."""
    plan = build_plan(replace(BASE, batch=batch, context=context, query_len=query_len,
                              last_logit_only=last_logit_only, fused=fused))
    return plan, float(evaluate(plan, RATES).latency)


def chunk_step(size, past, decoders=0, context=0):
    """A prompt chunk (last logit only) beside ``decoders`` requests decoding at ``context``."""
    fused = (RequestGroup(decoders, context, name="decode"),) if decoders else ()
    return step(1, past, size, True, fused)


# -- blocks --------------------------------------------------------------------------------
@pytest.mark.parametrize("tokens, blocks, wasted", [
    (1000, 63, 8), (1024, 64, 0), (1, 1, 15), (16, 1, 0), (17, 2, 15), (4097, 257, 15)])
def test_blocks_and_internal_fragmentation_by_hand(tokens, blocks, wasted):
    assert blocks_for(tokens, 16) == blocks
    assert wasted_slots(tokens, 16) == wasted
    assert blocks * 16 - tokens == wasted


def test_blocks_work_on_arrays_and_other_block_sizes():
    tokens = np.array([1000, 1024, 1])
    assert blocks_for(tokens, 32).tolist() == [32, 32, 1]  # 1,000 = 31·32 + 8
    assert wasted_slots(tokens, 32).tolist() == [24, 0, 31]


@pytest.mark.parametrize("block", [8, 16, 32])
def test_expected_waste_is_the_mean_over_lengths_uniform_modulo_the_block(block):
    lengths = np.arange(1, 100 * block + 1)  # every slot of a block equally often
    assert wasted_slots(lengths, block).mean() == pytest.approx((block - 1) / 2)
    assert expected_wasted_slots(block) == (block - 1) / 2


@pytest.mark.parametrize("chunk, block", [(512, 16), (100, 16), (24, 16), (7, 32), (48, 8)])
def test_chunk_block_sum_matches_the_sum_term_by_term(chunk, block):
    for m in (0, 1, 5, 37, 200):
        by_hand = sum(math.ceil(j * chunk / block) for j in range(1, m + 1))
        assert int(_chunk_block_sum(np.array([m]), chunk, block)[0]) == by_hand


def held_blocks_by_hand(prompt, output, chunk, block):
    """A request's blocks at each of its steps: after chunk j, ⌈min(j·c, P)/b⌉; after decode
    step t, ⌈(P + t)/b⌉. Returns (blocks per step, tokens per step)."""
    k = math.ceil(prompt / chunk)
    tokens = [min(j * chunk, prompt) for j in range(1, k + 1)]
    tokens += [prompt + t for t in range(1, output)]
    return [math.ceil(n / block) for n in tokens], tokens


@pytest.mark.parametrize("prompt, output, chunk, block", [
    (1000, 200, 512, 16), (1000, 200, 100, 16), (4000, 1000, 1024, 16), (333, 77, 64, 32)])
def test_a_running_request_holds_its_blocks_averaged_over_its_steps(prompt, output, chunk,
                                                                    block):
    r = CB.solve(L8, H100, prompt_len=prompt, output_len=output, chunk_size=chunk,
                 block_size=block)
    blocks, tokens = held_blocks_by_hand(prompt, output, chunk, block)
    assert r.blocks_per_request == pytest.approx(sum(blocks) / len(blocks), rel=1e-12)
    waste = sum(b * block - n for b, n in zip(blocks, tokens, strict=True)) / len(blocks)
    assert r.wasted_slots_per_request == pytest.approx(waste, rel=1e-9)
    assert 0 <= r.wasted_slots_per_request < block
    assert r.fragmentation == pytest.approx(waste / (sum(blocks) / len(blocks) * block))


def test_mean_lengths_leave_half_a_block_empty_per_sequence():
    r = CB.solve(L8, H100, prompt_len=1000, output_len=200, lengths="mean")
    assert r.wasted_slots_per_request == pytest.approx(7.5)  # (16 − 1)/2
    _, tokens = held_blocks_by_hand(1000, 200, 512, 16)
    assert r.blocks_per_request == pytest.approx((sum(tokens) / len(tokens) + 7.5) / 16)
    assert any("means" in n for n in r.notes)


# -- the KV pool ----------------------------------------------------------------------------
def test_kv_pool_and_max_concurrency_by_hand_for_llama3_8b_on_h100():
    """4,000 + 1,000 tokens, chunks of 1,024: the pool, not the prefill, limits concurrency."""
    hw, model = mlsysim.Hardware.H100, mlsysim.Models.Llama3_8B
    usable = hw.memory.usable.to("B").magnitude
    weights = 2 * model.si.params  # fp16
    block = 16 * KV_PER_TOKEN
    assert KV_PER_TOKEN == 131_072 and block == 2 * 2**20  # a 16-token block is 2 MiB
    blocks, _ = held_blocks_by_hand(4000, 1000, 1024, 16)
    per_request = sum(blocks) / len(blocks)

    def pool(n):  # the largest step: n − 1 decode tokens beside a 1,024-token chunk
        return usable - weights - ACT_PER_TOKEN * (n - 1 + 1024)

    most = 0
    while math.ceil((most + 1) * per_request) * block <= pool(most + 1):
        most += 1
    r = CB.solve(L8, H100, concurrency=32, prompt_len=4000, output_len=1000, chunk_size=1024)
    assert r.kv_pool_bytes == pytest.approx(pool(32), rel=1e-12)
    assert r.pool_blocks == math.floor(pool(32) / block)
    assert r.weights_bytes == pytest.approx(weights)
    assert r.block_bytes == block
    assert r.max_concurrency == most and 100 < most < r.prefill_limit == 1003 // 4
    assert r.kv_cache_size.to("B").magnitude == math.ceil(32 * per_request) * block
    assert CB.solve(L8, H100, concurrency=most, prompt_len=4000, output_len=1000,
                    chunk_size=1024).feasible
    over = CB.solve(L8, H100, concurrency=most + 1, prompt_len=4000, output_len=1000,
                    chunk_size=1024)
    assert not over.feasible and over.itl is None and over.throughput is None
    c = over.constraint_trace[0]
    assert c.needed > c.available == pytest.approx(usable)


def test_a_node_holds_kv_heads_split_across_its_gpus():
    r = CB.solve("Llama3_70B", "DGX_H100", concurrency=64, prompt_len=2000, output_len=500)
    assert r.block_bytes == 16 * 2 * 80 * 8 * 128 * 2  # whole model's K and V per block
    assert r.capacity_bytes == pytest.approx(8 * mlsysim.Hardware.H100.memory.usable
                                             .to("B").magnitude)
    assert r.feasible and r.mixed_operators["allreduce_mlp"]["count"] == 80


def test_weights_that_do_not_fit_are_reported_with_numbers_and_no_times():
    r = CB.solve("Llama3_70B", H100, concurrency=4, prompt_len=1000, output_len=200)
    assert not r.feasible and r.max_concurrency == 0 and r.pool_blocks == 0
    assert r.ttft is None and r.itl is None and r.throughput is None and r.request_rate is None
    text = str(r)
    assert "INFEASIBLE" in text and "no times" in text and "141 GB" in text
    assert not any(line.strip().startswith(("TTFT", "ITL", "Throughput"))
                   for line in text.splitlines())
    assert r.to_dict()["itl"] is None


# -- the engine's mixed step ------------------------------------------------------------------
def test_a_fused_group_of_the_same_shape_is_the_batch_with_one_more_attention_kernel():
    whole, t_whole = step(8, 1000)
    split, t_split = step(5, 1000, fused=(RequestGroup(3, 1000),))
    for name in whole.names:
        i, j = whole.index(name), split.index(name)
        if name == "attention":
            k = split.index("attention.fused")
            assert split.flops[j] + split.flops[k] == pytest.approx(whole.flops[i])
            assert split.bytes[j] + split.bytes[k] == pytest.approx(whole.bytes[i])
        else:
            assert split.flops[j] == whole.flops[i] and split.bytes[j] == whole.bytes[i]
    assert split.kernels == whole.kernels + 32  # one more attention kernel per layer
    assert split.footprint == pytest.approx(whole.footprint)
    assert t_split > t_whole


def test_a_mixed_step_runs_its_gemms_once_over_both_groups_reading_the_weights_once():
    chunk, t_chunk = chunk_step(512, 512)
    decode, t_decode = step(7, 1099)
    mixed, t_mixed = chunk_step(512, 512, decoders=7, context=1099)
    for name in ("qkv_proj", "out_proj", "mlp_up", "mlp_down", "lm_head"):
        i, j, m = chunk.index(name), decode.index(name), mixed.index(name)
        assert mixed.flops[m] == pytest.approx(chunk.flops[i] + decode.flops[j])
        assert mixed.bytes[m] == pytest.approx(chunk.bytes[i] + decode.bytes[j]
                                               - chunk.weight_bytes[i])
        assert mixed.rows[m] == pytest.approx(chunk.rows[i] + decode.rows[j])
    for name in ("attn_norm", "mlp_act", "embedding", "sampling"):
        i, j, m = chunk.index(name), decode.index(name), mixed.index(name)
        assert mixed.bytes[m] == pytest.approx(chunk.bytes[i] + decode.bytes[j])
    a, d = mixed.index("attention"), mixed.index("attention.decode")
    assert mixed.flops[a] == chunk.flops[chunk.index("attention")]
    assert mixed.bytes[d] == decode.bytes[decode.index("attention")]
    for part in ("kv_cache", "activations"):
        assert mixed.footprint[part] == pytest.approx(chunk.footprint[part]
                                                      + decode.footprint[part])
    assert max(t_chunk, t_decode) < t_mixed < t_chunk + t_decode


def test_request_groups_fuse_only_into_decode_phase_steps():
    prefill = replace(BASE, phase=mlsysim.Phase.PREFILL, fused=(RequestGroup(2, 100),))
    with pytest.raises(ValueError, match="decode-phase"):
        build_plan(prefill)


# -- the steady state ---------------------------------------------------------------------------
def test_itl_at_concurrency_one_is_the_engines_decode_step():
    r = CB.solve(L8, H100, concurrency=1, prompt_len=1000, output_len=200)
    engine = Engine.solve(L8, H100, seq_len=1000 + (200 - 2) // 2)  # mean decode context
    assert r.itl_s == pytest.approx(engine.latency_s, rel=1e-12)
    assert r.itl_decode_s == r.itl_max_s == pytest.approx(engine.latency_s, rel=1e-12)


def test_one_request_at_a_time_by_hand():
    """Concurrency 1: two chunks (512 tokens, then 488 over the first 512), then 199 decode
    steps; the next request starts when it ends."""
    r = CB.solve(L8, H100, concurrency=1, prompt_len=1000, output_len=200)
    _, first = chunk_step(512, 0)
    _, second = chunk_step(488, 512)
    decode = Engine.solve(L8, H100, seq_len=1099).latency_s
    assert r.ttft_s == pytest.approx(first + second, rel=1e-12)
    request = first + second + 199 * decode
    assert r.tokens_per_s == pytest.approx(200 / request, rel=1e-12)
    assert r.request_rate.to("1/s").magnitude == pytest.approx(1 / request, rel=1e-12)
    assert r.e2e_latency.to("s").magnitude == pytest.approx(request, rel=1e-12)


def simulate(n, prompt, output, chunk, times, steps=40_000):
    """Run the closed loop step by step: at most one prompt chunk per step (first come, first
    served), every other running request decodes one token; a finished request is replaced
    at once. Returns (output tokens / s, mean gap between a request's tokens, TTFT)."""
    k = math.ceil(prompt / chunk)
    queue = list(range(n))  # requests waiting for (more of) their prompt
    done_chunks, emitted, last_token = [0] * n, [0] * n, [None] * n
    gaps, ttfts, started = [], [], [0.0] * n
    clock, tokens, warm = 0.0, 0, steps // 4
    for s in range(steps):
        chunked = queue[0] if queue else None
        decoding = [i for i in range(n) if i not in queue]
        if chunked is None:
            dt = times["decode"]
        else:
            dt = times["full"] if done_chunks[chunked] < k - 1 else times["last"]
        clock += dt
        finished = []
        for i in decoding:
            emitted[i] += 1
            if s > warm:
                gaps.append(clock - last_token[i])
                tokens += 1
            last_token[i] = clock
            if emitted[i] == output:
                finished.append(i)
        if chunked is not None:
            done_chunks[chunked] += 1
            if done_chunks[chunked] == k:  # the last chunk samples the first token
                queue.pop(0)
                emitted[chunked], last_token[chunked] = 1, clock
                if s > warm:
                    ttfts.append(clock - started[chunked])
                    tokens += 1
        for i in finished:
            done_chunks[i], emitted[i], started[i] = 0, 0, clock
            queue.append(i)
        if s == warm:
            t0 = clock
    return tokens / (clock - t0), sum(gaps) / len(gaps), sum(ttfts) / len(ttfts)


@pytest.mark.parametrize("n", [2, 8, 40])
def test_the_steady_state_matches_a_step_by_step_simulation(n):
    """The closed loop run step by step with the same three engine steps gives the solver's
    throughput, mean ITL and TTFT (within the simulation's start-up and sampling noise)."""
    prompt, output, chunk = 1000, 200, 512
    decode = Engine.solve(L8, H100, batch_size=n, seq_len=1099).latency_s
    times = {"decode": decode, "full": chunk_step(512, 0, n - 1, 1099)[1],
             "last": chunk_step(488, 512, n - 1, 1099)[1]}
    sim_tps, sim_itl, sim_ttft = simulate(n, prompt, output, chunk, times)
    r = CB.solve(L8, H100, concurrency=n, prompt_len=prompt, output_len=output)
    assert r.tokens_per_s == pytest.approx(sim_tps, rel=0.01)
    assert r.itl_s == pytest.approx(sim_itl, rel=0.01)
    assert r.ttft_s == pytest.approx(sim_ttft, rel=1e-9)
    assert r.itl_max_s == pytest.approx(times["full"], rel=1e-12)


def test_the_prefill_limit_caps_the_running_requests():
    """One chunk per step: 1,000-token prompts need 2 steps per 201-step life, so at most
    ⌊201 / 2⌋ = 100 requests run; more wait for their prompt and change nothing."""
    r100 = CB.solve(L8, H100, concurrency=100, prompt_len=1000, output_len=200)
    r300 = CB.solve(L8, H100, concurrency=300, prompt_len=1000, output_len=200)
    assert r300.prefill_limit == 100 and r300.running == 100
    assert r300.tokens_per_s == r100.tokens_per_s and r300.itl_s == r100.itl_s
    assert any("Prefill-bound" in n for n in r300.notes)
    bigger = CB.solve(L8, H100, concurrency=300, prompt_len=1000, output_len=200,
                      chunk_size=1024)
    assert bigger.running == 200 and bigger.tokens_per_s > r300.tokens_per_s


def test_a_mix_of_identical_requests_is_the_fixed_length_workload():
    fixed = CB.solve(L8, H100, concurrency=16, prompt_len=700, output_len=300)
    mix = CB.solve(L8, H100, concurrency=16, requests=[(700, 300)] * 5)
    for name in ("itl_s", "ttft_s", "tokens_per_s", "blocks_per_request", "max_concurrency"):
        assert getattr(mix, name) == pytest.approx(getattr(fixed, name), rel=1e-12)


def test_a_mix_counts_blocks_over_each_requests_life():
    pairs = [(100, 50), (2000, 300), (500, 1000)]
    r = CB.solve(L8, H100, concurrency=8, requests=np.array(pairs))
    held = [held_blocks_by_hand(p, o, 512, 16)[0] for p, o in pairs]
    steps = sum(len(h) for h in held)  # a longer request is running for more of the time
    assert r.blocks_per_request == pytest.approx(sum(map(sum, held)) / steps, rel=1e-12)
    assert r.mean_output == pytest.approx(450)
    assert r.prefill_limit == steps // (1 + 4 + 1)  # chunks: 1, 4 and 1


def test_sweep_reaches_the_memory_limit_and_equals_single_solves():
    curve = CB.sweep(L8, H100, prompt_len=4000, output_len=1000, chunk_size=1024)
    top = CB.solve(L8, H100, prompt_len=4000, output_len=1000, chunk_size=1024)
    assert curve.concurrency[0] == 1 and curve.concurrency[-1] == top.max_concurrency
    for n, itl, tps in zip(curve.concurrency, curve.itl_s, curve.tokens_per_s, strict=True):
        r = CB.solve(L8, H100, concurrency=n, prompt_len=4000, output_len=1000,
                     chunk_size=1024)
        assert (itl, tps) == (r.itl_s, r.tokens_per_s)
    assert list(curve.itl_s) == sorted(curve.itl_s)
    assert list(curve.tokens_per_s) == sorted(curve.tokens_per_s)
    assert "Concurrency" in str(curve) and curve.throughput.units == mlsysim.Q_(1, "token/s").units
    with pytest.raises(ValueError, match="concurrencies must be at most"):
        CB.sweep(L8, H100, concurrencies=[top.max_concurrency + 1], prompt_len=4000,
                 output_len=1000, chunk_size=1024)


@settings(max_examples=20, deadline=None)
@given(prompt=st.integers(16, 6000), output=st.integers(2, 2000),
       chunk=st.sampled_from([64, 256, 512, 2048]), block=st.sampled_from([8, 16, 32]),
       picks=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=8))
def test_throughput_and_itl_never_fall_as_concurrency_grows(prompt, output, chunk, block,
                                                            picks):
    output = min(output, 8192 - prompt)
    kw = dict(prompt_len=prompt, output_len=max(output, 2), chunk_size=chunk,
              block_size=block)
    top = CB.solve(L8, H100, **kw).max_concurrency
    ns = sorted({1, top, *(max(1, round(p * top)) for p in picks)})
    results = [CB.solve(L8, H100, concurrency=n, **kw) for n in ns]
    assert all(r.feasible for r in results)
    for a, b in pairwise(results):
        assert b.tokens_per_s >= a.tokens_per_s * (1 - 1e-12)
        assert b.itl_s >= a.itl_s * (1 - 1e-12)
        assert b.ttft_s >= a.ttft_s * (1 - 1e-12)


# -- static batching in equal memory -----------------------------------------------------------
def test_static_batching_reserves_max_length_and_fits_fewer():
    cmp = CB.compare_static(L8, H100, prompt_len=1000, output_len=200, max_output_len=1000)
    static = ServingModel().solve(L8, H100, seq_len=1000, output_len=1000)
    assert cmp.static_requests == static.max_batch_size
    assert cmp.static_kv_per_request == (1000 + 1000) * KV_PER_TOKEN
    paged = CB.solve(L8, H100, prompt_len=1000, output_len=200)
    assert cmp.paged_requests == paged.max_concurrency > cmp.static_requests
    assert cmp.paged_kv_per_request == pytest.approx(paged.blocks_per_request * 16
                                                     * KV_PER_TOKEN)
    # the static batch decodes its 200 tokens; its throughput is ServingModel's
    run = ServingModel().solve(L8, H100, seq_len=1000, output_len=200,
                               batch_size=cmp.static_requests)
    assert cmp.static_tokens_per_s == pytest.approx(run.tokens_per_sec.magnitude, rel=1e-12)
    assert cmp.paged_tokens_per_s == pytest.approx(
        CB.solve(L8, H100, concurrency=cmp.paged_requests, prompt_len=1000,
                 output_len=200).tokens_per_s, rel=1e-12)
    assert "Requests held, static" in str(cmp)


@settings(max_examples=15, deadline=None)
@given(prompt=st.integers(16, 6000), output=st.integers(2, 1500), slack=st.integers(64, 2000),
       chunk=st.sampled_from([64, 512, 2048]), block=st.sampled_from([8, 16, 32]))
def test_paged_holds_at_least_as_many_requests_as_static(prompt, output, slack, chunk, block):
    """Static reserves the prompt and max_output_len ≥ output + 64 tokens for every request;
    a paged request holds, on average over its life, at most its tokens plus one block."""
    output = max(2, min(output, 8192 - prompt - 64))
    reserve = min(output + slack, 8192 - prompt)
    cmp = CB.compare_static(L8, H100, prompt_len=prompt, output_len=output,
                            max_output_len=reserve, chunk_size=chunk, block_size=block)
    assert cmp.paged_requests >= cmp.static_requests > 0


def test_paging_is_not_free_when_outputs_are_shorter_than_a_blocks_waste():
    """1,001-token prompts in one chunk and 2 output tokens: a paged request holds 32 blocks
    of 32 (1,024 slots) at both its steps; static reserves exactly 1,003 slots."""
    cmp = CB.compare_static(L8, H100, prompt_len=1001, output_len=2, chunk_size=2048,
                            block_size=32)
    assert cmp.paged_kv_per_request == 1024 * KV_PER_TOKEN
    assert cmp.static_kv_per_request == 1003 * KV_PER_TOKEN
    assert cmp.paged_requests < cmp.static_requests


# -- bad input ---------------------------------------------------------------------------------
KW = dict(prompt_len=1000, output_len=200)


@pytest.mark.parametrize("kwargs, match", [
    (dict(block_size=0), "block_size must be a positive integer"),
    (dict(block_size=2.5), "block_size must be a positive integer"),
    (dict(block_size="16"), "block_size must be a positive integer"),
    (dict(block_size=True), "block_size must be a positive integer"),
    (dict(chunk_size=0), "chunk_size must be a positive integer"),
    (dict(concurrency=0), "concurrency must be a positive integer"),
    (dict(concurrency=1.5), "concurrency must be a positive integer"),
    (dict(lengths="median"), "lengths must be one of fixed, mean"),
])
def test_bad_parameters_are_one_line_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match) as e:
        CB.solve(L8, H100, **{**KW, **kwargs})
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("model, match", [
    ("ResNet50", "model must be a decoder.*per-sample network"),
    ("BERT_Base", "model must be a decoder.*encoder")])
def test_a_cnn_or_an_encoder_is_refused(model, match):
    with pytest.raises(ValueError, match=match):
        CB.solve(model, H100, **KW)


@pytest.mark.parametrize("kwargs, match", [
    (dict(prompt_len=8000, output_len=500), "prompt_len \\+ output_len = 8,500 exceeds"),
    (dict(requests=[(100, 10), (8000, 500)]), "requests: prompt \\+ output = 8,500 exceeds"),
    (dict(requests=[(100, 0)]), "request 0 is \\(100, 0\\)"),
    (dict(requests=[(100, 10.5)]), "requests must be a non-empty list"),
    (dict(requests=[]), "requests must be a non-empty list"),
    (dict(requests=[100, 10]), "requests must be a non-empty list"),
    (dict(requests=[(100, 10)], prompt_len=100), "not both"),
    (dict(requests=[(100, 10)], lengths="mean"), "requests are exact"),
    (dict(prompt_len=100), "prompt_len and output_len .* are required"),
    (dict(prompt_len=100, output_len=1), "output_len must be at least 2"),
    (dict(prompt_len=0, output_len=10), "prompt_len must be a positive integer"),
])
def test_bad_lengths_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CB.solve(L8, H100, **kwargs)


def test_static_comparison_refuses_a_reservation_shorter_than_the_outputs():
    with pytest.raises(ValueError, match="max_output_len must be at least the longest output"):
        CB.compare_static(L8, H100, prompt_len=1000, output_len=200, max_output_len=100)
    with pytest.raises(ValueError, match="exceeds"):
        CB.compare_static(L8, H100, prompt_len=1000, output_len=200, max_output_len=7500)


def test_exported_lazily_and_renders():
    assert mlsysim.ContinuousBatchingModel is ContinuousBatchingModel
    r = CB.solve(L8, H100, concurrency=8, **KW)
    assert "<table" in r._repr_html_() and "TTFT" in str(r)
    d = r.to_dict()
    assert d["running"] == 8 and d["throughput"]["unit"] == "token/s"
    assert r.decode_operators["attention"]["count"] == 32
    assert "attention.decode" in r.mixed_operators.names

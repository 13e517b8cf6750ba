"""Continuous batching in steady state: a paged KV cache (vLLM) and chunked prefill
(Sarathi-Serve), every step an engine step.

**Paged KV cache** (Kwon et al. 2023, arXiv 2309.06180, §4.1–4.3). The KV cache is kept in
blocks of ``block_size`` = b tokens (16 by default, vLLM's: §7.2); a sequence of n tokens holds
⌈n/b⌉ blocks, allocated as it grows, so all it wastes is the unused slots of its last block,
⌈n/b⌉·b − n < b (§4.3). Given lengths are counted exactly; with ``lengths="mean"`` the lengths
are means of lengths that end anywhere in their last block (uniformly modulo b), which leaves
(b − 1)/2 slots empty per sequence on average. A block holds b tokens of K and V for every
layer (2·L·h_kv·d_h bytes per token at the KV format). The KV pool is the usable memory less
the weights and the activations of the largest step.

**A request's life** (P prompt tokens, O output tokens, chunk c): k = ⌈P/c⌉ chunk steps — k − 1
of c tokens, then the rest, whose last logit gives the first output token — then O − 1 decode
steps at past contexts P … P + O − 2. It holds the KV of min(j·c, P) tokens after chunk j and
of P + t after decode step t, and frees its blocks when it ends.

**Steady state.** ``concurrency`` = N requests run at once and a finished request is replaced at
once (a closed loop; iteration-level scheduling, Yu et al. 2022, Orca). Counted in steps,
Little's law gives x = N / E[k + O − 1] requests finished per step. A step carries at most one
prompt chunk beside the running requests' decode tokens (Sarathi-Serve's hybrid batch, Agrawal
et al. 2024, arXiv 2403.02310, §4.1–4.2): a share φ = x·E[k] of the steps carry one, with the
other N − 1 requests decoding; the rest carry all N decodes. So N ≤ ⌊E[k + O − 1] / E[k]⌋, the
*prefill limit*: beyond it prompts queue and the running count stays at the limit. (Sarathi-Serve
may pack chunks of several prompts into one token budget; that is not modelled here: it would
raise the limit for prompts shorter than a chunk.) A mix of lengths (``requests``: each pair
equally likely) enters through these step-weighted means; a request that lives longer is
running for more of the time.

**Costs** — all engine steps: T_decode, N requests decoding at the mean decode context C̄;
T_full, a c-token chunk at the full chunks' mean past context beside N − 1 decodes at C̄;
T_last, the last chunk (mean size and past context) beside them. A chunk step is one engine
step of two request groups (``WorkloadArgs.fused``): one set of GEMMs over all its tokens
(weights read once) and one attention kernel per group. Step times are close to affine in
context, so a step at the mean context stands for the mean of the steps (exact if affine).

* mean step T̄ = φ_full·T_full + φ_last·T_last + (1 − φ)·T_decode, φ_full = x·E[k − 1],
  φ_last = x; throughput = x·E[O] / T̄ output tokens per second, request rate = x / T̄;
* ITL (mean gap between a request's output tokens; each decode token weighted by its step):
  [(φ_full·T_full + φ_last·T_last)·(N − 1) + (1 − φ)·N·T_decode] / (N − φ);
* TTFT once admitted (no queueing modelled) = E[k − 1]·T_full + T_last.

Memory: the weights, the largest step's activations and the blocks the running requests hold
on average (N × a request's blocks averaged over its steps) must fit the usable memory;
otherwise the result gives the numbers and the most requests that fit, and no times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..constraints import memory_constraint
from ..physics.paged_kv import DEFAULT_BLOCK_SIZE, blocks_for, expected_wasted_slots, wasted_slots
from ..physics.paged_kv import chunk_block_sum as _chunk_block_sum  # noqa: F401 (tests)
from ..physics.transformer import kv_bytes_per_token
from ..results_batching import BatchingCurve, ContinuousBatchingResult, StaticComparison
from ..specs.workload import TransformerWorkload
from . import inputs
from .engine import build_plan
from .inputs import RequestGroup, WorkloadArgs
from .request_mix import LENGTHS, RequestMix, request_mix
from .serving import ServingModel, _target
from .step_memo import times_for

DEFAULT_CHUNK_SIZE = 512  # prompt tokens per step: the smaller of Sarathi-Serve's budgets
# the block arithmetic and the request mix live in physics.paged_kv and .request_mix; their
# public names stay importable from here
__all__ = ["DEFAULT_BLOCK_SIZE", "DEFAULT_CHUNK_SIZE", "LENGTHS", "ContinuousBatchingModel",
           "blocks_for", "compare_static", "expected_wasted_slots", "setup",
           "sweep_concurrency", "wasted_slots"]


def _decoder(model):
    model = inputs.resolve_model(model)
    if not isinstance(model, TransformerWorkload) or not model.si.causal:
        kind = "a per-sample network" if not isinstance(model, TransformerWorkload) \
            else "an encoder (it has no decode phase)"
        raise ValueError(f"model must be a decoder (continuous batching generates tokens); "
                         f"{model.name} is {kind}")
    return model


# -- the steady state ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Setup:
    """Validated inputs shared by every concurrency of a solve or a sweep."""

    model: object
    base: inputs.WorkloadArgs
    target: object
    mix: RequestMix
    block: int
    chunk: int
    kv_per_token: float  # bytes per token, whole model (all devices)


def setup(model, hardware, prompt_len=None, output_len=None, requests=None, lengths="fixed",
          block_size=DEFAULT_BLOCK_SIZE, chunk_size=DEFAULT_CHUNK_SIZE, precision="fp16",
          kv_precision=None) -> _Setup:
    model = _decoder(model)
    b = inputs.positive_int("block_size", block_size)
    c = inputs.positive_int("chunk_size", chunk_size)
    mix = request_mix(model, prompt_len, output_len, requests, lengths, b, c)
    base = inputs.workload_args(model, 1, None, "decode", precision, kv_precision=kv_precision)
    target = _target(hardware, base, "hardware", inputs.efficiencies())
    s = model.si
    # with more devices than KV heads, each KV head is held by several devices
    replicas = target.tp / min(target.tp, s.kv_heads)
    kv = kv_bytes_per_token(s.layers, s.kv_heads, s.head_dim, base.precision.kv_bytes)
    return _Setup(model, base, target, mix, b, c, kv * replicas)


def _steps(st: _Setup, n: int):
    """Plans of the decode step and of the chunk steps (full chunk or None, last chunk)."""
    mix, base, tp = st.mix, st.base, st.target.tp
    model, phase, prec = base.model, base.phase, base.precision
    decode = build_plan(WorkloadArgs(model, n, mix.decode_context, phase, prec), tp)
    decodes = (RequestGroup(n - 1, mix.decode_context, name="decode"),) if n > 1 else ()

    def chunk(size: int, past: int):
        return build_plan(WorkloadArgs(model, 1, past, phase, prec, query_len=size,
                                       last_logit_only=True, fused=decodes), tp)

    full = None if mix.full_context is None else chunk(st.chunk, mix.full_context)
    return decode, full, chunk(mix.last_chunk, mix.last_context)


def _memory(st: _Setup, n: int, decode_plan):
    """(weights, activations of the largest step, activation bytes per step token, block
    bytes), over all devices. The largest step carries n − 1 decode tokens and the largest
    chunk; a step's activations are proportional to its tokens (the engine's footprint)."""
    tp = st.target.tp
    per_token = decode_plan.footprint["activations"] * tp / n
    return (decode_plan.footprint["weights"] * tp, per_token * (n - 1 + st.mix.largest_chunk),
            per_token, st.block * st.kv_per_token)


def _blocks_needed(n: int, per_request: float) -> int:
    return math.ceil(n * per_request - 1e-9)


def _max_concurrency(st: _Setup, weights: float, per_token: float, block_bytes: float) -> int:
    """Most running requests whose blocks fit beside the weights and the largest step."""
    room = st.target.capacity * st.target.tp - weights
    extra = per_token * (st.mix.largest_chunk - 1)  # the chunk's tokens beyond the decodes

    def fits(n: int) -> bool:
        return _blocks_needed(n, st.mix.blocks) * block_bytes + per_token * n + extra <= room

    n = max(0, math.floor((room - extra) / (st.mix.blocks * block_bytes + per_token)))
    while n > 0 and not fits(n):
        n -= 1
    while fits(n + 1):
        n += 1
    return n


def _solve_at(st: _Setup, concurrency: int) -> ContinuousBatchingResult:
    mix, target = st.mix, st.target
    n = min(concurrency, mix.prefill_limit)
    steps = _steps(st, n)
    weights, activations, per_token, block_bytes = _memory(st, n, steps[0])
    capacity = target.capacity * target.tp
    max_n = _max_concurrency(st, weights, per_token, block_bytes)
    blocks = _blocks_needed(n, mix.blocks)
    parts = {"weights": weights, "kv_cache": blocks * block_bytes, "activations": activations}
    trace = memory_constraint({k: v / target.tp for k, v in parts.items()}, target.capacity,
                              target.tp)
    pool_blocks = max(0, math.floor((capacity - weights - activations) / block_bytes))
    times = dict.fromkeys(("itl", "decode", "max", "ttft", "step"))
    x = n / mix.life  # requests finished per step
    decode_steps = mixed_steps = ()
    if not trace:
        decode_plan, full_plan, last_plan = steps
        t_dec = times_for(decode_plan, target.rates)
        t_last = times_for(last_plan, target.rates)
        t_full = times_for(full_plan, target.rates) if full_plan is not None else None
        dec, last = float(t_dec.latency), float(t_last.latency)
        full = float(t_full.latency) if t_full is not None else 0.0
        phi_full, phi_last = x * (mix.chunks - 1.0), x
        phi = phi_full + phi_last
        chunked = phi_full * full + phi_last * last
        times["step"] = chunked + (1.0 - phi) * dec
        times["itl"] = (chunked * (n - 1) + (1.0 - phi) * n * dec) / (n - phi)
        times["decode"] = dec
        times["max"] = max(full, last) if n > 1 else dec
        times["ttft"] = (mix.chunks - 1.0) * full + last
        decode_steps = (decode_plan, t_dec)
        mixed_steps = (full_plan, t_full) if t_full is not None else (last_plan, t_last)
    return ContinuousBatchingResult(
        model=st.model.name, hardware=target.label, precision=st.base.precision.label(),
        workload=mix.label, concurrency=concurrency, running=n,
        prefill_limit=mix.prefill_limit, max_concurrency=max_n, block_size=st.block,
        chunk_size=st.chunk, mean_prompt=mix.mean_prompt, mean_output=mix.mean_output,
        feasible=not trace, constraint_trace=trace, itl_s=times["itl"],
        itl_decode_s=times["decode"], itl_max_s=times["max"], ttft_s=times["ttft"],
        step_s=times["step"], requests_per_step=x, capacity_bytes=capacity,
        weights_bytes=weights, activations_bytes=activations, block_bytes=block_bytes,
        pool_blocks=pool_blocks, blocks_used=blocks, blocks_per_request=mix.blocks,
        wasted_slots_per_request=mix.waste, chunks_per_request=mix.chunks,
        lengths_are_means=mix.mean, decode_steps=decode_steps, mixed_steps=mixed_steps)


def sweep_concurrency(st: _Setup, concurrencies=None) -> BatchingCurve:
    """ITL, throughput and TTFT at each concurrency up to the most the KV pool holds
    (default: powers of two, the prefill limit and the memory limit)."""
    first = _solve_at(st, 1)
    top = first.max_concurrency
    if concurrencies is None:
        points = {2 ** i for i in range(top.bit_length())} | {top}
        if st.mix.prefill_limit < top:
            points.add(st.mix.prefill_limit)
        concurrencies = sorted(p for p in points if p >= 1)
    else:
        concurrencies = [inputs.positive_int("concurrencies", n) for n in concurrencies]
        over = [n for n in concurrencies if n > top]
        if over:
            raise ValueError(f"concurrencies must be at most {top:,}, the most requests the KV "
                             f"pool holds; got {over[0]:,}")
    results = [_solve_at(st, n) for n in concurrencies]
    return BatchingCurve(
        model=first.model, hardware=first.hardware, workload=first.workload,
        concurrency=tuple(concurrencies), itl_s=tuple(r.itl_s for r in results),
        tokens_per_s=tuple(r.tokens_per_s for r in results),
        ttft_s=tuple(r.ttft_s for r in results), max_concurrency=top,
        prefill_limit=st.mix.prefill_limit, feasible=top > 0,
        constraint_trace=() if top > 0 else first.constraint_trace)


def compare_static(st: _Setup, hardware, max_output_len=None) -> StaticComparison:
    """Continuous batching (paged KV, at the most running requests the pool holds) against
    static batching in the same memory: a batch reserves prompt + ``max_output_len`` tokens of
    KV per request (its longest prompt), prefills its prompts and decodes until its longest
    output ends (ServingModel)."""
    mix = st.mix
    reserve = mix.max_output if max_output_len is None else \
        inputs.positive_int("max_output_len", max_output_len)
    if reserve < mix.max_output:
        raise ValueError(f"max_output_len must be at least the longest output "
                         f"({mix.max_output:,} tokens), got {reserve:,}")
    max_ctx = st.model.si.max_context
    if max_ctx and mix.max_prompt + reserve > max_ctx:
        raise ValueError(f"prompt + max_output_len = {mix.max_prompt + reserve:,} exceeds "
                         f"{st.model.name}'s max_context of {max_ctx:,} tokens")
    top = _solve_at(st, 1).max_concurrency
    paged = _solve_at(st, max(top, 1))
    serving, prec = ServingModel(), st.base.precision

    def static_at(batch: int, output_len: int):
        return serving.solve(st.model, hardware, seq_len=mix.max_prompt, batch_size=batch,
                             precision=prec.compute, output_len=output_len,
                             kv_precision=prec.kv)

    batch = static_at(1, reserve).max_batch_size
    static = None
    while batch > 0:  # the batch runs until its longest output ends
        static = static_at(batch, mix.max_output)
        if static.feasible and static_at(batch, reserve).feasible:
            break
        batch -= 1
    static_tps = batch * mix.mean_output / static.e2e_s if batch else None
    notes = (f"Equal memory: both use the usable memory of {paged.hardware}.",
             f"Static: each request reserves {mix.max_prompt:,} + {reserve:,} tokens of KV; the "
             "batch prefills its prompts one after another and decodes until its longest "
             f"output ({mix.max_output:,} tokens) ends, then the next batch starts.",
             f"Paged: {paged.notes[1]}")
    return StaticComparison(
        model=paged.model, hardware=paged.hardware, workload=mix.label,
        max_output_len=reserve, paged_requests=top, static_requests=batch,
        paged_kv_per_request=mix.blocks * paged.block_bytes,
        static_kv_per_request=(mix.max_prompt + reserve) * st.kv_per_token,
        paged_tokens_per_s=paged.tokens_per_s if top else None,
        static_tokens_per_s=static_tps, paged=paged, static=static, notes=notes)


class ContinuousBatchingModel:
    """Continuous batching with a paged KV cache and chunked prefill, in steady state (see
    the module docstring). Stateless; every method takes keywords."""

    def solve(self, model, hardware, concurrency=1, prompt_len=None, output_len=None,
              requests=None, lengths="fixed", block_size=DEFAULT_BLOCK_SIZE,
              chunk_size=DEFAULT_CHUNK_SIZE, precision="fp16",
              kv_precision=None) -> ContinuousBatchingResult:
        """``concurrency`` requests running at once, of ``prompt_len`` + ``output_len`` tokens
        each (``lengths="mean"``: means of varying lengths) or of the (prompt, output) pairs
        in ``requests`` (each equally likely)."""
        n = inputs.positive_int("concurrency", concurrency)
        st = setup(model, hardware, prompt_len, output_len, requests, lengths, block_size,
                   chunk_size, precision, kv_precision)
        return _solve_at(st, n)

    def sweep(self, model, hardware, concurrencies=None, prompt_len=None, output_len=None,
              requests=None, lengths="fixed", block_size=DEFAULT_BLOCK_SIZE,
              chunk_size=DEFAULT_CHUNK_SIZE, precision="fp16",
              kv_precision=None) -> BatchingCurve:
        """The throughput–latency curve: one solve per concurrency, up to the memory limit."""
        st = setup(model, hardware, prompt_len, output_len, requests, lengths, block_size,
                   chunk_size, precision, kv_precision)
        return sweep_concurrency(st, concurrencies)

    def compare_static(self, model, hardware, prompt_len=None, output_len=None,
                       requests=None, max_output_len=None, lengths="fixed",
                       block_size=DEFAULT_BLOCK_SIZE, chunk_size=DEFAULT_CHUNK_SIZE,
                       precision="fp16", kv_precision=None) -> StaticComparison:
        """Paged continuous batching vs static batching in the same memory (see
        :func:`compare_static`)."""
        st = setup(model, hardware, prompt_len, output_len, requests, lengths, block_size,
                   chunk_size, precision, kv_precision)
        return compare_static(st, hardware, max_output_len)

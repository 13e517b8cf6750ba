"""LLM serving on the engine: a request's two phases, the KV cache it holds, and the tricks that
change either (prefix caching, disaggregated prefill/decode, speculative decoding).

Every time below is an engine step (the one per-operator cost model) on a device or a node
(tensor parallelism through the engine's TP plan); this module only decides *which* steps a
request takes and adds them up:

* **TTFT** — the prefill of one request's prompt (``prefill="separate"``, the default: each
  prompt prefilled on its own), or of the whole batch's prompts in one step
  (``prefill="together"``: every request then waits for all of them). The result says which.
  With ``cached_prefix_len`` = p the first p tokens' KV cache is reused: the prefill is a step
  of L − p new tokens attending to the p cached ones (only the last token's logits).
* **ITL** — one decode step of the batch at the running context (``itl`` at the first output
  token, ``itl_last`` at the last). A generation of n output tokens takes the prefill plus n − 1
  decode steps at contexts L … L + n − 2; a decode step's time is affine in its context (the KV
  cache read grows linearly), so their sum is (n − 1) × the mean of the first and last step
  (trapezoid rule, exact for an affine step time).
* **Speculative decoding** (Leviathan et al. 2023, arXiv 2211.17192, §3): a round drafts k tokens
  with ``draft_model`` (k decode steps) and verifies them with one target step over k + 1 new
  tokens; with acceptance rate α the expected tokens per round are (1 − α^(k+1)) / (1 − α)
  (k + 1 when α = 1). The ITL is a round's time over that expectation.
* **Disaggregated prefill/decode** (``decode_hardware``): the prompt's KV cache crosses
  ``network_bandwidth`` before the first decode step; that transfer adds to the end-to-end time.

Memory: the weights, the batch's KV cache at its final length (a cached prefix stored once),
and the largest step's activations must fit each device's usable memory; an infeasible
configuration reports its numbers and the largest batch that fits, and no times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..constraints import memory_constraint
from ..results_llm import ServingResult
from ..specs.system import NodeSpec
from ..specs.workload import TransformerWorkload
from ..vocabulary import Phase
from . import inputs
from .dispatch import DEVICE, NODE, resolve_target
from .engine import build_plan
from .step_memo import rates_for, times_for

PREFILL_MODES = ("separate", "together")
DEFAULT_OUTPUT_LEN = 128
DEFAULT_DRAFT_LEN = 4


@dataclass(frozen=True)
class _Target:
    """Where a phase runs: one device (tp = 1) or a node split tp ways."""

    hw: object
    tp: int
    rates: object
    capacity: float  # usable bytes per device
    label: str


def _target(hardware, args, name: str, effs, tp=None) -> _Target:
    kind, spec = resolve_target(hardware)
    if kind not in (DEVICE, NODE):
        raise ValueError(f"{name}: serving runs on a device or a node, not on the wafer-scale "
                         f"{spec.name} (see WeightStreamingModel and WaferResidentModel)")
    if kind == NODE:
        hw = spec.accelerator
        tp = spec.count if tp is None else inputs.positive_int("tp", tp)
        if tp > spec.count:
            raise ValueError(f"tp={tp} exceeds the {spec.count} accelerators of {spec.name}")
        if args.model.heads % tp:
            raise ValueError(f"{name}: tp={tp} must divide {args.model.name}'s "
                             f"{args.model.heads} attention heads")
        label = f"{tp} × {hw.name}"
    else:
        if tp not in (None, 1):
            raise ValueError(f"tp applies to a node (e.g. 'DGX_H100'), not to the device "
                             f"{spec.name}")
        hw, tp, label = spec, 1, spec.name
    inputs.peak_for(hw, args.precision.compute)
    rates = rates_for(hw, args.precision, effs,
                      node=spec if isinstance(spec, NodeSpec) else None)
    return _Target(hw, tp, rates, hw.si.mem_capacity, label)


def _step(args, target: _Target):
    plan = build_plan(args, target.tp)
    return plan, times_for(plan, target.rates)


def _count(name: str, value, low: int = 1) -> int:
    """An int ≥ ``low`` (0 or 1)."""
    if low == 0 and isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return 0
    if low == 0 and isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise ValueError(f"{name} must be a non-negative integer (≥ 0), got {value:,}")
    return inputs.positive_int(name, value)


def _acceptance(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0.0 <= value <= 1.0 or value != value:
        raise ValueError(f"draft_acceptance_rate must be a fraction in [0, 1], got "
                         f"{inputs.shown(value)}")
    return float(value)


def expected_tokens_per_round(acceptance: float, draft_len: int) -> float:
    """Leviathan et al. 2023, eq. (1): E[tokens] = (1 − α^(k+1)) / (1 − α); k + 1 at α = 1."""
    if acceptance >= 1.0:
        return draft_len + 1.0
    return (1.0 - acceptance ** (draft_len + 1)) / (1.0 - acceptance)


def _decoder(model):
    model = inputs.resolve_model(model)
    if not isinstance(model, TransformerWorkload) or not model.si.causal:
        kind = "a per-sample network" if not isinstance(model, TransformerWorkload) \
            else "an encoder (it has no decode phase)"
        raise ValueError(f"serving generates tokens with a decoder; {model.name} is {kind}")
    return model


def solve_serving(model, hardware, seq_len, batch_size=1, precision="fp16",
                  output_len=DEFAULT_OUTPUT_LEN, kv_precision=None, draft_model=None,
                  draft_acceptance_rate=0.7, draft_len=DEFAULT_DRAFT_LEN,
                  cached_prefix_len=0, decode_hardware=None, network_bandwidth=None,
                  prefill="separate", tp=None, activation_precision=None, efficiency=None,
                  memory_efficiency=None, launch_overhead=None) -> ServingResult:
    """Serve a static batch of ``batch_size`` requests of ``seq_len`` prompt tokens and
    ``output_len`` output tokens (see the module docstring). ``tp`` splits a node fewer ways
    than its GPU count; the efficiency overrides are the engine's (1 gives the bound)."""
    model = _decoder(model)
    n_out = inputs.positive_int("output_len", output_len)
    base = inputs.workload_args(model, batch_size, seq_len, "decode", precision,
                                kv_precision=kv_precision,
                                activation_precision=activation_precision)
    effs = inputs.efficiencies(efficiency, memory_efficiency, launch_overhead)
    batch, prompt = base.batch, base.context
    if seq_len is None:
        raise ValueError("seq_len (the prompt length in tokens) is required")
    max_ctx = model.si.max_context
    if max_ctx and prompt + n_out > max_ctx:
        raise ValueError(f"seq_len + output_len = {prompt + n_out:,} exceeds "
                         f"{model.name}'s max_context of {max_ctx:,} tokens")
    cached = _count("cached_prefix_len", cached_prefix_len, low=0)
    if cached >= prompt:
        raise ValueError(f"cached_prefix_len must be smaller than seq_len ({prompt:,}), got "
                         f"{cached:,}")
    # the speculative-decoding knobs are checked even without a draft: a bad value is a
    # mistake whether or not it is used
    alpha = _acceptance(draft_acceptance_rate)
    k = inputs.positive_int("draft_len", draft_len)
    if prefill not in PREFILL_MODES:
        raise ValueError(f"prefill must be one of {', '.join(PREFILL_MODES)}; got "
                         f"{inputs.shown(prefill)}")
    pre_target = _target(hardware, base, "hardware", effs, tp)
    dec_target = pre_target if decode_hardware is None else \
        _target(decode_hardware, base, "decode_hardware", effs)
    link = None
    if decode_hardware is not None:
        if network_bandwidth is None:
            raise ValueError("decode_hardware needs network_bandwidth (e.g. '50 GB/s'): the "
                             "prompt's KV cache crosses it before decoding")
        link = inputs.seconds("network_bandwidth", network_bandwidth, unit="B/s",
                              example="'50 GB/s'")
    elif network_bandwidth is not None:
        raise ValueError("network_bandwidth applies with decode_hardware (disaggregated "
                         "prefill and decode)")

    # -- prefill -------------------------------------------------------------------------
    def prefill_step(n_seq: int):
        if cached:
            args = replace(base, batch=n_seq, context=cached, query_len=prompt - cached,
                           last_logit_only=True)
        else:
            args = replace(base, batch=n_seq, context=prompt, phase=Phase.PREFILL)
        return _step(args, pre_target)

    one_plan, one_times = prefill_step(1)
    if prefill == "together":
        pre_plan, pre_times = prefill_step(batch)
        ttft = batch_prefill = float(pre_times.latency)
    else:
        pre_plan, pre_times = one_plan, one_times
        ttft = float(one_times.latency)
        batch_prefill = batch * ttft

    # -- decode (or speculative rounds) ------------------------------------------------------
    def decode_at(context: int):
        return _step(replace(base, context=context), dec_target)

    # decode step j = 1 … n − 1 feeds output token j over prompt + j − 1 past tokens
    last_ctx = prompt + max(n_out - 2, 0)
    first_plan, first_times = decode_at(prompt)
    last_plan, last_times = decode_at(last_ctx)
    itl, itl_last = float(first_times.latency), float(last_times.latency)
    spec_note, draft_footprint, tokens_per_round = None, {}, 1.0
    if draft_model is not None:
        draft = _decoder(draft_model)
        if draft.si.vocab != model.si.vocab:
            raise ValueError(f"draft_model {draft.name} must share {model.name}'s vocabulary "
                             f"({draft.si.vocab:,} vs {model.si.vocab:,} tokens)")
        tokens_per_round = expected_tokens_per_round(alpha, k)
        draft_args = replace(base, model=draft)

        def round_at(context: int) -> float:
            _, d_times = _step(replace(draft_args, context=context), dec_target)
            _, v_times = _step(replace(base, context=context, query_len=k + 1), dec_target)
            return k * float(d_times.latency) + float(v_times.latency)

        itl = round_at(prompt) / tokens_per_round
        itl_last = round_at(last_ctx) / tokens_per_round
        draft_plan = build_plan(replace(draft_args, context=prompt + n_out), dec_target.tp)
        draft_footprint = {"draft weights": draft_plan.footprint["weights"],
                           "draft KV cache": draft_plan.footprint["kv_cache"]}
        spec_note = (f"Speculative decoding: {k} tokens drafted by {draft.name} per round, "
                     f"acceptance {alpha:.0%}, {tokens_per_round:.2f} tokens per round "
                     "expected (Leviathan et al. 2023).")
    decode_total = (n_out - 1) * (itl + itl_last) / 2.0

    # -- KV transfer (disaggregated) -------------------------------------------------------
    kv_per_token = last_plan.footprint["kv_cache"] / (batch * (last_ctx + 1)) \
        * dec_target.tp  # the whole model's KV bytes per token of one sequence
    transfer = 0.0 if link is None else batch * (prompt - cached) * kv_per_token / link

    # -- memory ----------------------------------------------------------------------------
    kv_total = (batch * (prompt + n_out - cached) + cached) * kv_per_token
    weights = last_plan.footprint["weights"] * dec_target.tp
    activations = max(pre_plan.footprint["activations"] * pre_target.tp,
                      last_plan.footprint["activations"] * dec_target.tp)
    parts = {"weights": weights, "kv_cache": kv_total, "activations": activations}
    parts.update({k: v * dec_target.tp for k, v in draft_footprint.items()})
    trace = _memory(parts, pre_target, dec_target, decode_hardware is not None, prompt,
                    cached, kv_per_token, batch, pre_plan, pre_target.tp)
    capacity = dec_target.capacity * dec_target.tp
    max_batch = _max_batch(capacity, weights, parts, draft_footprint, dec_target.tp, batch,
                           prompt, n_out, cached, kv_per_token, prefill,
                           pre_plan.footprint["activations"] * pre_target.tp,
                           one_plan.footprint["activations"] * pre_target.tp,
                           last_plan.footprint["activations"] * dec_target.tp)
    feasible = not trace
    e2e = batch_prefill + transfer + decode_total
    notes = [("TTFT is one request's prompt prefill; the batch's prompts are prefilled one "
              "after another" if prefill == "separate" else
              "TTFT is the prefill of the whole batch's prompts in one step: every request "
              "waits for all of them"),
             "Decode steps are summed by the trapezoid rule over the running context (exact "
             "for a step time affine in context)."]
    if cached:
        notes.append(f"The first {cached:,} prompt tokens' KV cache is reused (prefix caching) "
                     "and stored once for the batch.")
    if spec_note:
        notes.append(spec_note)
    if link is not None:
        notes.append(f"Disaggregated: prefill on {pre_target.label}, decode on "
                     f"{dec_target.label}; the prompt's KV cache crosses "
                     f"{link / 1e9:.3g} GB/s first.")
    return ServingResult(
        model=model.name, hardware=pre_target.label, decode_hardware=dec_target.label,
        precision=base.precision.label(), batch_size=batch, seq_len=prompt, output_len=n_out,
        prefill_mode=prefill, feasible=feasible, constraint_trace=trace,
        ttft_s=ttft if feasible else None, itl_s=itl if feasible else None,
        itl_last_s=itl_last if feasible else None,
        batch_prefill_s=batch_prefill if feasible else None,
        kv_transfer_s=transfer if feasible else None,
        e2e_s=e2e if feasible else None,
        tokens_per_round=tokens_per_round, memory_parts=tuple(parts.items()),
        capacity_bytes=capacity, max_batch_size=max_batch,
        prefill_steps=(pre_plan, pre_times), decode_steps=(first_plan, first_times),
        notes=tuple(notes))


def _max_batch(capacity, weights, parts, draft, tp, batch, prompt, n_out, cached,
               kv_per_token, prefill, act_prefill, act_prefill_one, act_decode) -> int:
    """The largest batch whose memory fits: weights (and a draft's), the KV cache of every
    sequence and the larger of the prefill's and the decode's activations, which grow with
    the batch except a prompt prefilled on its own (``prefill="separate"``)."""
    fixed = weights + parts.get("draft weights", 0.0) + cached * kv_per_token
    per_seq = (prompt + n_out - cached) * kv_per_token \
        + draft.get("draft KV cache", 0.0) * tp / batch
    decode_per_seq = act_decode / batch
    room = capacity - fixed
    if room <= 0 or per_seq <= 0:
        return 0
    if prefill == "together":
        return max(0, math.floor(room / (per_seq + max(act_prefill / batch,
                                                       decode_per_seq))))
    return max(0, min(math.floor((room - act_prefill_one) / per_seq),
                      math.floor(room / (per_seq + decode_per_seq))))


def _memory(parts, pre, dec, disaggregated, prompt, cached, kv_per_token, batch, pre_plan,
            pre_tp):
    """Constraints on each device's usable memory: the decode side holds everything; a
    separate prefill side holds the weights, the prompt's KV and its activations."""
    per_device = {k: v / dec.tp for k, v in parts.items()}
    trace = memory_constraint(per_device, dec.capacity, dec.tp)
    if disaggregated:
        pre_parts = {"weights": parts["weights"] / pre_tp * 1.0,
                     "kv_cache": batch * prompt * kv_per_token / pre_tp,
                     "activations": pre_plan.footprint["activations"]}
        trace += memory_constraint(pre_parts, pre.capacity, pre.tp,
                                   resource="prefill memory")
    return trace


class ServingModel:
    """LLM serving: TTFT, ITL, end-to-end latency, throughput and memory of a static batch."""

    def solve(self, model, hardware, seq_len=None, batch_size=1, precision="fp16",
              output_len=DEFAULT_OUTPUT_LEN, kv_precision=None, draft_model=None,
              draft_acceptance_rate=0.7, draft_len=DEFAULT_DRAFT_LEN, cached_prefix_len=0,
              decode_hardware=None, network_bandwidth=None, prefill="separate", tp=None,
              activation_precision=None, efficiency=None, memory_efficiency=None,
              launch_overhead=None) -> ServingResult:
        """See :func:`solve_serving`."""
        return solve_serving(model, hardware, seq_len, batch_size, precision, output_len,
                             kv_precision, draft_model, draft_acceptance_rate, draft_len,
                             cached_prefix_len, decode_hardware, network_bandwidth, prefill,
                             tp, activation_precision, efficiency, memory_efficiency,
                             launch_overhead)

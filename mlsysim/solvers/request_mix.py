"""The request lengths of a continuous-batching workload, reduced to what its steady state needs
(see :mod:`mlsysim.solvers.continuous_batching`): a request of P prompt and O output tokens
takes k = ⌈P/c⌉ chunk steps and O − 1 decode steps; the means over requests of its steps, its
chunks, its contexts and the KV blocks it holds (exact sums, or the expected fragmentation of
lengths that are means) are what the steady state weighs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..physics.paged_kv import block_sum, blocks_for, chunk_block_sum, expected_wasted_slots
from . import inputs

LENGTHS = ("fixed", "mean")


@dataclass(frozen=True, slots=True)
class RequestMix:
    """The request lengths, reduced to what the steady state needs (means over requests)."""

    label: str
    mean: bool  # lengths are means (expected fragmentation), not exact
    mean_prompt: float
    mean_output: float
    max_prompt: int
    max_output: int
    life: float  # E[k + O − 1] steps
    chunks: float  # E[k]
    prefill_limit: int  # ⌊E[life] / E[k]⌋
    decode_context: int  # mean past context of a decode step
    full_context: int | None  # mean past context of a full chunk (None: every prompt ≤ c)
    last_chunk: int  # mean size of a prompt's last chunk
    last_context: int  # and its mean past context
    largest_chunk: int
    blocks: float  # blocks a running request holds, averaged over its steps
    waste: float  # unused slots among them


def round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def mix_of(prompts: np.ndarray, outputs: np.ndarray, b: int, c: int, mean: bool,
           label: str) -> RequestMix:
    P, O = prompts.astype(np.int64), outputs.astype(np.int64)
    k = -(-P // c)
    life = k + O - 1
    full, last = k - 1, P - (k - 1) * c
    # tokens held, summed over a request's steps: chunks j·c (j < k) and P, then P + t
    held = c * full * k // 2 + P + (O - 1) * P + O * (O - 1) // 2
    if mean:
        blocks = held / b + life * expected_wasted_slots(b) / b
    else:
        blocks = chunk_block_sum(full, c, b) + blocks_for(P, b) \
            + block_sum(P + O - 1, b) - block_sum(P, b)
    steps, decodes, fulls = int(life.sum()), int((O - 1).sum()), int(full.sum())
    per_request = float(blocks.sum()) / steps
    return RequestMix(
        label=label, mean=mean, mean_prompt=float(P.mean()), mean_output=float(O.mean()),
        max_prompt=int(P.max()), max_output=int(O.max()), life=steps / len(P),
        chunks=float(k.mean()), prefill_limit=steps // int(k.sum()),
        decode_context=round_half_up(float(((O - 1) * (2 * P + O - 2)).sum()) / (2 * decodes)),
        full_context=round_half_up(c * float((full * (full - 1)).sum()) / (2 * fulls))
        if fulls else None,
        last_chunk=max(1, round_half_up(float(last.mean()))),
        last_context=round_half_up(float((full * c).mean())),
        largest_chunk=int(min(c, P.max())), blocks=per_request,
        waste=per_request * b - float(held.sum()) / steps)


def request_mix(model, prompt_len, output_len, requests, lengths, b: int, c: int) -> RequestMix:
    """Validate the request lengths: fixed (or means), or (prompt, output) pairs."""
    if lengths not in LENGTHS:
        raise ValueError(f"lengths must be one of {', '.join(LENGTHS)}; got "
                         f"{inputs.shown(lengths)}")
    max_ctx = model.si.max_context
    if requests is None:
        if prompt_len is None or output_len is None:
            raise ValueError("prompt_len and output_len (tokens per request) are required, or "
                             "requests=[(prompt, output), ...]")
        p = inputs.positive_int("prompt_len", prompt_len)
        o = inputs.positive_int("output_len", output_len)
        if max_ctx and p + o > max_ctx:
            raise ValueError(f"prompt_len + output_len = {p + o:,} exceeds {model.name}'s "
                             f"max_context of {max_ctx:,} tokens")
        if o < 2:
            raise ValueError(_NO_DECODE)
        return fixed_mix(p, o, b, c, lengths == "mean")
    if prompt_len is not None or output_len is not None:
        raise ValueError("give requests=[(prompt, output), ...] or prompt_len and output_len, "
                         "not both")
    if lengths == "mean":
        raise ValueError("lengths='mean' applies to prompt_len and output_len; requests are "
                         "exact lengths")
    try:
        pairs = np.asarray(requests)
    except (ValueError, TypeError):  # ragged: pairs of unequal length
        pairs = np.zeros((0,))
    if pairs.dtype.kind == "b" or (isinstance(requests, (list, tuple)) and any(
            isinstance(v, bool) for pair in requests if isinstance(pair, (list, tuple))
            for v in pair)):
        raise ValueError(f"requests must be (prompt, output) pairs of token counts, not "
                         f"True/False; got {inputs.shown(requests)}")
    if pairs.ndim != 2 or pairs.shape[1:] != (2,) or not len(pairs) \
            or pairs.dtype.kind not in "iu":
        raise ValueError(f"requests must be a non-empty list of (prompt, output) integer "
                         f"pairs, got {inputs.shown(requests)}")
    if (pairs < 1).any():
        i = int(np.argmax((pairs < 1).any(axis=1)))
        raise ValueError(f"requests: every prompt and output length must be ≥ 1; request {i} "
                         f"is {tuple(int(v) for v in pairs[i])}")
    prompts, outputs = pairs[:, 0], pairs[:, 1]
    longest = int((prompts + outputs).max())
    if max_ctx and longest > max_ctx:
        raise ValueError(f"requests: prompt + output = {longest:,} exceeds {model.name}'s "
                         f"max_context of {max_ctx:,} tokens")
    if (outputs < 2).all():
        raise ValueError(_NO_DECODE)
    label = (f"{len(pairs):,} requests of mean {prompts.mean():,.0f} prompt + "
             f"{outputs.mean():,.0f} output tokens")
    return mix_of(prompts, outputs, b, c, False, label)


_NO_DECODE = ("output_len must be at least 2 (for some request): continuous batching "
              "interleaves decode steps, and the first output token comes from the prefill")


@lru_cache(maxsize=256)
def fixed_mix(p: int, o: int, b: int, c: int, mean: bool) -> RequestMix:
    """Every request of p + o tokens (a pure function of its arguments, kept)."""
    label = f"{'mean ' if mean else ''}{p:,} prompt + {o:,} output tokens"
    return mix_of(np.array([p]), np.array([o]), b, c, mean, label)

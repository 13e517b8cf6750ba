"""Paged KV cache arithmetic (vLLM: Kwon et al. 2023, arXiv 2309.06180, §4.1–4.3), on ints or
int arrays: a sequence of n tokens in blocks of b tokens holds ⌈n/b⌉ blocks and wastes only the
unused slots of its last one; sums of blocks held over a request's growing life, in closed form.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_BLOCK_SIZE = 16  # tokens per KV block: vLLM's default (Kwon et al. 2023, §7.2)


def blocks_for(tokens, block_size: int = DEFAULT_BLOCK_SIZE):
    """KV blocks holding ``tokens`` tokens: ⌈tokens / block_size⌉ (ints or int arrays)."""
    return -(-tokens // block_size)


def wasted_slots(tokens, block_size: int = DEFAULT_BLOCK_SIZE):
    """Internal fragmentation: the last block's unused slots, blocks·block_size − tokens."""
    return blocks_for(tokens, block_size) * block_size - tokens


def expected_wasted_slots(block_size: int = DEFAULT_BLOCK_SIZE) -> float:
    """(b − 1)/2: the mean unused slots when a length ends equally likely at any slot of its
    last block (lengths uniformly distributed modulo b)."""
    return (block_size - 1) / 2.0


def block_sum(n, b: int):
    """Σ_{m=1..n} ⌈m/b⌉ = b·q(q+1)/2 + r·(q+1), with n = q·b + r."""
    q, r = n // b, n % b
    return b * q * (q + 1) // 2 + r * (q + 1)


def chunk_block_sum(m, c: int, b: int):
    """Σ_{j=1..m} ⌈j·c/b⌉, exactly: rounding j·c up to blocks adds (−j·c) mod b slots, a
    sequence periodic in j with period p = b/gcd(b, c) summing to gcd·p·(p − 1)/2."""
    g = math.gcd(b, c)
    period = b // g
    prefix = np.cumsum((-np.arange(period) * c) % b)
    slots = (m // period) * (g * period * (period - 1) // 2) + prefix[m % period]
    return (c * m * (m + 1) // 2 + slots) // b

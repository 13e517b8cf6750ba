"""``mlsysim serve``: one static batch of LLM requests, end to end (ServingModel)."""

from __future__ import annotations

import argparse
import math


def add_parser(sub, positive_int, fraction, precisions) -> None:
    sv = sub.add_parser("serve", help="TTFT, ITL, throughput and memory of serving a batch")
    sv.add_argument("model", help="a decoder in the catalog, e.g. Llama3_8B")
    sv.add_argument("hardware", help="a device (e.g. H100) or a node (e.g. DGX_H100)")
    sv.add_argument("--seq-len", type=positive_int, required=True, help="prompt tokens")
    sv.add_argument("--output-len", type=positive_int, default=128, help="output tokens")
    sv.add_argument("--batch-size", type=positive_int, default=1)
    sv.add_argument("--precision", default="fp16", choices=precisions)
    sv.add_argument("--kv-precision", default=None, choices=precisions)
    sv.add_argument("--prefill", choices=["separate", "together"], default="separate",
                    help="prefill each prompt on its own (TTFT of one request) or the batch's "
                         "prompts in one step")
    sv.add_argument("--cached-prefix", type=_non_negative_int, default=0,
                    help="prompt tokens whose KV cache is reused (prefix caching)")
    sv.add_argument("--draft-model", default=None, help="speculative decoding: the draft")
    sv.add_argument("--acceptance", type=unit_interval, default=0.7,
                    help="speculative decoding: draft acceptance rate")
    sv.add_argument("--draft-len", type=positive_int, default=4)
    sv.add_argument("--decode-hardware", default=None,
                    help="disaggregated decode on another device or node")
    sv.add_argument("--network-bandwidth", default=None,
                    help="KV transfer link for --decode-hardware, e.g. '50 GB/s'")
    sv.add_argument("--json", action="store_true", help="machine-readable output")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 0, got {text[:40]!r}") \
            from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 0, got {text[:40]!r}")
    return value


def unit_interval(text: str) -> float:
    """A command-line number in [0, 1] (a fraction: an acceptance rate, an overlap, a
    utilisation); argparse reports the flag with the message."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text[:40]!r}")
    return value


def solve(args):
    from .solvers import ServingModel

    return ServingModel().solve(
        args.model, args.hardware, seq_len=args.seq_len, batch_size=args.batch_size,
        precision=args.precision, output_len=args.output_len, kv_precision=args.kv_precision,
        draft_model=args.draft_model, draft_acceptance_rate=args.acceptance,
        draft_len=args.draft_len, cached_prefix_len=args.cached_prefix,
        decode_hardware=args.decode_hardware, network_bandwidth=args.network_bandwidth,
        prefill=args.prefill)

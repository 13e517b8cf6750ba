"""The ``mlsysim`` command.

    mlsysim eval Llama3_70B H100 --batch-size 1 [--precision fp16] [--phase decode] [--json]
    mlsysim eval GPT3 DGX_H100 [--tp 8]          (a node: tensor parallelism over its GPUs)
    mlsysim sensitivity Llama3_8B H100 [--batch-size N] [--json]
    mlsysim zoo hardware|models [--json]

Bad input (an unknown name, a bad number) exits with status 2 and one line on stderr that
names the problem and, for names, the closest matches. No tracebacks.
"""

from __future__ import annotations

import argparse
import json
import sys


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2 (argparse would print usage too)
        self.exit(2, f"mlsysim: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text!r}")
    return value


# Kept here (not imported from mlsysim.units) so that `mlsysim --help` does not import pint.
PRECISION_CHOICES = ["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4", "fp4"]


def _add_step_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments shared by every command that solves one step of a model."""
    parser.add_argument("model", help="catalog model name, e.g. Llama3_70B")
    parser.add_argument("hardware", help="a device (e.g. H100) or a node (e.g. DGX_H100)")
    parser.add_argument("--batch-size", type=_positive_int, default=1)
    parser.add_argument("--precision", default="fp16", choices=PRECISION_CHOICES)
    parser.add_argument("--phase", choices=["decode", "prefill"], default=None)
    parser.add_argument("--seq-len", type=_positive_int, default=None)
    parser.add_argument("--tp", type=_positive_int, default=None,
                        help="tensor-parallel degree when HARDWARE is a node (default: all GPUs)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="mlsysim", description="First-principles ML systems performance.")
    parser.add_argument("--version", action="version", version=f"mlsysim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ev = sub.add_parser("eval", help="latency, throughput and bottleneck of one step")
    _add_step_arguments(ev)
    ev.add_argument("--efficiency", type=_fraction, default=None,
                    help="override the achievable compute fraction (1 = pure roofline)")
    ev.add_argument("--training", action="store_true", help="one training step")

    se = sub.add_parser("sensitivity", help="elasticity of latency to each hardware parameter")
    _add_step_arguments(se)

    zoo = sub.add_parser("zoo", help="list the catalog")
    zoo.add_argument("kind", choices=["hardware", "models"])
    zoo.add_argument("--json", action="store_true")
    return parser


def _eval(args) -> object:
    from .catalog import Models
    from .solvers import Engine, TensorParallelModel, WeightStreamingModel
    from .solvers.sensitivity import _device_or_node
    from .specs.system import NodeSpec

    model, hw = Models.get(args.model), _device_or_node(args.hardware)
    if isinstance(hw, NodeSpec):
        if args.training:
            raise ValueError("--training on a node is not modelled yet; give one device")
        return TensorParallelModel().solve(
            model, hw, tp=args.tp, batch_size=args.batch_size, precision=args.precision,
            efficiency=args.efficiency, seq_len=args.seq_len, phase=args.phase)
    if args.tp is not None:
        raise ValueError("--tp applies to a node (e.g. DGX_H100), not to a single device")
    if hw.wafer is not None and not args.training:
        return WeightStreamingModel().solve(
            model=model, hardware=hw, seq_len=args.seq_len, batch_size=args.batch_size,
            precision=args.precision, phase=args.phase or "decode", efficiency=args.efficiency)
    return Engine.solve(model, hw, batch_size=args.batch_size, precision=args.precision,
                        efficiency=args.efficiency, seq_len=args.seq_len, phase=args.phase,
                        is_training=args.training)


def _sensitivity(args) -> object:
    from .solvers import SensitivitySolver

    return SensitivitySolver().solve(args.model, args.hardware, precision=args.precision,
                                     batch_size=args.batch_size, seq_len=args.seq_len,
                                     phase=args.phase, tp=args.tp)


def _zoo_rows(kind: str) -> tuple[list[str], list[list[object]], list[dict]]:
    from .catalog import Hardware, Models
    from .physics.transformer import kv_bytes_per_token
    from .units import Q_

    if kind == "hardware":
        headers = ["Key", "Name", "Tier", "Peak (dense)", "Precision", "Memory", "Bandwidth",
                   "Ridge", "TDP"]
        rows, data = [], []
        for h in Hardware.all():
            rows.append([h.key, h.name, h.tier, h.compute.peak_flops, h.compute.default_precision,
                         h.memory.capacity, h.memory.bandwidth, h.ridge_point, h.tdp])
            data.append({"key": h.key, "name": h.name, "tier": h.tier,
                         "peak_flops": float(h.compute.peak_flops.to("flop/s").magnitude),
                         "precision": h.compute.default_precision,
                         "memory_bytes": float(h.memory.capacity.to("B").magnitude),
                         "bandwidth_bytes_per_s": float(h.memory.bandwidth.to("B/s").magnitude),
                         "tdp_w": float(h.tdp.to("W").magnitude)})
        return headers, rows, data
    headers = ["Key", "Name", "Category", "Parameters", "Layers", "FLOPs/token or sample",
               "KV/token (fp16)"]
    rows, data = [], []
    for m in Models.all():
        if m.kind == "transformer":
            s = m.si
            per = Q_(2 * s.active_params, "flop")
            kv = Q_(kv_bytes_per_token(s.layers, s.kv_heads, s.head_dim, 2), "B") \
                if s.causal else "—"
        else:
            per, kv = m.flops_per_sample, "—"
        rows.append([m.key, m.name, m.category, m.parameters, m.layers, per, kv])
        data.append({"key": m.key, "name": m.name, "category": m.category,
                     "parameters": m.parameter_count, "layers": m.layers,
                     "flops_per_unit": float(per.to("flop").magnitude)})
    return headers, rows, data


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in ("eval", "sensitivity"):
            result = _eval(args) if args.command == "eval" else _sensitivity(args)
            print(json.dumps(result.to_dict(), indent=2) if args.json else result)
        else:
            headers, rows, data = _zoo_rows(args.kind)
            if args.json:
                print(json.dumps(data, indent=2))
            else:
                from .show import Table
                print(Table(headers, rows))
    except (ValueError, TypeError) as exc:  # our errors are ValueErrors with clear messages
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"mlsysim: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

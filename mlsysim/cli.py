"""The ``mlsysim`` command.

    mlsysim eval Llama3_70B H100 --batch-size 1 [--precision fp16] [--phase decode] [--json]
    mlsysim eval GPT3 DGX_H100 [--tp 8]          (a node: tensor parallelism over its GPUs)
    mlsysim sensitivity Llama3_8B H100 [--batch-size N] [--json]
    mlsysim serve Llama3_8B H100 --seq-len 2048 --output-len 256 --batch-size 8 [--json]
    mlsysim slo --rate 30 --service-ms 50 [--replicas 2] [--cv 1] [--p99-slo 300] [--json]
    mlsysim zoo hardware|models [--json]

Bad input (an unknown name, a bad number) exits with status 2 and one line on stderr that
names the problem and, for names, the closest matches. No tracebacks.
"""

from __future__ import annotations

import argparse
import re
import sys

from .vocabulary import PHASE_CHOICES, PRECISIONS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2 (argparse would print usage too)
        self.exit(2, f"mlsysim: error: {message}\n")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}… ({len(text):,} characters)"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {_shown(text)}") \
            from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {_shown(text)}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {_shown(text)}") \
            from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {_shown(text)}")
    return value


# From the vocabulary module (no pint import), so that `mlsysim --help` stays fast.
PRECISION_CHOICES = list(PRECISIONS)


def _add_step_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments shared by every command that solves one step of a model."""
    parser.add_argument("model", help="catalog model name, e.g. Llama3_70B")
    parser.add_argument("hardware", help="a device (e.g. H100) or a node (e.g. DGX_H100)")
    parser.add_argument("--batch-size", type=_positive_int, default=1)
    parser.add_argument("--precision", default="fp16", choices=PRECISION_CHOICES)
    parser.add_argument("--weight-precision", default=None, choices=PRECISION_CHOICES,
                        help="store weights at another precision (weight-only quantisation)")
    parser.add_argument("--kv-precision", default=None, choices=PRECISION_CHOICES)
    parser.add_argument("--phase", choices=list(PHASE_CHOICES), default=None)
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
    ev.add_argument("--cost-model", choices=["per-operator", "roofline"],
                    default="per-operator",
                    help="per-operator engine (default) or the one-number roofline")
    ev.add_argument("--wafers", type=_positive_int, default=None,
                    help="wafer-scale only: hold the weights in the SRAM of this many wafers")
    ev.add_argument("--in-flight", type=_positive_int, default=None,
                    help="wafer-scale only: batches pipelined through the wafers at once")
    ev.add_argument("--operators", action="store_true", help="also print the operator table")

    se = sub.add_parser("sensitivity", help="elasticity of latency to each hardware parameter")
    _add_step_arguments(se)
    se.add_argument("--wafers", type=_positive_int, default=None,
                    help="wafer-scale only: weights resident in the SRAM of this many wafers")

    from . import cli_serving
    cli_serving.add_parser(sub, _positive_int, _fraction, PRECISION_CHOICES)
    from . import cli_training
    cli_training.add_parser(sub, _positive_int, _fraction, PRECISION_CHOICES)
    from . import cli_sweep
    cli_sweep.add_parser(sub, _positive_int, _fraction, PRECISION_CHOICES)
    from . import cli_operations
    cli_operations.add_parser(sub, _positive_int, _fraction, PRECISION_CHOICES)

    _add_slo_parser(sub)

    zoo = sub.add_parser("zoo", help="list the catalog")
    zoo.add_argument("kind", choices=["hardware", "models"])
    zoo.add_argument("--json", action="store_true")
    return parser


def _eval(args) -> object:
    from .catalog import Models
    from .solvers import (
        Engine,
        TensorParallelModel,
        WaferResidentModel,
        WeightStreamingModel,
    )
    from .solvers.dispatch import NODE, WAFER, resolve_target
    from .solvers.wafer import resident_by_default

    model = Models.get(args.model)
    kind, hw = resolve_target(args.hardware)
    common = dict(batch_size=args.batch_size, precision=args.precision, seq_len=args.seq_len,
                  phase=args.phase, efficiency=args.efficiency)
    quant = dict(weight_precision=args.weight_precision, kv_precision=args.kv_precision)
    for flag, value in (("--wafers", args.wafers), ("--in-flight", args.in_flight)):
        if value is not None and kind != WAFER:
            raise ValueError(f"{flag} applies to a wafer-scale device, not to {hw.name}")
    if kind == NODE:
        if args.training:
            raise ValueError("--training on a node is not modelled yet; give one device")
        return TensorParallelModel().solve(model, hw, tp=args.tp, cost_model=args.cost_model,
                                           **common, **quant)
    if args.tp is not None:
        raise ValueError("--tp applies to a node (e.g. DGX_H100), not to a single device")
    if kind == WAFER and not args.training:
        if args.weight_precision or args.kv_precision:
            raise ValueError("--weight-precision/--kv-precision are not modelled on wafers")
        resident = args.wafers is not None or args.in_flight is not None
        if resident or resident_by_default(model, hw, args.batch_size, args.seq_len,
                                           args.phase, args.precision):
            return WaferResidentModel().solve(model, hw, wafers=args.wafers,
                                              in_flight=args.in_flight or 1, **common)
        return WeightStreamingModel().solve(model=model, hardware=hw, **common)
    return Engine.solve(model, hw, is_training=args.training, cost_model=args.cost_model,
                        **common, **quant)


def _sensitivity(args) -> object:
    from .solvers import SensitivitySolver

    if args.weight_precision or args.kv_precision:
        raise ValueError("sensitivity runs at one precision; --weight-precision and "
                         "--kv-precision are not supported here")
    return SensitivitySolver().solve(args.model, args.hardware, precision=args.precision,
                                     batch_size=args.batch_size, seq_len=args.seq_len,
                                     phase=args.phase, tp=args.tp, wafers=args.wafers)


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


def _add_slo_parser(sub) -> None:
    slo = sub.add_parser("slo", help="tail latency of a replicated service (queueing), or "
                                     "the replicas a p99 SLO needs")
    slo.add_argument("--rate", required=True,
                     help="arrival rate: queries per second, or a quantity such as '20 1/s'")
    slo.add_argument("--service-ms", required=True,
                     help="mean service time of one request: ms, or a quantity such as '50 ms'")
    slo.add_argument("--replicas", type=_positive_int, default=None,
                     help="replicas behind the queue (default 1)")
    slo.add_argument("--cv", type=float, default=1.0,
                     help="service-time coefficient of variation (1: exponential, 0: constant)")
    slo.add_argument("--p99-slo", default=None,
                     help="print the fewest replicas whose p99 latency meets this (ms)")
    slo.add_argument("--json", action="store_true", help="machine-readable output")


def _number_or_text(text: str):
    """A bare number as a float (qps, ms); anything else is passed on as a quantity string."""
    try:
        return float(text)
    except ValueError:
        return text


#: the solver's parameter names as ``mlsysim slo`` spells them
_SLO_FLAGS = (("arrival_rate_qps", "--rate"), ("service_latency_ms", "--service-ms"),
              ("service_time_cv", "--cv"), ("p99_slo_ms", "--p99-slo"),
              ("num_replicas", "--replicas"))


def _slo(args) -> tuple[object, dict | None, str]:
    """(result, JSON extras, text header) of ``mlsysim slo``; errors name the flags."""
    try:
        return _slo_solve(args)
    except ValueError as exc:
        text = str(exc)
        for name, flag in _SLO_FLAGS:
            text = re.sub(rf"\b{name}\b", flag, text)
        raise ValueError(text) from None


def _slo_solve(args) -> tuple[object, dict | None, str]:
    from .formatting import format_value
    from .solvers.queueing import TailLatencyModel, duration_seconds
    from .units import Q_

    model = TailLatencyModel()
    rate, service = _number_or_text(args.rate), _number_or_text(args.service_ms)
    if args.p99_slo is None:
        return model.solve(rate, service, args.replicas or 1, args.cv), None, ""
    if args.replicas is not None:
        raise ValueError("--replicas and --p99-slo exclude each other: --p99-slo finds the "
                         "number of replicas")
    target = _number_or_text(args.p99_slo)
    c = model.replicas_for_slo(rate, service, target, args.cv)
    result = model.solve(rate, service, c, args.cv)
    fewer = model.solve(rate, service, c - 1, args.cv) if c > 1 else None
    slo = Q_(duration_seconds("p99_slo_ms", target) * 1e3, "ms")
    if fewer is None:
        below = "one replica is the fewest"
    elif fewer.is_stable:
        below = f"{c - 1:,} would give a p99 of {format_value(fewer.p99_latency)}"
    else:
        below = f"{c - 1:,} cannot keep up (ρ = {fewer.queue_utilization:.3g} ≥ 1)"
    header = f"Replicas for a p99 latency ≤ {format_value(slo)}: {c:,} ({below})\n\n"
    extras = {"replicas_for_slo": c, "p99_slo": slo,
              "p99_with_one_fewer": fewer.p99_latency if fewer and fewer.is_stable else None}
    return result, extras, header


def _output(args) -> str:
    from .render import dumps, render

    if args.command == "train":
        from . import cli_training
        return cli_training.output(args)
    if args.command == "sweep":
        from . import cli_sweep
        return cli_sweep.output(args)
    if args.command in ("carbon", "cost"):
        from . import cli_operations
        return cli_operations.output(args)
    if args.command == "slo":
        result, extras, header = _slo(args)
        if args.json:
            return dumps({**(extras or {}), **result.to_dict()})
        return header + render(result, "text")
    if args.command in ("eval", "sensitivity", "serve"):
        if args.command == "serve":
            from . import cli_serving
            result = cli_serving.solve(args)
        else:
            result = _eval(args) if args.command == "eval" else _sensitivity(args)
        if args.json:
            return dumps(result.to_dict())
        text = render(result, "text")
        ops = getattr(result, "operators", None)
        if getattr(args, "operators", False) and ops is not None:
            text += "\n\n" + render(ops.table_data(), "text")
        return text
    headers, rows, data = _zoo_rows(args.kind)
    if args.json:
        return dumps(data)
    from .render import TableData
    return render(TableData(tuple(headers), tuple(tuple(r) for r in rows)), "text")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        text = _output(args)
    except (ValueError, TypeError) as exc:  # our errors are ValueErrors with clear messages
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"mlsysim: error: {message}", file=sys.stderr)
        return 2
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `mlsysim eval ... | head -1`: the reader left; not an error
        import os
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

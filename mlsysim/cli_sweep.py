"""``mlsysim sweep``: a design-space table (models × hardware × precisions × batch sizes ×
contexts), one row per point, each equal to ``Engine.solve`` (mlsysim.design_space).

    mlsysim sweep --models Llama3_8B,Llama3_70B --hardware H100,A100 --precisions fp16,fp8 \\
        --batch-sizes 1,8,64 --seq-lens 2048 [--csv FILE [--force] | --json] [--pareto]

Text output shows up to ``--rows`` rows; ``--csv FILE`` writes every row (never replacing an
existing file unless ``--force``); ``--json`` prints every row. ``--pareto`` keeps the rows on
the Pareto front of latency and cost per million tokens. Combinations that cannot run (fp8 on
an A100, contexts beyond a model's maximum) are listed, not fatal.
"""

from __future__ import annotations

import os
import tempfile

MAX_SHOWN = 30  # default rows of text output


def add_parser(sub, positive_int, fraction, precisions) -> None:
    sw = sub.add_parser("sweep", help="a design-space table: models × hardware × precisions × "
                                      "batch sizes × contexts, with feasibility, bottleneck "
                                      "and cost")
    sw.add_argument("--models", required=True, help="comma-separated catalog models, e.g. "
                                                    "Llama3_8B,Llama3_70B")
    sw.add_argument("--hardware", required=True, help="comma-separated devices, e.g. H100,A100")
    sw.add_argument("--precisions", default="fp16",
                    help=f"comma-separated compute precisions among {', '.join(precisions)}")
    sw.add_argument("--batch-sizes", default="1", help="comma-separated, e.g. 1,8,64")
    sw.add_argument("--seq-lens", default=None,
                    help="comma-separated context lengths (default: each model's default)")
    sw.add_argument("--phase", choices=["decode", "prefill"], default=None)
    sw.add_argument("--training", action="store_true", help="training steps")
    sw.add_argument("--pareto", action="store_true",
                    help="only the feasible rows on the front of latency vs cost per "
                         "million tokens")
    sw.add_argument("--rows", type=positive_int, default=MAX_SHOWN,
                    help="rows shown in text output")
    out = sw.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="FILE", default=None, help="write every row to FILE")
    out.add_argument("--json", action="store_true", help="machine-readable output")
    sw.add_argument("--force", action="store_true", help="with --csv: replace FILE if it exists")


def names(flag: str, text: str) -> list[str]:
    """A comma-separated list of names; empty items refused."""
    items = [part.strip() for part in str(text).split(",")]
    if not any(items):
        raise ValueError(f"{flag} must list at least one name (comma-separated), got {text!r}")
    if not all(items):
        raise ValueError(f"{flag} has an empty item in {text[:60]!r} (comma-separated names, "
                         "e.g. H100,A100)")
    return items


def integers(flag: str, text: str) -> list[int]:
    """A comma-separated list of positive integers."""
    values = []
    for item in names(flag, text):
        try:
            value = int(item)
        except ValueError:
            value = None
        if value is None or value < 1:
            raise ValueError(f"{flag} must be positive integers separated by commas, got "
                             f"{item[:40]!r}")
        values.append(value)
    return values


def solve(args):
    """The light table (mlsysim.tidy.Table) the arguments describe."""
    from .design_space import sweep_table

    table = sweep_table(
        names("--models", args.models), names("--hardware", args.hardware),
        names("--precisions", args.precisions), integers("--batch-sizes", args.batch_sizes),
        None if args.seq_lens is None else integers("--seq-lens", args.seq_lens),
        phase=args.phase, is_training=args.training, table="light")
    if args.pareto:
        from .pareto_front import pareto
        table = pareto(table).front
    return table


def check_target(path: str, force: bool) -> None:
    """Refuse a --csv target that cannot be written, or exists without --force."""
    if not path or not path.strip():
        raise ValueError("--csv needs a file name")
    if os.path.isdir(path):
        raise ValueError(f"--csv {path!r} is a directory; give a file name")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"--csv {path!r}: the directory {parent!r} does not exist")
    if os.path.exists(path) and not force:
        raise ValueError(f"--csv {path!r} exists; pass --force to replace it")


def write_csv(table, path: str, force: bool) -> None:
    """Write the table to ``path``: a new file (exclusive create, so a file appearing
    meanwhile is never overwritten), or with ``force`` a temporary file in the same directory
    moved over the old one only once complete (a failed write leaves the old file intact)."""
    check_target(path, force)
    text = table.to_csv()
    if not force:
        try:
            with open(path, "x", newline="", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            raise ValueError(f"--csv {path!r} exists; pass --force to replace it") from None
        return
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".csv.tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _skipped(table) -> list[str]:
    return list(table.attrs.get("skipped", ()))


def text_table(table, limit: int, caption: str = "Design space"):
    """The first ``limit`` rows as a TableData (quantities with units)."""
    from .render import TableData
    from .units import Q_

    rows, warn = [], set()
    for i, r in enumerate(table.rows(limit=limit)):
        cost = r["cost_per_mtok"]
        rows.append((r["model"], r["hardware"], r["precision"], r["batch_size"],
                     "" if r["seq_len"] is None else r["seq_len"], Q_(r["latency_s"], "s"),
                     Q_(r["throughput"], f"{r['unit']}/s"), Q_(r["memory_gb"], "GB"),
                     "yes" if r["feasible"] else "NO", r["bottleneck"],
                     "—" if cost is None else Q_(cost, "USD")))
        if not r["feasible"]:
            warn.add(i)
    shown = f" (first {len(rows):,})" if len(rows) < len(table) else ""
    return TableData(("Model", "Hardware", "Precision", "Batch", "Context", "Latency",
                      "Throughput", "Memory", "Fits", "Bottleneck", "USD / 1M units"),
                     tuple(rows), caption=f"{caption}: {len(table):,} rows{shown}",
                     highlight=frozenset(warn))


def output(args) -> str:
    """What ``mlsysim sweep`` prints (text, JSON with ``--json``, a summary with ``--csv``)."""
    from .render import dumps, render

    if args.force and args.csv is None:
        raise ValueError("--force applies with --csv FILE")
    if args.csv is not None:
        check_target(args.csv, args.force)  # before the sweep: fail fast
    table = solve(args)
    skipped = _skipped(table)
    if args.json:
        return dumps({"columns": table.columns, "units": table.attrs.get("units", {}),
                      "skipped": skipped, "rows": table.rows()})
    notes = "".join(f"\nskipped: {s}" for s in skipped)
    if args.csv is not None:
        write_csv(table, args.csv, args.force)
        rows = "1 row" if len(table) == 1 else f"{len(table):,} rows"
        return f"wrote {rows} × {len(table.columns)} columns to {args.csv}{notes}"
    caption = "Pareto front (latency vs cost per million tokens)" if args.pareto else \
        "Design space"
    return render(text_table(table, args.rows, caption), "text") + (
        "\nLatency per step; USD / 1M units: one device rented at its catalog price per hour "
        "(units: tokens, samples for per-sample networks; — where no price is listed)" + notes)

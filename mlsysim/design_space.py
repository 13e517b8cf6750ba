"""Design-space sweeps: models × hardware × precisions × batch sizes × contexts → a tidy table.

``mlsysim.sweep(models=[...], hardware=[...], precisions=[...], batch_sizes=..., seq_lens=...)``
runs the vectorised single-device sweep (:mod:`mlsysim.sweeps`, every point equal to
``Engine.solve``) for every (model, hardware, precision) — each (model, precision)'s operator
plan is built once and timed on every device — and stacks the grids into one table, one
row per point, in the order model, hardware, precision, batch size, context (as given). Columns
(:data:`COLUMNS`, units in :data:`UNITS`):

========================  ============================================================
model, hardware           catalog keys (a spec's name when it has no key; a second spec
                          with the same key, e.g. a modified H100, is "H100 #2")
precision                 the compute precision's label, as ``Engine.solve(...).precision``
phase, unit               "decode"/"prefill"/"training"/"inference"; "token" or "sample"
batch_size, seq_len       sequences or samples per step; context tokens (missing for
                          per-sample networks, which ignore ``seq_lens``: pandas' nullable
                          Int64, or a numpy masked array in the light table)
latency_s                 s per step
throughput                ``unit``/s: tokens/s for transformers, samples/s otherwise
memory_gb, capacity_gb    footprint and the device's usable memory, GB (1e9 B)
feasible                  footprint ≤ usable memory (timings of infeasible rows: as if it fit)
bottleneck                the resource with the largest share of the step
arithmetic_intensity      FLOP/byte
cost_per_mtok             USD per million ``unit`` (tokens, or samples) renting one device at
                          its catalog ``price_per_hour``: price/3600 / throughput × 1e6;
                          NaN where the catalog lists no price
========================  ============================================================

Combinations that cannot run are left out and listed in the table's ``attrs["skipped"]``: a
precision the device does not support, contexts beyond a model's ``max_context``, a phase the
model has no such step for. If nothing can run, a ValueError says why. Bad names, values and
empty lists are refused at once with the parameter named.
"""

from __future__ import annotations

import numpy as np

from .physics.combine import RESOURCES
from .physics.economics import cost_per_million_tokens, rental_cost
from .solvers import inputs
from .solvers.engine import check_cost_model
from .specs.workload import TransformerWorkload
from .tidy import Categorical, check_kind, make_table
from .vocabulary import PHASE_CHOICES, PRECISIONS

__all__ = ["COLUMNS", "UNITS", "sweep_table"]

COLUMNS = ("model", "hardware", "precision", "phase", "batch_size", "seq_len", "latency_s",
           "throughput", "unit", "memory_gb", "capacity_gb", "feasible", "bottleneck",
           "arithmetic_intensity", "cost_per_mtok")
UNITS = {"latency_s": "s", "throughput": "unit/s (token/s or sample/s, see 'unit')",
         "memory_gb": "GB (1e9 B)", "capacity_gb": "GB (1e9 B)",
         "arithmetic_intensity": "FLOP/B", "cost_per_mtok": "USD per 1e6 units",
         "seq_len": "tokens", "batch_size": "sequences or samples"}
#: refuse a table of more rows than this (about 100 bytes a row)
MAX_ROWS = 20_000_000


def _listed(name: str, values, resolve) -> list:
    """One item or a list/tuple of them, resolved; empty lists and repeats refused (a
    modified spec, such as ``H100.replace(...)``, is not a repeat of the catalog's)."""
    items = list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values]
    if not items:
        raise ValueError(f"{name} must not be empty")
    out = []
    for item in items:
        spec = resolve(item)
        if any(spec == seen for seen in out):
            shown = getattr(spec, "key", None) or getattr(spec, "name", spec)
            raise ValueError(f"{name} lists {shown!r} twice")
        out.append(spec)
    return out


def _labels(specs) -> tuple[str, ...]:
    """Catalog keys (a spec's name without one), made unique: 'H100', 'H100 #2', …"""
    out, count = [], {}
    for spec in specs:
        base = spec.key or spec.name
        count[base] = count.get(base, 0) + 1
        out.append(base if count[base] == 1 else f"{base} #{count[base]}")
    return tuple(out)


def _precision(value) -> str:
    if not isinstance(value, str) or value not in PRECISIONS:
        raise ValueError(f"precisions must hold names among {', '.join(PRECISIONS)}; got "
                         f"{inputs.shown(value)}")
    return value


def _key(spec) -> str:
    return spec.key or spec.name


def _check_globals(phase, is_training, recompute, efficiency, memory_efficiency,
                   launch_overhead, cost_model, precisions, weight_precision, kv_precision,
                   activation_precision) -> list[str]:
    """Validate the arguments every combination shares; return the precision labels."""
    check_cost_model(cost_model)
    inputs.flag("is_training", is_training)
    inputs.flag("recompute", recompute)
    if phase is not None and phase not in (*PHASE_CHOICES, "inference"):
        raise ValueError(f"phase must be one of {', '.join(PHASE_CHOICES)} (or None for each "
                         f"model's default); got {inputs.shown(phase)}")
    inputs.efficiencies(efficiency, memory_efficiency, launch_overhead)
    return [inputs.precisions(p, weight_precision, kv_precision, activation_precision).label()
            for p in precisions]


def sweep_table(models, hardware, precisions=("fp16",), batch_sizes=1, seq_lens=None,
                phase=None, is_training=False, efficiency=None, memory_efficiency=None,
                recompute=False, weight_precision=None, kv_precision=None,
                activation_precision=None, launch_overhead=None, cost_model="per-operator",
                table="auto"):
    """The tidy table of every (model, hardware, precision) grid (see the module docstring).

    ``models``, ``hardware`` and ``precisions`` take one item or a list (names or specs);
    ``batch_sizes`` and ``seq_lens`` an int or a 1-D sequence of ints; the other arguments mean
    what they mean in ``Engine.solve`` and apply to every combination. ``table``: "auto" (a
    pandas DataFrame when pandas is installed, else a :class:`mlsysim.tidy.Table`), "pandas"
    or "light"."""
    from .sweep_grid import _positive_ints, grid_plan, solve_plan

    kind = check_kind(table)
    model_specs = _listed("models", models, inputs.resolve_model)
    devices = _listed("hardware", hardware, inputs.resolve_hardware)
    precs = _listed("precisions", precisions, _precision)
    labels = _check_globals(phase, is_training, recompute, efficiency, memory_efficiency,
                            launch_overhead, cost_model, precs, weight_precision, kv_precision,
                            activation_precision)
    batches = np.atleast_1d(_positive_ints("batch_sizes", batch_sizes))
    contexts = None if seq_lens is None else np.atleast_1d(_positive_ints("seq_lens", seq_lens))
    skipped: list[str] = []

    # which models run, at which contexts, in which phase
    runs = []  # (model index, spec, contexts or None, phase label, unit)
    for i, m in enumerate(model_specs):
        try:
            probe = inputs.workload_args(m, 1, None, phase, precs[0], is_training, recompute,
                                         weight_precision, kv_precision, activation_precision)
        except ValueError as exc:
            skipped.append(f"{_key(m)}: {exc}")
            continue
        ctx = None
        if isinstance(m, TransformerWorkload) and contexts is not None:
            top = m.si.max_context
            ctx = contexts if not top else contexts[contexts <= top]
            if len(ctx) < len(contexts):
                beyond = ", ".join(str(int(s)) for s in contexts[contexts > top][:5])
                skipped.append(f"{_key(m)}: seq_lens beyond its max_context of {top} tokens "
                               f"left out ({beyond}{', …' if (contexts > top).sum() > 5 else ''})")
            if len(ctx) == 0:
                continue
        unit = "token" if isinstance(m, TransformerWorkload) else "sample"
        runs.append((i, m, ctx, str(probe.phase), unit))
    pairs = []  # (hardware index, spec, precision index) the device supports
    for h, hw in enumerate(devices):
        for p, prec in enumerate(precs):
            if prec in hw.si.flops:
                pairs.append((h, hw, p))
            else:
                skipped.append(f"{_key(hw)} × {prec}: {hw.name} does not support {prec} "
                               f"(it supports {', '.join(hw.compute.precision_flops)})")
    if not runs or not pairs:
        raise ValueError("nothing in this sweep can run: " + "; ".join(skipped))

    sizes = [len(batches) * (1 if ctx is None else len(ctx)) for _, _, ctx, _, _ in runs]
    total = sum(sizes) * len(pairs)
    if total > MAX_ROWS:
        raise ValueError(f"the sweep has {total:,} rows; the limit is {MAX_ROWS:,} — sweep "
                         "fewer models, devices, precisions, batch sizes or contexts")
    has_samples = any(unit == "sample" for *_, unit in runs)
    phases = sorted({ph for *_, ph, _ in runs})
    cols = _allocate(total)

    effs = inputs.efficiencies(efficiency, memory_efficiency, launch_overhead)
    base = 0
    for (i, m, ctx, ph, unit), size in zip(runs, sizes, strict=True):
        for p, prec in enumerate(precs):  # one plan per (model, precision), on every device
            if not any(q == p for *_, q in pairs):
                continue
            probe = inputs.workload_args(m, 1, None, phase, prec, is_training, recompute,
                                         weight_precision, kv_precision, activation_precision)
            plan, batch, context = grid_plan(probe, batches, ctx)
            for k, (h, hw, q) in enumerate(pairs):
                if q != p:
                    continue
                r = solve_plan(plan, probe, batch, context, hw, effs, cost_model)
                rows = slice(base + k * size, base + (k + 1) * size)
                _fill(cols, rows, r, hw, (i, h, p, phases.index(ph), unit == "sample"))
        base += size * len(pairs)
    columns = {
        "model": Categorical(cols.pop("model"), _labels(model_specs)),
        "hardware": Categorical(cols.pop("hardware"), _labels(devices)),
        "precision": Categorical(cols.pop("precision"), tuple(labels)),
        "phase": Categorical(cols.pop("phase"), tuple(phases)),
    }
    if has_samples:  # missing where there is no context (an integer column with a mask)
        cols["seq_len"] = np.ma.MaskedArray(cols["seq_len"], mask=cols["no_context"])
    columns |= {k: cols[k] for k in ("batch_size", "seq_len", "latency_s", "throughput")}
    columns["unit"] = Categorical(cols.pop("unit"), ("token", "sample"))
    columns |= {k: cols[k] for k in ("memory_gb", "capacity_gb", "feasible")}
    columns["bottleneck"] = Categorical(cols.pop("bottleneck"), tuple(RESOURCES))
    columns |= {k: cols[k] for k in ("arithmetic_intensity", "cost_per_mtok")}
    attrs = {"skipped": skipped, "units": dict(UNITS)}
    return make_table(columns, attrs, kind)


def _allocate(n: int) -> dict[str, np.ndarray]:
    codes = {k: np.empty(n, np.int16) for k in ("model", "hardware", "precision", "phase")}
    floats = {k: np.empty(n) for k in ("latency_s", "throughput", "memory_gb", "capacity_gb",
                                       "arithmetic_intensity", "cost_per_mtok")}
    return {**codes, **floats, "batch_size": np.empty(n, np.int64),
            "seq_len": np.empty(n, np.int64), "no_context": np.zeros(n, bool),
            "unit": np.empty(n, np.int8), "bottleneck": np.empty(n, np.int8),
            "feasible": np.empty(n, bool)}


def _fill(cols: dict, rows: slice, r, hw, codes: tuple) -> None:
    """Write one combination's grid (a SweepResult) into rows ``rows`` of the columns."""
    for name, code in zip(("model", "hardware", "precision", "phase", "unit"), codes,
                          strict=True):
        cols[name][rows] = code
    cols["batch_size"][rows] = r.batch_size.ravel()
    if r.seq_len is None:  # a per-sample network: no context
        cols["seq_len"][rows], cols["no_context"][rows] = 0, True
    else:
        cols["seq_len"][rows] = r.seq_len.ravel()
    latency, throughput = r.latency_s.ravel(), r.throughput.ravel()
    cols["latency_s"][rows] = latency
    cols["throughput"][rows] = throughput
    cols["memory_gb"][rows] = r.footprint_bytes.ravel() / 1e9
    cols["capacity_gb"][rows] = r.capacity_bytes / 1e9
    cols["feasible"][rows] = r.feasible.ravel()
    cols["arithmetic_intensity"][rows] = r.arithmetic_intensity.ravel()
    bottleneck = r.bottleneck.ravel()
    out = cols["bottleneck"][rows]
    for k, name in enumerate(RESOURCES):
        out[bottleneck == name] = k
    price = hw.price_per_hour
    if price is None:
        cols["cost_per_mtok"][rows] = np.nan
    else:  # USD of one device for one step / units of the step × 1e6
        usd_per_hour = float(price.to("USD/h").magnitude)
        cols["cost_per_mtok"][rows] = cost_per_million_tokens(
            rental_cost(usd_per_hour, 1.0, latency), latency, throughput)

"""Vectorised sweeps: ``mlsysim.sweep(model, hardware, batch_sizes=..., seq_lens=...)``.

(With lists — ``sweep(models=[...], hardware=[...], precisions=[...], ...)`` — the same grids
for every combination, as one tidy table: :mod:`mlsysim.design_space`.)

One call evaluates ``Engine.solve`` over a whole grid of batch sizes × context lengths with
numpy: the same operator plan (built with arrays), the same device rates, the same combinator
and the same feasibility rule, so every grid point equals the scalar solve exactly. 1-D (or
scalar) ``batch_sizes`` and ``seq_lens`` span an outer grid: arrays of shape
``(len(batch_sizes), len(seq_lens))``, with a scalar argument dropping its axis. The grid is
refused, with its size, before anything is allocated when it would not fit in memory.
"""

from __future__ import annotations

from .solvers import inputs
from .solvers.engine import check_cost_model
from .sweep_grid import MAX_GRID_BYTES, SweepResult, grid_plan, solve_plan

__all__ = ["MAX_GRID_BYTES", "SweepResult", "grid_plan", "solve_plan", "sweep"]


# -- the sweep -------------------------------------------------------------------------------
def sweep(model=None, hardware=None, batch_sizes=1, seq_lens=None, precision="fp16",
          phase=None, is_training=False, efficiency=None, memory_efficiency=None,
          recompute=False, weight_precision=None, kv_precision=None, activation_precision=None,
          launch_overhead=None, cost_model="per-operator", *, models=None, precisions=None,
          table=None):
    """Engine solves of ``model`` on one ``hardware`` device over batch sizes × contexts.

    Arguments mean what they mean in ``Engine.solve`` (``batch_sizes``/``seq_lens`` take an
    int or a 1-D sequence of ints; ``seq_lens=None`` is the default context). Returns a
    :class:`SweepResult` whose grid point [i, j] equals
    ``Engine.solve(model, hardware, batch_size=batch_sizes[i], seq_len=seq_lens[j], ...)``.

    Design space: ``sweep(models=[...], hardware=[...], precisions=[...], batch_sizes=...,
    seq_lens=...)`` — the plural keywords, a list of models or of hardware, or ``table=``
    ("auto", "pandas" or "light") — returns a tidy table of every combination instead, one row
    per point (a pandas DataFrame when pandas is installed, else a light
    :class:`mlsysim.tidy.Table`; see :mod:`mlsysim.design_space` for its columns)."""
    if _is_design_space(model, hardware, precision, models, precisions, table):
        return _design_space(model, hardware, batch_sizes, seq_lens, precision, phase,
                             is_training, efficiency, memory_efficiency, recompute,
                             weight_precision, kv_precision, activation_precision,
                             launch_overhead, cost_model, models, precisions, table)
    if model is None or hardware is None:
        raise TypeError("sweep needs a model and a hardware device: sweep('Llama3_8B', 'H100', "
                        "batch_sizes=[1, 8])")
    cost_model = check_cost_model(cost_model)
    probe = inputs.workload_args(model, 1, None, phase, precision, is_training, recompute,
                                 weight_precision, kv_precision, activation_precision)
    hw = inputs.resolve_hardware(hardware)
    plan, batch, context = grid_plan(probe, batch_sizes, seq_lens)
    effs = inputs.efficiencies(efficiency, memory_efficiency, launch_overhead)
    return solve_plan(plan, probe, batch, context, hw, effs, cost_model)


def _is_design_space(model, hardware, precision, models, precisions, table) -> bool:
    many = (list, tuple)
    return (models is not None or precisions is not None or table is not None
            or isinstance(model, many) or isinstance(hardware, many)
            or isinstance(precision, many))


def _design_space(model, hardware, batch_sizes, seq_lens, precision, phase, is_training,
                  efficiency, memory_efficiency, recompute, weight_precision, kv_precision,
                  activation_precision, launch_overhead, cost_model, models, precisions,
                  table):
    """Route the multi-axis spelling to :func:`mlsysim.design_space.sweep_table`."""
    from .design_space import sweep_table

    if models is not None and model is not None:
        raise TypeError("give model= (one) or models= (a list), not both")
    if precisions is not None and precision != "fp16":
        raise TypeError("give precision= (one) or precisions= (a list), not both")
    if hardware is None:
        raise TypeError("sweep needs hardware=: a device or a list of them, e.g. "
                        "hardware=['H100', 'A100']")
    models = model if models is None else models
    if models is None:
        raise TypeError("sweep needs models=: a model or a list of them, e.g. "
                        "models=['Llama3_8B']")
    return sweep_table(models, hardware, precision if precisions is None else precisions,
                       batch_sizes, seq_lens, phase, is_training, efficiency,
                       memory_efficiency, recompute, weight_precision, kv_precision,
                       activation_precision, launch_overhead, cost_model,
                       "auto" if table is None else table)

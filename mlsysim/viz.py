"""Matplotlib figures in one house style: rooflines, sweeps, time breakdowns, hardware maps.

Every function returns the ``Figure`` and takes ``ax=`` to draw into an existing axes. Colours
come from the Okabe–Ito palette (``PALETTE``), each series also has its own marker and line
style, axes are labelled with units, and no global matplotlib setting is changed (the style is
a context: :func:`house_style`). Infeasible configurations are drawn hatched or hollow and say
"does not fit".
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import cycle

import numpy as np

from .viz_breakdown import plot_breakdown, plot_operators
from .viz_hardware import devices, plot_hardware_landscape, plot_trend
from .viz_style import (
    BOX,
    INK,
    LINESTYLES,
    MARKERS,
    MUTED,
    PALETTE,
    decade_limits,
    declutter,
    house_style,
    log_axis,
    new_axes,
    number,
    point_label,
    require_unit,
    short_name,
)
from .viz_training import plot_training_memory

__all__ = ["PALETTE", "house_style", "plot_breakdown", "plot_hardware_landscape",
           "plot_operators", "plot_roofline", "plot_sweep", "plot_training_memory", "plot_trend"]


def _flops_unit(peak: float) -> tuple[float, str]:
    """(scale, unit) for a FLOP/s axis: TFLOP/s for accelerators, G or M for small devices."""
    for scale, unit in ((1e11, (1e12, "TFLOP/s")), (1e8, (1e9, "GFLOP/s"))):
        if peak >= scale:
            return unit
    return 1e6, "MFLOP/s"


def _labelled(results, labels=None) -> list[tuple[str | None, object]]:
    """[(label or None, result)] from one result, a sequence, or a {label: result} mapping."""
    if isinstance(results, Mapping):
        return list(results.items())
    items = [results] if hasattr(results, "latency_s") else list(results)
    for r in items:
        if not all(hasattr(r, a) for a in ("flops", "bytes_moved", "latency_s",
                                           "resource_seconds")):
            raise TypeError(f"results must be roofline results (Engine.solve), got "
                            f"{type(r).__name__}")
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(items):
            raise ValueError(f"labels has {len(labels)} entries for {len(items)} results")
        return list(zip(labels, items, strict=True))
    return [(None, r) for r in items]


def _default_label(r, sep: str = ", ") -> str:
    """"Llama-3 8B, decode, B=1" (``sep`` joins the model and the configuration)."""
    what = "inference" if r.unit == "sample" else r.phase
    on = f" × {r.devices}" if getattr(r, "devices", 1) > 1 else ""
    return f"{r.model}{on}{sep}{what}, B={r.batch_size}"


# -- roofline --------------------------------------------------------------------------------
def plot_roofline(hardware, results=(), precision=None, efficiency=False, ax=None, title=None,
                  label_points=True):
    """Roofline of one or more devices (log–log): attainable FLOP/s against arithmetic
    intensity (FLOP/byte), one roof per device with its ridge point marked.

    ``precision`` picks the peak (default: each device's default precision);
    ``efficiency=True`` adds the achievable roof (catalog η_c, η_m), dashed. ``results`` (a
    PerformanceResult, a list, or a {label: result} dict) are plotted at their arithmetic
    intensity and achieved FLOP/s (FLOPs / latency); infeasible ones are hollow."""
    hws = devices(hardware)
    items = _labelled(results)
    from .solvers.inputs import peak_for

    roofs = []
    for hw in hws:
        prec = precision or hw.compute.default_precision
        roofs.append((hw, prec, peak_for(hw, prec), hw.si.mem_bandwidth))
    ridges = [p / bw for _, _, p, bw in roofs]
    ai = [r.flops / r.bytes_moved for _, r in items]
    achieved = [r.flops / r.latency_s for _, r in items]
    x_lo, x_hi = decade_limits(min([r / 100 for r in ridges] + [a / 5 for a in ai]),
                               max([r * 30 for r in ridges] + [a * 3 for a in ai]))
    scale, unit = _flops_unit(max(p for _, _, p, _ in roofs))
    y_lo = min([x_lo * bw for *_, bw in roofs] + [a / 2 for a in achieved]) / scale
    y_hi = max(p for _, _, p, _ in roofs) * 2.5 / scale

    with house_style():
        fig, ax = new_axes(ax)
        texts, colour_of = [], {}
        for i, ((hw, prec, peak, bw), ridge) in enumerate(zip(roofs, ridges, strict=True)):
            colour, marker = PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)]
            colour_of.setdefault(hw.name, colour)
            ax.plot([x_lo, ridge, x_hi], [x_lo * bw / scale, peak / scale, peak / scale],
                    color=colour, linestyle="-", linewidth=2.2, marker=marker, markevery=[1],
                    markersize=7, zorder=3, label=f"{short_name(hw)} peak ({prec})" + (
                        f", ridge {number(ridge)} FLOP/byte" if len(roofs) > 1 else ""))
            if len(roofs) == 1:
                texts.append(ax.annotate(
                    f"ridge {number(ridge)} FLOP/byte", (ridge, peak / scale), xytext=(-7, 6),
                    textcoords="offset points", fontsize=9.5, color=colour, ha="right",
                    va="bottom", bbox=BOX))
            if efficiency:
                si = hw.si
                p_eff, bw_eff = peak * hw.device_class.gemm_ceiling(prec), bw * si.eta_memory
                ax.plot([x_lo, p_eff / bw_eff, x_hi],
                        [x_lo * bw_eff / scale, p_eff / scale, p_eff / scale], color=colour,
                        linestyle="--", linewidth=1.5, zorder=2,
                        label=f"{short_name(hw)} achievable (η_c {p_eff / peak:.2f}, "
                              f"η_m {si.eta_memory:.2f})")
        extra = cycle(PALETTE[len(roofs):] + PALETTE)
        for (label, r), x, y in zip(items, ai, achieved, strict=True):
            colour = colour_of.get(r.hardware) or colour_of.setdefault(r.hardware, next(extra))
            ax.plot([x], [y / scale], linestyle="none", marker="o", markersize=8,
                    markeredgecolor=INK, markeredgewidth=1.0, zorder=7,
                    markerfacecolor=colour if r.feasible else "white")
            if label_points:
                text = label or _default_label(r, sep="\n")
                if not r.feasible:
                    text += "\n(does not fit)"
                texts.append(point_label(ax, text, (x, y / scale)))
        log_axis(ax.xaxis)
        log_axis(ax.yaxis)
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.set_xlabel("Arithmetic intensity (FLOP/byte)")
        ax.set_ylabel(f"Attainable performance ({unit})")
        ax.legend(loc="lower right")
        if title:
            ax.set_title(title)
        declutter(ax, texts, flip=False)  # labels stay under the roof, right of their point
    return fig


# -- generic sweep ---------------------------------------------------------------------------
def plot_sweep(x, series, xlabel, ylabel, logx=False, logy=False, ax=None, title=None,
               mark=None):
    """Lines of ``series`` ({name: y array}) against ``x``; NaN leaves a gap (e.g. where a
    configuration does not fit). Labels must state units: "Batch size (sequences)".

    ``mark`` annotates the plot: {text: (x, y)} marks a point, (x, None) a vertical line,
    (None, y) a horizontal line (a ceiling)."""
    x = np.asarray(x, dtype=float)
    if not series:
        raise ValueError("series must hold at least one {name: values} entry")
    require_unit(xlabel, "xlabel")
    require_unit(ylabel, "ylabel")
    with house_style():
        fig, ax = new_axes(ax)
        for i, (name, y) in enumerate(series.items()):
            y = np.asarray(y, dtype=float)
            if y.shape != x.shape:
                raise ValueError(f"series {name!r} has shape {y.shape}; x has {x.shape}")
            ax.plot(x, y, color=PALETTE[i % len(PALETTE)], marker=MARKERS[i % len(MARKERS)],
                    linestyle=LINESTYLES[i % len(LINESTYLES)], markevery=0.08, label=name)
        if logx:
            log_axis(ax.xaxis)
        if logy:
            log_axis(ax.yaxis)
        texts = []
        for text, (mx, my) in (mark or {}).items():
            texts.append(_mark(ax, text, mx, my))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if len(series) > 1:
            ax.legend(loc="best")
        if title:
            ax.set_title(title)
        declutter(ax, [t for t in texts if hasattr(t, "xyann")])
    return fig


def _mark(ax, text, x, y):
    style = {"color": MUTED, "linewidth": 1.1, "linestyle": (0, (4, 3)), "zorder": 1}
    if x is not None and y is None:
        ax.axvline(x, **style)
        return ax.annotate(text, (x, 1), xycoords=("data", "axes fraction"), xytext=(4, -4),
                           textcoords="offset points", va="top", ha="left", color=INK,
                           fontsize=9.5)
    if y is not None and x is None:
        ax.axhline(y, **style)
        return ax.annotate(text, (1, y), xycoords=("axes fraction", "data"), xytext=(-4, 4),
                           textcoords="offset points", va="bottom", ha="right", color=INK,
                           fontsize=9.5)
    if x is None:
        raise ValueError(f"mark {text!r} needs an x, a y, or both")
    ax.plot([x], [y], marker="o", markersize=9, markerfacecolor="none", markeredgecolor=INK,
            markeredgewidth=1.5, linestyle="none", zorder=7)
    return point_label(ax, text, (x, y), offset=(9, 9), va="bottom")

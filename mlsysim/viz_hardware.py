"""Hardware figures: the compute–bandwidth landscape and the growth of FLOP/s vs bandwidth.

Both read the catalog's dense peaks (FLOP/s) and memory bandwidths (B/s); see ``viz.py`` for
the house style they share.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import MaxNLocator

from .viz_style import (
    INK,
    LINESTYLES,
    MARKERS,
    MUTED,
    PALETTE,
    TIER_STYLE,
    decade_limits,
    declutter,
    house_style,
    log_axis,
    new_axes,
    number,
    point_label,
    short_name,
)

__all__ = ["plot_hardware_landscape", "plot_trend"]


def devices(hardware_list) -> list:
    """HardwareSpecs from one spec or name, a list of them, or None (the whole catalog)."""
    from .solvers.inputs import resolve_hardware
    from .specs.hardware import HardwareSpec

    if hardware_list is None:
        from .catalog import Hardware

        return list(Hardware.all())
    items = [hardware_list] if isinstance(hardware_list, (str, HardwareSpec)) else list(
        hardware_list)
    if not items:
        raise ValueError("hardware_list must name at least one device")
    return [resolve_hardware(h) for h in items]


def _peak(hw, precision) -> float:
    from .solvers.inputs import peak_for

    return peak_for(hw, precision or hw.compute.default_precision)


def _keydevices(hws, peaks) -> set[str]:
    """Per tier, the devices with the highest and the lowest peak."""
    keep = set()
    for tier in {hw.tier for hw in hws}:
        group = [(p, hw.name) for hw, p in zip(hws, peaks, strict=True) if hw.tier == tier]
        keep |= {max(group)[1], min(group)[1]}
    return keep


def plot_hardware_landscape(hardware_list=None, precision=None, ax=None, title=None,
                            annotate=None, ridges=(1, 10, 100, 1000)):
    """Peak compute (FLOP/s) against memory bandwidth (B/s), log–log, coloured by tier.

    Dotted diagonals are iso-ridge lines (FLOP/byte): devices above a line need more
    arithmetic intensity than it to be compute-bound. ``annotate``: names to label, "all", or
    None for each tier's fastest and slowest device. ``precision=None`` uses each device's
    default precision; with a precision, devices without it are left out."""
    hws = devices(hardware_list)
    if precision is not None:
        hws = [hw for hw in hws if precision in hw.si.flops]
        if not hws:
            raise ValueError(f"no device in hardware_list supports precision={precision!r}")
    peaks = [_peak(hw, precision) for hw in hws]
    bws = [hw.si.mem_bandwidth for hw in hws]
    if annotate == "all":
        named = {hw.name for hw in hws}
    elif annotate is None:
        named = _keydevices(hws, peaks)
    else:
        named = {devices([a])[0].name for a in annotate}
    x_lo, x_hi = decade_limits(min(bws) / 2, max(bws) * 2)
    y_lo, y_hi = decade_limits(min(peaks) / 2, max(peaks) * 2)

    with house_style():
        fig, ax = new_axes(ax)
        for tier, (colour, marker) in TIER_STYLE.items():
            idx = [i for i, hw in enumerate(hws) if hw.tier == tier]
            if idx:
                ax.plot([bws[i] for i in idx], [peaks[i] for i in idx], linestyle="none",
                        marker=marker, markersize=8, color=colour, markeredgecolor=INK,
                        markeredgewidth=0.6, label=tier, zorder=7)
        log_axis(ax.xaxis, si=True)
        log_axis(ax.yaxis, si=True)
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        lines = [_iso_ridge(ax, r, x_lo, x_hi, y_lo, y_hi) for r in ridges]
        texts = [point_label(ax, short_name(hw), (bw, p), offset=(7, 5), va="bottom")
                 for hw, bw, p in zip(hws, bws, peaks, strict=True) if hw.name in named]
        ax.set_xlabel("Memory bandwidth (B/s)")
        what = f"dense {precision}" if precision else "dense, default precision"
        ax.set_ylabel(f"Peak compute (FLOP/s, {what})")
        ax.legend(title="Tier", loc="upper left")
        if title:
            ax.set_title(title)
        lines = [t for t in lines if t is not None]
        _align(ax, lines)
        declutter(ax, texts, obstacles=list(zip(bws, peaks, strict=True)), fixed=lines)
    return fig


def _iso_ridge(ax, ridge, x_lo, x_hi, y_lo, y_hi):
    """Dotted line peak = ridge × bandwidth, labelled near its upper end inside the axes."""
    a, b = max(x_lo, y_lo / ridge), min(x_hi, y_hi / ridge)
    if a >= b:
        return None
    ax.plot([a, b], [a * ridge, b * ridge], color=MUTED, linewidth=0.9, linestyle=":",
            zorder=1)
    xm = math.exp(math.log(a) + 0.82 * (math.log(b) - math.log(a)))
    return ax.text(xm, xm * ridge, f"{ridge:,g} FLOP/byte", fontsize=9, color=MUTED,
                   ha="center", va="bottom", rotation_mode="anchor", zorder=1,
                   bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})


def _align(ax, texts) -> None:
    """Rotate iso-ridge labels to the on-screen slope of their line (after layout)."""
    if not texts:
        return
    ax.figure.draw_without_rendering()
    for t in texts:
        x, y = t.get_position()
        (x0, y0), (x1, y1) = ax.transData.transform([(x, y), (x * 2, y * 2)])
        t.set_rotation(math.degrees(math.atan2(y1 - y0, x1 - x0)))


_METRICS = {"flops": "peak FLOP/s", "bandwidth": "memory bandwidth",
            "capacity": "memory capacity"}


def plot_trend(hardware_list, precision=None, x="year", metrics=("flops", "bandwidth"),
               ax=None, title=None):
    """Growth of peak FLOP/s and memory bandwidth (and optionally capacity), each normalised to
    the first device of ``hardware_list``, on a log axis; ``x`` is "year" (release year) or
    "order" (the list order). Shows the widening gap behind the memory wall."""
    hws = devices(hardware_list)
    unknown = [m for m in metrics if m not in _METRICS]
    if unknown or not metrics:
        raise ValueError(f"metrics must be some of {', '.join(_METRICS)}; got {metrics!r}")
    if x not in ("year", "order"):
        raise ValueError(f"x must be 'year' or 'order', got {x!r}")
    if x == "year" and any(hw.year is None for hw in hws):
        missing = ", ".join(short_name(hw) for hw in hws if hw.year is None)
        raise ValueError(f"x='year' needs a release year; the catalog has none for {missing}")
    values = {"flops": [_peak(hw, precision) for hw in hws],
              "bandwidth": [hw.si.mem_bandwidth for hw in hws],
              "capacity": [hw.si.mem_capacity for hw in hws]}
    xs = np.array([hw.year for hw in hws] if x == "year" else range(len(hws)), dtype=float)
    order = np.argsort(xs, kind="stable")
    if x == "year":  # devices of one year sit side by side, in list order
        for year in set(xs.tolist()):
            same = [k for k in order if xs[k] == year]
            xs[same] += 0.3 * (np.arange(len(same)) - (len(same) - 1) / 2)

    with house_style():
        fig, ax = new_axes(ax)
        ends, top = [], np.ones(len(hws))
        for i, m in enumerate(metrics):
            ratio = np.array(values[m]) / values[m][0]
            top = np.maximum(top, ratio)
            ax.plot(xs[order], ratio[order], color=PALETTE[i], marker=MARKERS[i],
                    linestyle=LINESTYLES[i], markersize=7, label=_METRICS[m])
            last = order[-1]
            ends.append(ax.annotate(f"{number(ratio[last])}×", (xs[last], ratio[last]),
                                    xytext=(8, 0), textcoords="offset points", va="center",
                                    color=PALETTE[i], fontweight="bold", fontsize=10))
        names = [ax.annotate(short_name(hw), (xs[k], top[k]), xytext=(0, 10),
                             textcoords="offset points", ha="center", fontsize=9.5, color=INK)
                 for k, hw in enumerate(hws)]
        log_axis(ax.yaxis, subs=(1.0, 2.0, 5.0))
        lo = decade_limits(min(min(np.array(values[m]) / values[m][0]) for m in metrics), 1)[0]
        ax.set_ylim(lo, top.max() * 2.2)
        pad = 0.6 if x == "year" else 0.4
        ax.set_xlim(xs.min() - pad, xs.max() + pad * 2)
        if x == "year":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("Release (calendar year)")
        else:
            ax.set_xticks(xs, [short_name(hw) for hw in hws])
            ax.set_xlabel("Device (list order)")
            for t in names:
                t.set_visible(False)
        what = precision or "default precision"
        ax.set_ylabel(f"Relative to {short_name(hws[0])} (×, {what} peaks)"
                      if "flops" in metrics else f"Relative to {short_name(hws[0])} (×)")
        ax.legend(loc="upper left")
        if title:
            ax.set_title(title)
        declutter(ax, names + ends)
    return fig

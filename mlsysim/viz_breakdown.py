"""Where a step's time goes: by resource (:func:`plot_breakdown`) and by operator
(:func:`plot_operators`), in the house style of ``mlsysim.viz``."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.patches import Patch

from .formatting import format_time
from .viz_style import INK, OKABE_ITO, house_style, new_axes

RESOURCES = (("Compute", OKABE_ITO["blue"]), ("Memory", OKABE_ITO["orange"]),
             ("Communication", OKABE_ITO["bluish_green"]),
             ("Overhead", OKABE_ITO["reddish_purple"]))
HATCH = {"Compute": None, "Memory": "..", "Communication": "xx", "Overhead": "//"}
INFEASIBLE_ALPHA = 0.4  # a configuration that does not fit is drawn faded, edged in ink


def _items(results, labels):
    if isinstance(results, Mapping):
        items = list(results.items())
    else:
        items = [(None, r) for r in ([results] if hasattr(results, "latency_s") else results)]
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(items):
            raise ValueError(f"labels has {len(labels)} entries for {len(items)} results")
        items = [(lab, r) for lab, (_, r) in zip(labels, items, strict=True)]
    for _, r in items:
        if not hasattr(r, "resource_seconds"):
            raise TypeError(f"results must be engine results (Engine.solve), got "
                            f"{type(r).__name__}")
    if not items:
        raise ValueError("results must hold at least one result")
    return items


def _scale(seconds: float) -> tuple[float, str]:
    if seconds < 1e-3:
        return 1e6, "µs"
    return (1.0, "s") if seconds >= 10 else (1e3, "ms")


def _label(r) -> str:
    on = f" × {r.devices}" if getattr(r, "devices", 1) > 1 else ""
    return f"{r.model}{on}, {r.phase}, B={r.batch_size}"


def plot_breakdown(results, labels=None, ax=None, title=None):
    """Horizontal bars of each step's time split by the resource that bound its operators
    (compute, memory, communication, launch overhead); the segments sum to the latency.
    Each resource has its own colour and hatch; infeasible results are faded, edged in ink and
    labelled "does not fit"."""
    items = _items(results, labels)
    factor, unit = _scale(max(r.latency_s for _, r in items))
    with house_style():
        fig, ax = new_axes(ax)
        present, notes = set(), []
        for row, (_, r) in enumerate(items):
            y, left = len(items) - 1 - row, 0.0
            shares = dict(r.resource_seconds)
            for name, colour in RESOURCES:
                width = shares.get(name, 0.0) * factor
                if width <= 0:
                    continue
                ax.barh(y, width, left=left, height=0.62, color=colour, hatch=HATCH[name],
                        edgecolor="white" if r.feasible else INK, linewidth=0.8, zorder=2,
                        alpha=1.0 if r.feasible else INFEASIBLE_ALPHA)
                left += width
                present.add(name)
            note = (format_time(r.latency_s) if r.feasible else
                    f"does not fit ({format_time(r.latency_s)} as if it fit)")
            notes.append(ax.annotate(note, (left, y), xytext=(5, 0), textcoords="offset points",
                                     va="center", ha="left", fontsize=9.5, color=INK,
                                     fontweight="normal" if r.feasible else "bold"))
        ax.set_yticks(range(len(items)))
        ax.set_yticklabels([label or _label(r) for label, r in reversed(items)])
        ax.grid(False, axis="y")
        ax.set_xlabel(f"Time per step ({unit})")
        handles = [Patch(facecolor=c, hatch=HATCH[n], edgecolor="white", label=f"{n}-bound")
                   for n, c in RESOURCES if n in present]
        if not all(r.feasible for _, r in items):
            handles.append(Patch(facecolor="#999999", alpha=INFEASIBLE_ALPHA, edgecolor=INK,
                                 label="does not fit"))
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncol=len(handles), handlelength=1.4,
                  title="time of the operators bound by each resource")
        if title:
            ax.set_title(title, pad=48)
        _fit_right(ax, notes)
    return fig


def plot_operators(result, top: int = 12, ax=None, title=None):
    """The ``top`` operators of one step by time per step (all their instances), each bar
    coloured and hatched by the resource that binds it; the rest are summed as "other".
    ``result`` is an engine result or an operator table (e.g. a serving result's
    ``prefill_operators`` or ``decode_operators``)."""
    from .results import OperatorTable
    table = result if isinstance(result, OperatorTable) else getattr(result, "operators", None)
    if table is None:
        hint = (" (a serving result has two: pass its prefill_operators or decode_operators)"
                if hasattr(result, "prefill_operators") else
                " (a per-operator engine result is needed; the roofline teaching model has none)")
        raise TypeError("result has no operator table" + hint)
    rows = sorted(table, key=lambda r: -r["time_s"])
    shown, rest = rows[:top], rows[top:]
    factor, unit = _scale(max(r["time_s"] for r in rows))
    colour = dict(RESOURCES)
    with house_style():
        fig, ax = new_axes(ax)
        labels = [f"{r['name']} ×{int(r['count'])}" if r["count"] > 1 else r["name"]
                  for r in shown]
        for i, r in enumerate(shown):
            ax.barh(len(shown) - i - (0 if rest else 1), r["time_s"] * factor, height=0.62,
                    color=colour[r["bound"]], hatch=HATCH[r["bound"]], edgecolor="white",
                    zorder=2)
        if rest:
            other = sum(r["time_s"] for r in rest)
            ax.barh(0, other * factor, height=0.62, color="#bbbbbb", edgecolor="white",
                    zorder=2)
            labels.append(f"{len(rest)} other operators")
        n = len(labels)
        ax.set_yticks(range(n))
        ax.set_yticklabels(list(reversed(labels)))
        ax.grid(False, axis="y")
        ax.set_xlabel(f"Time per step ({unit})")
        present = {r["bound"] for r in shown}
        ax.legend(handles=[Patch(facecolor=c, hatch=HATCH[nm], edgecolor="white",
                                 label=f"{nm}-bound") for nm, c in RESOURCES if nm in present],
                  loc="lower right")
        if title is None and not isinstance(result, OperatorTable):
            title = f"{result.model} on {result.hardware}: {format_time(result.latency_s)} " \
                    "per step"
        ax.set_title(title or f"{format_time(table.total_seconds)} per step")
    return fig


def _fit_right(ax, texts) -> None:
    """Set a linear x axis from 0 so the labels at the bar ends stay inside the axes."""
    fig = ax.figure
    for _ in range(2):  # the second pass sees the final layout
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        width = ax.get_window_extent(renderer).width
        ax.set_xlim(0, max(t.xy[0] * width / max(width - t.get_window_extent(renderer).width
                                                  - 12, 0.3 * width) for t in texts))

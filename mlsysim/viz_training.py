"""Training figures in the house style of ``mlsysim.viz``: the memory stack of one device
(:func:`plot_training_memory`)."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .formatting import format_bytes
from .viz_style import INK, MUTED, OKABE_ITO, house_style, new_axes

#: (field, legend label, colour, hatch) from the bottom of a bar up: what ZeRO shards first
#: sits lowest, activations on top.
STACK = (("weights", "Weights", OKABE_ITO["blue"], None),
         ("gradients", "Gradients", OKABE_ITO["sky_blue"], ".."),
         ("optimizer", "Optimizer state", OKABE_ITO["orange"], "//"),
         ("activations", "Activations", OKABE_ITO["vermillion"], "xx"))
GB = 1e9


def _items(results, labels) -> list[tuple[str, object]]:
    if isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    elif hasattr(results, "breakdown"):
        items = [(None, results)]
    else:
        try:
            items = [(None, r) for r in results]
        except TypeError:
            raise TypeError(f"results must be a TrainingMemoryResult, a list of them or a dict "
                            f"label → result; got {type(results).__name__}") from None
    if not items:
        raise ValueError("results must hold at least one result")
    for _, r in items:
        if not hasattr(r, "breakdown") or not hasattr(r, "capacity_bytes"):
            raise TypeError(f"results must be TrainingMemoryModel results, got "
                            f"{type(r).__name__}")
    if labels is not None:
        labels = [str(lab) for lab in labels]
        if len(labels) != len(items):
            raise ValueError(f"labels has {len(labels)} entries for {len(items)} results")
        items = [(lab, r) for lab, (_, r) in zip(labels, items, strict=True)]
    return [(lab if lab is not None else r.strategy(), r) for lab, r in items]


def plot_training_memory(results, labels=None, ax=None, title=None):
    """Stacked bars of memory per device — weights, gradients, optimizer state, activations —
    one bar per configuration (a result, a list, or a dict label → result), with each
    device's usable capacity drawn as a dashed line; a bar above it says "does not fit"."""
    items = _items(results, labels)
    with house_style():
        fig, ax = new_axes(ax)
        tops = []
        for x, (_, r) in enumerate(items):
            bottom = 0.0
            for key, _, colour, hatch in STACK:
                height = getattr(r.breakdown, key) / GB
                ax.bar(x, height, bottom=bottom, width=0.62, color=colour, hatch=hatch,
                       edgecolor="white", linewidth=0.8, zorder=2)
                bottom += height
            tops.append(bottom)
            text = format_bytes(r.total_bytes) + ("" if r.feasible else "\ndoes not fit")
            ax.annotate(text, (x, bottom), xytext=(0, 4), textcoords="offset points",
                        ha="center", va="bottom", fontsize=9.5, color=INK,
                        fontweight="normal" if r.feasible else "bold")
        caps = [r.capacity_bytes / GB for _, r in items]
        same = len({round(c, 6) for c in caps}) == 1
        if same:
            ax.axhline(caps[0], color=INK, linestyle="--", linewidth=1.3, zorder=3)
        else:
            for x, cap in enumerate(caps):
                ax.plot([x - 0.42, x + 0.42], [cap, cap], color=INK, linestyle="--",
                        linewidth=1.3, zorder=3)
        hardware = {r.hardware for _, r in items}
        cap_label = ("usable capacity" + (f" ({format_bytes(caps[0] * GB)}, "
                                          f"{next(iter(hardware))})" if same and
                                          len(hardware) == 1 else " of each device"))
        ax.set_xticks(range(len(items)))
        ax.set_xticklabels([lab for lab, _ in items], rotation=0 if len(items) < 4 else 20,
                           ha="center" if len(items) < 4 else "right")
        ax.grid(False, axis="x")
        ax.set_ylabel("Memory per device (GB)")
        ax.set_ylim(0, max(max(tops), max(caps)) * 1.18)
        ax.set_xlim(-0.6, len(items) - 0.4)
        handles = [Patch(facecolor=c, hatch=h, edgecolor="white", label=lab)
                   for _, lab, c, h in STACK]
        handles.append(Line2D([], [], color=INK, linestyle="--", linewidth=1.3,
                              label=cap_label))
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3,
                  handlelength=1.6, fontsize=9.5, labelcolor=INK)
        if title is None and len({r.model for _, r in items}) == 1:
            title = f"{items[0][1].model}: training memory per device"
        if title:
            ax.set_title(title, pad=52, color=INK)
        ax.tick_params(axis="x", colors=MUTED, labelcolor=INK)
    return fig

"""The house style of ``mlsysim.viz``: palette, markers, a style context and axis helpers.

Colours are the Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design");
every series also gets its own marker and line style, so figures survive greyscale printing.
The style is applied inside :func:`house_style` (a context manager that restores what it set):
importing this module or drawing a figure changes no global matplotlib setting.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from matplotlib.transforms import Bbox

from .formatting import sig

#: Okabe–Ito colours by name.
OKABE_ITO = {
    "blue": "#0072B2", "vermillion": "#D55E00", "bluish_green": "#009E73",
    "reddish_purple": "#CC79A7", "orange": "#E69F00", "sky_blue": "#56B4E9",
    "yellow": "#F0E442", "black": "#000000",
}
#: Series colours in order of use (yellow last: it is faint on white).
PALETTE = tuple(OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "reddish_purple",
                                       "orange", "sky_blue", "black", "yellow"))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1.5)), (0, (3, 1, 1, 1, 1, 1)),
              (0, (1, 1)), (0, (8, 2)))
#: Colour and marker of each hardware tier.
TIER_STYLE = {
    "cloud": (OKABE_ITO["blue"], "o"), "workstation": (OKABE_ITO["vermillion"], "s"),
    "mobile": (OKABE_ITO["bluish_green"], "^"), "edge": (OKABE_ITO["reddish_purple"], "D"),
    "tiny": (OKABE_ITO["orange"], "v"),
}
INK, MUTED = "#000000", "#555555"  # text; secondary text and guide lines
FIGSIZE, DPI = (7.0, 4.3), 100  # 700 px wide at 100 dpi

RC = {
    "figure.figsize": FIGSIZE, "figure.dpi": DPI, "savefig.dpi": DPI,
    "figure.facecolor": "white", "savefig.facecolor": "white",
    "font.family": "DejaVu Sans", "font.size": 10.5, "axes.titlesize": 12,
    "axes.titleweight": "bold", "axes.titlelocation": "left", "axes.labelsize": 10.5,
    "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10,
    "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": MUTED,
    "axes.labelcolor": INK, "xtick.color": MUTED, "ytick.color": MUTED,
    "axes.grid": True, "axes.axisbelow": True, "grid.color": "#e3e3e3", "grid.linewidth": 0.7,
    "legend.frameon": False, "lines.linewidth": 2.0, "lines.markersize": 6,
    "axes.prop_cycle": mpl.cycler(color=PALETTE, linestyle=LINESTYLES),
    "hatch.linewidth": 1.0,
}


class HouseFigure(Figure):
    """A pyplot figure that Jupyter shows once, whether or not a cell ends with it.

    The inline backend shows every open pyplot figure after the cell; a cell whose value is
    the figure would also show it through its repr. Here whichever display comes first
    renders it (with the formats the notebook asked for) and, under the inline backend,
    closes it so the other one does not repeat it."""

    def _ipython_display_(self):
        from IPython import get_ipython
        from IPython.display import Image, display, publish_display_data

        shell = get_ipython()
        data, metadata = {"text/plain": repr(self)}, {}
        formatters = shell.display_formatter.formatters if shell is not None else {}
        for mime, formatter in formatters.items():
            if mime.startswith("image/") or mime == "application/pdf":
                value = formatter(self)  # the printer IPython registered for figures
                if isinstance(value, tuple):
                    value, metadata[mime] = value
                if value is not None:
                    data[mime] = value
        if len(data) > 1:
            publish_display_data(data, metadata=metadata)
        else:
            from io import BytesIO

            buf = BytesIO()
            self.savefig(buf, format="png", bbox_inches="tight")
            display(Image(buf.getvalue()))
        if "inline" in mpl.get_backend():
            import matplotlib.pyplot as plt

            plt.close(self)


@contextmanager
def house_style():
    """Apply the house rcParams for the duration of a ``with`` block, then restore them.

    Only the keys of ``RC`` are restored (not all of them, as ``matplotlib.rc_context``
    would): a backend first loaded inside the block, such as Jupyter's inline backend, sets
    ``interactive`` and must keep it, or later figures would never be shown."""
    saved = {key: mpl.rcParams[key] for key in RC}
    mpl.rcParams.update(RC)
    try:
        yield
    finally:
        mpl.rcParams.update(saved)


def new_axes(ax=None):
    """(figure, axes): a new 7 × 4.3 in figure at 100 dpi, or ``ax`` and its figure."""
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=FIGSIZE, dpi=DPI, layout="constrained", FigureClass=HouseFigure)
        ax = fig.add_subplot()
    style_axes(ax)
    return ax.figure, ax


def style_axes(ax) -> None:
    """Spines, grid and ticks of the house style on an existing axes."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.set_axisbelow(True)
    ax.grid(True, which="major", color=RC["grid.color"], linewidth=RC["grid.linewidth"])
    ax.tick_params(colors=MUTED, labelcolor=INK, labelsize=RC["xtick.labelsize"])


def require_unit(label: str, name: str) -> str:
    """House rule: an axis label names its unit in parentheses, e.g. "Batch size (sequences)"."""
    if not isinstance(label, str) or "(" not in label or not label.rstrip().endswith(")"):
        raise ValueError(f"{name} must end with its unit in parentheses, e.g. "
                         f"'Throughput (token/s)'; got {label!r}")
    return label


def number(x: float) -> str:
    """3 significant figures without trailing zeros: 295, 2, 8.89, 1,230."""
    text = sig(x)
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def _plain(x: float, _pos=None) -> str:
    """Tick text without exponents: 0.01, 1, 250, 10,000."""
    if x <= 0:
        return ""
    if x >= 1:
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.3g}"
    return f"{x:.{max(0, -math.floor(math.log10(x)))}f}".rstrip("0").rstrip(".")


_PREFIXES = {-3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}


def _si(x: float, _pos=None) -> str:
    """Tick text with an SI prefix: 1 G, 100 G, 1 T, 10 P."""
    if x <= 0:
        return ""
    exp = 3 * math.floor(math.log10(x) / 3 + 1e-9)
    exp = min(max(exp, -3), 18)
    return f"{x / 10 ** exp:g} {_PREFIXES[exp]}".rstrip()


def log_axis(axis, si: bool = False, subs=(1.0,)) -> None:
    """Log scale with readable major ticks (plain numbers, or SI prefixes if ``si``);
    ``subs=(1, 2, 5)`` also labels 2× and 5× each decade (for short ranges)."""
    axis.axes.set(**{f"{axis.axis_name}scale": "log"})
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=30))
    axis.set_major_formatter(FuncFormatter(_si if si else _plain))
    axis.set_minor_formatter(NullFormatter())


def decade_limits(lo: float, hi: float) -> tuple[float, float]:
    """(lo, hi) widened outwards to whole decades."""
    return 10.0 ** math.floor(math.log10(lo)), 10.0 ** math.ceil(math.log10(hi))


def short_name(hw) -> str:
    """A compact device label: the catalog key with spaces ("H100 PCIe"), else the name."""
    return hw.key.replace("_", " ") if getattr(hw, "key", None) else str(hw.name)


BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.9, "pad": 1.0}


def point_label(ax, text, xy, offset=(9, -8), ha="left", va="top", **kw):
    """A label ``offset`` points from a data point, on a white box (zorder above lines);
    :func:`declutter` moves it clear of other labels and draws its leader line."""
    style = {"fontsize": 9.5, "color": INK, "bbox": BOX, "zorder": 6} | kw
    return ax.annotate(text, xy, xytext=offset, textcoords="offset points", ha=ha, va=va,
                       **style)


def declutter(ax, texts, obstacles=(), fixed=(), flip=True, iterations: int = 200) -> None:
    """Nudge offset-point annotations apart vertically until none overlap (labels that run
    past the right edge of the axes first slide left).

    Labels also keep clear of their own points, of ``obstacles`` (data (x, y) points), of
    the ``fixed`` text artists and of the legend; with ``flip`` a label may first move to the
    mirrored corner of its point if that overlaps less. Draws the figure once so the layout
    is final, then joins each data-anchored label that moved to its point with a thin
    leader drawn beneath every label box."""
    texts = [t for t in texts if t.get_visible()]
    if not texts:
        return
    start = [t.xyann for t in texts]
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    px_to_pt = 72.0 / fig.dpi
    points = [ax.transData.transform(t.xy) for t in texts if t.xycoords == "data"]
    points += [ax.transData.transform(p) for p in obstacles]
    blocks = [Bbox.from_extents(x - 6, y - 6, x + 6, y + 6) for x, y in points]
    blocks += [t.get_window_extent(renderer).padded(2) for t in fixed]
    if ax.get_legend() is not None:
        blocks.append(ax.get_legend().get_window_extent(renderer))
    frame = ax.get_window_extent(renderer)
    if flip:
        _place(texts, blocks, frame, renderer)
    for t in texts:  # a label still running past the right edge slides left until it fits
        overshoot = Text.get_window_extent(t, renderer).x1 - frame.x1
        if overshoot > 0:
            ox, oy = t.xyann
            t.xyann = (ox - (overshoot + 3) * px_to_pt, oy)
    far = 1e5  # the strips above and below the axes: labels are pushed back inside
    blocks += [Bbox.from_extents(-far, frame.y1, far, frame.y1 + far),
               Bbox.from_extents(-far, frame.y0 - far, far, frame.y0)]
    for _ in range(iterations):
        # the text's own box (an Annotation's extent would include its leader line)
        boxes = [Text.get_window_extent(t, renderer).padded(2) for t in texts]
        moved = False
        for t, box in zip(texts, boxes, strict=True):
            for block in blocks:
                if box.overlaps(block):
                    _nudge(t, box, block, px_to_pt)
                    moved = True
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                if boxes[i].overlaps(boxes[j]):
                    _nudge(texts[i], boxes[i], boxes[j], px_to_pt, texts[j])
                    moved = True
        if not moved:
            break
    for t, (x0, y0) in zip(texts, start, strict=True):
        if t.xycoords == "data" and math.hypot(t.xyann[0] - x0, t.xyann[1] - y0) > 4:
            ax.annotate("", t.xy, xytext=t.xyann, textcoords="offset points", zorder=4.5,
                        arrowprops={"arrowstyle": "-", "color": MUTED, "linewidth": 0.6,
                                    "shrinkA": 0, "shrinkB": 4})


def _overlap(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _place(texts, blocks, frame, renderer) -> None:
    """Greedy: put each data-anchored label in the corner (its own, or mirrored about its
    point) that overlaps placed labels, points and the outside of the axes least."""
    placed = list(blocks)
    for t in texts:
        if t.xycoords != "data":
            continue
        (ox, oy), ha, va = t.xyann, t.get_ha(), t.get_va()
        flip_h, flip_v = {"left": "right", "right": "left"}, {"top": "bottom", "bottom": "top"}
        options = [(ox, oy, ha, va)]
        if ha in flip_h and va in flip_v:
            options += [(ox, -oy, ha, flip_v[va]), (-ox, oy, flip_h[ha], va),
                        (-ox, -oy, flip_h[ha], flip_v[va])]
        best = None
        for rank, (x, y, h, v) in enumerate(options):
            t.xyann, _ = (x, y), t.set(ha=h, va=v)
            box = Text.get_window_extent(t, renderer).padded(2)
            outside = box.width * box.height - _overlap(box, frame)
            cost = sum(_overlap(box, b) for b in placed) + outside + rank  # prefer the default
            if best is None or cost < best[0]:
                best = (cost, (x, y, h, v), box)
        x, y, h, v = best[1]
        t.xyann = (x, y)
        t.set(ha=h, va=v)
        placed.append(best[2])


def _nudge(t, box, other, px_to_pt, other_text=None) -> None:
    """Move ``t`` (and ``other_text``, the other way) vertically until the boxes part."""
    upward = box.y0 + box.y1 >= other.y0 + other.y1
    gap = (other.y1 - box.y0) if upward else (box.y1 - other.y0)
    share = 2 if other_text is not None else 1
    step = (gap / share + 1) * px_to_pt
    ox, oy = t.xyann
    t.xyann = (ox, oy + (step if upward else -step))
    if other_text is not None:
        ox, oy = other_text.xyann
        other_text.xyann = (ox, oy - (step if upward else -step))

"""Figures: render with Agg, log axes where promised, units in labels, Okabe–Ito colours,
results under their roof, infeasible bars hatched, labels that do not collide."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text

import mlsysim
from mlsysim import Engine, viz
from mlsysim.viz_style import TIER_STYLE

H100, A100, B200 = mlsysim.Hardware.H100, mlsysim.Hardware.A100, mlsysim.Hardware.B200
V100, H200 = mlsysim.Hardware.V100, mlsysim.Hardware.H200
L8, GPT3 = mlsysim.Models.Llama3_8B, mlsysim.Models.GPT3
PALETTE = {c.lower() for c in viz.PALETTE}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _has_unit(label: str) -> bool:
    return "(" in label and label.rstrip().endswith(")")


def _labels(ax):
    """Annotation texts (not tick labels) that are visible and non-empty."""
    return [t for t in ax.texts if t.get_visible() and t.get_text()]


def _no_overlaps(fig, texts, fixed=()):
    """No two ``texts`` overlap, nor does any of them overlap a ``fixed`` text."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(t, renderer) for t in texts]
    others = [Text.get_window_extent(t, renderer) for t in fixed]
    return not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:] + others)


def _si(q, unit):
    return q.to(unit).magnitude


def test_palette_is_okabe_ito():
    okabe_ito = {"#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7",
                 "#000000"}
    assert okabe_ito == PALETTE and len(viz.PALETTE) == 8


def test_roofline_axes_labels_and_colours():
    results = [Engine.solve(L8, H100), Engine.solve(L8, H100, phase="prefill")]
    fig = viz.plot_roofline(H100, results, efficiency=True, title="Llama-3 8B on H100")
    ax = fig.axes[0]
    assert isinstance(fig, matplotlib.figure.Figure)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "Arithmetic intensity (FLOP/byte)"
    assert _has_unit(ax.get_ylabel()) and "FLOP/s" in ax.get_ylabel()
    assert {to_hex(line.get_color()) for line in ax.lines} <= PALETTE
    assert any(line.get_linestyle() == "--" for line in ax.lines)  # the achievable roof
    ridge = _si(H100.compute.precision_flops["fp16"], "flop/s") / _si(
        H100.memory.bandwidth, "B/s")
    assert any(f"ridge {round(ridge)} FLOP/byte" in t.get_text() for t in ax.texts)
    assert fig.get_size_inches()[0] == pytest.approx(7) and fig.dpi == 100


def test_roofline_point_sits_under_its_roof():
    r = Engine.solve(L8, H100, batch_size=32)
    fig = viz.plot_roofline(H100, [r])
    ax = fig.axes[0]
    (point,) = [ln for ln in ax.lines if len(ln.get_xdata()) == 1 and ln.get_zorder() == 7]
    x, y = point.get_xdata()[0], point.get_ydata()[0]
    # the roof by hand, in TFLOP/s: min(peak, intensity × bandwidth)
    peak = _si(H100.compute.precision_flops["fp16"], "flop/s") / 1e12
    bw = _si(H100.memory.bandwidth, "B/s") / 1e12
    assert x == pytest.approx(r.flops / r.bytes_moved)
    assert y == pytest.approx(r.flops / r.latency_s / 1e12)
    assert y <= min(peak, x * bw)
    roof = next(ln for ln in ax.lines if "peak" in ln.get_label())
    assert y <= np.interp(np.log(x), np.log(roof.get_xdata()), roof.get_ydata())


def test_roofline_of_several_devices_into_given_axes():
    fig0, ax = plt.subplots()
    fig = viz.plot_roofline([A100, H100, B200], {"8B decode": Engine.solve(L8, A100),
                                                 "GPT-3 on B200": Engine.solve(GPT3, B200)},
                            ax=ax)
    assert fig is fig0 and ax.get_xscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 3 and all("ridge" in t and "FLOP/byte" in t for t in legend)
    texts = [t.get_text() for t in _labels(ax)]
    assert "8B decode" in texts
    assert any("GPT-3 on B200" in t and "does not fit" in t for t in texts)
    assert _no_overlaps(fig, _labels(ax))


def test_roofline_rejects_an_unsupported_precision():
    with pytest.raises(ValueError, match="fp8"):
        viz.plot_roofline(A100, precision="fp8")


def test_sweep_lines_log_axes_and_marks():
    b = np.arange(1, 257)
    r = mlsysim.sweep(L8, H100, batch_sizes=b, seq_lens=[1024, 8192])
    series = {f"context {s}": r.throughput[:, j] for j, s in enumerate([1024, 8192])}
    fig = viz.plot_sweep(b, series, "Batch size (sequences)", "Throughput (token/s)",
                         logx=True, logy=True, title="Decode",
                         mark={"B = 64": (64, r.throughput[63, 0]), "ceiling": (None, 1e4),
                               "knee": (32, None)})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "Batch size (sequences)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(series)
    data_lines = [ln for ln in ax.lines if ln.get_label() in series]
    assert {to_hex(ln.get_color()) for ln in data_lines} <= PALETTE
    assert len({ln.get_marker() for ln in data_lines}) == 2  # distinguishable in greyscale
    assert len({str(ln.get_linestyle()) for ln in data_lines}) == 2
    assert {"B = 64", "ceiling", "knee"} <= {t.get_text() for t in ax.texts}
    linear = viz.plot_sweep([1, 2, 3], {"a": [1, 2, 3]}, "x (s)", "y (B)")
    assert linear.axes[0].get_xscale() == "linear" and linear.axes[0].get_legend() is None


@pytest.mark.parametrize("xlabel, ylabel", [("Batch size", "Throughput (token/s)"),
                                            ("Batch (sequences)", "Throughput")])
def test_sweep_labels_must_carry_units(xlabel, ylabel):
    with pytest.raises(ValueError, match="label"):
        viz.plot_sweep([1, 2], {"a": [1, 2]}, xlabel, ylabel)


def test_sweep_series_must_match_x():
    with pytest.raises(ValueError, match="shape"):
        viz.plot_sweep([1, 2, 3], {"a": [1, 2]}, "x (s)", "y (s)")


def test_breakdown_fades_infeasible_results():
    fits, too_big = Engine.solve(L8, H100), Engine.solve(GPT3, H100)
    assert fits.feasible and not too_big.feasible
    fig = viz.plot_breakdown([fits, too_big], labels=["8B", "GPT-3"])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Time per step (ms)"
    bars = [p for p in ax.patches if p.get_width() > 0]
    faded = [p for p in bars if (p.get_alpha() or 1) < 1]
    solid = [p for p in bars if (p.get_alpha() or 1) == 1]
    assert faded and solid
    assert all(abs(p.get_y() + p.get_height() / 2 - 0) < 1e-9 for p in faded)  # GPT-3 row
    assert all(abs(p.get_y() + p.get_height() / 2 - 1) < 1e-9 for p in solid)  # 8B row
    assert {to_hex(p.get_facecolor()[:3]) for p in bars} <= PALETTE
    notes = [t.get_text() for t in ax.texts]
    assert any("does not fit" in n and "as if it fit" in n for n in notes)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["GPT-3", "8B"]
    # the segments (time bound by each resource) end at the latency
    right = max(p.get_x() + p.get_width() for p in solid)
    assert right == pytest.approx(fits.latency_s * 1e3)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "does not fit" in legend and "Memory-bound" in legend


def test_operator_breakdown_shows_the_slowest_operators():
    r = Engine.solve(L8, H100, batch_size=8)
    fig = viz.plot_operators(r, top=5)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1].startswith("mlp_up") and "other operators" in labels[0]
    total = sum(p.get_width() for p in ax.patches)
    assert total == pytest.approx(r.latency_s * 1e3)
    with pytest.raises(TypeError, match="operator table"):
        viz.plot_operators(Engine.solve(L8, H100, cost_model="roofline"))


def test_hardware_landscape():
    hws = mlsysim.Hardware.all()
    fig = viz.plot_hardware_landscape(hws)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert _has_unit(ax.get_xlabel()) and "B/s" in ax.get_xlabel()
    assert "FLOP/s" in ax.get_ylabel() and _has_unit(ax.get_ylabel())
    tier_colours = {to_hex(c) for c, _ in TIER_STYLE.values()}
    assert tier_colours <= PALETTE
    points = [ln for ln in ax.lines if ln.get_label() in TIER_STYLE]
    assert sum(len(ln.get_xdata()) for ln in points) == len(hws)
    assert len({ln.get_marker() for ln in points}) == len(points)
    iso = [t for t in ax.texts if t.get_text().endswith("FLOP/byte")]
    assert {"10 FLOP/byte", "100 FLOP/byte", "1,000 FLOP/byte"} <= {t.get_text() for t in iso}
    names = [t for t in _labels(ax) if t not in iso]
    assert len(names) >= 5 and _no_overlaps(fig, names, fixed=iso)
    fp8 = viz.plot_hardware_landscape(hws, precision="fp8", annotate="all")
    fp8_names = [t for t in _labels(fp8.axes[0]) if not t.get_text().endswith("FLOP/byte")]
    assert len(fp8_names) == sum("fp8" in hw.compute.precision_flops for hw in hws)


def test_trend_normalises_to_the_first_device():
    devices = [V100, A100, H100, H200, B200]
    fig = viz.plot_trend(devices, precision="fp16")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and _has_unit(ax.get_ylabel())
    assert "V100" in ax.get_ylabel()
    flops_line, bw_line = ax.lines[:2]
    assert flops_line.get_ydata()[0] == pytest.approx(1.0)
    by_hand = _si(B200.compute.precision_flops["fp16"], "flop/s") / _si(
        V100.compute.precision_flops["fp16"], "flop/s")
    assert flops_line.get_ydata()[-1] == pytest.approx(by_hand)
    assert bw_line.get_ydata()[-1] == pytest.approx(
        _si(B200.memory.bandwidth, "B/s") / _si(V100.memory.bandwidth, "B/s"))
    assert flops_line.get_ydata()[-1] > bw_line.get_ydata()[-1]
    ordered = viz.plot_trend(devices, x="order", metrics=("flops", "bandwidth", "capacity"))
    ticks = [t.get_text() for t in ordered.axes[0].get_xticklabels()]
    assert ticks == ["V100", "A100", "H100", "H200", "B200"]
    with pytest.raises(ValueError, match="metrics"):
        viz.plot_trend(devices, metrics=("power",))


def test_plotting_leaves_global_rcparams_alone():
    before = dict(matplotlib.rcParams)
    viz.plot_roofline(H100)
    viz.plot_hardware_landscape([H100, A100])
    assert dict(matplotlib.rcParams) == before


def test_figure_displays_itself_as_an_image(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append(a))
    fig = viz.plot_roofline(H100)
    fig._ipython_display_()  # outside IPython: a PNG
    (image,) = shown[0]
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.fignum_exists(fig.number)  # only the inline backend closes it after showing

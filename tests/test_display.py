"""Formatting and display: one formatter, HTML tables in notebooks, aligned text in terminals."""

import pytest

import mlsysim
from mlsysim.formatting import format_quantity, sig
from mlsysim.show import banner, info, table
from mlsysim.units import Q_


@pytest.mark.parametrize("q, text", [
    (Q_(6.0234, "ms"), "6.02 ms"), (Q_(3.35, "TB/s"), "3.35 TB/s"),
    (Q_(989.4e12, "flop/s"), "989 TFLOP/s"), (Q_(70.6e9, "param"), "70.6 Gparam"),
    (Q_(540e-6, "s"), "540 µs"), (Q_(999.96, "GB"), "1.00 TB"), (Q_(32, "GiB"), "32.0 GiB"),
    (Q_(3 * 86400, "s"), "3.00 days"), (Q_(0.5, "W"), "500 mW"),
    # exactly one binary prefix step: 2**30 B is 1 GiB, not "1,020 MiB"
    (Q_(1, "GiB"), "1.00 GiB"), (Q_(1024, "MiB"), "1.00 GiB"), (Q_(0.5, "GiB"), "512 MiB"),
    (Q_(30, "percent"), "30.0 %"), (Q_(0.3, ""), "0.300"),
])
def test_quantity_formatter(q, text):
    assert format_quantity(q) == text


def test_sig_figs():
    assert sig(52083.4) == "52,100" and sig(0.000123) == "0.000123" and sig(12.345) == "12.3"


def test_table_html_and_text():
    t = table(["Batch", "Latency"], [[1, Q_(6.02, "ms")], [8, Q_(7.5, "ms")]], highlight=[1])
    html = t._repr_html_()
    assert html.startswith('<table class="mlsysim-table">') and "<th>Latency</th>" in html
    assert 'class="mlsysim-warn"' in html
    text = str(t).splitlines()
    assert text[0].split() == ["Batch", "Latency"] and "6.02 ms" in text[2]


def test_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="row 1 has 1 cells"):
        table(["a", "b"], [[1, 2], [3]])


def test_info_and_banner():
    i = info("GPU", Peak_FLOPS=mlsysim.Hardware.H100.compute.peak_flops)
    assert "Peak FLOPS" in str(i) and "989 TFLOP/s" in i._repr_html_()
    assert "Hello" in banner("Hello")._repr_html_()


def test_html_escapes_values():
    assert "&lt;script&gt;" in table(["x"], [["<script>"]])._repr_html_()


def test_infeasible_result_is_unmissable_in_every_rendering():
    r = mlsysim.Engine.solve("GPT3", "H100")
    assert "INFEASIBLE" in r._repr_html_() and 'role="alert"' in r._repr_html_()
    assert str(r).splitlines()[1].startswith("!! INFEASIBLE")
    assert "INFEASIBLE" in r._repr_markdown_()


def test_display_helpers_and_results_share_one_renderer_registry():
    """A format registered once serves page tables, info boxes, headings and engine results."""
    from mlsysim import render

    t = table(["Batch", "Latency"], [[1, Q_(2e-3, "s")]], title="T")
    r = mlsysim.Engine.solve("Llama3_8B", "H100")
    assert t._repr_html_() == render.render(t.report(), "html")
    assert str(info("GPU", Bandwidth=Q_(3.35, "TB/s"))) == render.render(
        render.Report("GPU", (("Bandwidth", "3.35 TB/s"),)), "text")
    assert str(banner("Decode")) == "== Decode =="

    calls = []

    @render.register("csv", render.TableData)
    def _csv(data):
        calls.append(data)
        return "\n".join(",".join(map(str, row)) for row in (data.headers, *data.rows))

    try:
        assert render.render(t, "csv") == "Batch,Latency\n1,2.00 ms"
        assert render.render(r.operators, "csv").splitlines()[0].startswith("Operator,Kind")
        assert len(calls) == 2
        with pytest.raises(ValueError, match="no 'csv' renderer for Report; formats: html"):
            render.render(r, "csv")
    finally:
        render._RENDERERS.pop(("csv", render.TableData))

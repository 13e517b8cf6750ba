"""CompressionModel: bytes derived by hand, speedups that are ratios of two engine solves,
refusals of what a device cannot run, published accuracy rows with their sources, and the
catalog's rental prices."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim import Q_, CompressionModel, Engine
from mlsysim.catalog import accuracy_for, quantization_accuracy, sources
from mlsysim.render import TableData, render
from mlsysim.results_compression import NO_ACCURACY
from mlsysim.solvers.compression import METHODS, UnsupportedMethodError

CM = CompressionModel()
GIB = 2**30


# -- bytes, derived by hand -----------------------------------------------------------------
# Llama-3 8B (config.json of Meta-Llama-3-8B): 8.03 G parameters counted from the shapes,
# the untied embedding and LM head (2 x 128,256 x 4,096 = 1.05 G) included. The engine stores
# every one of them at the weight format, so weight bytes = 8.03e9 x bits / 8.
LLAMA3_8B_PARAMS = 8.03e9


@pytest.mark.parametrize(("method", "scope", "bits"), [
    ("int4", "weights", 4), ("int8", "weights", 8), ("int8", "weights+activations", 8),
    ("fp8", "weights+activations", 8)])
def test_llama3_8b_weight_bytes_are_params_times_bits(method, scope, bits):
    r = CM.solve("Llama3_8B", "H100", method=method, scope=scope)
    assert r.weight_bytes_before.to("B").magnitude == pytest.approx(LLAMA3_8B_PARAMS * 2)
    assert r.weight_bytes_after.to("B").magnitude == pytest.approx(LLAMA3_8B_PARAMS * bits / 8)
    assert r.compression_ratio == pytest.approx(16 / bits)


def test_kv_cache_bytes_by_hand_and_narrowed_only_when_asked():
    # KV per token = 2 (K and V) x 32 layers x 8 KV heads x 128 head dim x bytes. Decode at a
    # 2,048-token context holds 2,049 tokens (the past and the new one).
    per_token_fp16 = 2 * 32 * 8 * 128 * 2
    r = CM.solve("Llama3_8B", "H100", method="fp8")
    assert r.kv_bytes_before.to("B").magnitude == pytest.approx(2049 * per_token_fp16)
    assert r.kv_bytes_after == r.kv_bytes_before  # activations in fp8, the KV cache unchanged
    r8 = CM.solve("Llama3_8B", "H100", method="fp8", kv_precision="fp8")
    assert r8.kv_bytes_after.to("B").magnitude == pytest.approx(2049 * per_token_fp16 / 2)
    assert r8.memory_saved > r.memory_saved


# -- speedups are the engine's --------------------------------------------------------------
def test_decode_speedup_is_the_ratio_of_two_engine_solves():
    r = CM.solve("Llama3_8B", "H100", method="int4", phase="decode")
    base = Engine.solve("Llama3_8B", "H100", precision="fp16", phase="decode")
    quant = Engine.solve("Llama3_8B", "H100", precision="fp16", weight_precision="int4",
                         kv_precision="fp16", phase="decode")
    assert r.decode_speedup == base.latency_s / quant.latency_s
    assert r.phase("decode").after.latency_s == quant.latency_s
    assert r.prefill_speedup is None  # only the phase asked for was solved


def test_weights_and_activations_solve_the_engine_at_the_methods_precision():
    r = CM.solve("Llama3_8B", "H100", method="fp8", batch_size=8, seq_len=1024)
    for phase in ("decode", "prefill"):
        base = Engine.solve("Llama3_8B", "H100", batch_size=8, seq_len=1024, phase=phase)
        quant = Engine.solve("Llama3_8B", "H100", batch_size=8, seq_len=1024, phase=phase,
                             precision="fp8", kv_precision="fp16")
        assert r.phase(phase).speedup == base.latency_s / quant.latency_s


def test_weight_only_int8_gains_decode_but_not_prefill_on_a100():
    """Weight-only int8 keeps the A100's fp16 arithmetic: prefill (compute-bound) gains next to
    nothing, decode (weight-streaming) gains from half the bytes less dequantisation."""
    r = CM.solve("Llama3_8B", "A100", method="int8", scope="weights")
    assert r.peak_after == r.peak_before
    assert r.phase("prefill").before.bottleneck == "Compute"
    assert abs(r.prefill_speedup - 1) < 0.02
    assert r.decode_speedup > 1.2
    # dequantisation costs something: less than the 2x the bytes alone would give
    assert r.decode_speedup < 2


def test_fp8_weights_and_activations_gain_prefill_on_h100_through_its_fp8_peak():
    r = CM.solve("Llama3_8B", "H100", method="fp8")
    h100 = mlsysim.Hardware.H100.compute.precision_flops
    assert r.peak_after / r.peak_before == pytest.approx(
        (h100["fp8"] / h100["fp16"]).to("").magnitude)
    assert r.peak_after > 1.9 * r.peak_before
    assert r.prefill_speedup > 1.3
    weight_only = CM.solve("Llama3_8B", "H100", method="int8", scope="weights")
    assert r.prefill_speedup > weight_only.prefill_speedup


def test_the_compressed_model_fits_where_the_original_did_not():
    # Llama-3 70B: 70.6 G parameters x 2 B = 141 GB in fp16, over the H100's usable
    # 81,559 MiB - 1 GiB = 84.4 GB; in int4 it is 35.3 GB and fits.
    r = CM.solve("Llama3_70B", "H100", method="int4")
    usable = 81559 * 2**20 - GIB
    assert r.capacity_bytes == usable
    assert 70.6e9 * 2 > usable > 70.6e9 / 2
    assert not r.fits_before and r.fits_after and r.fits_only_compressed
    assert r.feasible and not r.constraint_trace
    assert "as if it fit" in str(r)  # the baseline's timings are labelled


def test_output_len_solves_decode_at_the_last_generated_token():
    r = CM.solve("Llama3_8B", "H100", method="int4", seq_len=1000, output_len=500)
    assert r.phase("decode").before.seq_len == 1000 + 500 - 1
    assert r.phase("prefill").before.seq_len == 1000
    with pytest.raises(ValueError, match="max_context"):
        CM.solve("Llama3_8B", "H100", method="int4", seq_len=8000, output_len=500)


def test_a_per_sample_network_is_compressed_in_its_one_phase():
    r = CM.solve("ResNet50", "T4", method="int8")
    assert r.inference_speedup is not None and r.decode_speedup is None
    assert r.kv_bytes_before.magnitude == 0
    assert r.weight_bytes_after * 2 == r.weight_bytes_before


# -- quantisation never adds bytes (property) --------------------------------------------------
DEVICES = [h for h in mlsysim.Hardware.all() if h.wafer is None]
TRANSFORMERS = [m for m in mlsysim.Models.all() if m.kind == "transformer"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hw=st.sampled_from(DEVICES), model=st.sampled_from(TRANSFORMERS),
       method=st.sampled_from(sorted(METHODS)),
       scope=st.sampled_from(["weights", "weights+activations"]),
       kv=st.sampled_from([None, "fp8", "int4"]), batch=st.integers(1, 256),
       ctx=st.integers(1, 4096))
def test_quantisation_never_increases_bytes(hw, model, method, scope, kv, batch, ctx):
    seq_len = min(ctx, model.max_context or ctx)
    try:
        r = CM.solve(model, hw, method=method, scope=scope, kv_precision=kv,
                     batch_size=batch, seq_len=seq_len)
    except UnsupportedMethodError:
        return
    assert r.weight_bytes_after < r.weight_bytes_before
    assert r.kv_bytes_after <= r.kv_bytes_before
    assert r.footprint_after <= r.footprint_before
    assert r.memory_saved.magnitude >= 0
    assert r.fits_after or not r.fits_before  # never loses a fit
    for p in r.phases:
        assert math.isfinite(p.speedup) and p.speedup > 0


# -- published accuracy ----------------------------------------------------------------------
def test_accuracy_rows_load_with_resolvable_sources():
    rows = quantization_accuracy()
    assert len(rows) >= 10
    for row in rows:
        assert row.model in mlsysim.Models, row
        assert row.source in sources() and sources()[row.source].get("date"), row
        assert row.section, row
        assert row.baseline > 0 and row.quantized > 0
        assert row.method in METHODS


def test_published_rows_match_their_tables():
    # AWQ (Lin et al., MLSys 2024), Table 4: Llama-2 7B WikiText-2 perplexity, INT4 g128.
    awq = {r.algorithm: r for r in accuracy_for("Llama2_7B", "int4", "weights")}
    assert (awq["AWQ"].baseline, awq["AWQ"].quantized) == (5.47, 5.60)
    assert (awq["GPTQ"].quantized, awq["RTN"].quantized) == (5.69, 5.73)
    # Huang et al. 2024 (arXiv 2404.14047 v3), Table 1: LLaMA3-8B W4 g128 GPTQ 6.1 -> 6.5.
    gptq = {r.algorithm: r for r in accuracy_for("Llama3_8B", "int4", "weights")}["GPTQ"]
    assert (gptq.baseline, gptq.quantized) == (6.1, 6.5)
    assert gptq.delta == pytest.approx(0.4) and gptq.delta_text == "+0.4"


def test_the_result_reports_a_published_delta_or_says_there_is_none():
    r = CM.solve("Llama2_13B", "A100", method="int4")
    assert {row.algorithm for row in r.accuracy} == {"RTN", "GPTQ", "AWQ"}
    assert "WikiText-2 perplexity" in r.accuracy_text and "Table 4" in str(r)
    fp8 = CM.solve("Llama3_8B", "H100", method="fp8")
    assert fp8.accuracy[0].metric.startswith("MMLU") and fp8.accuracy[0].degradation > 0
    for none in (CM.solve("GPT3_XL", "H100", method="int4"),
                 CM.solve("Llama2_7B", "H100", method="int8", phase="decode"),
                 CM.solve("ResNet50", "A100", method="int8")):
        assert none.accuracy == () and none.accuracy_text == NO_ACCURACY
        assert NO_ACCURACY in str(none)


# -- bad input --------------------------------------------------------------------------------
def _one_line(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text
    return text


def test_an_unknown_method_or_scope_is_refused():
    with pytest.raises(ValueError) as e:
        CM.solve("Llama3_8B", "H100", method="int3")
    assert "int8, int4, fp8, fp4" in _one_line(e) and "'int3'" in str(e.value)
    with pytest.raises(ValueError, match="scope must be one of"):
        CM.solve("Llama3_8B", "H100", method="int8", scope="activations")


def test_fp8_on_an_a100_is_refused_naming_what_it_can_do():
    with pytest.raises(UnsupportedMethodError) as e:
        CM.solve("Llama3_8B", "A100", method="fp8")
    text = _one_line(e)
    assert "fp8" in text and "A100" in text and "int8" in text  # what it computes in
    with pytest.raises(UnsupportedMethodError, match="no measurement") as e:
        CM.solve("Llama3_8B", "A100", method="fp8", scope="weights")
    _one_line(e)


def test_inputs_that_do_not_apply_are_refused():
    with pytest.raises(ValueError, match="kv_precision applies to transformers"):
        CM.solve("ResNet50", "A100", method="int8", kv_precision="int8")
    with pytest.raises(ValueError, match="output_len applies"):
        CM.solve("ResNet50", "A100", method="int8", output_len=10)
    with pytest.raises(ValueError, match="output_len applies to decode"):
        CM.solve("Llama3_8B", "A100", method="int8", phase="prefill", output_len=10)
    with pytest.raises(ValueError, match="wider than the baseline"):
        CM.solve("Llama3_8B", "A100", method="int8", kv_precision="fp32")
    with pytest.raises(UnsupportedMethodError, match="not narrower"):
        CM.solve("Llama3_8B", "H100", method="int8", baseline="fp8")
    with pytest.raises(ValueError, match="batch_size"):
        CM.solve("Llama3_8B", "H100", method="int8", batch_size=0)


# -- the comparison table ---------------------------------------------------------------------
def test_compare_tabulates_each_method_and_says_why_one_cannot_run():
    table = CM.compare("Llama3_8B", "A100", methods=["int8", "fp8", "int4"])
    assert isinstance(table, TableData) and len(table.rows) == 3
    int8, fp8, int4 = table.rows
    assert table.highlight == frozenset({1}) and "not run" in fp8[-1]
    assert int8[4] == f"{CM.solve('Llama3_8B', 'A100', method='int8').decode_speedup:.2f}×"
    assert int4[2] < int8[2]  # weight bytes
    assert "A100" in render(table, "text") and render(table, "html").startswith("<table")


def test_the_result_renders_in_every_format():
    r = CM.solve("Llama3_8B", "H100", method="int4")
    for fmt in ("text", "html", "markdown", "json"):
        assert "Llama-3 8B" in render(r, fmt)
    data = r.to_dict()
    assert data["phases"]["decode"]["speedup"] == r.decode_speedup
    assert data["weight_bytes_after"]["unit"] == "B"


# -- rental prices in the catalog ---------------------------------------------------------------
PRICED = ["H100", "A100", "H200", "B200", "T4", "MI300X", "TPUv5e"]


@pytest.mark.parametrize("key", PRICED)
def test_device_prices_are_sourced_hourly_rates(key):
    hw = mlsysim.Hardware.get(key)
    price = hw.price_per_hour
    assert price is not None and price.check("[currency] / [time]")
    assert 0.1 < price.to("USD/h").magnitude < 20  # one device, not a whole 8-GPU instance
    prov = hw.source_of("price_per_hour")
    assert prov.source in sources() and sources()[prov.source]["retrieved"]
    assert prov.kind in ("measured", "estimate") and prov.section and prov.note


def test_a_price_per_hour_field_accepts_rates_and_refuses_the_rest():
    hw = mlsysim.Hardware.H100.replace(price_per_hour=Q_("2.5 USD/h"))
    assert hw.price_per_hour == Q_("2.5 USD/h")
    assert mlsysim.Hardware.H100.replace(price_per_hour="0.05 USD/min").price_per_hour.to(
        "USD/h").magnitude == pytest.approx(3.0)
    for bad in ("3 USD", 3.0, "-1 USD/h"):
        with pytest.raises(ValueError):
            mlsysim.Hardware.H100.replace(price_per_hour=bad)

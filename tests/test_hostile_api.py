"""Hostile input through the Python API: every case either fails with a one-line ValueError that
names the parameter and the allowed form, or returns a finite result. None may hang: the module
runs under pytest-timeout's thread method, which ends a stuck worker even inside C code."""

import math

import numpy as np
import pytest

import mlsysim
from mlsysim import (
    Engine,
    SensitivitySolver,
    SynthesisSolver,
    TensorParallelModel,
    WaferResidentModel,
    WeightStreamingModel,
    fmt,
)
from mlsysim.units import Q_, checked, parse_quantity, to_si

pytestmark = pytest.mark.timeout(20, method="thread")

L8, H100 = "Llama3_8B", "H100"
HUGE = 10 ** 400


def fails(fn, *words, error=ValueError):
    """``fn()`` raises ``error`` with a short one-line message containing every word."""
    with pytest.raises(error) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message and len(message) < 500, message[:300]
    assert "Traceback" not in message
    for word in words:
        assert word in message, (word, message)
    return message


def finite(result) -> None:
    """Every time and rate a result reports is a finite number."""
    for value in (result.latency_s, result.throughput.magnitude, result.mfu,
                  result.memory_footprint.magnitude, result.energy.magnitude):
        assert math.isfinite(value), result


# -- quantity strings: bounded before evaluation, finite, physical ---------------------------
@pytest.mark.parametrize("text", [
    "9**9**9 GB", "9^9^9 GB", "2**99999 B", "(9**12)**12**12 B", "10**10**10 s", "1 B" * 80,
    "1" * 200 + " GB", "3 GB ** 1000", "3 GB^(9**9)", "((((((9**12)**12)**12)**12) GB",
])
def test_expressions_that_would_not_finish_are_refused_at_once(text):
    fails(lambda: checked(text, "B", "capacity"), "capacity")


@pytest.mark.parametrize("text, unit, words", [
    ("1e-320 TB/s", "B/s", ["outside the range"]),
    ("1e300 EB", "B", ["not a finite number"]),
    ("1e999999 GB", "B", ["not a finite number"]),
    ("-inf s", "s", []),
    ("nan GB", "B", ["not a finite number"]),
    ("inf TFLOP/s", "flop/s", ["not a finite number"]),
    ("1e-30 s", "s", ["outside the range"]),
    ("1e40 B", "B", ["outside the range"]),
])
def test_values_that_would_overflow_or_underflow_after_conversion(text, unit, words):
    fails(lambda: checked(text, unit, "field"), "field", *words)


@pytest.mark.parametrize("text, unit, slip", [
    ("400 Gb/s", "B/s", "Gbit"), ("100 Mb", "B", "Mbit"), ("3 Tb/s", "B/s", "Tbit"),
    ("1 kb", "B", "kbit"),
])
def test_bits_written_as_b_get_a_hint(text, unit, slip):
    fails(lambda: checked(text, unit, "bandwidth"), "did you mean", slip)


@pytest.mark.parametrize("value, words", [
    (["80 GB"], ["capacity", "such as"]), ({"v": 1}, ["capacity"]), (None, ["capacity"]),
    (b"80 GB", ["capacity"]), (Q_(np.array([1.0, 2.0]), "GB"), ["single value"]),
    ("80 GB/s", ["units of"]), ("eighty GB", ["cannot read"]), ("", ["cannot read"]),
    ("80 furlongs", ["units of"]), ("-80 GB", ["positive"]), ("0 GB", ["positive"]),
])
def test_malformed_quantities_name_the_field(value, words):
    fails(lambda: checked(value, "B", "capacity"), *words)


@pytest.mark.parametrize("text, unit, expected", [
    ("80 GB", "B", 80e9), ("3.35 TB/s", "B/s", 3.35e12), ("1 GiB", "B", 2**30),
    ("2**3 GB", "B", 8e9), (" 5 us ", "s", 5e-6), ("1e-18 s", "s", 1e-18),
    ("46225 mm^2", "m^2", 0.046225), ("989.4 TFLOP/s", "flop/s", 989.4e12),
])
def test_ordinary_quantities_still_read_exactly(text, unit, expected):
    assert parse_quantity(text).to(unit).magnitude == pytest.approx(expected, rel=1e-12)
    assert checked(text, unit).to(unit).magnitude == pytest.approx(expected, rel=1e-12)


def test_to_si_reports_a_dimension_error_as_a_value_error():
    fails(lambda: to_si("400 Gb/s", "B/s", "bandwidth"), "bandwidth", "Gbit")


# -- solver arguments ------------------------------------------------------------------------
SOLVE_CASES = [
    (dict(batch_size=HUGE), ["batch_size", "2**53"]),
    (dict(batch_size=-1), ["batch_size", "positive"]),
    (dict(batch_size=0), ["batch_size"]),
    (dict(batch_size=2.0), ["batch_size", "integer"]),
    (dict(batch_size=True), ["batch_size"]),
    (dict(batch_size="8"), ["batch_size"]),
    (dict(batch_size=np.array([1, 2])), ["batch_size"]),
    (dict(batch_size=float("nan")), ["batch_size"]),
    (dict(batch_size="x" * 5000), ["batch_size"]),
    (dict(seq_len=HUGE), ["seq_len", "2**53"]),
    (dict(seq_len=10 ** 9), ["seq_len", "max_context"]),
    (dict(seq_len=0), ["seq_len"]),
    (dict(seq_len=float("inf")), ["seq_len"]),
    (dict(precision=["fp16"]), ["precision", "fp16"]),
    (dict(precision="fp17"), ["precision", "one of"]),
    (dict(precision=None), ["precision"]),
    (dict(precision={"a": 1}), ["precision"]),
    (dict(weight_precision="int3"), ["weight_precision"]),
    (dict(kv_precision=8), ["kv_precision"]),
    (dict(phase="decoding"), ["phase", "decode, prefill"]),
    (dict(phase=1), ["phase"]),
    (dict(is_training="False"), ["is_training", "True or False"]),
    (dict(is_training=1), ["is_training"]),
    (dict(recompute="yes"), ["recompute"]),
    (dict(efficiency=5e-324), ["efficiency"]),
    (dict(efficiency=0), ["efficiency"]),
    (dict(efficiency=1.5), ["efficiency"]),
    (dict(efficiency=float("nan")), ["efficiency"]),
    (dict(efficiency="0.5"), ["efficiency"]),
    (dict(efficiency=True), ["efficiency"]),
    (dict(efficiency=[0.5] * 100), ["efficiency"]),
    (dict(memory_efficiency=-0.1), ["memory_efficiency"]),
    (dict(launch_overhead=5), ["launch_overhead", "bare number"]),
    (dict(launch_overhead="-1 us"), ["launch_overhead", "non-negative"]),
    (dict(launch_overhead="9**9**9 us"), ["launch_overhead"]),
    (dict(launch_overhead="1e300 s"), ["launch_overhead"]),
    (dict(cost_model="magic"), ["cost_model"]),
]


@pytest.mark.parametrize("kwargs, words", SOLVE_CASES, ids=lambda v: str(v)[:40])
def test_engine_arguments(kwargs, words):
    fails(lambda: Engine.solve(L8, H100, **kwargs), *words)


@pytest.mark.parametrize("model, hardware, words", [
    ("Llama3_8", H100, ["unknown model", "Llama3_8B"]),
    ("llama-3 8b", H100, None),  # spelling-insensitive lookup: a valid solve
    (L8, "H1OO", ["unknown hardware", "'H100'"]),
    (L8, "nvidia h100", ["did you mean 'H100'"]),
    (L8, "DGX_H100", ["is a node", "TensorParallelModel", "'H100'"]),
    (L8, mlsysim.Systems.DGX_H100, ["is a node"]),
    (L8, "H100_Cluster_1024", ["is a fleet", "'DGX_H100'"]),
    (L8, "", ["unknown hardware"]),
    (L8, "x" * 20000, ["unknown hardware"]),
    (42, H100, ["model"]),
    (L8, 3.14, ["hardware"]),
    ("ResNet50", H100, None),
])
def test_names_and_targets(model, hardware, words):
    if words is None:
        finite(Engine.solve(model, hardware))
        return
    message = fails(lambda: Engine.solve(model, hardware), *words,
                    error=(ValueError, TypeError))
    assert len(message) < 300


def test_a_per_sample_network_refuses_transformer_arguments_and_is_labelled_inference():
    fails(lambda: Engine.solve("ResNet50", H100, phase="decode"), "phase", "per-sample")
    fails(lambda: Engine.solve("ResNet50", H100, seq_len=128), "seq_len", "per-sample")
    assert Engine.solve("ResNet50", H100).phase == "inference"


def test_an_encoder_defaults_to_prefill_in_every_solver():
    """One default, one place: nothing blames a phase='decode' the user never passed."""
    assert Engine.solve("BERT_Base", H100).phase == "prefill"
    assert WeightStreamingModel().solve("BERT_Base", "Cerebras_CS3").phase == "prefill"
    assert WaferResidentModel().solve("BERT_Base", "Cerebras_CS3").phase == "prefill"
    r = SensitivitySolver().solve("BERT_Base", "Cerebras_CS3")
    assert math.isfinite(r.baseline_latency_s)
    fails(lambda: Engine.solve("BERT_Base", H100, phase="decode"), "encoder", "prefill")


@pytest.mark.parametrize("call, words", [
    (lambda: TensorParallelModel().solve(L8, "DGX_H100", tp=HUGE), ["tp", "2**53"]),
    (lambda: TensorParallelModel().solve(L8, "DGX_H100", tp=3), ["tp=3", "heads"]),
    (lambda: TensorParallelModel().solve(L8, "DGX_H100", tp=16), ["tp"]),
    (lambda: TensorParallelModel().solve(L8, H100), ["node", "DGX_H100"]),
    (lambda: TensorParallelModel().solve(L8, "H100_Cluster_1024"), ["fleet"]),
    (lambda: TensorParallelModel().solve(L8, "DGX_H100", overlap_comm=2), ["overlap_comm"]),
    (lambda: WeightStreamingModel().solve("GPT3", "Cerebras_CS3", seq_len=HUGE), ["seq_len"]),
    (lambda: WeightStreamingModel().solve("GPT3", H100), ["wafer"]),
    (lambda: WeightStreamingModel().solve("GPT3", "DGX_H100"), ["is a node"]),
    (lambda: WaferResidentModel().solve("GPT3", "Cerebras_CS3", wafers=HUGE), ["wafers"]),
    (lambda: WaferResidentModel().solve("GPT3", "Cerebras_CS3", wafers=500), ["layers"]),
    (lambda: WaferResidentModel().solve(L8, "Cerebras_CS3", in_flight=0), ["in_flight"]),
    (lambda: WaferResidentModel().solve(L8, "Cerebras_CS3", wafers=1, in_flight=2),
     ["in_flight=2", "1 to 1"]),
    (lambda: WaferResidentModel().solve(L8, "Cerebras_CS3", layer_latency="-1 us"),
     ["layer_latency"]),
    (lambda: WaferResidentModel().solve(L8, "Cerebras_CS3", layer_latency="9**9**9 us"),
     ["layer_latency"]),
    (lambda: WaferResidentModel().solve(L8, "Cerebras_CS3", layer_latency="1e-320 s"),
     ["layer_latency", "outside the range"]),
    (lambda: SensitivitySolver().solve(L8, H100, tp=2), ["tp", "node"]),
    (lambda: SensitivitySolver().solve(L8, H100, wafers=2), ["wafers"]),
    (lambda: SensitivitySolver().solve(L8, "H100_Cluster_1024"), ["fleet"]),
    (lambda: SensitivitySolver().solve(L8, H100, efficiency=0), ["efficiency"]),
    (lambda: SynthesisSolver().solve(L8, target_latency="9**9**9 ms"), ["target_latency"]),
    (lambda: SynthesisSolver().solve(L8, target_latency="1e-320 ms"), ["target_latency"]),
    (lambda: SynthesisSolver().solve(L8, target_latency="-5 ms"), ["target_latency"]),
    (lambda: SynthesisSolver().solve(L8, target_latency="5 GB"), ["target_latency"]),
    (lambda: SynthesisSolver().solve(L8, target_latency=5), ["target_latency"]),
    (lambda: SynthesisSolver().solve(L8), ["exactly one"]),
    (lambda: SynthesisSolver().solve(L8, target_throughput="1e30 token/s"),
     ["target_throughput"]),
])
def test_other_solvers_arguments(call, words):
    fails(call, *words)


@pytest.mark.parametrize("kwargs", [
    dict(batch_size=2 ** 40), dict(batch_size=2 ** 53), dict(seq_len=8192, batch_size=10 ** 6),
    dict(efficiency=1e-6), dict(efficiency=1.0, memory_efficiency=1e-6),
    dict(launch_overhead="1e-18 s"), dict(launch_overhead="1e6 s"),
    dict(phase="prefill", seq_len=8192, batch_size=4096), dict(is_training=True, batch_size=512),
])
def test_extreme_but_valid_arguments_give_finite_results(kwargs):
    r = Engine.solve(L8, H100, **kwargs)
    finite(r)
    assert r.feasible or r.constraint_trace  # infeasible is said, with numbers


@pytest.mark.parametrize("field, value", [
    ("memory.bandwidth", "1e-18 TB/s"), ("memory.bandwidth", "1e14 TB/s"),
    ("memory.capacity", "1e27 B"), ("compute.precision_flops", {"fp16": "1e-18 flop/s"}),
    ("compute.precision_flops", {"fp16": "1e27 flop/s"}),
])
def test_hardware_at_the_edges_of_the_physical_range_gives_finite_results(field, value):
    hw = mlsysim.Hardware.H100.replace({field: value})
    finite(Engine.solve(L8, hw, precision="fp16"))


# -- sweeps ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, words", [
    (dict(batch_sizes=[[1, 2], [3]]), ["batch_sizes", "ragged"]),
    (dict(batch_sizes=range(1, 10 ** 12)), ["batch_sizes", "at most"]),
    (dict(batch_sizes=range(1, 10 ** 5), seq_lens=range(1, 8000)), ["grid", "GB"]),
    (dict(batch_sizes=[1, "a"]), ["batch_sizes", "'a'"]),
    (dict(batch_sizes=[1, 2.5]), ["batch_sizes", "2.5"]),
    (dict(batch_sizes=[True, 2]), ["batch_sizes", "True"]),
    (dict(batch_sizes=np.array([True])), ["batch_sizes"]),
    (dict(batch_sizes=[HUGE]), ["batch_sizes", "too large"]),
    (dict(batch_sizes=[]), ["batch_sizes", "empty"]),
    (dict(batch_sizes=np.array([[1, 2]])), ["batch_sizes", "shape"]),
    (dict(batch_sizes=[0, 1]), ["batch_sizes", "≥ 1"]),
    (dict(batch_sizes="abc"), ["batch_sizes"]),
    (dict(batch_sizes=None), ["batch_sizes"]),
    (dict(batch_sizes={1, 2}), ["batch_sizes"]),
    (dict(seq_lens=[10 ** 6]), ["seq_lens", "max_context"]),
    (dict(seq_lens=[-1]), ["seq_lens"]),
    (dict(batch_sizes=[2 ** 40], seq_lens=[8192]), ["overflow"]),
])
def test_sweep_grids(kwargs, words):
    fails(lambda: mlsysim.sweep(L8, H100, **kwargs), *words)


def test_a_sweep_is_finite_everywhere_on_a_wide_grid():
    r = mlsysim.sweep(L8, H100, batch_sizes=[1, 2 ** 10, 2 ** 20, 2 ** 30],
                      seq_lens=[1, 128, 8192])
    for name in ("latency_s", "throughput"):
        values = np.asarray(getattr(r, name).magnitude if hasattr(getattr(r, name), "magnitude")
                            else getattr(r, name))
        assert np.isfinite(values).all(), name


# -- formatting ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), Q_(float("nan"), "s"), Q_(float("nan"), "GB"),
                                   Q_(float("nan"), "TB/s")])
def test_nan_is_never_formatted_as_text(value):
    fails(lambda: fmt(value), "NaN")


@pytest.mark.parametrize("value, text", [
    (float("inf"), "∞"), (Q_(float("inf"), "s"), "∞ s"), (Q_(float("-inf"), "GB"), "−∞ GB"),
    (Q_(1, "GiB"), "1.00 GiB"),
])
def test_infinity_is_written_as_infinity_never_as_days(value, text):
    assert fmt(value) == text


def test_a_weight_only_format_without_a_measured_dequantisation_cost_is_refused():
    """Weight-only fp8 has no measurement on any device class: never silently free."""
    fails(lambda: Engine.solve(L8, H100, weight_precision="fp8"), "weight_precision='fp8'",
          "dequantisation", "int4")
    assert math.isfinite(Engine.solve(L8, H100, weight_precision="int4").latency_s)

"""Property tests (hypothesis): invariants a systems engineer checks by hand.

No NaN/inf/negative outputs; more bandwidth or FLOP/s is never slower; throughput never falls
as batch grows while the batch fits; elasticities have the right sign; dimensional errors are
rejected."""

import math

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim import Engine, SensitivitySolver
from mlsysim.specs import HardwareSpec

GPUS = [h for h in mlsysim.Hardware.all() if h.wafer is None]
MODELS = mlsysim.Models.all()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw):
    hw = draw(st.sampled_from(GPUS))
    model = draw(st.sampled_from(MODELS))
    precision = draw(st.sampled_from(sorted(hw.compute.precision_flops)))
    batch = draw(st.integers(1, 4096))
    kwargs = {"batch_size": batch, "precision": precision}
    if model.kind == "transformer":
        top = model.max_context or 2048
        kwargs["seq_len"] = draw(st.integers(1, top))
        if model.architecture == "decoder":
            kwargs["phase"] = draw(st.sampled_from(["decode", "prefill"]))
    if draw(st.integers(0, 4)) == 0:  # one scenario in five is a training step
        kwargs.pop("phase", None)
        kwargs["is_training"] = True
    return model, hw, kwargs


def _finite_positive(q):
    x = q.magnitude
    return math.isfinite(x) and x >= 0


@FAST
@given(scenarios())
def test_outputs_are_finite_and_non_negative(s):
    model, hw, kwargs = s
    r = Engine.solve(model, hw, **kwargs)
    for q in (r.latency, r.latency_compute, r.latency_memory, r.latency_overhead, r.throughput,
              r.arithmetic_intensity, r.memory_footprint, r.energy):
        assert _finite_positive(q), (q, kwargs)
    assert r.latency.magnitude > 0 and 0 <= r.mfu <= 1.0 + 1e-9
    assert r.bottleneck in {"Compute", "Memory", "Overhead"}
    assert r.feasible == (r.memory_footprint <= hw.memory.usable)


@FAST
@given(scenarios(), st.floats(1.01, 10.0))
def test_more_bandwidth_or_flops_is_never_slower(s, factor):
    model, hw, kwargs = s
    base = Engine.solve(model, hw, **kwargs).latency
    faster_mem = hw.replace({"memory.bandwidth": hw.memory.bandwidth * factor})
    more_flops = hw.replace({"compute.precision_flops": {
        p: q * factor for p, q in hw.compute.precision_flops.items()}})
    assert Engine.solve(model, faster_mem, **kwargs).latency <= base
    assert Engine.solve(model, more_flops, **kwargs).latency <= base


@FAST
@given(scenarios(), st.integers(2, 64))
def test_throughput_never_falls_as_batch_grows_while_feasible(s, growth):
    model, hw, kwargs = s
    small = Engine.solve(model, hw, **kwargs)
    bigger = Engine.solve(model, hw, **{**kwargs, "batch_size": kwargs["batch_size"] * growth})
    if bigger.feasible:
        assert bigger.throughput.magnitude >= small.throughput.magnitude * (1 - 1e-9)
    if not small.feasible:
        assert not bigger.feasible  # a bigger batch never makes an infeasible step fit


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_elasticities_have_the_right_sign(s):
    model, hw, kwargs = s
    r = SensitivitySolver().solve(model=model, hardware=hw, **kwargs)
    e = r.sensitivities
    assert -1 - 1e-6 <= e["peak_flops"] <= 1e-9
    assert -1 - 1e-6 <= e["memory_bandwidth"] <= 1e-9
    assert e.get("dispatch_overhead", 0.0) >= -1e-9
    # T = max(F/x, B/y) + n·o: e_x + e_y = −(max term)/T and e_o = n·o/T, so
    # e_x + e_y − e_o = −1 (Euler's theorem for the homogeneous roofline)
    total = e["peak_flops"] + e["memory_bandwidth"] - e.get("dispatch_overhead", 0.0)
    assert total == pytest.approx(-1.0, abs=0.02)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["1 TB", "3 GHz", "5 W", "2 TFLOP/s", "10 s", "7 Gparam", "4 token/s"]))
def test_wrong_dimension_for_bandwidth_is_rejected(unit_string):
    base = mlsysim.Hardware.H100.model_dump(exclude={"provenance"})
    base["memory"] = {**base["memory"], "bandwidth": unit_string}
    with pytest.raises(pydantic.ValidationError, match=r"memory\.bandwidth"):
        HardwareSpec.model_validate(base)

"""Sensitivity (elasticities) and synthesis: signs, magnitudes, ties, and the inverse problem."""

import pytest

import mlsysim
from mlsysim import Engine, SensitivitySolver, SynthesisSolver
from mlsysim.solvers.sensitivity import binding

H100, L8 = mlsysim.Hardware.H100, mlsysim.Models.Llama3_8B
SENS = SensitivitySolver()


def test_memory_bound_decode_is_bandwidth_bound():
    r = SENS.solve(model=L8, hardware=H100, precision="fp16")
    e = r.sensitivities
    # the memory-bound operators' time scales as 1/BW and nothing else does, so
    # e_BW = −(time of the memory-bound operators) / T
    base = Engine.solve(L8, H100)
    expected = -base.time_by_resource["Memory"] / base.latency_s
    assert e["memory_bandwidth"] == pytest.approx(expected, abs=1e-3)
    assert e["peak_flops"] == pytest.approx(0.0, abs=1e-9)
    assert r.binding_constraint == "memory_bandwidth"


def test_compute_bound_prefill_is_flops_bound():
    r = SENS.solve(model=L8, hardware=H100, phase="prefill", seq_len=2048, batch_size=4)
    base = Engine.solve(L8, H100, phase="prefill", seq_len=2048, batch_size=4)
    shares = base.time_by_resource
    assert r.sensitivities["peak_flops"] == pytest.approx(-shares["Compute"] / base.latency_s,
                                                          abs=1e-3)
    assert r.sensitivities["memory_bandwidth"] == pytest.approx(
        -shares["Memory"] / base.latency_s, abs=1e-3)
    assert r.sensitivities["peak_flops"] < -0.85 and r.binding_constraint == "peak_flops"


@pytest.mark.parametrize("kw", [{}, {"batch_size": 256, "seq_len": 512},
                                {"phase": "prefill", "seq_len": 1024}])
def test_elasticities_match_finite_differences_of_the_engine(kw):
    """Perturb the hardware spec itself, re-solve with the public API, and compare."""
    import math

    r = SENS.solve(model=L8, hardware=H100, **kw)

    def latency(hw):
        return Engine.solve(L8, hw, **kw).latency_s

    for name, path in [("peak_flops", "compute.precision_flops"),
                       ("memory_bandwidth", "memory.bandwidth")]:
        value = H100.compute.precision_flops if name == "peak_flops" else H100.memory.bandwidth
        def scaled(f, name=name, path=path, value=value):
            new = ({p: q * f for p, q in value.items()} if name == "peak_flops" else value * f)
            return H100.replace({path: new})
        up, down = latency(scaled(1.01)), latency(scaled(0.99))
        finite = (math.log(up) - math.log(down)) / (math.log(1.01) - math.log(0.99))
        assert r.sensitivities[name] == pytest.approx(finite, abs=1e-6), name


def test_capacity_never_changes_latency_but_is_listed():
    r = SENS.solve(model=mlsysim.Models.GPT3, hardware=H100)
    assert r.sensitivities["memory_capacity"] == 0.0
    assert not r.feasible and "at least" in r.constraint_trace[0]


def test_weight_streaming_sensitivity_names_injection():
    cs3 = mlsysim.Hardware.Cerebras_CS3
    r = SENS.solve(model=mlsysim.Models.GPT3, hardware=cs3, seq_len=2048)
    assert r.solver == "weight streaming"
    assert r.sensitivities["injection_bandwidth"] == pytest.approx(-1.0, abs=0.01)
    assert r.binding_constraint == "injection_bandwidth"


@pytest.mark.parametrize("model, wafers, batch", [("Llama3_70B", 4, 1), ("Llama3_8B", 1, 64)])
def test_resident_wafer_elasticities_match_finite_differences_of_the_public_solver(
        model, wafers, batch):
    """Scale the catalog's crossing and hop latencies (and separately the FLOP/s) in the spec
    itself, re-solve with WaferResidentModel, and compare with the solver's elasticities."""
    import math

    cs3 = mlsysim.Hardware.Cerebras_CS3
    r = SENS.solve(model=model, hardware=cs3, wafers=wafers, batch_size=batch, seq_len=2048)
    assert r.solver == "weights resident" and r.hardware.startswith(f"{wafers} × ")

    def latency(hw):
        return mlsysim.WaferResidentModel().solve(model, hw, seq_len=2048, batch_size=batch,
                                                  wafers=wafers).latency_s

    def finite(scaled):
        up, down = latency(scaled(1.01)), latency(scaled(0.99))
        return (math.log(up) - math.log(down)) / (math.log(1.01) - math.log(0.99))

    w = cs3.wafer
    assert r.sensitivities["wafer_latency"] == pytest.approx(finite(lambda f: cs3.replace({
        "wafer.layer_latency": w.layer_latency * f, "wafer.hop_latency": w.hop_latency * f})),
        abs=1e-6)
    flops = cs3.compute.precision_flops
    assert r.sensitivities["peak_flops"] == pytest.approx(finite(lambda f: cs3.replace(
        {"compute.precision_flops": {p: q * f for p, q in flops.items()}})), abs=1e-6)
    assert ("injection_bandwidth" in r.sensitivities) == (wafers > 1)
    if wafers == 4:  # a token's step is almost all crossings: the latency binds
        assert r.binding_constraint == "wafer_latency"


def test_ties_and_all_zero_are_reported_honestly():
    assert binding({"a": -0.5, "b": -0.5, "c": 0.0}) == "a = b (tie)"
    assert binding({"a": 0.0, "b": 0.0}).startswith("none")
    assert binding({"a": -0.9, "b": -0.1}) == "a"


def test_synthesis_inverts_the_roofline():
    """The required bandwidth, plugged back into the forward model, meets the target."""
    target = 0.004  # s
    s = SynthesisSolver().solve(L8, target_latency=f"{target} s")
    bw = s.required_bandwidth.to("B/s").magnitude
    flops = s.required_flops.to("flop/s").magnitude
    r = Engine.solve(L8, H100, efficiency=1, memory_efficiency=1)
    # bytes / BW = target exactly, and FLOPs / FLOP/s = target exactly
    assert r.total_bytes.to("B").magnitude / bw == pytest.approx(target)
    assert r.total_flops.to("flop").magnitude / flops == pytest.approx(target)
    assert s.required_capacity.to("B").magnitude == pytest.approx(
        r.memory_footprint.to("B").magnitude)


def test_synthesis_candidates_meet_the_target():
    s = SynthesisSolver().solve(L8, target_latency="6 ms")
    for key in s.candidates:
        r = Engine.solve(L8, key)
        assert r.feasible and r.latency.to("ms").magnitude <= 6


def test_synthesis_from_throughput():
    s = SynthesisSolver().solve(L8, target_throughput="200 token/s")
    assert s.target_latency.to("ms").magnitude == pytest.approx(5.0)


@pytest.mark.parametrize("kwargs", [
    {}, {"target_latency": "5 ms", "target_throughput": "1 token/s"},
    {"target_latency": "-5 ms"}, {"target_latency": "5 GB"}])
def test_synthesis_bad_targets(kwargs):
    with pytest.raises(ValueError, match="target"):
        SynthesisSolver().solve(L8, **kwargs)


def test_tensor_parallel_node_adds_interconnect_parameters():
    """8×H100, GPT-3 decode at batch 1: each all-reduce is a tiny message, so the fixed
    per-step latency of the collective algorithm, not link bandwidth, carries the
    communication time: the latency elasticity is nearly the communication share."""
    node = mlsysim.Systems.DGX_H100
    r = SENS.solve(model=mlsysim.Models.GPT3, hardware=node)
    e = r.sensitivities
    base = mlsysim.TensorParallelModel().solve(mlsysim.Models.GPT3, node)
    comm_share = base.time_by_resource["Communication"] / base.latency_s
    assert 0.9 * comm_share < e["interconnect_latency"] <= comm_share + 1e-6
    assert -0.1 * comm_share < e["interconnect_bandwidth"] <= 0
    assert r.binding_constraint == "memory_bandwidth" and r.solver == "tensor parallel"


def test_unknown_device_or_node_name():
    with pytest.raises(ValueError, match="did you mean 'H100'"):
        SENS.solve(model=L8, hardware="H1000")
    with pytest.raises(ValueError, match="tp applies to a node"):
        SENS.solve(model=L8, hardware=H100, tp=2)

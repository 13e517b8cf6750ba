"""Spec validation: wrong units, negative values, unknown keys and malformed YAML fail clearly."""

import pydantic
import pytest

from mlsysim import load_spec
from mlsysim.errors import CatalogError
from mlsysim.specs import HardwareSpec, SampleWorkload, TransformerWorkload


def _hw(**over):
    base = dict(
        name="Test GPU", tier="cloud", vendor="Acme",
        compute={"precision_flops": {"fp16": "100 TFLOP/s"}},
        memory={"capacity": "16 GB", "bandwidth": "1 TB/s"},
        tdp="300 W", efficiency={"compute": 0.8, "memory": 0.8},
    )
    base.update(over)
    return HardwareSpec(**base)


def test_valid_custom_device_and_ridge_point():
    hw = _hw()
    assert hw.ridge_point.to("flop/byte").magnitude == pytest.approx(100.0)


def test_wrong_dimension_names_field_value_and_expected_unit():
    with pytest.raises(pydantic.ValidationError) as info:
        _hw(memory={"capacity": "16 GB", "bandwidth": "1 TB"})
    text = str(info.value)
    assert "memory.bandwidth" in text and "'1 TB'" in text and "B/s" in text


def test_tflops_written_as_count_gets_a_hint():
    with pytest.raises(pydantic.ValidationError, match="TFLOP/s"):
        _hw(compute={"precision_flops": {"fp16": "100 TFLOPS"}})


def test_negative_capacity_is_rejected():
    with pytest.raises(pydantic.ValidationError, match="must be positive"):
        _hw(memory={"capacity": "-16 GB", "bandwidth": "1 TB/s"})


def test_bare_number_is_rejected_with_an_example():
    with pytest.raises(pydantic.ValidationError, match="give it a unit"):
        _hw(tdp=300)


def test_unparsable_quantity():
    with pytest.raises(pydantic.ValidationError, match="cannot read"):
        _hw(tdp="three hundred watts")


def test_unknown_key_is_rejected():
    with pytest.raises(pydantic.ValidationError, match="bandwith"):
        _hw(memory={"capacity": "16 GB", "bandwith": "1 TB/s"})


def test_default_precision_must_have_a_peak():
    with pytest.raises(pydantic.ValidationError, match="default_precision"):
        _hw(compute={"precision_flops": {"bf16": "100 TFLOP/s"}})


def test_unsupported_precision_names_the_supported_ones():
    hw = _hw(compute={"precision_flops": {"fp16": "100 TFLOP/s", "int8": "200 TFLOP/s"}})
    with pytest.raises(ValueError, match="supports fp16, int8"):
        hw.compute.flops("fp8")
    with pytest.raises(ValueError, match="not a known precision"):
        hw.compute.flops("fp12")


def test_specs_are_frozen():
    hw = _hw()
    with pytest.raises(pydantic.ValidationError):
        hw.name = "other"


def test_macs_convert_to_flops():
    net = SampleWorkload(name="n", category="vision", architecture="cnn", parameters="1 Mparam",
                         layers=3, macs_per_sample="2 GFLOP")
    assert net.flops_per_sample.to("GFLOP").magnitude == pytest.approx(4.0)


def test_inconsistent_macs_and_flops():
    with pytest.raises(pydantic.ValidationError, match="2 × macs"):
        SampleWorkload(name="n", category="vision", architecture="cnn", parameters="1 Mparam",
                       layers=3, macs_per_sample="2 GFLOP", flops_per_sample="2 GFLOP")


def test_gqa_heads_must_divide():
    with pytest.raises(pydantic.ValidationError, match="kv_heads"):
        TransformerWorkload(name="t", category="language", parameters="1 Gparam", layers=2,
                            hidden_dim=64, heads=8, kv_heads=3)


def test_user_yaml_spec_loads(tmp_path):
    f = tmp_path / "mygpu.yaml"
    f.write_text(
        "name: My GPU\ntier: workstation\nvendor: Me\n"
        "compute: {precision_flops: {fp16: 50 TFLOP/s}}\n"
        "memory: {capacity: 24 GB, bandwidth: 1 TB/s}\n"
        "tdp: 450 W\nefficiency: {compute: 0.7, memory: 0.8}\n"
    )
    hw = load_spec(f)
    assert isinstance(hw, HardwareSpec) and hw.memory.capacity.to("GB").magnitude == 24


def test_user_yaml_unknown_key_names_file_and_field(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: M\ncategory: language\nparameters: 1 Gparam\nlayers: 2\n"
                 "hidden_dim: 64\nheads: 8\nlayerz: 3\n")
    with pytest.raises(CatalogError) as info:
        load_spec(f)
    assert "bad.yaml" in str(info.value) and "layerz" in str(info.value)
    assert "unknown key" in str(info.value)


def test_malformed_yaml_gives_line_number(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("name: X\nmemory: {capacity: 16 GB\ntdp: 3 W\n")
    with pytest.raises(CatalogError, match=r"broken.yaml: malformed YAML \(line"):
        load_spec(f)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="cannot read file"):
        load_spec(tmp_path / "nope.yaml")


def test_frequency_is_not_a_bandwidth():
    with pytest.raises(pydantic.ValidationError, match="expected B/s"):
        _hw(memory={"capacity": "16 GB", "bandwidth": "3 GHz"})


def test_unitless_string_is_not_a_size():
    with pytest.raises(pydantic.ValidationError, match=r"memory\.capacity"):
        _hw(memory={"capacity": "16", "bandwidth": "1 TB/s"})


# --- cross-field checks and counts through the Python API (no YAML involved) ----------------

def _tf(**over):
    base = dict(name="t", category="language", parameters="1 Gparam", layers=2, hidden_dim=64,
                heads=8)
    base.update(over)
    return TransformerWorkload(**base)


def test_moe_active_parameters_cannot_exceed_the_total():
    with pytest.raises(pydantic.ValidationError, match=r"active_parameters .* exceeds parameters"):
        _tf(moe={"experts": 8, "active_experts": 2, "active_parameters": "1.5 Gparam"})
    assert _tf(moe={"experts": 8, "active_experts": 2,
                    "active_parameters": "0.3 Gparam"}).si.active_params == pytest.approx(3e8)


def test_peak_activations_cannot_exceed_the_total():
    kw = dict(name="n", category="vision", architecture="cnn", parameters="1 Mparam", layers=3,
              macs_per_sample="2 GFLOP", activation_bytes_per_sample="4 MB")
    with pytest.raises(pydantic.ValidationError, match="peak_activation_bytes_per_sample"):
        SampleWorkload(**kw, peak_activation_bytes_per_sample="5 MB")
    net = SampleWorkload(**kw, peak_activation_bytes_per_sample="4 MB")
    assert net.si.peak_activation_bytes_fp16 == net.si.activation_bytes_fp16 == pytest.approx(4e6)


@pytest.mark.parametrize("field", ["layers", "heads", "hidden_dim"])
def test_a_boolean_is_not_a_count(field):
    with pytest.raises(pydantic.ValidationError, match="boolean"):
        _tf(**{field: True})


def test_a_boolean_is_not_an_efficiency():
    with pytest.raises(pydantic.ValidationError, match=r"efficiency\.memory"):
        _hw(efficiency={"compute": 0.8, "memory": True})


def test_validation_error_is_one_line_and_counts_the_rest():
    from mlsysim.errors import format_validation_error

    with pytest.raises(pydantic.ValidationError) as info:
        TransformerWorkload.model_validate({"name": "t", "category": "language",
                                            "parameters": "1 Gparam", "layers": 2,
                                            "hidden_dim": 64, "heads": 8,
                                            **{f"bad{i}": i for i in range(500)}})
    text = format_validation_error(info.value, "my.yaml", TransformerWorkload)
    assert "\n" not in text and len(text) < 600
    assert text.startswith("my.yaml: unknown keys 'bad0', 'bad1', 'bad2', 'bad3', 'bad4' and "
                           "495 more: the fields of TransformerWorkload are name, ")


def test_checked_numbers_keep_plain_annotations():
    """The API reference prints field annotations: the bool and size checks must not show."""
    from mlsysim.specs.hardware import EfficiencySpec

    assert TransformerWorkload.model_fields["kv_heads"].annotation == int | None
    assert TransformerWorkload.model_fields["layers"].annotation is int
    assert HardwareSpec.model_fields["year"].annotation == int | None
    assert EfficiencySpec.model_fields["compute"].annotation == float | None
    with pytest.raises(pydantic.ValidationError, match="boolean"):
        EfficiencySpec(memory=0.5, compute=True)


def test_a_changed_shape_rescales_the_parameter_count():
    """Llama-3 8B with 32 KV heads (MHA): K and V grow from 8 to 32 heads of 128 columns in
    each of 32 layers, so the declared count grows by exactly that many parameters (scaled by
    the catalog's small declared/implied ratio, 1 for this model)."""
    import mlsysim

    m = mlsysim.Models.Llama3_8B
    mha = m.replace({"kv_heads": 32})
    added = 32 * 2 * 4096 * (32 - 8) * 128
    assert mha.shape_parameters - m.shape_parameters == added
    assert mha.parameter_count == pytest.approx(
        m.parameter_count * mha.shape_parameters / m.shape_parameters, rel=1e-12)
    given = m.replace({"kv_heads": 32, "parameters": "9 Gparam"})
    assert given.parameter_count == 9e9  # an explicit count is kept as given
    assert m.replace(name="renamed").parameter_count == m.parameter_count

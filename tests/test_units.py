"""The unit registry: custom dimensions, aliases and conversions to SI floats."""

import pint
import pytest

from mlsysim.units import BYTES_PER_ELEMENT, Q_, parse_quantity, to_si, ureg


def test_flop_rate_spellings_agree():
    assert Q_(1, "TFLOPs/s") == Q_(1, "TFLOP/s") == Q_(1e12, "flop/s")


def test_params_take_si_prefixes():
    assert Q_(175e9, "param").to("Gparam").magnitude == pytest.approx(175)
    assert f"{Q_(7, 'Gparam'):~P}" == "7 Gparam"


def test_custom_dimensions_do_not_mix():
    with pytest.raises(pint.DimensionalityError):
        Q_(1, "flop/s").to("B/s")
    with pytest.raises(pint.DimensionalityError):
        Q_(1, "token/s").to("flop/s")


def test_arithmetic_intensity_unit():
    ai = Q_(2e9, "flop") / Q_(1e9, "B")
    assert ai.to("flop/byte").magnitude == pytest.approx(2.0)


def test_to_si_from_strings_and_quantities():
    assert to_si("3.35 TB/s", "B/s") == pytest.approx(3.35e12)
    assert to_si(Q_(80, "GB"), "B") == pytest.approx(80e9)
    assert to_si(Q_(32, "GiB"), "B") == pytest.approx(32 * 2**30)
    assert to_si(5.0, "s") == 5.0  # bare numbers are already SI


def test_quantities_from_another_registry_are_rehomed():
    other = pint.UnitRegistry()
    q = parse_quantity(other.Quantity(3, "GB"))
    assert q._REGISTRY is ureg and q.to("MB").magnitude == pytest.approx(3000)


def test_bytes_per_element_convention():
    assert BYTES_PER_ELEMENT["fp16"] == BYTES_PER_ELEMENT["bf16"] == 2
    assert BYTES_PER_ELEMENT["fp8"] == BYTES_PER_ELEMENT["int8"] == 1
    assert BYTES_PER_ELEMENT["int4"] == BYTES_PER_ELEMENT["fp4"] == 0.5
    assert BYTES_PER_ELEMENT["fp32"] == BYTES_PER_ELEMENT["tf32"] == 4


def test_bytes_are_a_dimension_of_their_own():
    """Pint's stock registry makes the bit dimensionless; ours must not (a frequency is not a
    byte rate, and a bare count is not a size)."""
    assert not Q_(1, "GHz").is_compatible_with("B/s")
    assert not Q_(80).is_compatible_with("GB")
    assert Q_(8, "Gbit/s").to("GB/s").magnitude == pytest.approx(1.0)


def test_vocabulary_enums_read_as_their_value_everywhere_a_reader_sees_them():
    """str, format and repr (what IPython and an inline `{python}` expression show) are the
    plain value, so a page never prints <Bottleneck.MEMORY: 'Memory'>."""
    from mlsysim.vocabulary import Bottleneck, OpKind, Phase

    for member in (Bottleneck.MEMORY, Phase.DECODE, OpKind.GEMM):
        assert str(member) == f"{member}" == member.value and member == member.value
        assert repr(member) == repr(member.value)

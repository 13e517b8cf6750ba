"""Pydantic field types for physical quantities.

``QuantityField("B/s")`` accepts a pint Quantity or a string such as ``"3.35 TB/s"`` and rejects
a value of the wrong dimension with a message that names the value and the expected unit
(pydantic adds the field path). Bare numbers are refused: a spec number always carries its unit.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from ..units import checked

#: Examples used in error messages, keyed by the canonical unit of a field.
_EXAMPLES = {
    "flop/s": "'989 TFLOP/s'",
    "B/s": "'3.35 TB/s'",
    "B": "'80 GB'",
    "W": "'700 W'",
    "s": "'5 us'",
    "param": "'70 Gparam'",
    "flop": "'4.1 GFLOP'",
    "USD": "'30000 USD'",
    "g/kWh": "'400 g/kWh'",
    "L/kWh": "'1.8 L/kWh'",
    "m^2": "'46225 mm^2'",
}


def _hint(text: str, unit: str) -> str:
    if unit == "flop/s" and text.strip().upper().endswith("FLOPS"):
        return " (pint reads 'TFLOPS' as a count of FLOPs; write a rate as 'TFLOP/s')"
    return ""


def _make_validator(unit: str, allow_zero: bool):
    example = _EXAMPLES.get(unit, f"'1 {unit}'")

    def validate(value: Any):
        if isinstance(value, (bool, int, float)):
            raise ValueError(f"got a bare number {value!r}; give it a unit, e.g. {example}")
        try:
            return checked(value, unit, "value", allow_zero, example)
        except ValueError as exc:
            text = str(exc).removeprefix("value: ").removeprefix("value ")
            raise ValueError(text + _hint(str(value), unit)) from None

    validate.unit = unit  # read by documentation (reference/api.qmd)
    return validate


def QuantityField(unit: str, *, allow_zero: bool = False) -> Any:
    """An annotated type for a positive (or non-negative) quantity with the units of ``unit``."""
    return Annotated[
        Any,
        BeforeValidator(_make_validator(unit, allow_zero)),
        PlainSerializer(lambda q: f"{q:~P}", return_type=str, when_used="json"),
    ]


FlopRate = QuantityField("flop/s")
ByteRate = QuantityField("B/s")
Bytes = QuantityField("B")
BytesOrZero = QuantityField("B", allow_zero=True)
Power = QuantityField("W")
Time = QuantityField("s")
TimeOrZero = QuantityField("s", allow_zero=True)
Params = QuantityField("param")
Flops = QuantityField("flop")
Money = QuantityField("USD")
Area = QuantityField("m^2")

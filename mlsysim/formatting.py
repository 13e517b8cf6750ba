"""One quantity formatter for pages, terminals and the CLI: 3 significant figures and a
sensible prefix ("6.02 ms", "3.35 TB/s", "989 TFLOP/s", "70.6 Gparam")."""

from __future__ import annotations

import math
from numbers import Real

# (unit to test compatibility with, base symbol, prefixes allowed)
_SI = ["", "k", "M", "G", "T", "P", "E"]
_FAMILIES = [
    ("B/s", "B/s", _SI),
    ("B", "B", _SI),
    ("flop/s", "FLOP/s", _SI),
    ("flop", "FLOP", _SI),
    ("param", "param", ["", "K", "M", "G", "T"]),
    ("W", "W", ["m", "", "k", "M", "G"]),
    ("J", "J", ["m", "", "k", "M", "G", "T"]),
    ("flop/B", "FLOP/B", None),
    ("token/s", "token/s", None),
    ("sample/s", "sample/s", None),
    ("token", "token", None),
    ("sample", "sample", None),
    ("USD", "USD", None),
    ("g/kWh", "g/kWh", None),  # grid carbon intensity (a source in lb/MWh prints in g/kWh)
]
_BINARY = ("kibi", "mebi", "gibi", "tebi", "pebi")
_EXPONENT = {"m": -3, "": 0, "k": 3, "K": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def sig(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures, without exponent notation for everyday sizes
    and with thousands separators (52083.4 → "52,100"; 0.000123 → "0.000123")."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return _non_finite(x)
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= 15 or magnitude <= -7:
        return f"{x:.{digits - 1}e}"
    rounded = round(x, digits - 1 - magnitude)
    if rounded and math.floor(math.log10(abs(rounded))) > magnitude:  # 999.7 → 1000
        magnitude += 1
        rounded = round(x, digits - 1 - magnitude)
    decimals = max(0, digits - 1 - magnitude)
    return f"{rounded:,.{decimals}f}"


def _non_finite(x: float) -> str:
    """Infinity prints as ∞; NaN is an error, never text (a NaN on a page is a bug upstream)."""
    if math.isnan(x):
        raise ValueError("cannot format NaN: the value is undefined (a 0/0 or inf-inf upstream)")
    return "∞" if x > 0 else "−∞"


def _pick_prefix(value: float, prefixes: list[str], base: int = 1000) -> tuple[float, str]:
    """Largest prefix that keeps the (3-s.f.-rounded) scaled magnitude at or above 1."""
    best = prefixes[0]
    size = abs(value)
    for p in prefixes:
        scaled = size / base ** (_EXPONENT[p] // 3)
        if scaled >= 1 or (scaled >= 0.995 and float(f"{scaled:.3g}") >= 1):
            best = p
    return value / base ** (_EXPONENT[best] // 3), best


def format_time(seconds: float) -> str:
    """Seconds as ns/µs/ms/s, or minutes, hours and days when long."""
    s = abs(seconds)
    if s == 0:
        return "0 s"
    if not math.isfinite(s):
        return f"{_non_finite(seconds)} s"
    for limit, factor, unit in ((1e-6, 1e9, "ns"), (1e-3, 1e6, "µs"), (1.0, 1e3, "ms"),
                                (120.0, 1.0, "s"), (7200.0, 1 / 60, "min"),
                                (172800.0, 1 / 3600, "h")):
        if s < limit * 0.9995:
            return f"{sig(seconds * factor)} {unit}"
    return f"{sig(seconds / 86400)} days"


def format_bytes(nbytes: float) -> str:
    """A byte count as "350 GB" (SI prefixes), without building a pint Quantity (fast)."""
    if not math.isfinite(nbytes):
        return f"{_non_finite(nbytes)} B"
    scaled, prefix = _pick_prefix(float(nbytes), _SI)
    return f"{sig(scaled)} {prefix}B"


def format_quantity(q) -> str:
    """Format a pint Quantity for a reader (see module docstring)."""
    magnitude = q.magnitude
    if not isinstance(magnitude, Real):
        return f"{q:~P}"
    if not math.isfinite(magnitude):
        return f"{_non_finite(float(magnitude))} {q.units:~P}"
    if q.is_compatible_with("s"):
        return format_time(float(q.to("s").magnitude))
    if q.dimensionless:
        if dict(q.unit_items()) == {"percent": 1}:
            return f"{sig(float(magnitude))} %"
        return sig(float(q.to("").magnitude))
    binary = any(n[:4] in _BINARY for n, _ in q.unit_items())
    if binary and q.is_compatible_with("B"):  # published in GiB: stays GiB
        scaled, prefix = _pick_prefix(float(q.to("B").magnitude), ["", "k", "M", "G", "T"], 1024)
        return f"{sig(scaled)} {prefix.upper()}{'i' if prefix else ''}B"
    if q.is_compatible_with("J") and any("watt_hour" in n for n, _ in q.unit_items()):
        # energy billed in watt-hours stays in watt-hours (a 15 GWh run, not 54 TJ)
        scaled, prefix = _pick_prefix(float(q.to("Wh").magnitude), ["", "k", "M", "G", "T"])
        return f"{sig(scaled)} {prefix}Wh"
    if q.is_compatible_with("L"):  # water: 17.3 ML, not 17,300,000 l
        scaled, prefix = _pick_prefix(float(q.to("L").magnitude), ["m", "", "k", "M", "G"])
        return f"{sig(scaled)} {prefix}L"
    for unit, symbol, prefixes in _FAMILIES:
        if q.is_compatible_with(unit):
            value = float(q.to(unit).magnitude)
            if prefixes is None:
                return f"{sig(value)} {symbol}"
            scaled, prefix = _pick_prefix(value, prefixes)
            return f"{sig(scaled)} {prefix}{symbol}"
    return f"{sig(float(magnitude))} {q.units:~P}"


def fmt(value) -> str:
    """Short alias of :func:`format_value` for inline page expressions."""
    return format_value(value)


def format_value(value) -> str:
    """Format any cell value: quantities, numbers, booleans, strings."""
    if hasattr(value, "magnitude") and hasattr(value, "units"):
        return format_quantity(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return sig(value)
    return "" if value is None else str(value)

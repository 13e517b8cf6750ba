"""The package's single pint unit registry (``ureg``) and quantity constructor (``Q_``).

Pint's stock registry treats the bit as dimensionless, so "80 GB" would equal the number 8e11
and "3 GHz" would pass for a byte rate. We build the registry from pint's own definitions with
one change, ``bit = [information]``, so bytes are a dimension of their own, then add ours from
``units.txt``: ``flop`` (aliases FLOP, FLOPs: ``'TFLOPs/s'`` and ``'TFLOP/s'`` both parse),
``param`` (``'Gparam'``), ``token``, ``sample`` and ``USD``. The combined definitions are
written once to a cache folder and parsed through pint's disk cache, so later imports build the
registry in tens of milliseconds.

Inside the engine numbers are SI floats; :func:`to_si` converts a Quantity, a string such as
``"3.35 TB/s"`` or a number (taken as already in SI) to a float in the given unit.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import tempfile
import warnings
from pathlib import Path

import pint

from .vocabulary import BYTES_PER_ELEMENT, PRECISIONS  # noqa: F401  (re-exported)

_HERE = Path(__file__).parent


def _definitions_file() -> Path:
    """Pint's default definitions with bytes as a dimension, plus ours; cached by content."""
    pint_dir = Path(pint.__file__).parent
    stock = (pint_dir / "default_en.txt").read_text(encoding="utf-8")
    if "\nbit = []\n" not in stock:
        raise RuntimeError("pint's default_en.txt no longer defines 'bit = []'; update units.py")
    constants = (pint_dir / "constants_en.txt").read_text(encoding="utf-8")
    text = stock.replace("\nbit = []\n", "\nbit = [information]\n").replace(
        "@import constants_en.txt", constants)
    text += "\n" + (_HERE / "units.txt").read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    for base in (os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache",
                 tempfile.gettempdir()):
        target = Path(base) / "mlsysim" / f"units-{digest}.txt"
        try:
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(target)
            return target
        except OSError:
            continue
    raise RuntimeError("no writable cache folder for the unit definitions")


ureg = pint.UnitRegistry(str(_definitions_file()), cache_folder=":auto:")
ureg.formatter.default_format = ".4g~P"
# f"{q:.0f}" works and uses default_format; pint warns that this will change (it will not for
# us: the default format is set above), which is noise in every page that formats a quantity.
warnings.filterwarnings("ignore", message="The given format spec does not contain a",
                        category=DeprecationWarning)
Q_ = ureg.Quantity
Quantity = ureg.Quantity

# "<number> <unit expression>": the shape of every catalog value. Parsed here as number plus a
# cached Unit, ~30x faster than pint's general expression evaluator (which is the fallback).
_SIMPLE = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
                     r"\s*([A-Za-zµ_][\w/*^. µ]*?)\s*$")


@functools.lru_cache(maxsize=512)
def _unit(text: str) -> pint.Unit:
    return ureg.Unit(text)


#: Longest quantity string read; longest number literal (digits) inside it.
MAX_TEXT, MAX_DIGITS = 200, 30
#: A quantity, in the canonical unit of its field, must lie in this range (or be zero where
#: zero is allowed): wide enough for a microcontroller and a data centre, narrow enough that
#: no product or quotient of two of them over- or underflows a float.
SI_RANGE = (1e-18, 1e27)
_TOKEN = re.compile(r"\s*(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\*\*|[*/^()+-]|"
                    r"[^\W\d][\w°]*)")
#: pint reads these as gilbert (magnetomotive force) or barn (area), never as bits.
_BIT_SLIPS = re.compile(r"(?<![A-Za-z])([kKMGTPE])b(?![A-Za-z])")


def _bounded(text: str) -> None:
    """Refuse an expression that pint would take unbounded time or memory to evaluate: long
    strings, huge literals, and powers other than a small literal exponent (``9**9**9``)."""
    if len(text) > MAX_TEXT:
        raise ValueError(f"a quantity string is at most {MAX_TEXT} characters, got "
                         f"{len(text):,}")
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if match is None:
            return  # a character pint will refuse on its own
        tokens.append(match.group(1))
        pos = match.end()
    powers = 0
    for i, tok in enumerate(tokens):
        mantissa = re.split("[eE]", tok)[0]
        if tok[0] in "0123456789." and len(mantissa.replace(".", "")) > MAX_DIGITS:
            raise ValueError(f"number {tok[:12]}… has more than {MAX_DIGITS} digits")
        if tok in ("**", "^"):
            powers += 1
            rest = tokens[i + 1:i + 3]
            if rest[:1] in (["-"], ["+"]):
                rest = tokens[i + 2:i + 4]
            exponent = rest[0] if rest else ""
            if (not exponent[:1].isdigit() or abs(float(exponent)) > 12
                    or rest[1:2] in (["**"], ["^"]) or powers > 3):
                raise ValueError(f"{text!r}: only small literal powers are allowed in a unit "
                                 "(such as 'm^2' or 's**-1')")


def _parse_text(text: str) -> pint.Quantity:
    match = _SIMPLE.fullmatch(text)
    if match:
        number, unit = match.groups()
        try:
            magnitude = int(number) if number.lstrip("+-").isdigit() else float(number)
            if len(number) <= MAX_DIGITS + 8:
                return Q_(magnitude, _unit(unit))
        except (pint.UndefinedUnitError, pint.DefinitionSyntaxError, ValueError, TypeError,
                AttributeError):
            pass  # let the general parser produce its own error or reading
    _bounded(text)
    try:
        return Q_(text)
    except (OverflowError, ZeroDivisionError, RecursionError, TypeError) as exc:
        raise ValueError(f"cannot read {text!r} as a quantity: {exc}") from None


def parse_quantity(value: object) -> pint.Quantity:
    """Return ``value`` as a Quantity of this registry (accepts Quantity or ``"3.35 TB/s"``).
    Strings are bounded before pint evaluates them (see :func:`_bounded`)."""
    if isinstance(value, ureg.Quantity):
        return value
    if isinstance(value, pint.Quantity):  # from another registry: re-home it
        return Q_(value.magnitude, str(value.units))
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Q_(value)
    raise TypeError(f"expected a quantity or a string such as '3.35 TB/s', got "
                    f"{type(value).__name__}")


def bit_hint(text: str) -> str:
    """A hint when a string writes bits as 'Gb' (gigagilbert/barn to pint)."""
    match = _BIT_SLIPS.search(text)
    if not match:
        return ""
    p = match.group(1)
    return (f" (pint reads '{p}b' as a gilbert or barn unit; did you mean '{p}bit' for bits "
            f"or '{p.upper()}B' for bytes?)")


def checked(value: object, unit: str, name: str = "value", allow_zero: bool = False,
            example: str | None = None) -> pint.Quantity:
    """``value`` as a Quantity with the dimension of ``unit``: scalar, finite, within
    :data:`SI_RANGE` in ``unit``, positive (or zero if allowed). Errors are one-line
    ``ValueError``s naming ``name``, the value and the expected form."""
    example = example or f"'1 {unit}'"
    shown = value if isinstance(value, str) else type(value).__name__
    if isinstance(value, str) and len(value) > 60:
        shown = value[:57] + "..."
    try:
        q = parse_quantity(value)
    except TypeError:
        raise ValueError(f"{name} must be a quantity in {unit} such as {example}, got "
                         f"{shown!r}") from None
    except Exception as exc:  # pint raises several error types for unparsable strings
        raise ValueError(f"{name}: cannot read {shown!r} as a quantity in {unit} (e.g. "
                         f"{example}): {str(exc).splitlines()[0][:120]}") from None
    if not q.is_compatible_with(unit):
        raise ValueError(f"{name}: {shown!r} has units of {q.dimensionality}, expected {unit} "
                         f"(e.g. {example})" + bit_hint(str(value)))
    magnitude = q.to(unit).magnitude
    if getattr(magnitude, "ndim", 0) != 0:
        raise ValueError(f"{name} must be a single value, got an array")
    try:
        magnitude = float(magnitude)
    except (OverflowError, TypeError):
        magnitude = math.nan
    if not math.isfinite(magnitude):
        raise ValueError(f"{name}: {shown!r} is not a finite number")
    if magnitude < 0 or (magnitude == 0 and not allow_zero):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be {bound}, got {shown!r}")
    low, high = SI_RANGE
    if magnitude and not low <= magnitude <= high:
        raise ValueError(f"{name}: {shown!r} is {magnitude:.3g} {unit}, outside the range a "
                         f"physical quantity here can take ({low:g} to {high:g} {unit})")
    return q


def to_si(value: object, unit: str, name: str = "value") -> float:
    """Convert ``value`` to a float in ``unit``; a bare number is taken to be in ``unit``.
    Quantities and strings are checked as :func:`checked` does (zero allowed)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return float(checked(value, unit, name, allow_zero=True).to(unit).magnitude)

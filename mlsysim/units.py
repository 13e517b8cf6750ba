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


def _parse_text(text: str) -> pint.Quantity:
    match = _SIMPLE.fullmatch(text)
    if match:
        number, unit = match.groups()
        try:
            magnitude = int(number) if number.lstrip("+-").isdigit() else float(number)
            return Q_(magnitude, _unit(unit))
        except (pint.UndefinedUnitError, pint.DefinitionSyntaxError, ValueError, TypeError):
            pass  # let the general parser produce its own error or reading
    return Q_(text)

def parse_quantity(value: object) -> pint.Quantity:
    """Return ``value`` as a Quantity of this registry (accepts Quantity or ``"3.35 TB/s"``)."""
    if isinstance(value, ureg.Quantity):
        return value
    if isinstance(value, pint.Quantity):  # from another registry: re-home it
        return Q_(value.magnitude, str(value.units))
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Q_(value)
    raise TypeError(f"expected a quantity or a string such as '3.35 TB/s', got {value!r}")


def to_si(value: object, unit: str) -> float:
    """Convert ``value`` to a float in ``unit``; a bare number is taken to be in ``unit``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return float(parse_quantity(value).to(unit).magnitude)

"""Published accuracy of quantised models (``catalog/quantization_accuracy.yaml``).

Each row is one published measurement: a model (a catalog key) and the checkpoint actually
evaluated, a storage format and scope, the algorithm, a metric, the unquantised baseline and the
quantised figure, and the source (a key of ``sources.yaml``, with the table). Rows are read
once; a malformed row is a :class:`CatalogError` naming the file and the row.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ..errors import CatalogError, short
from ..vocabulary import BYTES_PER_ELEMENT
from .loader import CATALOG_DIR, read_yaml, sources, split_provenance

#: what a quantisation method narrows: the weights only, or the weights and the activations
QUANT_SCOPES = ("weights", "weights+activations")
_FILE = "catalog/quantization_accuracy.yaml"
_TEXT = ("model", "checkpoint", "method", "scope", "algorithm", "granularity", "metric",
         "better")
_NUMBERS = ("baseline", "quantized")
_CHOICES = {"method": tuple(BYTES_PER_ELEMENT), "scope": QUANT_SCOPES,
            "better": ("lower", "higher")}


@dataclass(frozen=True, slots=True)
class AccuracyRow:
    """One published accuracy figure of a quantised model against its unquantised baseline."""

    model: str
    checkpoint: str
    method: str
    scope: str
    algorithm: str
    granularity: str
    metric: str
    better: str  # "lower" (perplexity) or "higher" (accuracy)
    baseline: float
    quantized: float
    source: str  # a key of sources.yaml
    section: str

    @property
    def delta(self) -> float:
        """Quantised minus baseline, in the metric's units (perplexity points, % points)."""
        return self.quantized - self.baseline

    @property
    def degradation(self) -> float:
        """How much worse the quantised model is (negative when it scored better)."""
        return self.delta if self.better == "lower" else -self.delta

    @property
    def citation(self) -> str:
        """'<title>, <section> (<date>)' of the source."""
        entry = sources()[self.source]
        return f"{entry['title']}, {self.section} ({entry.get('date', 'undated')})"

    @property
    def delta_text(self) -> str:
        """The delta as the source's figures allow: '+0.4', '-0.33', '±0'."""
        if abs(self.delta) < 5e-3:
            return "±0"
        return f"{self.delta:+.2f}".rstrip("0").rstrip(".")

    def text(self) -> str:
        """'WikiText-2 perplexity 6.1 → 6.5 (+0.4), GPTQ group 128 on Meta-Llama-3-8B (base)'."""
        return (f"{self.metric} {self.baseline:g} → {self.quantized:g} ({self.delta_text}), "
                f"{self.algorithm} {self.granularity} on {self.checkpoint}")


def _row(data, i: int, prov: dict) -> AccuracyRow:
    where = f"{_FILE}: rows[{i}]"
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: expected a mapping of fields, got {short(data, 40)}")
    known = set(_TEXT) | set(_NUMBERS)
    extra = sorted(set(data) - known)
    if extra:
        raise CatalogError(f"{where}: unknown field {short(extra[0])}; fields are "
                           f"{', '.join(sorted(known))}, source and section")
    fields = {}
    for name in _TEXT:
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise CatalogError(f"{where}.{name}: expected text, got {short(value, 40)}")
        allowed = _CHOICES.get(name)
        if allowed and value not in allowed:
            raise CatalogError(f"{where}.{name}: must be one of {', '.join(allowed)}, got "
                               f"{short(value)}")
        fields[name] = value
    for name in _NUMBERS:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise CatalogError(f"{where}.{name}: expected a non-negative number, got "
                               f"{short(value, 40)}")
        fields[name] = float(value)
    origin = prov.get(f"rows[{i}].baseline", {})
    if not origin.get("section"):
        raise CatalogError(f"{where}: give the section or table of the source (section: ...)")
    return AccuracyRow(**fields, source=origin["source"], section=origin["section"])


@functools.lru_cache(maxsize=1)
def quantization_accuracy() -> tuple[AccuracyRow, ...]:
    """Every published row of ``catalog/quantization_accuracy.yaml`` (sources resolved)."""
    data = read_yaml(CATALOG_DIR / "quantization_accuracy.yaml")
    plain, prov = split_provenance(data, _FILE)
    rows = plain.get("rows")
    if set(plain) != {"rows"} or not isinstance(rows, list):
        raise CatalogError(f"{_FILE}: expected one key, rows: a list of measurements")
    return tuple(_row(r, i, prov) for i, r in enumerate(rows))


def accuracy_for(model_key: str | None, method: str, scope: str) -> tuple[AccuracyRow, ...]:
    """The published rows of one catalog model at one format and scope (may be empty)."""
    if model_key is None:
        return ()
    return tuple(r for r in quantization_accuracy()
                 if r.model == model_key and r.method == method and r.scope == scope)

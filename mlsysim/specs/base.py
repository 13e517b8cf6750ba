"""Base class for every catalog spec, and the provenance record attached to catalog numbers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Precision = Literal["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4", "fp4"]


class Spec(BaseModel):
    """Frozen, strict base: unknown keys fail loudly (``extra="forbid"``)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, validate_default=True
    )


class Provenance(Spec):
    """Where one catalog number comes from.

    ``source`` is a key of ``catalog/sources.yaml``; ``kind`` says whether the number is a vendor
    specification, a measurement, an estimate (``note`` then gives the reasoning) or derived from
    other numbers. ``sparsity`` is required on FLOP rates: the catalog stores dense peaks only.
    """

    source: str
    kind: Literal["spec", "measured", "estimate", "derived"] = "spec"
    section: str | None = None
    note: str | None = None
    sparsity: Literal["dense", "sparse"] | None = None


class Sourced(Spec):
    """Mixin for specs loaded from the catalog: per-field provenance keyed by dotted path."""

    provenance: dict[str, Provenance] = Field(default_factory=dict, repr=False)

    def source_of(self, path: str) -> Provenance | None:
        """Provenance of the number at dotted ``path`` (e.g. ``"memory.bandwidth"``)."""
        return self.provenance.get(path)

"""Base class for every catalog spec, and the provenance record attached to catalog numbers."""

from __future__ import annotations

import math
from functools import cached_property
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ..errors import short
from ..vocabulary import PRECISIONS

Precision = Literal[PRECISIONS]

#: Largest count a spec accepts: every integer is used as a float by the engine, and floats
#: are exact up to 2^53 (a 400-digit "layers" would overflow the first float conversion).
MAX_INT = 2**53


def _not_boolean(value):
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {str(value).lower()} (YAML reads "
                         "true/false, yes/no and on/off as booleans)")
    return value


def _fits_a_float(value: int | None) -> int | None:
    if value is not None and abs(value) > MAX_INT:
        raise ValueError(f"{short(value, 30)} is too large: a count is at most 2^53 "
                         f"(about {float(MAX_INT):.1e})")
    return value


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


#: A whole number (a count, a year): booleans refused, at most 2^53 in magnitude.
Int = Annotated[int, BeforeValidator(_not_boolean), AfterValidator(_fits_a_float)]
#: A finite real number; booleans refused.
Float = Annotated[float, BeforeValidator(_not_boolean), Field(allow_inf_nan=False)]
# The optional forms keep their checks outside the union, so that the field's annotation
# reads plainly as ``int | None`` (the API reference prints it).
OptionalInt = Annotated[int | None, BeforeValidator(_not_boolean), AfterValidator(_fits_a_float)]
OptionalFloat = Annotated[float | None, BeforeValidator(_not_boolean), AfterValidator(_finite)]
#: A fraction in (0, 1]: an efficiency.
Fraction = Annotated[Float, Field(gt=0, le=1)]


class Spec(BaseModel):
    """Frozen, strict base: unknown keys fail loudly (``extra="forbid"``)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, validate_default=True,
        defer_build=True,  # a schema is built on first use: a first result builds only its own
    )

    def replace(self, changes: dict | None = None, **fields):
        """A validated copy with some fields changed; nested fields by dotted path.

        ``H100.replace({"memory.bandwidth": "6.7 TB/s"}, name="H100 with 2x HBM")``.
        Unlike ``model_copy(update=...)`` the new values are validated and converted, and no
        cached derived value (``si``, ``ridge_point``) is carried over from the original."""
        data = self.model_dump(exclude={"provenance"}, exclude_unset=True)
        changed = {**(changes or {}), **fields}
        for path, value in changed.items():
            if not isinstance(path, str):
                raise TypeError(f"replace: field paths are strings such as 'memory.bandwidth', "
                                f"got {short(path)}")
            *parents, leaf = path.split(".")
            node = data
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise ValueError(f"{short(path)}: {short(part)} is not a nested spec of "
                                     f"{type(self).__name__}")
                node = node[part]
            node[leaf] = value
        prov = getattr(self, "provenance", None)
        if prov is not None:
            data["provenance"] = {k: v for k, v in prov.items()
                                  if not any(k == p or k.startswith(p + ".") for p in changed)}
        return type(self).model_validate(data)

    def model_copy(self, *, update=None, deep=False):
        """As pydantic's, but derived values cached on the original are recomputed."""
        copy = super().model_copy(update=update, deep=deep)
        for name in ("si", "ridge_point", "parameter_count", "active_parameters",
                     "estimate_notes", "calibration", "shapes"):
            copy.__dict__.pop(name, None)
        return copy


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

    @cached_property
    def estimate_notes(self) -> dict[str, str]:
        """Dotted path → reasoning, for every number of this entry that is an estimate."""
        return {path: p.note or "" for path, p in self.provenance.items() if p.kind == "estimate"}

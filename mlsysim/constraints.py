"""Structured feasibility constraints with a readable ``str``.

A :class:`Constraint` records which resource a configuration exceeds, how much it needs, how
much there is, and the smallest number of devices that would hold it. It *is* a ``str`` (its
sentence), so ``"at least 5 devices" in result.constraint_trace[0]`` and ``"; ".join(trace)``
keep working, while code reads the numbers from its attributes.
"""

from __future__ import annotations

import math

from .formatting import format_bytes


class Constraint(str):
    """One violated constraint: needs ``needed`` of ``resource``, has ``available``."""

    resource: str
    needed: float
    available: float
    devices: int | None
    parts: tuple[tuple[str, float], ...]
    scope: str

    def __new__(cls, resource: str, needed: float, available: float, devices: int | None = None,
                parts: tuple[tuple[str, float], ...] = (), scope: str = "",
                unit: str = "bytes", detail: str = ""):
        if unit == "bytes":
            need, have, over = (format_bytes(needed), format_bytes(available),
                                format_bytes(needed - available))
        else:
            need, have, over = (f"{needed:,.0f} {unit}", f"{available:,.0f} {unit}",
                                f"{needed - available:,.0f} {unit}")
        listed = ", ".join(f"{name} {format_bytes(v)}" for name, v in parts if v)
        text = (f"{scope}{resource}: needs {need}" + (f" ({listed})" if listed else "")
                + f", has {have} (over by {over})")
        if detail:
            text += f"; {detail}"
        if devices is not None:
            text += f": at least {devices:,} devices" + (" in all" if scope else "")
        self = super().__new__(cls, text)
        self.resource, self.needed, self.available = resource, float(needed), float(available)
        self.devices, self.parts, self.scope = devices, tuple(parts), scope
        return self

    @property
    def excess(self) -> float:
        return self.needed - self.available

    def to_dict(self) -> dict:
        return {"resource": self.resource, "needed": self.needed, "available": self.available,
                "devices": self.devices, "text": str(self)}


def devices_needed(footprint: float, capacity: float) -> int:
    """Smallest device count whose pooled capacity holds ``footprint``."""
    if capacity <= 0:
        raise ValueError("capacity must be positive")
    return max(1, math.ceil(footprint / capacity))


def memory_constraint(parts: dict, capacity: float, devices: int = 1,
                      resource: str = "memory") -> tuple[Constraint, ...]:
    """() when the footprint ``parts`` (per device, of ``devices`` sharing the step) fit
    ``capacity``, else one :class:`Constraint` whose device count holds the whole step."""
    need = float(sum(parts.values()))
    if need <= capacity:
        return ()
    scope = f"per device (1 of {devices}): " if devices > 1 else ""
    labels = {"weights": "weights", "kv_cache": "KV cache", "activations": "activations",
              "optimizer": "optimizer state"}
    listed = tuple((labels.get(k, k), float(v)) for k, v in parts.items())
    return (Constraint(resource, need, capacity, devices_needed(need * devices, capacity),
                       listed, scope),)

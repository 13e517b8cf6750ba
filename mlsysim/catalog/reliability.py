"""Published failure counts and checkpoint storage (``catalog/reliability.yaml``).

A :class:`FailureSet` is one observed training run: its fleet, its window and its
interruptions by root cause, each charged per GPU or per server. Rates are derived here
(count / (units observed · seconds observed)), never typed. A :class:`StorageSpec` is a file
system a job checkpoints to. Read once; a malformed entry is a one-line CatalogError.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ..errors import CatalogError, UnknownNameError, short
from .loader import CATALOG_DIR, read_yaml, sources, split_provenance

_FILE = "catalog/reliability.yaml"
UNITS = ("gpu", "server")
_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class FailureCause:
    cause: str
    category: str
    count: int
    per: str  # "gpu" or "server"
    rate: float  # failures per unit per second


@dataclass(frozen=True, slots=True)
class FailureSet:
    """Interruptions of one observed run, by cause; ``rate`` of each cause per unit and s."""

    key: str
    name: str
    gpus: int
    gpus_per_server: int
    days: float
    interruptions: int
    causes: tuple[FailureCause, ...]
    source: str
    section: str
    note: str

    @property
    def servers(self) -> float:
        return self.gpus / self.gpus_per_server

    @property
    def citation(self) -> str:
        entry = sources()[self.source]
        return f"{entry['title']}, {self.section} ({entry.get('date', 'undated')})"

    def failure_rate(self, gpus: float, servers: float) -> float:
        """λ (1/s) of a fleet of ``gpus`` accelerators in ``servers`` hosts."""
        return sum(c.rate * (gpus if c.per == "gpu" else servers) for c in self.causes)

    def rates_by_category(self, gpus: float, servers: float) -> dict[str, float]:
        out: dict[str, float] = {}
        for c in self.causes:
            out[c.category] = out.get(c.category, 0.0) + c.rate * (
                gpus if c.per == "gpu" else servers)
        return out


@dataclass(frozen=True, slots=True)
class StorageSpec:
    key: str
    name: str
    sustained_bandwidth: float  # B/s
    peak_bandwidth: float  # B/s
    source: str
    section: str
    note: str

    @property
    def citation(self) -> str:
        entry = sources()[self.source]
        return f"{entry['title']}, {self.section} ({entry.get('date', 'undated')})"


def _count(where: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CatalogError(f"{where}: expected a positive integer, got {short(value, 40)}")
    return value


def _text(where: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise CatalogError(f"{where}: expected text, got {short(value, 40)}")
    return value


def _failure_set(key: str, data, prov: dict) -> FailureSet:
    where = f"{_FILE}: failure_sets.{key}"
    if not isinstance(data, dict) or set(data) != {"name", "observed", "note", "causes"}:
        raise CatalogError(f"{where}: expected name, source, section, observed, note, causes")
    obs = data["observed"]
    if not isinstance(obs, dict) or set(obs) != {"gpus", "gpus_per_server", "days",
                                                 "unexpected_interruptions"}:
        raise CatalogError(f"{where}.observed: expected gpus, gpus_per_server, days, "
                           "unexpected_interruptions")
    gpus = _count(f"{where}.observed.gpus", obs["gpus"])
    per_server = _count(f"{where}.observed.gpus_per_server", obs["gpus_per_server"])
    days = _count(f"{where}.observed.days", obs["days"])
    total = _count(f"{where}.observed.unexpected_interruptions",
                   obs["unexpected_interruptions"])
    seconds = days * _DAY
    causes = []
    for i, c in enumerate(data["causes"] if isinstance(data["causes"], list) else ()):
        at = f"{where}.causes[{i}]"
        if not isinstance(c, dict) or set(c) != {"cause", "category", "count", "per"}:
            raise CatalogError(f"{at}: expected cause, category, count, per")
        if c["per"] not in UNITS:
            raise CatalogError(f"{at}.per: must be one of {', '.join(UNITS)}, got "
                               f"{short(c['per'])}")
        units = gpus if c["per"] == "gpu" else gpus / per_server
        n = _count(f"{at}.count", c["count"])
        causes.append(FailureCause(_text(f"{at}.cause", c["cause"]),
                                   _text(f"{at}.category", c["category"]), n, c["per"],
                                   n / (units * seconds)))
    if not causes or sum(c.count for c in causes) != total:
        raise CatalogError(f"{where}: the causes' counts must sum to the "
                           f"{total} unexpected interruptions")
    origin = prov.get(f"failure_sets.{key}.observed.gpus", {})
    return FailureSet(key, _text(f"{where}.name", data["name"]), gpus, per_server, days, total,
                      tuple(causes), origin["source"], _text(f"{where}.section",
                                                             origin.get("section")),
                      _text(f"{where}.note", data["note"]))


def _bandwidth(where: str, value) -> float:
    from ..units import checked
    try:
        return float(checked(value, "B/s", where).to("B/s").magnitude)
    except ValueError as exc:
        raise CatalogError(f"{_FILE}: {exc}") from None


def _storage(key: str, data, prov: dict) -> StorageSpec:
    where = f"{_FILE}: storage.{key}"
    if not isinstance(data, dict) or set(data) != {"name", "sustained_bandwidth",
                                                   "peak_bandwidth", "note"}:
        raise CatalogError(f"{where}: expected name, source, section, sustained_bandwidth, "
                           "peak_bandwidth, note")
    origin = prov.get(f"storage.{key}.sustained_bandwidth", {})
    sustained = _bandwidth(f"storage.{key}.sustained_bandwidth", data["sustained_bandwidth"])
    peak = _bandwidth(f"storage.{key}.peak_bandwidth", data["peak_bandwidth"])
    if not math.isfinite(sustained) or peak < sustained:
        raise CatalogError(f"{where}: peak_bandwidth must be at least sustained_bandwidth")
    return StorageSpec(key, _text(f"{where}.name", data["name"]), sustained, peak,
                       origin["source"], _text(f"{where}.section", origin.get("section")),
                       _text(f"{where}.note", data["note"]))


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, FailureSet], dict[str, StorageSpec]]:
    data = read_yaml(CATALOG_DIR / "reliability.yaml")
    plain, prov = split_provenance(data, _FILE)
    if set(plain) != {"failure_sets", "storage"}:
        raise CatalogError(f"{_FILE}: expected two keys, failure_sets and storage")
    sets = {k: _failure_set(k, v, prov) for k, v in plain["failure_sets"].items()}
    storage = {k: _storage(k, v, prov) for k, v in plain["storage"].items()}
    return sets, storage


def failure_sets() -> dict[str, FailureSet]:
    """Every published failure set, by key (e.g. ``"Llama3_405B"``)."""
    return dict(_load()[0])


def storage_systems() -> dict[str, StorageSpec]:
    """Every checkpoint storage system, by key (e.g. ``"Llama3_Tectonic"``)."""
    return dict(_load()[1])


def failure_set(key) -> FailureSet:
    """One failure set by key; an unknown key lists the known ones."""
    if isinstance(key, FailureSet):
        return key
    sets = _load()[0]
    if not isinstance(key, str) or key not in sets:
        raise UnknownNameError("failure set", str(key), sets)
    return sets[key]


def storage_system(key) -> StorageSpec:
    """One storage system by key; an unknown key lists the known ones."""
    if isinstance(key, StorageSpec):
        return key
    systems = _load()[1]
    if not isinstance(key, str) or key not in systems:
        raise UnknownNameError("storage system", str(key), systems)
    return systems[key]

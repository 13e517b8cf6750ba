"""Result data of :class:`~mlsysim.solvers.economics.EconomicsModel` and
:class:`~mlsysim.solvers.placement.PlacementOptimizer`; no HTML here. Dollars as pint
Quantities in USD, energy in kWh."""

from __future__ import annotations

from dataclasses import dataclass

from .results import Rendered
from .results_sustainability import fmt_duration, fmt_energy, fmt_mass
from .units import Q_

J_PER_KWH = 3.6e6


def fmt_usd(usd: float | None) -> str:
    if usd is None:
        return "—"
    if usd >= 1e6:
        return f"${usd / 1e6:,.3g}M"
    return f"${usd:,.0f}" if usd >= 100 else f"${usd:,.3g}"


def _q(usd):
    return None if usd is None else Q_(usd, "USD")


@dataclass(frozen=True)
class EconomicsResult(Rendered):
    """Costs of one job (``EconomicsModel.solve``): owned TCO and the cloud alternative."""

    system: str
    hardware: str
    region: str
    devices: int
    seconds: float
    duration_from: str
    facility_energy_j: float
    pue: float
    electricity_price: float | None  # USD/kWh; None: no sourced price for the region
    price_from: str
    energy_usd: float | None  # None: the region has no sourced electricity price
    capex_usd: float | None
    maintenance_usd: float | None
    capex_per_device: float | None
    capex_from: str
    lifetime_s: float
    maintenance_fraction: float
    rental_rate: float | None  # USD per device-hour
    rental_from: str
    rental_usd: float | None
    tokens: float | None = None
    tokens_from: str | None = None
    notes: tuple[str, ...] = ()
    feasible: bool = True
    constraint_trace: tuple = ()

    # -- quantities ---------------------------------------------------------------------------
    @property
    def duration(self):
        return Q_(self.seconds, "s").to("day")

    @property
    def energy(self):
        return Q_(self.facility_energy_j / J_PER_KWH, "kWh")

    @property
    def energy_cost(self):
        """The electricity bill, USD; None where the region has no sourced price."""
        return _q(self.energy_usd)

    @property
    def capex(self):
        """Capital charged to the job (amortised), USD; None without a unit cost."""
        return _q(self.capex_usd)

    @property
    def maintenance(self):
        return _q(self.maintenance_usd)

    @property
    def tco_usd(self) -> float | None:
        if self.capex_usd is None or self.energy_usd is None:
            return None
        return self.capex_usd + self.energy_usd + (self.maintenance_usd or 0.0)

    @property
    def tco(self):
        """Owned cost of the job: amortised capital + energy + maintenance (USD)."""
        return _q(self.tco_usd)

    @property
    def cloud_cost(self):
        """Rented: list price per device-hour × device-hours (USD)."""
        return _q(self.rental_usd)

    @property
    def cost_per_run(self):
        """The owned TCO of the job (the cloud cost when no unit cost is known)."""
        return _q(self.tco_usd if self.tco_usd is not None else self.rental_usd)

    def _per_mtok(self, usd):
        if usd is None or not self.tokens:
            return None
        return Q_(usd / self.tokens * 1e6, "USD")

    @property
    def cost_per_million_tokens(self):
        """Owned TCO per million tokens trained or served (USD)."""
        return self._per_mtok(self.tco_usd)

    @property
    def cloud_cost_per_million_tokens(self):
        return self._per_mtok(self.rental_usd)

    # -- display ------------------------------------------------------------------------------
    def _title(self) -> str:
        return (f"Cost: {self.devices:,} × {self.hardware} for {fmt_duration(self.seconds)} "
                f"({self.region})")

    def _rows(self):
        rows = [("Owned (TCO)", fmt_usd(self.tco_usd)),
                ("Cloud (rented)", fmt_usd(self.rental_usd))]
        if self.tokens:
            rows += [(f"Per million tokens {self.tokens_from}, owned",
                      fmt_usd(None if self.tco_usd is None
                              else self.tco_usd / self.tokens * 1e6)),
                     (f"Per million tokens {self.tokens_from}, cloud",
                      fmt_usd(None if self.rental_usd is None
                              else self.rental_usd / self.tokens * 1e6))]
        rows += [("Duration", f"{fmt_duration(self.seconds)} ({self.duration_from})"),
                 ("Facility energy", f"{fmt_energy(self.facility_energy_j)} at PUE "
                                     f"{self.pue:g}")]
        return rows

    def _tables(self):
        from .render import TableData
        life_y = self.lifetime_s / (365.25 * 86400)
        rows = (("Capital (amortised)", fmt_usd(self.capex_usd),
                 "—" if self.capex_per_device is None else
                 f"{fmt_usd(self.capex_per_device)}/device over {life_y:g} y; "
                 f"{self.capex_from}"),
                ("Energy", fmt_usd(self.energy_usd),
                 self.price_from if self.electricity_price is None else
                 f"${self.electricity_price:.4g}/kWh; {self.price_from}"),
                ("Maintenance", fmt_usd(self.maintenance_usd),
                 f"at {self.maintenance_fraction:.0%} of capital per year"),
                ("Total (TCO)", fmt_usd(self.tco_usd), ""),
                ("Cloud alternative", fmt_usd(self.rental_usd),
                 "—" if self.rental_rate is None else
                 f"${self.rental_rate:.3g}/device-h; {self.rental_from}"))
        return (TableData(("Item", "Cost", "Basis"), rows, caption="Cost of the job"),)

    def _notes(self):
        return self.notes

    def _fields(self) -> dict:
        return {"system": self.system, "hardware": self.hardware, "region": self.region,
                "devices": self.devices, "duration": self.duration,
                "duration_from": self.duration_from, "energy": self.energy, "pue": self.pue,
                "electricity_price": None if self.electricity_price is None
                else Q_(self.electricity_price, "USD/kWh"),
                "energy_cost": self.energy_cost, "capex": self.capex,
                "maintenance": self.maintenance, "tco": self.tco,
                "cloud_cost": self.cloud_cost,
                "cloud_price_per_device_hour": None if self.rental_rate is None
                else Q_(self.rental_rate, "USD/h"),
                "tokens": self.tokens, "cost_per_million_tokens": self.cost_per_million_tokens,
                "cloud_cost_per_million_tokens": self.cloud_cost_per_million_tokens,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class PlacementRow:
    region: str
    name: str
    emissions_kg: float
    energy_j: float
    cost_usd: float | None


@dataclass(frozen=True)
class PlacementResult(Rendered):
    """Every region's emissions and energy cost for one job, and the best for ``objective``
    (``PlacementOptimizer.solve``). ``best`` lists every region tied at the optimum."""

    objective: str
    job: str
    rows: tuple[PlacementRow, ...]
    best: tuple[str, ...]
    notes: tuple[str, ...] = ()
    feasible: bool = True
    constraint_trace: tuple = ()

    @property
    def region(self) -> str:
        """The first region at the optimum (see ``best`` and ``tied`` for ties)."""
        return self.best[0]

    @property
    def tied(self) -> bool:
        return len(self.best) > 1

    def row(self, region: str) -> PlacementRow:
        for r in self.rows:
            if r.region == region:
                return r
        raise KeyError(f"no region {region!r}; regions: {', '.join(r.region for r in self.rows)}")

    @property
    def emissions(self) -> dict:
        return {r.region: Q_(r.emissions_kg / 1000, "t") for r in self.rows}

    @property
    def costs(self) -> dict:
        return {r.region: _q(r.cost_usd) for r in self.rows}

    def _title(self) -> str:
        label = "lowest carbon" if self.objective == "carbon" else "lowest cost"
        tie = f" (tied: {', '.join(self.best)})" if self.tied else ""
        return f"Placement by {label}: {self.best[0]}{tie} — {self.job}"

    def _rows(self):
        best = self.row(self.best[0])
        return [("Best region", ", ".join(self.best)),
                ("Emissions there", fmt_mass(best.emissions_kg)),
                ("Energy cost there", fmt_usd(best.cost_usd)),
                ("Regions compared", len(self.rows))]

    def _tables(self):
        from .render import TableData
        rows = tuple((r.region, fmt_energy(r.energy_j), fmt_mass(r.emissions_kg),
                      fmt_usd(r.cost_usd)) for r in self.rows)
        hi = frozenset(i for i, r in enumerate(self.rows) if r.region in self.best)
        return (TableData(("Region", "Facility energy", "Emissions", "Energy cost"), rows,
                          caption=f"Every region, sorted by {self.objective}",
                          highlight=hi),)

    def _notes(self):
        return self.notes

    def _fields(self) -> dict:
        return {"objective": self.objective, "job": self.job, "best": list(self.best),
                "tied": self.tied,
                "regions": [{"region": r.region, "energy": Q_(r.energy_j / J_PER_KWH, "kWh"),
                             "emissions": Q_(r.emissions_kg / 1000, "t"),
                             "energy_cost": _q(r.cost_usd)} for r in self.rows],
                "notes": list(self.notes)}

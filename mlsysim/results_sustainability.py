"""Result data of :class:`~mlsysim.solvers.sustainability.SustainabilityModel`; no HTML here.

SI floats inside (W, J, kg, L, s); pint Quantities outside: energy in kWh (or MWh), emissions
in t CO2e (a mass of CO2-equivalent), water in L.
"""

from __future__ import annotations

from dataclasses import dataclass

from .results import Rendered
from .units import Q_

J_PER_KWH = 3.6e6


def fmt_energy(joules: float) -> str:
    kwh = joules / J_PER_KWH
    for unit, scale in (("GWh", 1e6), ("MWh", 1e3)):
        if kwh >= scale:
            return f"{kwh / scale:,.3g} {unit}" if kwh / scale < 1000 else \
                f"{kwh / scale:,.0f} {unit}"
    return f"{kwh:,.3g} kWh" if kwh < 1000 else f"{kwh:,.0f} kWh"


def fmt_mass(kg: float) -> str:
    if kg >= 1000:
        t = kg / 1000
        return f"{t:,.3g} t CO2e" if t < 1000 else f"{t:,.0f} t CO2e"
    return f"{kg:,.3g} kg CO2e"


def fmt_water(litres: float) -> str:
    if litres >= 1e6:
        return f"{litres / 1e6:,.3g} ML"
    return f"{litres:,.3g} L" if litres < 1000 else f"{litres:,.0f} L"


def fmt_power(watts: float) -> str:
    for unit, scale in (("MW", 1e6), ("kW", 1e3)):
        if watts >= scale:
            return f"{watts / scale:,.3g} {unit}"
    return f"{watts:,.3g} W"


def fmt_duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.3g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:,.3g} h"
    return f"{seconds:,.3g} s"


@dataclass(frozen=True)
class SustainabilityResult(Rendered):
    """Energy, emissions and water of one job in one region (``SustainabilityModel.solve``)."""

    system: str
    hardware: str
    region: str
    region_name: str
    devices: int
    nodes: int
    seconds: float
    duration_from: str
    power_model: str
    device_w: float
    host_w: float  # per node
    it_w: float
    pue: float
    intensity_g_per_kwh: float
    wue_l_per_kwh: float | None
    it_energy_j: float
    facility_energy_j: float
    operational_kg: float
    water_l: float | None
    embodied_kg: float | None
    tokens: float | None = None
    notes: tuple[str, ...] = ()
    feasible: bool = True
    constraint_trace: tuple = ()

    # -- quantities ---------------------------------------------------------------------------
    @property
    def duration(self):
        return Q_(self.seconds, "s").to("day")

    @property
    def device_power(self):
        return Q_(self.device_w, "W")

    @property
    def it_power(self):
        return Q_(self.it_w, "W").to("kW")

    @property
    def it_energy(self):
        """Energy of the devices and hosts (kWh)."""
        return Q_(self.it_energy_j / J_PER_KWH, "kWh")

    @property
    def energy(self):
        """Facility energy: IT energy × PUE (kWh)."""
        return Q_(self.facility_energy_j / J_PER_KWH, "kWh")

    @property
    def operational_emissions(self):
        """Facility energy × grid carbon intensity (t CO2e)."""
        return Q_(self.operational_kg / 1000, "t")

    @property
    def embodied_emissions(self):
        return None if self.embodied_kg is None else Q_(self.embodied_kg / 1000, "t")

    @property
    def emissions(self):
        """Operational plus embodied (where given) emissions (t CO2e)."""
        return Q_((self.operational_kg + (self.embodied_kg or 0.0)) / 1000, "t")

    @property
    def water(self):
        """On-site water: IT energy × WUE (L); None without a WUE."""
        return None if self.water_l is None else Q_(self.water_l, "L")

    @property
    def carbon_intensity(self):
        return Q_(self.intensity_g_per_kwh, "g/kWh")

    # -- display ------------------------------------------------------------------------------
    def _title(self) -> str:
        return (f"Energy and carbon: {self.devices:,} × {self.hardware} for "
                f"{fmt_duration(self.seconds)} in {self.region_name}")

    def _rows(self):
        rows = [("Facility energy", fmt_energy(self.facility_energy_j)),
                ("Emissions (operational)", fmt_mass(self.operational_kg))]
        if self.embodied_kg is not None:
            rows += [("Emissions (embodied share)", fmt_mass(self.embodied_kg)),
                     ("Emissions (total)", fmt_mass(self.operational_kg + self.embodied_kg))]
        rows += [("Water (on site)", "not estimated" if self.water_l is None
                  else fmt_water(self.water_l)),
                 ("Duration", f"{fmt_duration(self.seconds)} ({self.duration_from})"),
                 ("Device power", self.power_model),
                 ("Grid", f"{self.intensity_g_per_kwh:,.4g} g/kWh, PUE {self.pue:g}"
                  + ("" if self.wue_l_per_kwh is None else f", WUE {self.wue_l_per_kwh:g} L/kWh"))]
        return rows

    def _tables(self):
        from .render import TableData
        dev_w = self.devices * self.device_w
        host_w = self.nodes * self.host_w
        over_w = self.it_w * (self.pue - 1)
        total = self.it_w * self.pue
        ci = self.intensity_g_per_kwh / 1000  # kg per kWh
        rows = []
        for label, w in ((f"Devices ({self.devices:,})", dev_w),
                         (f"Hosts ({self.nodes:,} nodes)", host_w),
                         (f"Facility overhead (PUE {self.pue:g})", over_w)):
            j = w * self.seconds
            rows.append((label, fmt_power(w), fmt_energy(j), fmt_mass(j / J_PER_KWH * ci),
                         f"{w / total:.0%}" if total else ""))
        rows.append(("Total", fmt_power(total), fmt_energy(self.facility_energy_j),
                     fmt_mass(self.operational_kg), "100%"))
        return (TableData(("Part", "Power", "Energy", "Emissions", "Share"), tuple(rows),
                          caption="Where the energy goes"),)

    def _notes(self):
        return self.notes

    def _fields(self) -> dict:
        return {"system": self.system, "hardware": self.hardware, "region": self.region,
                "devices": self.devices, "nodes": self.nodes, "duration": self.duration,
                "duration_from": self.duration_from, "power_model": self.power_model,
                "device_power": self.device_power, "host_power_per_node": Q_(self.host_w, "W"),
                "it_power": self.it_power, "pue": self.pue,
                "carbon_intensity": self.carbon_intensity,
                "wue": None if self.wue_l_per_kwh is None else Q_(self.wue_l_per_kwh, "L/kWh"),
                "it_energy": self.it_energy, "energy": self.energy,
                "operational_emissions": self.operational_emissions,
                "embodied_emissions": self.embodied_emissions, "emissions": self.emissions,
                "water": self.water, "notes": list(self.notes)}

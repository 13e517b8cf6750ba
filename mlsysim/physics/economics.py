"""Cost of owning or renting accelerators for a job: pure functions on SI floats.

Owned hardware (total cost of ownership, TCO): capital cost amortised straight-line over a
stated service life and charged for the hours a job holds it; energy = facility energy (kWh) x
price per kWh; maintenance = a stated fraction of the capital cost per year, charged the same
way. Rented hardware: price per device-hour x device-hours. Dollars per million tokens =
cost per second / tokens per second x 1e6.
"""

from __future__ import annotations

S_PER_YEAR = 365.25 * 24 * 3600  # a Julian year, as pint's "year"
J_PER_KWH = 3.6e6


def amortised_capex(unit_cost_usd: float, units: float, seconds: float,
                    lifetime_s: float) -> float:
    """Capital cost charged to a job (USD): units x unit cost x seconds / service life."""
    return unit_cost_usd * units * seconds / lifetime_s


def energy_cost(facility_energy_j: float, price_usd_per_kwh: float) -> float:
    """Electricity bill (USD): facility energy (kWh) x price per kWh."""
    return facility_energy_j / J_PER_KWH * price_usd_per_kwh


def maintenance_cost(capex_usd: float, fraction_per_year: float, seconds: float) -> float:
    """Maintenance (USD): a fraction of the capital cost per year, for ``seconds`` of it."""
    return capex_usd * fraction_per_year * seconds / S_PER_YEAR


def rental_cost(price_usd_per_device_hour: float, devices: float, seconds: float) -> float:
    """Cloud rental (USD): price per device-hour x devices x hours."""
    return price_usd_per_device_hour * devices * seconds / 3600.0


def cost_per_million_tokens(cost_usd: float, seconds: float, tokens_per_s: float) -> float:
    """USD per million tokens of a job that processes ``tokens_per_s`` for ``seconds``."""
    return cost_usd / (seconds * tokens_per_s) * 1e6

"""Energy, emissions and water of a job: pure functions on SI floats (no pint, no pydantic).

Power model (stated, linear in utilisation): a device draws ``idle + (tdp - idle) * u`` watts
at activity ``u`` in [0, 1], with ``idle = idle_fraction * tdp``. The published training-energy
estimates this package reproduces take the device at a fixed power instead: its TDP (Luccioni
et al. 2023, BLOOM, §4; Meta's Llama 2 and Llama 3 model cards) or a measured average
(Patterson et al. 2021, Table 4); ``u = 1`` gives the TDP convention.

Accounting (Patterson et al. 2021, §2 and Table 4): IT energy = power x time; facility energy
= IT energy x PUE; operational emissions = facility energy x grid carbon intensity. Water uses
The Green Grid's WUE, which is defined per unit of *IT* energy (site water / IT energy), so
water = IT energy x WUE. Embodied carbon is amortised linearly over a device's service life.
"""

from __future__ import annotations

J_PER_KWH = 3.6e6
S_PER_HOUR = 3600.0


def device_power(tdp_w: float, utilization: float, idle_fraction: float) -> float:
    """Average power of one device (W): idle + (TDP - idle) * utilisation."""
    idle = idle_fraction * tdp_w
    return idle + (tdp_w - idle) * utilization


def it_power(device_w: float, devices: float, host_w_per_node: float, nodes: float) -> float:
    """IT power of a job (W): its devices plus the host share of the nodes that hold them."""
    return devices * device_w + nodes * host_w_per_node


def facility_energy(it_energy_j: float, pue: float) -> float:
    """Energy drawn by the facility (J): IT energy x PUE (cooling, power conversion, lights)."""
    return it_energy_j * pue


def operational_emissions(facility_energy_j: float, intensity_g_per_kwh: float) -> float:
    """Operational emissions (kg CO2e): facility energy (kWh) x grid intensity (g/kWh) / 1000."""
    return facility_energy_j / J_PER_KWH * intensity_g_per_kwh / 1000.0


def water_use(it_energy_j: float, wue_l_per_kwh: float) -> float:
    """On-site water (L): IT energy (kWh) x WUE (L per kWh of IT energy, The Green Grid)."""
    return it_energy_j / J_PER_KWH * wue_l_per_kwh


def embodied_share(embodied_kg_per_device: float, devices: float, seconds: float,
                   lifetime_s: float) -> float:
    """Embodied emissions charged to a job (kg CO2e): each device's manufacturing footprint
    times the fraction of its service life the job occupies (linear amortisation)."""
    return embodied_kg_per_device * devices * seconds / lifetime_s

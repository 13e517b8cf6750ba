"""Electricity grids and datacenter efficiency: carbon intensity, PUE, water use."""

from __future__ import annotations

from pydantic import Field

from .base import Float, Sourced
from .quantity import QuantityField

CarbonIntensity = QuantityField("g/kWh")
WaterIntensity = QuantityField("L/kWh", allow_zero=True)
EnergyPrice = QuantityField("USD/kWh")


class GridSpec(Sourced):
    """A region's grid (gCO2e per kWh) and a datacenter's PUE and water usage (WUE)."""

    name: str
    key: str | None = None
    region: str | None = None
    carbon_intensity: CarbonIntensity
    pue: Float = Field(ge=1.0, le=3.0)
    wue: WaterIntensity | None = None
    #: average price of electricity to industrial customers (USD/kWh), dated and sourced
    electricity_price: EnergyPrice | None = None

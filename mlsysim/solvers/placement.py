"""``PlacementOptimizer``: the region where a job emits least, or whose electricity costs least.

One job (as :class:`SustainabilityModel` and :class:`EconomicsModel` take it) is evaluated in
every region of ``mlsysim.Infra`` (or the ``regions`` given): facility energy with the region's
PUE, emissions at its carbon intensity, and the energy bill at its sourced industrial price (or
``electricity_price`` for every region). Capital and cloud rental do not depend on the region in
this model, so the cost objective compares energy bills; regions without a price are left out of
a cost ranking (and said so). Every region tied at the optimum is reported.
"""

from __future__ import annotations

from ..physics import economics as econ
from .inputs import shown
from .sustainability import SustainabilityModel, quantity, resolve_region

OBJECTIVES = ("carbon", "cost")
#: relative tolerance within which two regions are tied
TIE_RTOL = 1e-9


class PlacementOptimizer:
    """Rank regions for one job by carbon or by energy cost (stateless)."""

    def solve(self, system=None, duration=None, *, objective="carbon", regions=None,
              electricity_price=None, **job):
        """Every region's energy, emissions and energy cost for the job; the best for
        ``objective`` ('carbon' or 'cost'). ``job`` takes SustainabilityModel's arguments
        (training, tokens, devices, utilization, idle_fraction, device_power, host_power)."""
        from ..results_economics import PlacementResult, PlacementRow
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got "
                             f"{shown(objective)}")
        for fixed in ("region", "pue", "carbon_intensity", "wue"):
            if fixed in job:
                raise ValueError(f"{fixed} is set by each region in a placement; leave it out")
        if regions is None:
            from ..catalog import Infra
            grids = Infra.all()
        else:
            if isinstance(regions, str) or not hasattr(regions, "__iter__"):
                raise ValueError(f"regions must be a list of region names, got {shown(regions)}")
            grids = [resolve_region(r) for r in regions]
            if not grids:
                raise ValueError("regions must name at least one region")
        price = (None if electricity_price is None else
                 quantity("electricity_price", electricity_price, "USD/kWh", "'0.08 USD/kWh'"))
        model = SustainabilityModel()
        rows, notes, label = [], [], ""
        for g in grids:
            r = model.solve(system, duration, region=g, **job)
            label = f"{r.devices:,} × {r.hardware} for {r.duration:~.3g}"
            kwh_price = price if price is not None else (
                None if g.electricity_price is None
                else float(g.electricity_price.to("USD/kWh").magnitude))
            cost = None if kwh_price is None else econ.energy_cost(r.facility_energy_j, kwh_price)
            rows.append(PlacementRow(g.key or g.name, g.name, r.operational_kg,
                                     r.facility_energy_j, cost))
        if objective == "carbon":
            ranked = sorted(rows, key=lambda r: r.emissions_kg)
            value = [r.emissions_kg for r in ranked]
        else:
            priced = [r for r in rows if r.cost_usd is not None]
            if not priced:
                raise ValueError("no region has a sourced electricity price: pass "
                                 "electricity_price (e.g. '0.08 USD/kWh')")
            unpriced = [r.region for r in rows if r.cost_usd is None]
            if unpriced:
                notes.append(f"left out of the cost ranking (no sourced electricity price; "
                             f"pass electricity_price): {', '.join(unpriced)}")
            ranked = sorted(priced, key=lambda r: r.cost_usd) + \
                [r for r in rows if r.cost_usd is None]
            value = [r.cost_usd for r in ranked[:len(priced)]]
        low = value[0]
        best = tuple(r.region for r, v in zip(ranked, value, strict=False)
                     if v <= low * (1 + TIE_RTOL) + 1e-300)
        notes.append("energy cost only: capital and cloud rental do not depend on the region "
                     "here" if objective == "cost" else
                     "operational emissions (facility energy × grid intensity); embodied "
                     "carbon does not depend on the region")
        return PlacementResult(objective, label, tuple(ranked), best, tuple(notes))

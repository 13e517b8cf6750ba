"""``EconomicsModel``: what a job costs on owned hardware (TCO) and rented in the cloud.

Owned: capital cost amortised over ``lifetime`` for the job's hours, the electricity its facility
energy draws (the same energy :class:`SustainabilityModel` computes: power model, hosts, PUE) at
a price per kWh (the region's sourced industrial price, or ``electricity_price``), and
maintenance as a stated fraction of capital per year. Rented: the device's dated list price per
hour × device-hours. The duration is given, or a ``DistributedModel`` result's
``time_to_train(tokens)``; dollars per million tokens use the tokens trained, or a serving
throughput (``tokens_per_second`` or a serving result's ``tokens_per_sec``).
"""

from __future__ import annotations

from dataclasses import replace
from numbers import Real

from ..physics import economics as econ
from ..physics import sustainability as phys
from .inputs import seconds as to_seconds
from .inputs import shown
from .sustainability import (
    IDLE_FRACTION,
    power_of,
    pue_of,
    quantity,
    resolve_job,
    resolve_region,
    unit_fraction,
)

#: a grid with a sourced electricity price (the others: California)
DEFAULT_REGION = "US_Average"


def _throughput(tokens_per_second, serving) -> float | None:
    if tokens_per_second is not None and serving is not None:
        raise ValueError("give tokens_per_second or serving, not both")
    if serving is not None:
        tps = getattr(serving, "tokens_per_sec", None)
        if tps is None:
            raise ValueError(f"serving must be a serving result with tokens_per_sec (e.g. "
                             f"ServingModel().solve(...)), got {type(serving).__name__}")
        value = tps.to("token/s").magnitude if hasattr(tps, "to") else tps
        if not value or value <= 0:
            raise ValueError("the serving result has no throughput (it does not fit or is "
                             "unstable)")
        return float(value)
    if tokens_per_second is None:
        return None
    if isinstance(tokens_per_second, Real) and not isinstance(tokens_per_second, bool):
        if not tokens_per_second > 0 or tokens_per_second == float("inf"):
            raise ValueError(f"tokens_per_second must be positive, got "
                             f"{shown(tokens_per_second)}")
        return float(tokens_per_second)
    return quantity("tokens_per_second", tokens_per_second, "token/s", "'1500 token/s'",
                    allow_zero=False)


def _price_per_kwh(grid, electricity_price) -> tuple[float | None, str]:
    if electricity_price is not None:
        return quantity("electricity_price", electricity_price, "USD/kWh", "'0.08 USD/kWh'"), \
            "given"
    if grid.electricity_price is None:  # the bill and TCO are omitted, with a note
        return None, (f"region {grid.key or grid.name!r} has no sourced electricity price "
                      "(pass electricity_price, e.g. '0.08 USD/kWh')")
    src = grid.source_of("electricity_price")
    return float(grid.electricity_price.to("USD/kWh").magnitude), \
        f"{grid.key} ({src.source if src else 'catalog'})"


def _capex_per_device(job, unit_cost) -> tuple[float | None, str]:
    if unit_cost is not None:
        return quantity("unit_cost", unit_cost, "USD", "'30000 USD'", allow_zero=False), \
            "given, per device"
    node = job.node
    if node is not None and node.unit_cost is not None:
        return float(node.unit_cost.to("USD").magnitude) / node.count, \
            f"{node.name} list price / {node.count} devices (host included)"
    if job.hardware.unit_cost is not None:
        return float(job.hardware.unit_cost.to("USD").magnitude), f"{job.hardware.name} price"
    return None, "no unit cost in the catalog"


def _rental(job, price_per_hour) -> tuple[float | None, str]:
    if price_per_hour is not None:
        return quantity("price_per_hour", price_per_hour, "USD/h", "'2.5 USD/h'",
                        allow_zero=False), "given"
    if job.hardware.price_per_hour is None:
        return None, "no list price in the catalog"
    src = job.hardware.source_of("price_per_hour")
    return float(job.hardware.price_per_hour.to("USD/h").magnitude), \
        f"catalog list price ({src.source if src else 'catalog'})"


class EconomicsModel:
    """Cost of a job: owned (capex + energy + maintenance = TCO) and rented (cloud)."""

    def solve(self, system=None, duration=None, *, region=DEFAULT_REGION, training=None,
              tokens=None, devices=None, tokens_per_second=None, serving=None,
              electricity_price=None, unit_cost=None, lifetime="5 year",
              maintenance_fraction=0.0, price_per_hour=None, utilization=1.0,
              idle_fraction=IDLE_FRACTION, device_power=None, host_power=None, pue=None):
        """Costs of ``system`` running for ``duration`` (or ``training.time_to_train(tokens)``).

        ``unit_cost`` is per device (default: the node's list price shared by its devices,
        else the device's); ``lifetime`` the straight-line amortisation period (5 years is an
        assumption to state, not a sourced constant); ``maintenance_fraction`` a fraction of
        capital per year (0 unless given). ``price_per_hour`` overrides the catalog's dated
        cloud price. With ``tokens_per_second`` or ``serving`` and no duration, one hour is
        costed (dollars per million tokens do not depend on it)."""
        from ..results_economics import EconomicsResult
        tps = _throughput(tokens_per_second, serving)
        served_on = getattr(serving, "devices", None)
        if devices is None and isinstance(served_on, int) and not isinstance(served_on, bool):
            devices = served_on
        per_hour = duration is None and training is None and tps is not None
        job = resolve_job(system, "1 h" if per_hour else duration, training=training,
                          tokens=tokens, devices=devices)
        if per_hour:
            job = replace(job, duration_from="one hour of serving, costed")
        grid = resolve_region(region)
        p = pue_of(grid, pue)
        power = power_of(job, utilization, idle_fraction, device_power, host_power)
        fac_j = phys.facility_energy(power.it_w * job.seconds, p)
        price, price_src = _price_per_kwh(grid, electricity_price)
        life = to_seconds("lifetime", lifetime, example="'5 year'")
        maint = unit_fraction("maintenance_fraction", maintenance_fraction)
        per_dev, capex_src = _capex_per_device(job, unit_cost)
        notes = list(power.notes)
        if price is None:
            notes.append(f"no energy bill or owned cost: {price_src}; the cloud alternative "
                         "does not depend on it")
        if per_dev is None:
            capex = maintenance = None
            notes.append(f"owned cost without capital: {capex_src} for {job.hardware.name} "
                         "(pass unit_cost per device)")
        else:
            capex = econ.amortised_capex(per_dev, job.devices, job.seconds, life)
            maintenance = econ.maintenance_cost(per_dev * job.devices, maint, job.seconds)
            notes.append(f"capital amortised straight-line over {life / econ.S_PER_YEAR:g} "
                         "years (an assumption: pass lifetime)")
        if maint == 0:
            notes.append("maintenance not counted (pass maintenance_fraction per year)")
        rate, rate_src = _rental(job, price_per_hour)
        if rate is None:
            notes.append(f"no cloud alternative: {rate_src} (pass price_per_hour)")
        tokens_done = job.tokens if job.tokens is not None else (
            None if tps is None else tps * job.seconds)
        return EconomicsResult(
            system=job.label, hardware=job.hardware.name, region=grid.key or grid.name,
            devices=job.devices, seconds=job.seconds, duration_from=job.duration_from,
            facility_energy_j=fac_j, pue=p, electricity_price=price, price_from=price_src,
            energy_usd=None if price is None else econ.energy_cost(fac_j, price),
            capex_usd=capex,
            maintenance_usd=maintenance, capex_per_device=per_dev, capex_from=capex_src,
            lifetime_s=life, maintenance_fraction=maint,
            rental_rate=rate, rental_from=rate_src,
            rental_usd=None if rate is None else econ.rental_cost(rate, job.devices,
                                                                  job.seconds),
            tokens=tokens_done, tokens_from=("trained" if job.tokens is not None else
                                             None if tps is None else "served"),
            notes=tuple(notes))

"""mlsysim.fmt picks the unit family a reader expects for energy and water."""


def test_energy_in_watt_hours_and_water_in_litres():
    """An energy given in Wh-based units stays in Wh with a prefix (15,166 MWh = 15.2 GWh; it
    printed as 54.6 TJ) and a volume prints in litres (17.3e6 L = 17.3 ML, not 17,300,000 l);
    joules stay joules."""
    from mlsysim import Q_, fmt

    assert fmt(Q_(15166, "MWh")) == "15.2 GWh"
    assert fmt(Q_(2.5, "kWh")) == "2.50 kWh"
    assert fmt(Q_(17.3e6, "L")) == "17.3 ML"
    assert fmt(Q_(1, "m^3")) == "1.00 kL"  # 1 m³ = 1,000 L
    assert fmt(Q_(5, "J")) == "5.00 J"


def test_carbon_intensity_in_grams_per_kilowatt_hour():
    """A grid intensity published in lb/MWh prints in g/kWh like every other region
    (1 lb/MWh = 453.59237 g / 1,000 kWh)."""
    from mlsysim import Q_, fmt

    assert fmt(Q_(823, "lb/MWh")) == "373 g/kWh"  # 823 × 0.45359 = 373.3
    assert fmt(Q_(56, "g/kWh")) == "56.0 g/kWh"

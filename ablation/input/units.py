"""Quantities with units, as written in scenario files, converted to SI floats.

Scenario values are strings such as ``"3 mm"``, ``"12 min"``, ``"-40 degC"`` or ``"0.0064 1/s"``.
Each scenario field declares a *dimension*; :func:`parse_quantity` checks that the unit written
belongs to that dimension and returns the value in SI (temperatures stay in degC, the toolkit's
one exception to SI: every temperature in the code is degC, kelvin only inside Arrhenius).
"""
from __future__ import annotations

import math
import re

# dimension -> {unit spelling: factor to the SI unit of that dimension}
UNITS: dict[str, dict[str, float]] = {
    "length": {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6},
    "time": {"s": 1.0, "min": 60.0, "h": 3600.0, "ms": 1e-3},
    "temperature": {"degC": 1.0, "C": 1.0, "K": 1.0},  # K is converted with an offset below
    "temperature_difference": {"K": 1.0, "degC": 1.0},
    "rate": {"1/s": 1.0, "1/min": 1.0 / 60.0},
    # Pennes perfusion w_b; the clinical unit mL/min/100 g is in CLINICAL_PERFUSION_UNITS (its
    # conversion needs the tissue density: parse_perfusion)
    "perfusion": {"1/s": 1.0, "1/min": 1.0 / 60.0},
    "thermal_conductivity": {"W/(m K)": 1.0, "W/m/K": 1.0},
    "thermal_conductivity_slope": {"W/(m K^2)": 1.0},
    "specific_heat": {"J/(kg K)": 1.0, "J/kg/K": 1.0},
    "density": {"kg/m^3": 1.0, "g/cm^3": 1000.0},
    "electrical_conductivity": {"S/m": 1.0},
    "heat_transfer_coefficient": {"W/(m^2 K)": 1.0, "W/m^2/K": 1.0},
    "heat_flux": {"W/m^2": 1.0, "W/cm^2": 1e4},
    "heat_per_length": {"W/m": 1.0, "W/cm": 100.0},
    "power_density": {"W/m^3": 1.0},
    "energy_density": {"J/m^3": 1.0, "MJ/m^3": 1e6},
    "specific_energy": {"J/kg": 1.0, "kJ/kg": 1e3},
    "power": {"W": 1.0, "kW": 1e3},
    "voltage": {"V": 1.0},
    "current": {"A": 1.0, "mA": 1e-3},
    "resistance": {"ohm": 1.0},
    "energy": {"J": 1.0, "kJ": 1e3},
    "activation_energy": {"J/mol": 1.0, "kJ/mol": 1e3},
    "angle": {"deg": math.pi / 180.0, "rad": 1.0},
    "per_kelvin": {"1/K": 1.0, "%/K": 0.01},
    "gain_power_per_kelvin": {"W/K": 1.0},
    "gain_power_per_kelvin_second": {"W/(K s)": 1.0},
    "fraction": {"%": 0.01, "1": 1.0},
}

# One example per dimension, used in error messages so that a user sees what to write.
EXAMPLES = {
    "length": "'3 mm'", "time": "'12 min'", "temperature": "'37 degC'",
    "temperature_difference": "'5 K'", "rate": "'0.0064 1/s'",
    "perfusion": "'0.0064 1/s' or '20 mL/min/100g'",
    "thermal_conductivity": "'0.52 W/(m K)'", "thermal_conductivity_slope": "'0.0012 W/(m K^2)'",
    "specific_heat": "'3540 J/(kg K)'", "density": "'1079 kg/m^3'",
    "electrical_conductivity": "'0.2 S/m'", "heat_transfer_coefficient": "'3366 W/(m^2 K)'",
    "heat_flux": "'5000 W/m^2'", "heat_per_length": "'650 W/m'", "power_density": "'1e6 W/m^3'",
    "energy_density": "'250 MJ/m^3'", "specific_energy": "'2260 kJ/kg'", "power": "'200 W'",
    "voltage": "'50 V'", "current": "'2 A'", "resistance": "'30 ohm'", "energy": "'10 kJ'",
    "activation_energy": "'2.577e5 J/mol'", "angle": "'5 deg'", "per_kelvin": "'1.5 %/K'",
    "gain_power_per_kelvin": "'2 W/K'", "gain_power_per_kelvin_second": "'0.2 W/(K s)'",
    "fraction": "'74 %'",
}

# ASCII digits only: Python's \d and float() also take other scripts' digits ('１.5 mm' read as 1.5 mm)
_NUMBER = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*(.*?)\s*$")


ABSOLUTE_ZERO_C = -273.15

# Spellings of the clinical perfusion unit (blood flow per tissue mass, as CT/MR perfusion imaging
# reports it). w_b [1/s] = F [mL/min/100 g] * rho [kg/m^3] / 6e6: F / 6000 mL of blood per g of
# tissue per s, times rho / 1000 g of tissue per mL (docs/physics.md 1: F = 20 -> 3.6e-3 1/s for
# rho = 1079 kg/m^3).
CLINICAL_PERFUSION_UNITS = ("mL/min/100g", "mL/min/100 g", "ml/min/100g", "ml/min/100 g")


class UnitError(ValueError):
    """A value whose number or unit does not fit the expected dimension."""


def perfusion_rate(flow_ml_min_100g: float, density: float) -> float:
    """Pennes perfusion rate w_b (1/s) of a blood flow F (mL/min/100 g) in tissue of ``density`` (kg/m^3)."""
    return flow_ml_min_100g * density / 6e6


def parse_perfusion(text: object) -> tuple[float, bool]:
    """A perfusion as written: (value, clinical). ``clinical`` is True for mL/min/100 g (the value is
    the flow F, converted with the tissue's density by the caller), else the value is w_b in 1/s."""
    if isinstance(text, str):
        match = _QUANTITY.match(text)
        if match and match.group(2) in CLINICAL_PERFUSION_UNITS:
            value = float(match.group(1))
            if not math.isfinite(value):
                raise UnitError(f"{text!r} is not a finite number")
            return value, True
    try:
        return parse_quantity(text, "perfusion"), False
    except UnitError as exc:
        if isinstance(text, str) and "unit" in str(exc):
            raise UnitError(f"{exc}; or mL/min/100g (blood flow per tissue mass)") from None
        raise


def parse_quantity(text: object, dimension: str) -> float:
    """Return ``text`` (e.g. ``"3 mm"``) as an SI float of ``dimension``.

    Dimensionless kinds (``fraction``) also take bare numbers. Temperatures are returned in degC
    (``"310.15 K"`` -> 37.0).
    """
    if dimension not in UNITS:
        raise KeyError(f"unknown dimension {dimension!r}")
    if isinstance(text, bool):
        raise UnitError(f"expected a quantity such as {EXAMPLES[dimension]}, got a boolean")
    if isinstance(text, (int, float)):
        if dimension == "fraction":
            value = float(text)
        else:
            raise UnitError(
                f"{text!r} has no unit; expected a {dimension.replace('_', ' ')} "
                f"such as {EXAMPLES[dimension]}")
    elif isinstance(text, str):
        match = _QUANTITY.match(text)
        if not match:
            raise UnitError(f"{text!r} is not a number with a unit such as {EXAMPLES[dimension]}")
        number, unit = float(match.group(1)), match.group(2)
        table = UNITS[dimension]
        if unit == "" and dimension == "fraction":
            value = number
        elif unit not in table:
            known = ", ".join(sorted(table))
            raise UnitError(
                f"{text!r}: unit {unit or '(none)'!r} is not a {dimension.replace('_', ' ')} "
                f"unit; expected one of {known}, e.g. {EXAMPLES[dimension]}")
        elif dimension == "temperature" and unit == "K":
            value = number - 273.15
        else:
            value = number * table[unit]
    else:
        raise UnitError(f"expected a quantity such as {EXAMPLES[dimension]}, got {type(text).__name__}")
    if not math.isfinite(value):
        raise UnitError(f"{text!r} is not a finite number")
    if dimension == "temperature" and value < ABSOLUTE_ZERO_C:
        raise UnitError(f"{text!r} is below absolute zero (0 K = {ABSOLUTE_ZERO_C:g} degC); expected a "
                        f"temperature such as {EXAMPLES[dimension]}")
    return value


def si_unit(dimension: str) -> str:
    """The unit in which the toolkit stores ``dimension`` internally (for descriptions and reports)."""
    return {"temperature": "degC", "temperature_difference": "K", "length": "m", "time": "s",
            "angle": "rad", "per_kelvin": "1/K", "fraction": "1"}.get(
        dimension, next(u for u, f in UNITS[dimension].items() if f == 1.0))

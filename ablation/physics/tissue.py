"""Tissue property library with sources, and the temperature dependence of its properties.

Every default names its source (docs/physics.md section 1, 2 and 3). Values marked *unverified* were
recalled from the literature without checking the paper: they are starting points, kept
overridable in the scenario (``[tissue]`` and ``[tumors.properties]``).
All values SI; temperatures degC.
"""
from __future__ import annotations

import numpy as np

# name -> {property: (value, source)}
PRESETS: dict[str, dict[str, tuple[float, str]]] = {
    "liver": {
        "density": (1079.0, "IT'IS database (COMSOL 'Liver (human)')"),
        "specific_heat": (3540.0, "IT'IS database"),
        "conductivity": (0.52, "IT'IS database; Hall et al. 2015 range 0.46-0.57"),
        "conductivity_slope": (0.0012, "Berjano-group RFA models (k rises to 100 degC); Hall 2015 range 0-0.0033"),
        "perfusion": (6.4e-3, "Tungjitkusolmun 2002 / Berjano-group liver RFA models (unverified); "
                              "COMSOL/Go-Smart use 3.6e-3: the most uncertain input"),
        "electrical_conductivity": (0.20, "liver ~480 kHz, Hall 2015 range 0.12-0.28"),
        "electrical_conductivity_slope": (0.015, "1.5 %/K, Berjano-group / MITA models (range 1-2 %/K)"),
        "metabolic_heat": (0.0, "negligible against ablation sources (docs/physics.md 1)"),
        "water_content": (0.74, "tissue water mass fraction, Berjano-group models (0.71-0.76)"),
        "frozen_conductivity": (2.0, "docs/physics.md 3: frozen tissue k_f"),
        "frozen_specific_heat": (1800.0, "docs/physics.md 3: frozen tissue c_f"),
        "latent_heat_fusion": (250e6, "333 kJ/kg water x 0.75 (docs/physics.md 3), J/m^3"),
        "solidus_temperature": (-8.0, "mushy range -8 to -1 degC (docs/physics.md 3)"),
        "liquidus_temperature": (-1.0, "mushy range -8 to -1 degC (docs/physics.md 3)"),
    },
    "tumor": {
        "density": (1079.0, "IT'IS liver value (no tumour-specific data)"),
        "specific_heat": (3750.0, "Go-Smart constants-liver.xml (tumour)"),
        "conductivity": (0.50, "IT'IS / Go-Smart tumour"),
        "conductivity_slope": (0.0012, "as liver (Berjano-group models)"),
        "perfusion": (6.4e-3, "no data for CRC metastases: liver value, keep overridable"),
        "electrical_conductivity": (0.40, "Go-Smart tumour"),
        "electrical_conductivity_slope": (0.015, "as liver"),
        "metabolic_heat": (0.0, "negligible"),
        "water_content": (0.74, "as liver"),
        "frozen_conductivity": (2.0, "as liver"),
        "frozen_specific_heat": (1800.0, "as liver"),
        "latent_heat_fusion": (250e6, "as liver"),
        "solidus_temperature": (-8.0, "as liver"),
        "liquidus_temperature": (-1.0, "as liver"),
    },
    # Agar gel for phantom comparisons (Littrup 2009 cryo phantoms): water-like, unperfused.
    "agar": {
        "density": (1000.0, "water-like gel (assumption)"),
        "specific_heat": (4180.0, "water (assumption for 1-2 % agar)"),
        "conductivity": (0.60, "water at ~37 degC (assumption for dilute agar)"),
        "conductivity_slope": (0.0, "neglected"),
        "perfusion": (0.0, "phantom: no perfusion"),
        "electrical_conductivity": (0.20, "not used for cryo; liver value"),
        "electrical_conductivity_slope": (0.0, "neglected"),
        "metabolic_heat": (0.0, "phantom"),
        "water_content": (0.98, "dilute gel"),
        "frozen_conductivity": (2.2, "ice near 0 degC"),
        "frozen_specific_heat": (2050.0, "ice"),
        "latent_heat_fusion": (328e6, "334 kJ/kg x 0.98 water"),
        "solidus_temperature": (-1.0, "nearly pure water: narrow mushy range (assumption)"),
        "liquidus_temperature": (0.0, "water"),
    },
}
# Around the liver ([anatomy] surroundings): perihepatic fat and abdominal wall. IT'IS database values
# recalled, not checked against the database (unverified); the frozen and vaporisation entries are
# assumptions from its low water content.
PRESETS["fat"] = {
    "density": (911.0, "IT'IS database, fat (unverified)"),
    "specific_heat": (2348.0, "IT'IS database, fat (unverified)"),
    "conductivity": (0.21, "IT'IS database, fat (unverified)"),
    "conductivity_slope": (0.0, "neglected (assumption)"),
    "perfusion": (5.0e-4, "IT'IS heat transfer rate of fat, about 33 mL/min/kg (unverified)"),
    "electrical_conductivity": (0.04, "IT'IS fat near 0.5 MHz, order of magnitude (unverified)"),
    "electrical_conductivity_slope": (0.015, "as liver (assumption)"),
    "metabolic_heat": (0.0, "negligible"),
    "water_content": (0.2, "assumption: fat tissue holds little water"),
    "frozen_conductivity": (0.3, "assumption: little ice in fat"),
    "frozen_specific_heat": (2000.0, "assumption"),
    "latent_heat_fusion": (61e6, "333 kJ/kg x 0.2 water x 911 kg/m^3 (assumption)"),
    "solidus_temperature": (-8.0, "as liver (assumption)"),
    "liquidus_temperature": (-1.0, "as liver (assumption)"),
}
PRESETS["tumour"] = PRESETS["tumor"]

BLOOD = {
    "blood_density": (1050.0, "IT'IS blood"),
    "blood_specific_heat": (3617.0, "IT'IS blood"),
    "arterial_temperature": (37.0, "body temperature"),
}

PROPERTY_NAMES = tuple(PRESETS["liver"])
PROPERTY_DIMENSIONS = {
    "density": "density", "specific_heat": "specific_heat", "conductivity": "thermal_conductivity",
    "conductivity_slope": "thermal_conductivity_slope", "perfusion": "rate",
    "electrical_conductivity": "electrical_conductivity", "electrical_conductivity_slope": "per_kelvin",
    "metabolic_heat": "power_density", "water_content": "fraction",
    "frozen_conductivity": "thermal_conductivity", "frozen_specific_heat": "specific_heat",
    "latent_heat_fusion": "energy_density", "solidus_temperature": "temperature",
    "liquidus_temperature": "temperature",
}
# the SI unit in which each property is stored (physics works in SI; the input layer converts)
PROPERTY_UNITS = {
    "density": "kg/m^3", "specific_heat": "J/(kg K)", "conductivity": "W/(m K)",
    "conductivity_slope": "W/(m K^2)", "perfusion": "1/s", "electrical_conductivity": "S/m",
    "electrical_conductivity_slope": "1/K", "metabolic_heat": "W/m^3", "water_content": "1",
    "frozen_conductivity": "W/(m K)", "frozen_specific_heat": "J/(kg K)", "latent_heat_fusion": "J/m^3",
    "solidus_temperature": "degC", "liquidus_temperature": "degC",
}
PROPERTY_DESCRIPTIONS = {
    "density": "mass density rho", "specific_heat": "specific heat capacity c at 37 degC",
    "conductivity": "thermal conductivity k at 37 degC",
    "conductivity_slope": "dk/dT, applied up to 100 degC (constant above)",
    "perfusion": "volumetric blood perfusion rate w_b (Pennes)",
    "electrical_conductivity": "electrical conductivity sigma at 37 degC and the RF frequency",
    "electrical_conductivity_slope": "relative rise of sigma per kelvin up to 100 degC",
    "metabolic_heat": "metabolic heat generation q_m",
    "water_content": "water mass fraction (vaporisation enthalpy)",
    "frozen_conductivity": "conductivity of frozen tissue", "frozen_specific_heat": "specific heat of frozen tissue",
    "latent_heat_fusion": "volumetric latent heat of freezing",
    "solidus_temperature": "fully frozen below this temperature",
    "liquidus_temperature": "fully unfrozen above this temperature",
}


def preset_values(name: str) -> dict[str, float]:
    return {key: value for key, (value, _) in PRESETS[name].items()}


def preset_sources(name: str) -> dict[str, str]:
    return {key: source for key, (_, source) in PRESETS[name].items()}


def thermal_conductivity(k0, slope, temperature):
    """k(T) = k0 + slope (min(T, 100 degC) - 37 degC)  [W/(m K)] (Berjano-group models).

    Kept at least 10 % of k0, so that a steep user slope cannot give a non-physical conductivity at
    low temperature; phase-change models replace k below freezing.
    """
    t = np.minimum(temperature, 100.0)
    return np.maximum(k0 + slope * (t - 37.0), 0.1 * k0)


def thermal_conductivity_integral(k0, slope, temperature):
    """The Kirchhoff potential Phi(T) = integral of :func:`thermal_conductivity` from 37 degC to T
    (W/m). (Phi(T_a) - Phi(T_b)) / (T_a - T_b) is the mean of k between two temperatures: the face
    conductivity that makes the conduction flux exact for a steady 1-D profile (docs/physics.md 1).

    k is linear between ``low`` and ``high`` and constant outside them: below the 10 % floor (a
    positive slope) or above it (a negative one), and above 100 degC."""
    k0, slope, t = np.broadcast_arrays(*(np.asarray(v, float) for v in (k0, slope, temperature)))
    with np.errstate(divide="ignore"):
        reach = np.where(slope != 0.0, 0.9 * k0 / np.abs(slope), np.inf)   # K from 37 degC to the floor
    low = np.where(slope > 0.0, 37.0 - reach, -np.inf)
    high = np.minimum(np.where(slope < 0.0, 37.0 + reach, np.inf), 100.0)
    x = np.clip(t, low, high) - 37.0
    linear = k0 * x + 0.5 * slope * x * x
    below = 0.1 * k0 * np.minimum(t - low, 0.0)            # zero when there is no floor below (low = -inf)
    above = thermal_conductivity(k0, slope, high) * np.maximum(t - high, 0.0)
    return linear + below + above


def electrical_conductivity(sigma0, slope, temperature, drop_to=1e-2, t_break=100.0, t_end=105.0):
    """sigma(T) [S/m]: rises by ``slope`` (1/K) up to 100 degC, then falls linearly to ``drop_to``
    times its 100 degC value at 105 degC and stays there (desiccation; the impedance roll-off).
    Berjano-group and MITA-model convention (docs/physics.md section 2)."""
    temperature = np.asarray(temperature, dtype=float)
    rising = sigma0 * (1.0 + slope * (np.minimum(temperature, t_break) - 37.0))
    peak = sigma0 * (1.0 + slope * (t_break - 37.0))
    fraction = np.clip((temperature - t_break) / (t_end - t_break), 0.0, 1.0)
    falling = peak * (1.0 - (1.0 - drop_to) * fraction)
    return np.maximum(np.where(temperature <= t_break, rising, falling), 1e-6 * sigma0)

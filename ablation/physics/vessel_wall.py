"""Heat transfer from tissue to the blood of a large vessel: the wall's heat-transfer coefficient
from the vessel's diameter and flow (docs/anatomy.md, "Vessels").

    h = Nu k_b / D,   Nu = 3.66 + 0.0668 Gz / (1 + 0.04 Gz^(2/3)),   Gz = Re Pr D / L
    h_eff = h (1 - exp(-NTU)) / NTU,   NTU = h pi D L / (rho_b c_b Q)

Hausen's correlation for laminar flow in a tube with a developing temperature profile and a
constant wall temperature (Hausen 1943; as given in Incropera & DeWitt, Fundamentals of Heat and
Mass Transfer, 6th ed., eq. 8.57): the mean Nusselt number over a heated length L from the start of
heating. Re = rho_b v D / mu_b, Pr = mu_b c_b / k_b. Without flow (Gz -> 0) it tends to the fully
developed 3.66; a fast, wide vessel heated over a short length transfers more. The flow of a
vessel without a measured one follows Murray's law at a constant wall shear stress tau
(Q = pi r^3 tau / (4 mu), Murray 1926: the flow at which r^3 ~ Q is optimal), with tau stated below.

The vessel's held cells stay at the inlet (arterial) temperature, but the blood warms along the
heated length: for a wall at uniform temperature the bulk temperature approaches it as
exp(-NTU) (Incropera & DeWitt eq. 8.41b), so the mean heat flux over L is that of the coefficient
h_eff above against the inlet temperature. A slow, thin vessel carries little heat away (h_eff ->
rho_b c_b Q / (pi D L), its heat capacity rate per wall area); a fast, wide one cools with the full h.

The Pringle manoeuvre stops the flow: the toolkit then removes the vessel walls altogether (the
blood stands still and conducts like tissue), as for straight vessels.
"""
from __future__ import annotations

import numpy as np

#: Blood properties (value, source). The density and specific heat are the scenario's
#: ``tissue.blood_density`` / ``blood_specific_heat`` (IT'IS); these two are not in the scenario.
BLOOD_VISCOSITY = (3.5e-3, "Pa s; apparent viscosity of whole blood at high shear rate (textbook value, "
                           "e.g. Fung, Biomechanics: Circulation, 1997)")
BLOOD_CONDUCTIVITY = (0.52, "W/(m K); IT'IS database, blood")
#: Wall shear stress of the Murray-law flow (value, source). 0.2 Pa puts about 1 L/min through a
#: 14 mm portal trunk (a typical portal flow); venous wall shear stress is 0.1-0.6 Pa (Papaioannou &
#: Stefanadis, Hellenic J Cardiol 46:9, 2005).
WALL_SHEAR_STRESS = (0.2, "Pa; assumption within the venous range 0.1-0.6 Pa (Papaioannou & Stefanadis 2005), "
                          "gives ~1 L/min through a 14 mm portal trunk")
#: Heated length L in the Graetz number (value, source): the length of vessel next to an ablation zone.
HEATED_LENGTH = (0.03, "m; assumption: the length of a 3 cm ablation zone along the vessel")


def murray_flow(radius, wall_shear_stress: float = WALL_SHEAR_STRESS[0],
                viscosity: float = BLOOD_VISCOSITY[0]) -> np.ndarray:
    """Volume flow (m^3/s) of Poiseuille flow at wall shear stress tau: Q = pi r^3 tau / (4 mu)."""
    r = np.asarray(radius, float)
    return np.pi * r ** 3 * wall_shear_stress / (4.0 * viscosity)


def hausen_nusselt(graetz) -> np.ndarray:
    """Mean Nusselt number of laminar tube flow with a developing temperature profile (Hausen)."""
    gz = np.maximum(np.asarray(graetz, float), 0.0)
    return 3.66 + 0.0668 * gz / (1.0 + 0.04 * gz ** (2.0 / 3.0))


def wall_heat_transfer_coefficient(diameter, flow, blood_density: float, blood_specific_heat: float,
                                   heated_length: float = HEATED_LENGTH[0],
                                   viscosity: float = BLOOD_VISCOSITY[0],
                                   conductivity: float = BLOOD_CONDUCTIVITY[0]) -> np.ndarray:
    """h_eff (W/(m^2 K)) of a vessel wall of ``diameter`` (m) carrying ``flow`` (m^3/s), per element,
    against the blood's inlet temperature (the module docstring).

    Raises ValueError for a non-positive diameter or flow (no flow: the walls are removed instead)."""
    d = np.asarray(diameter, float)
    q = np.asarray(flow, float)
    if np.any(d <= 0.0) or np.any(~(q > 0.0)):
        raise ValueError("vessel wall: diameter and flow must be positive (without flow the wall is removed)")
    velocity = q / (np.pi * d ** 2 / 4.0)
    reynolds = blood_density * velocity * d / viscosity
    prandtl = viscosity * blood_specific_heat / conductivity
    graetz = reynolds * prandtl * d / heated_length
    h = hausen_nusselt(graetz) * conductivity / d
    ntu = h * np.pi * d * heated_length / (blood_density * blood_specific_heat * q)
    return h * -np.expm1(-ntu) / ntu


def reynolds_number(diameter, flow, blood_density: float, viscosity: float = BLOOD_VISCOSITY[0]) -> np.ndarray:
    """Re = rho v D / mu = 4 rho Q / (pi D mu): laminar below about 2300."""
    return 4.0 * blood_density * np.asarray(flow, float) / (np.pi * np.asarray(diameter, float) * viscosity)

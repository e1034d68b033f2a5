"""Enthalpy tables H(T) of tissue with a phase change, for :class:`ablation.physics.bioheat.TabulatedEnthalpy`.

Both are piecewise linear in T (J/m^3, T in degC) with the latent heat released linearly over an
interval (docs/physics.md sections 2 and 3):

* water vaporisation (radiofrequency heating): rho c T up to 100 degC - dT, the latent heat of the
  tissue water L_w x water content x rho released over dT, then rho c_vap above 100 degC;
* freezing (cryoablation): frozen capacity below the solidus, the mean capacity plus the
  volumetric latent heat of fusion across the mushy range, unfrozen capacity above the liquidus.
"""
from __future__ import annotations

import numpy as np

LATENT_HEAT_WATER = 2260e3    # J/kg, latent heat of vaporisation of water at 100 degC (steam tables)
VAPORISATION_END = 100.0      # degC, all water released by 100 degC (Berjano-group RF models)
VAPORISED_RHO_C = 0.6e6       # J/(m^3 K) after vaporisation (Berjano-group models; range 0.44-0.8e6)


def vaporisation_table(density, specific_heat, water_content, interval, vaporised_rho_c=VAPORISED_RHO_C):
    """(T nodes degC, H nodes J/m^3) with H(0 degC) = 0: rho c T up to 100 degC - ``interval`` (K),
    the latent heat LATENT_HEAT_WATER x ``water_content`` (kg/kg) x ``density`` (kg/m^3) released
    linearly over ``interval`` together with rho c, and ``vaporised_rho_c`` (J/(m^3 K)) above 100 degC
    (one kelvin of it fixes the slope with which the table is extended)."""
    rc = density * specific_heat
    latent = LATENT_HEAT_WATER * water_content * density
    t0 = VAPORISATION_END - interval
    h_end = rc * t0 + rc * interval + latent
    return ([0.0, t0, VAPORISATION_END, VAPORISATION_END + 1.0], [0.0, rc * t0, h_end, h_end + vaporised_rho_c])


def unfrozen_fraction(temperature, solidus, liquidus):
    """f_u = (T - T_s)/(T_l - T_s) clipped to [0, 1] (linear across the mushy range)."""
    return np.clip((np.asarray(temperature, float) - solidus) / (liquidus - solidus), 0.0, 1.0)


def freezing_table(rho, c_unfrozen, c_frozen, latent, solidus, liquidus, pad=10.0):
    """(T nodes degC, H nodes J/m^3) of freezing tissue with H(T_s) = 0 (docs/physics.md 3):

        H = C_f (T - T_s) below T_s,  (C_f + C_u)/2 (T - T_s) + L (T - T_s)/(T_l - T_s) across the
        mushy range,  H(T_l) + C_u (T - T_l) above T_l,

    C = rho c (J/(m^3 K)), L the volumetric latent heat (J/m^3). ``pad`` K of frozen and unfrozen
    slope beyond the mushy range fix the slopes with which the table is extended."""
    c_f, c_u = rho * c_frozen, rho * c_unfrozen
    h_l = 0.5 * (c_f + c_u) * (liquidus - solidus) + latent
    return ([solidus - pad, solidus, liquidus, liquidus + pad], [-c_f * pad, 0.0, h_l, h_l + c_u * pad])

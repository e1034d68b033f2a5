"""Cryo verification (docs/physics.md 6, cases 4-6): the enthalpy solver and the cryo tissue model
against closed-form freezing fronts, with the observed order under refinement.

All three use the literature property set of docs/physics.md 3 (k_u 0.5, k_f 2.0, c_u 3600, c_f 1800,
rho 1000, L 250 MJ/m^3) with a narrow mushy range around 0 degC, on 1-D FiPy grids
(:mod:`ablation.verification.cryo1d`: Grid1D for the planar case, CylindricalGrid1D for the radial ones). The
front is measured from the frozen amount (planar: sum (1 - f_u) dx; radial: the radius of the
frozen area), which converges smoothly; the 0 degC isotherm between cell centres is reported beside
it. Time steps shrink with h^2 so that the backward-Euler time error does not dominate.
Tolerance: 2 % or one cell, whichever is larger (the issue's criterion).
"""
from __future__ import annotations

import numpy as np

from ablation.verification import analytic as an
from ablation.bench import Metric, case
from ablation.verification.cryo1d import FreezingProperties, front_position, line_domain, run_freezing, uniform_edges

R_PROBE = 0.735e-3          # 17 G probe radius (docs/physics.md 6, case 5)
T_WALL, T_INIT = -145.0, 37.0


def _front_metrics(name, hs, fronts, exact, balances, note, isotherm=None):
    errors = [abs(f - exact) / exact for f in fronts]
    tol = max(0.02, hs[-1] / exact)
    out = [Metric(f"{name}_front_error", errors[-1], 0.0, tol, "1", "at_most",
                  note=f"{note}; h = {hs[-1] * 1e3:g} mm: front {fronts[-1] * 1e3:.3f} mm vs {exact * 1e3:.3f} mm"
                       + (f"; 0 degC isotherm {isotherm * 1e3:.3f} mm" if isotherm is not None else "")),
           Metric(f"{name}_order", an.observed_order(hs, errors), 1.0, 0.1, "1", "at_least",
                  note="observed order of the front error, h = " + ", ".join(f"{h * 1e3:g}" for h in hs)
                       + " mm; errors " + ", ".join(f"{100 * e:.2f} %" for e in errors)),
           Metric(f"{name}_heat_balance", max(balances), 0.0, 0.01, "1", "at_most",
                  note="sum |residual| / sum |exchanged| over the run, worst level")]
    return out


@case(quick=True)
def stefan_planar(ctx):
    """Case 4: two-phase planar Stefan problem (Neumann), started from the exact profile at 60 s,
    front compared at 600 s."""
    p = FreezingProperties(solidus=-0.1, liquidus=0.1)
    sol = an.neumann_stefan(T_WALL, p.melt, T_INIT, p.k_f, p.c_f, p.k_u, p.c_u, p.rho, p.latent)
    t0, t1 = 60.0, 600.0
    # 0.8 mm is outside the asymptotic range with the Kirchhoff face mean (errors 1.25, 0.85, 0.36,
    # 0.17, 0.08 % at 0.8-0.05 mm: order 0.6 from 0.8 to 0.4, 1.1 below), so the levels start at 0.4
    hs = [0.4e-3, 0.2e-3, 0.1e-3] + ([] if ctx.quick else [0.05e-3])
    fronts, balances, iso = [], [], None
    for h in hs:
        domain = line_domain(uniform_edges(0.0, 0.08, h), radial=False)
        x = domain.geometry.centers[0]
        heat, front, balance = run_freezing(domain, p, sol.temperature(np.maximum(x, 0.0), t0), lambda t: T_WALL,
                                            t0, t1, 8.0 * (h / 0.8e-3) ** 2, boundary_temperature=T_INIT, times=[t1])
        fronts.append(front[t1])
        balances.append(balance)
        iso = front_position(domain, heat.T, p.melt)
    exact = float(sol.front(t1))
    ctx.figures["cryo.stefan_front_error_pct"] = 100 * abs(fronts[-1] - exact) / exact
    return _front_metrics("stefan", hs, fronts, exact, balances,
                          f"lambda {sol.lam:.4f}, wall {T_WALL:g} degC, mushy +-0.1 K", iso)


@case(quick=True)
def stefan_large_steps(ctx):
    """Case 4 with steps in which the front crosses several cells (0.2 mm cells, 20 s steps: the
    front moves up to ~7 cells per step early on): the enthalpy iteration must converge without
    oscillation (the front advances monotonically), conserve energy, and stay near the closed form
    (backward-Euler time error only)."""
    p = FreezingProperties(solidus=-0.1, liquidus=0.1)
    sol = an.neumann_stefan(T_WALL, p.melt, T_INIT, p.k_f, p.c_f, p.k_u, p.c_u, p.rho, p.latent)
    h, dt, t0, t1 = 0.2e-3, 20.0, 60.0, 600.0
    domain = line_domain(uniform_edges(0.0, 0.08, h), radial=False)
    x = domain.geometry.centers[0]
    times = [t0 + dt * k for k in range(1, int((t1 - t0) / dt) + 1)]
    _, fronts, balance = run_freezing(domain, p, sol.temperature(np.maximum(x, 0.0), t0), lambda t: T_WALL,
                                      t0, t1, dt, boundary_temperature=T_INIT, times=times)
    series = np.array([fronts[t] for t in times])
    moves = np.diff(np.concatenate([[sol.front(t0)], series]))
    exact = float(sol.front(t1))
    error = abs(series[-1] - exact) / exact
    return [Metric("large_step_front_error", error, 0.0, 0.05, "1", "at_most",
                   note=f"largest move {moves.max() / h:.1f} cells in one step; front {series[-1] * 1e3:.3f} "
                        f"vs {exact * 1e3:.3f} mm; the gap is the first-order backward-Euler time error "
                        "of 20 s steps (0.5 s steps on the same grid: 0.6 %, case stefan_planar)"),
            Metric("large_step_backward_moves", float(np.sum(moves < 0)), 0.0, 0.0, "steps", "at_most",
                   note="steps in which the front moved back (oscillation)"),
            Metric("large_step_heat_balance", balance, 0.0, 0.01, "1", "at_most")]


@case(quick=True)
def line_sink_radial(ctx):
    """Case 5: radial freezing around a line sink, the exact T(r_p, t) imposed on a 17 G probe wall;
    Q chosen so that R = 15 mm at 600 s (about 650 W/m); started from the exact profile at 30 s."""
    p = FreezingProperties(solidus=-0.1, liquidus=0.1)
    Q = an.line_sink_Q_for_front(15e-3, 600.0, p.k_f, p.k_u, p.alpha_f, p.alpha_u, T_INIT, p.melt, p.latent)
    sol = an.line_sink_freezing(Q, p.k_f, p.k_u, p.alpha_f, p.alpha_u, T_INIT, p.melt, p.latent)
    t0, t1 = 30.0, 600.0
    hs = [0.4e-3, 0.2e-3] + ([] if ctx.quick else [0.1e-3])
    fronts, balances, iso = [], [], None
    for h in hs:
        domain = line_domain(uniform_edges(R_PROBE, 0.08, h), radial=True)
        r = domain.geometry.centers[0]
        heat, front, balance = run_freezing(domain, p, sol.temperature(np.maximum(r, R_PROBE), t0),
                                            lambda t: float(sol.temperature(R_PROBE, t)), t0, t1,
                                            2.0 * (h / 0.4e-3) ** 2, boundary_temperature=T_INIT, times=[t1])
        fronts.append(front[t1])
        balances.append(balance)
        iso = front_position(domain, heat.T, p.melt)
    exact = float(sol.front(t1))
    ctx.figures["cryo.line_sink_Q_W_per_m"] = Q
    return _front_metrics("line_sink", hs, fronts, exact, balances,
                          f"Q {Q:.1f} W/m, wall at 600 s {float(sol.temperature(R_PROBE, t1)):.1f} degC", iso)


@case(quick=True)
def steady_iceball_perfused(ctx):
    """Case 6: steady maximum iceball of a long 17 G probe at -145 degC in perfused tissue
    (w_b 6.4e-3 1/s, blood 1050 kg/m^3 x 3617 J/(kg K)); 3 h of freezing in 20 s steps, by which
    time the front has stopped (it stalls on the discrete steady state)."""
    wb = 6.4e-3 * 1050.0 * 3617.0
    p = FreezingProperties(solidus=-0.1, liquidus=0.1, perfusion=wb)
    delta = float(np.sqrt(p.k_u / wb))
    exact = an.steady_iceball_radius(R_PROBE, T_WALL, p.melt, T_INIT, p.k_f, p.k_u, delta)
    hs = [0.2e-3, 0.1e-3] + ([] if ctx.quick else [0.05e-3])
    fronts, balances, iso = [], [], None
    for h in hs:
        domain = line_domain(uniform_edges(R_PROBE, 0.05, h), radial=True)
        heat, front, balance = run_freezing(domain, p, T_INIT, lambda t: T_WALL, 0.0, 3 * 3600.0, 20.0,
                                            boundary_temperature=T_INIT, times=[2.5 * 3600.0, 3 * 3600.0])
        fronts.append(front[3 * 3600.0])
        balances.append(balance)
        iso = front_position(domain, heat.T, p.melt)
        drift = abs(front[3 * 3600.0] - front[2.5 * 3600.0])
    ctx.figures["cryo.steady_iceball_radius_mm"] = exact * 1e3
    out = _front_metrics("steady_iceball", hs, fronts, exact, balances,
                         f"perfusion length {delta * 1e3:.2f} mm, closed-form R {exact * 1e3:.3f} mm", iso)
    out.append(Metric("steady_iceball_drift_last_30min", drift * 1e3, 0.0, hs[-1] * 1e3, "mm", "at_most",
                      note="front movement between 2.5 h and 3 h (steady state reached)"))
    return out


@case(quick=True)
def steady_frozen_annulus_ice_law(ctx):
    """Case 6b: steady frozen annulus around a long 17 G probe at -145 degC in unperfused tissue held
    at 37 degC at r = 30 mm, with frozen conductivity rising as ice's (k_f 273.15 K / T, the default
    model's law) and, for comparison, constant. Closed form by the Kirchhoff transform
    (:func:`ablation.verification.analytic.steady_frozen_annulus`): the front, and the -40 degC
    isotherm, whose position inside the ice is what the law changes. 4 h in 20 s steps (steady)."""
    out = []
    for law in ("ice", "constant"):
        p = FreezingProperties(solidus=-0.1, liquidus=0.1, frozen_law=law)
        exact = an.steady_frozen_annulus(R_PROBE, 0.03, T_WALL, p.melt, T_INIT, p.k_f, p.k_u, law)
        exact40 = an.frozen_isotherm_radius(-40.0, R_PROBE, exact, T_WALL, p.melt, p.k_f, law)
        hs = [0.2e-3, 0.1e-3] + ([] if ctx.quick else [0.05e-3])
        fronts, balances, r40 = [], [], []
        for h in hs:
            domain = line_domain(uniform_edges(R_PROBE, 0.03 - R_PROBE, h), radial=True)
            heat, front, balance = run_freezing(domain, p, T_INIT, lambda t: T_WALL, 0.0, 4 * 3600.0, 20.0,
                                                boundary_temperature=T_INIT, times=[4 * 3600.0])
            fronts.append(front[4 * 3600.0])
            balances.append(balance)
            r40.append(front_position(domain, heat.T, -40.0))
        if law == "ice":
            ctx.figures["cryo.ice_law_steady_m40_radius_mm"] = exact40 * 1e3
        note = f"{law} law: closed-form front {exact * 1e3:.3f} mm, -40 degC at {exact40 * 1e3:.3f} mm"
        # No observed order here: a steady front sits still inside one cell, so its error is set by
        # where that cell happens to lie, not by h smoothly (0.8 / 0.4 / 0.2 mm nested grids all put
        # the ice-law front at 25.535 mm against 25.594; 0.1 mm 0.013 %, 0.05 mm 0.097 %, measured
        # 2026-12-05). What converges is the bound: within one cell of the closed form on every grid.
        out += [m for m in _front_metrics(f"annulus_{law}", hs, fronts, exact, balances, note)
                if not m.metric.endswith("_order")]
        cells_off = max(abs(f - exact) / h for f, h in zip(fronts, hs))
        out.append(Metric(f"annulus_{law}_front_within_cells", cells_off, 0.0, 1.0, "cells", "at_most",
                          note="largest |front - closed form| / h over h = " + ", ".join(f"{h * 1e3:g}" for h in hs)
                               + " mm: " + ", ".join(f"{abs(f - exact) * 1e3:.4f}" for f in fronts) + " mm"))
        tol40 = max(0.02, hs[-1] / exact40)
        out.append(Metric(f"annulus_{law}_m40_error", abs(r40[-1] - exact40) / exact40, 0.0, tol40, "1", "at_most",
                          note=f"-40 degC isotherm {r40[-1] * 1e3:.3f} vs {exact40 * 1e3:.3f} mm (h = "
                               f"{hs[-1] * 1e3:g} mm); coarser: " + ", ".join(f"{x * 1e3:.3f}" for x in r40[:-1])))
    return out

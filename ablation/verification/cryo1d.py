"""One-dimensional freezing runs (planar and radial) with the cryo tissue model, for verification.

The grids are FiPy ``Grid1D`` (planar, unit cross-section) and ``CylindricalGrid1D`` (radial, per
metre of probe length), turned into :class:`ablation.geometry.grid.Domain` objects whose first cell is a
held "probe" cell: the wall is the face between it and the tissue, at x = 0 (planar) or r = r_p
(radial), with the same wall machinery (:class:`ablation.physics.bioheat.Surface`) as the 2-D and 3-D
runs. The tissue uses :func:`ablation.physics.enthalpy.freezing_table` and :func:`ablation.modalities.cryo.mixture_conductivity`,
so these runs verify the cryo model and the enthalpy solver of :mod:`ablation.physics.bioheat` together
(docs/physics.md 6, cases 4-6).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ablation.physics.bioheat import BioheatSolver, TabulatedEnthalpy
from ablation.modalities.cryo import frozen_conductivity, mixture_conductivity, mixture_conductivity_integral
from ablation.physics.enthalpy import freezing_table, unfrozen_fraction
from ablation.geometry.grid import Domain, Region
from ablation.geometry.finite_volume import FVGeometry

@dataclass(frozen=True)
class FreezingProperties:
    """Literature property set of docs/physics.md 3 (Deng & Liu lineage) with a narrow mushy range
    around T_m = 0 degC by default (a near-sharp front for the closed forms)."""
    k_u: float = 0.5           # W/(m K)
    k_f: float = 2.0           # W/(m K)
    c_u: float = 3600.0        # J/(kg K)
    c_f: float = 1800.0        # J/(kg K)
    rho: float = 1000.0        # kg/m^3
    latent: float = 250e6      # J/m^3
    solidus: float = -0.5      # degC
    liquidus: float = 0.5      # degC
    perfusion: float = 0.0     # w_b rho_b c_b, W/(m^3 K)
    arterial: float = 37.0     # degC
    frozen_law: str = "constant"   # or 'ice': k_f 273.15 K / T (ablation.modalities.cryo.frozen_conductivity)

    @property
    def melt(self) -> float:
        return 0.5 * (self.solidus + self.liquidus)

    @property
    def alpha_f(self) -> float:
        return self.k_f / (self.rho * self.c_f)

    @property
    def alpha_u(self) -> float:
        return self.k_u / (self.rho * self.c_u)


def line_domain(edges, radial: bool) -> Domain:
    """1-D domain on cell ``edges`` (m); the first cell is the held wall cell."""
    from ablation.runtime import import_fipy
    fp = import_fipy()
    edges = np.asarray(edges, float)
    dx = np.diff(edges)
    mesh = (fp.CylindricalGrid1D(dx=dx, origin=(edges[0],)) if radial
            else fp.Grid1D(dx=dx))
    geometry = FVGeometry.from_fipy(mesh, axisymmetric=radial)
    domain = Domain("radial" if radial else "planar", mesh, geometry, (dx.size,), [edges],
                    np.zeros(3), np.eye(3))
    wall = np.zeros(dx.size, bool)
    wall[0] = True
    domain.regions = [Region("wall", "probe_active", 0, wall)]
    return domain


def uniform_edges(start, length, h, radial=False):
    """Edges with one wall cell of width h before ``start`` and cells of width h up to start + length."""
    n = int(round(length / h))
    return start - h + h * np.arange(n + 2)


def freezing_solver(domain, props: FreezingProperties, initial, boundary_temperature, kirchhoff=True):
    storage = TabulatedEnthalpy([freezing_table(props.rho, props.c_u, props.c_f, props.latent, props.solidus,
                                                props.liquidus)], np.zeros(domain.n_cells, int))

    def conductivity(T):
        return mixture_conductivity(T, props.k_u, frozen_conductivity(props.k_f, T, props.frozen_law),
                                    props.solidus, props.liquidus)

    def conductivity_integral(T, cells=None):
        return mixture_conductivity_integral(T, props.k_u, 0.0, props.k_f, props.solidus, props.liquidus,
                                             props.frozen_law)

    return BioheatSolver(domain, storage, conductivity, props.perfusion, props.arterial, boundary_temperature,
                         initial, conductivity_varies=True, tolerance=1e-12,
                         conductivity_integral=conductivity_integral if kirchhoff else None)


def front_position(domain, T, melt) -> float:
    """Position (x or r, m) where T first rises through ``melt`` going away from the wall, linear
    between tissue cell centres; the wall face when even the first tissue cell is above it."""
    x = domain.geometry.centers[0][1:]
    t = T[1:]
    above = np.nonzero(t > melt)[0]
    if above.size == 0:
        return float(x[-1])
    j = above[0]
    if j == 0:
        return float(domain.edges[0][1])
    return float(x[j - 1] + (melt - t[j - 1]) / (t[j] - t[j - 1]) * (x[j] - x[j - 1]))


def frozen_front(domain, T, props) -> float:
    """Front position from the frozen amount (m): planar s = sum (1 - f_u) dx; radial
    R = sqrt(r_p^2 + sum (1 - f_u) V / pi) per metre of probe. Integrating the phase fraction is
    smoother than locating the melt isotherm between cell centres, whose error oscillates as the
    front passes each cell (enthalpy methods, e.g. Voller & Cross 1981)."""
    frozen = (1.0 - unfrozen_fraction(T, props.solidus, props.liquidus)) * domain.tissue
    wall = domain.edges[0][1]
    if domain.kind == "radial":
        return float(np.sqrt(wall ** 2 + np.sum(frozen * domain.geometry.volumes) / np.pi))
    return float(wall + np.sum(frozen * domain.geometry.volumes))


def run_freezing(domain, props, initial, wall, t_start, t_end, dt, boundary_temperature=None, times=(),
                 max_power=None, kirchhoff=True):
    """Step from ``t_start`` to ``t_end`` with the wall held at ``wall(t)`` (degC) and perfusion
    scaled by the unfrozen fraction; returns (solver, {t: front}, residual ratio) with the front at
    each of ``times`` (nearest step end) and the heat-balance error (sum |residual| / sum |exchanged|).
    ``max_power`` (W per unit cross-section or per metre of probe) limits the wall's heat extraction
    (:class:`ablation.physics.bioheat.Surface`). ``kirchhoff`` False takes the harmonic face mean of
    k(T) instead of the mean between the two temperatures (for comparison)."""
    heat = freezing_solver(domain, props, initial, boundary_temperature, kirchhoff)
    surface = heat.surface("probe_active", 0)
    surface.bc = "temperature"
    surface.max_power = max_power
    n = int(round((t_end - t_start) / dt))
    fronts = {}
    wanted = sorted(times)
    t = t_start
    exchanged = unbalanced = 0.0
    for _ in range(n):
        surface.value = wall(t + dt)
        heat.perfusion = props.perfusion * unfrozen_fraction(heat.T, props.solidus, props.liquidus) * heat.tissue
        report = heat.step(dt)
        t += dt
        exchanged += sum(abs(report.energy[k]) for k in ("source", "perfusion", "boundary", "walls"))
        unbalanced += abs(report.residual)
        while wanted and t >= wanted[0] - 1e-9:
            fronts[wanted.pop(0)] = frozen_front(domain, heat.T, props)
    return heat, fronts, unbalanced / exchanged if exchanged else 0.0

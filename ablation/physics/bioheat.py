"""Pennes bioheat equation on a finite-volume grid, backward Euler, assembled once.

    dH/dt = div(k(T) grad T) + w_b rho_b c_b (T_a - T) + q_m + Q          (docs/physics.md 1)

with H(T) the volumetric enthalpy: ``rho c T`` for tissue without phase change, a piecewise-linear
table for freezing or water vaporisation (:class:`TabulatedEnthalpy`). Each step solves

    V C* (T - T_old)/dt + sum_f G_f (T_P - T_N) + V w (T - T_a) + sum_walls G_w (T_P - T_w) = V Q

for T, with G_f = k_f A_f / d_f and C* the secant
capacity (H(T) - H(T_old))/(T - T_old), iterated to convergence when H is nonlinear so that the
stored energy is exactly H(T) - H(T_old).

The face conductivity k_f is the mean of k between the two cells' temperatures at the step's start,
(Phi(T_P) - Phi(T_N)) / (T_P - T_N) with Phi the Kirchhoff potential (the integral of k over T),
seen from each cell's material and joined by the distance-weighted harmonic mean (the material
interfaces). Within one material the flux is then Phi(T_P) - Phi(T_N) over the distance: exact for
a steady 1-D profile, and monotone where k jumps on freezing, where the harmonic mean of k(T_P) and
k(T_N) is not (with it, tissue beyond a cryoprobe's end warmed by up to 3 K after its minimum
whatever the step; docs/physics.md 1). Without a potential (``conductivity_integral`` None) k_f is the harmonic
mean of k(T_P) and k(T_N). The outer boundary takes the same mean between the cell and the held
temperature, and so does a temperature wall (a power-limited one with its temperature from the
last step); a convective wall takes k of the tissue cell (its own temperature is found in the solve).

Cells inside probes and vessels are *held*: they are cut out of the tissue, and the faces they
share with tissue carry the wall condition of that surface (fixed temperature, convection to a
fluid, heat flux, adiabatic). The outer domain boundary is held at a temperature or adiabatic.

Heat balance, reported for every run (``heat_balance_error``): per step, with every exchange
evaluated at the new temperatures,

    residual = E_source + E_perfusion + E_outer_boundary + E_walls - (stored energy change),

each in J. The error is sum over steps |residual| divided by sum over steps of
(|E_source| + |E_perfusion| + |E_outer_boundary| + |E_walls|), the total energy exchanged. It
measures what the linear and nonlinear solves leave unbalanced (tolerances, enthalpy iterations).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ablation.physics.linear_solvers import LinearSolver, LinearSolverError, SymmetricLowRank, make_linear_solver
from ablation.physics.operators import FixedPatternMatrix


class SolverError(RuntimeError):
    """A linear or nonlinear solve that did not converge."""


def _secant_mean(potential_difference, gap, fallback):
    """Mean k over a temperature interval, (Phi_1 - Phi_2) / (T_1 - T_2); ``fallback`` where the
    gap is below 1e-6 K, where the potential's difference loses digits."""
    resolved = np.abs(gap) > 1e-6
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(resolved, potential_difference / np.where(resolved, gap, 1.0), fallback)


# ------------------------------------------------------------------------------- Pennes perfusion
def perfusion_coefficient(rate, blood_density, blood_specific_heat):
    """w_b rho_b c_b (W/(m^3 K)) from the volumetric perfusion rate w_b (1/s) and the blood's
    density (kg/m^3) and specific heat (J/(kg K)): the coefficient of the Pennes term."""
    return np.asarray(rate, float) * (float(blood_density) * float(blood_specific_heat))


def perfusion_terms(coefficient, arterial_temperature, volumes):
    """The Pennes term w_b rho_b c_b (T_a - T) integrated over each cell, split for an implicit step:
    (matrix diagonal W/K, right-hand side W) = (w V, w T_a V), so that the cell receives
    rhs - diagonal T. The one assembly of the perfusion term on the fast path."""
    diagonal = coefficient * volumes
    return diagonal, diagonal * arterial_temperature


def perfusion_power(coefficient, arterial_temperature, temperature, volumes):
    """Heat the blood brings into each cell at ``temperature`` (W): w_b rho_b c_b (T_a - T) V."""
    return coefficient * volumes * (arterial_temperature - temperature)


@dataclass
class Surface:
    """The wall between held cells (a probe part or a vessel) and the tissue next to it.

    ``bc`` is 'temperature' (wall at ``value`` degC), 'convection' (fluid at ``value`` degC with
    heat-transfer coefficient ``h`` W/(m^2 K)), 'heat_flux' (``value`` W/m^2 into the tissue; negative
    extracts heat) or 'adiabatic'. Models change ``bc``, ``value`` and ``h`` between steps.

    ``max_power`` (W, optional) limits a 'temperature' wall: when holding the wall at ``value``
    would pass more than ``max_power`` through it, the wall becomes an isothermal wall at the
    temperature T_w that passes exactly ``max_power`` (a device with a limited heating or cooling
    capacity: the wall drifts towards the tissue under a high load). ``limited`` says which of
    the two held during the last step; ``wall_temperature`` is the wall temperature found (degC).
    """
    name: str
    kind: str
    index: int
    face: np.ndarray        # interior-face indices
    cell: np.ndarray        # tissue cell next to each face
    area: np.ndarray        # m^2
    distance: np.ndarray    # tissue centre to face, m
    held_mask: np.ndarray   # cells of the region
    # m^2 of the true wall behind each face: the face's area, but for a thin 3-D probe's log-law faces
    # their share of the cylinder (geometry/probe_wall.py). Conditions per unit wall area (a
    # convective h, a heat flux) act on it; the tissue side stays k A / distance.
    wall_area: np.ndarray | None = None
    wall_scale: np.ndarray = field(init=False)   # wall_area / area (exactly 1 where they coincide)
    bc: str = "adiabatic"
    value: float = 37.0
    h: float = 0.0
    last_power: float = 0.0  # W into the tissue during the last step
    last_energy: float = 0.0  # J into the tissue during the last step
    max_power: float | None = None
    limited: bool = False
    wall_temperature: float = float("nan")
    wall_conductivity: np.ndarray | None = None   # k (W/(m K)) across each face, as last assembled

    def __post_init__(self):
        if self.wall_area is None:
            self.wall_area = self.area
        self.wall_scale = np.where(self.wall_area == self.area, 1.0, self.wall_area / self.area)


def convective_conductance(s: Surface, k_cell) -> np.ndarray:
    """W/K through each face of a convective wall: the tissue's k A / distance in series with the
    fluid's h on the true wall area."""
    return s.area / (s.distance / k_cell + 1.0 / (s.h * s.wall_scale))


def build_surfaces(domain) -> list[Surface]:
    g = domain.geometry
    held = domain.held
    p, q = g.face_cell_1, g.face_cell_2
    surfaces = []
    for region in domain.regions:
        m = region.mask
        on_p = m[p] & ~held[q]     # held cell is cell 1, tissue is cell 2
        on_q = m[q] & ~held[p]
        faces = np.concatenate([np.nonzero(on_p)[0], np.nonzero(on_q)[0]])
        cells = np.concatenate([q[on_p], p[on_q]])
        dist = np.concatenate([(g.face_distance - g.face_distance_1)[on_p], g.face_distance_1[on_q]])
        # a thin 3-D probe: the wall law of a line source (geometry/probe_wall.py); elsewhere the
        # true surface's distance
        law = np.full(faces.size, np.nan) if domain.wall_length is None else domain.wall_length[faces]
        rest = np.isnan(law)
        if region.signed_distance is not None and rest.any():
            dist[rest] = _distance_to_true_surface(domain, region, faces[rest], cells[rest], dist[rest])
        dist = np.where(rest, dist, law)
        area = g.face_area[faces]
        wall_area = area if domain.wall_area is None else np.where(rest, area, domain.wall_area[faces])
        surfaces.append(Surface(region.name, region.kind, region.index, faces, cells, area, dist, m,
                                wall_area=wall_area))
    return surfaces


def _distance_to_true_surface(domain, region, faces, cells, staircase_distance):
    """Distance from each tissue cell centre to the region's real surface along the line to the
    held neighbour, from linear interpolation of the signed distance between the two centres.
    A staircased sphere held this way converges at first order or better instead of erratically
    (measured in the verification suite). Clipped to [5 %, 100 %] of the centre-to-centre distance."""
    g = domain.geometry
    pts = domain.world_points()
    other = np.where(g.face_cell_1[faces] == cells, g.face_cell_2[faces], g.face_cell_1[faces])
    s_t = region.signed_distance(pts[:, cells])
    s_h = region.signed_distance(pts[:, other])
    span = g.face_distance[faces]
    ok = (s_t > 0) & (s_h < 0)
    frac = np.where(ok, s_t / np.where(ok, s_t - s_h, 1.0), staircase_distance / span)
    return np.clip(frac, 0.05, 1.0) * span


class LinearStorage:
    """H = rho c T (J/m^3, T in degC)."""
    linear = True

    def __init__(self, rho_c: np.ndarray):
        self.rho_c = np.asarray(rho_c, float)

    def enthalpy(self, temperature):
        return self.rho_c * temperature

    def secant(self, t_old, t_new):
        return self.rho_c


class TabulatedEnthalpy:
    """Piecewise-linear H(T) per material, for phase change (freezing, vaporisation).

    ``tables`` is a list of (T_nodes, H_nodes) with increasing T_nodes; H is extended linearly
    beyond the end nodes with the end slopes. ``material`` gives each cell's table index.
    The secant capacity is exact for this H, so a converged step conserves energy exactly.
    """
    linear = False
    #: The end slopes are built into the tables as nodes this far (K) beyond the end nodes, so that one
    #: np.interp per material does the extension (the enthalpy is evaluated several times per enthalpy
    #: iteration); values beyond them, which no tissue reaches, take the explicit formula.
    EXTENSION = 1.0e4

    def __init__(self, tables, material: np.ndarray):
        self.tables = [(np.asarray(t, float), np.asarray(h, float)) for t, h in tables]
        self.material = np.asarray(material, int)
        self._groups = [np.nonzero(self.material == i)[0] for i in range(len(self.tables))]
        # a single material covering every cell needs no gather and scatter
        self._all = [cells.size == self.material.size for cells in self._groups]
        self._extended = [self._extend(tn, hn) for tn, hn in self.tables]

    @classmethod
    def _extend(cls, tn, hn):
        lo_slope = (hn[1] - hn[0]) / (tn[1] - tn[0])
        hi_slope = (hn[-1] - hn[-2]) / (tn[-1] - tn[-2])
        t_ext = np.concatenate([[tn[0] - cls.EXTENSION], tn, [tn[-1] + cls.EXTENSION]])
        h_ext = np.concatenate([[hn[0] - lo_slope * cls.EXTENSION], hn, [hn[-1] + hi_slope * cls.EXTENSION]])
        return t_ext, h_ext, lo_slope, hi_slope

    @staticmethod
    def _interp(x, xn, yn, x_ext, y_ext, lo_slope, hi_slope, slope_is_dy_dx: bool):
        """Piecewise-linear y(x) through the nodes, extended linearly with the end slopes."""
        y = np.interp(x, x_ext, y_ext)
        if x.size and (x.min() < x_ext[0] or x.max() > x_ext[-1]):
            lo, hi = (lo_slope, hi_slope) if slope_is_dy_dx else (1.0 / lo_slope, 1.0 / hi_slope)
            y = np.where(x < xn[0], yn[0] + lo * (x - xn[0]), y)
            y = np.where(x > xn[-1], yn[-1] + hi * (x - xn[-1]), y)
        return y

    def _per_material(self, values, inverse: bool):
        """H(T) of every cell (``inverse``: T(H)), each cell through its material's table."""
        values = np.asarray(values, float)
        out = np.empty_like(values)
        for (tn, hn), (t_ext, h_ext, lo, hi), cells, whole in zip(self.tables, self._extended, self._groups,
                                                                   self._all):
            x = values if whole else values[cells]
            y = (self._interp(x, hn, tn, h_ext, t_ext, lo, hi, False) if inverse
                 else self._interp(x, tn, hn, t_ext, h_ext, lo, hi, True))
            if whole:
                return y
            out[cells] = y
        return out

    def enthalpy(self, temperature):
        return self._per_material(temperature, inverse=False)

    def capacity(self, temperature):
        """dH/dT, the apparent heat capacity (J/(m^3 K))."""
        eps = 1e-6
        return (self.enthalpy(temperature + eps) - self.enthalpy(temperature - eps)) / (2 * eps)

    def secant(self, t_old, t_new):
        dt = t_new - t_old
        small = np.abs(dt) < 1e-9
        safe = np.where(small, 1.0, dt)
        sec = (self.enthalpy(t_new) - self.enthalpy(t_old)) / safe
        return np.where(small, self.capacity(t_old), sec)

    def temperature(self, enthalpy):
        """Invert H (monotone) per cell."""
        return self._per_material(enthalpy, inverse=True)


def _summed(pieces, n: int) -> np.ndarray:
    """Per-cell sums of (cells, values) pieces (cells may repeat within and across pieces)."""
    if not pieces:
        return np.zeros(n)
    cells = np.concatenate([c for c, _ in pieces])
    values = np.concatenate([np.broadcast_to(v, c.shape) for c, v in pieces])
    return np.bincount(cells, values, n)


@dataclass
class StepTerms:
    """A step's matrix and right-hand side without the storage term (:meth:`BioheatSolver.step_terms`):
    face conductances (W/K), diagonal (W/K) and right-hand side (W) per cell, the wall parts for the
    energy bookkeeping and the outer-boundary conductances (None without a held boundary)."""
    face_G: np.ndarray
    diagonal: np.ndarray
    rhs: np.ndarray
    parts: list
    Gb: np.ndarray | None


@dataclass
class StepReport:
    iterations: int = 0           # linear-solver iterations, summed over nonlinear iterations
    nonlinear_iterations: int = 0
    splits: int = 0               # times a step was halved because the enthalpy iteration failed
    energy: dict = field(default_factory=dict)   # J exchanged this step, by channel
    residual: float = 0.0         # J left unbalanced
    dt: float = 0.0               # s, the step's length (set by the time loop)
    boundary_inputs: tuple | None = None   # the time loop's record of the step's sources next to the boundary


class BioheatSolver:
    """Implicit Pennes solver on a :class:`ablation.geometry.grid.Domain`.

    Parameters (arrays are per cell, SI)
    ----------
    storage : LinearStorage or TabulatedEnthalpy
    conductivity : callable T -> k (W/(m K)) per cell; ``conductivity_varies`` says whether it
        depends on T (when it does not, face conductances are computed once)
    conductivity_integral : callable (T, cells) -> the Kirchhoff potential (W/m) of ``cells`` at T,
        or None; when given, faces and the outer boundary take the mean k between their two
        temperatures (module docstring)
    material : index per cell of the material whose potential it has (cells of one material share
        one), or None (then every face evaluates both cells' potentials)
    perfusion : w_b rho_b c_b per cell (W/(m^3 K)); models may change it between steps
    arterial_temperature : degC
    boundary_temperature : degC held on the outer faces, or None for an adiabatic boundary; an array
        over the faces with area (``outer_faces``) gives each its own value, NaN meaning adiabatic
    initial_temperature : degC (scalar or per cell)
    linear_solver : a [solver] heat choice ('cg_jacobi', the default, 'cg_amg', 'cg_lu', 'direct';
        :mod:`ablation.physics.linear_solvers`) or a :class:`LinearSolver`, which then brings its
        own tolerance and iteration limit
    """

    def __init__(self, domain, storage, conductivity, perfusion, arterial_temperature,
                 boundary_temperature, initial_temperature, conductivity_varies=True,
                 tolerance=1e-10, max_iterations=2000, max_nonlinear=30, nonlinear_tolerance=1e-6,
                 max_splits=6, linear_solver: str | LinearSolver = "cg_jacobi", conductivity_integral=None,
                 material=None):
        self.domain = domain
        g = self.geometry = domain.geometry
        self.held = domain.held
        self.tissue = ~self.held
        self.storage = storage
        self.conductivity = conductivity
        self.conductivity_varies = conductivity_varies
        self.conductivity_integral = conductivity_integral if conductivity_varies else None
        self.perfusion = np.asarray(perfusion, float) * self.tissue
        self.source = np.zeros(g.n_cells)          # W/m^3, set by the model
        self.arterial_temperature = float(arterial_temperature)
        self.T = np.broadcast_to(np.asarray(initial_temperature, float), (g.n_cells,)).copy()
        self.surfaces = build_surfaces(domain)
        self.tolerance, self.max_iterations = tolerance, max_iterations
        self.linear_solver = make_linear_solver(linear_solver, tolerance, max_iterations)
        self.max_nonlinear, self.nonlinear_tolerance = max_nonlinear, nonlinear_tolerance
        self.max_splits = max_splits
        self.matrix = FixedPatternMatrix(g)
        self._area_over_d = g.face_area / g.face_distance
        self._open_face = ~(self.held[g.face_cell_1] | self.held[g.face_cell_2])
        # open faces within one material (one Kirchhoff potential) and across two
        same = (np.zeros(self._open_face.size, bool) if material is None
                else np.asarray(material)[g.face_cell_1] == np.asarray(material)[g.face_cell_2])
        self._material_faces = (np.nonzero(self._open_face & same)[0], np.nonzero(self._open_face & ~same)[0])
        # outer faces with area (the r = 0 axis of a cylindrical grid has none)
        outer = g.boundary_area > 0
        self.outer_faces = np.nonzero(outer)[0]     # indices into the geometry's boundary arrays
        if boundary_temperature is None:
            boundary_temperature = np.nan
        values = np.broadcast_to(np.asarray(boundary_temperature, float), (self.outer_faces.size,))
        held_face = ~np.isnan(values)
        self.boundary_temperature = values[held_face]
        self._bcell = g.boundary_cell[outer][held_face]
        self.held_outer = np.nonzero(outer)[0][held_face]   # indices into the geometry's boundary arrays
        self._bG_geom = (g.boundary_area[outer] / g.boundary_distance[outer])[held_face]
        self.boundary_cells = np.unique(self._bcell)
        self._k_cell = None
        self._k_temperature = None        # the temperatures _k_cell (and the Kirchhoff means) were taken at
        self._face_G = None
        self._face_G_temperature = None   # the temperature array _face_G was computed from
        self._low_rank = []     # (surface, wall conductances, power W) of power-limited walls, per assembly

    # ------------------------------------------------------------------ assembly
    def face_conductance(self, temperature=None) -> np.ndarray:
        """G_f = k_f A_f / d_f (W/K) on interior faces; 0 on faces touching held cells.

        Reused when asked again for the very same ``temperature`` array: the enthalpy iterations of
        one step all take k at the step's start (the same t_old object), and recomputing k and its
        harmonic face means each iteration was a fifth of a 3-D cryo run (issue 12 profile)."""
        reuse = temperature is not None and temperature is self._face_G_temperature
        if self._face_G is None or (self.conductivity_varies and not reuse):
            t = self.T if temperature is None else temperature
            self._k_cell = np.asarray(self.conductivity(t), float) * np.ones(self.geometry.n_cells)
            self._k_temperature = t
            if self.conductivity_integral is None:
                kf = self.geometry.harmonic_face_value(self._k_cell)
            else:
                kf = self._kirchhoff_face_value(t)
            self._face_G = kf * self._area_over_d * self._open_face
            # kept by reference: the caller's array is a copy no one changes (``_advance``'s t_old)
            self._face_G_temperature = temperature
        return self._face_G

    def mean_conductivity(self, cells, t_cell, t_other, k_cell):
        """Mean k of ``cells`` (at ``t_cell``) between ``t_cell`` and ``t_other``, from the Kirchhoff
        potential; k of the cell itself (``k_cell``) where the two temperatures nearly coincide."""
        return _secant_mean(self.conductivity_integral(t_cell, cells) - self.conductivity_integral(t_other, cells),
                            t_cell - t_other, k_cell)

    def _kirchhoff_face_value(self, t) -> np.ndarray:
        """k_f on the open faces: the mean k between the two cells' temperatures, seen from each
        cell's material and joined by the distance-weighted harmonic mean (module docstring).
        Within one material both cells share one potential, evaluated once per cell."""
        g = self.geometry
        kf = np.zeros(g.face_cell_1.size)
        phi = self.conductivity_integral(t)
        within, across = self._material_faces
        c1, c2 = g.face_cell_1[within], g.face_cell_2[within]
        kf[within] = _secant_mean(phi[c1] - phi[c2], t[c1] - t[c2], 0.5 * (self._k_cell[c1] + self._k_cell[c2]))
        if across.size:
            c1, c2 = g.face_cell_1[across], g.face_cell_2[across]
            k_1 = self.mean_conductivity(c1, t[c1], t[c2], self._k_cell[c1])
            k_2 = self.mean_conductivity(c2, t[c2], t[c1], self._k_cell[c2])
            kf[across] = g.harmonic_face_mean(k_1, k_2, across)
        return kf

    def wall_terms(self):
        """Per-cell implicit conductance (W/K) and explicit inflow (W) of every wall condition,
        and per-surface (G, G*T_w, q*A) for energy bookkeeping."""
        n = self.geometry.n_cells
        k = self._k_cell
        parts = []
        self._low_rank = []
        # (cells, values) gathered over all surfaces and summed by one bincount each: a patient's
        # vessel tree has hundreds of walls, and np.add.at per wall was slow
        implicit, explicit = [], []
        for s in self.surfaces:
            s.wall_conductivity = self._wall_conductivity(s, k)
            if s.bc == "temperature" and s.limited:
                # isothermal wall passing exactly the limited power P (W into the tissue): its
                # temperature T_w = (g.T + P)/G_tot is eliminated, leaving the symmetric rank-one
                # term -g g^T/G_tot in the matrix and g P/G_tot on the right-hand side
                G = s.wall_conductivity * s.area / s.distance
                power = self._limited_power(s)
                self._low_rank.append((s, G, power))
                parts.append((s, None, None, G * power / G.sum()))
                implicit.append((s.cell, G))
                explicit.append((s.cell, parts[-1][3]))
                continue
            if s.bc == "temperature":
                G = s.wall_conductivity * s.area / s.distance
                parts.append((s, G, G * s.value, None))
            elif s.bc == "convection":
                G = convective_conductance(s, k[s.cell])
                parts.append((s, G, G * s.value, None))
            elif s.bc == "heat_flux":
                parts.append((s, None, None, s.value * s.wall_area))
            elif s.bc == "adiabatic":
                parts.append((s, None, None, None))
            else:
                raise ValueError(f"unknown wall condition {s.bc!r} on {s.name}")
            _, G, GT, qA = parts[-1]
            if G is not None:
                implicit.append((s.cell, G))
                explicit.append((s.cell, GT))
            if qA is not None:
                explicit.append((s.cell, qA))
        return _summed(implicit, n), _summed(explicit, n), parts

    def _wall_conductivity(self, s: Surface, k) -> np.ndarray:
        """k across a wall's faces: with a Kirchhoff potential, the mean between the tissue cell and
        a wall temperature known before the solve (a temperature wall's set value; a limited wall's
        from the last step); otherwise, and for convective walls, k of the tissue cell."""
        k_cell = k[s.cell]
        if self.conductivity_integral is None or s.bc != "temperature" or s.cell.size == 0:
            return k_cell
        t_wall = s.wall_temperature if s.limited else s.value
        if not np.isfinite(t_wall):
            return k_cell
        return self.mean_conductivity(s.cell, self._k_temperature[s.cell], np.full(s.cell.size, t_wall), k_cell)

    def step_terms(self, t_old) -> "StepTerms":
        """The parts of a step's matrix and right-hand side that do not depend on the storage
        capacity: conduction with k(t_old), perfusion, source, walls and the outer boundary. They
        are the same for every enthalpy iteration of the step (walls and k take the step's start),
        so :meth:`_iterate` assembles them once per step, not once per iteration."""
        g = self.geometry
        V = g.volumes
        face_G = self.face_conductance(t_old)
        tissue = self.tissue
        diag, rhs = perfusion_terms(self.perfusion * tissue, self.arterial_temperature, V)
        rhs = rhs + self.source * tissue * V
        wall_diag, wall_rhs, parts = self.wall_terms()
        diag = diag + wall_diag
        rhs += wall_rhs
        if self._bcell.size:
            k_b = self._k_cell[self._bcell]
            if self.conductivity_integral is not None:
                k_b = self.mean_conductivity(self._bcell, t_old[self._bcell], self.boundary_temperature, k_b)
            Gb = k_b * self._bG_geom * tissue[self._bcell]
            diag += np.bincount(self._bcell, Gb, g.n_cells)
            rhs += np.bincount(self._bcell, Gb * self.boundary_temperature, g.n_cells)
        else:
            Gb = None
        return StepTerms(face_G, diag, rhs, parts, Gb)

    def assemble(self, dt, capacity, t_old, storage_rhs=None, terms: "StepTerms | None" = None):
        """Matrix and right-hand side of one backward-Euler step with storage ``capacity``.

        The storage term is V/dt (capacity T - storage_rhs) with ``storage_rhs`` (J/m^3) defaulting
        to capacity * t_old; conductivities are evaluated at ``t_old``. ``terms`` are the step's
        other terms (:meth:`step_terms` of the same ``t_old``), built here when not given."""
        terms = self.step_terms(t_old) if terms is None else terms
        V = self.geometry.volumes
        storage = capacity * V / dt
        rhs = storage * t_old if storage_rhs is None else storage_rhs * V / dt
        A = self.matrix.assemble(storage + terms.diagonal, terms.face_G)
        return A, rhs + terms.rhs, terms.parts, terms.Gb

    def _limited_power(self, s: Surface) -> float:
        """Signed power (W into the tissue) of a limited wall: cooling when the set temperature lies
        below the tissue next to it."""
        t_next = float(np.average(self.T[s.cell], weights=s.wall_area))
        return -s.max_power if s.value < t_next else s.max_power

    def _low_rank_correction(self) -> SymmetricLowRank | None:
        """The limited walls' update A - sum_s g_s g_s^T / G_s (None when no wall is limited)."""
        if not self._low_rank:
            return None
        return SymmetricLowRank(self.geometry.n_cells, [(s.cell, G, float(G.sum())) for s, G, _ in self._low_rank])

    def _update_limits(self, t_new) -> bool:
        """Wall temperatures after a solve; switches power-limited walls between their two states.
        Returns True when a wall switched (the step must be repeated)."""
        k = self._k_cell
        switched = False
        for s in self.surfaces:
            if s.cell.size == 0:
                continue
            G = (k[s.cell] if s.wall_conductivity is None else s.wall_conductivity) * s.area / s.distance
            if s.bc == "temperature" and s.limited:
                power = next(p for w, _, p in self._low_rank if w is s)   # as assembled
                s.wall_temperature = float((G @ t_new[s.cell] + power) / G.sum())
                # the floating wall went past the set temperature: the limit no longer binds
                if (power < 0 and s.wall_temperature < s.value) or (power > 0 and s.wall_temperature > s.value):
                    s.limited, switched = False, True
            elif s.bc == "temperature":
                s.wall_temperature = s.value
                if s.max_power is not None and abs(float(G @ (s.value - t_new[s.cell]))) > s.max_power * (1 + 1e-9):
                    s.limited, switched = True, True
            elif s.bc == "convection":
                q = convective_conductance(s, k[s.cell]) * (s.value - t_new[s.cell])   # W through each face
                s.wall_temperature = float(np.average(t_new[s.cell] + q / G, weights=s.wall_area))
            elif s.bc == "heat_flux":
                s.wall_temperature = float(np.average(t_new[s.cell] + s.value * s.wall_area / G, weights=s.wall_area))
            else:
                s.wall_temperature = float(np.average(t_new[s.cell], weights=s.wall_area))
        return switched

    # ------------------------------------------------------------------ stepping
    def _solve(self, A, b, x0):
        try:
            return self.linear_solver.solve(A, b, x0, diagonal=self.matrix.diagonal(),
                                            correction=self._low_rank_correction())
        except LinearSolverError as exc:
            raise SolverError(str(exc)) from exc

    def step(self, dt: float) -> StepReport:
        """Advance T by ``dt`` (backward Euler). A step whose enthalpy iteration does not converge is
        repeated as two half steps (recursively, at most ``max_splits`` times), with the walls and
        sources unchanged; the energies reported are the sums over the sub-steps."""
        start = self.T.copy()
        report = StepReport()
        # a power-limited wall that switches between its two states repeats the step (rare: at
        # the moments the limit starts or stops binding); two switches at most, then it keeps the last
        for _ in range(3):
            self.T = start.copy()
            energy, residual, walls = self._advance(dt, report, 0)
            if not self._update_limits(self.T):
                break
        for surface in self.surfaces:
            surface.last_energy = walls.get(id(surface), 0.0)
            surface.last_power = surface.last_energy / dt
        report.energy, report.residual = energy, residual
        return report

    def _advance(self, dt, report, depth):
        """Advance self.T by ``dt``, splitting the step when the enthalpy iteration fails; returns
        (energy by channel J, residual J, {id(surface): J into the tissue})."""
        t_old = self.T.copy()
        try:
            t_new, parts, Gb = self._iterate(dt, t_old, report)
        except SolverError:
            if depth >= self.max_splits or self.storage.linear:
                raise
            report.splits += 1
            first = self._advance(0.5 * dt, report, depth + 1)
            second = self._advance(0.5 * dt, report, depth + 1)
            energy = {k: first[0][k] + second[0][k] for k in first[0]}
            walls = {k: first[2].get(k, 0.0) + second[2].get(k, 0.0) for k in {*first[2], *second[2]}}
            return energy, first[1] + second[1], walls
        h_old = self.storage.enthalpy(t_old)
        self.T = t_new
        return self._energy(dt, t_old, h_old, t_new, parts, Gb)

    def _iterate(self, dt, t_old, report):
        """One backward-Euler step from ``t_old``; returns (T, wall parts, boundary conductances).

        Linear storage: one linear solve. Tabulated enthalpy: the linearised-enthalpy iteration with
        an enthalpy correction (after Swaminathan & Voller 1993, Int J Heat Mass Transfer):

            V/dt [H(T_k) + C_k (T - T_k) - H_old] + (conduction, perfusion, walls)(T) = V Q

        with C_k = dH/dT(T_k) solved for T*, then H* = H(T_k) + C_k (T* - T_k). Per cell the next
        iterate is whichever of T* and T(H*) lies closer to T_k: when the linearisation jumps across
        a kink of H (a front crossing a cell in one step) the tangent overstates or understates the
        capacity, and the true temperature lies between the two, so the shorter move does not
        overshoot. Neighbouring front cells can still take turns; late iterations are under-relaxed,
        and :meth:`step` halves the step when ``max_nonlinear`` iterations do not converge. At
        convergence T* = T_k and the stored energy is exactly H(T) - H_old.
        """
        if self.storage.linear:
            capacity = self.storage.secant(t_old, t_old)
            A, b, parts, Gb = self.assemble(dt, capacity, t_old)
            t_new, n_iter = self._solve(A, b, t_old)
            report.iterations += n_iter
            report.nonlinear_iterations += 1
            return t_new, parts, Gb
        h_old = self.storage.enthalpy(t_old)
        guess, h_guess = t_old, h_old
        change = float("nan")
        terms = self.step_terms(t_old)
        for it in range(self.max_nonlinear):
            capacity = self.storage.capacity(guess)
            A, b, parts, Gb = self.assemble(dt, capacity, t_old, capacity * guess - h_guess + h_old, terms)
            t_lin, n_iter = self._solve(A, b, guess)
            report.iterations += n_iter
            report.nonlinear_iterations += 1
            t_proj = self.storage.temperature(h_guess + capacity * (t_lin - guess))
            t_next = np.where(np.abs(t_lin - guess) < np.abs(t_proj - guess), t_lin, t_proj)
            if it >= 8:
                t_next = guess + 0.5 * (t_next - guess)
            change = float(np.max(np.abs(t_next - guess)))
            guess, h_guess = t_next, self.storage.enthalpy(t_next)
            if change < self.nonlinear_tolerance:
                return t_next, parts, Gb
        raise SolverError(f"enthalpy iterations did not converge in {self.max_nonlinear} iterations "
                          f"(last change {change:.3g} K)")

    def _energy(self, dt, t_old, h_old, t_new, parts, Gb):
        V = self.geometry.volumes
        tissue = self.tissue
        stored = float(np.sum((self.storage.enthalpy(t_new) - h_old)[tissue] * V[tissue]))
        perfusion = dt * float(np.sum(perfusion_power(self.perfusion * tissue, self.arterial_temperature, t_new, V)))
        source = dt * float(np.sum((self.source * V)[tissue]))
        boundary = 0.0
        if Gb is not None:
            boundary = dt * float(np.sum(Gb * (self.boundary_temperature - t_new[self._bcell])))
            self.last_boundary_power = boundary / dt
        walls = 0.0
        by_surface = {}
        for s, G, GT, qA in parts:
            e = 0.0
            if G is not None:
                e += dt * float(np.sum(GT - G * t_new[s.cell]))
            if qA is not None:
                e += dt * float(np.sum(qA))
            by_surface[id(s)] = e
            walls += e
        energy = {"stored": stored, "source": source, "perfusion": perfusion, "boundary": boundary,
                  "walls": walls}
        return energy, source + perfusion + boundary + walls - stored, by_surface

    def surface(self, kind: str, index: int) -> Surface | None:
        return next((s for s in self.surfaces if s.kind == kind and s.index == index), None)

    def set_held_temperature(self, surface: Surface, value: float) -> None:
        """Shows a held region at its wall temperature in the fields (it takes no part in the solve)."""
        self.T[surface.held_mask] = value
        self._face_G_temperature = None    # T changed in place: face conductances from it are stale

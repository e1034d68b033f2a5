"""Pennes bioheat equation on a finite-volume grid, backward Euler, assembled once.

    dH/dt = div(k(T) grad T) + w_b rho_b c_b (T_a - T) + q_m + Q          (PHYSICS.md 1)

with H(T) the volumetric enthalpy: ``rho c T`` for tissue without phase change, a piecewise-linear
table for freezing or water vaporisation (:class:`TabulatedEnthalpy`). Each step solves

    V C* (T - T_old)/dt + sum_f G_f (T_P - T_N) + V w (T - T_a) + sum_walls G_w (T_P - T_w) = V Q

for T, with G_f = k_f A_f / d_f (k_f the harmonic face mean of k(T_old)) and C* the secant
capacity (H(T) - H(T_old))/(T - T_old), iterated to convergence when H is nonlinear so that the
stored energy is exactly H(T) - H(T_old).

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
import scipy.sparse.linalg as spla

from .operators import FixedPatternMatrix


class SolverError(RuntimeError):
    """A linear or nonlinear solve that did not converge."""


@dataclass
class Surface:
    """The wall between held cells (a probe part or a vessel) and the tissue next to it.

    ``bc`` is 'temperature' (wall at ``value`` degC), 'convection' (fluid at ``value`` degC with
    heat-transfer coefficient ``h`` W/(m^2 K)), 'heat_flux' (``value`` W/m^2 into the tissue; negative
    extracts heat) or 'adiabatic'. Models change ``bc``, ``value`` and ``h`` between steps.
    """
    name: str
    kind: str
    index: int
    face: np.ndarray        # interior-face indices
    cell: np.ndarray        # tissue cell next to each face
    area: np.ndarray        # m^2
    distance: np.ndarray    # tissue centre to face, m
    held_mask: np.ndarray   # cells of the region
    bc: str = "adiabatic"
    value: float = 37.0
    h: float = 0.0
    last_power: float = 0.0  # W into the tissue during the last step
    last_energy: float = 0.0  # J into the tissue during the last step

    @property
    def total_area(self) -> float:
        return float(self.area.sum())


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
        surfaces.append(Surface(region.name, region.kind, region.index, faces, cells, g.face_area[faces],
                                dist, m))
    return surfaces


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

    def __init__(self, tables, material: np.ndarray):
        self.tables = [(np.asarray(t, float), np.asarray(h, float)) for t, h in tables]
        self.material = np.asarray(material, int)
        self._groups = [np.nonzero(self.material == i)[0] for i in range(len(self.tables))]

    def enthalpy(self, temperature):
        temperature = np.asarray(temperature, float)
        out = np.empty_like(temperature)
        for (tn, hn), cells in zip(self.tables, self._groups):
            t = temperature[cells]
            h = np.interp(t, tn, hn)
            lo_slope = (hn[1] - hn[0]) / (tn[1] - tn[0])
            hi_slope = (hn[-1] - hn[-2]) / (tn[-1] - tn[-2])
            h = np.where(t < tn[0], hn[0] + lo_slope * (t - tn[0]), h)
            h = np.where(t > tn[-1], hn[-1] + hi_slope * (t - tn[-1]), h)
            out[cells] = h
        return out

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
        out = np.empty_like(np.asarray(enthalpy, float))
        for (tn, hn), cells in zip(self.tables, self._groups):
            h = enthalpy[cells]
            t = np.interp(h, hn, tn)
            lo_slope = (hn[1] - hn[0]) / (tn[1] - tn[0])
            hi_slope = (hn[-1] - hn[-2]) / (tn[-1] - tn[-2])
            t = np.where(h < hn[0], tn[0] + (h - hn[0]) / lo_slope, t)
            t = np.where(h > hn[-1], tn[-1] + (h - hn[-1]) / hi_slope, t)
            out[cells] = t
        return out


@dataclass
class StepReport:
    iterations: int = 0           # CG iterations, summed over nonlinear iterations
    nonlinear_iterations: int = 0
    energy: dict = field(default_factory=dict)   # J exchanged this step, by channel
    residual: float = 0.0         # J left unbalanced


class BioheatSolver:
    """Implicit Pennes solver on a :class:`ablation.mesh.Domain`.

    Parameters (arrays are per cell, SI)
    ----------
    storage : LinearStorage or TabulatedEnthalpy
    conductivity : callable T -> k (W/(m K)) per cell; ``conductivity_varies`` says whether it
        depends on T (when it does not, face conductances are computed once)
    perfusion : w_b rho_b c_b per cell (W/(m^3 K)); models may change it between steps
    arterial_temperature : degC
    boundary_temperature : degC held on the outer faces, or None for an adiabatic boundary
    initial_temperature : degC (scalar or per cell)
    """

    def __init__(self, domain, storage, conductivity, perfusion, arterial_temperature,
                 boundary_temperature, initial_temperature, conductivity_varies=True,
                 tolerance=1e-10, max_iterations=2000, max_nonlinear=50, nonlinear_tolerance=1e-6):
        self.domain = domain
        g = self.geometry = domain.geometry
        self.held = domain.held
        self.tissue = ~self.held
        self.storage = storage
        self.conductivity = conductivity
        self.conductivity_varies = conductivity_varies
        self.perfusion = np.asarray(perfusion, float) * self.tissue
        self.source = np.zeros(g.n_cells)          # W/m^3, set by the model
        self.arterial_temperature = float(arterial_temperature)
        self.boundary_temperature = boundary_temperature
        self.T = np.broadcast_to(np.asarray(initial_temperature, float), (g.n_cells,)).copy()
        self.surfaces = build_surfaces(domain)
        self.tolerance, self.max_iterations = tolerance, max_iterations
        self.max_nonlinear, self.nonlinear_tolerance = max_nonlinear, nonlinear_tolerance
        self.matrix = FixedPatternMatrix(g)
        self._area_over_d = g.face_area / g.face_distance
        self._open_face = ~(self.held[g.face_cell_1] | self.held[g.face_cell_2])
        # outer faces with area (the r = 0 axis of a cylindrical grid has none)
        outer = g.boundary_area > 0
        self._bcell = g.boundary_cell[outer]
        self._bG_geom = g.boundary_area[outer] / g.boundary_distance[outer]
        self.boundary_cells = np.unique(self._bcell)
        self._k_cell = None
        self._face_G = None

    # ------------------------------------------------------------------ assembly
    def face_conductance(self, temperature=None) -> np.ndarray:
        """G_f = k_f A_f / d_f (W/K) on interior faces; 0 on faces touching held cells."""
        if self._face_G is None or self.conductivity_varies:
            t = self.T if temperature is None else temperature
            self._k_cell = np.asarray(self.conductivity(t), float) * np.ones(self.geometry.n_cells)
            kf = self.geometry.harmonic_face_value(self._k_cell)
            self._face_G = kf * self._area_over_d * self._open_face
        return self._face_G

    def wall_terms(self):
        """Per-cell implicit conductance (W/K) and explicit inflow (W) of every wall condition,
        and per-surface (G, G*T_w, q*A) for energy bookkeeping."""
        n = self.geometry.n_cells
        diag = np.zeros(n)
        rhs = np.zeros(n)
        k = self._k_cell
        parts = []
        for s in self.surfaces:
            if s.bc == "temperature":
                G = k[s.cell] * s.area / s.distance
                parts.append((s, G, G * s.value, None))
            elif s.bc == "convection":
                G = s.area / (s.distance / k[s.cell] + 1.0 / s.h)
                parts.append((s, G, G * s.value, None))
            elif s.bc == "heat_flux":
                parts.append((s, None, None, s.value * s.area))
            elif s.bc == "adiabatic":
                parts.append((s, None, None, None))
            else:
                raise ValueError(f"unknown wall condition {s.bc!r} on {s.name}")
            _, G, GT, qA = parts[-1]
            if G is not None:
                np.add.at(diag, s.cell, G)
                np.add.at(rhs, s.cell, GT)
            if qA is not None:
                np.add.at(rhs, s.cell, qA)
        return diag, rhs, parts

    def assemble(self, dt, capacity, t_old, t_anchor=None):
        """Matrix and right-hand side of one backward-Euler step with storage ``capacity``:
        V C (T - t_anchor)/dt, t_anchor = t_old unless given (the enthalpy Newton step's anchor)."""
        g = self.geometry
        V = g.volumes
        face_G = self.face_conductance(t_old)
        diag = capacity * V / dt
        rhs = diag * (t_old if t_anchor is None else t_anchor)
        tissue = self.tissue
        perfusion = self.perfusion * tissue
        diag = diag + perfusion * V
        rhs = rhs + (perfusion * self.arterial_temperature + self.source * tissue) * V
        wall_diag, wall_rhs, parts = self.wall_terms()
        diag += wall_diag
        rhs += wall_rhs
        if self.boundary_temperature is not None:
            k_b = self._k_cell[self._bcell]
            Gb = k_b * self._bG_geom * tissue[self._bcell]
            diag += np.bincount(self._bcell, Gb, g.n_cells)
            rhs += np.bincount(self._bcell, Gb * self.boundary_temperature, g.n_cells)
        else:
            Gb = None
        A = self.matrix.assemble(diag, face_G)
        return A, rhs, parts, Gb

    # ------------------------------------------------------------------ stepping
    def _solve(self, A, b, x0):
        d = self.matrix.diagonal()
        inv = 1.0 / d
        M = spla.LinearOperator(A.shape, matvec=lambda x: inv * x, dtype=float)
        count = [0]

        def tick(_):
            count[0] += 1
        x, info = spla.cg(A, b, x0=x0, rtol=self.tolerance, atol=0.0, maxiter=self.max_iterations,
                          M=M, callback=tick)
        if info != 0:
            raise SolverError(f"conjugate gradients did not converge in {self.max_iterations} "
                              f"iterations (relative tolerance {self.tolerance:g})")
        return x, count[0]

    def step(self, dt: float) -> StepReport:
        t_old = self.T.copy()
        h_old = self.storage.enthalpy(t_old)
        guess = t_old
        report = StepReport()
        if not self.storage.linear and hasattr(self.storage, "temperature"):
            return self._step_enthalpy(dt, t_old, h_old)
        for it in range(self.max_nonlinear):
            capacity = self.storage.secant(t_old, guess)
            A, b, parts, Gb = self.assemble(dt, capacity, t_old)
            t_new, n_iter = self._solve(A, b, guess)
            report.iterations += n_iter
            report.nonlinear_iterations = it + 1
            if self.storage.linear:
                break
            change = float(np.max(np.abs(t_new - guess)))
            # damp late iterations: a secant that jumps across a phase interval can cycle
            guess = t_new if it < 8 else 0.5 * (t_new + guess)
            if change < self.nonlinear_tolerance:
                guess = t_new
                break
        else:
            raise SolverError(f"enthalpy iterations did not converge in {self.max_nonlinear} iterations "
                              f"(last change {change:.3g} K)")
        t_new = guess if not self.storage.linear else t_new
        self.T = t_new
        report.energy, report.residual = self._energy(dt, t_old, h_old, t_new, parts, Gb)
        return report

    def _step_enthalpy(self, dt, t_old, h_old) -> StepReport:
        """Newton iterations on the enthalpy with the update made in H, not in T (Nedjar 2002):

            V C(T_k) (T - T_k)/dt + V (H(T_k) - H_old)/dt + (conduction, perfusion, walls)(T) = V Q,
            H_{k+1} = H(T_k) + C(T_k) (T - T_k),  T_{k+1} = T(H_{k+1}),

        C the tangent capacity dH/dT. Recovering T from the linearised H keeps a cell that crosses a
        latent interval (water vaporisation: ~500x the sensible capacity over 1 K) from jumping back
        and forth across it, where the secant iteration can cycle. At convergence the stored energy is
        exactly H(T) - H_old."""
        guess = t_old
        report = StepReport()
        change = float("inf")
        for it in range(self.max_nonlinear):
            h_guess = self.storage.enthalpy(guess)
            capacity = self.storage.capacity(guess)
            anchor = guess - (h_guess - h_old) / capacity
            A, b, parts, Gb = self.assemble(dt, capacity, t_old, anchor)
            t_lin, n_iter = self._solve(A, b, guess)
            report.iterations += n_iter
            report.nonlinear_iterations = it + 1
            new = self.storage.temperature(h_guess + capacity * (t_lin - guess))
            change = float(np.max(np.abs(new - guess)))
            guess = new
            if change < self.nonlinear_tolerance:
                break
        else:
            raise SolverError(f"enthalpy iterations did not converge in {self.max_nonlinear} iterations "
                              f"(last change {change:.3g} K)")
        # the fluxes of the last assembly, at the converged temperature, close the heat balance
        A, b, parts, Gb = self.assemble(dt, self.storage.capacity(guess), t_old, guess)
        self.T = guess
        report.energy, report.residual = self._energy(dt, t_old, h_old, guess, parts, Gb)
        return report

    def _energy(self, dt, t_old, h_old, t_new, parts, Gb):
        V = self.geometry.volumes
        tissue = self.tissue
        stored = float(np.sum((self.storage.enthalpy(t_new) - h_old)[tissue] * V[tissue]))
        perfusion = dt * float(np.sum((self.perfusion * tissue) * V * (self.arterial_temperature - t_new)))
        source = dt * float(np.sum((self.source * V)[tissue]))
        boundary = 0.0
        if Gb is not None:
            boundary = dt * float(np.sum(Gb * (self.boundary_temperature - t_new[self._bcell])))
        walls = 0.0
        for s, G, GT, qA in parts:
            e = 0.0
            if G is not None:
                e += dt * float(np.sum(GT - G * t_new[s.cell]))
            if qA is not None:
                e += dt * float(np.sum(qA))
            s.last_energy, s.last_power = e, e / dt
            walls += e
        energy = {"stored": stored, "source": source, "perfusion": perfusion, "boundary": boundary,
                  "walls": walls}
        return energy, source + perfusion + boundary + walls - stored

    def surface(self, kind: str, index: int) -> Surface | None:
        return next((s for s in self.surfaces if s.kind == kind and s.index == index), None)

    def set_held_temperature(self, surface: Surface, value: float) -> None:
        """Shows a held region at its wall temperature in the fields (it takes no part in the solve)."""
        self.T[surface.held_mask] = value

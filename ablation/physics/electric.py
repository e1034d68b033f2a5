"""Quasi-static electric problem of radiofrequency ablation on the finite-volume grid.

    div(sigma(T) grad V) = 0          (docs/physics.md section 2, 300-500 kHz)

Electrode cells are held at the electrode potential, insulating cells (needle shafts) carry no
current, and the ground is a set of outer boundary faces at V = 0. Discretely this is the graph
Laplacian of :class:`ablation.physics.operators.FixedPatternMatrix` with face conductances
G_f = sigma_f A_f / d_f (sigma_f the harmonic face mean):

    K phi = b,   P = phi^T K phi = sum over resistors G (delta phi)^2 = I V0.

The problem is solved once per step at unit potential (V0 = 1 V); the current I1 through the
electrode faces equals the power P1 at 1 V, so the tissue impedance is Z = 1/I1 and any target
power P is reached with V0 = sqrt(P / I1) (all fields scale with V0, the heat source with V0^2).

Joule heating is distributed per *resistor*, not from cell-centred gradients (those overestimated
the power 2x next to an electrode, docs/design.md): the power G_f (phi_P - phi_N)^2 of an interior
face goes half to each of its cells; the power of an electrode face (electrode wall to the tissue
cell centre) and of a ground face (cell centre to the outer face) lies inside the tissue cell and
goes to it entirely. The cell sources therefore sum exactly to phi^T K phi = I1 (to the solver
tolerance), and the heat balance can close.

Electrode and insulator rows are kept in the matrix as identity rows with their coupling moved to
the right-hand side, so the matrix stays symmetric positive definite with a fixed pattern and
algebraic multigrid (pyamg) can precondition conjugate gradients. The AMG hierarchy is
rebuilt only when the iteration count has grown (sigma changed a lot since the last setup).
Measured on the 10 530-cell axisymmetric cooled-needle grid (one BLAS thread, a state with a
desiccated rim): Jacobi-CG 352 iterations, 18 ms; SA-AMG-CG 13 iterations, 18 ms setup + 18 ms
solve (pyamg's per-cycle overhead), 27-42 iterations with a hierarchy from an earlier sigma; a
sparse LU (symmetric minimum-degree ordering) 17 ms to factor and 1 iteration, or ~20 iterations
(10 ms) as preconditioner for a matrix one heating step later. So 'auto' takes LU on axisymmetric
grids, refactored when a solve needed more than ``lu_rebuild`` = 30 iterations (about the cost of a
new factorisation), and AMG on 3-D grids, where LU fill-in does not fit (docs/design.md: 60^3 went past 5 GB);
since issue 12 classical Ruge-Stueben AMG, which took half the time of smoothed aggregation per
solve on the 223 200-cell liver phantom (:class:`ablation.physics.linear_solvers.AMGCG`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ablation.geometry.finite_volume import FVGeometry
from ablation.physics.linear_solvers import AMGCG, LUCG, DirectLU, JacobiCG, LinearSolver, LinearSolverError
from ablation.physics.operators import FixedPatternMatrix


class ElectricSolverError(RuntimeError):
    """The electric solve did not converge."""


@dataclass
class UnitSolution:
    """The field at unit electrode potential (1 V) for the present sigma.

    phi : potential per cell (V; electrode cells 1, insulators 0)
    current : I1 through the electrode faces (A) = power at 1 V (W)
    heating : Joule power per cell at 1 V (W, not W/m^3), summing to ``current``
    iterations : linear-solver iterations of this solve (0 for a direct solve)
    """
    phi: np.ndarray
    current: float
    heating: np.ndarray
    iterations: int

    @property
    def impedance(self) -> float:
        """Tissue impedance between electrode and ground, Z = 1/I1 (ohm)."""
        return 1.0 / self.current if self.current > 0 else float("inf")


class ElectricSolver:
    """Unit-potential solves of div(sigma grad V) = 0 on a :class:`FVGeometry`.

    Parameters
    ----------
    geometry : FVGeometry (physical volumes and areas)
    electrode : bool per cell, held at the electrode potential
    insulator : bool per cell, no current (needle shafts); may be None
    ground_faces : bool per boundary face of ``geometry`` (V = 0 there); faces without area
        (the r = 0 axis) are ignored
    wall_length : per interior face, the distance (m) from the tissue cell centre to the electrode
        wall to use instead of the distance to the face (NaN: the face), e.g. the log-law lengths
        of a thin 3-D electrode (``Domain.wall_length``); may be None
    ground_extra : per boundary face, a length (m) of the same tissue beyond the face, in series with
        the half cell before the ground: 0 (default) puts the ground on the face; r / cos(theta)
        (:func:`far_field_lengths`) is the rest of an unbounded medium, whose resistance then lies
        outside the grid and heats no cell
    preconditioner : 'lu' (CG preconditioned by the sparse LU of a recent matrix), 'amg' (CG with pyamg
        Ruge-Stueben AMG) - both reused across solves until the iteration count grows -, 'jacobi'
        (CG), 'direct' (a sparse LU of every matrix), or a :class:`LinearSolver`
        (:mod:`ablation.physics.linear_solvers`), which then brings its own tolerance and limits
    tolerance : relative residual of conjugate gradients
    rebuild_factor : the AMG hierarchy is rebuilt when a solve takes more than this factor times
        the iterations of the first solve after the last setup (sigma has drifted)
    lu_rebuild : the LU preconditioner is refactored after a solve that took more iterations
        (30 iterations cost about as much as a new factorisation on the axisymmetric grids here)
    """

    def __init__(self, geometry: FVGeometry, electrode: np.ndarray, insulator=None, ground_faces=None,
                 preconditioner: str | LinearSolver = "amg", tolerance: float = 1e-10, max_iterations: int = 2000,
                 rebuild_factor: float = 2.0, lu_rebuild: int = 30, current_from_power: bool = True,
                 ground_extra=None, wall_length=None):
        self.geometry = g = geometry
        self.current_from_power = current_from_power
        n = g.n_cells
        self.electrode = np.asarray(electrode, bool)
        self.insulator = np.zeros(n, bool) if insulator is None else np.asarray(insulator, bool) & ~self.electrode
        if not self.electrode.any():
            raise ValueError("the electric problem needs at least one electrode cell")
        self.fixed = self.electrode | self.insulator
        self.free = ~self.fixed
        p, q = g.face_cell_1, g.face_cell_2
        self._p, self._q = p, q
        # faces between two free (conducting tissue) cells carry a matrix coupling
        self._open = self.free[p] & self.free[q]
        # electrode faces: one side electrode, the other free tissue
        self._elec_p = self.electrode[p] & self.free[q]     # electrode is cell 1, tissue is cell 2
        self._elec_q = self.electrode[q] & self.free[p]
        self._area_over_d = g.face_area / g.face_distance
        # distance from the tissue cell centre to an electrode face (the resistor lies in the tissue)
        self._d_tissue_p = g.face_distance - g.face_distance_1   # tissue is cell 2
        self._d_tissue_q = g.face_distance_1                      # tissue is cell 1
        # the electrode faces as a short list (a small part of the grid's faces): their tissue
        # cell and geometric factor A / d_tissue, so a solve touches only them
        on_p, on_q = np.nonzero(self._elec_p)[0], np.nonzero(self._elec_q)[0]
        self._ecell = np.concatenate([q[on_p], p[on_q]])
        d_tissue = np.concatenate([self._d_tissue_p[on_p], self._d_tissue_q[on_q]])
        if wall_length is not None:
            # a thin 3-D electrode: the wall law of a line source (geometry/probe_wall.py)
            law = np.asarray(wall_length, float)[np.concatenate([on_p, on_q])]
            d_tissue = np.where(np.isnan(law), d_tissue, law)
        self._e_geom = np.concatenate([g.face_area[on_p], g.face_area[on_q]]) / d_tissue
        self._e_face = (on_p, on_q)
        if ground_faces is None:
            ground_faces = np.ones(g.boundary_cell.size, bool)
        ground = np.asarray(ground_faces, bool) & (g.boundary_area > 0)
        if not ground.any():
            raise ValueError("the electric problem needs ground faces with area")
        self._gcell = g.boundary_cell[ground]
        extra = np.zeros(g.boundary_cell.size) if ground_extra is None else np.asarray(ground_extra, float)
        d = g.boundary_distance[ground]
        self._g_geom = g.boundary_area[ground] / (d + extra[ground])
        # the share of a ground face's power dissipated in its half cell (the rest lies beyond the grid)
        self._g_inside = d / (d + extra[ground])
        self.matrix = FixedPatternMatrix(g)
        self.tolerance, self.max_iterations = tolerance, max_iterations
        self.rebuild_factor, self.lu_rebuild = rebuild_factor, lu_rebuild
        self.linear_solver = self._linear_solver(preconditioner)
        self.preconditioner = self.linear_solver.name
        self._phi = None

    def _linear_solver(self, choice) -> LinearSolver:
        if isinstance(choice, LinearSolver):
            return choice
        tol, limit = self.tolerance, self.max_iterations
        if choice == "lu":
            return LUCG(tol, limit, rebuild_iterations=self.lu_rebuild)
        if choice == "amg":
            return AMGCG(tol, limit, rebuild_factor=self.rebuild_factor)
        if choice == "jacobi":
            return JacobiCG(tol, limit)
        if choice == "direct":
            return DirectLU(tol, limit)
        raise ValueError(f"electric preconditioner {choice!r}: expected 'lu', 'amg', 'jacobi' or 'direct'")

    @property
    def setups(self) -> int:
        """Preconditioner builds (or factorisations) so far."""
        return self.linear_solver.setups

    # -------------------------------------------------------------------- conductances
    def conductances(self, sigma: np.ndarray):
        """Face, electrode-face and ground conductances (S) for per-cell sigma (S/m)."""
        sigma = np.asarray(sigma, float) * np.ones(self.geometry.n_cells)
        face = self._face_conductances(sigma)
        elec = self._electrode_conductances(sigma)
        on_p, on_q = self._e_face
        elec_p, elec_q = np.zeros(face.size), np.zeros(face.size)
        elec_p[on_p], elec_q[on_q] = elec[:on_p.size], elec[on_p.size:]
        return face, elec_p, elec_q, sigma[self._gcell] * self._g_geom

    def _face_conductances(self, sigma):
        """G_f = sigma_f A_f / d_f (S) between two conducting tissue cells, 0 elsewhere."""
        return self.geometry.harmonic_face_value(sigma) * self._area_over_d * self._open

    def _electrode_conductances(self, sigma):
        """Conductance (S) of each electrode face: electrode wall to the tissue cell centre."""
        return sigma[self._ecell] * self._e_geom

    def solve_unit(self, sigma: np.ndarray) -> UnitSolution:
        """Potential, electrode current and per-cell Joule power at 1 V for conductivity ``sigma``."""
        n = self.geometry.n_cells
        sigma = np.asarray(sigma, float) * np.ones(n)
        face = self._face_conductances(sigma)
        elec = self._electrode_conductances(sigma)
        ground = sigma[self._gcell] * self._g_geom
        p, q, ecell = self._p, self._q, self._ecell
        # electrode coupling: moved to the diagonal of the tissue cell and to the right-hand side
        coupling = np.bincount(ecell, elec, n)
        diag = np.bincount(self._gcell, ground, n) + coupling
        rhs = coupling                                   # times V_electrode = 1
        diag[self.fixed] = 1.0
        rhs[self.electrode] = 1.0
        rhs[self.insulator] = 0.0
        A = self.matrix.assemble(diag, face)
        phi, iterations = self._solve(A, rhs)
        phi[self.electrode] = 1.0
        phi[self.insulator] = 0.0
        # currents and resistor powers
        drop = 1.0 - phi[ecell]                          # electrode wall to tissue centre, V
        d = phi[p] - phi[q]
        half = 0.5 * face * d * d
        heating = np.bincount(p, half, n) + np.bincount(q, half, n)
        heating += np.bincount(ecell, elec * drop ** 2, n)
        ground_power = ground * phi[self._gcell] ** 2
        heating += np.bincount(self._gcell, ground_power * self._g_inside, n)
        beyond = float(np.sum(ground_power * (1.0 - self._g_inside)))
        # I1 as the power phi^T K phi rather than the electrode faces' current: equal for the exact
        # potential, but the power's error is of second order in the potential's (Thomson's
        # principle: phi minimises it), the current's of first order, and the heating sums to it
        current = float(np.sum(heating)) + beyond if self.current_from_power else float(np.sum(elec * drop))
        self._phi = phi
        return UnitSolution(phi, current, heating, iterations)

    # -------------------------------------------------------------------- linear algebra
    def _solve(self, A, b):
        """A reusable preconditioner (LU, AMG) is rebuilt by the solver once a solve needed many
        iterations: sigma has drifted, e.g. cells desiccating next to the electrode."""
        x0 = self._phi if self._phi is not None else np.zeros_like(b)
        try:
            return self.linear_solver.solve(A, b, x0, diagonal=self.matrix.diagonal())
        except LinearSolverError as exc:
            raise ElectricSolverError(f"electric solve: {exc}") from exc


def far_field_lengths(geometry: FVGeometry, electrode: np.ndarray) -> np.ndarray:
    """Per boundary face, the length r / cos(theta) (m) that continues the grid's tissue to infinity
    for a current leaving the electrode as from a point at its centroid: the potential of a point
    source falls as 1/r, so dV/dn = -V cos(theta) / r on the face (r from the centroid, theta between
    r and the outward normal), a face resistance r / (sigma A cos(theta)) to a ground at infinity.
    With it the far field of a compact electrode no longer depends on where the grid ends: for a
    sphere in a sphere the impedance is that of the unbounded medium, 1 / (4 pi sigma a)."""
    g = geometry
    weights = g.volumes[electrode]
    centre = (g.centers[:, electrode] * weights).sum(axis=1) / weights.sum()
    if g.axisymmetric:
        centre[0] = 0.0                  # (r, z): an electrode on the axis, a ring's centroid on it
    cells = g.boundary_cell
    outward = g.boundary_center - g.centers[:, cells]
    outward /= np.maximum(np.linalg.norm(outward, axis=0), 1e-300)
    ray = g.boundary_center - centre[:, None]
    r = np.linalg.norm(ray, axis=0)
    # a face seen edge-on from the centre (a corner of a box around an off-centre electrode) would take
    # an unbounded length; 0.1 caps it at ten times r
    cos = np.clip(np.sum(ray * outward, axis=0) / np.maximum(r, 1e-300), 0.1, 1.0)
    return r / cos


def radial_geometry(edges, shape: str) -> FVGeometry:
    """A 1-D body-fitted radial :class:`FVGeometry` ('sphere' or 'cylinder', per metre of length).

    Used by the verification cases (docs/physics.md 6 case 3), where a body-fitted electrode surface makes
    the discretisation second order. Volumes 4/3 pi (r_o^3 - r_i^3) or pi (r_o^2 - r_i^2), face
    areas 4 pi r^2 or 2 pi r (m^3, m^2). The outer face (r = R) is the only boundary with area.
    """
    r = np.asarray(edges, float)
    c = 0.5 * (r[1:] + r[:-1])
    n = c.size
    if shape == "sphere":
        volumes = 4.0 / 3.0 * np.pi * (r[1:] ** 3 - r[:-1] ** 3)
        area = 4.0 * np.pi * r ** 2
    elif shape == "cylinder":
        volumes = np.pi * (r[1:] ** 2 - r[:-1] ** 2)
        area = 2.0 * np.pi * r
    else:
        raise ValueError(f"shape {shape!r}: expected 'sphere' or 'cylinder'")
    p = np.arange(n - 1)
    return FVGeometry(
        volumes=volumes, centers=c[None, :], face_cell_1=p, face_cell_2=p + 1, face_area=area[1:-1],
        face_distance=c[1:] - c[:-1], face_distance_1=r[1:-1] - c[:-1],
        interior_face_ids=np.arange(1, n), boundary_cell=np.array([0, n - 1]),
        boundary_area=np.array([area[0], area[-1]]), boundary_distance=np.array([c[0] - r[0], r[-1] - c[-1]]),
        boundary_center=np.array([[r[0], r[-1]]]), boundary_face_ids=np.array([0, n]), axisymmetric=False)

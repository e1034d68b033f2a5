"""The Pennes step written as FiPy terms: the reference the fast path is tested against.

    TransientTerm(C) == DiffusionTerm(k_f) - ImplicitSourceTerm(w + G_wall/V)
                        + w T_a + Q + (G_wall T_wall + q_wall A)/V,   T = T_b on outer faces

with the same ingredients as :class:`ablation.physics.bioheat.BioheatSolver`: k_f is FiPy's own
``harmonicFaceValue`` of k(T_old), or, when the solver has a Kirchhoff potential, the mean of k
between the two temperatures of each face seen from each cell and joined with FiPy's face weights
(written here again on FiPy's face numbering), zeroed on faces that touch held cells (probes, vessels); wall
conditions of embedded surfaces are implicit sources on the tissue cells next to them. FiPy
rebuilds this matrix from the terms on every sweep, which is why the time loop does not use it
(docs/design.md: 30-70x slower), but it is independent of the fast path's assembly code.
"""
from __future__ import annotations



from ablation.runtime import import_fipy

fp = import_fipy()
import numpy as np


def fipy_step(heat, dt, capacity=None, solver=None):
    """Assemble (and solve) one backward-Euler step of ``heat`` (a BioheatSolver) with FiPy terms.

    Returns (matrix, rhs, T_new) with FiPy's per-radian geometry on cylindrical grids (the fast
    path's physical matrix is 2 pi times this). ``heat`` is not modified.
    """
    mesh = heat.domain.fipy_mesh()
    g = heat.geometry
    n = g.n_cells
    t_old = heat.T.copy()
    if capacity is None:
        capacity = heat.storage.secant(t_old, t_old) * np.ones(n)
    T = fp.CellVariable(mesh=mesh, value=t_old, hasOld=True)
    k = fp.CellVariable(mesh=mesh, value=np.asarray(heat.conductivity(t_old), float) * np.ones(n))
    held = heat.held
    ids = np.ma.filled(mesh.faceCellIDs, -1)
    touches_held = held[ids[0]] | np.where(ids[1] >= 0, held[np.maximum(ids[1], 0)], False)
    boundary_faces = _fipy_boundary_faces(mesh, g, heat.held_outer) if heat._bcell.size else np.zeros(0, int)
    if heat.conductivity_integral is None:
        k_of_face = k.harmonicFaceValue
    else:
        k_of_face = _kirchhoff_faces(mesh, heat, t_old, np.asarray(k.value), boundary_faces)
    k_face = k_of_face * fp.FaceVariable(mesh=mesh, value=(~touches_held).astype(float))

    # wall conditions and outer boundary from the same surfaces the fast path uses
    heat.face_conductance(t_old)          # sets heat._k_cell from k(T_old)
    wall_G, wall_rhs, _ = heat.wall_terms()
    V = g.volumes
    tissue = ~held
    perfusion = heat.perfusion * tissue
    implicit = fp.CellVariable(mesh=mesh, value=perfusion + wall_G / V)
    explicit = fp.CellVariable(mesh=mesh, value=perfusion * heat.arterial_temperature + heat.source * tissue
                               + wall_rhs / V)
    eq = (fp.TransientTerm(coeff=fp.CellVariable(mesh=mesh, value=capacity))
          == fp.DiffusionTerm(coeff=k_face) - fp.ImplicitSourceTerm(coeff=implicit) + explicit)
    if heat._bcell.size:
        values = np.zeros(mesh.numberOfFaces)
        values[boundary_faces] = heat.boundary_temperature
        mask = np.zeros(mesh.numberOfFaces, bool)
        mask[boundary_faces] = True
        mask &= ~touches_held      # the fast path gives held cells no boundary conductance either
        T.constrain(fp.FaceVariable(mesh=mesh, value=values), where=mask)
    eq.cacheMatrix()
    eq.cacheRHSvector()
    solver = solver or fp.solvers.scipy.LinearLUSolver(tolerance=1e-15)
    eq.solve(var=T, dt=dt, solver=solver)
    matrix = eq.matrix.matrix.tocsr()
    return matrix, np.asarray(eq.RHSvector).copy(), np.asarray(T.value).copy()


def _kirchhoff_faces(mesh, heat, t_old, k_cell, boundary_faces) -> np.ndarray:
    """Per FiPy face: the mean k between the face's two temperatures (the neighbour's, or the held
    boundary temperature on an outer face) from the Kirchhoff potential of each side's cell, joined
    by FiPy's distance-weighted harmonic mean."""
    ids = np.ma.filled(mesh.faceCellIDs, -1)
    first, second = ids[0], ids[1]
    interior = second >= 0
    other_t = np.where(interior, t_old[np.maximum(second, 0)], t_old[first])
    other_t[boundary_faces] = heat.boundary_temperature

    def mean_k(cells, t_self, t_other):
        gap = t_self - t_other
        far = np.abs(gap) > 1e-6
        phi = heat.conductivity_integral(t_self, cells) - heat.conductivity_integral(t_other, cells)
        return np.where(far, phi / np.where(far, gap, 1.0), k_cell[cells])

    k_1 = mean_k(first, t_old[first], other_t)
    k_2 = np.where(interior, mean_k(np.maximum(second, 0), t_old[np.maximum(second, 0)], t_old[first]), k_1)
    alpha = np.asarray(mesh._faceToCellDistanceRatio)
    return k_1 * k_2 / ((k_2 - k_1) * alpha + k_1)


def _fipy_boundary_faces(mesh, geometry, boundary_index) -> np.ndarray:
    """FiPy face ids of the geometry's boundary faces ``boundary_index``, matched by their cell and
    face centre (the fast path numbers faces its own way)."""
    ids = np.ma.filled(mesh.faceCellIDs, -1)
    exterior = np.nonzero(ids[1] < 0)[0]
    centers = np.asarray(mesh.faceCenters.value)[:, exterior]
    scale = float(np.max(np.abs(centers))) or 1.0
    key = lambda cell, c: (int(cell), *np.round(np.asarray(c) / scale, 9))
    lookup = {key(ids[0, f], centers[:, i]): f for i, f in enumerate(exterior)}
    return np.array([lookup[key(geometry.boundary_cell[b], geometry.boundary_center[:, b])]
                     for b in boundary_index], dtype=int)

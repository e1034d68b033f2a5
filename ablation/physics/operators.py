"""Finite-volume operators assembled once, with a fixed sparsity pattern.

FiPy rebuilds its matrix from term objects at every step (0.5-1 s for a 60^3 grid, docs/design.md).
The time loop instead uses :class:`FixedPatternMatrix`: the sparsity pattern (diagonal plus one
pair of off-diagonal entries per interior face) is fixed once, and each step only rewrites the CSR
data array. The FiPy term formulation of the same equation stays in
:mod:`ablation.verification.fipy_reference`, and the tests check that both assemble the same matrix.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ablation.geometry.finite_volume import FVGeometry

class FixedPatternMatrix:
    """CSR matrix ``diag(d) + sum_f G_f (e_P - e_N)(e_P - e_N)^T`` with a pattern fixed once.

    ``assemble(diagonal, face_conductance)`` rewrites the data array in place: the off-diagonal
    entries are ``-G_f`` and the face conductances are added to both cells' diagonal. This is the
    graph-Laplacian form every diffusion-like operator here takes (heat: G = k A / d; electric
    current: G = sigma A / d).

    The face conductances are read, never changed, and must not be changed in place afterwards:
    when the same array comes again (the enthalpy iterations of a heat step share one k(T_old)),
    only the diagonal is rewritten and the face sums are reused.
    """

    def __init__(self, geometry: FVGeometry):
        n = geometry.n_cells
        p, q = geometry.face_cell_1, geometry.face_cell_2
        rows = np.concatenate([np.arange(n), p, q])
        cols = np.concatenate([np.arange(n), q, p])
        order = np.lexsort((cols, rows))
        position = np.empty_like(order)
        position[order] = np.arange(order.size)  # where each (row, col) entry lives in data
        self._diag_pos = position[:n]
        self._pq_pos = position[n:n + p.size]
        self._qp_pos = position[n + p.size:]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(indptr, rows + 1, 1)
        self.matrix = sp.csr_matrix(
            (np.zeros(order.size), cols[order].astype(np.int32), np.cumsum(indptr).astype(np.int32)),
            shape=(n, n))
        self._p, self._q, self._n = p, q, n
        self._faces = None       # the face conductance array last written (by identity)
        self._face_sum = None    # its sum per cell

    def assemble(self, diagonal: np.ndarray, face_conductance: np.ndarray) -> sp.csr_matrix:
        data = self.matrix.data
        if face_conductance is not self._faces:
            self._face_sum = np.bincount(self._p, face_conductance, self._n) \
                + np.bincount(self._q, face_conductance, self._n)
            data[self._pq_pos] = -face_conductance
            data[self._qp_pos] = -face_conductance
            self._faces = face_conductance
        data[self._diag_pos] = diagonal + self._face_sum
        return self.matrix

    def diagonal(self) -> np.ndarray:
        return self.matrix.data[self._diag_pos]

    def face_flux(self, face_conductance: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Flow from cell 1 to cell 2 across each interior face, G_f (x_1 - x_2)."""
        return face_conductance * (x[self._p] - x[self._q])

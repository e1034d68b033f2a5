"""Linear solvers for the symmetric positive definite systems of the heat and electric problems.

Both problems assemble a :class:`ablation.physics.operators.FixedPatternMatrix` (a graph Laplacian
plus a positive diagonal) and hand it to a :class:`LinearSolver`:

    x, iterations = solver.solve(matrix, rhs, x0, diagonal=..., correction=...)

``correction`` is an optional :class:`SymmetricLowRank` update, A_eff = A - sum_s g_s g_s^T / G_s
(the heat problem's power-limited walls); ``diagonal`` is the diagonal of A when the caller has it
at hand (the fixed-pattern matrix stores it, saving a pass over the CSR data).

Implementations (names as in the [solver] section):

* ``cg_jacobi``  conjugate gradients with the Jacobi (diagonal) preconditioner: no setup, the
  cheapest per iteration; the heat problem's default (diagonally dominant through the storage
  term V rho c / dt, 20-30 iterations on the grids here).
* ``cg_amg``     conjugate gradients preconditioned by one V-cycle of pyamg classical (Ruge-Stueben)
  AMG. The hierarchy is reused across solves and rebuilt from the present matrix when a solve took
  more than ``rebuild_factor`` times the iterations of the first solve after the last setup.
* ``cg_lu``      conjugate gradients preconditioned by the sparse LU factorisation of a recent
  matrix (an exact inverse when the matrix has not changed: 1 iteration), refactored after a solve
  that took more than ``rebuild_iterations`` iterations.
* ``direct``     a sparse LU factorisation of every matrix and one triangular solve (0 iterations;
  the low-rank correction by the Sherman-Morrison-Woodbury identity).

The measurements behind the electric problem's choices are in :mod:`ablation.physics.electric`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

# symmetric minimum-degree ordering: half the fill of SuperLU's default COLAMD on the axisymmetric
# grids here (365 k vs 674 k nonzeros in L + U on 10 530 cells) and a 10x faster triangular solve
LU_ORDERING = "MMD_AT_PLUS_A"


class LinearSolverError(RuntimeError):
    """A linear solve that did not reach its tolerance within its iteration limit."""


class SymmetricLowRank:
    """The symmetric update A - sum_s g_s g_s^T / G_s, each g_s nonzero on ``cells_s`` only.

    ``terms`` is a list of (cells, g, G) with cells an index array, g the weights on those cells
    and G > 0 the scale (for a power-limited wall: the wall conductances and their sum, W/K)."""

    def __init__(self, n: int, terms):
        self.n = n
        self.terms = [(np.asarray(c, int), np.asarray(g, float), float(G)) for c, g, G in terms]
        self._U = None   # columns() as CSR, built on the first apply

    def apply(self, matrix, x: np.ndarray) -> np.ndarray:
        """(A - U diag(c) U^T) x. Called once per CG iteration: with U as a sparse matrix instead of
        a loop of np.add.at per wall this was 4x faster and no longer a fifth of a 3-D cryo run
        (issue 12 profile)."""
        if self._U is None:
            U, c = self.columns()
            self._U, self._Ut, self._c = U.tocsr(), U.T.tocsr(), c
        return matrix @ x - self._U @ (self._c * (self._Ut @ x))

    def diagonal(self, diagonal: np.ndarray) -> np.ndarray:
        """The diagonal of the updated matrix. A cell listed twice in a term (next to two faces of
        the wall) carries the sum of its weights: its entry is -(g_1 + g_2)^2 / G, not the sum of
        the squares (before issue 12 it was, which only weakened the Jacobi preconditioner)."""
        d = np.array(diagonal, float)
        for cells, g, total in self.terms:
            summed = np.bincount(cells, g, self.n)
            listed = np.unique(cells)
            d[listed] -= summed[listed] ** 2 / total
        return d

    def columns(self):
        """U (n x m, sparse) and the weights c (m) with the update - U diag(c) U^T."""
        rows = np.concatenate([cells for cells, _, _ in self.terms])
        cols = np.concatenate([np.full(cells.size, j) for j, (cells, _, _) in enumerate(self.terms)])
        vals = np.concatenate([g for _, g, _ in self.terms])
        U = sp.csc_matrix((vals, (rows, cols)), shape=(self.n, len(self.terms)))
        return U, np.array([1.0 / total for _, _, total in self.terms])


class LinearSolver(ABC):
    """Solves A x = b for the symmetric positive definite matrices assembled here.

    ``solve`` returns (x, iterations); ``setups`` counts preconditioner builds or factorisations."""
    name = ""

    def __init__(self, tolerance: float = 1e-10, max_iterations: int = 2000):
        self.tolerance, self.max_iterations = float(tolerance), int(max_iterations)
        self.setups = 0

    @abstractmethod
    def solve(self, matrix, rhs, x0=None, *, diagonal=None, correction: SymmetricLowRank | None = None):
        """(x, iterations) for A x = b (A - correction when given), starting from x0 if iterative."""

    # --------------------------------------------------------------- conjugate gradients
    def _operator(self, matrix, correction):
        if correction is None or not correction.terms:
            return matrix
        return spla.LinearOperator(matrix.shape, matvec=lambda x: correction.apply(matrix, x), dtype=float)

    def _cg(self, A, b, x0, M):
        count = [0]

        def tick(_):
            count[0] += 1
        x, info = spla.cg(A, b, x0=x0, rtol=self.tolerance, atol=0.0, maxiter=self.max_iterations, M=M,
                          callback=tick)
        if info != 0:
            raise LinearSolverError(f"conjugate gradients ({self.name}) did not converge in {self.max_iterations} "
                                    f"iterations (relative tolerance {self.tolerance:g})")
        return x, count[0]


class JacobiCG(LinearSolver):
    """Conjugate gradients, Jacobi preconditioner, relative residual ``tolerance`` of b."""
    name = "cg_jacobi"

    def solve(self, matrix, rhs, x0=None, *, diagonal=None, correction=None):
        d = matrix.diagonal() if diagonal is None else diagonal
        if correction is not None and correction.terms:
            d = correction.diagonal(d)
        inv = 1.0 / d
        M = spla.LinearOperator(matrix.shape, matvec=lambda x: inv * x, dtype=float)
        return self._cg(self._operator(matrix, correction), rhs, x0, M)


class ReusedPreconditionerCG(LinearSolver):
    """Conjugate gradients with a preconditioner built from one matrix and reused for later ones
    until a solve shows that the matrix has drifted (see :meth:`_is_stale`)."""

    def __init__(self, tolerance=1e-10, max_iterations=2000):
        super().__init__(tolerance, max_iterations)
        self._M = None
        self._stale = False
        self._reference_iterations = None

    @abstractmethod
    def _build(self, matrix):
        """The preconditioner (a LinearOperator approximating A^-1) built from ``matrix``."""

    @abstractmethod
    def _is_stale(self, iterations: int) -> bool:
        """Whether a solve that took ``iterations`` shows the preconditioner has drifted."""

    def reset(self) -> None:
        """Forget the preconditioner: the next solve builds a new one."""
        self._M = None

    def solve(self, matrix, rhs, x0=None, *, diagonal=None, correction=None):
        if self._M is None or self._stale:
            self._setup(matrix)
        A = self._operator(matrix, correction)
        x, iterations = self._cg(A, rhs, x0, self._M)
        if not self.converged(A, rhs, x):
            # CG stops on its recursively updated residual; should the true one of a solve with
            # an old preconditioner miss the tolerance, it goes on from x with a fresh one (a
            # tolerance at the round-off floor may not be reached either way: x is then kept)
            self._setup(matrix)
            try:
                x, more = self._cg(A, rhs, x, self._M)
                iterations += more
            except LinearSolverError:
                pass
        self._stale = self._is_stale(iterations)
        return x, iterations

    def _setup(self, matrix) -> None:
        self._M = self._build(matrix)
        self._stale = False
        self._reference_iterations = None
        self.setups += 1

    def converged(self, A, rhs, x) -> bool:
        """Whether the true residual |b - A x| is within the tolerance (relative to |b|, as in CG)."""
        return bool(np.linalg.norm(rhs - A @ x) <= self.tolerance * np.linalg.norm(rhs))


class AMGCG(ReusedPreconditionerCG):
    """CG preconditioned by one V-cycle of classical Ruge-Stueben AMG (pyamg), rebuilt when a solve
    takes more than ``rebuild_factor`` x (iterations of the first solve after the setup) + 2.

    Why classical rather than smoothed aggregation (the choice before issue 12): the matrices here
    are M-matrices (graph Laplacian plus a positive diagonal) with coefficient jumps of 100x (a
    desiccated rim, vessel lumens), the case classical AMG's coarsening is built for. Measured on
    the liver phantom's RF electric problem (223 200 cells, a hierarchy from a matrix two steps
    older, warm start, relative tolerance 1e-9, one core): smoothed aggregation 8 iterations,
    1.15 s CPU, setup 4.8 s; Ruge-Stueben 6 iterations, 0.62 s CPU, setup 1.0 s (to the same
    residual; docs/anatomy.md, Performance).

    What a reused hierarchy keeps: pyamg holds the finest-level matrix by reference, and the
    callers here rewrite that matrix's data in place (:class:`ablation.physics.operators.
    FixedPatternMatrix`), so the finest-level smoothing always uses the present matrix; only the
    coarse levels (and the interpolation) come from the matrix of the last setup. CG converges to
    the same tolerance either way; an old hierarchy only costs iterations."""
    name = "cg_amg"

    def __init__(self, tolerance=1e-10, max_iterations=2000, rebuild_factor: float = 2.0):
        super().__init__(tolerance, max_iterations)
        self.rebuild_factor = rebuild_factor

    def _build(self, matrix):
        import pyamg
        hierarchy = pyamg.ruge_stuben_solver(matrix.tocsr())
        return hierarchy.aspreconditioner(cycle="V")

    def _is_stale(self, iterations):
        if self._reference_iterations is None:
            self._reference_iterations = max(iterations, 1)
            return False
        return iterations > self.rebuild_factor * self._reference_iterations + 2


class LUCG(ReusedPreconditionerCG):
    """CG preconditioned by the sparse LU factorisation of a recent matrix: 1-2 iterations right
    after a factorisation, refactored after a solve that needed more than ``rebuild_iterations``."""
    name = "cg_lu"

    def __init__(self, tolerance=1e-10, max_iterations=2000, rebuild_iterations: int = 30):
        super().__init__(tolerance, max_iterations)
        self.rebuild_iterations = rebuild_iterations

    def _build(self, matrix):
        lu = spla.splu(matrix.tocsc(), permc_spec=LU_ORDERING)
        return spla.LinearOperator(matrix.shape, matvec=lu.solve, dtype=float)

    def _is_stale(self, iterations):
        return iterations > self.rebuild_iterations


class DirectLU(LinearSolver):
    """Sparse LU of every matrix and one solve; reports 0 iterations. A low-rank correction
    A - U C U^T is solved by the Sherman-Morrison-Woodbury identity
    x = y + A^-1 U (C^-1 - U^T A^-1 U)^-1 U^T y with y = A^-1 b."""
    name = "direct"

    def solve(self, matrix, rhs, x0=None, *, diagonal=None, correction=None):
        lu = spla.splu(sp.csc_matrix(matrix), permc_spec=LU_ORDERING)
        self.setups += 1
        y = lu.solve(np.asarray(rhs, float))
        if correction is not None and correction.terms:
            U, c = correction.columns()
            AinvU = lu.solve(U.toarray())
            small = np.diag(1.0 / c) - U.T @ AinvU
            y = y + AinvU @ np.linalg.solve(small, U.T @ y)
        if not np.all(np.isfinite(y)):
            raise LinearSolverError("direct sparse LU solve produced non-finite values (singular matrix)")
        return y, 0


SOLVERS = {"cg_jacobi": JacobiCG, "cg_amg": AMGCG, "cg_lu": LUCG, "direct": DirectLU}


def make_linear_solver(choice, tolerance: float = 1e-10, max_iterations: int = 2000, **options) -> LinearSolver:
    """A :class:`LinearSolver` from its [solver] name ('cg_jacobi', 'cg_amg', 'cg_lu', 'direct');
    a LinearSolver instance is returned unchanged. ``options`` go to the constructor
    (``rebuild_factor`` for cg_amg, ``rebuild_iterations`` for cg_lu)."""
    if isinstance(choice, LinearSolver):
        return choice
    try:
        cls = SOLVERS[choice]
    except KeyError:
        raise ValueError(f"linear solver {choice!r}: expected one of {', '.join(SOLVERS)}") from None
    return cls(tolerance, max_iterations, **options)

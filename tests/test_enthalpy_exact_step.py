"""The enthalpy iteration stops once a solve (from the second on) had an exact linearisation
(T(H*) = T* in every cell: no cell crossed a node of its H(T) table; BioheatSolver._iterate):
the same temperatures as iterating until two iterates agree, with fewer solves."""
import numpy as np
import pytest

from ablation.physics.bioheat import TabulatedEnthalpy
from test_solver import _small_problem

RHO_C = 1079 * 3540.0
TABLE = ([-50.0, 0.0, 1.0, 99.0, 100.0, 150.0],
         np.array([-50 * 1.9e6, 0.0, RHO_C + 250e6, RHO_C * 99 + 250e6, RHO_C * 100 + 2.25e9,
                   RHO_C * 100 + 2.25e9 + 50 * 0.6e6]))


def _steps(start, exact_stop=True):
    domain, heat = _small_problem("axisymmetric")
    heat.storage = TabulatedEnthalpy([TABLE], np.zeros(domain.n_cells, int))
    heat.T[:] = start
    heat.source = np.full(domain.n_cells, 2e7) * (np.arange(domain.n_cells) % 3 == 0)   # W/m^3
    heat.stop_when_exact = exact_stop     # False: only two agreeing iterates end the iteration
    reports = [heat.step(2.0) for _ in range(6)]
    return heat.T.copy(), sum(r.nonlinear_iterations for r in reports), reports


def test_stopping_at_an_exact_linearisation_gives_the_iterated_temperatures():
    t_new, n_new, reports = _steps(95.0)                 # cells cross 99 and 100 degC on the way
    t_old, n_old, _ = _steps(95.0, exact_stop=False)
    np.testing.assert_allclose(t_new, t_old, rtol=0, atol=2e-6)      # the iteration's own tolerance
    assert n_new < n_old
    assert all(r.nonlinear_iterations >= 2 for r in reports)       # the first solve is always confirmed
    assert sum(abs(r.residual) for r in reports) < 1e-6 * sum(abs(r.energy["source"]) for r in reports)

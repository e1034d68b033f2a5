"""The linear-solver seam: every LinearSolver gives the same heat and electric solutions, and the
configured choice is the one used. Small grids; every assertion is a number that could fail."""
import numpy as np
import pytest

from ablation.geometry.finite_volume import FVGeometry
from ablation.geometry.grid import Domain, Region
from ablation.input.scenario import scenario_from_dict
from ablation.physics.bioheat import BioheatSolver, LinearStorage, perfusion_coefficient
from ablation.physics.electric import ElectricSolver
from ablation.physics.linear_solvers import (AMGCG, LUCG, DirectLU, JacobiCG, LinearSolverError, SymmetricLowRank,
                                             make_linear_solver)

RHO_C = 1079.0 * 3540.0
PERFUSION = perfusion_coefficient(6.4e-3, 1050.0, 3617.0)


def _domain(kind):
    """A small grid with a held probe in the middle: axisymmetric 16 x 32 (0.5 mm) or 3-D 12^3 (1 mm)."""
    if kind == "3d":
        n, h = 12, 1e-3
        edges = np.linspace(0, n * h, n + 1)
        domain = Domain("3d", None, FVGeometry.rectilinear([edges] * 3), (n,) * 3, [edges] * 3, np.zeros(3),
                        np.eye(3))
        probe = np.all(np.abs(domain.frame_points() - n * h / 2) < 1.5 * h, axis=0)
    else:
        n, h = 16, 0.5e-3
        r, z = np.linspace(0, n * h, n + 1), np.linspace(0, 2 * n * h, 2 * n + 1)
        domain = Domain("axisymmetric", None, FVGeometry.rectilinear([r, z], axisymmetric=True), (n, 2 * n), [r, z],
                        np.zeros(3), np.eye(3))
        pts = domain.frame_points()
        probe = (pts[0] < 1.0e-3) & (np.abs(pts[2] - n * h) < 3e-3)
    domain.regions = [Region("probe", "probe_active", 0, probe)]
    return domain


def _heat(domain, solver, max_power=None):
    """Liver with perfusion, k(T) rising 1.5 %/K, the probe wall held at 90 degC, outer faces at 37 degC."""
    heat = BioheatSolver(domain, LinearStorage(np.full(domain.n_cells, RHO_C)),
                         lambda T: 0.52 * (1 + 0.015 * (T - 37.0)), np.full(domain.n_cells, PERFUSION), 37.0, 37.0,
                         37.0, conductivity_varies=True, tolerance=1e-13, max_iterations=20000, linear_solver=solver)
    wall = heat.surfaces[0]
    wall.bc, wall.value, wall.max_power = "temperature", 90.0, max_power
    heat.set_held_temperature(wall, 90.0)
    return heat


def _run_heat(kind, solver, steps=4, max_power=None):
    heat = _heat(_domain(kind), solver, max_power)
    iterations = [heat.step(5.0).iterations for _ in range(steps)]
    return heat, iterations


@pytest.mark.parametrize("kind", ["axisymmetric", "3d"])
@pytest.mark.parametrize("solver", ["cg_jacobi", "cg_amg", "cg_lu"])
def test_heat_step_agrees_with_direct_lu(kind, solver):
    ref, ref_iterations = _run_heat(kind, "direct")
    heat, iterations = _run_heat(kind, solver)
    rise = np.max(np.abs(ref.T[ref.tissue] - 37.0))
    assert rise > 5.0                                  # the wall has heated the tissue
    assert np.max(np.abs(heat.T - ref.T)[ref.tissue]) / rise < 1e-8
    assert ref_iterations == [0, 0, 0, 0]              # the direct solve does not iterate
    assert min(iterations) >= 1
    # same wall energy through both paths (the bookkeeping sees the same temperatures)
    assert abs(heat.surfaces[0].last_energy / ref.surfaces[0].last_energy - 1) < 1e-8


@pytest.mark.parametrize("kind", ["axisymmetric", "3d"])
def test_power_limited_wall_low_rank_update_agrees(kind):
    """A wall limited to 0.05 W: CG on A - g g^T / G (a LinearOperator) against the direct LU with
    the Sherman-Morrison-Woodbury correction."""
    ref, _ = _run_heat(kind, "direct", steps=3, max_power=0.05)
    heat, _ = _run_heat(kind, "cg_jacobi", steps=3, max_power=0.05)
    assert ref.surfaces[0].limited and heat.surfaces[0].limited
    assert abs(ref.surfaces[0].last_power / 0.05 - 1) < 1e-9    # exactly the limited power passes
    rise = np.max(np.abs(ref.T[ref.tissue] - 37.0))
    assert np.max(np.abs(heat.T - ref.T)[ref.tissue]) / rise < 1e-8
    assert abs(heat.surfaces[0].wall_temperature - ref.surfaces[0].wall_temperature) < 1e-7


def test_low_rank_update_against_dense_algebra():
    rng = np.random.default_rng(3)
    n = 30
    B = rng.normal(size=(n, n))
    A = B @ B.T + n * np.eye(n)
    cells = np.array([2, 5, 7, 11])
    g = rng.uniform(0.5, 1.0, cells.size)
    corr = SymmetricLowRank(n, [(cells, g, 2.0 * g.sum())])
    dense = A.copy()
    dense[np.ix_(cells, cells)] -= np.outer(g, g) / (2.0 * g.sum())
    b = rng.normal(size=n)
    x_exact = np.linalg.solve(dense, b)
    import scipy.sparse as sp
    x_direct, _ = DirectLU().solve(sp.csr_matrix(A), b, correction=corr)
    x_cg, _ = JacobiCG(1e-13, 1000).solve(sp.csr_matrix(A), b, np.zeros(n), correction=corr)
    assert np.max(np.abs(x_direct - x_exact)) / np.max(np.abs(x_exact)) < 1e-12
    assert np.max(np.abs(x_cg - x_exact)) / np.max(np.abs(x_exact)) < 1e-10


def test_low_rank_update_with_repeated_cells_and_two_walls():
    """A tissue cell next to two faces of the same wall appears twice in its term (a staircased
    wall's corner), and two walls share a cell: the update is still A - sum_s g_s g_s^T / G_s with
    the repeated entries summed."""
    rng = np.random.default_rng(5)
    n = 20
    B = rng.normal(size=(n, n))
    A = B @ B.T + n * np.eye(n)
    terms = [(np.array([1, 4, 4, 9]), rng.uniform(0.5, 1.0, 4), 7.0), (np.array([9, 12]), rng.uniform(0.5, 1.0, 2), 3.0)]
    dense = A.copy()
    for cells, g, total in terms:
        u = np.zeros(n)
        np.add.at(u, cells, g)
        dense -= np.outer(u, u) / total
    corr = SymmetricLowRank(n, terms)
    import scipy.sparse as sp
    x = rng.normal(size=n)
    np.testing.assert_allclose(corr.apply(sp.csr_matrix(A), x), dense @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(corr.diagonal(np.diag(A)), np.diag(dense), rtol=1e-12)


def test_face_conductances_follow_each_new_temperature():
    """Conductances are reused only for the very array they came from: a step's enthalpy iterations.
    A new temperature, or T changed in place by a held wall, gives k(T) of that temperature."""
    heat = _heat(_domain("3d"), "cg_jacobi")
    t_old = heat.T.copy()
    first = heat.face_conductance(t_old)
    assert heat.face_conductance(t_old) is first
    warmer = t_old + 10.0
    G = heat.face_conductance(warmer)
    open_faces = first > 0
    np.testing.assert_allclose(G[open_faces] / first[open_faces], 1.15, rtol=1e-9)   # k rises 1.5 %/K
    heat.T = warmer
    heat.face_conductance(heat.T)
    heat.set_held_temperature(heat.surfaces[0], 50.0)
    assert heat._face_G_temperature is None


# ------------------------------------------------------------------------------------- electric
def _electric(kind, choice):
    domain = _domain(kind)
    g = domain.geometry
    electrode = domain.regions[0].mask
    solver = ElectricSolver(g, electrode, preconditioner=choice, tolerance=1e-13, max_iterations=20000)
    pts = domain.world_points()
    sigma = 0.2 * (1 + 2.0 * np.exp(-np.sum((pts - pts.mean(axis=1, keepdims=True)) ** 2, axis=0) / 4e-6))
    return solver, sigma


@pytest.mark.parametrize("kind", ["axisymmetric", "3d"])
@pytest.mark.parametrize("choice", ["jacobi", "amg", "lu"])
def test_electric_unit_solution_agrees_with_direct_lu(kind, choice):
    ref_solver, sigma = _electric(kind, "direct")
    solver, _ = _electric(kind, choice)
    ref = ref_solver.solve_unit(sigma)
    unit = solver.solve_unit(sigma)
    assert ref.iterations == 0 and unit.iterations >= 1
    assert np.max(np.abs(unit.phi - ref.phi)) < 1e-8        # phi in [0, 1] V
    assert abs(unit.current / ref.current - 1) < 1e-8
    assert abs(unit.impedance / ref.impedance - 1) < 1e-8
    # Joule heating: sums to the electrode power, cell by cell the same
    assert abs(ref.heating.sum() / ref.current - 1) < 1e-9
    assert np.max(np.abs(unit.heating - ref.heating)) / np.max(ref.heating) < 1e-8


def test_reused_lu_preconditioner_is_exact_then_rebuilt_after_drift():
    solver, sigma = _electric("axisymmetric", "lu")
    first = solver.solve_unit(sigma)
    again = solver.solve_unit(sigma)                  # same matrix: the LU is its exact inverse
    assert solver.setups == 1 and again.iterations <= 1
    assert first.iterations <= 2
    drifted = solver.solve_unit(sigma * np.linspace(1.0, 50.0, sigma.size))
    assert drifted.iterations > 1                     # the old factorisation no longer inverts it
    assert solver.setups == 1
    solver.linear_solver.rebuild_iterations = 0       # any iteration count now means drift
    solver.solve_unit(sigma * np.linspace(1.0, 50.0, sigma.size))
    solver.solve_unit(sigma * np.linspace(1.0, 50.0, sigma.size))
    assert solver.setups == 2


def test_configured_solvers_are_the_ones_used():
    heat = _heat(_domain("axisymmetric"), "cg_jacobi")
    assert isinstance(heat.linear_solver, JacobiCG)
    jacobi = heat.step(5.0).iterations
    heat_lu = _heat(_domain("axisymmetric"), "cg_lu")
    assert isinstance(heat_lu.linear_solver, LUCG)
    heat_lu.step(5.0)
    # the next matrix differs only through k(T): the reused factorisation needs a few iterations
    assert heat_lu.step(5.0).iterations < jacobi / 3
    assert isinstance(_heat(_domain("axisymmetric"), "cg_amg").linear_solver, AMGCG)
    assert isinstance(_heat(_domain("axisymmetric"), "direct").linear_solver, DirectLU)
    assert isinstance(ElectricSolver(_domain("3d").geometry, _domain("3d").regions[0].mask,
                                     preconditioner="amg").linear_solver, AMGCG)
    with pytest.raises(ValueError):
        make_linear_solver("gmres")
    with pytest.raises(ValueError):
        ElectricSolver(_domain("3d").geometry, _domain("3d").regions[0].mask, preconditioner="ilu")


def test_iteration_limit_raises():
    heat = _heat(_domain("3d"), JacobiCG(1e-13, 2))
    from ablation.physics.bioheat import SolverError
    with pytest.raises(SolverError):
        heat.step(5.0)
    solver = LUCG(1e-13, 1)
    with pytest.raises(LinearSolverError):
        import scipy.sparse as sp
        A = sp.diags(np.linspace(1.0, 100.0, 50)).tocsr()
        solver.solve(A, np.ones(50), np.zeros(50))     # builds on A: exact in one iteration
        solver.solve(A @ sp.diags(np.linspace(1.0, 3.0, 50)), np.ones(50), np.zeros(50))


def test_solver_section_defaults_and_choice():
    base = {"name": "t", "modality": "rfa",
            "probes": [{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "20 mm",
                        "rfa": {"electrode": "cooled_needle"}}],
            "rfa": {"protocol": "impedance_control", "power": "60 W"}, "time": {"duration": "10 s", "step": "2 s"}}
    default = scenario_from_dict(base).solver
    assert (default.heat, default.electric_preconditioner) == ("cg_jacobi", "auto")
    chosen = scenario_from_dict({**base, "solver": {"heat": "direct", "electric_preconditioner": "direct"}}).solver
    assert (chosen.heat, chosen.electric_preconditioner) == ("direct", "direct")


def _heated(sigma, pts, rise):
    """sigma after heating by ``rise`` K at the centre (Gaussian, 2 mm), +1.5 %/K as tissue."""
    centre = pts.mean(axis=1, keepdims=True)
    return sigma * (1 + 0.015 * rise * np.exp(-np.sum((pts - centre) ** 2, axis=0) / 4e-6))


def test_reused_amg_hierarchy_gives_the_fresh_solution_to_the_solver_tolerance():
    """The 3-D electric solve keeps its AMG hierarchy while sigma drifts as the tissue heats (the
    liver phantom run sets it up once in hundreds of steps): each solve with the old hierarchy
    meets the tolerance on the true residual and is the fresh solution to it."""
    domain = _domain("3d")
    g, electrode = domain.geometry, domain.regions[0].mask
    pts = domain.world_points()
    reused = ElectricSolver(g, electrode, preconditioner="amg", tolerance=1e-9)
    solve, systems = reused.linear_solver.solve, []

    def recorded(matrix, rhs, x0=None, **kw):           # keeps each system to check its residual
        systems.append((matrix, rhs))
        return solve(matrix, rhs, x0, **kw)
    reused.linear_solver.solve = recorded
    _, sigma = _electric("3d", "direct")
    reused.solve_unit(sigma)
    for rise in (5.0, 20.0, 40.0):                      # K: the hierarchy is from the 37 degC tissue
        drifted = _heated(sigma, pts, rise)
        unit = reused.solve_unit(drifted)
        fresh = ElectricSolver(g, electrode, preconditioner="direct").solve_unit(drifted)
        A, b = systems[-1]
        assert np.linalg.norm(b - A @ unit.phi) <= 1e-9 * np.linalg.norm(b)
        # what a relative residual of 1e-9 leaves on this grid (phi in [0, 1] V; measured 2e-7)
        assert np.max(np.abs(unit.phi - fresh.phi)) < 1e-6
        assert abs(unit.current / fresh.current - 1) < 1e-6
    assert reused.setups == 1                           # the solves above did reuse it


def test_reused_preconditioner_solve_missing_the_true_residual_is_redone_with_a_fresh_one():
    """CG stops on its recursive residual; a reused-preconditioner solve whose true residual misses
    the tolerance is continued with a new preconditioner, not returned."""
    domain = _domain("3d")
    solver = ElectricSolver(domain.geometry, domain.regions[0].mask, preconditioner="amg", tolerance=1e-9)
    _, sigma = _electric("3d", "direct")
    solver.solve_unit(sigma)
    cg = solver.linear_solver._cg
    calls = []

    def stops_early(A, b, x0, M):            # the first CG of the next solve returns its start
        calls.append(1)
        return (x0, 1) if len(calls) == 1 else cg(A, b, x0, M)
    solver.linear_solver._cg = stops_early
    drifted = _heated(sigma, domain.world_points(), 30.0)
    unit = solver.solve_unit(drifted)
    fresh = ElectricSolver(domain.geometry, domain.regions[0].mask, preconditioner="direct").solve_unit(drifted)
    assert len(calls) == 2 and solver.setups == 2
    assert abs(unit.current / fresh.current - 1) < 1e-7


def test_fixed_pattern_matrix_reuses_face_sums_only_for_the_same_face_array():
    g = FVGeometry.rectilinear([np.linspace(0, 1, 5), np.linspace(0, 1, 4), np.linspace(0, 1, 3)])
    from ablation.physics.operators import FixedPatternMatrix
    reused, rng = FixedPatternMatrix(g), np.random.default_rng(3)
    G1, G2 = rng.uniform(1, 2, g.face_cell_1.size), rng.uniform(1, 2, g.face_cell_1.size)
    d1, d2 = rng.uniform(0, 1, g.n_cells), rng.uniform(0, 1, g.n_cells)
    for d, G in [(d1, G1), (d2, G1), (d1, G2), (d2, G2.copy())]:
        expected = FixedPatternMatrix(g).assemble(d, G).toarray()
        np.testing.assert_array_equal(reused.assemble(d, G).toarray(), expected)


def test_step_terms_built_once_give_the_same_step_as_per_iteration_assembly():
    """The enthalpy iterations share one assembly of the step's conduction, perfusion, walls and
    boundary (BioheatSolver.step_terms): the same matrix and right-hand side as a full assembly."""
    heat = _heat(_domain("3d"), "cg_jacobi")
    heat.source = np.where(heat.tissue, 1e6, 0.0)
    heat.step(5.0)
    t_old = heat.T.copy()
    capacity = np.full(heat.T.size, RHO_C) * (1 + 0.1 * np.sin(np.arange(heat.T.size)))
    terms = heat.step_terms(t_old)
    A1, b1, _, _ = heat.assemble(5.0, capacity, t_old, terms=terms)
    A1, b1 = A1.toarray(), b1.copy()
    A2, b2, _, _ = heat.assemble(5.0, capacity, t_old)
    np.testing.assert_allclose(A1, A2.toarray(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(b1, b2, rtol=1e-13, atol=0)

"""The fast path against the FiPy term formulation, and its geometry against FiPy's."""
import numpy as np
import pytest
import scipy.sparse.linalg as spla

import fipy as fp
from ablation.modalities import thermal
from ablation.physics.bioheat import BioheatSolver
from ablation.verification.fipy_reference import fipy_step
from ablation.run.setup import scenario_domain as build_domain
from ablation.modalities.base import cell_properties
from ablation.geometry.finite_volume import FVGeometry
from ablation.physics.operators import FixedPatternMatrix
from ablation.input.scenario import scenario_from_dict
from conftest import load_raw


def _small_problem(kind, kirchhoff=False):
    raw = load_raw("thermal_probe.toml")
    raw["grid"] = {"spacing": "2 mm", "max_spacing": "5 mm", "kind": kind}
    raw["domain"] = {"size": "50 mm"}
    raw["tumors"][0]["material"] = True        # tumour properties differ: harmonic face means matter
    raw["tissue"]["conductivity_slope"] = "0.005 W/(m K^2)"   # k(T) varies cell to cell
    s = scenario_from_dict(raw)
    domain = build_domain(s)
    props = cell_properties(s, domain)
    model = thermal.Model(s, domain, props)
    heat = BioheatSolver(domain, model.storage(), model.conductivity, props["perfusion"] * 1050 * 3617, 37.0,
                         37.0, 37.0, conductivity_varies=True,
                         conductivity_integral=model.conductivity_integral if kirchhoff else None,
                         material=props.material)
    rng = np.random.default_rng(3)
    heat.T = 37.0 + 30.0 * rng.random(domain.n_cells)
    heat.source = 2e5 * rng.random(domain.n_cells)
    model.before_step(0.0, 5.0, heat, None)      # wall held at the schedule temperature
    return domain, heat


@pytest.mark.parametrize("kirchhoff", [False, True], ids=["harmonic_k", "kirchhoff_k"])
@pytest.mark.parametrize("kind", ["axisymmetric", "3d"])
def test_fast_path_assembles_fipy_matrix(kind, kirchhoff):
    """Both face conductivities: FiPy's harmonic mean of k(T_old), and the mean of k between the
    two temperatures from the Kirchhoff potential (written again on FiPy's face numbering)."""
    domain, heat = _small_problem(kind, kirchhoff)
    A_fipy, b_fipy, T_fipy = fipy_step(heat, 5.0)
    A, b, _, _ = heat.assemble(5.0, heat.storage.secant(heat.T, heat.T), heat.T.copy())
    scale = 2 * np.pi if kind == "axisymmetric" else 1.0   # FiPy's cylindrical geometry is per radian
    assert abs(A - scale * A_fipy).max() / abs(A).max() < 1e-12
    assert np.max(np.abs(b - scale * b_fipy)) / np.max(np.abs(b)) < 1e-12
    T_direct = spla.spsolve(A.tocsc(), b)
    assert np.max(np.abs(T_direct - T_fipy)) < 1e-9
    heat.step(5.0)            # the CG path of the time loop
    assert np.max(np.abs(heat.T - T_fipy)) < 1e-6


@pytest.mark.parametrize("axisymmetric", [False, True])
def test_rectilinear_geometry_equals_fipy(axisymmetric):
    rng = np.random.default_rng(0)
    edges = [np.cumsum(np.r_[0, rng.uniform(0.5, 1.5, n)]) for n in ((4, 5) if axisymmetric else (3, 4, 5))]
    widths = [np.diff(e) for e in edges]
    mesh = fp.CylindricalGrid2D(dx=widths[0], dy=widths[1]) if axisymmetric else fp.Grid3D(*[], dx=widths[0], dy=widths[1], dz=widths[2])
    a, b = FVGeometry.from_fipy(mesh, axisymmetric=axisymmetric), FVGeometry.rectilinear(edges, axisymmetric)
    np.testing.assert_allclose(a.volumes, b.volumes, rtol=1e-13)
    np.testing.assert_allclose(a.centers, b.centers, rtol=1e-13)

    def faces(g):
        return {(min(p, q), max(p, q)): (A, d, d1 if p < q else d - d1)
                for p, q, A, d, d1 in zip(g.face_cell_1, g.face_cell_2, g.face_area, g.face_distance, g.face_distance_1)}
    fa, fb = faces(a), faces(b)
    assert fa.keys() == fb.keys()
    assert all(np.allclose(fa[k], fb[k], rtol=1e-13) for k in fa)
    outer_a = sorted(zip(a.boundary_cell, np.round(a.boundary_area, 12), np.round(a.boundary_distance, 12)))
    outer_b = sorted(zip(b.boundary_cell, np.round(b.boundary_area, 12), np.round(b.boundary_distance, 12)))
    assert outer_a == outer_b


def test_fixed_pattern_matrix_is_graph_laplacian():
    g = FVGeometry.rectilinear([np.linspace(0, 1, 4), np.linspace(0, 1, 3)])
    M = FixedPatternMatrix(g)
    G = np.arange(1.0, g.face_cell_1.size + 1)
    A = M.assemble(np.zeros(g.n_cells), G).toarray()
    np.testing.assert_allclose(A.sum(axis=1), 0.0, atol=1e-12)     # conservation: rows sum to zero
    np.testing.assert_allclose(A, A.T)
    assert np.all(np.linalg.eigvalsh(A) > -1e-12)


def test_heat_balance_closes_with_phase_change_table():
    """A tabulated enthalpy with a latent step still balances energy (secant iterations)."""
    from ablation.physics.bioheat import TabulatedEnthalpy
    domain, heat = _small_problem("axisymmetric")
    rho_c = 1079 * 3540.0
    table = ([-50.0, 0.0, 1.0, 99.0, 100.0, 150.0],
             np.array([-50 * 1.9e6, 0.0, rho_c + 250e6, rho_c * 99 + 250e6, rho_c * 100 + 2.25e9,
                       rho_c * 100 + 2.25e9 + 50 * 0.6e6]))
    heat.storage = TabulatedEnthalpy([table], np.zeros(domain.n_cells, int))
    heat.T[:] = 95.0
    total_residual = total = 0.0
    for _ in range(10):
        report = heat.step(10.0)
        total_residual += abs(report.residual)
        total += sum(abs(report.energy[k]) for k in ("source", "perfusion", "boundary", "walls"))
    assert report.nonlinear_iterations > 1
    assert total_residual / total < 1e-6


def test_perfusion_term_relaxes_uniform_tissue_in_closed_form():
    """Adiabatic, uniform tissue without walls: backward Euler on rho c dT/dt = w (T_a - T) gives
    T_n - T_a = (T_0 - T_a) / (1 + w dt / (rho c))^n exactly, and the perfusion energy booked is
    the stored energy change (the one perfusion assembly, matrix and bookkeeping alike)."""
    from types import SimpleNamespace
    from ablation.physics.bioheat import LinearStorage, perfusion_coefficient, perfusion_power, perfusion_terms
    from ablation.physics.electric import radial_geometry
    g = radial_geometry(np.linspace(1e-3, 20e-3, 30), "sphere")
    domain = SimpleNamespace(geometry=g, held=np.zeros(g.n_cells, bool), regions=[])
    w = perfusion_coefficient(6.4e-3, 1050.0, 3617.0)
    assert w == pytest.approx(6.4e-3 * 1050.0 * 3617.0, rel=1e-15)
    rho_c = 1079.0 * 3540.0
    heat = BioheatSolver(domain, LinearStorage(np.full(g.n_cells, rho_c)), lambda T: 0.52,
                         np.full(g.n_cells, w), 37.0, None, 20.0, conductivity_varies=False, tolerance=1e-13)
    dt, n = 30.0, 10
    perfusion_energy = 0.0
    for _ in range(n):
        perfusion_energy += heat.step(dt).energy["perfusion"]
    exact = 37.0 + (20.0 - 37.0) / (1.0 + w * dt / rho_c) ** n
    assert np.max(np.abs(heat.T - exact)) < 1e-9
    stored = rho_c * float(np.sum(g.volumes)) * (exact - 20.0)
    assert abs(perfusion_energy / stored - 1) < 1e-9
    diag, rhs = perfusion_terms(np.full(g.n_cells, w), 37.0, g.volumes)
    assert np.allclose(rhs - diag * heat.T, perfusion_power(w, 37.0, heat.T, g.volumes), rtol=1e-12, atol=0)


def test_physics_property_units_are_the_input_layers_si_units():
    """physics.tissue states each property's SI unit itself (physics does not import the input
    layer); it must be the unit the input layer converts to."""
    from ablation.input.units import si_unit
    from ablation.physics.tissue import PROPERTY_DIMENSIONS, PROPERTY_UNITS
    assert set(PROPERTY_UNITS) == set(PROPERTY_DIMENSIONS)
    assert {k: si_unit(d) for k, d in PROPERTY_DIMENSIONS.items()} == PROPERTY_UNITS

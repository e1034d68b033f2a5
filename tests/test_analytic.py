"""Tests of the closed-form verification solutions (docs/physics.md section 6).

Each solution is checked against what defines it, independently of the formula used:
boundary values, PDE residuals by finite differences, interface conditions, limits,
and the numbers quoted in docs/physics.md.
"""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erf, erfc

from ablation.verification import analytic as an

# Liver-like values (docs/physics.md section 1) and the cryo literature set (section 3).
K_LIVER, RHO, C_LIVER = 0.52, 1079.0, 3540.0
RHO_B, C_B = 1050.0, 3617.0
CRYO = dict(k_u=0.5, k_f=2.0, c_u=3600.0, c_f=1800.0, rho=1000.0, L_vol=250e6)
ALPHA_F = CRYO["k_f"] / (CRYO["rho"] * CRYO["c_f"])
ALPHA_U = CRYO["k_u"] / (CRYO["rho"] * CRYO["c_u"])
R_PROBE = 0.735e-3


def d1(f, x, h):
    """Central first derivative."""
    return (f(x + h) - f(x - h)) / (2 * h)


def d2(f, x, h):
    """Central second derivative."""
    return (f(x + h) - 2 * f(x) + f(x - h)) / h**2


def one_sided(f, x, h):
    """Second-order one-sided first derivative; h < 0 looks backwards."""
    return (-3 * f(x) + 4 * f(x + h) - f(x + 2 * h)) / (2 * h)


# ---------------------------------------------------------------------------
# Case 1: steady Pennes sphere
# ---------------------------------------------------------------------------

def test_perfusion_length_value_and_zero_perfusion():
    L = an.perfusion_length(K_LIVER, 6.4e-3, RHO_B, C_B)
    assert L == pytest.approx(np.sqrt(0.52 / (6.4e-3 * 1050 * 3617)), rel=1e-12)
    assert L == pytest.approx(4.625e-3, rel=1e-3)
    assert np.isinf(an.perfusion_length(K_LIVER, 0.0, RHO_B, C_B))


@pytest.mark.parametrize("L", [None, 4e-3])
def test_steady_sphere_boundary_values(L):
    a, R = 1e-3, 40e-3
    assert an.steady_pennes_sphere(a, a, R, 60.0, L) == pytest.approx(60.0, rel=1e-12)
    assert an.steady_pennes_sphere(R, a, R, 60.0, L) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("L", [None, 4e-3, 1e-3])
def test_steady_sphere_pde_residual(L):
    a, R, theta_a, h = 1e-3, 40e-3, 60.0, 1e-6
    f = lambda r: an.steady_pennes_sphere(r, a, R, theta_a, L)  # noqa: E731
    r = np.linspace(1.5e-3, 38e-3, 50)
    lap = d2(f, r, h) + 2 / r * d1(f, r, h)  # (1/r^2)(r^2 f')'
    sink = 0.0 if L is None else f(r) / L**2
    scale = np.abs(d2(f, r, h)) + np.abs(sink) + 1e-30
    assert np.max(np.abs(lap - sink) / scale) < 1e-4


def test_steady_sphere_finite_vs_infinite_domain():
    a, theta_a = 1e-3, 60.0
    # No perfusion: the infinite form is off by exactly theta_a * a / R at r = R.
    R = 40 * a
    r = np.linspace(a, R, 2001)
    diff = an.steady_pennes_sphere(r, a, np.inf, theta_a) - an.steady_pennes_sphere(r, a, R, theta_a)
    assert np.max(np.abs(diff)) == pytest.approx(theta_a * a / R, rel=1e-6)
    # With perfusion the finite form converges to (a/r) exp(-(r - a)/L).
    L = 4e-3
    r = np.linspace(a, 20e-3, 50)
    far = an.steady_pennes_sphere(r, a, 2.0, theta_a, L)  # R = 500 L: sinh would overflow
    expected = theta_a * (a / r) * np.exp(-(r - a) / L)
    assert np.all(np.isfinite(far))
    np.testing.assert_allclose(far, expected, rtol=1e-12)
    np.testing.assert_allclose(an.steady_pennes_sphere(r, a, np.inf, theta_a, L), expected, rtol=1e-14)


def test_steady_sphere_weak_perfusion_tends_to_no_perfusion():
    a, R, r = 1e-3, 40e-3, np.linspace(1e-3, 40e-3, 30)
    weak = an.steady_pennes_sphere(r, a, R, 60.0, L=10.0)  # L >> R
    none = an.steady_pennes_sphere(r, a, R, 60.0, L=np.inf)
    np.testing.assert_allclose(weak, none, atol=60.0 * (R / 10.0) ** 2)


# ---------------------------------------------------------------------------
# Case 2: transient 1-D Pennes
# ---------------------------------------------------------------------------

ALPHA_LIVER = K_LIVER / (RHO * C_LIVER)


def naive_pennes_1d(x, t, theta0, alpha, beta):
    u, v, m = x / (2 * np.sqrt(alpha * t)), np.sqrt(beta * t), x * np.sqrt(beta / alpha)
    return theta0 / 2 * (np.exp(-m) * erfc(u - v) + np.exp(m) * erfc(u + v))


@pytest.mark.parametrize("beta", [0.0, 1e-3, 6e-3, 0.02])
def test_pennes_1d_finite_and_bounded_everywhere(beta):
    x = np.linspace(0.0, 0.2, 401)[:, None]
    t = np.geomspace(1.0, 3600.0, 60)[None, :]
    with np.errstate(all="ignore"):
        theta = an.transient_pennes_1d(x, t, 50.0, ALPHA_LIVER, beta)
        naive = naive_pennes_1d(x, t, 50.0, ALPHA_LIVER, beta)
    assert np.all(np.isfinite(theta))
    assert np.all((theta >= 0) & (theta <= 50.0 * (1 + 1e-12)))
    np.testing.assert_allclose(theta[0], 50.0, rtol=1e-12)
    # Where the textbook product neither overflows nor underflows (its erfc factor
    # goes subnormal near 1e-300 and drops a term), both forms agree.
    ok = np.isfinite(naive) & (naive > 1e-200)
    np.testing.assert_allclose(theta[ok], naive[ok], rtol=1e-9)
    if beta > 0:
        assert not np.all(ok), "test range should include the overflow region"


def test_pennes_1d_beta_zero_is_erfc():
    x = np.linspace(0.0, 0.05, 101)[:, None]
    t = np.array([1.0, 60.0, 3600.0])[None, :]
    expected = 50.0 * erfc(x / (2 * np.sqrt(ALPHA_LIVER * t)))
    np.testing.assert_allclose(an.transient_pennes_1d(x, t, 50.0, ALPHA_LIVER, 0.0), expected,
                               rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("beta", [0.0, 6e-3])
def test_pennes_1d_pde_residual(beta):
    # theta_t = alpha theta_xx - beta theta at interior points.
    x = np.linspace(1e-3, 10e-3, 10)
    t = 200.0
    hx, ht = 2e-5, 0.5
    f_x = lambda xx: an.transient_pennes_1d(xx, t, 50.0, ALPHA_LIVER, beta)  # noqa: E731
    f_t = lambda tt: an.transient_pennes_1d(x, tt, 50.0, ALPHA_LIVER, beta)  # noqa: E731
    dt = d1(f_t, t, ht)
    rhs = ALPHA_LIVER * d2(f_x, x, hx) - beta * f_x(x)
    scale = np.abs(dt) + beta * np.abs(f_x(x))
    assert np.max(np.abs(dt - rhs) / scale) < 1e-4


def test_pennes_1d_long_time_is_steady_profile():
    beta = 6e-3
    x = np.linspace(0.0, 20e-3, 21)
    steady = 50.0 * np.exp(-x * np.sqrt(beta / ALPHA_LIVER))
    late = an.transient_pennes_1d(x, 1e5, 50.0, ALPHA_LIVER, beta)
    np.testing.assert_allclose(late, steady, rtol=1e-10)


# ---------------------------------------------------------------------------
# Case 3: electrodes
# ---------------------------------------------------------------------------

A_EL, R_EL, SIGMA, V0 = 1e-3, 40e-3, 0.2, 30.0


def test_spherical_potential_bcs_laplace_and_current():
    f = lambda r: an.spherical_electrode_potential(r, A_EL, R_EL, V0)  # noqa: E731
    assert f(A_EL) == pytest.approx(V0, rel=1e-12)
    assert f(R_EL) == pytest.approx(0.0, abs=1e-12)
    r, h = np.linspace(2e-3, 35e-3, 20), 1e-6
    lap = d2(f, r, h) + 2 / r * d1(f, r, h)
    assert np.max(np.abs(lap) / np.abs(d2(f, r, h))) < 1e-4
    # Current through every sphere equals V0 / Z.
    current = -4 * np.pi * r**2 * SIGMA * d1(f, r, h)
    Z = an.spherical_electrode_impedance(A_EL, R_EL, SIGMA)
    np.testing.assert_allclose(current, V0 / Z, rtol=1e-6)


def test_spherical_power_impedance_and_heat_source_integral():
    Z = an.spherical_electrode_impedance(A_EL, R_EL, SIGMA)
    P = an.spherical_electrode_power(A_EL, R_EL, SIGMA, V0)
    assert P == pytest.approx(V0**2 / Z, rel=1e-12)
    # Infinite ground: Z = 1/(4 pi sigma a).
    assert an.spherical_electrode_impedance(A_EL, np.inf, SIGMA) == pytest.approx(
        1 / (4 * np.pi * SIGMA * A_EL), rel=1e-12)
    # Q = sigma |grad V|^2 and its volume integral is P.
    r, h = np.linspace(1.5e-3, 35e-3, 10), 1e-7
    grad = d1(lambda s: an.spherical_electrode_potential(s, A_EL, R_EL, V0), r, h)
    np.testing.assert_allclose(an.spherical_electrode_heat_source(r, A_EL, R_EL, SIGMA, V0),
                               SIGMA * grad**2, rtol=1e-6)
    integral, _ = quad(lambda s: 4 * np.pi * s**2 * an.spherical_electrode_heat_source(
        s, A_EL, R_EL, SIGMA, V0), A_EL, R_EL, epsrel=1e-12)
    assert integral == pytest.approx(P, rel=1e-9)


@pytest.mark.parametrize("R", [10e-3, 40e-3, np.inf])
def test_spherical_electrode_temperature(R):
    k = K_LIVER
    f = lambda r: an.spherical_electrode_steady_temperature_rise(r, A_EL, R, SIGMA, V0, k)  # noqa: E731
    # theta(a) = sigma V0^2 / (2k) for any R; theta(R) = 0.
    assert f(A_EL) == pytest.approx(SIGMA * V0**2 / (2 * k), rel=1e-12)
    if np.isfinite(R):
        assert f(R) == pytest.approx(0.0, abs=1e-9)
    # Adiabatic electrode: theta'(a) = 0 (one-sided, inside the tissue).
    h = 1e-7
    assert abs(one_sided(f, A_EL, h)) < 1e-5 * SIGMA * V0**2 / (2 * k) / A_EL
    # k (1/r^2)(r^2 theta')' + Q = 0.
    r = np.linspace(1.2e-3, 9e-3, 20)
    Q = an.spherical_electrode_heat_source(r, A_EL, R, SIGMA, V0)
    h = 1e-6
    residual = k * (d2(f, r, h) + 2 / r * d1(f, r, h)) + Q
    assert np.max(np.abs(residual) / Q) < 1e-4
    # All the Joule power leaves through the outer boundary.
    if np.isfinite(R):
        out = -k * one_sided(f, R, -1e-7) * 4 * np.pi * R**2
        assert out == pytest.approx(an.spherical_electrode_power(A_EL, R, SIGMA, V0), rel=1e-6)


def test_cylindrical_electrode():
    f = lambda r: an.cylindrical_electrode_potential(r, A_EL, R_EL, V0)  # noqa: E731
    assert f(A_EL) == pytest.approx(V0, rel=1e-12)
    assert f(R_EL) == pytest.approx(0.0, abs=1e-12)
    r, h = np.linspace(2e-3, 35e-3, 20), 1e-6
    lap = d2(f, r, h) + d1(f, r, h) / r  # (1/r)(r V')'
    assert np.max(np.abs(lap) / np.abs(d2(f, r, h))) < 1e-4
    current_per_length = -2 * np.pi * r * SIGMA * d1(f, r, h)
    Zl = an.cylindrical_electrode_impedance_per_length(A_EL, R_EL, SIGMA)
    assert Zl == pytest.approx(np.log(40) / (2 * np.pi * 0.2), rel=1e-12)
    np.testing.assert_allclose(current_per_length, V0 / Zl, rtol=1e-6)


# ---------------------------------------------------------------------------
# Case 4: Neumann two-phase Stefan problem
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("St", [0.01, 0.3, 1.0, 5.0])
def test_neumann_one_phase_limit(St):
    lam = an.neumann_stefan_lambda(St, 0.0, 1.7)
    assert lam * np.exp(lam**2) * erf(lam) == pytest.approx(St / np.sqrt(np.pi), rel=1e-10)


def test_neumann_small_stefan_number_is_quasi_steady():
    # St -> 0: lam^2 -> St/2 (linear profile, s^2 = 2 k dT t / L).
    assert an.neumann_stefan_lambda(1e-6, 0.0, 1.0) == pytest.approx(np.sqrt(0.5e-6), rel=1e-5)


def test_neumann_lambda_solves_equation_and_falls_with_superheat():
    St_s, nu = 0.3, 2.0
    lams = [an.neumann_stefan_lambda(St_s, St_l, nu) for St_l in (0.0, 0.2, 0.5, 1.0)]
    for St_l, lam in zip((0.0, 0.2, 0.5, 1.0), lams):
        lhs = St_s / (np.exp(lam**2) * erf(lam)) - St_l / (nu * np.exp(nu**2 * lam**2) * erfc(nu * lam))
        assert lhs == pytest.approx(lam * np.sqrt(np.pi), rel=1e-10)
    assert np.all(np.diff(lams) < 0)  # warmer liquid slows the freezing front


@pytest.fixture(scope="module")
def stefan():
    return an.neumann_stefan(T_wall=-40.0, T_melt=-1.0, T_init=37.0,
                             k_s=CRYO["k_f"], c_s=CRYO["c_f"], k_l=CRYO["k_u"], c_l=CRYO["c_u"],
                             rho=CRYO["rho"], L_vol=CRYO["L_vol"])


def test_neumann_front_and_boundary_values(stefan):
    t = 600.0
    s = stefan.front(t)
    assert s == pytest.approx(2 * stefan.lam * np.sqrt(ALPHA_F * t), rel=1e-14)
    assert stefan.nu == pytest.approx(np.sqrt(ALPHA_F / ALPHA_U), rel=1e-14)
    assert stefan.temperature(0.0, t) == pytest.approx(-40.0, rel=1e-12)
    # Both branches give T_m at the front (continuity).
    eps = 1e-12 * s
    assert stefan.temperature(s - eps, t) == pytest.approx(-1.0, abs=1e-8)
    assert stefan.temperature(s + eps, t) == pytest.approx(-1.0, abs=1e-8)
    assert stefan.temperature(1.0, t) == pytest.approx(37.0, abs=1e-10)


def test_neumann_stefan_condition(stefan):
    # k_s dT_s/dx - k_l dT_l/dx = L_vol ds/dt at the front (one-sided differences).
    t = 600.0
    s, h = stefan.front(t), 1e-7
    T = lambda x: stefan.temperature(x, t)  # noqa: E731
    grad_s = one_sided(T, s - 1e-13, -h)
    grad_l = one_sided(T, s + 1e-13, +h)
    dsdt = d1(stefan.front, t, 1e-3)
    lhs = CRYO["k_f"] * grad_s - CRYO["k_u"] * grad_l
    assert lhs == pytest.approx(CRYO["L_vol"] * dsdt, rel=1e-5)


def test_neumann_heat_equations(stefan):
    t = 600.0
    s = stefan.front(t)
    for x, alpha in [(0.3 * s, ALPHA_F), (0.8 * s, ALPHA_F), (1.2 * s, ALPHA_U), (2.0 * s, ALPHA_U)]:
        T_t = d1(lambda tt: stefan.temperature(x, tt), t, 1e-2)
        T_xx = d2(lambda xx: stefan.temperature(xx, t), x, 1e-5)
        assert T_t == pytest.approx(alpha * T_xx, rel=1e-4)


def test_neumann_rejects_melting_order():
    with pytest.raises(ValueError):
        an.neumann_stefan(10.0, 0.0, -5.0, 2.0, 1800.0, 0.5, 3600.0, 1000.0, 250e6)


# ---------------------------------------------------------------------------
# Case 5: line sink freezing
# ---------------------------------------------------------------------------

def cryo_args(T_f):
    return dict(k_f=CRYO["k_f"], k_u=CRYO["k_u"], alpha_f=ALPHA_F, alpha_u=ALPHA_U,
                T_i=37.0, T_f=T_f, L_vol=CRYO["L_vol"])


@pytest.mark.parametrize("T_f, Q_doc, T_wall_doc", [(0.0, 650.0, -153.0), (-1.0, 658.0, -157.0)])
def test_line_sink_physics_md_numbers(T_f, Q_doc, T_wall_doc):
    # docs/physics.md case 5: R = 15 mm at 600 s. Computed: 648.9 W/m, -153.6 degC (T_f = 0);
    # 657.8 W/m, -156.7 degC (T_f = -1).
    args = cryo_args(T_f)
    Q = an.line_sink_Q_for_front(15e-3, 600.0, **args)
    assert Q == pytest.approx(Q_doc, rel=0.02)
    sol = an.line_sink_freezing(Q, **args)
    assert sol.front(600.0) == pytest.approx(15e-3, rel=1e-9)  # round trip Q -> lam -> R
    assert sol.temperature(R_PROBE, 600.0) == pytest.approx(T_wall_doc, rel=0.02)


def test_line_sink_wall_freezes_after_about_1p4_s():
    sol = an.line_sink_freezing(650.0, **cryo_args(0.0))
    t_freeze = (R_PROBE / (2 * sol.lam)) ** 2 / ALPHA_F
    assert t_freeze == pytest.approx(1.4, abs=0.1)
    assert sol.temperature(R_PROBE, 0.9 * t_freeze) > 0.0
    assert sol.temperature(R_PROBE, 1.1 * t_freeze) < 0.0


@pytest.fixture(scope="module")
def sink():
    return an.line_sink_freezing(650.0, **cryo_args(-1.0))


def test_line_sink_interface_and_far_field(sink):
    t = 600.0
    R = sink.front(t)
    assert sink.temperature(R * (1 - 1e-12), t) == pytest.approx(-1.0, abs=1e-8)
    assert sink.temperature(R * (1 + 1e-12), t) == pytest.approx(-1.0, abs=1e-8)
    assert sink.temperature(0.5, t) == pytest.approx(37.0, abs=1e-10)
    # Interface energy balance: k_f T_r(R-) - k_u T_r(R+) = L_vol dR/dt.
    T = lambda r: sink.temperature(r, t)  # noqa: E731
    h = 1e-7
    lhs = CRYO["k_f"] * one_sided(T, R * (1 - 1e-12), -h) - CRYO["k_u"] * one_sided(T, R * (1 + 1e-12), h)
    assert lhs == pytest.approx(CRYO["L_vol"] * d1(sink.front, t, 1e-3), rel=1e-5)


def test_line_sink_strength(sink):
    # Heat drawn into the axis through a small circle equals Q.
    t, r, h = 600.0, 1e-5, 1e-9
    flux = 2 * np.pi * r * CRYO["k_f"] * d1(lambda s: sink.temperature(s, t), r, h)
    assert flux == pytest.approx(650.0, rel=1e-4)


def test_line_sink_heat_equations(sink):
    # T_t = alpha (T_rr + T_r / r) in each phase.
    t = 600.0
    R = sink.front(t)
    for r, alpha in [(0.3 * R, ALPHA_F), (0.8 * R, ALPHA_F), (1.2 * R, ALPHA_U), (2.0 * R, ALPHA_U)]:
        T_t = d1(lambda tt: sink.temperature(r, tt), t, 1e-2)
        f = lambda rr: sink.temperature(rr, t)  # noqa: E731
        lap = d2(f, r, 1e-6) + d1(f, r, 1e-6) / r
        assert T_t == pytest.approx(alpha * lap, rel=1e-4)


def test_line_sink_lambda_grows_with_Q():
    lams = [an.line_sink_freezing_lambda(Q, **cryo_args(0.0)) for Q in (100.0, 300.0, 650.0, 2000.0)]
    assert np.all(np.diff(lams) > 0)


# ---------------------------------------------------------------------------
# Case 6: steady iceball with perfusion
# ---------------------------------------------------------------------------

ICE = dict(r_p=R_PROBE, T_p=-150.0, T_f=-1.0, T_a=37.0, k_f=2.0, k_u=0.5)


def iceball_sides(R, r_p, T_p, T_f, T_a, k_f, k_u, delta):
    from scipy.special import k0, k1
    return (k_f * (T_f - T_p) / (R * np.log(R / r_p)),
            k_u * (T_a - T_f) * k1(R / delta) / (delta * k0(R / delta)))


def test_iceball_radius_solves_balance():
    delta = an.perfusion_length(ICE["k_u"], 6.4e-3, RHO_B, C_B)
    R = an.steady_iceball_radius(delta=delta, **ICE)
    assert R > ICE["r_p"]
    left, right = iceball_sides(R, delta=delta, **ICE)
    assert left == pytest.approx(right, rel=1e-10)


def test_iceball_flux_continuity_and_pennes_residual():
    delta = an.perfusion_length(ICE["k_u"], 6.4e-3, RHO_B, C_B)
    R = an.steady_iceball_radius(delta=delta, **ICE)
    args = {k: ICE[k] for k in ("r_p", "T_p", "T_f", "T_a")}
    T = lambda r: an.steady_iceball_temperature(r, R, delta=delta, **args)  # noqa: E731
    assert T(ICE["r_p"]) == pytest.approx(-150.0, rel=1e-12)
    assert T(R) == pytest.approx(-1.0, rel=1e-12)
    h = 1e-7
    q_frozen = ICE["k_f"] * one_sided(T, R * (1 - 1e-12), -h)
    q_unfrozen = ICE["k_u"] * one_sided(T, R * (1 + 1e-12), h)
    assert q_frozen == pytest.approx(q_unfrozen, rel=1e-5)
    # Unfrozen tissue: (1/r)(r theta')' - theta/delta^2 = 0 with theta = T - T_a.
    # (Stop at 2.5 R: further out theta is so small next to T ~ 37 that the
    # difference quotients are limited by round-off.)
    r = np.linspace(1.2 * R, 2.5 * R, 10)
    lap = d2(T, r, 1e-5) + d1(T, r, 1e-5) / r
    np.testing.assert_allclose(lap, (T(r) - 37.0) / delta**2, rtol=1e-4)


def test_iceball_grows_as_perfusion_falls():
    radii = [an.steady_iceball_radius(delta=an.perfusion_length(ICE["k_u"], w, RHO_B, C_B), **ICE)
             for w in (1.8e-2, 6.4e-3, 3.6e-3, 1e-3)]
    assert np.all(np.diff(radii) > 0)
    assert an.steady_iceball_radius(delta=np.inf, **ICE) == np.inf


# ---------------------------------------------------------------------------
# Case 7: observed order
# ---------------------------------------------------------------------------

def test_observed_order_synthetic():
    h = np.array([0.1, 0.05, 0.025, 0.0125])
    assert an.observed_order(h, 3.0 * h**2) == pytest.approx(2.0, rel=1e-12)
    noisy = 3.0 * h**1.5 * np.array([1.02, 0.98, 1.01, 0.99])
    assert an.observed_order(h, noisy) == pytest.approx(1.5, abs=0.05)
    # Two points: the usual log ratio.
    assert an.observed_order([0.2, 0.1], [0.08, 0.02]) == pytest.approx(2.0, rel=1e-12)
    assert an.observed_order([0.2, 0.1], [4e-3, 1.6e-3]) == pytest.approx(np.log(2.5) / np.log(2), rel=1e-12)
    with pytest.raises(ValueError):
        an.observed_order([0.1], [0.01])


def test_sphere_intersection_volume_limits_and_symmetry():
    from ablation.verification.analytic import sphere_intersection_volume as lens
    assert lens(3.0, 2.0, 6.0) == 0.0
    assert lens(5.0, 2.0, 1.0) == pytest.approx(4 / 3 * np.pi * 8)
    assert lens(3.0, 2.0, 2.5) == pytest.approx(lens(2.0, 3.0, 2.5), rel=1e-12)
    # continuous at both ends of the partial-overlap range
    assert lens(3.0, 2.0, 5.0 - 1e-9) == pytest.approx(0.0, abs=1e-6)
    assert lens(3.0, 2.0, 1.0 + 1e-9) == pytest.approx(4 / 3 * np.pi * 8, rel=1e-6)

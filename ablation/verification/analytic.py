"""Closed-form solutions used to verify the numerical solvers.

Each function implements one case of docs/physics.md section 6 ("Verification cases").
Units are SI throughout: metres, seconds, watts, kelvin for temperature differences;
absolute temperatures are in degC (only differences enter these formulas, so degC and
kelvin give the same answers).  ``theta`` always denotes a temperature rise over a
reference (arterial or initial) temperature, in K.

The formulas are written so that they stay finite where the textbook form overflows
(large ``x / L``, large arguments of ``erfc`` and ``K0``): the comments say where.

Contents
--------
perfusion_length                       Pennes perfusion length L = sqrt(k / (w_b rho_b c_b))
steady_pennes_sphere                   case 1, steady Pennes around a held sphere
transient_pennes_1d                    case 2, semi-infinite slab with a step at x = 0
spherical_electrode_*                  case 3, potential / impedance / power / heat / temperature
cylindrical_electrode_*                case 3, coaxial potential and impedance
neumann_stefan_lambda, neumann_stefan  case 4, two-phase planar Stefan problem
line_sink_freezing_lambda, line_sink_freezing, line_sink_Q_for_front
                                       case 5, radial freezing around a line sink
steady_iceball_radius, steady_iceball_temperature
                                       case 6, steady iceball with perfusion
observed_order                         case 7, observed order of accuracy
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import erf, erfc, erfcx, exp1, kve

__all__ = [
    "perfusion_length",
    "steady_pennes_sphere",
    "transient_pennes_1d",
    "spherical_electrode_potential",
    "spherical_electrode_impedance",
    "spherical_electrode_power",
    "spherical_electrode_heat_source",
    "spherical_electrode_steady_temperature_rise",
    "cylindrical_electrode_potential",
    "cylindrical_electrode_impedance_per_length",
    "neumann_stefan_lambda",
    "NeumannStefan",
    "neumann_stefan",
    "line_sink_freezing_lambda",
    "LineSinkFreezing",
    "line_sink_freezing",
    "line_sink_Q_for_front",
    "steady_iceball_radius",
    "steady_iceball_temperature",
    "observed_order",
]


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def _expand_bracket(f, lo, hi, grow=2.0, max_iter=200):
    """Grow ``hi`` geometrically until ``f`` changes sign on [lo, hi]; return hi.

    Used by the root finders below whose functions are positive near the lower end
    of the physical range and negative far away.
    """
    f_lo = f(lo)
    for _ in range(max_iter):
        if np.sign(f(hi)) != np.sign(f_lo):
            return hi
        hi *= grow
    raise RuntimeError("could not bracket the root")


# ---------------------------------------------------------------------------
# Case 1: steady Pennes equation around a sphere
# ---------------------------------------------------------------------------

def perfusion_length(k, w_b, rho_b, c_b):
    r"""Pennes perfusion length.

    .. math:: L = \sqrt{k / (w_b \rho_b c_b)}

    Distance over which blood perfusion damps a steady temperature disturbance
    (Pennes 1948).  The same quantity is called ``delta`` in case 6 (with ``k = k_u``).

    Parameters
    ----------
    k : float or array_like
        Tissue thermal conductivity [W/(m K)].
    w_b : float or array_like
        Volumetric perfusion rate [1/s]; 0 gives an infinite length.
    rho_b : float
        Blood density [kg/m^3].
    c_b : float
        Blood specific heat [J/(kg K)].

    Returns
    -------
    L : float or ndarray
        Perfusion length [m] (``inf`` where ``w_b == 0``).
    """
    with np.errstate(divide="ignore"):
        return np.sqrt(np.asarray(k, float) / (np.asarray(w_b, float) * rho_b * c_b))[()]


def steady_pennes_sphere(r, a, R, theta_a, L=None):
    r"""Steady Pennes temperature rise around a sphere held at a fixed temperature.

    Solves :math:`\frac{1}{r^2}\frac{d}{dr}\left(r^2 \frac{d\theta}{dr}\right)
    - \theta / L^2 = 0` on :math:`a \le r \le R` with :math:`\theta(a) = \theta_a`,
    :math:`\theta(R) = 0`:

    .. math:: \theta(r) = \theta_a \frac{a}{r}
              \frac{\sinh((R - r)/L)}{\sinh((R - a)/L)}

    Without perfusion (``L`` None or inf):
    :math:`\theta = \theta_a (a/r)(R - r)/(R - a)`.  ``R = inf`` gives the infinite-domain
    forms :math:`\theta_a (a/r) e^{-(r-a)/L}` and :math:`\theta_a a / r`.
    (Substituting :math:`u = r\theta` gives :math:`u'' = u / L^2`; Carslaw & Jaeger,
    *Conduction of Heat in Solids*, 2nd ed., ch. 9; Pennes 1948 for the sink term.)

    Parameters
    ----------
    r : float or array_like
        Radius [m], ``a <= r <= R``.
    a : float
        Sphere radius [m].
    R : float
        Outer radius where ``theta = 0`` [m]; may be ``inf``.
    theta_a : float
        Temperature rise held on the sphere [K].
    L : float, optional
        Perfusion length [m] (see :func:`perfusion_length`); None or inf = no perfusion.

    Returns
    -------
    theta : float or ndarray
        Temperature rise [K].
    """
    r = np.asarray(r, float)
    no_perfusion = L is None or np.isinf(L)
    if no_perfusion:
        shape = 1.0 if np.isinf(R) else (R - r) / (R - a)
        return (theta_a * (a / r) * shape)[()]
    # sinh(p)/sinh(q) with p = (R-r)/L, q = (R-a)/L overflows for R >> L.  Rewrite as
    # exp(p - q) * (1 - exp(-2p)) / (1 - exp(-2q)), with p - q = -(r - a)/L.
    decay = np.exp(-(r - a) / L)
    if np.isinf(R):
        ratio = decay
    else:
        ratio = decay * np.expm1(-2 * (R - r) / L) / np.expm1(-2 * (R - a) / L)
    return (theta_a * (a / r) * ratio)[()]


def steady_pennes_cylinder(r, a, R, theta_a, L=None):
    r"""Steady Pennes temperature rise around a long cylinder held at a fixed temperature.

    Solves :math:`\frac{1}{r}\frac{d}{dr}\left(r \frac{d\theta}{dr}\right) - \theta/L^2 = 0`
    on :math:`a \le r \le R`, :math:`\theta(a) = \theta_a`, :math:`\theta(R) = 0`:

    .. math:: \theta(r) = \theta_a \frac{I_0(R/L) K_0(r/L) - K_0(R/L) I_0(r/L)}
                                       {I_0(R/L) K_0(a/L) - K_0(R/L) I_0(a/L)}

    (modified Bessel functions; Carslaw & Jaeger ch. 7). Without perfusion
    :math:`\theta = \theta_a \ln(R/r)/\ln(R/a)`. Used on CylindricalGrid1D in the
    verification suite (an extension of docs/physics.md case 1 to the geometry of a needle).

    r, a, R in m (R finite); theta_a in K; L perfusion length in m (None or inf: none).
    """
    from scipy.special import i0, k0
    r = np.asarray(r, float)
    if L is None or np.isinf(L):
        return (theta_a * np.log(R / r) / np.log(R / a))[()]
    num = i0(R / L) * k0(r / L) - k0(R / L) * i0(r / L)
    den = i0(R / L) * k0(a / L) - k0(R / L) * i0(a / L)
    return (theta_a * num / den)[()]


# ---------------------------------------------------------------------------
# Case 2: transient 1-D Pennes, step at x = 0
# ---------------------------------------------------------------------------

def transient_pennes_1d(x, t, theta0, alpha, beta):
    r"""1-D transient Pennes equation on a half-line after a temperature step at x = 0.

    Solves :math:`\partial_t\theta = \alpha\,\partial_x^2\theta - \beta\theta`, x > 0,
    :math:`\theta(x, 0) = 0`, :math:`\theta(0, t) = \theta_0`:

    .. math:: \theta = \frac{\theta_0}{2}\Big[
        e^{-x\sqrt{\beta/\alpha}}\,\mathrm{erfc}\big(\tfrac{x}{2\sqrt{\alpha t}} - \sqrt{\beta t}\big)
      + e^{+x\sqrt{\beta/\alpha}}\,\mathrm{erfc}\big(\tfrac{x}{2\sqrt{\alpha t}} + \sqrt{\beta t}\big)\Big]

    (Carslaw & Jaeger 2nd ed. section 2.5 for the radiating/absorbing rod; Pennes 1948.)
    With ``beta = 0`` it reduces to :math:`\theta_0\,\mathrm{erfc}(x / (2\sqrt{\alpha t}))`.

    Evaluated in a form that does not overflow: with :math:`u = x/(2\sqrt{\alpha t})`,
    :math:`v = \sqrt{\beta t}` (so that :math:`x\sqrt{\beta/\alpha} = 2uv`),
    :math:`e^{2uv}\mathrm{erfc}(u+v) = \mathrm{erfcx}(u+v)\,e^{-u^2-v^2}`, and likewise for
    the first term when :math:`u \ge v`.

    Parameters
    ----------
    x : float or array_like
        Distance from the heated face [m], >= 0.
    t : float or array_like
        Time since the step [s], > 0 (broadcast against ``x``).
    theta0 : float
        Step temperature rise at x = 0 [K].
    alpha : float
        Thermal diffusivity k / (rho c) [m^2/s].
    beta : float
        Perfusion rate constant w_b rho_b c_b / (rho c) [1/s], >= 0.

    Returns
    -------
    theta : float or ndarray
        Temperature rise [K].
    """
    x, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(t, float))
    u = x / (2 * np.sqrt(alpha * t))
    v = np.sqrt(beta * t)
    gauss = np.exp(-u * u - v * v)  # shared factor e^{-u^2-v^2}, underflows harmlessly
    second = erfcx(u + v) * gauss
    # First term: for u >= v use the erfcx form; for u < v erfc(u - v) lies in (1, 2]
    # and exp(-x sqrt(beta/alpha)) <= 1, so the direct product is safe.
    d = u - v
    first = np.where(
        d >= 0,
        erfcx(np.abs(d)) * gauss,
        np.exp(-2 * u * v) * erfc(d),
    )
    return (0.5 * theta0 * (first + second))[()]


# ---------------------------------------------------------------------------
# Case 3: spherical and cylindrical electrodes
# ---------------------------------------------------------------------------

def _sphere_c(a, R):
    """Geometric constant c = a R / (R - a) [m]; tends to ``a`` as R -> inf."""
    return a if np.isinf(R) else a * R / (R - a)


def spherical_electrode_potential(r, a, R, V0):
    r"""Potential around a spherical electrode with a concentric ground.

    .. math:: V(r) = V_0 \frac{1/r - 1/R}{1/a - 1/R}

    Solution of :math:`\nabla\cdot(\sigma\nabla V) = 0` with constant sigma,
    :math:`V(a) = V_0`, :math:`V(R) = 0` (spherical capacitor; any electrostatics text).

    Parameters
    ----------
    r : float or array_like
        Radius [m], ``a <= r <= R``.
    a : float
        Electrode radius [m].
    R : float
        Ground radius [m]; may be ``inf``.
    V0 : float
        Electrode potential [V].

    Returns
    -------
    V : float or ndarray
        Potential [V].
    """
    r = np.asarray(r, float)
    return (V0 * _sphere_c(a, R) * (1 / r - 1 / R))[()]


def spherical_electrode_impedance(a, R, sigma):
    r"""Resistance between a spherical electrode and a concentric ground.

    .. math:: Z = \frac{1/a - 1/R}{4\pi\sigma}

    Parameters
    ----------
    a : float
        Electrode radius [m].
    R : float
        Ground radius [m]; may be ``inf``.
    sigma : float
        Electrical conductivity [S/m].

    Returns
    -------
    Z : float
        Impedance [ohm].
    """
    return (1 / a - 1 / R) / (4 * np.pi * sigma)


def spherical_electrode_power(a, R, sigma, V0):
    r"""Power delivered by a spherical electrode at potential V0.

    .. math:: P = V_0^2 / Z = 4\pi\sigma c V_0^2, \quad c = aR/(R - a)

    Parameters
    ----------
    a : float
        Electrode radius [m].
    R : float
        Ground radius [m]; may be ``inf``.
    sigma : float
        Electrical conductivity [S/m].
    V0 : float
        Electrode potential [V].

    Returns
    -------
    P : float
        Power [W].
    """
    return 4 * np.pi * sigma * _sphere_c(a, R) * V0**2


def spherical_electrode_heat_source(r, a, R, sigma, V0):
    r"""Joule heat source density around a spherical electrode.

    .. math:: Q(r) = \sigma |\nabla V|^2 = \sigma V_0^2 c^2 / r^4, \quad c = aR/(R - a)

    Its integral over :math:`a \le r \le R` equals :func:`spherical_electrode_power`.

    Parameters
    ----------
    r : float or array_like
        Radius [m], ``a <= r <= R``.
    a : float
        Electrode radius [m].
    R : float
        Ground radius [m]; may be ``inf``.
    sigma : float
        Electrical conductivity [S/m].
    V0 : float
        Electrode potential [V].

    Returns
    -------
    Q : float or ndarray
        Heat source density [W/m^3].
    """
    r = np.asarray(r, float)
    return (sigma * V0**2 * _sphere_c(a, R) ** 2 / r**4)[()]


def spherical_electrode_steady_temperature_rise(r, a, R, sigma, V0, k):
    r"""Steady temperature rise from Joule heating around a spherical electrode.

    Solves :math:`k \frac{1}{r^2}(r^2\theta')' + \sigma V_0^2 c^2 / r^4 = 0` with an
    adiabatic electrode, :math:`\theta'(a) = 0`, and :math:`\theta(R) = 0`, no perfusion:

    .. math:: \theta(r) = \frac{\sigma V_0^2 c^2}{k a}
        \left[\left(\frac{1}{r} - \frac{a}{2r^2}\right)
            - \left(\frac{1}{R} - \frac{a}{2R^2}\right)\right]

    so :math:`\theta(a) = \sigma V_0^2 / (2k)` whatever R (integrate the heat equation
    twice; docs/physics.md section 6 case 3).

    Parameters
    ----------
    r : float or array_like
        Radius [m], ``a <= r <= R``.
    a : float
        Electrode radius [m].
    R : float
        Outer radius held at theta = 0 [m]; may be ``inf``.
    sigma : float
        Electrical conductivity [S/m].
    V0 : float
        Electrode potential [V].
    k : float
        Thermal conductivity [W/(m K)].

    Returns
    -------
    theta : float or ndarray
        Temperature rise [K].
    """
    r = np.asarray(r, float)
    c = _sphere_c(a, R)
    amp = sigma * V0**2 * c**2 / (k * a)
    outer = 0.0 if np.isinf(R) else 1 / R - a / (2 * R**2)
    return (amp * ((1 / r - a / (2 * r**2)) - outer))[()]


def cylindrical_electrode_potential(r, a, R, V0):
    r"""Potential around a long cylindrical electrode with a coaxial ground.

    .. math:: V(r) = V_0 \frac{\ln(R/r)}{\ln(R/a)}

    Parameters
    ----------
    r : float or array_like
        Radius [m], ``a <= r <= R``.
    a : float
        Electrode radius [m].
    R : float
        Ground radius [m] (finite: the 2-D potential has no limit as R -> inf).
    V0 : float
        Electrode potential [V].

    Returns
    -------
    V : float or ndarray
        Potential [V].
    """
    r = np.asarray(r, float)
    return (V0 * np.log(R / r) / np.log(R / a))[()]


def cylindrical_electrode_impedance_per_length(a, R, sigma):
    r"""Resistance times length of a coaxial cylindrical electrode.

    .. math:: Z \cdot \ell = \frac{\ln(R/a)}{2\pi\sigma}

    Divide by the electrode length to get the impedance of a segment of that length.

    Parameters
    ----------
    a : float
        Electrode radius [m].
    R : float
        Ground radius [m].
    sigma : float
        Electrical conductivity [S/m].

    Returns
    -------
    Zl : float
        Impedance times length [ohm m].
    """
    return np.log(R / a) / (2 * np.pi * sigma)


# ---------------------------------------------------------------------------
# Case 4: two-phase planar Stefan problem (Neumann)
# ---------------------------------------------------------------------------

def _neumann_residual(lam, St_s, St_l, nu):
    """LHS - RHS of the Neumann transcendental equation, without overflow.

    1 / (exp(lam^2) erf(lam)) = exp(-lam^2) / erf(lam), and
    exp(nu^2 lam^2) erfc(nu lam) = erfcx(nu lam).
    """
    solid = St_s * np.exp(-lam * lam) / erf(lam)
    liquid = St_l / (nu * erfcx(nu * lam))
    return solid - liquid - lam * np.sqrt(np.pi)


def neumann_stefan_lambda(St_s, St_l, nu):
    r"""Front constant of the two-phase planar Stefan (Neumann) problem.

    Root :math:`\lambda > 0` of

    .. math:: \frac{St_s}{e^{\lambda^2}\,\mathrm{erf}\lambda}
        - \frac{St_l}{\nu\, e^{\nu^2\lambda^2}\,\mathrm{erfc}(\nu\lambda)}
        = \lambda\sqrt{\pi}

    The front is :math:`s(t) = 2\lambda\sqrt{\alpha_s t}` (Carslaw & Jaeger 2nd ed.
    section 11.2).  The left side falls monotonically from +inf (lam -> 0) to -inf, so
    the root is unique; it is found with ``brentq``.  ``St_l = 0`` is the one-phase
    problem, :math:`\lambda e^{\lambda^2}\mathrm{erf}\lambda = St_s/\sqrt{\pi}`.

    Parameters
    ----------
    St_s : float
        Stefan number of the phase next to the wall, c_s |T_m - T_wall| / (L_vol/rho) [-], > 0.
    St_l : float
        Stefan number of the far phase, c_l |T_init - T_m| / (L_vol/rho) [-], >= 0.
    nu : float
        sqrt(alpha_s / alpha_l) [-].

    Returns
    -------
    lam : float
        Dimensionless front constant [-].
    """
    if St_s <= 0 or St_l < 0 or nu <= 0:
        raise ValueError("need St_s > 0, St_l >= 0, nu > 0")
    f = lambda lam: _neumann_residual(lam, St_s, St_l, nu)  # noqa: E731
    lo = 1e-12  # f(lo) ~ St_s sqrt(pi) / (2 lo) > 0
    hi = _expand_bracket(f, lo, 1.0)
    return brentq(f, lo, hi, xtol=1e-15, rtol=1e-14)


@dataclass(frozen=True)
class NeumannStefan:
    """Solution of the two-phase planar freezing problem (see :func:`neumann_stefan`).

    Attributes
    ----------
    lam : float
        Front constant [-]; front at ``2 lam sqrt(alpha_s t)``.
    T_wall, T_melt, T_init : float
        Wall, melting and initial temperatures [degC].
    alpha_s, alpha_l : float
        Diffusivities of the frozen (wall side) and liquid phases [m^2/s].
    St_s, St_l, nu : float
        Stefan numbers and sqrt(alpha_s / alpha_l) [-].
    """

    lam: float
    T_wall: float
    T_melt: float
    T_init: float
    alpha_s: float
    alpha_l: float
    St_s: float
    St_l: float
    nu: float

    def front(self, t):
        """Front position s(t) = 2 lam sqrt(alpha_s t) [m] at time t [s]."""
        return (2 * self.lam * np.sqrt(self.alpha_s * np.asarray(t, float)))[()]

    def temperature(self, x, t):
        """Temperature [degC] at depth x [m] >= 0 and time t [s] > 0 (broadcast).

        Frozen (x <= s): T_wall + (T_m - T_wall) erf(x / (2 sqrt(alpha_s t))) / erf(lam).
        Liquid (x > s):  T_init - (T_init - T_m) erfc(x / (2 sqrt(alpha_l t))) / erfc(lam nu).
        """
        x, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(t, float))
        xi_s = x / (2 * np.sqrt(self.alpha_s * t))
        xi_l = x / (2 * np.sqrt(self.alpha_l * t))
        frozen = self.T_wall + (self.T_melt - self.T_wall) * erf(xi_s) / erf(self.lam)
        liquid = self.T_init - (self.T_init - self.T_melt) * erfc(xi_l) / erfc(self.lam * self.nu)
        return np.where(xi_s <= self.lam, frozen, liquid)[()]


def neumann_stefan(T_wall, T_melt, T_init, k_s, c_s, k_l, c_l, rho, L_vol):
    r"""Two-phase planar freezing from a cold wall (Neumann solution).

    Half-space x > 0 initially liquid at ``T_init``; from t = 0 the wall x = 0 is held at
    ``T_wall < T_melt <= T_init``.  The frozen layer ("s") grows as
    :math:`s = 2\lambda\sqrt{\alpha_s t}`, with :math:`\lambda` from
    :func:`neumann_stefan_lambda`, and satisfies the Stefan condition
    :math:`k_s \partial_x T_s - k_l \partial_x T_l = L_{vol}\, ds/dt` at the front
    (Carslaw & Jaeger 2nd ed. section 11.2).

    Parameters
    ----------
    T_wall : float
        Wall temperature [degC].
    T_melt : float
        Melting (freezing) temperature [degC].
    T_init : float
        Initial liquid temperature [degC].
    k_s, k_l : float
        Thermal conductivities of frozen and liquid phase [W/(m K)].
    c_s, c_l : float
        Specific heats of frozen and liquid phase [J/(kg K)].
    rho : float
        Density, common to both phases [kg/m^3].
    L_vol : float
        Volumetric latent heat [J/m^3].

    Returns
    -------
    NeumannStefan
        Object with ``lam``, ``front(t)`` and ``temperature(x, t)``.
    """
    if not T_wall < T_melt <= T_init:
        raise ValueError("freezing needs T_wall < T_melt <= T_init")
    alpha_s = k_s / (rho * c_s)
    alpha_l = k_l / (rho * c_l)
    L_mass = L_vol / rho  # J/kg, so that St = c dT / L_mass is dimensionless
    St_s = c_s * (T_melt - T_wall) / L_mass
    St_l = c_l * (T_init - T_melt) / L_mass
    nu = np.sqrt(alpha_s / alpha_l)
    lam = neumann_stefan_lambda(St_s, St_l, nu)
    return NeumannStefan(lam, T_wall, T_melt, T_init, alpha_s, alpha_l, St_s, St_l, nu)


# ---------------------------------------------------------------------------
# Case 5: radial freezing around a line sink
# ---------------------------------------------------------------------------

def _e1_ratio(mu):
    """exp(-mu) / E1(mu), finite for all mu >= 0.

    For mu = 0, E1 = inf and the ratio is 0.  For large mu both factors underflow;
    there the asymptotic series E1(mu) ~ exp(-mu)/mu (1 - 1/mu + 2/mu^2) is used.
    """
    if mu > 600:
        return mu / (1 - 1 / mu + 2 / mu**2)
    return np.exp(-mu) / exp1(mu)


def _line_sink_residual(lam, Q, k_f, k_u, alpha_f, alpha_u, T_i, T_f, L_vol):
    """LHS - RHS of the line-sink interface condition (see line_sink_freezing_lambda)."""
    mu = lam * lam * alpha_f / alpha_u
    sink = Q / (4 * np.pi) * np.exp(-lam * lam)
    inflow = k_u * (T_i - T_f) * _e1_ratio(mu)
    return sink - inflow - L_vol * alpha_f * lam * lam


def line_sink_freezing_lambda(Q, k_f, k_u, alpha_f, alpha_u, T_i, T_f, L_vol):
    r"""Front constant for radial freezing around a line heat sink.

    Root :math:`\lambda > 0` of

    .. math:: \frac{Q}{4\pi} e^{-\lambda^2}
        - k_u (T_i - T_f) \frac{e^{-\lambda^2\alpha_f/\alpha_u}}{E_1(\lambda^2\alpha_f/\alpha_u)}
        = L_{vol}\,\alpha_f \lambda^2

    (interface energy balance; Paterson 1952, Carslaw & Jaeger 2nd ed. section 11.6).
    The left minus right side falls monotonically from Q/(4 pi) at lam = 0 and is
    negative at :math:`\lambda_{max} = \sqrt{Q/(4\pi L_{vol}\alpha_f)}`, which brackets
    the root.  ``k_f`` does not enter the equation; it is accepted so that all the
    line-sink functions share one signature.

    Parameters
    ----------
    Q : float
        Heat extracted per unit length of the sink [W/m], > 0.
    k_f, k_u : float
        Conductivity of frozen and unfrozen tissue [W/(m K)].
    alpha_f, alpha_u : float
        Diffusivity of frozen and unfrozen tissue [m^2/s].
    T_i : float
        Initial (far-field) temperature [degC].
    T_f : float
        Freezing temperature [degC], ``T_f <= T_i``.
    L_vol : float
        Volumetric latent heat [J/m^3].

    Returns
    -------
    lam : float
        Front constant [-]; front radius ``2 lam sqrt(alpha_f t)``.
    """
    if Q <= 0 or T_i < T_f:
        raise ValueError("need Q > 0 and T_i >= T_f")
    args = (Q, k_f, k_u, alpha_f, alpha_u, T_i, T_f, L_vol)
    hi = np.sqrt(Q / (4 * np.pi * L_vol * alpha_f))
    return brentq(_line_sink_residual, 0.0, hi, args=args, xtol=1e-15, rtol=1e-14)


@dataclass(frozen=True)
class LineSinkFreezing:
    """Radial freezing around a line sink (see :func:`line_sink_freezing`).

    Attributes
    ----------
    lam : float
        Front constant [-]; front at ``2 lam sqrt(alpha_f t)``.
    Q : float
        Extracted heat per unit length [W/m].
    k_f, k_u : float
        Conductivities [W/(m K)].
    alpha_f, alpha_u : float
        Diffusivities [m^2/s].
    T_i, T_f : float
        Initial and freezing temperatures [degC].
    L_vol : float
        Volumetric latent heat [J/m^3].
    """

    lam: float
    Q: float
    k_f: float
    k_u: float
    alpha_f: float
    alpha_u: float
    T_i: float
    T_f: float
    L_vol: float

    def front(self, t):
        """Front radius R(t) = 2 lam sqrt(alpha_f t) [m] at time t [s]."""
        return (2 * self.lam * np.sqrt(self.alpha_f * np.asarray(t, float)))[()]

    def temperature(self, r, t):
        """Temperature [degC] at radius r [m] > 0 and time t [s] > 0 (broadcast).

        Frozen (r <= R):  T_f - Q/(4 pi k_f) [E1(r^2/(4 alpha_f t)) - E1(lam^2)].
        Unfrozen (r > R): T_i - (T_i - T_f) E1(r^2/(4 alpha_u t)) / E1(lam^2 alpha_f/alpha_u).
        """
        r, t = np.broadcast_arrays(np.asarray(r, float), np.asarray(t, float))
        z_f = r * r / (4 * self.alpha_f * t)
        z_u = r * r / (4 * self.alpha_u * t)
        lam2 = self.lam**2
        frozen = self.T_f - self.Q / (4 * np.pi * self.k_f) * (exp1(z_f) - exp1(lam2))
        unfrozen = self.T_i - (self.T_i - self.T_f) * exp1(z_u) / exp1(
            lam2 * self.alpha_f / self.alpha_u
        )
        return np.where(z_f <= lam2, frozen, unfrozen)[()]


def line_sink_freezing(Q, k_f, k_u, alpha_f, alpha_u, T_i, T_f, L_vol):
    r"""Radial freezing around a line sink extracting Q [W/m] (Paterson solution).

    Infinite medium at ``T_i``; from t = 0 a line sink on the axis removes ``Q`` per unit
    length.  Frozen region r < R(t) = 2 lam sqrt(alpha_f t):

    .. math:: T = T_f - \frac{Q}{4\pi k_f}\left[E_1\!\left(\frac{r^2}{4\alpha_f t}\right)
              - E_1(\lambda^2)\right]

    unfrozen region r > R(t):

    .. math:: T = T_i - (T_i - T_f)\,
        \frac{E_1(r^2/(4\alpha_u t))}{E_1(\lambda^2\alpha_f/\alpha_u)}

    with lam from :func:`line_sink_freezing_lambda` (Paterson 1952; Carslaw & Jaeger 2nd
    ed. section 11.6).  No perfusion.  To verify a finite-radius probe, impose
    ``temperature(r_p, t)`` on the probe wall.

    Parameters
    ----------
    Q : float
        Heat extracted per unit length [W/m], > 0.
    k_f, k_u : float
        Conductivity of frozen and unfrozen tissue [W/(m K)].
    alpha_f, alpha_u : float
        Diffusivity of frozen and unfrozen tissue [m^2/s].
    T_i : float
        Initial temperature [degC].
    T_f : float
        Freezing temperature [degC].
    L_vol : float
        Volumetric latent heat [J/m^3].

    Returns
    -------
    LineSinkFreezing
        Object with ``lam``, ``front(t)`` and ``temperature(r, t)``.
    """
    lam = line_sink_freezing_lambda(Q, k_f, k_u, alpha_f, alpha_u, T_i, T_f, L_vol)
    return LineSinkFreezing(lam, Q, k_f, k_u, alpha_f, alpha_u, T_i, T_f, L_vol)


def line_sink_Q_for_front(R_target, t, k_f, k_u, alpha_f, alpha_u, T_i, T_f, L_vol):
    r"""Line-sink strength that puts the freezing front at ``R_target`` at time ``t``.

    The front fixes :math:`\lambda = R/(2\sqrt{\alpha_f t})`; the interface condition of
    :func:`line_sink_freezing_lambda` is linear in Q, so no root finding is needed:

    .. math:: Q = 4\pi e^{\lambda^2}\left[L_{vol}\alpha_f\lambda^2
        + k_u (T_i - T_f)\frac{e^{-\mu}}{E_1(\mu)}\right], \quad
        \mu = \lambda^2 \alpha_f / \alpha_u

    Parameters
    ----------
    R_target : float
        Front radius [m].
    t : float
        Time [s].
    k_f, k_u, alpha_f, alpha_u, T_i, T_f, L_vol
        As in :func:`line_sink_freezing` (``k_f`` unused, kept for a uniform signature).

    Returns
    -------
    Q : float
        Heat extracted per unit length [W/m].
    """
    lam = R_target / (2 * np.sqrt(alpha_f * t))
    mu = lam**2 * alpha_f / alpha_u
    return 4 * np.pi * np.exp(lam**2) * (
        L_vol * alpha_f * lam**2 + k_u * (T_i - T_f) * _e1_ratio(mu)
    )


# ---------------------------------------------------------------------------
# Case 6: steady iceball around a long probe with perfusion
# ---------------------------------------------------------------------------

def _k1_over_k0(x):
    """K1(x)/K0(x) via exponentially scaled Bessel functions (no underflow for large x)."""
    return kve(1, x) / kve(0, x)


def _iceball_residual(R, r_p, T_p, T_f, T_a, k_f, k_u, delta):
    """Frozen-side minus unfrozen-side heat flux density at the iceball edge [W/m^2]."""
    frozen = k_f * (T_f - T_p) / (R * np.log(R / r_p))
    unfrozen = k_u * (T_a - T_f) * _k1_over_k0(R / delta) / delta
    return frozen - unfrozen


def steady_iceball_radius(r_p, T_p, T_f, T_a, k_f, k_u, delta):
    r"""Steady radius of the iceball around an infinitely long probe in perfused tissue.

    Root R > r_p of the flux balance at the iceball edge

    .. math:: \frac{k_f (T_f - T_p)}{R \ln(R/r_p)}
        = \frac{k_u (T_a - T_f)}{\delta}\frac{K_1(R/\delta)}{K_0(R/\delta)}

    Left: steady conduction through the frozen annulus (no perfusion in frozen tissue),
    :math:`T = T_p + (T_f - T_p)\ln(r/r_p)/\ln(R/r_p)`.  Right: flux drawn from perfused
    unfrozen tissue, :math:`T = T_a + (T_f - T_a) K_0(r/\delta)/K_0(R/\delta)` (steady
    Pennes in a cylinder; see :func:`steady_iceball_temperature`).  The difference is
    +inf at R -> r_p and tends to -k_u (T_a - T_f)/delta for R -> inf; the first sign
    change on a logarithmic scan is refined with ``brentq``.

    Parameters
    ----------
    r_p : float
        Probe radius [m].
    T_p : float
        Probe wall temperature [degC], < T_f.
    T_f : float
        Freezing temperature (iceball edge) [degC].
    T_a : float
        Arterial / far-field temperature [degC], > T_f.
    k_f, k_u : float
        Conductivity of frozen and unfrozen tissue [W/(m K)].
    delta : float
        Perfusion length sqrt(k_u / (w_b rho_b c_b)) [m] (:func:`perfusion_length`).

    Returns
    -------
    R : float
        Iceball radius [m]; ``inf`` without perfusion (``delta = inf``): no steady state.
    """
    if not T_p < T_f < T_a:
        raise ValueError("need T_p < T_f < T_a")
    if np.isinf(delta):
        return np.inf
    args = (r_p, T_p, T_f, T_a, k_f, k_u, delta)
    # Scan from just outside the probe to far beyond delta (the iceball cannot exceed
    # a few hundred perfusion lengths for any tissue-like numbers).
    radii = r_p * np.logspace(1e-9, np.log10(1e4 * max(delta, r_p) / r_p), 400)
    f = np.array([_iceball_residual(R, *args) for R in radii])
    idx = np.flatnonzero(np.sign(f[:-1]) != np.sign(f[1:]))
    if idx.size == 0:
        raise RuntimeError("no iceball radius found")
    i = idx[0]
    return brentq(_iceball_residual, radii[i], radii[i + 1], args=args, xtol=1e-14, rtol=1e-13)


def steady_iceball_temperature(r, R, r_p, T_p, T_f, T_a, delta):
    r"""Steady temperature around a long probe with an iceball of radius R.

    Frozen annulus :math:`r_p \le r \le R`:
    :math:`T = T_p + (T_f - T_p)\ln(r/r_p)/\ln(R/r_p)`.
    Perfused unfrozen tissue :math:`r > R`:
    :math:`T = T_a + (T_f - T_a) K_0(r/\delta)/K_0(R/\delta)`, the decaying solution of
    :math:`\frac{1}{r}(r\theta')' - \theta/\delta^2 = 0`.  With R from
    :func:`steady_iceball_radius` the heat flux is continuous at r = R.

    Parameters
    ----------
    r : float or array_like
        Radius [m], >= r_p.
    R : float
        Iceball radius [m].
    r_p : float
        Probe radius [m].
    T_p, T_f, T_a : float
        Probe wall, freezing and arterial temperatures [degC].
    delta : float
        Perfusion length [m].

    Returns
    -------
    T : float or ndarray
        Temperature [degC].
    """
    r = np.asarray(r, float)
    frozen = T_p + (T_f - T_p) * np.log(r / r_p) / np.log(R / r_p)
    # K0(r/d)/K0(R/d) = kve(0, r/d)/kve(0, R/d) * exp(-(r - R)/d): no underflow.
    decay = kve(0, r / delta) / kve(0, R / delta) * np.exp(-(r - R) / delta)
    unfrozen = T_a + (T_f - T_a) * decay
    return np.where(r <= R, frozen, unfrozen)[()]


def kirchhoff_frozen(T, k_f, law="constant"):
    r"""Kirchhoff potential :math:`\Psi(T) = \int k_f(T) dT` of frozen tissue (W/m, up to a constant).

    'constant': :math:`k_f T`; 'ice' (:math:`k_f(T) = k_f\,273.15/T_K`):
    :math:`k_f\,273.15 \ln T_K`. Steady conduction through a frozen region is linear in
    :math:`\Psi` (planar) or in :math:`\Psi` against :math:`\ln r` (radial), whatever k(T)."""
    T = np.asarray(T, float)
    if law == "ice":
        return k_f * 273.15 * np.log(T + 273.15)
    return k_f * T


def steady_frozen_annulus(r_p, R_out, T_p, T_f, T_out, k_f, k_u, law="constant"):
    r"""Steady iceball radius around a long probe in unperfused tissue held at ``T_out`` at r = R_out.

    Heat per metre through the frozen annulus :math:`r_p \le r \le R` equals that through the
    unfrozen one :math:`R \le r \le R_{out}`:

    .. math:: \frac{\Psi(T_f) - \Psi(T_p)}{\ln(R/r_p)} = \frac{k_u (T_{out} - T_f)}{\ln(R_{out}/R)}

    so with :math:`a = \Psi(T_f) - \Psi(T_p)`, :math:`b = k_u (T_{out} - T_f)`:
    :math:`\ln R = (b \ln r_p + a \ln R_{out}) / (a + b)`. Returns R (m)."""
    a = float(kirchhoff_frozen(T_f, k_f, law) - kirchhoff_frozen(T_p, k_f, law))
    b = k_u * (T_out - T_f)
    return float(np.exp((b * np.log(r_p) + a * np.log(R_out)) / (a + b)))


def frozen_isotherm_radius(T, r_p, R, T_p, T_f, k_f, law="constant"):
    """Radius (m) of the isotherm ``T`` (T_p <= T <= T_f) in the steady frozen annulus r_p..R:
    the Kirchhoff potential is linear in ln r."""
    fraction = ((kirchhoff_frozen(T, k_f, law) - kirchhoff_frozen(T_p, k_f, law))
                / (kirchhoff_frozen(T_f, k_f, law) - kirchhoff_frozen(T_p, k_f, law)))
    return float(r_p * (R / r_p) ** fraction)


# ---------------------------------------------------------------------------
# Case 7: observed order of accuracy
# ---------------------------------------------------------------------------

def sphere_intersection_volume(R, r, d):
    """Volume common to two balls of radii R and r whose centres are d apart (lens formula; any
    consistent length unit). Exact coverage of an offset spherical tumour by a spherical lesion."""
    if d >= R + r:
        return 0.0
    if d <= abs(R - r):
        return 4.0 / 3.0 * np.pi * min(R, r) ** 3
    return np.pi * (R + r - d) ** 2 * (d * d + 2 * d * r - 3 * r * r + 2 * d * R + 6 * r * R - 3 * R * R) / (12 * d)


def observed_order(h, err):
    r"""Observed order of accuracy p from errors at several resolutions.

    Least-squares slope of :math:`\log e` against :math:`\log h` (model
    :math:`e \approx C h^p`); for two points this is
    :math:`p = \log(e_1/e_2)/\log(h_1/h_2)`.  (Roache, *Verification and Validation in
    Computational Science and Engineering*, 1998.)

    Parameters
    ----------
    h : array_like
        Mesh sizes or time steps (any consistent unit), > 0, at least two distinct values.
    err : array_like
        Error norms at those resolutions (any consistent unit), > 0.

    Returns
    -------
    p : float
        Observed order [-].
    """
    h = np.asarray(h, float)
    err = np.asarray(err, float)
    if h.shape != err.shape or h.size < 2:
        raise ValueError("need at least two (h, err) pairs of equal length")
    if np.any(h <= 0) or np.any(err <= 0):
        raise ValueError("h and err must be positive")
    slope, _ = np.polyfit(np.log(h), np.log(err), 1)
    return float(slope)

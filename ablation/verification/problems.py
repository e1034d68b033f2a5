"""Verification problems with closed-form answers (docs/physics.md section 6), shared by the tests
(coarse) and the ``verification`` benchmark suite (fine).

Each function builds its grid, runs :class:`ablation.physics.bioheat.BioheatSolver` (the same code the
scenarios use) and returns the numerical and exact temperatures. Temperatures are 37 degC plus
the rise theta; perfusion uses the liver defaults (L = sqrt(k / (w_b rho_b c_b)) = 4.6 mm).
"""
from __future__ import annotations



from dataclasses import dataclass

from ablation.runtime import import_fipy

fp = import_fipy()
import numpy as np

from ablation.verification import analytic
from ablation.physics.bioheat import BioheatSolver, LinearStorage, convective_conductance, perfusion_coefficient
from ablation.geometry.grid import Domain, Region
from ablation.geometry.finite_volume import FVGeometry

# liver defaults (tissue.py) and blood (IT'IS)
K, RHO, C = 0.52, 1079.0, 3540.0
W_B, RHO_B, C_B = 6.4e-3, 1050.0, 3617.0
PERFUSION = float(perfusion_coefficient(W_B, RHO_B, C_B))   # w_b rho_b c_b, W/(m^3 K)
L_PERF = float(analytic.perfusion_length(K, W_B, RHO_B, C_B))
T_BODY = 37.0
STEADY = 1e12   # a time step so long that the storage term vanishes: one solve gives the steady state


@dataclass
class Comparison:
    x: np.ndarray          # where compared (m): radius or depth
    numerical: np.ndarray  # theta (K)
    exact: np.ndarray      # theta (K)
    scale: float           # theta_a or theta0 (K)
    h: float               # characteristic spacing (m)
    volumes: np.ndarray    # cell volumes, for volume-weighted norms

    @property
    def max_error(self) -> float:
        """max |theta_num - theta_exact| / theta_scale."""
        return float(np.max(np.abs(self.numerical - self.exact)) / self.scale)

    @property
    def rms_error(self) -> float:
        """Volume-weighted RMS error / theta_scale."""
        w = self.volumes / self.volumes.sum()
        return float(np.sqrt(np.sum(w * (self.numerical - self.exact) ** 2)) / self.scale)


def _domain_1d(edges, coordinates) -> Domain:
    dx = np.diff(edges)
    if coordinates == "cartesian":
        mesh = fp.Grid1D(dx=dx) + ((float(edges[0]),),)
    else:
        mesh = {"cylindrical": fp.CylindricalGrid1D, "spherical": fp.SphericalGrid1D}[coordinates](
            dx=dx, origin=(float(edges[0]),))
    geometry = FVGeometry.from_fipy(mesh, coordinates=coordinates)
    return Domain("1d", mesh, geometry, (dx.size,), [np.asarray(edges)], np.zeros(3), np.eye(3))


def _solver(domain, perfusion, boundary, initial=T_BODY, tolerance=1e-12, rho_c=RHO * C):
    return BioheatSolver(domain, LinearStorage(np.full(domain.n_cells, rho_c)), lambda T: np.full(T.shape, K),
                         np.full(domain.n_cells, perfusion), T_BODY, boundary, initial,
                         conductivity_varies=False, tolerance=tolerance, max_iterations=100000)


def _two_sided_boundary(domain, low_value, high_value, axis=0):
    """Outer-face temperatures: ``low_value`` on the lowest coordinate along ``axis``, ``high_value``
    on the highest, adiabatic (NaN) elsewhere."""
    g = domain.geometry
    outer = g.boundary_area > 0
    coord = g.boundary_center[axis][outer]
    values = np.full(coord.size, np.nan)
    values[np.isclose(coord, coord.min())] = low_value
    values[np.isclose(coord, coord.max())] = high_value
    return values


# ------------------------------------------------------------------ case 1 on body-fitted grids
def steady_shell_1d(n, coordinates="spherical", a=2e-3, R=20e-3, theta_a=10.0, perfusion=True):
    """Steady Pennes between r = a (theta_a) and r = R (0) on a body-fitted 1-D grid of n cells
    (SphericalGrid1D: docs/physics.md case 1, finite R; CylindricalGrid1D: the cylinder analogue)."""
    edges = np.linspace(a, R, n + 1)
    domain = _domain_1d(edges, coordinates)
    heat = _solver(domain, PERFUSION if perfusion else 0.0,
                   _two_sided_boundary(domain, T_BODY + theta_a, T_BODY))
    heat.step(STEADY)
    r = domain.geometry.centers[0]
    L = L_PERF if perfusion else None
    exact = (analytic.steady_pennes_sphere if coordinates == "spherical" else analytic.steady_pennes_cylinder)(
        r, a, R, theta_a, L)
    return Comparison(r, heat.T - T_BODY, exact, theta_a, (R - a) / n, domain.geometry.volumes)


# ------------------------------------------------------------------ case 2 on a 1-D grid
def transient_slab_1d(n, depth=40e-3, t_end=300.0, theta0=10.0, dt=None):
    """1-D transient Pennes after a step theta0 at x = 0 (docs/physics.md case 2); theta = 0 held at
    x = depth, far beyond the diffusion length. ``dt`` defaults to 4 s x (h / 1 mm)^2 so that the
    backward-Euler time error falls with h^2."""
    h = depth / n
    dt = dt or 4.0 * (h / 1e-3) ** 2
    edges = np.linspace(0.0, depth, n + 1)
    domain = _domain_1d(edges, "cartesian")
    heat = _solver(domain, PERFUSION, _two_sided_boundary(domain, T_BODY + theta0, T_BODY))
    steps = int(round(t_end / dt))
    for _ in range(steps):
        heat.step(t_end / steps)
    x = domain.geometry.centers[0]
    exact = analytic.transient_pennes_1d(x, t_end, theta0, K / (RHO * C), PERFUSION / (RHO * C))
    return Comparison(x, heat.T - T_BODY, exact, theta0, h, domain.geometry.volumes)


# ------------------------------------------------------------------ the same cases embedded in 2-D / 3-D
def _uniform_domain(kind, h, half):
    if kind == "axisymmetric":
        r_edges = np.linspace(0.0, half, int(round(half / h)) + 1)
        z_edges = np.linspace(-half, half, int(round(2 * half / h)) + 1)
        mesh = fp.CylindricalGrid2D(dx=np.diff(r_edges), dy=np.diff(z_edges))
        geometry = FVGeometry.from_fipy(mesh, axisymmetric=True)
        return Domain("axisymmetric", mesh, geometry, (r_edges.size - 1, z_edges.size - 1), [r_edges, z_edges],
                      np.zeros(3), np.eye(3))
    edges = np.linspace(-half, half, int(round(2 * half / h)) + 1)
    mesh = fp.Grid3D(dx=np.diff(edges), dy=np.diff(edges), dz=np.diff(edges))
    geometry = FVGeometry.from_fipy(mesh)
    return Domain("3d", mesh, geometry, (edges.size - 1,) * 3, [edges] * 3, np.zeros(3), np.eye(3))


def steady_sphere_embedded(kind, h, a=4e-3, R=16e-3, theta_a=10.0, true_surface=True):
    """Case 1 with the sphere and the outer sphere staircased on an axisymmetric or 3-D grid:
    cells with centres inside r < a are a held region at theta_a, cells beyond r > R one at 0.
    In 3-D only the octant x, y, z > 0 is simulated (symmetry planes are adiabatic).
    ``true_surface`` applies the wall condition at the real sphere (signed distance), else at
    the staircase faces."""
    if kind == "axisymmetric":
        domain = _uniform_domain(kind, h, R + 2 * h)
    else:
        edges = np.linspace(0.0, R + 2 * h, int(round((R + 2 * h) / h)) + 1)
        mesh = fp.Grid3D(dx=np.diff(edges), dy=np.diff(edges), dz=np.diff(edges))
        domain = Domain("3d", mesh, FVGeometry.from_fipy(mesh), (edges.size - 1,) * 3, [edges] * 3,
                        np.zeros(3), np.eye(3))
    pts = domain.frame_points()
    radius = np.linalg.norm(pts, axis=0)
    domain.regions = [Region("inner sphere", "probe_active", 0, radius < a,
                             lambda p: np.linalg.norm(p, axis=0) - a if true_surface else None),
                      Region("outer shell", "vessel", 0, radius > R,
                             lambda p: R - np.linalg.norm(p, axis=0) if true_surface else None)]
    if not true_surface:
        for region in domain.regions:
            region.signed_distance = None
    heat = _solver(domain, PERFUSION, None)
    for surface, value in zip(heat.surfaces, (T_BODY + theta_a, T_BODY)):
        surface.bc, surface.value = "temperature", value
    heat.face_conductance()
    heat.step(STEADY)
    tissue = domain.tissue
    r = radius[tissue]
    exact = analytic.steady_pennes_sphere(r, a, R, theta_a, L_PERF)
    return Comparison(r, heat.T[tissue] - T_BODY, exact, theta_a, h, domain.geometry.volumes[tissue])


def transient_slab_embedded(kind, h, depth=24e-3, t_end=120.0, theta0=10.0):
    """Case 2 along z (axisymmetric) or x (3-D): faces at the low end held at theta0, the high end
    at 0, all others adiabatic; the 1-D solution must hold in every column."""
    dt = 4.0 * (h / 1e-3) ** 2
    if kind == "axisymmetric":
        r_edges = np.linspace(0.0, 4 * h, 5)
        z_edges = np.linspace(0.0, depth, int(round(depth / h)) + 1)
        mesh = fp.CylindricalGrid2D(dx=np.diff(r_edges), dy=np.diff(z_edges))
        domain = Domain(kind, mesh, FVGeometry.from_fipy(mesh, axisymmetric=True),
                        (4, z_edges.size - 1), [r_edges, z_edges], np.zeros(3), np.eye(3))
        axis = 1
    else:
        x_edges = np.linspace(0.0, depth, int(round(depth / h)) + 1)
        side = np.linspace(0.0, 3 * h, 4)
        mesh = fp.Grid3D(dx=np.diff(x_edges), dy=np.diff(side), dz=np.diff(side))
        domain = Domain(kind, mesh, FVGeometry.from_fipy(mesh), (x_edges.size - 1, 3, 3), [x_edges, side, side],
                        np.zeros(3), np.eye(3))
        axis = 0
    heat = _solver(domain, PERFUSION, _two_sided_boundary(domain, T_BODY + theta0, T_BODY, axis=axis))
    steps = int(round(t_end / dt))
    for _ in range(steps):
        heat.step(t_end / steps)
    x = domain.geometry.centers[axis]
    exact = analytic.transient_pennes_1d(x, t_end, theta0, K / (RHO * C), PERFUSION / (RHO * C))
    return Comparison(x, heat.T - T_BODY, exact, theta0, h, domain.geometry.volumes)


def observed_order(comparisons, norm="max_error") -> float:
    h = [c.h for c in comparisons]
    err = [getattr(c, norm) for c in comparisons]
    return float(analytic.observed_order(h, err))


# ------------------------------------------------------------------ a thin probe on a 3-D grid
@dataclass
class LineProbe:
    """The steady field around a thin probe held at theta_a on a 3-D grid, against the closed form."""
    power_per_length: float        # W/m out of the tissue into the probe wall (numerical)
    exact_power_per_length: float  # W/m, closed form
    comparison: Comparison         # theta of the tissue cells (rho >= 2 h) against the closed form

    @property
    def power_error(self) -> float:
        """(numerical - exact) / exact wall power."""
        return self.power_per_length / self.exact_power_per_length - 1.0


def steady_line_probe(h, offset=(0.0, 0.0), a=0.735e-3, half=12e-3, theta_a=-10.0, log_law=True,
                      layers=3, wall_h=None, true_wall_area=True):
    """A 17 G probe (radius ``a``) along z across a 3-D grid of cubes of side ``h``, its axis moved
    by ``offset`` (m) from a cell centre; held at theta_a, perfused tissue (docs/physics.md case 1,
    cylinder). The outer faces across the axis are held at the closed form
    (:func:`analytic.steady_pennes_cylinder` with R = ``half``), so the box is exact; the faces
    along the axis are adiabatic (the field does not vary along it). ``log_law`` couples the wall
    by the line-source wall law (geometry/probe_wall.py), else by the distance to the true
    surface across each staircase face (the coupling before it).

    ``wall_h`` (W/(m^2 K)): a convective wall instead, a coolant at theta_a behind a heat-transfer
    coefficient h on the probe's surface (a cooled RF electrode, a cryoprobe's gas). The closed form
    scales the held-wall field u(r) (u(a) = 1) by the wall temperature that balances the two,
    k theta_w u'(a) = h (theta_w - theta_a). ``true_wall_area`` False puts h on the staircase faces'
    area instead of the cylinder's (the coupling before 2026-12-07)."""
    from ablation.geometry.grid import mark_regions
    from ablation.geometry.shapes import Probe
    n = 2 * int(round(half / h)) + 1                 # odd: a cell centre on x = y = 0
    edges = (np.arange(n + 1) - n / 2) * h
    z_edges = np.arange(layers + 1) * h
    grid = [edges, edges, z_edges]
    domain = Domain("3d", None, FVGeometry.rectilinear(grid), (n, n, layers), grid, np.zeros(3), np.eye(3))
    axis = np.array([offset[0], offset[1], 0.0])
    length = z_edges[-1] + 4 * h
    domain.probes = [Probe("probe", axis - np.array([0.0, 0.0, 2 * h]), np.array([0.0, 0.0, -1.0]),
                           a, length / 2, length / 2)]
    mark_regions(domain)
    if not log_law:
        domain.wall_length = domain.wall_area = None
    elif not true_wall_area:
        domain.wall_area = None
    g = domain.geometry
    # the closed form: u(r) of a wall held at 1, scaled by the wall's temperature theta_w
    delta = 1e-9
    slope = (analytic.steady_pennes_cylinder(a + delta, a, half, 1.0, L_PERF) - 1.0) / delta    # u'(a), 1/m
    theta_w = theta_a if wall_h is None else wall_h * theta_a / (wall_h - K * slope)

    def closed_form(r):
        return theta_w * analytic.steady_pennes_cylinder(r, a, half, 1.0, L_PERF)
    outer = g.boundary_area > 0
    centre = g.boundary_center[:, outer] + np.array([e[0] for e in grid])[:, None]   # geometry: from the low corner
    rho_face = np.hypot(centre[0] - axis[0], centre[1] - axis[1])
    across = ~np.isclose(np.abs(centre[2] - z_edges[-1] / 2), z_edges[-1] / 2)
    boundary = np.where(across, T_BODY + closed_form(rho_face), np.nan)
    heat = _solver(domain, PERFUSION, boundary)
    for surface in heat.surfaces:
        surface.bc, surface.value, surface.h = ("temperature", T_BODY + theta_a, 0.0) if wall_h is None else \
            ("convection", T_BODY + theta_a, wall_h)
    heat.step(STEADY)
    # heat into the wall (W/m): the step's energy over a 1e12 s step is too small to read back
    if wall_h is None:
        power = sum(float(np.sum(K * s.area / s.distance * (heat.T[s.cell] - s.value))) for s in heat.surfaces)
    else:
        power = sum(float(np.sum(convective_conductance(s, K) * (heat.T[s.cell] - s.value))) for s in heat.surfaces)
    power /= z_edges[-1]
    exact_power = 2.0 * np.pi * a * K * slope * theta_w
    pts = domain.frame_points()
    rho = np.hypot(pts[0] - axis[0], pts[1] - axis[1])
    keep = domain.tissue & (rho >= 2 * h) & (rho <= half)
    exact = closed_form(rho[keep])
    return LineProbe(power, exact_power, Comparison(rho[keep], heat.T[keep] - T_BODY, exact, abs(theta_w), h,
                                                    g.volumes[keep]))

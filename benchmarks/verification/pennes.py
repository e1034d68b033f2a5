"""Pennes solver against closed forms (docs/physics.md section 6, cases 1, 2 and 7).

Body-fitted 1-D grids (SphericalGrid1D, CylindricalGrid1D, Grid1D): max error < 1 % of the imposed
rise at the finest grid and observed order 1.8-2.2 (dt refined with h^2 in the transient case).
The same cases embedded in axisymmetric and 3-D grids: within 3-5 % and order >= 0.9 (the sphere
is staircased; its wall condition is applied at the true surface through the signed distance).
"""
from ablation.bench import Metric, case
from ablation.verification import problems as v


def _errors(name, comparisons, max_tol, order_lo, order_hi=None, norm="max_error"):
    finest = comparisons[-1]
    order = v.observed_order(comparisons, norm)
    rows = [Metric(f"{name}.max_error", finest.max_error, 0.0, max_tol, "1", "at_most",
                   note=f"h = {finest.h * 1e3:.3g} mm, relative to the imposed rise")]
    if order_hi is None:
        rows.append(Metric(f"{name}.order_{norm}", order, order_lo, 0.0, "1", "at_least",
                           note="h = " + ", ".join(f"{c.h * 1e3:.3g}" for c in comparisons) + " mm"))
    else:
        mid, half = (order_lo + order_hi) / 2, (order_hi - order_lo) / 2
        rows.append(Metric(f"{name}.order_{norm}", order, mid, half, "1", "within",
                           note="h = " + ", ".join(f"{c.h * 1e3:.3g}" for c in comparisons) + " mm"))
    return rows


@case()
def steady_sphere_1d(ctx):
    """Case 1 (finite R) on SphericalGrid1D, a = 2 mm, R = 20 mm, liver perfusion (L = 4.6 mm)."""
    ns = (40, 80, 160) if ctx.quick else (40, 80, 160, 320)
    return _errors("spherical_grid_1d", [v.steady_shell_1d(n, "spherical") for n in ns], 0.01 if not ctx.quick else 0.012, 1.8, 2.2)


@case()
def steady_cylinder_1d(ctx):
    """Steady Pennes around a cylinder on CylindricalGrid1D (Bessel closed form), a = 2 mm, R = 20 mm."""
    ns = (40, 80, 160) if ctx.quick else (40, 80, 160, 320)
    return _errors("cylindrical_grid_1d", [v.steady_shell_1d(n, "cylindrical") for n in ns], 0.01, 1.8, 2.2)


@case()
def transient_slab_1d(ctx):
    """Case 2 on Grid1D: step of 10 K at x = 0, 300 s, liver perfusion; dt = 4 s (h / 1 mm)^2."""
    ns = (20, 40, 80) if ctx.quick else (20, 40, 80, 160)
    return _errors("grid_1d_transient", [v.transient_slab_1d(n) for n in ns], 0.01 if not ctx.quick else 0.02, 1.8, 2.2)


@case()
def transient_slab_embedded(ctx):
    """Case 2 along the axis of a CylindricalGrid2D and along x of a Grid3D."""
    hs = (2e-3, 1e-3) if ctx.quick else (2e-3, 1e-3, 0.5e-3)
    rows = []
    for kind in ("axisymmetric", "3d"):
        rows += _errors(f"{kind}_transient", [v.transient_slab_embedded(kind, h) for h in hs], 0.03, 0.9)
    return rows


@case()
def steady_sphere_embedded(ctx):
    """Case 1 with staircased spheres on CylindricalGrid2D and Grid3D (octant), a = 4 mm, R = 16 mm."""
    rows = []
    axi = (1e-3, 0.5e-3) if ctx.quick else (1e-3, 0.5e-3, 0.25e-3, 0.125e-3)
    cube = (1e-3, 0.667e-3) if ctx.quick else (1e-3, 0.667e-3, 0.5e-3)
    rows += _errors("axisymmetric_sphere", [v.steady_sphere_embedded("axisymmetric", h) for h in axi], 0.03, 0.9)
    rows += _errors("3d_sphere", [v.steady_sphere_embedded("3d", h) for h in cube], 0.03, 0.9)
    rows += _errors("3d_sphere", [v.steady_sphere_embedded("3d", h) for h in cube], 0.03, 0.9, norm="rms_error")[1:]
    return rows


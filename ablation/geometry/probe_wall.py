"""The wall of a thin straight probe on a 3-D rectilinear grid: a logarithmic wall law.

A 14-17 G probe (0.7-0.8 mm radius) is about one 1-1.5 mm cell across. Held as the staircase of
the cells it touches, its wall acts wherever those cells fall: moving the probe by half a cell
changed a cryo zone by 39 % (docs/physics.md 6, case 8). Near a thin cylinder the temperature
(and the RF potential) varies with the distance rho from its axis as

    T = T_w + b ln(rho / r_w),

the field of a line source, whose flux through any surface enclosing the axis is 2 pi k b per unit
length. So the wall is coupled to each tissue cell next to the held cells by the conductance that
passes the line source's flux exactly when the cell sits on that profile:

    G_cell = k I_cell / ln(rho_cell / r_w),   I_cell = integral over the cell's wall faces of
                                                        (rho_hat . n) / rho dA,

with n the face normal pointing into the tissue. Around a held set that encloses the axis the
I_cell add up to 2 pi per unit length, whatever the cells' sizes and the probe's position among
them, so the wall's pull on the far field is that of the true radius r_w (Peaceman's well index
generalised to probes as wide as a cell; Peaceman, SPE J 1978).

I_F of a face F is computed exactly from Stokes' theorem: rho_hat / rho = curl(theta e) with theta
the azimuth about the axis direction e, so I_F is the loop integral of theta (e . dl) around F
(for a face parallel to the axis: the face's length along the axis times the angle it subtends).
"""
from __future__ import annotations

import numpy as np

from ablation.geometry.shapes import Segment, orthonormal_frame


def face_geometry(domain, faces: np.ndarray):
    """Centre (3, n), normal axis (n,) and half widths (3, n; 0 along the normal) of interior faces
    of a 3-D rectilinear grid (its frame coordinates: the world axes)."""
    g = domain.geometry
    lo, hi = g.face_cell_1[faces], g.face_cell_2[faces]
    nx, ny, _ = domain.shape
    index_lo = np.vstack([lo % nx, (lo // nx) % ny, lo // (nx * ny)])
    index_hi = np.vstack([hi % nx, (hi // nx) % ny, hi // (nx * ny)])
    normal_axis = np.argmax(index_hi != index_lo, axis=0)
    centre = domain.frame_points()[:, lo].copy()
    half = np.zeros((3, faces.size))
    for ax in range(3):
        widths = np.diff(domain.edges[ax])
        half[ax] = 0.5 * widths[index_lo[ax]]
    on = np.arange(faces.size)
    centre[normal_axis, on] += half[normal_axis, on]      # the face lies at the low cell's upper edge
    half[normal_axis, on] = 0.0
    return centre, normal_axis, half


def azimuth_flux(centre, normal, half, axis: Segment) -> tuple[np.ndarray, np.ndarray]:
    """I_F = integral over each face of (rho_hat . n) / rho dA (m) about the infinite line through
    ``axis``, and whether it is defined (the line does not pierce or touch the face).

    centre (3, n), normal (3, n) unit normals, half (3, n) half widths along the world axes (0
    along the normal)."""
    e = (axis.end - axis.start) / axis.length
    frame = orthonormal_frame(e)             # columns b1, b2, e: right-handed
    n_faces = centre.shape[1]
    # the face's corners, counter-clockwise about its normal (right-hand rule): the in-plane axes
    # (a+1, a+2) of a face normal to axis a are right-handed about +e_a; swapped about -e_a
    normal_axis = np.argmax(np.abs(normal), axis=0)
    positive = normal[normal_axis, np.arange(n_faces)] > 0
    first = np.where(positive, (normal_axis + 1) % 3, (normal_axis + 2) % 3)
    second = np.where(positive, (normal_axis + 2) % 3, (normal_axis + 1) % 3)
    du = np.eye(3)[:, first] * half[first, np.arange(n_faces)]
    dv = np.eye(3)[:, second] * half[second, np.arange(n_faces)]
    corners = np.stack([centre - du - dv, centre + du - dv, centre + du + dv, centre - du + dv])

    # azimuth about the axis, measured from the direction of the face centre (branch cut behind it)
    def local(points):                       # (..., 3, n) -> components along b1, b2 (m)
        rel = points - axis.start[:, None]
        return np.einsum("...kn,kj->...jn", rel, frame)[..., :2, :]
    centre_local = local(centre)
    reference = np.arctan2(centre_local[1], centre_local[0])
    flux = np.zeros(n_faces)
    for a in range(4):
        start, end = corners[a], corners[(a + 1) % 4]
        along = (end - start).T @ e          # e . dl over the whole edge (m)
        flux += along * _mean_azimuth(local(start), local(end), reference)
    # defined when the face, projected along e onto the plane across the axis, keeps clear of it
    projected = local(corners)               # (4, 2, n)
    clear = _clear_of_origin(projected, tolerance=1e-6 * np.max(half, axis=0))
    return flux, clear


def _mean_azimuth(a: np.ndarray, b: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mean over the straight edge from ``a`` to ``b`` (2, n), seen along the axis, of the azimuth
    about the origin measured from ``reference`` (exact: with the edge's line at distance p from
    the origin and s along it, the azimuth is theta_a + sigma (atan(s/p) - atan(s_a/p)), whose
    integral is s atan(s/p) - p/2 ln(p^2 + s^2))."""
    theta_a = np.angle(np.exp(1j * (np.arctan2(a[1], a[0]) - reference)))
    span = b - a
    length = np.hypot(span[0], span[1])
    moving = length > 0                      # an edge along the axis keeps one azimuth
    safe = np.where(moving, length, 1.0)
    d = span / safe
    s0 = a[0] * d[0] + a[1] * d[1]
    s1 = s0 + length
    foot = a - s0 * d
    p = np.hypot(foot[0], foot[1])
    sigma = np.sign(foot[0] * d[1] - foot[1] * d[0])
    sigma = np.where(p > 0, sigma, 0.0)      # on the line through the origin the azimuth is constant

    def antiderivative(s):
        log = np.where(p > 0, p * np.log(np.maximum(p * p + s * s, 1e-300)), 0.0)
        return s * np.arctan2(s, p) - 0.5 * log
    mean = (antiderivative(s1) - antiderivative(s0)) / safe - np.arctan2(s0, p)
    return theta_a + np.where(moving, sigma * mean, 0.0)


def _clear_of_origin(polygon: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """Whether the origin lies outside each convex quadrilateral (4, 2, n) by more than
    ``tolerance`` (or the quadrilateral, seen along the axis, is a segment that misses it)."""
    distance = np.full(polygon.shape[2], np.inf)
    signs = []
    for a in range(4):
        p, q = polygon[a], polygon[(a + 1) % 4]
        d = q - p
        length2 = np.einsum("kn,kn->n", d, d)
        s = np.clip(np.where(length2 > 0, -np.einsum("kn,kn->n", p, d) / np.where(length2 > 0, length2, 1), 0), 0, 1)
        nearest = p + s * d
        distance = np.minimum(distance, np.hypot(nearest[0], nearest[1]))
        signs.append(d[0] * (-p[1]) - d[1] * (-p[0]))       # cross(d, origin - p)
    signs = np.array(signs)
    # strictly on one side of every edge: a quadrilateral seen edge-on (a segment) has no inside
    inside = np.all(signs > 0, axis=0) | np.all(signs < 0, axis=0)
    return (distance > tolerance) & ~inside


def log_law_wall_lengths(domain, needle: Segment, held_by_probe: np.ndarray,
                         held: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wall lengths d_eff (m) of the faces between ``held_by_probe`` cells and tissue cells (not
    ``held``), such that G = k A / d_eff is the log-law conductance of the module docstring, and
    each face's share of the probe's true wall area (m^2).

    The true wall a tissue cell faces is r_w I_cell (I_cell = the angle it subtends times its length
    along the axis), shared among its wall faces as their areas are: a wall condition per unit of
    wall area (a coolant's h, a heat flux) acts on that area, not on the staircase faces (1.25x the
    cylinder they stand for for a 1.5 mm needle on 1.5 mm cells, 0.84x on 1 mm cells).

    Returns (face indices, d_eff, wall area) for the faces whose tissue cell lies beside the
    needle's length and outside its radius with every wall face clear of the axis; the others
    (beyond the tip, at a face the axis touches) are left to the caller's true-surface distance."""
    g = domain.geometry
    p, q = g.face_cell_1, g.face_cell_2
    on_p = held_by_probe[p] & ~held[q]       # held cell 1, tissue cell 2: normal +axis
    on_q = held_by_probe[q] & ~held[p]
    faces = np.concatenate([np.nonzero(on_p)[0], np.nonzero(on_q)[0]])
    if not faces.size:
        return faces, np.zeros(0), np.zeros(0)
    tissue = np.concatenate([q[on_p], p[on_q]])
    sign = np.concatenate([np.ones(on_p.sum()), -np.ones(on_q.sum())])
    centre, normal_axis, half = face_geometry(domain, faces)
    normal = np.zeros((3, faces.size))
    normal[normal_axis, np.arange(faces.size)] = sign
    flux, clear = azimuth_flux(centre, normal, half, needle)
    area = g.face_area[faces]

    points = domain.frame_points()[:, tissue]
    e = (needle.end - needle.start) / needle.length
    along = (points - needle.start[:, None]).T @ e
    rho = np.linalg.norm(points - needle.start[:, None] - np.outer(e, along), axis=0)
    usable = clear & (rho > needle.radius * (1.0 + 1e-9)) & (along >= 0.0) & (along <= needle.length)

    # per tissue cell: all its wall faces usable, and a positive summed flux
    cells, which = np.unique(tissue, return_inverse=True)
    cell_ok = np.bincount(which, ~usable, cells.size) == 0
    cell_flux = np.bincount(which, flux, cells.size)
    cell_area = np.bincount(which, area, cells.size)
    cell_ok &= cell_flux > 0.0
    ok = cell_ok[which]
    d_eff = cell_area[which] * np.log(np.where(ok, rho, 2 * needle.radius) / needle.radius) \
        / np.where(ok, cell_flux[which], 1.0)
    # a tissue centre almost on the wall: at least 5 % of the centre-to-centre distance, as the
    # true-surface distance is clipped (bioheat.py)
    d_eff = np.maximum(d_eff, 0.05 * g.face_distance[faces])
    wall_area = needle.radius * cell_flux[which] * area / cell_area[which]
    return faces[ok], d_eff[ok], wall_area[ok]

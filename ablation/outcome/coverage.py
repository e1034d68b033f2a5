"""Tumour coverage and ablative margins (docs/physics.md section 5; Ahmed et al., Radiology 2014).

For every tumour and any lesion criterion (a level field ``L`` per cell, ``L >= 0`` inside the
ablation zone, :func:`ablation.damage.parse_criterion`):

* coverage           C = V(tumour inside the zone) / V(tumour); technical success: C = 100 %
* margin coverage    C_m = V(tumour dilated by m, inside the zone) / V(tumour dilated by m)
* shell coverage     S_k = the same for the shell k-1 < d <= k mm around the tumour (Laimer 2021)
* minimal ablative margin  MAM = min over tumour-surface points x of s(x), where s is the signed
  distance to the zone boundary (positive inside); classes A0 (< 0), 0-5, 5-10, > 10 mm.

How it is computed (no binary mask rounded to whole cells):

1. ``L`` is interpolated between cell centres (bilinear in (r, z) on axisymmetric grids, trilinear
   on 3-D grids): :class:`LevelField`.
2. Its zero set is sampled on a raster finer than the grid: where ``L`` changes sign between two
   raster neighbours the crossing is placed by linear interpolation (exact along grid lines for a
   multilinear interpolant), with the unit normal n = grad L / |grad L| there: :class:`ZeroSet`.
3. The distance from a point q to the zone boundary is the distance to the nearest crossing c,
   corrected to the tangent plane |(q - c) . n_c| when c lies within two raster steps of the foot
   point (second-order accurate in the raster step); its sign is that of L(q).
4. Volumes are fractions of a fixed quasi-random (scrambled Halton) point set, uniform inside the
   tumour, plus a second set uniform in the region up to the largest margin, each tagged with its
   distance to the tumour surface (:class:`TumorPoints`). The placement Monte Carlo moves the
   same points, so deterministic metrics and sampled ones share their discretisation. A tumour is
   any :class:`ablation.geometry.shapes.Shape` (an ellipsoid, a label-map region); ellipsoids take
   exact fast paths (exact distance, shell points without rejection for spheres).

The liver capsule (optional, ``[coverage.capsule]``): a plane (a point and the outward normal) or a
sphere (the liver approximated as a ball). Tumour-surface points closer to the capsule than
``exclusion`` are left out of the minimal margin, as margin studies do (artorg-unibe-ch/qam
excludes 5 mm), because the ablation zone cannot extend beyond the liver there.

No files, no screen: :func:`coverage_summary` returns plain dicts.
"""
from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from scipy.stats import qmc

from ablation.physics.damage import fill_held, parse_criterion
from ablation.run.parallel import may_use_every_core
from ablation.geometry.shapes import Ellipsoid, Shape, surface_points

MM = 1e-3
SHELLS_MM = tuple(range(1, 11))           # 1 mm shells from 1 to 10 mm (Laimer et al. 2021)
DEFAULT_MARGINS = ("5 mm", "10 mm")       # Ahmed et al. 2014 report 5 and 10 mm at least
MARGIN_CLASSES = ("A0", "0-5", "5-10", ">10")
MAX_RASTER_NODES = 4_000_000              # zero-set raster size limit (its values: 32 MB; see _raster_values)

# ------------------------------------------------------------------------------ interpolation
@dataclass
class LevelField:
    """Multilinear interpolation of a cell-centred field in the domain frame.

    ``axes`` are the cell-centre coordinates per frame axis ((r, z) axisymmetric, (x, y, z) 3-D, m);
    ``values`` is indexed in the same axis order. Outside the outermost centres the value of the
    nearest centre is held (on the axis r = 0 this is exact to first order: L is even in r).
    """
    axes: list
    values: np.ndarray
    axisymmetric: bool

    @classmethod
    def from_domain(cls, domain, cell_values, fill_held_cells: bool = True) -> "LevelField":
        """``fill_held_cells``: see :func:`ablation.damage.fill_held`."""
        axes = [0.5 * (e[1:] + e[:-1]) for e in domain.edges]
        values = fill_held(domain, cell_values) if fill_held_cells else np.asarray(cell_values, float)
        grid = domain.index_grid(values)   # [z, r] or [z, y, x]
        return cls(axes, np.ascontiguousarray(grid.T), domain.kind == "axisymmetric")

    @property
    def dim(self) -> int:
        return len(self.axes)

    def coords(self, frame_points) -> np.ndarray:
        """Frame points (3, n) to interpolation coordinates (dim, n): (r, z) or (x, y, z)."""
        p = np.asarray(frame_points, float)
        if self.axisymmetric:
            return np.vstack([np.hypot(p[0], p[1]), p[2]])
        return p

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        """Interpolated values at coordinates (dim, n) (see :meth:`coords`)."""
        idx, frac = [], []
        for a, x in zip(self.axes, coords):
            x = np.clip(x, a[0], a[-1])
            i = np.clip(np.searchsorted(a, x, side="right") - 1, 0, a.size - 2)
            idx.append(i)
            frac.append((x - a[i]) / (a[i + 1] - a[i]))
        out = np.zeros(coords.shape[1])
        for corner in np.ndindex(*(2,) * self.dim):
            weight = np.ones(coords.shape[1])
            for c, f in zip(corner, frac):
                weight *= f if c else 1.0 - f
            out += weight * self.values[tuple(i + c for i, c in zip(idx, corner))]
        return out

    def gradient(self, coords: np.ndarray, step: float) -> np.ndarray:
        """Central-difference gradient of the interpolant (dim, n), step in m."""
        out = np.empty_like(coords)
        for k in range(self.dim):
            e = np.zeros((self.dim, 1))
            e[k] = step
            out[k] = (self(coords + e) - self(coords - e)) / (2.0 * step)
        return out


@dataclass
class ZeroSet:
    """Points on the zero level of a :class:`LevelField` with unit normals (pointing into L > 0).

    ``points``/``normals`` are (m, dim); ``spacing`` the raster step they were found on (m).
    """
    level: LevelField
    points: np.ndarray
    normals: np.ndarray
    spacing: float

    @classmethod
    def extract(cls, level: LevelField, refinement: int = 4, box=None) -> "ZeroSet":
        """Sample the zero set on a raster ``refinement`` times finer than the grid's finest cell.

        ``box`` = (lo, hi) per axis limits the raster (default: the cells next to a sign change).
        Raster nodes: every cell-centre interval subdivided ``refinement`` times, so the raster
        follows the graded grid.
        """
        inside = level.values >= 0.0
        if box is None:
            box = _sign_change_box(level, inside)
        if box is None:
            return cls(level, np.zeros((0, level.dim)), np.zeros((0, level.dim)), 0.0)
        while True:   # at most about 4 million raster nodes (memory), coarsening the raster if needed
            nodes = []
            for a, (lo, hi) in zip(level.axes, box):
                sub = _subdivide(a, refinement)
                nodes.append(sub[(sub >= lo) & (sub <= hi)])
            if refinement == 1 or np.prod([n.size for n in nodes]) <= MAX_RASTER_NODES:
                break
            refinement -= 1
        spacing = min(float(np.min(np.diff(n))) if n.size > 1 else np.inf for n in nodes)
        values = _raster_values(level, nodes)
        found = []
        for k in range(level.dim):
            lo = [slice(None)] * level.dim
            hi = [slice(None)] * level.dim
            lo[k], hi[k] = slice(0, -1), slice(1, None)
            a, b = values[tuple(lo)], values[tuple(hi)]
            change = (a >= 0.0) != (b >= 0.0)
            if not change.any():
                continue
            where = np.nonzero(change)
            t = a[where] / (a[where] - b[where])
            # node coordinates from their indices (no coordinate mesh is held): the crossing lies
            # between node i and i + 1 along axis k
            pts = np.vstack([n[i] for n, i in zip(nodes, where)])
            step = np.zeros_like(pts)
            step[k] = nodes[k][where[k] + 1] - nodes[k][where[k]]
            found.append(pts + t * step)
        if not found:
            return cls(level, np.zeros((0, level.dim)), np.zeros((0, level.dim)), spacing)
        points = np.hstack(found)
        grad = level.gradient(points, 0.25 * spacing)
        norm = np.linalg.norm(grad, axis=0)
        normals = np.where(norm > 0, grad / np.where(norm > 0, norm, 1.0), 0.0)
        return cls(level, points.T.copy(), normals.T.copy(), spacing)

    def distance(self, coords: np.ndarray) -> np.ndarray:
        """Unsigned distance (m) from coordinates (dim, n) to the zero set; inf if there is none."""
        q = np.asarray(coords, float).T
        if self.points.shape[0] == 0:
            return np.full(q.shape[0], np.inf)
        if getattr(self, "_tree", None) is None:
            self._tree = cKDTree(self.points)
        euclid, index = self._tree.query(q, k=1, workers=_query_workers(q.shape[0]))
        delta = q - self.points[index]
        normal = self.normals[index]
        plane = np.abs(np.einsum("ij,ij->i", delta, normal))
        lateral = np.sqrt(np.maximum(euclid ** 2 - plane ** 2, 0.0))
        has_normal = np.einsum("ij,ij->i", normal, normal) > 0.5
        # the tangent plane is trusted only near the foot point (two raster steps)
        use_plane = has_normal & (lateral <= 2.0 * self.spacing)
        return np.where(use_plane, plane, euclid)

    def signed_distance(self, coords: np.ndarray) -> np.ndarray:
        """Signed distance (m, positive inside the lesion, L >= 0) at coordinates (dim, n)."""
        d = self.distance(coords)
        return np.where(self.level(coords) >= 0.0, d, -d)


#: Query points from which a nearest-point search uses every core: the raster tables of the margin
#: and placement analyses (up to 2 million points; 69 s of the phantom RF run on one core). Not in a
#: worker process (placement samples, sweeps), whose pool already fills the cores.
PARALLEL_QUERY_POINTS = 200_000


def _query_workers(points: int) -> int:
    return -1 if points >= PARALLEL_QUERY_POINTS and may_use_every_core() else 1


def _subdivide(axis: np.ndarray, refinement: int) -> np.ndarray:
    t = np.arange(refinement) / refinement
    inner = (axis[:-1, None] + np.diff(axis)[:, None] * t[None, :]).ravel()
    return np.concatenate([inner, axis[-1:]])


#: Raster nodes interpolated at once by :func:`_raster_values`: the interpolation holds about 120
#: bytes per 3-D point (indices, fractions, weights), so a slab of this size needs about 30 MB.
RASTER_SLAB_NODES = 250_000


def _raster_values(level: LevelField, nodes: list) -> np.ndarray:
    """``level`` on the tensor raster of ``nodes`` (one array of node coordinates per axis), slab by
    slab along the first axis. The whole raster at once held its coordinate mesh and the
    interpolation's work arrays for every node: 0.62 GB for a 4.2-million-node raster against the
    33 MB of its values (0.06 GB slab by slab; measured 2026-12-07)."""
    shape = tuple(n.size for n in nodes)
    values = np.empty(shape)
    per_layer = max(1, math.prod(shape[1:]))
    layers = max(1, RASTER_SLAB_NODES // per_layer)
    rest = np.meshgrid(*nodes[1:], indexing="ij")
    rest = [r.ravel() for r in rest]
    for start in range(0, shape[0], layers):
        first = nodes[0][start:start + layers]
        coords = np.vstack([np.repeat(first, per_layer)] + [np.tile(r, first.size) for r in rest])
        values[start:start + first.size] = level(coords).reshape((first.size,) + shape[1:])
    return values


def _sign_change_box(level: LevelField, inside: np.ndarray):
    """Bounding box (per axis lo, hi) of the cells next to a sign change, one cell wider."""
    change = np.zeros_like(inside)
    for k in range(level.dim):
        d = np.diff(inside.astype(np.int8), axis=k) != 0
        lo = [slice(None)] * level.dim
        hi = [slice(None)] * level.dim
        lo[k], hi[k] = slice(0, -1), slice(1, None)
        change[tuple(lo)] |= d
        change[tuple(hi)] |= d
    if not change.any():
        return None
    box = []
    for k, a in enumerate(level.axes):
        other = tuple(j for j in range(level.dim) if j != k)
        idx = np.nonzero(change.any(axis=other))[0]
        box.append((a[max(idx[0] - 1, 0)], a[min(idx[-1] + 1, a.size - 1)]))
    return box


# ------------------------------------------------------------------------------ tumour points
def ellipsoid_distance(local: np.ndarray, semi_axes: np.ndarray) -> np.ndarray:
    """Exact signed distance (m, negative inside) from points (3, n) in the ellipsoid's own frame.

    Outside: the nearest surface point y = a^2 x / (a^2 + t) with t >= 0 the root of
    sum (a_i x_i / (a_i^2 + t))^2 = 1 (monotone in t), found by bisection. Inside: the estimate
    of :meth:`ablation.geometry.Ellipsoid.signed_distance` is not needed by the metrics (only the
    sign is), so the exact outside distance is paired with -min(a) (1 - |q|) inside.
    """
    x = np.abs(np.asarray(local, float))
    a = np.asarray(semi_axes, float)[:, None]
    q = np.sqrt(np.sum((x / a) ** 2, axis=0))
    out = np.full(x.shape[1], 0.0)
    outside = q > 1.0
    if np.allclose(a, a[0]):
        return np.linalg.norm(x, axis=0) - float(a[0, 0])
    xo = x[:, outside]
    lo = np.zeros(xo.shape[1])
    hi = np.max(a) * np.linalg.norm(xo, axis=0) + 1e-30
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        f = np.sum((a * xo / (a ** 2 + mid)) ** 2, axis=0) - 1.0
        lo = np.where(f > 0, mid, lo)
        hi = np.where(f > 0, hi, mid)
    t = 0.5 * (lo + hi)
    y = a ** 2 * xo / (a ** 2 + t)
    out[outside] = np.linalg.norm(xo - y, axis=0)
    out[~outside] = -float(np.min(a)) * (1.0 - q[~outside])
    return out


def _halton(count: int, seed: int) -> np.ndarray:
    return qmc.Halton(d=3, scramble=True, seed=seed).random(count)


def ball_points(count: int, seed: int = 0) -> np.ndarray:
    """``count`` quasi-random points uniform in the unit ball, (3, n): the map (u1, u2, u3) ->
    (r = u1^(1/3), cos(polar) = 1 - 2 u2, azimuth = 2 pi u3) preserves volume fractions."""
    u = _halton(count, seed)
    r = np.cbrt(u[:, 0])
    cos_p = 1.0 - 2.0 * u[:, 1]
    sin_p = np.sqrt(np.maximum(1.0 - cos_p ** 2, 0.0))
    az = 2.0 * np.pi * u[:, 2]
    return np.vstack([r * sin_p * np.cos(az), r * sin_p * np.sin(az), r * cos_p])


@dataclass
class TumorPoints:
    """Fixed evaluation points of one tumour (any :class:`ablation.geometry.shapes.Shape`; world
    coordinates, m).

    ``inner`` (3, n_in): uniform inside the tumour, each standing for V_t / n_in.
    ``outer`` (3, n_out) with ``outer_distance`` and ``outer_weight``: stratified in 1 mm shells of
    the region 0 < d <= ``reach`` around it (d the distance to the tumour surface), uniform
    within each shell; each stands for ``outer_weight`` m^3.
    ``surface`` (3, n_s): surface points for the minimal margin; ``surface_kept`` marks those not
    excluded next to the capsule.
    """
    tumor: Shape
    inner: np.ndarray
    outer: np.ndarray
    outer_distance: np.ndarray
    reach: float
    outer_weight: np.ndarray
    surface: np.ndarray
    surface_kept: np.ndarray

    @property
    def volume(self) -> float:
        return self.tumor.volume

    def weights(self) -> tuple[float, np.ndarray]:
        """Volume (m^3) each inner point and each outer point stands for."""
        return self.volume / self.inner.shape[1], self.outer_weight


def tumor_points(tumor: Shape, reach: float, n_inner: int = 8192, n_outer: int = 20480,
                 n_surface: int = 20000, seed: int = 0, capsule=None) -> TumorPoints:
    """Evaluation points of ``tumor`` (see :class:`TumorPoints`); ``reach`` the largest margin (m).

    The region 0 < d <= reach is stratified into 1 mm shells, each sampled with the same number
    of points (n_outer / shells) by rejection from a box that contains it. A point in shell k
    stands for V_k / n_k, with V_k the box volume times the fraction of a fixed 2^18-point
    quasi-random set falling in the shell (about 1e-3 relative).

    Any shape: inner points by rejection of quasi-random points in ``bounds`` with ``contains``,
    the box ``bounds`` widened by ``reach``, d from ``signed_distance``, surface points from
    :func:`ablation.geometry.shapes.surface_points`. Exact fast paths for an :class:`Ellipsoid`:
    inner points mapped from the unit ball, the box |x_i| <= a_i + reach in the tumour frame (the
    support of the dilated ellipsoid along a frame axis is a_i + reach), d exact
    (:func:`ellipsoid_distance`), and for a sphere shell points without rejection and
    V_k = 4/3 pi ((r + k)^3 - (r + k - 1)^3).
    """
    edges = np.append(np.arange(0.0, reach - 1e-9, MM), reach)          # shell boundaries (m)
    per_shell = max(1, -(-n_outer // (edges.size - 1)))
    if not isinstance(tumor, Ellipsoid):
        lo, hi = tumor.bounds
        middle, box_half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        inner = _inside_points(tumor, middle, box_half, n_inner, seed)
        distance = lambda rel: tumor.signed_distance(middle[:, None] + rel)
        rel, dist, volumes = _shell_points(distance, box_half + reach, edges, per_shell, seed)
        return _finish_points(tumor, inner, middle[:, None] + rel, dist, reach, volumes, per_shell,
                              n_surface, capsule)
    a = tumor.semi_axes
    inner = tumor.center[:, None] + tumor.frame @ (ball_points(n_inner, seed) * a[:, None])
    if tumor.is_sphere:
        r = float(a[0])
        volumes = 4.0 / 3.0 * np.pi * np.diff((r + edges) ** 3)
        local, dist = _sphere_shell_points(r, edges, per_shell, seed + 1)
    else:
        local, dist, volumes = _shell_points(lambda x: ellipsoid_distance(x, a), a + reach, edges, per_shell, seed)
    return _finish_points(tumor, inner, tumor.center[:, None] + tumor.frame @ local, dist, reach, volumes,
                          per_shell, n_surface, capsule)


def _inside_points(shape, middle, half, count, seed) -> np.ndarray:
    """``count`` quasi-random points uniform inside ``shape``, by rejection from its bounding box
    (centre ``middle``, half-widths ``half``), (3, n)."""
    found, have, offset = [], 0, seed
    batch = 1 << 15
    while have < count:
        box = middle[:, None] + (_halton(batch, offset).T * 2.0 - 1.0) * half[:, None]
        offset += 1
        take = box[:, shape.contains(box)][:, :count - have]
        found.append(take)
        have += take.shape[1]
        if offset - seed > 64 and have == 0:
            raise ValueError(f"tumour {shape.name!r}: no point of its bounding box lies inside it")
    return np.hstack(found)


def _shell_points(distance, half, edges, per_shell, seed):
    """Points (3, n) in the box |x_i| <= half_i, ``per_shell`` per shell edges[k] < d <= edges[k + 1]
    of d = ``distance(x)``, with their d, and the shell volumes (box fraction of 2^18 points)."""
    shells = edges.size - 1
    box_volume = float(np.prod(2.0 * half))
    probe = (_halton(1 << 18, seed + 7).T * 2.0 - 1.0) * half[:, None]
    d = distance(probe)
    counts = np.histogram(d[d > 0], bins=edges)[0]
    volumes = box_volume * counts / probe.shape[1]
    chosen = [[] for _ in range(shells)]
    dist = [[] for _ in range(shells)]
    have = np.zeros(shells, int)
    offset = seed + 1
    while np.any(have < per_shell):
        if offset - seed > 4096:
            raise ValueError("no points found in a margin shell: is the shape empty?")
        local = (_halton(1 << 15, offset).T * 2.0 - 1.0) * half[:, None]
        offset += 1
        d = distance(local)
        shell = np.searchsorted(edges, d, side="left") - 1     # d in (edges[k], edges[k + 1]]
        for k in np.nonzero(have < per_shell)[0]:
            take = np.nonzero((shell == k) & (d > 0))[0][:per_shell - have[k]]
            chosen[k].append(local[:, take])
            dist[k].append(d[take])
            have[k] += take.size
    return (np.hstack([np.hstack(c) for c in chosen]), np.concatenate([np.concatenate(x) for x in dist]),
            volumes)


def _sphere_shell_points(radius, edges, per_shell, seed):
    """Quasi-random points uniform in each spherical shell radius + edges[k] < |x| <= radius +
    edges[k + 1] without rejection (r^3 uniform, direction uniform), so they keep their low
    discrepancy."""
    local, dist = [], []
    for k in range(edges.size - 1):
        u = _halton(per_shell, seed + k)
        r0, r1 = radius + edges[k], radius + edges[k + 1]
        r = np.cbrt(r0 ** 3 + u[:, 0] * (r1 ** 3 - r0 ** 3))
        cos_p = 1.0 - 2.0 * u[:, 1]
        sin_p = np.sqrt(np.maximum(1.0 - cos_p ** 2, 0.0))
        az = 2.0 * np.pi * u[:, 2]
        local.append(r * np.vstack([sin_p * np.cos(az), sin_p * np.sin(az), cos_p]))
        dist.append(r - radius)
    return np.hstack(local), np.concatenate(dist)


def _finish_points(tumor, inner, outer, dist, reach, volumes, per_shell, n_surface, capsule) -> TumorPoints:
    weights = np.concatenate([np.full(per_shell, v / per_shell) for v in volumes])
    surface = surface_points(tumor, n_surface)
    kept = np.ones(surface.shape[1], bool) if capsule is None else capsule_distance(capsule, surface) >= capsule.exclusion
    return TumorPoints(tumor, inner, outer, dist, reach, weights, surface, kept)


def tumor_diameters(tumor: Shape) -> np.ndarray:
    """Diameters (m): an ellipsoid's along its own axes; another shape's bounding-box extents."""
    if isinstance(tumor, Ellipsoid):
        return 2.0 * np.asarray(tumor.semi_axes, float)
    lo, hi = tumor.bounds
    return np.asarray(hi - lo, float)


@dataclass(frozen=True)
class OrganCapsule:
    """The capsule as the surface of the patient's liver ([anatomy]): distance |signed distance|."""
    organ: Shape
    exclusion: float
    shape: str = "surface"


def capsule_distance(capsule, points: np.ndarray) -> np.ndarray:
    """Distance (m) from world points (3, n) to the capsule; +inf without a capsule."""
    if capsule is None or capsule.shape == "none":
        return np.full(points.shape[1], np.inf)
    if capsule.shape == "surface":
        return np.abs(capsule.organ.signed_distance(points))
    if capsule.shape == "plane":
        n = np.asarray(capsule.normal, float)
        n = n / np.linalg.norm(n)
        return np.abs(n @ (points - np.asarray(capsule.point)[:, None]))
    return np.abs(np.linalg.norm(points - np.asarray(capsule.center)[:, None], axis=0) - capsule.radius)


# ------------------------------------------------------------------------------ metrics
def margin_class(margin_mm: float) -> str:
    """Ahmed et al. 2014 classes: A0 (< 0 mm), 0-5, 5-10, > 10 mm."""
    if not np.isfinite(margin_mm) or margin_mm < 0.0:
        return "A0"
    if margin_mm < 5.0:
        return "0-5"
    if margin_mm <= 10.0:
        return "5-10"
    return ">10"


# The minimal margin is the smallest signed distance (positive inside the lesion) from the kept
# tumour-surface points to the lesion boundary. When it cannot be a finite number it is not left to
# turn into null in summary.json: min_margin_mm is null, min_margin_status says why, min_margin_note
# explains it and margin_class takes the class the state implies.
# state -> (margin class, or None: from the measured value; note)
MARGIN_STATES = {
    "measured": (None, ""),
    "no_lesion": ("A0", "the lesion criterion is met nowhere in the domain: there is no lesion boundary to "
                        "measure from; every tumour-surface point is outside the lesion (margin class A0)"),
    "lesion_fills_domain": (">10", "the lesion criterion is met everywhere in the domain: the lesion boundary "
                                   "lies beyond the domain, so the margin exceeds the distance from the tumour "
                                   "to the domain boundary (class >10); enlarge domain.size to measure it"),
    "all_surface_excluded": ("unknown", "every tumour-surface point lies within coverage.capsule.exclusion of "
                                        "the capsule: no point is left to measure the margin at; reduce "
                                        "coverage.capsule.exclusion"),
}


def margin_status(mam: float, kept: np.ndarray) -> tuple[str, str]:
    """(state, note) of a minimal margin ``mam`` (m) measured over the ``kept`` surface points:
    'measured' for a finite value, else why it is not a number (see :data:`MARGIN_STATES`)."""
    if not np.any(kept):
        state = "all_surface_excluded"
    elif np.isfinite(mam):
        state = "measured"
    elif mam < 0.0:
        state = "no_lesion"
    elif mam > 0.0:
        state = "lesion_fills_domain"
    else:
        raise ValueError(f"minimal margin {mam!r}: the lesion's signed distance gave NaN at tumour-surface "
                         "points; the lesion field is not finite")
    return state, MARGIN_STATES[state][1]


def margin_value_mm(metrics: dict) -> float:
    """The minimal margin of :func:`tumor_metrics` as a number for statistics over samples: the
    measured value, -inf without a lesion, +inf for a lesion filling the domain, NaN when no surface
    point was kept (sorts and compares the way the states mean)."""
    state = metrics.get("min_margin_status", "measured")
    if state == "measured":
        return float(metrics["min_margin_mm"])
    return {"no_lesion": -math.inf, "lesion_fills_domain": math.inf}.get(state, math.nan)


def mm_key(value_m: float) -> str:
    """Margin key in whole mm where possible ('5', '10'; '2.5' otherwise)."""
    return f"{value_m / MM:g}"


def tumor_metrics(points: TumorPoints, inside_fn, distance_fn, margins=(5 * MM, 10 * MM)) -> dict:
    """Coverage, margin coverage, shell coverage and minimal margin of one tumour.

    ``inside_fn(world (3, n)) -> bool`` says whether points are in the ablation zone;
    ``distance_fn(world (3, n)) -> m`` gives their signed distance to its boundary.
    """
    inner_in = inside_fn(points.inner)
    outer_in = inside_fn(points.outer)
    w_in, w_out = points.weights()
    coverage = float(np.mean(inner_in))
    ablated_inner = w_in * float(np.sum(inner_in))
    margin_cov = {}
    for m in sorted(set(margins)):
        sel = points.outer_distance <= m + 1e-12
        total = points.volume + float(np.sum(w_out[sel]))
        margin_cov[mm_key(m)] = (ablated_inner + float(np.sum(w_out[sel & outer_in]))) / total
    shells = {}
    for k in SHELLS_MM:
        sel = (points.outer_distance > (k - 1) * MM) & (points.outer_distance <= k * MM + 1e-12)
        shells[str(k)] = float(np.mean(outer_in[sel])) if sel.any() else None
    s = distance_fn(points.surface)
    kept = points.surface_kept
    mam = float(np.min(s[kept])) if kept.any() else float("nan")
    where = points.surface[:, kept][:, int(np.argmin(s[kept]))] if kept.any() else None
    success = bool(inner_in.all() and np.min(s) >= 0.0)
    status, note = margin_status(mam, kept)
    if status != "measured":
        where = None
    return {
        "name": points.tumor.name,
        "volume_ml": points.volume * 1e6,
        "coverage": coverage,
        "technical_success": success,
        "margin_coverage": margin_cov,
        "min_margin_mm": mam / MM if status == "measured" else None,
        "min_margin_status": status,
        "min_margin_note": note,
        "min_margin_at_mm": None if where is None else (where / MM).tolist(),
        "margin_class": MARGIN_STATES[status][0] or margin_class(mam / MM),
        "shell_coverage": shells,
        "surface_points_excluded": int(np.sum(~kept)),
    }


@dataclass
class Lesion:
    """A lesion criterion on a solved result: level field, its zero set, and world-point queries."""
    domain: object
    level: LevelField
    zero: ZeroSet
    criterion: str

    @classmethod
    def from_fields(cls, domain, fields: dict, criterion: str, refinement: int = 4) -> "Lesion":
        level = LevelField.from_domain(domain, parse_criterion(criterion).level(fields))
        return cls(domain, level, ZeroSet.extract(level, refinement), criterion)

    @classmethod
    def from_level(cls, domain, cell_level, refinement: int = 4, criterion: str = "level") -> "Lesion":
        level = LevelField.from_domain(domain, cell_level)
        return cls(domain, level, ZeroSet.extract(level, refinement), criterion)

    def coords(self, world: np.ndarray) -> np.ndarray:
        return self.level.coords(self.domain.to_frame(world))

    def inside(self, world: np.ndarray) -> np.ndarray:
        return self.level(self.coords(world)) >= 0.0

    def signed_distance(self, world: np.ndarray) -> np.ndarray:
        return self.zero.signed_distance(self.coords(world))


def scenario_capsule(scenario):
    section = scenario.get("coverage")
    if section is None or section.capsule.shape == "none":
        return None
    return section.capsule


def scenario_margins(scenario) -> tuple:
    section = scenario.get("coverage")
    listed = tuple(section.margins) if section is not None and section.margins else ()
    # rounded to 1 nm: '5 mm' and '0.5 cm' are one margin (results are keyed by the margin in mm)
    return tuple(sorted({round(m, 9) for m in (5 * MM, 10 * MM, *listed)}))


def build_points(scenario, domain, seed: int = 0, n_surface=None) -> list[TumorPoints]:
    """Evaluation points of every tumour of a scenario (shared by coverage and placement)."""
    section = scenario.get("coverage")
    n_in = section.points if section is not None else 8192
    n_out = section.margin_points if section is not None else 20480
    n_s = n_surface or (section.surface_points if section is not None else 20000)
    reach = max(scenario_margins(scenario) + (SHELLS_MM[-1] * MM,))
    capsule = scenario_capsule(scenario)
    if capsule is None and getattr(domain, "organ", None) is not None:
        # [anatomy]: the liver surface is the capsule, with [coverage.capsule] exclusion (default 5 mm)
        exclusion = section.capsule.exclusion if section is not None else 5 * MM
        capsule = OrganCapsule(domain.organ, exclusion)
    return [tumor_points(t, reach, n_in, n_out, n_s, seed + 101 * i, capsule)
            for i, t in enumerate(domain.tumors)]


def coverage_summary(result, criteria=None) -> list[dict]:
    """``tumors`` entries for summary.json: metrics of the first criterion at the top level and
    of every criterion under ``by_criterion``."""
    scenario = result.scenario
    section = scenario.get("coverage")
    if criteria is None:
        criteria = list(section.criteria) if section is not None and section.criteria else []
        if not criteria:
            criteria = [result.summary["lesion"]["criterion"]]
    refinement = section.raster_refinement if section is not None else 4
    points = build_points(scenario, result.domain)
    margins = scenario_margins(scenario)
    out = []
    lesions = {c: Lesion.from_fields(result.domain, result.fields, c, refinement) for c in criteria}
    for i, tp in enumerate(points):
        by = {}
        for c, lesion in lesions.items():
            by[c] = tumor_metrics(tp, lesion.inside, lesion.signed_distance, margins)
            by[c]["criterion"] = c
        entry = dict(by[criteria[0]])
        entry["by_criterion"] = by
        entry["diameter_mm"] = (tumor_diameters(tp.tumor) / MM).tolist()
        entry["points"] = {"inner": int(tp.inner.shape[1]), "margin": int(tp.outer.shape[1]),
                           "surface": int(tp.surface.shape[1]), "method": "scrambled Halton, seed fixed"}
        out.append(entry)
    return out


# ------------------------------------------------------------------------------ clinical context
CONTEXT_HEADER = ("Clinical context from the literature, not advice: this toolkit is a research model and "
                  "must not be used for treatment decisions.")
NOTE_MANY = ("In stage IV colorectal cancer, patients with one or a few liver metastases (typically fewer "
             "than 4) who tolerate and respond to chemotherapy are the usual candidates for liver-directed "
             "ablation, while four or more metastases are usually treated first with systemic or "
             "liver-directed chemotherapy (or radioembolisation). This scenario has {n} tumours.")
NOTE_LARGE = ("{name} measures {d:.0f} mm (> 3 cm): single-probe RF ablation is rarely complete at that size.")


def clinical_context(tumors) -> dict | None:
    """Context notes: four or more tumours; tumours larger than 3 cm (largest diameter)."""
    items = []
    if len(tumors) >= 4:
        items.append(NOTE_MANY.format(n=len(tumors)))
    for t in tumors:
        d = float(np.max(tumor_diameters(t)))
        if d > 30.0 * MM:
            items.append(NOTE_LARGE.format(name=t.name, d=d / MM))
    return {"context_not_advice": CONTEXT_HEADER, "notes": items} if items else None


def coverage_analysis(result) -> None:
    """Adds ``tumors`` (coverage, margins, shells) and clinical context notes to the summary."""
    section = result.scenario.get("coverage")
    if not result.scenario.tumors or (section is not None and not section.enabled):
        return
    result.summary["tumors"] = coverage_summary(result)
    context = clinical_context(result.domain.tumors)
    if context is not None:
        result.summary["clinical_context"] = context

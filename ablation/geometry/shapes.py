"""Shapes of tumours, probes and vessels, in world coordinates (metres, right-handed).

Every shape follows the :class:`Shape` protocol, which is all that the grid (fine-region extents,
region masks), the coverage metrics (evaluation points, margins, shells, minimal margin) and the
pictures (surfaces) use, so a tumour can be an analytic :class:`Ellipsoid` or a :class:`VoxelMask`
region of a label map without touching those consumers:

* ``signed_distance(points)``: points (3, n) in m -> (n,) signed distance to the surface (m,
  negative inside);
* ``contains(points)``: points (3, n) -> bool (n,);
* ``surface_mesh()``: a closed triangulated surface ``(vertices (n, 3) m, faces (m, 3) int)``,
  faces wound counter-clockwise seen from outside (outward normals), plain numpy;
* ``volume`` (m^3), ``bounds`` ((lo (3,), hi (3,)) world box, m), ``center`` (3,) m, ``name``.

A probe's ``direction`` points from its handle to its tip (into the tissue).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import ndimage


def unit(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=float)
    return v / np.linalg.norm(v)


def orthonormal_frame(axis, x_axis=None) -> np.ndarray:
    """3x3 matrix whose columns (e1, e2, axis) form a right-handed orthonormal frame; e1 is
    ``x_axis`` made perpendicular to ``axis`` when given."""
    e3 = unit(axis)
    if x_axis is not None and np.linalg.norm(np.cross(x_axis, e3)) > 1e-9:
        return _frame_from(e3, unit(np.asarray(x_axis, float) - (np.asarray(x_axis, float) @ e3) * e3))
    helper = np.array([1.0, 0.0, 0.0]) if abs(e3[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    return _frame_from(e3, unit(np.cross(helper, e3)))


def _frame_from(e3, e1) -> np.ndarray:
    e2 = np.cross(e3, e1)
    return np.column_stack([e1, e2, e3])


@runtime_checkable
class Shape(Protocol):
    """What tumours, probes and vessels offer to the grid, the coverage metrics and the pictures."""
    name: str

    def signed_distance(self, points: np.ndarray) -> np.ndarray: ...

    def contains(self, points: np.ndarray) -> np.ndarray: ...

    def surface_mesh(self) -> tuple[np.ndarray, np.ndarray]: ...

    @property
    def volume(self) -> float: ...

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]: ...

    @property
    def center(self) -> np.ndarray: ...


# ------------------------------------------------------------------------------ meshes
def _revolved_mesh(z: np.ndarray, rho: np.ndarray, n_azimuth: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed surface of revolution about the local z axis: profile (z_k, rho_k) from one pole
    (rho = 0, lowest z) to the other; vertices (n, 3) in the local frame, outward faces (m, 3)."""
    rings = z.size - 2
    az = 2.0 * np.pi * np.arange(n_azimuth) / n_azimuth
    ring_pts = [np.column_stack([rho[k] * np.cos(az), rho[k] * np.sin(az), np.full(n_azimuth, z[k])])
                for k in range(1, z.size - 1)]
    vertices = np.vstack([[0.0, 0.0, z[0]], *ring_pts, [0.0, 0.0, z[-1]]])
    bottom, top = 0, vertices.shape[0] - 1
    j = np.arange(n_azimuth)
    jn = (j + 1) % n_azimuth
    ring = lambda k: 1 + k * n_azimuth          # first vertex of ring k
    faces = [np.column_stack([np.full(n_azimuth, bottom), ring(0) + jn, ring(0) + j])]
    for k in range(rings - 1):
        a, b = ring(k) + j, ring(k) + jn
        c, d = ring(k + 1) + jn, ring(k + 1) + j
        faces += [np.column_stack([a, b, c]), np.column_stack([a, c, d])]
    faces.append(np.column_stack([np.full(n_azimuth, top), ring(rings - 1) + j, ring(rings - 1) + jn]))
    return vertices, np.vstack(faces).astype(np.int64)


def mesh_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Enclosed volume of a closed, outward-wound triangle mesh (divergence theorem), m^3."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(np.sum(np.einsum("ij,ij->i", a, np.cross(b, c))) / 6.0)


def surface_points(shape, count: int, seed: int = 0) -> np.ndarray:
    """About ``count`` points on the surface of any :class:`Shape`, (3, n).

    A shape's own ``surface_points`` is used when it has one (the ellipsoid's Fibonacci lattice).
    Otherwise quasi-random points are spread over the surface mesh in proportion to triangle area
    and moved onto the zero set of the signed distance by two Newton steps
    x <- x - s(x) grad s / |grad s|^2 (central differences), so a staircase (voxel) mesh gives
    points on the shape's smooth distance-field surface rather than on its voxel faces."""
    own = getattr(shape, "surface_points", None)
    if callable(own):
        return own(count)
    from scipy.stats import qmc       # scipy.stats is slow to import; only needed here
    vertices, faces = shape.surface_mesh()
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    cumulative = np.cumsum(area) / np.sum(area)
    u = qmc.Halton(d=3, scramble=True, seed=seed).random(count)
    tri = np.minimum(np.searchsorted(cumulative, u[:, 0], side="right"), faces.shape[0] - 1)
    s = np.sqrt(u[:, 1])
    points = ((1.0 - s)[:, None] * a[tri] + (s * (1.0 - u[:, 2]))[:, None] * b[tri]
              + (s * u[:, 2])[:, None] * c[tri]).T
    lo, hi = shape.bounds
    step = 1e-3 * float(np.min(hi - lo)) + 1e-12
    for _ in range(2):
        grad = np.empty_like(points)
        for k in range(3):
            e = np.zeros((3, 1))
            e[k] = step
            grad[k] = (shape.signed_distance(points + e) - shape.signed_distance(points - e)) / (2.0 * step)
        g2 = np.einsum("ij,ij->j", grad, grad)
        d = shape.signed_distance(points)
        points = points - np.where(g2 > 1e-12, d / np.where(g2 > 1e-12, g2, 1.0), 0.0) * grad
    return points


# ------------------------------------------------------------------------------ shapes
@dataclass(frozen=True, eq=False)
class Ellipsoid:
    """Tumour shape: centre (m), semi-axes (m) along the columns of ``frame`` (a rotation)."""
    name: str
    center: np.ndarray
    semi_axes: np.ndarray
    frame: np.ndarray

    @classmethod
    def sphere(cls, name, center, radius):
        return cls(name, np.asarray(center, float), np.full(3, float(radius)), np.eye(3))

    def local(self, points: np.ndarray) -> np.ndarray:
        return self.frame.T @ (np.asarray(points) - self.center[:, None])

    def contains(self, points: np.ndarray) -> np.ndarray:
        q = self.local(points) / self.semi_axes[:, None]
        return np.einsum("ij,ij->j", q, q) <= 1.0

    @property
    def is_sphere(self) -> bool:
        return bool(np.allclose(self.semi_axes, self.semi_axes[0]))

    @property
    def volume(self) -> float:
        return 4.0 / 3.0 * np.pi * float(np.prod(self.semi_axes))

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact world box: the support along world axis i is sqrt(sum_j (F_ij a_j)^2)."""
        half = np.sqrt(np.sum((self.frame * self.semi_axes[None, :]) ** 2, axis=1))
        return self.center - half, self.center + half

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance to the surface (m, negative inside). Exact for spheres; for ellipsoids
        the first-order estimate (|q| - 1) |q| / |grad q|, exact on the surface and along the axes,
        whose error grows with distance from the surface and with eccentricity (the coverage
        metrics use the exact outside distance, :func:`ablation.outcome.coverage.ellipsoid_distance`)."""
        if self.is_sphere:
            d = np.linalg.norm(np.asarray(points) - self.center[:, None], axis=0)
            return d - self.semi_axes[0]
        p = self.local(points)
        q = p / self.semi_axes[:, None]
        k0 = np.sqrt(np.einsum("ij,ij->j", q, q))
        k1 = np.sqrt(np.einsum("ij,ij->j", q / self.semi_axes[:, None], q / self.semi_axes[:, None]))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = k0 * (k0 - 1.0) / k1
        return np.where(k0 > 0, d, -np.min(self.semi_axes))

    def surface_points(self, count: int) -> np.ndarray:
        """About ``count`` points spread evenly (Fibonacci lattice) on the surface, (3, n)."""
        i = np.arange(count) + 0.5
        polar = np.arccos(1.0 - 2.0 * i / count)
        azimuth = np.pi * (1.0 + 5.0 ** 0.5) * i
        unit_sphere = np.vstack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)])
        return self.center[:, None] + self.frame @ (unit_sphere * self.semi_axes[:, None])

    def surface_mesh(self, n_polar: int = 60, n_azimuth: int = 120) -> tuple[np.ndarray, np.ndarray]:
        """Latitude-longitude triangulation: the unit sphere scaled by the semi-axes and rotated."""
        polar = np.linspace(np.pi, 0.0, n_polar + 1)
        unit_mesh, faces = _revolved_mesh(np.cos(polar), np.sin(polar), n_azimuth)
        vertices = self.center[None, :] + (unit_mesh * self.semi_axes[None, :]) @ self.frame.T
        return vertices, faces

    def normals(self, points: np.ndarray) -> np.ndarray:
        """Outward unit normals (3, n) at surface points: F (p / a^2) / |p / a^2| in the local frame."""
        g = self.frame @ (self.local(points) / self.semi_axes[:, None] ** 2)
        return g / np.linalg.norm(g, axis=0)


@dataclass(frozen=True, eq=False)
class Segment:
    """A straight tube from ``start`` to ``end`` (m) of ``radius`` (m) with rounded ends (the set
    of points within ``radius`` of the segment, a capsule): probe parts, vessels."""
    start: np.ndarray
    end: np.ndarray
    radius: float
    name: str = "segment"

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Distance from each point to the segment's centre line (m)."""
        axis = self.end - self.start
        length2 = float(axis @ axis)
        rel = np.asarray(points) - self.start[:, None]
        s = np.clip((axis @ rel) / length2, 0.0, 1.0)
        nearest = self.start[:, None] + axis[:, None] * s
        return np.linalg.norm(np.asarray(points) - nearest, axis=0)

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Exact signed distance to the capsule surface (m, negative inside)."""
        return self.distance(points) - self.radius

    def contains(self, points: np.ndarray) -> np.ndarray:
        return self.distance(points) <= self.radius

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.end - self.start))

    @property
    def volume(self) -> float:
        return np.pi * self.radius ** 2 * self.length + 4.0 / 3.0 * np.pi * self.radius ** 3

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.minimum(self.start, self.end) - self.radius, np.maximum(self.start, self.end) + self.radius

    @property
    def center(self) -> np.ndarray:
        return 0.5 * (self.start + self.end)

    def surface_mesh(self, n_cap: int = 8, n_azimuth: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Tube with hemispherical caps, in the frame of the segment axis."""
        polar = np.linspace(np.pi, np.pi / 2, n_cap + 1)             # start cap, pole to equator
        z_cap, rho_cap = self.radius * np.cos(polar), self.radius * np.sin(polar)
        z = np.concatenate([z_cap, self.length - z_cap[::-1]])
        rho = np.concatenate([rho_cap, rho_cap[::-1]])
        local, faces = _revolved_mesh(z, rho, n_azimuth)
        frame = orthonormal_frame(self.end - self.start)
        return self.start[None, :] + local @ frame.T, faces

    def sample_points(self, spacing: float) -> np.ndarray:
        """Points along the centre line every ``spacing`` (m), ends included, (3, n)."""
        length = float(np.linalg.norm(self.end - self.start))
        n = max(2, int(np.ceil(length / spacing)) + 1)
        s = np.linspace(0.0, 1.0, n)
        return self.start[:, None] + (self.end - self.start)[:, None] * s


@dataclass(frozen=True, eq=False)
class Probe:
    """A straight needle: an active part of ``active_length`` ending at ``tip``, and an insulated
    shaft behind it reaching ``shaft_length`` further back (to the domain boundary by default).
    As a :class:`Shape` it is the whole needle (shaft and active part, one capsule)."""
    name: str
    tip: np.ndarray
    direction: np.ndarray
    radius: float
    active_length: float
    shaft_length: float

    @property
    def active(self) -> Segment:
        return Segment(self.tip - self.direction * self.active_length, self.tip.copy(), self.radius,
                       f"{self.name} active")

    @property
    def shaft(self) -> Segment:
        back = self.tip - self.direction * self.active_length
        return Segment(back - self.direction * self.shaft_length, back, self.radius, f"{self.name} shaft")

    @property
    def needle(self) -> Segment:
        return Segment(self.shaft.start, self.tip.copy(), self.radius, self.name)

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        return self.needle.signed_distance(points)

    def contains(self, points: np.ndarray) -> np.ndarray:
        return self.needle.contains(points)

    def surface_mesh(self) -> tuple[np.ndarray, np.ndarray]:
        return self.needle.surface_mesh()

    @property
    def volume(self) -> float:
        return self.needle.volume

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.needle.bounds

    @property
    def center(self) -> np.ndarray:
        return self.needle.center


#: Voxels per slab in :func:`_face_distance` (its work arrays: about 60 MB per slab)
FACE_DISTANCE_SLAB_VOXELS = 1_000_000


def _face_distance(region: np.ndarray, spacing: np.ndarray, isotropic: bool, sign: float, out: np.ndarray) -> None:
    """Writes ``sign`` x the distance to the nearest voxel face between ``region`` and the rest into
    ``out`` at the voxels of ``region``: the distance from the voxel's centre to the nearest centre
    outside ``region``, less half a voxel along the axis of the largest step (half a spacing when
    ``isotropic``).

    scipy's distance transform is asked only for its feature transform (the nearest centre, 12 bytes
    per voxel); the distances are computed from it slab by slab, in the same operations as scipy's
    own. The whole-volume distances had needed about 64 bytes per voxel at once: 0.56 GB for the liver
    phantom's organ (8.7 million voxels padded), now 0.29 GB; 1.08 GB against 0.35 GB for a 240 x 190
    x 170 mask of anisotropic voxels, whose nearest-centre indices were also gathered per voxel."""
    features = np.empty((3,) + region.shape, np.int32)
    ndimage.distance_transform_edt(region, sampling=spacing, return_distances=False, return_indices=True,
                                   indices=features)
    own = np.indices(region.shape[1:], dtype=np.int32)
    layers = max(1, FACE_DISTANCE_SLAB_VOXELS // max(1, own[0].size))
    for start in range(0, region.shape[0], layers):
        rows = slice(start, min(start + layers, region.shape[0]))
        offset = np.empty((3, rows.stop - rows.start) + region.shape[1:], np.int32)
        offset[0] = features[0, rows] - np.arange(rows.start, rows.stop, dtype=np.int32)[:, None, None]
        offset[1] = features[1, rows] - own[0]
        offset[2] = features[2, rows] - own[1]
        step = offset.astype(np.float64)
        for k in range(3):
            step[k] *= spacing[k]
        half = 0.5 * spacing[0] if isotropic else 0.5 * spacing[np.argmax(np.abs(step), axis=0)]
        np.multiply(step, step, step)
        distance = np.sqrt(np.add.reduce(step, axis=0))
        inside = region[rows]
        if sign < 0:
            np.subtract(half, distance, out=out[rows], where=inside)
        else:
            np.subtract(distance, half, out=out[rows], where=inside)


@dataclass(frozen=True, eq=False)
class VoxelMask:
    """A region of a label map: ``mask[i, j, k]`` (bool) with voxel (i, j, k) centred at
    ``origin + direction @ ((i, j, k) * spacing)`` (m); ``direction``'s columns are the world
    directions of the array axes (a rotation, identity by default). The ITK/SimpleITK convention
    for origin, spacing and direction; note that SimpleITK's ``GetArrayFromImage`` returns the array
    as [k, j, i], to be transposed.

    The shape is the union of the inside voxels' boxes: ``contains`` looks up the voxel nearest to a
    point and ``volume`` is the voxel count times the voxel volume.

    Signed distance: on the voxel centres of the mask padded by ``reach`` (m) on every side, from
    Euclidean distance transforms of the inside and of the outside: an inside centre at distance e
    from the nearest outside centre is -(e - h/2) from the surface, an outside centre at distance e
    from the nearest inside centre is +(e - h/2), where h is the voxel size along the axis of the
    largest component of the step to that nearest centre (for a face neighbour the surface lies
    exactly half a voxel away, so the zero level falls on the voxel faces, not on the centres).
    Between centres it is trilinearly interpolated; beyond the padded box the distance to the box is
    added to the value at the nearest box point (an upper bound there). Against the smooth surface
    the voxels sample (e.g. a voxelised sphere) this is within about half a voxel.
    """
    name: str
    mask: np.ndarray
    origin: np.ndarray
    spacing: np.ndarray
    direction: np.ndarray = None
    reach: float = 0.012

    def __post_init__(self):
        object.__setattr__(self, "mask", np.asarray(self.mask, bool))
        object.__setattr__(self, "origin", np.asarray(self.origin, float))
        object.__setattr__(self, "spacing", np.broadcast_to(np.asarray(self.spacing, float), (3,)).copy())
        direction = np.eye(3) if self.direction is None else np.asarray(self.direction, float)
        object.__setattr__(self, "direction", direction)
        if self.mask.ndim != 3 or not self.mask.any():
            raise ValueError(f"VoxelMask {self.name!r}: needs a 3-D mask with at least one voxel inside")

    @classmethod
    def from_shape(cls, shape, spacing: float, name: str | None = None, offset=(0.0, 0.0, 0.0),
                   reach: float = 0.012) -> "VoxelMask":
        """Voxelise any shape on an axis-aligned grid of ``spacing`` (m): a voxel is inside when its
        centre is. ``offset`` (m) shifts the voxel lattice (to test alignment effects)."""
        lo, hi = shape.bounds
        start = lo - spacing + np.asarray(offset, float)
        n = np.ceil((hi - start) / spacing).astype(int) + 2
        axes = [start[k] + spacing * np.arange(n[k]) for k in range(3)]
        grid = np.meshgrid(*axes, indexing="ij")
        inside = shape.contains(np.vstack([g.ravel() for g in grid])).reshape(grid[0].shape)
        return cls(name or shape.name, inside, start, np.full(3, float(spacing)), reach=reach)

    @property
    def voxel_volume(self) -> float:
        return float(np.prod(self.spacing) * abs(np.linalg.det(self.direction)))

    @property
    def volume(self) -> float:
        return float(np.count_nonzero(self.mask)) * self.voxel_volume

    def to_index(self, points: np.ndarray) -> np.ndarray:
        """World points (3, n) to continuous voxel indices (3, n)."""
        local = np.linalg.solve(self.direction, np.asarray(points, float) - self.origin[:, None])
        return local / self.spacing[:, None]

    def to_world(self, index: np.ndarray) -> np.ndarray:
        return self.origin[:, None] + self.direction @ (np.asarray(index, float) * self.spacing[:, None])

    def contains(self, points: np.ndarray) -> np.ndarray:
        idx = np.rint(self.to_index(points)).astype(np.int64)
        ok = np.all((idx >= 0) & (idx < np.array(self.mask.shape)[:, None]), axis=0)
        out = np.zeros(idx.shape[1], bool)
        out[ok] = self.mask[idx[0, ok], idx[1, ok], idx[2, ok]]
        return out

    @property
    def center(self) -> np.ndarray:
        """Centroid of the inside voxels (m)."""
        return self.to_world(np.mean(np.nonzero(self.mask), axis=1)[:, None])[:, 0]

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        idx = np.nonzero(self.mask)
        lo = np.array([i.min() for i in idx]) - 0.5
        hi = np.array([i.max() for i in idx]) + 0.5
        corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(3, -1)
        world = self.to_world(corners)
        return world.min(axis=1), world.max(axis=1)

    @cached_property
    def _distance_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Signed distance at the padded voxel centres and the padding (voxels per axis)."""
        pad = np.ceil(self.reach / self.spacing).astype(int) + 1
        padded = np.pad(self.mask, [(p, p) for p in pad])
        out = np.empty(padded.shape)
        isotropic = bool(np.allclose(self.spacing, self.spacing[0]))
        _face_distance(padded, self.spacing, isotropic, -1.0, out)
        _face_distance(~padded, self.spacing, isotropic, 1.0, out)
        return out, pad

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        grid, pad = self._distance_grid
        idx = self.to_index(points) + pad[:, None]
        top = np.array(grid.shape, float)[:, None] - 1.0
        clamped = np.clip(idx, 0.0, top)
        beyond = np.linalg.norm((idx - clamped) * self.spacing[:, None], axis=0)
        return ndimage.map_coordinates(grid, clamped, order=1, mode="nearest") + beyond

    def surface_mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """The voxel faces between inside and outside, two triangles each, outward wound."""
        padded = np.pad(self.mask, 1)
        quads = []
        for k in range(3):
            k1, k2 = (k + 1) % 3, (k + 2) % 3
            lo = [slice(None)] * 3
            hi = [slice(None)] * 3
            lo[k], hi[k] = slice(0, -1), slice(1, None)
            a, b = padded[tuple(lo)], padded[tuple(hi)]
            for outward, where in ((1, a & ~b), (-1, ~a & b)):
                cells = np.array(np.nonzero(where))          # voxel a's index in the padded array
                if cells.size == 0:
                    continue
                # corner lattice: corner c of padded voxel v sits at index v - 1/2 + c (unpadded v - 1)
                base = cells.copy()
                base[k] += 1                                  # the face between a and b
                corners = []
                for d1, d2 in ((0, 0), (1, 0), (1, 1), (0, 1)):
                    c = base.copy()
                    c[k1] += d1
                    c[k2] += d2
                    corners.append(c)
                if outward < 0:
                    corners = corners[::-1]
                quads.append(np.stack(corners, axis=-1))      # (3, n, 4)
        quads = np.concatenate(quads, axis=1)
        flat = quads.transpose(1, 2, 0).reshape(-1, 3)
        unique, inverse = np.unique(flat, axis=0, return_inverse=True)
        q = inverse.reshape(-1, 4)
        faces = np.vstack([q[:, [0, 1, 2]], q[:, [0, 2, 3]]])
        if np.linalg.det(self.direction) < 0:
            faces = faces[:, ::-1]
        vertices = self.to_world((unique.T - 1.5)).T
        return vertices, faces.astype(np.int64)

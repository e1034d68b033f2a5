"""The solve-once method: the lesion solved at the planned placement stays in the probe frame and
the tumour's evaluation points move instead, p_local = R^T (F^T (p - t) - delta_local), looked up
in a rasterised signed distance to the lesion boundary (:class:`SdfTable`). Exact for a passive
tumour in an axisymmetric problem; also used as a rigid shift of the lesion with the first probe."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ablation.outcome.placement.error_models import MM, tilt_matrices
from ablation.outcome.placement.statistics import SampleTable


@dataclass
class SdfTable:
    """Signed distance to the lesion boundary on a uniform raster in the probe frame, for fast
    multilinear lookup (2-D (r, z) for axisymmetric lesions, 3-D (x, y, z) otherwise), float32."""
    lo: np.ndarray
    step: float
    values: np.ndarray

    @classmethod
    def build(cls, sdf_fn, lo, hi, step: float, max_nodes: int = 2_000_000) -> "SdfTable":
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        count = np.ceil((hi - lo) / step).astype(int) + 2
        while np.prod(count) > max_nodes:
            step *= 1.25
            count = np.ceil((hi - lo) / step).astype(int) + 2
        axes = [lo[k] + step * np.arange(count[k]) for k in range(lo.size)]
        mesh = np.meshgrid(*axes, indexing="ij")
        values = sdf_fn(np.vstack([m.ravel() for m in mesh])).reshape(mesh[0].shape)
        return cls(lo, step, np.ascontiguousarray(values, dtype=np.float32))

    def __post_init__(self):
        # the 2^dim corner values of every raster cell side by side, so that a lookup gathers one
        # row per point instead of 2^dim scattered values (several times faster)
        v = self.values
        dim = v.ndim
        cells = tuple(n - 1 for n in v.shape)
        corners = []
        for corner in np.ndindex(*(2,) * dim):
            corners.append(v[tuple(slice(c, c + n) for c, n in zip(corner, cells))].ravel())
        self._packed = np.ascontiguousarray(np.stack(corners, axis=1), dtype=np.float32)
        self._cells = cells

    def lookup(self, coords: list) -> np.ndarray:
        """Multilinear values at coordinates given as one array per axis (any common shape).

        Points outside the raster take the value at its edge."""
        cells = self._cells
        strides = np.cumprod((1,) + cells[::-1][:-1])[::-1]
        base = None
        fracs = []
        inv = np.float32(1.0 / self.step)
        for k, c in enumerate(coords):
            u = (c - np.float32(self.lo[k])) * inv
            np.clip(u, 0.0, np.float32(cells[k] - 1e-3), out=u)
            i = u.astype(np.int32)
            fracs.append(u - i)
            term = i * np.int32(strides[k]) if strides[k] != 1 else i
            base = term if base is None else base + term
        g = np.take(self._packed, base, axis=0)          # (..., 2^dim)
        # collapse one axis at a time: the last axis varies fastest in the corner order
        # an empty lesion has no boundary: its distance is infinite everywhere, inf - inf gives NaN
        # (an undefined margin: no success, left out of the margin quantiles), not worth a warning
        with np.errstate(invalid="ignore"):
            for f in reversed(fracs):
                g = g[..., 0::2] + f[..., None] * (g[..., 1::2] - g[..., 0::2])
        return g[..., 0]


@dataclass
class PointSet:
    """Evaluation points of all tumours in the (first) probe's frame, relative to its tip (3, n),
    with the slices of each tumour's inner and surface points."""
    local: np.ndarray
    inner: list
    surface: list
    kept: list


def point_set(points: list, tip: np.ndarray, frame: np.ndarray) -> PointSet:
    blocks, inner, surface, kept = [], [], [], []
    start = 0
    for tp in points:
        for block, store in ((tp.inner, inner), (tp.surface, surface)):
            blocks.append(frame.T @ (block - tip[:, None]))
            store.append(slice(start, start + block.shape[1]))
            start += block.shape[1]
        kept.append(tp.surface_kept)
    return PointSet(np.hstack(blocks).astype(np.float32), inner, surface, kept)


def moved_metrics(table: SdfTable, pts: PointSet, delta: np.ndarray, tilt: np.ndarray, axisymmetric: bool,
                  chunk: int = 128, scales: np.ndarray | None = None, centre=None) -> SampleTable:
    """Per-sample coverage, minimal margin and success of every tumour when the lesion (solved at
    the planned position) moves with the probe: p_local = R^T (p0 - delta).

    ``scales`` (n, 3): each sample's lesion also stretched by these factors along the probe frame's
    axes about ``centre`` (probe frame, m), e.g. the model discrepancy's draws: the point is looked up
    at c + (p_local - c) / s, and the signed distance found there is multiplied by min(s), a bound on
    the stretched distance that is exact when the factors are equal (the sign, hence coverage, is
    exact either way)."""
    n = delta.shape[0]
    T = len(pts.inner)
    coverage, margin, success = np.empty((n, T)), np.empty((n, T)), np.empty((n, T), bool)
    tilted = bool(np.any(tilt != 0))
    rot = tilt_matrices(tilt).astype(np.float32) if tilted else None
    p0 = pts.local
    c = np.zeros(3, np.float32) if centre is None else np.asarray(centre, np.float32)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        d = delta[a:b].astype(np.float32)
        rel = p0[None, :, :] - d[:, :, None]                    # (B, 3, n)
        if tilted:
            rel = np.einsum("bji,bjn->bin", rot[a:b], rel)      # R^T rel
        if scales is not None:
            f = scales[a:b].astype(np.float32)
            rel = c[None, :, None] + (rel - c[None, :, None]) / f[:, :, None]
        if axisymmetric:
            coords = [np.hypot(rel[:, 0], rel[:, 1]), rel[:, 2]]
        else:
            coords = [rel[:, 0], rel[:, 1], rel[:, 2]]
        s = table.lookup(coords)
        if scales is not None:
            s = s * np.min(f, axis=1)[:, None]
        for i in range(T):
            si, ss = s[:, pts.inner[i]], s[:, pts.surface[i]]
            coverage[a:b, i] = np.mean(si >= 0.0, axis=1)
            kept = pts.kept[i]
            margin[a:b, i] = (np.min(ss[:, kept], axis=1) if kept.any() else np.nan) / MM
            success[a:b, i] = np.all(si >= 0.0, axis=1) & (np.min(ss, axis=1) >= 0.0)
    return SampleTable(coverage, margin, success)


def table_for(lesion, pts: PointSet, delta, tilt, tip, frame, axisymmetric: bool, step: float,
              scales=None, centre=None) -> SdfTable:
    """The SDF raster covering every sampled position of every point; with scaled lesions
    (:func:`moved_metrics`: the lookup of a point q is c + (q - c) / s per axis) the box the points
    can reach, mapped per axis through the smallest and largest factor of ``scales`` (n, 3)."""
    reach = float(np.max(np.linalg.norm(delta, axis=1))) if delta.size else 0.0
    lo = pts.local.min(axis=1).astype(float) - reach
    hi = pts.local.max(axis=1).astype(float) + reach
    if np.any(tilt != 0):
        radius = float(np.max(np.linalg.norm(pts.local, axis=0))) + reach
        lo, hi = np.full(3, -radius), np.full(3, radius)
    if scales is not None and len(scales):
        c = np.zeros(3) if centre is None else np.asarray(centre, float)
        ends = [c + (b - c) / f for b in (lo, hi) for f in (np.min(scales, axis=0), np.max(scales, axis=0))]
        lo, hi = np.min(ends, axis=0), np.max(ends, axis=0)
    lo, hi = lo - 4 * step, hi + 4 * step
    if axisymmetric:
        r_max = math.hypot(max(abs(lo[0]), abs(hi[0])), max(abs(lo[1]), abs(hi[1])))
        return SdfTable.build(lambda c: lesion.zero.signed_distance(c), [0.0, lo[2]], [r_max, hi[2]], step)

    def sdf(local):
        return lesion.signed_distance(tip[:, None] + frame @ local)
    return SdfTable.build(sdf, lo, hi, step)

"""Agreement between a predicted and a measured ablation zone given as binary masks on one voxel
grid: Dice, mean and Hausdorff surface distance, volume difference (numbers only, no files).

Surface distances are measured between the smooth surfaces the voxels sample, not between voxel
centres: each mask becomes a :class:`ablation.geometry.shapes.VoxelMask`, points are spread over
its surface and projected onto its distance-field zero set
(:func:`ablation.geometry.shapes.surface_points`), and the distance of every point of one surface to
the other is |signed distance| of the other mask. Mean surface distance is the mean of the two
directed means (A to B, B to A); the Hausdorff distance the larger of the two directed maxima.
Distances beyond ``reach`` are capped there (an upper bound, stated in the result).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ablation.geometry.shapes import VoxelMask, surface_points


@dataclass(frozen=True)
class ZoneAgreement:
    dice: float
    mean_surface_distance_mm: float
    hausdorff_distance_mm: float
    predicted_volume_ml: float
    measured_volume_ml: float
    volume_difference_ml: float          # predicted - measured
    volume_difference_percent: float     # relative to measured
    surface_points: int
    distance_cap_mm: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def zone_agreement(predicted: np.ndarray, measured: np.ndarray, spacing, direction=None,
                   surface_count: int = 20000, reach: float = 0.03) -> ZoneAgreement:
    """Compare two boolean masks (same shape) of voxel size ``spacing`` (m, per axis)."""
    a = np.asarray(predicted, bool)
    b = np.asarray(measured, bool)
    if a.shape != b.shape:
        raise ValueError(f"masks of shape {a.shape} and {b.shape}: expected the same grid")
    if not a.any() or not b.any():
        raise ValueError("an empty zone: " + ("the predicted" if not a.any() else "the measured")
                         + " mask holds no voxel")
    spacing = np.broadcast_to(np.asarray(spacing, float), (3,))
    direction = np.eye(3) if direction is None else np.asarray(direction, float)
    voxel = float(np.prod(spacing) * abs(np.linalg.det(direction)))
    both = np.count_nonzero(a & b)
    na, nb = np.count_nonzero(a), np.count_nonzero(b)
    dice = 2.0 * both / (na + nb)
    # crop both to their common box (the distance fields pad it by reach themselves)
    where = np.nonzero(a | b)
    lo = np.array([w.min() for w in where])
    hi = np.array([w.max() for w in where]) + 1
    crop = tuple(slice(l, h) for l, h in zip(lo, hi))
    origin = direction @ (lo * spacing)
    mask_a = VoxelMask("predicted", a[crop], origin, spacing, direction, reach=reach)
    mask_b = VoxelMask("measured", b[crop], origin, spacing, direction, reach=reach)
    pa = surface_points(mask_a, surface_count, seed=1)
    pb = surface_points(mask_b, surface_count, seed=2)
    dab = np.minimum(np.abs(mask_b.signed_distance(pa)), reach)
    dba = np.minimum(np.abs(mask_a.signed_distance(pb)), reach)
    va, vb = na * voxel, nb * voxel
    return ZoneAgreement(
        dice=float(dice),
        mean_surface_distance_mm=float(0.5 * (dab.mean() + dba.mean()) * 1e3),
        hausdorff_distance_mm=float(max(dab.max(), dba.max()) * 1e3),
        predicted_volume_ml=va * 1e6, measured_volume_ml=vb * 1e6,
        volume_difference_ml=(va - vb) * 1e6, volume_difference_percent=100.0 * (va - vb) / vb,
        surface_points=int(pa.shape[1] + pb.shape[1]), distance_cap_mm=reach * 1e3)


def sphere_pair_dice(radius: float, offset: float) -> float:
    """Closed-form Dice of two equal spheres whose centres are ``offset`` apart: the lens of their
    intersection has volume pi (4R + d)(2R - d)^2 / 12 (d < 2R)."""
    r, d = float(radius), float(offset)
    if d >= 2.0 * r:
        return 0.0
    lens = np.pi * (4.0 * r + d) * (2.0 * r - d) ** 2 / 12.0
    return lens / (4.0 / 3.0 * np.pi * r ** 3)


def sphere_pair_mean_distance(radius: float, offset: float, nodes: int = 2001) -> float:
    """Mean distance from the surface of one sphere to the surface of an equal sphere ``offset``
    away: |sqrt(R^2 + d^2 - 2 R d u) - R| averaged over u = cos(polar) uniform in [-1, 1]
    (area-uniform points), by Gauss-Legendre quadrature. The same in both directions."""
    u, w = np.polynomial.legendre.leggauss(nodes)
    r, d = float(radius), float(offset)
    return float(0.5 * np.sum(w * np.abs(np.sqrt(r * r + d * d - 2.0 * r * d * u) - r)))

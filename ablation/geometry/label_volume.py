"""Label maps (a segmented CT/MR volume) as arrays with their world frame, and the regions of them
the grid, the coverage metrics and the exports use. No files here: :mod:`ablation.anatomy` reads
them.

A :class:`LabelVolume` holds integer labels ``labels[i, j, k]`` and the 4x4 ``affine`` (metres)
mapping voxel indices to world coordinates, world = affine @ (i, j, k, 1): the NIfTI convention
(nibabel's ``img.affine``, RAS+), scaled from mm to m. The scenario's coordinates are this world
frame, so probes, lesion surfaces and exported label maps sit where the image is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ablation.geometry.shapes import VoxelMask


@dataclass(frozen=True, eq=False)
class LabelVolume:
    """Integer labels on a voxel grid with its affine (m); ``source`` names the file (messages)."""
    labels: np.ndarray
    affine: np.ndarray
    source: str = ""

    @property
    def shape(self) -> tuple:
        return tuple(self.labels.shape)

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size along each array axis (m)."""
        return np.linalg.norm(self.affine[:3, :3], axis=0)

    @property
    def direction(self) -> np.ndarray:
        """3x3, columns: world directions of the array axes (unit vectors)."""
        return self.affine[:3, :3] / self.spacing[None, :]

    @property
    def origin(self) -> np.ndarray:
        """World position of the centre of voxel (0, 0, 0) (m)."""
        return self.affine[:3, 3].copy()

    @property
    def voxel_volume(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    def present(self) -> list[int]:
        return [int(v) for v in np.unique(self.labels)]

    def count(self, values) -> int:
        return int(np.count_nonzero(np.isin(self.labels, np.atleast_1d(values))))

    def to_index(self, points: np.ndarray) -> np.ndarray:
        """World points (3, n) to continuous voxel indices (3, n)."""
        inverse = np.linalg.inv(self.affine)
        return inverse[:3, :3] @ np.asarray(points, float) + inverse[:3, 3:4]

    def voxel_centres(self, index: np.ndarray) -> np.ndarray:
        """World coordinates (3, n) of integer voxel indices (3, n)."""
        return self.affine[:3, :3] @ np.asarray(index, float) + self.affine[:3, 3:4]

    def lookup(self, points: np.ndarray, outside: int = 0) -> np.ndarray:
        """Label of the voxel containing each world point (nearest voxel centre), ``outside``
        beyond the image: the resampling of labels onto another grid's cell centres."""
        idx = np.rint(self.to_index(points)).astype(np.int64)
        ok = np.all((idx >= 0) & (idx < np.array(self.shape)[:, None]), axis=0)
        out = np.full(idx.shape[1], outside, dtype=self.labels.dtype if outside == 0 else np.int64)
        out[ok] = self.labels[idx[0, ok], idx[1, ok], idx[2, ok]]
        return out

    def same_grid(self, other: "LabelVolume", tolerance: float = 1e-6) -> str:
        """'' when ``other`` has this volume's shape, spacing, orientation and origin; else what
        differs (tolerance in m)."""
        if self.shape != other.shape:
            return f"shape {list(other.shape)} differs from {list(self.shape)}"
        if not np.allclose(self.spacing, other.spacing, atol=tolerance):
            return (f"spacing {np.round(other.spacing * 1e3, 4).tolist()} mm differs from "
                    f"{np.round(self.spacing * 1e3, 4).tolist()} mm")
        if not np.allclose(self.direction, other.direction, atol=1e-4):
            return "orientation (direction cosines) differs"
        if not np.allclose(self.origin, other.origin, atol=tolerance):
            return (f"origin {np.round(other.origin * 1e3, 3).tolist()} mm differs from "
                    f"{np.round(self.origin * 1e3, 3).tolist()} mm")
        return ""

    def region(self, values, name: str, reach: float = 0.012, box=None) -> VoxelMask:
        """The voxels holding any of ``values`` as a :class:`VoxelMask` (any shape; its signed
        distance reaches ``reach`` m around it), cropped to the region's bounding box; ``box``
        (world lo, hi, m) keeps only voxels whose centres lie in it (None: all)."""
        mask = np.isin(self.labels, np.atleast_1d(values))
        if box is not None:
            mask &= self._box_mask(box)
        where = np.nonzero(mask)
        if where[0].size == 0:
            raise ValueError(f"{self.source or 'label map'}: label(s) {list(np.atleast_1d(values))} "
                             f"{'inside the box ' if box is not None else ''}hold no voxel")
        lo = np.array([w.min() for w in where])
        hi = np.array([w.max() for w in where]) + 1
        cropped = mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        origin = self.voxel_centres(lo[:, None])[:, 0]
        return VoxelMask(name, cropped, origin, self.spacing, self.direction, reach=reach)

    def _box_mask(self, box) -> np.ndarray:
        lo, hi = (np.asarray(b, float) for b in box)
        corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(3, -1)
        idx = self.to_index(corners)
        i_lo = np.clip(np.floor(idx.min(axis=1)).astype(int), 0, np.array(self.shape))
        i_hi = np.clip(np.ceil(idx.max(axis=1)).astype(int) + 1, 0, np.array(self.shape))
        sub = np.zeros(self.shape, bool)
        grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(i_lo, i_hi)], indexing="ij")
        if any(g.size == 0 for g in grids):
            return sub
        pts = self.voxel_centres(np.vstack([g.ravel() for g in grids]))
        ok = np.all((pts >= lo[:, None]) & (pts <= hi[:, None]), axis=0)
        sub[tuple(g.ravel()[ok] for g in grids)] = True
        return sub


def local_radius(mask: np.ndarray, spacing, reach_voxels: int) -> np.ndarray:
    """Per voxel of a vessel mask's neighbourhood, the radius (m) of the vessel near it: the
    Euclidean distance transform inside the mask (distance from an inside voxel centre to the
    nearest outside one, largest on the centre line) plus half a voxel (the surface lies half a
    voxel beyond the last inside centre), spread by a maximum filter over ``2 reach_voxels + 1``
    voxels. Near a junction the wider vessel's radius wins (an assumption: the wall's heat transfer
    is taken from the larger)."""
    inside = ndimage.distance_transform_edt(mask, sampling=spacing)
    inside[mask] += 0.5 * float(np.min(spacing))
    return ndimage.maximum_filter(inside, size=2 * int(reach_voxels) + 1)


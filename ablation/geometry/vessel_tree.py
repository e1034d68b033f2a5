"""A vessel tree given by centre-line segments with a radius each, as one :class:`Shape` (the union of
the segments' capsules): the held region of a tree on the grid and the wall its heat sink acts on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ablation.geometry.shapes import Segment


@dataclass(frozen=True, eq=False)
class VesselTree:
    """Segments ``starts[i] -> ends[i]`` (m, (n, 3)) of radius ``radii[i]`` (m); ``flows[i]`` the
    blood flow (m^3/s; NaN where not known). ``reach`` (m): the signed distance is exact within it of
    the tree and at least ``reach`` beyond it (only the wall condition uses it, next to the wall)."""
    name: str
    starts: np.ndarray
    ends: np.ndarray
    radii: np.ndarray
    flows: np.ndarray
    reach: float = 0.012

    def __post_init__(self):
        for key in ("starts", "ends"):
            object.__setattr__(self, key, np.asarray(getattr(self, key), float).reshape(-1, 3))
        object.__setattr__(self, "radii", np.asarray(self.radii, float).ravel())
        object.__setattr__(self, "flows", np.asarray(self.flows, float).ravel())
        if not (self.starts.shape[0] == self.ends.shape[0] == self.radii.size == self.flows.size):
            raise ValueError(f"vessel tree {self.name!r}: starts, ends, radii and flows differ in length")

    @property
    def count(self) -> int:
        return self.radii.size

    def select(self, keep: np.ndarray) -> "VesselTree":
        keep = np.asarray(keep, bool)
        return VesselTree(self.name, self.starts[keep], self.ends[keep], self.radii[keep], self.flows[keep],
                          self.reach)

    def within(self, lo, hi, min_diameter: float = 0.0) -> "VesselTree":
        """Segments at least ``min_diameter`` wide whose capsule meets the box ``lo``..``hi`` (m)."""
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        seg_lo = np.minimum(self.starts, self.ends) - self.radii[:, None]
        seg_hi = np.maximum(self.starts, self.ends) + self.radii[:, None]
        meets = np.all((seg_hi >= lo) & (seg_lo <= hi), axis=1)
        return self.select(meets & (2.0 * self.radii >= min_diameter))

    def segment(self, i: int) -> Segment:
        return Segment(self.starts[i], self.ends[i], float(self.radii[i]), f"{self.name} {i}")

    def _distances(self, points: np.ndarray, pad: float):
        """Per point: the smallest capsule signed distance found within ``pad`` of a segment's box,
        and the index of that segment (-1 where none is that close)."""
        p = np.asarray(points, float)
        best = np.full(p.shape[1], np.inf)
        which = np.full(p.shape[1], -1)
        lo_all = np.minimum(self.starts, self.ends) - (self.radii[:, None] + pad)
        hi_all = np.maximum(self.starts, self.ends) + (self.radii[:, None] + pad)
        for i in range(self.count):
            near = np.nonzero(np.all((p >= lo_all[i][:, None]) & (p <= hi_all[i][:, None]), axis=0))[0]
            if near.size == 0:
                continue
            d = self.segment(i).signed_distance(p[:, near])
            better = d < best[near]
            best[near[better]] = d[better]
            which[near[better]] = i
        return best, which

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        best, _ = self._distances(points, self.reach)
        return np.minimum(best, self.reach)

    def contains(self, points: np.ndarray, tolerance: float = 0.0) -> np.ndarray:
        """Points inside a capsule, or within ``tolerance`` (m) of one."""
        best, _ = self._distances(points, tolerance)
        return best <= tolerance

    def nearest(self, points: np.ndarray) -> np.ndarray:
        """Index of the segment whose wall is nearest to each point (within ``reach``; else the
        nearest by centre line over all segments)."""
        _, which = self._distances(points, self.reach)
        missing = np.nonzero(which < 0)[0]
        if missing.size:
            mids = 0.5 * (self.starts + self.ends)
            d = np.linalg.norm(np.asarray(points, float)[:, missing].T[:, None, :] - mids[None, :, :], axis=2)
            which[missing] = np.argmin(d, axis=1)
        return which

    def sample_points(self, spacing: float) -> np.ndarray:
        """Centre-line points every ``spacing`` (m) along every segment, (3, n)."""
        return np.hstack([self.segment(i).sample_points(spacing) for i in range(self.count)])

    def surface_mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """The segments' capsule meshes together (overlapping at the joints: for pictures)."""
        vertices, faces, offset = [], [], 0
        for i in range(self.count):
            v, f = self.segment(i).surface_mesh(n_cap=4, n_azimuth=12)
            vertices.append(v)
            faces.append(f + offset)
            offset += v.shape[0]
        return np.vstack(vertices), np.vstack(faces)

    @property
    def volume(self) -> float:
        """Sum of the capsules (overlaps at the joints counted twice), m^3."""
        return float(sum(self.segment(i).volume for i in range(self.count)))

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.min(np.minimum(self.starts, self.ends) - self.radii[:, None], axis=0),
                np.max(np.maximum(self.starts, self.ends) + self.radii[:, None], axis=0))

    @property
    def center(self) -> np.ndarray:
        lo, hi = self.bounds
        return 0.5 * (lo + hi)

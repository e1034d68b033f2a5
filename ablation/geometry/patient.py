"""A patient's anatomy as the solver sees it: the organ (liver) whose surface is the capsule and a
material boundary, tumours of any shape, and vessels (centre-line trees or label regions) whose
walls carry a size- and flow-dependent heat sink. Built by :mod:`ablation.anatomy` from files;
plain arrays and shapes here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ablation.geometry.label_volume import LabelVolume, local_radius
from ablation.geometry.shapes import VoxelMask
from ablation.geometry.vessel_tree import VesselTree


@dataclass(frozen=True, eq=False)
class LabelVessel:
    """A vessel given as a label region (a :class:`VoxelMask`), with the local vessel radius per
    voxel (:func:`ablation.geometry.label_volume.local_radius`) for its wall's heat transfer."""
    region: VoxelMask
    radius_map: np.ndarray

    @classmethod
    def from_region(cls, region: VoxelMask, reach: float = 0.01) -> "LabelVessel":
        reach_voxels = int(np.ceil(reach / float(np.min(region.spacing))))
        return cls(region, local_radius(region.mask, region.spacing, reach_voxels))

    @property
    def name(self) -> str:
        return self.region.name

    def local_radius(self, points: np.ndarray) -> np.ndarray:
        idx = np.rint(self.region.to_index(points)).astype(np.int64)
        idx = np.clip(idx, 0, np.array(self.radius_map.shape)[:, None] - 1)
        r = self.radius_map[idx[0], idx[1], idx[2]]
        return np.maximum(r, 0.5 * float(np.min(self.region.spacing)))    # at least half a voxel

    def local_flow(self, points: np.ndarray) -> np.ndarray:
        return np.full(np.asarray(points).shape[1], np.nan)

    def sample_points(self, spacing: float) -> np.ndarray:
        """The centres of the region's voxels (keeps a one-voxel vessel connected on the grid)."""
        return self.region.to_world(np.array(np.nonzero(self.region.mask), float))

    def signed_distance(self, points):
        return self.region.signed_distance(points)

    def contains(self, points):
        return self.region.contains(points)

    def surface_mesh(self):
        return self.region.surface_mesh()

    @property
    def volume(self) -> float:
        return self.region.volume

    @property
    def bounds(self):
        return self.region.bounds

    @property
    def center(self):
        return self.region.center


def tree_local_radius(tree: VesselTree, points: np.ndarray) -> np.ndarray:
    return tree.radii[tree.nearest(points)]


def tree_local_flow(tree: VesselTree, points: np.ndarray) -> np.ndarray:
    return tree.flows[tree.nearest(points)]


@dataclass(frozen=True, eq=False)
class PatientAnatomy:
    """What a scenario's ``[anatomy]`` section resolves to.

    organ : the liver as a shape (its surface is the capsule for margins and the boundary to the
        ``surroundings`` material), or None.
    labels : the input label map (the frame and spacing of the exports), or None (surfaces only).
    tumor_shapes : {index in scenario.tumors: shape} of the label or surface tumours.
    trees : centre-line vessel trees (all segments; cropped to the grid when it is built).
    vessel_labels : ((name, label values), ...) of vessels given as label regions.
    surroundings : the property preset outside the organ.
    vessel_min_diameter : thinner vessels are left to perfusion (m).
    heated_length, wall_shear_stress : of the wall correlation (:mod:`ablation.physics.vessel_wall`).
    vessels_removed : True after the Pringle manoeuvre (no flow: no walls).
    notes : trajectory warnings and other remarks for the summary.
    """
    organ: object = None
    labels: LabelVolume | None = None
    tumor_shapes: dict = field(default_factory=dict)
    trees: tuple = ()
    vessel_labels: tuple = ()
    surroundings: str = "fat"
    vessel_min_diameter: float = 2e-3
    heated_length: float = 0.03
    wall_shear_stress: float = 0.2
    vessels_removed: bool = False
    notes: tuple = ()
    sources: dict = field(default_factory=dict)

    def summary_record(self) -> dict:
        """A short description for summary.json (the arrays stay out)."""
        return {"sources": dict(self.sources),
                "label_map_shape": list(self.labels.shape) if self.labels is not None else None,
                "label_map_spacing_mm": (self.labels.spacing * 1e3).tolist() if self.labels is not None else None,
                "tumors": [s.name for _, s in sorted(self.tumor_shapes.items())],
                "centerline_trees": {t.name: int(t.count) for t in self.trees},
                "vessel_labels": [name for name, _ in self.vessel_labels],
                "surroundings": self.surroundings, "vessels_removed": self.vessels_removed}

    def without_vessels(self) -> "PatientAnatomy":
        return replace(self, vessels_removed=True)

    def vessel_shapes(self, lo, hi) -> list:
        """Vessel shapes meeting the box lo..hi (m): each centre-line tree's segments at least
        ``vessel_min_diameter`` wide, and each label vessel's voxels in the box (as
        :class:`LabelVessel`). None after the Pringle manoeuvre."""
        if self.vessels_removed:
            return []
        shapes = []
        for tree in self.trees:
            part = tree.within(lo, hi, self.vessel_min_diameter)
            if part.count:
                shapes.append(part)
        if self.labels is not None:
            for name, values in self.vessel_labels:
                if not np.any(np.isin(self.labels.labels, values)):
                    continue
                try:
                    region = self.labels.region(values, name, box=(lo, hi))
                except ValueError:      # none of its voxels in the box
                    continue
                shapes.append(LabelVessel.from_region(region))
        return shapes


def vessel_wall_radius_flow(shape, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local radius (m) and flow (m^3/s, NaN: not given) of a vessel shape at wall points (3, n)."""
    if isinstance(shape, VesselTree):
        return tree_local_radius(shape, points), tree_local_flow(shape, points)
    return shape.local_radius(points), shape.local_flow(points)

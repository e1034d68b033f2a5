"""The lethal zone, tumours and margin shells of a solved run resampled onto the input label map's
voxel grid (numbers only: :mod:`ablation.output.anatomy_export` writes them as NIfTI files).

A voxel is in the zone when the lesion level field, interpolated multilinearly between cell centres
(:class:`ablation.outcome.coverage.LevelField`), is >= 0 at its centre: the same interpolant the
coverage metrics use. Only voxels whose centres lie inside the computational domain are sampled
(the rest are 0), and voxels in a probe or vessel lumen are left out (as ``lesion.volume_ml`` does).
The exported zone is every such voxel, not only the part connected to the probe; ``lesion.volume_ml``
counts the connected part, so the two agree when the zone is one piece.

Tumour-and-shell map values: tumour k (1-based, in scenario order) is k; its margin shell
0 < d <= 5 mm is 100 + k; 5 < d <= 10 mm is 200 + k (d: distance to the tumour surface). Where
shells of two tumours overlap, the first tumour wins.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ablation.outcome.coverage import LevelField
from ablation.physics.damage import parse_criterion

SHELL_EDGES_M = (5e-3, 10e-3)


@dataclass
class ImageZones:
    """Masks on the label map's grid: ``zones`` {criterion: bool array (image shape)},
    ``tumor_labels`` uint16 array, ``box`` the sampled index box ((lo, hi) per axis)."""
    zones: dict
    tumor_labels: np.ndarray
    box: tuple
    voxel_volume_ml: float

    def volume_ml(self, criterion: str) -> float:
        return float(np.count_nonzero(self.zones[criterion])) * self.voxel_volume_ml


def _domain_voxels(labels, domain):
    """Index box and voxel indices (3, n) + world centres (3, n) of the image voxels inside the domain."""
    lo = np.array([e[0] for e in domain.edges])
    hi = np.array([e[-1] for e in domain.edges])
    corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(3, -1)
    idx = labels.to_index(corners)
    shape = np.array(labels.shape)
    i_lo = np.clip(np.floor(idx.min(axis=1)).astype(int), 0, shape)
    i_hi = np.clip(np.ceil(idx.max(axis=1)).astype(int) + 1, 0, shape)
    grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(i_lo, i_hi)], indexing="ij")
    index = np.vstack([g.ravel() for g in grids])
    world = labels.voxel_centres(index)
    inside = np.all((world >= lo[:, None]) & (world <= hi[:, None]), axis=0)
    return (tuple(i_lo), tuple(i_hi)), index[:, inside], world[:, inside]


def image_zones(result, labels, criteria) -> ImageZones:
    """Zones of ``criteria`` and the tumour/shell map on the grid of ``labels`` (a LabelVolume)."""
    domain = result.domain
    box, index, world = _domain_voxels(labels, domain)
    coords = domain.to_frame(world)
    # voxels whose nearest cell is held (probe, vessel lumen) are not ablated tissue: left out, as
    # lesion.volume_ml leaves them out
    cell = np.zeros(index.shape[1], np.int64)
    stride = 1
    for ax in range(3):
        k = np.clip(np.searchsorted(domain.edges[ax], world[ax], side="right") - 1, 0, domain.shape[ax] - 1)
        cell += k * stride
        stride *= domain.shape[ax]
    tissue = ~domain.held[cell]
    zones = {}
    for criterion in criteria:
        level = LevelField.from_domain(domain, parse_criterion(criterion).level(result.fields))
        inside = (level(level.coords(coords)) >= 0.0) & tissue
        mask = np.zeros(labels.shape, bool)
        mask[tuple(index[:, inside])] = True
        zones[criterion] = mask
    tumor_labels = np.zeros(labels.shape, np.uint16)
    distances = [tumor.signed_distance(world) for tumor in domain.tumors]
    # outer shells first, tumours last; within a layer the first tumour is written last (wins)
    for offset, (a, b) in ((200, SHELL_EDGES_M), (100, (0.0, SHELL_EDGES_M[0])), (0, (-np.inf, 0.0))):
        for k in range(len(distances), 0, -1):
            d = distances[k - 1]
            sel = (d > a) & (d <= b)
            tumor_labels[tuple(index[:, sel])] = offset + k
    return ImageZones(zones, tumor_labels, box, labels.voxel_volume * 1e6)

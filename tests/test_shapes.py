"""The Shape protocol (ablation.geometry.shapes) and its seam: a tumour given as a voxel mask goes
through the same grid, coverage and margin code as an analytic ellipsoid and gives the same answers
within the voxel size, closer as the voxels shrink."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ablation.geometry.grid import GridSpacing, build_domain
from ablation.geometry.shapes import (Ellipsoid, Probe, Segment, Shape, VoxelMask, mesh_volume,
                                      orthonormal_frame, surface_points)
from ablation.outcome import coverage as cv
from ablation.verification.analytic import sphere_intersection_volume

MM = 1e-3
RADIUS = 6 * MM
CENTER = np.array([0.0, 0.0, -10 * MM])
VOXELS = (0.5 * MM, 0.25 * MM)


def voxel_sphere(h):
    # the lattice is shifted by a fraction of a voxel so that no symmetry of the grid helps
    return VoxelMask.from_shape(Ellipsoid.sphere("tumour", CENTER, RADIUS), h, offset=(0.13 * h, 0.31 * h, 0.07 * h))


@pytest.fixture(scope="module")
def voxels():
    return {h: voxel_sphere(h) for h in VOXELS}


def every_shape(voxels):
    ell = Ellipsoid("e", np.array([1, 2, -10]) * MM, np.array([8, 5, 6]) * MM, orthonormal_frame([1, 1, 0.3]))
    seg = Segment(np.zeros(3), np.array([0, 0, 20]) * MM, 1 * MM, "vessel")
    probe = Probe("p", np.zeros(3), np.array([0.0, 0.0, 1.0]), 0.75 * MM, 20 * MM, 50 * MM)
    tilted = VoxelMask("tilted", voxels[VOXELS[0]].mask, [1e-3, 0, 0], [0.5 * MM, 0.6 * MM, 0.4 * MM],
                       orthonormal_frame([0, 1, 1]))
    return [Ellipsoid.sphere("s", CENTER, RADIUS), ell, seg, probe, voxels[VOXELS[0]], tilted]


def test_every_shape_follows_the_protocol_and_its_mesh_encloses_its_volume(voxels):
    for shape in every_shape(voxels):
        assert isinstance(shape, Shape), shape.name
        vertices, faces = shape.surface_mesh()
        assert vertices.shape[1] == 3 and faces.shape[1] == 3 and faces.max() < vertices.shape[0]
        # closed and outward wound: the divergence theorem gives the shape's volume (voxel meshes
        # exactly, tessellated curved surfaces within 1 %)
        exact = isinstance(shape, VoxelMask)
        assert mesh_volume(vertices, faces) == pytest.approx(shape.volume, rel=1e-9 if exact else 0.01)
        lo, hi = shape.bounds
        assert np.all(vertices >= lo - 1e-12) and np.all(vertices <= hi + 1e-12)
        # the signed distance agrees with contains well away from the surface
        rng = np.random.default_rng(1)
        pts = lo[:, None] + (hi - lo)[:, None] * (rng.random((3, 4000)) * 1.4 - 0.2)
        s = shape.signed_distance(pts)
        far = np.abs(s) > 1 * MM
        assert np.array_equal(shape.contains(pts)[far], s[far] < 0)
        assert shape.contains(shape.center[:, None])[0] == (shape.signed_distance(shape.center[:, None])[0] < 0)


def test_ellipsoid_bounds_are_its_support():
    ell = Ellipsoid("e", np.array([1, 2, -10]) * MM, np.array([8, 5, 6]) * MM, orthonormal_frame([1, 1, 0.3]))
    pts = ell.surface_points(200000)
    lo, hi = ell.bounds
    assert np.allclose(pts.min(axis=1), lo, atol=2e-6) and np.allclose(pts.max(axis=1), hi, atol=2e-6)


def test_voxel_sphere_volume_and_signed_distance_within_a_voxel(voxels):
    sphere = Ellipsoid.sphere("s", CENTER, RADIUS)
    rng = np.random.default_rng(0)
    # points from 2 mm inside to 10 mm outside the sphere (the margin region coverage uses)
    direction = rng.normal(size=(3, 20000))
    direction /= np.linalg.norm(direction, axis=0)
    pts = CENTER[:, None] + direction * (RADIUS + rng.uniform(-2, 10, 20000) * MM)
    errors = {}
    for h, vm in voxels.items():
        # volume: voxel count x voxel volume against 4/3 pi r^3, within a surface layer h/2 thick
        layer = 1.0 - (1.0 - 0.5 * h / RADIUS) ** 3
        assert abs(vm.volume / sphere.volume - 1.0) < layer
        errors[h] = float(np.max(np.abs(vm.signed_distance(pts) - sphere.signed_distance(pts))))
        assert errors[h] < h
        s = sphere.signed_distance(surface_points(vm, 5000))
        assert np.max(np.abs(s)) < 0.5 * h            # points on the zero set of the voxel distance
    assert errors[0.25 * MM] < 0.75 * errors[0.5 * MM]


@pytest.fixture(scope="module")
def domain():
    """A 3-D grid around the tumour, the probe standing aside (as in test_coverage.py)."""
    probe = Probe("p", np.array([-15, -15, 0]) * MM, np.array([0.0, 0.0, 1.0]), 0.75 * MM, 20 * MM, 100 * MM)
    return build_domain("3d", CENTER, 50 * MM, GridSpacing(1 * MM, 4 * MM, 1.2, 8 * MM), [probe],
                        [Ellipsoid.sphere("tumour", CENTER, RADIUS)])


def sphere_lesion(domain, center, radius):
    sdf = radius - np.linalg.norm(domain.world_points() - np.asarray(center)[:, None], axis=0)
    return cv.Lesion.from_level(domain, np.tanh(sdf / 3e-3))


# lesion balls (centre offset from the tumour's in mm, radius in mm): partial coverage with a
# negative margin, and full coverage with a 1 mm margin
LESIONS = [((8.0, 0.0, 0.0), 9.0), ((0.0, 2.0, 0.0), 9.0)]


def test_voxel_tumour_coverage_and_margin_match_the_analytic_sphere(domain, voxels):
    errors = {h: [] for h in VOXELS}
    for offset, R in LESIONS:
        offset = np.asarray(offset)
        c = float(np.linalg.norm(offset))
        lesion = sphere_lesion(domain, CENTER + offset * MM, R * MM)
        ref = cv.tumor_metrics(cv.tumor_points(domain.tumors[0], 10 * MM), lesion.inside, lesion.signed_distance)
        exact_cov = sphere_intersection_volume(R, RADIUS / MM, c) / (4 / 3 * math.pi * (RADIUS / MM) ** 3)
        exact_mam = R - c - RADIUS / MM
        assert ref["coverage"] == pytest.approx(exact_cov, abs=0.005)
        assert ref["min_margin_mm"] == pytest.approx(exact_mam, abs=0.1)
        for h, vm in voxels.items():
            m = cv.tumor_metrics(cv.tumor_points(vm, 10 * MM), lesion.inside, lesion.signed_distance)
            # coverage within the volume fraction of a one-voxel surface layer
            layer = 1.0 - (1.0 - h / RADIUS) ** 3
            assert abs(m["coverage"] - exact_cov) < layer
            # minimal margin within the voxel size of the exact one
            assert abs(m["min_margin_mm"] - exact_mam) < h / MM
            assert m["margin_class"] == ref["margin_class"]
            for mm in (5, 10):
                exact = sphere_intersection_volume(R, RADIUS / MM + mm, c) / (4 / 3 * math.pi * (RADIUS / MM + mm) ** 3)
                grown = 1.0 - (1.0 - h / (RADIUS + mm * MM)) ** 3
                assert abs(m["margin_coverage"][str(mm)] - exact) < grown
            errors[h].append((abs(m["min_margin_mm"] - ref["min_margin_mm"]),
                              max(abs(m["margin_coverage"][k] - ref["margin_coverage"][k]) for k in ("5", "10"))))
    coarse, fine = (np.max(np.array(errors[h]), axis=0) for h in VOXELS)
    assert fine[0] < 0.75 * coarse[0]          # minimal margin error shrinks with the voxels
    assert fine[1] < 0.75 * coarse[1]          # margin coverage error shrinks with the voxels


def test_voxel_tumour_marks_the_same_cells_as_the_analytic_one(domain, voxels):
    """The grid takes any shape: tumour masks from ``contains``, fine region from ``bounds``."""
    probe = domain.probes[0]
    sphere = domain.tumors[0]
    for h, vm in voxels.items():
        d = build_domain("3d", CENTER, 50 * MM, GridSpacing(1 * MM, 4 * MM, 1.2, 8 * MM), [probe], [vm])
        assert d.shape == domain.shape
        differ = np.count_nonzero(d.tumor_masks[0] != domain.tumor_masks[0])
        # only cells whose centre is within about a voxel of the sphere's surface may differ
        near = np.abs(sphere.signed_distance(domain.world_points())) < h
        assert differ <= np.count_nonzero(near) and not np.any((d.tumor_masks[0] != domain.tumor_masks[0]) & ~near)
        # 1 mm cells: a voxel staircase flips a few per cent of the tumour's cells (2.5 % at 0.5 mm)
        assert np.count_nonzero(d.tumor_masks[0]) == pytest.approx(np.count_nonzero(domain.tumor_masks[0]), rel=0.04)


@pytest.mark.parametrize("spacing", [(0.5 * MM,) * 3, (0.5 * MM, 0.6 * MM, 0.4 * MM)], ids=["isotropic", "anisotropic"])
def test_voxel_face_distance_in_slabs_equals_scipy_whole_volume_distances(voxels, spacing, monkeypatch):
    """The voxel mask's distance grid comes from scipy's feature transform, its distances computed
    slab by slab (shapes.FACE_DISTANCE_SLAB_VOXELS, to bound memory): to the bit what scipy's
    whole-volume distance transform gives, less half a voxel along the nearest centre's largest step."""
    from scipy import ndimage
    from ablation.geometry import shapes
    mask = np.pad(voxels[VOXELS[0]].mask, 3)
    spacing = np.asarray(spacing)
    isotropic = bool(np.allclose(spacing, spacing[0]))
    monkeypatch.setattr(shapes, "FACE_DISTANCE_SLAB_VOXELS", 5 * mask.shape[1] * mask.shape[2] + 7)  # 5 layers
    for region, sign in ((mask, -1.0), (~mask, 1.0)):
        dist, index = ndimage.distance_transform_edt(region, sampling=spacing, return_indices=True)
        step = np.abs(index - np.indices(mask.shape)) * spacing[:, None, None, None]
        half = 0.5 * spacing[np.argmax(step, axis=0)]
        expected = np.where(region, sign * (dist - half), np.nan)
        out = np.full(mask.shape, np.nan)
        shapes._face_distance(region, spacing, isotropic, sign, out)
        np.testing.assert_array_equal(out, expected)
    assert mask.shape[0] % 5 != 0            # the last slab is a partial one

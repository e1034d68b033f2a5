"""Generate the liver phantom in this folder (fixed seed: the same files on every run).

    python meshes/make_phantom.py [--out meshes]

Writes (all in one RAS+ world frame, millimetres; see meshes/README.md):

* ``liver_phantom.nii.gz``: label map, 1 mm voxels (uint8; label table in README.md and
  ``labels.json``);
* ``liver.vtp`` / ``liver.stl``, ``tumor_<n>.vtp`` / ``.stl``, ``portal_vein.vtp``,
  ``hepatic_veins.vtp``: closed surfaces (marching cubes of the smoothed regions, decimated);
* ``vessel_centerlines.csv`` (one row per segment: tree, id, parent, start and end in mm, radius in
  mm) and ``vessel_centerlines.vtp`` (the same as lines with a ``radius_mm`` point array).

How it is made (numpy and scipy; nibabel writes the NIfTI file, PyVista the surfaces):

1. Liver: the smooth union (log-sum-exp of the implicit functions) of a right lobe, a left lobe and a
   caudate lobe (ellipsoids), minus the gallbladder fossa and the interlobar fissure, with a
   low-frequency random field (Gaussian-filtered noise, seed fixed) for an irregular capsule. The
   iso-level is chosen by bisection so that the liver holds TARGET_VOLUME_ML.
2. Vessel trees by recursive territory bisection: a segment runs from its parent's end towards
   the centroid of the liver points it supplies (or drains); its territory is split in two by the
   plane through the centroid normal to the territory's principal axis, and each child gets the
   flow of its half (Q proportional to the perfused volume). Radii follow Murray's law
   r^3 = r1^3 + r2^3 exactly (Murray, PNAS 12:207, 1926; r proportional to Q^(1/3)). This is a
   simplified relative of constrained constructive optimisation (Schreiner & Buxbaum, IEEE TBME
   40:482, 1993), which also places terminals by perfusion territory but optimises volume; here the
   bifurcation points are geometric, not optimised. The portal tree has one 14 mm trunk entering at
   the hilum; the hepatic venous tree three trunks (right 13 mm, middle 12.5 mm, left 12 mm)
   draining at the inferior vena cava. Branches of 2 mm diameter and more are in the label map;
   branches down to MIN_DIAMETER_MM are centre lines only.
3. Tumours: 'T1 perivascular' (22 mm sphere, 1.5 mm from a portal branch of at least 6 mm),
   'T2 subcapsular' (ellipsoid 26 x 18 x 18 mm, 3 mm under the capsule), 'T3 irregular' (union of
   four random balls with a rough surface, about 30 mm), 'T4 small' (12 mm sphere, left lobe).
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

SEED = 20261202
SPACING_MM = 1.0
TARGET_VOLUME_ML = 1600.0          # adult liver 1.4-1.8 L (issue 12); e.g. Heinemann et al. 1999
MIN_DIAMETER_MM = 1.0              # finest centre-line branch
LABEL_MAP_MIN_DIAMETER_MM = 2.0    # branches at least this wide are in the label map

LABELS = {
    "background": 0, "liver": 1, "portal_vein": 2, "hepatic_vein": 3,
    "tumor_1": 11, "tumor_2": 12, "tumor_3": 13, "tumor_4": 14,
}
TUMOR_NAMES = {11: "T1 perivascular", 12: "T2 subcapsular", 13: "T3 irregular", 14: "T4 small"}

# ----------------------------------------------------------------------------- image grid (mm, RAS+)
ORIGIN = np.array([-120.0, -100.0, -90.0])     # centre of voxel (0, 0, 0)
SHAPE = (240, 190, 170)


def voxel_centres():
    axes = [ORIGIN[k] + SPACING_MM * np.arange(SHAPE[k]) for k in range(3)]
    return np.meshgrid(*axes, indexing="ij")


def ellipsoid_field(x, y, z, center, semi, rotation_deg=0.0):
    """(|q| - 1) * min semi-axis: negative inside, about a distance in mm near the surface."""
    c, s = np.cos(np.radians(rotation_deg)), np.sin(np.radians(rotation_deg))
    dx, dy, dz = x - center[0], y - center[1], z - center[2]
    u, v = c * dx - s * dy, s * dx + c * dy
    q = np.sqrt((u / semi[0]) ** 2 + (v / semi[1]) ** 2 + (dz / semi[2]) ** 2)
    return (q - 1.0) * min(semi)


def smooth_union(fields, k=8.0):
    stack = np.stack(fields)
    return -k * np.log(np.sum(np.exp(-stack / k), axis=0))


def liver_field(rng):
    x, y, z = voxel_centres()
    right = ellipsoid_field(x, y, z, (38, 0, 0), (62, 78, 62), 10)
    left = ellipsoid_field(x, y, z, (-42, -12, 22), (55, 48, 26), -15)
    caudate = ellipsoid_field(x, y, z, (0, 30, 10), (22, 20, 30))
    f = smooth_union([right, left, caudate])
    # the inferior surface slopes (the liver is thick at the right dome, thin at its lower edge)
    f = np.maximum(f, -(z + 48 - 0.35 * (x - 40) + 0.15 * y))
    fossa = ellipsoid_field(x, y, z, (20, -45, -40), (14, 30, 18))        # gallbladder fossa
    fissure = ellipsoid_field(x, y, z, (-8, -60, 10), (5, 30, 40))        # interlobar fissure notch
    f = np.maximum(f, -fossa)
    f = np.maximum(f, -fissure)
    noise = ndimage.gaussian_filter(rng.standard_normal(SHAPE), 9.0)
    noise *= 6.0 / np.std(noise)
    return f + noise


def liver_mask(field):
    """The level set {field <= level} holding TARGET_VOLUME_ML (bisection on level), largest part."""
    lo, hi = -20.0, 20.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        volume = np.count_nonzero(field <= mid) * SPACING_MM ** 3 / 1000.0
        lo, hi = (mid, hi) if volume < TARGET_VOLUME_ML else (lo, mid)
    mask = field <= 0.5 * (lo + hi)
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum(mask, labels, range(1, n + 1))
        mask = labels == (1 + int(np.argmax(sizes)))
    return ndimage.binary_fill_holes(mask), 0.5 * (lo + hi)


def to_index(p):
    return np.rint((np.asarray(p, float) - ORIGIN) / SPACING_MM).astype(int)


def inside(mask, p) -> bool:
    i = to_index(p)
    return bool(np.all(i >= 0) and np.all(i < SHAPE) and mask[tuple(i)])


# ----------------------------------------------------------------------------- vessel trees
def grow_tree(tree, root_start, root_end, points, radius, mask, rng, segments, parent=-1):
    """Recursive territory bisection (module docstring): appends (tree, id, parent, start, end, r)."""
    stack = [(root_start, root_end, points, radius, parent)]
    while stack:
        start, end, pts, r, par = stack.pop()
        seg_id = len(segments)
        segments.append((tree, seg_id, par, np.asarray(start, float), np.asarray(end, float), float(r)))
        if 2.0 * r < MIN_DIAMETER_MM * 1.26 or pts.shape[0] < 4:   # children would be finer than the limit
            continue
        centered = pts - pts.mean(axis=0)
        axis = np.linalg.svd(centered[:: max(1, pts.shape[0] // 2000)], full_matrices=False)[2][0]
        side = centered @ axis > rng.normal(0.0, 0.08) * np.std(centered @ axis)
        for half in (pts[side], pts[~side]):
            if half.shape[0] < 2:
                continue
            child_r = r * (half.shape[0] / pts.shape[0]) ** (1.0 / 3.0)     # Murray: Q ~ r^3
            if 2.0 * child_r < MIN_DIAMETER_MM:
                continue
            target = half.mean(axis=0)
            fraction = 0.55 + 0.15 * rng.random()
            child_end = end + fraction * (target - end)
            if not inside(mask, child_end):
                child_end = half[np.argmin(np.linalg.norm(half - child_end, axis=1))]
            if np.linalg.norm(child_end - end) < 1.0:
                continue
            stack.append((end, child_end, half, child_r, seg_id))


def vessel_trees(mask, rng):
    idx = np.argwhere(mask[::3, ::3, ::3]) * 3
    points = ORIGIN + idx * SPACING_MM + rng.uniform(-1.0, 1.0, idx.shape)
    segments: list = []
    # portal vein: trunk from below the hilum up into the liver (radius 7 mm: 14 mm trunk)
    hilum = np.array([5.0, 5.0, -25.0])
    grow_tree("portal", hilum + np.array([5.0, -5.0, -40.0]), hilum, points, 7.0, mask, rng, segments)
    # hepatic veins: three trunks draining at the IVC (superior, posterior); territories split along x
    ivc = np.array([5.0, 35.0, 40.0])
    order = np.argsort(points[:, 0])
    thirds = np.array_split(order, 3)
    for name, part, radius, offset in (("hepatic_left", thirds[0], 6.0, (-15, -5, -3)),
                                       ("hepatic_middle", thirds[1], 6.25, (0, -8, -4)),
                                       ("hepatic_right", thirds[2], 6.5, (15, -5, -3))):
        start = ivc + np.array([0.0, 0.0, 12.0])
        grow_tree(name, start, ivc + np.asarray(offset, float), points[part], radius, mask, rng, segments)
    return segments


def rasterise_segments(segments, min_diameter):
    """Label volume of segments with 2 r >= min_diameter (capsules), bool."""
    out = np.zeros(SHAPE, bool)
    for _, _, _, a, b, r in segments:
        if 2.0 * r < min_diameter:
            continue
        lo = np.maximum(to_index(np.minimum(a, b) - r - 1), 0)
        hi = np.minimum(to_index(np.maximum(a, b) + r + 1) + 1, SHAPE)
        if np.any(hi <= lo):
            continue
        axes = [ORIGIN[k] + SPACING_MM * np.arange(lo[k], hi[k]) for k in range(3)]
        g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
        ab = b - a
        t = np.clip(((g - a) @ ab) / max(ab @ ab, 1e-12), 0.0, 1.0)
        d = np.linalg.norm(g - (a + t[..., None] * ab), axis=-1)
        out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] |= d <= r
    return out


# ----------------------------------------------------------------------------- tumours
def ball(center, radius):
    x, y, z = voxel_centres()
    return (x - center[0]) ** 2 + (y - center[1]) ** 2 + (z - center[2]) ** 2 <= radius ** 2


def place_tumors(liver, segments, rng):
    depth = ndimage.distance_transform_edt(liver, sampling=SPACING_MM)   # mm below the capsule
    x, y, z = voxel_centres()
    tumors = {}
    # T1: beside a portal branch of 6-8 mm diameter, 1.5 mm gap, at least 15 mm deep
    r1 = 11.0
    for tree, _, _, a, b, r in sorted(segments, key=lambda s: -np.linalg.norm(s[4] - s[3])):
        if tree != "portal" or not 3.0 <= r <= 4.0:
            continue
        mid = 0.5 * (a + b)
        normal = np.cross(b - a, [0.3, 0.2, 1.0])
        normal /= np.linalg.norm(normal)
        center = mid + normal * (r + r1 + 1.5)
        i = to_index(center)
        if np.all(i >= 0) and np.all(i < SHAPE) and depth[tuple(i)] >= r1 + 6.0:
            tumors[11] = ball(center, r1)
            break
    # T2: an ellipsoid 3 mm under the capsule on the anterior right lobe
    surface = np.argwhere((depth > 0) & (depth <= 1.0) & (x > 40) & (y < -30) & (np.abs(z) < 20))
    p = ORIGIN + surface[rng.integers(surface.shape[0])] * SPACING_MM
    grad = np.array(np.gradient(ndimage.gaussian_filter(depth, 2.0)))[(slice(None), *to_index(p))]
    inward = grad / np.linalg.norm(grad)
    semi = np.array([13.0, 9.0, 9.0])
    center = p + inward * (semi[1] + 3.0)
    e1 = np.cross(inward, [0.0, 0.0, 1.0])
    e1 /= np.linalg.norm(e1)
    e3 = np.cross(e1, inward)
    d = np.stack([x - center[0], y - center[1], z - center[2]])
    q = (np.tensordot(e1, d, 1) / semi[0]) ** 2 + (np.tensordot(inward, d, 1) / semi[1]) ** 2 \
        + (np.tensordot(e3, d, 1) / semi[2]) ** 2
    tumors[12] = q <= 1.0
    # T3: irregular, deep in the right lobe: four balls and a rough surface
    c3 = np.array([55.0, 20.0, 5.0])
    blob = np.zeros(SHAPE, bool)
    for _ in range(4):
        blob |= ball(c3 + rng.normal(0.0, 5.0, 3), rng.uniform(7.0, 10.0))
    rough = ndimage.gaussian_filter(rng.standard_normal(SHAPE), 2.0)
    rough *= 1.5 / np.std(rough)
    blob = ndimage.gaussian_filter(blob.astype(float), 1.0) + 0.15 * rough > 0.5
    labels, n = ndimage.label(blob)
    tumors[13] = labels == (1 + int(np.argmax(ndimage.sum(blob, labels, range(1, n + 1)))))
    # T4: small sphere in the left lobe, at least 10 mm deep
    candidates = np.argwhere((depth >= 12.0) & (x < -40))
    tumors[14] = ball(ORIGIN + candidates[rng.integers(candidates.shape[0])] * SPACING_MM, 6.0)
    return {k: v & liver for k, v in tumors.items()}


# ----------------------------------------------------------------------------- writing
def affine():
    a = np.eye(4)
    a[:3, :3] *= SPACING_MM
    a[:3, 3] = ORIGIN
    return a


def write_label_map(path, labels):
    import nibabel as nib
    image = nib.Nifti1Image(labels.astype(np.uint8), affine())
    image.header.set_xyzt_units("mm", "sec")
    image.set_qform(affine(), code=1)      # scanner-anatomical RAS+
    image.set_sform(affine(), code=1)
    nib.save(image, str(path))


def region_surface(mask, smooth=1.0, reduction=0.8):
    import pyvista as pv
    padded = np.pad(ndimage.gaussian_filter(mask.astype(float), smooth), 2)
    grid = pv.ImageData(dimensions=padded.shape, spacing=(SPACING_MM,) * 3, origin=tuple(ORIGIN - 2 * SPACING_MM))
    grid.point_data["v"] = padded.ravel(order="F")
    surface = grid.contour([0.5], scalars="v", method="marching_cubes").triangulate().clean()
    if reduction:
        surface = surface.decimate(reduction).clean()
    surface = surface.compute_normals(auto_orient_normals=True, cell_normals=False, consistent_normals=True)
    return surface


def write_surface(stem, surface, stl=True, closed=True):
    if closed and surface.n_open_edges:
        raise RuntimeError(f"{stem}: surface not closed ({surface.n_open_edges} open edges)")
    surface.save(f"{stem}.vtp")
    if stl:
        surface.save(f"{stem}.stl", binary=True)


def write_centerlines(out: Path, segments):
    import pyvista as pv
    with open(out / "vessel_centerlines.csv", "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["tree", "id", "parent", "x0_mm", "y0_mm", "z0_mm", "x1_mm", "y1_mm", "z1_mm", "radius_mm"])
        for tree, i, parent, a, b, r in segments:
            w.writerow([tree, i, parent, *(f"{v:.2f}" for v in a), *(f"{v:.2f}" for v in b), f"{r:.3f}"])
    points = np.vstack([np.vstack([s[3], s[4]]) for s in segments])
    lines = np.hstack([[2, 2 * k, 2 * k + 1] for k in range(len(segments))])
    poly = pv.PolyData(points, lines=lines)
    poly.point_data["radius_mm"] = np.repeat([s[5] for s in segments], 2)
    poly.cell_data["tree"] = np.array([["portal", "hepatic_left", "hepatic_middle", "hepatic_right"].index(s[0])
                                       for s in segments])
    poly.save(out / "vessel_centerlines.vtp")


def build(out: Path) -> dict:
    rng = np.random.default_rng(SEED)
    liver, level = liver_mask(liver_field(rng))
    segments = vessel_trees(liver, rng)
    portal = rasterise_segments([s for s in segments if s[0] == "portal"], LABEL_MAP_MIN_DIAMETER_MM)
    hepatic = rasterise_segments([s for s in segments if s[0] != "portal"], LABEL_MAP_MIN_DIAMETER_MM)
    tumors = place_tumors(liver, segments, rng)
    labels = np.zeros(SHAPE, np.uint8)
    labels[liver] = LABELS["liver"]
    labels[hepatic & liver] = LABELS["hepatic_vein"]
    labels[portal] = LABELS["portal_vein"]          # the extrahepatic portal trunk is labelled too
    for value, mask in tumors.items():
        labels[mask] = value
    out.mkdir(parents=True, exist_ok=True)
    write_label_map(out / "liver_phantom.nii.gz", labels)
    write_surface(str(out / "liver"), region_surface(liver, 1.5, 0.9))
    for value, mask in tumors.items():
        write_surface(str(out / f"tumor_{value - 10}"), region_surface(mask, 0.7, 0.5))
    write_surface(str(out / "portal_vein"), region_surface(labels == LABELS["portal_vein"], 0.5, 0.5), stl=False,
                  closed=False)      # pictures only: thin branches may leave a few open edges
    write_surface(str(out / "hepatic_veins"), region_surface(labels == LABELS["hepatic_vein"], 0.5, 0.5), stl=False,
                  closed=False)
    write_centerlines(out, segments)
    voxel_ml = SPACING_MM ** 3 / 1000.0
    stats = {
        "seed": SEED, "spacing_mm": SPACING_MM, "shape": list(SHAPE), "origin_mm": ORIGIN.tolist(),
        "liver_volume_ml": float(np.count_nonzero(liver)) * voxel_ml,   # parenchyma, vessels and tumours
        "labels": {k: v for k, v in LABELS.items()},
        "tumor_names": {str(k): v for k, v in TUMOR_NAMES.items()},
        "tumor_volumes_ml": {str(k): float(np.count_nonzero(labels == k)) * voxel_ml for k in tumors},
        "segments": {t: sum(1 for s in segments if s[0] == t) for t in sorted({s[0] for s in segments})},
        "trunk_diameters_mm": {s[0]: 2 * s[5] for s in segments if s[2] == -1},
        "smallest_centerline_diameter_mm": float(min(2 * s[5] for s in segments)),
        "label_map_min_diameter_mm": LABEL_MAP_MIN_DIAMETER_MM,
        "murray_max_relative_error": murray_error(segments),
    }
    (out / "labels.json").write_text(json.dumps(stats, indent=2) + "\n")
    return stats


def murray_error(segments) -> float:
    """Largest |r0^3 - sum r_i^3| / r0^3 over the bifurcations (children that reached the limit are
    pruned, so a parent with one or no child is skipped)."""
    children: dict = {}
    for s in segments:
        children.setdefault(s[2], []).append(s[5])
    worst = 0.0
    for s in segments:
        kids = children.get(s[1], [])
        if len(kids) == 2:
            worst = max(worst, abs(s[5] ** 3 - sum(k ** 3 for k in kids)) / s[5] ** 3)
    return worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    args = parser.parse_args(argv)
    stats = build(Path(args.out))
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()

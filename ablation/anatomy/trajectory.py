"""Probe trajectories checked against the anatomy (numbers only, no files).

Along each straight needle, from its tip back towards the handle:

* the **entry**: the first point outside the organ. A percutaneous (or any) needle must reach its
  tip from outside the liver surface; a trajectory that never leaves the organ inside the image is
  refused (there is no way in). A needle that leaves the liver and re-enters it on the way out
  (through a fissure or another lobe) gets a warning;
* a tip outside the organ gets a warning (the zone then lies partly in the surroundings);
* **vessel crossings**: any vessel at least ``warn_diameter`` wide (centre-line segments, or label
  vessels with their local diameter) that the needle passes through between the entry and the tip
  gets a warning naming it, its diameter and where.
"""
from __future__ import annotations

import numpy as np

from ablation.geometry.patient import LabelVessel, PatientAnatomy

STEP = 0.5e-3          # sampling step along the needle (m)
#: A tip farther than this outside the liver is refused: its zone would treat no liver (a coordinate
#: or frame slip); closer, a tip outside the organ gets a warning (a subcapsular tumour's needle can).
MAX_TIP_OUTSIDE_LIVER = 0.02
MAX_PATH = 0.4         # how far back a needle is followed (m), beyond any abdomen


def _path_points(tip, direction, length):
    s = np.arange(0.0, length + STEP, STEP)
    return tip[:, None] - direction[:, None] * s[None, :], s


def _inside_image(anatomy: PatientAnatomy, points) -> np.ndarray:
    if anatomy.labels is None:
        lo, hi = anatomy.organ.bounds
        return np.all((points >= lo[:, None] - 0.05) & (points <= hi[:, None] + 0.05), axis=0)
    idx = anatomy.labels.to_index(points)
    return np.all((idx >= -0.5) & (idx <= np.array(anatomy.labels.shape)[:, None] - 0.5), axis=0)


def _image_box(anatomy: PatientAnatomy):
    """World box (lo, hi) that :func:`_inside_image` accepts."""
    if anatomy.labels is None:
        lo, hi = anatomy.organ.bounds
        return np.asarray(lo) - 0.05, np.asarray(hi) + 0.05
    shape = np.array(anatomy.labels.shape, float)
    corners = np.array([[i, j, k] for i in (-0.5, shape[0] - 0.5) for j in (-0.5, shape[1] - 0.5)
                        for k in (-0.5, shape[2] - 0.5)]).T
    world = anatomy.labels.affine[:3, :3] @ corners + anatomy.labels.affine[:3, 3:4]
    return world.min(axis=1), world.max(axis=1)


def check_trajectory(anatomy: PatientAnatomy, index: int, tip, direction, radius: float,
                     warn_diameter: float) -> tuple[list, list]:
    """(errors [(path, message)], warnings [str]) of probe ``index``."""
    errors, warnings = [], []
    tip = np.asarray(tip, float)
    d = np.asarray(direction, float)
    d = d / np.linalg.norm(d)
    where = f"probes[{index}]"
    points, s = _path_points(tip, d, MAX_PATH)
    in_image = _inside_image(anatomy, points)
    if not in_image[0]:
        # the anatomy describes nothing there: the zone would lie in tissue the scenario does not
        # have (and a default domain would stretch from the liver to the probe)
        lo, hi = _image_box(anatomy)
        errors.append((f"{where}.tip", f"{_mm(tip)} lies outside the anatomy's image (from {_mm(lo)} to "
                                       f"{_mm(hi)}); expected a tip inside the label map's extent, in or near "
                                       "the liver"))
        return errors, warnings
    last = int(np.argmin(in_image)) if not in_image.all() else points.shape[1]
    points, s = points[:, :last], s[:last]
    entry_s = None
    if anatomy.organ is not None and points.shape[1]:
        inside = anatomy.organ.contains(points)
        if not inside[0] and _near(anatomy.organ, tip, MAX_TIP_OUTSIDE_LIVER) is None:
            errors.append((f"{where}.tip", f"{_mm(tip)} lies more than {MAX_TIP_OUTSIDE_LIVER * 1e3:g} mm outside "
                                           "the liver; expected a tip in the liver or within "
                                           f"{MAX_TIP_OUTSIDE_LIVER * 1e3:g} mm of it (coordinates in mm, in the "
                                           "label map's world frame)"))
            return errors, warnings
        if not inside[0]:
            warnings.append(f"{where}.tip {_mm(tip)} lies outside the liver: the zone then lies partly in the "
                            "surroundings")
        outside = np.nonzero(~inside)[0]
        if outside.size == 0:
            errors.append((f"{where}.direction", f"the trajectory from the tip {_mm(tip)} back along "
                                                 f"{np.round(-d, 3).tolist()} never leaves the liver inside the "
                                                 "image: the needle has no entry from outside the liver surface; "
                                                 "expected a direction whose backward line exits the liver"))
        else:
            first_out = int(outside[0])
            entry_s = float(s[first_out])
            if inside[first_out:].any():
                again = first_out + int(np.argmax(inside[first_out:]))
                warnings.append(f"{where}: the needle leaves the liver {entry_s * 1e3:.0f} mm behind the tip at "
                                f"{_mm(points[:, first_out])} and passes through liver again "
                                f"{s[again] * 1e3:.0f} mm behind the tip: check the entry")
    if not anatomy.vessels_removed:
        span = entry_s if entry_s is not None else (float(s[-1]) if s.size else 0.0)
        path = points[:, s <= span + 1e-12] if s.size else points
        warnings += _crossings(anatomy, where, path, radius, warn_diameter)
    return errors, warnings


def _near(organ, point, limit: float) -> float | None:
    """Distance (m) from ``point`` to the nearest voxel centre of ``organ`` (a VoxelMask), when at
    most ``limit``; None beyond it. Only the voxels in a box of that reach are looked at."""
    centre = np.rint(organ.to_index(np.asarray(point, float)[:, None])[:, 0]).astype(int)
    reach = np.ceil(limit / np.min(organ.spacing)).astype(int) + 1
    lo = np.maximum(centre - reach, 0)
    hi = np.minimum(centre + reach + 1, np.array(organ.mask.shape))
    if np.any(hi <= lo):
        return None
    found = np.argwhere(organ.mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]])
    if found.size == 0:
        return None
    distance = float(np.min(np.linalg.norm(organ.to_world((found + lo).T) - np.asarray(point, float)[:, None], axis=0)))
    return distance if distance <= limit else None


def _crossings(anatomy: PatientAnatomy, where: str, path: np.ndarray, radius: float, warn_diameter: float) -> list:
    out = []
    if path.shape[1] == 0:
        return out
    lo, hi = path.min(axis=1) - 0.02, path.max(axis=1) + 0.02
    for tree in anatomy.trees:
        part = tree.within(lo, hi, warn_diameter)
        if not part.count:
            continue
        dist, which = part._distances(path, radius)
        hit = dist <= radius
        for i in np.unique(which[hit]):
            k = int(np.argmax(hit & (which == i)))
            out.append(f"{where}: the needle crosses {tree.name} (a {2e3 * part.radii[i]:.1f} mm vessel, "
                       f"at least the {warn_diameter * 1e3:g} mm of anatomy.crossing_warning_diameter) at "
                       f"{_mm(path[:, k])}")
    if anatomy.labels is not None:
        values = anatomy.labels.lookup(path)
        for name, labels in anatomy.vessel_labels:
            hit = np.isin(values, labels)
            if not hit.any():
                continue
            k = int(np.argmax(hit))
            box = (path[:, k] - 0.015, path[:, k] + 0.015)
            vessel = LabelVessel.from_region(anatomy.labels.region(labels, name, box=box))
            diameter = 2.0 * float(vessel.local_radius(path[:, k:k + 1])[0])
            if diameter >= warn_diameter:
                out.append(f"{where}: the needle crosses {name} (label {', '.join(map(str, labels))}, about "
                           f"{diameter * 1e3:.1f} mm wide, at least the {warn_diameter * 1e3:g} mm of "
                           f"anatomy.crossing_warning_diameter) at {_mm(path[:, k])}")
    return out


def _mm(point) -> str:
    return "[" + ", ".join(f"{v * 1e3:.1f}" for v in np.asarray(point, float)) + "] mm"

"""From a scenario's ``[anatomy]`` section (a loaded record) to a
:class:`ablation.geometry.patient.PatientAnatomy`: the files read, the labels checked, the tumours
and the liver made into shapes. Every problem is reported as (field path, message) naming the file
or the label, never raised at the user."""
from __future__ import annotations

import numpy as np

from ablation.anatomy.centerlines import read_centerlines
from ablation.anatomy.errors import AnatomyError
from ablation.anatomy.label_maps import read_label_map
from ablation.anatomy.surfaces import read_surface, voxelise_surface
from ablation.geometry.patient import PatientAnatomy
from ablation.physics.vessel_wall import murray_flow


def load_anatomy(section, resolve, errors: list):
    """(PatientAnatomy or None, [(name, shape, material, properties index or None)] of the tumours
    to add to the scenario). ``resolve(path, field)`` returns the checked path of a file the
    section names (raising AnatomyError)."""
    labels = None
    sources = {}

    def read(field, reader, name):
        try:
            path = resolve(name, field)
            sources[field] = str(name)
            return reader(path)
        except AnatomyError as exc:
            errors.append((f"anatomy.{field}", str(exc)))
            return None

    if section.label_map is not None:
        labels = read("label_map", read_label_map, section.label_map)
    if section.tumor_label_map is not None:
        if section.label_map is None:
            errors.append(("anatomy.tumor_label_map", "given without anatomy.label_map; expected both (the "
                                                      "tumour map must share the label map's grid)"))
        tumor_map = read("tumor_label_map", read_label_map, section.tumor_label_map)
        if labels is not None and tumor_map is not None:
            differs = labels.same_grid(tumor_map)
            if differs:
                errors.append(("anatomy.tumor_label_map",
                               f"{section.tumor_label_map}: its grid does not match anatomy.label_map "
                               f"{section.label_map}: {differs}; expected the same shape, spacing, orientation "
                               "and origin (resample it in 3D Slicer onto the label map)"))
            else:
                merged = labels.labels.copy()
                merged[tumor_map.labels > 0] = tumor_map.labels[tumor_map.labels > 0]
                labels = type(labels)(merged, labels.affine, labels.source)
    if errors:
        return None, []

    present = set(labels.present()) if labels is not None else set()
    label_file = section.label_map

    def check_labels(field, values):
        missing = [v for v in values if v not in present]
        if missing:
            errors.append((f"anatomy.{field}", f"label(s) {', '.join(map(str, missing))} hold no voxel in "
                                               f"{label_file} (labels present: "
                                               f"{', '.join(map(str, sorted(present)))}); an empty label "
                                               "cannot be used"))
            return False
        return True

    organ = None
    if labels is not None:
        if section.liver is None:
            errors.append(("anatomy.liver", f"missing: the label table must name the liver's labels in "
                                            f"{label_file}, e.g. liver = [1, 2, 3] (every label inside the "
                                            "organ: parenchyma, vessels, tumours)"))
        elif check_labels("liver", section.liver):
            organ = labels.region(section.liver, "liver")
    if section.liver_surface is not None:
        if organ is not None:
            errors.append(("anatomy.liver_surface", "given together with anatomy.liver labels; expected one"))
        mesh = read("liver_surface", read_surface, section.liver_surface)
        if mesh is not None:
            organ = _voxelised(mesh, section.surface_voxel, "liver", "liver_surface", errors)

    _check_label_roles(section, errors)
    tumors = []
    named = []          # (field, how a message names it) of each tumour in ``tumors``
    for i, entry in enumerate(section.tumors or ()):
        if labels is None:
            errors.append((f"anatomy.tumors[{i}].label", "a tumour label needs anatomy.label_map"))
            continue
        if check_labels(f"tumors[{i}].label", [entry.label]):
            name = entry.name or f"tumour label {entry.label}"
            tumors.append((name, labels.region([entry.label], name), entry.material))
            named.append((f"anatomy.tumors[{i}].label", f"label {entry.label}"))
    for i, entry in enumerate(section.tumor_surfaces or ()):
        mesh = read(f"tumor_surfaces[{i}].file", read_surface, entry.file)
        if mesh is not None:
            name = entry.name or f"tumour surface {i + 1}"
            shape = _voxelised(mesh, section.surface_voxel, name, f"tumor_surfaces[{i}].file", errors)
            if shape is not None:
                tumors.append((name, shape, entry.material))
                named.append((f"anatomy.tumor_surfaces[{i}].file", str(entry.file)))

    vessel_labels = []
    for i, entry in enumerate(section.vessels or ()):
        if labels is None:
            errors.append((f"anatomy.vessels[{i}].label", "a vessel label needs anatomy.label_map"))
        elif check_labels(f"vessels[{i}].label", [entry.label]):
            vessel_labels.append((entry.name or f"vessel label {entry.label}", (entry.label,)))
    trees = ()
    if section.centerlines is not None:
        trees = read("centerlines", read_centerlines, section.centerlines) or ()
        trees = tuple(_with_flow(t, section.wall_shear_stress) for t in trees)
    for (field, subject), (_, shape, _) in zip(named, tumors):
        if (problem := lumen_problem(shape, subject, trees, section.centerlines)) is not None:
            errors.append((field, problem))
        elif organ is not None and (problem := organ_problem(shape, subject, organ)) is not None:
            errors.append((field, problem))
    errors.extend(overlap_problems(named, [shape for _, shape, _ in tumors]))
    if organ is None and not tumors and not errors:
        errors.append(("anatomy", "names neither a liver nor a tumour; expected label_map with liver = [...] "
                                  "(or liver_surface) and tumours"))
    if errors:
        return None, []
    anatomy = PatientAnatomy(organ=organ, labels=labels, trees=trees, vessel_labels=tuple(vessel_labels),
                             surroundings=section.surroundings, vessel_min_diameter=section.vessel_min_diameter,
                             heated_length=section.heated_length, wall_shear_stress=section.wall_shear_stress,
                             sources=sources)
    return anatomy, tumors


def _check_label_roles(section, errors: list) -> dict:
    """Each label has one role: a voxel cannot be both tumour and blood-temperature vessel, a label
    listed twice would count its voxels twice, and a tumour outside the liver's labels would take
    the surroundings' properties and lie outside the capsule its margins are measured to. Returns
    {label: the field that names it} (:func:`label_role_problem` checks further tumours with it)."""
    first = {}
    liver = list(section.liver or ())
    twice = sorted({label for label in liver if liver.count(label) > 1})
    if twice:
        errors.append(("anatomy.liver", f"{liver} names label {', '.join(map(str, twice))} more than once; expected "
                                        "each label once"))
    for role in ("tumors", "vessels"):
        for i, entry in enumerate(getattr(section, role) or ()):
            field = f"anatomy.{role}[{i}].label"
            if entry.label in first:
                errors.append((field, f"label {entry.label} is already {first[entry.label]}; expected each label "
                                      "once, as either a tumour or a vessel"))
            else:
                first[entry.label] = field
    for i, entry in enumerate(section.tumors or ()):
        problem = _outside_liver(section, entry.label)
        if problem:
            errors.append((f"anatomy.tumors[{i}].label", problem))
    return first


def _outside_liver(section, label) -> str | None:
    if section.liver is None or label in section.liver:
        return None
    return (f"label {label} is not among anatomy.liver {list(section.liver)}; expected a tumour inside the liver: "
            "add its label to anatomy.liver (every label inside the organ: parenchyma, vessels, tumours)")


def label_role_problem(section, label) -> str | None:
    """Why a further tumour label (a [[tumors]] entry of shape 'label') cannot be one, or None."""
    roles = _check_label_roles(section, [])
    if label in roles:
        return f"label {label} is already {roles[label]}; expected each label once, as either a tumour or a vessel"
    return _outside_liver(section, label)


# A tumour's segmentation leaves out the lumen of the vessels that run through it. On the shipped
# phantom (meshes/make_phantom.py) 14-28 % of each tumour label's voxels lie within half a voxel
# diagonal of a centre-line capsule (thin branches cross the tumours), and 100 % of each vessel
# label's: a "tumour" that is mostly lumen is a vessel's label listed by mistake.
MAX_TUMOUR_LUMEN_FRACTION = 0.5


# Voxels of a tumour compared with the centre lines: an even subset beyond this many.
MAX_LUMEN_POINTS = 100_000


def lumen_problem(shape, subject: str, trees, centerlines_file) -> str | None:
    """Why a tumour ``shape`` (a VoxelMask: a label's region or a voxelised surface, named by
    ``subject``) cannot be one because the centre-line vessels fill most of it, or None. Needed
    because with the vessels given as centre lines nothing else says that a label or a surface is
    a vessel's."""
    if not trees:
        return None
    points = shape.to_world(np.argwhere(shape.mask).T)
    fraction = _lumen_fraction(points, 0.5 * float(np.linalg.norm(shape.spacing)), trees)
    if fraction <= MAX_TUMOUR_LUMEN_FRACTION:
        return None
    return (f"{subject}: {100 * fraction:.0f} % of its volume lies inside the vessels of anatomy.centerlines "
            f"{centerlines_file}; expected a tumour, mostly tissue (at most {100 * MAX_TUMOUR_LUMEN_FRACTION:.0f} % "
            "lumen): is it a vessel's?")


#: A tumour holding more than this share of the liver's volume is not one an ablation treats (the
#: largest ablated metastases are about 5 cm, 65 mL, against a liver of 1.2-1.8 L): it is the
#: parenchyma's label, or the liver's surface, given as a tumour.
MAX_TUMOUR_LIVER_FRACTION = 0.5
#: Two tumours sharing more than this share of the smaller one are one tumour listed twice.
MAX_TUMOUR_OVERLAP = 0.5


def organ_problem(shape, subject: str, organ) -> str | None:
    """Why a tumour ``shape`` (VoxelMask) cannot be one because it fills most of the liver ``organ``
    (VoxelMask), or None."""
    fraction = shape.volume / organ.volume if organ.volume > 0 else 0.0
    if fraction <= MAX_TUMOUR_LIVER_FRACTION:
        return None
    return (f"{subject}: {shape.volume * 1e6:.4g} mL, {100 * fraction:.0f} % of the liver's {organ.volume * 1e6:.4g} "
            f"mL; expected a tumour of at most {100 * MAX_TUMOUR_LIVER_FRACTION:.0f} % of it: is it the liver's "
            "own label or surface?")


def overlap_problems(named: list, shapes: list, filling=None) -> list:
    """(field, message) for each tumour that shares most of itself, or of an earlier one, with that
    earlier one: the same region listed twice (two names, a label and its surface, a small sphere
    written inside a large one) would count twice in every probability. ``filling(shape)``: points
    (3, n; m) filling a shape (default: a voxel shape's voxel centres)."""
    if filling is None:
        def filling(shape):
            return shape.to_world(np.argwhere(shape.mask).T)
    points = [filling(shape) for shape in shapes]

    def share(outer, inner) -> float:
        return float(np.mean(shapes[outer].contains(points[inner]))) if points[inner].size else 0.0
    out = []
    for j in range(len(shapes)):
        for i in range(j):
            j_in_i, i_in_j = share(i, j), share(j, i)
            if max(j_in_i, i_in_j) > MAX_TUMOUR_OVERLAP:
                what = (f"{100 * j_in_i:.0f} % of it lies inside {named[i][1]} ({named[i][0]})" if j_in_i >= i_in_j
                        else f"{100 * i_in_j:.0f} % of {named[i][1]} ({named[i][0]}) lies inside it")
                out.append((named[j][0], f"{named[j][1]}: {what}; expected separate tumours (at most "
                                         f"{100 * MAX_TUMOUR_OVERLAP:.0f} % of the smaller shared): is it the same "
                                         "tumour listed twice?"))
                break
    return out


def _lumen_fraction(points: np.ndarray, tolerance: float, trees) -> float:
    """The fraction of ``points`` (3, n; m) within ``tolerance`` of a centre-line capsule: each
    segment's exact distance only to the points in the ball around it (a k-d tree of the points;
    testing every point against every segment's box took 25 s for a vein surface's voxels)."""
    from scipy.spatial import cKDTree
    if points.shape[1] > MAX_LUMEN_POINTS:
        points = points[:, np.linspace(0, points.shape[1] - 1, MAX_LUMEN_POINTS).astype(int)]
    lo, hi = points.min(axis=1), points.max(axis=1)
    search = cKDTree(points.T)
    inside = np.zeros(points.shape[1], bool)
    for tree in trees:
        nearby = tree.within(lo - tolerance, hi + tolerance)
        if not nearby.count:
            continue
        centres = 0.5 * (nearby.starts + nearby.ends)
        reach = 0.5 * np.linalg.norm(nearby.ends - nearby.starts, axis=1) + nearby.radii + tolerance
        for i, near in enumerate(search.query_ball_point(centres, reach)):
            if near:
                near = np.asarray(near)
                inside[near[nearby.segment(i).signed_distance(points[:, near]) <= tolerance]] = True
    return float(inside.mean())


def _voxelised(mesh, spacing, name, field, errors):
    try:
        return voxelise_surface(mesh, spacing, name)
    except AnatomyError as exc:
        errors.append((f"anatomy.{field}", str(exc)))
        return None


def _with_flow(tree, wall_shear_stress):
    """Segments without a flow take the Murray-law flow (:func:`ablation.physics.vessel_wall.murray_flow`)."""
    flows = np.where(np.isnan(tree.flows), murray_flow(tree.radii, wall_shear_stress), tree.flows)
    return type(tree)(tree.name, tree.starts, tree.ends, tree.radii, flows, tree.reach)

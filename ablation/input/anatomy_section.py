"""The ``[anatomy]`` scenario table: a patient's liver, tumours and vessels from a label map (with its
label table) or from surfaces, and vessel centre lines with their radius; and how a loaded
scenario takes them in (docs/anatomy.md).

Its files are read when the scenario is loaded, from the scenario's folder or the shipped
``meshes/`` folder (like every data file, :func:`ablation.input.probe_curves.resolve_input`), so a
missing label, an empty tumour label, a grid mismatch, an open surface, a centre line without radius
or a damaged file stops ``ablation validate``/``run`` with exit 2 naming the file or label.
"""
from __future__ import annotations

import numpy as np

from ablation.anatomy.errors import AnatomyError
from ablation.anatomy.loading import label_role_problem, load_anatomy, lumen_problem
from ablation.anatomy.trajectory import check_trajectory
from ablation.input.probe_curves import InputFileError, resolve_input
from ablation.input.schema import Boolean, Choice, Integer, ListOf, Number, Quantity, String, Table
from ablation.physics.tissue import PRESETS
from ablation.physics.vessel_wall import HEATED_LENGTH, WALL_SHEAR_STRESS
from ablation.run.setup import tumor_name, tumor_surface_points

LABEL_TUMOR = Table("a tumour given by its label in the label map", fields={
    "label": Integer("its label value", minimum=1),
    "name": String("label used in reports", None, nullable=True, nonempty=True),
    "material": Boolean("true: a material region with the 'tumor' preset's properties; false: passive", False),
})
LABEL_VESSEL = Table("a vessel given by its label in the label map", fields={
    "label": Integer("its label value", minimum=1),
    "name": String("label used in reports", None, nullable=True, nonempty=True),
})
SURFACE_TUMOR = Table("a tumour given by a closed surface (STL, VTP or OBJ, mm, scenario frame)", fields={
    "file": String("surface file (relative to the scenario file)"),
    "name": String("label used in reports", None, nullable=True, nonempty=True),
    "material": Boolean("true: a material region with the 'tumor' preset's properties; false: passive", False),
})

ANATOMY_SECTION = Table("patient anatomy from a label map or surfaces (docs/anatomy.md): the liver (its surface "
                        "is the capsule and the boundary to the surroundings), tumours of any shape, vessels with "
                        "a size- and flow-dependent wall heat sink. Scenario coordinates are the image's world "
                        "frame (RAS+, mm, as nibabel and 3D Slicer show them)", {}, fields={
    "label_map": String("label map file, NIfTI (.nii, .nii.gz) or NRRD (.nrrd), relative to the scenario file",
                        None, nullable=True),
    "tumor_label_map": String("a separate tumour label map on the same grid (its non-zero labels win)", None,
                              nullable=True),
    "liver": ListOf("labels that make up the liver (parenchyma, and the vessels and tumours inside it)", None,
                    item=Integer(minimum=1), min_items=1),
    "tumors": ListOf("tumours by label; each becomes a tumour of the scenario (coverage, margins, exports)", [],
                     item=LABEL_TUMOR),
    "vessels": ListOf("vessels by label (held at blood temperature behind a convective wall)", [],
                      item=LABEL_VESSEL),
    "centerlines": String("vessel centre lines with radius: CSV (x0_mm..z1_mm, radius_mm, optional flow_ml_min and tree) "
                          "or VTP with a radius_mm point array", None, nullable=True),
    "liver_surface": String("the liver as a closed surface (STL, VTP, OBJ; mm) instead of labels", None,
                            nullable=True),
    "tumor_surfaces": ListOf("tumours as closed surfaces", [], item=SURFACE_TUMOR),
    "surface_voxel": Quantity("voxel size at which surfaces are voxelised", "0.5 mm", dimension="length",
                              minimum=0.0, exclusive_minimum=True),
    "surroundings": Choice("property preset outside the liver surface: 'fat' (perihepatic fat and abdominal "
                           "wall, IT'IS values; assumption: the liver borders fat and diaphragm) or any other "
                           "preset ('liver' makes the capsule thermally invisible)", "fat",
                           options=tuple(k for k in PRESETS if k != "tumour")),
    "vessel_min_diameter": Quantity("vessels thinner than this are left to the perfusion term (assumption: "
                                    "the 2 mm a 1 mm label map resolves)", "2 mm", dimension="length",
                                    minimum=0.0),
    "crossing_warning_diameter": Quantity("a needle crossing a vessel at least this wide gets a warning "
                                          "(assumption: 3 mm, the size from which vessels are avoided and "
                                          "cause heat sinks, Lu et al. 2003)", "3 mm", dimension="length",
                                          minimum=0.0, exclusive_minimum=True),
    "heated_length": Quantity(f"heated vessel length L in the Graetz number of the wall correlation "
                              f"({HEATED_LENGTH[1]})", "30 mm", dimension="length", minimum=0.0,
                              exclusive_minimum=True),
    "wall_shear_stress": Number(f"wall shear stress of the Murray-law flow of vessels without a given flow "
                                f"[Pa] ({WALL_SHEAR_STRESS[1]})", WALL_SHEAR_STRESS[0], minimum=0.0,
                                exclusive_minimum=True),
})


def apply_anatomy(scenario, errors: list, source: str | None):
    """The scenario with its ``[anatomy]`` resolved: label and surface tumours added to ``tumors``
    (shape 'label', centred on their centroid), the resolved anatomy at ``anatomy.resolved``, probe
    trajectories checked (errors here, warnings in ``resolved.notes``)."""
    section = scenario.get("anatomy")
    if section is None:
        for i, t in enumerate(scenario.tumors):
            if t.shape == "label":
                errors.append((f"tumors[{i}].shape", "'label' needs an [anatomy] section with a label_map"))
        return scenario

    def resolve(name, field):
        try:
            return resolve_input(name, source, error=InputFileError)
        except InputFileError as exc:
            raise AnatomyError(str(exc)) from None

    anatomy, new_tumors = load_anatomy(section, resolve, errors)
    if anatomy is None:
        return scenario
    tumors = list(scenario.tumors)
    shapes = {}
    written = {}        # label -> the [[tumors]] entry that names it
    for i, t in enumerate(tumors):           # [[tumors]] shape = "label" written in the file
        if t.shape != "label":
            continue
        if t.label is not None and t.label in written:
            errors.append((f"tumors[{i}].label", f"label {t.label} is already tumors[{written[t.label]}].label; "
                                                  "expected each label once"))
            continue
        written.setdefault(t.label, i)
        if t.label is None:
            errors.append((f"tumors[{i}].label", "missing; shape 'label' needs the tumour's label value"))
        elif anatomy.labels is None or t.label not in anatomy.labels.present():
            errors.append((f"tumors[{i}].label", f"label {t.label} holds no voxel in anatomy.label_map "
                                                  f"{section.label_map}; an empty label cannot be a tumour"))
        elif (problem := label_role_problem(section, t.label)) is not None:
            errors.append((f"tumors[{i}].label", problem))
        else:
            shape = anatomy.labels.region([t.label], tumor_name(t, i))
            if (problem := lumen_problem(shape, f"label {t.label}", anatomy.trees, section.centerlines)) is not None:
                errors.append((f"tumors[{i}].label", problem))
                continue
            shapes[i] = shape
            tumors[i] = t.replaced(center=tuple(float(c) for c in shape.center))
    if anatomy.organ is not None:
        for i, t in enumerate(tumors):
            if t.shape in ("sphere", "ellipsoid") and (t.diameter is not None or t.diameters is not None):
                points = np.hstack([np.asarray(t.center, float)[:, None], tumor_surface_points(t)])
                if not anatomy.organ.contains(points).any():
                    errors.append((f"tumors[{i}].center", f"{[round(c * 1e3, 3) for c in t.center]} mm: the tumour "
                                   "lies wholly outside the liver of the [anatomy] section; expected a tumour in the "
                                   "liver (coordinates in mm, in the label map's world frame)"))
    template = _label_tumor_template()
    for name, shape, material in new_tumors:
        shapes[len(tumors)] = shape
        tumors.append(template.replaced(name=name, center=tuple(float(c) for c in shape.center),
                                        material=bool(material)))
    notes = []
    for i, probe in enumerate(scenario.probes):
        found, warnings = check_trajectory(anatomy, i, probe.tip, probe.direction, probe.diameter / 2.0,
                                           section.crossing_warning_diameter)
        errors.extend(found)
        notes.extend(warnings)
    from dataclasses import replace
    anatomy = replace(anatomy, tumor_shapes=shapes, notes=tuple(notes))
    return scenario.replaced(tumors=tuple(tumors), anatomy=section.replaced(resolved=anatomy))


def _label_tumor_template():
    from ablation.input.sections import TUMOR
    errors: list = []
    record = TUMOR.load({"center": [0, 0, 0], "shape": "label"}, "tumors[]", errors)
    assert not errors, errors
    return record


def label_tumor_extent(scenario, index: int):
    """World box (lo, hi) of a label tumour (m), or None."""
    section = scenario.get("anatomy")
    resolved = section.get("resolved") if section is not None else None
    if resolved is None or index not in resolved.tumor_shapes:
        return None
    lo, hi = resolved.tumor_shapes[index].bounds
    return np.asarray(lo), np.asarray(hi)

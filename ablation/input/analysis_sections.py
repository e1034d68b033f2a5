"""Scenario tables of the analyses that follow a solve: [coverage] (tumour coverage and margins)
and [placement] (the approach's error model and the placement Monte Carlo), with their checks."""
from __future__ import annotations

import numpy as np

from ablation.input.plausibility import MAX_ANGULAR_SIGMA, MAX_PLACEMENT_SAMPLES, MAX_PLACEMENT_SIGMA
from ablation.input.schema import Boolean, Choice, Integer, ListOf, Quantity, String, Table, Vector
from ablation.outcome.coverage import DEFAULT_MARGINS
from ablation.outcome.placement import APPROACHES, PRESETS
from ablation.outcome.placement.error_models import DEFAULT_PRESET_SET, PRESET_SETS
from ablation.physics.damage import parse_criterion
from ablation.run.setup import tumor_radii

# ----------------------------------------------------------------------------------------- coverage
CAPSULE = Table("liver capsule, for excluding tumour-surface points next to it from the minimal margin",
                {}, fields={
    "shape": Choice("'none'; 'plane' (point + outward normal); 'sphere' (the liver as a ball: centre + radius)",
                    "none", options=("none", "plane", "sphere")),
    "point": Vector("a point on the capsule plane [x, y, z]", None),
    "normal": Vector("outward normal of the capsule plane (pointing out of the liver)", None, unit="1",
                     nonzero=True),
    "center": Vector("centre of the liver sphere [x, y, z]", None),
    "radius": Quantity("radius of the liver sphere", None, dimension="length", minimum=0.0,
                       exclusive_minimum=True, nullable=True),
    "exclusion": Quantity("tumour-surface points closer than this to the capsule are excluded from the "
                          "minimal margin (artorg-unibe-ch/qam uses 5 mm)", "5 mm", dimension="length",
                          minimum=0.0),
})

COVERAGE_SECTION = Table("coverage and margin metrics of every tumour (docs/physics.md 5)", {}, fields={
    "criteria": ListOf("lesion criteria to evaluate (default: the run's lesion criterion); the first is "
                       "reported at tumors[i], all under tumors[i].by_criterion", None, item=String()),
    "margins": ListOf("margins for margin coverage, besides the 5 and 10 mm always reported", list(DEFAULT_MARGINS),
                      item=Quantity(dimension="length", minimum=0.0, exclusive_minimum=True, maximum=0.05,
                                    bound_reason="margins reported are 5-10 mm; no ablation reaches 50 mm around "
                                    "a tumour, so more is a unit slip")),
    "points": Integer("evaluation points inside each tumour (scrambled Halton, uniform by volume) [count]",
                      8192, minimum=1000),
    "margin_points": Integer("evaluation points in the region up to the largest margin around each tumour, "
                             "split evenly over its 1 mm shells [count]", 20480, minimum=1000),
    "surface_points": Integer("tumour-surface points for the minimal margin (Fibonacci lattice) [count]",
                              20000, minimum=100),
    "raster_refinement": Integer("raster steps per grid cell for locating the lesion boundary [count]", 4,
                                 minimum=1, maximum=16),
    "capsule": CAPSULE,
    "enabled": Boolean("compute coverage metrics after a run", True),
})


def check_coverage(scenario, errors) -> None:
    """Cross-field rules of ``[coverage]``: criteria parse, capsule fields present for its shape."""
    section = scenario.get("coverage")
    if section is None:
        return
    for i, name in enumerate(section.criteria or ()):
        try:
            parse_criterion(name)
        except ValueError as exc:
            errors.append((f"coverage.criteria[{i}]", str(exc)))
        if name in (section.criteria or ())[:i]:
            errors.append((f"coverage.criteria[{i}]", f"{name!r} is given twice; expected each criterion once"))
    capsule = section.capsule
    if capsule.shape == "plane":
        for key in ("point", "normal"):
            if capsule[key] is None:
                errors.append((f"coverage.capsule.{key}", "missing; shape = 'plane' needs point and normal"))
    elif capsule.shape == "sphere":
        for key in ("center", "radius"):
            if capsule[key] is None:
                errors.append((f"coverage.capsule.{key}", "missing; shape = 'sphere' needs center and radius"))
    _check_tumours_inside_capsule(capsule, scenario.tumors, errors)


def _check_tumours_inside_capsule(capsule, tumors, errors) -> None:
    """The capsule bounds the liver: a tumour centred outside it, or larger than a spherical liver,
    has no liver around it to measure a margin in."""
    for i, tumor in enumerate(tumors):
        if tumor.get("center") is None:
            continue
        c = np.asarray(tumor.center, float)
        if capsule.shape == "plane" and capsule.point is not None and capsule.normal is not None:
            normal = np.asarray(capsule.normal, float)
            if float((c - np.asarray(capsule.point, float)) @ normal) > 0.0:
                errors.append(("coverage.capsule.normal", f"tumour {i}'s centre lies outside the capsule plane "
                                                          f"(on the side {list(capsule.normal)} points to); expected "
                                                          "the outward normal of a liver the tumours lie in"))
                return
        elif capsule.shape == "sphere" and capsule.center is not None and capsule.radius is not None:
            reach = float(np.linalg.norm(c - np.asarray(capsule.center, float)))
            if reach > capsule.radius:
                errors.append(("coverage.capsule.radius", f"{capsule.radius * 1e3:g} mm leaves tumour {i}'s centre "
                                                          f"{reach * 1e3:.1f} mm from the sphere's centre outside "
                                                          "the liver; expected a liver sphere around the tumours"))
                return
            size = float(np.max(tumor_radii(tumor))) if tumor.shape in ("sphere", "ellipsoid") else 0.0
            if capsule.radius < size:
                errors.append(("coverage.capsule.radius", f"{capsule.radius * 1e3:g} mm is smaller than tumour {i} "
                                                          f"(radius {size * 1e3:g} mm); expected a liver sphere "
                                                          "larger than its tumours"))
                return


# ----------------------------------------------------------------------------------------- placement
INSERTION = Table("a further insertion of the first probe's device (repositioning)", fields={
    "tip": Vector("planned tip position [x, y, z]"),
    "direction": Vector("planned direction from handle to tip (default: the first probe's)", None, unit="1",
                        nonzero=True),
})

PLACEMENT_SECTION = Table("placement approach, its error model and the placement Monte Carlo (docs/physics.md 4)", {}, fields={
    "approach": Choice("open, laparoscopic or percutaneous: picks the preset error model", "percutaneous",
                       options=APPROACHES),
    "error_presets": Choice("named set of the approaches' tip-error presets: 'assumed-2026.11' (the "
                            "default) or 'literature-proxy-2026.12' (docs/physics.md 4)", DEFAULT_PRESET_SET,
                            options=tuple(PRESET_SETS)),
    "sigma_along": Quantity("standard deviation of the tip error along the probe axis (default: the "
                            "approach preset)", None, dimension="length", minimum=0.0, nullable=True,
                            maximum=MAX_PLACEMENT_SIGMA[0], bound_reason=MAX_PLACEMENT_SIGMA[1]),
    "sigma_across": Quantity("standard deviation of the tip error per axis across the probe (default: the "
                             "approach preset)", None, dimension="length", minimum=0.0, nullable=True,
                             maximum=MAX_PLACEMENT_SIGMA[0], bound_reason=MAX_PLACEMENT_SIGMA[1]),
    "angular_sigma": Quantity("standard deviation of the tilt about the displaced tip, per axis across the "
                              "probe (default: the preset, 0), at most 90 deg", None, dimension="angle", minimum=0.0,
                              nullable=True, maximum=MAX_ANGULAR_SIGMA[0], bound_reason=MAX_ANGULAR_SIGMA[1]),
    "pringle": Boolean("inflow occlusion during the ablation: perfusion 0, no vessel wall cooling (open "
                       "and laparoscopic only)", False),
    "samples": Integer("placement-error samples [count]", 2000, minimum=1, maximum=MAX_PLACEMENT_SAMPLES),
    "seed": Integer("seed of the standard-normal draws, common to all approaches [integer]", 12345, minimum=0),
    "method": Choice("auto (move_tumor for an axisymmetric single probe, else rigid_shift; resolve with "
                     "insertions), move_tumor, rigid_shift or resolve", "auto",
                     options=("auto", "move_tumor", "rigid_shift", "resolve")),
    "resolve_samples": Integer("at most this many samples are re-solved by the 'resolve' method and by "
                               "insertion sequences, each a full solve [count]", 32, minimum=1),
    "resolve_check": Integer("samples re-solved to measure the move_tumor error for a material tumour "
                             "[count]", 2, minimum=0),
    "surface_points": Integer("tumour-surface points per sample for the minimal margin [count]", 1024,
                              minimum=64),
    "workers": Integer("local worker processes for re-solved samples [count]", 2, minimum=1),
    "insertions": ListOf("further insertions after the first, run one after another (3-D)", [], item=INSERTION),
    "gap": Quantity("time between insertions, probe withdrawn, tissue cooling", "2 min", dimension="time",
                    minimum=0.0),
    "enabled": Boolean("run the placement Monte Carlo after a run", True),
})


def check_placement(scenario, errors) -> None:
    p = scenario.get("placement")
    if p is None:
        return
    if p.pringle and not PRESETS[p.approach]["pringle_available"][0]:
        errors.append(("placement.pringle", f"true is not possible with approach {p.approach!r}; expected "
                                            "false, or approach 'open' or 'laparoscopic'"))
    if p.insertions and not scenario.probes:
        errors.append(("placement.insertions", "given but the scenario has no probe; expected [[probes]]"))
    if p.method == "move_tumor" and scenario.probes and len(scenario.probes) != 1:
        errors.append(("placement.method", "'move_tumor' needs exactly one probe; expected 'rigid_shift' or "
                                           "'resolve'"))

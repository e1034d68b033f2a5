"""From a scenario to the grid it is solved on: where the domain sits, which kind of grid the
geometry allows, and the shapes of its probes, tumours and vessels (the geometry layer takes shapes,
not scenario records)."""
from __future__ import annotations

import math

import numpy as np

from ablation.geometry.grid import Domain, GridSpacing, build_domain, mark_anatomy
from ablation.geometry.shapes import Ellipsoid, Probe, Segment, Shape, orthonormal_frame, unit
from ablation.modalities import rfa


#: The default domain reaches this far beyond the expected zone (the bounding box of the probes'
#: active parts and the tumours) on every side, and is never smaller than domain.size's schema
#: default (80 mm). A first guess: the solve checks the boundary and the pipeline grows the domain
#: when the temperature next to it deviates by more than domain.boundary_tolerance.
ZONE_MARGIN = 25e-3


def size_is_default(scenario) -> bool:
    """True when the scenario's table leaves domain.size out (the pipeline may then size and grow
    the domain); a scenario without a table counts as fixed."""
    raw = getattr(scenario, "raw", None)
    if not isinstance(raw, dict):
        return False
    table = raw.get("domain")
    return not (isinstance(table, dict) and table.get("size") is not None)


def expected_zone(scenario) -> tuple[np.ndarray, np.ndarray] | None:
    """Bounding box (m) of the probes' active parts (deployed multitine arrays included) and the
    tumours: where the lesion is expected. None without probes and tumours."""
    lows, highs = [], []
    for p in scenario.probes:
        tip = np.asarray(p.tip, float)
        end = tip - unit(p.direction) * p.active_length
        reach = p.diameter / 2.0
        rfa_spec = p.get("rfa") if hasattr(p, "get") else None
        if rfa_spec is not None and rfa_spec.electrode == "multitine":
            reach = max(reach, rfa_spec.deployed_diameter / 2.0)
        lows.append(np.minimum(tip, end) - reach)
        highs.append(np.maximum(tip, end) + reach)
    for i, t in enumerate(scenario.tumors):
        shape = label_shape(scenario, i)
        if shape is not None:
            lows.append(np.asarray(shape.bounds[0]))
            highs.append(np.asarray(shape.bounds[1]))
            continue
        if t.shape in ("sphere", "ellipsoid") and (t.diameter if t.shape == "sphere" else t.diameters) is not None:
            r = float(np.max(tumor_radii(t)))
            lows.append(np.asarray(t.center, float) - r)
            highs.append(np.asarray(t.center, float) + r)
    if not lows:
        return None
    return np.min(lows, axis=0), np.max(highs, axis=0)


def domain_center(scenario) -> np.ndarray:
    """The domain's centre (m): domain.center, else the centre of the expected zone (the midpoint of
    the bounding box of the probes' active parts and the tumours; moved onto the probe axis when the
    grid is axisymmetric), else the origin. (Before: the first probe's tip, which cut off zones
    that reach back along the shaft.)"""
    if scenario.domain.center is not None:
        return np.asarray(scenario.domain.center)
    zone = expected_zone(scenario)
    if zone is None:
        return np.zeros(3)
    center = (zone[0] + zone[1]) / 2.0
    if len(scenario.probes) == 1 and choose_kind(scenario) == "axisymmetric":
        p = scenario.probes[0]
        tip, d = np.asarray(p.tip, float), unit(p.direction)
        center = tip + ((center - tip) @ d) * d
    return center


def domain_size(scenario) -> float:
    """The domain's edge length (m): domain.size when the table sets it; else the expected zone's
    largest extent plus :data:`ZONE_MARGIN` on both sides, at least domain.size's default."""
    size = float(scenario.domain.size)
    if not size_is_default(scenario):
        return size
    zone = expected_zone(scenario)
    if zone is None:
        return size
    return max(size, float(np.max(zone[1] - zone[0])) + 2.0 * ZONE_MARGIN)


def tumor_radii(tumor) -> np.ndarray:
    if tumor.shape == "sphere":
        return np.full(3, tumor.diameter / 2.0)
    return np.asarray(tumor.diameters) / 2.0


def axisymmetry_breaker(s) -> str:
    """Why the scenario is not symmetric about a single probe axis ('' when it is)."""
    if len(s.probes) != 1:
        return f"{len(s.probes)} probes (axisymmetric needs exactly one)"
    if s.modality == "rfa":
        reason = rfa.axisymmetry_breaker(s)
        if reason:
            return reason
    p = s.probes[0]
    d = np.asarray(p.direction) / np.linalg.norm(p.direction)
    tip = np.asarray(p.tip)
    if s.vessels:
        return "vessels are present"
    if s.get("anatomy") is not None:
        return "an [anatomy] section is present (a patient is not symmetric about a probe)"
    if s.domain.center is not None:
        off = np.asarray(s.domain.center) - tip
        if np.linalg.norm(off - (off @ d) * d) > 1e-9:
            return (f"domain.center lies {np.linalg.norm(off - (off @ d) * d) * 1e3:.3g} mm off the probe axis "
                    "(axisymmetric needs it on the axis)")
    for i, t in enumerate(s.tumors):
        off = np.asarray(t.center) - tip
        if np.linalg.norm(off - (off @ d) * d) > 1e-6:
            return (f"tumors[{i}].center lies {np.linalg.norm(off - (off @ d) * d) * 1e3:.3g} mm off the probe axis "
                    "(axisymmetric needs it within 0.001 mm)")
        if t.shape == "ellipsoid":
            axis = np.asarray(t.axis) / np.linalg.norm(t.axis)
            r = tumor_radii(t)
            if not (abs(abs(axis @ d) - 1.0) < 1e-9 and math.isclose(r[0], r[1])):
                return f"tumors[{i}] is not an ellipsoid of revolution about the probe axis"
    return ""


def choose_kind(scenario) -> str:
    if scenario.grid.kind != "auto":
        return scenario.grid.kind
    return "3d" if axisymmetry_breaker(scenario) else "axisymmetric"


def placement_method(scenario, section) -> str:
    """The placement Monte Carlo's method for ``section`` (a [placement] table or None): as written,
    else 'resolve' with insertions, 'move_tumor' for an axisymmetric single probe, else 'rigid_shift'."""
    if section is not None and section.method != "auto":
        return section.method
    if section is not None and section.insertions:
        return "resolve"
    if len(scenario.probes) == 1 and not axisymmetry_breaker(scenario):
        return "move_tumor"
    return "rigid_shift"


def tumor_name(tumor, index: int) -> str:
    """The name a tumour is reported under: its own, else 'tumour label N' for a label-map tumour
    and 'tumor <index + 1>' for a sphere or ellipsoid."""
    if tumor.name:
        return tumor.name
    return f"tumour label {tumor.label}" if tumor.shape == "label" else f"tumor {index + 1}"


def vessel_name(vessel, index: int) -> str:
    """The name a scenario vessel is reported under: its own, else 'vessel <index + 1>'."""
    return vessel.name or f"vessel {index + 1}"


def vessel_segments(scenario) -> list[Segment]:
    """The scenario's own vessels as shapes, each under its reported name."""
    return [Segment(np.asarray(v.start), np.asarray(v.end), v.radius, vessel_name(v, i))
            for i, v in enumerate(scenario.vessels)]


def probe_shapes(scenario) -> list[Probe]:
    return [Probe(p.name or f"probe {i + 1}", np.asarray(p.tip), unit(p.direction), p.diameter / 2.0,
                  p.active_length, shaft_length=2.0 * domain_size(scenario))
            for i, p in enumerate(scenario.probes)]


def tumor_shapes(scenario) -> list[Shape]:
    """The tumours as shapes (:class:`ablation.geometry.shapes.Shape`): the grid, the coverage
    metrics and the pictures use nothing else, so a label-map tumour is a
    :class:`ablation.geometry.shapes.VoxelMask` here and nowhere else. Spheres and ellipsoids today."""
    return [label_shape(scenario, i) if t.shape == "label" else
            Ellipsoid(tumor_name(t, i), np.asarray(t.center), tumor_radii(t), orthonormal_frame(t.axis, t.x_axis))
            for i, t in enumerate(scenario.tumors)]


def tumor_surface_points(tumor, count: int = 400) -> np.ndarray:
    """Points (3, n) on an analytic tumour's surface (world, m): a Fibonacci lattice of the unit
    sphere and its six axis ends, stretched by the semi-axes and turned into the tumour's frame."""
    k = np.arange(count) + 0.5
    z = 1.0 - 2.0 * k / count
    phi = np.pi * (3.0 - np.sqrt(5.0)) * k
    ring = np.sqrt(1.0 - z * z)
    unit = np.hstack([np.vstack([ring * np.cos(phi), ring * np.sin(phi), z]), np.eye(3), -np.eye(3)])
    frame = orthonormal_frame(tumor.axis, tumor.x_axis)
    return np.asarray(tumor.center, float)[:, None] + frame @ (tumor_radii(tumor)[:, None] * unit)


def patient_anatomy(scenario):
    """The resolved [anatomy] (:class:`ablation.geometry.patient.PatientAnatomy`), or None."""
    section = scenario.get("anatomy") if hasattr(scenario, "get") else None
    return section.get("resolved") if section is not None else None


def label_shape(scenario, index: int):
    """The shape of a label or surface tumour (tumors[index]), or None for an analytic one."""
    anatomy = patient_anatomy(scenario)
    return anatomy.tumor_shapes.get(index) if anatomy is not None else None


def tine_boxes(scenario) -> list[tuple[np.ndarray, np.ndarray]]:
    """(lower, upper) world boxes (m) of the multi-tine arrays' tines, which the fine region covers
    as it covers every probe's active part (with only the trocar in it, the tines of a 30 mm array
    lay in cells up to 4 mm and the zone changed by a third with grid.fine_margin)."""
    boxes = []
    for probe in scenario.probes if scenario.modality == "rfa" else ():
        if probe.rfa.electrode != "multitine":
            continue
        direction = np.asarray(probe.direction, float) / np.linalg.norm(probe.direction)
        points = np.hstack(rfa.tine_paths(np.asarray(probe.tip, float), direction, probe.rfa, 0.25e-3))
        half = probe.rfa.tine_diameter / 2.0
        boxes.append((points.min(axis=1) - half, points.max(axis=1) + half))
    return boxes


def planned_insertions(scenario) -> list:
    """Probe records of every insertion as planned: the first probe, then [[placement.insertions]]."""
    first = scenario.probes[0]
    insertions = scenario.placement.insertions if scenario.get("placement") is not None else ()
    return [first] + [first.replaced(tip=ins.tip, direction=ins.direction or first.direction,
                                     name=f"insertion {k + 2}") for k, ins in enumerate(insertions or ())]


def sequence_scenario(scenario, probes_per_insertion):
    """The scenario whose grid holds a sequence of insertions: every insertion's probe, on a 3-D grid
    placed around all of them and the tumours (ablation.outcome.placement.run_sequence)."""
    probes = tuple(probes_per_insertion)
    center = tuple(float(c) for c in domain_center(scenario.replaced(probes=probes)))
    return scenario.replaced(probes=probes, grid=scenario.grid.replaced(kind="3d"),
                             domain=scenario.domain.replaced(center=center))


def scenario_domain(scenario, spacing_scale: float = 1.0) -> Domain:
    """Grid and region masks for ``scenario``; ``spacing_scale`` refines (< 1) or coarsens it."""
    g = scenario.grid
    spacing = GridSpacing(g.spacing * spacing_scale, g.max_spacing * spacing_scale, g.growth, g.fine_margin)
    vessels = vessel_segments(scenario)
    names = [v.name for v in vessels]
    center, size = domain_center(scenario), domain_size(scenario)
    anatomy = patient_anatomy(scenario)
    if anatomy is not None:      # the patient's vessels in the domain, after the scenario's own
        extra = anatomy.vessel_shapes(center - size / 2.0, center + size / 2.0)
        vessels += extra
        names += [v.name for v in extra]
    domain = build_domain(choose_kind(scenario), center, size, spacing, probe_shapes(scenario),
                          tumor_shapes(scenario), vessels, names, tine_boxes(scenario))
    if anatomy is not None:
        mark_anatomy(domain, anatomy)
    rfa.mark_tines(domain, scenario)
    return domain

"""From a scenario to the grid it is solved on: where the domain sits, which kind of grid the
geometry allows, and the shapes of its probes, tumours and vessels (the geometry layer takes shapes,
not scenario records)."""
from __future__ import annotations

import math

import numpy as np

from ablation.geometry.grid import Domain, GridSpacing, build_domain
from ablation.geometry.shapes import Ellipsoid, Probe, Segment, Shape, orthonormal_frame, unit
from ablation.modalities import rfa


def domain_center(scenario) -> np.ndarray:
    """The domain's centre (m): domain.center, else the first probe's tip, else the first tumour's
    centre, else the origin."""
    if scenario.domain.center is not None:
        return np.asarray(scenario.domain.center)
    if scenario.probes:
        return np.asarray(scenario.probes[0].tip)
    if scenario.tumors:
        return np.asarray(scenario.tumors[0].center)
    return np.zeros(3)


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
    if s.domain.center is not None:
        off = np.asarray(s.domain.center) - tip
        if np.linalg.norm(off - (off @ d) * d) > 1e-9:
            return "domain.center is off the probe axis"
    for i, t in enumerate(s.tumors):
        off = np.asarray(t.center) - tip
        if np.linalg.norm(off - (off @ d) * d) > 1e-6:
            return f"tumors[{i}] is off the probe axis"
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


def probe_shapes(scenario) -> list[Probe]:
    return [Probe(p.name or f"probe {i + 1}", np.asarray(p.tip), unit(p.direction), p.diameter / 2.0,
                  p.active_length, shaft_length=2.0 * scenario.domain.size)
            for i, p in enumerate(scenario.probes)]


def tumor_shapes(scenario) -> list[Shape]:
    """The tumours as shapes (:class:`ablation.geometry.shapes.Shape`): the grid, the coverage
    metrics and the pictures use nothing else, so a label-map tumour is a
    :class:`ablation.geometry.shapes.VoxelMask` here and nowhere else. Spheres and ellipsoids today."""
    return [Ellipsoid(t.name or f"tumor {i + 1}", np.asarray(t.center), tumor_radii(t), orthonormal_frame(t.axis, t.x_axis))
            for i, t in enumerate(scenario.tumors)]


def scenario_domain(scenario, spacing_scale: float = 1.0) -> Domain:
    """Grid and region masks for ``scenario``; ``spacing_scale`` refines (< 1) or coarsens it."""
    g = scenario.grid
    spacing = GridSpacing(g.spacing * spacing_scale, g.max_spacing * spacing_scale, g.growth, g.fine_margin)
    vessels = [Segment(np.asarray(v.start), np.asarray(v.end), v.radius, v.name or f"vessel {i + 1}")
               for i, v in enumerate(scenario.vessels)]
    return build_domain(choose_kind(scenario), domain_center(scenario), scenario.domain.size, spacing,
                        probe_shapes(scenario), tumor_shapes(scenario), vessels,
                        [v.name for v in scenario.vessels])

"""The zone library: one probe's lethal zone per protocol duration, solved once by the real solver
and reused by moving it (the search's surrogate), plus an analytic spherical zone for verification.

A zone is a signed distance (m, positive inside) in the probe's own frame, relative to its tip
(x, y across, z along the direction from handle to tip), rasterised for fast multilinear lookup
(:class:`ablation.outcome.placement.SdfTable`): 2-D in (r, z) for an axisymmetric solve, 3-D
otherwise. Several probes' candidate zone is the union of moved single-probe zones (max of the
signed distances: the sign is exact, the distance inside is a lower bound); interacting zones
(merging iceballs, shared RF current) are not in it - :mod:`ablation.planning.verify` solves the
final plan and measures the difference. No files, no screen.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ablation.geometry.shapes import orthonormal_frame, unit
from ablation.input.scenario import scenario_from_dict
from ablation.outcome import coverage as cov
from ablation.outcome.placement import SdfTable
from ablation.physics.damage import parse_criterion
from ablation.pipeline import simulate

MM = 1e-3
#: raster step of a solved zone's signed-distance table (assumption: 0.25 mm, below the 0.5 mm
#: cells of the shipped scenarios so the table adds little to the solver's own error)
ZONE_RASTER = 0.25 * MM
#: the table reaches this far beyond the zone, so margins up to it are looked up, not clamped
#: (assumption: twice the 10 mm margin class)
ZONE_REACH = 20 * MM


@dataclass(frozen=True)
class Zone:
    """One probe's lethal zone in its frame (see the module docstring).

    ``axial_extent`` (lo, hi) and ``radius`` bound the zone (m, relative to the tip); ``volume`` in m^3."""
    table: SdfTable | None
    axisymmetric: bool
    duration: float
    axial_extent: tuple
    radius: float
    volume: float
    source: str
    sphere: tuple | None = None        # (radius, centre offset along the axis) of an analytic zone
    #: cold zones that merge: the probe's temperature depression T_far - T_min (K) as a raster in
    #: (r, z), the depression that kills (T_far - threshold), and the depression's fall-off (K/m)
    #: across the zone boundary (see :func:`superposed_distance`)
    depression: SdfTable | None = None
    lethal_depression: float = 0.0
    boundary_gradient: float = 1.0

    @property
    def centre_offset(self) -> float:
        """Axial position of the zone's middle relative to the tip (negative: behind the tip)."""
        return 0.5 * (self.axial_extent[0] + self.axial_extent[1])

    @property
    def half_length(self) -> float:
        return 0.5 * (self.axial_extent[1] - self.axial_extent[0])

    def signed_distance(self, local: np.ndarray) -> np.ndarray:
        """Signed distance at probe-frame points ``local`` (3, ...) relative to the tip."""
        if self.sphere is not None:
            radius, offset = self.sphere
            return radius - np.sqrt(local[0] ** 2 + local[1] ** 2 + (local[2] - offset) ** 2)
        if self.axisymmetric:
            return self.table.lookup([np.hypot(local[0], local[1]).astype(np.float32),
                                      local[2].astype(np.float32)])
        return self.table.lookup([local[k].astype(np.float32) for k in range(3)])


def superposed_distance(zones_and_points: list) -> np.ndarray:
    """Interacting cold zones: the lethal region of several probes where the summed temperature
    depressions reach the lethal one, sum_k D_k(x) >= T_far - threshold (linear superposition of
    the single-probe minimum-temperature fields; latent heat makes this approximate - its error
    against fresh 3-D solves is measured by the verification). Returned as a pseudo signed distance
    (m): (sum D_k - D_lethal) / (the single zone's depression gradient at its boundary), exact in
    sign, a first-order distance near the boundary. ``zones_and_points`` lists (zone, probe-frame
    points (3, ...)) per probe."""
    total = None
    for zone, local in zones_and_points:
        d = zone.depression.lookup([np.hypot(local[0], local[1]).astype(np.float32), local[2].astype(np.float32)])
        total = d if total is None else total + d
    zone = zones_and_points[0][0]
    return (total - np.float32(zone.lethal_depression)) / np.float32(zone.boundary_gradient)


def sphere_zone(radius: float, offset: float = 0.0, duration: float = 0.0) -> Zone:
    """An analytic spherical lethal zone of ``radius`` about the point ``offset`` along the axis from
    the tip: a test device whose optimum can be found by brute force."""
    return Zone(None, True, duration, (offset - radius, offset + radius), radius,
                4.0 / 3.0 * np.pi * radius ** 3, f"analytic sphere of radius {radius / MM:g} mm", (radius, offset))


def probe_frame(direction) -> np.ndarray:
    """Columns e1, e2, d: the probe frame of ``direction`` (as the placement Monte Carlo uses)."""
    return orthonormal_frame(unit(direction))


# ------------------------------------------------------------------------------------ solved zones
def template_raw(scenario, duration: float, spacing: float | None) -> dict:
    """The scenario table of one probe alone at the origin along +z, for ``duration`` seconds: no
    tumour, vessel, placement, coverage or plan (the zone of the device in the tissue; tumours and
    vessels are in the verification's solve)."""
    raw = {k: v for k, v in scenario.raw.items() if k not in ("tumors", "vessels", "placement", "coverage", "plan")}
    probe = dict(scenario.raw["probes"][0])
    probe.update(tip=[0.0, 0.0, 0.0], direction=[0.0, 0.0, 1.0])
    raw["probes"] = [probe]
    raw.update(protocol_changes(scenario, duration))
    raw["domain"] = {k: v for k, v in dict(raw.get("domain", {})).items() if k != "center"}
    if spacing is not None:
        raw["grid"] = {**dict(raw.get("grid", {})), "spacing": f"{spacing / MM:.6g} mm"}
        raw["grid"].pop("kind", None)
    return raw


def protocol_changes(scenario, duration: float, count: int = 1) -> dict:
    """The tables that set a protocol of ``duration`` s for ``count`` probes: [time] duration, and
    for cryo the phases scaled in proportion (the shipped 10-8-10 protocol at 28 min becomes 5-4-5
    at 14 min); for RF one needle alone is driven on the generator's one channel (switching between
    channels needs two)."""
    time = {**dict(scenario.raw.get("time", {})), "duration": f"{duration:.6g} s"}
    out = {"time": time}
    if scenario.modality == "rfa" and count == 1 and scenario.get("rfa") is not None \
            and scenario.rfa.activation != "simultaneous":
        out["rfa"] = {**dict(scenario.raw.get("rfa", {})), "activation": "simultaneous"}
    if scenario.modality == "cryo" and scenario.get("cryo") is not None:
        phases = scenario.cryo.protocol
        total = sum(p.duration for p in phases)
        scale = duration / total
        out["cryo"] = {**dict(scenario.raw.get("cryo", {})),
                       "protocol": [{"phase": p.phase, "duration": f"{p.duration * scale:.6g} s"} for p in phases]}
    return out


def protocol_duration(scenario) -> float:
    """The scenario's treatment time: [time] duration."""
    return float(scenario.time.duration)


def zone_from_result(result, duration: float, source: str) -> Zone:
    """The solved single probe's zone (probe at the origin along +z) as a raster in its frame."""
    criterion = result.summary["lesion"]["criterion"]
    lesion = cov.Lesion.from_fields(result.domain, result.fields, criterion)
    domain = result.domain
    pts = lesion.zero.points.T                              # frame coordinates (dim, m)
    if pts.shape[1] == 0:
        raise ValueError(f"the solved {duration:g} s protocol gives no lethal zone ({criterion})")
    if domain.kind == "axisymmetric":
        world = domain.frame_origin[:, None] + domain.frame @ np.vstack([pts[0], np.zeros(pts.shape[1]), pts[-1]])
    else:
        world = domain.frame_origin[:, None] + domain.frame @ pts
    local = world                                           # the probe's tip is the origin, direction +z
    radius = float(np.max(np.hypot(local[0], local[1])))
    lo, hi = float(np.min(local[2])), float(np.max(local[2]))
    volume = float(result.summary["lesion"]["volume_ml"]) * 1e-6
    axisym = domain.kind == "axisymmetric"
    if axisym:
        def sdf(c):
            return lesion.signed_distance(np.vstack([c[0], np.zeros(c.shape[1]), c[1]]))
        table = SdfTable.build(sdf, [0.0, lo - ZONE_REACH], [radius + ZONE_REACH, hi + ZONE_REACH], ZONE_RASTER)
    else:
        table = SdfTable.build(lesion.signed_distance, [-radius - ZONE_REACH] * 2 + [lo - ZONE_REACH],
                               [radius + ZONE_REACH] * 2 + [hi + ZONE_REACH], 2 * ZONE_RASTER)
    zone = Zone(table, axisym, duration, (lo, hi), radius, volume, source)
    criterion_spec = parse_criterion(criterion)
    if axisym and criterion_spec.field == "t_min_C":
        zone = _with_depression(zone, result, criterion_spec.threshold)
    return zone


#: how far beyond the lethal zone the depression raster reaches (assumption: 40 mm, where a
#: single cryoprobe's cooling has faded to a few K in the shipped cryo scenarios)
DEPRESSION_REACH = 40 * MM


def _with_depression(zone: Zone, result, threshold: float) -> Zone:
    """Adds the single probe's temperature-depression raster to a cold zone (probe at the origin)."""
    from dataclasses import replace
    domain = result.domain
    t_min = np.asarray(result.fields["t_min_C"], float)
    far = float(np.max(t_min))
    level = cov.LevelField.from_domain(domain, far - t_min, fill_held_cells=False)

    def depression(c):
        world = np.vstack([c[0], np.zeros(c.shape[1]), c[1]])
        return level(level.coords(domain.to_frame(world)))
    lo, hi = zone.axial_extent
    table = SdfTable.build(depression, [0.0, lo - DEPRESSION_REACH], [zone.radius + DEPRESSION_REACH,
                                                                     hi + DEPRESSION_REACH], ZONE_RASTER)
    lethal = far - threshold
    # the fall-off across the boundary on the radial line through the zone's middle
    mid = 0.5 * (lo + hi)
    probe = np.array([[zone.radius - 0.5 * MM, zone.radius + 0.5 * MM], [mid, mid]], np.float32)
    values = table.lookup([probe[0], probe[1]])
    gradient = max(float(values[0] - values[1]) / MM, 1.0)
    return replace(zone, depression=table, lethal_depression=lethal, boundary_gradient=gradient)


@dataclass
class ZoneLibrary:
    """Solved zones of the scenario's first probe, one per duration, solved on first use and kept
    for the process (``solve`` may be replaced, e.g. by an analytic zone in tests)."""
    scenario: object
    spacing: float | None = None
    zones: dict = field(default_factory=dict)
    timings_s: dict = field(default_factory=dict)

    def zone(self, duration: float) -> Zone:
        key = round(float(duration), 3)
        if key not in self.zones:
            import time as wallclock
            started = wallclock.perf_counter()
            self.zones[key] = self.solve(duration)
            self.timings_s[key] = wallclock.perf_counter() - started
        return self.zones[key]

    def solve(self, duration: float) -> Zone:
        raw = template_raw(self.scenario, duration, self.spacing)
        single = scenario_from_dict(raw, source=self.scenario.source)
        result = simulate(single, zone_uncertainty=False)
        source = (f"{single.modality} solve of the first probe alone ({result.domain.kind} grid, "
                  f"{result.summary['grid']['cells']} cells, {duration / 60:g} min, criterion "
                  f"{result.summary['lesion']['criterion']})")
        return zone_from_result(result, duration, source)


@dataclass
class SphereLibrary:
    """A library of analytic spherical zones (the verification device): radius per duration."""
    radius_of: object           # duration (s) -> radius (m)
    offset: float = 0.0

    def zone(self, duration: float) -> Zone:
        return sphere_zone(float(self.radius_of(duration)), self.offset, duration)

    @property
    def timings_s(self) -> dict:
        return {}

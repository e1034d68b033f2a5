"""The ``[plan]`` section as plain objects (:class:`PlanSpec`), with the checks that need geometry:
a bad or impossible value raises :class:`ablation.input.scenario.ScenarioError` naming
``plan.<field>``."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ablation.geometry.shapes import unit
from ablation.input.plan_section import candidate_durations
from ablation.input.scenario import ScenarioError
from ablation.outcome.coverage import scenario_capsule
from ablation.outcome.placement import APPROACHES
from ablation.run.setup import tumor_shapes, vessel_segments

MM = 1e-3
#: a needle is checked against vessels from its tip back this far along its shaft (assumption:
#: 150 mm, longer than the path from the skin to any liver tumour in the shipped scenarios)
NEEDLE_LENGTH = 150 * MM


@dataclass(frozen=True)
class EntryWindow:
    center: np.ndarray
    normal: np.ndarray          # outward
    radius: float
    max_angle: float

    def violation(self, tip: np.ndarray, direction: np.ndarray) -> float:
        """How far (m, 0 when allowed) a needle with ``tip`` and ``direction`` (handle to tip) is from
        entering through the window at an allowed angle; angles count 1 mm per degree."""
        inward = -self.normal
        cos_a = float(direction @ inward)
        angle = math.degrees(math.acos(max(-1.0, min(1.0, cos_a))))
        bad_angle = max(0.0, angle - math.degrees(self.max_angle)) * MM
        if cos_a <= 1e-6:
            return bad_angle + 0.1        # parallel to or away from the window: never enters
        s = float((tip - self.center) @ inward) / cos_a      # tip - s d lies on the plane
        if s < 0:
            return bad_angle + 0.1        # the tip is outside the body side of the window
        entry = tip - s * direction
        return bad_angle + max(0.0, float(np.linalg.norm(entry - self.center)) - self.radius)


@dataclass(frozen=True)
class PlanSpec:
    """The plan's inputs, SI units, every default resolved (see ablation/input/plan_section.py)."""
    objective: str
    margin: float
    quantile: float
    target: float
    approaches: tuple
    max_probes: int
    min_spacing: float
    trajectories: str
    direction: np.ndarray
    max_tilt: float
    entry_window: EntryWindow | None
    vessels: tuple            # Segments to keep clear of
    clearance: float
    durations: tuple
    samples: int
    verify_samples: int
    seed: int
    iterations: int
    spacing: float | None
    spacing_3d: float
    tumors: tuple             # shapes
    capsule: object
    interaction_solves: int = 0
    resolved_samples: int = 0

    @property
    def tumour_radius(self) -> float:
        """Radius of the smallest ball about the tumours' mean centre that holds them all (m)."""
        centre = np.mean([t.center for t in self.tumors], axis=0)
        return max(float(np.linalg.norm(t.center - centre)) + float(np.max(t.semi_axes)) for t in self.tumors)

    def needle_violation(self, tip, direction) -> float:
        """Distance (m) by which a needle misses the vessel clearance; 0 when clear."""
        if not self.vessels:
            return 0.0
        path = tip[:, None] - direction[:, None] * np.linspace(0.0, NEEDLE_LENGTH, 151)[None, :]
        worst = 0.0
        for v in self.vessels:
            gap = float(np.min(v.distance(path))) - v.radius
            worst = max(worst, self.clearance - gap)
        return worst


def plan_spec(scenario) -> PlanSpec:
    """The scenario's [plan] section resolved; raises ScenarioError naming the field."""
    p = scenario.get("plan")
    if p is None:
        raise ScenarioError([("plan", "missing; expected a [plan] section (docs/planning.md)")], scenario.source)
    errors = []
    own = scenario.placement.approach if scenario.get("placement") is not None else "percutaneous"
    approaches = tuple(p.approaches) if p.approaches else (own,) + tuple(a for a in APPROACHES if a != own)
    first = scenario.probes[0]
    tumors = tuple(tumor_shapes(scenario))
    centre = np.mean([t.center for t in tumors], axis=0)
    window = None
    if p.entry_window is not None:
        w = p.entry_window
        window = EntryWindow(np.asarray(w.center), unit(w.normal), float(w.radius), float(w.max_angle))
    if p.direction is not None:
        direction = unit(p.direction)
    elif window is not None:
        direction = unit(centre - window.center)      # from the window's centre to the tumours
    else:
        direction = unit(first.direction)
    total = float(scenario.time.duration)
    durations = candidate_durations(p, total)
    if p.max_time is not None:   # at least one is left: checked when the scenario was validated (check_plan)
        durations = tuple(d for d in durations if d <= p.max_time * (1 + 1e-9))
    vessels = ()
    if p.keep_clear:
        vessels = tuple(vessel_segments(scenario))
    spec = PlanSpec(p.objective, float(p.margin), float(p.quantile), float(p.target), approaches, int(p.max_probes),
                    float(p.min_spacing), p.trajectories, direction, float(p.max_tilt), window, vessels,
                    float(p.clearance), durations, int(p.samples), int(p.verify_samples), int(p.seed),
                    int(p.iterations), p.spacing, float(p.spacing_3d), tumors, scenario_capsule(scenario),
                    int(p.interaction_solves), int(p.resolved_samples))
    if window is not None and not errors:
        _check_window(spec, errors)
    if errors:
        raise ScenarioError(errors, scenario.source)
    return spec


def _check_window(spec: PlanSpec, errors: list) -> None:
    """The entry window must let a needle reach every tumour (its centre, with the allowed
    directions: the plan's direction for parallel trajectories, within max_tilt of it otherwise)."""
    w = spec.entry_window
    for t in spec.tumors:
        if spec.trajectories == "parallel":
            candidates = [spec.direction]
        else:
            # the directions from points of the window disc to the tumour centre
            e = np.linalg.svd(np.eye(3) - np.outer(w.normal, w.normal))[0][:, :2]
            ring = [w.center + w.radius * f * (math.cos(a) * e[:, 0] + math.sin(a) * e[:, 1])
                    for f in (0.0, 0.5, 1.0) for a in np.linspace(0, 2 * math.pi, 24, endpoint=False)]
            candidates = [unit(t.center - q) for q in ring
                          if math.acos(max(-1.0, min(1.0, float(unit(t.center - q) @ spec.direction)))) <= spec.max_tilt + 1e-9]
        if not any(w.violation(t.center, d) <= 0.0 for d in candidates):
            how = ("along plan.direction (parallel trajectories)" if spec.trajectories == "parallel" else
                   f"within plan.max_tilt = {math.degrees(spec.max_tilt):g} deg of plan.direction")
            errors.append(("plan.entry_window",
                           f"excludes tumour {t.name!r}: no needle through the window (centre "
                           f"{[round(float(c) / MM, 3) for c in w.center]} mm, radius {w.radius / MM:g} mm, at most "
                           f"{math.degrees(w.max_angle):g} deg from its normal) {how} reaches the tumour's centre; "
                           "expected a window over the tumour, a larger radius or max_angle, or free trajectories"))

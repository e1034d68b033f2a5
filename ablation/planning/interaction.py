"""Several probes interact; the search's surrogate is corrected by fresh solves of its own layouts.

The search builds the zone of several probes from one probe's solved zone (:mod:`.zones`: the union
of moved zones, or superposed temperature depressions for cold zones). Probes interact - RF needles
driven together share one current, neighbouring iceballs merge through latent heat - and the
surrogate then misses the solved zone by several millimetres either way (docs/planning.md,
Measured). So for every count of two or more probes the search solves its best nominal layout for
real (3-D, every probe at once, as the verification) and adds the difference to the surrogate:

    corrected(x; layout) = surrogate(x; layout) + [solved(x - s) - surrogate(x - s; solved layout)]

a raster of solved minus surrogate signed distance in world coordinates, moved with the layout's
mean tip (s: the candidate's mean tip, and in a Monte Carlo sample the mean of its probes' errors,
relative to the solved layout's). At the solved layout the corrected surrogate equals the solve
(up to the raster); nearby it keeps the surrogate's response to each probe's own move. The search
then runs again on the corrected surrogate, within a trust region about the best solved layout, and
its new best is solved too, up to ``plan.interaction_solves`` solves per count (an additive,
zeroth-order correction managed by fresh solves in a trust region: Alexandrov et al., Struct Optim
1998;15:16-23). Each solve records what the surrogate
predicted for it before, corrected and uncorrected, so the surrogate's error on a layout it had not
seen is measured, not assumed. No files, no screen.
"""
from __future__ import annotations

import time as wallclock
from dataclasses import dataclass, field

import numpy as np

from ablation.outcome.placement import SdfTable
from ablation.planning.zones import MM

#: raster step of the correction (assumption: 1 mm, the 3-D verification's finest shipped cell;
#: the correction varies on the scale of the probes' spacing, several mm)
CORRECTION_RASTER = 1.0 * MM
#: the correction reaches this far beyond tumour + margin (assumption: 10 mm, past the margins the
#: objective reads; further out it holds its edge value)
CORRECTION_REACH = 10.0 * MM
#: half-width of the trust region about a solved layout in which the corrected surrogate is
#: searched (assumption: 3 mm; in the first cryo benchmark, corrected predictions for layouts moved
#: by up to about 1 mm per tip missed their solves by 0.7-0.8 mm, for moves of 5-8 mm by 2.7-3.3 mm)
TRUST_RADIUS = 3.0 * MM
#: the signed distance a solve with no lethal zone at all reports (assumption: 100 mm, beyond any
#: margin the planner reads; -inf would poison the correction raster)
NO_ZONE_DISTANCE = 100.0 * MM
#: a corrected search stops solving when its new best layout's tips moved less than this from
#: the last solved one (assumption: 0.5 mm, half the correction raster: the solve would repeat)
SAME_LAYOUT = 0.5 * MM


@dataclass(frozen=True)
class SolvedLayout:
    """A layout solved for real: its lethal zone as a signed distance of world points (m, positive
    inside), the solve (reused by the verification) and its wall time."""
    layout: object
    signed_distance: object          # world points (3, n) -> (n,)
    result: object
    solve_s: float


@dataclass(frozen=True)
class Correction:
    """Solved minus surrogate signed distance about one solved layout (see the module docstring)."""
    table: SdfTable                  # world raster (m)
    anchor: np.ndarray               # the solved layout's mean tip (m)
    solved: SolvedLayout

    def at(self, points: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """The correction at world ``points`` (3, n) for layouts moved by ``shift`` (3,) or, per
        sample, (3, samples): shape (1, n) or (samples, n)."""
        s = shift.reshape(3, -1, 1).astype(np.float32)
        p = points.astype(np.float32)[:, None, :] - s
        return self.table.lookup([p[0], p[1], p[2]])


def mean_tip(layout) -> np.ndarray:
    return np.mean(layout.tips, axis=0)


def layout_key(layout) -> tuple:
    """Identity of a layout (rounded to 0.01 mm and 1e-5 in direction) for the solve caches."""
    return (round(layout.duration, 3), tuple(np.round(layout.tips.ravel() / MM, 2)),
            tuple(np.round(layout.directions.ravel(), 5)))


@dataclass
class Interaction:
    """The corrections of one plan, shared by every approach's objective: per (count, duration) the
    correction in use, and the record of every solve. ``solve(layout) -> SolvedLayout`` is the real
    solver (:func:`ablation.planning.verify.solve_layout`) or, in tests, an analytic one."""
    solve: object
    corrections: dict = field(default_factory=dict)
    solved: dict = field(default_factory=dict)        # layout_key -> SolvedLayout
    record: list = field(default_factory=list)

    def correction_for(self, layout):
        if layout.count < 2:
            return None
        return self.corrections.get((layout.count, round(float(layout.duration), 3)))

    def solve_and_correct(self, objective, layout, predicted_m: float) -> float:
        """Solve ``layout`` (cached), make its correction the one in use for its count and duration,
        record the surrogate's predictions against the solve, and return the solved nominal margin
        quantity (m). ``predicted_m`` is the surrogate's nominal value (corrected, if a correction
        was in use) before the solve."""
        key = layout_key(layout)
        started = wallclock.perf_counter()
        if key not in self.solved:
            self.solved[key] = self.solve(layout)
        solved = self.solved[key]
        in_use = self.correction_for(layout)
        self.corrections.pop((layout.count, round(float(layout.duration), 3)), None)
        uncorrected = objective.nominal_margin(layout)
        table = self._table(objective, layout, solved)
        self.corrections[(layout.count, round(float(layout.duration), 3))] = Correction(table, mean_tip(layout), solved)
        actual = objective.nominal_margin(layout, solved_zone=solved.signed_distance)
        self.record.append({
            "count": layout.count, "duration_min": layout.duration / 60,
            "tips_mm": np.round(layout.tips / MM, 3).tolist(),
            "solved_nominal_mm": actual / MM,
            "surrogate_nominal_mm": uncorrected / MM,
            "predicted_nominal_mm": predicted_m / MM,
            "prediction_was_corrected": in_use is not None,
            "corrected_at_solve_mm": objective.nominal_margin(layout) / MM,
            "no_lethal_zone": bool(actual <= -0.999 * NO_ZONE_DISTANCE),
            "solve_s": solved.solve_s, "wall_s": wallclock.perf_counter() - started})
        return actual

    @staticmethod
    def _table(objective, layout, solved) -> SdfTable:
        """Solved minus (uncorrected) surrogate signed distance on a world raster about the tumours."""
        t = objective.targets
        pts = t.all_points
        reach = objective.margin + CORRECTION_REACH
        lo, hi = np.min(pts, axis=1) - reach, np.max(pts, axis=1) + reach

        def difference(world):
            surrogate = objective.union_distance(layout, world, nominal=True, corrected=False)[0]
            return solved.signed_distance(world) - surrogate
        return SdfTable.build(difference, lo, hi, CORRECTION_RASTER)

    def summary(self) -> dict:
        """plan.json's record of the solves: per solve what the surrogate predicted and what the solve gave."""
        return {"method": "additive correction of the search's surrogate by fresh solves of its best layouts "
                          "in a trust region (model management: Alexandrov et al., Struct Optim 1998)",
                "solves": self.record, **prediction_errors(self.record),
                "note": "error = surrogate nominal MAM minus solved, on layouts the correction had not seen "
                        "(corrected) and on every solved layout (uncorrected); solves without any lethal "
                        "zone are listed but left out of both"}


def prediction_errors(record: list) -> dict:
    """The surrogate's nominal-MAM errors against the solves of ``record`` (mm): uncorrected on
    every solve, corrected on the solves it predicted with a correction in use."""
    rows = [r for r in record if not r.get("no_lethal_zone") and r["solved_nominal_mm"] > -0.999 * NO_ZONE_DISTANCE / MM]
    return {"uncorrected_error_mm": _spread([r["surrogate_nominal_mm"] - r["solved_nominal_mm"] for r in rows]),
            "corrected_prediction_error_mm": _spread([r["predicted_nominal_mm"] - r["solved_nominal_mm"]
                                                      for r in rows if r["prediction_was_corrected"]])}


def _spread(values: list) -> dict | None:
    if not values:
        return None
    a = np.abs(np.asarray(values, float))
    return {"count": int(a.size), "mean_abs": float(np.mean(a)), "max_abs": float(np.max(a)),
            "values": [float(v) for v in values]}

"""The search: probe count, tip positions, directions and protocol duration.

For each probe count n = 1 .. max_probes and each candidate duration: a packing start (n tips on a
ring about the axis through the tumours' centre, the zone's middle at the tumours' middle, several
ring radii and depths), then scipy's differential evolution on the Monte Carlo objective with common
random numbers (:mod:`ablation.planning.objective`), seeded, and a short Nelder-Mead polish. The
plan is the smallest n whose best layout reaches the target; within n, the duration with the best
score. Constraints (tip spacing, entry window, vessel clearance) enter the search as penalties and
are checked exactly on the result. No files, no screen.

Before that costly search a count is screened without placement error: every Monte Carlo sample
is itself a layout of n probes, so if no layout of n probes comes within :data:`SCREEN_SLACK` of
the margin (the technical success objective: of covering the tumour) even when placed exactly, no
sample reaches it and the objective is 0 - the count cannot reach any target and its Monte Carlo
search is skipped. The screen maximises the nominal margin with the same differential evolution
(one sample instead of hundreds, so it costs seconds); it is shared by every approach, since it
does not depend on the placement error. It is a bound up to two approximations, hence the slack:
the global search can miss the optimum, and a sample's tilt errors make layouts a parallel plan's
screen does not search. A screened count's reported objective is the Monte Carlo value of its
best nominal layout; a count none of whose layouts meets the constraints is skipped, as before.

Parameters of a layout (probe frame of the plan's direction: e1, e2 across, d along): per probe the
tip offset (x, y, z) from the tumours' centre, z measured from where the zone's middle meets it;
with free trajectories two more, the tilt angles about e2 and e1 (at most max_tilt).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from ablation.planning.interaction import TRUST_RADIUS
from ablation.planning.objective import Evaluation, Layout, Objective
from ablation.planning.zones import MM, probe_frame

#: penalty per mm of constraint violation in the search score (assumption: far above any score
#: difference, which is at most 1, so an infeasible layout never wins)
PENALTY_PER_MM = 2.0
#: a count is screened out only when its best nominal margin falls short by more than this
#: (assumption: 1 mm, twice the search's smoothing and the grid's cell - room for the tilts and
#: the optimum the screen's search leaves out)
SCREEN_SLACK = 1.0 * MM
#: differential evolution population per parameter (scipy's popsize; assumption: 6, small because
#: the packing start already seeds the population with good layouts)
POPULATION = 6


@dataclass
class Candidate:
    """The best layout found for one probe count and duration."""
    layout: Layout
    evaluation: Evaluation
    violation_mm: float
    evaluations: int


@dataclass
class ApproachPlan:
    """The search's outcome for one approach: the chosen candidate, whether it reaches the target,
    the best per probe count, and why a count was skipped."""
    approach: str
    chosen: Candidate
    reached: bool
    per_count: dict = field(default_factory=dict)      # n -> Candidate (best over durations)
    skipped: dict = field(default_factory=dict)        # n -> reason
    evaluations: int = 0
    screened: dict = field(default_factory=dict)       # n -> why its Monte Carlo search was skipped


class LayoutSpace:
    """Maps parameter vectors to layouts for ``count`` probes under the spec's trajectories."""

    def __init__(self, spec, zone, count: int, duration: float):
        self.spec, self.zone, self.count, self.duration = spec, zone, count, duration
        self.frame = probe_frame(spec.direction)
        self.centre = np.mean([t.center for t in spec.tumors], axis=0)
        self.free = spec.trajectories == "free"
        # one probe and one (centrally symmetric) tumour: the axis through the tumour's centre is
        # optimal by symmetry, and it keeps the verification solve axisymmetric - only the depth
        # (and the tilt of a free trajectory) is searched
        self.lateral = not (count == 1 and len(spec.tumors) == 1)
        self.per_probe = (3 if self.lateral else 1) + (2 if self.free else 0)
        reach = spec.tumour_radius + spec.margin
        self.bounds = []
        for _ in range(count):
            self.bounds += [(-reach, reach)] * (3 if self.lateral else 1)
            if self.free:
                self.bounds += [(-spec.max_tilt, spec.max_tilt)] * 2

    def within(self, layout: Layout, radius: float) -> "LayoutSpace":
        """This space narrowed to layouts whose tips lie within ``radius`` (per axis) of ``layout``'s
        (a trust region; tilts keep their bounds): its only start is ``layout`` itself."""
        import copy
        local = copy.copy(self)
        x0 = self.parameters(layout)
        local.bounds = [b if (self.free and k % self.per_probe >= self.per_probe - 2) else
                        (max(b[0], x0[k] - radius), min(b[1], x0[k] + radius))
                        for k, b in enumerate(self.bounds)]
        local.trust_centre = x0
        return local

    trust_centre = None

    def layout(self, x: np.ndarray) -> Layout:
        tips, dirs = [], []
        f = self.frame
        for k in range(self.count):
            p = x[k * self.per_probe:(k + 1) * self.per_probe]
            offset = np.array([p[0], p[1], p[2]]) if self.lateral else np.array([0.0, 0.0, p[0]])
            d = f[:, 2]
            if self.free:
                a, b = p[-2], p[-1]
                d = f @ _tilted(a, b)
            if self.lateral:
                # the zone's middle sits centre_offset from the tip along d: put it at the offset point
                tips.append(self.centre + f @ offset - d * self.zone.centre_offset)
            else:
                # along the (tilted) axis through the tumour's centre
                tips.append(self.centre + d * (offset[2] - self.zone.centre_offset))
            dirs.append(d)
        return Layout(np.array(tips), np.array(dirs), self.duration)

    def parameters(self, layout: Layout) -> np.ndarray:
        """The parameter vector of ``layout`` (the inverse of :meth:`layout`, for warm starts)."""
        f = self.frame
        x = []
        for k in range(layout.count):
            d = layout.directions[k]
            tip = layout.tips[k]
            if self.lateral:
                x += list(f.T @ (tip + d * self.zone.centre_offset - self.centre))
            else:
                x += [float((tip - self.centre) @ d) + self.zone.centre_offset]
            if self.free:
                local = f.T @ d
                x += [math.atan2(local[0], local[2]), math.atan2(local[1], local[2])]
        return np.clip(np.array(x, float), [b[0] for b in self.bounds], [b[1] for b in self.bounds])

    def packing_starts(self, ring_fractions=(0.0, 0.35, 0.55, 0.75), depths=(0.0, -0.25, 0.25)) -> list:
        """Packing starts: n tips on a ring (radius a fraction of tumour radius + margin) across the
        direction, rotated so neighbours are evenly spaced, at a few depths (in a trust region: its
        centre only)."""
        if self.trust_centre is not None:
            return [self.trust_centre]
        reach = self.spec.tumour_radius + self.spec.margin
        out = []
        for rf in ring_fractions:
            if (self.count > 1 and rf == 0.0) or (not self.lateral and rf > 0.0):
                continue
            for df in depths:
                x = []
                for k in range(self.count):
                    a = 2 * math.pi * k / self.count
                    r = rf * reach if self.count > 1 else 0.0
                    x += [r * math.cos(a), r * math.sin(a), df * reach] if self.lateral else [df * reach]
                    if self.free:
                        x += [0.0, 0.0]
                out.append(np.clip(np.array(x), [b[0] for b in self.bounds], [b[1] for b in self.bounds]))
        return out

    def violation(self, layout: Layout) -> float:
        """Total constraint violation (m): tip spacing, entry window, vessel clearance."""
        spec = self.spec
        v = 0.0
        for i in range(layout.count):
            for j in range(i + 1, layout.count):
                gap = _segment_gap(layout.tips[i], layout.directions[i], layout.tips[j], layout.directions[j])
                v += max(0.0, spec.min_spacing - min(gap, float(np.linalg.norm(layout.tips[i] - layout.tips[j]))))
            if spec.entry_window is not None:
                v += spec.entry_window.violation(layout.tips[i], layout.directions[i])
            v += max(0.0, spec.needle_violation(layout.tips[i], layout.directions[i]))
        return v


def _tilted(a: float, b: float) -> np.ndarray:
    """Unit direction tilted by angle a in the (e1, d) plane and b in the (e2, d) plane."""
    v = np.array([math.tan(a), math.tan(b), 1.0])
    return v / np.linalg.norm(v)


def _segment_gap(t1, d1, t2, d2, length: float = 60 * MM) -> float:
    """Smallest distance between two needles' active ends (tip back ``length`` along the shaft),
    sampled every 1 mm (assumption: 60 mm covers any active part of the shipped devices)."""
    s = np.linspace(0.0, length, 61)
    a = t1[:, None] - d1[:, None] * s
    b = t2[:, None] - d2[:, None] * s
    return float(np.min(np.linalg.norm(a[:, :, None] - b[:, None, :], axis=0)))


def search_count(objective: Objective, spec, count: int, duration: float, seed: int, warm=(),
                 trust=None) -> Candidate:
    """The best layout of ``count`` probes at ``duration`` (differential evolution from packing
    starts and the ``warm`` layouts, then Nelder-Mead on the same smoothed score); ``trust``
    (layout, radius) limits the search to a trust region about that layout."""
    zone = objective.library.zone(duration)
    space = LayoutSpace(spec, zone, count, duration)
    if trust is not None:
        space = space.within(*trust)
    calls = [0]

    def loss(x):
        calls[0] += 1
        layout = space.layout(x)
        return -objective.evaluate(layout).score + PENALTY_PER_MM * space.violation(layout) / MM

    starts = space.packing_starts() + [space.parameters(w) for w in warm]
    dims = len(space.bounds)
    size = max(POPULATION * dims, len(starts) + 4)
    rng = np.random.default_rng(seed)
    lo, hi = np.array([b[0] for b in space.bounds]), np.array([b[1] for b in space.bounds])
    population = lo + (hi - lo) * rng.random((size, dims))
    population[:len(starts)] = starts
    best = min(starts, key=loss)
    if dims and spec.iterations > 0:
        found = optimize.differential_evolution(loss, space.bounds, init=population, maxiter=spec.iterations,
                                                seed=seed, polish=False, tol=1e-4)
        # a start is kept on ties (for one probe the first start is the naive plan)
        x = found.x if found.fun < loss(best) else best
        polished = optimize.minimize(loss, x, method="Nelder-Mead",
                                     options={"maxfev": 40 * dims, "xatol": 0.05 * MM, "fatol": 1e-4})
        best = np.clip(polished.x, lo, hi) if polished.fun < loss(x) else x
    layout = space.layout(best)
    return Candidate(layout, objective.evaluate(layout), space.violation(layout) / MM, calls[0])


def best_nominal(objective: Objective, spec, count: int, duration: float, seed: int, warm=(),
                 trust=None) -> tuple:
    """The largest nominal margin quantity (m, :meth:`Objective.nominal_margin`) found for ``count``
    probes at ``duration`` among layouts that meet the constraints, and its layout (differential
    evolution from the packing starts, as :func:`search_count`, on the nominal value alone);
    (-inf, None) when none found meets them. ``trust`` as in :func:`search_count`."""
    zone = objective.library.zone(duration)
    space = LayoutSpace(spec, zone, count, duration)
    if trust is not None:
        space = space.within(*trust)

    def loss(x):
        layout = space.layout(x)
        return -objective.nominal_margin(layout) / MM + PENALTY_PER_MM * space.violation(layout) / MM

    starts = space.packing_starts() + [space.parameters(w) for w in warm]
    best = min(starts, key=loss)
    dims = len(space.bounds)
    if dims and spec.iterations > 0:
        size = max(POPULATION * dims, len(starts) + 4)
        rng = np.random.default_rng(seed)
        lo, hi = np.array([b[0] for b in space.bounds]), np.array([b[1] for b in space.bounds])
        population = lo + (hi - lo) * rng.random((size, dims))
        population[:len(starts)] = starts
        found = optimize.differential_evolution(loss, space.bounds, init=population, maxiter=4 * spec.iterations,
                                                seed=seed, polish=False, tol=1e-6)
        if found.fun < loss(best):
            best = found.x
    layout = space.layout(best)
    if space.violation(layout) > 1e-9:
        return -math.inf, None          # no layout found that meets the constraints
    return objective.nominal_margin(layout), layout


def screen_count(objective: Objective, spec, count: int, cache: dict | None = None) -> tuple:
    """(why ``count`` probes cannot reach the target at any duration, or None if they may; the best
    nominal layout found): no layout found reaches the margin quantity even without placement
    error. ``cache`` (shared by the approaches) keeps each count's result."""
    if cache is not None and count in cache:
        return cache[count]
    if interacting(objective, spec, count):
        result = _screen_with_solves(objective, spec, count)
        if cache is not None:
            cache[count] = result
        return result
    threshold = objective.nominal_threshold
    best, best_layout = -math.inf, None
    for i, duration in enumerate(spec.durations):
        value, layout = best_nominal(objective, spec, count, duration, spec.seed + 1000 * count + i)
        if value > best:
            best, best_layout = value, layout
        if best >= threshold - SCREEN_SLACK:
            break
    what = "covers the tumours" if objective.kind == "p_technical_success" else \
        f"reaches a {threshold / MM:g} mm margin"
    if best >= threshold - SCREEN_SLACK:
        reason = None
    elif best_layout is None:
        reason = "no layout of this many probes meets the constraints (spacing, entry window, vessels)"
    else:
        reason = (f"no layout of {count} probe(s) {what} even without placement error (best found: "
                  f"{best / MM:.2f} mm, short by more than the {SCREEN_SLACK / MM:g} mm slack), so no Monte Carlo "
                  "sample does: objective 0, Monte Carlo search skipped")
    if cache is not None:
        cache[count] = (reason, best_layout)
    return reason, best_layout


def interacting(objective: Objective, spec, count: int) -> bool:
    """Whether ``count`` probes are searched with solve-corrected surrogates (:mod:`.interaction`):
    two or more probes, a solver and plan.interaction_solves > 0."""
    return count >= 2 and objective.interaction is not None and spec.interaction_solves > 0


def _screen_with_solves(objective: Objective, spec, count: int) -> tuple:
    """The screen of ``count`` interacting probes, on solves: the surrogate's best nominal layout and
    its best regular array are solved and the surrogate corrected by the better solve
    (:mod:`.interaction`); then, up to plan.interaction_solves solves in all, the corrected
    surrogate's best layout within a trust region about the best solved one is solved (a layout that solves better becomes the centre; one
    that does not halves the region). All at the longest duration: a zone grows with time, so a
    count that fails there fails at every duration. The verdict is on the best *solved* nominal
    margin; that layout's correction stays in use for the Monte Carlo search."""
    from ablation.planning.interaction import SAME_LAYOUT, layout_key
    interaction = objective.interaction
    duration = max(spec.durations)
    key = (count, round(float(duration), 3))
    seed = spec.seed + 1000 * count
    _, layout = best_nominal(objective, spec, count, duration, seed)
    if layout is None:
        return "no layout of this many probes meets the constraints (spacing, entry window, vessels)", None
    # two starts: the surrogate's optimum and its best regular array (every tip at one depth on a
    # ring) - the surrogate misjudges how depth staggering and density change merging, so its
    # optimum alone can be a poor centre for the trust region
    starts = [layout]
    regular = best_regular(objective, spec, count, duration)
    if regular is not None and layout_key(regular) != layout_key(layout):
        starts.append(regular)
    best = (-math.inf, None, None)
    for start in starts[:spec.interaction_solves]:
        interaction.corrections.pop(key, None)     # a start is predicted by the surrogate alone
        solved = interaction.solve_and_correct(objective, start, objective.nominal_margin(start))
        if solved > best[0]:
            best = (solved, start, interaction.corrections[key])
    radius = TRUST_RADIUS
    for i in range(len(starts), spec.interaction_solves):
        interaction.corrections[key] = best[2]
        _, new = best_nominal(objective, spec, count, duration, seed + i, trust=(best[1], radius))
        if new is None or np.max(np.linalg.norm(new.tips - best[1].tips, axis=1)) < SAME_LAYOUT \
                or layout_key(new) in interaction.solved:
            break
        solved = interaction.solve_and_correct(objective, new, objective.nominal_margin(new))
        if solved > best[0]:
            best = (solved, new, interaction.corrections[key])
        else:
            radius *= 0.5
    value, layout, correction = best
    interaction.corrections[key] = correction
    threshold = objective.nominal_threshold
    if value >= threshold - SCREEN_SLACK:
        return None, layout
    what = "covers the tumours" if objective.kind == "p_technical_success" else \
        f"reaches a {threshold / MM:g} mm margin"
    return (f"no solved layout of {count} probe(s) {what} even without placement error (best solved: "
            f"{value / MM:.2f} mm after {len([r for r in interaction.record if r['count'] == count])} solve(s) "
            f"of the corrected search, short by more than the {SCREEN_SLACK / MM:g} mm slack): Monte Carlo "
            "search skipped"), layout


def best_regular(objective: Objective, spec, count: int, duration: float):
    """The packing start (n tips on a ring, one depth) with the largest surrogate nominal margin
    among those that meet the constraints, or None."""
    space = LayoutSpace(spec, objective.library.zone(duration), count, duration)
    layouts = [space.layout(x) for x in space.packing_starts()]
    feasible = [l for l in layouts if space.violation(l) <= 1e-9]
    return max(feasible, key=objective.nominal_margin) if feasible else None


def max_count_for_spacing(spec) -> int:
    """The most tips the spacing allows in the search region (a disc of radius tumour radius +
    margin across the direction: n points on its circle are 2 R sin(pi / n) apart)."""
    reach = spec.tumour_radius + spec.margin
    if spec.min_spacing <= 0:
        return spec.max_probes
    n = 1
    while n < spec.max_probes and 2 * reach * math.sin(math.pi / (n + 1)) >= spec.min_spacing:
        n += 1
    return n


def search(objective: Objective, spec, approach: str, counts=None, screen_cache: dict | None = None,
           solved_check=None) -> ApproachPlan:
    """The plan for one approach: the smallest probe count that reaches the target (else the best
    over all allowed counts), each count's best duration. ``counts`` limits the counts tried;
    ``screen_cache`` shares the nominal screen (:func:`screen_count`) between approaches.
    ``solved_check(count, layout, approach) -> value``: the objective of a count's best solved
    layout (interacting probes) in the placement Monte Carlo of its solve; a count whose solved
    layout reaches the target is the plan, without a surrogate search."""
    per_count, skipped, screened = {}, {}, {}
    fitting = max_count_for_spacing(spec)
    evaluations = 0
    chosen = None
    for n in (counts or range(1, spec.max_probes + 1)):
        if n > fitting:
            skipped[n] = (f"plan.min_spacing = {spec.min_spacing / MM:g} mm leaves room for at most {fitting} "
                          f"tip(s) in the tumour region (radius {(spec.tumour_radius + spec.margin) / MM:.1f} mm with "
                          "the margin)")
            continue
        reason, nominal = screen_count(objective, spec, n, screen_cache)
        if reason is not None and nominal is None:
            skipped[n] = reason          # as when the Monte Carlo search finds no feasible layout
            continue
        if solved_check is not None and interacting(objective, spec, n) and \
                objective.reaches(solved_check(n, nominal, approach), spec.target):
            per_count[n] = chosen = _nominal_candidate(objective, nominal)
            evaluations += 1
            return ApproachPlan(approach, chosen, True, per_count, skipped, evaluations, screened)
        if reason is not None:
            screened[n] = reason         # its best nominal layout's Monte Carlo value (0) stands for it
            per_count[n] = _nominal_candidate(objective, nominal)
            evaluations += 1
            continue
        best = None
        # interacting probes: the duration whose correction the screen solved, from its layout
        durations = (max(spec.durations),) if interacting(objective, spec, n) else spec.durations
        # ... and within the trust region about that layout, where its correction holds
        trust = (nominal, TRUST_RADIUS) if interacting(objective, spec, n) else None
        for i, duration in enumerate(durations):
            c = search_count(objective, spec, n, duration, spec.seed + 1000 * n + i, trust=trust)
            evaluations += c.evaluations
            if c.violation_mm > 1e-6:
                continue
            reached = objective.reached(c.evaluation, spec.target)
            key = (reached, c.evaluation.score)
            if best is None or key > best[0]:
                best = (key, c)
        if best is None:
            skipped[n] = "no layout of this many probes meets the constraints (spacing, entry window, vessels)"
            continue
        per_count[n] = best[1]
        if nominal is not None:   # the screen keeps only layouts that meet the constraints
            # the screen's best nominal layout (with interaction solves: the best solved one) may beat
            # the Monte Carlo search, whose smoothed score does not see the margin where no sample
            # reaches it: of two layouts of the same value, the one closer to the margin stands
            screen_best = _nominal_candidate(objective, nominal)
            evaluations += 1
            if (screen_best.evaluation.value, screen_best.evaluation.nominal_mam_mm) > \
                    (best[1].evaluation.value, best[1].evaluation.nominal_mam_mm):
                per_count[n] = screen_best
        if objective.reached(per_count[n].evaluation, spec.target):
            chosen = per_count[n]
            break
    if chosen is None and per_count:
        if any(c.evaluation.value > 0 for c in per_count.values()):
            chosen = max(per_count.values(), key=lambda c: (c.evaluation.value, c.evaluation.score))
        else:
            # nothing above 0: the layout closest to the margin (with interaction solves, its
            # corrected nominal margin is the solved one) - the smoothed score is flat there
            chosen = max(per_count.values(), key=lambda c: c.evaluation.nominal_mam_mm)
    return ApproachPlan(approach, chosen, chosen is not None and objective.reached(chosen.evaluation, spec.target),
                        per_count, skipped, evaluations, screened)


def _nominal_candidate(objective: Objective, layout: Layout) -> Candidate:
    """The screen's best nominal layout as a count's candidate (it meets the constraints)."""
    return Candidate(layout, objective.evaluate(layout), 0.0, 1)


def naive_layout(spec, zone, duration: float) -> Layout:
    """The naive plan: one probe along the default direction with its zone's middle at the tumours'
    centre (how the shipped scenarios centre a tumour on the active tip)."""
    centre = np.mean([t.center for t in spec.tumors], axis=0)
    d = spec.direction
    return Layout(np.array([centre - d * zone.centre_offset]), np.array([d]), duration)

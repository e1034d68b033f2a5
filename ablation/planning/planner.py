"""``plan(scenario)``: the whole inverse plan - the search under each approach, the naive plan,
the verification solves and the risk readings - as one plain dict (plan.json's content) plus the
solved results for the pictures. No files, no screen."""
from __future__ import annotations

import logging
import math
import time as wallclock
from dataclasses import dataclass

import numpy as np

from ablation.input.scenario import ScenarioError
from ablation.outcome import placement as pl
from ablation.planning.interaction import Interaction, layout_key
from ablation.planning.objective import Layout, Objective, build_targets
from ablation.planning.risk import DISCLAIMER, ltp_risk
from ablation.planning.search import naive_layout, search
from ablation.planning.spec import PlanSpec, plan_spec
from ablation.planning.verify import independent_errors, solve_layout, verify
from ablation.planning.zones import MM, ZoneLibrary

log = logging.getLogger(__name__)


class PlanInfeasible(ScenarioError):
    """The constraints cannot be met: names the constraint (exit 2 on the command line)."""


@dataclass
class PlanOutcome:
    """plan.json's content (``report``) and the solved results (plan per approach, naive)."""
    report: dict
    solved: dict            # approach -> Verification of its plan
    naive: object           # Verification of the naive plan
    spec: PlanSpec
    layouts: dict           # approach -> Layout


def plan(scenario, *, library=None, verify_plans: bool | str = True, require_target: bool = True, executor=None,
         progress=None, solver=None) -> PlanOutcome:
    """Plan ``scenario`` (with a [plan] section) under each of its approaches.

    library : a zone library (default: solved zones of the scenario's first probe,
        :class:`ablation.planning.zones.ZoneLibrary`)
    verify_plans : solve every approach's final plan and the naive plan for real (True, the
        default); "first": only the first approach's plan (the others keep their surrogate values,
        the naive plan is solved once for all); False: no solve (tests)
    require_target : raise :class:`PlanInfeasible` when the first approach's plan does not reach
        plan.target (the command line exits 2); otherwise report it
    solver : ``solve(layout) -> SolvedLayout`` for the search's interaction corrections of several
        probes (:mod:`ablation.planning.interaction`; plan.interaction_solves per count); default:
        the real solver when plans are verified, none (the surrogate alone) when they are not
    """
    started = wallclock.perf_counter()
    spec = plan_spec(scenario)
    library = library or ZoneLibrary(scenario, spec.spacing)
    longest = max(spec.durations)
    zone = library.zone(longest)
    reach = 2 * max(zone.half_length, zone.radius) + spec.margin
    targets = build_targets(list(spec.tumors), spec.margin, reach, spec.capsule, seed=spec.seed)
    section = scenario.get("placement")
    if solver is None and verify_plans and spec.interaction_solves > 0:
        solver = solve_layout(scenario, spec, executor, progress)
    interaction = Interaction(solver) if solver is not None and spec.interaction_solves > 0 else None
    plans, objectives = {}, {}
    screen_cache: dict = {}      # the nominal screen does not depend on the approach
    # with interaction solves every count's best layout is solved, so whether the target is reached
    # is judged on those solves (the surrogate under-rates merged iceballs: docs/planning.md)
    judged_on_solves = bool(verify_plans) and interaction is not None
    count_checks = CountChecks(scenario, spec, interaction, executor, progress) if judged_on_solves else None
    for approach in spec.approaches:
        model = pl.error_model(section, approach, pringle=False)
        objective = Objective(targets, library, model, spec.objective, spec.margin, spec.quantile, spec.samples,
                              spec.seed, spec.max_probes, interaction)
        objectives[approach] = objective
        plans[approach] = search(objective, spec, approach, screen_cache=screen_cache,
                                 solved_check=None if count_checks is None else count_checks.value)
        chosen = plans[approach].chosen
        if chosen is not None:
            log.info("  %-13s %d probe(s), %g min: surrogate objective %.3f (%s)", approach, chosen.layout.count,
                     chosen.layout.duration / 60, chosen.evaluation.value,
                     "reaches the target" if plans[approach].reached else "below the target")
    search_s = wallclock.perf_counter() - started
    first = spec.approaches[0]
    if plans[first].chosen is None or (require_target and not judged_on_solves and not plans[first].reached):
        raise PlanInfeasible([_infeasible(spec, plans[first])], scenario.source)
    naive = naive_layout(spec, zone, longest)
    layouts = {a: p.chosen.layout for a, p in plans.items() if p.chosen is not None}
    solved, naive_solved, checked = {}, None, {}
    if verify_plans:
        if judged_on_solves:
            checked = count_checks.all_screened(screen_cache)
        # the naive plan and the searched layouts not solved yet, two at a time
        presolved = _presolve(scenario, spec, naive, layouts, verify_plans, interaction, checked, progress)
        # the naive plan first, with every approach's Monte Carlo: a plan equal to it reuses its solve
        naive_solved = verify(scenario, naive, list(spec.approaches), spec, spec.objective, spec.margin,
                              spec.quantile, executor, progress, solved=presolved.get(layout_key(naive)))
        done = {layout_key(naive): naive_solved}
        done.update({layout_key(v.layout): v for v in checked.values()})
        for approach, layout in layouts.items():
            if verify_plans == "first" and approach != spec.approaches[0] and layout_key(layout) not in done:
                continue
            key = layout_key(layout)
            if key not in done:
                order = ([a for a, l in layouts.items() if layout_key(l) == key]
                         + [a for a in spec.approaches if a not in layouts])
                # a layout the search solved for its corrections (as the first approach's scenario) is reused
                reuse = interaction.solved.get(key) if interaction is not None and order[0] == spec.approaches[0] \
                    else None
                reuse = reuse or presolved.get(key)
                done[key] = verify(scenario, layout, order, spec, spec.objective, spec.margin, spec.quantile,
                                   executor, progress, solved=reuse)
            solved[approach] = done[key]
        _prefer_naive_when_better(spec, plans, objectives, naive, solved, naive_solved)
        if checked:
            _choose_on_solves(spec, plans, objectives, layouts, solved, checked)
        if judged_on_solves and require_target and \
                not objectives[first].reaches(solved[first].per_approach[first]["value"], spec.target):
            raise PlanInfeasible([_infeasible(spec, plans[first], solved[first].per_approach[first]["value"])],
                                 scenario.source)
        if spec.resolved_samples > 0:
            for approach, verified in solved.items():
                if layouts[approach].count > 1 and verified is not naive_solved:
                    verified.per_approach[approach]["independent_errors"] = independent_errors(
                        verified, approach, spec, spec.resolved_samples, spec.objective, spec.margin,
                        spec.quantile, executor, progress)
    report = _report(scenario, spec, library, plans, objectives, layouts, naive, solved, naive_solved, search_s,
                     wallclock.perf_counter() - started, interaction, checked)
    return PlanOutcome(report, solved, naive_solved, spec, layouts)


def _presolve(scenario, spec, naive, layouts, verify_plans, interaction, checked, progress) -> dict:
    """Solves of the layouts the verification will solve (the naive plan; each approach's plan not
    already solved by the search or the count checks), side by side on two cores: layout key ->
    SolvedLayout. Layouts solved elsewhere, or wanted under another approach's scenario, are left
    to :func:`verify`."""
    from ablation.planning.verify import solve_side_by_side
    known = {layout_key(v.layout) for v in checked.values()}
    if interaction is not None:
        known |= set(interaction.solved)
    wanted = {layout_key(naive): naive}
    for approach, layout in layouts.items():
        key = layout_key(layout)
        if verify_plans == "first" and approach != spec.approaches[0]:
            continue
        # verify() solves a layout as the scenario of the first approach that plans it
        first_planner = next(a for a, l in layouts.items() if layout_key(l) == key)
        if key not in known and first_planner == spec.approaches[0]:
            wanted.setdefault(key, layout)
    keys = list(wanted)
    if len(keys) < 2:
        return {}
    return dict(zip(keys, solve_side_by_side(scenario, spec, [wanted[k] for k in keys], progress)))


def _prefer_naive_when_better(spec, plans, objectives, naive, solved, naive_solved) -> None:
    """Both layouts are solved: where the naive layout verifies better than a searched single-probe
    plan (the surrogate rated them within its noise) and meets the constraints, the naive layout
    is the plan - a choice between two verified candidates, recorded in the plan's notes."""
    from ablation.planning.search import Candidate, LayoutSpace
    for approach, verified in list(solved.items()):
        chosen = plans[approach].chosen
        if chosen.layout.count != 1 or verified is naive_solved:
            continue
        mine, other = verified.per_approach[approach]["value"], naive_solved.per_approach[approach]["value"]
        space = LayoutSpace(spec, objectives[approach].library.zone(naive.duration), 1, naive.duration)
        if other > mine and space.violation(naive) <= 0.0:
            evaluation = objectives[approach].evaluate(naive)
            plans[approach].chosen = Candidate(naive, evaluation, 0.0, 0)
            plans[approach].reached = objectives[approach].reached(evaluation, spec.target)
            solved[approach] = naive_solved
            naive_solved.notes.append(f"{approach}: the searched layout verified {mine:.4g}, the naive layout "
                                      f"{other:.4g}; the naive layout is the plan")


class CountChecks:
    """Each probe count's best solved layout (the screen's, :mod:`.search`) with every approach's
    placement Monte Carlo on that solve (rigid shift; no new solve), made once per count. The
    re-solved check of independent errors measured the rigid shift as the conservative estimate for
    merged iceballs (docs/planning.md, Measured), so a count reaching the target here reaches it."""

    def __init__(self, scenario, spec: PlanSpec, interaction, executor=None, progress=None):
        self.scenario, self.spec, self.interaction = scenario, spec, interaction
        self.executor, self.progress = executor, progress
        self.by_count: dict = {}          # count -> Verification

    def check(self, count: int, layout):
        """The Verification of ``count``'s solved ``layout``, or None when it was not solved."""
        if count not in self.by_count:
            solve = None if layout is None else self.interaction.solved.get(layout_key(layout))
            if count < 2 or solve is None:
                return None
            spec = self.spec
            self.by_count[count] = verify(self.scenario, layout, list(spec.approaches), spec, spec.objective,
                                          spec.margin, spec.quantile, self.executor, self.progress, solved=solve)
        return self.by_count[count]

    def value(self, count: int, layout, approach: str) -> float | None:
        check = self.check(count, layout)
        return None if check is None else check.per_approach[approach]["value"]

    def all_screened(self, screen_cache: dict) -> dict:
        """{count: Verification} for every count the screen solved (by any approach's search)."""
        for count, (_, layout) in sorted(screen_cache.items()):
            self.check(count, layout)
        return dict(sorted(self.by_count.items()))


def _choose_on_solves(spec: PlanSpec, plans, objectives, layouts, solved, count_checks) -> None:
    """Each approach's plan chosen on solved values: the smallest count whose solved layout reaches
    the target in its placement Monte Carlo (the searched plan, verified, or a count's best solved
    layout), else the highest value (then the larger nominal MAM). A switch is recorded in the plan's
    notes; a plan not verified (plan.verify = 'first') competes with its surrogate value."""
    from ablation.planning.search import Candidate
    for approach, result in plans.items():
        if result.chosen is None:
            continue
        mine = solved.get(approach)
        own_value = mine.per_approach[approach]["value"] if mine is not None else result.chosen.evaluation.value
        own_mam = mine.nominal_mam_mm if mine is not None else result.chosen.evaluation.nominal_mam_mm
        candidates = [(result.chosen.layout.count, own_value, own_mam, None)]
        candidates += [(n, v.per_approach[approach]["value"], v.nominal_mam_mm, v) for n, v in count_checks.items()]
        reaching = [c for c in candidates if objectives[approach].reaches(c[1], spec.target)]
        best = (min(reaching, key=lambda c: (c[0], -c[1])) if reaching
                else max(candidates, key=lambda c: (c[1], c[2], -c[0])))
        if best[3] is None or best[3] is mine:
            continue
        verification = best[3]
        evaluation = objectives[approach].evaluate(verification.layout)
        result.chosen = Candidate(verification.layout, evaluation, 0.0, 0)
        result.reached = objectives[approach].reached(evaluation, spec.target)
        layouts[approach] = verification.layout
        solved[approach] = verification
        verification.notes.append(
            f"{approach}: chosen on solves - {best[0]} probe(s), the best solved layout of that count, give "
            f"{best[1]:.4g}; the searched plan ({candidates[0][0]} probe(s)) gave {own_value:.4g}"
            + ("" if mine is not None else " in the surrogate (not verified)"))


def _infeasible(spec: PlanSpec, result, verified: float | None = None) -> tuple:
    """(field, message) naming the constraint that keeps the plan from its target; ``verified``: the
    plan's solved value when the verdict was taken on solves."""
    best = result.chosen
    what = {"p_margin": f"P(MAM >= {spec.margin / MM:g} mm) >= {spec.target:g}",
            "p_technical_success": f"P(technical success) >= {spec.target:g}",
            "margin_quantile": f"the {spec.quantile:g}-quantile of the MAM >= {spec.margin / MM:g} mm"}[spec.objective]
    value = best.evaluation.value if verified is None or best is None else verified
    got = "" if best is None else (f"; the best found, {best.layout.count} probe(s) for "
                                   f"{best.layout.duration / 60:g} min, reaches {value:.3g}"
                                   + ("" if verified is None else " (solved)"))
    spacing_limited = [n for n, why in result.skipped.items() if "min_spacing" in why]
    if spacing_limited and best is None or (spacing_limited and min(spacing_limited) <= spec.max_probes):
        return ("plan.min_spacing", f"{spec.min_spacing / MM:g} mm is larger than the tumour allows for "
                                    f"{min(spacing_limited)} or more probes, and fewer reach no placement with "
                                    f"{what} under approach {result.approach!r}{got}; expected a smaller spacing")
    if best is None:
        return ("plan", "no layout meets the constraints (spacing, entry window, vessel clearance) under approach "
                        f"{result.approach!r}; expected looser constraints")
    return ("plan.max_probes", f"{spec.max_probes}: no placement of at most {spec.max_probes} probe(s) reaches "
                               f"{what} under approach {result.approach!r} within the allowed durations "
                               f"({', '.join(f'{d / 60:g}' for d in spec.durations)} min){got}; expected more "
                               "probes, a longer plan.max_time, a lower plan.target or another approach")


def _probes(layout: Layout) -> list:
    return [{"tip_mm": [round(float(c) / MM, 3) for c in layout.tips[k]],
             "direction": [round(float(c), 6) for c in layout.directions[k]]} for k in range(layout.count)]


def _clean_values(values: dict) -> dict:
    """Values for plan.json: without the per-sample arrays, with the re-solved check cleaned too."""
    out = {k: v for k, v in values.items() if k not in ("mam_mm", "success")}
    if "independent_errors" in out:
        out["independent_errors"] = _clean_values(out["independent_errors"])
    return out


def _report(scenario, spec, library, plans, objectives, layouts, naive, solved, naive_solved, search_s, total_s,
            interaction=None, count_checks=None):
    first = spec.approaches[0]
    chosen = plans[first].chosen
    objective_name = {"p_margin": f"P(MAM >= {spec.margin / MM:g} mm)",
                      "p_technical_success": "P(technical success)",
                      "margin_quantile": f"{spec.quantile:g}-quantile of the MAM (mm)"}[spec.objective]
    naive_eval = {a: objectives[a].evaluate(naive) for a in spec.approaches}

    def verified(approach, v):
        if v is None:
            return None
        return _clean_values(v.per_approach[approach])

    plan_entry = {
        "approach": first, "count": chosen.layout.count, "probes": _probes(chosen.layout),
        "protocol": {"duration_s": chosen.layout.duration, "duration_min": chosen.layout.duration / 60,
                     **_phases(scenario, chosen.layout.duration)},
        "reached_target": objectives[first].reaches(solved[first].per_approach[first]["value"], spec.target)
        if first in solved
        else plans[first].reached,
        "reached_target_on": "the solved plan's placement Monte Carlo" if first in solved else "the surrogate",
        "surrogate": {"objective": chosen.evaluation.value, "ci95": list(chosen.evaluation.ci95),
                      "samples": spec.samples, "nominal_mam_mm": chosen.evaluation.nominal_mam_mm,
                      "excess_volume_ml": chosen.evaluation.excess_ml,
                      "method": _surrogate_method(chosen.layout, objectives[first])},
    }
    naive_entry = {"count": 1, "probes": _probes(naive),
                   "protocol": {"duration_s": naive.duration, "duration_min": naive.duration / 60},
                   "definition": "one probe along the default direction with its zone's middle at the tumours' "
                                 "centre (as the shipped scenarios centre a tumour on the active tip)",
                   "surrogate": {"objective": naive_eval[first].value, "ci95": list(naive_eval[first].ci95)}}
    if first in solved:
        v = solved[first]
        values = v.per_approach[first]
        plan_entry.update(objective=values["value"], objective_ci95=values["ci95"], method=values["method"],
                          samples=values["samples"], verified=_clean_values(values),
                          solved_nominal_mam_mm=v.nominal_mam_mm, solve_s=v.solve_s, notes=v.notes,
                          surrogate_error_nominal_mam_mm=chosen.evaluation.nominal_mam_mm - v.nominal_mam_mm,
                          risk=ltp_risk(values["mam_mm"]))
        if chosen.layout.count > 1:
            # the verified Monte Carlo moves the solved zone rigidly; the surrogate has independent errors
            plan_entry["objective_conservative"] = min(values["value"], chosen.evaluation.value)
            if "independent_errors" in values:
                check = _clean_values(values["independent_errors"])
                plan_entry.update(objective_independent_errors=check["value"],
                                  objective_independent_errors_ci95=check["ci95"], independent_errors=check)
        nv = naive_solved.per_approach[first]
        naive_entry.update(objective=nv["value"], objective_ci95=nv["ci95"], verified=_clean_values(nv),
                           solved_nominal_mam_mm=naive_solved.nominal_mam_mm, risk=ltp_risk(nv["mam_mm"]))
    else:
        plan_entry.update(objective=chosen.evaluation.value, objective_ci95=list(chosen.evaluation.ci95),
                          method="surrogate only (verification switched off)",
                          risk=ltp_risk(chosen.evaluation.mam_mm))
        naive_entry.update(objective=naive_eval[first].value, objective_ci95=list(naive_eval[first].ci95),
                           risk=ltp_risk(naive_eval[first].mam_mm))
    table = []
    count_checks = count_checks or {}
    for a in spec.approaches:
        p = plans[a]
        reached = objectives[a].reaches(solved[a].per_approach[a]["value"], spec.target) if a in solved else p.reached
        row = {"approach": a, "probes_needed": p.chosen.layout.count if reached else None,
               "reached_target": reached,
               "probes_needed_on": "the solved plan's placement Monte Carlo" if a in solved else "the surrogate",
               "best_count": None if p.chosen is None else p.chosen.layout.count,
               "duration_min": None if p.chosen is None else p.chosen.layout.duration / 60,
               "surrogate_objective": None if p.chosen is None else p.chosen.evaluation.value,
               "naive_surrogate_objective": naive_eval[a].value,
               "per_count": {str(n): {"objective": c.evaluation.value, "duration_min": c.layout.duration / 60}
                             for n, c in p.per_count.items()},
               "skipped_counts": {str(n): why for n, why in p.skipped.items()},
               "screened_counts": {str(n): why for n, why in p.screened.items()},
               # each count's best solved layout under this approach (rigid shift of the solve)
               "solved_counts": {str(n): {"objective": v.per_approach[a]["value"], "ci95": v.per_approach[a]["ci95"],
                                          "nominal_mam_mm": v.nominal_mam_mm}
                                 for n, v in sorted(count_checks.items())},
               "probes": None if p.chosen is None else _probes(p.chosen.layout),
               "error_model": objectives[a].model.describe()}
        if a in solved:
            values = solved[a].per_approach[a]
            row.update(objective=values["value"], objective_ci95=values["ci95"], method=values["method"],
                       risk=ltp_risk(values["mam_mm"]))
            if "independent_errors" in values:
                row["independent_errors"] = _clean_values(values["independent_errors"])
        if naive_solved is not None:
            nv = naive_solved.per_approach[a]
            row.update(naive_objective=nv["value"], naive_objective_ci95=nv["ci95"], naive_risk=ltp_risk(nv["mam_mm"]))
        table.append(row)
    zones = []
    for key, z in sorted(library.zones.items()) if hasattr(library, "zones") else []:
        zones.append({"duration_s": z.duration, "source": z.source, "volume_ml": z.volume * 1e6,
                      "axial_extent_mm": [z.axial_extent[0] / MM, z.axial_extent[1] / MM], "radius_mm": z.radius / MM,
                      "solve_s": library.timings_s.get(key)})
    naive_ok = plan_entry["objective"] >= naive_entry["objective"]
    return {
        "scenario": scenario.name, "context_not_advice": DISCLAIMER,
        "objective": {"kind": spec.objective, "name": objective_name, "margin_mm": spec.margin / MM,
                      "quantile": spec.quantile, "target": spec.target,
                      "secondary_cost": "lethal volume outside tumour + margin (nominal plan)"},
        "device": _device(scenario, spec),
        "plan": plan_entry, "naive": naive_entry,
        "plan_vs_naive": {"plan_at_least_naive": bool(naive_ok),
                          "difference": plan_entry["objective"] - naive_entry["objective"]},
        "approaches": table,
        "constraints": {"max_probes": spec.max_probes, "min_spacing_mm": spec.min_spacing / MM,
                        "trajectories": spec.trajectories, "direction": [float(c) for c in spec.direction],
                        "max_tilt_deg": math.degrees(spec.max_tilt),
                        "entry_window": None if spec.entry_window is None else
                        {"center_mm": (spec.entry_window.center / MM).tolist(),
                         "normal": spec.entry_window.normal.tolist(), "radius_mm": spec.entry_window.radius / MM,
                         "max_angle_deg": math.degrees(spec.entry_window.max_angle)},
                        "vessels_kept_clear": [v.name for v in spec.vessels], "clearance_mm": spec.clearance / MM,
                        "durations_min": [d / 60 for d in spec.durations]},
        "zone_library": zones,
        "interaction": {"solves_per_count": spec.interaction_solves, "used": False} if interaction is None else
        {"solves_per_count": spec.interaction_solves, "used": True, **interaction.summary()},
        "search": {"samples": spec.samples, "seed": spec.seed, "iterations": spec.iterations,
                   "common_random_numbers": True,
                   "evaluations": {a: p.evaluations for a, p in plans.items()}, "search_s": search_s},
        "verification": {"samples": spec.verify_samples, "seed": spec.seed, "solved": bool(solved),
                         "solves": len({id(v) for v in [*solved.values(), naive_solved] if v is not None})},
        "timing_s": {"total": total_s, "search": search_s},
    }


def _surrogate_method(layout: Layout, objective) -> str:
    zone = objective.library.zone(layout.duration)
    base = ("superposed temperature depressions of moved single-probe zones" if layout.count > 1 and
            zone.depression is not None else "union of moved single-probe zones")
    if objective.interaction is not None and objective.interaction.correction_for(layout) is not None:
        base += ", corrected by fresh 3-D solves of the search's layouts (interaction)"
    return base + ", each probe its own placement error"


#: why several cooled needles are better planned under switching (docs/planning.md, "Several cooled
#: needles on one generator")
SIMULTANEOUS_COOLED_NOTE = (
    "several cooled needles are driven together (rfa.activation = 'simultaneous'): at one potential each "
    "carries a share of the current, and in the model the coolant keeps tissue against a wall below the "
    "lethal dose (measured: a four-needle ring around a 1.5 cm tumour leaves 9 % of it unablated; switched, "
    "it covers it with an 8 mm margin); separately placed cooled needles are usually switched "
    "(rfa.activation = 'switching')")


def _device(scenario, spec: PlanSpec) -> dict:
    """The device the plan places: the scenario's first probe (and, for RF, how one generator drives
    several of them)."""
    probe = scenario.probes[0]
    kind = None
    extra: dict = {}
    if scenario.modality == "rfa" and probe.get("rfa") is not None:
        kind = f"rfa electrode {probe.rfa.electrode}"
        activation = scenario.rfa.activation if scenario.get("rfa") is not None else "simultaneous"
        extra["activation"] = activation
        if probe.rfa.electrode == "cooled_needle" and activation == "simultaneous" and spec.max_probes > 1:
            extra["note"] = SIMULTANEOUS_COOLED_NOTE
    elif scenario.modality == "cryo" and probe.get("cryo") is not None:
        kind = f"cryoprobe {probe.cryo.type or 'generic'}"
    return {"modality": scenario.modality, "probe": probe.name, "kind": kind or scenario.modality,
            "diameter_mm": probe.diameter / MM, "active_length_mm": probe.active_length / MM,
            "source": "the scenario's first [[probes]] entry and its protocol", **extra}


def _phases(scenario, duration: float) -> dict:
    if scenario.modality != "cryo" or scenario.get("cryo") is None:
        return {}
    total = sum(p.duration for p in scenario.cryo.protocol)
    return {"phases": [{"phase": p.phase, "duration_s": p.duration * duration / total}
                       for p in scenario.cryo.protocol]}

"""The ``[plan]`` table: inverse planning (``ablation plan``, :mod:`ablation.planning`).

The device is the scenario's first probe (its [probes.rfa] or [probes.cryo] table and the scenario's
protocol); the plan places copies of it. Every default names its source."""
from __future__ import annotations

import numpy as np

from ablation.input.plausibility import MAX_DURATION_S, MAX_NEEDLE_REACH, MAX_PLACEMENT_SAMPLES, MAX_PLAN_SEARCH_SAMPLES
from ablation.input.schema import Boolean, Choice, Integer, ListOf, Number, Quantity, Table, Vector
from ablation.outcome.placement import APPROACHES

OBJECTIVES = ("p_margin", "p_technical_success", "margin_quantile")
#: candidate protocol durations without plan.durations, as fractions of the scenario's [time] duration
#: (assumption: the shipped protocol and two shorter ones; a longer one is not what the device's manual gives)
DURATION_FRACTIONS = (0.5, 0.75, 1.0)
#: differential evolution generations: the searches here (3-9 parameters) settle within about 40; a
#: thousand is 25 times the default, each generation one objective evaluation per population member
MAX_ITERATIONS = 1000
DURATION_REASON = "a protocol as long as the scenario's time.duration may be, at most 24 h"

ENTRY_WINDOW = Table("where the needles may enter: a disc on a plane (the skin, the liver surface or a "
                     "laparoscopic port's reach), given by its centre, outward normal and radius", None, fields={
    "center": Vector("centre of the window [x, y, z]"),
    "normal": Vector("outward normal of the window plane (pointing away from the tumour side)", unit="1",
                     nonzero=True),
    "radius": Quantity("radius of the window disc", dimension="length", minimum=0.0, exclusive_minimum=True),
    "max_angle": Quantity("largest angle between a needle and the inward normal (assumption: 60 deg, "
                          "steeper paths are rarely used)", "60 deg", dimension="angle", minimum=0.0,
                          maximum=1.5707963267948966),
})

PLAN_SECTION = Table("inverse planning: probe count, positions, directions and protocol duration that maximise "
                     "the objective under the approach's placement error (ablation plan; docs/planning.md)",
                     None, fields={
    "objective": Choice("'p_margin': P(MAM >= margin) (default, margin 5 mm); 'p_technical_success': P(every "
                        "tumour fully covered); 'margin_quantile': the quantile-th quantile of the MAM",
                        "p_margin", options=OBJECTIVES),
    "margin": Quantity("the margin of the objective and of the secondary cost (Ahmed et al. 2014 report >= 5 mm "
                       "as the minimal ablative margin to aim for)", "5 mm", dimension="length", minimum=0.0,
                       maximum=0.05, bound_reason="margins aimed for are 5-10 mm; no ablation reaches 50 mm "
                       "around a tumour, so more is a unit slip"),
    "quantile": Number("quantile of the MAM for objective 'margin_quantile' (assumption: 0.1, a plan whose MAM "
                       "reaches the margin in 9 of 10 placements)", 0.1, minimum=0.0, maximum=1.0,
                       exclusive_minimum=True),
    "target": Number("probability the plan should reach; the probe count is the smallest that reaches it "
                     "(assumption: 0.9)", 0.9, minimum=0.0, maximum=1.0, exclusive_minimum=True),
    "approaches": ListOf("approaches planned side by side (the first is the plan's; default: the scenario's "
                         "[placement] approach, then the others)", None, item=Choice(options=APPROACHES),
                         min_items=1),
    "max_probes": Integer("largest number of probes (assumption: 3, as the shipped multi-probe scenarios; at "
                          "most 16: hepatic cryoablation uses several needles per tumour, 4.5 on average for "
                          "2.8 cm tumours, Littrup et al. 2016, and each further count adds a search)", 3,
                          minimum=1, maximum=16),
    "min_spacing": Quantity("smallest distance between two tips (assumption: 5 mm, the needle spacing of the "
                            "shipped cluster scenario rfa_cluster3.toml)", "5 mm", dimension="length", minimum=0.0),
    "trajectories": Choice("'parallel': every probe along one direction; 'free': each probe its own direction "
                           "within max_tilt", "parallel", options=("parallel", "free")),
    "direction": Vector("default direction from handle to tip (default: the first probe's)", None, unit="1",
                        nonzero=True),
    "max_tilt": Quantity("largest tilt of a free trajectory from the default direction (assumption: 20 deg)",
                         "20 deg", dimension="angle", minimum=0.0, maximum=1.5707963267948966),
    "entry_window": ENTRY_WINDOW,
    "keep_clear": Boolean("keep the needles clear of the scenario's vessels", True),
    "clearance": Quantity("smallest distance from a needle to a vessel wall (assumption: 3 mm, two needle "
                          "diameters)", "3 mm", dimension="length", minimum=0.0),
    "durations": ListOf("candidate protocol durations (default: 0.5, 0.75 and 1 times the scenario's "
                        "[time] duration; a cryo protocol's phases scale with it)", None,
                        item=Quantity(dimension="time", minimum=0.0, exclusive_minimum=True, maximum=MAX_DURATION_S,
                                      bound_reason=DURATION_REASON), min_items=1),
    "max_time": Quantity("longest treatment time; durations above it are not considered", None, dimension="time",
                         minimum=0.0, exclusive_minimum=True, nullable=True, maximum=MAX_DURATION_S,
                         bound_reason=DURATION_REASON),
    "samples": Integer("placement samples of the search objective (common random numbers) [count]", 400,
                       minimum=20, maximum=MAX_PLAN_SEARCH_SAMPLES),
    "verify_samples": Integer("placement samples of the verification Monte Carlo [count]", 2000, minimum=20,
                              maximum=MAX_PLACEMENT_SAMPLES),
    "seed": Integer("seed of the placement draws of search and verification [integer]", 12345, minimum=0),
    "iterations": Integer("differential evolution generations per probe count and duration [count]", 40,
                          minimum=1, maximum=MAX_ITERATIONS),
    "verify": Choice("'all': solve every approach's plan and the naive plan (each a full solve); 'first': only "
                     "the first approach's plan and the naive plan (the other approaches keep their search values)",
                     "all", options=("all", "first")),
    "spacing_3d": Quantity("cell size of a several-probe (3-D) verification solve when the scenario's is finer "
                           "(assumption: 1 mm, the 3-D spacing of the shipped cryo_3probe.toml)", "1 mm",
                           dimension="length", minimum=0.0, exclusive_minimum=True),
    "interaction_solves": Integer("fresh 3-D solves per probe count (two or more probes) that correct the search's "
                                  "surrogate for the probes' interaction (shared RF current, merging iceballs); 0: "
                                  "the surrogate alone (assumption: 3 - the first corrects the surrogate's best "
                                  "layout, the others solve the corrected search's best in a trust region; a 3-D "
                                  "17 G cryo solve took 15-35 s) [count]", 3, minimum=0,
                                  maximum=6),
    "resolved_samples": Integer("placement samples of a several-probe plan re-solved per approach with every "
                                "probe its own error, each a full 3-D solve, paired with the rigid shift on the "
                                "same draws; 0: none (default: a 3-D 17 G cryo solve takes 15-35 s, a cooled-needle "
                                "one 2.5-4.5 min) [count]", 0, minimum=0, maximum=2000),
    "spacing": Quantity("cell size of the zone library's and the verification's solves (default: the "
                        "scenario's grid.spacing)", None, dimension="length", minimum=0.0, exclusive_minimum=True,
                        nullable=True),
})


def check_plan(scenario, errors) -> None:
    """Cross-field rules of ``[plan]``: it needs a tumour and a probe (the device)."""
    p = scenario.get("plan")
    if p is None:
        return
    if not scenario.tumors:
        errors.append(("plan", "section given but the scenario has no tumour; expected [[tumors]] to plan for"))
    if not scenario.probes:
        errors.append(("plan", "section given but the scenario has no probe; expected one [[probes]] entry "
                               "naming the device to place"))
    if p.max_time is not None and scenario.get("time") is not None:
        candidates = candidate_durations(p, float(scenario.time.duration))
        if not any(d <= p.max_time * (1 + 1e-9) for d in candidates):
            errors.append(("plan.max_time", f"{p.max_time / 60:g} min is shorter than every candidate duration "
                                             f"({', '.join(f'{d / 60:g}' for d in candidates)} min); expected at "
                                             "least the shortest, or shorter plan.durations"))
    rounded = [round(d, 6) for d in p.durations or ()]
    if len(set(rounded)) != len(rounded):
        errors.append(("plan.durations", f"{', '.join(f'{d / 60:g}' for d in p.durations)} min names a duration "
                                         "twice; expected each once"))
    if p.approaches is not None and len(set(p.approaches)) != len(p.approaches):
        errors.append(("plan.approaches", f"{list(p.approaches)} names an approach twice; expected each once"))
    if scenario.probes and p.max_probes > 1 and p.min_spacing < scenario.probes[0].diameter:
        # two tips closer than one needle's diameter would put two needles in one place
        errors.append(("plan.min_spacing", f"{p.min_spacing * 1e3:g} mm is less than the needle's diameter "
                                           f"({scenario.probes[0].diameter * 1e3:g} mm, probes[0].diameter); expected "
                                           "at least one diameter between two tips"))
    _check_entry_window(p.entry_window, scenario.tumors, errors)


def _check_entry_window(window, tumors, errors) -> None:
    """Needles enter through the window inward (against its outward normal): a tumour on its outer
    side, or every tumour beyond a needle's reach, cannot be planned for."""
    centres = [np.asarray(t.center, float) for t in tumors if t.get("center") is not None]
    if window is None or not centres:
        return
    centre, normal = np.asarray(window.center, float), np.asarray(window.normal, float)
    normal = normal / np.linalg.norm(normal)
    nearest = min(float(np.linalg.norm(c - centre)) for c in centres)
    limit, reason = MAX_NEEDLE_REACH
    if nearest > limit:
        errors.append(("plan.entry_window.center", f"{nearest * 1e3:.0f} mm from the nearest tumour's centre; "
                                                   f"expected at most {limit * 1e3:.0f} mm ({reason})"))
    for i, c in enumerate(centres):
        if float((c - centre) @ normal) >= 0.0:
            errors.append(("plan.entry_window.normal", f"{list(window.normal)} points towards tumour {i}'s centre, "
                                                       "which then lies outside the window where no needle entering "
                                                       "through it can reach; expected the outward normal, pointing "
                                                       "away from the tumours"))
            break


def candidate_durations(plan, total: float) -> tuple[float, ...]:
    """The protocol durations (s) a plan compares: plan.durations, or fractions of ``total`` (the
    scenario's [time] duration)."""
    return tuple(sorted(plan.durations)) if plan.durations else tuple(f * total for f in DURATION_FRACTIONS)

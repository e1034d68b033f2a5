"""What ``ablation plan`` will solve, before it starts (docs/planning.md, Method): the zone library
(the first probe alone, once per candidate duration), the verification of the naive plan and of
each approach's plan, and for two or more probes the interaction solves and re-solved placement
samples. How many probes the plans get is the search's answer, so the several-probe solves are
counted at plan.max_probes and the total is an upper bound. A layout of that many probes is
estimated on a ring through the tumours (plan.min_spacing apart, at least half the tumours' radius
from their centre), the grid of a solve depending on where its probes are; no solve is made."""
from __future__ import annotations

import math

import numpy as np

from ablation.input.scenario import ScenarioError, scenario_from_dict
from ablation.planning.objective import Layout
from ablation.planning.spec import plan_spec
from ablation.planning.verify import plan_raw
from ablation.planning.zones import probe_frame, template_raw
from ablation.run.estimate import CommandSolves, run_seconds


def plan_solves(scenario) -> CommandSolves | None:
    """The runs of the scenario's [plan] (None without one)."""
    if scenario.get("plan") is None:
        return None
    spec = plan_spec(scenario)
    library = [run_seconds(scenario_from_dict(template_raw(scenario, d, spec.spacing), source=scenario.source))
               for d in spec.durations]
    longest = max(spec.durations)
    single = run_seconds(_layout_scenario(scenario, spec, 1, longest))
    plans = len(spec.approaches) if scenario.plan.verify == "all" else 1
    parts = [("zone-library solves (the first probe alone, one per plan duration)", len(library),
              float(np.mean(library))),
             ("verification solve of the naive plan", 1, single)]
    count, layout = _largest_layout(scenario, spec, longest)
    if count == 1:
        parts.append(("verification solves of the approaches' plans", plans, single))
    else:
        several = run_seconds(layout)
        parts.append((f"verification solves of the approaches' plans ({count} probes)", plans, several))
        if spec.interaction_solves:
            parts.append(("interaction solves (plan.interaction_solves per count of two or more probes)",
                          (count - 1) * spec.interaction_solves, several))
        if spec.resolved_samples:
            parts.append(("re-solved placement samples (plan.resolved_samples per approach)",
                          plans * spec.resolved_samples, several))
    return CommandSolves("plan", tuple(parts), upper_bound=spec.max_probes > 1 or len(spec.durations) > 1)


def _largest_layout(scenario, spec, duration: float):
    """(the most probes, at least two, whose ring layout fits the scenario, and that layout's
    scenario), or (1, None): plan.min_spacing may leave room for fewer than plan.max_probes (the
    search then never places more)."""
    for count in range(spec.max_probes, 1, -1):
        try:
            return count, _layout_scenario(scenario, spec, count, duration)
        except ScenarioError:
            continue
    return 1, None


def plan_budget_problems(scenario, max_memory_bytes=None) -> list:
    """(field, message) for plan solves that would not fit the memory budget, named by the [plan]
    field that sets their grid: the zone library's at plan.spacing, a several-probe verification at
    plan.spacing_3d (checked on the largest ring layout that fits)."""
    from ablation.run.estimate import check_budget
    if scenario.get("plan") is None:
        return []
    spec = plan_spec(scenario)
    longest = max(spec.durations)
    grids = [("plan.spacing", "the zone library's solves",
              scenario_from_dict(template_raw(scenario, longest, spec.spacing), source=scenario.source))]
    count, layout = _largest_layout(scenario, spec, longest)
    if layout is not None:
        grids.append(("plan.spacing_3d", f"a {count}-probe verification solve", layout))
    out = []
    for field, what, solve in grids:
        for path, message in check_budget(solve, max_memory_bytes):
            out.append((field if path == "grid.spacing" else path,
                        f"{what}: {message}".replace("coarsen grid.spacing", f"coarsen {field}")))
    return out


def _layout_scenario(scenario, spec, count: int, duration: float):
    """The scenario of one verification solve of ``count`` probes, their active parts centred in the
    tumours, on a ring plan.min_spacing apart (at least half the tumours' radius from their centre)."""
    centre = np.mean([t.center for t in spec.tumors], axis=0)
    tips = np.repeat((centre + spec.direction * 0.5 * scenario.probes[0].active_length)[None, :], count, axis=0)
    if count > 1:
        radius = max(spec.min_spacing / (2.0 * math.sin(math.pi / count)), 0.5 * spec.tumour_radius)
        across = probe_frame(spec.direction)[:, :2]
        angles = 2.0 * math.pi * np.arange(count) / count
        tips = tips + radius * (np.cos(angles)[:, None] * across[:, 0] + np.sin(angles)[:, None] * across[:, 1])
    layout = Layout(tips, np.repeat(spec.direction[None, :], count, axis=0), duration)
    raw = plan_raw(scenario, layout, spec.approaches[0], spec.verify_samples, spec.seed, spec.spacing, spec.spacing_3d)
    return scenario_from_dict(raw, source=scenario.source)

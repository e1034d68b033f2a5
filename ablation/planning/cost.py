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

from ablation.input.scenario import scenario_from_dict
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
    single = _layout_seconds(scenario, spec, 1, longest)
    plans = len(spec.approaches) if scenario.plan.verify == "all" else 1
    parts = [("zone-library solves (the first probe alone, one per plan duration)", len(library),
              float(np.mean(library))),
             ("verification solve of the naive plan", 1, single)]
    if spec.max_probes == 1:
        parts.append(("verification solves of the approaches' plans", plans, single))
    else:
        several = _layout_seconds(scenario, spec, spec.max_probes, longest)
        parts.append((f"verification solves of the approaches' plans ({spec.max_probes} probes)", plans, several))
        if spec.interaction_solves:
            parts.append(("interaction solves (plan.interaction_solves per count of two or more probes)",
                          (spec.max_probes - 1) * spec.interaction_solves, several))
        if spec.resolved_samples:
            parts.append(("re-solved placement samples (plan.resolved_samples per approach)",
                          plans * spec.resolved_samples, several))
    return CommandSolves("plan", tuple(parts), upper_bound=spec.max_probes > 1 or len(spec.durations) > 1)


def _layout_seconds(scenario, spec, count: int, duration: float) -> float:
    """One verification solve of ``count`` probes with their active parts centred in the tumours."""
    centre = np.mean([t.center for t in spec.tumors], axis=0)
    direction = spec.direction
    tips = np.repeat((centre + direction * 0.5 * scenario.probes[0].active_length)[None, :], count, axis=0)
    if count > 1:
        radius = max(spec.min_spacing / (2.0 * math.sin(math.pi / count)), 0.5 * spec.tumour_radius)
        across = probe_frame(direction)[:, :2]
        angles = 2.0 * math.pi * np.arange(count) / count
        tips = tips + radius * (np.cos(angles)[:, None] * across[:, 0] + np.sin(angles)[:, None] * across[:, 1])
    layout = Layout(tips, np.repeat(direction[None, :], count, axis=0), duration)
    raw = plan_raw(scenario, layout, spec.approaches[0], spec.verify_samples, spec.seed, spec.spacing, spec.spacing_3d)
    return run_seconds(scenario_from_dict(raw, source=scenario.source))

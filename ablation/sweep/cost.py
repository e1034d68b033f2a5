"""What ``ablation sweep`` will solve, before it starts: every sample of the design is a run of
the scenario with the sample's values, so the sweep costs the sum of their runs
(:func:`ablation.run.estimate.run_seconds`; the samples change the grid or the duration, so each is
estimated with its own values, no solve)."""
from __future__ import annotations

import numpy as np

from ablation.input.scenario import ScenarioError
from ablation.run.estimate import CommandSolves, run_seconds
from ablation.sweep.sampling import build_design
from ablation.sweep.spec import sweep_spec
from ablation.sweep.task import PipelineModel

# Beyond this many samples an even spread of them is estimated and the mean taken: each is the
# scenario validated again with its values, 9 ms for the shipped sweep, 0.17 s for a scenario with a
# label map (its anatomy read again), so validate stays within seconds.
MAX_ESTIMATED_SAMPLES = 32


def sweep_solves(scenario) -> CommandSolves | None:
    """The runs of the scenario's [sweep] (None without one or with an empty design)."""
    if scenario.get("sweep") is None:
        return None
    spec = sweep_spec(scenario)
    design = build_design(spec)
    count = len(design)
    if count == 0:
        return None
    model = PipelineModel(scenario)
    picks = np.unique(np.linspace(0, count - 1, min(count, MAX_ESTIMATED_SAMPLES)).round().astype(int))
    seconds = []
    for i in picks:
        try:
            seconds.append(run_seconds(scenario.with_changes(model.changes(design.samples[int(i)]))))
        except ScenarioError:       # the sweep records such a sample as failed, after no solve
            continue
    if not seconds:
        return None
    return CommandSolves("sweep", ((f"sample runs ({spec.method} design)", count, float(np.mean(seconds))),))

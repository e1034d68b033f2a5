"""Grid and time-step convergence of a scenario's lesion: rerun at finer spacing and step and
report how much the lesion axes and volume change, so a user can show the grid is fine enough."""
from __future__ import annotations

from ablation.run.time_loop import run
from ablation.run.transforms import apply_transforms

SCALES = {2: (1.0, 0.5), 3: (1.0, 0.707, 0.5)}


def convergence_study(scenario, levels: int = 3, run_fn=run, progress=None) -> dict:
    """``progress(done, total, label)`` after each level."""
    rows = []
    scenario = apply_transforms(scenario)
    for k, scale in enumerate(SCALES[levels]):
        result = run_fn(scenario, spacing_scale=scale, step_scale=scale ** 2 if scale < 1 else 1.0)
        if progress is not None:
            progress(k + 1, levels, "resolution levels")
        lesion = result.summary["lesion"]
        rows.append({"spacing_scale": scale, "step_scale": scale ** 2, "cells": result.summary["grid"]["cells"],
                     "step_s": result.summary["time"]["step_s"], "runtime_s": result.summary["runtime_s"],
                     **{k: lesion[k] for k in ("volume_ml", "long_axis_mm", "short_axis_mm", "short_axis_2_mm")}})
    finest = rows[-1]
    change = {}
    for key in ("volume_ml", "long_axis_mm", "short_axis_mm"):
        ref = finest[key]
        change[key] = 100.0 * (rows[0][key] - ref) / ref if ref else 0.0
    return {"scenario": scenario.name, "criterion": result.summary["lesion"]["criterion"],
            "levels": rows, "change_vs_finest_percent": change,
            "note": "time step scaled with spacing^2 so that the backward-Euler time error falls with the spatial error"}

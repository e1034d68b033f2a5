"""Speed of the placement Monte Carlo (issue 5): 10,000 placement samples on an axisymmetric
single-probe result with at least 5,000 evaluation points per tumour, target <= 10 s on this
machine (``perf.mc_10k_s``), and that time as a fraction of the run's solve time
(``perf.mc_fraction_of_solve``). Wall-clock figures: they depend on the load of the machine
(two cores shared by several processes while these were recorded).
"""
from __future__ import annotations

import time


from ablation.outcome import coverage as cv
from ablation.outcome import placement as pl
from ablation.bench import Metric, case, shipped_scenario
from ablation.input.scenario import load_scenario



@case(quick=True)
def placement_mc_10k(ctx):
    from ablation.run.time_loop import run
    scenario = load_scenario(shipped_scenario("compare_approaches.toml"))
    result = run(scenario)
    solve_s = result.summary["runtime_s"]
    model = pl.error_model(scenario.placement)
    started = time.perf_counter()
    mc = pl.monte_carlo(result, model, 10000, scenario.placement.seed)
    mc_s = time.perf_counter() - started
    points = cv.build_points(scenario, result.domain, n_surface=scenario.placement.surface_points)
    per_tumor = min(tp.inner.shape[1] + tp.surface.shape[1] for tp in points)
    ctx.figures["perf.mc_10k_s"] = mc_s
    ctx.figures["perf.mc_fraction_of_solve"] = mc_s / solve_s
    ctx.figures["perf.mc_solve_s"] = solve_s
    ctx.figures["perf.mc_points_per_tumor"] = per_tumor
    return [Metric("mc_10k_s", mc_s, 10.0, 0.0, "s", mode="at_most",
                   note=f"{mc.method}, {per_tumor} points per tumour; solve {solve_s:.2f} s"),
            Metric("points_per_tumor", per_tumor, 5000, 0.0, "1", mode="at_least")]

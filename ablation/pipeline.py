"""One simulation, written out step by step: transformations, the solve, the analyses.

This is the whole pipeline; the command line (:mod:`ablation.cli`) calls the same functions.

    scenario --apply_transforms--> solved scenario --run--> Result
             --coverage_analysis--> summary["tumors"]
             --placement_analysis--> summary["placement"], per-sample results
"""
from __future__ import annotations

from ablation.outcome.coverage import coverage_analysis
from ablation.outcome.placement import placement_analysis
from ablation.run.result import Result
from ablation.run.time_loop import run
from ablation.run.transforms import apply_transforms
from ablation.runtime import single_blas_thread


def simulate(scenario, *, executor=None, progress=None) -> Result:
    """Solve ``scenario`` (from :func:`ablation.load_scenario`) and run its analyses.

    executor : a :class:`concurrent.futures.Executor` for work that runs in parallel (re-solved
        placement samples); default: a local process pool, one worker per core.
    progress : ``progress(done, total, label)``, called as the solve advances (simulated seconds)
        and as parallel work finishes; default: silent.
    """
    with single_blas_thread():   # the CG loops are faster on one BLAS thread (ablation.runtime)
        solved = apply_transforms(scenario)     # e.g. inflow occlusion (Pringle) before solving
        result = run(solved, progress=progress)
        coverage_analysis(result)               # summary["tumors"]: coverage, margins, shells
        placement_analysis(result, executor=executor, progress=progress)   # summary["placement"]
    return result

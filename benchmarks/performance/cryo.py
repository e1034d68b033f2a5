"""Cryo run times (figures ``perf.cryo_axisym_s`` and ``perf.cryo_3probe_3d_s``).

Wall-clock seconds of complete runs of the shipped scenarios, solver and reporting included (no
files written), as ``ablation run`` makes them: ``run(parallel=True)``, whose time-step check may
put its comparison runs on the second core (ablation.run.time_loop.PARALLEL_COMPARISON_WORK), and
one BLAS thread (``run`` sets it). The machine is shared: note the load next to any number quoted.
"""
from __future__ import annotations

import os
import time

from ablation.bench import Metric, case, shipped_folder
from ablation.input.scenario import load_scenario
from ablation.run.time_loop import run

SCENARIOS = shipped_folder("scenarios")


def _timed(name):
    scenario = load_scenario(SCENARIOS / name)
    started = time.perf_counter()
    result = run(scenario, parallel=True)
    return time.perf_counter() - started, result


def _load_note():
    try:
        return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return ""


@case(quick=True)
def cryo_axisym(ctx):
    """Single 17 G probe, 10-8-10 in perfused liver, axisymmetric 0.5 mm grid, 2 s steps."""
    seconds, result = _timed("cryo_17g_perfused.toml")
    ctx.figures["perf.cryo_axisym_s"] = seconds
    return [Metric("cryo_axisym_s", seconds, 120.0, 0.0, "s", "at_most",
                   note=f"{result.summary['grid']['cells']} cells, {result.summary['time']['steps']} steps, "
                        f"{result.summary['cg_iterations']} CG iterations; {_load_note()}")]


@case(quick=False)
def cryo_3probe_3d(ctx):
    """Three 17 G probes, 10-8-10, 3-D grid at 1 mm, 5 s steps; target <= 300 s (issue 4)."""
    seconds, result = _timed("cryo_3probe.toml")
    ctx.figures["perf.cryo_3probe_3d_s"] = seconds
    return [Metric("cryo_3probe_3d_s", seconds, 300.0, 0.0, "s", "at_most",
                   note=f"{result.summary['grid']['cells']} cells, {result.summary['time']['steps']} steps, "
                        f"{result.summary['cg_iterations']} CG iterations; {_load_note()}")]

"""The solve-time estimate that ``ablation validate`` prints, against measured solves
(``ablation.run.estimate``): per case the estimated and the measured time steps and seconds.

Each case runs in a fresh spawned process (``ablation.run.estimate.measure``: the solve as ``ablation
run`` calls it, with the time-step check's comparison runs in the same process, one after the other, as the
estimate counts them; no placement Monte Carlo, no files). The cases are shipped scenarios, some
on coarser or finer cells and some cut to 2 minutes:

* RF steps last at most the generator's 0.25 s control interval while it delivers, so a run's
  solver steps depend on how long the generator is on. The measured duty (the fraction of the
  run it delivered, from the solver steps) is what ``IMPEDANCE_CONTROL_DUTY`` takes;
* the cost per cell and solver step, against the cell count (a single constant per grid kind and
  modality family in ``COSTS``);
* the estimated solver memory against the run's peak resident memory (the budget check's figure).

    python benchmarks/performance/estimate.py [--only NAME ...]

writes benchmarks/results/performance-estimate.md and .json (with the commit and date; not with
--only, which prints). Not a
bench suite case: it takes about 12 minutes on the 2-core build machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from ablation.benchmarks import _recording as recording  # noqa: E402

# name -> (scenario, grid spacing scale, duration or None for the scenario's own, other changes)
CASES = {
    "showcase": ("showcase.toml", 1.0, None, {}),
    "rfa_cooltip_perfused": ("rfa_cooltip_perfused.toml", 1.0, None, {}),
    "liver_phantom_rfa, 1.4 mm, 2 min": ("liver_phantom_rfa.toml", 1.4, "2 min", {}),
    "liver_phantom_rfa, 2 min": ("liver_phantom_rfa.toml", 1.0, "2 min", {}),
    "rfa_cluster3": ("rfa_cluster3.toml", 1.0, None, {}),
    "cryo_17g_perfused": ("cryo_17g_perfused.toml", 1.0, None, {}),
    "cryo_vessel": ("cryo_vessel.toml", 1.0, None, {}),
    "thermal_probe": ("thermal_probe.toml", 1.0, None, {}),
    "thermal_probe, 3-D": ("thermal_probe.toml", 1.0, None, {"grid.kind": "3d", "grid.spacing": "1 mm",
                                                             "grid.max_spacing": "4 mm"}),
}


def scenario_of(file: str, scale: float, duration: str | None, extra: dict):
    """The shipped scenario with its cells scaled, without its placement Monte Carlo (not part of
    the solve estimate)."""
    from ablation.input.scenario import load_scenario
    s = load_scenario(ROOT / "scenarios" / file)
    changes = {"grid.spacing": f"{s.grid.spacing * scale * 1e3:g} mm",
               "grid.max_spacing": f"{s.grid.max_spacing * scale * 1e3:g} mm"}
    if duration is not None:
        changes.update({"time.duration": duration, "time.output_interval": duration})
    s = s.with_changes({**changes, **extra})
    return s.replaced(placement=None) if s.get("placement") is not None else s


def powered_fraction(scenario, solver_steps: int) -> float | None:
    """The fraction of an RF run the generator delivered, from its solver steps: steps of at most
    the control interval while on, of time.step (at most a quarter of the off time) while off."""
    from ablation.run.estimate import rf_step_lengths
    on, off = rf_step_lengths(scenario)
    if on >= off:
        return None
    duration = scenario.time.duration
    return (solver_steps - duration / off) / (duration / on - duration / off)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None,
                        help="case names (default: all); printed only, the stored results are left as they are")
    args = parser.parse_args(argv)
    from ablation.run.estimate import STEP_CHECK_RUNS, estimate, measure
    records = {}
    for name, (file, scale, duration, extra) in CASES.items():
        if args.only and name not in args.only:
            continue
        scenario = scenario_of(file, scale, duration, extra)
        e = estimate(scenario)
        load = os.getloadavg()[0]
        m = measure(scenario)
        per_step = m["seconds"] / (STEP_CHECK_RUNS * m["cells"] * m["solver_steps"])
        records[name] = {"scenario": f"scenarios/{file}", "spacing_scale": scale, "duration": duration,
                         "changes": extra,
                         "modality": scenario.modality, "kind": e.kind, "cells": m["cells"],
                         "estimated_cells": e.cells, "estimated_steps": e.steps, "solver_steps": m["solver_steps"],
                         "event_cuts": m["event_cuts"], "estimated_s": e.seconds, "measured_s": m["seconds"],
                         "ratio_estimated_to_measured": e.seconds / m["seconds"],
                         "seconds_per_cell_solver_step": per_step,
                         "powered_fraction": powered_fraction(scenario, m["solver_steps"])
                         if scenario.modality == "rfa" else None,
                         "estimated_memory_bytes": e.memory_bytes, "peak_memory_bytes": m["peak_bytes"],
                         "load_average_at_start": load}
        print(name, json.dumps(records[name]), flush=True)
    if args.only:       # a partial run does not replace the stored table
        return 0
    commit = recording.commit()
    data = {"date": recording.utc_now(), "commit": commit,
            "cpu_count": os.cpu_count(), "runs": records}
    results = ROOT / "benchmarks" / "results"
    lines = ["# Solve-time estimate against measured solves", "",
             f"{data['date']}, commit {commit[:10]}, {data['cpu_count']} cores; "
             "`python benchmarks/performance/estimate.py`. Each solve in a fresh process, the time-step "
             f"check's comparison runs included ({STEP_CHECK_RUNS:g} runs), no placement Monte Carlo.", "",
             "| case | kind | cells | steps estimated / taken | RF powered fraction | s estimated / measured "
             "| ratio | s per cell and step | memory GB estimated / peak |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in records.items():
        duty = "" if r["powered_fraction"] is None else f"{r['powered_fraction']:.2f}"
        lines.append(f"| {name} | {r['kind']} | {r['cells']} | {r['estimated_steps']} / {r['solver_steps']} | {duty} "
                     f"| {r['estimated_s']:.0f} / {r['measured_s']:.0f} | {r['ratio_estimated_to_measured']:.2f} "
                     f"| {r['seconds_per_cell_solver_step']:.3g} "
                     f"| {r['estimated_memory_bytes'] / 1e9:.2f} / {r['peak_memory_bytes'] / 1e9:.2f} |")
    recording.write(results, "performance-estimate", data, "\n".join(lines) + "\n", echo=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

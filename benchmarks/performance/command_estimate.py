"""The runs ``ablation validate`` says a plan, comparison or sweep of a file will make, and their
time, against the command itself (``ablation.run.estimate.CommandSolves``: ``plan_solves``,
``compare_solves``, ``sweep_solves``).

The estimate counts solving only: each run's solve with its time-step check and its placement
re-solves, on one core. Each command here runs as a user runs it, pinned to one core
(``taskset -c 0``), into a temporary folder, and its wall time is compared: the difference is what
the estimate leaves out (the Monte Carlo over placement samples, coverage, pictures, the report,
process start-up), or an error of the estimate.

    python benchmarks/performance/command_estimate.py [--only NAME ...]

writes benchmarks/results/performance-command-estimate.md and .json (with the commit and date; not
with --only, which prints). Not a bench suite case: about 10 minutes on the 2-core build machine.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from ablation.benchmarks import _recording as recording  # noqa: E402

# name -> (command, shipped scenario, changes to it written into a copy, extra command-line options)
CASES = {
    "plan_rfa_cooltip": ("plan", "plan_rfa_cooltip.toml", {}, []),
    "compare_approaches": ("compare", "compare_approaches.toml", {}, []),
    "compare_repositioning": ("compare", "compare_repositioning.toml", {}, []),
    "compare_rfa, no occlusion, 1 re-solve check": ("compare", "compare_rfa.toml", {"placement.resolve_check": 1},
                                                     ["--no-pringle"]),
    "sweep_thermal_sensitivity, 8 x 6 samples": ("sweep", "sweep_thermal_sensitivity.toml", {"sweep.samples": 8},
                                                 ["--workers", "1"]),
}


def scenario_file(folder: Path, file: str, changes: dict) -> Path:
    """The shipped scenario with ``changes``, written into ``folder`` (relative data paths resolved
    against scenarios/ as when the shipped file is run)."""
    import tomli_w
    from ablation.input.scenario import copy_tree, load_scenario, set_path
    raw = copy_tree(load_scenario(ROOT / "scenarios" / file).raw)
    for path, value in changes.items():
        set_path(raw, path, value, [])
    path = folder / file
    path.write_text(tomli_w.dumps(raw))
    return path


def estimated(command: str, path: Path, options: list):
    from ablation.input.scenario import load_scenario
    from ablation.outcome.compare import compare_solves
    from ablation.planning.cost import plan_solves
    from ablation.sweep.cost import sweep_solves
    scenario = load_scenario(path)
    if command == "plan":
        return plan_solves(scenario)
    if command == "sweep":
        return sweep_solves(scenario)
    return compare_solves(scenario, ["open", "laparoscopic", "percutaneous"], "--no-pringle" not in options)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None,
                        help="case names (default: all); printed only, the stored results are left as they are")
    args = parser.parse_args(argv)
    records = {}
    ablation = [sys.executable, "-m", "ablation"]
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    for name, (command, file, changes, options) in CASES.items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = scenario_file(Path(tmp), file, changes)
            cost = estimated(command, path, options)
            load = os.getloadavg()[0]
            started = time.perf_counter()
            done = subprocess.run(pin + ablation + [command, str(path), "--out", str(Path(tmp) / "out"), *options],
                                  capture_output=True, text=True, cwd=ROOT / "scenarios")
            wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{name}: ablation {command} exited {done.returncode}:\n{done.stderr[-2000:]}")
        records[name] = {"command": command, "scenario": f"scenarios/{file}", "changes": changes, "options": options,
                         "estimated_runs": cost.runs, "upper_bound": cost.upper_bound,
                         "parts": [list(p) for p in cost.parts], "estimated_s": cost.seconds,
                         "measured_wall_s": wall, "ratio_estimated_to_measured": cost.seconds / wall,
                         "one_core": bool(pin), "load_average_at_start": load}
        print(name, json.dumps(records[name]), flush=True)
    if args.only:       # a partial run does not replace the stored table
        return 0
    commit = recording.commit()
    data = {"date": recording.utc_now(), "commit": commit,
            "cpu_count": os.cpu_count(), "cases": records}
    results = ROOT / "benchmarks" / "results"
    lines = ["# Runs of a plan, comparison or sweep: estimate against the command", "",
             f"{data['date']}, commit {commit[:10]}, {data['cpu_count']} cores; "
             "`python benchmarks/performance/command_estimate.py`. Each command pinned to one core "
             "(taskset -c 0); the estimate counts solving only (ablation validate's figure). A ratio well "
             "below 1 means the command's other work (the placement Monte Carlo of each approach, coverage, "
             "pictures, process start-up) outweighs its solves.", "",
             "| case | command | runs estimated | s estimated | s measured (whole command) | ratio | load at start |",
             "|---|---|---|---|---|---|---|"]
    for name, r in records.items():
        runs = ("up to " if r["upper_bound"] else "") + str(r["estimated_runs"])
        lines.append(f"| {name} | {r['command']} | {runs} | {r['estimated_s']:.0f} | {r['measured_wall_s']:.0f} "
                     f"| {r['ratio_estimated_to_measured']:.2f} | {r['load_average_at_start']:.1f} |")
    recording.write(results, "performance-command-estimate", data, "\n".join(lines) + "\n", echo=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

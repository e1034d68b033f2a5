"""Wall time and peak memory of the two runs on the liver phantom (issue 12), end to end as a user
runs them (``ablation run``: load with the label map, 3-D graded grid at 1 mm around the tumour,
solve with the time-step check, coverage, exports, pictures, report):

* scenarios/liver_phantom_rfa.toml: 12-minute cooled RF (impedance control) in tumour T1 beside a
  portal branch;
* scenarios/liver_phantom_cryo.toml: two freeze-thaw cycles (10 / 8 / 10 min), 2.4 mm probe, in the
  subcapsular tumour T2.

Target (issue 12): at most 5 minutes and 4 GiB each on this 2-core machine. The load average at the
start is recorded: the cores are shared with other jobs. Also checked for each run: lesion.nii.gz
reads back with nibabel with the input label map's affine and its voxel volume is within 3 % of
summary.json lesion.volume_ml.

    python benchmarks/performance/anatomy.py [--only rfa|cryo] [--out-root DIR]

writes benchmarks/results/performance-anatomy.md and .json (with the commit and date). Not a bench
suite case (no @case): a single run takes minutes and is run by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from ablation.benchmarks import _recording as recording

ROOT = Path(__file__).resolve().parents[2]
RUNS = {"rfa": "scenarios/liver_phantom_rfa.toml", "cryo": "scenarios/liver_phantom_cryo.toml"}
TARGET_S, TARGET_GIB = 300.0, 4.0


def measure(name: str, scenario: str, out_root: Path) -> dict:
    out = out_root / f"anatomy-{name}"
    load = os.getloadavg()[0]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before, user_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime, usage.ru_utime
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ablation", "run", str(ROOT / scenario), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kib = usage.ru_maxrss
    record = {"scenario": scenario, "exit_code": proc.returncode, "wall_s": wall,
              "cpu_s": usage.ru_utime + usage.ru_stime - cpu_before,   # what the run cost on a shared machine
              "cpu_user_s": usage.ru_utime - user_before,
              "peak_rss_GiB": peak_kib / 2 ** 20, "peak_is_max_over_earlier_children": peak_kib == before,
              "load_average_at_start": load, "load_average_at_end": os.getloadavg()[0],
              "stderr_tail": proc.stderr[-2000:]}
    if proc.returncode != 0:
        return record
    summary = json.loads((out / "summary.json").read_text())
    import nibabel as nib
    import numpy as np
    lesion = nib.load(str(out / "lesion.nii.gz"))
    source = nib.load(str(ROOT / "meshes" / "liver_phantom.nii.gz"))
    voxel_ml = float(np.prod(lesion.header.get_zooms()[:3])) * 1e-3
    exported = float(np.count_nonzero(np.asarray(lesion.dataobj))) * voxel_ml
    tumour = summary["tumors"][0]
    record.update({
        "grid": summary["grid"], "solver_runtime_s": summary.get("runtime_s"),
        # the time-step check as summary.json records it (steps of the kept run; its error estimate)
        "time_check": {k: summary["time"].get(k) for k in (
            "step_s", "requested_step_s", "steps", "solver_steps", "event_cuts", "halvings", "tolerance",
            "lesion_volume_error_estimate", "lesion_volume_error_estimate_ml", "lesion_axes_error_estimate_mm")},
        "cg_iterations": summary.get("cg_iterations"),
        "lesion_volume_ml": summary["lesion"]["volume_ml"], "lesion_nii_volume_ml": exported,
        "lesion_nii_relative_difference": exported / summary["lesion"]["volume_ml"] - 1.0,
        "lesion_nii_affine_equals_input": bool(np.allclose(lesion.affine, source.affine)),
        "tumor": {k: tumour.get(k) for k in ("name", "volume_ml", "coverage", "min_margin_mm", "margin_class",
                                             "margin_coverage", "surface_points_excluded")},
        "anatomy_grid": summary["anatomy"]["grid"],
        "trajectory_warnings": summary["anatomy"]["trajectory_warnings"],
        "device": {k: v for k, v in summary.get("device", {}).items() if isinstance(v, (int, float, str))},
        "rolloffs": summary.get("device", {}).get("rolloffs", {}).get("count"),
        # the domain check: size, growths, the conducted deviation it compared and the raw one
        "domain": {k: v for k, v in summary.get("domain", {}).items() if k != "center_mm"},
    })
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(RUNS), default=None)
    parser.add_argument("--out-root", default=str(ROOT / "results"))
    parser.add_argument("--note", action="append", default=[],
                        help="a sentence for the results file (e.g. why a target is missed); repeatable")
    args = parser.parse_args(argv)
    commit = recording.commit()
    runs = {}
    for name, scenario in RUNS.items():
        if args.only and name != args.only:
            continue
        runs[name] = measure(name, scenario, Path(args.out_root))
        print(json.dumps({name: {k: v for k, v in runs[name].items() if k != "stderr_tail"}}, indent=1), flush=True)
    record = {"date": recording.utc_now(), "commit": commit,
              "cpu_count": os.cpu_count(), "targets": {"wall_s": TARGET_S, "peak_GiB": TARGET_GIB}, "runs": runs,
              "notes": args.note}
    results = ROOT / "benchmarks" / "results"
    suffix = f"-{args.only}" if args.only else ""
    lines = [f"# Liver phantom runs: wall time and peak memory", "",
             f"{record['date']}, commit {commit[:12]}, {os.cpu_count()} cores shared with other jobs. "
             f"Target: <= {TARGET_S:.0f} s and <= {TARGET_GIB:g} GiB per run.", "",
             "| run | cells | steps (kept run) | time-step error | wall time | CPU time (user) | peak RSS | "
             "load at start / end | target met | lesion (mL) | lesion.nii.gz (mL) | affine = input |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in runs.items():
        if r["exit_code"] != 0:
            lines.append(f"| {name} | failed (exit {r['exit_code']}) | | | {r['wall_s']:.0f} s | {r['cpu_s']:.0f} s | "
                         f"| {r['load_average_at_start']:.1f} / {r['load_average_at_end']:.1f} | no | | | |")
            continue
        check = r["time_check"]
        met = r["wall_s"] <= TARGET_S and r["peak_rss_GiB"] <= TARGET_GIB
        lines.append(f"| {name} | {r['grid']['cells']} | {check['steps']} of {check['step_s']:g} s "
                     f"({check['halvings']} halvings) | {100 * check['lesion_volume_error_estimate']:.2f} % "
                     f"(tolerance {100 * check['tolerance']:g} %) | {r['wall_s']:.0f} s | {r['cpu_s']:.0f} s "
                     f"({r['cpu_user_s']:.0f} s) | {r['peak_rss_GiB']:.2f} GiB | {r['load_average_at_start']:.1f} / "
                     f"{r['load_average_at_end']:.1f} | {'yes' if met else 'no'} | {r['lesion_volume_ml']:.3f} | "
                     f"{r['lesion_nii_volume_ml']:.3f} ({100 * r['lesion_nii_relative_difference']:+.1f} %) | "
                     f"{r['lesion_nii_affine_equals_input']} |")
    missed = [name for name, r in runs.items()
              if r["exit_code"] != 0 or r["wall_s"] > TARGET_S or r["peak_rss_GiB"] > TARGET_GIB]
    for name, r in runs.items():
        d = r.get("domain")
        if d:
            lines.append("")
            lines.append(f"{name}: domain {d['size_mm']:.0f} mm ({d['size_from']}, grown {d['grown']} times); boundary "
                         f"deviation conducted {d.get('boundary_conducted_deviation_C', float('nan')):.3f} K (compared "
                         f"with {d['boundary_tolerance_C']:g} K), raw {d['boundary_max_deviation_C']:.3f} K; "
                         f"energy {r['device'].get('energy_J', float('nan')) / 1e3:.2f} kJ, {r.get('rolloffs')} roll-offs.")
    lines += ["", f"Target missed by: {', '.join(missed)}." if missed else "Both targets met by every run."]
    lines += [""] + [f"- {note}" for note in args.note] if args.note else []
    recording.write(results, f"performance-anatomy{suffix}", record, "\n".join(lines) + "\n", echo=False)


if __name__ == "__main__":
    main()

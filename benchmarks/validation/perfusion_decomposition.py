"""Why in vivo RF zones come out larger than ex vivo ones: the ratio taken apart (issue "Trustworthy
lethal zones", step 1: find out why, by measurement).

The published ratio for the 2 cm cooled electrode (CVIR 2009, the training pair of split.csv) is
5.76 / 11.08 mL = 0.52; the model gave 1.24. The one-at-a-time sweeps of sensitivity.py cannot show
why, because the two inputs that matter act together: how much blood flows (w_b) and where it stops
(the perfusion shutdown law). This script changes one step at a time from the ex vivo case to the in
vivo one, then crosses the perfusion rate with the shutdown law:

1. ex vivo: 20 degC tissue, no perfusion (``rf_exvivo`` of sensitivity.py);
2. the same at 37 degC, still no perfusion: the start-temperature factor alone;
3. 37 degC with perfusion, for each w_b in :data:`PERFUSION` and each shutdown law in :data:`LAWS`.

Every run uses the default zone model's edge temperature, and every row sets its perfusion rate and
shutdown law explicitly, so that only the temperature field changes between rows. (The table in
benchmarks/results was measured under ``calibrated-2026.12``, edge 60 degC, before the model it led
to, ``physiological-2026.12``, became the default with the same edge.) Perfusion levels: the library's 6.4e-3 1/s (the value most
liver RF models use, unverified) and 1.8e-2 1/s, total hepatic blood flow of 100 mL/min/100 g (the
lower end of the 100-130 mL/min/100 g in reviews of the hepatic circulation, e.g. Eipel et al.,
World J Gastroenterol 2010; the upper end of the 34-68 kW/(m^3 K) Hall et al. 2015 sampled).
Shutdown laws (``damage.perfusion_shutdown``): ``vascular_stasis`` with Brown et al. 1992
kinetics (stasis integral 1 after 60 s at 49.2 degC) and with the same Ea but stasis at 60 degC over
60 s (the "cessation above 60 degC" of Schutt & Haemmerich 2008's first law, as kinetics);
``arrhenius`` (off where the cell-death Omega >= 1) and ``none`` (Pennes perfusion everywhere, for
reference: unphysical inside coagulated tissue).

The cryo rows show what the same perfusion does to a 17 G iceball in liver (``cryo_liver``): a
perfusion default serves both modalities.

Measurement only: nothing is fitted and no default changes here.

    python benchmarks/validation/perfusion_decomposition.py [--out DIR] [--jobs N]

writes ``DIR/validation-perfusion-decomposition.json`` and ``.md`` (default benchmarks/results).
About 12 runs of 20-40 s each at 1 mm.
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sensitivity  # noqa: E402  (same folder: its base cases and one-run measurement)
from ablation.benchmarks import _recording as recording  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED_RATIO = 5.76 / 11.08          # CVIR 2009 2 cm cooled electrode, in vivo / ex vivo volume
LIBRARY_PERFUSION = 6.4e-3              # 1/s, liver preset (docs/physics.md 1)
PHYSIOLOGICAL_PERFUSION = 1.8e-2        # 1/s = 100 mL/min/100 g at 1079 kg/m^3 (docs/physics.md 1)
PERFUSION = {"library 6.4e-3 1/s": LIBRARY_PERFUSION, "physiological 1.8e-2 1/s": PHYSIOLOGICAL_PERFUSION}
STASIS_EA = 6.67e5                      # J/mol, Brown et al. 1992
LAWS = {
    "stasis 49.2 degC (Brown 1992)": {"damage.perfusion_shutdown": "vascular_stasis",
                                      "damage.stasis_frequency_factor": 1.98e106,
                                      "damage.stasis_activation_energy": f"{STASIS_EA:g} J/mol"},
    "stasis 60 degC": {"damage.perfusion_shutdown": "vascular_stasis",
                       "damage.stasis_frequency_factor": sensitivity.frequency_factor(60.0, STASIS_EA),
                       "damage.stasis_activation_energy": f"{STASIS_EA:g} J/mol"},
    "off at Omega >= 1": {"damage.perfusion_shutdown": "arrhenius"},
    "never (reference)": {"damage.perfusion_shutdown": "none"},
}


def plan() -> list[tuple[str, str, dict]]:
    """(label, case, changes) of every run, in table order."""
    runs = [("ex vivo 20 degC, no perfusion", "rf_exvivo", {}),
            ("37 degC, no perfusion", "rf_invivo", {"tissue.perfusion": "0 1/s"})]
    for p_label, w in PERFUSION.items():
        for law_label, law in LAWS.items():
            runs.append((f"37 degC, {p_label}, perfusion stops: {law_label}", "rf_invivo",
                         {"tissue.perfusion": f"{w:g} 1/s", **law}))
    for p_label, w in PERFUSION.items():
        runs.append((f"cryo 17 G in liver, {p_label}", "cryo_liver", {"tissue.perfusion": f"{w:g} 1/s"}))
    return runs


def _job(run):
    label, case_name, changes = run
    return {"label": label, **sensitivity.measure(case_name, changes, False)}


def render(data: dict) -> str:
    rows = data["runs"]
    ex = next(r for r in rows if r["case"] == "rf_exvivo")
    lines = ["# In vivo versus ex vivo RF zones, taken apart (benchmarks/validation/perfusion_decomposition.py)", "",
             "Measured, not fitted. Generated file; the module docstring gives the method and sources.", "",
             f"- code {data['commit']}, {data['date']}; {len(rows)} runs in {data['wall_s'] / 60:.1f} min "
             f"({data['jobs']} worker(s), shared 2-core machine); grid 1 mm fine cells, 4 mm at most",
             f"- zone model: {data['zone_model']}; published in vivo / ex vivo volume ratio {PUBLISHED_RATIO:.2f} "
             f"(CVIR 2009 2 cm, 5.76 / 11.08 mL)", "",
             "| setting | zone mL | long mm | short mm | / ex vivo | kJ delivered | mean W | mL at 2/6/12 min |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["case"] not in ("rf_exvivo", "rf_invivo"):
            continue
        if not r["ok"]:
            lines.append(f"| {r['label']} | failed: {r['error']} | | | | | | |")
            continue
        growth = "/".join(f"{r['zone_ml_at_min'][m]:.1f}" for m in ("2", "6", "12"))
        lines.append(f"| {r['label']} | {r['volume_ml']:.2f} | {r['long_axis_mm']:.1f} | {r['short_axis_mm']:.1f} | "
                     f"{r['volume_ml'] / ex['volume_ml']:.2f} | {r['energy_J'] / 1e3:.1f} | {r['mean_power_W']:.1f} | {growth} |")
    lines += ["", "| cryo setting | isotherm diameters reached, mm | lethal zone mL | wall min degC |", "|---|---|---|---|"]
    for r in rows:
        if r["case"] != "cryo_liver" or not r["ok"]:
            continue
        iso = ", ".join(f"{key} {v['max_diameter_mm']:.1f}" for key, v in r["isotherms"].items())
        lines.append(f"| {r['label']} | {iso} | {r['volume_ml']:.3f} | {r['min_wall_C']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    runs = plan()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(_job, runs))
    else:
        rows = [_job(r) for r in runs]
    data = {**recording.provenance(started), "jobs": args.jobs, "runs": rows}
    recording.write(args.out, "validation-perfusion-decomposition", data, render(data))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

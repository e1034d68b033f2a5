"""Heat sink next to a vessel against vessel size, with and without inflow occlusion, compared with
Lu et al., AJR 178:47-51, 2002 ("Effect of vessel size on creation of hepatic radiofrequency lesions
in pigs: assessment of the heat sink effect"): in vivo porcine liver, viable perivascular tissue
(heat sink) next to 0 of 96 vessels < 2 mm, 3 of 111 vessels < 3 mm, 12 of 24 veins > 3 mm and 7 of
7 veins > 5 mm; "a narrow transition zone for hepatic vessels at 2-4 mm, beyond which the heat sink
effect was seen consistently".

The model case: a straight 20 mm heating probe of 2 mm diameter along z (wall held at 95 degC after a
30 s ramp, 10 minutes, perfused liver, the default zone model, 3-D grid 0.75 mm in the fine region),
and a straight vessel parallel to it whose near wall lies at 60 % of the zone radius the probe makes
without a vessel (measured first), well inside that zone. The vessel wall carries the [anatomy] correlation (ablation.physics.vessel_wall:
Hausen's Nusselt number, Murray-law flow at 0.2 Pa wall shear). Measured on the line from the probe
axis through the vessel axis at the middle of the active part: the unablated rim, i.e. the gap
between the lethal zone (Arrhenius Omega >= 1) and the vessel wall (0 when the zone reaches the
wall), and the zone's deformation, its radius away from the vessel minus its radius towards it.
Heat sink present in the model: rim > one fine cell (``RIM_THRESHOLD_MM``, the resolution of the
rim). The zone's radius towards the vessel is read up to the vessel's near wall: a zone that reaches
the wall has the wall's distance (before 2026-12-07 it was read on into the lumen's first cells).
With inflow occlusion (Pringle) the vessel is removed (no flow) and perfusion is 0.

Two model cases (``--probe``):

* ``thermal`` (the first one, 2026-12-02): the heating probe above. Its zone in perfused liver is
  3.7 mm in radius, so the vessel's near wall lies 1.2 mm from a 95 degC wall: too close for any rim
  to form (docs/anatomy.md).
* ``rf`` (added 2026-12-07, its design fixed before its first run): the library's cooled 17 G needle
  with a 30 mm tip (200 W impedance control, 15 s off-time, 12 min), the electrode of the shipped
  scenario rfa_vessel.toml, on that scenario's 3-D grid (1 mm fine cells within 10 mm of the needle,
  at most 6 mm), no time-step check. Lu et al. do not name their electrode in the abstract: this is
  a stand-in whose zone (about 1 cm in radius in vivo) has the size of an RF lesion. The vessel
  rule, the measuring line and the criterion are the thermal case's.

Refinement (``--refine SPACING``, added 2026-12-07): a rim thinner than a cell is not resolved, so
``rf`` runs of the listed vessels (``--diameters``) are solved again with fine cells of SPACING, the
near wall at the distance stored in validation-heat-sink-rf.json (the same geometry), and their
rims are set beside the stored ones. The verdict rule is unchanged (rim > one cell of the grid).

    python benchmarks/validation/heat_sink.py [--probe thermal|rf] [--workers 2]
    python benchmarks/validation/heat_sink.py --refine 0.5 --diameters 4 8

writes benchmarks/results/validation-heat-sink.md and .json (thermal), validation-heat-sink-rf.*
or validation-heat-sink-rf-refined.* (commit and date).
"""
from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ablation.benchmarks import _recording as recording
from ablation.input.models import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[2]
DIAMETERS_MM = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
WALL_FRACTION = 0.6        # near vessel wall at this fraction of the zone radius without a vessel
RIM_THRESHOLD_MM = {"thermal": 0.75, "rf": 1.0}    # one fine cell of each case's grid


def scenario(diameter_mm: float | None, pringle: bool, wall_gap_mm: float = 0.0, probe: str = "thermal",
             spacing_mm: float = 1.0):
    from ablation.input.scenario import scenario_from_dict
    from ablation.physics.vessel_wall import murray_flow, wall_heat_transfer_coefficient
    table = rf_table(diameter_mm, pringle, spacing_mm) if probe == "rf" else {
        "name": f"heat-sink-{diameter_mm}-{'pringle' if pringle else 'perfused'}",
        "modality": "thermal",
        "probes": [{"tip": [0, 0, 10], "direction": [0, 0, 1], "diameter": "2 mm", "active_length": "20 mm",
                    "thermal": {"wall": "temperature",
                                "temperature_schedule": [["0 s", "37 degC"], ["30 s", "95 degC"]]}}],
        "time": {"duration": "10 min", "step": "10 s", "refine": False, "output_interval": "10 min"},
        "grid": {"kind": "3d", "spacing": "0.75 mm", "max_spacing": "4 mm", "fine_margin": "6 mm"},
        "domain": {"size": "56 mm", "center": [4, 0, 0]},
        "outputs": {"fields": False, "scene": False},
    }
    if pringle:
        table["tissue"] = {"perfusion": "0 1/s"}
    if diameter_mm is not None and not pringle:
        r = diameter_mm / 2e3
        h = float(wall_heat_transfer_coefficient(2 * r, murray_flow(r), 1050.0, 3617.0))
        x = wall_gap_mm + diameter_mm / 2
        table["vessels"] = [{"start": [x, 0, -40], "end": [x, 0, 40], "diameter": f"{diameter_mm} mm",
                             "wall": "convection", "heat_transfer_coefficient": f"{h:.6g} W/(m^2 K)"}]
    return scenario_from_dict(table)


def rf_table(diameter_mm: float | None, pringle: bool, spacing_mm: float = 1.0) -> dict:
    """The ``rf`` case: rfa_vessel.toml's cooled needle and grid, the active part centred on z = 0."""
    return {
        "name": f"heat-sink-rf-{diameter_mm}-{'pringle' if pringle else 'perfused'}",
        "modality": "rfa",
        "probes": [{"tip": [0, 0, 15], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "30 mm",
                    "rfa": {"electrode": "cooled_needle"}}],
        "rfa": {"protocol": "impedance_control", "power": "200 W", "off_time": "15 s"},
        "time": {"duration": "12 min", "step": "2 s", "refine": False, "output_interval": "12 min"},
        "grid": {"kind": "3d", "spacing": f"{spacing_mm:g} mm", "max_spacing": "6 mm", "fine_margin": "10 mm",
                 "growth": 1.3},
        "domain": {"size": "90 mm", "center": [5, 0, 0]},
        "outputs": {"fields": False, "scene": False},
    }


def zone_radius(result, direction: float, limit_mm: float = 25.0) -> float:
    """Distance (mm) from the probe axis to the zone boundary along x (sign ``direction``) at z = 0,
    read up to ``limit_mm`` (the vessel's near wall: a zone that reaches it has that radius)."""
    from ablation.outcome.coverage import LevelField
    from ablation.physics.damage import parse_criterion
    level = LevelField.from_domain(result.domain, parse_criterion("arrhenius").level(result.fields))
    x = np.linspace(0.0, limit_mm * 1e-3, max(2, int(round(limit_mm * 100)) + 1)) * direction
    values = level(np.vstack([x, np.zeros_like(x), np.zeros_like(x)]))
    outside = np.nonzero(values < 0.0)[0]
    if outside.size == 0:
        return float(abs(x[-1]) * 1e3)
    k = int(outside[0])
    t = values[k - 1] / (values[k - 1] - values[k])
    return float(abs(x[k - 1] + t * (x[k] - x[k - 1])) * 1e3)


def solve(diameter_mm: float | None, pringle: bool, gap_mm: float | None, probe: str, spacing_mm: float = 1.0) -> dict:
    """One run (in a worker): the zone's radius towards the vessel (read up to its near wall, at
    ``gap_mm``; None: the run without a vessel, read on) and away from it, and the volume."""
    import time
    from ablation.pipeline import simulate
    started = time.perf_counter()
    result = simulate(scenario(diameter_mm, pringle, gap_mm or 0.0, probe, spacing_mm), zone_uncertainty=False)
    toward = zone_radius(result, 1.0) if gap_mm is None else zone_radius(result, 1.0, gap_mm)
    return {"toward": toward, "away": zone_radius(result, -1.0), "volume_ml": result.summary["lesion"]["volume_ml"],
            "boundary_deviation_C": result.summary["domain"]["boundary_conducted_deviation_C"],
            "cells": int(result.domain.n_cells), "seconds": round(time.perf_counter() - started, 1)}


def refine(spacing_mm: float, diameters: list, workers: int) -> None:
    """The ``rf`` case's listed vessels again with fine cells of ``spacing_mm``, at the stored near-wall
    distance, beside the stored rims (module docstring)."""
    out = ROOT / "benchmarks" / "results"
    stored = json.loads((out / "validation-heat-sink-rf.json").read_text())
    gap, coarse = stored["wall_gap_mm"], RIM_THRESHOLD_MM["rf"]
    before = {r["diameter_mm"]: r for r in stored["rows"] if not r["pringle"]}
    missing = [d for d in diameters if d not in before]
    if missing:
        raise SystemExit(f"--diameters: {missing} not in validation-heat-sink-rf.json (expected some of {sorted(before)})")
    commit = recording.commit()      # the code the workers import now (the solves take an hour or more)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        runs = {d: pool.submit(solve, d, False, gap, "rf", spacing_mm) for d in diameters}
        rows = []
        for d in diameters:
            r = runs[d].result()
            rim = max(0.0, gap - r["toward"])
            rows.append({"diameter_mm": d, "rim_mm": rim, "heat_sink": rim > spacing_mm,
                         "zone_radius_away_mm": r["away"], "volume_ml": r["volume_ml"], "cells": r["cells"],
                         "seconds": r["seconds"], "rim_mm_coarse": before[d]["rim_mm"],
                         "volume_ml_coarse": before[d]["volume_ml"]})
            print(json.dumps(rows[-1]), flush=True)
    record = {"date": recording.utc_now(), "commit": commit, "zone_model": DEFAULT_MODEL, "wall_gap_mm": gap,
              "spacing_mm": spacing_mm, "coarse_spacing_mm": coarse, "coarse_record": stored["date"],
              "load_average": recording.load_average(), "rows": rows}
    lines = ["# Heat sink next to a vessel, RF case: the rim on finer cells", "",
             f"{record['date']}, commit {commit[:12]}, zone model {DEFAULT_MODEL}; the cooled 17 G needle of "
             f"validation-heat-sink-rf.md ({stored['date']}), near vessel wall at {gap:g} mm, solved again with "
             f"{spacing_mm:g} mm fine cells. Heat sink: rim > one fine cell. Load average "
             f"{record['load_average']}.", "",
             f"| vessel (mm) | rim, {coarse:g} mm cells (mm) | rim, {spacing_mm:g} mm cells (mm) | heat sink | "
             f"volume {coarse:g} / {spacing_mm:g} mm (mL) | cells | wall time (s) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['diameter_mm']:g} | {r['rim_mm_coarse']:.2f} | {r['rim_mm']:.2f} | "
                     f"{'yes' if r['heat_sink'] else 'no'} | {r['volume_ml_coarse']:.2f} / {r['volume_ml']:.2f} | "
                     f"{r['cells']} | {r['seconds']:.0f} |")
    recording.write(out, "validation-heat-sink-rf-refined", record, "\n".join(lines) + "\n", echo=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", choices=("thermal", "rf"), default="thermal")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--refine", type=float, metavar="SPACING_MM",
                        help="solve the rf case's --diameters again with fine cells of this size (mm)")
    parser.add_argument("--diameters", type=float, nargs="+", default=[4.0, 8.0])
    args = parser.parse_args(argv)
    if args.refine is not None:
        if not 0.0 < args.refine < RIM_THRESHOLD_MM["rf"]:
            parser.error(f"--refine: {args.refine} mm; expected a spacing finer than the stored "
                         f"{RIM_THRESHOLD_MM['rf']:g} mm and above 0")
        return refine(args.refine, args.diameters, args.workers)
    probe, threshold = args.probe, RIM_THRESHOLD_MM[args.probe]
    rows = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        references = {pringle: pool.submit(solve, None, pringle, None, probe) for pringle in (False, True)}
        reference = {pringle: future.result() for pringle, future in references.items()}
        baseline = {pringle: reference[pringle]["toward"] for pringle in (False, True)}
        gap = round(WALL_FRACTION * baseline[False], 2)
        print(f"no vessel: zone radius {baseline[False]:.2f} mm perfused, {baseline[True]:.2f} mm Pringle; "
              f"near vessel wall at {gap:g} mm", flush=True)
        runs = {d: pool.submit(solve, d, False, gap, probe) for d in DIAMETERS_MM}
        for pringle in (False, True):
            for d in DIAMETERS_MM:
                # with Pringle the vessel is removed (no flow): every diameter is the run without a vessel
                r = reference[True] if pringle else runs[d].result()
                rim = max(0.0, gap - r["toward"])
                rows.append({"diameter_mm": d, "pringle": pringle, "zone_radius_toward_mm": r["toward"],
                             "zone_radius_away_mm": r["away"], "rim_mm": rim, "deformation_mm": r["away"] - r["toward"],
                             "heat_sink": rim > threshold, "volume_ml": r["volume_ml"],
                             "boundary_deviation_C": r["boundary_deviation_C"]})
                print(json.dumps(rows[-1]), flush=True)
    published = {"<2 mm": "0/96", "<3 mm": "3/111", ">3 mm": "12/24", ">5 mm": "7/7"}
    perfused = [r for r in rows if not r["pringle"]]
    onset = next((r["diameter_mm"] for r in perfused if r["heat_sink"]), None)
    agreement = {
        "no heat sink at <= 2 mm (published 0/96 below 2 mm, 3/111 below 3 mm)":
            all(not r["heat_sink"] for r in perfused if r["diameter_mm"] <= 2.0),
        "heat sink at >= 6 mm (published 7/7 above 5 mm)": all(r["heat_sink"] for r in perfused if r["diameter_mm"] >= 6.0),
        "onset within the published 2-4 mm transition": onset is not None and 2.0 < onset <= 4.0,
        "no heat sink with Pringle (vessels removed)": all(not r["heat_sink"] for r in rows if r["pringle"]),
    }
    commit = recording.commit()
    case = ("a 2 mm heating probe, 95 degC wall, 10 min, 0.75 mm cells" if probe == "thermal" else
            "a cooled 17 G needle with a 30 mm tip, 200 W impedance control, 12 min, 1 mm cells")
    record = {"date": recording.utc_now(), "commit": commit, "probe": probe, "model_case": case,
              "source": "Lu DS et al., AJR 178:47-51, 2002 (in vivo porcine liver, RF)", "published": published,
              "wall_gap_mm": gap, "rim_threshold_mm": threshold,
              "zone_radius_without_vessel_mm": {"perfused": baseline[False], "pringle": baseline[True]},
              "model_onset_diameter_mm": onset, "agreement": agreement, "zone_model": DEFAULT_MODEL, "rows": rows}
    out = ROOT / "benchmarks" / "results"
    lines = ["# Heat sink next to a vessel: model against Lu et al. 2002", "",
             f"{record['date']}, commit {commit[:12]}, zone model {DEFAULT_MODEL}; {case}. Probe axis to near "
             f"vessel wall {gap:g} mm; zone radius without a vessel {baseline[False]:.2f} mm (perfused), "
             f"{baseline[True]:.2f} mm (Pringle). Heat sink: unablated rim > {threshold:g} mm. The radius towards "
             "the vessel is read up to its near wall.", "",
             "| vessel (mm) | inflow | zone radius toward / away (mm) | rim (mm) | deformation (mm) | heat sink | volume (mL) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['diameter_mm']:g} | {'Pringle' if r['pringle'] else 'open'} | {r['zone_radius_toward_mm']:.2f} / "
                     f"{r['zone_radius_away_mm']:.2f} | {r['rim_mm']:.2f} | {r['deformation_mm']:.2f} | "
                     f"{'yes' if r['heat_sink'] else 'no'} | {r['volume_ml']:.2f} |")
    lines += ["", "Published (Lu et al. 2002, viable perivascular tissue): " +
              ", ".join(f"{k}: {v}" for k, v in published.items()), "",
              "Agreement:", ""] + [f"- {k}: {'yes' if v else 'NO'}" for k, v in agreement.items()]
    stem = "validation-heat-sink" + ("-rf" if probe == "rf" else "")
    recording.write(out, stem, record, "\n".join(lines) + "\n", echo=False)


if __name__ == "__main__":
    main()

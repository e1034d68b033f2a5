"""Zone size against ablation time: a clustered cooled electrode against Goldberg SN, Solbiati L et
al., "Large-volume tissue ablation with radio frequency by using a clustered, internally cooled
electrode technique" (abstract; https://moh-it.pure.elsevier.com/en/publications/large-volume-tissue-ablation-with-radio-frequency-by-using-a-clus;
the stored page shows no journal or year). Three internally cooled electrodes 5 mm apart fed
simultaneously; coagulation diameter ex vivo 4.7 +/- 0.1 cm at 15 min, 6.2 +/- 0.1 at 30 min,
7.0 +/- 0.2 at 45 min; in vivo 3.1 +/- 0.2 cm at 12 min. Held-out rows rfa_gcluster_*; their
assumptions were fixed in split.csv before the first run: 25 mm tips (15-30 mm studied), 17 G, and
200 W impedance control standing in for the published hand-set current control (1400-2150 mA peak),
which has no library law. Nothing is fitted: the default zone model (named in the results file), library
tissue; ex vivo = no perfusion, tissue and boundary at 20 degC.

The series is read from one 45 min run (lesion of the run's criterion at every 5 min snapshot):
diameter = the zone's short axis (across the needles). Two comparisons:

* absolute: each published diameter against the model's at that time (z with the published SD; the
  tip length and the generator are assumptions, so a level offset is expected);
* shape: d(15)/d(45) and d(30)/d(45), with the published SDs propagated; the shape does not
  depend on a level offset common to all times.

    python benchmarks/validation/size_vs_time.py [--workers 2] [--max-current AMPERE]

writes benchmarks/results/validation-size-vs-time.md, .json and .png (commit and date). The same
runs are the case ``cluster_size_against_time`` of ``ablation bench --suite validation``.

``--max-current`` is a diagnostic, not a validation result: split.csv assumes no current limit. It
caps the same 200 W generator at a current, I^2 Z <= P (``rfa.max_current``), so it delivers a
constant current until the power limit or a roll-off, as the published hand-set current control did;
run at the two ends of the published peak range (1.4 and 2.15 A), it writes
validation-size-vs-time-max-current-<I>A.*.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ablation.benchmarks import _recording as recording
from ablation.bench import Metric, case
from ablation.input.models import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ("Goldberg SN, Solbiati L et al., clustered internally cooled electrode (abstract; journal and year "
          "not on the stored page)")
TIP_MM = 25.0
NEEDLE_SPACING_MM = 5.0
SPACING_MM = 1.5
EX_VIVO_SERIES = {15.0: (4.7, 0.1), 30.0: (6.2, 0.1), 45.0: (7.0, 0.2)}   # min: (diameter cm, SD)
IN_VIVO_12MIN = (3.1, 0.2)


def scenario(in_vivo: bool, minutes: float, spacing_mm: float = SPACING_MM, max_current: float | None = None):
    from ablation.input.scenario import scenario_from_dict
    r = NEEDLE_SPACING_MM / math.sqrt(3.0)
    probes = [{"name": f"needle {k + 1}", "tip": [round(r * math.cos(math.pi / 2 + 2 * math.pi * k / 3), 4),
                                                 round(r * math.sin(math.pi / 2 + 2 * math.pi * k / 3), 4), 0.0],
               "direction": [0, 0, 1], "diameter": "1.47 mm", "active_length": f"{TIP_MM:g} mm",
               "rfa": {"electrode": "cooled_needle"}} for k in range(3)]
    tissue = {"preset": "liver"} if in_vivo else {"preset": "liver", "perfusion": "0 1/s",
                                                  "initial_temperature": "20 degC", "boundary_temperature": "20 degC"}
    table = {
        "name": f"cluster-{'invivo' if in_vivo else 'exvivo'}-{minutes:g}min", "modality": "rfa",
        "tissue": tissue, "probes": probes,
        "rfa": {"protocol": "impedance_control", "power": "200 W", "off_time": "15 s",
                **({} if max_current is None else {"max_current": f"{max_current:g} A"})},
        "domain": {"size": "100 mm" if in_vivo else "150 mm", "center": [0, 0, -TIP_MM / 2]},
        "grid": {"kind": "3d", "spacing": f"{spacing_mm:g} mm", "max_spacing": "6 mm", "fine_margin": "10 mm",
                 "growth": 1.25},
        "time": {"duration": f"{minutes:g} min", "step": "2 s", "refine": False, "output_interval": "5 min"},
        "outputs": {"scene": False},
    }
    return scenario_from_dict(table)


def solve(in_vivo: bool, minutes: float, max_current: float | None = None) -> dict:
    from ablation.input.models import zone_uncertainty
    from ablation.outcome.zone_band import ZoneParameter, lesion_uncertainty
    from ablation.physics.damage import lesion_size, parse_criterion
    from ablation.pipeline import simulate
    start = time.perf_counter()
    result = simulate(scenario(in_vivo, minutes, max_current=max_current), zone_uncertainty=False)
    wall = time.perf_counter() - start
    criterion = parse_criterion(result.summary["lesion"]["criterion"])
    # each snapshot's band, as a run reports its final one (the model's edge temperature and discrepancy)
    model = result.scenario.model
    parameter = ZoneParameter(**zone_uncertainty(model)["heat"])
    series = []
    for t, fields in result.snapshots:
        if t <= 0.0:
            continue
        size = lesion_size(result.domain, criterion.level(fields))
        band = lesion_uncertainty(result, parameter, model, fields=fields)["range_5_95"]["short_axis_mm"]
        series.append({"minutes": t / 60.0, "diameter_cm": size["short_axis_mm"] / 10.0,
                       "diameter_band_cm": [band["p5"] / 10.0, band["p95"] / 10.0],
                       "long_axis_cm": size["long_axis_mm"] / 10.0, "volume_ml": size["volume_ml"]})
    device = result.summary["device"]
    return {"in_vivo": in_vivo, "minutes": minutes, "criterion": result.summary["lesion"]["criterion"],
            "series": series, "energy_J": device["energy_J"], "rolloffs": device["rolloffs"]["count"],
            "cells": int(result.domain.n_cells), "wall_s": wall,
            "domain": {k: result.summary["domain"].get(k) for k in ("size_mm", "warning", "boundary_conducted_deviation_C")}
            if isinstance(result.summary["domain"], dict) else None}


def _at(series: list[dict], minutes: float, key: str = "diameter_cm"):
    return next(p[key] for p in series if abs(p["minutes"] - minutes) < 1e-6)


def compare(ex_vivo: dict, in_vivo: dict | None) -> dict:
    """Absolute z per published row, and the shape ratios against the published ones."""
    rows = [{"id": f"rfa_gcluster_exvivo_{m:g}min_diam", "minutes": m, "published_cm": v, "sd_cm": sd,
             "model_cm": _at(ex_vivo["series"], m), "z": (_at(ex_vivo["series"], m) - v) / sd,
             "model_band_cm": _at(ex_vivo["series"], m, "diameter_band_cm")}
            for m, (v, sd) in EX_VIVO_SERIES.items()]
    if in_vivo is not None:
        v, sd = IN_VIVO_12MIN
        point = next((p for p in in_vivo["series"] if abs(p["minutes"] - 12.0) < 1e-6), in_vivo["series"][-1])
        d = point["diameter_cm"]
        rows.append({"id": "rfa_gcluster_invivo_12min_diam", "minutes": 12.0, "published_cm": v, "sd_cm": sd,
                     "model_cm": d, "z": (d - v) / sd, "model_band_cm": point["diameter_band_cm"]})
    v45, sd45 = EX_VIVO_SERIES[45.0]
    shape = []
    for m in (15.0, 30.0):
        v, sd = EX_VIVO_SERIES[m]
        ratio = v / v45
        ratio_sd = ratio * math.hypot(sd / v, sd45 / v45)
        model = _at(ex_vivo["series"], m) / _at(ex_vivo["series"], 45.0)
        shape.append({"ratio": f"d({m:g} min) / d(45 min)", "published": ratio, "sd": ratio_sd, "model": model,
                      "z": (model - ratio) / ratio_sd})
    return {"rows": rows, "shape": shape}


def table_readings(record: dict):
    """(row id, model value, 5-95 % band or None, boundary deviation K or None, warnings) of each
    published row in a stored results record of this benchmark, each with its own run's domain
    checks; the published-rows table reads them (benchmarks/validation/published_rows.py)."""
    for run, marker in (("ex_vivo_run", "_exvivo_"), ("in_vivo_run", "_invivo_")):
        domain = record[run].get("domain") or {}
        warnings = [domain["warning"]] if domain.get("warning") else []
        for r in record["rows"]:
            if marker in r["id"]:
                yield r["id"], r["model_cm"], r.get("model_band_cm"), domain.get("boundary_conducted_deviation_C"), warnings


def _runs(workers: int, max_current: float | None = None) -> tuple[dict, dict]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        ex = pool.submit(solve, False, 45.0, max_current)
        inv = pool.submit(solve, True, 12.0, max_current)
        return ex.result(), inv.result()


@case(quick=False)
def cluster_size_against_time(ctx):
    """Held out (rfa_gcluster_*): the shape of the ex vivo series within 2 SD; absolute diameters
    reported against 2 SD (assumed tip length and generator)."""
    ex_vivo, in_vivo = solve(False, 45.0), solve(True, 12.0)
    result = compare(ex_vivo, in_vivo)
    metrics = [Metric(f"{r['id']}", r["model_cm"], r["published_cm"], 2 * r["sd_cm"], "cm", "within",
                      note=f"held out; z {r['z']:+.2f}") for r in result["rows"]]
    metrics += [Metric(s["ratio"], s["model"], s["published"], 2 * s["sd"], "1", "within",
                       note=f"shape of the series; z {s['z']:+.2f}") for s in result["shape"]]
    return metrics


def plot(ex_vivo: dict, path: Path, generator: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = [p["minutes"] for p in ex_vivo["series"]]
    d = [p["diameter_cm"] for p in ex_vivo["series"]]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    pub_t = list(EX_VIVO_SERIES)
    pub_d = [EX_VIVO_SERIES[m][0] for m in pub_t]
    pub_sd = [EX_VIVO_SERIES[m][1] for m in pub_t]
    axes[0].plot(t, d, "o-", label=f"model ({generator}, 25 mm tips)")
    if all("diameter_band_cm" in p for p in ex_vivo["series"]):
        axes[0].fill_between(t, [p["diameter_band_cm"][0] for p in ex_vivo["series"]],
                             [p["diameter_band_cm"][1] for p in ex_vivo["series"]], alpha=0.2,
                             label="model 5-95 % band (edge temperature, discrepancy)")
    axes[0].errorbar(pub_t, pub_d, yerr=pub_sd, fmt="s", color="k", capsize=3, label="Goldberg et al. (ex vivo)")
    axes[0].set(xlabel="ablation time (min)", ylabel="coagulation diameter (cm)", title="absolute")
    d45, p45 = d[t.index(45.0)] if 45.0 in t else d[-1], EX_VIVO_SERIES[45.0][0]
    axes[1].plot(t, [x / d45 for x in d], "o-", label="model / model at 45 min")
    axes[1].errorbar(pub_t, [x / p45 for x in pub_d],
                     yerr=[x / p45 * math.hypot(s / x, EX_VIVO_SERIES[45.0][1] / p45) for x, s in zip(pub_d, pub_sd)],
                     fmt="s", color="k", capsize=3, label="published / published at 45 min")
    axes[1].set(xlabel="ablation time (min)", ylabel="diameter / diameter at 45 min", title="shape")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-current", type=float, default=None, metavar="AMPERE",
                        help="diagnostic: cap the generator's current (not split.csv's assumption)")
    args = parser.parse_args(argv)
    if args.max_current is not None and not 0.0 < args.max_current <= 10.0:
        parser.error(f"--max-current {args.max_current:g}: expected a current in A, above 0 and at most 10")
    commit = recording.commit()
    ex_vivo, in_vivo = _runs(args.workers, args.max_current)
    print(json.dumps(ex_vivo), flush=True)
    print(json.dumps(in_vivo), flush=True)
    result = compare(ex_vivo, in_vivo)
    generator = "200 W impedance control" + ("" if args.max_current is None else f", current at most {args.max_current:g} A")
    record = {"date": recording.utc_now(), "commit": commit,
              "source": SOURCE, "generator": generator, "max_current_A": args.max_current,
              "ex_vivo_run": ex_vivo, "in_vivo_run": in_vivo, "zone_model": DEFAULT_MODEL, **result}
    out = ROOT / "benchmarks" / "results"
    stem = "validation-size-vs-time" + ("" if args.max_current is None else f"-max-current-{args.max_current:g}A")
    heading = "# Zone size against ablation time: clustered cooled electrode against Goldberg et al."
    if args.max_current is not None:
        heading += f" (diagnostic: current at most {args.max_current:g} A, not split.csv's assumption)"
    lines = [heading, "",
             f"{record['date']}, commit {commit[:12]}; {SOURCE}. Three cooled 17 G needles 5 mm apart, "
             f"{TIP_MM:g} mm tips, one channel, {generator} (stand-in for the published current "
             f"control), default zone model; 3-D grid {SPACING_MM:g} mm fine cells; no time-step check. "
             "Diameter = the zone's short axis.", "",
             "| time (min) | model diameter (cm) | its 5-95 % band (cm) | long axis (cm) | volume (mL) |",
             "|---|---|---|---|---|"]
    lines += [f"| {p['minutes']:g} | {p['diameter_cm']:.2f} | {p['diameter_band_cm'][0]:.2f}-"
              f"{p['diameter_band_cm'][1]:.2f} | {p['long_axis_cm']:.2f} | {p['volume_ml']:.1f} |"
              for p in ex_vivo["series"]]
    lines += ["", "| row | time (min) | model (cm) | model 5-95 % (cm) | published (cm) | z |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['id']} | {r['minutes']:g} | {r['model_cm']:.2f} | {r['model_band_cm'][0]:.2f}-"
              f"{r['model_band_cm'][1]:.2f} | {r['published_cm']:g} +/- {r['sd_cm']:g} | {r['z']:+.2f} |"
              for r in result["rows"]]
    lines += ["", "| shape | model | published | z |", "|---|---|---|---|"]
    lines += [f"| {s['ratio']} | {s['model']:.3f} | {s['published']:.3f} +/- {s['sd']:.3f} | {s['z']:+.2f} |"
              for s in result["shape"]]
    lines += ["", f"Energy: ex vivo 45 min {ex_vivo['energy_J'] / 1e3:.1f} kJ ({ex_vivo['rolloffs']} roll-offs, "
              f"{ex_vivo['cells']} cells, {ex_vivo['wall_s']:.0f} s wall); in vivo 12 min "
              f"{in_vivo['energy_J'] / 1e3:.1f} kJ ({in_vivo['rolloffs']} roll-offs, {in_vivo['wall_s']:.0f} s wall).",
              "", f"![diameter against time]({stem}.png)"]
    # written after both runs: an interrupted benchmark leaves the old files whole
    plot(ex_vivo, out / f"{stem}.png", generator)
    recording.write(out, stem, record, "\n".join(lines) + "\n", echo=False)


if __name__ == "__main__":
    main()

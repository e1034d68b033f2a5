"""How much the placement answers rest on the tip-error presets: the same solved zones under the
default preset set ('assumed-2026.11') and under 'literature-proxy-2026.12' (docs/physics.md 4).

No study gives a freehand open (IOUS) or laparoscopic (LUS) tip error in mm, so the default open
and laparoscopic presets are assumptions, and the percutaneous one comes from a phantom. The proxy
set takes the nearest published figures instead (patients for percutaneous, a navigated LUS
porcine study for laparoscopic, freehand-US phantoms and navigated open surgery for open). This
benchmark measures what changes when one set replaces the other; nothing is fitted.

Three parts, each solve done once and every preset set's Monte Carlo run on it with the same draws:

1. ``scenarios/showcase.toml`` and ``scenarios/compare_approaches.toml``: P(technical success) and
   P(MAM >= 5 mm) per approach, and whether open >= laparoscopic >= percutaneous still holds.
2. The stored percutaneous 17 G cryo plans of the planning benchmark
   (benchmarks/results/planning-cryo_17g.json, 1.5 / 2.5 / 3.5 cm), solved again as the plan's
   verification solves them: what the plans made for the assumed errors reach under the proxy.
3. ``scenarios/plan_rfa_cooltip.toml`` (one cooled needle, axisymmetric) planned under each set.

    python benchmarks/validation/placement_presets.py [--parts 1,2,3]

writes benchmarks/results/validation-placement-presets.md and .json (commit and date). Research use only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "planning"))

from ablation.benchmarks import _recording as recording  # noqa: E402
from ablation.outcome import placement as pl  # noqa: E402
from ablation.outcome.placement.error_models import DEFAULT_PRESET_SET, PRESET_SETS  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
STEM = "validation-placement-presets"
SETS = tuple(PRESET_SETS)
MM = 1e-3


def probabilities(result, section, samples: int, seed: int, draws) -> dict:
    """Every approach's P(technical success) and P(MAM >= 5 mm) under every preset set, one solve."""
    out = {}
    for name in SETS:
        # resolve_check 0: the move_tumor error of a material tumour is a diagnostic of the method, the
        # same under every set, and each check re-solves samples
        with_set = section.replaced(error_presets=name, resolve_check=0)
        per = {}
        for approach in pl.APPROACHES:
            model = pl.error_model(with_set, approach, pringle=False)
            mc = pl.monte_carlo(result, model, samples, seed, section=with_set, draws=draws)
            table = mc.sample_table
            mam = np.min(table.min_margin_mm, axis=1)
            success = np.all(table.technical_success, axis=1)
            per[approach] = {"sigma_mm": model.sigma_across / MM, "p_technical_success": float(np.mean(success)),
                             "p_margin_5mm": float(np.mean(mam >= 5.0)),
                             "p_margin_5mm_ci95": list(pl.wilson(int(np.sum(mam >= 5.0)), mam.size)),
                             "median_mam_mm": float(np.median(mam)), "method": mc.method, "samples": int(mam.size)}
        ranked = [per[a]["p_margin_5mm"] for a in ("open", "laparoscopic", "percutaneous")]
        out[name] = {"approaches": per, "ranking_holds": bool(ranked[0] >= ranked[1] >= ranked[2])}
    return out


def scenario_rows() -> list[dict]:
    from ablation.input.scenario import load_scenario
    from ablation.pipeline import simulate
    rows = []
    for stem in ("showcase", "compare_approaches"):
        scenario = load_scenario(ROOT / "scenarios" / f"{stem}.toml")
        started = time.perf_counter()
        result = simulate(scenario.replaced(placement=scenario.placement.replaced(enabled=False)),
                          zone_uncertainty=False)
        section = scenario.placement
        draws = pl.standard_draws(section.seed, section.samples, max(1, len(scenario.probes)))
        rows.append({"case": f"scenarios/{stem}.toml", "solve_s": time.perf_counter() - started,
                     "nominal_mam_mm": min(t["min_margin_mm"] for t in result.summary.tumors),
                     "sets": probabilities(result, section, section.samples, section.seed, draws)})
        print(json.dumps(rows[-1], default=float)[:600], flush=True)
    return rows


def stored_plan_rows() -> list[dict]:
    from ablation.planning.objective import Layout
    from ablation.planning.spec import plan_spec
    from ablation.planning.verify import verify
    from plan_benchmark import case_scenario
    stored = json.loads((RESULTS / "planning-cryo_17g.json").read_text())
    rows = []
    for row in sorted(stored["rows"], key=lambda r: r["size_mm"]):
        plan = row["plan"]
        scenario = case_scenario("cryo_17g", row["size_mm"], {}, False)
        spec = plan_spec(scenario)
        layout = Layout(tips=np.array([p["tip_mm"] for p in plan["probes"]]) * MM,
                        directions=np.array([p["direction"] for p in plan["probes"]]),
                        duration=plan["duration_min"] * 60.0)
        started = time.perf_counter()
        verification = verify(scenario, layout, [plan["approach"]], spec, spec.objective, spec.margin,
                              spec.quantile)
        result = verification.result
        rows.append({"case": f"17 G cryo plan, {row['size_mm']:g} mm tumour, {plan['count']} needles "
                             f"(planning-cryo_17g.json, commit {stored['commit']})",
                     "solve_s": time.perf_counter() - started, "stored_nominal_mam_mm": plan["solved_nominal_mam_mm"],
                     "nominal_mam_mm": verification.nominal_mam_mm,
                     "stored_p_percutaneous": plan["objective"],
                     "sets": probabilities(result, result.scenario.placement, spec.verify_samples, spec.seed,
                                           verification.draws)})
        print(json.dumps(rows[-1], default=float)[:600], flush=True)
    return rows


def single_probe_plans() -> list[dict]:
    import copy

    from ablation.input.scenario import load_scenario, scenario_from_dict
    from ablation.planning import plan
    base = load_scenario(ROOT / "scenarios" / "plan_rfa_cooltip.toml")
    rows = []
    for name in SETS:
        raw = copy.deepcopy(base.raw)     # the plan's solves are built from the raw table
        raw["placement"]["error_presets"] = name
        scenario = scenario_from_dict(raw, source=base.source)
        started = time.perf_counter()
        report = plan(scenario, require_target=False).report
        plans = {}
        for a in report["approaches"]:
            assert a["error_model"]["preset_set"] == name, a["error_model"]
            solved = a.get("objective") is not None
            plans[a["approach"]] = {"objective": a["objective"] if solved else a["surrogate_objective"],
                                    "ci95": a.get("objective_ci95"), "solved": solved,
                                    "naive": a.get("naive_objective", a["naive_surrogate_objective"]),
                                    "reached_target": bool(a.get("reached_target"))}
        rows.append({"preset_set": name, "wall_s": time.perf_counter() - started, "objective": scenario.plan.objective,
                     "target": scenario.plan.target, "plans": plans, "tip_mm": report["plan"]["probes"][0]["tip_mm"]})
        print(json.dumps(rows[-1], default=float)[:600], flush=True)
    return rows


def short(case: str) -> str:
    return case.split(" (planning")[0]


def write(data: dict) -> None:
    lines = [f"# Placement presets: assumed against literature proxies ({data['date']}, commit {data['commit']})", "",
             "Generated by `benchmarks/validation/placement_presets.py`. Per-axis tip-error sigma (mm) of each "
             "set (docs/physics.md 4):", "",
             "| preset set | open | laparoscopic | percutaneous |", "|---|---|---|---|"]
    for name in SETS:
        s = PRESET_SETS[name]
        lines.append(f"| {name}{' (default)' if name == DEFAULT_PRESET_SET else ''} | "
                     + " | ".join(f"{s[a]['sigma_across'][0] / MM:g}" for a in ("open", "laparoscopic", "percutaneous"))
                     + " |")
    lines += ["", "P(MAM >= 5 mm) [percutaneous 95 %] on the same solve and the same draws; 'order' is open >= "
              "laparoscopic >= percutaneous.", "",
              "| case | nominal MAM (mm) | preset set | P open | P laparoscopic | P percutaneous [95 %] | "
              "P(technical success) open / lap / perc | order |", "|---|---|---|---|---|---|---|---|"]
    for row in data.get("solved", []):
        for name, s in row["sets"].items():
            a = s["approaches"]
            perc = a["percutaneous"]
            lines.append(f"| {short(row['case'])} | {row['nominal_mam_mm']:.2f} | {name} | {a['open']['p_margin_5mm']:.3f} | "
                         f"{a['laparoscopic']['p_margin_5mm']:.3f} | {perc['p_margin_5mm']:.3f} "
                         f"[{perc['p_margin_5mm_ci95'][0]:.3f}, {perc['p_margin_5mm_ci95'][1]:.3f}] | "
                         + " / ".join(f"{a[k]['p_technical_success']:.3f}" for k in ("open", "laparoscopic", "percutaneous"))
                         + f" | {'holds' if s['ranking_holds'] else 'does not hold'} |")
    stored = [r for r in data.get("solved", []) if "stored_p_percutaneous" in r]
    if stored:
        lines += ["", "Stored plans solved again: nominal MAM now / stored, P(MAM >= 5 mm) percutaneous stored "
                  "(assumed presets) - the first check that the re-solve is the plan that was verified "
                  "(benchmarks/results/planning-cryo_17g.json, each plan's percutaneous layout):", ""]
        lines += [f"- {short(r['case'])}: {r['nominal_mam_mm']:.2f} / {r['stored_nominal_mam_mm']:.2f} mm, "
                  f"{r['sets'][DEFAULT_PRESET_SET]['approaches']['percutaneous']['p_margin_5mm']:.3f} / "
                  f"{r['stored_p_percutaneous']:.3f} (solve {r['solve_s']:.0f} s)" for r in stored]
    if data.get("single_probe_plans"):
        first = data["single_probe_plans"][0]
        lines += ["", f"`scenarios/plan_rfa_cooltip.toml` (one cooled needle; objective {first['objective']}, target "
                  f"{first['target']:g}) planned under each set: each approach's best one-needle plan (solved, or "
                  "the search's value where marked), [95 %], and the naive centred needle's:", "",
                  "| preset set | open | laparoscopic | percutaneous | wall (s) |", "|---|---|---|---|---|"]
        for r in data["single_probe_plans"]:
            cells = []
            for a in ("open", "laparoscopic", "percutaneous"):
                p = r["plans"][a]
                ci = f" [{p['ci95'][0]:.3f}, {p['ci95'][1]:.3f}]" if p.get("ci95") else ""
                cells.append(f"{p['objective']:.3f}{ci}{'' if p['solved'] else ' (search)'} "
                             f"(naive {p['naive']:.3f}){', target reached' if p['reached_target'] else ''}")
            lines.append(f"| {r['preset_set']} | " + " | ".join(cells) + f" | {r['wall_s']:.0f} |")
    lines += ["", "Research use only: the proxies are not freehand open or laparoscopic measurements "
              "(docs/physics.md 4)."]
    recording.write(RESULTS, STEM, data, "\n".join(lines) + "\n", echo=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="1,2,3")
    parts = {int(p) for p in ap.parse_args().parts.split(",")}
    data = {"commit": recording.commit(), "date": recording.utc_now(),
            "preset_sets": {n: {a: PRESET_SETS[n][a]["sigma_across"][0] / MM for a in pl.APPROACHES} for n in SETS},
            "solved": []}
    stored = RESULTS / f"{STEM}.json"
    if stored.exists() and parts != {1, 2, 3}:
        # a partial run keeps the stored parts it does not redo, each with the commit it ran at
        previous = json.loads(stored.read_text())
        keep = {1: "scenarios/", 2: "17 G cryo plan"}
        data["solved"] = [r for r in previous.get("solved", [])
                          if any(r["case"].startswith(prefix) for k, prefix in keep.items() if k not in parts)]
        if 3 not in parts and previous.get("single_probe_plans"):
            data["single_probe_plans"] = previous["single_probe_plans"]
        data["commit"] = ", ".join(dict.fromkeys([previous["commit"], data["commit"]]))
    if 1 in parts:
        data["solved"] += scenario_rows()
        write(data)
    if 2 in parts:
        data["solved"] += stored_plan_rows()
        write(data)
    if 3 in parts:
        data["single_probe_plans"] = single_probe_plans()
        write(data)
    print((RESULTS / f"{STEM}.md").read_text())


if __name__ == "__main__":
    main()

"""``ablation compare FILE``: the same tumour(s) and device under each placement approach, with and
without inflow occlusion (Pringle) where the approach allows it, side by side.

The solve depends only on whether inflow is occluded, so each occlusion state is solved once and
every approach's Monte Carlo reuses it with the *same* standard-normal draws (common random
numbers): a difference between approaches is the effect of their error model, not sampling noise.
With ``[[placement.insertions]]`` every sample is re-solved as a sequence of ablations and the
table gains one row per number of insertions, showing what a second or third overlapping ablation
buys under each approach.

Writes comparison.csv, comparison.md and comparison.json (atomically). The rows are model
predictions for a research question, not advice.
"""
from __future__ import annotations

import logging

from ablation.outcome import coverage as cov
from ablation.outcome import placement as pl
from ablation.run.estimate import CommandSolves, estimate, placement_solves
from ablation.run.time_loop import run
from ablation.run.transforms import apply_transforms

log = logging.getLogger(__name__)

COLUMNS = ("approach", "pringle", "insertions", "method", "samples", "sigma_along_mm", "sigma_across_mm",
           "p_technical_success", "p_technical_success_ci_low", "p_technical_success_ci_high",
           "p_margin_5mm", "p_margin_5mm_ci_low", "p_margin_5mm_ci_high",
           "p_margin_10mm", "p_margin_10mm_ci_low", "p_margin_10mm_ci_high",
           "median_coverage", "coverage_q05", "median_min_margin_mm", "planned_coverage",
           "planned_min_margin_mm", "lesion_volume_ml")


def compare(scenario, approaches: list, samples: int | None = None, seed: int | None = None,
            pringle_options: bool = True, executor=None, progress=None) -> dict:
    """Run the comparison; returns the comparison.json content (rows and ranking check)."""
    section = scenario.placement
    samples = samples or section.samples
    seed = section.seed if seed is None else seed
    n_ins = 1 + len(section.insertions or ())
    draws = pl.standard_draws(seed, samples, max(n_ins, len(scenario.probes)))
    states = [False] + ([True] if pringle_options and any(pl.PRESETS[a]["pringle_available"][0]
                                                           for a in approaches) else [])
    solved, planned_sequence = {}, {}
    for flag in states:
        variant = pl.with_pringle(scenario, flag)
        result = run(apply_transforms(variant))
        cov.coverage_analysis(result)
        solved[flag] = result
        log.info(f"  solved {'with' if flag else 'without'} Pringle: lesion "
                 f"{result.summary.lesion.volume_ml:.2f} mL in {result.summary.runtime_s:.1f} s")
        if n_ins > 1:   # the planned sequence, without placement error
            planned_sequence[flag] = [
                pl.sample_metrics(grid, fields, variant, result.summary.lesion.criterion, section.surface_points)
                for grid, fields in pl.run_sequence(variant, pl.planned_insertions(variant), section.gap)]
    rows = []
    for approach in approaches:
        for flag in states:
            if flag and not pl.PRESETS[approach]["pringle_available"][0]:
                continue
            result = solved[flag]
            model = pl.error_model(section, approach, pringle=flag)
            mc = pl.monte_carlo(result, model, samples, seed, section=result.scenario.placement, draws=draws,
                                executor=executor, progress=progress)
            planned = result.summary.tumors
            for block in mc.blocks():
                if flag in planned_sequence:
                    cov_k, mam_k, _ = planned_sequence[flag][block.insertions - 1]
                    planned = [{"coverage": c, "min_margin_mm": m} for c, m in zip(cov_k, mam_k)]
                rows.append(_row(approach, flag, block, mc, model, planned, result))
            log.info(f"  {approach:13s} pringle={'yes' if flag else 'no ':3s} P(success) "
                     f"{mc.overall['p_technical_success']:.3f} ({mc.method}, {mc.samples} samples)")
    return {"scenario": scenario.name, "criterion": solved[False].summary.lesion.criterion,
            "seed": seed, "samples": samples, "common_random_numbers": True,
            "approaches": {a: pl.error_model(section, a, pringle=False).describe() for a in approaches},
            "rows": rows, "ranking": ranking(rows),
            "note": "model predictions for research, not clinical advice"}


def compare_solves(scenario, approaches: list, pringle_options: bool = True) -> CommandSolves:
    """What :func:`compare` will solve, before it starts: one run per occlusion state, and per
    approach and state the placement re-solves its Monte Carlo makes (with insertions or the
    'resolve' method; :func:`ablation.run.estimate.placement_solves`), plus with insertions the
    planned sequence once per state."""
    states = [False] + ([True] if pringle_options and any(pl.PRESETS[a]["pringle_available"][0]
                                                           for a in approaches) else [])
    parts = []
    for flag in states:
        variant = pl.with_pringle(scenario, flag)
        run_ = estimate(variant)
        occlusion = "with inflow occlusion" if flag else "without inflow occlusion"
        parts.append((f"run {occlusion}", 1, run_.seconds))
        resolves = placement_solves(variant, run_)
        if resolves is not None:
            runs = sum(1 for a in approaches if not flag or pl.PRESETS[a]["pringle_available"][0])
            parts.append((f"re-solved placement samples {occlusion} ({resolves.field} per approach)",
                          runs * resolves.samples, resolves.seconds / resolves.samples))
            if resolves.ablations > 1:
                parts.append((f"planned insertion sequence {occlusion}", 1, resolves.seconds / resolves.samples))
    return CommandSolves("compare", tuple(parts))


def _row(approach, flag, block: pl.InsertionsBlock, mc: pl.MonteCarloResult, model, planned, result) -> dict:
    o = block.overall
    per = block.per_tumor
    row = {"approach": approach, "pringle": flag, "insertions": block.insertions, "method": mc.method,
           "samples": mc.samples, "sigma_along_mm": model.sigma_along / pl.MM,
           "sigma_across_mm": model.sigma_across / pl.MM}
    for key in ("p_technical_success", "p_margin_5mm", "p_margin_10mm"):
        row[key] = o[key]
        row[key + "_ci_low"], row[key + "_ci_high"] = o["ci95"][key]
    row["median_coverage"] = min(t["coverage_quantiles"]["q50"] for t in per)
    row["coverage_q05"] = min(t["coverage_quantiles"]["q05"] for t in per)
    row["median_min_margin_mm"] = _smallest_margin(t["min_margin_mm_quantiles"]["q50"] for t in per)
    row["planned_coverage"] = min(t["coverage"] for t in planned)
    row["planned_min_margin_mm"] = _smallest_margin(t["min_margin_mm"] for t in planned)
    row["lesion_volume_ml"] = result.summary.lesion.volume_ml   # the first ablation's
    return row


def _smallest_margin(values):
    """The worst tumour's margin (mm); None when a tumour has none (no zone reached it): that is worst."""
    values = list(values)
    if any(v is None or v != v for v in values):
        return None
    return min(values)


def ranking(rows: list) -> dict:
    """Consistency check: P(technical success) open >= laparoscopic >= percutaneous, same device,
    no inflow occlusion, per number of insertions."""
    out = {"order": ["open", "laparoscopic", "percutaneous"], "holds": True, "significant_violation": False,
           "by_insertions": {}}
    for k in sorted({r["insertions"] for r in rows}):
        sel = {r["approach"]: r for r in rows if not r["pringle"] and r["insertions"] == k}
        seq = [sel[a] for a in out["order"] if a in sel]
        holds = all(a["p_technical_success"] >= b["p_technical_success"] for a, b in zip(seq, seq[1:]))
        # a violation whose two 95 % intervals overlap may be sampling noise
        significant = any(a["p_technical_success_ci_high"] < b["p_technical_success_ci_low"]
                          for a, b in zip(seq, seq[1:]))
        out["by_insertions"][str(k)] = {"p_technical_success": {a: r["p_technical_success"] for a, r in sel.items()},
                                        "holds": holds, "significant_violation": significant}
        out["holds"] = out["holds"] and holds
        out["significant_violation"] = out["significant_violation"] or significant
    return out

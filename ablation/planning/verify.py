"""The final plan, solved for real: the scenario of the plan (every probe placed, the protocol set,
tumours and vessels as given) through :func:`ablation.pipeline.simulate` (a 3-D solve for several
probes - never superposed) with the placement Monte Carlo of each approach on the same draws, and
the surrogate's error against that solve (nominal MAM; interacting zones such as merging iceballs
are in the solve, not in the surrogate). No files, no screen."""
from __future__ import annotations

import copy
import time as wallclock
from dataclasses import dataclass

import numpy as np

from ablation.input.scenario import scenario_from_dict
from ablation.outcome import placement as pl
from ablation.pipeline import simulate
from ablation.planning.objective import Layout, quantile_interval
from ablation.planning.zones import MM, protocol_changes

def plan_raw(scenario, layout: Layout, approach: str, samples: int, seed: int, spacing: float | None = None,
             spacing_3d: float = 1.0 * MM) -> dict:
    """The scenario table of a plan: the first probe's device at every planned tip and direction,
    the protocol of the layout's duration, [placement] for ``approach``; no [plan] section (the
    result is a scenario to run)."""
    raw = copy.deepcopy({k: v for k, v in scenario.raw.items() if k != "plan"})
    template = dict(scenario.raw["probes"][0])
    base = template.get("name") or "probe"
    probes = []
    for k in range(layout.count):
        probe = copy.deepcopy(template)
        probe["name"] = f"{base} {k + 1}" if layout.count > 1 else base
        probe["tip"] = [round(float(c) / MM, 4) for c in layout.tips[k]]
        probe["direction"] = [round(float(c), 6) for c in layout.directions[k]]
        if isinstance(probe.get("rfa"), dict):
            probe["rfa"].pop("channel", None)      # each placed needle its own generator channel
        probes.append(probe)
    raw["probes"] = probes
    raw.update(protocol_changes(scenario, layout.duration, layout.count))
    placement = dict(raw.get("placement", {}))
    if placement.get("approach", "percutaneous") != approach:
        # the scenario's sigma overrides belong to its own approach, not to this one
        for key in ("sigma_along", "sigma_across", "angular_sigma"):
            placement.pop(key, None)
    placement.update(approach=approach, samples=int(samples), seed=int(seed))
    # a material tumour's move error is measured by re-solves; the plan's verification skips them
    # unless the scenario asks (its solve already includes the tumour)
    placement.setdefault("resolve_check", 0)
    raw["placement"] = placement
    grid = dict(raw.get("grid", {}))
    if spacing is not None:
        grid["spacing"] = f"{spacing / MM:.6g} mm"
    if layout.count > 1 and (spacing or scenario.grid.spacing) < spacing_3d:
        grid["spacing"] = f"{spacing_3d / MM:.6g} mm"     # several probes: a 3-D solve (plan.spacing_3d)
    raw["grid"] = grid
    domain = dict(raw.get("domain", {}))
    domain.pop("center", None)          # centred on the plan's probes and tumours
    raw["domain"] = domain
    return raw


@dataclass
class Verification:
    """The solved plan and its Monte Carlo per approach."""
    result: object
    per_approach: dict          # approach -> {"value", "ci95", "p_margin_5mm", ..., "mam_mm" samples}
    nominal_mam_mm: float       # of the solve (worst tumour)
    solve_s: float
    method: str
    notes: list
    draws: np.ndarray | None = None     # the Monte Carlo's standard-normal draws (samples, probes, 5)
    layout: Layout | None = None        # the layout solved


def solve_layout(scenario, spec, executor=None, progress=None):
    """The real solver of layouts for the search's interaction corrections
    (:mod:`ablation.planning.interaction`): ``solve(layout) -> SolvedLayout``, the plan's scenario
    solved as the verification solves it (so the verification reuses a solve of the same layout)."""
    from ablation.outcome.coverage import Lesion
    from ablation.planning.interaction import NO_ZONE_DISTANCE, SolvedLayout

    def solve(layout: Layout) -> SolvedLayout:
        result, seconds = solve_for_verification(scenario, spec, layout, executor=executor, progress=progress)
        lesion = Lesion.from_fields(result.domain, result.fields, result.summary["lesion"]["criterion"])

        def signed_distance(world):
            # no lethal zone at all reads as the zone being far away, not -inf (the correction
            # raster subtracts it)
            return np.maximum(lesion.signed_distance(world), -NO_ZONE_DISTANCE)
        return SolvedLayout(layout, signed_distance, result, seconds)
    return solve


def solve_for_verification(scenario, spec, layout: Layout, approach: str | None = None, executor=None,
                           progress=None) -> tuple:
    """The plan's scenario with ``layout`` solved as the verification solves it, under ``approach``'s
    [placement] (default: the plan's first): (result, wall seconds). Module-level, so that a
    process pool can run it."""
    raw = plan_raw(scenario, layout, approach or spec.approaches[0], spec.verify_samples, spec.seed, spec.spacing,
                   spec.spacing_3d)
    started = wallclock.perf_counter()
    result = simulate(scenario_from_dict(raw, source=scenario.source), zone_uncertainty=False,
                      executor=executor, progress=progress)
    return result, wallclock.perf_counter() - started


def solve_side_by_side(scenario, spec, layouts: list, progress=None) -> list:
    """Verification solves of several distinct layouts, two at a time: every second layout goes to
    one spawned worker while this process solves the others, so a plan's naive and searched
    layouts (each a solve that uses one core) take the time of one on two cores. Returns
    :class:`~ablation.planning.interaction.SolvedLayout` s (no signed distance: the verification
    reads the result) in the order given; one layout, or one core, solves here alone."""
    from ablation.planning.interaction import SolvedLayout
    from ablation.run.parallel import local_pool, may_use_every_core, stop_pool
    remote_indices = list(range(1, len(layouts), 2)) if len(layouts) > 1 and may_use_every_core() else []
    pool = local_pool(1, 1) if remote_indices else None
    futures = {i: pool.submit(solve_for_verification, scenario, spec, layouts[i]) for i in remote_indices}
    out = [None] * len(layouts)
    try:
        local = solve_layout(scenario, spec, progress=progress)
        for i, layout in enumerate(layouts):
            if i not in futures:
                out[i] = local(layout)
        for i, future in futures.items():
            result, seconds = future.result()
            out[i] = SolvedLayout(layouts[i], None, result, seconds)
    except BaseException:
        if pool is not None:
            stop_pool(pool)      # a failed or interrupted plan leaves no solve running behind it
        raise
    if pool is not None:
        pool.shutdown(wait=False)
    return out


def verify(scenario, layout: Layout, approaches, spec, objective_kind: str, margin: float, quantile: float,
           executor=None, progress=None, solved=None) -> Verification:
    """Solve the plan once (or take ``solved``, a :class:`SolvedLayout` of the same layout from the
    search's corrections) and run every approach's placement Monte Carlo on the same draws."""
    if solved is not None:
        result, solve_s = solved.result, solved.solve_s
    else:
        result, solve_s = solve_for_verification(scenario, spec, layout, approaches[0], executor, progress)
    section = result.scenario.placement
    draws = pl.standard_draws(spec.seed, spec.verify_samples, max(1, layout.count))
    per = {}
    method = None
    for approach in approaches:
        model = pl.error_model(section, approach, pringle=False)
        mc = pl.monte_carlo(result, model, spec.verify_samples, spec.seed, section=section, draws=draws,
                            executor=executor, progress=progress)
        method = mc.method
        table = mc.sample_table
        mam = np.min(table.min_margin_mm, axis=1)
        success = np.all(table.technical_success, axis=1)
        per[approach] = objective_values(mam, success, objective_kind, margin, quantile)
        per[approach]["method"] = mc.method
        per[approach]["samples"] = mc.samples
        per[approach]["notes"] = list(mc.notes)
    tumors = result.summary.tumors or []
    nominal = min(t["min_margin_mm"] if t["min_margin_mm"] is not None else float("nan") for t in tumors)
    notes = []
    if layout.count > 1:
        notes.append("several probes: the solve is 3-D with every probe at once (interaction included); its "
                     "placement Monte Carlo moves the solved zone rigidly with the first probe's error "
                     f"(method {method}), which leaves out the probes' independent errors - those are in the "
                     "search's surrogate value (union of moved single-probe zones, independent errors)")
    return Verification(result, per, float(nominal), solve_s, method, notes, draws, layout)


def independent_errors(verification: Verification, approach: str, spec, samples: int, objective_kind: str,
                       margin: float, quantile: float, executor=None, progress=None, draws=None) -> dict:
    """The plan's placement Monte Carlo with every probe its own error: the first ``samples`` of the
    verification's draws, each a fresh solve of the displaced probes (method ``resolve``, as
    ``[placement] method = "resolve"`` runs it), paired with the rigid shift on the same draws.

    The rigid shift moves every probe with the first one's error and the search's surrogate
    moves single-probe zones; neither solves what independent errors do to merging or shared-current
    zones, so for several probes this is the only estimate with both. Few samples (each is a 3-D
    solve), hence a wide interval; the pairing shows the rigid shift's bias on those samples.
    ``draws`` (samples, probes, 5) replaces the verification's (tests)."""
    result = verification.result
    section = result.scenario.placement.replaced(resolve_samples=int(samples))
    draws = verification.draws[:samples] if draws is None else draws
    model = pl.error_model(section, approach, pringle=False)
    mc = pl.monte_carlo(result, model, samples, spec.seed, method="resolve", section=section, draws=draws,
                        executor=executor, progress=progress)
    table = mc.sample_table
    mam = np.min(table.min_margin_mm, axis=1)
    values = objective_values(mam, np.all(table.technical_success, axis=1), objective_kind, margin, quantile)
    rigid = verification.per_approach[approach]
    rigid_mam = np.asarray(rigid["mam_mm"])[:mam.size]
    rigid_values = objective_values(rigid_mam, np.asarray(rigid["success"])[:mam.size], objective_kind, margin,
                                    quantile)
    difference = mam - rigid_mam
    hits, rigid_hits = mam >= margin / MM, rigid_mam >= margin / MM
    return {**{k: v for k, v in values.items() if k != "success"}, "samples": int(mam.size), "method": mc.method,
            "rigid_shift_same_samples": rigid_values["value"],
            "mam_minus_rigid_mm": {"mean": float(np.mean(difference)), "sd": float(np.std(difference, ddof=1))
                                   if mam.size > 1 else 0.0, "max_abs": float(np.max(np.abs(difference)))},
            "discordant_samples": {"only_rigid_reaches_margin": int(np.sum(rigid_hits & ~hits)),
                                   "only_resolved_reaches_margin": int(np.sum(hits & ~rigid_hits))},
            "solve_s": float(mc.timing_s.get("samples", 0.0)), "mam_mm": mam,
            "note": f"{mam.size} placement samples re-solved with every probe its own error (the first of "
                    "the verification's draws); 'rigid_shift_same_samples' is the rigid shift on those draws"}


def objective_values(mam_mm: np.ndarray, success: np.ndarray, kind: str, margin: float, quantile: float) -> dict:
    """The objective, its 95 % interval and the usual probabilities from per-sample MAM and success."""
    n = mam_mm.size
    hits = mam_mm >= margin / MM
    out = {"p_margin": float(np.mean(hits)), "p_margin_ci95": list(pl.wilson(int(np.sum(hits)), n)),
           "p_margin_5mm": float(np.mean(mam_mm >= 5.0)), "p_margin_10mm": float(np.mean(mam_mm >= 10.0)),
           "p_technical_success": float(np.mean(success)),
           "p_technical_success_ci95": list(pl.wilson(int(np.sum(success)), n)),
           "mam_quantiles_mm": {f"q{int(q * 100):02d}": float(np.quantile(mam_mm, q))
                                for q in (0.05, 0.1, 0.25, 0.5, 0.75, 0.95)},
           "mam_mm": mam_mm, "success": success}
    if kind == "p_margin":
        out["value"], out["ci95"] = out["p_margin"], out["p_margin_ci95"]
    elif kind == "p_technical_success":
        out["value"], out["ci95"] = out["p_technical_success"], out["p_technical_success_ci95"]
    else:
        out["value"] = float(np.quantile(mam_mm, quantile))
        out["ci95"] = list(quantile_interval(mam_mm, quantile))
    return out

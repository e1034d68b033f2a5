"""The placement step of a run: the Monte Carlo of the scenario's own approach on the solved
result, its ``placement`` entry in summary.json, and the per-sample results on the Result."""
from __future__ import annotations

from ablation.outcome.placement.error_models import error_model
from ablation.outcome.placement.monte_carlo import MonteCarloResult, monte_carlo


def placement_summary(mc: MonteCarloResult) -> dict:
    """The ``placement`` entry of summary.json."""
    described = mc.error_model.describe()
    used = mc.error_model.pringle
    overall = mc.overall
    out = {"approach": mc.error_model.approach, "samples": mc.samples, "seed": mc.seed,
           "method": mc.method, "criterion": mc.criterion,
           "p_technical_success": overall["p_technical_success"], "p_margin_5mm": overall["p_margin_5mm"],
           "p_margin_10mm": overall["p_margin_10mm"], "ci95": overall["ci95"],
           "error_model": described, "notes": list(mc.notes),
           "pringle": {"used": used,
                       "transformation": "applied before solving: tissue and tumour perfusion 0, vessels "
                                         "removed (no wall cooling)" if used else None},
           "timing_s": mc.timing_s}
    out["includes"] = "placement error only (the lethal zone as solved)"
    if mc.joined is not None:
        joined = mc.joined["overall"]
        out["joined"] = {"p_technical_success": joined["p_technical_success"], "p_margin_5mm": joined["p_margin_5mm"],
                         "p_margin_10mm": joined["p_margin_10mm"], "ci95": joined["ci95"],
                         "includes": "placement error and the lethal zone's uncertainty band ("
                                     + ", ".join(["its parameter"]
                                                 + (["the model discrepancy"] if mc.joined.get("discrepancy_relative_sd")
                                                    else [])
                                                 + (["a re-solved input"] if mc.joined.get("resolved_strata") else []))
                                     + ")",
                         "zone_parameter": mc.joined["parameter"], "strata": mc.joined["strata"],
                         "discrepancy_relative_sd": mc.joined.get("discrepancy_relative_sd", 0.0),
                         "note": mc.joined["note"]}
    else:
        out["joined"] = {"includes": None,
                         "note": "not computed: the zone has no band under this criterion, or every sample was "
                                 "re-solved (method 'resolve')"}
    if mc.move_tumor_error is not None:
        out["move_tumor_error"] = mc.move_tumor_error
    if mc.per_insertions:
        out["per_insertions"] = [block.to_dict() for block in mc.per_insertions]
    if mc.sdf_raster_mm is not None:
        out["sdf_raster_mm"] = mc.sdf_raster_mm
    return out


def placement_analysis(result, executor=None, progress=None) -> None:
    """The placement Monte Carlo of the run's scenario under its approach: adds ``placement`` to
    the summary (and to every tumour's entry) and sets ``result.placement_samples``."""
    scenario = result.scenario
    section = scenario.get("placement")
    if section is None or not section.enabled or not scenario.probes or not scenario.tumors:
        return
    mc = monte_carlo(result, error_model(section), section.samples, section.seed, section=section,
                     executor=executor, progress=progress)
    result.summary["placement"] = placement_summary(mc)
    # one entry per tumour, the layout the plots and the CSV writer read
    result.placement_samples = {t.name: mc.sample_table.tumor(i) for i, t in enumerate(result.domain.tumors)}
    tumors = result.summary.tumors
    if tumors is not None:
        for entry, per in zip(tumors, mc.per_tumor):
            entry["placement"] = {k: v for k, v in per.items() if k != "name"}

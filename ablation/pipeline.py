"""One simulation, written out step by step: transformations, the solve, the domain check, the
analyses.

This is the whole pipeline; the command line (:mod:`ablation.cli`) calls the same functions.

    scenario --apply_transforms--> solved scenario --run--> Result
             --domain check: grow a default-sized domain and solve again while the heat conducted
               to the outer boundary keeps the tissue next to it off the boundary temperature by
               more than domain.boundary_tolerance --> summary["domain"]
             --capacity_resolves (cryoprobes with a calibrated capacity: solved again at two
               quantiles of it)--> Result.resolved_band
             --lesion_uncertainty--> summary["lesion"]["uncertainty"] (the zone's band)
             --coverage_analysis--> summary["tumors"]
             --placement_analysis--> summary["placement"], per-sample results
"""
from __future__ import annotations

import logging
import math
import os

from scipy import stats

from ablation.anatomy.summary import anatomy_summary
from ablation.input.models import calibrated_perfusion_limit, fitted_edge, liver_perfusion_source
from ablation.input.models import zone_uncertainty as model_zone_uncertainty
from ablation.input.scenario import Scenario, ScenarioError, model_supplied_paths
from ablation.modalities.cryo import calibrated_capacity
from ablation.outcome.coverage import coverage_analysis
from ablation.outcome.placement import placement_analysis
from ablation.outcome.zone_band import ZoneParameter, lesion_uncertainty, outside_calibrated_range
from ablation.run.estimate import check_budget, estimate, worker_pays
from ablation.run.parallel import local_pool, may_use_every_core, stop_pool
from ablation.run.result import Result
from ablation.run.setup import domain_center, domain_size, patient_anatomy, size_is_default
from ablation.run.time_loop import run
from ablation.run.transforms import apply_transforms
from ablation.runtime import single_blas_thread

log = logging.getLogger(__name__)

#: A default-sized domain whose boundary deviation exceeds domain.boundary_tolerance is enlarged by
#: this factor and solved again, at most DOMAIN_GROWTHS times (80 mm -> 270 mm edge).
DOMAIN_GROWTH = 1.5
DOMAIN_GROWTHS = 3


def _conducted(result) -> float:
    """The deviation the domain check compares: the conducted part when the run recorded it (a
    held outer boundary), else the raw deviation (0 without a held boundary)."""
    conducted = result.summary.boundary_conducted_deviation_C
    return result.summary.boundary_max_deviation_C if conducted is None else conducted


#: the quantiles an input is re-solved at for the zone's band: the middles of three equiprobable
#: strata (the run itself is the middle one), so the placement Monte Carlo can give each sample one
CAPACITY_QUANTILES = (1.0 / 6.0, 5.0 / 6.0)


def capacity_resolves(scenario, progress=None, halvings: int | None = None) -> dict | None:
    """The scenario solved again with every cryoprobe's calibrated capacity
    (:func:`ablation.modalities.cryo.calibrated_capacity`; one calibration, so all probes move
    together) at the lognormal's :data:`CAPACITY_QUANTILES`; None when no probe's limit is a
    calibrated one.

    ``halvings``: the solved run's (``TimeSummary.repeat_halvings``): each re-solve integrates once
    at the run's checked step, so that every quantile shares one time discretisation and the band
    is not paid for with two more step checks (they had taken 72 of the phantom cryo run's 146 s);
    None: each re-solve checks its own step. With ``halvings`` the first quantile is solved in a
    worker process while this one solves the second (:func:`_resolve_in_worker`)."""
    law = scenario.cryo.frozen_conductivity_model if scenario.get("cryo") is not None else "constant"
    calibrated = {i: calibrated_capacity(p.cryo, law) for i, p in enumerate(scenario.probes) if p.get("cryo")}
    calibrated = {i: c for i, c in calibrated.items() if c is not None}
    if not calibrated or scenario.raw is None:
        return None
    first, log_sd = next(iter(calibrated.values()))
    factors = [math.exp(float(stats.norm.ppf(q)) * log_sd) for q in CAPACITY_QUANTILES]  # every probe alike
    solved = [apply_transforms(scenario.with_changes({f"probes[{i}].cryo.max_extraction": f"{capacity * f:.6g} W/m"
                                                      for i, (capacity, _) in calibrated.items()}))
              for f in factors]
    # the first quantile in a worker while this process solves the second, when that pays
    remote = _resolve_in_worker(solved[0], halvings)
    try:
        second = run(solved[1], progress=progress, parallel=halvings is None, halvings=halvings)
        first_result = _collected_resolve(remote)
        if first_result is None:
            first_result = run(solved[0], progress=progress, parallel=halvings is None, halvings=halvings)
    finally:
        if remote is not None:
            stop_pool(remote[1], wait=True)   # its memory freed before the analyses
    results = dict(zip(CAPACITY_QUANTILES, (first_result, second)))
    values = [first * f for f in factors]
    return {"name": "the cryoprobes' calibrated capacity", "values": values, "unit": "W/m (first probe)",
            "run_value": first, "log_sd": log_sd,
            "source": f"lognormal, log-SD {log_sd:g} from the training row's 10 % SD (Littrup 2009 single 2.4 mm "
                      "probe; ablation.modalities.cryo.CALIBRATED_EXTRACTION_LOG_SD_BY_LAW)",
            "results": results}


def _resolve_in_worker(scenario, halvings: int | None):
    """(future, pool) of ``scenario`` integrated once in a spawned worker (one BLAS thread, as every
    local_pool worker), or None when that does not pay or is not allowed: no halvings given (each
    re-solve then checks its own step, and the check has its own worker), this process itself a
    worker (no nested pools), or too little work (:func:`ablation.run.estimate.worker_pays`, the
    step check's rule). Whole Results come back: the placement Monte Carlo reads their fields."""
    if halvings is None or not may_use_every_core() or not worker_pays(scenario, estimate(scenario).cells, halvings):
        return None
    pool = local_pool(1, 1)
    return pool.submit(run, scenario, halvings=halvings), pool


def _collected_resolve(remote) -> Result | None:
    """The worker's Result, or None (no worker, or it failed: the caller then solves here)."""
    if remote is None:
        return None
    try:
        return remote[0].result()
    except Exception as exc:      # noqa: BLE001 - any failure of the worker falls back to solving here
        log.warning("a re-solve in a worker process failed (%s); solving it here", exc)
        return None


def simulate(scenario, *, executor=None, progress=None, zone_uncertainty: bool = True) -> Result:
    """Solve ``scenario`` (from :func:`ablation.load_scenario`) and run its analyses.

    When the scenario leaves domain.size out and the fixed-temperature outer boundary truncates the
    temperature field, the domain is enlarged (x :data:`DOMAIN_GROWTH`, at most
    :data:`DOMAIN_GROWTHS` times) and the scenario solved again; the returned result's scenario then
    sets domain.size, so its folder reproduces the grid. Truncation is measured as the *conducted*
    deviation of the tissue next to the boundary (:class:`ablation.run.boundary.BoundaryTruncation`):
    its deviation from the boundary temperature less the rise its own heat source would give under
    perfusion alone, so that heat released next to the boundary (RF: the return current's Joule
    heating next to the grounded outer boundary, present in an infinite medium too) does not grow
    the domain, while heat or cold conducted there from the zone does. A domain.size the user gave
    is kept: a larger conducted deviation is logged and recorded as ``summary["domain"]["warning"]``
    (the result is kept, not refused: a small block with a held boundary can be what is meant, e.g.
    an ex-vivo sample, and the solve has been paid for). ``summary["domain"]`` records size, centre,
    growths, tolerance, the compared (conducted) deviation and the raw one, with their histories.

    executor : a :class:`concurrent.futures.Executor` for work that runs in parallel (re-solved
        placement samples); default: a local process pool, one worker per core.
    progress : ``progress(done, total, label)``, called as the solve advances (simulated seconds)
        and as parallel work finishes; default: silent.
    zone_uncertainty : compute the lethal zone's band and join it with placement error (default).
        Sweeps and plans switch it off: there the spread over the swept parameters is the uncertainty.
        ``summary["lesion"]["uncertainty"]`` then says it was left out and why.
    """
    if not isinstance(scenario, Scenario):
        hint = " (a file: ablation.load_scenario(path) first)" if isinstance(scenario, (str, os.PathLike)) else \
            " (a table: ablation.scenario_from_dict(table) first)" if isinstance(scenario, dict) else ""
        raise TypeError(f"simulate: expected a Scenario{hint}; got {type(scenario).__name__}")
    # the command line checks this before it starts; a script gets the same refusal before the solve
    # rather than a MemoryError after it
    problems = check_budget(scenario)
    if problems:
        raise ScenarioError(problems, scenario.source)
    with single_blas_thread():   # the CG loops are faster on one BLAS thread (ablation.runtime)
        solved = apply_transforms(scenario)     # e.g. inflow occlusion (Pringle) before solving
        result = run(solved, progress=progress, parallel=True)

        # The domain check: a truncated temperature field flattens the zone without any error.
        tolerance = scenario.domain.boundary_tolerance
        growable = size_is_default(scenario)
        deviations = [_conducted(result)]
        raw = [result.summary.boundary_max_deviation_C]
        grown = 0
        while growable and deviations[-1] > tolerance and grown < DOMAIN_GROWTHS:
            size = domain_size(solved) * DOMAIN_GROWTH
            log.info("conducted boundary deviation %.2f K (raw %.2f K) > domain.boundary_tolerance %.2f K on a "
                     "%.0f mm domain: growing it to %.0f mm and solving again", deviations[-1], raw[-1], tolerance,
                     domain_size(solved) * 1e3, size * 1e3)
            scenario = scenario.with_changes({"domain.size": f"{size * 1e3:.6g} mm"})
            solved = apply_transforms(scenario)
            result = run(solved, progress=progress, parallel=True)
            grown += 1
            deviations.append(_conducted(result))
            raw.append(result.summary.boundary_max_deviation_C)
        record = {"size_mm": domain_size(solved) * 1e3,
                  "center_mm": [float(c) * 1e3 for c in domain_center(solved)],
                  "size_from": "expected zone" if growable else "domain.size",
                  "grown": grown,
                  # compared with the tolerance: the deviation that heat conducted to the boundary
                  # explains (ablation.run.boundary.BoundaryTruncation); the raw deviation beside it
                  "checked": "boundary_conducted_deviation_C",
                  "boundary_conducted_deviation_C": deviations[-1],
                  "conducted_deviation_history_C": deviations,
                  "boundary_max_deviation_C": raw[-1],
                  "deviation_history_C": raw,
                  "boundary_tolerance_C": tolerance}
        if deviations[-1] > tolerance:
            why = (f"domain.size = {domain_size(solved) * 1e3:g} mm was given" if not growable else
                   f"the domain was grown {grown} times (the most allowed) to {domain_size(solved) * 1e3:g} mm")
            record["warning"] = (f"heat conducted to the outer boundary keeps the tissue next to it {deviations[-1]:.2f} K "
                                 f"off the boundary temperature (raw deviation {raw[-1]:.2f} K; domain.boundary_tolerance "
                                 f"{tolerance:g} K) and {why}: the domain truncates the temperature field, so the "
                                 "lesion may be too small or flattened; set a larger domain.size")
            log.warning("%s: %s", scenario.name or "scenario", record["warning"])
        elif grown:
            log.info("domain grown %d times to %.0f mm: conducted boundary deviation %.2f K (raw %.2f K)", grown,
                     record["size_mm"], deviations[-1], raw[-1])
        result.summary["domain"] = record
        # the settings the zone model supplied where the file is silent (the report credits them to it)
        supplied = model_supplied_paths(solved)
        result.summary["parameters"]["supplied_by_model"] = supplied
        if "tissue.perfusion" in supplied:    # credit the value to the zone model, not to the file
            result.summary["parameters"]["properties"]["tissue"]["perfusion"]["source"] = \
                liver_perfusion_source(solved.model)
        # the zone's band from the model's uncertain lethality parameter (from the solved fields)
        if zone_uncertainty:
            kind = "cold" if scenario.modality == "cryo" else "heat"
            parameter = ZoneParameter(**model_zone_uncertainty(scenario.model)[kind])
            # an uncertain input that changes the temperature history needs solves of its own
            resolved_input = capacity_resolves(scenario, progress, result.summary.time.repeat_halvings) \
                if scenario.modality == "cryo" else None
            if resolved_input:
                result.resolved_band = resolved_input["results"]
            uncertainty = lesion_uncertainty(result, parameter, scenario.model, resolved_input)
        else:
            uncertainty = {"available": False, "model": scenario.model,
                           "reason": "switched off by the caller (a sweep or plan, whose spread over the "
                                     "varied parameters is the uncertainty)"}
        uncertainty["outside_calibrated_range"] = outside_calibrated_range(
            scenario, scenario.model, fitted_edge(scenario.model) is not None, calibrated_perfusion_limit(scenario.model))
        result.summary = result.summary.with_lesion_uncertainty(uncertainty)
        anatomy = patient_anatomy(result.scenario)
        if anatomy is not None:                 # summary["anatomy"]: files, vessel walls, trajectory warnings
            result.summary["anatomy"] = anatomy_summary(anatomy, result.domain, result.scenario)
            for note in anatomy.notes:
                log.warning("%s: %s", scenario.name or "scenario", note)
        coverage_analysis(result)               # summary["tumors"]: coverage, margins, shells
        placement_analysis(result, executor=executor, progress=progress)   # summary["placement"]
    return result

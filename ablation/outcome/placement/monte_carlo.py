"""The placement Monte Carlo on a solved result, for one error model; the results say which
method ran:

* ``move_tumor`` - one straight probe, nothing off its axis (axisymmetric solve): solve once and
  move the tumour's evaluation points in the probe frame (:mod:`.moved_lesion`). Exact for a
  passive tumour; for a material tumour (its own properties) approximate, and ``resolve_check``
  samples are re-solved to measure the error (:mod:`.move_check`).
* ``rigid_shift`` - vessels or several probes: the solved lesion is moved rigidly with the
  (first) probe's displacement; this ignores that the heat sink and the other probes do not move.
* ``resolve`` - every sample is solved again with displaced probes (each probe and each insertion
  its own draw) through an executor (:mod:`.resolve`).
"""
from __future__ import annotations

import time as wallclock
from dataclasses import dataclass

import numpy as np

from ablation.outcome import coverage as cov
from ablation.outcome.placement.error_models import MM, ErrorModel, local_errors, probe_frame, standard_draws
from ablation.outcome.placement.move_check import measure_move_error
from ablation.outcome.placement.moved_lesion import moved_metrics, point_set, table_for
from ablation.outcome.placement.resolve import collect, resolve_jobs, solve_all
from ablation.outcome.placement.statistics import SampleTable, summarize
from ablation.outcome.zone_band import ZoneParameter, strata, variant_fields
from ablation.physics.damage import connected_lesion, fill_held, parse_criterion
from ablation.run.setup import placement_method

@dataclass(frozen=True)
class InsertionsBlock:
    """Results after the first ``insertions`` ablations of a sequence."""
    insertions: int
    per_tumor: list[dict]
    overall: dict

    def to_dict(self) -> dict:
        return {"insertions": self.insertions, "per_tumor": self.per_tumor, "overall": self.overall}


@dataclass(frozen=True)
class MonteCarloResult:
    """One error model's placement Monte Carlo.

    samples : number of samples evaluated (re-solving caps it at ``resolve_samples``)
    per_tumor, overall : probabilities with 95 % Wilson intervals and quantiles
        (:func:`ablation.outcome.placement.statistics.summarize`)
    per_insertions : for sequences, the results after 1..n insertions (else empty)
    timing_s : wall-clock seconds of the parts ('table' and 'samples', or 'samples')
    move_tumor_error : the re-solve check of a moved material tumour, when it ran
    sdf_raster_mm : raster step of the signed-distance table (solve-once methods)
    sample_table : per-sample results (samples, tumours) of the last insertion count
    """
    method: str
    samples: int
    seed: int
    criterion: str
    error_model: ErrorModel
    per_tumor: list[dict]
    overall: dict
    timing_s: dict[str, float]
    notes: tuple[str, ...]
    sample_table: SampleTable
    per_insertions: tuple[InsertionsBlock, ...] = ()
    move_tumor_error: dict | None = None
    sdf_raster_mm: float | None = None
    joined: dict | None = None    # with the zone's uncertainty band too (solve-once methods)

    def blocks(self) -> tuple[InsertionsBlock, ...]:
        """Results per number of insertions; a single ablation gives one block."""
        return self.per_insertions or (InsertionsBlock(1, self.per_tumor, self.overall),)


choose_method = placement_method      # the rule lives with the grid's (ablation.run.setup)


def monte_carlo(result, model: ErrorModel, samples: int, seed: int, method: str | None = None,
                section=None, draws: np.ndarray | None = None, executor=None, progress=None) -> MonteCarloResult:
    """Placement Monte Carlo on a solved ``result`` (the planned placement) for one error model.

    ``section`` is the [placement] table (default: the scenario's); ``draws`` (samples,
    insertions, 5) overrides the seeded draws; re-solved samples go through ``executor``."""
    scenario = result.scenario
    section = section if section is not None else scenario.get("placement")
    method = method or choose_method(scenario, section)
    criterion = result.summary["lesion"]["criterion"]
    n_surface = section.surface_points if section is not None else 1024
    insertions = list(section.insertions) if section is not None and section.insertions else []
    n_ins = 1 + len(insertions)
    z = draws if draws is not None else standard_draws(seed, samples, max(n_ins, len(scenario.probes)))
    names = [t.name for t in result.domain.tumors]
    started = wallclock.perf_counter()
    if method in ("move_tumor", "rigid_shift") and not insertions:
        return _solve_once(result, model, z, samples, seed, method, section, criterion, n_surface, names,
                           started, executor, progress)
    # re-solve every sample (several probes each with their own draw, or insertion sequences)
    count = samples if section is None else min(samples, section.resolve_samples)
    gap = section.gap if section is not None else 120.0
    jobs = resolve_jobs(scenario, model, z[:count], bool(insertions), gap, criterion, n_surface)
    per_count = collect(solve_all(jobs, executor, progress), n_ins if insertions else 1)
    per, overall = summarize(per_count[-1], names)
    blocks = ()
    if insertions:
        blocks = tuple(InsertionsBlock(k + 1, *summarize(data, names)) for k, data in enumerate(per_count))
        note = (f"re-solved every sample as a sequence of {n_ins} ablations on one 3-D grid "
                "(each insertion its own placement error); results after 1..n insertions")
    else:
        note = ("re-solved every sample with displaced probes (each probe its own draw) on a local "
                "process pool")
    return MonteCarloResult(method, count, int(seed), criterion, model, per, overall,
                            {"samples": wallclock.perf_counter() - started}, (note,), per_count[-1],
                            per_insertions=blocks)


def _solve_once(result, model, z, samples, seed, method, section, criterion, n_surface, names, started,
                executor, progress) -> MonteCarloResult:
    """``move_tumor`` and ``rigid_shift``: the solved lesion moves with the first probe."""
    scenario = result.scenario
    probe = scenario.probes[0]
    frame = probe_frame(probe.direction)
    tip = np.asarray(probe.tip)
    refinement = scenario.coverage.raster_refinement if scenario.get("coverage") is not None else 4
    lesion = cov.Lesion.from_fields(result.domain, result.fields, criterion, refinement)
    pts = point_set(cov.build_points(scenario, result.domain, n_surface=n_surface), tip, frame)
    delta, tilt = local_errors(model, z[:samples, 0])
    axisym = method == "move_tumor" and result.domain.kind == "axisymmetric"
    h = min(float(np.min(np.diff(e))) for e in result.domain.edges)
    table = table_for(lesion, pts, delta, tilt, tip, frame, axisym, step=(0.25 if axisym else 0.75) * h)
    t_table = wallclock.perf_counter() - started
    per_sample = moved_metrics(table, pts, delta, tilt, axisym)
    timing = {"table": t_table, "samples": wallclock.perf_counter() - started - t_table}
    joined = _joined_with_zone_band(result, criterion, refinement, pts, delta, tilt, tip, frame, axisym, names, seed)
    notes, move_error = [], None
    if method == "move_tumor":
        notes.append("solved once; each sample moves the tumour's evaluation points in the probe frame "
                     "(exact for a passive tumour in an axisymmetric problem)")
        if result.domain.kind != "axisymmetric":
            notes.append("the solve was 3-D: moving the tumour ignores anything off the probe axis")
        if any(t.material for t in scenario.tumors):
            notes.append("a material tumour moves with the points but its properties shaped the solved "
                         "lesion: approximate; see move_tumor_error")
            move_error = measure_move_error(result, model, z, section, criterion, n_surface, executor, progress)
    else:
        notes.append("rigid shift: the solved lesion moves with the first probe's displacement; this "
                     "ignores that vessels (heat sinks) and other probes stay where they are")
    per, overall = summarize(per_sample, names)
    return MonteCarloResult(method, int(samples), int(seed), criterion, model, per, overall, timing, tuple(notes),
                            per_sample, move_tumor_error=move_error, sdf_raster_mm=table.step / MM, joined=joined)


#: equiprobable strata of the zone band's parameter the joined Monte Carlo spreads its samples over
ZONE_STRATA = 8


def _joined_with_zone_band(result, criterion, refinement, pts, delta, tilt, tip, frame, axisym, names, seed):
    """Placement error and the lethal zone's band together: sample i takes the zone of stratum
    i mod ZONE_STRATA of the band's parameter (equiprobable mid-quantiles), each zone a threshold on
    the solved fields (:mod:`ablation.outcome.zone_band`), so no sample needs a new solve. When the
    run was also solved at two quantiles of an input that changes the temperature history
    (``result.resolved_band``: the cryoprobes' calibrated capacity, at the middles of three
    equiprobable strata), sample i takes that input's stratum (i // ZONE_STRATA) mod 3: the low
    re-solve, the run, the high re-solve. With a model discrepancy each sample's zone is also
    stretched along the probe axis and across it by independent factors exp(N(0, delta^2)) about
    the zone's centroid (drawn from their own stream of ``seed``), the distribution the reported
    band assumes. None when the run has no band."""
    band_info = (result.summary.get("lesion") or {}).get("uncertainty")
    if not band_info or not band_info.get("available"):
        return None
    parameter = ZoneParameter.from_dict(band_info["parameter"])
    d = result.scenario.damage
    n = delta.shape[0]
    scales, centre = None, None
    if parameter.discrepancy > 0.0:
        rng = np.random.default_rng([int(seed), DISCREPANCY_STREAM])
        along, across = np.exp(parameter.discrepancy * rng.standard_normal((2, n)))
        scales = np.stack([across, across, along], axis=1)
        centre = frame.T @ (_zone_centroid(result, criterion) - tip)
        if axisym:
            centre[:2] = 0.0
    solves = [result]
    if result.resolved_band:
        low, high = min(result.resolved_band), max(result.resolved_band)
        solves = [result.resolved_band[low], result, result.resolved_band[high]]
    sample = np.arange(n)
    parts = []
    for j, solved in enumerate(solves):
        step = (0.25 if axisym else 0.75) * min(float(np.min(np.diff(e))) for e in solved.domain.edges)
        for k, value in enumerate(strata(parameter, ZONE_STRATA)):
            idx = sample[(sample % ZONE_STRATA == k) & ((sample // ZONE_STRATA) % len(solves) == j)]
            if idx.size == 0:
                continue
            fields = variant_fields(solved.fields, criterion, parameter, value, band_info["run_value"],
                                    d.activation_energy, d.edge_exposure)
            lesion = cov.Lesion.from_fields(solved.domain, fields, criterion, refinement)
            table = table_for(lesion, pts, delta[idx], tilt[idx], tip, frame, axisym, step=step,
                              scales=None if scales is None else scales[idx], centre=centre)
            parts.append((idx, moved_metrics(table, pts, delta[idx], tilt[idx], axisym,
                                             scales=None if scales is None else scales[idx], centre=centre)))
    joined = SampleTable.concatenate(parts, n)
    per, overall = summarize(joined, names)
    what = (f"each sample one of {ZONE_STRATA} equiprobable values of {parameter.name} (its zone a threshold on "
            "the solved fields)")
    resolved = band_info.get("resolved_input")
    if len(solves) > 1:
        what += (f" and one of 3 equiprobable strata of {resolved['name'] if resolved else 'a re-solved input'} "
                 "(the run solved again at the strata's middles)")
    elif resolved:
        what += (f"; {resolved['name']} left out: its re-solves are not kept with a result read from a folder "
                 "(the reported band includes it)")
    if scales is not None:
        what += (f", its zone stretched by the model discrepancy ({100 * parameter.discrepancy:.3g} % SD per "
                 "dimension, along and across the probe independently, about the zone's centroid)")
    out = {"per_tumor": per, "overall": overall, "strata": ZONE_STRATA, "parameter": parameter.to_dict(),
           "discrepancy_relative_sd": parameter.discrepancy,
           "note": "placement error and the lethal zone's band together: " + what}
    if len(solves) > 1:
        out["resolved_strata"] = len(solves)
    return out


#: the random stream of the discrepancy draws, apart from the placement draws of the same seed
DISCREPANCY_STREAM = 7919


def _zone_centroid(result, criterion) -> np.ndarray:
    """World position (m) of the solved zone's centroid (volume-weighted lesion cells)."""
    domain = result.domain
    level = fill_held(domain, parse_criterion(criterion).level(result.fields))
    inside = connected_lesion(domain, level >= 0.0)
    if not inside.any():
        return np.asarray(result.scenario.probes[0].tip, float)
    w = domain.geometry.volumes[inside]
    return domain.world_points()[:, inside] @ w / float(np.sum(w))

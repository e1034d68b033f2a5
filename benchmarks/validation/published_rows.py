"""Every published row (benchmarks/validation/published_lesions.csv) against the model.

Each row the toolkit can simulate is run under the assumptions fixed in split.csv
(:mod:`ablation.calibration.experiments` builds the scenarios from the shipped ones, 1 mm cells,
axisymmetric where the device allows) with the toolkit's CURRENT default zone model (``ablation.input.models.DEFAULT``): nothing is fitted
here. Run at the first version's defaults (library-2026.11) it gave the "before" column of the
calibration; at the calibrated model it gives the "after" column. The results file carries the
model's name, so both stay side by side.

The model's own uncertainty: every run carries its lethal zone's 5-95 % band (lesion.uncertainty:
the calibration's edge-temperature posterior joined with its model discrepancy,
:mod:`ablation.outcome.zone_band`); each row is also read at the band's 5 % and 95 % zones, which
gives the row's model interval [p5, p95] and a model SD = (p95 - p5) / 3.29. An experiment's runs
are all read at the same quantile, so a ratio or slope between them sees the discrepancy as a
common factor (it cancels from a ratio and scales a slope). A row is "within 2 SD" when |z| <= 2
with the published and model SDs combined, and "in the 90 % band" when the published value lies in
[p5, p95]. Rows read from isotherms or energy do not depend on the zone parameter and no
discrepancy was estimated for them; cryo rows whose probe has a calibrated capacity (the 2.4 and
1.7 mm Littrup probes) are also solved at two quantiles of that capacity (its log-SD from the
training row's SD, ablation.modalities.cryo), and read on those re-solves too, so their isotherm
rows get the capacity's band. Other isotherm and energy rows have a zero-width band.

Per row: the model value in the row's unit (metric value), the published value (reference), the
tolerance 2 x SD (the published SD, else 10 % of the value), so a row passes when |z| <= 2; z is in
the note. Summary metrics: the fraction of rows within 2 SD (train and held-out rows separately;
reference 0.95, the share a model as good as the data's spread would reach), the in vivo / ex vivo
volume ratio of the CVIR 2009 2 cm rows (README band 0.3-0.6, published 0.52) and the inflow
occlusion enlargement of the in vivo 2 cm lesion (README: at least 1.5x in volume; perfusion set to 0,
as in rfa.py; no table row has both an occluded and an open single-electrode value).

The full run also writes benchmarks/results/validation-published-rows-<model>.md and .json: one line
per row (id, role, model, band, published, unit, z, verdict, and its runs' checks: whether they pass
the convergence rule the calibration applies to its training runs, with their grid and time
warnings, :func:`ablation.calibration.experiments.run_checks`) and, for rows no experiment covers,
the reason. A held-out row is compared whether or not its runs pass; the checks say whether a miss
could be numerical.

Rows that another validation benchmark solves on 3-D grids (the clustered electrodes of
multi_channel.py and size_vs_time.py) are read from that benchmark's stored results, with their
band, and marked so; solving them again here would take over an hour.

Run as a script, it writes the same table and can take experiments from a stored table instead of
solving them again (``--reuse-from MODEL``; ``--solve-again rfa`` solves every RF experiment anyway, for a
model that changes RF and nothing else): re-solving would only repeat the stored runs (the cryo
multi-probe experiments take about two hours), and experiments the stored table lacks are solved. It is
refused unless, per modality, the cheapest reused experiment, solved again now, reproduces its stored
values; the table marks every reused row and names the table it was solved for.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import time
from pathlib import Path

from scipy import stats

from ablation.benchmarks import _recording as recording
from ablation.benchmarks.validation import multi_channel, size_vs_time
from ablation.bench import Metric, case, shipped_folder
from ablation.calibration.experiments import (CONVERGED_BOUNDARY_K, CONVERGED_TIME_ERROR, DEFAULT_SPACING,
                                              MAX_SPACING, experiments, published_sd, run_checks, scenario_key,
                                              solve, unsupported, z_score)
from ablation.calibration.published import load_rows
from ablation.input.models import DEFAULT_MODEL
from ablation.version import __version__

QUICK_EXPERIMENTS = ("cryo_1probe_m30", "cryo_probe_size", "rfa_ic2cm_exvivo")
TARGET_FRACTION = 0.95
BAND_TARGET = 0.80      # issue: at least 80 % of held-out rows inside the 90 % band
RATIO_ROWS = ("rfa_ic2cm_invivo_vol", "rfa_ic2cm_exvivo_vol")
OCCLUSION_EXPERIMENT = "rfa_ic2cm_invivo"
OCCLUSION = {"tissue.perfusion": "0 1/s"}
RESULTS_NAME = f"validation-published-rows-{DEFAULT_MODEL}"
BAND_Z = 1.6449   # the 5-95 % band spans +/- 1.645 SD of a normal

# shared by the cases of one bench run: identical scenarios are solved once
_CACHE: dict = {}
_MEASURED: dict = {}        # row id -> (model value, experiment name)
_BAND: dict = {}            # row id -> (model value at the zone band's 5 %, at its 95 %)
_SECONDS: dict = {}         # experiment name -> wall time of the runs it started
_EXTRA: dict = {}           # the occlusion run's volume
_REUSED: dict = {}          # row id -> where its stored value came from (the script's --reuse-from)
_CHECKS: dict = {}          # row id -> its experiment's run checks (experiments.run_checks; stored ones too)
_SETTING: dict = {}         # row id -> setting_hash of the experiment it was measured with
_OTHER: dict = {}           # row id -> the validation benchmark whose stored results gave it
#: rows that another validation benchmark solves (on 3-D grids, for an hour or more): the table
#: reads them from that benchmark's stored results (its table_readings) instead of solving them again
OTHER_BENCHMARKS = {"validation-multi-channel.json": multi_channel, "validation-size-vs-time.json": size_vs_time}
#: relative difference within which a re-solved experiment counts as the stored one
REUSE_TOLERANCE = 1e-6


def _rows():
    rows = load_rows()
    return rows, experiments(rows)


def _measure(chosen) -> None:
    """Solve and measure every experiment not measured yet in this bench run."""
    for experiment in chosen:
        if all(row.id in _MEASURED for row in experiment.rows):
            continue
        started = time.perf_counter()
        results = solve([experiment], cache=_CACHE)[experiment.name]
        _SECONDS[experiment.name] = time.perf_counter() - started
        measured = experiment.measure(results)
        checks = run_checks(results)
        setting = setting_hash(experiment)
        for row_id, value in measured.items():
            _MEASURED[row_id] = (value, experiment.name)
            _CHECKS[row_id] = checks
            _SETTING[row_id] = setting
        _BAND.update(_band(experiment, results, measured))


def setting_hash(experiment) -> str:
    """A digest of the experiment's scenarios as solved (base file, the row's changes, the grid): a
    stored row is reused only while it is unchanged."""
    keys = [scenario_key(scenario) for scenario in experiment.scenarios().values()]
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]


class _ZoneAtQuantile:
    """A result whose summary["lesion"] holds its zone band's size at one quantile; fields, domain
    and every other summary entry are the run's own."""

    def __init__(self, result, index: int):
        self._result = result
        lesion = dict(result.summary["lesion"])
        lesion.update({k: v for k, v in lesion["uncertainty"]["quantiles"][index].items()
                       if k in ("volume_ml", "long_axis_mm", "short_axis_mm")})
        self.summary = {**dict(result.summary), "lesion": lesion}

    def __getattr__(self, name):
        return getattr(self._result, name)


def _band(experiment, results, measured: dict) -> dict:
    """row id -> (low, high): the row's 5-95 % model interval, the wider of two readings. (1) The row
    read at the zone band's 5 % and 95 % zones (lesion.uncertainty, which includes a re-solved input
    such as the cryoprobes' capacity). (2) When every run was also solved at two quantiles of such an
    input (``Result.resolved_band``), the row measured on those re-solves, stretched to 5-95 % as a
    normal about the run's own value ``measured`` (rows read from isotherms see only this one).
    Zero width when neither applies."""
    out = {}
    if all((r.summary["lesion"].get("uncertainty") or {}).get("available") for r in results.values()):
        low = experiment.measure({label: _ZoneAtQuantile(r, 0) for label, r in results.items()})
        high = experiment.measure({label: _ZoneAtQuantile(r, -1) for label, r in results.items()})
        out = {row_id: (float(min(low[row_id], high[row_id])), float(max(low[row_id], high[row_id])))
               for row_id in low}
    if results and all(r.resolved_band for r in results.values()):
        quantiles = [sorted(r.resolved_band) for r in results.values()]
        q_low, q_high = quantiles[0][0], quantiles[0][-1]
        if all(q == [q_low, q_high] for q in quantiles):
            at_low = experiment.measure({label: r.resolved_band[q_low] for label, r in results.items()})
            at_high = experiment.measure({label: r.resolved_band[q_high] for label, r in results.items()})
            per_sd = BAND_Z / float(stats.norm.ppf(q_high) - stats.norm.ppf(q_low))
            for row_id, value in measured.items():
                half = abs(at_high[row_id] - at_low[row_id]) * per_sd
                low, high = out.get(row_id, (value, value))
                if 2.0 * half > high - low:
                    out[row_id] = (float(value - half), float(value + half))
    return out


def _model_sd(row_id: str) -> float:
    low, high = _BAND.get(row_id, (0.0, 0.0))
    return (high - low) / (2.0 * BAND_Z)


def _in_band(row) -> bool:
    value = _MEASURED[row.id][0]
    low, high = _BAND.get(row.id, (value, value))
    return bool(low <= row.value <= high)


def _row_metric(row) -> Metric:
    value, name = _MEASURED[row.id]
    sd = published_sd(row)
    model_sd = _model_sd(row.id)
    source = "published SD" if row.sd is not None else "no SD: 10 % of the value"
    return Metric(row.id, value, row.value, 2.0 * (sd ** 2 + model_sd ** 2) ** 0.5, row.unit, "within",
                  note=f"z = {z_score(value, row, model_sd):+.2f}; {row.role}; sd {sd:.3g} ({source}), model sd "
                       f"{model_sd:.3g}; experiment {name}")


def _fraction_metrics(rows, prefix: str) -> list[Metric]:
    out = []
    for role in ("train", "held_out"):
        chosen = [row for row in rows if row.role == role and row.id in _MEASURED]
        if not chosen:
            continue
        within = [row for row in chosen if abs(z_score(_MEASURED[row.id][0], row, _model_sd(row.id))) <= 2.0]
        out.append(Metric(f"{prefix}within_2sd.{role}", len(within) / len(chosen), TARGET_FRACTION, 0.0, "1",
                          "at_least", note=f"{len(within)} of {len(chosen)} {role} rows with |z| <= 2 "
                                           "(published and model SD combined)"))
        if role == "held_out":
            inside = [row for row in chosen if _in_band(row)]
            out.append(Metric(f"{prefix}in_band_90.{role}", len(inside) / len(chosen), BAND_TARGET, 0.0, "1",
                              "at_least", note=f"{len(inside)} of {len(chosen)} {role} rows with the published "
                                               "value inside the model's 5-95 % band"))
    return out


def _ratio_metric() -> list[Metric]:
    if not all(row_id in _MEASURED for row_id in RATIO_ROWS):
        return []
    ratio = _MEASURED[RATIO_ROWS[0]][0] / _MEASURED[RATIO_ROWS[1]][0]
    _EXTRA["invivo_exvivo_volume_ratio"] = ratio
    return [Metric("cvir2009_invivo_over_exvivo_volume", ratio, 0.45, 0.15, "1", "within",
                   note="README band 0.3-0.6; published 5.76 / 11.08 mL = 0.52")]


def _occlusion_metric(all_experiments) -> list[Metric]:
    """In vivo 2 cm lesion with the inflow stopped (perfusion 0) over the perfused one."""
    experiment = next(e for e in all_experiments if e.name == OCCLUSION_EXPERIMENT)
    _measure([experiment])
    started = time.perf_counter()
    results = solve([experiment], overrides=OCCLUSION, cache=_CACHE)[experiment.name]
    _SECONDS[f"{experiment.name} + occlusion"] = time.perf_counter() - started
    occluded = experiment.measure(results)["rfa_ic2cm_invivo_vol"]
    open_ = _MEASURED["rfa_ic2cm_invivo_vol"][0]
    _EXTRA.update(occluded_volume_ml=occluded, open_volume_ml=open_, occlusion_ratio=occluded / open_)
    return [Metric("occlusion_volume_enlargement", occluded / open_, 1.5, 0.0, "1", "at_least",
                   note=f"README: inflow occlusion >= 1.5x; CVIR 2 cm in vivo, perfusion 0: {occluded:.2f} vs "
                        f"{open_:.2f} mL (not a table row)")]


def _modality_case(ctx, modality: str) -> list[Metric]:
    rows, all_experiments = _rows()
    chosen = [e for e in all_experiments if e.rows[0].modality == modality]
    _measure(chosen)
    mine = [row for e in chosen for row in e.rows]
    metrics = [_row_metric(row) for row in mine]
    metrics += _fraction_metrics(mine, f"{modality}.")
    if modality == "rfa":
        metrics += _ratio_metric() + _occlusion_metric(all_experiments)
    ctx.figures[f"published_rows.{modality}.runtime_s"] = sum(
        s for name, s in _SECONDS.items() if name.split(" + ")[0] in {e.name for e in chosen})
    return metrics


@case(quick=True)
def published_rows_quick(ctx):
    """Three cheap experiments: the Littrup single 2.4 mm probe (train row), the 1.7 vs 2.4 mm probe
    ratios and the CVIR 2 cm ex vivo lesion."""
    _, all_experiments = _rows()
    chosen = [e for e in all_experiments if e.name in QUICK_EXPERIMENTS]
    _measure(chosen)
    return [_row_metric(row) for e in chosen for row in e.rows]


@case(quick=False)
def published_rows_rfa(ctx):
    """Every supported RF row, the CVIR in vivo / ex vivo ratio and the occlusion enlargement."""
    return _modality_case(ctx, "rfa")


@case(quick=False)
def published_rows_cryo(ctx):
    """Every supported cryo row (Littrup 2009 phantom; several probes on a 3-D grid)."""
    return _modality_case(ctx, "cryo")


@case(quick=False)
def published_rows_table(ctx):
    """All rows: the fractions within 2 SD over both modalities, and the table written to
    benchmarks/results/validation-published-rows.md and .json (supported rows measured in the
    cases above are reused)."""
    rows, all_experiments = _rows()
    started = time.perf_counter()
    _measure(all_experiments)
    if "occlusion_ratio" not in _EXTRA:
        _occlusion_metric(all_experiments)
    _ratio_metric()
    _stored_benchmark_rows(rows)
    ctx.figures["published_rows.table_extra_runtime_s"] = time.perf_counter() - started
    total = sum(_SECONDS.values())
    ctx.figures["published_rows.total_runtime_s"] = total
    reasons = dict((row.id, why) for row, why in unsupported(rows))
    _write_table(rows, all_experiments, reasons, total)
    ctx.figures["published_rows.supported_rows"] = len(_MEASURED)
    ctx.figures["published_rows.unsupported_rows"] = len(reasons)
    return _fraction_metrics(rows, "all.")


def _stored_benchmark_rows(rows) -> None:
    """Take the rows that the cluster benchmarks (:data:`OTHER_BENCHMARKS`) solve from their stored
    results, with their band and boundary deviation; rows they lack stay unsupported."""
    wanted = {row.id for row in rows}
    folder = shipped_folder("benchmarks") / "results"
    for name, benchmark in OTHER_BENCHMARKS.items():
        try:
            record = json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
        if record.get("zone_model") != DEFAULT_MODEL:     # solved before a model change: not this table's
            print(f"published rows: {name} left out: solved under {record.get('zone_model', 'an earlier model')}, "
                  f"not {DEFAULT_MODEL}", file=sys.stderr)
            continue
        label = f"{Path(benchmark.__file__).name} (stored {name}, {record['date'][:10]}, commit {record['commit'][:12]})"
        for row_id, value, band, deviation, warnings in benchmark.table_readings(record):
            if row_id not in wanted or row_id in _MEASURED:
                continue
            value = float(value)
            _MEASURED[row_id] = (value, label)
            _BAND[row_id] = (float(min(band)), float(max(band))) if band else (value, value)
            problems = [] if deviation is None or deviation <= CONVERGED_BOUNDARY_K else \
                [f"boundary deviation {deviation:.3g} K (at most {CONVERGED_BOUNDARY_K} K)"]
            unchecked = "time step (one run per setting at fixed steps)" + \
                ("; boundary deviation (not recorded)" if deviation is None else "")
            _CHECKS[row_id] = {"boundary_deviation_C": None if deviation is None else float(deviation),
                               "time_error": None, "warnings": warnings, "problems": problems, "unchecked": unchecked}
            _OTHER[row_id] = label


# ------------------------------------------------------------------------------------ table
def _entries(rows, reasons) -> list[dict]:
    out = []
    for row in rows:
        entry = {"id": row.id, "role": row.role, "modality": row.modality, "published": row.value,
                 "sd": row.sd, "unit": row.unit}
        if row.id in _MEASURED:
            value, name = _MEASURED[row.id]
            z = z_score(value, row, _model_sd(row.id))
            low, high = _BAND.get(row.id, (value, value))
            entry.update(model=value, model_p5=low, model_p95=high, model_sd=_model_sd(row.id), z=z,
                         verdict="within 2 SD" if abs(z) <= 2.0 else "miss", in_band_90=_in_band(row),
                         experiment=name, sd_used=published_sd(row))
            entry["run_checks"] = _CHECKS.get(row.id)
            if _SETTING.get(row.id):
                entry["setting_hash"] = _SETTING[row.id]
            if row.id in _REUSED:
                entry["reused_from"] = _REUSED[row.id]
            if row.id in _OTHER:
                entry["from_benchmark"] = _OTHER[row.id]
        else:
            entry.update(model=None, z=None, verdict=f"unsupported: {reasons.get(row.id, '?')}")
        out.append(entry)
    return out


def _write_table(rows, all_experiments, reasons, total_s: float) -> None:
    folder = shipped_folder("benchmarks") / "results"
    folder.mkdir(parents=True, exist_ok=True)
    entries = _entries(rows, reasons)
    fractions = {m.metric: (m.value, m.note) for m in _fraction_metrics(rows, "")}
    header = {"generated": datetime.datetime.now().isoformat(timespec="seconds"), "version": __version__,
              "grid": f"{DEFAULT_SPACING} fine cells, {MAX_SPACING} at most; axisymmetric where the device allows",
              "model": DEFAULT_MODEL, "fitted": f"nothing here (zone model {DEFAULT_MODEL})", "runtime_s": total_s,
              "experiment_runtime_s": dict(_SECONDS), "fractions_within_2sd": fractions,
              "invivo_exvivo_volume_ratio_cvir2009": _EXTRA.get("invivo_exvivo_volume_ratio"),
              "occlusion_volume_enlargement": _EXTRA.get("occlusion_ratio"),
              "experiment_notes": {e.name: list(e.notes) for e in all_experiments if e.notes},
              "reused_rows": dict(_REUSED)}
    lines = [f"# Published rows against the model (zone model {DEFAULT_MODEL}, nothing fitted here)", "",
             f"Generated {header['generated']} by benchmarks/validation/published_rows.py, ablation "
             f"{__version__}; grid {header['grid']}; {len(_MEASURED)} of {len(rows)} rows simulated in "
             f"{total_s / 60:.1f} min.", ""]
    for name, (value, note) in fractions.items():
        what = "inside the model's 5-95 % band" if name.startswith("in_band") else "within 2 SD"
        lines.append(f"- rows {what}, {name.split('.')[-1].replace('_', '-')}: {value:.2f} ({note})")
    if _EXTRA.get("invivo_exvivo_volume_ratio") is not None:
        lines.append(f"- CVIR 2009 in vivo / ex vivo volume ratio: {_EXTRA['invivo_exvivo_volume_ratio']:.2f} "
                     "(published 0.52; README band 0.3-0.6)")
    if _EXTRA.get("occlusion_ratio") is not None:
        lines.append(f"- inflow occlusion (perfusion 0) volume enlargement, CVIR 2 cm in vivo: "
                     f"{_EXTRA['occlusion_ratio']:.2f} (README: at least 1.5)")
    lines.append(_convergence_line())
    if _REUSED:
        sources = sorted(set(_REUSED.values()))
        lines += ["", f"{len(_REUSED)} rows (marked 'stored') were not solved again: they come from "
                  f"{'; '.join(sources)}, a table of a model that changes nothing for them (the cheapest of "
                  "their experiments was solved again and reproduced it)."]
    if _OTHER:
        sources = sorted(set(_OTHER.values()))
        lines += ["", f"{len(_OTHER)} rows (marked 'other benchmark') are solved by another validation benchmark on "
                  f"3-D grids and read from its stored results: {'; '.join(sources)}. Their runs have no time-step "
                  "check; a point temperature has a zero-width band."]
    lines += ["", "Assumptions the experiments added to split.csv:", ""]
    lines += [f"- {name}: {'; '.join(notes)}" for name, notes in header["experiment_notes"].items()]
    lines += ["", "z combines the published SD (or 10 % of the value) with the model SD from its 5-95 % band.", "",
              "runs: the experiment's runs against the convergence rule the calibration applies to its "
              f"training runs (conducted boundary deviation at most {CONVERGED_BOUNDARY_K:g} K, time-step error "
              f"of the zone volume at most {100 * CONVERGED_TIME_ERROR:g} %) and their grid and time warnings; "
              "'not recorded' for rows stored before the checks were kept.", "",
              "| id | role | model | model 5-95 % | published | unit | z | verdict | in band | runs |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        published = f"{e['published']:g}" + (f" ± {e['sd']:g}" if e["sd"] is not None else "")
        if e["model"] is None:
            lines.append(f"| {e['id']} | {e['role']} | | | {published} | {e['unit']} | | {e['verdict']} | | |")
        else:
            verdict = e["verdict"] + (" (stored)" if "reused_from" in e else "") + \
                (" (other benchmark)" if "from_benchmark" in e else "")
            lines.append(f"| {e['id']} | {e['role']} | {e['model']:.4g} | {e['model_p5']:.4g}-{e['model_p95']:.4g} | "
                         f"{published} | {e['unit']} | {e['z']:+.2f} | {verdict} | "
                         f"{'yes' if e['in_band_90'] else 'no'} | {_checks_text(e['run_checks'])} |")
    recording.write(folder, RESULTS_NAME, {**header, "rows": entries}, "\n".join(lines) + "\n", echo=False)


def _checks_text(checks) -> str:
    """One table cell: whether the row's runs passed the convergence rule, with their numbers."""
    if checks is None:
        return "not recorded"
    time_error = "no step check" if checks["time_error"] is None else f"step {100 * checks['time_error']:.2g} %"
    deviation = checks["boundary_deviation_C"]
    boundary = "boundary not recorded" if deviation is None else f"boundary {deviation:.2g} K"
    numbers = f"{boundary}, {time_error}"
    verdict = "not converged" if checks["problems"] else \
        (f"not checked: {checks['unchecked']}" if checks.get("unchecked") else "converged")
    warned = f"; {len(checks['warnings'])} warning(s): " + " / ".join(checks["warnings"]) if checks["warnings"] else ""
    return f"{verdict} ({numbers}){warned}"


def _convergence_line() -> str:
    """How many measured rows rest on runs that passed the convergence rule."""
    recorded = [c for c in _CHECKS.values() if c is not None]
    passed = sum(1 for c in recorded if not c["problems"] and not c.get("unchecked"))
    warned = sum(1 for c in recorded if c["warnings"])
    return (f"- rows whose runs pass the convergence rule: {passed} of {len(recorded)} with checks recorded "
            f"({len(_MEASURED) - len(recorded)} stored without them); rows whose runs warned: {warned}")


# ------------------------------------------------------------------------------------ script
def _reuse(model: str, candidates) -> None:
    """Take the rows of every experiment in ``candidates`` whose rows all have a value in ``model``'s
    stored table from that table. Per modality, the cheapest such experiment is solved again first and
    must give the stored values (else SystemExit); experiments not in the table are left to be solved."""
    path = shipped_folder("benchmarks") / "results" / f"validation-published-rows-{model}.json"
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--reuse-from {model}: cannot read {path} ({exc})") from None
    entries = {e["id"]: e for e in stored["rows"] if e.get("model") is not None}
    # a table written by an earlier reuse keeps the runtimes it reused under "<name> (stored)"
    runtime = {name.removesuffix(" (stored)"): seconds
               for name, seconds in stored.get("experiment_runtime_s", {}).items()}
    label = f"{path.name} (generated {stored.get('generated', '?')})"
    # a stored row whose experiment has changed since (its setting_hash differs) is solved again;
    # tables written before the hash was kept cannot be checked this way
    stored_experiments = [e for e in candidates if all(row.id in entries for row in e.rows)
                          and _unchanged(e, [entries[row.id] for row in e.rows])]
    for modality in sorted({e.rows[0].modality for e in stored_experiments}):
        mine = [e for e in stored_experiments if e.rows[0].modality == modality]
        check = min(mine, key=lambda e: runtime.get(e.name, float("inf")))
        _measure([check])
        for row in check.rows:
            old, new = entries[row.id]["model"], _MEASURED[row.id][0]
            if abs(new - old) > REUSE_TOLERANCE * max(abs(old), 1e-30):
                raise SystemExit(f"--reuse-from {model}: experiment {check.name} gives {row.id} = {new:.6g} now and "
                                 f"{old:.6g} in {path.name}: the stored {modality} rows do not hold for this model")
        for experiment in mine:
            if experiment is check:
                continue
            for row in experiment.rows:
                entry = entries[row.id]
                solved_as = entry.get("experiment", experiment.name).removesuffix(" (stored)")
                _MEASURED[row.id] = (float(entry["model"]), f"{solved_as} (stored)")
                _BAND[row.id] = (float(entry["model_p5"]), float(entry["model_p95"]))
                _REUSED[row.id] = entry.get("reused_from", label)     # where the value was solved
                if entry.get("run_checks") is not None:
                    _CHECKS[row.id] = entry["run_checks"]
                _SETTING[row.id] = entry.get("setting_hash")
            if experiment.name in runtime:
                _SECONDS[f"{experiment.name} (stored)"] = float(runtime[experiment.name])


def _unchanged(experiment, stored_entries) -> bool:
    """Whether the stored rows were solved with the experiment as it is now (True when no hash was kept)."""
    stored = {entry.get("setting_hash") for entry in stored_entries} - {None}
    return not stored or stored == {setting_hash(experiment)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse-from", metavar="MODEL",
                        help="take the experiments that MODEL's stored table holds from it (the cheapest of each "
                             "modality solved again as a check); solve the others")
    parser.add_argument("--solve-again", metavar="MODALITY_OR_EXPERIMENT", action="append", default=[],
                        help="with --reuse-from: solve every experiment of this modality ('rfa', 'cryo'), or this "
                             "experiment, again (repeatable): e.g. for a model that changes RF, or a reading that "
                             "changed")
    args = parser.parse_args(argv)
    if args.solve_again and not args.reuse_from:
        parser.error("--solve-again goes with --reuse-from")
    rows, all_experiments = _rows()
    started = time.perf_counter()
    if args.reuse_from:
        unknown = set(args.solve_again) - {"rfa", "cryo"} - {e.name for e in all_experiments}
        if unknown:
            parser.error(f"--solve-again {', '.join(sorted(unknown))}: not a modality (rfa, cryo) or an experiment")
        _reuse(args.reuse_from, [e for e in all_experiments
                                 if e.rows[0].modality not in args.solve_again and e.name not in args.solve_again])
    _measure(all_experiments)
    _occlusion_metric(all_experiments)
    _ratio_metric()
    _stored_benchmark_rows(rows)
    print(f"solved in {(time.perf_counter() - started) / 60:.1f} min", file=sys.stderr)
    reasons = dict((row.id, why) for row, why in unsupported(rows))
    _write_table(rows, all_experiments, reasons,
                 sum(seconds for name, seconds in _SECONDS.items() if not name.endswith("(stored)")))
    for metric in _fraction_metrics(rows, "all."):
        print(f"{metric.metric}: {metric.value:.3f} ({metric.note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

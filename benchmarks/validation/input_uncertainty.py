"""How much a liver's unmeasured tissue properties would widen the lethal zone's band (issue
"Trustworthy lethal zones", step 1: why so few held-out rows lie inside the model's 90 % band: 8 of 27).

Measurement only: no solve, nothing fitted, no default changed. Two stored tables are read:

* ``validation-sensitivity.json`` (sensitivity.py): every input swept across its literature range
  from four base cases: a cooled 17 G needle with a 2 cm tip ex vivo (``rf_exvivo``, the CVIR 2009
  training setting) and in perfused liver (``rf_invivo``), and the 17 G cryoneedle in liver
  (``cryo_liver``) and in gel (``cryo_gel``);
* ``validation-published-rows-<default model>.json`` (published_rows.py): every simulated row's
  model value and 5-95 % band. That band joins the calibration's edge-temperature posterior with its
  model discrepancy (and, for the Littrup probes, the calibrated capacity); it does not include the
  tissue properties, which every run takes at the preset's values.

Method (first order, one input at a time):

* An input is a property of the tissue that the experiment did not measure (:data:`INPUTS`). Its
  range is taken as the central 95 % of a normal, +/- 2 SD, the convention of the edge
  temperature's prior (50-60 degC). Ranges marked "assumed" in the sensitivity table have no
  literature source and are reported apart from the rest.
* Its log-SD on a quantity q is |ln q(high) - ln q(low)| / 4, from the runs at the range's ends
  (perfusion, in vivo only: the runs at 9.0e-3 and 2.34e-2 1/s, 50-130 mL/min/100 g). Independent
  inputs add in quadrature.
* A row takes the log-SDs of the base case that matches its setting: RF ex vivo (perfusion 0)
  from ``rf_exvivo``, RF in vivo from ``rf_invivo``, cryo in gel from ``cryo_gel`` (diameter: the
  mean of the -20 and -40 degC diameters' log-SDs, the rows' -30 degC edge lies between), and a
  volume or length or energy as such. Ratios, slopes, intercepts and area fractions between runs
  in the same tissue are not widened: an input common to both runs largely cancels, and this table
  has no runs that measure how much.
* The widened band: the stored band's log half-width h and 1.645 s_input in quadrature, about the
  band's geometric centre (an energy row's band has zero width: the run's value).
* Consistency: the model discrepancy delta was estimated from the training residuals with the
  published SDs alone, so it already absorbs some of this spread. Estimated again with each
  training row's variance sd_i^2 + (s_input,i m_i)^2 (:func:`ablation.calibration.fit.discrepancy_sd`),
  it gives delta'; the band's discrepancy part (1.645 k delta, k = 1 for a length, sqrt(5) for a
  volume) is then swapped for 1.645 k delta' before the input is added. Both widened bands are
  reported; the second is the one a recalibration with input uncertainty would give.

Run: ``python benchmarks/validation/input_uncertainty.py [--out DIR]`` writes
``DIR/validation-input-uncertainty.json`` and ``.md``.
"""
from __future__ import annotations

import json
import math
import sys
import time

from ablation.benchmarks._recording import ROOT, parser, provenance, write  # noqa: E402

from ablation.calibration.fit import discrepancy_sd  # noqa: E402
from ablation.calibration.published import load_rows  # noqa: E402
from ablation.input.models import COOLED_SHAFT, calibration  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SENSITIVITY = RESULTS / "validation-sensitivity.json"
#: the model this measurement was made for: the sensitivity table's RF cases ran under it (2026-12-05;
#: its cryo cases under physiological-ice-2026.12, which is the same model for cryoprobes). A new
#: default needs the sensitivity table's cases that it changes solved again first.
MEASURED_MODEL = COOLED_SHAFT
PUBLISHED = RESULTS / f"validation-published-rows-{MEASURED_MODEL}.json"
BAND_Z = 1.6449          # the 5-95 % band spans +/- 1.645 SD of a normal
RANGE_SDS = 4.0          # a literature range read as +/- 2 SD

#: sensitivity-table parameter -> the cases it is an unmeasured tissue input of. Left out on purpose:
#: the edge temperature (already in the band), model options (zone model, vaporisation, laws),
#: device and generator settings, and the start temperature and (ex vivo) perfusion, which split.csv
#: fixes per experiment.
INPUTS = {
    "thermal conductivity k": ("rf_exvivo", "rf_invivo"),
    "dk/dT": ("rf_exvivo", "rf_invivo"),
    "rho c": ("rf_exvivo", "rf_invivo"),
    "electrical conductivity sigma(37 degC)": ("rf_exvivo", "rf_invivo"),
    "sigma temperature slope": ("rf_exvivo", "rf_invivo"),
    "tissue water content": ("rf_exvivo", "rf_invivo"),
    "perfusion w_b": ("rf_invivo",),
    "unfrozen conductivity k": ("cryo_liver", "cryo_gel"),
    "frozen conductivity k_f": ("cryo_liver", "cryo_gel"),
    "latent heat of fusion": ("cryo_liver", "cryo_gel"),
    "perfusion w_b (cryo)": ("cryo_liver",),
}
#: the in vivo perfusion range (1/s): Hall et al. 2015's lower end (50 mL/min/100 g) to the upper end
#: of the 100-130 mL/min/100 g hepatic-circulation reviews give (Eipel et al. 2010)
PERFUSION_RANGE = (9.0e-3, 2.34e-2)
RF_QUANTITIES = ("volume_ml", "long_axis_mm", "short_axis_mm", "energy_J")
CRYO_QUANTITIES = ("diameter_mm", "volume_ml")


def _quantities(run: dict, case: str) -> dict:
    """The quantities a row can take from one sensitivity run."""
    if case.startswith("rf"):
        return {q: run.get(q) for q in RF_QUANTITIES}
    iso = run["isotherms"]
    # the Littrup rows' -30 degC edge lies between the -20 and -40 degC isotherms: their geometric mean
    return {"diameter_mm": math.sqrt(iso["-20"]["max_diameter_mm"] * iso["-40"]["max_diameter_mm"]),
            "volume_ml": math.sqrt(iso["-20"]["volume_ml"] * iso["-40"]["volume_ml"])}


def _range_ends(row: dict) -> tuple[dict, dict]:
    """The levels at the two ends of the parameter's literature range (perfusion: PERFUSION_RANGE)."""
    levels = row["levels"]
    if row["parameter"].startswith("perfusion"):
        def flow(level):
            return float(level["label"].split(" ", 1)[0])
        ends = [min(levels, key=lambda lv: abs(flow(lv) - w)) for w in PERFUSION_RANGE]
        for w, level in zip(PERFUSION_RANGE, ends):
            if abs(flow(level) - w) > 0.02 * w:
                raise SystemExit(f"{SENSITIVITY.name}: no '{row['parameter']}' run at {w:g} 1/s in case "
                                 f"{row['case']} (levels {[lv['label'] for lv in levels]}); rerun sensitivity.py")
        return ends[0], ends[1]
    return levels[0], levels[-1]


def input_log_sds(table: dict) -> dict:
    """case -> parameter -> quantity -> log-SD (first order, the range as +/- 2 SD), with each
    parameter's source and whether its range is assumed."""
    out: dict = {}
    for row in table["rows"]:
        cases = INPUTS.get(row["parameter"], ())
        if row["case"] not in cases or row["kind"] != "physical":
            continue
        low, high = _range_ends(row)
        q_low = _quantities(table["runs"][low["run"]], row["case"])
        q_high = _quantities(table["runs"][high["run"]], row["case"])
        sds = {q: abs(math.log(q_high[q] / q_low[q])) / RANGE_SDS for q in q_low if q_low[q] and q_high[q]}
        out.setdefault(row["case"], {})[row["parameter"]] = {
            "levels": [low["label"], high["label"]], "log_sd": sds, "source": row["source"],
            "assumed": row["source"].lower().startswith("assumed")}
    return out


def combined(per_parameter: dict, literature_only: bool = False) -> dict:
    """quantity -> the inputs' log-SDs in quadrature (``literature_only``: without assumed ranges)."""
    total: dict = {}
    for entry in per_parameter.values():
        if literature_only and entry["assumed"]:
            continue
        for q, s in entry["log_sd"].items():
            total[q] = math.hypot(total.get(q, 0.0), s)
    return total


# ------------------------------------------------------------------------------------- rows
#: published quantity (published_lesions.csv) -> (sensitivity quantity, discrepancy exponent k: 1 for
#: a length, sqrt(5) for a volume, 0 where no discrepancy applies: energy, cold). Quantities not
#: listed (ratios, slopes, intercepts, area fractions) are not widened (module docstring).
WIDENED = {"volume": ("volume_ml", math.sqrt(5.0)), "long_axis": ("long_axis_mm", 1.0),
           "short_axis": ("short_axis_mm", 1.0), "delivered_energy": ("energy_J", 0.0),
           "minus30C_isotherm_diameter": ("diameter_mm", 0.0)}


def row_case(row) -> str | None:
    """The sensitivity case whose inputs a published row's setting shares, or None (not widened)."""
    if row.quantity not in WIDENED:
        return None
    setting = row.details.get("setting", "").lower()
    if row.modality == "rfa":
        return "rf_invivo" if "in vivo" in setting else "rf_exvivo"
    return "cryo_gel" if ("agar" in setting or "gel" in setting) else "cryo_liver"


def widened(row: dict, s_input: float, k: float, delta: float, delta_new: float) -> tuple[float, float]:
    """The row's band with the input's spread added; with ``delta_new`` != ``delta`` the
    discrepancy part is swapped first (module docstring)."""
    p5, p95 = row["model_p5"], row["model_p95"]
    centre = math.sqrt(p5 * p95) if p5 > 0 and p95 > 0 else row["model"]
    half = 0.5 * math.log(p95 / p5) if p5 > 0 and p95 > 0 else 0.0
    rest = max(half ** 2 + (BAND_Z * k) ** 2 * (delta_new ** 2 - delta ** 2), 0.0)
    half_new = math.sqrt(rest + (BAND_Z * s_input) ** 2)
    return centre * math.exp(-half_new), centre * math.exp(half_new)


def _inside(value: float, band: tuple[float, float]) -> bool:
    return band[0] <= value <= band[1]


def measure(sensitivity: dict, published: dict, delta: float) -> dict:
    sds = input_log_sds(sensitivity)
    totals = {case: {"all": combined(p), "literature": combined(p, literature_only=True)} for case, p in sds.items()}
    rows = [r for r in published["rows"] if r.get("model") is not None]
    source = {row.id: row for row in load_rows()}

    def quantity_of(r) -> tuple[str, float]:
        quantity, k = WIDENED[source[r["id"]].quantity]
        return quantity, (0.0 if r["modality"] == "cryo" else k)   # no discrepancy for cold

    # delta again, with each training row's input variance beside its published SD
    train = [r for r in rows if r["role"] == "train" and r["modality"] == "rfa"]
    residuals, plain, with_input, values, exponents = [], [], [], [], []
    for r in train:
        quantity, k = quantity_of(r)
        s_in = totals[row_case(source[r["id"]])]["literature"].get(quantity, 0.0)
        residuals.append(r["model"] - r["published"])
        plain.append(r["sd_used"])
        with_input.append(math.hypot(r["sd_used"], s_in * r["model"]))
        values.append(r["model"])
        exponents.append(k)
    delta_table = discrepancy_sd(residuals, plain, values, exponents)
    delta_new = discrepancy_sd(residuals, with_input, values, exponents)

    out_rows = []
    for r in rows:
        case = row_case(source[r["id"]])
        entry = {"id": r["id"], "role": r["role"], "unit": r["unit"], "published": r["published"],
                 "model": r["model"], "band": [r["model_p5"], r["model_p95"]], "in_band": r["in_band_90"],
                 "case": case}
        if case is not None:
            quantity, k = quantity_of(r)
            s_in = totals[case]["literature"].get(quantity, 0.0)
            s_all = totals[case]["all"].get(quantity, 0.0)
            band_kept = widened(r, s_in, k, delta, delta)
            band_swapped = widened(r, s_in, k, delta, delta_new)
            band_assumed = widened(r, s_all, k, delta, delta_new)
            entry.update(quantity=quantity, input_log_sd=s_in, input_log_sd_with_assumed=s_all,
                         band_with_inputs=list(band_kept), in_band_with_inputs=_inside(r["published"], band_kept),
                         band_recalibrated=list(band_swapped),
                         in_band_recalibrated=_inside(r["published"], band_swapped),
                         band_recalibrated_with_assumed=list(band_assumed),
                         in_band_recalibrated_with_assumed=_inside(r["published"], band_assumed))
        out_rows.append(entry)

    held = [e for e in out_rows if e["role"] == "held_out"]

    def count(key):
        return sum(1 for e in held if e.get(key, e["in_band"]))
    return {"inputs": sds, "combined": totals, "delta": delta, "delta_check": delta_table,
            "delta_with_inputs": delta_new, "rows": out_rows,
            "held_out": {"rows": len(held), "in_band": count("in_band"),
                         "in_band_with_inputs": count("in_band_with_inputs"),
                         "in_band_recalibrated": count("in_band_recalibrated"),
                         "in_band_recalibrated_with_assumed": count("in_band_recalibrated_with_assumed")}}


# ------------------------------------------------------------------------------------- report
def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def markdown(result: dict, meta: dict, sensitivity_meta: dict) -> str:
    h = result["held_out"]
    lines = [f"# Tissue-property uncertainty and the lethal zone's band ({meta['zone_model']})", "",
             f"Generated {meta['date']} by benchmarks/validation/input_uncertainty.py at {meta['commit']}: no "
             f"solve, read from {SENSITIVITY.name} ({sensitivity_meta}) and {PUBLISHED.name}. Method: the "
             "module docstring (first order, one input at a time, a literature range as +/- 2 SD).", "",
             "## Log-SD of the zone per input (%, per SD of the input)", ""]
    for case, params in result["inputs"].items():
        quantities = RF_QUANTITIES if case.startswith("rf") else CRYO_QUANTITIES
        lines += [f"**{case}**", "", "| input | range ends | " + " | ".join(quantities) + " | range |",
                  "|---|---|" + "---|" * len(quantities) + "---|"]
        for name, entry in params.items():
            lines.append(f"| {name} | {' / '.join(entry['levels'])} | "
                         + " | ".join(_pct(entry["log_sd"].get(q)) for q in quantities)
                         + f" | {'assumed' if entry['assumed'] else 'literature'} |")
        for label, key in (("all literature ranges", "literature"), ("with the assumed ranges", "all")):
            lines.append(f"| **{label}** | | " + " | ".join(_pct(result["combined"][case][key].get(q))
                                                          for q in quantities) + " | |")
        lines.append("")
    k5 = math.sqrt(5.0)
    lines += ["## Against the calibration's model discrepancy", "",
              f"- model discrepancy delta (calibration): {_pct(result['delta'])} % per length, "
              f"{_pct(k5 * result['delta'])} % on a volume; estimated again from the stored table's training "
              f"values with the published SDs alone: {_pct(result['delta_check'])} %;",
              f"- with each training row's input variance (literature ranges) beside its published SD: "
              f"delta' = {_pct(result['delta_with_inputs'])} % per length, {_pct(k5 * result['delta_with_inputs'])} "
              "% on a volume.", "",
              "## Held-out rows inside the 90 % band", "",
              f"- stored band (edge posterior, discrepancy, capacity): **{h['in_band']} of {h['rows']}**",
              f"- plus the literature-range inputs: **{h['in_band_with_inputs']} of {h['rows']}**",
              f"- plus the inputs, discrepancy re-estimated (delta'): **{h['in_band_recalibrated']} of {h['rows']}**",
              f"- as above with the assumed ranges too: **{h['in_band_recalibrated_with_assumed']} of {h['rows']}**",
              "", "| id | role | published | model | stored band | input log-SD % | band + inputs | band, delta' | in band: stored / + inputs / delta' |",
              "|---|---|---|---|---|---|---|---|---|"]

    def band(b):
        return f"{b[0]:.4g}-{b[1]:.4g}"
    for e in result["rows"]:
        if e["case"] is None:
            lines.append(f"| {e['id']} | {e['role']} | {e['published']:g} | {e['model']:.4g} | {band(e['band'])} | "
                         f"not widened | | | {'yes' if e['in_band'] else 'no'} |")
            continue
        marks = " / ".join("yes" if e[k] else "no" for k in ("in_band", "in_band_with_inputs", "in_band_recalibrated"))
        lines.append(f"| {e['id']} | {e['role']} | {e['published']:g} | {e['model']:.4g} | {band(e['band'])} | "
                     f"{_pct(e['input_log_sd'])} ({e['case']}) | {band(e['band_with_inputs'])} | "
                     f"{band(e['band_recalibrated'])} | {marks} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    started = time.perf_counter()
    for path in (SENSITIVITY, PUBLISHED):
        if not path.exists():
            print(f"input_uncertainty.py: {path} is missing; run the script that writes it first", file=sys.stderr)
            return 2
    sensitivity = json.loads(SENSITIVITY.read_text())
    published = json.loads(PUBLISHED.read_text())
    delta = calibration(MEASURED_MODEL)["parameters"]["model_discrepancy"]["relative_sd_length"]
    result = measure(sensitivity, published, delta)
    meta = provenance(started)
    by_case = sensitivity.get("provenance_by_case") or {}
    sensitivity_meta = "; ".join(f"{case} at {p['git_head'][:10]}, {p['date'][:10]}" for case, p in by_case.items())
    write(args.out, "validation-input-uncertainty", {**meta, **result},
          markdown(result, meta, sensitivity_meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())

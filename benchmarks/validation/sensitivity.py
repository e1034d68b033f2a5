"""Sensitivity of the predicted lethal zone to its inputs (issue "Trustworthy lethal zones", step 1).

Measurement only: nothing here is fitted or changes a default. Each input in :data:`PARAMETERS` is
swept across its literature range (the source column says where the range comes from; "assumed"
where none is documented) from four base cases, one run per level, everything else at the
toolkit's defaults:

* ``rf_exvivo``: ``scenarios/rfa_cooltip_exvivo.toml`` (cooled 17 G needle, impedance control
  200 W, 12 min; perfusion 0, tissue and boundary at 20 degC) with a 2 cm exposed tip, as the CVIR
  2009 rows of ``published_lesions.csv``;
* ``rf_invivo``: ``scenarios/rfa_cooltip_perfused.toml`` with a 2 cm tip and its tumour removed
  (the default zone model's liver perfusion, 37 degC), i.e. the same device and tissue as ``rf_exvivo``; the
  tumour comes back only in the tumour rows (centred on the 2 cm tip);
* ``cryo_liver``: ``scenarios/cryo_17g_perfused.toml`` (catalogue 17 G needle, 10-8-10 min)
  in perfused liver, its passive target tumour removed (it does not take part in the solve);
* ``cryo_gel``: the same in unperfused agar (preset ``agar``) at 37 degC.

The zone model is the toolkit's default when the table is run (``calibrated-2026.12`` from commit
0da7e38, ``physiological-2026.12`` from b1052ca: its liver perfusion and stasis kinetics are the base
of the perfusion and stasis rows); the ``zone model`` rows rerun the RF cases with ``library-2026.11``
(A 7.39e39 1/s = edge 50.1 degC, perfusion off where Omega >= 1). The table records the model
each case resolved to.

All runs: 1 mm cells in the fine region, 4 mm at most (``GRID``); the default time-step control
(Richardson estimate of the volume's step error, halving above 2 %); fields and pictures off.
The ``grid spacing`` rows repeat the base cases at the library's 0.5 mm to show what the 1 mm grid
changes. Per run the table keeps the lethal zone (default criterion: Arrhenius Omega >= 1 for RF,
-40 degC reached for cryo) with volume and axes, the zone by every other criterion, the delivered
energy and roll-offs (RF), the 0/-20/-40 degC isotherms reached (cryo), the zone volume at 2, 6,
10 and 12 min (RF, from the time series), the boundary deviation, the step-error estimate and any
warning.

Ranking ("tornado"): per parameter, the spread of the zone over its levels, (max - min) / base,
and the signed change from the first (low) level to the last (high) one, / base.

Run: ``python benchmarks/validation/sensitivity.py [--quick] [--out DIR] [--jobs N] [--cache FILE]``
writes ``DIR/validation-sensitivity.json`` and ``.md`` (``--quick``: ``validation-sensitivity-quick.*``,
a few parameters on short runs; ``--cache``: finished runs kept in a JSON-lines file, so that an
interrupted sweep resumes; reused only by the same solver code; ``--cases cryo_liver,cryo_gel``: rerun
those base cases alone and merge them into the stored table, e.g. after a cryo-only change). As benchmark cases (``ablation bench --suite validation``) the
table is measured and only robust facts are asserted (the zone shrinks as perfusion rises and grows
with time, the iceball grows with the probe's cooling capacity, no run fails); the numbers go to
the notes and figures.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ablation.benchmarks import _recording as recording
from ablation.bench import Metric, case, shipped_folder
from ablation.input.models import DEFAULT_MODEL, LIBRARY, calibration

# ------------------------------------------------------------------------------------- base cases
GRID = {"grid.spacing": "1 mm", "grid.max_spacing": "4 mm"}
COMMON = {"outputs.fields": False, "outputs.scene": False}

CASES = {   # name -> (shipped scenario, changes)
    "rf_exvivo": ("rfa_cooltip_exvivo.toml", {"probes[0].active_length": "20 mm"}),
    "rf_invivo": ("rfa_cooltip_perfused.toml", {"probes[0].active_length": "20 mm", "tumors": []}),
    "cryo_liver": ("cryo_17g_perfused.toml", {"tumors": []}),
    "cryo_gel": ("cryo_17g_perfused.toml", {"tumors": [], "tissue.preset": "agar"}),
}
RF, CRYO = ("rf_exvivo", "rf_invivo"), ("cryo_liver", "cryo_gel")

# --quick: short runs on a smaller domain (same 1 mm grid), a few parameters, two cases
QUICK_CASES = {
    "rf_invivo": {"time.duration": "3 min", "domain.size": "70 mm"},
    "cryo_liver": {"time.duration": "5 min", "domain.size": "60 mm",
                   "cryo.protocol": [{"phase": "freeze", "duration": "5 min"}]},
}

#: the shipped material tumour of rfa_cooltip_perfused.toml (sigma 0.4 S/m), centred on the 2 cm tip
TUMOUR = {"name": "metastasis", "center": [0, 0, -10], "diameter": "22 mm", "material": True}
LIVER_DENSITY = 1079.0          # kg/m^3, liver preset (rho c rows vary c at this density)
GAS_CONSTANT = 8.314462618      # J/(mol K)
ACTIVATION_ENERGY = 2.577e5     # J/mol, library default (damage.activation_energy)
RF_MINUTES = (2, 6, 10, 12)     # zone volume read from the time series at these times
GROWTH_MINUTES = (2, 6, 12, 20, 30)


def frequency_factor(edge_C: float, activation_energy: float = ACTIVATION_ENERGY) -> float:
    """A (1/s) such that Omega reaches 1 after 60 s at edge_C: A = exp(Ea / (R T)) / 60 s."""
    return math.exp(activation_energy / (GAS_CONSTANT * (edge_C + 273.15))) / 60.0


def edge_temperature(a: float, activation_energy: float = ACTIVATION_ENERGY) -> float:
    """The temperature (degC) at which Omega reaches 1 in 60 s for frequency factor a."""
    return activation_energy / (GAS_CONSTANT * math.log(60.0 * a)) - 273.15


def clinical_flow(w: float) -> float:
    """Perfusion w_b (1/s) as blood flow in mL/min/100 g of liver (docs/physics.md 1)."""
    return w * 6e6 / LIVER_DENSITY


# ------------------------------------------------------------------------------------- parameters
BASE = "base"   # marks where the base case's own value sits among the levels (low -> high)


@dataclass(frozen=True)
class Param:
    """One swept input. ``levels`` run low -> high; each is a value for ``key`` (with ``unit``
    appended; a tuple key gets the value at every key), ``"x<f>"`` for f times the case's base value,
    or BASE. ``kind``: 'physical' rows are ranked; 'criterion' rows read the base runs' other
    criteria (no run); 'numerical' and 'growth' rows are checks, not ranked. ``context`` holds
    changes made at every level, the row's own base included (the tumour rows). ``ceiling``: a
    physical upper bound (in ``unit``) that an ``"x<f>"`` level is capped at."""
    name: str
    key: str | tuple
    levels: tuple
    unit: str
    source: str
    cases: tuple
    labels: tuple | None = None
    context: dict = field(default_factory=dict)
    kind: str = "physical"
    quick: bool = False
    ceiling: float | None = None


def _default_liver_perfusion() -> float:
    """The base cases' perfusion: the default zone model's liver perfusion, else the preset's."""
    from ablation.input.models import DEFAULT_MODEL, zone_model
    from ablation.physics.tissue import preset_values
    own = zone_model(DEFAULT_MODEL).liver_perfusion
    return own if own is not None else preset_values("liver")["perfusion"]


def _perf_labels(values, base=None):
    base = _default_liver_perfusion() if base is None else base
    return tuple(f"{base if v == BASE else v:g} 1/s ({clinical_flow(base if v == BASE else v):.0f} mL/min/100 g)"
                 for v in values)


def _edge_levels(edges, base_edge):
    return tuple(BASE if abs(t - base_edge) < 1e-9 else t for t in edges)


_CALIBRATED_EDGE = calibration(DEFAULT_MODEL).get("parameters", {}).get("edge_temperature", {}).get("mean", float("nan"))
_STASIS_EA = 6.67e5             # J/mol, damage.stasis_activation_energy default (Brown et al. 1992)


def _default_stasis_edge() -> float:
    """The default zone model's stasis edge (degC over 1 min): Brown 1992's 49.2, or the model's own."""
    from ablation.input.models import DEFAULT_MODEL, zone_model
    a = zone_model(DEFAULT_MODEL).laws.get("damage.stasis_frequency_factor", 1.98e106)
    return edge_temperature(a, _STASIS_EA)


_STASIS_EDGES = (_default_stasis_edge() - 5.0, _default_stasis_edge(), _default_stasis_edge() + 5.0)
# low -> high; the level equal to the base cases' own value (the default zone model's liver perfusion,
# within 2 %) is BASE: no override, so the base run is shared and not repeated under another label
_PERFUSION = tuple(BASE if abs(w - _default_liver_perfusion()) <= 0.02 * _default_liver_perfusion() else w
                   for w in (0.0, 3.6e-3, 6.4e-3, 9.0e-3, 1.8e-2, 2.34e-2))
_PERFUSION_SOURCE = ("docs/physics.md 1: 0 (ex vivo, Pringle), 3.6e-3 (COMSOL/Go-Smart), 6.4e-3 (library, "
                     "unverified), 9.0e-3 (50 mL/min/100 g: Hall et al. 2015's lower end, 34 kW/(m^3 K)), "
                     "1.8e-2 (Hall et al. 2015 upper end, physiological total liver flow), 2.34e-2 (130 mL/min/100 g: "
                     "the upper end of the 100-130 reviews give, Eipel et al. 2010)")
_EDGES = (50.0, 55.0, 60.0)

PARAMETERS = (
    # --- RF, ex vivo and in vivo
    Param("thermal conductivity k", "tissue.conductivity", (0.46, BASE, 0.57), "W/(m K)",
          "Hall et al. 2015 range 0.46-0.57 (tissue.py); base 0.52", RF),
    Param("dk/dT", "tissue.conductivity_slope", (0.0, BASE, 0.0033), "W/(m K^2)",
          "Hall 2015 range 0-0.0033 (tissue.py); base 0.0012", RF),
    Param("rho c", "tissue.specific_heat", (3.60e6 / LIVER_DENSITY, BASE, 4.05e6 / LIVER_DENSITY), "J/(kg K)",
          "no range documented; span of documented values: 1000 x 3600 (literature set, docs/physics.md 3) "
          "= 3.60, 1079 x 3540 (base) = 3.82, 1079 x 3750 (tumour c) = 4.05 MJ/(m^3 K); c varied at rho 1079",
          RF, labels=("3.60 MJ/(m^3 K)", BASE, "4.05 MJ/(m^3 K)")),
    Param("electrical conductivity sigma(37 degC)", "tissue.electrical_conductivity", (0.12, BASE, 0.28), "S/m",
          "Hall 2015 range 0.12-0.28 (tissue.py, docs/physics.md 1); base 0.20", RF),
    Param("sigma temperature slope", "tissue.electrical_conductivity_slope", (0.010, BASE, 0.020), "1/K",
          "1-2 %/K (tissue.py, docs/physics.md 2); base 1.5 %/K", RF),
    Param("Arrhenius edge temperature (Omega = 1 in 60 s)", "damage.edge_temperature",
          _edge_levels(_EDGES, _CALIBRATED_EDGE), "degC",
          "docs/physics.md 2: coagulation-zone edges 50-60 degC; A = exp(Ea/(R T_edge))/60 s at Ea 2.577e5 J/mol "
          f"(library A 7.39e39 1/s: {edge_temperature(7.39e39):.1f} degC); base {_CALIBRATED_EDGE:g} degC from "
          f"the default zone model's calibration ({DEFAULT_MODEL}, fit bounds 50-60 degC)",
          RF, labels=tuple(f"{t:g} degC (A {frequency_factor(t):.3g} 1/s)" for t in _EDGES)),
    Param("zone model", "model", (BASE, LIBRARY), "",
          f"ablation/input/models.py: {DEFAULT_MODEL} (the default) vs library-2026.11 (A 7.39e39 1/s = edge "
          "50.1 degC, perfusion 0 where Omega >= 1)", RF,
          labels=(DEFAULT_MODEL, LIBRARY)),
    Param("generator power", "rfa.power", (150, BASE), "W", "assumed 150 W vs the 200 W library default "
          "(Cool-tip/RF3000 200 W, device facts unverified)", RF),
    Param("roll-off rise over baseline", "rfa.rolloff_rise", (10, BASE, 50), "ohm",
          "assumed 10-50 ohm around the 30 ohm default (itself an assumption, schema)", RF),
    Param("power-off time after roll-off", "rfa.off_time", (10, BASE, 20), "s",
          "assumed 10-20 s around the MITA-model 15 s (docs/physics.md 2)", RF),
    Param("coolant temperature", "probes[0].rfa.coolant_temperature", (5, BASE, 25), "degC",
          "Lopez-Molina, Rivera & Berjano 2012: 5-25 degC (schema); base 10", RF),
    Param("coolant heat-transfer coefficient h", "probes[0].rfa.coolant_heat_transfer_coefficient",
          (1683, BASE, 6732), "W/(m^2 K)", "assumed x0.5 - x2 of the MITA-model 3366 (no range documented)", RF),
    Param("water vaporisation", "rfa.vaporisation", (False, BASE), "", "model option (on in Berjano-group "
          "and MITA models)", RF, labels=("off", BASE)),
    Param("vaporisation interval", "rfa.vaporisation_interval", (BASE, 10), "K",
          "Berjano-group models 1 K (base), MITA 10 K (schema)", RF),
    Param("rho c after vaporisation", "rfa.vaporised_heat_capacity", (0.44, BASE, 0.8), "",
          "docs/physics.md 2: 0.44-0.8 MJ/(m^3 K); base 0.6", RF,
          labels=("0.44 MJ/(m^3 K)", BASE, "0.8 MJ/(m^3 K)")),
    Param("sigma drop at 105 degC", "rfa.conductivity_drop", (1e-4, BASE), "",
          "docs/physics.md 2: 1e-2 (base) to 1e-4", RF),
    Param("tissue water content", "tissue.water_content", (0.71, BASE, 0.76), "",
          "Berjano-group models 0.71-0.76 (tissue.py); base 0.74 (vaporisation enthalpy)", RF),
    Param("lesion criterion", "criterion", ("max_temperature:60", "three_state", BASE, "max_temperature:50"),
          "", "docs/physics.md 2: Arrhenius Omega >= 1 (base), 50/60 degC isotherms, three-state D > 0.8 "
          "(O'Neill 2011); read from the base runs", RF, kind="criterion"),
    # --- RF, one case only
    Param("initial tissue temperature (ex vivo)", ("tissue.initial_temperature", "tissue.boundary_temperature"),
          (BASE, 30, 37), "degC", "20 (room, base), 30, 37 degC (warmed liver); perfusion stays 0",
          ("rf_exvivo",)),
    Param("perfusion w_b", "tissue.perfusion", _PERFUSION, "1/s", _PERFUSION_SOURCE, ("rf_invivo",),
          labels=_perf_labels(_PERFUSION), quick=True),
    Param("perfusion shutdown law", "damage.perfusion_shutdown", (BASE, "arrhenius", "smooth", "none"), "",
          "schema options: 'vascular_stasis' (base: own stasis kinetics with hyperaemia, Brown 1992 / Tompkins "
          "1994 as in Schutt & Haemmerich 2008), 'arrhenius' w_b = 0 where Omega >= 1 (Chang & Nguyen 2004), "
          "'smooth' w_b0 exp(-Omega), 'none'", ("rf_invivo",), labels=("vascular_stasis", BASE, BASE, BASE)),
    Param("vascular stasis edge temperature", "damage.stasis_frequency_factor",
          tuple(BASE if i == 1 else frequency_factor(t, _STASIS_EA) for i, t in enumerate(_STASIS_EDGES)), "",
          f"assumed +/-5 K around the default zone model's stasis kinetics (Ea 6.67e5 J/mol, Brown 1992: stasis "
          f"integral 1 after 1 min at {_STASIS_EDGES[1]:.1f} degC, docs/physics.md 2); A varied at fixed Ea",
          ("rf_invivo",),
          labels=tuple(f"{t:.1f} degC" for t in _STASIS_EDGES)),
    Param("material tumour on the tip", "tumors", (BASE, [TUMOUR]), "",
          "the shipped 22 mm metastasis of rfa_cooltip_perfused.toml (sigma 0.4 S/m Go-Smart, w_b 6.4e-3, "
          "k 0.50, c 3750), centred on the 2 cm tip", ("rf_invivo",), labels=("none", "22 mm tumour")),
    Param("tumour electrical conductivity", "tumors[0].properties.electrical_conductivity", (0.2, BASE, 0.6),
          "S/m", "0.4 Go-Smart tumour (base, tissue.py); 0.2 = liver value; 0.6 assumed", ("rf_invivo",),
          context={"tumors": [TUMOUR]}),
    Param("tumour perfusion", "tumors[0].properties.perfusion", (0.0, BASE, 1.8e-2), "1/s",
          "no data for CRC metastases (tissue.py: liver value 6.4e-3); 0 (hypovascular, assumed) to 1.8e-2",
          ("rf_invivo",), context={"tumors": [TUMOUR]}),
    # --- cryo
    Param("probe cooling capacity max_extraction", "probes[0].cryo.max_extraction", ("x0.5", BASE, "x1.5"),
          "W/m", "a power-limited 17 G needle (the earlier entry '17G-2026.11', 362.6 W/m: the 2.4 mm value "
          "calibrated on one Littrup 2009 row, scaled by the diameter) +/-50 %; the catalogue 17G has no limit",
          CRYO, quick=True, context={"probes[0].cryo.type": "17G-2026.11"},
          labels=("181.3 W/m", "362.6 W/m (17G-2026.11)", "543.9 W/m")),
    Param("probe wall law", "probes[0].cryo.type", (BASE, "17G-2026.11"), "",
          "catalogue 17G wall held at -145 degC (base; docs/physics.md 3) vs the earlier power-limited entry "
          "(362.6 W/m)", CRYO, labels=("fixed -145 degC wall", "power_limited 362.6 W/m")),
    Param("wall freeze temperature", "probes[0].cryo.freeze_temperature", (-150, BASE, -140), "degC",
          "docs/physics.md 3: -140 to -150 degC; base -145", CRYO),
    Param("frozen conductivity k_f", "tissue.frozen_conductivity", ("x0.75", BASE, "x1.25"), "W/(m K)",
          "assumed +/-25 % (liver 2.0, docs/physics.md 3; agar 2.2; ice 2.22 at 0 degC; Go-Smart mushy 1.25)",
          CRYO),
    Param("frozen conductivity law", "cryo.frozen_conductivity_model", ("constant", BASE), "",
          "'constant' k_f (the models before physiological-ice-2026.12) vs 'ice' k_f 273.15/T_K (the default "
          "model's; Choi & Bischof 2010)", CRYO, labels=("constant", "ice")),
    Param("latent heat of fusion", "tissue.latent_heat_fusion", ("x0.8", BASE, "x1.2"), "J/m^3",
          "assumed +/-20 % (liver 250 MJ/m^3 = 333 kJ/kg x 0.75; agar 328), at most pure water's 334 kJ/kg x "
          "1000 kg/m^3 = 3.34e8 J/m^3 (agar's +20 % would exceed it)", CRYO, ceiling=3.34e8),
    Param("unfrozen conductivity k", "tissue.conductivity", (f"x{0.46 / 0.52}", BASE, f"x{0.57 / 0.52}"), "W/(m K)",
          "liver: Hall 2015 0.46-0.57 (same factors for agar's 0.60)", CRYO),
    Param("body / initial temperature", ("tissue.initial_temperature", "tissue.boundary_temperature",
                                         "tissue.arterial_temperature"), (35, BASE, 39), "degC",
          "assumed 35 (anaesthesia) to 39 degC (Littrup 2009 agar at 39); base 37", CRYO),
    Param("perfusion w_b (cryo)", "tissue.perfusion", _PERFUSION, "1/s", _PERFUSION_SOURCE, ("cryo_liver",),
          labels=_perf_labels(_PERFUSION), quick=True),
    # --- checks (not ranked)
    Param("grid spacing", "grid.spacing", (0.5, BASE), "mm", "library default 0.5 mm vs the 1 mm used here",
          ("rf_exvivo", "rf_invivo", "cryo_liver"), kind="numerical"),
    Param("duration (growth)", "time.duration", (BASE, 30), "min", "12 min protocol run on to 30 min",
          RF, kind="growth"),
    Param("duration (growth), perfusion 1.8e-2", "time.duration", (BASE, 30), "min",
          "as above with w_b 1.8e-2 1/s", ("rf_invivo",), context={"tissue.perfusion": "0.018 1/s"}, kind="growth"),
    Param("duration (growth), no perfusion shutdown", "time.duration", (BASE, 30), "min",
          "as above with perfusion_shutdown 'none'", ("rf_invivo",),
          context={"damage.perfusion_shutdown": "none"}, kind="growth"),
)


# ------------------------------------------------------------------------------------- scenarios
def _case_changes(case_name: str, quick: bool) -> dict:
    changes = {**GRID, **COMMON, **CASES[case_name][1]}
    if quick:
        changes.update(QUICK_CASES[case_name])
    return changes


def scenario(case_name: str, changes: dict, quick: bool = False):
    from ablation.input.scenario import load_scenario
    base = load_scenario(shipped_folder("scenarios") / CASES[case_name][0])
    # deep copy: with_changes stores the given lists and dicts, and later paths edit them in place
    return base.with_changes(copy.deepcopy({**_case_changes(case_name, quick), **changes}))


def _base_value(case_name: str, key: str, quick: bool, context=None) -> float:
    """The value (SI) of a tissue property or the probe's max_extraction in the base case with the
    row's context."""
    from ablation.modalities.cryo import probe_settings
    from ablation.physics.tissue import preset_values
    s = scenario(case_name, dict(context or {}), quick)
    if key.startswith("tissue."):
        name = key.split(".", 1)[1]
        return s.tissue[name] if s.tissue[name] is not None else preset_values(s.tissue.preset)[name]
    if key == "probes[0].cryo.max_extraction":
        return probe_settings(s.probes[0].cryo)["max_extraction"]
    raise ValueError(f"no base value known for {key}")


def level_changes(param: Param, level, case_name: str, quick: bool) -> dict:
    """The scenario changes of one level of a row (its context included)."""
    changes = dict(param.context)
    if level == BASE:
        return changes
    if isinstance(level, str) and level.startswith("x") and param.unit:
        level = float(level[1:]) * _base_value(case_name, param.key, quick, param.context)
        if param.ceiling is not None:
            level = min(level, param.ceiling)
    value = f"{level:.6g} {param.unit}" if param.unit and isinstance(level, (int, float)) else level
    for key in (param.key if isinstance(param.key, tuple) else (param.key,)):
        changes[key] = value
    return changes


def level_label(param: Param, i: int, level, changes: dict) -> str:
    """The row's label of the level (its ``labels`` entry, else the value written in the scenario)."""
    if param.labels is not None and param.labels[i] != BASE:
        return param.labels[i]
    if level == BASE:
        return BASE
    key = param.key[0] if isinstance(param.key, tuple) else param.key
    return str(changes.get(key, level))


# ------------------------------------------------------------------------------------- one run
def _size(d: dict) -> dict:
    return {k: float(d[k]) for k in ("volume_ml", "long_axis_mm", "short_axis_mm")}


def measure(case_name: str, changes: dict, quick: bool) -> dict:
    """Run one scenario and keep what the table needs; a failure is recorded, not raised."""
    from ablation.run.time_loop import run
    started = time.perf_counter()
    record = {"case": case_name, "changes": changes, "ok": False, "error": None}
    try:
        s = scenario(case_name, changes, quick)
        result = run(s)
    except Exception as exc:   # noqa: BLE001 - a failed run is a row of the table, with its error
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["runtime_s"] = time.perf_counter() - started
        return record
    summary = result.summary.to_dict()
    t = summary["time"]
    record.update(ok=True, runtime_s=time.perf_counter() - started, **_size(summary["lesion"]),
                  criteria={name: _size(les) for name, les in summary["lesion_by_criterion"].items()},
                  boundary_max_deviation_C=float(summary["boundary_max_deviation_C"]),
                  time_error_estimate=t.get("lesion_volume_error_estimate"), step_s=t["step_s"],
                  halvings=t.get("halvings"), warnings=list(t.get("warnings") or []))
    if record["boundary_max_deviation_C"] > s.domain.boundary_tolerance:
        record["warnings"].append(f"boundary deviation {record['boundary_max_deviation_C']:.2f} K > "
                                  f"domain.boundary_tolerance {s.domain.boundary_tolerance:g} K")
    device = summary["device"]
    if s.modality == "rfa":
        ts = result.timeseries
        times, volume = np.asarray(ts["time_s"], float), np.asarray(ts["lesion_volume_ml"], float)
        minutes = sorted({m for m in RF_MINUTES + GROWTH_MINUTES if m * 60.0 <= times[-1] + 1e-6})
        record.update(energy_J=float(device["energy_J"]), rolloffs=int(device["rolloffs"]["count"]),
                      mean_power_W=float(device["mean_power_W"]),
                      zone_ml_at_min={str(m): float(np.interp(60.0 * m, times, volume)) for m in minutes})
    else:
        record.update(isotherms={key: {**_size(iso["reached"]), "max_diameter_mm": float(iso["max_diameter_mm"])}
                                 for key, iso in summary["isotherms"].items()},
                      min_wall_C=float(device["min_probe_temperature_C"]),
                      extracted_energy_J=float(device["extracted_energy_J"]))
    return record


def _measure_job(job):
    return measure(*job)


# ------------------------------------------------------------------------------------- the sweep
def _key(case_name: str, changes: dict) -> str:
    return case_name + " " + json.dumps(changes, sort_keys=True)


def plan(quick: bool, only=None) -> tuple[list, dict]:
    """The table's rows (param, case, levels) and the unique runs they need {key: (case, changes)};
    ``only``: the base cases to include (default all)."""
    cases = set(QUICK_CASES) if quick else set(CASES)
    if only:
        cases &= set(only)
    rows, runs = [], {}
    for param in PARAMETERS:
        if quick and not param.quick:
            continue
        for case_name in param.cases:
            if case_name not in cases:
                continue
            levels = []
            for i, level in enumerate(param.levels):
                if param.kind == "criterion":
                    changes, criterion = {}, (None if level == BASE else level)
                else:
                    changes, criterion = level_changes(param, level, case_name, quick), None
                key = _key(case_name, changes)
                runs.setdefault(key, (case_name, changes))
                label = level_label(param, i, level, changes)
                if level == BASE and label != BASE:
                    label += " (base)"
                levels.append({"label": label, "base": level == BASE,
                               "run": key, "criterion": criterion})
            ref = _key(case_name, dict(param.context))
            runs.setdefault(ref, (case_name, dict(param.context)))
            rows.append({"param": param, "case": case_name, "levels": levels, "reference": ref})
    return rows, runs


def _cost(job) -> float:
    """Rough relative cost, to start the longest runs first."""
    case_name, changes = job
    cost = 3.0 if case_name.startswith("rf") else 1.0
    if changes.get("grid.spacing", "").startswith("0.5"):
        cost *= 4.0
    if changes.get("time.duration") == "30 min":
        cost *= 2.5
    return cost


def execute(runs: dict, quick: bool, jobs: int = 1, log=None, cache: Path | None = None) -> dict:
    """Measure every run ({key: record}). With ``cache`` (JSON lines), finished runs are appended as
    they complete and reused by a later call, so an interrupted sweep resumes where it stopped."""
    results = {}
    code = _code_id()
    if cache is not None and cache.exists():
        for line in cache.read_text().splitlines():
            entry = json.loads(line)
            if entry["quick"] == quick and entry["key"] in runs and entry.get("code") == code:
                results[entry["key"]] = entry["record"]
    keys = sorted((k for k in runs if k not in results), key=lambda k: -_cost(runs[k]))
    work = [(runs[k][0], runs[k][1], quick) for k in keys]

    def finished(done, key, record):
        results[key] = record
        if cache is not None:
            with cache.open("a") as f:
                f.write(json.dumps({"quick": quick, "code": code, "key": key, "record": _clean(record)}) + "\n")
        if log:
            log(done, len(keys), key, record)

    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for done, (key, record) in enumerate(zip(keys, pool.map(_measure_job, work)), 1):
                finished(done, key, record)
    else:
        for done, (key, job) in enumerate(zip(keys, work), 1):
            finished(done, key, _measure_job(job))
    return results


def _zone(record: dict, criterion: str | None = None, isotherm: str | None = None) -> dict | None:
    if not record.get("ok"):
        return None
    if isotherm is not None:
        return record["isotherms"][isotherm]
    if criterion is not None:
        return record["criteria"][criterion]
    return {k: record[k] for k in ("volume_ml", "long_axis_mm", "short_axis_mm")}


#: the sizes ranked per modality: (label, isotherm or None, size key)
RANKED = {
    "rf": [("volume", None, "volume_ml"), ("short axis", None, "short_axis_mm")],
    "cryo": [("-20 degC volume", "-20", "volume_ml"), ("-20 degC diameter", "-20", "short_axis_mm"),
             ("0 degC volume", "0", "volume_ml"), ("0 degC diameter", "0", "short_axis_mm"),
             ("-40 degC volume", "-40", "volume_ml")],
}


def tornado(row: dict, runs: dict) -> dict:
    """Spread (max - min) / base and signed change low -> high, / base, of each ranked size."""
    modality = "rf" if row["case"].startswith("rf") else "cryo"
    out = {}
    for label, iso, size in RANKED[modality]:
        base = _zone(runs[row["reference"]], isotherm=iso)
        values = [_zone(runs[lv["run"]], lv["criterion"], iso) for lv in row["levels"]]
        if base is None or any(v is None for v in values) or base[size] <= 0:
            out[label] = None
            continue
        v = [x[size] for x in values]
        out[label] = {"spread": (max(v) - min(v)) / base[size], "low_to_high": (v[-1] - v[0]) / base[size],
                      "values": v, "base": base[size]}
    return out


def sweep(quick: bool = False, jobs: int = 1, log=None, cache: Path | None = None, only=None) -> dict:
    """Measure the whole table (``only``: just these base cases); returns the JSON-ready dict."""
    started = time.perf_counter()
    rows, runs = plan(quick, only)
    results = execute(runs, quick, jobs, log, cache)
    table_rows = []
    for row in rows:
        p = row["param"]
        table_rows.append({
            "parameter": p.name, "case": row["case"], "kind": p.kind, "unit": p.unit, "source": p.source,
            "context": p.context, "reference_run": row["reference"],
            "levels": [{**lv, "zone": _zone(results[lv["run"]], lv["criterion"])} for lv in row["levels"]],
            "tornado": tornado(row, results) if p.kind in ("physical", "criterion") else None,
        })
    return {"quick": quick, "jobs": jobs, "runtime_s": time.perf_counter() - started,
            "run_seconds_sum": sum(r["runtime_s"] for r in results.values()),
            "settings": {"grid": GRID, "cases": {k: _case_settings(k, quick) for k in CASES
                                                 if (not quick or k in QUICK_CASES) and (not only or k in only)}},
            "provenance": _provenance(), "rows": table_rows,
            "ranking": ranking(table_rows), "ratio": invivo_exvivo_ratio(table_rows, results),
            "failed": [{"run": k, "error": r["error"]} for k, r in results.items() if not r["ok"]],
            "warned": [{"run": k, "warnings": r["warnings"]} for k, r in results.items()
                       if r.get("ok") and r["warnings"]],
            "runs": results}


def _case_settings(case_name: str, quick: bool) -> dict:
    """The base case as run: scenario, changes and the zone model's [damage] values it resolved to."""
    s = scenario(case_name, {}, quick)
    d = s.damage
    return {"scenario": CASES[case_name][0], "changes": _case_changes(case_name, quick), "model": s.model,
            "edge_temperature_C": d.edge_temperature, "frequency_factor": d.frequency_factor,
            "perfusion_shutdown": d.perfusion_shutdown}


def ranking(rows: list) -> dict:
    """Per case and ranked size: parameters by spread, largest first."""
    out = {}
    for row in rows:
        if row["tornado"] is None:
            continue
        for label, t in row["tornado"].items():
            if t is not None:
                out.setdefault(row["case"], {}).setdefault(label, []).append(
                    {"parameter": row["parameter"], "spread": t["spread"], "low_to_high": t["low_to_high"]})
    for per_case in out.values():
        for entries in per_case.values():
            entries.sort(key=lambda e: -e["spread"])
    return out


def invivo_exvivo_ratio(rows: list, runs: dict) -> list:
    """In vivo / ex vivo volume at each level of the rows swept in both RF cases."""
    by = {(r["parameter"], r["case"]): r for r in rows}
    out = []
    for (name, case_name), row in by.items():
        if case_name != "rf_invivo" or (name, "rf_exvivo") not in by or row["kind"] not in ("physical", "criterion",
                                                                                           "numerical"):
            continue
        other = by[(name, "rf_exvivo")]
        levels = []
        for a, b in zip(row["levels"], other["levels"]):
            ok = a["zone"] is not None and b["zone"] is not None
            levels.append({"label": a["label"], "base": a["base"], "invivo_ml": a["zone"]["volume_ml"] if ok else None,
                           "exvivo_ml": b["zone"]["volume_ml"] if ok else None,
                           "ratio": a["zone"]["volume_ml"] / b["zone"]["volume_ml"] if ok else None})
        out.append({"parameter": name, "levels": levels})
    return out


def _git(*args) -> str:
    try:
        return subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _code_id() -> str:
    """Identifies the solver code (committed tree of ablation/ plus any uncommitted diff): cached runs
    are reused only by the same code."""
    import hashlib
    return _git("rev-parse", "HEAD:ablation") + "+" + hashlib.sha1(_git("diff", "HEAD", "--", "ablation").encode()).hexdigest()[:12]


def _provenance() -> dict:
    git = _git
    import ablation
    return {"git_head": git("rev-parse", "HEAD"), "git_dirty": bool(git("status", "--porcelain", "--", "ablation")),
            "ablation_version": getattr(ablation, "__version__", ""), "python": sys.version.split()[0],
            "load_average_at_end": list(os.getloadavg()), "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


# ------------------------------------------------------------------------------------- report (markdown)
def _f(x, fmt=".3g"):
    return "-" if x is None else format(x, fmt)


def _pct(x):
    return "-" if x is None else f"{100 * x:+.0f} %"


def markdown(table: dict) -> str:
    runs = table["runs"]
    rows = table["rows"]
    lines = ["# Lethal-zone sensitivity (benchmarks/validation/sensitivity.py)", "",
             "Measured, not fitted: each input swept across its literature range from the base cases, "
             "everything else at the library default. Generated file; see the module docstring for the "
             "method.", "",
             f"- mode: {'quick' if table['quick'] else 'full'}; {len(runs)} runs, {table['runtime_s'] / 60:.1f} min "
             f"wall time with {table['jobs']} worker(s) (sum of the runs' own times "
             f"{table['run_seconds_sum'] / 60:.0f} min, on a shared 2-core machine); grid {table['settings']['grid']['grid.spacing']} cells, "
             f"{table['settings']['grid']['grid.max_spacing']} at most",
             f"- code: {table['provenance']['git_head'][:10]}"
             f"{' + uncommitted changes under ablation/' if table['provenance']['git_dirty'] else ''}, "
             f"{table['provenance']['date']}",
             f"- failed runs: {len(table['failed'])}; runs with a warning: {len(table['warned'])}", ""]
    if table.get("rerun_cases"):
        lines[-1:-1] = [f"- the cases {', '.join(table['rerun_cases'])} were rerun alone (`--cases`) and merged "
                        "into the stored table; the run count and times above are the rerun's; each case's code "
                        "and model are in the base-case table"]
    by_case = table.get("provenance_by_case") or {}
    lines += ["## Base cases", "", "| case | scenario and changes | model | code, date | zone mL | long mm | short mm | extra |",
              "|---|---|---|---|---|---|---|---|"]
    for name, spec in table["settings"]["cases"].items():
        r = runs[_key(name, {})]
        extra = _extra(r)
        prov = by_case.get(name, table["provenance"])
        lines.append(f"| {name} | {spec['scenario']} {json.dumps(CASES[name][1])} | {spec.get('model', '-')} | "
                     f"{prov['git_head'][:10]}, {prov['date'][:10]} | {_f(r.get('volume_ml'))} | "
                     f"{_f(r.get('long_axis_mm'))} | {_f(r.get('short_axis_mm'))} | {extra} |")
    lines.append("")
    if table["ratio"]:
        base = next(x for x in table["ratio"] if x["parameter"] == "thermal conductivity k") \
            if any(x["parameter"] == "thermal conductivity k" for x in table["ratio"]) else table["ratio"][0]
        b = next(lv for lv in base["levels"] if lv["base"])
        lines += [f"In vivo / ex vivo volume at base: **{_f(b['ratio'])}** ({_f(b['invivo_ml'])} / "
                  f"{_f(b['exvivo_ml'])} mL; published CVIR 2009 2 cm: 5.76 / 11.08 = 0.52).", ""]
    # ranking
    lines += ["## Ranking (tornado): spread of the zone over each parameter's levels, (max - min) / base", ""]
    for case_name, per_size in table["ranking"].items():
        for label, entries in per_size.items():
            lines.append(f"**{case_name}, {label}:** " + "; ".join(
                f"{e['parameter']} {100 * e['spread']:.0f} % ({_pct(e['low_to_high'])} low->high)" for e in entries))
            lines.append("")
    # full table
    lines += ["## Every run", "",
              "Zone = default criterion (RF Arrhenius Omega >= 1; cryo -40 degC reached). RF: energy kJ, "
              "roll-offs, zone volume at 2/6/12 min and the growth in the last 2 min (V12 - V10)/V12. Cryo: "
              "volume mL / diameter mm reached by the 0, -20, -40 degC isotherms, coldest wall.", ""]
    for case_name in table["settings"]["cases"]:
        rf = case_name.startswith("rf")
        lines += [f"### {case_name}", ""]
        if rf:
            lines += ["| parameter | level | zone mL | long mm | short mm | kJ | roll-offs | mL at 2/6/12 min | "
                      "growth last 2 min | bound. dev K | notes |", "|" + "---|" * 11]
        else:
            lines += ["| parameter | level | -40 mL | -40 diam mm | -20 mL / diam mm | 0 mL / diam mm | long 0 mm "
                      "| wall min degC | bound. dev K | notes |", "|" + "---|" * 10]
        for row in (r for r in rows if r["case"] == case_name):
            for lv in row["levels"]:
                r = runs[lv["run"]]
                name = row["parameter"]
                if not r["ok"]:
                    lines.append(f"| {name} | {lv['label']} | FAILED: {r['error']} |")
                    continue
                z = lv["zone"]
                notes = "; ".join(r["warnings"]) if lv["criterion"] is None else f"criterion {lv['criterion']}"
                if rf:
                    at = r["zone_ml_at_min"]
                    growth = ((at["12"] - at["10"]) / at["12"]) if "12" in at and "10" in at and at["12"] > 0 else None
                    series = "/".join(_f(at.get(m), ".1f") for m in ("2", "6", "12"))
                    if "30" in at:
                        series += f" (20: {at['20']:.1f}, 30: {at['30']:.1f})"
                    lines.append(f"| {name} | {lv['label']} | {_f(z['volume_ml'])} | {_f(z['long_axis_mm'])} | "
                                 f"{_f(z['short_axis_mm'])} | {r['energy_J'] / 1e3:.1f} | {r['rolloffs']} | {series} | "
                                 f"{_pct(growth)} | {r['boundary_max_deviation_C']:.2f} | {notes} |")
                else:
                    iso = r["isotherms"]
                    lines.append(f"| {name} | {lv['label']} | {_f(iso['-40']['volume_ml'])} | "
                                 f"{_f(iso['-40']['short_axis_mm'])} | {_f(iso['-20']['volume_ml'])} / "
                                 f"{_f(iso['-20']['short_axis_mm'])} | {_f(iso['0']['volume_ml'])} / "
                                 f"{_f(iso['0']['short_axis_mm'])} | {_f(iso['0']['long_axis_mm'])} | "
                                 f"{r['min_wall_C']:.0f} | {r['boundary_max_deviation_C']:.2f} | {notes} |")
        lines.append("")
    if table["ratio"]:
        lines += ["## In vivo / ex vivo volume ratio, per level of the parameters swept in both RF cases", "",
                  "| parameter | levels: ratio (in vivo / ex vivo mL) |", "|---|---|"]
        for entry in table["ratio"]:
            lines.append(f"| {entry['parameter']} | " + "; ".join(
                f"{lv['label']}: {_f(lv['ratio'])} ({_f(lv['invivo_ml'])} / {_f(lv['exvivo_ml'])})"
                for lv in entry["levels"]) + " |")
        lines.append("")
    lines += ["## Parameters and sources", "", "| parameter | cases | levels (low -> high) | source |", "|---|---|---|---|"]
    seen = {}
    for row in rows:
        seen.setdefault(row["parameter"], [row, []])[1].append(row["case"])
    for name, (row, cases) in seen.items():
        lines.append(f"| {name} | {', '.join(cases)} | {', '.join(lv['label'] for lv in row['levels'])} | "
                     f"{row['source']} |")
    lines.append("")
    if table["failed"]:
        lines += ["## Failed runs", ""] + [f"- {f['run']}: {f['error']}" for f in table["failed"]] + [""]
    if table["warned"]:
        lines += ["## Warnings", ""] + [f"- {w['run']}: {'; '.join(w['warnings'])}" for w in table["warned"]] + [""]
    return "\n".join(lines)


def _extra(r: dict) -> str:
    if not r.get("ok"):
        return f"FAILED: {r.get('error')}"
    if "energy_J" in r:
        at = r["zone_ml_at_min"]
        return (f"{r['energy_J'] / 1e3:.1f} kJ, {r['rolloffs']} roll-offs, mL at 2/6/12 min "
                + "/".join(_f(at.get(m), ".1f") for m in ("2", "6", "12"))
                + f", step error {_f(r['time_error_estimate'], '.1%')}, boundary {r['boundary_max_deviation_C']:.2f} K")
    iso = r["isotherms"]
    return ("0/-20/-40 degC diameter " + "/".join(f"{iso[k]['short_axis_mm']:.1f}" for k in ("0", "-20", "-40"))
            + f" mm, wall min {r['min_wall_C']:.0f} degC, step error {_f(r['time_error_estimate'], '.1%')}")


# ------------------------------------------------------------------------------------- bench cases
_TABLES: dict = {}


def table_for(quick: bool) -> dict:
    if quick not in _TABLES:
        _TABLES[quick] = sweep(quick)
    return _TABLES[quick]


def _row(table: dict, parameter: str, case_name: str) -> dict:
    return next(r for r in table["rows"] if r["parameter"] == parameter and r["case"] == case_name)


def _monotone(table, parameter, case_name, size="volume_ml", isotherm=None, falling=True, metric=""):
    """A fact row: the size moves one way along the row's levels (value = worst consecutive ratio)."""
    row = _row(table, parameter, case_name)
    values = []
    for lv in row["levels"]:
        z = _zone(table["runs"][lv["run"]], isotherm=isotherm)
        values.append(None if z is None else z[size])
    if any(v is None or v <= 0 for v in values):
        return Metric(metric, float("nan"), 1.0, 0.0, "1", "at_most" if falling else "at_least",
                      note="a run failed or gave no zone")
    ratios = [b / a for a, b in zip(values, values[1:])]
    note = f"{parameter} levels {', '.join(lv['label'] for lv in row['levels'])}: " + \
           ", ".join(f"{v:.3g}" for v in values) + f" ({size}{' at ' + isotherm + ' degC' if isotherm else ''})"
    return Metric(metric, max(ratios) if falling else min(ratios), 1.0, 0.0, "1",
                  "at_most" if falling else "at_least", note=note)


def _figures(ctx, table):
    for case_name, per_size in table["ranking"].items():
        for label, entries in per_size.items():
            ctx.figures[f"validation.sensitivity.{case_name}.{label.replace(' ', '_')}.top3"] = "; ".join(
                f"{e['parameter']} {100 * e['spread']:.0f} %" for e in entries[:3])
    for entry in table["ratio"][:1]:
        b = next(lv for lv in entry["levels"] if lv["base"])
        ctx.figures["validation.sensitivity.invivo_over_exvivo_volume"] = b["ratio"]


@case()
def perfusion_and_capacity_trends(ctx):
    """Robust facts only: the RF zone shrinks as perfusion rises; the cryo iceball shrinks as perfusion
    rises and grows with the probe's cooling capacity (quick: 4-5 min runs on the 1 mm grid)."""
    table = table_for(ctx.quick)
    _figures(ctx, table)
    return [_monotone(table, "perfusion w_b", "rf_invivo", metric="rf_invivo.volume_falls_with_perfusion"),
            _monotone(table, "perfusion w_b (cryo)", "cryo_liver", isotherm="0",
                      metric="cryo_liver.iceball_falls_with_perfusion"),
            _monotone(table, "probe cooling capacity max_extraction", "cryo_liver", isotherm="0", falling=False,
                      metric="cryo_liver.iceball_grows_with_capacity"),
            Metric("failed_runs", len(table["failed"]), 0.0, 0.0, "1", "at_most",
                   note="; ".join(f"{f['run']}: {f['error']}" for f in table["failed"]))]


@case(quick=False)
def rf_table(ctx):
    """The full RF table (about 80 runs): asserts that the ex vivo zone grows with the start temperature
    and that both base zones grow between 2, 6 and 12 min; the numbers are in the notes and figures."""
    table = table_for(False)
    _figures(ctx, table)
    rows = [_monotone(table, "initial tissue temperature (ex vivo)", "rf_exvivo", falling=False,
                      metric="rf_exvivo.volume_grows_with_start_temperature")]
    for case_name in RF:
        at = table["runs"][_key(case_name, {})]["zone_ml_at_min"]
        v = [at[m] for m in ("2", "6", "12")]
        rows.append(Metric(f"{case_name}.zone_grows_2_6_12_min", min(v[1] / v[0], v[2] / v[1]), 1.0, 0.0, "1",
                           "at_least", note="mL at 2/6/12 min " + "/".join(f"{x:.1f}" for x in v)))
    ratio = next(e for e in table["ratio"] if e["parameter"] == "thermal conductivity k")
    b = next(lv for lv in ratio["levels"] if lv["base"])
    # a measurement, not a check: the published ratio (0.52) is asserted by published_rows.py
    ctx.figures["validation.sensitivity.invivo_over_exvivo_volume_base"] = b["ratio"]
    return rows


@case(quick=False)
def cryo_table(ctx):
    """The full cryo table: the iceball (0 degC) and -20 degC zone grow with the cooling capacity in gel
    too, and no run of the whole table failed."""
    table = table_for(False)
    return [_monotone(table, "probe cooling capacity max_extraction", "cryo_gel", isotherm="-20", falling=False,
                      size="short_axis_mm", metric="cryo_gel.minus20_diameter_grows_with_capacity"),
            Metric("failed_runs", len(table["failed"]), 0.0, 0.0, "1", "at_most",
                   note="; ".join(f"{f['run']}: {f['error']}" for f in table["failed"]))]


# ------------------------------------------------------------------------------------- command line
def _clean(x):
    """JSON-ready: numpy scalars to floats, non-finite to None."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def merge_cases(old: dict, new: dict, cases) -> dict:
    """The stored table with the rows and runs of ``cases`` replaced by a fresh partial sweep's; the
    provenance of each part is kept (``provenance`` is the rerun's, ``provenance_by_case`` says which
    run measured which case)."""
    cases = set(cases)
    kept_rows = [r for r in old["rows"] if r["case"] not in cases]
    kept_runs = {k: r for k, r in old["runs"].items() if k.split(" ", 1)[0] not in cases}   # keys: _key
    runs = {**kept_runs, **new["runs"]}
    rows = kept_rows + new["rows"]
    earlier = old.get("provenance_by_case") or {c: old["provenance"] for c in old["settings"]["cases"]}
    merged = dict(old)
    merged.update({
        "rows": rows, "runs": runs, "ranking": ranking(rows), "ratio": invivo_exvivo_ratio(rows, runs),
        "provenance": new["provenance"],
        "provenance_by_case": {**earlier, **{c: new["provenance"] for c in cases}},
        "settings": {**old["settings"], "cases": {**old["settings"]["cases"], **new["settings"]["cases"]}},
        "runtime_s": new["runtime_s"], "run_seconds_sum": new["run_seconds_sum"], "jobs": new["jobs"],
        "failed": [f for f in old["failed"] if f["run"] in kept_runs] + new["failed"],
        "warned": [w for w in old["warned"] if w["run"] in kept_runs] + new["warned"],
        "rerun_cases": sorted(cases)})
    return merged


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few parameters on short runs (about a minute)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results",
                        help="folder for validation-sensitivity[-quick].json and .md (default benchmarks/results)")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="JSON-lines file of finished runs: appended to, and reused to resume a sweep")
    parser.add_argument("--cases", default=None,
                        help=f"comma-separated base cases to rerun ({', '.join(CASES)}); their rows and runs "
                             "replace those of the stored table in --out, the other cases' are kept")
    args = parser.parse_args(argv)
    only = args.cases.split(",") if args.cases else None
    unknown = sorted(set(only or ()) - set(CASES))
    if unknown:
        parser.error(f"--cases: unknown base case(s) {', '.join(unknown)}; expected some of {', '.join(CASES)}")

    def log(done, total, key, record):
        what = f"{record['volume_ml']:.3g} mL" if record["ok"] else f"FAILED {record['error']}"
        print(f"[{done}/{total}] {record['runtime_s']:.0f} s {key}: {what}", file=sys.stderr, flush=True)

    stem = "validation-sensitivity" + ("-quick" if args.quick else "")
    stored = args.out / f"{stem}.json"
    if only and not stored.exists():
        parser.error(f"--cases needs the stored table {stored} to merge into; run the whole table first")
    table = _clean(sweep(args.quick, args.jobs, log, args.cache, only))
    if only:
        table = merge_cases(json.loads(stored.read_text()), table, only)
    recording.write(args.out, stem, table, markdown(table) + "\n", echo=False)
    print(f"{len(table['runs'])} runs in {table['runtime_s'] / 60:.1f} min, {len(table['failed'])} failed; "
          f"wrote {args.out / stem}.json and .md", file=sys.stderr)
    return 1 if table["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

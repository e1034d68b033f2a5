"""Published rows as simulations.

A published row (:mod:`ablation.calibration.published`) says what was measured; its split.csv row
fixes the modelling assumptions (tip length, electrode diameter, generator, duration, start
temperature, perfusion, occlusion, zone boundary). This module turns rows into *experiments*: the
shipped scenarios changed to each row's setting, and the reading of the model's value of each row,
in the row's own unit, from the results.

* One simulation usually gives several rows (long axis, short axis and volume of one setting):
  rows whose settings are identical form one :class:`Experiment`.
* Some rows compare settings (probe size ratio, a fit over perfusion, occlusion versus none): their
  experiment holds several labelled settings and measures over the dict of their results.
* A row the toolkit cannot simulate (placement rows, devices it lacks, assumptions split.csv leaves
  open, quantities with no model counterpart) is listed by :func:`unsupported` with every reason
  that applies, so filling a column of split.csv is enough to bring a row in.

Values are SI inside (m, m^2, m^3, J; flows in mL/min/100 g, the unit the library takes) and
converted to the row's unit at the edge (:data:`UNITS`). Typical use::

    rows = load_rows()
    for experiment in experiments(rows):
        results = {label: simulate(s) for label, s in experiment.scenarios().items()}
        for row_id, value in experiment.measure(results).items():
            ...   # z_score(value, row)

The calibration passes fitted parameters as ``overrides`` (dotted scenario paths applied after the
row's own changes, to every scenario of the experiment).
"""
from __future__ import annotations

import importlib
import json
import logging
import math
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ablation.calibration.published import PublishedRow
from ablation.input.models import DEFAULT_MODEL, frozen_conductivity_law
from ablation.input.scenario import Scenario, load_scenario
from ablation.modalities import cryo

log = logging.getLogger(__name__)

DEFAULT_SPACING = "1 mm"     # fine cells: cheap runs; pass spacing= to refine
MAX_SPACING = "4 mm"
MAIN = "main"                # label of the setting of a single-setting experiment

#: Row unit -> (dimension, SI factor). Flows stay in mL/min/100 g (the library's clinical unit),
#: so a slope's SI value is m or m^3 per (mL/min/100 g).
UNITS = {
    "mm": ("length", 1e-3), "cm": ("length", 1e-2),
    "mm2": ("area", 1e-6),
    "mL": ("volume", 1e-6), "mm3": ("volume", 1e-9),
    "J": ("energy", 1.0), "kJ": ("energy", 1e3), "kcal": ("energy", 4184.0),
    "s": ("time", 1.0), "min": ("time", 60.0),
    "ratio": ("1", 1.0), "%": ("1", 1e-2),
    "cm per (mL/min/100 g)": ("length/flow", 1e-2), "mL per (mL/min/100 g)": ("volume/flow", 1e-6),
}

#: split.csv measured_as (without '(assumed)') -> what the model reads: the lesion criterion the
#: scenario uses by default, the cryo isotherms, or the generator's delivered energy.
BOUNDARIES = {
    "gross_white_zone": "lesion", "gross_pathology": "lesion", "gross_pathology_histology": "lesion",
    "pathology": "lesion", "histology": "lesion",
    "isotherm_thermocouple": "isotherm",
    # arterial ink stains the unfrozen tissue at maximal iceball: the iceball less its viable rim
    "ink_stain_histology": "isotherm",
    "generator_log": "energy",
}

#: CVIR 2018 (swine liver, two cryoprobes): the unstained rim of viable tissue inside the iceball, 1 mm
#: (row cryo_swine_nonlethal_margin); split.csv compares its ink-stained sizes with the model's 0 degC
#: iceball less this rim on each side.
INK_STAIN_VIABLE_RIM_MM = 1.0
#: The 0 degC iceball reaches about 14 mm beyond the needles; with the base scenario's 8 mm of fine
#: cells its edge lay in 2.5 mm cells (the run warns: time_loop.edge_warnings).
INK_STAIN_FINE_MARGIN = "20 mm"

#: Domain of the single-probe cryo rows (as first registered and solved).
SINGLE_CRYO_DOMAIN = "100 mm"

#: Littrup et al. 2009 call the -30 degC isotherm the lethal ice.
LETHAL_ICE_C = -30.0

#: Rows whose compared isotherm differs from what the quantity's name says (README caveat).
ISOTHERM_CORRECTIONS = {
    "cryo_probe_size_diam_ratio": (LETHAL_ICE_C, "the source's 84 % is the -30 degC (lethal ice) diameter "
                                                 "ratio, not the 0 degC iceball's (validation README caveat)"),
}

#: Occlusions that stop the whole inflow: the perfusion term is removed (as rfa.py's Pringle case).
INFLOW_OCCLUSIONS = {"pringle", "portal+arterial", "total_vascular_occlusion"}

#: Flows of a fit over a published range: this many evenly spaced points, ends included.
FLOW_POINTS = 5

RF_GENERATORS_HELP = "constant power, impedance control, temperature control, LeVeen"


# ----------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Setting:
    """One simulation: a shipped scenario file and the with_changes that make it the row's setting."""
    base: str
    changes: tuple          # ((dotted path, value), ...)

    def as_dict(self) -> dict:
        return dict(self.changes)

    def key(self) -> str:
        """Identical settings give identical keys (rows are grouped by them)."""
        return json.dumps([self.base, list(self.changes)], sort_keys=True, default=str)


@dataclass(frozen=True)
class Measure:
    """How one row's model value is read from the results of its experiment (a dict label -> Result).

    dimension : of the SI value ``read`` returns (length, area, volume, energy, 1, length/flow, ...)
    boundary : 'lesion', 'isotherm' or 'energy' (read from the generator's log: energy, on-time): the
        kind of measured_as the row must have
    """
    description: str
    dimension: str
    boundary: str
    read: Callable[[Mapping[str, Any]], float]


@dataclass(frozen=True)
class Experiment:
    """Rows measured from the same simulation(s).

    settings : label -> :class:`Setting` (one, labelled ``main``, unless the rows compare settings)
    measures : row id -> :class:`Measure`
    notes : assumptions this module had to add to split.csv's (probe arrangement, flows of a fit, ...)
    """
    name: str
    study: str
    rows: tuple
    settings: Mapping[str, Setting]
    measures: Mapping[str, Measure]
    notes: tuple = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.settings)

    def scenarios(self, overrides: dict | None = None, spacing: str = DEFAULT_SPACING) -> dict[str, Scenario]:
        """label -> the scenario of that setting: the shipped base file with the row's changes, the
        grid (``spacing`` fine cells, 4 mm at most) and then ``overrides``, applied last to every
        scenario. Note that an override of a key the rows fix (e.g. tissue.perfusion) replaces it in
        every setting, ex vivo ones included."""
        out = {}
        for label, setting in self.settings.items():
            changes = setting.as_dict()
            changes.update({"grid.spacing": spacing, "grid.max_spacing": MAX_SPACING})
            changes.update(overrides or {})
            out[label] = load_scenario(scenario_path(setting.base)).with_changes(changes)
        return out

    def scenario(self, overrides: dict | None = None, spacing: str = DEFAULT_SPACING) -> Scenario:
        """The scenario of a single-setting experiment (see :meth:`scenarios`)."""
        if len(self.settings) != 1:
            raise ValueError(f"experiment {self.name!r} compares {len(self.settings)} settings "
                             f"({', '.join(self.settings)}); use scenarios()")
        return next(iter(self.scenarios(overrides, spacing).values()))

    def measure(self, results) -> dict[str, float]:
        """Row id -> the model's value in the row's own unit. ``results``: label -> Result (anything
        with the Result's ``summary``, ``fields`` and ``domain``), or one Result for a
        single-setting experiment."""
        if not isinstance(results, Mapping):
            if len(self.settings) != 1:
                raise ValueError(f"experiment {self.name!r} needs results for {', '.join(self.settings)}")
            results = {next(iter(self.settings)): results}
        missing = [label for label in self.settings if label not in results]
        if missing:
            raise KeyError(f"experiment {self.name!r}: no result for {', '.join(missing)}")
        return {row.id: self.measures[row.id].read(results) / UNITS[row.unit][1] for row in self.rows}


# ------------------------------------------------------------------------------------- API
def experiments(rows) -> list[Experiment]:
    """The supported rows grouped into experiments (rows with identical settings share one), in the
    order of their first row."""
    groups: dict[tuple, list] = {}
    for row in rows:
        found = _plan(row)
        if isinstance(found, _Plan):
            key = (row.study, tuple((label, s.key()) for label, s in found.settings.items()))
            groups.setdefault(key, []).append((row, found))
    names: set[str] = set()
    out = []
    for members in groups.values():
        rows_here = tuple(row for row, _ in members)
        name = _unique(_common_name(rows_here), names)
        notes = tuple(dict.fromkeys(note for _, found in members for note in found.notes))
        out.append(Experiment(name, rows_here[0].study, rows_here, members[0][1].settings,
                              {row.id: found.measure for row, found in members}, notes))
    return out


def unsupported(rows) -> list[tuple[PublishedRow, str]]:
    """(row, reason) of every row no experiment can simulate; the reason lists every problem found."""
    return [(row, found) for row in rows for found in [_plan(row)] if not isinstance(found, _Plan)]


def z_score(model: float, row: PublishedRow, model_sd: float = 0.0) -> float:
    """(model - published) / sqrt(sd^2 + model_sd^2), both in the row's unit. Without a published
    SD the spread is 10 % of the published value, so |z| <= 2 means within +/-20 % (the rule for
    diameters reported without spread)."""
    spread = math.hypot(published_sd(row), model_sd)
    if spread == 0.0:
        raise ValueError(f"row {row.id}: no spread (sd {row.sd}, value {row.value}, model_sd {model_sd})")
    return (model - row.value) / spread


def published_sd(row: PublishedRow) -> float:
    """The spread z_score uses: the row's SD, else 10 % of its value."""
    return row.sd if row.sd is not None else 0.1 * abs(row.value)


def solve(experiment_list, overrides: dict | None = None, spacing: str = DEFAULT_SPACING, simulate=None,
          cache: dict | None = None) -> dict[str, dict[str, Any]]:
    """experiment name -> {label: Result}: every setting solved once. Identical scenarios (the
    2.4 mm Littrup probe of the single-probe rows and of the probe-size ratio) share one run;
    ``cache`` (a dict kept by the caller) keeps results across calls. ``simulate`` defaults to
    :func:`ablation.pipeline.simulate`."""
    if simulate is None:
        from ablation.pipeline import simulate
    cache = {} if cache is None else cache
    out = {}
    for experiment in experiment_list:
        out[experiment.name] = {}
        for label, scenario in experiment.scenarios(overrides, spacing).items():
            key = scenario_key(scenario)
            if key not in cache:
                log.info("solving %s / %s", experiment.name, label)
                cache[key] = simulate(scenario)
            out[experiment.name][label] = cache[key]
    return out


#: A run counts as converged (issue 10: fit only converged runs) when the heat its zone conducted to
#: the fixed-temperature boundary moves the tissue there by at most this (the domain check's
#: measure, :mod:`ablation.run.boundary`; not an electrode shaft's cooling across the boundary) ...
CONVERGED_BOUNDARY_K = 0.5
#: ... and the time-step check estimates the zone volume's step error at most this.
CONVERGED_TIME_ERROR = 0.02


def run_checks(results: Mapping[str, Any]) -> dict:
    """The numerical checks of an experiment's runs (``results``: label -> Result), the worst over
    them: ``boundary_deviation_C`` (conducted, K), ``time_error`` (relative; None when no run
    estimated it), ``warnings`` (each run's grid and time warnings, e.g. a zone edge in cells coarser
    than the fine ones) and ``problems``: the convergence rule's failures, empty when every run
    passes it."""
    deviation, time_error, warnings, problems = 0.0, None, [], []
    for label, result in results.items():
        s = result.summary
        conducted = s.get("boundary_conducted_deviation_C")
        run_deviation = float(s["boundary_max_deviation_C"] if conducted is None else conducted)
        estimate = (s.get("time") or {}).get("lesion_volume_error_estimate")
        deviation = max(deviation, run_deviation)
        if estimate is not None:
            time_error = max(time_error or 0.0, float(estimate))
        warnings += [w for part in ("grid", "time") for w in (s.get(part) or {}).get("warnings", [])]
        if run_deviation > CONVERGED_BOUNDARY_K:
            problems.append(f"{label}: boundary deviation {run_deviation:.3g} K (at most {CONVERGED_BOUNDARY_K} K)")
        if estimate is not None and float(estimate) > CONVERGED_TIME_ERROR:
            problems.append(f"{label}: time-step error {100 * float(estimate):.3g} % "
                            f"(at most {100 * CONVERGED_TIME_ERROR:g} %)")
    return {"boundary_deviation_C": deviation, "time_error": time_error,
            "warnings": list(dict.fromkeys(warnings)), "problems": problems}


def scenario_key(scenario: Scenario) -> str:
    """Identical scenario tables give identical keys."""
    return json.dumps(scenario.raw, sort_keys=True, default=str)


def scenario_path(file_name: str) -> Path:
    """A scenario shipped as ``ablation.scenarios`` (the repository's scenarios/ folder). In an
    editable install that data folder does not import; it is then the benchmarks folder's sibling,
    as in a wheel."""
    try:
        folder = Path(next(iter(importlib.import_module("ablation.scenarios").__path__)))
    except ModuleNotFoundError:
        folder = Path(next(iter(importlib.import_module("ablation.benchmarks").__path__))).parent / "scenarios"
    return folder / file_name


# ----------------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class _Plan:
    settings: dict
    measure: Measure
    notes: tuple = ()


@dataclass(frozen=True)
class _Quantity:
    """What a row's quantity needs: a comparison of settings and the measure over them."""
    comparison: str                  # single, probe_size, flow_fit, occlusion
    measure: Measure
    levels: tuple = ()               # isotherms (degC) the scenario must report
    notes: tuple = ()


def _plan(row: PublishedRow):
    """A :class:`_Plan` for a row the toolkit can simulate, else the reason (str) it cannot."""
    if row.modality == "placement":
        return ("placement/outcome row (needle-tip error or recurrence/complete-ablation rate): not a "
                "lesion size; it feeds the placement-error model and the approach ranking")
    if row.modality not in _SETTINGS:
        return f"modality {row.modality!r} has no model in the toolkit"
    reasons = []
    if re.search(r"(upper|lower)_bound", row.quantity):
        reasons.append("a bound, not a measured value with a spread (no z-score)")
    quantity = _quantity(row)
    if isinstance(quantity, str):
        reasons.append(quantity)
    else:
        reasons += _unit_and_boundary_problems(row, quantity.measure)
    settings = _SETTINGS[row.modality](row, quantity if isinstance(quantity, _Quantity) else None)
    if isinstance(settings, list):
        reasons += settings
    if reasons:
        return "; ".join(dict.fromkeys(_merge_empty_columns(reasons)))
    found, notes = settings
    return _Plan(found, quantity.measure, tuple(notes) + quantity.notes)


def _merge_empty_columns(reasons: list[str]) -> list[str]:
    """One 'split.csv leaves a, b empty' instead of one per check."""
    prefix, suffix = "split.csv leaves ", " empty"
    empty = [name for r in reasons if r.startswith(prefix) and r.endswith(suffix)
             for name in r[len(prefix):-len(suffix)].split(", ")]
    rest = [r for r in reasons if not (r.startswith(prefix) and r.endswith(suffix))]
    return rest + ([f"{prefix}{', '.join(dict.fromkeys(empty))}{suffix}"] if empty else [])


def _unit_and_boundary_problems(row, measure: Measure) -> list[str]:
    out = []
    unit = UNITS.get(row.unit)
    if unit is None:
        out.append(f"unit {row.unit!r} has no conversion here")
    elif unit[0] != measure.dimension:
        out.append(f"unit {row.unit!r} ({unit[0]}) does not fit the model's {measure.description} "
                   f"({measure.dimension})")
    kind = BOUNDARIES.get(row.boundary)
    if kind is None:
        out.append(f"zone boundary {row.measured_as or '(none)'!r} has no model counterpart")
    elif kind != measure.boundary:
        out.append(f"zone boundary {row.measured_as!r} does not fit the model's {measure.description}")
    return out


def _common_name(rows) -> str:
    """The ids' common stem ('rfa_ic2cm_exvivo' for _long, _short, _vol), else the study."""
    ids = [row.id for row in rows]
    stem = ids[0]
    for other in ids[1:]:
        while not other.startswith(stem):
            stem = stem[:-1]
    stem = stem.rstrip("_")
    if len(ids) == 1:
        return ids[0]
    return stem if stem.count("_") >= 1 else rows[0].study


def _unique(name: str, taken: set) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}_{n}", n + 1
    taken.add(out)
    return out


# ---------------------------------------------------------------------------------- quantities
_NO_COUNTERPART = {
    "diameter_Dv": "the orientation of Dv/Dh relative to the needle is not defined in the source",
    "diameter_Dh": "the orientation of Dv/Dh relative to the needle is not defined in the source",
    "ablation_area": "the section plane of the area is not stated",
    "final_temperature_lesion_centre": "the run summary holds no point temperature at the lesion centre",
    "energy_per_cm_coagulation": "the length the energy is divided by is not defined",
}


#: Quantities named differently by their source but measured the same way.
_SYNONYMS = {"diameter_along_needle": "long_axis", "diameter_perpendicular_to_needle": "short_axis"}


def _quantity(row: PublishedRow):
    """The :class:`_Quantity` of a row, or why its quantity has no model counterpart."""
    q = _SYNONYMS.get(row.quantity, row.quantity)
    if q in ("long_axis", "short_axis"):
        return _Quantity("single", Measure(f"lesion {q.replace('_', ' ')}", "length", "lesion",
                                           partial(_lesion_value, MAIN, f"{q}_mm", 1e-3)))
    if q == "volume":
        return _Quantity("single", Measure("lesion volume", "volume", "lesion",
                                           partial(_lesion_value, MAIN, "volume_ml", 1e-6)))
    if q == "delivered_energy":
        return _Quantity("single", Measure("delivered RF energy", "energy", "energy", partial(_energy, MAIN)))
    if q == "true_rf_on_time":
        return _Quantity("single", Measure("generator on-time", "time", "energy", partial(_on_time, MAIN)))
    match = re.fullmatch(r"minus(\d+(?:\.\d+)?)C_isotherm_diameter", q)
    if match:
        level = -float(match[1])
        return _Quantity("single", Measure(f"{level:g} degC isotherm diameter across the probes", "length",
                                           "isotherm", partial(_isotherm_diameter, MAIN, level)), (level,))
    if q in ("ablation_length", "ablation_width") and row.boundary == "ink_stain_histology":
        key, across = ("long_axis_mm", "along") if q == "ablation_length" else ("short_axis_mm", "across")
        return _Quantity("single", Measure(f"0 degC iceball {across} the probes less the viable rim", "length",
                                           "isotherm", partial(_stained_size, MAIN, key)), (0.0,),
                         (f"{row.study}: ink-stained size = the region that reached 0 degC, along a needle or "
                          f"across both in their plane at mid freezing length, less the source's "
                          f"{INK_STAIN_VIABLE_RIM_MM:g} mm viable rim on each side",))
    if q == "lethal_ice_surface_area_fraction":
        return _Quantity("single", Measure(f"share of the iceball section below {LETHAL_ICE_C:g} degC", "1",
                                           "isotherm", partial(_section_fraction, MAIN, LETHAL_ICE_C, 0.0)),
                         (LETHAL_ICE_C,), (f"lethal ice = {LETHAL_ICE_C:g} degC (Littrup 2009); sections "
                                           "perpendicular to the probes at mid freezing length",))
    if q in ("iceball_diameter_ratio", "lethal_ice_surface_area_ratio"):
        return _probe_size_quantity(row)
    match = re.fullmatch(r"(short_axis|long_axis|volume)_(vs_portal_flow_slope|fit_intercept_zero_flow|"
                         r"decrease_per_10_mL_min_100g)", q)
    if match:
        return _flow_fit_quantity(row, match[1], match[2])
    if q in ("cross_section_area_ratio", "cross_section_area_increase"):
        return _occlusion_quantity(row)
    why = _NO_COUNTERPART.get(q, "no summary value defines it")
    return f"quantity {q!r} has no model counterpart ({why})"


def _probe_size_quantity(row):
    pair = _diameter_pair(row)
    if pair is None:
        return (f"quantity {row.quantity!r} compares two probes, but electrode_diameter_mm "
                f"{row.assumptions.get('electrode_diameter_mm', '')!r} is not 'A vs B'")
    first, second = (f"{d:g} mm" for d in pair)
    notes = ()
    if row.quantity == "iceball_diameter_ratio":
        level, why = ISOTHERM_CORRECTIONS.get(row.id, (0.0, ""))
        notes = (f"{row.id}: {why}",) if why else ()
        read = partial(_quotient, partial(_isotherm_diameter, first, level), partial(_isotherm_diameter, second, level))
        description = f"{level:g} degC isotherm diameter ratio {first} / {second}"
    else:
        level = LETHAL_ICE_C
        read = partial(_quotient, partial(_section_area_of, first, level), partial(_section_area_of, second, level))
        description = f"{level:g} degC section area ratio {first} / {second}"
    return _Quantity("probe_size", Measure(description, "1", "isotherm", read), (level,), notes)


def _flow_fit_quantity(row, what: str, kind: str):
    flows = _flow_range(row.assumptions.get("perfusion", ""))
    if flows is None:
        return (f"quantity {row.quantity!r} is a fit over perfusion, but split.csv's perfusion "
                f"{row.assumptions.get('perfusion', '')!r} is not a flow range")
    points = tuple(float(f) for f in np.linspace(flows[0], flows[1], FLOW_POINTS))
    labels = tuple((_flow_label(f), f) for f in points)
    key, scale, dimension = ({"volume": ("volume_ml", 1e-6, "volume")}
                             .get(what, (f"{what}_mm", 1e-3, "length")))
    if kind == "fit_intercept_zero_flow":
        read, dim, text = partial(_flow_fit, labels, key, scale, "intercept"), dimension, "zero-flow intercept"
    elif kind == "vs_portal_flow_slope":
        read, dim, text = partial(_flow_fit, labels, key, scale, "slope"), f"{dimension}/flow", "slope over flow"
    else:
        read, dim, text = partial(_flow_fit, labels, key, scale, "decrease_per_10"), dimension, "decrease per 10 mL/min/100 g"
    note = (f"{row.study}: linear fit over {FLOW_POINTS} runs at portal flows "
            f"{', '.join(f'{f:g}' for f in points)} mL/min/100 g (tissue.perfusion in mL/min/100g)")
    return _Quantity("flow_fit", Measure(f"lesion {what.replace('_', ' ')} {text}", dim, "lesion", read), (), (note,))


def _occlusion_quantity(row):
    unit = UNITS.get(row.unit, ("?", 1.0))[0]
    if row.quantity == "cross_section_area_ratio":
        what, dimension = "ratio", "1"
    elif unit == "area":
        what, dimension = "increase", "area"
    else:
        what, dimension = "relative_increase", "1"
    note = "lesion cross-section along the needle = pi/4 x long axis x short axis"
    return _Quantity("occlusion", Measure(f"cross-section area {what.replace('_', ' ')} occluded vs open",
                                          dimension, "lesion", partial(_occlusion_area, what)), (), (note,))


# ----------------------------------------------------------------------------------- settings
def _rfa_settings(row: PublishedRow, quantity: _Quantity | None):
    """label -> Setting of an RF row on the library's internally cooled needle, with notes; or
    the list of reasons it cannot be built."""
    reasons = _rf_device_problems(row)
    generator = _rf_generator(row.assumptions.get("generator", ""))
    if isinstance(generator, str):
        reasons.append(generator)
    numbers = _numbers(row, ("tip_length_mm", "electrode_diameter_mm", "duration_min", "start_temperature_C"), reasons)
    comparison = quantity.comparison if quantity else "single"
    if comparison == "probe_size":
        reasons.append("a probe-size comparison of RF electrodes has no builder here")
    tissue = _tissue_variants(row, comparison, reasons)
    if reasons:
        return reasons
    tip, diameter, minutes, start = numbers
    base = "rfa_cooltip_exvivo.toml" if row.assumptions.get("perfusion") == "0" else "rfa_cooltip_perfused.toml"
    common = {"tumors": [], "probes[0].active_length": f"{tip:g} mm", "probes[0].diameter": f"{diameter:g} mm",
              **generator, **_time(minutes)}
    settings = {label: Setting(base, _ordered({**common, **_temperature(start), **changes}))
                for label, changes in tissue.items()}
    return settings, ()


def _cryo_settings(row: PublishedRow, quantity: _Quantity | None):
    """label -> Setting of a cryo row (one argon probe axisymmetric, several on a 3-D grid)."""
    reasons = []
    generator = row.assumptions.get("generator", "")
    if generator.replace("(assumed)", "").strip() != "argon_JT":
        reasons.append(f"generator {generator!r} has no library model (argon Joule-Thomson probes, 'argon_JT', "
                       "at full power)" if generator else "split.csv leaves generator empty")
    comparison = quantity.comparison if quantity else "single"
    phases = _cryo_phases(row.assumptions.get("duration_min", ""))
    if phases is not None:      # '28 (10 freeze, 8 active thaw, 10 freeze)': the protocol, then its total
        row_numbers = _numbers(row, ("tip_length_mm", "start_temperature_C"), reasons)
        numbers = None if row_numbers is None else [row_numbers[0], sum(m for _, m in phases), row_numbers[1]]
    else:
        numbers = _numbers(row, ("tip_length_mm", "duration_min", "start_temperature_C"), reasons)
    if comparison == "probe_size":
        diameters = _diameter_pair(row)
    else:
        diameters = _numbers(row, ("electrode_diameter_mm",), reasons)
    layout = _probe_layout(row)
    if isinstance(layout, str):
        reasons.append(layout)
    if comparison in ("flow_fit", "occlusion"):
        reasons.append(f"a {comparison.replace('_', ' ')} of cryo rows has no builder here")
    tissue = _tissue_variants(row, "single", reasons)
    if reasons or diameters is None:
        return reasons or ["electrode_diameter_mm is not 'A vs B'"]
    length, minutes, start = numbers
    positions, notes = layout
    levels = quantity.levels if quantity else ()
    settings = {}
    for diameter in diameters:
        label = MAIN if comparison == "single" else f"{diameter:g} mm"
        protocol = phases or (("freeze", minutes),)
        changes = {"tumors": [], **tissue[MAIN], **_temperature(start), **_time(minutes),
                   "cryo.protocol": [{"phase": phase, "duration": f"{m:g} min"} for phase, m in protocol]}
        if levels:
            changes["cryo.isotherms"] = [f"{level:g} degC" for level in sorted(set(levels)) if
                                         level not in cryo.STANDARD_ISOTHERMS]
        probe_note, probe_table = _cryo_probe(diameter)
        if probe_note:
            notes = notes + (probe_note,)
        if len(positions) == 1:
            base = "cryo_17g_pringle.toml" if row.assumptions.get("perfusion") == "0" else "cryo_17g_perfused.toml"
            changes.update({"probes[0].diameter": f"{diameter:g} mm", "probes[0].active_length": f"{length:g} mm",
                            "probes[0].cryo": probe_table,
                            # the domain these rows were first solved on; their runs pass the domain check
                            # on it (the table's runs column), while the base's own 28 min double freeze
                            # needs 120 mm
                            "domain.size": SINGLE_CRYO_DOMAIN})
        else:
            base = "cryo_3probe.toml"
            changes.update({"probes": [{"name": f"probe {i + 1}", "tip": [x, y, 0.0], "direction": [0, 0, 1],
                                        "diameter": f"{diameter:g} mm", "active_length": f"{length:g} mm",
                                        "cryo": probe_table} for i, (x, y) in enumerate(positions)],
                            "domain.center": [0.0, 0.0, -length / 2.0], "domain.size": "120 mm"})
            if row.boundary == "ink_stain_histology":
                changes["grid.fine_margin"] = INK_STAIN_FINE_MARGIN
                notes = notes + (f"{row.study}: fine cells {INK_STAIN_FINE_MARGIN} around the probes, so that the "
                                 "0 degC edge the ink stain marks lies in them",)
        settings[label] = Setting(base, _ordered(changes))
    return settings, notes


_SETTINGS = {"rfa": _rfa_settings, "cryo": _cryo_settings}


def _rf_device_problems(row) -> list[str]:
    """Why the published device is not the library's single internally cooled needle (empty: it is)."""
    device = row.details.get("device", "").lower()
    generator = row.assumptions.get("generator", "").lower()
    out = []
    if re.search(r"switching|consecutive|multipolar|sequential|bipolar", generator):
        out.append("switching/consecutive/multipolar delivery over several electrodes: this table builds single "
                   "needles only (sequential and switching clusters: benchmarks/validation/multi_channel.py; "
                   "bipolar and multipolar delivery are not modelled)")
    if re.search(r"\b(three|multiple|cluster|clustered|octopus)\b", device):
        out.append("multi-electrode device: electrode count, spacing and tip length are not all fixed in "
                   "split.csv")
    if re.search(r"leveen|expandable|multiprong|multi-tine|umbrella", device):
        out.append("expandable array: split.csv fixes no tine count or shape (tip_length_mm gives at most the "
                   "array diameter); the library's multitine electrode needs them and a 3-D grid")
    if "wet" in device:
        out.append("internally cooled wet (saline-infusing) electrode: infusion is not modelled")
    if re.search(r"co2|cryogenic|cryo-cooled", device):
        out.append("gas/cryo-cooled applicator: not the library's water-cooled electrode")
    if "perfusion electrode" in device:
        out.append("perfusion (saline) electrode: not modelled")
    if not out and "cooled" not in device:
        out.append(f"electrode type not stated ({row.details.get('device', '')!r}); the library needs one "
                   "(cooled needle, needle, multitine)")
    return out


def _rf_generator(text: str):
    """with_changes of a split.csv generator, or why it has no library protocol."""
    if not text:
        return "split.csv leaves generator empty"
    match = re.fullmatch(r"impedance_control_(\d+(?:\.\d+)?)W", text)
    if match:
        return {"rfa.protocol": "impedance_control", "rfa.power": f"{match[1]} W"}
    match = re.fullmatch(r"temperature_control_(\d+(?:\.\d+)?)C(?:_(\d+(?:\.\d+)?)W)?", text)
    if match:
        out = {"rfa.protocol": "temperature_control", "rfa.target_temperature": f"{match[1]} degC"}
        if match[2]:
            out["rfa.power"] = f"{match[2]} W"
        return out
    if text == "leveen_algorithm":
        return {"rfa.protocol": "leveen"}
    return f"generator {text!r} has no library protocol ({RF_GENERATORS_HELP})"


def _cryo_probe(diameter_mm: float):
    """(note or None, [probes.cryo] table) of an argon probe of this diameter: a catalogue probe,
    else a power-limited probe whose capacity per metre is the 2.4 mm probe's (calibrated under the
    default model's frozen-conductivity law) scaled by the diameter, the catalogue's rule for its
    1.7 mm entry."""
    for name, entry in cryo.CATALOGUE.items():
        if abs(entry["diameter"] * 1e3 - diameter_mm) < 0.01:
            return None, {"type": name}
    law = frozen_conductivity_law(DEFAULT_MODEL)
    capacity = cryo.CALIBRATED_EXTRACTION_24_BY_LAW[law] * diameter_mm / 2.4
    return (f"{diameter_mm:g} mm probe: power-limited, {capacity:.4g} W/m (2.4 mm capacity under the "
            f"{law!r} law scaled by the diameter)",
            {"wall": "power_limited", "max_extraction": f"{capacity:.6g} W/m"})


_COUNTS = {"one": 1, "single": 1, "two": 2, "three": 3, "four": 4}


def _probe_layout(row):
    """((x, y) mm of each probe, notes) from the published device text and split.csv notes, or why not."""
    device = row.details.get("device", "")
    if re.search(r"\d+\s*-\s*\d+\s+probes", device):
        return f"a range of probe counts ({device!r}), not one configuration"
    match = re.search(r"\b(one|two|three|four)\b", device.lower()) or re.match(r"\s*(\d+)\s*x\b", device)
    count = _COUNTS.get(match[1], None) if match and not match[1].isdigit() else (int(match[1]) if match else 1)
    if count == 1:
        return [(0.0, 0.0)], ()
    pattern = r"(\d+(?:\.\d+)?)\s*(cm|mm)\s+(?:apart|spacing)"
    spacing = re.search(pattern, device) or re.search(pattern, row.assumptions.get("notes", ""))
    if spacing is None:
        return f"{count} probes, but their spacing is not fixed in split.csv"
    s = float(spacing[1]) * (10.0 if spacing[2] == "cm" else 1.0)
    if count == 2:
        return [(-s / 2, 0.0), (s / 2, 0.0)], ()
    if count in (3, 4):
        radius = s / (2.0 * math.sin(math.pi / count))
        start = math.pi / 2 if count == 3 else math.pi / 4
        points = [(round(radius * math.cos(start + 2 * math.pi * k / count), 4),
                   round(radius * math.sin(start + 2 * math.pi * k / count), 4)) for k in range(count)]
        shape = "an equilateral triangle" if count == 3 else "a square"
        return points, (f"{row.study} {count} probes: on {shape} of {s:g} mm sides (split.csv gives the "
                        "spacing, not the arrangement)",)
    return f"{count} probes: no arrangement rule here"


def _tissue_variants(row, comparison: str, reasons: list) -> dict:
    """label -> tissue and occlusion changes of the row's setting(s); problems go to ``reasons``."""
    setting = row.details.get("setting", "").lower()
    preset = "agar" if "agar" in setting else "liver" if "liver" in setting else None
    if preset is None:
        reasons.append(f"tissue {row.details.get('setting', '')!r} has no library preset (liver, agar)")
    perfusion = row.assumptions.get("perfusion", "")
    occlusion = row.assumptions.get("occlusion", "")
    base = {"tissue.preset": preset}
    if perfusion == "0":
        base["tissue.perfusion"] = "0 1/s"
    elif perfusion == "library":
        pass
    elif _flow_range(perfusion) is not None:
        if comparison != "flow_fit":
            reasons.append(f"perfusion {perfusion!r} is a range; only a fit over it has a model counterpart")
    elif not perfusion:
        reasons.append("split.csv leaves perfusion empty")
    else:
        reasons.append(f"perfusion {perfusion!r} is not a rate ('0', 'library' or a flow range)")
    stopped = occlusion in INFLOW_OCCLUSIONS
    if occlusion not in ("none", "") and not stopped:
        reasons.append(f"occlusion {occlusion!r}: partial, outflow or pharmacological occlusion has no model "
                       "counterpart (one perfusion rate, no portal/arterial split)")
    elif not occlusion:
        reasons.append("split.csv leaves occlusion empty")
    if comparison == "occlusion":
        if occlusion == "none":
            reasons.append("an occlusion comparison needs an occlusion in split.csv")
        return {"occluded": {**base, "tissue.perfusion": "0 1/s"}, "open": base}
    if comparison == "flow_fit":
        flows = _flow_range(perfusion)
        if flows is None:
            return {}
        points = np.linspace(flows[0], flows[1], FLOW_POINTS)
        return {_flow_label(f): {**base, "tissue.perfusion": f"{f:g} mL/min/100g"} for f in points}
    if stopped:
        base["tissue.perfusion"] = "0 1/s"
    return {MAIN: base}


def _numbers(row, columns, reasons: list):
    """The split.csv columns as numbers (None when any is missing: its problem goes to ``reasons``)."""
    values, empty = [], []
    for column in columns:
        text = row.assumptions.get(column, "")
        if not text:
            empty.append(column)
            continue
        try:
            values.append(float(text))
        except ValueError:
            reasons.append(f"{column} {text!r} is not one number")
    if empty:
        reasons.append(f"split.csv leaves {', '.join(empty)} empty")
    return values if len(values) == len(columns) else None


_PHASES = {"freeze": "freeze", "active thaw": "active_thaw", "passive thaw": "passive_thaw"}


def _cryo_phases(text: str):
    """((phase, minutes), ...) of a duration written as 'total (10 freeze, 8 active thaw, 10 freeze)'
    whose phases add up to the total; None for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*\((.*)\)\s*", text)
    if not match:
        return None
    phases = []
    for part in match[2].split(","):
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s+(freeze|active thaw|passive thaw)\s*", part)
        if not found:
            return None
        phases.append((_PHASES[found[2]], float(found[1])))
    return tuple(phases) if abs(sum(m for _, m in phases) - float(match[1])) < 1e-9 else None


def _diameter_pair(row):
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s+vs\s+(\d+(?:\.\d+)?)\s*", row.assumptions.get("electrode_diameter_mm", ""))
    return (float(match[1]), float(match[2])) if match else None


def _flow_range(text: str):
    match = re.match(r"\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*mL/min/100\s*g", text)
    return (float(match[1]), float(match[2])) if match else None


def _flow_label(flow: float) -> str:
    return f"flow {flow:g} mL/min/100g"


def _temperature(start_C: float) -> dict:
    """Tissue and the outer boundary start at the row's temperature (a block or a body at rest)."""
    return {"tissue.initial_temperature": f"{start_C:g} degC", "tissue.boundary_temperature": f"{start_C:g} degC"}


def _time(minutes: float) -> dict:
    """Run length; one stored snapshot (the end) keeps memory low on 3-D grids."""
    return {"time.duration": f"{minutes:g} min", "time.output_interval": f"{minutes:g} min"}


def _ordered(changes: dict) -> tuple:
    return tuple(sorted(changes.items()))


# ----------------------------------------------------------------------------------- readings
def _lesion_value(label: str, key: str, scale: float, results) -> float:
    return float(results[label].summary["lesion"][key]) * scale


def _energy(label: str, results) -> float:
    return float(results[label].summary["device"]["energy_J"])


def _on_time(label: str, results) -> float:
    """Time (s) the generator delivered power, as its log reports the RF on-time."""
    return float(results[label].summary["device"]["on_time_s"])


def _isotherm_diameter(label: str, level: float, results) -> float:
    """Diameter (m) across the probe(s) of the region that reached ``level``: the summary's
    largest extent perpendicular to the probes (interpolated between cells)."""
    return float(results[label].summary["isotherms"][f"{level:g}"]["reached"]["short_axis_mm"]) * 1e-3


def _stained_size(label: str, key: str, results) -> float:
    """Ink-stained ablation size (m), measured as split.csv fixes it: the region that reached 0 degC
    (coldest temperature over the run) along the first probe's axis (``long_axis_mm``), or across the
    probes in their plane at mid freezing length (``short_axis_mm``), with the temperature interpolated
    between cells; less the viable rim on each side. (An axisymmetric grid's length is the summary's,
    also interpolated.)"""
    result = results[label]
    domain = result.domain
    probes = domain.probes
    middles = [0.5 * (np.asarray(p.active.start, float) + np.asarray(p.active.end, float)) for p in probes]
    if key == "long_axis_mm" and domain.kind == "axisymmetric":
        size = float(result.summary["isotherms"]["0"]["reached"][key]) * 1e-3
    else:
        if key == "long_axis_mm":
            point, direction = middles[0], np.asarray(probes[0].direction, float)
        else:
            point = np.mean(middles, axis=0)
            direction = middles[1] - middles[0] if len(middles) > 1 else _perpendicular_pair(probes[0].direction)[0]
        size = cryo.isotherm_width(domain, np.asarray(result.fields["t_min_C"]), 0.0, point, direction)
    return size - 2.0 * INK_STAIN_VIABLE_RIM_MM * 1e-3


def _section_fraction(label: str, inner: float, outer: float, results) -> float:
    return _section_area(results[label], inner) / _section_area(results[label], outer)


def _section_area_of(label: str, level: float, results) -> float:
    return _section_area(results[label], level)


def _quotient(first, second, results) -> float:
    return first(results) / second(results)


def _section_area(result, level: float, step: float = 0.25e-3) -> float:
    """Area (m^2) of the section perpendicular to the probes, at mid freezing length, that reached
    ``level`` degC (minimum temperature over the run). Axisymmetric: a disc of the interpolated
    width; 3-D: the plane sampled every ``step`` with the temperature interpolated between cells."""
    domain = result.domain
    t_min = np.asarray(result.fields["t_min_C"])
    middle = np.mean([0.5 * (p.active.start + p.active.end) for p in domain.probes], axis=0)
    u, v = _perpendicular_pair(domain.probes[0].direction)
    if domain.kind == "axisymmetric":
        width = cryo.isotherm_width(domain, t_min, level, middle, u)
        return math.pi * width ** 2 / 4.0
    from scipy.interpolate import RegularGridInterpolator
    centres = [0.5 * (e[1:] + e[:-1]) for e in domain.edges]
    grid = domain.index_grid(t_min).transpose(2, 1, 0)        # [x, y, z]
    interpolate = RegularGridInterpolator(tuple(centres), grid, bounds_error=False, fill_value=None)
    half = 0.5 * float(min(e[-1] - e[0] for e in domain.edges))
    s = np.arange(-half, half, step)
    a, b = np.meshgrid(s, s, indexing="ij")
    points = middle[None, :] + a.reshape(-1, 1) * u[None, :] + b.reshape(-1, 1) * v[None, :]
    return float(np.count_nonzero(interpolate(points) <= level)) * step ** 2


def _perpendicular_pair(direction) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    helper = np.array([1.0, 0.0, 0.0]) if abs(d[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(d, u)


def _flow_fit(labels: tuple, key: str, scale: float, what: str, results) -> float:
    """Least-squares line of a lesion size over the portal flow (mL/min/100 g): its slope, its
    zero-flow intercept, or the decrease per 10 mL/min/100 g (-10 x slope)."""
    flows = np.array([flow for _, flow in labels])
    sizes = np.array([float(results[label].summary["lesion"][key]) * scale for label, _ in labels])
    slope, intercept = np.polyfit(flows, sizes, 1)
    return {"slope": slope, "intercept": intercept, "decrease_per_10": -10.0 * slope}[what]


def _occlusion_area(what: str, results) -> float:
    """Cross-section along the needle, pi/4 x long x short axis (m^2), occluded versus open."""
    def area(label):
        lesion = results[label].summary["lesion"]
        return math.pi / 4.0 * lesion["long_axis_mm"] * lesion["short_axis_mm"] * 1e-6
    occluded, open_ = area("occluded"), area("open")
    return {"ratio": occluded / open_, "increase": occluded - open_,
            "relative_increase": occluded / open_ - 1.0}[what]

"""Named lethal-zone models: the defaults that decide the zone, and the uncertainty of the lethality
parameter that the run reports as a band.

A scenario names one with ``model`` (default :data:`DEFAULT_MODEL`); keys the file sets itself
win. Earlier models stay selectable by name, so that a result can be compared with what the
toolkit predicted before (summary.json records the model and its calibration).

* ``library-2026.11``: the first version's defaults, uncalibrated: liver Arrhenius kinetics
  (A 7.39e39 1/s, Ea 2.577e5 J/mol: an edge of 50.1 degC over 1 min) and perfusion switched off
  where Omega >= 1 (Chang & Nguyen 2004).
* ``calibrated-2026.12``: perfusion with its own vascular-stasis kinetics and hyperaemia (Brown et
  al. 1992 kinetics: stasis after 60 s at 49.2 degC; docs/physics.md 2), the library liver perfusion
  6.4e-3 1/s, and the cell-death edge temperature fitted by ``ablation calibrate`` on the training
  rows of benchmarks/validation/split.csv.
* ``physiological-2026.12``: liver perfusion at total hepatic blood flow (1.8e-2 1/s = 100
  mL/min/100 g) where the scenario gives none, blood flowing until the tissue coagulates (stasis
  kinetics with Brown's Ea reaching 1 after 60 s at 60 degC), and its own fitted edge temperature.
  Registered before its fit in benchmarks/validation/README.md, which says why.
* ``physiological-ice-2026.12``: ``physiological-2026.12`` (its calibration file too: nothing here
  acts on heating) with frozen tissue conductivity rising as ice's, k_f 273.15 K / T
  (``[cryo] frozen_conductivity_model = "ice"``; Choi & Bischof, Cryobiology 2010: data that stop
  at -40 degC under-predict conduction through an iceball; docs/physics.md 3). Registered in
  benchmarks/validation/README.md before the held-out cryo rows ran with it.

* ``cooled-shaft-2026.12``: ``physiological-ice-2026.12`` with the coolant of every internally cooled
  electrode also cooling its insulated shaft (``[probes.rfa] cool_shaft = true`` where the probe's
  table does not set it): the coolant runs down the shaft to the tip and back (docs/physics.md 2),
  so the shaft is as cold as the tip. Its own fitted edge temperature. Registered in
  benchmarks/validation/README.md before its fit and before the held-out rows ran with it.

Each calibrated model reads its own calibration file (:data:`ZoneModel.calibration_file`, written
by ``ablation calibrate --model NAME``).

Cold: the lethal isotherm is not calibrated (no training row measures it); its band spans the
-40 to -20 degC range reported for liver (docs/physics.md 3).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

from ablation.physics.damage import frequency_factor_for_edge
from ablation.physics.tissue import preset_values

LIBRARY = "library-2026.11"
CALIBRATED = "calibrated-2026.12"
PHYSIOLOGICAL = "physiological-2026.12"
PHYSIOLOGICAL_ICE = "physiological-ice-2026.12"
COOLED_SHAFT = "cooled-shaft-2026.12"
#: chosen by the rules registered in benchmarks/validation/README.md (training chi^2 14.8 vs 444.5;
#: then the ice-law frozen conductivity, on physical grounds; then the cooled shaft, on the device's
#: construction: chi^2 5.6 vs 14.9)
DEFAULT_MODEL = COOLED_SHAFT
#: liver Arrhenius A of the library model, as an edge temperature over 1 min (damage.edge_temperature)
LIBRARY_EDGE_C = 50.1
#: the band of the lethal isotherm (docs/physics.md 3: -20 to -40 degC lethal in liver)
LETHAL_ISOTHERM_RANGE_C = (-40.0, -20.0)
#: Brown et al. 1992 vascular-stasis activation energy (J/mol), damage.stasis_activation_energy's default
STASIS_ACTIVATION_ENERGY = 6.67e5
#: total hepatic blood flow 100 mL/min/100 g (reviews give 100-130, e.g. Eipel et al., World J
#: Gastroenterol 2010) as w_b at the liver's 1079 kg/m^3: F * 1e-6 / (60 * 0.1) * rho (docs/physics.md 1)
PHYSIOLOGICAL_LIVER_PERFUSION = 100.0 * 1e-6 / 6.0 * 1079.0   # 1/s, 1.8e-2


@dataclass(frozen=True)
class ZoneModel:
    """The laws a model fixes ({"damage.key" or "cryo.key": value}, SI / degC), the liver perfusion it
    assumes where a scenario gives none (None: the tissue preset's), and the calibration file its
    edge temperature comes from (None: an uncalibrated model, edge in ``laws``). ``calibrated_by``:
    the model whose fit wrote that file, when it is another one (its heating physics is the same).
    ``cooled_electrode``: {key: value} of every ``cooled_needle`` probe's [probes.rfa] table where the
    table does not set the key."""
    name: str
    laws: dict = field(default_factory=dict)
    cooled_electrode: dict = field(default_factory=dict)
    liver_perfusion: float | None = None
    calibration_file: str | None = None
    calibrated_by: str | None = None

    @property
    def fits_own_calibration(self) -> bool:
        return self.calibration_file is not None and self.calibrated_by is None


_PHYSIOLOGICAL_LAWS = {
    "damage.perfusion_shutdown": "vascular_stasis",
    # flow stops where tissue coagulates: stasis integral 1 after 60 s at 60 degC
    "damage.stasis_frequency_factor": frequency_factor_for_edge(60.0, STASIS_ACTIVATION_ENERGY),
    "damage.stasis_activation_energy": STASIS_ACTIVATION_ENERGY}
MODELS = {
    LIBRARY: ZoneModel(LIBRARY, {"damage.perfusion_shutdown": "arrhenius"}),
    CALIBRATED: ZoneModel(CALIBRATED, {"damage.perfusion_shutdown": "vascular_stasis"},
                          calibration_file="calibration.json"),
    PHYSIOLOGICAL: ZoneModel(PHYSIOLOGICAL, dict(_PHYSIOLOGICAL_LAWS), liver_perfusion=PHYSIOLOGICAL_LIVER_PERFUSION,
                             calibration_file="calibration-physiological.json"),
    PHYSIOLOGICAL_ICE: ZoneModel(PHYSIOLOGICAL_ICE, {**_PHYSIOLOGICAL_LAWS, "cryo.frozen_conductivity_model": "ice"},
                                 liver_perfusion=PHYSIOLOGICAL_LIVER_PERFUSION,
                                 calibration_file="calibration-physiological.json", calibrated_by=PHYSIOLOGICAL),
    COOLED_SHAFT: ZoneModel(COOLED_SHAFT, {**_PHYSIOLOGICAL_LAWS, "cryo.frozen_conductivity_model": "ice"},
                            cooled_electrode={"cool_shaft": True}, liver_perfusion=PHYSIOLOGICAL_LIVER_PERFUSION,
                            calibration_file="calibration-cooled-shaft.json"),
}
MODEL_NAMES = tuple(MODELS)


def zone_model(name: str) -> ZoneModel:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}") from None


def calibration(name: str = CALIBRATED) -> dict:
    """The calibration file's content of model ``name`` ({} when it has none or it is not written yet)."""
    file_name = zone_model(name).calibration_file
    if file_name is None:
        return {}
    try:
        return json.loads(resources.files("ablation.calibration").joinpath(file_name).read_text(encoding="utf-8"))
    except (FileNotFoundError, ModuleNotFoundError):
        return {}


def fitted_edge(name: str) -> dict | None:
    """The fitted edge-temperature record (mean, sd, ...) of model ``name``, or None."""
    return calibration(name).get("parameters", {}).get("edge_temperature")


def frozen_conductivity_law(name: str) -> str:
    """The frozen-conductivity law ('constant' or 'ice') model ``name`` gives a cryo scenario."""
    return zone_model(name).laws.get("cryo.frozen_conductivity_model", "constant")


def model_defaults(name: str, need_edge: bool = True) -> dict:
    """{"damage.key" / "cryo.key": value (SI / degC)} a model sets where the scenario is silent.
    ``need_edge``: whether the scenario leaves the edge temperature to the model. (Its liver
    perfusion: :func:`model_liver_perfusion`.)"""
    model = zone_model(name)
    out = dict(model.laws)
    if model.calibration_file is not None:
        edge = fitted_edge(name)
        if edge is not None:
            out["damage.edge_temperature"] = float(edge["mean"])
        elif need_edge:
            raise ValueError(f"model {name!r} needs ablation/calibration/{model.calibration_file} "
                             f"(run 'ablation calibrate --model {name}')")
    return out


def zone_uncertainty(name: str) -> dict:
    """The lethality parameters' distributions of a model (degC): the edge temperature's (heat) and
    the lethal isotherm's (cold), with their sources."""
    cold = {"name": "lethal_temperature", "key": "damage.criterion", "distribution": "uniform",
            "a": LETHAL_ISOTHERM_RANGE_C[0], "b": LETHAL_ISOTHERM_RANGE_C[1],
            "source": "lethal isotherm -40 to -20 degC in liver (docs/physics.md 3); not calibrated"}
    edge = fitted_edge(name)
    if edge is not None:
        record = calibration(name)
        discrepancy = (record.get("parameters") or {}).get("model_discrepancy") or {}
        heat = {"name": "edge_temperature", "key": "damage.edge_temperature", "distribution": "normal",
                "a": float(edge["mean"]), "b": float(edge["sd"]),
                "discrepancy": float(discrepancy.get("relative_sd_length", 0.0)),
                "source": f"ablation calibrate, calibration {record.get('version', '?')} (edge temperature: "
                          f"posterior on the training rows; model discrepancy: "
                          + (f"{100 * float(discrepancy['relative_sd_length']):.3g} % per zone dimension, "
                             "maximum likelihood on the training residuals)" if discrepancy else
                             "not in this calibration file)")}
    else:
        heat = {"name": "edge_temperature", "key": "damage.edge_temperature", "distribution": "uniform",
                "a": 50.0, "b": 60.0,
                "source": "uncalibrated: the 50-60 degC range of coagulation-zone edges (docs/physics.md 2)"}
    return {"heat": heat, "cold": cold}


def model_liver_perfusion(name: str, tissue_written, preset: str) -> float | None:
    """The perfusion (1/s) model ``name`` gives the tissue: its own liver perfusion when the file's
    [tissue] table (``tissue_written``, as written) gives none and the preset is ``liver``, else None."""
    written = tissue_written if isinstance(tissue_written, dict) else {}
    if preset != "liver" or "perfusion" in written:
        return None
    return zone_model(name).liver_perfusion


def liver_perfusion_source(name: str) -> str:
    return (f"zone model {name}: total hepatic blood flow 100 mL/min/100 g (100-130 in reviews, e.g. Eipel et "
            f"al., World J Gastroenterol 2010) as w_b at 1079 kg/m^3 (docs/physics.md 2, zone models)")


def calibrated_perfusion_limit(name: str) -> float:
    """The highest perfusion (1/s) the model's training rows cover, with 50 % headroom: the in vivo
    rows run at the model's liver perfusion (the preset's 6.4e-3 1/s where it sets none)."""
    liver = zone_model(name).liver_perfusion
    return 1.5 * (liver if liver is not None else preset_values("liver")["perfusion"])

"""Named lethal-zone models: the defaults of the ``[damage]`` keys that decide the zone, and the
uncertainty of the lethality parameter that the run reports as a band.

A scenario names one with ``model`` (default :data:`DEFAULT_MODEL`); keys the file sets itself
win. Earlier models stay selectable by name, so that a result can be compared with what the
toolkit predicted before (summary.json records the model and its calibration).

* ``library-2026.11``: the first version's defaults, uncalibrated: liver Arrhenius kinetics
  (A 7.39e39 1/s, Ea 2.577e5 J/mol: an edge of 50.1 degC over 1 min) and perfusion switched off
  where Omega >= 1 (Chang & Nguyen 2004).
* ``calibrated-2026.12``: perfusion with its own vascular-stasis kinetics and hyperaemia
  (docs/physics.md 2), and the cell-death edge temperature fitted by ``ablation calibrate`` on the
  training rows of benchmarks/validation/split.csv (values and uncertainty in
  ablation/calibration/calibration.json, which that command writes).

Cold: the lethal isotherm is not calibrated (no training row measures it); its band spans the
-40 to -20 degC range reported for liver (docs/physics.md 3).
"""
from __future__ import annotations

import json
from importlib import resources

#: the calibration the calibrated model reads (written by ``ablation calibrate``)
CALIBRATION_FILE = ("ablation.calibration", "calibration.json")

LIBRARY = "library-2026.11"
CALIBRATED = "calibrated-2026.12"
DEFAULT_MODEL = CALIBRATED
#: liver Arrhenius A of the library model, as an edge temperature over 1 min (damage.edge_temperature)
LIBRARY_EDGE_C = 50.1
#: the band of the lethal isotherm (docs/physics.md 3: -20 to -40 degC lethal in liver)
LETHAL_ISOTHERM_RANGE_C = (-40.0, -20.0)


def calibration() -> dict:
    """The calibration file's content ({} when it has not been written yet)."""
    package, name = CALIBRATION_FILE
    try:
        return json.loads(resources.files(package).joinpath(name).read_text(encoding="utf-8"))
    except (FileNotFoundError, ModuleNotFoundError):
        return {}


def model_defaults(name: str) -> dict:
    """{dotted key: value (SI / degC)} a model sets where the scenario is silent."""
    if name == LIBRARY:
        return {"damage.perfusion_shutdown": "arrhenius"}
    if name == CALIBRATED:
        edge = calibration().get("parameters", {}).get("edge_temperature")
        if edge is None:
            raise ValueError(f"model {CALIBRATED!r} needs ablation/calibration/calibration.json "
                             "(run 'ablation calibrate')")
        return {"damage.perfusion_shutdown": "vascular_stasis", "damage.edge_temperature": float(edge["mean"])}
    raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")


def zone_uncertainty(name: str) -> dict:
    """The lethality parameters' distributions of a model (degC): the edge temperature's (heat) and
    the lethal isotherm's (cold), with their sources."""
    cold = {"name": "lethal_temperature", "key": "damage.criterion", "distribution": "uniform",
            "a": LETHAL_ISOTHERM_RANGE_C[0], "b": LETHAL_ISOTHERM_RANGE_C[1],
            "source": "lethal isotherm -40 to -20 degC in liver (docs/physics.md 3); not calibrated"}
    if name == CALIBRATED:
        edge = calibration()["parameters"]["edge_temperature"]
        heat = {"name": "edge_temperature", "key": "damage.edge_temperature", "distribution": "normal",
                "a": float(edge["mean"]), "b": float(edge["sd"]),
                "source": f"ablation calibrate, calibration {calibration().get('version', '?')} "
                          f"(posterior on the training rows, discrepancy included)"}
    else:
        heat = {"name": "edge_temperature", "key": "damage.edge_temperature", "distribution": "uniform",
                "a": 50.0, "b": 60.0,
                "source": "uncalibrated: the 50-60 degC range of coagulation-zone edges (docs/physics.md 2)"}
    return {"heat": heat, "cold": cold}


MODEL_NAMES = (CALIBRATED, LIBRARY)

"""Named zone models (ablation/input/models.py): what each sets where a scenario is silent, and that
a scenario's own value always wins."""
from __future__ import annotations

from pathlib import Path

import pytest

from ablation.input.models import (CALIBRATED, COOLED_SHAFT, LIBRARY, MODEL_NAMES, MODELS, PHYSIOLOGICAL,
                                   PHYSIOLOGICAL_ICE,
                                   PHYSIOLOGICAL_LIVER_PERFUSION,
                                   STASIS_ACTIVATION_ENERGY, calibrated_perfusion_limit, fitted_edge, model_defaults)
from ablation.input.scenario import ScenarioError, load_scenario, model_supplied_paths
from ablation.physics.damage import edge_temperature
from ablation.physics.tissue import preset_values

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PERFUSED = SCENARIOS / "rfa_cooltip_perfused.toml"   # liver preset, no tissue.perfusion given
EX_VIVO = SCENARIOS / "rfa_cooltip_exvivo.toml"      # tissue.perfusion = 0 given


def _load(path, **changes):
    return load_scenario(path).with_changes({"damage.edge_temperature": "55 degC", **changes})


def test_physiological_perfusion_is_100_ml_per_min_per_100_g_of_liver():
    """The model's constant against the scenario's own unit conversion of 100 mL/min/100 g."""
    written = _load(PERFUSED, model=CALIBRATED, **{"tissue.perfusion": "100 mL/min/100g"})
    assert PHYSIOLOGICAL_LIVER_PERFUSION == pytest.approx(written.tissue.perfusion, rel=1e-12)
    assert PHYSIOLOGICAL_LIVER_PERFUSION == pytest.approx(1.798e-2, rel=1e-3)


def test_the_physiological_model_sets_liver_perfusion_only_where_the_scenario_is_silent():
    silent = _load(PERFUSED, model=PHYSIOLOGICAL)
    assert silent.tissue.perfusion == pytest.approx(PHYSIOLOGICAL_LIVER_PERFUSION)
    assert _load(EX_VIVO, model=PHYSIOLOGICAL).tissue.perfusion == 0.0          # written: kept
    given = _load(PERFUSED, model=PHYSIOLOGICAL, **{"tissue.perfusion": "20 mL/min/100g"})
    assert given.tissue.perfusion == pytest.approx(20.0 / 6e6 * 1079.0)
    gel = _load(PERFUSED, model=PHYSIOLOGICAL, **{"tissue.preset": "agar"})
    assert gel.tissue.perfusion in (None, preset_values("agar")["perfusion"])   # not a liver: untouched
    # the earlier models leave the preset's perfusion
    assert _load(PERFUSED, model=LIBRARY).tissue.perfusion in (None, preset_values("liver")["perfusion"])


def test_the_physiological_model_stops_flow_where_tissue_coagulates():
    s = _load(PERFUSED, model=PHYSIOLOGICAL)
    assert s.damage.perfusion_shutdown == "vascular_stasis"
    assert s.damage.stasis_activation_energy == pytest.approx(STASIS_ACTIVATION_ENERGY)
    # the stasis integral reaches 1 after 60 s at 60 degC (Brown 1992's is 49.2 degC)
    assert edge_temperature(s.damage.stasis_frequency_factor, s.damage.stasis_activation_energy) == pytest.approx(60.0, abs=1e-9)
    brown = _load(PERFUSED, model=CALIBRATED)
    assert edge_temperature(brown.damage.stasis_frequency_factor, brown.damage.stasis_activation_energy) == \
        pytest.approx(49.2, abs=0.05)


def test_every_model_stays_selectable_and_an_unknown_one_is_refused():
    for name in MODEL_NAMES:
        defaults = model_defaults(name, need_edge=False)
        assert "damage.perfusion_shutdown" in defaults
    with pytest.raises(ScenarioError, match="model"):
        _load(PERFUSED, model="calibrated-1999")


def test_a_calibrated_model_gets_its_own_edge_and_perfusion_limit():
    for name in (CALIBRATED, PHYSIOLOGICAL, COOLED_SHAFT):
        edge = fitted_edge(name)     # shipped with the package: a missing file is a failure
        assert edge is not None, f"{name}: no calibration file in the package"
        assert 50.0 <= edge["mean"] <= 60.0 and edge["sd"] > 0.0
        s = load_scenario(PERFUSED).with_changes({"model": name})
        assert s.damage.edge_temperature == pytest.approx(edge["mean"])
    assert calibrated_perfusion_limit(CALIBRATED) == pytest.approx(1.5 * 6.4e-3)
    assert calibrated_perfusion_limit(PHYSIOLOGICAL) == pytest.approx(1.5 * PHYSIOLOGICAL_LIVER_PERFUSION)
    assert calibrated_perfusion_limit(LIBRARY) == pytest.approx(1.5 * preset_values("liver")["perfusion"])


def test_the_ice_model_is_physiological_with_the_ice_law_and_its_calibration():
    """physiological-ice-2026.12 changes only [cryo] frozen_conductivity_model: the same [damage]
    laws, liver perfusion and fitted edge as physiological-2026.12, whose fit it does not repeat."""
    ice, plain = model_defaults(PHYSIOLOGICAL_ICE), model_defaults(PHYSIOLOGICAL)
    assert ice.pop("cryo.frozen_conductivity_model") == "ice"
    assert ice == plain
    assert fitted_edge(PHYSIOLOGICAL_ICE) == fitted_edge(PHYSIOLOGICAL)
    assert not MODELS[PHYSIOLOGICAL_ICE].fits_own_calibration and MODELS[PHYSIOLOGICAL].fits_own_calibration
    rf = _load(PERFUSED, model=PHYSIOLOGICAL_ICE)
    assert rf.cryo is None and rf.damage == _load(PERFUSED, model=PHYSIOLOGICAL).damage


def test_only_the_models_own_perfusion_is_credited_to_it():
    """summary.json credits the tissue perfusion to the zone model only when the solved value is the
    model's: not a value the file gives, nor the 0 that inflow occlusion sets."""
    from ablation.run.transforms import occlude_inflow
    def credited(scenario):
        return "tissue.perfusion" in model_supplied_paths(scenario)
    silent = _load(PERFUSED, model=PHYSIOLOGICAL)
    assert credited(silent)
    assert not credited(occlude_inflow(silent))
    assert not credited(_load(PERFUSED, model=PHYSIOLOGICAL, **{"tissue.perfusion": "1.8e-2 1/s"}))
    assert not credited(_load(PERFUSED, model=CALIBRATED))


def test_default_model_puts_the_in_vivo_zone_below_the_ex_vivo_one():
    """The published CVIR 2009 pair (2 cm cooled tip, 12 min; split.csv training rows): in vivo /
    ex vivo volume 0.52, README band 0.3-0.6. Under calibrated-2026.12 the model gave 1.24; the
    default model's value on this 1 mm grid is 0.47 (benchmarks/results/validation-published-rows-
    physiological-2026.12.md)."""
    from ablation.calibration.experiments import experiments
    from ablation.calibration.published import load_rows
    from ablation.pipeline import simulate
    pair = {e.name: e for e in experiments(load_rows()) if e.name in ("rfa_ic2cm_exvivo", "rfa_ic2cm_invivo")}
    results = {name: simulate(e.scenario(spacing="1 mm"), zone_uncertainty=False).summary
               for name, e in pair.items()}
    ex_vivo, in_vivo = results["rfa_ic2cm_exvivo"], results["rfa_ic2cm_invivo"]
    ratio = in_vivo["lesion"]["volume_ml"] / ex_vivo["lesion"]["volume_ml"]
    assert 0.3 <= ratio <= 0.6 and ratio == pytest.approx(0.47, abs=0.03)


def test_the_cooled_shaft_model_cools_the_shaft_of_cooled_needles_where_the_file_is_silent():
    """cooled-shaft-2026.12 = physiological-ice-2026.12's laws and perfusion, plus cool_shaft = true on
    every cooled_needle whose [probes.rfa] table does not set it; a written value wins, and plain needles
    and the earlier models are untouched."""
    shaft, ice = model_defaults(COOLED_SHAFT, need_edge=False), model_defaults(PHYSIOLOGICAL_ICE, need_edge=False)
    shaft.pop("damage.edge_temperature", None), ice.pop("damage.edge_temperature", None)
    assert shaft == ice and MODELS[COOLED_SHAFT].liver_perfusion == MODELS[PHYSIOLOGICAL_ICE].liver_perfusion
    assert MODELS[COOLED_SHAFT].fits_own_calibration
    assert _load(PERFUSED, model=COOLED_SHAFT).probes[0].rfa.cool_shaft is True
    assert _load(PERFUSED, model=PHYSIOLOGICAL_ICE).probes[0].rfa.cool_shaft is False
    written = _load(PERFUSED, model=COOLED_SHAFT, **{"probes[0].rfa.cool_shaft": False})
    assert written.probes[0].rfa.cool_shaft is False
    plain = _load(PERFUSED, model=COOLED_SHAFT, **{"probes[0].rfa.electrode": "needle"})
    assert plain.probes[0].rfa.cool_shaft is False


def test_a_cooled_shaft_shortens_the_zone_along_the_needle_and_leaves_its_width():
    """The hottest tissue sits at the rim where the shaft meets the tip (docs/physics.md 2); cooling the
    shaft takes the zone's tail along the shaft away. CVIR 2 cm ex vivo setting, 6 min on 1 mm cells:
    the long axis shortens by more than 2 mm while the short axis changes by less than 3 %, and the
    domain check does not take the shaft's own cooling at the boundary for truncation."""
    from ablation.calibration.experiments import experiments
    from ablation.calibration.published import load_rows
    from ablation.pipeline import simulate
    exvivo = next(e for e in experiments(load_rows()) if e.name == "rfa_ic2cm_exvivo")
    lesion, domain = {}, {}
    for shaft in (False, True):
        scenario = exvivo.scenario({"model": COOLED_SHAFT, "probes[0].rfa.cool_shaft": shaft,
                                    "damage.edge_temperature": "60 degC", "time.duration": "6 min",
                                    "time.output_interval": "6 min"}, spacing="1 mm")
        summary = simulate(scenario, zone_uncertainty=False).summary
        lesion[shaft], domain[shaft] = summary["lesion"], summary["domain"]
    assert lesion[False]["long_axis_mm"] - lesion[True]["long_axis_mm"] > 2.0
    assert lesion[True]["short_axis_mm"] == pytest.approx(lesion[False]["short_axis_mm"], rel=0.03)
    assert domain[True]["boundary_max_deviation_C"] > 1.0          # the coolant at the boundary, raw
    assert domain[True]["boundary_conducted_deviation_C"] < 0.5    # not counted as truncation
    assert "warning" not in domain[True]


def test_the_report_credits_model_supplied_settings_to_the_zone_model():
    """report.scenario_parameter_rows: a value the file sets is the file's, one the zone model supplies
    (its edge and laws, its liver perfusion, a cooled needle's cool_shaft) is the model's, the rest is
    the schema's."""
    from ablation.output.report import scenario_parameter_rows
    from ablation.run.time_loop import to_jsonable
    scenario = load_scenario(PERFUSED).with_changes({"model": COOLED_SHAFT})
    resolved = to_jsonable(scenario)      # what summary.json's parameters.scenario holds
    supplied = model_supplied_paths(scenario)   # and its parameters.supplied_by_model
    rows = {path: source for path, _, source in scenario_parameter_rows(resolved, scenario.raw, supplied)}
    model = f"zone model {COOLED_SHAFT}"
    assert rows["damage.edge_temperature"] == model and rows["damage.perfusion_shutdown"] == model
    assert rows["tissue.perfusion"] == model and rows["probes[0].rfa.cool_shaft"] == model
    assert rows["probes[0].rfa.electrode"] == "scenario file" and rows["tissue.preset"] == "scenario file"
    assert rows["probes[0].rfa.sensor_length"] == "default (schema)"


def test_the_settings_a_model_supplies_are_the_ones_the_file_leaves_out():
    """model_supplied_paths names what the zone model filled in, and only that: a key the file writes
    (cool_shaft, the edge) is the file's; [cryo] laws belong to cryo scenarios only."""
    silent = load_scenario(PERFUSED).with_changes({"model": COOLED_SHAFT})
    paths = model_supplied_paths(silent)
    assert {"damage.edge_temperature", "damage.perfusion_shutdown", "tissue.perfusion",
            "probes[0].rfa.cool_shaft"} <= set(paths)
    assert not any(p.startswith("cryo.") for p in paths)
    assert silent.probes[0].rfa.cool_shaft is True
    written = silent.with_changes({"probes[0].rfa.cool_shaft": False, "damage.edge_temperature": "55 degC"})
    assert written.probes[0].rfa.cool_shaft is False
    assert "probes[0].rfa.cool_shaft" not in model_supplied_paths(written)
    assert "damage.edge_temperature" not in model_supplied_paths(written)
    cryo = load_scenario(SCENARIOS / "cryo_17g_perfused.toml").with_changes({"model": COOLED_SHAFT})
    assert "cryo.frozen_conductivity_model" in model_supplied_paths(cryo)
    assert cryo.cryo.frozen_conductivity_model == "ice"


def test_summary_records_the_settings_the_model_supplied():
    """simulate() writes parameters.supplied_by_model; inflow occlusion (perfusion 0) takes the
    perfusion off it, and its properties table credits the perfusion to the model only when it stays."""
    from conftest import coarse_rfa
    from ablation.pipeline import simulate
    open_ = simulate(coarse_rfa(model=COOLED_SHAFT, tissue={"preset": "liver"},
                                time={"duration": "10 s", "step": "2 s", "refine": False}), zone_uncertainty=False)
    supplied = open_.summary["parameters"]["supplied_by_model"]
    assert {"tissue.perfusion", "probes[0].rfa.cool_shaft", "damage.edge_temperature"} <= set(supplied)
    assert "zone model" in open_.summary["parameters"]["properties"]["tissue"]["perfusion"]["source"]
    occluded = simulate(coarse_rfa(model=COOLED_SHAFT, tissue={"preset": "liver"}, placement={"approach": "open",
                                   "pringle": True}, tumors=[{"center": [0, 0, -10], "diameter": "8 mm"}],
                                   time={"duration": "10 s", "step": "2 s", "refine": False}), zone_uncertainty=False)
    assert "tissue.perfusion" not in occluded.summary["parameters"]["supplied_by_model"]
    assert "zone model" not in occluded.summary["parameters"]["properties"]["tissue"]["perfusion"]["source"]

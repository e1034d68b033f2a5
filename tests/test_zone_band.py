"""The lethal zone's uncertainty band (ablation.outcome.zone_band) and the named zone models
(ablation.input.models): the band read from one solve equals a second solve at the other parameter
value; the placement Monte Carlo joined with a band of zero width equals the placement-only one."""
from pathlib import Path

import numpy as np
import pytest

import ablation
from ablation.input.models import LIBRARY
from ablation.input.scenario import ScenarioError
from ablation.outcome.zone_band import ZoneParameter, band, variant_fields
from ablation.physics.damage import lesion_size, parse_criterion
from ablation.run.time_loop import run

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"grid.spacing": "1 mm", "grid.max_spacing": "4 mm", "domain.size": "50 mm", "time.duration": "3 min",
         "time.refine": False, "placement.enabled": False}


def _thermal(**damage):
    s = ablation.load_scenario(ROOT / "scenarios/thermal_probe.toml").with_changes(SMALL)
    return s.with_changes({f"damage.{k}": v for k, v in damage.items()})


def test_edge_band_equals_a_second_solve():
    """Perfusion with its own stasis kinetics does not depend on Omega: the zone at 58 degC read
    from a run at 54 degC (Omega x A(58)/A(54)) is the zone of a run at 58 degC."""
    first = run(_thermal(perfusion_shutdown="vascular_stasis", edge_temperature="54 degC"))
    second = run(_thermal(perfusion_shutdown="vascular_stasis", edge_temperature="58 degC"))
    parameter = ZoneParameter("edge_temperature", "damage.edge_temperature", "normal", 58.0, 1e-9, "test")
    d = first.scenario.damage
    rows = band(first.domain, first.fields, "arrhenius", parameter, 54.0, d.activation_energy, d.edge_exposure)
    expected = second.summary["lesion"]["volume_ml"]
    assert expected > 0.05
    assert rows[1]["volume_ml"] == pytest.approx(expected, rel=1e-9)
    assert rows[1]["short_axis_mm"] == pytest.approx(second.summary["lesion"]["short_axis_mm"], rel=1e-9)
    # a higher edge temperature kills less: the zone shrinks
    assert expected < first.summary["lesion"]["volume_ml"]


def test_lethal_isotherm_band_equals_the_other_criterion():
    """Cold: the zone at a -20 degC lethal isotherm read from a -40 degC run is the -20 degC criterion's."""
    s = ablation.load_scenario(ROOT / "scenarios/cryo_17g_perfused.toml").with_changes(
        {**{k: v for k, v in SMALL.items() if k != "placement.enabled"}, "domain.size": "60 mm",
         "time.duration": "6 min", "cryo.protocol": [{"phase": "freeze", "duration": "6 min"}]})
    r = run(s)
    parameter = ZoneParameter("lethal_temperature", "damage.criterion", "uniform", -40.0, -20.0, "test")
    fields = variant_fields(r.fields, "min_temperature:-40", parameter, -20.0, -40.0, np.nan, 60.0)
    shifted = lesion_size(r.domain, parse_criterion("min_temperature:-40").level(fields))
    direct = lesion_size(r.domain, parse_criterion("min_temperature:-20").level(r.fields))
    assert direct["volume_ml"] > 0.05
    assert shifted["volume_ml"] == pytest.approx(direct["volume_ml"], rel=1e-12)


def test_every_run_reports_a_band_and_the_joined_probabilities(tmp_path):
    """simulate() adds lesion.uncertainty (quantiles of the model's parameter) and, with a placement
    Monte Carlo, the joined probabilities; a band of zero width joins to the placement-only figures."""
    import ablation.input.models as models
    s = ablation.load_scenario(ROOT / "scenarios/thermal_probe.toml").with_changes(
        {**SMALL, "placement.enabled": True, "placement.samples": 400})
    result = ablation.simulate(s)
    u = result.summary["lesion"]["uncertainty"]
    assert u["available"] and u["model"] == s.model and len(u["quantiles"]) == 3
    r = u["range_5_95"]["volume_ml"]
    assert r["p5"] < result.summary["lesion"]["volume_ml"] * 1.5 and r["p5"] <= r["p50"] <= r["p95"]
    placement = result.summary["placement"]
    assert placement["joined"]["includes"].startswith("placement error and")
    # zero width: the joined Monte Carlo must reproduce the placement-only probabilities exactly
    original = models.zone_uncertainty

    def narrow(name):
        out = original(name)
        value = u["run_value"]
        out["heat"] = {**out["heat"], "distribution": "normal", "a": value, "b": 1e-9}
        return out
    models_attr = "ablation.pipeline.model_zone_uncertainty"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(models_attr, narrow)
        again = ablation.simulate(s)
    p = again.summary["placement"]
    assert p["joined"]["p_technical_success"] == pytest.approx(p["p_technical_success"], abs=1e-12)
    assert p["joined"]["p_margin_5mm"] == pytest.approx(p["p_margin_5mm"], abs=1e-12)
    # switched off (as sweeps and plans do): no band, no joined figures, placement-only ones unchanged
    off = ablation.simulate(s, zone_uncertainty=False)
    assert off.summary["lesion"]["uncertainty"]["available"] is False
    assert off.summary["placement"]["joined"]["includes"] is None
    assert off.summary["placement"]["p_technical_success"] == pytest.approx(placement["p_technical_success"], abs=1e-12)


def test_library_model_keeps_the_first_versions_defaults_and_the_file_wins():
    s = ablation.load_scenario(ROOT / "scenarios/thermal_probe.toml").with_changes({"model": LIBRARY})
    assert s.damage.perfusion_shutdown == "arrhenius" and s.damage.edge_temperature is None
    assert s.damage.frequency_factor == pytest.approx(7.39e39)
    own = s.with_changes({"damage.perfusion_shutdown": "none", "damage.edge_temperature": "57 degC"})
    assert own.damage.perfusion_shutdown == "none" and own.damage.edge_temperature == pytest.approx(57.0)


def test_unknown_model_is_refused_naming_the_field():
    with pytest.raises(ScenarioError, match="model"):
        ablation.load_scenario(ROOT / "scenarios/thermal_probe.toml").with_changes({"model": "best-guess"})

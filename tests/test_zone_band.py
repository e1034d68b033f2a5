"""The lethal zone's uncertainty band (ablation.outcome.zone_band) and the named zone models
(ablation.input.models): the band read from one solve equals a second solve at the other parameter
value; the placement Monte Carlo joined with a band of zero width equals the placement-only one."""
from pathlib import Path

import numpy as np
import pytest

import ablation
from ablation.input.models import LIBRARY
from ablation.input.scenario import ScenarioError
from ablation.calibration.fit import discrepancy_sd
from ablation.outcome.placement.moved_lesion import PointSet, SdfTable, moved_metrics
from ablation.outcome.zone_band import ZoneParameter, band, lesion_uncertainty, variant_fields, with_discrepancy
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


def test_band_read_from_a_snapshot():
    """A zone against time gets its band from each snapshot's fields: at the end it is the run's
    own band; a minute in it is the band of that minute's fields (band() on them, joined with the
    same discrepancy), smaller at every quantile than the final one."""
    r = run(_thermal(perfusion_shutdown="vascular_stasis").with_changes({"time.output_interval": "1 min"}))
    parameter = ZoneParameter("edge_temperature", "damage.edge_temperature", "normal", 56.0, 1.5, "test", 0.05)
    final = lesion_uncertainty(r, parameter, "test")
    times = [t for t, _ in r.snapshots]
    assert times[-1] == pytest.approx(180.0) and 60.0 in times
    at_end = lesion_uncertainty(r, parameter, "test", fields=r.snapshots[-1][1])
    early_fields = r.snapshots[times.index(60.0)][1]
    early = lesion_uncertainty(r, parameter, "test", fields=early_fields)
    d = r.scenario.damage
    rows = band(r.domain, early_fields, "arrhenius", parameter, early["run_value"], d.activation_energy,
                d.edge_exposure)
    assert [q["volume_ml"] for q in early["quantiles"]] == \
        [q["volume_ml"] for q in with_discrepancy(rows, parameter.discrepancy)]
    for key in ("volume_ml", "long_axis_mm", "short_axis_mm"):
        for q in ("p5", "p50", "p95"):
            assert at_end["range_5_95"][key][q] == pytest.approx(final["range_5_95"][key][q], rel=1e-12)
            assert 0.0 < early["range_5_95"][key][q] < final["range_5_95"][key][q]


def test_lethal_isotherm_band_equals_the_other_criterion(tmp_path):
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
    # the default -40 degC criterion is the range's conservative end: its zone lies below the band,
    # and the record says so (its quantile, a note naming the band's median isotherm)
    u = lesion_uncertainty(r, parameter, "test")
    assert u["run_value_quantile"] == 0.0
    assert r.summary.lesion.volume_ml < u["range_5_95"]["volume_ml"]["p5"]
    assert any("smaller than the band's 5 % zone" in n and "-30 degC" in n for n in u["notes"])
    # the report's isotherm table shows each isotherm's sizes (it read a level summary.json lacks)
    from ablation.output.report import build_report
    _, markdown = build_report(tmp_path, r)
    rows = {line.split("|")[1].strip(): line for line in markdown.splitlines() if line.startswith("| -20 ")}
    reached = r.summary.isotherms["-20"]["reached"]
    assert f"| {reached['volume_ml']:.4g} |" in rows["-20"]


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
        out["heat"] = {**out["heat"], "distribution": "normal", "a": value, "b": 1e-9, "discrepancy": 0.0}
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


def test_quantiles_are_the_zones_own_without_a_discrepancy():
    """A model without a discrepancy (the library's) lists the parameter band as it is: the edge
    temperature's 5 % quantile gives the largest zone. `quantiles` holds the zone's quantiles
    (rising with the label, as range_5_95 reads them); `parameter_quantiles` keeps the parameter's."""
    result = ablation.simulate(_thermal().with_changes({"model": LIBRARY}))
    u = result.summary["lesion"]["uncertainty"]
    by_parameter = [row["volume_ml"] for row in u["parameter_quantiles"]]
    assert by_parameter[0] > by_parameter[-1] > 0.0          # a higher edge, a smaller zone
    for key in ("volume_ml", "long_axis_mm", "short_axis_mm"):
        values = [row[key] for row in u["quantiles"]]
        assert values == sorted(row[key] for row in u["parameter_quantiles"])
        assert (values[0], values[-1]) == (u["range_5_95"][key]["p5"], u["range_5_95"][key]["p95"])
    assert [row["quantile"] for row in u["quantiles"]] == [0.05, 0.5, 0.95]


def test_library_model_keeps_the_first_versions_defaults_and_the_file_wins():
    s = ablation.load_scenario(ROOT / "scenarios/thermal_probe.toml").with_changes({"model": LIBRARY})
    assert s.damage.perfusion_shutdown == "arrhenius" and s.damage.edge_temperature is None
    assert s.damage.frequency_factor == pytest.approx(7.39e39)
    own = s.with_changes({"damage.perfusion_shutdown": "none", "damage.edge_temperature": "57 degC"})
    assert own.damage.perfusion_shutdown == "none" and own.damage.edge_temperature == pytest.approx(57.0)


def test_unknown_model_is_refused_naming_the_field():
    with pytest.raises(ScenarioError, match="model"):
        ablation.load_scenario(ROOT / "scenarios/thermal_probe.toml").with_changes({"model": "best-guess"})


def test_discrepancy_is_the_closed_form_maximum_likelihood():
    """Equal published SDs and model values: the likelihood's maximum is sigma^2 + (delta m)^2 =
    mean(r^2), i.e. delta = sqrt(mean(r^2) - sd^2) / m; 0 when the published SD explains the scatter."""
    r = np.array([0.3, -0.5, 0.4, 0.2])
    m, sd = 3.0, 0.1
    expected = np.sqrt(np.mean(r ** 2) - sd ** 2) / m
    assert discrepancy_sd(r, np.full(4, sd), np.full(4, m), np.ones(4)) == pytest.approx(expected, rel=1e-5)
    # a volume row (k = sqrt 5) needs a delta sqrt(5) times smaller for the same scatter
    k = np.sqrt(5.0)
    assert discrepancy_sd(r, np.full(4, sd), np.full(4, m), np.full(4, k)) == pytest.approx(expected / k, rel=1e-5)
    assert discrepancy_sd(r * 0.1, np.full(4, sd), np.full(4, m), np.ones(4)) == 0.0


def test_band_joins_parameter_and_discrepancy_in_quadrature():
    """Lognormal around the median zone: log-SDs add in quadrature; a volume's discrepancy is sqrt(5)
    times a dimension's."""
    z = 1.6448536269514722
    rows = [{"volume_ml": 8.0, "long_axis_mm": 30.0, "short_axis_mm": 20.0},
            {"volume_ml": 10.0, "long_axis_mm": 31.0, "short_axis_mm": 21.0},
            {"volume_ml": 12.5, "long_axis_mm": 32.0, "short_axis_mm": 22.0}]
    delta = 0.07
    out = with_discrepancy(rows, delta)
    s_volume = np.hypot(np.log(12.5 / 8.0) / (2 * z), np.sqrt(5.0) * delta)
    assert out[1]["volume_ml"] == pytest.approx(10.0)
    assert out[2]["volume_ml"] == pytest.approx(10.0 * np.exp(z * s_volume), rel=1e-12)
    assert out[0]["volume_ml"] == pytest.approx(10.0 * np.exp(-z * s_volume), rel=1e-12)
    s_long = np.hypot(np.log(32.0 / 30.0) / (2 * z), delta)
    assert out[2]["long_axis_mm"] == pytest.approx(31.0 * np.exp(z * s_long), rel=1e-12)
    # no parameter spread: the discrepancy alone
    flat = with_discrepancy([rows[1]] * 3, delta)
    assert flat[2]["short_axis_mm"] / flat[1]["short_axis_mm"] == pytest.approx(np.exp(z * delta), rel=1e-12)


def test_stretched_zone_margin_is_exact_for_a_sphere_in_a_sphere():
    """A spherical zone (radius a) scaled by (s_x, s_y, s_z) about its centre is an ellipsoid; a
    concentric spherical tumour (radius R) then has minimal margin min(s) a - R exactly, and the
    lookup at c + (p - c)/s times min(s) gives it."""
    a, R, step = 12e-3, 8e-3, 0.25e-3
    centre = np.array([0.0, 0.0, -5e-3])
    table = SdfTable.build(lambda q: a - np.linalg.norm(q - centre[:, None], axis=0),
                           [-0.02, -0.02, -0.025], [0.02, 0.02, 0.015], step)
    rng = np.random.default_rng(3)
    u = rng.standard_normal((3, 2000))
    surface = centre[:, None] + R * u / np.linalg.norm(u, axis=0)
    inner = centre[:, None] + 0.9 * R * (rng.random(500) ** (1 / 3)) * (lambda v: v / np.linalg.norm(v, axis=0))(
        rng.standard_normal((3, 500)))
    pts = PointSet(np.hstack([inner, surface]).astype(np.float32), [slice(0, 500)], [slice(500, 2500)],
                   [np.ones(2000, bool)])
    scales = np.array([[1.0, 1.0, 1.0], [0.9, 0.9, 1.2], [1.1, 1.1, 0.8], [0.5, 0.5, 0.7]])
    n = len(scales)
    out = moved_metrics(table, pts, np.zeros((n, 3)), np.zeros((n, 2)), False, scales=scales, centre=centre)
    expected = (scales.min(axis=1) * a - R) * 1e3
    assert out.min_margin_mm[:, 0] == pytest.approx(expected, abs=0.02)
    assert list(out.technical_success[:, 0]) == [True, True, True, False]
    assert out.coverage[3, 0] < 1.0 and out.coverage[0, 0] == 1.0


# ------------------------------------------------------------- a re-solved input: cryo capacity
def _calibrated_cryo(**changes):
    raw = {"name": "capacity", "modality": "cryo", "tissue": {"preset": "liver"},
           "probes": [{"tip": [0, 0, 0], "diameter": "2.4 mm", "active_length": "20 mm", "cryo": {"type": "2.4mm"}}],
           "tumors": [{"name": "m", "center": [0, 0, -10], "diameter": "3 mm"}],
           "domain": {"size": "60 mm"}, "grid": {"spacing": "1 mm", "max_spacing": "4 mm", "fine_margin": "10 mm"},
           "time": {"duration": "15 min", "step": "5 s", "refine": False}, "outputs": {"fields": False},
           "placement": {"approach": "percutaneous", "samples": 240, "seed": 3}}
    from ablation.input.scenario import scenario_from_dict
    return scenario_from_dict(raw).with_changes(changes)


def test_calibrated_capacity_band_matches_its_training_rows_spread():
    """The 2.4 mm probe's capacity carries the log-SD that moves its training row (Littrup 2009,
    -30 degC diameter 12 mm, SD taken as 10 %) by one SD (ablation.modalities.cryo). Solved again
    at the capacity's 1/6 and 5/6 quantiles, the training row's diameter must spread by that same
    10 % per SD: a second path through the calibration (benchmarks/validation/cryo.py measured the
    log-SD by secant runs on 0.5 mm cells; here 1 mm cells)."""
    import math
    from scipy import stats
    from ablation.calibration.experiments import experiments, solve
    from ablation.calibration.published import load_rows
    experiment = next(e for e in experiments(load_rows()) if e.name == "cryo_1probe_m30")
    result = solve([experiment])[experiment.name]["main"]
    assert sorted(result.resolved_band) == pytest.approx([1 / 6, 5 / 6])
    u = result.summary["lesion"]["uncertainty"]["resolved_input"]
    z = stats.norm.ppf(5 / 6)
    low, high = (experiment.measure(result.resolved_band[q])["cryo_1probe_m30_diam"] for q in (1 / 6, 5 / 6))
    diameter_log_sd = math.log(high / low) / (2.0 * z)
    assert diameter_log_sd == pytest.approx(math.log(13.2 / 10.8) / 2.0, rel=0.1)
    # the lesion band widens by it: the capacity's log-SD joins the isotherm band in quadrature
    band = result.summary["lesion"]["uncertainty"]
    only = band["range_5_95_parameter_only"]["short_axis_mm"]
    joined = band["range_5_95"]["short_axis_mm"]
    s_only = math.log(only["p95"] / only["p5"]) / (2 * stats.norm.ppf(0.95))
    s_joined = math.log(joined["p95"] / joined["p5"]) / (2 * stats.norm.ppf(0.95))
    assert s_joined == pytest.approx(math.hypot(s_only, u["zone_log_sd"]["short_axis_mm"]), rel=1e-9)


def test_capacity_re_solves_integrate_once_at_the_runs_checked_step():
    """The band's capacity re-solves take the step the run's own check kept (its halvings) and make
    no step check of their own: every quantile then shares the run's time discretisation."""
    result = ablation.simulate(_calibrated_cryo(**{"time.refine": True, "time.step": "60 s",
                                                   "placement.enabled": False}))
    kept = result.summary["time"]
    assert kept["halvings"] >= 1 and kept["lesion_volume_error_estimate"] is not None
    for solved in result.resolved_band.values():
        time = solved.summary["time"]
        assert (time["step_s"], time["halvings"], time["steps"]) == (kept["step_s"], kept["halvings"], kept["steps"])
        assert time["lesion_volume_error_estimate"] is None and time["refine"] is False


def test_capacity_re_solve_in_a_worker_process_equals_the_one_solved_here():
    """The first quantile's re-solve goes to a spawned worker when the work pays for it: two paths
    (worker and this process) must give the same fields, bit for bit up to the solver's arithmetic."""
    from ablation import pipeline
    scenario = _calibrated_cryo(**{"time.duration": "4 min", "placement.enabled": False})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "may_use_every_core", lambda: False)
        here = pipeline.capacity_resolves(scenario, halvings=1)["results"]
        mp.setattr(pipeline, "may_use_every_core", lambda: True)
        mp.setattr(pipeline, "worker_pays", lambda *a: True)       # the small grid would not pay for it
        submitted = []
        original = pipeline._resolve_in_worker
        mp.setattr(pipeline, "_resolve_in_worker", lambda *a: submitted.append(original(*a)) or submitted[-1])
        there = pipeline.capacity_resolves(scenario, halvings=1)["results"]
    assert submitted and submitted[0] is not None             # the first quantile went to a worker
    for q in pipeline.CAPACITY_QUANTILES:
        assert there[q].summary["time"]["steps"] == here[q].summary["time"]["steps"]
        assert np.allclose(there[q].fields["temperature_C"], here[q].fields["temperature_C"], rtol=0, atol=1e-9)
        assert there[q].summary["lesion"]["volume_ml"] == pytest.approx(here[q].summary["lesion"]["volume_ml"],
                                                                         rel=1e-12)
    low, high = (here[q].summary["lesion"]["volume_ml"] for q in pipeline.CAPACITY_QUANTILES)
    assert low < high                                          # the quantiles differ: not one run twice


def test_joined_monte_carlo_takes_each_samples_capacity_stratum_from_its_re_solve():
    """With the lethal isotherm's band narrowed to zero width, the joined placement Monte Carlo must
    equal, sample by sample, the placement-only Monte Carlo run on the re-solve of that sample's
    capacity stratum ((i // 8) mod 3: low, run, high) with the same draws."""
    import ablation.input.models as models
    from ablation.outcome import placement as pl
    original = models.zone_uncertainty

    def narrow(name):
        out = original(name)
        out["cold"] = {**out["cold"], "distribution": "normal", "a": -40.0, "b": 1e-9}
        return out
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("ablation.pipeline.model_zone_uncertainty", narrow)
        result = ablation.simulate(_calibrated_cryo())
    joined = result.summary["placement"]["joined"]
    assert "re-solved input" in joined["includes"]
    low, high = (result.resolved_band[q] for q in sorted(result.resolved_band))
    section = result.scenario.placement
    model = pl.error_model(section, "percutaneous", pringle=False)
    success = [pl.monte_carlo(solved, model, 240, 3, section=section).sample_table.technical_success[:, 0]
               for solved in (low, result, high)]
    i = np.arange(240)
    expected = np.mean(np.choose((i // 8) % 3, success))
    assert 0.05 < expected < 0.95 and np.ptp([np.mean(s) for s in success]) > 0.05
    assert joined["p_technical_success"] == pytest.approx(expected, abs=1e-12)

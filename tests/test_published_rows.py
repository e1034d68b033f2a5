"""The published rows and their experiments (ablation.calibration): reading the two CSV files, the
split of rows into experiments and unsupported rows, z-scores, and one short cryo run measured in
the rows' own units. No long simulations: the benchmark (benchmarks/validation/published_rows.py)
runs the full table."""
from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from ablation.calibration.experiments import (UNITS, Experiment, experiments, published_sd, run_checks, solve,
                                              unsupported, z_score)
from ablation.calibration.published import PUBLISHED_FILE, SPLIT_FILE, PublishedRow, default_folder, load_rows


@pytest.fixture(scope="module")
def rows():
    return load_rows()


@pytest.fixture(scope="module")
def by_name(rows):
    return {e.name: e for e in experiments(rows)}


def _row(value=10.0, sd=None, unit="mm", **changes):
    base = dict(id="x", modality="rfa", quantity="long_axis", value=value, sd=sd, unit=unit, role="held_out",
                study="s", measured_as="gross_pathology", assumptions={})
    base.update(changes)
    return PublishedRow(**base)


def _copy_shipped(tmp_path):
    folder = tmp_path / "validation"
    folder.mkdir()
    for name in (PUBLISHED_FILE, SPLIT_FILE):
        shutil.copy(str(default_folder() / name), folder / name)
    return folder


# ------------------------------------------------------------------------------- load_rows
def test_load_rows_reads_both_files(rows):
    with open(default_folder() / PUBLISHED_FILE, newline="") as f:
        published = list(csv.DictReader(f))
    assert [r.id for r in rows] == [r["id"] for r in published]
    first = rows[0]
    assert (first.id, first.quantity, first.value, first.sd, first.unit) == \
        ("rfa_ic2cm_exvivo_long", "long_axis", 3.01, None, "cm")
    assert first.role == "train" and first.study == "cvir2009"
    assert first.assumptions["tip_length_mm"] == "20" and first.assumptions["perfusion"] == "0"
    assert first.boundary == "gross_white_zone"
    song = next(r for r in rows if r.id == "rfa_17g_exvivo_energy")
    assert (song.value, song.sd, song.unit, song.measured_as) == (7.70, 0.98, "kcal", "generator_log")


def test_every_id_has_a_split_row_with_a_role(rows):
    assert all(r.role in ("train", "held_out") for r in rows)
    assert {r.modality for r in rows} == {"rfa", "cryo", "placement"}
    assert sum(r.role == "train" for r in rows) == 7


def test_an_id_missing_from_split_is_an_error(tmp_path):
    folder = _copy_shipped(tmp_path)
    lines = (folder / SPLIT_FILE).read_text().splitlines(keepends=True)
    (folder / SPLIT_FILE).write_text("".join(line for line in lines if not line.startswith("rfa_15g_exvivo_vol,")))
    with pytest.raises(ValueError, match=r"published_lesions\.csv, line \d+, column 'id': 'rfa_15g_exvivo_vol' "
                                         r"has no row in split\.csv"):
        load_rows(folder)


@pytest.mark.parametrize("edit, pattern", [
    (lambda line: line.replace(",3.01,", ",3.O1,"), r"published_lesions\.csv, line 2, column 'value': '3\.O1'"),
    (lambda line: line.replace(",3.01,,", ",3.01,-1,"), r"published_lesions\.csv, line 2, column 'sd'"),
    (lambda line: line.rstrip("\n") + ",extra\n", r"published_lesions\.csv, line 2: 16 fields, expected 15"),
])
def test_a_malformed_published_file_names_file_line_and_column(tmp_path, edit, pattern):
    folder = _copy_shipped(tmp_path)
    lines = (folder / PUBLISHED_FILE).read_text().splitlines(keepends=True)
    lines[1] = edit(lines[1])
    (folder / PUBLISHED_FILE).write_text("".join(lines))
    with pytest.raises(ValueError, match=pattern):
        load_rows(folder)


def test_a_malformed_split_file_names_file_line_and_column(tmp_path):
    folder = _copy_shipped(tmp_path)
    text = (folder / SPLIT_FILE).read_text().replace("rfa_ic2cm_exvivo_short,train,", "rfa_ic2cm_exvivo_short,trian,")
    (folder / SPLIT_FILE).write_text(text)
    with pytest.raises(ValueError, match=r"split\.csv, line 3, column 'role': 'trian'"):
        load_rows(folder)
    (folder / SPLIT_FILE).write_text("id,role\n")
    with pytest.raises(ValueError, match=r"split\.csv, line 1: column\(s\) tip_length_mm, .* missing"):
        load_rows(folder)


# ------------------------------------------------------------------------- experiments
def test_every_row_is_in_one_experiment_or_unsupported_with_a_reason(rows):
    found = experiments(rows)
    supported = [row.id for e in found for row in e.rows]
    left_out = unsupported(rows)
    assert len(supported) == len(set(supported))
    assert sorted(supported + [row.id for row, _ in left_out]) == sorted(r.id for r in rows)
    assert all(isinstance(why, str) and len(why) > 20 for _, why in left_out)
    assert {r.id for r in rows if r.role == "train"} <= set(supported)
    assert len({e.name for e in found}) == len(found)
    for e in found:     # every row has a measure and a unit the measure converts to
        assert set(e.measures) == {row.id for row in e.rows}
        assert all(UNITS[row.unit][0] == e.measures[row.id].dimension for row in e.rows)


def test_unsupported_reasons_are_precise(rows):
    why = dict((row.id, reason) for row, reason in unsupported(rows))
    assert why["place_ct_inplane_phantom"].startswith("placement/outcome row")
    assert "duration_min" in why["rfa_cvo_none_vol"]
    assert "occlusion 'portal'" in why["rfa_cooled_1cm_area_ratio_portal"]
    assert "multi_channel.py" in why["rfa_octo_sm_vol"]
    assert "a bound" in why["cryo_m30_inset_upper_bound"]


def test_the_denys_occlusion_rows_compare_no_perfusion_with_the_library_perfusion(by_name):
    """Denys 2001 (held out): portal + arterial occlusion against none, 1 cm cooled tip, 12 min as
    split.csv assumes since 2026-12-06; partial occlusions stay unsupported."""
    experiment = by_name["rfa_cooled_1cm_area"]
    assert [r.id for r in experiment.rows] == ["rfa_cooled_1cm_area_ratio_both", "rfa_cooled_1cm_area_incr_mm2_both"]
    occluded, open_ = (experiment.settings[k].as_dict() for k in ("occluded", "open"))
    assert occluded["tissue.perfusion"] == "0 1/s" and "tissue.perfusion" not in open_
    for changes in (occluded, open_):
        assert changes["time.duration"] == "12 min"
        assert changes["probes[0].active_length"] == "10 mm"


def test_rows_of_one_setting_share_an_experiment(by_name):
    assert [r.id for r in by_name["rfa_ic2cm_exvivo"].rows] == \
        ["rfa_ic2cm_exvivo_long", "rfa_ic2cm_exvivo_short", "rfa_ic2cm_exvivo_vol"]
    assert by_name["rfa_ic2cm_exvivo"].labels == ("main",)
    assert len(by_name["rfa_perfbov"].rows) == 6


def _library_perfusion(s):
    """What split.csv's 'library' perfusion resolves to: the zone model's liver perfusion, else none
    (the preset's)."""
    from ablation.input.models import zone_model
    return zone_model(s.model).liver_perfusion


def test_single_setting_scenarios_follow_split(by_name):
    s = by_name["rfa_ic2cm_invivo"].scenario(overrides={"damage.perfusion_shutdown": "none"})
    assert s.probes[0].active_length == pytest.approx(0.020) and s.probes[0].diameter == pytest.approx(1.47e-3)
    assert s.tissue.initial_temperature == 37.0 and s.tissue.perfusion == _library_perfusion(s) and not s.tumors
    assert s.time.duration == 720.0 and s.rfa.protocol == "impedance_control" and s.rfa.power == 200.0
    assert s.grid.spacing == pytest.approx(1e-3) and s.grid.max_spacing == pytest.approx(4e-3)
    assert s.damage.perfusion_shutdown == "none"                       # overrides come last
    ex_vivo = by_name["rfa_ic2cm_exvivo"].scenario(spacing="0.5 mm")
    assert ex_vivo.tissue.perfusion == 0.0 and ex_vivo.tissue.initial_temperature == 20.0
    assert ex_vivo.grid.spacing == pytest.approx(0.5e-3)


def test_comparisons_build_one_scenario_per_setting(by_name):
    sizes = by_name["cryo_probe_size"].scenarios()
    assert list(sizes) == ["1.7 mm", "2.4 mm"]
    assert [s.probes[0].diameter for s in sizes.values()] == pytest.approx([1.7e-3, 2.4e-3])
    flows = by_name["rfa_perfbov"].scenarios()
    assert len(flows) == 5 and len({float(s.tissue.perfusion) for s in flows.values()}) == 5
    with pytest.raises(ValueError, match="compares 5 settings"):
        by_name["rfa_perfbov"].scenario()


def test_a_flow_fit_is_measured_in_the_rows_units(by_name):
    """Fake results whose short axis falls 0.44 mm and volume 0.556 mL per mL/min/100 g."""
    experiment = by_name["rfa_perfbov"]
    results = {}
    for label in experiment.labels:
        flow = float(label.split()[1])
        lesion = {"short_axis_mm": 39.25 - 0.44 * flow, "volume_ml": 31.574 - 0.556 * flow}
        results[label] = SimpleNamespace(summary={"lesion": lesion})
    values = experiment.measure(results)
    assert values["rfa_perfbov_short_slope"] == pytest.approx(-0.044)              # cm per flow
    assert values["rfa_perfbov_short_intercept"] == pytest.approx(3.925)           # cm
    assert values["rfa_perfbov_short_change_per10"] == pytest.approx(4.4)          # mm
    assert values["rfa_perfbov_vol_slope"] == pytest.approx(-0.556)                # mL per flow
    assert values["rfa_perfbov_vol_change_per10"] == pytest.approx(5.56)           # mL


def test_energy_in_kcal_and_volume_in_ml(by_name):
    experiment = by_name["rfa_17g_exvivo"]
    result = SimpleNamespace(summary={"lesion": {"volume_ml": 24.0}, "device": {"energy_J": 4184.0 * 7.7}})
    assert experiment.measure(result) == pytest.approx({"rfa_17g_exvivo_vol": 24.0, "rfa_17g_exvivo_energy": 7.7})


def test_a_short_cryo_run_is_measured_in_the_rows_units(by_name):
    """The Littrup single-probe experiment, 3 min freeze on 2 mm cells (seconds): the -30 degC
    diameter in cm and the lethal share of the iceball section in %."""
    experiment = by_name["cryo_1probe_m30"]
    short = {"time.duration": "3 min", "time.output_interval": "3 min",
             "cryo.protocol": [{"phase": "freeze", "duration": "3 min"}]}
    result = solve([experiment], overrides=short, spacing="2 mm")[experiment.name]["main"]
    assert result.summary["grid"]["kind"] == "axisymmetric"
    values = experiment.measure(result)
    reached = result.summary["isotherms"]
    assert values["cryo_1probe_m30_diam"] == pytest.approx(reached["-30"]["reached"]["short_axis_mm"] / 10.0)
    assert 0.3 < values["cryo_1probe_m30_diam"] < 1.5
    expected = 100.0 * (reached["-30"]["reached"]["short_axis_mm"] / reached["0"]["reached"]["short_axis_mm"]) ** 2
    assert values["cryo_1probe_m30_area_frac"] == pytest.approx(expected, rel=0.1)


# ------------------------------------------------------------------------------- z-scores
def test_z_score_uses_the_published_sd():
    assert z_score(14.0, _row(10.0, sd=2.0)) == pytest.approx(2.0)
    assert z_score(14.0, _row(10.0, sd=3.0), model_sd=4.0) == pytest.approx(4.0 / 5.0)


def test_z_score_without_sd_takes_ten_percent_of_the_value():
    row = _row(30.0)
    assert published_sd(row) == pytest.approx(3.0)
    assert z_score(36.0, row) == pytest.approx(2.0)        # +20 % -> z = 2
    assert z_score(-0.0528, _row(-0.044)) == pytest.approx(-2.0)   # negative values: |value|
    with pytest.raises(ValueError, match="no spread"):
        z_score(1.0, _row(0.0))


def test_experiment_measure_needs_every_setting(by_name):
    with pytest.raises(ValueError, match="needs results"):
        by_name["cryo_probe_size"].measure(SimpleNamespace(summary={}))
    assert isinstance(by_name["cryo_probe_size"], Experiment)
    assert math.isclose(UNITS["kcal"][1], 4184.0)


def _published_rows_module():
    import importlib.util
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "validation" / "published_rows.py"
    spec = importlib.util.spec_from_file_location("published_rows_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stored_rows_are_reused_only_when_a_fresh_solve_reproduces_them(tmp_path):
    """published_rows.py --reuse-from: per modality the cheapest stored experiment is solved again; equal
    values let the other stored experiments' rows in (marked, with their band and where they were solved),
    a different value refuses, and an experiment the stored table lacks is left to be solved."""
    module = _published_rows_module()
    (tmp_path / "results").mkdir()
    module.shipped_folder = lambda name: tmp_path
    rows = {name: SimpleNamespace(id=name, modality="cryo") for name in ("a1", "b1", "b2", "c1")}
    cheap = SimpleNamespace(name="A", rows=(rows["a1"],))
    dear = SimpleNamespace(name="B", rows=(rows["b1"], rows["b2"]))
    new = SimpleNamespace(name="C", rows=(rows["c1"],))
    stored = {"generated": "then", "experiment_runtime_s": {"A": 10.0, "B": 500.0},
              "rows": [{"id": "a1", "model": 1.5, "model_p5": 1.4, "model_p95": 1.6},
                       {"id": "b1", "model": 2.0, "model_p5": 1.8, "model_p95": 2.2,
                        "run_checks": {"boundary_deviation_C": 0.1, "time_error": 0.01, "warnings": [],
                                       "problems": []}},
                       {"id": "b2", "model": 3.0, "model_p5": 3.0, "model_p95": 3.0, "reused_from": "older.json"},
                       {"id": "c1", "model": None}]}
    (tmp_path / "results" / "validation-published-rows-old.json").write_text(json.dumps(stored))
    solved = []

    def fresh(value):
        def measure(chosen):
            solved.extend(e.name for e in chosen)
            module._MEASURED["a1"] = (value, "A")
        return measure
    module._measure = fresh(1.5 * (1 + 1e-9))
    module._reuse("old", [cheap, dear, new])
    assert solved == ["A"]                                  # only the cheapest is solved again
    assert module._MEASURED["b1"] == (2.0, "B (stored)") and module._BAND["b2"] == (3.0, 3.0)
    assert module._REUSED == {"b1": "validation-published-rows-old.json (generated then)", "b2": "older.json"}
    assert "c1" not in module._MEASURED                     # not in the stored table: to be solved
    assert module._CHECKS["b1"]["boundary_deviation_C"] == 0.1 and "b2" not in module._CHECKS
    assert module._checks_text(module._CHECKS.get("b2")) == "not recorded"
    module._MEASURED.clear(), module._REUSED.clear()
    module._measure = fresh(1.52)
    with pytest.raises(SystemExit, match="a1 = 1.52 now and 1.5"):
        module._reuse("old", [cheap, dear, new])
    assert "b1" not in module._MEASURED


def test_the_swine_cryo_rows_are_built_as_split_csv_fixes_them(by_name):
    """CVIR 2018 (held out): two catalogue 17 G needles 15 mm apart ('15 mm apart' in split.csv's notes),
    40 mm freezing length, perfused liver at 37 degC; the 10-8-10 row's duration is read as its protocol."""
    from ablation.calibration.experiments import _cryo_phases
    assert _cryo_phases("28 (10 freeze, 8 active thaw, 10 freeze)") == (
        ("freeze", 10.0), ("active_thaw", 8.0), ("freeze", 10.0))
    assert _cryo_phases("30 (10 freeze, 8 active thaw, 10 freeze)") is None     # phases must add up
    assert _cryo_phases("15") is None
    double = by_name["cryo_swine_2probe_10810"].scenario()
    single = by_name["cryo_swine_2probe_15min"].scenario()
    tips = [p.tip for p in double.probes]
    assert len(tips) == 2 and abs(tips[1][0] - tips[0][0]) == pytest.approx(15e-3)
    assert [p.active_length for p in double.probes] == [pytest.approx(40e-3)] * 2
    assert [ph.phase for ph in double.cryo.protocol] == ["freeze", "active_thaw", "freeze"]
    assert double.time.duration == pytest.approx(28 * 60) and single.time.duration == pytest.approx(15 * 60)
    assert single.tissue.preset == "liver" and single.tissue.initial_temperature == pytest.approx(37.0)


def _run(conducted=0.1, raw=3.0, time_error=0.005, grid_warnings=(), time_warnings=()):
    return SimpleNamespace(summary={"boundary_conducted_deviation_C": conducted, "boundary_max_deviation_C": raw,
                                    "grid": {"warnings": list(grid_warnings)},
                                    "time": {"lesion_volume_error_estimate": time_error,
                                             "warnings": list(time_warnings)}})


def test_run_checks_take_the_worst_run_and_name_what_fails():
    """The convergence rule the fit applies (and the table reports): conducted boundary deviation at most
    0.5 K (an electrode shaft's cooling of the boundary, in the raw deviation, does not count) and the zone
    volume's step error at most 2 %; grid and time warnings are carried, once each."""
    ok = run_checks({"a": _run(), "b": _run(conducted=0.3, time_error=0.015)})
    assert ok["problems"] == [] and ok["boundary_deviation_C"] == 0.3 and ok["time_error"] == 0.015
    edge = "edge in 2.7 mm cells"
    bad = run_checks({"a": _run(conducted=0.73, grid_warnings=[edge]), "b": _run(time_error=0.03, grid_warnings=[edge])})
    assert bad["problems"] == ["a: boundary deviation 0.73 K (at most 0.5 K)", "b: time-step error 3 % (at most 2 %)"]
    assert bad["warnings"] == [edge]
    unchecked = run_checks({"a": _run(time_error=None)})
    assert unchecked["time_error"] is None and unchecked["problems"] == []
    module = _published_rows_module()
    assert module._checks_text(bad).startswith("not converged (boundary 0.73 K, step 3 %); 1 warning(s): edge in")
    assert module._checks_text(unchecked) == "converged (boundary 0.1 K, no step check)"


def test_the_fit_refuses_runs_that_fail_the_rule():
    from ablation.calibration import fit
    fit._check_converged({"e": {"a": _run()}})
    with pytest.raises(RuntimeError, match="e is not converged: a: boundary deviation 0.73 K"):
        fit._check_converged({"e": {"a": _run(conducted=0.73)}})
    with pytest.raises(RuntimeError, match="no run estimated its time-step error"):
        fit._check_converged({"e": {"a": _run(time_error=None)}})


def test_a_stored_row_is_solved_again_when_its_experiment_changed(tmp_path):
    """--reuse-from compares each stored row's setting_hash (the experiment's scenarios as solved) with the
    experiment's now: a changed setting (e.g. a finer grid for its rows) is solved, not reused."""
    module = _published_rows_module()
    (tmp_path / "results").mkdir()
    module.shipped_folder = lambda name: tmp_path
    module.setting_hash = lambda experiment: f"{experiment.name}-now"
    rows = {name: SimpleNamespace(id=name, modality="cryo") for name in ("a1", "b1", "c1")}
    cheap = SimpleNamespace(name="A", rows=(rows["a1"],))
    changed = SimpleNamespace(name="B", rows=(rows["b1"],))
    legacy = SimpleNamespace(name="C", rows=(rows["c1"],))
    stored = {"generated": "then", "experiment_runtime_s": {"A": 10.0, "B": 500.0, "C": 600.0},
              "rows": [{"id": "a1", "model": 1.5, "model_p5": 1.4, "model_p95": 1.6, "setting_hash": "A-now"},
                       {"id": "b1", "model": 2.0, "model_p5": 1.8, "model_p95": 2.2, "setting_hash": "B-then"},
                       {"id": "c1", "model": 3.0, "model_p5": 3.0, "model_p95": 3.0}]}
    (tmp_path / "results" / "validation-published-rows-old.json").write_text(json.dumps(stored))

    def measure(chosen):
        module._MEASURED.update({"a1": (1.5, "A")})
    module._measure = measure
    module._reuse("old", [cheap, changed, legacy])
    assert "b1" not in module._MEASURED                     # changed since: left to be solved
    assert module._MEASURED["c1"] == (3.0, "C (stored)")    # no hash kept: reused as before


def test_rows_of_the_cluster_benchmarks_come_from_their_stored_results(tmp_path, rows):
    """The clustered-electrode rows are solved by multi_channel.py and size_vs_time.py on 3-D grids;
    the table reads each from their stored results: its value, its band (none for a point
    temperature), the boundary deviation against the rule, and a step check marked as not made.
    Rows a benchmark does not store stay unsupported; a row the table measured itself is kept."""
    module = _published_rows_module()
    (tmp_path / "results").mkdir()
    module.shipped_folder = lambda name: tmp_path
    model = module.DEFAULT_MODEL
    multi = {"date": "2026-12-07T00:00:00", "commit": "abc" * 10, "zone_model": model, "rows": [
        {"method": "switching", "volume_ml": 180.0, "volume_band_ml": [150.0, 215.0], "centre_temperature_C": 99.0,
         "boundary_deviation_C": 0.9, "domain_warning": None},
        {"method": "simultaneous", "volume_ml": 160.0, "volume_band_ml": [140.0, 190.0], "centre_temperature_C": 53.0}]}
    series = {"date": "2026-12-07T00:00:00", "commit": "def" * 10, "zone_model": model,
              "ex_vivo_run": {"domain": {"boundary_conducted_deviation_C": 0.01, "warning": None}},
              "in_vivo_run": {"domain": {"boundary_conducted_deviation_C": 0.02, "warning": "edge in 6 mm cells"}},
              "rows": [{"id": "rfa_gcluster_exvivo_30min_diam", "model_cm": 5.6, "model_band_cm": [5.2, 6.0]},
                       {"id": "rfa_gcluster_invivo_12min_diam", "model_cm": 3.1, "model_band_cm": [2.9, 3.3]}]}
    (tmp_path / "results" / "validation-multi-channel.json").write_text(json.dumps(multi))
    (tmp_path / "results" / "validation-size-vs-time.json").write_text(json.dumps(series))
    module._MEASURED["rfa_gcluster_exvivo_30min_diam"] = (5.5, "solved here")
    module._stored_benchmark_rows(rows)
    assert module._MEASURED["rfa_3cluster_switch_vol"][0] == 180.0
    assert module._MEASURED["rfa_3cluster_switch_vol"][1].startswith("multi_channel.py (stored")
    assert module._BAND["rfa_3cluster_switch_vol"] == (150.0, 215.0)
    assert module._BAND["rfa_3cluster_switch_center_temp"] == (99.0, 99.0)
    assert module._MEASURED["rfa_gcluster_exvivo_30min_diam"] == (5.5, "solved here")
    assert module._BAND["rfa_gcluster_invivo_12min_diam"] == (2.9, 3.3)
    assert "rfa_3cluster_seq_vol" not in module._MEASURED
    # the benchmark's boundary deviation is held to the rule; the step check is named as not made
    switch = module._checks_text(module._CHECKS["rfa_3cluster_switch_vol"])
    assert switch.startswith("not converged (boundary 0.9 K")
    # a benchmark that recorded no boundary deviation: named as not checked, with no number made up
    simul = module._checks_text(module._CHECKS["rfa_3cluster_simul_vol"])
    assert simul.startswith("not checked: time step") and "boundary deviation (not recorded)" in simul
    assert "boundary not recorded" in simul and "nan" not in simul
    invivo = module._checks_text(module._CHECKS["rfa_gcluster_invivo_12min_diam"])
    assert invivo.startswith("not checked: time step") and "edge in 6 mm cells" in invivo
    # the model SD comes from the band: z combines it with the published SD
    row = next(r for r in rows if r.id == "rfa_3cluster_switch_vol")
    model_sd = (215.0 - 150.0) / (2 * module.BAND_Z)
    assert module._model_sd(row.id) == pytest.approx(model_sd)
    assert z_score(180.0, row, model_sd) == pytest.approx((180.0 - row.value) / math.hypot(row.sd, model_sd))
    # results solved under another zone model are not this table's: left out
    module = _published_rows_module()
    module.shipped_folder = lambda name: tmp_path
    (tmp_path / "results" / "validation-multi-channel.json").write_text(json.dumps({**multi, "zone_model": "older"}))
    module._stored_benchmark_rows(rows)
    assert "rfa_3cluster_switch_vol" not in module._MEASURED and "rfa_gcluster_invivo_12min_diam" in module._MEASURED

"""End to end: `ablation run` on the shipped showcase at coarse resolution, outputs, atomicity."""
import csv
import json

import numpy as np
import pytest

from ablation.input.models import DEFAULT_MODEL, PHYSIOLOGICAL_LIVER_PERFUSION
from ablation.output import write as ablation_write
from ablation.cli import main
from conftest import load_raw, write_toml


def _coarse(name="showcase.toml"):
    raw = load_raw(name)
    raw.setdefault("grid", {}).update(spacing="1 mm", max_spacing="4 mm")
    raw["time"]["step"] = "5 s"
    raw["time"]["refine"] = False   # step control: test_time_step.py
    raw.setdefault("outputs", {})["scene"] = False
    return raw


def test_showcase_runs_end_to_end(tmp_path, capsys):
    scenario = write_toml(tmp_path / "showcase.toml", _coarse())
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--no-scene"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("schema_version", "modality", "runtime_s", "heat_balance_error", "boundary_max_deviation_C",
                "provenance", "parameters"):
        assert key in summary
    assert summary["scenario"]["name"] == "showcase"
    assert summary["grid"]["kind"] == "axisymmetric" and summary["grid"]["cells"] > 100
    lesion = summary["lesion"]
    assert set(lesion) >= {"criterion", "volume_ml", "long_axis_mm", "short_axis_mm", "short_axis_2_mm", "sphericity"}
    assert lesion["volume_ml"] > 0.1 and lesion["long_axis_mm"] > lesion["short_axis_mm"] > 0
    assert summary["heat_balance_error"] < 1e-5
    # the domain is large enough: no heat from the zone reaches the boundary (the raw deviation also
    # holds the cooled shaft's cooling where it crosses the boundary, ablation/run/boundary.py)
    assert summary["boundary_conducted_deviation_C"] < 0.5
    assert summary["provenance"]["fipy"] and summary["provenance"]["numpy"]
    tissue = summary["parameters"]["properties"]["tissue"]
    # the zone model's liver perfusion, credited to it (the showcase file gives none)
    assert tissue["perfusion"]["value"] == pytest.approx(PHYSIOLOGICAL_LIVER_PERFUSION)
    assert f"zone model {DEFAULT_MODEL}" in tissue["perfusion"]["source"]
    rows = list(csv.DictReader(open(out / "timeseries.csv")))
    assert float(rows[-1]["time_s"]) == pytest.approx(720.0)
    assert {"power_W", "impedance_ohm", "tip_temperature_C"} <= set(rows[0])      # the showcase is RF
    assert summary["device"]["energy_J"] > 1e3
    tumor = summary["tumors"][0]
    assert 0.0 <= tumor["coverage"] <= 1.0 and "min_margin_mm" in tumor
    assert 0.0 <= summary["placement"]["p_technical_success"] <= 1.0
    assert (out / "fields.vtr").exists() and (out / "scenario.toml").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".partial")]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.")]


def test_axisymmetric_and_3d_runs_agree(tmp_path):
    """The same symmetric problem on both grid kinds: lesion volume within 10 % (3-D is staircased)."""
    from ablation.input.scenario import scenario_from_dict
    from ablation.run.time_loop import run
    raw = _coarse("thermal_probe.toml")
    raw["time"]["duration"] = "4 min"
    raw["domain"] = {"size": "50 mm"}
    raw["grid"].update(spacing="1 mm", max_spacing="3 mm", fine_margin="6 mm")
    # the preset's perfusion (Pennes length 4.6 mm): at the default model's 1.8e-2 1/s (2.8 mm) the
    # 1 mm cells of this coarse pair no longer resolve the zone's 0.27 mL well enough to compare
    raw["tissue"]["perfusion"] = "6.4e-3 1/s"
    results = {}
    for kind in ("axisymmetric", "3d"):
        raw["grid"]["kind"] = kind
        results[kind] = run(scenario_from_dict(raw)).summary
    a, b = results["axisymmetric"]["lesion"], results["3d"]["lesion"]
    assert b["volume_ml"] == pytest.approx(a["volume_ml"], rel=0.10)
    assert b["long_axis_mm"] == pytest.approx(a["long_axis_mm"], abs=1.5)
    assert b["short_axis_mm"] == pytest.approx(a["short_axis_mm"], abs=1.5)
    assert results["3d"]["heat_balance_error"] < 1e-5


def test_failed_run_leaves_previous_results(tmp_path, monkeypatch):
    raw = _coarse()
    raw["time"]["duration"] = "3 min"   # the folder behaviour, not the lesion, is under test
    raw.setdefault("placement", {})["resolve_check"] = 0   # its re-solves: test_coverage.py
    scenario = write_toml(tmp_path / "s.toml", raw)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--no-scene", "--quiet"]) == 0
    before = (out / "summary.json").read_text()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(ablation_write, "write_fields", boom)
    assert main(["run", str(scenario), "--out", str(out), "--no-scene", "--quiet"]) == 130
    assert (out / "summary.json").read_text() == before
    assert not [p for p in out.iterdir() if p.name.startswith(".partial")]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.")]


def test_convergence_tool(tmp_path):
    from ablation.run.convergence import convergence_study
    from ablation.input.scenario import scenario_from_dict
    raw = _coarse("thermal_probe.toml")
    raw["grid"].update(spacing="1.5 mm", max_spacing="4 mm")
    raw["time"].update(duration="3 min", step="6 s")
    report = convergence_study(scenario_from_dict(raw), levels=2)
    coarse, fine = report["levels"]
    assert fine["cells"] > 1.5 * coarse["cells"]
    assert abs(report["change_vs_finest_percent"]["volume_ml"]) < 15


def test_result_survives_pickle_and_summary_round_trips(tmp_path):
    """A Result (scenario, domain, arrays, typed summary with analyses) pickles; the summary's
    dict is what summary.json holds and reads back into an equal Summary; the analyses' entries
    can be added, the time loop's cannot be replaced."""
    import pickle
    from ablation import simulate
    from ablation.input.scenario import scenario_from_dict
    from ablation.output.reading import load_result
    from ablation.run.summary import Summary
    raw = _coarse("thermal_probe.toml")
    raw["time"]["duration"] = "2 min"
    raw.setdefault("placement", {})["samples"] = 50
    result = simulate(scenario_from_dict(raw))
    summary = result.summary
    assert isinstance(summary, Summary) and summary.placement["samples"] == 50
    assert summary.lesion.volume_ml == summary["lesion"]["volume_ml"] > 0.05
    assert summary.grid.cells == result.domain.n_cells and summary.time.steps == 24
    back = pickle.loads(pickle.dumps(result))
    assert back.summary == summary and back.summary.to_dict() == summary.to_dict()
    assert set(back.fields) == set(result.fields)
    for name, values in result.fields.items():
        assert np.array_equal(back.fields[name], values)
    assert list(back.placement_samples) == ["metastasis"]
    assert np.array_equal(back.placement_samples["metastasis"].min_margin_mm,
                          result.placement_samples["metastasis"].min_margin_mm)
    assert back.domain.n_cells == result.domain.n_cells
    with pytest.raises(KeyError):
        summary["lesion"] = {}
    # summary.json content: the dict written, read back equal
    out = ablation_write.write(result, tmp_path / "out", scene=False, report=False)
    on_disk = json.loads((out / "summary.json").read_text())
    manifest = on_disk.pop("manifest")
    assert list(on_disk) == list(summary.to_dict())
    assert manifest["algorithm"] == "sha256" and "fields.vtr" in manifest["files"]
    assert "summary.json" not in manifest["files"]
    assert Summary.from_dict(on_disk).to_dict() == on_disk
    loaded = load_result(out)
    assert loaded.summary.lesion.criterion == summary.lesion.criterion
    assert loaded.summary.placement["p_technical_success"] == pytest.approx(summary.placement["p_technical_success"])


def test_a_probe_thinner_than_the_3d_cells_is_named_in_the_warnings():
    """On a 3-D grid a probe's wall acts at its true radius (the log-law wall), but in cells wider
    than the probe the field next to it is not resolved: such a run names the probe. A probe at
    least one cell across is not named: its zone no longer depends on where its axis lies in its
    cell (tests/test_cryo.py), which was warned about while the wall was the cells' staircase."""
    import ablation
    from ablation.run.time_loop import run
    from conftest import ROOT
    base = ablation.load_scenario(ROOT / "scenarios" / "thermal_probe.toml")
    small = {"grid.kind": "3d", "domain.size": "40 mm", "time.duration": "20 s", "time.refine": False,
             "placement.enabled": False, "coverage.enabled": False}
    coarse = run(base.with_changes({**small, "grid.spacing": "2 mm", "grid.max_spacing": "4 mm"}))
    assert any("probes[0] (1.5 mm across) is thinner than the 2 mm fine cells" in w for w in coarse.summary.grid.warnings)
    fine = run(base.with_changes({**small, "grid.spacing": "1.5 mm", "grid.max_spacing": "4 mm"}))
    assert not any("probes[0]" in w for w in fine.summary.grid.warnings)


def test_thin_probes_of_one_diameter_are_named_in_one_warning():
    """A cluster of equal needles gives one thin-probe warning naming each of them; a probe of
    another diameter gets its own, and one at least a cell across is not named."""
    from types import SimpleNamespace
    from ablation.run.time_loop import probe_warnings
    probes = [SimpleNamespace(diameter=d) for d in (1.47e-3, 1.47e-3, 1.47e-3, 1.2e-3, 2.4e-3)]
    warnings = probe_warnings(SimpleNamespace(name="cluster", probes=probes), SimpleNamespace(kind="3d"), 2.0)
    assert len(warnings) == 2
    assert "probes[0], probes[1], probes[2] (1.47 mm across each) are thinner than the 2 mm" in warnings[0]
    assert "probes[3] (1.2 mm across) is thinner" in warnings[1]
    assert not any("probes[4]" in w for w in warnings)
    assert probe_warnings(SimpleNamespace(name="c", probes=probes), SimpleNamespace(kind="axisymmetric"), 2.0) == ()


def test_a_cooling_flux_past_absolute_zero_stops_as_bad_input_naming_the_field(tmp_path, capsys):
    """s41: a thermal probe's cooling heat flux (no latent heat in the thermal modality) drove the
    tissue below absolute zero and crashed in the coverage analysis with a traceback. It stops with
    exit 2 naming the schedule, and no result folder is left."""
    raw = load_raw("thermal_probe.toml")
    raw["grid"] = {"spacing": "1 mm", "max_spacing": "4 mm"}
    raw["time"].update(duration="1 min", step="5 s", refine=False)
    raw.pop("placement", None)
    raw["probes"][0]["thermal"] = {"wall": "heat_flux",
                                   "heat_flux_schedule": [["0 s", "-2e5 W/m^2"], ["1 min", "-2e5 W/m^2"]]}
    out = tmp_path / "out"
    assert main(["run", str(write_toml(tmp_path / "cold.toml", raw)), "--out", str(out), "--no-scene"]) == 2
    err = capsys.readouterr().err
    assert "probes[0].thermal.heat_flux_schedule: the tissue temperature became" in err and "Traceback" not in err
    assert "below absolute zero" in err and "modality 'cryo'" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["cold.toml"]

"""The Python API: load, change, simulate and write a scenario exactly as the command line does."""
from __future__ import annotations

import copy
import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ablation
from ablation.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
# what legitimately differs between two runs of the same scenario
VOLATILE = {"runtime_s", "timing_s", "provenance", "manifest"}   # manifest: hashes of PNG/VTR bytes


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_import_alone_loads_the_showcase(tmp_path):
    """`import ablation` and nothing else, in a fresh interpreter, from another folder."""
    code = f"import ablation; s = ablation.load_scenario({str(SCENARIOS / 'showcase.toml')!r}); print(s.name, s.placement.approach)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["showcase", "percutaneous"]


@pytest.mark.parametrize("name", ["thermal_probe.toml", "compare_approaches.toml"])
def test_simulate_and_write_give_the_command_lines_summary(tmp_path, name):
    path = SCENARIOS / name
    scenario = ablation.load_scenario(path)
    if name == "compare_approaches.toml":      # fewer samples: the comparison is of the two paths
        scenario = scenario.with_changes({"placement.samples": 300})
        changed = tmp_path / name
        import tomli_w
        changed.write_text(tomli_w.dumps(scenario.raw))
        path = changed
    api_dir, cli_dir = tmp_path / "api", tmp_path / "cli"
    ablation.write(ablation.simulate(scenario), api_dir, scene=False)
    assert main(["run", str(path), "--out", str(cli_dir), "--no-scene", "--quiet"]) == 0
    api = json.loads((api_dir / "summary.json").read_text())
    cli = json.loads((cli_dir / "summary.json").read_text())
    assert _stable(api) == _stable(cli)
    assert "tumors" in api and api["lesion"]["volume_ml"] > 0
    if name == "compare_approaches.toml":
        assert api["placement"]["samples"] == 300
    assert sorted(p.name for p in api_dir.iterdir()) == sorted(p.name for p in cli_dir.iterdir())


def test_scenario_survives_pickle_and_deepcopy():
    scenario = ablation.load_scenario(SCENARIOS / "showcase.toml")
    for copied in (pickle.loads(pickle.dumps(scenario)), copy.deepcopy(scenario)):
        assert isinstance(copied, ablation.Scenario)
        assert copied == scenario
        assert copied.source == scenario.source and copied.raw == scenario.raw
        assert copied.probes[0].rfa.electrode == scenario.probes[0].rfa.electrode
    with pytest.raises(TypeError):
        scenario.name = "changed"


def test_with_changes_revalidates_and_names_the_field():
    scenario = ablation.load_scenario(SCENARIOS / "thermal_probe.toml")
    original = scenario.tissue.perfusion
    changed = scenario.with_changes({"tissue.perfusion": "0.0036 1/s", "probes[0].tip": [0, 0, 2]})
    assert changed.tissue.perfusion == pytest.approx(0.0036)
    assert changed.probes[0].tip == pytest.approx((0.0, 0.0, 0.002))
    assert scenario.tissue.perfusion == original      # the original is untouched
    with pytest.raises(ablation.ScenarioError) as info:
        scenario.with_changes({"tissue.perfusion": "-1 1/s"})
    assert info.value.errors[0][0] == "tissue.perfusion"
    with pytest.raises(ablation.ScenarioError) as info:
        scenario.with_changes({"tissue.perfusion": "0.003"})
    assert info.value.errors[0][0] == "tissue.perfusion" and "unit" in info.value.errors[0][1]
    with pytest.raises(ablation.ScenarioError) as info:
        scenario.with_changes({"tissue.colour": "red"})
    assert info.value.errors[0][0] == "tissue.colour"
    with pytest.raises(ablation.ScenarioError) as info:
        scenario.with_changes({"probes[3].tip": [0, 0, 0]})
    assert info.value.errors[0][0] == "probes[3].tip"


def test_a_changed_parameter_changes_the_run():
    """Changing perfusion from Python reaches the solver (it did not, before the restructuring)."""
    base = ablation.load_scenario(SCENARIOS / "thermal_probe.toml").with_changes(
        {"time.duration": "2 min", "time.refine": False, "grid.spacing": "1 mm", "grid.max_spacing": "4 mm", "placement.enabled": False})
    still = ablation.simulate(base.with_changes({"tissue.perfusion": "0 1/s"})).summary["lesion"]["volume_ml"]
    perfused = ablation.simulate(base.with_changes({"tissue.perfusion": "0.018 1/s"})).summary["lesion"]["volume_ml"]
    assert 0 < perfused < still


def test_result_survives_pickle():
    scenario = ablation.load_scenario(SCENARIOS / "thermal_probe.toml").with_changes(
        {"time.duration": "1 min", "time.refine": False, "grid.spacing": "1 mm", "grid.max_spacing": "4 mm", "placement.enabled": False})
    result = ablation.simulate(scenario)
    copied = pickle.loads(pickle.dumps(result))
    assert copied.summary == result.summary
    assert set(copied.fields) == set(result.fields)
    assert all(np.array_equal(copied.fields[k], result.fields[k]) for k in result.fields)
    assert copied.domain.n_cells == result.domain.n_cells


def test_moved_key_still_loads_and_says_where_it_went(caplog):
    raw = {"name": "old", "modality": "rfa", "rfa": {"preconditioner": "lu"},
           "probes": [{"tip": [0, 0, 0]}], "time": {"duration": "10 s"}}
    with caplog.at_level(logging.WARNING, logger="ablation"):
        scenario = ablation.scenario_from_dict(raw)
    assert scenario.solver.electric_preconditioner == "lu"
    assert "rfa.preconditioner moved to solver.electric_preconditioner" in caplog.text


def test_the_api_names_the_type_it_expected(tmp_path):
    """A wrong argument to the four calls is a TypeError saying what was expected, not an
    AttributeError from deep inside (a path given to simulate, a list given to with_changes)."""
    scenario = ablation.load_scenario(SCENARIOS / "thermal_probe.toml")
    with pytest.raises(TypeError, match=r"expected a Scenario \(a file: ablation.load_scenario\(path\) first\); got str"):
        ablation.simulate(str(SCENARIOS / "thermal_probe.toml"))
    with pytest.raises(TypeError, match=r"ablation.scenario_from_dict\(table\) first\); got dict"):
        ablation.simulate(dict(scenario.raw))
    with pytest.raises(TypeError, match="with_changes: expected a mapping of dotted field paths.*got list"):
        scenario.with_changes(["tissue.perfusion"])
    with pytest.raises(TypeError, match="write: expected the Result of ablation.simulate; got Scenario"):
        ablation.write(scenario, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_simulate_refuses_a_run_beyond_the_memory_budget_before_solving():
    """The command line checks the memory budget before it starts; simulate() does too, so a
    script is refused at once instead of meeting a MemoryError after the solve."""
    scenario = ablation.load_scenario(SCENARIOS / "thermal_probe.toml").with_changes(
        {"coverage.margin_points": 10**15})
    with pytest.raises(ablation.ScenarioError) as info:
        ablation.simulate(scenario)
    assert [path for path, _ in info.value.errors] == ["coverage.margin_points"]
    assert "the memory budget" in info.value.errors[0][1]

"""Time-step error control (ablation.run.time_loop): every run estimates the time-discretisation
error of its lesion (Richardson, against the run at twice the step), within a factor of 3 of the
error measured against a run at one-eighth the step; a step whose error exceeds the tolerance warns;
the opt-in adaptive stepping keeps a thermal lesion within the tolerance of the fine run; the t = 0
row holds the initial state."""
import logging
import math

import numpy as np
import pytest

import ablation
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent   # the scenarios of the source tree (tests also run from elsewhere)
from ablation.modalities.protocols import ImpedanceControl, LeVeen, RolloffDetector
from ablation.run.time_loop import run

RF_SMALL = {"grid.spacing": "1 mm", "grid.max_spacing": "6 mm", "grid.fine_margin": "8 mm", "domain.size": "60 mm",
            "time.duration": "2 min", "time.output_interval": "1 min"}
CRYO_SMALL = {"grid.spacing": "1 mm", "grid.max_spacing": "6 mm", "grid.fine_margin": "12 mm",
              "domain.size": "60 mm", "time.duration": "4 min", "time.output_interval": "2 min",
              "damage.criterion": "min_temperature:-20",
              "cryo.protocol": [{"phase": "freeze", "duration": "150 s"}, {"phase": "passive_thaw", "duration": "40 s"},
                                {"phase": "freeze", "duration": "50 s"}]}


def _rf(**time):
    base = ablation.load_scenario(ROOT / "scenarios/rfa_cooltip_perfused.toml").with_changes(RF_SMALL)
    return base.with_changes({f"time.{k}": v for k, v in time.items()})


def _cryo(**time):
    base = ablation.load_scenario(ROOT / "scenarios/cryo_17g_perfused.toml").with_changes(CRYO_SMALL)
    return base.with_changes({f"time.{k}": v for k, v in time.items()})


@pytest.fixture(scope="module")
def rf_runs():
    return {"reference": run(_rf(step="0.125 s")), "default": run(_rf()), "fixed_huge": run(_rf(step="60 s"))}


@pytest.fixture(scope="module")
def cryo_runs():
    return {"reference": run(_cryo(step="0.25 s")), "default": run(_cryo()), "fixed_huge": run(_cryo(step="80 s"))}


def _volume(result):
    return result.summary["lesion"]["volume_ml"]


def test_opt_in_adaptive_steps_keep_the_lesion_within_tolerance():
    """A thermal probe heating unperfused liver: adaptive steps from a 10x larger first step land
    within 2 % of the volume of a run at one-eighth the default step."""
    base = ablation.load_scenario(ROOT / "scenarios/thermal_probe.toml").with_changes(
        {"time.duration": "2 min", "grid.spacing": "1 mm", "grid.max_spacing": "4 mm", "tissue.perfusion": "0 1/s",
         "placement.enabled": False})
    reference = run(base.with_changes({"time.step": "0.25 s"}))
    adaptive = run(base.with_changes({"time.step": "20 s", "time.adaptive": True}))
    time = adaptive.summary["time"]
    assert time["adaptive"] and time["min_step_s"] < time["max_step_s"]
    assert abs(_volume(adaptive) - _volume(reference)) / _volume(reference) < 0.02
    assert time["warnings"] == []


@pytest.mark.parametrize("runs", ["rf_runs", "cryo_runs"])
def test_error_estimate_within_factor_3_of_measured(runs, request):
    """The estimate against the measured error wherever the measured error is resolvable (more than
    a few cells' worth of the 1/8-step run's volume).

    Known limit, measured here: for cryo, an 80 s fixed step that straddles the protocol's phase
    boundaries (150/40/50 s) is under-estimated 13x (0.047 vs 0.63 mL), because the comparison run
    at twice the step straddles them differently; that case is checked for its warning only (below)."""
    r = request.getfixturevalue(runs)
    ref = _volume(r["reference"])
    checked = 0
    for key in ("default", "fixed_huge") if runs == "rf_runs" else ("default",):
        measured = abs(_volume(r[key]) - ref)
        estimate = r[key].summary["time"]["lesion_volume_error_estimate_ml"]
        if measured < 0.005 * ref:
            assert estimate < 0.02 * ref
            continue
        assert measured / 3.0 <= estimate <= 3.0 * measured, (key, estimate, measured)
        checked += 1
    assert checked >= (1 if runs == "rf_runs" else 0)


@pytest.mark.parametrize("runs", ["rf_runs", "cryo_runs"])
def test_huge_fixed_step_warns(runs, request):
    r = request.getfixturevalue(runs)
    time = r["fixed_huge"].summary["time"]
    ref = _volume(r["reference"])
    assert not time["adaptive"]
    assert abs(_volume(r["fixed_huge"]) - ref) / ref > 0.02
    assert time["lesion_volume_error_estimate"] > 0.02
    assert len(time["warnings"]) == 1 and "adaptive" in time["warnings"][0]


def test_warning_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="ablation.run.time_loop"):
        result = run(_rf(step="60 s", adaptive=False, duration="1 min"))
    assert result.summary["time"]["warnings"]
    assert any("time-discretisation error" in rec.getMessage() for rec in caplog.records)


def test_initial_row_holds_the_initial_state(rf_runs, cryo_runs):
    ts = rf_runs["default"].timeseries
    assert ts["time_s"][0] == 0.0
    assert ts["max_temperature_C"][0] == pytest.approx(37.0) and ts["power_W"][0] == 0.0
    assert ts["lesion_volume_ml"][0] == 0.0 and ts["cg_iterations"][0] == 0
    assert ts["power_W"][1] > 0.0 and math.isfinite(ts["impedance_ohm"][0])
    assert all(len(v) == len(ts["time_s"]) for v in ts.values())
    ts = cryo_runs["default"].timeseries
    assert ts["probe1_wall_C"][0] == pytest.approx(37.0) and ts["probe1_power_W"][0] == 0.0
    assert ts["iceball_volume_ml"][0] == 0.0 and ts["probe1_wall_C"][1] < 37.0


def test_controllers_report_their_events():
    c = ImpedanceControl(200.0, off_time=15.0, ramp_time=10.0, detector=RolloffDetector(rise=30.0))
    assert c.next_event(0.0) == 10.0 and c.next_event(12.0) == math.inf
    c.power(20.0, 1.0, 100.0, 50.0)                 # baseline 100 ohm
    assert not c.rolloff_pending(21.0, 125.0) and c.rolloff_pending(21.0, 131.0)
    assert c.power(21.0, 1.0, 131.0, 50.0) == 0.0   # roll-off: off until 36 s
    assert c.next_event(21.0) == pytest.approx(36.0) and not c.powered(30.0) and c.powered(36.0)
    lv = LeVeen(100.0, window=300.0, max_time=900.0)
    assert lv.next_event(0.0) == 300.0 and lv.next_event(400.0) == 900.0

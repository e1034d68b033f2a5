"""Time-step error control (ablation.run.time_loop): adaptive steps keep the lesion volume within
the tolerance of a run at one-eighth the step, even from a 10x larger first step; the reported
error estimate is within a factor of 3 of the measured error; a large fixed step warns; roll-offs
and protocol phase boundaries are not stepped over; the t = 0 row holds the initial state."""
import logging
import math

import numpy as np
import pytest

import ablation
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
    base = ablation.load_scenario("scenarios/rfa_cooltip_perfused.toml").with_changes(RF_SMALL)
    return base.with_changes({f"time.{k}": v for k, v in time.items()})


def _cryo(**time):
    base = ablation.load_scenario("scenarios/cryo_17g_perfused.toml").with_changes(CRYO_SMALL)
    return base.with_changes({f"time.{k}": v for k, v in time.items()})


@pytest.fixture(scope="module")
def rf_runs():
    return {"reference": run(_rf(step="0.125 s", adaptive=False)), "default": run(_rf()),
            "coarse_start": run(_rf(step="10 s")), "fixed_huge": run(_rf(step="60 s", adaptive=False))}


@pytest.fixture(scope="module")
def cryo_runs():
    return {"reference": run(_cryo(step="0.25 s", adaptive=False)), "default": run(_cryo()),
            "coarse_start": run(_cryo(step="20 s")), "fixed_huge": run(_cryo(step="80 s", adaptive=False))}


def _volume(result):
    return result.summary["lesion"]["volume_ml"]


@pytest.mark.parametrize("runs", ["rf_runs", "cryo_runs"])
def test_adaptive_volume_within_tolerance_of_eighth_step(runs, request):
    r = request.getfixturevalue(runs)
    ref = _volume(r["reference"])
    assert ref > 0.1
    for key in ("default", "coarse_start"):
        time = r[key].summary["time"]
        assert time["adaptive"] and time["tolerance"] == pytest.approx(0.02)
        assert abs(_volume(r[key]) - ref) / ref < 0.02, (key, _volume(r[key]), ref)
        assert time["warnings"] == []
        assert time["steps"] > 0 and time["min_step_s"] <= time["max_step_s"]


@pytest.mark.parametrize("runs", ["rf_runs", "cryo_runs"])
def test_error_estimate_within_factor_3_of_measured(runs, request):
    """The estimate against the measured error wherever the measured error is resolvable (more than
    a few cells' worth of the 1/8-step run's volume); the huge fixed step always is."""
    r = request.getfixturevalue(runs)
    ref = _volume(r["reference"])
    checked = 0
    for key in ("default", "coarse_start", "fixed_huge"):
        measured = abs(_volume(r[key]) - ref)
        estimate = r[key].summary["time"]["lesion_volume_error_estimate_ml"]
        if measured < 0.005 * ref:
            assert estimate < 0.02 * ref
            continue
        assert measured / 3.0 <= estimate <= 3.0 * measured, (key, estimate, measured)
        checked += 1
    assert checked >= 1


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


def test_rolloffs_resolved_to_the_generator_resolution(rf_runs):
    """The cut steps place each roll-off within ~1 s of the fine run's, from a 10 s first step."""
    ref = rf_runs["reference"].summary["device"]["rolloffs"]["times_s"]
    assert len(ref) >= 1
    for key in ("default", "coarse_start"):
        got = rf_runs[key].summary["device"]["rolloffs"]["times_s"]
        assert len(got) == len(ref)
        assert np.max(np.abs(np.asarray(got) - np.asarray(ref))) <= 2.0
    # power is off for exactly off_time after each roll-off: a row sits at the restart
    times = np.asarray(rf_runs["coarse_start"].timeseries["time_s"])
    for t_off in rf_runs["coarse_start"].summary["device"]["rolloffs"]["times_s"]:
        if t_off + 15.0 < 120.0:
            assert np.min(np.abs(times - (t_off + 15.0))) < 1e-6


def test_cryo_steps_end_at_phase_boundaries_and_ramp_end(cryo_runs):
    times = np.asarray(cryo_runs["coarse_start"].timeseries["time_s"])
    for boundary in (30.0, 150.0, 180.0, 190.0, 220.0):   # ramp ends (30 s after each freeze start), phases
        assert np.min(np.abs(times - boundary)) < 1e-6, boundary


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

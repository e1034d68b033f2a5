"""Time-step error control (ablation.run.time_loop): with default settings a run checks its step
against runs at 2x and 4x the step (Richardson) and halves it while the lesion volume's estimated
error exceeds 2 %, so that even a step 10x the default lands within 2 % of a run at one-eighth the
default step, with an estimate within a factor of 3 of the measured error; with refine = false the
step is kept and a warning given; roll-offs are located, not stepped over; the t = 0 row holds the
initial state."""
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
    return {"reference": run(_rf(step="0.125 s", refine=False)), "default": run(_rf()),
            "tenfold": run(_rf(step="10 s")), "fixed_huge": run(_rf(step="60 s", refine=False))}


@pytest.fixture(scope="module")
def cryo_runs():
    return {"reference": run(_cryo(step="0.25 s", refine=False)), "default": run(_cryo()),
            "tenfold": run(_cryo(step="20 s")), "fixed_huge": run(_cryo(step="80 s", refine=False))}


def _volume(result):
    return result.summary["lesion"]["volume_ml"]


def test_opt_in_adaptive_steps_keep_the_lesion_within_tolerance():
    """A thermal probe heating unperfused liver: adaptive steps from a 10x larger first step land
    within 2 % of the volume of a run at one-eighth the default step."""
    base = ablation.load_scenario(ROOT / "scenarios/thermal_probe.toml").with_changes(
        {"time.duration": "2 min", "grid.spacing": "1 mm", "grid.max_spacing": "4 mm", "tissue.perfusion": "0 1/s",
         "placement.enabled": False})
    reference = run(base.with_changes({"time.step": "0.25 s", "time.refine": False}))
    adaptive = run(base.with_changes({"time.step": "20 s", "time.adaptive": True}))
    time = adaptive.summary["time"]
    assert time["adaptive"] and time["min_step_s"] < time["max_step_s"]
    assert abs(_volume(adaptive) - _volume(reference)) / _volume(reference) < 0.02
    assert time["warnings"] == []


@pytest.mark.parametrize("runs", ["rf_runs", "cryo_runs"])
@pytest.mark.parametrize("key", ["default", "tenfold"])
def test_default_control_keeps_the_volume_within_tolerance(runs, key, request):
    """Default settings, from the default step and from a 10x larger one: the kept run is within
    2 % of the 1/8-step run, and its estimate is within a factor of 3 of that measured error
    (or, where the measured error is below a few tenths of a percent, itself under 1 %; where the
    volume turned back between the runs at h, 2h and 4h, an upper bound of it under the tolerance)."""
    r = request.getfixturevalue(runs)
    ref = _volume(r["reference"])
    time = r[key].summary["time"]
    measured = abs(_volume(r[key]) - ref)
    estimate = time["lesion_volume_error_estimate_ml"]
    assert measured / ref < 0.02, (key, _volume(r[key]), ref)
    assert time["warnings"] == [] and time["lesion_volume_error_estimate"] <= 0.02
    if not time["lesion_volume_error_asymptotic"]:   # the volume turned back: the swing bounds the error
        assert measured <= estimate <= 0.02 * ref, (key, estimate, measured)
    elif measured < 0.003 * ref:
        assert estimate < 0.01 * ref
    else:
        assert measured / 3.0 <= estimate <= 3.0 * measured, (key, estimate, measured)
    if key == "tenfold":   # the step asked for and any halvings are reported
        assert time["requested_step_s"] == pytest.approx(10 * r["default"].summary["time"]["requested_step_s"])
        assert time["step_s"] == pytest.approx(time["requested_step_s"] / 2 ** time["halvings"])
        if runs == "cryo_runs":   # nothing else limits the cryo step: it had to be halved
            assert time["halvings"] >= 1
        else:                     # RF: steps while powered are limited to the generator's control interval
            assert time["min_step_s"] <= 0.25 + 1e-9 and time["max_step_s"] > 2.0


@pytest.mark.parametrize("runs", ["cryo_runs"])
def test_huge_fixed_step_warns(runs, request):
    """refine = false keeps the asked-for step: a step far too long is reported, not hidden. (RF
    steps while the generator is on are limited to its control interval whatever the step asked
    for: see test_rolloffs_are_located_not_stepped_over.)"""
    r = request.getfixturevalue(runs)
    time = r["fixed_huge"].summary["time"]
    ref = _volume(r["reference"])
    assert not time["adaptive"] and time["halvings"] == 0 and time["refine"] is False
    assert abs(_volume(r["fixed_huge"]) - ref) / ref > 0.02
    assert time["lesion_volume_error_estimate"] > 0.02
    assert len(time["warnings"]) == 1 and "refine = false" in time["warnings"][0]


@pytest.mark.parametrize("runs, make, step", [("rf_runs", _rf, "10 s"), ("cryo_runs", _cryo, "20 s")])
def test_one_integration_at_a_checked_runs_halvings_repeats_its_kept_run(runs, make, step, request):
    """run(halvings=n) integrates once at the step a checked run kept (its step and the model's
    step limits halved n times, as the moved-tumour check re-solves): the same temperatures, steps
    and lesion as that kept run, and no error estimate of its own. The cryo run was halved 3 times."""
    checked = request.getfixturevalue(runs)["tenfold"]
    time = checked.summary["time"]
    if runs == "cryo_runs":
        assert time["halvings"] == 3      # so the step limits' halving is exercised too
    once = run(make(step=step), halvings=time["halvings"])
    again = once.summary["time"]
    assert (again["step_s"], again["steps"], again["halvings"]) == (time["step_s"], time["steps"], time["halvings"])
    np.testing.assert_allclose(once.fields["temperature_C"], checked.fields["temperature_C"], rtol=0, atol=1e-9)
    assert _volume(once) == pytest.approx(_volume(checked), rel=1e-12)
    assert again["lesion_volume_error_estimate"] is None and again["refine"] is False and again["warnings"] == []


def test_rolloffs_are_located_not_stepped_over(rf_runs):
    """A 60 s step still switches the generator off at each roll-off, located to 0.02 s: the pulses,
    the energy and the hottest temperature stay close to the fine run's (one step over them
    reached 829 degC before)."""
    fine, huge = rf_runs["reference"].summary["device"], rf_runs["fixed_huge"].summary["device"]
    assert huge["rolloffs"]["count"] >= 1 and rf_runs["fixed_huge"].summary["time"]["event_cuts"] >= 1
    assert huge["max_temperature_C"] < 400.0
    assert abs(huge["energy_J"] - fine["energy_J"]) / fine["energy_J"] < 0.05
    assert huge["rolloffs"]["count"] == fine["rolloffs"]["count"]
    assert abs(_volume(rf_runs["fixed_huge"]) - _volume(rf_runs["reference"])) / _volume(rf_runs["reference"]) < 0.02


def test_warning_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="ablation.run.time_loop"):
        result = run(_cryo(step="80 s", refine=False))
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

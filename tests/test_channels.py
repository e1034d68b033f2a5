"""Several electrode channels on one RF generator: simultaneous, sequential and switching delivery
(ablation/modalities/channels.py), the floating electrodes of inactive channels, and their input
checks."""

import numpy as np
import pytest

from ablation.cli import main
from ablation.run.setup import scenario_domain as build_domain
from ablation.modalities import channels, protocols, rfa
from ablation.modalities.base import cell_properties
from ablation.run.time_loop import run
from conftest import coarse_rfa as coarse, write_rfa_file


# ----------------------------------------------------------------------------- controllers alone
def test_probe_channels_group_numbers_and_give_unnumbered_probes_their_own():
    assert channels.probe_channels("switching", [None, None, None]) == [0, 1, 2]
    assert channels.probe_channels("switching", [2, 1, 2, None]) == [1, 0, 1, 2]
    assert channels.probe_channels("simultaneous", [2, 1, None]) == [0, 0, 0]


def test_switching_moves_on_at_rolloff_and_after_the_dwell_time():
    """Scripted impedances: channel 0 rolls off at t = 10 s (rests 15 s), channel 1 never does and
    is left after its 30 s dwell; channel 0, rested, takes over at 40 s."""
    law = channels.Switching(100.0, channels=2, switch_time=30.0, off_time=15.0, rise=30.0)

    def impedance(t):
        return lambda c: 150.0 if (c == 0 and 9.5 < t < 10.5) else 60.0
    chosen = {}
    for t in np.arange(0.0, 75.0, 0.5):
        chosen[float(t)] = law.select(float(t), impedance(t))
        assert law.power(float(t), 0.5, 60.0, 37.0) == 100.0
    assert chosen[0.0] == 0 and chosen[9.5] == 0
    assert chosen[10.0] == 1                  # roll-off of channel 0: moved at once
    assert law.rolloff_times == [10.0] and law.channel_rolloffs() == [1, 0]
    assert law.resting_until[0] == 25.0
    assert chosen[39.5] == 1 and chosen[40.0] == 0   # 30 s on channel 1, then back to channel 0
    assert chosen[70.0] == 1
    # the dwell end and the rest end are events the time loop steps to
    assert law.next_event(71.0) == 100.0     # channel 1 since 70 s


def test_switching_is_off_while_every_channel_rests():
    """Each channel's baseline is its own first measurement: channel 1 starts at 60 ohm although
    channel 0 has just rolled off at 100."""
    law = channels.Switching(50.0, channels=2, switch_time=30.0, off_time=15.0, rise=30.0)
    assert law.select(0.0, lambda c: 60.0) == 0
    assert law.select(1.0, lambda c: {0: 100.0, 1: 60.0}[c]) == 1     # 0 rolls off -> 1
    assert law.select(2.0, lambda c: 100.0) is None                   # 1 rolls off too: both rest
    assert law.power(2.0, 0.5, 100.0, 37.0) == 0.0
    assert not law.powered(3.0) and law.next_event(3.0) == 16.0
    assert law.select(16.0, lambda c: 60.0) == 0                      # channel 0 rested first


def test_sequential_runs_each_channel_on_its_own_clock():
    prototype = protocols.ImpedanceControl(80.0, off_time=15.0, detector=protocols.RolloffDetector(rise=30.0))
    law = channels.Sequential(prototype, channels=3, channel_time=60.0)
    assert [law.select(t, None) for t in (0.0, 59.9, 60.0, 150.0, 180.0)] == [0, 0, 1, 2, None]
    # a roll-off of channel 1 at 70 s switches the generator off until 85 s, channel 1's law only
    law.select(70.0, None)
    law.power(70.0, 0.25, 50.0, 37.0)
    assert law.power(70.0, 0.25, 100.0, 37.0) == 0.0
    assert law.rolloff_times == [70.0] and law.channel_rolloffs() == [0, 1, 0]
    assert law.next_event(71.0) == 85.0 and not law.powered(80.0)
    assert law.next_event(100.0) == 120.0                 # the next channel's turn
    assert law.power(180.0, 1.0, 50.0, 37.0) == 0.0       # after the last channel: off


# ----------------------------------------------------------------------------- electrodes
def two_needles(**changes):
    """Two cooled needles 14 mm apart on a coarse 3-D grid, each its own channel."""
    probes = [{"tip": [x, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "10 mm",
               "rfa": {"electrode": "cooled_needle"}} for x in (-7, 7)]
    base = dict(probes=probes, grid={"kind": "3d", "spacing": "1 mm", "max_spacing": "5 mm", "fine_margin": "3 mm",
                                     "growth": 1.5},
                domain={"size": "40 mm", "center": [0, 0, 5]},
                rfa={"protocol": "impedance_control", "power": "40 W", "activation": "switching"},
                time={"duration": "40 s", "step": "2 s", "refine": False})
    for key, value in changes.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    return coarse(**base)


def _model(scenario):
    domain = build_domain(scenario)
    return rfa.Model(scenario, domain, cell_properties(scenario, domain)), domain


def test_floating_electrode_carries_no_net_current_and_lowers_the_impedance():
    model, domain = _model(two_needles())
    assert model.channels == 2 and domain.kind == "3d"
    T = np.full(domain.n_cells, 37.0)
    sigma = model.electrical_conductivity(T, 0)
    floating = model.channel_electrode[1]
    assert np.all(sigma[floating] == channels.FLOATING_ELECTRODE_CONDUCTIVITY)
    unit = model.electric_channels[0].solve_unit(sigma)
    # the floating needle is one equipotential (to 1e-3 of its potential) ...
    phi = unit.phi[floating]
    assert np.ptp(phi) < 1e-3 * phi.mean() and 0.01 < phi.mean() < 0.5   # 14 mm away: measured 0.059 V
    # ... through which as much current leaves as enters: the resistor power at its faces sums to ~0
    solver = model.electric_channels[0]
    g = solver.geometry
    p, q = g.face_cell_1, g.face_cell_2
    crossing = (floating[p] != floating[q]) & solver.free[p] & solver.free[q]   # not into the insulating shaft
    s_face = 2 * sigma[p] * sigma[q] / (sigma[p] + sigma[q])
    current_in = s_face * g.face_area / g.face_distance * (unit.phi[p] - unit.phi[q])
    current_in = np.where(floating[q], current_in, -current_in)[crossing]
    assert abs(current_in.sum()) < 1e-4 * np.abs(current_in).sum()
    # a conductor in the field shortens the current's path: lower impedance than tissue in its place
    tissue = model.electrical_conductivity(T, 0)
    tissue[floating] = model.electrical_conductivity(T, 1)[floating]
    assert model.electric_channels[0].solve_unit(tissue).impedance > unit.impedance
    # mirror-symmetric needles: either channel sees the same impedance (two independent solves)
    other = model.electric_channels[1].solve_unit(model.electrical_conductivity(T, 1))
    assert abs(other.impedance / unit.impedance - 1) < 0.02


@pytest.fixture(scope="module")
def switching_run():
    return run(two_needles())


def test_switching_run_shares_the_energy_between_channels(switching_run):
    r = switching_run
    d = r.summary["device"]
    delivery = d["delivery"]
    assert delivery["activation"] == "switching" and delivery["probe_channels"] == [1, 2]
    per_channel = delivery["energy_J_per_channel"]
    assert abs(sum(per_channel) / d["energy_J"] - 1) < 1e-9
    assert min(per_channel) > 0.2 * d["energy_J"]          # both needles heated
    channel = np.asarray(r.timeseries["channel"])
    power = np.asarray(r.timeseries["power_W"])
    assert set(np.unique(channel)) <= {0, 1, 2} and {1, 2} <= set(np.unique(channel))
    assert np.all(power[channel == 0][1:] == 0.0)
    # symmetric needles, symmetric lesion about x = 0: both sides heated
    assert d["max_temperature_C"] > 60.0
    assert sum(delivery["rolloffs_per_channel"]) == d["rolloffs"]["count"]


def test_sequential_run_heats_one_channel_after_the_other():
    r = run(two_needles(rfa={"activation": "sequential"}))
    channel = np.asarray(r.timeseries["channel"])
    time = np.asarray(r.timeseries["time_s"])
    assert np.all(channel[(time > 0) & (time <= 20.0 - 1e-9)] <= 1)
    assert np.all(channel[time > 20.0 + 1e-9] != 1)
    per_channel = r.summary["device"]["delivery"]["energy_J_per_channel"]
    assert min(per_channel) > 0.5 * 40.0 * 20.0      # each at 40 W for over half its 20 s
    # mirror-image needles, same law: each channel sees the same impedance over the first 5 s of its
    # turn, within 3 % (measured 1.9 %: the idle needle next to warm tissue). Not the energies: each
    # turn ends at a roll-off whose time the noisy impedance of vaporising cells sets to a second or
    # two, i.e. 5-10 % of a turn's energy.
    impedance = np.asarray(r.timeseries["impedance_ohm"])
    first = (channel == 1) & (time > 0) & (time <= 5.0 + 1e-9)
    second = (channel == 2) & (time > 20.0) & (time <= 25.0 + 1e-9)
    mirrored = np.interp(time[first], time[second] - 20.0, impedance[second])
    assert np.max(np.abs(mirrored / impedance[first] - 1)) < 0.03


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("lines, probes, field", [
    ('activation = "switching"', 1, "rfa.activation"),
    ('activation = "sequential"\nprotocol = "constant_power"', 1, "rfa.activation"),
    ('activation = "switching"\nprotocol = "temperature_control"', 2, "rfa.protocol"),
    ('activation = "sequential"\nchannel_time = "90 s"', 2, "rfa.channel_time"),
    ('activation = "teleport"', 2, "rfa.activation"),
    ('activation = "switching"\nswitch_time = "0 s"', 2, "rfa.switch_time"),
])
def test_impossible_channel_settings_exit_2_and_name_the_field(tmp_path, capsys, lines, probes, field):
    assert main(["validate", str(write_rfa_file(tmp_path, lines, probes, "2 min"))]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err


def test_probe_channel_must_be_positive(tmp_path, capsys):
    path = str(write_rfa_file(tmp_path, 'activation = "switching"', 2, "2 min"))
    text = open(path).read().replace('electrode = "cooled_needle"', 'electrode = "cooled_needle"\nchannel = 0', 1)
    open(path, "w").write(text)
    assert main(["validate", path]) == 2
    assert "probes[0].rfa.channel" in capsys.readouterr().err


def test_report_lists_energy_and_rolloffs_per_channel():
    from ablation.output.report import Doc, _results_section
    doc = Doc()
    summary = {"lesion": {"criterion": "arrhenius", "volume_ml": 10.0},
               "device": {"energy_J": 3000.0, "delivery": {
                   "activation": "switching", "channels": 2, "probe_channels": [1, 2, 2],
                   "energy_J_per_channel": [1000.0, 2000.0], "rolloffs_per_channel": [3, 4]}}}
    _results_section(doc, summary)
    md = "".join(doc.md)
    assert "switching delivery over 2 generator channels" in md
    # channel, its probes (1-based), energy in kJ, roll-offs
    assert "| 1 | 1 | 1 | 3 |" in md and "| 2 | 2, 3 | 2 | 4 |" in md


def test_parity_plot_draws_the_cluster_benchmark_rows_apart(tmp_path):
    """Rows the published-rows table read from the cluster benchmarks (``from_benchmark``) are their
    own group in the parity plot, whatever their role; the others group by role."""
    from ablation.output.plots import _parity_group, plot_parity
    rows = [{"id": "a", "role": "train", "published": 10.0, "sd_used": 1.0, "model": 11.0},
            {"id": "b", "role": "held_out", "published": 20.0, "sd_used": 2.0, "model": 15.0,
             "model_p5": 12.0, "model_p95": 18.0},
            {"id": "c", "role": "held_out", "published": 22.3, "sd_used": 6.4, "model": 170.0,
             "model_p5": 140.0, "model_p95": 210.0, "from_benchmark": "multi_channel.py (stored ...)"}]
    assert [_parity_group(r) for r in rows] == ["train", "held_out", "held_out_benchmark"]
    plot = plot_parity({"rows": rows, "model": "test"}, tmp_path / "parity.png")
    assert plot is not None and (tmp_path / "parity.png").stat().st_size > 10_000

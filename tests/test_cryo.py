"""Cryoablation: enthalpy model, freezing fronts against closed forms, power-limited probes,
freeze-thaw protocols, probe curves from CSV, and scenario errors (exit 2 with a named field)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ablation.verification import analytic as an
from ablation.modalities import cryo
from ablation.physics.bioheat import TabulatedEnthalpy
from ablation.physics.enthalpy import freezing_table
from ablation.cli import main
from ablation.verification.cryo1d import FreezingProperties, front_position, line_domain, run_freezing, uniform_edges
from ablation.input.scenario import ScenarioError, load_scenario, scenario_from_dict

LIVER = dict(rho=1079.0, c_u=3540.0, c_f=1800.0, latent=250e6, solidus=-8.0, liquidus=-1.0)


def _storage():
    table = freezing_table(LIVER["rho"], LIVER["c_u"], LIVER["c_f"], LIVER["latent"], LIVER["solidus"],
                                LIVER["liquidus"])
    return TabulatedEnthalpy([table], np.zeros(7, int))


def test_enthalpy_temperature_round_trip():
    storage = TabulatedEnthalpy([freezing_table(1079.0, 3540.0, 1800.0, 250e6, -8.0, -1.0)],
                                np.zeros(2001, int))
    T = np.linspace(-200.0, 60.0, 2001)
    H = storage.enthalpy(T)
    assert np.all(np.diff(H) > 0)
    np.testing.assert_allclose(storage.temperature(H), T, atol=1e-9)


def test_enthalpy_of_two_materials_follows_end_slopes_far_out():
    """Two materials interleaved, temperatures down to -1e5 degC and up to 1e5 degC (beyond the nodes
    the tables carry for their linear extension): H is the table's piecewise-linear law with the end
    slopes C_f and C_u, and T(H) inverts it."""
    tables = [freezing_table(1079.0, 3540.0, 1800.0, 250e6, -8.0, -1.0),
              freezing_table(1000.0, 4000.0, 2000.0, 300e6, -2.0, 0.0)]
    material = np.arange(12) % 2
    storage = TabulatedEnthalpy(tables, material)
    T = np.array([-1e5, -1e5, -3e3, -3e3, -150.0, -150.0, -4.0, -1.0, 37.0, 37.0, 2e4, 1e5])
    H = storage.enthalpy(T)
    for i, (tn, hn) in enumerate(tables):
        tn, hn = np.asarray(tn), np.asarray(hn)
        cells = material == i
        lo, hi = (hn[1] - hn[0]) / (tn[1] - tn[0]), (hn[-1] - hn[-2]) / (tn[-1] - tn[-2])
        t = T[cells]
        expected = np.where(t < tn[0], hn[0] + lo * (t - tn[0]),
                            np.where(t > tn[-1], hn[-1] + hi * (t - tn[-1]), np.interp(t, tn, hn)))
        np.testing.assert_allclose(H[cells], expected, rtol=1e-12)
    assert H[0] == pytest.approx(tables[0][1][0] + 1079.0 * 1800.0 * (-1e5 - tables[0][0][0]), rel=1e-12)
    np.testing.assert_allclose(storage.temperature(H), T, rtol=1e-9, atol=1e-7)


def test_apparent_capacity_in_each_range():
    """dH/dT = C_f below T_s, (C_f + C_u)/2 + L/(T_l - T_s) inside, C_u above (docs/physics.md 3)."""
    storage = _storage()
    c_f, c_u = LIVER["rho"] * LIVER["c_f"], LIVER["rho"] * LIVER["c_u"]
    T = np.array([-150.0, -20.0, -7.0, -4.5, -2.0, 5.0, 37.0])
    expected = np.array([c_f, c_f, *(3 * [0.5 * (c_f + c_u) + 250e6 / 7.0]), c_u, c_u])
    np.testing.assert_allclose(storage.capacity(T), expected, rtol=1e-6)
    # latent heat: the jump across the mushy range beyond the sensible part
    H = storage.enthalpy(np.array([-8.0, -1.0, 0, 0, 0, 0, 0]))
    assert H[1] - H[0] == pytest.approx(250e6 + 0.5 * (c_f + c_u) * 7.0, rel=1e-12)


def test_unfrozen_fraction_and_conductivity_blend():
    T = np.array([-20.0, -8.0, -4.5, -1.0, 10.0])
    f = cryo.unfrozen_fraction(T, -8.0, -1.0)
    np.testing.assert_allclose(f, [0.0, 0.0, 0.5, 1.0, 1.0])
    k = cryo.mixture_conductivity(T, 0.52, 2.0, -8.0, -1.0)
    np.testing.assert_allclose(k, [2.0, 2.0, 1.26, 0.52, 0.52])
    # ice-like law: k_f at 0 degC, rising as 1/T_K
    assert cryo.frozen_conductivity(2.0, np.array([-136.575]), "ice")[0] == pytest.approx(4.0, rel=1e-9)


def test_planar_front_matches_neumann_at_coarse_resolution():
    """Case 4 on 0.8 mm cells: front within one cell (3 %) of the Neumann solution at 600 s."""
    p = FreezingProperties(solidus=-0.1, liquidus=0.1)
    sol = an.neumann_stefan(-145.0, p.melt, 37.0, p.k_f, p.c_f, p.k_u, p.c_u, p.rho, p.latent)
    domain = line_domain(uniform_edges(0.0, 0.08, 0.8e-3), radial=False)
    x = domain.geometry.centers[0]
    _, fronts, balance = run_freezing(domain, p, sol.temperature(np.maximum(x, 0.0), 60.0), lambda t: -145.0,
                                      60.0, 600.0, 8.0, boundary_temperature=37.0, times=[600.0])
    error = abs(fronts[600.0] - sol.front(600.0))
    assert error < 0.8e-3
    assert error / sol.front(600.0) < 0.03
    assert balance < 1e-6


def test_front_crossing_cells_in_one_step_is_monotone_and_conserves_energy():
    """0.1 mm cells, 10 s steps from a uniform start: the front crosses up to tens of cells in a
    step; it must never move back, and the heat balance must close."""
    p = FreezingProperties(solidus=-0.05, liquidus=0.05)
    domain = line_domain(uniform_edges(0.0, 0.05, 0.1e-3), radial=False)
    times = [10.0 * k for k in range(1, 31)]
    _, fronts, balance = run_freezing(domain, p, 37.0, lambda t: -145.0, 0.0, 300.0, 10.0,
                                      boundary_temperature=37.0, times=times)
    series = np.array([fronts[t] for t in times])
    assert np.all(np.diff(series) > 0)
    assert series[0] / 0.1e-3 > 10      # first step: more than ten cells
    assert balance < 1e-6
    sol = an.neumann_stefan(-145.0, p.melt, 37.0, p.k_f, p.c_f, p.k_u, p.c_u, p.rho, p.latent)
    assert abs(series[-1] - sol.front(300.0)) / sol.front(300.0) < 0.05


def test_power_limited_wall_reproduces_constant_line_sink():
    """A probe that extracts a fixed power per metre (its set temperature never reachable) freezes
    like Paterson's line sink of that strength: an independent check of the limited-wall solve."""
    p = FreezingProperties(solidus=-0.1, liquidus=0.1)
    Q = 400.0
    sol = an.line_sink_freezing(Q, p.k_f, p.k_u, p.alpha_f, p.alpha_u, 37.0, p.melt, p.latent)
    domain = line_domain(uniform_edges(0.735e-3, 0.06, 0.2e-3), radial=True)
    heat, fronts, balance = run_freezing(domain, p, 37.0, lambda t: -1000.0, 0.0, 600.0, 1.0,
                                         boundary_temperature=37.0, times=[600.0], max_power=Q)
    surface = heat.surface("probe_active", 0)
    assert surface.limited
    assert surface.last_power == pytest.approx(-Q, rel=1e-9)
    assert surface.wall_temperature > -1000.0
    assert abs(fronts[600.0] - sol.front(600.0)) / sol.front(600.0) < 0.02
    assert balance < 1e-6


def test_power_limit_releases_when_the_set_temperature_is_reached():
    """Later in a freeze the load drops below the limit: the wall then sits at its set temperature."""
    p = FreezingProperties(solidus=-0.1, liquidus=0.1)
    domain = line_domain(uniform_edges(0.735e-3, 0.03, 0.2e-3), radial=True)
    # a -145 degC wall draws ~2 pi k_f 145 K / ln(R / r_p) ~ 600 W/m once the iceball is large
    heat, _, _ = run_freezing(domain, p, 37.0, lambda t: -145.0, 0.0, 900.0, 2.0, boundary_temperature=37.0,
                              max_power=1500.0)
    surface = heat.surface("probe_active", 0)
    assert not surface.limited
    assert surface.wall_temperature == -145.0
    assert 0 < -surface.last_power < 1500.0


# ------------------------------------------------------------------------------------ scenarios
def _scenario(protocol=None, probe=None, tissue=None, duration="4 min", **extra):
    raw = {"name": "t", "modality": "cryo", "tissue": {"preset": "liver", **(tissue or {})},
           "probes": [{"tip": [0, 0, 0], "diameter": "1.47 mm", "active_length": "10 mm",
                       "cryo": {"type": "17G"} if probe is None else probe}],
           "domain": {"size": "40 mm"}, "grid": {"spacing": "1 mm", "max_spacing": "4 mm", "fine_margin": "6 mm"},
           "time": {"duration": duration, "step": "5 s", "output_interval": "1 min", "refine": False}, "outputs": {"fields": False}}
    if protocol:
        raw["cryo"] = {"protocol": protocol}
    raw.update(extra)
    return raw


def test_catalogue_17g_holds_its_wall_and_the_earlier_entry_is_power_limited():
    """The catalogue 17 G needle holds -145 degC after its 30 s ramp whatever the load (the wall
    temperature measured in phantoms, docs/physics.md 3); its earlier entry '17G-2026.11' extracts at
    most 362.6 W/m of active length, so its wall warms under the same load and its iceball is smaller."""
    from ablation.run.time_loop import run
    series = {}
    for kind in ("17G", "17G-2026.11"):
        result = run(scenario_from_dict(_scenario(probe={"type": kind})))
        series[kind] = {k: np.asarray(v, float) for k, v in result.timeseries.items()}
    new, old = series["17G"], series["17G-2026.11"]
    after_ramp = new["time_s"] >= 30.0
    np.testing.assert_allclose(new["probe1_wall_C"][after_ramp], -145.0, atol=1e-9)
    limit = cryo.CATALOGUE["17G-2026.11"]["max_extraction"] * 10e-3          # W over the 10 mm active length
    assert limit == pytest.approx(592.0 * 1.47 / 2.4 * 10e-3)
    assert np.max(old["probe1_power_W"]) <= limit * (1 + 1e-9)
    assert np.max(new["probe1_power_W"]) > 3.0 * limit                      # the held wall draws what the load needs
    assert np.min(old["probe1_wall_C"]) > -60.0
    assert new["iceball_volume_ml"][-1] > 3.0 * old["iceball_volume_ml"][-1]


def test_freeze_passive_and_active_thaw():
    from ablation.run.time_loop import run
    protocol = [{"phase": "freeze", "duration": "3 min"}, {"phase": "passive_thaw", "duration": "1 min"},
                {"phase": "active_thaw", "duration": "2 min"}]
    probe = {"wall": "power_limited", "max_extraction": "1000 W/m"}
    result = run(scenario_from_dict(_scenario(protocol, probe=probe, duration="6 min")))
    ts = {k: np.asarray(v, float) for k, v in result.timeseries.items()}
    t = ts["time_s"]
    freeze, passive, active = (t > 0) & (t <= 180), (t > 185) & (t <= 240), (t > 245) & (t <= 360)
    assert np.all(ts["probe1_power_W"][freeze] > 0)                      # extracting heat
    limit = 1000.0 * 10e-3
    assert np.max(ts["probe1_power_W"]) <= limit * (1 + 1e-9)            # the power limit holds
    assert np.all(ts["probe1_power_W"][passive] == 0)                     # adiabatic
    assert np.all(np.diff(ts["probe1_wall_C"][passive]) > 0)              # the wall warms passively
    np.testing.assert_allclose(ts["probe1_wall_C"][active], 15.0)         # helium thaw at +15 degC
    # a freezing or actively thawed wall is isothermal; a passive one follows the tissue face by face
    for phase in (freeze, active):
        np.testing.assert_allclose(ts["probe1_wall_min_C"][phase], ts["probe1_wall_C"][phase])
        np.testing.assert_allclose(ts["probe1_wall_max_C"][phase], ts["probe1_wall_C"][phase])
    assert np.all(ts["probe1_wall_min_C"][passive] <= ts["probe1_wall_C"][passive])
    assert np.all(ts["probe1_wall_max_C"][passive] >= ts["probe1_wall_C"][passive])
    assert np.all(np.ptp(np.vstack([ts["probe1_wall_min_C"], ts["probe1_wall_max_C"]])[:, passive], axis=0) > 0)
    assert np.all(ts["probe1_power_W"][active][:2] < 0)                   # heat goes into the frozen tissue
    ice = ts["iceball_volume_ml"]
    assert ice[t == 180][0] > 0.1 and ice[-1] < 0.2 * ice[t == 180][0]
    assert np.all(ts["below_m40C_volume_ml"] <= ts["below_m20C_volume_ml"] + 1e-12)
    assert np.all(ts["below_m20C_volume_ml"] <= ts["iceball_volume_ml"] + 1e-12)
    cycles = result.fields["freeze_thaw_cycles"]
    thawed = (result.fields["t_min_C"] <= 0.0) & (result.fields["temperature_C"] > 0.0) & result.domain.tissue
    assert thawed.any() and np.all(cycles[thawed] == 1)
    assert result.summary["heat_balance_error"] < 0.01
    device = result.summary["device"]
    assert device["freeze_time_s"] == 180.0
    assert device["min_probe_temperature_C"] == pytest.approx(np.min(ts["probe1_wall_C"]))
    # the freeze's heat and the active thaw's, each from the power log: apart, not netted
    steps = ts["probe1_power_W"][1:] * np.diff(t)
    assert device["extracted_energy_J"] - device["thaw_energy_J"] == pytest.approx(np.sum(steps), rel=1e-12)
    assert np.all(steps[t[1:] <= 240.0] >= 0.0)         # heat goes in only in the active thaw ...
    assert device["thaw_energy_J"] >= -np.sum(steps[t[1:] > 240.0]) > 0.0   # ... which also takes some out
    assert device["extracted_energy_J"] >= np.sum(steps[t[1:] <= 180.0]) > 0.0
    iso = result.summary["isotherms"]
    assert set(iso) == {"0", "-20", "-40"}
    assert iso["0"]["reached"]["volume_ml"] > iso["-40"]["reached"]["volume_ml"] > 0


CURVE = "time_s,temperature_C\n0,20\n20,-100\n60,-140\n"


def _write_scenario(tmp_path, curve_text, curve_name="curve.csv"):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / curve_name).write_text(curve_text)
    path = tmp_path / "s.toml"
    path.write_text(f"""name = "curve"
modality = "cryo"
[[probes]]
tip = [0, 0, 0]
diameter = "1.47 mm"
active_length = "10 mm"
cryo = {{ wall = "curve", curve_file = "data/{curve_name}" }}
[domain]
size = "40 mm"
[grid]
spacing = "1 mm"
max_spacing = "4 mm"
[time]
duration = "1 min"
step = "5 s"
""")
    return path


def test_curve_loaded_relative_to_the_scenario_file(tmp_path, monkeypatch):
    path = _write_scenario(tmp_path, "# thermocouple\n" + CURVE)
    monkeypatch.chdir("/")
    s = load_scenario(path)
    curve = s.input_files[s.probes[0].cryo.curve_file]
    assert curve["times"] == (0.0, 20.0, 60.0) and curve["values"] == (20.0, -100.0, -140.0)
    from ablation.run.time_loop import run
    result = run(s)
    wall = np.asarray(result.timeseries["probe1_wall_C"])
    t = np.asarray(result.timeseries["time_s"])
    np.testing.assert_allclose(wall[1:], np.interp(t[1:], [0, 20, 60], [20, -100, -140]))


@pytest.mark.parametrize("text, where", [
    ("time_s,temperature_C\n0,20\n20,cold\n", "line 3, column 2: 'cold' is not a number"),
    ("0,20\n20\n", "line 2: 1 column(s); expected 2"),
    ("0,20\n20,-100\n10,-120\n", "line 3, column 1: time 10 s does not increase"),
    ("time_s,temperature_C\n", "no data rows"),
    # a header is read: a curve logged in minutes or kelvin was taken as seconds and degC
    ("time_min,temperature_C\n0,20\n0.5,-80\n", "line 1, column 1: header 'time_min' gives the time in min"),
    ("time (s),wall temperature [K]\n0,293\n30,150\n", "column 2: header 'wall temperature [K]' gives the "
                                                         "temperature in K"),
    ("foo,bar\n0,20\n", "header 'foo,bar' does not name a time and a temperature"),
])
def test_malformed_curve_rows_are_rejected_clearly(tmp_path, capsys, text, where):
    path = _write_scenario(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (field, message), = info.value.errors
    assert field == "probes[0].cryo.curve_file"
    assert "curve.csv" in message and where in message
    assert main(["validate", str(path)]) == 2
    assert "probes[0].cryo.curve_file" in capsys.readouterr().err


@pytest.mark.parametrize("header", ["time_s,temperature_C", "t [s],T (degC)", "Time s,Temperature C", "time,temperature"])
def test_curve_headers_in_seconds_and_degc_are_read(tmp_path, header):
    from ablation.input.probe_curves import load_curve
    path = _write_scenario(tmp_path, header + "\n0,20\n20,-100\n60,-140\n")
    load_scenario(path)                                           # accepted by the scenario's checks
    assert load_curve(tmp_path / "data" / "curve.csv") == ((0.0, 20.0, 60.0), (20.0, -100.0, -140.0))


def test_missing_curve_file_names_the_field(tmp_path):
    path = _write_scenario(tmp_path, CURVE)
    (tmp_path / "data" / "curve.csv").unlink()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.errors[0][0] == "probes[0].cryo.curve_file"
    assert "cannot read" in info.value.errors[0][1]


def _write_raw(tmp_path, raw) -> str:
    """A minimal TOML writer for the flat scenario dicts of these tests (tomllib only reads)."""
    import json
    lines = []

    def value(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)
    for key, v in raw.items():
        if not isinstance(v, (dict, list)) or (isinstance(v, list) and not any(isinstance(x, dict) for x in v)):
            lines.append(f"{key} = {value(v)}")
    for key, v in raw.items():
        if isinstance(v, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {value(x)}" for k, x in v.items()]
        elif isinstance(v, list) and any(isinstance(x, dict) for x in v):
            for item in v:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {value(x)}" for k, x in item.items()]
    path = tmp_path / "bad.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("change, field", [
    (lambda r: r["tissue"].update(liquidus_temperature="2 degC"), "tissue.liquidus_temperature"),
    (lambda r: r["probes"][0]["cryo"].update(freeze_temperature="5 degC"), "probes[0].cryo.freeze_temperature"),
    (lambda r: r["probes"].append({"tip": [0.5, 0, 0], "diameter": "1.47 mm", "active_length": "10 mm",
                                   "cryo": {"type": "17G"}}), "probes[1].tip"),
    (lambda r: (r["probes"][0].update(tip=[0, 0, 30]), r["domain"].update(center=[0, 0, 0])), "probes[0].tip"),
    (lambda r: r["probes"][0].update(diameter="2.4 mm"), "probes[0].diameter"),
    (lambda r: r["probes"][0].update(cryo={"wall": "convection", "gas_temperature": "-180 degC"}),
     "probes[0].cryo.heat_transfer_coefficient"),
    (lambda r: r["probes"][0].update(cryo={"wall": "power_limited"}), "probes[0].cryo.max_extraction"),
    (lambda r: r["probes"][0].update(cryo={"wall": "power_limited", "max_extraction": "1e30 W/m"}),
     "probes[0].cryo.max_extraction"),
    (lambda r: r["tissue"].update(blood_density="1.05 kg/m^3"), "tissue.blood_density"),
    (lambda r: r.update(tumors=[{"center": [0, 0, -5], "diameter": "10 mm", "material": True,
                                 "properties": {"solidus_temperature": "1e30 degC"}}]),
     "tumors[0].properties.solidus_temperature"),
    # properties on a tumour that is only a coverage target did nothing
    (lambda r: r.update(tumors=[{"center": [0, 0, -5], "diameter": "10 mm",
                                 "properties": {"solidus_temperature": "-2 degC"}}]),
     "tumors[0].properties"),
])
def test_bad_input_exits_2_with_the_field_named(tmp_path, capsys, change, field):
    raw = _scenario()
    change(raw)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(raw)
    assert field in [f for f, _ in info.value.errors]
    assert main(["validate", _write_raw(tmp_path, raw)]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err


def test_other_modality_tables_rejected_and_defaults_filled():
    raw = _scenario()
    raw["probes"][0]["thermal"] = {"wall": "adiabatic"}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(raw)
    assert info.value.errors[0][0] == "probes[0].thermal"
    s = scenario_from_dict(_scenario(probe={}))
    r = cryo.probe_settings(s.probes[0].cryo)
    assert (r["wall"], r["freeze_temperature"], r["thaw_temperature"]) == ("temperature", -145.0, 15.0)
    # the frozen-conductivity law comes from the zone model unless the file sets it
    assert s.cryo.protocol is None and s.cryo.frozen_conductivity_model == "ice"
    assert scenario_from_dict({**_scenario(probe={}), "model": "physiological-2026.12"}).cryo.frozen_conductivity_model \
        == "constant"
    own = _scenario(probe={})
    own["cryo"] = {**own.get("cryo", {}), "frozen_conductivity_model": "constant"}
    assert scenario_from_dict(own).cryo.frozen_conductivity_model == "constant"


def test_protocol_phase_lookup():
    from ablation.input.schema import Record
    protocol = (Record(phase="freeze", duration=600.0), Record(phase="passive_thaw", duration=480.0),
                Record(phase="freeze", duration=600.0))
    assert cryo.protocol_phase(protocol, 0.0)[:2] == ("freeze", 0.0)
    assert cryo.protocol_phase(protocol, 700.0)[:2] == ("passive_thaw", 100.0)
    assert cryo.protocol_phase(protocol, 1100.0)[0] == "freeze"
    assert cryo.protocol_phase(protocol, 1700.0)[0] == "off"
    assert math.isclose(cryo.protocol_phase(protocol, 1100.0)[1], 20.0)


def test_passive_thaw_wall_stays_frozen_where_ice_touches_it():
    """Issue 10 noted a passive-thaw wall at +15-17 degC while ice remained around the probe: the
    wall's area mean hides that the ends of the active part thaw first. Face by face the wall is
    never above the melting range where the tissue next to it is still frozen, and while the area
    mean is already above 0 degC with ice left, the coldest face is still at or below 0 degC."""
    from ablation.run.time_loop import run
    import ablation
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    s = ablation.load_scenario(root / "scenarios/cryo_17g_perfused.toml").with_changes({
        "grid.spacing": "1 mm", "grid.max_spacing": "4 mm", "domain.size": "60 mm", "time.duration": "13 min",
        "time.refine": False, "placement.enabled": False,
        # the earlier power-limited entry: its small iceball reaches the mixed state within 3 min of thaw
        "probes[0].cryo.type": "17G-2026.11",
        "cryo.protocol": [{"phase": "freeze", "duration": "10 min"}, {"phase": "passive_thaw", "duration": "8 min"}]})
    ts = {k: np.asarray(v, float) for k, v in run(s).timeseries.items()}
    t, ice = ts["time_s"], ts["iceball_volume_ml"]
    passive = t > 600
    mixed = passive & (ts["probe1_wall_C"] > 0.0) & (ice > 0.05)
    assert mixed.any()                                    # the mean alone would read "thawed"
    assert np.all(ts["probe1_wall_min_C"][mixed] <= 0.0)
    assert np.all(ts["probe1_wall_max_C"][mixed] > 5.0)    # the ends of the active part


def test_same_enthalpy_machinery_handles_vaporisation():
    """The RFA use of TabulatedEnthalpy: water vaporisation (1.8e9 J/m^3 over 99-100 degC, rho c
    falling from 3.8 to 0.6 MJ/(m^3 K), docs/physics.md 2) in front of a 150 degC wall. The heating
    problem is the mirror image (T -> -T) of the Neumann freezing problem, so its front is known."""
    from ablation.physics.bioheat import BioheatSolver
    from ablation.verification.cryo1d import frozen_front
    c_l, c_v, latent, k, rho = 1079.0 * 3540.0, 0.6e6, 1.8e9, 0.5, 1079.0
    h_l = 0.5 * (c_l + c_v) * 1.0 + latent
    table = ([98.0, 99.0, 100.0, 101.0], [-c_l, 0.0, h_l, h_l + c_v])
    domain = line_domain(uniform_edges(0.0, 0.03, 0.1e-3), radial=False)
    heat = BioheatSolver(domain, TabulatedEnthalpy([table], np.zeros(domain.n_cells, int)), lambda T: k, 0.0,
                         37.0, 37.0, 37.0, conductivity_varies=False, tolerance=1e-12)
    wall = heat.surface("probe_active", 0)
    wall.bc, wall.value = "temperature", 150.0
    residual = exchanged = 0.0
    fronts = []
    for _ in range(120):
        report = heat.step(5.0)
        residual += abs(report.residual)
        exchanged += sum(abs(report.energy[key]) for key in ("walls", "boundary"))
        # vapour fraction = 1 - "unfrozen" fraction of the mirrored problem
        fronts.append(frozen_front(domain, -heat.T, FreezingProperties(solidus=-100.0, liquidus=-99.0)))
    assert np.all(np.diff(fronts) >= 0)
    sol = an.neumann_stefan(-150.0, -99.5, -37.0, k, c_v / rho, k, c_l / rho, rho, latent)
    assert abs(fronts[-1] - sol.front(600.0)) / sol.front(600.0) < 0.05
    assert residual / exchanged < 1e-6


def test_convective_probe_wall_lies_between_gas_and_tissue():
    from ablation.run.time_loop import run
    probe = {"wall": "convection", "gas_temperature": "-170 degC", "heat_transfer_coefficient": "1500 W/(m^2 K)",
             "ramp_time": "0 s"}
    result = run(scenario_from_dict(_scenario(probe=probe, duration="2 min")))
    wall = np.asarray(result.timeseries["probe1_wall_C"])[1:]
    power = np.asarray(result.timeseries["probe1_power_W"])[1:]
    assert np.all((wall > -170.0) & (wall < 37.0))
    assert np.all(power > 0)
    # the extracted power follows h A (T_w - T_gas) with A the wall area of the freezing length
    area = np.pi * 1.47e-3 * 10e-3 + np.pi * (0.735e-3) ** 2      # side + tip face
    np.testing.assert_allclose(power, 1500.0 * area * (wall + 170.0), rtol=0.02)


@pytest.mark.parametrize("law", ["ice", "constant"])
def test_steady_frozen_annulus_matches_kirchhoff_closed_form(law):
    """The solver's frozen conductivity law against the Kirchhoff closed form of a steady frozen
    annulus (17 G probe at -145 degC, tissue held at 37 degC at 30 mm, no perfusion): the front and
    the -40 degC isotherm on a 0.2 mm grid (benchmarks/verification/cryo.py refines it)."""
    r_p, r_out = 0.735e-3, 0.03
    p = FreezingProperties(solidus=-0.1, liquidus=0.1, frozen_law=law)
    exact = an.steady_frozen_annulus(r_p, r_out, -145.0, p.melt, 37.0, p.k_f, p.k_u, law)
    exact40 = an.frozen_isotherm_radius(-40.0, r_p, exact, -145.0, p.melt, p.k_f, law)
    domain = line_domain(uniform_edges(r_p, r_out - r_p, 0.2e-3), radial=True)
    heat, front, _ = run_freezing(domain, p, 37.0, lambda t: -145.0, 0.0, 4 * 3600.0, 20.0,
                                  boundary_temperature=37.0, times=[4 * 3600.0])
    assert front[4 * 3600.0] == pytest.approx(exact, rel=5e-3)
    assert front_position(domain, heat.T, -40.0) == pytest.approx(exact40, rel=1e-2)
    # the law moves the -40 degC isotherm outwards by a third (closed forms: 12.18 vs 9.18 mm)
    assert exact40 == pytest.approx({"ice": 12.177e-3, "constant": 9.179e-3}[law], rel=1e-3)


def test_kirchhoff_potentials_differentiate_to_the_conductivity():
    """Phi' = k for the tissue law (slopes of both signs, its 10 % floor and 100 degC cap) and for
    freezing tissue under both frozen laws: central differences of Phi against k, away from the kinks
    (within 0.02 K of one, a difference straddles it)."""
    from ablation.physics.tissue import thermal_conductivity, thermal_conductivity_integral
    t = np.linspace(-250.0, 150.0, 40001)
    h = 1e-3
    for k0, slope in ((0.52, 0.0008), (0.5, -0.01), (0.5, 0.0), (0.5, 0.05)):
        kinks = [100.0] + ([37.0 - 0.9 * k0 / slope] if slope else [])     # the floor: below 37 degC or above
        away = np.min(np.abs(t[:, None] - np.array(kinks)), axis=1) > 0.02
        slope_of_phi = (thermal_conductivity_integral(k0, slope, t + h)
                        - thermal_conductivity_integral(k0, slope, t - h)) / (2 * h)
        np.testing.assert_allclose(slope_of_phi[away], thermal_conductivity(k0, slope, t)[away], rtol=1e-6, atol=1e-9)
    for law in ("constant", "ice"):
        def phi(x):
            return cryo.mixture_conductivity_integral(x, 0.52, 0.0008, 2.0, -8.0, -1.0, law)
        k = cryo.mixture_conductivity(t, 0.52 + 0.0008 * (np.minimum(t, 100.0) - 37.0),
                                      cryo.frozen_conductivity(2.0, t, law), -8.0, -1.0)
        away = np.min(np.abs(t[:, None] - np.array([-8.0, -1.0, 100.0, -223.15])), axis=1) > 0.02
        # 1e-5: Simpson's rule across the mushy range under the ice law (measured 3e-6 there)
        np.testing.assert_allclose(((phi(t + h) - phi(t - h)) / (2 * h))[away], k[away], rtol=1e-5)


@pytest.mark.parametrize("law", ["ice", "constant"])
def test_steady_slab_across_freezing_is_exact_with_the_kirchhoff_face_mean(law):
    """A planar slab held at -145 degC on one side and 37 degC on the other, with liver's wide mushy
    range (-8 to -1 degC): in steady state the Kirchhoff potential Phi(T) = int k dT is linear in x
    (closed form). With every face taking the mean of k between its two temperatures, the discrete
    flux is exactly Phi's difference over the distance, so the cell values lie on that line to the
    solver's tolerance at any grid; the harmonic mean of k at the two cells misses it by percents."""
    p = FreezingProperties(solidus=-8.0, liquidus=-1.0, frozen_law=law)

    def phi(t):
        return cryo.mixture_conductivity_integral(t, p.k_u, 0.0, p.k_f, p.solidus, p.liquidus, law)

    length = 0.02
    for h in (1e-3, 0.5e-3):
        errors = {}
        for kirchhoff in (True, False):
            domain = line_domain(uniform_edges(0.0, length, h), radial=False)
            heat, _, _ = run_freezing(domain, p, 37.0, lambda t: -145.0, 0.0, 2e5, 1e3,
                                      boundary_temperature=37.0, kirchhoff=kirchhoff)
            x = domain.geometry.centers[0][1:] - h        # from the wall face (the held cell is [0, h])
            exact = phi(-145.0) + (phi(37.0) - phi(-145.0)) * x / length
            errors[kirchhoff] = np.max(np.abs(phi(heat.T[1:]) - exact)) / (phi(37.0) - phi(-145.0))
        assert errors[True] < 1e-7            # measured 3e-9 or less
        assert errors[False] > 2e-3           # measured 0.26 % to 5.9 %


def test_a_protocol_longer_than_the_run_is_named_in_the_warnings():
    """Phases past time.duration are not simulated: the summary says so (it said nothing, and the
    report listed the whole protocol)."""
    from ablation.run.time_loop import run
    protocol = [{"phase": "freeze", "duration": "1 min"}, {"phase": "passive_thaw", "duration": "1 min"},
                {"phase": "freeze", "duration": "1 min"}]
    probe = {"wall": "power_limited", "max_extraction": "1000 W/m"}
    cut = run(scenario_from_dict(_scenario(protocol, probe=probe, duration="90 s")))
    assert any("protocol lasts 3 min, longer than time.duration (1.5 min)" in w for w in cut.summary["time"]["warnings"])
    whole = run(scenario_from_dict(_scenario(protocol, probe=probe, duration="3 min")))
    assert not any("protocol lasts" in w for w in whole.summary["time"]["warnings"])


@pytest.mark.parametrize("kind", ["axisymmetric", "3d"])
def test_a_freeze_only_run_ends_at_the_size_each_isotherm_reached(kind):
    """In a freeze the region below an isotherm at any time lies within the region that reached it
    (each cell's lowest temperature): measured the same way (the edge interpolated), the final
    volume is at most the largest, and the largest at most the reached one. With the time series
    counting whole cells, a thin iceball (-10 degC wall) read 0.109 mL reached against 0.138 mL
    final. (Cells just beyond the active part's ends warm by up to 1.7 K after their minimum at 5 s
    steps, a first-order lag of k in the step that falls with it: 0.15 K at 0.25 s. Before the
    Kirchhoff face mean it did not fall with the step: 2.7-3.1 K, docs/physics.md 1.)"""
    from ablation.run.time_loop import run
    raw = _scenario(probe={"type": "17G", "freeze_temperature": "-40 degC"}, duration="2 min")
    raw["grid"]["kind"] = kind
    result = run(scenario_from_dict(raw))
    isotherms = result.summary["isotherms"]
    assert isotherms["0"]["reached"]["volume_ml"] > 0.01
    for size in isotherms.values():
        assert size["final_volume_ml"] <= size["max_volume_ml"] <= size["reached"]["volume_ml"] * (1 + 1e-12)
        # the diameter and length of the time series are measured as the summary's axes: at most the
        # reached ones (before, cells plus half a cell: 19.11 mm against 21.19 reached in 3-D)
        assert size["max_diameter_mm"] <= size["reached"]["short_axis_mm"] * (1 + 1e-9) + 1e-9
        assert size["max_diameter_mm"] >= size["reached"]["short_axis_mm"] * 0.98
        assert size["max_length_mm"] <= size["reached"]["long_axis_mm"] * (1 + 1e-9) + 1e-9


def test_the_last_time_series_row_measures_the_summary_lesion():
    """The time series' lesion volume at the end is the summary's lesion volume (a zone all connected
    to the probe), for RF as for cryo (test above)."""
    from ablation.run.time_loop import run
    from conftest import coarse_rfa
    result = run(coarse_rfa(time={"duration": "40 s", "step": "2 s", "refine": False}))
    assert result.summary["lesion"]["volume_ml"] > 0.1
    assert result.timeseries["lesion_volume_ml"][-1] == pytest.approx(result.summary["lesion"]["volume_ml"], rel=1e-9)


def test_a_3d_cryoprobe_zone_does_not_depend_on_where_its_axis_lies_within_its_cells():
    """On 1.5 mm cells a 17 G probe (1.47 mm) is about one cell across. With the log-law wall
    (geometry/probe_wall.py) its -40 degC zone after a 4 min freeze stays near the axisymmetric solve
    wherever the axis lies: +4.0 % to +8.4 % (ice law; +2.3 % to +4.0 % before the Kirchhoff face
    mean of 2026-12-07, whose errors partly cancelled: under the constant frozen law the 3-D excess
    fell from +14-16 % to +5-9 % with it, docs/physics.md 1). Held as the staircase of its cells the
    same four positions gave -5 % to -32 % (docs/physics.md 6, case 8)."""
    from ablation.run.time_loop import run
    def volume(kind, shift_mm):
        raw = _scenario(grid={"kind": kind, "spacing": "1.5 mm" if kind == "3d" else "1 mm", "max_spacing": "4 mm",
                              "fine_margin": "6 mm"}, placement={"enabled": False})
        raw["probes"][0]["tip"] = [shift_mm[0], shift_mm[1], 0.0]
        raw["domain"]["center"] = [0.0, 0.0, -5.0]
        return run(scenario_from_dict(raw)).summary["lesion"]["volume_ml"]
    axisymmetric = volume("axisymmetric", (0.0, 0.0))
    assert axisymmetric > 0.5                                                     # mL
    moved = np.array([volume("3d", s) for s in ((0.0, 0.0), (0.75, 0.0), (0.75, 0.75), (0.4, 0.2))])
    assert np.all(np.abs(moved / axisymmetric - 1) < 0.10), moved / axisymmetric
    assert np.ptp(moved) / axisymmetric < 0.05, moved / axisymmetric     # measured 4.4 %

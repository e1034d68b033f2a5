"""Radiofrequency ablation: electric solve, Joule heating, control laws, tissue model, scenario errors.

Coarse grids throughout; every assertion is a number that could fail (closed forms, exact sums,
two independent paths, control bands).
"""
from types import SimpleNamespace

import numpy as np
import pytest

from ablation.verification import analytic as an
from ablation.modalities import protocols
from ablation.physics.bioheat import BioheatSolver, LinearStorage
from ablation.cli import main
from ablation.physics.electric import ElectricSolver, radial_geometry
from ablation.geometry.grid import Region
from ablation.run.setup import scenario_domain as build_domain
from ablation.modalities.base import cell_properties
from ablation.physics.damage import perfusion_multiplier as _perfusion_shutdown
from ablation.run.time_loop import run
from ablation.modalities import rfa
from conftest import coarse_rfa as coarse, write_rfa_file


def spherical_edges(a, R, n_inside=4, n_outside=60):
    """Radial edges: a few cells inside the electrode, geometric grading outside."""
    return np.concatenate([np.linspace(0.0, a, n_inside + 1)[:-1], a * (R / a) ** np.linspace(0, 1, n_outside + 1)])


# ----------------------------------------------------------------------------- closed forms
def test_spherical_electrode_impedance_power_and_joule_sum():
    a, R, sigma = 1e-3, 40e-3, 0.2
    edges = spherical_edges(a, R)
    g = radial_geometry(edges, "sphere")
    electrode = edges[1:] <= a * (1 + 1e-12)
    solver = ElectricSolver(g, electrode, ground_faces=np.array([False, True]), preconditioner="jacobi")
    unit = solver.solve_unit(np.full(g.n_cells, sigma))
    z_exact = an.spherical_electrode_impedance(a, R, sigma)
    assert abs(unit.impedance / z_exact - 1) < 0.01
    # target power through V0 = sqrt(P / I1) against P = 4 pi sigma c V0^2
    v0 = np.sqrt(50.0 / unit.current)
    assert abs(an.spherical_electrode_power(a, R, sigma, v0) / 50.0 - 1) < 0.01
    # the per-resistor cell sources sum exactly to phi^T K phi = I1
    assert abs(unit.heating.sum() / unit.current - 1) < 1e-8
    # and the potential matches the closed form at the cell centres
    r = g.centers[0][~electrode]
    v_exact = an.spherical_electrode_potential(r, a, R, 1.0)
    assert np.max(np.abs(unit.phi[~electrode] - v_exact)) < 0.01


def test_spherical_electrode_steady_temperature():
    """Steady theta with Joule heating, adiabatic electrode, theta = 0 at R (docs/physics.md 6 case 3)."""
    a, R, sigma, k = 1e-3, 20e-3, 0.2, 0.5
    edges = spherical_edges(a, R, n_outside=50)
    g = radial_geometry(edges, "sphere")
    electrode = edges[1:] <= a * (1 + 1e-12)
    el = ElectricSolver(g, electrode, ground_faces=np.array([False, True]), preconditioner="lu")
    unit = el.solve_unit(np.full(g.n_cells, sigma))
    v0 = 10.0
    domain = SimpleNamespace(geometry=g, held=electrode, wall_length=None, wall_area=None, regions=[Region("electrode", "probe_active", 0, electrode)])
    heat = BioheatSolver(domain, LinearStorage(np.full(g.n_cells, 4e6)), lambda T: k, np.zeros(g.n_cells), 0.0,
                         0.0, 0.0, conductivity_varies=False)
    heat.source = v0 ** 2 * unit.heating / g.volumes
    heat.step(1e9)   # backward Euler with a huge step is the steady solve
    r = g.centers[0][~electrode]
    exact = an.spherical_electrode_steady_temperature_rise(r, a, R, sigma, v0, k)
    err = np.max(np.abs(heat.T[~electrode] - exact)) / exact.max()
    assert err < 0.02
    assert abs(exact.max() / (sigma * v0 ** 2 / (2 * k)) - 1) < 0.1   # theta(a) = sigma V0^2 / (2k)


def test_cylindrical_electrode_potential():
    a, R = 0.75e-3, 30e-3
    edges = np.concatenate([np.linspace(0, a, 4)[:-1], a * (R / a) ** np.linspace(0, 1, 41)])
    g = radial_geometry(edges, "cylinder")
    electrode = edges[1:] <= a * (1 + 1e-12)
    unit = ElectricSolver(g, electrode, ground_faces=np.array([False, True])).solve_unit(np.full(g.n_cells, 0.2))
    r = g.centers[0][~electrode]
    assert np.max(np.abs(unit.phi[~electrode] - an.cylindrical_electrode_potential(r, a, R, 1.0))) < 5e-3
    z_exact = an.cylindrical_electrode_impedance_per_length(a, R, 0.2)
    assert abs(unit.impedance / z_exact - 1) < 0.01


# ----------------------------------------------------------------------------- per-face heating
def _model(scenario):
    domain = build_domain(scenario)
    return rfa.Model(scenario, domain, cell_properties(scenario, domain)), domain


def test_joule_heating_sums_to_electrode_power_on_graded_grid():
    s = coarse(tumors=[{"center": [0, 0, -10], "diameter": "16 mm", "material": True}])
    model, domain = _model(s)
    T = 37 + 60 * np.exp(-np.linalg.norm(domain.world_points() - np.array([0, 0, -0.01])[:, None], axis=0) / 0.005)
    unit = model.electric.solve_unit(model.electrical_conductivity(T))
    assert abs(unit.heating.sum() / unit.current - 1) < 1e-7
    assert np.all(unit.heating[model.electrode] == 0)
    # the same current leaves through the ground faces
    el = model.electric
    _, _, _, ground = el.conductances(model.electrical_conductivity(T))
    assert abs(np.sum(ground * unit.phi[el._gcell]) / unit.current - 1) < 1e-6


def test_oven_effect_heating_jumps_at_a_more_conductive_tumour():
    """Normal current is continuous across the tumour boundary, so Q = J^2/sigma is sigma_t/sigma_l = 2
    times higher just outside a tumour of sigma 0.4 in liver of 0.2: heating concentrates at its rim."""
    ratios = {}
    for material in (True, False):
        s = coarse(tumors=[{"center": [0, 0, -10], "diameter": "20 mm", "material": material}])
        model, domain = _model(s)
        unit = model.electric.solve_unit(model.electrical_conductivity(np.full(domain.n_cells, 37.0)))
        q = domain.index_grid(unit.heating / domain.geometry.volumes)
        r_edges, z_edges = domain.edges
        zc = 0.5 * (z_edges[1:] + z_edges[:-1])
        j = int(np.argmin(np.abs(zc + 0.010)))          # mid-plane of the tumour
        rc = 0.5 * (r_edges[1:] + r_edges[:-1])
        inside = int(np.nonzero(rc < 0.010)[0][-1])
        # one cell clear of the interface on each side (the interface face's power is split between
        # its two cells); the passive run removes the geometric decay
        ratios[material] = q[j, inside + 2] / q[j, inside - 1]
    assert 1.6 < ratios[True] / ratios[False] < 2.4


# ----------------------------------------------------------------------------- control laws
def test_impedance_control_switches_off_for_off_time():
    ctl = protocols.ImpedanceControl(100.0, off_time=15.0, detector=protocols.RolloffDetector(rise=30.0))
    powers = []
    for t in np.arange(0.0, 60.0, 1.0):
        z = 60.0 - 0.5 * t if t < 20 else (200.0 if t < 24 else 50.0)   # roll-off at t = 20 s
        powers.append(ctl.power(t, 1.0, z, 40.0))
    powers = np.array(powers)
    assert np.all(powers[:20] == 100.0)
    assert np.all(powers[20:35] == 0.0)          # off for exactly 15 s
    assert np.all(powers[35:] == 100.0)
    assert ctl.rolloff_times == [20.0]


def test_impedance_still_high_at_resumption_is_a_new_rolloff():
    ctl = protocols.ImpedanceControl(100.0, off_time=10.0, detector=protocols.RolloffDetector(rise=30.0))
    powers = [ctl.power(t, 1.0, 60.0 if t < 5 else (150.0 if t < 18 else 60.0), 40.0) for t in range(40)]
    assert ctl.rolloff_times == [5, 15]          # off 5-14, still high at 15: off again 15-24
    assert all(p == 0.0 for p in powers[5:25]) and powers[25] == 100.0


def test_absolute_threshold_and_leveen_sequence():
    det = protocols.RolloffDetector(rise=None, threshold=120.0)
    lev = protocols.LeVeen(200.0, detector=det)
    out = []
    for t in np.arange(0.0, 1000.0, 5.0):
        z = 130.0 if 100 <= t < 110 else 80.0     # one roll-off at 100 s
        out.append((t, lev.power(t, 5.0, z, 60.0)))
    p = dict(out)
    assert p[95.0] == 200.0 and p[100.0] == 0.0 and p[125.0] == 0.0      # 30 s off
    assert p[130.0] == 100.0 and p[425.0] == 100.0                       # half power for 300 s
    assert p[430.0] == 0.0 and p[900.0] == 0.0                           # then done
    assert det.times == [100.0]


def _lumped_plant(ctl, heat_capacity, loss, dt, steps):
    """Rows (t, T, P) of C dT/dt = P - G (T - 37) (J/K, W/K) driven by ``ctl`` from 37 degC."""
    T, history = 37.0, []
    for k in range(steps):
        p = ctl.power(k * dt, dt, 80.0, T)
        T += dt * (p - loss * (T - 37.0)) / heat_capacity
        history.append((k * dt, T, p))
    return np.array(history)


def test_temperature_control_holds_target_on_lumped_plant():
    """PI with anti-windup on C dT/dt = P - G (T - 37): reaches and holds 90 degC within 1 K."""
    ctl = protocols.TemperatureControl(90.0, kp=5.0, ki=0.5, max_power=60.0)
    h = _lumped_plant(ctl, heat_capacity=40.0, loss=0.4, dt=0.5, steps=2400)
    late = h[h[:, 0] > 300]
    assert np.max(np.abs(late[:, 1] - 90.0)) < 1.0
    assert h[:, 2].max() <= 60.0
    assert h[:, 1].max() < 95.0     # anti-windup: no large overshoot after the saturated rise


def test_temperature_control_reaches_target_when_proportional_term_settles_outside_the_band():
    """A plant that needs 12 W at 90 degC: the proportional term alone (Kp 0.5 W/K) settles 24 K
    below the target, outside the 10 K integral band; the integral resumes once the tip stalls and
    brings it to the target (held within 0.5 K); the default gains leave this plant under-damped
    inside the band (damping ratio 0.26), so it overshoots, by under 5 K."""
    ctl = protocols.TemperatureControl(90.0, kp=0.5, ki=0.1, max_power=100.0, integral_band=10.0)
    h = _lumped_plant(ctl, heat_capacity=20.0, loss=12.0 / 53.0, dt=1.0, steps=1200)
    late = h[h[:, 0] > 900]
    assert np.max(np.abs(late[:, 1] - 90.0)) < 0.5
    assert late[:, 2].mean() == pytest.approx(12.0, rel=0.02)
    assert h[:, 1].max() < 95.0


def test_temperature_control_on_needle_holds_target_band():
    s = coarse(rfa={"protocol": "temperature_control", "power": "80 W", "target_temperature": "80 degC",
                    "proportional_gain": "0.5 W/K", "integral_gain": "0.1 W/(K s)"},
               probes=[{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "20 mm",
                        "rfa": {"electrode": "needle"}}],
               time={"duration": "150 s", "step": "1 s"})
    r = run(s)
    t = np.asarray(r.timeseries["time_s"])
    tip = np.asarray(r.timeseries["tip_temperature_C"])
    late = tip[t > 60]
    assert np.max(np.abs(late - 80.0)) < 3.0
    assert r.summary["device"]["rolloffs"]["count"] == 0


# ----------------------------------------------------------------------------- coupled runs
def test_run_outputs_energy_and_exact_joule_balance():
    s = coarse(time={"duration": "120 s", "step": "2 s"})
    r = run(s)
    ts = r.timeseries
    for col in ("power_W", "voltage_V", "current_A", "impedance_ohm", "tip_temperature_C", "max_temperature_C"):
        assert col in ts and len(ts[col]) == len(ts["time_s"])
    dev = r.summary["device"]
    assert set(dev["rolloffs"]) == {"count", "times_s"}
    for key in ("energy_J", "max_temperature_C", "final_impedance_ohm"):
        assert np.isfinite(dev[key])
    # with no series resistance, the Joule source the heat solver received is the generator energy
    assert abs(r.summary["energy_J"]["source"] / dev["energy_J"] - 1) < 1e-6
    assert r.summary["heat_balance_error"] < 1e-6
    assert r.summary["energy_J"]["walls"] < -0.05 * dev["energy_J"]   # the coolant removes heat
    # V I = P and V = I Z in every row
    p, v, i, z = (np.asarray(ts[k]) for k in ("power_W", "voltage_V", "current_A", "impedance_ohm"))
    assert np.allclose(v * i, p, rtol=1e-9) and np.allclose(v, i * z, rtol=1e-9)
    assert "three_state" in r.summary["lesion_by_criterion"]
    assert r.summary["lesion"]["criterion"] == "arrhenius"


def test_rolloff_switches_power_off_in_a_coupled_run():
    s = coarse(rfa={"power": "150 W", "off_time": "10 s"},
               probes=[{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "10 mm",
                        "rfa": {"electrode": "needle"}}],
               time={"duration": "90 s", "step": "1 s"})
    r = run(s)
    times = r.summary["device"]["rolloffs"]["times_s"]
    assert len(times) >= 1
    t = np.asarray(r.timeseries["time_s"])
    p = np.asarray(r.timeseries["power_W"])
    t0 = times[0]
    # rows hold the power of the step ending at their time; steps end at the end of the off time,
    # so the steps starting in [t0, t0 + 10) are the rows in (t0, t0 + 10]
    off = (t > t0 + 1e-9) & (t <= t0 + 10.0 + 1e-9)
    assert off.sum() >= 5 and np.all(p[off] == 0.0)
    assert times[1] >= t0 + 10.0 - 1e-9          # the next roll-off only once power is back
    # the generator's on-time is the run less its off periods (each cut short by the run's end)
    off_total = sum(min(10.0, 90.0 - tk) for tk in times)
    device = r.summary["device"]
    assert abs(device["on_time_s"] - (90.0 - off_total)) < 1e-9
    assert device["delivery"]["on_time_s_per_channel"] == [device["on_time_s"]]
    assert r.summary["device"]["max_temperature_C"] > 99.0     # roll-off follows vaporisation
    # the enthalpy Newton step closes the heat balance through the latent interval
    assert r.summary["heat_balance_error"] < 1e-6


def test_perfusion_shutdown():
    omega = np.array([0.0, 0.5, 1.0, 3.0])
    assert np.array_equal(_perfusion_shutdown("arrhenius", omega), [1.0, 1.0, 0.0, 0.0])
    assert np.allclose(_perfusion_shutdown("smooth", omega), np.exp(-omega))
    # coupled: perfusion switched off in the coagulated zone removes less heat and enlarges the lesion
    base = dict(time={"duration": "180 s", "step": "2 s"}, rfa={"protocol": "constant_power", "power": "25 W"})
    on = run(coarse(damage={"perfusion_shutdown": "arrhenius"}, **base)).summary
    off = run(coarse(damage={"perfusion_shutdown": "none"}, **base)).summary
    assert abs(on["energy_J"]["perfusion"]) < 0.95 * abs(off["energy_J"]["perfusion"])
    assert on["lesion"]["volume_ml"] > off["lesion"]["volume_ml"]


def test_three_state_model_against_direct_integration():
    """The model's RK2 sub-stepping against scipy's solve_ivp at a constant 70 degC for 300 s."""
    from scipy.integrate import solve_ivp
    s = coarse()
    model, domain = _model(s)
    spec = s.rfa
    T = np.full(domain.n_cells, 70.0)
    for _ in range(150):
        model.cell_death.advance(T, T, 2.0)
    kf = spec.three_state_kf * np.exp(70.0 / spec.three_state_tk)

    def f(_, y):
        a, d = y
        v = 1 - a - d
        return [-kf * a * (1 - a) + spec.three_state_kb * v, kf * (1 - a) * v]
    ref = solve_ivp(f, (0, 300), [spec.three_state_alive, 0.0], rtol=1e-10, atol=1e-12).y[:, -1]
    assert abs(model.dead[0] - ref[1]) < 2e-3
    assert abs(model.alive[0] - ref[0]) < 2e-3


# ----------------------------------------------------------------------------- bad input
BAD = {
    "negative power": ('power = "-5 W"', "rfa.power"),
    "unknown mode": ('protocol = "turbo"', "rfa.protocol"),
    "negative current limit": ('max_current = "-1 A"', "rfa.max_current"),
    "current limit in volts": ('max_current = "2 V"', "rfa.max_current"),
    "current limit in mA written as A": ('max_current = "1400 A"', "rfa.max_current"),
    "series resistance in kohm written as ohm": ('series_resistance = "30000 ohm"', "rfa.series_resistance"),
    "roll-off rise in kohm written as ohm": ('rolloff_rise = "30000 ohm"', "rfa.rolloff_rise"),
    "unused target temperature of 1e30 degC": ('target_temperature = "1e30 degC"', "rfa.target_temperature"),
    "three-state Tk that overflows exp(T/Tk)": ('three_state_tk = "1e-30 K"', "rfa.three_state_tk"),
    "dried tissue holding more heat than water": ("vaporised_heat_capacity = 10.0", "rfa.vaporised_heat_capacity"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_protocol_input_exits_2_and_names_field(case, tmp_path, capsys):
    line, field = BAD[case]
    assert main(["validate", str(write_rfa_file(tmp_path, line))]) == 2
    err = capsys.readouterr().err
    assert field in err


def test_missing_electrode_exits_2(tmp_path, capsys):
    assert main(["validate", str(write_rfa_file(tmp_path, 'power = "50 W"', probes=0))]) == 2
    assert "probes" in capsys.readouterr().err
    path = write_rfa_file(tmp_path, 'power = "50 W"').read_text().replace('"cooled_needle"', '"plasma"')
    (tmp_path / "bad2.toml").write_text(path)
    assert main(["validate", str(tmp_path / "bad2.toml")]) == 2
    assert "probes[0].rfa.electrode" in capsys.readouterr().err


def test_modality_tables_only_with_their_modality(tmp_path, capsys):
    """A thermal scenario needs no [rfa] table, and an [rfa] table in a thermal scenario is an error."""
    thermal = """name = "t"
modality = "thermal"
[[probes]]
tip = [0, 0, 0]
[probes.thermal]
temperature_schedule = [["0 s", "90 degC"]]
[time]
duration = "1 min"
"""
    path = tmp_path / "thermal.toml"
    path.write_text(thermal)
    assert main(["validate", str(path)]) == 0
    path.write_text(thermal + '[rfa]\npower = "50 W"\n')
    assert main(["validate", str(path)]) == 2
    assert "rfa" in capsys.readouterr().err


# ----------------------------------------------------------------------------- electrodes, circuit
def test_pad_ground_raises_impedance_and_keeps_exact_sum():
    z = {}
    for ground in ("outer_boundary", "far_face"):
        model, domain = _model(coarse(rfa={"ground": ground}))
        unit = model.electric.solve_unit(model.electrical_conductivity(np.full(domain.n_cells, 37.0)))
        assert abs(unit.heating.sum() / unit.current - 1) < 1e-7
        z[ground] = unit.impedance
    assert z["far_face"] > 1.05 * z["outer_boundary"]


def test_series_resistance_splits_power():
    s = coarse(rfa={"protocol": "constant_power", "power": "20 W", "series_resistance": "40 ohm"},
               time={"duration": "10 s", "step": "1 s"})
    result = run(s)
    ts = result.timeseries
    zt, z = np.asarray(ts["tissue_impedance_ohm"]), np.asarray(ts["impedance_ohm"])
    assert np.allclose(z - zt, 40.0)
    # the generator's energy is the tissue's plus the I^2 R taken by the resistance outside the model
    device = result.summary.to_dict()["device"]
    dt = np.diff(np.asarray(ts["time_s"]))
    outside = float(np.sum(np.asarray(ts["current_A"][1:]) ** 2 * 40.0 * dt))
    assert device["series_resistance_ohm"] == 40.0
    assert outside > 0.2 * device["energy_J"]
    assert device["energy_J"] - device["tissue_energy_J"] == pytest.approx(outside, rel=1e-5)
    # row 0 is the initial state (no power yet); every step's row splits the 20 W
    assert ts["tissue_power_W"][0] == 0.0
    # to the electric solve's tolerance (CG on a reused LU factor stops at 5e-7: measured 1.05e-6)
    assert np.allclose(np.asarray(ts["tissue_power_W"][1:]), 20.0 * zt[1:] / z[1:], rtol=1e-5)


@pytest.mark.parametrize("shape,angle", [("curved", 90.0), ("curved", 180.0), ("straight", 60.0)])
def test_tine_paths_reach_the_deployed_radius(shape, angle):
    spec = SimpleNamespace(tines=9, deployed_diameter=30e-3, tine_shape=shape, tine_angle=np.deg2rad(angle))
    paths = rfa.tine_paths(np.zeros(3), np.array([0.0, 0.0, 1.0]), spec, 0.1e-3)
    assert len(paths) == 9
    for path in paths:
        radial = np.hypot(path[0], path[1])
        assert abs(radial.max() - 15e-3) < 1e-4
        assert np.allclose(path[:, 0], 0.0)
    # the tines are spread evenly in azimuth
    ends = np.array([np.arctan2(p[1, -1], p[0, -1]) for p in paths])
    steps = np.diff(np.sort(np.mod(ends, 2 * np.pi)))
    assert np.allclose(steps, 2 * np.pi / 9, atol=1e-6)


def test_multitine_electrode_cells_on_3d_grid():
    s = coarse(probes=[{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "2 mm",
                        "rfa": {"electrode": "multitine", "tines": 6, "deployed_diameter": "20 mm"}}],
               grid={"spacing": "1 mm", "max_spacing": "5 mm", "fine_margin": "3 mm", "growth": 1.4},
               domain={"size": "50 mm", "center": [0, 0, 5]})
    model, domain = _model(s)
    assert domain.kind == "3d"
    assert len(model.tine_tips) == 6
    tips = domain.world_points()[:, [cell for _, cell in model.tine_tips]]
    # curved 90 deg tines end 10 mm out and 10 mm ahead of the tip (within a cell)
    assert np.allclose(np.hypot(tips[0], tips[1]), 10e-3, atol=1.0e-3)
    assert np.allclose(tips[2], 10e-3, atol=1.0e-3)
    unit = model.electric.solve_unit(model.electrical_conductivity(np.full(domain.n_cells, 37.0)))
    # exact to the solver tolerance (relative residual 1e-9 of a right-hand side dominated by the
    # electrode rows; measured 5e-7 here)
    assert abs(unit.heating.sum() / unit.current - 1) < 2e-6
    # the tines carry most of the current: more than the 2 mm trocar tip alone would
    assert model.tine_cells.sum() > 6 * 10


def test_the_lesion_of_a_multitine_array_grows_from_its_tines():
    """A zone ringing the tine ends, apart from the trocar's (what rfa_multitine.toml gave: 10.4 mL
    there, 0.9 mL at the trocar), belongs to the applicator: the lesion is both, not the trocar's
    alone. A zone touching neither stays out."""
    from ablation.physics.damage import lesion_size
    s = coarse(probes=[{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "2 mm",
                        "rfa": {"electrode": "multitine", "tines": 6, "deployed_diameter": "20 mm"}}],
               grid={"spacing": "1 mm", "max_spacing": "5 mm", "fine_margin": "3 mm", "growth": 1.4},
               domain={"size": "50 mm", "center": [0, 0, 5]})
    model, domain = _model(s)
    assert np.array_equal(domain.applicator_cells, model.tine_cells)     # one rasterisation, two users
    pts = domain.world_points()
    volumes = domain.geometry.volumes
    tines = np.where(domain.applicator_cells)[0]
    near_tines = np.min(np.linalg.norm(pts[:, :, None] - pts[:, tines[::3]][:, None, :], axis=0), axis=1) < 1.6e-3
    trocar = np.linalg.norm(pts - np.array([0.0, 0.0, -1e-3])[:, None], axis=0) < 2.5e-3
    far = np.linalg.norm(pts - np.array([0.0, 0.0, 22e-3])[:, None], axis=0) < 2e-3    # touches nothing
    ring = near_tines & ~trocar & (np.hypot(pts[0], pts[1]) > 5e-3)      # the outer parts of the tines
    level = np.where(trocar | ring | far, 1.0, -1.0)
    expected = float(np.sum(volumes[(trocar | ring) & domain.tissue])) * 1e6
    size = lesion_size(domain, level)
    assert size["volume_ml"] == pytest.approx(expected, rel=0.15)      # the row interpolation moves edges
    assert size["volume_ml"] > 3 * float(np.sum(volumes[trocar & domain.tissue])) * 1e6
    domain.applicator_cells = None        # as before: the trocar's zone alone
    assert lesion_size(domain, level)["volume_ml"] < 0.5 * expected


def test_enthalpy_iteration_solves_each_nonlinear_step():
    """Through a latent interval the enthalpy iteration converges to the backward-Euler equations
    themselves: per cell V (H(T) - H_old)/dt + (conduction + perfusion + walls)(T) - V Q = 0."""
    from ablation.physics.bioheat import TabulatedEnthalpy

    edges = np.linspace(0.0, 10e-3, 41)
    g = radial_geometry(edges, "cylinder")
    table = [([0.0, 59.0, 60.0, 61.0], [0.0, 4e6 * 59, 4e6 * 60 + 2e7, 4e6 * 61 + 2e7])]
    domain = SimpleNamespace(geometry=g, held=np.zeros(g.n_cells, bool), regions=[])
    heat = BioheatSolver(domain, TabulatedEnthalpy(table, np.zeros(g.n_cells, int)), lambda T: 0.5,
                         np.zeros(g.n_cells), 37.0, 37.0, 37.0, conductivity_varies=False, nonlinear_tolerance=1e-9)
    heat.source = np.where(g.centers[0] < 2e-3, 2e7, 0.0)
    worst = 0.0
    for _ in range(30):
        t_old = heat.T.copy()
        h_old = heat.storage.enthalpy(t_old)
        heat.step(2.0)
        # the rest of the operator: assemble with zero storage
        A, b, _, _ = heat.assemble(2.0, np.zeros(g.n_cells), t_old, np.zeros(g.n_cells))
        residual = g.volumes / 2.0 * (heat.storage.enthalpy(heat.T) - h_old) + A @ heat.T - b
        worst = max(worst, float(np.max(np.abs(residual) / (g.volumes * 2e7))))
    assert heat.T.max() > 61.0                 # the heated core went through the interval
    assert worst < 1e-6


def test_lesion_with_reused_amg_hierarchy_matches_fresh_direct_solves_on_3d_grid():
    """The 3-D electric solve keeps its AMG hierarchy across steps (rebuilt only when the
    iterations grow), warm-started from the last potential; with a fresh sparse LU of every matrix
    instead, the run's impedance, energy and lesion agree (the solves meet the same tolerance)."""
    def solved(preconditioner):
        # tip-only cooling, as when the figures below were measured (the electric solve is what is tested)
        s = coarse(probes=[{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "10 mm",
                            "rfa": {"electrode": "cooled_needle", "cool_shaft": False}}],
                   grid={"kind": "3d", "spacing": "1 mm", "max_spacing": "4 mm", "fine_margin": "3 mm", "growth": 1.5},
                   domain={"size": "36 mm", "center": [0, 0, 5]},
                   time={"duration": "8 s", "step": "2 s", "refine": False},
                   rfa={"protocol": "impedance_control", "power": "40 W"},
                   solver={"electric_preconditioner": preconditioner})
        return run(s)
    reused, fresh = solved("amg"), solved("direct")
    assert reused.domain.kind == "3d"
    assert reused.summary["device"]["electric_preconditioner_setups"] == 1     # one hierarchy, reused
    assert reused.summary["device"]["electric_iterations"] > 0
    volume, reference = reused.summary["lesion"]["volume_ml"], fresh.summary["lesion"]["volume_ml"]
    assert reference > 0.1                                   # mL (measured 0.177)
    assert abs(volume / reference - 1) < 0.005
    z, z_ref = (np.asarray(r.timeseries["impedance_ohm"]) for r in (reused, fresh))
    # impedance row by row: 1e-7 typically, 1.3e-5 at the row after the roll-off, located to its
    # 0.02 s resolution from margins that agree to the solver tolerance. Once a cell next to the
    # electrode reaches 100 degC its water loss switches sigma by a factor, and a 1e-7 difference in
    # its temperature moves the impedance by up to 0.25 % in that row (measured with the log-law wall)
    below_boiling = np.asarray(fresh.timeseries["max_temperature_C"]) < 99.99
    assert below_boiling.sum() >= 20
    assert np.max(np.abs(z / z_ref - 1)[below_boiling]) < 1e-4
    assert np.max(np.abs(z / z_ref - 1)) < 5e-3
    energy, energy_ref = reused.summary["device"]["energy_J"], fresh.summary["device"]["energy_J"]
    assert abs(energy / energy_ref - 1) < 1e-6


def test_generator_current_limit_caps_the_power():
    """With max_current the generator delivers min(P_set, I_max^2 Z): here 0.5 A into ~100 ohm is
    ~25 W, below the 60 W set, so every powered row carries exactly the limit current."""
    r = run(coarse(rfa={"protocol": "constant_power", "power": "60 W", "max_current": "0.5 A"},
                   time={"duration": "20 s", "step": "2 s", "refine": False}))
    current = np.asarray(r.timeseries["current_A"])[1:]
    power = np.asarray(r.timeseries["power_W"])[1:]
    impedance = np.asarray(r.timeseries["impedance_ohm"])[1:]
    assert np.all(power < 60.0)
    assert np.allclose(current, 0.5, rtol=1e-12)
    assert np.allclose(power, 0.25 * impedance, rtol=1e-12)


def test_the_hottest_cell_sits_at_an_electrode_edge_and_its_peak_depends_on_the_grid(tmp_path):
    """The current density at a sharp electrode edge is singular: the hottest cell lies within two
    cells of an active part's rim on both grids, and its temperature falls with the cell size (181.4
    -> 146.2 degC measured, 1 -> 0.5 mm, shaft cooled) while the lesion stays put (4.07 -> 4.01 mL). The report
    says so beside the temperature range. (With the harmonic face mean of k, before 2026-12-07: 212.8
    -> 152.1 degC, 4.10 -> 4.03 mL, the 1 mm peak 0.742 mm from the edge: a singular peak moves with
    any change near the rim; the lesion moved by 0.6 %.)"""
    from ablation.output.report import build_report
    results = {h: run(coarse(grid={"spacing": h}, time={"duration": "120 s", "step": "2 s", "refine": False}))
               for h in ("1 mm", "0.5 mm")}
    for result in results.values():
        hot = result.summary["device"]["hottest_cell"]
        assert hot["temperature_C"] == pytest.approx(result.summary["max_temperature_C"])
        assert hot["distance_to_electrode_edge_mm"] <= 2 * hot["cell_size_mm"]
    coarse_peak, fine_peak = (results[h].summary["device"]["hottest_cell"]["temperature_C"] for h in ("1 mm", "0.5 mm"))
    coarse_ml, fine_ml = (results[h].summary["lesion"]["volume_ml"] for h in ("1 mm", "0.5 mm"))
    assert coarse_peak - fine_peak > 0.1 * (coarse_peak - 37.0)
    assert abs(coarse_ml / fine_ml - 1) < 0.02
    _, markdown = build_report(tmp_path, results["1 mm"])
    assert "lies 0.519 mm from an electrode's edge" in markdown and "depends on the grid" in markdown


def test_tines_thinner_than_the_cells_are_warned():
    """A multitine's tines are the cells their centre lines cross: on cells wider than a tine the
    electrode is thicker than the wire, and the run says its zone depends on the grid."""
    from pathlib import Path
    from ablation import load_scenario
    from ablation.run.time_loop import tine_warnings
    s = load_scenario(Path(__file__).resolve().parent.parent / "scenarios/rfa_multitine.toml")
    (message,) = tine_warnings(s, 1.0)
    assert "probes[0]'s 0.4 mm tines" in message and "depend on the grid" in message
    assert tine_warnings(s, 0.4) == ()


def test_tissue_heated_past_vaporisation_is_measured_and_warned():
    """Tissue whose peak passed 150 degC has left the model's RF physics (no charring). Its volume
    is summed from the cells' peaks, set here by hand: a few electrode-rim cells, as every run has,
    stay silent; a third of the heated tissue, as a generator that never rolls off gives, is warned.
    (Measured: a 4 min cooled-needle run at 200 W holds 0.023 mL above 150 degC with the default
    30 ohm roll-off, 8.2 mL of 16.8 mL heated above 60 degC with roll-off out of reach.)"""
    from ablation.run.time_loop import OVERHEAT_C, overheated_tissue
    s = coarse()
    domain = build_domain(s)
    volumes, tissue = domain.geometry.volumes, np.flatnonzero(domain.tissue)
    t_max = np.full(domain.n_cells, 37.0)
    heated, rim = tissue[:300], tissue[:3]
    t_max[heated] = 90.0
    t_max[rim] = 400.0
    quiet = overheated_tissue(s, domain, t_max)
    assert quiet["volume_ml"] == pytest.approx(volumes[rim].sum() * 1e6, rel=1e-12)
    assert quiet["heated_above_60C_ml"] == pytest.approx(volumes[heated].sum() * 1e6, rel=1e-12)
    assert quiet["threshold_C"] == OVERHEAT_C and quiet["warning"] is None
    t_max[heated[:100]] = 300.0
    loud = overheated_tissue(s, domain, t_max)
    assert loud["volume_ml"] > 0.05 * loud["heated_above_60C_ml"]
    assert "passed 150 degC" in loud["warning"] and "no charring" in loud["warning"]


def test_the_fine_region_covers_a_multitine_arrays_tines():
    """The fine cells reach fine_margin beyond every active part, a multi-tine array's tines too:
    with the trocar alone in them, the tines of a 20 mm array lay in cells up to 3.1 mm here (of
    rfa_multitine.toml's 30 mm array, up to 4 mm, and its zone changed by a third with the margin).
    The resource estimate builds the same grid."""
    from ablation.run.estimate import estimate
    s = coarse(probes=[{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "2 mm",
                        "rfa": {"electrode": "multitine", "tines": 6, "deployed_diameter": "20 mm"}}],
               grid={"spacing": "1 mm", "max_spacing": "5 mm", "fine_margin": "3 mm", "growth": 1.4},
               domain={"size": "50 mm", "center": [0, 0, 5]})
    domain = build_domain(s)
    widths = domain.cell_widths()[:, domain.applicator_cells]
    assert widths.max() <= 1e-3 * (1 + 1e-9)
    assert estimate(s).cells == domain.n_cells


def test_far_field_ground_makes_a_constant_power_zone_independent_of_the_domain():
    """At constant power the share of the power spent far from the electrode sets the zone. With the
    ground on the outer faces that share grows with the domain, so a 60 and a 120 mm domain gave
    different zones; with the far-field ground (the tissue continued to infinity, its far part outside
    the grid) they agree, and the generator sees the larger, unbounded-medium impedance."""
    zones, impedance = {}, {}
    for ground in ("outer_boundary", "far_field"):
        for size in ("60 mm", "120 mm"):
            s = coarse(rfa={"protocol": "constant_power", "power": "25 W", "ground": ground},
                       domain={"size": size}, time={"duration": "120 s", "step": "2 s", "refine": False})
            r = run(s)
            zones[(ground, size)] = r.summary.lesion.volume_ml
            impedance[(ground, size)] = float(r.timeseries["impedance_ohm"][1])
            warned = [w for w in r.summary.grid.warnings if "leaves out" in w]
            assert bool(warned) == (ground == "outer_boundary"), warned   # the truncation is named
    def change(ground):
        return zones[(ground, "120 mm")] / zones[(ground, "60 mm")] - 1
    assert zones[("far_field", "60 mm")] > 0.5
    assert abs(change("far_field")) < 0.02 < 0.05 < abs(change("outer_boundary"))
    assert abs(impedance[("far_field", "120 mm")] / impedance[("far_field", "60 mm")] - 1) < 0.01
    assert impedance[("far_field", "60 mm")] > impedance[("outer_boundary", "120 mm")] > impedance[("outer_boundary", "60 mm")]

"""Radiofrequency ablation (modality ``rfa``): electrodes, Joule heating, tissue changes, protocols.

Per time step (PHYSICS.md section 2):

1. sigma(T) per cell from the temperature at the start of the step (:func:`tissue.electrical_conductivity`:
   +1.5 %/K to 100 degC, falling 100x over 100-105 degC: the roll-off);
2. one unit-potential electric solve (:mod:`ablation.electric`) gives the tissue impedance
   Z_t = 1/I1 and the Joule power per cell at 1 V;
3. the generator law (:mod:`ablation.protocols`) picks the power P from the impedance the generator
   sees, Z = Z_t + R_series, and the hottest tip sensor; the current is I = sqrt(P/Z), the electrode
   potential V0 = I Z_t, and the tissue receives V0^2 times the unit heating (W/m^3 per cell);
4. the bioheat step (enthalpy with water vaporisation: 1.8e9 J/m^3 released over 99-100 degC,
   rho c = 0.6 MJ/(m^3 K) above), perfusion shut down where Omega >= 1 (generic in the solver);
5. the three-state cell-death model (O'Neill et al. 2011) advances with the step's temperature.

Electrodes
----------
* ``needle``: the active part of the probe is an electrode (held cells at V0), its wall adiabatic;
  the shaft is an insulator.
* ``cooled_needle``: as ``needle`` with a Robin wall -k dT/dn = h (T - T_cool) on the active part
  (h = 3366 W/(m^2 K), MITA model; T_cool 10 degC, Lopez-Molina, Rivera & Berjano 2012: 5-25 degC
  give similar profiles), optionally on the shaft too.
* ``multitine``: N tines deployed from the tip, straight or curved (circular arcs), reaching a
  deployed diameter. Tines are thin (0.3-0.5 mm) and need the 3-D grid; they are represented as
  *electrode cells* (the cells their centre line passes through, plus those within their radius):
  held at V0 in the electric problem, ordinary tissue cells in the heat problem (the metal's heat
  capacity and conduction are neglected). The temperature of the cell at each tine's end is that
  tine's tip sensor.

Tip temperature: for needles, the wall temperature over the electrode faces within ``sensor_length``
of the tip (area-weighted; a cooled wall's temperature is (h T_cool + (k/d) T_cell)/(h + k/d)); the
control laws use the hottest sensor of all probes and tines.
"""
from __future__ import annotations

import math

import numpy as np

from .electric import ElectricSolver
from .bioheat import TabulatedEnthalpy
from .model import Model as BaseModel
from .protocols import build_controller
from .schema import Boolean, Choice, Integer, Number, Quantity, Table
from .tissue import electrical_conductivity

# PHYSICS.md section 2 constants (sources next to each)
LATENT_HEAT_WATER = 2260e3            # J/kg, latent heat of vaporisation of water at 100 degC
VAPORISED_RHO_C = 0.6e6               # J/(m^3 K) after vaporisation (Berjano-group models; range 0.44-0.8e6)
VAPORISATION_END = 100.0              # degC, all water released by 100 degC (Berjano-group models)
BLOOD_ELECTRICAL_CONDUCTIVITY = 0.7   # S/m, blood near 500 kHz (IT'IS database order of magnitude, unverified)

SECTION_SPEC = Table("radiofrequency generator, its control law and RF tissue model (modality 'rfa')", {}, fields={
    "protocol": Choice("generator control law: 'constant_power', 'impedance_control' (power off for off_time "
                       "at each roll-off), 'temperature_control' (PI on the hottest tip sensor), 'leveen' "
                       "(Boston Scientific roll-off algorithm as encoded by Go-Smart)", "impedance_control",
                       options=("constant_power", "impedance_control", "temperature_control", "leveen")),
    "power": Quantity("set power (constant_power, impedance_control) or maximum power (temperature_control, "
                      "leveen); Cool-tip / RF3000 generators: 200 W (device facts unverified)", "200 W",
                      dimension="power", minimum=0.0, exclusive_minimum=True),
    "ramp_time": Quantity("the power rises linearly from 0 over this time", "0 s", dimension="time", minimum=0.0),
    "rolloff_criterion": Choice("roll-off when the impedance rises 'rise_over_baseline' (rolloff_rise over its "
                                "running minimum; the default, PHYSICS.md 2) or exceeds an 'absolute' "
                                "rolloff_impedance", "rise_over_baseline", options=("rise_over_baseline", "absolute")),
    "rolloff_rise": Quantity("impedance rise over the baseline that counts as roll-off (assumption: the "
                             "modelled impedance rises far more than this at desiccation)", "30 ohm",
                             dimension="resistance", minimum=0.0, exclusive_minimum=True),
    "rolloff_impedance": Quantity("absolute roll-off impedance (MITA model: 120 ohm)", "120 ohm",
                                  dimension="resistance", minimum=0.0, exclusive_minimum=True),
    "off_time": Quantity("impedance_control: power off after a roll-off (MITA model, PHYSICS.md: 15 s)", "15 s",
                         dimension="time", minimum=0.0),
    "target_temperature": Quantity("temperature_control: target of the hottest tip sensor (below the 100 degC "
                                   "roll-off of sigma(T); RITA generators target ~105 degC, unverified)",
                                   "95 degC", dimension="temperature"),
    "proportional_gain": Quantity("temperature_control: Kp of P = Kp e + Ki int e dt (tuned here on a needle: 2 W/K "
                                  "gave a 6 K two-step limit cycle with 1 s steps)", "0.5 W/K",
                                  dimension="gain_power_per_kelvin", minimum=0.0),
    "integral_gain": Quantity("temperature_control: Ki", "0.1 W/(K s)", dimension="gain_power_per_kelvin_second",
                              minimum=0.0),
    "integral_band": Quantity("temperature_control: the integral term accumulates only while |T_target - T_tip| "
                              "is below this (integral separation against overshoot)", "10 K",
                              dimension="temperature_difference", minimum=0.0, exclusive_minimum=True),
    "leveen_window": Quantity("leveen: a first roll-off before this time leads to the reduced-power phase",
                              "5 min", dimension="time", minimum=0.0),
    "leveen_off_time": Quantity("leveen: power off after the first roll-off", "30 s", dimension="time", minimum=0.0),
    "leveen_reduced_fraction": Number("leveen: reduced power as a fraction of the power at roll-off [1]", 0.5,
                                      minimum=0.0, maximum=1.0),
    "leveen_reduced_time": Quantity("leveen: longest reduced-power phase", "300 s", dimension="time", minimum=0.0),
    "leveen_max_time": Quantity("leveen: delivery ends at this time", "900 s", dimension="time", minimum=0.0),
    "series_resistance": Quantity("resistance of the rest of the circuit (pad, body, cables) in series with the "
                                  "modelled tissue; the generator sees Z_tissue + this", "0 ohm",
                                  dimension="resistance", minimum=0.0),
    "ground": Choice("'outer_boundary': every outer face of the domain at 0 V (a distant ground); 'far_face': "
                     "only the domain face the first probe points at (a dispersive pad)", "outer_boundary",
                     options=("outer_boundary", "far_face")),
    "conductivity_drop": Number("sigma at 105 degC as a fraction of its 100 degC value [1] (PHYSICS.md: 1e-2, "
                                "range 1e-2 to 1e-4)", 1e-2, minimum=1e-6, maximum=1.0),
    "vaporisation": Boolean("release the latent heat of tissue water (2260 kJ/kg x water_content x rho) over "
                            "vaporisation_interval below 100 degC (enthalpy formulation)", True),
    "vaporisation_interval": Quantity("temperature interval below 100 degC over which water vaporises "
                                      "(Berjano-group models 1 K; MITA 10 K)", "1 K",
                                      dimension="temperature_difference", minimum=0.0, exclusive_minimum=True),
    "vaporised_heat_capacity": Number("rho c after vaporisation, in MJ/(m^3 K) (PHYSICS.md 2: about 0.6, "
                                      "range 0.44-0.8)", 0.6, minimum=0.0, exclusive_minimum=True),
    "blood_electrical_conductivity": Quantity("electrical conductivity of blood in vessel lumens (IT'IS order "
                                              "of magnitude near 500 kHz, unverified)", "0.7 S/m",
                                              dimension="electrical_conductivity", minimum=0.0, exclusive_minimum=True),
    "three_state_kf": Quantity("three-state model kf0 (O'Neill et al. 2011)", "3.33e-3 1/s", dimension="rate",
                               minimum=0.0),
    "three_state_kb": Quantity("three-state model kb (O'Neill et al. 2011)", "7.77e-3 1/s", dimension="rate",
                               minimum=0.0),
    "three_state_tk": Quantity("three-state model Tk in kf = kf0 exp(T/Tk), T in degC (O'Neill et al. 2011)",
                               "40.5 K", dimension="temperature_difference", minimum=0.0, exclusive_minimum=True),
    "three_state_alive": Number("three-state model initial alive fraction A0 [1] (O'Neill et al. 2011)", 0.99,
                                minimum=0.0, maximum=1.0),
    "preconditioner": Choice("electric solve preconditioner, reused across steps until sigma has drifted: "
                             "'auto' (LU on axisymmetric grids, AMG on 3-D grids; chosen by measurement, see "
                             "ablation/electric.py), 'lu' (sparse LU), 'amg' (pyamg smoothed aggregation), 'jacobi'",
                             "auto", options=("auto", "lu", "amg", "jacobi")),
})

PROBE_SPEC = Table("RF electrode of this probe (modality 'rfa')", {}, fields={
    "electrode": Choice("'needle' (exposed active tip, adiabatic wall), 'cooled_needle' (internally cooled: "
                        "Robin wall with the coolant), 'multitine' (tines deployed from the tip; 3-D grid)",
                        "needle", options=("needle", "cooled_needle", "multitine")),
    "coolant_temperature": Quantity("cooled_needle: coolant temperature (Lopez-Molina, Rivera & Berjano 2012: "
                                    "5-25 degC give similar profiles)", "10 degC", dimension="temperature"),
    "coolant_heat_transfer_coefficient": Quantity("cooled_needle: wall-to-coolant coefficient h (MITA model)",
                                                  "3366 W/(m^2 K)", dimension="heat_transfer_coefficient",
                                                  minimum=0.0, exclusive_minimum=True),
    "cool_shaft": Boolean("cooled_needle: the coolant also cools the insulated shaft wall", False),
    "sensor_length": Quantity("needle tip sensor: electrode wall within this distance of the tip", "1 mm",
                              dimension="length", minimum=0.0, exclusive_minimum=True),
    "tines": Integer("multitine: number of tines (RITA StarBurst: 9; LeVeen: 10-12)", 9, minimum=1, maximum=32),
    "deployed_diameter": Quantity("multitine: diameter of the deployed array (RITA 2-5 cm)", "30 mm",
                                  dimension="length", minimum=0.0, exclusive_minimum=True),
    "tine_shape": Choice("multitine: 'curved' (circular arcs leaving the tip along the probe) or 'straight'",
                         "curved", options=("curved", "straight")),
    "tine_angle": Quantity("multitine: angle between the probe direction and the tine at its end (curved tines "
                           "turn through it; straight tines keep it); 90 deg: ends perpendicular to the probe, "
                           "180 deg: umbrella curving back (LeVeen)", "90 deg", dimension="angle",
                           minimum=0.0, exclusive_minimum=True, maximum=math.pi),
    "tine_diameter": Quantity("multitine: tine diameter (thin wires, assumption)", "0.4 mm", dimension="length",
                              minimum=0.0, exclusive_minimum=True),
})


def check_scenario(scenario, errors) -> None:
    spec = scenario.rfa
    if spec.protocol == "temperature_control" and spec.proportional_gain == 0 and spec.integral_gain == 0:
        errors.append(("rfa.integral_gain", "0 with proportional_gain 0; temperature_control needs a gain"))
    for i, probe in enumerate(scenario.probes):
        p = probe.rfa
        where = f"probes[{i}].rfa"
        if p.electrode == "multitine":
            tip = np.asarray(probe.tip)
            half = scenario.domain.size / 2.0
            from .scenario import domain_center
            far = np.abs(tip - domain_center(scenario)) + p.deployed_diameter
            if np.any(far > half):
                errors.append((f"{where}.deployed_diameter", f"{p.deployed_diameter * 1e3:g} mm: the deployed "
                               "tines reach outside the domain; expected a smaller array or a larger domain.size"))
            if p.tine_shape == "straight" and p.tine_angle >= math.pi - 1e-6:
                errors.append((f"{where}.tine_angle", "180 deg: straight tines would run back along the shaft; "
                                                      "expected less than 180 deg"))


def axisymmetry_breaker(scenario) -> str:
    for i, probe in enumerate(scenario.probes):
        if probe.rfa is not None and probe.rfa.electrode == "multitine":
            return f"probes[{i}] is a multi-tine electrode (tines need the 3-D grid)"
    return ""


# ------------------------------------------------------------------------------------------- tines
def tine_paths(tip, direction, spec, spacing: float) -> list[np.ndarray]:
    """Centre-line points (3, n) of each tine of a multi-tine array (m), sampled every ``spacing``.

    Tine j leaves the tip along the probe direction d at azimuth 2 pi j / N (unit radial e_j).
    Curved: a circular arc of radius rho turning from d towards e_j through ``tine_angle`` theta_e,
    x(theta) = tip + rho sin(theta) d + rho (1 - cos(theta)) e_j, with rho chosen so that the largest
    radial reach is deployed_diameter / 2 (rho (1 - cos theta_e) for theta_e <= 180 deg).
    Straight: a line at angle theta_e to d reaching radius deployed_diameter / 2.
    """
    from .geometry import orthonormal_frame
    frame = orthonormal_frame(direction)
    d = frame[:, 2]
    reach = spec.deployed_diameter / 2.0
    theta_e = spec.tine_angle
    paths = []
    for j in range(spec.tines):
        phi = 2.0 * math.pi * j / spec.tines
        e = math.cos(phi) * frame[:, 0] + math.sin(phi) * frame[:, 1]
        if spec.tine_shape == "curved":
            rho = reach / (1.0 - math.cos(min(theta_e, math.pi)))
            length = rho * theta_e
            n = max(3, int(math.ceil(length / spacing)) + 1)
            theta = np.linspace(0.0, theta_e, n)
            pts = tip[:, None] + rho * (np.sin(theta)[None, :] * d[:, None]
                                        + (1.0 - np.cos(theta))[None, :] * e[:, None])
        else:
            length = reach / math.sin(theta_e)
            n = max(3, int(math.ceil(length / spacing)) + 1)
            s = np.linspace(0.0, length, n)
            direction_j = math.cos(theta_e) * d + math.sin(theta_e) * e
            pts = tip[:, None] + direction_j[:, None] * s[None, :]
        paths.append(pts)
    return paths


def rasterise_path(domain, points: np.ndarray, radius: float) -> tuple[np.ndarray, int]:
    """Cells of a 3-D grid that a centre line passes through or whose centres lie within ``radius``;
    also the cell containing the path's last point (its tip)."""
    idx = []
    for ax in range(3):
        k = np.searchsorted(domain.edges[ax], points[ax], side="right") - 1
        idx.append(np.clip(k, 0, domain.shape[ax] - 1))
    idx = np.vstack(idx)
    nx, ny, _ = domain.shape
    cells = idx[0] + nx * (idx[1] + ny * idx[2])
    mask = np.zeros(domain.n_cells, bool)
    mask[cells] = True
    centres = domain.world_points()
    near = np.zeros(domain.n_cells, bool)
    for a, b in zip(points.T[:-1], points.T[1:]):
        lo = np.minimum(a, b) - radius
        hi = np.maximum(a, b) + radius
        box = np.all((centres >= lo[:, None]) & (centres <= hi[:, None]), axis=0)
        if not box.any():
            continue
        ab = b - a
        rel = centres[:, box] - a[:, None]
        s = np.clip((ab @ rel) / max(float(ab @ ab), 1e-30), 0.0, 1.0)
        dist = np.linalg.norm(rel - ab[:, None] * s, axis=0)
        near[np.nonzero(box)[0][dist <= radius]] = True
    return mask | near, int(cells[-1])


# ------------------------------------------------------------------------------------------- model
class Model(BaseModel):
    """RF ablation: electric solve, generator law, Joule heating, vaporisation, three-state death."""
    default_criterion = "arrhenius"
    report_criteria = ("arrhenius", "arrhenius_99", "max_temperature:50", "max_temperature:60", "three_state")

    def __init__(self, scenario, domain, properties):
        super().__init__(scenario, domain, properties)
        self.spec = scenario.rfa
        self._build_electrodes()
        self.controller = build_controller(self.spec)
        # vessel lumens are held in the heat problem but conduct current (blood)
        self._vessel = np.zeros(domain.n_cells, bool)
        for region in domain.regions:
            if region.kind == "vessel":
                self._vessel |= region.mask
        self.electric = ElectricSolver(domain.geometry, self.electrode, self.insulator, self._ground_faces(),
                                       preconditioner=self._preconditioner(),
                                       tolerance=max(scenario.solver.tolerance, 1e-9),
                                       max_iterations=scenario.solver.max_iterations)
        n = domain.n_cells
        self.alive = np.full(n, self.spec.three_state_alive)
        self.dead = np.zeros(n)
        self.potential = np.zeros(n)
        self.joule = np.zeros(n)
        self.sigma_cell = np.zeros(n)
        self._row = {}
        self._t_old = None
        self.electric_iterations = 0

    # ----------------------------------------------------------------- geometry
    def _build_electrodes(self):
        d = self.domain
        n = d.n_cells
        self.electrode = np.zeros(n, bool)
        self.insulator = np.zeros(n, bool)
        for region in d.regions:
            if region.kind == "probe_active":
                self.electrode |= region.mask
            elif region.kind == "probe_shaft":
                self.insulator |= region.mask
        self.tine_cells = np.zeros(n, bool)
        self.tine_tips: list[int] = []
        for i, probe in enumerate(self.scenario.probes):
            if probe.rfa.electrode != "multitine":
                continue
            spacing = min(float(np.min(np.diff(e))) for e in d.edges) / 4.0
            for path in tine_paths(np.asarray(probe.tip), np.asarray(probe.direction) /
                                   np.linalg.norm(probe.direction), probe.rfa, spacing):
                cells, tip_cell = rasterise_path(d, path, probe.rfa.tine_diameter / 2.0)
                self.tine_cells |= cells & d.tissue
                self.tine_tips.append(tip_cell)
        self.electrode |= self.tine_cells
        self.insulator &= ~self.electrode

    def _preconditioner(self) -> str:
        if self.spec.preconditioner != "auto":
            return self.spec.preconditioner
        return "lu" if self.domain.kind == "axisymmetric" else "amg"

    def _ground_faces(self):
        g = self.domain.geometry
        if self.spec.ground == "outer_boundary":
            return np.ones(g.boundary_cell.size, bool)
        if self.domain.kind == "axisymmetric":
            z = g.boundary_center[1]
            return np.isclose(z, z.max()) & (g.boundary_area > 0)
        d = np.asarray(self.scenario.probes[0].direction, float)
        axis = int(np.argmax(np.abs(d)))
        coord = g.boundary_center[axis]
        target = coord.max() if d[axis] > 0 else coord.min()
        return np.isclose(coord, target)

    # ----------------------------------------------------------------- properties
    def storage(self):
        """Enthalpy per material: rho c T up to 100 degC - dT, the latent heat of the tissue water
        (2260 kJ/kg x water content x rho) released linearly over dT, rho c_vap above 100 degC."""
        if not self.spec.vaporisation:
            return super().storage()
        tables = []
        dT = self.spec.vaporisation_interval
        rc_vap = self.spec.vaporised_heat_capacity * 1e6
        for m in self.properties.materials:
            rc = m["density"] * m["specific_heat"]
            latent = LATENT_HEAT_WATER * m["water_content"] * m["density"]
            t0 = VAPORISATION_END - dT
            tables.append(([0.0, t0, VAPORISATION_END, VAPORISATION_END + 1.0],
                           [0.0, rc * t0, rc * t0 + rc * dT + latent, rc * t0 + rc * dT + latent + rc_vap]))
        return TabulatedEnthalpy(tables, self.properties.material)

    def electrical_conductivity(self, temperature) -> np.ndarray:
        """sigma(T) per cell (S/m): tissue law, blood in vessel lumens."""
        sigma = electrical_conductivity(self.properties["electrical_conductivity"],
                                        self.properties["electrical_conductivity_slope"], temperature,
                                        drop_to=self.spec.conductivity_drop)
        return np.where(self._vessel, self.spec.blood_electrical_conductivity, sigma)

    # ----------------------------------------------------------------- hooks
    def setup(self, heat) -> None:
        for i, probe in enumerate(self.scenario.probes):
            p = probe.rfa
            for kind in ("probe_active", "probe_shaft"):
                surface = heat.surface(kind, i)
                if surface is None:
                    continue
                cooled = p.electrode == "cooled_needle" and (kind == "probe_active" or p.cool_shaft)
                if cooled:
                    surface.bc, surface.value = "convection", p.coolant_temperature
                    surface.h = p.coolant_heat_transfer_coefficient
                    heat.set_held_temperature(surface, p.coolant_temperature)
                else:
                    surface.bc = "adiabatic"
        self._sensors = self._needle_sensors(heat)

    def _needle_sensors(self, heat):
        """(surface, face selection) of each needle's tip sensor."""
        sensors = []
        pts = self.domain.world_points()
        for i, probe in enumerate(self.scenario.probes):
            if probe.rfa.electrode == "multitine":
                continue
            surface = heat.surface("probe_active", i)
            if surface is None or surface.cell.size == 0:
                continue
            dist = np.linalg.norm(pts[:, surface.cell] - np.asarray(probe.tip)[:, None], axis=0)
            near = dist <= probe.rfa.sensor_length + 0.5 * float(np.max(self.domain.cell_widths()[:, surface.cell]))
            if not near.any():
                near = dist <= dist.min() + 1e-12
            sensors.append((surface, near))
        return sensors

    def tip_temperature(self, heat) -> float:
        """Hottest tip sensor (degC): needle walls near the tip and the cells at the tine ends."""
        values = []
        k = heat._k_cell if heat._k_cell is not None else self.conductivity(heat.T)
        for surface, near in self._sensors:
            cells = surface.cell[near]
            t_cell = heat.T[cells]
            if surface.bc == "convection":
                g_t = np.asarray(k)[cells] / surface.distance[near]
                t_wall = (surface.h * surface.value + g_t * t_cell) / (surface.h + g_t)
            else:
                t_wall = t_cell
            a = surface.area[near]
            values.append(float(np.sum(a * t_wall) / np.sum(a)))
        if self.tine_tips:
            values.append(float(np.max(heat.T[self.tine_tips])))
        return max(values) if values else float("nan")

    def before_step(self, t, dt, heat, damage):
        self._t_old = heat.T.copy()
        self.sigma_cell = self.electrical_conductivity(heat.T)
        unit = self.electric.solve_unit(self.sigma_cell)
        self.electric_iterations += unit.iterations
        z_tissue = unit.impedance
        z_total = z_tissue + self.spec.series_resistance
        tip = self.tip_temperature(heat)
        power = float(self.controller.power(t, dt, z_total, tip))
        current = math.sqrt(power / z_total) if power > 0 else 0.0
        v_tissue = current * z_tissue
        V = self.domain.geometry.volumes
        self.joule = v_tissue ** 2 * unit.heating / V
        heat.source = heat.source + self.joule
        self.potential = v_tissue * unit.phi
        tissue_power = v_tissue ** 2 * float(np.sum(unit.heating[self.domain.tissue]))
        self._row = {"power_W": power, "voltage_V": current * z_total, "current_A": current,
                     "impedance_ohm": z_total, "tissue_impedance_ohm": z_tissue,
                     "tissue_power_W": tissue_power, "electric_iterations": unit.iterations}

    def after_step(self, t, dt, heat, damage, report):
        self._advance_three_state(self._t_old, heat.T, dt)
        row = dict(self._row)
        row["tip_temperature_C"] = self.tip_temperature(heat)
        return row

    def _advance_three_state(self, t_old, t_new, dt):
        """dA/dt = -kf A (1 - A) + kb V, dD/dt = kf (1 - A) V, V = 1 - A - D, kf = kf0 exp(T/Tk)
        (O'Neill et al. 2011; T in degC), explicit midpoint (RK2) with sub-steps of kf dt <= 0.1."""
        s = self.spec
        temperature = 0.5 * (t_old + t_new)
        kf = s.three_state_kf * np.exp(temperature / s.three_state_tk)
        kb = s.three_state_kb
        n_sub = max(1, int(math.ceil(float(np.max(kf + kb)) * dt / 0.1)))
        h = dt / n_sub
        a, d = self.alive, self.dead

        def rates(a, d):
            v = 1.0 - a - d
            return -kf * a * (1.0 - a) + kb * v, kf * (1.0 - a) * v
        for _ in range(n_sub):
            ra, rd = rates(a, d)
            ra2, rd2 = rates(a + 0.5 * h * ra, d + 0.5 * h * rd)
            a = np.clip(a + h * ra2, 0.0, 1.0)
            d = np.clip(d + h * rd2, 0.0, 1.0 - a)
        self.alive, self.dead = a, d

    def extra_fields(self) -> dict:
        return {"dead_fraction": self.dead, "electric_potential_V": self.potential,
                "joule_heating_W_m3": self.joule, "electrical_conductivity_S_m": self.sigma_cell}

    def device_summary(self, timeseries: dict) -> dict:
        time = np.asarray(timeseries["time_s"], float)
        power = np.asarray(timeseries.get("power_W", [0.0] * time.size), float)
        tissue_power = np.asarray(timeseries.get("tissue_power_W", [0.0] * time.size), float)
        # each row holds the power of the step that ends at its time (row 0 repeats row 1)
        dt = np.diff(time)
        energy = float(np.sum(power[1:] * dt))
        tissue_energy = float(np.sum(tissue_power[1:] * dt))
        imp = np.asarray(timeseries.get("impedance_ohm", [float("nan")]), float)
        tmax = np.asarray(timeseries.get("max_temperature_C", [float("nan")]), float)
        tip = np.asarray(timeseries.get("tip_temperature_C", [float("nan")]), float)
        return {"energy_J": energy, "tissue_energy_J": tissue_energy,
                "rolloffs": {"count": len(self.controller.rolloff_times),
                             "times_s": [float(x) for x in self.controller.rolloff_times]},
                "max_temperature_C": float(np.nanmax(tmax)), "max_tip_temperature_C": float(np.nanmax(tip)),
                "final_impedance_ohm": float(imp[-1]), "min_impedance_ohm": float(np.nanmin(imp)),
                "mean_power_W": energy / float(time[-1] - time[0]) if time.size > 1 else 0.0,
                "protocol": self.spec.protocol, "electric_iterations": int(self.electric_iterations),
                "electric_preconditioner_setups": int(self.electric.setups)}

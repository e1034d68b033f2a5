"""Scenario tables of each modality's device: the [rfa] and [cryo] sections and each probe's
[probes.thermal], [probes.rfa] or [probes.cryo] table, with their cross-field checks. The values
they default to, and the catalogues they name, belong to the modalities (:mod:`ablation.modalities`)."""
from __future__ import annotations

import math

import numpy as np

from ablation.input.models import DEFAULT_MODEL
from ablation.input.plausibility import (DEVICE_LIMITS, HEAT_FLUX_LIMIT, HEAT_TRANSFER_LIMIT,
                                        MAX_RF_ELECTRODE_DIAMETER_M, PROPERTY_MAXIMA, device_limits)
from ablation.input.schema import Boolean, Choice, Integer, ListOf, Number, Quantity, Schedule, String, Table
from ablation.modalities.channels import ACTIVATIONS, probe_channels
from ablation.modalities.cryo import CATALOGUE, GENERIC, PHASES, probe_settings
from ablation.physics.tissue import preset_values
from ablation.run.setup import domain_center

# ----------------------------------------------------------------------------------------- thermal

THERMAL_PROBE = Table("generic thermal probe (modality 'thermal'): condition on the active wall", {}, fields={
    "wall": Choice("'temperature': wall follows temperature_schedule; 'convection': fluid at "
                   "temperature_schedule with heat_transfer_coefficient; 'heat_flux': heat_flux_schedule "
                   "(W/m^2 into tissue; negative cools); 'adiabatic'", "temperature",
                   options=("temperature", "convection", "heat_flux", "adiabatic")),
    "temperature_schedule": Schedule("wall or fluid temperature over time, piecewise linear, held after the "
                                     "last point", None, value_dimension="temperature"),
    "heat_flux_schedule": Schedule(f"heat flux into the tissue over time, at most {HEAT_FLUX_LIMIT[0]:g} W/m^2 "
                                   "either way", None, value_dimension="heat_flux", value_limit=HEAT_FLUX_LIMIT[0],
                                   limit_reason=HEAT_FLUX_LIMIT[1]),
    "heat_transfer_coefficient": Quantity("wall-to-fluid coefficient for 'convection'", None,
                                          dimension="heat_transfer_coefficient", nullable=True,
                                          minimum=0.0, exclusive_minimum=True,
                                          maximum=HEAT_TRANSFER_LIMIT[0], bound_reason=HEAT_TRANSFER_LIMIT[1]),
})


def check_thermal(scenario, errors) -> None:
    for i, probe in enumerate(scenario.probes):
        spec = probe.thermal
        where = f"probes[{i}].thermal"
        if spec.wall in ("temperature", "convection") and spec.temperature_schedule is None:
            errors.append((f"{where}.temperature_schedule",
                           f"missing; wall = {spec.wall!r} needs a schedule such as [['0 s', '90 degC']]"))
        if spec.wall == "convection" and spec.heat_transfer_coefficient is None:
            errors.append((f"{where}.heat_transfer_coefficient", "missing; wall = 'convection' needs it"))
        if spec.wall == "heat_flux" and spec.heat_flux_schedule is None:
            errors.append((f"{where}.heat_flux_schedule",
                           "missing; wall = 'heat_flux' needs a schedule such as [['0 s', '5000 W/m^2']]"))



# ----------------------------------------------------------------------------------------- rfa
# (s, reason): the shortest power-off pause after a roll-off
OFF_TIME_MINIMUM = (5.0, "the generator algorithms in docs/physics.md 2 pause 15-30 s after a roll-off (the MITA "
                         "model 15 s, the LeVeen algorithm as Go-Smart encodes it 30 s) for the dry tissue at the "
                         "electrode to cool and rehydrate; with a shorter pause it rolls off again at nearly every "
                         "control step (0 s: 39 roll-offs in 40 s and ten times the solve time)")

RFA_SECTION = Table("radiofrequency generator, its control law and RF tissue model (modality 'rfa')", {}, fields={
    "protocol": Choice("generator control law: 'constant_power', 'impedance_control' (power off for off_time "
                       "at each roll-off), 'temperature_control' (PI on the hottest tip sensor), 'leveen' "
                       "(Boston Scientific roll-off algorithm as encoded by Go-Smart)", "impedance_control",
                       options=("constant_power", "impedance_control", "temperature_control", "leveen")),
    "power": Quantity("set power (constant_power, impedance_control) or maximum power (temperature_control, "
                      "leveen); Cool-tip / RF3000 generators: 200 W (device facts unverified); at most 1 kW, "
                      "several times any clinical RF generator's 200-250 W, so a larger value is a typing or unit "
                      "error", "200 W", dimension="power", minimum=0.0, exclusive_minimum=True, maximum=1000.0),
    "ramp_time": Quantity("the power rises linearly from 0 over this time", "0 s", dimension="time", minimum=0.0),
    "rolloff_criterion": Choice("roll-off when the impedance rises 'rise_over_baseline' (rolloff_rise over its "
                                "running minimum; the default, docs/physics.md 2) or exceeds an 'absolute' "
                                "rolloff_impedance", "rise_over_baseline", options=("rise_over_baseline", "absolute")),
    "rolloff_rise": Quantity("impedance rise over the baseline that counts as roll-off (assumption: the "
                             "modelled impedance rises far more than this at desiccation)", "30 ohm",
                             dimension="resistance", minimum=0.0, exclusive_minimum=True,
                             **device_limits("rolloff_rise")),
    "rolloff_impedance": Quantity("absolute roll-off impedance (MITA model: 120 ohm)", "120 ohm",
                                  dimension="resistance", **device_limits("rolloff_impedance")),
    "off_time": Quantity("impedance_control: power off after a roll-off (MITA model, docs/physics.md: 15 s)", "15 s",
                         dimension="time", minimum=OFF_TIME_MINIMUM[0], bound_reason=OFF_TIME_MINIMUM[1]),
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
    "leveen_off_time": Quantity("leveen: power off after the first roll-off", "30 s", dimension="time",
                                minimum=OFF_TIME_MINIMUM[0], bound_reason=OFF_TIME_MINIMUM[1]),
    "leveen_reduced_fraction": Number("leveen: reduced power as a fraction of the power at roll-off [1]", 0.5,
                                      minimum=0.0, maximum=1.0),
    "leveen_reduced_time": Quantity("leveen: longest reduced-power phase", "300 s", dimension="time", minimum=0.0),
    "leveen_max_time": Quantity("leveen: delivery ends at this time", "900 s", dimension="time", minimum=0.0),
    "activation": Choice("how one generator drives several electrode channels (probes[i].rfa.channel; "
                         "ablation/modalities/channels.py): 'simultaneous' (all at one potential), 'sequential' "
                         "(channels in turn, each for channel_time under the protocol) or 'switching' (power "
                         "moved to the next channel at a roll-off of the active one or after switch_time)",
                         "simultaneous", options=ACTIVATIONS),
    "channel_time": Quantity("sequential: each channel's time (default: time.duration / number of channels)", None,
                             dimension="time", nullable=True, minimum=0.0, exclusive_minimum=True),
    "switch_time": Quantity("switching: longest time on one channel before the power moves on (assumption: no "
                            "published dwell time found; only the 30 ohm roll-off rule is published, Francica "
                            "et al., Br J Radiol 2018;92:20180625)", "30 s", dimension="time",
                            minimum=0.0, exclusive_minimum=True),
    "max_current": Quantity("the generator's current limit: the power is at most I_max^2 x the impedance it sees "
                            "(default: none; generators are current-limited, e.g. Goldberg et al.'s clustered "
                            "electrode runs peaked at 1400-2150 mA, but no manufacturer figure was found)", None,
                            dimension="current", nullable=True, minimum=0.0, exclusive_minimum=True,
                            **device_limits("max_current")),
    "series_resistance": Quantity("resistance of the rest of the circuit (pad, body, cables) in series with the "
                                  "modelled tissue; the generator sees Z_tissue + this", "0 ohm",
                                  dimension="resistance", minimum=0.0, **device_limits("series_resistance")),
    "ground": Choice("'outer_boundary': every outer face of the domain at 0 V (a distant ground); 'far_field': "
                     "the tissue continued beyond every outer face to a ground at infinity (the zone does not "
                     "depend on the domain size); 'far_face': only the domain face the first probe points at "
                     "(a dispersive pad)", "outer_boundary", options=("outer_boundary", "far_field", "far_face")),
    "conductivity_drop": Number("sigma at 105 degC as a fraction of its 100 degC value [1] (docs/physics.md: 1e-2, "
                                "range 1e-2 to 1e-4)", 1e-2, minimum=1e-6, maximum=1.0),
    "vaporisation": Boolean("release the latent heat of tissue water (2260 kJ/kg x water_content x rho) over "
                            "vaporisation_interval below 100 degC (enthalpy formulation)", True),
    "vaporisation_interval": Quantity("temperature interval below 100 degC over which water vaporises "
                                      "(Berjano-group models 1 K; MITA 10 K)", "1 K",
                                      dimension="temperature_difference", minimum=0.0, exclusive_minimum=True,
                                      **device_limits("vaporisation_interval")),
    "vaporised_heat_capacity": Number("rho c after vaporisation, in MJ/(m^3 K) (docs/physics.md 2: about 0.6, "
                                      "range 0.44-0.8)", 0.6, minimum=0.0, exclusive_minimum=True,
                                      maximum=DEVICE_LIMITS["vaporised_heat_capacity"][1]),
    "blood_electrical_conductivity": Quantity("electrical conductivity of blood in vessel lumens (IT'IS order "
                                              "of magnitude near 500 kHz, unverified)", "0.7 S/m",
                                              dimension="electrical_conductivity", minimum=0.0, exclusive_minimum=True,
                                              maximum=PROPERTY_MAXIMA["electrical_conductivity"][0],
                                              bound_reason=PROPERTY_MAXIMA["electrical_conductivity"][1]),
    "three_state_kf": Quantity("three-state model kf0 (O'Neill et al. 2011)", "3.33e-3 1/s", dimension="rate",
                               minimum=0.0, **device_limits("three_state_rate")),
    "three_state_kb": Quantity("three-state model kb (O'Neill et al. 2011)", "7.77e-3 1/s", dimension="rate",
                               minimum=0.0, **device_limits("three_state_rate")),
    "three_state_tk": Quantity("three-state model Tk in kf = kf0 exp(T/Tk), T in degC (O'Neill et al. 2011)",
                               "40.5 K", dimension="temperature_difference", **device_limits("three_state_tk")),
    "three_state_alive": Number("three-state model initial alive fraction A0 [1] (O'Neill et al. 2011)", 0.99,
                                minimum=0.0, maximum=1.0),
})

RFA_PROBE = Table("RF electrode of this probe (modality 'rfa')", {}, fields={
    "electrode": Choice("'needle' (exposed active tip, adiabatic wall), 'cooled_needle' (internally cooled: "
                        "Robin wall with the coolant), 'multitine' (tines deployed from the tip; 3-D grid)",
                        "needle", options=("needle", "cooled_needle", "multitine")),
    "coolant_temperature": Quantity("cooled_needle: coolant temperature (Lopez-Molina, Rivera & Berjano 2012: "
                                    "5-25 degC give similar profiles)", "10 degC", dimension="temperature"),
    "coolant_heat_transfer_coefficient": Quantity("cooled_needle: wall-to-coolant coefficient h (MITA model)",
                                                  "3366 W/(m^2 K)", dimension="heat_transfer_coefficient",
                                                  minimum=0.0, exclusive_minimum=True,
                                                  maximum=HEAT_TRANSFER_LIMIT[0], bound_reason=HEAT_TRANSFER_LIMIT[1]),
    "cool_shaft": Boolean("cooled_needle: the coolant also cools the insulated shaft wall (it runs down the "
                          "shaft to the tip and back); unset, the zone model decides: true under "
                          f"{DEFAULT_MODEL} (the default model), false under the earlier models; the default "
                          "given here is the value without a zone model's setting", False),
    "channel": Integer("generator channel of this electrode (rfa.activation): probes with the same number are "
                       "driven together, like the needles of a cluster electrode (default: each probe its own "
                       "channel, in probe order)", None, minimum=1),
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


def rf_channels(scenario) -> list[int]:
    """The channel index of each probe (:func:`ablation.modalities.channels.probe_channels`)."""
    return probe_channels(scenario.rfa.activation, [probe.rfa.channel for probe in scenario.probes])


def check_rfa(scenario, errors) -> None:
    spec = scenario.rfa
    if spec.protocol == "temperature_control" and spec.proportional_gain == 0 and spec.integral_gain == 0:
        errors.append(("rfa.integral_gain", "0 with proportional_gain 0; temperature_control needs a gain"))
    if spec.activation != "simultaneous":
        channels = max(rf_channels(scenario)) + 1
        # a plan's [[probes]] entry is the template of the needles it places, each on its own channel
        planned = scenario.get("plan") is not None and scenario.plan.max_probes > 1
        if channels < 2 and not planned:
            errors.append(("rfa.activation", f"{spec.activation!r} with {len(scenario.probes)} probe(s) on one "
                           "channel; expected probes on at least two channels (probes[i].rfa.channel) or "
                           "'simultaneous'"))
        elif spec.activation == "switching" and spec.protocol != "impedance_control":
            errors.append(("rfa.protocol", f"{spec.protocol!r} with activation 'switching'; expected "
                           "'impedance_control' (a switching generator moves its power on the impedance)"))
        elif spec.activation == "sequential" and spec.channel_time is not None:
            needed = channels * spec.channel_time
            if needed > scenario.time.duration * (1 + 1e-9):
                errors.append(("rfa.channel_time", f"{spec.channel_time:g} s x {channels} channels = {needed:g} s "
                               f"is longer than time.duration {scenario.time.duration:g} s; expected at most "
                               f"{scenario.time.duration / channels:g} s, or a longer duration"))
    for i, probe in enumerate(scenario.probes):
        p = probe.rfa
        where = f"probes[{i}].rfa"
        if probe.diameter > MAX_RF_ELECTRODE_DIAMETER_M:
            errors.append((f"probes[{i}].diameter", f"{probe.diameter * 1e3:g} mm is wider than any RF electrode; "
                           f"expected at most {MAX_RF_ELECTRODE_DIAMETER_M * 1e3:g} mm (RF needles, cooled "
                           "electrodes and the trocars of multi-tine arrays are 14-21 G, 0.8-2.1 mm)"))
        if p.electrode != "multitine" and p.sensor_length > probe.active_length:
            # the sensor reads the electrode wall within sensor_length of the tip: past the active
            # part it would read the insulated shaft
            errors.append((f"{where}.sensor_length", f"{p.sensor_length * 1e3:g} mm is longer than the electrode's "
                           f"active_length ({probe.active_length * 1e3:g} mm); expected at most the active length "
                           "(a tip sensor: about 1 mm)"))
        if p.electrode == "multitine":
            tip = np.asarray(probe.tip)
            half = scenario.domain.size / 2.0
            far = np.abs(tip - domain_center(scenario)) + p.deployed_diameter
            if np.any(far > half):
                errors.append((f"{where}.deployed_diameter", f"{p.deployed_diameter * 1e3:g} mm: the deployed "
                               f"tines and the zone around them reach outside the {scenario.domain.size * 1e3:g} mm "
                               f"domain; expected a smaller array or domain.size of at least "
                               f"{2e3 * float(np.max(far)):.0f} mm (the tip's offset from the domain centre plus the "
                               "array's diameter, on each side)"))
            if p.tine_diameter >= probe.diameter:
                # the tines are housed in the cannula until deployed
                errors.append((f"{where}.tine_diameter", f"{p.tine_diameter * 1e3:g} mm is not thinner than the "
                               f"probe ({probe.diameter * 1e3:g} mm), which holds the tines before they deploy; "
                               "expected thin wires (about 0.4 mm)"))
            if p.tine_shape == "straight" and p.tine_angle >= math.pi - 1e-6:
                errors.append((f"{where}.tine_angle", "180 deg: straight tines would run back along the shaft; "
                                                      "expected less than 180 deg"))


# ----------------------------------------------------------------------------------------- cryo
PHASE = Table("one protocol phase", fields={
    "phase": Choice("'freeze' (probe at its freeze condition), 'passive_thaw' (adiabatic wall) or "
                    "'active_thaw' (wall at thaw_temperature)", options=PHASES),
    "duration": Quantity("length of the phase", dimension="time", minimum=0.0, exclusive_minimum=True),
})

CRYO_SECTION = Table("cryoablation protocol and reporting (modality 'cryo')", {}, fields={
    "protocol": ListOf("phases run in order by every probe without its own protocol, e.g. 10-8-10 "
                       "double freeze-thaw: [{phase = 'freeze', duration = '10 min'}, {phase = "
                       "'passive_thaw', duration = '8 min'}, {phase = 'freeze', duration = '10 min'}]; "
                       "default: one freeze lasting the whole run; probes are off (adiabatic) after the "
                       "last phase", None, item=PHASE, min_items=1),
    "isotherms": ListOf("further isotherms to report besides 0, -20 and -40 degC", [],
                        item=Quantity(dimension="temperature")),
    "frozen_conductivity_model": Choice(
        "'constant': k_f from the tissue library (2.0 W/(m K), docs/physics.md 3); 'ice': k_f 273.15 K / T_K, "
        "the rise of ice conductivity at low temperature (Choi & Bischof 2010). Where the file is silent the "
        f"zone model decides: 'ice' under {DEFAULT_MODEL} (the default model) and physiological-ice-2026.12, "
        "'constant' under earlier models; the default given here is the value without a zone model's setting",
        "constant",
        options=("constant", "ice")),
})

CRYO_PROBE = Table("cryoprobe (modality 'cryo'): wall condition during freeze and thaw", {}, fields={
    "type": Choice("catalogue entry giving the defaults below (see ablation.modalities.cryo.CATALOGUE and its "
                   "stated assumptions): '17G' (1.47 mm, wall held at -145 degC), '17G-2026.11' (its earlier "
                   "power-limited entry), '2.4mm' or '1.7mm' (Littrup 2009's probes, whose heat extraction is limited to "
                   "the capacity calibrated on one agar row: they freeze less than the '17G' entry, whose wall is "
                   "held at -145 degC without a limit)", None, options=tuple(CATALOGUE)),
    "wall": Choice("freeze condition: 'temperature' (ramp to freeze_temperature), 'curve' (measured wall "
                   "temperature from curve_file), 'convection' (gas_temperature with "
                   "heat_transfer_coefficient), 'power_limited' (ramp to freeze_temperature, extracting "
                   "at most max_extraction); default: the catalogue's, else 'temperature'", None,
                   options=("temperature", "curve", "convection", "power_limited")),
    "freeze_temperature": Quantity("wall temperature reached in a freeze (default -145 degC, docs/physics.md 3)",
                                   None, dimension="temperature", nullable=True),
    "ramp_time": Quantity("time to ramp the wall (or gas) linearly from its temperature at the start of "
                          "a freeze to the freeze temperature (default 30 s, docs/physics.md 3)", None,
                          dimension="time", nullable=True, minimum=0.0),
    "curve_file": String("CSV file 'time_s,temperature_C' of the wall temperature since the start of a "
                         "freeze (path relative to the scenario file); for wall = 'curve'", None,
                         nullable=True),
    "gas_temperature": Quantity("gas temperature inside the probe for wall = 'convection'", None,
                                dimension="temperature", nullable=True),
    "heat_transfer_coefficient": Quantity("gas-to-wall coefficient for wall = 'convection'", None,
                                          dimension="heat_transfer_coefficient", nullable=True,
                                          minimum=0.0, exclusive_minimum=True,
                                          maximum=HEAT_TRANSFER_LIMIT[0], bound_reason=HEAT_TRANSFER_LIMIT[1]),
    "max_extraction": Quantity("largest heat removed per metre of active length for wall = "
                               "'power_limited' (default: the catalogue's, e.g. '592 W/m')", None,
                               dimension="heat_per_length", nullable=True, minimum=0.0,
                               exclusive_minimum=True, **device_limits("max_extraction")),
    "thaw_temperature": Quantity("wall temperature in an active (helium) thaw (default +15 degC, "
                                 "Go-Smart 288 K)", None, dimension="temperature", nullable=True),
    "protocol": ListOf("this probe's own phases (default: cryo.protocol)", None, item=PHASE, min_items=1),
})


# ------------------------------------------------------------------------------------- checks
def _material_sets(scenario) -> list[tuple[str, dict]]:
    """(field path prefix, resolved properties) of the background tissue and material tumours."""
    def resolve(overrides, preset):
        values = preset_values(preset)
        values.update({k: v for k, v in overrides.items() if k in values and v is not None})
        return values
    out = [("tissue", resolve(scenario.tissue, scenario.tissue.preset))]
    for i, t in enumerate(scenario.tumors):
        if t.material:
            out.append((f"tumors[{i}].properties", resolve(t.properties, t.properties.preset or "tumor")))
    return out


def check_freezing_range(scenario, errors) -> None:
    """Every material freezes between a solidus below its liquidus, both at most 0 degC: checked in
    every modality (a thermal probe can freeze too, and an impossible range is refused wherever written)."""
    for where, m in _material_sets(scenario):
        if m["liquidus_temperature"] > 0.0:
            errors.append((f"{where}.liquidus_temperature", f"{m['liquidus_temperature']:g} degC is a positive "
                           "freezing temperature; expected at most 0 degC (tissue water freezes below 0 degC)"))
        if m["solidus_temperature"] >= m["liquidus_temperature"]:
            errors.append((f"{where}.solidus_temperature", f"{m['solidus_temperature']:g} degC is not below the "
                           f"liquidus temperature ({m['liquidus_temperature']:g} degC); expected a solidus below "
                           "the liquidus (tissue water starts to freeze at the liquidus, all of it at the solidus)"))


def check_cryo(scenario, errors, source_file=None) -> dict:
    """Cross-field checks with each probe's settings resolved (catalogue defaults filled in);
    returns {curve_file: {"times", "values"}} of the measured wall curves it loaded."""
    from ablation.input.probe_curves import CurveError, load_curve, resolve
    materials = _material_sets(scenario)
    solidus = min(m["solidus_temperature"] for _, m in materials)
    liquidus = max(m["liquidus_temperature"] for _, m in materials)
    curves = {}
    for i, probe in enumerate(scenario.probes):
        spec = probe.cryo
        where = f"probes[{i}].cryo"
        base = CATALOGUE[spec.type] if spec.type else GENERIC
        resolved = probe_settings(spec)
        if spec.type and abs(probe.diameter - base["diameter"]) > 0.05e-3:
            errors.append((f"probes[{i}].diameter", f"{probe.diameter * 1e3:g} mm differs from the "
                           f"{spec.type} catalogue probe ({base['diameter'] * 1e3:g} mm); expected that diameter "
                           "or no catalogue type"))
        phases = spec.protocol if spec.protocol is not None else scenario.cryo.protocol
        if phases and all(ph.phase != "freeze" for ph in phases) and resolved["wall"] != "curve":
            errors.append((f"{where}.protocol" if spec.protocol is not None else "cryo.protocol",
                           f"{', '.join(ph.phase for ph in phases)}: no freeze phase; expected at least one "
                           "'freeze' (a cryo run that never freezes has no iceball)"))
        if resolved["freeze_temperature"] >= solidus:
            errors.append((f"{where}.freeze_temperature", f"{resolved['freeze_temperature']:g} degC does not freeze "
                           f"the tissue; expected a temperature below its solidus ({solidus:g} degC), "
                           "such as '-145 degC'"))
        if resolved["thaw_temperature"] <= liquidus:
            errors.append((f"{where}.thaw_temperature", f"{resolved['thaw_temperature']:g} degC does not thaw; "
                           f"expected above the liquidus ({liquidus:g} degC), such as '15 degC'"))
        wall = resolved["wall"]
        if wall == "curve":
            if spec.curve_file is None:
                errors.append((f"{where}.curve_file", "missing; wall = 'curve' needs a CSV file "
                                                      "'time_s,temperature_C'"))
            else:
                try:
                    times, temps = load_curve(resolve(spec.curve_file, source_file))
                    curves[spec.curve_file] = {"times": times, "values": temps}
                except CurveError as exc:
                    errors.append((f"{where}.curve_file", str(exc)))
                else:
                    # the rule freeze_temperature follows: a wall that never gets below the solidus
                    # cannot freeze the tissue (a warm curve would even heat it)
                    coldest = int(np.argmin(temps))
                    if temps[coldest] >= solidus:
                        errors.append((f"{where}.curve_file", f"{spec.curve_file!r}: its lowest temperature is "
                                       f"{temps[coldest]:g} degC (at {times[coldest]:g} s), which does not freeze "
                                       f"the tissue; expected a wall curve reaching below the tissue's solidus "
                                       f"({solidus:g} degC), such as a freeze to -145 degC"))
        if wall == "convection":
            for key in ("gas_temperature", "heat_transfer_coefficient"):
                if spec[key] is None:
                    errors.append((f"{where}.{key}", "missing; wall = 'convection' needs it"))
            if spec.gas_temperature is not None and spec.gas_temperature >= solidus:
                errors.append((f"{where}.gas_temperature", f"{spec.gas_temperature:g} degC does not freeze the "
                               f"tissue; expected below its solidus ({solidus:g} degC)"))
        if wall == "power_limited" and resolved["max_extraction"] is None:
            errors.append((f"{where}.max_extraction", "missing; wall = 'power_limited' needs a limit such as "
                                                      "'592 W/m' (or a catalogue type)"))
    return curves

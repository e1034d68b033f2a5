"""Plausibility at validate time (each bad value named by its field, with the value and the range),
the clinical perfusion unit, vessel diameters, resource estimates before a solve, and explicit
states of minimal margins that are not finite numbers."""
import copy
import json
import logging
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ablation.input.plausibility import TEMPERATURE_RANGES
from ablation.input.scenario import ScenarioError, load_scenario, scenario_from_dict
from ablation.input.units import perfusion_rate
from ablation.outcome import coverage as cv
from ablation.run import estimate as est
from ablation.run.setup import scenario_domain
from conftest import ROOT, load_raw, write_toml

MM = 1e-3
ABLATION = Path(sys.executable).with_name("ablation")


def _mutate(name, fn):
    data = copy.deepcopy(load_raw(name))
    fn(data)
    return data


def _curve(tmp_dir: Path, hot: float) -> str:
    """A wall curve next to the scenario file (scenarios read files in their own folder)."""
    (tmp_dir / "wall.csv").write_text(f"time_s,temperature_C\n0,20\n30,-120\n60,{hot:g}\n")
    return "wall.csv"


def _cryo_curve(hot):
    def fn(d, tmp_dir):
        d["probes"][0]["cryo"] = {"wall": "curve", "curve_file": _curve(tmp_dir, hot)}
    return fn


T, R, C = "thermal_probe.toml", "rfa_cooltip_perfused.toml", "cryo_17g_perfused.toml"
P, S = "plan_rfa_cooltip.toml", "sweep_thermal_sensitivity.toml"

# case -> (scenario, mutation(data, tmp_dir), field path named, words in its message)
CASES = {
    "a probe 30 mm across": (T, lambda d, _: d["probes"][0].update(diameter="30 mm"), "probes[0].diameter",
                             "expected at most 10 mm"),
    "an RF electrode 8 mm across": (R, lambda d, _: d["probes"][0].update(diameter="8 mm"), "probes[0].diameter",
                                    "8 mm is wider than any RF electrode; expected at most 3.5 mm"),
    "kelvin below zero": (T, lambda d, _: d["tissue"].update(initial_temperature="-10 K"),
                          "tissue.initial_temperature", "below absolute zero"),
    "-300 degC initial tissue": (T, lambda d, _: d["tissue"].update(initial_temperature="-300 degC"),
                                 "tissue.initial_temperature", "below absolute zero"),
    "-20 degC initial tissue": (T, lambda d, _: d["tissue"].update(initial_temperature="-20 degC"),
                                "tissue.initial_temperature", "plausible range 0..50 degC"),
    "500 K initial tissue, shown as written": (T, lambda d, _: d["tissue"].update(initial_temperature="500 K"),
                                                "tissue.initial_temperature", "'500 K' (226.85 degC) is out of the "
                                                                              "plausible range 0..50 degC"),
    "boiling boundary": (T, lambda d, _: d["tissue"].update(boundary_temperature="90 degC"),
                         "tissue.boundary_temperature", "plausible range 0..50 degC"),
    "arterial in kelvin written as degC": (T, lambda d, _: d["tissue"].update(arterial_temperature="310 degC"),
                                           "tissue.arterial_temperature", "310 degC"),
    "1e6 degC wall schedule": (T, lambda d, _: d["probes"][0]["thermal"].update(
        temperature_schedule=[["0 s", "37 degC"], ["30 s", "1e6 degC"]]),
        "probes[0].thermal.temperature_schedule[1][1]", "plausible range -200..150 degC"),
    "-500 degC cryo freeze": (C, lambda d, _: d["probes"][0]["cryo"].update(freeze_temperature="-500 degC"),
                              "probes[0].cryo.freeze_temperature", "below absolute zero"),
    "-250 degC cryo freeze": (C, lambda d, _: d["probes"][0]["cryo"].update(freeze_temperature="-250 degC"),
                              "probes[0].cryo.freeze_temperature", "plausible range -200..0 degC"),
    "hot cryo thaw": (C, lambda d, _: d["probes"][0]["cryo"].update(thaw_temperature="200 degC"),
                      "probes[0].cryo.thaw_temperature", "plausible range 0..80 degC"),
    "cryo gas colder than nitrogen": (C, lambda d, _: d["probes"][0]["cryo"].update(
        wall="convection", gas_temperature="-260 degC", heat_transfer_coefficient="1000 W/(m^2 K)"),
        "probes[0].cryo.gas_temperature", "plausible range -200..0 degC"),
    "cryo isotherm": (C, lambda d, _: d["cryo"].update(isotherms=["-250 degC"]), "cryo.isotherms[0]",
                      "plausible range -200..50 degC"),
    "curve at +100 degC": (C, _cryo_curve(100.0), "probes[0].cryo.curve_file", "100 degC at 60 s"),
    "coolant -300 degC": (R, lambda d, _: d["probes"][0]["rfa"].update(coolant_temperature="-300 degC"),
                          "probes[0].rfa.coolant_temperature", "below absolute zero"),
    "coolant 80 degC": (R, lambda d, _: d["probes"][0]["rfa"].update(coolant_temperature="80 degC"),
                        "probes[0].rfa.coolant_temperature", "plausible range -10..40 degC"),
    "RF target 300 degC": (R, lambda d, _: (d["rfa"].pop("off_time", None),   # an impedance_control key
                                            d["rfa"].update(protocol="temperature_control",
                                                            target_temperature="300 degC")),
                           "rfa.target_temperature", "plausible range 40..120 degC"),
    "vessel blood 0 K": (C, lambda d, _: d.update(vessels=[{"start": [10, -30, -15], "end": [10, 30, -15],
                                                             "radius": "2 mm", "blood_temperature": "0 K"}]),
                         "vessels[0].blood_temperature", "plausible range 0..50 degC"),
    "criterion nan": (T, lambda d, _: d.setdefault("damage", {}).update(criterion="max_temperature:nan"),
                      "damage.criterion", "plausible range -200..150 degC"),
    "criterion -500": (T, lambda d, _: d.setdefault("damage", {}).update(criterion="min_temperature:-500"),
                       "damage.criterion", "'min_temperature:-500'"),
    "report criterion inf": (T, lambda d, _: d.setdefault("damage", {}).update(
        report_criteria=["max_temperature:inf"]), "damage.report_criteria[0]", "plausible range"),
    "coverage criterion": (T, lambda d, _: d.setdefault("coverage", {}).update(criteria=["max_temperature:1e9"]),
                           "coverage.criteria[0]", "plausible range"),
    "roll-off impedance under any tissue's": (
        R, lambda d, _: d["rfa"].update(rolloff_criterion="absolute", rolloff_impedance="1 ohm"),
        "rfa.rolloff_impedance", "expected at least 20 ohm"),
    "adaptive time tolerance beyond reach": (
        T, lambda d, _: d.setdefault("time", {}).update(adaptive=True, tolerance=1e-5), "time.tolerance",
        "1e-05 is out of range; expected at least 0.001"),
    "report criterion twice": (T, lambda d, _: d.setdefault("damage", {}).update(
        report_criteria=["arrhenius", "arrhenius"]), "damage.report_criteria[1]",
        "the same criterion as damage.report_criteria[0]"),
    "isotherm twice, once in kelvin": (C, lambda d, _: d.setdefault("cryo", {}).update(
        isotherms=["-40 degC", "233.15 K"]), "cryo.isotherms[1]", "the same isotherm as cryo.isotherms[0]"),
    "properties on a passive tumour": (T, lambda d, _: d["tumors"][0].update(
        material=False, properties={"perfusion": "0.001 1/s"}), "tumors[0].properties",
        "given for a tumour with material = false"),
    "tines on a cooled needle": (R, lambda d, _: d["probes"][0]["rfa"].update(tines=9), "probes[0].rfa.tines",
                                 "given with probes[0].rfa.electrode = 'cooled_needle', under which it does nothing; "
                                 "expected probes[0].rfa.electrode = 'multitine' to use it"),
    "coolant on a plain needle": (R, lambda d, _: d["probes"][0]["rfa"].update(electrode="needle"),
                                  "probes[0].rfa.coolant_temperature", "expected probes[0].rfa.electrode = "
                                                                        "'cooled_needle' to use it"),
    "target temperature under impedance control": (R, lambda d, _: d["rfa"].update(target_temperature="90 degC"),
                                                   "rfa.target_temperature", "given with rfa.protocol = "
                                                   "'impedance_control', under which it does nothing"),
    "LeVeen window under impedance control": (R, lambda d, _: d["rfa"].update(leveen_window="5 min"),
                                              "rfa.leveen_window", "expected rfa.protocol = 'leveen' to use it"),
    "switch time with simultaneous channels": (R, lambda d, _: d["rfa"].update(switch_time="30 s"),
                                               "rfa.switch_time", "given with rfa.activation = 'simultaneous'"),
    "wall curve file on a catalogue wall": (C, lambda d, _: d["probes"][0]["cryo"].update(curve_file="wall.csv"),
                                            "probes[0].cryo.curve_file", "given with probes[0].cryo.wall = "
                                            "'temperature', under which it does nothing"),
    "a full-width digit": (T, lambda d, _: d["probes"][0].update(diameter="\uff11.5 mm"), "probes[0].diameter",
                           "is not a number with a unit"),
    "a liver sphere smaller than its tumour": (T, lambda d, _: d.setdefault("coverage", {}).update(
        capsule={"shape": "sphere", "center": d["tumors"][0]["center"], "radius": "2 mm"}),
        "coverage.capsule.radius", "is smaller than tumour 0"),
    "a tumour beyond the capsule plane": (T, lambda d, _: d.setdefault("coverage", {}).update(
        capsule={"shape": "plane", "point": [0, 0, -80], "normal": [0, 0, 1]}),
        "coverage.capsule.normal", "tumour 0's centre lies outside the capsule plane"),
    "no pause after a roll-off": (R, lambda d, _: d["rfa"].update(off_time="0 s"), "rfa.off_time",
                                  "'0 s' is out of range; expected at least 5 s"),
    "a tumour inside another": (T, lambda d, _: d["tumors"].append({**d["tumors"][0], "name": "again",
                                                                      "diameter": "3 mm"}),
                                "tumors[1]", "100 % of it lies inside 'metastasis' (tumors[0])"),
    "a tumour around an earlier one": (T, lambda d, _: d["tumors"].append({**d["tumors"][0], "name": "around",
                                                                             "diameter": "40 mm"}),
                                       "tumors[1]", "100 % of 'metastasis' (tumors[0]) lies inside it"),
    "plan margin 500 mm": (T, lambda d, _: d.setdefault("coverage", {}).update(margins=["500 mm"]),
                           "coverage.margins[0]", "expected at most 50 mm"),
    "vessel wholly outside the domain": (C, lambda d, _: d.update(vessels=[{"start": [1000, 0, -40],
                                                                             "end": [1000, 0, 40], "radius": "2 mm"}]),
                                         "vessels[0]", "lies wholly outside the domain"),
    "lethal threshold at body temperature": (
        T, lambda d, _: d.setdefault("damage", {}).update(criterion="max_temperature:37"), "damage.criterion",
        "37 degC is not above the tissue's own temperature"),
    "cold threshold above the start": (
        C, lambda d, _: d.setdefault("damage", {}).update(criterion="min_temperature:40"), "damage.criterion",
        "40 degC is not below the tissue's own temperature"),
    "time_above 1000 degC": (T, lambda d, _: d.setdefault("damage", {}).update(time_above=["1000 degC"]),
                             "damage.time_above[0]", "plausible range -200..150 degC"),
    "tiny direction": (T, lambda d, _: d["probes"][0].update(direction=[1e-12, 0, 0]), "probes[0].direction",
                       "has length 1e-12"),
    "huge direction": (T, lambda d, _: d["probes"][0].update(direction=[1e12, 0, 0]), "probes[0].direction",
                       "has length 1e+12"),
    "tiny tumour axis": (T, lambda d, _: d["tumors"][0].update(shape="ellipsoid", diameters=["20 mm"] * 3,
                                                                axis=[0, 1e-9, 0]),
                         "tumors[0].axis", "expected a direction of length between 1e-06 and 1e+06"),
    "huge capsule normal": (T, lambda d, _: d.setdefault("coverage", {}).update(
        capsule={"shape": "plane", "point": [0, 0, 30], "normal": [0, 0, 1e300]}),
        "coverage.capsule.normal", "has length 1e+300"),
    "coordinates 1e300": (T, lambda d, _: d["probes"][0].update(tip=[0, 0, 1e300]), "probes[0].tip",
                          "within +-10000 mm"),
    "tumour centre 20 m": (T, lambda d, _: d["tumors"][0].update(center=[2e4, 0, 0]), "tumors[0].center",
                           "(10 m) of the origin"),
    "vessel end 1e300": (C, lambda d, _: d.update(vessels=[{"start": [10, -30, -15], "end": [10, 1e300, -15],
                                                             "radius": "2 mm"}]),
                         "vessels[0].end", "out of range"),
    "[placement] without tumours": (T, lambda d, _: (d.pop("tumors"), d.update(placement={"samples": 10})),
                                    "placement", "no tumour"),
    "[coverage] without tumours": (T, lambda d, _: (d.pop("tumors"), d.update(coverage={"points": 2000})),
                                   "coverage", "no tumour"),
    "[placement] without probes": (T, lambda d, _: (d.pop("probes"), d.update(placement={"samples": 10})),
                                   "placement", "no probe"),
    "vessel radius and diameter": (C, lambda d, _: d.update(vessels=[{"start": [10, -30, -15], "end": [10, 30, -15],
                                                                       "radius": "2 mm", "diameter": "4 mm"}]),
                                   "vessels[0].radius", "expected exactly one of the two"),
    "vessel without size": (C, lambda d, _: d.update(vessels=[{"start": [10, -30, -15], "end": [10, 30, -15]}]),
                            "vessels[0].radius", "exactly one of radius and diameter"),
    "perfusion wrong unit": (T, lambda d, _: d["tissue"].update(perfusion="20 mL/min"), "tissue.perfusion",
                             "mL/min/100g"),
    "negative clinical perfusion": (T, lambda d, _: d["tissue"].update(perfusion="-20 mL/min/100g"),
                                    "tissue.perfusion", "expected at least 0"),
    # s22 audit: impossible or absurd input that validated (and ran)
    "ellipsoid without diameters": (T, lambda d, _: d["tumors"][0].update(shape="ellipsoid"),
                                    "tumors[0].diameters", "missing; shape 'ellipsoid' needs three diameters"),
    "ellipsoid x_axis along its axis": (T, lambda d, _: d["tumors"][0].update(
        shape="ellipsoid", diameters=["20 mm", "16 mm", "12 mm"], axis=[0, 0, 1], x_axis=[0, 0, 2]),
        "tumors[0].x_axis", "[0, 0, 2] is parallel to axis [0, 0, 1]"),
    "water content 170 %": (T, lambda d, _: d["tissue"].update(water_content="170 %"), "tissue.water_content",
                            "'170 %' is out of range; expected at most 1 (a water mass fraction"),
    "tumour water content 3": (T, lambda d, _: d["tumors"][0].update(material=True, properties={"water_content": 3}),
                               "tumors[0].properties.water_content", "3 is out of range; expected at most 1"),
    "RF water content 2": (R, lambda d, _: d["tissue"].update(water_content=2.0), "tissue.water_content",
                           "2.0 is out of range; expected at most 1"),
    "sigma 1e9 S/m": (R, lambda d, _: d["tissue"].update(electrical_conductivity="1e9 S/m"),
                      "tissue.electrical_conductivity", "'1e9 S/m' is out of range; expected at most 100 S/m"),
    "edge temperature 500 degC": (T, lambda d, _: d.setdefault("damage", {}).update(edge_temperature="500 degC"),
                                  "damage.edge_temperature", "plausible range 40..80 degC"),
    "cryo curve warmer than the tissue": (C, lambda d, t: (
        (t / "warm.csv").write_text("time_s,temperature_C\n0,37\n60,40\n"),
        d["probes"][0].update(cryo={"wall": "curve", "curve_file": "warm.csv"})),
        "probes[0].cryo.curve_file", "'warm.csv': its lowest temperature is 37 degC (at 0 s), which does not freeze"),
    "heat flux 1e15 W/m^2": (T, lambda d, _: d["probes"][0].update(thermal={
        "wall": "heat_flux", "heat_flux_schedule": [["0 s", "1e15 W/m^2"], ["1 min", "1e15 W/m^2"]]}),
        "probes[0].thermal.heat_flux_schedule[0][1]", "'1e15 W/m^2' is out of range; expected at most 1e+07 W/m^2"),
    "vessel through the probe": (T, lambda d, _: d.update(vessels=[{"start": [0, 0, -30], "end": [0, 0, 20],
                                                                     "radius": "2 mm"}]),
                                 "vessels[0]", "overlaps probe 0's active part"),
    "vessel across the shaft": (T, lambda d, _: d.update(vessels=[{"start": [-30, 0, -25], "end": [30, 0, -25],
                                                                    "radius": "2 mm"}]),
                                "vessels[0]", "overlaps probe 0's shaft (25 mm behind its tip"),
    # s26: a second needle through the first one's insulated shaft validated (and ran)
    "needle through another's shaft": (T, lambda d, _: d["probes"].append(
        {**d["probes"][0], "tip": [10, 0, -30], "direction": [1, 0, 0]}),
        "probes[1].tip", "probe 1's active part overlaps probe 0's shaft (at [0"),
    # s41: a tumour wholly inside a vessel's lumen validated (and ran)
    "a tumour inside a vessel": (T, lambda d, _: (d.update(vessels=[{"start": [10, 0, -40], "end": [10, 0, 40],
                                                                      "radius": "3 mm"}]),
                                                  d["tumors"][0].update(center=[10, 0, -10], diameter="2 mm")),
                                 "tumors[0]", "lies inside vessels[0]'s lumen (radius 3 mm)"),
    # s41: keys their shape switches off were silently ignored
    "a label on a sphere tumour": (T, lambda d, _: d["tumors"][0].update(label=5), "tumors[0].label",
                                   "given with tumors[0].shape = 'sphere', under which it does nothing"),
    "a capsule point without a capsule": (T, lambda d, _: d.setdefault("coverage", {}).update(
        capsule={"shape": "none", "point": [0, 0, 0]}), "coverage.capsule.point",
        "given with coverage.capsule.shape = 'none', under which it does nothing"),
    # s41: two shafts through one place validated
    "needle shafts crossing": (T, lambda d, _: d["probes"].append(
        {**d["probes"][0], "name": "second", "tip": [30, 0, -30], "direction": [1, 0, 0]}),
        "probes[1].direction", "probe 1's shaft crosses probe 0's shaft (at ["),
    "blank scenario name": (T, lambda d, _: d.update(name="  "), "name", "'  ' is blank; expected a name"),
    "placement error of 1 m": (T, lambda d, _: d.update(placement={"sigma_along": "1 m"}), "placement.sigma_along",
                               "'1 m' is out of range; expected at most 0.05 m (published freehand tip errors"),
    "tines reaching out of the domain": ("rfa_multitine.toml", lambda d, _: d["probes"][0]["rfa"].update(
        deployed_diameter="45 mm"), "probes[0].rfa.deployed_diameter",
        "expected a smaller array or domain.size of at least"),
    "tines thicker than the probe": ("rfa_multitine.toml", lambda d, _: d["probes"][0]["rfa"].update(
        tine_diameter="5 mm"), "probes[0].rfa.tine_diameter", "5 mm is not thinner than the probe (1.5 mm)"),
    "a tumour inside the needle": (T, lambda d, _: d["tumors"][0].update(center=[0, 0, -10], diameter="0.5 mm"),
                                   "tumors[0]", "lies inside probe 0 (1.5 mm across)"),
    # s41: judged on the largest radius, a thin ellipsoid wholly inside the needle passed (and ran)
    "an ellipsoid inside the needle": (T, lambda d, _: d["tumors"].__setitem__(0, {
        "name": "thin", "center": [0, 0, -10], "shape": "ellipsoid", "diameters": ["0.5 mm", "0.5 mm", "10 mm"]}),
        "tumors[0]", "with radii [0.25, 0.25, 5] mm lies inside probe 0 (1.5 mm across)"),
    "insertion outside the domain": (T, lambda d, _: d.update(placement={"insertions": [{"tip": [0, 0, 200]}]}),
                                     "placement.insertions[0].tip", "[0, 0, 200] mm lies outside the domain"),
    "no probe": (T, lambda d, _: d.pop("probes"), "probes", "needs at least one probe"),
    "duration 1e9 h": (T, lambda d, _: d["time"].update(duration="1e9 h"), "time.duration",
                       "'1e9 h' is out of range; expected at most 24 h"),
    "step 1e-9 s": (T, lambda d, _: d["time"].update(step="1e-9 s"), "time.step",
                    "is 6e+11 steps; expected at most 1e+07"),
    "angular sigma 720 deg": (T, lambda d, _: d.update(placement={"angular_sigma": "720 deg"}),
                              "placement.angular_sigma", "'720 deg' is out of range"),
    "RF sensor longer than the electrode": (R, lambda d, _: d["probes"][0]["rfa"].update(sensor_length="100 mm"),
                                            "probes[0].rfa.sensor_length", "100 mm is longer than the electrode's"),
    "perfusion 1e6 1/s": (T, lambda d, _: d["tissue"].update(perfusion="1e6 1/s"), "tissue.perfusion",
                          "1e+06 1/s is out of the plausible range 0..0.2 1/s"),
    "perfusion in mL/min/100g beyond any organ": (T, lambda d, _: d["tumors"][0].update(
        properties={"perfusion": "5000 mL/min/100g"}), "tumors[0].properties.perfusion",
        "5000 mL/min/100g (0.899 1/s) is out of the plausible range"),
    "thermal conductivity 1e6": (T, lambda d, _: d["tissue"].update(conductivity="1e6 W/(m K)"),
                                 "tissue.conductivity", "expected at most 10 W/(m K)"),
    "density 1e9": (T, lambda d, _: d["tissue"].update(density="1e9 kg/m^3"), "tissue.density",
                    "expected at most 3000 kg/m^3"),
    "latent heat above pure water's": (C, lambda d, _: d["tissue"].update(latent_heat_fusion="5e8 J/m^3"),
                                       "tissue.latent_heat_fusion", "expected at most 3.5e+08 J/m^3"),
    "vessel wall heat transfer 1e12": (T, lambda d, _: d.update(vessels=[{"start": [20, 0, -40], "end": [20, 0, 20],
                                                                          "radius": "2 mm",
                                                                          "heat_transfer_coefficient": "1e12 W/(m^2 K)"}]),
                                       "vessels[0].heat_transfer_coefficient", "expected at most 1e+06 W/(m^2 K)"),
    "snapshots every millisecond": (T, lambda d, _: d.setdefault("time", {}).update(output_interval="0.001 s"),
                                    "time.output_interval", "expected at most 2000"),
    "cryo protocol without a freeze": (C, lambda d, _: d["cryo"].update(protocol=[
        {"phase": "active_thaw", "duration": "10 min"}, {"phase": "passive_thaw", "duration": "18 min"}]),
        "cryo.protocol", "no freeze phase"),
    "a 1 nm tumour": (T, lambda d, _: d["tumors"][0].update(diameter="0.000001 mm"), "tumors[0].diameter",
                      "expected at least 0.01 mm (no tumour, vessel, probe or cell"),
    "a 10 nm needle": (T, lambda d, _: d["probes"][0].update(diameter="0.00001 mm"),
                       "probes[0].diameter", "expected at least 0.3 mm (no ablation probe is thinner"),
    "a 15 um needle (bigger than a liver cell, thinner than any probe)": (
        T, lambda d, _: d["probes"][0].update(diameter="15 um"), "probes[0].diameter",
        "'15 um' is out of range; expected at least 300 um"),
    "sphere with ellipsoid diameters too": (T, lambda d, _: d["tumors"][0].update(diameters=["20 mm", "10 mm", "10 mm"]),
                                            "tumors[0].diameters", "is given, but shape 'sphere' takes its size from "
                                                                   "'diameter'"),
    "plan durations of 1000 h": (P, lambda d, _: d["plan"].update(durations=["1000 h"]), "plan.durations[0]",
                                 "expected at most 24 h"),
    "plan max_time shorter than every duration": (P, lambda d, _: d["plan"].update(durations=["12 min"], max_time="1 min"),
                                                  "plan.max_time", "1 min is shorter than every candidate duration"),
    # s41: two tips closer than one needle's diameter validated
    "plan spacing under a needle": (P, lambda d, _: d["plan"].update(max_probes=2, min_spacing="0.5 mm"),
                                    "plan.min_spacing", "0.5 mm is less than the needle's diameter (1.5 mm"),
    "plan iterations 1e9": (P, lambda d, _: d["plan"].update(iterations=10**9), "plan.iterations",
                            "expected at most 1000"),
    "sweep normal with a negative sd": (S, lambda d, _: d["sweep"].update(parameters=[
        {"path": "tissue.perfusion", "distribution": "normal", "mean": "0.01 1/s", "sd": "-0.001 1/s"}]),
        "sweep.parameters[0].sd", "the standard deviation ('-0.001 1/s') must be positive"),
    "solidus above liquidus, thermal probe": (T, lambda d, _: d["tissue"].update(
        solidus_temperature="-1 degC", liquidus_temperature="-8 degC"), "tissue.solidus_temperature",
        "-1 degC is not below the liquidus temperature (-8 degC)"),
}


def _case(kind, tmp_path):
    name, fn, field, words = CASES[kind]
    data = copy.deepcopy(load_raw(name))
    fn(data, tmp_path)
    return data, field, words


@pytest.mark.parametrize("kind", list(CASES))
def test_implausible_value_names_field(kind, tmp_path):
    data, field, words = _case(kind, tmp_path)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source=str(tmp_path / "case.toml"))
    messages = {p: m for p, m in info.value.errors}
    assert field in messages, info.value.format()
    assert words in messages[field], messages[field]


def test_a_needle_may_end_beside_another_needles_shaft():
    """The shaft check refuses crossing, not closeness: an active part ending 3 mm from the first
    needle's shaft (twice the 1.5 mm clearance) is valid."""
    data = copy.deepcopy(load_raw(T))
    data["probes"].append({**data["probes"][0], "tip": [-3, 0, -30], "direction": [1, 0, 0]})
    assert len(scenario_from_dict(data).probes) == 2


def test_validate_command_exit_2_without_traceback(tmp_path):
    """Every case through `ablation validate FILE` in a subprocess: exit status 2, the field named,
    no traceback (one process checks all the files: each is a separate `main` call)."""
    files = {}
    for i, kind in enumerate(CASES):
        data, field, words = _case(kind, tmp_path)
        files[kind] = (str(write_toml(tmp_path / f"case{i}.toml", data)), field)
    script = ("import json, sys\nfrom ablation.cli import main\nout = {}\n"
              "for kind, (path, field) in json.loads(sys.argv[1]).items():\n"
              "    out[kind] = main(['validate', path])\n"
              "print(json.dumps(out))\n")
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(files)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    codes = json.loads(proc.stdout.strip().splitlines()[-1])
    assert codes == {kind: 2 for kind in CASES}
    for kind, (_, field) in files.items():
        assert field in proc.stderr, kind
    # and the command itself, one file in its own process
    one = subprocess.run([str(ABLATION), "validate", files["coordinates 1e300"][0]], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert one.returncode == 2 and "Traceback" not in one.stderr
    assert "probes[0].tip" in one.stderr and "1e+300" in one.stderr


def test_shipped_scenarios_stay_valid(caplog):
    """Every shipped scenario loads, and without a warning (a retired key, say) a user would copy."""
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            load_scenario(path)
        assert not caplog.records, f"{path.name}: {[r.getMessage() for r in caplog.records]}"


def test_ranges_table_documents_every_bound():
    for key, (lo, hi, reason) in TEMPERATURE_RANGES.items():
        assert -273.15 < lo < hi and len(reason) > 20, key


# ------------------------------------------------------------------------------ units and sizes
def test_clinical_perfusion_unit_gives_the_same_scenario():
    """docs/physics.md 1: F = 20 mL/min/100 g is 3.6e-3 1/s for rho 1079 kg/m^3."""
    assert perfusion_rate(20.0, 1079.0) == pytest.approx(3.597e-3, rel=1e-4)
    clinical = load_raw(T)
    clinical["tissue"]["perfusion"] = "20 mL/min/100g"
    clinical["tumors"][0].update(material=True, properties={"density": "1200 kg/m^3", "perfusion": "30 ml/min/100 g"})
    si = load_raw(T)
    si["tissue"]["perfusion"] = f"{20 * 1079 / 6e6!r} 1/s"
    si["tumors"][0].update(material=True, properties={"density": "1200 kg/m^3", "perfusion": f"{30 * 1200 / 6e6!r} 1/s"})
    a, b = scenario_from_dict(clinical), scenario_from_dict(si)
    assert a.tissue.perfusion == pytest.approx(3.597e-3, rel=1e-4)
    assert a.tumors[0].properties.perfusion == pytest.approx(6.0e-3)
    assert dict(a) == dict(b)
    # the density of the preset when none is given: agar 1000 kg/m^3
    agar = load_raw(T)
    agar["tissue"].update(preset="agar", perfusion="60 mL/min/100g")
    assert scenario_from_dict(agar).tissue.perfusion == pytest.approx(0.01)


def test_vessel_diameter_equals_radius():
    by_radius = _mutate(C, lambda d: d.update(vessels=[{"start": [10, -30, -15], "end": [10, 30, -15],
                                                         "radius": "2.5 mm"}]))
    by_diameter = _mutate(C, lambda d: d.update(vessels=[{"start": [10, -30, -15], "end": [10, 30, -15],
                                                           "diameter": "5 mm"}]))
    a, b = scenario_from_dict(by_radius), scenario_from_dict(by_diameter)
    assert a.vessels[0].radius == pytest.approx(2.5e-3) and b.vessels[0].radius == pytest.approx(2.5e-3)
    assert dict(a) == dict(b)


# ------------------------------------------------------------------------------ estimates
@pytest.mark.parametrize("name,changes", [
    (T, {}), (C, {}), (R, {}), ("rfa_cluster3.toml", {}), ("cryo_vessel.toml", {}),
    (T, {"grid.kind": "3d", "grid.spacing": "2 mm", "grid.max_spacing": "4 mm"}),
    ("rfa_multitine.toml", {"grid.growth": 1.3}),
])
def test_estimated_cells_equal_built_grid(name, changes):
    s = load_scenario(ROOT / "scenarios" / name).with_changes(changes)
    e = est.estimate(s)
    d = scenario_domain(s)
    assert e.kind == d.kind and e.shape == tuple(d.shape) and e.cells == d.n_cells
    nominal = math.ceil(s.time.duration / s.time.step - 1e-9)
    if s.modality == "rfa":      # 0.25 s steps while the generator delivers, longer in its pauses
        assert nominal < e.steps <= math.ceil(s.time.duration / 0.25), (nominal, e.steps)
    else:
        assert e.steps == nominal
    assert e.memory_bytes > est.BASE_BYTES and e.seconds > 0.0


def test_rf_steps_estimated_as_the_solver_takes_them():
    """A second path: constant power never pauses, so its solver takes exactly the estimated steps,
    four per second of 1 s steps (the generator's 0.25 s control interval); under impedance control
    the estimate takes the measured duty, between the pause-free and the all-pause counts."""
    s = load_scenario(ROOT / "scenarios" / R).with_changes(
        {"rfa.protocol": "constant_power", "rfa.power": "5 W", "time.duration": "20 s", "time.step": "1 s",
         "time.output_interval": "20 s", "time.refine": False, "grid.spacing": "2 mm", "grid.max_spacing": "4 mm"})
    e = est.estimate(s)
    from ablation.run.time_loop import run
    assert run(s).summary["time"]["solver_steps"] == e.steps == 80
    controlled = s.with_changes({"rfa.protocol": "impedance_control", "time.duration": "12 min", "time.step": "2 s"})
    on, off = est.rf_step_lengths(controlled)
    assert (on, off) == (0.25, 2.0)
    assert est.steps_of(controlled) == math.ceil(0.3 * 720 / 0.25 + 0.7 * 720 / 2.0)


def test_memory_estimate_within_stated_factor_of_measured_peak():
    """A small solve in a fresh process: the estimated peak memory is within MEMORY_FACTOR (2) of the
    measured peak RSS, and the estimated cells equal the grid's."""
    s = load_scenario(ROOT / "scenarios" / T).with_changes({"time.duration": "5 s", "time.step": "1 s",
                                                            "time.output_interval": "5 s"})
    m = est.measure(s)
    assert m["estimated_cells"] == m["cells"] and m["steps"] == 5
    ratio = m["estimated_bytes"] / m["peak_bytes"]
    assert 1.0 / est.MEMORY_FACTOR <= ratio <= est.MEMORY_FACTOR, m


def test_budget_refuses_a_billion_cells_naming_the_grid():
    s = load_scenario(ROOT / "scenarios" / T).with_changes({"grid.kind": "3d", "grid.spacing": "0.08 mm",
                                                            "grid.max_spacing": "0.08 mm"})
    e = est.estimate(s)
    assert e.cells == 1000 ** 3 and e.shape == (1000, 1000, 1000)
    problems = est.check_budget(s, max_memory_bytes=16e9)
    assert [p for p, _ in problems] == ["grid.spacing"]
    assert "1e+09 cells" in problems[0][1] and "at most 16 GB" in problems[0][1]
    assert est.check_budget(load_scenario(ROOT / "scenarios" / T), max_memory_bytes=16e9) == []


def test_budget_refuses_placement_samples_beyond_memory_and_validation_beyond_the_limit():
    base = load_scenario(ROOT / "scenarios" / "compare_approaches.toml")
    s = base.with_changes({"placement.samples": 10 ** 7})
    e = est.estimate(s)
    assert e.mc_memory_bytes > 1e7 * 50
    problems = est.check_budget(s, max_memory_bytes=0.5e9)
    assert [p for p, _ in problems] == ["placement.samples"]
    assert "10000000 samples" in problems[0][1]
    with pytest.raises(ScenarioError, match=r"placement.samples: 1000000000 is out of range; expected at most"):
        base.with_changes({"placement.samples": 10 ** 9})


def test_budget_counts_the_monte_carlo_beside_the_solved_runs_fields():
    """Samples that fit the budget alone, and a solve that fits it, are still refused when the Monte
    Carlo and the solved run's fields, which it runs beside, do not fit together."""
    s = load_scenario(ROOT / "scenarios" / "compare_approaches.toml").with_changes({"placement.samples": 10 ** 7})
    e = est.estimate(s)
    one_grid = est.BASE_BYTES + est.COSTS[(e.kind, "thermal")]["bytes_per_cell"] * e.cells
    budget = e.mc_memory_bytes + 0.5 * one_grid
    assert e.memory_bytes <= budget and e.mc_memory_bytes <= budget      # each part alone fits
    problems = est.check_budget(s, max_memory_bytes=budget)
    assert [p for p, _ in problems] == ["placement.samples"]
    assert "with the solved run's fields" in problems[0][1]
    assert est.check_budget(s, max_memory_bytes=e.mc_memory_bytes + 1.01 * one_grid) == []


ORGAN_GRID_PEAK = """
import json, sys
from ablation.input.scenario import load_scenario
from ablation.run import estimate as est
from ablation.run.setup import patient_anatomy
scenario = load_scenario(sys.argv[1])
organ = patient_anatomy(scenario).organ
estimated, voxels = est.organ_distance_memory(scenario)
open("/proc/self/clear_refs", "w").write("5")        # the peak so far is the resident memory now
before = est._peak_rss_bytes()
grid, _ = organ._distance_grid
print(json.dumps({"estimated": estimated, "voxels": voxels, "grid_voxels": int(grid.size),
                  "peak_increase": est._peak_rss_bytes() - before}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"),
                    reason="measures the peak of one step, which needs Linux's /proc/self/clear_refs to reset "
                           "the process's peak RSS; other systems have no such reset")
def test_organ_distance_grid_estimated_within_the_stated_factor_and_refused_over_the_budget():
    """The liver phantom's organ grid, built in a fresh process: the estimate counts the grid's own
    voxels (a second path: the grid as built) and lies within MEMORY_FACTOR of the peak its build
    adds; a budget below it names the label map."""
    path = ROOT / "scenarios" / "liver_phantom_cryo.toml"
    out = subprocess.run([sys.executable, "-c", ORGAN_GRID_PEAK, str(path)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    m = json.loads(out.stdout.strip().splitlines()[-1])
    assert m["voxels"] == m["grid_voxels"] > 5e6
    ratio = m["estimated"] / m["peak_increase"]
    assert 1.0 / est.MEMORY_FACTOR <= ratio <= est.MEMORY_FACTOR, m
    s = load_scenario(path)
    problems = est.check_budget(s, max_memory_bytes=0.9 * m["estimated"])
    assert "anatomy.label_map" in [p for p, _ in problems]
    assert "signed-distance grid" in dict(problems)["anatomy.label_map"]
    assert "anatomy.label_map" not in [p for p, _ in est.check_budget(s, max_memory_bytes=1.1 * m["estimated"])]


def test_re_solved_placement_samples_are_estimated_on_the_grid_they_solve_on():
    """Insertion sequences re-solve placement.resolve_samples samples on one 3-D grid around every
    insertion: the estimate counts that grid's cells as run_sequence builds it (a second path), and
    a material tumour's moved-lesion check re-solves placement.resolve_check runs on the run's grid."""
    from ablation.run.setup import planned_insertions, sequence_scenario
    from ablation.run.transforms import apply_transforms
    s = load_scenario(ROOT / "scenarios" / "compare_repositioning.toml")
    e = est.estimate(s)
    solves = est.placement_solves(s, e)
    built = scenario_domain(sequence_scenario(apply_transforms(s), planned_insertions(s)))
    assert (solves.kind, solves.cells) == ("3d", built.n_cells)
    assert solves.ablations == 1 + len(s.placement.insertions)
    assert solves.samples == min(s.placement.samples, s.placement.resolve_samples)
    # same grid and family as the run's: each ablation costs the run's steps plus the gap's (thermal) steps
    gap_steps = s.placement.gap / min(s.time.step, s.placement.gap)
    assert solves.seconds == pytest.approx(solves.samples * solves.ablations * e.seconds * (e.steps + gap_steps) / e.steps)
    showcase = load_scenario(ROOT / "scenarios" / "showcase.toml")
    e = est.estimate(showcase)
    check = est.placement_solves(showcase, e)
    assert (check.field, check.samples, check.cells) == ("placement.resolve_check", 2, e.cells)
    assert check.seconds == pytest.approx(2 * e.seconds / est.STEP_CHECK_RUNS)   # one integration each
    assert est.placement_solves(showcase.with_changes({"placement.resolve_check": 0}), e) is None


def test_cryo_band_re_solves_are_estimated_for_calibrated_probes_only(tmp_path, capsys):
    """A calibrated-capacity cryoprobe adds the zone band's re-solves (as many as the pipeline's
    quantiles) to what `ablation validate` prints; the 17 G needle, which holds its wall
    temperature, and RF add none."""
    from ablation.cli import main
    from ablation.pipeline import CAPACITY_QUANTILES
    assert est.BAND_RESOLVES == len(CAPACITY_QUANTILES)
    text = (ROOT / "scenarios" / "cryo_17g_perfused.toml").read_text()
    calibrated = text.replace('type = "17G"', 'type = "2.4mm"').replace('diameter = "1.47 mm"', 'diameter = "2.4 mm"')
    assert calibrated != text
    for name, content, expected in (("needle", text, False), ("calibrated", calibrated, True)):
        path = tmp_path / f"{name}.toml"
        path.write_text(content)
        assert (est.band_solves(load_scenario(path), est.estimate(load_scenario(path))) is not None) is expected
        assert main(["validate", str(path)]) == 0
        assert ("the zone band's 2 re-solves" in capsys.readouterr().out) is expected
    rf = load_scenario(ROOT / "scenarios" / "showcase.toml")
    assert est.band_solves(rf, est.estimate(rf)) is None


def test_budget_refuses_insertions_whose_3d_grid_does_not_fit():
    """The run's own grid is axisymmetric and small; a repositioning makes every re-solved sample 3-D."""
    s = load_scenario(ROOT / "scenarios" / "showcase.toml").with_changes(
        {"placement.insertions": [{"tip": [6, 0, 0]}], "grid.spacing": "0.4 mm"})
    e = est.estimate(s)
    assert e.kind == "axisymmetric" and e.memory_bytes < 0.5e9
    problems = est.check_budget(s, max_memory_bytes=1e9)
    assert [p for p, _ in problems] == ["placement.insertions"]
    assert "re-solved placement samples need a 3d grid" in problems[0][1]


def test_budget_default_is_80_percent_of_machine_memory():
    total = est.machine_memory()
    with open("/proc/meminfo") as fh:
        meminfo = next(float(line.split()[1]) * 1024 for line in fh if line.startswith("MemTotal:"))
    assert total == pytest.approx(meminfo, rel=0.01)
    assert est.default_budget() == pytest.approx(0.8 * total)


def test_estimate_of_huge_fine_grid_uses_the_bound_without_building_edges():
    s = load_scenario(ROOT / "scenarios" / T).with_changes({"grid.kind": "3d", "domain.size": "20 m",
                                                            "grid.spacing": "0.01 mm", "grid.max_spacing": "1 m"})
    e = est.estimate(s)
    assert e.shape == (2_000_000,) * 3 and e.cells == 2_000_000 ** 3
    assert est.check_budget(s, max_memory_bytes=1e12)[0][0] == "grid.spacing"


# ------------------------------------------------------------------------------ margins
@pytest.fixture(scope="module")
def coarse_domain():
    s = load_scenario(ROOT / "scenarios" / T).with_changes({"grid.spacing": "1 mm", "grid.max_spacing": "4 mm"})
    return scenario_domain(s)


@pytest.mark.parametrize("level,state,klass", [(-1.0, "no_lesion", "A0"), (1.0, "lesion_fills_domain", ">10")])
def test_margin_without_lesion_boundary_is_an_explicit_state(coarse_domain, level, state, klass):
    lesion = cv.Lesion.from_level(coarse_domain, np.full(coarse_domain.n_cells, level))
    tp = cv.tumor_points(coarse_domain.tumors[0], 10 * MM, n_inner=1000, n_outer=1000, n_surface=200)
    m = cv.tumor_metrics(tp, lesion.inside, lesion.signed_distance)
    assert m["min_margin_mm"] is None and m["min_margin_status"] == state and m["margin_class"] == klass
    assert m["min_margin_note"] == cv.MARGIN_STATES[state][1] and len(m["min_margin_note"]) > 40
    assert m["coverage"] == (1.0 if level > 0 else 0.0)
    json.dumps(m, allow_nan=False)     # nothing non-finite left for the writer to turn into null
    assert cv.margin_value_mm(m) == (math.inf if level > 0 else -math.inf)


def test_margin_with_every_surface_point_excluded(coarse_domain):
    w = coarse_domain.world_points()
    sdf = 14e-3 - np.linalg.norm(w - np.array([0, 0, -10e-3])[:, None], axis=0)
    lesion = cv.Lesion.from_level(coarse_domain, np.tanh(sdf / 3e-3))
    capsule = SimpleNamespace(shape="sphere", center=(0.0, 0.0, -10e-3), radius=10e-3, exclusion=50e-3)
    tp = cv.tumor_points(coarse_domain.tumors[0], 10 * MM, n_inner=1000, n_outer=1000, n_surface=200,
                         capsule=capsule)
    m = cv.tumor_metrics(tp, lesion.inside, lesion.signed_distance)
    assert m["surface_points_excluded"] == 200
    assert m["min_margin_mm"] is None and m["min_margin_status"] == "all_surface_excluded"
    assert m["margin_class"] == "unknown" and "coverage.capsule.exclusion" in m["min_margin_note"]
    assert m["coverage"] == 1.0 and math.isnan(cv.margin_value_mm(m))
    # and a measured margin keeps its number: R 14 mm around the 10 mm tumour -> 4 mm
    tp = cv.tumor_points(coarse_domain.tumors[0], 10 * MM, n_inner=1000, n_outer=1000, n_surface=200)
    m = cv.tumor_metrics(tp, lesion.inside, lesion.signed_distance)
    assert m["min_margin_status"] == "measured" and m["min_margin_mm"] == pytest.approx(4.0, abs=0.1)
    assert m["min_margin_note"] == "" and cv.margin_value_mm(m) == m["min_margin_mm"]


def test_adaptive_cap_shorter_than_first_step_is_refused():
    s = load_scenario(ROOT / "scenarios" / T)
    with pytest.raises(ScenarioError) as info:
        s.with_changes({"time.step": "4 s", "time.max_step": "2 s"})
    assert info.value.errors[0][0] == "time.max_step" and "shorter than the first step" in info.value.errors[0][1]


def test_validate_says_what_made_the_grid_3d(tmp_path, capsys):
    """s41: a tumour 0.5 mm off the probe axis turned a 7 000-cell axisymmetric run into a 3-D one of a
    million cells with no reason given; validate names the field and the distance."""
    from ablation.cli import main
    raw = load_raw("thermal_probe.toml")
    raw["tumors"][0]["center"][0] = raw["tumors"][0]["center"][0] + 0.5
    assert main(["validate", str(write_toml(tmp_path / "off.toml", raw))]) == 0
    assert "grid kind 3d because tumors[0].center lies 0.5 mm off the probe axis" in capsys.readouterr().out


def test_validate_states_the_re_solved_placement_samples(capsys):
    from ablation.cli import main
    assert main(["validate", str(ROOT / "scenarios" / "compare_repositioning.toml")]) == 0
    out = capsys.readouterr().out
    assert "then 12 re-solved placement samples (placement.resolve_samples), each 3 ablations in sequence" in out


# ------------------------------------------------------------------------------ runs of sweep, plan, compare
def test_sweep_runs_are_counted_from_its_design_and_estimated_with_each_samples_values(tmp_path):
    """A Saltelli design of D parameters and base count N makes N (D + 2) runs; a sample's run is
    estimated with its own values: a sweep of the duration over 60 and 120 s costs 1.5 runs of 60 s
    per sample (estimating the base scenario for every sample would give 1 or 2)."""
    from ablation.sweep.cost import sweep_solves
    sweep = load_scenario(ROOT / "scenarios" / "sweep_thermal_sensitivity.toml")
    runs = sweep_solves(sweep)
    assert runs.runs == sweep.sweep.samples * (len(sweep.sweep.parameters) + 2) == 192
    raw = load_raw("sweep_thermal_sensitivity.toml")
    raw["sweep"] = {"mode": "design", "parameters": [{"path": "time.duration", "values": ["60 s", "120 s"]}]}
    raw["time"].update(duration="60 s", output_interval="60 s")
    design = scenario_from_dict(raw, source=str(ROOT / "scenarios" / "s.toml"))
    (what, count, each), = sweep_solves(design).parts
    assert count == 2
    assert each == pytest.approx(1.5 * est.run_seconds(design), rel=0.02)
    assert sweep_solves(load_scenario(ROOT / "scenarios" / T)) is None


def test_plan_runs_are_its_library_naive_and_verified_solves():
    """plan_rfa_cooltip: one duration, one probe, verify 'first': a library solve, the naive plan and
    the first approach's plan; verify 'all' solves each of the three approaches' plans; two probes
    add plan.interaction_solves 3-D solves and make the count an upper bound."""
    from ablation.planning.cost import plan_solves
    s = load_scenario(ROOT / "scenarios" / "plan_rfa_cooltip.toml")
    runs = plan_solves(s)
    assert (runs.runs, runs.upper_bound) == (3, False)
    assert plan_solves(s.with_changes({"plan.verify": "all"})).runs == 5
    two = plan_solves(s.with_changes({"plan.max_probes": 2, "plan.interaction_solves": 3}))
    assert two.upper_bound and two.runs == 1 + 1 + 1 + 3
    single, several = two.parts[1][2], two.parts[2][2]
    assert several > single        # two probes: a 3-D solve, not the axisymmetric one
    assert plan_solves(load_scenario(ROOT / "scenarios" / T)) is None
    # a plan.min_spacing that leaves no room for a second probe: counted as one probe (the layouts of
    # more raised errors naming tips and a domain centre the file never wrote)
    apart = s.with_changes({"plan.max_probes": 3, "plan.min_spacing": "500 mm"})
    assert plan_solves(apart).runs == 3


def test_plan_solves_over_the_memory_budget_name_the_plan_field(tmp_path, capsys):
    """plan.spacing sets the plan's grids: a value too fine for the budget is refused by validate (it
    said 'valid') and by plan naming plan.spacing (it named grid.spacing, which the file set to 1 mm)."""
    from ablation.cli import main
    raw = load_raw("plan_rfa_cooltip.toml")
    raw["plan"]["spacing"] = "0.01 mm"
    path = write_toml(tmp_path / "fine.toml", raw)
    for command in (["validate", str(path)], ["plan", str(path), "--out", str(tmp_path / "out")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "plan.spacing: the zone library's solves: 0.01 mm gives about" in err and "grid.spacing" not in err
    assert not (tmp_path / "out").exists()


def test_compare_runs_counted_as_compare_solves_them(monkeypatch):
    """The comparison's runs as compare_solves counts them against the runs compare() makes (a second
    path: the run function counted), with and without the occlusion state; the re-solves of an
    insertion sequence come per approach and state."""
    from ablation.outcome import compare as cmp
    s = load_scenario(ROOT / "scenarios" / "compare_approaches.toml")
    approaches = ["open", "laparoscopic", "percutaneous"]
    made = []
    real_run = cmp.run
    monkeypatch.setattr(cmp, "run", lambda scenario: made.append(scenario) or real_run(scenario))
    for occlusion in (True, False):
        made.clear()
        cmp.compare(s, approaches, samples=200, pringle_options=occlusion)
        assert cmp.compare_solves(s, approaches, occlusion).runs == len(made) == (2 if occlusion else 1)
    sequence = load_scenario(ROOT / "scenarios" / "compare_repositioning.toml")
    counted = cmp.compare_solves(sequence, approaches)
    resolved = min(sequence.placement.samples, sequence.placement.resolve_samples)
    # per state: its run, the planned sequence, and the re-solved samples of each approach it applies to
    # (occlusion: open and laparoscopic)
    assert counted.runs == (1 + 1 + 3 * resolved) + (1 + 1 + 2 * resolved) == 64


def test_validate_states_the_runs_of_a_sweep_plan_or_comparison(capsys):
    from ablation.cli import main
    for name, expected in (("sweep_thermal_sensitivity.toml", "  ablation sweep: 192 runs, solving about"),
                           ("plan_rfa_cooltip.toml", "  ablation plan: 3 runs, solving about"),
                           ("compare_repositioning.toml", "  ablation compare: 64 runs, solving about")):
        assert main(["validate", str(ROOT / "scenarios" / name)]) == 0
        assert expected in capsys.readouterr().out


def _process_tree_peak_rss(command: list, cwd) -> tuple[int, float, dict]:
    """Run ``command``; (exit code, the largest summed RSS of it and its descendants, sampled every
    0.1 s from /proc, and each process's part of that peak)."""
    import time

    def tree(pid):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return [pid]
        return [pid] + [p for child in children for p in tree(int(child))]

    def rss(pid):
        try:
            line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmRSS:"))
            return int(line.split()[1]) * 1024
        except (OSError, StopIteration):
            return 0
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, at_peak = 0, {}
    while process.poll() is None:
        sample = {p: rss(p) for p in tree(process.pid)}
        if sum(sample.values()) > peak:
            peak, at_peak = sum(sample.values()), sample
        time.sleep(0.1)
    return process.returncode, float(peak), {pid: f"{size / 1e6:.0f} MB" for pid, size in at_peak.items()}


@pytest.mark.skipif(not Path("/proc/self/task").exists(),
                    reason="samples the process tree's memory from Linux's /proc, which this system lacks")
def test_memory_estimate_covers_a_run_whose_step_check_uses_a_worker(tmp_path):
    """`ablation run` of a 3-D thermal run with enough work to give the step check's comparison
    runs to a worker: its process tree's peak RSS is at most the estimate (two grids and the
    worker's interpreter), and the estimate at most twice it. Counting one grid and one
    interpreter, as before, the estimate was 0.64 of this peak."""
    raw = load_raw(T)
    raw.setdefault("grid", {}).update({"kind": "3d", "spacing": "1.5 mm", "max_spacing": "4 mm"})
    # the solve alone: the placement Monte Carlo (its own estimate) could overlap a slow worker
    raw.setdefault("placement", {})["enabled"] = False
    path = write_toml(tmp_path / "s.toml", raw)
    scenario = load_scenario(path)
    e = est.estimate(scenario)
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: the step check keeps its comparison runs in the run's own process, the case "
                    "test_memory_estimate_within_stated_factor_of_measured_peak measures")
    # enough work for the worker (time_loop.PARALLEL_COMPARISON_WORK): a smaller case would not test it
    assert est.comparisons_in_worker(scenario, e.cells)
    code, peak, parts = _process_tree_peak_rss([sys.executable, "-m", "ablation", "run", str(path), "--out",
                                         str(tmp_path / "out"), "--no-scene", "--quiet"], tmp_path)
    assert code == 0
    assert peak <= e.memory_bytes <= 2.0 * peak, (peak, e, parts)


def test_converge_refuses_a_finest_level_over_the_budget_before_solving(tmp_path, capsys):
    """`converge` runs the scenario again at half the spacing: a study whose finest grid does not fit
    is refused with exit 2 before the first level (it was allocated, then a traceback)."""
    from ablation.cli import main
    s = load_scenario(ROOT / "scenarios" / T)
    base = est.estimate(s).memory_bytes
    finest = est.estimate(s.with_changes({"grid.spacing": f"{s.grid.spacing * 0.5e3:g} mm",
                                          "grid.max_spacing": f"{s.grid.max_spacing * 0.5e3:g} mm"})).memory_bytes
    assert finest > 1.5 * base
    budget = 0.5 * (base + finest)
    code = main(["converge", str(ROOT / "scenarios" / T), "--out", str(tmp_path / "study"),
                 "--max-memory", f"{budget:.0f}"])
    err = capsys.readouterr().err
    assert code == 2 and "grid.spacing: at the study's finest level (spacing x0.5)" in err
    assert not (tmp_path / "study").exists()


def test_a_bound_is_stated_in_the_unit_written_also_for_a_zero_value():
    """'0 deg' gave 'expected greater than 0 rad': a zero value has no ratio to its SI value."""
    from ablation.input.schema import Quantity
    errors = []
    Quantity("an angle", "10 deg", dimension="angle", minimum=0.0, exclusive_minimum=True).load("0 deg", "a", errors)
    assert errors == [("a", "'0 deg' is out of range; expected greater than 0 deg")]
    errors = []
    Quantity("a length", "1 mm", dimension="length", minimum=1e-3).load("0 cm", "b", errors)
    assert errors and errors[0][1].endswith("expected at least 0.1 cm")


def test_a_change_of_protocol_or_electrode_drops_the_settings_it_switches_off():
    """with_changes (and so a sweep's samples) may switch a file's protocol or electrode: the keys
    written for the old one (the shipped cooled needle's off_time and coolant) are dropped, not
    refused; written explicitly with the change, they are refused as in a file."""
    s = load_scenario(ROOT / "scenarios" / R)
    assert "off_time" in s.raw["rfa"] and "coolant_temperature" in s.raw["probes"][0]["rfa"]
    constant = s.with_changes({"rfa.protocol": "constant_power"})
    assert constant.rfa.protocol == "constant_power" and "off_time" not in constant.raw["rfa"]
    assert constant.with_changes({"time.duration": "1 min"}).time.duration == 60.0    # and stays consistent
    needle = s.with_changes({"probes[0].rfa.electrode": "needle"})
    assert not {"coolant_temperature", "coolant_heat_transfer_coefficient"} & set(needle.raw["probes"][0]["rfa"])
    with pytest.raises(ScenarioError) as info:
        s.with_changes({"rfa.protocol": "constant_power", "rfa.off_time": "20 s"})
    assert "rfa.off_time" in dict(info.value.errors)

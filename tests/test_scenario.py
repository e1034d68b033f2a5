"""Scenario loading: units, defaults, and bad input giving exit 2 with the field named."""
import copy
import json
import math

import pytest

from ablation.cli import main
from ablation.input.scenario import ScenarioError, scenario_from_dict, json_schema
from ablation.input.units import UnitError, parse_quantity
from conftest import ROOT, load_raw, write_toml


def test_units_convert_to_si():
    assert parse_quantity("3 mm", "length") == pytest.approx(3e-3)
    assert parse_quantity("12 min", "time") == 720.0
    assert parse_quantity("310.15 K", "temperature") == pytest.approx(37.0)
    assert parse_quantity("1.5 %/K", "per_kelvin") == pytest.approx(0.015)
    assert parse_quantity("250 MJ/m^3", "energy_density") == 250e6
    with pytest.raises(UnitError, match="not a length unit"):
        parse_quantity("3 kg", "length")
    with pytest.raises(UnitError, match="no unit"):
        parse_quantity(3, "length")


def test_scenario_values_are_si_and_defaults_filled():
    s = scenario_from_dict(load_raw("thermal_probe.toml"))
    assert s.probes[0].diameter == pytest.approx(1.5e-3)
    assert s.time.duration == 600.0
    assert s.tissue.initial_temperature == 37.0
    assert s.damage.activation_energy == pytest.approx(2.577e5)
    assert s.probes[0].thermal.temperature_schedule.values[-1] == 90.0


def test_a_catalogue_cryoprobe_without_a_diameter_takes_its_own():
    """cryo.type names the probe, diameter included; a written diameter must still match it."""
    raw = load_raw("cryo_17g_perfused.toml")
    for probe in raw["probes"]:
        probe.pop("diameter", None)
        probe["cryo"] = {"type": "2.4mm"}
    assert scenario_from_dict(raw).probes[0].diameter == pytest.approx(2.4e-3)
    raw["probes"][0]["cryo"] = {"type": "17G"}
    assert scenario_from_dict(raw).probes[0].diameter == pytest.approx(1.47e-3)
    raw["probes"][0]["diameter"] = "1.5 mm"      # within 0.05 mm of 1.47 mm: kept as written
    assert scenario_from_dict(raw).probes[0].diameter == pytest.approx(1.5e-3)
    raw["probes"][0]["diameter"] = "2 mm"
    with pytest.raises(ScenarioError, match=r"probes\[0\]\.diameter"):
        scenario_from_dict(raw)


def test_perfused_tissue_starting_away_from_blood_temperature_is_warned(caplog):
    """An ex vivo start (20 degC) with the liver's perfusion left on: the blood would warm the tissue
    to 37 degC within a minute; the warning names both fields and the ex vivo setting."""
    import logging
    raw = load_raw("rfa_cooltip_exvivo.toml")
    with caplog.at_level(logging.WARNING):
        scenario_from_dict(raw)
    assert not caplog.records                    # the shipped ex vivo file sets perfusion 0
    del raw["tissue"]["perfusion"]
    with caplog.at_level(logging.WARNING):
        scenario_from_dict(raw)
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "tissue.initial_temperature is 20 degC" in message and 'tissue.perfusion = "0 1/s"' in message


def test_settings_the_model_cannot_follow_are_warned(caplog):
    """s41: a temperature-control target of 105 degC (the modelled tissue holds near 100 degC while its
    water boils, and the controller drove the power to its maximum) and a thermal probe colder than
    freezing (no latent heat in the thermal modality) load with a warning naming the field."""
    import logging
    raw = load_raw("rfa_cooltip_exvivo.toml")
    raw["rfa"] = {"protocol": "temperature_control", "power": "150 W", "target_temperature": "95 degC"}
    with caplog.at_level(logging.WARNING):
        scenario_from_dict(raw)
    assert not caplog.records
    raw["rfa"]["target_temperature"] = "105 degC"
    with caplog.at_level(logging.WARNING):
        scenario_from_dict(raw)
    assert "rfa.target_temperature is 105 degC" in caplog.text and "drives the power to rfa.power (150 W)" in caplog.text
    caplog.clear()
    raw = load_raw("thermal_probe.toml")
    raw["probes"][0]["thermal"]["temperature_schedule"] = [["0 s", "37 degC"], ["30 s", "-20 degC"]]
    with caplog.at_level(logging.WARNING):
        scenario_from_dict(raw)
    assert "probes[0].thermal.temperature_schedule goes down to -20 degC" in caplog.text
    assert "modality 'cryo' models freezing" in caplog.text


def _mutations():
    base = load_raw("thermal_probe.toml")

    def m(fn):
        data = copy.deepcopy(base)
        fn(data)
        return data
    return {
        "missing field": (m(lambda d: d["time"].pop("duration")), "time.duration", "missing"),
        "wrong unit": (m(lambda d: d["tumors"][0].update(diameter="20 kg")), "tumors[0].diameter", "not a length unit"),
        "negative size": (m(lambda d: d["tumors"][0].update(diameter="-20 mm")), "tumors[0].diameter", "out of range"),
        "probe outside": (m(lambda d: (d["domain"].update(center=[0, 0, 0]), d["probes"][0].update(tip=[0, 0, 200]))), "probes[0].tip", "outside the domain"),
        "tumour outside": (m(lambda d: d["tumors"][0].update(center=[300, 0, 0])), "tumors[0].center", "outside the domain"),
        "NaN": (m(lambda d: d["probes"][0].update(diameter="nan mm")), "probes[0].diameter", "not a number"),
        "NaN coordinate": (m(lambda d: d["probes"][0].update(tip=[0, 0, math.nan])), "probes[0].tip", "not finite"),
        "unknown preset": (m(lambda d: d["tissue"].update(preset="brain")), "tissue.preset", "not one of"),
        "unknown key": (m(lambda d: d["tissue"].update(perfusoin="0 1/s")), "tissue.perfusoin", "unknown key"),
        "bare number": (m(lambda d: d["time"].update(step=2)), "time.step", "no unit"),
        "contradictory grid": (m(lambda d: d["grid"].update(spacing="4 mm", max_spacing="3 mm")), "grid.spacing",
                               "larger than grid.max_spacing"),
        "axisymmetric with off-axis tumour": (m(lambda d: (d["grid"].update(kind="axisymmetric"),
                                                           d["tumors"][0].update(center=[5, 0, -10]))),
                                              "grid.kind", "contradicts"),
        "unknown modality": (m(lambda d: d.update(modality="laser")), "modality", "not one of"),
        "missing schedule": (m(lambda d: d["probes"][0]["thermal"].pop("temperature_schedule")),
                             "probes[0].thermal.temperature_schedule", "missing"),
        "zero thermal conductivity": (m(lambda d: d["tissue"].update(conductivity="0 W/(m K)")),
                                      "tissue.conductivity", "expected at least 0.05 W/(m K)"),
        "zero specific heat": (m(lambda d: d["tissue"].update(specific_heat="0 J/(kg K)")),
                               "tissue.specific_heat", "expected at least 300 J/(kg K)"),
        "density in g/cm^3 written as kg/m^3": (m(lambda d: d["tissue"].update(density="1.05 kg/m^3")),
                                                "tissue.density", "expected at least 100 kg/m^3"),
        "specific heat in kJ written as J": (m(lambda d: d["tissue"].update(specific_heat="3.6 J/(kg K)")),
                                             "tissue.specific_heat", "unit slip (e.g. kJ written as J)"),
        "a phase longer than any simulation": (m(lambda d: d["time"].update(output_interval="1e30 min")),
                                               "time.output_interval", "expected at most 1440 min"),
        "activation energy in J/mol written as kJ/mol": (
            m(lambda d: d.setdefault("damage", {}).update(activation_energy="2.577e5 kJ/mol")),
            "damage.activation_energy", "expected at most 2000 kJ/mol"),
        "more coverage points than memory": (m(lambda d: d.setdefault("coverage", {}).update(margin_points=10**15)),
                                             "coverage.margin_points", "the memory budget"),
        "blank tumour name": (m(lambda d: d["tumors"][0].update(name=" ")),
                              "tumors[0].name", "is blank; expected a name, or leave the field out"),
        # s33 fuzz: an ESC in a name reached the terminal raw; a NUL went into the picture's text
        "control character in a name": (m(lambda d: d["tumors"][0].update(name="\u001b[31mred")),
                                        "tumors[0].name", "holds the control character '\\x1b'; expected printable"),
        "line break in a name": (m(lambda d: d.update(name="a\nb")), "name", "holds the control character '\\n'"),
        "a name of 200 000 characters": (m(lambda d: d.update(name="x" * 200_000)), "name",
                                         "a name of 200000 characters; expected at most 1000"),
        # s33 fuzz: named the tumour and the probe as reaching outside, not the spacing
        "cells larger than the domain": (m(lambda d: d.setdefault("grid", {}).update(spacing="100 mm",
                                                                                        max_spacing="200 mm")),
                                         "grid.spacing", "100 mm leaves fewer than 8 cells across the"),
        "zero electrical conductivity": (m(lambda d: d["tissue"].update(electrical_conductivity="0 S/m")),
                                         "tissue.electrical_conductivity", "expected at least 0.001 S/m"),
        "active part longer than the domain": (m(lambda d: d["probes"][0].update(active_length="200 mm")),
                                               "probes[0].active_length", "does not fit in the 80 mm domain"),
        "active part outside": (m(lambda d: (d["domain"].update(center=[0, 0, 0]),
                                             d["tumors"][0].update(center=[0, 0, 10]),
                                             d["probes"][0].update(tip=[0, 0, 30], active_length="75 mm"))),
                                "probes[0].active_length", "outside the domain"),
        "two tumours of one name": (m(lambda d: d["tumors"].append({**d["tumors"][0], "center": [0, 0, 10]})),
                                    "tumors[1].name", "is also the name of tumors[0]"),
        "a name the run gives an unnamed tumour": (
            m(lambda d: d["tumors"].extend([{"center": [5, 0, 0], "diameter": "5 mm"},
                                            {"name": "tumor 2", "center": [-5, 0, 0], "diameter": "5 mm"}])),
            "tumors[2].name", "'tumor 2' is also the name of tumors[1]"),
        "a coverage criterion twice": (m(lambda d: d.setdefault("coverage", {}).update(
            criteria=["max_temperature>=60", "max_temperature>=60"])), "coverage.criteria[1]", "is given twice"),
        "decreasing schedule": (m(lambda d: d["probes"][0]["thermal"].update(
            temperature_schedule=[["10 s", "50 degC"], ["5 s", "60 degC"]])), "temperature_schedule[1][0]", "does not increase"),
    }


@pytest.mark.parametrize("kind", list(_mutations()))
def test_bad_input_exit_2_names_field(kind, tmp_path, capsys):
    data, field, words = _mutations()[kind]
    path = write_toml(tmp_path / "bad.toml", data)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert field in err and words in err, err
    assert "Traceback" not in err


def test_generator_power_beyond_any_rf_generator_is_refused(tmp_path, capsys):
    data = load_raw("rfa_cooltip_exvivo.toml")
    data.setdefault("rfa", {})["power"] = "2 kW"   # 2000 W: a unit slip for 200 W
    assert main(["validate", str(write_toml(tmp_path / "bad.toml", data))]) == 2
    err = capsys.readouterr().err
    assert "rfa.power" in err and "at most 1 kW" in err, err


def test_empty_and_non_toml_files(tmp_path, capsys):
    empty = tmp_path / "empty.toml"
    empty.write_text("  \n")
    assert main(["validate", str(empty)]) == 2
    assert "empty" in capsys.readouterr().err
    junk = tmp_path / "junk.toml"
    junk.write_text("this is [not toml\n")
    assert main(["validate", str(junk)]) == 2
    assert "not a valid TOML file" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    # a device or a pipe would be read forever or block; a huge file is not a scenario
    import os
    fifo = tmp_path / "scenario.fifo"
    os.mkfifo(fifo)
    for special in ("/dev/zero", str(fifo)):
        assert main(["validate", special]) == 2
        assert "is not a regular file" in capsys.readouterr().err
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as handle:
        handle.truncate(11 * 2**20)
    assert main(["validate", str(huge)]) == 2
    assert "expected a scenario file of at most 10 MiB" in capsys.readouterr().err


def test_compare_samples_beyond_the_limit_exit_2_before_any_work(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["compare", str(ROOT / "scenarios/compare_approaches.toml"), "--samples", "1000000000000",
                 "--out", str(out)]) == 2
    assert "expected at most 10000000" in capsys.readouterr().err
    assert not out.exists()


def test_several_errors_reported_at_once():
    data = load_raw("thermal_probe.toml")
    data["tumors"][0]["diameter"] = "-1 mm"
    data["time"]["step"] = "1 parsec"
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    paths = [p for p, _ in info.value.errors]
    assert "tumors[0].diameter" in paths and "time.step" in paths


def test_schema_command_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    probe = schema["properties"]["probes"]["items"]["properties"]
    assert "[length" in probe["diameter"]["description"]
    assert json_schema()["properties"]["time"]["required"] == ["duration"]


# ------------------------------------------------------------------ s22 audit: files and changes
def test_bom_deep_nesting_and_utf16_files(tmp_path, capsys):
    """A UTF-8 byte-order mark is accepted; a file nested too deeply for the TOML parser and a UTF-16
    file are refused with exit 2 naming the file's problem (no RecursionError, no decode error)."""
    good = write_toml(tmp_path / "good.toml", load_raw("thermal_probe.toml")).read_bytes()
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + good)
    assert main(["validate", str(bom)]) == 0
    capsys.readouterr()
    deep = tmp_path / "deep.toml"
    deep.write_bytes(b'name = "x"\ndescription = ' + b"[" * 5000 + b"]" * 5000 + b"\n")
    assert main(["validate", str(deep)]) == 2
    err = capsys.readouterr().err
    assert "(file): not a valid TOML file" in err and "nested too deeply" in err and "Traceback" not in err
    utf16 = tmp_path / "utf16.toml"
    utf16.write_bytes(good.decode().encode("utf-16"))
    assert main(["validate", str(utf16)]) == 2
    err = capsys.readouterr().err
    assert "encoded as UTF-16" in err and "expected UTF-8" in err


def test_edge_temperature_range_holds_for_with_changes():
    from ablation.input.scenario import load_scenario
    from conftest import ROOT
    s = load_scenario(ROOT / "scenarios" / "thermal_probe.toml")
    assert s.with_changes({"damage.edge_temperature": "55 degC"}).damage.edge_temperature == 55.0
    with pytest.raises(ScenarioError) as info:
        s.with_changes({"damage.edge_temperature": "500 degC"})
    messages = dict(info.value.errors)
    assert "500 degC" in messages["damage.edge_temperature"] and "40..80 degC" in messages["damage.edge_temperature"]


def _sweep_file(tmp_path, parameters):
    data = load_raw("thermal_probe.toml")
    data["sweep"] = {"mode": "design", "parameters": parameters}
    return write_toml(tmp_path / "sweep.toml", data)


def test_sweep_values_are_checked_at_validate_time(tmp_path, capsys):
    """A swept temperature outside its plausible range, and a swept tip that puts the probe outside
    the domain (a rule between fields: the sample's scenario is built, not solved), exit 2 from
    validate naming the sweep value."""
    path = _sweep_file(tmp_path, [{"path": "damage.edge_temperature", "values": ["60 degC", "500 degC"]}])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sweep.parameters[0].values[1] (damage.edge_temperature): '500 degC'" in err and "40..80 degC" in err
    path = _sweep_file(tmp_path, [{"path": "probes[0].tip", "values": [[0, 0, 0], [0, 0, 500]]}])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sweep.parameters[0].values[1]: probes[0].tip = [0, 0, 500] makes a scenario that cannot run" in err
    assert "outside the domain" in err and "Traceback" not in err
    # one coordinate, from a distribution: its upper end is checked
    data = load_raw("thermal_probe.toml")
    data["sweep"] = {"mode": "uncertainty", "samples": 8, "parameters": [
        {"path": "probes[0].tip[2]", "distribution": "uniform", "low": 0, "high": 500}]}
    assert main(["validate", str(write_toml(tmp_path / "dist.toml", data))]) == 2
    assert "sweep.parameters[0].distribution: probes[0].tip[2] = 499.99" in capsys.readouterr().err
    # values that keep the scenario valid pass
    path = _sweep_file(tmp_path, [{"path": "probes[0].tip", "values": [[0, 0, 0], [0, 0, 2]]},
                                  {"path": "damage.edge_temperature", "values": ["52 degC", "58 degC"]}])
    assert main(["validate", str(path)]) == 0

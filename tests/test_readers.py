"""Readers of a result folder (ablation.output.reading) against damaged and mixed folders: each
either returns a usable value or raises ResultFolderError (a ValueError; MissingResultFile also a
FileNotFoundError) naming the file, and ``ablation view`` / ``ablation report`` exit with 2 and no
traceback. Property tests corrupt a real small result folder made once per module."""
import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import ablation
from ablation.cli import main
from ablation.geometry.shapes import Ellipsoid
from ablation.outcome.coverage import clinical_context
from ablation.output.reading import (MissingResultFile, ResultFolderError, load_result, read_snapshot_index,
                                     read_summary, read_summary_data, read_timeseries, verify_manifest)

FAST = settings(max_examples=400, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _add_manifest(folder: Path) -> None:
    """The manifest the writer puts into summary.json: sha256 of every other file."""
    files = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "summary.json"}
    data = json.loads((folder / "summary.json").read_text())
    data["manifest"] = {"algorithm": "sha256", "files": files}
    (folder / "summary.json").write_text(json.dumps(data, indent=2))


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    scenario = ablation.load_scenario(Path(__file__).parents[1] / "scenarios" / "thermal_probe.toml").with_changes(
        {"time.duration": "30 s", "time.refine": False, "grid.spacing": "1 mm", "grid.max_spacing": "4 mm", "placement.enabled": False})
    folder = tmp_path_factory.mktemp("result") / "run"
    ablation.write(ablation.simulate(scenario), folder, scene=False, report=False)
    data = json.loads((folder / "summary.json").read_text())
    if "manifest" not in data:          # written by a version before the manifest
        _add_manifest(folder)
    return folder


@pytest.fixture
def folder(original, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(original, copy)
    return copy


def _summary_without_manifest(folder: Path) -> dict:
    data = json.loads((folder / "summary.json").read_text())
    data.pop("manifest", None)
    (folder / "summary.json").write_text(json.dumps(data))
    return data


def _refused(call, name: str):
    with pytest.raises(ResultFolderError) as info:
        call()
    assert name in str(info.value), str(info.value)
    assert "\n" not in str(info.value).split(":")[0]
    return str(info.value)


# ---------------------------------------------------------------------------- the intact folder
def test_the_intact_folder_loads_and_verifies(folder, caplog):
    result = load_result(folder)
    assert "temperature_C" in result.fields and result.fields["temperature_C"].size == result.domain.n_cells
    assert result.timeseries["time_s"][0] == 0.0 and len(result.snapshot_index) >= 2
    assert verify_manifest(folder, json.loads((folder / "summary.json").read_text())) is True
    assert "no manifest" not in caplog.text
    _summary_without_manifest(folder)
    load_result(folder)
    assert "no manifest" in caplog.text


# ------------------------------------------------------------------------------ named failures
@pytest.mark.parametrize("text, expected", [
    ("{}", "lacks schema_version"), ("null", "holds null"), ("[]", "holds a list"), ("", "not valid JSON"),
    ("{\"a\": ", "not valid JSON"), ("[" * 100000, "nested too deeply"), ("7", "holds the number 7"),
])
def test_summary_that_is_not_a_summary(folder, text, expected):
    (folder / "summary.json").write_text(text)
    message = _refused(lambda: load_result(folder), "summary.json")
    assert expected in message


@pytest.mark.parametrize("path, value, expected", [
    (("lesion", "volume_ml"), "big", "lesion.volume_ml is the string 'big'; expected a number"),
    (("grid",), None, "grid is null; expected an object"),
    (("grid", "cells"), 1.5, "grid.cells is the number 1.5; expected an integer"),
    (("time", "steps"), True, "time.steps is the boolean true"),
    (("schema_version",), 99, "schema_version 99"),
    (("modality",), "laser", "modality 'laser'"),
    (("tumors",), {"a": 1}, "tumors is an object; expected a list"),
    (("manifest", "files"), [], "manifest.files is a list"),
    (("tumors",), [{"x": 1}], "tumors[0].volume_ml is missing"),
    (("placement",), {"x": 1}, "placement.approach is missing"),
    (("grid", "shape"), [3, 3], "grid.shape [3, 3] does not fit"),
    (("grid", "shape"), [7452], "expected 2 positive cell counts"),
])
def test_summary_entries_of_the_wrong_type(folder, path, value, expected):
    data = json.loads((folder / "summary.json").read_text())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    (folder / "summary.json").write_text(json.dumps(data))
    assert expected in _refused(lambda: read_summary(folder / "summary.json"), "summary.json")


def test_clinical_context_of_a_large_tumour_reads_back(folder):
    """A tumour over 3 cm adds the clinical context notes (an object); the reader must take them
    (the showcase's 35 mm metastasis was refused by view and report when the reader expected a list)."""
    data = json.loads((folder / "summary.json").read_text())
    data["clinical_context"] = clinical_context([Ellipsoid.sphere("metastasis", np.zeros(3), 17.5e-3)])
    assert data["clinical_context"] is not None
    (folder / "summary.json").write_text(json.dumps(data))
    assert read_summary_data(folder / "summary.json")["clinical_context"]["notes"]


def test_summary_missing_a_key(folder):
    data = json.loads((folder / "summary.json").read_text())
    del data["lesion"]["sphericity"], data["grid"]
    (folder / "summary.json").write_text(json.dumps(data))
    assert "lacks grid" in _refused(lambda: load_result(folder), "summary.json")


@pytest.mark.parametrize("text, expected", [
    ("", "empty"), ("\n\n", "empty"), ("time_s,a\n", "no rows after the header"),
    ("time_s,a\n0,1\n2\n", "line 3: 1 cell(s); the header has 2"),
    ("time_s,a\n0,1\n2,warm\n", "line 3, column 2 (a): 'warm' is not a number"),
    ("a,b\n0,1\n", "no time_s column"), ("time_s,time_s\n0,1\n", "appears twice"),
    ("time_s,a\n0,1\n,2\n", "row 2: time_s nan"), ("time_s,a\n5,1\n2,2\n", "row 2: time_s 2"),
    ("time_s,a\n0,1\x00\n", "line 2"),
])
def test_timeseries_damaged(folder, text, expected):
    _summary_without_manifest(folder)
    (folder / "timeseries.csv").write_text(text)
    assert expected in _refused(lambda: load_result(folder), "timeseries.csv")


def test_timeseries_not_utf8(folder):
    (folder / "timeseries.csv").write_bytes(b"time_s,a\n0,\xff\n")
    assert "not UTF-8 text: byte 0xff at offset 11" in _refused(lambda: read_timeseries(folder / "timeseries.csv"),
                                                                 "timeseries.csv")


@pytest.mark.parametrize("text, expected", [
    ("<VTKFile><Collection><DataSet", "not valid XML"),
    ("<html/>", "root element <html>"),
    ('<VTKFile><Collection><DataSet timestep="0"/></Collection></VTKFile>', "DataSet 1: lacks"),
    ('<VTKFile><Collection><DataSet timestep="x" file="snapshot_0000.vtr"/></Collection></VTKFile>',
     "timestep 'x' is not a finite number"),
    ('<VTKFile><Collection><DataSet timestep="0" file="../other/snapshot_0000.vtr"/></Collection></VTKFile>',
     "points outside the result folder"),
    ('<VTKFile><Collection><DataSet timestep="0" file="/etc/passwd"/></Collection></VTKFile>',
     "is not a file name relative to the folder"),
])
def test_snapshot_index_damaged(folder, text, expected):
    _summary_without_manifest(folder)
    (folder / "snapshots.pvd").write_text(text)
    assert expected in _refused(lambda: load_result(folder), "snapshots.pvd")


def test_snapshot_missing_and_symlinked_out(folder, tmp_path):
    _summary_without_manifest(folder)
    (folder / "snapshot_0001.vtr").unlink()
    with pytest.raises(MissingResultFile) as info:
        read_snapshot_index(folder)
    assert "snapshot_0001.vtr" in str(info.value) and isinstance(info.value, FileNotFoundError)
    (tmp_path / "elsewhere.vtr").write_text("x")
    (folder / "snapshot_0001.vtr").symlink_to(tmp_path / "elsewhere.vtr")
    assert "points outside" in _refused(lambda: read_snapshot_index(folder), "snapshots.pvd")


@pytest.mark.parametrize("data", [b"", b"garbage", b"<?xml version='1.0'?><VTKFile type='RectilinearGrid'>"])
def test_fields_unreadable(folder, data):
    _summary_without_manifest(folder)
    (folder / "fields.vtr").write_bytes(data)
    _refused(lambda: load_result(folder), "fields.vtr")


def test_fields_of_another_grid(folder):
    _summary_without_manifest(folder)
    shutil.copy(folder / "fields.vtr", folder / "keep.vtr")
    text = (folder / "scenario.toml").read_text().replace('spacing = "1 mm"', 'spacing = "2 mm"')
    (folder / "scenario.toml").write_text(text)
    _refused(lambda: load_result(folder), "summary.json")      # the summary's grid is not the scenario's
    data = json.loads((folder / "summary.json").read_text())
    from ablation.run.setup import scenario_domain
    from ablation.run.transforms import apply_transforms
    domain = scenario_domain(apply_transforms(ablation.load_scenario(folder / "scenario.toml")))
    data["grid"]["cells"], data["grid"]["shape"] = domain.n_cells, [int(n) for n in domain.shape]
    (folder / "summary.json").write_text(json.dumps(data))
    assert "cells, but the scenario's grid has" in _refused(lambda: load_result(folder), "fields.vtr")


def test_invalid_scenario(folder):
    _summary_without_manifest(folder)
    (folder / "scenario.toml").write_text("name = [")
    assert "not a valid scenario" in _refused(lambda: load_result(folder), "scenario.toml")


def test_mixed_runs_are_refused_by_the_manifest(folder):
    # a kill during the final moves: new fields next to the old summary.json
    data = (folder / "fields.vtr").read_bytes()
    (folder / "fields.vtr").write_bytes(data.replace(b"TimeValue", b"TimeValuf") if b"TimeValue" in data
                                        else data + b"\n")
    assert "differs from the manifest" in _refused(lambda: load_result(folder), "fields.vtr")


def test_unlisted_and_missing_result_files(folder):
    shutil.copy(folder / "snapshot_0000.vtr", folder / "snapshot_0009.vtr")
    assert "does not list" in _refused(lambda: load_result(folder), "snapshot_0009.vtr")
    (folder / "snapshot_0009.vtr").unlink()
    (folder / "notes.txt").write_text("mine")          # not a result file: allowed
    (folder / "plots").mkdir(exist_ok=True)
    (folder / "plots" / "extra.png").write_bytes(b"png")
    load_result(folder)
    (folder / "timeseries.csv").unlink()
    with pytest.raises(MissingResultFile, match="timeseries.csv"):
        load_result(folder)


def test_manifest_entries_that_leave_the_folder(folder):
    data = json.loads((folder / "summary.json").read_text())
    data["manifest"]["files"]["../secret"] = "0" * 64
    (folder / "summary.json").write_text(json.dumps(data))
    assert "points outside" in _refused(lambda: load_result(folder), "summary.json")


# ------------------------------------------------------------------ the commands: exit 2, no traceback
@pytest.mark.parametrize("case", ["{}", "null", "[]", "empty timeseries", "malformed pvd"])
@pytest.mark.parametrize("command", ["report", "view"])
def test_commands_exit_2_without_traceback(folder, tmp_path, capsys, case, command):
    if case.startswith(("{", "n", "[")):
        (folder / "summary.json").write_text(case)
        name = "summary.json"
    else:
        _summary_without_manifest(folder)
        name = "timeseries.csv" if case == "empty timeseries" else "snapshots.pvd"
        (folder / name).write_text("" if name == "timeseries.csv" else "<VTKFile><Collection>")
    argv = ["report", str(folder)] if command == "report" else ["view", str(folder), "--out", str(tmp_path / "x.png")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert name in captured.err
    assert not (tmp_path / "x.png").exists()


# ------------------------------------------------------------------------------- property tests
def _check(call, name: str):
    """The reader returns, or refuses with the documented error naming the file."""
    try:
        return call()
    except ResultFolderError as exc:
        assert name in str(exc), str(exc)
        return None


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=6)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data[:3]):
            yield from _paths(v, prefix + (i,))


@FAST
@given(data=st.data())
def test_summary_property(original, tmp_path_factory, data):
    base = json.loads((original / "summary.json").read_text())
    path = data.draw(st.sampled_from([p for p in _paths({k: v for k, v in base.items() if k != "parameters"})]))
    action = data.draw(st.sampled_from(["replace", "delete", "bytes", "truncate"]))
    target = tmp_path_factory.mktemp("s") / "summary.json"
    raw = (original / "summary.json").read_bytes()
    if action == "bytes":
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    elif action == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    else:
        doc = json.loads(raw)
        if not path:
            doc = data.draw(_json)
        else:
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            if action == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(_json)
        raw = json.dumps(doc).encode()
    target.write_bytes(raw)
    summary = _check(lambda: read_summary(target), "summary.json")
    if summary is not None:     # what it accepts is a usable summary
        assert isinstance(summary.lesion.size.volume_ml, (int, float, type(None)))
        assert isinstance(summary.grid.cells, int) and isinstance(summary.scenario.name, str)
        assert summary.to_dict()["schema_version"] == 1


@FAST
@given(data=st.data())
def test_timeseries_property(original, tmp_path_factory, data):
    lines = (original / "timeseries.csv").read_text().splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["remove", "garbage", "cell", "truncate", "bytes"]))
        i = data.draw(st.integers(0, max(len(lines) - 1, 0)))
        if action == "remove" and lines:
            del lines[i]
        elif action == "garbage":
            lines.insert(i, data.draw(st.text(max_size=20)))
        elif action == "cell" and lines:
            cells = lines[i].split(",")
            cells[data.draw(st.integers(0, len(cells) - 1))] = data.draw(
                st.sampled_from(["", "x", "nan", "1e999", "-0", " 3 ", '"', "1,2"]))
            lines[i] = ",".join(cells)
        elif action == "truncate":
            lines = lines[:i]
    raw = "\n".join(lines).encode()
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    target = tmp_path_factory.mktemp("t") / "timeseries.csv"
    target.write_bytes(raw)
    series = _check(lambda: read_timeseries(target), "timeseries.csv")
    if series is not None:
        lengths = {len(v) for v in series.values()}
        assert len(lengths) == 1 and lengths.pop() >= 1
        assert all(math.isfinite(t) for t in series["time_s"])
        assert all(isinstance(x, float) for v in series.values() for x in v)


@FAST
@given(data=st.data())
def test_snapshot_index_property(original, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("p")
    for name in ("snapshot_0000.vtr", "snapshot_0001.vtr"):
        (folder / name).write_bytes(b"x")
    text = (original / "snapshots.pvd").read_text()
    action = data.draw(st.sampled_from(["cut", "insert", "attribute", "delete"]))
    if action == "cut":
        text = text[:data.draw(st.integers(0, len(text)))]
    elif action == "insert":
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.sampled_from(["<", ">", "&", '"', "</Collection>", "<DataSet/>", "\x00"])
                                     | st.text(max_size=6)) + text[at:]
    elif action == "attribute":
        value = data.draw(st.sampled_from(["", "../x.vtr", "/etc/hosts", "snapshot_0007.vtr", "inf", "nan", "-1",
                                           "1e400", "a&amp;b", "."]) | st.text(max_size=6))
        key = data.draw(st.sampled_from(["timestep", "file"]))
        import re
        text = re.sub(rf'{key}="[^"]*"', lambda m: f'{key}="{value}"', text, count=1)
    else:
        (folder / data.draw(st.sampled_from(["snapshot_0000.vtr", "snapshot_0001.vtr"]))).unlink()
    (folder / "snapshots.pvd").write_text(text)
    index = _check(lambda: read_snapshot_index(folder), "snapshots.pvd") if action != "delete" else None
    if action == "delete":
        try:
            read_snapshot_index(folder)
            raise AssertionError("a missing snapshot file was accepted")
        except MissingResultFile as exc:
            assert "snapshot_000" in str(exc) and "snapshots.pvd" in str(exc)
    elif index is not None:
        for t, path in index:
            assert math.isfinite(t) and path.is_file()
            assert path.resolve().is_relative_to(folder.resolve())


@SLOW
@given(data=st.data())
def test_load_result_property(original, tmp_path_factory, data):
    """Whole folders with a file deleted, truncated or overwritten, with and without a manifest."""
    folder = tmp_path_factory.mktemp("f") / "run"
    shutil.copytree(original, folder)
    if data.draw(st.booleans()):
        _summary_without_manifest(folder)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    name = data.draw(st.sampled_from(files))
    path = folder / name
    action = data.draw(st.sampled_from(["delete", "truncate", "bytes"]))
    raw = path.read_bytes()
    if action == "delete":
        path.unlink()
    elif action == "truncate":
        path.write_bytes(raw[:data.draw(st.integers(0, max(len(raw) - 1, 0)))])
    else:
        at = data.draw(st.integers(0, len(raw)))
        path.write_bytes(raw[:at] + data.draw(st.binary(min_size=1, max_size=6)) + raw[at + 6:])
    try:
        result = load_result(folder)
    except ResultFolderError as exc:
        named = str(exc).split(":")[0]
        assert Path(named).name in (PathName := {Path(name).name, "summary.json", "run", "snapshots.pvd"}) or \
            Path(named).is_relative_to(folder), (str(exc), PathName)
        if not name.endswith(("summary.json",)) and "manifest" in json.loads(
                (original / "summary.json").read_text()) and "manifest" in str(exc):
            assert name in str(exc)
        return
    # accepted: the files it needs hold what they should
    assert result.fields["temperature_C"].size == result.domain.n_cells
    assert len(result.timeseries.get("time_s", [0])) >= 1

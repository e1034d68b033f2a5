"""Reading a result folder back: summary, time series, fields and snapshots, and the rebuilt domain.

Used by ``ablation view`` and ``ablation report``. Every reader checks what it reads and refuses a
file it cannot use with a :class:`ResultFolderError` (a ``ValueError``) whose message names the
file and what is wrong; a required file that is absent raises :class:`MissingResultFile`, which is
also a ``FileNotFoundError``.

summary.json may hold a manifest, ``{"algorithm": "sha256", "files": {relative path: hex digest}}``
of every other file the run wrote; :func:`load_result` then refuses a folder whose files differ
from it, lack a listed file or hold an unlisted result file (fields, snapshots, surfaces, scene
pictures, data tables): such a folder mixes the files of different runs. The files the ``report``
command rewrites (report.html, report.md, plots/) are exempt. A folder without a manifest (written
by an older version) is read with a warning.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import stat
from pathlib import Path, PurePosixPath

import numpy as np

from ablation.input.probe_curves import InputFileError, decode_text, read_input_bytes
from ablation.runtime import quiet_vtk

log = logging.getLogger(__name__)

#: Largest summary.json / timeseries.csv / snapshots.pvd read (bytes).
MAX_SUMMARY_BYTES = 256 * 1024 * 1024
MAX_TIMESERIES_BYTES = 1024 * 1024 * 1024
MAX_INDEX_BYTES = 16 * 1024 * 1024

#: Result files the ``report`` command rewrites: not held to the manifest.
REWRITTEN = ("report.html", "report.md", "plots/")
#: Kinds of files a run writes: present but not in the manifest, they belong to another run.
RESULT_SUFFIXES = (".vtr", ".vts", ".vtp", ".vtu", ".vtk", ".stl", ".pvd", ".csv", ".toml", ".json", ".npz")


class ResultFolderError(ValueError):
    """A result folder, or one of its files, that cannot be read; ``path`` is the file."""

    def __init__(self, path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class MissingResultFile(ResultFolderError, FileNotFoundError):
    """A file a result folder needs is absent."""


def _read(path, limit: int, what: str) -> bytes:
    try:
        return read_input_bytes(path, limit, what=what)
    except InputFileError as exc:
        if not Path(path).exists() and not Path(path).is_symlink():
            raise MissingResultFile(path, "missing") from None
        raise ResultFolderError(path, str(exc).replace(f"{path}: ", "", 1)) from None


def _text(path, limit: int, what: str) -> str:
    data = _read(path, limit, what)
    try:
        return decode_text(data, path)
    except InputFileError as exc:
        raise ResultFolderError(path, str(exc).replace(f"{path}: ", "", 1)) from None


# ----------------------------------------------------------------------------------- summary.json
_NUM, _INT, _STR, _OBJ, _LIST, _BOOL = "a number", "an integer", "a string", "an object", "a list", "true or false"
_LESION = {"criterion": _STR, "description": _STR, "volume_ml": _NUM, "long_axis_mm": _NUM,
           "short_axis_mm": _NUM, "short_axis_2_mm": _NUM, "sphericity": _NUM}
SUMMARY_SCHEMA = {
    "schema_version": _INT,
    "scenario": {"name": _STR, "description": _STR},
    "modality": _STR,
    "grid": {"kind": _STR, "cells": _INT, "shape": [_INT], "min_spacing_mm": _NUM, "max_spacing_mm": _NUM,
             "held_cells": _INT},
    "time": {"duration_s": _NUM, "step_s": _NUM, "steps": _INT},
    "runtime_s": _NUM, "cg_iterations": _INT, "heat_balance_error": _NUM,
    "energy_J": {"stored": _NUM, "source": _NUM, "perfusion": _NUM, "boundary": _NUM, "walls": _NUM},
    "boundary_max_deviation_C": _NUM, "max_temperature_C": _NUM, "min_temperature_C": _NUM,
    "lesion": _LESION, "lesion_by_criterion": ("each", _LESION),
    "device": _OBJ, "parameters": _OBJ, "provenance": _OBJ,
}
# what the readers use of each tumour (ablation.outcome.coverage.coverage_metrics) and of the placement
# Monte Carlo (ablation.outcome.placement.analysis.placement_summary)
_TUMOR = {"volume_ml": _NUM, "coverage": _NUM, "technical_success": _BOOL, "margin_coverage": _OBJ,
          "min_margin_mm": _NUM, "min_margin_status": _STR}
_PLACEMENT = {"approach": _STR, "samples": _INT, "criterion": _STR, "p_technical_success": _NUM,
              "p_margin_5mm": _NUM, "p_margin_10mm": _NUM, "ci95": _OBJ, "error_model": _OBJ, "notes": _LIST}
#: Entries that may be absent (or null): their type when present.
OPTIONAL_ENTRIES = {"isotherms": _OBJ, "tumors": [_TUMOR], "placement": _PLACEMENT,
                    "clinical_context": {"context_not_advice": _STR, "notes": [_STR]},   # coverage.clinical_context
                    "manifest": {"algorithm": _STR, "files": ("each", _STR)}}


def _type_problem(value, spec, where: str, optional_null: bool = False) -> str | None:
    """What is wrong with ``value`` against ``spec`` (None when it fits). Numbers may be null
    (the writer stores NaN and infinity as null)."""
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return f"{where} is {_json_type(value)}; expected an object"
        for key, sub in spec.items():
            if key not in value:
                return f"{where}.{key} is missing"
            problem = _type_problem(value[key], sub, f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(spec, tuple):     # ("each", spec): an object of such values
        if not isinstance(value, dict):
            return f"{where} is {_json_type(value)}; expected an object"
        for key, item in value.items():
            problem = _type_problem(item, spec[1], f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    if isinstance(spec, list):
        if not isinstance(value, list):
            return f"{where} is {_json_type(value)}; expected a list"
        for i, item in enumerate(value):
            problem = _type_problem(item, spec[0], f"{where}[{i}]")
            if problem:
                return problem
        return None
    ok = {_NUM: (value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))),
          _INT: isinstance(value, int) and not isinstance(value, bool),
          _STR: isinstance(value, str), _OBJ: isinstance(value, dict), _LIST: isinstance(value, list),
          _BOOL: isinstance(value, bool)}[spec]
    return None if ok else f"{where} is {_json_type(value)}; expected {spec}"


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:30]!r}"
    return "a list" if isinstance(value, list) else "an object"


def check_summary(data, path="summary.json") -> None:
    """Raise :class:`ResultFolderError` unless ``data`` has the structure of a summary.json."""
    from ablation.run.summary import SCHEMA_VERSION
    if not isinstance(data, dict):
        raise ResultFolderError(path, f"holds {_json_type(data)}; expected a JSON object (the summary of a run)")
    missing = [k for k in SUMMARY_SCHEMA if k not in data]
    if missing:
        raise ResultFolderError(path, f"lacks {', '.join(missing)}; is it a summary.json of this package?")
    problem = _type_problem(data, SUMMARY_SCHEMA, "summary")
    if problem is None:
        for key, spec in OPTIONAL_ENTRIES.items():
            if data.get(key) is not None:
                problem = _type_problem(data[key], spec, key)
                if problem:
                    break
    if problem:
        raise ResultFolderError(path, problem.removeprefix("summary."))
    if data["schema_version"] != SCHEMA_VERSION:
        raise ResultFolderError(path, f"schema_version {data['schema_version']}; this version reads "
                                      f"{SCHEMA_VERSION} (written by a different version of the package)")
    if data["modality"] not in ("thermal", "rfa", "cryo"):
        raise ResultFolderError(path, f"modality {data['modality'][:30]!r}; expected thermal, rfa or cryo")
    if data["grid"]["kind"] not in ("axisymmetric", "cartesian", "3d"):   # '3d': what the time loop writes
        raise ResultFolderError(path, f"grid.kind {data['grid']['kind'][:30]!r}; expected axisymmetric, 3d or "
                                      "cartesian")
    shape, kind = data["grid"]["shape"], data["grid"]["kind"]
    axes = 2 if kind == "axisymmetric" else 3
    if len(shape) != axes or any(n < 1 for n in shape) or math.prod(shape) != data["grid"]["cells"]:
        raise ResultFolderError(path, f"grid.shape {shape} does not fit a {kind} grid of {data['grid']['cells']} "
                                      f"cells; expected {axes} positive cell counts whose product is the cell count")


def read_summary_data(path) -> dict:
    """summary.json as checked JSON (:func:`check_summary`)."""
    text = _text(path, MAX_SUMMARY_BYTES, "summary.json")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFolderError(path, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ResultFolderError(path, "not usable JSON: nested too deeply") from None
    check_summary(data, path)
    return data


def read_summary(path):
    """summary.json as a :class:`ablation.run.summary.Summary`."""
    from ablation.run.summary import Summary
    data = read_summary_data(path)
    try:
        return Summary.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultFolderError(Path(path), f"not usable: {exc}") from None


# -------------------------------------------------------------------------------- timeseries.csv
def read_timeseries(path) -> dict:
    """timeseries.csv back into {column: list of floats} (empty cells are NaN). The file needs a
    header with a ``time_s`` column and at least one row of numbers, as many as header names."""
    text = _text(path, MAX_TIMESERIES_BYTES, "time series")
    header, columns, line_no = None, [], 0
    try:
        for line_no, row in enumerate(csv.reader(text.splitlines()), start=1):
            if not row:
                continue
            if header is None:
                header = [c.strip() for c in row]
                if any(not c for c in header):
                    raise ResultFolderError(path, f"line {line_no}: an empty column name in the header")
                dup = next((c for c in header if header.count(c) > 1), None)
                if dup is not None:
                    raise ResultFolderError(path, f"line {line_no}: column {dup[:40]!r} appears twice in the header")
                if "time_s" not in header:
                    raise ResultFolderError(path, f"line {line_no}: no time_s column in the header "
                                                  f"{','.join(header)[:80]!r}")
                columns = [[] for _ in header]
                continue
            if len(row) != len(header):
                raise ResultFolderError(path, f"line {line_no}: {len(row)} cell(s); the header has {len(header)}")
            for col, (cell, values) in enumerate(zip(row, columns), start=1):
                cell = cell.strip()
                try:
                    values.append(float(cell) if cell else math.nan)
                except ValueError:
                    raise ResultFolderError(path, f"line {line_no}, column {col} ({header[col - 1][:40]}): "
                                                  f"{cell[:40]!r} is not a number") from None
    except csv.Error as exc:
        raise ResultFolderError(path, f"line {line_no + 1}: {exc}") from None
    if header is None:
        raise ResultFolderError(path, "empty; expected a header row 'time_s,...' and a row per time step")
    series = dict(zip(header, columns))
    times = series["time_s"]
    if not times:
        raise ResultFolderError(path, "no rows after the header; expected a row per time step")
    t = np.asarray(times)
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        bad = int(np.argmax(~np.isfinite(t))) if not np.all(np.isfinite(t)) else int(np.argmax(np.diff(t) < 0)) + 1
        raise ResultFolderError(path, f"row {bad + 1}: time_s {t[bad]:g} is not a finite time after the rows before")
    return series


# ------------------------------------------------------------------------------ fields and snapshots
def read_fields(path, domain) -> dict:
    """The cell arrays of a .vtr written by :func:`ablation.output.files.field_grid`, checked
    against ``domain``."""
    import pyvista as pv
    path = Path(path)
    if not path.exists():
        raise MissingResultFile(path, "missing")
    _read_check_regular(path)
    try:
        with pv.vtk_verbosity("off"), quiet_vtk():
            grid = pv.read(path)
    except Exception as exc:    # the VTK readers raise many kinds for a damaged file
        raise ResultFolderError(path, f"not a readable VTK file ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(grid, pv.RectilinearGrid):
        raise ResultFolderError(path, f"holds a {type(grid).__name__}; expected a rectilinear grid (.vtr)")
    if grid.n_cells != domain.n_cells:
        raise ResultFolderError(path, f"{grid.n_cells} cells, but the scenario's grid has {domain.n_cells}; "
                                      "was the scenario file edited after the run, or the file damaged?")
    expected = [e * 1e3 for e in domain.edges]
    got = [np.asarray(grid.x), np.asarray(grid.z)] if domain.kind == "axisymmetric" else \
        [np.asarray(grid.x), np.asarray(grid.y), np.asarray(grid.z)]
    if any(a.shape != b.shape or not np.allclose(a, b, atol=1e-6) for a, b in zip(got, expected)):
        raise ResultFolderError(path, "grid coordinates differ from the scenario's grid")
    fields = {}
    for name in grid.cell_data:
        values = np.asarray(grid.cell_data[name])
        if values.ndim != 1 or values.shape[0] != domain.n_cells or not np.issubdtype(values.dtype, np.number):
            raise ResultFolderError(path, f"cell array {name!r} has shape {values.shape}; expected "
                                          f"{domain.n_cells} numbers")
        fields[name] = values.astype(float)
    if not fields:
        raise ResultFolderError(path, "no cell arrays; expected temperature_C and the damage fields")
    return fields


def _read_check_regular(path: Path) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ResultFolderError(path, f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise ResultFolderError(path, "not a regular file")


def _inside(directory: Path, name: str, where: Path, what: str) -> Path:
    """``directory / name`` when ``name`` is a relative path that stays in the folder."""
    if not name or "\x00" in name or Path(name).is_absolute() or PurePosixPath(name).is_absolute():
        raise ResultFolderError(where, f"{what} {name[:80]!r} is not a file name relative to the folder")
    full = (directory / name).resolve()
    if not full.is_relative_to(directory.resolve()):
        raise ResultFolderError(where, f"{what} {name[:80]!r} points outside the result folder")
    return directory / name


def read_snapshot_index(directory) -> list[tuple[float, Path]]:
    """(time_s, path) of every snapshot listed in DIR/snapshots.pvd (none without that file);
    every listed file must exist inside the folder."""
    import xml.etree.ElementTree as ET
    directory = Path(directory)
    index = directory / "snapshots.pvd"
    if not index.exists() and not index.is_symlink():
        return []
    text = _text(index, MAX_INDEX_BYTES, "snapshot index")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ResultFolderError(index, f"not valid XML: {exc}") from None
    if root.tag != "VTKFile" or root.find("Collection") is None:
        raise ResultFolderError(index, f"root element <{root.tag[:40]}> without a <Collection>; expected a "
                                       "ParaView collection <VTKFile type=\"Collection\">")
    entries = []
    for k, element in enumerate(root.iter("DataSet"), start=1):
        stamp, name = element.get("timestep"), element.get("file")
        what = f"DataSet {k}:"
        if stamp is None or name is None:
            raise ResultFolderError(index, f"{what} lacks the timestep or file attribute")
        try:
            t = float(stamp)
        except ValueError:
            t = math.nan
        if not math.isfinite(t):
            raise ResultFolderError(index, f"{what} timestep {stamp[:40]!r} is not a finite number")
        path = _inside(directory, name, index, f"{what} file")
        if not path.is_file():
            raise MissingResultFile(path, f"missing, but listed in {index.name} ({what[:-1]})")
        entries.append((t, path))
    return entries


# ---------------------------------------------------------------------------------------- manifest
def _rewritten(rel: str) -> bool:
    return rel in REWRITTEN or any(rel.startswith(p) for p in REWRITTEN if p.endswith("/"))


def _result_file(rel: str) -> bool:
    """A file of the kinds a run writes (data, fields, snapshots, surfaces, scene pictures)."""
    name = PurePosixPath(rel).name
    return (not _rewritten(rel) and rel != "summary.json"
            and (name.endswith(RESULT_SUFFIXES) or (name.startswith("scene") and name.endswith(".png"))))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_manifest(directory, summary_data: dict) -> bool:
    """Check the folder against the manifest in ``summary_data`` (summary.json); False (with a
    logged warning) when there is none. Raises :class:`ResultFolderError` naming the first file that
    is missing, differs from its digest, or is a result file the manifest does not list."""
    directory = Path(directory)
    summary_path = directory / "summary.json"
    manifest = summary_data.get("manifest")
    if manifest is None:
        log.warning("%s: no manifest (written by an older version): its files cannot be checked to come "
                    "from one run", summary_path)
        return False
    if manifest.get("algorithm") != "sha256":
        raise ResultFolderError(summary_path, f"manifest algorithm {str(manifest.get('algorithm'))[:30]!r}; "
                                              "expected 'sha256'")
    listed = {}
    for rel, digest in manifest["files"].items():
        path = _inside(directory, rel, summary_path, "manifest entry")
        listed[PurePosixPath(Path(rel).as_posix()).as_posix()] = (path, digest)
    for rel in sorted(listed):
        path, digest = listed[rel]
        if _rewritten(rel):
            continue
        if not path.exists():
            raise MissingResultFile(path, "missing, but listed in the manifest of summary.json")
        _read_check_regular(path)
        if _sha256(path) != digest.lower():
            raise ResultFolderError(path, "differs from the manifest of summary.json: the folder mixes files "
                                          "of different runs (or the file was changed after the run)")
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if any(part.startswith(".") for part in PurePosixPath(rel).parts) or path.is_dir():
            continue    # staging folders of a run being written
        if rel not in listed and _result_file(rel):
            raise ResultFolderError(path, "a result file the manifest of summary.json does not list: the "
                                          "folder mixes files of different runs")
    return True


# ------------------------------------------------------------------------------------ load_result
#: what view and report say of the folders other commands write (their marker's kind)
_OTHER_FOLDERS = {
    "plan": "this is the folder of 'ablation plan', whose report.html that command wrote; view and report "
            "read a run's folder: run its solved layout with 'ablation run DIR/plan_scenario.toml'",
    "converge": "this is the folder of 'ablation converge' (convergence.json); view and report read a run's folder",
    "sweep": "this is the store of 'ablation sweep', whose report.html that command wrote ('ablation sweep "
             "SCENARIO --out DIR --resume' rebuilds it); view and report read a run's folder",
}


def other_command_folder(directory: Path) -> str:
    """The end of a 'not a run's folder' message: which command wrote it, when a marker says so."""
    from ablation.output.files import MARKER, SWEEP_MARKER, _read_marker
    if (directory / SWEEP_MARKER).is_file():
        return _OTHER_FOLDERS["sweep"]
    marker = _read_marker(directory) if (directory / MARKER).is_file() else None
    kind = marker.get("kind") if marker else None
    if kind in _OTHER_FOLDERS:
        return _OTHER_FOLDERS[kind]
    if (directory / "comparison.json").is_file():
        return ("this is the folder of 'ablation compare': 'ablation report' rebuilds its report; view reads a "
                "run's folder (each approach's run, if kept, has one)")
    return "is this the folder of a completed run?"


def load_result(directory):
    """A saved result folder back as a :class:`ablation.run.result.Result`: the domain rebuilt
    from DIR/scenario.toml (cheap), the final fields read from DIR/fields.vtr, the summary
    (:class:`ablation.run.summary.Summary`) and time series from their files. Snapshots stay on
    disk: ``Result.snapshot_index`` lists them; :func:`snapshot_fields` reads one.

    Raises
    ------
    MissingResultFile
        (a FileNotFoundError) when the folder or a file it needs is absent
    ResultFolderError
        (a ValueError) when a file is damaged, of another run, or does not fit the others
    """
    from ablation.input.scenario import ScenarioError, load_scenario
    from ablation.run.result import Result
    from ablation.run.setup import scenario_domain
    from ablation.run.summary import Summary
    from ablation.run.transforms import apply_transforms
    from ablation.physics.damage import parse_criterion
    directory = Path(directory)
    if not directory.is_dir():
        raise MissingResultFile(directory, "no such folder")
    for name in ("scenario.toml", "summary.json"):
        if not (directory / name).exists():
            raise MissingResultFile(directory, f"no {name}; " + other_command_folder(directory))
    if not (directory / "fields.vtr").exists():
        raise MissingResultFile(directory, "no fields.vtr; the run had outputs.fields = false")
    summary_path = directory / "summary.json"
    data = read_summary_data(summary_path)
    verify_manifest(directory, data)
    _text(directory / "scenario.toml", MAX_SUMMARY_BYTES, "scenario file")   # a regular text file
    try:
        scenario = load_scenario(directory / "scenario.toml")
    except ScenarioError as exc:
        raise ResultFolderError(directory / "scenario.toml", "not a valid scenario:\n" + exc.format()) from None
    if scenario.modality != data["modality"]:
        raise ResultFolderError(summary_path, f"modality {data['modality']!r}, but scenario.toml is "
                                              f"{scenario.modality!r}: the files are of different runs")
    domain = scenario_domain(apply_transforms(scenario))
    if data["grid"]["cells"] != domain.n_cells or data["grid"]["kind"] != domain.kind:
        raise ResultFolderError(summary_path, f"grid of {data['grid']['cells']} {data['grid']['kind']} cells, but "
                                              f"scenario.toml gives {domain.n_cells} {domain.kind} cells: the "
                                              "files are of different runs")
    fields = read_fields(directory / "fields.vtr", domain)
    try:
        crit = parse_criterion(data["lesion"]["criterion"])
        crit.level(fields)
    except (KeyError, ValueError) as exc:
        raise ResultFolderError(directory / "fields.vtr", f"cannot give the lesion of criterion "
                                f"{data['lesion']['criterion'][:40]!r} named in summary.json ({exc})") from None
    try:
        summary = Summary.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultFolderError(summary_path, f"not usable: {exc}") from None
    series_path = directory / "timeseries.csv"
    series = read_timeseries(series_path) if series_path.exists() or series_path.is_symlink() else {}
    return Result(scenario, domain, fields, [], series, summary, directory=directory,
                  snapshot_index=read_snapshot_index(directory))


def snapshot_fields(result, time_s: float) -> tuple[float, dict]:
    """The stored snapshot nearest to ``time_s`` of a loaded result: (its time, its fields)."""
    index = result.snapshot_index
    if not index:
        raise ResultFolderError(Path(result.directory or ".") / "snapshots.pvd", "this result has no stored snapshots")
    t, path = min(index, key=lambda e: abs(e[0] - time_s))
    return t, read_fields(path, result.domain)

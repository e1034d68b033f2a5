"""Reading a result folder back: summary, time series, fields and snapshots, and the rebuilt domain.

Used by ``ablation view`` and ``ablation report``; a folder that is not a complete result of this
toolkit is refused with a message naming the file."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

def read_timeseries(path) -> dict:
    """timeseries.csv back into {column: list of floats} (empty cells are NaN)."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    return {c: [float(r[i]) if i < len(r) and r[i] != "" else float("nan") for r in body]
            for i, c in enumerate(header)}


def read_fields(path, domain) -> dict:
    """The cell arrays of a .vtr written by :func:`field_grid`, checked against ``domain``."""
    import pyvista as pv
    grid = pv.read(path)
    if grid.n_cells != domain.n_cells:
        raise ValueError(f"{path}: {grid.n_cells} cells, but the scenario's grid has {domain.n_cells}; "
                         "was the scenario file edited after the run?")
    expected = [e * 1e3 for e in domain.edges]
    got = [np.asarray(grid.x), np.asarray(grid.z)] if domain.kind == "axisymmetric" else \
        [np.asarray(grid.x), np.asarray(grid.y), np.asarray(grid.z)]
    if any(a.shape != b.shape or not np.allclose(a, b, atol=1e-6) for a, b in zip(got, expected)):
        raise ValueError(f"{path}: grid coordinates differ from the scenario's grid")
    return {name: np.asarray(grid.cell_data[name], float) for name in grid.cell_data}


def read_snapshot_index(directory) -> list[tuple[float, Path]]:
    """(time_s, path) of every snapshot listed in DIR/snapshots.pvd."""
    import xml.etree.ElementTree as ET
    directory = Path(directory)
    index = directory / "snapshots.pvd"
    if not index.exists():
        return []
    root = ET.parse(index).getroot()
    return [(float(e.get("timestep")), directory / e.get("file")) for e in root.iter("DataSet")]


def load_result(directory):
    """A saved result folder back as a :class:`ablation.run.result.Result`: the domain rebuilt
    from DIR/scenario.toml (cheap), the final fields read from DIR/fields.vtr, the summary
    (:class:`ablation.run.summary.Summary`) and time series from their files. Snapshots stay on
    disk: ``Result.snapshot_index`` lists them; :func:`snapshot_fields` reads one."""
    from ablation.input.scenario import load_scenario
    from ablation.run.result import Result
    from ablation.run.summary import Summary
    from ablation.run.setup import scenario_domain
    from ablation.run.transforms import apply_transforms
    directory = Path(directory)
    for name in ("scenario.toml", "summary.json"):
        if not (directory / name).exists():
            raise FileNotFoundError(f"{directory}: no {name}; is this the folder of a completed run?")
    if not (directory / "fields.vtr").exists():
        raise FileNotFoundError(f"{directory}: no fields.vtr; the run had outputs.fields = false")
    scenario = load_scenario(directory / "scenario.toml")
    domain = scenario_domain(apply_transforms(scenario))
    fields = read_fields(directory / "fields.vtr", domain)
    summary = Summary.from_dict(json.loads((directory / "summary.json").read_text()))
    series = read_timeseries(directory / "timeseries.csv") if (directory / "timeseries.csv").exists() else {}
    return Result(scenario, domain, fields, [], series, summary, directory=directory,
                  snapshot_index=read_snapshot_index(directory))


def snapshot_fields(result, time_s: float) -> tuple[float, dict]:
    """The stored snapshot nearest to ``time_s`` of a loaded result: (its time, its fields)."""
    index = result.snapshot_index
    if not index:
        raise ValueError("this result has no stored snapshots")
    t, path = min(index, key=lambda e: abs(e[0] - time_s))
    return t, read_fields(path, result.domain)

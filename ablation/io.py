"""Writing results: summary.json, timeseries.csv, fields; all-or-nothing.

:class:`AtomicOutput` writes into a hidden staging folder next to the target and moves the files
into place only when the whole run succeeded (summary.json last, so its presence means complete).
A failed or interrupted run removes its staging folder and leaves earlier results untouched.
"""
from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np


class AtomicOutput:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.staging: Path | None = None

    def __enter__(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=self.directory))
        return self.staging

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                names = sorted(os.listdir(self.staging), key=lambda n: n == "summary.json")
                for name in names:
                    target = self.directory / name
                    if target.is_dir() and not target.is_symlink():
                        shutil.rmtree(target)
                    os.replace(self.staging / name, target)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
        return False


def _clean(value):
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(path, data) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_clean(data), indent=2) + "\n")
    os.replace(tmp, path)


def write_timeseries(path, series: dict) -> None:
    columns = list(series)
    rows = len(series["time_s"])
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(rows):
            out = []
            for c in columns:
                v = series[c][i] if i < len(series[c]) else float("nan")
                out.append("" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.9g}")
            writer.writerow(out)


def field_grid(domain, fields: dict):
    """The fields on a PyVista rectilinear grid with coordinates in mm (ParaView and 3D Slicer
    expect mm). Axisymmetric results lie in the r-z plane (x = r, z = axial position)."""
    import pyvista as pv
    if domain.kind == "axisymmetric":
        r, z = (e * 1e3 for e in domain.edges)
        grid = pv.RectilinearGrid(r, np.array([0.0]), z)
    else:
        grid = pv.RectilinearGrid(*(e * 1e3 for e in domain.edges))
    for name, values in fields.items():
        grid.cell_data[name] = np.asarray(values, float)
    return grid


def write_fields(directory, result) -> list[str]:
    """Final fields as fields.vtr, temperature snapshots as fields_NNNN.vtr with a .pvd index."""
    directory = Path(directory)
    field_grid(result.domain, result.fields).save(directory / "fields.vtr")
    names = []
    entries = []
    for i, (t, snap) in enumerate(result.snapshots):
        name = f"snapshot_{i:04d}.vtr"
        field_grid(result.domain, snap).save(directory / name)
        entries.append(f'    <DataSet timestep="{t:.6g}" file="{name}"/>')
        names.append(name)
    (directory / "snapshots.pvd").write_text(
        '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
        + "\n".join(entries) + "\n  </Collection>\n</VTKFile>\n")
    return ["fields.vtr", "snapshots.pvd", *names]


def write_result(directory, result, extra_writers=()) -> Path:
    """Write everything a run produces into ``directory`` atomically; returns the directory."""
    with AtomicOutput(directory) as staging:
        write_timeseries(staging / "timeseries.csv", result.timeseries)
        if result.scenario.outputs.fields:
            write_fields(staging, result)
        for writer in extra_writers:
            writer(staging, result)
        write_json(staging / "summary.json", result.summary)
    return Path(directory)

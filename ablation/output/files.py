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
from collections.abc import Mapping
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
    """JSON-safe: records with ``to_dict`` (:class:`ablation.run.summary.Summary`) to their dict,
    numpy scalars to Python, NaN/inf to None."""
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return _clean(value.to_dict())
    if isinstance(value, Mapping):
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


def field_grid(domain, fields: dict, time_s: float | None = None):
    """The fields on a PyVista rectilinear grid with coordinates in mm (ParaView and 3D Slicer
    expect mm). Axisymmetric results lie in the r-z plane of the probe frame (x = r, z = axial
    position, z = 0 at the tip); :func:`revolved_grid` gives them in 3-D world coordinates.
    Array names carry their unit (``temperature_C``, ``cem43_min``, ``time_above_50C_s``;
    ``omega`` is dimensionless). ``time_s`` goes into the field data as ``TimeValue``."""
    import pyvista as pv
    if domain.kind == "axisymmetric":
        r, z = (e * 1e3 for e in domain.edges)
        grid = pv.RectilinearGrid(r, np.array([0.0]), z)
    else:
        grid = pv.RectilinearGrid(*(e * 1e3 for e in domain.edges))
    for name, values in fields.items():
        grid.cell_data[name] = np.asarray(values, float)
    if time_s is not None:
        grid.field_data["TimeValue"] = np.array([float(time_s)])
    if domain.kind == "axisymmetric":   # where the r-z plane sits in the world: x_world = origin + F (r, 0, z)
        grid.field_data["probe_frame_origin_mm"] = np.asarray(domain.frame_origin, float) * 1e3
        grid.field_data["probe_frame_axes"] = np.asarray(domain.frame, float).T.ravel()
    return grid


def revolved_grid(domain, fields: dict, n_theta: int = 48):
    """Axisymmetric fields revolved about the probe axis into a 3-D structured grid in world
    coordinates (mm), ``n_theta`` sectors, float32 cell data (see :func:`ablation.viz.cell_grid`)."""
    from ablation.output.scene import cell_grid
    return cell_grid(domain, fields, n_theta=n_theta, dtype=np.float32)


def _pvd(entries) -> str:
    lines = [f'    <DataSet timestep="{t:.6g}" file="{name}"/>' for t, name in entries]
    return ('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
            + "\n".join(lines) + "\n  </Collection>\n</VTKFile>\n")


def write_fields(directory, result) -> list[str]:
    """Final fields as fields.vtr (and, for axisymmetric results, revolved into world coordinates
    as fields_3d.vts), snapshots of temperature and damage as snapshot_NNNN.vtr with a
    snapshots.pvd time index, and the surfaces of :func:`write_surfaces` in surfaces/."""
    directory = Path(directory)
    field_grid(result.domain, result.fields).save(directory / "fields.vtr")
    names = ["fields.vtr"]
    if result.domain.kind == "axisymmetric":
        revolved_grid(result.domain, result.fields).save(directory / "fields_3d.vts")
        names.append("fields_3d.vts")
    entries = []
    for i, (t, snap) in enumerate(result.snapshots):
        name = f"snapshot_{i:04d}.vtr"
        field_grid(result.domain, snap, time_s=t).save(directory / name)
        entries.append((t, name))
        names.append(name)
    (directory / "snapshots.pvd").write_text(_pvd(entries))
    names.append("snapshots.pvd")
    names += write_surfaces(directory / "surfaces", result)
    return names


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text)).strip("_") or "x"


def write_surfaces(directory, result) -> list[str]:
    """Triangulated surfaces in world coordinates (mm), each as .vtp (with point data, e.g. the
    local margin on tumours) and .stl (for 3D Slicer and printing): the lesion for every reported
    criterion, isotherms (cryo), every tumour and its margin shells; and the default criterion's
    lesion at every snapshot time (lesion_<criterion>_NNNN.vtp with a .pvd index)."""
    from ablation.output import scene as viz
    from ablation.physics.damage import parse_criterion
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def save(mesh, stem):
        if mesh is None or mesh.n_points == 0:
            return
        mesh.save(directory / f"{stem}.vtp")
        mesh.extract_surface(algorithm="dataset_surface").triangulate().save(directory / f"{stem}.stl")
        written.extend([f"surfaces/{stem}.vtp", f"surfaces/{stem}.stl"])

    criteria = list(result.summary.lesion_by_criterion)
    default = result.summary.lesion.criterion
    for name in criteria:
        crit = parse_criterion(name)
        if crit.field in result.fields:
            save(viz.level_surface(result.domain, crit.level(result.fields)), f"lesion_{_slug(name)}")
    # the default lesion at every snapshot that holds its field: lesion growth in ParaView
    crit = parse_criterion(default)
    entries = []
    for i, (t, snap) in enumerate(result.snapshots):
        if crit.field in snap:
            surface = viz.level_surface(result.domain, crit.level(snap))
            if surface.n_points:
                name = f"lesion_{_slug(default)}_{i:04d}.vtp"
                surface.save(directory / name)
                entries.append((t, name))
                written.append(f"surfaces/{name}")
    if entries:
        (directory / f"lesion_{_slug(default)}.pvd").write_text(_pvd(entries))
        written.append(f"surfaces/lesion_{_slug(default)}.pvd")
    parts = viz.scene_parts(result, default)
    for t_iso, surf in parts.isotherms.items():
        save(surf, f"isotherm_{t_iso:g}C")
    for i, tumor in enumerate(parts.tumors):
        stem = f"tumor_{i + 1}_{_slug(tumor.name)}"
        save(tumor.surface, stem)
        for m, shell in tumor.shells.items():
            save(shell, f"{stem}_margin_{m:g}mm")
    return written


# ------------------------------------------------------------------------------ reading back

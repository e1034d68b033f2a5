"""Reading vessel centre lines with their radius: a CSV of segments or a VTP of lines with a radius
point array, into :class:`ablation.geometry.vessel_tree.VesselTree` objects (one per tree name).

CSV (mm; the format meshes/vessel_centerlines.csv uses)::

    tree,id,parent,x0_mm,y0_mm,z0_mm,x1_mm,y1_mm,z1_mm,radius_mm[,flow_ml_min]

``tree``, ``id`` and ``parent`` are optional; ``flow_ml_min`` (blood flow) is optional (the wall
correlation then takes the Murray-law flow). VTP: lines (polylines are split into segments) with
a point array ``radius_mm`` (or ``radius``, mm), optional cell array ``tree`` (integers).
"""
from __future__ import annotations

import csv
import io
import math

import numpy as np

from ablation.anatomy.errors import AnatomyError
from ablation.anatomy.files import MAX_COORDINATE_M, cached_by_file, checked_file
from ablation.geometry.vessel_tree import VesselTree
from ablation.runtime import quiet_vtk

SUFFIXES = (".csv", ".vtp")
MM = 1e-3
# No radius below one liver cell, 10 um: the scenario's smallest size (ablation.input.plausibility,
# a layer above this reader; a test keeps them equal).
MIN_RADIUS_M = 1e-5
# The widest vessel at the liver, the inferior vena cava, is 20-30 mm across (radius 10-15 mm); a
# radius over 25 mm is a unit slip (cm or a diameter in um written as mm), not a vessel.
MAX_VESSEL_RADIUS_M = 25e-3
# Blood flow through one vessel: the whole cardiac output is about 5000 mL/min (the portal vein carries
# about 1000-1200); more than twice the cardiac output is a unit slip.
MAX_VESSEL_FLOW_ML_MIN = 10_000.0
REQUIRED = ("x0_mm", "y0_mm", "z0_mm", "x1_mm", "y1_mm", "z1_mm")


@cached_by_file
def read_centerlines(path) -> tuple[VesselTree, ...]:
    path = checked_file(path, "centre-line (CSV or VTP)", SUFFIXES)
    if path.name.lower().endswith(".csv"):
        rows = _read_csv(path)
    else:
        rows = _read_vtp(path)
    if not rows:
        raise AnatomyError(f"{path}: no segments; expected centre-line segments with a radius")
    trees = []
    for name in dict.fromkeys(r[0] for r in rows):
        part = [r for r in rows if r[0] == name]
        trees.append(VesselTree(name, [r[1] for r in part], [r[2] for r in part], [r[3] for r in part],
                                [r[4] for r in part]))
    return tuple(trees)


def _number(text, path, line, column) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise AnatomyError(f"{path}: line {line}, column {column!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise AnatomyError(f"{path}: line {line}, column {column!r}: {text!r} is not finite; "
                           "expected a finite number")
    return value


def _check_segment(where: str, start, end, radius: float) -> None:
    """A segment the model can hold: finite points within the scenario's coordinate box, some length,
    and a radius between one cell and the widest vessel at the liver (SI)."""
    for name, point in (("start", start), ("end", end)):
        if not np.all(np.isfinite(point)) or np.max(np.abs(point)) > MAX_COORDINATE_M:
            raise AnatomyError(f"{where}: {name} point {_mm(point)} mm is not a finite point within "
                               f"+-{MAX_COORDINATE_M / MM:g} mm of the origin; expected coordinates in mm, as "
                               "in the scenario")
    if not MIN_RADIUS_M <= radius <= MAX_VESSEL_RADIUS_M:
        raise AnatomyError(f"{where}: radius {radius / MM:g} mm is out of range; expected "
                           f"{MIN_RADIUS_M / MM:g} to {MAX_VESSEL_RADIUS_M / MM:g} mm (the inferior vena cava, "
                           "the widest vessel at the liver, is 20-30 mm across)")
    if np.allclose(start, end):
        raise AnatomyError(f"{where}: start and end coincide; expected a segment of some length")


def _mm(point) -> str:
    return "[" + ", ".join(f"{v / MM:g}" for v in np.asarray(point, float)) + "]"


def _read_csv(path):
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnatomyError(f"{path}: not UTF-8 text (byte {exc.start}); expected a CSV file") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _csv_rows(path, reader)
    except csv.Error as exc:
        # e.g. a bare carriage return inside a line: a column appended to a CRLF file by a Unix tool
        raise AnatomyError(f"{path}: line {reader.line_num}: {exc}; expected comma-separated rows, each ending "
                           "with one line break (LF or CRLF), and no carriage return inside a line") from None


def _csv_rows(path, reader):
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise AnatomyError(f"{path}: columns {', '.join(missing)} missing; expected a header with "
                           f"{', '.join(REQUIRED)}, radius_mm")
    if "radius_mm" not in header:
        raise AnatomyError(f"{path}: no radius_mm column: every centre-line segment needs its radius (mm)")
    rows, links = [], []
    for line, row in enumerate(reader, start=2):
        row = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue
        if row.get("radius_mm") in (None, ""):
            raise AnatomyError(f"{path}: line {line}: the segment has no radius (column radius_mm is empty); "
                               "every centre-line segment needs its radius")
        a = np.array([_number(row[c], path, line, c) for c in REQUIRED[:3]]) * MM
        b = np.array([_number(row[c], path, line, c) for c in REQUIRED[3:]]) * MM
        r = _number(row["radius_mm"], path, line, "radius_mm") * MM
        _check_segment(f"{path}: line {line}", a, b, r)
        flow = math.nan
        if row.get("flow_ml_min") not in (None, ""):
            flow_ml_min = _number(row["flow_ml_min"], path, line, "flow_ml_min")
            if not 0.0 <= flow_ml_min <= MAX_VESSEL_FLOW_ML_MIN:
                raise AnatomyError(f"{path}: line {line}, column 'flow_ml_min': {row['flow_ml_min']} mL/min is out of "
                                   f"range; expected 0 to {MAX_VESSEL_FLOW_ML_MIN:g} mL/min (the whole cardiac output "
                                   "is about 5000 mL/min)")
            flow = flow_ml_min * 1e-6 / 60.0
        rows.append((row.get("tree") or "vessels", a, b, r, flow))
        links.append((line, row.get("tree") or "vessels", row.get("id") or "", row.get("parent") or ""))
    _check_tree_links(path, links)
    return rows


def _check_tree_links(path, links) -> None:
    """``id`` and ``parent`` (optional) must describe trees: ids unique within a tree, each parent an
    id of the same tree (empty or -1 at a root), and no segment its own ancestor."""
    ids = {}
    for line, tree, segment, parent in links:
        if segment:
            if (tree, segment) in ids:
                raise AnatomyError(f"{path}: line {line}, column 'id': {segment} is already the id of line "
                                   f"{ids[tree, segment][0]} (tree {tree!r}); expected each id once per tree")
            ids[tree, segment] = (line, parent)
    for line, tree, segment, parent in links:
        if parent in ("", "-1"):
            continue
        if (tree, parent) not in ids:
            raise AnatomyError(f"{path}: line {line}, column 'parent': {parent} is no segment's id in tree {tree!r}; "
                               "expected the id of another segment of the same tree, or empty (-1) at a root")
        seen, step = {segment}, parent
        while step not in ("", "-1"):
            if step in seen:
                raise AnatomyError(f"{path}: line {line}, column 'parent': following the parents from id {segment} "
                                   f"returns to id {step} (a cycle); expected a tree, each branch ending at a root")
            seen.add(step)
            step = ids.get((tree, step), (None, ""))[1]


def _read_vtp(path):
    try:
        import pyvista as pv
        with quiet_vtk():
            poly = pv.read(str(path))
        lines = poly.lines
    except Exception as exc:
        raise AnatomyError(f"{path}: cannot be read as VTP centre lines ({type(exc).__name__}: {exc})") from None
    name = next((n for n in ("radius_mm", "radius") if n in poly.point_data), None)
    if name is None:
        raise AnatomyError(f"{path}: no point array 'radius_mm' (or 'radius'): every centre-line point needs "
                           f"its radius (arrays present: {', '.join(poly.point_data.keys()) or 'none'})")
    radius = np.asarray(poly.point_data[name], float) * MM
    trees = np.asarray(poly.cell_data["tree"]) if "tree" in poly.cell_data else None
    rows, i, cell = [], 0, 0
    while i < len(lines):
        n = int(lines[i])
        ids = lines[i + 1:i + 1 + n]
        for a, b in zip(ids[:-1], ids[1:]):
            start, end = np.asarray(poly.points[a], float) * MM, np.asarray(poly.points[b], float) * MM
            r = 0.5 * (radius[a] + radius[b])
            _check_segment(f"{path}: line cell {cell} (points {a}, {b})", start, end, r)
            tree = f"tree {int(trees[cell])}" if trees is not None else "vessels"
            rows.append((tree, start, end, r, math.nan))
        i += n + 1
        cell += 1
    return rows

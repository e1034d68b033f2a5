"""3-D scenes of an ablation result: lesion, tumours coloured by local margin, margin shells, probes,
vessels and a temperature slice through the probe axis (PyVista, imported lazily).

Everything is drawn in world coordinates in millimetres. Axisymmetric results (fields on the r-z
grid of the probe frame) are revolved about the probe axis for display.

Geometry first, drawing second: :func:`scene_parts` turns a result into plain PyVista meshes (the
same meshes :mod:`ablation.output.files` writes as .vtp/.stl surfaces), and :func:`render_scene` draws them,
off-screen into a PNG when there is no screen, or in an interactive window when there is one.

Local margin on a tumour surface point x (docs/physics.md 5, Ahmed et al. 2014)::

    m(x) = +d(x, S_lesion)  if x lies inside the lesion (level(x) >= 0)
           -d(x, S_lesion)  otherwise

with S_lesion the zero set of the criterion's level field and d the Euclidean distance (mm). The
sign comes from the interpolated level field, the distance is to the closest point of the
triangulated isosurface (a cell locator; VTK's implicit poly-data distance crashed intermittently
here on revolved surfaces, and its sign depends on the surface orientation).
"""
from __future__ import annotations

import functools
import os
import sys
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ablation.geometry.shapes import Ellipsoid, Segment, VoxelMask
from ablation.geometry.vessel_tree import VesselTree

M_TO_MM = 1e3                # metres -> millimetres (a factor; coverage.MM = 1e-3 is one mm in metres)
DEFAULT_MARGIN_MM = 5.0      # ablative margin target for colorectal metastases, docs/physics.md 5 (Shady et al. 2018)
MARGIN_CLIM_MM = (-10.0, 10.0)   # colour range: the margin classes of docs/physics.md 5 end at 10 mm
MARGIN_COLORS = 4                # one colour per 5 mm: < -5, -5..0 (uncovered, reds), 0-5, 5-10 (blues)

# Colours: Okabe & Ito (2008) colour-blind-safe palette; margin map 'RdBu' (ColorBrewer, marked
# colour-blind safe): red = uncovered (negative margin), blue = covered. The temperature slice is
# grey-scale so it never competes with the colour-coded surfaces.
COLORS = {
    "lesion": "#F0E442",          # yellow
    "lesion_edge": "#8C7E00",
    "probe_active": "#1A1A1A",
    "probe_shaft": "#8C8C8C",
    "vessel": "#CC79A7",          # reddish purple
    "margin_shell": "#555555",
    "tine": "#1A1A1A",
    "other": "#E69F00",
    "uncovered_line": "#000000",
    "background": "#FFFFFF",
}
ISOTHERM_COLORS = {0.0: "#56B4E9", -20.0: "#0072B2", -40.0: "#009E73"}
MARGIN_CMAP = "RdBu"
MARGIN_CLASS_EDGES_MM = (-5.0, 0.0, 5.0)   # the MARGIN_COLORS classes of MARGIN_CLIM_MM


def margin_classes(margin_mm) -> np.ndarray:
    """Class index per point (0: < -5 mm, 1: -5..0, 2: 0..5, 3: >= 5 mm; NaN -> 0, uncovered):
    the bins of MARGIN_CLIM_MM in MARGIN_COLORS colours, as scene.png's lookup table draws them."""
    m = np.asarray(margin_mm, float)
    return np.where(np.isfinite(m), np.digitize(np.nan_to_num(m, nan=-np.inf), MARGIN_CLASS_EDGES_MM), 0)


def margin_class_rgb(margin_mm) -> np.ndarray:
    """RGB (uint8) per point of its margin class: the colour scene.png's 4-colour 'RdBu' lookup table
    gives that class (the interactive view stores these colours, so vtk.js cannot blend classes)."""
    import matplotlib
    cmap = matplotlib.colormaps[MARGIN_CMAP].resampled(MARGIN_COLORS)
    table = (np.asarray([cmap(k)[:3] for k in range(MARGIN_COLORS)]) * 255).round().astype(np.uint8)
    return table[margin_classes(margin_mm)]


# ------------------------------------------------------------------------------- environment
def has_screen() -> bool:
    """True when an interactive window can be opened: macOS/Windows, or an X11/Wayland display whose
    server answers. A DISPLAY naming no server (a stale variable, a closed ssh -X) made `ablation
    view` open a window that never appeared and write nothing, with exit 0."""
    if sys.platform in ("darwin", "win32"):
        return True
    return _display_answers(os.environ.get("DISPLAY", ""), os.environ.get("WAYLAND_DISPLAY", ""),
                            os.environ.get("XDG_RUNTIME_DIR", ""))


@functools.lru_cache(maxsize=None)
def _display_answers(display: str, wayland: str, runtime_dir: str) -> bool:
    """Whether the X11 display (':N', 'unix:N', 'host:N') or the Wayland socket accepts a connection."""
    import socket
    if wayland:
        path = Path(wayland) if os.path.isabs(wayland) else Path(runtime_dir or "/tmp") / wayland
        if _connects(socket.AF_UNIX, str(path)):
            return True
    if not display:
        return False
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix"):
        return _connects(socket.AF_UNIX, f"/tmp/.X11-unix/X{number}")
    return _connects(socket.AF_INET, (host, 6000 + int(number)))


def _connects(family, address) -> bool:
    import socket
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            probe.connect(address)
        return True
    except OSError:
        return False


def prepare_offscreen() -> None:
    """Without a screen, make VTK render through EGL (Mesa) instead of looking for an X server.

    Must happen before the first render window is created (VTK reads the variable then); an
    explicit user setting (e.g. vtkOSOpenGLRenderWindow) is kept."""
    if not has_screen():
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


prepare_offscreen()   # before anything imports vtk through this module


def _pv():
    prepare_offscreen()
    import pyvista as pv
    return pv


# ---------------------------------------------------------------------------- grid helpers
def _centres(edges: np.ndarray) -> np.ndarray:
    return 0.5 * (edges[1:] + edges[:-1])


def frame_matrix(domain) -> np.ndarray:
    """4x4 transform from the probe frame (mm) to world (mm): x_world = origin + frame @ x_frame."""
    m = np.eye(4)
    m[:3, :3] = domain.frame
    m[:3, 3] = np.asarray(domain.frame_origin, float) * M_TO_MM
    return m


def centre_grid(domain, values: dict):
    """A grid whose *points* are the cell centres, carrying the cell values as point data, so that
    contours interpolate linearly between cell centres (as :func:`ablation.damage.lesion_size` does).

    Axisymmetric: the r-z plane of the probe frame (x = r, z = axial, mm) with an extra column on
    the axis r = 0 copying the first cell column (symmetry: d/dr = 0 there), so that contours reach
    the axis and revolve into closed surfaces. 3-D: world coordinates (mm)."""
    pv = _pv()
    if domain.kind == "axisymmetric":
        r_edges, z_edges = domain.edges
        r = np.concatenate([[0.0], _centres(r_edges)])
        grid = pv.RectilinearGrid(r * M_TO_MM, np.array([0.0]), _centres(z_edges) * M_TO_MM)
        for name, v in values.items():
            a = domain.index_grid(np.asarray(v, float))              # [z, r]
            grid.point_data[name] = np.concatenate([a[:, :1], a], axis=1).ravel()
        return grid
    grid = pv.RectilinearGrid(*(_centres(e) * M_TO_MM for e in domain.edges))
    for name, v in values.items():
        grid.point_data[name] = np.asarray(v, float)
    return grid


def cell_grid(domain, fields: dict | None = None, n_theta: int = 48, dtype=np.float64):
    """The grid's cells in world coordinates (mm) with ``fields`` as cell data.

    3-D: a rectilinear grid (the world frame). Axisymmetric: the r-z grid revolved about the probe
    axis into ``n_theta`` sectors, a structured grid whose cells near the axis are wedges (their
    two axis corners coincide); each revolved cell carries the value of its r-z cell."""
    pv = _pv()
    fields = fields or {}
    if domain.kind != "axisymmetric":
        grid = pv.RectilinearGrid(*(e * M_TO_MM for e in domain.edges))
        for name, v in fields.items():
            grid.cell_data[name] = _cast(v, dtype)
        return grid
    r_edges, z_edges = domain.edges
    theta = np.linspace(0.0, 2.0 * np.pi, n_theta + 1)
    z, t, r = np.meshgrid(z_edges, theta, r_edges, indexing="ij")     # r fastest, then theta, z
    local = np.vstack([(r * np.cos(t)).ravel(), (r * np.sin(t)).ravel(), z.ravel()])
    world = (np.asarray(domain.frame_origin, float)[:, None] + domain.frame @ local) * M_TO_MM
    grid = pv.StructuredGrid()
    grid.points = np.ascontiguousarray(world.T)
    grid.dimensions = (r_edges.size, n_theta + 1, z_edges.size)
    nr, nz = r_edges.size - 1, z_edges.size - 1
    for name, v in fields.items():
        a = domain.index_grid(_cast(v, dtype))                    # [z, r]
        grid.cell_data[name] = np.ascontiguousarray(np.broadcast_to(a[:, None, :], (nz, n_theta, nr)).ravel())
    return grid.copy(deep=True)        # VTK-owned memory (see orient_outward)


def _cast(values, dtype):
    """Values in ``dtype``, clipped to its range (Arrhenius Omega next to an electrode exceeds
    float32's 3.4e38; inf would only spoil colour ranges)."""
    values = np.asarray(values, float)
    limit = np.finfo(dtype).max if np.issubdtype(np.dtype(dtype), np.floating) else None
    return (np.clip(values, -limit, limit) if limit is not None else values).astype(dtype)


def sample_cells(domain, values: np.ndarray, points_m: np.ndarray) -> np.ndarray:
    """Linear interpolation of a cell field between cell centres at world points (3, n) in metres
    (axisymmetric: at their (r, z) in the probe frame). Points outside the centre lattice take
    linearly extrapolated values."""
    from scipy.interpolate import RegularGridInterpolator
    values = np.asarray(values, float)
    if domain.kind == "axisymmetric":
        r_edges, z_edges = domain.edges
        a = domain.index_grid(values)
        a = np.concatenate([a[:, :1], a], axis=1)
        r = np.concatenate([[0.0], _centres(r_edges)])
        f = RegularGridInterpolator((_centres(z_edges), r), a, bounds_error=False, fill_value=None)
        local = domain.to_frame(points_m)
        return f(np.column_stack([local[2], local[0]]))
    axes = tuple(_centres(e) for e in domain.edges)
    f = RegularGridInterpolator(axes, domain.index_grid(values).transpose(2, 1, 0), bounds_error=False,
                                fill_value=None)
    return f(np.asarray(points_m).T)


def level_surface(domain, values: np.ndarray, resolution: int = 96):
    """The zero isosurface of a cell field (world mm, triangles; empty when it has no zero).

    Axisymmetric: the zero contour line in the r-z plane revolved about the probe axis in
    ``resolution`` steps; 3-D: marching cubes on the cell-centre lattice."""
    pv = _pv()
    grid = centre_grid(domain, {"level": values})
    if np.nanmax(values) < 0.0 or np.nanmin(values) >= 0.0:
        return pv.PolyData()
    contour = grid.contour([0.0], scalars="level")
    if contour.n_points == 0:
        return pv.PolyData()
    if domain.kind == "axisymmetric":
        contour = contour.extrude_rotate(resolution=resolution, capping=False)
        contour = contour.transform(frame_matrix(domain), inplace=False)
    # merge the revolution seam and the points collapsed on the axis, drop the triangles that
    # collapse with them (they become lines, left out below): a closed triangle mesh
    merged = contour.triangulate().clean(tolerance=1e-5, absolute=True)
    surface = pv.PolyData(np.array(merged.points, dtype=float), np.array(merged.faces)).copy(deep=True)
    return orient_outward(surface, domain, values)


def orient_outward(surface, domain, values: np.ndarray):
    """Wind every triangle so its normal points out of the region ``values >= 0`` (towards lower
    values, probed 0.2 mm either side of the triangle's centroid). Revolved contours come in pieces
    of either orientation; outward winding gives STL files a positive volume and lets the scene
    cull the lesion's front faces."""
    if surface.n_cells == 0:
        return surface
    faces = np.asarray(surface.faces).reshape(-1, 4).copy()
    pts = np.asarray(surface.points)
    a, b, c = (pts[faces[:, k]] for k in (1, 2, 3))
    normal = np.cross(b - a, c - a)
    length = np.linalg.norm(normal, axis=1)
    normal /= np.where(length > 0, length, 1.0)[:, None]
    centroid = (a + b + c) / 3.0
    ahead = sample_cells(domain, values, ((centroid + 0.2 * normal) / M_TO_MM).T)
    behind = sample_cells(domain, values, ((centroid - 0.2 * normal) / M_TO_MM).T)
    flip = ahead > behind
    faces[flip, 2], faces[flip, 3] = faces[flip, 3].copy(), faces[flip, 2].copy()
    surface.faces = faces.ravel()
    # a deep copy moves the arrays into VTK-owned memory: assigned numpy arrays were seen to be
    # freed under VTK here (volumes changing between calls, an intermittent segfault)
    return surface.copy(deep=True)


# ------------------------------------------------------------------------------------ shapes
def tumor_surface(tumor, offset_mm: float = 0.0, coarse: bool = False):
    """Triangulated surface (mm) of a tumour (any :class:`ablation.geometry.shapes.Shape`, from its
    ``surface_mesh``), or its parallel (offset) surface at ``offset_mm`` along the outward normal.

    An ellipsoid's vertices move along its exact normal n = F (p / a^2) / |p / a^2|, which gives the
    exact parallel surface x + m n(x); other shapes' vertices move along the gradient of their
    signed distance and are then put on its level m by two Newton steps. ``coarse``: fewer
    triangles for an ellipsoid (margin shells drawn as wireframes)."""
    pv = _pv()
    if isinstance(tumor, Ellipsoid):
        vertices, faces = tumor.surface_mesh(18, 36) if coarse else tumor.surface_mesh()
    elif isinstance(tumor, VoxelMask):
        vertices, faces = voxel_mask_surface(tumor)
    else:
        vertices, faces = tumor.surface_mesh()
    world = np.asarray(vertices, float).T
    if offset_mm:
        offset = offset_mm / M_TO_MM
        if isinstance(tumor, Ellipsoid):
            world = world + offset * tumor.normals(world)
        else:
            world = world + offset * _unit_gradient(tumor, world)
            for _ in range(2):
                world = world + (offset - tumor.signed_distance(world)) * _unit_gradient(tumor, world)
    cells = np.hstack([np.full((faces.shape[0], 1), 3), faces]).ravel()
    surface = pv.PolyData(np.ascontiguousarray((world * M_TO_MM).T), cells)
    return surface.copy(deep=True)      # VTK-owned memory (see orient_outward)


def voxel_mask_surface(region) -> tuple[np.ndarray, np.ndarray]:
    """The zero level of a :class:`VoxelMask`'s signed-distance field (marching cubes on its voxel
    centres), not its voxel staircase: (vertices (n, 3) m, faces (m, 3)); the staircase when the
    contour is empty."""
    pv = _pv()
    grid, pad = region._distance_grid
    image = pv.ImageData(dimensions=grid.shape, spacing=tuple(region.spacing))
    image.point_data["d"] = grid.ravel(order="F")
    contour = image.contour([0.0], scalars="d", method="marching_cubes").triangulate().clean()
    if contour.n_points == 0:
        return region.surface_mesh()
    index = (np.asarray(contour.points, float) / region.spacing[None, :] - pad[None, :]).T
    faces = np.asarray(contour.faces).reshape(-1, 4)[:, 1:]
    return region.to_world(index).T, faces


def _unit_gradient(shape, points: np.ndarray) -> np.ndarray:
    """Unit gradient (3, n) of a shape's signed distance by central differences."""
    lo, hi = shape.bounds
    step = 1e-3 * float(np.min(hi - lo)) + 1e-12
    grad = np.empty_like(points)
    for k in range(3):
        e = np.zeros((3, 1))
        e[k] = step
        grad[k] = (shape.signed_distance(points + e) - shape.signed_distance(points - e)) / (2.0 * step)
    norm = np.linalg.norm(grad, axis=0)
    return grad / np.where(norm > 0, norm, 1.0)


def clip_segment(domain, start: np.ndarray, end: np.ndarray, samples: int = 2001):
    """The part of a straight segment (world, m) inside the computational domain, or None: also when
    that part has no length (a segment of no length, or one that only touches the domain's edge),
    which has no tube to draw."""
    s = np.linspace(0.0, 1.0, samples)
    pts = start[:, None] + (end - start)[:, None] * s
    inside = _inside_domain(domain, pts)
    if not inside.any():
        return None
    idx = np.nonzero(inside)[0]
    first, last = pts[:, idx[0]], pts[:, idx[-1]]
    if not np.linalg.norm(last - first) > 0.0:
        return None
    return first, last


def _inside_domain(domain, points_m):
    local = domain.to_frame(points_m)
    if domain.kind == "axisymmetric":
        r_edges, z_edges = domain.edges
        return (local[0] <= r_edges[-1]) & (local[2] >= z_edges[0]) & (local[2] <= z_edges[-1])
    ok = np.ones(points_m.shape[1], bool)
    for ax in range(3):
        ok &= (local[ax] >= domain.edges[ax][0]) & (local[ax] <= domain.edges[ax][-1])
    return ok


def cylinder(start_m, end_m, radius_m, resolution: int = 40):
    pv = _pv()
    start, end = np.asarray(start_m) * M_TO_MM, np.asarray(end_m) * M_TO_MM
    axis = end - start
    height = float(np.linalg.norm(axis))
    return pv.Cylinder(center=0.5 * (start + end), direction=axis / max(height, 1e-12),
                       radius=radius_m * M_TO_MM, height=height, resolution=resolution, capping=True).triangulate()


def _domain_bounds_mm(domain) -> np.ndarray:
    """World bounding box of the computational domain (xmin, xmax, ymin, ymax, zmin, zmax), mm."""
    if domain.kind == "axisymmetric":
        r_edges, z_edges = domain.edges
        corners = []
        for z in (z_edges[0], z_edges[-1]):
            for a in np.linspace(0, 2 * np.pi, 17):
                corners.append(domain.frame_origin + domain.frame @ np.array([r_edges[-1] * np.cos(a),
                                                                               r_edges[-1] * np.sin(a), z]))
        c = np.array(corners) * M_TO_MM
    else:
        c = np.array([[e[0] for e in domain.edges], [e[-1] for e in domain.edges]]) * M_TO_MM
    lo, hi = c.min(axis=0), c.max(axis=0)
    return np.array([lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]])


# ------------------------------------------------------------------------------ scene parts
# ------------------------------------------------------------------------------ scene parts
@dataclass
class TumorPart:
    name: str
    surface: object                 # PolyData (mm) with point data 'margin_mm'
    shells: dict                    # margin (mm) -> offset PolyData
    min_margin_mm: float            # minimum of the sampled local margin (this picture's estimate)
    uncovered_fraction: float       # area fraction of the surface with negative margin
    summary: dict = field(default_factory=dict)   # the tumour's entry of summary['tumors'], if any


@dataclass
class SceneParts:
    """Everything a scene shows, as PyVista meshes in world mm."""
    criterion: str
    criterion_description: str
    time_s: float | None
    lesion: object                          # PolyData, zero set of the criterion level
    isotherms: dict                         # degC -> PolyData (cryo)
    tumors: list                            # TumorPart
    probes: list                            # (name, active PolyData or None, shaft PolyData or None)
    vessels: list                           # (name, PolyData)
    other_regions: list                     # (name, kind, PolyData): tines and anything else held
    slice_field: str                        # the field on the section, 'temperature_C' by default
    slice_range: tuple                      # its range over the tissue (colour limits)
    roi: np.ndarray                         # bounds of the region of interest (mm)
    domain: object = None
    fields: dict = None
    liver: object = None
    end_time_s: float | None = None         # the run's duration (the final fields' time)


@dataclass
class Section:
    """The plane through the probe axis (and a tumour's centre when off the axis)."""
    plane: object                           # PolyData with point data ``slice_field``
    point: np.ndarray                       # on the axis, mm
    axis: np.ndarray                        # probe direction (unit)
    normal: np.ndarray                      # plane normal (unit)
    in_plane: np.ndarray                    # in the plane, perpendicular to the axis (unit)


def margin_values(result) -> list[float]:
    """Margins (mm) whose shells are drawn: 5 mm (docs/physics.md 5), or the smallest margin the
    coverage results report when they do not include 5 mm."""
    keys = set()
    for t in result.summary.get("tumors") or []:
        for k in (t.get("margin_coverage") or {}):
            try:
                keys.add(float(k))
            except ValueError:
                pass
    if DEFAULT_MARGIN_MM in keys or not keys:
        return [DEFAULT_MARGIN_MM]
    return [min(keys)]


def isotherm_levels(result, fields) -> list[float]:
    """Isotherms to draw (degC): the keys of summary['isotherms'] (cryo) when present, else the
    scenario's time_below thresholds, in both cases only those the tissue actually reached."""
    if "t_min_C" not in fields:
        return []
    coldest = float(np.min(np.asarray(fields["t_min_C"])[result.domain.tissue]))
    if coldest >= 0.0:
        return []
    levels = []
    iso = result.summary.get("isotherms")
    if isinstance(iso, dict):
        for k in iso:
            try:
                levels.append(float(str(k).replace("degC", "").replace("C", "").strip()))
            except ValueError:
                pass
    if not levels:
        levels = [float(t) for t in getattr(result.scenario.damage, "time_below", (0.0, -20.0, -40.0))]
    return sorted({lv for lv in levels if lv > coldest}, reverse=True)


def isotherm_label(level_C: float, parts) -> str:
    """Legend text of an isotherm: its level and the time its surface belongs to (the coldest
    temperature reached up to the shown time, i.e. the largest extent so far)."""
    t = parts.time_s if parts.time_s is not None else parts.end_time_s
    when = "" if t is None else f" at t = {t / 60:.3g} min" + (" (end)" if parts.time_s is None else "")
    return f"{level_C:g} degC isotherm, max extent{when}"


def scene_parts(result, criterion: str | None = None, fields: dict | None = None,
                time_s: float | None = None, slice_field: str = "temperature_C",
                resolution: int = 96) -> SceneParts:
    """Build the meshes of a scene from a result (final fields, or ``fields`` at ``time_s``)."""
    from ablation.physics.damage import fill_held, parse_criterion
    pv = _pv()
    domain = result.domain
    fields = fields if fields is not None else result.fields
    name = criterion or result.summary.get("lesion", {}).get("criterion") or "arrhenius"
    crit = parse_criterion(name)
    if crit.field not in fields:
        raise ValueError(f"criterion {name!r} needs the field {crit.field!r}, which this result"
                         f"{' snapshot' if time_s is not None else ''} does not hold "
                         f"(fields: {', '.join(sorted(fields))})")
    if slice_field not in fields:
        raise ValueError(f"no field {slice_field!r} to show on the section (fields: {', '.join(sorted(fields))})")
    level = fill_held(domain, crit.level(fields))     # the same lesion the coverage metrics see
    lesion = level_surface(domain, level, resolution)

    isotherms = {}
    for t_iso in isotherm_levels(result, fields):
        if crit.field == "t_min_C" and crit.kind == "at_most" and abs(crit.threshold - t_iso) < 1e-9:
            continue    # the lethal isotherm is the lesion surface already
        isotherms[t_iso] = level_surface(domain, t_iso - np.asarray(fields["t_min_C"], float), resolution)

    summaries = result.summary.get("tumors") or []
    tumors = []
    for i, tumor in enumerate(domain.tumors):
        surface = tumor_surface(tumor)
        margin = local_margin(domain, level, lesion, surface)
        surface.point_data["margin_mm"] = margin
        # coarser than the tumour: drawn as a wireframe that must not hide the tumour's colours
        shells = {m: tumor_surface(tumor, offset_mm=m, coarse=True) for m in margin_values(result)}
        entry = next((s for s in summaries if s.get("name") == tumor.name),
                     summaries[i] if i < len(summaries) else {})
        tumors.append(TumorPart(tumor.name, surface, shells,
                                float(np.nanmin(margin)) if np.isfinite(margin).any() else float("nan"),
                                _uncovered_area_fraction(surface, margin), entry))

    probes = []
    for probe in domain.probes:
        active = clip_segment(domain, probe.active.start, probe.active.end)
        shaft = clip_segment(domain, probe.shaft.start, probe.shaft.end)
        probes.append((probe.name, cylinder(*active, probe.radius) if active else None,
                       cylinder(*shaft, probe.radius) if shaft else None))
    vessels = []
    for i, vessel in enumerate(domain.vessels):
        region = domain.region("vessel", i)
        name = region.name if region else f"vessel {i + 1}"
        if isinstance(vessel, Segment):
            seg = clip_segment(domain, vessel.start, vessel.end)
            if seg is not None:
                vessels.append((name, cylinder(*seg, vessel.radius)))
        else:                                 # a patient's vessel tree or label vessel ([anatomy])
            mesh = patient_vessel_mesh(domain, vessel)
            if mesh is not None:
                mesh.field_data["patient_vessel"] = [1]    # drawn translucent, outlined on sections
                vessels.append((name, mesh))
    other = _other_regions(domain)
    roi = _region_of_interest(domain, lesion, tumors, probes, isotherms.values())
    tissue = domain.tissue
    values = np.asarray(fields[slice_field], float)[tissue]
    liver = organ_surface(domain)       # the patient's liver of [anatomy], in the domain (mm)
    return SceneParts(name, crit.description, time_s, lesion, isotherms, tumors, probes, vessels, other,
                      slice_field, (float(values.min()), float(values.max())), roi, domain, fields, liver,
                      _end_time(result))


def organ_surface(domain):
    """The liver surface of [anatomy] inside the domain box (mm): smoothed marching cubes of its
    label region, cropped to the domain first; None without one."""
    organ = getattr(domain, "organ", None)
    if organ is None or not isinstance(organ, VoxelMask):
        return None
    pv = _pv()
    from scipy import ndimage
    lo = np.array([e[0] for e in domain.edges])
    hi = np.array([e[-1] for e in domain.edges])
    corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(3, -1)
    index = organ.to_index(corners)
    shape = np.array(organ.mask.shape)
    i_lo = np.clip(np.floor(index.min(axis=1)).astype(int) - 3, 0, shape)
    i_hi = np.clip(np.ceil(index.max(axis=1)).astype(int) + 4, 0, shape)
    if np.any(i_hi <= i_lo):
        return None
    crop = organ.mask[i_lo[0]:i_hi[0], i_lo[1]:i_hi[1], i_lo[2]:i_hi[2]]
    padded = np.pad(crop.astype(float), 1)
    image = pv.ImageData(dimensions=padded.shape, spacing=tuple(organ.spacing * M_TO_MM))
    image.point_data["v"] = ndimage.gaussian_filter(padded, 1.0).ravel(order="F")
    surface = image.contour([0.5], scalars="v", method="marching_cubes").triangulate()
    if surface.n_points == 0:
        return None
    index = (np.asarray(surface.points, float) / (organ.spacing * M_TO_MM)[None, :] - 1.0 + i_lo[None, :]).T
    surface.points = (organ.to_world(index) * M_TO_MM).T
    clipped = surface.clip_box([lo[0] * M_TO_MM, hi[0] * M_TO_MM, lo[1] * M_TO_MM, hi[1] * M_TO_MM,
                                lo[2] * M_TO_MM, hi[2] * M_TO_MM], invert=False)
    return clipped.extract_surface(algorithm="dataset_surface").copy(deep=True) if clipped.n_points else None


def patient_vessel_mesh(domain, vessel):
    """Tubes of a vessel tree's segments inside the domain, or a label vessel's surface (mm).

    Kept for the next scene of the same domain (a copy is returned): a run draws its scene three
    times (pictures, interactive page, report), and the liver phantom's tree has some 300 segments
    per vessel inside the domain, a third of the pictures' time (issue 12)."""
    for key in [k for k, (ref, _, _) in _VESSEL_MESHES.items() if ref() is None]:
        del _VESSEL_MESHES[key]          # the domain is gone: so is its picture
    key = (id(domain), id(vessel))
    entry = _VESSEL_MESHES.get(key)
    if entry is None or entry[0]() is not domain or entry[1] is not vessel:
        entry = (weakref.ref(domain), vessel, _patient_vessel_mesh(domain, vessel))
        _VESSEL_MESHES[key] = entry
    mesh = entry[2]
    return None if mesh is None else mesh.copy(deep=True)


#: (id(domain), id(vessel)) -> (weak reference to the domain, the vessel, its mesh or None)
_VESSEL_MESHES: dict = {}


def _patient_vessel_mesh(domain, vessel):
    pv = _pv()
    if isinstance(vessel, VesselTree):
        tubes = []
        for i in range(vessel.count):
            seg = clip_segment(domain, vessel.starts[i], vessel.ends[i], samples=201)
            if seg is not None:
                tubes.append(cylinder(*seg, float(vessel.radii[i]), resolution=16))
        return pv.merge(tubes) if tubes else None
    vertices, faces = voxel_mask_surface(vessel.region)
    cells = np.hstack([np.full((faces.shape[0], 1), 3), faces]).ravel()
    return pv.PolyData(np.ascontiguousarray(vertices * M_TO_MM), cells).copy(deep=True)


def _end_time(result) -> float | None:
    try:
        return float(result.summary["time"]["duration_s"])
    except (KeyError, TypeError, ValueError):
        return None


def local_margin(domain, level: np.ndarray, lesion, surface) -> np.ndarray:
    """Signed local margin (mm) at the points of a tumour surface (module docstring): distance to
    the lesion isosurface, positive where the level field says the point is inside the lesion.
    Without any lesion the distance is undefined (NaN: drawn as uncovered)."""
    pts_m = np.asarray(surface.points).T / M_TO_MM
    inside = sample_cells(domain, level, pts_m) >= 0.0
    if lesion.n_points == 0:
        return np.full(pts_m.shape[1], np.nan)
    _, nearest = lesion.find_closest_cell(np.asarray(surface.points), return_closest_point=True)
    dist = np.linalg.norm(np.asarray(surface.points) - nearest, axis=1)
    return np.where(inside, dist, -dist)


def _uncovered_area_fraction(surface, margin) -> float:
    """Area fraction of a triangulated surface whose (vertex-averaged) margin is negative or NaN."""
    area = np.asarray(surface.compute_cell_sizes(length=False, volume=False).cell_data["Area"])
    faces = np.asarray(surface.faces).reshape(-1, 4)[:, 1:]
    cell_margin = np.mean(np.where(np.isfinite(margin), margin, -1.0)[faces], axis=1)
    return float(area[cell_margin < 0].sum() / area.sum()) if area.sum() > 0 else 0.0


def _other_regions(domain) -> list:
    """Held regions that are neither a straight probe part nor a vessel, and a multi-tine array's
    tines (the domain's applicator cells), drawn as the boundary of their cells."""
    known = {"probe_active", "probe_shaft", "vessel"}
    regions = [(r.name, r.kind, r.mask) for r in domain.regions if r.kind not in known and np.any(r.mask)]
    if domain.applicator_cells is not None and np.any(domain.applicator_cells):
        regions.append(("tines", "tines", domain.applicator_cells))    # tissue cells, not held
    out = []
    if not regions:
        return out
    n_theta = 64
    grid = cell_grid(domain, n_theta=n_theta)
    for name, kind, mask in regions:
        if domain.kind == "axisymmetric":
            nr, nz = domain.shape
            mask = np.broadcast_to(domain.index_grid(mask)[:, None, :], (nz, n_theta, nr)).ravel()
        cells = grid.extract_cells(np.nonzero(mask)[0]).extract_surface(algorithm="dataset_surface").triangulate()
        out.append((name, kind, cells))
    return out


def _region_of_interest(domain, lesion, tumors, probes, isotherms=()) -> np.ndarray:
    """Bounds (mm) around the lesion, the drawn isotherms (a cryo iceball's 0 degC edge lies up to
    about 1 cm beyond its lethal zone), tumours with their margin shells and the active probe
    parts, padded by 6 mm and clipped to the domain."""
    boxes = []
    for mesh in [lesion, *isotherms] + [t.surface for t in tumors] + [s for t in tumors for s in t.shells.values()] \
            + [p[1] for p in probes if p[1] is not None]:
        if mesh is not None and mesh.n_points:
            boxes.append(np.asarray(mesh.bounds))
    dom = _domain_bounds_mm(domain)
    if not boxes:
        return dom
    b = np.array(boxes)
    roi = np.array([b[:, 0].min(), b[:, 1].max(), b[:, 2].min(), b[:, 3].max(), b[:, 4].min(), b[:, 5].max()])
    roi[0::2] = np.maximum(roi[0::2] - 6.0, dom[0::2])
    roi[1::2] = np.minimum(roi[1::2] + 6.0, dom[1::2])
    return roi


def _bounds_of(meshes, pad: float) -> np.ndarray:
    b = np.array([m.bounds for m in meshes if m is not None and m.n_points])
    out = np.array([b[:, 0].min(), b[:, 1].max(), b[:, 2].min(), b[:, 3].max(), b[:, 4].min(), b[:, 5].max()])
    out[0::2] -= pad
    out[1::2] += pad
    return out


def section(parts: SceneParts, focus: int | None = None, roi=None) -> Section:
    """The section through the (first) probe axis, containing the focused (else the first)
    tumour's centre when that lies off the axis; the field on it is cut to ``roi`` (mm).

    Axisymmetric: the r-z plane mirrored to both sides of the axis; 3-D: a slice of the
    cell-centre lattice."""
    from ablation.geometry.shapes import orthonormal_frame
    pv = _pv()
    domain = parts.domain
    if domain.probes:
        point, axis = domain.probes[0].tip, domain.probes[0].direction
    else:
        point = domain.tumors[0].center if domain.tumors else np.asarray(domain.frame_origin, float)
        axis = np.array([0.0, 0.0, 1.0])
    frame = domain.frame if domain.kind == "axisymmetric" else orthonormal_frame(axis)
    in_plane = frame[:, 0]
    if domain.kind != "axisymmetric" and domain.tumors:
        v = domain.tumors[focus or 0].center - point
        v = v - (v @ axis) * axis
        if np.linalg.norm(v) > 1e-6:
            in_plane = v / np.linalg.norm(v)
    normal = np.cross(axis, in_plane)
    normal /= np.linalg.norm(normal)
    name = parts.slice_field
    values = np.asarray(parts.fields[name], float)
    if domain.kind == "axisymmetric":
        r_edges, z_edges = domain.edges
        rc = _centres(r_edges)
        a = domain.index_grid(values)                                # [z, r]
        local = domain.frame.T @ in_plane
        phi = np.arctan2(local[1], local[0])
        rot = np.eye(4)
        rot[:2, :2] = [[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]]
        plane = pv.RectilinearGrid(np.concatenate([-rc[::-1], rc]) * M_TO_MM, np.array([0.0]), _centres(z_edges) * M_TO_MM)
        plane.point_data[name] = np.concatenate([a[:, ::-1], a], axis=1).ravel()
        plane = plane.cast_to_structured_grid().transform(frame_matrix(domain) @ rot, inplace=False)
    else:
        plane = centre_grid(domain, {name: values}).slice(normal=normal, origin=point * M_TO_MM)
    roi = parts.roi if roi is None else roi
    plane = plane.clip_box(list(roi), invert=False).extract_surface(algorithm="dataset_surface").triangulate()
    return Section(plane, point * M_TO_MM, axis, normal, in_plane)


def half_space(mesh, point, normal, keep_positive: bool = True):
    """The part of a mesh on one side of the plane through ``point`` with ``normal``."""
    if mesh is None or mesh.n_points == 0:
        return mesh
    normal = np.asarray(normal, float)
    return mesh.clip(normal=-normal if keep_positive else normal, origin=point, invert=True)


# ---------------------------------------------------------------------------------- drawing
CAMERAS = ("iso", "side", "axial", "front")


def _camera_direction(sec: Section, camera: str):
    """Unit vector from the focal point to the camera, and the view-up vector. The probe enters
    from the top of the picture (view-up = -probe direction) except when looking down the probe.
    'side' faces the section plane; 'AZ,EL' turns from there by azimuth and elevation (degrees)."""
    n, d, u = sec.normal, sec.axis, sec.in_plane
    if camera == "side":
        return n, -d
    if camera == "axial":
        return -d, u
    if camera == "front":
        return u, -d
    if camera == "iso":
        v = n + 0.6 * u - 0.45 * d
        return v / np.linalg.norm(v), -d
    try:
        az, el = (np.deg2rad(float(x)) for x in camera.split(","))
    except ValueError:
        raise ValueError(f"camera {camera!r}: expected one of {', '.join(CAMERAS)} or "
                         "'AZIMUTH,ELEVATION' in degrees") from None
    v = np.cos(el) * (np.cos(az) * n + np.sin(az) * u) - np.sin(el) * d
    return v / np.linalg.norm(v), -d


def frame_camera(plotter, roi, direction, up, fill: float = 0.8) -> None:
    """Aim the current renderer's camera at the centre of ``roi`` (bounds, mm) from ``direction``
    so that the box's bounding sphere fills ``fill`` of the view height (VTK's own reset frames
    every actor, including the long probe shaft)."""
    roi = np.asarray(roi, float)
    focal = 0.5 * (roi[0::2] + roi[1::2])
    radius = 0.5 * float(np.linalg.norm(roi[1::2] - roi[0::2]))
    camera = plotter.camera
    half_angle = np.deg2rad(camera.view_angle) / 2.0
    distance = radius / (fill * np.tan(half_angle))
    plotter.camera_position = [tuple(focal + distance * np.asarray(direction)), tuple(focal), tuple(up)]
    plotter.renderer.ResetCameraClippingRange()


def _nice_length(span_mm: float) -> float:
    for length in (1, 2, 5, 10, 20, 50, 100):
        if length >= span_mm / 5.0:
            return float(length)
    return 200.0


def _slice_colormap(parts: SceneParts):
    """Grey scale with body temperature white and the treated extreme dark: heating darkens
    upwards, freezing downwards (whichever deviates more from 37 degC)."""
    lo, hi = parts.slice_range
    body = 37.0       # tissue.initial_temperature default (docs/physics.md 1)
    if hi - body >= body - lo:
        return "gray_r", (min(lo, body), max(hi, body + 1.0))
    return "gray", (min(lo, body - 1.0), max(hi, body))


def _bar(title, x, y, fmt, **extra):
    return dict(title=title, vertical=True, position_x=x, position_y=y, height=0.32, width=0.045, fmt=fmt,
                color="black", title_font_size=16, label_font_size=14, n_labels=5, unconstrained_font_size=True,
                **extra)


def _worst_visible_point(surface, view_dir) -> np.ndarray:
    """The most negative margin among surface points facing the camera (else overall)."""
    pts = np.asarray(surface.points)
    margin = np.where(np.isfinite(surface.point_data["margin_mm"]), surface.point_data["margin_mm"], -np.inf)
    facing = (pts - pts.mean(axis=0)) @ np.asarray(view_dir) > 0 if view_dir is not None else np.ones(len(pts), bool)
    candidates = np.nonzero(facing & (margin < 0))[0]
    if candidates.size == 0:
        candidates = np.nonzero(margin < 0)[0]
    return pts[candidates[np.argmin(margin[candidates])]]


def draw_surfaces(plotter, parts: SceneParts, focus: int | None = None, labels: bool = True,
                  margin_bar=(0.88, 0.55), view_dir=None, shell_style: str = "wireframe") -> list:
    """The 3-D objects: lesion (translucent), isotherms, tumours coloured by local margin with the
    covered/uncovered border, margin shells, probes, vessels, other held regions, liver. Returns
    the legend entries [(label, colour)]."""
    legend = []
    if parts.lesion.n_points:
        # only the far side of the lesion (front faces culled; level_surface winds them outward): covered tumour
        # parts lie inside the lesion, and a lesion drawn in front would tint their margin colours
        plotter.add_mesh(parts.lesion, color=COLORS["lesion"], opacity=0.6, smooth_shading=True, culling="front",
                         silhouette=dict(color=COLORS["lesion_edge"], line_width=2.0))
        legend.append((f"lesion: {parts.criterion_description}", COLORS["lesion"]))
    for t_iso, surf in parts.isotherms.items():
        if surf.n_points:
            color = ISOTHERM_COLORS.get(t_iso, "#999999")
            plotter.add_mesh(surf, color=color, opacity=0.22, smooth_shading=True,
                             silhouette=dict(color=color, line_width=2))
            legend.append((isotherm_label(t_iso, parts), color))
    for i, tumor in enumerate(parts.tumors):
        surface = tumor.surface
        if shell_style != "wireframe":    # vtk.js: the classes as stored colours (see margin_class_rgb)
            surface = surface.copy()
            surface.point_data["margin_class_rgb"] = margin_class_rgb(surface.point_data["margin_mm"])
            plotter.add_mesh(surface, scalars="margin_class_rgb", rgb=True,
                             opacity=0.5 if focus is not None and i != focus else 1.0, smooth_shading=True,
                             ambient=0.3, diffuse=0.75, specular=0.0)
        else:
            plotter.add_mesh(surface, scalars="margin_mm", cmap=MARGIN_CMAP, clim=MARGIN_CLIM_MM,
                             n_colors=MARGIN_COLORS,    # beyond +-10 mm the end classes' colours continue
                             opacity=0.5 if focus is not None and i != focus else 1.0, smooth_shading=True,
                             ambient=0.3, diffuse=0.75, specular=0.0,
                             nan_color="#67001F", show_scalar_bar=i == 0,
                             scalar_bar_args=_bar("local margin (mm)\nred < 0: uncovered", *margin_bar, "%+.0f"))
        if np.isfinite(surface.point_data["margin_mm"]).any():
            edge = surface.contour([0.0], scalars="margin_mm")
            if edge.n_points:
                plotter.add_mesh(edge, color=COLORS["uncovered_line"], line_width=5)
        if labels and tumor.uncovered_fraction > 0 and (focus is None or focus == i):
            anchor = _worst_visible_point(surface, view_dir)
            margin_text = f", min margin {tumor.min_margin_mm:+.1f} mm" if np.isfinite(tumor.min_margin_mm) else ""
            plotter.add_point_labels(anchor[None, :], [f"uncovered {100 * tumor.uncovered_fraction:.0f} % of surface"
                                                       + margin_text],
                                     font_size=17, text_color="#67001F", point_color="#67001F", point_size=8,
                                     shape_color="white", shape_opacity=0.85, always_visible=True, bold=True)
        for shell in tumor.shells.values():
            if shell_style == "wireframe":
                plotter.add_mesh(shell, style="wireframe", color=COLORS["margin_shell"], opacity=0.18, line_width=0.5)
            else:   # vtk.js draws translucent wireframes opaque: a faint surface instead
                plotter.add_mesh(shell, color=COLORS["margin_shell"], opacity=0.12, smooth_shading=True)
    if parts.tumors:
        legend.append(("tumour: covered (blue) / uncovered (red)", "#2166AC"))
        legend.append(("border of the uncovered part", COLORS["uncovered_line"]))
        shells = sorted({m for t in parts.tumors for m in t.shells})
        legend.append((f"{', '.join(f'{m:g}' for m in shells)} mm margin shell", COLORS["margin_shell"]))
    _draw_devices(plotter, parts, legend)
    return legend


def _draw_devices(plotter, parts: SceneParts, legend: list) -> None:
    for _, active, shaft in parts.probes:
        if active is not None:
            plotter.add_mesh(active, color=COLORS["probe_active"], smooth_shading=True)
        if shaft is not None:
            plotter.add_mesh(shaft, color=COLORS["probe_shaft"], smooth_shading=True)
    if parts.probes:
        legend.append(("probe: active part / shaft", COLORS["probe_active"]))
    for _, mesh in parts.vessels:
        patient = "patient_vessel" in mesh.field_data
        plotter.add_mesh(mesh, color=COLORS["vessel"], smooth_shading=True, opacity=0.45 if patient else 1.0)
    if parts.vessels:
        legend.append(("vessel", COLORS["vessel"]))
    for _, kind, mesh in parts.other_regions:
        plotter.add_mesh(mesh, color=COLORS["tine"] if "tine" in kind else COLORS["other"])
    for kind in sorted({k for _, k, _ in parts.other_regions}):
        legend.append((kind.replace("_", " "), COLORS["tine"] if "tine" in kind else COLORS["other"]))
    if parts.liver is not None:
        plotter.add_mesh(parts.liver, color="#B07050", opacity=0.12)
        legend.append(("liver", "#B07050"))


def draw_section(plotter, parts: SceneParts, sec: Section, temperature_bar=(0.88, 0.1)) -> list:
    """The section through the probe axis: the field in grey scale, the outlines of lesion (yellow),
    isotherms, tumours (black) and margin shells (grey) on it, and the probes and vessels behind it."""
    legend = []
    cmap, clim = _slice_colormap(parts)
    label = {"temperature_C": "temperature (degC)", "t_max_C": "peak temperature (degC)",
             "t_min_C": "lowest temperature (degC)"}.get(parts.slice_field, parts.slice_field)
    if sec.plane.n_points:
        plotter.add_mesh(sec.plane, scalars=parts.slice_field, cmap=cmap, clim=clim, lighting=False,
                         scalar_bar_args=_bar(label + ("" if parts.time_s is None else f"\nat {parts.time_s:g} s"),
                                              *temperature_bar, "%.0f" if clim[1] - clim[0] >= 10 else "%.1f"))
    lift = sec.normal * 0.1   # outlines just in front of the plane, so they are never hidden by it
    outlines = [(parts.lesion, COLORS["lesion"], 6, f"lesion: {parts.criterion_description}")]
    outlines += [(s, ISOTHERM_COLORS.get(t, "#999999"), 3, isotherm_label(t, parts)) for t, s in parts.isotherms.items()]
    outlines += [(t.surface, "#000000", 3, "tumour") for t in parts.tumors]
    outlines += [(s, COLORS["margin_shell"], 2, f"{m:g} mm margin") for t in parts.tumors for m, s in t.shells.items()]
    outlines += [(m, COLORS["vessel"], 2, "vessel") for _, m in parts.vessels if "patient_vessel" in m.field_data]
    seen = set()
    for mesh, color, width, text in outlines:
        if mesh is None or not mesh.n_points:
            continue
        # a hair off the plane: revolved surfaces have vertices exactly on it, which the cutter drops
        line = mesh.slice(normal=sec.normal, origin=sec.point + 1e-3 * sec.normal)
        if line.n_points:
            plotter.add_mesh(line.translate(lift, inplace=False), color=color, line_width=width)
            if text not in seen:
                legend.append((text, color))
                seen.add(text)
    drawn = set()
    for mesh, color, label in [(m, COLORS["probe_active"], "probe") for _, m, _ in parts.probes if m is not None] + \
            [(m, COLORS["probe_shaft"], "probe") for _, _, m in parts.probes if m is not None] + \
            [(m, COLORS["vessel"], "vessel") for _, m in parts.vessels if "patient_vessel" not in m.field_data] + \
            [(m, COLORS["tine"], kind.replace("_", " ")) for _, kind, m in parts.other_regions]:
        front = half_space(mesh, sec.point, sec.normal, keep_positive=True)   # the half towards the viewer
        if front is not None and front.n_points:
            plotter.add_mesh(front, color=color, smooth_shading=True)
            if label not in drawn:
                legend.append((label, COLORS["probe_active"] if label == "probe" else color))
                drawn.add(label)
    return legend


def _add_legend(plotter, entries, x0=14, y0=14, line=26, size=17) -> None:
    """A legend of coloured squares and black labels in the lower left corner of the current
    viewport (VTK's legend box colours the text like its symbol: a yellow label on white is
    unreadable)."""
    import vtk
    points = vtk.vtkPoints()
    polys = vtk.vtkCellArray()
    colors = vtk.vtkUnsignedCharArray()
    colors.SetNumberOfComponents(3)
    for k, (label, color) in enumerate(reversed(entries)):
        y = y0 + k * line
        ids = [points.InsertNextPoint(x, yy, 0) for x, yy in ((x0, y), (x0 + size, y), (x0 + size, y + size), (x0, y + size))]
        polys.InsertNextCell(4, ids)
        colors.InsertNextTuple3(*(int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)))
        plotter.add_text(label, position=(x0 + size + 8, y - 1), font_size=12, color="black")
    poly = vtk.vtkPolyData()
    poly.SetPoints(points)
    poly.SetPolys(polys)
    poly.GetCellData().SetScalars(colors)
    mapper = vtk.vtkPolyDataMapper2D()
    mapper.SetInputData(poly)
    actor = vtk.vtkActor2D()
    actor.SetMapper(mapper)
    plotter.add_actor(actor, reset_camera=False)


def _scale_bar(plotter, sec: Section, roi, offset=0.0) -> float:
    """A ruler of a round length (mm) near the deep end of the region of interest, along the
    in-plane direction (parallel to the screen in the section view)."""
    span = float(np.max(roi[1::2] - roi[0::2]))
    length = _nice_length(span)
    d = sec.axis
    center = 0.5 * (roi[0::2] + roi[1::2])
    depth = float(np.abs(d) @ (0.5 * (roi[1::2] - roi[0::2])))
    bottom = sec.point + d * ((center - sec.point) @ d + depth - 2.5)
    a = bottom - sec.in_plane * (0.5 * length) + sec.normal * (0.3 + offset)
    b = a + sec.in_plane * length
    plotter.add_ruler(a, b, title=f"{length:g} mm", number_labels=2, show_labels=False, label_color="black",
                      tick_color="black", font_size_factor=0.8)
    return length


def _caption(parts: SceneParts, result) -> str:
    s = result.summary
    when = f"t = {parts.time_s:g} s" if parts.time_s is not None else "end of run"
    lines = [f"{s.get('scenario', {}).get('name', '')} ({s.get('modality', '')}), {when}",
             f"lesion: {parts.criterion_description}"]
    by = s.get("lesion_by_criterion", {}).get(parts.criterion)
    if by and parts.time_s is None:
        lines.append(f"  {by['volume_ml']:.2f} mL, axes {by['long_axis_mm']:.1f} x {by['short_axis_mm']:.1f} mm")
    default = parts.criterion == s.get("lesion", {}).get("criterion") and parts.time_s is None
    if not parts.lesion.n_points:
        lines.append("  no lesion by this criterion")
    for t in parts.tumors:
        text = f"{t.name}: min margin {t.min_margin_mm:+.1f} mm" if np.isfinite(t.min_margin_mm) else \
            f"{t.name}: uncovered (no lesion)"
        if default and t.summary.get("coverage") is not None:
            text += f", coverage {100 * t.summary['coverage']:.1f} %"
        if default and t.summary.get("min_margin_mm") is not None:
            # the coverage module's minimum (its own sampling) next to this picture's
            text += f" (coverage metrics: min margin {t.summary['min_margin_mm']:+.1f} mm)"
        lines.append(text)
    return "\n".join(lines)


def make_plotter(result, parts: SceneParts, camera: str = "iso", focus: int | None = None,
                 window_size=(1800, 900), off_screen: bool = True):
    """Two views side by side: left the 3-D surfaces from ``camera``, right the section through the
    probe axis seen face on, each with its legend; scale bars on both."""
    pv = _pv()
    plotter = pv.Plotter(off_screen=off_screen, window_size=list(window_size), shape=(1, 2), border=False)
    plotter.set_background(COLORS["background"])
    roi = parts.roi
    if focus is not None:
        t = parts.tumors[focus]
        roi = _bounds_of([t.surface, *t.shells.values()], 3.0)
    sec = section(parts, focus)

    plotter.subplot(0, 0)
    # no depth peeling: with EGL/Mesa it drops translucent surfaces altogether (measured here)
    direction, up = _camera_direction(sec, camera)
    legend = draw_surfaces(plotter, parts, focus, margin_bar=(0.86, 0.55), view_dir=direction)
    frame_camera(plotter, roi, direction, up, fill=0.8)
    _add_legend(plotter, legend)
    title = "3-D view: tumour coloured by local margin" if parts.tumors else "3-D view"
    plotter.add_text(title + "\n" + _caption(parts, result),
                     position="upper_left", font_size=12, color="black")
    plotter.add_axes(color="black", viewport=(0.85, 0.0, 1.0, 0.15))

    plotter.subplot(0, 1)
    legend = draw_section(plotter, parts, sec, temperature_bar=(0.86, 0.1))
    _scale_bar(plotter, sec, roi)
    frame_camera(plotter, roi, sec.normal, -sec.axis, fill=0.85)   # after the ruler, which resets the camera
    _add_legend(plotter, legend)
    plotter.add_text("section through the probe axis (face on)", position="upper_left", font_size=12, color="black")
    return plotter


def render_scene(result, path=None, criterion=None, fields=None, time_s=None, camera="iso", focus=None,
                 window_size=(1800, 900), parts: SceneParts | None = None, slice_field="temperature_C"):
    """Render the scene off-screen; writes a PNG when ``path`` is given; returns the RGB image."""
    parts = parts or scene_parts(result, criterion, fields, time_s, slice_field)
    plotter = make_plotter(result, parts, camera, focus, window_size, off_screen=True)
    try:
        return plotter.screenshot(str(path) if path else None, return_img=True)
    finally:
        plotter.close()


def show_scene(result, criterion=None, fields=None, time_s=None, camera="iso", slice_field="temperature_C",
               focus=None, window_size=(1800, 900), parts: SceneParts | None = None) -> None:
    """Open the same two views in an interactive window (needs a screen: see :func:`has_screen`)."""
    parts = parts or scene_parts(result, criterion, fields, time_s, slice_field)
    plotter = make_plotter(result, parts, camera, focus, window_size, off_screen=False)
    plotter.show(title=f"ablation: {result.summary.get('scenario', {}).get('name', '')}")


def write_scene_images(directory, result, criterion=None, fields=None, time_s=None, camera="iso",
                       slice_field="temperature_C", prefix="scene", window_size=(1800, 900)) -> list[str]:
    """DIR/scene.png, and per-tumour close-ups scene_tumor_N.png when there are several tumours."""
    from pathlib import Path
    directory = Path(directory)
    parts = scene_parts(result, criterion, fields, time_s, slice_field)
    names = [f"{prefix}.png"]
    render_scene(result, directory / names[0], parts=parts, camera=camera, window_size=window_size)
    if len(parts.tumors) > 1:
        for i in range(len(parts.tumors)):
            names.append(f"{prefix}_tumor_{i + 1}.png")
            render_scene(result, directory / names[-1], parts=parts, camera=camera, focus=i,
                         window_size=window_size)
    return names


def export_interactive_html(result, path, criterion=None, fields=None, parts: SceneParts | None = None) -> bool:
    """A self-contained interactive 3-D view (vtk.js embedded by PyVista's trame export; opens
    off-line): the surfaces and the section plane. False when trame-pyvista is not installed."""
    try:
        import trame_pyvista  # noqa: F401
    except ImportError:
        return False
    import warnings
    pv = _pv()
    parts = parts or scene_parts(result, criterion, fields)   # the margins scene.png shows
    sec = section(parts)
    plotter = pv.Plotter(off_screen=True, window_size=[900, 700])
    plotter.set_background(COLORS["background"])
    draw_surfaces(plotter, parts, labels=False, shell_style="surface")
    cmap, clim = _slice_colormap(parts)
    if sec.plane.n_points:    # one scalar bar only (vtk.js stacks them on top of each other)
        plotter.add_mesh(sec.plane, scalars=parts.slice_field, cmap=cmap, clim=clim, lighting=False, opacity=0.85,
                         show_scalar_bar=False)
    direction, up = _camera_direction(sec, "iso")
    frame_camera(plotter, parts.roi, direction, up, fill=0.8)
    import sys
    # The export starts a local trame server, which would also set up trame-vtklocal and try to
    # download VTK's WebAssembly build from gitlab.kitware.com; the static vtk.js page needs none
    # of it. A None entry makes that optional import fail, which trame-pyvista tolerates.
    blocked = "trame.widgets.vtklocal"
    previous = sys.modules.get(blocked, "absent")
    if previous == "absent":
        sys.modules[blocked] = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plotter.export_html(str(path))
    finally:
        plotter.close()
        if previous == "absent":
            sys.modules.pop(blocked, None)
    return True

"""Graded FiPy grids and the region masks of a scenario on them.

Two kinds of grid:

* ``axisymmetric``: FiPy ``CylindricalGrid2D`` in the probe frame, r along x and z along y, z = 0
  at the probe tip and z increasing in the probe direction (into the tissue). Grid lines are put on
  the probe radius, the tip and the end of the active part, so the probe wall is body-fitted.
* ``3d``: FiPy ``Grid3D`` in world axes; probes and vessels at any angle are staircased (their wall
  condition acts at the true surface, see ``Region.signed_distance``).

The time loop needs only the grid's geometry arrays, computed directly for these rectilinear grids
(``FVGeometry.rectilinear``, tested equal to FiPy's); the FiPy mesh itself is built on demand
(``Domain.fipy_mesh``) for the FiPy-term reference path, because FiPy's Grid3D needs several GB
for 100^3 cells.

Spacing is ``h_fine`` inside fine intervals (probes' active parts and tumours plus a margin) and
grows by at most ``growth`` per cell up to ``h_max`` away from them.
"""
from __future__ import annotations

from dataclasses import dataclass, field


import numpy as np

from ablation.geometry.shapes import Segment, orthonormal_frame
from ablation.geometry.finite_volume import FVGeometry
from ablation.geometry.probe_wall import log_law_wall_lengths


def graded_edges(lo: float, hi: float, fine: list[tuple[float, float]], h_fine: float, h_max: float,
                 growth: float, breakpoints=()) -> np.ndarray:
    """Cell edges from ``lo`` to ``hi``: spacing ``h_fine`` inside the ``fine`` intervals, rising
    linearly with distance from them at a rate that makes neighbouring cells differ by about
    ``growth``, capped at ``h_max``. Every breakpoint inside (lo, hi) becomes an edge."""
    xs = np.linspace(lo, hi, 20001)
    dist = np.full_like(xs, np.inf)
    for a, b in fine:
        dist = np.minimum(dist, np.maximum(np.maximum(a - xs, xs - b), 0.0))
    if not fine:
        dist[:] = np.inf
    spacing = np.minimum(h_max, h_fine + (growth - 1.0) * dist)
    density = 1.0 / spacing
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(xs))])
    stops = sorted({lo, hi, *[b for b in breakpoints if lo < b < hi]})
    edges = [lo]
    for a, b in zip(stops[:-1], stops[1:]):
        ca, cb = np.interp([a, b], xs, cumulative)
        n = max(1, int(np.ceil((cb - ca) - 1e-9)))
        targets = np.linspace(ca, cb, n + 1)[1:]
        inner = np.interp(targets, cumulative, xs)
        inner[-1] = b
        edges.extend(inner)
    edges = np.asarray(edges)
    return edges[np.concatenate([[True], np.diff(edges) > 1e-12])]


@dataclass
class Region:
    """Cells held out of the tissue (a probe part or a vessel lumen) with the surface they share
    with tissue. ``kind`` is 'probe_active', 'probe_shaft' or 'vessel'; ``index`` the probe or
    vessel number."""
    name: str
    kind: str
    index: int
    mask: np.ndarray
    # signed distance (m, negative inside) of the true surface, world points (3, n) -> (n,);
    # lets the wall condition act at the real surface, not at the staircase face
    signed_distance: object = None


@dataclass
class Domain:
    kind: str                       # 'axisymmetric', '3d' (or '1d' in verification problems)
    mesh: object                    # the FiPy mesh, or None: built on demand by fipy_mesh()
    geometry: FVGeometry
    shape: tuple                    # cells per axis, x fastest (FiPy order)
    edges: list                     # edge coordinates per axis, in the frame (m)
    frame_origin: np.ndarray        # world position of the frame origin
    frame: np.ndarray               # 3x3, columns = world directions of the frame axes
    regions: list = field(default_factory=list)
    tumors: list = field(default_factory=list)        # Shape per tumour (shapes.Shape)
    tumor_masks: list = field(default_factory=list)   # bool per cell per tumour
    probes: list = field(default_factory=list)        # Probe per probe
    vessels: list = field(default_factory=list)       # Segment (or VesselTree, LabelVessel) per vessel
    organ: object = None                              # the liver shape of [anatomy] (or None)
    outside_organ: np.ndarray | None = None           # bool per cell: beyond the liver surface
    cell_labels: np.ndarray | None = None             # the label map resampled onto the cell centres
    anatomy_resample_s: float = 0.0                   # time taken by mark_anatomy (reported)
    # tissue cells an applicator runs through without being held out of the tissue (RF tines):
    # part of the applicator the connected lesion is grown from (physics/damage.py)
    applicator_cells: np.ndarray | None = None
    # per interior face, the length (m) of the log-law wall of a 3-D probe next to it (NaN elsewhere):
    # the heat and electric problems couple the probe wall to the tissue through it (probe_wall.py)
    wall_length: np.ndarray | None = None
    # per interior face, its share (m^2) of that probe's true wall area (NaN elsewhere): a wall
    # condition per unit area (a coolant's h, a heat flux) acts on it (probe_wall.py)
    wall_area: np.ndarray | None = None

    @property
    def n_cells(self) -> int:
        return self.geometry.n_cells

    def fipy_mesh(self):
        """The FiPy mesh of this grid (built on first use: the time loop needs only ``geometry``)."""
        if self.mesh is None:
            from ablation.runtime import import_fipy
            fp = import_fipy()
            widths = [np.diff(e) for e in self.edges]
            if self.kind == "axisymmetric":
                self.mesh = fp.CylindricalGrid2D(dx=widths[0], dy=widths[1])
            else:
                self.mesh = fp.Grid3D(dx=widths[0], dy=widths[1], dz=widths[2])
        return self.mesh

    @property
    def held(self) -> np.ndarray:
        out = np.zeros(self.n_cells, bool)
        for region in self.regions:
            out |= region.mask
        return out

    @property
    def tissue(self) -> np.ndarray:
        return ~self.held

    def frame_points(self) -> np.ndarray:
        """Cell centres in frame coordinates, (3, n): axisymmetric (r, 0, z); 3-D (x, y, z)."""
        c = self.geometry.centers
        if self.kind == "axisymmetric":
            return np.vstack([c[0], np.zeros_like(c[0]), c[1] + self.edges[1][0]])
        return c + np.array([e[0] for e in self.edges])[:, None]

    def world_points(self) -> np.ndarray:
        """Cell centres in world coordinates, (3, n) (axisymmetric: on the azimuth of frame e1)."""
        if self.kind == "axisymmetric":
            return self.frame_origin[:, None] + self.frame @ self.frame_points()
        return self.frame_points()

    def to_frame(self, world: np.ndarray) -> np.ndarray:
        """World points (3, n) to frame coordinates; axisymmetric gives (r, 0, z)."""
        local = self.frame.T @ (np.asarray(world) - self.frame_origin[:, None])
        if self.kind == "axisymmetric":
            return np.vstack([np.hypot(local[0], local[1]), np.zeros(local.shape[1]), local[2]])
        return local

    def index_grid(self, values: np.ndarray) -> np.ndarray:
        """A cell array reshaped to the grid (axis order as ``shape``, i.e. ``[x][y][z] -> [z, y, x]``)."""
        return np.asarray(values).reshape(self.shape[::-1])

    def region(self, kind: str, index: int) -> Region | None:
        return next((r for r in self.regions if r.kind == kind and r.index == index), None)

    def cell_widths(self) -> np.ndarray:
        """Cell extent along each frame axis, (dim, n)."""
        widths = [np.diff(e) for e in self.edges]
        grids = np.meshgrid(*widths, indexing="ij")
        return np.vstack([g.T.ravel() if len(widths) == 2 else g.transpose(2, 1, 0).ravel() for g in grids])


@dataclass(frozen=True)
class GridSpacing:
    """How fine the graded grid is: ``fine`` (m) inside the fine region, which reaches
    ``fine_margin`` (m) around probes' active parts and tumours, growing by at most ``growth`` per
    cell up to ``coarsest`` (m)."""
    fine: float
    coarsest: float
    growth: float
    fine_margin: float


def grid_edges(kind: str, center, size: float, spacing: GridSpacing, probes=(), tumors=(), fine_boxes=()):
    """Cell edges per axis of the graded grid, and its frame: (edges, frame origin, frame matrix).

    The fine region reaches ``fine_margin`` beyond the probes' active parts, each tumour's
    ``bounds`` (3-D) or its surface mesh in the probe frame (axisymmetric: r and z of the first
    probe, z = 0 at its tip), and (3-D) each ``fine_boxes`` entry, a (lower, upper) world box (m) of
    further applicator parts such as a multi-tine array's tines. Cheap (no masks): resource
    estimates call it before building anything."""
    h, h_max, growth, margin = spacing.fine, spacing.coarsest, spacing.growth, spacing.fine_margin
    half = size / 2.0
    center = np.asarray(center, float)
    if kind == "axisymmetric":
        probe = probes[0]
        frame = orthonormal_frame(probe.direction)
        origin = probe.tip
        z_center = float((center - origin) @ probe.direction)
        fine_z = [(-probe.active_length - margin, margin)]
        fine_r = [(0.0, probe.radius + margin)]
        for t in tumors:
            # a world box is not a box in the probe frame: the extents come from the surface
            vertices, _ = t.surface_mesh()
            local = (vertices - origin) @ frame
            z_t = local[:, 2]
            fine_z.append((float(z_t.min()) - margin, float(z_t.max()) + margin))
            fine_r.append((0.0, float(np.max(np.hypot(local[:, 0], local[:, 1]))) + margin))
        r_edges = graded_edges(0.0, half, fine_r, min(h, probe.radius / 2), h_max, growth, [probe.radius])
        z_edges = graded_edges(z_center - half, z_center + half, fine_z, h, h_max, growth,
                               [0.0, -probe.active_length])
        return [r_edges, z_edges], origin, frame
    lo, hi = center - half, center + half
    fine = [[], [], []]
    for p in probes:
        for ax in range(3):
            a, b = sorted((p.active.start[ax], p.active.end[ax]))
            fine[ax].append((a - p.radius - margin, b + p.radius + margin))
    for t_lo, t_hi in [t.bounds for t in tumors] + list(fine_boxes):
        for ax in range(3):
            fine[ax].append((float(t_lo[ax]) - margin, float(t_hi[ax]) + margin))
    return [graded_edges(lo[ax], hi[ax], fine[ax], h, h_max, growth) for ax in range(3)], np.zeros(3), np.eye(3)


def build_domain(kind: str, center, size: float, spacing: GridSpacing, probes=(), tumors=(), vessels=(),
                 vessel_names=(), fine_boxes=()) -> Domain:
    """The graded grid of ``kind`` ('axisymmetric' or '3d') around ``center`` (m) with edge length
    ``size`` (m), and the region masks of ``probes`` (:class:`Probe`), ``tumors`` (any
    :class:`ablation.geometry.shapes.Shape`) and ``vessels`` (:class:`Segment`) on it. The fine
    region reaches ``fine_margin`` beyond each tumour's ``bounds`` (3-D) or beyond its surface mesh
    in the probe frame (axisymmetric). Axisymmetric grids lie in the frame of the first probe (its
    axis and tip)."""
    probes, tumors, vessels = list(probes), list(tumors), list(vessels)
    edges, origin, frame = grid_edges(kind, center, size, spacing, probes, tumors, fine_boxes)
    if kind == "axisymmetric":
        r_edges, z_edges = edges
        domain = Domain("axisymmetric", None, FVGeometry.rectilinear([r_edges, z_edges], axisymmetric=True),
                        (r_edges.size - 1, z_edges.size - 1), [r_edges, z_edges], origin, frame)
    else:
        domain = Domain("3d", None, FVGeometry.rectilinear(edges),
                        tuple(e.size - 1 for e in edges), edges, np.zeros(3), np.eye(3))
    domain.tumors, domain.probes, domain.vessels = tumors, probes, vessels
    mark_regions(domain, vessel_names)
    return domain


def mark_regions(domain: Domain, vessel_names=()) -> None:
    """Probe, shaft and vessel regions (held cells) and tumour masks of the domain's shapes."""
    pts = domain.world_points()
    frame_pts = domain.frame_points()
    taken = np.zeros(domain.n_cells, bool)
    for i, probe in enumerate(domain.probes):
        for kind, seg in (("probe_active", probe.active), ("probe_shaft", probe.shaft)):
            if domain.kind == "axisymmetric":
                z = frame_pts[2]
                r = frame_pts[0]
                inside = r < probe.radius
                inside &= (z < 0.0) & (z > -probe.active_length) if kind == "probe_active" \
                    else (z < -probe.active_length)
            else:
                inside = seg.contains(pts) | _cells_hit(domain, off_grid_lines(seg))
            mask = inside & ~taken
            taken |= mask
            domain.regions.append(Region(f"{probe.name} {kind.split('_')[1]}", kind, i, mask,
                                         seg.signed_distance))
    for i, vessel in enumerate(domain.vessels):
        mask = (vessel.contains(pts) | _cells_hit(domain, vessel)) & ~taken
        taken |= mask
        name = vessel_names[i] if i < len(vessel_names) and vessel_names[i] else f"vessel {i + 1}"
        domain.regions.append(Region(name, "vessel", i, mask, vessel.signed_distance))
    domain.tumor_masks = [t.contains(pts) & ~taken for t in domain.tumors]
    domain.wall_length = domain.wall_area = None
    if domain.kind == "3d" and domain.probes:
        domain.wall_length = np.full(domain.geometry.face_area.size, np.nan)
        domain.wall_area = np.full(domain.geometry.face_area.size, np.nan)
        for i, probe in enumerate(domain.probes):
            mine = np.zeros(domain.n_cells, bool)
            for region in domain.regions:
                if region.kind.startswith("probe") and region.index == i:
                    mine |= region.mask
            faces, lengths, areas = log_law_wall_lengths(domain, off_grid_lines(probe.needle), mine, taken)
            domain.wall_length[faces] = lengths
            domain.wall_area[faces] = areas


def mark_anatomy(domain: Domain, anatomy) -> None:
    """The patient's labels resampled onto the cell centres (nearest voxel) and the cells beyond the
    liver surface, which take the surroundings' properties (:mod:`ablation.geometry.patient`)."""
    import time
    start = time.perf_counter()
    points = domain.world_points()
    domain.organ = anatomy.organ
    if anatomy.labels is not None:
        domain.cell_labels = anatomy.labels.lookup(points)
    if anatomy.organ is not None:
        domain.outside_organ = ~anatomy.organ.contains(points)
    domain.anatomy_resample_s = time.perf_counter() - start


def _cells_hit(domain: Domain, seg: Segment) -> np.ndarray:
    """Cells the segment's centre line passes through: keeps a thin probe or vessel connected on a
    coarse 3-D grid, where no cell centre may lie within its radius. The line is cut where it crosses
    the grid planes and the cell holding each piece's midpoint is taken, so a corner it clips is not
    missed. Vessel trees and label vessels bring their own centre-line points (``sample_points``)."""
    if isinstance(seg, Segment):
        start, span = seg.start, seg.end - seg.start
        cuts = [np.array([0.0, 1.0])]
        for ax in range(3):
            if abs(span[ax]) > 0:
                t = (domain.edges[ax] - start[ax]) / span[ax]
                cuts.append(t[(t > 0.0) & (t < 1.0)])
        t = np.unique(np.concatenate(cuts))
        points = start[:, None] + span[:, None] * (0.5 * (t[1:] + t[:-1]))
    else:
        points = seg.sample_points(min(float(np.min(np.diff(e))) for e in domain.edges) / 4.0)
    index = np.vstack([np.searchsorted(domain.edges[ax], points[ax], side="right") - 1 for ax in range(3)])
    ok = np.all((index >= 0) & (index < np.array(domain.shape)[:, None]), axis=0)
    nx, ny, _ = domain.shape
    mask = np.zeros(domain.n_cells, bool)
    mask[index[0, ok] + nx * (index[1, ok] + ny * index[2, ok])] = True
    return mask


def off_grid_lines(segment: Segment) -> Segment:
    """The segment moved by PROBE_AXIS_NUDGE across its axis, in a fixed direction no grid plane
    contains: a probe axis lying on a cell face, edge or corner (a probe at a round position) then
    lies inside the cells it passes through, which the log-law wall needs (probe_wall.py)."""
    e = (segment.end - segment.start) / segment.length
    across = np.cross(e, np.array([0.3141, 0.5926, 0.7431]))
    if np.linalg.norm(across) < 1e-3:
        across = np.cross(e, np.array([0.7431, -0.3141, 0.5926]))
    shift = PROBE_AXIS_NUDGE * across / np.linalg.norm(across)
    return Segment(segment.start + shift, segment.end + shift, segment.radius, segment.name)


#: 0.1 micrometre: far below any cell and any placement error, far above rounding
PROBE_AXIS_NUDGE = 1e-7

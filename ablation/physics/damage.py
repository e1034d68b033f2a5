"""Thermal damage and isotherm accumulators, lesion criteria, and lesion size.

Accumulated per cell during a run (docs/physics.md section 2):

* Arrhenius damage  Omega = integral A [exp(-Ea / (R T)) - exp(-Ea / (R T_b))]+ dt, T in kelvin
  (trapezoidal in time), T_b the body (arterial) temperature: tissue at or below the temperature it
  lives at takes no damage; lesion Omega >= 1 (63 % cell death), 99 % at Omega >= 4.6.
* CEM43 = sum R^(43 - T) dt in minutes, R = 0.5 above 43 degC and 0.25 below; lethal at 240 min.
* the maximum and minimum temperature reached, and the time spent above/below thresholds.

A lesion *criterion* turns these fields into a level field that is >= 0 inside the lesion, which
the size and coverage metrics interpolate for sub-cell accuracy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

GAS_CONSTANT = 8.314462618  # J/(mol K)
CEM43_LETHAL_MIN = 240.0     # min (Sapareto & Dewey 1984)
#: Vascular stasis kinetics (Brown et al., Int J Hyperthermia 1992), as used for hepatic RF ablation by
#: Schutt & Haemmerich (Med Phys 2008): A in 1/s, Ea in J/mol.
STASIS_FREQUENCY_FACTOR = 1.98e106
STASIS_ACTIVATION_ENERGY = 6.67e5


def arrhenius(frequency_factor: float, activation_energy: float, temperature):
    """First-order rate A exp(-Ea / (R T)) in 1/s, T in degC (0 at and below absolute zero, which a
    failing run can pass on its way to being stopped)."""
    kelvin = np.maximum(np.asarray(temperature, float) + 273.15, 1e-3)
    return frequency_factor * np.exp(-activation_energy / (GAS_CONSTANT * kelvin))


def frequency_factor_for_edge(edge_temperature_C: float, activation_energy: float, exposure_s: float = 60.0) -> float:
    """The Arrhenius A (1/s) for which Omega reaches 1 after ``exposure_s`` at ``edge_temperature_C``.

    A and Ea are not identifiable separately from lesion sizes (Wright, J Biomech Eng 2003): what a
    zone measures is the temperature at which tissue dies over the exposure time of the experiment.
    Parameterising the kinetics by that edge temperature, at a fixed Ea, gives a parameter with a
    physical range (the coagulation zone's edge, 50-60 degC; docs/physics.md 2)."""
    return math.exp(activation_energy / (GAS_CONSTANT * (edge_temperature_C + 273.15))) / exposure_s


def edge_temperature(frequency_factor: float, activation_energy: float, exposure_s: float = 60.0) -> float:
    """Inverse of :func:`frequency_factor_for_edge`: the constant temperature (degC) at which Omega
    reaches 1 after ``exposure_s``."""
    return activation_energy / (GAS_CONSTANT * math.log(frequency_factor * exposure_s)) - 273.15


def stasis_perfusion_factor(stasis: np.ndarray) -> np.ndarray:
    """Perfusion multiplier from the vascular stasis integral Omega_vs: with DS = 1 - exp(-Omega_vs),
    1 + 25 DS - 260 DS^2 while DS <= 0.1 (hyperaemia: up to 1.6x near DS = 0.05), then 1 - DS
    (Tompkins et al. 1994 perfusion law, continuous at DS = 0.1; Schutt & Haemmerich, Med Phys 2008)."""
    ds = 1.0 - np.exp(-np.asarray(stasis, float))
    return np.where(ds <= 0.1, 1.0 + 25.0 * ds - 260.0 * ds ** 2, 1.0 - ds)


def perfusion_multiplier(mode: str, omega: np.ndarray, stasis: np.ndarray | None = None):
    """Perfusion multiplier from damage. 'arrhenius': 0 where Omega >= 1 (Chang & Nguyen 2004);
    'smooth': exp(-Omega); 'vascular_stasis': :func:`stasis_perfusion_factor` of the separate stasis
    integral; 'none': 1."""
    if mode == "arrhenius":
        return (omega < 1.0).astype(float)
    if mode == "smooth":
        return np.exp(-omega)
    if mode == "vascular_stasis":
        return stasis_perfusion_factor(stasis)
    return 1.0


class DamageAccumulator:
    def __init__(self, n_cells, initial_temperature, frequency_factor=7.39e39, activation_energy=2.577e5,
                 time_above=(50.0, 60.0), time_below=(0.0, -20.0, -40.0), stasis_kinetics=None,
                 baseline_temperature=None):
        t0 = np.broadcast_to(np.asarray(initial_temperature, float), (n_cells,))
        self.A, self.Ea = frequency_factor, activation_energy
        # Body temperature (degC) whose rate the damage and stasis integrals leave out (None: none).
        # Kinetics fitted to heated tissue extrapolate to a small but non-zero rate at 37 degC: the
        # library's liver kinetics reach Omega = 1 after 58 min there, the default model's after 16 h,
        # so a long enough run killed unheated tissue. Living tissue at its own temperature is in
        # steady state, so only the excess counts, [A exp(-Ea/RT) - A exp(-Ea/RT_b)]+. The part taken
        # off is exp(-Ea/R (1/T_b - 1/T)) of the rate: for the library's Ea 2 % at 50 degC, 0.1 % at
        # 60 degC. The rates at T_b are constants of the run, computed once here.
        self.baseline = None if baseline_temperature is None else float(baseline_temperature)
        self._omega_floor = 0.0 if self.baseline is None else float(arrhenius(self.A, self.Ea, self.baseline))
        self._stasis_floor = 0.0 if self.baseline is None or stasis_kinetics is None else \
            float(arrhenius(*stasis_kinetics, self.baseline))
        self.omega = np.zeros(n_cells)
        # vascular stasis integral, when perfusion follows it: (A, Ea) of its own kinetics
        self.stasis_kinetics = stasis_kinetics
        self.stasis = np.zeros(n_cells) if stasis_kinetics is not None else None
        self.cem43 = np.zeros(n_cells)           # minutes
        self.t_max = t0.copy()
        self.t_min = t0.copy()
        self.time_above = {float(t): np.zeros(n_cells) for t in time_above}
        self.time_below = {float(t): np.zeros(n_cells) for t in time_below}

    def arrhenius_rate(self, temperature):
        """A exp(-Ea / (R T)) in 1/s, T in degC, less its value at the baseline (body) temperature,
        never below 0."""
        return np.maximum(arrhenius(self.A, self.Ea, temperature) - self._omega_floor, 0.0)

    @staticmethod
    def cem43_rate(temperature):
        """CEM43 minutes accumulated per minute at T (degC)."""
        t = np.asarray(temperature)
        with np.errstate(over="ignore"):     # inf minutes far above any tissue temperature
            return np.where(t >= 43.0, 0.5, 0.25) ** (43.0 - t)

    def update(self, t_old, t_new, dt):
        self.omega += 0.5 * dt * (self.arrhenius_rate(t_old) + self.arrhenius_rate(t_new))
        if self.stasis is not None:
            a, ea = self.stasis_kinetics
            self.stasis += 0.5 * dt * (np.maximum(arrhenius(a, ea, t_old) - self._stasis_floor, 0.0)
                                       + np.maximum(arrhenius(a, ea, t_new) - self._stasis_floor, 0.0))
        # midpoint temperature: R^(43-T) grows by 2x per kelvin, so a trapezoid would overweight spikes
        self.cem43 += (dt / 60.0) * self.cem43_rate(0.5 * (t_old + t_new))
        np.maximum(self.t_max, t_new, out=self.t_max)
        np.minimum(self.t_min, t_new, out=self.t_min)
        for threshold, acc in self.time_above.items():
            acc += dt * (t_new > threshold)
        for threshold, acc in self.time_below.items():
            acc += dt * (t_new < threshold)

    def fields(self) -> dict:
        out = {"omega": self.omega, "cem43_min": self.cem43, "t_max_C": self.t_max, "t_min_C": self.t_min}
        if self.stasis is not None:
            out["vascular_stasis"] = self.stasis
        for t, acc in self.time_above.items():
            out[f"time_above_{t:g}C_s"] = acc
        for t, acc in self.time_below.items():
            out[f"time_below_{t:g}C_s"] = acc
        return out


@dataclass(frozen=True)
class Criterion:
    """A lesion definition: ``level(fields) >= 0`` inside the lesion."""
    name: str
    field: str
    threshold: float
    kind: str          # 'log_at_least', 'at_least', 'at_most'
    description: str

    def level(self, fields: dict) -> np.ndarray:
        value = np.asarray(fields[self.field], float)
        if self.kind == "log_at_least":
            # Omega and CEM43 vary over many decades: interpolate their logarithm
            return np.log(np.maximum(value, 1e-300)) - np.log(self.threshold)
        if self.kind == "at_least":
            return value - self.threshold
        return self.threshold - value

    def mask(self, fields: dict) -> np.ndarray:
        return self.level(fields) >= 0.0


def parse_criterion(name: str) -> Criterion:
    """'arrhenius', 'arrhenius_99', 'cem43', 'max_temperature:50', 'min_temperature:-40', 'three_state'."""
    if name == "arrhenius":
        return Criterion(name, "omega", 1.0, "log_at_least", "Arrhenius Omega >= 1 (63 % cell death)")
    if name == "arrhenius_99":
        return Criterion(name, "omega", 4.6, "log_at_least", "Arrhenius Omega >= 4.6 (99 % cell death)")
    if name == "cem43":
        return Criterion(name, "cem43_min", CEM43_LETHAL_MIN, "log_at_least", "CEM43 >= 240 min")
    if name == "three_state":
        return Criterion(name, "dead_fraction", 0.8, "at_least", "three-state model: dead fraction D > 0.8")
    for prefix, field_name, kind, word in (("max_temperature:", "t_max_C", "at_least", ">="),
                                           ("min_temperature:", "t_min_C", "at_most", "<=")):
        if name.startswith(prefix):
            try:
                value = float(name[len(prefix):])
            except ValueError:
                break
            return Criterion(name, field_name, value, kind,
                             f"{'maximum' if kind == 'at_least' else 'minimum'} temperature {word} {value:g} degC")
    raise ValueError(f"{name!r} is not a lesion criterion; expected arrhenius, arrhenius_99, cem43, "
                     "three_state, max_temperature:<degC> or min_temperature:<degC>")


def fill_held(domain, level: np.ndarray, nearest: np.ndarray | None = None) -> np.ndarray:
    """The level field with each held cell (probe, vessel lumen) whose sign contradicts the nearest
    tissue cell (nearest in grid index) given that cell's value: the lesion is judged by the tissue
    around an applicator, not by the wall temperature shown inside it (a cooled RF electrode would
    otherwise punch a hole into the lesion). Where they agree the held cell keeps its own value, so
    the boundary does not shift. Used by coverage, margins and pictures alike. ``nearest``: the
    domain's :func:`nearest_tissue`, when a caller keeps it (one distance transform per call else)."""
    held = domain.held
    level = np.asarray(level, float)
    if not held.any() or held.all():
        return level
    nearest_level = level[nearest_tissue(domain) if nearest is None else nearest]
    return np.where((level >= 0.0) == (nearest_level >= 0.0), level, nearest_level)


def nearest_tissue(domain) -> np.ndarray:
    """Per cell, the flat index of the nearest tissue cell (nearest in grid index; a tissue cell is
    its own)."""
    index = ndimage.distance_transform_edt(domain.index_grid(domain.held), return_distances=False,
                                           return_indices=True)
    flat = np.ravel_multi_index(tuple(index), index.shape[1:])
    return flat.ravel()


def zone_volume(domain, level: np.ndarray, nearest: np.ndarray | None = None) -> float:
    """Tissue volume (m^3) where ``level >= 0``, measured as :func:`lesion_size` measures the lesion
    (held cells filled, the edge interpolated) but without keeping only the part connected to a
    probe: the time series' zone at each step (``nearest`` as in :func:`fill_held`)."""
    level = fill_held(domain, level, nearest)
    return _tissue_volume(domain, level, level >= 0.0)


def zone_size(domain, level: np.ndarray, nearest: np.ndarray | None = None, axis=None) -> tuple[float, float, float]:
    """(volume m^3, largest diameter across the applicator axis m, length along it m) of the tissue
    where ``level >= 0``, measured as :func:`lesion_size` measures the lesion but without keeping
    only the part connected to a probe: the cryo time series' isotherm sizes at each step."""
    level = fill_held(domain, level, nearest)
    inside = level >= 0.0
    if not inside.any():
        return 0.0, 0.0, 0.0
    if domain.kind == "axisymmetric":
        length, across = _axisym_extents(domain, level, inside)
    else:
        length, across, _ = _extents_3d(domain, level, inside, axis)
    return _tissue_volume(domain, level, inside), across, length


def _tissue_volume(domain, level, inside) -> float:
    """The interpolated volume of ``inside`` less its held cells (an electrode in the zone is not
    tissue)."""
    return max(interpolated_volume(domain, level, inside)
               - float(np.sum(domain.geometry.volumes[inside & domain.held])), 0.0)


# ---------------------------------------------------------------------------------------- sizes
#: A lethal region that a sleeve of surviving tissue at most this thick separates from the applicator
#: still contains it (docs/physics.md 5). A cooled wall keeps the tissue next to it below a strict
#: criterion's threshold: the three-state model (D > 0.8) beside a cooled needle at 50 W for 5 min
#: left a sleeve one 0.375 mm cell thick round a zone of 0 mL before this allowance (8 mL by Arrhenius).
APPLICATOR_SLEEVE = 1.0e-3     # m


def connected_lesion(domain, inside: np.ndarray) -> np.ndarray:
    """The part of ``inside`` connected to a probe's active part or its tines, or separated from them
    only by a sleeve thinner than :data:`APPLICATOR_SLEEVE` (docs/physics.md 5: the connected lethal
    region that contains the applicator). Probe cells count as inside for connectivity."""
    active = np.zeros(domain.n_cells, bool)
    for region in domain.regions:
        if region.kind == "probe_active":
            active |= region.mask
    if domain.applicator_cells is not None:
        active |= domain.applicator_cells
    if not active.any():
        return inside.copy()
    # the sleeve in cells of the applicator's own (fine) size
    reach = int(np.ceil(APPLICATOR_SLEEVE / float(np.max(domain.cell_widths()[:, active])) - 1e-9))
    seed = ndimage.binary_dilation(domain.index_grid(active), iterations=max(reach, 1)).ravel()
    labels, _ = ndimage.label(domain.index_grid(inside | seed))
    flat = labels.ravel()
    keep = np.unique(flat[seed & (flat > 0)])
    return np.isin(flat, keep[keep > 0]) & inside


def lesion_size(domain, level: np.ndarray, axis=None) -> dict:
    """Volume (mL) and dimensions (mm) of the connected lesion where ``level >= 0``.

    long axis: extent along the applicator axis; short axis 1: largest diameter perpendicular to
    it; short axis 2: diameter perpendicular to both; sphericity = short 1 / long (docs/physics.md 5);
    edge cell: the largest cell extent on the lesion's edge (:func:`edge_cell_size`).
    The volume places the edge where the level field crosses zero between cell centres
    (:func:`interpolated_volume`). Axisymmetric axes interpolate the level field the same way along
    grid lines; 3-D axes take the extents of the points where it crosses zero between neighbouring
    centres (:func:`_extents_3d`; short axis 1 is the largest of 180 directions 1 degree apart).
    Held cells take the sign of the tissue next to them (:func:`fill_held`), as in the coverage
    metrics.
    """
    level = fill_held(domain, level)
    inside = connected_lesion(domain, level >= 0.0)
    if not inside.any():
        return {"volume_ml": 0.0, "long_axis_mm": 0.0, "short_axis_mm": 0.0, "short_axis_2_mm": 0.0,
                "sphericity": 0.0, "edge_cell_mm": 0.0}
    # the boundary at the interpolated zero of the level field, not at cell faces: a volume that
    # changes smoothly with the fields (time-step estimates, convergence, fits)
    volume = _tissue_volume(domain, level, inside)
    if domain.kind == "axisymmetric":
        long_axis, short1 = _axisym_extents(domain, level, inside)
        short2 = short1
    else:
        long_axis, short1, short2 = _extents_3d(domain, level, inside, axis)
    return {"volume_ml": volume * 1e6, "long_axis_mm": long_axis * 1e3, "short_axis_mm": short1 * 1e3,
            "short_axis_2_mm": short2 * 1e3, "sphericity": short1 / long_axis if long_axis > 0 else 0.0,
            "edge_cell_mm": edge_cell_size(domain, inside) * 1e3}


def edge_cell_size(domain, region: np.ndarray) -> float:
    """The largest extent (m) of a tissue cell on the edge of ``region`` (it and a face neighbour lie
    on different sides); 0 without an edge. The edge is located to about this cell size, so an edge
    that leaves the grid's fine region is resolved only as well as the coarser cells there."""
    g = domain.geometry
    a, b = g.face_cell_1, g.face_cell_2
    cut = region[a] != region[b]
    cells = np.unique(np.concatenate([a[cut], b[cut]]))
    cells = cells[domain.tissue[cells]]
    return float(np.max(domain.cell_widths()[:, cells])) if cells.size else 0.0


def interpolated_volume(domain, level, inside) -> float:
    """Volume (m^3) of the cells ``inside``, with its edge where ``level`` crosses zero between
    neighbouring cell centres (:func:`_row_volume`, which interpolates across one axis and counts
    whole cells across the others). Axisymmetric grids: across r, where the ring volume pi r^2 dz is
    exact (an ellipsoid at 1 mm: -0.3 %, against +1.9 % across z). 3-D grids: the mean over the
    three axes, so that the volume does not depend on which grid axis the zone lies along (one axis,
    as before: two needles side by side along x or y, 3.60 or 3.77 mL; the mean: 3.69 and 3.70 mL,
    the grids not being exact turns of each other; exactly equal on a grid that is)."""
    level, inside = domain.index_grid(level), domain.index_grid(inside)     # [z, r] or [z, y, x]
    if not inside.any():
        return 0.0
    # only the rows through the zone's bounding box (and one cell beyond) add anything: the time
    # series measures the zone at every step
    box = []
    for array_axis in range(inside.ndim):
        found = np.flatnonzero(inside.any(axis=tuple(a for a in range(inside.ndim) if a != array_axis)))
        box.append(slice(max(found[0] - 1, 0), min(found[-1] + 2, inside.shape[array_axis])))
    level, inside = level[tuple(box)], inside[tuple(box)]
    dims = inside.ndim
    edges = [e[box[dims - 1 - k].start:box[dims - 1 - k].stop + 1] for k, e in enumerate(domain.edges)]
    axes = [0] if domain.kind == "axisymmetric" else range(dims)
    return float(np.mean([_row_volume(domain.kind, edges, level, inside, axis) for axis in axes]))


def _row_volume(kind: str, edges: list, level: np.ndarray, inside: np.ndarray, axis: int) -> float:
    """Volume (m^3) of ``inside`` (an index grid, [z, r] or [z, y, x], with ``level``; ``edges`` per
    frame axis) with its boundary along frame axis ``axis`` (0: r or x, 1: z or y, 2: z) placed
    where ``level`` crosses zero between neighbouring centres; the other axes stay cell-resolved.
    Each row along the axis adds F(right end) - F(left end) of each inside run, times the row's
    cross-section: F(x) = pi x^2 with the cell's dz along r (axisymmetric grids: rows along r
    only), else F(x) = x with dy dz / dx dz / dx dy (3-D)."""
    assert kind != "axisymmetric" or axis == 0, "axisymmetric rows run along r"
    dims = inside.ndim
    row_edges = edges[axis]
    centres = 0.5 * (row_edges[1:] + row_edges[:-1])
    n = centres.size
    # the frame axis k is array axis dims - 1 - k; rows along the last
    rows_in = np.moveaxis(inside, dims - 1 - axis, -1)
    rows_level = np.moveaxis(level, dims - 1 - axis, -1)
    section = np.ones(rows_in.shape[:-1])     # the cross-section of each row, in the remaining array order
    for position, k in enumerate(k for k in reversed(range(dims)) if k != axis):
        width = np.diff(edges[k])
        shape = [1] * section.ndim
        shape[position] = width.size
        section = section * width.reshape(shape)
    rows_in, rows_level, section = rows_in.reshape(-1, n), rows_level.reshape(-1, n), section.ravel()
    if kind == "axisymmetric":
        def primitive(x):
            return np.pi * x ** 2
    else:
        def primitive(x):
            return x
    left_in, right_in = rows_in[:, :-1], rows_in[:, 1:]
    rise = left_in & ~right_in          # inside -> outside: a run ends
    fall = ~left_in & right_in          # outside -> inside: a run starts
    x = np.broadcast_to(centres, rows_in.shape)
    ends = _crossing(x[:, :-1], x[:, 1:], rows_level[:, :-1], rows_level[:, 1:])
    starts = _crossing(x[:, 1:], x[:, :-1], rows_level[:, 1:], rows_level[:, :-1])
    per_row = (np.where(rise, primitive(ends), 0.0).sum(axis=1) - np.where(fall, primitive(starts), 0.0).sum(axis=1)
               + np.where(rows_in[:, -1], primitive(row_edges[-1]), 0.0)
               - np.where(rows_in[:, 0], primitive(row_edges[0]), 0.0))
    return float(np.sum(per_row * section))


def _crossing(x_in, x_out, l_in, l_out):
    """Where the level field crosses zero between an inside and an outside centre."""
    frac = l_in / np.where(l_in - l_out != 0, l_in - l_out, 1.0)
    return x_in + np.clip(frac, 0.0, 1.0) * (x_out - x_in)


def _axisym_extents(domain, level, inside):
    r_edges, z_edges = domain.edges
    rc = 0.5 * (r_edges[1:] + r_edges[:-1])
    zc = 0.5 * (z_edges[1:] + z_edges[:-1])
    L = domain.index_grid(level)            # [z, r]
    IN = domain.index_grid(inside)
    long_axis = 0.0
    for i in range(rc.size):
        col = IN[:, i]
        if not col.any():
            continue
        idx = np.nonzero(col)[0]
        lo, hi = idx[0], idx[-1]
        z_lo = _crossing(zc[lo], zc[lo - 1], L[lo, i], L[lo - 1, i]) if lo > 0 else z_edges[0]
        z_hi = _crossing(zc[hi], zc[hi + 1], L[hi, i], L[hi + 1, i]) if hi + 1 < zc.size else z_edges[-1]
        long_axis = max(long_axis, z_hi - z_lo)
    radius = 0.0
    for j in range(zc.size):
        row = IN[j, :]
        if not row.any():
            continue
        hi = np.nonzero(row)[0][-1]
        r_hi = _crossing(rc[hi], rc[hi + 1], L[j, hi], L[j, hi + 1]) if hi + 1 < rc.size else r_edges[-1]
        radius = max(radius, r_hi)
    return long_axis, 2.0 * radius


def _extents_3d(domain, level, inside, axis):
    """Long axis and short axes 1 and 2 (m) of a 3-D zone: extents of its edge points
    (:func:`_edge_points`) along the applicator axis, across it in the direction of largest extent
    (180 directions 1 degree apart), and across both. Edge points between cell centres, not cell
    faces: the extent of the cells plus half a cell at each end was biased up by up to a cell and
    gave a zone symmetric about its axis two short axes (8.03 / 7.32 mm at 1 mm cells)."""
    points = _edge_points(domain, level, inside)
    if axis is None:
        axis = domain.probes[0].direction if domain.probes else np.array([0.0, 0.0, 1.0])
    axis = np.asarray(axis, float) / np.linalg.norm(axis)

    def extent(direction):
        projection = direction @ points
        return float(projection.max() - projection.min())

    long_axis = extent(axis)
    from ablation.geometry.shapes import orthonormal_frame
    frame = orthonormal_frame(axis)
    angles = np.deg2rad(np.arange(0.0, 180.0, 1.0))
    across = np.outer(frame[:, 0], np.cos(angles)) + np.outer(frame[:, 1], np.sin(angles))     # (3, 180)
    projections = across.T @ points
    extents = projections.max(axis=1) - projections.min(axis=1)
    best = int(np.argmax(extents))
    return long_axis, float(extents[best]), extent(np.cos(angles[best] + np.pi / 2) * frame[:, 0]
                                                    + np.sin(angles[best] + np.pi / 2) * frame[:, 1])


def _edge_points(domain, level, inside) -> np.ndarray:
    """Points (3, n; frame coordinates) on the edge of the region ``inside`` (where ``level`` >= 0): on
    each line between an inside cell's centre and a face neighbour's outside it, where ``level``
    crosses zero by linear interpolation (half way when the neighbour is not connected to the zone
    although its level is >= 0); and the outer-boundary faces of inside cells."""
    g = domain.geometry
    a, b = g.face_cell_1, g.face_cell_2
    cut = inside[a] != inside[b]
    a, b = a[cut], b[cut]
    outside_first = ~inside[a]
    a, b = np.where(outside_first, b, a), np.where(outside_first, a, b)      # a inside, b outside
    la, lb = level[a], level[b]
    drop = la - lb
    t = np.clip(np.where((lb < 0.0) & (drop > 0.0), la / np.where(drop > 0.0, drop, 1.0), 0.5), 0.0, 1.0)
    centres = domain.frame_points()
    points = [centres[:, a] + t * (centres[:, b] - centres[:, a])]
    on_boundary = inside[g.boundary_cell] & (g.boundary_area > 0)
    if on_boundary.any():
        points.append(g.boundary_center[:, on_boundary] + np.array([e[0] for e in domain.edges])[:, None])
    if not points[0].size and len(points) == 1:         # a zone filling the grid has no edge inside it
        points.append(centres[:, inside])
    return np.hstack(points)

"""Placement approach (open, laparoscopic, percutaneous), its error model, inflow occlusion, and
the placement Monte Carlo (docs/physics.md sections 4 and 5).

Error model. The planned tip t of each insertion is displaced by a Gaussian vector

    delta = sigma_along * z0 * d + sigma_across * (z1 * e1 + z2 * e2),    z ~ N(0, 1)

(d the probe direction, e1, e2 across it) and the direction is optionally tilted about the
displaced tip by Gaussian angles theta1, theta2 ~ N(0, sigma_angle) about e1 and e2. The presets
set sigma_angle = 0 because the measured 3-D tip errors already include angulation.
Common random numbers: every approach scales the *same* standard-normal draws z (one stream per
seed), so differences between approaches are not sampling noise.

Methods (the results say which one ran):

* ``move_tumor`` - one straight probe, nothing off its axis (axisymmetric solve): solve once and
  move the tumour's evaluation points in the probe frame, p_local = R^T (F^T (p - t) - delta_local).
  Exact for a passive tumour; for a material tumour (its own properties) approximate, and
  ``resolve_check`` samples are re-solved on 3-D grids to measure the error.
* ``rigid_shift`` - vessels or several probes: the solved lesion is moved rigidly with the
  (first) probe's displacement; this ignores that the heat sink and the other probes do not move.
* ``resolve`` - every sample is solved again with displaced probes (each probe and each insertion
  its own draw) on a local process pool (concurrent.futures).

Inflow occlusion (Pringle manoeuvre): a scenario transformation applied before solving
(:func:`occlude_inflow`): tissue and tumour perfusion 0 and the vessels removed (no wall cooling;
their lumen becomes tissue). Only open and laparoscopic access allow it.

Repositioning: ``[[placement.insertions]]`` lists further insertions of the first probe's device
after the first ablation; they run one after another on one 3-D grid (damage accumulates, the
tissue cools for ``gap`` with the probe withdrawn between them), :func:`run_sequence`.

Statistics: probabilities with 95 % Wilson score intervals, coverage and margin quantiles.
No files, no screen.
"""
from __future__ import annotations

import math
import time as wallclock
from dataclasses import dataclass, replace

import numpy as np

from ablation.geometry.grid import mark_regions
from ablation.outcome import coverage as cov
from ablation.run.result import PlacementSamples
from ablation.run.parallel import local_pool, map_in_order
from ablation.run.setup import axisymmetry_breaker, probe_shapes, scenario_domain
from ablation.run.time_loop import run
from ablation.run.transforms import apply_transforms
from ablation.geometry.shapes import Probe, orthonormal_frame, unit

MM = 1e-3
APPROACHES = ("open", "laparoscopic", "percutaneous")
Z95 = 1.959963984540054   # two-sided 95 % normal quantile

# Every preset value with its source (docs/physics.md section 4). sigma is the per-axis standard
# deviation of an isotropic Gaussian tip error: mean 3-D error = 2 sqrt(2/pi) sigma = 1.6 sigma.
PRESETS = {
    "percutaneous": {
        "sigma_along": (2.75 * MM, "Busser et al. 2013 phantom, CT-guided angled path: mean 3-D tip error "
                                   "4.4 mm = 1.6 sigma (docs/physics.md 4)"),
        "sigma_across": (2.75 * MM, "as sigma_along (isotropic preset; patient US-CT fusion errors are "
                                    "anisotropic, 8.5 +/- 4.7 mm)"),
        "angular_sigma": (0.0, "0: the measured 3-D tip errors already include angulation (docs/physics.md 4)"),
        "pringle_available": (False, "inflow occlusion is not possible percutaneously (docs/physics.md 4)"),
        "repositioning": ("limited", "percutaneous practice allows few re-insertions (docs/physics.md 4)"),
    },
    "laparoscopic": {
        "sigma_along": (1.9 * MM, "assumption: no clinical mm figure found, between open and "
                                  "percutaneous (docs/physics.md 4)"),
        "sigma_across": (1.9 * MM, "as sigma_along (assumption)"),
        "angular_sigma": (0.0, "0: tip errors include angulation (docs/physics.md 4)"),
        "pringle_available": (True, "laparoscopic Pringle manoeuvre is possible (docs/physics.md 4)"),
        "repositioning": ("yes", "overlapping ablations under laparoscopic US (docs/physics.md 4)"),
    },
    "open": {
        "sigma_along": (1.25 * MM, "assumption: smallest error, IOUS guidance and no breathing motion; no "
                                   "clinical mm figure found (docs/physics.md 4)"),
        "sigma_across": (1.25 * MM, "as sigma_along (assumption)"),
        "angular_sigma": (0.0, "0: tip errors include angulation (docs/physics.md 4)"),
        "pringle_available": (True, "open Pringle manoeuvre is possible (docs/physics.md 4)"),
        "repositioning": ("yes", "several insertions and overlapping ablations, Dodd et al. 2000 (docs/physics.md 4)"),
    },
}

# ------------------------------------------------------------------------------ error model
@dataclass(frozen=True)
class ErrorModel:
    """Resolved error model of one approach; ``sources`` names where each value came from."""
    approach: str
    sigma_along: float
    sigma_across: float
    angular_sigma: float
    pringle_available: bool
    pringle: bool
    repositioning: str
    sources: dict

    def describe(self) -> dict:
        return {"approach": self.approach,
                "sigma_along_mm": {"value": self.sigma_along / MM, "source": self.sources["sigma_along"]},
                "sigma_across_mm": {"value": self.sigma_across / MM, "source": self.sources["sigma_across"]},
                "angular_sigma_deg": {"value": math.degrees(self.angular_sigma),
                                      "source": self.sources["angular_sigma"]},
                "pringle_available": {"value": self.pringle_available,
                                      "source": self.sources["pringle_available"]},
                "pringle_used": self.pringle,
                "repositioning": {"value": self.repositioning, "source": self.sources["repositioning"]}}


def error_model(section, approach: str | None = None, pringle: bool | None = None) -> ErrorModel:
    """The approach's preset with the scenario's overrides (``section`` = ``[placement]``).

    When ``approach`` differs from the section's, overrides of sigma still apply only if the
    section names the same approach (a comparison uses each preset as published)."""
    approach = approach or (section.approach if section is not None else "percutaneous")
    preset = PRESETS[approach]
    same = section is not None and section.approach == approach
    values, sources = {}, {}
    for key in ("sigma_along", "sigma_across", "angular_sigma"):
        override = section[key] if same else None
        values[key] = preset[key][0] if override is None else override
        sources[key] = preset[key][1] if override is None else "scenario override"
    for key in ("pringle_available", "repositioning"):
        sources[key] = preset[key][1]
    use = bool(section.pringle) if pringle is None and section is not None else bool(pringle)
    if use and not preset["pringle_available"][0]:
        raise ValueError(f"inflow occlusion is not possible with approach {approach!r}")
    return ErrorModel(approach, values["sigma_along"], values["sigma_across"], values["angular_sigma"],
                      preset["pringle_available"][0], use, preset["repositioning"][0], sources)


def standard_draws(seed: int, samples: int, insertions: int = 1) -> np.ndarray:
    """Standard-normal draws (samples, insertions, 5): tip (along, across 1, across 2) and tilt
    (about e1, about e2). The same seed gives the same draws for every approach (common random
    numbers) and every sample count's prefix."""
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.standard_normal((samples, insertions, 5))


def local_errors(model: ErrorModel, z: np.ndarray):
    """Displacements in the probe frame (..., 3) = (across 1, across 2, along) in m and tilt angles
    (..., 2) in rad from standard draws ``z`` (..., 5)."""
    delta = np.stack([model.sigma_across * z[..., 1], model.sigma_across * z[..., 2],
                      model.sigma_along * z[..., 0]], axis=-1)
    tilt = model.angular_sigma * z[..., 3:5]
    return delta, tilt


def tilt_matrices(tilt: np.ndarray) -> np.ndarray:
    """Rotations (n, 3, 3) in the probe frame by the rotation vector (theta1, theta2, 0) (Rodrigues)."""
    n = tilt.shape[0]
    w = np.zeros((n, 3))
    w[:, :2] = tilt
    angle = np.linalg.norm(w, axis=1)
    k = np.where(angle[:, None] > 0, w / np.where(angle > 0, angle, 1.0)[:, None], 0.0)
    K = np.zeros((n, 3, 3))
    K[:, 0, 2], K[:, 1, 2] = k[:, 1], -k[:, 0]
    K[:, 2, 0], K[:, 2, 1] = -k[:, 1], k[:, 0]
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3)[None] + s * K + (1.0 - c) * (K @ K)


def displaced_probe(probe, delta_local: np.ndarray, tilt: np.ndarray):
    """A probe record moved by a probe-frame displacement and tilted about its displaced tip."""
    frame = _probe_frame(probe.direction)
    tip = np.asarray(probe.tip) + frame @ delta_local
    direction = frame @ (tilt_matrices(tilt[None])[0] @ np.array([0.0, 0.0, 1.0]))
    return probe.replaced(tip=tuple(tip), direction=tuple(direction))


def _probe_frame(direction) -> np.ndarray:
    return orthonormal_frame(unit(direction))


# ------------------------------------------------------------------------------ inflow occlusion
def with_pringle(scenario, use: bool):
    """The scenario with ``placement.pringle`` set (:func:`ablation.run.transforms.apply_transforms`
    then occludes the inflow before solving)."""
    return scenario.replaced(placement=scenario.placement.replaced(pringle=bool(use)))


# ------------------------------------------------------------------------------ statistics
def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion:
    (p + z^2/2n +/- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = successes / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _quantiles(values: np.ndarray) -> dict:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {f"q{int(q * 100):02d}": None for q in QUANTILES}
    return {f"q{int(q * 100):02d}": float(np.quantile(values, q)) for q in QUANTILES}


def probabilities(coverage: np.ndarray, margin_mm: np.ndarray, success: np.ndarray) -> dict:
    """P(technical success), P(MAM >= 5 mm), P(MAM >= 10 mm) with Wilson 95 % intervals."""
    n = int(success.size)
    events = {"p_technical_success": success, "p_margin_5mm": margin_mm >= 5.0,
              "p_margin_10mm": margin_mm >= 10.0}
    out = {k: float(np.mean(v)) for k, v in events.items()}
    out["ci95"] = {k: list(wilson(int(np.sum(v)), n)) for k, v in events.items()}
    return out


def summarize(samples: dict, names: list) -> tuple[list, dict]:
    """Per-tumour and overall summaries from per-sample arrays (samples, tumours)."""
    cov_, mam, ok = samples["coverage"], samples["min_margin_mm"], samples["technical_success"]
    per = []
    for i, name in enumerate(names):
        entry = {"name": name, **probabilities(cov_[:, i], mam[:, i], ok[:, i]),
                 "coverage_quantiles": _quantiles(cov_[:, i]), "min_margin_mm_quantiles": _quantiles(mam[:, i]),
                 "mean_coverage": float(np.mean(cov_[:, i]))}
        per.append(entry)
    overall = probabilities(np.min(cov_, axis=1), np.min(mam, axis=1), np.all(ok, axis=1))
    return per, overall


# ------------------------------------------------------------------------------ move / shift
@dataclass
class SdfTable:
    """Signed distance to the lesion boundary on a uniform raster in the probe frame, for fast
    multilinear lookup (2-D (r, z) for axisymmetric lesions, 3-D (x, y, z) otherwise), float32."""
    lo: np.ndarray
    step: float
    values: np.ndarray

    @classmethod
    def build(cls, sdf_fn, lo, hi, step: float, max_nodes: int = 2_000_000) -> "SdfTable":
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        count = np.ceil((hi - lo) / step).astype(int) + 2
        while np.prod(count) > max_nodes:
            step *= 1.25
            count = np.ceil((hi - lo) / step).astype(int) + 2
        axes = [lo[k] + step * np.arange(count[k]) for k in range(lo.size)]
        mesh = np.meshgrid(*axes, indexing="ij")
        values = sdf_fn(np.vstack([m.ravel() for m in mesh])).reshape(mesh[0].shape)
        return cls(lo, step, np.ascontiguousarray(values, dtype=np.float32))

    def __post_init__(self):
        # the 2^dim corner values of every raster cell side by side, so that a lookup gathers one
        # row per point instead of 2^dim scattered values (several times faster)
        v = self.values
        dim = v.ndim
        cells = tuple(n - 1 for n in v.shape)
        corners = []
        for corner in np.ndindex(*(2,) * dim):
            corners.append(v[tuple(slice(c, c + n) for c, n in zip(corner, cells))].ravel())
        self._packed = np.ascontiguousarray(np.stack(corners, axis=1), dtype=np.float32)
        self._cells = cells

    def lookup(self, coords: list) -> np.ndarray:
        """Multilinear values at coordinates given as one array per axis (any common shape).

        Points outside the raster take the value at its edge."""
        cells = self._cells
        strides = np.cumprod((1,) + cells[::-1][:-1])[::-1]
        base = None
        fracs = []
        inv = np.float32(1.0 / self.step)
        for k, c in enumerate(coords):
            u = (c - np.float32(self.lo[k])) * inv
            np.clip(u, 0.0, np.float32(cells[k] - 1e-3), out=u)
            i = u.astype(np.int32)
            fracs.append(u - i)
            term = i * np.int32(strides[k]) if strides[k] != 1 else i
            base = term if base is None else base + term
        g = np.take(self._packed, base, axis=0)          # (..., 2^dim)
        # collapse one axis at a time: the last axis varies fastest in the corner order
        for f in reversed(fracs):
            g = g[..., 0::2] + f[..., None] * (g[..., 1::2] - g[..., 0::2])
        return g[..., 0]


@dataclass
class PointSet:
    """Evaluation points of all tumours in the (first) probe's frame, relative to its tip (3, n),
    with the slices of each tumour's inner and surface points."""
    local: np.ndarray
    inner: list
    surface: list
    kept: list


def _point_set(points: list, tip: np.ndarray, frame: np.ndarray) -> PointSet:
    blocks, inner, surface, kept = [], [], [], []
    start = 0
    for tp in points:
        for block, store in ((tp.inner, inner), (tp.surface, surface)):
            blocks.append(frame.T @ (block - tip[:, None]))
            store.append(slice(start, start + block.shape[1]))
            start += block.shape[1]
        kept.append(tp.surface_kept)
    return PointSet(np.hstack(blocks).astype(np.float32), inner, surface, kept)


def moved_metrics(table: SdfTable, pts: PointSet, delta: np.ndarray, tilt: np.ndarray, axisymmetric: bool,
                  chunk: int = 128) -> dict:
    """Per-sample coverage, minimal margin and success of every tumour when the lesion (solved at
    the planned position) moves with the probe: p_local = R^T (p0 - delta)."""
    n = delta.shape[0]
    T = len(pts.inner)
    out = {"coverage": np.empty((n, T)), "min_margin_mm": np.empty((n, T)),
           "technical_success": np.empty((n, T), bool)}
    tilted = bool(np.any(tilt != 0))
    rot = tilt_matrices(tilt).astype(np.float32) if tilted else None
    p0 = pts.local
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        d = delta[a:b].astype(np.float32)
        rel = p0[None, :, :] - d[:, :, None]                    # (B, 3, n)
        if tilted:
            rel = np.einsum("bji,bjn->bin", rot[a:b], rel)      # R^T rel
        if axisymmetric:
            coords = [np.hypot(rel[:, 0], rel[:, 1]), rel[:, 2]]
        else:
            coords = [rel[:, 0], rel[:, 1], rel[:, 2]]
        s = table.lookup(coords)
        for i in range(T):
            si, ss = s[:, pts.inner[i]], s[:, pts.surface[i]]
            out["coverage"][a:b, i] = np.mean(si >= 0.0, axis=1)
            kept = pts.kept[i]
            out["min_margin_mm"][a:b, i] = (np.min(ss[:, kept], axis=1) if kept.any()
                                            else np.nan) / MM
            out["technical_success"][a:b, i] = np.all(si >= 0.0, axis=1) & (np.min(ss, axis=1) >= 0.0)
    return out


def _table_for(lesion, pts: PointSet, delta, tilt, tip, frame, axisymmetric: bool, step: float) -> SdfTable:
    """The SDF raster covering every sampled position of every point."""
    reach = float(np.max(np.linalg.norm(delta, axis=1))) if delta.size else 0.0
    lo = pts.local.min(axis=1).astype(float) - reach - 4 * step
    hi = pts.local.max(axis=1).astype(float) + reach + 4 * step
    if np.any(tilt != 0):
        radius = float(np.max(np.linalg.norm(pts.local, axis=0))) + reach + 4 * step
        lo, hi = np.full(3, -radius), np.full(3, radius)
    if axisymmetric:
        r_max = math.hypot(max(abs(lo[0]), abs(hi[0])), max(abs(lo[1]), abs(hi[1])))
        return SdfTable.build(lambda c: lesion.zero.signed_distance(c), [0.0, lo[2]], [r_max, hi[2]], step)

    def sdf(local):
        return lesion.signed_distance(tip[:, None] + frame @ local)
    return SdfTable.build(sdf, lo, hi, step)


# ------------------------------------------------------------------------------ re-solving
def _with_probes(domain, scenario):
    """The same grid with the regions of ``scenario``'s probes (a withdrawn probe's cells become
    tissue)."""
    out = replace(domain, regions=[], probes=probe_shapes(scenario), tumor_masks=[])
    mark_regions(out, [v.name for v in scenario.vessels])
    return out


def run_sequence(scenario, probes_per_insertion: list, gap: float) -> list:
    """Ablations one after another on one 3-D grid; returns the fields after each insertion and
    its cooling gap (probe withdrawn), so entry k is the result of the first k + 1 ablations.

    ``probes_per_insertion`` is a list of probe records (the device placed at each insertion).
    Temperature and damage carry over (``ablation.solver.run(initial_state=...)``); the gap runs
    the generic thermal model without probes (tissue cooling by conduction and perfusion; phase
    change is not modelled in the gap)."""
    base = apply_transforms(scenario)
    center = base.domain.center if base.domain.center is not None else tuple(base.probes[0].tip)
    mesh_scenario = base.replaced(probes=tuple(probes_per_insertion), grid=base.grid.replaced(kind="3d"),
                                  domain=base.domain.replaced(center=center))
    grid = scenario_domain(mesh_scenario)
    state, out = None, []
    for probe in probes_per_insertion:
        one = mesh_scenario.replaced(probes=(probe,))
        result = run(one, domain=_with_probes(grid, one), initial_state=state)
        state = dict(result.fields)
        if gap > 0:
            cool = one.replaced(modality="thermal", probes=(),
                                time=one.time.replaced(duration=gap, step=min(one.time.step, gap)),
                                damage=one.damage.replaced(criterion="arrhenius", report_criteria=("arrhenius",)))
            cooled = run(cool, domain=_with_probes(grid, cool), initial_state=state)
            state = {**state, **cooled.fields}
        out.append((grid, state))
    return out


def sample_metrics(grid, fields, scenario, criterion, n_surface) -> tuple:
    points = cov.build_points(scenario, grid, n_surface=n_surface)
    lesion = cov.Lesion.from_fields(grid, fields, criterion)
    rows = [cov.tumor_metrics(tp, lesion.inside, lesion.signed_distance, cov.scenario_margins(scenario))
            for tp in points]
    return ([r["coverage"] for r in rows], [r["min_margin_mm"] for r in rows],
            [r["technical_success"] for r in rows])


def _resolve_job(job) -> list:
    """Worker: solve one sample (a single ablation or a sequence); metrics per insertion count."""
    scenario = (job["scenario"])
    probes = [(p) for p in job["probes"]]
    criterion, n_surface = job["criterion"], job["surface_points"]
    if not job["sequence"]:
        moved = scenario.replaced(probes=tuple(probes))
        if moved.grid.kind == "axisymmetric":   # a displaced probe leaves the tumour off its axis
            moved = moved.replaced(grid=moved.grid.replaced(kind="auto"))
        result = run(apply_transforms(moved))
        return [sample_metrics(result.domain, result.fields, result.scenario, criterion, n_surface)]
    return [sample_metrics(grid, fields, scenario, criterion, n_surface)
            for grid, fields in run_sequence(scenario, probes, job["gap"])]


def _pool_map(jobs: list, executor=None, progress=None) -> list:
    """Runs :func:`_resolve_job` on every job through ``executor`` (any concurrent.futures
    Executor); without one, on a local process pool (:func:`ablation.run.parallel.local_pool`)."""
    if executor is None:
        if len(jobs) <= 1:
            return [_resolve_job(j) for j in jobs]
        with local_pool(len(jobs)) as pool:
            return _pool_map(jobs, pool, progress)
    return map_in_order(executor, _resolve_job, jobs, progress, "re-solved placement samples")


def _collect(results: list, count: int) -> list:
    """Per insertion count: dict of (samples, tumours) arrays."""
    out = []
    for k in range(count):
        c = np.array([r[k][0] for r in results], float)
        m = np.array([r[k][1] for r in results], float)
        s = np.array([r[k][2] for r in results], bool)
        out.append({"coverage": c, "min_margin_mm": m, "technical_success": s})
    return out


# ------------------------------------------------------------------------------ the Monte Carlo
def choose_method(scenario, section) -> str:
    if section is not None and section.method != "auto":
        return section.method
    if section is not None and section.insertions:
        return "resolve"
    if len(scenario.probes) == 1 and not axisymmetry_breaker(scenario):
        return "move_tumor"
    return "rigid_shift"


def monte_carlo(result, model: ErrorModel, samples: int, seed: int, method: str | None = None,
                section=None, draws: np.ndarray | None = None, executor=None, progress=None) -> dict:
    """Placement Monte Carlo on a solved ``result`` (the planned placement) for one error model.

    Returns {'method', 'samples', 'seed', 'per_tumor', 'overall', 'per_insertions' (sequences),
    'timing_s', 'notes'}. ``draws`` (samples, insertions, 5) overrides the seeded draws.
    """
    scenario = result.scenario
    section = section if section is not None else scenario.get("placement")
    method = method or choose_method(scenario, section)
    criterion = result.summary["lesion"]["criterion"]
    n_surface = section.surface_points if section is not None else 1024
    insertions = list(section.insertions) if section is not None and section.insertions else []
    n_ins = 1 + len(insertions)
    z = draws if draws is not None else standard_draws(seed, samples, max(n_ins, len(scenario.probes)))
    names = [t.name for t in result.domain.tumors]
    notes = []
    started = wallclock.perf_counter()
    out = {"method": method, "samples": int(samples), "seed": int(seed), "criterion": criterion,
           "error_model": model.describe()}
    if method in ("move_tumor", "rigid_shift") and not insertions:
        probe = scenario.probes[0]
        frame = _probe_frame(probe.direction)
        tip = np.asarray(probe.tip)
        refinement = scenario.coverage.raster_refinement if scenario.get("coverage") is not None else 4
        lesion = cov.Lesion.from_fields(result.domain, result.fields, criterion, refinement)
        points = cov.build_points(scenario, result.domain, n_surface=n_surface)
        pts = _point_set(points, tip, frame)
        delta, tilt = local_errors(model, z[:samples, 0])
        axisym = method == "move_tumor" and result.domain.kind == "axisymmetric"
        h = min(float(np.min(np.diff(e))) for e in result.domain.edges)
        table = _table_for(lesion, pts, delta, tilt, tip, frame, axisym, step=(0.25 if axisym else 0.75) * h)
        t_table = wallclock.perf_counter() - started
        per_sample = moved_metrics(table, pts, delta, tilt, axisym)
        out["timing_s"] = {"table": t_table, "samples": wallclock.perf_counter() - started - t_table}
        out["sdf_raster_mm"] = table.step / MM
        if method == "move_tumor":
            notes.append("solved once; each sample moves the tumour's evaluation points in the probe frame "
                         "(exact for a passive tumour in an axisymmetric problem)")
            if result.domain.kind != "axisymmetric":
                notes.append("the solve was 3-D: moving the tumour ignores anything off the probe axis")
            if any(t.material for t in scenario.tumors):
                notes.append("a material tumour moves with the points but its properties shaped the solved "
                             "lesion: approximate; see move_tumor_error")
                out["move_tumor_error"] = _measure_move_error(result, model, z, section, criterion, n_surface,
                                                              executor, progress)
        else:
            notes.append("rigid shift: the solved lesion moves with the first probe's displacement; this "
                         "ignores that vessels (heat sinks) and other probes stay where they are")
        per, overall = summarize(per_sample, names)
        out.update(per_tumor=per, overall=overall, notes=notes)
        out["_samples"] = per_sample
        return out
    # re-solve every sample (several probes each with their own draw, or insertion sequences)
    count = samples if section is None else min(samples, section.resolve_samples)
    jobs = _resolve_jobs(scenario, model, z[:count], insertions, section, criterion, n_surface)
    results = _pool_map(jobs, executor, progress)
    per_count = _collect(results, n_ins if insertions else 1)
    out["samples"] = count
    per, overall = summarize(per_count[-1], names)
    out.update(per_tumor=per, overall=overall)
    if insertions:
        out["per_insertions"] = []
        for k, data in enumerate(per_count):
            p, o = summarize(data, names)
            out["per_insertions"].append({"insertions": k + 1, "per_tumor": p, "overall": o})
        notes.append(f"re-solved every sample as a sequence of {n_ins} ablations on one 3-D grid "
                     "(each insertion its own placement error); results after 1..n insertions")
    else:
        notes.append("re-solved every sample with displaced probes (each probe its own draw) on a local "
                     "process pool")
    out["timing_s"] = {"samples": wallclock.perf_counter() - started}
    out["notes"] = notes
    out["_samples"] = per_count[-1]
    return out


def planned_insertions(scenario) -> list:
    """Probe records of every insertion as planned: the first probe, then [[placement.insertions]]."""
    first = scenario.probes[0]
    insertions = scenario.placement.insertions if scenario.get("placement") is not None else ()
    return [first] + [first.replaced(tip=ins.tip, direction=ins.direction or first.direction,
                                     name=f"insertion {k + 2}") for k, ins in enumerate(insertions or ())]


def _resolve_jobs(scenario, model, z, insertions, section, criterion, n_surface) -> list:
    base = scenario.replaced(placement=scenario.placement.replaced(pringle=model.pringle)) \
        if scenario.get("placement") is not None else scenario
    gap = section.gap if section is not None else 120.0
    jobs = []
    planned = planned_insertions(scenario)
    for b in range(z.shape[0]):
        if insertions:
            probes = []
            for k, p in enumerate(planned):
                delta, tilt = local_errors(model, z[b, k])
                probes.append(displaced_probe(p, delta, tilt))
            jobs.append({"scenario": (base), "probes": [(p) for p in probes],
                         "sequence": True, "gap": gap, "criterion": criterion, "surface_points": n_surface})
        else:
            probes = []
            for k, p in enumerate(scenario.probes):
                delta, tilt = local_errors(model, z[b, k])
                probes.append(displaced_probe(p, delta, tilt))
            jobs.append({"scenario": (base), "probes": [(p) for p in probes],
                         "sequence": False, "gap": gap, "criterion": criterion, "surface_points": n_surface})
    return jobs


def _measure_move_error(result, model, z, section, criterion, n_surface, executor=None, progress=None) -> dict:
    """Error of moving a material tumour instead of re-solving, on a few samples.

    Only the displacement *along* the probe axis keeps the problem axisymmetric, so the check
    re-solves the first ``resolve_check`` draws with their axial component alone, on the same
    kind of grid as the run, and compares with the moved-tumour values for the same axial
    displacements. (Re-solving the full 3-D displacement on a 3-D grid was tried: at 1 mm cells
    the staircased probe alone changed the lesion volume by up to 40 % between sub-cell offsets,
    which swamped the quantity measured.) The across-axis part is not measured by this check."""
    count = section.resolve_check if section is not None else 2
    if count <= 0:
        return {"samples": 0, "note": "not measured (resolve_check = 0)"}
    if result.domain.kind != "axisymmetric":
        return {"samples": 0, "note": "not measured: the run was not axisymmetric"}
    s = result.scenario
    probe = s.probes[0]
    frame, tip = _probe_frame(probe.direction), np.asarray(probe.tip)
    delta, tilt = local_errors(model, z[:count, 0])
    delta[:, :2] = 0.0
    tilt[:] = 0.0
    lesion = cov.Lesion.from_fields(result.domain, result.fields, criterion)
    pts = _point_set(cov.build_points(s, result.domain, n_surface=n_surface), tip, frame)
    h = min(float(np.min(np.diff(e))) for e in result.domain.edges)
    moved = moved_metrics(_table_for(lesion, pts, delta, tilt, tip, frame, True, 0.25 * h), pts, delta, tilt, True)
    jobs = []
    base = s.replaced(placement=s.placement.replaced(pringle=model.pringle)) if s.get("placement") else s
    for b in range(count):
        jobs.append({"scenario": (base), "probes": [(displaced_probe(probe, delta[b], tilt[b]))],
                     "sequence": False, "gap": 0.0, "criterion": criterion, "surface_points": n_surface})
    solved = _collect(_pool_map(jobs, executor, progress), 1)[0]
    dc = np.abs(solved["coverage"] - moved["coverage"])
    dm = np.abs(solved["min_margin_mm"] - moved["min_margin_mm"])
    return {"samples": count, "axial_displacements_mm": (delta[:, 2] / MM).tolist(),
            "max_abs_coverage_difference": float(np.max(dc)),
            "max_abs_min_margin_difference_mm": float(np.max(dm)),
            "note": "moved material tumour vs re-solved (axisymmetric) with the probe displaced along its "
                    "axis; across-axis displacements are not re-solved by this check"}


# ------------------------------------------------------------------------------ run step
def placement_summary(mc: dict) -> dict:
    """The ``placement`` entry of summary.json."""
    overall = mc["overall"]
    out = {"approach": mc["error_model"]["approach"], "samples": mc["samples"], "seed": mc["seed"],
           "method": mc["method"], "criterion": mc["criterion"],
           "p_technical_success": overall["p_technical_success"], "p_margin_5mm": overall["p_margin_5mm"],
           "p_margin_10mm": overall["p_margin_10mm"], "ci95": overall["ci95"],
           "error_model": mc["error_model"], "notes": mc["notes"],
           "pringle": {"used": mc["error_model"]["pringle_used"],
                       "transformation": "applied before solving: tissue and tumour perfusion 0, vessels "
                                         "removed (no wall cooling)" if mc["error_model"]["pringle_used"] else None}}
    for key in ("timing_s", "move_tumor_error", "per_insertions", "workers", "sdf_raster_mm"):
        if key in mc:
            out[key] = mc[key]
    return out


def placement_analysis(result, executor=None, progress=None) -> None:
    """The placement Monte Carlo of the run's scenario under its approach."""
    scenario = result.scenario
    section = scenario.get("placement")
    if section is None or not section.enabled or not scenario.probes or not scenario.tumors:
        return
    model = error_model(section)
    mc = monte_carlo(result, model, section.samples, section.seed, section=section, executor=executor,
                     progress=progress)
    result.summary["placement"] = placement_summary(mc)
    data = mc["_samples"]
    # one entry per tumour, the layout the plots and the CSV writer read
    result.placement_samples = {
        t.name: PlacementSamples(data["coverage"][:, i], data["min_margin_mm"][:, i], data["technical_success"][:, i])
        for i, t in enumerate(result.domain.tumors)}
    tumors = result.summary.get("tumors")
    if tumors is not None:
        for entry, per in zip(tumors, mc["per_tumor"]):
            entry["placement"] = {k: v for k, v in per.items() if k != "name"}

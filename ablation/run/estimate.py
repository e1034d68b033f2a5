"""What a run will cost, known before anything is allocated: cells of the graded grid, time steps,
solver memory, placement Monte Carlo memory and wall-clock time, and a budget check that names the
scenario field to change when a run would not fit the machine.

The cell count comes from the same graded-edge rule as the grid (:func:`ablation.geometry.grid.
graded_edges`, one dimension at a time: cheap, no masks, no 3-D arrays). Memory and time come from
constants measured on this toolkit's own solves (:data:`COSTS`, with their measurement note);
:func:`measure_costs` measures them again on another machine.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ablation.geometry import grid
from ablation.modalities.cryo import calibrated_capacity
from ablation.modalities.protocols import Controller
from ablation.modalities.rfa import Model as RFModel
from ablation.run.setup import (choose_kind, domain_center, domain_size, patient_anatomy, placement_method,
                                planned_insertions, probe_shapes, sequence_scenario, tine_boxes, tumor_shapes)
from ablation.run.time_loop import PARALLEL_COMPARISON_WORK


# Measured costs per (grid kind, modality family): bytes of peak resident memory per cell above the
# interpreter with numpy/scipy/FiPy and the toolkit imported (BASE_BYTES), and seconds of one run's
# solve per cell and solver step at REFERENCE_CELLS cells, growing as cells ** cells_exponent.
# Bytes per cell (measure_costs, 2026-12-02, FiPy 4.0.3 / scipy 1.17, solver defaults cg_jacobi and
# the auto electric preconditioner; the slope of the peak RSS between a small and a larger grid of
# the same scenario, in fresh spawned processes):
#   axisymmetric thermal (thermal_probe):        7452 -> 31752 cells,   599 B/cell
#   3-D thermal (thermal_probe, kind 3d):        35937 -> 254016 cells, 1353 B/cell
#   3-D cryo (cryo_vessel):                      32400 -> 136857 cells, 1533 B/cell
#   axisymmetric RF (rfa_cooltip_perfused):      10608 -> 30420 cells,  2438 B/cell
#   3-D RF (rfa_cluster3):                       18432 -> 89093 cells,  2462 B/cell
# Seconds per cell and solver step (2026-12-06, benchmarks/performance/estimate.py on the quiet
# 2-core machine; each run with its two comparison runs, STEP_CHECK_RUNS):
#   RF, axisymmetric: 1.9e-6 (rfa_cooltip_perfused, 10 608 cells), 2.1e-6 (showcase, 14 550);
#   RF, 3-D: 1.65e-6 / 1.88e-6 / 2.29e-6 at 47 952 / 122 451 / 323 680 cells (the liver phantom RF
#     run at three cell sizes, 2 min), 1.5e-6 (rfa_cluster3, 70 560): the electric and heat CG
#     iterations per step grow with the grid, about as cells ** 0.17;
#   cryo (the heat solve with its enthalpy iterations): axisymmetric 1.07e-6 / 1.15e-6
#     (cryo_17g_perfused, cryo_17g_pringle), 3-D 1.5e-6 (cryo_vessel, 169 065 cells);
#   thermal: 3.0e-7 axisymmetric (thermal_probe, 7 452 cells), 3.1e-7 in 3-D (the same on a 1 mm
#     3-D grid, 208 860 cells).
# Under load a run takes 2-5x longer. 'rfa' adds the electric solve and its preconditioner to the
# heat solve. The axisymmetric cryo bytes per cell were not measured: the thermal figure scaled by
# the 3-D cryo / thermal ratio (1533 / 1353).
REFERENCE_CELLS = 1e5
COSTS = {
    ("axisymmetric", "thermal"): {"bytes_per_cell": 600.0, "seconds_per_cell_step": 3.0e-7, "cells_exponent": 0.0},
    ("3d", "thermal"): {"bytes_per_cell": 1353.0, "seconds_per_cell_step": 3.1e-7, "cells_exponent": 0.0},
    ("axisymmetric", "cryo"): {"bytes_per_cell": 680.0, "seconds_per_cell_step": 1.1e-6, "cells_exponent": 0.0},
    ("3d", "cryo"): {"bytes_per_cell": 1533.0, "seconds_per_cell_step": 1.5e-6, "cells_exponent": 0.0},
    ("axisymmetric", "rfa"): {"bytes_per_cell": 2450.0, "seconds_per_cell_step": 2.0e-6, "cells_exponent": 0.0},
    ("3d", "rfa"): {"bytes_per_cell": 2460.0, "seconds_per_cell_step": 1.85e-6, "cells_exponent": 0.17},
}
# The time-step check runs the kept run and comparison runs at 2 and 4 times its step
# (ablation.run.time_loop): 1.75 runs of work. `ablation run` gives the comparison runs to the
# second core when the work is large, so its wall clock can be shorter. A run whose step is halved
# to meet the tolerance takes up to about twice as long again per halving.
STEP_CHECK_RUNS = 1.75
# The fraction of an impedance-controlled RF run the generator delivers, when its steps are at most
# the 0.25 s control interval (the rest are the roll-off pauses' longer steps): 0.24-0.41 in the
# runs above (showcase 0.27, rfa_cooltip_perfused 0.26, the liver phantom 0.35-0.38 over 2 min and
# 0.24 over 12 min, rfa_cluster3 0.41), from their solver steps.
IMPEDANCE_CONTROL_DUTY = 0.3
# resident memory of a run besides its grid: the small runs' peaks minus bytes per cell x cells
# (119-143 MB above), rounded up
BASE_BYTES = 150e6
# A run holds two grids' worth at once: the step check solves a comparison run while the kept run's
# state is kept (one after the other in the same process, or at the same time in the step check's
# worker, a second interpreter of STEP_CHECK_WORKER_BYTES: the 109 MB a spawned process holds
# before its run, rounded up). Counting one grid, the estimate was 0.57-1.0 of the peak on the nine
# cases of benchmarks/results/performance-estimate.md (2026-12-06), and `ablation run` of the liver
# phantom's 2 min RF run (122 451 cells, comparisons in the worker) peaked at 0.865 GB for its
# process tree against 0.45 GB estimated (at 0.75 mm, 261 954 cells: 1.30 GB against 0.79 GB).
# Counting both: 1.01 and 1.20 times those process trees and 1.29 times a 2-probe 3-D RF layout
# of 264 556 cells run in one process (1.22 GB); 1.09-1.80 times the nine peaks (the benchmark
# again), which were measured in one process (estimate.measure), so the second interpreter is
# over-counted where the work sends the comparisons to the worker.
RUNS_HELD = 2
STEP_CHECK_WORKER_BYTES = 120e6
# The memory estimate is within this factor of the measured peak (tests/test_plausibility.py checks it).
MEMORY_FACTOR = 2.0

# placement Monte Carlo (ablation/outcome/placement/moved_lesion.py): per sample the seeded draws
# (insertions x 5 float64), the displacement and tilt (2 x 3 float64) and per tumour coverage,
# margin (float64) and success (bool); per evaluation point and sample of a chunk of 128 samples the
# moved coordinates (3 float32), the interpolated corners (8 float32 in 3-D) and their sum; and the
# signed-distance raster (at most 2e6 nodes x 8 corners x float32).
MC_CHUNK = 128
MC_BYTES_PER_POINT_SAMPLE = 4 * (3 + 3 + 8 + 8)
MC_TABLE_BYTES = 2_000_000 * 8 * 4
# The coverage metrics of the planned placement, per evaluation point (coverage.points, margin_points,
# surface_points): its coordinates (3 float64), the interpolation corners and weights (8 + 8 float64)
# and its value (float64), all tumours' points held at once.
COVERAGE_BYTES_PER_POINT = 8 * (3 + 8 + 8 + 1)
# The organ's signed-distance grid, built for the capsule test of the tumour points when the liver
# comes from [anatomy] (ablation.geometry.shapes.VoxelMask._distance_grid): per voxel of its mask
# padded by the mask's reach, 8 bytes kept and about 30 at the peak of its build. Measured
# 2026-12-07: 0.34 GB for 11.3 million padded voxels (a 240 x 190 x 170 mask, 12 mm reach), 0.72 GB
# before the distances were computed slab by slab; the liver phantom's organ grid (8.7 million
# padded voxels) had taken 0.54 GB (tests/test_plausibility.py measures it again).
ORGAN_DISTANCE_BYTES_PER_VOXEL = 30.0
# above this many cells per axis (fine spacing alone) the edges are not built: 8 MB per axis
MAX_EDGES_PER_AXIS = 1_000_000


@dataclass(frozen=True)
class Estimate:
    """A run's expected size: ``cells`` of the grid (``shape`` per axis), time ``steps``, peak solver
    ``memory_bytes``, placement Monte Carlo ``mc_memory_bytes`` and wall-clock ``seconds`` of the
    solve (the run's own; re-solved placement samples: :func:`placement_solves`)."""
    kind: str
    shape: tuple
    cells: int
    steps: int
    memory_bytes: float
    mc_memory_bytes: float
    seconds: float


def seconds_per_cell_step(kind: str, family: str, cells: int) -> float:
    """Seconds of one run's solve per cell and solver step on a grid of ``cells`` (:data:`COSTS`)."""
    cost = COSTS[(kind, family)]
    return cost["seconds_per_cell_step"] * (max(cells, 1) / REFERENCE_CELLS) ** cost["cells_exponent"]


def _family(modality: str) -> str:
    return modality if modality in ("rfa", "cryo") else "thermal"


def grid_edges(scenario, spacing_scale: float = 1.0) -> tuple[str, list]:
    """(kind, edges per axis) of the grid :func:`ablation.run.setup.scenario_domain` builds, from the
    same fine intervals and graded-edge rule as :func:`ablation.geometry.grid.build_domain`, without
    the region masks."""
    g = scenario.grid
    spacing = grid.GridSpacing(g.spacing * spacing_scale, g.max_spacing * spacing_scale, g.growth, g.fine_margin)
    kind = choose_kind(scenario)
    edges, _, _ = grid.grid_edges(kind, domain_center(scenario), domain_size(scenario), spacing,
                                  probe_shapes(scenario), tumor_shapes(scenario), tine_boxes(scenario))
    return kind, edges


def _grid_shape_bound(scenario) -> tuple[str, tuple]:
    """An upper bound of the cells per axis from the fine spacing alone (no edges built): used when
    the graded edges themselves would be too many to build."""
    kind = choose_kind(scenario)
    n = max(1, math.ceil(domain_size(scenario) / scenario.grid.spacing))
    if kind == "axisymmetric":
        return kind, (max(1, n // 2), n)
    return kind, (n, n, n)


def rf_step_lengths(scenario) -> tuple[float, float]:
    """(while the generator delivers, while it is off) longest steps of an RF run: the control
    interval and time.step, the latter at most a quarter of an impedance-controlled generator's off
    time (ablation.modalities.rfa, step_limit)."""
    step = scenario.time.step
    on = min(step, Controller.control_interval)
    if scenario.rfa.protocol == "impedance_control" and scenario.rfa.off_time > 0:
        return on, min(step, scenario.rfa.off_time / RFModel.OFF_PERIOD_STEPS)
    return on, on


def steps_of(scenario) -> int:
    """Time steps the run is expected to take (before any halving by the step check; adaptive steps
    only lengthen them): the duration in steps of time.step; for RF, in steps of at most the
    generator's control interval while it delivers (exact for constant power and temperature
    control) and, under impedance control, for the IMPEDANCE_CONTROL_DUTY of the run measured on the
    shipped runs, the rest in the longer steps of its roll-off pauses."""
    duration = scenario.time.duration
    if scenario.modality != "rfa":
        return max(1, math.ceil(duration / scenario.time.step - 1e-9))
    on, off = rf_step_lengths(scenario)
    duty = IMPEDANCE_CONTROL_DUTY if off > on else 1.0
    return max(1, math.ceil(duty * duration / on + (1.0 - duty) * duration / off - 1e-9))


def mc_memory(scenario) -> float:
    """Peak bytes of the placement Monte Carlo (0 without a [placement] section or tumours)."""
    p = scenario.get("placement")
    if p is None or not p.enabled or not scenario.tumors:
        return 0.0
    c = scenario.get("coverage")
    per_tumor = (c.points if c is not None else 8192) + p.surface_points
    points = per_tumor * len(scenario.tumors)
    insertions = 1 + len(p.insertions or ())
    per_sample = insertions * 5 * 8 + 2 * 3 * 8 + len(scenario.tumors) * (8 + 8 + 1)
    return float(p.samples * per_sample + min(p.samples, MC_CHUNK) * points * MC_BYTES_PER_POINT_SAMPLE
                 + MC_TABLE_BYTES)


def coverage_memory(scenario) -> tuple[float, str]:
    """Peak bytes of the coverage metrics and the count field that dominates them (0 without a
    [coverage] section that is enabled, or without tumours)."""
    c = scenario.get("coverage")
    if c is None or not c.enabled or not scenario.tumors:
        return 0.0, ""
    counts = {"coverage.points": c.points, "coverage.margin_points": c.margin_points,
              "coverage.surface_points": c.surface_points}
    largest = max(counts, key=counts.get)
    return float(sum(counts.values()) * len(scenario.tumors) * COVERAGE_BYTES_PER_POINT), largest


def organ_distance_memory(scenario) -> tuple[float, int]:
    """(peak bytes, padded voxels) of the organ's signed-distance grid (:data:`ORGAN_DISTANCE_BYTES_PER_VOXEL`);
    (0, 0) without an [anatomy] liver given as voxels, without tumours, or with coverage switched off."""
    anatomy = patient_anatomy(scenario)
    organ = anatomy.organ if anatomy is not None else None
    c = scenario.get("coverage")
    if organ is None or not hasattr(organ, "mask") or not scenario.tumors or (c is not None and not c.enabled):
        return 0.0, 0
    pad = np.ceil(organ.reach / np.asarray(organ.spacing, float)).astype(int) + 1
    voxels = int(np.prod(np.asarray(organ.mask.shape) + 2 * pad))
    return voxels * ORGAN_DISTANCE_BYTES_PER_VOXEL, voxels


def _grid_shape(scenario) -> tuple[str, tuple]:
    """(kind, cells per axis) of the run's grid."""
    kind, bound = _grid_shape_bound(scenario)
    # graded_edges samples its axis at 20001 points and returns one float per edge: cheap up to
    # millions of edges per axis; beyond that the fine-spacing bound is returned as it is
    if max(bound) <= MAX_EDGES_PER_AXIS:
        kind, edges = grid_edges(scenario)
        return kind, tuple(e.size - 1 for e in edges)
    return kind, bound


@dataclass(frozen=True)
class PlacementSolves:
    """Solves the placement Monte Carlo adds to the run's own (ablation/outcome/placement): ``samples``
    re-solved, each ``ablations`` solves (an insertion sequence with its cooling gaps) on a ``kind``
    grid of ``cells``; ``seconds`` of all of them one after another (the worker processes share them
    out), ``memory_bytes`` of one solve (each worker holds one); ``field`` sets their count."""
    samples: int
    ablations: int
    kind: str
    cells: int
    seconds: float
    memory_bytes: float
    field: str


def placement_solves(scenario, run: Estimate) -> PlacementSolves | None:
    """What re-solving placement samples will cost (None when the Monte Carlo only moves the solved
    lesion): insertion sequences and the 'resolve' method re-solve placement.resolve_samples samples
    on a 3-D grid; the moved-tumour check of a material tumour re-solves placement.resolve_check on
    the run's grid, once each at the run's step (the same rules as ablation.outcome.placement.monte_carlo)."""
    p = scenario.get("placement")
    if p is None or not p.enabled or not scenario.tumors or not scenario.probes:
        return None
    insertions = tuple(p.insertions or ())
    if insertions or p.method == "resolve":
        probes = planned_insertions(scenario) if insertions else scenario.probes
        mesh = sequence_scenario(scenario, probes) if insertions else \
            scenario.replaced(grid=scenario.grid.replaced(kind="3d"))
        kind, shape = _grid_shape(mesh)
        cells = int(math.prod(shape))
        ablations = len(probes) if insertions else 1
        gap_steps = math.ceil(p.gap / min(scenario.time.step, p.gap)) if insertions and p.gap > 0 else 0
        per_sample = ablations * cells * STEP_CHECK_RUNS * (
            run.steps * seconds_per_cell_step(kind, _family(scenario.modality), cells)
            + gap_steps * seconds_per_cell_step(kind, "cryo" if scenario.modality == "cryo" else "thermal", cells))
        count = min(p.samples, p.resolve_samples)
        # each worker's re-solve keeps its step check in its own process: two grids, one interpreter
        memory = BASE_BYTES + RUNS_HELD * COSTS[(kind, _family(scenario.modality))]["bytes_per_cell"] * cells
        return PlacementSolves(count, ablations, kind, cells, count * per_sample, memory, "placement.resolve_samples")
    if placement_method(scenario, p) == "move_tumor" and run.kind == "axisymmetric" and any(t.material for t in scenario.tumors):
        count = min(p.resolve_check, p.samples)
        if count:
            # one integration each, at the run's checked step (no step check of their own)
            return PlacementSolves(count, 1, run.kind, run.cells, count * run.seconds / STEP_CHECK_RUNS, run.memory_bytes,
                                   "placement.resolve_check")
    return None


#: Re-solves of the cryo zone band at quantiles of a calibrated probe capacity
#: (len(ablation.pipeline.CAPACITY_QUANTILES); tests/test_plausibility.py checks they agree).
BAND_RESOLVES = 2


def band_solves(scenario, run: Estimate) -> float | None:
    """Seconds of one core for the zone band's re-solves of a cryo run whose probes' limit is a
    calibrated capacity (:func:`ablation.pipeline.capacity_resolves`: one integration each, at the
    run's step); None without such a probe. Sweeps, plans and comparisons leave the band out."""
    if scenario.modality != "cryo":
        return None
    law = scenario.cryo.frozen_conductivity_model
    if not any(p.get("cryo") and calibrated_capacity(p.cryo, law) is not None for p in scenario.probes):
        return None
    return BAND_RESOLVES * run.seconds / STEP_CHECK_RUNS


def estimate(scenario) -> Estimate:
    """The run's expected size and cost, computed without allocating the grid's arrays."""
    kind, shape = _grid_shape(scenario)
    cells = int(math.prod(shape))
    steps = steps_of(scenario)
    family = _family(scenario.modality)
    return Estimate(kind, shape, cells, steps, run_memory(kind, family, cells, comparisons_in_worker(scenario, cells)),
                    mc_memory(scenario), seconds_per_cell_step(kind, family, cells) * cells * steps * STEP_CHECK_RUNS)


def worker_pays(scenario, cells: int, halvings: int = 0) -> bool:
    """Whether a run of ``scenario`` on ``cells`` cells, its step halved ``halvings`` times, is worth
    a worker process: at least two cores and work (cells x steps at the first step) from
    ablation.run.time_loop's PARALLEL_COMPARISON_WORK (spawning and building the grid cost 1-5 s).
    The rule for the step check's comparison runs and the cryo zone band's re-solves."""
    first_step = rf_step_lengths(scenario)[0] if scenario.modality == "rfa" else scenario.time.step
    work = cells * math.ceil(scenario.time.duration * 2 ** halvings / first_step - 1e-9)
    return (os.cpu_count() or 1) >= 2 and work >= PARALLEL_COMPARISON_WORK


def comparisons_in_worker(scenario, cells: int) -> bool:
    """Whether `ablation run` gives the step check's comparison runs to a worker process."""
    return worker_pays(scenario, cells)


def run_memory(kind: str, family: str, cells: int, worker: bool = True) -> float:
    """Peak bytes of a run with its step check (:data:`RUNS_HELD`), its processes together
    (``worker``: the comparison runs in the step check's worker process)."""
    return (BASE_BYTES + (STEP_CHECK_WORKER_BYTES if worker else 0.0)
            + RUNS_HELD * COSTS[(kind, family)]["bytes_per_cell"] * cells)


def run_seconds(scenario) -> float:
    """Seconds of one core for a run of ``scenario``: its solve with the step check's comparison
    runs and its placement re-solves (:func:`estimate`, :func:`placement_solves`)."""
    run = estimate(scenario)
    resolves = placement_solves(scenario, run)
    return run.seconds + (resolves.seconds if resolves is not None else 0.0)


@dataclass(frozen=True)
class CommandSolves:
    """The runs a command makes of one scenario file (``ablation sweep``, ``plan``, ``compare``):
    ``parts`` as (what, how many, seconds of one core for one, :func:`run_seconds`); ``upper_bound``
    when a search decides how many are made, and the count is the most it can make."""
    command: str
    parts: tuple
    upper_bound: bool = False

    @property
    def seconds(self) -> float:
        return float(sum(count * each for _, count, each in self.parts))

    @property
    def runs(self) -> int:
        return int(sum(count for _, count, _ in self.parts))


def machine_memory() -> float:
    """Total physical memory of this machine in bytes (os.sysconf, else /proc/meminfo)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return 8e9   # a modest laptop, when the machine does not say


def default_budget() -> float:
    """80 % of the machine's memory: leaves room for the system and the result files."""
    return 0.8 * machine_memory()


def _gb(value: float) -> str:
    return f"{value / 1e9:.3g} GB"


def check_budget(scenario, max_memory_bytes: float | None = None, estimate_: Estimate | None = None) -> list:
    """(field path, message) for every part of the run that would exceed ``max_memory_bytes``
    (default: :func:`default_budget`), naming the field to change; empty when it fits."""
    budget = default_budget() if max_memory_bytes is None else float(max_memory_bytes)
    e = estimate_ if estimate_ is not None else estimate(scenario)
    errors = []
    if e.memory_bytes > budget:
        cells_allowed = max(0.0, (budget - run_memory(e.kind, _family(scenario.modality), 0))
                            / (RUNS_HELD * COSTS[(e.kind, _family(scenario.modality))]["bytes_per_cell"]))
        errors.append(("grid.spacing", f"{scenario.grid.spacing * 1e3:g} mm gives about {e.cells:.3g} cells "
                       f"({e.kind} grid {' x '.join(map(str, e.shape))}) needing about {_gb(e.memory_bytes)}; "
                       f"expected at most {_gb(budget)}, the memory budget (--max-memory; default 80 % of this "
                       f"machine's), about {cells_allowed:.3g} cells: coarsen grid.spacing or grid.max_spacing, "
                       "or shrink domain.size"))
    # the Monte Carlo runs after the solve, beside the result's fields (one grid, not the step check's
    # two); when the grid itself is over the budget, that is the field to change
    kept = BASE_BYTES + COSTS[(e.kind, _family(scenario.modality))]["bytes_per_cell"] * e.cells
    beside = e.memory_bytes <= budget and e.mc_memory_bytes and e.mc_memory_bytes + kept > budget
    if e.mc_memory_bytes > budget or beside:
        errors.append(("placement.samples", f"{scenario.placement.samples} samples need about "
                       f"{_gb(e.mc_memory_bytes)}, {_gb(e.mc_memory_bytes + kept)} with the solved run's fields; "
                       f"expected at most {_gb(budget)}, the memory budget "
                       "(--max-memory; default 80 % of this machine's): fewer placement.samples "
                       "(or coverage.points / placement.surface_points)"))
    solves = placement_solves(scenario, e)
    if solves is not None:
        workers = max(1, min(os.cpu_count() or 1, solves.samples))
        if workers * solves.memory_bytes > budget:
            cause = "placement.insertions" if solves.ablations > 1 else solves.field
            errors.append((cause, f"the {solves.samples} re-solved placement samples need a {solves.kind} grid of about "
                           f"{solves.cells:.3g} cells, {_gb(solves.memory_bytes)} per solve and {workers} solves at "
                           f"once; expected at most {_gb(budget)}, the memory budget (--max-memory; default 80 % "
                           "of this machine's): coarsen grid.spacing or grid.max_spacing, or fewer insertions"))
    organ, voxels = organ_distance_memory(scenario)
    if organ > budget:
        section = scenario.anatomy
        cause = "anatomy.liver_surface" if section.get("liver_surface") else "anatomy.label_map"
        errors.append((cause, f"the liver's signed-distance grid for the capsule test of the tumour points has "
                       f"{voxels:.3g} voxels and needs about {_gb(organ)}; expected at most {_gb(budget)}, the "
                       "memory budget (--max-memory; default 80 % of this machine's): a label map cropped to the "
                       "liver or resampled coarser (a liver surface: a larger anatomy.surface_voxel)"))
    needed, field = coverage_memory(scenario)
    if needed > budget:
        count = scenario.coverage[field.split(".")[1]]
        errors.append((field, f"{count:g} points per tumour need about {_gb(needed)} for the coverage metrics; "
                       f"expected at most {_gb(budget)}, the memory budget (--max-memory; default 80 % of this "
                       "machine's): fewer points (the defaults, 8192 / 20480 / 20000, locate a margin to "
                       "well under a cell)"))
    return errors


# ------------------------------------------------------------------------------ measurement
def _peak_rss_bytes() -> float:
    """Peak resident memory of this process image. /proc/self/status VmHWM restarts at exec, while
    getrusage's ru_maxrss keeps the high-water mark of the forked parent (a spawned child of a
    600 MB test process reported 600 MB), so VmHWM is read where Linux provides it."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def _measure_child(scenario, queue) -> None:
    """In a fresh process: peak RSS and wall clock of a run of ``scenario``."""
    import resource
    import time
    from ablation.run.time_loop import run
    base = _peak_rss_bytes()
    e = estimate(scenario)
    started = time.perf_counter()
    result = run(scenario)
    seconds = time.perf_counter() - started
    peak = _peak_rss_bytes()
    queue.put({"cells": result.domain.n_cells, "estimated_cells": e.cells, "steps": e.steps, "seconds": seconds,
               "solver_steps": result.summary["time"]["solver_steps"],
               "event_cuts": result.summary["time"]["event_cuts"],
               "peak_bytes": peak, "base_bytes": base, "estimated_bytes": e.memory_bytes})


def measure(scenario) -> dict:
    """Run ``scenario`` (a loaded Scenario) in a spawned process; returns cells, estimated cells,
    estimated steps, seconds of the solve (with the step check's comparison runs), the kept run's
    solver steps and roll-off cuts, peak RSS, RSS before the solve and the estimated peak."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure_child, args=(scenario, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def measure_costs(cases: dict) -> dict:
    """Per case name -> (small scenario, large scenario): bytes per cell as the slope between the
    two runs, and seconds per cell and solver step of one run on the larger grid (how :data:`COSTS`
    was measured; benchmarks/performance/estimate.py compares the estimate with such solves)."""
    out = {}
    for name, (small, large) in cases.items():
        a, b = measure(small), measure(large)
        out[name] = {
            "small": a, "large": b,
            "bytes_per_cell": (b["peak_bytes"] - a["peak_bytes"]) / max(1, b["cells"] - a["cells"]),
            "seconds_per_cell_step": b["seconds"] / (STEP_CHECK_RUNS * b["cells"] * b["solver_steps"]),
        }
    return out

"""Re-solving placement samples: every sample solved again with displaced probes, or as a
sequence of ablations on one 3-D grid (``[[placement.insertions]]``), through any
concurrent.futures Executor (a local process pool when none is given)."""
from __future__ import annotations

import logging
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import numpy as np

from ablation.geometry.grid import mark_regions
from ablation.outcome import coverage as cov
from ablation.outcome.placement.error_models import ErrorModel, displaced_probe, local_errors
from ablation.outcome.placement.statistics import SampleTable
from ablation.run.parallel import local_pool, map_in_order, stop_pool
from ablation.run.setup import planned_insertions, probe_shapes, scenario_domain, sequence_scenario
from ablation.run.time_loop import run
from ablation.run.transforms import apply_transforms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolveJob:
    """One sample to solve in a worker: the scenario (occlusion set), the displaced probes (one
    per probe, or one per insertion when ``sequence``), the cooling gap between insertions (s),
    the lesion criterion, the number of surface points per tumour, and ``halvings``: None for a run
    that checks its own time step, else the halvings of a checked run's step to integrate at once
    (:func:`ablation.run.time_loop.run`)."""
    scenario: object
    probes: tuple
    sequence: bool
    gap: float
    criterion: str
    surface_points: int
    halvings: int | None = None


#: Metrics of one solved sample: (coverage per tumour, min margin per tumour, success per tumour).
SampleMetrics = tuple[list, list, list]


def with_probes(domain, scenario):
    """The same grid with the regions of ``scenario``'s probes (a withdrawn probe's cells become
    tissue)."""
    out = replace(domain, regions=[], probes=probe_shapes(scenario), tumor_masks=[])
    mark_regions(out, [v.name for v in scenario.vessels])
    return out


def run_sequence(scenario, probes_per_insertion: list, gap: float) -> list:
    """Ablations one after another on one 3-D grid; returns the fields after each insertion and
    its cooling gap (probe withdrawn), so entry k is the result of the first k + 1 ablations.

    ``probes_per_insertion`` is a list of probe records (the device placed at each insertion).
    Temperature and damage carry over (:func:`ablation.run.time_loop.run` with ``initial_state``);
    the gap runs the generic thermal model without probes (tissue cooling by conduction and
    perfusion; phase change is not modelled in the gap)."""
    mesh_scenario = sequence_scenario(apply_transforms(scenario), probes_per_insertion)
    grid = scenario_domain(mesh_scenario)
    state, out = None, []
    for probe in probes_per_insertion:
        one = mesh_scenario.replaced(probes=(probe,))
        result = run(one, domain=with_probes(grid, one), initial_state=state)
        state = dict(result.fields)
        if gap > 0:
            cool = one.replaced(modality="thermal", probes=(),
                                time=one.time.replaced(duration=gap, step=min(one.time.step, gap)),
                                damage=one.damage.replaced(criterion="arrhenius", report_criteria=("arrhenius",)))
            cooled = run(cool, domain=with_probes(grid, cool), initial_state=state)
            state = {**state, **cooled.fields}
        out.append((grid, state))
    return out


def sample_metrics(grid, fields, scenario, criterion, n_surface) -> SampleMetrics:
    """Coverage, minimal margin and technical success of every tumour for solved ``fields``."""
    points = cov.build_points(scenario, grid, n_surface=n_surface)
    lesion = cov.Lesion.from_fields(grid, fields, criterion)
    rows = [cov.tumor_metrics(tp, lesion.inside, lesion.signed_distance, cov.scenario_margins(scenario))
            for tp in points]
    return ([r["coverage"] for r in rows], [cov.margin_value_mm(r) for r in rows],
            [r["technical_success"] for r in rows])


def occlusion_scenario(scenario, model: ErrorModel):
    """``scenario`` with inflow occlusion as the error model says (when it has a [placement])."""
    if scenario.get("placement") is None:
        return scenario
    return scenario.replaced(placement=scenario.placement.replaced(pringle=model.pringle))


def resolve_jobs(scenario, model: ErrorModel, z: np.ndarray, sequence: bool, gap: float, criterion: str,
                 n_surface: int) -> list[ResolveJob]:
    """One job per row of draws ``z`` (samples, insertions or probes, 5): with ``sequence`` every
    planned insertion displaced by its own draw, else every probe by its own draw."""
    base = occlusion_scenario(scenario, model)
    planned = planned_insertions(scenario) if sequence else list(scenario.probes)
    jobs = []
    for b in range(z.shape[0]):
        probes = []
        for k, p in enumerate(planned):
            delta, tilt = local_errors(model, z[b, k])
            probes.append(displaced_probe(p, delta, tilt))
        jobs.append(ResolveJob(base, tuple(probes), sequence, gap, criterion, n_surface))
    return jobs


def solve_job(job: ResolveJob) -> list[SampleMetrics]:
    """Worker: solve one sample (a single ablation or a sequence); metrics per insertion count."""
    scenario = job.scenario
    if not job.sequence:
        moved = scenario.replaced(probes=job.probes)
        if moved.grid.kind == "axisymmetric":   # a displaced probe leaves the tumour off its axis
            moved = moved.replaced(grid=moved.grid.replaced(kind="auto"))
        result = run(apply_transforms(moved), halvings=job.halvings)
        return [sample_metrics(result.domain, result.fields, result.scenario, job.criterion, job.surface_points)]
    return [sample_metrics(grid, fields, scenario, job.criterion, job.surface_points)
            for grid, fields in run_sequence(scenario, list(job.probes), job.gap)]


def solve_all(jobs: list[ResolveJob], executor=None, progress=None) -> list[list[SampleMetrics]]:
    """Runs :func:`solve_job` on every job through ``executor`` (any concurrent.futures Executor);
    without one, on a local process pool (:func:`ablation.run.parallel.local_pool`)."""
    if executor is None:
        if len(jobs) <= 1:
            return [solve_job(j) for j in jobs]
        pool = local_pool(len(jobs))
        try:
            out = solve_all(jobs, pool, progress)
            pool.shutdown()
            return out
        except BrokenProcessPool as exc:
            stop_pool(pool)
            # as the step check does: a worker that died (killed for memory, or a script read from
            # stdin that spawned workers cannot import) costs time, not the run
            log.warning("the worker processes of the re-solved placement samples failed (%s); solving the %d "
                        "samples here, one after the other (a script needs `if __name__ == \"__main__\":`, "
                        "README, Python API)", exc, len(jobs))
            return [solve_job(j) for j in jobs]
        except BaseException:
            stop_pool(pool)      # interrupted or failed: no solve keeps running behind it
            raise
    return map_in_order(executor, solve_job, jobs, progress, "re-solved placement samples")


def collect(results: list[list[SampleMetrics]], count: int) -> list[SampleTable]:
    """Per insertion count (1..count): the per-sample table over all solved samples."""
    out = []
    for k in range(count):
        c = np.array([r[k][0] for r in results], float)
        m = np.array([r[k][1] for r in results], float)
        s = np.array([r[k][2] for r in results], bool)
        out.append(SampleTable(c, m, s))
    return out

"""The time loop: build the grid and model, step the bioheat equation, accumulate damage, and
collect a :class:`Result` (fields, snapshots, time series, summary). No files, no screen: the
caller passes a ``progress(done, total, label)`` callback if it wants one (simulated seconds)."""
from __future__ import annotations

import logging
import math
import platform
import subprocess
import time as wallclock
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ablation.physics.bioheat import BioheatSolver, perfusion_coefficient
from ablation.physics.damage import (DamageAccumulator, frequency_factor_for_edge, lesion_size,
                                     nearest_tissue, parse_criterion, perfusion_multiplier, zone_volume)
from ablation.modalities import cryo, rfa, thermal
from ablation.modalities.base import cell_properties
from ablation.run.boundary import BoundaryTruncation
from ablation.run.problems import FieldProblems
from ablation.run.result import Result
from ablation.run.summary import (SCHEMA_VERSION, EnergyBalance, GridSummary, LesionSize, LesionSummary,
                                  ScenarioLabel, Summary, TimeSummary)
from ablation.geometry.patient import vessel_wall_radius_flow
from ablation.physics.vessel_wall import murray_flow, wall_heat_transfer_coefficient
from ablation.run.setup import patient_anatomy, scenario_domain

logger = logging.getLogger(__name__)

# The modality models, by the scenario's ``modality``.
MODELS = {"thermal": thermal.Model, "rfa": rfa.Model, "cryo": cryo.Model}

ENERGY_TERMS = ("stored", "source", "perfusion", "boundary", "walls")


def run(scenario, progress=None, spacing_scale: float = 1.0, step_scale: float = 1.0, *,
        domain=None, initial_state: dict | None = None, parallel: bool = False, halvings: int | None = None) -> Result:
    """Simulate ``scenario``; ``spacing_scale``/``step_scale`` refine the grid/time step (< 1).

    ``domain`` reuses a prebuilt grid and ``initial_state`` (a ``Result.fields`` dict on that grid)
    continues from an earlier run: temperature and damage accumulators start from it (sequences of
    ablations, :func:`ablation.outcome.placement.run_sequence`). Model-specific state is not carried over.

    Time stepping (``[time]``), see :func:`_refined_fixed_run` (the default: steps of ``step``,
    halved until the lesion's estimated time-discretisation error is under ``tolerance``) and
    :func:`_adaptive_run` (``adaptive = true``). Either way the error estimate is reported and a
    warning given when it exceeds ``tolerance``.

    ``parallel``: the fixed-step check's comparison runs at 2h and 4h, which do not depend on the
    kept run, go to one spawned worker process while this process integrates the kept run, when
    that pays (:func:`_parallel_comparisons`); the results are the same as in sequence.

    ``halvings`` given: one integration with the step, and the model's step limits, halved that
    many times (a checked run's summary ``time.halvings``), without comparison runs and with no
    error estimate (summary ``lesion_volume_error_estimate`` None). For re-solving a problem
    close to one whose step was checked, e.g. the moved-tumour check's axially displaced probes.
    Fixed steps only: a scenario with ``time.adaptive`` adapts its steps as usual.
    """
    from ablation.runtime import single_blas_thread
    started = wallclock.perf_counter()
    with single_blas_thread():   # as on the command line (ablation.runtime): the cooled needle 60 s -> 47 s
        if bool(getattr(scenario.time, "adaptive", False)):
            attempt, estimate = _adaptive_run(scenario, progress, spacing_scale, step_scale, domain, initial_state)
        elif halvings is not None:
            ratio = 0.5 ** halvings
            sim = _set_up(scenario, spacing_scale, ratio * step_scale, domain, initial_state)
            sim.limit_scale = ratio
            attempt, estimate = _note_refinement(_Attempt.integrate(sim, progress), halvings, ratio), None
        else:
            attempt, estimate = _refined_fixed_run(scenario, progress, spacing_scale, step_scale, domain,
                                                   initial_state, parallel)
    summary = _summary(attempt.sim, attempt.stats, attempt.fields, attempt.series, attempt.control, estimate)
    return Result(scenario, attempt.sim.domain, attempt.fields, attempt.snapshots, attempt.series,
                  summary.with_runtime(wallclock.perf_counter() - started))


@dataclass
class _Attempt:
    """One complete integration of a scenario: its state at the end and what it recorded."""
    sim: "_Simulation"
    stats: "_Totals"
    series: dict
    snapshots: list
    control: "_Control"
    fields: dict

    @classmethod
    def integrate(cls, sim, progress, local_tolerance: float | None = None) -> "_Attempt":
        stats, series, snapshots, control = _integrate(sim, progress, local_tolerance)
        return cls(sim, stats, series, snapshots, control, _final_fields(sim))

    @property
    def size(self) -> dict:
        return lesion_size(self.sim.domain, self.sim.criterion.level(self.fields))


#: Step halvings the default control may take (64x finer than asked) before it gives up with a warning.
MAX_HALVINGS = 6


#: Work (cells x the kept run's steps, as :func:`_expected_work` estimates them) from which the step
#: check's comparison runs go to a worker process (``run(parallel=True)``). Spawning the worker and
#: building its grid cost 1-5 s (the liver phantom RF grid, 122 451 cells: about 5 s). Work, not
#: cells, decides: the shipped cooled needle has only 10 608 cells but 2 880 steps of 0.25 s, and
#: its comparison runs took 26 s after its 18 s kept run (wall 41 s in sequence, 27 s with the
#: worker; measured 2026-12-05). The small grids and short runs of tests and sweeps stay below it.
PARALLEL_COMPARISON_WORK = 5e6


def _expected_work(sim) -> float:
    """Cells x steps of the kept run at its longest step from t = 0 (RF: the generator's control
    interval; it over-counts the longer steps while the generator is off)."""
    step = min(sim.dt, sim.step_limit(0.0))
    return float(sim.domain.n_cells) * math.ceil(sim.duration / step)


class _Comparison:
    """What the step check needs of a comparison run done elsewhere: its lesion size and steps."""

    def __init__(self, record: dict):
        self.size = record["size"]
        self.control = _Control(steps=record["steps"])


def _comparison_run(scenario, spacing_scale, scale, step_scale, initial_state) -> dict:
    """A comparison run of the step check in a worker process: the lesion size and step count
    (the fields stay in the worker). Builds its own grid from the scenario."""
    from ablation.runtime import single_blas_thread
    with single_blas_thread():
        sim = _set_up(scenario, spacing_scale, scale, None, initial_state)
        sim.limit_scale = scale / step_scale
        attempt = _Attempt.integrate(sim, None)
        return {"size": attempt.size, "steps": attempt.control.steps}


def _parallel_comparisons(scenario, spacing_scale, step_scale, domain, initial_state, sim) -> list | None:
    """Futures of the comparison runs at 2h and 4h on one spawned worker (in that order), or None
    when that does not pay or is not allowed: work under :data:`PARALLEL_COMPARISON_WORK`, one
    core, a prebuilt ``domain`` (sequences), or this process itself a worker (placement samples,
    sweeps: no nested pools). The kept run (its ``sim`` set up here) took 18 of the 44 s of the
    shipped cooled needle's three runs, whose wall time dropped from 41-47 s to 27-29 s on two free
    cores (2026-12-05)."""
    from ablation.run.parallel import local_pool, may_use_every_core
    if domain is not None or _expected_work(sim) < PARALLEL_COMPARISON_WORK or not may_use_every_core():
        return None
    pool = local_pool(1, 1)
    futures = [pool.submit(_comparison_run, scenario, spacing_scale, factor * step_scale, step_scale, initial_state)
               for factor in (2.0, 4.0)]
    return [*futures, pool]


def _abandon(remote, wait: bool = False) -> None:
    """Stops the worker of :func:`_parallel_comparisons` when the step check failed (or was
    interrupted): otherwise the interpreter would wait for its runs at exit. ``wait``: until it has
    exited, when this process goes on solving (its memory is then this process's alone)."""
    from ablation.run.parallel import stop_pool
    if remote:
        stop_pool(remote[2], wait=wait)


def _finish(remote) -> None:
    """Ends the worker of :func:`_parallel_comparisons` once both its runs are collected, and waits
    for its exit: an idle worker kept its memory while this process went on to halved runs or the
    run's outputs, and the two together passed the memory estimate (559 MB against 475 MB)."""
    if remote:
        remote[2].shutdown(wait=True)


def _release(remote) -> None:
    """Lets the worker of :func:`_parallel_comparisons` end once its runs are done. Not at its
    start: the shutdown forgets the worker, which :func:`_abandon` must still be able to stop."""
    if remote:
        remote[2].shutdown(wait=False, cancel_futures=True)


def _collected(remote, index: int) -> _Comparison | None:
    """The comparison run ``index`` from the worker, or None (no worker, or it failed: e.g. a
    worker killed for memory; the caller then runs it here)."""
    if not remote:
        return None
    try:
        return _Comparison(remote[index].result())
    except Exception as exc:      # noqa: BLE001 - any failure of the worker falls back to running here
        logger.warning("the step check's comparison run in a worker process failed (%s); running it here", exc)
        return None


def _refined_fixed_run(scenario, progress, spacing_scale, step_scale, domain, initial_state, parallel=False):
    """Fixed steps of ``time.step`` (ending at output times, protocol events and RF roll-offs, see
    :func:`_advance_fixed`), checked by Richardson extrapolation and halved while the estimate is
    too large (``time.refine``, on by default).

    Backward Euler is first order, V_h = V + C h, so the error of a run at step h is about
    V_h - V_2h, and V_2h - V_4h is twice that. The run is repeated at 2h and 4h; the estimate is
    the larger of |V_h - V_2h| and |V_2h - V_4h| / 2, so that two coarse runs agreeing by chance
    (long steps over RF pulses are not yet in the asymptotic range) do not pass for a small error.
    When the two differences have opposite signs the size turned back between the steps, so the
    runs are not in the asymptotic range at all and the estimate is the whole swing
    |V_h - V_2h| + |V_2h - V_4h| (a -145 degC cryo wall stepped at 10-40 s: V_10 and V_20 agreed
    within 0.3 % while V_10 was 4 % off).
    While the estimate exceeds the tolerance the run is repeated at half the step, which needs no
    further comparison runs (at most ``MAX_HALVINGS`` times). The cost is about 1.75 runs when
    the step is good enough, and bounded by about twice the last run otherwise. When every step
    already ends at a bound (one step, or a step longer than the phases), the run at 2h would be
    the same, so the comparison is with h/2 instead: e(h) ~ 2 |V_h - V_h/2|.

    Returns the kept attempt and its error estimate (:func:`_difference`)."""
    refine = bool(getattr(scenario.time, "refine", True))
    current_domain = [domain]

    def attempt(scale, label, sim=None):
        if sim is None:
            sim = _set_up(scenario, spacing_scale, scale, current_domain[0], initial_state)
            sim.limit_scale = scale / step_scale   # a comparison run doubles every step, limited ones too
        current_domain[0] = sim.domain
        bar = None if progress is None else (lambda done, total, _label: progress(done, total, label))
        return _Attempt.integrate(sim, bar)

    scale = step_scale
    first = _set_up(scenario, spacing_scale, scale, domain, initial_state)
    remote = _parallel_comparisons(scenario, spacing_scale, step_scale, domain, initial_state, first) \
        if parallel else None
    try:
        current = attempt(scale, "simulated s", first)
        tolerance = current.sim.tolerance
        coarse = _collected(remote, 0) or attempt(2.0 * scale, "simulated s (error estimate, step x2)")
        halvings = 0
        if coarse.control.steps == current.control.steps:   # bounded steps: 2h is the same run
            _abandon(remote, wait=True)   # its run at 4h is not needed either
            finer = attempt(0.5 * scale, "simulated s (error estimate, step /2)")
            estimate = _difference(current, finer, factor=2.0)
            if not refine or estimate["relative"] <= tolerance:
                return _note_refinement(current, halvings, scale / step_scale), estimate
            coarsest, coarse, current, scale, halvings = None, current, finer, 0.5 * scale, 1
        else:
            coarsest = _collected(remote, 1) or attempt(4.0 * scale, "simulated s (error estimate, step x4)")
            _finish(remote)
        while True:
            estimate = _difference(current, coarse, coarsest)
            if not refine or estimate["relative"] <= tolerance or halvings == MAX_HALVINGS:
                return _note_refinement(current, halvings, scale / step_scale), estimate
            halvings += 1
            scale *= 0.5
            coarsest, coarse, current = coarse, current, attempt(scale, f"simulated s (step /{2 ** halvings})")
    except BaseException:
        _abandon(remote)
        raise
    finally:
        _release(remote)


def _note_refinement(attempt: _Attempt, halvings: int, ratio: float) -> _Attempt:
    attempt.control.halvings = halvings
    attempt.control.requested_step = attempt.sim.dt / ratio
    return attempt


def _difference(kept: _Attempt, other: _Attempt, third: _Attempt | None = None, factor: float = 1.0) -> dict:
    """The kept run's estimated error from runs at other steps: ``factor`` x its lesion's difference to
    ``other`` and, when a ``third`` run at twice other's step is given, at least half of other's
    difference to it (volume in mL and relative, axes in mm)."""
    sizes = [kept.size, other.size] + ([third.size] if third is not None else [])

    def differences(key):
        near = factor * (sizes[0][key] - sizes[1][key])
        return near, (sizes[1][key] - sizes[2][key] if third is not None else 0.0)

    def turned_back(key):
        near, far = differences(key)
        return near * far < 0

    def error(key):
        near, far = differences(key)
        if turned_back(key):   # not in the asymptotic range: the whole swing counts
            return abs(near) + abs(far)
        return max(abs(near), 0.5 * abs(far))

    volume = error("volume_ml")
    axes = {k: error(k) for k in ("long_axis_mm", "short_axis_mm", "short_axis_2_mm")}
    v = sizes[0]["volume_ml"]
    relative = volume / v if v > 0 else (0.0 if volume == 0 else math.inf)
    asymptotic = not turned_back("volume_ml")
    return {"volume_ml": volume, "relative": relative, "axes_mm": axes, "coarse_volume_ml": sizes[1]["volume_ml"],
            "coarse_steps": other.control.steps, "asymptotic": bool(asymptotic)}


def _adaptive_run(scenario, progress, spacing_scale, step_scale, domain, initial_state):
    """Adaptive steps (:func:`_advance_adaptive`); the run is repeated with a tighter local
    criterion (at most ``MAX_TIGHTENINGS`` times) while the measured volume error
    (:func:`_error_estimate`) exceeds the tolerance."""
    local_tolerance = None
    for tries in range(1 + MAX_TIGHTENINGS):
        sim = _set_up(scenario, spacing_scale, step_scale, domain, initial_state)
        if local_tolerance is None:
            local_tolerance = KELVIN_PER_TOLERANCE * sim.tolerance
        attempt = _Attempt.integrate(sim, progress, local_tolerance)
        estimate = _error_estimate(scenario, spacing_scale, step_scale, domain, initial_state, sim, attempt.fields,
                                   attempt.control.sub_times)
        if estimate["relative"] <= sim.tolerance or tries == MAX_TIGHTENINGS:
            break
        # the local criterion was too loose for this run: tighten it in proportion and run again
        local_tolerance *= max(0.1, 0.5 * sim.tolerance / estimate["relative"])
    attempt.control.local_tolerance, attempt.control.attempts = local_tolerance, tries + 1
    return attempt, estimate


def _integrate(sim, progress, local_tolerance: float | None):
    """Steps ``sim`` to its duration; returns (totals, time series, snapshots, step-control record).
    Every step ends at or before the next output time, protocol event and the duration."""
    stats = _Totals()
    series: dict = {"time_s": [0.0]}
    _append_row(series, 0.0, _initial_row(sim), initial=True)
    snapshots = [(0.0, _snapshot(sim))]
    control = _Control()
    t, dt = 0.0, sim.dt
    next_output = sim.output_interval
    while t < sim.duration * (1.0 - 1e-12):
        bound = min(sim.duration, next_output, sim.model.next_event(t))
        if sim.adaptive:
            t, dt, rows = _advance_adaptive(sim, t, dt, bound, stats, control, local_tolerance)
        else:
            t, rows = _advance_fixed(sim, t, bound, stats, control)
        for time_point, row in rows:
            _append_row(series, time_point, row)
        if t >= next_output * (1.0 - 1e-12) or t >= sim.duration * (1.0 - 1e-12):
            snapshots.append((t, _snapshot(sim)))
            while next_output <= t * (1.0 + 1e-12):
                next_output += sim.output_interval
        _check_temperature(sim, t)
        if progress is not None:
            progress(t, sim.duration, "simulated s")
    return stats, series, snapshots, control


def _heat_source_fields(scenario) -> list[str]:
    """The scenario fields that set how hard the probes heat or cool (named when a run leaves
    physical temperatures)."""
    if scenario.modality == "rfa":
        return ["rfa.power"]
    fields = []
    for i, probe in enumerate(scenario.probes):
        table = probe.get(scenario.modality)
        if scenario.modality == "thermal" and table is not None:
            wall = table.wall
            fields.append(f"probes[{i}].thermal." + ("heat_flux_schedule" if wall == "heat_flux" else
                                                      "temperature_schedule"))
        else:
            fields.append(f"probes[{i}].{scenario.modality}")
    return fields or ["probes"]


def _check_temperature(sim: _Simulation, t: float) -> None:
    """Stop a run whose temperatures are no longer physical (not finite, or below absolute zero):
    the input drove the model past anything it can represent, e.g. a thermal probe's cooling heat
    flux with no latent heat to hold the tissue near freezing. Named as bad input (exit 2), before
    any result is written."""
    T = sim.heat.T
    lowest = float(np.min(T)) if np.all(np.isfinite(T)) else float("nan")
    if lowest >= -273.15:
        return
    state = "not finite" if math.isnan(lowest) else f"{lowest:.4g} degC, below absolute zero"
    hint = (" (the thermal modality has no freezing: a probe that freezes tissue is modality 'cryo')"
            if sim.scenario.modality == "thermal" else "")
    raise UnphysicalRun([(field, f"the tissue temperature became {state} at t = {t:g} s; expected a heating "
                          f"or cooling the model can follow: a weaker probe{hint}")
                         for field in _heat_source_fields(sim.scenario)], sim.scenario.name)


class UnphysicalRun(FieldProblems):
    """A run its input drove past physical temperatures, named by the fields that set the heating
    (the command line reports it as bad input, exit 2)."""


def _bounded_step(h: float, room: float) -> float:
    """A step of about ``h`` that ends at a bound ``room`` ahead without leaving a sliver before it."""
    h = min(h, room)
    if room - h < 0.25 * h:
        return room
    if room < 2.0 * h:
        return 0.5 * room
    return h


def _advance_fixed(sim: _Simulation, t: float, bound: float, stats, control: _Control):
    """One step of ``sim.dt`` from ``t``, ending at ``bound`` when it is near (output time, protocol
    event, duration); returns (new time, time-series rows).

    A step at whose end the model reports an event (RF: the impedance crosses the roll-off limit)
    is not taken whole: the crossing is located by regula falsi on the model's event margin
    (impedance minus limit) to within ``event_resolution`` and the steps end there, so that a
    pulse's length, and the energy it delivers, converge with the step instead of jumping by
    whole steps. The step after it is ``dt`` again."""
    model = sim.model
    h = _bounded_step(min(sim.dt, sim.step_limit(t)), bound - t)
    watch = h > model.event_resolution
    if watch:
        saved, margin_start = _capture(sim), model.event_margin(t, sim.heat)
    report, row = _step(sim, t, h)
    if not (watch and margin_start <= 0.0 < model.event_margin(t + h, sim.heat)):
        stats.add(sim, report)
        control.accepted(h, [h])
        return t + h, [(t + h, row)]
    control.event_cuts += 1
    lo, hi, f_lo, f_hi = t, t + h, margin_start, model.event_margin(t + h, sim.heat)
    rows = []
    kept_side, tries = 0, 0
    while hi - lo > model.event_resolution:
        _restore(sim, saved)
        tries += 1
        # Illinois variant of regula falsi (the end kept twice has its margin halved, so that both
        # ends close in); bisection when the start had no finite margin or after 6 tries
        if math.isfinite(f_lo) and tries <= 6:
            fraction = min(max(-f_lo / (f_hi - f_lo), 0.05), 0.95)
        else:
            fraction = 0.5
        mid = lo + fraction * (hi - lo)
        report, row = _step(sim, lo, mid - lo)
        f_mid = model.event_margin(mid, sim.heat)
        if f_mid > 0.0:
            hi, f_hi = mid, f_mid
            f_lo = 0.5 * f_lo if kept_side == -1 else f_lo
            kept_side = -1
            continue
        stats.add(sim, report)          # no crossing yet: keep the part before it
        control.accepted(mid - lo, [mid - lo])
        rows.append((mid, row))
        lo, f_lo, saved = mid, f_mid, _capture(sim)
        f_hi = 0.5 * f_hi if kept_side == 1 else f_hi
        kept_side = 1
    _restore(sim, saved)
    report, row = _step(sim, lo, hi - lo)   # ends just past the crossing: the generator reacts at hi
    stats.add(sim, report)
    control.accepted(hi - lo, [hi - lo])
    rows.append((hi, row))
    return hi, rows


@dataclass
class _Simulation:
    """Everything one run steps: grid, properties, modality model, heat and damage solvers, and
    the time stepping (``dt``: the first step when adaptive, every step otherwise)."""
    scenario: object
    domain: object
    props: object
    model: object
    heat: BioheatSolver
    damage: DamageAccumulator
    criterion: object
    base_perfusion: np.ndarray
    boundary_T: float | None
    duration: float
    dt: float
    output_interval: float
    adaptive: bool
    tolerance: float
    max_step: float
    keep: set   # fields the snapshots store besides temperature
    limit_scale: float = 1.0   # the model's step limit scales with the run's step relative to the asked one
    truncation: BoundaryTruncation | None = None   # the held outer boundary's deviation, raw and conducted
    fine_spacing: float = math.nan   # m, the grid's fine cells ([grid] spacing times the run's scale)
    nearest_tissue: np.ndarray | None = None   # the time series' zone volume: damage.nearest_tissue, once

    def step_limit(self, t: float) -> float:
        return self.model.step_limit(t) * self.limit_scale

    @property
    def report_criteria(self) -> list[str]:
        """The default criterion first, then the other reported ones."""
        d = self.scenario.damage
        return [self.criterion.name] + [c for c in (d.report_criteria or self.model.report_criteria)
                                        if c != self.criterion.name]


def _set_up(scenario, spacing_scale, step_scale, domain, initial_state) -> _Simulation:
    """Grid, cell properties, modality model, bioheat solver (vessel walls held), damage
    accumulators (continued from ``initial_state`` if given) and the time stepping."""
    domain = domain if domain is not None else scenario_domain(scenario, spacing_scale)
    props = cell_properties(scenario, domain)
    model = MODELS[scenario.modality](scenario, domain, props)
    t_cfg = scenario.tissue
    boundary_T = None
    if scenario.domain.boundary == "fixed_temperature":
        boundary_T = t_cfg.boundary_temperature if t_cfg.boundary_temperature is not None else t_cfg.initial_temperature
    base_perfusion = perfusion_coefficient(props["perfusion"], t_cfg.blood_density, t_cfg.blood_specific_heat)
    heat = BioheatSolver(domain, model.storage(), model.conductivity, base_perfusion, t_cfg.arterial_temperature,
                         boundary_T, t_cfg.initial_temperature, conductivity_varies=model.conductivity_varies,
                         tolerance=scenario.solver.tolerance, max_iterations=scenario.solver.max_iterations,
                         linear_solver=scenario.solver.heat, conductivity_integral=model.conductivity_integral,
                         material=props.material)
    _set_vessel_walls(scenario, heat)
    d = scenario.damage
    damage = DamageAccumulator(domain.n_cells, t_cfg.initial_temperature, cell_death_frequency_factor(d),
                               d.activation_energy, d.time_above, d.time_below,
                               stasis_kinetics=((d.stasis_frequency_factor, d.stasis_activation_energy)
                                                if d.perfusion_shutdown == "vascular_stasis" else None),
                               baseline_temperature=t_cfg.arterial_temperature)
    if initial_state is not None:
        heat.T = np.asarray(initial_state["temperature_C"], float).copy()
        for name, array in damage.fields().items():   # the accumulators' own arrays
            if name in initial_state:
                array[...] = initial_state[name]
    model.setup(heat)
    criterion = parse_criterion(d.criterion or model.default_criterion)
    time_cfg = scenario.time
    duration, dt_nominal = time_cfg.duration, time_cfg.step * step_scale
    adaptive = bool(getattr(time_cfg, "adaptive", False))
    max_step = getattr(time_cfg, "max_step", None)
    keep = {parse_criterion(n).field for n in [criterion.name, *(d.report_criteria or model.report_criteria)]}
    # the treatment's direction: RF heats, cryo cools (a cooled RF shaft crossing the boundary is not truncation)
    direction = {"rfa": 1, "cryo": -1}.get(scenario.modality, 0)
    truncation = BoundaryTruncation(heat, domain.tissue, boundary_T, direction) if boundary_T is not None else None
    return _Simulation(scenario, domain, props, model, heat, damage, criterion, base_perfusion, boundary_T,
                       duration, min(dt_nominal, duration), time_cfg.output_interval, adaptive,
                       float(getattr(time_cfg, "tolerance", DEFAULT_TOLERANCE)),
                       float(max_step) * step_scale if max_step is not None else math.inf, keep,
                       truncation=truncation, fine_spacing=float(scenario.grid.spacing) * spacing_scale)


def _step(sim: _Simulation, t: float, dt: float, row: bool = True):
    """One time step from ``t``: the model's source and perfusion factor, damage shutdown of
    perfusion, the bioheat step, the damage update and the model's after-step bookkeeping.
    Returns the solver's step report and the time-series row (None when ``row`` is false)."""
    heat, damage, model = sim.heat, sim.damage, sim.model
    heat.source = np.zeros(sim.domain.n_cells)   # the model adds its heat source (W/m^3) here
    model.before_step(t, dt, heat, damage)
    shutdown = perfusion_multiplier(sim.scenario.damage.perfusion_shutdown, damage.omega, damage.stasis)
    factor = model.perfusion_factor(heat.T)
    heat.perfusion = sim.base_perfusion * shutdown * factor
    heat.source = heat.source + sim.props["metabolic_heat"] * shutdown * factor
    t_old = heat.T.copy()
    report = heat.step(dt)
    report.dt = dt
    if sim.truncation is not None:   # the inputs this step was computed with, for when it is accepted
        report.boundary_inputs = sim.truncation.inputs(heat)
    damage.update(t_old, heat.T, dt)
    device = model.after_step(t + dt, dt, heat, damage, report)
    return report, (_series_row(sim, report, device) if row else None)


# ------------------------------------------------------------------------------------ step control
DEFAULT_TOLERANCE = 0.02
#: Local temperature error (K) allowed per step per unit of relative volume tolerance: 2 % -> 0.5 K
#: (module docstring of :func:`_advance_adaptive`).
KELVIN_PER_TOLERANCE = 25.0
MAX_TIGHTENINGS = 2     # reruns with a tighter local tolerance when the measured error is too large
MIN_STEP = 1e-3          # s; below it a step is accepted whatever its error
MAX_GROWTH, MIN_SHRINK, SAFETY = 2.0, 0.2, 0.9


@dataclass
class _Control:
    """Bookkeeping of the step control: accepted and rejected steps, roll-off cuts, step range, and
    the sub-step times (every solver step, for the error estimate)."""
    steps: int = 0
    rejected: int = 0
    event_cuts: int = 0
    min_dt: float = math.inf
    max_dt: float = 0.0
    sub_times: list = field(default_factory=lambda: [0.0])
    event_bound: float = math.inf   # a detected crossing lies before this time
    local_tolerance: float = math.nan   # K, the local error allowed in the last attempt
    attempts: int = 1
    halvings: int = 0                   # fixed steps: times the step was halved to meet the tolerance
    requested_step: float = math.nan    # s, the step asked for (before halvings)

    def accepted(self, dt: float, sub_steps: list) -> None:
        self.steps += 1
        self.min_dt, self.max_dt = min(self.min_dt, dt), max(self.max_dt, dt)
        for h in sub_steps:
            self.sub_times.append(self.sub_times[-1] + h)


def _band(criterion) -> tuple[float, float]:
    """Temperatures (degC) at which a cell's error moves the lesion boundary of ``criterion``."""
    if criterion.field in ("t_max_C", "t_min_C"):
        return criterion.threshold - 10.0, criterion.threshold + 10.0
    return 45.0, 80.0   # Arrhenius, CEM43, three-state: where the rate passes from negligible to lethal


def _criterion_field(sim: _Simulation):
    """A copy of the accumulated field of a logarithmic criterion (Omega, CEM43), else None."""
    if sim.criterion.kind != "log_at_least":
        return None
    return np.array((sim.damage.fields() | sim.model.extra_fields())[sim.criterion.field], float)


#: Error of ln Omega (or ln CEM43) allowed over the whole run per unit of relative volume tolerance:
#: local errors of the integral never decay, so each step may spend its share h / duration
LOG_DAMAGE_PER_TOLERANCE = 3.0
#: the smallest share of that error one step may spend, whatever its length (0: strictly h / duration)
DAMAGE_STEP_SHARE = 0.0


def _local_error(sim: _Simulation, t_full: np.ndarray, t_half: np.ndarray, d_full=None, h: float = 0.0,
                 tol: float = 1.0) -> float:
    """Step-doubling estimate (K) of the local error of the two half steps: temperature over the
    tissue cells whose temperature lies in the criterion's band (:func:`_band`), and for Omega and
    CEM43 also the field's relative error (to the larger of it and its threshold: d ln field above
    the threshold) where it is within a factor e^3 of the threshold (the cells the boundary passes
    through), scaled so that it counts against ``tol`` as its share
    h / duration of ``LOG_DAMAGE_PER_TOLERANCE * tolerance`` (the boundary moves by d ln Omega /
    |grad ln Omega| ~ 1 mm per unit at ~1/mm, and dV/V = 3 dr/r)."""
    lo, hi = _band(sim.criterion)
    tissue = sim.domain.tissue
    cells = tissue & (((t_half >= lo) & (t_half <= hi)) | ((t_full >= lo) & (t_full <= hi)))
    err = float(np.max(np.abs(t_full[cells] - t_half[cells]))) if cells.any() else 0.0
    if d_full is not None:
        d_half = _criterion_field(sim)
        threshold = sim.criterion.threshold
        near = tissue & (d_half > threshold * math.exp(-3.0)) & (d_half < threshold * math.exp(3.0)) & (d_full > 0)
        if near.any():
            # relative to the larger of the field and its threshold: ln-error above the threshold,
            # the error as a fraction of the threshold below it (a cell still far below it has time)
            dlog = float(np.max(np.abs(d_full[near] - d_half[near]) / np.maximum(d_half[near], threshold)))
            allowed = LOG_DAMAGE_PER_TOLERANCE * sim.tolerance * max(h / sim.duration, DAMAGE_STEP_SHARE)
            err = max(err, tol * dlog / allowed)
    return err


def _advance_adaptive(sim: _Simulation, t: float, dt: float, bound: float, stats, control: _Control,
                      tol: float):
    """One accepted adaptive step from ``t`` ending at or before ``bound`` (an output time, the
    duration or a model event); returns (new time, proposed next step, time-series rows).

    Error control (step doubling): each trial advances ``h`` once and, from the same start, twice
    by ``h/2``; for backward Euler (local error ~ h^2) the two half steps are kept and their local
    error is about ``T_full - T_half``. The controlled quantity is the largest such difference over
    the tissue cells whose temperature lies where the lesion boundary is decided (:func:`_band`:
    +/- 10 K around a temperature criterion's threshold; 45-80 degC for Arrhenius, CEM43 and the
    three-state model, whose rates go from negligible to lethal there), not over the whole grid:
    vaporising cells at the electrode and the frozen core next to a cryoprobe are inside the
    lesion whatever their error, and cells that stay warm or near body temperature outside it.
    For Omega and CEM43 the accumulated field's own local error (ln of it, within e^3 of the
    threshold) is controlled too, converted to kelvin: late in a run the temperature near the
    boundary is nearly steady while the damage integral still grows, and long steps there err in
    the integral, not in T.
    Why temperature in that band: the boundary moves by dr = dT / |grad T| there, and for Arrhenius
    d ln Omega = Ea/(R T^2) dT ~ 0.28 per K at 60 degC, so a temperature error of ~0.1 K at the
    boundary (|grad T| a few K/mm, radius ~10-20 mm) keeps dV/V = 3 dr/r near 1 % if it persisted;
    local errors decay by conduction and perfusion, so the allowed local error ``tol`` starts at
    ``KELVIN_PER_TOLERANCE * tolerance`` K (0.5 K at the default 2 %). The run's volume error is then
    measured (:func:`_error_estimate`); when it exceeds the tolerance, :func:`run` repeats the run
    with ``tol`` reduced in proportion (at most ``MAX_TIGHTENINGS`` times): the lesion volume itself
    is the controlled quantity, the local criterion only distributes the steps.

    Events: a trial step after which the model reports a pending event (RF: the impedance would
    start a roll-off) is cut in half until the crossing is located within the model's resolution
    (1 s for the generator), so a roll-off is never stepped over; known events (protocol phase
    boundaries, ramp ends, generator off periods) bound the step from outside (``bound``).
    """
    model = sim.model
    while True:
        h = _bounded_step(min(dt, sim.max_step, sim.step_limit(t)), min(bound, control.event_bound) - t)
        saved = _capture(sim)
        _step(sim, t, h, row=False)
        t_full, d_full = sim.heat.T.copy(), _criterion_field(sim)
        _restore(sim, saved)
        report_1, row_1 = _step(sim, t, 0.5 * h)
        report_2, row_2 = _step(sim, t + 0.5 * h, 0.5 * h)
        err = _local_error(sim, t_full, sim.heat.T, d_full, h, tol)
        if err > tol and h > MIN_STEP:
            _restore(sim, saved)
            control.rejected += 1
            dt = h * max(MIN_SHRINK, SAFETY * math.sqrt(tol / err))
            continue
        if h > model.event_resolution and model.event_pending(t + h, sim.heat):
            _restore(sim, saved)
            control.event_cuts += 1
            control.event_bound = t + h
            dt = 0.5 * h
            continue
        break
    for report in (report_1, report_2):
        stats.add(sim, report)
    control.accepted(h, [0.5 * h, 0.5 * h])
    t_new = t + h
    if t_new >= control.event_bound * (1.0 - 1e-12):
        control.event_bound = math.inf
    growth = MAX_GROWTH if err == 0.0 else min(MAX_GROWTH, SAFETY * math.sqrt(tol / err))
    dt_next = max(h * max(growth, MIN_SHRINK), MIN_STEP)
    if h < dt and t_new >= bound * (1.0 - 1e-12):   # cut by a bound, not by the error
        dt_next = max(dt_next, dt)
    return t_new, dt_next, [(t + 0.5 * h, row_1), (t_new, row_2)]


def _capture(sim: _Simulation) -> dict:
    """Copies of everything a step changes: temperature, sources, wall states, damage, model state."""
    heat, damage = sim.heat, sim.damage
    walls = [(s.bc, s.value, s.h, s.max_power, s.limited, s.wall_temperature, s.last_power, s.last_energy)
             for s in heat.surfaces]
    return {"T": heat.T.copy(), "source": heat.source, "perfusion": heat.perfusion, "walls": walls,
            "k_cell": heat._k_cell, "k_temperature": heat._k_temperature, "face_G": heat._face_G,
            "boundary_power": getattr(heat, "last_boundary_power", None),
            "damage": {name: array.copy() for name, array in damage.fields().items()},
            "time_above": list(damage.time_above), "time_below": list(damage.time_below),
            "model": sim.model.stepping_state()}


def _restore(sim: _Simulation, saved: dict) -> None:
    heat, damage = sim.heat, sim.damage
    heat.T = saved["T"].copy()
    heat.source, heat.perfusion = saved["source"], saved["perfusion"]
    for s, values in zip(heat.surfaces, saved["walls"]):
        (s.bc, s.value, s.h, s.max_power, s.limited, s.wall_temperature, s.last_power, s.last_energy) = values
    heat._k_cell, heat._k_temperature, heat._face_G = saved["k_cell"], saved["k_temperature"], saved["face_G"]
    heat._face_G_temperature = None   # the restored conductances belong to no array at hand
    if saved["boundary_power"] is not None:
        heat.last_boundary_power = saved["boundary_power"]
    for key in [k for k in damage.time_above if k not in saved["time_above"]]:
        del damage.time_above[key]
    for key in [k for k in damage.time_below if k not in saved["time_below"]]:
        del damage.time_below[key]
    for name, array in damage.fields().items():
        array[...] = saved["damage"][name]
    sim.model.restore_stepping_state(saved["model"])


# ------------------------------------------------------------------------------------ error estimate
def _error_estimate(scenario, spacing_scale, step_scale, domain, initial_state, sim: _Simulation, fields: dict,
                    sub_times: list) -> dict:
    """Time-discretisation error of the lesion (default criterion), by Richardson extrapolation.

    The run is repeated on the same grid with every other sub-step time of the run (steps twice as
    long: the accepted steps of an adaptive run, whose solution is made of half steps; every second
    step of a fixed-step run; the model reacts by itself, so roll-offs may move). Backward Euler is
    first order, so the run's error is about its difference to that coarser run:
    ``e ~ V - V_2h``. Returns the volume error (mL, relative) and the axes' errors (mm)."""
    factor = 1.0
    times = list(sub_times[2::2])
    if not times or times[-1] < sub_times[-1]:
        times.append(sub_times[-1])
    if len(sub_times) <= 2:   # one step: compare with two half steps instead, e(h) ~ 2 (V_h - V_h/2)
        times, factor = [0.5 * sub_times[-1], sub_times[-1]], 2.0
    coarse = _set_up(scenario, spacing_scale, step_scale, sim.domain if domain is None else domain, initial_state)
    t = 0.0
    for t_next in times:
        _step(coarse, t, t_next - t, row=False)
        t = t_next
    coarse_fields = {**coarse.damage.fields(), **coarse.model.extra_fields()}
    fine_size = lesion_size(sim.domain, sim.criterion.level(fields))
    coarse_size = lesion_size(sim.domain, sim.criterion.level(coarse_fields))
    volume = factor * abs(fine_size["volume_ml"] - coarse_size["volume_ml"])
    axes = {k: factor * abs(fine_size[k] - coarse_size[k]) for k in ("long_axis_mm", "short_axis_mm", "short_axis_2_mm")}
    relative = volume / fine_size["volume_ml"] if fine_size["volume_ml"] > 0 else (0.0 if volume == 0 else math.inf)
    return {"volume_ml": volume, "relative": relative, "axes_mm": axes, "coarse_volume_ml": coarse_size["volume_ml"],
            "coarse_steps": len(times)}


@dataclass
class _Totals:
    """Sums over the steps: CG iterations, energy terms and the heat balance; the deviation of the
    tissue next to a fixed-temperature boundary goes to the run's :class:`BoundaryTruncation`."""
    cg_iterations: int = 0
    energy: dict = field(default_factory=lambda: dict.fromkeys(ENERGY_TERMS, 0.0))
    abs_exchanged: float = 0.0
    abs_residual: float = 0.0

    def add(self, sim: _Simulation, report) -> None:
        self.cg_iterations += report.iterations
        for key in self.energy:
            self.energy[key] += report.energy[key]
        self.abs_exchanged += sum(abs(report.energy[k]) for k in ("source", "perfusion", "boundary", "walls"))
        self.abs_residual += abs(report.residual)
        if sim.truncation is not None:
            sim.truncation.add(report.dt, report.boundary_inputs, sim.heat.T)

    @property
    def heat_balance_error(self) -> float:
        return self.abs_residual / self.abs_exchanged if self.abs_exchanged > 0 else 0.0


def _series_row(sim: _Simulation, report, device: dict) -> dict:
    """The time-series row after a step: tissue temperature range, lesion volume, CG iterations
    and the model's device values."""
    row = _state_row(sim)
    row["cg_iterations"] = report.iterations
    row.update(device)
    return row


def _state_row(sim: _Simulation) -> dict:
    """Tissue temperature range and the tissue volume meeting the criterion now, measured as the
    summary's lesion is (:func:`ablation.physics.damage.zone_volume`): the last row and the summary
    agree but for the summary keeping only the zone connected to a probe."""
    heat, tissue = sim.heat, sim.domain.tissue
    if sim.nearest_tissue is None:
        sim.nearest_tissue = nearest_tissue(sim.domain)
    level = sim.criterion.level(sim.damage.fields() | sim.model.extra_fields())
    return {"max_temperature_C": float(np.max(heat.T[tissue])), "min_temperature_C": float(np.min(heat.T[tissue])),
            "lesion_volume_ml": zone_volume(sim.domain, level, sim.nearest_tissue) * 1e6}


def _initial_row(sim: _Simulation) -> dict:
    """The t = 0 row: the initial state (no iterations, the model's device values before any step)."""
    row = _state_row(sim)
    row["cg_iterations"] = 0
    row.update(sim.model.initial_row(sim.heat, sim.damage))
    return row


def _append_row(series: dict, t: float, row: dict, initial: bool = False) -> None:
    """Appends ``row`` at time ``t`` (``initial``: the t = 0 row, whose time is already there);
    a column that appears later is NaN before it."""
    n = len(series["time_s"]) - (1 if initial else 0)
    for key, value in row.items():
        series.setdefault(key, [float("nan")] * n).append(value)
    for key, column in series.items():
        if key != "time_s" and len(column) < n + 1:
            column.append(float("nan"))
    if not initial:
        series["time_s"].append(t)


def _final_fields(sim: _Simulation) -> dict:
    fields = {"temperature_C": sim.heat.T.copy(), **sim.damage.fields(), **sim.model.extra_fields()}
    fields["tissue"] = sim.domain.tissue.astype(float)
    fields["material"] = sim.props.material.astype(float)
    return fields


def _time_summary(sim: _Simulation, control: _Control, estimate: dict | None) -> TimeSummary:
    """Time stepping and the lesion's estimated time-discretisation error, with a warning (logged
    and listed) when that error exceeds the tolerance. ``estimate`` None: the step was not checked
    (``run(halvings=...)``), so there is no estimate and ``refine`` is False."""
    warnings = []
    refine = bool(getattr(sim.scenario.time, "refine", True)) and estimate is not None
    unchecked = {"relative": None, "volume_ml": None, "axes_mm": None, "asymptotic": None}
    estimate = unchecked if estimate is None else estimate
    if estimate["relative"] is not None and estimate["relative"] > sim.tolerance:
        if sim.adaptive:
            how, advice = "adaptive steps", "use a smaller tolerance or max_step"
        elif refine:
            how = f"a step of {sim.dt:g} s after {control.halvings} halvings (the most allowed)"
            advice = "use a smaller [time] step"
        else:
            how, advice = f"a fixed step of {sim.dt:g} s (refine = false)", "use a smaller [time] step or refine = true"
        message = (f"{sim.scenario.name}: the lesion volume's estimated time-discretisation error is "
                   f"{100 * estimate['relative']:.3g} % ({estimate['volume_ml']:.3g} mL) with {how}, above the "
                   f"tolerance of {100 * sim.tolerance:.3g} %; {advice}")
        logger.warning(message)
        warnings.append(message)
    for i, protocol in enumerate(getattr(sim.model, "protocols", None) or ()):
        # phases past the run's end are not simulated: a 10-8-10 protocol in a 10 min run is one freeze
        length = sum(phase.duration for phase in protocol)
        if length > sim.duration * (1 + 1e-9):
            message = (f"{sim.scenario.name}: probes[{i}]'s protocol lasts {length / 60:g} min, longer than "
                       f"time.duration ({sim.duration / 60:g} min): its phases after {sim.duration / 60:g} min were "
                       "not simulated; lengthen time.duration to run the whole protocol")
            logger.warning(message)
            warnings.append(message)
    return TimeSummary(sim.duration, sim.dt, control.steps, adaptive=sim.adaptive, tolerance=sim.tolerance,
                       requested_step_s=(sim.dt if sim.adaptive else control.requested_step),
                       refine=(None if sim.adaptive else refine), halvings=(None if sim.adaptive else control.halvings),
                       local_tolerance_K=control.local_tolerance if sim.adaptive else None,
                       attempts=control.attempts,
                       rejected_steps=control.rejected, event_cuts=control.event_cuts,
                       min_step_s=control.min_dt, max_step_s=control.max_dt,
                       solver_steps=len(control.sub_times) - 1,
                       lesion_volume_error_estimate=estimate["relative"],
                       lesion_volume_error_estimate_ml=estimate["volume_ml"],
                       lesion_axes_error_estimate_mm=(None if estimate["axes_mm"] is None else dict(estimate["axes_mm"])),
                       lesion_volume_error_asymptotic=estimate.get("asymptotic"),
                       warnings=tuple(warnings))


def _device(sim: _Simulation, series: dict) -> dict:
    """The model's device summary; for RF also where the hottest tissue cell lies
    (:func:`hottest_cell`), because its temperature is set at an electrode's edge by the grid."""
    device = dict(sim.model.device_summary(series))
    if sim.scenario.modality == "rfa":
        device["hottest_cell"] = hottest_cell(sim.domain, sim.damage.t_max)
    if sim.scenario.modality in ("rfa", "thermal"):
        device["overheated_tissue"] = overheated_tissue(sim.scenario, sim.domain, sim.damage.t_max)
    return device


#: Tissue whose peak passed this has left the model's RF tissue physics: water boils off by 100 degC,
#: sigma falls to 1e-2 by 105 degC, and a rim cell that dries within a step overshoots to 120-150 degC
#: and falls back (docs/physics.md 2). Real tissue chars and the generator's impedance rolls off; the
#: model has no charring, so heat keeps flowing into such cells.
OVERHEAT_C = 150.0
#: A warning when the overheated tissue is more than this fraction of the tissue heated above 60 degC:
#: a few electrode-rim cells are a fraction of a percent (a 12 min cooled-needle run with a 30 ohm
#: roll-off rise: 0.3 %), a generator that never rolls off about a half.
OVERHEAT_FRACTION = 0.05


def overheated_tissue(scenario, domain, t_max: np.ndarray) -> dict:
    """The tissue volume whose peak temperature passed :data:`OVERHEAT_C` (mL), the volume heated
    above 60 degC beside it, and a warning (logged and listed) when the first is more than
    :data:`OVERHEAT_FRACTION` of the second."""
    tissue = domain.tissue
    volumes = domain.geometry.volumes
    hot = float(np.sum(volumes[tissue & (t_max > OVERHEAT_C)])) * 1e6
    heated = float(np.sum(volumes[tissue & (t_max > 60.0)])) * 1e6
    out = {"threshold_C": OVERHEAT_C, "volume_ml": hot, "heated_above_60C_ml": heated, "warning": None}
    if heated > 0.0 and hot > OVERHEAT_FRACTION * heated:
        out["warning"] = (f"{scenario.name}: {hot:.3g} mL of tissue, {100 * hot / heated:.0f} % of the "
                          f"{heated:.3g} mL heated above 60 degC, passed {OVERHEAT_C:g} degC: beyond vaporisation, "
                          "where tissue chars and a generator's impedance rolls off; the model has no charring, so "
                          "this zone comes from heating it cannot represent " +
                          ("(check rfa.protocol and the roll-off settings: a generator that never rolls off keeps "
                           "its power on dried tissue)" if scenario.modality == "rfa" else
                           "(the thermal modality has no vaporisation either: check the probes' heat_flux_schedule "
                           "or temperature_schedule)"))
        logger.warning(out["warning"])
    return out


def hottest_cell(domain, t_max: np.ndarray) -> dict:
    """The tissue cell with the highest temperature of the run: its temperature, world position
    (mm), size (largest edge, mm) and distance (mm) to the nearest rim of a probe's active part,
    the electrode's edges, where the current density of a sharp-edged electrode is singular. A
    temperature found within two cells of such an edge depends on the grid (docs/physics.md 2)."""
    tissue = domain.tissue
    index = int(np.flatnonzero(tissue)[np.argmax(t_max[tissue])])
    point = domain.world_points()[:, index]
    distances = []
    for probe in domain.probes:
        if not hasattr(probe, "active_length"):
            continue
        for end in (probe.tip, probe.tip - probe.direction * probe.active_length):
            v = point - end
            axial = float(v @ probe.direction)
            radial = float(np.linalg.norm(v - axial * probe.direction))
            distances.append(math.hypot(axial, radial - probe.radius))
    return {"temperature_C": float(t_max[index]), "point_mm": [round(1e3 * float(x), 3) for x in point],
            "cell_size_mm": round(1e3 * float(np.max(domain.cell_widths()[:, index])), 4),
            "distance_to_electrode_edge_mm": round(1e3 * min(distances), 3) if distances else None}


def _summary(sim: _Simulation, stats: _Totals, fields: dict, series: dict, control: _Control,
             estimate: dict | None) -> Summary:
    """The run's summary (``runtime_s`` unset): grid, time stepping and its error estimate,
    balances, temperature range, lesion size under every reported criterion whose field exists,
    device, modality extras, parameters and provenance."""
    scenario, domain, tissue = sim.scenario, sim.domain, sim.domain.tissue
    by_criterion = {}
    for name in sim.report_criteria:
        c = parse_criterion(name)
        if c.field in fields:
            by_criterion[name] = LesionSummary(name, c.description,
                                               LesionSize.from_dict(lesion_size(domain, c.level(fields))))
    extras = dict(sim.model.final_summary(fields, series))
    isotherms = extras.pop("isotherms", None)
    if extras:
        raise ValueError(f"model {scenario.modality!r} adds unknown summary entries {sorted(extras)}")
    lesion = by_criterion[sim.criterion.name]
    return Summary(
        schema_version=SCHEMA_VERSION,
        scenario=ScenarioLabel(scenario.name, scenario.description),
        modality=scenario.modality,
        grid=grid_summary(domain, edge_warnings(scenario, sim.fine_spacing * 1e3, lesion, isotherms)
                          + tine_warnings(scenario, sim.fine_spacing * 1e3)
                          + probe_warnings(scenario, domain, sim.fine_spacing * 1e3)
                          + cell_death_warnings(scenario, domain, fields, by_criterion)
                          + ground_warnings(scenario, sim.model)),
        time=_time_summary(sim, control, estimate),
        runtime_s=None,
        cg_iterations=stats.cg_iterations,
        heat_balance_error=stats.heat_balance_error,
        energy_J=EnergyBalance(**stats.energy),
        boundary_max_deviation_C=sim.truncation.raw if sim.truncation is not None else 0.0,
        boundary_conducted_deviation_C=sim.truncation.conducted if sim.truncation is not None else None,
        max_temperature_C=float(np.max(sim.damage.t_max[tissue])),
        min_temperature_C=float(np.min(sim.damage.t_min[tissue])),
        lesion=lesion,
        lesion_by_criterion=by_criterion,
        device=_device(sim, series),
        isotherms=isotherms,
        parameters={"properties": sim.props.parameters, "scenario": to_jsonable(scenario)},
        provenance=provenance())


def _snapshot(sim: _Simulation) -> dict:
    """Temperature and copies of the fields the reported lesion criteria use (``sim.keep``: Omega,
    T extremes, ...), so a lesion can be drawn at any stored time point."""
    out = {"temperature_C": sim.heat.T.copy()}
    for source in (sim.damage.fields(), sim.model.extra_fields()):
        out.update({k: np.array(v, float) for k, v in source.items() if k in sim.keep})
    return out


def _set_vessel_walls(scenario, heat) -> None:
    for i, vessel in enumerate(scenario.vessels):
        surface = heat.surface("vessel", i)
        surface.bc = vessel.wall
        surface.value = vessel.blood_temperature
        surface.h = vessel.heat_transfer_coefficient
        heat.set_held_temperature(surface, vessel.blood_temperature)
    _set_anatomy_vessel_walls(scenario, heat)


def _set_anatomy_vessel_walls(scenario, heat) -> None:
    """The patient's vessels (after the scenario's own): convective walls at arterial temperature
    whose h follows each wall face's local vessel diameter and flow (Hausen's correlation,
    ablation.physics.vessel_wall)."""
    anatomy = patient_anatomy(scenario)
    if anatomy is None:
        return
    t = scenario.tissue
    first = len(scenario.vessels)
    for i, vessel in enumerate(heat.domain.vessels[first:], start=first):
        surface = heat.surface("vessel", i)
        if surface is None or surface.cell.size == 0:
            continue
        points = heat.domain.world_points()[:, surface.cell]
        radius, flow = vessel_wall_radius_flow(vessel, points)
        flow = np.where(np.isnan(flow), murray_flow(radius, anatomy.wall_shear_stress), flow)
        surface.bc = "convection"
        surface.value = t.arterial_temperature
        surface.h = wall_heat_transfer_coefficient(2.0 * radius, flow, t.blood_density, t.blood_specific_heat,
                                                   anatomy.heated_length)
        heat.set_held_temperature(surface, t.arterial_temperature)


def cell_death_frequency_factor(damage_section) -> float:
    """The Arrhenius A of a ``[damage]`` section: from its edge temperature when one is given."""
    d = damage_section
    if getattr(d, "edge_temperature", None) is not None:
        return frequency_factor_for_edge(d.edge_temperature, d.activation_energy, d.edge_exposure)
    return d.frequency_factor


#: A zone edge in cells more than this many times the fine spacing is reported. The grid grows by at
#: most ``growth`` (1.15 by default) per cell outside the fine region, so 2x means the edge lies about
#: five cells or more beyond it, where the second-order discretisation error of the temperature is 4x
#: or more that of the fine cells. Measured (tests/test_domain.py): a 6 mm thermal-probe zone whose
#: edge lay in 2.6 mm cells came out 19 % larger than with its edge in the 0.5 mm fine cells.
EDGE_CELL_FACTOR = 2.0


def edge_warnings(scenario, fine: float, lesion, isotherms) -> tuple[str, ...]:
    """Warnings (logged and listed) for the lethal zone and each reported isotherm whose edge lies in
    cells coarser than ``EDGE_CELL_FACTOR`` x the ``fine`` spacing (mm): it left the fine region."""
    zones = [(f"the lethal zone's ({lesion.criterion})", lesion.size.edge_cell_mm)]
    zones += [(f"the {key} degC isotherm's", entry["reached"].get("edge_cell_mm"))
              for key, entry in (isotherms or {}).items()]
    out = []
    for what, size in zones:
        if size is not None and size > EDGE_CELL_FACTOR * fine:
            message = (f"{scenario.name}: {what} edge lies in cells up to {size:.2g} mm, {size / fine:.2g}x the "
                       f"{fine:.2g} mm fine cells, so it is located only to that size; widen [grid] fine_margin "
                       f"(now {scenario.grid.fine_margin * 1e3:g} mm) until the edge lies in fine cells")
            logger.warning(message)
            out.append(message)
    return tuple(out)


def probe_warnings(scenario, domain, fine: float) -> tuple[str, ...]:
    """A warning (logged and listed) for the probes thinner than the fine cells (mm) of a 3-D grid,
    one per probe diameter (a nine-needle cluster gives one warning, not nine). Such a probe's wall
    acts at its true radius through the log-law wall (geometry/probe_wall.py), but the steep field
    next to it is not resolved. Axisymmetric grids fit the probe's radius."""
    if domain.kind != "3d":
        return ()
    thin = {}
    for i, probe in enumerate(scenario.probes):
        if probe.diameter * 1e3 < fine:
            thin.setdefault(probe.diameter * 1e3, []).append(f"probes[{i}]")
    out = []
    for diameter_mm, names in thin.items():
        which = f"{names[0]} ({diameter_mm:g} mm across) is" if len(names) == 1 else \
            f"{', '.join(names)} ({diameter_mm:g} mm across each) are"
        message = (f"{scenario.name}: {which} thinner than the {fine:.2g} mm fine cells of the 3-D grid: the "
                   f"wall acts at its true radius, but the field next to it is not resolved and the zone depends "
                   f"on the grid ({THIN_PROBE_SCATTER}); set grid.spacing to at most the probe's diameter")
        logger.warning(message)
        out.append(message)
    return tuple(out)


#: measured 2026-12-07 with the log-law wall and the Kirchhoff face mean against the same probes on
#: axisymmetric grids, axis at four places in its cells (benchmarks/verification/probe_wall.py's runs:
#: 17 G cryoprobe 5 min freeze +2.9 to +5.8 %; 1.5 mm heated probe at 95 degC, 6 min, +5.2 to +9.0 %;
#: +0.3 to +8 % on 2026-12-06 with the harmonic face mean)
THIN_PROBE_SCATTER = "measured for 1.47-1.5 mm probes in 2 mm cells: +3 % to +9 % in zone volume against the axisymmetric solve"


def tine_warnings(scenario, fine: float) -> tuple[str, ...]:
    """A warning (logged and listed) for multitine electrodes whose tines are thinner than the fine
    cells (mm): a tine is the set of cells its centre line crosses, so on such a grid its surface is
    larger and its current density lower than the wire's, and the roll-off comes later than it would."""
    out = []
    for i, probe in enumerate(scenario.probes if scenario.modality == "rfa" else ()):
        if probe.rfa.electrode == "multitine" and probe.rfa.tine_diameter * 1e3 < fine:
            message = (f"{scenario.name}: probes[{i}]'s {probe.rfa.tine_diameter * 1e3:g} mm tines are represented by "
                       f"the {fine:.2g} mm cells they cross, a thicker electrode: the current density at the tines, "
                       "the time to roll-off, the delivered energy and the zone depend on the grid (not resolved "
                       "unless grid.spacing is at most the tine diameter)")
            logger.warning(message)
            out.append(message)
    return tuple(out)


#: Share of the unbounded medium's impedance the grid may leave out before a run whose power does not
#: follow the tissue's impedance is warned (its zone then depends on the domain size).
GROUND_TRUNCATION_LIMIT = 0.02


def ground_warnings(scenario, model) -> tuple[str, ...]:
    """A warning (logged and listed) for a constant-power or temperature-controlled RF run whose
    ground on the outer faces truncates the electric field: at fixed power the grid then puts more of
    it next to the electrode, so the zone shrinks as the domain grows (30 W, 6 min: 5.03 mL on a 60
    mm domain, 3.58 mL on 160 mm). Impedance control hardly depends on it (the generator stops at
    the tissue's roll-off either way)."""
    if scenario.modality != "rfa" or scenario.rfa.protocol not in ("constant_power", "temperature_control"):
        return ()
    share = model.ground_truncation()
    if share is None or share <= GROUND_TRUNCATION_LIMIT:
        return ()
    message = (f"{scenario.name}: with the ground on the domain's faces (rfa.ground = 'outer_boundary') the grid "
               f"leaves out {100 * share:.0f} % of the tissue's impedance, so at {scenario.rfa.protocol.replace('_', ' ')} "
               "more power heats the tissue next to the electrode and the zone depends on domain.size; "
               "rfa.ground = 'far_field' continues the tissue to infinity (docs/physics.md 2)")
    logger.warning(message)
    return (message,)


#: Peak temperature below which a cell counted dead is not credible: thermal death there takes hours
#: (CEM43: 240 min at 43 degC, 16 h at 41 degC; Sapareto & Dewey 1984).
MILD_HEATING_C = 43.0


def cell_death_warnings(scenario, domain, fields: dict, criteria) -> tuple[str, ...]:
    """A warning (logged and listed) when the three-state zone holds tissue that never reached
    :data:`MILD_HEATING_C`: with O'Neill et al.'s constants the alive state is unstable above 34 degC
    (kf > kb), so over an hour mildly warm tissue dies in that model but not in tissue."""
    if "three_state" not in criteria or "dead_fraction" not in fields:
        return ()
    dead = parse_criterion("three_state").mask(fields) & domain.tissue & (fields["t_max_C"] < MILD_HEATING_C)
    volume_ml = float(np.sum(domain.geometry.volumes[dead])) * 1e6
    if volume_ml <= 0.0:
        return ()
    message = (f"{scenario.name}: the three-state zone holds {volume_ml:.3g} mL of tissue that never reached "
               f"{MILD_HEATING_C:g} degC, where thermal death takes hours (CEM43); with O'Neill et al.'s constants "
               "the alive state is unstable above 34 degC, so over a run this long (time.duration "
               f"{scenario.time.duration / 60:g} min) that model kills mildly warm tissue: use the arrhenius zone")
    logger.warning(message)
    return (message,)


def grid_summary(domain, warnings: tuple = ()) -> GridSummary:
    widths = [np.diff(e) for e in domain.edges]
    return GridSummary(domain.kind, int(domain.n_cells), tuple(int(n) for n in domain.shape),
                       float(min(w.min() for w in widths)) * 1e3, float(max(w.max() for w in widths)) * 1e3,
                       int(domain.held.sum()), tuple(warnings))


def to_jsonable(value):
    import dataclasses
    from collections.abc import Mapping
    if hasattr(value, "summary_record"):     # large objects (a patient's anatomy) describe themselves
        return to_jsonable(value.summary_record())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def provenance(seed=None) -> dict:
    from ablation.runtime import import_fipy
    fipy = import_fipy()
    import scipy
    from ablation.version import __version__
    commit = None
    try:
        root = Path(__file__).resolve().parents[2]   # the source checkout, when there is one
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5).stdout.strip()
        commit = commit if len(commit) == 40 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"package_version": __version__, "git_commit": commit, "python": platform.python_version(),
            "fipy": fipy.__version__, "numpy": np.__version__, "scipy": scipy.__version__, "seed": seed,
            "platform": platform.platform()}

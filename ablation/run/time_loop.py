"""The time loop: build the grid and model, step the bioheat equation, accumulate damage, and
collect a :class:`Result` (fields, snapshots, time series, summary). No files, no screen: the
caller passes a ``progress(done, total, label)`` callback if it wants one (simulated seconds)."""
from __future__ import annotations

import math
import platform
import subprocess
import time as wallclock
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ablation.physics.bioheat import BioheatSolver, perfusion_coefficient
from ablation.physics.damage import DamageAccumulator, lesion_size, parse_criterion
from ablation.modalities import cryo, rfa, thermal
from ablation.modalities.base import cell_properties
from ablation.run.result import Result
from ablation.run.summary import (SCHEMA_VERSION, EnergyBalance, GridSummary, LesionSize, LesionSummary,
                                  ScenarioLabel, Summary, TimeSummary)
from ablation.run.setup import scenario_domain

# The modality models, by the scenario's ``modality``.
MODELS = {"thermal": thermal.Model, "rfa": rfa.Model, "cryo": cryo.Model}

ENERGY_TERMS = ("stored", "source", "perfusion", "boundary", "walls")


def run(scenario, progress=None, spacing_scale: float = 1.0, step_scale: float = 1.0, *,
        domain=None, initial_state: dict | None = None) -> Result:
    """Simulate ``scenario``; ``spacing_scale``/``step_scale`` refine the grid/time step (< 1).

    ``domain`` reuses a prebuilt grid and ``initial_state`` (a ``Result.fields`` dict on that grid)
    continues from an earlier run: temperature and damage accumulators start from it (sequences of
    ablations, :func:`ablation.outcome.placement.run_sequence`). Model-specific state is not carried over.
    """
    started = wallclock.perf_counter()
    sim = _set_up(scenario, spacing_scale, step_scale, domain, initial_state)
    stats = _Totals()
    series: dict = {"time_s": [0.0]}
    snapshots = [(0.0, _snapshot(sim))]
    t = 0.0
    for step in range(sim.n_steps):
        report = _step(sim, t)
        t += sim.dt
        stats.add(sim, report)
        _append_row(series, t, _series_row(sim, t, report))
        if (step + 1) % sim.out_every == 0 or step + 1 == sim.n_steps:
            snapshots.append((t, _snapshot(sim)))
        if progress is not None:
            progress(t, sim.duration, "simulated s")
    fields = _final_fields(sim)
    summary = _summary(sim, stats, fields, series).with_runtime(wallclock.perf_counter() - started)
    return Result(scenario, sim.domain, fields, snapshots, series, summary)


@dataclass
class _Simulation:
    """Everything one run steps: grid, properties, modality model, heat and damage solvers, and
    the time stepping (``dt`` divides the duration into ``n_steps`` equal steps)."""
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
    n_steps: int
    out_every: int
    keep: set   # fields the snapshots store besides temperature

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
                         linear_solver=scenario.solver.heat)
    _set_vessel_walls(scenario, heat)
    d = scenario.damage
    damage = DamageAccumulator(domain.n_cells, t_cfg.initial_temperature, d.frequency_factor, d.activation_energy,
                               d.time_above, d.time_below)
    if initial_state is not None:
        heat.T = np.asarray(initial_state["temperature_C"], float).copy()
        for name, array in damage.fields().items():   # the accumulators' own arrays
            if name in initial_state:
                array[...] = initial_state[name]
    model.setup(heat)
    criterion = parse_criterion(d.criterion or model.default_criterion)
    duration, dt_nominal = scenario.time.duration, scenario.time.step * step_scale
    n_steps = max(1, math.ceil(duration / dt_nominal - 1e-9))
    dt = duration / n_steps
    out_every = max(1, round(scenario.time.output_interval / dt))
    keep = {parse_criterion(n).field for n in [criterion.name, *(d.report_criteria or model.report_criteria)]}
    return _Simulation(scenario, domain, props, model, heat, damage, criterion, base_perfusion, boundary_T,
                       duration, dt, n_steps, out_every, keep)


def _step(sim: _Simulation, t: float):
    """One time step from ``t``: the model's source and perfusion factor, damage shutdown of
    perfusion, the bioheat step and the damage update. Returns the solver's step report."""
    heat, damage, model = sim.heat, sim.damage, sim.model
    heat.source = np.zeros(sim.domain.n_cells)   # the model adds its heat source (W/m^3) here
    model.before_step(t, sim.dt, heat, damage)
    shutdown = _perfusion_shutdown(sim.scenario.damage.perfusion_shutdown, damage.omega)
    factor = model.perfusion_factor(heat.T)
    heat.perfusion = sim.base_perfusion * shutdown * factor
    heat.source = heat.source + sim.props["metabolic_heat"] * shutdown * factor
    t_old = heat.T.copy()
    report = heat.step(sim.dt)
    damage.update(t_old, heat.T, sim.dt)
    return report


@dataclass
class _Totals:
    """Sums over the steps: CG iterations, energy terms, the heat balance and the largest
    deviation of the tissue next to a fixed-temperature boundary."""
    cg_iterations: int = 0
    energy: dict = field(default_factory=lambda: dict.fromkeys(ENERGY_TERMS, 0.0))
    abs_exchanged: float = 0.0
    abs_residual: float = 0.0
    boundary_dev: float = 0.0

    def add(self, sim: _Simulation, report) -> None:
        self.cg_iterations += report.iterations
        for key in self.energy:
            self.energy[key] += report.energy[key]
        self.abs_exchanged += sum(abs(report.energy[k]) for k in ("source", "perfusion", "boundary", "walls"))
        self.abs_residual += abs(report.residual)
        if sim.boundary_T is not None:
            heat = sim.heat
            near = heat.boundary_cells[sim.domain.tissue[heat.boundary_cells]]
            self.boundary_dev = max(self.boundary_dev, float(np.max(np.abs(heat.T[near] - sim.boundary_T))))

    @property
    def heat_balance_error(self) -> float:
        return self.abs_residual / self.abs_exchanged if self.abs_exchanged > 0 else 0.0


def _series_row(sim: _Simulation, t: float, report) -> dict:
    """The time-series row after a step: tissue temperature range, lesion volume, CG iterations
    and the model's device values."""
    heat, tissue = sim.heat, sim.domain.tissue
    lesion = tissue & sim.criterion.mask(sim.damage.fields() | sim.model.extra_fields())
    row = {"max_temperature_C": float(np.max(heat.T[tissue])), "min_temperature_C": float(np.min(heat.T[tissue])),
           "lesion_volume_ml": float(np.sum(sim.domain.geometry.volumes[lesion])) * 1e6,
           "cg_iterations": report.iterations}
    row.update(sim.model.after_step(t, sim.dt, heat, sim.damage, report))
    return row


def _append_row(series: dict, t: float, row: dict) -> None:
    """Appends ``row`` at time ``t``. The t = 0 row repeats the first step's values (device values
    are known only after a step); a column that appears later is NaN before it."""
    if len(series["time_s"]) == 1:
        for key, value in row.items():
            series[key] = [value]
    for key, value in row.items():
        series.setdefault(key, [float("nan")] * (len(series["time_s"]) - 1)).append(value)
    series["time_s"].append(t)


def _final_fields(sim: _Simulation) -> dict:
    fields = {"temperature_C": sim.heat.T.copy(), **sim.damage.fields(), **sim.model.extra_fields()}
    fields["tissue"] = sim.domain.tissue.astype(float)
    fields["material"] = sim.props.material.astype(float)
    return fields


def _summary(sim: _Simulation, stats: _Totals, fields: dict, series: dict) -> Summary:
    """The run's summary (``runtime_s`` unset): grid, time stepping, balances, temperature range,
    lesion size under every reported criterion whose field exists, device, modality extras,
    parameters and provenance."""
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
    return Summary(
        schema_version=SCHEMA_VERSION,
        scenario=ScenarioLabel(scenario.name, scenario.description),
        modality=scenario.modality,
        grid=grid_summary(domain),
        time=TimeSummary(sim.duration, sim.dt, sim.n_steps),
        runtime_s=None,
        cg_iterations=stats.cg_iterations,
        heat_balance_error=stats.heat_balance_error,
        energy_J=EnergyBalance(**stats.energy),
        boundary_max_deviation_C=stats.boundary_dev,
        max_temperature_C=float(np.max(sim.damage.t_max[tissue])),
        min_temperature_C=float(np.min(sim.damage.t_min[tissue])),
        lesion=by_criterion[sim.criterion.name],
        lesion_by_criterion=by_criterion,
        device=sim.model.device_summary(series),
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


def _perfusion_shutdown(mode: str, omega: np.ndarray):
    """Perfusion multiplier from damage: 0 where Omega >= 1 (Chang & Nguyen 2004) or exp(-Omega)."""
    if mode == "arrhenius":
        return (omega < 1.0).astype(float)
    if mode == "smooth":
        return np.exp(-omega)
    return 1.0


def grid_summary(domain) -> GridSummary:
    widths = [np.diff(e) for e in domain.edges]
    return GridSummary(domain.kind, int(domain.n_cells), tuple(int(n) for n in domain.shape),
                       float(min(w.min() for w in widths)) * 1e3, float(max(w.max() for w in widths)) * 1e3,
                       int(domain.held.sum()))


def to_jsonable(value):
    import dataclasses
    from collections.abc import Mapping
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

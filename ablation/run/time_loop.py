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

from ablation.physics.bioheat import BioheatSolver
from ablation.physics.damage import DamageAccumulator, lesion_size, parse_criterion
from ablation.modalities import cryo, rfa, thermal
from ablation.modalities.base import cell_properties
from ablation.run.result import Result
from ablation.run.setup import scenario_domain

SCHEMA_VERSION = 1   # of summary.json

# The modality models, by the scenario's ``modality``.
MODELS = {"thermal": thermal.Model, "rfa": rfa.Model, "cryo": cryo.Model}


def run(scenario, progress=None, spacing_scale: float = 1.0, step_scale: float = 1.0, *,
        domain=None, initial_state: dict | None = None) -> Result:
    """Simulate ``scenario``; ``spacing_scale``/``step_scale`` refine the grid/time step (< 1).

    ``domain`` reuses a prebuilt grid and ``initial_state`` (a ``Result.fields`` dict on that grid)
    continues from an earlier run: temperature and damage accumulators start from it (sequences of
    ablations, :func:`ablation.placement.run_sequence`). Model-specific state is not carried over.
    """
    started = wallclock.perf_counter()
    domain = domain if domain is not None else scenario_domain(scenario, spacing_scale)
    props = cell_properties(scenario, domain)
    model = MODELS[scenario.modality](scenario, domain, props)
    t_cfg = scenario.tissue
    boundary_T = None
    if scenario.domain.boundary == "fixed_temperature":
        boundary_T = t_cfg.boundary_temperature if t_cfg.boundary_temperature is not None else t_cfg.initial_temperature
    blood = t_cfg.blood_density * t_cfg.blood_specific_heat
    base_perfusion = props["perfusion"] * blood
    heat = BioheatSolver(domain, model.storage(), model.conductivity, base_perfusion, t_cfg.arterial_temperature,
                         boundary_T, t_cfg.initial_temperature, conductivity_varies=model.conductivity_varies,
                         tolerance=scenario.solver.tolerance, max_iterations=scenario.solver.max_iterations)
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
    metabolic = props["metabolic_heat"]

    duration, dt_nominal = scenario.time.duration, scenario.time.step * step_scale
    n_steps = max(1, math.ceil(duration / dt_nominal - 1e-9))
    dt = duration / n_steps
    out_every = max(1, round(scenario.time.output_interval / dt))
    V = domain.geometry.volumes
    tissue = domain.tissue
    series: dict = {"time_s": [0.0]}
    keep = {parse_criterion(n).field for n in [criterion.name, *(d.report_criteria or model.report_criteria)]}
    snapshots = [(0.0, _snapshot(heat, damage, model, keep))]
    totals = {"stored": 0.0, "source": 0.0, "perfusion": 0.0, "boundary": 0.0, "walls": 0.0}
    abs_exchanged = abs_residual = 0.0
    boundary_dev = 0.0
    cg_iterations = 0
    t = 0.0
    first_row = True
    for step in range(n_steps):
        heat.source = np.zeros(domain.n_cells)   # the model adds its heat source (W/m^3) here
        model.before_step(t, dt, heat, damage)
        shutdown = _perfusion_shutdown(d.perfusion_shutdown, damage.omega)
        factor = model.perfusion_factor(heat.T)
        heat.perfusion = base_perfusion * shutdown * factor
        heat.source = heat.source + metabolic * shutdown * factor
        t_old = heat.T.copy()
        report = heat.step(dt)
        t += dt
        damage.update(t_old, heat.T, dt)
        cg_iterations += report.iterations
        for key in totals:
            totals[key] += report.energy[key]
        abs_exchanged += sum(abs(report.energy[k]) for k in ("source", "perfusion", "boundary", "walls"))
        abs_residual += abs(report.residual)
        if boundary_T is not None:
            near = heat.boundary_cells[tissue[heat.boundary_cells]]
            boundary_dev = max(boundary_dev, float(np.max(np.abs(heat.T[near] - boundary_T))))
        row = {"max_temperature_C": float(np.max(heat.T[tissue])), "min_temperature_C": float(np.min(heat.T[tissue])),
               "lesion_volume_ml": float(np.sum(V[tissue & criterion.mask(damage.fields() | model.extra_fields())])) * 1e6,
               "cg_iterations": report.iterations}
        row.update(model.after_step(t, dt, heat, damage, report))
        if first_row:   # the t = 0 row repeats the first step's device values
            for key, value in row.items():
                series[key] = [value]
            first_row = False
        for key, value in row.items():
            series.setdefault(key, [float("nan")] * (len(series["time_s"]) - 1)).append(value)
        series["time_s"].append(t)
        if (step + 1) % out_every == 0 or step + 1 == n_steps:
            snapshots.append((t, _snapshot(heat, damage, model, keep)))
        if progress is not None:
            progress(t, duration, "simulated s")

    fields = {"temperature_C": heat.T.copy(), **damage.fields(), **model.extra_fields()}
    fields["tissue"] = tissue.astype(float)
    fields["material"] = props.material.astype(float)
    summary = {
        "schema_version": SCHEMA_VERSION,
        "scenario": {"name": scenario.name, "description": scenario.description},
        "modality": scenario.modality,
        "grid": grid_summary(domain),
        "time": {"duration_s": duration, "step_s": dt, "steps": n_steps},
        "runtime_s": None,
        "cg_iterations": cg_iterations,
        "heat_balance_error": abs_residual / abs_exchanged if abs_exchanged > 0 else 0.0,
        "energy_J": totals,
        "boundary_max_deviation_C": boundary_dev,
        "max_temperature_C": float(np.max(damage.t_max[tissue])),
        "min_temperature_C": float(np.min(damage.t_min[tissue])),
    }
    names = [criterion.name] + [c for c in (d.report_criteria or model.report_criteria) if c != criterion.name]
    by_criterion = {}
    for name in names:
        c = parse_criterion(name)
        if c.field not in fields:
            continue
        by_criterion[name] = {"criterion": name, "description": c.description,
                              **lesion_size(domain, c.level(fields))}
    summary["lesion"] = by_criterion[criterion.name]
    summary["lesion_by_criterion"] = by_criterion
    summary["device"] = model.device_summary(series)
    summary.update(model.final_summary(fields, series))
    summary["parameters"] = {"properties": props.parameters, "scenario": to_jsonable(scenario)}
    summary["provenance"] = provenance()
    summary["runtime_s"] = wallclock.perf_counter() - started
    return Result(scenario, domain, fields, snapshots, series, summary)


def _snapshot(heat, damage, model, keep) -> dict:
    """Temperature and copies of the fields the reported lesion criteria use (``keep``: Omega,
    T extremes, ...), so a lesion can be drawn at any stored time point."""
    out = {"temperature_C": heat.T.copy()}
    for source in (damage.fields(), model.extra_fields()):
        out.update({k: np.array(v, float) for k, v in source.items() if k in keep})
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


def grid_summary(domain) -> dict:
    widths = [np.diff(e) for e in domain.edges]
    return {"kind": domain.kind, "cells": int(domain.n_cells), "shape": list(domain.shape),
            "min_spacing_mm": float(min(w.min() for w in widths)) * 1e3,
            "max_spacing_mm": float(max(w.max() for w in widths)) * 1e3,
            "held_cells": int(domain.held.sum())}


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
    from ablation import __version__
    commit = None
    try:
        root = Path(__file__).resolve().parent.parent
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5).stdout.strip()
        commit = commit if len(commit) == 40 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"package_version": __version__, "git_commit": commit, "python": platform.python_version(),
            "fipy": fipy.__version__, "numpy": np.__version__, "scipy": scipy.__version__, "seed": seed,
            "platform": platform.platform()}

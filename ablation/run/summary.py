"""The summary of a run (what summary.json holds) as typed, frozen records.

The time loop fills the fixed part (:class:`Summary`: grid, time stepping, energy balance, lesion
size per criterion, device, parameters, provenance). Analyses that run afterwards (coverage,
placement) add named entries (``tumors``, ``clinical_context``, ``placement``) with
``summary[name] = value``; only such added entries can be set, the fixed part cannot change.
:meth:`Summary.to_dict` gives the content of summary.json and :meth:`Summary.from_dict` reads it
back. A Summary also reads like the JSON mapping (``summary["lesion"]["volume_ml"]``) for code that
handles summary.json content and live results alike.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields as dataclass_fields, replace
from typing import Any

SCHEMA_VERSION = 1   # of summary.json


@dataclass(frozen=True)
class LesionSize:
    """Volume and extents of the connected lesion (:func:`ablation.physics.damage.lesion_size`)."""
    volume_ml: float
    long_axis_mm: float
    short_axis_mm: float
    short_axis_2_mm: float
    sphericity: float
    edge_cell_mm: float | None = None    # the largest cell on its edge (absent in older summaries)

    @classmethod
    def from_dict(cls, data: Mapping) -> "LesionSize":
        # a field with a default may be absent (a summary written before it existed)
        return cls(**{f.name: data[f.name] if f.default is MISSING else data.get(f.name, f.default)
                      for f in dataclass_fields(cls)})

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclass_fields(self)
                if f.name != "edge_cell_mm" or self.edge_cell_mm is not None}


@dataclass(frozen=True)
class LesionSummary:
    """The lesion under one criterion: its name, description and size, and (the run's own lesion)
    its uncertainty band (:mod:`ablation.outcome.zone_band`)."""
    criterion: str
    description: str
    size: LesionSize
    uncertainty: dict | None = None

    @property
    def volume_ml(self) -> float:
        return self.size.volume_ml

    @classmethod
    def from_dict(cls, data: Mapping) -> "LesionSummary":
        return cls(data["criterion"], data["description"], LesionSize.from_dict(data), data.get("uncertainty"))

    def to_dict(self) -> dict:
        out = {"criterion": self.criterion, "description": self.description, **self.size.to_dict()}
        if self.uncertainty is not None:
            out["uncertainty"] = self.uncertainty
        return out


@dataclass(frozen=True)
class GridSummary:
    kind: str
    cells: int
    shape: tuple[int, ...]
    min_spacing_mm: float
    max_spacing_mm: float
    held_cells: int
    warnings: tuple = ()     # zone edges outside the fine cells (ablation.run.time_loop.edge_warnings)

    @classmethod
    def from_dict(cls, data: Mapping) -> "GridSummary":
        return cls(data["kind"], data["cells"], tuple(data["shape"]), data["min_spacing_mm"],
                   data["max_spacing_mm"], data["held_cells"], tuple(data.get("warnings") or ()))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "cells": self.cells, "shape": list(self.shape),
                "min_spacing_mm": self.min_spacing_mm, "max_spacing_mm": self.max_spacing_mm,
                "held_cells": self.held_cells, "warnings": list(self.warnings)}


@dataclass(frozen=True)
class TimeSummary:
    """Time stepping: duration, the step used (fixed steps: after any halvings; adaptive: the
    first), accepted steps, and the step control's record: fixed steps: the step asked for, whether
    it was refined and how many halvings that took; adaptive: the local temperature error allowed per
    step and the number of runs it took (a run whose measured error exceeds the tolerance is repeated
    tighter), rejected trial steps; both: steps cut at an RF roll-off, the step range, the solver
    steps taken (an adaptive step is two half steps), and the lesion's estimated
    time-discretisation error (relative volume, mL, axes in mm), whether it came from the
    asymptotic range, with any warning about it."""
    duration_s: float
    step_s: float
    steps: int
    adaptive: bool = False
    tolerance: float | None = None
    requested_step_s: float | None = None
    refine: bool | None = None
    halvings: int | None = None
    local_tolerance_K: float | None = None
    attempts: int = 1
    rejected_steps: int = 0
    event_cuts: int = 0
    min_step_s: float | None = None
    max_step_s: float | None = None
    solver_steps: int | None = None
    lesion_volume_error_estimate: float | None = None
    lesion_volume_error_estimate_ml: float | None = None
    lesion_axes_error_estimate_mm: dict | None = None
    #: False when the lesion volume turned back between the runs at h, 2h and 4h (not in the
    #: asymptotic range: the estimate is then the whole swing, an upper bound rather than a rate)
    lesion_volume_error_asymptotic: bool | None = None
    warnings: tuple = ()

    @property
    def repeat_halvings(self) -> int | None:
        """``run(halvings=...)`` that integrates once at this run's kept step, for re-solves of a
        problem close to it; None after adaptive steps (a re-solve then adapts its own)."""
        return None if self.adaptive else self.halvings

    @classmethod
    def from_dict(cls, data: Mapping) -> "TimeSummary":
        known = {f.name for f in dataclass_fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "warnings" in values:
            warnings = values["warnings"] or ()
            if not isinstance(warnings, (list, tuple)) or not all(isinstance(w, str) for w in warnings):
                raise ValueError(f"time.warnings is {str(warnings)[:40]!r}; expected a list of strings")
            values["warnings"] = tuple(warnings)
        axes = values.get("lesion_axes_error_estimate_mm")
        if axes is not None and not (isinstance(axes, Mapping) and all(
                isinstance(k, str) and (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)))
                for k, v in axes.items())):
            raise ValueError(f"time.lesion_axes_error_estimate_mm is {str(axes)[:40]!r}; expected a table of "
                             "axis name -> mm")
        return cls(**values)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        out["warnings"] = list(self.warnings)
        if self.lesion_axes_error_estimate_mm is not None:
            out["lesion_axes_error_estimate_mm"] = dict(self.lesion_axes_error_estimate_mm)
        return out


@dataclass(frozen=True)
class EnergyBalance:
    """Energy (J) over the run: stored in the tissue and exchanged with each source and sink."""
    stored: float
    source: float
    perfusion: float
    boundary: float
    walls: float

    @classmethod
    def from_dict(cls, data: Mapping) -> "EnergyBalance":
        return cls(**{f.name: data[f.name] for f in dataclass_fields(cls)})

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclass_fields(self)}


@dataclass(frozen=True)
class ScenarioLabel:
    name: str
    description: str

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description}


# The fixed entries in summary.json order; ``isotherms`` (cryo) sits between device and parameters.
_CORE = ("schema_version", "scenario", "modality", "grid", "time", "runtime_s", "cg_iterations",
         "heat_balance_error", "energy_J", "boundary_max_deviation_C", "boundary_conducted_deviation_C",
         "max_temperature_C",
         "min_temperature_C", "lesion", "lesion_by_criterion", "device", "isotherms", "parameters",
         "provenance")


@dataclass(frozen=True)
class Summary(Mapping):
    """summary.json of a run. ``analyses`` holds the entries added after the time loop, in the
    order they were added (``tumors``, ``clinical_context``, ``placement``, ...)."""
    schema_version: int
    scenario: ScenarioLabel
    modality: str
    grid: GridSummary
    time: TimeSummary
    runtime_s: float | None
    cg_iterations: int
    heat_balance_error: float
    energy_J: EnergyBalance
    boundary_max_deviation_C: float
    max_temperature_C: float
    min_temperature_C: float
    lesion: LesionSummary
    lesion_by_criterion: dict[str, LesionSummary]
    device: dict[str, Any]
    parameters: dict[str, Any]
    provenance: dict[str, Any]
    isotherms: dict[str, Any] | None = None
    #: the part of the boundary deviation that heat conducted to the boundary explains (K; None
    #: without a fixed-temperature boundary or in summaries written before it was recorded):
    #: :class:`ablation.run.boundary.BoundaryTruncation`
    boundary_conducted_deviation_C: float | None = None
    analyses: dict[str, Any] = field(default_factory=dict)

    # --- entries the analyses add
    @property
    def tumors(self) -> list[dict] | None:
        return self.analyses.get("tumors")

    @property
    def clinical_context(self) -> list | None:
        return self.analyses.get("clinical_context")

    @property
    def placement(self) -> dict | None:
        return self.analyses.get("placement")

    def __setitem__(self, key: str, value) -> None:
        """Adds (or replaces) an analysis entry; the time loop's entries are fixed."""
        if key in _CORE:
            raise KeyError(f"summary entry {key!r} is set by the time loop and cannot be replaced")
        self.analyses[key] = value

    def with_runtime(self, runtime_s: float) -> "Summary":
        return replace(self, runtime_s=runtime_s)

    def with_lesion_uncertainty(self, uncertainty: dict) -> "Summary":
        """The summary with the lesion's uncertainty band (added after the solve, from its fields)."""
        lesion = replace(self.lesion, uncertainty=uncertainty)
        by_criterion = {**self.lesion_by_criterion, lesion.criterion: lesion}
        return replace(self, lesion=lesion, lesion_by_criterion=by_criterion)

    # --- summary.json
    def _entry(self, key: str):
        if key not in _CORE:
            return self.analyses[key]
        value = getattr(self, key)
        if key == "lesion_by_criterion":
            return {name: lesion.to_dict() for name, lesion in value.items()}
        return value.to_dict() if hasattr(value, "to_dict") else value

    def _keys(self) -> list[str]:
        optional = ("isotherms", "boundary_conducted_deviation_C")
        return [k for k in _CORE if not (k in optional and getattr(self, k) is None)] + list(self.analyses)

    def to_dict(self) -> dict:
        """The content of summary.json (analysis entries are the stored objects, not copies)."""
        return {key: self._entry(key) for key in self._keys()}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Summary":
        """A summary.json mapping back as a Summary; entries it does not know go to ``analyses``."""
        missing = [k for k in _CORE if k not in ("isotherms", "boundary_conducted_deviation_C") and k not in data]
        if missing:
            raise ValueError(f"summary lacks {', '.join(missing)}; is it a summary.json of this package?")
        return cls(
            schema_version=data["schema_version"],
            scenario=ScenarioLabel(data["scenario"]["name"], data["scenario"]["description"]),
            modality=data["modality"], grid=GridSummary.from_dict(data["grid"]),
            time=TimeSummary.from_dict(data["time"]), runtime_s=data["runtime_s"],
            cg_iterations=data["cg_iterations"], heat_balance_error=data["heat_balance_error"],
            energy_J=EnergyBalance.from_dict(data["energy_J"]),
            boundary_max_deviation_C=data["boundary_max_deviation_C"],
            boundary_conducted_deviation_C=data.get("boundary_conducted_deviation_C"),
            max_temperature_C=data["max_temperature_C"], min_temperature_C=data["min_temperature_C"],
            lesion=LesionSummary.from_dict(data["lesion"]),
            lesion_by_criterion={k: LesionSummary.from_dict(v) for k, v in data["lesion_by_criterion"].items()},
            device=dict(data["device"]), parameters=dict(data["parameters"]),
            provenance=dict(data["provenance"]), isotherms=data.get("isotherms"),
            analyses={k: v for k, v in data.items() if k not in _CORE})

    # --- read access like the JSON mapping
    def __getitem__(self, key: str):
        if key not in self._keys():
            raise KeyError(key)
        return self._entry(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    __hash__ = None   # holds dicts

"""What every modality shares: per-cell tissue properties and the base class of a modality model.

A modality (``thermal``, ``rfa``, ``cryo``) is a module with ``SECTION_SPEC`` / ``PROBE_SPEC``
(its scenario tables) and a ``Model`` subclass of :class:`Model`. The time loop in
:mod:`ablation.run.time_loop` calls the hooks in this order: ``storage``/``conductivity`` once, then per
step ``before_step`` (set sources, wall conditions, drive), the heat solve, ``after_step`` (time
series row), and at the end ``device_summary``.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from ablation.physics.bioheat import LinearStorage
from ablation.physics.tissue import (PRESETS, PROPERTY_NAMES, PROPERTY_UNITS, preset_values, thermal_conductivity,
                                     thermal_conductivity_integral)


@dataclass
class CellProperties:
    """Tissue properties per cell (SI), the property set of each material, and their sources.

    Material 0 is the background tissue; then one per material tumour (passive tumours use
    the background's properties, docs/physics.md 5); last, with [anatomy], the surroundings beyond the
    liver surface.
    """
    cell: dict            # name -> (n_cells,) array
    materials: list       # list of {name: value}
    material: np.ndarray  # material index per cell
    parameters: dict      # name -> {value, unit, source} for the report

    def __getitem__(self, name):
        return self.cell[name]


def _resolve(overrides, preset_name, label) -> tuple[dict, dict]:
    values = preset_values(preset_name)
    report = {}
    for name in PROPERTY_NAMES:
        source = PRESETS[preset_name][name][1]
        if overrides.get(name) is not None:
            values[name] = overrides[name]
            source = "scenario override"
        report[name] = {"value": values[name], "unit": PROPERTY_UNITS[name],
                        "source": f"{preset_name} preset: {source}" if source != "scenario override" else source}
    return values, {label: report}


def cell_properties(scenario, domain) -> CellProperties:
    background, params = _resolve(scenario.tissue, scenario.tissue.preset, "tissue")
    materials = [background]
    material = np.zeros(domain.n_cells, int)
    for i, (tumor, mask) in enumerate(zip(scenario.tumors, domain.tumor_masks)):
        if not tumor.material:
            continue
        preset = tumor.properties.preset or "tumor"
        values, report = _resolve(tumor.properties, preset, f"tumors[{i}]")
        params.update(report)
        materials.append(values)
        material[mask] = len(materials) - 1
    outside = getattr(domain, "outside_organ", None)
    if outside is not None and outside.any():
        # beyond the liver surface: the surroundings' preset (a material boundary at the capsule)
        preset = scenario.anatomy.surroundings
        values, report = _resolve({}, preset, "anatomy.surroundings")
        params.update(report)
        materials.append(values)
        material[outside & (material == 0)] = len(materials) - 1
    cell = {name: np.array([m[name] for m in materials])[material] for name in PROPERTY_NAMES}
    t = scenario.tissue
    params["blood"] = {
        "blood_density": {"value": t.blood_density, "unit": "kg/m^3", "source": "IT'IS blood"},
        "blood_specific_heat": {"value": t.blood_specific_heat, "unit": "J/(kg K)", "source": "IT'IS blood"},
        "arterial_temperature": {"value": t.arterial_temperature, "unit": "degC", "source": "scenario/default"},
    }
    return CellProperties(cell, materials, material, params)


class Model:
    """Base modality model: linear storage rho c, k(T) with its slope, no source, walls as set."""
    default_criterion = "arrhenius"
    report_criteria = ("arrhenius", "arrhenius_99", "max_temperature:50", "max_temperature:60")

    def __init__(self, scenario, domain, properties: CellProperties):
        self.scenario, self.domain, self.properties = scenario, domain, properties

    def storage(self):
        return LinearStorage(self.properties["density"] * self.properties["specific_heat"])

    def conductivity(self, temperature):
        return thermal_conductivity(self.properties["conductivity"], self.properties["conductivity_slope"],
                                    temperature)

    def conductivity_integral(self, temperature, cells=slice(None)):
        """The Kirchhoff potential of ``cells`` at ``temperature`` (an array of their shape), W/m:
        its difference over a temperature difference is the mean k between them."""
        return thermal_conductivity_integral(self.properties["conductivity"][cells],
                                             self.properties["conductivity_slope"][cells], temperature)

    @property
    def conductivity_varies(self) -> bool:
        return bool(np.any(self.properties["conductivity_slope"] != 0))

    def perfusion_factor(self, temperature) -> np.ndarray | float:
        """Multiplies perfusion and metabolism (frozen tissue does not perfuse)."""
        return 1.0

    def setup(self, heat) -> None:
        pass

    def before_step(self, t, dt, heat, damage) -> None:
        pass

    def after_step(self, t, dt, heat, damage, report) -> dict:
        return {}

    def extra_fields(self) -> dict:
        return {}

    # ---------------------------------------------------------- step control (ablation.run.time_loop)
    #: attributes that change while stepping; :meth:`stepping_state` copies them so that a rejected
    #: trial step can be undone
    stepping_attributes: tuple = ()

    def stepping_state(self) -> dict:
        return {name: copy.deepcopy(getattr(self, name)) for name in self.stepping_attributes}

    def restore_stepping_state(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, copy.deepcopy(value))

    def next_event(self, t: float) -> float:
        """The next time after ``t`` at which a driving condition changes abruptly (a protocol phase
        boundary, the end of a ramp, a schedule breakpoint); adaptive steps end there. inf: none."""
        return math.inf

    def step_limit(self, t: float) -> float:
        """The longest time step (s) the model's own dynamics allow from ``t`` (RF: the generator's
        control interval while it delivers power); inf: no limit."""
        return math.inf

    def event_margin(self, t: float, heat) -> float:
        """How far the state in ``heat`` at ``t`` is past an event the model detects by itself (RF:
        impedance minus the roll-off limit, ohm): > 0 means the event would fire now; -inf: none
        can. The time loop locates the crossing of 0 (``event_resolution``)."""
        return -math.inf

    def event_pending(self, t: float, heat) -> bool:
        """Whether the state in ``heat`` at ``t`` would trigger such an event."""
        return self.event_margin(t, heat) > 0.0

    @property
    def event_resolution(self) -> float:
        """How finely (s) a detected event is located in time."""
        return math.inf

    def initial_row(self, heat, damage) -> dict:
        """The t = 0 time-series row of the device values (the initial state, before any step)."""
        return {}

    def device_summary(self, timeseries: dict) -> dict:
        return {}

    def final_summary(self, fields: dict, timeseries: dict) -> dict:
        """Top-level summary.json entries the modality adds (cryo: ``isotherms``)."""
        return {}


def schedule_breakpoint(schedule, t: float) -> float:
    """The first breakpoint of a schedule after ``t`` (inf: none)."""
    later = [float(x) for x in schedule.times if float(x) > t + 1e-9]
    return min(later) if later else math.inf


def schedule_value(schedule, t: float) -> float:
    """Piecewise-linear value of a loaded :class:`ablation.input.schema.Schedule`, held after its end."""
    return float(np.interp(t, schedule.times, schedule.values))

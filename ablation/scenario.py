"""Scenario files: the TOML schema, loading with units converted to SI, and clear errors.

A scenario describes one ablation: tissue, tumours, vessels, probes, the device and its protocol
(in the modality's own section), the domain and grid, time stepping and outputs. Every field's
description carries its unit; ``ablation schema`` prints the JSON Schema built from the same
definitions. Coordinates are lists of numbers in mm in a right-handed frame; a probe's direction
points from its handle to its tip.

Errors never raise tracebacks at the user: :func:`load_scenario` raises :class:`ScenarioError`,
which lists every problem as ``field.path: value ... expected ...``.
"""
from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path

import numpy as np

from .schema import (Boolean, Choice, ListOf, Number, Quantity, Record, String, Table, Vector,
                     MISSING)
from .tissue import BLOOD, PRESETS, PROPERTY_DESCRIPTIONS, PROPERTY_DIMENSIONS, PROPERTY_NAMES

SCHEMA_VERSION = 1


class ScenarioError(Exception):
    """A scenario that cannot be run; ``errors`` is a list of (field path, message)."""

    def __init__(self, errors, source: str = ""):
        self.errors = list(errors)
        self.source = source
        super().__init__(self.format())

    def format(self) -> str:
        head = f"{self.source}: " if self.source else ""
        lines = [f"{head}{len(self.errors)} problem(s) in the scenario:"]
        lines += [f"  {path}: {message}" for path, message in self.errors]
        return "\n".join(lines)


def _property_overrides(description: str) -> Table:
    fields = {"preset": Choice(f"property preset for {description}", None, options=tuple(PRESETS))}
    for name in PROPERTY_NAMES:
        fields[name] = Quantity(f"{PROPERTY_DESCRIPTIONS[name]} (default: from the preset)", None,
                                dimension=PROPERTY_DIMENSIONS[name], nullable=True,
                                minimum=None if "temperature" in name else 0.0)
    return Table(f"property overrides for {description}", {}, fields=fields)


def _tissue_spec() -> Table:
    table = _property_overrides("the background tissue")
    fields = dict(table.fields)
    fields["preset"] = Choice("property preset (liver, tumor, agar)", "liver", options=tuple(PRESETS))
    fields["initial_temperature"] = Quantity("tissue temperature at t = 0", "37 degC", dimension="temperature")
    fields["boundary_temperature"] = Quantity(
        "temperature held on the outer face of the domain (default: the initial temperature)", None,
        dimension="temperature", nullable=True)
    fields["arterial_temperature"] = Quantity("arterial blood temperature T_a", "37 degC", dimension="temperature")
    fields["blood_density"] = Quantity(f"blood density rho_b ({BLOOD['blood_density'][1]})",
                                       "1050 kg/m^3", dimension="density", minimum=0.0, exclusive_minimum=True)
    fields["blood_specific_heat"] = Quantity(f"blood specific heat c_b ({BLOOD['blood_specific_heat'][1]})",
                                             "3617 J/(kg K)", dimension="specific_heat", minimum=0.0,
                                             exclusive_minimum=True)
    return Table("background tissue (liver by default) with any property overridden", {}, fields=fields)


POSITIVE_LENGTH = dict(dimension="length", minimum=0.0, exclusive_minimum=True)

TUMOR = Table("a tumour: sphere (diameter) or ellipsoid (diameters along its own axes)", fields={
    "name": String("label used in reports", None, nullable=True),
    "center": Vector("centre [x, y, z]"),
    "shape": Choice("sphere or ellipsoid", "sphere", options=("sphere", "ellipsoid")),
    "diameter": Quantity("sphere diameter", None, nullable=True, **POSITIVE_LENGTH),
    "diameters": ListOf("ellipsoid diameters along its local x, y, z axes, e.g. ['30 mm', '20 mm', '20 mm']",
                        None, item=Quantity(**POSITIVE_LENGTH), min_items=3),
    "axis": Vector("direction of the ellipsoid's local z axis (its third diameter)", [0, 0, 1], unit="1",
                   nonzero=True),
    "material": Boolean("true: a material region with its own properties (the RF 'oven effect'); "
                        "false: a passive target with the surrounding tissue's properties", False),
    "properties": _property_overrides("a material tumour (preset 'tumor' by default)"),
})

VESSEL = Table("a straight vessel segment acting as a heat sink", fields={
    "name": String("label", None, nullable=True),
    "start": Vector("one end of the centre line [x, y, z]"),
    "end": Vector("other end of the centre line [x, y, z]"),
    "radius": Quantity("vessel radius", **POSITIVE_LENGTH),
    "blood_temperature": Quantity("blood temperature in the vessel", "37 degC", dimension="temperature"),
    "wall": Choice("'temperature': wall held at blood temperature; 'convection': wall heat-transfer "
                   "coefficient to the blood", "convection", options=("temperature", "convection")),
    "heat_transfer_coefficient": Quantity("wall heat-transfer coefficient (Go-Smart value for vessel walls)",
                                          "230 W/(m^2 K)", dimension="heat_transfer_coefficient",
                                          minimum=0.0, exclusive_minimum=True),
})

DOMAIN = Table("the computational domain", {}, fields={
    "center": Vector("centre of the domain [x, y, z] (default: the first probe's tip)", None),
    "size": Quantity("edge length of the cubic domain (axisymmetric: radius size/2, height size)",
                     "80 mm", **POSITIVE_LENGTH),
    "boundary": Choice("outer boundary: 'fixed_temperature' (held at tissue.boundary_temperature) or "
                       "'adiabatic'", "fixed_temperature", options=("fixed_temperature", "adiabatic")),
})

GRID = Table("the finite-volume grid: fine near probes and tumours, growing towards the boundary", {}, fields={
    "kind": Choice("auto: axisymmetric when the problem is symmetric about a single straight probe, "
                   "else 3d", "auto", options=("auto", "axisymmetric", "3d")),
    "spacing": Quantity("cell size in the fine region", "0.5 mm", **POSITIVE_LENGTH),
    "max_spacing": Quantity("largest cell size, far from probes and tumours", "2 mm", **POSITIVE_LENGTH),
    "growth": Number("largest ratio between neighbouring cell sizes", 1.15, minimum=1.0, maximum=2.0),
    "fine_margin": Quantity("the fine region extends this far around probes' active parts and tumours",
                            "10 mm", dimension="length", minimum=0.0),
})

TIME = Table("time stepping (backward Euler)", fields={
    "duration": Quantity("simulated time", dimension="time", minimum=0.0, exclusive_minimum=True),
    "step": Quantity("time step", "1 s", dimension="time", minimum=0.0, exclusive_minimum=True),
    "output_interval": Quantity("interval between stored field snapshots", "1 min", dimension="time",
                                minimum=0.0, exclusive_minimum=True),
})

CRITERIA_HELP = ("lesion criteria: 'arrhenius' (Omega >= 1), 'arrhenius_99' (Omega >= 4.6), 'cem43' "
                 "(>= 240 min), 'max_temperature:50' (T_max >= 50 degC), 'min_temperature:-40' "
                 "(T_min <= -40 degC), 'three_state' (D > 0.8, RFA)")

DAMAGE = Table("thermal damage and lethal-zone definition", {}, fields={
    "criterion": String("the lesion criterion reported as 'lesion' (default per modality: arrhenius for "
                        "heat, min_temperature:-40 for cryo); " + CRITERIA_HELP, None, nullable=True),
    "report_criteria": ListOf("further criteria reported under lesion_by_criterion", None, item=String()),
    "perfusion_shutdown": Choice("'arrhenius': perfusion 0 where Omega >= 1 (Chang & Nguyen 2004); "
                                 "'smooth': w_b0 exp(-Omega); 'none'", "arrhenius",
                                 options=("arrhenius", "smooth", "none")),
    "frequency_factor": Number("Arrhenius frequency factor A [1/s] (liver, COMSOL 'Liver (human)')", 7.39e39,
                               minimum=0.0, exclusive_minimum=True),
    "activation_energy": Quantity("Arrhenius activation energy Ea (liver, COMSOL 'Liver (human)')",
                                  "2.577e5 J/mol", dimension="activation_energy", minimum=0.0,
                                  exclusive_minimum=True),
    "time_above": ListOf("thresholds for time spent above (cumulative, per cell)",
                         ["50 degC", "60 degC"], item=Quantity(dimension="temperature")),
    "time_below": ListOf("thresholds for time spent below (cumulative, per cell)",
                         ["0 degC", "-20 degC", "-40 degC"], item=Quantity(dimension="temperature")),
})

SOLVER = Table("linear solver settings", {}, fields={
    "tolerance": Number("relative residual tolerance of the conjugate-gradient solves (FiPy's 1e-5 "
                        "silently skips updates: keep it tight)", 1e-10, minimum=0.0, exclusive_minimum=True,
                        maximum=1e-4),
    "max_iterations": Number("iteration limit per solve", 2000, minimum=1, integer=True),
})

OUTPUTS = Table("what a run writes", {}, fields={
    "fields": Boolean("write final fields (.vti/.vtu) and snapshots", True),
    "scene": Boolean("render scene.png (needs PyVista)", True),
})


def probe_spec() -> Table:
    from .modalities import MODALITIES
    fields = {
        "name": String("label", None, nullable=True),
        "tip": Vector("tip position [x, y, z]"),
        "direction": Vector("direction from the handle to the tip", [0, 0, 1], unit="1", nonzero=True),
        "diameter": Quantity("needle outer diameter (17 G = 1.47 mm)", "1.5 mm", **POSITIVE_LENGTH),
        "active_length": Quantity("length of the active (exposed, heating or freezing) part ending at the tip",
                                  "20 mm", **POSITIVE_LENGTH),
    }
    for name, module in MODALITIES.items():
        if getattr(module, "PROBE_SPEC", None) is not None:
            # absent unless given: _fill_modality_sections loads the active modality's defaults
            fields[name] = dataclasses.replace(module.PROBE_SPEC, default=None)
    return Table("a straight probe; its insulated shaft runs from the active part to the domain boundary",
                 fields=fields)


def scenario_spec() -> Table:
    from .modalities import MODALITIES
    fields = {
        "name": String("scenario name"),
        "description": String("free text", ""),
        "modality": Choice("thermal (a generic probe with a wall schedule), rfa or cryo", "thermal",
                           options=tuple(MODALITIES)),
        "tissue": _tissue_spec(),
        "tumors": ListOf("tumours", [], item=TUMOR),
        "vessels": ListOf("vessels", [], item=VESSEL),
        "probes": ListOf("probes", [], item=probe_spec()),
        "domain": DOMAIN,
        "grid": GRID,
        "time": TIME,
        "damage": DAMAGE,
        "solver": SOLVER,
        "outputs": OUTPUTS,
    }
    for name, module in MODALITIES.items():
        if getattr(module, "SECTION_SPEC", None) is not None:
            fields[name] = dataclasses.replace(module.SECTION_SPEC, default=None)
    from .extensions import SECTIONS
    fields.update(SECTIONS)
    return Table("an ablation scenario", fields=fields)


def json_schema() -> dict:
    schema = scenario_spec().json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ablation scenario"
    return schema


# --------------------------------------------------------------------------------------------------
def load_scenario(path) -> Record:
    """Read, validate and convert a scenario file; raises :class:`ScenarioError`."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([("(file)", f"cannot read {path}: {exc.strerror}")], str(path)) from None
    if not raw_bytes.strip():
        raise ScenarioError([("(file)", "the file is empty; expected a TOML scenario with at least "
                                        "name, [time] duration and, for rfa/cryo, [[probes]]")], str(path))
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError([("(file)", f"not a valid TOML file: {exc}")], str(path)) from None
    return scenario_from_dict(raw, source=str(path))


def scenario_from_dict(raw: dict, source: str = "") -> Record:
    errors: list = []
    spec = scenario_spec()
    modality_name = raw.get("modality", "thermal") if isinstance(raw, dict) else "thermal"
    scenario = spec.load(raw, "", errors)
    if errors:
        raise ScenarioError(errors, source)
    scenario = _fill_modality_sections(scenario, modality_name, errors)
    if not errors:
        _check_geometry(scenario, errors)
    if not errors:
        from .modalities import MODALITIES
        module = MODALITIES[scenario.modality]
        if hasattr(module, "check_scenario"):
            module.check_scenario(scenario, errors)
        from .extensions import CHECKS
        for check in CHECKS:
            check(scenario, errors)
    if errors:
        raise ScenarioError(errors, source)
    return scenario


def _fill_modality_sections(scenario: Record, modality: str, errors: list) -> Record:
    """The active modality's sections take their defaults when absent; others must be absent."""
    from .modalities import MODALITIES
    module = MODALITIES[modality]
    changes = {}
    for name, other in MODALITIES.items():
        section = getattr(other, "SECTION_SPEC", None)
        if section is None:
            continue
        if name == modality and scenario[name] is None:
            changes[name] = section.load({}, name, errors)
        elif name != modality and scenario[name] is not None:
            errors.append((name, f"section given but modality is {modality!r}; remove it or set modality = {name!r}"))
    probes = []
    for i, probe in enumerate(scenario.probes):
        for name, other in MODALITIES.items():
            if getattr(other, "PROBE_SPEC", None) is None:
                continue
            if name == modality and probe[name] is None:
                probe = probe.replaced(**{name: other.PROBE_SPEC.load({}, f"probes[{i}].{name}", errors)})
            elif name != modality and probe[name] is not None:
                errors.append((f"probes[{i}].{name}", f"given but modality is {modality!r}"))
        probes.append(probe)
    changes["probes"] = tuple(probes)
    del module
    return scenario.replaced(**changes)


def domain_center(scenario: Record) -> np.ndarray:
    if scenario.domain.center is not None:
        return np.asarray(scenario.domain.center)
    if scenario.probes:
        return np.asarray(scenario.probes[0].tip)
    if scenario.tumors:
        return np.asarray(scenario.tumors[0].center)
    return np.zeros(3)


def tumor_radii(tumor: Record) -> np.ndarray:
    if tumor.shape == "sphere":
        return np.full(3, tumor.diameter / 2.0)
    return np.asarray(tumor.diameters) / 2.0


def _check_geometry(s: Record, errors: list) -> None:
    half = s.domain.size / 2.0
    center = domain_center(s)
    margin = 2.0 * s.grid.spacing

    def inside(point, extent) -> bool:
        return bool(np.all(np.abs(np.asarray(point) - center) + extent <= half - margin))

    for i, t in enumerate(s.tumors):
        if t.shape == "sphere" and t.diameter is None:
            errors.append((f"tumors[{i}].diameter", "missing; a sphere needs a diameter such as '30 mm'"))
            continue
        if t.shape == "ellipsoid" and t.diameters is None:
            errors.append((f"tumors[{i}].diameters", "missing; an ellipsoid needs three diameters"))
            continue
        if not inside(t.center, float(np.max(tumor_radii(t)))):
            errors.append((f"tumors[{i}].center", f"{_mm(t.center)} with radius "
                           f"{np.max(tumor_radii(t)) * 1e3:g} mm reaches outside the domain (centre "
                           f"{_mm(center)}, size {s.domain.size * 1e3:g} mm); expected it inside, "
                           "clear of the boundary"))
    for i, p in enumerate(s.probes):
        if not inside(p.tip, p.diameter / 2.0):
            errors.append((f"probes[{i}].tip", f"{_mm(p.tip)} lies outside the domain (centre {_mm(center)}, "
                           f"size {s.domain.size * 1e3:g} mm); expected a point inside it"))
        if p.diameter > s.domain.size / 4:
            errors.append((f"probes[{i}].diameter", f"{p.diameter * 1e3:g} mm is too large for the domain"))
    _check_probe_overlaps(s, errors)
    for i, v in enumerate(s.vessels):
        if np.allclose(v.start, v.end):
            errors.append((f"vessels[{i}].end", "equals start; expected a segment of non-zero length"))
    g = s.grid
    if g.spacing > g.max_spacing:
        errors.append(("grid.spacing", f"{g.spacing * 1e3:g} mm is larger than grid.max_spacing "
                                       f"({g.max_spacing * 1e3:g} mm); expected spacing <= max_spacing"))
    if g.max_spacing > s.domain.size / 8:
        errors.append(("grid.max_spacing", f"{g.max_spacing * 1e3:g} mm leaves fewer than 8 cells across "
                                           f"the {s.domain.size * 1e3:g} mm domain"))
    if s.time.step > s.time.duration:
        errors.append(("time.step", f"{s.time.step:g} s is longer than time.duration ({s.time.duration:g} s)"))
    if g.kind == "axisymmetric":
        reason = axisymmetry_breaker(s)
        if reason:
            errors.append(("grid.kind", f"'axisymmetric' contradicts the geometry: {reason}; use 'auto' or '3d'"))
    if s.modality != "thermal" and not s.probes:
        errors.append(("probes", f"modality {s.modality!r} needs at least one probe"))
    for i, name in enumerate(list(s.damage.report_criteria or ()) + [s.damage.criterion]):
        if name is not None:
            from .damage import parse_criterion
            try:
                parse_criterion(name)
            except ValueError as exc:
                where = "damage.criterion" if i == len(s.damage.report_criteria or ()) else f"damage.report_criteria[{i}]"
                errors.append((where, str(exc)))


def _check_probe_overlaps(s: Record, errors: list) -> None:
    from .geometry import Segment
    for i, a in enumerate(s.probes):
        for j in range(i):
            b = s.probes[j]
            seg = Segment(np.asarray(b.tip) - np.asarray(b.direction) / np.linalg.norm(b.direction) * b.active_length,
                          np.asarray(b.tip), 0.0)
            pts = Segment(np.asarray(a.tip) - np.asarray(a.direction) / np.linalg.norm(a.direction) * a.active_length,
                          np.asarray(a.tip), 0.0).sample_points(0.2e-3)
            if float(np.min(seg.distance(pts))) < (a.diameter + b.diameter) / 2.0:
                errors.append((f"probes[{i}].tip", f"probe {i} overlaps probe {j}; expected their active parts "
                                                   "at least one diameter apart"))


def axisymmetry_breaker(s: Record) -> str:
    """Why the scenario is not symmetric about a single probe axis ('' when it is)."""
    if len(s.probes) != 1:
        return f"{len(s.probes)} probes (axisymmetric needs exactly one)"
    from .modalities import MODALITIES
    module = MODALITIES[s.modality]
    if hasattr(module, "axisymmetry_breaker"):
        reason = module.axisymmetry_breaker(s)
        if reason:
            return reason
    p = s.probes[0]
    d = np.asarray(p.direction) / np.linalg.norm(p.direction)
    tip = np.asarray(p.tip)
    if s.vessels:
        return "vessels are present"
    if s.domain.center is not None:
        off = np.asarray(s.domain.center) - tip
        if np.linalg.norm(off - (off @ d) * d) > 1e-9:
            return "domain.center is off the probe axis"
    for i, t in enumerate(s.tumors):
        off = np.asarray(t.center) - tip
        if np.linalg.norm(off - (off @ d) * d) > 1e-6:
            return f"tumors[{i}] is off the probe axis"
        if t.shape == "ellipsoid":
            axis = np.asarray(t.axis) / np.linalg.norm(t.axis)
            r = tumor_radii(t)
            if not (abs(abs(axis @ d) - 1.0) < 1e-9 and math.isclose(r[0], r[1])):
                return f"tumors[{i}] is not an ellipsoid of revolution about the probe axis"
    return ""


def _mm(point) -> str:
    return "[" + ", ".join(f"{v * 1e3:g}" for v in point) + "] mm"

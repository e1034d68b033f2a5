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
import itertools
import logging
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ablation.input.models import (DEFAULT_MODEL, LIBRARY, MODEL_NAMES, model_defaults, model_liver_perfusion,
                                   zone_model)
from ablation.input.anatomy_section import ANATOMY_SECTION, apply_anatomy, label_tumor_extent
from ablation.input.analysis_sections import COVERAGE_SECTION, PLACEMENT_SECTION, check_coverage, check_placement
from ablation.input.sweep_section import SWEEP_SECTION, check_sweep, parse_sweep
from ablation.input.plan_section import PLAN_SECTION, check_plan
from ablation.modalities.cryo import CATALOGUE as CRYO_CATALOGUE, probe_settings as cryo_probe_settings
from ablation.input.device_sections import (CRYO_PROBE, CRYO_SECTION, RFA_PROBE, RFA_SECTION, THERMAL_PROBE,
                                            check_cryo, check_freezing_range, check_rfa, check_thermal)
from ablation.input.plausibility import (MAX_PROBE_DIAMETER_M, MAX_PROBE_DIAMETER_REASON, MAX_SNAPSHOTS,
                                         MAX_TIME_STEPS, MIN_PROBE_DIAMETER_M, MIN_PROBE_DIAMETER_REASON,
                                         PERFUSION_LIMIT, TEMPERATURE_RANGES, check_temperature)
from ablation.input.schema import (ClinicalPerfusion, Choice, ListOf, Quantity, Record, String, Table, Vector,
                                   parse_path)
from ablation.input.units import perfusion_rate
from ablation.input.sections import (DAMAGE, DOMAIN, GRID, OUTPUTS, POSITIVE_LENGTH, SOLVER, TIME, TUMOR, VESSEL,
                                     tissue_spec)
from ablation.physics.damage import parse_criterion
from ablation.physics.tissue import preset_values
from ablation.run.estimate import domain_size as grid_domain_size
from ablation.run.problems import FieldProblems
from ablation.run.setup import (axisymmetry_breaker, domain_center, tumor_name, tumor_radii, tumor_surface_points,
                                vessel_name)
from ablation.geometry.shapes import Segment

log = logging.getLogger(__name__)



class ScenarioError(FieldProblems):
    """A scenario that cannot be run; ``errors`` is a list of (field path, message)."""


# Every section a scenario may hold, declared here and nowhere else. The device tables of the
# modality not selected must be absent; the selected one's take their defaults when absent.
DEVICE_SECTIONS = {"thermal": None, "rfa": RFA_SECTION, "cryo": CRYO_SECTION}
DEVICE_PROBE_TABLES = {"thermal": THERMAL_PROBE, "rfa": RFA_PROBE, "cryo": CRYO_PROBE}
ANALYSIS_SECTIONS = {"coverage": COVERAGE_SECTION, "placement": PLACEMENT_SECTION, "sweep": SWEEP_SECTION,
                     "plan": PLAN_SECTION}

# Keys that moved: old path -> (new path or None when it left the scenario, message). They still
# load, with a warning that says where they went.
MOVED_KEYS = {
    "rfa.preconditioner": ("solver.electric_preconditioner", "the linear solvers are configured in [solver]"),
    "placement.workers": (None, "parallel work is set on the command line (--workers N) or with "
                                "ablation.simulate(..., executor=...)"),
}


def probe_spec() -> Table:
    fields = {
        "name": String("label", None, nullable=True, nonempty=True),
        "tip": Vector("tip position [x, y, z]"),
        "direction": Vector("direction from the handle to the tip", [0, 0, 1], unit="1", nonzero=True),
        "diameter": Quantity("needle outer diameter (17 G = 1.47 mm); a catalogue cryoprobe (cryo.type) "
                             "without one takes its own", "1.5 mm", dimension="length",
                             minimum=MIN_PROBE_DIAMETER_M, minimum_reason=MIN_PROBE_DIAMETER_REASON,
                             maximum=MAX_PROBE_DIAMETER_M, bound_reason=MAX_PROBE_DIAMETER_REASON),
        "active_length": Quantity("length of the active (exposed, heating or freezing) part ending at the tip",
                                  "20 mm", **POSITIVE_LENGTH),
    }
    for name, table in DEVICE_PROBE_TABLES.items():
        # absent unless given: _fill_device_sections fills the active modality's table with its
        # defaults and rejects another modality's
        fields[name] = dataclasses.replace(table, default=None)
    return Table("a straight probe; its insulated shaft runs from the active part to the domain boundary",
                 fields=fields)


def scenario_spec() -> Table:
    fields = {
        "name": String("scenario name", nonempty=True),
        "description": String("free text", ""),
        "modality": Choice("thermal (a generic probe with a wall schedule), rfa or cryo", "thermal",
                           options=tuple(DEVICE_SECTIONS)),
        "model": Choice("the lethal-zone model: its [damage] defaults and the uncertainty band of its zone "
                        f"(ablation/input/models.py); '{LIBRARY}' is the first version's, uncalibrated",
                        DEFAULT_MODEL, options=MODEL_NAMES),
        "tissue": tissue_spec(),
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
    for name, table in DEVICE_SECTIONS.items():
        if table is not None:
            fields[name] = dataclasses.replace(table, default=None)
    fields["anatomy"] = dataclasses.replace(ANATOMY_SECTION, default=None)
    fields.update(ANALYSIS_SECTIONS)
    return Table("an ablation scenario", fields=fields)


def json_schema() -> dict:
    schema = scenario_spec().json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ablation scenario"
    return schema


# --------------------------------------------------------------------------------------------------
class Scenario(Record):
    """A validated scenario: the tables of the file with every value in SI (temperatures in degC),
    defaults filled in, immutable and picklable.

    ``source`` is the file it came from (or ''), ``raw`` the table as written (before conversion),
    ``input_files`` the data files it names, loaded ({name as written: data}).
    :meth:`with_changes` returns a revalidated copy; :meth:`replaced` a copy changed in SI values
    without revalidation (for the toolkit's own transformations)."""

    __slots__ = ("source", "raw", "input_files")

    def __init__(self, data=(), source: str = "", raw: dict | None = None, input_files=None):
        super().__init__(data)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "raw", raw)
        object.__setattr__(self, "input_files", Record(input_files or {}))

    def __reduce__(self):
        return (type(self), (self._data, self.source, self.raw, self.input_files._data))

    def __deepcopy__(self, memo):
        import copy
        return type(self)(copy.deepcopy(self._data, memo), self.source, copy.deepcopy(self.raw, memo),
                          self.input_files._data)

    def replaced(self, **changes) -> "Scenario":
        data = dict(self._data)
        data.update(changes)
        return Scenario(data, self.source, self.raw, self.input_files._data)

    def with_changes(self, changes: dict) -> "Scenario":
        """A copy with the values at dotted paths changed and everything validated again, e.g.
        ``{"tissue.perfusion": "0.0036 1/s", "probes[0].tip": [0, 0, 5]}``. Values are written as in
        a scenario file (quantities with units). Raises :class:`ScenarioError` naming the field."""
        if self.raw is None:
            raise ScenarioError([("(scenario)", "this scenario was not loaded from a table; expected one "
                                                "from load_scenario or scenario_from_dict")], self.source)
        if not isinstance(changes, Mapping):
            raise TypeError(f"with_changes: expected a mapping of dotted field paths to values, e.g. "
                            f"{{'tissue.perfusion': '0.0036 1/s'}}; got {type(changes).__name__}")
        raw = copy_tree(self.raw)
        errors = []
        for path, value in changes.items():
            set_path(raw, path, value, errors)
        if errors:
            raise ScenarioError(errors, self.source)
        # not its [sweep] samples: a sweep builds each sample with with_changes
        return scenario_from_dict(raw, source=self.source, changed_paths=tuple(changes))


def copy_tree(value):
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


def set_path(raw: dict, path: str, value, errors: list) -> None:
    """Set ``value`` at dotted ``path`` of a scenario table as written; unknown keys are left to
    validation, which names them."""
    try:
        steps = parse_path(path)
    except ValueError as exc:
        errors.append((path, str(exc)))
        return
    node = raw
    for i, step in enumerate(steps[:-1]):
        nxt = steps[i + 1]
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                errors.append((path, f"index {step} is out of range; the list has {len(node) if isinstance(node, list) else 0} entries"))
                return
            node = node[step]
        else:
            if not isinstance(node, dict):
                errors.append((path, f"{step!r} is not inside a table"))
                return
            node = node.setdefault(step, [] if isinstance(nxt, int) else {})
    last = steps[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            errors.append((path, f"index {last} is out of range"))
            return
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        errors.append((path, f"{last!r} is not inside a table"))


#: the largest scenario file read (the shipped ones are 1-3 kB)
MAX_SCENARIO_BYTES = 10 * 2**20


def load_scenario(path) -> Scenario:
    """Read, validate and convert a scenario file; raises :class:`ScenarioError`."""
    path = Path(path)
    try:
        # a device or pipe (/dev/zero, a FIFO) would be read forever or block: only regular files
        if path.exists() and not path.is_dir() and not path.is_file():
            raise ScenarioError([("(file)", f"{path} is not a regular file (a device, pipe or socket); expected a "
                                            "TOML scenario file")], str(path))
        size = path.stat().st_size if path.is_file() else 0
        if size > MAX_SCENARIO_BYTES:
            raise ScenarioError([("(file)", f"{path} holds {size} bytes; expected a scenario file of at most "
                                            f"{MAX_SCENARIO_BYTES // 2**20} MiB (scenarios are a few kB; data "
                                            "files are named in them, not pasted in)")], str(path))
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([("(file)", f"cannot read {path}: {exc.strerror}")], str(path)) from None
    if not raw_bytes.strip():
        raise ScenarioError([("(file)", "the file is empty; expected a TOML scenario with at least "
                                        "name, [time] duration and, for rfa/cryo, [[probes]]")], str(path))
    if raw_bytes[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ScenarioError([("(file)", "the file is encoded as UTF-16 (it starts with a UTF-16 byte-order "
                                        "mark); expected UTF-8, as TOML requires (save it as UTF-8)")], str(path))
    try:
        # utf-8-sig: editors on Windows start UTF-8 files with a byte-order mark, which TOML does
        # not allow but which carries no content; a BOM-less file decodes the same
        raw = tomllib.loads(raw_bytes.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError([("(file)", f"not a valid TOML file: {exc}")], str(path)) from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively; no scenario nests deeper
        # than a few levels, so this is a broken or hostile file, not a limit to raise
        raise ScenarioError([("(file)", "not a valid TOML file: its arrays or inline tables are nested too "
                                        "deeply to parse; expected a scenario nesting a few levels at most")],
                            str(path)) from None
    return scenario_from_dict(raw, source=str(path), check_sweep_samples=True)


def scenario_from_dict(raw: dict, source: str = "", check_sweep_samples: bool = False,
                       changed_paths: tuple = ()) -> Scenario:
    """Validate and convert a scenario table (as a TOML file holds it); raises :class:`ScenarioError`.
    ``check_sweep_samples``: also build (without solving) the scenarios of the [sweep] values
    (:func:`_check_sweep_samples`; :func:`load_scenario` does, so a file is checked whole; a table
    built in code may sweep into failing samples on purpose, which the sweep records).
    ``changed_paths``: the dotted paths a caller changed (:meth:`Scenario.with_changes`, a sweep's
    samples): a key written in the table that such a change switched off (off_time when the change
    sets rfa.protocol = 'constant_power') is dropped rather than refused."""
    errors: list = []
    spec = scenario_spec()
    if isinstance(raw, dict):
        raw = copy_tree(raw)
        _move_old_keys(raw, source)
    modality_name = raw.get("modality", "thermal") if isinstance(raw, dict) else "thermal"
    loaded = spec.load(raw, "", errors)
    if errors:
        raise ScenarioError(errors, source)
    loaded = _fill_device_sections(loaded, modality_name, errors, raw)
    if not errors:
        loaded = _apply_model(loaded, raw, errors)
    if not errors:
        loaded = _resolve_sizes_and_units(loaded, errors)
    if not errors:
        # label-map and surface tumours join the tumours here, before the geometry checks
        loaded = apply_anatomy(loaded, errors, source or None)
    input_files = {}
    if not errors:
        _check_sections(loaded, raw, errors)
        _check_settings_in_effect(loaded, raw, errors, changed_paths)
        _check_unique_names(loaded, raw, errors)
    if not errors:
        _check_tumor_shapes(loaded, errors)
    if not errors:
        _check_tumor_overlap(loaded, errors)
    if not errors:
        # the checks see the table as written too (raw): a default-sized domain is sized from it
        loaded = Scenario(loaded, source, raw)
        _check_geometry(loaded, errors)
    if not errors:
        if loaded.modality == "thermal":
            check_thermal(loaded, errors)
        elif loaded.modality == "rfa":
            check_rfa(loaded, errors)
        elif loaded.modality == "cryo":
            # the scenario file's folder is where the data files it names are found
            input_files.update(check_cryo(loaded, errors, source or None))
        check_freezing_range(loaded, errors)
        check_coverage(loaded, errors)
        check_placement(loaded, errors)
        check_sweep(loaded, scenario_spec(), errors)   # [sweep]: ablation sweep's parameters (run ignores it)
        check_plan(loaded, errors)
        _check_plausible_temperatures(loaded, raw, input_files, errors)
    if not errors:
        _warn_start_temperature(loaded, source)
        _warn_beyond_model(loaded, source)
    if not errors and check_sweep_samples:
        _check_sweep_samples(loaded, raw, source, errors)
    if errors:
        raise ScenarioError(errors, source)
    return Scenario(loaded, source, raw, input_files)


#: at most this many [sweep] sample scenarios are built at validate time, each a validation without
#: a solve: a few ms to 40 ms without [anatomy] (under 3 s in all), about 0.1-0.5 s with a label map
#: that is read again for each (under half a minute)
MAX_SWEEP_CHECKS = 64


def _check_sweep_samples(s: Record, raw: dict, source: str, errors: list) -> None:
    """Build the scenario of [sweep] values, without solving, so that a value that breaks a rule
    between fields (a probe moved outside the domain) is refused by ``ablation validate`` and
    before ``ablation sweep`` starts, not found by a failing sample. A design of at most
    :data:`MAX_SWEEP_CHECKS` combinations is built whole; otherwise each value alone (each
    distribution at both ends of its sampled interval), the rest left at the file's values."""
    section = s.get("sweep")
    if section is None:
        return
    parameters = parse_sweep(s, scenario_spec(), [])
    index = {p.path: i for i, p in enumerate(section.parameters or ())}
    options = []        # per parameter: [(where, written value)]
    for p in parameters:
        where = f"sweep.parameters[{index[p.path]}]"
        if p.kind == "values":
            options.append([(f"{where}.values[{k}]" if section.parameters[index[p.path]]["values"] is not None
                             else f"{where}.range", v) for k, v in enumerate(p.values)])
        else:
            ends = p.quantile([0.0, 1.0])
            options.append([(f"{where}.distribution", p.field.written(float(v))) for v in ends])
    if not options:
        return
    combinations = math.prod(len(o) for o in options)
    if combinations <= MAX_SWEEP_CHECKS:
        designs = list(itertools.product(*options))
    else:
        # one parameter at a time: the others keep the values the file gives them
        designs = [((where, value),) for o in options for where, value in o][:MAX_SWEEP_CHECKS]
        parameters = None
    base = copy_tree(raw)
    base.pop("sweep", None)
    reported = set()
    for design in designs:
        paths = [p.path for p in parameters] if parameters is not None else None
        sample = copy_tree(base)
        changes = []
        for k, (where, value) in enumerate(design):
            path = paths[k] if paths is not None else _swept_path(where, section)
            set_path(sample, path, value, [])
            changes.append((where, path, value))
        try:
            scenario_from_dict(sample, source=source, check_sweep_samples=False)
        except ScenarioError as exc:
            path, message = exc.errors[0]
            # the value whose path the problem names, else the first changed
            where, swept, value = next((c for c in changes if path.startswith(c[1].split("[")[0])), changes[0])
            if where in reported:
                continue
            reported.add(where)
            together = "" if len(changes) == 1 else " with " + ", ".join(
                f"{c[1]} = {_written(c[2])}" for c in changes if c[0] != where)
            errors.append((where, f"{swept} = {_written(value)}{together} makes a scenario that cannot run "
                                  f"({path}: {message})"))


def _written(value) -> str:
    """A swept value as a message shows it (a distribution's end to 6 digits)."""
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def _swept_path(where: str, section) -> str:
    """The swept path of ``sweep.parameters[i]...``."""
    i = int(where.split("[", 2)[1].split("]")[0])
    return section.parameters[i].path


def model_supplied_settings(s: Record, raw: dict) -> dict:
    """{setting path: value (SI / degC)} that the scenario's zone model supplies because the file
    (``raw``, as written) is silent: its [damage] and [cryo] laws and edge temperature (the edge
    unless the file sets it or the frequency factor it replaces; [cryo] laws only where there is a
    [cryo] section), its liver perfusion (``liver`` preset, no tissue.perfusion given) and its cooled
    electrodes' [probes.rfa] keys (e.g. cool_shaft). The one place that decides what a model sets;
    raises ValueError when the model cannot be used (its calibration file is missing)."""
    written = {section: raw[section] if isinstance(raw.get(section), dict) else {} for section in ("damage", "cryo")}
    edge_written = "edge_temperature" in written["damage"] or "frequency_factor" in written["damage"]
    out = {}
    for dotted, value in model_defaults(s.model, need_edge=not edge_written).items():
        section, key = dotted.split(".", 1)
        if key in written[section] or (key == "edge_temperature" and edge_written):
            continue
        if s.get(section) is not None:       # [cryo] laws apply to cryo scenarios only
            out[dotted] = value
    perfusion = model_liver_perfusion(s.model, raw.get("tissue"), s.tissue.preset)
    if perfusion is not None:
        out["tissue.perfusion"] = perfusion
    cooled = zone_model(s.model).cooled_electrode
    if s.modality == "rfa" and cooled:
        written_probes = raw.get("probes") if isinstance(raw.get("probes"), list) else []
        for i, probe in enumerate(s.probes):
            if probe.get("rfa") is None or probe.rfa.electrode != "cooled_needle":
                continue
            table = written_probes[i] if i < len(written_probes) and isinstance(written_probes[i], dict) else {}
            rfa_written = table.get("rfa") if isinstance(table.get("rfa"), dict) else {}
            out.update({f"probes[{i}].rfa.{key}": value for key, value in cooled.items() if key not in rfa_written})
    return out


def _apply_model(s: Record, raw: dict, errors: list) -> Record:
    """The scenario with :func:`model_supplied_settings` filled in."""
    try:
        settings = model_supplied_settings(s, raw)
    except ValueError as exc:
        errors.append(("model", f"{s.model!r} cannot be used: {exc}"))
        return s
    for path, value in settings.items():
        s = _replace_at(s, parse_path(path), value)
    return s


def _replace_at(record: Record, steps: list, value) -> Record:
    """A copy of ``record`` with ``value`` at the parsed path ``steps`` (keys and list indices)."""
    head, rest = steps[0], steps[1:]
    if isinstance(head, int):
        items = list(record)
        items[head] = _replace_at(items[head], rest, value) if rest else value
        return tuple(items)
    return record.replaced(**{head: _replace_at(record[head], rest, value) if rest else value})


def _setting_at(record, path: str):
    """The value at dotted ``path`` (e.g. ``probes[0].rfa.cool_shaft``) of a loaded scenario."""
    node = record
    for step in parse_path(path):
        node = node[step]
    return node


def model_supplied_paths(scenario: "Scenario") -> list[str]:
    """The settings of a (possibly transformed) scenario whose value is still the one its zone model
    supplied: a transformation such as inflow occlusion that changes one takes the credit away."""
    settings = model_supplied_settings(scenario, scenario.raw or {})
    return sorted(path for path, value in settings.items() if _setting_at(scenario, path) == value)


def _resolve_sizes_and_units(s: Record, errors: list) -> Record:
    """Vessels given by diameter get their radius (exactly one of the two); perfusion given in
    mL/min/100 g becomes w_b in 1/s with the density of the same material (its override, else its
    preset's)."""
    vessels = []
    for i, v in enumerate(s.vessels):
        if (v.radius is None) == (v.diameter is None):
            errors.append((f"vessels[{i}].radius", "give exactly one of radius and diameter, e.g. "
                                                   "diameter = '5 mm'" if v.radius is None else
                           f"{v.radius * 1e3:g} mm given together with diameter "
                           f"{v.diameter * 1e3:g} mm; expected exactly one of the two"))
        elif v.radius is None:
            v = v.replaced(radius=v.diameter / 2.0)
        else:
            v = v.replaced(diameter=2.0 * v.radius)
        vessels.append(v)

    def convert(props: Record, preset: str) -> Record:
        if not isinstance(props.get("perfusion"), ClinicalPerfusion):
            return props
        density = props.density if props.density is not None else preset_values(preset)["density"]
        return props.replaced(perfusion=perfusion_rate(props.perfusion.flow, density))

    tissue = convert(s.tissue, s.tissue.preset)
    tumors = tuple(t.replaced(properties=convert(t.properties, t.properties.preset or "tumor")) for t in s.tumors)
    limit, reason = PERFUSION_LIMIT
    written = [("tissue.perfusion", s.tissue.perfusion, tissue.perfusion)]
    written += [(f"tumors[{i}].properties.perfusion", before.properties.perfusion, after.properties.perfusion)
                for i, (before, after) in enumerate(zip(s.tumors, tumors))]
    for path, given, rate in written:
        if isinstance(rate, (int, float)) and rate > limit:
            shown = f"{given.flow:g} mL/min/100g ({rate:.3g} 1/s)" if isinstance(given, ClinicalPerfusion) \
                else f"{rate:g} 1/s"
            errors.append((path, f"{shown} is out of the plausible range 0..{limit:g} 1/s; {reason}"))
    return s.replaced(vessels=tuple(vessels), tissue=tissue, tumors=tumors)


def _check_sections(s: Record, raw, errors: list) -> None:
    """Sections that need others: [coverage] and [placement] need tumours, [placement] a probe
    (a section switched off with enabled = false asks for nothing)."""
    written = raw if isinstance(raw, dict) else {}
    for name in ("coverage", "placement"):
        if name in written and s[name].enabled and not s.tumors:
            errors.append((name, f"section given but the scenario has no tumour; expected [[tumors]] (the "
                                 f"{name} analysis measures tumours) or no [{name}] section"))
    if "placement" in written and s.placement.enabled and not s.probes:
        errors.append(("placement", "section given but the scenario has no probe; expected [[probes]] (the "
                                    "placement error model moves the probes) or no [placement] section"))
    # properties written for a tumour that is only a coverage target would silently do nothing
    for i, entry in enumerate(written.get("tumors") or []):
        if isinstance(entry, dict) and "properties" in entry and i < len(s.tumors) and not s.tumors[i].material:
            errors.append((f"tumors[{i}].properties", "given for a tumour with material = false, whose cells keep "
                                                      "the surrounding tissue's properties (it is a coverage target "
                                                      "only); expected material = true to use them, or no "
                                                      "properties"))


#: Settings that act only under one value of another: written under any other they would do nothing,
#: and a user who wrote tines on a plain needle or a target temperature under impedance control
#: would believe them modelled. (key, governing key, the values it acts under)
_RFA_ONLY_UNDER = [(key, "protocol", ("temperature_control",))
                   for key in ("target_temperature", "proportional_gain", "integral_gain", "integral_band")]
_RFA_ONLY_UNDER += [("off_time", "protocol", ("impedance_control",))]
_RFA_ONLY_UNDER += [(key, "protocol", ("leveen",)) for key in ("leveen_window", "leveen_off_time",
                                                              "leveen_reduced_fraction", "leveen_reduced_time",
                                                              "leveen_max_time")]
_RFA_ONLY_UNDER += [("channel_time", "activation", ("sequential",)), ("switch_time", "activation", ("switching",))]
_RF_ELECTRODE_ONLY_UNDER = [(key, "electrode", ("cooled_needle",))
                            for key in ("coolant_temperature", "coolant_heat_transfer_coefficient", "cool_shaft")]
_RF_ELECTRODE_ONLY_UNDER += [(key, "electrode", ("multitine",))
                             for key in ("tines", "deployed_diameter", "tine_shape", "tine_angle", "tine_diameter")]
_PLAN_ONLY_UNDER = [("quantile", "objective", ("margin_quantile",)), ("max_tilt", "trajectories", ("free",)),
                    ("clearance", "keep_clear", (True,))]
_CRYOPROBE_ONLY_UNDER = [("curve_file", "wall", ("curve",)), ("gas_temperature", "wall", ("convection",)),
                         ("heat_transfer_coefficient", "wall", ("convection",)),
                         ("max_extraction", "wall", ("power_limited",))]


def _as_toml(value) -> str:
    """A setting's value as a scenario file writes it: 'impedance_control', true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _check_settings_in_effect(s: Record, raw, errors: list, changed_paths=()) -> None:
    """A key written in the file (not a default) whose setting its governing key switches off is
    refused, naming both (:data:`_RFA_ONLY_UNDER` and the probe tables beside it); dropped from
    ``raw`` instead when the governing key is among ``changed_paths`` and the key is not (a caller
    switched the protocol of a file written for another)."""
    written = raw if isinstance(raw, dict) else {}
    changed = set()
    for path in changed_paths:
        try:
            changed.add(tuple(parse_path(path)))
        except ValueError:
            pass

    def check(table: dict, record, where: str, rules: list) -> None:
        for key, governor, values in rules:
            if key in table and record[governor] not in values:
                if (tuple(parse_path(f"{where}.{governor}")) in changed
                        and tuple(parse_path(f"{where}.{key}")) not in changed):
                    del table[key]
                    continue
                shown = " or ".join(_as_toml(v) for v in values)
                errors.append((f"{where}.{key}", f"given with {where}.{governor} = {_as_toml(record[governor])}, under which "
                                                 f"it does nothing; expected {where}.{governor} = {shown} to use it, "
                                                 f"or no {key}"))
    if s.modality == "rfa" and isinstance(written.get("rfa"), dict):
        check(written["rfa"], s.rfa, "rfa", _RFA_ONLY_UNDER)
    if s.get("plan") is not None and isinstance(written.get("plan"), dict):
        check(written["plan"], s.plan, "plan", _PLAN_ONLY_UNDER)
    probes = written.get("probes") if isinstance(written.get("probes"), list) else []
    for i, entry in enumerate(probes):
        if i >= len(s.probes) or not isinstance(entry, dict):
            continue
        if s.modality == "rfa" and isinstance(entry.get("rfa"), dict):
            check(entry["rfa"], s.probes[i].rfa, f"probes[{i}].rfa", _RF_ELECTRODE_ONLY_UNDER)
        if s.modality == "cryo" and isinstance(entry.get("cryo"), dict):
            cryo = s.probes[i].cryo
            wall = cryo_probe_settings(cryo)["wall"]       # as written, else the catalogue type's
            check(entry["cryo"], {"wall": wall}, f"probes[{i}].cryo", _CRYOPROBE_ONLY_UNDER)
    tumors = written.get("tumors") if isinstance(written.get("tumors"), list) else []
    for i, entry in enumerate(tumors):
        if i < len(s.tumors) and isinstance(entry, dict):
            check(entry, s.tumors[i], f"tumors[{i}]", [("label", "shape", ("label",))])
    coverage = written.get("coverage") if isinstance(written.get("coverage"), dict) else {}
    capsule = coverage.get("capsule")
    if s.get("coverage") is not None and isinstance(capsule, dict) and s.coverage.capsule is not None:
        check(capsule, s.coverage.capsule, "coverage.capsule",
              [("point", "shape", ("plane",)), ("normal", "shape", ("plane",)), ("center", "shape", ("sphere",)),
               ("radius", "shape", ("sphere",)), ("exclusion", "shape", ("plane", "sphere"))])


def _check_unique_names(s: Record, raw, errors: list) -> None:
    """Tumours and vessels each need names of their own: results are keyed by them (the placement
    samples per tumour, the picture's margin labels, the vessel regions), where two alike would
    merge. An unnamed entry is checked under the name the run gives it (``tumor 2``). Probes may
    share a name (a copied cluster): they are told apart by index."""
    written = raw.get("tumors", []) if isinstance(raw, dict) else []
    written = len(written) if isinstance(written, list) else 0
    kinds = (("tumors", [tumor_name(t, i) for i, t in enumerate(s.tumors)]),
             ("vessels", [vessel_name(v, i) for i, v in enumerate(s.vessels)]))
    for key, names in kinds:
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in seen:
                where = (f"{key}[{i}].name" if key != "tumors" or i < written
                         else "anatomy")   # a tumour the label map or a surface file added
                errors.append((where, f"{name!r} is also the name of {key}[{seen[name]}]; expected a name of its "
                                      f"own (results are reported and tabulated by name)"))
            else:
                seen[name] = i


def _criterion_threshold(name) -> float | None:
    """The temperature of 'max_temperature:X' / 'min_temperature:X' (None for other criteria)."""
    if isinstance(name, str):
        for prefix in ("max_temperature:", "min_temperature:"):
            if name.startswith(prefix):
                try:
                    return float(name[len(prefix):])
                except ValueError:
                    return None
    return None


def _as_written(raw, path: str):
    """The scalar at ``path`` ('tissue.initial_temperature', 'probes[0].rfa.coolant_temperature') in
    the file as written, or None (not written there, or not a scalar)."""
    node = raw
    for step in parse_path(path):
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
        if node is None:
            return None
    return node if isinstance(node, (str, int, float)) and not isinstance(node, bool) else None


def _check_plausible_temperatures(s: Record, raw, input_files: dict, errors: list) -> None:
    """Every temperature within its field's plausible range (:mod:`ablation.input.plausibility`).
    A field already reported by another check is not reported twice."""
    found: list = []

    def check(value, path: str, key: str | None = None) -> None:
        # the value as the file wrote it ('500 K') beside its degC; None when set by the model
        check_temperature(value, _as_written(raw, path), path, found, key)
    t = s.tissue
    for key in ("initial_temperature", "boundary_temperature", "arterial_temperature",
                "solidus_temperature", "liquidus_temperature"):
        check(t[key], f"tissue.{key}")
    for i, tumor in enumerate(s.tumors):
        if tumor.get("properties") is not None:     # written, checked even on a tumour that is not material
            for key in ("solidus_temperature", "liquidus_temperature"):
                check(tumor.properties.get(key), f"tumors[{i}].properties.{key}")
    for i, v in enumerate(s.vessels):
        check(v.blood_temperature, f"vessels[{i}].blood_temperature")
    # written, set by with_changes or supplied by the zone model: the same range
    check(s.damage.get("edge_temperature"), "damage.edge_temperature")
    for i, value in enumerate(s.damage.time_above or ()):
        check(value, f"damage.time_above[{i}]")
    for i, value in enumerate(s.damage.time_below or ()):
        check(value, f"damage.time_below[{i}]")
    named = [("damage.criterion", s.damage.criterion)]
    named += [(f"damage.report_criteria[{i}]", c) for i, c in enumerate(s.damage.report_criteria or ())]
    if s.get("coverage") is not None:
        named += [(f"coverage.criteria[{i}]", c) for i, c in enumerate(s.coverage.criteria or ())]
    start = (t.initial_temperature, t.arterial_temperature)
    for where, name in named:
        value = _criterion_threshold(name)
        if value is not None:
            check_temperature(value, name, where, found, key="criterion")
            # a threshold the untreated tissue already meets marks the whole domain as lethal
            heat = name.startswith("max_temperature:")
            if any(p == where for p, _ in found):
                continue
            if heat and value <= max(start):
                found.append((where, f"'{name}': {value:g} degC is not above the tissue's own temperature "
                                     f"(tissue.initial_temperature {t.initial_temperature:g} degC, "
                                     f"tissue.arterial_temperature {t.arterial_temperature:g} degC); expected a "
                                     "lethal threshold above it, which untreated tissue does not reach "
                                     "(e.g. max_temperature:50)"))
            elif not heat and value >= min(start):
                found.append((where, f"'{name}': {value:g} degC is not below the tissue's own temperature "
                                     f"(tissue.initial_temperature {t.initial_temperature:g} degC, "
                                     f"tissue.arterial_temperature {t.arterial_temperature:g} degC); expected a "
                                     "lethal threshold below it, which untreated tissue does not reach "
                                     "(e.g. min_temperature:-40)"))
    for i, probe in enumerate(s.probes):
        if s.modality == "thermal" and probe.thermal.temperature_schedule is not None:
            for k, value in enumerate(probe.thermal.temperature_schedule.values):
                check(value, f"probes[{i}].thermal.temperature_schedule[{k}][1]",
                      key="probes[i].thermal.temperature_schedule[i][1]")
        if s.modality == "rfa":
            check(probe.rfa.coolant_temperature, f"probes[{i}].rfa.coolant_temperature")
        if s.modality == "cryo":
            resolved = cryo_probe_settings(probe.cryo)
            for key in ("freeze_temperature", "gas_temperature", "thaw_temperature"):
                value = probe.cryo[key] if key == "gas_temperature" else resolved[key]
                check(value, f"probes[{i}].cryo.{key}")
            curve = input_files.get(probe.cryo.curve_file) if probe.cryo.curve_file else None
            if curve is not None:
                lo, hi, reason = TEMPERATURE_RANGES["probes[i].cryo.curve_file"]
                bad = [(tt, v) for tt, v in zip(curve["times"], curve["values"]) if not lo <= v <= hi]
                if bad:
                    tt, v = bad[0]
                    found.append((f"probes[{i}].cryo.curve_file",
                                  f"{probe.cryo.curve_file!r}: {v:g} degC at {tt:g} s is out of the plausible "
                                  f"range {lo:g}..{hi:g} degC for a cryoprobe wall ({len(bad)} value(s) outside); "
                                  f"{reason}"))
    if s.modality == "rfa":     # written, it is checked even where the protocol does not use it
        check(s.rfa.target_temperature, "rfa.target_temperature")
    if s.modality == "cryo":
        for i, value in enumerate(s.cryo.isotherms or ()):
            check(value, f"cryo.isotherms[{i}]")
    already = {path for path, _ in errors}
    errors.extend((path, message) for path, message in found if path not in already)


#: a start temperature this far from the blood's, in perfused tissue, mixes an ex vivo setting with
#: in vivo perfusion (a warning, not an error: a cooled or warmed perfused organ is possible)
START_TEMPERATURE_TOLERANCE_K = 5.0


def _warn_start_temperature(s: Record, source: str) -> None:
    """Warn when perfused tissue starts far from the blood's temperature: the Pennes term then
    brings it to the blood's within about 1/perfusion seconds, which ex vivo tissue never sees."""
    t = s.tissue
    perfusion = t.perfusion if isinstance(t.perfusion, (int, float)) else 0.0
    if perfusion > 0.0 and abs(t.initial_temperature - t.arterial_temperature) > START_TEMPERATURE_TOLERANCE_K:
        log.warning("%s: tissue.initial_temperature is %g degC but tissue.perfusion is %.3g 1/s with blood at "
                    "tissue.arterial_temperature %g degC: the blood brings the tissue to %g degC within about "
                    "%.0f s (1/perfusion). Ex vivo tissue has no perfusion: set tissue.perfusion = \"0 1/s\" for "
                    "an ex vivo experiment", source or "scenario", t.initial_temperature, perfusion,
                    t.arterial_temperature, t.arterial_temperature, 1.0 / perfusion)


#: The modelled tissue's water boils off below this (rfa.vaporisation_interval) and its sigma falls
#: by 105 degC (docs/physics.md 2): the tissue beside an electrode stays near it while water is left.
BOILING_C = 100.0


def _warn_beyond_model(s: Record, source: str) -> None:
    """Warn about settings the model can run but not follow: a temperature-control target the
    modelled tissue does not pass while its water boils (the integral term then drives the power to
    its maximum), and a thermal probe colder than freezing (the thermal modality has no latent heat)."""
    where = source or "scenario"
    if s.modality == "rfa" and s.rfa.protocol == "temperature_control" and s.rfa.target_temperature >= BOILING_C:
        log.warning("%s: rfa.target_temperature is %g degC: the modelled tissue stays near %g degC while its water "
                    "boils off (docs/physics.md 2), so the tip sensor may never reach the target and the controller "
                    "then drives the power to rfa.power (%g W); a target below %g degC is followed", where,
                    s.rfa.target_temperature, BOILING_C, s.rfa.power, BOILING_C)
    if s.modality == "thermal":
        # the liquidus when the tissue names one (set for cryo), else water's freezing point
        freezing = s.tissue.liquidus_temperature if s.tissue.liquidus_temperature is not None else 0.0
        for i, probe in enumerate(s.probes):
            schedule = probe.thermal.temperature_schedule
            if probe.thermal.wall in ("temperature", "convection") and schedule is not None \
                    and min(schedule.values) < freezing:
                log.warning("%s: probes[%d].thermal.temperature_schedule goes down to %g degC, below the tissue's "
                            "freezing point (%g degC): the thermal modality has no "
                            "latent heat or frozen properties; modality 'cryo' models freezing", where, i,
                            min(schedule.values), freezing)


def _move_old_keys(raw: dict, source: str) -> None:
    """Keys of earlier versions load where they went, with a warning naming the new place."""
    for old, (new, why) in MOVED_KEYS.items():
        section, key = old.split(".")
        table = raw.get(section)
        if not isinstance(table, dict) or key not in table:
            continue
        value = table.pop(key)
        if new is None:
            log.warning("%s: %s is no longer a scenario key (%s); it was ignored", source or "scenario", old, why)
            continue
        new_section, new_key = new.split(".")
        target = raw.setdefault(new_section, {})
        if isinstance(target, dict) and new_key not in target:
            target[new_key] = value
        log.warning("%s: %s moved to %s (%s); please update the file", source or "scenario", old, new, why)


def _fill_device_sections(scenario: Record, modality: str, errors: list, raw=None) -> Record:
    """The active modality's sections take their defaults when absent; others must be absent. A
    catalogue cryoprobe (``probes[i].cryo.type``) without a written diameter takes its own."""
    changes = {}
    for name, section in DEVICE_SECTIONS.items():
        if section is None:
            continue
        if name == modality and scenario[name] is None:
            changes[name] = section.load({}, name, errors)
        elif name != modality and scenario[name] is not None:
            errors.append((name, f"section given but modality is {modality!r}; remove it or set modality = {name!r}"))
    probes = []
    for i, probe in enumerate(scenario.probes):
        for name, table in DEVICE_PROBE_TABLES.items():
            if name == modality and probe[name] is None:
                probe = probe.replaced(**{name: table.load({}, f"probes[{i}].{name}", errors)})
            elif name != modality and probe[name] is not None:
                errors.append((f"probes[{i}].{name}", f"given but modality is {modality!r}"))
        if modality == "cryo" and probe.cryo is not None and probe.cryo.type and "diameter" not in _written_probe(raw, i):
            probe = probe.replaced(diameter=CRYO_CATALOGUE[probe.cryo.type]["diameter"])
        probes.append(probe)
    changes["probes"] = tuple(probes)
    return scenario.replaced(**changes)


def _written_probe(raw, i: int) -> dict:
    """probes[i] as the file wrote it ({} when not a table)."""
    probes = raw.get("probes") if isinstance(raw, dict) else None
    probe = probes[i] if isinstance(probes, list) and i < len(probes) else None
    return probe if isinstance(probe, dict) else {}


#: an ellipsoid's x_axis at least this far from its axis (deg): x_axis is made perpendicular to axis,
#: and closer than 1 deg what remains of it (under 2 % of its length) is set by the rounding of the
#: typed numbers, not by an intended direction
MIN_X_AXIS_ANGLE_DEG = 1.0


def _written_size(value) -> str:
    """A tumour size for a message: '20 mm' or '[20, 10, 10] mm'."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(f"{v * 1e3:g}" for v in value) + "] mm"
    return f"{value * 1e3:g} mm"


def _check_tumor_shapes(s: Record, errors: list) -> None:
    """Each analytic tumour has the sizes its shape needs and a usable frame; before the geometry
    checks, which place the tumours (and would fail on a missing size)."""
    for i, t in enumerate(s.tumors):
        # a size its shape does not use would be ignored silently: the user meant one of the two shapes
        for field, value, used_by in (("diameter", t.diameter, "sphere"), ("diameters", t.diameters, "ellipsoid")):
            if value is not None and t.shape != used_by:
                uses = {"sphere": "'diameter'", "ellipsoid": "'diameters'", "label": "its label region"}[t.shape]
                errors.append((f"tumors[{i}].{field}", f"{_written_size(value)} is given, but shape {t.shape!r} "
                               f"takes its size from {uses}; expected only the size of the shape written "
                               f"(shape = {used_by!r} for this one)"))
        if t.shape == "sphere" and t.diameter is None:
            errors.append((f"tumors[{i}].diameter", "missing; a sphere needs a diameter such as '30 mm'"))
        elif t.shape == "ellipsoid":
            if t.diameters is None:
                errors.append((f"tumors[{i}].diameters", "missing; shape 'ellipsoid' needs three diameters along "
                                                         "its x, y, z axes, e.g. ['30 mm', '20 mm', '20 mm']"))
            elif len(t.diameters) != 3:
                errors.append((f"tumors[{i}].diameters", f"has {len(t.diameters)} entries; expected exactly 3 "
                                                         "(along the ellipsoid's x, y and z axes)"))
            if t.x_axis is not None:
                a, x = np.asarray(t.axis, float), np.asarray(t.x_axis, float)
                a, x = a / np.linalg.norm(a), x / np.linalg.norm(x)
                angle = math.degrees(math.atan2(float(np.linalg.norm(np.cross(a, x))), abs(float(a @ x))))
                if angle < MIN_X_AXIS_ANGLE_DEG:
                    errors.append((f"tumors[{i}].x_axis", f"{_numbers(t.x_axis)} is parallel to axis {_numbers(t.axis)} "
                                   f"({angle:.3g} deg apart): the two give no frame; expected a direction at "
                                   f"least {MIN_X_AXIS_ANGLE_DEG:g} deg from axis (ideally perpendicular to it)"))


def _check_tumor_overlap(s: Record, errors: list) -> None:
    """Tumours written as spheres or ellipsoids are separate regions, as the [anatomy] ones are
    (:func:`ablation.anatomy.loading.overlap_problems`, one rule for both)."""
    from ablation.anatomy.loading import overlap_problems
    from ablation.geometry.shapes import Ellipsoid, orthonormal_frame
    written = [(i, t) for i, t in enumerate(s.tumors) if t.shape in ("sphere", "ellipsoid")]
    if len(written) < 2:
        return
    # a regular lattice of about 4000 points inside the unit ball, mapped into each tumour
    axis = (np.arange(20) + 0.5) / 10.0 - 1.0
    ball = np.stack(np.meshgrid(axis, axis, axis, indexing="ij")).reshape(3, -1)
    ball = ball[:, np.sum(ball ** 2, axis=0) <= 1.0]
    shapes = [Ellipsoid(tumor_name(t, i), np.asarray(t.center, float), tumor_radii(t),
                        orthonormal_frame(t.axis, t.x_axis)) for i, t in written]
    named = [(f"tumors[{i}]", repr(shape.name)) for (i, _), shape in zip(written, shapes)]
    errors.extend(overlap_problems(named, shapes, lambda e: e.center[:, None] + e.frame @ (e.semi_axes[:, None] * ball)))


def _check_geometry(s: Record, errors: list) -> None:
    size = grid_domain_size(s)
    half = size / 2.0
    center = domain_center(s)
    # shapes keep two fine cells from the boundary; a spacing too coarse for the domain is its own
    # error, and must not make every shape read as reaching outside
    margin = 2.0 * min(s.grid.spacing, size / 8)
    if s.grid.spacing > size / 8:
        errors.append(("grid.spacing", f"{s.grid.spacing * 1e3:g} mm leaves fewer than 8 cells across the "
                                       f"{size * 1e3:g} mm domain; expected at most {size / 8 * 1e3:g} mm "
                                       "(1-2 mm resolves a lethal zone's edge)"))

    def inside(point, extent) -> bool:
        return bool(np.all(np.abs(np.asarray(point) - center) + extent <= half - margin))

    surfaces = {}       # analytic tumour index -> points on its surface
    for i, t in enumerate(s.tumors):
        extent = label_tumor_extent(s, i)
        if t.shape == "label":
            if extent is not None and not (inside(extent[0], 0.0) and inside(extent[1], 0.0)):
                errors.append((f"tumors[{i}]", f"{t.name or 'the label tumour'} (box {_mm(extent[0])} to "
                               f"{_mm(extent[1])}) reaches outside the domain (centre {_mm(center)}, size "
                               f"{size * 1e3:g} mm); expected it inside, clear of the boundary"))
            continue
        if t.shape == "sphere" and t.diameter is None:
            errors.append((f"tumors[{i}].diameter", "missing; a sphere needs a diameter such as '30 mm'"))
            continue
        if t.shape == "ellipsoid" and t.diameters is None:
            errors.append((f"tumors[{i}].diameters", "missing; an ellipsoid needs three diameters"))
            continue
        if not inside(t.center, float(np.max(tumor_radii(t)))):
            errors.append((f"tumors[{i}].center", f"{_mm(t.center)} with radius "
                           f"{np.max(tumor_radii(t)) * 1e3:g} mm reaches outside the domain (centre "
                           f"{_mm(center)}, size {size * 1e3:g} mm); expected it inside, "
                           "clear of the boundary"))
        surface = surfaces[i] = tumor_surface_points(t)    # kept for the vessels' lumens below
        for j, p in enumerate(s.probes):
            # a tumour within a needle's radius is inside the needle: no tissue of it is left to ablate
            line = _probe_line(p, center, size)[0]
            if float(np.max(line.distance(surface))) <= p.diameter / 2.0:
                errors.append((f"tumors[{i}]", f"{_mm(t.center)} with radii {_mm(tumor_radii(t))} "
                               f"lies inside probe {j} ({p.diameter * 1e3:g} mm across); expected a tumour of "
                               "tissue around or beside the probe"))
    for i, p in enumerate(s.probes):
        problem = _probe_outside(p, center, size, margin)
        if problem:
            errors.append((f"probes[{i}].{problem[0]}", problem[1]))
        if p.diameter > size / 4:
            errors.append((f"probes[{i}].diameter", f"{p.diameter * 1e3:g} mm is too large for the domain"))
    _check_probe_overlaps(s, center, size, errors)
    _check_insertions(s, errors)
    for i, v in enumerate(s.vessels):
        if np.allclose(v.start, v.end):
            errors.append((f"vessels[{i}].end", "equals start; expected a segment of non-zero length"))
            continue
        # a vessel with no part in the domain cools nothing (it only forced a 3-D grid): a slip
        if not _segment_meets_box(np.asarray(v.start), np.asarray(v.end), np.asarray(center), half + v.radius):
            errors.append((f"vessels[{i}]", f"the vessel from {_mm(v.start)} to {_mm(v.end)} lies wholly outside "
                                            f"the domain (centre {_mm(center)}, size {size * 1e3:g} mm); expected a "
                                            "vessel in or through it (coordinates in mm, in the scenario's frame)"))
            continue
        _check_vessel_probe_overlap(s, i, center, size, errors)
        lumen = Segment(np.asarray(v.start), np.asarray(v.end), v.radius)
        for j, t in enumerate(s.tumors):
            if j in surfaces and float(np.max(lumen.distance(surfaces[j]))) <= v.radius:
                # the grid holds a lumen's cells at blood conditions: no tissue of the tumour would be left
                errors.append((f"tumors[{j}]", f"{_mm(t.center)} with radii {_mm(tumor_radii(t))} lies inside "
                                               f"vessels[{i}]'s lumen (radius {v.radius * 1e3:g} mm); expected a "
                                               "tumour of tissue beside the vessel"))
    g = s.grid
    if g.spacing > g.max_spacing:
        errors.append(("grid.spacing", f"{g.spacing * 1e3:g} mm is larger than grid.max_spacing "
                                       f"({g.max_spacing * 1e3:g} mm); expected spacing <= max_spacing"))
    if g.max_spacing > size / 8:
        errors.append(("grid.max_spacing", f"{g.max_spacing * 1e3:g} mm leaves fewer than 8 cells across "
                                           f"the {size * 1e3:g} mm domain"))
    if s.time.step > s.time.duration:
        errors.append(("time.step", f"{s.time.step:g} s is longer than time.duration ({s.time.duration:g} s)"))
    elif s.time.duration / s.time.step > MAX_TIME_STEPS:
        errors.append(("time.step", f"{s.time.step:g} s over time.duration {s.time.duration:g} s is "
                       f"{s.time.duration / s.time.step:.3g} steps; expected at most {MAX_TIME_STEPS:.0e} (about "
                       "0.1-1 s of computing each: more is a unit slip in step or duration)"))
    if s.time.duration / s.time.output_interval > MAX_SNAPSHOTS:
        errors.append(("time.output_interval", f"{s.time.output_interval:g} s over time.duration "
                       f"{s.time.duration:g} s is {s.time.duration / s.time.output_interval:.3g} field snapshots; "
                       f"expected at most {MAX_SNAPSHOTS} (an interval of at least "
                       f"{s.time.duration / MAX_SNAPSHOTS:.3g} s): each is a file of 0.2-5 MB and a step end"))
    max_step = s.time.get("max_step")   # adaptive stepping's cap (when the [time] table has it)
    if max_step is not None and max_step < s.time.step:
        errors.append(("time.max_step", f"{max_step:g} s is shorter than the first step time.step "
                                        f"({s.time.step:g} s); expected max_step >= step"))
    if g.kind == "axisymmetric":
        reason = axisymmetry_breaker(s)
        if reason:
            errors.append(("grid.kind", f"'axisymmetric' contradicts the geometry: {reason}; use 'auto' or '3d'"))
    if not s.probes:
        # the probes are every modality's only heat source or sink: without one the run computes
        # tissue that stays at its starting temperature
        errors.append(("probes", f"none given; modality {s.modality!r} needs at least one probe ([[probes]]): "
                                 "the probes are its only heat source, so without one nothing is heated or cooled"))
    for i, name in enumerate(list(s.damage.report_criteria or ()) + [s.damage.criterion]):
        if name is not None:
            try:
                parse_criterion(name)
            except ValueError as exc:
                where = "damage.criterion" if i == len(s.damage.report_criteria or ()) else f"damage.report_criteria[{i}]"
                errors.append((where, str(exc)))
    # a criterion or isotherm given twice is a slip (as coverage.criteria); coverage.margins in two
    # units ('5 mm', '0.5 cm') are merged into one margin instead (tests/test_coverage.py)
    lists = [("damage.report_criteria", list(s.damage.report_criteria or ()), "criterion")]
    if s.modality == "cryo" and s.get("cryo") is not None:
        lists.append(("cryo.isotherms", [round(t * 1e6) for t in s.cryo.isotherms or ()], "isotherm"))
    for path, values, what in lists:
        for i, value in enumerate(values):
            if value in values[:i]:
                errors.append((f"{path}[{i}]", f"the same {what} as {path}[{values.index(value)}]; expected each "
                                               f"{what} once"))


def _probe_outside(p, center, size: float, margin: float) -> tuple[str, str] | None:
    """(field, message) when probe record ``p``'s active part is not inside the cubic domain
    (``center``, ``size``) clear of ``margin``, else None. The shaft may leave the domain, the
    heating or freezing part may not: the grid would cut it."""
    half = size / 2.0

    def inside(point, extent) -> bool:
        return bool(np.all(np.abs(np.asarray(point) - center) + extent <= half - margin))

    back = np.asarray(p.tip) - np.asarray(p.direction) / np.linalg.norm(p.direction) * p.active_length
    if np.any(np.abs(back - np.asarray(p.tip)) + p.diameter > size - 2.0 * margin):
        return "active_length", (f"{p.active_length * 1e3:g} mm does not fit in the {size * 1e3:g} mm domain; "
                                 "expected the active part inside it (a shorter active_length or a larger "
                                 "domain.size)")
    if not inside(p.tip, p.diameter / 2.0):
        return "tip", (f"{_mm(p.tip)} lies outside the domain (centre {_mm(center)}, size {size * 1e3:g} mm); "
                       "expected a point inside it")
    if not inside(back, p.diameter / 2.0):
        return "active_length", (f"{p.active_length * 1e3:g} mm from the tip reaches {_mm(back)}, outside the "
                                 f"domain (centre {_mm(center)}, size {size * 1e3:g} mm); expected the active "
                                 "part inside it (a shorter active_length or a larger domain.size)")
    return None


def _check_insertions(s: Record, errors: list) -> None:
    """[[placement.insertions]] are solved one after another on one 3-D grid placed around all of
    them (ablation.outcome.placement.resolve.run_sequence): each must fit in that domain as a probe
    must in the scenario's."""
    section = s.get("placement")
    if section is None or not section.insertions or not s.probes:
        return
    first = s.probes[0]
    probes = [first] + [first.replaced(tip=ins.tip, direction=ins.direction or first.direction)
                        for ins in section.insertions]
    every = s.replaced(probes=tuple(probes))
    center, size = domain_center(every), grid_domain_size(every)
    margin = 2.0 * min(s.grid.spacing, size / 8)
    for k, probe in enumerate(probes[1:]):
        problem = _probe_outside(probe, center, size, margin)
        if problem:
            message = problem[1] if problem[0] == "tip" else f"its active part: {problem[1]}"
            errors.append((f"placement.insertions[{k}].tip", message + " (the one grid of the insertion "
                                                                       "sequence, placed around every insertion)"))
    problem = _probe_outside(first, center, size, margin)
    if problem and not any(path.startswith("placement.insertions[") for path, _ in errors):
        # the grid of the sequence is centred on every insertion: far apart, they push probe 0 out
        errors.append(("placement.insertions", f"the insertions spread over more than the {size * 1e3:g} mm "
                       f"domain: centred on all of them it leaves probes[0] outside ({problem[1]}); expected "
                       "insertions closer to the first probe or a larger domain.size"))


def _probe_line(p, center, size: float) -> tuple[Segment, np.ndarray, np.ndarray]:
    """A probe's centre line from its tip back through its shaft to beyond the domain (the shaft runs
    to the boundary), its points inside the domain (shaft first, tip last) and their distances
    behind the tip."""
    d = np.asarray(p.direction) / np.linalg.norm(p.direction)
    reach = p.active_length + math.sqrt(3.0) * size          # to beyond any domain corner
    line = Segment(np.asarray(p.tip) - d * reach, np.asarray(p.tip), 0.0)
    pts = line.sample_points(max(0.2e-3, reach / 20000))
    pts = pts[:, np.all(np.abs(pts - np.asarray(center)[:, None]) <= size / 2.0, axis=0)]
    return line, pts, (np.asarray(p.tip) - pts.T) @ d


def _check_probe_overlaps(s: Record, center, size: float, errors: list) -> None:
    """Two needles cannot share cells: neither active part may come within the two radii of the
    other probe's active part or of its shaft inside the domain (a shaft crossing an active part would
    leave the grid to hold the same cells insulated and heating or freezing)."""
    lines = [_probe_line(p, center, size) for p in s.probes]
    for i, a in enumerate(s.probes):
        for j in range(i):
            b = s.probes[j]
            clearance = (a.diameter + b.diameter) / 2.0
            for first, second, (k, line_k), (m, line_m) in ((a, b, (i, lines[i]), (j, lines[j])),
                                                          (b, a, (j, lines[j]), (i, lines[i]))):
                _, pts, along = line_k
                active = along <= first.active_length      # this probe's active part...
                if not active.any():
                    continue
                gaps = line_m[0].distance(pts[:, active]) - clearance      # ...against all of the other
                if gaps.size and float(gaps.min()) < 0.0:
                    where = int(np.argmin(gaps))
                    point = pts[:, active][:, where]
                    d_other = np.asarray(second.direction) / np.linalg.norm(second.direction)
                    part = "active part" if (np.asarray(second.tip) - point) @ d_other <= second.active_length \
                        else "shaft"
                    errors.append((f"probes[{i}].tip", f"probe {k}'s active part overlaps probe {m}'s {part} (at "
                                                       f"{_mm(point)}); expected each probe's active part at least "
                                                       "one diameter from every other probe, its shaft included"))
                    break
            else:
                # two shafts crossing inside the domain: two needles through one place
                _, pts, along = lines[i]
                shaft = along > a.active_length
                gaps = lines[j][0].distance(pts[:, shaft]) - clearance if shaft.any() else np.empty(0)
                if gaps.size and float(gaps.min()) < 0.0:
                    point = pts[:, shaft][:, int(np.argmin(gaps))]
                    errors.append((f"probes[{i}].direction", f"probe {i}'s shaft crosses probe {j}'s shaft (at "
                                                             f"{_mm(point)}); expected needles whose shafts keep at "
                                                             "least one diameter apart inside the domain"))


def _check_vessel_probe_overlap(s: Record, i: int, center, size: float, errors: list) -> None:
    """A vessel's tube may not cut through a probe, its active part or its shaft (which runs to the
    domain boundary): the grid would hold the same cells at blood and at probe conditions. As
    :func:`_check_probe_overlaps`, on points of the probe's centre line, here those inside the domain."""
    v = s.vessels[i]
    vessel = Segment(np.asarray(v.start), np.asarray(v.end), v.radius)
    for j, p in enumerate(s.probes):
        d = np.asarray(p.direction) / np.linalg.norm(p.direction)
        _, pts, _ = _probe_line(p, center, size)
        if pts.shape[1] == 0:
            continue
        gaps = vessel.distance(pts) - v.radius - p.diameter / 2.0
        bad = np.nonzero(gaps < 0.0)[0]
        if bad.size:
            # the deepest overlap, the one nearest the tip among equals (points run from shaft to tip)
            k = int(np.nonzero(gaps <= gaps.min() + 1e-9)[0][-1])
            along = float((np.asarray(p.tip) - pts[:, k]) @ d)
            part = "active part" if along <= p.active_length else "shaft"
            errors.append((f"vessels[{i}]", f"the vessel from {_mm(v.start)} to {_mm(v.end)} (radius "
                           f"{v.radius * 1e3:g} mm) overlaps probe {j}'s {part} ({along * 1e3:.3g} mm behind its tip "
                           f"{_mm(p.tip)}); expected vessels clear of every probe (a needle cannot run "
                           "inside a vessel)"))


def _segment_meets_box(a, b, center, half: float) -> bool:
    """Whether the segment a-b meets the cube of half-width ``half`` about ``center`` (slab test)."""
    low, high = 0.0, 1.0
    d = b - a
    for k in range(3):
        lo, hi = center[k] - half, center[k] + half
        if d[k] == 0.0:
            if not lo <= a[k] <= hi:
                return False
            continue
        t1, t2 = (lo - a[k]) / d[k], (hi - a[k]) / d[k]
        low, high = max(low, min(t1, t2)), min(high, max(t1, t2))
        if low > high:
            return False
    return True


def _numbers(vector) -> str:
    return "[" + ", ".join(f"{v:g}" for v in vector) + "]"


def _mm(point) -> str:
    return "[" + ", ".join(f"{v * 1e3:g}" for v in point) + "] mm"

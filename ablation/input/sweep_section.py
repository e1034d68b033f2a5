"""The scenario's ``[sweep]`` table: which scenario fields vary, how they are sampled, which
metrics are tabulated (issue 13). Declared here so that ``ablation validate`` and the JSON Schema
know it; ``ablation run`` ignores it. :mod:`ablation.sweep` builds and runs the design.

A parameter is a dotted scenario path (``tissue.perfusion``, ``probes[0].active_length``,
``probes[0].tip[2]`` for one coordinate) with exactly one of

* ``values``: a list of values as written in a scenario file (full factorial in design mode);
* ``range = {start, stop, count}``: ``count`` evenly spaced values, both ends included;
* ``distribution``: uniform (low, high), normal (mean, sd), lognormal (median, sigma of ln) or
  triangular (low, mode, high), with units as in a scenario file.

Distributions are sampled on their central 1 - 2 x :data:`TAIL` probability (the unit-cube samples
are clipped to [TAIL, 1 - TAIL]); both ends of that interval must lie in the field's valid range,
so e.g. a normal perfusion that reaches below 0 is refused, not computed.

Everything here checks field by field. A value that breaks a rule between fields (a probe moved
outside the domain) is found when a scenario file is loaded, which builds the samples' scenarios
without solving them (ablation.input.scenario._check_sweep_samples; a design too large to build
whole is checked one value at a time); a sample that still fails (a combination, or a table built
in code) fails alone when the sweep builds its scenario, and is recorded as a failure.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ablation.input.plausibility import MAX_SWEEP_RUNS, TEMPERATURE_RANGES, check_temperature, pattern
from ablation.input.schema import (Boolean, Choice, ListOf, Number, Perfusion, Quantity, Schedule, Spec, String,
                                   Table, Vector, describe, parse_path)
from ablation.input.units import UnitError, parse_perfusion, parse_quantity, si_unit
from ablation.outcome.placement import APPROACHES

#: probability left out in each tail of a distribution (assumption: a 1e-6 tail is far beyond what
#: a sweep of up to 1e5 samples resolves, and it keeps normal and lognormal samples finite)
TAIL = 1e-6

MODES = ("design", "uncertainty", "sensitivity")
METHODS = ("auto", "factorial", "sobol", "lhs", "morris")
DISTRIBUTIONS = {"uniform": ("low", "high"), "normal": ("mean", "sd"), "lognormal": ("median", "sigma"),
                 "triangular": ("low", "mode", "high")}

#: every metric a sweep can tabulate: name -> (unit, description, needs). ``needs``: 'tumor' for
#: tumour metrics, 'placement' for the placement Monte Carlo, None for every run.
#: Per approach, the placement metrics are repeated with the suffix _<approach>.
METRICS = {
    "lesion_volume_ml": ("mL", "lesion volume (the run's lesion criterion)", None),
    "lesion_long_axis_mm": ("mm", "lesion long axis, along the probe", None),
    "lesion_short_axis_mm": ("mm", "lesion short axis, across the probe", None),
    "max_temperature_C": ("degC", "highest tissue temperature of the run", None),
    "energy_J": ("J", "energy delivered or extracted by the device(s) (summary device.energy_J)", None),
    "coverage": ("1", "planned placement: tumour volume fraction in the lesion (smallest over tumours)", "tumor"),
    "min_margin_mm": ("mm", "planned placement: minimal ablative margin (smallest over tumours)", "tumor"),
    "technical_success": ("1", "planned placement: every tumour fully covered (1) or not (0)", "tumor"),
    "p_technical_success": ("1", "P(technical success) under placement error, the scenario's approach",
                            "placement"),
    "p_margin_5mm": ("1", "P(minimal margin >= 5 mm) under placement error, the scenario's approach",
                     "placement"),
}
PER_APPROACH = ("p_technical_success", "p_margin_5mm")
#: any number in summary.json by its dotted path, e.g. 'summary.tumors[0].margin_coverage.5' (NaN when absent)
SUMMARY_PREFIX = "summary."
_SUMMARY_STEP = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def summary_path(dotted: str) -> list:
    """'tumors[0].margin_coverage.5' -> ['tumors', 0, 'margin_coverage', '5'] (summary.json keys may be
    numbers written as text); raises ValueError on a malformed path."""
    out = []
    for part in dotted.split("."):
        match = _SUMMARY_STEP.fullmatch(part)
        if not match:
            raise ValueError(f"{SUMMARY_PREFIX}{dotted!s} is not a dotted path into summary.json such as "
                             "'summary.tumors[0].margin_coverage.5'")
        out.append(match.group(1))
        out += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return out


class AsWritten(Spec):
    """A value as a scenario file writes it (a quantity with its unit, a number, a list ...); its
    meaning depends on the swept path, checked by :func:`check_sweep`."""

    def __init__(self, description="", default=None):
        super().__init__(description, default)

    def load(self, value, path, errors):
        if isinstance(value, dict):
            errors.append((path, f"{describe(value)} is a table; expected a value as written in a scenario file"))
            return None
        return value

    def json_schema(self):
        return self._base_schema()


RANGE = Table("count evenly spaced values from start to stop, both included", fields={
    "start": AsWritten("first value, as written in a scenario file (e.g. '0 1/s')", None),
    "stop": AsWritten("last value, as written in a scenario file", None),
    "count": Number("number of values [count]", None, minimum=1, maximum=MAX_SWEEP_RUNS, integer=True),
})

PARAMETER = Table("one varied scenario field: a dotted path and exactly one of values, range, distribution",
                  fields={
    "path": String("dotted scenario path, e.g. 'tissue.perfusion', 'probes[0].active_length', "
                   "'probes[0].tip[2]'"),
    "values": ListOf("values as written in a scenario file (design mode: full factorial)", None,
                     item=AsWritten()),
    "range": Table(RANGE.description, None, fields=RANGE.fields),
    "distribution": Choice("uniform (low, high), normal (mean, sd), lognormal (median, sigma), triangular "
                           "(low, mode, high)", None, options=tuple(DISTRIBUTIONS)),
    "low": AsWritten("lower end (uniform, triangular), with the field's unit"),
    "high": AsWritten("upper end (uniform, triangular), with the field's unit"),
    "mode": AsWritten("most likely value (triangular), with the field's unit"),
    "mean": AsWritten("mean (normal), with the field's unit"),
    "sd": AsWritten("standard deviation (normal), with the field's unit (temperatures as a difference, "
                    "e.g. '2 K')"),
    "median": AsWritten("median (lognormal), with the field's unit"),
    "sigma": Number("standard deviation of ln(value) (lognormal) [1]", None, minimum=0.0, exclusive_minimum=True),
})

SWEEP_SECTION = Table("a parameter sweep, uncertainty propagation or global sensitivity study run by "
                      "`ablation sweep` (docs/sweeps.md); `ablation run` ignores it", None, fields={
    "mode": Choice("design (full factorial of values and ranges), uncertainty (distributions sampled by "
                   "Sobol or Latin hypercube), sensitivity (Sobol indices by Saltelli sampling, or Morris "
                   "screening)", "design", options=MODES),
    "method": Choice("auto (design: factorial; uncertainty: sobol; sensitivity: sobol), factorial, sobol, "
                     "lhs (uncertainty) or morris (sensitivity)", "auto", options=METHODS),
    "samples": Number("uncertainty: number of samples; sensitivity with sobol: SALib's base sample count N "
                      "(a power of 2; N (D + 2) runs for D parameters); morris: trajectories (r (D + 1) "
                      "runs) [count]", None, minimum=1, maximum=MAX_SWEEP_RUNS, integer=True),
    "levels": Number("Morris grid levels [count] (SALib's default)", 4, minimum=2, integer=True),
    "second_order": Boolean("also second-order Sobol indices (N (2D + 2) runs)", False),
    "seed": Number("seed of the design and of every sample's placement draws [integer]", 12345, minimum=0,
                   integer=True),
    "bootstrap": Number("bootstrap resamples for the confidence intervals of the indices [count] "
                        "(assumption: 1000 makes the interval ends stable to about 2 digits; at most 100000, "
                        "a hundred times that, beyond which only time and memory grow)", 1000, minimum=10,
                        maximum=100000, integer=True),
    "confidence": Number("confidence level of the intervals", 0.95, minimum=0.5, maximum=0.999),
    "metrics": ListOf(f"metrics in the table (default: every one the scenario yields): "
                      f"{', '.join(METRICS)}; per approach p_technical_success_<approach>, "
                      "p_margin_5mm_<approach>; any number of summary.json as 'summary.<dotted path>', e.g. "
                      "'summary.tumors[0].margin_coverage.5'", None, item=String()),
    "approaches": ListOf("placement approaches whose Monte Carlo runs on every sample (needs tumours and "
                         "probes)", list(APPROACHES), item=Choice(options=APPROACHES)),
    "parameters": ListOf("the varied fields", item=PARAMETER, min_items=1),
})


# ------------------------------------------------------------------------------- swept fields
@dataclass(frozen=True)
class SweptField:
    """How the value at one path is written and converted: ``spec`` is the field's schema entry;
    ``component`` the coordinate index when the path names one coordinate of a vector."""
    path: str
    spec: Spec
    component: int | None = None

    @property
    def numeric(self) -> bool:
        return isinstance(self.spec, (Quantity, Perfusion, Number)) or self.component is not None

    @property
    def dimension(self) -> str | None:
        if isinstance(self.spec, Quantity):
            return self.spec.dimension
        if isinstance(self.spec, Perfusion):
            return "perfusion"
        return None

    @property
    def unit(self) -> str:
        """The unit of the value in the results table (SI; temperatures degC)."""
        if self.component is not None:
            return {"mm": "m", "m": "m", "1": "1"}[self.spec.unit]
        return si_unit(self.dimension) if self.dimension else "1"

    def to_si(self, written, difference: bool = False) -> float:
        """The SI number of a value as written; raises ValueError naming what was expected."""
        try:
            if self.component is not None:
                if isinstance(written, bool) or not isinstance(written, (int, float)):
                    raise ValueError(f"{describe(written)} is not a number; expected a coordinate in "
                                     f"{self.spec.unit} as in the vector")
                return float(written) * {"mm": 1e-3, "m": 1.0, "1": 1.0}[self.spec.unit]
            if isinstance(self.spec, Perfusion):
                value, clinical = parse_perfusion(written)
                if clinical:
                    raise ValueError(f"{describe(written)}: give the perfusion in 1/s or 1/min here (the "
                                     "mL/min/100g form needs a density)")
                return value
            if isinstance(self.spec, Quantity):
                dimension = "temperature_difference" if difference and self.dimension == "temperature" else \
                    self.dimension
                return parse_quantity(written, dimension)
            if isinstance(self.spec, Number):
                if isinstance(written, bool) or not isinstance(written, (int, float)):
                    raise ValueError(f"{describe(written)} is not a number")
                return float(written)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        raise ValueError(f"the field is not a number; list its values instead (values = [...])")

    def written(self, value: float):
        """``value`` (SI) as a scenario file writes it."""
        if self.component is not None:
            return value / {"mm": 1e-3, "m": 1.0, "1": 1.0}[self.spec.unit]
        if isinstance(self.spec, Number):
            return int(round(value)) if self.spec.integer else float(value)
        return f"{value!r} {self.unit}"

    def check(self, written, where: str, errors: list, plausible: bool = True) -> None:
        """Whether ``written`` is a valid value of this field (its own bounds only; with
        ``plausible``, a temperature's plausible range too)."""
        if self.component is not None:
            vector = [written] * self.spec.length if not self.spec.nonzero else \
                [written if k == self.component else 0 for k in range(self.spec.length)]
            if self.spec.nonzero and written == 0:
                return          # a zero component is fine; the whole vector is checked with the sample
            self.spec.load(vector, where, errors)
            return
        before = len(errors)
        value = self.spec.load(written, where, errors)
        # a temperature field's plausible range (ablation.input.plausibility), as the loaded scenario's
        key = pattern(self.path)
        if (plausible and len(errors) == before and value is not None and self.dimension == "temperature"
                and key in TEMPERATURE_RANGES):
            check_temperature(value, written, where, errors, key=key)


def swept_field(root: Table, path: str) -> SweptField:
    """The schema entry at a dotted scenario ``path``; raises ValueError with the reason."""
    steps = parse_path(path)
    spec, component = root, None
    walked = []
    for k, step in enumerate(steps):
        if isinstance(step, int):
            if isinstance(spec, ListOf):
                spec = spec.item
            elif isinstance(spec, Vector) and k == len(steps) - 1 and step < spec.length:
                component = step
            elif isinstance(spec, Vector) and k == len(steps) - 1:
                raise ValueError(f"index {step} is out of range; {'.'.join(walked)} has {spec.length} components "
                                 f"(indices 0-{spec.length - 1})")
            elif isinstance(spec, Vector):
                raise ValueError(f"{'.'.join(walked)}[{step}]: a component of {'.'.join(walked)} is one number; "
                                 "expected at most one index, into a vector (e.g. probes[0].tip[2])")
            elif isinstance(spec, Schedule):
                raise ValueError(f"{'.'.join(walked)} is a schedule of [time, value] points; a sweep changes one "
                                 "field or one vector component, not a point of a schedule")
            else:
                raise ValueError(f"{'.'.join(walked) or path} is not a list; no index [{step}] there")
            walked[-1] += f"[{step}]"
            continue
        if not isinstance(spec, Table):
            raise ValueError(f"{'.'.join(walked)} is a value, not a table with a field {step!r}")
        if step not in spec.fields:
            near = ", ".join(sorted(spec.fields))
            raise ValueError(f"{step!r} is not a field of {'.'.join(walked) or 'the scenario'}; expected one of: {near}")
        spec = spec.fields[step]
        walked.append(step)
    if isinstance(spec, (Table, ListOf)) and component is None:
        raise ValueError(f"{path} is a {'table' if isinstance(spec, Table) else 'list'}; expected a path to "
                         "one field, e.g. tissue.perfusion")
    if path.split(".")[0] == "sweep":
        raise ValueError("the [sweep] section itself cannot be swept")
    return SweptField(path, spec, component)


def _index_in_range(scenario, path: str) -> str | None:
    """A message when ``path`` indexes past the end of a list of ``scenario`` (e.g. probes[2] of 1)."""
    node = scenario
    for step in parse_path(path):
        if isinstance(step, int):
            if not isinstance(node, (list, tuple)):
                return None
            if step >= len(node):
                return f"index {step} is out of range; the scenario has {len(node)} entries there"
            node = node[step]
        else:
            if node is None or not hasattr(node, "get"):
                return None
            node = node.get(step)
    return None


# ------------------------------------------------------------------------------- parsed section
@dataclass(frozen=True)
class SweepParameter:
    """One varied field, checked: ``kind`` 'values' (``values`` as written), or 'distribution'
    (``distribution`` name and ``shape``, its parameters in SI). Ranges become values."""
    path: str
    field: SweptField
    kind: str
    values: tuple = ()
    distribution: str | None = None
    shape: tuple = ()

    @property
    def name(self) -> str:
        return self.path

    def value_si(self, written):
        """A listed value in SI (its number) when the field is a number, else the value as written."""
        try:
            return self.field.to_si(written)
        except ValueError:
            return written

    def quantile(self, u):
        """The distribution's quantile function at ``u`` (numpy array in (0, 1)), in SI."""
        import numpy as np
        from scipy import stats
        u = np.clip(np.asarray(u, float), TAIL, 1.0 - TAIL)
        if self.distribution == "uniform":
            low, high = self.shape
            return low + (high - low) * u
        if self.distribution == "normal":
            mean, sd = self.shape
            return stats.norm.ppf(u, loc=mean, scale=sd)
        if self.distribution == "lognormal":
            median, sigma = self.shape
            return median * np.exp(sigma * stats.norm.ppf(u))
        low, mode, high = self.shape
        c = 0.5 if high == low else (mode - low) / (high - low)
        return stats.triang.ppf(u, c, loc=low, scale=high - low)


def parse_sweep(scenario, root: Table, errors: list) -> tuple[SweepParameter, ...]:
    """The checked parameters of ``scenario.sweep``; problems are appended to ``errors`` naming
    ``sweep.parameters[i].<key>`` and the path."""
    section = scenario.get("sweep")
    if section is None:
        return ()
    out, seen = [], {}
    for i, p in enumerate(section.parameters or ()):
        where = f"sweep.parameters[{i}]"
        try:
            field = swept_field(root, p.path)
        except ValueError as exc:
            errors.append((f"{where}.path", f"{p.path!r}: {exc}"))
            continue
        problem = _index_in_range(scenario, p.path)
        if problem:
            errors.append((f"{where}.path", f"{p.path!r}: {problem}"))
            continue
        if p.path in seen:
            errors.append((f"{where}.path", f"{p.path!r} is already swept by sweep.parameters[{seen[p.path]}]"))
            continue
        seen[p.path] = i
        given = [k for k in ("values", "range", "distribution") if p[k] is not None]
        if len(given) != 1:
            errors.append((where, f"{p.path}: {'both ' + ' and '.join(given) if given else 'none of values, range, distribution'} "
                                  "given; expected exactly one"))
            continue
        parameter = _parse_parameter(p, field, where, given[0], errors)
        if parameter is not None:
            out.append(parameter)
    return tuple(out)


def _parse_parameter(p, field: SweptField, where: str, kind: str, errors: list) -> SweepParameter | None:
    before = len(errors)
    name = p.path
    if kind == "values":
        if not p["values"]:
            errors.append((f"{where}.values", f"{name}: the list is empty, which gives zero samples; expected at "
                                              "least one value"))
            return None
        for k, v in enumerate(p["values"]):
            field.check(v, f"{where}.values[{k}] ({name})", errors)
        return SweepParameter(name, field, "values", tuple(p["values"])) if len(errors) == before else None
    if kind == "range":
        r = p.range
        missing = [k for k in ("start", "stop", "count") if r[k] is None]
        if missing:
            errors.append((f"{where}.range", f"{name}: {', '.join(missing)} missing; expected start, stop and count"))
            return None
        try:
            start, stop = field.to_si(r.start), field.to_si(r.stop)
        except ValueError as exc:
            errors.append((f"{where}.range", f"{name}: {exc}"))
            return None
        count = int(r.count)
        if count == 1 and stop != start:
            errors.append((f"{where}.range.count", f"{name}: 1 value from start to stop would leave stop unused; "
                                                   "expected a count of at least 2 (or values = [start] for one)"))
            return None
        values = [start + (stop - start) * k / (count - 1) for k in range(count)] if count > 1 else [start]
        written = tuple(field.written(v) for v in values)
        for k, v in enumerate(written):
            field.check(v, f"{where}.range ({name}, value {k})", errors)
        return SweepParameter(name, field, "values", written) if len(errors) == before else None
    # a distribution
    keys = DISTRIBUTIONS[p.distribution]
    missing = [k for k in keys if p[k] is None]
    extra = [k for k in ("low", "high", "mode", "mean", "sd", "median", "sigma") if k not in keys and p[k] is not None]
    if missing or extra:
        errors.append((where, f"{name}: distribution {p.distribution!r} takes {', '.join(keys)}"
                              + (f"; missing {', '.join(missing)}" if missing else "")
                              + (f"; {', '.join(extra)} do(es) not belong to it" if extra else "")))
        return None
    if not field.numeric:
        errors.append((f"{where}.distribution", f"{name} is not a number field; list its values instead"))
        return None
    shape = []
    for key in keys:
        try:
            shape.append(float(p[key]) if key == "sigma" else field.to_si(p[key], difference=key == "sd"))
        except ValueError as exc:
            errors.append((f"{where}.{key}", f"{name}: {exc}"))
    if len(errors) > before:
        return None
    parameter = SweepParameter(name, field, "distribution", distribution=p.distribution, shape=tuple(shape))
    # the values as written ('2.5 mm'), not in SI: the message should read like the file
    if p.distribution in ("uniform", "triangular") and not shape[0] < shape[-1]:
        errors.append((f"{where}.high", f"{name}: high ({p['high']!r}) must be greater than low ({p['low']!r})"))
        return None
    if p.distribution == "triangular" and not shape[0] <= shape[1] <= shape[2]:
        errors.append((f"{where}.mode", f"{name}: the mode ({p['mode']!r}) must lie between low ({p['low']!r}) "
                                        f"and high ({p['high']!r})"))
        return None
    if p.distribution == "normal" and not shape[1] > 0:
        errors.append((f"{where}.sd", f"{name}: the standard deviation ({p['sd']!r}) must be positive"))
        return None
    if p.distribution == "lognormal" and not shape[0] > 0:
        errors.append((f"{where}.median", f"{name}: the median of a lognormal ({p['median']!r}) must be positive"))
        return None
    # both ends of the sampled interval must be valid values of the field
    lo, hi = (float(v) for v in parameter.quantile([TAIL, 1.0 - TAIL]))
    for end, value in (("lower", lo), ("upper", hi)):
        found: list = []
        # the field's own bounds here; its plausible range when a file's samples are built
        # (scenario._check_sweep_samples): analytic test designs sweep temperature fields freely
        field.check(field.written(value), name, found, plausible=False)
        if found:
            errors.append((f"{where}.distribution", f"{name}: the {p.distribution} distribution reaches "
                                                    f"{value:.6g} {field.unit} at its {end} end (quantile "
                                                    f"{TAIL if end == 'lower' else 1 - TAIL:g}), outside the "
                                                    f"field's valid range ({found[0][1]}); "
                                                    + (f"move {'low' if end == 'lower' else 'high'} inside that range"
                                                       if p.distribution in ("uniform", "triangular") else
                                                       "narrow it or use a bounded distribution (uniform, "
                                                       "triangular)")))
            return None
    return parameter


def available_metrics(scenario, approaches) -> list[str]:
    """The metrics ``scenario`` yields, in table order."""
    has_tumor = bool(scenario.tumors)
    placement = has_tumor and bool(scenario.probes) and (scenario.get("placement") is None or
                                                         scenario.placement.enabled)
    names = [m for m, (_, _, needs) in METRICS.items()
             if needs is None or (needs == "tumor" and has_tumor) or (needs == "placement" and placement)]
    if placement:
        names += [f"{m}_{a}" for a in approaches for m in PER_APPROACH]
    return names


def _run_count(section, parameters) -> int:
    """Solves the design will run (0 when its sample count is missing)."""
    if section.mode == "design":
        return math.prod(len(p.values) for p in parameters if p.kind == "values") if parameters else 0
    n, d = int(section.samples or 0), len(parameters)
    if section.mode == "uncertainty":
        return n
    if section.method == "morris":
        return n * (d + 1)
    return n * ((2 * d + 2) if section.second_order else (d + 2))


def check_sweep(scenario, root: Table, errors: list) -> None:
    """Rules of ``[sweep]``: parameters (see :func:`parse_sweep`), mode and method agree with them,
    a sample count where one is needed, known metrics."""
    section = scenario.get("sweep")
    if section is None:
        return
    parameters = parse_sweep(scenario, root, errors)
    mode, method = section.mode, section.method
    allowed = {"design": ("auto", "factorial"), "uncertainty": ("auto", "sobol", "lhs"),
               "sensitivity": ("auto", "sobol", "morris")}[mode]
    if method not in allowed:
        errors.append(("sweep.method", f"{method!r} does not go with mode {mode!r}; expected one of "
                                       f"{', '.join(allowed)}"))
    for i, p in enumerate(parameters):
        if mode == "design" and p.kind != "values":
            errors.append((f"sweep.parameters[{i}].distribution", f"{p.path}: mode 'design' takes values or a "
                                                                  "range; a distribution needs mode 'uncertainty' or "
                                                                  "'sensitivity'"))
        if mode != "design" and p.kind != "distribution":
            errors.append((f"sweep.parameters[{i}]", f"{p.path}: mode {mode!r} samples distributions; give a "
                                                     "distribution (e.g. uniform with low and high)"))
    if mode != "design" and section.samples is None:
        errors.append(("sweep.samples", f"missing; mode {mode!r} needs a sample count (zero samples otherwise)"))
    runs = _run_count(section, parameters)
    if runs > MAX_SWEEP_RUNS:
        where = "sweep.parameters" if mode == "design" else "sweep.samples"
        errors.append((where, f"the {mode} would run {runs:.3g} solves; expected at most {MAX_SWEEP_RUNS} (each is a "
                              "full solve: 100 000 of a 10 s scenario take a week on two cores)"))
    if mode == "sensitivity" and len(parameters) < 2 and not errors:
        errors.append(("sweep.parameters", "a sensitivity study needs at least 2 parameters"))
    if mode == "sensitivity" and method in ("auto", "sobol") and section.samples:
        n = int(section.samples)
        if n & (n - 1):
            errors.append(("sweep.samples", f"{n} is not a power of 2; Saltelli's Sobol design keeps its balance "
                                            "only for N = 2^k (e.g. 32, 64, 128)"))
    known = available_metrics(scenario, section.approaches)
    for i, name in enumerate(section.metrics or ()):
        if name in (section.metrics or ())[:i]:   # one column per metric in the table
            errors.append((f"sweep.metrics[{i}]", f"{name!r} is given twice; expected each metric once"))
            continue
        if name.startswith(SUMMARY_PREFIX):
            try:
                summary_path(name[len(SUMMARY_PREFIX):])
            except ValueError as exc:
                errors.append((f"sweep.metrics[{i}]", str(exc)))
            continue
        if name not in known:
            errors.append((f"sweep.metrics[{i}]", f"{name!r} is not a metric this scenario yields; expected one of "
                                                  f"{', '.join(known)}"))
    if section.metrics is not None and not section.metrics:
        errors.append(("sweep.metrics", "the list is empty; expected at least one metric (or leave it out)"))
    if not math.isfinite(section.confidence):
        errors.append(("sweep.confidence", "not finite"))

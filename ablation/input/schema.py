"""A small declarative schema: one definition gives validation, SI conversion, defaults and a
JSON Schema for editors.

Each field is a :class:`Spec`. ``Spec.load(value, path, errors)`` returns the converted value and
appends ``(path, message)`` to ``errors`` instead of raising, so a scenario with several mistakes
reports all of them at once. Tables reject unknown keys.
"""
from __future__ import annotations

import abc
import math
import re
import unicodedata
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Callable

from ablation.input.plausibility import (DIRECTION_NORM_RANGE, MAX_COORDINATE_M, MAX_DURATION_S, MAX_LENGTH_M,
                                        MIN_LENGTH)
from ablation.input.units import EXAMPLES, UnitError, parse_perfusion, parse_quantity, si_unit

MISSING = object()

# why no time in a scenario (a phase, a schedule point, an off time) exceeds the longest simulated time
DURATION_REASON = (f"no time in a scenario exceeds the longest simulated time, {MAX_DURATION_S / 3600:g} h; "
                   "ablation protocols last minutes to about an hour")


class Record(Mapping):
    """A loaded table: an immutable mapping whose keys are also attributes (``probe.tip``).

    Picklable and deep-copyable (process pools and sweeps send scenarios to workers). Change a
    value with :meth:`replaced`, which returns a copy."""

    __slots__ = ("_data",)

    def __init__(self, data=(), **kwargs):
        object.__setattr__(self, "_data", dict(data, **kwargs))

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        raise TypeError("scenario records are read-only; use .replaced(...) for a changed copy")

    def __reduce__(self):
        return (type(self), (self._data,))

    def __deepcopy__(self, memo):
        import copy
        return type(self)(copy.deepcopy(self._data, memo))

    def __eq__(self, other):
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    __hash__ = None

    def __repr__(self) -> str:
        return f"Record({self._data!r})"

    def replaced(self, **changes: Any) -> "Record":
        """A copy with some keys changed (how sweeps and placement samples vary a scenario)."""
        data = dict(self._data)
        data.update(changes)
        return Record(data)


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


@dataclass
class Spec(abc.ABC):
    description: str = ""
    default: Any = MISSING

    @abc.abstractmethod
    def load(self, value: Any, path: str, errors: list) -> Any:
        """The converted value; problems are appended to ``errors`` as (path, message)."""

    @abc.abstractmethod
    def json_schema(self) -> dict:
        """This field's JSON Schema."""

    def _base_schema(self) -> dict:
        out = {"description": self.description}
        if self.default is not MISSING and self.default is not None:
            out["default"] = self.default
        return out


@dataclass
class Quantity(Spec):
    """A number with a unit of ``dimension``; optional bounds are in SI (degC for temperatures)."""
    dimension: str = "length"
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    nullable: bool = False
    bound_reason: str = ""   # why the maximum: said with an out-of-range value (plausibility rule)
    minimum_reason: str = ""   # why the minimum, when it is a plausibility rule rather than a sign

    def load(self, value, path, errors):
        if value is None and self.nullable:
            return None
        try:
            number = parse_quantity(value, self.dimension)
        except UnitError as exc:
            errors.append((path, str(exc)))
            return None
        minimum, exclusive, maximum = self.checked_bounds()
        if minimum is not None and (number < minimum or (exclusive and number <= minimum)):
            reason = MIN_LENGTH[1] if minimum != self.minimum else (self.minimum_reason or self.bound_reason)
        elif maximum is not None and number > maximum and maximum != self.maximum:
            reason = DURATION_REASON if self.dimension == "time" else self.bound_reason
        else:
            reason = self.bound_reason
        return _check_bounds(number, value, path, errors, minimum, maximum, exclusive, si_unit(self.dimension),
                             reason, self.dimension)

    def checked_bounds(self) -> tuple[float | None, bool, float | None]:
        """(minimum, exclusive minimum, maximum) as checked: a length is also held to the plausible
        range of ablation.input.plausibility (at most MAX_LENGTH_M; a size at least MIN_LENGTH), and
        a time to at most MAX_DURATION_S, the longest simulated time."""
        minimum, exclusive, maximum = self.minimum, self.exclusive_minimum, self.maximum
        if self.dimension == "length":
            maximum = MAX_LENGTH_M if maximum is None else min(maximum, MAX_LENGTH_M)
            if minimum == 0.0 and exclusive:        # a size: not below one liver cell
                minimum, exclusive = MIN_LENGTH[0], False
        if self.dimension == "time":
            maximum = MAX_DURATION_S if maximum is None else min(maximum, MAX_DURATION_S)
        return minimum, exclusive, maximum

    def json_schema(self):
        out = self._base_schema()
        out["description"] = f"{self.description} [{self.dimension.replace('_', ' ')}, e.g. {EXAMPLES[self.dimension]}]"
        out["type"] = ["string", "number"] if self.dimension == "fraction" else "string"
        return out


@dataclass(frozen=True)
class ClinicalPerfusion:
    """A perfusion written in mL/min/100 g (``flow``): the scenario loader converts it to w_b (1/s)
    once the density of the same material is known (:func:`ablation.input.units.perfusion_rate`)."""
    flow: float


@dataclass
class Perfusion(Spec):
    """Pennes perfusion w_b in 1/s (or 1/min), or blood flow in mL/min/100 g returned as
    :class:`ClinicalPerfusion` for conversion with the material's density."""
    nullable: bool = False

    def load(self, value, path, errors):
        if value is None and self.nullable:
            return None
        try:
            number, clinical = parse_perfusion(value)
        except UnitError as exc:
            errors.append((path, str(exc)))
            return None
        if number < 0.0:
            errors.append((path, f"{describe(value)} is out of range; expected at least 0"))
            return None
        return ClinicalPerfusion(number) if clinical else number

    def json_schema(self):
        out = self._base_schema()
        out["description"] = f"{self.description} [perfusion, e.g. {EXAMPLES['perfusion']}]"
        out["type"] = "string"
        return out


@dataclass
class Number(Spec):
    """A dimensionless number."""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    integer: bool = False

    def load(self, value, path, errors):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append((path, f"{describe(value)} is not a number; expected "
                                 f"{'an integer' if self.integer else 'a number'}"))
            return None
        if self.integer and not float(value).is_integer():
            errors.append((path, f"{describe(value)} is not a whole number"))
            return None
        if not math.isfinite(float(value)):
            errors.append((path, f"{describe(value)} is not a finite number"))
            return None
        out = _check_bounds(float(value), value, path, errors, self.minimum, self.maximum,
                            self.exclusive_minimum, "")
        return None if out is None else (int(out) if self.integer else out)

    def json_schema(self):
        out = self._base_schema()
        out["type"] = "integer" if self.integer else "number"
        if self.minimum is not None:
            out["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


def Integer(description="", default=MISSING, minimum=None, maximum=None) -> Number:
    return Number(description, default, minimum, maximum, integer=True)


@dataclass
class Boolean(Spec):
    def load(self, value, path, errors):
        if not isinstance(value, bool):
            errors.append((path, f"{describe(value)} is not true or false; expected true or false (TOML booleans, "
                                 "unquoted)"))
            return None
        return value

    def json_schema(self):
        return {**self._base_schema(), "type": "boolean"}


@dataclass
class String(Spec):
    nullable: bool = False
    nonempty: bool = False      # a name that reports and pictures show: blank says nothing

    def load(self, value, path, errors):
        if value is None and self.nullable:
            return None
        if not isinstance(value, str):
            errors.append((path, f"{describe(value)} is not a string"))
            return None
        if self.nonempty and not value.strip():
            errors.append((path, f"{value!r} is blank; expected a name"
                                 + (", or leave the field out for the default label" if self.nullable
                                    else " such as 'showcase'")))
            return None
        if self.nonempty and len(value) > NAME_MAX_LENGTH:
            errors.append((path, f"a name of {len(value)} characters; expected at most {NAME_MAX_LENGTH} (it is "
                                 "printed in reports, pictures and messages)"))
            return None
        control = [c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
        if self.nonempty and control:
            errors.append((path, f"{value[:40]!r} holds the control character {control[0]!r}; expected printable "
                                 "characters (a name is printed on terminals, in reports and on pictures)"))
            return None
        return value

    def json_schema(self):
        return {**self._base_schema(), "type": "string",
                **({"pattern": r"\S", "maxLength": NAME_MAX_LENGTH} if self.nonempty else {})}


#: the longest name taken: a label, not a document (a 380-character tumour name is tested to run)
NAME_MAX_LENGTH = 1000


@dataclass
class Choice(Spec):
    options: tuple = ()

    def load(self, value, path, errors):
        if value not in self.options:
            errors.append((path, f"{describe(value)} is not one of: {', '.join(map(str, self.options))}"))
            return None
        return value

    def json_schema(self):
        return {**self._base_schema(), "enum": list(self.options)}


@dataclass
class Vector(Spec):
    """A list of ``length`` numbers in ``unit`` (mm for coordinates), returned in SI as a tuple.

    A coordinate (unit mm or m) lies within ``MAX_COORDINATE_M`` of the origin; a direction
    (``nonzero``) has a length within ``DIRECTION_NORM_RANGE`` (see :mod:`ablation.input.plausibility`)."""
    length: int = 3
    unit: str = "mm"
    nonzero: bool = False

    def load(self, value, path, errors):
        factor = {"mm": 1e-3, "1": 1.0, "m": 1.0}[self.unit]
        if (not isinstance(value, (list, tuple)) or len(value) != self.length
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)):
            errors.append((path, f"{describe(value)} is not a list of {self.length} numbers"
                                 f"{'' if self.unit == '1' else ' in ' + self.unit}"))
            return None
        if not all(math.isfinite(v) for v in value):
            errors.append((path, f"{describe(value)} contains a value that is not finite; expected {self.length} "
                                 f"finite numbers{'' if self.unit == '1' else ' in ' + self.unit}"))
            return None
        if self.nonzero and all(v == 0 for v in value):
            errors.append((path, f"{describe(value)} is the zero vector; expected a direction"))
            return None
        if self.nonzero:
            norm = math.sqrt(sum((float(v) / max(abs(float(w)) for w in value)) ** 2 for v in value)) \
                * max(abs(float(w)) for w in value)
            lo, hi = DIRECTION_NORM_RANGE
            if not lo <= norm <= hi:
                errors.append((path, f"{describe(value)} has length {norm:.3g}; expected a direction of length "
                                     f"between {lo:g} and {hi:g} (it is normalised; a tiny or huge vector is a "
                                     "typing error)"))
                return None
        if self.unit != "1":
            largest = max(abs(float(v)) * factor for v in value)
            if largest > MAX_COORDINATE_M:
                limit = MAX_COORDINATE_M / factor
                errors.append((path, f"{describe(value)} is out of range; expected coordinates within "
                                     f"+-{limit:g} {self.unit} ({MAX_COORDINATE_M:g} m) of the origin"))
                return None
        return tuple(float(v) * factor for v in value)

    def json_schema(self):
        unit = "" if self.unit == "1" else f" [{self.unit}]"
        return {**self._base_schema(), "description": self.description + unit, "type": "array",
                "items": {"type": "number"}, "minItems": self.length, "maxItems": self.length}


@dataclass
class ListOf(Spec):
    item: Spec = None
    min_items: int = 0

    def load(self, value, path, errors):
        if not isinstance(value, list):
            errors.append((path, f"{describe(value)} is not a list"))
            return None
        if len(value) < self.min_items:
            errors.append((path, f"{describe(value)} has {len(value)} entries; expected at least {self.min_items} "
                                 f"entr{'y' if self.min_items == 1 else 'ies'}"))
            return None
        return tuple(self.item.load(v, f"{path}[{i}]", errors) for i, v in enumerate(value))

    def json_schema(self):
        return {**self._base_schema(), "type": "array", "items": self.item.json_schema(),
                "minItems": self.min_items}


@dataclass(frozen=True)
class ScheduleData:
    """A loaded schedule: ``times`` (s) and ``values`` (SI), piecewise linear between points."""
    times: tuple
    values: tuple


@dataclass
class Schedule(Spec):
    """Piecewise-linear schedule ``[["0 s", "37 degC"], ["30 s", "90 degC"], ...]``.

    Returned as two tuples (times in s, values in SI); times must increase strictly.
    """
    value_dimension: str = "temperature"
    value_limit: float | None = None      # largest |value| (SI), a plausibility bound
    limit_reason: str = ""

    def load(self, value, path, errors):
        if not isinstance(value, list) or not value:
            errors.append((path, f"{describe(value)} is not a non-empty list of [time, value] pairs"))
            return None
        times, values = [], []
        for i, pair in enumerate(value):
            if not isinstance(pair, list) or len(pair) != 2:
                errors.append((f"{path}[{i}]", f"{describe(pair)} is not a [time, value] pair "
                                                f"such as ['30 s', {EXAMPLES[self.value_dimension]}]"))
                return None
            t = Quantity(dimension="time", minimum=0.0).load(pair[0], f"{path}[{i}][0]", errors)
            lim = self.value_limit
            v = Quantity(dimension=self.value_dimension, minimum=None if lim is None else -lim, maximum=lim,
                         bound_reason=self.limit_reason).load(pair[1], f"{path}[{i}][1]", errors)
            if t is None or v is None:
                return None
            if times and t <= times[-1]:
                errors.append((f"{path}[{i}][0]", f"time {describe(pair[0])} does not increase "
                                                   "after the previous entry"))
                return None
            times.append(t)
            values.append(v)
        return ScheduleData(tuple(times), tuple(values))

    def json_schema(self):
        return {**self._base_schema(), "type": "array",
                "description": f"{self.description} [[time, {self.value_dimension}] pairs]",
                "items": {"type": "array", "minItems": 2, "maxItems": 2}}


@dataclass
class Table(Spec):
    fields: dict = field(default_factory=dict)
    check: Callable[[Record, str, list], None] | None = None  # cross-field rules

    def load(self, value, path, errors):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            errors.append((path or "(top level)", f"{describe(value)} is not a table"))
            return None
        for key in value:
            if key not in self.fields:
                errors.append((_join(path, key), f"unknown key; expected one of: {', '.join(self.fields)}"))
        out = {}
        for key, spec in self.fields.items():
            where = _join(path, key)
            if key in value:
                out[key] = spec.load(value[key], where, errors)
            elif isinstance(spec, Table) and spec.default is not MISSING and spec.default is not None:
                out[key] = spec.load(spec.default or {}, where, errors)
            elif spec.default is MISSING:
                errors.append((where, f"missing; expected {spec.description or 'a value'}"))
                out[key] = None
            elif spec.default is None:
                out[key] = None
            else:
                out[key] = spec.load(spec.default, where + " (default)", errors)
        record = Record(out)
        if self.check is not None and not errors:
            self.check(record, path, errors)
        return record

    def json_schema(self):
        required = [k for k, s in self.fields.items() if s.default is MISSING]
        return {"description": self.description, "type": "object", "additionalProperties": False,
                "properties": {k: s.json_schema() for k, s in self.fields.items()},
                "required": required}


_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def parse_path(path: str) -> list:
    """'probes[0].tip' -> ['probes', 0, 'tip']; raises ValueError on a malformed path."""
    out = []
    for part in path.split("."):
        match = _STEP.fullmatch(part)
        if not match:
            raise ValueError(f"{path!r} is not a dotted path such as 'tissue.perfusion' or 'probes[0].tip'")
        out.append(match.group(1))
        out += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


_WRITTEN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)\s*$")


def _in_written_unit(number, raw, unit, dimension=None):
    """(scale, unit text) to state a bound in the unit the value was written in ('0.015 mm' -> a bound
    in mm), else (1, the SI unit). Temperatures keep theirs: degC and K differ by an offset. A value
    of 0 ('0 deg') gives no ratio: the unit's own size is parsed then."""
    match = _WRITTEN.match(raw) if isinstance(raw, str) else None
    if match and unit not in ("K", "1", ""):
        if float(match.group(1)) != 0.0 and number != 0.0:
            return number / float(match.group(1)), f" {match.group(2)}"
        if dimension is not None:
            from ablation.input.units import UnitError, parse_quantity
            try:
                return parse_quantity(f"1 {match.group(2)}", dimension), f" {match.group(2)}"
            except (UnitError, KeyError, ValueError):
                pass
    return 1.0, f" {unit}" if unit and unit != "1" else ""


def _check_bounds(number, raw, path, errors, minimum, maximum, exclusive, unit, reason="", dimension=None):
    scale, unit = _in_written_unit(number, raw, unit, dimension)
    if minimum is not None and (number < minimum or (exclusive and number <= minimum)):
        relation = "greater than" if exclusive else "at least"
        errors.append((path, f"{describe(raw)} is out of range; expected {relation} {minimum / scale:g}{unit}"
                             + (f" ({reason})" if reason else "")))
        return None
    if maximum is not None and number > maximum:
        errors.append((path, f"{describe(raw)} is out of range; expected at most {maximum / scale:g}{unit}"
                             + (f" ({reason})" if reason else "")))
        return None
    return number

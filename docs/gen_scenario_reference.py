"""Write docs/scenario-reference.md from the scenario schema (ablation.input.scenario.scenario_spec).

Every table and field of a scenario file with its description, kind, unit, default and allowed
values, nested tables as their own sections. Run at documentation build time (docs/build.sh); the
output is not kept in git, so it always describes the code it was built from.

    python docs/gen_scenario_reference.py [OUTPUT]      # default: docs/scenario-reference.md
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ablation.input.schema import (MISSING, Boolean, Choice, ListOf, Number, Quantity, Schedule,
                                   String, Table, Vector)
from ablation.input.scenario import scenario_spec
from ablation.input.units import EXAMPLES, si_unit

HEADER = """# Scenario reference

!!! note "Generated"
    This page is generated from the schema in the code (`ablation.input.scenario.scenario_spec()`)
    by `docs/gen_scenario_reference.py` when the documentation is built. `ablation schema` prints
    the same schema as JSON Schema, for editors.

A scenario is a TOML file. Values with a unit are strings such as `"3 mm"`, `"12 min"`,
`"37 degC"`, `"0.0064 1/s"`; inside the code every value is SI (temperatures in degC).
Coordinates are lists of numbers in mm. A field without a default is required; "none" as a
default means the field is absent unless given (and the code derives the value where the
description says so). Sections of another modality than the scenario's `modality` must be absent.

"""


def _code(value) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f'"{value}"'
    return f"`{text.replace('|', '&#124;')}`"


def _cell(text: str) -> str:
    """Text that fits in one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "&#124;")


def kind_of(spec) -> str:
    if isinstance(spec, Quantity):
        return f"quantity: {spec.dimension.replace('_', ' ')}"
    if isinstance(spec, Number):
        return "integer" if spec.integer else "number"
    if isinstance(spec, Boolean):
        return "true / false"
    if isinstance(spec, String):
        return "string"
    if isinstance(spec, Choice):
        return "one of the allowed values"
    if isinstance(spec, Vector):
        return f"{spec.length} numbers" + ("" if spec.unit == "1" else f" in {spec.unit}")
    if isinstance(spec, Schedule):
        return f"schedule: [time, {spec.value_dimension.replace('_', ' ')}] pairs"
    if isinstance(spec, ListOf):
        return "list of tables" if isinstance(spec.item, Table) else f"list of {kind_of(spec.item)}"
    if isinstance(spec, Table):
        return "table"
    return type(spec).__name__


def unit_of(spec) -> str:
    if isinstance(spec, Quantity):
        example = EXAMPLES.get(spec.dimension, "").strip("'")
        return f"SI {si_unit(spec.dimension)}" + (f"; e.g. `{example}`" if example else "")
    if isinstance(spec, Vector):
        return "" if spec.unit == "1" else spec.unit
    if isinstance(spec, Schedule):
        return f"s; {si_unit(spec.value_dimension)}"
    return ""


def default_of(spec) -> str:
    if spec.default is MISSING:
        return "**required**"
    if spec.default is None:
        return "none"
    if isinstance(spec, Table):
        return "defaults below" if not spec.default else _code(spec.default)
    return _code(spec.default)


def allowed_of(spec) -> str:
    if isinstance(spec, Choice):
        return ", ".join(_code(o) for o in spec.options)
    bounds = []
    minimum = getattr(spec, "minimum", None)
    maximum = getattr(spec, "maximum", None)
    exclusive = getattr(spec, "exclusive_minimum", False)
    unit = ""
    if isinstance(spec, Quantity):
        unit = f" {si_unit(spec.dimension)}" if si_unit(spec.dimension) != "1" else ""
        minimum, exclusive, maximum = spec.checked_bounds()   # with the plausible range of lengths
    if minimum is not None:
        bounds.append(f"{'>' if exclusive else '>='} {minimum:g}{unit}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}{unit}")
    if isinstance(spec, ListOf) and spec.min_items:
        bounds.append(f"at least {spec.min_items} entries")
    if isinstance(spec, Vector) and spec.nonzero:
        bounds.append("not the zero vector")
    if getattr(spec, "nullable", False):
        bounds.append("may be omitted")
    return "; ".join(bounds)


def nested_table(spec) -> Table | None:
    if isinstance(spec, Table):
        return spec
    if isinstance(spec, ListOf) and isinstance(spec.item, Table):
        return spec.item
    return None


def section_title(path: str, spec) -> str:
    return f"[[{path}]]" if isinstance(spec, ListOf) else f"[{path}]"


def write_table(lines: list, path: str, spec, table: Table, level: int) -> None:
    """One section: its description, a row per field, then its nested tables."""
    lines.append(f"{'#' * min(level, 6)} `{section_title(path, spec)}`\n")
    description = spec.description or table.description
    if description:
        text = _cell(description)
        lines.append(text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".") + "\n")
    if isinstance(spec, ListOf):
        lines.append(f"A list: repeat `{section_title(path, spec)}` for each entry"
                     f"{'' if not spec.min_items else f' (at least {spec.min_items})'}.\n")
    elif spec.default is None:
        lines.append("Optional: absent unless given, except that the table of the scenario's own "
                     "modality (`[rfa]`, `[cryo]`, `[probes.<modality>]`) takes its defaults when absent.\n")
    nested = []
    if table.fields:
        lines.append("| field | description | kind | unit | default | allowed |")
        lines.append("|---|---|---|---|---|---|")
        for key, field in table.fields.items():
            inner = nested_table(field)
            anchor_note = " (see below)" if inner is not None and inner.fields else ""
            lines.append(f"| `{key}` | {_cell(field.description or (inner.description if inner else ''))}{anchor_note} "
                         f"| {kind_of(field)} | {unit_of(field)} | {default_of(field)} | {allowed_of(field)} |")
            if inner is not None and inner.fields:
                nested.append((f"{path}.{key}", field, inner))
        lines.append("")
    else:
        lines.append("No fields.\n")
    for sub_path, sub_spec, sub_table in nested:
        write_table(lines, sub_path, sub_spec, sub_table, level + 1)


def render() -> str:
    spec = scenario_spec()
    lines = [HEADER, "## Top level\n", "| field | description | kind | unit | default | allowed |",
             "|---|---|---|---|---|---|"]
    sections = []
    for key, field in spec.fields.items():
        inner = nested_table(field)
        if inner is not None and inner.fields:
            lines.append(f"| `{key}` | {_cell(field.description or inner.description)} (section below) "
                         f"| {kind_of(field)} | | {default_of(field)} | {allowed_of(field)} |")
            sections.append((key, field, inner))
        else:
            lines.append(f"| `{key}` | {_cell(field.description)} | {kind_of(field)} | {unit_of(field)} "
                         f"| {default_of(field)} | {allowed_of(field)} |")
    lines.append("")
    for key, field, inner in sections:
        write_table(lines, key, field, inner, 2)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent / "scenario-reference.md"
    text = render()
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The published measurements of ``benchmarks/validation`` as typed rows.

``published_lesions.csv`` holds one published quantity a row (as printed in the source, in its own
unit); ``split.csv`` holds, for the same ids, the calibration role (``train`` / ``held_out``) and
the modelling assumptions fixed before any simulation (tip length, generator, duration, ...).
:func:`load_rows` joins the two into :class:`PublishedRow` objects. Both the validation benchmark
and the calibration read the rows through here, so a malformed file stops both with the same
message: a :class:`ValueError` naming the file, the line and the column.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterator, Mapping

PUBLISHED_FILE = "published_lesions.csv"
SPLIT_FILE = "split.csv"
ROLES = ("train", "held_out")

#: Columns each file must have (others are kept, published ones under ``details``).
PUBLISHED_COLUMNS = ("id", "modality", "quantity", "value", "sd", "unit", "source", "confidence",
                     "measured_as", "study")
SPLIT_COLUMNS = ("id", "role", "tip_length_mm", "electrode_diameter_mm", "generator", "duration_min",
                 "start_temperature_C", "perfusion", "occlusion", "measured_as", "notes")


class ReadOnlyMapping(Mapping):
    """A read-only mapping that pickles (rows travel to worker processes; MappingProxyType does not)."""

    def __init__(self, data=()):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)


@dataclass(frozen=True)
class PublishedRow:
    """One published quantity with its fixed modelling assumptions.

    value, sd : as printed in the source, in ``unit`` (sd None when the source gives no spread)
    role : 'train' or 'held_out' (split.csv)
    measured_as : the zone boundary the comparison uses: split.csv's value, which repeats the
        source's where it says and ends in '(assumed)' where it does not; '' for rows without one
    assumptions : split.csv's columns except id and role, as written (strings; '' = not fixed)
    details : the other columns of published_lesions.csv (setting, device, protocol, notes, and
        the source's own measured_as as 'measured_as_in_source')
    """
    id: str
    modality: str
    quantity: str
    value: float
    sd: float | None
    unit: str
    role: str
    study: str
    measured_as: str
    assumptions: Mapping[str, str] = field(hash=False)
    source: str = ""
    confidence: str = ""
    details: Mapping[str, str] = field(default_factory=ReadOnlyMapping, hash=False)

    @property
    def boundary(self) -> str:
        """``measured_as`` without the '(assumed)' mark: the boundary criterion's name."""
        return self.measured_as.replace("(assumed)", "").strip()


def default_folder():
    """The shipped ``benchmarks/validation`` folder (``ablation.benchmarks`` package data)."""
    return resources.files("ablation.benchmarks") / "validation"


def load_rows(folder=None) -> list[PublishedRow]:
    """Every row of ``published_lesions.csv`` joined with its ``split.csv`` row, in file order.

    ``folder`` holds both files (default: the shipped ``benchmarks/validation``). Raises
    :class:`ValueError` naming file, line and column for a missing column, a row with the wrong
    number of fields, an empty or duplicate id, a value that is not a number, an unknown role, or
    an id found in one file but not the other."""
    folder = default_folder() if folder is None else Path(folder)
    published_path, split_path = folder / PUBLISHED_FILE, folder / SPLIT_FILE
    published = _read_table(published_path, PUBLISHED_COLUMNS)
    split = _read_table(split_path, SPLIT_COLUMNS)
    split_by_id = {record["id"]: (line, record) for line, record in split}
    published_ids = {record["id"] for _, record in published}
    for line, record in split:
        if record["id"] not in published_ids:
            raise ValueError(f"{split_path}, line {line}, column 'id': {record['id']!r} has no row in "
                             f"{PUBLISHED_FILE}")
    rows = []
    for line, record in published:
        if record["id"] not in split_by_id:
            raise ValueError(f"{published_path}, line {line}, column 'id': {record['id']!r} has no row in "
                             f"{SPLIT_FILE}; every published row needs its role and assumptions fixed there")
        split_line, assumptions = split_by_id[record["id"]]
        rows.append(_row(record, assumptions, published_path, line, split_path, split_line))
    return rows


def _read_table(path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """(line number, {column: text}) of every record of a CSV file, checked for shape and ids."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc})") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path}, line 1: the file is empty; expected a header with {', '.join(required)}")
    header = [name.strip() for name in header]
    missing = [name for name in required if name not in header]
    if missing:
        raise ValueError(f"{path}, line 1: column(s) {', '.join(missing)} missing from the header")
    records, seen = [], {}
    for fields in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in fields):
            continue                                    # blank line
        if len(fields) != len(header):
            raise ValueError(f"{path}, line {line}: {len(fields)} fields, expected {len(header)} "
                             f"(one per header column; quote fields that contain commas)")
        record = {name: cell.strip() for name, cell in zip(header, fields)}
        if not record["id"]:
            raise ValueError(f"{path}, line {line}, column 'id': empty")
        if record["id"] in seen:
            raise ValueError(f"{path}, line {line}, column 'id': {record['id']!r} repeats line {seen[record['id']]}")
        seen[record["id"]] = line
        records.append((line, record))
    return records


def _number(text: str, path, line: int, column: str, optional: bool = False) -> float | None:
    if optional and text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{path}, line {line}, column {column!r}: {text!r} is not a finite number")
    return value


def _row(record: dict, split: dict, path, line: int, split_path, split_line: int) -> PublishedRow:
    value = _number(record["value"], path, line, "value")
    sd = _number(record["sd"], path, line, "sd", optional=True)
    if sd is not None and sd < 0:
        raise ValueError(f"{path}, line {line}, column 'sd': {record['sd']!r} is negative")
    for column in ("modality", "quantity", "unit"):
        if not record[column]:
            raise ValueError(f"{path}, line {line}, column {column!r}: empty")
    if split["role"] not in ROLES:
        raise ValueError(f"{split_path}, line {split_line}, column 'role': {split['role']!r}; expected "
                         f"{' or '.join(ROLES)}")
    assumptions = {k: v for k, v in split.items() if k not in ("id", "role")}
    main = {"id", "modality", "quantity", "value", "sd", "unit", "source", "confidence", "study", "measured_as"}
    details = {k: v for k, v in record.items() if k not in main}
    details["measured_as_in_source"] = record["measured_as"]
    return PublishedRow(
        id=record["id"], modality=record["modality"], quantity=record["quantity"], value=value, sd=sd,
        unit=record["unit"], role=split["role"], study=record["study"],
        measured_as=split["measured_as"] or record["measured_as"],
        assumptions=ReadOnlyMapping(assumptions), source=record["source"], confidence=record["confidence"],
        details=ReadOnlyMapping(details))

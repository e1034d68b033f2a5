"""Measured probe curves from CSV files (scenario-loading layer: the physics modules get arrays).

A curve file has two columns, time since the start of a freeze phase and the probe wall
temperature, e.g. a thermocouple record of a cryoprobe in a phantom::

    # optional comment lines
    time_s,temperature_C
    0,20
    15,-80
    60,-140

The header row is optional; times are in seconds and must increase strictly; temperatures are in
degC. A malformed row is rejected with the file, line and column named.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path


class CurveError(ValueError):
    """A curve file that cannot be used; the message names the file, line and column."""


def resolve(path: str, scenario_file: str | None) -> Path:
    """``path`` relative to the scenario file's folder (absolute paths are kept)."""
    p = Path(path)
    if p.is_absolute() or not scenario_file:
        return p
    return Path(scenario_file).resolve().parent / p


def load_curve(path) -> tuple[tuple, tuple]:
    """Read a (time s, temperature degC) curve; returns (times, temperatures) as tuples of floats.

    Raises
    ------
    CurveError
        When the file is missing, empty, or a row does not hold two finite numbers with
        strictly increasing times.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CurveError(f"cannot read {path}: {exc.strerror}") from None
    times, temps = [], []
    for line_no, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not cells or all(c == "" for c in cells) or cells[0].startswith("#"):
            continue
        if not times and not _is_number(cells[0]):
            if line_no == _first_data_line(text):   # the header row
                continue
        if len(cells) != 2:
            raise CurveError(f"{path}: line {line_no}: {len(cells)} column(s); expected 2 (time_s, temperature_C)")
        values = []
        for col, cell in enumerate(cells, start=1):
            if not _is_number(cell):
                raise CurveError(f"{path}: line {line_no}, column {col}: {cell!r} is not a number")
            values.append(float(cell))
        t, temp = values
        if times and t <= times[-1]:
            raise CurveError(f"{path}: line {line_no}, column 1: time {t:g} s does not increase after "
                             f"{times[-1]:g} s")
        if t < 0:
            raise CurveError(f"{path}: line {line_no}, column 1: time {t:g} s is negative")
        if temp < -273.15:
            raise CurveError(f"{path}: line {line_no}, column 2: {temp:g} degC is below absolute zero")
        times.append(t)
        temps.append(temp)
    if not times:
        raise CurveError(f"{path}: no data rows; expected lines 'time_s,temperature_C'")
    return tuple(times), tuple(temps)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _first_data_line(text: str) -> int:
    """Line number of the first line that is neither blank nor a comment."""
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s and not s.startswith("#"):
            return i
    return 0

"""Measured probe curves from CSV files, and the safe reading of every data file a scenario names
(scenario-loading layer: the physics modules get arrays).

A curve file has two columns, time since the start of a freeze phase and the probe wall
temperature, e.g. a thermocouple record of a cryoprobe in a phantom::

    # optional comment lines
    time_s,temperature_C
    0,20
    15,-80
    60,-140

The header row is optional; times are in seconds and must increase strictly; temperatures are in
degC. A malformed row is rejected with the file, line and column named.

Where input files may be
------------------------
A scenario reads only files inside its own folder (the folder of the scenario file; the current
folder for a scenario built from a table), inside the package's shipped ``meshes/`` folder, or, for
a scenario in a folder called ``scenarios``, in the ``meshes/`` folder beside it (the project's own
layout, which holds in a source checkout whichever copy of the package is installed), after
resolving symlinks: an absolute path elsewhere, a ``../`` escape or a symlink pointing out of the
folder is refused. A caller that trusts the scenario widens this with :func:`input_path_policy`
(``allowed_roots``: more folders; ``allow_any_path``: no check), which the command line sets from its
options, or with the same keywords of :func:`resolve_input`.

Only regular files are read (a device such as ``/dev/zero`` or a FIFO is refused before it is
opened, and the file is opened non-blocking), at most :data:`MAX_CURVE_BYTES` for a curve, and as
text in UTF-8 (with or without a byte-order mark) or UTF-16/UTF-32 with a byte-order mark.
"""
from __future__ import annotations

import codecs
import contextlib
import contextvars
import csv
import math
import os
import stat
from pathlib import Path

#: Largest curve file read (bytes): 10 MB, some 500,000 rows of a one-per-second record.
MAX_CURVE_BYTES = 10 * 1024 * 1024

#: Folders shipped with the package whose files any scenario may name (those that exist): the
#: installed ``ablation/meshes`` and, in a source checkout, the repository's ``meshes/``.
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_INPUT_ROOTS = (_PACKAGE_ROOT / "meshes",) + (
    (_PACKAGE_ROOT.parent / "meshes",) if (_PACKAGE_ROOT.parent / "pyproject.toml").is_file() else ())

_POLICY: contextvars.ContextVar[tuple[tuple[Path, ...], bool]] = contextvars.ContextVar(
    "ablation_input_path_policy", default=((), False))

_BOMS = (   # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


class InputFileError(ValueError):
    """A data file named by a scenario that cannot be used; the message names the file."""


class CurveError(InputFileError):
    """A curve file that cannot be used; the message names the file, line and column."""


@contextlib.contextmanager
def input_path_policy(allowed_roots=(), allow_any_path: bool = False):
    """Within the ``with`` block, scenarios may also read files under ``allowed_roots`` (folders),
    or anywhere with ``allow_any_path``; the command line's input-path options set this."""
    roots = tuple(Path(r).expanduser().resolve() for r in allowed_roots)
    token = _POLICY.set((roots, bool(allow_any_path)))
    try:
        yield
    finally:
        _POLICY.reset(token)


def resolve_input(path, scenario_file: str | None, *, allowed_roots=None, allow_any_path=None,
                  error: type[InputFileError] = InputFileError) -> Path:
    """The file ``path`` names (relative to the scenario file's folder), symlinks resolved, after
    checking that it lies in an allowed folder; raises ``error`` otherwise.

    allowed_roots : folders allowed besides the scenario's folder and the shipped ones
        (default: those of :func:`input_path_policy`)
    allow_any_path : skip the check (default: that of :func:`input_path_policy`)
    """
    policy_roots, policy_any = _POLICY.get()
    extra = policy_roots if allowed_roots is None else tuple(Path(r).expanduser().resolve() for r in allowed_roots)
    any_path = policy_any if allow_any_path is None else bool(allow_any_path)
    text = str(path)
    if not text.strip() or "\x00" in text:
        raise error(f"{text!r} is not a file name")
    base = Path(scenario_file).resolve().parent if scenario_file else Path.cwd().resolve()
    p = Path(text).expanduser()
    full = (p if p.is_absolute() else base / p).resolve()
    if any_path:
        return full
    beside = (base.parent / "meshes",) if base.name == "scenarios" else ()
    roots = (base, *(r for r in (*SHIPPED_INPUT_ROOTS, *beside) if r.is_dir()), *extra)
    if not any(full.is_relative_to(root) for root in roots):
        where = "the scenario's folder " + str(base)
        if len(roots) > 1:
            where += " or " + ", ".join(str(r) for r in roots[1:])
        via = " (through a symbolic link)" if full != Path(os.path.abspath(p if p.is_absolute() else base / p)) \
            else ""
        raise error(f"{text}: resolves to {full}{via}, outside {where}; a scenario reads only files in its "
                    "own folder unless the caller allows more (command line: --allow-input-path DIR)")
    return full


def resolve(path: str, scenario_file: str | None, **policy) -> Path:
    """A curve file's path, resolved and checked like :func:`resolve_input` (raises CurveError)."""
    return resolve_input(path, scenario_file, error=CurveError, **policy)


def read_input_bytes(path, max_bytes: int, *, error: type[InputFileError] = InputFileError,
                     what: str = "input file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; devices, FIFOs, sockets and folders
    are refused before reading, and the open never blocks."""
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: not a regular file ({_kind(info.st_mode)}); expected a {what}")
    if info.st_size > max_bytes:
        raise error(f"{path}: {info.st_size:,} bytes; a {what} may have at most {max_bytes:,} bytes")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)    # the file opened is the file checked (not swapped in between)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: not a regular file ({_kind(info.st_mode)}); expected a {what}")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise error(f"{path}: more than {max_bytes:,} bytes; a {what} may have at most "
                            f"{max_bytes:,} bytes")
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def decode_text(data: bytes, path, *, error: type[InputFileError] = InputFileError) -> str:
    """Text of a file's bytes: UTF-8 (an optional byte-order mark is dropped) or UTF-16/UTF-32
    with a byte-order mark; anything else is refused naming the first offending byte."""
    encoding, label, body = "utf-8", "UTF-8", data
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            encoding, label, body = codec, name, data[len(bom):]
            break
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        offset = exc.start + (len(data) - len(body))
        raise error(f"{path}: not {label} text: byte 0x{data[offset]:02x} at offset {offset}; "
                    "expected UTF-8 (or UTF-16 with a byte-order mark)") from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise error(f"{path}: line {line}, column {column}: a NUL character; expected text, not binary data")
    return text


def read_input_text(path, max_bytes: int, *, error: type[InputFileError] = InputFileError,
                    what: str = "input file") -> str:
    """:func:`read_input_bytes` then :func:`decode_text`."""
    return decode_text(read_input_bytes(path, max_bytes, error=error, what=what), path, error=error)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def load_curve(path, max_bytes: int = MAX_CURVE_BYTES) -> tuple[tuple, tuple]:
    """Read a (time s, temperature degC) curve; returns (times, temperatures) as tuples of floats.

    ``path`` is read as given: pass it through :func:`resolve` first to hold it to the scenario's
    folder.

    Raises
    ------
    CurveError
        When the file is missing, not a regular file, larger than ``max_bytes``, not text, empty,
        or a row does not hold two finite numbers with strictly increasing times.
    """
    path = Path(path)
    text = read_input_text(path, max_bytes, error=CurveError, what="curve CSV file")
    lines = text.splitlines()
    first = _first_data_line(lines)
    times, temps = [], []
    for line_no, line in enumerate(lines, start=1):
        try:
            cells = [c.strip() for c in next(csv.reader([line]), [])]
        except csv.Error as exc:
            raise CurveError(f"{path}: line {line_no}: {exc}") from None
        if not cells or all(c == "" for c in cells) or cells[0].startswith("#"):
            continue
        if not times and line_no == first and not _is_number(cells[0]):
            _check_header(path, line_no, cells)
            continue   # the header row
        if len(cells) != 2:
            raise CurveError(f"{path}: line {line_no}: {len(cells)} column(s); expected 2 (time_s, temperature_C)")
        values = []
        for col, cell in enumerate(cells, start=1):
            if not _is_number(cell):
                raise CurveError(f"{path}: line {line_no}, column {col}: {_show(cell)} is not a number")
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


#: header units a curve may not be in: the columns are read as seconds and degC whatever they say
_OTHER_TIME_UNITS = ("ms", "min", "minute", "minutes", "h", "hr", "hour", "hours")
_OTHER_TEMPERATURE_UNITS = ("k", "kelvin", "f", "degf", "fahrenheit")


def _check_header(path, line_no: int, cells: list) -> None:
    """A header row must name a time in seconds and a temperature in degC (e.g. time_s,
    temperature_C): a curve logged in minutes or kelvin would otherwise be read 60x too fast or
    273 K too warm. Its unit is the last word of each name (after '_', ' ', '(' or '[')."""
    import re
    words = [re.split(r"[_\s(\[]+", c.strip().lower().rstrip(")]").strip()) if c else [""] for c in cells]
    expected = "expected a header 'time_s,temperature_C' (or no header): the columns are read as seconds and degC"
    if len(cells) != 2:
        raise CurveError(f"{path}: line {line_no}: header {','.join(cells)!r} has {len(cells)} column(s); {expected}")
    time_words, temperature_words = words
    if not time_words[0].startswith("t") or not (temperature_words[0].startswith("t")
                                                   or temperature_words[0].startswith("wall")):
        raise CurveError(f"{path}: line {line_no}: header {','.join(cells)!r} does not name a time and a "
                         f"temperature; {expected}")
    if time_words[-1] in _OTHER_TIME_UNITS:
        raise CurveError(f"{path}: line {line_no}, column 1: header {cells[0]!r} gives the time in "
                         f"{time_words[-1]}; {expected}")
    if temperature_words[-1] in _OTHER_TEMPERATURE_UNITS:
        raise CurveError(f"{path}: line {line_no}, column 2: header {cells[1]!r} gives the temperature in "
                         f"{temperature_words[-1].upper()}; {expected}")


def _show(cell: str) -> str:
    return repr(cell) if len(cell) <= 40 else repr(cell[:40]) + "..."


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _first_data_line(lines: list[str]) -> int:
    """Line number of the first line that is neither blank nor a comment."""
    for i, line in enumerate(lines, start=1):
        s = line.strip()
        if s and not s.startswith("#"):
            return i
    return 0

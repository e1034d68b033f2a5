"""argparse types of the command line's options: each checks its value before any work starts
and, when it is bad, names the value and what was expected (argparse then exits 2 naming the option)."""
from __future__ import annotations

import argparse
import math
import re
from pathlib import Path


#: worker processes on one machine: each holds its own solver and grid (0.1-0.5 GB); more than 256 is a
#: typing error, not a machine (a larger cluster is joined with sweep --scheduler)
MAX_WORKERS = 256


def workers(text: str) -> int:
    """argparse type of --workers: 1 to MAX_WORKERS processes."""
    return count(1, MAX_WORKERS, "each worker process holds its own solver; a larger cluster is joined "
                                 "with sweep --scheduler")(text)


def count(minimum: int, maximum: int | None = None, why: str = ""):
    """argparse type: an integer of at least ``minimum`` and at most ``maximum`` (bad values exit 2
    naming the option; ``why`` says why the maximum)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; expected at least {minimum}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; expected at most {maximum}"
                                             + (f" ({why})" if why else ""))
        return value
    parse.__name__ = "integer"
    return parse


def criterion(text: str) -> str:
    """argparse type of --criterion: a lesion criterion, with a temperature threshold in the plausible
    range the scenario's criteria have (a NaN or -500 degC threshold would draw an empty zone)."""
    from ablation.input.plausibility import range_message
    from ablation.physics.damage import parse_criterion
    try:
        parsed = parse_criterion(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if parsed.field in ("t_max_C", "t_min_C"):
        message = range_message(parsed.threshold, text, "criterion")
        if message is not None:
            raise argparse.ArgumentTypeError(message)
    return text


def output_path(text: str) -> str:
    """argparse type of --out: an empty path would silently mean the default place."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is empty; expected a path (leave --out out for the default)")
    return text


def json_output_path(text: str) -> str:
    """argparse type of an --out that receives a JSON record (compare-zone): a .json name."""
    output_path(text)
    if Path(text).suffix.lower() != ".json" and not Path(text).is_dir():     # a folder: refused as one later
        raise argparse.ArgumentTypeError(f"{text!r}: the figures are JSON; expected a name ending in .json")
    return text


def approaches(text: str) -> list:
    """argparse type of compare --approaches: placement approaches, comma-separated, each once."""
    from ablation.outcome.placement.error_models import APPROACHES
    names = [a.strip() for a in text.split(",")]
    unknown = [repr(a) if a else "an empty entry" for a in names if a not in APPROACHES]
    if unknown:
        raise argparse.ArgumentTypeError(f"{text!r} names unknown approach(es) {', '.join(unknown)}; expected a "
                                          f"comma-separated subset of {', '.join(APPROACHES)}")
    twice = sorted({a for a in names if names.count(a) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{text!r} names {', '.join(twice)} twice; expected each approach once "
                                         "(the comparison would repeat its row)")
    return names


def existing_folder(text: str) -> str:
    """argparse type of --allow-input-path: a folder that exists (a typo would allow nothing, silently)."""
    path = Path(text).expanduser()
    if not text.strip() or not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} does not exist; expected an existing folder")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file; expected an existing folder")
    return text


def positive_length(text: str) -> str:
    """argparse type of a cell size: a positive length with its unit, kept as text (the scenario's form)."""
    from ablation.input.units import UnitError, parse_quantity
    expected = "expected a positive length with a unit (mm, cm, m or um), e.g. '0.5 mm'"
    try:
        number = float(text.split()[0]) if text.split() else None
    except ValueError:
        number = None       # a unit glued to the number ('1mm') or no number: parse_quantity says which
    if number is not None and not number > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not positive; {expected}")
    try:
        value = parse_quantity(text, "length")
    except UnitError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a length ({exc}); {expected}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not positive; {expected}")
    return text


# a Dask scheduler address: [protocol://]host:port, host a name, IPv4 or [IPv6] address
_SCHEDULER_ADDRESS = re.compile(r"^(?:(?P<protocol>tcp|tls|ws|wss|ucx)://)?"
                                r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})/?$")


def scheduler_address(text: str) -> str:
    """argparse type of --scheduler, checked before any cluster or connection is started."""
    match = _SCHEDULER_ADDRESS.match(text.strip())
    if not match or not 1 <= int(match["port"]) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a scheduler address; expected host:port or "
                                         "tcp://host:port (port 1-65535), e.g. tcp://10.0.0.5:8786")
    return text.strip()


#: the largest picture side `ablation view` renders: larger ones exhaust memory inside VTK (it aborts)
MAX_PICTURE_SIDE = 8192


def picture_size(text: str) -> tuple[int, int]:
    """argparse type of --size: WIDTHxHEIGHT in pixels, each 1..MAX_PICTURE_SIDE."""
    expected = f"expected WIDTHxHEIGHT, two whole numbers of pixels from 1 to {MAX_PICTURE_SIDE}, e.g. 1800x900"
    try:
        width, height = (int(side) for side in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a picture size; {expected}") from None
    if not (1 <= width <= MAX_PICTURE_SIDE and 1 <= height <= MAX_PICTURE_SIDE):
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; {expected}")
    return width, height


def camera(text: str) -> str:
    """argparse type of --camera: a named view or 'AZIMUTH,ELEVATION' as finite degrees."""
    from ablation.output.scene import CAMERAS
    if text in CAMERAS:
        return text
    try:
        angles = [float(part) for part in text.split(",")]
    except ValueError:
        angles = []
    if len(angles) != 2 or not all(math.isfinite(a) for a in angles):
        raise argparse.ArgumentTypeError(f"{text!r} is not a camera; expected one of {', '.join(CAMERAS)} or "
                                         "'AZIMUTH,ELEVATION' as two finite numbers of degrees, e.g. 30,20")
    return text


def time_point(text: str) -> float:
    """argparse type of view --time: seconds since the start (the result's range is checked once read)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; expected a time in seconds, 0 or more") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; expected a finite time in seconds, 0 or more")
    return value


def memory(text: str) -> float:
    """argparse type of --max-memory: bytes, optionally with a unit (4e9, 4GB, 4 GiB)."""
    units = {"": 1.0, "B": 1.0, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
    value = text.strip().upper().replace(" ", "")
    number = value.rstrip("KMGTIB")
    try:
        result = float(number) * units[value[len(number):]]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size such as 4e9 or 4GB") from None
    if not (result > 0 and result < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; expected a positive size")
    return result

"""Checks shared by the anatomy readers before a file is opened."""
from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

from ablation.anatomy.errors import AnatomyError

#: Largest anatomy file read (bytes): a 512^3 uint16 label map uncompressed is 256 MiB.
MAX_ANATOMY_BYTES = 512 * 1024 * 1024
#: Every point of a surface or centre line within 10 m of the origin, the scenario's own coordinate
#: box (ablation.input.plausibility, a layer above these readers; a test keeps the two equal).
MAX_COORDINATE_M = 10.0


def checked_file(path, what: str, suffixes: tuple) -> Path:
    """``path`` when it is a regular file of at most :data:`MAX_ANATOMY_BYTES` with one of ``suffixes``."""
    path = Path(path)
    name = path.name.lower()
    if not any(name.endswith(s) for s in suffixes):
        raise AnatomyError(f"{path}: not a {what} file name; expected one ending in {', '.join(suffixes)}")
    try:
        info = os.stat(path)
    except OSError as exc:
        raise AnatomyError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise AnatomyError(f"{path}: not a regular file; expected a {what} file")
    if info.st_size > MAX_ANATOMY_BYTES:
        raise AnatomyError(f"{path}: {info.st_size:,} bytes; a {what} file may have at most {MAX_ANATOMY_BYTES:,}")
    if info.st_size == 0:
        raise AnatomyError(f"{path}: the file is empty; expected a {what} file")
    return path


def cached_by_file(reader):
    """``reader(path)`` memoised on (resolved path, size, modification time): a scenario loaded again
    (``with_changes``, sweeps, property tests) does not parse the same label map twice. The cached
    objects are never modified by their users. A few files at a time (memory)."""
    @functools.lru_cache(maxsize=8)
    def cached(key):
        return reader(key[0])

    @functools.wraps(reader)
    def read(path):
        path = Path(path)
        try:
            info = os.stat(path)
        except OSError:
            return reader(path)          # the reader names the problem
        return cached((path.resolve(), info.st_size, info.st_mtime_ns))
    return read


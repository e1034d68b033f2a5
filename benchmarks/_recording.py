"""What every benchmark script records beside its numbers, and how it writes them: the commit, the
date, the load, the wall time and the default zone model, then DIR/<stem>.json and .md.

Both files are written under temporary names and moved into place together, so an interrupted or
failed script leaves the stored results as they were (or both new), never half a file.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def parser(doc: str) -> argparse.ArgumentParser:
    """The command line of a measurement script: its docstring's first paragraph, and ``--out DIR``
    (default benchmarks/results)."""
    out = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    out.add_argument("--out", type=Path, default=RESULTS)
    return out


def commit() -> str:
    """The checked-out commit (10 hex digits), or 'unknown' outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True,
                              cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def load_average() -> list[float]:
    """The 1, 5 and 15 min load averages: a timing taken on a busy machine says so."""
    return [round(v, 2) for v in os.getloadavg()]


def provenance(started: float) -> dict:
    """commit, date, wall_s (since ``started``, a time.perf_counter() value) and zone_model."""
    from ablation.input.models import DEFAULT_MODEL, calibration
    return {"commit": commit(), "date": utc_now(), "wall_s": time.perf_counter() - started,
            "zone_model": f"{DEFAULT_MODEL} (calibration {calibration(DEFAULT_MODEL).get('version', '?')})"}


def write_files(contents: dict[Path, str]) -> None:
    """Write each path's text under a temporary name beside it, then move all into place."""
    staged = []
    try:
        for path, text in contents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.writing")
            tmp.write_text(text)
            staged.append((tmp, path))
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def to_json(data) -> str:
    return json.dumps(data, indent=1, default=float) + "\n"


def write(out: Path, stem: str, data: dict, text: str, echo: bool = True) -> None:
    """``out``/``stem``.json (the data) and .md (``text``, printed unless ``echo`` is false)."""
    write_files({out / f"{stem}.json": to_json(data), out / f"{stem}.md": text})
    if echo:
        print(text)

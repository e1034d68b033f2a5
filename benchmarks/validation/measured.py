"""What the measurement scripts of this folder record beside their numbers, and how they write them:
the commit, the date, the wall time and the default zone model, then DIR/<stem>.json and .md."""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def parser(doc: str) -> argparse.ArgumentParser:
    """The command line of a measurement script: its docstring's first paragraph, and ``--out DIR``
    (default benchmarks/results)."""
    out = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    out.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    return out


def provenance(started: float) -> dict:
    """commit, date, wall_s (since ``started``, a time.perf_counter() value) and zone_model."""
    from ablation.input.models import DEFAULT_MODEL, calibration
    commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    return {"commit": commit, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "wall_s": time.perf_counter() - started,
            "zone_model": f"{DEFAULT_MODEL} (calibration {calibration(DEFAULT_MODEL).get('version', '?')})"}


def write(out: Path, stem: str, data: dict, text: str) -> None:
    """``out``/``stem``.json (the data) and .md (``text``, also printed)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(data, indent=1, default=float) + "\n")
    (out / f"{stem}.md").write_text(text)
    print(text)

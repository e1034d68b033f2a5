"""The sweep's store in DIR: resumable, one file per finished sample, tables researchers read
directly (Parquet: ``pandas.read_parquet(DIR / "results.parquet")``).

    DIR/.ablation-sweep         marker: tool, design fingerprint, sample count (never resumed across designs)
    DIR/sweep.json              the sweep as run: parameters, metrics, indices, probabilities (written last)
    DIR/design.parquet          the sample table fixed by the seed: sample, parameters, seed
    DIR/samples/NNNNNNNN.parquet one row per finished sample (parameters, seed, metrics)
    DIR/failures/NNNNNNNN.json  a failed sample: its error, traceback, changes and scenario (retried on rerun)
    DIR/timings/NNNNNNNN.json   wall times of a sample's task (apart, so results stay identical)
    DIR/results.parquet, results.csv   sample x parameters x metrics, in sample order, with status
    DIR/timings.parquet, failures.json, indices.csv, plots/, report.html, report.md

Every file is written to a temporary name in its folder and moved into place with os.replace, so
a killed worker or an interrupted command never leaves a half-written row. The store never writes
into a folder that is neither new, empty nor a sweep store, and only ever writes the names above.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import time
import uuid
from pathlib import Path

import numpy as np

from ablation.output.files import SWEEP_MARKER as MARKER, OutputError

ROW = re.compile(r"^(\d{8})\.(parquet|json)$")
TOOL = "ablation"


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_json(path: Path, data) -> None:
    _atomic_bytes(Path(path), (json.dumps(_plain(data), indent=2, allow_nan=False) + "\n").encode())


def _plain(value):
    """JSON-ready: NaN/inf become null, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def parquet_bytes(columns: dict) -> bytes:
    """One Parquet file of named columns (deterministic: no timestamps in the file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({k: pa.array(v) for k, v in columns.items()})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def read_parquet_columns(path) -> dict:
    import pyarrow.parquet as pq
    return pq.ParquetFile(path).read().to_pydict()    # 5x faster than read_table on small files


def _name(index: int, suffix: str) -> str:
    return f"{index:08d}.{suffix}"


class StoreError(OutputError):
    """DIR cannot hold this sweep (foreign files, another design, not a folder)."""


# ------------------------------------------------------------------------ written by the tasks
def write_row(directory, index: int, row: dict) -> None:
    """The finished sample's row (one-row Parquet file); clears an earlier failure of the sample."""
    directory = Path(directory)
    _atomic_bytes(directory / "samples" / _name(index, "parquet"), parquet_bytes({k: [v] for k, v in row.items()}))
    (directory / "failures" / _name(index, "json")).unlink(missing_ok=True)


def write_failure(directory, index: int, record: dict) -> None:
    atomic_json(Path(directory) / "failures" / _name(index, "json"), record)


def write_timing(directory, index: int, record: dict) -> None:
    atomic_json(Path(directory) / "timings" / _name(index, "json"), record)


# ------------------------------------------------------------------------ the store
class SweepStore:
    """A sweep's folder. ``open()`` creates it or checks that it holds this design; ``finished()``
    and ``failures()`` say which samples are done; ``assemble()`` writes the tables."""

    SUBFOLDERS = ("samples", "failures", "timings")

    def __init__(self, directory, fingerprint: str, count: int):
        self.directory = Path(directory)
        self.fingerprint, self.count = fingerprint, int(count)

    # -- opening
    def open(self, resume: bool = False) -> str:
        """'new' or 'resumed'; raises :class:`StoreError` for a folder that must not be used. A new
        store's folder and marker are written here."""
        state = self.check(resume)
        if state == "new":
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_json(self.directory / MARKER, {"tool": TOOL, "kind": "sweep", "design": self.fingerprint,
                                                  "samples": self.count,
                                                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        return state

    def check(self, resume: bool = False) -> str:
        """What :meth:`open` would find ('new' or 'resumed'), writing nothing; raises
        :class:`StoreError` for a folder that must not be used (the command checks before it starts
        its Dask cluster)."""
        d = self.directory
        if d.exists() and not d.is_dir():
            raise StoreError(f"{d} is an existing file, not a folder")
        entries = sorted(os.listdir(d)) if d.exists() else []
        entries = [e for e in entries if not e.startswith(f".{MARKER}.tmp")]
        if entries and MARKER not in entries:
            shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
            raise StoreError(f"{d} is not empty and not a sweep store (it holds {shown}); the toolkit never "
                             "writes into such a folder: choose a new or empty folder")
        if entries:
            try:
                marker = json.loads((d / MARKER).read_text())
            except (OSError, ValueError) as exc:
                raise StoreError(f"{d / MARKER} cannot be read ({exc}); choose another folder") from None
            if marker.get("design") != self.fingerprint:
                raise StoreError(f"{d} holds a sweep of another design (the scenario, its [sweep] section or the "
                                 "toolkit version changed); its samples would not belong to this table: choose "
                                 "another folder, or remove that one yourself")
            return "resumed"
        if resume:
            raise StoreError(f"{d} holds no sweep to resume; run without --resume to start one")
        return "new"

    def prepare(self) -> None:
        for name in self.SUBFOLDERS:
            (self.directory / name).mkdir(exist_ok=True)
        for name in self.SUBFOLDERS:     # temporary files of tasks killed while writing
            for stale in (self.directory / name).glob(".*.tmp-*"):
                stale.unlink(missing_ok=True)

    def _indices(self, folder: str, suffix: str) -> set[int]:
        path = self.directory / folder
        if not path.is_dir():
            return set()
        out = set()
        for entry in os.listdir(path):
            m = ROW.match(entry)
            if m and m.group(2) == suffix and int(m.group(1)) < self.count:
                out.add(int(m.group(1)))
        return out

    def finished(self) -> set[int]:
        return self._indices("samples", "parquet")

    def failures(self) -> dict[int, dict]:
        out = {}
        for i in sorted(self._indices("failures", "json") - self.finished()):
            try:
                out[i] = json.loads((self.directory / "failures" / _name(i, "json")).read_text())
            except (OSError, ValueError):
                continue
        return out

    # -- tables
    def write_design(self, design) -> None:
        columns = {"sample": np.arange(len(design), dtype=np.int64)}
        columns.update({k: v for k, v in design.columns.items()})
        columns["seed"] = np.array([s.seed for s in design.samples], dtype=np.int64)
        _atomic_bytes(self.directory / "design.parquet", parquet_bytes(columns))

    def assemble(self, design, metrics, known_rows: dict | None = None) -> dict:
        """results.parquet / results.csv (every sample, in order, status ok|failed|missing),
        timings.parquet, failures.json. Returns the columns of the results table.

        ``known_rows`` (sample -> row) are rows the caller already holds (this run's); only the
        other finished samples' files are read."""
        n = len(design)
        known_rows = known_rows or {}
        values = {m: np.full(n, np.nan) for m in metrics}
        status = np.array(["missing"] * n, dtype=object)
        for i in sorted(self.finished()):
            row = known_rows.get(i)
            if row is None:
                row = {k: v[0] for k, v in read_parquet_columns(self.directory / "samples" / _name(i, "parquet")).items()}
            for m in metrics:
                v = row.get(m)
                values[m][i] = np.nan if v is None else float(v)
            status[i] = "ok"
        failures = self.failures()
        for i in failures:
            status[i] = "failed"
        columns = {"sample": np.arange(n, dtype=np.int64), "status": [str(s) for s in status]}
        columns.update(design.columns)
        columns["seed"] = np.array([s.seed for s in design.samples], dtype=np.int64)
        columns.update(values)
        _atomic_bytes(self.directory / "results.parquet", parquet_bytes(columns))
        _atomic_bytes(self.directory / "results.csv", csv_bytes(columns))
        atomic_json(self.directory / "failures.json",
                    [{"sample": i, **{k: v for k, v in r.items() if k != "sample"}} for i, r in failures.items()])
        self._assemble_timings()
        return columns

    def _assemble_timings(self) -> None:
        rows = []
        for i in sorted(self._indices("timings", "json")):
            try:
                rows.append(json.loads((self.directory / "timings" / _name(i, "json")).read_text()))
            except (OSError, ValueError):
                continue
        keys = ["sample", "status", "worker", "started_unix_s", "task_s", "evaluate_s", "solve_s", "overhead_s"]
        columns = {k: [r.get(k) for r in rows] for k in keys}
        _atomic_bytes(self.directory / "timings.parquet", parquet_bytes(columns))

    def timings(self) -> dict:
        path = self.directory / "timings.parquet"
        return read_parquet_columns(path) if path.exists() else {}


def csv_bytes(columns: dict) -> bytes:
    """CSV of the columns; floats written with repr (round-trip exact), missing values empty."""
    names = list(columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    n = len(next(iter(columns.values())))
    for i in range(n):
        cells = []
        for k in names:
            v = columns[k][i]
            if isinstance(v, (float, np.floating)):
                cells.append("" if not math.isfinite(float(v)) else repr(float(v)))
            else:
                cells.append(str(v))
        writer.writerow(cells)
    return out.getvalue().encode()

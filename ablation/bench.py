"""Benchmark harness: ``ablation bench``.

A suite is a Python file ``<cases>/<suite>.py`` or a folder ``<cases>/<suite>/`` of such files (one
per topic: ``verification/pennes.py``, ``verification/rfa.py``, ...), whose functions decorated with
:func:`case` return :class:`Metric` rows (and may record free-form ``figures``). The default cases
folder is the one shipped with the package (``ablation.benchmarks``, the repository's ``benchmarks/``).

Each metric passes when its value meets its reference: ``within`` (|value - reference| <= tolerance),
``at_most`` (value <= reference + tolerance) or ``at_least`` (value >= reference - tolerance); the
tolerance must be finite. A metric whose reference is ``None`` is a *regression* metric: its reference
comes from ``<cases>/references/<suite>-<file>.json``. A missing reference file or a missing entry
fails the metric unless ``update_references`` is set, which records the current values. A reference
file that is not valid JSON or has entries of the wrong type stops the run (:class:`BenchReferenceError`,
exit code 2). :func:`run_benchmarks` prints nothing: it returns a :class:`BenchReport`, whose
:meth:`BenchReport.table` is the readable table of all metrics and of the mismatches.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

_REGISTRY: list = []
RELATIONS = {"within": "±", "at_most": "≤+", "at_least": "≥-"}


@dataclass
class Metric:
    metric: str
    value: float
    reference: float | None = None
    tolerance: float = 0.0
    unit: str = ""
    mode: str = "within"            # within | at_most | at_least
    note: str = ""
    case: str = ""
    suite: str = ""
    passed: bool | None = None

    def check(self) -> bool:
        if self.reference is None or self.value is None:
            return False
        v, r, t = float(self.value), float(self.reference), float(self.tolerance)
        if not (math.isfinite(t) and math.isfinite(r)) or v != v:   # infinite/NaN tolerance accepts nothing
            return False
        if self.mode == "at_most":
            return v <= r + t
        if self.mode == "at_least":
            return v >= r - t
        return abs(v - r) <= t


@dataclass
class CaseContext:
    quick: bool
    figures: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


@dataclass
class CaseError:
    suite: str
    case: str
    message: str        # the exception, one line
    traceback: str      # the full traceback, for the log


@dataclass
class BenchReport:
    """What one ``ablation bench`` run found. ``exit_code``: 0 all metrics pass, 1 some fail,
    2 the run could not start or a reference file is unusable (``problem`` says why)."""
    exit_code: int
    rows: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    case_seconds: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    references_written: list = field(default_factory=list)
    results_path: Path | None = None
    cases_dir: Path | None = None
    problem: str = ""

    @property
    def failed(self) -> list:
        return [m for m in self.rows if not m.passed]

    def summary(self) -> str:
        if self.problem:
            return f"bench: {self.problem}"
        lines = [f"{len(self.rows) - len(self.failed)} passed, {len(self.failed)} failed"]
        lines += [f"reference file written: {p}" for p in self.references_written]
        if self.results_path is not None:
            lines.append(f"results: {self.results_path}")
        return "\n".join(lines)

    def table(self) -> str:
        """Every metric with value, reference, tolerance and verdict; then the mismatches with their
        difference; then the figures."""
        if self.problem:
            return ""
        lines = [f"{'suite':13} {'case':34} {'metric':30} {'value':>11} {'reference':>11} {'tol':>9} {'unit':8} ok"]
        for m in self.rows:
            lines.append(f"{m.suite:13} {m.case[:34]:34} {m.metric[:30]:30} {_fmt(m.value):>11} "
                         f"{_fmt(m.reference):>11} {RELATIONS.get(m.mode, '?')}{_fmt(m.tolerance):>7} "
                         f"{m.unit[:8]:8} {'yes' if m.passed else 'NO'}")
        if self.failed:
            lines.append("\nmismatches (value vs reference):")
            for m in self.failed:
                lines.append(f"  {m.suite}/{m.case}/{m.metric}: {_fmt(m.value)} vs {_fmt(m.reference)} "
                             f"(diff {_fmt(_difference(m))}, allowed {m.mode} {_fmt(m.tolerance)}) {m.note}".rstrip())
        if self.figures:
            lines.append("\nfigures:")
            lines += [f"  {k} = {_fmt(v)}" for k, v in self.figures.items()]
        return "\n".join(lines)


class BenchReferenceError(ValueError):
    """A stored reference file that cannot be used (not JSON, truncated, wrong types)."""


class BenchCaseFileError(ValueError):
    """A suite file that cannot be loaded (a syntax error, a failing import): input, not a failed case."""


def case(name: str | None = None, quick: bool = True):
    """Register a benchmark case ``fn(ctx) -> list[Metric]``; ``quick=False`` cases are skipped by --quick."""
    def wrap(fn):
        _REGISTRY.append((fn.__module__, name or fn.__name__, fn, quick))
        return fn
    return wrap


def shipped_folder(name: str) -> Path:
    """The folder shipped with the package as ``ablation.<name>`` (``benchmarks``, ``scenarios``).

    From a wheel it lies inside the installed package; from an editable install it is the
    repository's root folder of that name. ``ablation.benchmarks`` is a regular package and imports
    either way; ``scenarios`` is a plain data folder, so when the import system cannot resolve it
    (editable installs map only regular packages) it is the sibling of the benchmarks folder, as it
    is in both layouts."""
    try:
        module = importlib.import_module(f"ablation.{name}")
        return Path(next(iter(module.__path__)))     # a namespace package's files() is no plain path
    except ModuleNotFoundError:
        if name == "benchmarks":
            raise
        return shipped_folder("benchmarks").parent / name


def shipped_scenario(file_name: str) -> Path:
    """Path of one scenario file shipped with the package, e.g. ``shipped_scenario("showcase.toml")``."""
    return shipped_folder("scenarios") / file_name


def default_cases_dir() -> Path:
    return shipped_folder("benchmarks")


def load_suite(path: Path) -> list:
    """The cases defined in the file ``path``. Cases that a sibling module registers when the file
    imports it (a measurement script reusing a suite file's helpers) belong to that sibling's file,
    not to this one, so they are left out: listed here they would run twice."""
    before = len(_REGISTRY)
    spec = importlib.util.spec_from_file_location(f"ablation_bench_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return [(path.stem, *entry[1:]) for entry in _REGISTRY[before:] if entry[0] == spec.name]


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def read_references(path: Path) -> dict:
    """The stored references of one suite file; ``{}`` when the file does not exist.
    Raises :class:`BenchReferenceError` naming the file and the fault."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BenchReferenceError(f"reference file {path} is not valid JSON (truncated?): {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchReferenceError(f"reference file {path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise BenchReferenceError(f"reference file {path}: expected an object of metric entries, "
                             f"found {type(data).__name__}")
    for key, entry in data.items():
        where = f"reference file {path}, entry {key!r}"
        if not isinstance(entry, dict):
            raise BenchReferenceError(f"{where}: expected an object with 'reference', 'tolerance', 'unit', "
                                 f"found {type(entry).__name__}")
        if not _number(entry.get("reference")):
            raise BenchReferenceError(f"{where}: 'reference' must be a number, found {entry.get('reference')!r}")
        if not _number(entry.get("tolerance", 0.0)):
            raise BenchReferenceError(f"{where}: 'tolerance' must be a number, found {entry.get('tolerance')!r}")
        if not isinstance(entry.get("unit", ""), str):
            raise BenchReferenceError(f"{where}: 'unit' must be a string, found {entry.get('unit')!r}")
        for what in ("reference", "tolerance"):
            if not math.isfinite(float(entry.get(what, 0.0))):
                raise BenchReferenceError(f"{where}: '{what}' must be finite, found {entry.get(what)!r}")
        if float(entry.get("tolerance", 0.0)) < 0:
            raise BenchReferenceError(f"{where}: 'tolerance' must not be negative, found {entry['tolerance']!r}")
    return data


def recording_provenance(cases_dir: Path | None = None) -> dict:
    """What a results.json says about where it came from: the package version, git commit, code
    digest (:func:`code_digest`) and the time it was written (UTC)."""
    from datetime import datetime, timezone
    from ablation.run.time_loop import provenance
    from ablation.version import code_digest
    return {**provenance(), "code_digest": code_digest(Path(cases_dir) if cases_dir else default_cases_dir()),
            "recorded_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")}


def find_suites(cases_dir: Path) -> dict:
    """Suite name -> its case files."""
    suite_files = {p.stem: [p] for p in cases_dir.glob("*.py") if not p.name.startswith("_")}
    for folder in sorted(d for d in cases_dir.iterdir() if d.is_dir() and any(d.glob("*.py"))):
        suite_files.setdefault(folder.name, []).extend(sorted(p for p in folder.glob("*.py")
                                                              if not p.name.startswith("_")))
    return suite_files


def _add_note(m: Metric, note: str) -> None:
    m.note = (m.note + "; " if m.note else "") + note


#: keys every results.json of :func:`run_benchmarks` has (the only such file it replaces)
RESULTS_KEYS = ("quick", "suites", "cases")


def _refused_output(out: Path) -> str | None:
    """Why ``--out`` cannot take the results (checked before any case runs), or None: a file where
    the folder should be, a results.json the benchmarks did not write, or no writable folder."""
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file; expected a folder for results.json"
    from ablation.output.files import is_json_record
    results = out / "results.json"
    if (results.exists() or results.is_symlink()) and not is_json_record(results, RESULTS_KEYS):
        return (f"--out {out}: {results} exists and is not a benchmark results file; the toolkit never "
                "overwrites a file it did not write: choose another folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return f"--out {out}: {existing} is not a writable folder"
    return None


def run_benchmarks(suites=None, quick=False, out=Path("results/bench"), update_references=False,
                   cases_dir=None, progress=None) -> BenchReport:
    """Run the suites (all when ``suites`` is empty), write ``out/results.json`` and return the report.
    ``progress(done, total, label)`` is called once per case file."""
    cases_dir = Path(cases_dir) if cases_dir else default_cases_dir()
    if not cases_dir.is_dir():
        what = "is a file, not a folder" if cases_dir.exists() else "does not exist"
        return BenchReport(2, cases_dir=cases_dir, problem=f"cases folder {cases_dir} {what}; expected a folder of "
                                                          "suite files <suite>.py or folders <suite>/ of them")
    suite_files = find_suites(cases_dir)
    if not suite_files:
        return BenchReport(2, cases_dir=cases_dir, problem=f"cases folder {cases_dir} holds no benchmark suite; "
                                                          "expected suite files <suite>.py or folders <suite>/ of them")
    known = sorted(suite_files)
    if suites:
        unknown = [s for s in suites if s not in known]
        if unknown:
            return BenchReport(2, cases_dir=cases_dir, problem=f"unknown suite(s) {', '.join(unknown)}; "
                                                              f"expected one of {', '.join(known)}")
        known = [s for s in known if s in suites]
    files = [(suite, path) for suite in known for path in suite_files[suite]]
    out = Path(out)
    refused = _refused_output(out)
    if refused:
        return BenchReport(2, cases_dir=cases_dir, problem=refused)
    report = BenchReport(0, cases_dir=cases_dir)
    try:
        for done, (suite, path) in enumerate(files):
            if progress is not None:
                progress(done, len(files), "benchmark files")
            _run_file(report, suite, path, cases_dir / "references" / f"{suite}-{path.stem}.json",
                      quick, update_references)
    except (BenchReferenceError, BenchCaseFileError) as exc:
        report.exit_code, report.problem = 2, str(exc)
        return report
    if progress is not None:
        progress(len(files), len(files), "benchmark files")
    out.mkdir(parents=True, exist_ok=True)
    from ablation.output.files import AtomicFile, is_json_record, write_json
    # looked at again: the file may have changed during the cases
    with AtomicFile(out / "results.json", replaceable=is_json_record(out / "results.json", RESULTS_KEYS)) as staging:
        write_json(staging, {"quick": quick, "suites": known, "provenance": recording_provenance(cases_dir),
                             "cases": [asdict(m) for m in report.rows],
                             "figures": report.figures, "case_seconds": report.case_seconds})
    report.results_path = out / "results.json"
    report.exit_code = 1 if report.failed else 0
    return report


def _run_file(report: BenchReport, suite: str, path: Path, refs_path: Path, quick: bool,
              update_references: bool) -> None:
    stored = read_references(refs_path)
    new_refs = dict(stored)
    try:
        cases = load_suite(path)
    except Exception as exc:        # whatever the file raises while it loads, it is unusable input
        raise BenchCaseFileError(f"cannot load the benchmark file {path}: "
                                 f"{''.join(traceback.format_exception_only(type(exc), exc)).strip()}") from exc
    for _, name, fn, quick_ok in cases:
        if quick and not quick_ok:
            continue
        ctx = CaseContext(quick=quick)
        started = time.perf_counter()
        try:
            metrics = fn(ctx)
        except Exception as exc:  # a crashing case is a failed case, reported with its cause
            message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            report.errors.append(CaseError(suite, name, message, traceback.format_exc()))
            report.rows.append(Metric("crashed", float("nan"), 0.0, 0.0, case=name, suite=suite, passed=False,
                                      note=message))
            continue
        report.case_seconds[f"{suite}.{name}"] = time.perf_counter() - started
        report.figures.update(ctx.figures)
        for m in metrics:
            m.case, m.suite = name, suite
            if m.reference is None:
                key = f"{name}.{m.metric}" + (".quick" if quick else "")
                ref = stored.get(key)
                if update_references:
                    new_refs[key] = {"reference": m.value, "tolerance": m.tolerance, "unit": m.unit}
                    m.reference = m.value
                    _add_note(m, f"reference recorded in {refs_path.name}")
                elif ref is None:
                    why = "no reference file" if not refs_path.exists() else "no entry"
                    _add_note(m, f"{why} {key!r} in {refs_path}; run with --update-references to record it")
                else:
                    m.reference = ref["reference"]
                    m.tolerance = ref.get("tolerance", m.tolerance)
            if not math.isfinite(float(m.tolerance)):
                _add_note(m, f"tolerance {m.tolerance} rejected: it must be finite")
            m.passed = m.check()
            report.rows.append(m)
    if update_references and new_refs != stored:
        for key, entry in new_refs.items():
            if not (math.isfinite(float(entry["reference"])) and math.isfinite(float(entry["tolerance"]))):
                raise BenchReferenceError(f"reference file {refs_path}, entry {key!r}: not recorded, the value "
                                     f"{entry['reference']} or tolerance {entry['tolerance']} is not finite")
        refs_path.parent.mkdir(parents=True, exist_ok=True)
        refs_path.write_text(json.dumps(new_refs, indent=2, sort_keys=True) + "\n")
        report.references_written.append(refs_path)


def _difference(m: Metric) -> float:
    if m.reference is None or m.value is None or m.value != m.value:
        return float("nan")
    return float(m.value) - float(m.reference)


def _fmt(x) -> str:
    if x is None:
        return "-"
    try:
        return f"{float(x):.4g}"
    except (TypeError, ValueError):
        return str(x)

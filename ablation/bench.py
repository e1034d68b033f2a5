"""Benchmark harness: ``ablation bench``.

A suite is a Python file ``benchmarks/<suite>.py`` or a folder ``benchmarks/<suite>/`` of such
files (one per topic: ``verification/pennes.py``, ``verification/rfa.py``, ...), whose functions decorated with :func:`case`
return :class:`Metric` rows (and may record free-form ``figures``). Each metric passes when its
value meets its reference: ``within`` (|value - reference| <= tolerance), ``at_most``
(value <= reference + tolerance) or ``at_least`` (value >= reference - tolerance). A metric whose
reference is ``None`` is a *regression* metric: its reference comes from
``benchmarks/references/<suite>-<file>.json``, and ``--update-references`` rewrites that file from the
current values. Results go to ``DIR/results.json``; the command exits 1 when any metric fails and
prints a table of the failures with value, reference and difference.
"""
from __future__ import annotations

import importlib.util
import json
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

_REGISTRY: list = []


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
        if v != v:  # NaN
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


def case(name: str | None = None, quick: bool = True):
    """Register a benchmark case ``fn(ctx) -> list[Metric]``; ``quick=False`` cases are skipped by --quick."""
    def wrap(fn):
        _REGISTRY.append((fn.__module__, name or fn.__name__, fn, quick))
        return fn
    return wrap


def default_cases_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "benchmarks"


def load_suite(path: Path) -> list:
    before = len(_REGISTRY)
    spec = importlib.util.spec_from_file_location(f"ablation_bench_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return [(path.stem, *entry[1:]) for entry in _REGISTRY[before:]]


def run_benchmarks(suites=None, quick=False, out=Path("results/bench"), update_references=False,
                   cases_dir=None, stream=None, progress=None) -> int:
    stream = stream or sys.stdout
    cases_dir = Path(cases_dir) if cases_dir else default_cases_dir()
    suite_files = {p.stem: [p] for p in cases_dir.glob("*.py") if not p.name.startswith("_")}
    for folder in sorted(d for d in cases_dir.iterdir() if d.is_dir() and any(d.glob("*.py"))):
        suite_files.setdefault(folder.name, []).extend(sorted(p for p in folder.glob("*.py")
                                                              if not p.name.startswith("_")))
    known = sorted(suite_files)
    if suites:
        unknown = [s for s in suites if s not in known]
        if unknown:
            print(f"bench --suite: unknown suite(s) {', '.join(unknown)}; expected one of {', '.join(known)}",
                  file=sys.stderr)
            return 2
        known = [s for s in known if s in suites]
    files = [(suite, path) for suite in known for path in suite_files[suite]]
    rows: list[Metric] = []
    figures: dict = {}
    timings: dict = {}
    errors = []
    for suite, path in files:
        refs_path = cases_dir / "references" / f"{suite}-{path.stem}.json"
        stored = json.loads(refs_path.read_text()) if refs_path.exists() else {}
        new_refs = dict(stored)
        for _, name, fn, quick_ok in load_suite(path):
            if quick and not quick_ok:
                continue
            ctx = CaseContext(quick=quick)
            started = time.perf_counter()
            try:
                metrics = fn(ctx)
            except Exception as exc:  # a crashing case is a failed case, reported with its cause
                errors.append((suite, name, "".join(traceback.format_exception_only(type(exc), exc)).strip()))
                rows.append(Metric("crashed", float("nan"), 0.0, 0.0, case=name, suite=suite, passed=False,
                                   note=errors[-1][2]))
                traceback.print_exc()
                continue
            timings[f"{suite}.{name}"] = time.perf_counter() - started
            figures.update(ctx.figures)
            for m in metrics:
                m.case, m.suite = name, suite
                key = f"{name}.{m.metric}" + (".quick" if quick else "")
                if m.reference is None:
                    ref = stored.get(key)
                    if update_references or ref is None:
                        new_refs[key] = {"reference": m.value, "tolerance": m.tolerance, "unit": m.unit}
                    if ref is not None and not update_references:
                        m.reference = ref["reference"]
                        m.tolerance = ref.get("tolerance", m.tolerance)
                    else:
                        m.reference = m.value
                        m.note = (m.note + "; " if m.note else "") + "reference recorded now"
                m.passed = m.check()
                rows.append(m)
        if new_refs != stored:
            refs_path.parent.mkdir(parents=True, exist_ok=True)
            refs_path.write_text(json.dumps(new_refs, indent=2, sort_keys=True) + "\n")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from ablation.output.files import write_json
    write_json(out / "results.json", {"quick": quick, "cases": [asdict(m) for m in rows], "figures": figures,
                                      "case_seconds": timings})
    _print_table(rows, figures, stream)
    failed = [m for m in rows if not m.passed]
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed", file=stream)
    print(f"results: {out / 'results.json'}", file=stream)
    return 1 if failed else 0


def _fmt(x) -> str:
    if x is None:
        return "-"
    try:
        return f"{float(x):.4g}"
    except (TypeError, ValueError):
        return str(x)


def _print_table(rows, figures, stream) -> None:
    print(f"{'suite':13} {'case':34} {'metric':30} {'value':>11} {'reference':>11} {'tol':>9} {'unit':8} ok",
          file=stream)
    for m in rows:
        rel = {"within": "±", "at_most": "≤+", "at_least": "≥-"}[m.mode]
        print(f"{m.suite:13} {m.case[:34]:34} {m.metric[:30]:30} {_fmt(m.value):>11} {_fmt(m.reference):>11} "
              f"{rel}{_fmt(m.tolerance):>7} {m.unit[:8]:8} {'yes' if m.passed else 'NO'}", file=stream)
    failed = [m for m in rows if not m.passed]
    if failed:
        print("\nmismatches (value vs reference):", file=stream)
        for m in failed:
            diff = float(m.value) - float(m.reference) if m.reference is not None and m.value == m.value else float("nan")
            print(f"  {m.suite}/{m.case}/{m.metric}: {_fmt(m.value)} vs {_fmt(m.reference)} "
                  f"(diff {_fmt(diff)}, allowed {m.mode} {_fmt(m.tolerance)}) {m.note}", file=stream)
    if figures:
        print("\nfigures:", file=stream)
        for k, v in figures.items():
            print(f"  {k} = {_fmt(v)}", file=stream)

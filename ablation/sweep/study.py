"""A whole sweep, as ``ablation sweep FILE --out DIR`` runs it:

    scenario [sweep] --sweep_spec--> SweepSpec --build_design--> Design (fixed by the seed)
      --SweepStore.open--> DIR (new, or resumed: the same design's finished samples are kept)
      --run_samples on a Dask client--> DIR/samples/*.parquet (one row per sample), failures, timings
      --assemble--> results.parquet/.csv, timings.parquet --analyse--> indices, probabilities
      --pictures, report--> DIR/plots/*.png, report.html, report.md, sweep.json

The caller owns the Dask client (a LocalCluster or an existing scheduler). The store is locked for
the whole sweep (a second sweep into the same DIR is refused).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ablation.input.scenario import ScenarioError
from ablation.output.files import ResultLock
from ablation.sweep import analysis, engine
from ablation.sweep.sampling import Design, build_design
from ablation.sweep.spec import SweepSpec, design_hash, sweep_spec
from ablation.sweep.store import SweepStore, atomic_json, csv_bytes, _atomic_bytes
from ablation.sweep.task import PipelineModel

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """A sweep ready to run: its spec, design, store and the samples still to do."""
    scenario: object
    spec: SweepSpec
    design: Design
    store: SweepStore
    state: str = ""
    todo: list = field(default_factory=list)
    retried: list = field(default_factory=list)


def plan(scenario, out, *, resume: bool = False) -> Plan:
    """Check everything that can be checked before any work; the design exists from here on."""
    spec = sweep_spec(scenario)
    design = build_design(spec)
    if len(design) == 0:
        raise ScenarioError([("sweep.samples", "the design has zero samples; expected at least one")],
                            scenario.source)
    store = SweepStore(out, design_hash(scenario), len(design)) if out is not None else None
    return Plan(scenario, spec, design, store)


def draws_per_sample(scenario, spec) -> int | None:
    placement = any(m.startswith("p_") for m in spec.metrics)
    return int(scenario.placement.samples) if placement else None


def run_sweep(scenario, out, client, *, resume: bool = False, progress=None, model=None, metrics=None,
              on_plan=None, pictures: bool = True) -> dict:
    """Run (or resume) the sweep of ``scenario`` into ``out`` on ``client``; returns sweep.json's content.

    model : default :class:`ablation.sweep.task.PipelineModel` (the real pipeline); tests pass an
        :class:`ablation.sweep.task.AnalyticModel` with its own ``metrics``.
    on_plan : called with the :class:`Plan` once the store is open (the command line reports it).
    """
    p = plan(scenario, out, resume=resume)
    spec = p.spec
    if metrics is not None:
        import dataclasses
        spec = dataclasses.replace(spec, metrics=tuple(metrics))
        p.spec = spec
    model = model or PipelineModel(scenario, spec.approaches,
                                   tuple(m for m in spec.metrics if m.startswith("summary.")))
    directory = Path(out)
    directory.parent.mkdir(parents=True, exist_ok=True)
    lock = ResultLock.acquire(directory)
    try:
        p.state = p.store.open(resume=resume)
        p.store.prepare()
        if p.state == "new":
            p.store.write_design(p.design)
        finished = p.store.finished()
        p.retried = sorted(p.store.failures())
        p.todo = [i for i in range(len(p.design)) if i not in finished]
        if on_plan is not None:
            on_plan(p)
        started = time.perf_counter()
        outcome = engine.run_samples(client, model, p.design, spec.metrics, directory, p.todo, progress=progress,
                                     done_before=len(p.design) - len(p.todo))
        wall = time.perf_counter() - started
        columns = p.store.assemble(p.design, spec.metrics, outcome.rows)
        result = analysis.analyse(spec, p.design, columns, draws_per_sample(scenario, spec))
        rows = analysis.index_rows(result.get("indices", {}))
        if rows:
            _atomic_bytes(directory / "indices.csv", csv_bytes({k: [r.get(k) for r in rows] for k in rows[0]}))
        status = {s: columns["status"].count(s) for s in ("ok", "failed", "missing")}
        record = {"tool": "ablation", "kind": "sweep", "scenario": scenario.name, "source": scenario.source,
                  "design": p.store.fingerprint, "sweep": spec.describe(), "samples": len(p.design),
                  "status": status, "this_run": {"ran": outcome.ran, "ok": outcome.ok, "failed": outcome.failed,
                                                 "state": p.state, "wall_s": wall},
                  "draws_per_sample": draws_per_sample(scenario, spec), **result,
                  "note": "model predictions for research, not clinical advice"}
        drawn = []
        if pictures:
            from ablation.sweep.pictures import draw_all
            from ablation.sweep.report import write_sweep_report
            drawn = draw_all(directory / "plots", spec, columns, result)
            record["plots"] = [d.name for d in drawn]
            write_sweep_report(directory, record, drawn, columns)
        timing = {k: v for k, v in record["this_run"].items()}
        record.pop("this_run")      # sweep.json holds no timings: identical for the same seed
        atomic_json(directory / "sweep.json", record)
        record["this_run"] = timing
        return record
    finally:
        lock.release()

"""One sample of a sweep, as one task: build its scenario, run the model, write its row.

The model of a real sweep is :class:`PipelineModel`: ``scenario.with_changes(changes)`` ->
:func:`ablation.pipeline.simulate` with ``zone_uncertainty=False`` (the sweep's spread is the
uncertainty) and an in-process executor (no process pool inside a worker) -> the metrics from the
summary, and the placement Monte Carlo of every listed approach on the same solve (common random
numbers within the sample). Tests and verification use :class:`AnalyticModel` (a closed-form
function of the parameter values).

A sample that raises is not an error of the sweep: its error, traceback, changes and scenario are
recorded (:func:`ablation.sweep.store.write_failure`) and the sweep goes on.
"""
from __future__ import annotations

import math
import os
import socket
import time
import traceback
from concurrent.futures import Executor, Future
from dataclasses import dataclass

from ablation.sweep import store


class InlineExecutor(Executor):
    """Runs each submitted call at once in the calling process: a sample is already one task on one
    worker, so work inside it (re-solved placement samples) must not start a pool of its own."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:   # noqa: B036 - handed to the caller through the future
            future.set_exception(exc)
        return future


def _number(value) -> float:
    if value is None or isinstance(value, str):
        return math.nan
    return float(value)


def summary_value(summary, dotted: str) -> float:
    """The number at ``dotted`` (a path inside summary.json, as in 'tumors[0].margin_coverage.5');
    NaN when the path is absent or does not hold a number."""
    from ablation.input.sweep_section import summary_path
    node = summary
    for step in summary_path(dotted):
        if isinstance(step, int) != isinstance(node, (list, tuple)):
            return math.nan
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return math.nan
    if isinstance(node, bool):
        return float(node)
    return float(node) if isinstance(node, (int, float)) else math.nan


def summary_metrics(result, approaches, executor=None, extra=()) -> dict:
    """Every metric of :data:`ablation.input.sweep_section.METRICS` the result has (NaN where it
    is not defined, e.g. a minimal margin with no lesion), plus the placement probabilities of
    each approach."""
    s = result.summary
    lesion = s["lesion"]
    out = {"lesion_volume_ml": _number(lesion.get("volume_ml")),
           "lesion_long_axis_mm": _number(lesion.get("long_axis_mm")),
           "lesion_short_axis_mm": _number(lesion.get("short_axis_mm")),
           "max_temperature_C": _number(s.get("max_temperature_C")),
           "energy_J": _number((s.get("device") or {}).get("energy_J"))}
    tumors = s.get("tumors") or []
    if tumors:
        out["coverage"] = min(_number(t.get("coverage")) for t in tumors)
        out["min_margin_mm"] = min(_number(t.get("min_margin_mm")) for t in tumors)
        out["technical_success"] = float(all(bool(t.get("technical_success")) for t in tumors))
    for name in extra:
        out[name] = summary_value(s, name[len("summary."):])
    placement = s.get("placement")
    if placement:
        out["p_technical_success"] = float(placement["p_technical_success"])
        out["p_margin_5mm"] = float(placement["p_margin_5mm"])
        from ablation.outcome import placement as pl
        section = result.scenario.placement
        draws = pl.standard_draws(section.seed, section.samples, len(result.scenario.probes))
        for approach in approaches:
            if approach == placement["approach"] and not section.pringle and not _overridden(section):
                mc_overall = placement
            else:
                model = pl.error_model(section, approach, pringle=False)
                mc_overall = pl.monte_carlo(result, model, section.samples, section.seed, section=section,
                                            draws=draws, executor=executor).overall
            out[f"p_technical_success_{approach}"] = float(mc_overall["p_technical_success"])
            out[f"p_margin_5mm_{approach}"] = float(mc_overall["p_margin_5mm"])
    return out


def _overridden(section) -> bool:
    """Whether [placement] overrides its approach's preset (then the run's Monte Carlo is not the preset's)."""
    return any(section[k] is not None for k in ("sigma_along", "sigma_across", "angular_sigma"))


@dataclass(frozen=True)
class PipelineModel:
    """The real model: the scenario with the sample's changes, solved and analysed."""
    scenario: object
    approaches: tuple = ()
    extra: tuple = ()       # 'summary.<dotted path>' metrics

    def changes(self, sample) -> dict:
        changes = dict(sample.changes)
        s = self.scenario
        placement = bool(s.tumors) and bool(s.probes) and (s.get("placement") is None or s.placement.enabled)
        if placement and "placement.seed" not in changes:
            changes["placement.seed"] = sample.seed   # independent placement draws per sample
        return changes

    def evaluate(self, sample) -> tuple[dict, float]:
        """The metrics and the seconds spent solving and analysing (the model's own work)."""
        from ablation.pipeline import simulate
        scenario = self.scenario.with_changes(self.changes(sample))
        started = time.perf_counter()
        executor = InlineExecutor()
        result = simulate(scenario, executor=executor, zone_uncertainty=False)
        metrics = summary_metrics(result, self.approaches, executor, self.extra)
        return metrics, time.perf_counter() - started

    def scenario_text(self, sample) -> str | None:
        """The sample's scenario as a TOML file would hold it (for a failure record)."""
        import tomli_w
        from ablation.input.scenario import copy_tree, set_path
        raw = copy_tree(self.scenario.raw)
        for path, value in self.changes(sample).items():
            set_path(raw, path, value, [])      # as written, not validated: the failure may be right here
        raw.pop("sweep", None)
        try:
            return tomli_w.dumps(raw)
        except (TypeError, ValueError):     # a value TOML cannot hold: the changes describe the sample
            return None


@dataclass(frozen=True)
class AnalyticModel:
    """A closed-form function of the parameter values (SI, in parameter order), for tests and
    verification; ``delay_s`` makes each sample take at least that long."""
    function: object
    names: tuple
    delay_s: float = 0.0

    def evaluate(self, sample) -> tuple[dict, float]:
        started = time.perf_counter()
        x = [self._value(sample.changes[n]) for n in self.names]
        out = self.function(x, sample)
        if self.delay_s:
            time.sleep(self.delay_s)
        return out, time.perf_counter() - started

    @staticmethod
    def _value(written) -> float:
        if isinstance(written, str):
            return float(written.split()[0])
        return float(written)

    def scenario_text(self, sample) -> None:
        return None


def run_sample(model, sample, row_parameters: dict, metrics: tuple, directory: str) -> dict:
    """The task of one sample: evaluate, then write its row (or its failure) and its timing into the
    store. Returns a small record for the progress display."""
    started_wall, started = time.time(), time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    status, solve_s = "ok", math.nan
    try:
        values, solve_s = model.evaluate(sample)
        error = None
    except Exception as exc:      # a failing sample is recorded, never stops the sweep
        values, error = None, exc
    evaluated = time.perf_counter()
    row = None
    if error is None:
        row = {"sample": sample.index, **row_parameters, "seed": sample.seed}
        row.update({m: _number(values.get(m)) for m in metrics})
        store.write_row(directory, sample.index, row)
    else:
        status = "failed"
        store.write_failure(directory, sample.index, failure_record(model, sample, error))
    finished = time.perf_counter()
    # solve_s: the model's own work (simulate and the metrics); overhead_s: the rest of the task
    # (building the sample's scenario, writing its row and timing)
    timing = {"sample": sample.index, "status": status, "worker": worker, "started_unix_s": started_wall,
              "task_s": finished - started, "evaluate_s": evaluated - started, "solve_s": solve_s,
              "overhead_s": (finished - started) - (solve_s if math.isfinite(solve_s) else evaluated - started)}
    store.write_timing(directory, sample.index, timing)
    # the row goes back to the client too: assembling a large sweep then reads only earlier runs' files
    return {"sample": sample.index, "status": status, "task_s": timing["task_s"], "row": row}


def failure_record(model, sample, error: BaseException, text: str | None = None) -> dict:
    return {"sample": sample.index, "error": text or f"{type(error).__name__}: {error}",
            "traceback": "".join(traceback.format_exception(error)) if error is not None else None,
            "changes": sample.changes, "seed": sample.seed, "scenario_toml": model.scenario_text(sample)}

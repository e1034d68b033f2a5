"""The ``[sweep]`` section of a loaded scenario as plain objects. The section is declared and
checked in :mod:`ablation.input.sweep_section` (so ``ablation validate`` reports its problems);
this module only gathers what a sweep needs."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ablation.input.scenario import ScenarioError, scenario_spec
from ablation.input.sweep_section import METRICS, SweepParameter, available_metrics, parse_sweep


@dataclass(frozen=True)
class SweepSpec:
    """What to sample and what to tabulate.

    method : 'factorial', 'sobol', 'lhs' (uncertainty) or 'sobol', 'morris' (sensitivity)
    samples : uncertainty: the sample count; sobol sensitivity: SALib's base N; morris: trajectories
    metrics : the table's metric columns, in order
    """
    mode: str
    method: str
    parameters: tuple[SweepParameter, ...]
    samples: int | None
    seed: int
    levels: int = 4
    second_order: bool = False
    bootstrap: int = 1000
    confidence: float = 0.95
    metrics: tuple[str, ...] = ()
    approaches: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [p.path for p in self.parameters]

    def describe(self) -> dict:
        """JSON-ready description (sweep.json)."""
        params = []
        for p in self.parameters:
            entry = {"path": p.path, "unit": p.field.unit if p.field.numeric else None, "kind": p.kind}
            if p.kind == "values":
                entry["values"] = list(p.values)
            else:
                entry["distribution"] = p.distribution
                entry["shape_si"] = list(p.shape)
            params.append(entry)
        return {"mode": self.mode, "method": self.method, "samples": self.samples, "seed": self.seed,
                "levels": self.levels, "second_order": self.second_order, "bootstrap": self.bootstrap,
                "confidence": self.confidence, "metrics": list(self.metrics),
                "metric_units": {m: metric_unit(m) for m in self.metrics},
                "approaches": list(self.approaches), "parameters": params}


def metric_unit(name: str) -> str:
    if name.startswith("summary."):
        return "as in summary.json"
    base = name if name in METRICS else name.rsplit("_", 1)[0]
    return METRICS[base][0] if base in METRICS else "1"


def sweep_spec(scenario) -> SweepSpec:
    """The sweep of ``scenario``; raises :class:`ScenarioError` when it has no [sweep] section
    (its contents were checked when it was loaded)."""
    section = scenario.get("sweep")
    if section is None:
        raise ScenarioError([("sweep", "missing; `ablation sweep` needs a [sweep] section with "
                                       "[[sweep.parameters]] (docs/sweeps.md)")], scenario.source)
    errors: list = []
    parameters = parse_sweep(scenario, scenario_spec(), errors)
    if errors:
        raise ScenarioError(errors, scenario.source)
    method = section.method
    if method == "auto":
        method = {"design": "factorial", "uncertainty": "sobol", "sensitivity": "sobol"}[section.mode]
    approaches = tuple(section.approaches)
    metrics = tuple(section.metrics or available_metrics(scenario, approaches))
    return SweepSpec(section.mode, method, parameters, section.samples, int(section.seed), int(section.levels),
                     bool(section.second_order), int(section.bootstrap), float(section.confidence), metrics,
                     approaches)


def design_hash(scenario) -> str:
    """Fingerprint of everything that decides the table: the scenario as written (its [sweep] section
    included) and the package version. A store of another fingerprint is not resumed."""
    from ablation.version import __version__
    text = json.dumps({"scenario": scenario.raw, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()

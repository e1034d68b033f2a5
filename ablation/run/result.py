"""What a simulation returns: the final fields on the grid, stored snapshots, the time series and
the summary (what summary.json holds), with the analyses' per-sample data."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ablation.geometry.grid import Domain
from ablation.physics.damage import parse_criterion
from ablation.run.summary import Summary

#: One stored time point: (time in s, {field name: per-cell array}).
Snapshot = tuple[float, dict[str, np.ndarray]]


@dataclass(frozen=True)
class PlacementSamples:
    """Per-sample placement Monte Carlo results of one tumour (arrays over samples)."""
    coverage: np.ndarray
    min_margin_mm: np.ndarray
    technical_success: np.ndarray


@dataclass
class Result:
    """A solved scenario.

    scenario : the (transformed) scenario that was solved
    domain : the grid and region masks
    fields : final per-cell fields (SI; temperatures in degC): temperature_C, omega, t_max_C, ...
    snapshots : fields at the stored time points
    timeseries : column -> values, one row per step plus the initial state
    summary : the summary (:class:`ablation.run.summary.Summary`; ``summary.to_dict()`` is summary.json);
        a plain summary.json mapping is read into one
    placement_samples : tumour name -> per-sample placement results, when the Monte Carlo ran
    directory : the result folder it was read from (results loaded with ``load_result``)
    snapshot_index : (time s, file) of the snapshots stored in ``directory``
    resolved_band : quantile -> this scenario solved again at that quantile of an uncertain input
        that changes the temperature history (the cryoprobes' calibrated capacity), when the run's
        zone band needed re-solves (:func:`ablation.pipeline.simulate`); not saved in folders
    """
    scenario: Mapping[str, Any]
    domain: Domain
    fields: dict[str, np.ndarray]
    snapshots: list[Snapshot]
    timeseries: dict[str, list[float]]
    summary: Summary
    placement_samples: dict[str, PlacementSamples] = field(default_factory=dict)
    directory: Path | None = None
    snapshot_index: list[tuple[float, Path]] = field(default_factory=list)
    resolved_band: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.summary, Summary):
            self.summary = Summary.from_dict(self.summary)

    def criterion_level(self, name: str) -> np.ndarray:
        return parse_criterion(name).level(self.fields)

    def lesion_mask(self, name: str | None = None) -> np.ndarray:
        return parse_criterion(name or self.summary.lesion.criterion).mask(self.fields)

"""Placement approach (open, laparoscopic, percutaneous), its error model, inflow occlusion, and
the placement Monte Carlo (docs/physics.md sections 4 and 5). One job per module:

* :mod:`.error_models` - the approaches' presets with sources, scenario overrides, seeded
  standard-normal draws (common random numbers), displaced and tilted probes, inflow occlusion;
* :mod:`.statistics` - Wilson score intervals, quantiles, probabilities, per-tumour summaries;
* :mod:`.moved_lesion` - solve once and move the tumour's points against a signed-distance raster;
* :mod:`.resolve` - re-solved samples and insertion sequences through an executor;
* :mod:`.move_check` - the error of moving a material tumour instead of re-solving;
* :mod:`.monte_carlo` - the method choice and the Monte Carlo (:class:`MonteCarloResult`);
* :mod:`.analysis` - the run step: summary.json ``placement`` and per-sample results.

Inflow occlusion (Pringle manoeuvre) is a scenario transformation applied before solving
(:func:`ablation.run.transforms.apply_transforms`): tissue and tumour perfusion 0 and the vessels
removed. Only open and laparoscopic access allow it. Repositioning: ``[[placement.insertions]]``
lists further insertions of the first probe's device; they run one after another on one 3-D grid
(:func:`run_sequence`). No files, no screen.
"""
from ablation.outcome.placement.analysis import placement_analysis, placement_summary
from ablation.outcome.placement.error_models import (APPROACHES, MM, PRESETS, ErrorModel, displaced_probe,
                                                     error_model, local_errors, probe_frame, standard_draws,
                                                     tilt_matrices, with_pringle)
from ablation.outcome.placement.monte_carlo import (InsertionsBlock, MonteCarloResult, choose_method,
                                                    monte_carlo)
from ablation.outcome.placement.move_check import measure_move_error
from ablation.outcome.placement.moved_lesion import PointSet, SdfTable, moved_metrics, point_set, table_for
from ablation.outcome.placement.resolve import (ResolveJob, planned_insertions, resolve_jobs, run_sequence,
                                                sample_metrics, solve_all, solve_job)
from ablation.outcome.placement.statistics import (QUANTILES, Z95, SampleTable, probabilities, quantiles,
                                                   summarize, wilson)

__all__ = ["APPROACHES", "MM", "PRESETS", "ErrorModel", "displaced_probe", "error_model", "local_errors",
           "probe_frame", "standard_draws", "tilt_matrices", "with_pringle", "QUANTILES", "Z95", "SampleTable",
           "probabilities", "quantiles", "summarize", "wilson", "PointSet", "SdfTable", "moved_metrics",
           "point_set", "table_for", "ResolveJob", "planned_insertions", "resolve_jobs", "run_sequence",
           "sample_metrics", "solve_all", "solve_job", "measure_move_error", "InsertionsBlock",
           "MonteCarloResult", "choose_method", "monte_carlo", "placement_analysis", "placement_summary"]

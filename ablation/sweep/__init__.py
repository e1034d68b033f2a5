"""Parameter sweeps, uncertainty propagation and global sensitivity on Dask (issue 13).

One job per module:

* :mod:`.spec` - the checked ``[sweep]`` section as plain objects (:class:`SweepSpec`);
* :mod:`.sampling` - the sample table, fixed by the seed before anything runs (factorial,
  scipy.stats.qmc Sobol / Latin hypercube, SALib Saltelli and Morris designs);
* :mod:`.task` - one sample: its scenario, the pipeline without the zone band, the metrics;
* :mod:`.store` - the resumable store in DIR: one Parquet row per finished sample, failures,
  timings apart, the assembled tables;
* :mod:`.engine` - dask.distributed: one task per sample, retries, progress;
* :mod:`.analysis` - Sobol and Morris indices with intervals, summaries, probabilities per approach;
* :mod:`.pictures`, :mod:`.report` - plots and report.html;
* :mod:`.analytic` - closed-form test functions (Ishigami) for verifying the indices;
* :mod:`.study` - the whole sweep as ``ablation sweep`` runs it.

Nothing below this package knows about Dask: a sample calls :func:`ablation.pipeline.simulate`
with an in-process executor.
"""

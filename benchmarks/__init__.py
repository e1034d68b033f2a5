"""Benchmark suites of the ablation toolkit, shipped with the package as ``ablation.benchmarks``.

``verification/``, ``validation/`` and ``performance/`` hold the suites (files of ``@case`` functions
run by ``ablation bench``, which loads them by path), ``references/`` the stored regression values,
``results/`` the recorded results of the last full run, and ``validation/published_lesions.csv``
the published lesion data the validation cases compare against."""

"""The sample table of a sweep, fixed by the seed before any sample runs.

* design mode: the full factorial of the listed values (the first parameter varies slowest);
* uncertainty: scrambled Sobol points or a Latin hypercube (scipy.stats.qmc) in the unit cube;
* sensitivity: SALib's Saltelli design (its Sobol-sequence sampler) or Morris trajectories.

Unit-cube points become values through each distribution's quantile function
(:meth:`ablation.input.sweep_section.SweepParameter.quantile`). Morris levels l in {0, 1/(p-1),
.., 1} are used as quantiles of bounded distributions (uniform, triangular: the ends are reached);
for unbounded ones (normal, lognormal) they are mapped to (l (p - 1) + 1/2) / p, the middles of p
equiprobable bins, so the design stays away from the far tails. The analysis works on the levels.
(Mapping every parameter to bin middles would make every Morris step exactly half the range, which
hides any input with a period of half its range, such as Ishigami's x2.)

Every sample gets its own seed (for its placement Monte Carlo) from the sweep seed and its index
(numpy SeedSequence), never from the worker that runs it.
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sample:
    """One run: its index, the scenario changes (path -> value as written) and its seed."""
    index: int
    changes: dict
    seed: int


@dataclass(frozen=True)
class Design:
    """All samples of a sweep. ``unit`` holds the unit-cube points the analysis needs (Saltelli,
    Morris levels), None for a factorial design; ``columns`` the parameter values per path (SI
    numbers, or the values as written for fields that are not numbers)."""
    method: str
    samples: tuple[Sample, ...]
    columns: dict
    unit: np.ndarray | None

    def __len__(self) -> int:
        return len(self.samples)


def sample_seed(seed: int, index: int) -> int:
    """The seed of sample ``index``: independent streams for every sample (SeedSequence)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint32)[0])


def unit_points(spec) -> np.ndarray:
    """The unit-cube points of a distribution design, (samples, parameters)."""
    d = len(spec.parameters)
    if spec.method == "lhs":
        from scipy.stats import qmc
        return qmc.LatinHypercube(d, rng=np.random.default_rng(spec.seed)).random(spec.samples)
    if spec.method == "sobol" and spec.mode == "uncertainty":
        from scipy.stats import qmc
        with warnings.catch_warnings():     # balance properties want 2^k points; any count is valid
            warnings.simplefilter("ignore", UserWarning)
            return qmc.Sobol(d, scramble=True, rng=np.random.default_rng(spec.seed)).random(spec.samples)
    problem = salib_problem(spec)
    if spec.method == "sobol":
        from SALib.sample import sobol
        return sobol.sample(problem, spec.samples, calc_second_order=spec.second_order, scramble=True,
                            seed=spec.seed)
    if spec.method == "morris":
        from SALib.sample import morris
        return morris.sample(problem, spec.samples, num_levels=spec.levels, seed=spec.seed)
    raise ValueError(f"no unit-cube design for method {spec.method!r}")


def salib_problem(spec) -> dict:
    """SALib's problem on the unit cube (the distributions are applied afterwards)."""
    return {"num_vars": len(spec.parameters), "names": spec.names, "bounds": [[0.0, 1.0]] * len(spec.parameters)}


def build_design(spec) -> Design:
    """The samples of ``spec`` (a :class:`ablation.sweep.spec.SweepSpec`)."""
    if spec.method == "factorial":
        combos = list(itertools.product(*[p.values for p in spec.parameters]))
        samples = tuple(Sample(i, {p.path: v for p, v in zip(spec.parameters, combo)}, sample_seed(spec.seed, i))
                        for i, combo in enumerate(combos))
        columns = {}
        for k, p in enumerate(spec.parameters):
            numbers = [p.value_si(combo[k]) for combo in combos]
            columns[p.path] = (np.array(numbers, float) if all(isinstance(v, float) for v in numbers)
                               else [_as_text(v) for v in (combo[k] for combo in combos)])
        return Design("factorial", samples, columns, None)
    unit = unit_points(spec)
    quantiles = unit.copy()
    if spec.method == "morris":
        p = spec.levels
        for k, par in enumerate(spec.parameters):
            if par.distribution in ("normal", "lognormal"):
                quantiles[:, k] = (unit[:, k] * (p - 1) + 0.5) / p
    columns = {par.path: np.asarray(par.quantile(quantiles[:, k]), float) for k, par in enumerate(spec.parameters)}
    samples = tuple(Sample(i, {par.path: par.field.written(float(columns[par.path][i])) for par in spec.parameters},
                           sample_seed(spec.seed, i)) for i in range(unit.shape[0]))
    return Design(spec.method, samples, columns, unit)


def _as_text(value) -> str:
    import json
    return value if isinstance(value, str) else json.dumps(value)

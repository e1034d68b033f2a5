"""Statistics over placement samples: probabilities with 95 % Wilson score intervals, coverage
and margin quantiles, per tumour and overall."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ablation.run.result import PlacementSamples

Z95 = 1.959963984540054   # two-sided 95 % normal quantile


@dataclass(frozen=True)
class SampleTable:
    """Per-sample results of every tumour: arrays (samples, tumours)."""
    coverage: np.ndarray
    min_margin_mm: np.ndarray
    technical_success: np.ndarray

    @property
    def count(self) -> int:
        return int(self.coverage.shape[0])

    @classmethod
    def concatenate(cls, parts: list, count: int) -> "SampleTable":
        """One table of ``count`` samples from (sample indices, table of those samples) parts."""
        tumors = parts[0][1].coverage.shape[1]
        coverage, margin = np.empty((count, tumors)), np.empty((count, tumors))
        success = np.empty((count, tumors), bool)
        for idx, table in parts:
            coverage[idx], margin[idx], success[idx] = table.coverage, table.min_margin_mm, table.technical_success
        return cls(coverage, margin, success)

    def tumor(self, i: int) -> PlacementSamples:
        """The samples of tumour ``i`` (column ``i``)."""
        return PlacementSamples(self.coverage[:, i], self.min_margin_mm[:, i], self.technical_success[:, i])


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion:
    (p + z^2/2n +/- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = successes / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def quantiles(values: np.ndarray) -> dict:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {f"q{int(q * 100):02d}": None for q in QUANTILES}
    return {f"q{int(q * 100):02d}": float(np.quantile(finite, q)) for q in QUANTILES}


def probabilities(coverage: np.ndarray, margin_mm: np.ndarray, success: np.ndarray) -> dict:
    """P(technical success), P(MAM >= 5 mm), P(MAM >= 10 mm) with Wilson 95 % intervals."""
    n = int(success.size)
    events = {"p_technical_success": success, "p_margin_5mm": margin_mm >= 5.0,
              "p_margin_10mm": margin_mm >= 10.0}
    out = {k: float(np.mean(v)) for k, v in events.items()}
    out["ci95"] = {k: list(wilson(int(np.sum(v)), n)) for k, v in events.items()}
    return out


def summarize(samples: SampleTable, names: list) -> tuple[list, dict]:
    """Per-tumour and overall summaries (summary.json layout) from per-sample arrays."""
    cov_, mam, ok = samples.coverage, samples.min_margin_mm, samples.technical_success
    per = []
    for i, name in enumerate(names):
        entry = {"name": name, **probabilities(cov_[:, i], mam[:, i], ok[:, i]),
                 "coverage_quantiles": quantiles(cov_[:, i]), "min_margin_mm_quantiles": quantiles(mam[:, i]),
                 "mean_coverage": float(np.mean(cov_[:, i]))}
        per.append(entry)
    overall = probabilities(np.min(cov_, axis=1), np.min(mam, axis=1), np.all(ok, axis=1))
    return per, overall

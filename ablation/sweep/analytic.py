"""Closed-form test functions with known sensitivity indices, for verifying the sweep's analysis.

Ishigami & Homma (1990): f(x) = sin x1 + a sin^2 x2 + b x3^4 sin x1, x_i ~ U(-pi, pi). With
D = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2 the variance, the indices are (e.g. Saltelli et al. 2008,
"Global Sensitivity Analysis: The Primer", section 4.7; Sobol' & Levitan 1999)

    V1 = (1 + b pi^4/5)^2 / 2,  V2 = a^2/8,  V3 = 0,  V13 = b^2 pi^8 (1/18 - 1/50)
    S_i = V_i / D;  ST1 = (V1 + V13) / D,  ST2 = V2 / D,  ST3 = V13 / D.
"""
from __future__ import annotations

import math

import numpy as np

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1   # the usual constants (Ishigami & Homma 1990; Marrel et al. 2009)


def ishigami(x, a: float = ISHIGAMI_A, b: float = ISHIGAMI_B):
    """f for points ``x`` (..., 3)."""
    x = np.asarray(x, float)
    return np.sin(x[..., 0]) + a * np.sin(x[..., 1]) ** 2 + b * x[..., 2] ** 4 * np.sin(x[..., 0])


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict:
    """Closed-form first-order and total Sobol indices: {'S1': [..3], 'ST': [..3]}."""
    pi4, pi8 = math.pi ** 4, math.pi ** 8
    v1 = 0.5 * (1.0 + b * pi4 / 5.0) ** 2
    v2 = a * a / 8.0
    v13 = b * b * pi8 * (1.0 / 18.0 - 1.0 / 50.0)
    total = v1 + v2 + v13
    return {"S1": [v1 / total, v2 / total, 0.0], "ST": [(v1 + v13) / total, v2 / total, v13 / total]}


def ishigami_metrics(x, sample=None) -> dict:
    """The sweep model form (:class:`ablation.sweep.task.AnalyticModel`): metric 'y' of x1..x3."""
    return {"y": float(ishigami(np.asarray(x[:3], float)))}

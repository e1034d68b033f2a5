"""What a finished sweep says: metric summaries, Sobol or Morris indices with intervals, and the
placement probabilities of each approach with the parameter spread folded in. Plain numbers in,
plain dicts out (no files, no pictures).

Sobol indices: SALib's estimators (Saltelli 2010 first order, Jansen total order) on the Saltelli
design, intervals from ``bootstrap`` resamples at ``confidence``. Morris: mu* (mean absolute
elementary effect) with its bootstrap interval, mu and sigma, in metric units per unit of the
parameter's quantile (the whole range is 1), so parameters of different units compare.

Probabilities over the swept parameters (issue 13, item 4): the probability of e.g. technical
success given what is not known about the tissue is the mixture over samples,
p = mean_i p_i, each p_i the placement Monte Carlo of sample i (M draws, own seed). Its interval
is the hull of two intervals: (a) the normal interval p +/- z s / sqrt(S) with s the standard
deviation of the p_i over the S samples, which holds both sources of spread (the parameters and
each sample's independent Monte Carlo error: Var(p_i) = Var_theta(p) + E[p(1 - p)] / M); and (b)
the Wilson interval of all S M draws pooled, which keeps a sensible width when every p_i is 0 or 1
and s vanishes.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ablation.input.sweep_section import PER_APPROACH
from ablation.outcome.placement import wilson


def _z(confidence: float) -> float:
    from scipy.stats import norm
    return float(norm.ppf(0.5 + confidence / 2.0))


def summarize_metric(values) -> dict:
    v = np.asarray(values, float)
    finite = v[np.isfinite(v)]
    out = {"count": int(finite.size), "missing": int(v.size - finite.size)}
    if finite.size == 0:
        return out
    out.update({"mean": float(np.mean(finite)), "sd": float(np.std(finite, ddof=1)) if finite.size > 1 else 0.0,
                "min": float(np.min(finite)), "max": float(np.max(finite))})
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        out[f"q{int(q * 100):02d}"] = float(np.quantile(finite, q))
    return out


def _not_computed(y: np.ndarray) -> str | None:
    bad = int(np.sum(~np.isfinite(y)))
    if bad:
        return (f"not computed: {bad} of {y.size} samples have no value (failed, missing or undefined); the "
                "estimator needs every sample of the design (rerun with --resume to retry failed samples)")
    if float(np.var(y)) == 0.0:
        return "not computed: the metric is the same in every sample"
    return None


def sobol_indices(spec, y) -> dict:
    """First-order (S1) and total (ST) indices of every parameter for metric values ``y`` on the
    Saltelli design of ``spec``, with bootstrap confidence half-widths."""
    from SALib.analyze import sobol
    from ablation.sweep.sampling import salib_problem
    y = np.asarray(y, float)
    reason = _not_computed(y)
    block = len(spec.parameters) * (2 if spec.second_order else 1) + 2
    if not reason and y.size % block == 0:
        rows = y.reshape(-1, block)     # Saltelli layout per base sample: A, AB_1..AB_D, (BA_1..BA_D,) B
        if float(np.var(np.concatenate([rows[:, 0], rows[:, -1]]))) == 0.0:
            reason = ("not computed: the metric is the same in every sample of the design's A and B matrices "
                      "(the estimators divide by that variance)")
    if reason:
        return {"available": False, "reason": reason}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sobol.analyze(salib_problem(spec), y, calc_second_order=spec.second_order,
                            num_resamples=spec.bootstrap, conf_level=spec.confidence, seed=spec.seed)
    if any("Constant values" in str(w.message) for w in caught):
        # SALib then returns zeros for the constant blocks: numbers that look like a result but are not
        return {"available": False,
                "reason": "not computed: SALib found blocks of the design in which the metric does not vary "
                          "(e.g. a probability that is 0 in all but a few samples); more samples or another "
                          "metric are needed"}
    out = {"available": True, "method": "sobol", "confidence": spec.confidence, "bootstrap": spec.bootstrap,
           "parameters": {}}
    for k, name in enumerate(spec.names):
        out["parameters"][name] = {"S1": float(res["S1"][k]), "S1_conf": float(res["S1_conf"][k]),
                                   "ST": float(res["ST"][k]), "ST_conf": float(res["ST_conf"][k])}
    if spec.second_order:
        out["S2"] = {f"{a} x {b}": {"S2": float(res["S2"][i, j]), "S2_conf": float(res["S2_conf"][i, j])}
                     for i, a in enumerate(spec.names) for j, b in enumerate(spec.names) if j > i}
    return out


def morris_indices(spec, unit, y) -> dict:
    """Morris screening: mu*, its bootstrap interval half-width, mu and sigma per parameter."""
    from SALib.analyze import morris
    from ablation.sweep.sampling import salib_problem
    y = np.asarray(y, float)
    reason = _not_computed(y)
    if reason:
        return {"available": False, "reason": reason}
    res = morris.analyze(salib_problem(spec), np.asarray(unit, float), y, num_resamples=spec.bootstrap,
                         conf_level=spec.confidence, num_levels=spec.levels, seed=spec.seed)
    out = {"available": True, "method": "morris", "confidence": spec.confidence, "bootstrap": spec.bootstrap,
           "units": "metric units per whole quantile range of the parameter", "parameters": {}}
    for k, name in enumerate(spec.names):
        out["parameters"][name] = {"mu_star": float(res["mu_star"][k]), "mu_star_conf": float(res["mu_star_conf"][k]),
                                   "mu": float(res["mu"][k]), "sigma": float(res["sigma"][k])}
    return out


def mixture_probability(p, draws_per_sample: int, confidence: float = 0.95) -> dict:
    """The mixture p = mean(p_i) over S samples and its interval (module docstring)."""
    p = np.asarray(p, float)
    p = p[np.isfinite(p)]
    s_count = int(p.size)
    if s_count == 0:
        return {"p": None, "interval": [None, None], "samples": 0}
    mean = float(np.mean(p))
    z = _z(confidence)
    sd = float(np.std(p, ddof=1)) if s_count > 1 else 0.0
    normal = (max(0.0, mean - z * sd / math.sqrt(s_count)), min(1.0, mean + z * sd / math.sqrt(s_count)))
    pooled_n = s_count * int(draws_per_sample)
    pooled = wilson(int(round(mean * pooled_n)), pooled_n, z)
    return {"p": mean, "interval": [min(normal[0], pooled[0]), max(normal[1], pooled[1])],
            "spread_sd": sd, "samples": s_count, "draws_per_sample": int(draws_per_sample),
            "interval_normal": list(normal), "interval_pooled_wilson": list(pooled)}


def approach_probabilities(columns: dict, approaches, draws_per_sample: int, confidence: float) -> dict:
    """P(technical success) and P(MAM >= 5 mm) per approach over the sweep (mixture over samples)."""
    out = {}
    for approach in approaches:
        entry = {}
        for metric in PER_APPROACH:
            name = f"{metric}_{approach}"
            if name in columns:
                entry[metric] = mixture_probability(columns[name], draws_per_sample, confidence)
        if entry:
            out[approach] = entry
    return out


def analyse(spec, design, columns: dict, draws_per_sample: int | None = None) -> dict:
    """Summaries of every metric, indices (sensitivity mode) and approach probabilities."""
    out = {"summaries": {m: summarize_metric(columns[m]) for m in spec.metrics}}
    if spec.mode == "sensitivity":
        out["indices"] = {}
        for m in spec.metrics:
            y = columns[m]
            out["indices"][m] = (sobol_indices(spec, y) if spec.method == "sobol"
                                 else morris_indices(spec, design.unit, y))
    if draws_per_sample:
        out["approaches"] = approach_probabilities(columns, spec.approaches, draws_per_sample, spec.confidence)
        out["approaches_note"] = (
            "mixture over the swept parameters: p = mean of the per-sample placement probabilities (each "
            f"sample's own Monte Carlo of {draws_per_sample} draws); interval = hull of the normal interval of the "
            "mean over samples (parameter spread and Monte Carlo error together) and the Wilson interval of all "
            "draws pooled")
    return out


def index_rows(indices: dict) -> list[dict]:
    """indices.csv rows: metric, parameter, then the estimates."""
    rows = []
    for metric, entry in indices.items():
        if not entry.get("available"):
            continue
        for name, values in entry["parameters"].items():
            rows.append({"metric": metric, "parameter": name, "method": entry["method"], **values})
    return rows

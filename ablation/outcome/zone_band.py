"""The lethal zone's uncertainty band from one solve.

The zone's edge is set by a lethality parameter whose value is uncertain: the cell-death edge
temperature for heat (``damage.edge_temperature``, calibrated on published lesions) or the lethal
isotherm for cold (-40 to -20 degC, docs/physics.md 3). Neither changes the temperature history
when perfusion follows its own stasis kinetics rather than Omega, so the zone for another value is
a threshold on the fields already solved, not a new solve:

* Arrhenius at a fixed Ea: Omega is proportional to A, so the zone for edge temperature T' is
  Omega x A(T') / A(T_run) >= threshold (:func:`ablation.physics.damage.frequency_factor_for_edge`);
* a lethal isotherm T': T_min <= T', i.e. T_min shifted by (threshold - T') against the criterion.

With ``perfusion_shutdown = 'arrhenius'`` (perfusion stops where Omega >= 1) the temperature history
does depend on A, and the band is an approximation that the notes say so.

A calibrated model also carries a model discrepancy (:mod:`ablation.calibration.fit`): the
structural error no parameter value removes, as a relative SD delta of each zone dimension (long
and short axes independent; the volume's log-SD is sqrt(5) delta). The band the run reports joins
both: in log space the parameter band's half-width 1.645 s_p (from its 5 and 95 % zones) and the
discrepancy add in quadrature, s = sqrt(s_p^2 + (k delta)^2), around the parameter's median zone.
The parameter-only band is kept beside it.

An uncertain input that does change the temperature history cannot be a threshold: the cryoprobes'
calibrated cooling capacity (one training row, so its log-SD comes from that row's SD,
:data:`ablation.modalities.cryo.CALIBRATED_EXTRACTION_LOG_SD_BY_LAW`). The pipeline solves the run
again at two quantiles of it (:func:`ablation.pipeline.capacity_resolves`); the zones' spread there,
as a log-SD per dimension (:func:`resolved_log_sds`), adds in quadrature like the discrepancy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ablation.physics.damage import frequency_factor_for_edge, lesion_size, parse_criterion
from ablation.physics.tissue import preset_values

QUANTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class ZoneParameter:
    """An uncertain lethality parameter: its name, the scenario key it corresponds to, its
    distribution (normal: mean, sd; uniform: low, high), in degC, and where that comes from."""
    name: str
    key: str
    distribution: str
    a: float
    b: float
    source: str
    discrepancy: float = 0.0    # model discrepancy: relative SD of each zone dimension (module docstring)

    def quantile(self, q: float) -> float:
        if self.distribution == "normal":
            return float(stats.norm.ppf(q, self.a, self.b))
        return float(self.a + q * (self.b - self.a))

    def cdf(self, value: float) -> float:
        """The probability that the parameter lies below ``value``."""
        if self.distribution == "normal":
            return float(stats.norm.cdf(value, self.a, self.b))
        return float(np.clip((value - self.a) / (self.b - self.a), 0.0, 1.0))

    def to_dict(self) -> dict:
        shape = {"mean": self.a, "sd": self.b} if self.distribution == "normal" else {"low": self.a, "high": self.b}
        return {"name": self.name, "key": self.key, "distribution": self.distribution, **shape, "unit": "degC",
                "discrepancy_relative_sd": self.discrepancy, "source": self.source}

    @classmethod
    def from_dict(cls, data: dict) -> "ZoneParameter":
        """The inverse of :meth:`to_dict` (summary.json's ``lesion.uncertainty.parameter``)."""
        normal = data["distribution"] == "normal"
        return cls(data["name"], data["key"], data["distribution"], data["mean"] if normal else data["low"],
                   data["sd"] if normal else data["high"], data["source"],
                   float(data.get("discrepancy_relative_sd") or 0.0))


#: log-SD of each reported zone quantity per unit of model discrepancy (module docstring)
DISCREPANCY_EXPONENT = {"volume_ml": math.sqrt(5.0), "long_axis_mm": 1.0, "short_axis_mm": 1.0}
Z95 = float(stats.norm.ppf(0.95))


def with_discrepancy(rows: list[dict], discrepancy: float, quantiles=QUANTILES) -> list[dict]:
    """The parameter band's zones (``rows`` at the 5/50/95 % quantiles) joined with the model
    discrepancy, at ``quantiles`` (module docstring): lognormal around the median zone."""
    return with_log_sds(rows, {key: k * discrepancy for key, k in DISCREPANCY_EXPONENT.items()}, quantiles)


def with_log_sds(rows: list[dict], extra: dict, quantiles=QUANTILES) -> list[dict]:
    """The parameter band's zones (``rows`` at the 5/50/95 % quantiles) joined in log space with
    independent log-SDs ``extra`` {quantity: s}: lognormal around the median zone, the band's own
    log-SD (from its 5 and 95 % zones) and each extra one adding in quadrature."""
    low, mid, high = rows[0], rows[len(rows) // 2], rows[-1]
    out = [{"quantile": q} for q in quantiles]
    for key in DISCREPANCY_EXPONENT:
        a, m, b = sorted((low[key], mid[key], high[key]))
        if m <= 0.0:
            for row in out:
                row[key] = m
            continue
        s_parameter = (math.log(b) - math.log(a)) / (2.0 * Z95) if a > 0.0 else 0.0
        s = math.hypot(s_parameter, extra.get(key, 0.0))
        for row, q in zip(out, quantiles):
            row[key] = m * math.exp(s * float(stats.norm.ppf(q)))
    return out


def zone_quantiles(rows: list[dict]) -> list[dict]:
    """The parameter band's zones (``rows`` at the 5/50/95 % quantiles of the parameter) as quantiles
    of the zone itself: a higher edge temperature gives a smaller zone, so the parameter's 5 % row
    holds the zone's 95 % values. The zone is monotone in the parameter and the quantiles symmetric,
    so each quantity's values sorted are its own quantiles."""
    out = [{"quantile": r["quantile"]} for r in rows]
    for key in DISCREPANCY_EXPONENT:
        for row, value in zip(out, sorted(r[key] for r in rows)):
            row[key] = value
    return out


def resolved_log_sds(resolved: dict, criterion_name: str) -> dict:
    """{quantity: log-SD} of the zone under an input re-solved at a low and a high quantile
    (``resolved``: quantile -> Result), read with the run's criterion: ln(x_high / x_low) over the
    normal scores' distance. A zone that vanishes at the low end counts as halved (assumption: the
    band then spans at least a factor 2)."""
    c = parse_criterion(criterion_name)
    q_low, q_high = min(resolved), max(resolved)
    low, high = (lesion_size(resolved[q].domain, c.level(resolved[q].fields)) for q in (q_low, q_high))
    distance = float(stats.norm.ppf(q_high) - stats.norm.ppf(q_low))
    out = {}
    for key in DISCREPANCY_EXPONENT:
        a, b = sorted((low[key], high[key]))
        out[key] = (math.log(b / a) if a > 0.0 else math.log(2.0)) / distance if b > 0.0 else 0.0
    return out


def applies(parameter: ZoneParameter, criterion_name: str) -> bool:
    """Whether ``parameter`` moves the zone of this criterion (edge temperature: Arrhenius criteria;
    lethal isotherm: minimum-temperature criteria)."""
    field = parse_criterion(criterion_name).field
    return (parameter.name == "edge_temperature" and field == "omega") or \
        (parameter.name == "lethal_temperature" and field == "t_min_C")


def variant_fields(fields: dict, criterion_name: str, parameter: ZoneParameter, value: float, run_value: float,
                   activation_energy: float, exposure_s: float) -> dict:
    """The fields as they would read had the parameter been ``value`` instead of ``run_value``
    (the run's own), judged by the unchanged criterion (module docstring)."""
    c = parse_criterion(criterion_name)
    out = dict(fields)
    if parameter.name == "edge_temperature":
        ratio = (frequency_factor_for_edge(value, activation_energy, exposure_s)
                 / frequency_factor_for_edge(run_value, activation_energy, exposure_s))
        out[c.field] = np.asarray(fields[c.field], float) * ratio
    else:
        out[c.field] = np.asarray(fields[c.field], float) + (c.threshold - value)
    return out


def band(domain, fields: dict, criterion_name: str, parameter: ZoneParameter, run_value: float,
         activation_energy: float = math.nan, exposure_s: float = 60.0, quantiles=QUANTILES) -> list[dict]:
    """Zone size (volume mL, axes mm) at each quantile of the parameter, from the solved fields."""
    c = parse_criterion(criterion_name)
    rows = []
    for q in quantiles:
        value = parameter.quantile(q)
        variant = variant_fields(fields, criterion_name, parameter, value, run_value, activation_energy, exposure_s)
        size = lesion_size(domain, c.level(variant))
        rows.append({"quantile": q, "parameter_value": value, "volume_ml": size["volume_ml"],
                     "long_axis_mm": size["long_axis_mm"], "short_axis_mm": size["short_axis_mm"]})
    return rows


def strata(parameter: ZoneParameter, count: int) -> list[float]:
    """``count`` equiprobable parameter values (mid-quantiles of equal-probability strata): the
    placement Monte Carlo gives each sample one of them."""
    return [parameter.quantile((i + 0.5) / count) for i in range(count)]


def run_value(scenario, parameter: ZoneParameter, criterion_name: str) -> float:
    """The parameter's value in the solved run: its edge temperature (from A when only A is given),
    or the criterion's own lethal isotherm."""
    if parameter.name == "edge_temperature":
        d = scenario.damage
        if d.edge_temperature is not None:
            return float(d.edge_temperature)
        from ablation.physics.damage import edge_temperature
        return edge_temperature(d.frequency_factor, d.activation_energy, d.edge_exposure)
    return parse_criterion(criterion_name).threshold


def lesion_uncertainty(result, parameter: ZoneParameter, model_name: str, resolved_input: dict | None = None,
                       fields: dict | None = None) -> dict:
    """``lesion.uncertainty`` of summary.json: the 5/50/95 % zone of the run's criterion over the
    parameter's distribution, with the values the band was computed from and how exact it is.
    ``resolved_input``: an input that changes the temperature history, re-solved at two quantiles
    (1/6 and 5/6 in the pipeline; {"name", "values", "unit", "source", "results": {quantile: Result}}; the cryoprobes'
    calibrated capacity), joined in log space with the parameter band. ``fields``: read the band from
    these fields of the run instead of its final ones (a snapshot's, for a zone against time)."""
    criterion = result.summary.lesion.criterion
    fields = result.fields if fields is None else fields
    if not applies(parameter, criterion):
        return {"model": model_name, "available": False,
                "reason": f"the criterion {criterion!r} does not depend on {parameter.name}; no band is computed "
                          "(choose 'arrhenius' for heat or 'min_temperature:X' for cold)"}
    d = result.scenario.damage
    value = run_value(result.scenario, parameter, criterion)
    rows = band(result.domain, fields, criterion, parameter, value, d.activation_energy, d.edge_exposure)
    exact = parameter.name != "edge_temperature" or d.perfusion_shutdown != "arrhenius"
    notes = ["from the solved fields: the zone at another value of the parameter is a threshold on the same "
             "Omega (A scales at fixed Ea) or T_min field; no re-solve"]
    if not exact:
        notes.append("approximate: perfusion stops where Omega >= 1 (damage.perfusion_shutdown = 'arrhenius'), so "
                     "the temperature history itself depends on the edge temperature")
    extra = {key: k * parameter.discrepancy for key, k in DISCREPANCY_EXPONENT.items()}
    includes = ["parameter"] + (["model discrepancy"] if parameter.discrepancy > 0.0 else [])
    resolved_record = None
    if resolved_input:
        log_sds = resolved_log_sds(resolved_input["results"], criterion)
        extra = {key: math.hypot(extra[key], log_sds[key]) for key in extra}
        includes.append(resolved_input["name"] + " (re-solved)")
        resolved_record = {k: v for k, v in resolved_input.items() if k != "results"}
        resolved_record["zone_log_sd"] = log_sds
        notes.append(f"joined with {resolved_input['name']} ({resolved_input['source']}): the run solved again at "
                     f"its {' and '.join(f'{q:.3g}' for q in sorted(resolved_input['results']))} quantiles, "
                     f"{', '.join(f'{v:.4g}' for v in resolved_input['values'])} {resolved_input['unit']}; their "
                     "zones' spread, as log-SDs, adds in quadrature")
    if parameter.name == "lethal_temperature":
        left_out = "the tissue's perfusion" + ("" if resolved_input else " and the cryoprobes' cooling capacity")
        notes.append(f"not included: {left_out} (benchmarks/results/validation-sensitivity.md); no model discrepancy "
                     "is estimated for cold (one training row)")
    joined = with_log_sds(rows, extra) if any(v > 0.0 for v in extra.values()) else zone_quantiles(rows)
    position = parameter.cdf(value)
    if not QUANTILES[0] <= position <= QUANTILES[-1]:
        # e.g. the default cold criterion, -40 degC, is the conservative end of the -40 to -20 degC
        # range: its zone lies outside the band, which says where cells die, not what the run chose
        smaller = (position < QUANTILES[0]) == (rows[0]["volume_ml"] <= rows[-1]["volume_ml"])
        run_zone_ml = (result.summary.lesion.volume_ml if fields is result.fields else
                       lesion_size(result.domain, parse_criterion(criterion).level(fields))["volume_ml"])
        notes.append(f"the run's criterion ({criterion}, {parameter.name.replace('_', ' ')} {value:g} degC) lies at "
                     f"the {100 * position:.3g} % point of the parameter's distribution, outside its 5-95 % range: "
                     f"the run's zone ({run_zone_ml:.4g} mL) is "
                     f"{'smaller' if smaller else 'larger'} than the band's {'5' if smaller else '95'} % zone, "
                     f"a {'conservative' if smaller else 'generous'} choice; the band's median is the zone at "
                     f"{rows[len(rows) // 2]['parameter_value']:.3g} degC")
    if parameter.discrepancy > 0.0:
        notes.append(f"joined with the model discrepancy ({100 * parameter.discrepancy:.3g} % per zone dimension, "
                     f"{100 * math.sqrt(5.0) * parameter.discrepancy:.3g} % in volume, as log-SDs) around the "
                     "parameter's median zone; range_5_95_parameter_only leaves it out")
    out = {"model": model_name, "available": True, "parameter": parameter.to_dict(), "run_value": value,
           "run_value_quantile": position,
           "criterion": criterion, "includes": "parameter only" if len(includes) == 1 else
           ", ".join(includes[:-1]) + " and " + includes[-1], "range_5_95": _spread(joined), "quantiles": joined,
           "range_5_95_parameter_only": _spread(rows), "parameter_quantiles": rows, "exact": exact, "notes": notes}
    if resolved_record is not None:
        out["resolved_input"] = resolved_record
    return out


def _spread(rows: list[dict]) -> dict:
    """{quantity: {p5, p50, p95}} of quantile rows (5/50/95 %); the zone is monotone in the parameter."""
    return {key: {"p5": min(r[key] for r in rows), "p50": rows[len(rows) // 2][key], "p95": max(r[key] for r in rows)}
            for key in ("volume_ml", "long_axis_mm", "short_axis_mm")}


#: what the calibration's training rows span (benchmarks/validation/split.csv: CVIR 2009, internally
#: cooled 2 cm electrode, 12 min, ex vivo at 20 degC and in vivo at the model's liver perfusion);
#: the perfusion limit is the model's (ablation.input.models.calibrated_perfusion_limit)
CALIBRATED_RANGE = {"electrode": "cooled_needle", "active_length_m": (0.015, 0.030), "duration_s": (360.0, 1080.0)}


def outside_calibrated_range(scenario, model_name: str, calibrated: bool, perfusion_limit: float) -> list[str]:
    """Plain reasons why this run's zone lies outside what the calibration covered ([] if none).
    ``calibrated``: whether the model has a fitted edge temperature; ``perfusion_limit`` (1/s): the
    highest perfusion its training rows cover."""
    if not calibrated:
        return [f"the zone model {model_name!r} is not a calibrated one"]
    if scenario.modality != "rfa":
        return [f"{scenario.modality} zones are not calibrated: the band is the prior range of the lethal "
                "parameter, not a fit"]
    reasons = []
    r = CALIBRATED_RANGE
    for i, probe in enumerate(scenario.probes):
        if probe.rfa.electrode != r["electrode"]:
            reasons.append(f"probes[{i}] is a {probe.rfa.electrode} (calibrated: single internally cooled needle)")
            continue    # its active_length is not a tip length (a multitine's tines set its size)
        lo, hi = r["active_length_m"]
        if not lo <= probe.active_length <= hi:
            reasons.append(f"probes[{i}].active_length {probe.active_length * 1e3:g} mm (calibrated: 20 mm tips; "
                           f"{lo * 1e3:g}-{hi * 1e3:g} mm accepted)")
    if len(scenario.probes) > 1:
        reasons.append(f"{len(scenario.probes)} probes (calibrated: one)")
    lo, hi = r["duration_s"]
    if not lo <= scenario.time.duration <= hi:
        reasons.append(f"time.duration {scenario.time.duration / 60:g} min (calibrated: 12 min; 6-18 min accepted)")
    perfusion = scenario.tissue.perfusion
    if perfusion is None:   # the tissue preset's
        perfusion = preset_values(scenario.tissue.preset)["perfusion"]
    perfusion = float(perfusion)
    if not 0.0 <= perfusion <= perfusion_limit:
        reasons.append(f"tissue.perfusion {perfusion:.3g} 1/s (calibrated: 0 to {perfusion_limit:.3g} 1/s, 1.5x "
                       f"the model's in vivo training perfusion)")
    return reasons

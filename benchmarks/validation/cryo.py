"""Cryo validation against published iceball sizes (docs/physics.md 5b discipline).

Littrup et al., JVIR 2009 (PMC2762356), agar phantom at 39 degC, 15 min freezes
(shared/validation/published_lesions.csv):

* single 2.4 mm probe, -30 degC isotherm diameter 1.2 cm  -> the ONE calibration row: it fixes the
  cooling capacity (W per metre of freezing length) of the power-limited 2.4 mm catalogue probe
  (``ablation.modalities.cryo.CALIBRATED_EXTRACTION_24_BY_LAW``, one value per frozen-conductivity law);
* two 2.4 mm probes 2 cm apart, -30 degC diameter 3.3 cm  -> held out (within 20 %);
* 1.7 mm vs 2.4 mm probe, iceball (0 degC) diameter ratio 0.84  -> held out (within 0.05); the
  1.7 mm probe gets the capacity per metre scaled by 1.7/2.4 (the assumption that the limit is a
  heat flux per unit wall area), nothing fitted. It misses (0.61 at -30 degC): the reason the
  catalogue 17 G needle no longer takes its capacity from the 2.4 mm probe this way.

Assumptions stated here because the paper excerpt does not give them: freezing length 40 mm;
diameters measured across the probe(s) halfway along the freezing length at the end of the freeze;
agar preset of ablation.physics.tissue (water-like; mushy range -1..0 degC), no perfusion, 39 degC start and
outer boundary.

Liver: the -40 degC isotherm lies 7-13 mm inside the 0 degC edge for a single 17 G probe
(docs/physics.md 3: about 1 cm in gel; Young et al. 2024 clinically), checked on the catalogue 17 G
probe, 30 mm freezing length, 10 min freeze, perfused liver defaults.

17 G needles, held out (assumptions in split.csv, fixed before the first run): one needle in
37 degC gel against the 17 G isotherm maps of PMC4850244, and two needles 15 mm apart in swine
liver in vivo against CVIR 2018 (ablation about 6.7 x 4.4 cm).
"""
from __future__ import annotations

import functools

import numpy as np

from ablation.modalities import cryo
from ablation.bench import Metric, case
from ablation.input.models import DEFAULT_MODEL, frozen_conductivity_law
from ablation.input.scenario import scenario_from_dict
from ablation.run.time_loop import run

FREEZE_LENGTH = "40 mm"      # assumption (not in the Littrup excerpt)
#: the frozen-conductivity law of the default zone model, under which the catalogue capacity applies
LAW = frozen_conductivity_law(DEFAULT_MODEL)
CAPACITY_24 = cryo.CALIBRATED_EXTRACTION_24_BY_LAW[LAW]
TARGET_SINGLE_M30_MM = 12.0  # Littrup 2009 single 2.4 mm probe, -30 degC diameter
TARGET_TWO_M30_MM = 33.0     # two probes 2 cm apart
TARGET_RATIO = 0.84          # 1.7 mm / 2.4 mm lethal-ice (-30 degC) diameter (validation README caveats)


@functools.lru_cache(maxsize=None)
def _littrup(diameter_mm, extraction=None, wall=None, probes_x=(0.0,), spacing="0.5 mm", step="2 s"):
    """Run one Littrup phantom freeze; returns ({-30: width mm, 0: width mm}, result) (cached)."""
    probe = {"type": {2.4: "2.4mm", 1.7: "1.7mm"}[diameter_mm]}
    if extraction is not None:
        probe["max_extraction"] = f"{extraction:.6g} W/m"
    if wall is not None:
        probe["wall"] = wall
    raw = {"name": "littrup-2009", "modality": "cryo",
           "tissue": {"preset": "agar", "initial_temperature": "39 degC"},
           "probes": [{"tip": [x, 0.0, 0.0], "diameter": f"{diameter_mm} mm", "active_length": FREEZE_LENGTH,
                       "cryo": dict(probe)} for x in probes_x],
           "cryo": {"isotherms": ["-30 degC"]},
           "domain": {"size": "80 mm", "center": [0.0, 0.0, -20.0]},
           "grid": {"spacing": spacing, "max_spacing": "4 mm", "fine_margin": "15 mm"},
           "time": {"duration": "15 min", "step": step, "output_interval": "15 min"},
           "outputs": {"fields": False}}
    result = run(scenario_from_dict(raw))
    mid = np.array([float(np.mean(probes_x)) * 1e-3, 0.0, -20e-3])
    T = result.fields["temperature_C"]
    widths = {level: cryo.isotherm_width(result.domain, T, level, mid, [1.0, 0.0, 0.0]) * 1e3
              for level in (-40.0, -30.0, 0.0)}
    return widths, result


def calibrate_extraction(start=CAPACITY_24, tol_mm=0.02, target_mm=TARGET_SINGLE_M30_MM, diameter_mm=2.4, **grid):
    """Capacity (W/m) of the ``diameter_mm`` probe (2.4 or 1.7) that gives the single-probe -30 degC
    diameter ``target_mm`` (2.4 mm and 12 mm: the calibration; secant iteration on the diameter, a
    few runs). Returns (capacity, diameter, runs)."""
    q0, q1 = start, start * 1.08
    d0 = _littrup(diameter_mm, q0, **grid)[0][-30.0] - target_mm
    runs = 1
    if abs(d0) < tol_mm:
        return q0, d0 + target_mm, runs
    d1 = _littrup(diameter_mm, q1, **grid)[0][-30.0] - target_mm
    runs += 1
    for _ in range(6):
        if abs(d1) < tol_mm or d1 == d0:
            break
        q0, q1, d0 = q1, q1 - d1 * (q1 - q0) / (d1 - d0), d1
        d1 = _littrup(diameter_mm, q1, **grid)[0][-30.0] - target_mm
        runs += 1
    return q1, d1 + target_mm, runs


def capacity_log_sd(**grid) -> tuple:
    """The calibrated capacity's uncertainty from its training row's: the capacities that give the
    -30 degC diameter one SD below and above 12 mm (no SD published: 10 % of the value, the
    convention of every row without one), as a log-SD (ln(q_high / q_low) / 2). Returns (log-SD,
    q_low, q_high, runs)."""
    sd = 0.1 * TARGET_SINGLE_M30_MM
    q_low, _, runs_low = calibrate_extraction(CAPACITY_24 * 0.85, target_mm=TARGET_SINGLE_M30_MM - sd, **grid)
    q_high, _, runs_high = calibrate_extraction(CAPACITY_24 * 1.15, target_mm=TARGET_SINGLE_M30_MM + sd, **grid)
    return 0.5 * float(np.log(q_high / q_low)), q_low, q_high, runs_low + runs_high


@case(quick=True)
def littrup_calibration_row(ctx):
    """The calibration row, rerun: the catalogue 2.4 mm probe gives 12 mm at -30 degC, and a fresh
    calibration lands on the catalogue's capacity. For comparison, an unlimited -145 degC wall."""
    widths, result = _littrup(2.4)
    metrics = [
        Metric("single_2.4mm_m30_diameter", widths[-30.0], TARGET_SINGLE_M30_MM, 0.05 * TARGET_SINGLE_M30_MM, "mm",
               note=f"CALIBRATION row (Littrup 2009); catalogue capacity {CAPACITY_24:g} W/m ({LAW!r} law), "
                    f"coldest wall {result.summary['device']['min_probe_temperature_C']:.1f} degC; "
                    f"0 degC diameter {widths[0.0]:.1f} mm"),
    ]
    if not ctx.quick:   # a fresh calibration (several runs) lands on the catalogue value
        q, d, runs = calibrate_extraction()
        ctx.figures["cryo.capacity_2.4mm_W_per_m"] = q
        metrics.append(Metric("calibrated_capacity", q, CAPACITY_24, 0.02 * CAPACITY_24, "W/m",
                              note=f"secant calibration, {runs} runs, diameter {d:.3f} mm"))
        fixed, _ = _littrup(2.4, wall="temperature")
        metrics.append(Metric("fixed_wall_m30_overprediction", fixed[-30.0] / TARGET_SINGLE_M30_MM - 1.0, None, 0.05,
                              "1", note=f"unlimited -145 degC wall: -30 degC diameter {fixed[-30.0]:.1f} mm "
                                        "(docs/physics.md 3 quotes ~80 % over from a 1-D check)"))
    return metrics


@case(quick=True)
def littrup_probe_size_ratio(ctx):
    """Held out: lethal-ice (-30 degC) diameter of a 1.7 mm probe over that of a 2.4 mm probe. Littrup's
    84 % is the lethal ice's ratio, not the 0 degC iceball's (validation README caveats), as in the
    published-rows table (experiments.ISOTHERM_CORRECTIONS)."""
    big, _ = _littrup(2.4)
    small, _ = _littrup(1.7)
    ratio = small[-30.0] / big[-30.0]
    note = (f"HELD OUT; -30 degC diameters {small[-30.0]:.1f} / {big[-30.0]:.1f} mm; 0 degC (iceball) ratio "
            f"{small[0.0] / big[0.0]:.3f}; 1.7 mm capacity scaled by 1.7/2.4 (per wall area)")
    metrics = [Metric("diameter_ratio_1.7_over_2.4", ratio, TARGET_RATIO, 0.05, "1", note=note)]
    if not ctx.quick:
        fb, _ = _littrup(2.4, wall="temperature")
        fs, _ = _littrup(1.7, wall="temperature")
        metrics.append(Metric("fixed_wall_diameter_ratio", fs[0.0] / fb[0.0], None, 0.01, "1",
                              note="0 degC iceball ratio with unlimited -145 degC walls (a regression value; their -30 "
                                   "degC ratio is 0.91 against Littrup's 0.84, docs/physics.md 3)"))
    return metrics


@case(quick=True)
def gel_m40_inside_iceball(ctx):
    """docs/physics.md 3 / validation README: in gel the -40 degC isotherm lies about 1 cm inside the
    0 degC edge; checked (7-13 mm) on the single 2.4 mm Littrup probe in agar (same run as the
    calibration row, whose -30 degC diameter was fitted; the -40/0 degC gap was not)."""
    widths, _ = _littrup(2.4)
    gap = 0.5 * (widths[0.0] - widths[-40.0])
    return [Metric("gel_m40_inside_0C_edge", gap, 10.0, 3.0, "mm",
                   note=f"agar 39 degC, 15 min: 0 degC diameter {widths[0.0]:.1f} mm, -40 degC {widths[-40.0]:.1f} mm")]


@case(quick=False)
def littrup_two_probes(ctx):
    """Held out: two 2.4 mm probes 2 cm apart, -30 degC diameter across both probes (3-D grid)."""
    spacing = "1 mm"
    widths, result = _littrup(2.4, probes_x=(-10.0, 10.0), spacing=spacing, step="3 s")
    ctx.figures["cryo.littrup_two_probe_runtime_s"] = result.summary["runtime_s"]
    return [Metric("two_probe_m30_diameter", widths[-30.0], TARGET_TWO_M30_MM, 0.2 * TARGET_TWO_M30_MM, "mm",
                   note=f"HELD OUT (Littrup 2009 3.3 cm); 3-D grid {spacing}, {result.summary['grid']['cells']} "
                        f"cells; 0 degC diameter {widths[0.0]:.1f} mm; probes staircased, power-limited so the "
                        "extraction does not depend on the staircase wall area")]


@case(quick=True)
def liver_17g_m40_inside_iceball(ctx):
    """The -40 degC isotherm lies 7-13 mm inside the 0 degC edge (single 17 G probe, perfused liver,
    10 min freeze); both measured across the probe halfway along its 30 mm freezing length."""
    raw = {"name": "liver-17G", "modality": "cryo", "tissue": {"preset": "liver"},
           "probes": [{"tip": [0, 0, 0], "diameter": "1.47 mm", "active_length": "30 mm", "cryo": {"type": "17G"}}],
           "domain": {"size": "80 mm", "center": [0, 0, -15]},
           "grid": {"spacing": "0.5 mm", "max_spacing": "4 mm", "fine_margin": "15 mm"},
           "time": {"duration": "10 min", "step": "2 s", "output_interval": "10 min"}, "outputs": {"fields": False}}

    def gap(raw):
        result = run(scenario_from_dict(raw))
        T = result.fields["temperature_C"]
        mid = np.array([0.0, 0.0, -15e-3])
        d0 = cryo.isotherm_width(result.domain, T, 0.0, mid, [1, 0, 0]) * 1e3
        d40 = cryo.isotherm_width(result.domain, T, -40.0, mid, [1, 0, 0]) * 1e3
        return 0.5 * (d0 - d40), d0, d40, result

    g, d0, d40, result = gap(raw)
    ctx.figures["cryo.liver_17g_iceball_diameter_mm"] = d0
    metrics = [Metric("m40_inside_0C_edge", g, 10.0, 3.0, "mm",
                      note=f"0 degC diameter {d0:.1f} mm, -40 degC diameter {d40:.1f} mm; coldest wall "
                           f"{result.summary['device']['min_probe_temperature_C']:.1f} degC")]
    if not ctx.quick:   # the same with the earlier power-limited entry, and with inflow occlusion
        variants = {"power_limited_2026_11": ({"type": "17G-2026.11"}, {}),
                    "pringle": ({"type": "17G"}, {"perfusion": "0 1/s"}),
                    "power_limited_2026_11_pringle": ({"type": "17G-2026.11"}, {"perfusion": "0 1/s"})}
        for name, (probe, tissue) in variants.items():
            variant = {**raw, "tissue": {**raw["tissue"], **tissue},
                       "probes": [{**raw["probes"][0], "cryo": probe}]}
            g, d0, d40, _ = gap(variant)
            metrics.append(Metric(f"m40_inside_0C_edge_{name}", g, None, 0.5, "mm",
                                  note=f"comparison, not a pass/fail row: 0 degC {d0:.1f} mm, -40 degC {d40:.1f} mm"))
    return metrics


# ------------------------------------------------------------------ 17 G needles (held out)
# Assumptions fixed in split.csv (commit 76e62f2) before these cases first ran.
FREEZE_LENGTH_17G_MM = 40.0
SWINE_SPACING_MM = 15.0
SWINE_VIABLE_RIM_MM = 1.0          # CVIR 2018: unstained viable rim inside the iceball
SWINE_ROWS = {"15min": ((("freeze", "15 min"),), 68.5, 4.9, 43.0, 2.8),
              "10-8-10": ((("freeze", "10 min"), ("active_thaw", "8 min"), ("freeze", "10 min")), 65.5, 5.5, 45.0, 3.0)}


def _needles_17g(name, tissue, xs, protocol, spacing, step):
    """Parallel catalogue 17 G needles at x = xs (mm), tips at z = 0, freezing the 40 mm below."""
    total = sum(float(d.split()[0]) for _, d in protocol)
    return {"name": name, "modality": "cryo", "tissue": tissue,
            "probes": [{"tip": [x, 0.0, 0.0], "diameter": "1.47 mm", "active_length": f"{FREEZE_LENGTH_17G_MM:g} mm",
                        "cryo": {"type": "17G"}} for x in xs],
            "cryo": {"protocol": [{"phase": p, "duration": d} for p, d in protocol]},
            "domain": {"size": "100 mm", "center": [float(np.mean(xs)), 0.0, -FREEZE_LENGTH_17G_MM / 2]},
            "grid": {"spacing": spacing, "max_spacing": "4 mm", "fine_margin": "20 mm"},
            "time": {"duration": f"{total:g} min", "step": step, "output_interval": f"{total:g} min"},
            "outputs": {"fields": False}}


@case(quick=True)
def gel_17g_isotherms(ctx):
    """Held out (PMC4850244, 17 G needles in body-temperature gel): the -40 degC core reaches about
    1 cm from the needles and the 0 degC edge about 1 cm further. One catalogue 17 G needle, 10 min,
    37 degC agar, radii across the needle at mid freezing length (split.csv). The source speaks of
    combinations of needles, so one needle should come out at or below its 1 cm: compared within
    30 % as split.csv fixes."""
    raw = _needles_17g("gel-17G", {"preset": "agar", "initial_temperature": "37 degC"}, (0.0,),
                       (("freeze", "10 min"),), "0.5 mm", "2 s")
    result = run(scenario_from_dict(raw))
    T, mid = result.fields["temperature_C"], np.array([0.0, 0.0, -FREEZE_LENGTH_17G_MM / 2 * 1e-3])
    r0, r40 = (0.5e3 * cryo.isotherm_width(result.domain, T, level, mid, [1.0, 0.0, 0.0]) for level in (0.0, -40.0))
    note = (f"HELD OUT; 0 degC radius {r0:.1f} mm, -40 degC radius {r40:.1f} mm; coldest wall "
            f"{result.summary['device']['min_probe_temperature_C']:.1f} degC")
    return [Metric("m40_core_radius", r40, 10.0, 3.0, "mm", note=note),
            Metric("m40_inset_from_0C_edge", r0 - r40, 10.0, 3.0, "mm", note=note)]


@case(quick=False)
def swine_two_17g_needles(ctx):
    """Held out (CVIR 2018, two cryoprobes in swine liver in vivo, ink-stained at maximal iceball):
    ablation about 6.7 x 4.4 cm after either a single 15 min freeze or 10-8-10. Two catalogue 17 G
    needles 15 mm apart (split.csv); the model's 0 degC iceball less the 1 mm viable rim on each side,
    length along a needle, width across both needles at mid freezing length; within 2 SD."""
    metrics = []
    for label, (protocol, length_pub, length_sd, width_pub, width_sd) in SWINE_ROWS.items():
        half = SWINE_SPACING_MM / 2
        raw = _needles_17g(f"swine-{label}", {"preset": "liver"}, (-half, half), protocol, "1 mm", "3 s")
        result = run(scenario_from_dict(raw))
        T = result.fields["temperature_C"]
        mid = np.array([0.0, 0.0, -FREEZE_LENGTH_17G_MM / 2 * 1e-3])
        width = cryo.isotherm_width(result.domain, T, 0.0, mid, [1.0, 0.0, 0.0]) * 1e3 - 2 * SWINE_VIABLE_RIM_MM
        on_needle = np.array([half * 1e-3, 0.0, -FREEZE_LENGTH_17G_MM / 2 * 1e-3])
        length = cryo.isotherm_width(result.domain, T, 0.0, on_needle, [0.0, 0.0, 1.0]) * 1e3 - 2 * SWINE_VIABLE_RIM_MM
        lethal = cryo.isotherm_width(result.domain, T, -40.0, mid, [1.0, 0.0, 0.0]) * 1e3
        note = (f"HELD OUT; {result.summary['grid']['cells']} cells, {result.summary['runtime_s']:.0f} s; -40 degC width "
                f"{lethal:.1f} mm; coldest wall {result.summary['device']['min_probe_temperature_C']:.1f} degC")
        metrics += [Metric(f"{label}_length", length, length_pub, 2 * length_sd, "mm", note=note),
                    Metric(f"{label}_width", width, width_pub, 2 * width_sd, "mm", note=note)]
    return metrics

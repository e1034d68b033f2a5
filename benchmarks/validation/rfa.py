"""Validation of RF ablation lesion sizes against published experiments
(benchmarks/validation/published_lesions.csv, copied into PUBLISHED below), following
docs/physics.md section 5b:

* library defaults frozen first: every tissue, electrode and generator value below is the library
  default of ``ablation.physics.tissue`` / ``ablation.modalities.rfa`` as committed before this file was run; nothing
  is tuned per case;
* the same parameters ex vivo and in vivo: ex vivo = perfusion 0, tissue and boundary at 20 degC;
  in vivo = library perfusion (6.4e-3 1/s, shut down where Omega >= 1), 37 degC;
* calibration: NONE. No row was used to fit any parameter; every row is held out.
* a miss is reported with its numbers (value, reference, tolerance), never tuned away.

Assumptions each case had to make (the papers' abstracts do not give them):

* generator: impedance control, 200 W set power, power off 15 s when the impedance rises 30 ohm
  over its running minimum (Cool-tip style; library defaults of ``[rfa]``); no current limit;
* electrode: internally cooled, coolant 10 degC, h = 3366 W/(m^2 K) (MITA model) on the exposed
  tip only; 17 G = 1.47 mm, modelled 1.5 mm; 15 G = 1.83 mm;
* CVIR 2009 rows (2 cm tip, 12 min): bovine (ex vivo) and porcine (in vivo) liver take the human
  liver preset (no species-specific values);
* Song et al. 2015 rows (17 G vs 15 G): tip length not retrieved, assumed 3 cm; "standard
  protocol" assumed 12 min impedance control; only the ordering is compared (the volumes, 24-30 mL
  ex vivo, also depend on the unknown tip length);
* Pringle (inflow occlusion): perfusion 0 in the in vivo 2 cm case, everything else unchanged; the
  published occlusion rows are multiprong / 1 cm electrodes, so only the ">= 1.5x" enlargement the
  issue asks for is checked, and the Denys 2001 cross-section ratio (5.35, portal + arterial
  occlusion, 1 cm cooled electrode) is reported as an unweighted comparison with a 1 cm tip;
* lesion = Arrhenius Omega >= 1 (library default); long axis along the needle, short axis across.
* grid: the shipped showcase grid (0.5 mm cells, 1 s steps), or 1 mm cells and 2 s steps with
  --quick (coarser numbers, same references).

Defaults frozen at commit 0b5f00d (first RFA commit; the impedance-control, electrode and tissue
defaults used here have not changed since).

Measured (full resolution, ``ablation bench --suite validation``; benchmarks/results/validation-rfa.json):

    case                               model            published        verdict
    IC 2 cm ex vivo long x short       40.4 x 33.1 mm   30.1 x 26.2 mm   miss: +34 % / +26 %
    IC 2 cm in vivo long x short       46.6 x 38.9 mm   26.2 x 20.0 mm   miss: +78 % / +95 %
    in vivo / ex vivo volume           36.8 / 23.5 mL   5.76 / 11.08 mL  miss: ratio 1.57 vs 0.52
    15 G vs 17 G (3 cm tip assumed)    1.12 ex, 1.08 in  1.24, 1.32      ordering right
    Pringle (perfusion 0) enlargement  1.95x            >= 1.5x          pass
    Denys 1 cm, both occluded (area)   1.57x            5.35x            miss

Why the misses (measured, see ``sensitivity_not_calibration``): the model delivers about the same
energy in every case (18-21 kJ in 12 min: 200 W pulses of 2-3 s between 15 s pauses, the
roll-off sets the duty cycle), and the Arrhenius zone edge lies near 46 degC for a 12 min exposure.
The in vivo lesion comes out *larger* than ex vivo because the 17 K warmer start outweighs the
perfusion, which the default law (Chang & Nguyen: w_b = 0 where Omega >= 1) switches off exactly
where the lesion grows. With the same run, the 60 degC isotherm gives 35 x 27 mm in vivo and the
three-state model 30 x 20 mm (published 26 x 20 mm); perfusion 0.018 1/s (physiological total
liver flow, docs/physics.md 1) gives 41 x 32 mm, and no shutdown 43 x 34 mm. So the cell-death model and
the perfusion law, the inputs Hall et al. (2015) found critical, decide the match; none of them was
changed to make it.
"""
from __future__ import annotations

from ablation.bench import Metric, case
from ablation.input.scenario import scenario_from_dict
from ablation.run.time_loop import run

# id -> (value, unit) from published_lesions.csv
PUBLISHED = {
    "rfa_ic2cm_exvivo_long": (3.01, "cm"), "rfa_ic2cm_exvivo_short": (2.62, "cm"),
    "rfa_ic2cm_exvivo_vol": (11.08, "mL"),
    "rfa_ic2cm_invivo_long": (2.62, "cm"), "rfa_ic2cm_invivo_short": (2.00, "cm"),
    "rfa_ic2cm_invivo_vol": (5.76, "mL"),
    "rfa_17g_exvivo_vol": (23.9, "mL"), "rfa_15g_exvivo_vol": (29.6, "mL"),
    "rfa_17g_invivo_vol": (7.8, "mL"), "rfa_15g_invivo_vol": (10.3, "mL"),
    "rfa_cooled_1cm_area_ratio_both": (5.35, "ratio"),
}

_CACHE: dict = {}


def scenario(quick: bool, tip_mm: float = 20.0, diameter_mm: float = 1.5, ex_vivo: bool = False,
             perfusion: str | None = None, minutes: float = 12.0):
    tissue = {"preset": "liver"}
    if ex_vivo:
        tissue.update(perfusion="0 1/s", initial_temperature="20 degC", boundary_temperature="20 degC")
    elif perfusion is not None:
        tissue["perfusion"] = perfusion
    raw = {
        "name": f"validation-ic{tip_mm:g}mm-{diameter_mm:g}mm-{'exvivo' if ex_vivo else 'invivo'}",
        "modality": "rfa",
        "tissue": tissue,
        "probes": [{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": f"{diameter_mm} mm",
                    "active_length": f"{tip_mm} mm", "rfa": {"electrode": "cooled_needle"}}],
        "rfa": {"protocol": "impedance_control"},     # power 200 W, 30 ohm rise, 15 s off: defaults
        "domain": {"size": "100 mm"},
        "grid": ({"spacing": "1 mm", "max_spacing": "5 mm", "fine_margin": "12 mm", "growth": 1.2} if quick else
                 {"spacing": "0.5 mm", "max_spacing": "4 mm", "fine_margin": "12 mm", "growth": 1.15}),
        "time": {"duration": f"{minutes} min", "step": "2 s" if quick else "1 s"},
        "outputs": {"fields": False, "scene": False},
    }
    return scenario_from_dict(raw)


def lesion(quick, **kwargs):
    key = (quick, tuple(sorted(kwargs.items())))
    if key not in _CACHE:
        summary = run(scenario(quick, **kwargs)).summary
        _CACHE[key] = summary["lesion"]
    return _CACHE[key]


def _within(name, model_value, published_id, scale, rel=0.20, note=""):
    ref = PUBLISHED[published_id][0] * scale
    return Metric(name, model_value, ref, rel * ref, "mm" if scale == 10 else "mL", "within",
                  note=f"held out: {published_id}; {note}".strip("; "))


@case(quick=True)
def ic2cm_exvivo_12min(ctx):
    les = lesion(ctx.quick, ex_vivo=True)
    ctx.figures["validation.rfa_ic2cm_exvivo_volume_ml"] = les["volume_ml"]
    return [_within("long_axis_mm", les["long_axis_mm"], "rfa_ic2cm_exvivo_long", 10),
            _within("short_axis_mm", les["short_axis_mm"], "rfa_ic2cm_exvivo_short", 10)]


@case(quick=True)
def ic2cm_invivo_12min(ctx):
    les = lesion(ctx.quick)
    ctx.figures["validation.rfa_ic2cm_invivo_volume_ml"] = les["volume_ml"]
    return [_within("long_axis_mm", les["long_axis_mm"], "rfa_ic2cm_invivo_long", 10),
            _within("short_axis_mm", les["short_axis_mm"], "rfa_ic2cm_invivo_short", 10)]


@case(quick=True)
def invivo_exvivo_volume_ratio(ctx):
    ratio = lesion(ctx.quick)["volume_ml"] / lesion(ctx.quick, ex_vivo=True)["volume_ml"]
    published = PUBLISHED["rfa_ic2cm_invivo_vol"][0] / PUBLISHED["rfa_ic2cm_exvivo_vol"][0]
    return [Metric("volume_ratio", ratio, 0.45, 0.15, "1", "within",
                   note=f"issue band 0.3-0.6; published CVIR 2009 ratio {published:.2f}; held out")]


@case(quick=True)
def gauge_15g_vs_17g(ctx):
    rows = []
    for ex_vivo in (True, False):
        v17 = lesion(ctx.quick, tip_mm=30.0, diameter_mm=1.5, ex_vivo=ex_vivo)["volume_ml"]
        v15 = lesion(ctx.quick, tip_mm=30.0, diameter_mm=1.83, ex_vivo=ex_vivo)["volume_ml"]
        where = "exvivo" if ex_vivo else "invivo"
        pub = PUBLISHED[f"rfa_15g_{where}_vol"][0] / PUBLISHED[f"rfa_17g_{where}_vol"][0]
        rows.append(Metric(f"{where}_volume_ratio_15g_over_17g", v15 / v17, 1.0, 0.0, "1", "at_least",
                           note=f"ordering only (15 G >= 17 G); published ratio {pub:.2f}; model "
                                f"{v15:.1f} vs {v17:.1f} mL (3 cm tip assumed); held out"))
    return rows


@case(quick=True)
def pringle_enlargement(ctx):
    base = lesion(ctx.quick)["volume_ml"]
    occluded = lesion(ctx.quick, perfusion="0 1/s")["volume_ml"]
    return [Metric("volume_ratio_occluded_over_perfused", occluded / base, 1.5, 0.0, "1", "at_least",
                   note=f"issue: inflow occlusion enlarges >= 1.5x; model {occluded:.1f} vs {base:.1f} mL")]


@case(quick=False)
def denys_1cm_cross_section_ratio(ctx):
    """Denys et al. 2001: cooled 1 cm electrode, portal + arterial occlusion vs none, cross-section
    area ratio 5.35. Reported against a wide band: the abstract gives neither the power nor the time."""
    base = lesion(ctx.quick, tip_mm=10.0)
    occl = lesion(ctx.quick, tip_mm=10.0, perfusion="0 1/s")
    ratio = (occl["short_axis_mm"] * occl["long_axis_mm"]) / (base["short_axis_mm"] * base["long_axis_mm"])
    ref = PUBLISHED["rfa_cooled_1cm_area_ratio_both"][0]
    return [Metric("cross_section_area_ratio", ratio, ref, 0.5 * ref, "1", "within",
                   note="held out; 12 min impedance control assumed; area ~ long x short axis")]


@case(quick=False)
def sensitivity_not_calibration(ctx):
    """Figures only (no pass/fail, nothing fitted): how the in vivo 2 cm lesion moves with the two
    inputs docs/physics.md names as least known, perfusion and its shutdown, and with the lesion
    criterion. They explain the misses above; they are not used to choose any default."""
    variants = {
        "default": {}, "perfusion_0.018": {"perfusion": "0.018 1/s"},
    }
    for label, kwargs in variants.items():
        for shutdown in ("arrhenius", "none"):
            s = scenario(ctx.quick, **kwargs)
            s = s.replaced(damage=s.damage.replaced(perfusion_shutdown=shutdown))
            summary = run(s).summary
            for crit in ("arrhenius", "max_temperature:60", "three_state"):
                les = summary["lesion_by_criterion"][crit]
                key = f"validation.sensitivity.invivo_{label}_shutdown_{shutdown}.{crit}"
                ctx.figures[key + ".long_short_mm"] = f"{les['long_axis_mm']:.1f} x {les['short_axis_mm']:.1f}"
                ctx.figures[key + ".volume_ml"] = les["volume_ml"]
    for crit in ("max_temperature:60", "three_state"):
        les = run(scenario(ctx.quick, ex_vivo=True)).summary["lesion_by_criterion"][crit]
        ctx.figures[f"validation.sensitivity.exvivo.{crit}.long_short_mm"] = \
            f"{les['long_axis_mm']:.1f} x {les['short_axis_mm']:.1f}"
    return []

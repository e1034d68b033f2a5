"""Physical plausibility of a scenario, checked when it is validated: every temperature within the
range that field can physically take, directions of a usable length, coordinates within reach of a
patient, and sections that make sense together. Each bound names its source or reason; a value
outside gives ``(field path, "value is out of the plausible range lo..hi degC of <field>: <reason>")``.

The ranges are deliberately wide (they catch typing errors and unit mix-ups such as kelvin written
as degC or 1e6 degC, not unusual but possible experiments); a study that needs a value outside them
has found a situation the model was not built for.
"""
from __future__ import annotations

import math
import re

ABSOLUTE_ZERO_C = -273.15

# field (path pattern, [i] for any index) -> (lowest degC, highest degC, reason)
TEMPERATURE_RANGES: dict[str, tuple[float, float, str]] = {
    "tissue.initial_temperature": (
        0.0, 50.0, "liver in vivo 35-40 degC (fever 42), ex vivo from the refrigerator (~4 degC) or at room "
        "temperature (~20 degC); below 0 degC the tissue would start frozen, above 50 degC already damaged"),
    "tissue.boundary_temperature": (
        0.0, 50.0, "the far tissue: same range as the initial tissue temperature"),
    "tissue.arterial_temperature": (
        0.0, 50.0, "arterial blood: body temperature in vivo, a perfusion circuit at room temperature ex vivo"),
    "vessels[i].blood_temperature": (
        0.0, 50.0, "blood in a vessel: body temperature in vivo, room temperature in a perfused ex-vivo organ"),
    "probes[i].rfa.coolant_temperature": (
        -10.0, 40.0, "cooled RF electrodes circulate chilled saline at 0-25 degC (Lopez-Molina et al. 2012: "
        "5-25 degC); brine can run a little below 0 degC, warmer than body temperature does not cool"),
    "rfa.target_temperature": (
        40.0, 120.0, "temperature-controlled generators target 60-105 degC (RITA ~105 degC); above 120 degC the "
        "tissue has desiccated (sigma collapses near 100 degC), below 40 degC the controller never heats"),
    "probes[i].thermal.temperature_schedule[i][1]": (
        -200.0, 150.0, "a generic probe wall: from a liquid-nitrogen cryoprobe (-196 degC) to a hot RF/microwave "
        "applicator wall (~100-120 degC, water vaporised)"),
    "probes[i].cryo.freeze_temperature": (
        -200.0, 0.0, "cryoprobe walls: argon Joule-Thomson probes reach about -185 degC, liquid nitrogen boils "
        "at -196 degC; nothing in a clinical probe is colder"),
    "probes[i].cryo.gas_temperature": (
        -200.0, 0.0, "the cryogen inside the probe: argon (-186 degC) or nitrogen (-196 degC) at the coldest"),
    "probes[i].cryo.thaw_temperature": (
        0.0, 80.0, "active thaw: helium Joule-Thomson or electric heating warms the wall to about 15-40 degC; "
        "above 80 degC the probe would burn the tissue it is freeing"),
    "probes[i].cryo.curve_file": (
        -200.0, 60.0, "a measured cryoprobe wall curve: from the cryogen's temperature up to the tissue's "
        "starting temperature or an active thaw (at most ~40 degC)"),
    "cryo.isotherms[i]": (
        -200.0, 50.0, "isotherms reported in a freeze lie between the cryogen and body temperature"),
    "damage.edge_temperature": (
        40.0, 80.0, "the temperature that kills over edge_exposure: coagulation-zone edges are reported at "
        "50-60 degC (docs/physics.md 2); outside 40-80 degC the kinetics are not those of cell death"),
    "damage.time_above[i]": (
        -200.0, 150.0, "thresholds between the coldest (liquid nitrogen) and hottest (vaporised tissue) "
        "temperatures the model can reach"),
    "damage.time_below[i]": (
        -200.0, 150.0, "thresholds between the coldest (liquid nitrogen) and hottest (vaporised tissue) "
        "temperatures the model can reach"),
    "criterion": (
        -200.0, 150.0, "a lesion threshold ('max_temperature:X', 'min_temperature:X') between the coldest "
        "(liquid nitrogen) and hottest (vaporised tissue) temperatures the model can reach"),
    "tissue.solidus_temperature": (
        -100.0, 0.0, "tissue water freezes completely between about -8 and -22 degC (docs/physics.md 3)"),
    "tissue.liquidus_temperature": (
        -100.0, 0.0, "tissue water starts to freeze just below 0 degC (about -1 degC)"),
    "tumors[i].properties.solidus_temperature": (
        -100.0, 0.0, "tissue water freezes completely between about -8 and -22 degC (docs/physics.md 3)"),
    "tumors[i].properties.liquidus_temperature": (
        -100.0, 0.0, "tissue water starts to freeze just below 0 degC (about -1 degC)"),
}

# A direction (probe direction, tumour axes, capsule normal, insertion direction) is normalised before
# use; lengths outside this range are typing errors (1e-12 loses all its digits when normalised, 1e12
# is a coordinate typed into the wrong field).
DIRECTION_NORM_RANGE = (1e-6, 1e6)

# Every coordinate within 10 m of the origin: scanner (DICOM patient) coordinates place the patient
# within about 1 m of the isocentre and a liver is about 0.3 m across, so 10 m leaves room for any
# frame origin while refusing values such as 1e300 mm whose squares overflow and whose millimetres
# are lost to round-off.
MAX_COORDINATE_M = 10.0
# Every length (sizes, diameters, spacings, margins) at most the 20 m span of that coordinate box:
# longer is a unit mistake, and would make validation itself sample kilometres of probe.
MAX_LENGTH_M = 2.0 * MAX_COORDINATE_M
# Every strictly positive length (a size, diameter, radius or spacing) at least 10 um, the size of one
# liver cell: no tumour, vessel, probe or grid cell the model resolves is smaller, and a smaller value
# is a unit slip (um or m written for mm) that would otherwise ask for billions of cells or silently
# give an empty tumour.
MIN_LENGTH = (1e-5, "no tumour, vessel, probe or cell of the model is smaller than one liver cell, about 10 um; "
                    "smaller is a unit slip")

# A probe at least 0.3 mm across: the thinnest thermal ablation devices are bare laser fibres of
# about 0.4-0.6 mm and 21 G (0.82 mm) RF needles; a thinner "probe" cannot carry an ablation's
# current, coolant or gas (and an axisymmetric grid would refine its wall to half its radius).
MIN_PROBE_DIAMETER_M = 0.3e-3
MIN_PROBE_DIAMETER_REASON = ("no ablation probe is thinner: bare laser fibres are about 0.4 mm and the thinnest RF "
                             "needles 21 G (0.82 mm); a smaller value is usually a unit slip")
# ... and at most 10 mm: percutaneous RF electrodes are 14-21 G needles (0.8-2.1 mm) and cryoneedles
# 1.5-2.4 mm (the catalogue, ablation.modalities.cryo); the widest probes in use are the surgical
# cryoprobes of open hepatic cryosurgery, up to about 10 mm (assumption). A wider "probe" is a unit
# slip (cm for mm) or a tumour-sized heater, which the needle models here do not describe.
MAX_PROBE_DIAMETER_M = 10e-3
MAX_PROBE_DIAMETER_REASON = ("RF needles are 0.8-2.1 mm (14-21 G), cryoneedles 1.5-2.4 mm and surgical cryoprobes "
                             "at most about 10 mm; a larger value is usually a unit slip (cm for mm)")
# The widest RF electrode: RF needles, internally cooled electrodes and multi-tine trocars are 14-21 G
# (0.8-2.1 mm); 3.5 mm (about 10 G) leaves room for wider research applicators (assumption).
MAX_RF_ELECTRODE_DIAMETER_M = 3.5e-3


def pattern(path: str) -> str:
    """'probes[2].rfa.coolant_temperature' -> 'probes[i].rfa.coolant_temperature'."""
    return re.sub(r"\[\d+\]", "[i]", path)


def range_message(value: float, raw, key: str) -> str | None:
    """The message for a temperature (degC) outside the range of ``key``, or None when inside."""
    lo, hi, reason = TEMPERATURE_RANGES[key]
    if math.isfinite(value) and lo <= value <= hi:
        return None
    shown = raw if raw is not None else f"{value:g} degC"
    return (f"{shown!r} ({value:g} degC) is out of the plausible range {lo:g}..{hi:g} degC for this field; "
            f"{reason}")


def check_temperature(value, raw, path: str, errors: list, key: str | None = None) -> None:
    """Append (path, message) when ``value`` (degC) is outside the range of ``path``'s field."""
    if value is None:
        return
    key = key or pattern(path)
    message = range_message(float(value), raw, key)
    if message is not None:
        errors.append((path, message))


# Upper bounds of material properties (SI) that no tissue, gel or blood reaches; a larger value is a
# typing or unit error. Property -> (largest value, reason).
PROPERTY_MAXIMA: dict[str, tuple[float, str]] = {
    "water_content": (
        1.0, "a water mass fraction: 1 is pure water; tissues hold about 0.2 (fat) to 0.98 (dilute gel)"),
    "electrical_conductivity": (
        100.0, "tissues conduct about 0.04-1 S/m at RF frequencies and physiological saline about 1.6 S/m; "
        "over 100 S/m, 60 times saline, is a unit slip, not tissue"),
    "density": (
        3000.0, "soft tissues, blood, gels and fat lie at 900-1100 kg/m^3 and cortical bone near 1900 kg/m^3 "
        "(IT'IS database); over 3000 kg/m^3 is a unit slip, not tissue"),
    "specific_heat": (
        6000.0, "water's 4180 J/(kg K) is the most any tissue constituent holds (tissues 2300-3800 J/(kg K), "
        "IT'IS database); over 6000 J/(kg K) is a unit slip"),
    "frozen_specific_heat": (
        6000.0, "ice holds about 2050 J/(kg K) at 0 degC, less when colder; over 6000 J/(kg K) is a unit slip"),
    "conductivity": (
        10.0, "tissues conduct heat at 0.2-0.6 W/(m K) (IT'IS database); even ice reaches only about 2.2 W/(m K) at "
        "0 degC and 4 W/(m K) near -145 degC; over 10 W/(m K) is a unit slip"),
    "frozen_conductivity": (
        10.0, "ice conducts about 2.2 W/(m K) at 0 degC and 4 W/(m K) near -145 degC (Choi & Bischof 2010); "
        "over 10 W/(m K) is a unit slip"),
    "conductivity_slope": (
        0.1, "dk/dT of liver 0-0.0033 W/(m K^2) (Hall 2015 range); 0.1 would double k within 5 K"),
    "electrical_conductivity_slope": (
        1.0, "sigma rises 1-2 %/K in tissue (docs/physics.md 2); 100 %/K would double it within 1 K"),
    "metabolic_heat": (
        1e6, "resting liver produces about 1e4 W/m^3, negligible against ablation sources (docs/physics.md 1); "
        "1e6 W/m^3, a hundred times that, is beyond any tissue"),
    "latent_heat_fusion": (
        3.5e8, "pure water's 334 kJ/kg x 1000 kg/m^3 = 3.34e8 J/m^3 bounds any tissue or gel, which holds less "
        "water"),
}

# The smallest plausible value of a tissue property (SI), with why. Zero is not the limit: a tissue
# that stores or conducts (almost) no heat is not tissue, and values far below the lightest or least
# conductive tissue are unit slips (g/cm^3 written as kg/m^3, kJ as J). Sweeps are held to these too.
PROPERTY_MINIMA: dict[str, tuple[float, str]] = {
    "density": (
        100.0, "the lightest tissue, inflated lung, is about 390 kg/m^3 and fat about 910 kg/m^3 (IT'IS "
        "database); below 100 kg/m^3 is a unit slip (e.g. g/cm^3 written as kg/m^3), not tissue"),
    "specific_heat": (
        300.0, "tissues hold 1300 (cortical bone) to 3800 J/(kg K) (IT'IS database), dry protein about 1200; "
        "below 300 J/(kg K), a metal's, is a unit slip (e.g. kJ written as J)"),
    "frozen_specific_heat": (
        300.0, "ice holds about 2050 J/(kg K) at 0 degC and 1000 J/(kg K) near -150 degC; below 300 J/(kg K) "
        "is a unit slip"),
    "conductivity": (
        0.05, "the least conductive tissue, fat, conducts about 0.2 W/(m K) (IT'IS database) and still air "
        "0.026 W/(m K); below 0.05 W/(m K) is a unit slip, not tissue"),
    "frozen_conductivity": (
        0.05, "frozen tissue conducts 1-4 W/(m K) (ice 2.2 W/(m K) at 0 degC, Choi & Bischof 2010); below "
        "0.05 W/(m K) is a unit slip"),
    "electrical_conductivity": (
        1e-3, "the least conductive tissues (fat, cortical bone) carry about 0.02-0.04 S/m at RF frequencies "
        "(IT'IS database); below 1e-3 S/m is an insulator or a unit slip (e.g. mS/m written as S/m)"),
}

# Device, circuit and kinetics parameters: (lowest or None, highest or None, why), in SI. Values beyond
# these are unit slips (mA written as A, kohm as ohm, kJ/mol as J/mol) or make the model meaningless.
DEVICE_LIMITS: dict[str, tuple[float | None, float | None, str]] = {
    "max_current": (
        None, 20.0, "RF generators drive at most about 2 A (Goldberg et al.'s clustered electrode runs peaked at "
        "1.4-2.15 A); over 20 A, ten times that, is a unit slip (e.g. mA written as A)"),
    "series_resistance": (
        None, 1000.0, "pads, body and cables add about 10-40 ohm (benchmarks/results/validation-generator-energy.md "
        "implies 14-32 ohm); over 1 kohm is a unit slip and no generator would deliver its power"),
    "rolloff_impedance": (
        20.0, 1e4, "tissue circuits measure 50-150 ohm and roll off at a few hundred ohm: a roll-off impedance "
        "below 20 ohm lies under any tissue's and stops the generator before it delivers; over 10 kohm is a unit "
        "slip (e.g. kohm written as ohm)"),
    "rolloff_rise": (
        None, 1e4, "roll-off is declared at a rise of 10-30 ohm over a 50-150 ohm baseline; over 10 kohm is a unit "
        "slip (e.g. kohm written as ohm)"),
    "max_extraction": (
        None, 1e4, "the calibrated 2.4 mm argon probe removes 610 W/m (docs/physics.md 3); over 1e4 W/m, sixteen "
        "times that, is a unit slip"),
    "activation_energy": (
        5e4, 2e6, "tissue-injury kinetics have Ea of about 1e5-7e5 J/mol (liver 2.577e5, vascular stasis 6.67e5); "
        "below 5e4 J/mol tissue at body temperature would die nearly as fast as at 60 degC, above 2e6 J/mol is a "
        "unit slip (e.g. J/mol written as kJ/mol)"),
    "three_state_rate": (
        None, 1.0, "O'Neill et al. 2011 give kf0 3.33e-3 and kb 7.77e-3 1/s; over 1 1/s, a few hundred times "
        "those, cells would die within seconds at body temperature"),
    "three_state_tk": (
        5.0, 1000.0, "O'Neill et al. 2011 give 40.5 K; below 5 K exp(T/Tk) overflows the rate at ablation "
        "temperatures, above 1000 K the rate no longer depends on temperature"),
    "vaporisation_interval": (
        None, 50.0, "water vaporises within 1 K (Berjano-group models) to 10 K (MITA) below 100 degC; over 50 K it "
        "would boil at body temperature"),
    "vaporised_heat_capacity": (
        None, 4.2, "rho c of tissue after its water has boiled is about 0.6 MJ/(m^3 K) (0.44-0.8); water itself "
        "holds 4.2, more than any dried tissue can"),
}

def device_limits(name: str) -> dict:
    """Keywords of a schema Quantity holding it to the plausible range of ``name`` in DEVICE_LIMITS."""
    lowest, highest, reason = DEVICE_LIMITS[name]
    out = {"maximum": highest, "bound_reason": reason}
    if lowest is not None:
        out.update(minimum=lowest, minimum_reason=reason)
    return out


# Pennes perfusion w_b (1/s): the most perfused organs at rest (kidney, thyroid) receive about 4-5
# mL/min per g, w_b about 0.07-0.08 1/s; a liver about 1 mL/min per g. 0.2 1/s (about 1200 mL/min/100 g)
# is beyond any tissue; larger is a unit slip (e.g. mL/min/100 g written as 1/s).
PERFUSION_LIMIT = (0.2, "the most perfused organs at rest (kidney, thyroid) receive about 400-500 mL/min/100 g, "
                        "w_b about 0.07-0.08 1/s, and a liver about 100 mL/min/100 g; over 0.2 1/s (about 1200 "
                        "mL/min/100 g) is a unit slip, not tissue")

# A wall heat flux of a thermal probe (W/m^2, either sign). The largest clinical wall fluxes are of order
# 1e6 W/m^2: a 200 W RF generator's full power through a 1.5 mm x 30 mm electrode wall is 1.4e6 W/m^2,
# a cryoprobe extracting 600 W/m over a 1.5 mm wall 1.3e5 W/m^2. Ten times the largest leaves room for
# unusual devices; beyond it tissue at the wall would boil or freeze within milliseconds.
HEAT_FLUX_LIMIT = (1e7, "clinical probe walls carry at most about 1e6 W/m^2 (200 W through a 1.5 mm x 30 mm "
                        "electrode); ten times that is the plausible limit, either sign")

# Time stepping. Ablation protocols last minutes to about an hour (a 10-8-10 cryo double freeze 28 min,
# sequential RF under an hour); 24 h leaves room for following the tissue as it cools afterwards.
MAX_DURATION_S = 24 * 3600.0
# duration / step at most 1e7: the solvers take about 0.1-1 s per step on the grids here, so 1e7 steps
# are months of computing; more is a unit slip in duration or step (e.g. '1e-9 s' for '1 s').
MAX_TIME_STEPS = 1e7

# Placement tilt (radians): a standard deviation above 90 deg would point probes backwards, out of the
# liver: no longer an insertion error (the approach presets use 0, docs/physics.md 4).
MAX_ANGULAR_SIGMA = (math.pi / 2.0, "above 90 deg the tilt would point probes backwards, which is not an "
                                    "insertion error (the approach presets use 0 deg)")

# Placement tip error (m, per-axis SD): the largest published freehand errors are about a centimetre
# (US-CT fusion in patients 8.5 +/- 4.7 mm, Heerink 2019 out-of-plane 10.1 +/- 4.0 mm; docs/physics.md
# 4); an SD of 50 mm misses any liver tumour at almost every draw, and more is a unit slip (m for mm).
MAX_PLACEMENT_SIGMA = (0.05, "published freehand tip errors are about 1 cm at most (docs/physics.md 4); "
                             "a larger standard deviation is a unit slip")

# (m, reason): the farthest a tumour may lie from a plan's entry window
MAX_NEEDLE_REACH = (0.30, "assumption: ablation needles have shafts of at most about 25 cm (device catalogues "
                          "list 10-25 cm), so no needle through a window farther than this from every tumour "
                          "reaches one; more is a unit slip")

# Placement Monte Carlo samples. 10 000 samples put a probability within +/-0.01 (binomial 95 %
# half-width at most 1/sqrt(n)) and take about 2.4 s here (benchmarks/results/results.txt); ten
# million take about 40 min and resolve 3e-4. More is a typing error (1e12 would need 1e5 GB).
MAX_PLACEMENT_SAMPLES = 10_000_000
# The planner evaluates its objective thousands of times on the same draws: 400 by default.
MAX_PLAN_SEARCH_SAMPLES = 100_000
# Runs of one sweep. Each is a full solve (seconds to minutes here): 100 000 runs of the shipped
# 1 mm sweep scenario (about 10 s each) take about a week on both cores; more is a typing error
# (a range of 1e9 values, a factorial of three 1000-value ranges).
MAX_SWEEP_RUNS = 100_000
# Field snapshots of one run (time.output_interval): each is a file of 0.2-5 MB and ends a time step;
# a 12 min run every 0.5 s is 1440. More is a unit slip (0.001 s would write 600 000 files).
MAX_SNAPSHOTS = 2000
# Wall heat-transfer coefficients (W/(m^2 K)): blood on a vessel wall about 1e2-1e4, chilled saline in
# a cooled electrode about 3e3 (MITA), boiling or condensing fluids up to about 1e5. 1e6 is beyond any
# convection or phase change at a probe or vessel wall; larger is a unit slip.
HEAT_TRANSFER_LIMIT = (1e6, "blood at a vessel wall 1e2-1e4, a cooled electrode's saline about 3e3, boiling or "
                            "condensing fluids up to about 1e5 W/(m^2 K); over 1e6 is a unit slip")

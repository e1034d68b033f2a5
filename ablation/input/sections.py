"""The common scenario tables: tissue, tumours, vessels, domain, grid, time, damage, solver and
outputs. Device tables are in :mod:`ablation.input.device_sections`, the analyses' tables in
:mod:`ablation.input.analysis_sections`; :mod:`ablation.input.scenario` assembles them."""
from __future__ import annotations

from ablation.input.plausibility import (HEAT_TRANSFER_LIMIT, MAX_DURATION_S, PROPERTY_MAXIMA, PROPERTY_MINIMA,
                                        device_limits)
from ablation.input.schema import Boolean, Choice, Integer, ListOf, Number, Perfusion, Quantity, String, Table, Vector
from ablation.physics.tissue import BLOOD, PRESETS, PROPERTY_DESCRIPTIONS, PROPERTY_DIMENSIONS, PROPERTY_NAMES


# Perfusion, slopes, metabolic heat, water and latent heat may be 0 (ex vivo, gel, a model option); rho, c,
# k and sigma have plausible minima (PROPERTY_MINIMA), which also keep the heat and electric problems regular.


def _property_overrides(description: str) -> Table:
    fields = {"preset": Choice(f"property preset for {description}", None, options=tuple(PRESETS))}
    for name in PROPERTY_NAMES:
        if name == "perfusion":
            # 1/s, or the clinical mL/min/100 g converted with this material's density (scenario.py)
            fields[name] = Perfusion(f"{PROPERTY_DESCRIPTIONS[name]}, in 1/s or as blood flow in mL/min/100g "
                                     "(w_b = F rho / 6e6) (default: from the preset)", None, nullable=True)
            continue
        maximum, reason = PROPERTY_MAXIMA.get(name, (None, ""))
        least, least_reason = PROPERTY_MINIMA.get(name, (None, ""))
        fields[name] = Quantity(f"{PROPERTY_DESCRIPTIONS[name]} (default: from the preset)"
                                + ("" if least is None else f"; at least {least:g}")
                                + ("" if maximum is None else f"; at most {maximum:g}: {reason}"), None,
                                dimension=PROPERTY_DIMENSIONS[name], nullable=True,
                                minimum=least if least is not None else (None if "temperature" in name else 0.0),
                                maximum=maximum,
                                bound_reason=reason, minimum_reason=least_reason)
    return Table(f"property overrides for {description}", {}, fields=fields)


def _property_range(name: str) -> dict:
    """Quantity keywords holding a blood property to the tissue property's plausible range."""
    (least, least_reason), (most, reason) = PROPERTY_MINIMA[name], PROPERTY_MAXIMA[name]
    return {"minimum": least, "minimum_reason": least_reason, "maximum": most, "bound_reason": reason}


def tissue_spec() -> Table:
    table = _property_overrides("the background tissue")
    fields = dict(table.fields)
    fields["preset"] = Choice("property preset (liver, tumor, agar)", "liver", options=tuple(PRESETS))
    fields["initial_temperature"] = Quantity("tissue temperature at t = 0", "37 degC", dimension="temperature")
    fields["boundary_temperature"] = Quantity(
        "temperature held on the outer face of the domain (default: the initial temperature)", None,
        dimension="temperature", nullable=True)
    fields["arterial_temperature"] = Quantity("arterial blood temperature T_a", "37 degC", dimension="temperature")
    fields["blood_density"] = Quantity(f"blood density rho_b ({BLOOD['blood_density'][1]})",
                                       "1050 kg/m^3", dimension="density", **_property_range("density"))
    fields["blood_specific_heat"] = Quantity(f"blood specific heat c_b ({BLOOD['blood_specific_heat'][1]})",
                                             "3617 J/(kg K)", dimension="specific_heat",
                                             **_property_range("specific_heat"))
    return Table("background tissue (liver by default) with any property overridden", {}, fields=fields)


POSITIVE_LENGTH = dict(dimension="length", minimum=0.0, exclusive_minimum=True)

TUMOR = Table("a tumour: sphere (diameter), ellipsoid (diameters along its own axes) or a label region of "
              "[anatomy] (any shape)", fields={
    "name": String("label used in reports", None, nullable=True, nonempty=True),
    "center": Vector("centre [x, y, z] (a label tumour: ignored, its centroid is used)"),
    "shape": Choice("sphere, ellipsoid or label (a region of the [anatomy] label map)", "sphere",
                    options=("sphere", "ellipsoid", "label")),
    "label": Integer("label value of a shape = 'label' tumour in [anatomy] label_map", None, minimum=1),
    "diameter": Quantity("sphere diameter", None, nullable=True, **POSITIVE_LENGTH),
    "diameters": ListOf("ellipsoid diameters along its local x, y, z axes, e.g. ['30 mm', '20 mm', '20 mm']",
                        None, item=Quantity(**POSITIVE_LENGTH), min_items=3),
    "axis": Vector("direction of the ellipsoid's local z axis (its third diameter)", [0, 0, 1], unit="1",
                   nonzero=True),
    "x_axis": Vector("direction of the ellipsoid's local x axis (its first diameter); made perpendicular to "
                     "axis (default: any perpendicular direction)", None, unit="1", nonzero=True),
    "material": Boolean("true: a material region with its own properties (the RF 'oven effect'); "
                        "false: a passive target with the surrounding tissue's properties", False),
    "properties": _property_overrides("a material tumour (preset 'tumor' by default)"),
})

VESSEL = Table("a straight vessel segment acting as a heat sink", fields={
    "name": String("label", None, nullable=True, nonempty=True),
    "start": Vector("one end of the centre line [x, y, z]"),
    "end": Vector("other end of the centre line [x, y, z]"),
    "radius": Quantity("vessel radius (give radius or diameter)", None, nullable=True, **POSITIVE_LENGTH),
    "diameter": Quantity("vessel diameter (give radius or diameter; tumours use diameter too)", None,
                         nullable=True, **POSITIVE_LENGTH),
    "blood_temperature": Quantity("blood temperature in the vessel", "37 degC", dimension="temperature"),
    "wall": Choice("'temperature': wall held at blood temperature; 'convection': wall heat-transfer "
                   "coefficient to the blood", "convection", options=("temperature", "convection")),
    "heat_transfer_coefficient": Quantity("wall heat-transfer coefficient (Go-Smart value for vessel walls)",
                                          "230 W/(m^2 K)", dimension="heat_transfer_coefficient",
                                          minimum=0.0, exclusive_minimum=True,
                                          maximum=HEAT_TRANSFER_LIMIT[0], bound_reason=HEAT_TRANSFER_LIMIT[1]),
})

DOMAIN = Table("the computational domain", {}, fields={
    "center": Vector("centre of the domain [x, y, z] (default: the centre of the expected zone, the "
                     "bounding box of the probes' active parts and the tumours; on the probe axis when the "
                     "grid is axisymmetric)", None),
    "size": Quantity("edge length of the cubic domain (axisymmetric: radius size/2, height size); when "
                     "left out: the expected zone plus 25 mm on every side, at least 80 mm, grown x1.5 (up "
                     "to 3 times) while the boundary deviation exceeds boundary_tolerance; when given: used "
                     "as is, and a larger deviation is reported as a warning",
                     "80 mm", **POSITIVE_LENGTH),
    "boundary": Choice("outer boundary: 'fixed_temperature' (held at tissue.boundary_temperature) or "
                       "'adiabatic'", "fixed_temperature", options=("fixed_temperature", "adiabatic")),
    "boundary_tolerance": Quantity("largest accepted |T - boundary temperature| next to a fixed-temperature "
                                   "outer boundary during the run; above it the domain truncates the "
                                   "temperature field (0.5 K: a fraction of the 13 K rise to the 50 degC "
                                   "lesion edge; tests/test_domain.py checks a grown domain against a much "
                                   "larger one)",
                                   "0.5 K",
                                   dimension="temperature_difference", minimum=0.0, exclusive_minimum=True),
})

GRID = Table("the finite-volume grid: fine near probes and tumours, growing towards the boundary", {}, fields={
    "kind": Choice("auto: axisymmetric when the problem is symmetric about a single straight probe, "
                   "else 3d", "auto", options=("auto", "axisymmetric", "3d")),
    "spacing": Quantity("cell size in the fine region", "0.5 mm", **POSITIVE_LENGTH),
    "max_spacing": Quantity("largest cell size, far from probes and tumours", "2 mm", **POSITIVE_LENGTH),
    "growth": Number("largest ratio between neighbouring cell sizes", 1.15, minimum=1.0, maximum=2.0),
    "fine_margin": Quantity("the fine region extends this far around probes' active parts and tumours "
                            "(summary.json grid.warnings names a zone whose edge falls in cells over twice "
                            "the spacing)", "10 mm", dimension="length", minimum=0.0),
})

TIME = Table("time stepping (backward Euler)", fields={
    "duration": Quantity(f"simulated time, at most {MAX_DURATION_S / 3600:g} h", dimension="time", minimum=0.0,
                         exclusive_minimum=True, maximum=MAX_DURATION_S,
                         bound_reason="ablation protocols last minutes to about an hour; 24 h leaves room "
                                      "for following the tissue as it cools afterwards"),
    "step": Quantity("time step (the first step when adaptive). Steps end at output times, protocol phase "
                     "boundaries and RF roll-offs", "1 s", dimension="time", minimum=0.0, exclusive_minimum=True),
    "refine": Boolean("estimate the lesion volume's time-discretisation error by repeating the run at twice the "
                      "step (Richardson) and, while it exceeds tolerance, repeat the run at half the step (up to "
                      "6 times); false: keep 'step' and only warn", True),
    "adaptive": Boolean("instead of fixed steps, adapt each step by step doubling (local error control; the run "
                        "is repeated tighter while the volume error exceeds tolerance). Off by default: it can take "
                        "many small steps in strongly perfused runs", False),
    "tolerance": Number("relative time-discretisation error allowed in the lesion volume, at least 1e-3: the zone "
                        "is located to about 1 % by its grid, and adaptive steps chasing a far smaller time error "
                        "shrink without end (1e-5 did not finish a 60 s run in a minute)", 0.02, minimum=1e-3,
                        maximum=0.5),
    "max_step": Quantity("largest adaptive step (default: no limit besides output times and events)", None,
                         dimension="time", nullable=True, minimum=0.0, exclusive_minimum=True),
    "output_interval": Quantity("interval between stored field snapshots", "1 min", dimension="time",
                                minimum=0.0, exclusive_minimum=True),
})

CRITERIA_HELP = ("lesion criteria: 'arrhenius' (Omega >= 1), 'arrhenius_99' (Omega >= 4.6), 'cem43' "
                 "(>= 240 min), 'max_temperature:50' (T_max >= 50 degC), 'min_temperature:-40' "
                 "(T_min <= -40 degC), 'three_state' (D > 0.8, RFA)")

DAMAGE = Table("thermal damage and lethal-zone definition", {}, fields={
    "criterion": String("the lesion criterion reported as 'lesion' (default per modality: arrhenius for "
                        "heat, min_temperature:-40 for cryo); " + CRITERIA_HELP, None, nullable=True),
    "report_criteria": ListOf("further criteria reported under lesion_by_criterion", None, item=String()),
    "perfusion_shutdown": Choice("'arrhenius': perfusion 0 where Omega >= 1 (Chang & Nguyen 2004); "
                                 "'smooth': w_b0 exp(-Omega); 'vascular_stasis': perfusion follows its own "
                                 "stasis integral with hyperaemia before stasis (Tompkins et al. 1994 law, "
                                 "Brown et al. 1992 kinetics, as in Schutt & Haemmerich 2008); 'none'", "arrhenius",
                                 options=("arrhenius", "smooth", "vascular_stasis", "none")),
    "frequency_factor": Number("Arrhenius frequency factor A [1/s] (liver, COMSOL 'Liver (human)'); replaced by "
                               "edge_temperature when that is given", 7.39e39, minimum=0.0, exclusive_minimum=True),
    "edge_temperature": Quantity("cell-death kinetics by their edge temperature: A is set so that Omega reaches 1 "
                                 "after edge_exposure at this temperature, at the given Ea (A and Ea are not "
                                 "separately identifiable, Wright 2003). The liver A above corresponds to 50.1 degC "
                                 "over 1 min", None, dimension="temperature", nullable=True),
    "edge_exposure": Quantity("the exposure time that defines edge_temperature", "1 min", dimension="time",
                              minimum=0.0, exclusive_minimum=True),
    "stasis_frequency_factor": Number("vascular stasis kinetics A [1/s] (Brown et al. 1992, as used by Schutt & "
                                      "Haemmerich 2008); used with perfusion_shutdown = 'vascular_stasis'", 1.98e106,
                                      minimum=0.0, exclusive_minimum=True),
    "stasis_activation_energy": Quantity("vascular stasis kinetics Ea (Brown et al. 1992, as used by Schutt & "
                                         "Haemmerich 2008)", "6.67e5 J/mol", dimension="activation_energy",
                                         **device_limits("activation_energy")),
    "activation_energy": Quantity("Arrhenius activation energy Ea (liver, COMSOL 'Liver (human)')",
                                  "2.577e5 J/mol", dimension="activation_energy", **device_limits("activation_energy")),
    "time_above": ListOf("thresholds for time spent above (cumulative, per cell)",
                         ["50 degC", "60 degC"], item=Quantity(dimension="temperature")),
    "time_below": ListOf("thresholds for time spent below (cumulative, per cell)",
                         ["0 degC", "-20 degC", "-40 degC"], item=Quantity(dimension="temperature")),
})

SOLVER = Table("linear solver settings", {}, fields={
    "tolerance": Number("relative residual tolerance of the conjugate-gradient solves (FiPy's 1e-5 "
                        "silently skips updates: keep it tight)", 1e-10, minimum=0.0, exclusive_minimum=True,
                        maximum=1e-4),
    "max_iterations": Number("iteration limit per solve", 2000, minimum=1, integer=True),
    "heat": Choice("linear solver of the heat (bioheat) step (ablation/physics/linear_solvers.py): 'cg_jacobi' "
                   "(conjugate gradients, Jacobi preconditioner: no setup, 20-30 iterations on the grids here), "
                   "'cg_amg' (CG with pyamg classical Ruge-Stueben AMG, reused until the iterations grow), 'cg_lu' "
                   "(CG preconditioned by the sparse LU of a recent matrix), 'direct' (sparse LU of every matrix)",
                   "cg_jacobi", options=("cg_jacobi", "cg_amg", "cg_lu", "direct")),
    "electric_preconditioner": Choice("electric solve preconditioner, reused across steps until sigma has drifted: "
                             "'auto' (LU on axisymmetric grids, AMG on 3-D grids; chosen by measurement, see "
                             "ablation/physics/electric.py), 'lu' (CG with the sparse LU of a recent matrix), "
                             "'amg' (CG with pyamg classical Ruge-Stueben AMG), 'jacobi' (CG), 'direct' (sparse LU of "
                             "every matrix, no iterations)",
                             "auto", options=("auto", "lu", "amg", "jacobi", "direct")),
})

OUTPUTS = Table("what a run writes", {}, fields={
    "fields": Boolean("write final fields (.vti/.vtu) and snapshots", True),
    "scene": Boolean("render scene.png (needs PyVista)", True),
})

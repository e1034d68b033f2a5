"""A thin probe on a 3-D grid: the log-law wall (docs/physics.md 6, case 8).

A 17 G probe is about one 1-1.5 mm cell across. Its wall couples to the tissue through the wall law
of a line source (ablation/geometry/probe_wall.py), so that its pull on the field must not depend on
where its axis lies among the cells:

* ``thin_probe_closed_form``: the wall power of a probe held below perfused tissue against the
  Bessel closed form, for the axis at a cell centre, 1/4 and 1/2 a cell off, on a corner and between;
  and of a convective wall (a coolant behind h, on the probe's true wall area) against the same
  closed form scaled by the wall temperature that balances tissue and coolant;
* ``thin_probe_runs``: whole runs on 3-D grids, the probe moved within its cells and tilted, against
  the same probe on an axisymmetric grid (body-fitted, converged within 2 %): a 17 G cryoprobe's
  lethal zone, a heated probe's zone and a cooled RF needle's zone.
"""
from __future__ import annotations

import numpy as np

from ablation.bench import Metric, case
from ablation.verification import problems as v

AXIS_OFFSETS = ((0.0, 0.0), (0.25, 0.0), (0.5, 0.0), (0.5, 0.5), (0.3, 0.15))   # in cells
COOLANT_H = 3366.0     # W/(m^2 K): a cooled RF electrode's saline (docs/physics.md 2, the MITA model)


@case()
def thin_probe_closed_form(ctx):
    """A 17 G probe (0.735 mm radius) along z of a Grid3D of 1.5, 1.0 and 0.75 mm cubes, held 10 K below
    the tissue, the box held at the closed form."""
    hs = (1.5e-3, 1e-3) if ctx.quick else (1.5e-3, 1e-3, 0.75e-3)
    runs = {h: [v.steady_line_probe(h, (a * h, b * h)) for a, b in AXIS_OFFSETS] for h in hs}
    errors = {h: np.array([r.power_error for r in rs]) for h, rs in runs.items()}
    where = ", ".join(f"{h * 1e3:g} mm: {100 * e.min():+.1f} to {100 * e.max():+.1f} %" for h, e in errors.items())
    staircase = np.array([v.steady_line_probe(1.5e-3, (a * 1.5e-3, b * 1.5e-3), log_law=False).power_error
                          for a, b in AXIS_OFFSETS])
    cooled = {h: np.array([v.steady_line_probe(h, (a * h, b * h), wall_h=COOLANT_H).power_error
                           for a, b in AXIS_OFFSETS]) for h in hs}
    cooled_where = ", ".join(f"{h * 1e3:g} mm: {100 * e.min():+.1f} to {100 * e.max():+.1f} %" for h, e in cooled.items())
    cooled_metrics = [
        Metric("3d_thin_probe.cooled_wall_power_error_max", max(float(np.max(np.abs(e))) for e in cooled.values()),
               0.0, 0.075, "1", "at_most", note=f"h = {COOLANT_H:g} W/(m^2 K) on the true wall area; {cooled_where}"),
        Metric("3d_thin_probe.cooled_wall_vs_held_wall_max",
               max(float(np.max(np.abs(cooled[h] - errors[h]))) for h in hs), 0.0, 0.01, "1", "at_most",
               note="largest difference of the convective wall's power error from the held wall's at one axis position")]
    return cooled_metrics + [Metric("3d_thin_probe.wall_power_error_max", max(float(np.max(np.abs(e))) for e in errors.values()),
                   0.0, 0.075, "1", "at_most", note=where),
            Metric("3d_thin_probe.wall_power_spread_over_axis_positions",
                   max(float(np.ptp(e)) for e in errors.values()), 0.0, 0.04, "1", "at_most",
                   note=f"largest max - min over the {len(AXIS_OFFSETS)} axis positions of one spacing; the "
                        f"true-surface distance across staircase faces: {100 * staircase.min():+.1f} to "
                        f"{100 * staircase.max():+.1f} % at 1.5 mm"),
            Metric("3d_thin_probe.field_max_error", max(r.comparison.max_error for rs in runs.values() for r in rs),
                   0.0, 0.075, "1", "at_most", note="tissue cells 2 cells or more from the axis, relative to the 10 K")]


def _raw(modality, kind, spacing_mm, shift_mm=(0.0, 0.0), direction=(0.0, 0.0, 1.0)):
    """The three probes of physC's grid study (2026-12-06), the probe's tip at ``shift_mm``."""
    direction = np.asarray(direction, float) / np.linalg.norm(direction)
    devices = {
        "cryo": ({"type": "17G"}, "30 mm", None, {"protocol": [{"phase": "freeze", "duration": "5 min"}]},
                 "5 min", "2 s", "70 mm", "4 mm", 15.0),
        "thermal": ({"wall": "temperature", "temperature_schedule": [["0 s", "37 degC"], ["30 s", "95 degC"],
                                                                      ["6 min", "95 degC"]]},
                    "20 mm", "1.5 mm", None, "6 min", "2 s", "60 mm", "3 mm", 10.0),
        "rfa": ({"electrode": "cooled_needle"}, "20 mm", "1.5 mm", {"protocol": "impedance_control", "power": "100 W"},
                "2 min", "1 s", "40 mm", "3 mm", 10.0),
    }
    device, active, diameter, section, duration, step, size, coarsest, depth = devices[modality]
    tip = np.array([shift_mm[0], shift_mm[1], 0.0])
    probe = {"tip": tip.tolist(), "direction": direction.tolist(), "active_length": active, modality: device}
    if diameter:
        probe["diameter"] = diameter
    raw = {"name": f"{modality}-{kind}", "modality": modality,
           "tissue": {"preset": "liver", **({"perfusion": "0.0064 1/s"} if modality == "thermal" else {})},
           "tumors": [{"name": "t", "center": (tip - depth * direction).tolist(), "diameter": "16 mm"}],
           "probes": [probe], "domain": {"center": (-depth * direction).tolist(), "size": size},   # the grid stays
           "grid": {"kind": kind, "spacing": f"{spacing_mm} mm", "max_spacing": coarsest,
                    **({"fine_margin": "6 mm"} if modality == "rfa" else {})},
           "time": {"duration": duration, "step": step}, "outputs": {"fields": False},
           "placement": {"enabled": False}}
    if section:
        raw[modality] = section
    return raw


def _volume(raw) -> float:
    from ablation.input.scenario import scenario_from_dict
    from ablation.run.time_loop import run
    return run(scenario_from_dict(raw)).summary["lesion"]["volume_ml"]


@case()
def thin_probe_runs(ctx):
    """Whole runs on 3-D grids against the axisymmetric solve of the same probe (quick: the cryoprobe
    at 1.5 mm in three places and tilted; full: 1.2 and 1.0 mm too, the heated probe and the RF needle)."""
    corner = (0.75, 0.75)
    studies = {"cryo": (1.0, [(1.5, (0, 0), (0, 0, 1)), (1.5, (0.75, 0), (0, 0, 1)), (1.5, corner, (0, 0, 1)),
                              (1.5, (0, 0), (1, 1, 1))]
                        + ([] if ctx.quick else [(1.2, (0, 0), (0, 0, 1)), (1.2, corner, (0, 0, 1)),
                                                 (1.0, (0, 0), (0, 0, 1))]))}
    if not ctx.quick:
        studies["thermal"] = (0.5, [(1.0, (0, 0), (0, 0, 1)), (1.0, (0.5, 0), (0, 0, 1)),
                                    (1.0, (0.25, 0.25), (0, 0, 1)), (1.0, (0, 0), (1, 1, 1)),
                                    (2.0, (0, 0), (0, 0, 1))])
        studies["rfa"] = (1.0, [(1.5, (0, 0), (0, 0, 1)), (1.0, (0, 0), (0, 0, 1)), (0.75, (0, 0), (0, 0, 1))])
    tolerance = {"cryo": 0.06, "thermal": 0.08, "rfa": 0.12}
    rows = []
    for modality, (axi_spacing, runs) in studies.items():
        reference = _volume(_raw(modality, "axisymmetric", axi_spacing))
        ratios = []
        for spacing, shift, direction in runs:
            ratios.append(_volume(_raw(modality, "3d", spacing, shift, direction)) / reference - 1.0)
        note = (f"axisymmetric {axi_spacing:g} mm: {reference:.3f} mL; 3-D: "
                + ", ".join(f"{s:g} mm at {tuple(float(x) for x in sh)} mm"
                            + (" tilted [1,1,1]" if d != (0, 0, 1) else "") + f" {100 * r:+.1f} %"
                            for (s, sh, d), r in zip(runs, ratios)))
        rows.append(Metric(f"3d_thin_probe.{modality}_zone_volume_deviation_max", float(np.max(np.abs(ratios))),
                           0.0, tolerance[modality], "1", "at_most", note=note))
    return rows

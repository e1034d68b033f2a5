"""What summary.json says about a run's anatomy: the files, the liver and tumours, the vessel walls
in the domain with their heat-transfer coefficients, trajectory warnings, and the grid's label
resampling (time and memory)."""
from __future__ import annotations

import numpy as np

from ablation.geometry.patient import LabelVessel
from ablation.geometry.vessel_tree import VesselTree
from ablation.physics.vessel_wall import (BLOOD_CONDUCTIVITY, BLOOD_VISCOSITY, HEATED_LENGTH, WALL_SHEAR_STRESS,
                                          murray_flow, reynolds_number, wall_heat_transfer_coefficient)

CORRELATION = ("h = Nu k_b / D with Hausen's laminar developing-flow Nusselt number Nu = 3.66 + 0.0668 Gz / "
               "(1 + 0.04 Gz^(2/3)), Gz = Re Pr D / L (Hausen 1943, Incropera & DeWitt eq. 8.57), times (1 - exp(-NTU)) / "
               "NTU, NTU = h pi D L / (rho_b c_b Q), for the blood warming along L (Incropera & DeWitt eq. 8.41b); "
               "flow from the centre-line file or Murray's law at a constant wall shear stress")


def anatomy_summary(anatomy, domain, scenario) -> dict:
    t = scenario.tissue
    vessels = []
    for i, shape in enumerate(domain.vessels):
        if isinstance(shape, VesselTree):
            radius = shape.radii
            flow = np.where(np.isnan(shape.flows), murray_flow(radius, anatomy.wall_shear_stress), shape.flows)
        elif isinstance(shape, LabelVessel):
            region = domain.region("vessel", i)
            points = domain.world_points()[:, region.mask] if region is not None else np.zeros((3, 0))
            if points.shape[1] == 0:
                continue
            radius = shape.local_radius(points)
            flow = murray_flow(radius, anatomy.wall_shear_stress)
        else:
            continue
        h = wall_heat_transfer_coefficient(2 * radius, flow, t.blood_density, t.blood_specific_heat,
                                           anatomy.heated_length)
        re = reynolds_number(2 * radius, flow, t.blood_density)
        region = domain.region("vessel", i)
        vessels.append({
            "name": shape.name, "kind": "centre lines" if isinstance(shape, VesselTree) else "label",
            "segments": int(shape.count) if isinstance(shape, VesselTree) else None,
            "held_cells": int(region.mask.sum()) if region is not None else 0,
            "diameter_mm": [float(2e3 * radius.min()), float(2e3 * radius.max())],
            "flow_ml_min": [float(flow.min() * 6e7), float(flow.max() * 6e7)],
            "reynolds": [float(re.min()), float(re.max())],
            "h_W_m2K": [float(h.min()), float(np.median(h)), float(h.max())],
        })
    arrays = [anatomy.labels.labels if anatomy.labels is not None else None,
              getattr(anatomy.organ, "mask", None)]
    return {
        "frame": "scenario coordinates = the image's world frame (RAS+, mm)",
        "sources": dict(anatomy.sources),
        "liver_volume_ml": float(anatomy.organ.volume * 1e6) if anatomy.organ is not None else None,
        "surroundings": anatomy.surroundings,
        "cells_outside_liver": int(domain.outside_organ.sum()) if domain.outside_organ is not None else 0,
        "tumors": [{"name": s.name, "volume_ml": float(s.volume * 1e6),
                    "center_mm": (np.asarray(s.center) * 1e3).round(2).tolist()}
                   for _, s in sorted(anatomy.tumor_shapes.items())],
        "vessels": vessels,
        "vessel_walls": {"correlation": CORRELATION, "heated_length_m": anatomy.heated_length,
                         "wall_shear_stress_Pa": anatomy.wall_shear_stress,
                         "blood_viscosity": BLOOD_VISCOSITY, "blood_conductivity": BLOOD_CONDUCTIVITY,
                         "defaults": {"heated_length": HEATED_LENGTH, "wall_shear_stress": WALL_SHEAR_STRESS},
                         "min_diameter_mm": anatomy.vessel_min_diameter * 1e3,
                         "removed_by_pringle": bool(anatomy.vessels_removed)},
        "trajectory_warnings": list(anatomy.notes),
        "grid": {"cells": int(domain.n_cells), "label_resample_s": float(domain.anatomy_resample_s),
                 "anatomy_arrays_MB": float(sum(a.nbytes for a in arrays if a is not None) / 2 ** 20)},
    }

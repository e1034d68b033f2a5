"""Placement error model of each approach (open, laparoscopic, percutaneous): the presets with
their sources, scenario overrides, the seeded standard-normal draws, and displaced probes.

The planned tip t of each insertion is displaced by a Gaussian vector

    delta = sigma_along * z0 * d + sigma_across * (z1 * e1 + z2 * e2),    z ~ N(0, 1)

(d the probe direction, e1, e2 across it) and the direction is optionally tilted about the
displaced tip by Gaussian angles theta1, theta2 ~ N(0, sigma_angle) about e1 and e2. The presets
set sigma_angle = 0 because the measured 3-D tip errors already include angulation.
Common random numbers: every approach scales the *same* standard-normal draws z (one stream per
seed), so differences between approaches are not sampling noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ablation.geometry.shapes import orthonormal_frame, unit

MM = 1e-3
APPROACHES = ("open", "laparoscopic", "percutaneous")

# Every preset value with its source (docs/physics.md section 4). sigma is the per-axis standard
# deviation of an isotropic Gaussian tip error: mean 3-D error = 2 sqrt(2/pi) sigma = 1.6 sigma,
# mean 2-D (lateral) error = sqrt(pi/2) sigma = 1.25 sigma.
_ACCESS = {   # what the approach allows; the same in every preset set
    "percutaneous": {
        "angular_sigma": (0.0, "0: the measured tip errors already include angulation (docs/physics.md 4)"),
        "pringle_available": (False, "inflow occlusion is not possible percutaneously (docs/physics.md 4)"),
        "repositioning": ("limited", "percutaneous practice allows few re-insertions (docs/physics.md 4)"),
    },
    "laparoscopic": {
        "angular_sigma": (0.0, "0: tip errors include angulation (docs/physics.md 4)"),
        "pringle_available": (True, "laparoscopic Pringle manoeuvre is possible (docs/physics.md 4)"),
        "repositioning": ("yes", "overlapping ablations under laparoscopic US (docs/physics.md 4)"),
    },
    "open": {
        "angular_sigma": (0.0, "0: tip errors include angulation (docs/physics.md 4)"),
        "pringle_available": (True, "open Pringle manoeuvre is possible (docs/physics.md 4)"),
        "repositioning": ("yes", "several insertions and overlapping ablations, Dodd et al. 2000 (docs/physics.md 4)"),
    },
}


def _isotropic(sigma_mm: float, source: str) -> dict:
    return {"sigma_along": (sigma_mm * MM, source), "sigma_across": (sigma_mm * MM, "as sigma_along (isotropic)")}


#: Named sets of tip-error presets. No study gives a freehand open (IOUS) or laparoscopic (LUS) tip
#: error in mm (docs/physics.md 4), so both sets are labelled by what they rest on; the default is
#: the set every earlier result used, the other one a comparison a researcher selects by name.
PRESET_SETS = {
    "assumed-2026.11": {
        "percutaneous": _isotropic(2.75, "Busser et al. 2013 phantom, CT-guided angled path: mean 3-D tip error "
                                         "4.4 mm = 1.6 sigma (docs/physics.md 4)"),
        "laparoscopic": _isotropic(1.9, "assumption: no clinical mm figure found, between open and "
                                        "percutaneous (docs/physics.md 4)"),
        "open": _isotropic(1.25, "assumption: smallest error, IOUS guidance and no breathing motion; no "
                                 "clinical mm figure found (docs/physics.md 4)"),
    },
    "literature-proxy-2026.12": {
        "percutaneous": _isotropic(4.9, "Heerink et al., Radiology 2019 (randomised, patients): freehand "
                                        "CT-guided lateral error 6.2 mm = 1.25 sigma (docs/physics.md 4)"),
        "laparoscopic": _isotropic(3.8, "proxy: Hildebrand et al., Hepatogastroenterology 2009, navigated "
                                        "laparoscopic US in perfused porcine liver, targeting error 5-7 mm; "
                                        "6 mm = 1.6 sigma; freehand is likely larger (docs/physics.md 4)"),
        "open": _isotropic(2.5, "proxy: freehand US phantom targeting 2.5-2.6 mm in plane (sigma 2.0-2.1 mm) "
                                "and 4.4 mm out of plane (3.5 mm); navigated open surgery 4.5 mm (2.8 mm); "
                                "midpoint (docs/physics.md 4)"),
    },
}
DEFAULT_PRESET_SET = "assumed-2026.11"
PRESETS = {approach: {**PRESET_SETS[DEFAULT_PRESET_SET][approach], **access} for approach, access in _ACCESS.items()}


@dataclass(frozen=True)
class ErrorModel:
    """Resolved error model of one approach; ``sources`` names where each value came from."""
    approach: str
    sigma_along: float
    sigma_across: float
    angular_sigma: float
    pringle_available: bool
    pringle: bool
    repositioning: str
    sources: dict
    preset_set: str = DEFAULT_PRESET_SET

    def describe(self) -> dict:
        return {"approach": self.approach, "preset_set": self.preset_set,
                "sigma_along_mm": {"value": self.sigma_along / MM, "source": self.sources["sigma_along"]},
                "sigma_across_mm": {"value": self.sigma_across / MM, "source": self.sources["sigma_across"]},
                "angular_sigma_deg": {"value": math.degrees(self.angular_sigma),
                                      "source": self.sources["angular_sigma"]},
                "pringle_available": {"value": self.pringle_available,
                                      "source": self.sources["pringle_available"]},
                "pringle_used": self.pringle,
                "repositioning": {"value": self.repositioning, "source": self.sources["repositioning"]}}


def error_model(section, approach: str | None = None, pringle: bool | None = None) -> ErrorModel:
    """The approach's preset, from the section's named preset set, with the scenario's overrides
    (``section`` = ``[placement]``).

    When ``approach`` differs from the section's, overrides of sigma still apply only if the
    section names the same approach (a comparison uses each preset as published)."""
    approach = approach or (section.approach if section is not None else "percutaneous")
    preset_set = getattr(section, "error_presets", None) or DEFAULT_PRESET_SET
    preset = {**PRESET_SETS[preset_set][approach], **_ACCESS[approach]}
    same = section is not None and section.approach == approach
    values, sources = {}, {}
    for key in ("sigma_along", "sigma_across", "angular_sigma"):
        override = section[key] if same else None
        values[key] = preset[key][0] if override is None else override
        sources[key] = preset[key][1] if override is None else "scenario override"
    for key in ("pringle_available", "repositioning"):
        sources[key] = preset[key][1]
    use = bool(section.pringle) if pringle is None and section is not None else bool(pringle)
    if use and not preset["pringle_available"][0]:
        raise ValueError(f"inflow occlusion is not possible with approach {approach!r}")
    return ErrorModel(approach, values["sigma_along"], values["sigma_across"], values["angular_sigma"],
                      preset["pringle_available"][0], use, preset["repositioning"][0], sources, preset_set)


def standard_draws(seed: int, samples: int, insertions: int = 1) -> np.ndarray:
    """Standard-normal draws (samples, insertions, 5): tip (along, across 1, across 2) and tilt
    (about e1, about e2). The same seed gives the same draws for every approach (common random
    numbers) and every sample count's prefix."""
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.standard_normal((samples, insertions, 5))


def local_errors(model: ErrorModel, z: np.ndarray):
    """Displacements in the probe frame (..., 3) = (across 1, across 2, along) in m and tilt angles
    (..., 2) in rad from standard draws ``z`` (..., 5)."""
    delta = np.stack([model.sigma_across * z[..., 1], model.sigma_across * z[..., 2],
                      model.sigma_along * z[..., 0]], axis=-1)
    tilt = model.angular_sigma * z[..., 3:5]
    return delta, tilt


def tilt_matrices(tilt: np.ndarray) -> np.ndarray:
    """Rotations (n, 3, 3) in the probe frame by the rotation vector (theta1, theta2, 0) (Rodrigues)."""
    n = tilt.shape[0]
    w = np.zeros((n, 3))
    w[:, :2] = tilt
    angle = np.linalg.norm(w, axis=1)
    k = np.where(angle[:, None] > 0, w / np.where(angle > 0, angle, 1.0)[:, None], 0.0)
    K = np.zeros((n, 3, 3))
    K[:, 0, 2], K[:, 1, 2] = k[:, 1], -k[:, 0]
    K[:, 2, 0], K[:, 2, 1] = -k[:, 1], k[:, 0]
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3)[None] + s * K + (1.0 - c) * (K @ K)


def displaced_probe(probe, delta_local: np.ndarray, tilt: np.ndarray):
    """A probe record moved by a probe-frame displacement and tilted about its displaced tip."""
    frame = probe_frame(probe.direction)
    tip = np.asarray(probe.tip) + frame @ delta_local
    direction = frame @ (tilt_matrices(tilt[None])[0] @ np.array([0.0, 0.0, 1.0]))
    return probe.replaced(tip=tuple(tip), direction=tuple(direction))


def probe_frame(direction) -> np.ndarray:
    return orthonormal_frame(unit(direction))


def with_pringle(scenario, use: bool):
    """The scenario with ``placement.pringle`` set (:func:`ablation.run.transforms.apply_transforms`
    then occludes the inflow before solving: tissue and tumour perfusion 0, vessels removed)."""
    return scenario.replaced(placement=scenario.placement.replaced(pringle=bool(use)))

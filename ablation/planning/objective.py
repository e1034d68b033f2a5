"""The placement Monte Carlo objective of a candidate plan, with common random numbers.

One fixed set of seeded standard-normal draws (samples, probes, 5) is reused for every candidate,
so two candidates differ by their layout, not by sampling noise. Each probe gets its own draw
(independent placement errors) scaled by the approach's error model
(:func:`ablation.outcome.placement.local_errors`), as the re-solving Monte Carlo does. A sample's
zone is the union of the moved single-probe zones, or for cold zones that merge (cryo, several
probes) the superposition of their temperature depressions (:mod:`ablation.planning.zones`).

Per sample: the minimal ablative margin (MAM: the smallest signed distance of a tumour-surface
point to the zone boundary, over every tumour), technical success (every inner point and every
surface point inside). Objectives (:data:`ablation.input.plan_section.OBJECTIVES`):

* ``p_margin``            P(MAM >= margin)
* ``p_technical_success`` P(technical success)
* ``margin_quantile``     the q-quantile of the MAM (mm); it reaches the margin exactly when
                          P(MAM >= margin) >= 1 - q

The search maximises a smoothed version of the probabilities, the mean of a logistic step of width
:data:`SMOOTHING` (a step function has no slope to follow), minus :data:`EXCESS_WEIGHT` times the
lethal volume outside tumour + margin relative to that volume (the secondary cost). Reported
values are the unsmoothed ones. No files, no screen.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from ablation.outcome import coverage as cov
from ablation.outcome.placement import local_errors, standard_draws, tilt_matrices, wilson
from ablation.planning.zones import MM, probe_frame, superposed_distance

#: width of the logistic step that smooths P(.) for the search (assumption: 0.5 mm, the order of
#: the zone's raster and grid error, so the smoothing changes no decision the model could make)
SMOOTHING = 0.5 * MM
#: weight of the secondary cost, the excess lethal volume outside tumour + margin relative to that
#: volume (assumption: 0.02 - doubling the treated volume costs as much as a 2 % lower probability,
#: about the Monte Carlo's 95 % half-width at 2000 samples; it breaks near-ties, never outweighs)
EXCESS_WEIGHT = 0.02
#: evaluation points per tumour in the search (assumption: enough to place the MAM within the
#: raster step; the verification uses the scenario's full point sets)
SEARCH_INNER_POINTS = 256
SEARCH_SURFACE_POINTS = 512
#: quasi-random points for the excess volume
EXCESS_POINTS = 8192


@dataclass(frozen=True)
class Layout:
    """A candidate plan: tips (n, 3) and unit directions (n, 3) in m, and the protocol duration (s)."""
    tips: np.ndarray
    directions: np.ndarray
    duration: float

    @property
    def count(self) -> int:
        return int(self.tips.shape[0])


@dataclass(frozen=True)
class Evaluation:
    """A layout's Monte Carlo: per-sample MAM (mm, worst tumour) and technical success, the
    objective's value and its 95 % interval, the smoothed search score and the excess volume."""
    mam_mm: np.ndarray
    success: np.ndarray
    value: float
    ci95: tuple
    score: float
    excess_ml: float
    nominal_mam_mm: float

    def p_margin(self, margin_mm: float) -> float:
        return float(np.mean(self.mam_mm >= margin_mm))


@dataclass
class Targets:
    """The tumours' evaluation points (world, m): inner (3, n), surface (3, m) with the kept mask
    (capsule exclusion), the slices of each tumour, and the excess-volume points with their
    distance to the nearest tumour surface."""
    inner: np.ndarray
    surface: np.ndarray
    kept: np.ndarray
    inner_slices: list
    surface_slices: list
    box_points: np.ndarray
    box_distance: np.ndarray
    box_volume: float
    target_volume: float
    centre: np.ndarray

    @property
    def all_points(self) -> np.ndarray:
        """Surface points then inner points, (3, m + n)."""
        return np.hstack([self.surface, self.inner])


def build_targets(tumors: list, margin: float, reach: float, capsule=None, seed: int = 0) -> Targets:
    """Evaluation points of the tumours (shapes) and of a box reaching ``reach`` beyond them."""
    inner, surface, kept, si, ss = [], [], [], [], []
    a = b = 0
    for i, t in enumerate(tumors):
        pts = cov.tumor_points(t, max(margin, MM), SEARCH_INNER_POINTS, 1000, SEARCH_SURFACE_POINTS,
                               seed + 101 * i, capsule)
        inner.append(pts.inner)
        surface.append(pts.surface)
        kept.append(pts.surface_kept)
        si.append(slice(a, a + pts.inner.shape[1]))
        ss.append(slice(b, b + pts.surface.shape[1]))
        a, b = a + pts.inner.shape[1], b + pts.surface.shape[1]
    lo = np.min([t.bounds[0] for t in tumors], axis=0) - reach
    hi = np.max([t.bounds[1] for t in tumors], axis=0) + reach
    u = qmc.Halton(d=3, scramble=True, seed=seed + 7).random(EXCESS_POINTS)
    box = lo[:, None] + (hi - lo)[:, None] * u.T
    dist = np.min([t.signed_distance(box) for t in tumors], axis=0)
    box_volume = float(np.prod(hi - lo))
    target_volume = box_volume * float(np.mean(dist <= margin))
    centre = np.mean([t.center for t in tumors], axis=0)
    return Targets(np.hstack(inner), np.hstack(surface), np.concatenate(kept), si, ss, box, dist, box_volume,
                   max(target_volume, 1e-12), centre)


@dataclass
class Objective:
    """The objective of :mod:`ablation.planning` for one approach: ``evaluate(layout)``.

    ``library`` gives the zone per duration; ``model`` is the approach's error model; ``kind`` one
    of OBJECTIVES; ``margin`` (m) and ``quantile`` as in [plan]."""
    targets: Targets
    library: object
    model: object
    kind: str
    margin: float
    quantile: float
    samples: int
    seed: int
    max_probes: int
    #: corrections of several probes' surrogate by fresh solves (:mod:`.interaction`), shared by the
    #: approaches; None: the surrogate alone
    interaction: object = None

    def __post_init__(self):
        # common random numbers: the same draws for every candidate (and every approach)
        self.draws = standard_draws(self.seed, self.samples, self.max_probes)

    def union_distance(self, layout: Layout, points: np.ndarray, nominal: bool = False,
                       corrected: bool = True) -> np.ndarray:
        """Signed distance of the surrogate zone at world ``points`` (3, n) per sample (samples, n);
        ``nominal`` gives one row without placement error; ``corrected`` adds the interaction
        correction in use for the layout's count and duration, if any."""
        zone = self.library.zone(layout.duration)
        interacting = zone.depression is not None and layout.count > 1
        best, parts = None, []
        for k in range(layout.count):
            frame = probe_frame(layout.directions[k])
            p0 = (frame.T @ (points - layout.tips[k][:, None])).astype(np.float32)
            if nominal:
                rel = p0[:, None, :]
            else:
                delta, tilt = self._errors[k]
                rel = p0[:, None, :] - delta.T[:, :, None]             # (3, samples, n)
                if tilt is not None:
                    rel = np.einsum("bji,jbn->ibn", tilt, rel)
            if interacting:
                parts.append((zone, rel))
                continue
            s = zone.signed_distance(rel)
            best = s if best is None else np.maximum(best, s)
        distance = superposed_distance(parts) if interacting else best
        correction = self.interaction.correction_for(layout) if (corrected and self.interaction is not None) else None
        if correction is not None:
            shift = np.mean(layout.tips, axis=0) - correction.anchor
            if not nominal:
                # the layout's mean tip moves with the mean of its probes' errors in a sample
                moved = np.mean([probe_frame(layout.directions[k]) @ self._errors[k][0].T
                                 for k in range(layout.count)], axis=0)
                shift = shift[:, None] + moved
            distance = distance + correction.at(points, shift)
        return distance

    @property
    def _errors(self) -> list:
        """Per probe: displacements (samples, 3) in its frame and tilt rotations (or None), float32."""
        if getattr(self, "_cached_errors", None) is None:
            out = []
            for k in range(self.max_probes):
                delta, tilt = local_errors(self.model, self.draws[:, k])
                rot = tilt_matrices(tilt).astype(np.float32) if np.any(tilt != 0) else None
                out.append((delta.astype(np.float32), rot))
            self._cached_errors = out
        return self._cached_errors

    def evaluate(self, layout: Layout) -> Evaluation:
        t = self.targets
        n_surface = t.surface.shape[1]
        both = self.union_distance(layout, t.all_points)
        s_surface, s_inner = both[:, :n_surface], both[:, n_surface:]
        kept = t.kept
        mam = (np.min(s_surface[:, kept], axis=1) if kept.any() else np.min(s_surface, axis=1)).astype(float)
        worst = np.minimum(np.min(s_surface, axis=1), np.min(s_inner, axis=1)).astype(float)
        success = worst >= 0.0
        nominal = float(np.min(self.union_distance(layout, t.surface[:, kept] if kept.any() else t.surface,
                                                   nominal=True)))
        excess = self.excess_volume(layout)
        n = mam.size
        if self.kind == "p_margin":
            hits = mam >= self.margin
            value, ci = float(np.mean(hits)), wilson(int(np.sum(hits)), n)
            smooth = float(np.mean(_logistic((mam - self.margin) / SMOOTHING)))
        elif self.kind == "p_technical_success":
            value, ci = float(np.mean(success)), wilson(int(np.sum(success)), n)
            smooth = float(np.mean(_logistic(worst / SMOOTHING)))
        else:
            value = float(np.quantile(mam, self.quantile)) / MM
            ci = quantile_interval(mam / MM, self.quantile)
            smooth = value * MM / self.margin if self.margin > 0 else value   # in units of the margin
        score = smooth - EXCESS_WEIGHT * excess / t.target_volume
        return Evaluation(mam / MM, success, value, ci, score, excess * 1e6, nominal / MM)

    def nominal_margin(self, layout: Layout, solved_zone=None) -> float:
        """The objective's margin quantity (m) of the layout without placement error: the MAM, or for
        technical success the smallest signed distance over every tumour point (inner too).
        ``solved_zone`` (world points -> signed distance) reads it on a solved zone instead."""
        t = self.targets
        points = t.all_points if self.kind == "p_technical_success" else \
            (t.surface[:, t.kept] if t.kept.any() else t.surface)
        if solved_zone is not None:
            return float(np.min(solved_zone(points)))
        return float(np.min(self.union_distance(layout, points, nominal=True)))

    @property
    def nominal_threshold(self) -> float:
        """The margin quantity (m) a sample needs to count: the margin, or 0 for technical success."""
        return 0.0 if self.kind == "p_technical_success" else self.margin

    def excess_volume(self, layout: Layout) -> float:
        """Lethal volume (m^3) of the nominal plan outside tumour + margin."""
        t = self.targets
        inside = self.union_distance(layout, t.box_points, nominal=True)[0] >= 0.0
        return t.box_volume * float(np.mean(inside & (t.box_distance > self.margin)))

    def reached(self, evaluation: Evaluation, target: float) -> bool:
        """Whether an evaluation reaches the [plan] target (for the quantile objective: the quantile
        of the MAM reaches the margin)."""
        return self.reaches(evaluation.value, target)

    def reaches(self, value: float | None, target: float) -> bool:
        """Whether an objective value (a solved one too; None: none) reaches the target."""
        if value is None:
            return False
        return value >= (self.margin / MM if self.kind == "margin_quantile" else target)


def _logistic(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.clip(x, -60, 60)))


def quantile_interval(values: np.ndarray, q: float) -> tuple:
    """Distribution-free 95 % interval of the q-quantile from order statistics (binomial normal
    approximation: ranks n q -+ 1.96 sqrt(n q (1 - q)))."""
    v = np.sort(values)
    n = v.size
    half = 1.959963984540054 * np.sqrt(n * q * (1 - q))
    lo = int(np.clip(np.floor(n * q - half), 0, n - 1))
    hi = int(np.clip(np.ceil(n * q + half), 0, n - 1))
    return (float(v[lo]), float(v[hi]))

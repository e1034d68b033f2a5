"""Three-state cell-death model of O'Neill et al. 2011 (Ann Biomed Eng 39: 570-579):

    A (alive) <-> V (vulnerable) -> D (dead),   V = 1 - A - D,
    dA/dt = -kf A (1 - A) + kb V,   dD/dt = kf (1 - A) V,   kf = kf0 exp(T / Tk), T in degC.

Integrated per cell with the explicit midpoint rule (RK2), each cell sub-stepped so that
(kf + kb) h <= 0.1, at the mean temperature of each time step. Parameters (O'Neill et al. 2011): kf0 = 3.33e-3 1/s,
kb = 7.77e-3 1/s, Tk = 40.5 K, initial alive fraction A0 = 0.99.

At or below the body temperature T_b the forward rate is 0. With the published constants
kf(37 degC) = 8.3e-3 1/s exceeds kb, so A = 1 is unstable there and unheated tissue was dead
(D > 0.8) after about 65 min; tissue at the temperature it lives at does not die. Above T_b the
published rates apply unchanged, which still kills tissue held a few kelvin above it for an hour
(docs/physics.md 2): the constants were fitted to ablation-length heating.
"""
from __future__ import annotations

import math

import numpy as np

KF0 = 3.33e-3        # 1/s (O'Neill et al. 2011)
KB = 7.77e-3         # 1/s (O'Neill et al. 2011)
TK = 40.5            # K (O'Neill et al. 2011)
ALIVE0 = 0.99        # initial alive fraction (O'Neill et al. 2011)
MAX_RATE_STEP = 0.1  # largest (kf + kb) h per sub-step (explicit RK2 stays accurate to ~1e-3)
# kf dt beyond which the step's forward rate is capped: at kf dt = 50 the alive fraction is gone
# within about a tenth of the step and the vulnerable one within a fifth, so a cell ends the step
# dead either way; without the cap a few cells next to an electrode at several hundred degC would
# need 1e7 sub-steps (kf doubles every 28 K).
SATURATED_RATE_STEP = 50.0


class ThreeStateCellDeath:
    """Alive and dead fractions per cell, advanced step by step with the tissue temperature."""

    def __init__(self, n_cells: int, kf0: float = KF0, kb: float = KB, tk: float = TK, alive: float = ALIVE0,
                 baseline_temperature: float | None = None):
        self.kf0, self.kb, self.tk = float(kf0), float(kb), float(tk)
        # body temperature (degC) at and below which no cell is driven towards death; None: none
        self.baseline = None if baseline_temperature is None else float(baseline_temperature)
        self.alive = np.full(n_cells, float(alive))
        self.dead = np.zeros(n_cells)

    def forward_rate(self, temperature) -> np.ndarray:
        """kf = kf0 exp(T / Tk) (1/s), T in degC; 0 at or below the baseline temperature."""
        t = np.asarray(temperature, float)
        kf = self.kf0 * np.exp(t / self.tk)
        return kf if self.baseline is None else np.where(t > self.baseline, kf, 0.0)

    def advance(self, t_old, t_new, dt: float) -> None:
        """Advance A and D over ``dt`` (s) at the step's mean temperature (degC).

        Each cell takes its own number of RK2 sub-steps, the power of two at or above
        (kf + kb) dt / MAX_RATE_STEP: the few cells next to an electrode whose rate is capped need
        hundreds, the others one or a few, and sub-stepping the whole grid as finely as its hottest
        cell was 7 % of a 3-D RF run (issue 12 profile)."""
        kf = self.forward_rate(0.5 * (np.asarray(t_old, float) + np.asarray(t_new, float)))
        kf = np.minimum(kf, SATURATED_RATE_STEP / dt)
        kb = self.kb
        need = np.maximum(1.0, np.ceil((kf + kb) * dt / MAX_RATE_STEP))
        exponent = np.ceil(np.log2(need) - 1e-12).astype(int)   # sub-steps 2**exponent >= need
        levels = np.unique(exponent)
        if levels.size == 1:
            self.alive, self.dead = self._rk2(self.alive, self.dead, kf, dt, 2 ** int(levels[0]))
            return
        self.alive, self.dead = self.alive.copy(), self.dead.copy()   # no one else's arrays change
        for level in levels:
            cells = np.nonzero(exponent == level)[0]
            self.alive[cells], self.dead[cells] = self._rk2(self.alive[cells], self.dead[cells], kf[cells], dt,
                                                            2 ** int(level))

    def _rk2(self, a, d, kf, dt: float, n_sub: int):
        """``n_sub`` explicit midpoint steps of the A, D system over ``dt``."""
        kb = self.kb
        h = dt / n_sub

        def rates(a, d):
            v = 1.0 - a - d
            return -kf * a * (1.0 - a) + kb * v, kf * (1.0 - a) * v
        for _ in range(n_sub):
            ra, rd = rates(a, d)
            ra2, rd2 = rates(a + 0.5 * h * ra, d + 0.5 * h * rd)
            a = np.clip(a + h * ra2, 0.0, 1.0)
            d = np.clip(d + h * rd2, 0.0, 1.0 - a)
        return a, d

"""Does the fixed-temperature outer boundary truncate the temperature field? The measure behind
the domain check (:func:`ablation.pipeline.simulate`)."""
from __future__ import annotations

import numpy as np


class BoundaryTruncation:
    """The deviation of the tissue next to a fixed-temperature outer boundary, raw and the part of
    it that heat conducted to the boundary explains.

    Why not the raw deviation alone. A cell next to the boundary deviates from the boundary
    temperature T_b for two reasons: heat (or cold) conducted to it from the treated zone, and heat
    released in the cell itself. Only the first is truncation: in an infinite medium the same heat
    would have flowed on outwards, and holding T_b there draws it out of the zone. The second is
    present in an infinite medium too and does not reach the zone: for RF the outer boundary is
    also the electrical ground and the return current's Joule heating, q = |J|^2 / sigma with
    |J| ~ I / (4 pi r^2), so q ~ r^-4, warms the tissue there wherever the boundary lies (the
    liver phantom's cells next to an 80 mm boundary: 0.6 K, and 120 mm changed the lesion by only
    -1.7 %, docs/anatomy.md Performance).

    What is measured. Each boundary cell carries its local rise theta_loc: the rise its own source
    would give with perfusion but without conduction,

        C d(theta_loc)/dt = q + w (T_a - T_b) - w theta_loc,      theta_loc(0) = 0,

    advanced with every accepted step by backward Euler, as the solver advances T (q the step's heat
    source in the cell, Joule and metabolic, W/m^3; w the perfusion coefficient w_b rho_b c_b,
    shut down where the tissue is dead; C the cell's volumetric heat capacity at T_b). That is the
    Pennes balance of the cell with the conduction term dropped, i.e. the local part of the
    infinite-medium rise (perfusion-limited: its steady state is q / w). The conducted deviation
    is the rest, (T - T_b) - theta_loc, counted where it points the same way as T - T_b (a cell the
    boundary keeps below its local rise is drained by the boundary, not truncating anything); its
    largest absolute value over the cells and steps is compared with domain.boundary_tolerance.
    Without a source next to the boundary (thermal, cryo, RF with the ground elsewhere) theta_loc
    only carries the perfusion term and the conducted deviation equals the raw one.

    Only the treatment's direction counts (``direction``: +1 for heating, -1 for cooling, 0 both): a
    heated zone that reaches the boundary warms the tissue there, a frozen one cools it. A deviation
    the other way comes from something else that crosses the boundary, such as an RF electrode's
    cooled shaft, which cools the tissue around it wherever the boundary lies.

    The error errs towards growing the domain: the infinite-medium rise of the r^-4 source is
    q / w (1 + 12 L^2 / r^2 + ...), with L = sqrt(k / w) the perfusion length (~6 mm in perfused
    liver), because the hotter tissue further in conducts heat outwards; theta_loc leaves that part
    out, so it is counted as conducted. Where perfusion is absent theta_loc keeps growing, as the
    local rise of an unperfused infinite medium does.
    """

    def __init__(self, heat, tissue: np.ndarray, boundary_temperature: float, direction: int = 0):
        cells = heat.boundary_cells
        self.direction = int(np.sign(direction))
        self.cells = cells[tissue[cells]]
        self.boundary_temperature = float(boundary_temperature)
        self.arterial_temperature = float(heat.arterial_temperature)
        at_boundary = np.full(heat.T.size, self.boundary_temperature)
        self.capacity = np.asarray(heat.storage.secant(at_boundary, at_boundary), float) \
            * np.ones(heat.T.size)
        self.capacity = self.capacity[self.cells]
        self.local = np.zeros(self.cells.size)    # theta_loc per boundary cell, K
        self.raw = 0.0          # largest |T - T_b| so far, K
        self.conducted = 0.0    # largest conducted deviation so far, K

    def inputs(self, heat) -> tuple[np.ndarray, np.ndarray]:
        """The step's heat source (W/m^3) and perfusion coefficient (W/(m^3 K)) in the boundary
        cells, taken when the step is computed (a later trial step replaces the solver's arrays)."""
        return heat.source[self.cells].copy(), heat.perfusion[self.cells].copy()

    def add(self, dt: float, inputs, temperature: np.ndarray) -> None:
        """An accepted step of ``dt`` with the ``inputs`` it was computed with, ending at
        ``temperature`` (all cells)."""
        q, w = inputs
        c = self.capacity
        drive = q + w * (self.arterial_temperature - self.boundary_temperature)
        self.local = (self.local + dt * drive / c) / (1.0 + dt * w / c)
        raw = temperature[self.cells] - self.boundary_temperature
        rest = raw - self.local
        same_way = rest * raw > 0.0
        if self.direction:
            same_way &= raw * self.direction > 0.0
        conducted = np.where(same_way, np.abs(rest), 0.0)
        if raw.size:
            self.raw = max(self.raw, float(np.max(np.abs(raw))))
            self.conducted = max(self.conducted, float(np.max(conducted)))

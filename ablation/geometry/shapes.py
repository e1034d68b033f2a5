"""Shapes of tumours, probes and vessels, in world coordinates (metres, right-handed).

A probe's ``direction`` points from its handle to its tip (into the tissue). Shapes answer
``contains(points)`` for (3, n) arrays of points, and tumours also give a signed distance
(negative inside), which coverage and margin metrics use.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def unit(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=float)
    return v / np.linalg.norm(v)


def orthonormal_frame(axis, x_axis=None) -> np.ndarray:
    """3x3 matrix whose columns (e1, e2, axis) form a right-handed orthonormal frame; e1 is
    ``x_axis`` made perpendicular to ``axis`` when given."""
    e3 = unit(axis)
    if x_axis is not None and np.linalg.norm(np.cross(x_axis, e3)) > 1e-9:
        return _frame_from(e3, unit(np.asarray(x_axis, float) - (np.asarray(x_axis, float) @ e3) * e3))
    helper = np.array([1.0, 0.0, 0.0]) if abs(e3[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    return _frame_from(e3, unit(np.cross(helper, e3)))


def _frame_from(e3, e1) -> np.ndarray:
    e2 = np.cross(e3, e1)
    return np.column_stack([e1, e2, e3])


@dataclass(frozen=True)
class Ellipsoid:
    """Tumour shape: centre (m), semi-axes (m) along the columns of ``frame`` (a rotation)."""
    name: str
    center: np.ndarray
    semi_axes: np.ndarray
    frame: np.ndarray

    @classmethod
    def sphere(cls, name, center, radius):
        return cls(name, np.asarray(center, float), np.full(3, float(radius)), np.eye(3))

    def local(self, points: np.ndarray) -> np.ndarray:
        return self.frame.T @ (np.asarray(points) - self.center[:, None])

    def contains(self, points: np.ndarray) -> np.ndarray:
        q = self.local(points) / self.semi_axes[:, None]
        return np.einsum("ij,ij->j", q, q) <= 1.0

    @property
    def is_sphere(self) -> bool:
        return bool(np.allclose(self.semi_axes, self.semi_axes[0]))

    @property
    def volume(self) -> float:
        return 4.0 / 3.0 * np.pi * float(np.prod(self.semi_axes))

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance to the surface (m, negative inside). Exact for spheres; for ellipsoids
        the first-order estimate (|q| - 1) |q| / |grad q|, exact on the surface and along the axes,
        whose error grows with distance from the surface and with eccentricity."""
        if self.is_sphere:
            d = np.linalg.norm(np.asarray(points) - self.center[:, None], axis=0)
            return d - self.semi_axes[0]
        p = self.local(points)
        q = p / self.semi_axes[:, None]
        k0 = np.sqrt(np.einsum("ij,ij->j", q, q))
        k1 = np.sqrt(np.einsum("ij,ij->j", q / self.semi_axes[:, None], q / self.semi_axes[:, None]))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = k0 * (k0 - 1.0) / k1
        return np.where(k0 > 0, d, -np.min(self.semi_axes))

    def surface_points(self, count: int) -> np.ndarray:
        """About ``count`` points spread evenly (Fibonacci lattice) on the surface, (3, n)."""
        i = np.arange(count) + 0.5
        polar = np.arccos(1.0 - 2.0 * i / count)
        azimuth = np.pi * (1.0 + 5.0 ** 0.5) * i
        unit_sphere = np.vstack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)])
        return self.center[:, None] + self.frame @ (unit_sphere * self.semi_axes[:, None])


@dataclass(frozen=True)
class Segment:
    """A straight cylinder from ``start`` to ``end`` (m) of ``radius`` (m): probe parts, vessels."""
    start: np.ndarray
    end: np.ndarray
    radius: float

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Distance from each point to the segment's centre line (m)."""
        axis = self.end - self.start
        length2 = float(axis @ axis)
        rel = np.asarray(points) - self.start[:, None]
        s = np.clip((axis @ rel) / length2, 0.0, 1.0)
        nearest = self.start[:, None] + axis[:, None] * s
        return np.linalg.norm(np.asarray(points) - nearest, axis=0)

    def contains(self, points: np.ndarray) -> np.ndarray:
        return self.distance(points) <= self.radius

    def sample_points(self, spacing: float) -> np.ndarray:
        """Points along the centre line every ``spacing`` (m), ends included, (3, n)."""
        length = float(np.linalg.norm(self.end - self.start))
        n = max(2, int(np.ceil(length / spacing)) + 1)
        s = np.linspace(0.0, 1.0, n)
        return self.start[:, None] + (self.end - self.start)[:, None] * s


@dataclass(frozen=True)
class Probe:
    """A straight needle: an active part of ``active_length`` ending at ``tip``, and an insulated
    shaft behind it reaching ``shaft_length`` further back (to the domain boundary by default)."""
    name: str
    tip: np.ndarray
    direction: np.ndarray
    radius: float
    active_length: float
    shaft_length: float

    @property
    def active(self) -> Segment:
        return Segment(self.tip - self.direction * self.active_length, self.tip.copy(), self.radius)

    @property
    def shaft(self) -> Segment:
        back = self.tip - self.direction * self.active_length
        return Segment(back - self.direction * self.shaft_length, back, self.radius)

"""The log-law wall of a thin probe on a 3-D grid (ablation/geometry/probe_wall.py)."""
import numpy as np

from ablation.geometry.finite_volume import FVGeometry
from ablation.geometry.grid import Domain, mark_regions
from ablation.geometry.probe_wall import azimuth_flux
from ablation.geometry.shapes import Probe, Segment


def _face(centre, normal, half):
    return (np.array(centre, float)[:, None], np.array(normal, float)[:, None], np.array(half, float)[:, None])


def test_flux_through_a_face_along_the_axis_is_its_length_times_the_angle_it_subtends():
    axis = Segment(np.array([0.0, 0.0, -1.0]), np.array([0.0, 0.0, 1.0]), 0.5)
    a, y1, y2, length = 0.7, -0.3, 0.9, 1.3
    flux, clear = azimuth_flux(*_face([a, (y1 + y2) / 2, length / 2], [1, 0, 0], [0, (y2 - y1) / 2, length / 2]), axis)
    assert clear[0]
    assert abs(flux[0] / (length * (np.arctan(y2 / a) - np.arctan(y1 / a))) - 1) < 1e-12


def test_flux_through_a_face_across_a_tilted_axis_matches_quadrature():
    d = np.array([1.0, 0.4, 2.0]) / np.linalg.norm([1.0, 0.4, 2.0])
    axis = Segment(-3 * d, 3 * d, 0.1)
    centre, half = np.array([0.8, 0.2, 0.1]), np.array([0.0, 0.6, 0.5])
    flux, clear = azimuth_flux(*_face(centre, [1, 0, 0], half), axis)
    n = 1000                       # midpoint rule of (rho_hat . n) / rho over the face
    y = centre[1] - half[1] + (np.arange(n) + 0.5) * 2 * half[1] / n
    z = centre[2] - half[2] + (np.arange(n) + 0.5) * 2 * half[2] / n
    Y, Z = np.meshgrid(y, z)
    points = np.stack([np.full_like(Y, centre[0]), Y, Z])
    rho = points - np.einsum("kij,k->ij", points, d)[None] * d[:, None, None]
    quadrature = np.sum(rho[0] / np.einsum("kij,kij->ij", rho, rho)) * (2 * half[1] / n) * (2 * half[2] / n)
    assert clear[0]
    assert abs(flux[0] / quadrature - 1) < 1e-5


def test_the_faces_of_a_box_around_the_axis_pass_two_pi_per_unit_length():
    axis = Segment(np.array([0.1, -0.2, -5.0]), np.array([0.1, -0.2, 5.0]), 0.05)
    centres, normals, halves = [], [], []
    for ax in range(2):
        for sign in (-1, 1):
            c, n, h = np.array([0.0, 0.0, 0.5]), np.zeros(3), np.full(3, 0.5)
            c[ax], n[ax], h[ax] = 0.5 * sign, sign, 0.0
            centres.append(c), normals.append(n), halves.append(h)
    flux, clear = azimuth_flux(np.array(centres).T, np.array(normals).T, np.array(halves).T, axis)
    assert clear.all()
    assert abs(flux.sum() - 2 * np.pi) < 1e-12


def _wall_faces(tip, direction, h=1.5e-3, cells=16):
    edges = (np.arange(cells + 1) - cells / 2) * h          # grid nodes at 0: round positions lie on them
    grid = [edges, edges, edges]
    domain = Domain("3d", None, FVGeometry.rectilinear(grid), (cells,) * 3, grid, np.zeros(3), np.eye(3))
    direction = np.asarray(direction, float) / np.linalg.norm(direction)
    domain.probes = [Probe("p", np.asarray(tip, float), direction, 0.735e-3, 6e-3, 30e-3)]
    mark_regions(domain)
    held, g = domain.held, domain.geometry
    wall = held[g.face_cell_1] ^ held[g.face_cell_2]
    return wall, domain.wall_length


def test_a_probe_on_cell_faces_edges_and_corners_is_enclosed_by_its_held_cells():
    """An axis on a cell face, along a cell edge, or diagonal through the grid's corners: the held
    cells enclose it, so the wall law applies to nearly every wall face (only the tip's are left
    to the true-surface distance)."""
    for tip, direction in (([0.75e-3, 0.0, 0.0], [0, 0, 1]),     # on a face between two cells
                           ([0.0, 0.0, 0.0], [0, 0, 1]),          # along a cell edge
                           ([0.0, 0.0, 0.0], [1, 1, 1])):         # through cell corners
        wall, lengths = _wall_faces(tip, direction)
        assert np.isfinite(lengths[wall]).mean() > 0.9, (tip, direction)

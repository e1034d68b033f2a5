"""Finite-volume geometry of a grid as plain numpy arrays: cell volumes and centres, the two cells
of each interior face, face areas and distances, and boundary faces.

All arrays are *physical*: FiPy's cylindrical volumes and face areas are per radian, so they are
multiplied by 2*pi (docs/design.md, FiPy pitfalls); spherical ones are per steradian (x 4 pi).
FiPy 4.0.3's ``SphericalGrid1D`` gives cell volumes (r2^3 - r1^3)/2, 1.5 times the shell volume
per steradian that its face areas r^2 imply (measured here); the exact (r2^3 - r1^3)/3 is used.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class FVGeometry:
    """Cell and face geometry of a FiPy mesh, as plain numpy arrays in SI units.

    Attributes
    ----------
    volumes : (n_cells,) m^3
    centers : (dim, n_cells) m, in the mesh frame (r, z for the axisymmetric grid)
    face_cell_1, face_cell_2 : cells on either side of each interior face
    face_area : (n_interior,) m^2
    face_distance : (n_interior,) m, centre-to-centre distance across the face
    face_distance_1 : (n_interior,) m, from ``face_cell_1``'s centre to the face
    boundary_cell, boundary_area, boundary_distance : exterior faces (m^2, centre-to-face m)
    boundary_center : (dim, n_boundary) m
    """
    volumes: np.ndarray
    centers: np.ndarray
    face_cell_1: np.ndarray
    face_cell_2: np.ndarray
    face_area: np.ndarray
    face_distance: np.ndarray
    face_distance_1: np.ndarray
    interior_face_ids: np.ndarray
    boundary_cell: np.ndarray
    boundary_area: np.ndarray
    boundary_distance: np.ndarray
    boundary_center: np.ndarray
    boundary_face_ids: np.ndarray
    axisymmetric: bool
    coordinates: str = "cartesian"     # cartesian | cylindrical | spherical

    @property
    def n_cells(self) -> int:
        return self.volumes.size

    @classmethod
    def from_fipy(cls, mesh, axisymmetric: bool = False, coordinates: str | None = None) -> "FVGeometry":
        coordinates = coordinates or ("cylindrical" if axisymmetric else "cartesian")
        scale = {"cartesian": 1.0, "cylindrical": 2.0 * np.pi, "spherical": 4.0 * np.pi}[coordinates]
        volumes = np.asarray(mesh.cellVolumes) * scale
        if coordinates == "spherical":
            faces_x = np.asarray(mesh.faceCenters.value)[0]
            volumes = scale * np.abs(np.diff(np.sort(faces_x) ** 3)) / 3.0
        ids = np.ma.filled(mesh.faceCellIDs, -1)
        area = np.asarray(mesh._faceAreas) * scale
        dist = np.asarray(mesh._cellDistances)
        interior = ids[1] >= 0
        # distance from cell 1's centre to the face (FiPy stores the ratio face-to-cell / cell-to-cell)
        ratio = np.asarray(mesh._faceToCellDistanceRatio)
        face_ids = np.nonzero(interior)[0]
        bface = np.nonzero(~interior)[0]
        return cls(
            volumes=volumes,
            centers=np.asarray(mesh.cellCenters.value),
            face_cell_1=ids[0, interior].astype(np.int64),
            face_cell_2=ids[1, interior].astype(np.int64),
            face_area=area[interior],
            face_distance=dist[interior],
            face_distance_1=(ratio * dist)[interior],
            interior_face_ids=face_ids,
            boundary_cell=ids[0, ~interior].astype(np.int64),
            boundary_area=area[~interior],
            boundary_distance=dist[~interior],
            boundary_center=np.asarray(mesh.faceCenters.value)[:, ~interior],
            boundary_face_ids=bface,
            axisymmetric=coordinates == "cylindrical",
            coordinates=coordinates,
        )

    @classmethod
    def rectilinear(cls, edges, axisymmetric: bool = False) -> "FVGeometry":
        """The same geometry computed directly for a rectilinear grid (cell order x fastest, as
        FiPy's Grid3D/CylindricalGrid2D), without building a FiPy mesh.

        FiPy's Grid3D holds many connectivity arrays: a 100^3 grid peaked at 2.7 GB here, this
        at a fraction of it. The tests check that both give the same geometry and matrices.
        ``axisymmetric``: edges are (r, z) and areas/volumes are of the full revolution.
        """
        # coordinates relative to the first edge, as in a FiPy mesh built from spacings
        edges = [np.asarray(e, float) - float(e[0]) for e in edges]
        dim = len(edges)
        shape = tuple(e.size - 1 for e in edges)
        centers_1d = [0.5 * (e[1:] + e[:-1]) for e in edges]
        widths_1d = [np.diff(e) for e in edges]
        grids = np.meshgrid(*centers_1d, indexing="ij")
        centers = np.vstack([g.ravel(order="F") for g in grids])        # x fastest
        widths = [w.ravel(order="F") for w in np.meshgrid(*widths_1d, indexing="ij")]
        index = np.arange(int(np.prod(shape))).reshape(shape, order="F")
        if axisymmetric:
            r_lo = np.meshgrid(edges[0][:-1], edges[1][:-1], indexing="ij")[0].ravel(order="F")
            volumes = np.pi * ((r_lo + widths[0]) ** 2 - r_lo ** 2) * widths[1]
        else:
            volumes = np.prod(np.vstack(widths), axis=0)
        p_list, q_list, area, dist, dist1 = [], [], [], [], []
        b_cell, b_area, b_dist, b_center = [], [], [], []
        for ax in range(dim):
            lo = np.take(index, np.arange(shape[ax] - 1), axis=ax).ravel(order="F")
            hi = np.take(index, np.arange(1, shape[ax]), axis=ax).ravel(order="F")
            face_pos = edges[ax][np.take(np.indices(shape)[ax], np.arange(1, shape[ax]), axis=ax).ravel(order="F")]
            p_list.append(lo)
            q_list.append(hi)
            area.append(cls._face_area(ax, lo, face_pos, centers, widths, axisymmetric))
            dist.append(centers[ax][hi] - centers[ax][lo])
            dist1.append(face_pos - centers[ax][lo])
            for end, pos in ((0, edges[ax][0]), (shape[ax] - 1, edges[ax][-1])):
                cells = np.take(index, [end], axis=ax).ravel(order="F")
                b_cell.append(cells)
                b_area.append(cls._face_area(ax, cells, np.full(cells.size, pos), centers, widths, axisymmetric))
                b_dist.append(np.abs(centers[ax][cells] - pos))
                c = centers[:, cells].copy()
                c[ax] = pos
                b_center.append(c)
        n_int = sum(a.size for a in p_list)
        n_b = sum(c.size for c in b_cell)
        return cls(volumes=volumes, centers=centers,
                   face_cell_1=np.concatenate(p_list), face_cell_2=np.concatenate(q_list),
                   face_area=np.concatenate(area), face_distance=np.concatenate(dist),
                   face_distance_1=np.concatenate(dist1), interior_face_ids=np.arange(n_int),
                   boundary_cell=np.concatenate(b_cell), boundary_area=np.concatenate(b_area),
                   boundary_distance=np.concatenate(b_dist), boundary_center=np.hstack(b_center),
                   boundary_face_ids=np.arange(n_int, n_int + n_b), axisymmetric=axisymmetric,
                   coordinates="cylindrical" if axisymmetric else "cartesian")

    @staticmethod
    def _face_area(ax, cells, face_pos, centers, widths, axisymmetric):
        """Area of the faces normal to ``ax`` at ``face_pos`` next to ``cells`` (m^2)."""
        others = [w[cells] for i, w in enumerate(widths) if i != ax]
        if not axisymmetric:
            return np.prod(np.vstack(others), axis=0) if others else np.ones(cells.size)
        if ax == 0:                               # r-face: 2 pi r dz
            return 2.0 * np.pi * face_pos * widths[1][cells]
        r_c, dr = centers[0][cells], widths[0][cells]  # z-face: annulus
        return np.pi * ((r_c + dr / 2) ** 2 - (r_c - dr / 2) ** 2)

    def harmonic_face_value(self, cell_value: np.ndarray) -> np.ndarray:
        """Distance-weighted harmonic mean across each interior face (exact flux continuity for
        piecewise-constant coefficients, the right choice at tissue/tumour interfaces)."""
        return self.harmonic_face_mean(cell_value[self.face_cell_1], cell_value[self.face_cell_2])

    def harmonic_face_mean(self, value_1: np.ndarray, value_2: np.ndarray, faces=slice(None)) -> np.ndarray:
        """Distance-weighted harmonic mean on ``faces`` of a value seen from each side (cell 1, cell 2)."""
        alpha = self.face_distance_1[faces] / self.face_distance[faces]
        denom = (value_2 - value_1) * alpha + value_1
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(denom != 0.0, value_1 * value_2 / np.where(denom != 0.0, denom, 1.0), 0.0)

"""Reading closed surfaces (STL, VTP, OBJ via PyVista; coordinates in mm in the scenario's world
frame) and voxelising them into :class:`ablation.geometry.shapes.VoxelMask` regions, so a surface
tumour or liver goes through the same coverage, margin and grid code as a label region."""
from __future__ import annotations

import numpy as np

from ablation.anatomy.errors import AnatomyError
from ablation.anatomy.files import MAX_COORDINATE_M, checked_file
from ablation.geometry.shapes import VoxelMask
from ablation.runtime import quiet_vtk

SUFFIXES = (".stl", ".vtp", ".obj")
MM = 1e-3


def read_surface(path):
    """A closed triangulated surface (pyvista.PolyData, mm). Raises :class:`AnatomyError` naming
    the file when it cannot be read, holds no triangles or is not closed (open edges)."""
    path = checked_file(path, "surface (STL, VTP or OBJ)", SUFFIXES)
    try:
        import pyvista as pv
        with quiet_vtk():
            mesh = pv.read(str(path))
        if not isinstance(mesh, pv.PolyData):
            mesh = mesh.extract_surface()
        mesh = mesh.triangulate().clean()
    except Exception as exc:      # VTK readers report damage in many ways: name the file instead
        raise AnatomyError(f"{path}: cannot be read as a surface ({type(exc).__name__}: {exc}); expected an "
                           "intact STL, VTP or OBJ file") from None
    if mesh.n_cells == 0 or mesh.n_points < 4:
        raise AnatomyError(f"{path}: holds no triangles; expected a closed surface")
    if not np.all(np.isfinite(mesh.points)):
        raise AnatomyError(f"{path}: has coordinates that are not finite; expected finite coordinates in mm")
    farthest = float(np.max(np.abs(mesh.points)))
    if farthest > MAX_COORDINATE_M / MM:
        raise AnatomyError(f"{path}: a point lies {farthest:.4g} mm from the origin along an axis; expected every "
                           f"point within +-{MAX_COORDINATE_M / MM:g} mm, in mm in the scenario's frame")
    open_edges = int(mesh.n_open_edges)
    if open_edges:
        raise AnatomyError(f"{path}: the surface is not closed ({open_edges} open edges); expected a closed "
                           "(watertight) surface, e.g. repaired in 3D Slicer or MeshLab")
    return mesh


#: the most voxels a surface is voxelised into: a whole 30 cm liver at the default 0.5 mm is 2.2e8
#: voxels (one byte each); beyond 4e8 the surface is in the wrong units or the voxel a typing error
MAX_SURFACE_VOXELS = 4e8


def voxelise_surface(mesh, spacing: float, name: str, reach: float = 0.012) -> VoxelMask:
    """The inside of a closed surface (mm) on an axis-aligned grid of ``spacing`` (m) covering it
    with one voxel to spare: a voxel is inside when its centre is (vtkPolyDataToImageStencil)."""
    import pyvista as pv
    lo = np.array(mesh.bounds[0::2]) - 1.5 * spacing / MM
    hi = np.array(mesh.bounds[1::2]) + 1.5 * spacing / MM
    step = spacing / MM
    dims = np.ceil((hi - lo) / step).astype(int) + 1
    voxels = float(np.prod(dims.astype(float)))
    if voxels > MAX_SURFACE_VOXELS:
        raise AnatomyError(f"{name}: voxelising the surface ({' x '.join(f'{(b - a):.4g}' for a, b in zip(lo, hi))} mm) "
                           f"at {step:g} mm needs {voxels:.3g} voxels; expected at most {MAX_SURFACE_VOXELS:.0e} "
                           "(a 30 cm liver at 0.5 mm has 2.2e8): check the surface's units (mm) or raise "
                           "anatomy.surface_voxel")
    reference = pv.ImageData(dimensions=dims, spacing=(step,) * 3, origin=lo)
    image = mesh.voxelize_binary_mask(reference_volume=reference)
    mask = np.asarray(image.point_data[image.point_data.keys()[0]]).reshape(dims, order="F") > 0
    if not mask.any():
        raise AnatomyError(f"{name}: voxelising the surface at {spacing / MM:g} mm gave no voxel inside; "
                           "expected a closed surface larger than a voxel (or a smaller anatomy.surface_voxel)")
    return VoxelMask(name, mask, lo * MM, np.full(3, spacing), reach=reach)

"""Reading label maps: NIfTI (``.nii``, ``.nii.gz``, via nibabel) and NRRD (``.nrrd``, attached
raw or gzip data, a small reader of its own: no SimpleITK needed).

The result is a :class:`ablation.geometry.label_volume.LabelVolume` in the RAS+ world frame of
nibabel, in metres: the NIfTI affine (sform, else qform) as it is, scaled from mm; an NRRD in
``left-posterior-superior`` space is turned into RAS+ (x and y negated), as 3D Slicer does.
"""
from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from ablation.anatomy.errors import AnatomyError
from ablation.anatomy.files import cached_by_file, checked_file
from ablation.geometry.label_volume import LabelVolume

SUFFIXES = (".nii", ".nii.gz", ".nrrd")
MM = 1e-3


@cached_by_file
def read_label_map(path) -> LabelVolume:
    """A label map file as a :class:`LabelVolume` (labels as the smallest unsigned integer type, affine in m). Raises
    :class:`AnatomyError` naming the file when it cannot be read or is not a 3-D integer label map."""
    path = checked_file(path, "label map (NIfTI or NRRD)", SUFFIXES)
    if path.name.lower().endswith(".nrrd"):
        data, affine_mm = _read_nrrd(path)
    else:
        data, affine_mm = _read_nifti(path)
    data = np.asarray(data)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise AnatomyError(f"{path}: a {data.ndim}-D image of shape {list(data.shape)}; expected a 3-D label map")
    if not np.issubdtype(data.dtype, np.integer):
        if not np.all(np.isfinite(data)) or not np.all(data == np.round(data)):
            raise AnatomyError(f"{path}: holds non-integer values ({data.dtype}); expected integer labels")
    if data.size and data.min() < 0:
        raise AnatomyError(f"{path}: holds negative labels (smallest {int(data.min())}); expected labels >= 0")
    largest = int(data.max()) if data.size else 0
    labels = np.asarray(data, dtype=np.uint8 if largest < 256 else np.uint16 if largest < 65536 else np.int64)
    affine = np.asarray(affine_mm, float).copy()
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise AnatomyError(f"{path}: its affine (voxel to world) is singular or not finite; expected voxel "
                           "spacings and directions")
    voxel = np.linalg.norm(affine[:3, :3], axis=0)
    if np.any(voxel < VOXEL_SIZE_MM[0]) or np.any(voxel > VOXEL_SIZE_MM[1]):
        raise AnatomyError(f"{path}: voxel size {[float(f'{v:.4g}') for v in voxel]} mm; expected "
                           f"{VOXEL_SIZE_MM[0]:g}-{VOXEL_SIZE_MM[1]:g} mm per voxel ({VOXEL_SIZE_MM[2]})")
    affine[:3, :] *= MM
    return LabelVolume(labels, affine, str(path))


#: (smallest, largest, why) voxel edge of a label map, mm: a value outside is a header or unit slip
VOXEL_SIZE_MM = (0.01, 20.0, "clinical CT and MR segmentations have voxels of about 0.3-10 mm; a zero or "
                             "absurd pixdim is a damaged header or a unit slip")


def _read_nifti(path: Path):
    try:
        import nibabel as nib
        pixdim = _raw_pixdim(path)
        if pixdim is not None and (not np.all(np.isfinite(pixdim)) or np.any(pixdim == 0.0)):
            raise AnatomyError(f"{path}: its header gives voxel sizes (pixdim) {pixdim.tolist()}; expected three "
                               "non-zero voxel sizes")
        image = nib.load(str(path))
        data = np.asanyarray(image.dataobj)
        affine = image.affine
        unit = image.header.get_xyzt_units()[0]
    except AnatomyError:
        raise
    except Exception as exc:     # nibabel raises many kinds for a damaged file: name the file instead
        raise AnatomyError(f"{path}: cannot be read as NIfTI ({type(exc).__name__}: {exc}); expected an "
                           "intact .nii or .nii.gz label map") from None
    scale = {"mm": 1.0, "meter": 1000.0, "micron": 1e-3, "unknown": 1.0}.get(unit, 1.0)
    affine = np.asarray(affine, float).copy()
    affine[:3, :] *= scale           # to mm (unknown units are taken as mm, the NIfTI convention)
    return data, affine


def _raw_pixdim(path: Path):
    """The NIfTI-1 header's voxel sizes as written (pixdim[1:4]), or None for another header: nibabel's
    loader sets a zero to 1 mm, with only a printed warning, and a zero is a damaged header."""
    import nibabel as nib
    from nibabel.openers import ImageOpener
    try:
        with ImageOpener(str(path)) as handle:
            header = nib.Nifti1Header.from_fileobj(handle, check=False)
        return np.asarray(header["pixdim"][1:4], float)
    except Exception:        # a NIfTI-2 or damaged header: nib.load decides
        return None


_NRRD_TYPES = {
    "uchar": np.uint8, "unsigned char": np.uint8, "uint8": np.uint8, "uint8_t": np.uint8,
    "signed char": np.int8, "int8": np.int8, "int8_t": np.int8,
    "short": np.int16, "int16": np.int16, "int16_t": np.int16, "signed short": np.int16,
    "ushort": np.uint16, "unsigned short": np.uint16, "uint16": np.uint16, "uint16_t": np.uint16,
    "int": np.int32, "int32": np.int32, "int32_t": np.int32, "signed int": np.int32,
    "uint": np.uint32, "unsigned int": np.uint32, "uint32": np.uint32, "uint32_t": np.uint32,
    "float": np.float32, "double": np.float64,
}


def _read_nrrd(path: Path):
    raw = path.read_bytes()
    if not raw.startswith(b"NRRD000"):
        raise AnatomyError(f"{path}: no NRRD magic line ('NRRD0004'); expected an NRRD file")
    end = raw.find(b"\n\n")
    if end < 0:
        raise AnatomyError(f"{path}: the NRRD header has no end (blank line); the file is damaged")
    header = {}
    for line in raw[:end].decode("latin-1").splitlines()[1:]:
        if line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        header[key.strip().lower()] = value.lstrip("=").strip()
    try:
        dtype = np.dtype(_NRRD_TYPES[header["type"].lower()])
        sizes = [int(s) for s in header["sizes"].split()]
        encoding = header.get("encoding", "raw").lower()
        if "data file" in header or "datafile" in header:
            raise AnatomyError(f"{path}: detached NRRD data ('data file') is not supported; save it as one .nrrd")
        body = raw[end + 2:]
        if encoding in ("gzip", "gz"):
            body = gzip.decompress(body)
        elif encoding != "raw":
            raise AnatomyError(f"{path}: NRRD encoding {encoding!r} is not supported; expected raw or gzip")
        if header.get("endian", "little").lower() == "big":
            dtype = dtype.newbyteorder(">")
        count = int(np.prod(sizes))
        if len(body) < count * dtype.itemsize:
            raise AnatomyError(f"{path}: {len(body)} data bytes; expected {count * dtype.itemsize} for sizes {sizes}")
        data = np.frombuffer(body[:count * dtype.itemsize], dtype=dtype).reshape(sizes[::-1]).T
        vectors = re.findall(r"\(([^)]*)\)", header.get("space directions", ""))
        directions = np.array([[float(v) for v in vec.split(",")] for vec in vectors]).T if vectors \
            else np.diag([float(s) for s in header.get("spacings", "1 1 1").split()])
        origin = re.findall(r"\(([^)]*)\)", header.get("space origin", "(0,0,0)"))
        origin = np.array([float(v) for v in origin[0].split(",")]) if origin else np.zeros(3)
        if directions.shape != (3, 3) or origin.shape != (3,):
            raise AnatomyError(f"{path}: space directions give {len(vectors) or 'no'} vector(s) of a 3-D space "
                               f"({header.get('space directions', '')!r}) and space origin {origin.size} value(s); "
                               "expected three 3-D direction vectors and a 3-D origin (a 'none' axis is not a "
                               "spatial label map)")
    except AnatomyError:
        raise
    except (KeyError, ValueError, OSError, EOFError, zlib.error) as exc:
        raise AnatomyError(f"{path}: cannot be read as NRRD ({type(exc).__name__}: {exc}); expected an intact "
                           "NRRD label map with type, sizes, space directions and space origin") from None
    affine = np.eye(4)
    affine[:3, :3] = directions
    affine[:3, 3] = origin
    space = header.get("space", "left-posterior-superior").lower()
    if space in ("left-posterior-superior", "lps"):
        affine[:2, :] *= -1.0                  # LPS -> RAS+
    elif space not in ("right-anterior-superior", "ras"):
        raise AnatomyError(f"{path}: NRRD space {space!r} is not supported; expected LPS or RAS")
    return np.array(data), affine


def write_nrrd(path, labels: np.ndarray, affine_mm: np.ndarray) -> None:
    """A gzip NRRD in LPS space (for tests and for users converting files; files written only here)."""
    lps = np.asarray(affine_mm, float).copy()
    lps[:2, :] *= -1.0
    dirs = " ".join("(" + ",".join(f"{v:.10g}" for v in lps[:3, k]) + ")" for k in range(3))
    header = (f"NRRD0004\ntype: uint16\ndimension: 3\nspace: left-posterior-superior\n"
              f"sizes: {' '.join(str(s) for s in labels.shape)}\nspace directions: {dirs}\n"
              "kinds: domain domain domain\nendian: little\nencoding: gzip\n"
              f"space origin: ({','.join(f'{v:.10g}' for v in lps[:3, 3])})\n\n")
    body = gzip.compress(np.asarray(labels, "<u2").T.tobytes())
    Path(path).write_bytes(header.encode("ascii") + body)

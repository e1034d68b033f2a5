"""NIfTI exports of a run with an [anatomy] label map, in the input image's frame and spacing (the
same affine), so 3D Slicer and ITK open them in place over the input:

* ``lesion.nii.gz``: the run's lesion criterion, binary (uint8 0/1);
* ``lesion_<criterion>.nii.gz``: every other reported criterion (':' becomes '_');
* ``tumors_margins.nii.gz``: tumour k = k, its 0-5 mm shell 100 + k, 5-10 mm shell 200 + k
  (:mod:`ablation.outcome.image_zones`).

The surfaces of a run (``surfaces/*.vtp|.stl``) are in world millimetres, which with [anatomy] is
the image's RAS+ world frame: they overlay the label map too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ablation.outcome.image_zones import image_zones
from ablation.run.setup import patient_anatomy


def criterion_file_name(criterion: str) -> str:
    return "lesion_" + "".join(c if c.isalnum() or c in "-." else "_" for c in criterion) + ".nii.gz"


def write_anatomy_exports(staging: Path, result) -> dict | None:
    """Write the NIfTI exports; returns what was written (for summary.json) or None without a label map."""
    anatomy = patient_anatomy(result.scenario)
    if anatomy is None or anatomy.labels is None or result.domain.kind != "3d":
        return None
    import nibabel as nib
    run_criterion = result.summary["lesion"]["criterion"]
    others = [c for c in (result.summary.get("lesion_by_criterion") or {}) if c != run_criterion]
    zones = image_zones(result, anatomy.labels, [run_criterion, *others])
    affine_mm = anatomy.labels.affine.copy()
    affine_mm[:3, :] *= 1e3

    def save(name, data):
        image = nib.Nifti1Image(data, affine_mm)
        image.header.set_xyzt_units("mm", "sec")
        image.set_qform(affine_mm, code=1)
        image.set_sform(affine_mm, code=1)
        nib.save(image, str(staging / name))

    files = {"lesion.nii.gz": run_criterion}
    save("lesion.nii.gz", zones.zones[run_criterion].astype(np.uint8))
    for c in others:
        name = criterion_file_name(c)
        save(name, zones.zones[c].astype(np.uint8))
        files[name] = c
    save("tumors_margins.nii.gz", zones.tumor_labels)
    return {
        "frame": "the input label map's grid and affine (RAS+, mm): " + str(anatomy.sources.get("label_map", "")),
        "files": files,
        "tumors_margins": "tumors_margins.nii.gz: tumour k = k, 0-5 mm shell = 100 + k, 5-10 mm shell = 200 + k",
        "voxel_volume_ml": {name: zones.volume_ml(c) for name, c in files.items()},
        "lesion_volume_ml": float(result.summary["lesion"]["volume_ml"]),
        "sampled_index_box": [list(map(int, zones.box[0])), list(map(int, zones.box[1]))],
    }

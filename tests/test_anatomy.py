"""Patient anatomy (issue 12): the phantom in meshes/, label-map and surface readers, label tumours
whose coverage and margins converge to the exact values, the zone comparison against closed forms,
the vessel-wall correlation, trajectory checks, exports in the input's frame, and bad anatomy input
refused with exit 2 naming the file or label."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")

from ablation.anatomy.centerlines import read_centerlines
from ablation.anatomy.errors import AnatomyError
from ablation.anatomy.label_maps import read_label_map, write_nrrd
from ablation.anatomy.surfaces import read_surface
from ablation.cli import main
from ablation.geometry.shapes import Ellipsoid, VoxelMask
from ablation.input.scenario import ScenarioError, scenario_from_dict
from ablation.outcome.coverage import tumor_metrics, tumor_points
from ablation.outcome.zone_agreement import sphere_pair_dice, sphere_pair_mean_distance, zone_agreement
from ablation.physics.vessel_wall import hausen_nusselt, murray_flow, wall_heat_transfer_coefficient

ROOT = Path(__file__).resolve().parent.parent
MESHES = ROOT / "meshes"


# ----------------------------------------------------------------------------------- helpers
def write_nifti(path, labels, spacing=(1.0, 1.0, 1.0), origin=(-30.0, -30.0, -30.0)):
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = origin
    image = nib.Nifti1Image(np.asarray(labels, np.uint8), affine)
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, str(path))
    return affine


def small_patient(folder: Path, spacing=1.0):
    """A 60 mm cube at ``spacing`` mm: liver (label 1) = ball of radius 26 mm at the origin, tumour
    (label 11) = ball of radius 6 mm at (5, 0, 0), vessel label 2 = a 4 mm tube along y at x = -12."""
    n = int(round(60 / spacing))
    axis = -30.0 + spacing * (np.arange(n) + 0.5)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    labels = np.zeros((n, n, n), np.uint8)
    labels[x ** 2 + y ** 2 + z ** 2 <= 26 ** 2] = 1
    labels[((x + 12) ** 2 + z ** 2 <= 2 ** 2) & (labels == 1)] = 2
    labels[(x - 5) ** 2 + y ** 2 + z ** 2 <= 6 ** 2] = 11
    write_nifti(folder / "patient.nii.gz", labels, (spacing,) * 3, (axis[0],) * 3)
    return labels


def scenario_table(**anatomy):
    table = {
        "name": "small-patient",
        "modality": "thermal",
        "anatomy": {"label_map": "patient.nii.gz", "liver": [1, 2, 11], "tumors": [{"label": 11, "name": "T"}],
                    **anatomy},
        "probes": [{"tip": [5, 0, 10], "direction": [0, 0, 1], "active_length": "20 mm",
                    "thermal": {"wall": "temperature",
                                "temperature_schedule": [["0 s", "37 degC"], ["5 s", "95 degC"]]}}],
        "time": {"duration": "60 s", "step": "10 s", "refine": False, "output_interval": "60 s"},
        "grid": {"spacing": "2 mm", "max_spacing": "4 mm", "fine_margin": "4 mm"},
        "domain": {"size": "56 mm", "center": [0, 0, 0]},
        "coverage": {"points": 2000, "margin_points": 2000, "surface_points": 500},
    }
    return table


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------------- the phantom
def test_phantom_in_meshes_has_label_map_surfaces_centrelines_and_readme():
    labels = read_label_map(MESHES / "liver_phantom.nii.gz")
    assert np.allclose(labels.spacing, 1e-3)
    table = json.loads((MESHES / "labels.json").read_text())
    liver = labels.count([1, 2, 3, 11, 12, 13, 14]) - np.count_nonzero(
        (labels.labels == 2) & ~np.isin(labels.labels, [1]) & False)
    volume_l = labels.region([1, 2, 3, 11, 12, 13, 14], "liver").volume * 1e3
    assert 1.4 <= volume_l <= 1.8, volume_l
    assert liver > 0
    for value in (2, 3, 11, 12, 13, 14):
        assert labels.count([value]) > 0, value
    trees = read_centerlines(MESHES / "vessel_centerlines.csv")
    trunks = {t.name: 2e3 * t.radii[0] for t in trees}
    assert all(12.0 <= d <= 15.0 for d in trunks.values()), trunks
    smallest = min(2e3 * t.radii.min() for t in trees)
    assert smallest < 2.0 and table["label_map_min_diameter_mm"] == 2.0
    assert table["murray_max_relative_error"] < 1e-9
    for name in ("liver", "tumor_1", "tumor_2", "tumor_3", "tumor_4"):
        assert read_surface(MESHES / f"{name}.stl").n_open_edges == 0
    readme = (MESHES / "README.md").read_text()
    assert "RAS" in readme and "make_phantom.py" in readme and "| 11 |" in readme


def test_frog_tissue_label_map_from_pyvista_imports(tmp_path):
    """A real segmentation shipped for offline use: PyVista's frog tissues (1 x 1 x 1.5 mm voxels);
    the liver label (10) and the spleen (14) as a tumour of any shape, cropped and written as NIfTI."""
    examples = pytest.importorskip("pyvista.examples")
    frog = examples.load_frog_tissues()
    data = np.asarray(frog.active_scalars).reshape(frog.dimensions, order="F")
    where = np.nonzero(data == 10)
    lo = [max(int(w.min()) - 5, 0) for w in where]
    hi = [int(w.max()) + 6 for w in where]
    crop = data[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    write_nifti(tmp_path / "frog.nii.gz", crop, frog.spacing, (0.0, 0.0, 0.0))
    volume = read_label_map(tmp_path / "frog.nii.gz")
    liver = volume.region([10], "frog liver")
    assert liver.volume * 1e9 == pytest.approx(np.count_nonzero(crop == 10) * 1.5)
    assert np.allclose(volume.spacing * 1e3, [1.0, 1.0, 1.5])


# ----------------------------------------------------------------------------------- readers
def test_nrrd_and_nifti_give_the_same_volume_and_frame(tmp_path):
    labels = small_patient(tmp_path)
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = -29.5
    write_nrrd(tmp_path / "patient.nrrd", labels, affine)
    a = read_label_map(tmp_path / "patient.nii.gz")
    b = read_label_map(tmp_path / "patient.nrrd")
    assert a.same_grid(b) == ""
    assert np.array_equal(a.labels, b.labels)


def test_label_tumour_and_vessel_in_a_loaded_scenario(tmp_path):
    small_patient(tmp_path)
    table = scenario_table(vessels=[{"label": 2, "name": "vein"}])
    scenario = scenario_from_dict(table, source=str(tmp_path / "s.toml"))
    tumour = scenario.tumors[-1]
    assert tumour.shape == "label" and tumour.name == "T"
    np.testing.assert_allclose(np.asarray(tumour.center) * 1e3, [5.0, 0.0, 0.0], atol=0.1)
    resolved = scenario.anatomy.resolved
    assert resolved.tumor_shapes[0].volume * 1e9 == pytest.approx(np.count_nonzero(
        read_label_map(tmp_path / "patient.nii.gz").labels == 11))
    assert resolved.notes == ()          # the probe enters along z and crosses no vessel


# ----------------------------------------------------------------------------------- convergence
def test_coverage_and_margin_of_voxelised_sphere_converge_to_exact():
    """A 16 mm sphere tumour voxelised at 2, 1, 0.5 mm (two lattice offsets) against an exact 20 mm
    spherical zone 4 mm off-centre: coverage -> lens volume / tumour volume, MAM -> R_L - d - R_T =
    -2 mm. Observed orders (measured): coverage about 2, MAM 1.0 (the distance field's zero level is
    on the voxel faces)."""
    rt, rl, d = 8e-3, 10e-3, 4e-3
    lens = np.pi * (rl + rt - d) ** 2 * (d * d + 2 * d * rt - 3 * rt * rt + 2 * d * rl + 6 * rt * rl - 3 * rl * rl) / (12 * d)
    exact_coverage, exact_mam = lens / (4 / 3 * np.pi * rt ** 3), (rl - d - rt) * 1e3
    centre = np.array([d, 0.0, 0.0])
    inside = lambda p: np.linalg.norm(p - centre[:, None], axis=0) <= rl
    distance = lambda p: rl - np.linalg.norm(p - centre[:, None], axis=0)
    tumour = Ellipsoid.sphere("t", np.zeros(3), rt)
    errors = []
    for h in (2e-3, 1e-3, 0.5e-3):
        e = []
        for offset in ((0.13, 0.29, 0.41), (0.37, 0.11, 0.23)):
            mask = VoxelMask.from_shape(tumour, h, offset=np.array(offset) * h, reach=3e-3)
            m = tumor_metrics(tumor_points(mask, 3e-3, 131072, 2048, 4000), inside, distance, margins=(2e-3,))
            e.append((abs(m["coverage"] - exact_coverage), abs(m["min_margin_mm"] - exact_mam)))
        errors.append(np.mean(e, axis=0))
    errors = np.array(errors)
    orders = np.log2(errors[:-1] / errors[1:])
    assert errors[-1, 0] < 1.5e-3 and errors[-1, 1] < 0.25
    assert np.all(orders[:, 1] > 0.85) and np.all(orders[:, 1] < 1.2), orders
    assert np.mean(orders[:, 0]) > 1.3, orders


# ----------------------------------------------------------------------------------- zone comparison
def test_zone_agreement_of_offset_spheres_matches_closed_forms():
    r, d, h = 10e-3, 4e-3, 0.5e-3
    n = 64
    axis = (np.arange(n) - n / 2 + 0.5) * h
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    a = (x + d / 2) ** 2 + y ** 2 + z ** 2 <= r ** 2
    b = (x - d / 2) ** 2 + y ** 2 + z ** 2 <= r ** 2
    agreement = zone_agreement(a, b, h, surface_count=6000, reach=6e-3)
    assert agreement.dice == pytest.approx(sphere_pair_dice(r, d), abs=0.005)
    assert agreement.hausdorff_distance_mm == pytest.approx(d * 1e3, abs=0.15)
    # the closed form is d / 2 = 2 mm; the voxel distance field's bias is a fraction of a voxel
    # (measured -0.11 mm at 0.5 mm voxels)
    assert sphere_pair_mean_distance(r, d) == pytest.approx(d / 2, rel=1e-6)
    assert agreement.mean_surface_distance_mm == pytest.approx(sphere_pair_mean_distance(r, d) * 1e3, abs=0.125)
    assert abs(agreement.volume_difference_percent) < 0.5


def test_compare_zone_command_and_its_refusals(tmp_path, capsys):
    n = 40
    axis = np.arange(n) + 0.5
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    write_nifti(tmp_path / "pred.nii.gz", (x - 18) ** 2 + (y - 20) ** 2 + (z - 20) ** 2 <= 100, origin=(0, 0, 0))
    write_nifti(tmp_path / "meas.nii.gz", (x - 22) ** 2 + (y - 20) ** 2 + (z - 20) ** 2 <= 100, origin=(0, 0, 0))
    code, out, _ = run_cli(capsys, "compare-zone", str(tmp_path / "pred.nii.gz"), str(tmp_path / "meas.nii.gz"))
    assert code == 0
    record = json.loads(out)
    assert record["dice"] == pytest.approx(sphere_pair_dice(10, 4), abs=0.02)
    write_nifti(tmp_path / "coarse.nii.gz", np.ones((20, 20, 20)), spacing=(2, 2, 2), origin=(0, 0, 0))
    code, _, err = run_cli(capsys, "compare-zone", str(tmp_path / "pred.nii.gz"), str(tmp_path / "coarse.nii.gz"))
    assert code == 2 and "coarse.nii.gz" in err and "same grid" in err and "Traceback" not in err


# ----------------------------------------------------------------------------------- vessel walls
def test_wall_correlation_limits_and_murray_flow():
    assert hausen_nusselt(0.0) == pytest.approx(3.66)
    # large Graetz numbers: Nu grows like Gz^(1/3) (0.0668 / 0.04 Gz^(1/3))
    assert hausen_nusselt(1e9) == pytest.approx(3.66 + 0.0668 / 0.04 * 1e3, rel=1e-3)
    # Murray flow at 0.2 Pa through a 14 mm trunk: Q = pi r^3 tau / (4 mu) = about 1 L/min
    assert murray_flow(7e-3) * 6e7 == pytest.approx(np.pi * 7e-3 ** 3 * 0.2 / (4 * 3.5e-3) * 6e7)
    assert 0.8 < murray_flow(7e-3) * 6e7 / 1000 < 1.2
    h = wall_heat_transfer_coefficient([3e-3, 14e-3], murray_flow([1.5e-3, 7e-3]), 1050.0, 3617.0)
    assert np.all((h > 500) & (h < 2000)), h
    # a thin, slow vessel warms up: its wall passes at most the blood's heat capacity rate per area
    q = murray_flow(0.5e-3)
    capacity_per_area = 1050.0 * 3617.0 * q / (np.pi * 1e-3 * 0.03)
    assert wall_heat_transfer_coefficient(1e-3, q, 1050.0, 3617.0) == pytest.approx(capacity_per_area, rel=0.01)
    with pytest.raises(ValueError):
        wall_heat_transfer_coefficient(3e-3, 0.0, 1050.0, 3617.0)


# ----------------------------------------------------------------------------------- trajectories
def test_trajectory_without_entry_is_refused_and_vessel_crossing_warned(tmp_path):
    small_patient(tmp_path)
    table = scenario_table(vessels=[{"label": 2, "name": "vein"}])
    table["probes"][0].update(tip=[-12, 0, -10], direction=[0, 0, -1])     # back through the 4 mm vein
    scenario = scenario_from_dict(table, source=str(tmp_path / "s.toml"))
    assert any("crosses vein" in note for note in scenario.anatomy.resolved.notes)
    # a liver filling the image: no way in from outside
    n = 30
    write_nifti(tmp_path / "full.nii.gz", np.ones((n, n, n)), origin=(-14.5, -14.5, -14.5))
    full = scenario_table()
    full["anatomy"] = {"label_map": "full.nii.gz", "liver": [1]}
    full["probes"][0].update(tip=[0, 0, 5])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(full, source=str(tmp_path / "s.toml"))
    assert "never leaves the liver" in str(info.value)


# ----------------------------------------------------------------------------------- end to end
def test_small_patient_runs_and_exports_lesion_in_the_input_frame(tmp_path, capsys):
    import ablation
    small_patient(tmp_path, spacing=1.0)
    table = scenario_table(vessels=[{"label": 2, "name": "vein"}])
    table["grid"] = {"spacing": "1 mm", "max_spacing": "4 mm", "fine_margin": "3 mm"}
    table["time"] = {"duration": "240 s", "step": "10 s", "refine": False, "output_interval": "240 s"}
    table["tissue"] = {"perfusion": "0.001 1/s"}             # a zone of a few mL in 4 minutes
    table["probes"][0].update(diameter="2.5 mm")
    scenario = scenario_from_dict(table, source=str(tmp_path / "s.toml"))
    result = ablation.simulate(scenario, zone_uncertainty=False)
    entry = result.summary["tumors"][0]
    assert entry["name"] == "T" and 0.0 < entry["coverage"] <= 1.0
    walls = result.summary["anatomy"]["vessels"]
    assert walls and walls[0]["h_W_m2K"][0] > 0
    assert result.summary["anatomy"]["cells_outside_liver"] > 0
    out = ablation.write(result, tmp_path / "out", scene=False, report=False)
    lesion = nib.load(str(out / "lesion.nii.gz"))
    source = nib.load(str(tmp_path / "patient.nii.gz"))
    np.testing.assert_allclose(lesion.affine, source.affine)
    assert lesion.shape == source.shape
    voxels_ml = np.count_nonzero(np.asarray(lesion.dataobj)) * 1e-3
    assert voxels_ml == pytest.approx(result.summary["lesion"]["volume_ml"], rel=0.03)
    shells = np.asarray(nib.load(str(out / "tumors_margins.nii.gz")).dataobj)
    assert {1, 101, 201} <= set(np.unique(shells).tolist())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["anatomy"]["exports"]["files"]["lesion.nii.gz"] == result.summary["lesion"]["criterion"]
    # the folder reloads on its own: the anatomy files are copied next to scenario.toml
    assert (out / "anatomy" / "patient.nii.gz").exists()
    assert ablation.load_result(out).domain.n_cells == result.domain.n_cells
    # compare-zone reads the folder's lesion map only while the folder is one run's (as view and report)
    measured = tmp_path / "measured.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(lesion.dataobj).astype(np.int16), lesion.affine), str(measured))
    assert main(["compare-zone", str(out), str(measured)]) == 0
    nib.save(nib.Nifti1Image(np.zeros(lesion.shape, np.int16) + 1, lesion.affine), str(out / "lesion.nii.gz"))
    assert main(["compare-zone", str(out), str(measured)]) == 2
    assert "lesion.nii.gz: differs from the manifest of summary.json" in capsys.readouterr().err


# ----------------------------------------------------------------------------------- bad input
def _validate(tmp_path, capsys, table):
    path = tmp_path / "s.toml"
    import tomli_w
    path.write_text(tomli_w.dumps(table))
    return run_cli(capsys, "validate", str(path))


def test_bad_anatomy_input_exits_2_naming_the_file_or_label(tmp_path, capsys):
    small_patient(tmp_path)
    cases = []
    # a missing label: the label table does not name the liver
    t = scenario_table()
    del t["anatomy"]["liver"]
    cases.append((t, "anatomy.liver"))
    # an empty tumour label
    t = scenario_table()
    t["anatomy"]["tumors"] = [{"label": 15}]
    cases.append((t, "label(s) 15 hold no voxel in patient.nii.gz"))
    # one label in two roles, or twice; a tumour outside the liver's labels (it would be surroundings)
    cases.append((scenario_table(vessels=[{"label": 11}]),
                  "anatomy.vessels[0].label: label 11 is already anatomy.tumors[0].label; expected each label once"))
    cases.append((scenario_table(vessels=[{"label": 2}, {"label": 2}]),
                  "anatomy.vessels[1].label: label 2 is already anatomy.vessels[0].label"))
    cases.append((scenario_table(liver=[1, 2]), "anatomy.tumors[0].label: label 11 is not among anatomy.liver [1, 2]"))
    # s33 fuzz: a label listed twice in the liver was accepted
    cases.append((scenario_table(liver=[1, 1, 2, 11]), "anatomy.liver: [1, 1, 2, 11] names label 1 more than once"))
    label_tumour = {"shape": "label", "label": 11, "center": [0, 0, 0]}
    t = scenario_table()
    t["tumors"] = [dict(label_tumour, name="again")]
    cases.append((t, "tumors[0].label: label 11 is already anatomy.tumors[0].label"))
    t = scenario_table(tumors=[])
    t["tumors"] = [dict(label_tumour, name="a"), dict(label_tumour, name="b")]
    cases.append((t, "tumors[1].label: label 11 is already tumors[0].label"))
    # the vessel's label listed as a tumour while the vessels come from centre lines (the label map
    # alone does not say which label is a vessel): refused, as [anatomy] tumour and as [[tumors]] entry
    (tmp_path / "tube.csv").write_text("x0_mm,y0_mm,z0_mm,x1_mm,y1_mm,z1_mm,radius_mm\n-12,-30,0,-12,30,0,2\n")
    cases.append((scenario_table(tumors=[{"label": 2}], centerlines="tube.csv"),
                  "anatomy.tumors[0].label: label 2: 100 % of its volume lies inside the vessels of "
                  "anatomy.centerlines tube.csv"))
    t = scenario_table(tumors=[], centerlines="tube.csv")
    t["tumors"] = [dict(label_tumour, label=2, name="vein")]
    cases.append((t, "tumors[0].label: label 2: 100 % of its volume lies inside the vessels"))
    import pyvista as pv
    pv.Cylinder(center=(-12, 0, 0), direction=(0, 1, 0), radius=2, height=50).triangulate().save(tmp_path / "tube.stl")
    cases.append((scenario_table(tumors=[], tumor_surfaces=[{"file": "tube.stl"}], centerlines="tube.csv"),
                  "anatomy.tumor_surfaces[0].file: tube.stl: 100 % of its volume lies inside the vessels of "
                  "anatomy.centerlines tube.csv"))
    # the parenchyma's label as a tumour (refused only for the memory it needed, naming grid.spacing),
    # and one surface listed as two tumours (it counted twice in every probability)
    cases.append((scenario_table(tumors=[{"label": 1, "name": "whole"}]),
                  "anatomy.tumors[0].label: label 1: "))
    cases.append((scenario_table(tumors=[{"label": 1, "name": "whole"}]), "of the liver's"))
    pv.Sphere(radius=4, center=(5, 0, 0)).save(tmp_path / "ball.stl")
    cases.append((scenario_table(tumors=[], tumor_surfaces=[{"file": "ball.stl", "name": "A"},
                                                            {"file": "ball.stl", "name": "B"}]),
                  "anatomy.tumor_surfaces[1].file: ball.stl: 100 % of it lies inside ball.stl "
                  "(anatomy.tumor_surfaces[0].file)"))
    # mismatched spacing: a tumour map at 2 mm on a 1 mm label map
    write_nifti(tmp_path / "tumours_2mm.nii.gz", np.zeros((30, 30, 30)), spacing=(2, 2, 2))
    t = scenario_table(tumor_label_map="tumours_2mm.nii.gz")
    cases.append((t, "tumours_2mm.nii.gz: its grid does not match"))
    # mismatched orientation
    affine = np.diag([-1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = 29.5
    nib.save(nib.Nifti1Image(np.zeros((60, 60, 60), np.uint8), affine), str(tmp_path / "flipped.nii.gz"))
    t = scenario_table(tumor_label_map="flipped.nii.gz")
    cases.append((t, "orientation"))
    # a non-closed surface
    pv.Sphere(radius=5).clip(normal="z").save(tmp_path / "open.stl")
    t = scenario_table(tumor_surfaces=[{"file": "open.stl"}])
    cases.append((t, "open.stl: the surface is not closed"))
    # a surface a kilometre away (metres written as mm): named, before the grid's memory estimate
    pv.Sphere(radius=5, center=(1e6, 0, 0)).save(tmp_path / "far.stl")
    cases.append((scenario_table(tumor_surfaces=[{"file": "far.stl"}]),
                  "far.stl: a point lies 1e+06 mm from the origin along an axis; expected every point within "
                  "+-10000 mm"))
    # a centre line without radius
    (tmp_path / "lines.csv").write_text("x0_mm,y0_mm,z0_mm,x1_mm,y1_mm,z1_mm,radius_mm\n0,0,0,0,0,10,1.5\n"
                                        "0,0,10,0,5,20,\n")
    t = scenario_table(centerlines="lines.csv")
    cases.append((t, "lines.csv: line 3: the segment has no radius"))
    # a column appended to a CRLF file by a Unix tool leaves a bare CR inside the header (was a traceback)
    (tmp_path / "crlf.csv").write_bytes(b"x0_mm,y0_mm,z0_mm,x1_mm,y1_mm,z1_mm,radius_mm\r,flow_ml_min\n"
                                        b"0,0,0,0,0,10,1.5\r,20\n")
    cases.append((scenario_table(centerlines="crlf.csv"), "crlf.csv: line 2: the segment has no radius"))
    # centre-line values beyond any vessel: a 2 km radius, a point 1e9 m away, more than the cardiac output
    for name, row, expected in (
            ("radius", "0,0,0,0,0,10,1e6", "radius 1e+06 mm is out of range; expected 0.01 to 25 mm"),
            ("far", "1e12,0,0,0,0,10,1.5", "start point [1e+12, 0, 0] mm is not a finite point within +-10000 mm"),
            ("flow", "0,0,0,0,0,10,1.5,1e6", "column 'flow_ml_min': 1e6 mL/min is out of range")):
        (tmp_path / f"{name}.csv").write_text("x0_mm,y0_mm,z0_mm,x1_mm,y1_mm,z1_mm,radius_mm,flow_ml_min\n" + row + "\n")
        cases.append((scenario_table(centerlines=f"{name}.csv"), f"{name}.csv: line 2" + (": " if name != "flow" else ", ")
                      + expected))
    # s33 fuzz: a parent cycle, a repeated id and a parent no segment has were accepted
    header = "tree,id,parent,x0_mm,y0_mm,z0_mm,x1_mm,y1_mm,z1_mm,radius_mm\n"
    for name, rows, expected in (
            ("cycle", "t,0,1,0,0,0,0,0,10,1.5\nt,1,0,0,0,10,0,5,20,1.5\n",
             "cycle.csv: line 2, column 'parent': following the parents from id 0 returns to id 0 (a cycle)"),
            ("twice", "t,0,-1,0,0,0,0,0,10,1.5\nt,0,0,0,0,10,0,5,20,1.5\n",
             "twice.csv: line 3, column 'id': 0 is already the id of line 2"),
            ("orphan", "t,0,-1,0,0,0,0,0,10,1.5\nt,1,7,0,0,10,0,5,20,1.5\n",
             "orphan.csv: line 3, column 'parent': 7 is no segment's id in tree 't'")):
        (tmp_path / f"{name}.csv").write_text(header + rows)
        cases.append((scenario_table(centerlines=f"{name}.csv"), expected))
    lines = pv.PolyData(np.array([[0.0, 0.0, 0.0], [np.inf, 0.0, 10.0]]), lines=[2, 0, 1])
    lines.point_data["radius_mm"] = np.array([1.5, 1.5])
    lines.save(tmp_path / "inf.vtp")
    cases.append((scenario_table(centerlines="inf.vtp"), "end point [inf, 0, 10] mm is not a finite point"))
    # a corrupt file
    (tmp_path / "broken.nii.gz").write_bytes(b"\x1f\x8b\x08\x00not really gzip" * 10)
    t = scenario_table()
    t["anatomy"]["label_map"] = "broken.nii.gz"
    cases.append((t, "broken.nii.gz: cannot be read as NIfTI"))
    for table, expected in cases:
        code, out, err = _validate(tmp_path, capsys, table)
        assert code == 2, (expected, out, err)
        assert expected in err, (expected, err)
        assert "Traceback" not in err


def test_phantom_vessel_labels_are_not_tumours_beside_its_centre_lines():
    """The phantom's vein labels lie wholly inside its centre-line vessels, its tumours mostly not
    (thin branches cross them), so a vein label listed as a tumour is refused and T1-T4 are not."""
    from ablation.anatomy.loading import lumen_problem
    labels = read_label_map(MESHES / "liver_phantom.nii.gz")
    trees = read_centerlines(MESHES / "vessel_centerlines.csv")
    for vein in (2, 3):
        problem = lumen_problem(labels.region([vein], "vein"), f"label {vein}", trees, "c.csv")
        assert f"label {vein}: 100 % of its volume lies inside the vessels" in problem
    for tumour in (11, 12, 13, 14):
        assert lumen_problem(labels.region([tumour], "T"), f"label {tumour}", trees, "c.csv") is None
    assert lumen_problem(labels.region([3], "vein"), "label 3", (), None) is None   # no centre lines: nothing to compare
    # the k-d tree search gives what testing every voxel against every capsule gives
    from ablation.anatomy.loading import _lumen_fraction
    points = labels.voxel_centres(np.argwhere(labels.labels == 13).T)
    tolerance = 0.5 * float(np.linalg.norm(labels.spacing))
    brute = np.any([tree.contains(points, tolerance) for tree in trees], axis=0).mean()
    assert _lumen_fraction(points, tolerance, trees) == pytest.approx(brute, abs=1e-12)
    region = labels.region([13], "T3")      # the tumour's shape, as lumen_problem reads it
    assert _lumen_fraction(region.to_world(np.argwhere(region.mask).T), tolerance, trees) == pytest.approx(brute)
    assert 0.2 < brute < 0.3


def test_centre_line_limits_are_the_scenarios():
    from ablation.anatomy import centerlines, files
    from ablation.input import plausibility
    assert files.MAX_COORDINATE_M == plausibility.MAX_COORDINATE_M
    assert centerlines.MIN_RADIUS_M == plausibility.MIN_LENGTH[0]


def test_surface_liver_and_tumour_are_voxelised_to_their_volume(tmp_path):
    """Closed STL surfaces instead of labels: a 26 mm liver ball and a 6 mm tumour ball (mm, the
    scenario frame), voxelised at 0.5 mm: volumes within 2 % of the polyhedra's."""
    import pyvista as pv
    liver = pv.Sphere(radius=26, theta_resolution=60, phi_resolution=60)
    tumour = pv.Sphere(radius=6, center=(5, 0, 0), theta_resolution=40, phi_resolution=40)
    liver.save(tmp_path / "liver.stl")
    tumour.save(tmp_path / "tumour.stl")
    table = scenario_table()
    table["anatomy"] = {"liver_surface": "liver.stl", "tumor_surfaces": [{"file": "tumour.stl", "name": "S"}]}
    scenario = scenario_from_dict(table, source=str(tmp_path / "s.toml"))
    resolved = scenario.anatomy.resolved
    assert resolved.organ.volume * 1e9 == pytest.approx(liver.volume, rel=0.02)
    assert resolved.tumor_shapes[0].volume * 1e9 == pytest.approx(tumour.volume, rel=0.02)
    assert scenario.tumors[0].name == "S"


def test_surfaces_beyond_the_voxel_limit_and_nrrd_without_three_axes_are_refused(tmp_path):
    """s24 audit: a 1 km surface (metres read as mm) and 1 um voxels tried to allocate EiB and TiB; an
    NRRD with a 'none' space direction raised a broadcasting ValueError. Each is a named error."""
    import pyvista as pv
    small_patient(tmp_path)
    pv.Sphere(radius=6, center=(5, 0, 0)).save(tmp_path / "tumour.stl")
    table = scenario_table()
    table["anatomy"] = {**table["anatomy"], "tumor_surfaces": [{"file": "tumour.stl"}], "surface_voxel": "0.01 mm"}
    with pytest.raises(ScenarioError, match=r"anatomy.tumor_surfaces\[0\].file: .* needs \d.\d+e\+09 voxels; "
                                            r"expected at most 4e\+08"):
        scenario_from_dict(table, source=str(tmp_path / "s.toml"))
    (tmp_path / "none.nrrd").write_bytes(b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 2\n"
                                         b"space directions: none (1,0,0) (0,1,0)\nencoding: raw\n\n" + bytes(8))
    with pytest.raises(AnatomyError, match="expected three 3-D direction vectors"):
        read_label_map(tmp_path / "none.nrrd")


def test_empty_liver_labels_and_a_probe_outside_the_image_are_refused(tmp_path, capsys):
    """s22 audit: `liver = []` gave a ValueError traceback; a probe far outside the label map was valid
    (a domain from the liver to the probe). Both exit 2 naming the field and the value."""
    small_patient(tmp_path)
    t = scenario_table()
    t["anatomy"]["liver"] = []
    code, out, err = _validate(tmp_path, capsys, t)
    assert code == 2 and "anatomy.liver: [] has 0 entries; expected at least 1" in err and "Traceback" not in err
    t = scenario_table()
    t["probes"][0]["tip"] = [400, 400, 400]
    del t["domain"]
    code, out, err = _validate(tmp_path, capsys, t)
    assert code == 2 and "probes[0].tip: [400.0, 400.0, 400.0] mm lies outside the anatomy's image" in err
    assert "[-30.0, -30.0, -30.0] mm to [30.0, 30.0, 30.0] mm" in err
    # inside the image but 24 mm outside the liver (a corner of the cube): refused; 2 mm outside it warns
    for tip, refused in (([29, 29, 29], True), ([0, 0, 28], False)):
        t = scenario_table()
        t["probes"][0]["tip"] = tip
        del t["domain"]
        code, out, err = _validate(tmp_path, capsys, t)
        assert (code == 2 and "lies more than 20 mm outside the liver" in err) == refused, err


def test_label_maps_with_a_zero_or_absurd_voxel_size_are_refused(tmp_path):
    """s41: a pixdim of 0 was read as 1 mm (nibabel's fix, shown only as a printed warning) and one of
    1e30 mm gave a zone of 5.6e30 mL. Both name the file and the voxel size."""
    import nibabel as nib
    labels = np.zeros((8, 8, 8), np.uint8)
    labels[2:6, 2:6, 2:6] = 1
    zero = nib.Nifti1Image(labels, np.eye(4))
    zero.header["pixdim"][1:4] = (0.0, 1.0, 1.0)
    nib.save(zero, tmp_path / "zero.nii.gz")
    with pytest.raises(AnatomyError, match=r"zero.nii.gz: its header gives voxel sizes \(pixdim\) \[0.0, 1.0, 1.0\]"):
        read_label_map(tmp_path / "zero.nii.gz")
    nib.save(nib.Nifti1Image(labels, np.diag([1e30, 1.0, 1.0, 1.0])), tmp_path / "huge.nii.gz")
    with pytest.raises(AnatomyError, match=r"huge.nii.gz: voxel size \[1e\+30, 1.0, 1.0\] mm; expected 0.01-20 mm"):
        read_label_map(tmp_path / "huge.nii.gz")
    nib.save(nib.Nifti1Image(labels, np.diag([0.7, 0.7, 2.5, 1.0])), tmp_path / "ct.nii.gz")
    assert read_label_map(tmp_path / "ct.nii.gz").labels.sum() == 64


def test_an_analytic_tumour_outside_the_liver_is_refused(tmp_path, capsys):
    """s41: a sphere tumour in the label map's background validated (label tumours there were refused).
    Wholly outside the liver (a ball of 26 mm): refused; across its surface: valid."""
    small_patient(tmp_path)
    for center, refused in (([0, 25, 25], True), ([0, 0, 24], False)):
        t = scenario_table()
        t["tumors"] = [{"name": "extra", "center": center, "diameter": "6 mm"}]
        code, out, err = _validate(tmp_path, capsys, t)
        assert (code == 2 and f"tumors[0].center: {[float(c) for c in center]} mm: the tumour lies wholly outside "
                "the liver" in err) == refused, err
        assert "Traceback" not in err


def test_a_corrupt_surface_gives_one_message_without_vtks_own_output(tmp_path):
    """VTK's reader printed an object dump, a logged error and a Python warning before the message
    naming the file (a process of its own: pytest would capture the logging and the warning)."""
    import subprocess
    import sys
    (tmp_path / "garbage.stl").write_text("garbage")
    code = ("import sys\nfrom ablation.anatomy.errors import AnatomyError\nfrom ablation.anatomy.surfaces import "
            "read_surface\ntry:\n    read_surface(sys.argv[1])\nexcept AnatomyError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "garbage.stl")], capture_output=True, text=True)
    assert "garbage.stl: holds no triangles" in done.stdout
    assert done.stderr == ""

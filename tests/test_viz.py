"""Pictures, field export, plots and the report (issue 6).

One coarse axisymmetric run of the generic thermal probe goes through ``ablation run`` (scene,
fields, surfaces, plots, report); the tests then check what it wrote against independent numbers:
pixel colours of scene.png, grid coordinates and arrays read back with pyvista.read, revolved and
surface volumes against the grid's own volume and closed forms, the local margin against the exact
distance between spheres, and report.html as rendered by headless Chromium.
"""
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from ablation import cli
from ablation.output import scene as viz
from ablation.run.setup import scenario_domain as build_domain
from ablation.input.scenario import load_scenario

pv = pytest.importorskip("pyvista")

SCENARIO = """
# the first version's zone model: these tests need a zone that covers part of the tumour
model = "library-2026.11"
name = "viz-test"
description = "Coarse generic thermal probe with an on-axis tumour (viz tests)."
modality = "thermal"
[tissue]
preset = "liver"
[[tumors]]
name = "metastasis"
center = [0, 0, -10]
diameter = "20 mm"
[[tumors]]
name = "satellite"
center = [0, 0, 9]
diameter = "6 mm"
[[probes]]
name = "probe"
tip = [0, 0, 0]
direction = [0, 0, 1]
diameter = "1.5 mm"
active_length = "20 mm"
[probes.thermal]
wall = "temperature"
temperature_schedule = [["0 s", "37 degC"], ["30 s", "90 degC"], ["10 min", "90 degC"]]
[domain]
size = "60 mm"
[grid]
spacing = "1 mm"
max_spacing = "4 mm"
fine_margin = "6 mm"
[time]
duration = "6 min"
step = "10 s"
output_interval = "2 min"
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("viz")
    path = root / "viz_test.toml"
    path.write_text(SCENARIO)
    out = root / "result"
    assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def loaded(run_dir):
    from ablation.output.reading import load_result
    return load_result(run_dir)


def _summary(name: str, criterion: str):
    """A typed summary with made-up values, for pictures that need only names and the criterion."""
    from ablation.run.summary import (EnergyBalance, GridSummary, LesionSize, LesionSummary, ScenarioLabel,
                                      Summary, TimeSummary)
    lesion = LesionSummary(criterion, "test lesion", LesionSize(1.0, 10.0, 8.0, 8.0, 0.8))
    return Summary(1, ScenarioLabel(name, ""), "thermal", GridSummary("3d", 8, (2, 2, 2), 1.0, 1.0, 0),
                   TimeSummary(1.0, 1.0, 1), 0.0, 1, 0.0, EnergyBalance(0.0, 0.0, 0.0, 0.0, 0.0), 0.0, 37.0, 37.0,
                   lesion, {criterion: lesion}, {}, {}, {})


def _hsv(image):
    import matplotlib.colors as mc
    return mc.rgb_to_hsv(np.asarray(image)[..., :3] / 255.0)


# ------------------------------------------------------------------------------- the scene
def test_scene_png_is_not_blank_and_shows_tumour_and_lesion_colours(run_dir, loaded):
    from PIL import Image
    image = np.asarray(Image.open(run_dir / "scene.png").convert("RGB"))
    assert image.shape[0] >= 600 and image.shape[1] >= 1200
    assert image.std() > 20.0                                   # not a blank canvas
    hsv = _hsv(image)
    h, s, v = hsv[..., 0] * 360.0, hsv[..., 1], hsv[..., 2]
    reds = (s > 0.25) & (v > 0.2) & ((h < 25) | (h > 335))      # uncovered tumour (RdBu low end)
    blues = (s > 0.2) & (v > 0.2) & (h > 190) & (h < 230)       # covered tumour (RdBu high end)
    yellows = (s > 0.45) & (v > 0.6) & (h > 45) & (h < 65)      # lesion (Okabe-Ito yellow)
    frac = lambda m: m.mean()                                    # noqa: E731
    # the coarse run leaves the 20 mm tumour partly uncovered: both ends of the margin map show
    summary = json.loads((run_dir / "summary.json").read_text())
    parts = viz.scene_parts(loaded)
    assert 0.05 < parts.tumors[0].uncovered_fraction < 0.95
    assert frac(reds) > 0.01, "no uncovered-tumour (red) pixels"
    assert frac(blues) > 0.002, "no covered-tumour (blue) pixels"
    assert frac(yellows) > 0.002, "no lesion (yellow) pixels"
    # the left half (3-D view) holds the tumour, the right half (section) the lesion outline
    half = image.shape[1] // 2
    assert reds[:, :half].sum() > 10 * reds[:, half:].sum()
    assert yellows[:, half:].sum() > 0
    assert summary["lesion"]["volume_ml"] > 0
    # two tumours: a close-up of each, framed differently from the overview
    closeups = [np.asarray(Image.open(run_dir / f"scene_tumor_{i}.png").convert("RGB")) for i in (1, 2)]
    assert all(c.shape == image.shape for c in closeups)
    assert np.abs(closeups[0].astype(int) - closeups[1].astype(int)).mean() > 5


def test_local_margin_equals_the_exact_distance_between_spheres(loaded):
    """A spherical 'lesion' (level = R - |x - c|, exact distance) around a sphere tumour: the local
    margin on the tumour surface is R - |x - c_lesion| exactly; the isosurface of the interpolated
    field and the sign from the level field must reproduce it to well below a cell (1 mm)."""
    domain = loaded.domain
    c_lesion = np.array([0.0, 0.0, -0.012])
    radius = 0.0115
    pts = domain.world_points()
    level = radius - np.linalg.norm(pts - c_lesion[:, None], axis=0)
    lesion = viz.level_surface(domain, level)
    tumor = domain.tumors[0]                                     # 10 mm radius at z = -10 mm
    surface = viz.tumor_surface(tumor)
    margin = viz.local_margin(domain, level, lesion, surface)
    exact = (radius - np.linalg.norm(np.asarray(surface.points) / 1e3 - c_lesion, axis=1)) * 1e3
    assert np.max(np.abs(margin - exact)) < 0.08                # mm
    assert margin.min() == pytest.approx(exact.min(), abs=0.05)
    assert (margin < 0).any() and (margin > 0).any()
    # the revolved isosurface encloses the sphere's volume
    assert lesion.volume == pytest.approx(4 / 3 * np.pi * (radius * 1e3) ** 3, rel=0.01)


def test_three_d_grid_margin_and_surfaces(tmp_path):
    """The same exact-distance check on a 3-D grid (marching cubes instead of revolution), with an
    off-axis ellipsoidal tumour whose offset shell must lie 5 mm from its surface everywhere."""
    text = SCENARIO.replace('center = [0, 0, -10]\ndiameter = "20 mm"',
                            'center = [6, 2, -8]\nshape = "ellipsoid"\ndiameters = ["14 mm", "10 mm", "10 mm"]\n'
                            'axis = [1, 0, 1]')
    text = text.replace('[grid]\n', '[grid]\nkind = "3d"\n').replace('spacing = "1 mm"', 'spacing = "1.5 mm"')
    (tmp_path / "s.toml").write_text(text)
    domain = build_domain(load_scenario(tmp_path / "s.toml"))
    assert domain.kind == "3d"
    c = np.array([0.004, 0.0, -0.010])
    radius = 0.012
    level = radius - np.linalg.norm(domain.world_points() - c[:, None], axis=0)
    lesion = viz.level_surface(domain, level)
    tumor = domain.tumors[0]
    surface = viz.tumor_surface(tumor)
    margin = viz.local_margin(domain, level, lesion, surface)
    exact = (radius - np.linalg.norm(np.asarray(surface.points) / 1e3 - c, axis=1)) * 1e3
    assert np.max(np.abs(margin - exact)) < 0.15                # mm, 1.5 mm cells
    # the whole scene on the 3-D grid, with a held 'tine' region drawn from its cells
    from ablation.geometry.grid import Region
    from ablation.run.result import Result
    pts = domain.world_points()
    tine = (np.abs(pts[0] - 0.006) < 0.001) & (np.abs(pts[1]) < 0.001) & (pts[2] > -0.012) & (pts[2] < -0.002)
    domain.regions.append(Region("tine 1", "tine", 0, tine))
    temperature = 37.0 + 50.0 * np.exp(-np.linalg.norm(pts - c[:, None], axis=0) / 0.006)
    fields = {"temperature_C": temperature, "t_max_C": temperature, "omega": np.exp(1e3 * level)}
    result = Result(load_scenario(tmp_path / "s.toml"), domain, fields, [], {}, _summary("3-D", "arrhenius"))
    parts = viz.scene_parts(result)
    (name, kind, mesh), = parts.other_regions
    assert kind == "tine" and mesh.bounds[0] == pytest.approx(5.0, abs=1.6) and mesh.bounds[1] < 8.6
    sec = viz.section(parts)
    # the section through the probe axis contains the (off-axis) tumour centre
    assert abs((tumor.center * 1e3 - sec.point) @ sec.normal) < 1e-9
    image = viz.render_scene(result, parts=parts, window_size=(900, 450))
    assert image.std() > 20
    shell = viz.tumor_surface(tumor, offset_mm=5.0)
    d_shell = tumor.signed_distance(np.asarray(shell.points).T / 1e3) * 1e3
    # the ellipsoid's signed distance is first order off the surface (geometry.py): a few 0.1 mm
    assert np.median(d_shell) == pytest.approx(5.0, abs=0.3)
    _, nearest = surface.find_closest_cell(np.asarray(shell.points), return_closest_point=True)
    assert np.linalg.norm(np.asarray(shell.points) - nearest, axis=1) == pytest.approx(5.0, abs=0.05)


# ------------------------------------------------------------------------------ field files
def test_field_files_read_back_in_mm_with_unit_names(run_dir, loaded):
    domain = loaded.domain
    grid = pv.read(run_dir / "fields.vtr")
    assert np.allclose(grid.x, domain.edges[0] * 1e3) and np.allclose(grid.z, domain.edges[1] * 1e3)
    assert np.diff(grid.x).min() == pytest.approx(np.diff(domain.edges[0]).min() * 1e3)
    for name in ("temperature_C", "omega", "cem43_min", "t_max_C", "t_min_C", "time_above_50C_s"):
        assert name in grid.cell_data
    # the revolved 3-D copy: world coordinates in mm, volume of a 48-gon prism of the domain
    rev = pv.read(run_dir / "fields_3d.vts")
    half = 30.0
    assert rev.bounds[1] == pytest.approx(half, abs=1e-3) and rev.bounds[0] == pytest.approx(-half, abs=1e-3)
    assert rev.n_cells == domain.n_cells * 48
    physical = float(np.sum(domain.geometry.volumes)) * 1e9      # mm^3 (FVGeometry holds the full 2 pi volumes)
    polygon = np.sin(2 * np.pi / 48) / (2 * np.pi / 48)
    volume = float(np.sum(rev.compute_cell_sizes(length=False, area=False).cell_data["Volume"]))
    assert volume / physical == pytest.approx(polygon, rel=1e-4)
    t_max = np.asarray(grid.cell_data["t_max_C"])
    assert np.asarray(rev.cell_data["t_max_C"]).max() == pytest.approx(t_max.max(), rel=1e-6)
    # the time series: .pvd index, TimeValue in each file, final snapshot = final fields
    entries = [(float(e.get("timestep")), e.get("file")) for e in ET.parse(run_dir / "snapshots.pvd").getroot().iter("DataSet")]
    assert [t for t, _ in entries] == pytest.approx([0.0, 120.0, 240.0, 360.0])
    for t, name in entries:
        snap = pv.read(run_dir / name)
        assert snap.field_data["TimeValue"][0] == pytest.approx(t)
        assert {"temperature_C", "omega", "t_max_C"} <= set(snap.cell_data)
    last = pv.read(run_dir / entries[-1][1])
    assert np.allclose(last.cell_data["omega"], grid.cell_data["omega"])


def test_surfaces_match_the_lesion_and_tumour_volumes(run_dir, loaded):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (run_dir / "surfaces" / "tumor_2_satellite.stl").exists()
    tumor = pv.read(run_dir / "surfaces" / "tumor_1_metastasis.stl")
    assert tumor.volume == pytest.approx(4 / 3 * np.pi * 10.0 ** 3, rel=0.005)
    shell = pv.read(run_dir / "surfaces" / "tumor_1_metastasis_margin_5mm.vtp")
    centre = np.array([0.0, 0.0, -10.0])
    assert np.linalg.norm(np.asarray(shell.points) - centre, axis=1) == pytest.approx(15.0, abs=1e-4)
    assert shell.volume == pytest.approx(4 / 3 * np.pi * 15.0 ** 3, rel=0.02)   # a coarse polyhedron inside
    assert "margin_mm" in pv.read(run_dir / "surfaces" / "tumor_1_metastasis.vtp").point_data
    # lesion growth: one closed surface per snapshot with a lesion, indexed by time, volumes rising
    entries = [(float(e.get("timestep")), e.get("file")) for e in
               ET.parse(run_dir / "surfaces" / "lesion_arrhenius.pvd").getroot().iter("DataSet")]
    assert [t for t, _ in entries] == pytest.approx([120.0, 240.0, 360.0])
    volumes = [pv.read(run_dir / "surfaces" / f).volume for _, f in entries]
    assert volumes == sorted(volumes) and volumes[0] > 0
    for name, lesion in summary["lesion_by_criterion"].items():
        surface = pv.read(run_dir / "surfaces" / f"lesion_{name.replace(':', '_')}.stl")
        # the isosurface of the interpolated field against the sum of whole lesion cells: two
        # independent volumes; they differ by the sub-cell boundary (1 mm cells here, up to 6 %
        # for the thin 60 degC zone)
        assert surface.volume / 1e3 == pytest.approx(lesion["volume_ml"], rel=0.08), name


# ----------------------------------------------------------------------------- the commands
def test_view_rerenders_a_saved_result_at_a_time_point(run_dir, tmp_path):
    out = tmp_path / "view.png"
    assert cli.main(["view", str(run_dir), "--time", "130", "--criterion", "max_temperature:50",
                     "--camera", "side", "--out", str(out), "--size", "900x450"]) == 0
    from PIL import Image
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (450, 900, 3) and image.std() > 20
    # fresh --out paths: an existing file would be refused for that reason alone
    assert cli.main(["view", str(run_dir), "--criterion", "no_such_thing", "--out", str(tmp_path / "a.png")]) == 2
    assert cli.main(["view", str(tmp_path), "--out", str(tmp_path / "b.png")]) == 2
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()


def test_view_says_when_its_criterion_selects_no_tissue(run_dir, tmp_path, capsys):
    """A freezing criterion on a heating run draws no zone; the picture is made, and the command says
    why it is empty, with the range of the field the criterion reads."""
    assert cli.main(["view", str(run_dir), "--criterion", "min_temperature:-40",
                     "--out", str(tmp_path / "v.png"), "--size", "300x150"]) == 0
    message = capsys.readouterr().err
    assert "'min_temperature:-40' selects no tissue" in message and "t_min_C over the tissue: 37" in message
    assert (tmp_path / "v.png").exists()
    assert cli.main(["view", str(run_dir), "--out", str(tmp_path / "w.png"), "--size", "300x150"]) == 0
    assert "selects no tissue" not in capsys.readouterr().err


def test_snapshot_lesion_grows_with_time(loaded):
    from ablation.physics.damage import parse_criterion
    from ablation.output.reading import snapshot_fields
    crit = parse_criterion("arrhenius")
    volumes = []
    for t in (120.0, 240.0, 360.0):
        t_found, fields = snapshot_fields(loaded, t)
        assert t_found == pytest.approx(t)
        lesion = viz.level_surface(loaded.domain, crit.level(fields))
        volumes.append(lesion.volume)
    assert volumes[0] < volumes[1] < volumes[2]
    # the final snapshot's lesion is the run's lesion: cell sum from summary.json within 10 %
    assert volumes[-1] / 1e3 == pytest.approx(loaded.summary["lesion"]["volume_ml"], rel=0.1)


# ----------------------------------------------------------------------------------- plots
def test_plots_follow_the_data(tmp_path, run_dir):
    from ablation.output import plots
    # the showcase has a tumour and a probe: coverage and the placement Monte Carlo add their plots
    assert {p.name for p in (run_dir / "plots").iterdir()} == {"device.png", "volumes.png", "shells.png",
                                                                "placement.png"}
    t = np.linspace(0, 720, 50)
    rfa = {"time_s": t, "power_W": 100 + 0 * t, "impedance_ohm": 80 + t / 10, "voltage_V": 90 + 0 * t,
           "current_A": 1.1 + 0 * t, "tip_temperature_C": 60 + 0 * t, "max_temperature_C": 95 + 0 * t,
           "lesion_volume_ml": t / 100}
    plot = plots.plot_device(rfa, tmp_path / "d.png")
    assert plot.panels == ["power", "impedance", "voltage", "current", "temperatures"]
    cryo = {"time_s": t, "probe1_wall_C": -140 + 0 * t, "probe2_wall_C": -130 + 0 * t,
            "iceball_volume_ml": t / 50, "lethal_volume_ml": t / 80, "lesion_volume_ml": t / 80}
    assert plots.plot_device(cryo, tmp_path / "c.png").panels == ["temperatures"]
    assert set(plots.plot_volumes(cryo, tmp_path / "v.png").panels) == {"iceball_volume_ml", "lethal_volume_ml",
                                                                         "lesion_volume_ml"}
    rng = np.random.default_rng(1)
    from types import SimpleNamespace
    from ablation.run.result import PlacementSamples
    drawn = {n: PlacementSamples(rng.random(40), rng.normal(2, 3, 40), rng.random(40) > 0.5) for n in "ab"}
    samples = plots.placement_samples(SimpleNamespace(placement_samples=drawn, directory=None))
    assert set(samples) == {"a", "b"}
    assert np.array_equal(samples["b"].min_margin_mm, drawn["b"].min_margin_mm)
    assert plots.plot_placement(samples, tmp_path / "p.png").panels == ["a", "b"]
    assert plots.placement_samples(SimpleNamespace(placement_samples={}, directory=None)) == {}
    comparison = {"rows": [{"approach": "open", "p_technical_success": 0.9, "ci95": {"p_technical_success": [0.8, 0.95]}},
                           {"approach": "percutaneous", "pringle": True, "p_technical_success": 0.4}]}
    plot = plots.plot_comparison(comparison, tmp_path / "cmp.png")
    assert plot.panels == ["open", "percutaneous + Pringle"]
    shells = _summary("shells", "arrhenius")
    shells["tumors"] = [{"name": "a", "shell_coverage": {str(m): 1 - m / 10 for m in range(1, 11)},
                         "margin_coverage": {"5": 0.7, "10": 0.4}}]
    assert plots.plot_shells(shells, tmp_path / "s.png").panels == ["a"]


# ---------------------------------------------------------------------------------- report
def test_report_lists_disclaimer_first_parameters_and_status(run_dir):
    page = (run_dir / "report.html").read_text()
    body = page[page.index("<body>"):]
    assert body.index("Research use only") < body.index("<h1")
    summary = json.loads((run_dir / "summary.json").read_text())
    for group in summary["parameters"]["properties"].values():
        for name, record in group.items():
            assert name in page and html.escape(record["source"]) in page
    assert "heat balance error" in page and f"{summary['heat_balance_error']:.3g}".split("e")[0] in page
    assert "data:image/png;base64," in page and "<img" in page
    assert re.search(r"scenario file", page) and "default (schema)" in page
    md = (run_dir / "report.md").read_text()
    assert md.lstrip().startswith("> **Research use only") and "![" in md and "plots/device.png" in md


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "/usr/bin/chromium"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("headless Chromium is needed for the report test and is missing; install it with "
                "`apt-get install -y --no-install-recommends chromium` (or run ./quickstart setup)")


def _chromium_args(profile):
    return [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--virtual-time-budget=8000"]


def test_report_renders_in_headless_chromium_with_its_images(run_dir, tmp_path):
    url = (run_dir / "report.html").resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(_chromium_args(profile) + ["--dump-dom", url], capture_output=True, text=True,
                             timeout=120).stdout
    n_images = int(re.search(r'data-images-checked="(\d+)"', dom).group(1))
    tags = re.findall(r"<img[^>]*>", dom)
    assert n_images == len(tags) >= 3                   # scene and two plots
    for tag in tags:
        assert 'src="data:image/png;base64,' in tag
        width = int(re.search(r'data-natural-width="(\d+)"', tag).group(1))
        height = int(re.search(r'data-natural-height="(\d+)"', tag).group(1))
        assert width > 100 and height > 100            # decoded, not a broken image
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(_chromium_args(profile) + [f"--screenshot={shot}", "--window-size=1200,4000", url],
                       capture_output=True, timeout=120)
    from PIL import Image
    image = np.asarray(Image.open(shot).convert("RGB")).astype(float)
    assert image.std() > 20                             # text, tables and the scene, not a blank page
    hsv = _hsv(image.astype(np.uint8))
    assert ((hsv[..., 1] > 0.25) & (hsv[..., 0] * 360 > 190) & (hsv[..., 0] * 360 < 230)).mean() > 1e-4 or \
        ((hsv[..., 1] > 0.25) & ((hsv[..., 0] * 360 < 25) | (hsv[..., 0] * 360 > 335))).mean() > 1e-4


def test_cryo_isotherms_are_drawn_from_t_min(loaded, tmp_path):
    """A cryo-like result (synthetic t_min field falling linearly towards the probe): the 0 and
    -20 degC isotherms become surfaces at the right radius, the -40 degC one is the lesion
    (criterion min_temperature:-40) and is not drawn twice; the picture shows their colours."""
    from dataclasses import replace
    domain = loaded.domain
    r = np.linalg.norm(domain.world_points() - np.array([0.0, 0.0, -0.010])[:, None], axis=0) * 1e3   # mm
    t_min = np.minimum(37.0, -60.0 + 6.0 * r)            # 0 degC at 10 mm, -20 at 6.67, -40 at 3.33
    fields = dict(loaded.fields, t_min_C=t_min, temperature_C=np.maximum(t_min, 10.0))
    from ablation.run.summary import LesionSummary
    summary = replace(loaded.summary, modality="cryo", isotherms={"0": {}, "-20": {}, "-40": {}},
                      lesion=LesionSummary("min_temperature:-40", "minimum temperature <= -40 degC",
                                           loaded.summary.lesion.size))
    fake = replace(loaded, fields=fields, summary=summary)
    parts = viz.scene_parts(fake, fields=fields)
    assert sorted(parts.isotherms) == [-20.0, 0.0]
    for t_iso, radius in ((0.0, 10.0), (-20.0, 20.0 / 3.0)):
        surf = parts.isotherms[t_iso]
        # linear interpolation of a cone-shaped field: a sphere of that radius to a fraction of a cell
        assert surf.volume == pytest.approx(4 / 3 * np.pi * radius ** 3, rel=0.03)
    assert parts.lesion.volume == pytest.approx(4 / 3 * np.pi * (20.0 / 6.0) ** 3, rel=0.06)
    # the section's region holds the 0 degC iceball, which reaches 6.7 mm beyond the lethal zone here
    # (the lesion's 6 mm padding alone cut it off)
    from ablation.output.scene import _region_of_interest
    iceball = np.asarray(parts.isotherms[0.0].bounds)
    roi = _region_of_interest(domain, parts.lesion, [], [], parts.isotherms.values())
    assert np.all(roi[0::2] <= iceball[0::2]) and np.all(roi[1::2] >= iceball[1::2])
    assert not np.all(_region_of_interest(domain, parts.lesion, [], [])[1::2] >= iceball[1::2])
    image = viz.render_scene(fake, parts=parts, window_size=(1200, 600))
    hsv = _hsv(image)
    h, s = hsv[..., 0] * 360.0, hsv[..., 1]
    assert ((s > 0.4) & (h > 190) & (h < 215)).mean() > 1e-3          # 0 degC (#56B4E9) / -20 degC (#0072B2)


def test_report_shows_coverage_placement_and_benchmarks(loaded, tmp_path):
    from dataclasses import replace
    from ablation.output import report
    summary = replace(loaded.summary, analyses={})
    summary["tumors"] = [{"name": "metastasis", "coverage": 0.934, "margin_coverage": {"5": 0.51, "10": 0.22},
                          "min_margin_mm": -1.25, "margin_class": "A0",
                          "shell_coverage": {str(m): max(0.0, 0.8 - 0.1 * m) for m in range(1, 11)},
                          "placement": {"p_technical_success": 0.31, "ci95": {"p_technical_success": [0.25, 0.38]}}}]
    summary["placement"] = {"approach": "percutaneous", "samples": 200, "p_technical_success": 0.31,
                            "ci95": {"p_technical_success": [0.25, 0.38]}}
    summary["notes"] = ["four or more tumours: context, not advice"]
    fake = replace(loaded, summary=summary)
    bench_root = tmp_path / "repo"
    (bench_root / "benchmarks" / "results").mkdir(parents=True)
    (bench_root / "benchmarks" / "results" / "results.json").write_text(json.dumps({"quick": True, "cases": [
        {"suite": "verification", "case": "c1", "metric": "m1", "value": 1.0, "reference": 1.0, "tolerance": 0.1,
         "passed": True},
        {"suite": "verification", "case": "c2", "metric": "front_mm", "value": 3.0, "reference": 1.0,
         "tolerance": 0.1, "passed": False, "unit": "mm"}]}))
    page, md = report.build_report(tmp_path, fake, bench=report.latest_benchmarks(bench_root))
    for text in ("93.4", "5 mm: 51", "-1.25", "A0", "percutaneous", "0.31 [0.25, 0.38]", "1 of 2 metrics pass",
                 "front_mm", "context, not advice"):
        assert text in page, text
        assert text in md, text
    assert report.latest_benchmarks(tmp_path / "nowhere") is None
    assert "no record of the code" in md
    # results that record this code (the package and the results' own cases) say so; changed cases do not
    from ablation.version import code_digest
    results = bench_root / "benchmarks" / "results" / "results.json"
    recorded = json.loads(results.read_text())
    recorded["provenance"] = {"code_digest": code_digest(bench_root / "benchmarks"), "package_version": "0.2.0",
                              "git_commit": "abc", "recorded_utc": "2026-12-05 10:00"}
    results.write_text(json.dumps(recorded))
    page, md = report.build_report(tmp_path, fake, bench=report.latest_benchmarks(bench_root))
    assert "recorded 2026-12-05 10:00 UTC with ablation 0.2.0" in md and "the code of this run" in md
    (bench_root / "benchmarks" / "suite.py").write_text("changed = True\n")
    page, md = report.build_report(tmp_path, fake, bench=report.latest_benchmarks(bench_root))
    assert "this run's code differs" in md and "the code of this run" not in md


@pytest.mark.parametrize("tolerance, conducted, verdict", [
    (2.0, 1.0, "ok"), (0.2, 0.3, "above domain.boundary_tolerance 0.2 K"), (None, 0.6, "above domain.boundary_tolerance 0.5 K")])
def test_report_judges_the_boundary_by_the_runs_own_tolerance(loaded, tmp_path, tolerance, conducted, verdict):
    from dataclasses import replace
    from ablation.output import report
    summary = replace(loaded.summary, boundary_conducted_deviation_C=conducted)
    domain = {"size_mm": 80.0, "grown": 0}
    if tolerance is not None:        # a summary written before the tolerance was recorded
        domain["boundary_tolerance_C"] = tolerance
    summary["domain"] = domain
    page, md = report.build_report(tmp_path, replace(loaded, summary=summary), bench=None)
    row = next(line for line in md.splitlines() if "conducted from the zone / raw" in line)
    assert verdict in row and f"{conducted:.3g}" in row


def test_report_command_on_a_comparison_folder(tmp_path):
    comparison = {"rows": [
        {"approach": "open", "p_technical_success": 0.92, "ci95": {"p_technical_success": [0.88, 0.95]}},
        {"approach": "laparoscopic", "p_technical_success": 0.71},
        {"approach": "percutaneous", "pringle": True, "p_technical_success": 0.43, "p_margin_5mm": 0.2}],
        "ranking": {"holds": True}}
    (tmp_path / "comparison.json").write_text(json.dumps(comparison))
    assert cli.main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert page.index("Research use only") < page.index("<h1")
    for text in ("open", "0.92 [0.88, 0.95]", "percutaneous + Pringle", "p_margin_5mm", "data:image/png;base64,"):
        assert text in page
    assert (tmp_path / "plots" / "comparison.png").stat().st_size > 1000


def test_report_command_refuses_a_folder_it_did_not_write(tmp_path):
    """A user's folder holding a file named comparison.json (or nothing of the toolkit's) is left as
    it was: report would write plots/ and report.* into it."""
    for name, content in (("list", "[1, 2]"), ("object", '{"mine": 1}')):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "comparison.json").write_text(content)
        assert cli.main(["report", str(folder)]) == 2
        assert sorted(p.name for p in folder.iterdir()) == ["comparison.json"]


def test_report_into_a_folder_it_may_not_write_exits_2_and_changes_nothing(tmp_path, monkeypatch, capsys):
    """s41: a read-only result folder (or plots/) gave a PermissionError traceback. The folder named,
    exit 2, the earlier report as it was; both the up-front check and a refusal met while swapping."""
    comparison = {"rows": [{"approach": "open", "p_technical_success": 0.9}], "ranking": {"holds": True}}
    (tmp_path / "comparison.json").write_text(json.dumps(comparison))
    assert cli.main(["report", str(tmp_path)]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    import os
    from ablation.output import files
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path / "plots" and real_access(path, mode))
    assert cli.main(["report", str(tmp_path)]) == 2
    assert f"{tmp_path / 'plots'} cannot be written by this user" in capsys.readouterr().err
    monkeypatch.setattr(os, "access", real_access)

    def refused(staging, directory):
        raise PermissionError(13, "Permission denied", str(directory / "plots"))
    monkeypatch.setattr(files, "publish_plots", refused)
    assert cli.main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Permission denied; expected a result folder this user may write" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_view_and_report_name_the_command_whose_folder_they_were_given(tmp_path, capsys):
    """s41: a plan's folder got 'no scenario.toml; is this the folder of a completed run?' and a
    sweep's store 'not a result folder of this toolkit'; both now say which command wrote them."""
    from ablation.output.files import MARKER, SWEEP_MARKER, TOOL
    plan = tmp_path / "plan"
    plan.mkdir()
    (plan / MARKER).write_text(json.dumps({"tool": TOOL, "kind": "plan"}))
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / SWEEP_MARKER).write_text("{}")
    for command in ("view", "report"):
        assert cli.main([command, str(plan)]) == 2
        assert "this is the folder of 'ablation plan'" in capsys.readouterr().err
        assert cli.main([command, str(sweep)]) == 2
        assert "the store of 'ablation sweep'" in capsys.readouterr().err
    assert sorted(p.name for p in plan.iterdir()) == [MARKER] and sorted(p.name for p in sweep.iterdir()) == [SWEEP_MARKER]


def test_a_display_whose_server_does_not_answer_is_no_screen(tmp_path, monkeypatch):
    """s41: DISPLAY=:99 with no X server behind it made `ablation view` open a window that never came
    and write nothing (exit 0). A display counts only when its server accepts a connection."""
    import socket
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99731")
    assert not viz.has_screen()
    path = tmp_path / "wayland-0"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        monkeypatch.setenv("WAYLAND_DISPLAY", str(path))
        assert viz.has_screen()


def test_interactive_view_is_offline(loaded, tmp_path, monkeypatch):
    """The vtk.js export embeds everything and resolves no remote host (trame-vtklocal's WebAssembly
    download is kept out); the page loads nothing from the network."""
    pytest.importorskip("trame_pyvista", reason="the optional 'interactive' extra (trame-pyvista) is not installed: "
                        "./quickstart test installs it for the repository's run and leaves it out of the wheel's, "
                        "which tests the package without optional extras")
    import socket
    hosts = []
    real = socket.getaddrinfo

    def recording(host, *args, **kwargs):
        hosts.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    path = tmp_path / "view.html"
    assert viz.export_interactive_html(loaded, path)
    assert all(h in (None, "", "localhost", "127.0.0.1", "0.0.0.0", "::1") for h in hosts), hosts
    import sys
    # trame-vtklocal (whose set-up downloads VTK's WebAssembly build in the background) never loads
    assert not [m for m in sys.modules if "vtklocal" in m]
    page = path.read_text()
    assert len(page) > 100_000 and "<script" in page
    # no external script, stylesheet or image is referenced
    assert not re.search(r"""(src|href)\s*=\s*["']https?://""", page)


# ------------------------------------------------------------ pictures that do not mislead
def _captured_figures(monkeypatch):
    import matplotlib.pyplot as plt
    figures = []
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig))
    return figures


def test_interactive_view_uses_scene_png_margin_classes(loaded):
    """A lesion sphere 6 mm larger than a tumour around its centre (MAM 6 mm): every point of the
    interactive view's tumour has the colour scene.png's 4-class lookup table gives it, class
    '5-10 mm', never the 0-5 mm band."""
    domain = loaded.domain
    centre = np.array([0.0, 0.0, -0.010])
    level = 0.016 - np.linalg.norm(domain.world_points() - centre[:, None], axis=0)
    lesion = viz.level_surface(domain, level)
    surface = viz.tumor_surface(domain.tumors[0])
    margin = viz.local_margin(domain, level, lesion, surface)
    assert np.nanmin(margin) == pytest.approx(6.0, abs=0.15)
    classes = viz.margin_classes(margin)
    assert set(classes.tolist()) == {3}
    surface.point_data["margin_mm"] = margin
    plotter = pv.Plotter(off_screen=True)
    actor = plotter.add_mesh(surface, scalars="margin_mm", cmap=viz.MARGIN_CMAP, clim=viz.MARGIN_CLIM_MM,
                             n_colors=viz.MARGIN_COLORS)
    lut = actor.mapper.lookup_table
    png = np.array([[round(255 * c) for c in lut.map_value(float(m))[:3]] for m in margin])
    plotter.close()
    np.testing.assert_allclose(viz.margin_class_rgb(margin), png, atol=1)   # VTK rounds its table
    # the four classes, and the value right at a class edge, agree too
    probe = np.array([-7.5, -2.5, 2.5, 7.5, 5.0, 0.0, 12.0, -12.0])
    plotter = pv.Plotter(off_screen=True)
    line = pv.PolyData(np.c_[probe, np.zeros_like(probe), np.zeros_like(probe)])
    line.point_data["margin_mm"] = probe
    lut = plotter.add_mesh(line, scalars="margin_mm", cmap=viz.MARGIN_CMAP, clim=viz.MARGIN_CLIM_MM,
                           n_colors=viz.MARGIN_COLORS).mapper.lookup_table
    png = np.array([[round(255 * c) for c in lut.map_value(float(m))[:3]] for m in probe])
    plotter.close()
    np.testing.assert_allclose(viz.margin_class_rgb(probe), png, atol=1)
    assert viz.margin_classes(probe).tolist() == [0, 1, 2, 3, 3, 2, 3, 0]


def test_placement_plot_complete_fraction_is_technical_success(tmp_path, monkeypatch):
    from ablation.output import plots
    from ablation.run.result import PlacementSamples
    rng = np.random.default_rng(3)
    n = 1000
    success = np.arange(n) < 901                       # p_technical_success 0.901
    coverage = np.where(success, 1.0, rng.uniform(0.95, 1.0, n))
    coverage[901:960] = 1.0                            # covered, but short of the margin: not complete
    samples = {"metastasis": PlacementSamples(coverage, rng.normal(3, 1, n), success)}
    figures = _captured_figures(monkeypatch)
    plots.plot_placement(samples, tmp_path / "placement.png")
    title = figures[-1].axes[0].get_title().replace("\n", " ")
    assert "in 90.1 %" in title and np.mean(coverage >= 1.0) > 0.95
    assert plots.complete_fraction(samples["metastasis"]) == pytest.approx(0.901)


def test_comparison_plot_draws_intervals_as_error_bars(tmp_path, monkeypatch):
    from matplotlib.container import BarContainer, ErrorbarContainer
    from ablation.output import plots
    comparison = [{"label": "open", "p_technical_success": 0.9, "ci95": {"p_technical_success": [0.85, 0.94]}},
                  {"label": "percutaneous", "p_technical_success": 0.6,
                   "ci95": {"p_technical_success": [0.5, 0.7]}}]
    figures = _captured_figures(monkeypatch)
    plots.plot_comparison(comparison, tmp_path / "comparison.png")
    ax = figures[-1].axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    errors = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 1 and len(bars[0]) == 2            # one bar per approach, no interval bars
    assert len(errors) == 1
    segments = errors[0].lines[2][0].get_segments()
    np.testing.assert_allclose(sorted((s[0][1], s[1][1]) for s in segments), [(0.5, 0.7), (0.85, 0.94)])


def test_long_plot_titles_stay_inside_the_figure(tmp_path, monkeypatch):
    from ablation.output import plots
    from ablation.run.result import PlacementSamples
    name = "a tumour with a very long descriptive name in segment VIII next to the right hepatic vein"
    samples = {name: PlacementSamples(np.linspace(0.9, 1.0, 50), np.linspace(-2, 8, 50), np.arange(50) > 10)}
    figures = _captured_figures(monkeypatch)
    plots.plot_placement(samples, tmp_path / "placement.png")
    fig = figures[-1]
    renderer = fig.canvas.get_renderer()
    fig_box = fig.bbox
    for ax in fig.axes:
        box = ax.title.get_window_extent(renderer)
        assert box.x0 >= fig_box.x0 - 1 and box.x1 <= fig_box.x1 + 1, ax.get_title()


def test_isotherm_legend_names_the_time(loaded):
    from dataclasses import replace
    parts = viz.SceneParts("min_temperature:-40", "", None, pv.PolyData(), {}, [], [], [], [], "temperature_C",
                           (0.0, 1.0), np.zeros(6), end_time_s=28 * 60.0)
    assert viz.isotherm_label(-20.0, parts) == "-20 degC isotherm, max extent at t = 28 min (end)"
    assert "at t = 10 min" in viz.isotherm_label(0.0, replace(parts, time_s=600.0))
    assert viz._end_time(loaded) == pytest.approx(360.0)


def test_scenario_strings_are_escaped_in_report_md_and_html(loaded, tmp_path):
    from dataclasses import replace
    from ablation.output import report
    from ablation.run.summary import ScenarioLabel
    evil = "<script>alert(1)</script>"
    summary = replace(loaded.summary, scenario=ScenarioLabel(evil, f"described as {evil}"))
    summary.analyses["tumors"] = [dict(t, name=evil) for t in (loaded.summary.tumors or [])] or [{"name": evil}]
    fake = replace(loaded, summary=summary)
    (tmp_path / "scenario.toml").write_text(f'name = "{evil}"\n')
    page, md = report.build_report(tmp_path, fake)
    assert evil not in page and evil not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md and "&lt;script&gt;" in page


def test_a_multitine_arrays_tines_are_drawn():
    """The tines are tissue cells the electrode runs through (not held regions): the scene draws them,
    out to the deployed radius (10 mm here), beside the lesion they are part of."""
    from conftest import coarse_rfa
    from ablation.run.setup import scenario_domain
    s = coarse_rfa(probes=[{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "2 mm",
                            "rfa": {"electrode": "multitine", "tines": 6, "deployed_diameter": "20 mm"}}],
                   grid={"spacing": "1 mm", "max_spacing": "5 mm", "fine_margin": "3 mm", "growth": 1.4},
                   domain={"size": "50 mm", "center": [0, 0, 5]})
    domain = scenario_domain(s)
    ((name, kind, mesh),) = viz._other_regions(domain)
    assert (name, kind) == ("tines", "tines") and mesh.n_cells > 0
    xmin, xmax, ymin, ymax, _, zmax = mesh.bounds
    assert max(xmax, -xmin, ymax, -ymin) == pytest.approx(10.0, abs=1.5) and zmax == pytest.approx(10.0, abs=1.5)


def test_a_segment_that_only_touches_the_domain_has_no_tube():
    """s29 run fuzz: a patient vessel ending on the domain's face (the liver phantom's cryo scenario
    with a 15 mm freezing length, whose smaller domain a vessel then grazed) was clipped to a segment
    of no length, whose tube pyvista could not orient: the run failed while writing its surfaces."""
    from types import SimpleNamespace
    domain = SimpleNamespace(kind="3d", edges=[np.array([-0.01, 0.01])] * 3, to_frame=lambda points: points)
    on_face = np.array([0.01, 0.0, 0.0])
    assert viz.clip_segment(domain, np.array([0.03, 0.0, 0.0]), on_face) is None      # touches at one point
    assert viz.clip_segment(domain, on_face * 0.5, on_face * 0.5) is None              # no length
    assert viz.clip_segment(domain, np.array([0.03, 0.0, 0.0]), np.array([0.04, 0.0, 0.0])) is None
    inside = viz.clip_segment(domain, np.array([0.03, 0.0, 0.0]), np.array([-0.03, 0.0, 0.0]))
    np.testing.assert_allclose([inside[0][0], inside[1][0]], [0.01, -0.01], atol=1e-4)

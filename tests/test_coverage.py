"""Coverage metrics, placement Monte Carlo, approach comparison and repositioning (issue 5).

Metrics are checked on lesions with exact answers: synthetic level fields (a signed distance to a
sphere or a plane, passed through a monotone map so that only the zero set is exact) on grids
from :func:`ablation.mesh.build_domain`, without solving.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest


from ablation.run.transforms import apply_transforms
from ablation.verification.analytic import sphere_intersection_volume
from ablation.outcome import coverage as cv
from ablation.outcome import placement as pl
from ablation.cli import main
from ablation.run.setup import scenario_domain as build_domain
from ablation.input.scenario import scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
MM = 1e-3


def base_dict(**changes) -> dict:
    d = {
        "name": "t", "modality": "thermal",
        "tumors": [{"name": "tumour", "center": [0, 0, -10], "diameter": "12 mm"}],
        "probes": [{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "20 mm",
                    "thermal": {"wall": "temperature",
                                "temperature_schedule": [["0 s", "90 degC"]]}}],
        "domain": {"size": "60 mm"},
        "grid": {"spacing": "0.5 mm", "max_spacing": "3 mm"},
        "time": {"duration": "60 s", "step": "5 s", "refine": False},   # step control: test_time_step.py
    }
    d.update(changes)
    return d




def sphere_lesion(domain, center, radius):
    w = domain.world_points()
    sdf = radius - np.linalg.norm(w - np.asarray(center)[:, None], axis=0)
    return cv.Lesion.from_level(domain, np.tanh(sdf / 3e-3))   # monotone: only the zero set is exact


# ------------------------------------------------------------------------------ metrics
@pytest.fixture(scope="module")
def axisym_domain():
    return build_domain(scenario_from_dict(base_dict()))


def test_sphere_in_offset_sphere_axisymmetric(axisym_domain):
    """Tumour r = 6 mm at z = -10 mm, lesion R = 14 mm at z = -8 mm: MAM = 14 - 2 - 6 = 6 mm."""
    d = axisym_domain
    lesion = sphere_lesion(d, [0, 0, -8e-3], 14e-3)
    tp = cv.tumor_points(d.tumors[0], 10 * MM)
    m = cv.tumor_metrics(tp, lesion.inside, lesion.signed_distance)
    assert m["coverage"] == 1.0 and m["technical_success"]
    assert m["min_margin_mm"] == pytest.approx(6.0, abs=0.02)
    assert m["margin_class"] == "5-10"
    for mm in (5, 10):
        exact = sphere_intersection_volume(14, 6 + mm, 2) / (4 / 3 * math.pi * (6 + mm) ** 3)
        assert m["margin_coverage"][str(mm)] == pytest.approx(exact, abs=0.005)
    for k in (7, 8, 9, 10):   # shells cut by the lesion boundary (6 < d < 10 mm)
        v = (sphere_intersection_volume(14, 6 + k, 2) - sphere_intersection_volume(14, 5 + k, 2))
        exact = v / (4 / 3 * math.pi * ((6 + k) ** 3 - (5 + k) ** 3))
        assert m["shell_coverage"][str(k)] == pytest.approx(exact, abs=0.03)
    assert all(m["shell_coverage"][str(k)] == 1.0 for k in range(1, 7))


def test_offset_spheres_3d_partial_coverage():
    """Lesion R = 9 mm whose centre is 8 mm across from the tumour's (r = 6 mm): partial coverage.
    (The probe stands aside: held probe cells take their tissue neighbours' sign, which would move
    a synthetic boundary drawn through the probe.)"""
    probe = dict(base_dict()["probes"][0], tip=[-15, -15, 0])
    s = scenario_from_dict(base_dict(grid={"kind": "3d", "spacing": "1 mm", "max_spacing": "4 mm",
                                           "fine_margin": "8 mm"}, domain={"size": "50 mm", "center": [0, 0, -10]},
                                     probes=[probe]))
    d = build_domain(s)
    center = np.array([8e-3, 0, -10e-3])
    lesion = sphere_lesion(d, center, 9e-3)
    tp = cv.tumor_points(d.tumors[0], 10 * MM)
    m = cv.tumor_metrics(tp, lesion.inside, lesion.signed_distance)
    exact = sphere_intersection_volume(9, 6, 8) / (4 / 3 * math.pi * 216)
    assert m["coverage"] == pytest.approx(exact, abs=0.005)
    # the farthest tumour point from the lesion centre is 14 mm away: MAM = 9 - 14 = -5 mm
    assert m["min_margin_mm"] == pytest.approx(-5.0, abs=0.1)
    assert m["margin_class"] == "A0" and not m["technical_success"]


def test_parallel_nearest_point_search_gives_the_same_distances(monkeypatch):
    """Large queries search the zero set on every core (coverage.PARALLEL_QUERY_POINTS): the same
    distances as one core, and the sphere's closed form |r - R| near its surface."""
    s = scenario_from_dict(base_dict(grid={"kind": "3d", "spacing": "1 mm", "max_spacing": "4 mm",
                                           "fine_margin": "8 mm"}, domain={"size": "40 mm", "center": [0, 0, -10]}))
    d = build_domain(s)
    center = np.array([0.0, 0.0, -10e-3])
    lesion = sphere_lesion(d, center, 9e-3)
    rng = np.random.default_rng(5)
    q = center[:, None] + rng.uniform(-12e-3, 12e-3, (3, 5000))
    coords = lesion.coords(q)
    monkeypatch.setattr(cv, "PARALLEL_QUERY_POINTS", 10**9)
    one = cv.ZeroSet.distance(lesion.zero, coords)
    monkeypatch.setattr(cv, "PARALLEL_QUERY_POINTS", 1000)
    lesion.zero._tree = None
    every = cv.ZeroSet.distance(lesion.zero, coords)
    np.testing.assert_array_equal(one, every)
    r = np.linalg.norm(q - center[:, None], axis=0)
    near = np.abs(r - 9e-3) < 2e-3
    assert np.max(np.abs(every[near] - np.abs(r[near] - 9e-3))) < 0.3e-3


def test_zero_set_raster_in_slabs_equals_the_whole_raster_at_once(monkeypatch):
    """The zero set's raster is interpolated slab by slab (coverage.RASTER_SLAB_NODES) to bound its
    memory: the same points and normals, to the bit, as the raster interpolated at once (one slab),
    with slabs that do not divide the raster; the points lie on the sphere (closed form)."""
    s = scenario_from_dict(base_dict(grid={"kind": "3d", "spacing": "1 mm", "max_spacing": "4 mm",
                                           "fine_margin": "8 mm"}, domain={"size": "40 mm", "center": [0, 0, -10]}))
    d = build_domain(s)
    center = np.array([0.0, 0.0, -10e-3])
    level = sphere_lesion(d, center, 9e-3).level
    monkeypatch.setattr(cv, "RASTER_SLAB_NODES", 10**9)
    whole = cv.ZeroSet.extract(level, 4)
    monkeypatch.setattr(cv, "RASTER_SLAB_NODES", 20000)   # two of the 89 layers per slab, the last one alone
    slabs = cv.ZeroSet.extract(level, 4)
    assert whole.points.shape[0] > 10000
    np.testing.assert_array_equal(whole.points, slabs.points)
    np.testing.assert_array_equal(whole.normals, slabs.normals)
    radius = np.linalg.norm(slabs.points - center, axis=1)
    assert np.max(np.abs(radius - 9e-3)) < 0.1e-3


def test_ellipsoid_cut_by_a_plane():
    """Half-space lesion z <= z0 over an ellipsoid (semi-axes 8, 5, 6 mm): coverage is the volume
    fraction below the plane, pi a b [(h + c) - (h^3 + c^3)/(3 c^2)] / (4/3 pi a b c), and
    MAM = z0 - z_top of the ellipsoid."""
    tumor = {"name": "ell", "center": [0, 0, -10], "shape": "ellipsoid", "diameters": ["16 mm", "10 mm", "12 mm"]}
    s = scenario_from_dict(base_dict(tumors=[tumor], grid={"kind": "3d", "spacing": "1 mm", "max_spacing": "4 mm",
                                                           "fine_margin": "6 mm"},
                                     domain={"size": "50 mm", "center": [0, 0, -10]}))
    d = build_domain(s)
    h = 2.0e-3   # plane 2 mm above the centre, i.e. at z = -8 mm
    w = d.world_points()
    lesion = cv.Lesion.from_level(d, (-8e-3 - w[2]) * 1e3)
    tp = cv.tumor_points(d.tumors[0], 10 * MM)
    m = cv.tumor_metrics(tp, lesion.inside, lesion.signed_distance)
    c = 6e-3
    exact = ((h + c) - (h ** 3 + c ** 3) / (3 * c * c)) / (4 / 3 * c)
    assert m["coverage"] == pytest.approx(exact, abs=0.005)
    assert m["min_margin_mm"] == pytest.approx(-4.0, abs=0.1)


def test_ellipsoid_distance_against_brute_force():
    a = np.array([8e-3, 5e-3, 6e-3])
    rng = np.random.default_rng(0)
    q = rng.normal(size=(3, 50)) * 10e-3
    d = cv.ellipsoid_distance(q, a)
    u = rng.normal(size=(3, 400000))
    surf = a[:, None] * u / np.linalg.norm(u, axis=0)
    from scipy.spatial import cKDTree
    brute, _ = cKDTree(surf.T).query(q.T)
    outside = np.sum((q / a[:, None]) ** 2, axis=0) > 1
    assert np.allclose(d[outside], brute[outside], atol=3e-5)
    assert np.all(d[~outside] < 0)


def test_capsule_exclusion_removes_points_next_to_a_plane(axisym_domain):
    d = axisym_domain
    lesion = sphere_lesion(d, [0, 0, -8e-3], 14e-3)
    capsule = scenario_from_dict(base_dict(coverage={"capsule": {"shape": "plane", "point": [0, 0, -19],
                                                                 "normal": [0, 0, -1], "exclusion": "5 mm"}})).coverage.capsule
    tp = cv.tumor_points(d.tumors[0], 10 * MM, capsule=capsule)
    m = cv.tumor_metrics(tp, lesion.inside, lesion.signed_distance)
    # kept points have z >= -14 mm; the farthest of them from (0, 0, -8) is the rim at z = -14 mm
    # (distance sqrt(6^2 - 4^2 + 6^2) = sqrt(56)), so MAM = 14 - sqrt(56)
    assert m["surface_points_excluded"] > 0
    assert m["min_margin_mm"] == pytest.approx(14 - math.sqrt(56), abs=0.05)


def test_margin_classes_and_keys():
    assert [cv.margin_class(x) for x in (-0.1, 0.0, 4.99, 5.0, 10.0, 10.01)] == \
        ["A0", "0-5", "0-5", "5-10", "5-10", ">10"]
    assert cv.mm_key(5e-3) == "5" and cv.mm_key(2.5e-3) == "2.5"


# ------------------------------------------------------------------------------ Monte Carlo
class FakeResult:
    """A solved-looking result with a synthetic lesion: T_max >= 50 degC inside a sphere."""

    def __init__(self, scenario, domain, center, radius):
        w = domain.world_points()
        sdf = radius - np.linalg.norm(w - np.asarray(center)[:, None], axis=0)
        self.scenario, self.domain = scenario, domain
        self.fields = {"t_max_C": 50.0 + 1e3 * sdf}
        self.summary = {"lesion": {"criterion": "max_temperature:50"}}


@pytest.fixture(scope="module")
def fake(axisym_domain):
    s = scenario_from_dict(base_dict(placement={"samples": 3000, "seed": 7}))
    return FakeResult(s, axisym_domain, [0, 0, -10e-3], 11e-3)


def test_sampling_reproducible_and_common_random_numbers(fake):
    model = pl.error_model(fake.scenario.placement)
    a = pl.monte_carlo(fake, model, 500, 7)
    b = pl.monte_carlo(fake, model, 500, 7)
    c = pl.monte_carlo(fake, model, 500, 8)
    assert np.array_equal(a.sample_table.min_margin_mm, b.sample_table.min_margin_mm)
    assert not np.array_equal(a.sample_table.min_margin_mm, c.sample_table.min_margin_mm)
    assert a.method == "move_tumor"
    z = pl.standard_draws(7, 10)
    d_open, _ = pl.local_errors(pl.error_model(None, "open"), z)
    d_perc, _ = pl.local_errors(pl.error_model(None, "percutaneous"), z)
    assert np.allclose(d_open * 2.75, d_perc * 1.25)   # the same draws, scaled


def test_moved_tumour_matches_direct_evaluation(fake):
    """Independent path: the Monte Carlo's raster lookup of a moved tumour versus the exact-geometry
    metrics of a tumour placed at the opposite displacement."""
    model = pl.error_model(fake.scenario.placement)
    mc = pl.monte_carlo(fake, model, 20, 3)
    z = pl.standard_draws(3, 20)
    delta, _ = pl.local_errors(model, z[:, 0])
    lesion = cv.Lesion.from_fields(fake.domain, fake.fields, "max_temperature:50")
    # the analytic MAM of a sphere r = 6 mm displaced by -delta within the sphere R = 11 mm
    exact = 11.0 - 6.0 - np.linalg.norm(delta, axis=1) / MM
    assert np.allclose(mc.sample_table.min_margin_mm[:, 0], exact, atol=0.05)
    tumor = fake.domain.tumors[0]
    for b in range(3):
        moved = type(tumor)(tumor.name, tumor.center - delta[b], tumor.semi_axes, tumor.frame)
        tp = cv.tumor_points(moved, 10 * MM, n_surface=1024)
        m = cv.tumor_metrics(tp, lesion.inside, lesion.signed_distance)
        assert m["coverage"] == pytest.approx(mc.sample_table.coverage[b, 0], abs=1e-3)
        assert m["min_margin_mm"] == pytest.approx(mc.sample_table.min_margin_mm[b, 0], abs=0.03)


def test_probability_matches_closed_form(fake):
    """Sphere r in a lesion sphere R, isotropic Gaussian tip error sigma: complete coverage iff
    |delta| <= R - r, so P = chi-3 CDF((R - r)/sigma)."""
    from scipy.stats import chi
    model = pl.error_model(fake.scenario.placement)        # percutaneous, sigma 2.75 mm
    mc = pl.monte_carlo(fake, model, 3000, 11)
    p = mc.overall["p_technical_success"]
    exact = chi.cdf(5.0 / 2.75, 3)
    lo, hi = mc.overall["ci95"]["p_technical_success"]
    assert lo - 0.01 <= exact <= hi + 0.01
    assert abs(p - exact) < 0.03


def test_named_preset_set_changes_every_approach_and_matches_closed_form(fake):
    """The literature-proxy set scales every approach's draws, the scenario's own sigma still wins
    for its approach, and P(success) follows the same chi-3 closed form at the proxy sigma."""
    from scipy.stats import chi
    section = fake.scenario.placement.replaced(error_presets="literature-proxy-2026.12")
    for approach, sigma_mm in (("open", 2.5), ("laparoscopic", 3.8), ("percutaneous", 4.9)):
        model = pl.error_model(section, approach)
        assert model.sigma_along == pytest.approx(sigma_mm * MM) and model.preset_set == "literature-proxy-2026.12"
        assert model.describe()["preset_set"] == "literature-proxy-2026.12"
    mc = pl.monte_carlo(fake, pl.error_model(section), 3000, 11, section=section)
    exact = chi.cdf(5.0 / 4.9, 3)                           # 0.27 against 0.59 under the default set
    lo, hi = mc.overall["ci95"]["p_technical_success"]
    assert lo - 0.01 <= exact <= hi + 0.01
    assert pl.error_model(section.replaced(sigma_along=1e-3), "percutaneous").sigma_along == pytest.approx(1e-3)
    assert pl.error_model(fake.scenario.placement).preset_set == "assumed-2026.11"


def test_wilson_interval_values():
    lo, hi = pl.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert pl.wilson(0, 50)[0] == 0.0 and pl.wilson(50, 50)[1] == 1.0


# ------------------------------------------------------------------------------ shipped scenario
def test_approach_ranking_on_shipped_scenario():
    from ablation.outcome.compare import compare
    from ablation.input.scenario import load_scenario
    # the default zone model: the shipped scenario is sized for it (its nominal margin 0.8 mm)
    scenario = load_scenario(ROOT / "scenarios" / "compare_approaches.toml")
    report = compare(scenario, ["open", "laparoscopic", "percutaneous"], samples=1500, progress=lambda *_: None)
    rows = {(r["approach"], r["pringle"]): r for r in report["rows"]}
    p = {a: rows[(a, False)]["p_technical_success"] for a in ("open", "laparoscopic", "percutaneous")}
    assert p["open"] >= p["laparoscopic"] >= p["percutaneous"]
    assert 0.05 < p["percutaneous"] < 0.95
    assert report["ranking"]["holds"]
    # inflow occlusion enlarges the lesion, so it helps wherever it is available
    assert rows[("laparoscopic", True)]["lesion_volume_ml"] > rows[("laparoscopic", False)]["lesion_volume_ml"]
    assert rows[("laparoscopic", True)]["p_technical_success"] >= p["laparoscopic"]
    assert ("percutaneous", True) not in rows


# ------------------------------------------------------------------------------ bad input
def write(tmp_path, text) -> str:
    base = (ROOT / "scenarios" / "compare_approaches.toml").read_text()
    base = base.split("[coverage]")[0]
    path = tmp_path / "s.toml"
    path.write_text(base + text)
    return str(path)


@pytest.mark.parametrize("text, field", [
    ('[placement]\napproach = "robotic"\n', "placement.approach"),
    ('[placement]\nerror_presets = "clinical"\n', "placement.error_presets"),
    ('[placement]\nsigma_along = "-1 mm"\n', "placement.sigma_along"),
    ('[placement]\nsamples = 0\n', "placement.samples"),
    ('[placement]\napproach = "percutaneous"\npringle = true\n', "placement.pringle"),
    ('[coverage]\nmargins = ["5 mm", "-2 mm"]\n', "coverage.margins[1]"),
    ('[coverage]\ncriteria = ["hot"]\n', "coverage.criteria[0]"),
])
def test_bad_input_exits_2_and_names_the_field(tmp_path, capsys, text, field):
    assert main(["validate", write(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err


def test_compare_unknown_approach_exits_2(tmp_path, capsys):
    path = write(tmp_path, "")
    assert main(["compare", path, "--approaches", "open,robotic", "--out", str(tmp_path / "o")]) == 2
    assert "--approaches" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_comparison_says_when_the_planned_placement_misses():
    """compare_rfa: with Pringle the planned placement misses a sliver (planned MAM -1.5 mm), and the
    wider laparoscopic error gave a higher P(technical success) than the open one (0.213 vs 0.108).
    The comparison says why, for the rows whose planned placement misses, and only then."""
    from ablation.output.comparison import to_markdown

    def row(approach, pringle, p, planned_mam):
        r = {"approach": approach, "pringle": pringle, "insertions": 1, "method": "move_tumor",
             "median_coverage": 1.0, "median_min_margin_mm": 0.5, "planned_min_margin_mm": planned_mam}
        for key in ("p_technical_success", "p_margin_5mm", "p_margin_10mm"):
            r[key], r[key + "_ci_low"], r[key + "_ci_high"] = p, p, p
        return r
    model = {"sigma_along_mm": {"value": 1.0, "source": "s"}, "sigma_across_mm": {"value": 1.0, "source": "s"},
             "pringle_available": {"value": True}, "repositioning": {"value": "yes"}}
    report = {"scenario": "x", "criterion": "arrhenius", "samples": 10, "seed": 1,
              "approaches": {"open": model, "laparoscopic": model},
              "rows": [row("open", False, 0.9, 2.0), row("laparoscopic", False, 0.8, 2.0),
                       row("open", True, 0.108, -1.49), row("laparoscopic", True, 0.213, -1.49)]}
    from ablation.outcome.compare import ranking
    report["ranking"] = ranking(report["rows"])
    text = to_markdown(report)
    assert "misses part of the tumour (planned MAM with Pringle, 1 insertion(s): -1.49 mm)" in text
    assert "without Pringle" not in text.split("misses part")[1].split(".")[0]
    for r in report["rows"]:
        r["planned_min_margin_mm"] = 2.0
    assert "misses part of the tumour" not in to_markdown(report)
    # no zone reaches the tumour (compare_repositioning's short runs): no margin, not a crash
    report["rows"][0].update(median_min_margin_mm=None, planned_min_margin_mm=float("-inf"))
    text = to_markdown(report)
    assert "| 100.0 % | none | move_tumor |" in text and "without Pringle, 1 insertion(s): no zone reaches it" in text


# ------------------------------------------------------------------------------ solver hook, Pringle
def test_continued_run_equals_one_long_run():
    from ablation.run.time_loop import run
    s = scenario_from_dict(base_dict(grid={"spacing": "1 mm", "max_spacing": "4 mm"},
                                     domain={"size": "40 mm"}, time={"duration": "60 s", "step": "5 s", "refine": False}))
    whole = run(s)
    half = s.replaced(time=s.time.replaced(duration=30.0))
    first = run(half)
    second = run(half, domain=first.domain, initial_state=first.fields)
    assert np.allclose(second.fields["temperature_C"], whole.fields["temperature_C"], rtol=0, atol=1e-8)
    assert np.allclose(second.fields["omega"], whole.fields["omega"], rtol=1e-9, atol=1e-300)


def test_pringle_transformation():
    s = scenario_from_dict(base_dict(vessels=[{"start": [10, -20, -10], "end": [10, 20, -10], "radius": "2 mm"}],
                                     placement={"approach": "open", "pringle": True}))
    t = apply_transforms(s)
    assert t.tissue.perfusion == 0.0 and t.vessels == ()
    assert apply_transforms(t) == t          # idempotent
    assert apply_transforms(s.replaced(placement=s.placement.replaced(pringle=False))).vessels


def test_repositioning_sequence_accumulates_damage():
    """Two insertions 6 mm apart on a coarse 3-D grid: the lesion after both contains the first."""
    s = scenario_from_dict(base_dict(
        probes=[{"tip": [-3, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "15 mm",
                 "thermal": {"wall": "temperature", "temperature_schedule": [["0 s", "90 degC"]]}}],
        tumors=[{"name": "tumour", "center": [0, 0, -8], "diameter": "8 mm"}],
        grid={"kind": "3d", "spacing": "2 mm", "max_spacing": "4 mm", "fine_margin": "4 mm"},
        domain={"size": "40 mm", "center": [0, 0, -8]}, time={"duration": "90 s", "step": "10 s"},
        placement={"approach": "open", "samples": 2, "workers": 1, "gap": "30 s",
                   "insertions": [{"tip": [3, 0, 0]}]}))
    p0 = s.probes[0]
    out = pl.run_sequence(s, [p0, p0.replaced(tip=(3e-3, 0.0, 0.0))], 30.0)
    (grid, f1), (_, f2) = out
    assert np.all(f2["omega"] >= f1["omega"] - 1e-12)
    v1 = np.sum(grid.geometry.volumes[f1["omega"] >= 1])
    v2 = np.sum(grid.geometry.volumes[f2["omega"] >= 1])
    assert v2 > 1.3 * v1
    fake = type("R", (), {})()
    fake.scenario, fake.domain, fake.fields = s, grid, f1
    fake.summary = {"lesion": {"criterion": "arrhenius"}}
    mc = pl.monte_carlo(fake, pl.error_model(s.placement), 2, 1)
    assert mc.method == "resolve" and len(mc.per_insertions) == 2
    cov1 = mc.per_insertions[0].per_tumor[0]["mean_coverage"]
    cov2 = mc.per_insertions[1].per_tumor[0]["mean_coverage"]
    assert cov2 >= cov1


def test_clinical_context_notes():
    # one 32 mm tumour and three 5 mm ones beside it (separate: tumours may not overlap)
    centres = [[0, 0, -10], [24, 0, -10], [-24, 0, -10], [0, 24, -10]]
    s = scenario_from_dict(base_dict(tumors=[{"name": f"t{i}", "center": c, "diameter": "32 mm" if i == 0 else "5 mm"}
                                             for i, c in enumerate(centres)], domain={"size": "120 mm"}))
    d = build_domain(s)
    ctx = cv.clinical_context(d.tumors)
    assert "not advice" in ctx["context_not_advice"]
    assert any("four or more" in n for n in ctx["notes"]) and any("> 3 cm" in n for n in ctx["notes"])
    assert cv.clinical_context(d.tumors[1:2]) is None


def test_move_tumor_exact_for_passive_tumour_against_resolve():
    """Real solves: a passive tumour moved along the probe axis (move_tumor) versus the problem
    re-solved with the probe displaced (the axial check that reports move_tumor_error)."""
    from ablation.run.time_loop import run
    s = scenario_from_dict(base_dict(tumors=[{"name": "t", "center": [0, 0, -10], "diameter": "8 mm"}],
                                     grid={"spacing": "0.5 mm", "max_spacing": "3 mm", "fine_margin": "6 mm"},
                                     domain={"size": "40 mm"}, time={"duration": "120 s", "step": "5 s"},
                                     placement={"resolve_check": 2, "workers": 1}))
    result = run(s)
    model = pl.error_model(s.placement)
    err = pl.measure_move_error(result, model, pl.standard_draws(5, 2), s.placement, "arrhenius", 1024)
    assert err["samples"] == 2 and max(abs(x) for x in err["axial_displacements_mm"]) > 0.5
    assert err["max_abs_min_margin_difference_mm"] < 0.01
    assert err["max_abs_coverage_difference"] < 1e-3
    # more checks asked for than samples drawn: only the drawn ones are re-solved (it raised IndexError)
    err = pl.measure_move_error(result, model, pl.standard_draws(5, 1), s.placement.replaced(resolve_check=4),
                                "arrhenius", 1024)
    assert err["samples"] == 1


def test_rigid_shift_matches_closed_form_on_3d_grid():
    """3-D grid, rigid shift: sphere lesion R = 11 mm around a tumour r = 6 mm gives
    MAM = 5 mm - |delta| for each sample."""
    s = scenario_from_dict(base_dict(grid={"kind": "3d", "spacing": "1 mm", "max_spacing": "4 mm", "fine_margin": "8 mm"},
                                     domain={"size": "50 mm", "center": [0, 0, -10]},
                                     placement={"method": "rigid_shift"}))
    d = build_domain(s)
    fake = FakeResult(s, d, [0, 0, -10e-3], 11e-3)
    model = pl.error_model(s.placement)
    mc = pl.monte_carlo(fake, model, 200, 4)
    delta, _ = pl.local_errors(model, pl.standard_draws(4, 200)[:, 0])
    exact = 5.0 - np.linalg.norm(delta, axis=1) / MM
    assert mc.method == "rigid_shift"
    assert np.allclose(mc.sample_table.min_margin_mm[:, 0], exact, atol=0.1)
    mismatch = mc.sample_table.technical_success[:, 0] != (exact >= 0)
    assert np.all(np.abs(exact[mismatch]) < 0.1)


def test_run_writes_coverage_and_placement_keys(tmp_path):
    """``ablation run`` on the shipped comparison scenario: summary.json keys as the issue names them."""
    import json
    out = tmp_path / "run"
    path = write(tmp_path, "[placement]\nsamples = 300\n")
    assert main(["run", path, "--out", str(out), "--quiet", "--no-scene"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    tumor = summary["tumors"][0]
    assert tumor["name"] == "metastasis" and 0.99 <= tumor["coverage"] <= 1.0
    assert set(tumor["margin_coverage"]) == {"5", "10"}
    assert set(tumor["shell_coverage"]) == {str(k) for k in range(1, 11)}
    assert tumor["margin_class"] == cv.margin_class(tumor["min_margin_mm"])
    assert set(tumor["placement"]) >= {"p_technical_success", "p_margin_5mm", "p_margin_10mm", "ci95"}
    p = summary["placement"]
    assert (p["approach"], p["samples"], p["seed"], p["method"]) == ("percutaneous", 300, 12345, "move_tumor")
    assert set(p["ci95"]) == {"p_technical_success", "p_margin_5mm", "p_margin_10mm"}
    assert p["error_model"]["sigma_along_mm"]["value"] == 2.75 and "Busser" in p["error_model"]["sigma_along_mm"]["source"]
    lines = (out / "placement_samples.csv").read_text().splitlines()
    assert len(lines) == 301


def test_tilt_about_the_displaced_tip_and_anisotropic_sigma(axisym_domain):
    """Tilt only: the tumour centre, 10 mm behind the tip on the axis, swings by 2 L sin(theta/2),
    so MAM = R - r - 2 L sin(theta/2). Anisotropic sigma: zero along the axis moves only across."""
    s = scenario_from_dict(base_dict(placement={"sigma_along": "0 mm", "sigma_across": "0 mm",
                                                "angular_sigma": "5 deg"}))
    fake = FakeResult(s, axisym_domain, [0, 0, -10e-3], 11e-3)
    model = pl.error_model(s.placement)
    assert model.sources["angular_sigma"] == "scenario override"
    mc = pl.monte_carlo(fake, model, 100, 9)
    z = pl.standard_draws(9, 100)[:, 0]
    theta = np.radians(5.0) * np.hypot(z[:, 3], z[:, 4])
    exact = 11.0 - 6.0 - 2 * 10.0 * np.sin(theta / 2)
    assert np.allclose(mc.sample_table.min_margin_mm[:, 0], exact, atol=0.05)
    across = pl.error_model(s.placement.replaced(sigma_across=2e-3, angular_sigma=0.0))
    delta, tilt = pl.local_errors(across, z)
    assert np.all(delta[:, 2] == 0) and np.all(tilt == 0) and np.std(delta[:, 0]) > 1e-3


def test_an_empty_lesion_gives_undefined_margins_without_warnings_and_quantiles_skip_them():
    import warnings
    from ablation.outcome.placement.moved_lesion import SdfTable
    from ablation.outcome.placement.statistics import quantiles
    empty = SdfTable.build(lambda p: np.full(p.shape[1], np.inf), [0.0, 0.0], [1.0, 1.0], 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # inf - inf must not warn
        values = empty.lookup([np.array([0.3, 0.6], np.float32), np.array([0.5, 0.1], np.float32)])
    assert np.isnan(values).all()
    assert quantiles(np.array([np.nan, np.nan]))["q50"] is None
    mixed = quantiles(np.array([1.0, 2.0, 3.0, np.nan, 5.0]))
    assert mixed["q50"] == pytest.approx(2.5) and mixed["q05"] == pytest.approx(1.15)


def test_one_margin_written_in_two_units_is_reported_once():
    """Results are keyed by the margin in mm: 5 mm and 0.5 cm are one margin, not two keys that collide."""
    from ablation.input.scenario import scenario_from_dict
    from conftest import load_raw
    raw = load_raw("thermal_probe.toml")
    raw["coverage"] = {"margins": ["0.5 cm", "5 mm", "7 mm", "0.7 cm"]}
    margins = cv.scenario_margins(scenario_from_dict(raw))
    assert np.allclose(np.array(margins) * 1e3, [5.0, 7.0, 10.0], atol=1e-9)

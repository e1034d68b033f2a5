"""ablation sweep without Dask: the [sweep] section and its errors, the designs, the indices
against a closed form, the probabilities per approach, the store's refusals."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from ablation.input.scenario import ScenarioError, scenario_from_dict
from ablation.sweep import analysis
from ablation.sweep.analytic import ishigami, ishigami_indices
from ablation.sweep.sampling import build_design, sample_seed
from ablation.sweep.spec import sweep_spec
from ablation.sweep.store import StoreError, SweepStore
from conftest import write_toml

PI = "3.141592653589793 degC"
ISHIGAMI_PATHS = ("tissue.initial_temperature", "tissue.arterial_temperature", "damage.edge_temperature")


def base_table(sweep: dict) -> dict:
    """A tiny axisymmetric thermal-probe scenario with a [sweep] section."""
    return {
        "name": "sweep-test", "modality": "thermal",
        "tumors": [{"name": "t", "center": [0, 0, -8], "diameter": "6 mm"}],
        "probes": [{"tip": [0, 0, 0], "active_length": "15 mm",
                    "thermal": {"wall": "temperature",
                                "temperature_schedule": [["0 s", "37 degC"], ["20 s", "95 degC"],
                                                         ["3 min", "95 degC"]]}}],
        "domain": {"size": "60 mm"}, "grid": {"spacing": "2 mm", "max_spacing": "6 mm"},
        "time": {"duration": "3 min", "step": "10 s", "refine": False},
        "placement": {"samples": 50}, "outputs": {"fields": False, "scene": False},
        "sweep": sweep,
    }


def ishigami_sweep(samples: int, mode: str = "sensitivity", method: str = "sobol") -> dict:
    return {"mode": mode, "method": method, "samples": samples, "seed": 11, "bootstrap": 200,
            "parameters": [{"path": p, "distribution": "uniform", "low": "-" + PI, "high": PI}
                           for p in ISHIGAMI_PATHS]}


def problems(sweep: dict, **changes) -> list:
    table = base_table(sweep)
    table.update(changes)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(table)
    return info.value.errors


# ---------------------------------------------------------------------------------- bad input
def test_unknown_path_is_named():
    errors = problems({"parameters": [{"path": "tissue.perfusio", "values": ["0 1/s"]}]})
    assert errors[0][0] == "sweep.parameters[0].path"
    assert "tissue.perfusio" in errors[0][1] and "perfusion" in errors[0][1]
    errors = problems({"parameters": [{"path": "probes[3].tip", "values": [[0, 0, 0]]}]})
    assert errors[0][0] == "sweep.parameters[0].path" and "index 3 is out of range" in errors[0][1]
    # s33 fuzz: these said "probes[0].tip is not a list", though it is one of 3
    errors = problems({"parameters": [{"path": "probes[0].tip[7]", "values": [1, 2]}]})
    assert errors[0][0] == "sweep.parameters[0].path"
    assert "index 7 is out of range; probes[0].tip has 3 components (indices 0-2)" in errors[0][1]
    errors = problems({"parameters": [{"path": "probes[0].tip[1][0]", "values": [1, 2]}]})
    assert "expected at most one index, into a vector" in errors[0][1]
    errors = problems({"parameters": [{"path": "probes[0].thermal.temperature_schedule[1][1]", "values": [1, 2]}]})
    assert "probes[0].thermal.temperature_schedule is a schedule of [time, value] points" in errors[0][1]
    # s33 fuzz: a range of one value silently dropped its stop
    errors = problems({"parameters": [{"path": "probes[0].active_length",
                                       "range": {"start": "10 mm", "stop": "20 mm", "count": 1}}]})
    assert errors[0][0] == "sweep.parameters[0].range.count" and "would leave stop unused" in errors[0][1]


def test_distribution_outside_the_field_range_is_refused():
    # a normal perfusion of mean 0.004 and sd 0.002 1/s reaches below 0 at its 1e-6 quantile
    errors = problems({"mode": "uncertainty", "samples": 8, "parameters": [
        {"path": "tissue.perfusion", "distribution": "normal", "mean": "0.004 1/s", "sd": "0.002 1/s"}]})
    assert errors[0][0] == "sweep.parameters[0].distribution"
    assert "tissue.perfusion" in errors[0][1] and "valid range" in errors[0][1]
    # a uniform active length from -5 mm
    errors = problems({"mode": "uncertainty", "samples": 8, "parameters": [
        {"path": "probes[0].active_length", "distribution": "uniform", "low": "-5 mm", "high": "20 mm"}]})
    assert errors[0][0] == "sweep.parameters[0].distribution" and "probes[0].active_length" in errors[0][1]
    assert "move low inside that range" in errors[0][1]
    # a uniform thermal conductivity from 0: its lowest samples conduct less than still air
    errors = problems({"mode": "uncertainty", "samples": 8, "parameters": [
        {"path": "tissue.conductivity", "distribution": "uniform", "low": "0 W/(m K)", "high": "0.57 W/(m K)"}]})
    assert errors[0][0] == "sweep.parameters[0].distribution" and "at least 0.05 W/(m K)" in errors[0][1]


def test_zero_samples_are_refused():
    errors = problems({"parameters": [{"path": "tissue.perfusion", "values": []}]})
    assert errors[0][0] == "sweep.parameters[0].values" and "zero samples" in errors[0][1]
    errors = problems({**ishigami_sweep(8), "samples": 0})
    assert errors[0][0] == "sweep.samples"
    errors = problems({**ishigami_sweep(8), "metrics": ["lesion_volume", "summary.tumors[0]..x"]})
    assert [e[0] for e in errors] == ["sweep.metrics[0]", "sweep.metrics[1]"]
    assert "lesion_volume_ml" in errors[0][1]
    errors = problems({**ishigami_sweep(8), "metrics": ["lesion_volume_ml", "lesion_volume_ml"]})
    assert [e[0] for e in errors] == ["sweep.metrics[1]"] and "given twice" in errors[0][1]
    errors = problems({**ishigami_sweep(8), "samples": 12})      # not 2^k for Saltelli
    assert errors[0][0] == "sweep.samples" and "power of 2" in errors[0][1]


def test_designs_beyond_the_run_limit_are_refused_before_they_are_built():
    """s24 audit: a range of 1e9 values and a factorial of three 1000-value ranges raised MemoryError."""
    errors = problems({"parameters": [{"path": "tissue.perfusion",
                                       "range": {"start": "0 1/s", "stop": "0.01 1/s", "count": 10 ** 9}}]})
    assert errors[0][0] == "sweep.parameters[0].range.count" and "expected at most 100000" in errors[0][1]
    ranges = [{"path": path, "range": {"start": a, "stop": b, "count": 1000}} for path, a, b in
              (("tissue.perfusion", "0 1/s", "0.01 1/s"), ("tissue.conductivity", "0.4 W/(m K)", "0.6 W/(m K)"))]
    errors = problems({"parameters": ranges})
    assert errors[0][0] == "sweep.parameters" and "would run 1e+06 solves" in errors[0][1]
    errors = problems({**ishigami_sweep(8), "samples": 2 ** 15})      # Saltelli N (D + 2) = 163 840 runs
    assert errors[0][0] == "sweep.samples" and "would run 1.64e+05 solves" in errors[0][1]


def test_cli_exits_2_naming_the_parameter(tmp_path, capsys):
    table = base_table({"parameters": [{"path": "tissue.perfusio", "values": ["0 1/s"]}]})
    path = write_toml(tmp_path / "bad.toml", table)
    from ablation.cli import main
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "sweep.parameters[0].path" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["validate", str(path)]) == 2


def test_cli_refuses_a_foreign_out_folder_before_starting_a_cluster(tmp_path, capsys, monkeypatch):
    """A folder that is not a sweep store (or nothing to resume) exits 2 before the Dask cluster
    starts (it started, printed its dashboard, then refused), and the folder keeps only its file."""
    from ablation.cli import main
    from ablation.sweep import engine

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started")
    monkeypatch.setattr(engine, "local_cluster", no_cluster)
    path = write_toml(tmp_path / "s.toml", base_table({"parameters": [{"path": "tissue.perfusion",
                                                                       "values": ["0 1/s", "0.005 1/s"]}]}))
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert main(["sweep", str(path), "--out", str(foreign)]) == 2
    assert "not a sweep store" in capsys.readouterr().err
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert main(["sweep", str(path), "--out", str(tmp_path / "none"), "--resume"]) == 2
    assert "no sweep to resume" in capsys.readouterr().err and not (tmp_path / "none").exists()


def test_a_scenario_with_a_sweep_loads_and_the_schema_knows_it():
    """(A scenario with [sweep] is solved by every pipeline sample in tests/test_sweep_dask.py:
    each sample's scenario keeps the section, which simulate ignores.)"""
    scenario = scenario_from_dict(base_table(ishigami_sweep(8)))
    assert scenario.sweep.mode == "sensitivity"
    assert scenario_from_dict({k: v for k, v in base_table({}).items() if k != "sweep"}).sweep is None
    from ablation.input.scenario import json_schema
    schema = json_schema()
    assert "sweep" in schema["properties"]
    assert "parameters" in schema["properties"]["sweep"]["properties"]


# ---------------------------------------------------------------------------------- designs
def test_factorial_design_and_ranges():
    scenario = scenario_from_dict(base_table({"parameters": [
        {"path": "tissue.perfusion", "range": {"start": "0 1/s", "stop": "0.018 1/s", "count": 4}},
        {"path": "probes[0].tip", "values": [[0, 0, 0], [0, 0, 2]]}]}))
    design = build_design(sweep_spec(scenario))
    assert len(design) == 8
    np.testing.assert_allclose(design.columns["tissue.perfusion"], np.repeat([0, 0.006, 0.012, 0.018], 2), atol=1e-15)
    assert design.samples[1].changes["probes[0].tip"] == [0, 0, 2]
    assert design.columns["probes[0].tip"][1] == "[0, 0, 2]"
    # every sample's scenario is valid
    changed = scenario.with_changes(design.samples[7].changes)
    assert changed.tissue.perfusion == pytest.approx(0.018) and changed.probes[0].tip[2] == pytest.approx(0.002)


def test_designs_are_fixed_by_the_seed():
    for mode, method, n in (("uncertainty", "sobol", 16), ("uncertainty", "lhs", 10), ("sensitivity", "sobol", 8),
                            ("sensitivity", "morris", 5)):
        table = base_table(ishigami_sweep(n, mode, method))
        a = build_design(sweep_spec(scenario_from_dict(table)))
        b = build_design(sweep_spec(scenario_from_dict(copy.deepcopy(table))))
        assert [s.changes for s in a.samples] == [s.changes for s in b.samples]
        table["sweep"]["seed"] = 12
        c = build_design(sweep_spec(scenario_from_dict(table)))
        assert [s.changes for s in a.samples] != [s.changes for s in c.samples], (mode, method)
        assert len(a) == {"lhs": n, "morris": n * 4}.get(method, n if mode == "uncertainty" else n * 5)
        x = np.column_stack([a.columns[p] for p in ISHIGAMI_PATHS])
        assert np.all(np.abs(x) <= np.pi)
    # per-sample seeds depend on the sweep seed and the index only
    assert sample_seed(11, 3) == sample_seed(11, 3) != sample_seed(11, 4)


def test_lhs_strata_and_distribution_quantiles():
    table = base_table({"mode": "uncertainty", "method": "lhs", "samples": 50, "seed": 3, "parameters": [
        {"path": "tissue.perfusion", "distribution": "triangular", "low": "0 1/s", "mode": "0.0064 1/s",
         "high": "0.018 1/s"},
        {"path": "tissue.conductivity", "distribution": "lognormal", "median": "0.52 W/(m K)", "sigma": 0.1}]})
    design = build_design(sweep_spec(scenario_from_dict(table)))
    from scipy import stats
    u = stats.triang.cdf(design.columns["tissue.perfusion"], 0.0064 / 0.018, loc=0, scale=0.018)
    # Latin hypercube: exactly one sample in each of the 50 equiprobable strata
    assert sorted(np.floor(u * 50).astype(int)) == list(range(50))
    k = np.log(design.columns["tissue.conductivity"] / 0.52) / 0.1
    assert sorted(np.floor(stats.norm.cdf(k) * 50).astype(int)) == list(range(50))


# ---------------------------------------------------------------------------------- indices
def test_sobol_indices_of_ishigami_match_the_closed_form_within_the_intervals():
    """SALib's Saltelli design and estimators, through the sweep's spec, design and analysis."""
    table = base_table({**ishigami_sweep(2 ** 13), "bootstrap": 500})
    spec = sweep_spec(scenario_from_dict(table))
    design = build_design(spec)
    x = np.column_stack([design.columns[p] for p in ISHIGAMI_PATHS])
    result = analysis.sobol_indices(spec, ishigami(x))
    exact = ishigami_indices()
    for k, name in enumerate(ISHIGAMI_PATHS):
        got = result["parameters"][name]
        for key in ("S1", "ST"):
            error = abs(got[key] - exact[key][k])
            assert error <= got[key + "_conf"], (name, key, got[key], exact[key][k], got[key + "_conf"])
            assert got[key + "_conf"] < 0.05      # the intervals are informative at N = 2^13
    assert exact["S1"][0] == pytest.approx(0.3139, abs=1e-4) and exact["ST"][2] == pytest.approx(0.2437, abs=1e-4)


def test_morris_ranks_ishigami_inputs():
    table = base_table({**ishigami_sweep(200, method="morris"), "levels": 4, "bootstrap": 200})
    spec = sweep_spec(scenario_from_dict(table))
    design = build_design(spec)
    x = np.column_stack([design.columns[p] for p in ISHIGAMI_PATHS])
    result = analysis.morris_indices(spec, design.unit, ishigami(x))
    mu = {n: v["mu_star"] for n, v in result["parameters"].items()}
    # x2 acts through 7 sin^2 (largest effects), x3 only with x1, but strongly; all three matter
    assert min(mu.values()) > 1.0
    assert result["parameters"][ISHIGAMI_PATHS[0]]["mu_star_conf"] < mu[ISHIGAMI_PATHS[0]]


def test_indices_are_not_computed_with_missing_samples():
    table = base_table(ishigami_sweep(8))
    spec = sweep_spec(scenario_from_dict(table))
    y = np.ones(len(build_design(spec)))
    assert "same in every sample" in analysis.sobol_indices(spec, y)["reason"]
    y[3] = np.nan
    assert "1 of 40 samples" in analysis.sobol_indices(spec, y)["reason"]


def test_mixture_probability_interval_holds_both_spreads():
    # every sample certain: the mean is exact, the interval is the pooled Wilson one
    out = analysis.mixture_probability(np.ones(20), 100)
    assert out["p"] == 1.0 and out["interval"][1] == 1.0
    assert out["interval"][0] == pytest.approx(1 - 3.84 / 2000, abs=3e-4)
    # half the samples 0.2, half 0.8: the spread over samples dominates the Monte Carlo error
    p = np.array([0.2, 0.8] * 50)
    out = analysis.mixture_probability(p, 1000)
    half = 1.959963984540054 * np.std(p, ddof=1) / 10
    assert out["p"] == pytest.approx(0.5)
    assert out["interval"] == pytest.approx([0.5 - half, 0.5 + half])
    # coverage of the interval over repeated sweeps (simulated: p_i ~ Beta, M binomial draws each)
    rng = np.random.default_rng(5)
    truth = 2.0 / (2.0 + 5.0)
    hits = 0
    for _ in range(400):
        p_i = rng.binomial(200, rng.beta(2.0, 5.0, size=40)) / 200
        lo, hi = analysis.mixture_probability(p_i, 200)["interval"]
        hits += lo <= truth <= hi
    assert 0.92 <= hits / 400 <= 0.98


# ---------------------------------------------------------------------------------- store
def test_store_refuses_foreign_folders_and_other_designs(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a sweep store"):
        SweepStore(foreign, "a" * 64, 4).open()
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    store = SweepStore(tmp_path / "s", "a" * 64, 4)
    assert store.open() == "new"
    assert SweepStore(tmp_path / "s", "a" * 64, 4).open(resume=True) == "resumed"
    with pytest.raises(StoreError, match="another design"):
        SweepStore(tmp_path / "s", "b" * 64, 4).open()
    with pytest.raises(StoreError, match="no sweep to resume"):
        SweepStore(tmp_path / "empty", "a" * 64, 4).open(resume=True)
    assert json.loads((tmp_path / "s" / ".ablation-sweep").read_text())["design"] == "a" * 64


def test_an_interrupt_before_the_store_exists_does_not_point_to_resume(tmp_path, capsys, monkeypatch):
    """Ctrl-C while the cluster starts (before any store): exit 130, nothing written, and no advice
    to --resume a store that does not exist (which --resume then refused)."""
    from ablation.cli import main
    from ablation.sweep import engine

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(engine, "local_cluster", interrupted)
    path = write_toml(tmp_path / "s.toml", base_table({"parameters": [{"path": "tissue.perfusion",
                                                                       "values": ["0 1/s", "0.005 1/s"]}]}))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err
    assert "nothing was written" in err and "--resume to run" not in err
    assert not (tmp_path / "out").exists()

"""ablation sweep on a 2-worker Dask LocalCluster (loopback, no dashboard): identical tables for
1 and 2 workers, a worker killed mid-sweep, failures recorded and retried, SIGINT then --resume
through the command line, and the real pipeline end to end."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ablation.input.scenario import scenario_from_dict
from ablation.sweep.analytic import ishigami, ishigami_metrics
from ablation.sweep.engine import local_cluster
from ablation.sweep.store import read_parquet_columns
from ablation.sweep.study import run_sweep
from ablation.sweep.task import AnalyticModel
from conftest import default_sigint, write_toml
from test_sweep import ISHIGAMI_PATHS, base_table, ishigami_sweep

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def client():
    from distributed import Client
    with local_cluster(2, dashboard=False) as cluster, Client(cluster) as c:
        yield c


def analytic(delay_s: float = 0.0) -> AnalyticModel:
    return AnalyticModel(ishigami_metrics, ISHIGAMI_PATHS, delay_s)


def ishigami_scenario(samples: int = 4):
    return scenario_from_dict(base_table(ishigami_sweep(samples)))


def expected_y(directory) -> np.ndarray:
    design = read_parquet_columns(directory / "design.parquet")
    return ishigami(np.column_stack([design[p] for p in ISHIGAMI_PATHS]))


def test_one_and_two_workers_give_identical_tables(client, tmp_path):
    from distributed import Client
    scenario = ishigami_scenario(4)
    two = run_sweep(scenario, tmp_path / "two", client, model=analytic(0.01), metrics=["y"], pictures=False)
    with local_cluster(1, dashboard=False) as cluster, Client(cluster) as one_client:
        run_sweep(scenario, tmp_path / "one", one_client, model=analytic(), metrics=["y"], pictures=False)
    assert two["status"] == {"ok": 20, "failed": 0, "missing": 0}
    for name in ("results.parquet", "results.csv", "design.parquet"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    table = read_parquet_columns(tmp_path / "two" / "results.parquet")
    np.testing.assert_allclose(table["y"], expected_y(tmp_path / "two"), rtol=1e-12)
    # opened as docs/sweeps.md shows, with pandas and xarray: the same numbers, labelled by sample
    import pandas as pd
    import xarray as xr
    frame = pd.read_parquet(tmp_path / "two" / "results.parquet")
    data = xr.Dataset.from_dataframe(frame.set_index("sample"))
    np.testing.assert_array_equal(data["y"].values, table["y"])
    assert list(data["sample"].values) == list(table["sample"]) and set(frame.status) == {"ok"}
    # timings apart, one per sample
    assert len(read_parquet_columns(tmp_path / "two" / "timings.parquet")["sample"]) == 20
    assert json.loads((tmp_path / "two" / "sweep.json").read_text())["indices"]["y"]["available"]


def test_a_worker_killed_mid_sweep_loses_nothing(client, tmp_path):
    out = tmp_path / "killed"
    killed = {}

    def kill_one_worker():
        while len(list((out / "samples").glob("*.parquet"))) < 4:
            time.sleep(0.05)
        address = sorted(client.scheduler_info()["workers"])[0]
        killed["address"] = address
        killed["rows"] = len(list((out / "samples").glob("*.parquet")))
        try:
            client.run(os._exit, 1, workers=[address], wait=False)
        except Exception:       # the connection drops with the worker
            pass

    thread = threading.Thread(target=kill_one_worker, daemon=True)
    thread.start()
    record = run_sweep(ishigami_scenario(4), out, client, model=analytic(0.15), metrics=["y"], pictures=False)
    thread.join(timeout=5)
    assert "address" in killed and killed["rows"] < 20      # killed while samples were still to run
    assert record["status"] == {"ok": 20, "failed": 0, "missing": 0}
    np.testing.assert_allclose(read_parquet_columns(out / "results.parquet")["y"], expected_y(out), rtol=1e-12)
    assert not list(out.rglob(".*.tmp-*"))
    # the nanny restarted the worker: two workers again
    deadline = time.time() + 30
    while len(client.scheduler_info()["workers"]) < 2 and time.time() < deadline:
        time.sleep(0.2)
    assert len(client.scheduler_info()["workers"]) == 2


def pipeline_table(tmp_path, samples: int, failing: bool = False) -> dict:
    """The real model on a tiny scenario: a Latin hypercube over perfusion and conductivity; with
    ``failing``, a factorial in which one time step is longer than the run (a sample that fails)."""
    if failing:
        sweep = {"parameters": [{"path": "tissue.perfusion", "values": ["0 1/s", "0.012 1/s"]},
                                {"path": "time.step", "values": ["10 s", "20 min"]}],
                 "approaches": ["open"], "seed": 5}
    else:
        sweep = {"mode": "uncertainty", "method": "lhs", "samples": samples, "seed": 5, "approaches": ["open"],
                 "metrics": ["lesion_volume_ml", "min_margin_mm", "p_technical_success_open",
                             "summary.tumors[0].margin_coverage.5"],
                 "parameters": [
                     {"path": "tissue.perfusion", "distribution": "uniform", "low": "0 1/s", "high": "0.018 1/s"},
                     {"path": "tissue.conductivity", "distribution": "uniform", "low": "0.46 W/(m K)",
                      "high": "0.57 W/(m K)"}]}
    return base_table(sweep)


def test_failures_are_recorded_and_retried_on_resume(client, tmp_path):
    scenario = scenario_from_dict(pipeline_table(tmp_path, 0, failing=True))
    out = tmp_path / "fail"
    record = run_sweep(scenario, out, client, pictures=False)
    assert record["status"] == {"ok": 2, "failed": 2, "missing": 0}
    failures = json.loads((out / "failures.json").read_text())
    assert [f["sample"] for f in failures] == [1, 3]
    assert "time.step" in failures[0]["error"] and failures[0]["changes"]["time.step"] == "20 min"
    assert 'step = "20 min"' in failures[0]["scenario_toml"] and "[sweep]" not in failures[0]["scenario_toml"]
    table = read_parquet_columns(out / "results.parquet")
    assert table["status"] == ["ok", "failed", "ok", "failed"]
    assert np.isnan(table["lesion_volume_ml"][1]) and table["lesion_volume_ml"][0] > 0
    # the rerun retries only the failed samples (they fail again, deterministically)
    rows_before = {p.name: p.stat().st_mtime_ns for p in (out / "samples").iterdir()}
    again = run_sweep(scenario, out, client, resume=True, pictures=False)
    assert again["this_run"]["ran"] == 2 and again["this_run"]["state"] == "resumed"
    assert {p.name: p.stat().st_mtime_ns for p in (out / "samples").iterdir()} == rows_before


def test_sigint_then_resume_runs_only_the_missing_samples(client, tmp_path):
    """The command line in a subprocess (its own 2-worker LocalCluster), interrupted after some rows,
    then rerun with --resume on an existing scheduler; the final table equals an uninterrupted run's
    (here: the same sweep through the Python API)."""
    path = write_toml(tmp_path / "sweep.toml", pipeline_table(tmp_path, 6))
    out = tmp_path / "cli"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FIPY_SOLVERS": "scipy"}
    command = [sys.executable, "-m", "ablation", "sweep", str(path), "--out", str(out), "--workers", "2"]
    # its own process group, interrupted as a terminal's Ctrl-C is: every process of the group gets
    # SIGINT (s41: each Dask worker printed a KeyboardInterrupt traceback under the command's message)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (out / "samples").exists() and len(list((out / "samples").glob("*.parquet"))) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "rerun with --resume" in err and "Traceback" not in err and "KeyboardInterrupt" not in err, err
    first = {p.name: p.stat().st_mtime_ns for p in (out / "samples").iterdir()}
    assert 2 <= len(first) < 6, err
    assert not list(out.rglob(".*.tmp-*")) and not (out / "results.parquet").exists()

    # resumed on the test's running cluster through --scheduler (the store is on a shared filesystem)
    resume = command[:-2] + ["--scheduler", client.scheduler.address, "--resume"]
    resumed = subprocess.run(resume, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(first)} finished, {6 - len(first)} to run" in resumed.stderr
    # the rows written before the interrupt were not rewritten: only the missing samples ran
    after = {p.name: p.stat().st_mtime_ns for p in (out / "samples").iterdir()}
    assert len(after) == 6 and all(after[name] == stamp for name, stamp in first.items())

    reference = run_sweep(scenario_from_dict(pipeline_table(tmp_path, 6), source=str(path)), tmp_path / "api",
                          client, pictures=False)
    assert reference["status"]["ok"] == 6
    assert (out / "results.parquet").read_bytes() == (tmp_path / "api" / "results.parquet").read_bytes()
    table = read_parquet_columns(out / "results.parquet")
    # the real pipeline: more perfusion, a smaller lesion (Spearman correlation clearly negative)
    from scipy.stats import spearmanr
    assert spearmanr(table["tissue.perfusion"], table["lesion_volume_ml"]).statistic < -0.8
    # a metric named by its path in summary.json: the 5 mm margin coverage lies in [0, 1] and falls with perfusion
    margin = np.asarray(table["summary.tumors[0].margin_coverage.5"])
    assert np.all((margin >= 0) & (margin <= 1))
    assert spearmanr(table["tissue.perfusion"], margin).statistic < -0.8
    # the command line's report embeds its pictures
    assert (out / "report.html").read_text().count("data:image/png;base64") >= 3
    assert {"scatter.png", "distributions.png", "approaches.png"} <= {p.name for p in (out / "plots").iterdir()}


def test_the_cli_names_failed_samples_errors_not_only_failures_json(tmp_path, caplog):
    from ablation.cli import _report_failed_samples
    (tmp_path / "failures.json").write_text(json.dumps(
        [{"sample": i, "error": f"ScenarioError: probes[0].tip: sample {i} outside"} for i in (1, 4, 6, 9)]))
    with caplog.at_level("ERROR"):
        _report_failed_samples(tmp_path)
    text = caplog.text
    assert "sample 1 failed: ScenarioError: probes[0].tip: sample 1 outside" in text and "sample 6 failed" in text
    assert "sample 9 failed" not in text        # the first three, then where all of them are
    assert f"4 sample(s) failed; every error with its traceback, changes and scenario is in {tmp_path / 'failures.json'}" in text

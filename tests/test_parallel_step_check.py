"""The step check's comparison runs in a worker process (run(parallel=True)) give the same error
estimate as in sequence."""
import pytest

from ablation.run import time_loop
from conftest import coarse_rfa as coarse


def test_comparison_runs_in_a_worker_give_the_same_estimate(monkeypatch):
    scenario = coarse(time={"duration": "20 s", "step": "2 s", "refine": True})
    serial = time_loop.run(scenario)
    monkeypatch.setattr(time_loop, "PARALLEL_COMPARISON_CELLS", 0)     # the small grid goes to the worker too
    monkeypatch.setattr("os.cpu_count", lambda: 2)                    # whatever this machine has
    futures = []
    original = time_loop._parallel_comparisons
    monkeypatch.setattr(time_loop, "_parallel_comparisons", lambda *a: futures.append(original(*a)) or futures[-1])
    parallel = time_loop.run(scenario, parallel=True)
    assert len(futures) == 1 and all(f.done() for f in futures[0][:2])   # ran in the worker
    a, b = serial.summary["time"], parallel.summary["time"]
    assert b["lesion_volume_error_estimate"] == pytest.approx(a["lesion_volume_error_estimate"], rel=1e-12, abs=1e-15)
    assert b["lesion_volume_error_estimate_ml"] == pytest.approx(a["lesion_volume_error_estimate_ml"], rel=1e-12, abs=1e-15)
    assert parallel.summary["lesion"]["volume_ml"] == serial.summary["lesion"]["volume_ml"]
    assert b["steps"] == a["steps"]


def test_a_failed_kept_run_stops_the_worker(monkeypatch):
    scenario = coarse(time={"duration": "20 s", "step": "2 s", "refine": True})
    monkeypatch.setattr(time_loop, "PARALLEL_COMPARISON_CELLS", 0)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    remote = []
    original = time_loop._parallel_comparisons
    monkeypatch.setattr(time_loop, "_parallel_comparisons", lambda *a: remote.append(original(*a)) or remote[-1])

    def failing(sim, progress, local_tolerance=None):
        raise RuntimeError("kept run failed")
    monkeypatch.setattr(time_loop._Attempt, "integrate", classmethod(lambda cls, *a, **k: failing(*a, **k)))
    with pytest.raises(RuntimeError, match="kept run failed"):
        time_loop.run(scenario, parallel=True)
    pool = remote[0][2]
    for process in list((pool._processes or {}).values()):
        process.join(timeout=10)
        assert not process.is_alive()

"""The step check's comparison runs in a worker process (run(parallel=True)) give the same error
estimate as in sequence."""
import time

import pytest

from ablation.run import time_loop
from conftest import coarse_rfa as coarse, wait_until_stopped


def test_comparison_runs_in_a_worker_give_the_same_estimate(monkeypatch):
    scenario = coarse(time={"duration": "20 s", "step": "2 s", "refine": True})
    serial = time_loop.run(scenario)
    monkeypatch.setattr(time_loop, "PARALLEL_COMPARISON_WORK", 0)     # the small grid goes to the worker too
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
    """The worker's comparison runs (here about 15 s) are stopped at once when the kept run fails.
    s29: the pool was shut down as it started, which forgot the worker, so nothing stopped it."""
    scenario = coarse(time={"duration": "30 min", "step": "1 s", "refine": True})
    workers = _record_workers(monkeypatch)

    def failing(sim, progress, local_tolerance=None):
        time.sleep(1.0)                          # the worker is solving when the kept run fails
        raise RuntimeError("kept run failed")
    monkeypatch.setattr(time_loop._Attempt, "integrate", classmethod(lambda cls, *a, **k: failing(*a, **k)))
    with pytest.raises(RuntimeError, match="kept run failed"):
        time_loop.run(scenario, parallel=True)
    assert len(workers) == 1
    assert wait_until_stopped({w.pid for w in workers}, 5)


def test_work_not_cells_decides_the_worker():
    """The shipped cooled needle (10 608 cells, 0.25 s control steps for 12 min) goes to the worker;
    a coarse test scenario does not. The estimate is cells x ceil(duration / longest step)."""
    from ablation.input.scenario import load_scenario
    from conftest import ROOT
    shipped = time_loop._set_up(load_scenario(ROOT / "scenarios" / "rfa_cooltip_perfused.toml"), 1.0, 1.0, None, None)
    assert time_loop._expected_work(shipped) == shipped.domain.n_cells * 2880
    assert shipped.domain.n_cells < 50_000     # the former rule (50 000 cells) kept it in sequence
    assert time_loop._expected_work(shipped) >= time_loop.PARALLEL_COMPARISON_WORK
    small = time_loop._set_up(coarse(time={"duration": "20 s", "step": "2 s"}), 1.0, 1.0, None, None)
    assert time_loop._expected_work(small) < time_loop.PARALLEL_COMPARISON_WORK


def test_the_worker_has_exited_before_this_process_solves_again(monkeypatch):
    """Once both comparison runs are collected the worker is ended and waited for: a halved run
    (here a tolerance the first step misses) is solved with no worker alive, so the two processes'
    memory never adds up beyond the kept run and one comparison run. s32's CI measured an idle
    worker beside the run's later work: 559 MB against the 475 MB estimate."""
    scenario = coarse(time={"duration": "20 s", "step": "2 s", "refine": True, "tolerance": 1e-3})
    workers = _record_workers(monkeypatch)
    alive_at_solve = []
    integrate = time_loop._Attempt.integrate.__func__

    def recorded_integrate(cls, *a, **k):
        alive_at_solve.append(any(w.is_alive() for w in workers))
        return integrate(cls, *a, **k)
    monkeypatch.setattr(time_loop._Attempt, "integrate", classmethod(recorded_integrate))
    result = time_loop.run(scenario, parallel=True)
    assert len(workers) == 1
    assert result.summary["time"]["halvings"] >= 1         # there was a run after the comparisons
    assert alive_at_solve[0] and not any(alive_at_solve[1:]), alive_at_solve


def _record_workers(monkeypatch) -> list:
    """Sends even a small run's comparison runs to the worker, on any machine, and returns the list
    that collects each worker process (multiprocessing.Process) as its pool spawns it."""
    from ablation.run import parallel
    monkeypatch.setattr(time_loop, "PARALLEL_COMPARISON_WORK", 0)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    workers = []
    original = parallel.local_pool

    def recorded_pool(*args):
        pool = original(*args)
        submit = pool.submit

        def recorded_submit(*a, **k):
            future = submit(*a, **k)      # spawns the worker
            workers.extend(p for p in pool._processes.values() if p not in workers)
            return future
        pool.submit = recorded_submit
        return pool
    monkeypatch.setattr(parallel, "local_pool", recorded_pool)
    return workers

"""Kill `ablation run` at random points, including inside the folder swap, and check the
all-or-nothing rule after each: the result folder is the complete earlier result or the complete
new one (its manifest matches), and no staging folder or lock is left (after SIGKILL or a crash a
stale staging folder may remain until the next run, which must remove it).

The points inside the writing come from the ABLATION_TEST_FAULT hook of ablation/output/files.py:
with ``<point>:pause`` the run prints ``ABLATION_TEST_FAULT <point>`` and waits, so the test sends
its signal exactly there; ``<point>:exit`` crashes the process (os._exit) there."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import default_sigint, still_working, wait_until_stopped


def _sibling(name: str):
    """A helper module next to this file, loaded by path (CI also runs the tests with
    --import-mode=importlib against the installed wheel, where tests/ is not on sys.path)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"_helpers_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_folders = _sibling("test_result_folders")
assert_complete, leftovers, small_scenario = _folders.assert_complete, _folders.leftovers, _folders.small_scenario

RUNS = 20
POINTS = ("staging", "written", "swapped")
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)
EXPECTED = {signal.SIGKILL: -signal.SIGKILL, signal.SIGTERM: 143, signal.SIGINT: 130, signal.SIGHUP: 129}


def _start(scenario, out, fault=None):
    env = dict(os.environ, ABLATION_TEST_FAULT=fault or "")
    return subprocess.Popen([sys.executable, "-m", "ablation", "run", str(scenario), "--out", str(out), "--no-scene",
                             "--quiet", "--workers", "1"], stderr=subprocess.PIPE, text=True, env=env,
                            cwd=out.parent, preexec_fn=default_sigint)


def test_killed_runs_leave_all_or_nothing(tmp_path):
    rng = random.Random(20240607)
    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    first = _start(scenario, out)
    assert first.wait() == 0, first.stderr.read()
    known = {assert_complete(out)["run_id"]}
    outcomes = {"previous kept": 0, "new complete": 0}
    for _ in range(RUNS):
        point, how = rng.choice(POINTS), rng.choice(("pause", "pause", "exit"))
        sig = rng.choice(SIGNALS)
        before = assert_complete(out)["run_id"]
        proc = _start(scenario, out, f"{point}:{how}")
        if how == "pause":
            for line in proc.stderr:                    # wait for the run to reach the point
                if line.startswith(f"ABLATION_TEST_FAULT {point}"):
                    break
            proc.send_signal(sig)
            code = proc.wait()
            assert code == EXPECTED[sig], (point, sig, proc.stderr.read())
        else:
            assert proc.wait() == 99
        after = assert_complete(out)["run_id"]          # complete: the manifest matches
        if after == before:
            outcomes["previous kept"] += 1
            assert point != "swapped"
        else:
            outcomes["new complete"] += 1
            assert point == "swapped" and after not in known
        known.add(after)
        stale = leftovers(tmp_path, "out")
        if how == "pause" and sig != signal.SIGKILL:
            assert stale == [], (point, sig, stale)     # cleaned up on the way out
        else:
            assert all(".partial-" in s or s == ".out.lock" for s in stale), stale
    print(f"fault injection: {RUNS} killed runs, {outcomes}")
    assert outcomes["previous kept"] and outcomes["new complete"]
    last = _start(scenario, out)                        # the next run removes what killed runs left
    assert last.wait() == 0
    assert_complete(out)
    assert leftovers(tmp_path, "out") == []


def test_converge_terminated_while_writing_leaves_nothing(tmp_path):
    """`ablation converge --out` is staged like a run: terminated with everything staged, the
    folder does not exist and no staging folder or lock is left."""
    scenario = small_scenario(tmp_path)
    out = tmp_path / "conv"
    env = dict(os.environ, ABLATION_TEST_FAULT="written:pause")
    proc = subprocess.Popen([sys.executable, "-m", "ablation", "converge", str(scenario), "--levels", "2",
                             "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path, preexec_fn=default_sigint)
    reached = False
    for line in proc.stderr:
        if line.startswith("ABLATION_TEST_FAULT written"):
            reached = True
            break
    if reached:
        proc.send_signal(signal.SIGTERM)
    code = proc.wait()
    assert reached and code == 143, (code, proc.stderr.read())
    assert not out.exists() and leftovers(tmp_path, "conv") == []


def test_interrupted_view_leaves_no_half_written_picture(tmp_path, monkeypatch):
    """Ctrl-C while the picture is being written: no file at --out and no staging file."""
    from ablation.cli import main
    from ablation.output import scene
    scenario = small_scenario(tmp_path)
    res = tmp_path / "res"
    assert main(["run", str(scenario), "--out", str(res), "--no-scene", "--quiet", "--workers", "1"]) == 0

    def interrupted_render(result, path, **kwargs):
        Path(path).write_bytes(b"\x89PNG half")
        raise KeyboardInterrupt
    monkeypatch.setattr(scene, "render_scene", interrupted_render)
    out = tmp_path / "v.png"
    assert main(["view", str(res), "--out", str(out)]) == 130
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []


def test_an_interrupt_python_drops_in_a_weakref_callback_is_delivered_again(monkeypatch):
    """s24 audit: SIGTERM raised while a weakref callback ran was printed as 'Exception ignored' and
    the run went on to exit 0. The command line's unraisable hook sends the signal again, to be
    raised where the program is next; an ordinary unraisable error still reaches the old hook."""
    import os
    import signal
    import time
    from types import SimpleNamespace
    from ablation import cli
    sent, passed_on = [], []
    monkeypatch.setattr(os, "kill", lambda pid, number: sent.append((pid, number)))
    hook = cli._redeliver_lost_interrupts(passed_on.append)
    hook(SimpleNamespace(exc_value=cli.Terminated()))
    hook(SimpleNamespace(exc_value=KeyboardInterrupt()))
    hook(SimpleNamespace(exc_value=ValueError("in __del__")))
    for timer in hook.pending:
        timer.join(1.0)
    assert sorted(sent) == sorted([(os.getpid(), signal.SIGTERM), (os.getpid(), signal.SIGINT)])
    assert len(passed_on) == 1 and isinstance(passed_on[0].exc_value, ValueError)


def test_a_signal_during_held_output_is_raised_after_it():
    """s24 audit: SIGTERM inside pyvista's lazy import of a VTK module crashed the process or raised
    ImportError. While output is written (signals_held) the signal is recorded and raised after."""
    import os
    import signal
    from ablation import cli
    from ablation.output.files import signals_held
    previous = signal.signal(signal.SIGTERM, cli._on_sigterm)
    steps = []
    try:
        with pytest.raises(cli.Terminated):
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):      # bytecode boundaries where the handler would run
                    steps.append(1)
                steps.append("finished")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert steps[-1] == "finished"


def test_import_alone_is_light_and_a_ctrl_c_while_the_command_line_loads_is_reported():
    """`import ablation` loads only its version; the public names load on first use. The `ablation`
    command (ablation.__main__.main) imports the command line inside main, so a Ctrl-C while the
    solvers' modules load (about a second) exits 130 with one line, not a traceback (s24 audit)."""
    code = ("import sys, ablation\n"
            "print(sorted(m for m in sys.modules if m.startswith('ablation')))\n"
            "from ablation.pipeline import simulate\n"
            "print(ablation.simulate is simulate, 'load_result' in dir(ablation))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["['ablation', 'ablation.version']", "True True"]
    # a Ctrl-C raised while ablation.cli imports: a finder on sys.meta_path raises it at that import
    code = ("import sys\n"
            "class Interrupting:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'ablation.cli':\n"
            "            raise KeyboardInterrupt\n"
            "sys.meta_path.insert(0, Interrupting())\n"
            "from ablation.__main__ import main\n"
            "sys.exit(main())\n")
    out = subprocess.run([sys.executable, "-c", code, "validate", "x.toml"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 130
    assert out.stderr.strip() == "interrupted while starting: nothing was run"


def test_re_solved_placement_samples_survive_a_broken_worker_pool(monkeypatch, caplog):
    """A local pool whose workers die (killed for memory; a script read from stdin, which spawned
    workers cannot import) falls back to solving the samples here, as the step check does, with a
    warning; the values are those of the jobs solved one by one."""
    import logging
    from concurrent.futures.process import BrokenProcessPool
    from ablation.outcome.placement import resolve

    class DeadPool:
        def shutdown(self, wait=True, cancel_futures=False):
            pass

        def submit(self, function, item):
            raise BrokenProcessPool("a process in the process pool was terminated abruptly")
    solved = []
    monkeypatch.setattr(resolve, "local_pool", lambda *a, **k: DeadPool())
    monkeypatch.setattr(resolve, "solve_job", lambda job: solved.append(job) or [job * 10])
    caplog.set_level(logging.WARNING, logger="ablation")
    assert resolve.solve_all([1, 2, 3]) == [[10], [20], [30]]
    assert solved == [1, 2, 3]
    assert "solving the 3 samples here" in caplog.text


def _spawned_children(pid: int) -> set[int]:
    """Worker processes (multiprocessing spawn) whose parent is ``pid``, read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if ppid == str(pid) and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def test_a_stopped_pool_ends_its_running_tasks():
    """An interrupted run stops its worker processes at once (stop_pool); a shutdown alone waits for
    the running tasks (a re-solved insertion sequence runs for minutes). The shutdown forgets the
    processes, so they must be taken before it. Checked in /proc: the pool's own thread reaps the
    workers, so a second join here could see them as alive (s29: failed once in CI that way)."""
    from ablation.run.parallel import local_pool, stop_pool
    pool = local_pool(2, 2)
    futures = [pool.submit(time.sleep, 120) for _ in range(2)]
    while not all(f.running() for f in futures):
        time.sleep(0.05)
    workers = list(pool._processes)
    assert len(workers) == 2
    stop_pool(pool)
    assert wait_until_stopped(workers, 20)    # the tasks alone would run for 120 s


def test_workers_exit_when_their_parent_is_killed_outright():
    """SIGKILL (or the out-of-memory killer) gives a run no chance to stop its workers; each worker
    exits by itself once its parent is gone, instead of solving on as an orphan (s29: a comparison
    worker of a killed run was still solving 43 min later)."""
    code = ("import sys, time\n"
            "from ablation.run.parallel import local_pool\n"
            "if __name__ == '__main__':\n"
            "    pool = local_pool(2, 2)\n"
            "    futures = [pool.submit(time.sleep, 120) for _ in range(2)]\n"
            "    while not all(f.running() for f in futures):\n"
            "        time.sleep(0.05)\n"
            "    print(' '.join(map(str, pool._processes)), flush=True)\n"
            "    time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2 and still_working(workers)
    parent.kill()
    parent.wait(timeout=30)
    assert wait_until_stopped(workers, 15)    # their tasks alone would run for 120 s


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_run_stopped_while_its_workers_solve_ends_them_at_once(tmp_path, sig):
    """Re-solved insertion sequences run on worker processes for minutes each: a stopped run stops
    them too and exits at once, leaving no folder, lock or process (a pool shutdown alone waited for
    the running solves, 10 min in a measured case). SIGHUP (s41: the terminal closed) killed the run
    outright and left its lock; it stops like SIGTERM, with exit 129."""
    scenario = small_scenario(tmp_path, **{
        "time.duration": "10 min", "placement.resolve_samples": 4, "placement.samples": 4,
        "placement.insertions": [{"tip": [4, 0, 0]}, {"tip": [-4, 0, 0]}]})
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "ablation", "run", str(scenario), "--out", str(out), "--no-scene",
                             "--quiet", "--workers", "2"], stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            preexec_fn=default_sigint)
    seen, deadline = set(), time.monotonic() + 120
    while len(seen) < 2 and proc.poll() is None and time.monotonic() < deadline:
        seen |= _spawned_children(proc.pid)
        time.sleep(0.2)
    assert len(seen) >= 2, "no worker processes started"
    time.sleep(1.0)
    proc.send_signal(sig)
    code = proc.wait(timeout=30)          # the solves left alone run for minutes
    assert code == EXPECTED[sig], proc.stderr.read()
    assert wait_until_stopped(seen, 10)
    assert not out.exists() and leftovers(tmp_path, "out") == []

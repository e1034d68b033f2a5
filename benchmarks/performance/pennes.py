"""Speed of the Pennes step: the fast path, the FiPy-term path and a minimal scipy loop.

Measured side by side in one fresh process (threads pinned to 1: OMP/OpenBLAS/MKL), on the same
discretisation, matrix, solver (conjugate gradients, Jacobi preconditioner, relative residual
1e-10 of the right-hand side) and initial state: the median of 20 steps after 3 warm-up steps.

* fast:  ``BioheatSolver.step`` (assembles the fixed-pattern matrix in place, wall conditions,
         CG solve, heat-balance bookkeeping)
* fipy:  the same step as FiPy terms (``ablation.verification.fipy_reference``), rebuilt by FiPy each step and
         solved with FiPy's scipy ``LinearPCGSolver`` + ``JacobiPreconditioner``, criterion 'RHS'
* limit: the fixed matrix of the first step, right-hand side update and the CG call only

Figures: perf.step_ratio_fipy_over_fast_3d60 (target >= 20), perf.step_ratio_fast_over_limit_3d60
(target <= 1.5), perf.step_ms_fast_axisym_100x200 (target <= 5 ms), perf.peak_rss_mb_fast_3d100
(one 100^3 step in a fresh process; target < 1024 MB).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from ablation.bench import Metric, case

PINNED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "FIPY_SOLVERS": "scipy"}


def _in_fresh_process(what: str, *args) -> dict:
    env = {**os.environ, **PINNED}
    out = subprocess.run([sys.executable, __file__, what, *map(str, args)], capture_output=True, text=True,
                         env=env, timeout=3000)
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- measurement (fresh process)
def _problem(kind: str, n: int):
    """A uniform grid with a held 'probe' cube at 90 degC in the middle, liver properties."""
    from ablation.physics.bioheat import BioheatSolver, LinearStorage
    from ablation.geometry.grid import Domain, Region
    from ablation.geometry.finite_volume import FVGeometry
    h = 1e-3
    if kind == "3d":
        edges = np.linspace(0, n * h, n + 1)
        domain = Domain("3d", None, FVGeometry.rectilinear([edges] * 3), (n,) * 3, [edges] * 3, np.zeros(3), np.eye(3))
        centre = np.full(3, n * h / 2)
        probe = np.all(np.abs(domain.frame_points() - centre[:, None]) < 2.5 * h, axis=0)
    else:  # axisymmetric n x 2n, 0.25 mm cells
        h = 0.25e-3
        r, z = np.linspace(0, n * h, n + 1), np.linspace(0, 2 * n * h, 2 * n + 1)
        domain = Domain("axisymmetric", None, FVGeometry.rectilinear([r, z], axisymmetric=True), (n, 2 * n), [r, z],
                        np.zeros(3), np.eye(3))
        pts = domain.frame_points()
        probe = (pts[0] < 0.75e-3) & (np.abs(pts[2] - n * h) < 10e-3)
    domain.regions = [Region("probe", "probe_active", 0, probe)]
    perfusion = 6.4e-3 * 1050 * 3617
    heat = BioheatSolver(domain, LinearStorage(np.full(domain.n_cells, 1079 * 3540.0)),
                         lambda T: np.full(T.shape, 0.52), np.full(domain.n_cells, perfusion), 37.0, 37.0, 37.0,
                         conductivity_varies=False, tolerance=1e-10)
    heat.surfaces[0].bc, heat.surfaces[0].value = "temperature", 90.0
    heat.set_held_temperature(heat.surfaces[0], 90.0)
    return domain, heat


def _median_ms(fn, warmup=3, repeats=20):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def measure_steps(kind: str, n: int, with_fipy: bool) -> dict:
    import scipy.sparse.linalg as spla
    dt = 5.0 if kind == "3d" else 1.0
    domain, heat = _problem(kind, n)
    start = heat.T.copy()
    out = {"cells": domain.n_cells}

    iters = []

    def fast():
        iters.append(heat.step(dt).iterations)
    out["fast_ms"] = _median_ms(fast)
    out["fast_iterations"] = float(np.median(iters[3:]))

    # limit: the same matrix once, then rhs update + CG only
    heat.T = start.copy()
    cap = heat.storage.secant(heat.T, heat.T)
    A, b0, _, _ = heat.assemble(dt, cap, heat.T)
    A = A.copy()
    transient = cap * domain.geometry.volumes / dt
    constant = b0 - transient * heat.T
    inv = 1.0 / A.diagonal()
    M = spla.LinearOperator(A.shape, matvec=lambda x: inv * x, dtype=float)
    state = {"T": start.copy()}
    lim_iters = []

    def limit():
        count = [0]
        x, info = spla.cg(A, transient * state["T"] + constant, x0=state["T"], rtol=1e-10, atol=0.0, M=M,
                          callback=lambda _: count.__setitem__(0, count[0] + 1))
        state["T"] = x
        lim_iters.append(count[0])
    out["limit_ms"] = _median_ms(limit)
    out["limit_iterations"] = float(np.median(lim_iters[3:]))

    if with_fipy:
        import fipy as fp
        from ablation.verification.fipy_reference import fipy_step
        heat.T = start.copy()
        solver = fp.solvers.scipy.LinearPCGSolver(tolerance=1e-10, criterion="RHS", iterations=2000,
                                                  precon=fp.solvers.scipy.JacobiPreconditioner())

        def fipy_path():
            _, _, T = fipy_step(heat, dt, solver=solver)
            heat.T = T
        out["fipy_ms"] = _median_ms(fipy_path, warmup=2, repeats=20)
        # agreement of the two paths after one step from the same state
        heat.T = start.copy()
        _, _, T_fipy = fipy_step(heat, dt, solver=solver)
        heat.T = start.copy()
        heat.step(dt)
        out["fast_vs_fipy_max_diff_K"] = float(np.max(np.abs(heat.T - T_fipy)))
    return out


def measure_rss(n: int) -> dict:
    import resource
    domain, heat = _problem("3d", n)
    t0 = time.perf_counter()
    heat.step(5.0)
    return {"cells": domain.n_cells, "step_s": time.perf_counter() - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


# ---------------------------------------------------------------- benchmark cases
@case(quick=False)
def step_3d60(ctx):
    m = _in_fresh_process("steps", "3d", 60, 1)
    ctx.figures.update({
        "perf.step_ms_fast_3d60": m["fast_ms"], "perf.step_ms_fipy_3d60": m["fipy_ms"],
        "perf.step_ms_limit_3d60": m["limit_ms"],
        "perf.step_ratio_fipy_over_fast_3d60": m["fipy_ms"] / m["fast_ms"],
        "perf.step_ratio_fast_over_limit_3d60": m["fast_ms"] / m["limit_ms"],
        "perf.cg_iterations_fast_3d60": m["fast_iterations"], "perf.cg_iterations_limit_3d60": m["limit_iterations"]})
    note = f"{m['cells']} cells; CG iterations fast {m['fast_iterations']:.0f}, limit {m['limit_iterations']:.0f}"
    return [Metric("ratio_fipy_over_fast", m["fipy_ms"] / m["fast_ms"], 20.0, 0.0, "x", "at_least", note),
            Metric("ratio_fast_over_limit", m["fast_ms"] / m["limit_ms"], 1.5, 0.0, "x", "at_most", note),
            Metric("fast_vs_fipy_max_diff", m["fast_vs_fipy_max_diff_K"], 0.0, 1e-6, "K", "at_most",
                   "same step through both paths (CG to 1e-10)")]


@case()
def step_axisym_100x200(ctx):
    n = 50 if ctx.quick else 100
    m = _in_fresh_process("steps", "axisymmetric", n, 0)
    key = "perf.step_ms_fast_axisym_100x200" if not ctx.quick else "perf.step_ms_fast_axisym_50x100_quick"
    ctx.figures[key] = m["fast_ms"]
    ctx.figures[key.replace("fast", "limit")] = m["limit_ms"]
    target = 5.0 if not ctx.quick else 5.0
    return [Metric("step_ms_fast", m["fast_ms"], target, 0.0, "ms", "at_most",
                   f"{m['cells']} cells, {m['fast_iterations']:.0f} CG iterations, limit {m['limit_ms']:.2f} ms")]


@case(quick=False)
def peak_rss_3d100(ctx):
    m = _in_fresh_process("rss", 100)
    ctx.figures["perf.peak_rss_mb_fast_3d100"] = m["peak_rss_mb"]
    ctx.figures["perf.step_s_fast_3d100"] = m["step_s"]
    return [Metric("peak_rss_mb", m["peak_rss_mb"], 1024.0, 0.0, "MB", "at_most",
                   f"{m['cells']} cells, grid build + one step in a fresh process")]


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "steps":
        print(json.dumps(measure_steps(sys.argv[2], int(sys.argv[3]), bool(int(sys.argv[4])))))
    elif what == "rss":
        print(json.dumps(measure_rss(int(sys.argv[2]))))

"""The sweep engine on dask.distributed: one task per sample, results in the store.

:func:`local_cluster` starts a LocalCluster of worker processes with one thread each (the solver
is single-threaded; BLAS is held to one thread per process by the nanny's environment and by
:func:`ablation.runtime.single_blas_thread`); :func:`connect` joins an existing scheduler. Either
way :func:`run_samples` submits the samples still to do, at most ``window`` at a time (the
scheduler holds a bounded graph however large the sweep), and reports each finished one through
``progress(done, total, label)``.

Failures: a sample whose model raises is recorded by its own task (:mod:`ablation.sweep.task`).
A worker that dies mid-task is replaced by its nanny and the scheduler reruns the task elsewhere
(up to ``distributed.scheduler.allowed-failures`` times, default 3); a task that outlives that is
recorded here as a failure (KilledWorker) and the sweep goes on. Rows are written atomically, so
a killed task leaves nothing half-written and its rerun writes the same row.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from dataclasses import dataclass, field

from ablation.sweep import store
from ablation.sweep.task import failure_record, run_sample

log = logging.getLogger(__name__)


def local_cluster(workers: int | None = None, dashboard: bool = True, **kwargs):
    """A LocalCluster sized to the machine (one single-threaded worker process per core), on the
    loopback interface; its dashboard on a free port when ``dashboard``."""
    from distributed import LocalCluster
    count = max(1, int(workers or os.cpu_count() or 1))
    # the scheduler's HTTP server (health, metrics; the dashboard when wanted) on a free port: a
    # fixed 8787 collides with other clusters on a shared machine
    kwargs["dashboard_address"] = "127.0.0.1:0"
    if not dashboard:
        kwargs["scheduler_kwargs"] = {"dashboard": False}
    # Ctrl-C at a terminal reaches the whole process group: each worker process printed a traceback
    # of its own KeyboardInterrupt under the command's message. The workers start with SIGINT
    # ignored (a disposition a new process inherits; Python and asyncio then install no handler of
    # their own); the command stops them itself when it is interrupted. The price: a Ctrl-C in the
    # second or two the cluster takes to start is not seen.
    held = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if held else None
    try:
        return LocalCluster(n_workers=count, threads_per_worker=1, processes=True, host="127.0.0.1",
                            silence_logs=logging.ERROR, **kwargs)
    finally:
        if held:
            signal.signal(signal.SIGINT, previous)


def connect(address: str):
    """A client of the scheduler at ``address`` (e.g. tcp://10.0.0.5:8786)."""
    from distributed import Client
    return Client(address, timeout="30s")


@dataclass
class Outcome:
    ran: int = 0
    ok: int = 0
    failed: int = 0
    rows: dict = field(default_factory=dict)     # sample -> row of the samples finished in this run


def run_samples(client, model, design, metrics, directory, todo, progress=None, done_before: int = 0,
                window: int | None = None) -> Outcome:
    """Run the samples ``todo`` (indices into ``design``) on ``client``'s cluster."""
    from distributed import as_completed
    todo = list(todo)
    total = len(design)
    window = window or max(64, 8 * _worker_count(client))
    directory = str(directory)
    outcome = Outcome()
    key_stem = f"sweep-{uuid.uuid4().hex[:12]}"     # unique per call: Dask keys must not repeat

    def submit(i):
        sample = design.samples[i]
        row = {path: _scalar(column[i]) for path, column in design.columns.items()}
        return client.submit(run_sample, model, sample, row, tuple(metrics), directory,
                             key=f"{key_stem}-{i}", pure=False)

    pending = iter(todo)
    running = {}
    for i in pending:
        running[submit(i)] = i
        if len(running) >= window:
            break
    done = done_before
    queue = as_completed(list(running))
    try:
        for future in queue:
            i = running.pop(future)
            outcome.ran += 1
            if future.status == "error":
                exc = future.exception()
                log.warning("sample %d failed outside its model (%s: %s); recorded", i, type(exc).__name__, exc)
                store.write_failure(directory, i, failure_record(
                    model, design.samples[i], exc,
                    f"{type(exc).__name__}: {exc} (the worker running it died or the task could not run)"))
                outcome.failed += 1
            else:
                record = future.result()
                outcome.ok += record["status"] == "ok"
                outcome.failed += record["status"] != "ok"
                if record.get("row") is not None:
                    outcome.rows[i] = record["row"]
            future.release()
            done += 1
            if progress is not None:
                progress(done, total, "samples")
            nxt = next(pending, None)
            if nxt is not None:
                f = submit(nxt)
                running[f] = nxt
                queue.add(f)
    finally:
        if running:             # interrupted: nothing more is wanted from these
            client.cancel(list(running))
    return outcome


def _worker_count(client) -> int:
    try:
        return max(1, len(client.scheduler_info()["workers"]))
    except Exception:
        return 1


def _scalar(value):
    """A numpy scalar as a plain Python value (for the one-row Parquet file)."""
    return value.item() if hasattr(value, "item") else value

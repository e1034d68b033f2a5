"""Parallel work through any :class:`concurrent.futures.Executor`.

The toolkit never creates worker processes behind the caller's back except through
:func:`local_pool`, the default when no executor is given: fresh (spawned) processes whose BLAS
libraries are limited to one thread each. Forked children inherit the parent's BLAS thread pool,
and several processes spinning BLAS threads on two cores ran 5-10x slower here."""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

#: s between a worker's checks that the process that started it is still alive
PARENT_CHECK_INTERVAL = 1.0


def _worker_setup(parent: int) -> None:
    """Each worker of :func:`local_pool`: one BLAS thread, and an exit as soon as its parent (pid
    ``parent``, given by the pool: a worker may start after its parent died) is gone. A parent
    killed outright (SIGKILL, the kernel's out-of-memory killer) cannot stop its workers, which
    would otherwise finish their task as orphans: measured, a 3-D comparison run still solving,
    with 6.8 GB resident, 43 min after its run was killed."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)

    def exit_with_parent():
        while os.getppid() == parent:       # an orphan is handed to another process
            time.sleep(PARENT_CHECK_INTERVAL)
        os._exit(1)
    threading.Thread(target=exit_with_parent, name="exit-with-parent", daemon=True).start()


def may_use_every_core() -> bool:
    """Whether this process may put work on the machine's other cores itself: there are any, and
    it is not a worker of a pool (placement samples, sweeps, the step check's worker), whose pool
    already fills them."""
    return (os.cpu_count() or 1) >= 2 and multiprocessing.parent_process() is None


def local_pool(tasks: int, workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool of ``workers`` (default: one per core, at most ``tasks``) spawned workers."""
    count = max(1, min(workers or os.cpu_count() or 1, tasks))
    return ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_setup, initargs=(os.getpid(),))


def stop_pool(pool: ProcessPoolExecutor, wait: bool = False) -> None:
    """Stops a local pool at once, its running tasks too (a failed or interrupted caller): otherwise
    the interpreter waits for them at exit. ``wait``: returns only once its processes have exited
    (their memory freed)."""
    # taken before the shutdown, which forgets them (Python 3.11 sets _processes to None)
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    if wait:
        for process in processes:
            process.join()


def map_in_order(executor, function, items: list, progress=None, label: str = "tasks") -> list:
    """``[function(item) for item in items]`` on ``executor``, in order; ``progress(done, total,
    label)`` after each finished item."""
    futures = [executor.submit(function, item) for item in items]
    out = []
    for k, future in enumerate(futures):
        out.append(future.result())
        if progress is not None:
            progress(k + 1, len(items), label)
    return out

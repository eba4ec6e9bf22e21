"""One way to run independent, CPU-bound tasks: in this process (``workers <= 1``) or a local process pool.

Tasks are ``(key, args)`` pairs and ``fn`` a module-level function, so they pickle. Results come back keyed, in
the order tasks were given, whatever order they finish in: callers stay deterministic because every task derives
its random state from its own key (:func:`task_seed`), never from a generator shared across tasks. Workers are
spawned, not forked: a forked child of a process that has started JAX or OpenMP threads can deadlock.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable, Iterable
from typing import Any


def task_seed(*parts: Any) -> int:
    """A stable 32-bit seed from a task's key (the same in every process and Python run, unlike ``hash``)."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def _one_thread_per_worker() -> None:
    """Runs first in every worker, before numpy/JAX load: the pool is the parallelism, so each worker keeps to one
    thread (two workers that each start a thread per core oversubscribe a small machine)."""
    import os

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def map_tasks(fn: Callable[..., Any], tasks: Iterable[tuple[Hashable, tuple]], workers: int = 1,
              on_done: Callable[[Hashable, Any], None] | None = None) -> dict[Hashable, Any]:
    """``{key: fn(*args)}``; ``on_done(key, result)`` is called in this process as each task finishes.

    Give the longest tasks first: the pool starts them in the order given, which keeps both cores busy to the end.
    """
    tasks = list(tasks)
    out: dict[Hashable, Any] = {}
    if workers <= 1 or len(tasks) <= 1:
        for key, args in tasks:
            out[key] = fn(*args)
            if on_done:
                on_done(key, out[key])
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_one_thread_per_worker) as pool:
            futures = {pool.submit(fn, *args): key for key, args in tasks}
            try:
                for fut in as_completed(futures):
                    key = futures[fut]
                    out[key] = fut.result()
                    if on_done:
                        on_done(key, out[key])
            except BaseException:  # fail now, not after every queued task has run for nothing
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return {key: out[key] for key, _ in tasks}

"""Parallel map for the Monte Carlo and the bootstrap, through joblib.

Each task is a chunk of independent refits that stops at an absolute deadline (wall clock, so it
holds on another machine of a cluster too). The results come back in task order, so they do not
depend on how many workers ran them.

n_jobs=None picks by measurement: a refit costs ~2-5 ms alone and ~1-3 ms in a batch, and
starting the worker processes costs ~1 s once per process (they are reused afterwards; 5 s on a
busy machine), so the work goes to every core when its estimated serial time is at least
PARALLEL_MIN_WORK_S and its time bound at least PARALLEL_MIN_SECONDS; otherwise it runs here. On two cores a warm pool of two ran 40
refits in 0.7x the serial time, a cold one in 3.5x. Under
``joblib.parallel_config`` (a Dask or Ray cluster, or an explicit n_jobs) the configuration
decides. joblib's process pool is one per process, shared by every call.
"""
from __future__ import annotations

import os
import time
import warnings
from typing import Callable, Iterable, Sequence

import numpy as np
from joblib import Parallel, delayed, parallel
from joblib.parallel import get_active_backend

from .results import LawInputError

__all__ = ["resolve_jobs", "run_chunks", "PARALLEL_MIN_WORK_S", "REFIT_S", "BATCH_REFIT_S", "chunked", "check_jobs"]

PARALLEL_MIN_WORK_S = 8.0  # serial work (s) below which worker processes do not pay for their start (1-5 s cold)
REFIT_S = 0.005            # one refit polished on its own (a bootstrap replicate): ~2-5 ms
BATCH_REFIT_S = 0.002      # one refit of a batch (Monte Carlo, laws.fit.batch): 1.2-2.7 ms for 30-480 runs
PARALLEL_MIN_SECONDS = 10  # a shorter time bound leaves no room for starting the processes (1-5 s on a busy machine)
CHUNKS_PER_WORKER = 4      # tasks per worker: small enough to balance, large enough to amortise dispatch
SERIAL_CHUNKS = 20         # chunks of a serial run: progress and the deadline are checked between them


def check_jobs(n_jobs) -> None:
    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool)
                               or n_jobs == 0 or n_jobs < -1):
        raise LawInputError("n_jobs", f"n_jobs must be a positive integer, -1 (every core) or None (chosen by the work); got {n_jobs!r}")


def resolve_jobs(n_jobs: int | None, n_tasks: int, time_limit_s: float = float("inf"),
                 task_s: float = REFIT_S) -> int | None:
    """Workers to ask joblib for: n_jobs when given; under a parallel_config, its n_jobs (None) or,
    when it names only a backend, all of that backend's workers (-1); else every core when the
    work is large enough, and the time bound long enough, to pay for processes; one otherwise."""
    if n_jobs is not None:
        return int(n_jobs)
    backend, configured_jobs = get_active_backend()
    if configured_jobs is not None:
        return None
    if type(backend) is not parallel.BACKENDS[parallel.DEFAULT_BACKEND]:
        return -1
    pays = n_tasks * task_s >= PARALLEL_MIN_WORK_S and time_limit_s >= PARALLEL_MIN_SECONDS
    return (os.cpu_count() or 1) if pays else 1


def chunked(items: Sequence, n_jobs: int | None, min_size: int = 1) -> list:
    """Items split into tasks: CHUNKS_PER_WORKER per worker, or SERIAL_CHUNKS when serial; at least
    min_size items per task (work done in batches pays per task, not per item)."""
    workers = n_jobs if n_jobs and n_jobs > 0 else os.cpu_count() or 1
    n_chunks = SERIAL_CHUNKS if n_jobs == 1 else max(2, workers) * CHUNKS_PER_WORKER
    size = max(1, min_size, -(-len(items) // n_chunks))
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_chunks(fn: Callable, chunks: Iterable, n_jobs: int | None, consume: Callable[[list], bool],
               deadline: float) -> None:
    """Call fn(chunk, deadline) for every chunk and pass each result, in order, to consume; stop
    (and cancel what is left) when consume returns True or the deadline (time.time()) passes."""
    if n_jobs == 1:
        for chunk in chunks:
            if consume(fn(chunk, deadline)) or time.time() > deadline:
                return
        return
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    results = runner(delayed(fn)(chunk, deadline) for chunk in chunks)
    try:
        for rows in results:
            if consume(rows) or time.time() > deadline:
                return
    finally:
        with warnings.catch_warnings():  # the tasks left when the caller stops are cancelled on purpose
            warnings.filterwarnings("ignore", message=".*tasks which were still being processed", category=UserWarning)
            results.close()

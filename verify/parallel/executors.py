"""The executors: the cells of a map one after the other, or as tasks on a Dask cluster.

:class:`Serial`
    The cells one after the other in this process: the default, and all that the core
    needs (Dask is never imported unless a cluster is asked for).
:class:`DaskExecutor`
    The cells as tasks on a ``distributed.Client`` (made by :mod:`.cluster`).  Dask does
    the scheduling, the transport and the retries; this module only groups cells into
    tasks and puts the results back in order.

Every cell runs with one numba thread on a worker (a cell is a unit of one core); the
kernels give the same numbers whatever the thread count, so serial and distributed runs
agree exactly.  A cell much shorter than a second gains nothing from being a task of its
own: the Dask executor measures the first cells and then groups the following ones so
that a task lasts about ``task_s`` seconds (see :meth:`DaskExecutor.map`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .progress import Progress, report

__all__ = ["TASK_S", "CellTiming", "DaskExecutor", "ExecutorError", "Serial"]

#: Target duration of one task when small cells are grouped (seconds).
TASK_S = 1.0


class ExecutorError(ValueError):
    """The executor asked for cannot be had (unreachable scheduler, missing file, bad count).

    A ``ValueError``: like a bad argument, it is the caller's choice that cannot be met, and
    the command line exits 2 with its message.
    """


@dataclass(frozen=True)
class CellTiming:
    """One task of a map: how many cells it held and how long they ran (worker seconds)."""

    label: str
    cells: int
    seconds: float


class _Base:
    """What every executor shares: progress callback, timing log, context manager."""

    name = "executor"

    def __init__(self, progress: Callable[[Progress], None] | None = None):
        self.progress = progress
        #: Every task run so far, in completion order (for benchmarks and scaling models).
        self.timings: list[CellTiming] = []

    def close(self) -> None:
        """Release what the executor started (nothing by default)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Serial(_Base):
    """Run the cells one after the other in this process (the default)."""

    name = "serial"

    def map(self, fn: Callable, cells: Sequence, label: str = "cells") -> list:
        """Return ``[fn(c) for c in cells]``, reporting progress after each cell."""
        t0 = time.perf_counter()
        report(self.progress, label, 0, len(cells), t0)
        out = []
        for i, cell in enumerate(cells):
            t1 = time.perf_counter()
            out.append(fn(cell))
            self.timings.append(CellTiming(label, 1, time.perf_counter() - t1))
            report(self.progress, label, i + 1, len(cells), t0)
        return out


def _run_task(fn, cells, device, threads):
    """Worker side: the cells of one task under the caller's device, ``threads`` numba threads."""
    import numba

    from ..device import using as using_device

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        t0 = time.perf_counter()
        with using_device(device):
            out = [fn(c) for c in cells]
        return out, time.perf_counter() - t0
    finally:
        numba.set_num_threads(before)


class DaskExecutor(_Base):
    """Run the cells as tasks on a Dask cluster through a ``distributed.Client``.

    Parameters
    ----------
    client : distributed.Client
        A connected client.
    cluster : object, optional
        A cluster this executor started (closed with it).
    owns_client : bool, optional
        Whether :meth:`close` closes ``client`` too (True when this module made it).
    progress : callable, optional
        Called with a :class:`Progress` at the start of a map and after every task.
    chunksize : int or None, optional
        Cells per task; ``None`` (default) groups cells shorter than ``task_s`` seconds.
    task_s : float, optional
        Target duration of a task when grouping, seconds (> 0).
    threads_per_cell : int, optional
        numba threads a cell may use on its worker (>= 1; default 1).
    """

    def __init__(
        self,
        client,
        *,
        cluster=None,
        owns_client=False,
        progress=None,
        chunksize: int | None = None,
        task_s: float = TASK_S,
        threads_per_cell: int = 1,
    ):
        super().__init__(progress)
        if chunksize is not None and (int(chunksize) != chunksize or chunksize < 1):
            raise ExecutorError(f"chunksize must be an integer >= 1 or None, got {chunksize!r}")
        if not (task_s > 0 and math.isfinite(task_s)):
            raise ExecutorError(f"task_s must be a finite number > 0, got {task_s!r}")
        if int(threads_per_cell) != threads_per_cell or threads_per_cell < 1:
            raise ExecutorError(
                f"threads_per_cell must be an integer >= 1, got {threads_per_cell!r}"
            )
        self.client = client
        self.cluster = cluster
        self.owns_client = owns_client
        self.chunksize = None if chunksize is None else int(chunksize)
        self.task_s = float(task_s)
        self.threads_per_cell = int(threads_per_cell)

    @property
    def name(self) -> str:
        """``dask (N worker threads)``."""
        return f"dask ({self.workers()} worker threads)"

    def workers(self) -> int:
        """Cells the cluster runs at once now: its worker threads (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def _group(self, pending: int, per_cell_s: float | None, workers: int) -> int:
        if self.chunksize is not None:
            return self.chunksize
        if per_cell_s is None:
            return 1
        size = int(self.task_s / max(per_cell_s, 1e-9))
        keep_busy = math.ceil(pending / (2 * workers))  # leave >= 2 tasks per worker
        return max(1, min(size, keep_busy))

    def map(self, fn: Callable, cells: Sequence, label: str = "cells") -> list:
        """Apply ``fn`` to every cell on the cluster; results in cell order.

        At most two tasks per worker are in flight at a time, so that the grouping can
        follow the measured cell duration; Dask chooses the worker and reruns a task whose
        worker died.
        """
        from distributed import as_completed

        from ..device import current as current_device

        cells = list(cells)
        total = len(cells)
        t0 = time.perf_counter()
        report(self.progress, label, 0, total, t0)
        if not total:
            return []
        device, workers, asked = current_device(), self.workers(), time.perf_counter()
        results: list = [None] * total
        tasks: dict = {}  # future -> (first index, cells)
        queue = as_completed(loop=self.client.loop)
        next_i, done, cell_s, cells_timed = 0, 0, 0.0, 0

        def submit():
            nonlocal next_i
            per_cell = cell_s / cells_timed if cells_timed else None
            size = self._group(total - next_i, per_cell, workers)
            chunk = cells[next_i : next_i + size]
            fut = self.client.submit(
                _run_task,
                fn,
                chunk,
                device,
                self.threads_per_cell,
                pure=False,
                key=f"{label}-cells-{next_i}-{os.urandom(4).hex()}",
            )
            tasks[fut] = (next_i, chunk)
            queue.add(fut)
            next_i += size

        try:
            while next_i < total and len(tasks) < 2 * workers:
                submit()
            for fut in queue:
                first, chunk = tasks.pop(fut)
                out, seconds = fut.result()  # re-raises the cell's own exception
                results[first : first + len(chunk)] = out
                done += len(chunk)
                cell_s, cells_timed = cell_s + seconds, cells_timed + len(chunk)
                self.timings.append(CellTiming(label, len(chunk), seconds))
                report(self.progress, label, done, total, t0)
                if time.perf_counter() - asked > 2.0:  # the cluster may grow or shrink
                    workers, asked = self.workers(), time.perf_counter()
                while next_i < total and len(tasks) < 2 * workers:
                    submit()
        except BaseException:
            self.client.cancel(list(tasks))
            raise
        return results

    def close(self) -> None:
        """Close the client (if this module made it) and the cluster (if it started one)."""
        try:
            if self.owns_client:
                self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

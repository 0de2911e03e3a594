"""Cells on an executor: the one place where independent units of work are mapped.

A claim (or the training experiment) is a map over *cells* and a reduce: each cell is a
pure function of its parameters and its seed, returning a small picklable result.  The
claims call :func:`map_cells`; which executor runs the cells is chosen once, at the edge
(the command line, or ``run_suite(..., client=...)``), with :func:`using`.  The results
always come back in cell order and every cell carries its own seed, so the numbers do not
depend on the executor or on the number of workers.

Using it
--------
In a claim or an experiment (the only call they need)::

    from verify.parallel import map_cells

    def one_cell(cell):  # module level, so that it pickles by reference
        alpha, seed = cell
        return float(stable.sample(alpha, size=10**5, seed=seed).mean())

    seeds = np.random.SeedSequence(seed).generate_state(len(alphas))
    rows = map_cells(one_cell, [(a, int(s)) for a, s in zip(alphas, seeds)], label="C2")

``fn`` must be a module-level function and every cell and result picklable; a cell should
not read global state the caller set (a worker never sees it).  The one context that does
travel is the device (:func:`verify.device.using`): each cell runs under the caller's.
A cell that raises makes :func:`map_cells` raise the same exception (the remaining cells
are cancelled), as the serial loop would.

At the edge (a script, a notebook)::

    from verify import parallel

    with parallel.local(2) as ex, parallel.using(ex):  # a 2-process LocalCluster
        suite = run_suite(["C2"], "full")
    with parallel.connect("tcp://host:8786") as ex:  # an existing cluster
        suite = run_suite(["C2"], "full", client=ex)  # or client=distributed.Client(...)

Executors
---------
:class:`Serial`
    The cells one after the other in this process: the default, and all that the core
    needs (Dask is never imported unless a cluster is asked for).
:class:`DaskExecutor`
    The cells as tasks on a ``distributed.Client``: a local cluster (:func:`local`: worker
    processes with one thread each and ``NUMBA_NUM_THREADS=1``) or an existing one
    (:func:`connect`, by address or scheduler file).  Dask does the scheduling, the
    transport and the retries (a task lost with a killed worker is run again elsewhere);
    this module only groups cells into tasks and puts the results back in order.

Every cell runs with one numba thread on a worker (a cell is a unit of one core); the
kernels give the same numbers whatever the thread count, so serial and distributed runs
agree exactly.

Grouping small cells
--------------------
A task costs a few milliseconds on a local cluster and more over a network, so a cell much
shorter than a second gains nothing from being a task of its own.  The Dask executor sends
the first cells of a map one per task, measures their duration on the workers, and then
groups the following ones so that a task lasts about ``task_s`` seconds (1 s by default),
never grouping so much that a worker would be left idle (at least two tasks per worker
remain).  ``chunksize=k`` fixes the group size instead.  The grouping never changes the
results: it only decides which cells travel together.

Progress
--------
An executor built with ``progress=callback`` calls ``callback(Progress(...))`` when a map
starts and after every finished task (done and total in cells, elapsed seconds, an
estimate of the time remaining); :func:`stderr_progress` is the command line's.  Library
use reports nothing unless asked.

Command line
------------
:func:`add_arguments` adds ``--workers N``, ``--scheduler ADDRESS`` and
``--scheduler-file FILE`` to a parser; :func:`from_args` turns them into an executor (a
context manager that closes what it started, also on Ctrl-C).  A scheduler that cannot be
reached within :data:`CONNECT_TIMEOUT_S` seconds raises :class:`ExecutorError`.  A command
that maps cells (``verify``, ``report``, ``experiment``) needs two lines::

    parallel.add_arguments(subparser)
    ...
    with parallel.from_args(args, progress=parallel.stderr_progress()):
        run = run_experiment(profile, ...)  # whose map calls map_cells(run_cell, cells)
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CONNECT_TIMEOUT_S",
    "CellTiming",
    "DaskExecutor",
    "ExecutorError",
    "Progress",
    "Serial",
    "add_arguments",
    "as_executor",
    "connect",
    "current",
    "from_args",
    "local",
    "map_cells",
    "stderr_progress",
    "using",
]

#: Seconds to wait for a scheduler before giving up with :class:`ExecutorError`.
CONNECT_TIMEOUT_S = 10.0
#: Seconds to wait for a local cluster's workers to start.
START_TIMEOUT_S = 120.0
#: Target duration of one task when small cells are grouped (seconds).
TASK_S = 1.0


class ExecutorError(ValueError):
    """The executor asked for cannot be had (unreachable scheduler, missing file, bad count).

    A ``ValueError``: like a bad argument, it is the caller's choice that cannot be met, and
    the command line exits 2 with its message.
    """


@dataclass(frozen=True)
class Progress:
    """Where one map stands: ``done`` of ``total`` cells after ``elapsed_s`` seconds."""

    label: str
    done: int
    total: int
    elapsed_s: float

    @property
    def remaining_s(self) -> float | None:
        """Estimated seconds left (elapsed time per finished cell; None before the first)."""
        if self.done <= 0:
            return None
        return self.elapsed_s / self.done * (self.total - self.done)


@dataclass(frozen=True)
class CellTiming:
    """One task of a map: how many cells it held and how long they ran (worker seconds)."""

    label: str
    cells: int
    seconds: float


def _report(progress, label, done, total, t0):
    if progress is not None:
        progress(Progress(label, done, total, time.perf_counter() - t0))


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
        _report(self.progress, label, 0, len(cells), t0)
        out = []
        for i, cell in enumerate(cells):
            t1 = time.perf_counter()
            out.append(fn(cell))
            self.timings.append(CellTiming(label, 1, time.perf_counter() - t1))
            _report(self.progress, label, i + 1, len(cells), t0)
        return out


def _run_task(fn, cells, device, threads):
    """Worker side: the cells of one task under the caller's device, ``threads`` numba threads."""
    import numba

    from .device import using as using_device

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

        from .device import current as current_device

        cells = list(cells)
        total = len(cells)
        t0 = time.perf_counter()
        _report(self.progress, label, 0, total, t0)
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
                _report(self.progress, label, done, total, t0)
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


_SERIAL = Serial()
_CURRENT: contextvars.ContextVar = contextvars.ContextVar("executor", default=None)


def current():
    """The executor that :func:`map_cells` uses in this context."""
    ex = _CURRENT.get()
    return _SERIAL if ex is None else ex


def as_executor(obj):
    """An executor from ``obj``: ``None`` (unchanged), an executor, or a ``distributed.Client``."""
    if obj is None or isinstance(obj, _Base):
        return obj
    try:
        from distributed import Client
    except ImportError:
        Client = None  # noqa: N806
    if Client is not None and isinstance(obj, Client):
        return DaskExecutor(obj)
    raise ExecutorError(
        f"client must be None, a verify.parallel executor or a distributed.Client, "
        f"got {type(obj).__name__}"
    )


@contextlib.contextmanager
def using(executor):
    """Run :func:`map_cells` on ``executor`` inside the ``with`` block (``None``: unchanged).

    ``executor`` may also be a ``distributed.Client`` (see :func:`as_executor`).
    """
    executor = as_executor(executor)
    if executor is None:
        yield current()
        return
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)


def map_cells(fn: Callable, cells: Iterable, *, label: str = "cells") -> list:
    """Apply ``fn`` to every cell on the current executor; results in cell order.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of one cell.
    cells : iterable
        The cells: picklable parameter records, each with its own seed.
    label : str, optional
        What the cells belong to (e.g. ``"C3"``), for progress reports.

    Returns
    -------
    list
        ``[fn(c) for c in cells]``, whatever the executor.
    """
    return current().map(fn, list(cells), label)


# ----------------------------------------------------------------------------- clusters
def _require_distributed():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ExecutorError(
            "a Dask cluster needs the 'dist' extra: pip install 'learnability-window[dist]'"
        ) from None


@contextlib.contextmanager
def _spawn_environ(**env):
    """Set ``env`` in this process's environment while worker processes are spawned.

    A worker must see ``NUMBA_NUM_THREADS`` from its first instruction: spawning re-imports
    the caller's main module, which may import numba before Dask applies a worker's own
    ``env``, and numba refuses a thread count changed after its threads started.  Dask's
    ``pre-spawn-environ`` would leave the variable set in *this* process, whose numba is
    already running with its own count; so it is set here only while the cluster starts
    (nothing in this process compiles meanwhile) and restored after.  A worker that Dask
    restarts later starts without it; :func:`_run_task` still runs each cell on one thread.
    """
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def local(
    workers: int,
    *,
    progress=None,
    chunksize=None,
    task_s: float = TASK_S,
    start_timeout_s: float = START_TIMEOUT_S,
) -> DaskExecutor:
    """Start a local Dask cluster of ``workers`` processes (one thread each) and connect.

    The worker processes start with ``NUMBA_NUM_THREADS=1`` (this process's own numba is
    left as it is).  Close the returned executor (or use it in ``with``) to stop
    them.

    Parameters
    ----------
    workers : int
        Worker processes, >= 1.
    progress, chunksize, task_s
        As for :class:`DaskExecutor`.
    start_timeout_s : float, optional
        Seconds to wait for the workers to start.
    """
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ExecutorError(f"workers must be an integer >= 1, got {workers!r}")
    _require_distributed()
    import logging

    from distributed import Client, LocalCluster

    with _spawn_environ(NUMBA_NUM_THREADS="1"):
        cluster = LocalCluster(
            n_workers=int(workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never a clash with another cluster
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
            timeout=start_timeout_s,
        )
    try:
        client = Client(cluster, timeout=start_timeout_s, set_as_default=False)
        client.wait_for_workers(int(workers), timeout=start_timeout_s)
    except BaseException:
        cluster.close()
        raise
    return DaskExecutor(
        client,
        cluster=cluster,
        owns_client=True,
        progress=progress,
        chunksize=chunksize,
        task_s=task_s,
    )


def connect(
    address: str | None = None,
    *,
    scheduler_file=None,
    progress=None,
    chunksize=None,
    task_s: float = TASK_S,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> DaskExecutor:
    """Connect to a running Dask scheduler by ``address`` or ``scheduler_file``.

    Raises
    ------
    ExecutorError
        If neither or both are given, the file does not exist, or the scheduler does not
        answer within ``timeout_s`` seconds.
    """
    if (address is None) == (scheduler_file is None):
        raise ExecutorError("give exactly one of address and scheduler_file")
    if scheduler_file is not None and not Path(scheduler_file).is_file():
        raise ExecutorError(f"scheduler file {str(scheduler_file)!r} does not exist")
    _require_distributed()
    from distributed import Client

    where = address if address is not None else f"the address in {scheduler_file}"
    try:
        client = Client(
            address,
            scheduler_file=None if scheduler_file is None else str(scheduler_file),
            timeout=timeout_s,
            set_as_default=False,
        )
    except (OSError, TimeoutError, ValueError) as exc:
        raise ExecutorError(
            f"cannot reach the Dask scheduler at {where} within {timeout_s:g} s "
            f"({type(exc).__name__}: {exc}); is `dask scheduler` running there?"
        ) from None
    return DaskExecutor(
        client, owns_client=True, progress=progress, chunksize=chunksize, task_s=task_s
    )


# ----------------------------------------------------------------------------- command line
def _worker_count(text):
    import argparse

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return n


def add_arguments(parser) -> None:
    """Add ``--workers``, ``--scheduler`` and ``--scheduler-file`` (mutually exclusive)."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument(
        "--workers",
        type=_worker_count,
        metavar="N",
        help="run the cells on a local Dask cluster of N processes "
        "(one thread each; needs the 'dist' extra)",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the cells on an existing Dask cluster, e.g. tcp://host:8786",
    )
    g.add_argument(
        "--scheduler-file",
        metavar="FILE",
        help="the same, with the scheduler's address read from FILE",
    )


@contextlib.contextmanager
def from_args(args, *, progress=None):
    """The executor the parsed flags ask for, current inside the ``with`` block.

    Serial when none of ``--workers``, ``--scheduler``, ``--scheduler-file`` is given.
    Whatever it started is closed on the way out, also on an exception or Ctrl-C.
    """
    workers = getattr(args, "workers", None)
    address = getattr(args, "scheduler", None)
    file = getattr(args, "scheduler_file", None)
    if workers is not None:
        ex = local(workers, progress=progress)
    elif address is not None or file is not None:
        ex = connect(address, scheduler_file=file, progress=progress)
    else:
        ex = Serial(progress)
    try:
        with using(ex):
            yield ex
    finally:
        ex.close()


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def stderr_progress(stream=None, *, every_s: float = 0.5) -> Callable[[Progress], None]:
    """A progress callback printing ``label done/total elapsed, ~remaining`` lines.

    Lines come at most every ``every_s`` seconds, except the first and last of each map.
    """
    last = [-math.inf]

    def show(p: Progress) -> None:
        now = time.perf_counter()
        if 0 < p.done < p.total and now - last[0] < every_s:
            return
        last[0] = now
        left = p.remaining_s
        eta = "" if left is None else f", ~{_clock(left)} remaining"
        print(
            f"  {p.label}: {p.done}/{p.total} cells, {_clock(p.elapsed_s)} elapsed{eta}",
            file=stream or sys.stderr,
            flush=True,
        )

    return show

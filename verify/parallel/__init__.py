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

Modules
-------
:mod:`.executors`
    :class:`Serial`, :class:`DaskExecutor` and what they share.
:mod:`.context`
    :func:`map_cells`, :func:`using`, :func:`current`: the executor of this context.
:mod:`.cluster`
    :func:`local` and :func:`connect`: Dask clusters (Dask is imported only in this
    package, and only when a cluster is asked for).
:mod:`.flags`
    :func:`add_arguments` and :func:`from_args`: the executor on the command line.
:mod:`.progress`
    :class:`Progress` and :func:`stderr_progress`.
"""

from __future__ import annotations

from .cluster import CONNECT_TIMEOUT_S, connect, local
from .cluster import START_TIMEOUT_S as START_TIMEOUT_S  # not in __all__, as before
from .context import as_executor, current, map_cells, using
from .executors import TASK_S as TASK_S  # not in __all__, as before
from .executors import CellTiming, DaskExecutor, ExecutorError, Serial
from .flags import add_arguments, from_args
from .progress import Progress, stderr_progress

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

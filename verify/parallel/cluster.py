"""Dask clusters: start a local one (:func:`local`) or connect to a running one (:func:`connect`).

Both return a :class:`~verify.parallel.executors.DaskExecutor` that closes what it started
(the cluster, the client) with it.  Dask is imported only when a cluster is asked for;
without the ``dist`` extra the request fails with an
:class:`~verify.parallel.executors.ExecutorError` that names it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .executors import TASK_S, DaskExecutor, ExecutorError

__all__ = ["CONNECT_TIMEOUT_S", "START_TIMEOUT_S", "connect", "local"]

#: Seconds to wait for a scheduler before giving up with :class:`ExecutorError`.
CONNECT_TIMEOUT_S = 10.0
#: Seconds to wait for a local cluster's workers to start.
START_TIMEOUT_S = 120.0


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
    restarts later starts without it; the executor's ``_run_task`` still runs each cell on
    one thread.
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


#: Address schemes whose location is ``host:port`` (the others, e.g. ``inproc``, are
#: checked by Dask itself).
_HOST_PORT_SCHEMES = ("tcp", "tls", "ws", "wss")


def _check_address(address: str) -> None:
    """Refuse a malformed scheduler address before a :class:`distributed.Client` is made.

    ``Client`` raises on such an address only from inside its start-up, and the half-made
    client it leaves behind blocks for twice the timeout when the interpreter collects it,
    then prints a traceback; so the address is parsed here first, with Dask's own parser.
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address, strict=False)
        if scheme in _HOST_PORT_SCHEMES:
            parse_host_port(loc)
        else:
            from distributed.comm.registry import get_backend

            get_backend(scheme)
    except (ValueError, TypeError, ImportError) as exc:
        raise ExecutorError(
            f"not a Dask scheduler address: {address!r} ({exc}); "
            "expected e.g. tcp://HOST:PORT or HOST:PORT"
        ) from None


def _address_in(scheduler_file) -> str:
    """The ``address`` of a Dask scheduler file (JSON), or :class:`ExecutorError`."""
    import json

    try:
        address = json.loads(Path(scheduler_file).read_text(encoding="utf-8"))["address"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExecutorError(
            f"scheduler file {str(scheduler_file)!r} is not a Dask scheduler file with an "
            f"address ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(address, str):
        raise ExecutorError(f"scheduler file {str(scheduler_file)!r}: address is not a string")
    return address


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
        If neither or both are given, the file does not exist or holds no address, the
        address is malformed (refused before any client is made), or the scheduler does
        not answer within ``timeout_s`` seconds.
    """
    if (address is None) == (scheduler_file is None):
        raise ExecutorError("give exactly one of address and scheduler_file")
    if scheduler_file is not None and not Path(scheduler_file).is_file():
        raise ExecutorError(f"scheduler file {str(scheduler_file)!r} does not exist")
    _require_distributed()
    from distributed import Client

    where = address
    if scheduler_file is not None:
        address = _address_in(scheduler_file)
        where = f"{address} (from {scheduler_file})"
    _check_address(address)
    try:
        client = Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ExecutorError(
            f"cannot reach the Dask scheduler at {where} within {timeout_s:g} s "
            f"({type(exc).__name__}: {exc}); is `dask scheduler` running there?"
        ) from None
    return DaskExecutor(
        client, owns_client=True, progress=progress, chunksize=chunksize, task_s=task_s
    )

"""The executor on the command line: ``--workers``, ``--scheduler``, ``--scheduler-file``.

:func:`add_arguments` adds the three (mutually exclusive) flags to a parser;
:func:`from_args` turns the parsed flags into an executor, current inside its ``with``
block, and closes what it started on the way out (also on an exception or Ctrl-C).  A
scheduler that cannot be reached within
:data:`~verify.parallel.cluster.CONNECT_TIMEOUT_S` seconds raises
:class:`~verify.parallel.executors.ExecutorError`.
"""

from __future__ import annotations

import contextlib

from .._argtypes import integer
from .cluster import connect, local
from .context import using
from .executors import Serial

__all__ = ["add_arguments", "from_args"]


def add_arguments(parser) -> None:
    """Add ``--workers``, ``--scheduler`` and ``--scheduler-file`` (mutually exclusive)."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument(
        "--workers",
        type=integer(1),
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

"""Which executor maps the cells here: :func:`map_cells`, and :func:`using` to choose.

The claims (and the training experiment) call :func:`map_cells` and nothing else; the
executor is chosen once, at the edge, with :func:`using` (a context variable, so a
``with`` block nests and threads do not see each other's choice).  Outside any ``with``
block the cells run serially.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable

from .executors import DaskExecutor, ExecutorError, Serial, _Base

__all__ = ["as_executor", "current", "map_cells", "using"]

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

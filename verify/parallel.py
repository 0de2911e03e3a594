"""Cells on an executor: the one place where independent units of work are mapped.

A claim (or the training experiment) is a map over *cells* and a reduce: each cell is a
pure function of its parameters and its seed, returning a small picklable result.  The
claims call :func:`map_cells`; which executor runs the cells is chosen once, by the caller
of the suite, with :func:`using`.  The results always come back in cell order, and every
cell carries its own seed, so the numbers do not depend on the executor.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Sequence

__all__ = ["Serial", "current", "map_cells", "using"]


class Serial:
    """Run the cells one after the other in this process (the default)."""

    name = "serial"

    def map(self, fn: Callable, cells: Sequence, label: str = "cells") -> list:
        """Return ``[fn(c) for c in cells]``."""
        return [fn(c) for c in cells]


_SERIAL = Serial()
_CURRENT: contextvars.ContextVar = contextvars.ContextVar("executor", default=None)


def current():
    """The executor that :func:`map_cells` uses in this context."""
    ex = _CURRENT.get()
    return _SERIAL if ex is None else ex


@contextlib.contextmanager
def using(executor):
    """Run :func:`map_cells` on ``executor`` inside the ``with`` block (``None``: unchanged)."""
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
    """
    return current().map(fn, list(cells), label)

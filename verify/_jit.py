"""The house numba decorators: one place for the jit options used by every kernel."""

from __future__ import annotations

import numba

__all__ = ["jit", "pjit"]

_OPTIONS = dict(cache=True, error_model="numpy", nogil=True)


def jit(fn=None, **kw):
    """Compile ``fn`` for the CPU, serially, with the house options."""
    opts = {**_OPTIONS, **kw}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)


def pjit(fn=None, **kw):
    """Compile ``fn`` for the CPU with ``parallel=True`` (use ``numba.prange`` inside)."""
    opts = {**_OPTIONS, "parallel": True, **kw}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)

"""Argument checks shared by ``theory`` and ``verify``.

Every public entry point validates its inputs here, so that bad input fails early with a
``ValueError`` naming the parameter and its valid range, never with a NaN or a traceback
from deep inside SymPy or numba.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

__all__ = [
    "check_alpha",
    "check_finite_array",
    "check_in_range",
    "check_int",
    "check_positive",
    "check_probability",
]


def _as_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a real number, got {value!r}") from None
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_in_range(
    name: str,
    value,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    note: str = "",
) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` naming the valid interval."""
    v = _as_float(name, value)
    bad_lo = v <= lo if lo_open else v < lo
    bad_hi = v >= hi if hi_open else v > hi
    if bad_lo or bad_hi:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        lo_s = "-inf" if lo == -math.inf else f"{lo:g}"
        hi_s = "inf" if hi == math.inf else f"{hi:g}"
        msg = f"{name} must lie in {left}{lo_s}, {hi_s}{right}, got {v!r}"
        if note:
            msg += f": {note}"
        raise ValueError(msg)
    return v


def check_positive(name: str, value) -> float:
    """Return ``value`` as a float if it is finite and > 0."""
    return check_in_range(name, value, 0.0, math.inf, lo_open=True, hi_open=True)


def check_probability(name: str, value) -> float:
    """Return ``value`` if it lies in the open interval (0, 1)."""
    return check_in_range(name, value, 0.0, 1.0, lo_open=True, hi_open=True)


def check_alpha(alpha, *, lo: float = 1.0) -> float:
    """Check a stability index.

    ``lo=1`` (the default) is the range of the theory, (1, 2]: for alpha <= 1 the
    alpha-stable law has no mean, so the sample mean does not concentrate and the theory
    does not apply.  ``lo=0`` is the range of the sampler, (0, 2].
    """
    a = _as_float("alpha", alpha)
    if lo == 1.0 and 0.0 < a <= 1.0:
        raise ValueError(
            f"alpha must lie in (1, 2], got {a!r}: for alpha <= 1 the alpha-stable noise has "
            "no mean, so the sample mean does not exist and the theory does not apply"
        )
    return check_in_range("alpha", a, lo, 2.0, lo_open=True)


def check_int(name: str, value, lo: int = 1, hi: int | None = None) -> int:
    """Return ``value`` as an int if it is integral and within [lo, hi]."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        iv = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if iv != value:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if iv < lo or (hi is not None and iv > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}")
    return iv


def check_finite_array(name: str, x, *, ndim: int | None = None, dtype=np.float64) -> np.ndarray:
    """Return ``x`` as a C-contiguous array, rejecting NaN/inf and wrong dimensionality."""
    arr = np.ascontiguousarray(x, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d array, got shape {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")
    return arr

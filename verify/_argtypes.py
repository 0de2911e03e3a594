"""Argument types shared by the command lines: checked numbers for ``argparse``.

``learnwin``'s own options (:mod:`verify.cli`) and the executor's ``--workers``
(:mod:`verify.parallel`) parse their numbers here, so that one rule gives one message:
``expected an integer >= 1, got 'x'``.  Like :mod:`verify.device`, this module imports
nothing from the rest of :mod:`verify`, so that any room may use it.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["finite_number", "integer"]


def finite_number(text: str) -> float:
    """A finite float (``nan`` and ``inf`` refused)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def integer(lo: int = 1, hi: int | None = None, *, what: str = "an integer"):
    """An ``argparse`` type accepting the integers in ``[lo, hi]`` (``hi=None``: no bound).

    Text that is not an integer and an integer out of range get the same message,
    ``expected {what} >= {lo}, got {text!r}`` (or ``in [lo, hi]``).
    """
    bounds = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"expected {what} {bounds}, got {text!r}")
        return v

    return parse

"""Progress of a map: where it stands, and the command line's way of showing it.

An executor built with ``progress=callback`` calls ``callback(Progress(...))`` when a map
starts and after every finished task; :func:`stderr_progress` is the callback the command
line uses.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "stderr_progress"]


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


def report(progress, label, done, total, t0):
    """Call ``progress`` (if any) with where the map started at ``t0`` stands."""
    if progress is not None:
        progress(Progress(label, done, total, time.perf_counter() - t0))


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

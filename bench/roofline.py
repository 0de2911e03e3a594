"""Measured ceilings of this machine, for the roofline column of ``run_all.py``.

Each ceiling is measured, on the same machine and with the same numba threads as the
kernels it bounds, by the simplest loop that does the kernel's kind of work at full speed:

* :func:`madd_peak` — multiply-adds per second: every thread runs ``y = y * a + b`` over a
  4 KiB array (in the L1 cache), a loop LLVM vectorises.  The transport kernels' data stay
  in the L1 and L2 caches, so this is their arithmetic ceiling: one unit-update of
  :func:`verify.recurrences.envelope_kernels.product_envelope` costs two multiply-adds and an
  absolute value, so the kernel is at its arithmetic bound at half this rate.
* :func:`stream_bandwidth` — bytes per second of a streaming triad ``z = x + a y`` over
  arrays far larger than the caches (64 MiB each, parallel over threads): the ceiling of
  methods that stream whole (B, T, H) tensors once per lag, as the prefix-sum peers do.
* :func:`draw_floor` — seconds per sample to draw the CMS sampler's two random numbers (a
  uniform and a standard exponential) from ``numpy.random.Generator`` inside numba, one
  thread: the floor of :func:`verify.stable.sample` on one thread.
"""

from __future__ import annotations

import time

import numba
import numpy as np

__all__ = ["draw_floor", "madd_peak", "stream_bandwidth"]


@numba.njit(parallel=True, cache=False)
def _madd(y, a, b, reps):
    for c in numba.prange(y.shape[0]):
        row = y[c]
        for _ in range(reps):
            for j in range(row.shape[0]):
                row[j] = row[j] * a + b


@numba.njit(parallel=True, cache=False)
def _triad(x, y, z, a):
    for i in numba.prange(x.shape[0]):
        z[i] = x[i] + a * y[i]


@numba.njit(cache=False)
def _draw(gen, u, w):
    for i in range(u.shape[0]):
        u[i] = gen.random()
    for i in range(w.shape[0]):
        w[i] = gen.standard_exponential()


def _best(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def madd_peak(repeat: int = 5) -> float:
    """Multiply-adds per second of all numba threads on L1-resident data."""
    threads = numba.get_num_threads()
    y = np.ones((threads, 512))
    reps = 400_000  # ~20 ms per thread: long enough for the scheduler of a shared machine
    _madd(y, 0.999, 0.001, 1)
    return threads * 512 * reps / _best(lambda: _madd(y, 0.999999, 1e-6, reps), repeat)


def stream_bandwidth(repeat: int = 5) -> float:
    """Bytes per second of a parallel triad over three 64 MiB arrays (24 bytes per item)."""
    n = 8 * 2**20
    x, y, z = np.ones(n), np.ones(n), np.empty(n)
    _triad(x, y, z, 0.5)
    return 24 * n / _best(lambda: _triad(x, y, z, 0.5), repeat)


def draw_floor(size: int = 10**6, repeat: int = 5) -> float:
    """Seconds per (uniform, exponential) pair drawn in numba from one Generator."""
    gen = np.random.default_rng(0)
    u, w = np.empty(size), np.empty(size)
    _draw(gen, u[:10], w[:10])
    return _best(lambda: _draw(gen, u, w), repeat) / size

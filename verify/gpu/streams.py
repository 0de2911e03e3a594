"""Seeded xoroshiro128+ streams for the GPU kernels.

Each GPU thread owns one xoroshiro128+ state (numba's :mod:`numba.cuda.random` generator).
The ``2 * count`` state words are drawn from ``numpy.random.SeedSequence(seed)``, so stream
``i`` depends only on the seed and ``i`` (not on the launch configuration), the streams of
different seeds are unrelated, and no 2^64-step jumps have to be computed on the host.
With a period of 2^128 - 1 per state, overlaps between the streams of one launch are
astronomically unlikely.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda
from numba.cuda.random import xoroshiro128p_dtype, xoroshiro128p_uniform_float64

__all__ = ["THREADS_PER_BLOCK", "blocks_for", "exponential", "states", "uniform"]

#: Threads per block of every launch (results never depend on it).
THREADS_PER_BLOCK = 128

#: ``-log(1 - u)`` is 0 only at ``u = 0``; it is replaced by the smallest positive value
#: the transform takes otherwise (``-log(1 - 2^-53)``), so ``log(w)`` stays finite.
_TINY_EXP = 2.0**-53


def states(seed, count: int) -> np.ndarray:
    """Host array of ``count`` xoroshiro128+ states seeded from ``SeedSequence(seed)``."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    words = ss.generate_state(2 * count, np.uint64)
    out = np.empty(count, dtype=xoroshiro128p_dtype)
    out["s0"] = words[0::2]
    out["s1"] = words[1::2]
    dead = (out["s0"] == 0) & (out["s1"] == 0)  # the one state xoroshiro cannot leave
    out["s1"][dead] = np.uint64(0x9E3779B97F4A7C15)
    return out


def blocks_for(threads: int) -> int:
    """Blocks of :data:`THREADS_PER_BLOCK` needed to cover ``threads`` threads."""
    return max(1, -(-threads // THREADS_PER_BLOCK))


@cuda.jit(device=True)
def uniform(st, i):
    """Uniform double in [0, 1) from stream ``i`` (53 random bits)."""
    return xoroshiro128p_uniform_float64(st, i)


@cuda.jit(device=True)
def exponential(st, i):
    """Standard exponential ``-log(1 - u)`` from stream ``i`` (never exactly 0)."""
    w = -math.log1p(-xoroshiro128p_uniform_float64(st, i))
    if w <= 0.0:
        w = _TINY_EXP
    return w

"""Counter-seeded xoroshiro128+ streams for the GPU kernels, kept in registers.

Every GPU thread runs its own xoroshiro128+ generator (Blackman and Vigna) with the state
``(s0, s1)`` in local variables.  Stream ``i`` of a launch starts from

    ``s0 = mix(k0 + (i + 1) G)``, ``s1 = mix(k1 + (i + 1) G)``  (mod 2^64),

with ``G = 0x9E3779B97F4A7C15`` and ``mix`` the splitmix64 finaliser (a bijection), so
distinct streams start from distinct states and nothing is stored or copied per stream.
The key ``(k0, k1)`` is drawn by :func:`key` from one child spawned off the seed's
``numpy.random.SeedSequence`` (as the CPU path spawns its children, a ``SeedSequence``
passed in advances).  A stream therefore depends on the seed and its index only, never on
the launch configuration.  A uniform is ``(next >> 11) 2^-53`` (53 random bits, in [0, 1)),
an exponential ``-log1p(-u)``.  :func:`reference_uniforms` is the NumPy reference of the
streams, for the tests.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
from numba import cuda, float64, uint32, uint64

__all__ = [
    "THREADS_PER_BLOCK",
    "blocks_for",
    "exponential",
    "key",
    "launch",
    "quiet_small_grid",
    "reference_uniforms",
    "seed_stream",
    "uniform",
]

#: Threads per block of every launch (results never depend on it).
THREADS_PER_BLOCK = 128

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53

#: ``-log1p(-u)`` is 0 only at ``u = 0``; it is replaced by the smallest positive value the
#: transform takes otherwise (``-log(1 - 2^-53)``), so ``log(w)`` stays finite.
_TINY_EXP = 2.0**-53

#: numba warns that a grid of few blocks under-uses the GPU; small problems are legitimate
_SMALL_GRID = r".*Grid size \d+ will likely result in GPU under-utili[sz]ation"


def key(seed) -> tuple[np.uint64, np.uint64]:
    """The stream key ``(k0, k1)``: two words from one child spawned off the seed."""
    from verify.noise.cms import seed_sequence as _seed_sequence  # validates an int seed

    child = _seed_sequence(seed).spawn(1)[0]
    k0, k1 = np.random.PCG64(child).random_raw(2)
    return np.uint64(k0), np.uint64(k1)


def blocks_for(threads: int) -> int:
    """Blocks of :data:`THREADS_PER_BLOCK` needed to cover ``threads`` threads."""
    return max(1, -(-threads // THREADS_PER_BLOCK))


@contextlib.contextmanager
def quiet_small_grid():
    """Silence numba's low-occupancy warning (raised when a launch is configured)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_SMALL_GRID)
        yield


def launch(kernel, threads: int, *args) -> None:
    """Launch ``kernel`` on enough blocks for ``threads`` threads (small grids are fine)."""
    with quiet_small_grid():
        kernel[blocks_for(threads), THREADS_PER_BLOCK](*args)


@cuda.jit(device=True)
def _mix(z):
    z = (z ^ (z >> uint32(30))) * _M1
    z = (z ^ (z >> uint32(27))) * _M2
    return z ^ (z >> uint32(31))


@cuda.jit(device=True)
def seed_stream(k0, k1, i):
    """Initial state ``(s0, s1)`` of stream ``i`` under key ``(k0, k1)``."""
    step = (uint64(i) + uint64(1)) * _GOLDEN
    s0 = _mix(uint64(k0) + step)
    s1 = _mix(uint64(k1) + step)
    if s0 == uint64(0) and s1 == uint64(0):  # the one state xoroshiro cannot leave
        s1 = _GOLDEN
    return s0, s1


@cuda.jit(device=True)
def _next(s0, s1):
    result = s0 + s1
    s1 ^= s0
    s0 = ((s0 << uint32(55)) | (s0 >> uint32(9))) ^ s1 ^ (s1 << uint32(14))
    s1 = (s1 << uint32(36)) | (s1 >> uint32(28))
    return result, s0, s1


@cuda.jit(device=True)
def uniform(s0, s1):
    """``(u, s0, s1)``: a uniform double in [0, 1) and the advanced state."""
    r, s0, s1 = _next(s0, s1)
    return float64(r >> uint32(11)) * _TO_UNIT, s0, s1


@cuda.jit(device=True)
def exponential(s0, s1):
    """``(w, s0, s1)``: a standard exponential ``-log1p(-u)`` (never exactly 0)."""
    u, s0, s1 = uniform(s0, s1)
    w = -math.log1p(-u)
    if w <= 0.0:
        w = _TINY_EXP
    return w, s0, s1


# ----------------------------------------------------------------------------- reference
def _mix_np(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def reference_uniforms(seed_key, streams: int, draws: int) -> np.ndarray:
    """NumPy reference: ``draws`` uniforms of each of ``streams`` streams, (streams, draws)."""
    k0, k1 = (np.uint64(k) for k in seed_key)
    step = (np.arange(streams, dtype=np.uint64) + np.uint64(1)) * _GOLDEN
    s0, s1 = _mix_np(k0 + step), _mix_np(k1 + step)
    dead = (s0 == 0) & (s1 == 0)
    s1[dead] = _GOLDEN
    out = np.empty((streams, draws))
    for d in range(draws):
        r = s0 + s1
        s1 = s1 ^ s0
        s0 = ((s0 << np.uint64(55)) | (s0 >> np.uint64(9))) ^ s1 ^ (s1 << np.uint64(14))
        s1 = (s1 << np.uint64(36)) | (s1 >> np.uint64(28))
        out[:, d] = (r >> np.uint64(11)).astype(np.float64) * _TO_UNIT
    return out

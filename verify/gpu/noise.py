"""GPU alpha-stable noise: the CMS sampler, streaming trial means, the detection Monte Carlo.

The transform is :func:`verify.noise.cms.transform` (the CMS formula on the C library's functions)
compiled unchanged as a CUDA device function; the CPU kernels evaluate the same formula
with their vectorisable elementary functions (``transform_fast``, within ~1e-14 relative).  The
random streams differ (xoroshiro128+, :mod:`verify.gpu.streams`), and their layout is fixed
by the problem size alone, never by the launch configuration:

* :func:`sample`: ``ceil(size / SAMPLE_STREAM)`` streams; element ``j`` comes from stream
  ``j % streams`` (interleaved, so neighbouring threads write neighbouring addresses).
* :func:`trial_statistics` and :func:`detection_hits`: trial ``t`` is cut into
  ``parts = ceil(n / PART)`` consecutive parts, part ``p`` drawn by stream ``t * parts + p``
  and summed by one thread; a second kernel adds the parts of each trial in order (and, for
  :func:`detection_hits`, applies the test and counts the hits with an integer atomic).
  The sums are therefore deterministic, and the memory is one float per part,
  ``8 * trials * ceil(n / PART)`` bytes, never O(n * trials).

The callers (:func:`verify.noise.stable.sample`, :func:`verify.noise.stable.trial_means`,
:func:`verify.detection.simulate_power`) validate the arguments; these functions assume
valid input.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from verify.noise import cms

from .streams import exponential, key, launch, seed_stream, uniform

__all__ = ["PART", "SAMPLE_STREAM", "detection_hits", "sample", "trial_statistics"]

#: Samples per stream in :func:`sample`.
SAMPLE_STREAM = 64
#: Samples per partial sum (one stream each) in the trial kernels.
PART = 1024

_cms = cuda.jit(device=True)(cms.transform)


@cuda.jit
def _sample_kernel(out, streams, k0, k1, alpha, beta, ab, log_s, scale, loc):
    i = cuda.grid(1)
    if i >= streams:
        return
    s0, s1 = seed_stream(k0, k1, i)
    j = i
    while j < out.shape[0]:
        u, s0, s1 = uniform(s0, s1)
        w, s0, s1 = exponential(s0, s1)
        out[j] = loc + scale * _cms(u, w, alpha, beta, ab, log_s)
        j += streams


@cuda.jit
def _partial_kernel(partial, n, parts, k0, k1, clip, use_clip, alpha, beta, ab, log_s, scale,
                    loc):  # fmt: skip
    k = cuda.grid(1)
    if k >= partial.shape[0]:
        return
    s0, s1 = seed_stream(k0, k1, k)
    lo = (k % parts) * PART
    hi = lo + PART
    if hi > n:
        hi = n
    s = 0.0
    for _ in range(lo, hi):
        u, s0, s1 = uniform(s0, s1)
        w, s0, s1 = exponential(s0, s1)
        x = loc + scale * _cms(u, w, alpha, beta, ab, log_s)
        if use_clip:
            if x > clip:
                x = clip
            elif x < -clip:
                x = -clip
        s += x
    partial[k] = s


@cuda.jit(device=True)
def _row_mean(partial, t, parts, n):
    s = 0.0
    for p in range(parts):
        s += partial[t * parts + p]
    return s / n


@cuda.jit
def _mean_kernel(partial, parts, n, out):
    t = cuda.grid(1)
    if t < out.shape[0]:
        out[t] = _row_mean(partial, t, parts, n)


@cuda.jit
def _detect_kernel(partial, parts, n, trials, factor, epsilon, hits):
    t = cuda.grid(1)
    if t < trials and factor * abs(_row_mean(partial, t, parts, n)) > epsilon:
        cuda.atomic.add(hits, 0, 1)


def sample(size, seed, alpha, beta, ab, log_s, scale, loc) -> np.ndarray:
    """``size`` samples of ``loc + scale * Z`` (``Z`` standard S1, CMS constants given)."""
    streams = -(-size // SAMPLE_STREAM)
    k0, k1 = key(seed)
    out = cuda.device_array(size, dtype=np.float64)
    launch(_sample_kernel, streams, out, streams, k0, k1, alpha, beta, ab, log_s, scale, loc)
    return out.copy_to_host()


def _partials(n, trials, seed, clip, use_clip, alpha, beta, ab, log_s, scale, loc):
    parts = -(-n // PART)
    k0, k1 = key(seed)
    partial = cuda.device_array(trials * parts, dtype=np.float64)
    launch(_partial_kernel, trials * parts, partial, n, parts, k0, k1, clip, use_clip,
           alpha, beta, ab, log_s, scale, loc)  # fmt: skip
    return partial, parts


def trial_statistics(n, trials, seed, clip, use_clip, alpha, beta, ab, log_s, scale, loc):
    """Means (clipped to ``[-clip, clip]`` when ``use_clip``) of ``trials`` trials of ``n``."""
    partial, parts = _partials(n, trials, seed, clip, use_clip, alpha, beta, ab, log_s, scale, loc)
    out = cuda.device_array(trials, dtype=np.float64)
    launch(_mean_kernel, trials, partial, parts, n, out)
    return out.copy_to_host()


def detection_hits(n, trials, seed, factor, epsilon, alpha, beta, ab, log_s, scale, loc) -> int:
    """Number of trials whose mean ``m`` fires the test ``factor * |m| > epsilon``."""
    partial, parts = _partials(n, trials, seed, 1.0, False, alpha, beta, ab, log_s, scale, loc)
    hits = cuda.to_device(np.zeros(1, dtype=np.int64))
    launch(_detect_kernel, trials, partial, parts, n, trials, float(factor), float(epsilon), hits)
    return int(hits.copy_to_host()[0])

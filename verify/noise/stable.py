r"""Alpha-stable noise: a Chambers-Mallows-Stuck sampler and streaming trial statistics.

Parameterisation
----------------
``X ~ S(alpha, beta, sigma, mu)`` is returned as ``mu + sigma * Z`` where ``Z`` is the
*standard* stable variable of the chosen parameterisation; this is exactly the location-scale
convention of :data:`scipy.stats.levy_stable` (``loc=mu, scale=sigma``), so KS tests against
it are meaningful.

* ``param="S1"`` (default): ``Z`` has characteristic function
  ``exp(-|t|^alpha (1 - i beta sign(t) tan(pi alpha / 2)))`` for ``alpha != 1`` and
  ``exp(-|t| (1 + i beta (2/pi) sign(t) log|t|))`` for ``alpha == 1`` (Nolan's S1, Samorodnitsky
  and Taqqu's ``S_alpha(1, beta, 0)``).
* ``param="S0"``: ``Z0 = Z1 - beta tan(pi alpha / 2)`` (``Z0 = Z1`` at ``alpha == 1``), Nolan's
  S0, continuous in ``alpha``.

For ``beta = 0`` both coincide with the symmetric law ``SaS(sigma)`` of THEORY.md section 2
(characteristic function ``exp(-|sigma t|^alpha)``): ``alpha = 2`` is ``N(0, 2 sigma^2)`` and
``alpha = 1`` is ``Cauchy(sigma)``.

Engine
------
The CMS transform, the seeded stream layout and the CPU kernels live in
:mod:`verify.noise.cms`; the GPU kernels in :mod:`verify.gpu.noise`.  This module validates
the arguments and dispatches down to one or the other.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np

from theory import kappa  # noqa: F401  (re-exported: the mean's concentration exponent)
from theory._validate import check_alpha, check_in_range, check_int, check_positive
from verify.device import resolve

from . import cms as _cms
from .cms import BLOCK, CHUNK

__all__ = [
    "BLOCK",
    "CHUNK",
    "DEFAULT_CLIP",
    "DEFAULT_TRIM",
    "ESTIMATORS",
    "MAX_DRAWS",
    "MAX_SIZE",
    "kappa",
    "sample",
    "sample_reference",
    "trial_means",
    "trial_means_reference",
    "trial_means_shortcut",
]

#: Default trim fraction of the ``"trimmed"`` estimator (cut from *each* side).
DEFAULT_TRIM = 0.1
#: Default clip level ``c`` of ``"clipped"``: samples are clipped to ``[-c sigma, c sigma]``.
DEFAULT_CLIP = 3.0
#: Trial estimators understood by :func:`trial_means`.
ESTIMATORS = ("mean", "median", "trimmed", "clipped")
_EST_CODE = {name: i for i, name in enumerate(ESTIMATORS)}
_PARAMS = ("S1", "S0")


# ----------------------------------------------------------------------------------------
# validation and streams
# ----------------------------------------------------------------------------------------
def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 16 GiB
        return 16 * 2**30


#: Largest ``size`` of :func:`sample`: float64 values filling half the physical memory.
MAX_SIZE = _memory_bytes() // 2 // 8


#: Largest ``n * trials`` of :func:`trial_means`: 10**12 draws, hours on a CPU.
MAX_DRAWS = 10**12


def _check_size(size) -> int:
    size = check_int("size", size, lo=1)
    if size > MAX_SIZE:
        raise ValueError(
            f"size must be at most {MAX_SIZE} (float64 samples filling half of this "
            f"machine's {_memory_bytes() / 2**30:.0f} GiB of memory), got {size}; draw in "
            "parts or use trial_means, which streams"
        )
    return size


def _check_common(alpha, beta, sigma, param):
    a = check_alpha(alpha, lo=0.0)
    b = check_in_range("beta", beta, -1.0, 1.0)
    s = check_positive("sigma", sigma)
    if param not in _PARAMS:
        raise ValueError(f"param must be one of {_PARAMS}, got {param!r}")
    return a, b, s


# ----------------------------------------------------------------------------------------
# public wrappers
# ----------------------------------------------------------------------------------------
def sample(
    alpha,
    beta=0.0,
    sigma=1.0,
    mu=0.0,
    *,
    size,
    seed,
    param="S1",
    parallel=True,
    device=None,
):
    """Draw ``size`` samples of ``S(alpha, beta, sigma, mu)`` with the numba CMS kernel.

    Parameters
    ----------
    alpha : float
        Stability index in (0, 2].
    beta : float, optional
        Skewness in [-1, 1]; 0 (symmetric) is the main case.
    sigma : float, optional
        Scale, > 0.
    mu : float, optional
        Location (finite).
    size : int
        Number of samples, in [1, :data:`MAX_SIZE`] (half the physical memory).
    seed : int or numpy.random.SeedSequence
        Root of the streams: one child per chunk of :data:`CHUNK` samples. A
        ``SeedSequence`` passed in is spawned from (its spawn counter advances).
    param : {"S1", "S0"}, optional
        Parameterisation of the standard variable (module docstring).
    parallel : bool, optional
        Run the chunks with ``numba.prange`` (True) or in one thread (False); the numbers
        are identical either way.
    device : {None, "cpu", "cuda"}, optional
        Where to run (:mod:`verify.device`).  On ``"cuda"`` the same CMS transform runs on
        xoroshiro128+ streams (:mod:`verify.gpu.noise`): the same law, other numbers.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(size,)``, equal to ``sample_reference`` on the same seed
        (on the CPU).
    """
    a, b, s = _check_common(alpha, beta, sigma, param)
    m = check_in_range("mu", mu)
    size = _check_size(size)
    ab, log_s = _cms.constants(a, b)
    loc = m - s * _cms.s0_shift(a, b, param)
    if resolve(device) == "cuda":
        from verify.gpu import noise as gpu_noise

        return gpu_noise.sample(size, seed, a, b, ab, log_s, s, loc)
    n_chunks = -(-size // CHUNK)
    gens = _cms.generators(seed, n_chunks)
    kernel = _cms.sample_par if parallel else _cms.sample_ser
    return kernel(_cms.typed_list(gens), size, CHUNK, a, b, ab, log_s, s, loc)


def sample_reference(alpha, beta=0.0, sigma=1.0, mu=0.0, *, size, seed, param="S1"):
    """Pure-NumPy :func:`sample`: same arguments, same streams, same numbers.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(size,)``.
    """
    a, b, s = _check_common(alpha, beta, sigma, param)
    m = check_in_range("mu", mu)
    size = _check_size(size)
    gens = _cms.generators(seed, -(-size // CHUNK))
    loc = m - s * _cms.s0_shift(a, b, param)
    parts = [
        _cms.stream_numpy(g, min(CHUNK, size - c * CHUNK), a, b, s, loc) for c, g in enumerate(gens)
    ]
    return np.concatenate(parts)


def _check_trials(alpha, beta, sigma, signal, n, trials, estimator, trim, clip, param):
    a, b, s = _check_common(alpha, beta, sigma, param)
    sig = check_in_range("signal", signal)
    n = check_int("n", n, lo=1, hi=MAX_DRAWS)
    trials = check_int("trials", trials, lo=1, hi=MAX_SIZE)
    if n * trials > MAX_DRAWS:
        raise ValueError(
            f"n * trials must be at most {MAX_DRAWS:.0e} draws (hours of work), got "
            f"n = {n}, trials = {trials}"
        )
    if estimator not in _EST_CODE:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    trim = check_in_range("trim", trim, 0.0, 0.5, hi_open=True)
    clip = check_positive("clip", clip)
    return a, b, s, sig, n, trials, trim, clip


def trial_means(
    alpha,
    sigma=1.0,
    signal=0.0,
    *,
    n,
    trials,
    seed,
    estimator="mean",
    beta=0.0,
    param="S1",
    trim=DEFAULT_TRIM,
    clip=DEFAULT_CLIP,
    parallel=True,
    device=None,
):
    """Location estimates of ``trials`` independent samples ``signal + noise`` of size ``n``.

    Each trial draws ``n`` values ``X_i = signal + sigma * Z_i`` (``Z`` standard stable, as in
    :func:`sample` with ``mu = 0``) from its group's stream and reduces them to one number, so the
    memory is O(trials) plus one buffer per thread (``BLOCK`` values for the mean and clipped
    mean, ``n`` for the median and trimmed mean); ``n * trials`` values are never stored.

    Parameters
    ----------
    alpha : float
        Stability index in (0, 2] (the sample mean needs alpha > 1 to concentrate).
    sigma : float, optional
        Noise scale, > 0.
    signal : float, optional
        The mean ``m`` added to every sample.
    n : int
        Samples per trial, >= 1.
    trials : int
        Number of trials, >= 1.
    seed : int or numpy.random.SeedSequence
        Root seed. Trials are drawn in consecutive groups of ``trial_group(n)`` (about 2^18
        samples) per child of ``SeedSequence(seed)``'s spawn, trial after trial
        (:func:`verify.noise.cms.trial_generators`); one trial per child once
        ``n > 2^17``.
    estimator : {"mean", "median", "trimmed", "clipped"}, optional
        ``"mean"``: the sample mean. ``"median"``: the sample median (mean of the two middle
        values when ``n`` is even). ``"trimmed"``: the mean after cutting ``floor(trim * n)``
        values from each end (as :func:`scipy.stats.trim_mean`). ``"clipped"``: the mean of
        the samples clipped to ``[-clip * sigma, clip * sigma]`` (clipping about the null
        value 0, so it is biased towards 0 for a non-zero signal, monotonically).
    beta : float, optional
        Noise skewness in [-1, 1].
    param : {"S1", "S0"}, optional
        Parameterisation of the noise.
    trim : float, optional
        Trim fraction per side in [0, 0.5); default :data:`DEFAULT_TRIM` = 0.1.
    clip : float, optional
        Clip level in units of sigma, > 0; default :data:`DEFAULT_CLIP` = 3.
    parallel : bool, optional
        Parallelise over trials with ``numba.prange``; the result is identical either way.
    device : {None, "cpu", "cuda"}, optional
        Where to run (:mod:`verify.device`).  The GPU computes the mean and the clipped
        mean (each trial summed in parts of :data:`verify.gpu.noise.PART` samples); the
        median and trimmed mean are CPU-only.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(trials,)``.
    """
    a, b, s, sig, n, trials, trim, clip = _check_trials(
        alpha, beta, sigma, signal, n, trials, estimator, trim, clip, param
    )
    est = _EST_CODE[estimator]
    ab, log_s = _cms.constants(a, b)
    loc = sig - s * _cms.s0_shift(a, b, param)
    if resolve(device, est in (0, 3), f"estimator={estimator!r}") == "cuda":
        from verify.gpu import noise as gpu_noise

        return gpu_noise.trial_statistics(
            n, trials, seed, clip * s, est == 3, a, b, ab, log_s, s, loc
        )
    group = _cms.trial_group(n)
    gens = _cms.typed_list(_cms.generators(seed, -(-trials // group)))
    width = BLOCK if est in (0, 3) else n
    workers = min(numba.get_num_threads(), len(gens)) if parallel else 1
    g = int(trim * n)
    kernel = _cms.trials_par if parallel else _cms.trials_ser
    return kernel(gens, trials, group, n, width, workers, est, g, clip * s, a, b, ab, log_s, s, loc)


def trial_means_reference(
    alpha,
    sigma=1.0,
    signal=0.0,
    *,
    n,
    trials,
    seed,
    estimator="mean",
    beta=0.0,
    param="S1",
    trim=DEFAULT_TRIM,
    clip=DEFAULT_CLIP,
):
    """Pure-NumPy :func:`trial_means` on the same streams (materialises one trial at a time).

    The mean and clipped mean sum each block left to right (``np.cumsum``) and the blocks in
    order, like the kernel, so they agree exactly; the median is exact; the trimmed mean sums
    the same values in another order (agreement to rounding).

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(trials,)``.
    """
    a, b, s, sig, n, trials, trim, clip = _check_trials(
        alpha, beta, sigma, signal, n, trials, estimator, trim, clip, param
    )
    loc = sig - s * _cms.s0_shift(a, b, param)
    out = np.empty(trials)
    for t, gen in enumerate(_cms.trial_generators(seed, n, trials)):
        x = _cms.stream_numpy(gen, n, a, b, s, loc)
        if estimator in ("mean", "clipped"):
            if estimator == "clipped":
                x = np.clip(x, -clip * s, clip * s)
            total = 0.0
            for start in range(0, n, BLOCK):
                total += float(np.cumsum(x[start : start + BLOCK])[-1])
            out[t] = total / n
        elif estimator == "median":
            out[t] = np.median(x)
        else:
            g = int(trim * n)
            out[t] = np.mean(np.sort(x)[g : n - g])
    return out


def trial_means_shortcut(alpha, sigma=1.0, signal=0.0, *, n, trials, seed, beta=0.0, param="S1",
                         device=None):  # fmt: skip
    """Sample means of ``n`` noisy samples drawn directly through the stability property.

    The mean of ``n`` i.i.d. ``sigma * Z`` (standard S1) is ``sigma * n^(1/alpha - 1) * Z'``
    for ``alpha != 1`` and ``sigma * (Z' + (2/pi) beta log n)`` for ``alpha == 1``; in S0 the
    constant shift ``-sigma beta tan(pi alpha / 2)`` of every sample carries over. One draw per
    trial, so this is an independent cross-check of ``trial_means(..., estimator="mean")`` in
    distribution (not sample by sample).
    The draws come from :func:`sample`, on ``device`` (``None``, ``"cpu"`` or ``"cuda"``).

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(trials,)``.
    """
    a, b, s = _check_common(alpha, beta, sigma, param)
    sig = check_in_range("signal", signal)
    n = check_int("n", n, lo=1)
    trials = check_int("trials", trials, lo=1)
    z = sample(a, b, 1.0, size=trials, seed=seed, device=device)
    if a == 1.0:
        mean_noise = s * (z + (2.0 / math.pi) * b * math.log(n))
    else:
        mean_noise = s * n ** (1.0 / a - 1.0) * z
    return sig + mean_noise - s * _cms.s0_shift(a, b, param)

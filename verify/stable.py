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

Random streams
--------------
Every random number comes from a ``np.random.Generator(PCG64)`` spawned from one
``np.random.SeedSequence``. A stream of ``m`` samples is consumed in blocks of :data:`BLOCK`:
``min(BLOCK, remaining)`` uniforms (``Generator.random``), then as many standard exponentials
(``Generator.standard_exponential``), then the CMS transform. :func:`sample` cuts its output into
a fixed grid of chunks of :data:`CHUNK` samples, one stream each; :func:`trial_means` gives every
trial its own stream. The grid never depends on the number of threads, so results do not
depend on ``NUMBA_NUM_THREADS``, and the pure-NumPy references (:func:`sample_reference`,
:func:`trial_means_reference`) consume the same streams and reproduce the kernels' numbers.

The CMS transform
-----------------
:func:`_cms` is the formula as one scalar function on the ``math`` module (the C library);
it is the definition, and the one compiled for other targets. For ``alpha != 1`` the CPU
kernels evaluate it instead as :func:`_cms_fast`: the same formula, with the two logarithms
of ``cos(V - alpha (V + B))`` and ``W`` merged into one, on the branch-free ``sin``, ``cos``,
``log`` and ``exp`` of :mod:`verify._elementary` (each within 2 ulp of the C library), so that
the loop over a block, run after the block's uniforms and exponentials are drawn, compiles to
SIMD code; this is several times faster than the scalar calls into the C library. Its values
differ from :func:`_cms`'s by a few units in the last place (relative differences of order
1e-15), and :func:`sample_reference` evaluates the same :func:`_cms_fast` on NumPy arrays, so
kernels and references still agree exactly. ``alpha == 1`` uses :func:`_cms` everywhere.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange
from numba.extending import register_jitable
from numba.typed import List

from theory import kappa  # noqa: F401  (re-exported: the mean's concentration exponent)
from theory._validate import check_alpha, check_in_range, check_int, check_positive
from verify import _elementary as _el
from verify._jit import jit, pjit
from verify.device import resolve

__all__ = [
    "BLOCK",
    "CHUNK",
    "DEFAULT_CLIP",
    "DEFAULT_TRIM",
    "ESTIMATORS",
    "kappa",
    "sample",
    "sample_reference",
    "trial_means",
    "trial_means_reference",
    "trial_means_shortcut",
]

#: Samples per draw block: ``BLOCK`` uniforms are drawn, then ``BLOCK`` exponentials.
BLOCK = 1 << 12
#: Samples per independent stream in :func:`sample` (fixed; independent of thread count).
CHUNK = 1 << 16
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
def _check_common(alpha, beta, sigma, param):
    a = check_alpha(alpha, lo=0.0)
    b = check_in_range("beta", beta, -1.0, 1.0)
    s = check_positive("sigma", sigma)
    if param not in _PARAMS:
        raise ValueError(f"param must be one of {_PARAMS}, got {param!r}")
    return a, b, s


def _seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    s = check_int("seed", seed, lo=0)
    return np.random.SeedSequence(s)


def _generators(seed, count: int) -> list[np.random.Generator]:
    return [np.random.Generator(np.random.PCG64(c)) for c in _seed_sequence(seed).spawn(count)]


def _s0_shift(alpha: float, beta: float, param: str) -> float:
    """Return ``d`` with ``Z_param = Z_S1 - d`` for the standard variables."""
    if param == "S0" and alpha != 1.0:
        return beta * math.tan(math.pi * alpha / 2.0)
    return 0.0


def _cms_constants(alpha: float, beta: float) -> tuple[float, float]:
    """Return ``(alpha * B, log S)`` of the CMS formula (unused at ``alpha == 1``)."""
    if alpha == 1.0:
        return 0.0, 0.0
    zeta = beta * math.tan(math.pi * alpha / 2.0)
    return math.atan(zeta), math.log1p(zeta * zeta) / (2.0 * alpha)


# ----------------------------------------------------------------------------------------
# the CMS formula (one scalar definition, run by CPython for the reference and by numba)
# ----------------------------------------------------------------------------------------
def _cms(u, w, alpha, beta, ab, log_s):
    """Return a standard S1 variate from a uniform ``u`` in [0, 1) and a standard exponential ``w``.

    Chambers, Mallows and Stuck (1976) in Weron's (1996) form: ``V = pi (u - 1/2)``,
    ``B = arctan(beta tan(pi alpha / 2)) / alpha``,
    ``S = (1 + beta^2 tan^2(pi alpha / 2))^(1 / (2 alpha))``,
    ``Z = S sin(alpha (V + B)) / cos(V)^(1/alpha) * (cos(V - alpha (V + B)) / W)^((1-alpha)/alpha)``
    and, for ``alpha = 1``,
    ``Z = (2/pi) ((pi/2 + beta V) tan V - beta log((pi/2) W cos V / (pi/2 + beta V)))``.
    """
    v = math.pi * (u - 0.5)
    if alpha == 1.0:
        if beta == 0.0:
            return math.tan(v)
        h = math.pi / 2.0 + beta * v
        return (2.0 / math.pi) * (
            h * math.tan(v) - beta * math.log((math.pi / 2.0) * w * math.cos(v) / h)
        )
    t = alpha * v + ab
    # the two powers as one exp of a sum of logs: cheaper than two calls to pow
    expo = (
        log_s
        + ((1.0 - alpha) * (math.log(math.cos(v - t)) - math.log(w)) - math.log(math.cos(v)))
        / alpha
    )
    return math.sin(t) * math.exp(expo)


_cms_scalar = jit(_cms)


@register_jitable(inline="always")
def _cms_fast(u, w, alpha, ab, log_s):
    """:func:`_cms` for ``alpha != 1``, branch-free, on :mod:`verify._elementary` functions.

    The same formula with ``log(cos(V - alpha (V + B))) - log(W)`` merged into one log of a
    quotient. Scalars in numba kernels and NumPy arrays in the reference give identical
    numbers. Inlined into the caller at numba IR level (LLVM's inliner declines a function
    this long), so that a loop over it is vectorised; that also needs
    ``error_model="numpy"`` (the house :func:`verify._jit.jit`), as Python's error model puts
    a division-by-zero branch in front of every division.
    """
    v = math.pi * (u - 0.5)
    t = alpha * v + ab
    expo = log_s + ((1.0 - alpha) * _el.log(_el.cos(v - t) / w) - _el.log(_el.cos(v))) / alpha
    return _el.sin(t) * _el.exp(expo)


# ----------------------------------------------------------------------------------------
# NumPy reference: the stream layout, readable
# ----------------------------------------------------------------------------------------
def _stream_numpy(gen, m, alpha, beta, scale, loc):
    """``loc + scale * Z`` for ``m`` samples of one stream, without numba."""
    ab, log_s = _cms_constants(alpha, beta)
    out = np.empty(m)
    for start in range(0, m, BLOCK):
        k = min(BLOCK, m - start)
        u = gen.random(k)
        w = gen.standard_exponential(k)
        if alpha == 1.0:
            pairs = zip(u.tolist(), w.tolist(), strict=True)
            z = np.array([_cms(ui, wi, alpha, beta, ab, log_s) for ui, wi in pairs])
        else:
            with np.errstate(all="ignore"):  # IEEE overflow to inf, as in the kernel
                z = _cms_fast(u, w, alpha, ab, log_s)
        out[start : start + k] = loc + scale * z
    return out


# ----------------------------------------------------------------------------------------
# numba kernels: scalar -> stream -> prange over chunks / trials
# ----------------------------------------------------------------------------------------
@jit
def _fill_block(gen, out, start, k, alpha, beta, ab, log_s, scale, loc):
    # uniforms first, stored in place, then exponentials: the documented stream layout
    u = out[start : start + k]
    for i in range(k):
        u[i] = gen.random()
    w = np.empty(k)
    for i in range(k):
        w[i] = gen.standard_exponential()
    if alpha == 1.0:
        for i in range(k):
            u[i] = loc + scale * _cms_scalar(u[i], w[i], alpha, beta, ab, log_s)
    else:
        for i in range(k):  # branch-free body: LLVM vectorises this loop
            u[i] = loc + scale * _cms_fast(u[i], w[i], alpha, ab, log_s)


@jit
def _fill_stream(gen, out, lo, hi, alpha, beta, ab, log_s, scale, loc):
    for start in range(lo, hi, BLOCK):
        _fill_block(gen, out, start, min(BLOCK, hi - start), alpha, beta, ab, log_s, scale, loc)


@pjit
def _sample_par(gens, size, chunk, alpha, beta, ab, log_s, scale, loc):
    out = np.empty(size)
    for c in prange(len(gens)):
        lo = c * chunk
        hi = min(size, lo + chunk)
        _fill_stream(gens[np.intp(c)], out, lo, hi, alpha, beta, ab, log_s, scale, loc)
    return out


@jit
def _sample_ser(gens, size, chunk, alpha, beta, ab, log_s, scale, loc):
    out = np.empty(size)
    for c in range(len(gens)):
        lo = c * chunk
        hi = min(size, lo + chunk)
        _fill_stream(gens[c], out, lo, hi, alpha, beta, ab, log_s, scale, loc)
    return out


@jit
def _select(a, lo, hi, k):
    """Reorder ``a[lo:hi]`` in place so that ``a[k]`` holds its order statistic (quickselect)."""
    hi -= 1
    while hi > lo:
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@jit
def _trial_stat(gen, n, buf, est, g, clip, alpha, beta, ab, log_s, scale, loc):
    """One trial: ``n`` samples of ``loc + scale * Z`` reduced by estimator code ``est``."""
    if est == 0 or est == 3:  # mean / clipped mean: O(BLOCK) memory
        total = 0.0
        for start in range(0, n, BLOCK):
            k = min(BLOCK, n - start)
            _fill_block(gen, buf, 0, k, alpha, beta, ab, log_s, scale, loc)
            s = 0.0
            if est == 0:
                for i in range(k):
                    s += buf[i]
            else:
                for i in range(k):
                    s += min(max(buf[i], -clip), clip)
            total += s
        return total / n
    _fill_stream(gen, buf, 0, n, alpha, beta, ab, log_s, scale, loc)
    if est == 1:  # median
        h = n // 2
        _select(buf, 0, n, h)
        if n % 2 == 1:
            return buf[h]
        lower = buf[0]
        for i in range(1, h):
            lower = max(lower, buf[i])
        return (lower + buf[h]) / 2.0
    # trimmed mean: drop the g smallest and the g largest
    _select(buf, 0, n, g)
    _select(buf, g, n, n - g - 1)
    s = 0.0
    for i in range(g, n - g):
        s += buf[i]
    return s / (n - 2 * g)


@pjit
def _trials_par(gens, n, width, workers, est, g, clip, alpha, beta, ab, log_s, scale, loc):
    trials = len(gens)
    out = np.empty(trials)
    bufs = np.empty((workers, width))
    for j in prange(workers):
        for t in range(j, trials, workers):
            out[t] = _trial_stat(
                gens[np.intp(t)], n, bufs[j], est, g, clip, alpha, beta, ab, log_s, scale, loc
            )
    return out


@jit
def _trials_ser(gens, n, width, workers, est, g, clip, alpha, beta, ab, log_s, scale, loc):
    trials = len(gens)
    out = np.empty(trials)
    buf = np.empty(width)
    for t in range(trials):
        out[t] = _trial_stat(gens[t], n, buf, est, g, clip, alpha, beta, ab, log_s, scale, loc)
    return out


# ----------------------------------------------------------------------------------------
# public wrappers
# ----------------------------------------------------------------------------------------
def _typed(gens):
    lst = List()
    for g in gens:
        lst.append(g)
    return lst


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
        Number of samples, >= 1.
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
    size = check_int("size", size, lo=1)
    ab, log_s = _cms_constants(a, b)
    loc = m - s * _s0_shift(a, b, param)
    if resolve(device) == "cuda":
        from verify.gpu import noise as gpu_noise

        return gpu_noise.sample(size, seed, a, b, ab, log_s, s, loc)
    n_chunks = -(-size // CHUNK)
    gens = _generators(seed, n_chunks)
    kernel = _sample_par if parallel else _sample_ser
    return kernel(_typed(gens), size, CHUNK, a, b, ab, log_s, s, loc)


def sample_reference(alpha, beta=0.0, sigma=1.0, mu=0.0, *, size, seed, param="S1"):
    """Pure-NumPy :func:`sample`: same arguments, same streams, same numbers.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(size,)``.
    """
    a, b, s = _check_common(alpha, beta, sigma, param)
    m = check_in_range("mu", mu)
    size = check_int("size", size, lo=1)
    gens = _generators(seed, -(-size // CHUNK))
    loc = m - s * _s0_shift(a, b, param)
    parts = [
        _stream_numpy(g, min(CHUNK, size - c * CHUNK), a, b, s, loc) for c, g in enumerate(gens)
    ]
    return np.concatenate(parts)


def _check_trials(alpha, beta, sigma, signal, n, trials, estimator, trim, clip, param):
    a, b, s = _check_common(alpha, beta, sigma, param)
    sig = check_in_range("signal", signal)
    n = check_int("n", n, lo=1)
    trials = check_int("trials", trials, lo=1)
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
    :func:`sample` with ``mu = 0``) from its own stream and reduces them to one number, so the
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
        Root seed; trial ``t`` uses child ``t`` of ``SeedSequence(seed).spawn(trials)``.
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
    ab, log_s = _cms_constants(a, b)
    loc = sig - s * _s0_shift(a, b, param)
    if resolve(device, est in (0, 3), f"estimator={estimator!r}") == "cuda":
        from verify.gpu import noise as gpu_noise

        return gpu_noise.trial_statistics(
            n, trials, seed, clip * s, est == 3, a, b, ab, log_s, s, loc
        )
    gens = _generators(seed, trials)
    width = BLOCK if est in (0, 3) else n
    workers = min(numba.get_num_threads(), trials) if parallel else 1
    g = int(trim * n)
    kernel = _trials_par if parallel else _trials_ser
    return kernel(_typed(gens), n, width, workers, est, g, clip * s, a, b, ab, log_s, s, loc)


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
    loc = sig - s * _s0_shift(a, b, param)
    out = np.empty(trials)
    for t, gen in enumerate(_generators(seed, trials)):
        x = _stream_numpy(gen, n, a, b, s, loc)
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
    return sig + mean_noise - s * _s0_shift(a, b, param)

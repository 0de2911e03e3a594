"""The CMS transform, the seeded random streams and the CPU kernels of the alpha-stable engine.

The low module of :mod:`verify.noise`: the scalar Chambers-Mallows-Stuck transform (compiled
for the CPU here and, unchanged, as a CUDA device function in :mod:`verify.gpu.noise`), the
stream layout, and the numba kernels that fill samples and reduce trials.  It validates
nothing and imports nothing above it; :mod:`verify.noise.stable` is the public face that
validates the arguments and dispatches down to these kernels or to the GPU ones.

Random streams
--------------
Every random number comes from a ``np.random.Generator(PCG64)`` spawned from one
``np.random.SeedSequence``. A stream of ``m`` samples is consumed in blocks of :data:`BLOCK`:
``min(BLOCK, remaining)`` uniforms (``Generator.random``), then as many standard exponentials
(``Generator.standard_exponential``), then the CMS transform. :func:`verify.noise.stable.sample`
cuts its output into a fixed grid of chunks of :data:`CHUNK` samples, one stream each;
:func:`verify.noise.stable.trial_means` deals its trials to streams in consecutive groups
of :func:`trial_group` trials (about :data:`GROUP_SAMPLES` samples per stream; one trial per
stream once ``n > GROUP_SAMPLES / 2``), each trial drawing its ``n`` samples block by block from
its group's stream after the trials before it. Neither grid depends on the number of
threads, so results do not depend on ``NUMBA_NUM_THREADS``, and
the pure-NumPy references (:func:`stream_numpy` here; ``sample_reference`` and
``trial_means_reference`` in :mod:`verify.noise.stable`) consume the same streams and
reproduce the kernels' numbers.

The CMS transform
-----------------
:func:`transform` is the formula as one scalar function on the ``math`` module (the C library);
it is the definition, and the one compiled for other targets. For ``alpha != 1`` the CPU
kernels evaluate it instead as :func:`transform_fast`: the same formula, with the two logarithms
of ``cos(V - alpha (V + B))`` and ``W`` merged into one, on the branch-free ``sin``, ``cos``,
``log`` and ``exp`` of :mod:`verify.noise.elementary` (each within 2 ulp of the C library), so that
the loop over a block, run after the block's uniforms and exponentials are drawn, compiles to
SIMD code; this is several times faster than the scalar calls into the C library. Its values
differ from :func:`transform`'s by a few units in the last place (relative differences of order
1e-15), and :func:`sample_reference` evaluates the same :func:`transform_fast` on NumPy arrays, so
kernels and references still agree exactly. ``alpha == 1`` uses :func:`transform` everywhere.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange
from numba.extending import register_jitable
from numba.typed import List

from theory._validate import check_int
from verify._jit import jit, pjit

from . import elementary as _el

__all__ = [
    "BLOCK",
    "CHUNK",
    "constants",
    "fill_block",
    "fill_stream",
    "generators",
    "GROUP_SAMPLES",
    "trial_group",
    "trial_generators",
    "s0_shift",
    "sample_par",
    "sample_ser",
    "seed_sequence",
    "select",
    "stream_numpy",
    "transform",
    "transform_fast",
    "transform_scalar",
    "trial_stat",
    "trials_par",
    "trials_ser",
    "typed_list",
]


#: Samples per draw block: ``BLOCK`` uniforms are drawn, then ``BLOCK`` exponentials.
BLOCK = 1 << 12
#: Samples per independent stream in :func:`sample` (fixed; independent of thread count).
CHUNK = 1 << 16
#: Samples per stream of :func:`trials_par` (a group of ``GROUP_SAMPLES // n`` trials; at
#: least one trial): spawning one generator per trial would cost more than drawing its samples
#: when trials are short.
GROUP_SAMPLES = 1 << 18


# ----------------------------------------------------------------------------------------
# random streams
# ----------------------------------------------------------------------------------------
def seed_sequence(seed) -> np.random.SeedSequence:
    """The root ``SeedSequence`` of a ``seed`` (an int >= 0, or a ``SeedSequence`` as is)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    s = check_int("seed", seed, lo=0)
    return np.random.SeedSequence(s)


def generators(seed, count: int) -> list[np.random.Generator]:
    """``count`` independent PCG64 generators spawned from ``seed``'s ``SeedSequence``."""
    return [np.random.Generator(np.random.PCG64(c)) for c in seed_sequence(seed).spawn(count)]


def trial_group(n: int) -> int:
    """Trials per stream when every trial draws ``n`` samples: ``max(1, GROUP_SAMPLES // n)``."""
    return max(1, GROUP_SAMPLES // int(n))


def trial_generators(seed, n: int, trials: int):
    """The generator of each trial, in trial order (a group's trials share one generator).

    Trial ``t`` draws from child ``t // trial_group(n)`` of ``SeedSequence(seed)``'s spawn,
    after the trials of its group before it; this is the layout of :func:`trials_par`.
    """
    group = trial_group(n)
    gens = generators(seed, -(-trials // group))
    for t in range(trials):
        yield gens[t // group]


def s0_shift(alpha: float, beta: float, param: str) -> float:
    """Return ``d`` with ``Z_param = Z_S1 - d`` for the standard variables."""
    if param == "S0" and alpha != 1.0:
        return beta * math.tan(math.pi * alpha / 2.0)
    return 0.0


def constants(alpha: float, beta: float) -> tuple[float, float]:
    """Return ``(alpha * B, log S)`` of the CMS formula (unused at ``alpha == 1``)."""
    if alpha == 1.0:
        return 0.0, 0.0
    zeta = beta * math.tan(math.pi * alpha / 2.0)
    return math.atan(zeta), math.log1p(zeta * zeta) / (2.0 * alpha)


# ----------------------------------------------------------------------------------------
# the CMS formula (one scalar definition, run by CPython for the reference and by numba)
# ----------------------------------------------------------------------------------------
def transform(u, w, alpha, beta, ab, log_s):
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


transform_scalar = jit(transform)


@register_jitable(inline="always")
def transform_fast(u, w, alpha, ab, log_s):
    """:func:`transform` for ``alpha != 1``, branch-free, on :mod:`verify._elementary` functions.

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
def stream_numpy(gen, m, alpha, beta, scale, loc):
    """``loc + scale * Z`` for ``m`` samples of one stream, without numba."""
    ab, log_s = constants(alpha, beta)
    out = np.empty(m)
    for start in range(0, m, BLOCK):
        k = min(BLOCK, m - start)
        u = gen.random(k)
        w = gen.standard_exponential(k)
        if alpha == 1.0:
            pairs = zip(u.tolist(), w.tolist(), strict=True)
            z = np.array([transform(ui, wi, alpha, beta, ab, log_s) for ui, wi in pairs])
        else:
            with np.errstate(all="ignore"):  # IEEE overflow to inf, as in the kernel
                z = transform_fast(u, w, alpha, ab, log_s)
        out[start : start + k] = loc + scale * z
    return out


# ----------------------------------------------------------------------------------------
# numba kernels: scalar -> stream -> prange over chunks / trials
# ----------------------------------------------------------------------------------------
@jit
def fill_block(gen, out, start, k, alpha, beta, ab, log_s, scale, loc):
    """Fill ``out[start:start + k]`` with one block of ``loc + scale * Z`` from ``gen``."""
    # uniforms first, stored in place, then exponentials: the documented stream layout
    u = out[start : start + k]
    for i in range(k):
        u[i] = gen.random()
    w = np.empty(k)
    for i in range(k):
        w[i] = gen.standard_exponential()
    if alpha == 1.0:
        for i in range(k):
            u[i] = loc + scale * transform_scalar(u[i], w[i], alpha, beta, ab, log_s)
    else:
        for i in range(k):  # branch-free body: LLVM vectorises this loop
            u[i] = loc + scale * transform_fast(u[i], w[i], alpha, ab, log_s)


@jit
def fill_stream(gen, out, lo, hi, alpha, beta, ab, log_s, scale, loc):
    """Fill ``out[lo:hi]`` from one stream, block by block."""
    for start in range(lo, hi, BLOCK):
        fill_block(gen, out, start, min(BLOCK, hi - start), alpha, beta, ab, log_s, scale, loc)


@pjit
def sample_par(gens, size, chunk, alpha, beta, ab, log_s, scale, loc):
    """``size`` samples, chunk ``c`` of ``chunk`` samples from stream ``gens[c]``, in parallel."""
    out = np.empty(size)
    for c in prange(len(gens)):
        lo = c * chunk
        hi = min(size, lo + chunk)
        fill_stream(gens[np.intp(c)], out, lo, hi, alpha, beta, ab, log_s, scale, loc)
    return out


@jit
def sample_ser(gens, size, chunk, alpha, beta, ab, log_s, scale, loc):
    """:func:`sample_par` in one thread (the same numbers)."""
    out = np.empty(size)
    for c in range(len(gens)):
        lo = c * chunk
        hi = min(size, lo + chunk)
        fill_stream(gens[c], out, lo, hi, alpha, beta, ab, log_s, scale, loc)
    return out


@jit
def select(a, lo, hi, k):
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
def trial_stat(gen, n, buf, est, g, clip, alpha, beta, ab, log_s, scale, loc):
    """One trial: ``n`` samples of ``loc + scale * Z`` reduced by estimator code ``est``."""
    if est == 0 or est == 3:  # mean / clipped mean: O(BLOCK) memory
        total = 0.0
        for start in range(0, n, BLOCK):
            k = min(BLOCK, n - start)
            fill_block(gen, buf, 0, k, alpha, beta, ab, log_s, scale, loc)
            s = 0.0
            if est == 0:
                for i in range(k):
                    s += buf[i]
            else:
                for i in range(k):
                    s += min(max(buf[i], -clip), clip)
            total += s
        return total / n
    fill_stream(gen, buf, 0, n, alpha, beta, ab, log_s, scale, loc)
    if est == 1:  # median
        h = n // 2
        select(buf, 0, n, h)
        if n % 2 == 1:
            return buf[h]
        lower = buf[0]
        for i in range(1, h):
            lower = max(lower, buf[i])
        return (lower + buf[h]) / 2.0
    # trimmed mean: drop the g smallest and the g largest
    select(buf, 0, n, g)
    select(buf, g, n, n - g - 1)
    s = 0.0
    for i in range(g, n - g):
        s += buf[i]
    return s / (n - 2 * g)


@pjit
def trials_par(gens, trials, group, n, width, workers, est, g, clip, alpha, beta, ab, log_s,
               scale, loc):  # fmt: skip
    """``trials`` :func:`trial_stat` values, trial ``t`` from stream ``gens[t // group]``.

    The streams (each a group of consecutive trials, drawn in order) are dealt round-robin to
    ``workers``, each with its own buffer of ``width`` values.
    """
    out = np.empty(trials)
    bufs = np.empty((workers, width))
    for j in prange(workers):
        for c in range(j, len(gens), workers):
            gen = gens[np.intp(c)]
            for t in range(c * group, min(trials, (c + 1) * group)):
                out[t] = trial_stat(
                    gen, n, bufs[j], est, g, clip, alpha, beta, ab, log_s, scale, loc
                )
    return out


@jit
def trials_ser(gens, trials, group, n, width, workers, est, g, clip, alpha, beta, ab, log_s,
               scale, loc):  # fmt: skip
    """:func:`trials_par` in one thread (the same numbers)."""
    out = np.empty(trials)
    buf = np.empty(width)
    for t in range(trials):
        out[t] = trial_stat(
            gens[t // group], n, buf, est, g, clip, alpha, beta, ab, log_s, scale, loc
        )
    return out


def typed_list(gens):
    """The generators as a ``numba.typed.List`` for the kernels."""
    lst = List()
    for g in gens:
        lst.append(g)
    return lst

r"""Estimators of the tail index ``alpha`` and the scale ``sigma`` of stable samples.

Three methods, all for the S1 parameterisation of :mod:`verify.noise.stable`:

``"mcculloch"``
    McCulloch's (1986) quantile method: the ratio of the 5-95 % to the 25-75 % spread (and
    a skewness ratio) inverted through the published tables in :mod:`verify.noise.mcculloch`,
    with bilinear interpolation; ``sigma`` from the interquartile range and Table V.
``"koutrouvelis"``
    Koutrouvelis' (1980) regression on the empirical characteristic function, iterated:
    standardise the data by the current ``(mu, sigma)``, regress
    ``log(-log|phi(t_k)|^2)`` on ``log t_k`` (intercept ``log(2 sigma^alpha)``, slope
    ``alpha``) at ``t_k = pi k / 25``, ``k = 1..K``, then regress the argument of ``phi`` for
    ``beta`` and ``mu``; repeat until ``alpha`` moves by less than 1e-6 (at most 10 rounds).
    Starts from McCulloch's estimate.
``"blocksum"``
    The block-sum estimator of Mohammadi, Mohammadpour and Ogata (2015) for symmetric data:
    sums over ``k`` blocks of ``m`` samples scale by ``m^(1/alpha)``, so
    ``alpha = log m / (mean log|block sums| - mean log|x|)``; the ``n mod m`` trailing
    samples are dropped (any ``n``, prime or not, works). ``sigma`` from
    ``E log|X| = log sigma + gamma_E (1/alpha - 1)`` (symmetric stable).

:func:`estimate` returns a :class:`TailEstimate`; with ``ci=True`` it adds a seeded
bootstrap confidence interval (a subsampling interval for large samples).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numba
import numpy as np
from numba.extending import register_jitable
from scipy.interpolate import RegularGridInterpolator

from theory._validate import check_finite_array, check_int, check_probability
from verify._jit import jit, pjit

from . import mcculloch as tab

__all__ = [
    "DEFAULT_BLOCK",
    "FULL_BOOTSTRAP",
    "MAX_SAMPLES",
    "METHODS",
    "TailEstimate",
    "estimate",
    "subsample_size",
]

METHODS = ("mcculloch", "koutrouvelis", "blocksum")
#: Default block size ``m`` of the block-sum estimator (minimises ``sqrt(m) / log m``).
DEFAULT_BLOCK = 8
_MIN_SAMPLES = 16
#: Largest sample accepted: 10**8 float64 values (800 MB, several copies during a fit).
MAX_SAMPLES = 10**8
#: Largest sample whose bootstrap resamples all n values; beyond it, subsampling.
FULL_BOOTSTRAP = 20_000
#: Smallest subsample of the subsampling interval (10**6 samples: m = 10**4).
MIN_SUBSAMPLE = 10_000

_psi1 = RegularGridInterpolator((tab.NU_ALPHA, tab.NU_BETA), tab.PSI1_ALPHA)
_psi2 = RegularGridInterpolator((tab.NU_ALPHA, tab.NU_BETA), tab.PSI2_BETA)
_phi3 = RegularGridInterpolator((tab.ALPHA, tab.BETA), tab.PHI3_NU_C)
_phi5 = RegularGridInterpolator((tab.ALPHA, tab.BETA), tab.PHI5_NU_ZETA)


@dataclass(frozen=True)
class TailEstimate:
    """Result of :func:`estimate`.

    Attributes
    ----------
    alpha, sigma : float
        Estimated tail index (clipped to (0, 2]) and scale.
    method : str
        The method used.
    beta, mu : float or None
        Skewness and S1 location where the method estimates them (``None`` for blocksum).
    ci : dict or None
        ``{"alpha": (lo, hi), "sigma": (lo, hi), "level": level, "resample_size": m}`` from
        the bootstrap, or ``None`` when no interval was asked for.
    n : int
        The number of samples used.
    """

    alpha: float
    sigma: float
    method: str
    beta: float | None = None
    mu: float | None = None
    ci: dict | None = field(default=None)
    n: int = 0


# --------------------------------------------------------------------------------------
# McCulloch
# --------------------------------------------------------------------------------------
def _mcculloch(x: np.ndarray) -> tuple[float, float, float, float]:
    p05, p25, p50, p75, p95 = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    iqr = p75 - p25
    if not iqr > 0.0:
        raise ValueError("x has a zero interquartile range; the scale cannot be estimated")
    nu_a = (p95 - p05) / iqr
    nu_b = (p95 + p05 - 2.0 * p50) / (p95 - p05)
    sign = 1.0 if nu_b >= 0.0 else -1.0
    if nu_a <= tab.NU_ALPHA[0]:
        alpha, beta = 2.0, 0.0
    else:
        pt = (min(nu_a, tab.NU_ALPHA[-1]), min(abs(nu_b), tab.NU_BETA[-1]))
        alpha = float(_psi1(pt))
        beta = sign * min(float(_psi2(pt)), 1.0)
    sign_b = 1.0 if beta >= 0.0 else -1.0
    pt = (min(max(alpha, tab.ALPHA[0]), 2.0), abs(beta))
    sigma = iqr / float(_phi3(pt))
    zeta = p50 + sigma * sign_b * float(_phi5(pt))  # S0 location; phi_5 is odd in beta
    mu = zeta - beta * sigma * math.tan(math.pi * alpha / 2.0) if alpha != 1.0 else zeta
    return alpha, sigma, beta, mu


# --------------------------------------------------------------------------------------
# Koutrouvelis
# --------------------------------------------------------------------------------------
# number of regression points K (t_k = pi k / 25) and L (u_l = pi l / 50) by alpha: more
# points as the tail gets heavier, where |phi| decays more slowly
_K_ALPHA = np.array([0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9, 2.0])
_K_POINTS = np.array([56.0, 20.0, 18.0, 15.0, 14.0, 11.0, 10.0, 10.0, 10.0])
_L_POINTS = np.array([40.0, 20.0, 16.0, 14.0, 12.0, 12.0, 12.0, 12.0, 12.0])


#: Spacing of the ECF grid: t_k = pi k / 25 = 2 k DELTA and u_l = pi l / 50 = l DELTA.
_DELTA = math.pi / 50.0


def _ecf(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Empirical characteristic function of ``z`` at the points ``t`` (the definition)."""
    return np.array([complex(np.mean(np.cos(tk * z)), np.mean(np.sin(tk * z))) for tk in t])


_ECF_CHUNK = 1 << 15  # fixed chunk grid: the sums do not depend on the thread count
_ECF_PARALLEL = 1 << 18  # below this many samples threads cost more than they save


@register_jitable
def _ecf_chunk(z, delta, n_points, c, part):  # pragma: no cover - compiled
    for i in range(c * _ECF_CHUNK, min(z.size, (c + 1) * _ECF_CHUNK)):
        w = complex(math.cos(delta * z[i]), math.sin(delta * z[i]))
        p = w
        for k in range(n_points):
            part[c, k] += p
            p *= w


@jit
def _ecf_powers_ser(z, delta, n_points):  # pragma: no cover - compiled
    part = np.zeros(((z.size + _ECF_CHUNK - 1) // _ECF_CHUNK, n_points), dtype=np.complex128)
    for c in range(part.shape[0]):
        _ecf_chunk(z, delta, n_points, c, part)
    return part


@pjit
def _ecf_powers_par(z, delta, n_points):  # pragma: no cover - compiled
    part = np.zeros(((z.size + _ECF_CHUNK - 1) // _ECF_CHUNK, n_points), dtype=np.complex128)
    for c in numba.prange(part.shape[0]):
        _ecf_chunk(z, delta, n_points, c, part)
    return part


def _ecf_grid(z: np.ndarray, n_points: int) -> np.ndarray:
    """``_ecf(z, DELTA * [1 .. n_points])`` from one cosine and sine per sample (numba).

    ``exp(i k DELTA z) = w**k`` with ``w = exp(i DELTA z)``: the powers are built by
    repeated multiplication (relative rounding ~ k * 1e-16, k <= 112) in one pass over the
    data, many times cheaper than a cosine and a sine per sample and point.  :func:`_ecf`
    is the NumPy reference it is tested against.
    """
    z = np.ascontiguousarray(z, dtype=np.float64)
    kernel = _ecf_powers_par if z.size >= _ECF_PARALLEL else _ecf_powers_ser
    part = kernel(z, _DELTA, int(n_points))
    out = np.zeros(int(n_points), dtype=complex)
    for row in part:  # in chunk order, whatever the thread count
        out += row
    return out / z.size


def _koutrouvelis(x: np.ndarray, max_iter: int = 10, tol: float = 1e-6, start=None):
    # the estimate is the fixed point of the iteration; McCulloch's estimate is only where
    # it starts (the bootstrap starts its resamples at the full sample's estimate instead)
    alpha, sigma, beta, mu = _mcculloch(x) if start is None else start
    for _ in range(max_iter):
        z = (x - mu) / sigma
        k = int(round(float(np.interp(alpha, _K_ALPHA, _K_POINTS))))
        t = math.pi * np.arange(1, k + 1) / 25.0
        grid = _ecf_grid(z, 2 * k)  # phi at DELTA, 2 DELTA, ..., t_k = 2 k DELTA
        mod2 = np.abs(grid[1 : 2 * k : 2]) ** 2
        keep = (mod2 > 0.0) & (mod2 < 1.0)
        if keep.sum() < 3:
            break
        slope, icpt = np.polyfit(np.log(t[keep]), np.log(-np.log(mod2[keep])), 1)
        new_alpha = float(min(max(slope, 0.05), 2.0))
        s_hat = (math.exp(icpt) / 2.0) ** (1.0 / new_alpha)  # scale of z
        # second regression: arg phi_z(u) = (mu_z) u + beta s^a tan(pi a / 2) u^a (S1)
        n_l = int(round(float(np.interp(new_alpha, _K_ALPHA, _L_POINTS))))
        u = math.pi * np.arange(1, n_l + 1) / 50.0
        if n_l > grid.size:
            grid = _ecf_grid(z, n_l)
        phase = np.unwrap(np.angle(grid[:n_l]))
        if abs(new_alpha - 1.0) > 1e-3:
            design = np.column_stack(
                [u, s_hat**new_alpha * math.tan(math.pi * new_alpha / 2.0) * u**new_alpha]
            )
            (mu_z, beta_new), *_ = np.linalg.lstsq(design, phase, rcond=None)
        else:
            mu_z, beta_new = float(np.polyfit(u, phase, 1)[0]), beta
        alpha_old, alpha = alpha, new_alpha
        beta = float(min(max(beta_new, -1.0), 1.0))
        mu = mu + sigma * float(mu_z)
        sigma = sigma * s_hat
        if abs(alpha - alpha_old) < tol:
            break
    return alpha, sigma, beta, mu


# --------------------------------------------------------------------------------------
# block sums
# --------------------------------------------------------------------------------------
def _blocksum(x: np.ndarray, m: int) -> tuple[float, float]:
    k = x.size // m
    logs = np.log(np.abs(x))
    if not np.all(np.isfinite(logs)):
        raise ValueError("x contains exact zeros; the block-sum estimator needs log|x|")
    block = np.log(np.abs(x[: k * m].reshape(k, m).sum(axis=1)))
    gap = float(np.mean(block) - np.mean(logs))
    if not gap > 0.0:
        raise ValueError("block sums do not grow with the block size; is x centred at 0?")
    alpha = min(math.log(m) / gap, 2.0)
    sigma = math.exp(float(np.mean(logs)) - np.euler_gamma * (1.0 / alpha - 1.0))
    return alpha, sigma


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------
def _fit(x, method, block, start=None):
    if method == "mcculloch":
        return _mcculloch(x)
    if method == "koutrouvelis":
        return _koutrouvelis(x, start=start)
    return (*_blocksum(x, block), None, None)


def subsample_size(n: int) -> int:
    """Size ``m`` of the bootstrap resamples of ``n`` samples: ``n`` up to :data:`FULL_BOOTSTRAP`.

    Beyond it ``m = max(MIN_SUBSAMPLE, n**(2/3))``: ``m -> inf`` and ``m / n -> 0``, the
    conditions under which the subsampling interval is consistent.
    """
    if n <= FULL_BOOTSTRAP:
        return n
    return max(MIN_SUBSAMPLE, round(n ** (2.0 / 3.0)))


def _bootstrap(x, method, block, point, level, n_boot, seed, start=None):
    """Percentile bootstrap (n <= FULL_BOOTSTRAP) or subsampling interval (larger n).

    Up to :data:`FULL_BOOTSTRAP` samples: ``n_boot`` resamples of size n with replacement
    and the percentile interval.  Beyond it a fit costs O(n) per resample, so the interval
    comes from subsampling (Politis, Romano and Wolf, *Subsampling*, Springer 1999, ch. 2):
    ``n_boot`` subsamples of size ``m`` (:func:`subsample_size`) without replacement; the
    estimators are sqrt(n)-consistent and asymptotically normal (McCulloch 1986;
    Koutrouvelis 1980; the block-sum estimator is a smooth function of sample means), so
    ``sqrt(m (1 - m/n)^-1) (theta*_m - theta_hat)`` has the limit law of
    ``sqrt(n) (theta_hat - theta)``, and the interval is
    ``theta_hat - sqrt(m / (n (1 - m/n))) [q_hi, q_lo]`` of ``theta*_m - theta_hat``.
    The factor ``1 - m/n`` is the finite-population correction of sampling without
    replacement.
    """
    n = x.size
    m = subsample_size(n)
    rng = np.random.default_rng(seed)
    # all indices drawn first, in order: the fits may then run on threads (the ECF kernel
    # releases the GIL) and give the same numbers whatever the thread count
    idx = [rng.integers(0, n, n) if m == n else rng.choice(n, m, replace=False)
           for _ in range(n_boot)]  # fmt: skip
    with ThreadPoolExecutor(max_workers=max(1, numba.get_num_threads())) as pool:
        fits = list(pool.map(lambda i: _fit(x[i], method, block, start)[:2], idx))
    boot = np.asarray(fits, dtype=float)
    tails = [50.0 * (1.0 - level), 50.0 * (1.0 + level)]
    if m == n:
        (a_lo, a_hi), (s_lo, s_hi) = (np.percentile(boot[:, j], tails) for j in (0, 1))
    else:
        scale = math.sqrt(m / (n * (1.0 - m / n)))
        bounds = []
        for j, est in enumerate(point):
            q_lo, q_hi = np.percentile(boot[:, j] - est, tails)
            bounds.append((est - scale * q_hi, est - scale * q_lo))
        (a_lo, a_hi), (s_lo, s_hi) = bounds
        a_hi = min(a_hi, 2.0)  # alpha <= 2
    return {
        "alpha": (float(a_lo), float(a_hi)),
        "sigma": (float(s_lo), float(s_hi)),
        "level": level,
        "resample_size": int(m),
    }


def estimate(
    x,
    method="mcculloch",
    *,
    ci=False,
    level=0.95,
    n_boot=200,
    seed=0,
    block_size=DEFAULT_BLOCK,
) -> TailEstimate:
    """Estimate the tail index and scale of the stable sample ``x``.

    Parameters
    ----------
    x : array_like
        One-dimensional finite sample, at least 16 and at most :data:`MAX_SAMPLES` values.
    method : {"mcculloch", "koutrouvelis", "blocksum"}, optional
        The estimator (module docstring). ``"blocksum"`` assumes symmetric data centred at 0.
    ci : bool, optional
        Add a bootstrap confidence interval for ``alpha`` and ``sigma``: the percentile
        bootstrap up to :data:`FULL_BOOTSTRAP` samples, a subsampling interval beyond
        (``_bootstrap``), so 10**6 samples take a few seconds.
    level : float, optional
        Confidence level in (0, 1) of the interval.
    n_boot : int, optional
        Bootstrap resamples, >= 10.
    seed : int, optional
        Seed of the bootstrap resampling (``np.random.default_rng(seed)``), >= 0.
    block_size : int, optional
        Block size ``m`` of ``"blocksum"``, in [2, len(x) // 2]; default :data:`DEFAULT_BLOCK`.

    Returns
    -------
    TailEstimate
        With ``.alpha``, ``.sigma``, ``.beta``, ``.mu``, ``.ci`` and ``.method``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if np.size(x) > MAX_SAMPLES:
        raise ValueError(f"x must hold at most {MAX_SAMPLES:.0e} samples, got {np.size(x)}")
    x = check_finite_array("x", x, ndim=1)
    if x.size < _MIN_SAMPLES:
        raise ValueError(f"x must hold at least {_MIN_SAMPLES} samples, got {x.size}")
    level = check_probability("level", level)
    n_boot = check_int("n_boot", n_boot, lo=10)
    seed = check_int("seed", seed, lo=0)
    block = check_int("block_size", block_size, lo=2, hi=x.size // 2)
    alpha, sigma, beta, mu = _fit(x, method, block)
    interval = None
    if ci:
        start = (alpha, sigma, beta, mu) if method == "koutrouvelis" else None
        interval = _bootstrap(x, method, block, (alpha, sigma), level, n_boot, seed, start)
    return TailEstimate(
        alpha=float(alpha),
        sigma=float(sigma),
        method=method,
        beta=None if beta is None else float(beta),
        mu=None if mu is None else float(mu),
        ci=interval,
        n=int(x.size),
    )

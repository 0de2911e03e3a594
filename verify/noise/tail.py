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
percentile-bootstrap confidence interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from theory._validate import check_finite_array, check_int, check_probability

from . import mcculloch as tab

__all__ = ["DEFAULT_BLOCK", "METHODS", "TailEstimate", "estimate"]

METHODS = ("mcculloch", "koutrouvelis", "blocksum")
#: Default block size ``m`` of the block-sum estimator (minimises ``sqrt(m) / log m``).
DEFAULT_BLOCK = 8
_MIN_SAMPLES = 16

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
        ``{"alpha": (lo, hi), "sigma": (lo, hi), "level": level}`` from the bootstrap, or
        ``None`` when no interval was asked for.
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


def _ecf(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Empirical characteristic function of ``z`` at the points ``t``."""
    return np.array([complex(np.mean(np.cos(tk * z)), np.mean(np.sin(tk * z))) for tk in t])


def _koutrouvelis(x: np.ndarray, max_iter: int = 10, tol: float = 1e-6):
    alpha, sigma, beta, mu = _mcculloch(x)
    for _ in range(max_iter):
        z = (x - mu) / sigma
        k = int(round(float(np.interp(alpha, _K_ALPHA, _K_POINTS))))
        t = math.pi * np.arange(1, k + 1) / 25.0
        mod2 = np.abs(_ecf(z, t)) ** 2
        keep = (mod2 > 0.0) & (mod2 < 1.0)
        if keep.sum() < 3:
            break
        slope, icpt = np.polyfit(np.log(t[keep]), np.log(-np.log(mod2[keep])), 1)
        new_alpha = float(min(max(slope, 0.05), 2.0))
        s_hat = (math.exp(icpt) / 2.0) ** (1.0 / new_alpha)  # scale of z
        # second regression: arg phi_z(u) = (mu_z) u + beta s^a tan(pi a / 2) u^a (S1)
        n_l = int(round(float(np.interp(new_alpha, _K_ALPHA, _L_POINTS))))
        u = math.pi * np.arange(1, n_l + 1) / 50.0
        phase = np.unwrap(np.angle(_ecf(z, u)))
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
def _fit(x, method, block):
    if method == "mcculloch":
        return _mcculloch(x)
    if method == "koutrouvelis":
        return _koutrouvelis(x)
    return (*_blocksum(x, block), None, None)


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
        One-dimensional finite sample, at least 16 values.
    method : {"mcculloch", "koutrouvelis", "blocksum"}, optional
        The estimator (module docstring). ``"blocksum"`` assumes symmetric data centred at 0.
    ci : bool, optional
        Add a percentile-bootstrap confidence interval for ``alpha`` and ``sigma``.
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
        rng = np.random.default_rng(seed)
        boot = np.empty((n_boot, 2))
        for b in range(n_boot):
            xb = x[rng.integers(0, x.size, x.size)]
            boot[b] = _fit(xb, method, block)[:2]
        tails = [50.0 * (1.0 - level), 50.0 * (1.0 + level)]
        a_lo, a_hi = np.percentile(boot[:, 0], tails)
        s_lo, s_hi = np.percentile(boot[:, 1], tails)
        interval = {
            "alpha": (float(a_lo), float(a_hi)),
            "sigma": (float(s_lo), float(s_hi)),
            "level": level,
        }
    return TailEstimate(
        alpha=float(alpha),
        sigma=float(sigma),
        method=method,
        beta=None if beta is None else float(beta),
        mu=None if mu is None else float(mu),
        ci=interval,
        n=int(x.size),
    )

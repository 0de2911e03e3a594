"""Symmetric alpha-stable noise: the concentration exponent and the detection threshold.

The noise of THEORY.md section 2 is symmetric alpha-stable, SaS(sigma), with characteristic
function ``exp(-|sigma t|**alpha)``.  By stability the mean of N draws is SaS with scale
``sigma * N**(-1/kappa)`` where ``kappa = alpha / (alpha - 1)``.

The quantiles of SaS(1) are computed here from the characteristic function (Gil-Pelaez
inversion, adaptive quadrature and a bracketing root finder), independently of
``scipy.stats.levy_stable``; the tests compare the two.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp
from scipy import integrate, optimize, special

from ._validate import check_alpha, check_in_range, check_positive, check_probability

__all__ = [
    "alpha_symbol",
    "detection_threshold",
    "kappa",
    "kappa_expr",
    "mean_scale",
    "sas_cdf",
    "sas_quantile",
]

#: The stability index as a SymPy symbol, and kappa_alpha = alpha/(alpha-1) as an expression.
alpha_symbol = sp.Symbol("alpha", positive=True)
kappa_expr = alpha_symbol / (alpha_symbol - 1)


def kappa(alpha) -> float:
    """Concentration exponent ``kappa_alpha = alpha / (alpha - 1)``.

    The sample mean of N SaS(sigma) draws has scale ``sigma * N**(-1/kappa)``; ``kappa = 2``
    at ``alpha = 2`` (the usual ``1/sqrt(N)``) and ``kappa -> inf`` as ``alpha -> 1``.

    Parameters
    ----------
    alpha : float
        Stability index in (1, 2].

    Returns
    -------
    float
    """
    a = check_alpha(alpha)
    return a / (a - 1.0)


def mean_scale(alpha, sigma, n):
    """Scale ``sigma * n**(-1/kappa_alpha)`` of the mean of ``n`` SaS(sigma) draws."""
    k = kappa(alpha)
    s = check_positive("sigma", sigma)
    n_arr = np.asarray(n, dtype=float)
    if np.any(~np.isfinite(n_arr)) or np.any(n_arr < 1):
        raise ValueError(f"N must be >= 1 and finite, got {n!r}")
    out = s * n_arr ** (-1.0 / k)
    return float(out) if out.ndim == 0 else out


def _cdf_integrand(t, x, a):
    # Gil-Pelaez: F(x) = 1/2 + (1/pi) int_0^inf sin(x t) exp(-t^a) / t dt
    return x * np.sinc(x * t / np.pi) * np.exp(-(t**a))


def _decay(t, a):
    # the non-oscillating factor of the Gil-Pelaez integrand, exp(-t^a) / t
    return math.exp(-(t**a)) / t


def _upper_tail_series(x: float, a: float) -> float:
    """Bergstrom's series for ``P(X > x)`` (Nolan 2020, Thm 1.12).

    Used for ``x > 20`` (``a < 1``) or ``x > 1e3``.

    ``P(X > x) = (1/pi) sum_k (-1)**(k+1) Gamma(k a) / k! sin(k pi a / 2) x**(-k a)``:
    convergent for ``a < 1``, asymptotic for ``a > 1``.  Summed until a term falls below
    1e-17 of the sum (for ``a`` near 0.5 and ``x`` near 1e3 the leading term alone is off
    by 1e-4 of the tail) or starts to grow (the asymptotic case).
    """
    total, prev = 0.0, math.inf
    log_x = math.log(x)
    for k in range(1, 60):
        sin_k = math.sin(k * math.pi * a / 2.0)
        size = math.exp(special.gammaln(k * a) - special.gammaln(k + 1.0) - k * a * log_x)
        if size > prev:
            break
        total += (-1.0) ** (k + 1) * size * sin_k
        if size < 1e-17 * abs(total):
            break
        prev = size
    return total / math.pi


@lru_cache(maxsize=4096)
def _sas_cdf_scalar(x: float, a: float) -> float:
    if a == 2.0:
        return float(special.ndtr(x / math.sqrt(2.0)))
    if x == 0.0:
        return 0.5
    # the series converges for a < 1 (geometrically in x**-a beyond x = 20) and is
    # asymptotic for a > 1; the Gil-Pelaez integral covers the rest
    if abs(x) > (20.0 if a < 1.0 else 1e3):
        tail = _upper_tail_series(abs(x), a)
        return 1.0 - tail if x > 0 else tail
    # exp(-t^a) < 1e-300 beyond t_max: the integral is truncated there
    t_max = 700.0 ** (1.0 / a)
    # up to t0 (a few periods of sin(x t)) plain quadrature of the bounded sinc form; beyond
    # it QUADPACK's oscillatory rule (weight sin(x t)), which stays accurate and silent for
    # large |x| where plain quadrature runs out of subdivisions
    t0 = min(1.0, t_max, 20.0 / abs(x))
    total, _ = integrate.quad(
        _cdf_integrand, 0.0, t0, args=(x, a), limit=400, epsabs=1e-14, epsrel=1e-12
    )
    brk = sorted({min(t_max, p) for p in (1.0, 4.0, 10.0)} | {t_max})
    lo = t0
    for hi in brk:
        if hi <= lo:
            continue
        val, _ = integrate.quad(
            _decay,
            lo,
            hi,
            args=(a,),
            weight="sin",
            wvar=x,
            limit=400,
            epsabs=1e-14,
            epsrel=1e-12,
        )
        total += val
        lo = hi
    return 0.5 + total / math.pi


#: Smallest stability index whose CDF and quantiles are computed (and tested) accurately.
ALPHA_MIN_CDF = 0.5


def _check_cdf_alpha(alpha) -> float:
    a = check_alpha(alpha, lo=0.0)
    return check_in_range(
        "alpha",
        a,
        ALPHA_MIN_CDF,
        2.0,
        note="the SaS CDF and quantiles are computed to ~1e-12 only for alpha in [0.5, 2] "
        "(the range of McCulloch's tables they are checked against)",
    )


def sas_cdf(x, alpha):
    """CDF of the standard symmetric alpha-stable law SaS(1), ``0.5 <= alpha <= 2``.

    Parameters
    ----------
    x : float or array_like
        Finite or infinite points (NaN is refused).
    alpha : float
        Stability index in [0.5, 2]: below 0.5 the Gil-Pelaez integral loses accuracy and
        the input is refused.

    Returns
    -------
    float or ndarray
    """
    a = _check_cdf_alpha(alpha)
    try:
        xs = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"x must be real numbers, got {x!r}") from None
    if np.isnan(xs).any():
        raise ValueError("x contains NaN")
    if np.isinf(xs).any():
        xs = np.clip(xs, -1e300, 1e300)  # the CDF is 0 and 1 there, as the series gives
    out = np.vectorize(lambda v: _sas_cdf_scalar(float(v), a), otypes=[float])(xs)
    return float(out) if out.ndim == 0 else out


@lru_cache(maxsize=1024)
def _sas_quantile(p: float, a: float) -> float:
    if a == 2.0:
        return float(math.sqrt(2.0) * special.ndtri(p))
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -_sas_quantile(1.0 - p, a)
    hi = 1.0
    while _sas_cdf_scalar(hi, a) < p:
        hi *= 2.0
        if hi > 1e12:
            raise ValueError(f"quantile level {p} too close to 1 for alpha={a}")
    return float(
        optimize.brentq(lambda v: _sas_cdf_scalar(v, a) - p, 0.0, hi, xtol=1e-13, rtol=1e-13)
    )


def sas_quantile(p, alpha) -> float:
    """Quantile of SaS(1): the ``x`` with ``P(X <= x) = p``.

    Parameters
    ----------
    p : float
        Probability in (0, 1).
    alpha : float
        Stability index in [0.5, 2] (see :func:`sas_cdf`).
    """
    return _sas_quantile(check_probability("p", p), _check_cdf_alpha(alpha))


def detection_threshold(alpha, false_alarm=0.05) -> float:
    """Two-sided SNR threshold ``epsilon = q_{1 - false_alarm/2}`` of SaS(1).

    With this threshold the test ``|mean| N**(1/kappa) / sigma > epsilon`` declares a lag
    detected with probability exactly ``false_alarm`` when there is no signal.
    """
    fa = check_in_range("false_alarm", false_alarm, 0.0, 1.0, lo_open=True, hi_open=True)
    return sas_quantile(1.0 - fa / 2.0, alpha)

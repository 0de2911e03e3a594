"""The author's per-lag SNR test under the null: where pure noise is declared detectable.

The author's "empirical H_N" (THEORY.md, section on the author's pipeline) estimates
``SNR(N) = |mean psi| N**(1 - 1/alpha) / sigma_hat`` from ``M`` samples of a per-lag
statistic ``psi`` and calls the lag detectable from the first ``N`` with ``SNR(N) > epsilon``.
For a zero-mean SaS(sigma) ``psi`` whose scale ``sigma_hat`` is estimated consistently
(McCulloch's quantiles and the characteristic-function regression both estimate the SaS
scale, so a Gaussian of standard deviation ``s`` gives ``s / sqrt(2)``):

* **With the sign flip** (each diagnostic batch of ``B`` samples multiplied by the sign of its
  mean), the flipped mean is the mean of the batches' ``|mean|``, which concentrates on
  ``sigma B**(-1/kappa) m_alpha`` with ``m_alpha = E|S| = (2 / pi) Gamma(1 - 1/alpha)`` for
  ``S ~ SaS(1)``.  The null crosses epsilon at the deterministic

      ``N* = B (epsilon / m_alpha)**kappa``  (``alpha = 2``: ``epsilon**2 pi B / 4``),

  whatever the signal: the window saturates with no signal once ``N > N*``.
* **Without the flip**, ``|mean psi|`` over all ``M`` samples is ``sigma M**(-1/kappa) |S|``,
  so a null lag's ``N_required`` is random, ``M (epsilon / |S|)**kappa``: it is at most ``n``
  with probability ``P(|S| >= epsilon (n / M)**(-1/kappa))``.  Extrapolating a mean from a
  few hundred samples to large ``N`` declares most null lags detectable: at ``epsilon = 0.1``
  and ``M = 128`` the median ``N_required`` of a Gaussian null is about 1.4.

Both are exact for SaS ``psi`` (stability) and ignore the error of ``sigma_hat``.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ._validate import check_alpha, check_positive
from .noise import alpha_symbol, kappa, kappa_expr, sas_cdf

__all__ = [
    "abs_mean",
    "abs_mean_expr",
    "batch_symbol",
    "epsilon_symbol",
    "null_crossing",
    "null_crossing_expr",
    "null_detect_probability",
]

#: SymPy symbols of the threshold and the batch (or sample) size.
epsilon_symbol, batch_symbol = sp.symbols("epsilon B", positive=True)
#: ``E|S|`` of ``S ~ SaS(1)`` (characteristic function ``exp(-|t|**alpha)``), ``1 < alpha <= 2``.
abs_mean_expr = 2 / sp.pi * sp.gamma(1 - 1 / alpha_symbol)
#: The flipped null's crossing ``B (epsilon / m_alpha)**kappa_alpha``.
null_crossing_expr = batch_symbol * (epsilon_symbol / abs_mean_expr) ** kappa_expr


def abs_mean(alpha) -> float:
    """``E|S|`` of ``S ~ SaS(1)``: ``(2 / pi) Gamma(1 - 1/alpha)``; ``alpha = 2``: ``2 / sqrt(pi)``.

    Parameters
    ----------
    alpha : float
        Stability index in (1, 2]: at ``alpha <= 1`` the mean absolute value is infinite.
    """
    a = check_alpha(alpha)
    return 2.0 / math.pi * math.gamma(1.0 - 1.0 / a)


def null_crossing(epsilon, batch, alpha=2.0):
    """``N`` at which the sign-flipped SNR of a zero-mean SaS sample crosses ``epsilon``.

    Parameters
    ----------
    epsilon : float
        The SNR threshold, > 0 (the author's 0.1).
    batch : float
        Samples per diagnostic batch whose mean sets the sign, >= 1 (with no flip: the whole
        sample, for the crossing of ``E|mean|``).
    alpha : float, optional
        Stability index in (1, 2] of ``psi``, also the exponent the SNR uses.

    Returns
    -------
    float
        ``batch * (epsilon / abs_mean(alpha)) ** kappa(alpha)``; ``alpha = 2``:
        ``epsilon**2 * pi * batch / 4``.
    """
    eps = check_positive("epsilon", epsilon)
    b = check_positive("batch", batch)
    if b < 1:
        raise ValueError(f"batch must be >= 1 sample, got {batch!r}")
    return b * (eps / abs_mean(alpha)) ** kappa(alpha)


def null_detect_probability(n, epsilon, samples, alpha=2.0):
    """Probability that a zero-mean lag's unflipped ``N_required`` is at most ``n``.

    ``P(|S| >= epsilon (n / samples)**(-1/kappa))`` for ``S ~ SaS(1)``: the chance that the
    author's SNR, with ``|mean psi|`` from ``samples`` draws and no sign flip, exceeds
    ``epsilon`` at ``N = n``.

    Parameters
    ----------
    n : float or array_like
        Sample sizes, >= 1.
    epsilon : float
        The SNR threshold, > 0.
    samples : float
        Draws the mean is taken over, >= 1.
    alpha : float, optional
        Stability index in (1, 2].
    """
    eps = check_positive("epsilon", epsilon)
    m = check_positive("samples", samples)
    k = kappa(alpha)
    n_arr = np.asarray(n, dtype=float)
    if np.any(~np.isfinite(n_arr)) or np.any(n_arr < 1) or m < 1:
        raise ValueError(f"n and samples must be >= 1 and finite, got n={n!r}, samples={samples!r}")
    x = eps * (n_arr / m) ** (-1.0 / k)
    out = 2.0 * (1.0 - np.asarray(sas_cdf(x, float(alpha)), dtype=float))
    return float(out) if out.ndim == 0 else out

"""The theory's prediction for a trained cell: N_pred(l) and the windows it implies.

``N_pred(l) = (C sigma_hat / f_hat(l))^kappa(alpha_hat)`` with a constant ``C`` calibrated
on a reference (:func:`calibrate`), from a cell's summary
(:func:`verify.training.claims.summarise`); and ``H_N`` of :mod:`theory` from the law fitted
to the cell's envelope (:func:`theory_window`). Plain NumPy, no torch.

Units: ``sigma_hat`` is the scale of per-sequence *gradient* projections, so ``f_hat`` enters
with the optimizer's mean rate divided out (``log_f_unit``: the transport weighted by the
per-unit rates relative to their mean). A global learning rate then cancels, as it does in
any signal-to-noise ratio, and no quantity carries the optimizer's rate on one side only;
``C`` holds the signal gain ``c`` and the threshold, both in gradient units.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["calibrate", "predicted_n", "predicted_window_idx", "theory_window"]


def calibrate(refs, n_max: float = math.inf) -> float:
    """``log C`` from reference summaries: the mean over their learned lags (``N_emp <= n_max``).

    Each learned lag gives ``log C = log N_emp / kappa + log f_unit - log sigma``.
    """
    vals = []
    for s in refs:
        fin = np.isfinite(s["n_emp"]) & (s["n_emp"] <= n_max)
        ok = fin & ~s["censored"]
        if not ok.any():
            ok = fin
        if ok.any() and np.isfinite(s["kappa"]):
            vals += list(
                np.log(s["n_emp"][ok]) / s["kappa"] + s["log_f_unit"][ok] - np.log(s["sigma"])
            )
    return float(np.mean(vals)) if vals else math.nan


def predicted_n(s, log_c: float) -> np.ndarray:
    """``N_pred`` at the planted lags (module docstring)."""
    with np.errstate(over="ignore"):
        return np.exp(s["kappa"] * (log_c + np.log(s["sigma"]) - s["log_f_unit"]))


def predicted_window_idx(s, log_c: float, ns) -> np.ndarray:
    """Index of the largest planted lag with ``N_pred <= N``, for each ``N`` in ``ns``."""
    n_pred = predicted_n(s, log_c)
    return np.array(
        [np.max(np.nonzero(n_pred <= n)[0]) + 1 if np.any(n_pred <= n) else 0 for n in ns]
    )


def theory_window(s, log_c: float, ns):
    """``H_N`` of :mod:`theory` from the law fitted to the cell's envelope (None if unfit)."""
    import theory
    from verify import recurrences as rec

    if not (np.isfinite(log_c) and np.isfinite(s["kappa"])):
        return [None] * len(ns)
    try:
        log_f = s["log_f_all_unit"]
        fit = rec.fit_envelope(log_f[1:], np.arange(1, len(log_f)), log=True)
        alpha = min(s["alpha"], 2.0)
        k = theory.detection_threshold(alpha) + theory.sas_quantile(0.9, alpha)
        win = theory.learnability_window(fit.best, alpha, sigma=s["sigma"], c=k / math.exp(log_c))
        return [int(win(n)) for n in ns]
    except (ValueError, TypeError, OverflowError, ArithmeticError):
        return [None] * len(ns)

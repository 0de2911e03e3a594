"""Fit the five envelope laws to a measured envelope and choose one by AIC or BIC.

Each law is fitted by least squares in ``log f`` over the lags.  Four laws are linear in
transformed parameters (``log A`` and a decay rate or exponent) and are fitted with
:func:`scipy.optimize.lsq_linear` under positivity bounds; the stretched exponential is
fitted with :func:`scipy.optimize.least_squares` from several starts.  The chosen law is
returned as the matching :mod:`theory` law object, so that a measured network flows
straight into :func:`theory.learnability_window`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, lsq_linear

from theory._validate import check_finite_array, check_int

from .envelope import EnvelopeResult

__all__ = ["EnvelopeFit", "LawFit", "fit_envelope", "law_log_values"]

LAW_NAMES = (
    "exponential",
    "polynomial",
    "logarithmic",
    "stretched_exponential",
    "tempered_power_law",
)
CRITERIA = ("aic", "bic")

# Smallest positive rate/exponent allowed (theory's laws need strictly positive values).
_TINY = 1e-12
# Residual floor per point: log f is known to ~1e-12 at best, so a "perfect" fit is no
# better than that and ties between nested laws are broken by the parameter count.
_RSS_FLOOR = 1e-24


def law_log_values(name: str, params: dict, lags) -> np.ndarray:
    """Return ``log f(lags)`` of the named law (numerically, in log space)."""
    ell = np.asarray(lags, dtype=float)
    la = np.log(params["A"])
    if name == "exponential":
        return la - ell / params["tau"]
    if name == "polynomial":
        return la - params["beta"] * np.log1p(ell)
    if name == "logarithmic":
        return la - params["gamma"] * np.log1p(np.log1p(ell))
    if name == "stretched_exponential":
        return la - (ell / params["tau"]) ** params["gamma"]
    if name == "tempered_power_law":
        with np.errstate(divide="ignore"):
            return la - params["beta"] * np.log(ell) - ell / params["lam"]
    raise ValueError(f"law must be one of {LAW_NAMES}, got {name!r}")


@dataclass(frozen=True)
class LawFit:
    """One law's least-squares fit.

    Attributes
    ----------
    name : str
    params : dict
    rss : float
        Residual sum of squares in ``log f``.
    aic, bic : float
        ``n ln(RSS/n) + 2k`` and ``n ln(RSS/n) + k ln n``.
    k : int
        Number of fitted parameters.
    """

    name: str
    params: dict
    rss: float
    aic: float
    bic: float
    k: int

    def law(self):
        """The fitted law as a :mod:`theory` law object."""
        import theory

        return theory.LAWS[self.name](**self.params)


@dataclass(frozen=True)
class EnvelopeFit:
    """Fits of all laws and the chosen one.

    Attributes
    ----------
    best : theory.EnvelopeLaw
        The law with the smallest criterion.
    best_name : str
    criterion : str
    fits : tuple of LawFit
        All fits, sorted by the criterion (a law whose fitted parameters leave float64's
        range is left out).
    lags, log_f : ndarray
        The data the laws were fitted to.
    """

    best: object
    best_name: str
    criterion: str
    fits: tuple
    lags: np.ndarray
    log_f: np.ndarray

    def table(self) -> list[dict]:
        """The fits as plain rows (name, params, rss, aic, bic, k, delta)."""
        key = self.criterion
        lo = getattr(self.fits[0], key)
        return [
            dict(
                name=f.name,
                params=f.params,
                rss=f.rss,
                aic=f.aic,
                bic=f.bic,
                k=f.k,
                delta=getattr(f, key) - lo,
            )  # fmt: skip
            for f in self.fits
        ]

    def fit(self, name: str) -> LawFit:
        """The fit of the named law."""
        for f in self.fits:
            if f.name == name:
                return f
        raise ValueError(f"law {name!r} was not fitted; fitted: {[f.name for f in self.fits]}")


def _linear(y, cols, lower):
    """Least squares ``y ~ c0 - sum_i p_i cols_i`` with ``p_i >= lower``; return (c0, p)."""
    a = np.column_stack([np.ones_like(y)] + [-c for c in cols])
    lb = np.array([-np.inf] + [lower] * len(cols))
    res = lsq_linear(a, y, bounds=(lb, np.full(len(cols) + 1, np.inf)), method="bvls")
    return res.x[0], res.x[1:]


def _fit_one(name, ell, y):
    if name == "exponential":
        la, (rate,) = _linear(y, [ell], _TINY)
        return {"A": np.exp(la), "tau": 1.0 / rate}
    if name == "polynomial":
        la, (beta,) = _linear(y, [np.log1p(ell)], _TINY)
        return {"A": np.exp(la), "beta": beta}
    if name == "logarithmic":
        la, (gamma,) = _linear(y, [np.log1p(np.log1p(ell))], _TINY)
        return {"A": np.exp(la), "gamma": gamma}
    if name == "tempered_power_law":
        la, (beta, inv_lam) = _linear(y, [np.log(ell), ell], _TINY)
        return {"A": np.exp(la), "beta": beta, "lam": 1.0 / inv_lam}
    # stretched exponential: y = log A - exp(gamma (log ell - log tau)), in log parameters
    scale = max(float(ell.max()), 1.0)

    def resid(p):
        with np.errstate(all="ignore"):
            r = p[0] - (ell / np.exp(p[1])) ** np.exp(p[2]) - y
        return np.where(np.isfinite(r), r, 1e150)

    best = None
    la0, (rate0,) = _linear(y, [ell], _TINY)
    for g0 in (0.3, 0.6, 1.0, 1.5):
        tau0 = min(1.0 / rate0, 1e6 * scale)
        res = least_squares(resid, [la0, np.log(tau0), np.log(g0)], method="lm", max_nfev=2000)
        if np.all(np.isfinite(res.x)) and (best is None or res.cost < best.cost):
            best = res
    la, ltau, lg = best.x
    return {"A": np.exp(la), "tau": np.exp(ltau), "gamma": np.exp(lg)}


def fit_envelope(envelope, lags=None, *, log=False, laws=LAW_NAMES, criterion="bic",
                 min_lag=1, max_lag=None) -> EnvelopeFit:  # fmt: skip
    """Fit envelope laws to a measured envelope and choose one.

    Parameters
    ----------
    envelope : EnvelopeResult or array_like
        A measured envelope (from :func:`verify.recurrences.measure_envelope`), or the
        values ``f(l)`` (or ``log f`` with ``log=True``) at ``lags``.
    lags : array_like of int, optional
        The lags of the values (default ``0, 1, ...``).
    log : bool
        Whether ``envelope`` holds ``log f``.
    laws : sequence of str
        Laws to fit (default: all five).
    criterion : {"bic", "aic"}
        Model-choice criterion.
    min_lag, max_lag : int, optional
        Fit lags in ``[min_lag, max_lag]``; ``min_lag >= 1`` by default, since the tempered
        power law is singular at 0 and all laws must see the same data.

    Returns
    -------
    EnvelopeFit
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    laws = tuple(laws)
    bad = [n for n in laws if n not in LAW_NAMES]
    if bad or not laws:
        raise ValueError(f"laws must be a non-empty subset of {LAW_NAMES}, got {laws!r}")
    if isinstance(envelope, EnvelopeResult):
        y, ell = envelope.log_f, envelope.lags
    else:
        vals = np.asarray(envelope, dtype=float)
        if vals.ndim != 1:
            raise ValueError(f"envelope must be a 1-d array, got shape {vals.shape}")
        if log:
            y = vals
        else:
            if np.any(np.isnan(vals)) or np.any(vals < 0):
                raise ValueError("envelope values f must be >= 0 (pass log f with log=True)")
            with np.errstate(divide="ignore"):
                y = np.log(vals)
        ell = np.arange(len(vals)) if lags is None else check_finite_array("lags", lags, ndim=1)
        if ell.shape != y.shape:
            raise ValueError(f"lags must have shape {y.shape} like the envelope, got {ell.shape}")
    min_lag = check_int("min_lag", min_lag, lo=0)
    keep = np.isfinite(y) & (ell >= min_lag)
    if max_lag is not None:
        keep &= ell <= check_int("max_lag", max_lag, lo=min_lag)
    if "tempered_power_law" in laws:
        keep &= ell > 0
    ell, y = np.asarray(ell[keep], dtype=float), np.asarray(y[keep], dtype=float)
    n = len(y)
    if n < 4:
        raise ValueError(f"envelope must have at least 4 finite values in the lag range, got {n}")
    fits = []
    for name in laws:
        with np.errstate(over="ignore"):
            params = {k: float(v) for k, v in _fit_one(name, ell, y).items()}
        if not all(np.isfinite(v) and v > 0.0 for v in params.values()):
            continue  # the law's parameters leave float64: it cannot describe these data
        rss = float(np.sum((law_log_values(name, params, ell) - y) ** 2))
        k = len(params)
        ln_sigma2 = np.log(max(rss, n * _RSS_FLOOR) / n)
        fits.append(LawFit(name, params, rss, n * ln_sigma2 + 2 * k,
                           n * ln_sigma2 + k * np.log(n), k))  # fmt: skip
    if not fits:
        raise ValueError("no envelope law could be fitted: every fit left float64's range")
    fits.sort(key=lambda f: getattr(f, criterion))
    return EnvelopeFit(best=fits[0].law(), best_name=fits[0].name, criterion=criterion,
                       fits=tuple(fits), lags=ell, log_f=y)  # fmt: skip

"""The empirical detection size ``N_det(l)`` of the paper's test on real gradients (E6).

From the lag-resolved per-sequence gradients of :mod:`verify.training.lag_signal`
(``g`` of shape (K, M, L), ``total`` of shape (K, M)) this module builds one evidence sample
per lag and measures, by subsampling sequences, the smallest ``N`` at which the paper's test
detects the lag with power ``1 - delta``.  Plain NumPy, no torch.

Evidence (:func:`evidence`)
    The ``M`` sequences are split in two halves.  On the first, the sign of each direction's
    mean lag-``l`` contribution is estimated; on the second, the evidence of a sequence is
    the sign-aligned average over directions.  The sign is thus fixed on independent data:
    a zero-mean lag stays zero-mean (the author's per-batch flip does not; E5).  Two views:

    * ``"gradient"`` (the theorem's model, the primary one): the lag-``l`` contribution plus
      the rest of the sequence's gradient (``total - g``, centred on its mean over the half)
      multiplied by an independent random sign per sequence -- the signal carried through
      lag ``l`` against the fluctuations of the whole per-sequence gradient, its tails kept.
      One noise law for every lag, as in THEORY.md section 2.
    * ``"own"``: the lag-``l`` contribution alone, against its own fluctuations.  Its
      noise is carried through the same ``l`` steps as its signal.

The test (:func:`detection_power`)
    ``|mean of N| N^(1/kappa) / sigma_hat(l) > epsilon`` with ``epsilon`` the SaS(1)
    quantile ``q_{1 - delta0/2}`` at the pooled ``alpha_hat`` (level ``delta0``), the
    power over :data:`DRAWS` subsamples of ``N`` sequences drawn with replacement (i.i.d.
    draws from the empirical law), nested so that one draw serves every ``N`` of the grid.

``N_det(l)`` (:func:`crossing`)
    The first ``N`` of a geometric grid (ratio ``2^(1/4)``) where the power reaches
    ``1 - delta``, interpolated on the probit scale; an interval from the Wilson bounds of
    the powers; ``inf`` when the power never reaches it up to ``N = M / 2`` (right-censored),
    flagged when it does so already at the first grid point (left-censored).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

__all__ = [
    "DELTA",
    "DRAWS",
    "LEVEL",
    "crossing",
    "detection_power",
    "evidence",
    "measure_network",
    "n_grid",
    "synthetic_contributions",
]

#: Level delta0 of the test (two-sided false-alarm rate) and one minus its power.
LEVEL, DELTA = 0.05, 0.1
#: Subsamples per grid point, and the grid ratio of N.
DRAWS, GRID_RATIO = 400, 2.0**0.25
#: z of the Wilson interval on a simulated power (two-sided 95 %).
Z_POWER_CI = 1.959963984540054
VIEWS = ("gradient", "own")


def evidence(g, total, view="gradient", seed=0):
    """The evidence per sequence and lag, shape (M // 2, L) (module docstring).

    Returns ``(x, signs)``: the evidence of the second half and the (K, L) signs fixed on
    the first half.
    """
    g = np.asarray(g, dtype=float)
    total = np.asarray(total, dtype=float)
    if g.ndim != 3 or total.shape != g.shape[:2]:
        raise ValueError(f"g must be (K, M, L) and total (K, M), got {g.shape}, {total.shape}")
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    half = g.shape[1] // 2
    if half < 16:
        raise ValueError(f"need at least 32 sequences, got {g.shape[1]}")
    signs = np.sign(g[:, :half].mean(axis=1))
    signs[signs == 0] = 1.0
    gb = g[:, half : 2 * half]
    if view == "gradient":
        rest = total[:, half : 2 * half, None] - gb
        rest = rest - rest.mean(axis=1, keepdims=True)
        xi = np.random.default_rng(seed).choice([-1.0, 1.0], size=(1, half, 1))
        gb = gb + xi * rest
    return np.mean(signs[:, None, :] * gb, axis=0), signs


def n_grid(n_max: int, n_min: int = 2) -> np.ndarray:
    """Geometric grid of sample sizes from ``n_min`` to ``n_max`` (ratio ``2^(1/4)``)."""
    k = int(math.floor(math.log(n_max / n_min) / math.log(GRID_RATIO) + 1e-9))
    return np.unique(np.round(n_min * GRID_RATIO ** np.arange(k + 1)).astype(np.int64))


def noise_law(x, n_boot=100, seed=0):
    """Pooled ``alpha_hat`` (McCulloch, with a bootstrap CI) and ``sigma_hat(l)`` per lag.

    Each lag is centred by its median and divided by its interquartile range, the lags are
    pooled, and ``sigma_hat(l)`` is the pooled scale times that lag's interquartile range.
    """
    from verify import tail

    q25, q50, q75 = np.percentile(x, [25, 50, 75], axis=0)
    iqr = np.where(q75 > q25, q75 - q25, 1.0)
    z = ((x - q50) / iqr).ravel()
    est = tail.estimate(
        z[: tail.MAX_SAMPLES], method="mcculloch", ci=True, n_boot=n_boot, seed=seed
    )
    return est.alpha, tuple(est.ci["alpha"]), est.sigma * iqr


def detection_power(x, ns, alpha, sigma, draws=DRAWS, seed=0):
    """Power of the test at every ``N`` of ``ns`` and every lag: shape (len(ns), L)."""
    import theory

    x = np.asarray(x, dtype=float)
    ns = np.asarray(ns, dtype=np.int64)
    kappa = alpha / (alpha - 1.0)
    eps = theory.detection_threshold(min(alpha, 2.0), LEVEL)
    idx = np.random.default_rng(seed).integers(0, x.shape[0], size=(draws, int(ns[-1])))
    out = np.empty((len(ns), x.shape[1]))
    for j in range(x.shape[1]):
        means = np.cumsum(x[idx, j], axis=1)[:, ns - 1] / ns
        stat = np.abs(means) * ns ** (1.0 / kappa) / sigma[j]
        out[:, j] = np.mean(stat > eps, axis=0)
    return out


def crossing(power, ns, draws=DRAWS, target=1.0 - DELTA):
    """``N_det`` per lag with its interval from Wilson bounds (module docstring).

    Returns
    -------
    dict
        ``n_det``, ``lo``, ``hi`` (inf: never reached), ``left_censored`` (bool per lag).
    """
    from verify.detection import wilson

    ns = np.asarray(ns, dtype=float)
    n_lag = power.shape[1]
    out = {k: np.full(n_lag, np.inf) for k in ("n_det", "lo", "hi")}
    out["left_censored"] = np.zeros(n_lag, dtype=bool)
    for j in range(n_lag):
        p = power[:, j]
        bounds = np.array([wilson(int(round(v * draws)), draws, Z_POWER_CI) for v in p])
        for key, curve in (("n_det", p), ("lo", bounds[:, 1]), ("hi", bounds[:, 0])):
            hit = np.nonzero(curve >= target)[0]
            if not hit.size:
                continue
            i = int(hit[0])
            if i == 0:
                out[key][j] = ns[0]
                continue
            a, b = special.ndtri(np.clip(curve[i - 1 : i + 1], 1e-4, 1 - 1e-4))
            t = special.ndtri(target)
            w = 1.0 if b <= a else (t - a) / (b - a)
            out[key][j] = math.exp(math.log(ns[i - 1]) + w * math.log(ns[i] / ns[i - 1]))
        out["left_censored"][j] = bool(p[0] >= target)
    return out


def _ols(x, y):
    if len(x) < 3 or np.ptp(x) == 0:
        return math.nan, math.nan, math.nan
    res = stats.linregress(x, y)
    t = stats.t.ppf(0.975, len(x) - 2)
    return float(res.slope), float(res.slope - t * res.stderr), float(res.slope + t * res.stderr)


def measure_network(g, total, log_f, view="gradient", seed=0, n_boot=100):
    """Everything E6 needs from one network: ``N_det``, the closed form, the slopes.

    Parameters
    ----------
    g, total : array_like
        As returned by :func:`verify.training.lag_signal.lag_contributions`.
    log_f : array_like, shape (L,)
        ``log f_hat`` of the network at the same lags.
    view : {"gradient", "own"}
    seed : int

    Returns
    -------
    dict
        Per lag: ``log_f``, ``mean``, ``sigma``, ``n_det`` (with ``lo``, ``hi``,
        ``left_censored``), ``n_closed``, ``measurable``; per network: ``alpha`` and its CI,
        ``kappa``, ``slope`` (log N_det on log f_hat) with its CI, ``law_slope`` (log N_det
        on log(sigma / |mean|), predicted ``kappa``), ``signal_slope`` (log |mean| on
        log f_hat, 1 when the signal is proportional to the envelope), ``log_f_span``.
    """
    import theory

    log_f = np.asarray(log_f, dtype=float)
    x, _ = evidence(g, total, view, seed=seed)
    alpha, alpha_ci, sigma = noise_law(x, n_boot=n_boot, seed=seed)
    res = {"view": view, "alpha": float(alpha), "alpha_ci": [float(v) for v in alpha_ci]}
    res["log_f"], res["sigma"] = log_f, sigma
    res["mean"] = x.mean(axis=0)
    ns = n_grid(x.shape[0])
    if alpha <= 1.05:  # no mean to detect: the theory does not apply
        res.update(kappa=math.nan, slope=math.nan, slope_ci=[math.nan] * 2, measurable=None)
        return res
    a = min(alpha, 2.0)
    kappa = a / (a - 1.0)
    power = detection_power(x, ns, a, sigma, seed=seed + 1)
    cr = crossing(power, ns)
    res.update(kappa=kappa, power_at_max=power[-1], **cr)
    mean = np.abs(res["mean"])
    res["n_closed"] = np.array(
        [
            theory.Detection(alpha=a, sigma=s, c=m, delta=DELTA, false_alarm=LEVEL).prefactor
            ** kappa
            if m > 0
            else np.inf
            for s, m in zip(sigma, mean, strict=True)
        ]
    )
    ok = np.isfinite(cr["n_det"]) & ~cr["left_censored"]
    res["measurable"] = ok
    res["log_f_span"] = float(np.ptp(log_f[ok])) if ok.any() else 0.0
    ln = np.log(cr["n_det"][ok]) if ok.any() else np.array([])
    res["slope"], lo, hi = _ols(log_f[ok], ln)
    res["slope_ci"] = [lo, hi]
    res["law_slope"] = _ols(np.log(sigma[ok] / np.maximum(mean[ok], 1e-300)), ln)[0]
    res["signal_slope"] = _ols(log_f[ok], np.log(np.maximum(mean[ok], 1e-300)))[0]
    res["log_prefactor_ratio"] = (
        float(np.mean(ln - np.log(res["n_closed"][ok]))) if ok.any() else math.nan
    )
    return res


def synthetic_contributions(
    alpha, log_f, *, directions=4, sequences=4096, n_first=4.0, rest_scale=1.0, seed=0
):
    """Synthetic ``(g, total)`` of the theorem's model, with known ``alpha`` and signal.

    Per direction ``k`` (a random sign ``s_k``), sequence ``n`` and lag ``l``:
    ``g[k, n, l] = s_k c f(l) + Z`` with ``Z ~ SaS(alpha, 1)`` independent (one noise law for
    every lag), and ``total[k, n] = sum_l g[k, n, l] + rest_scale Z'`` (the rest of the
    gradient).  ``c`` puts the closed-form ``N_det`` of the strongest lag in the ``"own"``
    view at ``n_first`` sequences, so the theorem's slope is exactly ``-kappa(alpha)``.
    """
    import theory
    from verify import stable

    log_f = np.asarray(log_f, dtype=float)
    f = np.exp(log_f - log_f.max())
    rng = np.random.default_rng(seed)
    det = theory.Detection(alpha=alpha, sigma=1.0, c=1.0, delta=DELTA, false_alarm=LEVEL)
    # the evidence averages K directions: its scale is K^(1/alpha - 1) times Z's
    scale = directions ** (1.0 / alpha - 1.0)
    c = det.prefactor * scale / n_first ** (1.0 / det.rate)
    s = rng.choice([-1.0, 1.0], size=(directions, 1, 1))
    shape = (directions, sequences, len(f))
    z = stable.sample(alpha, 0.0, 1.0, size=int(np.prod(shape)), seed=int(rng.integers(2**31)))
    g = s * c * f + z.reshape(shape)
    rest = stable.sample(
        alpha, 0.0, rest_scale, size=directions * sequences, seed=int(rng.integers(2**31))
    )
    return g, g.sum(axis=2) + rest.reshape(directions, sequences)

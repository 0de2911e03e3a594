"""Monte Carlo of the lag-detection test: power, minimal N(ell) and empirical windows.

The evidence for lag ell is ``X_n = c f(ell) + xi_n`` with real alpha-stable draws
(:func:`verify.noise.stable.trial_means` sums them; the stability shortcut is a cross-check only).
The test of :class:`theory.Detection` declares detection when
``stat_scale * |estimate| * N**(1/rate) > epsilon``.  Memory stays O(trials).

Confidence intervals for a power are Wilson score intervals; the z value is passed in by
the caller, which derives it from its false-alarm budget.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import special

from theory import Detection
from theory._validate import check_int, check_positive
from theory.noise import sas_cdf
from verify.device import resolve

from .noise import cms, stable

__all__ = [
    "CriticalLevel",
    "MinimalN",
    "PowerEstimate",
    "critical_level",
    "exact_critical_s",
    "exact_minimal_n",
    "minimal_n",
    "one_sided_power",
    "powers_at",
    "predicted_power",
    "sas_density",
    "simulate_power",
    "simulate_statistic",
    "wilson",
    "z_for",
]


def z_for(false_alarm: float, tests: int = 1) -> float:
    """Two-sided z for a family of ``tests`` tests at total false-alarm ``false_alarm``."""
    return float(special.ndtri(1.0 - false_alarm / (2.0 * tests)))


def wilson(hits: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if trials < 1 or not 0 <= hits <= trials:
        raise ValueError(f"need trials >= 1 and 0 <= hits <= trials, got {hits}/{trials}")
    p = hits / trials
    den = 1.0 + z * z / trials
    mid = (p + z * z / (2 * trials)) / den
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / den
    lo = 0.0 if hits == 0 else max(0.0, mid - half)
    hi = 1.0 if hits == trials else min(1.0, mid + half)
    return lo, hi


@dataclass(frozen=True)
class PowerEstimate:
    """Simulated power of the detection test at one N and one signal mean."""

    n: int
    trials: int
    hits: int
    power: float
    ci: tuple[float, float]
    predicted: float
    seed: int

    @property
    def z_score(self) -> float:
        """(simulated - predicted) / binomial standard error under the prediction."""
        p = min(max(self.predicted, 1e-12), 1 - 1e-12)
        return (self.power - p) / math.sqrt(p * (1 - p) / self.trials)

    def as_dict(self) -> dict:
        """Plain dictionary."""
        return asdict(self)


def predicted_power(det: Detection, mean: float, n) -> float:
    """Exact power of the test at sample size ``n`` for evidence mean ``mean``.

    For the mean test the standardised mean is exactly ``s + Z``, ``Z ~ SaS(1)``, so the power
    is ``1 - F(eps - s) + F(-eps - s)`` (both sides).  For the median test the normal limit
    is used.
    """
    s = det.stat_scale * mean * float(n) ** (1.0 / _sim_rate(det))
    eps = det.epsilon
    if det.estimator == "median":
        return float(special.ndtr(s - eps) + special.ndtr(-eps - s))
    return float(1.0 - sas_cdf(eps - s, det.alpha) + sas_cdf(-eps - s, det.alpha))


def one_sided_power(det: Detection, mean: float, n) -> float:
    """Probability ``P(s + Z > eps)`` of detecting on the signal's side only.

    This is the power the closed form N(ell) is built on (it drops the wrong side), so at
    ``s = eps + q_{1-delta}`` it is ``1 - delta`` exactly.
    """
    s = det.stat_scale * mean * float(n) ** (1.0 / _sim_rate(det))
    if det.estimator == "median":
        return float(special.ndtr(s - det.epsilon))
    return float(1.0 - sas_cdf(det.epsilon - s, det.alpha))


def sas_density(x: float, alpha: float, h: float = 1e-4) -> float:
    """Density of SaS(1) at ``x`` (central difference of :func:`theory.noise.sas_cdf`)."""
    if alpha == 2.0:
        return math.exp(-x * x / 4.0) / (2.0 * math.sqrt(math.pi))
    return float((sas_cdf(x + h, alpha) - sas_cdf(x - h, alpha)) / (2.0 * h))


def _sim_rate(det: Detection) -> float:
    # the simulated statistic is always standardised correctly (kappa for the mean, 2 for
    # the median); the v1 exponent is only ever a competing *prediction* of N(ell)
    if det.estimator == "median":
        return 2.0
    return det.alpha / (det.alpha - 1.0)


def _check_simulation(det, mean, n, trials, method, device):
    """Validate the arguments shared by the simulators; return ``(n, trials, device)``."""
    n = check_int("n", n, lo=1)
    trials = check_int("trials", trials, lo=1)
    if mean != 0:
        check_positive("mean", mean)
    if method not in ("sum", "shortcut"):
        raise ValueError(f"method must be 'sum' or 'shortcut', got {method!r}")
    if method == "shortcut" and det.estimator != "mean":
        raise ValueError("method='shortcut' is only valid for the mean estimator")
    dev = resolve(device, det.estimator == "mean", f"estimator={det.estimator!r}")
    return n, trials, dev


def simulate_power(
    det: Detection,
    mean: float,
    n: int,
    *,
    trials: int,
    seed: int,
    z: float = 3.0,
    method: str = "sum",
    device=None,
) -> PowerEstimate:
    """Fraction of ``trials`` simulated experiments of size ``n`` in which the test fires.

    Parameters
    ----------
    det : theory.Detection
        The test (alpha, sigma, epsilon, estimator).
    mean : float
        Evidence mean ``c f(ell)``.
    n : int
        Samples per experiment.
    trials : int
        Number of experiments.
    seed : int
        Root seed of the noise streams.
    z : float
        z value of the Wilson interval.
    method : {"sum", "shortcut"}
        ``"sum"`` draws and reduces all ``n`` samples; ``"shortcut"`` draws the mean
        directly through the stability property (mean test only; a cross-check).
    device : {None, "cpu", "cuda"}, optional
        Where the Monte Carlo runs (:mod:`verify.device`).  On the GPU the mean test of
        ``method="sum"`` runs in two kernels (partial sums of the trials; then per trial the
        mean, the test and an atomic count), so only the hit count comes back to the host;
        the median test has no GPU kernel.
    """
    n, trials, dev = _check_simulation(det, mean, n, trials, method, device)
    factor = det.stat_scale * float(n) ** (1.0 / _sim_rate(det))
    kw = dict(n=n, trials=trials, seed=seed)
    if dev == "cuda" and method == "sum":
        hits = _gpu_hits(det, mean, n, trials, seed, factor)
    else:
        if method == "shortcut":
            est = stable.trial_means_shortcut(det.alpha, det.sigma, mean, device=dev, **kw)
        else:
            est = stable.trial_means(
                det.alpha, det.sigma, mean, estimator=det.estimator, device=dev, **kw
            )
        hits = int(np.count_nonzero(factor * np.abs(est) > det.epsilon))
    return PowerEstimate(
        n=n,
        trials=trials,
        hits=hits,
        power=hits / trials,
        ci=wilson(hits, trials, z),
        predicted=predicted_power(det, mean, n),
        seed=int(seed),
    )


def _gpu_hits(det: Detection, mean: float, n: int, trials: int, seed: int, factor: float) -> int:
    from verify.gpu import noise as gpu_noise

    ab, log_s = cms.constants(det.alpha, 0.0)
    return gpu_noise.detection_hits(
        n, trials, seed, factor, det.epsilon, det.alpha, 0.0, ab, log_s, det.sigma, mean
    )


def powers_at(det: Detection, means: dict, n: int, *, trials: int, seed: int, z: float) -> dict:
    """Simulated power at each lag of ``means`` (lag -> evidence mean), one stream each."""
    seeds = np.random.SeedSequence(seed).generate_state(len(means))
    return {
        lag: simulate_power(det, float(m), n, trials=trials, seed=int(s), z=z)
        for (lag, m), s in zip(means.items(), seeds, strict=True)
    }


def exact_minimal_n(det: Detection, mean: float) -> float:
    """Continuous N at which the exact two-sided power reaches ``1 - delta``."""
    from scipy import optimize

    target = 1.0 - det.delta
    # the simulated test is standardised with the true rate, so bracket around its own
    # closed form (this also serves a v1 Detection, whose rate is only a rival prediction)
    closed = (det.prefactor * det.c / mean) ** _sim_rate(det)
    lo, hi = max(closed / 4.0, 1e-6), closed * 4.0
    f = lambda logn: predicted_power(det, mean, math.exp(logn)) - target  # noqa: E731
    while f(math.log(lo)) > 0 and lo > 1e-12:
        lo /= 4.0
    while f(math.log(hi)) < 0:
        hi *= 4.0
    return math.exp(optimize.brentq(f, math.log(lo), math.log(hi), xtol=1e-10))


@dataclass
class MinimalN:
    """Empirical minimal sample size: the ``1 - delta`` crossing of the simulated power."""

    mean: float
    predicted_closed: float
    predicted_exact: float
    n_hat: float
    ci: tuple[float, float]
    powers: list[PowerEstimate] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        """Whether the exact prediction lies in the confidence interval."""
        return self.ci[0] <= self.predicted_exact <= self.ci[1]


GRID = (0.6, 0.8, 1.0, 1.25, 1.6)


def _crossing(logn, counts, trials, target):
    """Fit probit(power) = a + b x + c x**2 (x = log n, weighted) and solve for target."""
    p = np.clip(counts / trials, 0.5 / trials, 1 - 0.5 / trials)
    y = special.ndtri(p)
    # var(probit(p_hat)) ~ p (1 - p) / (trials phi(y)**2)
    w = trials * np.exp(-(y**2)) / (2 * np.pi) / (p * (1 - p))
    x0 = logn.mean()
    x = logn - x0
    coef = np.polyfit(x, y, 2, w=np.sqrt(w))
    roots = np.roots(coef - np.array([0.0, 0.0, special.ndtri(target)]))
    roots = roots[np.isreal(roots)].real
    if roots.size == 0:
        return math.nan
    r = roots[np.argmin(np.abs(roots))]
    return math.exp(r + x0)


def minimal_n(
    det: Detection,
    mean: float,
    *,
    trials: int,
    seed: int,
    level: float = 0.95,
    grid=GRID,
    n_boot: int = 400,
) -> MinimalN:
    """Locate the empirical minimal N for evidence mean ``mean``.

    The power is simulated at ``N = grid * N_pred`` (``N_pred`` the closed form), the
    probit of the power is fitted by a weighted quadratic in ``ln N`` and solved for
    ``1 - delta``; the confidence interval is normal on ``ln N`` with the standard deviation
    of a parametric bootstrap of the binomial counts (``n_boot`` resamples, seeded).
    """
    z = float(special.ndtri(0.5 + level / 2))
    closed = (det.prefactor * det.c / mean) ** det.rate
    ns = sorted({max(1, round(closed * g)) for g in grid})
    if len(ns) < 3:
        raise ValueError(
            f"the grid around N = {closed:.3g} has {len(ns)} distinct sample sizes; the "
            "quadratic crossing fit needs 3 or more (use a larger N or a wider grid)"
        )
    seeds = np.random.SeedSequence(seed).generate_state(len(ns))
    powers = [
        simulate_power(det, mean, n, trials=trials, seed=int(s), z=z)
        for n, s in zip(ns, seeds, strict=True)
    ]
    logn = np.log(np.array(ns, dtype=float))
    counts = np.array([p.hits for p in powers], dtype=float)
    target = 1.0 - det.delta
    n_hat = _crossing(logn, counts, trials, target)
    rng = np.random.default_rng(seeds[-1])
    boot = []
    for _ in range(n_boot):
        c_b = rng.binomial(trials, counts / trials).astype(float)
        boot.append(_crossing(logn, c_b, trials, target))
    boot = np.log(np.array(boot))
    boot = boot[np.isfinite(boot)]
    # normal interval on ln N with the bootstrap standard deviation: percentiles of a few
    # hundred resamples cannot resolve the far tails a Bonferroni level asks for
    sd = float(np.std(boot, ddof=1)) if boot.size > 2 else math.inf
    lo, hi = n_hat * math.exp(-z * sd), n_hat * math.exp(z * sd)
    return MinimalN(
        mean=mean,
        predicted_closed=closed,
        predicted_exact=exact_minimal_n(det, mean),
        n_hat=n_hat,
        ci=(float(lo), float(hi)),
        powers=powers,
    )


# ----------------------------------------------------------------------------------------
# the signed statistic and the critical signal level
# ----------------------------------------------------------------------------------------
def simulate_statistic(
    det: Detection,
    mean: float,
    n: int,
    *,
    trials: int,
    seed: int,
    method: str = "sum",
    device=None,
) -> np.ndarray:
    """Signed test statistic ``stat_scale * estimate * n**(1/rate)`` of every trial.

    The test of :func:`simulate_power` fires where its absolute value exceeds ``epsilon``;
    keeping the sign tells detections on the signal's side from those on the wrong side.
    Arguments as :func:`simulate_power`.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(trials,)``: ``s + noise`` with ``s`` the standardised
        signal; for the mean test the noise is exactly SaS(1).
    """
    n, trials, dev = _check_simulation(det, mean, n, trials, method, device)
    kw = dict(n=n, trials=trials, seed=seed, device=dev)
    if method == "shortcut":
        est = stable.trial_means_shortcut(det.alpha, det.sigma, mean, **kw)
    else:
        est = stable.trial_means(det.alpha, det.sigma, mean, estimator=det.estimator, **kw)
    return det.stat_scale * float(n) ** (1.0 / _sim_rate(det)) * np.asarray(est)


def standardised_signal(det: Detection, mean: float, n) -> float:
    """The location ``s = stat_scale * mean * n**(1/rate)`` of the statistic."""
    return det.stat_scale * mean * float(n) ** (1.0 / _sim_rate(det))


def _count_one(u_sorted: np.ndarray, eps: float, s: float) -> int:
    return int(u_sorted.size - np.searchsorted(u_sorted, eps - s, side="right"))


def _count_two(u_sorted: np.ndarray, eps: float, s: float) -> int:
    left = int(np.searchsorted(u_sorted, -eps - s, side="left"))
    return _count_one(u_sorted, eps, s) + left


def _crossing_s(u_sorted: np.ndarray, eps: float, level: float, two_sided: bool) -> float:
    """Smallest s >= 0 at which the empirical power of ``s + u`` reaches ``level``."""
    t = u_sorted.size
    need = math.ceil(level * t - 1e-9)
    if need <= 0:
        return 0.0
    if need > t:
        return math.inf
    # one-sided: count(u > eps - s) >= need  <=>  eps - s < u_(t - need)  (0-based)
    s_one = eps - float(u_sorted[t - need])
    if not two_sided:
        return max(s_one, 0.0)
    # the wrong side only adds detections, so the two-sided crossing is at most s_one;
    # bisect the (almost monotone) count on [0, s_one]
    lo, hi = 0.0, max(s_one, 0.0)
    if _count_two(u_sorted, eps, lo) >= need:
        return 0.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if _count_two(u_sorted, eps, mid) >= need:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return hi


@dataclass(frozen=True)
class CriticalLevel:
    """Simulated critical signal: where the power at sample size ``n`` reaches ``level``.

    Levels are in units of the standardised signal ``s`` (:func:`standardised_signal`);
    :meth:`mean` turns one into an evidence mean.  The intervals invert the binomial score
    test of ``power = level`` at the given ``z``: the true critical ``s`` lies outside with
    probability about ``2 (1 - Phi(z))``, whatever the noise law (the empirical power is a
    binomial count at every fixed ``s``).

    Attributes
    ----------
    s_one, s_one_ci : float, (float, float)
        The one-sided crossing (detections on the signal's side only: the power the closed
        forms are built on) and its interval.
    s_two, s_two_ci : float, (float, float)
        The same for the two-sided test.
    mean_per_s : float
        Evidence mean per unit of ``s`` at this ``n``.
    """

    n: int
    trials: int
    seed: int
    level: float
    z: float
    s_one: float
    s_one_ci: tuple[float, float]
    s_two: float
    s_two_ci: tuple[float, float]
    mean_per_s: float
    false_alarm_hits: int

    def mean(self, s: float) -> float:
        """Evidence mean ``c f`` at standardised signal ``s``."""
        return s * self.mean_per_s

    def as_dict(self) -> dict:
        """Plain dictionary."""
        return asdict(self)


def critical_level(
    det: Detection,
    n: int,
    *,
    trials: int,
    seed: int,
    z: float,
    signal: float = 0.0,
    method: str = "shortcut",
    device=None,
) -> CriticalLevel:
    """Simulate the critical signal level of the test at sample size ``n``.

    ``trials`` experiments are drawn at evidence mean ``signal``; the mean test's statistic
    is ``s + noise`` with the noise free of the signal, so subtracting the drawn ``s``
    gives the noise sample, and the empirical power at any other ``s`` is a count over it
    (common random numbers for every signal).  The crossings of ``level`` (default
    ``1 - delta``) are located exactly on that step function.

    Parameters
    ----------
    det : theory.Detection
        The test (mean estimator for the shortcut).
    n : int
        Samples per experiment.
    trials : int
        Experiments (the resolution in ``s`` scales as ``1 / sqrt(trials)``).
    seed : int
        Root seed of the noise streams.
    z : float
        Two-sided z of the intervals.
    signal : float, optional
        Evidence mean the experiments are drawn at (>= 0).
    method : {"shortcut", "sum"}
        As :func:`simulate_power`.
    device : {None, "cpu", "cuda"}, optional
    """
    level = 1.0 - det.delta
    t = simulate_statistic(det, signal, n, trials=trials, seed=seed, method=method, device=device)
    s0 = standardised_signal(det, signal, n)
    u = np.sort(t - s0)
    eps = det.epsilon
    h = z * math.sqrt(level * (1.0 - level) / u.size)
    lo_l, hi_l = max(level - h, 0.0), min(level + h, 1.0)

    def cross(lv, two):
        return _crossing_s(u, eps, lv, two)

    return CriticalLevel(
        n=int(n),
        trials=int(u.size),
        seed=int(seed),
        level=level,
        z=float(z),
        s_one=cross(level, False),
        s_one_ci=(cross(lo_l, False), cross(hi_l, False)),
        s_two=cross(level, True),
        s_two_ci=(cross(lo_l, True), cross(hi_l, True)),
        mean_per_s=1.0 / standardised_signal(det, 1.0, n),
        false_alarm_hits=_count_two(u, eps, 0.0),
    )


def exact_critical_s(det: Detection, two_sided: bool = True) -> float:
    """The ``s`` at which the exact power is ``1 - delta``.

    One-sided it is ``epsilon + q_{1-delta}`` by the definition of the quantile (computed
    here from :func:`theory.noise.sas_cdf` by root finding, not from ``det.q_power``);
    two-sided the wrong side's detections lower it slightly.
    """
    from scipy import optimize

    target = 1.0 - det.delta
    eps = det.epsilon
    if det.estimator == "median":
        p_one = lambda s: float(special.ndtr(s - eps))  # noqa: E731
        p_two = lambda s: p_one(s) + float(special.ndtr(-eps - s))  # noqa: E731
    else:
        p_one = lambda s: float(1.0 - sas_cdf(eps - s, det.alpha))  # noqa: E731
        p_two = lambda s: p_one(s) + float(sas_cdf(-eps - s, det.alpha))  # noqa: E731
    fn = p_two if two_sided else p_one
    hi = eps + 1.0
    while fn(hi) < target:
        hi *= 2.0
    return float(optimize.brentq(lambda s: fn(s) - target, 0.0, hi, xtol=1e-13, rtol=1e-13))

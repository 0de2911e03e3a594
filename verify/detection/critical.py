"""The signed statistic and the critical signal level of the detection test.

:func:`simulate_statistic` keeps the sign of every trial's statistic, so that detections on
the signal's side are told from those on the wrong side; :func:`critical_level` turns one
sample of it into the signal level at which the power reaches ``1 - delta`` (one- and
two-sided, with score-test intervals), and :func:`exact_critical_s` is that level exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from theory import Detection
from theory.noise import sas_cdf

from ..noise import stable
from .power import _check_simulation, _sim_rate

__all__ = [
    "CriticalLevel",
    "critical_level",
    "exact_critical_s",
    "simulate_statistic",
    "standardised_signal",
]


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

"""Power of the lag-detection test: simulated, with Wilson intervals, and exact.

The evidence for lag ell is ``X_n = c f(ell) + xi_n`` with real alpha-stable draws
(:func:`verify.noise.stable.trial_means` sums them; the stability shortcut is a cross-check
only).  The test of :class:`theory.Detection` declares detection when
``stat_scale * |estimate| * N**(1/rate) > epsilon``; :func:`simulate_power` counts how often
it does, :func:`predicted_power` says how often it should.  Memory stays O(trials).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from theory import Detection
from theory._validate import check_int, check_positive
from theory.noise import sas_cdf

from ..device import resolve
from ..noise import cms, stable

__all__ = [
    "PowerEstimate",
    "one_sided_power",
    "powers_at",
    "predicted_power",
    "sas_density",
    "simulate_power",
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

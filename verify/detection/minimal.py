"""The empirical minimal sample size N(ell): where the simulated power crosses ``1 - delta``.

:func:`minimal_n` simulates the power on a grid of N around the closed form, fits the
crossing on the probit scale and bootstraps its interval; :func:`exact_minimal_n` is the
crossing of the exact power it is compared with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from theory import Detection

from .power import PowerEstimate, _sim_rate, predicted_power, simulate_power

__all__ = ["GRID", "MinimalN", "exact_minimal_n", "minimal_n"]


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

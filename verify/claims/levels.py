"""The simulated critical level of the detection test, and the windows it allows.

The window claims (C3, C4, C5) compare the closed forms with the *simulated critical
level* of the detection test: at each sample size N the signal level at which the
simulated power reaches ``1 - delta``, estimated from ``profile.shortcut_trials``
experiments drawn through the stability shortcut, with an interval from the binomial
score test (:func:`verify.detection.critical_level`).  The closed form's threshold theta_N
is the one-sided level (the form drops detections on the wrong side), so the one-sided
simulated level is compared with theta_N exactly and the two-sided one with its exact
prediction.  The window H_N must then lie in the interval of windows that the level's
interval allows: too long and too short fail alike.

This module holds what the three share: the laws, the windows of a law at a level
(independent of :mod:`theory.window`), the cells that simulate the levels, and the
judgement of one simulated level against theta_N and H_N.
"""

from __future__ import annotations

import math
import numbers

from scipy import optimize

import theory

from .. import detection as det_mc
from ..parallel import map_cells
from .base import Z_POWER, fmt, stream_seeds

__all__ = [
    "NO_LAG",
    "WINDOW_ALPHA",
    "WINDOW_LAWS",
    "c3_grid",
    "continuous_window_at",
    "critical_levels",
    "finite",
    "judge_cell",
    "level_record",
    "resolution",
    "v1_window",
    "window_at",
]

#: Laws of the window checks: A = 3 keeps H_N small but mostly > 0 from N = 100 at
#: alpha = 1.5, and every window below 2**52 up to N = 1e6 (so lags H and H + 1 differ).
WINDOW_LAWS = (
    theory.Exponential(A=3.0, tau=5.0),
    theory.Polynomial(A=3.0, beta=0.8),
    theory.Logarithmic(A=3.0, gamma=1.5),
    theory.StretchedExponential(A=3.0, tau=5.0, gamma=0.5),
    theory.TemperedPowerLaw(A=3.0, beta=0.5, lam=20.0),
)
WINDOW_ALPHA = 1.5
#: What the window is when no lag qualifies (theory.window.NO_LAG).
NO_LAG = getattr(theory, "NO_LAG", -1)


# ------------------------------------------------------------------------------------------
# windows of a law at a given level (independent of theory.window)
# ------------------------------------------------------------------------------------------
def window_at(law, level: float) -> int:
    """Largest integer lag ``ell >= 0`` with ``f(ell) >= level`` (``NO_LAG`` if none).

    A bisection over the integers on ``law.log``; ``inf`` where the window exceeds 2**60.
    """
    if not level > 0:
        return math.inf
    target = math.log(level)
    if not law.log(0) >= target:
        return NO_LAG
    lo, hi = 0, 1
    while law.log(hi) >= target:
        lo, hi = hi, 2 * hi
        if hi > 2**60:
            return math.inf
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if law.log(mid) >= target:
            lo = mid
        else:
            hi = mid
    return lo


def continuous_window_at(law, level: float) -> float:
    """The real ``h >= 0`` with ``f(h) = level`` (0 where ``f(0) < level``), by root finding."""
    target = math.log(level)
    if law.log(0) <= target:
        return 0.0
    lo, hi = 1e-12, 1.0
    while law.log(hi) > target:
        lo, hi = hi, 2 * hi
        if hi > 1e300:
            return math.inf
    return float(optimize.brentq(lambda h: law.log(h) - target, lo, hi, xtol=1e-12, rtol=1e-14))


# ------------------------------------------------------------------------------------------
# cells
# ------------------------------------------------------------------------------------------
def _critical_cell(cell):
    """One simulated critical level (shortcut draws at zero signal)."""
    det = theory.Detection(cell["alpha"])
    cl = det_mc.critical_level(
        det, cell["n"], trials=cell["trials"], seed=cell["seed"], z=cell["z"], method="shortcut"
    )
    return cl.as_dict()


def critical_levels(pairs, trials, seed, z, label):
    """Simulated critical levels for ``(alpha, N)`` pairs, one independent cell each."""
    cells = [
        {"alpha": a, "n": int(n), "trials": int(trials), "seed": s, "z": float(z)}
        for (a, n), s in zip(pairs, stream_seeds(seed, 0, len(pairs)), strict=True)
    ]
    return map_cells(_critical_cell, cells, label=label)


def level_record(law, det, cl):
    """Levels (evidence means, c = det.c) and windows allowed by one simulated level."""
    m = cl["mean_per_s"] / det.c
    f_hat, f_lo, f_hi = cl["s_one"] * m, cl["s_one_ci"][0] * m, cl["s_one_ci"][1] * m
    return {
        "f_hat": f_hat,
        "f_ci": (f_lo, f_hi),
        "se_log_f": (math.log(f_hi) - math.log(f_lo)) / (2 * cl["z"]),
        "H_sim": window_at(law, f_hat),
        "H_interval": (window_at(law, f_hi), window_at(law, f_lo)),
        "h_sim": continuous_window_at(law, f_hat),
        "h_interval": (continuous_window_at(law, f_hi), continuous_window_at(law, f_lo)),
        "f_two": cl["s_two"] * m,
        "f_two_ci": (cl["s_two_ci"][0] * m, cl["s_two_ci"][1] * m),
    }


def _theory_window(law, det, n):
    """``(H_N, theta_N, None)`` from theory, or ``(None, None, reason)`` where it fails."""
    try:
        theta = float(det.theta(n))
        h = theory.LearnabilityWindow(law, det)(n)
    except (OverflowError, ValueError, ArithmeticError) as exc:
        return None, None, f"{type(exc).__name__}: {exc}"
    if not (math.isfinite(theta) and theta > 0):
        return None, None, f"theta_N = {theta}"
    return h, theta, None


def v1_window(law, alpha, n):
    """The window of the v1 law (exponent alpha); ``inf`` where it overflows."""
    try:
        return theory.LearnabilityWindow(law, theory.Detection(alpha, exponent="alpha"))(n)
    except (OverflowError, ValueError, ArithmeticError):
        return math.inf


def judge_cell(law, det, n, cl, s_two_exact):
    """Compare one simulated level with theta_N and H_N; a row of the table."""
    rec = level_record(law, det, cl)
    h, theta, reason = _theory_window(law, det, n)
    f_lo, f_hi = rec["f_ci"]
    lo, hi = rec["H_interval"]
    two_exact = s_two_exact * cl["mean_per_s"] / det.c
    two_ok = rec["f_two_ci"][0] <= two_exact <= rec["f_two_ci"][1]
    # a relative error r in theta_N leaves the interval with probability >= 0.9 once
    # ln(1 + r) >= (z + z_0.9) SE(ln level)
    r_theta = (cl["z"] + Z_POWER) * rec["se_log_f"]
    row = {
        "N": n,
        "theta_N (theory)": fmt(theta, 5) if theta else "-",
        "level simulated": f"{rec['f_hat']:.5g} [{f_lo:.5g}, {f_hi:.5g}]",
        "H predicted": h if reason is None else reason,
        "H simulated": rec["H_sim"],
        "consistent H": f"[{lo}, {hi}]",
        "two-sided level (exact)": f"{rec['f_two']:.5g} ({two_exact:.5g})",
    }
    out = {
        "rec": rec,
        "row": row,
        "theta": theta,
        "h": h,
        "reason": reason,
        "theta_ok": reason is None and f_lo <= theta <= f_hi,
        "h_ok": reason is None and lo <= h <= hi,
        "two_ok": two_ok,
        "r_theta": math.expm1(r_theta),
        "gaps": _gaps(law, h, theta) if reason is None else (math.nan, math.nan),
    }
    return out


def _gaps(law, h, theta):
    """Relative distance of theta_N to f(H) (above) and to f(H + 1) (below)."""
    if not (isinstance(h, numbers.Integral) and 0 <= h < 2**52):
        return math.nan, math.nan
    up = math.exp(law.log(h) - math.log(theta)) - 1.0 if h >= law.min_lag else math.inf
    down = 1.0 - math.exp(law.log(h + 1) - math.log(theta))
    return up, down


def resolution(judged):
    """Relative theta resolution (worst cell) and the cells that resolve H - 1 and H + 1."""
    r = max(j["r_theta"] for j in judged)
    minus = sum(1 for j in judged if j["gaps"][0] >= r)
    plus = sum(1 for j in judged if j["gaps"][1] >= r)
    return r, minus, plus


def c3_grid(profile, seed, z):
    """C3's simulated levels, ``(law, N) -> level`` (C4 reads the same ones: same seed)."""
    pairs = [(WINDOW_ALPHA, n) for _ in WINDOW_LAWS for n in profile.window_ns]
    levels = critical_levels(pairs, profile.shortcut_trials, seed, z, "C3")
    keys = [(law, n) for law in WINDOW_LAWS for n in profile.window_ns]
    return dict(zip(keys, levels, strict=True))


def finite(x):
    """``x`` as a float for plot data, ``None`` where it is infinite (unbounded)."""
    return float(x) if x is not None and math.isfinite(x) else None

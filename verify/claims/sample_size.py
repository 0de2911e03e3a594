"""The simulation behind C2 and R1: the power of the test at the closed form's N(ell).

At the lags of a fixed law (:data:`C2_LAW`) the closed form names a sample size; the
signed statistic is simulated there (through the stability shortcut and by summing
samples) and judged against the power the form promises, computed from the SaS(1) CDF
directly (:func:`_reference`), never from ``Detection.prefactor`` or ``Detection.q_power``.
The log-log slope of N against f comes from the summed samples, with a standard error from
the binomial variance of independent powers.  :func:`scan` does all of it for one
estimator and a list of alphas; the claims in :mod:`.noise` read its verdicts.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

import theory
from theory.noise import sas_cdf, sas_quantile

from .. import detection as det_mc
from ..parallel import map_cells
from .base import Z_POWER, fmt, stream_seeds, z_threshold

__all__ = ["C2_LAW", "SUM_CAP", "count_z", "scan"]

#: Exponential law whose lags realise the target sample sizes in C2 and R1.
C2_LAW = theory.Exponential(A=50.0, tau=10.0)
#: Largest closed-form N that C2 and R1 simulate by summing samples.
SUM_CAP = 100_000


def count_z(count, t, p):
    """z-score of a count against Binomial(t, p)."""
    return (count - t * p) / math.sqrt(t * p * (1 - p))


def _closed_points(det, targets):
    """Lags of :data:`C2_LAW` near the targets and the closed form's N there.

    Returns ``(points, reason)``: points ``(lag, f, N)``; ``reason`` says why the theory gave
    no usable N (then the points are incomplete).
    """
    sc = theory.SampleComplexity(C2_LAW, det)
    pts = []
    try:
        for nt in targets:
            f_t = det.prefactor * nt ** (-1.0 / det.rate)
            lag = max(0, round(C2_LAW.tau * math.log(C2_LAW.A / f_t)))
            n = sc(lag)
            if not (isinstance(n, int) and 1 <= n < 2**62):
                return pts, f"closed-form N({lag}) = {n} is not a usable sample size"
            pts.append((lag, float(C2_LAW(lag)), n))
    except (OverflowError, ValueError, ArithmeticError) as exc:
        return pts, f"{type(exc).__name__}: {exc}"
    return pts, None


def _power_cell(cell):
    """Signed statistics at each (f, N): side counts, shortcut and summed."""
    det = theory.Detection(cell["alpha"], estimator=cell["estimator"])
    eps = det.epsilon
    seeds = stream_seeds(cell["seed"], 0, 2 * len(cell["points"]))
    out = []
    for k, (f, n) in enumerate(cell["points"]):
        mean = det.c * f
        rec = {"n": n, "f": f}
        if cell["shortcut_trials"]:
            t = det_mc.simulate_statistic(det, mean, n, trials=cell["shortcut_trials"],
                                          seed=seeds[2 * k], method="shortcut")  # fmt: skip
            u = t - det_mc.standardised_signal(det, mean, n)
            rec["sc"] = (int(np.count_nonzero(t > eps)), int(np.count_nonzero(t < -eps)),
                         int(np.count_nonzero(np.abs(u) > eps)), int(t.size))  # fmt: skip
        if cell["sum_trials"] and n <= SUM_CAP:
            t = det_mc.simulate_statistic(det, mean, n, trials=cell["sum_trials"],
                                          seed=seeds[2 * k + 1], method="sum")  # fmt: skip
            rec["sum"] = (int(np.count_nonzero(t > eps)), int(np.count_nonzero(t < -eps)),
                          int(t.size))  # fmt: skip
        out.append(rec)
    return out


def _band(ref, n):
    """Powers the closed form promises at its N: [at N*, at N* (N / (N - 1))] (ceiling)."""
    s_lo = ref["s_star"]
    s_hi = s_lo * (n / (n - 1.0)) ** (1.0 / ref["rate"]) if n > 1 else math.inf
    return (ref["p_one"](s_lo), ref["p_one"](s_hi)), (ref["p_two"](s_lo), ref["p_two"](s_hi))


def _reference(det):
    """The test's exact power functions and the one-sided critical s, from the SaS CDF.

    ``s* = eps + q`` with ``q`` the (1 - delta) quantile computed here (not
    ``det.q_power``); the rate is the test's standardisation exponent (kappa_alpha, or 2
    for the median), not ``det.rate``.
    """
    eps, a = det.epsilon, det.alpha
    if det.estimator == "median":
        q = float(special.ndtri(1 - det.delta))
        cdf, quant, rate = special.ndtr, special.ndtri, 2.0
        pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    else:
        q = sas_quantile(1 - det.delta, a)
        cdf = lambda x: sas_cdf(x, a)  # noqa: E731
        pdf = lambda x: det_mc.sas_density(x, a)  # noqa: E731
        quant = lambda p: sas_quantile(p, a)  # noqa: E731
        rate = theory.kappa(a)
    return {
        "s_star": eps + q,
        "q": q,
        "rate": rate,
        "pdf": pdf,
        "quantile": quant,
        "p_one": lambda s: float(1.0 - cdf(eps - s)),
        "p_two": lambda s: float(1.0 - cdf(eps - s) + cdf(-eps - s)),
    }


def _z_band(hits, t, band):
    """Signed distance of a binomial proportion from a band, in SE at the nearer edge."""
    p_hat = hits / t
    lo, hi = band
    if lo <= p_hat <= hi:
        return 0.0
    edge = lo if p_hat < lo else hi
    edge = min(max(edge, 1e-12), 1 - 1e-12)
    return (p_hat - edge) / math.sqrt(edge * (1 - edge) / t)


def _slope_points(ref, pts_sum, det):
    """Effective minimal N from each summed power, with its delta-method SE.

    The one-sided power ``p`` at ``(f, N)`` is inverted for the standardised signal
    ``s_hat = eps + F^-1(p)``; the test reaches ``1 - delta`` at ``s*``, so the minimal N is
    ``N (s* / s_hat)**rate`` (the test's own standardisation exponent, locally).  The SE of
    ``ln N_hat`` is ``rate SE(s_hat) / s_hat`` with ``SE(s_hat) = sqrt(p (1 - p) / T) /
    pdf(F^-1(p))`` at the predicted ``p``: independent binomials, so the points are
    independent.
    """
    eps, rate, s_star = det.epsilon, ref["rate"], ref["s_star"]
    log_f, log_n, se = [], [], []
    for f, n, hits, t in pts_sum:
        p_hat = min(max(hits / t, 0.5 / t), 1 - 0.5 / t)
        s_hat = eps + ref["quantile"](p_hat)
        s_pred = det_mc.standardised_signal(det, det.c * f, n)
        p_pred = min(max(ref["p_one"](s_pred), 0.5 / t), 1 - 0.5 / t)
        se_s = math.sqrt(p_pred * (1 - p_pred) / t) / ref["pdf"](ref["quantile"](p_pred))
        if not s_hat > 0:
            s_hat = 0.5 * s_star / 2**20  # no signal seen: an N far beyond the scan
        log_f.append(math.log(f))
        log_n.append(math.log(n) + rate * (math.log(s_star) - math.log(s_hat)))
        se.append(rate * se_s / max(s_hat, 1e-300))
    return np.array(log_f), np.array(log_n), np.array(se)


def _wls(x, y, se):
    w = 1.0 / se**2
    xb, yb = np.sum(w * x) / np.sum(w), np.sum(w * y) / np.sum(w)
    sxx = np.sum(w * (x - xb) ** 2)
    return float(np.sum(w * (x - xb) * (y - yb)) / sxx), float(1.0 / math.sqrt(sxx))


def scan(profile, seed, false_alarm, estimator, alphas, targets, label):
    """Simulate the closed form's N at the law's lags for every alpha; judge each point.

    The mean test (C2) is judged on every power and the slope; the median test (R1) on
    its slope alone.
    """
    sc_trials = profile.shortcut_trials if estimator == "mean" else 0
    sum_trials = profile.trials
    if estimator == "mean":
        # per point: shortcut one- and two-sided, summed; per alpha: false alarm, slope
        tests = len(alphas) * (3 * len(targets) + 2)
    else:
        tests = len(alphas)
    z = z_threshold(false_alarm, tests)
    dets = [theory.Detection(a, estimator=estimator) for a in alphas]
    closed = [_closed_points(d, targets) for d in dets]
    cells = [
        {"alpha": a, "estimator": estimator, "points": [(f, n) for _, f, n in pts],
         "shortcut_trials": sc_trials, "sum_trials": sum_trials, "seed": s}
        for a, (pts, _), s in zip(alphas, closed, stream_seeds(seed, 0, len(alphas)), strict=True)
    ]  # fmt: skip
    sims = map_cells(_power_cell, cells, label=label)
    per = []
    for a, det, (pts, reason), sim in zip(alphas, dets, closed, sims, strict=True):
        ref = _reference(det)
        rows, zs, fa_hits, fa_t, pts_sum, res_k = [], [], 0, 0, [], math.inf
        for (lag, f, n), rec in zip(pts, sim, strict=True):
            band_one, band_two = _band(ref, n)
            row = {"alpha": a, "lag": lag, "f(lag)": fmt(f, 5), "N closed form": n,
                   "promised power": f"[{band_one[0]:.4f}, {band_one[1]:.4f}]"}  # fmt: skip
            if "sc" in rec:
                right, left, fa, t = rec["sc"]
                z1, z2 = _z_band(right, t, band_one), _z_band(right + left, t, band_two)
                zs += [z1, z2]
                fa_hits, fa_t = fa_hits + fa, fa_t + t
                se = math.sqrt(band_one[0] * (1 - band_one[0]) / t)
                # K off by r moves s at the closed form's N by r: the one-sided power by
                # pdf(q) s* r; detected once that exceeds the band and (z + z_0.9) SE
                gain = ref["pdf"](ref["q"]) * ref["s_star"]
                res_k = min(res_k, (band_one[1] - band_one[0] + (z + Z_POWER) * se) / gain)
                row |= {"one-sided (shortcut)": f"{right / t:.4f}", "z": fmt(z1, 3),
                        "two-sided (shortcut)": f"{(right + left) / t:.4f}",
                        "two-sided promised": f"[{band_two[0]:.4f}, {band_two[1]:.4f}]",
                        "z2": fmt(z2, 3)}  # fmt: skip
            if "sum" in rec:
                right, left, t = rec["sum"]
                zsum = _z_band(right, t, band_one)
                zs.append(zsum)
                pts_sum.append((f, n, right, t))
                row |= {"one-sided (summed)": f"{right / t:.4f}", "z summed": fmt(zsum, 3)}
            elif reason is None:
                reason = f"closed-form N = {n} beyond the summed range ({SUM_CAP})"
            rows.append(row)
        fa_z = None
        if fa_t:
            fa_z = count_z(fa_hits, fa_t, det.false_alarm)
            zs.append(fa_z)
        slope, slope_se, lf, ln_hat, se_n = math.nan, math.inf, [], [], []
        if len(pts_sum) >= 2:
            lf, ln_hat, se_n = _slope_points(ref, pts_sum, det)
            slope, slope_se = _wls(lf, ln_hat, se_n)
        try:
            claimed_rate = float(det.rate)
        except (ValueError, ArithmeticError) as exc:
            claimed_rate, reason = math.nan, reason or f"{type(exc).__name__}: {exc}"
        slope_z = (slope + claimed_rate) / slope_se
        per.append(
            {
                "alpha": a,
                "kappa": theory.kappa(a),
                "rate": claimed_rate,
                "test_rate": ref["rate"],
                "prefactor": det.prefactor,
                "slope": slope,
                "se": slope_se,
                "slope_z": slope_z,
                "max_abs_z": max((abs(v) for v in zs), default=math.inf),
                "fa_z": fa_z,
                "reason": reason,
                "res_k": res_k,
                "log_f": list(lf),
                "log_n": list(ln_hat),
                "log_lo": [v - z * s for v, s in zip(ln_hat, se_n, strict=True)],
                "log_hi": [v + z * s for v, s in zip(ln_hat, se_n, strict=True)],
                "rows": rows,
            }
        )
    return per, z, tests

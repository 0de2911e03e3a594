"""C1 (concentration), C2 (sample complexity) and the robust-estimator prediction (R1).

C2 tests the closed form N(ell) itself: at the lags of a fixed law the closed form names a
sample size, and the simulated power there must be what the form promises, ``1 - delta``
on the signal's side (plus the exact, computable ceiling margin), two-sided ``1 - delta``
plus the wrong side's share.  The reference numbers come from the SaS(1) CDF directly,
never from ``Detection.prefactor`` or ``Detection.q_power``, so a wrong prefactor, quantile
or exponent moves the simulated power away from them.  The log-log slope of N against f
comes from summed samples (the shortcut would build the exponent in) with a standard error
from the binomial variance of independent powers.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

import theory
from theory.noise import sas_cdf, sas_quantile

from .. import detection as det_mc
from ..noise import stable
from ..parallel import map_cells
from .base import CheckResult, claim, fmt, z_threshold

__all__ = ["check_c1", "check_c2", "check_robust"]

QUANTILE_LEVELS = (0.1, 0.25, 0.75, 0.9)
#: Exponential law whose lags realise the target sample sizes in C2 and R1.
C2_LAW = theory.Exponential(A=50.0, tau=10.0)
#: C1 draws ``c1_trials * C1_REF_N / N`` trial means below ``N = C1_REF_N`` (same draws).
C1_REF_N = 1000
#: Largest closed-form N that C2 and R1 simulate by summing samples.
SUM_CAP = 100_000
#: One-sided z of a 0.9 detection probability (the resolution's power).
Z_POWER = 1.2815515655446004


def _seeds(seed, stream, k):
    return [int(s) for s in np.random.SeedSequence([int(seed), stream]).generate_state(k)]


# ------------------------------------------------------------------------------------------
# C1
# ------------------------------------------------------------------------------------------
def _c1_cell(cell):
    """Trial means of one (alpha, N), rescaled by N^(1/kappa) and by N^(1/2)."""
    a, n = cell["alpha"], cell["n"]
    means = stable.trial_means(a, 1.0, 0.0, n=n, trials=cell["trials"], seed=cell["seed"])
    right = means * n ** (1.0 / theory.kappa(a))
    wrong = means * n**0.5
    qs = [theory.sas_quantile(p, a) for p in QUANTILE_LEVELS]
    return {
        "right_counts": [int(np.count_nonzero(right <= q)) for q in qs],
        "wrong_counts": [int(np.count_nonzero(wrong <= q)) for q in qs],
        "right_q": np.quantile(right, QUANTILE_LEVELS).tolist(),
        "wrong_q": np.quantile(wrong, QUANTILE_LEVELS).tolist(),
    }


def _count_z(count, t, p):
    """z-score of a count against Binomial(t, p)."""
    return (count - t * p) / math.sqrt(t * p * (1 - p))


def _c1_trials(profile, n):
    return int(profile.c1_trials * max(1, C1_REF_N // n))


@claim("C1", "The mean of N SaS(sigma) draws is SaS(sigma N^(-1/kappa_alpha))")
def check_c1(profile, seed, false_alarm):
    """Quantiles of simulated trial means, rescaled by N^(1/kappa), against SaS(1)."""
    alphas = [a for a in profile.alphas if a < 2.0] + [2.0]
    tests = len(alphas) * len(profile.c1_ns) * len(QUANTILE_LEVELS)
    z = z_threshold(false_alarm, tests)
    pairs = [(a, n) for a in alphas for n in profile.c1_ns]
    cells = [
        {"alpha": a, "n": int(n), "trials": _c1_trials(profile, n), "seed": s}
        for (a, n), s in zip(pairs, _seeds(seed, 0, len(pairs)), strict=True)
    ]
    out = map_cells(_c1_cell, cells, label="C1")
    rows, fig, worst, neg_rejected = [], {}, 0.0, True
    res_sigma, res_exp = 0.0, 0.0
    by_alpha = {}
    for cell, r in zip(cells, out, strict=True):
        a, n, t = cell["alpha"], cell["n"], cell["trials"]
        qs = [theory.sas_quantile(p, a) for p in QUANTILE_LEVELS]
        zs = [_count_z(c, t, p) for c, p in zip(r["right_counts"], QUANTILE_LEVELS, strict=True)]
        zw = [_count_z(c, t, p) for c, p in zip(r["wrong_counts"], QUANTILE_LEVELS, strict=True)]
        worst = max(worst, max(abs(v) for v in zs))
        if a < 2.0 and n >= 100:
            neg_rejected &= max(abs(v) for v in zw) > z
        # a relative error r in the scale moves the count at q_p by |q_p| pdf(q_p) r
        r_cell = min(
            (z + Z_POWER) * math.sqrt(p * (1 - p) / t) / (abs(q) * det_mc.sas_density(q, a))
            for p, q in zip(QUANTILE_LEVELS, qs, strict=True)
        )
        by_alpha.setdefault(a, []).append((n, r_cell))
        curve = fig.setdefault(
            a,
            {"alpha": a, "kappa": theory.kappa(a), "levels": list(QUANTILE_LEVELS),
             "predicted": qs, "N": [], "rescaled": [], "clt_rescaled": []},
        )  # fmt: skip
        curve["N"].append(n)
        curve["rescaled"].append(r["right_q"])
        curve["clt_rescaled"].append(r["wrong_q"])
        rows.append(
            {
                "alpha": a,
                "N": n,
                "trials": t,
                "kappa": theory.kappa(a),
                "max |z| (N^(1/kappa))": fmt(max(abs(v) for v in zs), 3),
                "max |z| (N^(1/2))": fmt(max(abs(v) for v in zw), 3),
                "scale resolution": fmt(r_cell, 3),
            }
        )
    for cells_a in by_alpha.values():
        res_sigma = max(res_sigma, min(r for _, r in cells_a))
        # an exponent 1/kappa + d scales the mean at N by N^d (relative to N = 1)
        res_exp = max(res_exp, min(math.log1p(r) / math.log(n) for n, r in cells_a if n > 1))
    ok = worst <= z
    return CheckResult(
        "C1",
        "",
        "pass" if ok and neg_rejected else "fail",
        predicted="rescaled means ~ SaS(1)",
        measured=f"max |z| = {worst:.2f}",
        tolerance=f"|z| <= {z:.2f} (binomial counts at quartiles/deciles; {tests} tests)",
        rows=rows,
        negative_control={
            "description": "rescaling by N^(1/2) (Gaussian CLT) instead of N^(1/kappa), "
            "alpha < 2, N >= 100",
            "rejected": bool(neg_rejected),
        },
        params={
            "trials": {n: _c1_trials(profile, n) for n in profile.c1_ns},
            "Ns": list(profile.c1_ns),
            "alphas": alphas,
        },  # fmt: skip
        figures={"quantiles": list(fig.values())},
        resolution={
            "sigma (relative)": round(res_sigma, 5),
            "exponent 1/kappa (absolute)": round(res_exp, 5),
        },
    )


# ------------------------------------------------------------------------------------------
# C2 and R1: the closed form's N at a law's lags
# ------------------------------------------------------------------------------------------
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
    seeds = _seeds(cell["seed"], 0, 2 * len(cell["points"]))
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
        rate = a / (a - 1.0)
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


def _scan(profile, seed, false_alarm, estimator, alphas, targets, label):
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
        for a, (pts, _), s in zip(alphas, closed, _seeds(seed, 0, len(alphas)), strict=True)
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
            fa_z = _count_z(fa_hits, fa_t, det.false_alarm)
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


def _ok_point(p, z):
    return p["reason"] is None and p["max_abs_z"] <= z and abs(p["slope_z"]) <= z


@claim("C2", "N(ell) = ceil(((eps + q) sigma / (c f))^kappa_alpha): prefactor and exponent")
def check_c2(profile, seed, false_alarm):
    """Simulated power at the closed form's N(ell) against its promise; slope -kappa, not -alpha."""
    per, z, tests = _scan(profile, seed, false_alarm, "mean", profile.alphas,
                          profile.target_ns, "C2")  # fmt: skip
    ok = all(_ok_point(p, z) for p in per)
    neg = [abs(p["slope"] + p["alpha"]) > z * p["se"] for p in per if p["alpha"] < 2]
    slopes = ", ".join(f"a={p['alpha']}: {p['slope']:.3f}+-{p['se']:.3f}" for p in per)
    kappas = ", ".join(f"{-p['kappa']:.3f}" for p in per)
    res_k = max(p["res_k"] for p in per)
    res_n = max((1 + p["res_k"]) ** p["kappa"] - 1 for p in per)
    res_slope = max((z + Z_POWER) * p["se"] / p["kappa"] for p in per)
    reasons = [f"alpha={p['alpha']}: {p['reason']}" for p in per if p["reason"]]
    note = (
        "Version discrepancy settled by simulation: the fitted log-log slope of N against f "
        "is -kappa_alpha = -alpha/(alpha-1) (versions >= v4), and the v1 slope -alpha is "
        f"rejected for every alpha < 2 tested: {'yes' if all(neg) else 'NO'}."
    )
    notes = [
        note,
        "At its N(ell) the closed form promises power 1 - delta on the signal's side (more "
        "by the ceiling, at most the upper end of the band); the two-sided test adds the "
        "wrong side's share F(-2 eps - q) exactly, so the closed form is conservative by that "
        "much.  Both bands come from the SaS(1) CDF, not from Detection.prefactor.",
        "The false-alarm rate at zero signal (the noise of the shortcut experiments) is "
        "tested against false_alarm.",
    ]
    if reasons:
        notes.append("The theory gave no usable N: " + "; ".join(reasons))
    return CheckResult(
        "C2",
        "",
        "pass" if ok and all(neg) else "fail",
        predicted=f"power 1 - delta at N(ell); slopes {kappas}",
        measured=f"max |z| = {max(p['max_abs_z'] for p in per):.2f}; slopes {slopes}",
        tolerance=f"|z| <= {z:.2f} ({tests} tests): powers at N(ell) against the promised "
        "band, false-alarm rate, |slope + rate| in SE",
        rows=[r for p in per for r in p["rows"]],
        negative_control={
            "description": "v1 exponent: slope -alpha for alpha < 2",
            "rejected": bool(all(neg)),
        },
        params={
            "shortcut_trials": profile.shortcut_trials,
            "summed_trials": profile.trials,
            "targets": list(profile.target_ns),
            "law": repr(C2_LAW),
        },  # fmt: skip
        notes=notes,
        figures={"slopes": [{k: v for k, v in p.items() if k != "rows"} for p in per]},
        resolution={
            "K (relative)": round(res_k, 5),
            "N(ell) (relative)": round(res_n, 5),
            "slope (relative to kappa)": round(res_slope, 5),
        },
    )


@claim("R1", "Beyond the paper: with the median, N(ell) ~ f^-2 for every alpha")
def check_robust(profile, seed, false_alarm):
    """The median test's minimal N scales as f^-2 whatever alpha is."""
    targets = tuple(t for t in profile.target_ns if t >= 300) or profile.target_ns
    per, z, tests = _scan(profile, seed, false_alarm, "median", profile.alphas, targets, "R1")
    # the median's normal limit is only asymptotic: its powers are reported, the claim is
    # the slope
    ok = all(p["reason"] is None and abs(p["slope_z"]) <= z for p in per)
    neg = [abs(p["slope"] + p["kappa"]) > z * p["se"] for p in per if p["alpha"] <= 1.5]
    res = max((z + Z_POWER) * p["se"] / 2.0 for p in per)
    return CheckResult(
        "R1",
        "",
        "pass" if ok and all(neg) else "fail",
        predicted="slope -2 for every alpha",
        measured=", ".join(f"a={p['alpha']}: {p['slope']:.3f}+-{p['se']:.3f}" for p in per),
        tolerance=f"|slope + 2| <= {z:.2f} SE (delta-method SE from independent binomial powers)",
        rows=[r for p in per for r in p["rows"]],
        negative_control={
            "description": "the mean's slope -kappa_alpha for alpha <= 1.5",
            "rejected": bool(all(neg)),
        },
        params={"trials": profile.trials, "targets": list(targets)},
        notes=[
            "This project's own prediction (THEORY.md section 7): the sample median "
            "concentrates at N^(-1/2) for every alpha, so heavy tails no longer compress the "
            "window; the price is a bias under skewed noise (not simulated here).",
            "The powers at N(ell) are shown against the normal limit's promise for "
            "information; the median's finite-N law deviates from it by O(1/N).",
        ],
        figures={"slopes": [{k: v for k, v in p.items() if k != "rows"} for p in per]},
        resolution={"slope (relative to 2)": round(res, 5)},
    )

"""C1 (concentration), C2 (sample complexity) and the robust-estimator prediction (R1).

C2 tests the closed form N(ell) itself: at the lags of a fixed law the closed form names a
sample size, and the simulated power there must be what the form promises, ``1 - delta``
on the signal's side (plus the exact, computable ceiling margin), two-sided ``1 - delta``
plus the wrong side's share.  The reference numbers come from the SaS(1) CDF directly,
never from ``Detection.prefactor`` or ``Detection.q_power``, so a wrong prefactor, quantile
or exponent moves the simulated power away from them.  The log-log slope of N against f
comes from summed samples (the shortcut would build the exponent in) with a standard error
from the binomial variance of independent powers.

The simulation of C2 and R1 (the power at the closed form's N(ell), the slope of N
against f) is in :mod:`.sample_size`.
"""

from __future__ import annotations

import math

import numpy as np

import theory

from .. import detection as det_mc
from ..noise import stable
from ..parallel import map_cells
from .base import (
    Z_POWER,
    CheckResult,
    claim,
    combine,
    equivalence,
    fmt,
    stream_seeds,
    z_threshold,
)
from .sample_size import C2_LAW, count_z, scan

__all__ = ["check_c1", "check_c2", "check_robust"]

QUANTILE_LEVELS = (0.1, 0.25, 0.75, 0.9)
#: C1 draws ``c1_trials * C1_REF_N / N`` trial means below ``N = C1_REF_N`` (same draws).
C1_REF_N = 1000
#: C1's tolerance on the relative scale of the mean in each (alpha, N) cell: a PASS shows
#: the scale within 6 %; the quick profile's worst cell (8000 trial means of N = 1000 at
#: alpha = 1.2) has a standard error of 0.0155, so the correct code passes it while the
#: estimate stays within 2.6 SE.
C1_SCALE_TOLERANCE = 0.06


# ------------------------------------------------------------------------------------------
# C1
# ------------------------------------------------------------------------------------------
def _c1_cell(cell):
    """Trial means of one (alpha, N), divided by theory's scale of the mean and the CLT's."""
    a, n = cell["alpha"], cell["n"]
    means = stable.trial_means(a, 1.0, 0.0, n=n, trials=cell["trials"], seed=cell["seed"])
    right = means / theory.mean_scale(a, 1.0, n)
    wrong = means / theory.mean_scale(2.0, 1.0, n)  # the Gaussian N^(-1/2)
    qs = [theory.sas_quantile(p, a) for p in QUANTILE_LEVELS]
    return {
        "right_counts": [int(np.count_nonzero(right <= q)) for q in qs],
        "wrong_counts": [int(np.count_nonzero(wrong <= q)) for q in qs],
        "right_q": np.quantile(right, QUANTILE_LEVELS).tolist(),
        "wrong_q": np.quantile(wrong, QUANTILE_LEVELS).tolist(),
    }


def _c1_trials(profile, n):
    return int(profile.c1_trials * max(1, C1_REF_N // n))


def _scale_error(counts, t, qs, a):
    """Relative error of the scale from the two outer tails, and its standard error.

    A scale ``1 + r`` moves the share outside ``[q_p, q_(1-p)]`` by ``2 |q_p| pdf(q_p) r``;
    the two tails are disjoint, so their summed count is Binomial(t, 2p).  Of the two
    pairs of levels (deciles, quartiles) the one with the smaller standard error (from
    theory, not from the data) is used.
    """
    best = None
    for i in range(len(QUANTILE_LEVELS) // 2):
        p, q = QUANTILE_LEVELS[i], qs[i]
        outer = counts[i] + (t - counts[-1 - i])
        gain = 2.0 * abs(q) * det_mc.sas_density(q, a)
        se = math.sqrt(2 * p * (1 - 2 * p) / t) / gain
        if best is None or se < best[1]:
            best = ((outer / t - 2 * p) / gain, se)
    return best


@claim("C1", "The mean of N SaS(sigma) draws is SaS(sigma N^(-1/kappa_alpha))")
def check_c1(profile, seed, false_alarm):
    """Quantiles of simulated trial means, divided by theory.mean_scale, against SaS(1)."""
    alphas = [a for a in profile.alphas if a < 2.0] + [2.0]
    # per cell: the four quantile counts (refutation) and the scale (equivalence)
    tests = len(alphas) * len(profile.c1_ns) * (len(QUANTILE_LEVELS) + 1)
    z = z_threshold(false_alarm, tests)
    pairs = [(a, n) for a in alphas for n in profile.c1_ns]
    cells = [
        {"alpha": a, "n": int(n), "trials": _c1_trials(profile, n), "seed": s}
        for (a, n), s in zip(pairs, stream_seeds(seed, 0, len(pairs)), strict=True)
    ]
    out = map_cells(_c1_cell, cells, label="C1")
    rows, fig, worst, neg_rejected = [], {}, 0.0, True
    res_sigma, res_exp, verdicts = 0.0, 0.0, []
    by_alpha = {}
    for cell, r in zip(cells, out, strict=True):
        a, n, t = cell["alpha"], cell["n"], cell["trials"]
        qs = [theory.sas_quantile(p, a) for p in QUANTILE_LEVELS]
        zs = [count_z(c, t, p) for c, p in zip(r["right_counts"], QUANTILE_LEVELS, strict=True)]
        zw = [count_z(c, t, p) for c, p in zip(r["wrong_counts"], QUANTILE_LEVELS, strict=True)]
        worst = max(worst, max(abs(v) for v in zs))
        if a < 2.0 and n >= 100:
            neg_rejected &= max(abs(v) for v in zw) > z
        r_hat, r_se = _scale_error(r["right_counts"], t, qs, a)
        v_scale = equivalence(r_hat, r_se, C1_SCALE_TOLERANCE, z)
        verdicts += [v_scale, "fail" if max(abs(v) for v in zs) > z else "pass"]
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
                "max |z| (theory's scale)": fmt(max(abs(v) for v in zs), 3),
                "max |z| (N^(-1/2))": fmt(max(abs(v) for v in zw), 3),
                "scale error (SE)": f"{r_hat:+.4f} ({r_se:.4f})",
                "scale verdict": v_scale,
                "scale resolution": fmt(r_cell, 3),
            }
        )
    for cells_a in by_alpha.values():
        res_sigma = max(res_sigma, min(r for _, r in cells_a))
        # an exponent 1/kappa + d scales the mean at N by N^d (relative to N = 1)
        res_exp = max(res_exp, min(math.log1p(r) / math.log(n) for n, r in cells_a if n > 1))
    verdict = combine(*verdicts, "pass" if neg_rejected else "fail")
    n_pass = sum(r["scale verdict"] == "pass" for r in rows)
    return CheckResult(
        "C1",
        "",
        verdict,
        predicted="means / theory.mean_scale ~ SaS(1)",
        measured=f"max |z| = {worst:.2f}; scale within +-{C1_SCALE_TOLERANCE:g} shown in "
        f"{n_pass}/{len(rows)} cells",
        tolerance=f"FAIL: |z| > {z:.2f} (binomial counts at quartiles/deciles and the scale; "
        f"{tests} tests); PASS: the scale's one-sided 90 % interval inside "
        f"+-{C1_SCALE_TOLERANCE:g} (relative) in every cell",
        rows=rows,
        negative_control={
            "description": "dividing by the Gaussian scale N^(-1/2) (theory.mean_scale at "
            "alpha = 2) instead of alpha's, alpha < 2, N >= 100",
            "rejected": bool(neg_rejected),
        },
        params={
            "trials": {n: _c1_trials(profile, n) for n in profile.c1_ns},
            "Ns": list(profile.c1_ns),
            "alphas": alphas,
            "scale tolerance (relative)": C1_SCALE_TOLERANCE,
        },  # fmt: skip
        notes=[
            "The means are divided by theory.mean_scale(alpha, 1, N), the closed form under "
            "test, never by a scale written here.",
            "Per cell the scale's relative error is estimated from the two outer tails "
            f"(FAIL beyond z SE; PASS when its one-sided 90 % interval lies inside "
            f"+-{C1_SCALE_TOLERANCE:g}, so a scale {C1_SCALE_TOLERANCE:g} off passes with "
            "probability <= 0.1).",
        ],
        figures={"quantiles": list(fig.values())},
        resolution={
            "sigma (relative)": round(res_sigma, 5),
            "exponent 1/kappa (absolute)": round(res_exp, 5),
            "scale tolerance of a PASS (relative)": C1_SCALE_TOLERANCE,
        },
    )


# ------------------------------------------------------------------------------------------
# C2 and R1: the closed form's N at a law's lags (simulated in .sample_size)
# ------------------------------------------------------------------------------------------
def _point_verdicts(p, z, tol):
    """Powers at N(ell) (refutation) and the slope (three-way, relative to kappa) of one alpha."""
    powers = "fail" if p["reason"] is not None or p["max_abs_z"] > z else "pass"
    slope = equivalence((p["slope"] + p["rate"]) / p["kappa"], p["se"] / p["kappa"], tol, z)
    return powers, slope


@claim("C2", "N(ell) = ceil(((eps + q) sigma / (c f))^kappa_alpha): prefactor and exponent")
def check_c2(profile, seed, false_alarm):
    """Simulated power at the closed form's N(ell) against its promise; slope -kappa, not -alpha."""
    per, z, tests = scan(profile, seed, false_alarm, "mean", profile.alphas,
                          profile.target_ns, "C2")  # fmt: skip
    tol = profile.slope_tolerance
    judged = [_point_verdicts(p, z, tol) for p in per]
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
    notes.append(
        f"The slope PASSes when its one-sided 90 % interval lies within +-{tol:g} kappa of "
        f"-kappa (profile {profile.name}); slope verdicts "
        + ", ".join(f"a={p['alpha']}: {v[1]}" for p, v in zip(per, judged, strict=True))
        + "."
    )
    verdict = combine(*(v for pair in judged for v in pair), "pass" if all(neg) else "fail")
    return CheckResult(
        "C2",
        "",
        verdict,
        predicted=f"power 1 - delta at N(ell); slopes {kappas}",
        measured=f"max |z| = {max(p['max_abs_z'] for p in per):.2f}; slopes {slopes}",
        tolerance=f"FAIL: |z| > {z:.2f} ({tests} tests): powers at N(ell) against the promised "
        "band, false-alarm rate, |slope + rate| in SE; PASS: no FAIL and each slope's "
        f"one-sided 90 % interval within +-{tol:g} kappa",
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
            "slope tolerance of a PASS (relative to kappa)": tol,
        },
    )


@claim("R1", "Beyond the paper: with the median, N(ell) ~ f^-2 for every alpha")
def check_robust(profile, seed, false_alarm):
    """The median test's minimal N scales as f^-2 whatever alpha is."""
    targets = tuple(t for t in profile.target_ns if t >= 300) or profile.target_ns
    per, z, tests = scan(profile, seed, false_alarm, "median", profile.alphas, targets, "R1")
    # the median's normal limit is only asymptotic: its powers are reported, the claim is
    # the slope
    neg = [abs(p["slope"] + p["kappa"]) > z * p["se"] for p in per if p["alpha"] <= 1.5]
    res = max((z + Z_POWER) * p["se"] / 2.0 for p in per)
    # the tolerance is the stated resolution: an equivalence PASS and a FAIL are then
    # complementary, each slope's one-sided 90 % interval lies within it unless refuted
    slope_v = [
        "fail" if p["reason"] is not None
        else equivalence((p["slope"] + p["rate"]) / 2.0, p["se"] / 2.0, res, z)
        for p in per
    ]  # fmt: skip
    return CheckResult(
        "R1",
        "",
        combine(*slope_v, "pass" if all(neg) else "fail"),
        predicted="slope -2 for every alpha",
        measured=", ".join(f"a={p['alpha']}: {p['slope']:.3f}+-{p['se']:.3f}" for p in per),
        tolerance=f"FAIL: |slope + 2| > {z:.2f} SE (delta-method SE from independent binomial "
        f"powers); PASS: each slope's one-sided 90 % interval within +-{res:.3g} x 2 (the "
        "stated resolution)",
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

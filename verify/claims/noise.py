"""C1 (concentration), C2 (sample complexity) and the robust-estimator prediction."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

import theory

from .. import detection as det_mc
from ..noise import stable
from .base import CheckResult, claim, fmt, z_threshold

__all__ = ["check_c1", "check_c2", "check_robust"]

QUANTILE_LEVELS = (0.1, 0.25, 0.75, 0.9)
#: Exponential law whose lags realise the target sample sizes in C2.
C2_LAW = theory.Exponential(A=50.0, tau=10.0)


def _count_z(x, q, p):
    """z-score of #(x <= q) against Binomial(len(x), p)."""
    t = x.size
    return (np.count_nonzero(x <= q) - t * p) / math.sqrt(t * p * (1 - p))


@claim("C1", "The mean of N SaS(sigma) draws is SaS(sigma N^(-1/kappa_alpha))")
def check_c1(profile, seed, false_alarm):
    """Quantiles of simulated trial means, rescaled by N^(1/kappa), against SaS(1)."""
    alphas = [a for a in profile.alphas if a < 2.0] + [2.0]
    tests = len(alphas) * len(profile.c1_ns) * len(QUANTILE_LEVELS)
    z = z_threshold(false_alarm, tests)
    rows, worst, neg_rejected = [], 0.0, True
    seeds = np.random.SeedSequence(seed).generate_state(len(alphas) * len(profile.c1_ns))
    k = 0
    fig = []
    for a in alphas:
        kap = theory.kappa(a)
        curve = {
            "alpha": a,
            "kappa": kap,
            "levels": list(QUANTILE_LEVELS),
            "predicted": [theory.sas_quantile(p, a) for p in QUANTILE_LEVELS],
            "N": list(profile.c1_ns),
            "rescaled": [],
            "clt_rescaled": [],
        }
        fig.append(curve)
        for n in profile.c1_ns:
            means = stable.trial_means(
                a, 1.0, 0.0, n=n, trials=profile.c1_trials, seed=int(seeds[k])
            )
            k += 1
            right = means * n ** (1.0 / kap)
            wrong = means * n**0.5
            zs = [_count_z(right, theory.sas_quantile(p, a), p) for p in QUANTILE_LEVELS]
            zw = [_count_z(wrong, theory.sas_quantile(p, a), p) for p in QUANTILE_LEVELS]
            worst = max(worst, max(abs(v) for v in zs))
            if a < 2.0 and n >= 100:
                neg_rejected &= max(abs(v) for v in zw) > z
            curve["rescaled"].append(np.quantile(right, QUANTILE_LEVELS).tolist())
            curve["clt_rescaled"].append(np.quantile(wrong, QUANTILE_LEVELS).tolist())
            rows.append(
                {
                    "alpha": a,
                    "N": n,
                    "kappa": kap,
                    "max |z| (N^(1/kappa))": fmt(max(abs(v) for v in zs), 3),
                    "max |z| (N^(1/2))": fmt(max(abs(v) for v in zw), 3),
                }
            )
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
        params={"trials": profile.c1_trials, "Ns": list(profile.c1_ns), "alphas": alphas},
        figures={"quantiles": fig},
    )


def _slope(log_f, log_n, log_lo, log_hi, z_ci):
    """Weighted LS slope of log N on log f, with its standard error."""
    se = np.maximum((log_hi - log_lo) / (2 * z_ci), 1e-6)
    w = 1 / se**2
    x_bar = np.sum(w * log_f) / np.sum(w)
    y_bar = np.sum(w * log_n) / np.sum(w)
    sxx = np.sum(w * (log_f - x_bar) ** 2)
    b = np.sum(w * (log_f - x_bar) * (log_n - y_bar)) / sxx
    return float(b), float(1 / math.sqrt(sxx))


def _complexity_scan(profile, seed, false_alarm, estimator, alphas, targets):
    n_tests = len(alphas) * (len(targets) + 2)
    z = z_threshold(false_alarm, n_tests)
    level = 1 - 2 * (1 - float(special.ndtr(z)))
    rows, per_alpha = [], []
    seeds = np.random.SeedSequence(seed).generate_state(len(alphas) * (len(targets) + 1))
    k = 0
    for a in alphas:
        det = theory.Detection(a, estimator=estimator)
        rival = (
            theory.Detection(a, exponent="alpha") if estimator == "mean" else theory.Detection(a)
        )
        rival_name = "N v1 (f^-alpha)" if estimator == "mean" else "N mean test (f^-kappa)"
        log_f, log_n, lo, hi, agree = [], [], [], [], True
        for nt in targets:
            f = det.prefactor * nt ** (-1.0 / det.rate)  # c = 1
            lag = -C2_LAW.tau * math.log(f / C2_LAW.A)
            m = det_mc.minimal_n(det, f, trials=profile.trials, seed=int(seeds[k]), level=level)
            k += 1
            agree &= m.agrees
            log_f.append(math.log(f))
            log_n.append(math.log(m.n_hat))
            lo.append(math.log(m.ci[0]))
            hi.append(math.log(m.ci[1]))
            rows.append(
                {
                    "alpha": a,
                    "lag": fmt(lag, 4),
                    "f(lag)": fmt(f, 4),
                    "N closed form": fmt(m.predicted_closed, 5),
                    "N exact": fmt(m.predicted_exact, 5),
                    "N simulated": fmt(m.n_hat, 5),
                    "CI": f"[{m.ci[0]:.4g}, {m.ci[1]:.4g}]",
                    rival_name: fmt((rival.prefactor / f) ** rival.rate, 5),
                    "agrees": m.agrees,
                }
            )
        b, se = _slope(np.array(log_f), np.array(log_n), np.array(lo), np.array(hi), z)
        # shortcut cross-check at the middle target: same power in distribution
        f_mid = det.prefactor * targets[len(targets) // 2] ** (-1.0 / det.rate)
        n_mid = targets[len(targets) // 2]
        cross = None
        if estimator == "mean":
            p_sum = det_mc.simulate_power(
                det, f_mid, n_mid, trials=profile.trials, seed=int(seeds[k])
            )
            p_sc = det_mc.simulate_power(
                det, f_mid, n_mid, trials=profile.trials, seed=int(seeds[k]) + 1, method="shortcut"
            )
            pool = (p_sum.hits + p_sc.hits) / (2 * profile.trials)
            cross = (p_sum.power - p_sc.power) / math.sqrt(2 * pool * (1 - pool) / profile.trials)
        k += 1
        per_alpha.append(
            {
                "alpha": a,
                "kappa": theory.kappa(a),
                "rate": det.rate,
                "prefactor": det.prefactor,
                "slope": b,
                "se": se,
                "agree": agree,
                "cross_z": cross,
                "log_f": log_f,
                "log_n": log_n,
                "log_lo": lo,
                "log_hi": hi,
            }
        )
    return rows, per_alpha, z, level


@claim("C2", "N(ell) = ceil(((eps + q) sigma / (c f))^kappa_alpha): prefactor and exponent")
def check_c2(profile, seed, false_alarm):
    """Empirical minimal N against the closed form; log-log slope -kappa, not -alpha."""
    rows, per, z, level = _complexity_scan(
        profile, seed, false_alarm, "mean", profile.alphas, profile.target_ns
    )
    ok = all(p["agree"] for p in per)
    ok &= all(abs(p["slope"] + p["kappa"]) <= z * p["se"] for p in per)
    ok &= all(abs(p["cross_z"]) <= z for p in per)
    neg = [abs(p["slope"] + p["alpha"]) > z * p["se"] for p in per if p["alpha"] < 2]
    slopes = ", ".join(f"a={p['alpha']}: {p['slope']:.3f}+-{p['se']:.3f}" for p in per)
    kappas = ", ".join(f"{-p['kappa']:.3f}" for p in per)
    note = (
        "Version discrepancy settled by simulation: the fitted log-log slope of N against f "
        "is -kappa_alpha = -alpha/(alpha-1) (versions >= v4), and the v1 slope -alpha is "
        f"rejected for every alpha < 2 tested: {'yes' if all(neg) else 'NO'}."
    )
    return CheckResult(
        "C2",
        "",
        "pass" if ok and all(neg) else "fail",
        predicted=f"slopes {kappas}",
        measured=slopes,
        tolerance=f"|slope + kappa| <= {z:.2f} SE; exact N inside the {100 * level:.4f}% CI",
        rows=rows,
        negative_control={
            "description": "v1 exponent: slope -alpha for alpha < 2",
            "rejected": bool(all(neg)),
        },
        params={"trials": profile.trials, "targets": list(profile.target_ns), "law": repr(C2_LAW)},
        notes=[
            note,
            "The closed form drops the chance of detecting on the wrong side, so it is "
            "conservative by a few percent; the exact two-sided solver is what the "
            "simulation is compared with, and both are shown.",
        ],
        figures={"slopes": per},
    )


@claim("R1", "Beyond the paper: with the median, N(ell) ~ f^-2 for every alpha")
def check_robust(profile, seed, false_alarm):
    """The median test's minimal N scales as f^-2 whatever alpha is."""
    targets = tuple(t for t in profile.target_ns if t >= 300) or profile.target_ns
    rows, per, z, level = _complexity_scan(
        profile, seed, false_alarm, "median", profile.alphas, targets
    )
    ok = all(p["agree"] for p in per) and all(abs(p["slope"] + 2) <= z * p["se"] for p in per)
    neg = [abs(p["slope"] + p["kappa"]) > z * p["se"] for p in per if p["alpha"] <= 1.5]
    return CheckResult(
        "R1",
        "",
        "pass" if ok and all(neg) else "fail",
        predicted="slope -2 for every alpha",
        measured=", ".join(f"a={p['alpha']}: {p['slope']:.3f}+-{p['se']:.3f}" for p in per),
        tolerance=f"|slope + 2| <= {z:.2f} SE; normal-limit N inside the {100 * level:.4f}% CI",
        rows=rows,
        negative_control={
            "description": "the mean's slope -kappa_alpha for alpha <= 1.5",
            "rejected": bool(all(neg)),
        },
        params={"trials": profile.trials, "targets": list(targets)},
        notes=[
            "This project's own prediction (THEORY.md section 7): the sample median "
            "concentrates at N^(-1/2) for every alpha, so heavy tails no longer compress the "
            "window; the price is a bias under skewed noise (not simulated here)."
        ],
        figures={"slopes": per},
    )
